/*
 * resolver — asynchronous DNS questions for delivery (postern.conf(5): every DNS
 * question has exactly one profile).  The profiles and their c-ares
 * channels on the libevent loop are resolver_channel.c.
 *
 * A query is an MX question, then an A and an AAAA question per host, in
 * parallel.  Every question in c-ares holds a reference on its query
 * (`pending`); when the last one is released the result is built and the
 * callback runs from a zero-delay event, never inside resolver_mx() or
 * resolver_host().  c-ares cannot cancel one question, so a cancelled
 * query stays allocated, silent, until c-ares has answered all of its.
 *
 * Answers are parsed by resolver_answer.c, pure functions over the raw
 * answer (c-ares' wire parsers, then checks of their own on names,
 * counts and addresses) that the unit tests and the fuzz harness call
 * directly with the same bytes.  Every question gets one debug line
 * "resolver: profile=P qtype=T name=N outcome=O", so that logs (and tests)
 * show which profile asked what.
 *
 * Below every question sits the profile's answer cache
 * (resolver_cache.h): an answer c-ares hands over is offered to it, and
 * a question it holds an answer for is answered from it, through the
 * same path, so no caller can tell but by the time.
 */
#include "resolver_priv.h"

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
#include <time.h>

#include "conf.h"
#include "log.h"
#include "xmalloc.h"

static void	query_release(struct resolver_query *);
static void	on_answer(void *, int, int, unsigned char *, int);

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

/* ---- queries ---- */

/* The one host of a resolver_host() query (MX hosts come from
 * resolver_parse_mx()). */
static void
one_host(struct resolver_result *res, const char *name)
{
	res->hosts = xcalloc(1, sizeof(*res->hosts));
	res->hosts[0].name = xstrdup(name);
	res->nhosts = 1;
}

void
resolver_query_free(struct resolver_query *q)
{
	TAILQ_REMOVE(&q->r->queries, q, entry);
	dns_rrset_clear(&q->rrs);
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
	if (q->rrtype != 0) {
		struct dns_rrset rrs = q->rrs;
		resolver_rr_cb rrcb = q->rrcb;

		memset(&q->rrs, 0, sizeof(q->rrs));
		resolver_query_free(q);
		rrcb(cbarg, &rrs);
		dns_rrset_clear(&rrs);
		return;
	}
	q->res = NULL;
	resolver_query_free(q);
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
	q->name = resolver_lowercase_name(name);
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
			if (q->lk[2 * i].outcome != RESOLVER_LK_NXDOMAIN ||
			    q->lk[2 * i + 1].outcome != RESOLVER_LK_NXDOMAIN)
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

/* The cache's clock: whole seconds that never go back. */
static int64_t
cache_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void
ask(struct resolver_query *q, struct lookup *lk, const char *name)
{
	unsigned char *abuf;
	int status, alen;

	lk->q = q;
	lk->outcome = RESOLVER_LK_PENDING;
	lk->cached = 0;
	q->pending++;
	q->r->nqueries++;
	/*
	 * A kept answer is handled as if c-ares had just handed it over;
	 * the callers' callbacks still run from the loop (query_complete
	 * schedules them), never inside resolver_mx() and the others.
	 */
	if (resolver_cache_get(q->r->cache, lk->qtype, name, cache_now(),
	    &status, &abuf, &alen)) {
		lk->cached = 1;
		on_answer(lk, status, 0, abuf, alen);
		free(abuf);
		return;
	}
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

/* The profile's context for an answer to q. */
static void
answer_init(struct resolver_answer *a, const struct resolver_query *q)
{
	memset(a, 0, sizeof(*a));
	a->name = q->name;
	a->profile = q->r->name;
	a->port = q->port;
}

static void
mx_answer(struct resolver_query *q, int status, const unsigned char *abuf,
    int alen, char *outcome, size_t outlen)
{
	struct resolver_answer a;

	answer_init(&a, q);
	resolver_parse_mx(&a, status, abuf, alen, q->res);
	snprintf(outcome, outlen, "%s", a.outcome);
	if (q->res->status == RESOLVER_TEMPFAIL)
		q->r->nfailures++;
	if (q->res->status != RESOLVER_OK)
		return;
	q->implicit = a.implicit;
	ask_addresses(q);
}

static void
addr_answer(struct lookup *lk, int status, const unsigned char *abuf,
    int alen, char *outcome, size_t outlen)
{
	struct resolver_query *q = lk->q;
	struct resolver_answer a;

	answer_init(&a, q);
	lk->outcome = resolver_parse_addrs(&a, lk->qtype, status, abuf, alen,
	    &q->res->hosts[lk->host]);
	snprintf(outcome, outlen, "%s", a.outcome);
	if (lk->outcome != RESOLVER_LK_TEMP)
		return;
	q->r->nfailures++;
	if (q->temperr[0] == '\0')
		snprintf(q->temperr, sizeof(q->temperr), "%s", a.temperr);
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
	name = lk->qtype == ns_t_mx || q->rrtype != 0 ? q->name :
	    q->res->hosts[lk->host].name;
	if (!lk->cached)	/* kept only if its status and TTL allow */
		resolver_cache_put(q->r->cache, lk->qtype, name, status, abuf,
		    alen, cache_now());
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED ||
	    q->cancelled)
		/* Gone for its caller: no result, no statistics. */
		snprintf(outcome, sizeof(outcome), "cancelled");
	else if (q->rrtype != 0) {
		dns_rrset_parse(status, abuf, alen, q->rrtype, &q->rrs);
		snprintf(outcome, sizeof(outcome), "%zu records%s%.30s", q->rrs.nrr,
		    q->rrs.error[0] ? ": " : "", q->rrs.error);
		if (q->rrs.status == DNS_RR_TEMPFAIL)
			q->r->nfailures++;
	} else if (lk->qtype == ns_t_mx)
		mx_answer(q, status, abuf, alen, outcome, sizeof(outcome));
	else
		addr_answer(lk, status, abuf, alen, outcome, sizeof(outcome));
	log_debug("resolver: profile=%s qtype=%s name=%s outcome=%s%s",
	    q->r->name, resolver_qtype_name(lk->qtype), name, outcome,
	    lk->cached ? " (cached)" : "");
	query_release(q);
}

static void
query_release(struct resolver_query *q)
{
	if (--q->pending > 0)
		return;
	if (q->cancelled)
		resolver_query_free(q);
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
	resolver_rearm(r);
	return q;
}

struct resolver_query *
resolver_lookup(struct resolver *r, const char *name, int type,
    resolver_rr_cb cb, void *arg)
{
	struct resolver_query *q;

	q = query_new(r, name, 0, 0, NULL, arg);
	q->rrtype = type;
	q->rrcb = cb;
	q->mxlk.qtype = type;
	ask(q, &q->mxlk, q->name);
	resolver_rearm(r);
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
		resolver_make_sa(ss, AF_INET, bin, port);
	else if (inet_pton(AF_INET6, buf, bin) == 1)
		resolver_make_sa(ss, AF_INET6, bin, port);
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
	one_host(q->res, q->name);
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
	resolver_rearm(r);
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
		resolver_query_free(q);		/* drops the scheduled callback too */
}
