/*
 * session_fixture — what the session engine's unit tests share: the
 * fakes of session_fake.h (configuration, directory, spool, commit) set
 * up and torn down as a cmocka group, and drivers that feed a transcript
 * (whole, in random chunks or a byte at a time) and return or check the
 * replies.  Header-only: each test program includes it once.
 */
#ifndef POSTERN_TEST_SESSION_FIXTURE_H
#define POSTERN_TEST_SESSION_FIXTURE_H

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

#include "session_fake.h"

static FIXTURE_UNUSED int
setup(void **state)
{
	(void)state;
	return fake_load();
}

static FIXTURE_UNUSED int
teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

/*
 * Run a transcript; the commit completes at once with id "Q".  Returns
 * the replies (caller frees).
 */
static FIXTURE_UNUSED char *
run(const char *vsname, const char *peer, const char *input, size_t chunk)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct smtp_session *s;
	char *replies = calloc(1, 65536);

	inet_pton(AF_INET, peer, &sin.sin_addr);
	s = smtp_session_new(1, conf, conf_vserver_find(conf, vsname), dir,
	    (struct sockaddr *)&sin, &ops, NULL);
	fake_drive(s, input, strlen(input), chunk);
	strncat(replies, s->out.p ? s->out.p : "", 65535);
	smtp_session_free(s);
	return replies;
}

static FIXTURE_UNUSED void
check(const char *vs, const char *peer, const char *in, const char *expect)
{
	char *whole = run(vs, peer, in, strlen(in) + 1);
	char *bytes = run(vs, peer, in, 1);

	assert_string_equal(whole, expect);
	assert_string_equal(bytes, expect);
	free(whole);
	free(bytes);
}

static FIXTURE_UNUSED struct smtp_session *
start(const char *vsname, const char *peer, const struct smtp_session_env *env)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	inet_pton(AF_INET, peer, &sin.sin_addr);
	return smtp_session_new_env(1, conf, conf_vserver_find(conf, vsname),
	    dir, (struct sockaddr *)&sin, &ops, NULL, env);
}

/* Feed everything; the replies written since the last call. */
static FIXTURE_UNUSED char *
feed(struct smtp_session *s, const char *in)
{
	size_t len = strlen(in), used = smtp_session_input(s, in, len);
	char *out;

	if (s->waiting == SMTP_WAIT_COMMIT)
		smtp_message_commit_done(s, 0, "Q");
	assert_true(used == len || smtp_session_closing(s));
	out = strndup(s->out.p ? s->out.p : "", s->out.len);
	buf_reset(&s->out);
	return out;
}

static FIXTURE_UNUSED void
expect(struct smtp_session *s, const char *in, const char *replies)
{
	char *got = feed(s, in);

	assert_string_equal(got, replies);
	free(got);
}

static FIXTURE_UNUSED struct smtp_session *
new_session(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	return smtp_session_new(1, conf, conf_vserver_find(conf, "internet"),
	    dir, (struct sockaddr *)&sin, &ops, NULL);
}


#endif
