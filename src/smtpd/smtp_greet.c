/*
 * smtp_greet — block-client, DNSBL and greet-wait; see smtp_greet.h.
 *
 * Decisions: a listed client is refused as soon as one list answers, even
 * while the greet-wait still runs (nothing it could say would change the
 * outcome).  When the "220-" line has already gone out, the refusal ends
 * that reply with a 554 line, as Postfix's postscreen does: every client
 * takes the code of the last line, and the alternative (a "220 " line,
 * then 554 to every command) would invite the client to go on.  Bytes
 * that arrive after the greet-wait but while the DNSBL answers are still
 * out are not held against the client (the delay is ours): they wait,
 * unread, for the final greeting.  DNSBL failures never refuse anyone:
 * each is logged and counted.
 */
#include "smtp_greet.h"
#include "conf.h"
#include "dnsbl.h"
#include "log.h"
#include "policy.h"
#include "postern_limits.h"
#include "smtp_limits.h"
#include "smtp_milter_stage.h"
#include "smtp_state.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
greet_progress(struct smtp_session *s)
{
	const struct conf_filter *f = &s->vs->filter;
	char text[SMTP_REPLY_MAX], what[300];

	if (s->dnsbl_listed >= 0) {
		s->greet_pending = 0;
		s->waiting = SMTP_WAIT_NONE;
		policy_dnsbl_reply(text, sizeof(text), s->peer_ip,
		    f->dnsbl[s->dnsbl_listed]);
		snprintf(what, sizeof(what), "%s=%s", f->dnsbl[s->dnsbl_listed],
		    s->dnsbl_answer);
		smtp_state_refuse(s, "CONNECT", POLICY_RULE_DNSBL, what,
		    text);
		free(s->reject_reply);
		s->reject_reply = xstrdup(text);
		smtp_state_enter(s, SMTP_S_REJECTED);
		return;
	}
	if (s->greet_pending) {
		smtp_state_enter(s, SMTP_S_GREETING);
		/* While only the DNSBL, the filters or the shared
		 * connection count are awaited, input stays unread. */
		s->waiting = !(s->greet_pending & SMTP_GREET_TIMER) ?
		    SMTP_WAIT_DNSBL : SMTP_WAIT_NONE;
		return;
	}
	s->waiting = SMTP_WAIT_NONE;
	smtp_state_reply(s, "220 %s %s", smtp_state_server_name(s),
	    s->vs->banner);
	smtp_state_enter(s, SMTP_S_CONNECTED);
}

static void
dnsbl_done(void *arg, const struct dnsbl_result *res)
{
	struct smtp_session *s = arg;
	const struct dnsbl_answer *a;

	s->dnsbl = NULL;
	s->greet_pending &= ~SMTP_GREET_DNSBL;
	for (size_t i = 0; i < res->nanswers; i++) {
		a = &res->answers[i];
		if (a->status == DNSBL_FAILED) {
			log_info("session=%016llx client=%s dnsbl=%s lookup "
			    "failed, not refusing: %s",
			    (unsigned long long)s->id, s->peer_ip, a->zone,
			    a->detail);
			if (s->counters)
				s->counters->dnsbl_failures++;
		} else
			log_debug("session=%016llx client=%s dnsbl=%s %s%s%s",
			    (unsigned long long)s->id, s->peer_ip, a->zone,
			    dnsbl_status_name(a->status),
			    a->detail[0] ? " " : "", a->detail);
	}
	if (res->listed >= 0) {
		s->dnsbl_listed = res->listed;
		snprintf(s->dnsbl_answer, sizeof(s->dnsbl_answer), "%.31s",
		    res->answers[res->listed].detail);
	}
	greet_progress(s);
	smtp_state_wake(s);
}

/* The content filters' answer to the connection (smtp_milter_stage.h):
 * a reject is the greeting, then every command but QUIT gets it again
 * (as Postfix does); a tempfail is a 421 and the end. */
static void
milter_done(struct smtp_session *s, void *ctx, const char *refusal)
{
	(void)ctx;
	s->greet_pending &= ~SMTP_GREET_MILTER;
	if (s->state != SMTP_S_GREETING)
		return;		/* refused already */
	if (refusal == NULL) {
		greet_progress(s);
		return;
	}
	smtp_state_cancel_greeting(s);
	smtp_state_refuse(s, "CONNECT", POLICY_RULE_MILTER, NULL, refusal);
	if (refusal[0] == '4') {
		smtp_state_enter(s, SMTP_S_CLOSING);
		return;
	}
	free(s->reject_reply);
	s->reject_reply = xstrdup(refusal);
	smtp_state_enter(s, SMTP_S_REJECTED);
}

