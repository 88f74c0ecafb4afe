/*
 * test_directory — the directory: the file backend (format, checks,
 * FILE:LINE errors, case folding, 100k entries), the generic resolution
 * (catch-all, aliases, loops, limits, skipped members, external members,
 * TEMPFAIL) and, with fake backends that answer later from a manual queue
 * or a libevent timer, the asynchronous state machine and cancel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "directory.h"
#include "strmap.h"
#include "postern_limits.h"
#include "xmalloc.h"

static char	*tmpdir;

static const char *const local_domains[] = {
	"winery-co.co", "Winery.Local", "example.net"
};

static struct conf *
make_conf(enum conf_dir_type type, const char *file)
{
	struct conf *c = xcalloc(1, sizeof(*c));

	c->directory = type;
	c->directory_file = file ? xstrdup(file) : NULL;
	c->local_domains = (char **)local_domains;
	c->nlocal_domains = sizeof(local_domains) / sizeof(local_domains[0]);
	return c;
}

static void
free_conf(struct conf *c)
{
	free(c->directory_file);
	free(c);
}

static char *
write_dir_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Open a file directory from text; NULL and err on failure. */
static struct directory *
open_text(const char *text, char *err, size_t errlen)
{
	struct directory *d;
	struct conf *c;
	char *path;

	path = write_dir_file("directory", text);
	c = make_conf(DIR_FILE, path);
	d = directory_open(c, err, errlen);
	free_conf(c);
	unlink(path);
	free(path);
	return d;
}

struct got {
	int			 calls;
	struct dir_result	*res;
};

static void
got_cb(void *arg, struct dir_result *res)
{
	struct got *g = arg;

	g->calls++;
	dir_result_free(g->res);
	g->res = res;
}

/* The file backend answers at once: the result is there on return. */
static struct dir_result *
resolve_now(struct directory *d, const char *addr)
{
	struct got g = { 0, NULL };

	assert_null(directory_resolve(d, addr, got_cb, &g));
	assert_int_equal(g.calls, 1);
	return g.res;
}

static int
has_target(const struct dir_result *res, const char *addr, const char *host)
{
	size_t i;

	for (i = 0; i < res->ntargets; i++) {
		if (strcmp(res->targets[i].addr, addr) != 0)
			continue;
		if (host == NULL)
			return res->targets[i].host == NULL;
		return res->targets[i].host != NULL &&
		    strcmp(res->targets[i].host, host) == 0;
	}
	return 0;
}

static const char sample[] =
    "# the SPEC's example, and more\n"
    "ericm@winery-co.co   mbx1.winery.local\n"
    "KimY@Winery-Co.CO    [10.0.0.32]:25\n"
    "postmaster@winery-co.co local   # the gateway's own store\n"
    "\n"
    "@winery.local        mbx1.winery.local\n"
    "team@winery-co.co    -> ericm@winery-co.co KIMY@winery-co.co\n"
    "all@winery-co.co     -> team@winery-co.co postmaster@winery-co.co\n"
    "loop-a@winery-co.co  -> loop-b@winery-co.co ericm@winery-co.co\n"
    "loop-b@winery-co.co  -> loop-a@winery-co.co kimy@winery-co.co\n"
    "ring-a@winery-co.co  -> ring-b@winery-co.co\n"
    "ring-b@winery-co.co  -> ring-a@winery-co.co\n"
    "ext@winery-co.co     -> someone@Example.ORG ericm@winery-co.co\n"
    "miss@winery-co.co    -> ghost@winery-co.co ericm@winery-co.co\n"
    "allmiss@winery-co.co -> ghost@winery-co.co ghost2@example.net\n"
    "dup@winery-co.co     -> ericm@winery-co.co team@winery-co.co\n"
    "viacatch@winery-co.co -> someone@winery.local\n"
    "x#y@winery-co.co     mbx2:2525\n"
    "v6@winery-co.co      [IPv6:2001:db8::25]:25\n"
    "v6b@winery-co.co     [::1]\n";

