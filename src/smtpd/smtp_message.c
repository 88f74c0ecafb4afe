/*
 * smtp_message — receiving the message of a transaction: DATA (dot-
 * stuffed, ended by CRLF "." CRLF) and BDAT (RFC 3030: chunks of a size
 * announced in the command, the last one marked LAST), the checks made at
 * its end, the commit and its answer.
 *
 * At the end of the data the message checks (smtp_msgcheck.h) give their
 * verdicts, the limits the reader measured first; only then the commit.
 *
 * Both go through the DATA reader of smtp_data.c (the same CRLF-only rule,
 * limits and counts; BDAT in binary mode) into the session's bounded
 * buffer, which is handed to the spool file whenever it is nearly full
 * (docs/spool.md, "Messages as they arrive"): a session's memory does not
 * depend on the size of what the client sends.
 *
 * A chunk is always read to its end, even when the BDAT command is
 * refused (bad sequence, no valid recipient) or the message fails in the
 * middle (a bare CR or LF, too large): its bytes are dropped and the reply
 * comes after them, so that the session stays in step with a client that
 * pipelines its chunks.  A BDAT whose size cannot be read cannot be kept
 * in step: it is a syntax error like any other (RFC 3030 4.2 leaves it to
 * the server), and max-errors ends the session if the bytes that follow
 * keep failing as commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "log.h"
#include "postern_limits.h"
#include "queue.h"
#include "smtp_message.h"
#include "smtp_milter.h"
#include "smtp_milter_stage.h"
#include "smtp_msgauth.h"
#include "smtp_msgcheck.h"
#include "smtp_received.h"
#include "smtp_state.h"
#include "xmalloc.h"


/* ---- the built-in message checks ---- */

/* The limits the DATA reader measured: size (and the header block),
 * line length, the Received: count (mail loop). */
static int
limits_end(void *st, const struct smtp_session *s,
    struct smtp_msgcheck_result *res, smtp_msgcheck_done_cb done, void *arg)
{
	const struct smtp_data_reader *r = &s->data;

	(void)st;
	(void)done;
	(void)arg;
	if (r->too_big || r->header_too_long)
		res->rule = POLICY_RULE_SIZE;
	else if (r->line_too_long)
		res->rule = POLICY_RULE_LINE_LENGTH;
	else if (r->received_count > SMTP_RECEIVED_MAX)
		res->rule = POLICY_RULE_MAIL_LOOP;
	else
		return 0;
	res->verdict = SMTP_MSGCHECK_REFUSE;
	res->reply = policy_reply(res->rule);
	return 0;
}

static const struct smtp_msgcheck_def limits_check = {
	.name = "limits", .end = limits_end,
};

/* The filters before authentication: a message they refuse costs no
 * DNS. */
static const struct smtp_msgcheck_def *const builtin_checks[] = {
	&limits_check,
	&smtp_milter_check,
	&smtp_msgauth_check,
};

/* What was just added to the buffer from `from` on goes to the checks. */
static void
message_tap(struct smtp_session *s, size_t from)
{
	if (s->msg.len > from)
		smtp_msgcheck_data(s->msgchk, s->msg.p + from,
		    s->msg.len - from);
}

/* ---- reading ---- */

/* Start reading a message: the Received: header first. */
static void
message_begin(struct smtp_session *s, int binary)
{
	char hdr[2048];
	size_t hlen;

	hlen = smtp_received_header(hdr, sizeof(hdr), s->env,
	    smtp_state_server_name(s), s->esmtp, s->tls ? s->tls_info : NULL,
	    s->authenticated, time(NULL));
	buf_init(&s->msg, SMTP_MSG_BUF_MAX);
	buf_append(&s->msg, hdr, hlen);
	s->msgchk = smtp_msgcheck_begin(s, builtin_checks,
	    sizeof(builtin_checks) / sizeof(builtin_checks[0]));
	message_tap(s, 0);
	if (binary)
		smtp_data_init_binary(&s->data, s->vs->max_message_size);
	else
		smtp_data_init(&s->data, s->vs->max_message_size);
}

/* Hand what the session holds of the message to the spool file. */
static void
message_flush(struct smtp_session *s)
{
	int e;

	if (s->msg.len == 0)
		return;
	if (s->spool_error == 0 && !s->data.too_big) {
		s->spooled = 1;
		if ((e = s->ops->spool_write(s, s->msg.p, s->msg.len)) != 0)
			s->spool_error = e;
		else
			s->spooled_len += s->msg.len;
	}
	buf_reset(&s->msg);
}

