/*
 * test_resolver_answer — the pure DNS answer parsers of resolver_answer.h,
 * the code the live resolver runs on every answer, fed with packets built
 * here byte by byte: well-formed MX, A and AAAA answers, and the odd ones
 * a broken or hostile server can send (binary and over-long names, null
 * MX, floods of records, truncation, compression loops, wrong types, wrong
 * rcodes, unusable addresses).  No socket, no event loop.
 *
 * Names in packets are written as wire-format C literals: "\3mx1\7example"
 * "\3org" — sizeof counts the terminating NUL, which is the root label.
 */
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

static void
put(struct pkt *p, const void *data, size_t n)
{
	assert_true(p->len + n <= sizeof(p->b));
	memcpy(p->b + p->len, data, n);
	p->len += (int)n;
}

static void
put16(struct pkt *p, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(p, b, 2);
}

#define PUT_NAME(p, lit)	put((p), (lit), sizeof(lit))

/* Header with the flags and rcode, one question qname/qtype. */
static void
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

static void
answer_start(struct pkt *p, int ancount, int qtype)
{
	pkt_start(p, F_QR | F_RD_RA, ns_r_noerror, ancount, qtype);
}

/* Owner (wire format, olen bytes), type, class, TTL, rdlength. */
static void
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
static void
rr_head(struct pkt *p, int type, size_t rdlen)
{
	rr_owned(p, QPTR, 2, type, rdlen);
}

static void
rr_mx(struct pkt *p, unsigned pref, const void *wire, size_t wlen)
{
	rr_head(p, ns_t_mx, 2 + wlen);
	put16(p, pref);
	put(p, wire, wlen);
}

/* lit ends in the root label (its NUL), or in a pointer: RR_MXP. */
#define RR_MX(p, pref, lit)	rr_mx((p), (pref), (lit), sizeof(lit))
#define RR_MXP(p, pref, lit)	rr_mx((p), (pref), (lit), sizeof(lit) - 1)

static void
rr_a(struct pkt *p, const char *text)
{
	unsigned char b[4];

	assert_int_equal(inet_pton(AF_INET, text, b), 1);
	rr_head(p, ns_t_a, 4);
	put(p, b, 4);
}

static void
rr_aaaa(struct pkt *p, const char *text)
{
	unsigned char b[16];

	assert_int_equal(inet_pton(AF_INET6, text, b), 1);
	rr_head(p, ns_t_aaaa, 16);
	put(p, b, 16);
}

/* ---- running the parsers ---- */

static uint32_t
zero_rnd(void)
{
	return 0;
}

static struct resolver_answer ans;

static struct resolver_result *
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

static enum resolver_lk
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
static void
assert_printable(const char *s)
{
	for (; *s != '\0'; s++)
		assert_true(*s >= 0x20 && *s <= 0x7e);
}

static void
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

static const char *
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

static void
assert_addr(const struct resolver_host *h, size_t i, const char *text)
{
	int port = 0;

	assert_true(i < h->naddrs);
	assert_string_equal(ip(&h->addrs[i], &port), text);
	assert_int_equal(port, 2525);
}

/* ---- MX: well-formed ---- */

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
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
		cmocka_unit_test(test_addrs_join),
		cmocka_unit_test(test_addrs_cname_chain),
		cmocka_unit_test(test_addrs_capped),
		cmocka_unit_test(test_addrs_unusable),
		cmocka_unit_test(test_addrs_none),
		cmocka_unit_test(test_addrs_failures),
		cmocka_unit_test(test_answer_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
