/*
 * cluster_node — this gateway's heartbeat and queue summary in the shared
 * store, and the reading back of every node's (SPEC section 9,
 * `posternctl cluster`).
 *
 * Every CLUSTER_BEAT_S seconds (every second while the store does not
 * answer) the node asks its caller to fill a summary (fill callback: the
 * scheduler is in src/deliver, which this folder does not see) and writes
 * three keys, each expiring after CLUSTER_TTL_S, so a node that dies
 * leaves nothing behind:
 *
 *   node:NAME    its record (JSON): name, up since, last seen, the queue
 *                (messages, held, oldest arrival, deferred recipients per
 *                destination, at most CLUSTER_DEST_MAX destinations);
 *   nodeq:NAME   its queue listing (JSON): the first messages, each with
 *                id, arrival, size, sender and recipients with their
 *                state, bounded: at most CLUSTER_QMSG_MAX messages,
 *                CLUSTER_QRCPT_MAX recipients each, and the whole under
 *                KV_VALUE_MAX (64 KiB): what does not fit is counted
 *                ("total", "truncated"), not listed;
 *   nodes        the set of node names (kv_set_values drops a name whose
 *                record has expired).
 *
 * The parsers of what is read back are pure functions over a buffer (the
 * store is another program: every field is checked and bounded), fuzzed
 * by tests/fuzz/fuzz_cluster_node.c.
 */
#ifndef POSTERN_CLUSTER_NODE_H
#define POSTERN_CLUSTER_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

#define CLUSTER_BEAT_S		5
#define CLUSTER_TTL_S		(3 * CLUSTER_BEAT_S)
#define CLUSTER_NAME_MAX	255	/* a node's name */
#define CLUSTER_DEST_MAX	16	/* destinations in a record */
#define CLUSTER_DEST_LEN	255	/* a destination (a domain) */
#define CLUSTER_QMSG_MAX	1000	/* messages in a queue listing */
#define CLUSTER_QRCPT_MAX	8	/* recipients listed per message */
#define CLUSTER_ID_LEN		64
#define CLUSTER_ADDR_LEN	320	/* an address, as queued */
#define CLUSTER_STATE_LEN	15

#define CLUSTER_SET		"nodes"
#define CLUSTER_QUEUE_PREFIX	"nodeq:"

struct event_base;
struct cluster_node;
struct cluster_summary;

/* ---- what a node publishes, read back ---- */

struct cluster_dest {
	char		name[CLUSTER_DEST_LEN + 1];
	uint64_t	deferred;	/* recipients waiting for a retry */
};

struct cluster_node_rec {
	char		name[CLUSTER_NAME_MAX + 1];
	int64_t		up_since;	/* seconds since the epoch */
	int64_t		last_seen;
	uint64_t	messages;
	uint64_t	held;
	int64_t		oldest;		/* arrival of the oldest, 0: none */
	struct cluster_dest dests[CLUSTER_DEST_MAX];
	size_t		ndests;
};

struct cluster_qrcpt {
	char		address[CLUSTER_ADDR_LEN + 1];
	char		state[CLUSTER_STATE_LEN + 1];
};

struct cluster_qmsg {
	char		id[CLUSTER_ID_LEN + 1];
	int64_t		arrival;
	uint64_t	size;
	char		sender[CLUSTER_ADDR_LEN + 1];
	struct cluster_qrcpt rcpts[CLUSTER_QRCPT_MAX];
	size_t		nrcpts;		/* listed */
	uint64_t	total_rcpts;	/* in the message */
};

/* A node record: 0, or -1 when it is not one (wrong JSON, type, bound). */
int	cluster_node_parse(const char *json, size_t len,
	    struct cluster_node_rec *out);
/*
 * A queue listing: the node's name into node (CLUSTER_NAME_MAX + 1), each
 * message to each() in order (each NULL: none), and the number of messages in the queue
 * (listed or not) into *total.  0, or -1 when it is not a listing (each()
 * may have been called for the messages before the fault).
 */
int	cluster_queue_parse(const char *json, size_t len, char *node,
	    uint64_t *total, void (*each)(const struct cluster_qmsg *, void *),
	    void *arg);

/* ---- this node ---- */

/* What the fill callback gives, through these: */
void	cluster_summary_queue(struct cluster_summary *s, uint64_t messages,
	    uint64_t held, int64_t oldest);
/* Kept while there is room (CLUSTER_DEST_MAX). */
void	cluster_summary_deferred(struct cluster_summary *s, const char *dest,
	    uint64_t n);
/* A message of the listing, then its recipients: 0, or -1 when the
 * listing is full (stop giving messages then). */
int	cluster_summary_msg(struct cluster_summary *s, const char *id,
	    int64_t arrival, uint64_t size, const char *sender,
	    uint64_t nrcpts);
void	cluster_summary_rcpt(struct cluster_summary *s, const char *address,
	    const char *state);

typedef void (*cluster_fill_cb)(struct cluster_summary *s, void *arg);

/* Starts the heartbeat now (the first beat from the loop). kv is borrowed
 * and must outlive the node. */
struct cluster_node *cluster_node_new(struct event_base *base, struct kv *kv,
	    const char *name, cluster_fill_cb fill, void *arg);
void	cluster_node_free(struct cluster_node *n);

/* The summary this node would publish now, as JSON (node record, queue
 * listing; malloc'ed; for tests). */
void	cluster_node_render(const char *name, int64_t up_since,
	    cluster_fill_cb fill, void *arg, char **rec, char **queue);

#endif
