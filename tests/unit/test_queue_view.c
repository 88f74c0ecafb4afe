/*
 * test_queue_view — what the acceptance checks record about a message as
 * it leaves: the prepend, cut and hold records survive the envelope's
 * round trip, bad cuts are refused, and the message is read through its
 * cuts at every position and chunk size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "xmalloc.h"

static struct queue_envelope *
sample(void)
{
	struct queue_envelope *env = xcalloc(1, sizeof(*env));

	queue_id_new(env->id);
	env->received = 1700000000;
	env->vserver = xstrdup("internet");
	env->client_addr = xstrdup("192.0.2.1");
	env->helo = xstrdup("mx.example.org");
	env->sender = xstrdup("a@example.org");
	queue_envelope_add_rcpt(env, "kimy@winery-co.co", NULL, 0);
	env->size = 100;
	return env;
}

static void
t_roundtrip(void **state)
{
	struct queue_envelope *env = sample(), *back;
	char err[160], *enc;
	size_t len, envlen;

	(void)state;
	env->prepend = xstrdup("Authentication-Results: gw; spf=pass\r\n");
	env->hold = xstrdup("DMARC quarantine (example.org)");
	assert_int_equal(queue_envelope_add_cut(env, 40, 10, NULL), 0);
	assert_int_equal(queue_envelope_add_cut(env, 10, 5, NULL), 0);
	enc = queue_envelope_encode(env, &len);
	assert_non_null(enc);
	back = queue_envelope_decode(enc, len, &envlen, err, sizeof(err));
	assert_non_null(back);
	assert_string_equal(back->prepend, env->prepend);
	assert_string_equal(back->hold, env->hold);
	assert_int_equal(back->ncuts, 2);
	assert_int_equal(back->cuts[0].off, 10);
	assert_int_equal(back->cuts[1].len, 10);
	assert_int_equal(queue_envelope_out_size(back), 85);
	free(enc);
	queue_envelope_free(back);

	/* A cut past the message does not load. */
	env->size = 45;
	enc = queue_envelope_encode(env, &len);
	assert_null(queue_envelope_decode(enc, len, &envlen, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "cut"));
	free(enc);
	queue_envelope_free(env);
}

static void
t_bad_cuts(void **state)
{
	struct queue_envelope *env = sample();
	size_t i;

	(void)state;
	assert_int_equal(queue_envelope_add_cut(env, 10, 10, NULL), 0);
	assert_int_equal(queue_envelope_add_cut(env, 15, 2, NULL), -1);
	assert_int_equal(queue_envelope_add_cut(env, 5, 6, NULL), -1);
	assert_int_equal(queue_envelope_add_cut(env, 19, 1, NULL), -1);
	assert_int_equal(queue_envelope_add_cut(env, 20, 0, NULL), -1);
	assert_int_equal(queue_envelope_add_cut(env, 20, 1, NULL), 0);
	for (i = 2; i < QUEUE_CUTS_MAX; i++)
		assert_int_equal(queue_envelope_add_cut(env, 100 + 2 * i, 1, NULL),
		    0);
	assert_int_equal(queue_envelope_add_cut(env, 10000, 1, NULL), -1);
	queue_envelope_free(env);
}

static void
t_view(void **state)
{
	static const char stored[] = "Received: x\r\nX-Bad: 1\r\nSubject: s"
	    "\r\nX-Bad: 2\r\n\r\nbody\r\n";
	static const char want[] = "Received: x\r\nSubject: s\r\n\r\nbody"
	    "\r\n";
	struct queue_cut cuts[2] = { { 13, 10, NULL }, { 35, 10, NULL } };
	char path[] = "/tmp/test_queue_view.XXXXXX", out[128];
	struct queue_view v;
	size_t chunk, pos;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	assert_int_equal(write(fd, "ENV", 3), 3);
	assert_int_equal(write(fd, stored, sizeof(stored) - 1),
	    sizeof(stored) - 1);
	v.fd = fd;
	v.offset = 3;
	v.size = sizeof(stored) - 1;
	v.cuts = cuts;
	v.ncuts = 2;
	for (chunk = 1; chunk < sizeof(want); chunk++) {
		ssize_t n;

		memset(out, 0, sizeof(out));
		for (pos = 0; (n = queue_view_pread(&v, pos, out + pos,
		    chunk)) > 0; pos += (size_t)n)
			;
		assert_int_equal(n, 0);
		assert_int_equal(pos, sizeof(want) - 1);
		assert_string_equal(out, want);
	}
	close(fd);
}

/* Edits with text: an insertion, a replacement, a deletion; every
 * chunking of the view reads the same; the size and the envelope agree. */
static void
t_text_edits(void **state)
{
	static const char stored[] = "Received: x\r\nSubject: old\r\n"
	    "X-Bad: 1\r\n\r\nbody\r\n";
	static const char want[] = "Received: x\r\nSubject: new\r\n"
	    "X-Added: 1\r\nX-Two: 2\r\n\r\nbody\r\n";
	struct queue_envelope *env = sample(), *back;
	char path[] = "/tmp/test_queue_view.XXXXXX", out[160], err[160];
	struct queue_view v;
	size_t chunk, pos, len, envlen;
	char *enc;
	int fd;

	(void)state;
	env->size = sizeof(stored) - 1;
	/* Subject: replaced; X-Bad: cut and two fields added where the
	 * header section ends (before the empty line), the later one after
	 * the earlier one. */
	assert_int_equal(queue_envelope_add_cut(env, 13, 14,
	    "Subject: new\r\n"), 0);
	assert_int_equal(queue_envelope_add_cut(env, 37, 0,
	    "X-Added: 1\r\n"), 0);
	assert_int_equal(queue_envelope_add_cut(env, 37, 0, "X-Two: 2\r\n"),
	    0);
	assert_int_equal(queue_envelope_add_cut(env, 27, 10, NULL), 0);
	assert_int_equal(queue_envelope_add_cut(env, 30, 0, "x"), -1);
	assert_int_equal(queue_envelope_add_cut(env, 50, 0, NULL), -1);
	assert_int_equal(queue_envelope_out_size(env), sizeof(want) - 1);
	enc = queue_envelope_encode(env, &len);
	back = queue_envelope_decode(enc, len, &envlen, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(back->ncuts, 3);
	assert_string_equal(back->cuts[2].text, "X-Added: 1\r\nX-Two: 2\r\n");
	free(enc);

	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	assert_int_equal(write(fd, stored, sizeof(stored) - 1),
	    sizeof(stored) - 1);
	v.fd = fd;
	v.offset = 0;
	v.size = back->size;
	v.cuts = back->cuts;
	v.ncuts = back->ncuts;
	for (chunk = 1; chunk < sizeof(want); chunk++) {
		ssize_t n;

		memset(out, 0, sizeof(out));
		for (pos = 0; (n = queue_view_pread(&v, pos, out + pos,
		    chunk)) > 0; pos += (size_t)n)
			;
		assert_int_equal(n, 0);
		assert_string_equal(out, want);
	}
	close(fd);
	queue_envelope_free(back);
	queue_envelope_free(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_roundtrip),
		cmocka_unit_test(t_bad_cuts),
		cmocka_unit_test(t_view),
		cmocka_unit_test(t_text_edits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