static void
test_file_basic(void **state)
{
	struct directory *d;
	struct dir_result *res;
	char err[CONF_ERR_MAX];

	(void)state;
	d = open_text(sample, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);

	/* Exact. */
	res = resolve_now(d, "ericm@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 1);
	assert_string_equal(res->targets[0].addr, "ericm@winery-co.co");
	assert_string_equal(res->targets[0].host, "mbx1.winery.local");
	assert_non_null(strstr(res->reason, "mbx1.winery.local"));
	dir_result_free(res);

	/* Case-insensitive, both in the file and in the question. */
	res = resolve_now(d, "KIMY@WINERY-CO.CO");
	assert_int_equal(res->status, DIR_FOUND);
	assert_string_equal(res->targets[0].addr, "kimy@winery-co.co");
	assert_string_equal(res->targets[0].host, "[10.0.0.32]:25");
	dir_result_free(res);

	res = resolve_now(d, "postmaster@winery-co.co");
	assert_string_equal(res->targets[0].host, "local");
	dir_result_free(res);

	/* Catch-all: the target is the address asked, not "@domain". */
	res = resolve_now(d, "Anyone@Winery.Local");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 1);
	assert_string_equal(res->targets[0].addr, "anyone@winery.local");
	assert_string_equal(res->targets[0].host, "mbx1.winery.local");
	dir_result_free(res);

	/* No entry, no catch-all. */
	res = resolve_now(d, "nobody@winery-co.co");
	assert_int_equal(res->status, DIR_NOTFOUND);
	assert_int_equal(res->ntargets, 0);
	assert_non_null(strstr(res->reason, "no entry"));
	dir_result_free(res);

	/* '#' inside a token is part of the address, not a comment. */
	res = resolve_now(d, "x#y@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_string_equal(res->targets[0].host, "mbx2:2525");
	dir_result_free(res);
	res = resolve_now(d, "v6@winery-co.co");
	assert_string_equal(res->targets[0].host, "[IPv6:2001:db8::25]:25");
	dir_result_free(res);

	directory_unref(d);
}

static void
test_aliases(void **state)
{
	struct directory *d;
	struct dir_result *res;
	char err[CONF_ERR_MAX];

	(void)state;
	d = open_text(sample, err, sizeof(err));
	assert_non_null(d);

	res = resolve_now(d, "team@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 2);
	assert_string_equal(res->targets[0].addr, "ericm@winery-co.co");
	assert_string_equal(res->targets[1].addr, "kimy@winery-co.co");
	assert_string_equal(res->targets[1].host, "[10.0.0.32]:25");
	dir_result_free(res);

	/* Nested. */
	res = resolve_now(d, "all@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 3);
	assert_true(has_target(res, "ericm@winery-co.co", "mbx1.winery.local"));
	assert_true(has_target(res, "kimy@winery-co.co", "[10.0.0.32]:25"));
	assert_true(has_target(res, "postmaster@winery-co.co", "local"));
	dir_result_free(res);

	/* A loop: each address once, and an answer. */
	res = resolve_now(d, "loop-a@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 2);
	assert_true(has_target(res, "ericm@winery-co.co", "mbx1.winery.local"));
	assert_true(has_target(res, "kimy@winery-co.co", "[10.0.0.32]:25"));
	dir_result_free(res);
	res = resolve_now(d, "ring-a@winery-co.co");
	assert_int_equal(res->status, DIR_NOTFOUND);
	dir_result_free(res);

	/* ericm reached directly and through team: once. */
	res = resolve_now(d, "dup@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 2);
	dir_result_free(res);

	/* A member outside the local domains: a target without a host. */
	res = resolve_now(d, "ext@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 2);
	assert_true(has_target(res, "someone@example.org", NULL));
	assert_true(has_target(res, "ericm@winery-co.co", "mbx1.winery.local"));
	dir_result_free(res);

	/* A member with no entry is skipped; if all are, NOTFOUND. */
	res = resolve_now(d, "miss@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 1);
	assert_true(has_target(res, "ericm@winery-co.co", "mbx1.winery.local"));
	dir_result_free(res);
	res = resolve_now(d, "allmiss@winery-co.co");
	assert_int_equal(res->status, DIR_NOTFOUND);
	assert_non_null(strstr(res->reason, "no list member"));
	dir_result_free(res);

	/* A local member found through its domain's catch-all. */
	res = resolve_now(d, "viacatch@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_true(has_target(res, "someone@winery.local",
	    "mbx1.winery.local"));
	dir_result_free(res);

	directory_unref(d);
}

static void
test_limits(void **state)
{
	struct directory *d;
	struct dir_result *res;
	char err[CONF_ERR_MAX], *text, *p;
	size_t cap = 1 << 20, len = 0;
	int i, j;

	(void)state;
	text = xmalloc(cap);
#define ADD(...) do {							\
	len += (size_t)snprintf(text + len, cap - len, __VA_ARGS__);	\
	assert_true(len < cap);						\
} while (0)
	ADD("ericm@winery-co.co mbx1\n");
	/* d0 -> ... -> d9 -> ericm: ten levels of lists, allowed. */
	for (i = 0; i < DIRECTORY_DEPTH_MAX - 1; i++)
		ADD("d%d@winery-co.co -> d%d@winery-co.co\n", i, i + 1);
	ADD("d%d@winery-co.co -> ericm@winery-co.co\n",
	    DIRECTORY_DEPTH_MAX - 1);
	/* e0 -> ... -> e10 -> ericm: eleven, too deep. */
	for (i = 0; i < DIRECTORY_DEPTH_MAX; i++)
		ADD("e%d@winery-co.co -> e%d@winery-co.co\n", i, i + 1);
	ADD("e%d@winery-co.co -> ericm@winery-co.co\n", DIRECTORY_DEPTH_MAX);
	/* ok -> 10 lists of 100 = 1000 addresses; big -> 10 of 101. */
	ADD("ok@winery-co.co ->");
	for (i = 0; i < 10; i++)
		ADD(" ok%d@winery-co.co", i);
	ADD("\nbig@winery-co.co ->");
	for (i = 0; i < 10; i++)
		ADD(" big%d@winery-co.co", i);
	ADD("\n");
	for (i = 0; i < 10; i++) {
		ADD("ok%d@winery-co.co ->", i);
		for (j = 0; j < 100; j++)
			ADD(" u%d.%d@example.org", i, j);
		ADD("\nbig%d@winery-co.co ->", i);
		for (j = 0; j < 101; j++)
			ADD(" v%d.%d@example.org", i, j);
		ADD("\n");
	}
#undef ADD
	d = open_text(text, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	free(text);

	res = resolve_now(d, "d0@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, 1);
	dir_result_free(res);
	res = resolve_now(d, "e0@winery-co.co");
	assert_int_equal(res->status, DIR_TOO_MANY);
	assert_non_null(strstr(res->reason, "alias loop limit"));
	assert_int_equal(res->ntargets, 0);
	dir_result_free(res);
	/* Deep inside, the same list is fine. */
	res = resolve_now(d, "e1@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	dir_result_free(res);

	res = resolve_now(d, "ok@winery-co.co");
	assert_int_equal(res->status, DIR_FOUND);
	assert_int_equal(res->ntargets, DIRECTORY_EXPAND_MAX);
	dir_result_free(res);
	res = resolve_now(d, "big@winery-co.co");
	assert_int_equal(res->status, DIR_TOO_MANY);
	p = strstr(res->reason, "more than");
	assert_non_null(p);
	dir_result_free(res);
	directory_unref(d);
}

static void
test_file_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;	/* after "PATH" */
	} cases[] = {
		{ "a@winery-co.co mbx1\n# c\nA@Winery-Co.co mbx2\n",
		    ":3: duplicate entry for a@winery-co.co "
		    "(first on line 1)" },
		{ "@winery.local mbx1\n@WINERY.local mbx2\n",
		    ":2: duplicate entry for @winery.local" },
		{ "a@b.c mbx1\nteam@b.c -> a@b.c\nTEAM@b.c -> a@b.c\n",
		    ":3: duplicate" },
		{ "\n\n  a@b.c bad_host!\n", ":3: bad mailbox server" },
		{ "not-an-address mbx1\n", ":1: bad address" },
		{ "a@b.c mbx1 extra\n", ":1: expected" },
		{ "a@b.c\n", ":1: expected" },
		{ "a@b.c ->\n", ":1: alias a@b.c has no member" },
		{ "a@b.c -> x@y.z foo\n", ":1: bad member address \"foo\"" },
		{ "@bad..domain mbx1\n", ":1: bad domain" },
		{ "@b.c -> a@b.c\n", ":1: a catch-all" },
		{ "a@b.c [10.0.0.300]\n", ":1: bad mailbox server" },
		{ "a@b.c [10.0.0.1\n", ":1: bad mailbox server" },
		{ "a@b.c [10.0.0.1]x\n", ":1: bad mailbox server" },
		{ "a@b.c [10.0.0.1]:\n", ":1: bad mailbox server" },
		{ "a@b.c [mbx1]\n", ":1: bad mailbox server" },
		{ "a@b.c mbx1:0\n", ":1: bad mailbox server" },
		{ "a@b.c mbx1:65536\n", ":1: bad mailbox server" },
		{ "a@b.c mbx1.\n", ":1: bad mailbox server" },
		{ "a@b.c -mbx\n", ":1: bad mailbox server" },
		{ "a@b.c mbx1\nb@b.c mbx1 # ok\n\tc@b.c\tmbx1:x\n",
		    ":3: bad mailbox server" },
	};
	struct directory *d;
	char err[CONF_ERR_MAX], *path, *want, *big;
	struct conf *c;
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		d = open_text(cases[i].text, err, sizeof(err));
		if (d != NULL)
			fail_msg("case %zu accepted", i);
		want = xasprintf("%s/directory%s", tmpdir, cases[i].err);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
			    want);
		free(want);
	}

	/* Line over the limit. */
	big = xmalloc(DIRECTORY_LINE_MAX + 64);
	memset(big, 'x', DIRECTORY_LINE_MAX + 62);
	memcpy(big, "# ok\na@b.c ", 11);
	big[DIRECTORY_LINE_MAX + 62] = '\n';
	big[DIRECTORY_LINE_MAX + 63] = '\0';
	assert_null(open_text(big, err, sizeof(err)));
	assert_non_null(strstr(err, "/directory:2: line longer than"));
	/* Exactly at the limit is only a bad host. */
	memset(big, 'x', DIRECTORY_LINE_MAX);
	memcpy(big, "a@b.c ", 6);
	big[DIRECTORY_LINE_MAX] = '\n';
	big[DIRECTORY_LINE_MAX + 1] = '\0';
	assert_null(open_text(big, err, sizeof(err)));
	assert_non_null(strstr(err, ":1: bad mailbox server"));
	free(big);

	/* File over the limit (sparse: no need to write it all). */
	path = xasprintf("%s/huge", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)DIRECTORY_FILE_MAX + 1), 0);
	close(fd);
	c = make_conf(DIR_FILE, path);
	assert_null(directory_open(c, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than"));
	assert_non_null(strstr(err, path));
	unlink(path);
	/* Missing file. */
	assert_null(directory_open(c, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	free_conf(c);
	free(path);

	/* Comments, blank lines, CRLF and tabs are fine. */
	d = open_text("# header\r\n\r\n \t \n"
	    "a@b.c\tmbx1 # comment\r\n"
	    "#b@b.c mbx1\n"
	    "c@b.c [::1]:25", err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	directory_unref(d);
}

static void
test_backends(void **state)
{
	struct directory *d;
	struct dir_result *res;
	struct conf *c;
	char err[CONF_ERR_MAX];

	(void)state;
	c = make_conf(DIR_NONE, NULL);
	d = directory_open(c, err, sizeof(err));
	assert_non_null(d);
	res = resolve_now(d, "ericm@winery-co.co");
	assert_int_equal(res->status, DIR_NOTFOUND);
	dir_result_free(res);
	/* Reference counting: the last unref frees (ASan checks). */
	assert_true(directory_ref(d) == d);
	assert_int_equal(d->refcnt, 2);
	directory_unref(d);
	directory_unref(d);
	/* The ldap backend is registered: an empty ldap block is refused
	 * by it (the configuration parser never lets one through). */
	c->directory = DIR_LDAP;
	assert_null(directory_open(c, err, sizeof(err)));
	assert_non_null(strstr(err, "directory ldap needs uri"));
	free_conf(c);
}

/* 100k users: one hash lookup each. */
static void
test_big_file(void **state)
{
	enum { N = 100000 };
	struct directory *d;
	struct dir_result *res;
	char err[CONF_ERR_MAX], addr[64], *path;
	struct conf *c;
	FILE *fp;
	int i;

	(void)state;
	path = xasprintf("%s/big", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (i = 0; i < N; i++)
		fprintf(fp, "User%d@winery-co.co mbx%d.winery.local\n", i,
		    i % 7);
	fclose(fp);
	c = make_conf(DIR_FILE, path);
	d = directory_open(c, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	for (i = 0; i < N; i += 997) {
		snprintf(addr, sizeof(addr), "user%d@winery-co.co", i);
		res = resolve_now(d, addr);
		assert_int_equal(res->status, DIR_FOUND);
		snprintf(addr, sizeof(addr), "mbx%d.winery.local", i % 7);
		assert_string_equal(res->targets[0].host, addr);
		dir_result_free(res);
	}
	res = resolve_now(d, "user100000@winery-co.co");
	assert_int_equal(res->status, DIR_NOTFOUND);
	dir_result_free(res);
	directory_unref(d);
	free_conf(c);
	unlink(path);
	free(path);
}

static void
test_map(void **state)
{
	struct strmap *m;
	char key[32];
	int i;

	(void)state;
	m = strmap_new();
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(strmap_add(m, key, (void *)(intptr_t)(i + 1)),
		    0);
	}
	assert_int_equal(strmap_add(m, "k42", NULL), -1);
	assert_int_equal(strmap_count(m), 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal((intptr_t)strmap_get(m, key), i + 1);
	}
	assert_null(strmap_get(m, "k5000"));
	assert_null(strmap_get(m, ""));
	strmap_free(m, NULL);
}

/* ---- a fake backend that answers later ---- */

struct fake_entry {
	const char		*key;
	enum dir_status		 st;
	enum dir_entry_kind	 kind;
	const char		*host;
	const char		*members[4];
};

static const struct fake_entry fake_entries[] = {
	{ "ericm@winery-co.co", DIR_FOUND, DIR_ENTRY_MAILBOX, "mbx1", { 0 } },
	{ "kimy@winery-co.co", DIR_FOUND, DIR_ENTRY_MAILBOX, "mbx2", { 0 } },
	{ "@winery.local", DIR_FOUND, DIR_ENTRY_MAILBOX, "mbx3", { 0 } },
	{ "down@winery-co.co", DIR_TEMPFAIL, 0, NULL, { 0 } },
	{ "team@winery-co.co", DIR_FOUND, DIR_ENTRY_ALIAS, NULL,
	    { "ericm@winery-co.co", "Sub@Winery-Co.co", "x@example.org",
	    "ghost@winery-co.co" } },
	{ "sub@winery-co.co", DIR_FOUND, DIR_ENTRY_ALIAS, NULL,
	    { "kimy@winery-co.co", "team@winery-co.co", "any@winery.local" } },
	{ "mixed@winery-co.co", DIR_FOUND, DIR_ENTRY_ALIAS, NULL,
	    { "ericm@winery-co.co", "down@winery-co.co",
	    "kimy@winery-co.co" } },
};

struct fake_q {
	struct fake_q	*next;
	char		*key;
	dir_entry_cb	 cb;
	void		*arg;
};

static struct fake_q	*fake_head, **fake_tail = &fake_head;
static struct event_base *fake_base;	/* set: answer from a timer */
static int		 fake_lookups;

static void
fake_answer(struct fake_q *q)
{
	const struct fake_entry *fe = NULL;
	struct dir_entry e;
	size_t i, n;

	for (i = 0; i < sizeof(fake_entries) / sizeof(fake_entries[0]); i++)
		if (strcmp(fake_entries[i].key, q->key) == 0)
			fe = &fake_entries[i];
	if (fe == NULL)
		q->cb(q->arg, DIR_NOTFOUND, NULL);
	else if (fe->st != DIR_FOUND)
		q->cb(q->arg, fe->st, NULL);
	else {
		for (n = 0; n < 4 && fe->members[n] != NULL; n++)
			;
		memset(&e, 0, sizeof(e));
		e.kind = fe->kind;
		e.host = fe->host;
		e.members = fe->members;
		e.nmembers = n;
		q->cb(q->arg, DIR_FOUND, &e);
	}
	free(q->key);
	free(q);
}

static void
fake_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fake_answer(arg);
}

static int
fake_open(struct directory *d, const struct conf *c, char *err,
    size_t errlen)
{
	(void)d;
	(void)c;
	(void)err;
	(void)errlen;
	return 0;
}

static void
fake_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	struct fake_q *q = xcalloc(1, sizeof(*q));
	struct timeval tv = { 0, 1000 };

	(void)d;
	fake_lookups++;
	q->key = xstrdup(key);
	q->cb = cb;
	q->arg = arg;
	if (fake_base != NULL) {
		assert_int_equal(event_base_once(fake_base, -1, EV_TIMEOUT,
		    fake_timer, q, &tv), 0);
		return;
	}
	*fake_tail = q;
	fake_tail = &q->next;
}

static void
fake_close(struct directory *d)
{
	(void)d;
}

static const struct directory_backend fake_backend = {
	"fake", fake_open, fake_lookup, fake_close
};

/* Answer the oldest question; 0 if none was waiting. */
static int
fake_pump_one(void)
{
	struct fake_q *q = fake_head;

	if (q == NULL)
		return 0;
	if ((fake_head = q->next) == NULL)
		fake_tail = &fake_head;
	fake_answer(q);
	return 1;
}

static int
fake_pump(void)
{
	int n = 0;

	while (fake_pump_one())
		n++;
	return n;
}

static struct directory *
fake_open_dir(void)
{
	struct directory *d;
	struct conf *c = make_conf(DIR_NONE, NULL);
	char err[CONF_ERR_MAX];

	d = directory_open_backend(&fake_backend, c, err, sizeof(err));
	assert_non_null(d);
	free_conf(c);
	return d;
}

static void
test_async(void **state)
{
	struct dir_request *r;
	struct directory *d;
	struct got g = { 0, NULL };

	(void)state;
	d = fake_open_dir();

	r = directory_resolve(d, "ericm@winery-co.co", got_cb, &g);
	assert_non_null(r);
	assert_int_equal(g.calls, 0);
	assert_int_equal(fake_pump(), 1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res->status, DIR_FOUND);
	assert_string_equal(g.res->targets[0].host, "mbx1");

	/* team -> ericm, sub, x@example.org, ghost; sub -> kimy, team
	 * (a loop), any@winery.local (catch-all). */
	g.calls = 0;
	fake_lookups = 0;
	r = directory_resolve(d, "TEAM@winery-co.co", got_cb, &g);
	assert_non_null(r);
	assert_true(fake_pump() > 1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res->status, DIR_FOUND);
	assert_int_equal(g.res->ntargets, 4);
	assert_true(has_target(g.res, "ericm@winery-co.co", "mbx1"));
	assert_true(has_target(g.res, "kimy@winery-co.co", "mbx2"));
	assert_true(has_target(g.res, "x@example.org", NULL));
	assert_true(has_target(g.res, "any@winery.local", "mbx3"));
	/* team, ericm, sub, ghost, @winery-co.co for ghost, kimy,
	 * any, @winery.local for any. */
	assert_int_equal(fake_lookups, 8);

	/* One TEMPFAIL anywhere: TEMPFAIL, even with members found. */
	g.calls = 0;
	r = directory_resolve(d, "mixed@winery-co.co", got_cb, &g);
	assert_non_null(r);
	fake_pump();
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res->status, DIR_TEMPFAIL);
	assert_int_equal(g.res->ntargets, 0);
	assert_non_null(strstr(g.res->reason, "down@winery-co.co"));
	dir_result_free(g.res);
	g.res = NULL;

	/* The directory lives as long as a resolution needs it. */
	g.calls = 0;
	r = directory_resolve(d, "nobody@winery.org", got_cb, &g);
	assert_non_null(r);
	directory_unref(d);
	fake_pump();
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res->status, DIR_NOTFOUND);
	dir_result_free(g.res);
}

static void
test_cancel(void **state)
{
	struct dir_request *r;
	struct directory *d;
	struct got g = { 0, NULL };

	(void)state;
	d = fake_open_dir();

	/* Before any answer. */
	r = directory_resolve(d, "team@winery-co.co", got_cb, &g);
	assert_non_null(r);
	directory_cancel(r);
	fake_pump();
	assert_int_equal(g.calls, 0);

	/* Half way: answers in flight are drained, then freed (ASan). */
	r = directory_resolve(d, "team@winery-co.co", got_cb, &g);
	assert_non_null(r);
	assert_int_equal(fake_pump_one(), 1);
	assert_int_equal(fake_pump_one(), 1);
	directory_cancel(r);
	fake_pump();
	assert_int_equal(g.calls, 0);

	/* A cancelled request keeps the directory until it is done. */
	r = directory_resolve(d, "ericm@winery-co.co", got_cb, &g);
	directory_cancel(r);
	directory_unref(d);
	fake_pump();
	assert_int_equal(g.calls, 0);
	directory_cancel(NULL);
}

/* The same state machine, answered from libevent timers. */
static void
test_async_timer(void **state)
{
	struct dir_request *r, *r2;
	struct directory *d;
	struct got g = { 0, NULL }, g2 = { 0, NULL };

	(void)state;
	fake_base = event_base_new();
	assert_non_null(fake_base);
	d = fake_open_dir();
	r = directory_resolve(d, "team@winery-co.co", got_cb, &g);
	r2 = directory_resolve(d, "sub@winery-co.co", got_cb, &g2);
	assert_non_null(r);
	assert_non_null(r2);
	directory_cancel(r2);
	/* 1: no events left, every answer was delivered. */
	assert_int_equal(event_base_dispatch(fake_base), 1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g2.calls, 0);
	assert_int_equal(g.res->status, DIR_FOUND);
	assert_int_equal(g.res->ntargets, 4);
	dir_result_free(g.res);
	directory_unref(d);
	event_base_free(fake_base);
	fake_base = NULL;
}

static int
rm_tmpdir(void **state)
{
	(void)state;
	assert_int_equal(rmdir(tmpdir), 0);
	free(tmpdir);
	return 0;
}

static int
mk_tmpdir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	tmpdir = xasprintf("%s/postern-td-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_file_basic),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_backends),
		cmocka_unit_test(test_big_file),
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_async_timer),
	};

	return cmocka_run_group_tests(tests, mk_tmpdir, rm_tmpdir);
}
