/*
 * test_workpool — the bound of a workpool (src/lib/workpool.c): jobs count
 * from workpool_run() until their done callback has run, a bounded pool's
 * workpool_try_run() refuses past max_jobs without queueing, and an
 * unbounded one never refuses.  Jobs wait on a gate the test opens, so
 * the counts are read while nothing can finish; no timing is asserted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <sys/time.h>

#include "workpool.h"

static pthread_mutex_t gate_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;

struct counts {
	int			 done;
	int			 want;
	struct event_base	*base;
};

static int
gated_job(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate_mtx);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_mtx);
	pthread_mutex_unlock(&gate_mtx);
	return 7;
}

static void
job_done(void *arg, int result)
{
	struct counts *c = arg;

	assert_int_equal(result, 7);
	if (++c->done == c->want)
		event_base_loopbreak(c->base);
}

static void
open_gate(int open)
{
	pthread_mutex_lock(&gate_mtx);
	gate_open = open;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_mtx);
}

static void
run_until_done(struct event_base *base)
{
	struct timeval stop = { 60, 0 };	/* a safety net, not a test */

	event_base_loopexit(base, &stop);
	event_base_dispatch(base);
}

static void
test_bounded(void **state)
{
	struct event_base *base;
	struct workpool *wp;
	struct counts c = { 0 };

	(void)state;
	evthread_use_pthreads();
	base = event_base_new();
	c.base = base;
	wp = workpool_new_bounded(base, 2, 5);
	open_gate(0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(workpool_try_run(wp, gated_job, job_done, &c),
		    0);
	assert_int_equal(workpool_pending(wp), 5);
	/* Full: refused, nothing queued, however many times. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(workpool_try_run(wp, gated_job, job_done, &c),
		    -1);
	assert_int_equal(workpool_pending(wp), 5);
	/* workpool_run() is the caller's own bound: it always queues. */
	workpool_run(wp, gated_job, job_done, &c);
	assert_int_equal(workpool_pending(wp), 6);
	c.want = 6;
	open_gate(1);
	run_until_done(base);
	assert_int_equal(c.done, 6);
	assert_int_equal(workpool_pending(wp), 0);
	/* Room again. */
	c.want = 7;
	assert_int_equal(workpool_try_run(wp, gated_job, job_done, &c), 0);
	run_until_done(base);
	assert_int_equal(c.done, 7);
	workpool_free(wp);
	event_base_free(base);
}

static void
test_unbounded_and_free(void **state)
{
	struct event_base *base;
	struct workpool *wp;
	struct counts c = { 0 };

	(void)state;
	evthread_use_pthreads();
	base = event_base_new();
	c.base = base;
	wp = workpool_new(base, 1);
	open_gate(0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(workpool_try_run(wp, gated_job, job_done, &c),
		    0);
	assert_int_equal(workpool_pending(wp), 100);
	/* Freeing waits for the jobs and runs their callbacks here. */
	open_gate(1);
	workpool_free(wp);
	assert_int_equal(c.done, 100);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_unbounded_and_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
