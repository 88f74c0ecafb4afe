/*
 * resolver_answer — pure parsing of raw DNS answers into resolver results
 * (see resolver_answer.h).  No c-ares channel and no event loop: only the
 * c-ares wire parsers (ares_parse_*_reply), which need neither.
 *
 * What an answer may not do, whatever its bytes: put a name into a
 * result that is not a plain host name (it would reach a DNS question,
 * a log line, a queue file and a DSN), give more than RESOLVER_MX_MAX
 * hosts or RESOLVER_ADDR_MAX addresses per family, or give an address
 * no connection can be made to.  A malformed answer is a temporary
 * failure, never a bounce: the zone may be fixed, or the packet was
 * spoofed.
 */
#include "resolver_answer.h"

#include <sys/random.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* ---- names, addresses, texts ---- */

char *
resolver_lowercase_name(const char *s)
{
	char *p, *out = xstrdup(s);
	size_t len;

	for (p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	len = strlen(out);
	if (len > 1 && out[len - 1] == '.')
		out[len - 1] = '\0';
	return out;
}

static int
hostname_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Lenient about '_' and leading or trailing '-' (they exist in the
 * wild and are harmless); strict about everything that could change the
 * meaning of a DNS question or of a log or reply line. */
int
resolver_valid_hostname(const char *s)
{
	size_t len = 0, label = 0;

	for (; *s != '\0'; s++, len++) {
		if (len >= RESOLVER_NAME_MAX)
			return 0;
		if (*s == '.') {
			if (label == 0)
				return 0;	/* empty label, or "." */
			label = 0;
		} else if (!hostname_char(*s) || ++label > RESOLVER_LABEL_MAX)
			return 0;
	}
	return label > 0;
}

void
resolver_make_sa(struct sockaddr_storage *ss, int af, const void *addr,
    int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
	}
}

const char *
resolver_qtype_name(int qtype)
{
	switch (qtype) {
	case ns_t_mx:
		return "MX";
	case ns_t_a:
		return "A";
	case ns_t_aaaa:
		return "AAAA";
	case ns_t_txt:
		return "TXT";
	case ns_t_ptr:
		return "PTR";
	}
	return "?";
}

const char *
resolver_status_text(int status)
{
	switch (status) {
	case ARES_ESERVFAIL:
		return "SERVFAIL";
	case ARES_EREFUSED:
		return "REFUSED";
	case ARES_ETIMEOUT:
		return "timeout";
	case ARES_ENOTFOUND:
		return "NXDOMAIN";
	case ARES_ENODATA:
		return "NODATA";
	case ARES_EBADRESP:
		return "malformed answer";
	case ARES_ECONNREFUSED:
		/* c-ares 1.18 also says so when every server answered
		 * SERVFAIL or REFUSED. */
		return "servers refused, failed or unreachable";
	}
	return ares_strerror(status);
}

/* ---- the header ---- */

#define HDR_LEN		12
#define HDR_QR		0x80	/* byte 2: a response */
#define HDR_RCODE	0x0f	/* byte 3 */

int
resolver_answer_status(int status, const unsigned char *abuf, int alen)
{
	unsigned ancount;

	if (status != ARES_SUCCESS)
		return status;
	if (abuf == NULL || alen < HDR_LEN || !(abuf[2] & HDR_QR))
		return ARES_EBADRESP;
	ancount = (unsigned)abuf[6] << 8 | abuf[7];
	switch (abuf[3] & HDR_RCODE) {
	case ns_r_noerror:
		return ancount > 0 ? ARES_SUCCESS : ARES_ENODATA;
	case ns_r_formerr:
		return ARES_EFORMERR;
	case ns_r_servfail:
		return ARES_ESERVFAIL;
	case ns_r_nxdomain:
		return ARES_ENOTFOUND;
	case ns_r_notimpl:
		return ARES_ENOTIMP;
	case ns_r_refused:
		return ARES_EREFUSED;
	}
	return ARES_EBADRESP;
}

/*
 * A c-ares parser's verdict.  ARES_EBADNAME from ares_query means the
 * name asked cannot exist (NXDOMAIN); from a parser it means a name in
 * the answer is broken (a compression loop, a name cut short): that is a
 * malformed answer, which must never become a permanent failure.
 */
static int
parser_status(int st)
{
	return st == ARES_EBADNAME ? ARES_EBADRESP : st;
}

/* ---- MX ---- */

/* What the MX records of one answer were. */
struct mx_tally {
	int	records;	/* MX records in the answer */
	int	nulls;		/* root name: RFC 7505 */
	int	refused;	/* not a valid host name */
};

static int
host_by_name(const void *x, const void *y)
{
	const struct resolver_host *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : a->pref < b->pref ? -1 : a->pref > b->pref;
}

static int
host_by_pref(const void *x, const void *y)
{
	const struct resolver_host *a = x, *b = y;

	return a->pref < b->pref ? -1 : a->pref > b->pref;
}

