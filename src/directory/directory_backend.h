/*
 * directory_backend — what a directory backend implements and the generic
 * layer calls (directory.c, its answer cache directory_cache.c, and the
 * backends directory_file.c and directory_ldap*.c): one entry for one key,
 * asynchronously.  Its own header so that the cache, which asks the
 * backend, does not depend on the generic layer that uses the cache.
 */
#ifndef POSTERN_DIRECTORY_BACKEND_H
#define POSTERN_DIRECTORY_BACKEND_H

#include <stddef.h>

struct conf;
struct event_base;

enum dir_status { DIR_FOUND, DIR_NOTFOUND, DIR_TEMPFAIL, DIR_TOO_MANY };
/* DIR_TOO_MANY: expansion past the depth or count limit: 550 5.4.6 */

enum dir_entry_kind { DIR_ENTRY_MAILBOX, DIR_ENTRY_ALIAS };

/* One entry as a backend returns it; owned by the backend's answer. */
struct dir_entry {
	enum dir_entry_kind	  kind;
	const char		 *host;	    /* MAILBOX: "mbx1.winery.local",
					       "[10.0.0.32]:25", "local" */
	const char *const	 *members;  /* ALIAS: addresses */
	size_t			  nmembers;
};

typedef void (*dir_entry_cb)(void *arg, enum dir_status st,
	    const struct dir_entry *e);

struct directory;

struct directory_backend {
	const char	*name;			/* "file", "ldap" */
	/* 0, or -1 with a message ("FILE:LINE: ...") in err */
	int	(*open)(struct directory *d, const struct conf *c,
		    char *err, size_t errlen);
	/* Answer for exactly this key, once, through cb. */
	void	(*lookup)(struct directory *d, const char *key,
		    dir_entry_cb cb, void *arg);
	void	(*close)(struct directory *d);
};

struct directory {
	const struct directory_backend	*backend;
	void				*priv;
	int				 refcnt;
	unsigned			 cache_ttl; /* seconds, set by
						      open(); 0: no cache */
	struct event_base		*base;	/* directory_attach() */
};

#endif
