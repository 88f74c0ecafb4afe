/*
 * The session engine's STARTTLS and AUTH, driven from memory (no sockets,
 * no handshake: the test says when TLS "started"): what EHLO offers before
 * and after TLS, the end of input at STARTTLS (what follows is the
 * server's to discard), the fresh start after the handshake, `required`,
 * AUTH PLAIN and LOGIN with their continuation lines, 538 in clear text,
 * the failure guard, `anonymous no`, relay by authentication, and the
 * envelope and Received: of an authenticated message.  Password checks
 * run in place (no verifier), against a SHA-512 crypt hash
 * (session_fake.h).
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

#include "session_fake.h"

#define INFO	"TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
/* base64 of "\0ericm\0secret", "\0ericm\0wrong", "ericm", "secret" */
#define PLAIN_OK	"AGVyaWNtAHNlY3JldA=="
#define PLAIN_BAD	"AGVyaWNtAHdyb25n"
#define B64_ERICM	"ZXJpY20="
#define B64_SECRET	"c2VjcmV0"

static struct auth_guard *guard;

static int
setup(void **state)
{
	(void)state;
	return fake_load_auth("ericm", "secret");
}

static int
teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

static struct smtp_session *
start(const char *vsname, int starttls)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct smtp_session_env env = { .starttls = starttls, .authdb = db,
	    .authguard = guard };
	struct smtp_session *s;

	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	s = smtp_session_new_env(1, conf, conf_vserver_find(conf, vsname),
	    dir, (struct sockaddr *)&sin, &ops, NULL, &env);
	buf_reset(&s->out);		/* the greeting */
	return s;
}

/* Feed in; the replies since the last call; *used what was consumed. */
static char *
feed(struct smtp_session *s, const char *in, size_t *used)
{
	size_t u = smtp_session_input(s, in, strlen(in));
	char *out;

	if (s->waiting == SMTP_WAIT_COMMIT)
		smtp_message_commit_done(s, 0, "Q");
	if (used)
		*used = u;
	else
		assert_true(u == strlen(in) || smtp_session_closing(s));
	out = strndup(s->out.p ? s->out.p : "", s->out.len);
	buf_reset(&s->out);
	return out;
}

static void
expect(struct smtp_session *s, const char *in, const char *replies)
{
	char *got = feed(s, in, NULL);

	assert_string_equal(got, replies);
	free(got);
}

#define EHLO_HEAD \
	"250-gw.test Hello x [192.0.2.1]\r\n" \
	"250-PIPELINING\r\n" \
	"250-SIZE 36700160\r\n" \
	"250-8BITMIME\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n"
#define EHLO_TAIL \
	"250-SMTPUTF8\r\n250-CHUNKING\r\n" \
	"250 DSN\r\n"

static void
t_starttls(void **state)
{
	static const char in[] = "STARTTLS\r\nMAIL FROM:<a@example.org>\r\n";
	struct smtp_session *s = start("open", 1);
	size_t used;
	char *got;

	(void)state;
	expect(s, "EHLO x\r\n", EHLO_HEAD "250-STARTTLS\r\n" EHLO_TAIL);
	expect(s, "AUTH PLAIN " PLAIN_OK "\r\n", "538 5.7.11 Encryption "
	    "required for requested authentication mechanism\r\n");
	expect(s, "STARTTLS x\r\n", "501 5.5.4 Syntax: STARTTLS\r\n");
	/* input ends at STARTTLS; the rest is not executed */
	got = feed(s, in, &used);
	assert_string_equal(got, "220 2.0.0 Ready to start TLS\r\n");
	free(got);
	assert_int_equal(used, strlen("STARTTLS\r\n"));
	assert_int_equal(smtp_session_waiting(s), SMTP_WAIT_TLS);
	assert_int_equal(smtp_session_input(s, in + used, strlen(in + used)),
	    0);
	smtp_session_tls_started(s, INFO);
	assert_int_equal(smtp_session_waiting(s), SMTP_WAIT_NONE);
	assert_int_equal(s->state, SMTP_S_CONNECTED);
	assert_string_equal(s->helo, "");
	expect(s, "MAIL FROM:<a@example.org>\r\n", "503 5.5.1 Bad sequence of "
	    "commands: HELO/EHLO first, one MAIL per transaction\r\n");
	expect(s, "EHLO x\r\n", EHLO_HEAD "250-AUTH PLAIN LOGIN\r\n"
	    EHLO_TAIL);
	expect(s, "STARTTLS\r\n", "503 5.5.1 TLS already active\r\n");
	smtp_session_free(s);
}

static void
t_starttls_not_in_a_transaction(void **state)
{
	struct smtp_session *s = start("open", 1);

	(void)state;
	expect(s, "EHLO x\r\nMAIL FROM:<a@example.org>\r\nSTARTTLS\r\n",
	    EHLO_HEAD "250-STARTTLS\r\n" EHLO_TAIL "250 2.1.0 Ok\r\n"
	    "503 5.5.1 Bad sequence of commands: no STARTTLS during a mail "
	    "transaction\r\n");
	smtp_session_free(s);
	/* no TLS context at the server: neither offered nor taken */
	s = start("open", 0);
	expect(s, "EHLO x\r\nSTARTTLS\r\n", EHLO_HEAD EHLO_TAIL
	    "502 5.5.1 Command not implemented\r\n");
	smtp_session_free(s);
}

