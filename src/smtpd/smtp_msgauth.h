/*
 * smtp_msgauth — message authentication (SPF, DKIM, DMARC, ARC) and DKIM
 * signing as one of the message checks of smtp_msgcheck.h; built in, run
 * after the size and loop limits (smtp_message.c).
 */
#ifndef POSTERN_SMTP_MSGAUTH_H
#define POSTERN_SMTP_MSGAUTH_H

#include "smtp_msgcheck.h"

extern const struct smtp_msgcheck_def smtp_msgauth_check;

struct event_base;
/* The signing thread (posternd): made once, stopped after the sessions. */
void	smtp_msgauth_start(struct event_base *base);
void	smtp_msgauth_stop(void);

#endif
