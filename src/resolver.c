/*
 * resolver — asynchronous DNS for delivery, one c-ares channel per
 * resolver profile (SPEC 3: every DNS question has exactly one profile).
 *
 * Each profile's channel only ever talks to its own servers, so a dead
 * external list cannot delay internal lookups.  Channels are driven from
 * the libevent loop: c-ares reports the sockets it wants watched through
 * its socket state callback (one persistent event per socket), and one
 * timer per channel is re-armed from ares_timeout() after every call into
 * c-ares.  Nothing blocks.
 *
 * A query is an MX question, then an A and an AAAA question per host, in
 * parallel.  Every question in c-ares holds a reference on its query
 * (`pending`); when the last one is released the result is built and the
 * callback runs from a zero-delay event, never inside resolver_mx() or
 * resolver_host().  c-ares cannot cancel one question, so a cancelled
 * query stays allocated, silent, until c-ares has answered all of its.
 *
 * Answers are parsed by c-ares only.  Every question gets one debug line
 * "resolver: profile=P qtype=T name=N outcome=O", so that logs (and tests)
 * show which profile asked what.
 */
#include "resolver.h"

#include <sys/queue.h>
#include <sys/random.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <ares.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"
#include "xmalloc.h"

/*
 * A dead server must become TEMPFAIL within seconds (c-ares doubles the
 * timeout on the second round: 2 s + 4 s per server), and a broken or
 * hostile zone must not fan one delivery out without bound: the best
 * RESOLVER_MX_MAX hosts are kept, RESOLVER_ADDR_MAX addresses of each
 * family per host.
 */
#define RESOLVER_TIMEOUT_MS	2000
#define RESOLVER_TRIES		2
#define RESOLVER_MX_MAX		16
#define RESOLVER_ADDR_MAX	32

struct rsock {
	struct resolver	*r;
	int		 fd;		/* -1: slot free for reuse */
	struct event	*ev;
};

struct resolver {
	struct resolver_set		*rs;
	const struct conf_dnslist	*list;	/* identity only, never read */
	char				*name;
	int				 unnamed;
	ares_channel			 channel;
	int				 channel_ok;
	struct event			*timer;
	struct rsock			**socks;
	size_t				 nsocks;
	TAILQ_HEAD(, resolver_query)	 queries;
	uint64_t			 nqueries;
	uint64_t			 nfailures;
};

struct resolver_set {
	struct event_base	*base;
	struct resolver		**r;
	size_t			 n;
};

enum lk_outcome { LK_PENDING, LK_OK, LK_NODATA, LK_NXDOMAIN, LK_TEMP };

/* One question of a query; addresses go straight to the host. */
struct lookup {
	struct resolver_query	*q;
	size_t			 host;		/* index in q->res->hosts */
	int			 qtype;
	enum lk_outcome		 outcome;
};

struct resolver_query {
	TAILQ_ENTRY(resolver_query)	 entry;
	struct resolver			*r;
	int				 is_mx;
	int				 implicit;	/* no MX: the domain */
	int				 addr_stage;	/* A/AAAA asked */
	char				*name;
	int				 port;
	resolver_cb			 cb;
	void				*arg;
	int				 cancelled;
	int				 pending;	/* asked, unanswered */
	struct lookup			 mxlk;
	struct lookup			*lk;		/* A, AAAA per host */
	struct resolver_result		*res;
	struct event			*done;
	char				 temperr[160];	/* the first one */
};

static void	query_release(struct resolver_query *);
static void	on_answer(void *, int, int, unsigned char *, int);

/* ---- loop integration ---- */

