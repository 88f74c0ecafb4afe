/*
 * test_queue_writer — the writer threads: group commit of many messages,
 * messages written as they arrive (into reused files longer than they
 * are), the failure paths, and queue_writer_free draining what is pending.
 */
#include "spool_fixture.h"

/* ---- the writer ---- */

struct wctx {
	struct event_base	*base;
	pthread_t		 loop;
	char			*spool;
	int			 expect;
	int			 done;
	struct msg		*msgs;
	struct queue_writer	*w;
	int			 stream;	/* odd messages in pieces */
};

struct msg {
	struct wctx	*c;
	int		 idx;
	int		 calls;
	int		 error;
	char		 id[QUEUE_ID_LEN + 1];
};

static char *
msg_body(int idx, size_t *len)
{
	size_t i, n = (size_t)(idx * 37) % 5000;
	char *b = xmalloc(n ? n : 1);

	for (i = 0; i < n; i++)
		b[i] = (i % 60 == 58) ? '\r' : (i % 60 == 59) ? '\n' :
		    (char)('a' + (i + (size_t)idx) % 26);
	*len = n;
	return b;
}

static void
check_on_disk(const char *spool, const char *id, int idx)
{
	struct queue_envelope *env;
	char err[256], *p, *want, *got;
	uint64_t off;
	size_t len;
	int fd;

	p = path_of(spool, "queue", id);
	env = queue_read_envelope(p, &off, err, sizeof(err));
	if (env == NULL)
		fail_msg("%s: %s", id, err);
	want = msg_body(idx, &len);
	assert_int_equal(env->size, len);
	got = xmalloc(len + 1);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, len, (off_t)off), (ssize_t)len);
	assert_memory_equal(got, want, len);
	close(fd);
	free(got);
	free(want);
	free(p);
	queue_envelope_free(env);
}

static void
commit_cb(void *arg, int error, struct queue_envelope *env)
{
	struct msg *m = arg;
	struct wctx *c = m->c;

	assert_true(pthread_equal(pthread_self(), c->loop));
	assert_string_equal(env->id, m->id);
	m->calls++;
	m->error = error;
	if (error == 0)
		check_on_disk(c->spool, env->id, m->idx);
	queue_envelope_free(env);
	if (++c->done == c->expect)
		event_base_loopbreak(c->base);
}

/* As a session does with a message larger than its buffer: pieces of
 * 700 bytes on the loop thread, then the last few as the tail. */
static void
commit_streamed(struct wctx *c, struct queue_envelope *env, char *body,
    size_t len, struct msg *m)
{
	struct queue_msg *qm = queue_msg_open(c->w, env->id);
	size_t off = 0, taillen = len % 300;
	char *tail;

	assert_non_null(qm);
	while (off < len - taillen) {
		size_t n = len - taillen - off < 700 ? len - taillen - off :
		    700;

		assert_int_equal(queue_msg_write(qm, body + off, n), 0);
		off += n;
	}
	assert_int_equal(queue_msg_size(qm), len - taillen);
	tail = taillen ? xmalloc(taillen) : NULL;
	if (taillen)
		memcpy(tail, body + off, taillen);
	free(body);
	queue_msg_commit(c->w, qm, env, tail, taillen, commit_cb, m);
}

static void
commit_all(evutil_socket_t fd, short what, void *arg)
{
	struct wctx *c = arg;
	struct queue_envelope *env;
	char rcpt[64], *body;
	size_t len;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < c->expect; i++) {
		snprintf(rcpt, sizeof(rcpt), "user%d@example.org", i);
		env = simple_env(rcpt);
		c->msgs[i].c = c;
		c->msgs[i].idx = i;
		memcpy(c->msgs[i].id, env->id, sizeof(env->id));
		body = msg_body(i, &len);
		if (c->stream && i % 2 == 1)
			commit_streamed(c, env, body, len, &c->msgs[i]);
		else
			queue_commit(c->w, env, body, len, commit_cb,
			    &c->msgs[i]);
	}
}

static void
watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fail_msg("writer callbacks did not all arrive");
}

static void
wctx_init(struct wctx *c, int n)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	c->spool = tmp_spool();
	assert_int_equal(queue_init(c->spool, err, sizeof(err)), 0);
	c->base = event_base_new();
	assert_non_null(c->base);
	c->loop = pthread_self();
	c->expect = n;
	c->msgs = xcalloc((size_t)n, sizeof(*c->msgs));
	c->w = queue_writer_new(c->base, c->spool);
	assert_non_null(c->w);
}

static void
wctx_run(struct wctx *c)
{
	struct timeval zero = { 0, 0 }, limit = { 60, 0 };
	struct event *wd;

	assert_int_equal(event_base_once(c->base, -1, EV_TIMEOUT, commit_all,
	    c, &zero), 0);
	wd = evtimer_new(c->base, watchdog, NULL);
	evtimer_add(wd, &limit);
	event_base_dispatch(c->base);
	event_free(wd);
}

static void
wctx_free(struct wctx *c)
{
	queue_writer_free(c->w);
	event_base_free(c->base);
	rm_rf(c->spool);
	free(c->spool);
	free(c->msgs);
}

