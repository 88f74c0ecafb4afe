/*
 * bounce — delivery status notifications (RFC 3464, RFC 3461).
 *
 * Pure: builds the text of a multipart/report DSN from the original
 * envelope, the original message and the recipients it concerns.  The
 * caller queues it like any message, from the null sender, to the
 * original sender (never when that is the null sender: a bounce is never
 * bounced).
 */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

struct queue_envelope;

/*
 * FAILED: "failed" reports; DELAYED: "delayed" warnings; SUCCESS: RFC 3461
 * NOTIFY=SUCCESS reports, "delivered" (into the local store) or "relayed"
 * (to a peer that does not offer DSN, so it will not report itself).
 */
enum bounce_kind { BOUNCE_FAILED, BOUNCE_DELAYED, BOUNCE_SUCCESS };

struct bounce_rcpt {
	const char	*addr;		/* final recipient */
	const char	*orcpt;		/* RFC 3461 ORCPT "rfc822;x@y" or NULL */
	const char	*status;	/* "5.1.1" / "4.4.1" / "2.0.0" */
	const char	*diagnostic;	/* the remote reply, or NULL */
	const char	*remote_mta;	/* host name, or NULL */
	const char	*action;	/* BOUNCE_SUCCESS: "delivered" (also
					   for NULL) or "relayed"; the other
					   kinds ignore it */
};

/*
 * Append the whole DSN message (headers and body, CRLF line ends, no line
 * over 998 octets) to out.  `msg`/`msglen` is the original message as
 * queued; it is returned whole (RET=FULL, or no RET and at most 128 KiB)
 * or headers only (RET=HDRS, or larger).  `hostname` names the reporting
 * MTA and makes the From: MAILER-DAEMON@hostname.  0, or -1 if out's
 * limit was hit.
 * When the message returned whole does not fit in out's limit, the
 * DSN is composed again with the headers only, and -1 (errno E2BIG) means
 * even that did not fit; out is then as it was.  -1 with errno EINVAL for
 * the null sender (a bounce is never bounced), no recipients, or an empty
 * hostname.  Texts from outside (diagnostics, host names) are reduced to
 * printable ASCII; non-ASCII recipient addresses are written in the RFC
 * 6533 \x{HEX} form in the report parts.  The DSN is 8-bit (it then carries
 * Content-Transfer-Encoding: 8bit) only when the returned content is.
 */
int	bounce_compose(struct buf *out, enum bounce_kind kind,
	    const struct queue_envelope *env, const char *msg, size_t msglen,
	    const struct bounce_rcpt *rcpts, size_t n, const char *hostname,
	    time_t now);

#endif
