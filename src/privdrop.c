/*
 * privdrop — see privdrop.h.
 */
#include "privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int
chown_spool(const char *spool, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	static const char *sub[] = { "", "/incoming", "/queue", "/corrupt",
	    "/state" };
	char path[4096];

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", spool, sub[i]);
		if (chown(path, uid, gid) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "chown %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
privdrop(const char *user, const char *spool, char *err, size_t errlen)
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
	if (chown_spool(spool, pw->pw_uid, pw->pw_gid, err, errlen) == -1)
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
