/*
 * test_orgdomain — the organizational domain (RFC 7489 3.2) on Debian's
 * Public Suffix List: plain, multi-label, wildcard and exception rules,
 * a public suffix itself, an unknown TLD, case, final dot, bad names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "orgdomain.h"

static void
expect(const char *in, const char *want)
{
	char out[ORGDOMAIN_MAX + 1];
	const char *r = orgdomain_get(in, out, sizeof(out));

	if (want == NULL) {
		assert_null(r);
		return;
	}
	assert_non_null(r);
	assert_string_equal(r, want);
}

static void
t_rules(void **state)
{
	(void)state;
	expect("example.com", "example.com");
	expect("mail.example.com", "example.com");
	expect("a.b.c.example.com", "example.com");
	expect("a.b.example.co.uk", "example.co.uk");
	/* wildcard *.kawasaki.jp, exception !city.kawasaki.jp */
	expect("x.y.kawasaki.jp", "x.y.kawasaki.jp");
	expect("a.city.kawasaki.jp", "city.kawasaki.jp");
	/* the private section counts too (as in Mail::DMARC) */
	expect("x.y.blogspot.com", "y.blogspot.com");
}

static void
t_edges(void **state)
{
	char small[8];

	(void)state;
	expect("com", "com");			/* a public suffix itself */
	expect("co.uk", "co.uk");
	expect("foo.bar.invalidtld", "bar.invalidtld");	/* "*" rule */
	expect("invalidtld", "invalidtld");
	expect("Mail.EXAMPLE.Com.", "example.com");
	expect("", NULL);
	expect(".", NULL);
	expect(".example.com", NULL);
	expect("a..example.com", NULL);
	assert_null(orgdomain_get("mail.example.com", small, sizeof(small)));
	assert_null(orgdomain_get(NULL, small, sizeof(small)));
}

static void
t_long(void **state)
{
	char name[300], out[ORGDOMAIN_MAX + 1];

	(void)state;
	memset(name, 'a', sizeof(name));
	for (size_t i = 63; i < 240; i += 64)
		name[i] = '.';
	memcpy(name + 241, ".example.com", 13);	/* 253 octets */
	assert_int_equal(strlen(name), 253);
	assert_string_equal(orgdomain_get(name, out, sizeof(out)),
	    "example.com");
	memmove(name + 1, name, 254);		/* 254 octets */
	assert_null(orgdomain_get(name, out, sizeof(out)));
}

static void
t_reload(void **state)
{
	(void)state;
	assert_int_equal(orgdomain_init(
	    "/usr/share/publicsuffix/public_suffix_list.dat"), 0);
	expect("a.b.example.co.uk", "example.co.uk");
	assert_int_equal(orgdomain_init("/nonexistent/psl.dat"), -1);
	expect("a.b.example.co.uk", "example.co.uk");	/* kept */
	orgdomain_free();
	expect("mail.example.com", "example.com");	/* loads again */
	orgdomain_free();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rules),
		cmocka_unit_test(t_edges),
		cmocka_unit_test(t_long),
		cmocka_unit_test(t_reload),
	};
	int rc;

	assert_int_equal(orgdomain_init(NULL), 0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	orgdomain_free();
	return rc;
}
