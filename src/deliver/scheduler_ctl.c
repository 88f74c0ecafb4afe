/*
 * scheduler_ctl — the administrator's view of the queue and its levers;
 * see scheduler.h ("the administrator's view").
 *
 * Everything here runs on the loop thread and costs memory, never disk,
 * except remove (queue_remove on the work pool).  The attempt history is
 * the last SCHEDULER_TRIES_MAX tries of each message, in memory: it is
 * what delivery.c reports through delivery_ctx.tried, and it starts
 * empty after a restart (the state log keeps the last error).
 */
#include "scheduler.h"
#include "scheduler_priv.h"
#include "buf.h"
#include "log.h"
#include "queue.h"
#include "queue_state.h"
#include "strmap.h"
#include "workpool.h"
#include "xmalloc.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const unsigned scheduler_latency_bounds[SCHEDULER_LATENCY_BUCKETS] = {
	1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400
};

static void
try_clear(struct scheduler_try *t)
{
	free(t->host);
	free(t->address);
	free(t->profile);
	free(t->tls);
	free(t->reply);
}

void
sched_try_free(struct qmsg *m)
{
	for (size_t i = 0; i < m->ntries; i++)
		try_clear(&m->tries[i]);
	free(m->tries);
	m->tries = NULL;
	m->ntries = 0;
}

void
sched_record_try(void *arg, const struct delivery_try *t)
{
	struct qmsg *m = arg;
	struct scheduler_try *n;

	if (m->tries == NULL)
		m->tries = xcalloc(SCHEDULER_TRIES_MAX, sizeof(*m->tries));
	if (m->ntries == SCHEDULER_TRIES_MAX) {
		/* Keep the latest: the oldest goes. */
		try_clear(&m->tries[0]);
		memmove(&m->tries[0], &m->tries[1],
		    (SCHEDULER_TRIES_MAX - 1) * sizeof(m->tries[0]));
		m->ntries--;
	}
	n = &m->tries[m->ntries++];
	n->time = time(NULL);
	n->host = xstrdup(t->host ? t->host : "");
	n->address = xstrdup(t->address ? t->address : "");
	n->profile = xstrdup(t->profile ? t->profile : "");
	n->tls = xstrdup(t->tls ? t->tls : "");
	n->reply = xstrdup(t->reply ? t->reply : "");
}

void
sched_count(struct qmsg *m, enum rcpt_state st, int expired)
{
	struct scheduler_stats *c = &m->s->stats;
	time_t lat;
	size_t b;

	switch (st) {
	case RCPT_DELIVERED:
		c->delivered++;
		lat = time(NULL) - m->env->received;
		if (lat < 0)
			lat = 0;
		for (b = 0; b < SCHEDULER_LATENCY_BUCKETS; b++)
			if ((unsigned long)lat <= scheduler_latency_bounds[b])
				break;
		c->latency[b]++;
		c->latency_count++;
		c->latency_sum += (double)lat;
		break;
	case RCPT_FAILED:
		c->bounced++;
		if (expired) {
			c->expired++;
			c->deferred--;	/* counted when it came back */
		}
		break;
	default:
		c->deferred++;
		break;
	}
}

size_t
scheduler_ids(struct scheduler *s, char (**ids)[QUEUE_ID_LEN + 1])
{
	struct qmsg *m;
	size_t n = 0, cap = strmap_count(s->byid);

	*ids = xcalloc(cap ? cap : 1, sizeof(**ids));
	TAILQ_FOREACH(m, &s->msgs, entry) {
		if (n == cap)
			break;
		memcpy((*ids)[n++], m->env->id, QUEUE_ID_LEN + 1);
	}
	return n;
}

static struct qmsg *
find(struct scheduler *s, const char *id)
{
	return id ? strmap_get(s->byid, id) : NULL;
}

int
scheduler_get(struct scheduler *s, const char *id, struct scheduler_msg *out)
{
	struct qmsg *m = find(s, id);

	if (m == NULL)
		return -1;
	out->env = m->env;
	out->qs = &m->qs;
	out->held = m->held;
	out->busy = m->busy;
	out->next = m->next;
	out->tries = m->tries;
	out->ntries = m->ntries;
	return 0;
}

