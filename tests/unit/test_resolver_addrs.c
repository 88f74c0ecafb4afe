/*
 * test_resolver_addrs — the A and AAAA answer parser of resolver_answer.h
 * (resolver_parse_addrs), fed with packets built byte by byte (dnspkt.h):
 * addresses joining a host IPv4 first, CNAME chains, the cap per family,
 * unusable addresses dropped, empty answers and failures.  No socket, no
 * event loop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dnspkt.h"

static void
test_addrs_join(void **state)
{
	struct resolver_host h;
	struct pkt p;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.name = "mx1.example.org";
	answer_start(&p, 2, ns_t_aaaa);
	rr_aaaa(&p, "2001:db8::25");
	rr_aaaa(&p, "::ffff:192.0.2.9");
	assert_int_equal(addrs(ns_t_aaaa, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_OK);
	assert_string_equal(ans.outcome, "2 addresses");
	answer_start(&p, 3, ns_t_a);
	rr_a(&p, "192.0.2.1");
	rr_a(&p, "198.51.100.7");
	rr_a(&p, "127.0.0.1");
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h), RESOLVER_LK_OK);
	assert_int_equal(h.naddrs, 5);
	/* IPv4 first although the AAAA answer came in first */
	assert_addr(&h, 0, "192.0.2.1");
	assert_addr(&h, 1, "198.51.100.7");
	assert_addr(&h, 2, "127.0.0.1");
	assert_addr(&h, 3, "2001:db8::25");
	assert_addr(&h, 4, "::ffff:192.0.2.9");
	assert_false(h.tempfail);
	free(h.addrs);
}

static void
test_addrs_cname_chain(void **state)
{
	struct resolver_host h;
	struct pkt p;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.name = "example.org";
	/* example.org -> a.example.org -> b.example.org -> 192.0.2.80 */
	answer_start(&p, 3, ns_t_a);
	rr_head(&p, ns_t_cname, 4);
	put(&p, "\1a" QPTR, 4);
	rr_owned(&p, "\1a" QPTR, 4, ns_t_cname, 4);
	put(&p, "\1b" QPTR, 4);
	rr_owned(&p, "\1b" QPTR, 4, ns_t_a, 4);
	put(&p, "\300\0\2\120", 4);
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h), RESOLVER_LK_OK);
	assert_int_equal(h.naddrs, 1);
	assert_addr(&h, 0, "192.0.2.80");
	free(h.addrs);
}

/* 40 A records: RESOLVER_ADDR_MAX are kept. */
static void
test_addrs_capped(void **state)
{
	struct resolver_host h;
	struct pkt p;
	char text[32];
	int i;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.name = "example.org";
	answer_start(&p, 40, ns_t_a);
	for (i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "192.0.2.%d", i + 1);
		rr_a(&p, text);
	}
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h), RESOLVER_LK_OK);
	assert_int_equal(h.naddrs, RESOLVER_ADDR_MAX);
	assert_addr(&h, 0, "192.0.2.1");
	free(h.addrs);
}

/* Addresses no mail can be sent to are dropped; none left is NODATA. */
static void
test_addrs_unusable(void **state)
{
	struct resolver_host h;
	struct pkt p;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.name = "example.org";
	answer_start(&p, 5, ns_t_a);
	rr_a(&p, "0.0.0.0");
	rr_a(&p, "0.1.2.3");
	rr_a(&p, "224.0.0.1");
	rr_a(&p, "255.255.255.255");
	rr_a(&p, "192.0.2.1");
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h), RESOLVER_LK_OK);
	assert_int_equal(h.naddrs, 1);
	assert_addr(&h, 0, "192.0.2.1");

	answer_start(&p, 3, ns_t_aaaa);
	rr_aaaa(&p, "::");
	rr_aaaa(&p, "ff02::1");
	rr_aaaa(&p, "::ffff:0.0.0.0");
	assert_int_equal(addrs(ns_t_aaaa, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_NODATA);
	assert_int_equal(h.naddrs, 1);
	free(h.addrs);
}

/* Answers with no address: empty, wrong type, a CNAME to elsewhere. */
static void
test_addrs_none(void **state)
{
	struct resolver_host h;
	struct pkt p;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.name = "example.org";
	answer_start(&p, 0, ns_t_a);
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_NODATA);
	answer_start(&p, 1, ns_t_a);
	RR_MXP(&p, 10, "\2mx" QPTR);
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_NODATA);
	answer_start(&p, 1, ns_t_a);
	rr_aaaa(&p, "2001:db8::1");	/* AAAA in an A answer */
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_NODATA);
	/* an A record of 16 bytes */
	answer_start(&p, 1, ns_t_a);
	rr_head(&p, ns_t_a, 16);
	put(&p, "0123456789abcdef", 16);
	assert_int_not_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_OK);
	assert_int_equal(h.naddrs, 0);
	assert_null(h.addrs);
}

static void
test_addrs_failures(void **state)
{
	struct resolver_host h;
	struct pkt p;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.name = "mx1.example.org";
	pkt_start(&p, F_QR | F_RD_RA, ns_r_nxdomain, 0, ns_t_a);
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_NXDOMAIN);
	assert_false(h.tempfail);
	pkt_start(&p, F_QR | F_RD_RA, ns_r_servfail, 0, ns_t_aaaa);
	assert_int_equal(addrs(ns_t_aaaa, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_TEMP);
	assert_true(h.tempfail);
	assert_string_equal(ans.temperr,
	    "AAAA lookup for mx1.example.org: SERVFAIL (via test)");
	h.tempfail = 0;
	assert_int_equal(addrs(ns_t_a, ARES_ETIMEOUT, NULL, &h),
	    RESOLVER_LK_TEMP);
	assert_string_equal(ans.temperr,
	    "A lookup for mx1.example.org: timeout (via test)");
	/* truncated: every cut of a valid answer */
	answer_start(&p, 1, ns_t_a);
	rr_a(&p, "192.0.2.1");
	for (int n = p.len - 1; n >= 0; n--) {
		struct pkt c = p;

		c.len = n;
		assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &c, &h),
		    RESOLVER_LK_TEMP);
	}
	assert_int_equal(h.naddrs, 0);
	/* a name that points at itself: malformed, not "no such host" */
	answer_start(&p, 1, ns_t_a);
	put16(&p, 0xc000 | (unsigned)p.len);
	put16(&p, ns_t_a);
	put16(&p, ns_c_in);
	put16(&p, 0);
	put16(&p, 300);
	put16(&p, 4);
	put(&p, "\300\0\2\1", 4);
	assert_int_equal(addrs(ns_t_a, ARES_SUCCESS, &p, &h),
	    RESOLVER_LK_TEMP);
	assert_int_equal(h.naddrs, 0);
}

/* ---- the header ---- */

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addrs_join),
		cmocka_unit_test(test_addrs_cname_chain),
		cmocka_unit_test(test_addrs_capped),
		cmocka_unit_test(test_addrs_unusable),
		cmocka_unit_test(test_addrs_none),
		cmocka_unit_test(test_addrs_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