static void
test_writer_many(void **state)
{
	struct queue_writer_stats st;
	struct scan_ctx sc = { 0, "" };
	struct wctx c;
	int i;

	(void)state;
	wctx_init(&c, 1000);
	wctx_run(&c);
	assert_int_equal(c.done, 1000);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(c.msgs[i].calls, 1);
		assert_int_equal(c.msgs[i].error, 0);
	}
	queue_writer_stats(c.w, &st);
	assert_int_equal(st.messages, 1000);
	assert_int_equal(st.failures, 0);
	/* 1000 commits in one loop turn cannot each get a batch. */
	assert_true(st.max_batch > 1);
	assert_true(st.batches < 1000);
	assert_int_equal(count_files(c.spool, "incoming"), 0);
	assert_int_equal(count_files(c.spool, "queue"), 1000);
	assert_int_equal(queue_scan(c.spool, scan_cb, &sc), 1000);
	assert_int_equal(count_files(c.spool, "corrupt"), 0);
	wctx_free(&c);
}

/*
 * Messages written as they arrive commit like whole ones, also into
 * reused files longer than they are (cut to length), and an abandoned one
 * leaves nothing behind.
 */
static void
test_writer_streamed(void **state)
{
	struct scan_ctx sc = { 0, "" };
	struct queue_msg *qm;
	struct wctx c;
	char id[QUEUE_ID_LEN + 1], *p, big[20000];
	int i;

	(void)state;
	wctx_init(&c, 200);
	c.stream = 1;
	/* Old, larger files in free/ for the writer to reuse. */
	memset(big, 'z', sizeof(big));
	for (i = 0; i < 40; i++) {
		queue_id_new(id);
		p = path_of(c.spool, "queue", id);
		write_file(p, big, sizeof(big));
		free(p);
		assert_int_equal(queue_recycle_put(c.spool, id), 0);
	}
	assert_int_equal(count_files(c.spool, "free"), 40);
	wctx_run(&c);
	assert_int_equal(c.done, 200);
	for (i = 0; i < 200; i++)
		assert_int_equal(c.msgs[i].error, 0);
	assert_true(count_files(c.spool, "free") < 40);
	assert_int_equal(count_files(c.spool, "incoming"), 0);
	assert_int_equal(queue_scan(c.spool, scan_cb, &sc), 200);
	assert_int_equal(count_files(c.spool, "corrupt"), 0);

	/* Abandoned half way: nothing in incoming/ or queue/. */
	queue_id_new(id);
	qm = queue_msg_open(c.w, id);
	assert_non_null(qm);
	assert_int_equal(queue_msg_write(qm, big, sizeof(big)), 0);
	assert_int_equal(count_files(c.spool, "incoming"), 1);
	queue_msg_abort(qm);
	assert_int_equal(count_files(c.spool, "incoming"), 0);
	assert_int_equal(count_files(c.spool, "queue"), 200);
	assert_null(queue_msg_open(c.w, "not/an/id"));
	wctx_free(&c);
}

/* queue_writer_free finishes what is pending, callbacks included, even if
 * the loop never ran. */
static void
test_writer_free_drains(void **state)
{
	struct wctx c;
	int i;

	(void)state;
	wctx_init(&c, 50);
	commit_all(-1, 0, &c);
	queue_writer_free(c.w);
	c.w = NULL;
	assert_int_equal(c.done, 50);
	for (i = 0; i < 50; i++) {
		assert_int_equal(c.msgs[i].calls, 1);
		assert_int_equal(c.msgs[i].error, 0);
	}
	assert_int_equal(count_files(c.spool, "queue"), 50);
	wctx_free(&c);
}

static void
test_writer_failures(void **state)
{
	struct queue_writer_stats st;
	struct stat sb;
	struct wctx c;
	char *p;

	(void)state;
	/* queue/ replaced by a file (chmod would not stop root). */
	wctx_init(&c, 3);
	p = xasprintf("%s/queue", c.spool);
	assert_int_equal(rmdir(p), 0);
	write_file(p, "", 0);
	wctx_run(&c);
	assert_int_equal(c.done, 3);
	assert_int_equal(c.msgs[0].calls, 1);
	assert_int_not_equal(c.msgs[0].error, 0);
	assert_int_not_equal(c.msgs[2].error, 0);
	assert_int_equal(count_files(c.spool, "incoming"), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_size, 0);
	queue_writer_stats(c.w, &st);
	assert_int_equal(st.failures, 3);
	free(p);
	wctx_free(&c);

	/* incoming/ gone: the file cannot even be created. */
	wctx_init(&c, 2);
	p = xasprintf("%s/incoming", c.spool);
	assert_int_equal(rmdir(p), 0);
	wctx_run(&c);
	assert_int_equal(c.msgs[0].error, ENOENT);
	assert_int_equal(c.msgs[1].error, ENOENT);
	assert_int_equal(count_files(c.spool, "queue"), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	wctx_free(&c);
}

/* An envelope that cannot be stored still gets its callback, once. */
static void
bad_env_cb(void *arg, int error, struct queue_envelope *env)
{
	int *got = arg;

	*got = error;
	queue_envelope_free(env);
}

static void
test_writer_bad_envelope(void **state)
{
	struct queue_envelope *env;
	struct wctx c;
	int got = -1;

	(void)state;
	wctx_init(&c, 0);
	env = simple_env("a@b");
	env->ret = 42;
	queue_commit(c.w, env, xstrdup("x"), 1, bad_env_cb, &got);
	queue_writer_free(c.w);
	c.w = NULL;
	assert_int_equal(got, EINVAL);
	assert_int_equal(count_files(c.spool, "incoming"), 0);
	assert_int_equal(count_files(c.spool, "queue"), 0);
	wctx_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_many),
		cmocka_unit_test(test_writer_streamed),
		cmocka_unit_test(test_writer_free_drains),
		cmocka_unit_test(test_writer_failures),
		cmocka_unit_test(test_writer_bad_envelope),
	};

	/* Before any event base: the writer wakes the loop from its thread. */
	evthread_use_pthreads();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