static void
rearm(struct resolver *r)
{
	struct timeval tv, *tvp;

	if ((tvp = ares_timeout(r->channel, NULL, &tv)) != NULL)
		evtimer_add(r->timer, tvp);
	else
		evtimer_del(r->timer);
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = ((struct rsock *)arg)->r;

	ares_process_fd(r->channel,
	    (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	rearm(r);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(r);
}

/*
 * c-ares opens, watches and closes its sockets through this.  A closed
 * socket's slot and event are kept for the next socket, so no event is
 * ever freed from inside its own callback (ares_process_fd closes
 * sockets).
 */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct rsock *s = NULL, *freeslot = NULL;
	short what;
	size_t i;

	for (i = 0; i < r->nsocks; i++) {
		if (r->socks[i]->fd == (int)fd)
			s = r->socks[i];
		else if (r->socks[i]->fd == -1 && freeslot == NULL)
			freeslot = r->socks[i];
	}
	if (s != NULL)
		event_del(s->ev);
	if (!readable && !writable) {
		if (s != NULL)
			s->fd = -1;
		return;
	}
	if (s == NULL && (s = freeslot) == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->r = r;
		if ((s->ev = event_new(r->rs->base, -1, 0, NULL, NULL)) ==
		    NULL)
			fatalx("resolver: event_new failed");
		r->socks = xreallocarray(r->socks, r->nsocks + 1,
		    sizeof(*r->socks));
		r->socks[r->nsocks++] = s;
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0);
	s->fd = (int)fd;
	event_assign(s->ev, r->rs->base, (evutil_socket_t)fd, what, on_sock,
	    s);
	if (event_add(s->ev, NULL) == -1)
		log_warnx("resolver: %s: cannot watch DNS socket %d", r->name,
		    (int)fd);
}

/* ---- results and MX order ---- */

void
resolver_result_free(struct resolver_result *res)
{
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->nhosts; i++) {
		free(res->hosts[i].name);
		free(res->hosts[i].addrs);
	}
	free(res->hosts);
	free(res);
}

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

/* ---- queries ---- */

static const char *
qtype_name(int qtype)
{
	return qtype == ns_t_mx ? "MX" : qtype == ns_t_a ? "A" : "AAAA";
}

static const char *
status_text(int status)
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
	case ARES_ECONNREFUSED:
		/* c-ares 1.18 also says so when every server answered
		 * SERVFAIL or REFUSED. */
		return "servers refused, failed or unreachable";
	}
	return ares_strerror(status);
}

/* Lowercase, without the trailing dot of an absolute name. */
static char *
lowercase_name(const char *s)
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

static void
make_sa(struct sockaddr_storage *ss, int af, const void *addr, int port)
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

/* A host once, with its best preference. */
static void
add_host(struct resolver_result *res, const char *name, unsigned pref)
{
	struct resolver_host *h;
	size_t i;

	for (i = 0; i < res->nhosts; i++)
		if (strcmp(res->hosts[i].name, name) == 0) {
			if (pref < res->hosts[i].pref)
				res->hosts[i].pref = pref;
			return;
		}
	res->hosts = xreallocarray(res->hosts, res->nhosts + 1,
	    sizeof(*res->hosts));
	h = &res->hosts[res->nhosts++];
	memset(h, 0, sizeof(*h));
	h->name = xstrdup(name);
	h->pref = pref;
}

static void
query_free(struct resolver_query *q)
{
	TAILQ_REMOVE(&q->r->queries, q, entry);
	free(q->lk);
	resolver_result_free(q->res);
	event_free(q->done);
	free(q->name);
	free(q);
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct resolver_query *q = arg;
	struct resolver_result *res = q->res;
	resolver_cb cb = q->cb;
	void *cbarg = q->arg;

	(void)fd;
	(void)what;
	q->res = NULL;
	query_free(q);
	cb(cbarg, res);
}

static struct resolver_query *
query_new(struct resolver *r, const char *name, int port, int is_mx,
    resolver_cb cb, void *arg)
{
	struct resolver_query *q;

	q = xcalloc(1, sizeof(*q));
	q->r = r;
	q->is_mx = is_mx;
	q->name = lowercase_name(name);
	q->port = port;
	q->cb = cb;
	q->arg = arg;
	q->res = xcalloc(1, sizeof(*q->res));
	if ((q->done = event_new(r->rs->base, -1, 0, on_done, q)) == NULL)
		fatalx("resolver: event_new failed");
	TAILQ_INSERT_TAIL(&r->queries, q, entry);
	return q;
}

