/*
 * smtp_rcpt — RCPT TO: relay control, recipient filtering, and the
 * directory wait (postern.conf(5), docs/smtp.md); see smtp_rcpt.h.
 *
 * The syntax is the session's; every other check, in its order, is
 * smtp_check_rcpt() (smtp_check.c, shared with posternctl trace).  Its
 * answer may come back at once (file directory) or later from the loop
 * (the session waits, its pipelined input unread).  What is the session's
 * alone: the envelope (a list's members added all or none) and ORCPT.
 */
#include "smtp_rcpt.h"
#include "addr.h"
#include "conf.h"
#include "directory.h"
#include "policy.h"
#include "queue.h"
#include "smtp_check.h"
#include "smtp_milter_stage.h"
#include "smtp_spf.h"
#include "smtp_state.h"
#include "strmap.h"
#include "xmalloc.h"
#include "xtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "rfc822;" + the address as RFC 3461 xtext. */
static void
xtext_orcpt(char *out, size_t len, const char *addr)
{
	size_t o = (size_t)snprintf(out, len, "rfc822;");

	if (o < len)
		xtext_encode(out + o, len - o, addr);
}

/*
 * Add one final recipient to the envelope, once (the caller checked that
 * it fits): addr as it goes into the envelope, setkey what says "once"
 * (the lowercased lookup key).  List members carry the address the client
 * gave as their ORCPT (RFC 3461), unless it gave one.
 */
static void
rcpt_add(struct smtp_session *s, const char *addr, const char *setkey,
    const char *given, const struct smtp_rcpt_args *a)
{
	char orcpt[ADDR_PARAM_MAX + 1];

	if (strmap_get(s->rcpt_set, setkey) != NULL)
		return;			/* duplicate: kept once */
	strmap_put(s->rcpt_set, setkey, (void *)1);
	if (a->orcpt[0])
		snprintf(orcpt, sizeof(orcpt), "%s", a->orcpt);
	else if (strcasecmp(addr, given) != 0)	/* a list's member */
		xtext_orcpt(orcpt, sizeof(orcpt), given);
	else
		orcpt[0] = '\0';
	queue_envelope_add_rcpt(s->env, addr, orcpt[0] ? orcpt : NULL,
	    a->notify);
}

/*
 * Accept one RCPT: its address, or a list's members.  All or nothing: the
 * addresses the envelope does not hold yet are counted first, and if they
 * do not all fit under SMTP_RCPT_EXPANDED_MAX none is added and the RCPT
 * gets 452.  Adding some members before the 452 would deliver them now
 * and again when the client retries the list in a later transaction.
 * (The directory gives each address of one answer once, so the count is
 * exact.)
 */
static void
rcpt_accept(struct smtp_session *s, const char *key,
    const struct smtp_rcpt_args *a, const struct dir_result *res)
{
	char given[ADDR_TEXT_MAX];
	size_t fresh = 0;

	if (res == NULL)
		fresh = strmap_get(s->rcpt_set, key) == NULL;
	for (size_t i = 0; res && i < res->ntargets; i++)
		if (strmap_get(s->rcpt_set, res->targets[i].addr) == NULL)
			fresh++;
	if (fresh > SMTP_RCPT_EXPANDED_MAX - s->env->nrcpts) {
		smtp_state_refuse(s, "RCPT", POLICY_RULE_MAX_RECIPIENTS, key,
		    policy_reply(POLICY_RULE_MAX_RECIPIENTS));
		return;
	}
	/* The address exactly as the client wrote it: a relayed recipient
	 * leaves with it (a relay never changes a local part, RFC 5321
	 * 2.4), and list members carry it as their ORCPT; only the "once"
	 * check and the lookups ignore case. */
	addr_format(&a->rcpt, given, sizeof(given));
	if (res == NULL)
		rcpt_add(s, given, key, given, a);
	for (size_t i = 0; res && i < res->ntargets; i++)
		rcpt_add(s, res->targets[i].addr, res->targets[i].addr, given,
		    a);
	s->rcpts_given++;
	smtp_state_enter(s, SMTP_S_RCPT);
	smtp_state_reply(s, "250 2.1.5 Ok");
}

static void
rcpt_done(struct smtp_session *s)
{
	free(s->pending_rcpt);
	s->pending_rcpt = NULL;
	free(s->pending_args);
	s->pending_args = NULL;
}

