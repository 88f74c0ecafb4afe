/*
 * queue_recycle — delivered queue files reused for new messages; see
 * queue_recycle.h.
 *
 * The names in free/ are the ids of the messages they held (unique, so a
 * rename never meets an existing name), kept on a stack under one mutex:
 * the most recently freed file, whose inode is warm in the cache, goes
 * first.  The mutex is never held across a system call on the spool but
 * the renames themselves, which are quick metadata operations (and the
 * one warning of each kind, below).
 */
#include "queue_recycle.h"
#include "log.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct {
	pthread_mutex_t	 mu;
	int		 on;
	int		 off;		/* reuse-files no */
	char		 spool[PATH_MAX];
	int		 free_fd;
	int		 queue_fd;
	size_t		 n;
	int		 put_warned;	/* first failures logged (once: */
	int		 take_warned;	/* the next ones say nothing new) */
	char		 ids[QUEUE_RECYCLE_MAX][QUEUE_ID_LEN + 1];
} rc = { .mu = PTHREAD_MUTEX_INITIALIZER, .free_fd = -1, .queue_fd = -1 };

int
queue_recycle_start(const char *spool)
{
	int ffd, qfd;

	if (strlen(spool) >= sizeof(rc.spool)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((ffd = queue_open_dir(spool, "free")) == -1)
		return -1;
	if ((qfd = queue_open_dir(spool, "queue")) == -1) {
		close(ffd);
		return -1;
	}
	queue_recycle_stop();
	pthread_mutex_lock(&rc.mu);
	snprintf(rc.spool, sizeof(rc.spool), "%s", spool);
	rc.free_fd = ffd;
	rc.queue_fd = qfd;
	rc.n = 0;
	rc.on = 1;
	pthread_mutex_unlock(&rc.mu);
	return 0;
}

void
queue_recycle_stop(void)
{
	pthread_mutex_lock(&rc.mu);
	if (rc.on) {
		close(rc.free_fd);
		close(rc.queue_fd);
	}
	rc.free_fd = rc.queue_fd = -1;
	rc.on = 0;
	rc.n = 0;
	pthread_mutex_unlock(&rc.mu);
}

void
queue_recycle_reuse(int on)
{
	pthread_mutex_lock(&rc.mu);
	rc.off = !on;
	/* Off: what free/ holds goes now, so no old content stays. */
	while (rc.off && rc.on && rc.n > 0)
		if (unlinkat(rc.free_fd, rc.ids[--rc.n], 0) == -1 &&
		    errno != ENOENT)
			log_warn("queue: %s/free/%s", rc.spool,
			    rc.ids[rc.n]);
	pthread_mutex_unlock(&rc.mu);
}

/*
 * A rename that fails for a reason other than the file having gone leaves
 * the spool working, only slower (every message allocates an inode again):
 * the first such failure of each kind is logged, with its errno, so that
 * it cannot go unnoticed (a free/ the run user cannot write did once).
 */
static void
warn_once(int *warned, int error, const char *what)
{
	if (*warned)
		return;
	*warned = 1;
	errno = error;
	log_warn("queue: %s/free: %s (the first such failure; logged "
	    "once)", rc.spool, what);
}

int
queue_recycle_put(const char *spool, const char *id)
{
	int ok = -1, error = 0;

	if (strlen(id) > QUEUE_ID_LEN)
		return -1;
	pthread_mutex_lock(&rc.mu);
	if (rc.on && !rc.off && rc.n < QUEUE_RECYCLE_MAX &&
	    strcmp(spool, rc.spool) == 0) {
		if (renameat2(rc.queue_fd, id, rc.free_fd, id,
		    RENAME_NOREPLACE) == 0) {
			memcpy(rc.ids[rc.n++], id, strlen(id) + 1);
			ok = 0;
		} else if (errno != ENOENT && !rc.put_warned)
			error = errno;
	}
	if (error != 0)
		warn_once(&rc.put_warned, error, "renaming a delivered file "
		    "into it failed, unlinking instead");
	pthread_mutex_unlock(&rc.mu);
	return ok;
}

int
queue_recycle_take(int dirfd, const char *name)
{
	int ok = -1, error = 0;

	pthread_mutex_lock(&rc.mu);
	while (rc.on && rc.n > 0 && ok == -1) {
		/* a file that went missing is dropped from the stack */
		if (renameat2(rc.free_fd, rc.ids[--rc.n], dirfd, name,
		    RENAME_NOREPLACE) == 0)
			ok = 0;
		else if (errno == EEXIST) {
			rc.n++;		/* keep it; name is taken: the
					   caller creates instead */
			break;
		} else if (errno != ENOENT && error == 0 && !rc.take_warned)
			error = errno;
	}
	if (error != 0)
		warn_once(&rc.take_warned, error, "taking a file from it "
		    "failed, creating one instead");
	pthread_mutex_unlock(&rc.mu);
	return ok;
}
