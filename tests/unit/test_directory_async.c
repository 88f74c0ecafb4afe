/*
 * test_directory_async — the directory's asynchronous state machine and
 * cancel, over fake backends that answer later, from a manual queue or a
 * libevent timer (directory_fixture.h).
 */
#include "directory_fixture.h"

/* ---- a fake backend that answers later ---- */

struct fake_entry {
	const char		*key;
	enum dir_status		 st;
	enum dir_entry_kind	 kind;
	const char		*host;
	const char		*members[4];
};

static const struct fake_entry fake_entries[] = {
	{ "ericm@winery-co.co", DIR_FOUND, DIR_ENTRY_MAILBOX, "mbx1", { 0 } },
	{ "kimy@winery-co.co", DIR_FOUND, DIR_ENTRY_MAILBOX, "mbx2", { 0 } },
	{ "@winery.local", DIR_FOUND, DIR_ENTRY_MAILBOX, "mbx3", { 0 } },
	{ "down@winery-co.co", DIR_TEMPFAIL, 0, NULL, { 0 } },
	{ "team@winery-co.co", DIR_FOUND, DIR_ENTRY_ALIAS, NULL,
	    { "ericm@winery-co.co", "Sub@Winery-Co.co", "x@example.org",
	    "ghost@winery-co.co" } },
	{ "sub@winery-co.co", DIR_FOUND, DIR_ENTRY_ALIAS, NULL,
	    { "kimy@winery-co.co", "team@winery-co.co", "any@winery.local" } },
	{ "mixed@winery-co.co", DIR_FOUND, DIR_ENTRY_ALIAS, NULL,
	    { "ericm@winery-co.co", "down@winery-co.co",
	    "kimy@winery-co.co" } },
};

struct fake_q {
	struct fake_q	*next;
	char		*key;
	dir_entry_cb	 cb;
	void		*arg;
};

static struct fake_q	*fake_head, **fake_tail = &fake_head;
static struct event_base *fake_base;	/* set: answer from a timer */
static int		 fake_lookups;

static void
fake_answer(struct fake_q *q)
{
	const struct fake_entry *fe = NULL;
	struct dir_entry e;
	size_t i, n;

	for (i = 0; i < sizeof(fake_entries) / sizeof(fake_entries[0]); i++)
		if (strcmp(fake_entries[i].key, q->key) == 0)
			fe = &fake_entries[i];
	if (fe == NULL)
		q->cb(q->arg, DIR_NOTFOUND, NULL);
	else if (fe->st != DIR_FOUND)
		q->cb(q->arg, fe->st, NULL);
	else {
		for (n = 0; n < 4 && fe->members[n] != NULL; n++)
			;
		memset(&e, 0, sizeof(e));
		e.kind = fe->kind;
		e.host = fe->host;
		e.members = fe->members;
		e.nmembers = n;
		q->cb(q->arg, DIR_FOUND, &e);
	}
	free(q->key);
	free(q);
}

static void
fake_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fake_answer(arg);
}

static int
fake_open(struct directory *d, const struct conf *c, char *err,
    size_t errlen)
{
	(void)d;
	(void)c;
	(void)err;
	(void)errlen;
	return 0;
}

static void
fake_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	struct fake_q *q = xcalloc(1, sizeof(*q));
	struct timeval tv = { 0, 1000 };

	(void)d;
	fake_lookups++;
	q->key = xstrdup(key);
	q->cb = cb;
	q->arg = arg;
	if (fake_base != NULL) {
		assert_int_equal(event_base_once(fake_base, -1, EV_TIMEOUT,
		    fake_timer, q, &tv), 0);
		return;
	}
	*fake_tail = q;
	fake_tail = &q->next;
}

static void
fake_close(struct directory *d)
{
	(void)d;
}

static const struct directory_backend fake_backend = {
	"fake", fake_open, fake_lookup, fake_close
};

/* Answer the oldest question; 0 if none was waiting. */
static int
fake_pump_one(void)
{
	struct fake_q *q = fake_head;

	if (q == NULL)
		return 0;
	if ((fake_head = q->next) == NULL)
		fake_tail = &fake_head;
	fake_answer(q);
	return 1;
}

static int
fake_pump(void)
{
	int n = 0;

	while (fake_pump_one())
		n++;
	return n;
}

static struct directory *
fake_open_dir(void)
{
	struct directory *d;
	struct conf *c = make_conf(DIR_NONE, NULL);
	char err[CONF_ERR_MAX];

	d = directory_open_backend(&fake_backend, c, err, sizeof(err));
	assert_non_null(d);
	free_conf(c);
	return d;
}

