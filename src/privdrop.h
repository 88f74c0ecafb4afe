/*
 * privdrop — leave root after the listeners are bound.
 *
 * One audited function: look up the user, hand it the spool (every
 * directory queue_init makes and the files in them: queue_chown) and the
 * mailbox store's directories, set the supplementary groups, gid and uid
 * (real, effective and saved; leaving uid 0 clears every capability since
 * PR_SET_KEEPCAPS is never set), set no_new_privs, and verify that root
 * cannot be regained.  What the user owns is reached through descriptors
 * opened with O_NOFOLLOW: a symbolic link it planted there is never
 * followed by root (docs/security.md).  Not running as root with a `user`
 * configured is fine (tests run unprivileged): nothing is changed.
 */
#ifndef POSTERN_PRIVDROP_H
#define POSTERN_PRIVDROP_H

#include <stddef.h>

/* 0, or -1 with err set; the caller must then exit. */
/* store: the mailbox store (conf.h), or NULL. */
int	privdrop(const char *user, const char *spool, const char *store,
	    char *err, size_t errlen);

#endif
