/*
 * fuzz_smtp_reply — libFuzzer harness for the pure parts of smtp_client.h
 * (smtp_reply.c), called directly.
 *
 * The first input byte picks a split point, the rest is what a peer (or a
 * queue file) holds.  Replies: the parser must agree with itself on every
 * prefix (NEED_MORE until the reply is complete, then the same result),
 * and text/ext must be printable.  Canonicalizer: whole and split runs
 * must give the same bytes, and the output must be canonical (CR only in
 * CRLF, no line over 998 octets without its stuffing dot, no line that is
 * a lone ".").
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_client.h"

static void
check_printable(const char *s, int nl_ok)
{
	for (; *s != '\0'; s++)
		if ((*s < 0x20 || *s > 0x7e) && !(nl_ok && *s == '\n'))
			abort();
}

static void
fuzz_reply(const char *in, size_t len, size_t cut)
{
	struct smtp_reply r, r2;
	struct smtp_client_ehlo e;
	size_t consumed, c2;
	char line[600];
	int st, st2;

	st = smtp_client_parse_reply(in, len, &r, &consumed);
	if (st == SMTP_REPLY_OK) {
		if (consumed == 0 || consumed > len ||
		    consumed > SMTP_CLIENT_REPLY_MAX ||
		    r.code < 200 || r.code > 599)
			abort();
		check_printable(r.text, 0);
		check_printable(r.ext, 1);
		smtp_client_parse_ehlo(&r, &e);
		smtp_client_format_reply(&r, line, sizeof(line));
	} else if (consumed != 0)
		abort();
	/* a prefix: NEED_MORE or BAD before the end, the same after it */
	if (cut > len)
		cut = len;
	st2 = smtp_client_parse_reply(in, cut, &r2, &c2);
	if (st == SMTP_REPLY_OK && cut >= consumed) {
		if (st2 != SMTP_REPLY_OK || c2 != consumed ||
		    r.code != r2.code || strcmp(r.text, r2.text) != 0 ||
		    strcmp(r.ext, r2.ext) != 0)
			abort();
	} else if (st2 == SMTP_REPLY_OK ||
	    (st2 == SMTP_REPLY_BAD && st != SMTP_REPLY_BAD))
		abort();
}

static void
fuzz_canon(const char *in, size_t len, size_t cut)
{
	struct smtp_canon a = { 0, 0, 0 }, b = { 0, 0, 0 };
	char *o1, *o2;
	size_t n1, n2, i, ll = 0;

	if (cut > len)
		cut = len;
	o1 = malloc(2 * len + 8);
	o2 = malloc(2 * len + 16);
	n1 = smtp_client_canon(&a, in, len, 1, o1);
	n2 = smtp_client_canon(&b, in, cut, 0, o2);
	n2 += smtp_client_canon(&b, in + cut, len - cut, 1, o2 + n2);
	if (n1 != n2 || memcmp(o1, o2, n1) != 0)
		abort();
	if (n1 > 0 && (n1 < 2 || o1[n1 - 2] != '\r' || o1[n1 - 1] != '\n'))
		abort();
	for (i = 0; i < n1; i++) {
		if (o1[i] == '\r') {
			if (i + 1 >= n1 || o1[i + 1] != '\n')
				abort();
			/* a line of "." alone would end the message */
			if (ll == 1 && o1[i - 1] == '.')
				abort();
			i++;
			ll = 0;
			continue;
		}
		if (o1[i] == '\n')
			abort();
		/* the stuffing dot counts too (SPEC 5) */
		if (++ll > 998)
			abort();
	}
	free(o1);
	free(o2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t len, cut;

	if (size < 1)
		return 0;
	len = size - 1;
	cut = len > 0 ? (size_t)data[0] * 257 % (len + 1) : 0;
	if (data[0] & 1)
		fuzz_canon(in, len, cut);
	else
		fuzz_reply(in, len, cut);
	return 0;
}
