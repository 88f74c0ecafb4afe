/*
 * workpool — see workpool.h.  One mutex guards the two job lists; a
 * condition variable wakes the workers; one libevent event, activated from
 * the workers, drains finished jobs on the loop.  The count of pending
 * jobs (the bound of workpool_try_run()) goes up in workpool_run() and
 * down just before each done callback, so a job counts until its caller
 * has heard back.
 */
#include "workpool.h"
#include "log.h"
#include "xmalloc.h"

#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/queue.h>

struct job {
	STAILQ_ENTRY(job)	 entry;
	int			(*fn)(void *);
	void			(*done)(void *, int);
	void			*arg;
	int			 result;
};

STAILQ_HEAD(joblist, job);

struct workpool {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	struct joblist	 todo;
	struct joblist	 finished;
	pthread_t	*threads;
	int		 nthreads;
	int		 stopping;
	struct event	*ev;
	size_t		 pending;	/* run, done not yet called */
	size_t		 max;		/* for workpool_try_run(); 0: none */
};

static void *
worker_main(void *arg)
{
	struct workpool *wp = arg;
	struct job *j;

	pthread_mutex_lock(&wp->mtx);
	for (;;) {
		while (STAILQ_EMPTY(&wp->todo) && !wp->stopping)
			pthread_cond_wait(&wp->cond, &wp->mtx);
		if ((j = STAILQ_FIRST(&wp->todo)) == NULL)
			break;		/* stopping and nothing left */
		STAILQ_REMOVE_HEAD(&wp->todo, entry);
		pthread_mutex_unlock(&wp->mtx);
		j->result = j->fn(j->arg);
		pthread_mutex_lock(&wp->mtx);
		STAILQ_INSERT_TAIL(&wp->finished, j, entry);
		event_active(wp->ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&wp->mtx);
	return NULL;
}

static void
drain(struct workpool *wp)
{
	struct joblist done = STAILQ_HEAD_INITIALIZER(done);
	struct job *j;

	pthread_mutex_lock(&wp->mtx);
	STAILQ_CONCAT(&done, &wp->finished);
	pthread_mutex_unlock(&wp->mtx);
	while ((j = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, entry);
		__atomic_sub_fetch(&wp->pending, 1, __ATOMIC_RELAXED);
		j->done(j->arg, j->result);
		free(j);
	}
}

static void
finished_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain(arg);
}

struct workpool *
workpool_new(struct event_base *base, int threads)
{
	struct workpool *wp = xcalloc(1, sizeof(*wp));
	sigset_t all, old;

	pthread_mutex_init(&wp->mtx, NULL);
	pthread_cond_init(&wp->cond, NULL);
	STAILQ_INIT(&wp->todo);
	STAILQ_INIT(&wp->finished);
	wp->ev = event_new(base, -1, 0, finished_cb, wp);
	wp->threads = xcalloc((size_t)threads, sizeof(*wp->threads));
	/* Signals belong to the loop thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&wp->threads[i], NULL, worker_main, wp) != 0)
			fatalx("workpool: pthread_create failed");
		wp->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return wp;
}

void
workpool_run(struct workpool *wp, int (*fn)(void *), void (*done)(void *, int),
    void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->fn = fn;
	j->done = done;
	j->arg = arg;
	__atomic_add_fetch(&wp->pending, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&wp->mtx);
	STAILQ_INSERT_TAIL(&wp->todo, j, entry);
	pthread_cond_signal(&wp->cond);
	pthread_mutex_unlock(&wp->mtx);
}

int
workpool_try_run(struct workpool *wp, int (*fn)(void *),
    void (*done)(void *, int), void *arg)
{
	if (wp->max > 0 && workpool_pending(wp) >= wp->max)
		return -1;
	workpool_run(wp, fn, done, arg);
	return 0;
}

size_t
workpool_pending(const struct workpool *wp)
{
	return __atomic_load_n(&wp->pending, __ATOMIC_RELAXED);
}

struct workpool *
workpool_new_bounded(struct event_base *base, int threads, size_t max_jobs)
{
	struct workpool *wp = workpool_new(base, threads);

	wp->max = max_jobs;
	return wp;
}

void
workpool_free(struct workpool *wp)
{
	if (wp == NULL)
		return;
	pthread_mutex_lock(&wp->mtx);
	wp->stopping = 1;
	pthread_cond_broadcast(&wp->cond);
	pthread_mutex_unlock(&wp->mtx);
	for (int i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	drain(wp);
	event_free(wp->ev);
	pthread_mutex_destroy(&wp->mtx);
	pthread_cond_destroy(&wp->cond);
	free(wp->threads);
	free(wp);
}
