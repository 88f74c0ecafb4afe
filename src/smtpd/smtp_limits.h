/*
 * smtp_limits — the per-client limits that several gateways share
 * (`cluster`, SPEC section 9, docs/scale-out.md), each asked of the
 * shared store (kv.h) with the node's local answer as the fallback, and
 * the greylist of the node (greylist.h).
 *
 * One per event loop, owned by the server (smtp_server.c), borrowed by
 * its sessions and by posternctl trace.  Without a store (smtp_limits_
 * set_kv() never called, or with NULL) every function that asks returns
 * NULL: the caller decides with its local state, as on one node.  With a
 * store, the answer always comes later from the loop (never inside the
 * call), exactly once unless smtp_limits_cancel() comes first; when the
 * store does not answer KV_OK (timeout, down, error), the answer is the
 * local one the caller passed, so the node decides alone (fail open to
 * per-node limits).  Each limit is one round trip per connection or per
 * message; greylisting's two requests go out together (pipelined).
 *
 * Keys (kv adds "postern:"), every one scoped by virtual server and client
 * (netaddr_limit_key(): an IPv6 client is its /64), and expiring by itself:
 *   rl:VS:CLIENT        rate-limit, a 60 s window (kv_window_hit)
 *   conn:VS:CLIENT      max-connections-per-ip, each node's part apart
 *                       (kv_count_adjust), SMTP_LIMITS_CONN_TTL
 *   authfail:VS:CLIENT  max-auth-failures, an hour (kv_incr_expire)
 *   grey:VS:NET:HASH    a greylist triplet's first sighting (kv_first_seen)
 *   greyok:VS:NET[:HASH] the client (AUTO-ALLOW) or the triplet passed
 */
#ifndef POSTERN_SMTP_LIMITS_H
#define POSTERN_SMTP_LIMITS_H

#include <stdint.h>
#include <sys/socket.h>

#include "greylist.h"

struct conf_vserver;
struct kv;
struct smtp_limits;
struct smtp_limits_req;

#define SMTP_LIMITS_CONN_TTL	3600	/* a connection count outlives no
					   change by more (a node that dies
					   stops counting at once: its
					   heartbeat expires) */
#define SMTP_LIMITS_AUTH_TTL	3600	/* max-auth-failures: per hour */

/* The answer: 1 allowed / 0 refused (rate, connections), a count
 * (auth failures), an enum greylist_verdict (greylist). */
typedef void (*smtp_limits_cb)(void *arg, long long answer);

struct smtp_limits *smtp_limits_new(void);
void	smtp_limits_free(struct smtp_limits *lim);
/* The shared store (borrowed; NULL: none) and this node's name. */
void	smtp_limits_set_kv(struct smtp_limits *lim, struct kv *kv,
	    const char *node);
int	smtp_limits_shared(const struct smtp_limits *lim);
void	smtp_limits_cancel(struct smtp_limits_req *req);

/* rate-limit at MAIL: local_ok is the local table's answer (counted). */
struct smtp_limits_req *smtp_limits_rate(struct smtp_limits *lim,
	    const struct conf_vserver *vs, const struct sockaddr *client,
	    int local_ok, smtp_limits_cb cb, void *arg);

/* max-connections-per-ip: a connection was accepted (the local count
 * allowed it).  0 refuses it: its count was given back already. */
struct smtp_limits_req *smtp_limits_conn_open(struct smtp_limits *lim,
	    const struct conf_vserver *vs, const struct sockaddr *client,
	    smtp_limits_cb cb, void *arg);
/* A connection counted by smtp_limits_conn_open() closed (fire and
 * forget). */
void	smtp_limits_conn_close(struct smtp_limits *lim, const char *vsname,
	    const struct sockaddr *client);

/* max-auth-failures: the failures counted for the client, shared; the
 * answer is the larger of the shared count and local_n. */
struct smtp_limits_req *smtp_limits_auth_count(struct smtp_limits *lim,
	    const struct conf_vserver *vs, const struct sockaddr *client,
	    unsigned local_n, smtp_limits_cb cb, void *arg);
/* One failed AUTH (fire and forget). */
void	smtp_limits_auth_fail(struct smtp_limits *lim,
	    const struct conf_vserver *vs, const struct sockaddr *client);

/*
 * Greylisting of (client, sender, recipient) under the virtual server's
 * `greylist`: the node's table decides at once (*now), recording unless
 * `peek` (trace); with a store (and not peek) the store's answer comes
 * later instead, and NULL means *now is the answer.  lim NULL: as an
 * empty table (every triplet new), nothing recorded.
 */
struct smtp_limits_req *smtp_limits_greylist(struct smtp_limits *lim,
	    const struct conf_vserver *vs, const struct sockaddr *client,
	    const char *sender, const char *rcpt, int peek,
	    enum greylist_verdict *now, smtp_limits_cb cb, void *arg);

#endif
