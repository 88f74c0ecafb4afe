/*
 * smtp_received — the Received: header postern prepends (RFC 5321 4.4,
 * protocol names of RFC 3848).  Pure: formats into a caller buffer.
 */
#ifndef POSTERN_SMTP_RECEIVED_H
#define POSTERN_SMTP_RECEIVED_H

#include <stddef.h>
#include <time.h>

struct queue_envelope;

/*
 * Format the header (folded, CRLF-terminated) for env into buf; returns
 * its length.  Client-supplied text (HELO) is reduced to printable ASCII
 * so that nothing the client says can start a new header line.  tls is
 * the session's TLS description (tls_describe()), or NULL without TLS:
 * it goes into a "(using ...)" comment.  The authenticated user is never
 * named, only the protocol (ESMTPA, ESMTPSA) says so.
 */
size_t	smtp_received_header(char *buf, size_t len,
	    const struct queue_envelope *env, const char *by_host, int esmtp,
	    const char *tls, int authenticated, time_t now);

/* RFC 5322 date-time, "Sun, 22 Nov 2026 22:48:18 +0000". */
void	smtp_received_date(char *buf, size_t len, time_t t);

#endif
