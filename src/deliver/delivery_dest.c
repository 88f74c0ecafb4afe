/*
 * delivery_dest — the destination queues: one per next hop (job key),
 * each owning its backlog, its window and its retry state (struct
 * delivery_dest in delivery_priv.h; picture in docs/scheduler.md).
 *
 * A job takes a slot when its destination holds fewer than
 * `per-destination` and all destinations fewer than `concurrency` (idle
 * kept connections count too: the oldest is closed to make room).  The
 * destinations that have waiting jobs and room in their window form a
 * ring; a free global slot goes to the first of the ring, which then goes
 * to the back, so destinations share the global window round robin and a
 * backlog of thousands at one of them costs the others nothing.  A
 * destination whose connections hang holds its window, never more.
 *
 * A backlog holds at most DEST_BACKLOG_MAX jobs; past it a message is
 * parked (a small entry, no route, no records) and woken one for each job
 * that leaves the backlog, or all at once when the destination is idle.
 *
 * Loop thread only.  A destination with no job, no parked message and no
 * throttle is freed.
 */
#include "delivery.h"
#include "delivery_priv.h"
#include "conf.h"
#include "log.h"
#include "smtp_pool.h"
#include "strmap.h"
#include "xmalloc.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void	dispatch(struct delivery_limits *);

void
delivery_limits_init(struct delivery_limits *l, struct event_base *base)
{
	memset(l, 0, sizeof(*l));
	l->base = base;
	l->dests = strmap_new();
	l->ring = xcalloc(1, sizeof(*l->ring));
	TAILQ_INIT(l->ring);
	l->pool = smtp_pool_new();
}

static void
dest_free(struct delivery_dest *d)
{
	if (d->in_ring)
		TAILQ_REMOVE(d->l->ring, d, rentry);
	if (strmap_get(d->l->dests, d->key) == d)
		strmap_del(d->l->dests, d->key);
	if (d->timer)
		event_free(d->timer);
	free(d);
}

/* Free d if nothing depends on it any more. */
static void
dest_maybe_free(struct delivery_dest *d)
{
	if (d->active == 0 && d->nbacklog == 0 && !d->throttled &&
	    d->nparked == 0)
		dest_free(d);
}

static void
free_one(void *value)
{
	struct delivery_dest *d = value;
	struct delivery_park *p;

	while ((p = TAILQ_FIRST(&d->parked)) != NULL) {
		TAILQ_REMOVE(&d->parked, p, link);
		free(p);
	}
	if (d->timer)
		event_free(d->timer);
	free(d);
}

void
delivery_limits_free(struct delivery_limits *l)
{
	/* Jobs are gone by now (the scheduler frees attempts first). */
	strmap_free(l->dests, free_one);
	l->dests = NULL;
	free(l->ring);
	l->ring = NULL;
	smtp_pool_free(l->pool);
	l->pool = NULL;
}

static const struct conf_queue *
job_queue_conf(const struct djob *j)
{
	return &j->a->ctx.conf->queue;
}

/* Keep d in the ring exactly when it has work and room. */
static void
ring_update(struct delivery_dest *d)
{
	int want = d->nbacklog > 0 && !d->throttled &&
	    d->active < job_queue_conf(TAILQ_FIRST(&d->backlog))->
	    per_destination;

	if (want && !d->in_ring) {
		TAILQ_INSERT_TAIL(d->l->ring, d, rentry);
		d->in_ring = 1;
	} else if (!want && d->in_ring) {
		TAILQ_REMOVE(d->l->ring, d, rentry);
		d->in_ring = 0;
	}
}

/* Wake up to n parked messages of d, oldest first. */
static void
wake_parked(struct delivery_dest *d, size_t n)
{
	struct delivery_park *p;

	while (n-- > 0 && (p = TAILQ_FIRST(&d->parked)) != NULL) {
		void (*wake)(void *) = p->wake;
		void *arg = p->arg;

		TAILQ_REMOVE(&d->parked, p, link);
		d->nparked--;
		free(p);
		wake(arg);	/* the scheduler only sets a timer */
	}
}

/* Nothing waits or runs here any more: whoever is parked comes back (a
 * message may have been routed elsewhere since, leaving room unused). */
static void
idle_check(struct delivery_dest *d)
{
	if (d->active == 0 && d->nbacklog == 0)
		wake_parked(d, d->nparked);
}

static struct djob *
backlog_pop(struct delivery_dest *d)
{
	struct djob *j = TAILQ_FIRST(&d->backlog);

	if (j != NULL) {
		TAILQ_REMOVE(&d->backlog, j, dentry);
		d->nbacklog--;
		/* One place freed, one parked message comes back for it. */
		wake_parked(d, 1);
	}
	return j;
}

/* Every waiting job of d ends now, deferred with reply. */
static void
backlog_skip(struct delivery_dest *d, const char *reply)
{
	struct djob *j;

	while ((j = backlog_pop(d)) != NULL) {
		j->dest = NULL;
		delivery_job_skip(j, reply);
	}
	ring_update(d);
}

/* Give free global slots to the destinations of the ring, in turn. */
static void
dispatch(struct delivery_limits *l)
{
	struct delivery_dest *d;
	struct djob *j;

	if (l->dispatching)
		return;		/* the outer loop carries on */
	l->dispatching = 1;
	while (!l->stopping && (d = TAILQ_FIRST(l->ring)) != NULL) {
		j = TAILQ_FIRST(&d->backlog);
		if (l->active >= job_queue_conf(j)->concurrency)
			break;
		/* idle kept connections are outbound connections too */
		if (l->active + smtp_pool_count(l->pool) >=
		    job_queue_conf(j)->concurrency)
			smtp_pool_evict(l->pool);
		(void)backlog_pop(d);
		l->active++;
		d->active++;
		j->slot = 1;
		TAILQ_REMOVE(l->ring, d, rentry);
		d->in_ring = 0;
		ring_update(d);		/* to the back, if it has more */
		/* Last: the job may end (and d go) before this returns. */
		delivery_job_run(j);
	}
	l->dispatching = 0;
}

