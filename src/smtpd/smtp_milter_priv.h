/*
 * smtp_milter_priv — the session's filters as the message check
 * (smtp_milter.c) and the early stages (smtp_milter_stage.c) share them:
 * the connections, and what each filter decided in this transaction
 * (for the log, `posternctl show` and the metrics).
 */
#ifndef POSTERN_SMTP_MILTER_PRIV_H
#define POSTERN_SMTP_MILTER_PRIV_H

#include <stddef.h>

#include "milter_conn.h"
#include "postern_limits.h"

#define SMTP_MILTERS_MAX	8
#define SMTP_MILTER_ARGS_MAX	16	/* ESMTP parameters of one command */

struct conf_milter;
struct smtp_session;
struct smtp_session_counters;

/* What one filter decided in the transaction so far. */
struct smtp_milter_record {
	enum milter_verdict	 verdict;	/* the last one other than
						   continue, or continue */
	const char		*stage;		/* where it came */
	unsigned		 ms;		/* time spent, every stage */
	int			 asked;		/* seen any stage of it */
};

typedef void (*smtp_milter_then)(struct smtp_session *s, void *ctx,
	    const char *refusal);

struct smtp_milters {
	struct milter_conn		*mc[SMTP_MILTERS_MAX];
	const struct conf_milter	*cf[SMTP_MILTERS_MAX];
	size_t				 n;
	struct smtp_session_counters	*counters;	/* may be NULL */
	struct smtp_milter_record	 rec[SMTP_MILTERS_MAX];
	int				 data_sent;	/* SMFIC_DATA went out in
							   this transaction */
	/* A message check that ended (the message refused by another
	 * check, or the transaction reset) while a filter still owed it an
	 * answer: that filter's transaction is aborted when the answer
	 * comes (an abort before it would fail the connection), and a stage
	 * asked meanwhile waits for it (resume). */
	void				*orphan;	/* smtp_milter.c's */
	size_t				 orphan_i;	/* the filter */
	void				(*resume)(struct smtp_milters *);

	/* the early stage in flight (smtp_milter_stage.c) */
	int				 busy;
	int				 stage;		/* SMTP_MILTER_* */
	size_t				 cur;
	struct smtp_session		*s;
	smtp_milter_then		 then;
	void				*ctx;
	void				(*ctx_free)(void *);
	char				 reply[MILTER_REPLY_TEXT_MAX + 64];
	char				 addr[600];
	struct milter_macro		 mac[9];
	/* the ESMTP parameters of the MAIL or RCPT command at hand
	 * (smtp_milter_params), NUL-separated words */
	char				 params[SMTP_CMD_LINE_MAX + 1];
	const char			*args[SMTP_MILTER_ARGS_MAX];
	size_t				 nargs;
	char				 if_addr[64];	/* the local address the
							   client reached, or "" */
};

/* One verdict of a filter: into its record and the counters. */
void	smtp_milters_note(struct smtp_milters *ms, size_t i,
	    const struct milter_answer *a);

#endif
