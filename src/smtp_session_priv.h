/*
 * smtp_session_priv — what the parts of the SMTP session engine share:
 * smtp_session.c (life cycle, dispatch, MAIL, DATA), smtp_rcpt.c (RCPT and
 * the directory wait) and smtp_greet.c (the connection phase: block-client,
 * DNSBL, greet-wait).  Not for the socket layer or anyone else: they go
 * through smtp_session.h and smtp_greet.h.
 */
#ifndef POSTERN_SMTP_SESSION_PRIV_H
#define POSTERN_SMTP_SESSION_PRIV_H

#include "policy.h"
#include "smtp_session.h"

/* One reply line (CRLF added) into s->out. */
void	smtp_session_reply(struct smtp_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * A refusal: one log line (session, client, stage, rule, what, reply), the
 * rule's counter, and the reply.
 */
void	smtp_session_refuse(struct smtp_session *s, const char *stage,
	    enum policy_rule rule, const char *what, const char *text);
/* A bad command: counts towards max-errors; the reply or the 421. */
void	smtp_session_bad_command(struct smtp_session *s, const char *text);
int	smtp_session_param_error(struct smtp_session *s,
	    enum smtp_param_status st, enum addr_status as, int mail);
/* Reply, drop the transaction and any wait, and move to CLOSING. */
void	smtp_session_close_with(struct smtp_session *s, const char *text);
void	smtp_session_enter(struct smtp_session *s, enum smtp_state st);
void	smtp_session_tx_reset(struct smtp_session *s);
/* An answer came in from the loop: let the server flush and read on. */
void	smtp_session_wake(struct smtp_session *s);
const char *smtp_session_server_name(const struct smtp_session *s);
/* The session's client as the checks (smtp_check.h) see it. */
struct smtp_check_client;
void	smtp_session_check_client(const struct smtp_session *s,
	    struct smtp_check_client *cl);

#endif
