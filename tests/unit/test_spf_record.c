/*
 * test_spf_record — the SPF record parser: every mechanism with its
 * arguments and CIDR lengths, the modifiers, the version, and the syntax
 * errors RFC 7208 makes permerror (4.6, 12), with the bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf_record.h"

static struct spf_record *
parse_ok(const char *text)
{
	struct spf_record *r = malloc(sizeof(*r));

	assert_non_null(r);
	if (spf_record_parse(text, strlen(text), r) != 0)
		fail_msg("%s: %s", text, r->error);
	return r;
}

static void
parse_bad(const char *text, size_t len)
{
	struct spf_record *r = malloc(sizeof(*r));

	assert_non_null(r);
	if (spf_record_parse(text, len, r) != -1)
		fail_msg("accepted: %s", text);
	assert_true(r->error[0] != '\0');
	free(r);
}

static const char *
spec(const struct spf_record *r, size_t i, char *buf)
{
	memcpy(buf, r->text + r->term[i].spec_off, r->term[i].spec_len);
	buf[r->term[i].spec_len] = '\0';
	return buf;
}

static void
t_is_spf(void **state)
{
	(void)state;
	assert_true(spf_record_is_spf("v=spf1", 6));
	assert_true(spf_record_is_spf("V=sPf1 -all", 11));
	assert_false(spf_record_is_spf("v=spf10", 7));
	assert_false(spf_record_is_spf("v=spf1mx", 8));
	assert_false(spf_record_is_spf("v=spf", 5));
	assert_false(spf_record_is_spf(" v=spf1", 7));
	assert_false(spf_record_is_spf("", 0));
}

static void
t_mechanisms(void **state)
{
	struct spf_record *r;
	char b[300];

	(void)state;
	r = parse_ok("v=spf1 +all -include:_spf.example.com ~a ?a:x.example."
	    "com/24 a//64 a:foo:bar/baz.example.com/24//96 mx mx/0 ptr "
	    "ptr:example.com ip4:192.0.2.0/24 ip6:2001:db8::/32 "
	    "exists:%{ir}.%{v}._spf.%{d2} ip4:1.2.3.4 ip6:::FFFF:1.2.3.4  ");
	assert_int_equal(r->nterm, 15);
	assert_true(r->has_all);
	assert_int_equal(r->term[0].mech, SPF_MECH_ALL);
	assert_int_equal(r->term[0].qual, '+');
	assert_int_equal(r->term[1].mech, SPF_MECH_INCLUDE);
	assert_int_equal(r->term[1].qual, '-');
	assert_string_equal(spec(r, 1, b), "_spf.example.com");
	assert_int_equal(r->term[2].qual, '~');
	assert_int_equal(r->term[2].spec_len, 0);
	assert_int_equal(r->term[2].cidr4, 32);
	assert_int_equal(r->term[2].cidr6, 128);
	assert_string_equal(spec(r, 3, b), "x.example.com");
	assert_int_equal(r->term[3].cidr4, 24);
	assert_int_equal(r->term[3].qual, '?');
	assert_int_equal(r->term[4].cidr4, 32);
	assert_int_equal(r->term[4].cidr6, 64);
	assert_string_equal(spec(r, 5, b), "foo:bar/baz.example.com");
	assert_int_equal(r->term[5].cidr4, 24);
	assert_int_equal(r->term[5].cidr6, 96);
	assert_int_equal(r->term[6].mech, SPF_MECH_MX);
	assert_int_equal(r->term[7].cidr4, 0);
	assert_int_equal(r->term[8].mech, SPF_MECH_PTR);
	assert_string_equal(spec(r, 9, b), "example.com");
	assert_int_equal(r->term[10].mech, SPF_MECH_IP4);
	assert_int_equal(r->term[10].cidr4, 24);
	assert_memory_equal(r->term[10].ip, "\xc0\x00\x02\x00", 4);
	assert_int_equal(r->term[11].mech, SPF_MECH_IP6);
	assert_int_equal(r->term[11].cidr6, 32);
	assert_int_equal(r->term[12].mech, SPF_MECH_EXISTS);
	assert_int_equal(r->term[13].cidr4, 32);
	assert_int_equal(r->term[14].ip[10], 0xff);
	/* the term's own text, for the logs */
	assert_memory_equal(r->text + r->term[1].off,
	    "-include:_spf.example.com", r->term[1].len);
	free(r);
}

