/*
 * Per-client limits in the session engine (docs/architecture.md, isolation), driven from memory as
 * in test_session.c: the rate limit and the AUTH failure guard count an
 * IPv6 client by its /64 and an IPv4-mapped client as its IPv4 address;
 * an AUTH attempt counts when it starts, so many connections of one
 * client cannot get more than max-auth-failures guesses to the verifier,
 * and the count is taken back when no guess was made;
 * the verifier's full queue answers 454 4.7.0.  Sessions are made "under
 * TLS" by telling them the handshake is done; the verifier's callbacks
 * never run (its event base is not dispatched), so every check stays in
 * flight and nothing depends on time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "postern_limits.h"
#include "ratelimit.h"
#include "session_fake.h"

#define PASSWORD	"s3cret"
/* base64 of "\0ericm\0s3cret" and of "\0ericm\0wrong" */
#define AUTH_GOOD	"AUTH PLAIN AGVyaWNtAHMzY3JldA==\r\n"
#define AUTH_BAD	"AUTH PLAIN AGVyaWNtAHdyb25n\r\n"
#define TOO_MANY	"421 4.7.0 Too many authentication failures, " \
			"closing connection\r\n"
#define TEMPFAIL	"454 4.7.0 Temporary authentication failure\r\n"
#define RATE_LIMITED	"421 4.7.0 Rate limit exceeded: too many messages " \
			"from your address, try again later\r\n"


static int
setup(void **state)
{
	(void)state;
	if (fake_load_auth("ericm", PASSWORD) == -1)
		return -1;
	evthread_use_pthreads();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

/* A session from peer ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"),
 * greeted, under TLS, with its replies so far dropped. */
static struct smtp_session *
start(const char *vsname, const char *peer, const struct smtp_session_env *env)
{
	struct sockaddr_storage ss;
	struct smtp_session *s;

	memset(&ss, 0, sizeof(ss));
	if (strchr(peer, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, peer, &sin6->sin6_addr),
		    1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, peer, &sin->sin_addr), 1);
	}
	s = smtp_session_new_env(1, conf, conf_vserver_find(conf, vsname),
	    dir, (struct sockaddr *)&ss, &ops, NULL, env);
	assert_non_null(s);
	smtp_session_tls_started(s, "TLSv1.3 test");
	buf_reset(&s->out);
	return s;
}

