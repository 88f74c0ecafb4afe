/*
 * queue_fs — the spool on disk: creating the layout, purging incoming/,
 * reading committed files and classifying them at start (valid messages
 * are handed on, anything else is quarantined in corrupt/).  See queue.h
 * and docs/spool.md.
 */
#include "queue.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "postern_limits.h"
#include "log.h"
#include "xmalloc.h"


/* ---- reading files ---- */

/* pread all of len bytes at off: 0, or -1 with errno (EIO: short). */
static int
pread_full(int fd, void *p, size_t len, uint64_t off)
{
	ssize_t r;

	while (len > 0) {
		r = pread(fd, p, len, (off_t)off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		p = (char *)p + r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/*
 * The file is message, envelope, trailer (queue.c).  The trailer says
 * where the envelope starts; the envelope must fill exactly the space
 * between it and the trailer, and its size record must equal that offset,
 * so a file cut or damaged anywhere does not read as a message.
 */
struct queue_envelope *
queue_read_envelope(const char *path, uint64_t *body_offset, char *err,
    size_t errlen)
{
	struct queue_envelope *env = NULL;
	struct stat st;
	char *buf = NULL, trailer[QUEUE_TRAILER_LEN];
	uint64_t envoff, envend;
	size_t envlen, used;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto done;
	}
	if ((uint64_t)st.st_size < QUEUE_TRAILER_LEN) {
		snprintf(err, errlen, "truncated: %llu bytes, no trailer",
		    (unsigned long long)st.st_size);
		goto done;
	}
	envend = (uint64_t)st.st_size - QUEUE_TRAILER_LEN;
	if (pread_full(fd, trailer, sizeof(trailer), envend) == -1) {
		snprintf(err, errlen, "cannot read the trailer: %s",
		    strerror(errno));
		goto done;
	}
	if (queue_trailer_decode(trailer, sizeof(trailer), &envoff) == -1) {
		snprintf(err, errlen, "no END trailer in the last %d bytes "
		    "(file truncated or damaged)", QUEUE_TRAILER_LEN);
		goto done;
	}
	if (envoff > envend || envend - envoff > QUEUE_ENVELOPE_MAX) {
		snprintf(err, errlen, "trailer names envelope offset %llu in "
		    "a file of %llu bytes", (unsigned long long)envoff,
		    (unsigned long long)st.st_size);
		goto done;
	}
	envlen = (size_t)(envend - envoff);
	buf = xmalloc(envlen ? envlen : 1);
	if (pread_full(fd, buf, envlen, envoff) == -1) {
		snprintf(err, errlen, "read: %s", strerror(errno));
		goto done;
	}
	if ((env = queue_envelope_decode(buf, envlen, &used, err,
	    errlen)) == NULL)
		goto done;
	if (used != envlen) {
		snprintf(err, errlen, "%zu bytes between the envelope and the "
		    "trailer", envlen - used);
		goto bad;
	}
	if (env->size != envoff) {
		snprintf(err, errlen, "size record %llu, but the message is "
		    "%llu bytes", (unsigned long long)env->size,
		    (unsigned long long)envoff);
		goto bad;
	}
	if (body_offset != NULL)
		*body_offset = 0;
	goto done;
bad:
	queue_envelope_free(env);
	env = NULL;
done:
	free(buf);
	close(fd);
	return env;
}

/* ---- start-up ---- */

/*
 * queue_init and queue_chown run as root in a spool that the run user
 * owns (docs/security.md): everything below the spool directory is reached
 * through descriptors, opened with O_NOFOLLOW, so that a symbolic link the
 * user planted is refused instead of followed.  The spool path itself is
 * the administrator's and is resolved as configured.
 */
static const char *const spool_subdirs[] = { "incoming", "queue", "corrupt",
    "state", "free" };
#define NSUBDIRS	(sizeof(spool_subdirs) / sizeof(spool_subdirs[0]))

int
queue_open_dir_at(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

/* err = "SPOOL/name: why" for a failed queue_open_dir_at, naming a
 * symbolic link as such. */
static void
open_dir_error(int dfd, const char *dpath, const char *name, char *err,
    size_t errlen)
{
	struct stat st;
	int e = errno;

	if ((e == ELOOP || e == ENOTDIR) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(err, errlen, "%s/%s: is a symbolic link, "
			    "not a directory: refusing to follow it", dpath,
			    name);
			return;
		}
		if (!S_ISDIR(st.st_mode))
			e = ENOTDIR;
	}
	snprintf(err, errlen, "%s/%s: %s", dpath, name, strerror(e));
}

/* Make dfd/name if needed (*made set to 1 when new) and open it: a
 * descriptor, or -1 with err set. */
static int
make_dir_at(int dfd, const char *dpath, const char *name, int *made,
    char *err, size_t errlen)
{
	int fd;

	if (mkdirat(dfd, name, 0700) == 0)
		*made = 1;
	else if (errno != EEXIST) {
		snprintf(err, errlen, "%s/%s: %s", dpath, name,
		    strerror(errno));
		return -1;
	}
	if ((fd = queue_open_dir_at(dfd, name)) == -1)
		open_dir_error(dfd, dpath, name, err, errlen);
	return fd;
}

/* The spool directory, made if missing: a descriptor, or -1 with err. */
static int
open_spool(const char *spool, int create, int *made, char *err,
    size_t errlen)
{
	int fd;

	if (create && mkdir(spool, 0700) == 0)
		*made = 1;
	else if (create && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", spool, strerror(errno));
		return -1;
	}
	if ((fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		snprintf(err, errlen, "%s: %s", spool, strerror(errno));
	return fd;
}

int
queue_open_dir(const char *spool, const char *sub)
{
	int sfd, fd, e;

	if ((sfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	fd = queue_open_dir_at(sfd, sub);
	e = errno;
	close(sfd);
	errno = e;
	return fd;
}

typedef int (*dir_entry_fn)(int fd, const char *spool, const char *sub,
    const char *name, void *arg);

/*
 * Call fn for each entry of the directory fd (SPOOL/sub) but "." and "..",
 * through a duplicate, so fd stays open and usable.  Returns how many
 * calls returned 1, or -1 with err when the directory cannot be read.
 */
static int
dir_each(int fd, const char *spool, const char *sub, dir_entry_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *dir;
	int n = 0, dfd;

	if ((dfd = dup(fd)) == -1 || (dir = fdopendir(dfd)) == NULL) {
		snprintf(err, errlen, "%s/%s: %s", spool, sub,
		    strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	rewinddir(dir);
	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fn(fd, spool, sub, de->d_name, arg) == 1)
			n++;
	}
	if (errno != 0) {
		snprintf(err, errlen, "%s/%s: %s", spool, sub,
		    strerror(errno));
		closedir(dir);
		return -1;
	}
	closedir(dir);
	return n;
}

/* Remove an entry of SPOOL/sub (a symbolic link is removed, never
 * followed): 1 if it went. */
static int
purge_entry(int fd, const char *spool, const char *sub, const char *name,
    void *arg)
{
	(void)arg;
	/* A leftover we cannot remove is harmless: nothing reads these
	 * directories, and new ids never collide with old ones. */
	if (unlinkat(fd, name, 0) == 0)
		return 1;
	if (errno != ENOENT)
		log_warn("queue: cannot remove %s/%s/%s", spool, sub, name);
	return 0;
}

static void
close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

int
queue_init(const char *spool, char *err, size_t errlen)
{
	int fds[NSUBDIRS], sfd, made = 0, purged = 0, rc = -1;
	size_t i, inc = 0, fre = 0;

	for (i = 0; i < NSUBDIRS; i++)
		fds[i] = -1;
	if ((sfd = open_spool(spool, 1, &made, err, errlen)) == -1)
		return -1;
	for (i = 0; i < NSUBDIRS; i++) {
		if ((fds[i] = make_dir_at(sfd, spool, spool_subdirs[i],
		    &made, err, errlen)) == -1)
			goto done;
		if (strcmp(spool_subdirs[i], "incoming") == 0)
			inc = i;
		else if (strcmp(spool_subdirs[i], "free") == 0)
			fre = i;
	}
	/* New directories must be durable before the first commit relies
	 * on them. */
	if (made && fsync(sfd) == -1) {
		snprintf(err, errlen, "fsync %s: %s", spool, strerror(errno));
		goto done;
	}

	/* What is in incoming/ was never renamed into queue/, so never
	 * acknowledged: it goes.  free/ holds files of messages that are
	 * done (queue_recycle.h): they go too. */
	if ((purged = dir_each(fds[inc], spool, "incoming", purge_entry,
	    NULL, err, errlen)) == -1 ||
	    dir_each(fds[fre], spool, "free", purge_entry, NULL, err,
	    errlen) == -1)
		goto done;
	if (purged)
		log_info("queue: removed %d uncommitted file%s from %s/incoming",
		    purged, purged == 1 ? "" : "s", spool);
	rc = 0;
done:
	close_all(fds, NSUBDIRS);
	close(sfd);
	return rc;
}

struct owner {
	uid_t	uid;
	gid_t	gid;
};

/*
 * Hand the files of a subdirectory to uid:gid (a spool a root run left
 * behind would otherwise be unreadable).  Only a regular file with one
 * link, checked on a descriptor that pins it: a hard link to a file
 * outside the spool is never given away.
 */
static int
chown_entry(int fd, const char *spool, const char *sub, const char *name,
    void *arg)
{
	const struct owner *o = arg;
	struct stat st;
	int f;

	if (name[0] == '.' ||
	    fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode) ||
	    (st.st_uid == o->uid && st.st_gid == o->gid))
		return 0;
	if ((f = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(f, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
	    fchown(f, o->uid, o->gid) == -1)
		log_warn("queue: chown %s/%s/%s", spool, sub, name);
	close(f);
	return 0;
}

int
queue_chown(const char *spool, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	struct owner o = { uid, gid };
	int sfd, fd, rc = -1;
	size_t i;

	if ((sfd = open_spool(spool, 0, NULL, err, errlen)) == -1)
		return -1;
	if (fchown(sfd, uid, gid) == -1) {
		snprintf(err, errlen, "chown %s: %s", spool, strerror(errno));
		goto done;
	}
	for (i = 0; i < NSUBDIRS; i++) {
		if ((fd = queue_open_dir_at(sfd, spool_subdirs[i])) == -1) {
			open_dir_error(sfd, spool, spool_subdirs[i], err,
			    errlen);
			goto done;
		}
		if (fchown(fd, uid, gid) == -1) {
			snprintf(err, errlen, "chown %s/%s: %s", spool,
			    spool_subdirs[i], strerror(errno));
			close(fd);
			goto done;
		}
		if (dir_each(fd, spool, spool_subdirs[i], chown_entry, &o,
		    err, errlen) == -1) {
			close(fd);
			goto done;
		}
		close(fd);
	}
	rc = 0;
done:
	close(sfd);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Move a bad file aside without ever overwriting an earlier one. */
static void
quarantine(const char *spool, int qfd, int cfd, const char *name,
    const char *why)
{
	char alt[NAME_MAX + 16];
	int i;

	if (renameat2(qfd, name, cfd, name, RENAME_NOREPLACE) == 0)
		goto moved;
	for (i = 1; i < 1000 && (errno == EEXIST); i++) {
		snprintf(alt, sizeof(alt), "%.*s.%d", NAME_MAX - 8, name, i);
		if (renameat2(qfd, name, cfd, alt, RENAME_NOREPLACE) == 0)
			goto moved;
	}
	/* No RENAME_NOREPLACE on this file system: plain rename. */
	if (errno == EINVAL && renameat(qfd, name, cfd, name) == 0)
		goto moved;
	log_warn("queue: %s/queue/%s is invalid (%s) and could not be moved "
	    "to corrupt/", spool, name, why);
	return;
moved:
	log_warnx("queue: %s/queue/%s is invalid: %s; moved to corrupt/",
	    spool, name, why);
}

/* The names of a directory, to sort before reading any. */
struct names {
	char	**v;
	size_t	  n, cap;
};

static int
add_name(int fd, const char *spool, const char *sub, const char *name,
    void *arg)
{
	struct names *nm = arg;

	(void)fd;
	(void)spool;
	(void)sub;
	if (name[0] == '.')
		return 0;
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? nm->cap * 2 : 256;
		nm->v = xreallocarray(nm->v, nm->cap, sizeof(*nm->v));
	}
	nm->v[nm->n++] = xstrdup(name);
	return 1;
}

long
queue_scan(const char *spool, void (*cb)(void *arg,
    struct queue_envelope *env), void *arg)
{
	struct queue_envelope *env;
	char qpath[PATH_MAX], path[PATH_MAX], err[256];
	struct names nm = { NULL, 0, 0 };
	size_t i;
	long valid = 0;
	int moved = 0, cfd, qfd;

	snprintf(qpath, sizeof(qpath), "%s/queue", spool);
	if ((cfd = queue_open_dir(spool, "corrupt")) == -1) {
		log_warn("queue: %s/corrupt", spool);
		return -1;
	}
	if ((qfd = queue_open_dir(spool, "queue")) == -1) {
		log_warn("queue: %s", qpath);
		close(cfd);
		return -1;
	}
	if (dir_each(qfd, spool, "queue", add_name, &nm, err,
	    sizeof(err)) == -1) {
		log_warnx("queue: %s", err);
		valid = -1;
		goto done;
	}
	/* Oldest first: ids sort by time. */
	if (nm.n > 1)
		qsort(nm.v, nm.n, sizeof(*nm.v), name_cmp);

	for (i = 0; i < nm.n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", qpath,
		    nm.v[i]) >= sizeof(path)) {
			log_warnx("queue: %s/%s: path too long", qpath,
			    nm.v[i]);
			continue;
		}
		env = queue_read_envelope(path, NULL, err, sizeof(err));
		if (env != NULL && strcmp(env->id, nm.v[i]) != 0) {
			snprintf(err, sizeof(err), "id %s differs from the "
			    "file name", env->id);
			queue_envelope_free(env);
			env = NULL;
		}
		if (env == NULL) {
			quarantine(spool, qfd, cfd, nm.v[i], err);
			moved = 1;
			continue;
		}
		valid++;
		cb(arg, env);
	}
	/* A quarantine that a crash undoes is only done again; syncing keeps
	 * the two directories consistent for whoever looks. */
	if (moved && (fsync(qfd) == -1 || fsync(cfd) == -1))
		log_warn("queue: fsync after moving files to corrupt/");
done:
	for (i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	close(qfd);
	close(cfd);
	return valid;
}
