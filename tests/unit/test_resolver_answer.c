/*
 * test_resolver_answer — the pure DNS answer parsers of resolver_answer.h,
 * the code the live resolver runs on every answer: MX answers and the
 * header's status, fed with packets built byte by byte (dnspkt.h): well
 * formed ones and the odd ones a broken or hostile server can send
 * (binary and over-long names, null MX, floods of records, truncation,
 * compression loops, wrong types, wrong rcodes).  A and AAAA answers are
 * in test_resolver_addrs.c.  No socket, no event loop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dnspkt.h"

static void
test_mx_order(void **state)
{
	struct resolver_result *res;
	struct pkt p;

	(void)state;
	answer_start(&p, 3, ns_t_mx);
	RR_MXP(&p, 20, "\3mx2" QPTR);
	RR_MX(&p, 10, "\3MX1\7Example\3ORG");
	RR_MX(&p, 30, "\3mx3\7example\3net");
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, 3);
	assert_string_equal(res->hosts[0].name, "mx1.example.org");
	assert_int_equal(res->hosts[0].pref, 10);
	assert_string_equal(res->hosts[1].name, "mx2.example.org");
	assert_string_equal(res->hosts[2].name, "mx3.example.net");
	assert_int_equal(res->hosts[2].pref, 30);
	assert_int_equal(res->hosts[0].naddrs, 0);
	assert_false(ans.implicit);
	assert_string_equal(ans.outcome, "3 records");
	resolver_result_free(res);
}

static void
test_mx_duplicates(void **state)
{
	struct resolver_result *res;
	struct pkt p;

	(void)state;
	answer_start(&p, 3, ns_t_mx);
	RR_MXP(&p, 20, "\2mx" QPTR);
	RR_MXP(&p, 5, "\2MX" QPTR);
	RR_MXP(&p, 10, "\5other" QPTR);
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, 2);
	assert_string_equal(res->hosts[0].name, "mx.example.org");
	assert_int_equal(res->hosts[0].pref, 5);
	assert_string_equal(res->hosts[1].name, "other.example.org");
	resolver_result_free(res);
}

/* Compression: a host name ending in a pointer into another record's
 * data, and a CNAME before the MX records (skipped). */
static void
test_mx_compression(void **state)
{
	struct resolver_result *res;
	struct pkt p;
	int smtp;

	(void)state;
	answer_start(&p, 3, ns_t_mx);
	rr_head(&p, ns_t_cname, 2);
	put(&p, QPTR, 2);
	smtp = p.len + 2 + 10 + 2 + 4;		/* after "\3in1" */
	RR_MXP(&p, 5, "\3in1\4smtp" QPTR);
	{
		unsigned char wire[6] = { 3, 'i', 'n', '2',
		    (unsigned char)(0xc0 | smtp >> 8), (unsigned char)smtp };

		rr_mx(&p, 5, wire, sizeof(wire));
	}
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, 2);
	/* equal preferences, zero_rnd: a fixed order */
	assert_true(strcmp(res->hosts[0].name, "in1.smtp.example.org") == 0 ||
	    strcmp(res->hosts[1].name, "in1.smtp.example.org") == 0);
	assert_true(strcmp(res->hosts[0].name, "in2.smtp.example.org") == 0 ||
	    strcmp(res->hosts[1].name, "in2.smtp.example.org") == 0);
	resolver_result_free(res);
}

/* No MX record: the domain is its own exchanger (RFC 5321 5.1), whether
 * the answer section is empty or holds only other types. */
static void
test_mx_implicit(void **state)
{
	struct resolver_result *res;
	struct pkt p;

	(void)state;
	answer_start(&p, 0, ns_t_mx);
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, 1);
	assert_string_equal(res->hosts[0].name, "example.org");
	assert_int_equal(res->hosts[0].pref, 0);
	assert_true(ans.implicit);
	assert_string_equal(ans.outcome, "NODATA, implicit MX");
	resolver_result_free(res);

	/* c-ares' own verdict on an empty NOERROR answer */
	res = mx(ARES_ENODATA, &p);
	assert_true(ans.implicit);
	assert_int_equal(res->nhosts, 1);
	resolver_result_free(res);

	/* the wrong types for an MX question */
	answer_start(&p, 2, ns_t_mx);
	rr_head(&p, ns_t_txt, 6);
	put(&p, "\5hello", 6);
	rr_a(&p, "192.0.2.1");
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_true(ans.implicit);
	assert_string_equal(res->hosts[0].name, "example.org");
	resolver_result_free(res);
}

