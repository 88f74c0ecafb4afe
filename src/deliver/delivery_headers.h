/*
 * delivery_headers — the header lines a delivery puts before the message
 * as it leaves the queue: the outbound transform of one message, the same
 * for every path out.  The Maildir store gets Return-Path and Delivered-To
 * of its recipient; a transaction out by SMTP gets none yet (headers that
 * the checks at acceptance record in the envelope, such as a DKIM
 * signature, will be added here, so every copy carries them).  The SMTP
 * client sends them before the message through its canonicalizer
 * (struct smtp_client_msg, prefix), the Maildir writer writes them first.
 */
#ifndef POSTERN_DELIVERY_HEADERS_H
#define POSTERN_DELIVERY_HEADERS_H

struct queue_envelope;

/* CRLF-ended header lines (malloc'ed), or NULL when there are none.
 * local_rcpt: the recipient of a delivery into the Maildir store; NULL for
 * a transaction out by SMTP. */
char	*delivery_headers(const struct queue_envelope *env,
	    const char *local_rcpt);

#endif
