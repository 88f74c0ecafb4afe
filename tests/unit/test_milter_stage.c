/*
 * test_milter_stage — the content filters at the session's own commands
 * (smtp_milter_stage.c): the session (session_fake.h) driven from memory
 * against the fake filter of test_milter_fake.h on a real loop.  A reject
 * at connect is the greeting; HELO and a pipelined MAIL wait for the
 * filter, in order; a reject at RCPT refuses that recipient only and the
 * transaction goes on; a filter that fails at MAIL is 451 4.7.1 (its
 * on-failure); each filter's verdict is kept for the envelope and counted.
 */
#include "test_milter_fake.h"
#include "session_fake.h"

#include "smtp_milter.h"
#include "smtp_state.h"

static struct smtp_session_counters counters;

/* The configuration: one server with the fake filter (its port is the
 * fake's, known at setup). */
static struct smtp_session *
session(const char *on_failure)
{
	char text[1024], err[CONF_ERR_MAX];
	struct sockaddr_in peer = { .sin_family = AF_INET,
	    .sin_port = htons(40000) };
	struct smtp_session_env env;
	const struct conf_vserver *vs;

	F.actions = MILTER_ACTIONS_ALL & ~MILTER_F_CHGFROM;
	snprintf(text, sizeof(text),
	    "hostname gw.test\n"
	    "spool /nonexistent\n"
	    "local-domain winery-co.co\n"
	    "directory file /nonexistent\n"
	    "milter fake {\n"
	    "  socket inet:127.0.0.1:%d\n"
	    "  timeout 5s\n"
	    "  on-failure %s\n"
	    "}\n"
	    "virtual-server internet {\n"
	    "  listen 127.0.0.2:25\n"
	    "  milters fake\n"
	    "}\n", F.port, on_failure);
	if (conf_load_string("test.conf", text, &conf, err,
	    sizeof(err)) == -1)
		fail_msg("%s", err);
	dir = directory_open_backend(&fake_backend, conf, err, sizeof(err));
	assert_non_null(dir);
	vs = conf->vservers[0];
	memset(&env, 0, sizeof(env));
	memset(&counters, 0, sizeof(counters));
	env.counters = &counters;
	env.milters = smtp_milters_new(F.base, vs);
	assert_non_null(env.milters);
	inet_pton(AF_INET, "192.0.2.7", &peer.sin_addr);
	return smtp_session_new_env(1, conf, vs, dir,
	    (struct sockaddr *)&peer, &ops, NULL, &env);
}

static void
done(struct smtp_session *s)
{
	smtp_session_free(s);
	fake_free();
}

/* Run the loop while the session waits (10 s at most). */
static void
wait_session(struct smtp_session *s)
{
	for (int i = 0; i < 10000 && (s->waiting ||
	    s->state == SMTP_S_GREETING); i++)
		event_base_loop(F.base, EVLOOP_ONCE);
	assert_int_equal(s->waiting, SMTP_WAIT_NONE);
}

/* Feed all of input, waiting for the filter whenever the session does,
 * as the server would; the commit completes at once. */
static void
drive(struct smtp_session *s, const char *input)
{
	size_t off = 0, len = strlen(input);

	while (off < len && !smtp_session_closing(s)) {
		off += smtp_session_input(s, input + off, len - off);
		if (s->waiting == SMTP_WAIT_COMMIT)
			smtp_message_commit_done(s, 0, "Q");
		wait_session(s);
	}
}

static const char *
out(struct smtp_session *s)
{
	static char text[8192];

	snprintf(text, sizeof(text), "%.*s", (int)s->out.len, s->out.p);
	return text;
}

static void
test_reject_at_connect_is_the_greeting(void **state)
{
	struct smtp_session *s;

	(void)state;
	STEP('C', 0, 0, "\0\0\0\1r");		/* SMFIR_REJECT */
	s = session("tempfail");
	assert_int_equal(s->out.len, 0);	/* the greeting waits */
	wait_session(s);
	assert_int_equal(s->state, SMTP_S_REJECTED);
	assert_non_null(strstr(out(s), "554 5.7.1 "));
	assert_null(strstr(out(s), "220 "));
	buf_reset(&s->out);
	drive(s, "EHLO client.example.org\r\n");
	assert_non_null(strstr(out(s), "554 5.7.1 "));
	assert_int_equal(counters.milter[0].verdicts[MILTER_REJECT], 1);
	done(s);
}

static void
test_pipelined_helo_and_mail_wait_in_order(void **state)
{
	struct smtp_session *s;
	const char *o, *helo, *mail;

	(void)state;
	STEP('H', 0, 150, "\0\0\0\1c");		/* CONTINUE, slowly */
	STEP('M', 0, 150, "\0\0\0\1c");
	s = session("tempfail");
	wait_session(s);
	assert_non_null(strstr(out(s), "220 gw.test"));
	drive(s, "EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n");
	o = out(s);
	helo = strstr(o, "250 DSN");
	mail = strstr(o, "250 2.1.0 Ok");
	assert_non_null(helo);
	assert_non_null(mail);
	assert_true(helo < mail);
	assert_int_equal(s->state, SMTP_S_MAIL);
	/* the filter saw them in order: connect, HELO, MAIL */
	assert_non_null(strstr(F.log, " C "));
	assert_true(strstr(F.log, " C ") < strstr(F.log, " H "));
	assert_true(strstr(F.log, " H ") < strstr(F.log, " M "));
	done(s);
}

static void
test_reject_at_rcpt_refuses_that_recipient(void **state)
{
	struct smtp_session *s;
	char verdicts[256];

	(void)state;
	STEP('R', 0, 50, "\0\0\0\1r");
	s = session("tempfail");
	wait_session(s);
	drive(s, "EHLO c.example.org\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<ericm@winery-co.co>\r\n");
	assert_non_null(strstr(out(s), "550 5.7.1 RCPT rejected by content "
	    "filter fake"));
	/* the transaction is still there, without that recipient */
	assert_int_equal(s->state, SMTP_S_MAIL);
	assert_non_null(s->env);
	assert_int_equal(s->env->nrcpts, 0);
	assert_true(smtp_milters_verdicts(s->milters, verdicts,
	    sizeof(verdicts)) > 0);
	assert_memory_equal(verdicts, "fake=reject stage=rcpt time=",
	    strlen("fake=reject stage=rcpt time="));
	done(s);
}

static void
test_failure_at_mail_is_its_on_failure(void **state)
{
	struct smtp_session *s;

	(void)state;
	F.close_on = 'M';
	s = session("tempfail");
	wait_session(s);
	drive(s, "EHLO c.example.org\r\nMAIL FROM:<a@example.org>\r\n");
	assert_non_null(strstr(out(s), "451 4.7.1 Content filter fake "
	    "unavailable"));
	assert_int_equal(s->state, SMTP_S_READY);
	done(s);
	/* on-failure accept: on without it */
	F.close_on = 'M';
	s = session("accept");
	wait_session(s);
	drive(s, "EHLO c.example.org\r\nMAIL FROM:<a@example.org>\r\n");
	assert_non_null(strstr(out(s), "250 2.1.0 Ok"));
	done(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_reject_at_connect_is_the_greeting, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pipelined_helo_and_mail_wait_in_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_reject_at_rcpt_refuses_that_recipient, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_failure_at_mail_is_its_on_failure, setup, teardown),
	};

	/* the fake's helpers this program does not need */
	(void)conn;
	(void)do_connect;
	(void)settle;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