/* RFC 7505: "0 ." alone is a null MX; so is a root-name record with any
 * preference (the rule the resolver has always applied); beside a real
 * host it is ignored. */
static void
test_mx_null(void **state)
{
	struct resolver_result *res;
	struct pkt p;

	(void)state;
	answer_start(&p, 1, ns_t_mx);
	RR_MX(&p, 0, "");
	res = mx(ARES_SUCCESS, &p);
	assert_string_equal(ans.outcome, "null MX");
	assert_final(res, RESOLVER_NULLMX,
	    "example.org does not accept mail (null MX, RFC 7505)");

	answer_start(&p, 2, ns_t_mx);
	RR_MX(&p, 10, "");
	RR_MX(&p, 0, "");
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_NULLMX,
	    "example.org does not accept mail (null MX, RFC 7505)");

	answer_start(&p, 2, ns_t_mx);
	RR_MX(&p, 0, "");
	RR_MXP(&p, 10, "\2mx" QPTR);
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, 1);
	assert_string_equal(res->hosts[0].name, "mx.example.org");
	assert_int_equal(res->hosts[0].pref, 10);
	resolver_result_free(res);
}

/* ---- MX: names that must never reach a question, a log or a DSN ---- */

static void
assert_refused_only(struct pkt *p)
{
	struct resolver_result *res = mx(ARES_SUCCESS, p);

	assert_printable(res->error);
	assert_final(res, RESOLVER_TEMPFAIL, "MX lookup for example.org: no MX "
	    "record names a valid host (via test)");
}

static void
test_mx_control_bytes(void **state)
{
	struct pkt p;

	(void)state;
	answer_start(&p, 4, ns_t_mx);
	RR_MXP(&p, 10, "\7mx\0evil" QPTR);
	RR_MX(&p, 20, "\14mx\r\nRCPT TO:\3org");
	RR_MX(&p, 30, "\3a.b\3org");		/* a dot inside a label */
	RR_MX(&p, 40, "\3a b\3org");
	assert_refused_only(&p);
	assert_string_equal(ans.outcome, "4 records, no valid host name");
}

static void
test_mx_non_ascii(void **state)
{
	struct pkt p;

	(void)state;
	answer_start(&p, 3, ns_t_mx);
	RR_MX(&p, 10, "\5mx-\xc3\xa9\3org");
	RR_MX(&p, 10, "\4mx\xff\xfe\3org");
	RR_MX(&p, 10, "\3mx\\\3org");
	assert_refused_only(&p);
}

/* Invalid names among valid ones are skipped; the null MX rule counts
 * only when nothing else is there. */
static void
test_mx_mixed_invalid(void **state)
{
	struct resolver_result *res;
	struct pkt p;

	(void)state;
	answer_start(&p, 3, ns_t_mx);
	RR_MXP(&p, 1, "\4mx\n1" QPTR);
	RR_MXP(&p, 5, "\3mx2" QPTR);
	RR_MX(&p, 0, "");
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, 1);
	assert_string_equal(res->hosts[0].name, "mx2.example.org");
	assert_string_equal(ans.outcome, "3 records, invalid names skipped");
	resolver_result_free(res);

	answer_start(&p, 2, ns_t_mx);
	RR_MX(&p, 0, "");
	RR_MXP(&p, 5, "\4mx\n1" QPTR);
	assert_refused_only(&p);
}

#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L61 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* 63-octet labels, 255 octets on the wire (253 in text) is the most a
 * name may have; one more is refused, whatever c-ares makes of it. */
static void
test_mx_long_names(void **state)
{
	struct resolver_result *res;
	struct pkt p;

	(void)state;
	answer_start(&p, 1, ns_t_mx);
	RR_MX(&p, 10, "\77" L63 "\77" L63 "\77" L63 "\75" L61);
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, 1);
	assert_int_equal(strlen(res->hosts[0].name), 253);
	resolver_result_free(res);

	answer_start(&p, 1, ns_t_mx);
	RR_MX(&p, 10, "\77" L63 "\77" L63 "\77" L63 "\76" L61 "a");
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_TEMPFAIL);
	assert_int_equal(res->nhosts, 0);
	resolver_result_free(res);

	/* 300 octets through a pointer to the question name */
	answer_start(&p, 1, ns_t_mx);
	RR_MXP(&p, 10, "\77" L63 "\77" L63 "\77" L63 "\77" L63 QPTR);
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_TEMPFAIL);
	assert_int_equal(res->nhosts, 0);
	resolver_result_free(res);
}

