/*
 * scheduler — the queue manager: which message is attempted when.
 *
 * Holds every queued message in memory (envelope and per-recipient state,
 * never the body), one libevent timer each, so picking the next due
 * message costs a heap operation, not a scan.  An attempt is handed to
 * delivery.c, whose jobs wait in the queue of their destination (next
 * hop), each with its own window and retry state, so one destination's
 * backlog or hang holds nothing another needs (docs/scheduler.md); its
 * outcome is persisted in the message's state log
 * (queue_state.c) before anything else depends on it; permanent failures
 * and expiry produce a DSN (bounce.c) queued like any message, which is
 * durable before the failure is recorded; a message leaves the spool only
 * when every recipient is settled.  Retries follow `queue retry`; `expire`
 * bounces what is left; `delay-warning` sends one delayed DSN.
 *
 * For the administrator (scheduler_ctl.c, behind the control socket): a
 * snapshot of the queued ids, a read-only view of one message with its
 * recent delivery tries (host, address, resolver profile, TLS, reply:
 * kept in memory, the last SCHEDULER_TRIES_MAX per message), hold /
 * release / flush / remove, and the counters of `posternctl stats` and
 * the metrics.  A hold lasts until release or restart.
 */
#ifndef POSTERN_SCHEDULER_H
#define POSTERN_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue.h"

struct conf;
struct directory;
struct event_base;
struct queue_envelope;
struct queue_writer;
struct resolver_set;
struct scheduler;
struct workpool;

struct scheduler *scheduler_new(struct event_base *base,
	    struct queue_writer *writer, struct workpool *wp);
/* Takes references; rs becomes the scheduler's (freed when replaced and
 * idle, or with the scheduler). */
void	scheduler_set_config(struct scheduler *s, struct conf *conf,
	    struct directory *dir, struct resolver_set *rs);
/* Load the spool at start (blocking: before serving).  Returns the number
 * of messages queued. */
long	scheduler_load(struct scheduler *s);
/* A message was just committed: take ownership of env, attempt it now. */
void	scheduler_add(struct scheduler *s, struct queue_envelope *env);
/* Stop starting attempts; done(arg) once none is running. */
void	scheduler_shutdown(struct scheduler *s, void (*done)(void *),
	    void *arg);
void	scheduler_free(struct scheduler *s);

/* ---- the administrator's view (scheduler_ctl.c) ---- */

#define SCHEDULER_TRIES_MAX	32	/* delivery tries kept per message */

/* One delivery try: an SMTP transaction with one address, a next hop
 * that could not be resolved (address ""), or the Maildir store. */
struct scheduler_try {
	time_t	 time;
	char	*host;		/* MX or mailbox server name, "local" */
	char	*address;	/* "127.0.0.61:25", or "" */
	char	*profile;	/* resolver profile, or "" */
	char	*tls;		/* TLS outcome, or "" */
	char	*reply;		/* what it came to */
};

struct queue_state;

/* A read-only view, valid until control returns to the loop. */
struct scheduler_msg {
	const struct queue_envelope	*env;
	const struct queue_state	*qs;
	int				 held;
	int				 busy;	/* in an attempt right now */
	time_t				 next;	/* next attempt, or 0 */
	const struct scheduler_try	*tries;	/* oldest first */
	size_t				 ntries;
};

#define SCHEDULER_LATENCY_BUCKETS	10
/* Upper bounds (seconds) of the delivery latency buckets; +Inf follows. */
extern const unsigned scheduler_latency_bounds[SCHEDULER_LATENCY_BUCKETS];

struct scheduler_stats {
	uint64_t	delivered;	/* recipients, since start */
	uint64_t	bounced;	/* failed permanently or expired */
	uint64_t	deferred;	/* temporary failures (per try) */
	uint64_t	expired;
	uint64_t	attempts;	/* message attempts ended */
	uint64_t	queued;		/* messages in the queue now */
	uint64_t	held;
	time_t		oldest;		/* arrival of the oldest, 0: none */
	/* delivery latency (arrival to delivery), per recipient: counts per
	 * bucket (not cumulative), the last one +Inf */
	uint64_t	latency[SCHEDULER_LATENCY_BUCKETS + 1];
	uint64_t	latency_count;
	double		latency_sum;
};

/* The ids in the queue now, in queue order (*ids malloc'ed, n entries). */
size_t	scheduler_ids(struct scheduler *s, char (**ids)[QUEUE_ID_LEN + 1]);
/* 0, or -1 when the message is not in the queue (any more). */
int	scheduler_get(struct scheduler *s, const char *id,
	    struct scheduler_msg *out);
/* 0, or an errno value: ENOENT not queued, EBUSY (flush) held. */
int	scheduler_hold(struct scheduler *s, const char *id);
int	scheduler_release(struct scheduler *s, const char *id);
int	scheduler_flush(struct scheduler *s, const char *id);
/* Every message not held is attempted now; returns how many. */
size_t	scheduler_flush_all(struct scheduler *s);
/*
 * Delete a message and its state without any DSN.  0 if started (done
 * runs later, on the loop, with 0 or an errno value; after an attempt in
 * flight when there is one), or ENOENT / EALREADY.
 */
int	scheduler_remove(struct scheduler *s, const char *id,
	    void (*done)(void *arg, int error), void *arg);
void	scheduler_stats(struct scheduler *s, struct scheduler_stats *out);
/* The resolver profiles deliveries use now (for the metrics). */
struct resolver_set *scheduler_resolvers(struct scheduler *s);

#endif
