/*
 * fuzz_session — libFuzzer harness for the SMTP server engine fed whole
 * client sessions from memory (no sockets): commands, pipelining, DATA,
 * the directory answering from a tiny table.  The first byte picks how
 * the input is chunked, so chunk boundaries are fuzzed too.  Every reply
 * must be a well-formed SMTP reply line with an enhanced status code
 * where one is due.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "directory.h"
#include "queue.h"
#include "smtp_message.h"
#include "smtp_session.h"

static const char *config =
    "hostname gw.test\n"
    "spool /nonexistent\n"
    "local-domain winery-co.co\n"
    "directory file /nonexistent\n"
    "virtual-server internet {\n"
    "  listen 127.0.0.2:25\n"
    "  max-recipients 5\n"
    "  max-message-size 4K\n"
    "  filter {\n"
    "    block-sender @bad.example\n"
    "  }\n"
    "}\n"
    "connector out {\n"
    "  address-space partner.example cost 1 relay\n"
    "  home internet\n"
    "}\n";

static void
lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	static const char *members[] = { "a@winery-co.co", "x@example.org" };
	struct dir_entry mbox = { DIR_ENTRY_MAILBOX, "mbx1", NULL, 0 };
	struct dir_entry list = { DIR_ENTRY_ALIAS, NULL, members, 2 };

	(void)d;
	if (strcmp(key, "a@winery-co.co") == 0)
		cb(arg, DIR_FOUND, &mbox);
	else if (strcmp(key, "team@winery-co.co") == 0)
		cb(arg, DIR_FOUND, &list);
	else if (strcmp(key, "temp@winery-co.co") == 0)
		cb(arg, DIR_TEMPFAIL, NULL);
	else
		cb(arg, DIR_NOTFOUND, NULL);
}

static int
dir_open(struct directory *d, const struct conf *c, char *err, size_t len)
{
	(void)d;
	(void)c;
	(void)err;
	(void)len;
	return 0;
}

static const struct directory_backend backend = {
	"fuzz", dir_open, lookup, NULL,
};

static int committed;

static uint64_t spooled;		/* bytes the session spooled */

static int
spool_write(struct smtp_session *s, const char *p, size_t n)
{
	(void)s;
	(void)p;
	spooled += n;
	return 0;
}

static void
spool_abort(struct smtp_session *s)
{
	(void)s;
	spooled = 0;
}

static void
commit(struct smtp_session *s, struct queue_envelope *env, char *tail,
    size_t len)
{
	(void)s;
	(void)len;
	queue_envelope_free(env);
	free(tail);
	spooled = 0;
	committed = 1;
}

static const struct smtp_session_ops ops = {
	.spool_write = spool_write,
	.spool_abort = spool_abort,
	.commit = commit,
};

static void
check_replies(const char *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(p + off, '\n', len - off);
		size_t l;

		if (nl == NULL || nl == p + off || nl[-1] != '\r')
			abort();
		l = (size_t)(nl - (p + off)) - 1;
		if (l < 4 || p[off] < '2' || p[off] > '5' ||
		    (p[off + 3] != ' ' && p[off + 3] != '-'))
			abort();
		off = (size_t)(nl - p) + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf *conf;
	static struct directory *dir;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct smtp_session *s;
	char err[CONF_ERR_MAX];
	size_t chunk, off = 0, pending = 0;
	char *buf;

	if (conf == NULL) {
		if (conf_load_string("f.conf", config, &conf, err,
		    sizeof(err)) == -1)
			abort();
		dir = directory_open_backend(&backend, conf, err, sizeof(err));
	}
	if (size == 0)
		return 0;
	chunk = 1 + data[0] % 64;
	data++;
	size--;
	sin.sin_addr.s_addr = htonl(0xc0000201);
	s = smtp_session_new(1, conf, conf_vserver_find(conf, "internet"), dir,
	    (struct sockaddr *)&sin, &ops, NULL);
	buf = malloc(size + 1);
	while (off < size || pending) {
		size_t n = size - off < chunk ? size - off : chunk, used;

		memcpy(buf + pending, data + off, n);
		pending += n;
		off += n;
		used = smtp_session_input(s, buf, pending);
		memmove(buf, buf + used, pending - used);
		pending -= used;
		if (s->waiting == SMTP_WAIT_COMMIT)
			smtp_message_commit_done(s, 0, "Q");
		else if (n == 0 || smtp_session_closing(s))
			break;
	}
	check_replies(s->out.p ? s->out.p : "", s->out.len);
	smtp_session_free(s);
	free(buf);
	return 0;
}