/*
 * Feed the reader no more than the session's buffer can take: it writes
 * at most one byte more than it reads (a CR held back until its LF
 * comes), so a feed of room - 1 bytes never overflows, and the reader
 * never sees a full buffer (which it would take for a message too big).
 */
static enum smtp_data_status
message_feed(struct smtp_session *s, const char *in, size_t len,
    size_t *used)
{
	enum smtp_data_status st;
	size_t room, from;

	/* Write in pieces of nearly the whole buffer: fewer system calls
	 * per message (bench/relay at 100 KB). */
	if (SMTP_MSG_BUF_MAX - s->msg.len < SMTP_MSG_FLUSH_ROOM)
		message_flush(s);
	room = SMTP_MSG_BUF_MAX - s->msg.len - 1;
	if (len > room)
		len = room;
	from = s->msg.len;
	st = smtp_data_feed(&s->data, in, len, used, &s->msg);
	message_tap(s, from);
	return st;
}

/* A message too large so far: refused (the rest of a DATA is still read
 * by the reader; the rest of the chunks is dropped). */
static int
message_too_big(struct smtp_session *s, const char *stage)
{
	if (!s->data.too_big && !s->data.header_too_long)
		return 0;
	smtp_state_refuse(s, stage, POLICY_RULE_SIZE, s->env->id,
	    policy_reply(POLICY_RULE_SIZE));
	smtp_state_tx_reset(s);
	return 1;
}

/* What the checks decided about the message as it leaves, into its
 * envelope (queue.h). */
static void
message_edits(struct smtp_session *s, struct queue_envelope *env)
{
	struct smtp_msgcheck_edits ed;
	char mv[1024];

	if (smtp_milters_verdicts(s->milters, mv, sizeof(mv)) > 0)
		env->milters = xstrdup(mv);
	smtp_msgcheck_edits(s->msgchk, &ed);
	if (ed.prepend != NULL)
		env->prepend = xstrdup(ed.prepend);
	for (size_t i = 0; i < ed.ncuts; i++)
		(void)queue_envelope_add_cut(env, ed.cuts[i].off,
		    ed.cuts[i].len, ed.cuts[i].text);
	for (size_t i = 0; i < ed.nrcpt_del; i++)
		queue_envelope_del_rcpt(env, ed.rcpt_del[i]);
	for (size_t i = 0; i < ed.nrcpt_add; i++)
		queue_envelope_add_rcpt(env, ed.rcpt_add[i], NULL, 0);
	if (ed.hold != NULL) {
		env->hold = xstrdup(ed.hold);
		log_info("session=%016llx queue=%s held: %s",
		    (unsigned long long)s->id, env->id, ed.hold);
	}
}

/* Every check has answered (maybe inside smtp_msgcheck_end()). */
static void
message_checked(void *arg, const struct smtp_msgcheck_result *res)
{
	struct smtp_session *s = arg;
	struct queue_envelope *env;
	char *tail;
	size_t len;

	s->waiting = SMTP_WAIT_NONE;
	if (res->verdict == SMTP_MSGCHECK_REFUSE) {
		smtp_state_refuse(s, s->msg_stage, res->rule, s->env->id,
		    res->reply ? res->reply : policy_reply(res->rule));
		smtp_state_tx_reset(s);
		smtp_state_wake(s);
		return;
	}
	if (res->verdict == SMTP_MSGCHECK_DISCARD) {
		/* The client is told what an accepted message gets: a
		 * discard is the check's decision, not the sender's. */
		log_info("session=%016llx queue=%s discarded: %s",
		    (unsigned long long)s->id, s->env->id,
		    res->reason ? res->reason : "a message check");
		smtp_state_reply(s, "250 2.0.0 Ok: queued as %s", s->env->id);
		smtp_state_tx_reset(s);
		smtp_state_wake(s);
		return;
	}
	if (s->spool_error != 0) {
		/* The spool file could not be written: as a commit that
		 * failed, a temporary failure (smtp_message_commit_done). */
		s->waiting = SMTP_WAIT_COMMIT;
		smtp_message_commit_done(s, s->spool_error, s->env->id);
		return;
	}
	message_edits(s, s->env);
	if (s->env->nrcpts == 0) {
		/* A filter removed every recipient: nothing to deliver. */
		log_info("session=%016llx queue=%s discarded: every recipient "
		    "removed by a message check", (unsigned long long)s->id,
		    s->env->id);
		smtp_state_reply(s, "250 2.0.0 Ok: queued as %s", s->env->id);
		smtp_state_tx_reset(s);
		smtp_state_wake(s);
		return;
	}
	env = s->env;
	s->env = NULL;
	env->received = time(NULL);
	tail = buf_release(&s->msg, &len);
	s->spooled = 0;		/* the file is the commit's now */
	s->spooled_len = 0;
	s->waiting = SMTP_WAIT_COMMIT;
	s->ops->commit(s, env, tail, len);
}