/* Every valid MX host of the list, lowercase, duplicates included. */
static void
mx_collect(const struct ares_mx_reply *mx, struct resolver_result *res,
    struct mx_tally *t)
{
	const struct ares_mx_reply *m;
	size_t cap = 0;
	char *name;

	for (m = mx; m != NULL; m = m->next) {
		t->records++;
		if (m->host[0] == '\0' || strcmp(m->host, ".") == 0) {
			t->nulls++;
			continue;
		}
		name = resolver_lowercase_name(m->host);
		if (!resolver_valid_hostname(name)) {
			t->refused++;
			free(name);
			continue;
		}
		if (res->nhosts == cap) {
			cap = cap ? 2 * cap : 8;
			res->hosts = xreallocarray(res->hosts, cap,
			    sizeof(*res->hosts));
		}
		memset(&res->hosts[res->nhosts], 0, sizeof(*res->hosts));
		res->hosts[res->nhosts].name = name;
		res->hosts[res->nhosts++].pref = m->priority;
	}
}

/* Each host once with its best preference, in MX order, at most
 * RESOLVER_MX_MAX: O(n log n), whatever the answer holds. */
static void
mx_reduce(struct resolver_result *res, uint32_t (*rnd)(void))
{
	struct resolver_host *h = res->hosts;
	size_t i, n = 0;

	if (res->nhosts == 0)
		return;
	qsort(h, res->nhosts, sizeof(*h), host_by_name);
	for (i = 0; i < res->nhosts; i++) {
		if (n > 0 && strcmp(h[n - 1].name, h[i].name) == 0) {
			free(h[i].name);	/* a worse duplicate */
			continue;
		}
		h[n++] = h[i];
	}
	qsort(h, n, sizeof(*h), host_by_pref);
	/* Sorted already: this only shuffles equal preferences, so that a
	 * cut through a run of them keeps a random part of it. */
	resolver_sort_hosts(h, n, rnd);
	while (n > RESOLVER_MX_MAX)
		free(h[--n].name);
	res->nhosts = n;
}

static void
set_error(struct resolver_result *res, enum resolver_status st,
    const char *fmt, const char *name, const char *profile)
{
	res->status = st;
	snprintf(res->error, sizeof(res->error), fmt, name, profile);
}

/* After a usable answer: null MX, implicit MX or the hosts. */
static void
mx_settle(struct resolver_answer *a, const struct mx_tally *t,
    struct resolver_result *res)
{
	if (res->nhosts == 0 && t->refused > 0) {
		snprintf(a->outcome, sizeof(a->outcome), "%d record%s, no "
		    "valid host name", t->records, t->records == 1 ? "" : "s");
		set_error(res, RESOLVER_TEMPFAIL, "MX lookup for %s: no MX "
		    "record names a valid host (via %s)", a->name, a->profile);
	} else if (res->nhosts == 0 && t->nulls > 0) {
		/* RFC 7505 "0 ."; beside real hosts it is only noise. */
		snprintf(a->outcome, sizeof(a->outcome), "null MX");
		res->status = RESOLVER_NULLMX;
		snprintf(res->error, sizeof(res->error), "%s does not accept "
		    "mail (null MX, RFC 7505)", a->name);
	} else if (res->nhosts == 0) {
		/* RFC 5321 5.1: no MX, the domain is its own exchanger. */
		snprintf(a->outcome, sizeof(a->outcome), "NODATA, implicit MX");
		a->implicit = 1;
		res->hosts = xcalloc(1, sizeof(*res->hosts));
		res->hosts[0].name = xstrdup(a->name);
		res->nhosts = 1;
	} else
		snprintf(a->outcome, sizeof(a->outcome), "%d record%s%s",
		    t->records, t->records == 1 ? "" : "s", t->refused > 0 ?
		    ", invalid names skipped" : "");
}

void
resolver_parse_mx(struct resolver_answer *a, int status,
    const unsigned char *abuf, int alen, struct resolver_result *res)
{
	struct ares_mx_reply *mx = NULL;
	struct mx_tally t = { 0, 0, 0 };

	a->implicit = 0;
	status = resolver_answer_status(status, abuf, alen);
	if (status == ARES_SUCCESS &&
	    (status = parser_status(ares_parse_mx_reply(abuf, alen, &mx))) ==
	    ARES_SUCCESS) {
		mx_collect(mx, res, &t);
		ares_free_data(mx);
		mx_reduce(res, a->rnd);
	}
	snprintf(a->outcome, sizeof(a->outcome), "%s",
	    resolver_status_text(status));
	switch (status) {
	case ARES_SUCCESS:
	case ARES_ENODATA:
		mx_settle(a, &t, res);
		return;
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:
		set_error(res, RESOLVER_NXDOMAIN, "%s: no such domain (via %s)",
		    a->name, a->profile);
		return;
	}
	res->status = RESOLVER_TEMPFAIL;
	snprintf(res->error, sizeof(res->error), "MX lookup for %s: %s (via %s)",
	    a->name, resolver_status_text(status), a->profile);
}

/* ---- A and AAAA ---- */

