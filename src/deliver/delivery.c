/*
 * delivery — one attempt of one message; see delivery.h.
 *
 * Life of an attempt: route every pending recipient (directory lookups
 * for local domains run asynchronously), group them into jobs by next-hop
 * key, run the jobs (each waits for a connection slot), and report when
 * the last job ends.  `pending` counts outstanding routes and jobs plus
 * one guard held while the attempt is being set up, so completion is
 * detected exactly once.  Routing is in delivery_route.c; a job's SMTP
 * transactions take kept connections from the pool (smtp_pool.c) and
 * give them back.
 */
#include "delivery.h"
#include "delivery_headers.h"
#include "delivery_priv.h"
#include "conf.h"
#include "directory.h"
#include "log.h"
#include "maildir.h"
#include "netaddr.h"
#include "queue.h"
#include "resolver.h"
#include "router.h"
#include "smtp_client.h"
#include "smtp_pool.h"
#include "strmap.h"
#include "workpool.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void	attempt_release(struct attempt *);
static void	job_try_address(struct djob *);
static void	job_next_hop(struct djob *);
static void	job_send(struct djob *, struct smtp_client *,
		    const struct smtp_client_params *);

/* ---- results ---- */

/* Enhanced status from a reply ("550 5.1.1 ..."), else from its class. */
static void
status_of(const char *reply, char *status, size_t len)
{
	const char *p = reply;

	if (strlen(p) > 4 && (p[4] == '2' || p[4] == '4' || p[4] == '5') &&
	    p[5] == '.') {
		size_t n = strcspn(p + 4, " ");
		if (n < len) {
			memcpy(status, p + 4, n);
			status[n] = '\0';
			return;
		}
	}
	snprintf(status, len, "%c.0.0", reply[0] == '5' ? '5' : '4');
}

void
delivery_settle(struct attempt *a, size_t i, enum rcpt_state st,
    const char *reply, const char *remote)
{
	struct smtp_client_rcpt *r = &a->res[i];

	r->st = st;
	if (reply != r->reply)		/* the client's is in place already */
		snprintf(r->reply, sizeof(r->reply), "%s", reply);
	status_of(r->reply, r->status, sizeof(r->status));
	snprintf(r->remote, sizeof(r->remote), "%s", remote ? remote : "");
	log_info("%s: to=<%s>, relay=%s, status=%s (%s)", a->env->id,
	    a->env->rcpts[i].addr, remote && *remote ? remote : "none",
	    st == RCPT_DELIVERED ? "sent" : st == RCPT_FAILED ? "bounced" :
	    "deferred", reply);
}

/* The attempt history: one record per try (additive; see delivery_try). */
static void
record_try(struct djob *j, const char *host, const char *address,
    const char *tls, const char *reply)
{
	struct delivery_try t;

	if (j->a->ctx.tried == NULL)
		return;
	t.host = host;
	t.address = address;
	t.profile = j->profile ? j->profile : "";
	t.tls = tls ? tls : "";
	t.reply = reply;
	j->a->ctx.tried(j->a->arg, &t);
}

/* Fail every recipient of the job that is still pending. */
static void
job_fail_rest(struct djob *j, const char *reply)
{
	for (size_t k = 0; k < j->n; k++)
		if (j->a->res[j->idx[k]].st == RCPT_PENDING)
			delivery_settle(j->a, j->idx[k], RCPT_FAILED, reply,
			    NULL);
}

/* ---- the queue file, open while a job needs it ---- */

