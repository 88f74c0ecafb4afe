/*
 * workpool — run blocking work (file writes, fsync, unlink) off the event
 * loop on a few threads, and get the result back on the loop.
 *
 * workpool_run() queues fn(arg) for a worker thread; when it returns, done
 * (arg, result) runs on the loop thread.  Jobs run in any order on up to
 * `threads` threads.  Requires evthread_use_pthreads() before the base is
 * created.  workpool_free() waits for queued jobs and runs their done
 * callbacks on the calling thread.
 *
 * A pool made with workpool_new_bounded() holds at most max_jobs jobs
 * between workpool_try_run() and their done callback; past that
 * workpool_try_run() refuses at once, so a flood of requests costs
 * nothing but the refusals (the AUTH verifier, src/smtpd/auth.c).
 * workpool_run() is for callers that bound their work themselves: it
 * always queues.  Loop-thread calls only, as workpool_run().
 */
#ifndef POSTERN_WORKPOOL_H
#define POSTERN_WORKPOOL_H

#include <stddef.h>

struct event_base;
struct workpool;

struct workpool *workpool_new(struct event_base *base, int threads);
struct workpool *workpool_new_bounded(struct event_base *base, int threads,
	    size_t max_jobs);
void	workpool_free(struct workpool *wp);
void	workpool_run(struct workpool *wp, int (*fn)(void *arg),
	    void (*done)(void *arg, int result), void *arg);
/* As workpool_run(), or -1 with nothing queued when the pool is full. */
int	workpool_try_run(struct workpool *wp, int (*fn)(void *arg),
	    void (*done)(void *arg, int result), void *arg);
/* Jobs queued, running or waiting for their done callback. */
size_t	workpool_pending(const struct workpool *wp);

#endif
