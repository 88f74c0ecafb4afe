/*
 * test_smtp_client_live — smtp_client.c against a fake SMTP server
 * (client_fixture.h); the failure cases are test_smtp_client_faults.c.
 *
 * The server lives in this process on 127.0.0.1 (its own libevent
 * listener on the client's event_base) and answers from a per-case script.
 * It records every byte it receives, so cases assert the exact transcript:
 * command order, which parameters were sent, pipelining (the server can
 * hold MAIL/RCPT replies until DATA arrives, which only a pipelining
 * client survives; without PIPELINING no command may arrive early) and
 * the dot-stuffed, canonical body.  Every case also checks each
 * recipient's outcome and that the callback ran exactly once, never
 * before smtp_client_start returned.
 */
#include "client_fixture.h"

static void
t_pipelined(void **state)
{
	struct script sc = { .greeting = "220-fake.test ESMTP\r\n220 more\r\n",
	    .hold = 1 };
	struct live L;

	(void)state;
	setup(&L, &sc, IN_BODY1);
	L.m.body_8bit = 1;
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nMAIL FROM:"
	    "<s@a.test> SIZE=58 BODY=8BITMIME\r\n" RCPTS "DATA\r\n" WIRE1
	    "QUIT\r\n");
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	assert_true(L.res.connected);
	assert_true(L.res.transaction);
	assert_string_equal(L.res.error, "");
	teardown(&L);
}