/* The whole message is in: its checks (smtp_msgcheck.h), then the
 * commit.  The session waits while a check takes its time. */
static void
message_end(struct smtp_session *s, const char *stage)
{
	s->msg_stage = stage;
	s->waiting = SMTP_WAIT_CHECK;
	smtp_msgcheck_end(s->msgchk, s, message_checked, s);
}

void
smtp_message_commit_done(struct smtp_session *s, int error, const char *id)
{
	s->waiting = SMTP_WAIT_NONE;
	if (error == 0) {
		s->messages++;
		if (s->counters)
			s->counters->accepted++;
		smtp_state_reply(s, "250 2.0.0 Ok: queued as %s", id);
	} else if (error == ENOSPC || error == EDQUOT) {
		log_warnx("session=%016llx queue=%s commit failed: %s",
		    (unsigned long long)s->id, id, strerror(error));
		smtp_state_reply(s, "452 4.3.1 Insufficient system storage");
	} else {
		log_warnx("session=%016llx queue=%s commit failed: %s",
		    (unsigned long long)s->id, id, strerror(error));
		smtp_state_reply(s, "451 4.3.0 Local error in processing, "
		    "try again later");
	}
	smtp_state_tx_reset(s);
	smtp_state_enter(s, SMTP_S_READY);
	if (s->shutting_down)
		smtp_state_close_with(s, "421 4.3.2 Service shutting down, "
		    "closing connection");
	smtp_state_wake(s);
}

void
smtp_message_data_expired(struct smtp_session *s)
{
	/* A complete message waiting for its checks or its commit is not
	 * cut off: the client has sent it all. */
	if ((s->state != SMTP_S_DATA && s->state != SMTP_S_BDAT) ||
	    s->waiting == SMTP_WAIT_COMMIT || s->waiting == SMTP_WAIT_CHECK)
		return;
	smtp_state_refuse(s, s->state == SMTP_S_DATA ? "DATA" : "BDAT",
	    POLICY_RULE_DATA_TIME, s->env ? s->env->id : NULL,
	    policy_reply(POLICY_RULE_DATA_TIME));
	smtp_state_tx_reset(s);
	smtp_state_enter(s, SMTP_S_CLOSING);
}

/* ---- DATA ---- */

