/*
 * test_bounce — the DSN composer: the structure of failed, delayed and
 * success reports (parsed back here: headers, boundary, the three parts, the
 * per-recipient blocks), what is returned (RET, size), the output limit,
 * and the null-sender rule; hostile text and canonical output are
 * test_bounce_text.c.  When /usr/bin/python3 exists the
 * result is also read by Python's email parser.
 */
#include "bounce_fixture.h"

/* ---- tests ---- */

static void
test_failed_structure(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_NONE, "QQ+2B314");
	struct bounce_rcpt r[2] = {
		{ "bob@winery-co.co", "rfc822;Bob+2Bx@winery-co.co", "5.1.1",
		    "550 5.1.1 <bob@winery-co.co>: user unknown",
		    "mx.winery-co.co", NULL },
		{ "kim@example.net", NULL, "5.4.7", NULL, NULL, NULL },
	};
	struct parsed ps;
	size_t len;
	char *m, *v;

	(void)state;
	m = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), r, 2,
	    &len);
	assert_canonical(m, len);

	v = header(m, "From");
	assert_string_equal(v,
	    "Mail Delivery System <MAILER-DAEMON@gw.example>");
	free(v);
	v = header(m, "To");
	assert_string_equal(v, "<alice@example.org>");
	free(v);
	v = header(m, "Subject");
	assert_string_equal(v, "Undelivered Mail Returned to Sender");
	free(v);
	v = header(m, "Date");
	assert_string_equal(v, "Tue, 14 Nov 2023 22:13:20 +0000");
	free(v);
	v = header(m, "Auto-Submitted");
	assert_string_equal(v, "auto-replied");
	free(v);
	v = header(m, "MIME-Version");
	assert_string_equal(v, "1.0");
	free(v);
	v = header(m, "Message-ID");
	assert_true(v[0] == '<' && strstr(v, "@gw.example>") != NULL);
	free(v);
	assert_null(strstr(m, "Content-Transfer-Encoding"));

	parse(m, len, &ps);
	assert_string_equal(ps.type[0], "text/plain");
	assert_string_equal(ps.type[1], "message/delivery-status");
	assert_string_equal(ps.type[2], "message/rfc822");
	assert_non_null(strstr(m, "Content-Type: multipart/report; "
	    "report-type=delivery-status; boundary=\""));

	/* The human part names each recipient and its reason. */
	assert_non_null(strstr(ps.content[0], "gw.example"));
	assert_non_null(strstr(ps.content[0], "<bob@winery-co.co>: host "
	    "mx.winery-co.co said: 550 5.1.1"));
	assert_non_null(strstr(ps.content[0], "<kim@example.net>: delivery "
	    "failed (status 5.4.7)"));
	assert_non_null(strstr(ps.content[0], env->id));

	/* Per-message fields, then one block per recipient. */
	assert_true(strncmp(ps.content[1], "Reporting-MTA: dns; gw.example\r\n",
	    32) == 0);
	assert_non_null(strstr(ps.content[1],
	    "\r\nOriginal-Envelope-Id: QQ+314\r\n"));
	assert_non_null(strstr(ps.content[1],
	    "\r\nArrival-Date: Tue, 14 Nov 2023 21:13:20 +0000\r\n"));
	assert_int_equal(count(ps.content[1], strlen(ps.content[1]),
	    "\r\n\r\n"), 2);
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Original-Recipient: rfc822;Bob+x@winery-co.co\r\n"
	    "Final-Recipient: rfc822; bob@winery-co.co\r\n"
	    "Action: failed\r\n"
	    "Status: 5.1.1\r\n"
	    "Remote-MTA: dns; mx.winery-co.co\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@winery-co.co>: user "
	    "unknown\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Final-Recipient: rfc822; kim@example.net\r\n"
	    "Action: failed\r\n"
	    "Status: 5.4.7\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_int_equal(count(ps.content[1], strlen(ps.content[1]),
	    "Final-Recipient:"), 2);

	/* The whole message, unchanged. */
	assert_string_equal(ps.content[2], orig_msg);
	python_check(m, len, "message/rfc822");

	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

static void
test_delayed(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_FULL, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "4.4.1",
	    "451 4.4.1 try later", "mx.winery-co.co", NULL };
	struct parsed ps;
	size_t len;
	char *m, *v;

	(void)state;
	m = compose(BOUNCE_DELAYED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &len);
	assert_canonical(m, len);
	v = header(m, "Subject");
	assert_string_equal(v, "Delayed Mail (still being retried)");
	free(v);
	parse(m, len, &ps);
	assert_non_null(strstr(ps.content[1], "\r\nAction: delayed\r\n"));
	assert_non_null(strstr(ps.content[1], "\r\nStatus: 4.4.1\r\n"));
	assert_null(strstr(ps.content[1], "Original-Envelope-Id"));
	assert_null(strstr(ps.content[1], "Original-Recipient"));
	assert_null(strstr(ps.content[1], "Will-Retry-Until"));
	assert_non_null(strstr(ps.content[0], "still trying"));
	assert_string_equal(ps.type[2], "message/rfc822");
	python_check(m, len, "message/rfc822");
	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