static void
t_required_and_anonymous(void **state)
{
	struct smtp_session *s = start("strict", 1);

	(void)state;
	expect(s, "EHLO x\r\nMAIL FROM:<a@example.org>\r\n", EHLO_HEAD
	    "250-STARTTLS\r\n" EHLO_TAIL "530 5.7.0 Must issue a STARTTLS "
	    "command first\r\n");
	expect(s, "STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	smtp_session_tls_started(s, INFO);
	expect(s, "EHLO x\r\nMAIL FROM:<a@example.org>\r\n", EHLO_HEAD
	    "250-AUTH PLAIN LOGIN\r\n" EHLO_TAIL "530 5.7.0 Authentication "
	    "required\r\n");
	expect(s, "AUTH PLAIN " PLAIN_OK "\r\nMAIL FROM:<a@example.org>\r\n",
	    "235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n");
	smtp_session_free(s);
}

static struct smtp_session *
tls_session(const char *vsname)
{
	struct smtp_session *s = start(vsname, 0);

	smtp_session_tls_started(s, INFO);	/* as on an implicit listener */
	expect(s, "EHLO x\r\n", EHLO_HEAD "250-AUTH PLAIN LOGIN\r\n"
	    EHLO_TAIL);
	return s;
}

static void
t_auth_exchanges(void **state)
{
	struct smtp_session *s;

	(void)state;
	guard = auth_guard_new();
	s = tls_session("open");
	expect(s, "AUTH PLAIN\r\n", "334 \r\n");
	expect(s, PLAIN_BAD "\r\n", "535 5.7.8 Authentication credentials "
	    "invalid\r\n");
	expect(s, "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n");
	expect(s, "*\r\n", "501 5.7.0 Authentication aborted\r\n");
	expect(s, "AUTH LOGIN " B64_ERICM "\r\n", "334 UGFzc3dvcmQ6\r\n");
	expect(s, B64_SECRET "\r\n", "235 2.7.0 Authentication "
	    "successful\r\n");
	assert_true(s->authenticated);
	assert_string_equal(s->auth_user, "ericm");
	expect(s, "AUTH PLAIN " PLAIN_OK "\r\n", "503 5.5.1 Already "
	    "authenticated\r\n");
	smtp_session_free(s);

	s = tls_session("open");
	expect(s, "AUTH LOGIN\r\n" B64_ERICM "\r\n" B64_SECRET "\r\n",
	    "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 "
	    "Authentication successful\r\n");
	smtp_session_free(s);

	s = tls_session("open");
	expect(s, "AUTH X-UNKNOWN\r\n", "504 5.5.4 Unrecognized "
	    "authentication mechanism\r\n");
	expect(s, "AUTH PLAIN !!!!\r\n", "501 5.5.2 Invalid base64 data\r\n");
	expect(s, "AUTH\r\n", "501 5.5.4 Syntax: AUTH mechanism "
	    "[initial-response]\r\n");
	smtp_session_free(s);
	auth_guard_free(guard);
	guard = NULL;
}

static void
t_auth_guard(void **state)
{
	struct smtp_session *s;

	(void)state;
	guard = auth_guard_new();
	s = tls_session("open");
	expect(s, "AUTH PLAIN " PLAIN_BAD "\r\n", "535 5.7.8 Authentication "
	    "credentials invalid\r\n");
	expect(s, "AUTH LOGIN " B64_ERICM "\r\n" B64_ERICM "\r\n",
	    "334 UGFzc3dvcmQ6\r\n535 5.7.8 Authentication credentials "
	    "invalid\r\n");
	/* max-auth-failures 2: the next attempt is refused unchecked */
	expect(s, "AUTH PLAIN " PLAIN_OK "\r\n", "421 4.7.0 Too many "
	    "authentication failures, closing connection\r\n");
	assert_true(smtp_session_closing(s));
	smtp_session_free(s);
	s = tls_session("open");
	expect(s, "AUTH LOGIN\r\n", "421 4.7.0 Too many authentication "
	    "failures, closing connection\r\n");
	smtp_session_free(s);
	auth_guard_free(guard);
	guard = NULL;
}

static void
t_authenticated_relay(void **state)
{
	struct smtp_session *s;
	char *hdr;

	(void)state;
	s = tls_session("open");
	expect(s, "MAIL FROM:<ericm@winery-co.co>\r\n"
	    "RCPT TO:<someone@example.org>\r\nRSET\r\n",
	    "250 2.1.0 Ok\r\n550 5.7.1 Relay access denied\r\n"
	    "250 2.0.0 Ok\r\n");
	expect(s, "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<ericm@winery-co.co>\r\n"
	    "RCPT TO:<someone@example.org>\r\nDATA\r\n"
	    "Subject: x\r\n\r\nbody\r\n.\r\n",
	    "235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as Q\r\n");
	assert_non_null(committed);
	assert_string_equal(committed->auth_user, "ericm");
	hdr = last_body;
	assert_non_null(strstr(hdr, "Received: from x ([192.0.2.1])\r\n"
	    "\t(using " INFO ")\r\n\tby gw.test (postern) with ESMTPSA id "));
	assert_null(strstr(hdr, "ericm"));
	assert_null(strstr(hdr, "secret"));
	smtp_session_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_starttls),
		cmocka_unit_test(t_starttls_not_in_a_transaction),
		cmocka_unit_test(t_required_and_anonymous),
		cmocka_unit_test(t_auth_exchanges),
		cmocka_unit_test(t_auth_guard),
		cmocka_unit_test(t_authenticated_relay),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
