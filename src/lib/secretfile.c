/*
 * secretfile — a one-line secret read from a file; see secretfile.h.
 */
#include "secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

#define SECRETFILE_MAX	4096	/* the largest `max` a caller may ask */

void
secretfile_wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int
secretfile_read(const char *where, const char *path, size_t max,
    struct secretfile_memo *memo, char **out, char *err, size_t errlen)
{
	char buf[SECRETFILE_MAX + 2];
	struct stat st;
	ssize_t n;
	int fd;

	if (max > SECRETFILE_MAX)
		max = SECRETFILE_MAX;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == EACCES && memo->path != NULL &&
		    strcmp(memo->path, path) == 0) {
			log_warnx("%s: %s: %s: keeping the password read at "
			    "start", where, path, strerror(errno));
			*out = xstrdup(memo->secret);
			return 0;
		}
		snprintf(err, errlen, "%s: password-file %s: %s", where, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: password-file %s: not a regular "
		    "file", where, path);
		close(fd);
		return -1;
	}
	if (st.st_mode & S_IROTH)
		log_warnx("%s: password-file %s is readable by everyone",
		    where, path);
	n = read(fd, buf, max + 1);
	close(fd);
	if (n < 0 || (size_t)n > max) {
		snprintf(err, errlen, "%s: password-file %s: %s", where, path,
		    n < 0 ? strerror(errno) : "longer than allowed");
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';	/* one line, without its end */
	if (buf[0] == '\0') {
		snprintf(err, errlen, "%s: password-file %s is empty", where,
		    path);
		return -1;
	}
	*out = xstrdup(buf);
	if (memo->path == NULL || strcmp(memo->path, path) != 0 ||
	    strcmp(memo->secret, buf) != 0) {
		free(memo->path);
		secretfile_wipe_free(memo->secret);
		memo->path = xstrdup(path);
		memo->secret = xstrdup(buf);
	}
	explicit_bzero(buf, sizeof(buf));
	return 0;
}
