/*
 * test_maildir — delivery into the local Maildir store: the layout and
 * modes it makes, the content (prefix + the byte range of the source), two
 * deliveries giving two files, unsafe addresses refused, a short source
 * leaving nothing behind, and an unusable store.  Everything happens in a
 * mkdtemp() directory that is removed at the end.
 */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"
#include "queue.h"
#include "xmalloc.h"

/* The message at [off, off + len) of fd, nothing cut. */
static int
deliver_at(const char *store, const char *address, const char *pfx, int fd,
    uint64_t off, uint64_t len, char *err, size_t errlen)
{
	struct queue_view v = { fd, off, len, NULL, 0 };

	return maildir_deliver(store, address, pfx, &v, len, err, errlen);
}

static const char body[] =
    "Received: from client by gw\r\n"
    "Subject: hi\r\n"
    "\r\n"
    "hello\r\n";
static const char prefix[] = "Delivered-To: kim@winery-co.co\r\n";

/* ---- helpers ---- */

static char *
tmp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	dir = xasprintf("%s/postern-tm-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void
rm_rf(const char *dir)
{
	assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* A source file: 7 bytes of junk (an envelope, say), then the body. */
static int
source(const char *dir)
{
	char *path = xasprintf("%s/source", dir);
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "header\n", 7), 7);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	free(path);
	return fd;
}

/* Names in dir (not . and ..); the first one is copied to *first. */
static int
list(const char *dir, char **first)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (first != NULL)
		*first = NULL;
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ == 0 && first != NULL)
			*first = xstrdup(de->d_name);
	}
	closedir(d);
	return n;
}

static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *p;
	int fd;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	p[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	close(fd);
	return p;
}

static void
assert_mode(const char *path, mode_t mode)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

/* ---- tests ---- */

static void
test_address_ok(void **state)
{
	static const char *const good[] = { "kim@winery-co.co",
	    "a.b+c@x.org", "j\303\266e@x.org", "x" };
	static const char *const bad[] = { "", ".", "..", "../x", "a/b",
	    ".hidden", "a\nb", "a\rb", "a\tb", "a\177b", "/etc" };
	char longest[257];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(maildir_address_ok(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(maildir_address_ok(bad[i]));
	assert_false(maildir_address_ok(NULL));
	memset(longest, 'a', 255);
	longest[255] = '\0';
	assert_true(maildir_address_ok(longest));
	longest[255] = 'a';
	longest[256] = '\0';
	assert_false(maildir_address_ok(longest));
}

static void
test_deliver(void **state)
{
	char *dir = tmp_dir(), *store = xasprintf("%s/mailboxes", dir);
	char *p, *name, *file, *want, *got, err[256];
	size_t len;
	int fd = source(dir);

	(void)state;
	assert_int_equal(deliver_at(store, "kim@winery-co.co", prefix,
	    fd, 7, strlen(body), err, sizeof(err)), 0);

	assert_mode(store, 0700);
	p = xasprintf("%s/kim@winery-co.co", store);
	assert_mode(p, 0700);
	free(p);
	p = xasprintf("%s/kim@winery-co.co/tmp", store);
	assert_mode(p, 0700);
	assert_int_equal(list(p, NULL), 0);
	free(p);
	p = xasprintf("%s/kim@winery-co.co/cur", store);
	assert_mode(p, 0700);
	assert_int_equal(list(p, NULL), 0);
	free(p);
	p = xasprintf("%s/kim@winery-co.co/new", store);
	assert_mode(p, 0700);
	assert_int_equal(list(p, &name), 1);

	/* TIME.M<usec>P<pid>Q<n>R<rand>.HOST */
	assert_non_null(strstr(name, ".M"));
	assert_non_null(strstr(name, "P"));
	assert_non_null(strstr(name, "Q"));
	assert_non_null(strstr(name, "R"));
	assert_null(strchr(name, '/'));
	assert_null(strchr(name, ':'));

	file = xasprintf("%s/%s", p, name);
	assert_mode(file, 0600);
	got = slurp(file, &len);
	want = xasprintf("%s%s", prefix, body);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);

	free(got);
	free(want);
	free(file);
	free(name);
	free(p);
	close(fd);
	rm_rf(dir);
	free(store);
	free(dir);
}

static void
test_two_deliveries(void **state)
{
	char *dir = tmp_dir(), *p, *a, *b, *f, *got, err[256];
	size_t len;
	int fd = source(dir);
	DIR *d;
	struct dirent *de;

	(void)state;
	/* The store exists already; no prefix; a sub-range. */
	assert_int_equal(deliver_at(dir, "kim@x.org", NULL, fd, 7, 5,
	    err, sizeof(err)), 0);
	assert_int_equal(deliver_at(dir, "kim@x.org", NULL, fd, 7, 5,
	    err, sizeof(err)), 0);
	p = xasprintf("%s/kim@x.org/new", dir);
	assert_int_equal(list(p, NULL), 2);
	a = b = NULL;
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (a == NULL)
			a = xstrdup(de->d_name);
		else
			b = xstrdup(de->d_name);
		f = xasprintf("%s/%s", p, de->d_name);
		got = slurp(f, &len);
		assert_int_equal(len, 5);
		assert_memory_equal(got, "Recei", 5);
		free(got);
		free(f);
	}
	closedir(d);
	assert_non_null(b);
	assert_string_not_equal(a, b);

	/* An empty message is still a message. */
	assert_int_equal(deliver_at(dir, "kim@x.org", NULL, fd, 0, 0,
	    err, sizeof(err)), 0);
	assert_int_equal(list(p, NULL), 3);
	free(a);
	free(b);
	free(p);
	close(fd);
	rm_rf(dir);
	free(dir);
}