static void
set_error(struct resolver_query *q, enum resolver_status st,
    const char *fmt)
{
	q->res->status = st;
	snprintf(q->res->error, sizeof(q->res->error), fmt, q->name,
	    q->r->name);
}

/* Every question is in: classify and schedule the callback. */
static void
query_complete(struct resolver_query *q)
{
	struct resolver_result *res = q->res;
	int any_addr = 0, any_temp = 0, all_nx = 1;
	size_t i;

	if (q->addr_stage) {
		for (i = 0; i < res->nhosts; i++) {
			any_addr |= res->hosts[i].naddrs > 0;
			any_temp |= res->hosts[i].tempfail;
			if (q->lk[2 * i].outcome != LK_NXDOMAIN ||
			    q->lk[2 * i + 1].outcome != LK_NXDOMAIN)
				all_nx = 0;
		}
		if (any_addr)
			res->status = RESOLVER_OK;
		else if (any_temp) {
			res->status = RESOLVER_TEMPFAIL;
			snprintf(res->error, sizeof(res->error), "%s",
			    q->temperr);
		} else if (!q->is_mx)
			set_error(q, all_nx ? RESOLVER_NXDOMAIN :
			    RESOLVER_NOHOST, all_nx ?
			    "%s: no such host (via %s)" :
			    "%s: no A or AAAA record (via %s)");
		else
			set_error(q, RESOLVER_NOHOST, q->implicit ?
			    "%s: no MX and no A or AAAA record (via %s)" :
			    "%s: no MX host has an address (via %s)");
	}
	event_active(q->done, EV_TIMEOUT, 1);
}

static void
ask(struct resolver_query *q, struct lookup *lk, const char *name)
{
	lk->q = q;
	lk->outcome = LK_PENDING;
	q->pending++;
	q->r->nqueries++;
	/* ares_query: DNS only, never the search list or the hosts file. */
	ares_query(q->r->channel, name, ns_c_in, lk->qtype, on_answer, lk);
}

/* A and AAAA of every host, in parallel. */
static void
ask_addresses(struct resolver_query *q)
{
	size_t i, n = q->res->nhosts;

	q->addr_stage = 1;
	q->lk = xcalloc(2 * n, sizeof(*q->lk));
	/* Held, so that a question failing at once cannot complete the
	 * query before the others are asked. */
	q->pending++;
	for (i = 0; i < 2 * n; i++) {
		q->lk[i].host = i / 2;
		q->lk[i].qtype = i % 2 == 0 ? ns_t_a : ns_t_aaaa;
		ask(q, &q->lk[i], q->res->hosts[i / 2].name);
	}
	query_release(q);
}

