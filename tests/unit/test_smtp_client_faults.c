/*
 * test_smtp_client_faults — smtp_client.c against a fake SMTP server
 * (client_fixture.h) that fails: refused and greylisted recipients, bad
 * greetings, 4xx and 5xx to DATA and the final dot, silence, a dropped
 * connection, a SIZE too small, a queue file shorter than its size, a
 * connection refused.
 */
#include "client_fixture.h"

/*
 * Cases that differ only in the script: every recipient ends the same way.
 * reply NULL: a PENDING recipient holds the attempt's error.  error NULL:
 * no error; else the error starts with it.
 */
struct live_case {
	const char	*name;
	struct script	 sc;
	const char	*rx;		/* what the server got */
	int		 result;
	const char	*reply;
	const char	*error;
	int		 transaction;
	unsigned	 timeout;	/* command and data timeouts, or 0 */
	int		 utf8;		/* message needs SMTPUTF8 */
};

#define PEND	RCPT_PENDING
#define FAILED	RCPT_FAILED

static const struct live_case live_cases[] = {
	/* pipelined, every RCPT refused: the 554 to DATA is expected */
	{ "all refused", { .rcpt = "550 5.1.1 unknown\r\n",
	    .data = "554 5.5.1 Error: no valid recipients\r\n" },
	    HEAD RCPTS "DATA\r\nQUIT\r\n", FAILED, "550 5.1.1 unknown", NULL,
	    1, 0, 0 },
	/* the same without PIPELINING: DATA is not even sent */
	{ "all greylisted", { .ehlo = EHLO_PLAIN,
	    .rcpt = "450 4.2.0 greylisted\r\n" },
	    HEAD RCPTS "QUIT\r\n", PEND, "450 4.2.0 greylisted", NULL,
	    1, 0, 0 },
	{ "greeting 421", { .greeting = "421 4.3.2 Service not available\r\n" },
	    "QUIT\r\n", PEND, NULL,
	    "greeting: 421 4.3.2 Service not available", 0, 0, 0 },
	{ "greeting garbage", { .greeting = "hello there\r\n" }, "", PEND, NULL,
	    "protocol error from peer (reply to greeting)", 0, 0, 0 },
	{ "DATA 451", { .data = "451 4.3.0 try later\r\n" },
	    HEAD RCPTS "DATA\r\nQUIT\r\n", PEND, "451 4.3.0 try later",
	    "DATA: 451 4.3.0 try later", 1, 0, 0 },
	{ "DATA 554", { .data = "554 5.7.1 go away\r\n" },
	    HEAD RCPTS "DATA\r\nQUIT\r\n", FAILED, "554 5.7.1 go away",
	    "DATA: 554", 1, 0, 0 },
	{ "dot 451", { .dot = "451 4.3.0 queue full\r\n" },
	    HEAD RCPTS "DATA\r\n" WIRE1 "QUIT\r\n", PEND,
	    "451 4.3.0 queue full", "end of data: 451 4.3.0 queue full",
	    1, 0, 0 },
	{ "dot 554", { .dot = "554-5.7.1 spam\r\n554 5.7.1 really\r\n" },
	    HEAD RCPTS "DATA\r\n" WIRE1 "QUIT\r\n", FAILED, "554 5.7.1 spam",
	    "end of data: 554 5.7.1 spam", 1, 0, 0 },
	{ "closed after data", { .dot = CLOSE },
	    HEAD RCPTS "DATA\r\n" WIRE1, PEND, NULL,
	    "connection lost during end of data", 1, 0, 0 },
	{ "silent greeting", { .greeting = SILENT }, "", PEND, NULL,
	    "timeout waiting for reply to greeting", 0, 1, 0 },
	{ "silent after data", { .dot = SILENT },
	    HEAD RCPTS "DATA\r\n" WIRE1, PEND, NULL,
	    "timeout waiting for reply to end of data", 1, 1, 0 },
	{ "small SIZE", { .ehlo = "250-fake.test\r\n250-PIPELINING\r\n"
	    "250 SIZE 10\r\n" }, "EHLO client.test\r\nQUIT\r\n", FAILED,
	    "552 5.3.4 Message size exceeds remote limit",
	    "message size 58 exceeds remote limit 10", 0, 0, 0 },
	{ "SMTPUTF8 not offered", { .ehlo = "250-fake.test\r\n250 DSN\r\n" },
	    "EHLO client.test\r\nQUIT\r\n", FAILED,
	    "553 5.6.7 SMTPUTF8 is required, but was not offered by the "
	    "remote host", "SMTPUTF8 required", 0, 0, 1 },
	/* MAIL refused in a pipelined group: the 503s after it are noise */
	{ "MAIL 550", { .mail = "550 5.7.1 sender blocked\r\n",
	    .rcpt = "503 5.5.1 need MAIL\r\n",
	    .data = "503 5.5.1 need RCPT\r\n" },
	    HEAD RCPTS "DATA\r\nQUIT\r\n", FAILED, "550 5.7.1 sender blocked",
	    "MAIL FROM: 550", 0, 0, 0 },
	{ "MAIL 451 plain", { .ehlo = EHLO_PLAIN,
	    .mail = "451 4.3.0 later\r\n" }, HEAD "QUIT\r\n", PEND,
	    "451 4.3.0 later", "MAIL FROM: 451 4.3.0 later", 0, 0, 0 },
	/* bytes after 354 would pass for the final reply: refuse them */
	{ "junk after 354", { .after_354 = "250 2.0.0 fake\r\n" },
	    HEAD RCPTS "DATA\r\n", PEND, NULL,
	    "protocol error from peer (unexpected data before message body)",
	    1, 0, 0 },
};