static void
test_ret_hdrs(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_HDRS, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.1.1", NULL,
	    NULL, NULL };
	struct parsed ps;
	const char *eoh = strstr(orig_msg, "\r\n\r\n") + 2;
	size_t len;
	char *m, *hdrs;

	(void)state;
	m = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &len);
	assert_canonical(m, len);
	parse(m, len, &ps);
	assert_string_equal(ps.type[2], "text/rfc822-headers");
	hdrs = xstrndup(orig_msg, (size_t)(eoh - orig_msg));
	assert_string_equal(ps.content[2], hdrs);
	assert_null(strstr(m, "Shall we meet"));
	python_check(m, len, "text/rfc822-headers");
	free(hdrs);
	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

/*
 * NOTIFY=SUCCESS (RFC 3461 6.2): "delivered" into the local store,
 * "relayed" to a peer without DSN; Status 2.x whatever the caller said;
 * only the header returned even with RET=FULL.
 */
static void
test_success(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_FULL, "QQ314");
	struct bounce_rcpt r[3] = {
		{ "bob@winery-co.co", "rfc822;Bob+2Bx@winery-co.co", "2.0.0",
		    NULL, NULL, "delivered" },
		{ "kim@example.net", NULL, "2.0.0", "250 2.0.0 Ok: queued",
		    "mx.example.net[192.0.2.1]", "relayed" },
		{ "lee@example.net", NULL, "5.1.1", NULL, NULL, NULL },
	};
	const char *eoh = strstr(orig_msg, "\r\n\r\n") + 2;
	struct parsed ps;
	size_t len;
	char *m, *v, *hdrs;

	(void)state;
	m = compose(BOUNCE_SUCCESS, env, orig_msg, strlen(orig_msg), r, 3,
	    &len);
	assert_canonical(m, len);
	v = header(m, "Subject");
	assert_string_equal(v, "Successful Mail Delivery Report");
	free(v);
	v = header(m, "To");
	assert_string_equal(v, "<alice@example.org>");
	free(v);
	v = header(m, "Auto-Submitted");
	assert_string_equal(v, "auto-replied");
	free(v);
	parse(m, len, &ps);

	v = unfold_text(ps.content[0]);
	assert_non_null(strstr(v, "Your message was delivered"));
	assert_non_null(strstr(v, "<bob@winery-co.co>: delivered to the "
	    "mailbox (status 2.0.0)"));
	assert_non_null(strstr(v, "<kim@example.net>: relayed to host "
	    "mx.example.net[192.0.2.1], which said: 250 2.0.0 Ok: queued"));
	assert_non_null(strstr(v, "does not send delivery reports"));
	assert_null(strstr(v, "could not be delivered"));
	free(v);

	assert_non_null(strstr(ps.content[1],
	    "\r\nOriginal-Envelope-Id: QQ314\r\n"));
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Original-Recipient: rfc822;Bob+x@winery-co.co\r\n"
	    "Final-Recipient: rfc822; bob@winery-co.co\r\n"
	    "Action: delivered\r\n"
	    "Status: 2.0.0\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Final-Recipient: rfc822; kim@example.net\r\n"
	    "Action: relayed\r\n"
	    "Status: 2.0.0\r\n"
	    "Remote-MTA: dns; mx.example.net[192.0.2.1]\r\n"
	    "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued\r\n"));
	/* No action given: delivered; a failure status: made 2.0.0. */
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Final-Recipient: rfc822; lee@example.net\r\n"
	    "Action: delivered\r\n"
	    "Status: 2.0.0\r\n"));
	assert_null(strstr(ps.content[1], "Action: failed"));
	assert_null(strstr(ps.content[1], "5.1.1"));

	/* RET=FULL is for failures: the header section only. */
	assert_string_equal(ps.type[2], "text/rfc822-headers");
	assert_non_null(strstr(ps.part[2], "Content-Description: Message "
	    "Headers\r\n"));
	hdrs = xstrndup(orig_msg, (size_t)(eoh - orig_msg));
	assert_string_equal(ps.content[2], hdrs);
	assert_null(strstr(m, "Shall we meet"));
	python_check(m, len, "text/rfc822-headers");
	free(hdrs);
	parsed_free(&ps);
	free(m);

	/* Only delivered recipients: no word about relaying. */
	m = compose(BOUNCE_SUCCESS, env, orig_msg, strlen(orig_msg), r, 1,
	    &len);
	parse(m, len, &ps);
	assert_null(strstr(ps.content[0], "relayed"));
	assert_null(strstr(ps.content[1], "Action: relayed"));
	parsed_free(&ps);
	free(m);

	/* Nor to the null sender. */
	{
		struct buf b;

		buf_init(&b, 1024 * 1024);
		free(env->sender);
		env->sender = xstrdup("");
		errno = 0;
		assert_int_equal(bounce_compose(&b, BOUNCE_SUCCESS, env,
		    orig_msg, strlen(orig_msg), r, 1, "gw.example", NOW), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(b.len, 0);
		buf_free(&b);
	}
	queue_envelope_free(env);
}

