/*
 * test_directory — the directory: the file backend (format, checks,
 * FILE:LINE errors, case folding, 100k entries), the generic resolution
 * (catch-all, aliases, loops, limits, skipped members, external members,
 * TEMPFAIL).  The asynchronous state machine is test_directory_async.c.
 */
#include "directory_fixture.h"

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

/* A backend that expands a group itself (LDAP member-attribute) may
 * answer TOO_MANY: that is 550 5.4.6, never a TEMPFAIL. */
static int
toomany_open(struct directory *d, const struct conf *c, char *err,
    size_t errlen)
{
	(void)d;
	(void)c;
	(void)err;
	(void)errlen;
	return 0;
}

static void
toomany_lookup(struct directory *d, const char *key, dir_entry_cb cb,
    void *arg)
{
	(void)d;
	cb(arg, strncmp(key, "grp@", 4) == 0 ? DIR_TOO_MANY : DIR_NOTFOUND,
	    NULL);
}

static void
toomany_close(struct directory *d)
{
	(void)d;
}

static const struct directory_backend toomany_backend = {
	"toomany", toomany_open, toomany_lookup, toomany_close
};

static void
test_backend_too_many(void **state)
{
	struct directory *d;
	struct dir_result *res;
	char err[CONF_ERR_MAX];

	(void)state;
	d = directory_open_backend(&toomany_backend, NULL, err, sizeof(err));
	assert_non_null(d);
	res = resolve_now(d, "grp@winery-co.co");
	assert_int_equal(res->status, DIR_TOO_MANY);
	assert_non_null(strstr(res->reason, "grp@winery-co.co"));
	dir_result_free(res);
	directory_unref(d);
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
		cmocka_unit_test(test_backend_too_many),
		cmocka_unit_test(test_big_file),
	};

	return cmocka_run_group_tests(tests, mk_tmpdir, rm_tmpdir);
}
