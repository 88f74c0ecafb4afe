/*
 * fileread — read a small regular file whole (auth files, sender lists),
 * with a size limit.  The buffer is owned by the caller (free it; wipe it
 * first if it held secrets) and is NUL-terminated.
 */
#ifndef POSTERN_FILEREAD_H
#define POSTERN_FILEREAD_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * 0 with *text and *len (and *st, if not NULL), or -1 with "PATH: reason" in
 * err: cannot open, not a regular file, over max bytes, changed while
 * being read.
 */
int	fileread(const char *path, size_t max, char **text, size_t *len,
	    struct stat *st, char *err, size_t errlen);

#endif