static void
mx_answer(struct resolver_query *q, int status, const unsigned char *abuf,
    int alen, char *outcome, size_t outlen)
{
	struct resolver_result *res = q->res;
	struct ares_mx_reply *mx = NULL, *m;
	char *name;
	int n = 0, nnull = 0;

	if (status == ARES_SUCCESS &&
	    (status = ares_parse_mx_reply(abuf, alen, &mx)) == ARES_SUCCESS) {
		for (m = mx; m != NULL; m = m->next, n++) {
			if (m->host[0] == '\0' || strcmp(m->host, ".") == 0) {
				nnull++;
				continue;
			}
			name = lowercase_name(m->host);
			add_host(res, name, m->priority);
			free(name);
		}
		ares_free_data(mx);
	}
	snprintf(outcome, outlen, "%s", status_text(status));
	switch (status) {
	case ARES_SUCCESS:
	case ARES_ENODATA:
		break;
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:
		set_error(q, RESOLVER_NXDOMAIN, "%s: no such domain (via %s)");
		return;
	default:
		q->r->nfailures++;
		res->status = RESOLVER_TEMPFAIL;
		snprintf(res->error, sizeof(res->error),
		    "MX lookup for %s: %s (via %s)", q->name,
		    status_text(status), q->r->name);
		return;
	}
	if (nnull > 0 && res->nhosts == 0) {
		/* RFC 7505 "0 ."; beside real hosts it is only noise. */
		snprintf(outcome, outlen, "null MX");
		snprintf(res->error, sizeof(res->error),
		    "%s does not accept mail (null MX, RFC 7505)", q->name);
		res->status = RESOLVER_NULLMX;
		return;
	}
	if (res->nhosts == 0) {
		/* RFC 5321 5.1: no MX, the domain is its own exchanger. */
		snprintf(outcome, outlen, "NODATA, implicit MX");
		q->implicit = 1;
		add_host(res, q->name, 0);
	} else
		snprintf(outcome, outlen, "%d record%s", n, n == 1 ? "" : "s");
	resolver_sort_hosts(res->hosts, res->nhosts, NULL);
	while (res->nhosts > RESOLVER_MX_MAX)
		free(res->hosts[--res->nhosts].name);
	ask_addresses(q);
}

static void
addr_answer(struct lookup *lk, int status, const unsigned char *abuf,
    int alen, char *outcome, size_t outlen)
{
	struct resolver_query *q = lk->q;
	struct resolver_host *h = &q->res->hosts[lk->host];
	struct ares_addrttl a4[RESOLVER_ADDR_MAX];
	struct ares_addr6ttl a6[RESOLVER_ADDR_MAX];
	struct sockaddr_storage *ss;
	int i, n = RESOLVER_ADDR_MAX, v4 = lk->qtype == ns_t_a;

	if (status == ARES_SUCCESS)
		status = v4 ? ares_parse_a_reply(abuf, alen, NULL, a4, &n) :
		    ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	if (status == ARES_SUCCESS && n == 0)
		status = ARES_ENODATA;
	snprintf(outcome, outlen, "%s", status_text(status));
	switch (status) {
	case ARES_SUCCESS:
		break;
	case ARES_ENODATA:
		lk->outcome = LK_NODATA;
		return;
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:
		lk->outcome = LK_NXDOMAIN;
		return;
	default:
		lk->outcome = LK_TEMP;
		h->tempfail = 1;
		q->r->nfailures++;
		if (q->temperr[0] == '\0')
			snprintf(q->temperr, sizeof(q->temperr),
			    "%s lookup for %s: %s (via %s)",
			    qtype_name(lk->qtype), h->name,
			    status_text(status), q->r->name);
		return;
	}
	lk->outcome = LK_OK;
	/* IPv4 first, whichever answer comes in first. */
	h->addrs = xreallocarray(h->addrs, h->naddrs + (size_t)n,
	    sizeof(*h->addrs));
	ss = h->addrs + h->naddrs;
	if (v4) {
		memmove(h->addrs + n, h->addrs, h->naddrs * sizeof(*ss));
		ss = h->addrs;
	}
	h->naddrs += (size_t)n;
	for (i = 0; i < n; i++)
		make_sa(&ss[i], v4 ? AF_INET : AF_INET6, v4 ?
		    (const void *)&a4[i].ipaddr : (const void *)&a6[i].ip6addr,
		    q->port);
	snprintf(outcome, outlen, "%d address%s", n, n == 1 ? "" : "es");
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct lookup *lk = arg;
	struct resolver_query *q = lk->q;
	const char *name;
	char outcome[64];

	(void)timeouts;
	name = lk->qtype == ns_t_mx ? q->name : q->res->hosts[lk->host].name;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED ||
	    q->cancelled)
		/* Gone for its caller: no result, no statistics. */
		snprintf(outcome, sizeof(outcome), "cancelled");
	else if (lk->qtype == ns_t_mx)
		mx_answer(q, status, abuf, alen, outcome, sizeof(outcome));
	else
		addr_answer(lk, status, abuf, alen, outcome, sizeof(outcome));
	log_debug("resolver: profile=%s qtype=%s name=%s outcome=%s",
	    q->r->name, qtype_name(lk->qtype), name, outcome);
	query_release(q);
}

