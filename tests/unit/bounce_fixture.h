/*
 * bounce_fixture — what the DSN composer's tests share: an original
 * message and its envelope, the composer run over it, and the report
 * parsed back (headers, boundary, parts, per-recipient blocks), also by
 * Python's email parser where /usr/bin/python3 exists.  Header-only: each
 * test program includes it once.
 */
#ifndef POSTERN_TEST_BOUNCE_FIXTURE_H
#define POSTERN_TEST_BOUNCE_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "queue.h"
#include "smtp_parse.h"
#include "xmalloc.h"

/* Not every test program uses every helper. */
#define FIXTURE_UNUSED	__attribute__((unused))

#define NOW	1700000000	/* Tue, 14 Nov 2023 22:13:20 +0000 */

static FIXTURE_UNUSED const char orig_msg[] =
    "Received: from client.example.org by gw.example\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@winery-co.co\r\n"
    "Subject: lunch\r\n"
    "\r\n"
    "Shall we meet at noon?\r\n"
    "-- \r\n"
    "Alice\r\n";

/* ---- helpers ---- */

static FIXTURE_UNUSED struct queue_envelope *
mkenv(int ret, const char *envid)
{
	struct queue_envelope *env = xcalloc(1, sizeof(*env));

	queue_id_new(env->id);
	env->received = NOW - 3600;
	env->sender = xstrdup("alice@example.org");
	env->ret = ret;
	env->envid = envid ? xstrdup(envid) : NULL;
	queue_envelope_add_rcpt(env, "bob@winery-co.co",
	    "rfc822;Bob+2Bx@winery-co.co", 0);
	return env;
}

static FIXTURE_UNUSED char *
compose(enum bounce_kind kind, struct queue_envelope *env, const char *msg,
    size_t len, const struct bounce_rcpt *r, size_t n, size_t *outlen)
{
	struct buf b;

	buf_init(&b, 64 * 1024 * 1024);
	assert_int_equal(bounce_compose(&b, kind, env, msg, len, r, n,
	    "gw.example", NOW), 0);
	return buf_release(&b, outlen);
}

/* CRLF only, and no line over 998 octets. */
static FIXTURE_UNUSED void
assert_canonical(const char *p, size_t len)
{
	size_t i, col = 0;

	assert_true(len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n');
	for (i = 0; i < len; i++) {
		if (p[i] == '\r') {
			assert_true(i + 1 < len && p[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(p[i] != '\n');
		col++;
		assert_true(col <= 998);
	}
}

static FIXTURE_UNUSED size_t
count(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	const char *p = hay, *end = hay + len, *q;

	while ((q = memmem(p, (size_t)(end - p), needle, nl)) != NULL) {
		n++;
		p = q + nl;
	}
	return n;
}

/* Undo header folding: CRLF before a blank goes. */
static FIXTURE_UNUSED char *
unfold(const char *s)
{
	char *out = xstrdup(s), *q = out;

	for (; *s; s++) {
		if (s[0] == '\r' && s[1] == '\n' && (s[2] == ' ' ||
		    s[2] == '\t')) {
			s++;
			continue;
		}
		*q++ = *s;
	}
	*q = '\0';
	return out;
}

/* Undo the human part's wrapping: each line end and the indent after it
 * become one blank. */
static FIXTURE_UNUSED char *
unfold_text(const char *s)
{
	char *out = xstrdup(s), *q = out;

	while (*s) {
		if (s[0] == '\r' && s[1] == '\n') {
			for (s += 2; *s == ' '; s++)
				;
			*q++ = ' ';
			continue;
		}
		*q++ = *s++;
	}
	*q = '\0';
	return out;
}

/* The value of a top-level header field (first match), malloc'ed. */
static FIXTURE_UNUSED char *
header(const char *msg, const char *name)
{
	char *pat = xasprintf("\r\n%s: ", name), *v;
	const char *p, *e;

	if (strncmp(msg, pat + 2, strlen(pat + 2)) == 0)
		p = msg + strlen(pat + 2);
	else {
		p = strstr(msg, pat);
		assert_non_null(p);
		p += strlen(pat);
	}
	e = strstr(p, "\r\n");
	v = xstrndup(p, (size_t)(e - p));
	free(pat);
	return v;
}

struct parsed {
	char	*boundary;
	char	*part[3];	/* each: part headers, blank line, content */
	char	*type[3];
	char	*content[3];
};

/*
 * Split a DSN into its three parts and check the delimiters: the boundary
 * occurs exactly four times (three delimiters and the close), each at the
 * start of a line after CRLF, and the close ends the message.
 */
static FIXTURE_UNUSED void
parse(const char *msg, size_t len, struct parsed *ps)
{
	char *ct, *delim, *close;
	const char *p, *q, *cty;
	size_t dl;
	int i;

	memset(ps, 0, sizeof(*ps));
	ct = header(msg, "Content-Type");
	p = strstr(ct, "boundary=\"");
	assert_non_null(p);
	p += 10;
	q = strchr(p, '"');
	ps->boundary = xstrndup(p, (size_t)(q - p));
	free(ct);
	assert_int_equal(count(msg, len, ps->boundary), 4 + 1);  /* + header */
	delim = xasprintf("\r\n--%s\r\n", ps->boundary);
	close = xasprintf("\r\n--%s--\r\n", ps->boundary);
	dl = strlen(delim);
	assert_int_equal(count(msg, len, delim), 3);
	assert_int_equal(count(msg, len, close), 1);
	assert_int_equal(strcmp(msg + len - strlen(close), close), 0);

	p = strstr(msg, delim);
	for (i = 0; i < 3; i++) {
		p += dl;
		q = strstr(p, i < 2 ? delim : close);
		assert_non_null(q);
		ps->part[i] = xstrndup(p, (size_t)(q - p));
		cty = strstr(ps->part[i], "Content-Type: ");
		assert_non_null(cty);
		cty += 14;
		ps->type[i] = xstrndup(cty, strcspn(cty, ";\r"));
		cty = strstr(ps->part[i], "\r\n\r\n");
		assert_non_null(cty);
		ps->content[i] = xstrdup(cty + 4);
		p = q;
	}
	free(delim);
	free(close);
}

static FIXTURE_UNUSED void
parsed_free(struct parsed *ps)
{
	int i;

	free(ps->boundary);
	for (i = 0; i < 3; i++) {
		free(ps->part[i]);
		free(ps->type[i]);
		free(ps->content[i]);
	}
}

/* Optional: Python's email package must agree on the structure. */
static FIXTURE_UNUSED void
python_check(const char *msg, size_t len, const char *third)
{
	char dir[] = "/tmp/postern-tb-XXXXXX", *path, *cmd;
	FILE *f;
	int st;

	if (access("/usr/bin/python3", X_OK) != 0)
		return;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/dsn.eml", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(msg, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	cmd = xasprintf("/usr/bin/python3 -c '"
	    "import email, sys\n"
	    "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"))\n"
	    "assert m.get_content_type() == \"multipart/report\"\n"
	    "assert m.get_param(\"report-type\") == \"delivery-status\"\n"
	    "p = m.get_payload()\n"
	    "assert [x.get_content_type() for x in p] == "
	    "[\"text/plain\", \"message/delivery-status\", sys.argv[2]], p\n"
	    "assert not m.defects, m.defects\n"
	    "' %s %s", path, third);
	st = system(cmd);
	assert_int_equal(st, 0);
	unlink(path);
	rmdir(dir);
	free(cmd);
	free(path);
}

#endif