/* The shared count of the client's connections (max-connections-per-ip
 * over every node) has answered: over it, 421 and the door, the count
 * already given back (smtp_limits.c). */
static void
conn_done(void *arg, long long ok)
{
	struct smtp_session *s = arg;

	s->greet_shared = NULL;
	s->greet_pending &= ~SMTP_GREET_SHARED;
	if (s->state != SMTP_S_GREETING) {
		/* Refused meanwhile (a DNSBL listing): nothing to add. */
		if (!ok)
			s->conn_shared = 0;
		return;
	}
	if (!ok) {
		s->conn_shared = 0;
		smtp_state_cancel_greeting(s);
		smtp_state_refuse(s, "CONNECT",
		    POLICY_RULE_MAX_CONNECTIONS_PER_IP, "shared",
		    policy_reply(POLICY_RULE_MAX_CONNECTIONS_PER_IP));
		smtp_state_enter(s, SMTP_S_CLOSING);
	} else
		greet_progress(s);
	smtp_state_wake(s);
}

void
smtp_greet_end(struct smtp_session *s)
{
	if (!s->conn_shared)
		return;
	s->conn_shared = 0;
	smtp_limits_conn_close(s->limits, s->vs->name,
	    (const struct sockaddr *)&s->peer);
}

void
smtp_greet_start(struct smtp_session *s)
{
	const struct conf_filter *f = &s->vs->filter;
	enum policy_client_verdict v;
	const char *refuse;

	s->dnsbl_listed = -1;
	v = policy_client(s->vs, (const struct sockaddr *)&s->peer, &refuse);
	if (v == POLICY_CLIENT_BLOCKED) {
		smtp_state_refuse(s, "CONNECT", POLICY_RULE_BLOCK_CLIENT,
		    NULL, refuse);
		s->reject_reply = xstrdup(refuse);
		smtp_state_enter(s, SMTP_S_REJECTED);
		return;
	}
	if ((s->greet_shared = smtp_limits_conn_open(s->limits, s->vs,
	    (const struct sockaddr *)&s->peer, conn_done, s)) != NULL) {
		s->conn_shared = 1;
		s->greet_pending |= SMTP_GREET_SHARED;
	}
	if (f->greet_wait_ms > 0) {
		smtp_state_reply(s, "220-%s %s", smtp_state_server_name(s),
		    s->vs->banner);
		s->greet_pending |= SMTP_GREET_TIMER;
	}
	if (v == POLICY_CLIENT_OK && f->ndnsbl > 0) {
		if (s->resolver == NULL)
			log_debug("session=%016llx: no resolver, DNSBL not "
			    "asked", (unsigned long long)s->id);
		else if ((s->dnsbl = dnsbl_check_start(s->resolver,
		    (const struct sockaddr *)&s->peer, f->dnsbl, f->ndnsbl,
		    dnsbl_done, s)) != NULL)
			s->greet_pending |= SMTP_GREET_DNSBL;
	}
	if (smtp_milter_ask(s, SMTP_MILTER_CONNECT, NULL, milter_done, NULL,
	    NULL))
		s->greet_pending |= SMTP_GREET_MILTER;
	greet_progress(s);
}

unsigned
smtp_greet_delay(const struct smtp_session *s)
{
	if (s->state != SMTP_S_GREETING ||
	    !(s->greet_pending & SMTP_GREET_TIMER))
		return 0;
	return s->vs->filter.greet_wait_ms;
}

void
smtp_greet_elapsed(struct smtp_session *s)
{
	if (s->state != SMTP_S_GREETING ||
	    !(s->greet_pending & SMTP_GREET_TIMER))
		return;
	s->greet_pending &= ~SMTP_GREET_TIMER;
	greet_progress(s);
}

void
smtp_greet_pregreet(struct smtp_session *s, const char *in, size_t len)
{
	char what[48];
	size_t i, n = len < 32 ? len : 32;

	/* What the client said, printable, for the log: it tells a
	 * spambot from a client that merely misread the protocol. */
	what[0] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		what[i + 1] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '.';
	}
	what[i + 1] = '"';
	what[i + 2] = '\0';
	smtp_state_cancel_greeting(s);
	smtp_state_refuse(s, "CONNECT", POLICY_RULE_PREGREET, what,
	    "554 5.5.1 Protocol error: talking before the greeting");
	smtp_state_enter(s, SMTP_S_CLOSING);
}

