/*
 * Shared limits and greylisting in the session engine (smtp_limits.h,
 * docs/scale-out.md, docs/greylisting.md), driven from memory with
 * the store faked (fake_kv.h, answered by hand): the store's rate-limit
 * answer refuses a MAIL the local table would let through, and the
 * commands pipelined behind it wait; a store that times out or is down
 * leaves the local limit in force; the greeting waits for the shared
 * connection count, which is given back when the session ends or is
 * refused; the shared AUTH failures close the door; greylisting defers
 * a new triplet with 451 4.7.1 and lets it through after DELAY, from
 * the node's table alone and from the store, auto-allows the client, and
 * spares allow-client, relay clients and unknown users; a session freed
 * while it waits cancels what it waits for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fake_kv.h"
#include "ratelimit.h"
#include "session_fake.h"
#include "smtp_greet.h"
#include "smtp_limits.h"

#define RATE_LIMITED	"421 4.7.0 Rate limit exceeded: too many messages " \
			"from your address, try again later\r\n"
#define GREYLISTED	"451 4.7.1 Greylisted, try again later\r\n"
#define TOO_MANY_CONN	"421 4.7.0 Too many connections, try again later\r\n"

static const char *kv_config =
    "hostname gw.test\n"
    "spool /nonexistent\n"
    "local-domain winery-co.co\n"
    "directory file /nonexistent\n"
    "virtual-server shared {\n"
    "  listen 127.0.0.7:25\n"
    "  tls certificate /nonexistent.pem key /nonexistent.key\n"
    "  auth /nonexistent.auth\n"
    "  max-auth-failures 3\n"
    "  max-connections-per-ip 2\n"
    "  filter {\n"
    "    rate-limit 2/m\n"
    "  }\n"
    "}\n"
    "virtual-server grey {\n"
    "  listen 127.0.0.8:25\n"
    "  relay allow 10.0.0.0/8\n"
    "  filter {\n"
    "    greylist 2s\n"
    "    allow-client 198.51.100.0/24\n"
    "  }\n"
    "}\n"
    "virtual-server greyauto {\n"
    "  listen 127.0.0.9:25\n"
    "  filter {\n"
    "    greylist 2s 1h\n"
    "  }\n"
    "}\n"
    "virtual-server waitgreet {\n"
    "  listen 127.0.0.10:25\n"
    "  filter {\n"
    "    greet-wait 1s\n"
    "  }\n"
    "}\n"
    "connector out {\n"
    "  address-space * cost 1\n"
    "  home shared\n"
    "}\n";

static struct smtp_limits *lim;
static struct smtp_session_env env;

static int
setup(void **state)
{
	(void)state;
	config = kv_config;
	return fake_load_auth("ericm", "s3cret");
}

static int
teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

/* Each test: a fresh store, limits that use it, a local rate table. */
static int
each_setup(void **state)
{
	(void)state;
	fake_kv_reset();
	lim = smtp_limits_new();
	smtp_limits_set_kv(lim, fake_kv(), "gw1");
	memset(&env, 0, sizeof(env));
	env.limits = lim;
	env.ratelimit = ratelimit_new(0);
	env.authdb = db;
	env.authguard = auth_guard_new();
	return 0;
}

static int
each_teardown(void **state)
{
	(void)state;
	assert_int_equal(fake_kv_pending(), 0);
	ratelimit_free(env.ratelimit);
	auth_guard_free(env.authguard);
	smtp_limits_free(lim);
	return 0;
}

/* A session from peer, its greeting (if the store answered) dropped. */
static struct smtp_session *
start(const char *vsname, const char *peer)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct smtp_session *s;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, peer, &sin->sin_addr), 1);
	s = smtp_session_new_env(1, conf, conf_vserver_find(conf, vsname),
	    dir, (struct sockaddr *)&ss, &ops, NULL, &env);
	assert_non_null(s);
	return s;
}

