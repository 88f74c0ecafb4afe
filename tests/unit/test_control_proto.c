/*
 * The control socket's frames (control_proto.c, STYLE 13): round trips,
 * the exact-length rules (truncated frames, bytes left over, fields
 * running past the end, wrong counts, NUL bytes), the size limits, the
 * version, and decoding frame by frame out of a stream.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"

static struct control_msg msg;

static void
test_round_trip(void **state)
{
	const char *f[] = { "internet", "203.0.113.9", "", "tls,",
	    "ericm@winery-co.co", "someone@example.net" };
	size_t len, used;
	unsigned char *b;

	(void)state;
	b = control_encode(CTL_REQ_TRACE, f, 6, &len);
	assert_non_null(b);
	assert_int_equal(len, 8 + 6 * 4 + strlen("internet") +
	    strlen("203.0.113.9") + 4 + strlen("ericm@winery-co.co") +
	    strlen("someone@example.net"));
	assert_int_equal(control_decode(b, len, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_OK);
	assert_int_equal(used, len);
	assert_int_equal(msg.version, CONTROL_VERSION);
	assert_int_equal(msg.type, CTL_REQ_TRACE);
	assert_int_equal(msg.nfields, 6);
	for (int i = 0; i < 6; i++)
		assert_true(control_field_eq(&msg.f[i], f[i]));
	{
		char *s = control_field_dup(&msg.f[4]);
		assert_string_equal(s, "ericm@winery-co.co");
		free(s);
	}
	free(b);
}

static void
test_truncated_frames_need_more(void **state)
{
	const char *f[] = { "8DospflYs0000JLYqQvN" };
	size_t len, used;
	unsigned char *b = control_encode(CTL_REQ_SHOW, f, 1, &len);

	(void)state;
	for (size_t n = 0; n < len; n++)
		assert_int_equal(control_decode(b, n, CONTROL_REQUEST_MAX,
		    &msg, &used), CONTROL_NEED_MORE);
	assert_int_equal(control_decode(b, len, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_OK);
	free(b);
}

static void
test_stream_of_frames(void **state)
{
	const char *a[] = { "hello" }, *s[] = { "n", "", "1" };
	unsigned char buf[256];
	size_t l1, l2, used, off = 0;
	unsigned char *b1 = control_encode(CTL_REC_STAT, s, 3, &l1);
	unsigned char *b2 = control_encode(CTL_REP_END, a, 1, &l2);

	(void)state;
	memcpy(buf, b1, l1);
	memcpy(buf + l1, b2, l2);
	assert_int_equal(control_decode(buf, l1 + l2, CONTROL_FRAME_MAX, &msg,
	    &used), CONTROL_OK);
	assert_int_equal(msg.type, CTL_REC_STAT);
	off += used;
	assert_int_equal(control_decode(buf + off, l1 + l2 - off,
	    CONTROL_FRAME_MAX, &msg, &used), CONTROL_OK);
	assert_int_equal(msg.type, CTL_REP_END);
	assert_true(control_field_eq(&msg.f[0], "hello"));
	assert_int_equal(off + used, l1 + l2);
	free(b1);
	free(b2);
}

/* A frame whose length word promises more than its fields hold, or less. */
static void
test_exact_length(void **state)
{
	const char *f[] = { "abc" };
	size_t len, used;
	unsigned char *b = control_encode(CTL_REQ_HOLD, f, 1, &len);
	unsigned char big[64];

	(void)state;
	/* One byte left over after the field. */
	memcpy(big, b, len);
	big[len] = 'x';
	big[3]++;
	assert_int_equal(control_decode(big, len + 1, CONTROL_REQUEST_MAX,
	    &msg, &used), CONTROL_MALFORMED);
	/* The field says 4 bytes where there are 3. */
	memcpy(big, b, len);
	big[11] = 4;
	assert_int_equal(control_decode(big, len, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_MALFORMED);
	/* A huge field length. */
	memcpy(big, b, len);
	big[8] = 0xff;
	assert_int_equal(control_decode(big, len, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_MALFORMED);
	/* A length word shorter than the header. */
	memcpy(big, "\0\0\0\2\1\1", 6);
	assert_int_equal(control_decode(big, 6, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_MALFORMED);
	free(b);
}

static void
test_counts_types_version(void **state)
{
	const char *f[] = { "a", "b" };
	size_t len, used;
	unsigned char *b;

	(void)state;
	/* show takes exactly one field */
	errno = 0;
	assert_null(control_encode(CTL_REQ_SHOW, f, 2, &len));
	assert_int_equal(errno, EINVAL);
	assert_null(control_encode(200, f, 0, &len));
	b = control_encode(CTL_REQ_SHOW, f, 1, &len);
	b[7] = 2;		/* claims two fields */
	assert_int_equal(control_decode(b, len, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_MALFORMED);
	b[7] = 1;
	b[5] = 99;		/* unknown type */
	assert_int_equal(control_decode(b, len, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_MALFORMED);
	b[5] = CTL_REQ_SHOW;
	b[4] = 2;		/* a later version */
	assert_int_equal(control_decode(b, len, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_BAD_VERSION);
	free(b);
	assert_true(control_type_valid(CTL_REQ_FLUSH, 0));
	assert_true(control_type_valid(CTL_REQ_FLUSH, 1));
	assert_false(control_type_valid(CTL_REQ_FLUSH, 2));
	assert_false(control_type_valid(CTL_REQ_TRACE, 3));
	assert_false(control_type_valid(0, 0));
}

static void
test_nul_in_field(void **state)
{
	const char *f[] = { "abc" };
	size_t len, used;
	unsigned char *b = control_encode(CTL_REQ_HOLD, f, 1, &len);

	(void)state;
	b[13] = '\0';
	assert_int_equal(control_decode(b, len, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_MALFORMED);
	free(b);
}

static void
test_limits(void **state)
{
	unsigned char hdr[8] = { 0, 1, 0, 1, CONTROL_VERSION, CTL_REQ_QUEUE,
	    0, 0 };
	char *huge = malloc(CONTROL_FIELD_MAX + 2);
	const char *f[1] = { huge };
	size_t len, used;

	(void)state;
	/* 65537 bytes announced: over the request limit, refused before
	 * anything more is read. */
	assert_int_equal(control_decode(hdr, 4, CONTROL_REQUEST_MAX, &msg,
	    &used), CONTROL_TOO_BIG);
	memset(huge, 'a', CONTROL_FIELD_MAX + 1);
	huge[CONTROL_FIELD_MAX + 1] = '\0';
	errno = 0;
	assert_null(control_encode(CTL_REP_ERROR, f, 1, &len));
	assert_int_equal(errno, E2BIG);
	free(huge);
	assert_string_equal(control_decode_error(CONTROL_TOO_BIG),
	    "message too large");
}

static void
test_field_names(void **state)
{
	size_t n;
	const char *const *names = control_field_names(CTL_REC_TRACE, &n);

	(void)state;
	assert_int_equal(n, CTL_TRACE_NFIELDS);
	assert_string_equal(names[0], "recipient");
	assert_string_equal(names[1], "accepted");
	assert_string_equal(names[4], "route");
	assert_string_equal(names[6], "next_hop");
	assert_string_equal(names[7], "dns");
	names = control_field_names(CTL_REC_FLOW, &n);
	assert_int_equal(n, CTL_FLOW_NFIELDS);
	assert_string_equal(names[4], "recipient");
	assert_null(control_field_names(CTL_REQ_QUEUE, &n));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_frames_need_more),
		cmocka_unit_test(test_stream_of_frames),
		cmocka_unit_test(test_exact_length),
		cmocka_unit_test(test_counts_types_version),
		cmocka_unit_test(test_nul_in_field),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_field_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
