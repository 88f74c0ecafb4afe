/*
 * smtp_milter_stage — the content filters asked at the session's own
 * commands (docs/milter.md, SPEC section 8): connect (before the
 * greeting), HELO/EHLO, MAIL (after the built-in MAIL checks), each RCPT
 * (after the built-in RCPT checks accepted it) and the DATA command.  The
 * command's reply waits for every filter, in order (the session waits,
 * its pipelined input unread; the loop does not); the first reject or
 * tempfail is the reply, for that command only (at RCPT: that recipient
 * only).  Continue, accept and discard go on (an accept or a discard
 * holds for the filter's later stages: its connection answers them).  A
 * filter that fails is its on-failure: tempfail (the stage's temporary
 * reply) or accept (go on without it).
 *
 * Replies: reject is the filter's reply (SMFIR_REPLYCODE) or 550 5.7.1,
 * tempfail its reply or 451 4.7.1; at connect a reject is a 554 5.7.1
 * greeting and a tempfail or a failure a 421 4.7.1 (a 4xx or 5xx of the
 * filter's own is kept when it is 421, resp. 5xx).  The session chooses
 * what to do with a refusal; this module only tells it.
 */
#ifndef POSTERN_SMTP_MILTER_STAGE_H
#define POSTERN_SMTP_MILTER_STAGE_H

#include <stddef.h>

struct smtp_session;

enum smtp_milter_stage {
	SMTP_MILTER_CONNECT,
	SMTP_MILTER_HELO,
	SMTP_MILTER_MAIL,
	SMTP_MILTER_RCPT,
	SMTP_MILTER_DATA,
};

/*
 * Ask the session's filters at stage (arg: the HELO name, the sender or
 * the recipient, without <>; NULL otherwise).  0: nothing to ask (no
 * filter), the caller goes on at once.  1: then(s, ctx, refusal) comes
 * later, from the loop, with refusal NULL (go on) or the reply to give;
 * the caller waits meanwhile.  If the session is closing when the answer
 * comes, or is freed before, then is not called and ctx_free(ctx) is
 * (ctx_free may be NULL).
 */
int	smtp_milter_ask(struct smtp_session *s, enum smtp_milter_stage stage,
	    const char *arg, void (*then)(struct smtp_session *s, void *ctx,
	    const char *refusal), void *ctx, void (*ctx_free)(void *));

/*
 * The ESMTP parameters of the MAIL or RCPT command at hand, as the client
 * wrote them (p[0..len), the text after the path): the MAIL or RCPT stage
 * asked next sends them, a word an argument ("SIZE=100", "BODY=8BITMIME").
 * One command's at a time, bounded by the command line; nothing without
 * filters.
 */
void	smtp_milter_params(struct smtp_session *s, const char *p, size_t len);

#endif
