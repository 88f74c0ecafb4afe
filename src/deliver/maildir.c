/*
 * maildir — deliver into the gateway's own mailbox store (postern.conf(5), the
 * mailbox server `local`), one Maildir per address: STORE/ADDR/{tmp,new,cur}.
 *
 * A delivery writes STORE/ADDR/tmp/NAME (O_EXCL, mode 0600), fsyncs it,
 * renames it into new/ and fsyncs new/: the rename is the commit point, so
 * a reader sees a message whole or not at all, and once this returns 0 the
 * message survives a crash.  Directories are made on demand (mode 0700,
 * STORE itself but not its parents); whenever the layout of an address has
 * to be made, the address directory and STORE are fsynced too, so the path
 * to new/ is as durable as the file in it.  On any failure nothing is left
 * in tmp/ or new/.  Blocking file I/O: called from a worker thread, never
 * the event loop; safe on any thread (the only shared state is an atomic
 * counter).
 */
#include "maildir.h"
#include "queue.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COPY_CHUNK	(64 * 1024)
#define ADDRESS_MAX	255	/* NAME_MAX: one path component */

static _Atomic unsigned long delivery_counter;

int
maildir_address_ok(const char *address)
{
	size_t i;

	if (address == NULL || address[0] == '\0' || address[0] == '.')
		return 0;
	for (i = 0; address[i] != '\0'; i++) {
		unsigned char c = (unsigned char)address[i];

		if (i >= ADDRESS_MAX || c == '/' || c < 0x20 || c == 0x7f)
			return 0;
	}
	/* "." and ".." start with '.', refused above. */
	return 1;
}

static int
fail(char *err, size_t errlen, int error, const char *what,
    const char *path)
{
	snprintf(err, errlen, "maildir: %s %s: %s", what, path,
	    strerror(error));
	return error;
}

static int
fsync_dir(const char *path)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errno;
	if (fsync(fd) == -1)
		rc = errno;
	close(fd);
	return rc;
}

/* mkdir that accepts an existing directory; *made (if not NULL) is set
 * when it was new. */
static int
mkdir_ok(const char *path, int *made)
{
	struct stat st;

	if (mkdir(path, 0700) == 0) {
		if (made != NULL)
			*made = 1;
		return 0;
	}
	if (errno != EEXIST)
		return errno;
	if (stat(path, &st) == -1)
		return errno;
	return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

static int
path_fmt(char *out, size_t len, const char *fmt, const char *a,
    const char *b, const char *c)
{
	int n = snprintf(out, len, fmt, a, b, c);

	return n < 0 || (size_t)n >= len ? ENAMETOOLONG : 0;
}

/*
 * Make STORE, STORE/ADDR and its tmp, new and cur.  A directory entry is
 * durable only once its parent is fsynced, so every level that had to be
 * checked is synced, children first: even when another thread made a
 * directory a moment ago, this delivery does not return before the path
 * to its message is on disk.
 */
static int
make_layout(const char *store, const char *address, char *err,
    size_t errlen)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char adir[PATH_MAX], path[PATH_MAX], parent[PATH_MAX], *slash;
	int error, store_made = 0;
	size_t i;

	if ((error = mkdir_ok(store, &store_made)) != 0)
		return fail(err, errlen, error, "mkdir", store);
	if ((error = path_fmt(adir, sizeof(adir), "%s/%s%s", store, address,
	    "")) != 0)
		return fail(err, errlen, error, "path", store);
	if ((error = mkdir_ok(adir, NULL)) != 0)
		return fail(err, errlen, error, "mkdir", adir);
	for (i = 0; i < 3; i++) {
		if ((error = path_fmt(path, sizeof(path), "%s/%s%s", adir,
		    sub[i], "")) != 0)
			return fail(err, errlen, error, "path", adir);
		if ((error = mkdir_ok(path, NULL)) != 0)
			return fail(err, errlen, error, "mkdir", path);
	}
	if ((error = fsync_dir(adir)) != 0)
		return fail(err, errlen, error, "fsync", adir);
	if ((error = fsync_dir(store)) != 0)
		return fail(err, errlen, error, "fsync", store);
	if (store_made) {
		/* STORE's own entry lives in its parent. */
		snprintf(parent, sizeof(parent), "%s", store);
		for (i = strlen(parent); i > 1 && parent[i - 1] == '/'; i--)
			parent[i - 1] = '\0';
		slash = strrchr(parent, '/');
		if (slash == parent)
			parent[1] = '\0';
		else if (slash != NULL)
			*slash = '\0';
		else
			snprintf(parent, sizeof(parent), ".");
		if ((error = fsync_dir(parent)) != 0)
			return fail(err, errlen, error, "fsync", parent);
	}
	return 0;
}

