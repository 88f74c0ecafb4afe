/*
 * scheduler_priv — what scheduler.c (attempts, DSNs, persistence) and
 * scheduler_ctl.c (the administrator's operations: listing, hold, release,
 * flush, remove, attempt history, counters) share, and no one else.
 *
 * Only the loop thread touches these structures.
 */
#ifndef POSTERN_SCHEDULER_PRIV_H
#define POSTERN_SCHEDULER_PRIV_H

#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "bounce.h"
#include "buf.h"
#include "delivery.h"
#include "queue.h"
#include "queue_state.h"
#include "scheduler.h"
#include "smtp_client.h"

#define BOUNCE_MAX	(8 * 1024 * 1024)	/* a DSN with its returned
						   content */
#define DSN_KINDS	(BOUNCE_SUCCESS + 1)	/* queued in enum order */
#define SCHEDULER_PREP_MAX 512	/* attempts being prepared at once
				   (reading the envelope, routing); due
				   messages past it wait in the ready
				   list, in order.  An attempt that waits
				   at its destinations does not count:
				   those queues have their own limits
				   (delivery_dest.c) */

/*
 * The DSN of one kind an attempt sends, with the state records of the
 * recipients it reports: those are persisted only once it is queued, so
 * that a crash can repeat a DSN but never lose one.
 */
struct dsn_job {
	size_t		*idx;		/* the recipients it reports */
	size_t		 n;
	struct buf	 rec;		/* their records */
};

struct qmsg {
	TAILQ_ENTRY(qmsg)	 entry;
	TAILQ_ENTRY(qmsg)	 rentry;	/* in s->ready */
	int			 ready;		/* due, waiting for a slot */
	int			 preparing;	/* counted in s->preparing */
	struct delivery_park	*park;		/* waiting for room at a
						   destination, or NULL */
	char			*park_key;	/* ... where, once persisted */
	struct scheduler	*s;
	struct queue_envelope	*env;
	struct queue_state	 qs;
	struct event		*timer;
	int			 busy;
	uint64_t		 body_offset;	/* read once, at the first
						   attempt */
	int			 have_offset;
	struct smtp_client_rcpt	*res;		/* the attempt's records */
	struct buf		 rec;		/* records to persist */
	struct dsn_job		 dsn[DSN_KINDS];
	unsigned		 dsn_next;	/* next kind to queue */
	char			*msg;		/* read once for the DSNs */
	size_t			 msglen;
	int			 remove;	/* all settled: unlink after */
	char			 err[256];

	/* the administrator's view and levers (scheduler_ctl.c) */
	int			 held;		/* no attempt until released */
	time_t			 next;		/* when the timer fires, or 0 */
	struct scheduler_try	*tries;		/* oldest first */
	size_t			 ntries;
	int			 drop;		/* remove (no DSN) when the
						   attempt in flight ends */
	void			(*drop_done)(void *, int);
	void			*drop_arg;
};

struct rset {
	struct resolver_set	*rs;
	struct rset		*next;
};

struct scheduler {
	struct event_base	*base;
	struct queue_writer	*writer;
	struct workpool		*wp;
	struct conf		*conf;
	struct directory	*dir;
	struct rset		*rsets;		/* [0] current, then retired */
	struct delivery_limits	 limits;
	TAILQ_HEAD(, qmsg)	 msgs;
	TAILQ_HEAD(, qmsg)	 ready;		/* due, past SCHEDULER_PREP_MAX */
	struct strmap		*byid;		/* id -> struct qmsg */
	unsigned		 busy;		/* messages in an attempt */
	unsigned		 preparing;	/* ... not yet routed */
	int			 draining;	/* ready_drain() re-entry guard */
	int			 stopping;
	void			(*stop_done)(void *);
	void			*stop_arg;
	struct scheduler_stats	 stats;		/* counters since start */
};

/* scheduler.c */
void	sched_msg_schedule(struct qmsg *m, unsigned delay);
void	sched_busy_end(struct scheduler *s, struct qmsg *m);
/* Remove m from the spool now (m->busy must be set): no DSN. */
void	sched_msg_drop(struct qmsg *m);
/* Take m off the ready list, if it is there. */
void	sched_unready(struct qmsg *m);
/* Take m off its destination's parked list, if it is there. */
void	sched_unpark(struct qmsg *m);

/* The file of m: SPOOL/queue/ID. */
void	sched_queue_path(const struct qmsg *m, char *path, size_t len);
/* Persist the attempt's records (or remove m when all is settled). */
void	sched_persist(struct qmsg *m);

/* scheduler_dsn.c */
/* Where recipient i's record goes: with the DSN of kind when one will
 * report it, else straight into the attempt's records. */
struct buf *sched_rec_for(struct qmsg *m, size_t i, enum bounce_kind kind);
/* Queue the attempt's DSNs, one after the other, then sched_persist. */
void	sched_dsn_next(struct qmsg *m);
void	sched_dsn_clear(struct qmsg *m);

/* scheduler_ctl.c */
void	sched_try_free(struct qmsg *m);
void	sched_record_try(void *arg, const struct delivery_try *t);
/* Count one attempt's outcomes (delivered, bounced, deferred). */
void	sched_count(struct qmsg *m, enum rcpt_state st, int expired);

#endif
