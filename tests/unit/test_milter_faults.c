/*
 * test_milter_faults — what a filter can do wrong, against the fake of
 * test_milter_fake.h: never answer (the timeout, and PROGRESS that starts
 * it again), close, send garbage, a zero or oversized length, a second
 * reply, a reply not allowed at that stage, modifications past their
 * bounds or not negotiated, a too long reply, stop reading (the output
 * stays bounded); a refused connect; free and abort with a reply in
 * flight.  Each is MILTER_FAILED with a reason (or the reply cut to its
 * bound), never a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_milter_fake.h"

static void
t_mod_limits(void **state)
{
	struct milter_conn *mc = conn(2000, 16);
	struct got g = { 0 };

	(void)state;
	F.actions = 0x1;	/* add headers only */
	STEP('E', 0, 0, "\0\0\0\x0c" "hX-Spam\0yes\0" "\0\0\0\x0c"
	    "hX-Spam\0yes\0" "\0\0\0\1c");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "over 16 octets"));
	milter_conn_free(mc);

	/* an action not negotiated */
	mc = conn(2000, 0);
	memset(F.script['E'], 0, sizeof(F.script['E']));
	STEP('E', 0, 0, "\0\0\0\x08" "+<n@ex>\0" "\0\0\0\1c");
	memset(&g, 0, sizeof(g));
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "not negotiated"));
	milter_conn_free(mc);
}

static void
t_progress_and_timeout(void **state)
{
	struct milter_conn *mc = conn(250, 0);
	struct got g = { 0 };

	(void)state;
	/* 600 ms of work, a progress every 150 ms: within the timeout */
	STEP('E', 0, 150, "\0\0\0\1p");
	STEP('E', 1, 300, "\0\0\0\1p");
	STEP('E', 2, 450, "\0\0\0\1p");
	STEP('E', 3, 600, "\0\0\0\1a");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	assert_true(g.a.elapsed_ms >= 550);
	/* silence: a failure after the timeout, and it stays failed */
	STEP('M', 0, 0, "");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "timeout after 250 ms"));
	assert_true(g.a.elapsed_ms >= 200 && g.a.elapsed_ms < 2000);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_true(g.a.local);
	milter_conn_free(mc);
}

static void
fail_case(const char *reply, size_t len, char close_on, const char *why)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	memset(F.script, 0, sizeof(F.script));
	F.close_on = close_on;
	F.script['M'][0].bytes = reply;
	F.script['M'][0].len = len;
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	if (strstr(g.a.reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", g.a.reason, why);
	milter_conn_free(mc);
	settle();
	F.close_on = 0;
}

static void
t_failures(void **state)
{
	struct milter_conn *mc;
	struct milter_conn_params p = { "none", "inet:127.0.0.1:1", 2000,
	    F.base, 0, 0 };
	struct got g = { 0 };

	(void)state;
	fail_case(B("\0\0\0\1Z"), 0, "malformed");
	fail_case(B("\x7f\xff\xff\xff" "y"), 0, "longer than the limit");
	fail_case(B("\0\0\0\0"), 0, "length 0");
	fail_case(B("\0\0\0\x05y250\0"), 0, "bad SMTP reply code");
	fail_case(B("\0\0\0\x0c" "hX-Spam\0yes\0"), 0, "in reply to mail");
	fail_case(B("\0\0\0\1" "4"), 0, "shuts down");
	fail_case(NULL, 0, 'M', "closed by the filter");
	/* a second reply: this answer stands, the connection is gone */
	mc = conn(2000, 0);
	STEP('M', 0, 0, "\0\0\0\1c" "\0\0\0\1c");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "data from the filter"));
	milter_conn_free(mc);
	memset(&g, 0, sizeof(g));
	/* refused */
	mc = milter_conn_new(&p);
	assert_non_null(mc);
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "connect to inet:127.0.0.1:1"));
	milter_conn_free(mc);
	/* a filter that wants an action we do not offer */
	F.actions = 0x200;
	mc = conn(2000, 0);
	memset(&g, 0, sizeof(g));
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "actions"));
	milter_conn_free(mc);
}

static void
t_free_and_abort_pending(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	STEP('E', 0, 0, "");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	settle();
	milter_conn_free(mc);		/* the callback never runs */
	settle();
	assert_false(g.done);

	mc = conn(2000, 0);
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	milter_conn_abort(mc);		/* a reply in flight: failed */
	settle();
	assert_false(g.done);
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	milter_conn_free(mc);
}

static void
t_long_reply(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };
	static char pkt[4 + 1 + 3000 + 1];
	size_t n = 0, i;

	(void)state;
	/* 30 lines of 98 octets: only whole lines are kept, the last one
	 * made final */
	n = 5;
	for (i = 0; i < 30; i++) {
		n += (size_t)snprintf(pkt + n, sizeof(pkt) - n, "550-5.7.1 %086u",
		    (unsigned)i);
		memcpy(pkt + n, i < 29 ? "\r\n" : "\0", i < 29 ? 2 : 1);
		n += i < 29 ? 2 : 1;
	}
	pkt[0] = 0;
	pkt[1] = 0;
	pkt[2] = (char)((n - 4) >> 8);
	pkt[3] = (char)(n - 4);
	pkt[4] = 'y';
	F.script['M'][0].bytes = pkt;
	F.script['M'][0].len = n;
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_REJECT);
	assert_true(strlen(g.a.reply) < MILTER_REPLY_TEXT_MAX);
	assert_int_equal(strlen(g.a.reply) % 98, 96);
	assert_memory_equal(g.a.reply + strlen(g.a.reply) - 96, "550 5.7.1 ",
	    10);
	assert_null(strstr(g.a.reply + strlen(g.a.reply) - 96, "\r"));
	milter_conn_free(mc);
}

static void
t_noreply_output_bounded(void **state)
{
	struct milter_conn *mc = conn(300, 0);
	struct got g = { 0 };
	static char chunk[MILTER_CHUNK_MAX];
	int i;

	(void)state;
	/* no reply to body chunks, and a filter that stops reading: the
	 * unsent output stays bounded, then the wait times out */
	F.protocol = 0x80000;
	memset(chunk, 'x', sizeof(chunk));
	do_connect(mc, &g, "h");
	bufferevent_disable(F.bev, EV_READ);
	for (i = 0; i < 2000; i++) {
		g.done = 0;
		milter_conn_body(mc, chunk, sizeof(chunk), on_answer, &g);
		wait_answer(&g);
		if (g.a.verdict != MILTER_CONTINUE)
			break;
	}
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "sending body"));
	milter_conn_free(mc);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_mod_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_progress_and_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_failures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_free_and_abort_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_long_reply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_noreply_output_bounded, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
