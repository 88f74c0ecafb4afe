/*
 * Golden transcripts against the SMTP session engine, driven from memory:
 * no sockets, a directory backend answering from a table, and a commit
 * hook that records what would be queued.  Each transcript is sent twice:
 * in one piece and one byte at a time, and the replies must be identical
 * (chunking invariance).  The filter tests drive the connection phase by
 * hand (greet-wait elapsing, pregreet input) and check the per-rule
 * counters.
 */
#include "session_fixture.h"

#include "postern_limits.h"
#include "ratelimit.h"
#include "senderlist.h"
#include "smtp_greet.h"

static void
test_internet_transaction(void **state)
{
	(void)state;
	check("internet", "192.0.2.1",
	    "EHLO c.example\r\n"
	    "MAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<someone@example.net>\r\n"
	    "RCPT TO:<nobody@winery-co.co>\r\n"
	    "RCPT TO:<temp@winery-co.co>\r\n"
	    "RCPT TO:<EricM@Winery-Co.Co>\r\n"
	    "DATA\r\n"
	    "Subject: x\r\n\r\n..dot\r\n.\r\n"
	    "QUIT\r\n",
	    "220 gw.test ESMTP postern\r\n"
	    "250-gw.test Hello c.example [192.0.2.1]\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 36700160\r\n"
	    "250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-SMTPUTF8\r\n250-CHUNKING\r\n"
	    "250 DSN\r\n"
	    "250 2.1.0 Ok\r\n"
	    "550 5.7.1 Relay access denied\r\n"
	    "550 5.1.1 Recipient address rejected: user unknown\r\n"
	    "451 4.3.0 Directory temporarily unavailable, try again later\r\n"
	    "250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as Q\r\n"
	    "221 2.0.0 Bye\r\n");
	assert_non_null(committed);
	assert_int_equal(committed->nrcpts, 1);
	assert_string_equal(committed->rcpts[0].addr, "ericm@winery-co.co");
	assert_string_equal(committed->sender, "a@example.org");
}

static void
test_intranet_relay(void **state)
{
	(void)state;
	check("intranet", "10.1.2.3",
	    "HELO c\r\nMAIL FROM:<ericm@winery-co.co>\r\n"
	    "RCPT TO:<x@example.org>\r\nRCPT TO:<x@[192.0.2.1]>\r\n",
	    "220 gw.test ESMTP postern\r\n"
	    "250 gw.test\r\n"
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "550 5.1.2 No route to the recipient's domain\r\n");
	check("intranet", "192.0.2.1",
	    "HELO c\r\nMAIL FROM:<ericm@winery-co.co>\r\n"
	    "RCPT TO:<x@example.org>\r\n",
	    "220 gw.test ESMTP postern\r\n"
	    "250 gw.test\r\n"
	    "250 2.1.0 Ok\r\n"
	    "550 5.7.1 Relay access denied\r\n");
}

static void
test_sequence_and_errors(void **state)
{
	(void)state;
	check("internet", "192.0.2.1",
	    "MAIL FROM:<a@example.org>\r\nDATA\r\nHELO\r\n",
	    "220 gw.test ESMTP postern\r\n"
	    "503 5.5.1 Bad sequence of commands: HELO/EHLO first, one MAIL "
	    "per transaction\r\n"
	    "503 5.5.1 Bad sequence of commands: MAIL first\r\n"
	    "421 4.7.0 Too many errors, closing connection\r\n");
}

static void
test_blocked_sender_and_limits(void **state)
{
	(void)state;
	check("internet", "192.0.2.1",
	    "EHLO c\r\nMAIL FROM:<x@bad.example>\r\n"
	    "MAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\nRCPT TO:<kimy@winery-co.co>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n"
	    "RCPT TO:<postmaster>\r\n"
	    "RSET\r\n",
	    "220 gw.test ESMTP postern\r\n"
	    "250-gw.test Hello c [192.0.2.1]\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 36700160\r\n"
	    "250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-SMTPUTF8\r\n250-CHUNKING\r\n"
	    "250 DSN\r\n"
	    "550 5.7.1 Sender address rejected: blocked\r\n"
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "550 5.1.1 Recipient address rejected: user unknown\r\n"
	    "250 2.0.0 Ok\r\n");
}

