/*
 * test_resolver_cache — the answer cache of a resolver profile with an
 * explicit clock: how long each kind of answer is kept (the smallest TTL,
 * the caps, RFC 2308 negative answers by their SOA, never a failure, a
 * truncated or a malformed answer), expiry, names without case, the
 * entry and byte bounds with the least recently used going first, and
 * two profiles' caches kept apart.
 */
#include "dnspkt.h"

#include "resolver_cache.h"

#define SOA_OWNER	"\7example\3org"

static void
rr_ttl(struct pkt *p, int type, uint32_t ttl, size_t rdlen)
{
	put(p, QPTR, 2);
	put16(p, (unsigned)type);
	put16(p, ns_c_in);
	put16(p, ttl >> 16);
	put16(p, ttl & 0xffff);
	put16(p, (unsigned)rdlen);
}

static void
a_ttl(struct pkt *p, uint32_t ttl, unsigned char last)
{
	unsigned char b[4] = { 127, 0, 0, last };

	rr_ttl(p, ns_t_a, ttl, 4);
	put(p, b, 4);
}

/* An SOA in the authority section: its TTL and MINIMUM. */
static void
soa(struct pkt *p, uint32_t ttl, uint32_t minimum)
{
	static const unsigned char names[] = "\2ns\300\14\4host\300\14";
	size_t rdlen = sizeof(names) - 1 + 20, i;

	rr_ttl(p, ns_t_soa, ttl, rdlen);
	put(p, names, sizeof(names) - 1);
	for (i = 0; i < 4; i++)
		put16(p, 0), put16(p, 60);	/* serial..expire */
	put16(p, minimum >> 16);
	put16(p, minimum & 0xffff);
}

/* A negative answer: rcode, nscount SOA records (0 or 1). */
static void
negative(struct pkt *p, int rcode, int with_soa, uint32_t ttl, uint32_t min)
{
	pkt_start(p, F_QR | F_RD_RA, rcode, 0, ns_t_txt);
	p->b[9] = with_soa ? 1 : 0;		/* NSCOUNT */
	if (with_soa)
		soa(p, ttl, min);
}

static void
t_ttl_positive(void **state)
{
	struct pkt p;

	(void)state;
	answer_start(&p, 2, ns_t_a);
	a_ttl(&p, 600, 1);
	a_ttl(&p, 120, 2);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len), 120);
	/* capped at an hour */
	answer_start(&p, 1, ns_t_a);
	a_ttl(&p, 86400, 1);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len),
	    RESOLVER_CACHE_TTL_MAX);
	/* TTL 0: never kept; a TTL with the top bit set counts as 0 */
	answer_start(&p, 2, ns_t_a);
	a_ttl(&p, 300, 1);
	a_ttl(&p, 0, 2);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len), 0);
	answer_start(&p, 1, ns_t_a);
	a_ttl(&p, 0x80000001u, 1);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len), 0);
}

static void
t_ttl_negative(void **state)
{
	struct pkt p;

	(void)state;
	/* RFC 2308 5: the smaller of the SOA's TTL and its MINIMUM */
	negative(&p, ns_r_nxdomain, 1, 200, 90);
	assert_int_equal(resolver_cache_ttl(ARES_ENOTFOUND, p.b, p.len), 90);
	negative(&p, ns_r_noerror, 1, 45, 90);
	assert_int_equal(resolver_cache_ttl(ARES_ENODATA, p.b, p.len), 45);
	/* a short cap */
	negative(&p, ns_r_nxdomain, 1, 86400, 86400);
	assert_int_equal(resolver_cache_ttl(ARES_ENOTFOUND, p.b, p.len),
	    RESOLVER_CACHE_NEG_MAX);
	/* without an SOA a negative answer is not kept */
	negative(&p, ns_r_nxdomain, 0, 0, 0);
	assert_int_equal(resolver_cache_ttl(ARES_ENOTFOUND, p.b, p.len), 0);
	negative(&p, ns_r_noerror, 0, 0, 0);
	assert_int_equal(resolver_cache_ttl(ARES_ENODATA, p.b, p.len), 0);
}

