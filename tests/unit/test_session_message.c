/*
 * The message of a transaction in the session engine (smtp_message.c):
 * DATA and BDAT stream a large message to the spool with the session's
 * buffer bounded, a failed spool write or a client that leaves drops the
 * partial file, and BDAT's golden transcripts (chunks split anywhere,
 * refused chunks read and dropped, the same stored message as by DATA).
 */
#include "session_fixture.h"

#include "postern_limits.h"
#include "smtp_msgcheck.h"

/* ---- a message larger than the session's buffer ---- */

#define BIG_LINES	10000	/* of 100 octets with CRLF: about 1 MB */

/* EHLO, MAIL, RCPT, DATA and a message of BIG_LINES lines (the first
 * starting with a dot, stuffed), without the final dot. */
static char *
big_transaction(size_t *len)
{
	static const char head[] = "EHLO c.example\r\n"
	    "MAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n"
	    "DATA\r\nSubject: big\r\n\r\n";
	size_t n = sizeof(head) - 1, i;
	char *in = xmalloc(n + BIG_LINES * 101 + 64);

	memcpy(in, head, n);
	for (i = 0; i < BIG_LINES; i++) {
		int k = snprintf(in + n, 101, "%s%06zu", i == 0 ? ".." : "",
		    i);
		memset(in + n + k, 'a' + (int)(i % 26), 98 - (size_t)k);
		memcpy(in + n + 98, "\r\n", 2);
		n += 100;
	}
	*len = n;
	return in;
}

/* Feed in[0..len) in chunks of random size (up to 8 KiB), checking after
 * each that the session holds no more than its bounded buffer. */
static void
feed_bounded(struct smtp_session *s, const char *in, size_t len)
{
	size_t off = 0;

	while (off < len && !smtp_session_closing(s)) {
		size_t want = 1 + (next_chunk() * 131) % 8192;
		size_t n = len - off < want ? len - off : want;

		off += smtp_session_input(s, in + off, n);
		assert_true(s->msg.cap <= SMTP_MSG_BUF_MAX);
		assert_true(s->msg.len < SMTP_MSG_BUF_MAX);
	}
}

static void
test_data_streams_to_spool(void **state)
{
	struct smtp_session *s;
	size_t len, skip = 0;
	char *in = big_transaction(&len);

	(void)state;
	queue_envelope_free(committed);
	committed = NULL;
	spool_writes = spool_aborts = 0;
	spooled_len = 0;
	s = new_session();
	feed_bounded(s, in, len);
	assert_true(spool_writes > 10);
	assert_null(committed);
	assert_int_equal(smtp_session_input(s, ".\r\n", 3), 3);
	assert_int_equal(s->waiting, SMTP_WAIT_COMMIT);
	smtp_message_commit_done(s, 0, "Q");
	assert_non_null(strstr(s->out.p, "250 2.0.0 Ok: queued as Q"));
	assert_non_null(committed);
	assert_int_equal(spool_aborts, 0);
	/* The message as received: Received:, then the lines, unstuffed. */
	for (int lines = 0; lines < 3; skip++)
		if (last_body[skip] == '\n')
			lines++;
	assert_int_equal(committed_len - skip,
	    strlen("Subject: big\r\n\r\n") + BIG_LINES * 100 - 1);
	assert_memory_equal(last_body + skip, "Subject: big\r\n\r\n.000000a",
	    strlen("Subject: big\r\n\r\n.000000a"));
	assert_memory_equal(last_body + committed_len - 6, "pppp\r\n", 6);
	smtp_session_free(s);
	free(in);
}

