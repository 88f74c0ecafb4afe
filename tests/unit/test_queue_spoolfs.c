/*
 * test_queue_spoolfs — start-up in a spool someone else owns: queue_init,
 * queue_open_dir and queue_chown never follow a symbolic link below the
 * spool (a link in place of a subdirectory is refused, naming it; a link
 * in incoming/ or free/ is removed, not followed), queue_chown hands over
 * the directories and the files but never a hard link to a file outside
 * the spool, and the first failure to recycle a queue file is logged once
 * (docs/security.md).  In mkdtemp() directories.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"
#include "queue_recycle.h"
#include "xmalloc.h"

#define NOBODY	65534

struct fix {
	char	*dir;		/* mkdtemp: holds spool/ and target/ */
	char	*spool;
	char	*target;	/* a directory outside the spool */
	char	*victim;	/* target/precious, 0600 */
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static char *
sub(const struct fix *f, const char *name)
{
	return xasprintf("%s/%s", f->spool, name);
}

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));
	char err[256];

	f->dir = xstrdup("/tmp/postern-tf-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->spool = xasprintf("%s/spool", f->dir);
	f->target = xasprintf("%s/target", f->dir);
	f->victim = xasprintf("%s/precious", f->target);
	assert_int_equal(mkdir(f->target, 0700), 0);
	write_file(f->victim, "keep me\n");
	assert_int_equal(queue_init(f->spool, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->victim);
	free(f->target);
	free(f->spool);
	free(f->dir);
	free(f);
	return 0;
}

/* The target directory and its file are as setup() made them. */
static void
assert_target_untouched(const struct fix *f)
{
	struct stat st;

	assert_int_equal(stat(f->target, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(stat(f->victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_nlink >= 1, 1);
}

/* Each subdirectory in turn replaced by a link to the target. */
static void
t_link_instead_of_subdir(void **state)
{
	static const char *const subs[] = { "incoming", "free", "queue",
	    "state", "corrupt" };
	struct fix *f = *state;
	char err[512], *p, *want;
	size_t i;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		p = sub(f, subs[i]);
		assert_int_equal(rmdir(p), 0);
		assert_int_equal(symlink(f->target, p), 0);
		assert_int_equal(queue_init(f->spool, err, sizeof(err)), -1);
		want = xasprintf("%s: is a symbolic link", p);
		if (strstr(err, want) == NULL)
			fail_msg("%s: %s", subs[i], err);
		free(want);
		assert_int_equal(queue_open_dir(f->spool, subs[i]), -1);
		assert_true(errno == ELOOP || errno == ENOTDIR);
		if (geteuid() == 0) {
			assert_int_equal(queue_chown(f->spool, NOBODY, NOBODY,
			    err, sizeof(err)), -1);
			assert_non_null(strstr(err, "symbolic link"));
		}
		assert_target_untouched(f);
		assert_int_equal(unlink(p), 0);
		assert_int_equal(mkdir(p, 0700), 0);
		assert_int_equal(queue_init(f->spool, err, sizeof(err)), 0);
		free(p);
	}
}

/* A link inside incoming/ or free/ goes, and what it names stays. */
static void
t_purge_removes_links_only(void **state)
{
	struct fix *f = *state;
	char err[256], *a, *b;

	a = xasprintf("%s/incoming/0123456789ABCDEFGHIJ", f->spool);
	b = xasprintf("%s/free/0123456789ABCDEFGHIK", f->spool);
	assert_int_equal(symlink(f->victim, a), 0);
	assert_int_equal(symlink(f->target, b), 0);
	assert_int_equal(queue_init(f->spool, err, sizeof(err)), 0);
	assert_int_equal(access(a, F_OK), -1);
	assert_int_equal(access(b, F_OK), -1);
	assert_target_untouched(f);
	free(a);
	free(b);
}

/* As root: everything of the spool goes to the user, but a hard link to
 * a file outside it, and whatever a link names, stay root's. */
static void
t_chown(void **state)
{
	struct fix *f = *state;
	struct stat st;
	char err[256], *q, *h, *l, *d;

	if (geteuid() != 0) {
		skip();
		return;
	}
	q = xasprintf("%s/queue/0123456789ABCDEFGHIJ", f->spool);
	h = xasprintf("%s/corrupt/hardlink", f->spool);
	l = xasprintf("%s/state/symlink", f->spool);
	write_file(q, "a message");
	assert_int_equal(link(f->victim, h), 0);
	assert_int_equal(symlink(f->victim, l), 0);
	assert_int_equal(queue_chown(f->spool, NOBODY, NOBODY, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(f->spool, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	d = sub(f, "free");
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(st.st_gid, NOBODY);
	assert_int_equal(stat(q, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(lstat(l, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_target_untouched(f);
	free(q);
	free(h);
	free(l);
	free(d);
}

/* A rename into free/ that fails for another reason than a vanished file
 * falls back to unlink, and says so once. */
static void
t_recycle_failure_logged_once(void **state)
{
	struct fix *f = *state;
	char path[4096], buf[4096], *logp;
	const char *ids[2] = { "0123456789ABCDEFGHIJ", "0123456789ABCDEFGHIK" };
	int logfd, saved, i;
	ssize_t n;

	logp = xasprintf("%s/log", f->dir);
	assert_true((logfd = open(logp, O_RDWR | O_CREAT, 0600)) >= 0);
	saved = dup(STDERR_FILENO);
	assert_int_equal(queue_recycle_start(f->spool), 0);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/queue/%s", f->spool, ids[i]);
		write_file(path, "done");
		/* taken in free/: RENAME_NOREPLACE fails with EEXIST */
		snprintf(path, sizeof(path), "%s/free/%s", f->spool, ids[i]);
		write_file(path, "");
	}
	dup2(logfd, STDERR_FILENO);
	for (i = 0; i < 2; i++)
		assert_int_equal(queue_recycle_put(f->spool, ids[i]), -1);
	dup2(saved, STDERR_FILENO);
	close(saved);
	queue_recycle_stop();
	n = pread(logfd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	close(logfd);
	if (strstr(buf, "File exists") == NULL ||
	    strstr(buf, "logged once") == NULL ||
	    strchr(buf, '\n') != strrchr(buf, '\n'))
		fail_msg("log: %s", buf);
	free(logp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_link_instead_of_subdir,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_purge_removes_links_only,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_chown, setup, teardown),
		cmocka_unit_test_setup_teardown(t_recycle_failure_logged_once,
		    setup, teardown),
	};

	log_init("test_queue_spoolfs", 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
