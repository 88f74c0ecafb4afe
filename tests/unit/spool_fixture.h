/*
 * spool_fixture — what the spool's unit tests share: a temporary spool
 * (mkdtemp, removed with rm_rf), file helpers, a simple envelope, whole
 * queue files built in memory (format 2: message, envelope, trailer), and
 * a queue_scan callback.  Header-only: each test program includes it once.
 */
#ifndef POSTERN_TEST_SPOOL_FIXTURE_H
#define POSTERN_TEST_SPOOL_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "queue.h"
#include "queue_recycle.h"
#include "smtp_parse.h"
#include "xmalloc.h"

/* Not every test program uses every helper. */
#define FIXTURE_UNUSED	__attribute__((unused))


static FIXTURE_UNUSED char *
tmp_spool(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	dir = xasprintf("%s/postern-tq-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static FIXTURE_UNUSED int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static FIXTURE_UNUSED void
rm_rf(const char *dir)
{
	/* The failure test leaves read-only or odd modes behind. */
	chmod(dir, 0700);
	assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static FIXTURE_UNUSED char *
path_of(const char *spool, const char *sub, const char *name)
{
	return xasprintf("%s/%s/%s", spool, sub, name);
}

static FIXTURE_UNUSED int
count_files(const char *spool, const char *sub)
{
	char *path = xasprintf("%s/%s", spool, sub);
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	free(path);
	return n;
}

static FIXTURE_UNUSED void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static FIXTURE_UNUSED struct queue_envelope *
simple_env(const char *rcpt)
{
	struct queue_envelope *env = xcalloc(1, sizeof(*env));

	queue_id_new(env->id);
	env->received = 1700000000;
	env->vserver = xstrdup("internet");
	env->client_addr = xstrdup("192.0.2.7");
	env->helo = xstrdup("mx.example.org");
	env->sender = xstrdup("alice@example.org");
	env->ret = SMTP_RET_NONE;
	queue_envelope_add_rcpt(env, rcpt, NULL, 0);
	return env;
}

/* A whole valid file in memory: body, envelope, trailer. */
static FIXTURE_UNUSED char *
make_file_sized(struct queue_envelope *env, uint64_t size, const char *body,
    size_t bodylen, size_t *len, size_t *envlen)
{
	char *hdr, *out, trailer[QUEUE_TRAILER_LEN + 1];
	size_t hlen;

	env->size = size;
	hdr = queue_envelope_encode(env, &hlen);
	assert_non_null(hdr);
	queue_trailer_encode(trailer, bodylen);
	out = xmalloc(hlen + bodylen + QUEUE_TRAILER_LEN);
	memcpy(out, body, bodylen);
	memcpy(out + bodylen, hdr, hlen);
	memcpy(out + bodylen + hlen, trailer, QUEUE_TRAILER_LEN);
	*len = hlen + bodylen + QUEUE_TRAILER_LEN;
	if (envlen)
		*envlen = hlen;
	free(hdr);
	return out;
}

static FIXTURE_UNUSED char *
make_file(struct queue_envelope *env, const char *body, size_t bodylen,
    size_t *len, size_t *envlen)
{
	return make_file_sized(env, bodylen, body, bodylen, len, envlen);
}

struct scan_ctx {
	int	 n;
	char	 id[QUEUE_ID_LEN + 1];
};

static FIXTURE_UNUSED void
scan_cb(void *arg, struct queue_envelope *env)
{
	struct scan_ctx *c = arg;

	c->n++;
	memcpy(c->id, env->id, sizeof(c->id));
	queue_envelope_free(env);
}

/* Store `data` as queue/ID under a fresh id, check that the reader refuses
 * it, and count it (returns 1). */
#endif