static void
test_async(void **state)
{
	struct dir_request *r;
	struct directory *d;
	struct got g = { 0, NULL };

	(void)state;
	d = fake_open_dir();

	r = directory_resolve(d, "ericm@winery-co.co", got_cb, &g);
	assert_non_null(r);
	assert_int_equal(g.calls, 0);
	assert_int_equal(fake_pump(), 1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res->status, DIR_FOUND);
	assert_string_equal(g.res->targets[0].host, "mbx1");

	/* team -> ericm, sub, x@example.org, ghost; sub -> kimy, team
	 * (a loop), any@winery.local (catch-all). */
	g.calls = 0;
	fake_lookups = 0;
	r = directory_resolve(d, "TEAM@winery-co.co", got_cb, &g);
	assert_non_null(r);
	assert_true(fake_pump() > 1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res->status, DIR_FOUND);
	assert_int_equal(g.res->ntargets, 4);
	assert_true(has_target(g.res, "ericm@winery-co.co", "mbx1"));
	assert_true(has_target(g.res, "kimy@winery-co.co", "mbx2"));
	assert_true(has_target(g.res, "x@example.org", NULL));
	assert_true(has_target(g.res, "any@winery.local", "mbx3"));
	/* team, ericm, sub, ghost, @winery-co.co for ghost, kimy,
	 * any, @winery.local for any. */
	assert_int_equal(fake_lookups, 8);

	/* One TEMPFAIL anywhere: TEMPFAIL, even with members found. */
	g.calls = 0;
	r = directory_resolve(d, "mixed@winery-co.co", got_cb, &g);
	assert_non_null(r);
	fake_pump();
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res->status, DIR_TEMPFAIL);
	assert_int_equal(g.res->ntargets, 0);
	assert_non_null(strstr(g.res->reason, "down@winery-co.co"));
	dir_result_free(g.res);
	g.res = NULL;

	/* The directory lives as long as a resolution needs it. */
	g.calls = 0;
	r = directory_resolve(d, "nobody@winery.org", got_cb, &g);
	assert_non_null(r);
	directory_unref(d);
	fake_pump();
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res->status, DIR_NOTFOUND);
	dir_result_free(g.res);
}

static void
test_cancel(void **state)
{
	struct dir_request *r;
	struct directory *d;
	struct got g = { 0, NULL };

	(void)state;
	d = fake_open_dir();

	/* Before any answer. */
	r = directory_resolve(d, "team@winery-co.co", got_cb, &g);
	assert_non_null(r);
	directory_cancel(r);
	fake_pump();
	assert_int_equal(g.calls, 0);

	/* Half way: answers in flight are drained, then freed (ASan). */
	r = directory_resolve(d, "team@winery-co.co", got_cb, &g);
	assert_non_null(r);
	assert_int_equal(fake_pump_one(), 1);
	assert_int_equal(fake_pump_one(), 1);
	directory_cancel(r);
	fake_pump();
	assert_int_equal(g.calls, 0);

	/* A cancelled request keeps the directory until it is done. */
	r = directory_resolve(d, "ericm@winery-co.co", got_cb, &g);
	directory_cancel(r);
	directory_unref(d);
	fake_pump();
	assert_int_equal(g.calls, 0);
	directory_cancel(NULL);
}

/* The same state machine, answered from libevent timers. */
static void
test_async_timer(void **state)
{
	struct dir_request *r, *r2;
	struct directory *d;
	struct got g = { 0, NULL }, g2 = { 0, NULL };

	(void)state;
	fake_base = event_base_new();
	assert_non_null(fake_base);
	d = fake_open_dir();
	r = directory_resolve(d, "team@winery-co.co", got_cb, &g);
	r2 = directory_resolve(d, "sub@winery-co.co", got_cb, &g2);
	assert_non_null(r);
	assert_non_null(r2);
	directory_cancel(r2);
	/* 1: no events left, every answer was delivered. */
	assert_int_equal(event_base_dispatch(fake_base), 1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g2.calls, 0);
	assert_int_equal(g.res->status, DIR_FOUND);
	assert_int_equal(g.res->ntargets, 4);
	dir_result_free(g.res);
	directory_unref(d);
	event_base_free(fake_base);
	fake_base = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_async_timer),
	};

	return cmocka_run_group_tests(tests, mk_tmpdir, rm_tmpdir);
}