/* Without PIPELINING: one command, one reply; nothing arrives early. */
static void
t_no_pipelining(void **state)
{
	struct script sc = { .ehlo = EHLO_PLAIN };
	struct live L;

	(void)state;
	setup(&L, &sc, IN_BODY1);
	run(&L);
	assert_string_equal(L.f.rx.p, HEAD RCPTS "DATA\r\n" WIRE1 "QUIT\r\n");
	assert_int_equal(L.f.early, 0);
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

static void
t_rcpt_550(void **state)
{
	struct script sc = { .special = "<b@b.test>", .special_reply =
	    "550 5.1.1 <b@b.test>: Recipient address rejected\r\n" };
	struct live L;

	(void)state;
	setup(&L, &sc, IN_BODY1);
	run(&L);
	assert_rcpt(&L.r[0], RCPT_DELIVERED, QUEUED);
	assert_rcpt(&L.r[1], RCPT_FAILED,
	    "550 5.1.1 <b@b.test>: Recipient address rejected");
	assert_rcpt(&L.r[2], RCPT_DELIVERED, QUEUED);
	assert_string_equal(L.res.error, "");
	teardown(&L);
}

/* A settled recipient is not sent again; a 4xx one stays PENDING. */
static void
t_rcpt_452_prior(void **state)
{
	struct script sc = { .ehlo = EHLO_PLAIN, .special = "<b@b.test>",
	    .special_reply = "452 4.5.3 Too many recipients\r\n" };
	struct live L;

	(void)state;
	setup(&L, &sc, "x\r\n", 3);
	L.r[0].st = RCPT_FAILED;
	strcpy(L.r[0].reply, "550 earlier");
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nMAIL FROM:"
	    "<s@a.test> SIZE=3\r\nRCPT TO:<b@b.test>\r\nRCPT TO:<c@b.test>"
	    "\r\nDATA\r\nx\r\n.\r\nQUIT\r\n");
	assert_rcpt(&L.r[0], RCPT_FAILED, "550 earlier");
	assert_rcpt(&L.r[1], RCPT_PENDING,
	    "452 4.5.3 Too many recipients");
	assert_rcpt(&L.r[2], RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/* The per-message header lines go out before the message, canonicalized
 * (a bare LF becomes CRLF, a leading dot is stuffed). */
static void
t_prefix(void **state)
{
	struct script sc = { .ehlo = EHLO_PLAIN };
	struct live L;

	(void)state;
	setup(&L, &sc, "x\r\n", 3);
	L.m.prefix = "X-One: 1\r\nX-Two: 2\n.dot: 3\r\n";
	run(&L);
	assert_non_null(strstr(L.f.rx.p, " SIZE=31\r\n"));
	assert_non_null(strstr(L.f.rx.p, "DATA\r\nX-One: 1\r\nX-Two: 2\r\n"
	    "..dot: 3\r\nx\r\n.\r\n"));
	assert_rcpt(&L.r[0], RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

static void
t_helo_fallback(void **state)
{
	struct script sc = { .ehlo = "502 5.5.2 Error: command not "
	    "recognized\r\n" };
	struct live L;

	(void)state;
	setup(&L, &sc, "hi\n", 3);
	L.m.body_8bit = 1;
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nHELO client.test"
	    "\r\nMAIL FROM:<s@a.test>\r\n" RCPTS "DATA\r\nhi\r\n.\r\n"
	    "QUIT\r\n");
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/* (not offered: in the table) */
static void
t_smtputf8(void **state)
{
	struct script sc = { .ehlo = "250-fake.test\r\n250 SMTPUTF8\r\n" };
	struct live L;

	(void)state;
	setup(&L, &sc, "x", 1);
	L.m.smtputf8 = 1;
	L.n = 1;
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nMAIL FROM:"
	    "<s@a.test> SMTPUTF8\r\nRCPT TO:<a@b.test>\r\nDATA\r\nx\r\n.\r\n"
	    "QUIT\r\n");
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

static void
t_dsn(void **state)
{
	struct script sc = { .ehlo = "250-fake.test\r\n250-PIPELINING\r\n"
	    "250 DSN\r\n", .hold = 1 };
	struct live L;

	(void)state;
	setup(&L, &sc, "x\r\n", 3);
	L.m.ret = SMTP_RET_HDRS;
	L.m.envid = "ENV+2B1";
	L.r[0].notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY;
	L.r[0].orcpt = "rfc822;a@b.test";
	L.r[1].notify = SMTP_NOTIFY_NEVER;
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nMAIL FROM:"
	    "<s@a.test> RET=HDRS ENVID=ENV+2B1\r\n"
	    "RCPT TO:<a@b.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@b.test\r\n"
	    "RCPT TO:<b@b.test> NOTIFY=NEVER\r\nRCPT TO:<c@b.test>\r\n"
	    "DATA\r\nx\r\n.\r\nQUIT\r\n");
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/* A big message, streamed: the server gets exactly the canonical form. */
static void
t_big_message(void **state)
{
	struct script sc = { 0 };
	struct smtp_canon st = { 0, 0, 0 };
	struct live L;
	size_t len = 700 * 1024, i, n, head;
	unsigned seed = 7;
	char *body, *want;

	(void)state;
	body = malloc(len);
	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % 4096;
		body[i] = n < 8 ? "\r\n.\n\r.\n."[n] : (char)('a' + n % 26);
	}
	want = malloc(2 * len + 8);
	n = smtp_client_canon(&st, body, len, 1, want);
	setup(&L, &sc, body, len);
	run(&L);
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	head = strstr(L.f.rx.p, "DATA\r\n") + 6 - L.f.rx.p;
	assert_int_equal(L.f.rx.len, head + n + 3 + 6);
	assert_memory_equal(L.f.rx.p + head, want, n);
	assert_memory_equal(L.f.rx.p + head + n, ".\r\nQUIT\r\n", 9);
	teardown(&L);
	free(body);
	free(want);
}

/* The file holds less than msg->size: never send the final dot. */
static void
t_source_bind(void **state)
{
	struct script sc = { 0 };
	struct sockaddr_in src;
	struct live L;

	(void)state;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setup(&L, &sc, "x", 1);
	L.p.source = (struct sockaddr *)&src;
	L.p.sourcelen = sizeof(src);
	run(&L);
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/* Nothing sendable: no connection, a callback all the same. */
static void
t_bad_addresses(void **state)
{
	struct script sc = { 0 };
	struct live L;

	(void)state;
	setup(&L, &sc, "x", 1);
	L.r[0].addr = "a@b\r\nDATA";
	L.r[1].addr = "b\n@b";
	L.r[2].st = RCPT_DELIVERED;
	run(&L);
	assert_int_equal(L.f.conns, 0);
	assert_rcpt(&L.r[0], RCPT_FAILED,
	    "501 5.1.3 Bad recipient address syntax");
	assert_rcpt(&L.r[1], RCPT_FAILED, NULL);
	assert_rcpt(&L.r[2], RCPT_DELIVERED, "");
	teardown(&L);

	setup(&L, &sc, "x", 1);
	L.m.sender = "s@a\rb";
	run(&L);
	assert_int_equal(L.f.conns, 0);
	assert_all(&L, RCPT_FAILED, "501 5.1.7 Bad sender address syntax");
	teardown(&L);
}

static void
t_cancel(void **state)
{
	struct script sc = { .ehlo = SILENT };
	struct timeval grace = { 0, 100000 };
	struct live L;
	int i;

	(void)state;
	/* before anything happened */
	setup(&L, &sc, "x", 1);
	smtp_client_cancel(smtp_client_start(L.base, &L.p, &L.m, L.rp, L.n,
	    client_cb, &L));
	event_base_loopexit(L.base, &grace);
	event_base_dispatch(L.base);
	assert_int_equal(L.calls, 0);
	teardown(&L);

	/* with a failure already scheduled */
	setup(&L, &sc, "x", 1);
	L.m.sender = "\n";
	smtp_client_cancel(smtp_client_start(L.base, &L.p, &L.m, L.rp, L.n,
	    client_cb, &L));
	event_base_loopexit(L.base, &grace);
	event_base_dispatch(L.base);
	assert_int_equal(L.calls, 0);
	teardown(&L);

	/* in the middle of the conversation */
	setup(&L, &sc, "x", 1);
	L.c = smtp_client_start(L.base, &L.p, &L.m, L.rp, L.n, client_cb, &L);
	for (i = 0; i < 1000 && strstr(L.f.rx.p, "EHLO") == NULL; i++)
		event_base_loop(L.base, EVLOOP_ONCE);
	assert_non_null(strstr(L.f.rx.p, "EHLO"));
	smtp_client_cancel(L.c);
	for (i = 0; i < 1000 && !L.f.closed; i++)
		event_base_loop(L.base, EVLOOP_ONCE);
	assert_true(L.f.closed);
	assert_int_equal(L.calls, 0);
	teardown(&L);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_pipelined),
		cmocka_unit_test(t_no_pipelining),
		cmocka_unit_test(t_rcpt_550),
		cmocka_unit_test(t_rcpt_452_prior),
		cmocka_unit_test(t_prefix),
		cmocka_unit_test(t_helo_fallback),
		cmocka_unit_test(t_smtputf8),
		cmocka_unit_test(t_dsn),
		cmocka_unit_test(t_big_message),
		cmocka_unit_test(t_source_bind),
		cmocka_unit_test(t_bad_addresses),
		cmocka_unit_test(t_cancel),
	};

	/* the client writes to peers that hang up, as posternd does */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
