/*
 * fuzz_dns — libFuzzer harness for resolver_answer.h: the input is one raw
 * DNS answer, as c-ares hands it to the ares_query callback, and it goes
 * through the MX parser and through the A and AAAA parsers (one host, A
 * then AAAA, as the live path joins them), the very functions resolver.c
 * calls.  Seeds: tests/fuzz/corpus/dns/ (tests/fuzz/make_dns_corpus.py).
 *
 * Beyond "no crash, no leak, no UB", every result must keep the module's
 * promises: a final status has an error text and no host; RESOLVER_OK has
 * 1 to RESOLVER_MX_MAX distinct valid host names in preference order (or
 * the asked name alone, for an implicit MX); at most RESOLVER_ADDR_MAX
 * addresses per family, IPv4 first, each with the port and never 0.0.0.0
 * or ::; every text printable; and a permanent "no such domain" only when
 * the server said NXDOMAIN in the header (a malformed answer must stay a
 * temporary failure).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <ares.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolver.h"
#include "dns_rrset.h"
#include "resolver_answer.h"

#define FUZZ_DOMAIN	"example.org"
#define FUZZ_PORT	2525

static uint32_t
fuzz_rnd(void)
{
	static uint32_t v = 1;

	v = v * 1103515245u + 12345u;	/* deterministic: replayable */
	return v >> 8;
}

static void
check_text(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || ++n >= max)
			abort();
}

/* The header's rcode, -1 without a header. */
static int
rcode(const uint8_t *data, int len)
{
	return len >= 12 ? data[3] & 0x0f : -1;
}

static void
check_mx(const struct resolver_answer *a, const struct resolver_result *res,
    int rc)
{
	size_t i, j;

	if (res->status == RESOLVER_NXDOMAIN && rc != 3)
		abort();
	check_text(a->outcome, sizeof(a->outcome));
	check_text(res->error, sizeof(res->error));
	if (res->status != RESOLVER_OK) {
		if (res->nhosts != 0 || res->error[0] == '\0')
			abort();
		return;
	}
	if (res->nhosts == 0 || res->nhosts > RESOLVER_MX_MAX)
		abort();
	if (a->implicit && (res->nhosts != 1 ||
	    strcmp(res->hosts[0].name, FUZZ_DOMAIN) != 0))
		abort();
	for (i = 0; i < res->nhosts; i++) {
		if (!resolver_valid_hostname(res->hosts[i].name) ||
		    res->hosts[i].naddrs != 0)
			abort();
		if (i > 0 && res->hosts[i - 1].pref > res->hosts[i].pref)
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(res->hosts[i].name, res->hosts[j].name) == 0)
				abort();
	}
}

static void
fuzz_mx(const uint8_t *data, int len)
{
	struct resolver_answer a = { .name = FUZZ_DOMAIN, .profile = "fuzz",
	    .port = FUZZ_PORT, .rnd = fuzz_rnd };
	struct resolver_result *res = calloc(1, sizeof(*res));

	if (res == NULL)
		abort();
	resolver_parse_mx(&a, ARES_SUCCESS, data, len, res);
	check_mx(&a, res, rcode(data, len));
	resolver_result_free(res);
}

static int
usable(const struct sockaddr_storage *ss)
{
	static const unsigned char zero[16];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return ntohs(sin->sin_port) == FUZZ_PORT &&
		    sin->sin_addr.s_addr != 0;
	return ss->ss_family == AF_INET6 &&
	    ntohs(sin6->sin6_port) == FUZZ_PORT &&
	    memcmp(&sin6->sin6_addr, zero, sizeof(zero)) != 0;
}

static void
check_addrs(const struct resolver_host *h)
{
	size_t i, v4 = 0, v6 = 0;

	for (i = 0; i < h->naddrs; i++) {
		if (!usable(&h->addrs[i]))
			abort();
		if (h->addrs[i].ss_family == AF_INET) {
			if (v6 > 0)
				abort();	/* IPv4 first */
			v4++;
		} else
			v6++;
	}
	if (v4 > RESOLVER_ADDR_MAX || v6 > RESOLVER_ADDR_MAX)
		abort();
}

static void
fuzz_addrs(const uint8_t *data, int len)
{
	struct resolver_answer a = { .name = FUZZ_DOMAIN, .profile = "fuzz",
	    .port = FUZZ_PORT };
	struct resolver_host h;
	enum resolver_lk lk;
	int qt;

	memset(&h, 0, sizeof(h));
	h.name = FUZZ_DOMAIN;
	/* AAAA first here, so that the IPv4-first join is exercised. */
	for (qt = 0; qt < 2; qt++) {
		lk = resolver_parse_addrs(&a, qt == 0 ? ns_t_aaaa : ns_t_a,
		    ARES_SUCCESS, data, len, &h);
		check_text(a.outcome, sizeof(a.outcome));
		if (lk == RESOLVER_LK_TEMP)
			check_text(a.temperr, sizeof(a.temperr));
		else if (lk != RESOLVER_LK_OK && lk != RESOLVER_LK_NODATA &&
		    lk != RESOLVER_LK_NXDOMAIN)
			abort();
		if (lk == RESOLVER_LK_TEMP && !h.tempfail)
			abort();
		if (lk == RESOLVER_LK_NXDOMAIN && rcode(data, len) != 3)
			abort();
	}
	check_addrs(&h);
	free(h.addrs);
}

/* The record sets of message authentication (dns_rrset.c): every type,
 * within the bounds, TXT texts NUL-terminated at their length. */
static void
fuzz_rrsets(const uint8_t *data, int len)
{
	static const int types[] = { DNS_T_TXT, DNS_T_A, DNS_T_AAAA,
	    DNS_T_MX, DNS_T_PTR };

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		struct dns_rrset rs;

		dns_rrset_parse(ARES_SUCCESS, data, len, types[t], &rs);
		if (rs.nrr > DNS_RRSET_MAX ||
		    (rs.status == DNS_RR_OK) != (rs.nrr > 0))
			abort();
		for (size_t i = 0; i < rs.nrr; i++)
			if (rs.rr[i].text != NULL &&
			    (rs.rr[i].len > DNS_TXT_MAX ||
			    rs.rr[i].text[rs.rr[i].len] != '\0'))
				abort();
		dns_rrset_clear(&rs);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int len = size > 65535 ? 65535 : (int)size;	/* a DNS message */

	fuzz_mx(data, len);
	fuzz_addrs(data, len);
	fuzz_rrsets(data, len);
	return 0;
}