/* start(), the shared connection count answered, the greeting dropped. */
static struct smtp_session *
greeted(const char *vsname, const char *peer)
{
	struct smtp_session *s = start(vsname, peer);

	assert_int_equal(fake_kv_step(), 1);
	assert_int_equal(s->state, SMTP_S_CONNECTED);
	buf_reset(&s->out);
	return s;
}

static char *
out(struct smtp_session *s)
{
	char *o = strndup(s->out.p ? s->out.p : "", s->out.len);

	buf_reset(&s->out);
	return o;
}

/* Feed all of in (the session may stop reading while it waits: what it
 * has not taken is fed again after each answer of the store, as the
 * server does); the replies. */
static char *
run(struct smtp_session *s, const char *in)
{
	size_t len = strlen(in), off = 0;

	for (;;) {
		off += smtp_session_input(s, in + off, len - off);
		if (off == len || smtp_session_closing(s))
			break;
		if (fake_kv_step() == 0)
			break;
	}
	while (fake_kv_step() > 0)
		;
	return out(s);
}

static void
expect(struct smtp_session *s, const char *in, const char *replies)
{
	char *got = run(s, in);

	assert_string_equal(got, replies);
	free(got);
}

/* ---- rate-limit ---- */

static void
test_rate_shared_refuses(void **state)
{
	struct smtp_session *s;

	(void)state;
	/* Another node counted two messages of this client this minute. */
	fake_kv_set_n("rl:shared:192.0.2.1", 2);
	s = greeted("shared", "192.0.2.1");
	/* The reply to MAIL, and what is pipelined behind it, wait. */
	assert_int_equal(smtp_session_input(s, "HELO c\r\nMAIL FROM:<a@x.org>"
	    "\r\nNOOP\r\n", 35), 29);
	assert_int_equal(smtp_session_waiting(s), SMTP_WAIT_SHARED);
	assert_int_equal(fake_kv_pending(), 1);
	assert_int_equal(fake_kv_step(), 1);
	assert_true(smtp_session_closing(s));
	free(run(s, ""));
	/* One request for the MAIL, none for HELO. */
	assert_int_equal(fake_kv_ops[FKV_WINDOW], 1);
	smtp_session_free(s);
	fake_kv_step();
	assert_int_equal(fake_kv_count("conn:shared:192.0.2.1"), 0);

	/* Under the shared limit the store lets it through. */
	s = greeted("shared", "192.0.2.2");
	expect(s, "HELO c\r\nMAIL FROM:<a@x.org>\r\nNOOP\r\n",
	    "250 gw.test\r\n250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n");
	assert_int_equal(fake_kv_n("rl:shared:192.0.2.2"), 1);
	smtp_session_free(s);
	fake_kv_step();
}

static void
test_rate_shared_message(void **state)
{
	struct smtp_session *s;
	char *got;

	(void)state;
	fake_kv_set_n("rl:shared:192.0.2.1", 2);
	s = greeted("shared", "192.0.2.1");
	got = run(s, "HELO c\r\nMAIL FROM:<a@x.org>\r\n");
	assert_string_equal(got, "250 gw.test\r\n" RATE_LIMITED);
	free(got);
	smtp_session_free(s);
	fake_kv_step();
}

static void
test_rate_fallback(void **state)
{
	static const enum kv_status modes[] = { KV_TIMEOUT, KV_DOWN,
	    KV_ERROR };
	struct smtp_session *s;
	char peer[32];

	(void)state;
	for (size_t m = 0; m < 3; m++) {
		fake_kv_mode = modes[m];
		snprintf(peer, sizeof(peer), "192.0.2.%zu", 10 + m);
		/* The store would refuse; it does not answer: the local
		 * table (2 a minute) decides. */
		for (int i = 0; i < 3; i++) {
			s = start("shared", peer);
			fake_kv_step();		/* the count: not known */
			assert_int_equal(s->state, SMTP_S_CONNECTED);
			buf_reset(&s->out);
			expect(s, "HELO c\r\nMAIL FROM:<a@x.org>\r\n",
			    i < 2 ? "250 gw.test\r\n250 2.1.0 Ok\r\n" :
			    "250 gw.test\r\n" RATE_LIMITED);
			smtp_session_free(s);
			fake_kv_step();
		}
	}
}