static void
test_bare_lf_in_data_closes(void **state)
{
	(void)state;
	check("internet", "192.0.2.1",
	    "EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\nDATA\r\n"
	    "x\n.\nMAIL FROM:<evil@example.org>\r\n.\r\n",
	    "220 gw.test ESMTP postern\r\n"
	    "250-gw.test Hello c [192.0.2.1]\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 36700160\r\n"
	    "250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-SMTPUTF8\r\n250-CHUNKING\r\n"
	    "250 DSN\r\n"
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "521 5.5.2 Bare CR or LF in message; only CRLF ends a line; "
	    "closing connection\r\n");
}

/* ---- filters ---- */

static struct smtp_session_counters counters;

static void
test_pregreet_refused(void **state)
{
	struct smtp_session_env env = { .counters = &counters };
	struct smtp_session *s;

	(void)state;
	memset(&counters, 0, sizeof(counters));
	s = start("filtered", "192.0.2.1", &env);
	assert_int_equal(s->state, SMTP_S_GREETING);
	assert_int_equal(smtp_greet_delay(s), 1000);
	assert_int_equal(smtp_session_waiting(s), SMTP_WAIT_NONE);
	expect(s, "", "220-gw.test ESMTP postern\r\n");
	expect(s, "EHLO early\r\nMAIL FROM:<a@example.org>\r\n",
	    "554 5.5.1 Protocol error: talking before the greeting\r\n");
	assert_true(smtp_session_closing(s));
	assert_int_equal(counters.refused[POLICY_RULE_PREGREET], 1);
	smtp_greet_elapsed(s);		/* a timer that fires late: no-op */
	expect(s, "", "");
	smtp_session_free(s);
}

static void
test_greet_wait_then_rate_limit(void **state)
{
	struct smtp_session_env env = { .counters = &counters };
	struct smtp_session *s;

	(void)state;
	memset(&counters, 0, sizeof(counters));
	env.ratelimit = ratelimit_new(0);
	s = start("filtered", "192.0.2.1", &env);
	expect(s, "", "220-gw.test ESMTP postern\r\n");
	smtp_greet_elapsed(s);
	assert_int_equal(smtp_greet_delay(s), 0);
	expect(s, "", "220 gw.test ESMTP postern\r\n");
	expect(s, "HELO c\r\nMAIL FROM:<a@example.org>\r\nRSET\r\n"
	    "MAIL FROM:<b@example.org>\r\nRSET\r\n"
	    "MAIL FROM:<c@example.org>\r\nNOOP\r\n",
	    "250 gw.test\r\n"
	    "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n"
	    "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n"
	    "421 4.7.0 Rate limit exceeded: too many messages from your "
	    "address, try again later\r\n");
	assert_true(smtp_session_closing(s));
	assert_int_equal(counters.refused[POLICY_RULE_RATE_LIMIT], 1);
	smtp_session_free(s);
	/* The next session from that address is still over the limit. */
	s = start("filtered", "192.0.2.1", &env);
	smtp_greet_elapsed(s);
	free(feed(s, ""));
	expect(s, "HELO c\r\nMAIL FROM:<a@example.org>\r\n",
	    "250 gw.test\r\n"
	    "421 4.7.0 Rate limit exceeded: too many messages from your "
	    "address, try again later\r\n");
	smtp_session_free(s);
	ratelimit_free(env.ratelimit);
}

