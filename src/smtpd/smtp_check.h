/*
 * smtp_check — the ordered checks of MAIL and RCPT, one list for every
 * caller: the live session (smtp_session.c, smtp_rcpt.c) and the dry run
 * (trace.c, and flow.c through it).  A check added to the lists in
 * smtp_check.c is applied by the session and shown by trace and flow with
 * nothing else to change (the same decision, the same reply, the same rule
 * name); that is how they cannot disagree (after Postfix's smtpd_check.c,
 * which serves smtpd and its test driver).
 *
 * MAIL: tls-required, auth-required, rate-limit (only when the caller
 * counts: trace does not model per-client state; with a shared store the
 * store decides, asynchronously: smtp_check_mail_start), the declared
 * SIZE, then the sender lists.
 *
 * RCPT: max-recipients, relay control (policy_rcpt), then for a local
 * recipient block-recipient and the directory (asynchronous), then SPF
 * (started for an accepted recipient; awaited and enforced under `spf
 * enforce`, asynchronous), then greylisting (`greylist`, for a client
 * neither authenticated, nor in allow-client, nor allowed to relay:
 * smtp_limits.h, asynchronous with a shared store), then the checks
 * registered with
 * smtp_check_register() (for what is not a
 * built-in rule: a test's dummy today, milters later).  A blocked address
 * never costs a directory lookup.  550 5.1.1 counts towards
 * max-unknown-recipients (the harvest guard) and past it the answer is
 * 421 and the session ends; a directory that fails counts towards nothing.
 */
#ifndef POSTERN_SMTP_CHECK_H
#define POSTERN_SMTP_CHECK_H

#include <stdint.h>

#include "policy.h"

struct addr;
struct conf;
struct conf_vserver;
struct conf_connector;
struct dir_result;
struct directory;
struct ratelimit;
struct senderlist;
struct smtp_check_rcpt;
struct smtp_limits;
struct smtp_limits_req;

/* The client as the checks see it. */
struct smtp_check_client {
	const struct conf		*conf;
	const struct conf_vserver	*vs;
	const struct sockaddr		*addr;
	int				 tls;
	int				 authenticated;
	const struct senderlist		*senders;   /* block-senders-file */
	struct ratelimit		*ratelimit; /* NULL: not counted */
	struct directory		*dir;	    /* NULL: 451 4.3.0 */
	/* RCPT: the transaction's SPF check (smtp_spf.h), started when a
	 * recipient is first accepted; NULL: no SPF (not configured, or
	 * trace without DNS).  spf_enforce: the RCPT waits, and a fail is
	 * refused (550 5.7.23). */
	struct smtp_spf			*spf;
	int				 spf_enforce;
	/* The transaction's sender (greylisting), and the shared limits
	 * and greylist (NULL: greylisting takes every triplet as new and
	 * records nothing); peek: look, record nothing (trace). */
	const char			*sender;
	struct smtp_limits		*limits;
	int				 peek;
};

/* A check's answer.  reply is NULL when the command passes. */
struct smtp_check_verdict {
	const char		*reply;		/* "550 5.7.1 ..." */
	enum policy_rule	 rule;		/* why, with a reply */
	int			 close;		/* the session ends (421) */
	/* RCPT accepted: */
	const struct conf_connector *conn;	/* relayed: the connector */
	struct dir_result	*dir;		/* local: the directory's
						   answer (owned: see
						   smtp_check_verdict_clear) */
	int			 greylist;	/* greylisting's verdict + 1
						   (enum greylist_verdict);
						   0: not applied */
};

void	smtp_check_verdict_clear(struct smtp_check_verdict *v);

/* MAIL: 0 and v->reply NULL when the sender may go on, else -1.  `size`
 * is the declared SIZE (0: none). */
int	smtp_check_mail(const struct smtp_check_client *cl,
	    const struct addr *sender, uint64_t size,
	    struct smtp_check_verdict *v);

/*
 * MAIL as smtp_check_mail(), the rate limit asked of the shared store when
 * cl->limits has one: the callback gets the verdict exactly once, maybe
 * before smtp_check_mail_start() returns (which then returns NULL);
 * otherwise the handle can cancel it.
 */
struct smtp_check_mail;
typedef void (*smtp_check_mail_cb)(void *arg, struct smtp_check_verdict *v);
struct smtp_check_mail *smtp_check_mail_start(
	    const struct smtp_check_client *cl, const struct addr *sender,
	    uint64_t size, smtp_check_mail_cb cb, void *arg);
void	smtp_check_mail_cancel(struct smtp_check_mail *mc);

/*
 * RCPT of `rcpt` (key: its lowercased lookup form), with `accepted` RCPTs
 * accepted so far in the transaction and *unknown 550 5.1.1 given so far
 * in the session (updated).  The callback gets the verdict (it owns
 * v->dir) exactly once, maybe before smtp_check_rcpt() returns (which
 * then returns NULL); otherwise the handle can cancel it.
 */
typedef void (*smtp_check_rcpt_cb)(void *arg, struct smtp_check_verdict *v);
struct smtp_check_rcpt *smtp_check_rcpt(const struct smtp_check_client *cl,
	    const struct addr *rcpt, const char *key, unsigned accepted,
	    unsigned *unknown, smtp_check_rcpt_cb cb, void *arg);
void	smtp_check_rcpt_cancel(struct smtp_check_rcpt *rc);

/*
 * A RCPT check that is not one of the built-in rules, run after the
 * built-in ones accept: 0 lets the recipient through, anything else
 * refuses it with v->reply and v->rule.  At most SMTP_CHECK_EXTRA_MAX;
 * -1 when full.  Registered for the process's life (not thread-safe:
 * register before the loop runs).
 */
struct smtp_check_def {
	const char	*name;
	int		(*rcpt)(const struct smtp_check_client *cl,
			    const struct addr *rcpt, const char *key,
			    struct smtp_check_verdict *v);
};
#define SMTP_CHECK_EXTRA_MAX	8
int	smtp_check_register(const struct smtp_check_def *def);
void	smtp_check_unregister_all(void);

#endif
