/*
 * control — the daemon's side of the control socket (posternctl).
 *
 * A Unix stream socket (`control`, default SPOOL/control.sock), created
 * by root before privileges are dropped, mode 0660, owned by the run
 * user: the file's permissions are the only access control, and nothing
 * listens on the network for control.  Each connection carries one
 * request (control_proto.h) and its replies, then closes.  A request that
 * is oversized, malformed, of an unknown version or type gets an ERROR
 * reply and the connection is closed; nothing a client sends can reach
 * anything but that connection.  Connections are bounded in number, in
 * input size and in time.
 *
 * The queue listing is streamed: records are written while the socket
 * drains, never the whole listing at once.  trace and flow wait for the
 * directory asynchronously; remove waits for the spool.
 */
#ifndef POSTERN_CONTROL_H
#define POSTERN_CONTROL_H

#include <stddef.h>

#include "control_env.h"

struct conf;
struct control;
struct directory;
struct event_base;
struct queue_writer;
struct scheduler;
struct resolver_set;
struct senderlist_set;
struct smtp_server;

/* What the control socket and the metrics look at; owned by posternd,
 * which keeps the configuration fields current across reloads. */

/*
 * Create the socket at path (a stale socket there is replaced; any other
 * file is an error) and give it to `user` (NULL: keep the owner).  NULL
 * with err set on failure.
 */
struct control *control_new(struct event_base *base,
	    const struct control_env *env, const char *path, const char *user,
	    char *err, size_t errlen);
/* Start accepting (after privileges are dropped). */
void	control_start(struct control *ctl);
/* Close every connection and the socket, and unlink it. */
void	control_free(struct control *ctl);

#endif
