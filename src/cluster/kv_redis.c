/*
 * kv_redis — kv.h on Redis, through hiredis's asynchronous API and its
 * libevent adapter.
 *
 * A request (struct kv_req) lives from the call that asks until both its
 * answer is delivered (or it is cancelled) and hiredis has let go of it:
 * `done` says the first, `in_hiredis` the second.  A request answered
 * KV_TIMEOUT by our timer, or cancelled, while hiredis still holds it is a
 * tombstone: hiredis's later reply (or its NULL reply when the connection
 * goes) only frees it.  Nothing is ever called back from inside the call
 * that asked: a request that cannot be sent is answered from a zero timer.
 *
 * The connection: connect (non-blocking; the address is an IP or a Unix
 * socket, never a name), then a handshake (AUTH when there is a password,
 * else PING) with its own deadline; only then is the store "up" and
 * requests are sent.  Lost (closed, refused, handshake failed, or no reply
 * at all within a whole `timeout` while requests wait: Redis hangs), the
 * connection is dropped, every request it held answered KV_DOWN, and a
 * new one is tried after a backoff of 1 s doubling up to 10 s.  Meanwhile
 * requests are answered KV_DOWN at once, so an outage costs a caller
 * nothing but the first timeout.  One log line when an outage starts, one
 * when it ends.
 *
 * The operations (kv_redis_ops.c) that read and write are Lua scripts,
 * sent as EVALSHA (40 bytes instead of the script); a Redis that does not
 * know the script yet (NOSCRIPT: new, restarted, flushed) gets the same
 * request again as EVAL, which also caches it there, within the same
 * deadline.
 *
 * Limits: keys KV_KEY_MAX bytes (plus the "postern:" prefix), values
 * KV_VALUE_MAX bytes read or written, lists KV_LIST_MAX values; a reply
 * of the wrong type or over a limit is KV_ERROR.
 */
#include "kv.h"
#include "kv_redis_priv.h"
#include "log.h"
#include "netaddr.h"
#include "xmalloc.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/un.h>
#include <time.h>

#define KV_BACKOFF_MIN_MS	1000
#define KV_BACKOFF_MAX_MS	10000
#define KV_CONNECT_MIN_MS	1000	/* connect + handshake, at least */

TAILQ_HEAD(kv_reqs, kv_req);

struct kv {
	struct event_base	*base;
	char			*address;	/* as configured, for logs */
	int			 is_unix;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char			 host[NETADDR_STRLEN];
	int			 port;
	char			*password;
	unsigned		 timeout_ms;

	redisAsyncContext	*ac;		/* NULL: not connected */
	int			 up;		/* handshake done */
	struct kv_req		*hello;		/* the handshake in flight */
	struct event		*retry_ev;	/* reconnect after backoff */
	struct event		*connect_ev;	/* connect + handshake deadline */
	unsigned		 backoff_ms;
	struct timespec		 last_reply;
	int			 outage;	/* logged as started */
	struct timespec		 outage_since;
	struct kv_reqs		 reqs;		/* every live request */
	struct kv_stats		 st;
};

static void kv_connect(struct kv *);
static void kv_lost(struct kv *, const char *);

static long long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void
ms_timeval(unsigned ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* ---- requests ---- */

static void
req_free(struct kv_req *r)
{
	TAILQ_REMOVE(&r->kv->reqs, r, entry);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->eval != NULL)
		redisFreeCommand(r->eval);
	free(r);
}

/* Hands the answer to the caller, once. */
static void
req_answer(struct kv_req *r, enum kv_status st, long long v,
    const char *s, size_t len, const char *const *vals, const size_t *lens,
    size_t n)
{
	struct kv *kv = r->kv;

	if (r->done)
		return;
	r->done = 1;
	if (r->timer != NULL)
		evtimer_del(r->timer);
	if (st == KV_TIMEOUT)
		kv->st.timeouts++;
	else if (st != KV_OK)
		kv->st.failures++;
	switch (r->parse) {
	case P_INT:
	case P_SET:
		r->cb.i(st, v, r->arg);
		break;
	case P_STR:
		r->cb.s(st, s, len, r->arg);
		break;
	case P_LIST:
		r->cb.l(st, vals, lens, n, r->arg);
		break;
	case P_HELLO:
		break;
	}
}

static void
req_fail(struct kv_req *r, enum kv_status st)
{
	req_answer(r, st, 0, NULL, 0, NULL, NULL, 0);
}

