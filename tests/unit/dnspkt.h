/*
 * dnspkt — what the DNS answer tests share (test_resolver_answer.c for
 * MX answers and the header, test_resolver_addrs.c for A and AAAA): a
 * packet builder writing answers byte by byte, the calls into the parsers
 * of resolver_answer.h, and assertions on their results.
 *
 * Names in packets are written as wire-format C literals: "\3mx1\7example"
 * "\3org" — sizeof counts the terminating NUL, which is the root label.
 */
#ifndef POSTERN_TEST_DNSPKT_H
#define POSTERN_TEST_DNSPKT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver.h"
#include "resolver_answer.h"

#define PKT_MAX		65535
#define QNAME		"\7example\3org"
#define QPTR		"\xc0\x0c"	/* the question name, at offset 12 */
#define F_QR		0x8000
#define F_TC		0x0200
#define F_RD_RA		0x0180

/* ---- a DNS packet builder ---- */

struct pkt {
	unsigned char	b[PKT_MAX];
	int		len;
};

static inline void
put(struct pkt *p, const void *data, size_t n)
{
	assert_true(p->len + n <= sizeof(p->b));
	memcpy(p->b + p->len, data, n);
	p->len += (int)n;
}

static inline void
put16(struct pkt *p, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(p, b, 2);
}

#define PUT_NAME(p, lit)	put((p), (lit), sizeof(lit))

/* Header with the flags and rcode, one question qname/qtype. */
static inline void
pkt_start(struct pkt *p, unsigned flags, int rcode, int ancount, int qtype)
{
	p->len = 0;
	put16(p, 0x1234);
	put16(p, flags | (unsigned)rcode);
	put16(p, 1);
	put16(p, (unsigned)ancount);
	put16(p, 0);
	put16(p, 0);
	PUT_NAME(p, QNAME);
	put16(p, (unsigned)qtype);
	put16(p, ns_c_in);
}

static inline void
answer_start(struct pkt *p, int ancount, int qtype)
{
	pkt_start(p, F_QR | F_RD_RA, ns_r_noerror, ancount, qtype);
}

/* Owner (wire format, olen bytes), type, class, TTL, rdlength. */
static inline void
rr_owned(struct pkt *p, const void *owner, size_t olen, int type,
    size_t rdlen)
{
	put(p, owner, olen);
	put16(p, (unsigned)type);
	put16(p, ns_c_in);
	put16(p, 0);
	put16(p, 300);
	put16(p, (unsigned)rdlen);
}

/* The same, owned by the question name. */
static inline void
rr_head(struct pkt *p, int type, size_t rdlen)
{
	rr_owned(p, QPTR, 2, type, rdlen);
}

static inline void
rr_mx(struct pkt *p, unsigned pref, const void *wire, size_t wlen)
{
	rr_head(p, ns_t_mx, 2 + wlen);
	put16(p, pref);
	put(p, wire, wlen);
}

/* lit ends in the root label (its NUL), or in a pointer: RR_MXP. */
#define RR_MX(p, pref, lit)	rr_mx((p), (pref), (lit), sizeof(lit))
#define RR_MXP(p, pref, lit)	rr_mx((p), (pref), (lit), sizeof(lit) - 1)

static inline void
rr_a(struct pkt *p, const char *text)
{
	unsigned char b[4];

	assert_int_equal(inet_pton(AF_INET, text, b), 1);
	rr_head(p, ns_t_a, 4);
	put(p, b, 4);
}

static inline void
rr_aaaa(struct pkt *p, const char *text)
{
	unsigned char b[16];

	assert_int_equal(inet_pton(AF_INET6, text, b), 1);
	rr_head(p, ns_t_aaaa, 16);
	put(p, b, 16);
}

/* ---- running the parsers ---- */

static inline uint32_t
zero_rnd(void)
{
	return 0;
}

static struct resolver_answer ans;

static inline struct resolver_result *
mx(int status, const struct pkt *p)
{
	struct resolver_result *res = calloc(1, sizeof(*res));

	assert_non_null(res);
	memset(&ans, 0, sizeof(ans));
	ans.name = "example.org";
	ans.profile = "test";
	ans.port = 25;
	ans.rnd = zero_rnd;
	resolver_parse_mx(&ans, status, p ? p->b : NULL, p ? p->len : 0, res);
	return res;
}

static inline enum resolver_lk
addrs(int qtype, int status, const struct pkt *p, struct resolver_host *h)
{
	memset(&ans, 0, sizeof(ans));
	ans.name = "example.org";
	ans.profile = "test";
	ans.port = 2525;
	return resolver_parse_addrs(&ans, qtype, status, p ? p->b : NULL,
	    p ? p->len : 0, h);
}

/* Printable ASCII only: what may go into a log line or a reply. */
static inline void
assert_printable(const char *s)
{
	for (; *s != '\0'; s++)
		assert_true(*s >= 0x20 && *s <= 0x7e);
}

static inline void
assert_final(struct resolver_result *res, enum resolver_status st,
    const char *error)
{
	assert_int_equal(res->status, st);
	assert_int_equal(res->nhosts, 0);
	assert_null(res->hosts);
	assert_string_equal(res->error, error);
	assert_printable(ans.outcome);
	resolver_result_free(res);
}

static inline const char *
ip(const struct sockaddr_storage *ss, int *port)
{
	static char buf[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		*port = ntohs(sin->sin_port);
		return inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
	}
	*port = ntohs(sin6->sin6_port);
	return inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
}

static inline void
assert_addr(const struct resolver_host *h, size_t i, const char *text)
{
	int port = 0;

	assert_true(i < h->naddrs);
	assert_string_equal(ip(&h->addrs[i], &port), text);
	assert_int_equal(port, 2525);
}

/* ---- MX: well-formed ---- */

#endif