static void
t_ttl_never(void **state)
{
	struct pkt p;

	(void)state;
	/* SERVFAIL and REFUSED, even with an SOA */
	negative(&p, ns_r_servfail, 1, 300, 300);
	assert_int_equal(resolver_cache_ttl(ARES_ESERVFAIL, p.b, p.len), 0);
	negative(&p, ns_r_refused, 1, 300, 300);
	assert_int_equal(resolver_cache_ttl(ARES_EREFUSED, p.b, p.len), 0);
	/* a timeout or a connection error: no answer at all */
	assert_int_equal(resolver_cache_ttl(ARES_ETIMEOUT, NULL, 0), 0);
	assert_int_equal(resolver_cache_ttl(ARES_ECONNREFUSED, NULL, 0), 0);
	/* a status that does not match the rcode */
	negative(&p, ns_r_nxdomain, 1, 300, 300);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len), 0);
	assert_int_equal(resolver_cache_ttl(ARES_ENODATA, p.b, p.len), 0);
	/* truncated */
	pkt_start(&p, F_QR | F_TC | F_RD_RA, ns_r_noerror, 1, ns_t_a);
	a_ttl(&p, 300, 1);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len), 0);
	/* malformed: a record running past the end, a short header */
	answer_start(&p, 1, ns_t_a);
	a_ttl(&p, 300, 1);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len - 1), 0);
	answer_start(&p, 2, ns_t_a);
	a_ttl(&p, 300, 1);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len), 0);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, 11), 0);
	/* not a response */
	pkt_start(&p, F_RD_RA, ns_r_noerror, 1, ns_t_a);
	a_ttl(&p, 300, 1);
	assert_int_equal(resolver_cache_ttl(ARES_SUCCESS, p.b, p.len), 0);
}

static void
t_expiry(void **state)
{
	struct resolver_cache *c = resolver_cache_new(0, 0);
	struct resolver_cache_stats st;
	unsigned char *abuf;
	int status, alen;
	struct pkt p;

	(void)state;
	answer_start(&p, 1, ns_t_a);
	a_ttl(&p, 60, 7);
	assert_int_equal(resolver_cache_get(c, ns_t_a, "example.org", 1000,
	    &status, &abuf, &alen), 0);
	resolver_cache_put(c, ns_t_a, "example.org", ARES_SUCCESS, p.b, p.len,
	    1000);
	/* the same bytes and status, names without case */
	assert_int_equal(resolver_cache_get(c, ns_t_a, "Example.ORG", 1059,
	    &status, &abuf, &alen), 1);
	assert_int_equal(status, ARES_SUCCESS);
	assert_int_equal(alen, p.len);
	assert_memory_equal(abuf, p.b, (size_t)p.len);
	free(abuf);
	/* another type is another question */
	assert_int_equal(resolver_cache_get(c, ns_t_aaaa, "example.org",
	    1001, &status, &abuf, &alen), 0);
	/* gone after its TTL */
	assert_int_equal(resolver_cache_get(c, ns_t_a, "example.org", 1060,
	    &status, &abuf, &alen), 0);
	resolver_cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 3);
	resolver_cache_free(c);
}

static void
t_negative_kept(void **state)
{
	struct resolver_cache *c = resolver_cache_new(0, 0);
	unsigned char *abuf;
	int status, alen;
	struct pkt p;

	(void)state;
	negative(&p, ns_r_nxdomain, 1, 300, 30);
	resolver_cache_put(c, ns_t_txt, "_dmarc.example.org", ARES_ENOTFOUND,
	    p.b, p.len, 50);
	assert_int_equal(resolver_cache_get(c, ns_t_txt, "_dmarc.example.org",
	    79, &status, &abuf, &alen), 1);
	assert_int_equal(status, ARES_ENOTFOUND);
	free(abuf);
	assert_int_equal(resolver_cache_get(c, ns_t_txt, "_dmarc.example.org",
	    80, &status, &abuf, &alen), 0);
	resolver_cache_free(c);
}

static void
t_servfail_not_kept(void **state)
{
	struct resolver_cache *c = resolver_cache_new(0, 0);
	struct resolver_cache_stats st;
	unsigned char *abuf;
	int status, alen;
	struct pkt p;

	(void)state;
	negative(&p, ns_r_servfail, 1, 300, 300);
	resolver_cache_put(c, ns_t_txt, "example.org", ARES_ESERVFAIL, p.b,
	    p.len, 0);
	resolver_cache_put(c, ns_t_mx, "example.org", ARES_ETIMEOUT, NULL, 0,
	    0);
	assert_int_equal(resolver_cache_get(c, ns_t_txt, "example.org", 1,
	    &status, &abuf, &alen), 0);
	assert_int_equal(resolver_cache_get(c, ns_t_mx, "example.org", 1,
	    &status, &abuf, &alen), 0);
	resolver_cache_stats(c, &st);
	assert_int_equal(st.stored, 0);
	assert_int_equal(st.entries, 0);
	resolver_cache_free(c);
}

