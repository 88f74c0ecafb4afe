/*
 * session_fixture — what the session engine's unit tests share: a
 * configuration with three virtual servers, a directory backend answering
 * from a table, session ops that keep the spooled and committed message in
 * memory, and drivers that feed a transcript (whole, in random chunks or
 * a byte at a time) and return the replies.  Header-only: each test
 * program includes it once.
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

#include "conf.h"
#include "directory.h"
#include "queue.h"
#include "smtp_message.h"
#include "smtp_session.h"
#include "xmalloc.h"

/* Not every test program uses every helper. */
#define FIXTURE_UNUSED	__attribute__((unused))

static FIXTURE_UNUSED const char *config =
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
static FIXTURE_UNUSED void
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

static FIXTURE_UNUSED int
fake_open(struct directory *d, const struct conf *c, char *err, size_t len)
{
	(void)d;
	(void)c;
	(void)err;
	(void)len;
	return 0;
}

static FIXTURE_UNUSED const struct directory_backend fake_backend = {
	"fake", fake_open, fake_lookup, NULL,
};

static FIXTURE_UNUSED struct queue_envelope *committed;
static FIXTURE_UNUSED size_t committed_len;
/* every committed message, without the Received: header (it holds the
 * time) */
static FIXTURE_UNUSED char bodies[1 << 16];
static FIXTURE_UNUSED size_t bodies_len;
/* chunk sizes when run() gets chunk 0 */
static FIXTURE_UNUSED unsigned rng = 1;

static FIXTURE_UNUSED size_t
next_chunk(void)
{
	rng = rng * 1103515245 + 12345;
	return 1 + (rng >> 16) % 64;
}

/* The spool file of the message being received (spool_write). */
static FIXTURE_UNUSED char *spooled;
static FIXTURE_UNUSED size_t spooled_len, spooled_cap;
static FIXTURE_UNUSED int spool_writes, spool_aborts;
static FIXTURE_UNUSED int spool_fail;	/* errno spool_write returns, or 0 */
static FIXTURE_UNUSED char *last_body;	/* the last committed message */

static FIXTURE_UNUSED int
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

static FIXTURE_UNUSED void
fake_spool_abort(struct smtp_session *s)
{
	(void)s;
	spooled_len = 0;
	spool_aborts++;
}

static FIXTURE_UNUSED void
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

static FIXTURE_UNUSED const struct smtp_session_ops ops = {
	.spool_write = fake_spool_write,
	.spool_abort = fake_spool_abort,
	.commit = fake_commit,
};

static FIXTURE_UNUSED struct conf *conf;
static FIXTURE_UNUSED struct directory *dir;

static FIXTURE_UNUSED int
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

static FIXTURE_UNUSED int
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
static FIXTURE_UNUSED char *
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
			smtp_message_commit_done(s, 0, "Q");
		else if (n == 0 || smtp_session_closing(s))
			break;
	}
	strncat(replies, s->out.p ? s->out.p : "", 65535);
	smtp_session_free(s);
	free(buffered);
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
