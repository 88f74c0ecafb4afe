/*
 * delivery_priv — what the parts of delivery share: delivery.c (jobs,
 * slots, the SMTP client and the Maildir store) and delivery_route.c
 * (each recipient's next hop, grouped into jobs).  Not for anyone else:
 * they go through delivery.h.
 */
#ifndef POSTERN_DELIVERY_PRIV_H
#define POSTERN_DELIVERY_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "delivery.h"
#include "queue_state.h"
#include "router.h"
#include "smtp_pool.h"

struct conf_connector;
struct resolver_query;
struct resolver_result;
struct smtp_client;
struct smtp_client_rcpt;

#define CONNECTORS_MAX	16	/* failover candidates per domain */

enum job_kind { JOB_LOCAL, JOB_MAILBOX, JOB_CONNECTOR };

struct attempt {
	struct delivery_ctx		 ctx;
	const struct queue_envelope	*env;
	int				 fd;
	uint64_t			 body_offset;
	struct delivery_result		*res;
	delivery_done_cb		 done;
	void				*arg;
	int				 routing;	/* routes not yet known
							   (+1 guard) */
	int				 pending;	/* jobs running (+1
							   guard) */
	struct djob			*jobs;
};

struct djob {
	struct attempt			*a;
	struct djob			*next;		/* in the attempt */
	struct djob			*wnext;		/* in the wait list */
	enum job_kind			 kind;
	char				 key[ROUTER_KEY_MAX];
	char				 host[ROUTER_KEY_MAX]; /* mailbox host
							   or domain */
	size_t				*idx;
	size_t				 n;
	const struct conf_connector	*conns[CONNECTORS_MAX];
	size_t				 nconns, ci, smi;
	struct resolver_result		*rr;
	size_t				 hi, ai;
	struct resolver_query		*q;
	struct smtp_client		*client;
	char				 pool_key[SMTP_POOL_KEY_MAX];
	struct smtp_client_rcpt		*cur;		/* this SMTP try */
	size_t				*curidx;
	size_t				 ncur;
	const char			*profile;	/* resolver in use */
	char				 last_error[512];
	int				 slot;
	int				*local_rc;	/* LOCAL: per rcpt */
	char				(*local_err)[256];
};

/* delivery.c */
/* Record a recipient's outcome (and log it). */
void	delivery_settle(struct attempt *a, size_t i, enum rcpt_state st,
	    const char *reply, const char *remote);
/* One route is known (or failed): the last one starts the jobs. */
void	delivery_routing_release(struct attempt *a);

/* delivery_route.c */
/* Route recipient i: a local domain asks the directory (asynchronously:
 * a->routing counts it until the answer), others go to the connectors
 * matching their domain. */
void	delivery_route(struct attempt *a, size_t i);

#endif