static int
has(struct resolver_cache *c, const char *name, int64_t now)
{
	unsigned char *abuf;
	int status, alen;

	if (!resolver_cache_get(c, ns_t_a, name, now, &status, &abuf, &alen))
		return 0;
	free(abuf);
	return 1;
}

static void
t_lru_entries(void **state)
{
	struct resolver_cache *c = resolver_cache_new(3, 0);
	struct resolver_cache_stats st;
	struct pkt p;

	(void)state;
	answer_start(&p, 1, ns_t_a);
	a_ttl(&p, 300, 1);
	resolver_cache_put(c, ns_t_a, "a.example", ARES_SUCCESS, p.b, p.len, 0);
	resolver_cache_put(c, ns_t_a, "b.example", ARES_SUCCESS, p.b, p.len, 0);
	resolver_cache_put(c, ns_t_a, "c.example", ARES_SUCCESS, p.b, p.len, 0);
	assert_true(has(c, "a.example", 1));	/* a is now the most recent */
	resolver_cache_put(c, ns_t_a, "d.example", ARES_SUCCESS, p.b, p.len, 1);
	assert_false(has(c, "b.example", 2));	/* the least recent went */
	assert_true(has(c, "a.example", 2));
	assert_true(has(c, "c.example", 2));
	assert_true(has(c, "d.example", 2));
	/* the same question again replaces its entry */
	resolver_cache_put(c, ns_t_a, "d.example", ARES_SUCCESS, p.b, p.len, 3);
	resolver_cache_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evicted, 1);
	resolver_cache_free(c);
}

static void
t_lru_bytes(void **state)
{
	struct resolver_cache *c;
	struct resolver_cache_stats st;
	struct pkt p;
	char name[32];
	int i;

	(void)state;
	answer_start(&p, 1, ns_t_a);
	a_ttl(&p, 300, 1);
	/* room for a few answers, not twenty */
	c = resolver_cache_new(100, 4 * (size_t)(p.len + 160));
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		resolver_cache_put(c, ns_t_a, name, ARES_SUCCESS, p.b, p.len,
		    0);
		resolver_cache_stats(c, &st);
		assert_true(st.bytes <= 4 * (size_t)(p.len + 160));
	}
	assert_true(st.entries >= 2 && st.entries <= 8 && st.entries < 20);
	assert_true(has(c, "h19.example", 1));
	assert_false(has(c, "h0.example", 1));
	resolver_cache_free(c);
	/* an answer larger than the whole cache is not kept */
	c = resolver_cache_new(100, 64);
	resolver_cache_put(c, ns_t_a, "big.example", ARES_SUCCESS, p.b, p.len,
	    0);
	assert_false(has(c, "big.example", 1));
	resolver_cache_free(c);
}

static void
t_profiles_apart(void **state)
{
	struct resolver_cache *inside = resolver_cache_new(0, 0);
	struct resolver_cache *outside = resolver_cache_new(0, 0);
	unsigned char *abuf;
	int status, alen;
	struct pkt p1, p2;

	(void)state;
	/* split DNS: the same name, two answers */
	answer_start(&p1, 1, ns_t_a);
	a_ttl(&p1, 300, 81);
	answer_start(&p2, 1, ns_t_a);
	a_ttl(&p2, 300, 82);
	resolver_cache_put(inside, ns_t_a, "split.example.org", ARES_SUCCESS,
	    p1.b, p1.len, 0);
	assert_int_equal(resolver_cache_get(outside, ns_t_a,
	    "split.example.org", 1, &status, &abuf, &alen), 0);
	resolver_cache_put(outside, ns_t_a, "split.example.org", ARES_SUCCESS,
	    p2.b, p2.len, 0);
	assert_int_equal(resolver_cache_get(inside, ns_t_a,
	    "split.example.org", 1, &status, &abuf, &alen), 1);
	assert_int_equal(abuf[alen - 1], 81);
	free(abuf);
	assert_int_equal(resolver_cache_get(outside, ns_t_a,
	    "split.example.org", 1, &status, &abuf, &alen), 1);
	assert_int_equal(abuf[alen - 1], 82);
	free(abuf);
	resolver_cache_free(inside);
	resolver_cache_free(outside);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_ttl_positive),
		cmocka_unit_test(t_ttl_negative),
		cmocka_unit_test(t_ttl_never),
		cmocka_unit_test(t_expiry),
		cmocka_unit_test(t_negative_kept),
		cmocka_unit_test(t_servfail_not_kept),
		cmocka_unit_test(t_lru_entries),
		cmocka_unit_test(t_lru_bytes),
		cmocka_unit_test(t_profiles_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
