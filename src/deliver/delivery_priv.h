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
#include <sys/queue.h>

#include "delivery.h"
#include "queue_state.h"
#include "conf.h"
#include "router.h"
#include "smtp_pool.h"

struct conf_connector;
struct resolver_query;
struct resolver_result;
struct smtp_client;
struct smtp_client_rcpt;

#define CONNECTORS_MAX	16	/* failover candidates per domain */
#define DEST_BACKLOG_MAX 1000	/* jobs waiting at one destination; past
				   it the message is parked there (no try,
				   no record) until the backlog has room */
#define DEST_THROTTLE_MIN_MS	500	/* how long a failed destination */
#define DEST_THROTTLE_MAX_MS	60000	/* takes no new job (half the
					   first `retry` interval) */

enum job_kind { JOB_LOCAL, JOB_MAILBOX, JOB_CONNECTOR };

struct attempt {
	struct delivery_ctx		 ctx;
	const struct queue_envelope	*env;
	char				*path;		/* the queue file */
	int				 fd;		/* open while jobs */
	unsigned			 fd_users;	/* ... need it */
	uint64_t			 body_offset;
	char				*headers;	/* before the message
							   by SMTP, or NULL
							   (delivery_headers) */
	struct smtp_client_rcpt		*res;		/* the records */
	delivery_done_cb		 done;
	void				*arg;
	int				 routing;	/* routes not yet known
							   (+1 guard) */
	int				 pending;	/* jobs running (+1
							   guard) */
	struct djob			*jobs;
	struct strmap			*bykey;		/* key -> job, while
							   routing */
	char				 parked[ROUTER_KEY_MAX]; /* a job
							   found its backlog
							   full, or "" */
};

/*
 * One next hop of a job's route, in the order they are tried: a mailbox
 * server; or per matching connector, cheapest first, its MX lookup of the
 * domain or each of its smart hosts.  Worked out once, when the job is
 * made (delivery_route.c): the job only walks them.
 */
struct route_hop {
	const struct conf_connector	*cn;		/* NULL: mailbox server */
	char				 name[ROUTER_KEY_MAX]; /* to resolve */
	int				 port;
	int				 mx;		/* MX, then A/AAAA */
	int				 domain;	/* the recipients' own
							   domain: NXDOMAIN and
							   null MX bounce */
	const struct conf_dnslist	*dns;		/* resolver profile */
	enum conf_tls_policy		 tls;		/* never weaker than an
							   earlier connector's */
	const char			*tls_ca;
	const char			*helo;
	char				 label[ROUTER_KEY_MAX]; /* for the
							   history: as written */
	int				 bad;		/* unusable host in the
							   configuration */
};

struct djob {
	struct attempt			*a;
	struct djob			*next;		/* in the attempt */
	TAILQ_ENTRY(djob)		 dentry;	/* in dest->backlog */
	struct delivery_dest		*dest;		/* while waiting or
							   holding a slot */
	enum job_kind			 kind;
	char				 key[ROUTER_KEY_MAX];
	size_t				*idx;
	size_t				 n;
	struct route_hop		*hops;		/* the route */
	size_t				 nhops, hop;	/* ... and where */
	struct resolver_result		*rr;
	size_t				 hi, ai;
	struct resolver_query		*q;
	struct smtp_client		*client;
	char				 pool_key[SMTP_POOL_KEY_MAX];
	struct smtp_client_rcpt		**cur;		/* this SMTP try: */
	size_t				*curidx;	/* records of a->res */
	size_t				 ncur;
	const char			*profile;	/* resolver in use */
	char				 last_error[512];
	int				 slot;		/* holds one */
	int				 fd_held;
	int				 reached;	/* a try got as far as
							   a transaction */
	int				*local_rc;	/* LOCAL: per rcpt */
	char				(*local_err)[256];
};

/*
 * A destination: one next hop (a job key), with the jobs waiting for it
 * (FIFO), the slots its jobs hold (at most `per-destination`) and its
 * retry state: after a job that reached no peer (every address failed
 * before MAIL was accepted: hangs, refusals, 4xx greetings, DNS
 * failures) it is throttled for a moment: its backlog and new jobs are
 * deferred at once with its last error, without a connection.
 */
struct delivery_dest {
	struct delivery_limits		*l;
	char				 key[ROUTER_KEY_MAX];
	TAILQ_HEAD(, djob)		 backlog;
	size_t				 nbacklog;
	unsigned			 active;
	int				 in_ring;
	TAILQ_ENTRY(delivery_dest)	 rentry;
	int				 throttled;
	struct event			*timer;		/* ends the throttle */
	char				 last_error[512];
	TAILQ_HEAD(, delivery_park)	 parked;	/* messages waiting for
							   room, FIFO */
	size_t				 nparked;
};

struct delivery_park {
	TAILQ_ENTRY(delivery_park)	 link;
	struct delivery_dest		*d;
	void				(*wake)(void *);
	void				*arg;
};

TAILQ_HEAD(dest_ring, delivery_dest);

/* delivery.c */
/* A job got its slot: resolve its next hop and deliver. */
void	delivery_job_run(struct djob *j);
/* A job that never got a slot ends now, its pending recipients deferred
 * with reply. */
void	delivery_job_skip(struct djob *j, const char *reply);
/* A job whose destination's backlog is full ends now, untried: the
 * attempt reports that destination (delivery_done_cb's parked). */
void	delivery_job_park(struct djob *j);

/* delivery_dest.c */
/* Queue j at its destination; it runs when its window and the global
 * one have room (maybe at once). */
void	delivery_dest_enqueue(struct delivery_limits *l, struct djob *j);
/* j's slot ends; failed: it reached no peer (throttles the
 * destination), else the destination is fine.  Starts waiting jobs. */
void	delivery_dest_release(struct djob *j, int failed);

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
