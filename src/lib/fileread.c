/*
 * fileread — see fileread.h.
 */
#include "fileread.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
fileread(const char *path, size_t max, char **text, size_t *len,
    struct stat *stp, char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > max) {
		snprintf(err, errlen, "%s: %s", path, S_ISREG(st.st_mode) ?
		    "file too large" : "not a regular file");
		close(fd);
		return -1;
	}
	/* One byte more than the size, to see a file that grew. */
	buf = xmalloc((size_t)st.st_size + 1);
	while (got <= (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size + 1 - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	if (got > (size_t)st.st_size) {
		snprintf(err, errlen, "%s: file changed while read", path);
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	if (stp)
		*stp = st;
	return 0;
}
