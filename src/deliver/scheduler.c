/*
 * scheduler — see scheduler.h.
 *
 * A message is in one of four conditions: waiting on its timer, parked
 * at a destination whose backlog was full (m->park, delivery.h), in an
 * attempt (m->busy: the first one reads where the body is, then routing,
 * which SCHEDULER_PREP_MAX bounds, then its jobs at their destinations,
 * then persisting), or being removed.  Only the loop thread touches
 * struct qmsg; file work goes to the work pool and comes back through
 * callbacks.
 */
#include "scheduler.h"
#include "scheduler_priv.h"
#include "bounce.h"
#include "buf.h"
#include "conf.h"
#include "delivery.h"
#include "directory.h"
#include "log.h"
#include "postern_limits.h"
#include "queue.h"
#include "queue_state.h"
#include "resolver.h"
#include "smtp_pool.h"
#include "strmap.h"
#include "workpool.h"
#include "xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

static void	msg_attempt(evutil_socket_t, short, void *);

/* ---- life of a message ---- */

static struct qmsg *
msg_new(struct scheduler *s, struct queue_envelope *env)
{
	struct qmsg *m = xcalloc(1, sizeof(*m));

	m->s = s;
	m->env = env;
	/* Held at acceptance (DMARC quarantine): it waits for `release`. */
	m->held = env->hold != NULL;
	queue_state_init(&m->qs, env->nrcpts);
	m->timer = evtimer_new(s->base, msg_attempt, m);
	buf_init(&m->rec, QUEUE_ENVELOPE_MAX);
	for (unsigned k = 0; k < DSN_KINDS; k++)
		buf_init(&m->dsn[k].rec, QUEUE_ENVELOPE_MAX);
	TAILQ_INSERT_TAIL(&s->msgs, m, entry);
	strmap_put(s->byid, env->id, m);
	return m;
}

static void
msg_free(struct qmsg *m)
{
	TAILQ_REMOVE(&m->s->msgs, m, entry);
	sched_unready(m);
	sched_unpark(m);
	free(m->park_key);
	if (strmap_get(m->s->byid, m->env->id) == m)
		strmap_del(m->s->byid, m->env->id);
	sched_try_free(m);
	event_free(m->timer);
	queue_state_free(&m->qs);
	queue_envelope_free(m->env);
	buf_free(&m->rec);
	sched_dsn_clear(m);
	for (unsigned k = 0; k < DSN_KINDS; k++)
		buf_free(&m->dsn[k].rec);
	free(m->res);
	free(m);
}

void
sched_msg_schedule(struct qmsg *m, unsigned delay)
{
	struct timeval tv = { delay, 0 };

	if (m->s->stopping || m->held)
		return;
	m->next = time(NULL) + delay;
	evtimer_add(m->timer, &tv);
}

static unsigned
retry_delay(const struct conf *c, unsigned attempts)
{
	const struct conf_queue *q = &c->queue;
	size_t i = attempts ? attempts - 1 : 0;

	if (q->nretry == 0)
		return 300;
	return q->retry[i < q->nretry ? i : q->nretry - 1];
}

static void	msg_start(struct qmsg *);

void
sched_unpark(struct qmsg *m)
{
	delivery_unpark(m->park);
	m->park = NULL;
}

void
sched_unready(struct qmsg *m)
{
	if (!m->ready)
		return;
	TAILQ_REMOVE(&m->s->ready, m, rentry);
	m->ready = 0;
}

/* Start due messages while there is room to prepare them. */
static void
ready_drain(struct scheduler *s)
{
	struct qmsg *r;

	/* An attempt may be routed before msg_start() returns: the loop
	 * here, not recursion, starts the next one. */
	if (s->draining)
		return;
	s->draining = 1;
	while (!s->stopping && s->preparing < SCHEDULER_PREP_MAX &&
	    (r = TAILQ_FIRST(&s->ready)) != NULL) {
		sched_unready(r);
		msg_start(r);
	}
	s->draining = 0;
}

/* m's attempt is routed (or over): it waits at its destinations now. */
static void
prep_end(struct qmsg *m)
{
	if (!m->preparing)
		return;
	m->preparing = 0;
	m->s->preparing--;
	ready_drain(m->s);
}

void
sched_busy_end(struct scheduler *s, struct qmsg *m)
{
	prep_end(m);
	m->busy = 0;
	s->busy--;
	ready_drain(s);
	if (s->stopping && s->busy == 0 && s->stop_done) {
		void (*done)(void *) = s->stop_done;
		s->stop_done = NULL;
		smtp_pool_quit_all(s->limits.pool, done, s->stop_arg);
	}
}

/* ---- persistence ---- */

static int
remove_work(void *arg)
{
	struct qmsg *m = arg;

	return queue_remove(m->s->conf->spool, m->env->id);
}

