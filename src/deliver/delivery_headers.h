/*
 * delivery_headers — the header lines a delivery puts before the message
 * as it leaves the queue: the outbound transform of one message, the same
 * for every path out.  Every copy gets the header lines the checks at
 * acceptance recorded in the envelope (`prepend`: Authentication-Results,
 * DKIM-Signature), so every copy carries the same; the Maildir store puts
 * Return-Path and Delivered-To of its recipient above them.  (The bytes
 * the checks cut, such as a forged Authentication-Results, are left out
 * by the reader of the queue file: queue_view_pread.)  The SMTP
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