static void
test_blocked_client_error_budget(void **state)
{
	struct smtp_session_env env = { .counters = &counters };
	struct smtp_session *s;

	(void)state;
	memset(&counters, 0, sizeof(counters));
	s = start("filtered", "192.0.2.66", &env);
	assert_int_equal(s->state, SMTP_S_REJECTED);
	assert_int_equal(smtp_greet_delay(s), 0);
	expect(s, "HELO c\r\nBOGUS\r\nHELO c\r\n",
	    "554 5.7.1 Client host rejected: access denied\r\n"
	    "554 5.7.1 Client host rejected: access denied\r\n"
	    "554 5.7.1 Client host rejected: access denied\r\n"
	    "421 4.7.0 Too many errors, closing connection\r\n");
	assert_int_equal(counters.refused[POLICY_RULE_BLOCK_CLIENT], 1);
	assert_int_equal(counters.refused[POLICY_RULE_MAX_ERRORS], 1);
	smtp_session_free(s);
	s = start("filtered", "192.0.2.66", &env);
	expect(s, "QUIT\r\n",
	    "554 5.7.1 Client host rejected: access denied\r\n"
	    "221 2.0.0 Bye\r\n");
	smtp_session_free(s);
}

static void
test_shutdown_and_timeout_while_greeting(void **state)
{
	struct smtp_session *s;

	(void)state;
	s = start("filtered", "192.0.2.1", NULL);
	smtp_session_shutdown(s);
	expect(s, "", "220-gw.test ESMTP postern\r\n"
	    "421 4.3.2 Service shutting down, closing connection\r\n");
	assert_true(smtp_session_closing(s));
	smtp_session_free(s);
	s = start("filtered", "192.0.2.1", NULL);
	smtp_session_timeout(s);
	expect(s, "", "220-gw.test ESMTP postern\r\n"
	    "421 4.4.2 Timeout exceeded, closing connection\r\n");
	smtp_session_free(s);
}

static void
test_senders_file_and_counters(void **state)
{
	static const char list[] = "<>\nfile@list.example\n";
	struct smtp_session_env env = { .counters = &counters };
	struct smtp_session *s;
	char err[CONF_ERR_MAX];

	(void)state;
	memset(&counters, 0, sizeof(counters));
	assert_int_equal(senderlist_parse("f", list, sizeof(list) - 1,
	    &env.senders, err, sizeof(err)), 0);
	s = start("internet", "192.0.2.1", &env);
	/* The session holds its own reference across a reload. */
	senderlist_unref(env.senders);
	expect(s, "", "220 gw.test ESMTP postern\r\n");
	expect(s, "HELO c\r\nMAIL FROM:<>\r\nMAIL FROM:<File@List.Example>"
	    "\r\nMAIL FROM:<x@bad.example>\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<kimy@winery-co.co>\r\nRCPT TO:<nobody@winery-co.co>\r\n"
	    "RCPT TO:<x@example.net>\r\nDATA\r\nhi\r\n.\r\n",
	    "250 gw.test\r\n"
	    "550 5.7.1 Sender address rejected: blocked\r\n"
	    "550 5.7.1 Sender address rejected: blocked\r\n"
	    "550 5.7.1 Sender address rejected: blocked\r\n"
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "550 5.1.1 Recipient address rejected: user unknown\r\n"
	    "550 5.7.1 Relay access denied\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as Q\r\n");
	assert_int_equal(counters.refused[POLICY_RULE_BLOCK_SENDERS_FILE], 2);
	assert_int_equal(counters.refused[POLICY_RULE_BLOCK_SENDER], 1);
	assert_int_equal(counters.refused[POLICY_RULE_UNKNOWN_USER], 1);
	assert_int_equal(counters.refused[POLICY_RULE_RELAY], 1);
	assert_int_equal(counters.accepted, 1);
	smtp_session_free(s);
}

/*
 * Chunking invariance (issue 6): the same byte stream, split at random
 * boundaries 1 000 times, gives the same replies and the same queued
 * messages as in one write.  This is the property whose absence makes SMTP
 * smuggling and pipelining bugs; the pure engine makes it cheap to check.
 */
