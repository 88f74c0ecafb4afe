/*
 * queue_state — delivery progress log; see queue_state.h.
 */
#include "queue_state.h"
#include "buf.h"
#include "log.h"
#include "queue.h"
#include "queue_recycle.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_FILE_MAX	(64 * 1024 * 1024)

void
queue_state_init(struct queue_state *qs, size_t nrcpts)
{
	memset(qs, 0, sizeof(*qs));
	qs->nrcpts = nrcpts;
	qs->st = xcalloc(nrcpts ? nrcpts : 1, sizeof(*qs->st));
	qs->last = xcalloc(nrcpts ? nrcpts : 1, sizeof(*qs->last));
}

void
queue_state_free(struct queue_state *qs)
{
	for (size_t i = 0; i < qs->nrcpts; i++)
		free(qs->last[i]);
	free(qs->last);
	free(qs->st);
	memset(qs, 0, sizeof(*qs));
}

size_t
queue_state_pending(const struct queue_state *qs)
{
	size_t n = 0;

	for (size_t i = 0; i < qs->nrcpts; i++)
		n += qs->st[i] == RCPT_PENDING;
	return n;
}

/* Split one line into at most 4 blank-separated fields. */
static int
fields(const char *line, size_t len, const char *f[4], size_t fl[4])
{
	int n = 0;
	size_t i = 0;

	while (i < len && n < 4) {
		size_t start = i;

		while (i < len && line[i] != ' ')
			i++;
		f[n] = line + start;
		fl[n] = i - start;
		n++;
		if (i < len)
			i++;
	}
	return i < len ? -1 : n;
}

static int
number(const char *s, size_t n, unsigned long long *out)
{
	char tmp[24], *end;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (tmp[0] < '0' || tmp[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(tmp, &end, 10);
	return (*end || errno) ? -1 : 0;
}

static int
apply_line(struct queue_state *qs, const char *line, size_t len)
{
	const char *f[4];
	size_t fl[4];
	unsigned long long idx, t;
	int n = fields(line, len, f, fl);

	if (n < 2 || fl[0] != 1)
		return -1;
	switch (f[0][0]) {
	case 'A':
	case 'W':
	case 'R':
		if (n != 2 || number(f[1], fl[1], &t) == -1)
			return -1;
		if (f[0][0] == 'A') {
			qs->attempts++;
			qs->last_attempt = (time_t)t;
		} else if (f[0][0] == 'W')
			qs->warned = 1;
		else
			qs->released = 1;
		return 0;
	case 'D':
	case 'F':
	case 'T':
		if (n < 3 || number(f[1], fl[1], &idx) == -1 ||
		    number(f[2], fl[2], &t) == -1 || idx >= qs->nrcpts)
			return -1;
		if (f[0][0] != 'D' && n == 4) {
			char *reply = queue_value_get(f[3], fl[3]);
			if (reply) {
				free(qs->last[idx]);
				qs->last[idx] = reply;
			}
		}
		/* A settled recipient stays settled. */
		if (qs->st[idx] == RCPT_PENDING && f[0][0] != 'T')
			qs->st[idx] = f[0][0] == 'D' ? RCPT_DELIVERED :
			    RCPT_FAILED;
		return 0;
	}
	return -1;
}

void
queue_state_apply(struct queue_state *qs, const char *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);

		if (nl == NULL)
			break;		/* torn final append */
		if (apply_line(qs, text + off, (size_t)(nl - text - off)) == -1)
			log_warnx("queue state: skipping a bad record");
		off = (size_t)(nl - text) + 1;
	}
}

void
queue_state_rec_rcpt(struct buf *b, char kind, size_t idx, time_t t,
    const char *reply)
{
	buf_appendf(b, "%c %zu %lld", kind, idx, (long long)t);
	if (reply) {
		buf_appendc(b, ' ');
		queue_value_put(b, reply);
	}
	buf_appendc(b, '\n');
}

void
queue_state_rec_event(struct buf *b, char kind, time_t t)
{
	buf_appendf(b, "%c %lld\n", kind, (long long)t);
}

int
queue_state_load(const char *spool, const char *id, struct queue_state *qs)
{
	char path[PATH_MAX];
	struct stat st;
	char *text;
	ssize_t r;
	size_t len = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/state/%s", spool, id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1 || st.st_size > STATE_FILE_MAX) {
		close(fd);
		return -1;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		r = read(fd, text + len, (size_t)st.st_size - len);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			break;
		}
		len += (size_t)r;
	}
	close(fd);
	queue_state_apply(qs, text, len);
	free(text);
	return 0;
}

int
queue_state_append(const char *spool, const char *id, const char *rec,
    size_t len)
{
	char path[PATH_MAX];
	size_t off = 0;
	ssize_t w;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/state/%s", spool, id);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return errno;
	while (off < len) {
		w = write(fd, rec + off, len - off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		off += (size_t)w;
	}
	/* A new state file needs its directory entry synced too, but losing
	 * it only repeats deliveries (at least once), so fdatasync of the
	 * file is what the common case pays. */
	if (err == 0 && fdatasync(fd) == -1)
		err = errno;
	close(fd);
	return err;
}

static int
sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
queue_remove(const char *spool, const char *id)
{
	char path[PATH_MAX], spath[PATH_MAX];
	int have_state;

	/*
	 * The message first: a leftover state file without its message is
	 * garbage collected at start, the reverse would redeliver.  That
	 * order needs a directory fsync in between only when there is a
	 * state file; a message delivered at its first attempt has none, and
	 * an unlink lost to a power cut then only repeats the delivery.
	 */
	snprintf(spath, sizeof(spath), "%s/state/%s", spool, id);
	have_state = access(spath, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/queue/%s", spool, id);
	/* kept for the next message if there is room (queue_recycle.h) */
	if (queue_recycle_put(spool, id) == -1 && unlink(path) == -1 &&
	    errno != ENOENT)
		return errno;
	if (!have_state)
		return 0;
	snprintf(path, sizeof(path), "%s/queue", spool);
	if (sync_dir(path) == -1)
		return errno;
	if (unlink(spath) == -1 && errno != ENOENT)
		return errno;
	return 0;
}
