/*
 * fuzz_auth — libFuzzer harness for the SASL decoders of auth.h
 * (auth_sasl.c), called directly, and the auth file parser.
 *
 * The first input byte picks the function, the rest is what a client sent
 * (or a file holds).  Base64: whatever decodes must encode back to the
 * same text (the decoder takes the canonical form only).  PLAIN and LOGIN:
 * OK means a non-empty user and password within their limits, without
 * NUL; anything else leaves them empty.  The file parser must accept or
 * refuse without crashing, and a database it builds must answer lookups.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

static void
fuzz_base64(const char *in, size_t len)
{
	unsigned char out[4096];
	char enc[8192];
	long n = auth_base64_decode(in, len, out, sizeof(out));

	if (n < 0)
		return;
	if ((size_t)n > sizeof(out) || (size_t)n > len)
		abort();
	if (auth_base64_encode(out, (size_t)n, enc, sizeof(enc)) !=
	    (long)len || memcmp(enc, in, len) != 0)
		abort();
}

static void
fuzz_plain(const char *in, size_t len)
{
	char user[AUTH_USER_MAX + 1], pass[AUTH_PASS_MAX + 1];
	enum auth_sasl_status st = auth_sasl_plain(in, len, user, pass);

	if (st == AUTH_SASL_OK) {
		if (user[0] == '\0' || pass[0] == '\0' ||
		    strlen(user) > AUTH_USER_MAX || strlen(pass) > AUTH_PASS_MAX)
			abort();
	} else if (user[0] != '\0' || pass[0] != '\0')
		abort();
}

static void
fuzz_login(const char *in, size_t len, size_t max)
{
	char out[AUTH_PASS_MAX + 1];
	enum auth_sasl_status st = auth_sasl_login(in, len, out, max);

	if (st == AUTH_SASL_OK) {
		if (out[0] == '\0' || strlen(out) > max)
			abort();
	} else if (out[0] != '\0')
		abort();
}

static void
fuzz_file(const char *in, size_t len)
{
	struct auth_db *db;
	char err[512];

	if (auth_db_parse("fuzz", in, len, &db, err, sizeof(err)) == -1)
		return;
	(void)auth_db_count(db);
	auth_db_unref(db);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] % 5) {
	case 0:
		fuzz_base64(in, len);
		break;
	case 1:
		fuzz_plain(in, len);
		break;
	case 2:
		fuzz_login(in, len, AUTH_USER_MAX);
		break;
	case 3:
		fuzz_login(in, len, 1 + data[0] % 64);
		break;
	default:
		fuzz_file(in, len);
		break;
	}
	return 0;
}