/* ---- max-connections-per-ip ---- */

static void
test_connections_shared(void **state)
{
	struct smtp_session *a, *b;
	char *got;

	(void)state;
	/* Another node holds one connection of this client. */
	fake_kv_set_part("conn:shared:192.0.2.5", "gw2", 1);
	a = start("shared", "192.0.2.5");
	/* The greeting waits for the count; input stays unread. */
	assert_int_equal(a->out.len, 0);
	assert_int_equal(smtp_session_input(a, "EHLO c\r\n", 8), 0);
	assert_int_equal(fake_kv_step(), 1);
	got = out(a);
	assert_string_equal(got, "220 gw.test ESMTP postern\r\n");
	free(got);
	assert_int_equal(fake_kv_count("conn:shared:192.0.2.5"), 2);
	/* The third over both nodes: 421, and its count given back. */
	b = start("shared", "192.0.2.5");
	assert_int_equal(fake_kv_step(), 1);
	got = out(b);
	assert_string_equal(got, TOO_MANY_CONN);
	free(got);
	assert_true(smtp_session_closing(b));
	assert_int_equal(fake_kv_step(), 1);	/* the -1 */
	assert_int_equal(fake_kv_count("conn:shared:192.0.2.5"), 2);
	smtp_session_free(b);
	assert_int_equal(fake_kv_pending(), 0);	/* not twice */
	/* The session ends: -1, fire and forget. */
	smtp_session_free(a);
	assert_int_equal(fake_kv_step(), 1);
	assert_int_equal(fake_kv_count("conn:shared:192.0.2.5"), 1);
	assert_true(fake_kv_ttl("conn:shared:192.0.2.5") >= 3600);
	/* A store that does not answer lets the client in (the local
	 * count already did). */
	fake_kv_mode = KV_TIMEOUT;
	a = start("shared", "192.0.2.5");
	assert_int_equal(fake_kv_step(), 1);
	assert_int_equal(a->state, SMTP_S_CONNECTED);
	smtp_session_free(a);
	fake_kv_step();
}

static void
test_cancel_on_free(void **state)
{
	struct smtp_session *s;

	(void)state;
	/* Freed while the greeting waits: the wait is cancelled, the count
	 * given back. */
	s = start("shared", "192.0.2.6");
	assert_int_equal(fake_kv_pending(), 1);
	smtp_session_free(s);
	assert_int_equal(fake_kv_cancels, 1);
	assert_int_equal(fake_kv_pending(), 1);		/* the -1 */
	assert_int_equal(fake_kv_ops[FKV_COUNT], 2);
	fake_kv_step();
	/* Freed while MAIL waits. */
	s = greeted("shared", "192.0.2.6");
	smtp_session_input(s, "HELO c\r\nMAIL FROM:<a@x.org>\r\n", 29);
	assert_int_equal(smtp_session_waiting(s), SMTP_WAIT_SHARED);
	smtp_session_free(s);
	assert_int_equal(fake_kv_cancels, 2);
	fake_kv_step();
	/* Freed while RCPT waits for the greylist. */
	s = greeted("grey", "203.0.113.9");
	smtp_session_input(s, "HELO c\r\nMAIL FROM:<a@x.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n", 59);
	assert_int_equal(smtp_session_waiting(s), SMTP_WAIT_DIRECTORY);
	assert_int_equal(fake_kv_pending(), 2);
	smtp_session_free(s);
	assert_int_equal(fake_kv_cancels, 4);
	fake_kv_step();
}

/* The final greeting waits for both greet-wait and the shared count,
 * whichever ends last. */