static char *
big_message(size_t size)
{
	char *msg = xmalloc(size + 1);
	size_t hl = strlen("Subject: big\r\n\r\n"), i;

	memcpy(msg, "Subject: big\r\n\r\n", hl);
	for (i = hl; i < size; i++)
		msg[i] = (i - hl) % 80 == 78 ? '\r' :
		    (i - hl) % 80 == 79 ? '\n' : 'x';
	memcpy(msg + size - 2, "\r\n", 2);
	msg[size] = '\0';
	return msg;
}

static void
test_big_message(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_NONE, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.2.2", NULL,
	    NULL, NULL };
	struct parsed ps;
	size_t len, size = 128 * 1024 + 80;
	char *m, *msg = big_message(size);

	(void)state;
	/* No RET and over 128 KiB: headers only. */
	m = compose(BOUNCE_FAILED, env, msg, size, &r, 1, &len);
	assert_canonical(m, len);
	parse(m, len, &ps);
	assert_string_equal(ps.type[2], "text/rfc822-headers");
	assert_string_equal(ps.content[2], "Subject: big\r\n");
	assert_true(len < 4096);
	parsed_free(&ps);
	free(m);

	/* Exactly 128 KiB: whole. */
	free(msg);
	size = 128 * 1024;
	msg = big_message(size);
	m = compose(BOUNCE_FAILED, env, msg, size, &r, 1, &len);
	parse(m, len, &ps);
	assert_string_equal(ps.type[2], "message/rfc822");
	assert_true(len > size);
	parsed_free(&ps);
	free(m);

	/* RET=FULL: whole, whatever the size. */
	free(msg);
	size = 300 * 1024;
	msg = big_message(size);
	env->ret = SMTP_RET_FULL;
	m = compose(BOUNCE_FAILED, env, msg, size, &r, 1, &len);
	assert_canonical(m, len);
	parse(m, len, &ps);
	assert_string_equal(ps.type[2], "message/rfc822");
	assert_int_equal(strlen(ps.content[2]), size);
	parsed_free(&ps);
	free(m);
	free(msg);
	queue_envelope_free(env);
}

static void
test_limits_and_refusals(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_FULL, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.1.1", NULL,
	    NULL, NULL };
	struct parsed ps;
	struct buf b;
	size_t size = 64 * 1024;
	char *msg = big_message(size);

	(void)state;
	/* Too small even for the report: -1, E2BIG, out unchanged. */
	buf_init(&b, 512);
	assert_int_equal(buf_append(&b, "keep", 4), 0);
	errno = 0;
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 1, "gw.example", NOW), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.p, "keep");
	buf_free(&b);

	/* Room for the headers but not the whole message: headers. */
	buf_init(&b, 16 * 1024);
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 1, "gw.example", NOW), 0);
	assert_canonical(b.p, b.len);
	parse(b.p, b.len, &ps);
	assert_string_equal(ps.type[2], "text/rfc822-headers");
	parsed_free(&ps);
	buf_free(&b);

	/* A bounce is never bounced; nothing to report is an error. */
	buf_init(&b, 1024 * 1024);
	free(env->sender);
	env->sender = xstrdup("");
	errno = 0;
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 1, "gw.example", NOW), -1);
	assert_int_equal(errno, EINVAL);
	free(env->sender);
	env->sender = xstrdup("alice@example.org");
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 0, "gw.example", NOW), -1);
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 1, "\r\n", NOW), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	free(msg);
	queue_envelope_free(env);
}

/* Two reports of the same failure differ in Message-ID and boundary. */
static void
test_unique(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_NONE, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.1.1", NULL,
	    NULL, NULL };
	struct parsed a, b;
	size_t la, lb;
	char *ma, *mb, *ia, *ib;

	(void)state;
	ma = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &la);
	mb = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &lb);
	ia = header(ma, "Message-ID");
	ib = header(mb, "Message-ID");
	assert_string_not_equal(ia, ib);
	parse(ma, la, &a);
	parse(mb, lb, &b);
	assert_string_not_equal(a.boundary, b.boundary);
	assert_true(strlen(a.boundary) >= 32);
	parsed_free(&a);
	parsed_free(&b);
	free(ia);
	free(ib);
	free(ma);
	free(mb);
	queue_envelope_free(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_structure),
		cmocka_unit_test(test_delayed),
		cmocka_unit_test(test_ret_hdrs),
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_big_message),
		cmocka_unit_test(test_limits_and_refusals),
		cmocka_unit_test(test_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
