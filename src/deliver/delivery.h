/*
 * delivery — one delivery attempt of one queued message.
 *
 * For the recipients it is given, an attempt finds each one's next hop (a
 * mailbox server named by the directory, the gateway's own Maildir store,
 * or the connectors that match its domain, cheapest first), groups the
 * recipients by next hop, and runs one job per next hop: resolve the hop
 * with the resolver profile postern.conf(5) assigns, then try each address in turn
 * with the SMTP client until every recipient is settled; when every
 * address of a connector has failed, the next connector by cost is tried
 * in the same attempt.  The attempt reports, per recipient, delivered /
 * failed / still pending with the last reply; the scheduler persists that.
 *
 * Jobs wait in the queue of their destination (next hop): each
 * destination owns its backlog, its window of `per-destination`
 * connections and its retry state, and the global `concurrency` goes
 * round robin to the destinations that have work (delivery_dest.c,
 * docs/scheduler.md), so a destination whose connections hang holds its
 * window and nothing else.  SMTP connections that end a transaction
 * cleanly are kept in a pool shared the same way, so the next message to
 * the same address reuses them (docs/delivery.md).
 */
#ifndef POSTERN_DELIVERY_H
#define POSTERN_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "queue_state.h"

struct conf;
struct directory;
struct event_base;
struct queue_envelope;
struct resolver_set;
struct delivery_park;
struct smtp_client_rcpt;
struct smtp_pool;
struct strmap;
struct workpool;

/* The destination queues and the connection pool, shared by every
 * attempt of a scheduler (delivery_dest.c). */
struct delivery_limits {
	struct event_base *base;
	unsigned	 active;	/* jobs holding a connection slot */
	struct smtp_pool *pool;		/* idle kept connections; they count
					   towards `concurrency` too */
	struct strmap	*dests;		/* next-hop key -> delivery_dest */
	struct dest_ring *ring;		/* destinations with work and room
					   in their window, round robin */
	unsigned	 dispatching;	/* re-entry guard */
	int		 stopping;	/* no job starts any more */
};

/* One try of a job, for the attempt history (`posternctl show`). */
struct delivery_try {
	const char	*host;		/* host name, next hop or "local" */
	const char	*address;	/* "ip:port", or "" (no address) */
	const char	*profile;	/* resolver profile, or "" */
	const char	*tls;		/* TLS outcome, or "" */
	const char	*reply;		/* what came of it */
};

struct delivery_ctx {
	struct event_base	*base;
	struct conf		*conf;
	struct directory	*dir;
	struct resolver_set	*rs;
	struct workpool		*wp;
	struct delivery_limits	*limits;
	/* optional: called with the attempt's arg after each try */
	void			(*tried)(void *arg,
				    const struct delivery_try *t);
	/* optional: called once with the attempt's arg when every
	 * recipient is routed and waits at its destination (the attempt
	 * costs no work of its own from then on) */
	void			(*routed)(void *arg);
};

/*
 * parked: NULL, or the key of a destination whose backlog was full
 * (DEST_BACKLOG_MAX): the recipients bound there were not tried (still
 * pending, with no reply), and the caller parks the message there with
 * delivery_park() to be woken when the backlog has room.  Valid during the
 * call only.
 */
typedef void (*delivery_done_cb)(void *arg, struct smtp_client_rcpt *res,
	    const char *parked);

/*
 * Attempt the recipients whose st[] is RCPT_PENDING.  res is an array of
 * env->nrcpts recipient records (smtp_client.h) owned by the caller: the
 * attempt sets them up from env and st, then every layer settles them in
 * place (the outcome, the last reply, who answered); done runs once on
 * the loop, never before delivery_attempt() returns.  The context and
 * env must stay valid until then.  path is the queue file, the body is
 * its bytes [body_offset, body_offset + env->size); it is opened only
 * while a job of the attempt holds a connection slot (or writes to the
 * Maildir store), so messages waiting at a destination hold no file.
 */
void	delivery_attempt(const struct delivery_ctx *ctx,
	    const struct queue_envelope *env, const uint8_t *st,
	    const char *path, uint64_t body_offset,
	    struct smtp_client_rcpt *res, delivery_done_cb done, void *arg);

void	delivery_limits_init(struct delivery_limits *l,
	    struct event_base *base);
void	delivery_limits_free(struct delivery_limits *l);
/* Start no more jobs: those waiting at a destination end at once, their
 * recipients deferred (shutdown: what is in flight finishes). */
void	delivery_limits_stop(struct delivery_limits *l);
/*
 * Park a message at the destination key (a parked entry costs a few
 * bytes; a waiting job its route and records): wake(arg) runs, once, when
 * its backlog has room again or the destination falls idle.  NULL when
 * there is room now: go at once.  delivery_unpark() cancels (no wake).
 */
struct delivery_park *delivery_park(struct delivery_limits *l,
	    const char *key, void (*wake)(void *), void *arg);
void	delivery_unpark(struct delivery_park *p);
/* Forget every destination's retry state (an administrator's flush). */
void	delivery_limits_unthrottle(struct delivery_limits *l);

#endif
