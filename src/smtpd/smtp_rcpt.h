/*
 * smtp_rcpt — the RCPT TO command of the SMTP session engine: relay
 * control, block-recipient, the directory lookup and the harvesting guard
 * (max-unknown-recipients).  Called from the session's command table only.
 */
#ifndef POSTERN_SMTP_RCPT_H
#define POSTERN_SMTP_RCPT_H

struct smtp_cmd;
struct smtp_session;

void	smtp_rcpt_command(struct smtp_session *s, const struct smtp_cmd *cmd);

#endif