static void
test_connections_with_greet_wait(void **state)
{
	struct smtp_session *s;
	char *got;

	(void)state;
	s = start("waitgreet", "192.0.2.40");
	got = out(s);
	assert_string_equal(got, "220-gw.test ESMTP postern\r\n");
	free(got);
	assert_int_equal(fake_kv_step(), 1);
	assert_int_equal(s->state, SMTP_S_GREETING);
	assert_int_equal(s->out.len, 0);
	smtp_greet_elapsed(s);
	got = out(s);
	assert_string_equal(got, "220 gw.test ESMTP postern\r\n");
	free(got);
	smtp_session_free(s);
	fake_kv_step();
	/* The other way round: greet-wait over first, the count later;
	 * meanwhile input waits unread (not a pregreet). */
	s = start("waitgreet", "192.0.2.41");
	free(out(s));
	smtp_greet_elapsed(s);
	assert_int_equal(s->out.len, 0);
	assert_int_equal(smtp_session_input(s, "EHLO c\r\n", 8), 0);
	assert_int_equal(fake_kv_step(), 1);
	got = out(s);
	assert_string_equal(got, "220 gw.test ESMTP postern\r\n");
	free(got);
	expect(s, "HELO c\r\n", "250 gw.test\r\n");
	smtp_session_free(s);
	fake_kv_step();
	/* Over the shared count while the greet-wait runs: the 220- reply
	 * ends with the 421. */
	fake_kv_set_part("conn:waitgreet:192.0.2.42", "gw2", 50);
	s = start("waitgreet", "192.0.2.42");
	free(out(s));
	assert_int_equal(fake_kv_step(), 1);
	got = out(s);
	assert_string_equal(got, TOO_MANY_CONN);
	free(got);
	assert_true(smtp_session_closing(s));
	smtp_session_free(s);
	fake_kv_step();
}

/* ---- max-auth-failures ---- */

static void
test_auth_shared(void **state)
{
	struct smtp_session *s;
	char *got;

	(void)state;
	/* Three failures on other nodes: the guard closes the door before
	 * any password is checked. */
	fake_kv_set_n("authfail:shared:192.0.2.7", 3);
	s = greeted("shared", "192.0.2.7");
	smtp_session_tls_started(s, "TLSv1.3 test");
	got = run(s, "EHLO c\r\nAUTH PLAIN AGVyaWNtAHdyb25n\r\n");
	assert_non_null(strstr(got, "421 4.7.0 Too many authentication "
	    "failures"));
	free(got);
	smtp_session_free(s);
	fake_kv_step();
	/* Under it: a failure is counted in the store too. */
	s = greeted("shared", "192.0.2.8");
	smtp_session_tls_started(s, "TLSv1.3 test");
	got = run(s, "EHLO c\r\nAUTH PLAIN AGVyaWNtAHdyb25n\r\n");
	assert_non_null(strstr(got, "535 5.7.8"));
	free(got);
	assert_int_equal(fake_kv_n("authfail:shared:192.0.2.8"), 1);
	assert_int_equal(fake_kv_ttl("authfail:shared:192.0.2.8"), 3600);
	/* The store down: the local count decides, and the held AUTH
	 * line goes on. */
	fake_kv_mode = KV_DOWN;
	got = run(s, "AUTH PLAIN AGVyaWNtAHMzY3JldA==\r\n");
	assert_string_equal(got, "235 2.7.0 Authentication successful\r\n");
	free(got);
	smtp_session_free(s);
	fake_kv_step();
}

/* ---- greylisting ---- */