static void
hello_done(struct kv *kv, redisReply *rep)
{
	long long down_s;

	kv->hello = NULL;
	if (rep == NULL)
		return;		/* the connection went: kv_lost was called */
	if (rep->type == REDIS_REPLY_ERROR) {
		char why[160];

		snprintf(why, sizeof(why), "%s refused: %.100s",
		    kv->password != NULL ? "AUTH" : "PING", rep->str);
		kv_lost(kv, why);
		return;
	}
	if (kv->connect_ev != NULL)
		evtimer_del(kv->connect_ev);
	kv->up = 1;
	kv->st.up = 1;
	kv->backoff_ms = KV_BACKOFF_MIN_MS;
	if (kv->outage) {
		down_s = ms_since(&kv->outage_since) / 1000;
		log_info("cluster: redis at %s reachable again after %llds; "
		    "sharing state", kv->address, down_s);
		kv->outage = 0;
	} else
		log_info("cluster: redis at %s connected", kv->address);
}

/* hiredis's callback: the reply, or NULL when the connection goes. */
static void
req_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct kv_req *r = privdata;
	struct kv *kv = r->kv;
	redisReply *rep = reply;
	const char *vals[KV_LIST_MAX];
	size_t lens[KV_LIST_MAX], i, n;

	r->in_hiredis = 0;
	if (rep != NULL)
		clock_gettime(CLOCK_MONOTONIC, &kv->last_reply);
	/* The script is not cached there: the same request as EVAL. */
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR && r->eval != NULL &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0 && !r->done &&
	    redisAsyncFormattedCommand(ac, req_reply, r, r->eval,
	    r->eval_len) == REDIS_OK) {
		r->in_hiredis = 1;
		redisFreeCommand(r->eval);
		r->eval = NULL;
		return;
	}
	if (r->parse == P_HELLO) {
		r->done = 1;
		if (kv->hello == r)
			hello_done(kv, rep);
		req_free(r);
		return;
	}
	if (r->done) {
		req_free(r);	/* a tombstone */
		return;
	}
	if (rep == NULL) {
		req_fail(r, KV_DOWN);
		req_free(r);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		log_debug("cluster: redis error: %.200s", rep->str);
		req_fail(r, KV_ERROR);
		req_free(r);
		return;
	}
	switch (r->parse) {
	case P_INT:
		if (rep->type == REDIS_REPLY_INTEGER)
			req_answer(r, KV_OK, rep->integer, NULL, 0, NULL,
			    NULL, 0);
		break;
	case P_SET:
		if (rep->type == REDIS_REPLY_STATUS &&
		    strcmp(rep->str, "OK") == 0)
			req_answer(r, KV_OK, 1, NULL, 0, NULL, NULL, 0);
		else if (rep->type == REDIS_REPLY_NIL)
			req_answer(r, KV_OK, 0, NULL, 0, NULL, NULL, 0);
		break;
	case P_STR:
		if (rep->type == REDIS_REPLY_NIL)
			req_answer(r, KV_OK, 0, NULL, 0, NULL, NULL, 0);
		else if (rep->type == REDIS_REPLY_STRING &&
		    rep->len <= KV_VALUE_MAX)
			req_answer(r, KV_OK, 0, rep->str, rep->len, NULL,
			    NULL, 0);
		break;
	case P_LIST:
		if (rep->type != REDIS_REPLY_ARRAY ||
		    rep->elements > KV_LIST_MAX)
			break;
		for (i = n = 0; i < rep->elements; i++) {
			redisReply *e = rep->element[i];

			if (e->type != REDIS_REPLY_STRING ||
			    e->len > KV_VALUE_MAX)
				break;
			vals[n] = e->str;
			lens[n++] = e->len;
		}
		if (i == rep->elements)
			req_answer(r, KV_OK, 0, NULL, 0, vals, lens, n);
		break;
	case P_HELLO:
		break;
	}
	if (!r->done) {
		log_debug("cluster: redis reply of type %d unexpected",
		    rep->type);
		req_fail(r, KV_ERROR);
	}
	req_free(r);
}

/* Our deadline (or the zero timer of a request never sent). */
static void
req_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct kv_req *r = arg;
	struct kv *kv = r->kv;
	char why[96];

	(void)fd;
	(void)ev;
	if (!r->in_hiredis) {
		req_fail(r, r->early);
		req_free(r);
		return;
	}
	req_fail(r, KV_TIMEOUT);	/* a tombstone until hiredis lets go */
	/* Nothing at all came back since it was sent, a whole timeout ago:
	 * Redis hangs (or the network does). */
	if (kv->ac != NULL && kv->up &&
	    (kv->last_reply.tv_sec < r->sent.tv_sec ||
	    (kv->last_reply.tv_sec == r->sent.tv_sec &&
	    kv->last_reply.tv_nsec < r->sent.tv_nsec))) {
		snprintf(why, sizeof(why), "no answer within %ums",
		    kv->timeout_ms);
		kv_lost(kv, why);
	}
}