static void
test_data_spool_failure_and_abort(void **state)
{
	struct smtp_session *s;
	size_t len;
	char *in = big_transaction(&len);

	(void)state;
	queue_envelope_free(committed);
	committed = NULL;

	/* The disk fills up: the rest is read, then 452, nothing queued,
	 * the partial file dropped, and the session goes on. */
	spool_writes = spool_aborts = 0;
	spool_fail = ENOSPC;
	s = new_session();
	feed_bounded(s, in, len);
	assert_int_equal(smtp_session_input(s, ".\r\n", 3), 3);
	assert_non_null(strstr(s->out.p, "452 4.3.1"));
	assert_null(committed);
	assert_int_equal(spool_aborts, 1);
	assert_int_equal(s->state, SMTP_S_READY);
	smtp_session_free(s);
	spool_fail = 0;

	/* The client goes away in the middle: the file is dropped. */
	spool_aborts = 0;
	s = new_session();
	feed_bounded(s, in, len / 2);
	assert_true(spooled_len > 0);
	smtp_session_free(s);
	assert_int_equal(spool_aborts, 1);
	assert_int_equal(spooled_len, 0);

	/* A message refused at its end (a bare LF) drops it too. */
	spool_aborts = 0;
	s = new_session();
	feed_bounded(s, in, len);
	assert_int_equal(smtp_session_input(s, "x\n", 2), 2);
	assert_non_null(strstr(s->out.p, "521 5.5.2"));
	assert_int_equal(spool_aborts, 1);
	assert_null(committed);
	smtp_session_free(s);
	free(in);
}

/* ---- BDAT (CHUNKING) ---- */

#define TX	"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n" \
		"RCPT TO:<ericm@winery-co.co>\r\n"
#define TX_REPLIES "220 gw.test ESMTP postern\r\n" \
	"250-gw.test Hello c.example [10.0.0.1]\r\n" \
	"250-PIPELINING\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n" \
	"250 DSN\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"

