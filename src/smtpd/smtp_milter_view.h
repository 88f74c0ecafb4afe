/*
 * smtp_milter_view — the message being received as it will leave, with
 * the edits the checks made so far applied (the content filters' added,
 * changed and deleted header fields and replaced body: smtp_msgcheck.h
 * cuts), read back in bounded chunks.  The DKIM signer of
 * smtp_msgauth.c signs this, so that a signature made after the filters
 * holds for what is delivered (docs/milter.md).
 */
#ifndef POSTERN_SMTP_MILTER_VIEW_H
#define POSTERN_SMTP_MILTER_VIEW_H

#include <stddef.h>

#include "smtp_msgcheck.h"

struct smtp_session;

#define SMTP_MILTER_VIEW_CHUNK	(64 * 1024)

/*
 * Hand the message, from its first byte (the gateway's Received:), to
 * fn in pieces of at most SMTP_MILTER_VIEW_CHUNK octets, with the cuts of
 * ed applied (each range left out, its text in its place).  0, or -1
 * when the message cannot be read back.
 */
int	smtp_milter_view(struct smtp_session *s,
	    const struct smtp_msgcheck_edits *ed,
	    void (*fn)(void *arg, const char *p, size_t n), void *arg);

#endif
