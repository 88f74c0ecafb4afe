/*
 * smtp_msgcheck — the checks of a message, in order.  Each sees the message
 * as it streams (every byte that goes to the spool, once, in order, the
 * gateway's Received: first) and gives its verdict at the end of the data,
 * at once or later: the session waits, the loop does not.  The first
 * refusal ends the run; the message is committed only when every check
 * has accepted it, so nothing is accepted and then bounced.
 *
 * The built-in checks are smtp_message.c's (the size, line-length and
 * loop limits the DATA reader measured); checks registered here run after
 * them (message authentication and milters plug in here; a test adds its
 * own).  This module knows nothing of the session: it hands the session
 * pointer to each check as it got it.
 */
#ifndef POSTERN_SMTP_MSGCHECK_H
#define POSTERN_SMTP_MSGCHECK_H

#include <stddef.h>

#include "policy.h"

struct smtp_session;
struct smtp_msgcheck_run;

struct smtp_msgcheck_result {
	int			 refuse;	/* 0: accept */
	enum policy_rule	 rule;		/* refuse: why */
	const char		*reply;		/* refuse: "554 5.7.1 ..." */
};

typedef void (*smtp_msgcheck_done_cb)(void *arg,
	    const struct smtp_msgcheck_result *res);

struct smtp_msgcheck_def {
	const char	*name;
	/* A message begins: what the check keeps for it (may be NULL).
	 * begin NULL: nothing to keep. */
	void	*(*begin)(const struct smtp_session *s);
	/* The next bytes of the message; NULL: not interested. */
	void	 (*data)(void *st, const char *p, size_t n);
	/* The message is complete: 0 with *res filled, or 1 when done(arg,
	 * res) will be called later (never from inside end). */
	int	 (*end)(void *st, const struct smtp_session *s,
		    struct smtp_msgcheck_result *res, smtp_msgcheck_done_cb done,
		    void *arg);
	/* Forget the message (and a verdict still to come); may be NULL. */
	void	 (*finish)(void *st);
};

/* Start the checks of one message: the built-in ones, then the
 * registered ones. */
struct smtp_msgcheck_run *smtp_msgcheck_begin(const struct smtp_session *s,
	    const struct smtp_msgcheck_def *const *builtin, size_t nbuiltin);
void	smtp_msgcheck_data(struct smtp_msgcheck_run *r, const char *p,
	    size_t n);
/*
 * The end of the data: the verdicts in order.  cb gets the first refusal,
 * or an acceptance once every check has accepted, exactly once, maybe
 * before this returns.  The run stays the caller's (smtp_msgcheck_free).
 */
void	smtp_msgcheck_end(struct smtp_msgcheck_run *r,
	    const struct smtp_session *s, smtp_msgcheck_done_cb cb, void *arg);
/* Free the run; a verdict still to come is cancelled. NULL is ignored. */
void	smtp_msgcheck_free(struct smtp_msgcheck_run *r);

#define SMTP_MSGCHECK_EXTRA_MAX	8
/* Register a check for every later message: 0, or -1 when full.  Not
 * thread-safe: register before the loop runs. */
int	smtp_msgcheck_register(const struct smtp_msgcheck_def *def);
void	smtp_msgcheck_unregister_all(void);

#endif
