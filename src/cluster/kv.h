/*
 * kv — what postern asks of the store that several gateways share
 * (`cluster`, SPEC section 9, docs/scale-out.md): a few named operations,
 * so that the engine behind them (Redis through hiredis today, kv_redis.c)
 * could be replaced without touching a caller.
 *
 * Every request is asynchronous on the caller's event loop and has a
 * deadline on our own timer (hiredis has none): the callback always comes,
 * exactly once, unless the request is cancelled first, with
 *   KV_OK       the store answered;
 *   KV_TIMEOUT  no answer within the `timeout` of the cluster block;
 *   KV_DOWN     not connected (the callback comes at once, from the loop,
 *               never from inside the call that asked);
 *   KV_ERROR    the store answered with an error or a reply of the wrong
 *               type or size.
 * Anything but KV_OK means "decide alone": the caller falls back to its
 * local state.  The store is reconnected in the background; an outage is
 * logged once when it starts and once when it ends, and counted
 * (kv_stats).
 *
 * Keys are the caller's, without the "postern:" namespace: kv prefixes it
 * to every key, and every write sets an expiry, so nothing is left behind
 * by a node that dies.
 */
#ifndef POSTERN_KV_H
#define POSTERN_KV_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct kv;
struct kv_req;

#define KV_KEY_MAX	512		/* bytes of a caller's key */
#define KV_VALUE_MAX	(64 * 1024)	/* bytes of a value read or written */
#define KV_LIST_MAX	64		/* values in a list answer */
/* The key of a node's heartbeat is KV_NODE_KEY_PREFIX + its name
 * (cluster_node.c writes it; kv_count_adjust reads it). */
#define KV_NODE_KEY_PREFIX "node:"

enum kv_status { KV_OK, KV_TIMEOUT, KV_DOWN, KV_ERROR };

struct kv_params {
	const char	*address;	/* "unix:/path", "IP:PORT", "[IPv6]:PORT" */
	const char	*password;	/* NULL: no AUTH */
	unsigned	 timeout_ms;	/* per request */
};

struct kv_stats {
	uint64_t	requests;
	uint64_t	timeouts;	/* KV_TIMEOUT answers */
	uint64_t	failures;	/* KV_DOWN and KV_ERROR answers */
	uint64_t	outages;	/* times the store went away */
	int		up;		/* connected now */
};

/* An integer answer; `value` is meaningful only with KV_OK. */
typedef void (*kv_int_cb)(enum kv_status st, long long value, void *arg);
/* A string answer: value NULL (and len 0) when the key does not exist;
 * meaningful only with KV_OK, and only during the call. */
typedef void (*kv_str_cb)(enum kv_status st, const char *value, size_t len,
    void *arg);

/* A list answer: n values (each len bytes, not NUL-terminated); meaningful
 * only with KV_OK, and only during the call. */
typedef void (*kv_list_cb)(enum kv_status st, const char *const *values,
    const size_t *lens, size_t n, void *arg);

/* NULL with a message in err when the parameters are wrong (the address
 * is not an IP or a Unix socket); a store that does not answer is not an
 * error: it is connected later. */
struct kv *kv_open(struct event_base *base, const struct kv_params *p,
	    char *err, size_t errlen);
/* Every pending request is cancelled (no callback).  Never from inside a
 * kv callback. */
void	kv_free(struct kv *kv);
void	kv_stats(const struct kv *kv, struct kv_stats *out);

/* Cancels a pending request: its callback is never called.  Callers
 * cancel what they wait for when they go away (a session that closes). */
void	kv_cancel(struct kv_req *req);

/* INCRBY key by, and EXPIRE key ttl when the key is new (one round trip):
 * the new value.  The counters of rate-limit and max-auth-failures. */
struct kv_req *kv_incr_expire(struct kv *kv, const char *key, long long by,
	    unsigned ttl_s, kv_int_cb cb, void *arg);
/* GET key. */
struct kv_req *kv_get(struct kv *kv, const char *key, kv_str_cb cb,
	    void *arg);
/* SET key value NX EX ttl: 1 if set, 0 if the key existed. */
struct kv_req *kv_set_nx_ex(struct kv *kv, const char *key,
	    const char *value, size_t len, unsigned ttl_s, kv_int_cb cb,
	    void *arg);
/* SET key value EX ttl: 1. */
struct kv_req *kv_set_ex(struct kv *kv, const char *key, const char *value,
	    size_t len, unsigned ttl_s, kv_int_cb cb, void *arg);

/*
 * One event in a sliding window shared by the nodes (rate-limit N/m): the
 * events of key in the last window_s seconds are counted (time is the
 * store's clock, so the nodes' clocks do not matter); if there are fewer
 * than `limit`, this one is counted too and the answer is the new count
 * (<= limit: allowed); else nothing is counted and the answer is limit + 1
 * (refused).  The key expires window_s after its last event.
 */
struct kv_req *kv_window_hit(struct kv *kv, const char *key, unsigned limit,
	    unsigned window_s, kv_int_cb cb, void *arg);

/*
 * How long ago was key first seen (greylisting): if key does not exist it
 * is set to the store's time now, with expiry ttl_s, and the answer is 0;
 * else the answer is the seconds since it was set, on the store's clock
 * (so the nodes' clocks do not matter).  The expiry is not renewed.
 */
struct kv_req *kv_first_seen(struct kv *kv, const char *key, unsigned ttl_s,
	    kv_int_cb cb, void *arg);

/*
 * A count shared by the nodes, each node's part kept apart so that it
 * goes away with the node: `member` (this node's name) adds `by` (+1 or
 * -1, never below 0) to its part of key, and the answer is the sum over
 * the nodes whose heartbeat (cluster_node.h) is alive.  The key
 * expires ttl_s after its last change.  max-connections-per-ip: +1 when a
 * connection is accepted, -1 when it closes.
 */
struct kv_req *kv_count_adjust(struct kv *kv, const char *key,
	    const char *member, long long by, unsigned ttl_s, kv_int_cb cb,
	    void *arg);

/*
 * Sets of names whose values expire (cluster_node.c: the live nodes).
 * kv_set_add: SADD set member and EXPIRE set ttl: 1 if member is new.
 * kv_set_values: for each member m of set, the value of key prefix+m; the
 * members whose key is gone are removed from the set; at most KV_LIST_MAX
 * values, in no particular order.
 */
struct kv_req *kv_set_add(struct kv *kv, const char *set, const char *member,
	    unsigned ttl_s, kv_int_cb cb, void *arg);
struct kv_req *kv_set_values(struct kv *kv, const char *set,
	    const char *prefix, kv_list_cb cb, void *arg);

#endif
