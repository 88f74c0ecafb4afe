/*
 * test_msg_header — the header section collector: fields and their
 * folding, the body's start, every chunking of the stream, and the bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "msg_header.h"

static const char msg[] =
    "Received: from a\r\n\tby b\r\n"
    "From: Kim <kimy@winery-co.co>\r\n"
    "Subject : hi\r\n"
    "\r\n"
    "body\r\n";

static void
check_fields(const struct msg_header *h)
{
	size_t len;
	const char *v;

	assert_true(h->done);
	assert_int_equal(h->nf, 3);
	assert_true(msg_field_is(h, 0, "received"));
	assert_true(msg_field_is(h, 1, "FROM"));
	assert_true(msg_field_is(h, 2, "subject"));
	v = msg_field_value(h, 0, &len);
	assert_int_equal(len, strlen(" from a\r\n\tby b"));
	assert_memory_equal(v, " from a\r\n\tby b", len);
	v = msg_field_raw(h, 1, &len);
	assert_memory_equal(v, "From: Kim <kimy@winery-co.co>\r\n", len);
	v = msg_field_value(h, 2, &len);
	assert_memory_equal(v, " hi", len);
	assert_int_equal(h->body_off, strstr(msg, "body") - msg);
	assert_int_equal(h->f[1].stream_off, strstr(msg, "From") - msg);
	assert_int_equal(msg_header_count(h, "from"), 1);
}

static void
t_whole(void **state)
{
	struct msg_header h;
	size_t n;

	(void)state;
	msg_header_init(&h);
	n = msg_header_feed(&h, msg, sizeof(msg) - 1);
	assert_int_equal(n, strstr(msg, "body") - msg);
	check_fields(&h);
	assert_int_equal(msg_header_feed(&h, "x", 1), 0);
	msg_header_free(&h);
}

static void
t_every_cut(void **state)
{
	size_t cut;

	(void)state;
	for (cut = 1; cut < sizeof(msg) - 1; cut++) {
		struct msg_header h;
		size_t a, b = 0;

		msg_header_init(&h);
		a = msg_header_feed(&h, msg, cut);
		if (a == cut)
			b = msg_header_feed(&h, msg + cut, sizeof(msg) - 1 - cut);
		assert_int_equal(a + b, strstr(msg, "body") - msg);
		check_fields(&h);
		msg_header_free(&h);
	}
}

static void
t_no_body(void **state)
{
	struct msg_header h;
	const char m[] = "From: a@b\r\nTo: c@d";

	(void)state;
	msg_header_init(&h);
	assert_int_equal(msg_header_feed(&h, m, sizeof(m) - 1), sizeof(m) - 1);
	assert_false(h.done);
	msg_header_end(&h);
	assert_true(h.done);
	assert_int_equal(h.nf, 2);
	assert_true(msg_field_is(&h, 1, "to"));
	msg_header_free(&h);
}

static void
t_bounds(void **state)
{
	struct msg_header h;
	char line[] = "X-A: 1\r\n";
	size_t i;

	(void)state;
	msg_header_init(&h);
	for (i = 0; i < MSG_HEADER_FIELDS_MAX + 10; i++)
		msg_header_feed(&h, line, sizeof(line) - 1);
	msg_header_feed(&h, "\r\nbody", 6);
	assert_true(h.done);
	assert_true(h.overflow);
	assert_int_equal(h.nf, MSG_HEADER_FIELDS_MAX);
	msg_header_free(&h);

	/* One huge field: cut by the byte bound, and then missing. */
	msg_header_init(&h);
	msg_header_feed(&h, "From: a@b\r\nX-Big: ", 18);
	for (i = 0; i < MSG_HEADER_MAX / 4; i++)
		msg_header_feed(&h, "xxxx", 4);
	msg_header_feed(&h, "\r\nTo: c@d\r\n\r\n", 13);
	assert_true(h.done);
	assert_true(h.overflow);
	assert_int_equal(h.nf, 1);
	assert_true(msg_field_is(&h, 0, "from"));
	assert_true(h.len <= MSG_HEADER_MAX);
	msg_header_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_whole),
		cmocka_unit_test(t_every_cut),
		cmocka_unit_test(t_no_body),
		cmocka_unit_test(t_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