struct kv_req *
kv_redis_req_new(struct kv *kv, enum kv_parse parse, void *arg)
{
	struct kv_req *r;

	r = xcalloc(1, sizeof(*r));
	r->kv = kv;
	r->parse = parse;
	r->arg = arg;
	r->early = KV_DOWN;
	r->timer = evtimer_new(kv->base, req_timer, r);
	if (r->timer == NULL)
		fatalx("kv: evtimer_new");
	TAILQ_INSERT_TAIL(&kv->reqs, r, entry);
	return r;
}

/* Sends argv, or answers KV_DOWN from the loop. */
struct kv_req *
kv_redis_req_send(struct kv_req *r, int argc, const char **argv, const size_t *lens)
{
	struct kv *kv = r->kv;
	struct timeval tv;

	if (r->parse != P_HELLO)
		kv->st.requests++;
	if (kv->ac == NULL || (!kv->up && r->parse != P_HELLO) ||
	    redisAsyncCommandArgv(kv->ac, req_reply, r, argc, argv,
	    lens) != REDIS_OK) {
		ms_timeval(0, &tv);
		evtimer_add(r->timer, &tv);
		return r;
	}
	r->in_hiredis = 1;
	clock_gettime(CLOCK_MONOTONIC, &r->sent);
	if (r->parse != P_HELLO) {
		ms_timeval(kv->timeout_ms, &tv);
		evtimer_add(r->timer, &tv);
	}
	return r;
}

/* A request refused before it is sent (a key too long): KV_ERROR from the
 * loop. */
struct kv_req *
kv_redis_req_refuse(struct kv_req *r)
{
	struct timeval tv;

	r->kv->st.requests++;
	r->early = KV_ERROR;
	ms_timeval(0, &tv);
	evtimer_add(r->timer, &tv);
	return r;
}

void
kv_cancel(struct kv_req *r)
{
	if (r == NULL || r->done)
		return;
	r->done = 1;
	evtimer_del(r->timer);
	if (!r->in_hiredis)
		req_free(r);
}

/* ---- the connection ---- */

static void
kv_drop(struct kv *kv)
{
	redisAsyncContext *ac = kv->ac;

	kv->ac = NULL;
	kv->up = 0;
	kv->st.up = 0;
	kv->hello = NULL;
	if (kv->connect_ev != NULL)
		evtimer_del(kv->connect_ev);
	if (ac != NULL)
		redisAsyncFree(ac);	/* NULL replies to what it held */
}

static void
kv_retry_later(struct kv *kv)
{
	struct timeval tv;

	ms_timeval(kv->backoff_ms, &tv);
	evtimer_add(kv->retry_ev, &tv);
	kv->backoff_ms *= 2;
	if (kv->backoff_ms > KV_BACKOFF_MAX_MS)
		kv->backoff_ms = KV_BACKOFF_MAX_MS;
}

/* The connection is gone or useless: drop it, log the outage once, and
 * try again later. */
static void
kv_lost(struct kv *kv, const char *why)
{
	if (!kv->outage) {
		kv->outage = 1;
		kv->st.outages++;
		clock_gettime(CLOCK_MONOTONIC, &kv->outage_since);
		log_warnx("cluster: redis at %s unreachable: %s; deciding "
		    "locally", kv->address, why);
	} else
		log_debug("cluster: redis at %s: %s", kv->address, why);
	kv_drop(kv);
	if (!evtimer_pending(kv->retry_ev, NULL))
		kv_retry_later(kv);
}

static void
kv_on_connect(const redisAsyncContext *ac, int status)
{
	struct kv *kv = ac->data;
	struct kv_req *r;
	const char *argv[2];
	size_t lens[2];
	char why[160];

	if (kv == NULL || ac != kv->ac)
		return;
	if (status != REDIS_OK) {
		snprintf(why, sizeof(why), "%s", ac->errstr[0] != '\0' ?
		    ac->errstr : "connect failed");
		kv->ac = NULL;		/* hiredis frees it after us */
		kv_lost(kv, why);
		return;
	}
	r = kv_redis_req_new(kv, P_HELLO, NULL);
	if (kv->password != NULL) {
		argv[0] = "AUTH";
		argv[1] = kv->password;
		lens[0] = 4;
		lens[1] = strlen(kv->password);
		kv_redis_req_send(r, 2, argv, lens);
	} else {
		argv[0] = "PING";
		lens[0] = 4;
		kv_redis_req_send(r, 1, argv, lens);
	}
	if (r->in_hiredis)
		kv->hello = r;
	/* else its zero timer frees it; the connect deadline drops us */
}

