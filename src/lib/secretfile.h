/*
 * secretfile — a one-line secret read from a file (`password-file` of
 * `directory ldap` and of `cluster`): the line without its end, never
 * empty (an empty LDAP password is an unauthenticated bind that servers
 * accept without checking anything, RFC 4513 5.1.2), at most `max`
 * octets, from a regular file (a warning when everyone may read it).
 *
 * The file is read at start as root, and again on reload as the run user,
 * who may not be allowed to: the caller's memo keeps what was read last,
 * and a reload that gets EACCES on the same path uses it (with a
 * warning) instead of failing.  One memo per kind of secret, owned by the
 * caller (a static), wiped when it changes.
 */
#ifndef POSTERN_SECRETFILE_H
#define POSTERN_SECRETFILE_H

#include <stddef.h>

struct secretfile_memo {
	char	*path;
	char	*secret;
};

/* 0 and *out (malloc'ed: free with secretfile_wipe_free), or -1 with
 * "WHERE: password-file PATH: why" in err. */
int	secretfile_read(const char *where, const char *path, size_t max,
	    struct secretfile_memo *memo, char **out, char *err,
	    size_t errlen);
/* Zeroes s, then frees it (NULL: nothing). */
void	secretfile_wipe_free(char *s);

#endif
