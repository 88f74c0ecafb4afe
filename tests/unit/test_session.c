/*
 * Golden transcripts against the SMTP session engine, driven from memory:
 * no sockets, a directory backend answering from a table, and a commit
 * hook that records what would be queued.  Each transcript is sent twice:
 * in one piece and one byte at a time, and the replies must be identical
 * (chunking invariance).  The filter tests drive the connection phase by
 * hand (greet-wait elapsing, pregreet input) and check the per-rule
 * counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "directory.h"
#include "queue.h"
#include "ratelimit.h"
#include "senderlist.h"
#include "smtp_greet.h"
#include "smtp_session.h"
#include "xmalloc.h"

static const char *config =
    "hostname gw.test\n"
    "spool /nonexistent\n"
    "local-domain winery-co.co\n"
    "directory file /nonexistent\n"
    "virtual-server internet {\n"
    "  listen 127.0.0.2:25\n"
    "  max-recipients 4\n"
    "  max-errors 2\n"
    "  filter {\n"
    "    block-sender @bad.example\n"
    "  }\n"
    "}\n"
    "virtual-server intranet {\n"
    "  listen 127.0.0.3:25\n"
    "  relay allow 10.0.0.0/8\n"
    "}\n"
    "virtual-server filtered {\n"
    "  listen 127.0.0.4:25\n"
    "  max-errors 2\n"
    "  filter {\n"
    "    block-client 192.0.2.66/32\n"
    "    greet-wait 1s\n"
    "    rate-limit 2/m\n"
    "  }\n"
    "}\n"
    "connector out {\n"
    "  address-space * cost 1\n"
    "  home intranet\n"
    "}\n";

/* A backend that knows two users and answers synchronously. */
static void
fake_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	struct dir_entry e = { DIR_ENTRY_MAILBOX, "mbx1", NULL, 0 };

	(void)d;
	if (strcmp(key, "ericm@winery-co.co") == 0 ||
	    strcmp(key, "kimy@winery-co.co") == 0)
		cb(arg, DIR_FOUND, &e);
	else if (strcmp(key, "temp@winery-co.co") == 0)
		cb(arg, DIR_TEMPFAIL, NULL);
	else
		cb(arg, DIR_NOTFOUND, NULL);
}

static int
fake_open(struct directory *d, const struct conf *c, char *err, size_t len)
{
	(void)d;
	(void)c;
	(void)err;
	(void)len;
	return 0;
}

static const struct directory_backend fake_backend = {
	"fake", fake_open, fake_lookup, NULL,
};

static struct queue_envelope *committed;
static size_t committed_len;
static char bodies[1 << 16];	/* every committed message, without the
				   Received: header (it holds the time) */
static size_t bodies_len;
static unsigned rng = 1;	/* chunk sizes when run() gets chunk 0 */

static size_t
next_chunk(void)
{
	rng = rng * 1103515245 + 12345;
	return 1 + (rng >> 16) % 64;
}

/* The spool file of the message being received (spool_write). */
static char *spooled;
static size_t spooled_len, spooled_cap;
static int spool_writes, spool_aborts;
static int spool_fail;		/* errno spool_write returns, or 0 */
static char *last_body;		/* the last committed message, whole */

static int
fake_spool_write(struct smtp_session *s, const char *p, size_t n)
{
	(void)s;
	if (spool_fail)
		return spool_fail;
	if (n > (8u << 20) - spooled_len)
		return EFBIG;
	if (spooled_len + n > spooled_cap) {
		spooled_cap = (spooled_len + n) * 2;
		spooled = xreallocarray(spooled, spooled_cap, 1);
	}
	memcpy(spooled + spooled_len, p, n);
	spooled_len += n;
	spool_writes++;
	return 0;
}

static void
fake_spool_abort(struct smtp_session *s)
{
	(void)s;
	spooled_len = 0;
	spool_aborts++;
}

static void
fake_commit(struct smtp_session *s, struct queue_envelope *env, char *tail,
    size_t taillen)
{
	size_t skip = 0, len = spooled_len + taillen;
	char *body = xmalloc(len + 1);

	(void)s;
	if (spooled_len)
		memcpy(body, spooled, spooled_len);
	if (taillen)
		memcpy(body + spooled_len, tail, taillen);
	free(tail);
	spooled_len = 0;
	queue_envelope_free(committed);
	committed = env;
	committed_len = len;
	free(last_body);
	last_body = xmalloc(len + 1);
	memcpy(last_body, body, len);
	/* Received: is three lines (smtp_received.c). */
	for (int lines = 0; lines < 3 && skip < len; skip++)
		if (body[skip] == '\n')
			lines++;
	if (bodies_len + len - skip < sizeof(bodies)) {
		memcpy(bodies + bodies_len, body + skip, len - skip);
		bodies_len += len - skip;
	}
	free(body);
}

