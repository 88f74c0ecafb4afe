/*
 * cluster — what posternd opens for a `cluster` block (SPEC section 9):
 * the shared store (kv.h) and this node's heartbeat (cluster_node.h),
 * from plain settings (this folder does not see the configuration).
 *
 * The password file is read by cluster_open: at start as root, before
 * privileges are dropped; on reload as the run user, and a file that user
 * may not read keeps the password read at start (as the directory's
 * password-file does).  One line, without its end; empty is an error.
 */
#ifndef POSTERN_CLUSTER_H
#define POSTERN_CLUSTER_H

#include <stddef.h>

#include "cluster_node.h"

#define CLUSTER_PASSWORD_MAX	512

struct cluster;
struct event_base;

struct cluster_params {
	const char	*redis;		/* "unix:PATH", "IP:PORT" */
	const char	*password_file;	/* or NULL */
	const char	*node;
	unsigned	 timeout_ms;
	const char	*where;		/* "FILE:LINE" of the block, for
					   messages */
};

/* NULL with "WHERE: why" in err (a bad address, an unreadable password
 * file); a store that does not answer is not an error. */
struct cluster *cluster_open(struct event_base *base,
	    const struct cluster_params *p, cluster_fill_cb fill, void *arg,
	    char *err, size_t errlen);
/* Stops the heartbeat and closes the store (pending requests are
 * cancelled: only once nothing waits on it). */
void	cluster_close(struct cluster *c);
/* Stops the heartbeat only: the store stays open for what still holds
 * it (a reload), and is closed by cluster_close. */
void	cluster_retire(struct cluster *c);
struct kv *cluster_kv(const struct cluster *c);
const char *cluster_name(const struct cluster *c);
const char *cluster_address(const struct cluster *c);

#endif