static void
kv_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct kv *kv = ac->data;
	char why[160];

	(void)status;
	if (kv == NULL || ac != kv->ac)
		return;		/* dropped by us */
	snprintf(why, sizeof(why), "%s", ac->errstr[0] != '\0' ?
	    ac->errstr : "connection closed");
	kv->ac = NULL;		/* hiredis frees it after us */
	kv_lost(kv, why);
}

static void
kv_connect_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct kv *kv = arg;

	(void)fd;
	(void)ev;
	if (kv->ac != NULL && !kv->up)
		kv_lost(kv, "connect or handshake timed out");
}

static void
kv_retry(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	kv_connect(arg);
}

static void
kv_connect(struct kv *kv)
{
	redisAsyncContext *ac;
	struct timeval tv;
	char why[160];
	unsigned ms;

	if (kv->is_unix)
		ac = redisAsyncConnectUnix(kv->path);
	else
		ac = redisAsyncConnect(kv->host, kv->port);
	if (ac == NULL) {
		kv_lost(kv, "out of memory");
		return;
	}
	if (ac->err) {
		snprintf(why, sizeof(why), "%s", ac->errstr);
		redisAsyncFree(ac);
		kv_lost(kv, why);
		return;
	}
	ac->data = kv;
	kv->ac = ac;
	clock_gettime(CLOCK_MONOTONIC, &kv->last_reply);
	if (redisLibeventAttach(ac, kv->base) != REDIS_OK) {
		kv_lost(kv, "cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, kv_on_connect);
	redisAsyncSetDisconnectCallback(ac, kv_on_disconnect);
	ms = kv->timeout_ms < KV_CONNECT_MIN_MS ? KV_CONNECT_MIN_MS :
	    kv->timeout_ms;
	ms_timeval(ms, &tv);
	evtimer_add(kv->connect_ev, &tv);
}

static int
kv_parse_address(struct kv *kv, const char *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (strncmp(a, "unix:", 5) == 0) {
		a += 5;
		if (*a != '/' || strlen(a) >= sizeof(kv->path)) {
			snprintf(err, errlen, "redis address unix:%s: not an "
			    "absolute socket path", a);
			return -1;
		}
		kv->is_unix = 1;
		snprintf(kv->path, sizeof(kv->path), "%s", a);
		return 0;
	}
	if (netaddr_parse_hostport(a, 6379, &ss, &sl) == -1) {
		snprintf(err, errlen, "redis address %s: not unix:PATH, "
		    "IP:PORT or [IPv6]:PORT (no names)", a);
		return -1;
	}
	netaddr_ntop((struct sockaddr *)&ss, kv->host, sizeof(kv->host));
	kv->port = netaddr_port((struct sockaddr *)&ss);
	if (kv->port <= 0) {
		snprintf(err, errlen, "redis address %s: no port", a);
		return -1;
	}
	return 0;
}

struct kv *
kv_open(struct event_base *base, const struct kv_params *p, char *err,
    size_t errlen)
{
	struct kv *kv;

	kv = xcalloc(1, sizeof(*kv));
	TAILQ_INIT(&kv->reqs);
	if (p->address == NULL ||
	    kv_parse_address(kv, p->address, err, errlen) == -1) {
		if (p->address == NULL)
			snprintf(err, errlen, "no redis address");
		free(kv);
		return NULL;
	}
	kv->base = base;
	kv->address = xstrdup(p->address);
	kv->password = p->password != NULL ? xstrdup(p->password) : NULL;
	kv->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : 250;
	kv->backoff_ms = KV_BACKOFF_MIN_MS;
	kv->retry_ev = evtimer_new(base, kv_retry, kv);
	kv->connect_ev = evtimer_new(base, kv_connect_deadline, kv);
	if (kv->retry_ev == NULL || kv->connect_ev == NULL)
		fatalx("kv: evtimer_new");
	kv_connect(kv);
	return kv;
}

void
kv_free(struct kv *kv)
{
	struct kv_req *r;

	if (kv == NULL)
		return;
	TAILQ_FOREACH(r, &kv->reqs, entry) {
		r->done = 1;
		evtimer_del(r->timer);
	}
	kv_drop(kv);		/* frees what hiredis held */
	while ((r = TAILQ_FIRST(&kv->reqs)) != NULL)
		req_free(r);
	event_free(kv->retry_ev);
	event_free(kv->connect_ev);
	if (kv->password != NULL) {
		explicit_bzero(kv->password, strlen(kv->password));
		free(kv->password);
	}
	free(kv->address);
	free(kv);
}

void
kv_stats(const struct kv *kv, struct kv_stats *out)
{
	*out = kv->st;
}
