/*
 * fuzz_dmarc_from — libFuzzer harness for header_from_parse (the
 * RFC5322.From domain DMARC evaluates), called directly on the input as
 * one field value, and through header_from_get on a message holding it.
 * Beyond "no crash, no sanitizer report" it checks the contract: an OK
 * domain is a lowercase host name of at most 253 octets, no other status
 * leaves a domain behind, and the field inside a message (when the value
 * has no line end of its own) gives the same answer.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "header_from.h"
#include "msg_header.h"

static void
check_domain(enum header_from_status st, const char *d)
{
	size_t n = strnlen(d, HEADER_FROM_DOMAIN_MAX + 1), i;

	if (n > HEADER_FROM_DOMAIN_MAX)
		abort();
	if (st != HEADER_FROM_OK) {
		if (n != 0)
			abort();
		return;
	}
	if (n == 0 || d[0] == '.' || d[n - 1] == '.')
		abort();
	for (i = 0; i < n; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' &&
		    d[i] <= '9') || d[i] == '-' || d[i] == '_' ||
		    (d[i] == '.' && d[i + 1] != '.')))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char d[HEADER_FROM_DOMAIN_MAX + 1], d2[HEADER_FROM_DOMAIN_MAX + 1];
	const char *s = (const char *)data;
	enum header_from_status st, st2;
	struct msg_header h;

	st = header_from_parse(s, size, d, sizeof(d));
	if (st != HEADER_FROM_OK && st != HEADER_FROM_MULTIPLE_MAILBOXES &&
	    st != HEADER_FROM_NO_MAILBOX && st != HEADER_FROM_SYNTAX)
		abort();
	check_domain(st, d);
	if (size < 4096 && memchr(s, '\r', size) == NULL &&
	    memchr(s, '\n', size) == NULL) {
		msg_header_init(&h);
		msg_header_feed(&h, "From:", 5);
		msg_header_feed(&h, s, size);
		msg_header_feed(&h, "\r\n\r\n", 4);
		st2 = header_from_get(&h, d2, sizeof(d2));
		if (st2 != st || strcmp(d, d2) != 0)
			abort();
		msg_header_free(&h);
	}
	return 0;
}
