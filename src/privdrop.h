/*
 * privdrop — leave root after the listeners are bound.
 *
 * One audited function: look up the user, hand it the spool, set the
 * supplementary groups, gid and uid (real, effective and saved; leaving
 * uid 0 clears every capability since PR_SET_KEEPCAPS is never set), set
 * no_new_privs, and verify that root cannot be regained.  Not running as root with a `user`
 * configured is fine (tests run unprivileged): nothing is changed.
 */
#ifndef POSTERN_PRIVDROP_H
#define POSTERN_PRIVDROP_H

#include <stddef.h>

/* 0, or -1 with err set; the caller must then exit. */
int	privdrop(const char *user, const char *spool, char *err, size_t errlen);

#endif
