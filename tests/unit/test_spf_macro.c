/*
 * test_spf_macro — the SPF macro language: RFC 7208 section 7.4's
 * examples verbatim, the escapes and URL-escaping of 7.3, the truncation
 * of long names, the syntax errors, and the start-domain check (4.3).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "spf_macro.h"

/* 7.4: "The <sender> is strong-bad@email.example.com.  The IPv4 SMTP
 * client IP is 192.0.2.3.  The IPv6 SMTP client IP is 2001:db8::cb01.
 * The PTR domain name of the client IP is mx.example.org." */
static struct spf_macro_ctx
ctx(int v6)
{
	struct spf_macro_ctx x;

	memset(&x, 0, sizeof(x));
	x.local = "strong-bad";
	x.sender_domain = "email.example.com";
	x.domain = "email.example.com";
	x.helo = "mx.example.org";
	x.ptr = "mx.example.org";
	x.receiver = "gw.example.net";
	x.now = 1700000000;
	x.family = v6 ? AF_INET6 : AF_INET;
	inet_pton(x.family, v6 ? "2001:db8::cb01" : "192.0.2.3", x.addr);
	return x;
}

static void
expect(int v6, int flags, const char *in, const char *want)
{
	struct spf_macro_ctx x = ctx(v6);
	char out[1024];
	int n;

	assert_int_equal(spf_macro_check(in, strlen(in), flags), 0);
	n = spf_macro_expand(in, strlen(in), flags, &x, out, sizeof(out));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

static void
t_rfc_74_table(void **state)
{
	static const char *tab[][2] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		expect(0, 0, tab[i][0], tab[i][1]);
}

static void
t_rfc_74_strings(void **state)
{
	(void)state;
	expect(0, SPF_MACRO_DOMAIN, "%{ir}.%{v}._spf.%{d2}",
	    "3.2.0.192.in-addr._spf.example.com");
	expect(0, SPF_MACRO_DOMAIN, "%{lr-}.lp._spf.%{d2}",
	    "bad.strong.lp._spf.example.com");
	expect(0, SPF_MACRO_DOMAIN, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	expect(0, SPF_MACRO_DOMAIN, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com");
	expect(0, SPF_MACRO_DOMAIN, "%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net");
	expect(1, SPF_MACRO_DOMAIN, "%{ir}.%{v}._spf.%{d2}",
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6._spf.example.com");
}

static void
t_other_letters(void **state)
{
	(void)state;
	expect(0, SPF_MACRO_EXPLAIN, "%{c} %{r} %{t} %{h} %{p} %{v}",
	    "192.0.2.3 gw.example.net 1700000000 mx.example.org "
	    "mx.example.org in-addr");
	expect(1, SPF_MACRO_EXPLAIN, "%{c} %{i}",
	    "2001:db8::cb01 2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"
	    ".0.0.0.0.c.b.0.1");
	/* upper case: URL-escaped (7.3), unreserved characters kept */
	expect(0, 0, "%{S}", "strong-bad%40email.example.com");
	expect(0, SPF_MACRO_EXPLAIN, "%%%_%-", "% %20");
	/* delimiters: split on any, joined with dots */
	expect(0, 0, "%{l2r+-}", "bad.strong");
}

static void
t_p_unknown(void **state)
{
	struct spf_macro_ctx x = ctx(0);
	char out[300];

	(void)state;
	x.ptr = NULL;
	x.receiver = NULL;
	assert_int_equal(spf_macro_expand("%{p}.%{r}", 9, SPF_MACRO_EXPLAIN,
	    &x, out, sizeof(out)), 15);
	assert_string_equal(out, "unknown.unknown");
}

static void
t_syntax(void **state)
{
	static const char *bad_domain[] = {
		"", "%{d0}", "%{x}.example.com", "%(ir).example.com",
		"foo%.example.com", "%{d", "%{r}.example.com",
		"%{c}.example.com", "%{t}.example.com", "example", "museum.",
		"example.123", "example.-com", "example.com-", "a b.example.com",
		"foo.example.com\x01", "%", "%{}", "%{d2x}",
	};
	static const char *good_domain[] = {
		"%{d}", "example.com", "example.com.", "x.xn--zckzah",
		"foo:bar/baz.example.com", "%{d2r.-}", "%%", "a.123-4",
		"%{ir}.%{v}._spf.%{d2}", "foo.%{d}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_domain) / sizeof(bad_domain[0]); i++)
		assert_int_equal(spf_macro_check(bad_domain[i],
		    strlen(bad_domain[i]), SPF_MACRO_DOMAIN), -1);
	for (i = 0; i < sizeof(good_domain) / sizeof(good_domain[0]); i++)
		assert_int_equal(spf_macro_check(good_domain[i],
		    strlen(good_domain[i]), SPF_MACRO_DOMAIN), 0);
	/* explanations: spaces and c r t allowed, 8-bit text not */
	assert_int_equal(spf_macro_check("from %{c} at %{t}", 17,
	    SPF_MACRO_EXPLAIN), 0);
	assert_int_equal(spf_macro_check("\xef\xbb\xbf" "Explanation", 14,
	    SPF_MACRO_EXPLAIN), -1);
	assert_int_equal(spf_macro_check("The %{x}-files.", 15,
	    SPF_MACRO_EXPLAIN), -1);
	assert_int_equal(spf_macro_check("a b", 3, 0), -1);
	assert_true(spf_macro_uses("x.%{p}", 6, 'p'));
	assert_true(spf_macro_uses("x.%{P2}", 7, 'p'));
	assert_false(spf_macro_uses("%%{p}", 5, 'p'));
}

/* 7.3: past 253 octets, left-hand labels go until the name fits. */
static void
t_truncation(void **state)
{
	struct spf_macro_ctx x = ctx(0);
	char spec[512], out[SPF_DOMAIN_MAX + 1], want[300];
	int n;

	(void)state;
	x.domain = "somewhat.long.exp.example.com";
	snprintf(spec, sizeof(spec), "foobar.%%{d}.%%{d}.%%{d}.%%{d}.%%{d}."
	    "%%{d}.%%{d}.%%{d}.example.com");
	snprintf(want, sizeof(want), "%s.%s.%s.%s.%s.%s.%s.%s.example.com",
	    x.domain, x.domain, x.domain, x.domain, x.domain, x.domain,
	    x.domain, x.domain);
	n = spf_macro_expand(spec, strlen(spec), SPF_MACRO_DOMAIN, &x, out,
	    sizeof(out));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
	assert_true(spf_macro_name_ok(out));

	/* a very long expansion keeps its right-hand labels only */
	x.local = "abcdefghij.abcdefghij.abcdefghij.abcdefghij.abcdefghij";
	memset(spec, 0, sizeof(spec));
	for (n = 0; n < 60; n++)
		strcat(spec, "%{l}.");
	strcat(spec, "end.example");
	n = spf_macro_expand(spec, strlen(spec), SPF_MACRO_DOMAIN, &x, out,
	    sizeof(out));
	assert_true(n > 0 && n <= SPF_DOMAIN_MAX);
	assert_true(spf_macro_name_ok(out));
	assert_non_null(strstr(out, "abcdefghij.end.example"));
	assert_int_not_equal(out[0], '.');

	/* the final dot goes */
	n = spf_macro_expand("%{d2}.example.", 14, SPF_MACRO_DOMAIN, &x, out,
	    sizeof(out));
	assert_string_equal(out, "example.com.example");
	/* "%{d}." does not end in a domain-end (7.1) */
	assert_int_equal(spf_macro_expand("%{d}.", 5, SPF_MACRO_DOMAIN, &x,
	    out, sizeof(out)), -1);
}

static void
t_names(void **state)
{
	char d[300];

	(void)state;
	assert_true(spf_macro_name_ok("macro%percent  space%20url.example"));
	assert_false(spf_macro_name_ok("mail.example...com"));
	assert_false(spf_macro_name_ok(".example.com"));
	assert_false(spf_macro_name_ok(""));
	assert_false(spf_macro_name_ok("a12345678901234567890123456789012345"
	    "6789012345678901234567890123.example.com"));
	snprintf(d, sizeof(d), "example.com.");
	assert_true(spf_macro_domain_ok(d));
	assert_string_equal(d, "example.com");
	snprintf(d, sizeof(d), "A2345678");
	assert_false(spf_macro_domain_ok(d));
	snprintf(d, sizeof(d), "[1.2.3.5]");
	assert_false(spf_macro_domain_ok(d));
	snprintf(d, sizeof(d), "1.2.3.5");
	assert_false(spf_macro_domain_ok(d));
	snprintf(d, sizeof(d), "A...example.com");
	assert_false(spf_macro_domain_ok(d));
	snprintf(d, sizeof(d), "_spf.example-1.com");
	assert_true(spf_macro_domain_ok(d));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rfc_74_table),
		cmocka_unit_test(t_rfc_74_strings),
		cmocka_unit_test(t_other_letters),
		cmocka_unit_test(t_p_unknown),
		cmocka_unit_test(t_syntax),
		cmocka_unit_test(t_truncation),
		cmocka_unit_test(t_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
