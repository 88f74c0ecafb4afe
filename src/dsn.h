/*
 * dsn — the vocabulary of delivery status notifications (RFC 3461) that
 * the envelope carries from the SMTP parser through the queue to the SMTP
 * client and the bounce: RET and the NOTIFY bits.  Its own header so that
 * the queue and the bounce code need not include the SMTP parser.
 */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

#define SMTP_NOTIFY_NEVER	0x01
#define SMTP_NOTIFY_SUCCESS	0x02
#define SMTP_NOTIFY_FAILURE	0x04
#define SMTP_NOTIFY_DELAY	0x08

#endif
