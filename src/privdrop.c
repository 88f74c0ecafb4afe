/*
 * privdrop — see privdrop.h.
 */
#include "privdrop.h"
#include "log.h"
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Give the directory dfd/name to uid:gid, never through a symbolic link:
 * its descriptor (the caller closes it), or -1 (errno; ENOENT, ELOOP and
 * ENOTDIR are not errors to the callers). */
static int
give_dir(int dfd, const char *name, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd, e;

	if ((fd = queue_open_dir_at(dfd, name)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 ||
	    ((st.st_uid != uid || st.st_gid != gid) &&
	    fchown(fd, uid, gid) == -1)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Make the store (not its parents), durably: its entry is in the parent,
 * which may not be the user's to write later.  0, or -1 with errno. */
static int
make_store(const char *store)
{
	char parent[PATH_MAX], *slash;
	size_t len;
	int fd, rc;

	if (mkdir(store, 0700) == -1)
		return -1;
	if ((size_t)snprintf(parent, sizeof(parent), "%s", store) >=
	    sizeof(parent))
		return 0;	/* mkdir took it: cannot be */
	len = strlen(parent);
	while (len > 1 && parent[len - 1] == '/')
		parent[--len] = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * The mailbox store (maildir.h) is written after the drop: STORE, and in
 * each address's directory tmp/ and new/, must be the user's.  A missing
 * store is made here, as root (its parent, such as /var/mail, need not be
 * the user's); one a root run made is handed over, directories only
 * (delivery never rewrites a delivered file); anything that is not a
 * plain directory is left alone.  A store that cannot be made is left to
 * the first delivery to report (a gateway that never delivers locally
 * does not need it).
 */
static int
give_store(const char *store, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	struct dirent *de;
	DIR *dir;
	int sfd, afd, fd;

	if ((sfd = give_dir(AT_FDCWD, store, uid, gid)) == -1 &&
	    errno == ENOENT) {
		if (make_store(store) == -1) {
			log_warn("mailbox store %s: cannot make it", store);
			return 0;
		}
		sfd = give_dir(AT_FDCWD, store, uid, gid);
	}
	if (sfd == -1) {
		struct stat st;

		if (lstat(store, &st) == 0 && S_ISLNK(st.st_mode))
			snprintf(err, errlen, "mailbox store %s: is a symbolic "
			    "link, not a directory: refusing to follow it",
			    store);
		else
			snprintf(err, errlen, "mailbox store %s: %s", store,
			    strerror(errno));
		return -1;
	}
	if ((fd = dup(sfd)) == -1 || (dir = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "mailbox store %s: %s", store,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		close(sfd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (afd = give_dir(sfd, de->d_name, uid, gid)) == -1)
			continue;
		for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
			if ((fd = give_dir(afd, sub[i], uid, gid)) != -1)
				close(fd);
		close(afd);
	}
	closedir(dir);
	close(sfd);
	return 0;
}

int
privdrop(const char *user, const char *spool, const char *store, char *err,
    size_t errlen)
{
	struct passwd *pw;
	uid_t ruid, euid, suid;

	if (user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "unknown user %s", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root: refusing", user);
		return -1;
	}
	if (queue_chown(spool, pw->pw_uid, pw->pw_gid, err, errlen) == -1)
		return -1;
	if (store != NULL &&
	    give_store(store, pw->pw_uid, pw->pw_gid, err, errlen) == -1)
		return -1;
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot become %s: %s", user,
		    strerror(errno));
		return -1;
	}
	/* No way back, and nothing gained through exec either. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 || getresuid(&ruid, &euid, &suid) == -1 ||
	    ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid) {
		snprintf(err, errlen, "privileges were not dropped");
		return -1;
	}
	return 0;
}
