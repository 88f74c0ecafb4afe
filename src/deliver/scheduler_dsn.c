/*
 * scheduler_dsn — the DSNs of one attempt (failed, delayed, success: at
 * most one of each, RFC 3461 NOTIFY honoured per recipient), queued one
 * after the other before the state records of the recipients they
 * report, so a crash can repeat a DSN but never lose one (docs/delivery.md
 * "The scheduler").  Loop thread only, but for the read of the original
 * message, which goes to the work pool; the text comes from bounce.c.
 */
#include "scheduler.h"
#include "scheduler_priv.h"
#include "bounce.h"
#include "buf.h"
#include "conf.h"
#include "delivery.h"
#include "log.h"
#include "queue.h"
#include "queue_state.h"
#include "dsn.h"
#include "workpool.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Does this recipient want a DSN of this kind (RFC 3461 NOTIFY)? */
static int
wants_dsn(const struct queue_rcpt *r, enum bounce_kind kind)
{
	if (r->notify & SMTP_NOTIFY_NEVER)
		return 0;
	switch (kind) {
	case BOUNCE_FAILED:
		/* Without NOTIFY: failures and delays (RFC 3461 4.1). */
		return r->notify == 0 || (r->notify & SMTP_NOTIFY_FAILURE);
	case BOUNCE_DELAYED:
		return r->notify == 0 || (r->notify & SMTP_NOTIFY_DELAY);
	default:
		return (r->notify & SMTP_NOTIFY_SUCCESS) != 0;
	}
}

/*
 * Where recipient i's record goes: with the DSN of `kind` when that will
 * report it, else straight into the attempt's records.  A bounce is never
 * bounced, and the null sender gets no success report either.
 */
struct buf *
sched_rec_for(struct qmsg *m, size_t i, enum bounce_kind kind)
{
	struct dsn_job *j = &m->dsn[kind];

	if (m->env->sender[0] == '\0' || !wants_dsn(&m->env->rcpts[i], kind))
		return &m->rec;
	if (j->idx == NULL)
		j->idx = xcalloc(m->env->nrcpts, sizeof(*j->idx));
	j->idx[j->n++] = i;
	return &j->rec;
}

void
sched_dsn_clear(struct qmsg *m)
{
	for (unsigned k = 0; k < DSN_KINDS; k++) {
		free(m->dsn[k].idx);
		m->dsn[k].idx = NULL;
		m->dsn[k].n = 0;
		buf_reset(&m->dsn[k].rec);
	}
	free(m->msg);
	m->msg = NULL;
	m->msglen = 0;
	m->dsn_next = 0;
}

/* The DSN is queued (or not needed after all): its records may follow. */
static void
dsn_records_keep(struct qmsg *m, struct dsn_job *j)
{
	if (j->rec.len > 0)
		buf_append(&m->rec, j->rec.p, j->rec.len);
	buf_reset(&j->rec);
}

/*
 * The DSN of `kind` could not be queued: its records are dropped, and in
 * memory its recipients go back to what the disk says, so the next
 * attempt meets them again and retries the DSN.  A delivered recipient is
 * then delivered again: at least once, as after a crash.
 */
static void
dsn_rollback(struct qmsg *m, enum bounce_kind kind)
{
	struct dsn_job *j = &m->dsn[kind];

	if (kind == BOUNCE_DELAYED)
		m->qs.warned = 0;
	else
		for (size_t i = 0; i < j->n; i++)
			m->qs.st[j->idx[i]] = RCPT_PENDING;
	buf_reset(&j->rec);
	m->remove = queue_state_pending(&m->qs) == 0;
}

/*
 * The original message as it leaves (its cuts left out), for the DSNs:
 * read once per attempt on a worker thread, as every other queue-file
 * read (docs/spool.md), never on the loop, which a message of several MiB
 * would stall.  The path and the view are made on the loop; the worker
 * touches nothing else of the message, which stays busy (and so alive and
 * unchanged) until its DSNs are queued.
 */
struct dsn_read {
	struct qmsg		*m;
	char			 path[PATH_MAX];
	struct queue_view	 v;	/* fd set by the worker */
	uint64_t		 size;
	char			*msg;
	size_t			 len;
	int			 err;	/* errno of a failed open */
};

static int
read_work(void *arg)
{
	struct dsn_read *r = arg;
	ssize_t n;

	r->msg = xmalloc(r->size + 1);
	if ((r->v.fd = open(r->path, O_RDONLY | O_CLOEXEC)) == -1) {
		r->err = errno;
		return -1;
	}
	while (r->len < r->size) {
		n = queue_view_pread(&r->v, r->len, r->msg + r->len,
		    r->size - r->len);
		if (n <= 0)
			break;
		r->len += (size_t)n;
	}
	close(r->v.fd);
	return 0;
}