static int
fd_get(struct djob *j)
{
	struct attempt *a = j->a;

	if (a->fd == -1 &&
	    (a->fd = open(a->path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(j->last_error, sizeof(j->last_error), "451 4.3.0 "
		    "Cannot open the queue file: %s", strerror(errno));
		return -1;
	}
	a->fd_users++;
	j->fd_held = 1;
	return 0;
}

static void
fd_put(struct djob *j)
{
	struct attempt *a = j->a;

	if (!j->fd_held)
		return;
	j->fd_held = 0;
	if (--a->fd_users == 0) {
		close(a->fd);
		a->fd = -1;
	}
}

/* ---- jobs ---- */

static void
job_free(struct djob *j)
{
	if (j->q)
		resolver_cancel(j->q);
	if (j->client)
		smtp_client_cancel(j->client);
	if (j->rr)
		resolver_result_free(j->rr);
	free(j->cur);
	free(j->curidx);
	free(j->idx);
	free(j->local_rc);
	free(j->local_err);
	free(j->hops);
	free(j);
}

/* Defer what is still unsettled with reply (those that already have
 * their own reply, such as a failed Maildir write, keep it). */
static void
job_defer_rest(struct djob *j, const char *reply)
{
	struct attempt *a = j->a;

	for (size_t k = 0; k < j->n; k++) {
		struct smtp_client_rcpt *r = &a->res[j->idx[k]];
		if (r->st == RCPT_PENDING && r->reply[0] == '\0')
			delivery_settle(a, j->idx[k], RCPT_PENDING, reply,
			    NULL);
	}
}

static size_t	job_pending_count(const struct djob *);

static void
job_done(struct djob *j)
{
	struct attempt *a = j->a;
	/* No peer reached and nothing settled: the destination failed. */
	int failed = j->kind != JOB_LOCAL && !j->reached &&
	    job_pending_count(j) > 0;

	fd_put(j);
	/* Whatever is still unsettled is deferred with the last error
	 * (recipients that already have their reply, such as a failed
	 * Maildir write, keep it). */
	job_defer_rest(j, j->last_error[0] ? j->last_error :
	    "451 4.4.1 Next hop unreachable");
	/* After the recipients: releasing may start (and end) other jobs. */
	delivery_dest_release(j, failed);
	attempt_release(a);
}

void
delivery_job_skip(struct djob *j, const char *reply)
{
	job_defer_rest(j, reply);
	attempt_release(j->a);
}

void
delivery_job_park(struct djob *j)
{
	struct attempt *a = j->a;

	if (a->parked[0] == '\0')
		snprintf(a->parked, sizeof(a->parked), "%s", j->key);
	log_debug("%s: %s has too much mail waiting: parked", a->env->id,
	    j->key);
	attempt_release(a);
}

static size_t
job_pending_count(const struct djob *j)
{
	size_t n = 0;

	for (size_t k = 0; k < j->n; k++)
		n += j->a->res[j->idx[k]].st == RCPT_PENDING;
	return n;
}

static int
is_own_address(const struct conf *c, const struct sockaddr *sa)
{
	for (size_t i = 0; i < c->nvservers; i++)
		for (size_t k = 0; k < c->vservers[i]->nlisten; k++)
			if (netaddr_equal((const struct sockaddr *)
			    &c->vservers[i]->listen[k].ss, sa))
				return 1;
	return 0;
}

/* Recipients the peer refused with 452 in the last transaction. */
static size_t
job_again_count(const struct djob *j)
{
	size_t n = 0;

	for (size_t k = 0; k < j->n; k++)
		n += j->a->res[j->idx[k]].st == RCPT_PENDING &&
		    j->a->res[j->idx[k]].again;
	return n;
}

/* A kept connection is reused, for the rest of this job when the peer
 * took some recipients and refused others with 452 (its recipient limit,
 * RFC 5321 4.5.3.1.10: docs/delivery.md, "up to the peer's limit"): those
 * go in a further transaction at once, as long as each delivers
 * something; else by later jobs. */
static int
client_keep(struct djob *j, struct smtp_client *c, int progress)
{
	struct delivery_limits *l = j->a->ctx.limits;

	if (progress && job_again_count(j) > 0) {
		job_send(j, c, NULL);
		return 1;
	}
	smtp_pool_put(l->pool, j->pool_key, c,
	    j->a->ctx.conf->queue.concurrency);
	return 0;
}

static void
client_done(void *arg, struct smtp_client_result *res)
{
	struct djob *j = arg;
	struct attempt *a = j->a;
	const struct resolver_host *h = &j->rr->hosts[j->hi];
	char remote[ROUTER_KEY_MAX + NETADDR_STRLEN], ip[NETADDR_STRLEN];
	char first[sizeof(j->cur[0]->reply)];
	struct smtp_client *c = j->client;
	int progress = 0;

	j->client = NULL;
	netaddr_ntop_port((struct sockaddr *)&h->addrs[j->ai], ip, sizeof(ip));
	snprintf(remote, sizeof(remote), "%s[%s]", h->name, ip);
	/* for the attempt history, before the loop below consumes it */
	snprintf(first, sizeof(first), "%s", j->ncur ? j->cur[0]->reply : "");
	for (size_t k = 0; k < j->ncur; k++) {
		struct smtp_client_rcpt *cr = j->cur[k];

		/* The client settled the record in place: only log it and
		 * say who answered. */
		if (cr->st != RCPT_PENDING)
			j->reached = 1;
		if (cr->st == RCPT_DELIVERED) {
			delivery_settle(a, j->curidx[k], RCPT_DELIVERED,
			    cr->reply, remote);
			cr->peer_dsn = res->peer_dsn;
			progress = 1;
		} else if (cr->st == RCPT_FAILED)
			delivery_settle(a, j->curidx[k], RCPT_FAILED, cr->reply,
			    remote);
		else if (cr->reply[0]) {
			/* A pending recipient's reply is this try's: the job
			 * defers it with its last error, once, at its end. */
			snprintf(j->last_error, sizeof(j->last_error),
			    "%.300s (%.200s)", cr->reply, remote);
			cr->reply[0] = '\0';
		}
	}
	if (res->transaction)
		j->reached = 1;
	if (res->stale) {
		/* nobody was offered anything: the same address afresh */
		job_try_address(j);
		return;
	}
	if (res->error[0])
		snprintf(j->last_error, sizeof(j->last_error), "451 4.4.1 "
		    "%.450s", res->error);
	record_try(j, h->name, ip, res->tls, res->error[0] ? res->error :
	    first);
	if (res->reusable && client_keep(j, c, progress))
		return;
	if (job_pending_count(j) == 0) {
		job_done(j);
		return;
	}
	j->ai++;
	job_try_address(j);
}

/* The current hop failed entirely: the next one of the route (the next
 * smart host, or the next connector by cost), or the end. */
static void
job_hop_failed(struct djob *j)
{
	const struct route_hop *h = &j->hops[j->hop];

	if (j->hop + 1 >= j->nhops) {
		job_done(j);
		return;
	}
	j->hop++;
	if (h->cn != NULL && j->hops[j->hop].cn != h->cn)
		log_info("%s: every address of connector %s failed, trying "
		    "connector %s", j->a->env->id, h->cn->name,
		    j->hops[j->hop].cn->name);
	job_next_hop(j);
}

/*
 * One SMTP transaction for the job's pending recipients: on the kept
 * connection c, or on a new one made with p.  Without p, the further
 * transaction of client_keep(): only those refused with 452; the others
 * wait for the next address.
 */

/* The message as it leaves, from the queue file open on fd. */
static void
delivery_view(const struct attempt *a, int fd, struct queue_view *v)
{
	v->fd = fd;
	v->offset = a->body_offset;
	v->size = a->env->size;
	v->cuts = a->env->cuts;
	v->ncuts = a->env->ncuts;
}

static void
job_send(struct djob *j, struct smtp_client *c,
    const struct smtp_client_params *p)
{
	struct attempt *a = j->a;
	struct smtp_client_msg m;

	free(j->cur);
	free(j->curidx);
	j->cur = xcalloc(j->n, sizeof(*j->cur));
	j->curidx = xcalloc(j->n, sizeof(*j->curidx));
	j->ncur = 0;
	for (size_t k = 0; k < j->n; k++) {
		if (a->res[j->idx[k]].st != RCPT_PENDING ||
		    (p == NULL && !a->res[j->idx[k]].again))
			continue;
		j->cur[j->ncur] = &a->res[j->idx[k]];
		j->curidx[j->ncur++] = j->idx[k];
	}
	memset(&m, 0, sizeof(m));
	m.sender = a->env->sender;
	m.body_8bit = a->env->body_8bit;
	m.smtputf8 = a->env->smtputf8;
	m.ret = a->env->ret;
	m.envid = a->env->envid;
	delivery_view(a, a->fd, &m.view);	/* fd held by the job */
	m.size = queue_envelope_out_size(a->env);
	m.prefix = a->headers;
	if (c != NULL) {
		const struct conf_queue *q = &a->ctx.conf->queue;

		/* made under an earlier configuration, maybe: this
		 * attempt's timeouts hold on it (a reload shortens them) */
		smtp_client_set_timeouts(c, q->connect_timeout,
		    q->command_timeout, q->data_timeout);
		j->client = c;
		smtp_client_again(c, &m, j->cur, j->ncur, client_done, j);
	} else
		j->client = smtp_client_start(a->ctx.base, p, &m, j->cur,
		    j->ncur, client_done, j);
}

/*
 * Everything that makes a connection what it is: a kept one is reused
 * only where a new one would be the same (smtp_pool.h).
 */
static void
pool_key(const struct smtp_client_params *p, char *key, size_t len)
{
	char dst[NETADDR_STRLEN], src[NETADDR_STRLEN] = "";

	netaddr_ntop_port(p->addr, dst, sizeof(dst));
	if (p->source != NULL)
		netaddr_ntop(p->source, src, sizeof(src));
	if ((size_t)snprintf(key, len, "%s %s %s %d %s %s", dst, src, p->helo,
	    (int)p->tls, p->tls_ca ? p->tls_ca : "-", p->tls_name) >= len)
		key[0] = '\0';		/* too long: never shared */
}

static void
job_try_address(struct djob *j)
{
	struct attempt *a = j->a;
	const struct conf *c = a->ctx.conf;
	struct smtp_client_params p;
	const struct conf_connector *cn;
	const struct route_hop *hop;
	struct resolver_host *h;

	for (; j->hi < j->rr->nhosts; j->hi++, j->ai = 0) {
		h = &j->rr->hosts[j->hi];
		for (; j->ai < h->naddrs; j->ai++)
			if (!is_own_address(c, (struct sockaddr *)
			    &h->addrs[j->ai]))
				goto found;
			else
				snprintf(j->last_error, sizeof(j->last_error),
				    "554 5.4.6 %s points back at this gateway "
				    "(mail loop)", h->name);
	}
	job_hop_failed(j);
	return;
found:
	hop = &j->hops[j->hop];
	cn = hop->cn;
	memset(&p, 0, sizeof(p));
	p.addr = (struct sockaddr *)&h->addrs[j->ai];
	p.addrlen = h->addrs[j->ai].ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (cn && cn->source) {
		p.source = (struct sockaddr *)&cn->source_ss;
		p.sourcelen = cn->source_sslen;
	}
	p.helo = hop->helo;
	p.peer_name = h->name;
	/* TLS: the hop's policy (the connector's, never weaker than one
	 * tried before it, or mailbox-tls); verify matches the host name
	 * (MX, smart host, mailbox server) or, for [IP], the address, which
	 * is then the host's name (docs/tls.md). */
	p.tls = hop->tls;
	p.tls_ca = hop->tls_ca;
	p.tls_name = h->name;
	p.connect_timeout = c->queue.connect_timeout;
	p.command_timeout = c->queue.command_timeout;
	p.data_timeout = c->queue.data_timeout;
	p.keep = 1;
	pool_key(&p, j->pool_key, sizeof(j->pool_key));
	job_send(j, smtp_pool_take(a->ctx.limits->pool, j->pool_key), &p);
}

static void
resolved(void *arg, struct resolver_result *rr)
{
	struct djob *j = arg;

	j->q = NULL;
	if (j->rr)
		resolver_result_free(j->rr);
	j->rr = rr;
	j->hi = j->ai = 0;
	if (rr->status != RESOLVER_OK)
		record_try(j, j->hops[j->hop].label, "", NULL, rr->error);
	switch (rr->status) {
	case RESOLVER_OK:
		job_try_address(j);
		return;
	case RESOLVER_TEMPFAIL:
		snprintf(j->last_error, sizeof(j->last_error),
		    "451 4.4.3 %s", rr->error);
		job_hop_failed(j);
		return;
	default:
		break;
	}
	/* Permanent DNS answers bounce only what was looked up as a mail
	 * domain; a mailbox server or smart host name that does not resolve
	 * is a configuration problem and defers. */
	if (j->hops[j->hop].domain) {
		char reply[512];

		snprintf(reply, sizeof(reply), "%s %s",
		    rr->status == RESOLVER_NULLMX ? "556 5.1.10" :
		    "550 5.1.2", rr->error);
		job_fail_rest(j, reply);
		job_done(j);
		return;
	}
	snprintf(j->last_error, sizeof(j->last_error), "451 4.4.4 %s",
	    rr->error);
	job_hop_failed(j);
}

/* Resolve the current hop with the profile postern.conf(5) assigns to it. */
static void
job_next_hop(struct djob *j)
{
	const struct route_hop *h;
	struct resolver *r;

	if (j->hop >= j->nhops) {	/* no route at all */
		job_done(j);
		return;
	}
	h = &j->hops[j->hop];
	if (h->bad) {
		snprintf(j->last_error, sizeof(j->last_error),
		    "451 4.3.5 Bad next-hop host \"%.300s\" in the "
		    "configuration", h->label);
		job_hop_failed(j);
		return;
	}
	r = resolver_get(j->a->ctx.rs, h->dns);
	j->profile = resolver_name(r);
	j->q = h->mx ? resolver_mx(r, h->name, h->port, resolved, j) :
	    resolver_host(r, h->name, h->port, resolved, j);
}

/* ---- the local Maildir store ---- */

static int
local_work(void *arg)
{
	struct djob *j = arg;
	struct attempt *a = j->a;
	struct queue_view view;
	char *prefix;
	/* Its own descriptor, opened here: a local job waiting for a worker
	 * holds no file, and the attempt's (loop thread) is not shared. */
	int fd = open(a->path, O_RDONLY | O_CLOEXEC), err = errno;

	for (size_t k = 0; k < j->n; k++) {
		const char *rcpt = a->env->rcpts[j->idx[k]].addr;

		if (fd == -1) {
			j->local_rc[k] = -1;
			snprintf(j->local_err[k], sizeof(j->local_err[k]),
			    "cannot open the queue file: %s", strerror(err));
			continue;
		}
		prefix = delivery_headers(a->env, rcpt);
		delivery_view(a, fd, &view);
		j->local_rc[k] = maildir_deliver(a->ctx.conf->mailbox_store,
		    rcpt, prefix, &view, queue_envelope_out_size(a->env),
		    j->local_err[k], sizeof(j->local_err[k]));
		free(prefix);
	}
	if (fd != -1)
		close(fd);
	return 0;
}

static void
local_done(void *arg, int result)
{
	struct djob *j = arg;
	char reply[512];

	(void)result;
	record_try(j, "local", "", NULL, j->n && j->local_rc[0] != 0 ?
	    j->local_err[0] : "250 2.0.0 Delivered to the mailbox store");
	for (size_t k = 0; k < j->n; k++) {
		if (j->local_rc[k] == 0) {
			delivery_settle(j->a, j->idx[k], RCPT_DELIVERED,
			    "250 2.0.0 Delivered to the mailbox store",
			    "local");
			continue;
		}
		snprintf(reply, sizeof(reply), "451 4.3.0 Mailbox store: %s",
		    j->local_err[k]);
		delivery_settle(j->a, j->idx[k], RCPT_PENDING, reply, "local");
	}
	job_done(j);
}

void
delivery_job_run(struct djob *j)
{
	if (fd_get(j) == -1) {
		j->reached = 1;		/* our file, not the destination's
					   fault: no throttle */
		job_done(j);
		return;
	}
	job_next_hop(j);
}

static void
job_start(struct djob *j)
{
	if (j->kind == JOB_LOCAL) {
		/* The Maildir store is the gateway's own disk: no
		 * destination queue, no connection slot; the work pool
		 * bounds it. */
		j->local_rc = xcalloc(j->n, sizeof(*j->local_rc));
		j->local_err = xcalloc(j->n, sizeof(*j->local_err));
		workpool_run(j->a->ctx.wp, local_work, local_done, j);
		return;
	}
	delivery_dest_enqueue(j->a->ctx.limits, j);
}

/* Every recipient has its next hop: start the jobs. */
void
delivery_routing_release(struct attempt *a)
{
	struct djob *j;

	if (--a->routing > 0)
		return;
	strmap_free(a->bykey, NULL);	/* every job is made */
	a->bykey = NULL;
	for (j = a->jobs; j; j = j->next)
		a->pending++;
	for (j = a->jobs; j; j = j->next)
		job_start(j);
	attempt_release(a);	/* the set-up guard */
	/* Last: the scheduler may start other attempts from here. */
	if (a->ctx.routed)
		a->ctx.routed(a->arg);
}

static void
attempt_finish_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct attempt *a = arg;
	struct djob *j, *next;

	(void)fd;
	(void)ev;
	for (j = a->jobs; j; j = next) {
		next = j->next;
		job_free(j);
	}
	if (a->fd != -1)
		close(a->fd);
	free(a->path);
	free(a->headers);
	a->done(a->arg, a->res, a->parked[0] ? a->parked : NULL);
	conf_unref(a->ctx.conf);
	directory_unref(a->ctx.dir);
	free(a);
}

static void
attempt_release(struct attempt *a)
{
	if (--a->pending > 0)
		return;
	/* Report from a fresh loop turn: never from inside a callback of a
	 * job that is about to be freed. */
	event_base_once(a->ctx.base, -1, EV_TIMEOUT, attempt_finish_cb, a,
	    NULL);
}

void
delivery_attempt(const struct delivery_ctx *ctx,
    const struct queue_envelope *env, const uint8_t *st, const char *path,
    uint64_t body_offset, struct smtp_client_rcpt *res, delivery_done_cb done,
    void *arg)
{
	struct attempt *a = xcalloc(1, sizeof(*a));

	a->ctx = *ctx;
	conf_ref(a->ctx.conf);
	directory_ref(a->ctx.dir);
	a->env = env;
	a->path = xstrdup(path);
	a->headers = delivery_headers(env, NULL);
	a->fd = -1;
	a->body_offset = body_offset;
	a->res = res;
	a->done = done;
	a->arg = arg;
	a->routing = 1;		/* the set-up guards */
	a->pending = 1;
	for (size_t i = 0; i < env->nrcpts; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].addr = env->rcpts[i].addr;
		res[i].notify = env->rcpts[i].notify;
		res[i].orcpt = env->rcpts[i].orcpt;
		res[i].st = st[i];
		if (st[i] == RCPT_PENDING)
			delivery_route(a, i);
	}
	/* Directory answers may still be coming: the jobs start once every
	 * route is known. */
	delivery_routing_release(a);
}