static void
remove_done(void *arg, int err)
{
	struct qmsg *m = arg;
	struct scheduler *s = m->s;

	if (err)
		log_warnx("%s: cannot remove from the spool: %s", m->env->id,
		    strerror(err));
	else
		log_info("%s: removed%s", m->env->id, m->drop ?
		    " by the administrator, no DSN" : "");
	if (m->drop_done)
		m->drop_done(m->drop_arg, err);
	sched_busy_end(s, m);
	msg_free(m);
}

void
sched_msg_drop(struct qmsg *m)
{
	sched_unready(m);
	evtimer_del(m->timer);
	m->next = 0;
	m->drop = 1;
	workpool_run(m->s->wp, remove_work, remove_done, m);
}

static int
persist_work(void *arg)
{
	struct qmsg *m = arg;

	return queue_state_append(m->s->conf->spool, m->env->id, m->rec.p,
	    m->rec.len);
}

/* A parked message's destination has room again. */
static void
msg_wake(void *arg)
{
	struct qmsg *m = arg;

	m->park = NULL;
	sched_msg_schedule(m, 0);
}

static void
persist_done(void *arg, int err)
{
	struct qmsg *m = arg;
	struct scheduler *s = m->s;

	if (err)
		/* The outcome is not on disk: a restart repeats it (at least
		 * once), which is the promise. */
		log_warnx("%s: cannot record delivery state: %s", m->env->id,
		    strerror(err));
	buf_reset(&m->rec);
	/* The records were for this attempt: a waiting message keeps only
	 * its envelope and state. */
	free(m->res);
	m->res = NULL;
	if (m->remove || m->drop) {
		workpool_run(s->wp, remove_work, remove_done, m);
		return;
	}
	sched_busy_end(s, m);
	if (m->park_key != NULL) {
		/* Some recipients were not tried: their destination had too
		 * much waiting.  Back as soon as it has room, not at the
		 * retry time (the others meet their destinations early,
		 * which a throttle makes cheap). */
		m->park = delivery_park(&s->limits, m->park_key, msg_wake, m);
		free(m->park_key);
		m->park_key = NULL;
		if (m->park == NULL)
			sched_msg_schedule(m, 0);
		return;
	}
	sched_msg_schedule(m, retry_delay(s->conf, m->qs.attempts));
}

void
sched_persist(struct qmsg *m)
{
	/*
	 * Every recipient settled: the records would be deleted a moment
	 * later along with the message, so remove it at once and save
	 * creating, writing and syncing a state file (the largest cost per
	 * message in docs/performance.md).  A crash before the unlink
	 * repeats the delivery, as a crash before the records would: at
	 * least once.  DSNs this attempt needed are already queued.
	 */
	if (m->remove) {
		buf_reset(&m->rec);
		workpool_run(m->s->wp, remove_work, remove_done, m);
		return;
	}
	if (m->rec.len == 0) {
		/* Nothing was tried (parked): no record, no fdatasync. */
		persist_done(m, 0);
		return;
	}
	workpool_run(m->s->wp, persist_work, persist_done, m);
}

/* ---- attempts ---- */

void
sched_queue_path(const struct qmsg *m, char *path, size_t len)
{
	snprintf(path, len, "%s/queue/%s", m->s->conf->spool, m->env->id);
}


/*
 * Delivered to the local store, or to a peer without DSN (which never saw
 * NOTIFY): the success report is ours to send (RFC 3461 5.2.2, 5.2.3).  A
 * peer with DSN got NOTIFY=SUCCESS and reports itself.
 */
static int
success_is_ours(const struct smtp_client_rcpt *d)
{
	return strcmp(d->remote, "local") == 0 || !d->peer_dsn;
}

