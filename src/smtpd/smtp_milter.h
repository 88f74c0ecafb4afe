/*
 * smtp_milter — the content filters of a virtual server (`milters`,
 * docs/milter.md) for one session: one connection per filter, made when
 * the first message of the session reaches them and reused for the next
 * ones (an abort between transactions), and the message check
 * (smtp_msgcheck.h) that runs every filter, in order, before the 250.
 *
 * The earlier stages (connect, HELO, MAIL, RCPT, DATA) are asked at their
 * own command (smtp_milter_stage.h); the message check sends the rest
 * while the message arrives, each event to every filter in order:
 * SMFIC_DATA (when a BDAT transaction had no DATA command), the header
 * fields once the header is complete, the end of the header, the body in
 * whole chunks (read back from what the session stored: memory stays
 * bounded); then, at the end of the data, the end of the message to each
 * filter in turn.  The first verdict other than continue decides:
 * reject (the filter's reply or 550 5.7.1), tempfail (its reply or
 * 451 4.7.1), discard (250, nothing queued), quarantine (queued and held);
 * a filter that is down, slow or broken is its `on-failure` (451 4.7.1,
 * or go on without it).  Every filter sees the message as it arrived;
 * the changes they ask for are applied together (smtp_milter_mods.c).
 * Each filter's verdict and time in the transaction are kept for the
 * envelope (`posternctl show`) and counted per filter for the metrics.
 */
#ifndef POSTERN_SMTP_MILTER_H
#define POSTERN_SMTP_MILTER_H

#include "smtp_msgcheck.h"

#include <stddef.h>

struct event_base;
struct conf_vserver;
struct smtp_milters;
struct smtp_session_counters;

/* NULL when the server has no `milters`. */
struct smtp_milters *smtp_milters_new(struct event_base *base,
	    const struct conf_vserver *vs);
void	smtp_milters_free(struct smtp_milters *ms);
/* The transaction ended (RSET, a refused MAIL, after the message). */
void	smtp_milters_abort(struct smtp_milters *ms);
/* A transaction begins: the last one is ended, the verdicts forgotten. */
void	smtp_milters_tx_begin(struct smtp_milters *ms);
/* The client's socket: its local address (getsockname) is the
 * {if_addr} macro at connect.  Nothing when ms is NULL or it fails. */
void	smtp_milters_set_local(struct smtp_milters *ms, int fd);
/* Where the verdicts are counted (the server's; NULL: nowhere). */
void	smtp_milters_set_counters(struct smtp_milters *ms,
	    struct smtp_session_counters *c);
/* Each filter's verdict in this transaction, for the envelope:
 * "NAME=VERDICT stage=STAGE time=Nms; ..." (the whole entries that fit);
 * its length, 0 when no filter was asked. */
size_t	smtp_milters_verdicts(const struct smtp_milters *ms, char *out,
	    size_t len);

extern const struct smtp_msgcheck_def smtp_milter_check;

#endif
