/*
 * scheduler — the queue manager: which message is attempted when.
 *
 * Holds every queued message in memory (envelope and per-recipient state,
 * never the body), one libevent timer each, so picking the next due
 * message costs a heap operation, not a scan.  An attempt is handed to
 * delivery.c; its outcome is persisted in the message's state log
 * (queue_state.c) before anything else depends on it; permanent failures
 * and expiry produce a DSN (bounce.c) queued like any message, which is
 * durable before the failure is recorded; a message leaves the spool only
 * when every recipient is settled.  Retries follow `queue retry`; `expire`
 * bounces what is left; `delay-warning` sends one delayed DSN.
 */
#ifndef POSTERN_SCHEDULER_H
#define POSTERN_SCHEDULER_H

struct conf;
struct directory;
struct event_base;
struct queue_envelope;
struct queue_writer;
struct resolver_set;
struct scheduler;
struct workpool;

struct scheduler *scheduler_new(struct event_base *base,
	    struct queue_writer *writer, struct workpool *wp);
/* Takes references; rs becomes the scheduler's (freed when replaced and
 * idle, or with the scheduler). */
void	scheduler_set_config(struct scheduler *s, struct conf *conf,
	    struct directory *dir, struct resolver_set *rs);
/* Load the spool at start (blocking: before serving).  Returns the number
 * of messages queued. */
long	scheduler_load(struct scheduler *s);
/* A message was just committed: take ownership of env, attempt it now. */
void	scheduler_add(struct scheduler *s, struct queue_envelope *env);
/* Stop starting attempts; done(arg) once none is running. */
void	scheduler_shutdown(struct scheduler *s, void (*done)(void *),
	    void *arg);
void	scheduler_free(struct scheduler *s);

#endif
