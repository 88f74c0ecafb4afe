/*
 * cluster_view — the gateway's side of `cluster` (SPEC section 9) that
 * needs both the scheduler and the store: the summary this node publishes
 * (cluster_view_fill, the fill callback of cluster_node.h), and the
 * answers of `posternctl cluster` and `cluster queue` read back from the
 * store (cluster_view_start, for control.c).
 *
 * The summary: the queue's counts from scheduler_stats; deferred
 * recipients (pending after at least one attempt) per destination domain
 * over the first CLUSTER_SCAN_MAX messages, the CLUSTER_DEST_MAX largest;
 * the first messages of the queue with their recipients (cluster_node.h
 * bounds the listing).
 */
#ifndef POSTERN_CLUSTER_VIEW_H
#define POSTERN_CLUSTER_VIEW_H

#include <stddef.h>

#define CLUSTER_SCAN_MAX	20000	/* messages counted per heartbeat */

struct cluster_summary;
struct cluster_view;
struct kv;
struct scheduler;

/* arg: the struct scheduler * (NULL until the spool is loaded). */
void	cluster_view_fill(struct cluster_summary *s, void *arg);

/* A record to send (CTL_REC_NODE, CTL_REC_NODE_MSG, CTL_REC_RCPT). */
typedef void (*cluster_view_rec_cb)(void *arg, unsigned type,
    const char *const *fields, size_t n);
/* The end: error NULL (then summary says what was listed) or why. */
typedef void (*cluster_view_done_cb)(void *arg, const char *error,
    const char *summary);

/* Ask the store for every live node's record (queue 0) or listing
 * (queue 1); rec for each, then done, from the loop. */
struct cluster_view *cluster_view_start(struct kv *kv, int queue,
	    cluster_view_rec_cb rec, cluster_view_done_cb done, void *arg);
/* Neither rec nor done is called after this. */
void	cluster_view_cancel(struct cluster_view *v);

#endif