static const char *const streams[] = {
	/* pipelined transactions, dot-stuffing, an unknown user */
	"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<ericm@winery-co.co>"
	"\r\nRCPT TO:<nobody@winery-co.co>\r\nDATA\r\nSubject: x\r\n\r\n"
	"..one\r\n.two\r\n\r\n.\r\nMAIL FROM:<b@example.org>\r\n"
	"RCPT TO:<kimy@winery-co.co>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
	/* smuggling attempts inside DATA */
	"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<ericm@winery-co.co>"
	"\r\nDATA\r\nx\r\n.\rMAIL FROM:<e@x>\r\n.\r\n",
	"HELO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<ericm@winery-co.co>"
	"\r\nDATA\r\nx\n.\r\nRSET\r\n",
	/* errors, a long line, relay denied, then a good transaction */
	"NOOP\r\nEHLO c\r\nRCPT TO:<x@y>\r\nMAIL FROM:<a@example.org>\r\n"
	"RCPT TO:<x@example.net>\r\nRCPT TO:<kimy@winery-co.co>\r\n"
	"DATA\r\nSubject: y\r\n\r\nbody\r\n..\r\n.\r\nVRFY x\r\nQUIT\r\n",
};

static void
test_chunking_invariance(void **state)
{
	char *ref, *got, refbodies[sizeof(bodies)];
	size_t reflen;

	(void)state;
	for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		bodies_len = 0;
		ref = run("internet", "192.0.2.1", streams[i],
		    strlen(streams[i]) + 1);
		memcpy(refbodies, bodies, bodies_len);
		reflen = bodies_len;
		/* The first and the last stream queue mail; the smuggling
		 * ones never do. */
		if (i == 0 || i == 3)
			assert_true(reflen > 0 &&
			    strstr(ref, "queued as Q") != NULL);
		else
			assert_true(reflen == 0 &&
			    strstr(ref, "521 5.5.2") != NULL);
		for (unsigned r = 0; r < 1000; r++) {
			rng = r * 2654435761u + 1;
			bodies_len = 0;
			got = run("internet", "192.0.2.1", streams[i], 0);
			assert_string_equal(got, ref);
			assert_int_equal(bodies_len, reflen);
			assert_memory_equal(bodies, refbodies, reflen);
			free(got);
		}
		free(ref);
	}
}

/*
 * A list that does not fit is refused whole (issue #14): lists of 1000
 * members fill the envelope towards SMTP_RCPT_EXPANDED_MAX; the one that
 * would pass it gets 452 and adds none of its members (a client retrying
 * it later must not give the members that fitted a second copy).
 */
#define BIG_LISTS	10	/* list0 .. list9, DIRECTORY_EXPAND_MAX each */

static const char *big_members[BIG_LISTS + 1][DIRECTORY_EXPAND_MAX];
static size_t big_nmembers[BIG_LISTS + 1];

/* listN@winery-co.co: members mN-I@example.org (outside the local
 * domains: no lookup each); "short" (index BIG_LISTS): one fewer. */
static void
big_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	struct dir_entry e = { DIR_ENTRY_ALIAS, NULL, NULL, 0 };
	unsigned n;

	if (strcmp(key, "short@winery-co.co") == 0)
		n = BIG_LISTS;
	else if (sscanf(key, "list%u@winery-co.co", &n) != 1 ||
	    n >= BIG_LISTS) {
		fake_lookup(d, key, cb, arg);
		return;
	}
	e.members = big_members[n];
	e.nmembers = big_nmembers[n];
	cb(arg, DIR_FOUND, &e);
}

static const struct directory_backend big_backend = {
	"big", fake_open, big_lookup, NULL,
};