/* Feed in; the replies written since the last call (caller frees). */
static char *
feed(struct smtp_session *s, const char *in)
{
	size_t len = strlen(in), used = smtp_session_input(s, in, len);

	assert_true(used == len || smtp_session_closing(s) ||
	    smtp_session_waiting(s));
	char *out = strndup(s->out.p ? s->out.p : "", s->out.len);
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

/* EHLO, then the AUTH line; the reply to AUTH (caller frees). */
static char *
ehlo_auth(struct smtp_session *s, const char *auth)
{
	free(feed(s, "EHLO c\r\n"));
	return feed(s, auth);
}

static void
expect_auth(struct smtp_session *s, const char *auth, const char *reply)
{
	char *got = ehlo_auth(s, auth);

	assert_string_equal(got, reply);
	free(got);
}

static unsigned
guard_count(struct auth_guard *g, const char *vs, const char *client)
{
	char key[128];

	snprintf(key, sizeof(key), "%s %s", vs, client);
	return auth_guard_failures(g, key, ratelimit_now());
}

/* ---- rate-limit ---- */

static void
test_rate_limit_counts_ipv6_by_64(void **state)
{
	struct smtp_session_env env = { 0 };
	struct smtp_session *s;
	static const char *mail = "HELO c\r\nMAIL FROM:<a@example.org>\r\n";

	(void)state;
	env.ratelimit = ratelimit_new(0);
	/* Two addresses of one /64 share the budget of 2 a minute. */
	s = start("limited", "2001:db8:1:2::a", &env);
	expect(s, mail, "250 gw.test\r\n250 2.1.0 Ok\r\n");
	smtp_session_free(s);
	s = start("limited", "2001:db8:1:2:ffff:1:2:3", &env);
	expect(s, mail, "250 gw.test\r\n250 2.1.0 Ok\r\n");
	smtp_session_free(s);
	s = start("limited", "2001:db8:1:2::b", &env);
	expect(s, mail, "250 gw.test\r\n" RATE_LIMITED);
	smtp_session_free(s);
	assert_int_equal(ratelimit_count(env.ratelimit,
	    "limited 2001:db8:1:2::/64", ratelimit_now()), 2);
	/* The next /64 is another client. */
	s = start("limited", "2001:db8:1:3::a", &env);
	expect(s, mail, "250 gw.test\r\n250 2.1.0 Ok\r\n");
	smtp_session_free(s);
	/* IPv4 counts by address; a mapped peer is its IPv4 address. */
	s = start("limited", "192.0.2.1", &env);
	expect(s, mail, "250 gw.test\r\n250 2.1.0 Ok\r\n");
	smtp_session_free(s);
	s = start("limited", "::ffff:192.0.2.1", &env);
	expect(s, mail, "250 gw.test\r\n250 2.1.0 Ok\r\n");
	smtp_session_free(s);
	s = start("limited", "192.0.2.1", &env);
	expect(s, mail, "250 gw.test\r\n" RATE_LIMITED);
	smtp_session_free(s);
	s = start("limited", "192.0.2.2", &env);
	expect(s, mail, "250 gw.test\r\n250 2.1.0 Ok\r\n");
	smtp_session_free(s);
	ratelimit_free(env.ratelimit);
}

/* ---- max-auth-failures ---- */

static void
test_auth_failures_count_ipv6_by_64(void **state)
{
	struct smtp_session_env env = { .authdb = db };
	struct smtp_session *s;
	static const char *peers[] = { "2001:db8:5:6::1", "2001:db8:5:6::2",
	    "2001:db8:5:6:8000::3" };

	(void)state;
	env.authguard = auth_guard_new();	/* no verifier: checked here */
	for (size_t i = 0; i < 3; i++) {
		s = start("limited", peers[i], &env);
		expect_auth(s, AUTH_BAD,
		    "535 5.7.8 Authentication credentials invalid\r\n");
		smtp_session_free(s);
	}
	assert_int_equal(guard_count(env.authguard, "limited",
	    "2001:db8:5:6::/64"), 3);
	/* Another address of that /64: refused, its password unchecked. */
	s = start("limited", "2001:db8:5:6::99", &env);
	expect_auth(s, AUTH_GOOD, TOO_MANY);
	assert_true(smtp_session_closing(s));
	smtp_session_free(s);
	/* The next /64, and an IPv4 client, are not affected. */
	s = start("limited", "2001:db8:5:7::1", &env);
	expect_auth(s, AUTH_GOOD, "235 2.7.0 Authentication successful\r\n");
	smtp_session_free(s);
	/* A mapped peer and the IPv4 one are one client. */
	for (int i = 0; i < 3; i++) {
		s = start("limited", i % 2 ? "192.0.2.9" : "::ffff:192.0.2.9",
		    &env);
		expect_auth(s, AUTH_BAD,
		    "535 5.7.8 Authentication credentials invalid\r\n");
		smtp_session_free(s);
	}
	s = start("limited", "192.0.2.9", &env);
	expect_auth(s, AUTH_GOOD, TOO_MANY);
	smtp_session_free(s);
	auth_guard_free(env.authguard);
}

/*
 * Many connections of one client start AUTH before any verdict: only
 * max-auth-failures (3) reach the verifier; the others are refused at
 * once.  The verifier's base is never dispatched, so no verdict comes.
 */
static void
test_parallel_auth_capped_before_verdicts(void **state)
{
	struct smtp_session_env env = { .authdb = db };
	struct event_base *base = event_base_new();
	struct smtp_session *s[10];
	char peer[64];
	int checking = 0;

	(void)state;
	env.authguard = auth_guard_new();
	env.verifier = auth_verifier_new(base);
	for (int i = 0; i < 10; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:9:9::%x", i + 1);
		s[i] = start("limited", peer, &env);
		char *got = ehlo_auth(s[i], i % 2 ? AUTH_BAD : AUTH_GOOD);

		if (s[i]->authreq != NULL) {
			assert_string_equal(got, "");	/* waiting */
			assert_int_equal(smtp_session_waiting(s[i]),
			    SMTP_WAIT_AUTH);
			checking++;
		} else {
			assert_string_equal(got, TOO_MANY);
			assert_true(smtp_session_closing(s[i]));
		}
		free(got);
	}
	assert_int_equal(checking, 3);
	assert_non_null(s[0]->authreq);
	assert_non_null(s[2]->authreq);
	assert_null(s[3]->authreq);
	assert_int_equal(auth_verifier_pending(env.verifier), 3);
	assert_int_equal(auth_verifier_client_pending(env.verifier,
	    "2001:db8:9:9::/64"), 3);
	assert_int_equal(guard_count(env.authguard, "limited",
	    "2001:db8:9:9::/64"), 3);
	/* Clients that leave with their password sent: still counted. */
	for (int i = 0; i < 10; i++)
		smtp_session_free(s[i]);
	assert_int_equal(guard_count(env.authguard, "limited",
	    "2001:db8:9:9::/64"), 3);
	s[0] = start("limited", "2001:db8:9:9::77", &env);
	expect_auth(s[0], AUTH_GOOD, TOO_MANY);
	smtp_session_free(s[0]);
	auth_verifier_free(env.verifier);
	auth_guard_free(env.authguard);
	event_base_free(base);
}

/* A success, an abort, bad base64 and a client gone before answering take
 * the count back: only guesses stay counted. */
static void
test_auth_count_taken_back(void **state)
{
	struct smtp_session_env env = { .authdb = db };
	struct smtp_session *s[4];

	(void)state;
	env.authguard = auth_guard_new();
	for (int i = 0; i < 5; i++) {
		s[0] = start("limited", "198.51.100.7", &env);
		expect_auth(s[0], AUTH_GOOD,
		    "235 2.7.0 Authentication successful\r\n");
		smtp_session_free(s[0]);
	}
	assert_int_equal(guard_count(env.authguard, "limited",
	    "198.51.100.7"), 0);
	/* Three exchanges open (prompts answered later) hold the budget. */
	for (int i = 0; i < 3; i++) {
		s[i] = start("limited", "198.51.100.7", &env);
		expect_auth(s[i], "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n");
	}
	assert_int_equal(guard_count(env.authguard, "limited",
	    "198.51.100.7"), 3);
	s[3] = start("limited", "198.51.100.7", &env);
	expect_auth(s[3], "AUTH PLAIN\r\n", TOO_MANY);
	smtp_session_free(s[3]);
	expect(s[0], "*\r\n", "501 5.7.0 Authentication aborted\r\n");
	expect(s[1], "not base64!\r\n", "501 5.5.2 Invalid base64 data\r\n");
	smtp_session_free(s[2]);		/* gone at the prompt */
	assert_int_equal(guard_count(env.authguard, "limited",
	    "198.51.100.7"), 0);
	/* A wrong password stays counted; the right one is taken back. */
	expect(s[0], AUTH_BAD,
	    "535 5.7.8 Authentication credentials invalid\r\n");
	expect(s[1], "AUTH LOGIN ZXJpY20=\r\n", "334 UGFzc3dvcmQ6\r\n");
	assert_int_equal(guard_count(env.authguard, "limited",
	    "198.51.100.7"), 2);
	expect(s[1], "czNjcmV0\r\n",
	    "235 2.7.0 Authentication successful\r\n");
	assert_int_equal(guard_count(env.authguard, "limited",
	    "198.51.100.7"), 1);
	smtp_session_free(s[0]);
	smtp_session_free(s[1]);
	auth_guard_free(env.authguard);
}

/* An exchange cut short by a bad line keeps its count until the session
 * tries again, which takes that count over instead of adding one. */
static void
test_abandoned_exchange_count_taken_over(void **state)
{
	struct smtp_session_env env = { .authdb = db };
	struct smtp_session *s[3];
	char line[SMTP_CMD_LINE_MAX + 8];

	(void)state;
	env.authguard = auth_guard_new();
	s[0] = start("limited", "2001:db8:c::1", &env);
	expect_auth(s[0], "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n");
	memset(line, 'A', sizeof(line) - 3);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	expect(s[0], line, "500 5.5.2 Line too long\r\n");
	assert_int_equal(guard_count(env.authguard, "limited",
	    "2001:db8:c::/64"), 1);
	/* Two more attempts of the client in progress: 3 of 3 counted. */
	for (int i = 1; i < 3; i++) {
		s[i] = start("limited", "2001:db8:c::2", &env);
		expect_auth(s[i], "AUTH PLAIN\r\n", "334 \r\n");
	}
	assert_int_equal(guard_count(env.authguard, "limited",
	    "2001:db8:c::/64"), 3);
	/* The first session may try again: its count is its own. */
	expect(s[0], AUTH_GOOD, "235 2.7.0 Authentication successful\r\n");
	assert_int_equal(guard_count(env.authguard, "limited",
	    "2001:db8:c::/64"), 2);
	for (int i = 0; i < 3; i++)
		smtp_session_free(s[i]);
	assert_int_equal(guard_count(env.authguard, "limited",
	    "2001:db8:c::/64"), 0);
	auth_guard_free(env.authguard);
}

/* ---- the verifier's bounds ---- */

static void
test_verifier_full_answers_454(void **state)
{
	struct smtp_session_env env = { .authdb = db };
	struct event_base *base = event_base_new();
	struct smtp_session **s;
	size_t n = 0, max = AUTH_VERIFY_QUEUE_MAX + 2 * AUTH_VERIFY_CLIENT_MAX;
	char peer[64];

	(void)state;
	s = calloc(max, sizeof(*s));
	env.authguard = auth_guard_new();
	env.verifier = auth_verifier_new(base);
	/* One client (one /64) gets AUTH_VERIFY_CLIENT_MAX checks queued,
	 * then 454 at once, and that attempt is not counted. */
	for (int i = 0; i <= AUTH_VERIFY_CLIENT_MAX; i++, n++) {
		snprintf(peer, sizeof(peer), "2001:db8:a:b::%x", i + 1);
		s[n] = start("submission", peer, &env);
		expect_auth(s[n], AUTH_BAD, i < AUTH_VERIFY_CLIENT_MAX ? "" :
		    TEMPFAIL);
		assert_int_equal(smtp_session_waiting(s[n]),
		    i < AUTH_VERIFY_CLIENT_MAX ? SMTP_WAIT_AUTH :
		    SMTP_WAIT_NONE);
	}
	assert_false(smtp_session_closing(s[n - 1]));
	assert_int_equal(guard_count(env.authguard, "submission",
	    "2001:db8:a:b::/64"), AUTH_VERIFY_CLIENT_MAX);
	/* The session stays usable: AUTH again, still full. */
	expect(s[n - 1], AUTH_GOOD, TEMPFAIL);
	/* Other clients fill the queue; past AUTH_VERIFY_QUEUE_MAX in all,
	 * a client with nothing queued gets 454 too. */
	for (int c = 0; auth_verifier_pending(env.verifier) <
	    AUTH_VERIFY_QUEUE_MAX; c++)
		for (int i = 0; i < AUTH_VERIFY_CLIENT_MAX &&
		    auth_verifier_pending(env.verifier) <
		    AUTH_VERIFY_QUEUE_MAX; i++, n++) {
			snprintf(peer, sizeof(peer), "192.0.2.%d", c);
			s[n] = start("submission", peer, &env);
			expect_auth(s[n], AUTH_BAD, "");
		}
	assert_true(n < max);
	s[n] = start("submission", "203.0.113.1", &env);
	expect_auth(s[n], AUTH_GOOD, TEMPFAIL);
	assert_int_equal(guard_count(env.authguard, "submission",
	    "203.0.113.1"), 0);
	n++;
	assert_int_equal(auth_verifier_pending(env.verifier),
	    AUTH_VERIFY_QUEUE_MAX);
	for (size_t i = 0; i < n; i++)
		smtp_session_free(s[i]);
	auth_verifier_free(env.verifier);
	auth_guard_free(env.authguard);
	event_base_free(base);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_limit_counts_ipv6_by_64),
		cmocka_unit_test(test_auth_failures_count_ipv6_by_64),
		cmocka_unit_test(test_parallel_auth_capped_before_verdicts),
		cmocka_unit_test(test_auth_count_taken_back),
		cmocka_unit_test(test_abandoned_exchange_count_taken_over),
		cmocka_unit_test(test_verifier_full_answers_454),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
