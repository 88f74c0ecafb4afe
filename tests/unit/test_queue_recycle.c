/*
 * test_queue_recycle — delivered queue files kept in free/ and reused:
 * queue_remove keeps the inode instead of unlinking it, the next take
 * hands that very inode over under the new name, the limit and foreign
 * spools fall back to unlink, a taken name is never overwritten, and
 * queue_init empties free/ at start.  In a mkdtemp() spool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "queue_recycle.h"
#include "queue_state.h"
#include "xmalloc.h"

struct fix {
	char	*spool;
	int	 incoming_fd;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));
	char err[256], path[4096];

	f->spool = xstrdup("/tmp/postern-tr-XXXXXX");
	assert_non_null(mkdtemp(f->spool));
	assert_int_equal(queue_init(f->spool, err, sizeof(err)), 0);
	assert_int_equal(queue_recycle_start(f->spool), 0);
	snprintf(path, sizeof(path), "%s/incoming", f->spool);
	f->incoming_fd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(f->incoming_fd >= 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	queue_recycle_stop();
	close(f->incoming_fd);
	nftw(f->spool, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->spool);
	free(f);
	return 0;
}

/* A file queue/ID with some content; its inode number. */
static ino_t
make_queued(struct fix *f, const char *id)
{
	char path[4096];
	struct stat st;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/queue/%s", f->spool, id);
	assert_non_null(fp = fopen(path, "w"));
	fputs("old message\n", fp);
	fclose(fp);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static int
exists(struct fix *f, const char *sub, const char *name, ino_t *ino)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", f->spool, sub, name);
	if (stat(path, &st) == -1)
		return 0;
	if (ino != NULL)
		*ino = st.st_ino;
	return 1;
}

static void
t_remove_keeps_the_inode_for_the_next_message(void **state)
{
	struct fix *f = *state;
	ino_t old = make_queued(f, "AAAAAAAAAAAAAAAAAAA1"), got;

	assert_int_equal(queue_remove(f->spool, "AAAAAAAAAAAAAAAAAAA1"), 0);
	assert_false(exists(f, "queue", "AAAAAAAAAAAAAAAAAAA1", NULL));
	assert_true(exists(f, "free", "AAAAAAAAAAAAAAAAAAA1", NULL));
	assert_int_equal(queue_recycle_take(f->incoming_fd,
	    "BBBBBBBBBBBBBBBBBBB2"), 0);
	assert_true(exists(f, "incoming", "BBBBBBBBBBBBBBBBBBB2", &got));
	assert_int_equal(got, old);
	assert_false(exists(f, "free", "AAAAAAAAAAAAAAAAAAA1", NULL));
	/* nothing left: the writer creates a file */
	assert_int_equal(queue_recycle_take(f->incoming_fd,
	    "CCCCCCCCCCCCCCCCCCC3"), -1);
	assert_false(exists(f, "incoming", "CCCCCCCCCCCCCCCCCCC3", NULL));
}

static void
t_never_over_an_existing_name(void **state)
{
	struct fix *f = *state;
	char path[4096];
	ino_t mine, got;
	FILE *fp;

	make_queued(f, "AAAAAAAAAAAAAAAAAAA1");
	assert_int_equal(queue_remove(f->spool, "AAAAAAAAAAAAAAAAAAA1"), 0);
	snprintf(path, sizeof(path), "%s/incoming/DDDDDDDDDDDDDDDDDDD4",
	    f->spool);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_true(exists(f, "incoming", "DDDDDDDDDDDDDDDDDDD4", &mine));
	assert_int_equal(queue_recycle_take(f->incoming_fd,
	    "DDDDDDDDDDDDDDDDDDD4"), -1);
	assert_true(exists(f, "incoming", "DDDDDDDDDDDDDDDDDDD4", &got));
	assert_int_equal(got, mine);
	/* the kept file is still there for the next take */
	assert_int_equal(queue_recycle_take(f->incoming_fd,
	    "EEEEEEEEEEEEEEEEEEE5"), 0);
}

static void
t_limit_and_other_spools_unlink(void **state)
{
	struct fix *f = *state;
	char id[QUEUE_ID_LEN + 1];

	for (int i = 0; i <= QUEUE_RECYCLE_MAX; i++) {
		snprintf(id, sizeof(id), "F%019d", i);
		make_queued(f, id);
		assert_int_equal(queue_remove(f->spool, id), 0);
		assert_false(exists(f, "queue", id, NULL));
		/* the one past the limit is unlinked, not kept */
		assert_int_equal(exists(f, "free", id, NULL),
		    i < QUEUE_RECYCLE_MAX);
	}
	/* a spool the recycler was not started for: plain unlink */
	assert_int_equal(queue_recycle_put("/elsewhere", "X"), -1);
}

static void
t_init_empties_free(void **state)
{
	struct fix *f = *state;
	char err[256];

	make_queued(f, "AAAAAAAAAAAAAAAAAAA1");
	assert_int_equal(queue_remove(f->spool, "AAAAAAAAAAAAAAAAAAA1"), 0);
	assert_true(exists(f, "free", "AAAAAAAAAAAAAAAAAAA1", NULL));
	queue_recycle_stop();
	assert_int_equal(queue_init(f->spool, err, sizeof(err)), 0);
	assert_false(exists(f, "free", "AAAAAAAAAAAAAAAAAAA1", NULL));
	/* stopped: nothing is kept, removal unlinks */
	make_queued(f, "BBBBBBBBBBBBBBBBBBB2");
	assert_int_equal(queue_remove(f->spool, "BBBBBBBBBBBBBBBBBBB2"), 0);
	assert_false(exists(f, "free", "BBBBBBBBBBBBBBBBBBB2", NULL));
	assert_false(exists(f, "queue", "BBBBBBBBBBBBBBBBBBB2", NULL));
}

/* reuse-files no: the kept files go at once, delivered ones are
 * unlinked; on again, files are kept again. */
static void
t_reuse_off_unlinks(void **state)
{
	struct fix *f = *state;

	make_queued(f, "AAAAAAAAAAAAAAAAAAA1");
	assert_int_equal(queue_remove(f->spool, "AAAAAAAAAAAAAAAAAAA1"), 0);
	assert_true(exists(f, "free", "AAAAAAAAAAAAAAAAAAA1", NULL));
	queue_recycle_reuse(0);
	assert_false(exists(f, "free", "AAAAAAAAAAAAAAAAAAA1", NULL));
	make_queued(f, "BBBBBBBBBBBBBBBBBBB2");
	assert_int_equal(queue_remove(f->spool, "BBBBBBBBBBBBBBBBBBB2"), 0);
	assert_false(exists(f, "free", "BBBBBBBBBBBBBBBBBBB2", NULL));
	assert_false(exists(f, "queue", "BBBBBBBBBBBBBBBBBBB2", NULL));
	assert_int_equal(queue_recycle_take(f->incoming_fd,
	    "CCCCCCCCCCCCCCCCCCC3"), -1);
	queue_recycle_reuse(1);
	make_queued(f, "DDDDDDDDDDDDDDDDDDD4");
	assert_int_equal(queue_remove(f->spool, "DDDDDDDDDDDDDDDDDDD4"), 0);
	assert_true(exists(f, "free", "DDDDDDDDDDDDDDDDDDD4", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    t_remove_keeps_the_inode_for_the_next_message, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_never_over_an_existing_name,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_limit_and_other_spools_unlink,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_init_empties_free, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_reuse_off_unlinks, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