/* 0.0.0.0/8 (0.0.0.0 connects to this host), multicast, 240/4 with the
 * broadcast address: nothing to deliver mail to.  b: 4 bytes. */
static int
usable_v4(const unsigned char *b)
{
	return b[0] != 0 && b[0] < 224;
}

/* ::, multicast, and IPv4-mapped addresses that usable_v4 refuses.
 * b: 16 bytes. */
static int
usable_v6(const unsigned char *b)
{
	static const unsigned char zero[16], mapped[12] = { [10] = 0xff,
	    [11] = 0xff };

	if (memcmp(b, zero, sizeof(zero)) == 0 || b[0] == 0xff)
		return 0;
	if (memcmp(b, mapped, sizeof(mapped)) == 0)
		return usable_v4(b + 12);
	return 1;
}

/* The usable addresses of the answer, as socket addresses in ss (room for
 * RESOLVER_ADDR_MAX); their count, or a c-ares status below 0. */
static int
addrs_parse(int v4, const unsigned char *abuf, int alen, int port,
    struct sockaddr_storage *ss)
{
	struct ares_addrttl a4[RESOLVER_ADDR_MAX];
	struct ares_addr6ttl a6[RESOLVER_ADDR_MAX];
	int i, st, n = RESOLVER_ADDR_MAX, k = 0;

	st = v4 ? ares_parse_a_reply(abuf, alen, NULL, a4, &n) :
	    ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	if ((st = parser_status(st)) != ARES_SUCCESS)
		return st > 0 ? -st : -ARES_EBADRESP;
	if (n < 0 || n > RESOLVER_ADDR_MAX)
		return -ARES_EBADRESP;	/* never, by c-ares' contract */
	for (i = 0; i < n; i++) {
		if (v4 ? !usable_v4((const unsigned char *)&a4[i].ipaddr) :
		    !usable_v6((const unsigned char *)&a6[i].ip6addr))
			continue;
		resolver_make_sa(&ss[k++], v4 ? AF_INET : AF_INET6, v4 ?
		    (const void *)&a4[i].ipaddr : (const void *)&a6[i].ip6addr,
		    port);
	}
	return k;
}

/* n addresses join h's: IPv4 first, whichever answer comes in first. */
static void
addrs_join(struct resolver_host *h, int v4, const struct sockaddr_storage *ss,
    size_t n)
{
	struct sockaddr_storage *to;

	h->addrs = xreallocarray(h->addrs, h->naddrs + n, sizeof(*h->addrs));
	to = h->addrs + h->naddrs;
	if (v4) {
		memmove(h->addrs + n, h->addrs, h->naddrs * sizeof(*to));
		to = h->addrs;
	}
	memcpy(to, ss, n * sizeof(*to));
	h->naddrs += n;
}

enum resolver_lk
resolver_parse_addrs(struct resolver_answer *a, int qtype, int status,
    const unsigned char *abuf, int alen, struct resolver_host *h)
{
	struct sockaddr_storage ss[RESOLVER_ADDR_MAX];
	int n = 0, v4 = qtype == ns_t_a;

	status = resolver_answer_status(status, abuf, alen);
	if (status == ARES_SUCCESS &&
	    (n = addrs_parse(v4, abuf, alen, a->port, ss)) < 0)
		status = -n;
	if (status == ARES_SUCCESS && n == 0)
		status = ARES_ENODATA;
	snprintf(a->outcome, sizeof(a->outcome), "%s",
	    resolver_status_text(status));
	switch (status) {
	case ARES_SUCCESS:
		addrs_join(h, v4, ss, (size_t)n);
		snprintf(a->outcome, sizeof(a->outcome), "%d address%s", n,
		    n == 1 ? "" : "es");
		return RESOLVER_LK_OK;
	case ARES_ENODATA:
		return RESOLVER_LK_NODATA;
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:
		return RESOLVER_LK_NXDOMAIN;
	}
	h->tempfail = 1;
	snprintf(a->temperr, sizeof(a->temperr), "%s lookup for %s: %s (via %s)",
	    resolver_qtype_name(qtype), h->name, resolver_status_text(status),
	    a->profile);
	return RESOLVER_LK_TEMP;
}

/* ---- the MX order ---- */

static uint32_t
default_rnd(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)random();
	return v;
}

/* Stable insertion sort by preference, then a Fisher-Yates shuffle of
 * each run of equal preferences (RFC 5321 5.1).  rnd NULL: getrandom. */
void
resolver_sort_hosts(struct resolver_host *h, size_t n, uint32_t (*rnd)(void))
{
	struct resolver_host t;
	size_t i, j, k, m;

	if (rnd == NULL)
		rnd = default_rnd;
	for (i = 1; i < n; i++) {
		t = h[i];
		for (j = i; j > 0 && h[j - 1].pref > t.pref; j--)
			h[j] = h[j - 1];
		h[j] = t;
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && h[j].pref == h[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {
			m = i + rnd() % (k - i + 1);
			t = h[k];
			h[k] = h[m];
			h[m] = t;
		}
	}
}