static void
t_table(void **state)
{
	const struct live_case *lc;
	struct live L;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(live_cases) / sizeof(live_cases[0]); i++) {
		lc = &live_cases[i];
		print_message("case: %s\n", lc->name);
		setup(&L, &lc->sc, IN_BODY1);
		L.m.smtputf8 = lc->utf8;
		if (lc->timeout)
			L.p.command_timeout = L.p.data_timeout = lc->timeout;
		run(&L);
		assert_string_equal(L.f.rx.p, lc->rx);
		for (k = 0; k < L.n; k++)
			assert_rcpt(&L.r[k], lc->result, lc->reply != NULL ?
			    lc->reply : L.res.error);
		if (lc->error == NULL)
			assert_string_equal(L.res.error, "");
		else if (!has_prefix(L.res.error, lc->error))
			fail_msg("error \"%s\", want \"%s...\"", L.res.error,
			    lc->error);
		assert_true(L.res.connected);
		assert_int_equal(L.res.transaction, lc->transaction);
		teardown(&L);
	}
}

/* EHLO refused: HELO, and then no ESMTP parameters at all. */
static void
t_short_file(void **state)
{
	struct script sc = { 0 };
	struct live L;

	(void)state;
	setup(&L, &sc, IN_BODY1);
	L.m.size += 1000;
	run(&L);
	assert_string_equal(L.res.error, "message file: shorter than its size");
	assert_all(&L, RCPT_PENDING, L.res.error);
	/* the message was never ended (the trailer's "." got stuffed) */
	assert_null(strstr(L.f.rx.p, "QUIT"));
	assert_null(strstr(L.f.rx.p, "\r\n.\r\n"));
	teardown(&L);
}

static void
t_refused(void **state)
{
	struct script sc = { 0 };
	struct live L;
	char want[128];

	(void)state;
	setup(&L, &sc, IN_BODY1);
	/* nobody listens on a closed listener's port */
	evconnlistener_free(L.f.lst);
	L.f.lst = NULL;
	run(&L);
	snprintf(want, sizeof(want), "connect to mx.fake.test[127.0.0.1]:%d: ",
	    ntohs(L.f.sin.sin_port));
	assert_true(has_prefix(L.res.error, want));
	assert_false(L.res.connected);
	assert_all(&L, RCPT_PENDING, L.res.error);
	teardown(&L);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_table),
		cmocka_unit_test(t_short_file),
		cmocka_unit_test(t_refused),
	};

	/* the client writes to peers that hang up, as posternd does */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