static void
dir_free(void *ctx)
{
	dir_result_free(ctx);
}

/* The filters' answer to an accepted recipient: a refusal refuses this
 * one only. */
static void
rcpt_filtered(struct smtp_session *s, void *ctx, const char *refusal)
{
	s->waiting = SMTP_WAIT_NONE;
	if (refusal == NULL && s->pending_rcpt != NULL)
		rcpt_accept(s, s->pending_rcpt, s->pending_args, ctx);
	else if (refusal != NULL)
		smtp_state_refuse(s, "RCPT", POLICY_RULE_MILTER,
		    s->pending_rcpt, refusal);
	dir_result_free(ctx);
	rcpt_done(s);
}

/* The checks have answered (maybe inside smtp_check_rcpt()). */
static void
rcpt_checked(void *arg, struct smtp_check_verdict *v)
{
	struct smtp_session *s = arg;
	char given[ADDR_TEXT_MAX];

	s->rcptchk = NULL;
	s->waiting = SMTP_WAIT_NONE;
	if (v->reply == NULL) {
		/* the content filters last, with the address as given */
		addr_format(&s->pending_args->rcpt, given, sizeof(given));
		if (smtp_milter_ask(s, SMTP_MILTER_RCPT, given, rcpt_filtered,
		    v->dir, dir_free)) {
			v->dir = NULL;	/* theirs now */
			s->waiting = SMTP_WAIT_MILTER;
			smtp_check_verdict_clear(v);
			return;
		}
		rcpt_accept(s, s->pending_rcpt, s->pending_args, v->dir);
	} else {
		smtp_state_refuse(s, "RCPT", v->rule, s->pending_rcpt,
		    v->reply);
		if (v->close) {
			smtp_state_tx_reset(s);
			smtp_state_enter(s, SMTP_S_CLOSING);
		}
	}
	smtp_check_verdict_clear(v);
	rcpt_done(s);
	smtp_state_wake(s);
}

/* The transaction's SPF check, made when a recipient first needs it;
 * NULL when the server does not check SPF, or the client authenticated
 * (its mail is the organisation's own). */
static struct smtp_spf *
rcpt_spf(struct smtp_session *s)
{
	const struct conf_authentication *au = &s->vs->auth;

	if (!au->enabled || au->spf == CONF_AUTH_OFF || s->authenticated ||
	    s->authdns.ask == NULL)
		return NULL;
	if (s->spf == NULL)
		s->spf = smtp_spf_new(&s->authdns,
		    (const struct sockaddr *)&s->peer, s->env->sender, s->helo,
		    smtp_state_server_name(s));
	return s->spf;
}

void
smtp_rcpt_command(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_check_client cl;
	struct smtp_rcpt_args a;
	enum smtp_param_status st;
	char key[ADDR_TEXT_MAX];

	st = smtp_parse_rcpt(cmd->arg, cmd->arglen, s->env->smtputf8, &a);
	if (smtp_state_param_error(s, st, a.addr_status, 0))
		return;
	smtp_milter_params(s, cmd->arg + a.params, cmd->arglen - a.params);
	if (a.rcpt.domain[0] == '\0') {
		/* <postmaster>: RFC 5321 4.5.1, the first local domain. */
		if (s->conf->nlocal_domains == 0) {
			smtp_state_refuse(s, "RCPT",
			    POLICY_RULE_UNKNOWN_USER, "postmaster",
			    policy_reply(POLICY_RULE_UNKNOWN_USER));
			return;
		}
		snprintf(a.rcpt.domain, sizeof(a.rcpt.domain), "%s",
		    s->conf->local_domains[0]);
	}
	addr_format_key(&a.rcpt, key, sizeof(key));
	smtp_state_check_client(s, &cl);
	cl.spf = rcpt_spf(s);
	cl.spf_enforce = s->vs->auth.spf == CONF_AUTH_ENFORCE;
	s->pending_rcpt = xstrdup(key);
	s->pending_args = xmalloc(sizeof(a));
	memcpy(s->pending_args, &a, sizeof(a));
	s->waiting = SMTP_WAIT_DIRECTORY;
	/* rcpt_checked() may run before this returns. */
	s->rcptchk = smtp_check_rcpt(&cl, &a.rcpt, key, s->rcpts_given,
	    &s->unknown_rcpts, rcpt_checked, s);
}
