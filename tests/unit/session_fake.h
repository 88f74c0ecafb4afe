/*
 * session_fake — the fakes the session engine is driven with, shared by
 * its unit tests (through session_fixture.h, or directly) and by the fuzz
 * harness tests/fuzz/fuzz_session.c, so it does not use cmocka: one
 * configuration, a directory backend answering from a table, session ops
 * that keep the spooled and committed message in memory, a SHA-512 crypt
 * password file for AUTH, and the driver that feeds input in chunks.
 * Header-only: each program includes it once.
 */
#ifndef POSTERN_TEST_SESSION_FAKE_H
#define POSTERN_TEST_SESSION_FAKE_H

#include <crypt.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "conf.h"
#include "directory.h"
#include "queue.h"
#include "smtp_message.h"
#include "smtp_session.h"
#include "xmalloc.h"

/* Not every test program uses every helper. */
#define FIXTURE_UNUSED	__attribute__((unused))

/*
 * One configuration for every session test: a virtual server per need.
 * internet, intranet, filtered: the session tests; open and strict: STARTTLS
 * and AUTH (test_tls_session.c); limited and submission: per-client limits
 * (test_session_limits.c); small: limits a short input reaches, and a
 * partner domain to relay to (the fuzz harness).  Nothing here is opened
 * at load: the paths need not exist.
 */
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
    "virtual-server open {\n"
    "  listen 127.0.0.5:25\n"
    "  tls certificate /nonexistent.pem key /nonexistent.key\n"
    "  auth /nonexistent.auth\n"
    "  relay authenticated\n"
    "  max-auth-failures 2\n"
    "  max-errors 4\n"
    "}\n"
    "virtual-server strict {\n"
    "  listen 127.0.0.6:25\n"
    "  tls certificate /nonexistent.pem key /nonexistent.key required\n"
    "  auth /nonexistent.auth\n"
    "  anonymous no\n"
    "}\n"
    "virtual-server limited {\n"
    "  listen 127.0.0.7:25\n"
    "  tls certificate /nonexistent.pem key /nonexistent.key\n"
    "  auth /nonexistent.auth\n"
    "  max-auth-failures 3\n"
    "  max-connections-per-ip 1000\n"
    "  filter {\n"
    "    rate-limit 2/m\n"
    "  }\n"
    "}\n"
    "virtual-server submission {\n"
    "  listen 127.0.0.7:587\n"
    "  tls certificate /nonexistent.pem key /nonexistent.key\n"
    "  auth /nonexistent.auth\n"
    "  max-auth-failures 1000\n"
    "}\n"
    "virtual-server small {\n"
    "  listen 127.0.0.8:25\n"
    "  max-recipients 5\n"
    "  max-message-size 4K\n"
    "  filter {\n"
    "    block-sender @bad.example\n"
    "  }\n"
    "}\n"
    "connector out {\n"
    "  address-space * cost 1\n"
    "  home intranet\n"
    "}\n"
    "connector partner {\n"
    "  address-space partner.example cost 1 relay\n"
    "  home small\n"
    "}\n";

/* A backend that knows two users and a list, and answers synchronously. */
static FIXTURE_UNUSED void
fake_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	static const char *members[] = { "ericm@winery-co.co",
	    "x@example.org" };
	struct dir_entry e = { DIR_ENTRY_MAILBOX, "mbx1", NULL, 0 };
	struct dir_entry list = { DIR_ENTRY_ALIAS, NULL, members, 2 };

	(void)d;
	if (strcmp(key, "ericm@winery-co.co") == 0 ||
	    strcmp(key, "kimy@winery-co.co") == 0)
		cb(arg, DIR_FOUND, &e);
	else if (strcmp(key, "team@winery-co.co") == 0)
		cb(arg, DIR_FOUND, &list);
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
	last_body[len] = '\0';		/* committed_len bytes, then a NUL */
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
static FIXTURE_UNUSED struct auth_db *db;	/* fake_load_auth */

/* Load the configuration and open the fake directory; -1 with the
 * error printed. */
static FIXTURE_UNUSED int
fake_load(void)
{
	char err[CONF_ERR_MAX];

	if (conf_load_string("test.conf", config, &conf, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	dir = directory_open_backend(&fake_backend, conf, err, sizeof(err));
	return dir ? 0 : -1;
}

static FIXTURE_UNUSED void
fake_free(void)
{
	auth_db_unref(db);
	db = NULL;
	directory_unref(dir);
	dir = NULL;
	conf_unref(conf);
	conf = NULL;
	queue_envelope_free(committed);
	committed = NULL;
	free(last_body);
	last_body = NULL;
	free(spooled);
	spooled = NULL;
	spooled_len = spooled_cap = 0;
}

/* fake_load, and a password file (db) with one user, hashed with the
 * cheapest SHA-512 crypt: these tests count and compare, they do not
 * time. */
static FIXTURE_UNUSED int
fake_load_auth(const char *user, const char *password)
{
	char err[CONF_ERR_MAX], setting[CRYPT_GENSALT_OUTPUT_SIZE], text[256];
	struct crypt_data cd;

	if (fake_load() == -1)
		return -1;
	memset(&cd, 0, sizeof(cd));
	if (crypt_gensalt_rn("$6$", 1000, NULL, 0, setting,
	    sizeof(setting)) == NULL)
		return -1;
	snprintf(text, sizeof(text), "%s:%s\n", user,
	    crypt_r(password, setting, &cd));
	if (auth_db_parse("auth", text, strlen(text), &db, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/*
 * Feed len bytes of input to s, chunk bytes at a time (0: sizes from
 * next_chunk()), as a socket would deliver them; a commit completes at once
 * with id "Q".  Stops when all is consumed or the session closes.
 */
static FIXTURE_UNUSED void
fake_drive(struct smtp_session *s, const char *input, size_t len,
    size_t chunk)
{
	size_t off = 0, pending = 0;
	char *buffered = xmalloc(len + 1);

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
	free(buffered);
}

#endif