/* The filters' answer to DATA: a refusal ends the transaction. */
static void
data_filtered(struct smtp_session *s, void *ctx, const char *refusal)
{
	(void)ctx;
	s->waiting = SMTP_WAIT_NONE;
	if (refusal != NULL) {
		smtp_state_refuse(s, "DATA", POLICY_RULE_MILTER, s->env->id,
		    refusal);
		smtp_state_tx_reset(s);
		return;
	}
	message_begin(s, 0);
	smtp_state_enter(s, SMTP_S_DATA);
	smtp_state_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

void
smtp_message_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (cmd->arglen) {
		smtp_state_bad_command(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->state == SMTP_S_MAIL) {
		smtp_state_bad_command(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (s->state != SMTP_S_RCPT) {
		smtp_state_bad_command(s, "503 5.5.1 Bad sequence of "
		    "commands: MAIL first");
		return;
	}
	if (smtp_milter_ask(s, SMTP_MILTER_DATA, NULL, data_filtered, NULL,
	    NULL)) {
		s->waiting = SMTP_WAIT_MILTER;
		return;
	}
	data_filtered(s, NULL, NULL);
}

static size_t
data_input(struct smtp_session *s, const char *in, size_t len)
{
	size_t used = 0;

	switch (message_feed(s, in, len, &used)) {
	case SMTP_DATA_NEED_MORE:
		break;
	case SMTP_DATA_DONE:
		message_end(s, "DATA");
		break;
	case SMTP_DATA_BARE_LF:
	case SMTP_DATA_BARE_CR:
		/* Nothing frames the rest: the connection is closed so that
		 * no byte of this message is ever read as a command. */
		smtp_state_refuse(s, "DATA", POLICY_RULE_BARE_NEWLINE,
		    s->env ? s->env->id : NULL, "521 5.5.2 Bare CR or LF in "
		    "message; only CRLF ends a line; closing connection");
		smtp_state_tx_reset(s);
		smtp_state_enter(s, SMTP_S_CLOSING);
		used = len;
		break;
	}
	return used;
}

/* ---- BDAT ---- */

/* "SIZE" or "SIZE LAST" (any case); 0 or -1. */
static int
bdat_args(const struct smtp_cmd *cmd, uint64_t *size, int *last)
{
	const char *p = cmd->arg, *end = cmd->arg + cmd->arglen;
	uint64_t v = 0;

	if (p == end)
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == cmd->arg)
		return -1;
	*size = v;
	*last = 0;
	if (p == end)
		return 0;
	if (end - p == 5 && p[0] == ' ' && strncasecmp(p + 1, "LAST", 4) == 0) {
		*last = 1;
		return 0;
	}
	return -1;
}

/* The announced chunk has been read. */
static void
chunk_end(struct smtp_session *s)
{
	int why = s->chunk_why;
	enum smtp_data_status st;
	size_t from;

	s->chunk_why = SMTP_CHUNK_KEEP;
	switch (why) {
	case SMTP_CHUNK_DROP:
		return;
	case SMTP_CHUNK_BAD_SEQUENCE:
		smtp_state_bad_command(s, "503 5.5.1 Bad sequence of "
		    "commands: MAIL first");
		return;
	case SMTP_CHUNK_NO_RCPT:
		smtp_state_bad_command(s, "554 5.5.1 No valid recipients");
		return;
	case SMTP_CHUNK_BARE_NEWLINE:
		smtp_state_refuse(s, "BDAT", POLICY_RULE_BARE_NEWLINE,
		    s->env ? s->env->id : NULL, "554 5.6.0 Bare CR or LF in "
		    "message; only CRLF ends a line");
		smtp_state_tx_reset(s);
		return;
	}
	if (message_too_big(s, "BDAT"))
		return;
	if (!s->chunk_last) {
		smtp_state_reply(s, "250 2.0.0 %llu octets received",
		    (unsigned long long)s->chunk_size);
		return;
	}
	/* The end may add a CRLF: make room for it. */
	if (s->msg.len + 2 >= SMTP_MSG_BUF_MAX)
		message_flush(s);
	from = s->msg.len;
	st = smtp_data_finish(&s->data, &s->msg);
	message_tap(s, from);
	if (st != SMTP_DATA_DONE) {
		s->chunk_why = SMTP_CHUNK_BARE_NEWLINE;
		chunk_end(s);
		return;
	}
	message_end(s, "BDAT");
}

void
smtp_message_bdat(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	uint64_t size;
	int last;

	if (bdat_args(cmd, &size, &last) == -1) {
		smtp_state_bad_command(s, "501 5.5.4 Syntax: BDAT size "
		    "[LAST]");
		return;
	}
	s->chunk_left = s->chunk_size = size;
	s->chunk_last = last;
	s->chunk_why = SMTP_CHUNK_KEEP;
	if (s->state == SMTP_S_RCPT) {
		message_begin(s, 1);
		smtp_state_enter(s, SMTP_S_BDAT);
	} else if (s->state == SMTP_S_MAIL)
		s->chunk_why = SMTP_CHUNK_NO_RCPT;
	else if (s->state != SMTP_S_BDAT)
		s->chunk_why = SMTP_CHUNK_BAD_SEQUENCE;
	if (s->chunk_left == 0)
		chunk_end(s);
}

static size_t
chunk_input(struct smtp_session *s, const char *in, size_t len)
{
	size_t used = 0;

	if (len > s->chunk_left)
		len = (size_t)s->chunk_left;
	if (s->chunk_why != SMTP_CHUNK_KEEP)
		used = len;
	else if (message_feed(s, in, len, &used) != SMTP_DATA_NEED_MORE) {
		/* A bare CR or LF: the chunk's size still frames what
		 * follows, so the rest is read and dropped, then refused. */
		s->chunk_why = SMTP_CHUNK_BARE_NEWLINE;
		used = len;
	}
	s->chunk_left -= used;
	if (s->chunk_left == 0)
		chunk_end(s);
	return used;
}


size_t
smtp_message_input(struct smtp_session *s, const char *in, size_t len)
{
	if (s->chunk_left > 0)
		return chunk_input(s, in, len);
	return data_input(s, in, len);
}

int
smtp_message_reading(const struct smtp_session *s)
{
	return s->state == SMTP_S_DATA || s->chunk_left > 0;
}