static void
test_bad_address(void **state)
{
	static const char *const bad[] = { "../x", "a/b", ".hidden", "",
	    "..", "." };
	char *dir = tmp_dir(), err[256];
	int fd = source(dir);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(deliver_at(dir, bad[i], prefix, fd, 0,
		    4, err, sizeof(err)), EINVAL);
		assert_true(err[0] != '\0');
	}
	/* Nothing was made: only the source is there. */
	assert_int_equal(list(dir, NULL), 1);
	close(fd);
	rm_rf(dir);
	free(dir);
}

static void
test_short_source(void **state)
{
	char *dir = tmp_dir(), *p, err[256];
	int fd = source(dir);

	(void)state;
	err[0] = '\0';
	assert_int_equal(deliver_at(dir, "kim@x.org", prefix, fd, 7,
	    strlen(body) + 1, err, sizeof(err)), EIO);
	assert_non_null(strstr(err, "maildir"));
	p = xasprintf("%s/kim@x.org/tmp", dir);
	assert_int_equal(list(p, NULL), 0);
	free(p);
	p = xasprintf("%s/kim@x.org/new", dir);
	assert_int_equal(list(p, NULL), 0);
	free(p);

	/* A source that cannot be read at all. */
	assert_int_equal(deliver_at(dir, "kim@x.org", prefix, -1, 0, 4,
	    err, sizeof(err)), EBADF);
	p = xasprintf("%s/kim@x.org/tmp", dir);
	assert_int_equal(list(p, NULL), 0);
	free(p);
	close(fd);
	rm_rf(dir);
	free(dir);
}

static void
test_unusable_store(void **state)
{
	char *dir = tmp_dir(), *store, err[256];
	int fd = source(dir);

	(void)state;
	/* STORE is a regular file. */
	store = xasprintf("%s/source", dir);
	err[0] = '\0';
	assert_int_not_equal(deliver_at(store, "kim@x.org", prefix, fd,
	    7, 4, err, sizeof(err)), 0);
	assert_true(err[0] != '\0');
	free(store);

	/* STORE's parent does not exist: STORE is made, its parents not. */
	store = xasprintf("%s/no/such/store", dir);
	assert_int_equal(deliver_at(store, "kim@x.org", prefix, fd, 7,
	    4, err, sizeof(err)), ENOENT);
	free(store);

	/* ADDR is a regular file in a good store. */
	store = xasprintf("%s/store", dir);
	assert_int_equal(mkdir(store, 0700), 0);
	free(store);
	store = xasprintf("%s/store/kim@x.org", dir);
	close(open(store, O_WRONLY | O_CREAT, 0600));
	free(store);
	store = xasprintf("%s/store", dir);
	assert_int_not_equal(deliver_at(store, "kim@x.org", prefix, fd,
	    7, 4, err, sizeof(err)), 0);
	free(store);

	/* A path too long for the system. */
	store = xmalloc(5000);
	memset(store, 'a', 4999);
	store[0] = '/';
	store[4999] = '\0';
	assert_int_equal(deliver_at(store, "kim@x.org", prefix, fd, 7,
	    4, err, sizeof(err)), ENAMETOOLONG);
	free(store);
	close(fd);
	rm_rf(dir);
	free(dir);
}

/* A layout a crash left half made (no tmp/) is repaired. */
static void
test_repair(void **state)
{
	char *dir = tmp_dir(), *p, err[256];
	int fd = source(dir);

	(void)state;
	p = xasprintf("%s/kim@x.org", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/kim@x.org/new", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	assert_int_equal(deliver_at(dir, "kim@x.org", prefix, fd, 7, 4,
	    err, sizeof(err)), 0);
	p = xasprintf("%s/kim@x.org/new", dir);
	assert_int_equal(list(p, NULL), 1);
	free(p);
	p = xasprintf("%s/kim@x.org/cur", dir);
	assert_mode(p, 0700);
	free(p);
	close(fd);
	rm_rf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_ok),
		cmocka_unit_test(test_deliver),
		cmocka_unit_test(test_two_deliveries),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_short_source),
		cmocka_unit_test(test_unusable_store),
		cmocka_unit_test(test_repair),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