static void
test_bdat_transcripts(void **state)
{
	char *data_bodies;
	size_t data_len;

	(void)state;
	/* Pipelined chunks, a line split across two of them, a leading
	 * dot that is text, and a last line without CRLF. */
	bodies_len = 0;
	check("intranet", "10.0.0.1", TX
	    "BDAT 13\r\nSubject: x\r\n\r"
	    "BDAT 6\r\n\n.dot\r"
	    "BDAT 5 LAST\r\n\nlast"
	    "QUIT\r\n",
	    TX_REPLIES
	    "250 2.0.0 13 octets received\r\n"
	    "250 2.0.0 6 octets received\r\n"
	    "250 2.0.0 Ok: queued as Q\r\n"
	    "221 2.0.0 Bye\r\n");
	/* The same message by DATA is stored the same way. */
	data_bodies = xmalloc(bodies_len + 1);
	memcpy(data_bodies, bodies, bodies_len / 2);
	data_len = bodies_len / 2;
	assert_int_equal(data_len, strlen("Subject: x\r\n\r\n.dot\r\nlast"
	    "\r\n"));
	assert_memory_equal(data_bodies, "Subject: x\r\n\r\n.dot\r\nlast\r\n",
	    data_len);
	bodies_len = 0;
	check("intranet", "10.0.0.1", TX
	    "DATA\r\nSubject: x\r\n\r\n..dot\r\nlast\r\n.\r\n",
	    TX_REPLIES "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as Q\r\n");
	assert_int_equal(bodies_len / 2, data_len);
	assert_memory_equal(bodies, data_bodies, data_len);
	free(data_bodies);

	/* BDAT 0 LAST ends a message; a refused chunk is read and dropped
	 * (what it holds is never a command), then the session goes on. */
	check("intranet", "10.0.0.1", TX
	    "BDAT 10\r\nSubject:\r\n"
	    "BDAT 0 LAST\r\n"
	    "BDAT 6 LAST\r\nQUIT\r\n"
	    "MAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<nobody@winery-co.co>\r\n"
	    "BDAT 6 LAST\r\nRSET\r\n"
	    "DATA\r\n"
	    "QUIT\r\n",
	    TX_REPLIES
	    "250 2.0.0 10 octets received\r\n"
	    "250 2.0.0 Ok: queued as Q\r\n"
	    "503 5.5.1 Bad sequence of commands: MAIL first\r\n"
	    "250 2.1.0 Ok\r\n"
	    "550 5.1.1 Recipient address rejected: user unknown\r\n"
	    "554 5.5.1 No valid recipients\r\n"
	    "554 5.5.1 No valid recipients\r\n"
	    "221 2.0.0 Bye\r\n");

	/* Between chunks only BDAT, RSET, NOOP and QUIT; a bare LF fails
	 * the message at the end of its chunk, and what follows the chunk
	 * is read as commands again. */
	check("intranet", "10.0.0.1", TX
	    "BDAT 3\r\nab\n"
	    "NOOP\r\n"
	    "MAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n"
	    "BDAT 3\r\nab\r"
	    "DATA\r\n"
	    "RSET\r\n"
	    "BDAT 2 LAST\r\nab"
	    "BDAT x\r\n",
	    TX_REPLIES
	    "554 5.6.0 Bare CR or LF in message; only CRLF ends a line\r\n"
	    "250 2.0.0 Ok\r\n"
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "250 2.0.0 3 octets received\r\n"
	    "503 5.5.1 Bad sequence of commands\r\n"
	    "250 2.0.0 Ok\r\n"
	    "503 5.5.1 Bad sequence of commands: MAIL first\r\n"
	    "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
}

/* A large message by BDAT streams like one by DATA: the session's
 * buffer stays bounded, whatever the chunk sizes. */
static void
test_bdat_streams_to_spool(void **state)
{
	static const char head[] = TX;
	struct smtp_session *s;
	char cmd[64], *line = xmalloc(100);
	size_t i, total = 0;

	(void)state;
	queue_envelope_free(committed);
	committed = NULL;
	spool_writes = spool_aborts = 0;
	spooled_len = 0;
	memset(line, 'q', 98);
	memcpy(line + 98, "\r\n", 2);
	s = new_session();
	s->vs = conf_vserver_find(conf, "intranet");
	assert_int_equal(smtp_session_input(s, head, sizeof(head) - 1),
	    sizeof(head) - 1);
	for (i = 0; i < 200; i++) {
		/* chunks of 5000 lines, fed in pieces of random size */
		size_t n = 50 * 100;
		char *chunk = xmalloc(n);

		for (size_t k = 0; k < n; k += 100)
			memcpy(chunk + k, line, 100);
		snprintf(cmd, sizeof(cmd), "BDAT %zu%s\r\n", n,
		    i == 199 ? " LAST" : "");
		assert_int_equal(smtp_session_input(s, cmd, strlen(cmd)),
		    strlen(cmd));
		feed_bounded(s, chunk, n);
		total += n;
		free(chunk);
		if (i < 199)
			buf_reset(&s->out);
	}
	assert_int_equal(s->waiting, SMTP_WAIT_COMMIT);
	smtp_message_commit_done(s, 0, "Q");
	assert_non_null(strstr(s->out.p, "250 2.0.0 Ok: queued as Q"));
	assert_true(spool_writes > 10);
	assert_int_equal(spool_aborts, 0);
	assert_true(committed_len > total);
	assert_memory_equal(last_body + committed_len - total, line, 100);
	smtp_session_free(s);
	free(line);
}

/* ---- message checks (smtp_msgcheck.h) ---- */

/* A check that sees every byte: it refuses a message holding "SPAM!" and
 * counts what it saw. */
static size_t seen_bytes;
static char seen[4096];

static void *
spam_begin(const struct smtp_session *s)
{
	(void)s;
	seen_bytes = 0;
	seen[0] = '\0';
	return seen;
}

static void
spam_data(void *st, const char *p, size_t n)
{
	size_t keep = sizeof(seen) - 1 - (seen_bytes < sizeof(seen) - 1 ?
	    seen_bytes : sizeof(seen) - 1);

	(void)st;
	if (keep > n)
		keep = n;
	memcpy(seen + (seen_bytes < sizeof(seen) - 1 ? seen_bytes :
	    sizeof(seen) - 1), p, keep);
	seen_bytes += n;
	seen[seen_bytes < sizeof(seen) - 1 ? seen_bytes : sizeof(seen) - 1] =
	    '\0';
}

static int
spam_end(void *st, const struct smtp_session *s,
    struct smtp_msgcheck_result *res, smtp_msgcheck_done_cb done, void *arg)
{
	(void)st;
	(void)s;
	(void)done;
	(void)arg;
	if (strstr(seen, "SPAM!") != NULL) {
		res->verdict = SMTP_MSGCHECK_REFUSE;
		res->rule = POLICY_RULE_BLOCK_SENDER;
		res->reply = "554 5.7.1 Dummy content check: spam";
	}
	return 0;
}

static const struct smtp_msgcheck_def spam_check = {
	.name = "spam", .begin = spam_begin, .data = spam_data,
	.end = spam_end,
};

/* A check that answers later, as a milter would. */
static smtp_msgcheck_done_cb later_done;
static void *later_arg;
static int later_finished;

static int
later_end(void *st, const struct smtp_session *s,
    struct smtp_msgcheck_result *res, smtp_msgcheck_done_cb done, void *arg)
{
	(void)st;
	(void)s;
	(void)res;
	later_done = done;
	later_arg = arg;
	return 1;
}

static void
later_finish(void *st)
{
	(void)st;
	later_finished++;
}

static const struct smtp_msgcheck_def later_check = {
	.name = "later", .end = later_end, .finish = later_finish,
};

static void
test_message_checks(void **state)
{
	struct smtp_msgcheck_result ok = { .verdict = SMTP_MSGCHECK_ACCEPT };
	struct smtp_session *s;
	size_t len;
	char *in;

	(void)state;
	assert_int_equal(smtp_msgcheck_register(&spam_check), 0);

	/* Refused at the end of data, by DATA and by BDAT alike; the check
	 * saw the message unstuffed, the gateway's Received: first. */
	check("intranet", "10.0.0.1",
	    "HELO c\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n"
	    "DATA\r\nSubject: x\r\n\r\n..SPAM!\r\n.\r\n",
	    "220 gw.test ESMTP postern\r\n250 gw.test\r\n"
	    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "554 5.7.1 Dummy content check: spam\r\n");
	assert_non_null(strstr(seen, "Received: from c"));
	assert_non_null(strstr(seen, "\r\n\r\n.SPAM!\r\n"));
	/* A message the reader refuses never reaches the end checks. */
	check("intranet", "10.0.0.1",
	    "HELO c\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n"
	    "BDAT 9 LAST\r\nhi SPAM!\n",
	    "220 gw.test ESMTP postern\r\n250 gw.test\r\n"
	    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "554 5.6.0 Bare CR or LF in message; only CRLF ends a line\r\n");
	check("intranet", "10.0.0.1",
	    "HELO c\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n"
	    "BDAT 10 LAST\r\nhi SPAM!\r\n",
	    "220 gw.test ESMTP postern\r\n250 gw.test\r\n"
	    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "554 5.7.1 Dummy content check: spam\r\n");

	/* A large message: the check sees every byte, in order. */
	in = big_transaction(&len);
	s = new_session();
	feed_bounded(s, in, len);
	assert_int_equal(smtp_session_input(s, ".\r\n", 3), 3);
	assert_int_equal(s->waiting, SMTP_WAIT_COMMIT);
	smtp_message_commit_done(s, 0, "Q");
	assert_true(seen_bytes == committed_len);
	smtp_session_free(s);
	free(in);

	/* A verdict that comes later: the session waits, then commits. */
	assert_int_equal(smtp_msgcheck_register(&later_check), 0);
	s = new_session();
	assert_int_equal(smtp_session_input(s, "HELO c\r\n"
	    "MAIL FROM:<a@example.org>\r\nRCPT TO:<ericm@winery-co.co>\r\n"
	    "DATA\r\nhello\r\n.\r\nNOOP\r\n", 87), 81);
	assert_int_equal(s->waiting, SMTP_WAIT_CHECK);
	assert_null(strstr(s->out.p, "queued"));
	later_done(later_arg, &ok);
	assert_int_equal(s->waiting, SMTP_WAIT_COMMIT);
	smtp_message_commit_done(s, 0, "Q");
	assert_non_null(strstr(s->out.p, "250 2.0.0 Ok: queued as Q"));
	/* ... and a client that leaves while a verdict is awaited cancels
	 * it. */
	later_finished = 0;
	assert_int_equal(smtp_session_input(s, "NOOP\r\n"
	    "MAIL FROM:<a@example.org>\r\nRCPT TO:<ericm@winery-co.co>\r\n"
	    "DATA\r\nhello\r\n.\r\n", 79), 79);
	assert_int_equal(s->waiting, SMTP_WAIT_CHECK);
	smtp_session_free(s);
	assert_int_equal(later_finished, 1);
	smtp_msgcheck_unregister_all();
}

/* A check that edits, holds or discards, as message authentication and
 * milters do. */
static struct queue_cut edit_cut;

static int
edit_end(void *st, const struct smtp_session *s,
    struct smtp_msgcheck_result *res, smtp_msgcheck_done_cb done, void *arg)
{
	const char *subj = strstr(seen, "Subject: cut me\r\n");

	(void)st;
	(void)s;
	(void)done;
	(void)arg;
	if (strstr(seen, "DISCARD!") != NULL) {
		res->verdict = SMTP_MSGCHECK_DISCARD;
		res->reason = "dummy discard";
		return 0;
	}
	if (strstr(seen, "HOLD!") != NULL) {
		res->verdict = SMTP_MSGCHECK_HOLD;
		res->reason = "dummy hold";
	}
	res->prepend = "X-Checked: yes\r\n";
	if (subj != NULL) {
		edit_cut.off = (uint64_t)(subj - seen);
		edit_cut.len = strlen("Subject: cut me\r\n");
		res->cuts = &edit_cut;
		res->ncuts = 1;
	}
	return 0;
}

static const struct smtp_msgcheck_def edit_check = {
	.name = "edit", .begin = spam_begin, .data = spam_data,
	.end = edit_end,
};

static void
test_message_verdicts(void **state)
{
	static const char head[] = "HELO c\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\nDATA\r\n";
	static const char greet[] = "220 gw.test ESMTP postern\r\n"
	    "250 gw.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n";
	char in[512], out[512], *whole;

	(void)state;
	assert_int_equal(smtp_msgcheck_register(&edit_check), 0);

	/* Edits: the lines to prepend and the cut reach the envelope. */
	snprintf(in, sizeof(in), "%sSubject: cut me\r\nX: 1\r\n\r\nbody\r\n"
	    ".\r\n", head);
	snprintf(out, sizeof(out), "%s250 2.0.0 Ok: queued as Q\r\n", greet);
	check("intranet", "10.0.0.1", in, out);
	assert_non_null(committed);
	assert_string_equal(committed->prepend, "X-Checked: yes\r\n");
	assert_int_equal(committed->ncuts, 1);
	assert_int_equal(committed->cuts[0].len, 17);
	assert_null(committed->hold);

	/* Hold: queued, and held with the reason. */
	snprintf(in, sizeof(in), "%sSubject: x\r\n\r\nHOLD!\r\n.\r\n", head);
	check("intranet", "10.0.0.1", in, out);
	assert_non_null(committed);
	assert_string_equal(committed->hold, "dummy hold");

	/* Discard: 250, nothing committed. */
	queue_envelope_free(committed);
	committed = NULL;
	snprintf(in, sizeof(in), "%sSubject: x\r\n\r\nDISCARD!\r\n.\r\n",
	    head);
	whole = run("intranet", "10.0.0.1", in, strlen(in) + 1);
	assert_non_null(strstr(whole, "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as "));
	assert_null(committed);
	free(whole);
	smtp_msgcheck_unregister_all();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_streams_to_spool),
		cmocka_unit_test(test_data_spool_failure_and_abort),
		cmocka_unit_test(test_bdat_transcripts),
		cmocka_unit_test(test_bdat_streams_to_spool),
		cmocka_unit_test(test_message_checks),
		cmocka_unit_test(test_message_verdicts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
