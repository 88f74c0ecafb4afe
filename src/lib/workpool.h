/*
 * workpool — run blocking work (file writes, fsync, unlink) off the event
 * loop on a few threads, and get the result back on the loop.
 *
 * workpool_run() queues fn(arg) for a worker thread; when it returns, done
 * (arg, result) runs on the loop thread.  Jobs run in any order on up to
 * `threads` threads.  Requires evthread_use_pthreads() before the base is
 * created.  workpool_free() waits for queued jobs and runs their done
 * callbacks on the calling thread.
 */
#ifndef POSTERN_WORKPOOL_H
#define POSTERN_WORKPOOL_H

struct event_base;
struct workpool;

struct workpool *workpool_new(struct event_base *base, int threads);
void	workpool_free(struct workpool *wp);
void	workpool_run(struct workpool *wp, int (*fn)(void *arg),
	    void (*done)(void *arg, int result), void *arg);

#endif
