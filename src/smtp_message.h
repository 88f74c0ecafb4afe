/*
 * smtp_message — the message of a transaction: DATA and BDAT (RFC 3030),
 * the end-of-message checks and the commit (smtp_message.c).  Part of the
 * session engine: called by smtp_session.c only; the socket layer sees
 * smtp_session.h.
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
/* The transaction is being dropped: what remains of a chunk will be. */
void	smtp_message_tx_reset(struct smtp_session *s);

#endif