static void
test_list_that_does_not_fit_is_refused_whole(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct directory *bigdir;
	struct smtp_session *s;
	char err[CONF_ERR_MAX], line[64], *got;
	size_t i, n;

	(void)state;
	for (n = 0; n <= BIG_LISTS; n++) {
		big_nmembers[n] = n < BIG_LISTS ? DIRECTORY_EXPAND_MAX :
		    DIRECTORY_EXPAND_MAX - 1;
		for (i = 0; i < big_nmembers[n]; i++) {
			snprintf(line, sizeof(line), "m%zu-%zu@example.org",
			    n, i);
			big_members[n][i] = strdup(line);
		}
	}
	bigdir = directory_open_backend(&big_backend, conf, err, sizeof(err));
	assert_non_null(bigdir);
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	s = smtp_session_new_env(1, conf, conf_vserver_find(conf, "intranet"),
	    bigdir, (struct sockaddr *)&sin, &ops, NULL, NULL);
	expect(s, "HELO c\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n",
	    "220 gw.test ESMTP postern\r\n250 gw.test\r\n"
	    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	/* 1 + 9 x 1000 = 9001 recipients. */
	for (n = 0; n + 1 < BIG_LISTS; n++) {
		snprintf(line, sizeof(line), "RCPT TO:<list%zu@winery-co.co>"
		    "\r\n", n);
		expect(s, line, "250 2.1.5 Ok\r\n");
	}
	assert_int_equal(s->env->nrcpts, 1 + (BIG_LISTS - 1) *
	    DIRECTORY_EXPAND_MAX);
	assert_int_equal(SMTP_RCPT_EXPANDED_MAX, BIG_LISTS *
	    DIRECTORY_EXPAND_MAX);
	/* list9 would make 10001: refused, the envelope unchanged. */
	expect(s, "RCPT TO:<list9@winery-co.co>\r\n",
	    "452 4.5.3 Too many recipients\r\n");
	assert_int_equal(s->env->nrcpts, 1 + (BIG_LISTS - 1) *
	    DIRECTORY_EXPAND_MAX);
	/* 999 more fit exactly; then nothing does. */
	expect(s, "RCPT TO:<short@winery-co.co>\r\n"
	    "RCPT TO:<kimy@winery-co.co>\r\n"
	    "RCPT TO:<list9@winery-co.co>\r\n"
	    "RCPT TO:<list0@winery-co.co>\r\n",
	    "250 2.1.5 Ok\r\n"
	    "452 4.5.3 Too many recipients\r\n"
	    "452 4.5.3 Too many recipients\r\n"
	    "250 2.1.5 Ok\r\n");	/* list0: all there already */
	got = feed(s, "DATA\r\nSubject: all\r\n\r\nhi\r\n.\r\n");
	assert_non_null(strstr(got, "250 2.0.0 Ok: queued as Q"));
	free(got);
	assert_non_null(committed);
	assert_int_equal(committed->nrcpts, SMTP_RCPT_EXPANDED_MAX);
	assert_string_equal(committed->rcpts[0].addr, "ericm@winery-co.co");
	for (i = 0; i < committed->nrcpts; i++) {
		assert_true(strncmp(committed->rcpts[i].addr, "m9-", 3) != 0);
		assert_string_not_equal(committed->rcpts[i].addr,
		    "kimy@winery-co.co");
	}
	smtp_session_free(s);
	directory_unref(bigdir);
	for (n = 0; n <= BIG_LISTS; n++)
		for (i = 0; i < big_nmembers[n]; i++)
			free((char *)big_members[n][i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_internet_transaction),
		cmocka_unit_test(test_intranet_relay),
		cmocka_unit_test(test_sequence_and_errors),
		cmocka_unit_test(test_blocked_sender_and_limits),
		cmocka_unit_test(test_bare_lf_in_data_closes),
		cmocka_unit_test(test_pregreet_refused),
		cmocka_unit_test(test_greet_wait_then_rate_limit),
		cmocka_unit_test(test_blocked_client_error_budget),
		cmocka_unit_test(test_shutdown_and_timeout_while_greeting),
		cmocka_unit_test(test_senders_file_and_counters),
		cmocka_unit_test(test_chunking_invariance),
		cmocka_unit_test(test_list_that_does_not_fit_is_refused_whole),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