static void
query_release(struct resolver_query *q)
{
	if (--q->pending > 0)
		return;
	if (q->cancelled)
		query_free(q);
	else
		query_complete(q);
}

struct resolver_query *
resolver_mx(struct resolver *r, const char *domain, int port, resolver_cb cb,
    void *arg)
{
	struct resolver_query *q;

	q = query_new(r, domain, port, 1, cb, arg);
	q->mxlk.qtype = ns_t_mx;
	ask(q, &q->mxlk, q->name);
	rearm(r);
	return q;
}

/* "10.0.0.32", "::1", "[10.0.0.32]", "[::1]", "[IPv6:::1]". */
static int
parse_literal(const char *name, int port, struct sockaddr_storage *ss)
{
	unsigned char bin[16];
	char buf[INET6_ADDRSTRLEN + 8];
	size_t len = strlen(name);

	if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
		name++;
		len -= 2;
		if (len > 5 && strncasecmp(name, "IPv6:", 5) == 0) {
			name += 5;
			len -= 5;
		}
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, bin) == 1)
		make_sa(ss, AF_INET, bin, port);
	else if (inet_pton(AF_INET6, buf, bin) == 1)
		make_sa(ss, AF_INET6, bin, port);
	else
		return -1;
	return 0;
}

struct resolver_query *
resolver_host(struct resolver *r, const char *name, int port, resolver_cb cb,
    void *arg)
{
	struct resolver_query *q;
	struct sockaddr_storage ss;

	q = query_new(r, name, port, 0, cb, arg);
	add_host(q->res, q->name, 0);
	if (parse_literal(name, port, &ss) == 0) {
		/* No DNS, but still answered from the loop. */
		q->res->hosts[0].addrs = xmalloc(sizeof(ss));
		q->res->hosts[0].addrs[0] = ss;
		q->res->hosts[0].naddrs = 1;
		log_debug("resolver: profile=%s qtype=literal name=%s "
		    "outcome=1 address", r->name, q->name);
		query_complete(q);
		return q;
	}
	ask_addresses(q);
	rearm(r);
	return q;
}

void
resolver_cancel(struct resolver_query *q)
{
	if (q == NULL)
		return;
	q->cb = NULL;
	if (q->pending > 0)
		q->cancelled = 1;	/* freed once c-ares lets go */
	else
		query_free(q);		/* drops the scheduled callback too */
}

/* ---- profiles ---- */

static int
resolver_open(struct resolver *r, const struct conf_dnslist *l, char *err,
    size_t errlen)
{
	struct ares_options opts;
	char lookups[] = "b", *csv = NULL, *prev = NULL;
	size_t i;
	int st, mask;

	/*
	 * Questions go through ares_query, which never uses the search list
	 * or the hosts file; flags and lookups say so again for anything
	 * else c-ares might do with the channel.
	 */
	memset(&opts, 0, sizeof(opts));
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
	opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	opts.timeout = RESOLVER_TIMEOUT_MS;
	opts.tries = RESOLVER_TRIES;
	opts.sock_state_cb = sock_state;
	opts.sock_state_cb_data = r;
	opts.lookups = lookups;
	if ((st = ares_init_options(&r->channel, &opts, mask)) !=
	    ARES_SUCCESS) {
		snprintf(err, errlen, "DNS list %s: %s", r->name,
		    ares_strerror(st));
		return -1;
	}
	r->channel_ok = 1;
	if (l->use_resolv_conf)
		return 0;
	/* The configuration keeps servers as "ip:port" / "[ip6]:port":
	 * c-ares's own list syntax. */
	for (i = 0; i < l->nservers; i++) {
		csv = xasprintf("%s%s%s", prev != NULL ? prev : "",
		    prev != NULL ? "," : "", l->servers[i]);
		free(prev);
		prev = csv;
	}
	if (csv == NULL) {
		snprintf(err, errlen, "DNS list %s has no servers", r->name);
		return -1;
	}
	st = ares_set_servers_ports_csv(r->channel, csv);
	free(csv);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "DNS list %s: %s", r->name,
		    ares_strerror(st));
		return -1;
	}
	return 0;
}