static void
test_greylist_shared(void **state)
{
	struct smtp_session *s;
	static const char *tx = "HELO c\r\nMAIL FROM:<a@x.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n";

	(void)state;
	s = greeted("grey", "203.0.113.9");
	expect(s, tx, "250 gw.test\r\n250 2.1.0 Ok\r\n" GREYLISTED);
	/* The two questions went out together. */
	assert_int_equal(fake_kv_ops[FKV_GET], 1);
	assert_int_equal(fake_kv_ops[FKV_FIRST], 1);
	smtp_session_free(s);
	fake_kv_step();
	/* Retried from another address of the /24 after DELAY (on the
	 * store's clock): it passes, and the pass is recorded. */
	fake_kv_now += 2;
	s = greeted("grey", "203.0.113.10");
	expect(s, tx, "250 gw.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	smtp_session_free(s);
	fake_kv_step();
	assert_int_equal(fake_kv_ops[FKV_SET], 1);
	/* Unknown users are refused before greylisting costs anything. */
	s = greeted("grey", "203.0.113.9");
	expect(s, "HELO c\r\nMAIL FROM:<a@x.org>\r\n"
	    "RCPT TO:<nobody@winery-co.co>\r\n", "250 gw.test\r\n"
	    "250 2.1.0 Ok\r\n550 5.1.1 Recipient address rejected: "
	    "user unknown\r\n");
	assert_int_equal(fake_kv_ops[FKV_FIRST], 2);
	smtp_session_free(s);
	fake_kv_step();
	/* allow-client and relay clients skip it. */
	s = greeted("grey", "198.51.100.3");
	expect(s, tx, "250 gw.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	smtp_session_free(s);
	fake_kv_step();
	s = greeted("grey", "10.1.2.3");
	expect(s, tx, "250 gw.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	smtp_session_free(s);
	fake_kv_step();
	assert_int_equal(fake_kv_ops[FKV_FIRST], 2);
}

static void
test_greylist_auto_allow(void **state)
{
	struct smtp_session *s;
	static const char *tx = "HELO c\r\nMAIL FROM:<a@x.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n";

	(void)state;
	s = greeted("greyauto", "203.0.113.9");
	expect(s, tx, "250 gw.test\r\n250 2.1.0 Ok\r\n" GREYLISTED);
	smtp_session_free(s);
	fake_kv_step();
	fake_kv_now += 5;
	s = greeted("greyauto", "203.0.113.9");
	expect(s, tx, "250 gw.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	smtp_session_free(s);
	fake_kv_step();
	assert_true(fake_kv_exists("greyok:greyauto:203.0.113.0/24"));
	assert_int_equal(fake_kv_ttl("greyok:greyauto:203.0.113.0/24"), 3600);
	/* Another sender and recipient of that network: let through at
	 * once (the store says so; this node's table too). */
	s = greeted("greyauto", "203.0.113.77");
	expect(s, "HELO c\r\nMAIL FROM:<z@y.org>\r\n"
	    "RCPT TO:<kimy@winery-co.co>\r\n",
	    "250 gw.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	smtp_session_free(s);
	fake_kv_step();
}

static void
test_greylist_local(void **state)
{
	struct smtp_session *s;
	static const char *tx = "HELO c\r\nMAIL FROM:<a@x.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n";

	(void)state;
	/* The store down: this node's table decides (a triplet it saw
	 * DELAY ago would pass; this one is new). */
	fake_kv_mode = KV_TIMEOUT;
	s = greeted("grey", "203.0.113.20");
	expect(s, tx, "250 gw.test\r\n250 2.1.0 Ok\r\n" GREYLISTED);
	smtp_session_free(s);
	fake_kv_step();
	/* Without a store at all: from memory, no request. */
	smtp_limits_set_kv(lim, NULL, "gw1");
	memset(fake_kv_ops, 0, sizeof(fake_kv_ops));
	s = start("grey", "203.0.113.30");
	assert_int_equal(s->state, SMTP_S_CONNECTED);
	buf_reset(&s->out);
	expect(s, tx, "250 gw.test\r\n250 2.1.0 Ok\r\n" GREYLISTED);
	expect(s, "RCPT TO:<ericm@winery-co.co>\r\n", GREYLISTED);
	smtp_session_free(s);
	for (int i = 0; i < FKV_NOPS; i++)
		assert_int_equal(fake_kv_ops[i], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rate_shared_refuses,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_rate_shared_message,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_rate_fallback,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_connections_shared,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(
		    test_connections_with_greet_wait, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_on_free,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_auth_shared,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_greylist_shared,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_greylist_auto_allow,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_greylist_local,
		    each_setup, each_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
