/*
 * test_delivery_dest — the destination queues (delivery_dest.c): a
 * destination never holds more than its `per-destination` window, the
 * global `concurrency` goes round robin to the destinations with work, a
 * hanging destination's backlog costs the others nothing, a destination
 * that reached no peer is throttled (its backlog and new jobs deferred at
 * once) until a flush, and a stop ends every waiting job.
 *
 * The jobs are bare: this file stands in for delivery.c's
 * delivery_job_run() and delivery_job_skip(), recording who ran and who
 * was skipped.  No timer ever fires (the loop is never run).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "delivery.h"
#include "delivery_priv.h"
#include "xmalloc.h"

#define JOBS_MAX	64

static struct djob *ran[JOBS_MAX], *skipped[JOBS_MAX], *parked[JOBS_MAX];
static size_t nran, nskipped, nparked;
static int woken[JOBS_MAX];
static size_t nwoken;
static char skip_reply[512];

void
delivery_job_run(struct djob *j)
{
	assert_true(nran < JOBS_MAX);
	ran[nran++] = j;
}

void
delivery_job_skip(struct djob *j, const char *reply)
{
	assert_true(nskipped < JOBS_MAX);
	skipped[nskipped++] = j;
	snprintf(skip_reply, sizeof(skip_reply), "%s", reply);
}

void
delivery_job_park(struct djob *j)
{
	assert_true(nparked < JOBS_MAX);
	parked[nparked++] = j;
}

static void
wake(void *arg)
{
	assert_true(nwoken < JOBS_MAX);
	woken[nwoken++] = *(int *)arg;
}

struct fix {
	struct event_base	*base;
	struct conf		 conf;
	unsigned		 retry[1];
	struct attempt		 a;
	struct delivery_limits	 l;
	struct djob		*jobs[JOBS_MAX];
	size_t			 njobs;
};

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));

	f->base = event_base_new();
	f->retry[0] = 60;
	f->conf.queue.retry = f->retry;
	f->conf.queue.nretry = 1;
	f->conf.queue.concurrency = 200;
	f->conf.queue.per_destination = 2;
	f->a.ctx.conf = &f->conf;
	delivery_limits_init(&f->l, f->base);
	f->a.ctx.limits = &f->l;
	nran = nskipped = nparked = nwoken = 0;
	skip_reply[0] = '\0';
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	delivery_limits_free(&f->l);
	for (size_t i = 0; i < f->njobs; i++)
		free(f->jobs[i]);
	event_base_free(f->base);
	free(f);
	return 0;
}

static struct djob *
job(struct fix *f, const char *key)
{
	struct djob *j = xcalloc(1, sizeof(*j));

	j->a = &f->a;
	snprintf(j->key, sizeof(j->key), "%s", key);
	f->jobs[f->njobs++] = j;
	delivery_dest_enqueue(&f->l, j);
	return j;
}

static int
has_run(const struct djob *j)
{
	for (size_t i = 0; i < nran; i++)
		if (ran[i] == j)
			return 1;
	return 0;
}

/* Five jobs for a hanging next hop: two run (the window), three wait;
 * a job for another next hop runs at once all the same. */
static void
test_window(void **state)
{
	struct fix *f = *state;
	struct djob *t[5], *other;

	for (int i = 0; i < 5; i++)
		t[i] = job(f, "tarpit");
	assert_int_equal(nran, 2);
	assert_ptr_equal(ran[0], t[0]);
	assert_ptr_equal(ran[1], t[1]);
	other = job(f, "mailbox mbx1");
	assert_int_equal(nran, 3);
	assert_ptr_equal(ran[2], other);
	assert_int_equal(f->l.active, 3);

	/* One of the tarpit's ends (it answered): the next of its own
	 * backlog takes the slot, in order. */
	delivery_dest_release(t[0], 0);
	assert_int_equal(nran, 4);
	assert_ptr_equal(ran[3], t[2]);
	delivery_dest_release(other, 0);
	assert_int_equal(nran, 4);
	assert_int_equal(f->l.active, 2);
	assert_int_equal(nskipped, 0);
}

/* The global window is shared in turn among destinations with work. */
static void
test_round_robin(void **state)
{
	struct fix *f = *state;
	struct djob *a[4], *b[3];

	f->conf.queue.concurrency = 3;
	f->conf.queue.per_destination = 3;
	for (int i = 0; i < 4; i++)
		a[i] = job(f, "A");
	for (int i = 0; i < 3; i++)
		b[i] = job(f, "B");
	assert_int_equal(nran, 3);	/* a0 a1 a2: A got there first */
	delivery_dest_release(a[0], 0);
	assert_ptr_equal(ran[3], b[0]);	/* B's turn, not a3 */
	delivery_dest_release(a[1], 0);
	assert_ptr_equal(ran[4], a[3]);
	delivery_dest_release(a[2], 0);
	assert_ptr_equal(ran[5], b[1]);
	delivery_dest_release(b[0], 0);
	assert_ptr_equal(ran[6], b[2]);
	assert_int_equal(f->l.active, 3);
}

