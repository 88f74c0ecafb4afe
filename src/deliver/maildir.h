/*
 * maildir — delivery into the gateway's own mailbox store (postern.conf(5)).
 *
 * A message for address A lands in STORE/A/new/ in Maildir format: it is
 * written under STORE/A/tmp/ with a unique name, fsynced, renamed into
 * new/, and new/ is fsynced, so a delivered message survives a crash and
 * a reader never sees a partial one.  Directories are created on demand
 * (mode 0700).  Blocking file I/O: the caller runs it off the event loop.
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

struct queue_view;

/*
 * Deliver `len` bytes read from fd at `offset`, prefixed by `prefix`
 * (e.g. a Delivered-To: / Return-Path: header; may be NULL), for
 * `address` (lowercase, validated: no '/', not "." or "..").  0, or an
 * errno value with err set.
 */
int	maildir_deliver(const char *store, const char *address,
	    const char *prefix, const struct queue_view *msg, uint64_t len,
	    char *err, size_t errlen);

/* Is the address safe as a directory name? */
int	maildir_address_ok(const char *address);

#endif