static void
attempt_done(void *arg, struct smtp_client_rcpt *res, const char *parked)
{
	struct qmsg *m = arg;
	const struct conf_queue *q = &m->s->conf->queue;
	time_t now = time(NULL);
	size_t pending = 0, tried = 0;

	(void)res;
	prep_end(m);
	free(m->park_key);
	m->park_key = parked ? xstrdup(parked) : NULL;
	if (m->drop) {
		/* Removed by the administrator meanwhile: no DSN, no
		 * record. */
		sched_msg_drop(m);
		return;
	}
	for (size_t i = 0; i < m->env->nrcpts; i++) {
		struct smtp_client_rcpt *d = &m->res[i];

		if (m->qs.st[i] != RCPT_PENDING)
			continue;
		if (d->st == RCPT_PENDING && d->reply[0] == '\0') {
			/* Parked, not tried (delivery.h): nothing to say. */
			pending++;
			continue;
		}
		tried++;
		sched_count(m, d->st, 0);
		if (d->st == RCPT_DELIVERED) {
			queue_state_rec_rcpt(success_is_ours(d) ?
			    sched_rec_for(m, i, BOUNCE_SUCCESS) : &m->rec, 'D', i,
			    now, NULL);
			m->qs.st[i] = RCPT_DELIVERED;
		} else if (d->st == RCPT_FAILED) {
			queue_state_rec_rcpt(sched_rec_for(m, i, BOUNCE_FAILED), 'F',
			    i, now, d->reply);
			m->qs.st[i] = RCPT_FAILED;
		} else {
			queue_state_rec_rcpt(&m->rec, 'T', i, now, d->reply);
			free(m->qs.last[i]);
			m->qs.last[i] = xstrdup(d->reply);
			pending++;
		}
	}
	if (tried) {
		queue_state_rec_event(&m->rec, 'A', now);
		m->qs.attempts++;
		m->qs.last_attempt = now;
		m->s->stats.attempts++;
	}

	/* Expiry: what is still pending fails, with its last error. */
	if (pending && now - m->env->received >= (time_t)q->expire) {
		for (size_t i = 0; i < m->env->nrcpts; i++) {
			struct smtp_client_rcpt *d = &m->res[i];
			char reply[512];

			if (m->qs.st[i] != RCPT_PENDING)
				continue;
			if (d->reply[0] == '\0')	/* parked: not counted */
				sched_count(m, RCPT_PENDING, 0);
			snprintf(reply, sizeof(reply), "message expired after "
			    "%u s in the queue; last error: %.400s", q->expire,
			    d->reply[0] ? d->reply : m->qs.last[i] ?
			    m->qs.last[i] : "none");
			snprintf(d->reply, sizeof(d->reply), "%s", reply);
			snprintf(d->status, sizeof(d->status), "4.4.7");
			queue_state_rec_rcpt(sched_rec_for(m, i, BOUNCE_FAILED), 'F',
			    i, now, reply);
			m->qs.st[i] = RCPT_FAILED;
			sched_count(m, RCPT_FAILED, 1);
			log_info("%s: to=<%s>, status=expired (%s)",
			    m->env->id, m->env->rcpts[i].addr, reply);
		}
		pending = 0;
	}
	m->remove = pending == 0;
	/* Once per message; the W record goes with the warning, so a warning
	 * that could not be queued is tried again. */
	if (pending && q->delay_warning && !m->qs.warned &&
	    now - m->env->received >= (time_t)q->delay_warning) {
		struct dsn_job *j = &m->dsn[BOUNCE_DELAYED];

		for (size_t i = 0; i < m->env->nrcpts; i++)
			if (m->qs.st[i] == RCPT_PENDING)
				(void)sched_rec_for(m, i, BOUNCE_DELAYED);
		m->qs.warned = 1;
		queue_state_rec_event(j->n > 0 ? &j->rec : &m->rec, 'W', now);
	}
	m->dsn_next = 0;
	sched_dsn_next(m);
}

/* The first attempt learns where the body is; later ones know. */
static int
open_work(void *arg)
{
	struct qmsg *m = arg;
	char path[PATH_MAX];
	struct queue_envelope *env;

	sched_queue_path(m, path, sizeof(path));
	env = queue_read_envelope(path, &m->body_offset, m->err,
	    sizeof(m->err));
	if (env == NULL)
		return -1;
	queue_envelope_free(env);
	return 0;
}

static void
msg_routed(void *arg)
{
	prep_end(arg);
}

static void
attempt_start(struct qmsg *m)
{
	struct scheduler *s = m->s;
	struct delivery_ctx ctx;
	char path[PATH_MAX];

	ctx.base = s->base;
	ctx.conf = s->conf;
	ctx.dir = s->dir;
	ctx.rs = s->rsets->rs;
	ctx.wp = s->wp;
	ctx.limits = &s->limits;
	ctx.tried = sched_record_try;
	ctx.routed = msg_routed;
	free(m->res);
	m->res = xcalloc(m->env->nrcpts, sizeof(*m->res));
	sched_queue_path(m, path, sizeof(path));
	delivery_attempt(&ctx, m->env, m->qs.st, path, m->body_offset,
	    m->res, attempt_done, m);
}

static void
open_done(void *arg, int rc)
{
	struct qmsg *m = arg;
	struct scheduler *s = m->s;

	if (m->drop) {
		sched_msg_drop(m);
		return;
	}
	if (rc == -1 || s->stopping) {
		if (rc == -1)
			log_warnx("%s: cannot read the queue file: %s",
			    m->env->id, m->err);
		sched_busy_end(s, m);
		sched_msg_schedule(m, retry_delay(s->conf, m->qs.attempts + 1));
		return;
	}
	m->have_offset = 1;
	attempt_start(m);
}