static void
throttle_end(evutil_socket_t fd, short ev, void *arg)
{
	struct delivery_dest *d = arg;

	(void)fd;
	(void)ev;
	d->throttled = 0;
	idle_check(d);
	dest_maybe_free(d);
}

static void
throttle(struct delivery_dest *d, const struct djob *j)
{
	const struct conf_queue *q = job_queue_conf(j);
	unsigned long ms = q->nretry ? (unsigned long)q->retry[0] * 500 :
	    DEST_THROTTLE_MAX_MS;
	struct timeval tv;

	/* Shorter than any message's own retry wait, so the throttle only
	 * spares the others' connections, never delays a retry. */
	if (ms < DEST_THROTTLE_MIN_MS)
		ms = DEST_THROTTLE_MIN_MS;
	if (ms > DEST_THROTTLE_MAX_MS)
		ms = DEST_THROTTLE_MAX_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (d->timer == NULL)
		d->timer = evtimer_new(d->l->base, throttle_end, d);
	snprintf(d->last_error, sizeof(d->last_error), "%s",
	    j->last_error[0] ? j->last_error :
	    "451 4.4.1 Next hop unreachable");
	if (!d->throttled)
		log_info("destination %s: not reachable, deferring its "
		    "mail for %lu ms (%s)", d->key, ms, d->last_error);
	d->throttled = 1;
	evtimer_add(d->timer, &tv);
	backlog_skip(d, d->last_error);
}

static struct delivery_dest *
dest_get(struct delivery_limits *l, const char *key)
{
	struct delivery_dest *d = strmap_get(l->dests, key);

	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->l = l;
		snprintf(d->key, sizeof(d->key), "%s", key);
		TAILQ_INIT(&d->backlog);
		TAILQ_INIT(&d->parked);
		strmap_put(l->dests, d->key, d);
	}
	return d;
}

void
delivery_dest_enqueue(struct delivery_limits *l, struct djob *j)
{
	struct delivery_dest *d;

	if (l->stopping) {
		delivery_job_skip(j, "451 4.3.2 Delivery stopped (shutdown)");
		return;
	}
	d = dest_get(l, j->key);
	if (d->throttled) {
		delivery_job_skip(j, d->last_error);
		return;
	}
	if (d->nbacklog >= DEST_BACKLOG_MAX) {
		/* The message waits outside, for a few bytes, not here with
		 * its route and records (delivery_park). */
		delivery_job_park(j);
		return;
	}
	j->dest = d;
	TAILQ_INSERT_TAIL(&d->backlog, j, dentry);
	d->nbacklog++;
	ring_update(d);
	dispatch(l);
}

void
delivery_dest_release(struct djob *j, int failed)
{
	struct delivery_dest *d = j->dest;
	struct delivery_limits *l;

	if (d == NULL || !j->slot)
		return;
	l = d->l;
	j->slot = 0;
	j->dest = NULL;
	l->active--;
	d->active--;
	if (failed && !l->stopping)
		throttle(d, j);
	else if (!failed && d->throttled) {
		/* It answered after all (a job started before the throttle) */
		evtimer_del(d->timer);
		d->throttled = 0;
	}
	ring_update(d);
	if (!l->stopping)
		idle_check(d);
	dest_maybe_free(d);
	dispatch(l);
}

static void
collect(const char *key, void *value, void *arg)
{
	struct delivery_dest ***p = arg;

	(void)key;
	*(*p)++ = value;
}

/* fn on every destination; fn may free the one it is given. */
static void
dests_each(struct delivery_limits *l, void (*fn)(struct delivery_dest *))
{
	size_t n = strmap_count(l->dests);
	struct delivery_dest **all, **p;

	if (n == 0)
		return;
	p = all = xcalloc(n, sizeof(*all));
	strmap_foreach(l->dests, collect, &p);
	for (size_t i = 0; i < n; i++)
		fn(all[i]);
	free(all);
}

static void
stop_one(struct delivery_dest *d)
{
	backlog_skip(d, "451 4.3.2 Delivery stopped (shutdown)");
	dest_maybe_free(d);
}

void
delivery_limits_stop(struct delivery_limits *l)
{
	l->stopping = 1;
	dests_each(l, stop_one);
}

static void
unthrottle_one(struct delivery_dest *d)
{
	if (d->throttled) {
		evtimer_del(d->timer);
		d->throttled = 0;
		ring_update(d);
	}
	dest_maybe_free(d);
}

void
delivery_limits_unthrottle(struct delivery_limits *l)
{
	dests_each(l, unthrottle_one);
	dispatch(l);
}

struct delivery_park *
delivery_park(struct delivery_limits *l, const char *key,
    void (*wake)(void *), void *arg)
{
	struct delivery_dest *d = dest_get(l, key);
	struct delivery_park *p;

	if (d->nbacklog < DEST_BACKLOG_MAX && d->nparked == 0) {
		dest_maybe_free(d);
		return NULL;		/* room now */
	}
	p = xcalloc(1, sizeof(*p));
	p->d = d;
	p->wake = wake;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&d->parked, p, link);
	d->nparked++;
	return p;
}

void
delivery_unpark(struct delivery_park *p)
{
	struct delivery_dest *d;

	if (p == NULL)
		return;
	d = p->d;
	TAILQ_REMOVE(&d->parked, p, link);
	d->nparked--;
	free(p);
	dest_maybe_free(d);
}