static void
t_modifiers(void **state)
{
	struct spf_record *r;

	(void)state;
	r = parse_ok("v=spf1 mx redirect=_spf.example.com exp=explain.%{d} "
	    "moo.cow-far_out=man:dog/cat default=pass");
	assert_int_equal(r->nterm, 1);
	assert_false(r->has_all);
	assert_memory_equal(r->text + r->redirect_off, "_spf.example.com",
	    r->redirect_len);
	assert_memory_equal(r->text + r->exp_off, "explain.%{d}",
	    r->exp_len);
	free(r);
	r = parse_ok("v=spf1");
	assert_int_equal(r->nterm, 0);
	assert_int_equal(r->redirect_len, 0);
	assert_int_equal(r->exp_len, 0);
	free(r);
	r = parse_ok("V=SPF1 REDIRECT=x.example.com");
	assert_int_equal(r->redirect_len, 13);
	free(r);
}

static void
t_errors(void **state)
{
	static const char *bad[] = {
		"v=spf1 ip4:1.2.3.4 -all moo",		/* anywhere (4.6) */
		"v=spf1 moo.cow/far_out=man:dog/cat",
		"v=spf1 moo.cow:far_out=man:dog/cat",
		"v=spf1 redirect:t2.example.com",
		"v=spf1 a:foo-bar -all",
		"v=spf1 -all.", "v=spf1 -all:foobar", "v=spf1 -all/8",
		"v=spf1 ptr/0 -all", "v=spf1 ptr:",
		"v=spf1 a/33", "v=spf1 a//129",
		"v=spf1 a/24/64", "v=spf1 a:example.com:8080",
		"v=spf1 a:111.222.33.44", "v=spf1 a:abc.123",
		"v=spf1 a:example.-com", "v=spf1 a:museum", "v=spf1 a:museum.",
		"v=spf1 a:", "v=spf1 include", "v=spf1 include:",
		"v=spf1 include:ip5.example.com/24", "v=spf1 exists",
		"v=spf1 exists:", "v=spf1 exists:mail.example.com/24",
		"v=spf1 ip4", "v=spf1 ip4:1.2.3.4/33", "v=spf1 ip4:1.2.3.4/032",
		"v=spf1 ip4:1.2.3.4//32", "v=spf1 ip4:1.2.3.4:8080",
		"v=spf1 ip4:1.2.3", "v=spf1 ip4:01.2.3.4", "v=spf1 ip4:256.1.1.1",
		"v=spf1 -all ip6", "v=spf1 ip6:::1.1.1.1/129",
		"v=spf1 ip6:::1.1.1.1//33", "v=spf1 ip6::CAFE::BABE",
		"v=spf1 1up=foo", "v=spf1 =all", "v=spf1 -all foo=%abc",
		"v=spf1 exp= -all", "v=spf1 exp=-all", "v=spf1 redirect=-all",
		"v=spf1 ?all redirect=", "v=spf1 exp=%{r}.example.com",
		"v=spf1 exp=a.example.com -all exp=b.example.com",
		"v=spf1 redirect=a.example.com redirect=a.example.com",
		"v=spf1 -redirect=a.example.com",
		"v=spf1 a:%{a}.example.com -all",
		"v=spf1 exists:%(ir).sbl.example.com",
		"v=spf1 ip4:192.0.2.5\n include:x.example.com",
		"v=spf1 a:ctrl.example.com\rptr -all",
		"v=spf1 \x80" "a:example.net -all",
		"v=spf1 a:example.net \x96" "all",
		"v=spf1\tall", "v=spf10 -all", "spf1 -all",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i], strlen(bad[i]));
	/* a NUL inside the record (the TXT string holds one) */
	parse_bad("v=spf1 a:foo.example.com\0", 25);
}

static void
t_bounds(void **state)
{
	char *text = malloc(SPF_RECORD_MAX + 2);
	struct spf_record *r;
	size_t n, i;

	(void)state;
	/* SPF_TERMS_MAX mechanisms parse, one more does not */
	n = (size_t)snprintf(text, SPF_RECORD_MAX + 2, "v=spf1");
	for (i = 0; i < SPF_TERMS_MAX; i++)
		n += (size_t)snprintf(text + n, SPF_RECORD_MAX + 2 - n, " a");
	r = parse_ok(text);
	assert_int_equal(r->nterm, SPF_TERMS_MAX);
	free(r);
	snprintf(text + n, SPF_RECORD_MAX + 2 - n, " a");
	parse_bad(text, strlen(text));
	/* SPF_RECORD_MAX octets parse, one more does not */
	memset(text, ' ', SPF_RECORD_MAX + 1);
	memcpy(text, "v=spf1", 6);
	memcpy(text + SPF_RECORD_MAX - 4, "-all", 4);
	text[SPF_RECORD_MAX] = '\0';
	r = parse_ok(text);
	assert_int_equal(r->nterm, 1);
	free(r);
	parse_bad(text, SPF_RECORD_MAX + 1);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_is_spf),
		cmocka_unit_test(t_mechanisms),
		cmocka_unit_test(t_modifiers),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