/* Maildir's own escapes for the characters a name part cannot hold. */
static void
host_part(char *out, size_t len)
{
	char host[256];
	size_t i, n = 0;

	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && n + 5 < len; i++) {
		if (host[i] == '/')
			n += (size_t)snprintf(out + n, len - n, "\\057");
		else if (host[i] == ':')
			n += (size_t)snprintf(out + n, len - n, "\\072");
		else
			out[n++] = host[i];
	}
	out[n] = '\0';
}

/* TIME.M<usec>P<pid>Q<counter>R<random>.HOST: unique across processes,
 * threads and gateways sharing the store. */
static void
unique_name(char *out, size_t len)
{
	struct timeval tv;
	unsigned long long rnd = 0;
	char host[300];
	ssize_t n;

	gettimeofday(&tv, NULL);
	do
		n = getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(rnd))
		rnd ^= (unsigned long long)tv.tv_usec << 20 ^
		    (unsigned long long)(uintptr_t)&tv;
	host_part(host, sizeof(host));
	snprintf(out, len, "%lld.M%ldP%ldQ%luR%016llx.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    atomic_fetch_add(&delivery_counter, 1) + 1, rnd, host);
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy len bytes of the message; a source that ends early is EIO. */
static int
copy_range(int dst, const struct queue_view *src, uint64_t len,
    const char **what)
{
	uint64_t pos = 0;
	char *chunk;
	ssize_t n;
	size_t want;
	int error = 0;

	if ((chunk = malloc(COPY_CHUNK)) == NULL) {
		*what = "malloc";
		return ENOMEM;
	}
	while (len > 0) {
		want = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		n = queue_view_pread(src, pos, chunk, want);
		if (n <= 0) {
			/* The queue file was truncated under us: never
			 * deliver part of a message. */
			error = n == 0 ? EIO : errno;
			*what = "read source of";
			break;
		}
		if ((error = write_all(dst, chunk, (size_t)n)) != 0) {
			*what = "write";
			break;
		}
		pos += (uint64_t)n;
		len -= (uint64_t)n;
	}
	free(chunk);
	return error;
}

int
maildir_deliver(const char *store, const char *address, const char *prefix,
    const struct queue_view *msg, uint64_t len, char *err, size_t errlen)
{
	char name[512], tmp[PATH_MAX], new[PATH_MAX], dir[PATH_MAX];
	const char *what = "";
	int error, out, laid = 0;

	if (!maildir_address_ok(address)) {
		snprintf(err, errlen, "maildir: unsafe address as a "
		    "directory name");
		return EINVAL;
	}
	unique_name(name, sizeof(name));
	if ((error = path_fmt(tmp, sizeof(tmp), "%s/%s/tmp/%s", store,
	    address, name)) != 0 ||
	    (error = path_fmt(new, sizeof(new), "%s/%s/new/%s", store,
	    address, name)) != 0 ||
	    (error = path_fmt(dir, sizeof(dir), "%s/%s/new%s", store, address,
	    "")) != 0)
		return fail(err, errlen, error, "path", store);

	/* The common case needs no mkdir; a missing directory (first
	 * delivery, or a layout a crash left half made) is made and the
	 * open tried once more. */
	if (access(dir, F_OK) == -1) {
		if ((error = make_layout(store, address, err, errlen)) != 0)
			return error;
		laid = 1;
	}
	while ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		error = errno;
		if (error == EINTR)
			continue;
		if (error != ENOENT || laid)
			return fail(err, errlen, error, "open", tmp);
		if ((error = make_layout(store, address, err, errlen)) != 0)
			return error;
		laid = 1;
	}

	error = 0;
	if (prefix != NULL && (error = write_all(out, prefix,
	    strlen(prefix))) != 0)
		what = "write";
	if (error == 0)
		error = copy_range(out, msg, len, &what);
	if (error == 0 && fsync(out) == -1) {
		error = errno;
		what = "fsync";
	}
	if (close(out) == -1 && error == 0) {
		error = errno;
		what = "close";
	}
	if (error == 0 && rename(tmp, new) == -1) {
		error = errno;
		what = "rename";
	}
	if (error != 0) {
		unlink(tmp);
		return fail(err, errlen, error, what, tmp);
	}
	if ((error = fsync_dir(dir)) != 0) {
		/* Not known to be durable: take it back, so that the retry
		 * this error causes does not deliver it twice. */
		unlink(new);
		return fail(err, errlen, error, "fsync", dir);
	}
	return 0;
}
