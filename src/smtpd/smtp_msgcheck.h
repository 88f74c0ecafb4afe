/*
 * smtp_msgcheck — the checks of a message, in order.  Each sees the message
 * as it streams (every byte that goes to the spool, once, in order, the
 * gateway's Received: first) and gives its verdict at the end of the data,
 * at once or later: the session waits, the loop does not.  The first
 * refusal ends the run; the message is committed only when every check
 * has accepted it, so nothing is accepted and then bounced.
 *
 * Verdicts: accept; refuse (with the reply); discard (250 to the client,
 * nothing queued: the first discard ends the run); hold (queued, and held
 * until an administrator releases it; the run goes on, since a later
 * check may still refuse).  A check that accepts or holds may edit the
 * message as it will leave: header lines to put before it, and byte
 * ranges of it to leave out (offsets in the message as streamed, the
 * Received: first).  The edits of every check are kept in order and
 * handed to the session with the final verdict (smtp_msgcheck_edits),
 * which records them in the envelope (queue.h: prepend, cut, hold).
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
#include "queue.h"

struct smtp_session;
struct smtp_msgcheck_run;

enum smtp_msgcheck_verdict {
	SMTP_MSGCHECK_ACCEPT = 0,
	SMTP_MSGCHECK_REFUSE,
	SMTP_MSGCHECK_DISCARD,
	SMTP_MSGCHECK_HOLD,
};

struct smtp_msgcheck_result {
	enum smtp_msgcheck_verdict verdict;
	enum policy_rule	 rule;		/* refuse: why */
	const char		*reply;		/* refuse: "554 5.7.1 ..." */
	const char		*reason;	/* discard, hold: why (logs,
						   the envelope's hold) */
	/* accept, hold: edits (the check's own memory, read before its
	 * finish()): CRLF-ended header lines, cuts (with the text that
	 * stands in their place), recipients to add and to remove. */
	const char		*prepend;
	const struct queue_cut	*cuts;
	size_t			 ncuts;
	char *const		*rcpt_add;
	size_t			 nrcpt_add;
	char *const		*rcpt_del;
	size_t			 nrcpt_del;
};

/* What the checks together decided about the message as it leaves. */
struct smtp_msgcheck_edits {
	const char		*prepend;	/* NULL: nothing */
	const struct queue_cut	*cuts;		/* sorted, disjoint */
	size_t			 ncuts;
	const char		*hold;		/* the first hold's reason,
						   or NULL */
	char *const		*rcpt_add;	/* in the order asked */
	size_t			 nrcpt_add;
	char *const		*rcpt_del;
	size_t			 nrcpt_del;
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
/* The edits of the checks that have answered (valid until
 * smtp_msgcheck_free). */
void	smtp_msgcheck_edits(const struct smtp_msgcheck_run *r,
	    struct smtp_msgcheck_edits *out);
/* Free the run; a verdict still to come is cancelled. NULL is ignored. */
void	smtp_msgcheck_free(struct smtp_msgcheck_run *r);

#define SMTP_MSGCHECK_EXTRA_MAX	8
/* The header lines all checks together may put before a message. */
#define SMTP_MSGCHECK_PREPEND_MAX	(32 * 1024)
/* Register a check for every later message: 0, or -1 when full.  Not
 * thread-safe: register before the loop runs. */
int	smtp_msgcheck_register(const struct smtp_msgcheck_def *def);
void	smtp_msgcheck_unregister_all(void);

#endif
