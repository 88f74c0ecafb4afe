/*
 * fuzz_spf_record — libFuzzer harness for the SPF record parser
 * (spf_record.c) and the macro expander (spf_macro.c), called directly.
 *
 * The first input byte picks the client's family, the output size of an
 * explanation and which strings the input's text is taken as; the rest
 * is the text.  Beyond "no crash, no sanitizer report" it checks the
 * contract: every term of a parsed record lies inside it and its
 * domain-spec checks and expands; check and expand agree on what is
 * well-formed; an expanded name is at most 253 octets and an explanation
 * stays within its buffer.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spf_macro.h"
#include "spf_record.h"

static void
expand_domain(const char *s, size_t len, const struct spf_macro_ctx *x)
{
	char out[SPF_DOMAIN_MAX + 1];
	int n;

	if (spf_macro_check(s, len, SPF_MACRO_DOMAIN) != 0)
		abort();
	n = spf_macro_expand(s, len, SPF_MACRO_DOMAIN, x, out, sizeof(out));
	if (n < 0 || n > SPF_DOMAIN_MAX || strlen(out) != (size_t)n)
		abort();
	(void)spf_macro_name_ok(out);
}

static void
check_record(const struct spf_record *r, const struct spf_macro_ctx *x)
{
	size_t i;

	if (r->nterm > SPF_TERMS_MAX)
		abort();
	for (i = 0; i < r->nterm; i++) {
		const struct spf_term *t = &r->term[i];

		if ((size_t)t->off + t->len > r->len ||
		    (size_t)t->spec_off + t->spec_len > r->len ||
		    t->cidr4 < 0 || t->cidr4 > 32 ||
		    t->cidr6 < 0 || t->cidr6 > 128)
			abort();
		if (t->spec_len > 0)
			expand_domain(r->text + t->spec_off, t->spec_len, x);
	}
	if (r->redirect_len > 0)
		expand_domain(r->text + r->redirect_off, r->redirect_len, x);
	if (r->exp_len > 0)
		expand_domain(r->text + r->exp_off, r->exp_len, x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_record r;
	static const int flags[] = { 0, SPF_MACRO_DOMAIN, SPF_MACRO_EXPLAIN };
	struct spf_macro_ctx x;
	char local[65], dom[300], out[600];
	size_t outsz, i;
	const char *s;

	if (size < 1)
		return 0;
	memset(&x, 0, sizeof(x));
	x.family = (data[0] & 1) ? AF_INET6 : AF_INET;
	memcpy(x.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\xcb\x01", 16);
	outsz = 1 + (size_t)(data[0] >> 1) * 4;		/* 1..509 */
	s = (const char *)data + 1;
	size--;
	/* the text also serves as the sender's local-part (any bytes) */
	memcpy(local, s, size < 64 ? size : 64);
	local[size < 64 ? size : 64] = '\0';
	x.local = local;
	x.sender_domain = "email.example.com";
	x.domain = "example.com";
	x.helo = local;
	x.ptr = (data[0] & 2) ? "mx.example.org" : NULL;
	x.now = 1700000000;

	(void)spf_record_is_spf(s, size);
	if (spf_record_parse(s, size, &r) == 0)
		check_record(&r, &x);
	else if (r.error[0] == '\0')
		abort();

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		int ok = spf_macro_check(s, size, flags[i]) == 0;
		int n;

		if (flags[i] == SPF_MACRO_DOMAIN) {
			char name[SPF_DOMAIN_MAX + 1];

			n = spf_macro_expand(s, size, flags[i], &x, name,
			    sizeof(name));
			if (n >= 0 && strlen(name) != (size_t)n)
				abort();
		} else {
			n = spf_macro_expand(s, size, flags[i], &x, out, outsz);
			if (n >= 0 && ((size_t)n >= outsz ||
			    strlen(out) != (size_t)n))
				abort();
		}
		if (ok != (n >= 0))
			abort();
	}

	memcpy(dom, s, size < sizeof(dom) - 1 ? size : sizeof(dom) - 1);
	dom[size < sizeof(dom) - 1 ? size : sizeof(dom) - 1] = '\0';
	if (spf_macro_domain_ok(dom) && !spf_macro_name_ok(dom))
		abort();
	return 0;
}
