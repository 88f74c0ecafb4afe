/*
 * smtp_message — the message of a transaction: DATA and BDAT (RFC 3030),
 * the end-of-message checks and the commit (smtp_message.c).  Part of the
 * session engine: the commands are called by smtp_session.c; the socket
 * layer reports the commit and the data deadline here.
 */
#ifndef POSTERN_SMTP_MESSAGE_H
#define POSTERN_SMTP_MESSAGE_H

#include <stddef.h>

struct smtp_cmd;
struct smtp_session;

/* The DATA and BDAT commands. */
void	smtp_message_data(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_message_bdat(struct smtp_session *s, const struct smtp_cmd *cmd);
/* Message bytes are expected (DATA, or a BDAT chunk not yet all read). */
int	smtp_message_reading(const struct smtp_session *s);
/* Take message bytes from in[0..len); how many were used. */
size_t	smtp_message_input(struct smtp_session *s, const char *in,
	    size_t len);
/* The commit requested through ops->commit finished (error: errno or 0);
 * id is the queue id.  Takes back nothing: env ownership stayed there. */
void	smtp_message_commit_done(struct smtp_session *s, int error,
	    const char *id);
/* max-data-time has passed since the 354 or the first BDAT: unless the
 * message is complete (waiting for its commit), 421 4.4.2, drop it, move
 * to CLOSING. */
void	smtp_message_data_expired(struct smtp_session *s);

#endif