static void
resolver_free(struct resolver *r)
{
	struct resolver_query *q, *next;
	size_t i;

	for (q = TAILQ_FIRST(&r->queries); q != NULL; q = next) {
		next = TAILQ_NEXT(q, entry);
		q->cb = NULL;
		q->cancelled = 1;
		if (q->pending == 0)
			query_free(q);
	}
	/* Calls every outstanding question back with ARES_EDESTRUCTION,
	 * which frees the cancelled queries, and closes the sockets
	 * through sock_state(). */
	if (r->channel_ok)
		ares_destroy(r->channel);
	while ((q = TAILQ_FIRST(&r->queries)) != NULL)
		query_free(q);
	for (i = 0; i < r->nsocks; i++) {
		event_free(r->socks[i]->ev);
		free(r->socks[i]);
	}
	free(r->socks);
	if (r->timer != NULL)
		event_free(r->timer);
	free(r->name);
	free(r);
}

struct resolver_set *
resolver_set_new(struct event_base *base, const struct conf *c, char *err,
    size_t errlen)
{
	struct resolver_set *rs;
	struct resolver *r;
	size_t i;
	int st;

	if ((st = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return NULL;
	}
	rs = xcalloc(1, sizeof(*rs));
	rs->base = base;
	rs->r = xcalloc(c->ndnslists, sizeof(*rs->r));
	for (i = 0; i < c->ndnslists; i++) {
		r = xcalloc(1, sizeof(*r));
		TAILQ_INIT(&r->queries);
		r->rs = rs;
		r->list = c->dnslists[i];
		r->name = xstrdup(c->dnslists[i]->name);
		r->unnamed = c->dnslists[i]->unnamed;
		rs->r[rs->n++] = r;
		if ((r->timer = evtimer_new(base, on_timer, r)) == NULL)
			fatalx("resolver: evtimer_new failed");
		if (resolver_open(r, c->dnslists[i], err, errlen) == -1) {
			resolver_set_free(rs);
			return NULL;
		}
	}
	return rs;
}

void
resolver_set_free(struct resolver_set *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++)
		resolver_free(rs->r[i]);
	free(rs->r);
	free(rs);
	ares_library_cleanup();
}

/*
 * By identity; a list of another snapshot by name (an unnamed list has no
 * name to go by, as in conf_dnslist_find).  NULL is the top-level list.
 */
struct resolver *
resolver_get(struct resolver_set *rs, const struct conf_dnslist *list)
{
	size_t i;

	if (rs == NULL || rs->n == 0)
		return NULL;
	if (list == NULL)
		return rs->r[0];
	for (i = 0; i < rs->n; i++)
		if (rs->r[i]->list == list)
			return rs->r[i];
	for (i = 0; i < rs->n && !list->unnamed; i++)
		if (!rs->r[i]->unnamed &&
		    strcmp(rs->r[i]->name, list->name) == 0)
			return rs->r[i];
	return NULL;
}

const char *
resolver_name(const struct resolver *r)
{
	return r->name;
}

void
resolver_stats(const struct resolver *r, uint64_t *queries,
    uint64_t *failures)
{
	if (queries != NULL)
		*queries = r->nqueries;
	if (failures != NULL)
		*failures = r->nfailures;
}
