/*
 * smtp_spf — the SPF check of one transaction (msgauth/spf.h, RFC 7208):
 * asked once, when the first recipient is accepted (a transaction refused
 * anyway never costs DNS), and awaited by whoever needs the answer: the
 * RCPT reply under `spf enforce` (a fail is refused there, 550 5.7.23),
 * else the end of the data (DMARC and Authentication-Results).  Several
 * waiters may wait for the one answer.
 */
#ifndef POSTERN_SMTP_SPF_H
#define POSTERN_SMTP_SPF_H

#include <sys/socket.h>

#include "authdns.h"
#include "spf.h"

struct smtp_spf;

/* The transaction's identities; the strings are copied. */
struct smtp_spf *smtp_spf_new(const struct authdns *dns,
	    const struct sockaddr *client, const char *sender,
	    const char *helo, const char *receiver);
/* Cancels the check and every waiter; NULL is ignored. */
void	smtp_spf_free(struct smtp_spf *sp);

/* Start the check if it is not started. */
void	smtp_spf_start(struct smtp_spf *sp);
/*
 * The outcome, started if need be: 0 with *out set when it is known,
 * else 1 and cb(arg, outcome) will run once it is (never from inside this
 * call).  smtp_spf_unwait() forgets a waiter.
 */
typedef void (*smtp_spf_cb)(void *arg, const struct spf_outcome *o);
int	smtp_spf_wait(struct smtp_spf *sp, const struct spf_outcome **out,
	    smtp_spf_cb cb, void *arg);
void	smtp_spf_unwait(struct smtp_spf *sp, void *arg);

/* The refusal of a fail under `spf enforce`, with the domain's
 * explanation when it gave one (RFC 7208 8.4). */
const char *smtp_spf_reply(struct smtp_spf *sp);

#endif