static void
test_valid_hostname(void **state)
{
	static const struct {
		const char	*name;
		int		 ok;
	} t[] = {
		{ "mx.example.org", 1 }, { "MX-1.example.org", 1 },
		{ "_dmarc.example", 1 }, { "localhost", 1 }, { "1.2.3.4", 1 },
		{ "", 0 }, { ".", 0 }, { "a..b", 0 }, { ".a", 0 }, { "a.", 0 },
		{ "a b", 0 }, { "a\\.b", 0 }, { "a\\010b", 0 }, { "a\nb", 0 },
		{ "a\rb", 0 }, { "\xc3\xa9t\xc3\xa9", 0 }, { "a;b", 0 },
		{ "a<b>", 0 }, { "[1.2.3.4]", 0 }, { "a@b", 0 }, { "a%b", 0 },
		{ L63 ".org", 1 }, { L63 "a.org", 0 },
		{ L63 "." L63 "." L63 "." L61, 1 },
		{ L63 "." L63 "." L63 "." L61 "a", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (resolver_valid_hostname(t[i].name) != t[i].ok)
			fail_msg("%zu: \"%s\" should be %s", i, t[i].name,
			    t[i].ok ? "valid" : "refused");
}

/* ---- MX: caps ---- */

static void
put_mx_flood(struct pkt *p, int n, int mod)
{
	char wire[16];
	int i, len;

	answer_start(p, n, ns_t_mx);
	for (i = 0; i < n; i++) {
		len = snprintf(wire + 1, sizeof(wire) - 1, "mx%d", i);
		wire[0] = (char)len;
		memcpy(wire + 1 + len, QPTR, 2);
		rr_mx(p, (unsigned)(i % mod), wire, (size_t)len + 3);
	}
}

/* 100 records with preferences 0..6: the 16 best are kept, every one of
 * the 15 at 0 and one of the 15 at 1. */
static void
test_mx_capped(void **state)
{
	struct resolver_result *res;
	struct pkt p;
	size_t i, j;

	(void)state;
	put_mx_flood(&p, 100, 7);
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, RESOLVER_MX_MAX);
	for (i = 0; i < 15; i++)
		assert_int_equal(res->hosts[i].pref, 0);
	assert_int_equal(res->hosts[15].pref, 1);
	for (i = 0; i < res->nhosts; i++)
		for (j = 0; j < i; j++)
			assert_string_not_equal(res->hosts[i].name,
			    res->hosts[j].name);
	assert_string_equal(ans.outcome, "100 records");
	resolver_result_free(res);

	/* a TCP-sized answer: 2500 records */
	put_mx_flood(&p, 2500, 65536);
	res = mx(ARES_SUCCESS, &p);
	assert_int_equal(res->status, RESOLVER_OK);
	assert_int_equal(res->nhosts, RESOLVER_MX_MAX);
	assert_int_equal(res->hosts[RESOLVER_MX_MAX - 1].pref,
	    RESOLVER_MX_MAX - 1);
	resolver_result_free(res);
}

/* ---- MX: failures ---- */

static void
test_mx_rcodes(void **state)
{
	struct pkt p;

	(void)state;
	pkt_start(&p, F_QR | F_RD_RA, ns_r_nxdomain, 0, ns_t_mx);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_NXDOMAIN,
	    "example.org: no such domain (via test)");
	pkt_start(&p, F_QR | F_RD_RA, ns_r_servfail, 0, ns_t_mx);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_TEMPFAIL,
	    "MX lookup for example.org: SERVFAIL (via test)");
	pkt_start(&p, F_QR | F_RD_RA, ns_r_refused, 0, ns_t_mx);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_TEMPFAIL,
	    "MX lookup for example.org: REFUSED (via test)");
	/* rcode 11 (unassigned) with an answer: not trusted */
	pkt_start(&p, F_QR | F_RD_RA, 11, 1, ns_t_mx);
	RR_MXP(&p, 10, "\2mx" QPTR);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_TEMPFAIL,
	    "MX lookup for example.org: malformed answer (via test)");
	/* NXDOMAIN in the header wins over the records */
	pkt_start(&p, F_QR | F_RD_RA, ns_r_nxdomain, 1, ns_t_mx);
	RR_MXP(&p, 10, "\2mx" QPTR);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_NXDOMAIN,
	    "example.org: no such domain (via test)");
}

