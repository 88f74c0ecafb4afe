/*
 * directory — who the local recipients are and which mailbox server holds
 * each: one lookup interface, several backends, three results.
 *
 * A backend answers one question, asynchronously: what is the entry for
 * this key?  Keys are lowercase "local@domain" or "@domain".  The generic
 * layer (directory.c) does the rest for every backend alike: exact address
 * first, then the "@domain" catch-all; alias lists expanded recursively,
 * each address at most once, up to DIRECTORY_DEPTH_MAX levels and
 * DIRECTORY_EXPAND_MAX addresses; a TEMPFAIL anywhere makes the whole answer
 * TEMPFAIL (451 4.3.0 at RCPT, never 550).
 *
 * Answers a backend marks cacheable (FOUND and NOTFOUND, never TEMPFAIL)
 * are kept for the backend's cache_ttl in a bounded cache in front of it
 * (directory_cache.c), also while the backend is down, and concurrent
 * questions for one key share one backend lookup.
 *
 * Callbacks run on the loop thread.  A backend may answer before
 * directory_resolve() returns (the file backend does); callers must cope.
 * A backend that answers later (LDAP) runs on the event base given with
 * directory_attach(); until then it answers TEMPFAIL.
 */
#ifndef POSTERN_DIRECTORY_H
#define POSTERN_DIRECTORY_H

#include <stddef.h>

#include "directory_backend.h"

struct conf;
struct event_base;

/*
 * Open the backend the configuration names (file now, ldap later).  The
 * directory keeps its own copy of the local domains: a list member in a
 * local domain is resolved again (and skipped, with a warning, when it has
 * no entry); a member elsewhere becomes a target with host NULL.
 */
struct directory *directory_open(const struct conf *c, char *err,
	    size_t errlen);
/*
 * The same over a given backend (directory_open picks it from the
 * configuration; tests use fake backends through this).  c may be NULL:
 * then no domain is local.
 */
struct directory *directory_open_backend(const struct directory_backend *b,
	    const struct conf *c, char *err, size_t errlen);
/*
 * Give the directory the event loop its asynchronous backend runs on (the
 * loop thread's base; posternd calls it after every directory_open).
 */
void	directory_attach(struct directory *d, struct event_base *base);
struct directory *directory_ref(struct directory *d);
void	directory_unref(struct directory *d);

/* One final recipient of a resolution. */
struct dir_target {
	char	*addr;		/* lowercase "local@domain" */
	char	*host;		/* mailbox server text, as in the entry; NULL
				   for a list member outside the local
				   domains (routed by the connectors) */
};

struct dir_result {
	enum dir_status		 status;
	struct dir_target	*targets;	/* FOUND: at least one */
	size_t			 ntargets;
	char			 reason[128];	/* for logs and replies */
};

typedef void (*dir_resolve_cb)(void *arg, struct dir_result *res);

/*
 * Resolve a lowercase address: exact entry, else "@domain", aliases
 * expanded.  The callback owns res and frees it with dir_result_free().
 * Returns a handle that directory_cancel() can use while the answer is
 * pending (after which the callback never runs); NULL if the answer was
 * already delivered.
 */
struct dir_request *directory_resolve(struct directory *d, const char *addr,
	    dir_resolve_cb cb, void *arg);
void	directory_cancel(struct dir_request *r);
void	dir_result_free(struct dir_result *res);

/*
 * A mailbox server as a backend may name it: "local", NAME, NAME:PORT,
 * [IP] or [IP]:PORT (IPv6 as "[::1]" or "[IPv6:::1]").  1 if valid.
 */
int	directory_host_valid(const char *host);

/* Backends. */
extern const struct directory_backend directory_backend_file;
extern const struct directory_backend directory_backend_ldap;

#endif
