/*
 * queue_state — what has become of each recipient of a queued message.
 *
 * The queue file is never rewritten; progress goes to SPOOL/state/ID, an
 * append-only log of one-line records, fdatasync'ed after each append:
 *   D IDX TIME          recipient IDX delivered
 *   F IDX TIME REPLY    recipient IDX failed permanently
 * A D or F record that a DSN reports (failure, or success on request) is
 * written only once that DSN is queued, so a crash repeats at worst a DSN.
 *   T IDX TIME REPLY    recipient IDX deferred (last error)
 *   A TIME              one delivery attempt of the message ended
 *   W TIME              the delay warning was sent
 *   R TIME              released by the administrator (a message held
 *                       at acceptance, envelope record `hold`)
 * REPLY is %XX-encoded like queue file values.  A last line without its
 * newline is a torn append and is ignored; an unknown record is skipped
 * with a warning (the worst outcome is a repeated delivery, never a lost
 * one).  The file functions block: call them off the event loop.
 */
#ifndef POSTERN_QUEUE_STATE_H
#define POSTERN_QUEUE_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

/* A recipient's state, in the log and in the record every delivery layer
 * shares (struct smtp_client_rcpt). */
enum rcpt_state { RCPT_PENDING = 0, RCPT_DELIVERED, RCPT_FAILED };

struct queue_state {
	size_t		 nrcpts;
	uint8_t		*st;		/* enum rcpt_state per recipient */
	char		**last;		/* last reply or error, or NULL */
	unsigned	 attempts;
	time_t		 last_attempt;
	int		 warned;
	int		 released;
};

void	queue_state_init(struct queue_state *qs, size_t nrcpts);
void	queue_state_free(struct queue_state *qs);
/* Apply the records in text[0..len) (pure; used by the loader and tests). */
void	queue_state_apply(struct queue_state *qs, const char *text, size_t len);
/* Records, appended to b. */
void	queue_state_rec_rcpt(struct buf *b, char kind, size_t idx, time_t t,
	    const char *reply);
void	queue_state_rec_event(struct buf *b, char kind, time_t t);
/* Number of recipients still pending. */
size_t	queue_state_pending(const struct queue_state *qs);

/* Read SPOOL/state/ID into qs (already initialised); a missing file is a
 * fresh message.  0 or -1. */
int	queue_state_load(const char *spool, const char *id,
	    struct queue_state *qs);
/* Append and fdatasync.  0, or an errno value. */
int	queue_state_append(const char *spool, const char *id,
	    const char *rec, size_t len);
/* Remove a finished message: queue/ID, then state/ID, then fsync both
 * directories.  0, or an errno value. */
int	queue_remove(const char *spool, const char *id);

#endif