/* What the c-ares callback says without an answer. */
static void
test_mx_status(void **state)
{
	(void)state;
	assert_final(mx(ARES_ETIMEOUT, NULL), RESOLVER_TEMPFAIL,
	    "MX lookup for example.org: timeout (via test)");
	assert_final(mx(ARES_ECONNREFUSED, NULL), RESOLVER_TEMPFAIL,
	    "MX lookup for example.org: servers refused, failed or "
	    "unreachable (via test)");
	assert_final(mx(ARES_ENOTFOUND, NULL), RESOLVER_NXDOMAIN,
	    "example.org: no such domain (via test)");
	assert_final(mx(ARES_EBADNAME, NULL), RESOLVER_NXDOMAIN,
	    "example.org: no such domain (via test)");
	/* success claimed, but no bytes */
	assert_final(mx(ARES_SUCCESS, NULL), RESOLVER_TEMPFAIL,
	    "MX lookup for example.org: malformed answer (via test)");
}

#define MALFORMED "MX lookup for example.org: malformed answer (via test)"

static void
test_mx_malformed(void **state)
{
	struct pkt p, whole;
	int n;

	(void)state;
	/* a header cut short */
	answer_start(&p, 1, ns_t_mx);
	p.len = 7;
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_TEMPFAIL, MALFORMED);

	/* a query, not a response */
	pkt_start(&p, F_RD_RA, ns_r_noerror, 1, ns_t_mx);
	RR_MXP(&p, 10, "\2mx" QPTR);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_TEMPFAIL, MALFORMED);

	/* every cut through a valid answer, with or without TC */
	answer_start(&whole, 2, ns_t_mx);
	RR_MXP(&whole, 10, "\3mx1" QPTR);
	RR_MX(&whole, 20, "\3mx2\7example\3net");
	for (n = 0; n < whole.len; n++) {
		struct resolver_result *res;

		p = whole;
		p.len = n;
		if (n > 3)
			p.b[2] |= F_TC >> 8;
		res = mx(ARES_SUCCESS, &p);
		assert_int_equal(res->status, RESOLVER_TEMPFAIL);
		assert_int_equal(res->nhosts, 0);
		assert_printable(res->error);
		resolver_result_free(res);
	}

	/* rdlength past the end of the packet */
	answer_start(&p, 1, ns_t_mx);
	rr_head(&p, ns_t_mx, 4000);
	put(&p, "\0\12\2mx", 6);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_TEMPFAIL, MALFORMED);
}

/* A host name that points at itself, and two that point at each other:
 * c-ares says ARES_EBADNAME, which must not become "no such domain". */
static void
test_mx_pointer_loops(void **state)
{
	struct pkt p;
	int here;

	(void)state;
	answer_start(&p, 1, ns_t_mx);
	here = p.len + 2 + 10 + 2;
	rr_head(&p, ns_t_mx, 4);
	put16(&p, 10);
	put16(&p, 0xc000 | (unsigned)here);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_TEMPFAIL, MALFORMED);

	answer_start(&p, 1, ns_t_mx);
	here = p.len + 2 + 10 + 2;
	rr_head(&p, ns_t_mx, 8);
	put16(&p, 10);
	put(&p, "\1x", 2);
	put16(&p, 0xc000 | (unsigned)(here + 4));
	put16(&p, 0xc000 | (unsigned)here);
	assert_final(mx(ARES_SUCCESS, &p), RESOLVER_TEMPFAIL, MALFORMED);
}

/* ---- A and AAAA ---- */

