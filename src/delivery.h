/*
 * delivery — one delivery attempt of one queued message.
 *
 * For the recipients it is given, an attempt finds each one's next hop (a
 * mailbox server named by the directory, the gateway's own Maildir store,
 * or the connectors that match its domain, cheapest first), groups the
 * recipients by next hop, and runs one job per next hop: resolve the hop
 * with the resolver profile SPEC 3 assigns, then try each address in turn
 * with the SMTP client until every recipient is settled; when every
 * address of a connector has failed, the next connector by cost is tried
 * in the same attempt.  The attempt reports, per recipient, delivered /
 * failed / still pending with the last reply; the scheduler persists that.
 *
 * Jobs respect the queue's `concurrency` and `per-destination` limits
 * (struct delivery_limits, shared by all attempts of a scheduler).  SMTP
 * connections that end a transaction cleanly are kept in a pool shared
 * the same way, so the next message to the same address reuses them
 * (docs/delivery.md).
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
struct smtp_pool;
struct strmap;
struct workpool;

struct delivery_limits {
	unsigned	 active;	/* jobs holding a connection slot */
	struct smtp_pool *pool;		/* idle kept connections; they count
					   towards `concurrency` too */
	struct strmap	*per_dest;	/* next-hop key -> active count */
	struct djob	*wait_head;	/* jobs waiting for a slot (FIFO) */
	struct djob	*wait_tail;
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
};

struct delivery_result {
	enum rcpt_state	 st;
	char		 reply[512];	/* "550 5.1.1 ..." or our own text */
	char		 status[16];	/* enhanced status, "5.1.1" */
	char		 remote[300];	/* next hop that answered, "local"
					   for the Maildir store, or "" */
	int		 peer_dsn;	/* delivered to a peer that offered
					   DSN: it reports success, not us */
};

typedef void (*delivery_done_cb)(void *arg, struct delivery_result *res);

/*
 * Attempt the recipients whose st[] is RCPT_PENDING.  res is an array of
 * env->nrcpts results owned by the caller, filled in; done runs once on
 * the loop, never before delivery_attempt() returns.  The context and
 * env must stay valid until then; fd is the open queue file.
 */
void	delivery_attempt(const struct delivery_ctx *ctx,
	    const struct queue_envelope *env, const uint8_t *st, int fd,
	    uint64_t body_offset, struct delivery_result *res,
	    delivery_done_cb done, void *arg);

void	delivery_limits_init(struct delivery_limits *l);
void	delivery_limits_free(struct delivery_limits *l);

#endif
