/*
 * smtp_auth — the AUTH command of the SMTP session engine (RFC 4954):
 * PLAIN and LOGIN, only under TLS, the SASL exchange over continuation
 * lines, the password check and the failure guard (max-auth-failures).
 * Called from the session's command table and input loop only.
 */
#ifndef POSTERN_SMTP_AUTH_H
#define POSTERN_SMTP_AUTH_H

#include <stddef.h>

struct smtp_cmd;
struct smtp_session;

void	smtp_auth_command(struct smtp_session *s, const struct smtp_cmd *cmd);
/* One client line while a SASL exchange runs (s->auth_step set). */
void	smtp_auth_line(struct smtp_session *s, const char *line, size_t len);
/* Drop an exchange or a check in flight, without a reply. */
void	smtp_auth_reset(struct smtp_session *s);

#endif