static const struct smtp_session_ops ops = {
	.spool_write = fake_spool_write,
	.spool_abort = fake_spool_abort,
	.commit = fake_commit,
};

static struct conf *conf;
static struct directory *dir;

static int
setup(void **state)
{
	char err[CONF_ERR_MAX];

	(void)state;
	if (conf_load_string("test.conf", config, &conf, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	dir = directory_open_backend(&fake_backend, conf, err, sizeof(err));
	return dir ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	directory_unref(dir);
	conf_unref(conf);
	queue_envelope_free(committed);
	committed = NULL;
	free(last_body);
	last_body = NULL;
	free(spooled);
	spooled = NULL;
	spooled_len = spooled_cap = 0;
	return 0;
}

/*
 * Run a transcript; the commit completes at once with id "Q".  Returns
 * the replies (caller frees).
 */
static char *
run(const char *vsname, const char *peer, const char *input, size_t chunk)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct smtp_session *s;
	size_t len = strlen(input), off = 0, pending = 0;
	char *replies = calloc(1, 65536), *buffered = calloc(1, len + 1);

	inet_pton(AF_INET, peer, &sin.sin_addr);
	s = smtp_session_new(1, conf, conf_vserver_find(conf, vsname), dir,
	    (struct sockaddr *)&sin, &ops, NULL);
	while (off < len || pending) {
		size_t want = chunk ? chunk : next_chunk();
		size_t n = len - off < want ? len - off : want, used;

		memcpy(buffered + pending, input + off, n);
		pending += n;
		off += n;
		used = smtp_session_input(s, buffered, pending);
		memmove(buffered, buffered + used, pending - used);
		pending -= used;
		if (s->waiting == SMTP_WAIT_COMMIT)
			smtp_session_commit_done(s, 0, "Q");
		else if (n == 0 || smtp_session_closing(s))
			break;
	}
	strncat(replies, s->out.p ? s->out.p : "", 65535);
	smtp_session_free(s);
	free(buffered);
	return replies;
}

static void
check(const char *vs, const char *peer, const char *in, const char *expect)
{
	char *whole = run(vs, peer, in, strlen(in) + 1);
	char *bytes = run(vs, peer, in, 1);

	assert_string_equal(whole, expect);
	assert_string_equal(bytes, expect);
	free(whole);
	free(bytes);
}

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

static struct smtp_session *
start(const char *vsname, const char *peer, const struct smtp_session_env *env)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	inet_pton(AF_INET, peer, &sin.sin_addr);
	return smtp_session_new_env(1, conf, conf_vserver_find(conf, vsname),
	    dir, (struct sockaddr *)&sin, &ops, NULL, env);
}

/* Feed everything; the replies written since the last call. */
static char *
feed(struct smtp_session *s, const char *in)
{
	size_t len = strlen(in), used = smtp_session_input(s, in, len);
	char *out;

	if (s->waiting == SMTP_WAIT_COMMIT)
		smtp_session_commit_done(s, 0, "Q");
	assert_true(used == len || smtp_session_closing(s));
	out = strndup(s->out.p ? s->out.p : "", s->out.len);
	buf_reset(&s->out);
	return out;
}

static void
expect(struct smtp_session *s, const char *in, const char *replies)
{
	char *got = feed(s, in);

	assert_string_equal(got, replies);
	free(got);
}

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

static struct smtp_session *
new_session(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	return smtp_session_new(1, conf, conf_vserver_find(conf, "internet"),
	    dir, (struct sockaddr *)&sin, &ops, NULL);
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
	smtp_session_commit_done(s, 0, "Q");
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
	smtp_session_commit_done(s, 0, "Q");
	assert_non_null(strstr(s->out.p, "250 2.0.0 Ok: queued as Q"));
	assert_true(spool_writes > 10);
	assert_int_equal(spool_aborts, 0);
	assert_true(committed_len > total);
	assert_memory_equal(last_body + committed_len - total, line, 100);
	smtp_session_free(s);
	free(line);
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
		cmocka_unit_test(test_data_streams_to_spool),
		cmocka_unit_test(test_data_spool_failure_and_abort),
		cmocka_unit_test(test_bdat_transcripts),
		cmocka_unit_test(test_bdat_streams_to_spool),
		cmocka_unit_test(test_list_that_does_not_fit_is_refused_whole),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
