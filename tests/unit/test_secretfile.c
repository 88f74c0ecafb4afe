/*
 * test_secretfile — the password-file reader (src/lib/secretfile.c): the
 * line without its end, empty and oversized files and directories
 * refused, and the memo a reload falls back to when the file may no
 * longer be read (EACCES, as for the run user after privileges drop).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secretfile.h"

static char dir[] = "/tmp/test_secretfile.XXXXXX";

static const char *
file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
test_read(void **state)
{
	struct secretfile_memo memo = { 0 };
	char err[512], *out = NULL;

	(void)state;
	assert_int_equal(secretfile_read("t:1", file("a", "s3cret\r\nnext\n",
	    0600), 64, &memo, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "s3cret");
	secretfile_wipe_free(out);
	assert_string_equal(memo.secret, "s3cret");

	assert_int_equal(secretfile_read("t:2", file("e", "\n", 0600), 64,
	    &memo, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t:2: password-file"));
	assert_non_null(strstr(err, "is empty"));

	assert_int_equal(secretfile_read("t:3", file("l", "0123456789",
	    0600), 9, &memo, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than allowed"));
	/* exactly the bound, without a line end, is fine */
	assert_int_equal(secretfile_read("t:3", file("l", "012345678",
	    0600), 9, &memo, &out, err, sizeof(err)), 0);
	secretfile_wipe_free(out);

	assert_int_equal(secretfile_read("t:4", dir, 64, &memo, &out, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(secretfile_read("t:5", "/nonexistent/x", 64, &memo,
	    &out, err, sizeof(err)), -1);
	free(memo.path);
	secretfile_wipe_free(memo.secret);
}

/* A reload that may not read the file keeps what start read. */
static void
test_memo_on_eacces(void **state)
{
	struct secretfile_memo memo = { 0 };
	char err[512], *out = NULL;
	const char *path = file("m", "first\n", 0600);

	(void)state;
	assert_int_equal(secretfile_read("t", path, 64, &memo, &out, err,
	    sizeof(err)), 0);
	secretfile_wipe_free(out);
	if (geteuid() == 0) {
		/* root reads a mode-000 file anyway: drop to another uid
		 * in a child to see EACCES */
		pid_t pid = fork();
		int st;

		assert_true(pid >= 0);
		if (pid == 0) {
			char *o = NULL;

			chmod(path, 0);
			if (setuid(65534) != 0)
				_exit(2);
			if (secretfile_read("t", path, 64, &memo, &o, err,
			    sizeof(err)) != 0 || strcmp(o, "first") != 0)
				_exit(1);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	} else {
		assert_int_equal(chmod(path, 0), 0);
		assert_int_equal(secretfile_read("t", path, 64, &memo, &out,
		    err, sizeof(err)), 0);
		assert_string_equal(out, "first");
		secretfile_wipe_free(out);
	}
	free(memo.path);
	secretfile_wipe_free(memo.secret);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_memo_on_eacces),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