static void
msg_attempt(evutil_socket_t fd, short ev, void *arg)
{
	struct qmsg *m = arg;
	struct scheduler *s = m->s;

	(void)fd;
	(void)ev;
	m->next = 0;
	if (m->busy || m->held || s->stopping || s->conf == NULL)
		return;
	if (s->preparing >= SCHEDULER_PREP_MAX || s->draining) {
		if (!m->ready) {
			TAILQ_INSERT_TAIL(&s->ready, m, rentry);
			m->ready = 1;
		}
		ready_drain(s);
		return;
	}
	msg_start(m);
}

static void
msg_start(struct qmsg *m)
{
	struct scheduler *s = m->s;

	m->busy = 1;
	s->busy++;
	m->preparing = 1;
	s->preparing++;
	if (m->have_offset)
		attempt_start(m);
	else
		workpool_run(s->wp, open_work, open_done, m);
}

/* ---- the interface ---- */

struct scheduler *
scheduler_new(struct event_base *base, struct queue_writer *writer,
    struct workpool *wp)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));

	s->base = base;
	s->writer = writer;
	s->wp = wp;
	TAILQ_INIT(&s->msgs);
	TAILQ_INIT(&s->ready);
	s->byid = strmap_new();
	delivery_limits_init(&s->limits, base);
	return s;
}

void
scheduler_set_config(struct scheduler *s, struct conf *conf,
    struct directory *dir, struct resolver_set *rs)
{
	struct rset *r = xcalloc(1, sizeof(*r));

	if (s->conf)
		conf_unref(s->conf);
	if (s->dir)
		directory_unref(s->dir);
	s->conf = conf_ref(conf);
	s->dir = directory_ref(dir);
	/* Attempts in flight may still use the old resolvers: they are
	 * retired, and freed with the scheduler. */
	r->rs = rs;
	r->next = s->rsets;
	s->rsets = r;
}

static void
load_one(void *arg, struct queue_envelope *env)
{
	struct scheduler *s = arg;
	struct qmsg *m = msg_new(s, env);

	if (queue_state_load(s->conf->spool, env->id, &m->qs) == -1)
		log_warnx("%s: unreadable delivery state: delivering to "
		    "every recipient again", env->id);
	if (m->qs.released)
		m->held = 0;
	if (queue_state_pending(&m->qs) == 0) {
		/* Settled before a crash, not yet removed. */
		queue_remove(s->conf->spool, env->id);
		msg_free(m);
		return;
	}
	sched_msg_schedule(m, 0);
}

/* State files whose message is gone (removed before a crash). */
static void
collect_orphans(const char *spool)
{
	char path[PATH_MAX], qpath[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/state", spool);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(qpath, sizeof(qpath), "%s/queue/%s", spool,
		    de->d_name);
		if (access(qpath, F_OK) == -1 && errno == ENOENT) {
			snprintf(qpath, sizeof(qpath), "%s/state/%s", spool,
			    de->d_name);
			unlink(qpath);
		}
	}
	closedir(d);
}

long
scheduler_load(struct scheduler *s)
{
	long n;

	collect_orphans(s->conf->spool);
	n = queue_scan(s->conf->spool, load_one, s);
	if (n < 0)
		return n;
	n = 0;
	for (struct qmsg *m = TAILQ_FIRST(&s->msgs); m;
	    m = TAILQ_NEXT(m, entry))
		n++;
	return n;
}

void
scheduler_add(struct scheduler *s, struct queue_envelope *env)
{
	struct qmsg *m = msg_new(s, env);

	sched_msg_schedule(m, 0);
}

void
scheduler_shutdown(struct scheduler *s, void (*done)(void *), void *arg)
{
	struct qmsg *m;

	s->stopping = 1;
	TAILQ_FOREACH(m, &s->msgs, entry)
		evtimer_del(m->timer);
	/* Jobs waiting at their destinations end now; those in flight
	 * finish. */
	delivery_limits_stop(&s->limits);
	if (s->busy == 0) {
		/* kept connections get their QUIT (2 s at most) */
		smtp_pool_quit_all(s->limits.pool, done, arg);
		return;
	}
	s->stop_done = done;
	s->stop_arg = arg;
}

void
scheduler_free(struct scheduler *s)
{
	struct qmsg *m;
	struct rset *r;

	if (s == NULL)
		return;
	while ((m = TAILQ_FIRST(&s->msgs)) != NULL)
		msg_free(m);
	while ((r = s->rsets) != NULL) {
		s->rsets = r->next;
		resolver_set_free(r->rs);
		free(r);
	}
	delivery_limits_free(&s->limits);
	strmap_free(s->byid, NULL);
	if (s->conf)
		conf_unref(s->conf);
	if (s->dir)
		directory_unref(s->dir);
	free(s);
}