int
scheduler_hold(struct scheduler *s, const char *id)
{
	struct qmsg *m = find(s, id);

	if (m == NULL || m->drop)
		return ENOENT;
	if (!m->held)
		log_info("%s: held by the administrator", id);
	m->held = 1;
	m->next = 0;
	sched_unready(m);
	sched_unpark(m);
	evtimer_del(m->timer);
	return 0;
}

/* A message held at acceptance stays released across a restart: the
 * release goes to its state log (queue_state.h, record R). */
struct release_rec {
	char	spool[PATH_MAX];
	char	id[QUEUE_ID_LEN + 1];
	char	rec[48];
	size_t	len;
};

static int
release_work(void *arg)
{
	struct release_rec *r = arg;

	return queue_state_append(r->spool, r->id, r->rec, r->len);
}

static void
release_done(void *arg, int rc)
{
	struct release_rec *r = arg;

	if (rc != 0)
		log_warnx("%s: cannot record the release: %s (held again "
		    "after a restart)", r->id, strerror(rc));
	free(r);
}

static void
release_persist(struct scheduler *s, const struct qmsg *m)
{
	struct release_rec *r = xcalloc(1, sizeof(*r));
	struct buf b;

	snprintf(r->spool, sizeof(r->spool), "%s", s->conf->spool);
	snprintf(r->id, sizeof(r->id), "%s", m->env->id);
	buf_init(&b, sizeof(r->rec));
	queue_state_rec_event(&b, 'R', time(NULL));
	r->len = b.len < sizeof(r->rec) ? b.len : 0;
	memcpy(r->rec, b.p, r->len);
	buf_free(&b);
	workpool_run(s->wp, release_work, release_done, r);
}

int
scheduler_release(struct scheduler *s, const char *id)
{
	struct qmsg *m = find(s, id);

	if (m == NULL || m->drop)
		return ENOENT;
	if (!m->held)
		return 0;
	m->held = 0;
	log_info("%s: released by the administrator", id);
	if (m->env->hold != NULL && !m->qs.released) {
		m->qs.released = 1;
		release_persist(s, m);
	}
	if (!m->busy)
		sched_msg_schedule(m, 0);
	return 0;
}

static void
flush_one(struct qmsg *m)
{
	if (m->busy || m->held || m->drop)
		return;		/* an attempt is running already */
	sched_unpark(m);
	evtimer_del(m->timer);
	sched_msg_schedule(m, 0);
}

int
scheduler_flush(struct scheduler *s, const char *id)
{
	struct qmsg *m = find(s, id);

	if (m == NULL || m->drop)
		return ENOENT;
	if (m->held)
		return EBUSY;
	/* The administrator wants a real try: no destination is spared. */
	delivery_limits_unthrottle(&s->limits);
	flush_one(m);
	log_info("%s: flushed by the administrator", id);
	return 0;
}

size_t
scheduler_flush_all(struct scheduler *s)
{
	struct qmsg *m;
	size_t n = 0;

	delivery_limits_unthrottle(&s->limits);
	TAILQ_FOREACH(m, &s->msgs, entry) {
		if (m->held || m->drop)
			continue;
		flush_one(m);
		n++;
	}
	log_info("queue flushed by the administrator: %zu message(s)", n);
	return n;
}

int
scheduler_remove(struct scheduler *s, const char *id,
    void (*done)(void *, int), void *arg)
{
	struct qmsg *m = find(s, id);

	if (m == NULL)
		return ENOENT;
	if (m->drop)
		return EALREADY;
	m->drop = 1;
	m->drop_done = done;
	m->drop_arg = arg;
	if (m->busy) {
		/* The attempt in flight ends first; then no DSN, no record,
		 * the files go (attempt_done, open_done, persist_done). */
		log_info("%s: will be removed once its attempt ends", id);
		return 0;
	}
	sched_unpark(m);
	m->busy = 1;
	s->busy++;
	sched_msg_drop(m);
	return 0;
}

void
scheduler_stats(struct scheduler *s, struct scheduler_stats *out)
{
	struct qmsg *m;

	*out = s->stats;
	out->queued = out->held = 0;
	out->oldest = 0;
	TAILQ_FOREACH(m, &s->msgs, entry) {
		out->queued++;
		out->held += m->held != 0;
		if (out->oldest == 0 || m->env->received < out->oldest)
			out->oldest = m->env->received;
	}
}

struct resolver_set *
scheduler_resolvers(struct scheduler *s)
{
	return s->rsets ? s->rsets->rs : NULL;
}
