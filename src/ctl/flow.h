/*
 * flow — the canonical mail-flow table of README.md and docs/deployment.md, computed from the
 * live configuration (`posternctl flow`).
 *
 * For every virtual server, one trace (trace.c: the same policy, directory
 * and router calls as a live session) per canonical flow: Internet to
 * Internet, Internet to a local user, Internet to an unknown local user,
 * intranet to a local user, intranet to the Internet, a blocked sender, a
 * blocked client.  The sample addresses are chosen from the configuration:
 * an "Internet" client is a documentation address that no virtual server
 * relays for and no filter blocks; an "intranet" client is the first
 * address of a `relay allow` block; the blocked sender and client are the
 * first entries of the server's filter; the local user is `postmaster` of
 * the first local domain unless the request names one.  A flow a server
 * cannot show (no filter entry, no local domain) gets a row saying so.
 * Runs on the loop thread.
 */
#ifndef POSTERN_FLOW_H
#define POSTERN_FLOW_H

#include <stddef.h>

#include "trace.h"

struct conf;
struct directory;
struct senderlist_set;
struct flow;

struct flow_row {
	char			*vserver;
	const char		*flow;		/* "Internet -> Internet"... */
	char			*client;	/* or NULL: not applicable */
	char			*sender;
	struct trace_result	 r;		/* r.reply NULL: not
						   applicable, r.note says
						   why */
};

typedef void (*flow_cb)(void *arg, struct flow_row *rows, size_t n);

/*
 * Compute the table.  user and unknown (may be NULL) are the local
 * recipients to use.  The callback may run before flow_start() returns
 * (then NULL is returned); it owns the rows (flow_rows_free).
 */
struct flow *flow_start(struct conf *conf, struct directory *dir,
	    const struct senderlist_set *senders, const char *user,
	    const char *unknown, flow_cb cb, void *arg);
void	flow_cancel(struct flow *f);
void	flow_rows_free(struct flow_row *rows, size_t n);

#endif