/* A job that reached no peer throttles its destination: the backlog is
 * deferred at once with its error, so is a new job, others are not
 * touched; a flush (unthrottle) lets the next job try again. */
static void
test_throttle(void **state)
{
	struct fix *f = *state;
	struct djob *t[4], *late, *other, *again;

	for (int i = 0; i < 4; i++)
		t[i] = job(f, "dead");
	other = job(f, "alive");
	assert_int_equal(nran, 3);
	snprintf(t[0]->last_error, sizeof(t[0]->last_error),
	    "451 4.4.1 timeout waiting for reply to greeting");
	delivery_dest_release(t[0], 1);
	assert_int_equal(nskipped, 2);
	assert_ptr_equal(skipped[0], t[2]);
	assert_ptr_equal(skipped[1], t[3]);
	assert_string_equal(skip_reply,
	    "451 4.4.1 timeout waiting for reply to greeting");
	assert_int_equal(nran, 3);		/* nothing new ran */
	late = job(f, "dead");
	assert_int_equal(nskipped, 3);
	assert_ptr_equal(skipped[2], late);
	assert_false(has_run(late));
	delivery_dest_release(other, 0);
	assert_int_equal(nskipped, 3);

	delivery_limits_unthrottle(&f->l);
	again = job(f, "dead");
	assert_true(has_run(again));
	delivery_dest_release(t[1], 0);
	delivery_dest_release(again, 0);
	assert_int_equal(f->l.active, 0);
}

/* A destination that answers again while throttled (a job started
 * before the throttle) is no longer throttled. */
static void
test_success_ends_throttle(void **state)
{
	struct fix *f = *state;
	struct djob *t0 = job(f, "flaky"), *t1 = job(f, "flaky"), *next;

	delivery_dest_release(t0, 1);
	delivery_dest_release(t1, 0);
	next = job(f, "flaky");
	assert_true(has_run(next));
	delivery_dest_release(next, 0);
}

/* Stopping ends every waiting job, in every destination, and starts no
 * other. */
static void
test_stop(void **state)
{
	struct fix *f = *state;
	struct djob *t[3], *u[3];

	f->conf.queue.concurrency = 2;
	f->conf.queue.per_destination = 1;
	for (int i = 0; i < 3; i++) {
		t[i] = job(f, "T");
		u[i] = job(f, "U");
	}
	assert_int_equal(nran, 2);
	delivery_limits_stop(&f->l);
	assert_int_equal(nskipped, 4);
	assert_string_equal(skip_reply,
	    "451 4.3.2 Delivery stopped (shutdown)");
	delivery_dest_release(t[0], 0);
	delivery_dest_release(u[0], 0);
	assert_int_equal(nran, 2);
	(void)job(f, "T");
	assert_int_equal(nskipped, 5);
	assert_int_equal(f->l.active, 0);
}

/*
 * A backlog has a limit: past it, a job is parked (its message waits
 * outside, cheaply), and parked messages come back one for each place
 * that frees up, then all of them when the destination falls idle.
 */
static void
test_backlog_limit_parks(void **state)
{
	struct fix *f = *state;
	struct djob *t, *w, *over;
	struct delivery_dest *d;
	struct delivery_park *p[3], *gone;
	static int ids[3] = { 1, 2, 3 };

	f->conf.queue.per_destination = 1;
	t = job(f, "full");
	w = job(f, "full");
	d = w->dest;
	assert_non_null(d);
	/* Pretend the backlog is full rather than queueing DEST_BACKLOG_MAX
	 * jobs. */
	d->nbacklog = DEST_BACKLOG_MAX;
	over = job(f, "full");
	assert_int_equal(nparked, 1);
	assert_ptr_equal(parked[0], over);
	assert_int_equal(nskipped, 0);
	for (int i = 0; i < 3; i++) {
		p[i] = delivery_park(&f->l, "full", wake, &ids[i]);
		assert_non_null(p[i]);
	}
	gone = delivery_park(&f->l, "full", wake, &ids[0]);
	delivery_unpark(gone);		/* cancelled: never woken */
	d->nbacklog = 1;

	/* t ends: w takes its slot, its place in the backlog wakes #1 */
	delivery_dest_release(t, 0);
	assert_ptr_equal(ran[1], w);
	assert_int_equal(nwoken, 1);
	assert_int_equal(woken[0], 1);
	/* w ends: the destination is idle, everyone parked comes back */
	delivery_dest_release(w, 0);
	assert_int_equal(nwoken, 3);
	assert_int_equal(woken[1], 2);
	assert_int_equal(woken[2], 3);
	/* room now: no parking */
	assert_null(delivery_park(&f->l, "full", wake, &ids[0]));
	assert_null(delivery_park(&f->l, "elsewhere", wake, &ids[0]));
	assert_int_equal(f->l.active, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_robin, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_throttle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_success_ends_throttle,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_limit_parks, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
