/*
 * test_dns_rrset — raw answers into record sets: TXT strings joined per
 * record, the TXT and record-count bounds, A/AAAA, MX and PTR names, and
 * the status of every kind of failure (NODATA, NXDOMAIN, SERVFAIL, a
 * malformed packet: only a clean "no such name" is permanent).
 */
#include "dnspkt.h"

#include "dns_rrset.h"

/* One TXT record of the given character-strings. */
static void
rr_txt(struct pkt *p, const char *const *strs, size_t n)
{
	size_t rdlen = 0, i;

	for (i = 0; i < n; i++)
		rdlen += 1 + strlen(strs[i]);
	rr_head(p, ns_t_txt, rdlen);
	for (i = 0; i < n; i++) {
		unsigned char l = (unsigned char)strlen(strs[i]);

		put(p, &l, 1);
		put(p, strs[i], l);
	}
}

static void
t_txt(void **state)
{
	const char *const a[] = { "v=spf1 ", "-all" };
	const char *const b[] = { "other" };
	struct dns_rrset rs;
	struct pkt p;

	(void)state;
	answer_start(&p, 2, ns_t_txt);
	rr_txt(&p, a, 2);
	rr_txt(&p, b, 1);
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len, DNS_T_TXT, &rs);
	assert_int_equal(rs.status, DNS_RR_OK);
	assert_int_equal(rs.nrr, 2);
	assert_string_equal(rs.rr[0].text, "v=spf1 -all");
	assert_int_equal(rs.rr[0].len, 11);
	assert_string_equal(rs.rr[1].text, "other");
	dns_rrset_clear(&rs);
}

static void
t_txt_bounds(void **state)
{
	char big[256];
	const char *strs[40];
	struct dns_rrset rs;
	struct pkt p;
	size_t i;

	(void)state;
	memset(big, 'x', 255);
	big[255] = '\0';
	for (i = 0; i < 40; i++)
		strs[i] = big;
	/* 40 x 255 octets: over DNS_TXT_MAX, dropped; the short one kept. */
	answer_start(&p, 2, ns_t_txt);
	rr_txt(&p, strs, 40);
	rr_txt(&p, strs, 1);
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len, DNS_T_TXT, &rs);
	assert_int_equal(rs.status, DNS_RR_OK);
	assert_int_equal(rs.nrr, 1);
	assert_int_equal(rs.rr[0].len, 255);
	dns_rrset_clear(&rs);

	/* More records than DNS_RRSET_MAX: the first ones kept. */
	answer_start(&p, DNS_RRSET_MAX + 5, ns_t_txt);
	for (i = 0; i < DNS_RRSET_MAX + 5; i++)
		rr_txt(&p, strs, 1);
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len, DNS_T_TXT, &rs);
	assert_int_equal(rs.nrr, DNS_RRSET_MAX);
	dns_rrset_clear(&rs);
}

static void
t_addrs_mx(void **state)
{
	struct dns_rrset rs;
	struct pkt p;

	(void)state;
	answer_start(&p, 2, ns_t_a);
	rr_a(&p, "192.0.2.1");
	rr_a(&p, "192.0.2.2");
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len, DNS_T_A, &rs);
	assert_int_equal(rs.nrr, 2);
	assert_int_equal(rs.rr[1].family, AF_INET);
	assert_memory_equal(rs.rr[1].addr, "\xc0\x00\x02\x02", 4);
	dns_rrset_clear(&rs);

	answer_start(&p, 1, ns_t_aaaa);
	rr_aaaa(&p, "2001:db8::1");
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len, DNS_T_AAAA, &rs);
	assert_int_equal(rs.nrr, 1);
	assert_int_equal(rs.rr[0].family, AF_INET6);
	dns_rrset_clear(&rs);

	answer_start(&p, 2, ns_t_mx);
	rr_mx(&p, 20, "\3MX2\7example\3org", 17);
	rr_mx(&p, 10, "\3mx1\7example\3org", 17);
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len, DNS_T_MX, &rs);
	assert_int_equal(rs.nrr, 2);
	assert_string_equal(rs.rr[0].text, "mx2.example.org");
	assert_int_equal(rs.rr[0].pref, 20);
	dns_rrset_clear(&rs);
}

static void
t_ptr(void **state)
{
	struct dns_rrset rs;
	struct pkt p;
	static const char host[] = "\4mail\7example\3org";

	(void)state;
	answer_start(&p, 1, ns_t_ptr);
	rr_head(&p, ns_t_ptr, sizeof(host));
	put(&p, host, sizeof(host));
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len, DNS_T_PTR, &rs);
	assert_int_equal(rs.status, DNS_RR_OK);
	assert_int_equal(rs.nrr, 1);
	assert_string_equal(rs.rr[0].text, "mail.example.org");
	dns_rrset_clear(&rs);
}

static void
t_failures(void **state)
{
	struct dns_rrset rs;
	struct pkt p;

	(void)state;
	answer_start(&p, 0, ns_t_txt);
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len, DNS_T_TXT, &rs);
	assert_int_equal(rs.status, DNS_RR_NODATA);

	pkt_start(&p, F_QR | F_RD_RA, ns_r_nxdomain, 0, ns_t_txt);
	dns_rrset_parse(ARES_ENOTFOUND, p.b, p.len, DNS_T_TXT, &rs);
	assert_int_equal(rs.status, DNS_RR_NXDOMAIN);

	pkt_start(&p, F_QR | F_RD_RA, ns_r_servfail, 0, ns_t_txt);
	dns_rrset_parse(ARES_ESERVFAIL, p.b, p.len, DNS_T_TXT, &rs);
	assert_int_equal(rs.status, DNS_RR_TEMPFAIL);
	assert_true(rs.error[0] != '\0');

	dns_rrset_parse(ARES_ETIMEOUT, NULL, 0, DNS_T_TXT, &rs);
	assert_int_equal(rs.status, DNS_RR_TEMPFAIL);

	/* An answer cut in the middle of its record: malformed. */
	answer_start(&p, 1, ns_t_a);
	rr_a(&p, "192.0.2.1");
	dns_rrset_parse(ARES_SUCCESS, p.b, p.len - 2, DNS_T_A, &rs);
	assert_int_equal(rs.status, DNS_RR_TEMPFAIL);
	assert_int_equal(rs.nrr, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_txt),
		cmocka_unit_test(t_txt_bounds),
		cmocka_unit_test(t_addrs_mx),
		cmocka_unit_test(t_ptr),
		cmocka_unit_test(t_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
