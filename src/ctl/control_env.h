/*
 * control_env — what the control socket (control.c) and the metrics
 * endpoint (metrics.c) look at in the running daemon: the scheduler, the
 * server, the writer, the live configuration, directory, sender lists and
 * resolvers, and the reload lever.  posternd fills it and keeps it current
 * across reloads; both only read it.
 */
#ifndef POSTERN_CONTROL_ENV_H
#define POSTERN_CONTROL_ENV_H

struct conf;
struct kv;
struct directory;
struct queue_writer;
struct resolver_set;
struct scheduler;
struct senderlist_set;
struct smtp_server;

struct control_env {
	struct scheduler	*sched;
	struct smtp_server	*server;
	struct queue_writer	*writer;
	struct conf		*conf;		/* the running snapshot */
	struct directory	*dir;
	struct senderlist_set	*senders;	/* the server's, borrowed */
	struct resolver_set	*rs;		/* the live resolvers (trace's
						   DNSBL lookups), borrowed */
	struct kv		*kv;		/* `cluster`'s store, or NULL */
	/* Do what SIGHUP does: 0, or -1 with "FILE:LINE: message". */
	int			(*reload)(void *arg, char *err,
				    size_t errlen);
	void			*reload_arg;
};

#endif