static void
read_done(void *arg, int rc)
{
	struct dsn_read *r = arg;
	struct qmsg *m = r->m;

	if (rc == -1)
		log_warnx("%s: cannot read the message for a DSN: %s",
		    m->env->id, strerror(r->err));
	/* a short read composes with what there is, as before */
	m->msg = r->msg;
	m->msglen = r->len;
	free(r);
	sched_dsn_next(m);
}

static void
read_message(struct qmsg *m)
{
	struct dsn_read *r = xcalloc(1, sizeof(*r));

	r->m = m;
	sched_queue_path(m, r->path, sizeof(r->path));
	r->v.fd = -1;
	r->v.offset = m->body_offset;
	r->v.size = m->env->size;
	r->v.cuts = m->env->cuts;
	r->v.ncuts = m->env->ncuts;
	r->size = queue_envelope_out_size(m->env);
	workpool_run(m->s->wp, read_work, read_done, r);
}

static void
dsn_committed(void *arg, int error, struct queue_envelope *env)
{
	struct qmsg *m = arg;
	enum bounce_kind kind = (enum bounce_kind)(m->dsn_next - 1);

	if (error) {
		log_warnx("%s: cannot queue a DSN: %s", m->env->id,
		    strerror(error));
		queue_envelope_free(env);
		dsn_rollback(m, kind);
	} else {
		log_info("%s: sender notification: %s", env->id, m->env->id);
		dsn_records_keep(m, &m->dsn[kind]);
		scheduler_add(m->s, env);
	}
	sched_dsn_next(m);
}

/*
 * Start queueing the DSN of `kind` for its recipients; 1 if started
 * (dsn_committed follows), 0 if it could not be composed.
 */
static int
dsn_send(struct qmsg *m, enum bounce_kind kind)
{
	static const char *const dflt[DSN_KINDS] = { "5.0.0", "4.0.0",
	    "2.0.0" };
	struct scheduler *s = m->s;
	struct dsn_job *j = &m->dsn[kind];
	struct bounce_rcpt *br;
	struct queue_envelope *env;
	struct buf out;
	char *body;
	size_t bodylen;
	time_t now = time(NULL);

	br = xcalloc(j->n, sizeof(*br));
	for (size_t k = 0; k < j->n; k++) {
		const struct queue_rcpt *r = &m->env->rcpts[j->idx[k]];
		const struct smtp_client_rcpt *d = &m->res[j->idx[k]];
		int local = strcmp(d->remote, "local") == 0;

		br[k].addr = r->addr;
		br[k].orcpt = r->orcpt;
		br[k].status = kind == BOUNCE_SUCCESS || !d->status[0] ?
		    dflt[kind] : d->status;
		br[k].diagnostic = d->reply[0] ? d->reply :
		    m->qs.last[j->idx[k]];
		/* Our own "250 Delivered to the mailbox store" tells the
		 * sender nothing a "delivered" does not. */
		if (kind == BOUNCE_SUCCESS && local)
			br[k].diagnostic = NULL;
		br[k].remote_mta = d->remote[0] && !local ? d->remote : NULL;
		br[k].action = local ? "delivered" : "relayed";
	}
	buf_init(&out, BOUNCE_MAX);
	if (bounce_compose(&out, kind, m->env, m->msg, m->msglen, br, j->n,
	    s->conf->hostname, now) == -1) {
		/* Only an absurd envelope gets here (even the headers-only
		 * DSN did not fit): logged, the outcome stands. */
		log_warnx("%s: cannot compose a DSN: %s", m->env->id,
		    strerror(errno));
		buf_free(&out);
		free(br);
		return 0;
	}
	free(br);
	body = buf_release(&out, &bodylen);

	env = xcalloc(1, sizeof(*env));
	queue_id_new(env->id);
	env->received = now;
	env->vserver = xstrdup("postern");
	env->client_addr = xstrdup("127.0.0.1");
	env->helo = xstrdup(s->conf->hostname);
	env->sender = xstrdup("");
	env->smtputf8 = m->env->smtputf8;
	env->body_8bit = m->env->body_8bit;
	queue_envelope_add_rcpt(env, m->env->sender, NULL, 0);
	queue_commit(s->writer, env, body, bodylen, dsn_committed, m);
	return 1;
}

/*
 * Queue the attempt's DSNs one after the other (each commit callback
 * starts the next), then persist the records: every record waits for the
 * DSN that reports its recipient.
 */
void
sched_dsn_next(struct qmsg *m)
{
	while (m->dsn_next < DSN_KINDS) {
		enum bounce_kind kind = (enum bounce_kind)m->dsn_next;
		struct dsn_job *j = &m->dsn[kind];

		if (j->n > 0 && m->msg == NULL) {
			read_message(m);	/* read_done comes back here */
			return;
		}
		m->dsn_next++;
		if (j->n > 0 && dsn_send(m, kind))
			return;
		dsn_records_keep(m, j);
	}
	sched_dsn_clear(m);
	sched_persist(m);
}