static void
test_answer_status(void **state)
{
	struct pkt p;

	(void)state;
	assert_int_equal(resolver_answer_status(ARES_ETIMEOUT, NULL, 0),
	    ARES_ETIMEOUT);
	assert_int_equal(resolver_answer_status(ARES_SUCCESS, NULL, 0),
	    ARES_EBADRESP);
	answer_start(&p, 0, ns_t_mx);
	assert_int_equal(resolver_answer_status(ARES_SUCCESS, p.b, 11),
	    ARES_EBADRESP);
	assert_int_equal(resolver_answer_status(ARES_SUCCESS, p.b, p.len),
	    ARES_ENODATA);
	pkt_start(&p, F_QR, ns_r_noerror, 1, ns_t_mx);
	assert_int_equal(resolver_answer_status(ARES_SUCCESS, p.b, p.len),
	    ARES_SUCCESS);
	pkt_start(&p, F_QR, ns_r_formerr, 1, ns_t_mx);
	assert_int_equal(resolver_answer_status(ARES_SUCCESS, p.b, p.len),
	    ARES_EFORMERR);
	pkt_start(&p, F_QR, ns_r_notimpl, 1, ns_t_mx);
	assert_int_equal(resolver_answer_status(ARES_SUCCESS, p.b, p.len),
	    ARES_ENOTIMP);
	pkt_start(&p, 0, ns_r_noerror, 1, ns_t_mx);
	assert_int_equal(resolver_answer_status(ARES_SUCCESS, p.b, p.len),
	    ARES_EBADRESP);
}

/* ---- resolver_sort_hosts: the MX order ---- */

static uint32_t fake_seq[16];
static size_t fake_pos;

static uint32_t
fake_rnd(void)
{
	return fake_seq[fake_pos++ % 16];
}

static void
set_hosts(struct resolver_host *h, const unsigned *prefs, size_t n)
{
	static char names[16][8];
	size_t i;

	memset(h, 0, n * sizeof(*h));
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "h%d", (int)i);
		h[i].name = names[i];
		h[i].pref = prefs[i];
	}
}

static void
test_sort_order(void **state)
{
	static const unsigned prefs[] = { 30, 10, 20, 0, 65535 };
	struct resolver_host h[5];
	size_t i;

	(void)state;
	set_hosts(h, prefs, 5);
	resolver_sort_hosts(h, 5, zero_rnd);
	for (i = 1; i < 5; i++)
		assert_true(h[i - 1].pref < h[i].pref);
	assert_string_equal(h[0].name, "h3");
	assert_string_equal(h[4].name, "h4");
	resolver_sort_hosts(h, 0, zero_rnd);		/* no-op */
	resolver_sort_hosts(h, 1, NULL);		/* default source */
	assert_string_equal(h[0].name, "h3");
}

static void
test_sort_ties(void **state)
{
	static const unsigned prefs[] = { 20, 10, 10, 10, 5 };
	struct resolver_host h[5];

	(void)state;
	/*
	 * After the stable sort: h4 (5), h1 h2 h3 (10), h0 (20).  The
	 * shuffle of positions 1..3 swaps k = 3 with 1 + r % 3, then k = 2
	 * with 1 + r % 2.  With r = 0: h4 h3 h2 h1 h0, then h4 h2 h3 h1 h0.
	 */
	set_hosts(h, prefs, 5);
	resolver_sort_hosts(h, 5, zero_rnd);
	assert_string_equal(h[0].name, "h4");
	assert_string_equal(h[1].name, "h2");
	assert_string_equal(h[2].name, "h3");
	assert_string_equal(h[3].name, "h1");
	assert_string_equal(h[4].name, "h0");

	/* r%3 == 2 and r%2 == 1 pick the element itself: stable order. */
	set_hosts(h, prefs, 5);
	fake_seq[0] = 2;
	fake_seq[1] = 1;
	fake_pos = 0;
	resolver_sort_hosts(h, 5, fake_rnd);
	assert_int_equal(fake_pos, 2);	/* only the tie run draws */
	assert_string_equal(h[1].name, "h1");
	assert_string_equal(h[2].name, "h2");
	assert_string_equal(h[3].name, "h3");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_order),
		cmocka_unit_test(test_sort_ties),
		cmocka_unit_test(test_mx_order),
		cmocka_unit_test(test_mx_duplicates),
		cmocka_unit_test(test_mx_compression),
		cmocka_unit_test(test_mx_implicit),
		cmocka_unit_test(test_mx_null),
		cmocka_unit_test(test_mx_control_bytes),
		cmocka_unit_test(test_mx_non_ascii),
		cmocka_unit_test(test_mx_mixed_invalid),
		cmocka_unit_test(test_mx_long_names),
		cmocka_unit_test(test_valid_hostname),
		cmocka_unit_test(test_mx_capped),
		cmocka_unit_test(test_mx_rcodes),
		cmocka_unit_test(test_mx_status),
		cmocka_unit_test(test_mx_malformed),
		cmocka_unit_test(test_mx_pointer_loops),
		cmocka_unit_test(test_answer_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
