/*
 * smtp_state — the session's state and the helpers the parts of the engine
 * share; see smtp_state.h.
 */
#include "smtp_state.h"
#include "smtp_spf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dnsbl.h"
#include "log.h"
#include "postern_limits.h"
#include "queue.h"
#include "smtp_check.h"
#include "smtp_limits.h"
#include "smtp_msgcheck.h"
#include "strmap.h"

static const char *state_names[] = {
	"GREETING", "CONNECTED", "READY", "MAIL", "RCPT", "DATA", "BDAT",
	"REJECTED", "CLOSING",
};

const char *
smtp_state_name(enum smtp_state st)
{
	return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[st] : "?";
}

void
smtp_state_enter(struct smtp_session *s, enum smtp_state st)
{
	if (s->state != st)
		log_debug("session=%016llx %s -> %s",
		    (unsigned long long)s->id, smtp_state_name(s->state),
		    smtp_state_name(st));
	s->state = st;
}

void
smtp_state_reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[SMTP_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	/* The output limit is enforced by the server (it stops reading from
	 * a client that does not read its replies), so this cannot fail
	 * short of that bound. */
	if (buf_append(&s->out, line, (size_t)n) == -1)
		smtp_state_enter(s, SMTP_S_CLOSING);
}

void
smtp_state_close_with(struct smtp_session *s, const char *text)
{
	smtp_state_reply(s, "%s", text);
	smtp_state_cancel_greeting(s);
	smtp_state_tx_reset(s);
	smtp_state_enter(s, SMTP_S_CLOSING);
}

void
smtp_state_refuse(struct smtp_session *s, const char *stage,
    enum policy_rule rule, const char *what, const char *text)
{
	log_info("session=%016llx client=%s refused %s rule=%s%s%s: %s",
	    (unsigned long long)s->id, s->peer_ip, stage,
	    policy_rule_name(rule), what ? " " : "", what ? what : "", text);
	if (s->counters && (unsigned)rule < POLICY_RULE_COUNT)
		s->counters->refused[rule]++;
	smtp_state_reply(s, "%s", text);
}

/* A bad command: the reply, unless the client is past its error budget. */
void
smtp_state_bad_command(struct smtp_session *s, const char *text)
{
	if (++s->errors > s->vs->max_errors) {
		smtp_state_refuse(s, "COMMAND", POLICY_RULE_MAX_ERRORS, NULL,
		    policy_reply(POLICY_RULE_MAX_ERRORS));
		smtp_state_tx_reset(s);
		smtp_state_enter(s, SMTP_S_CLOSING);
		return;
	}
	smtp_state_reply(s, "%s", text);
}

void
smtp_state_wake(struct smtp_session *s)
{
	if (!s->in_input && s->ops && s->ops->wakeup)
		s->ops->wakeup(s);
}

void
smtp_state_tx_reset(struct smtp_session *s)
{
	if (s->rcptchk) {
		smtp_check_rcpt_cancel(s->rcptchk);
		s->rcptchk = NULL;
	}
	if (s->mailchk) {
		smtp_check_mail_cancel(s->mailchk);
		s->mailchk = NULL;
		if (s->waiting == SMTP_WAIT_SHARED)
			s->waiting = SMTP_WAIT_NONE;
	}
	free(s->pending_mail);
	s->pending_mail = NULL;
	free(s->pending_rcpt);
	s->pending_rcpt = NULL;
	free(s->pending_args);
	s->pending_args = NULL;
	if (s->env) {
		queue_envelope_free(s->env);
		s->env = NULL;
	}
	buf_free(&s->msg);
	smtp_msgcheck_free(s->msgchk);
	s->msgchk = NULL;
	smtp_spf_free(s->spf);
	s->spf = NULL;
	if (s->waiting == SMTP_WAIT_CHECK)
		s->waiting = SMTP_WAIT_NONE;
	/* The rest of a BDAT chunk is still on its way: drop it when it
	 * comes (smtp_message.c). */
	if (s->chunk_left > 0 && s->chunk_why == SMTP_CHUNK_KEEP)
		s->chunk_why = SMTP_CHUNK_DROP;
	if (s->spooled && s->ops->spool_abort)
		s->ops->spool_abort(s);
	s->spooled = 0;
	s->spooled_len = 0;
	s->spool_error = 0;
	strmap_free(s->rcpt_set, NULL);
	s->rcpt_set = NULL;
	s->rcpts_given = 0;
	if (s->waiting == SMTP_WAIT_DIRECTORY)
		s->waiting = SMTP_WAIT_NONE;
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT ||
	    s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT)
		smtp_state_enter(s, SMTP_S_READY);
}

const char *
smtp_state_server_name(const struct smtp_session *s)
{
	return s->vs->hostname ? s->vs->hostname : s->conf->hostname;
}

void
smtp_state_check_client(const struct smtp_session *s,
    struct smtp_check_client *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->conf = s->conf;
	cl->vs = s->vs;
	cl->addr = (const struct sockaddr *)&s->peer;
	cl->tls = s->tls;
	cl->authenticated = s->authenticated;
	cl->senders = s->senders;
	cl->ratelimit = s->ratelimit;
	cl->dir = s->dir;
	cl->sender = s->env ? s->env->sender : NULL;
	cl->limits = s->limits;
}

/*
 * Reply to a MAIL or RCPT whose arguments did not parse; 0 when they did.
 * Every such reply counts as a bad command.
 */
int
smtp_state_param_error(struct smtp_session *s, enum smtp_param_status st,
    enum addr_status as, int mail)
{
	switch (st) {
	case SMTP_PARAM_OK:
		return 0;
	case SMTP_PARAM_UNKNOWN:
		smtp_state_bad_command(s, mail ? "555 5.5.4 Unsupported "
		    "MAIL parameter" : "555 5.5.4 Unsupported RCPT parameter");
		break;
	case SMTP_PARAM_ADDR:
		if (as == ADDR_ERR_UTF8)
			smtp_state_bad_command(s, "553 5.6.7 Non-ASCII "
			    "address without SMTPUTF8");
		else
			smtp_state_bad_command(s, mail ? "501 5.1.7 Bad "
			    "sender address syntax" : "501 5.1.3 Bad recipient "
			    "address syntax");
		break;
	default:
		smtp_state_bad_command(s, mail ? "501 5.5.4 Syntax: MAIL "
		    "FROM:<address>" : "501 5.5.4 Syntax: RCPT TO:<address>");
		break;
	}
	return -1;
}

void
smtp_state_cancel_greeting(struct smtp_session *s)
{
	dnsbl_check_cancel(s->dnsbl);
	s->dnsbl = NULL;
	smtp_limits_cancel(s->greet_shared);
	s->greet_shared = NULL;
	s->greet_pending = 0;
	if (s->waiting == SMTP_WAIT_DNSBL)
		s->waiting = SMTP_WAIT_NONE;
}

ssize_t
smtp_state_message_read(struct smtp_session *s, uint64_t off, void *buf, size_t n)
{
	if (off < s->spooled_len) {
		if (s->ops->spool_read == NULL)
			return -1;
		if (n > s->spooled_len - off)
			n = (size_t)(s->spooled_len - off);
		return s->ops->spool_read(s, off, buf, n);
	}
	off -= s->spooled_len;
	if (off >= s->msg.len)
		return 0;
	if (n > s->msg.len - off)
		n = (size_t)(s->msg.len - off);
	memcpy(buf, s->msg.p + off, n);
	return (ssize_t)n;
}
