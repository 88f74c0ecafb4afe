/*
 * smtp_check — the MAIL and RCPT checks in their order; see smtp_check.h.
 */
#include "smtp_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "directory.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "smtp_limits.h"
#include "smtp_spf.h"
#include "xmalloc.h"

static void
refuse(struct smtp_check_verdict *v, enum policy_rule rule, const char *reply)
{
	v->rule = rule;
	v->reply = reply ? reply : policy_reply(rule);
	v->close = rule == POLICY_RULE_MAX_UNKNOWN ||
	    rule == POLICY_RULE_RATE_LIMIT;
}

void
smtp_check_verdict_clear(struct smtp_check_verdict *v)
{
	if (v->dir != NULL)
		dir_result_free(v->dir);
	memset(v, 0, sizeof(*v));
}

/* ---- MAIL ---- */

/* rate-limit: one more MAIL from this client in the last minute?  Per
 * virtual server; an IPv6 client is its /64 (netaddr_limit_key). */
static int
rate_ok(const struct smtp_check_client *cl)
{
	char key[NETADDR_STRLEN + 256], client[NETADDR_STRLEN];

	if (cl->ratelimit == NULL || cl->vs->filter.rate_limit == 0)
		return 1;
	snprintf(key, sizeof(key), "%s %s", cl->vs->name,
	    netaddr_limit_key(cl->addr, client, sizeof(client)));
	return ratelimit_hit(cl->ratelimit, key, cl->vs->filter.rate_limit,
	    ratelimit_now());
}

/* Before the rate limit: what refuses without counting. */
static int
mail_first(const struct smtp_check_client *cl, struct smtp_check_verdict *v)
{
	const struct conf_vserver *vs = cl->vs;

	memset(v, 0, sizeof(*v));
	if (vs->tls_required && !cl->tls)
		refuse(v, POLICY_RULE_TLS_REQUIRED, NULL);
	else if (!vs->anonymous && !cl->authenticated)
		refuse(v, POLICY_RULE_AUTH_REQUIRED, NULL);
	return v->reply ? -1 : 0;
}

/* After the rate limit: the declared SIZE, the sender lists. */
static int
mail_rest(const struct smtp_check_client *cl, const struct addr *sender,
    uint64_t size, int rate_ok, struct smtp_check_verdict *v)
{
	const struct conf_vserver *vs = cl->vs;
	enum policy_rule rule;
	const char *reply;

	if (!rate_ok)
		refuse(v, POLICY_RULE_RATE_LIMIT, NULL);
	else if (size > vs->max_message_size)
		refuse(v, POLICY_RULE_SIZE, NULL);
	else if ((reply = policy_sender(vs, sender, cl->senders, &rule)))
		refuse(v, rule, reply);
	return v->reply ? -1 : 0;
}

int
smtp_check_mail(const struct smtp_check_client *cl, const struct addr *sender,
    uint64_t size, struct smtp_check_verdict *v)
{
	if (mail_first(cl, v) == -1)
		return -1;
	return mail_rest(cl, sender, size, rate_ok(cl), v);
}

struct smtp_check_mail {
	struct smtp_check_client	 cl;
	struct addr			 sender;
	uint64_t			 size;
	struct smtp_limits_req		*req;
	smtp_check_mail_cb		 cb;
	void				*arg;
};

static void
mail_finish(struct smtp_check_mail *mc, int ok)
{
	struct smtp_check_verdict v;

	memset(&v, 0, sizeof(v));
	(void)mail_rest(&mc->cl, &mc->sender, mc->size, ok, &v);
	mc->cb(mc->arg, &v);
	free(mc);
}

static void
mail_rate_done(void *arg, long long ok)
{
	struct smtp_check_mail *mc = arg;

	mc->req = NULL;
	mail_finish(mc, ok != 0);
}

struct smtp_check_mail *
smtp_check_mail_start(const struct smtp_check_client *cl,
    const struct addr *sender, uint64_t size, smtp_check_mail_cb cb,
    void *arg)
{
	struct smtp_check_verdict v;
	struct smtp_check_mail *mc;
	int ok;

	if (mail_first(cl, &v) == -1) {
		cb(arg, &v);
		return NULL;
	}
	/* The local table counts even when the store decides, so that an
	 * outage falls back to per-node limits that are already warm. */
	ok = rate_ok(cl);
	mc = xcalloc(1, sizeof(*mc));
	mc->cl = *cl;
	mc->sender = *sender;
	mc->size = size;
	mc->cb = cb;
	mc->arg = arg;
	if (cl->ratelimit != NULL && (mc->req = smtp_limits_rate(cl->limits,
	    cl->vs, cl->addr, ok, mail_rate_done, mc)) != NULL)
		return mc;
	mail_finish(mc, ok);
	return NULL;
}

void
smtp_check_mail_cancel(struct smtp_check_mail *mc)
{
	if (mc == NULL)
		return;
	smtp_limits_cancel(mc->req);
	free(mc);
}

/* ---- RCPT ---- */

static const struct smtp_check_def *extra[SMTP_CHECK_EXTRA_MAX];
static size_t nextra;

int
smtp_check_register(const struct smtp_check_def *def)
{
	if (nextra == SMTP_CHECK_EXTRA_MAX)
		return -1;
	extra[nextra++] = def;
	return 0;
}

void
smtp_check_unregister_all(void)
{
	nextra = 0;
}

struct smtp_check_rcpt {
	struct smtp_check_client	 cl;
	struct addr			 rcpt;
	char				*key;
	unsigned			*unknown;
	struct smtp_check_verdict	 v;
	struct dir_request		*dirreq;
	int				 waiting;
	int				 starting;	/* inside
							   directory_resolve */
	int				 spfwait;	/* smtp_spf_wait */
	struct smtp_limits_req		*greyreq;	/* the shared greylist */
	smtp_check_rcpt_cb		 cb;
	void				*arg;
};

static void	rcpt_extra(struct smtp_check_rcpt *rc);
static int	rcpt_grey(struct smtp_check_rcpt *rc);

/* SPF's answer under `spf enforce`. */
static void
rcpt_spf_apply(struct smtp_check_rcpt *rc, const struct spf_outcome *o)
{
	if (o->result != SPF_FAIL)
		return;
	if (rc->v.dir != NULL)
		dir_result_free(rc->v.dir);
	rc->v.dir = NULL;
	rc->v.conn = NULL;
	refuse(&rc->v, POLICY_RULE_SPF, smtp_spf_reply(rc->cl.spf));
}

static void
rcpt_spf_done(void *arg, const struct spf_outcome *o)
{
	struct smtp_check_rcpt *rc = arg;

	rc->spfwait = 0;
	rcpt_spf_apply(rc, o);
	if (!rcpt_grey(rc))
		rcpt_extra(rc);
}

/* Greylisting: for the clients that are neither authenticated, nor
 * exempt (allow-client), nor allowed to relay (the organisation's own
 * hosts), for an accepted recipient, local or relayed. */
static int
grey_applies(const struct smtp_check_rcpt *rc)
{
	struct policy_client pc = { rc->cl.addr, rc->cl.authenticated,
	    rc->cl.tls };
	const char *reply;

	return rc->v.reply == NULL && rc->cl.vs->filter.greylist_delay > 0 &&
	    !rc->cl.authenticated &&
	    policy_client(rc->cl.vs, rc->cl.addr, &reply) !=
	    POLICY_CLIENT_EXEMPT && !policy_may_relay(rc->cl.vs, &pc);
}

static void
rcpt_grey_apply(struct smtp_check_rcpt *rc, long long verdict)
{
	rc->v.greylist = (int)verdict + 1;
	if (!GREYLIST_DEFERS(verdict))
		return;
	if (rc->v.dir != NULL)
		dir_result_free(rc->v.dir);
	rc->v.dir = NULL;
	rc->v.conn = NULL;
	refuse(&rc->v, POLICY_RULE_GREYLIST, NULL);
}

static void
rcpt_grey_done(void *arg, long long verdict)
{
	struct smtp_check_rcpt *rc = arg;

	rc->greyreq = NULL;
	rcpt_grey_apply(rc, verdict);
	rcpt_extra(rc);
}

/* 1: waiting for the shared store (rc lives on); 0: answered, the
 * caller goes on. */
static int
rcpt_grey(struct smtp_check_rcpt *rc)
{
	enum greylist_verdict now;

	if (!grey_applies(rc))
		return 0;
	rc->greyreq = smtp_limits_greylist(rc->cl.limits, rc->cl.vs,
	    rc->cl.addr, rc->cl.sender, rc->key, rc->cl.peek, &now,
	    rcpt_grey_done, rc);
	if (rc->greyreq != NULL)
		return 1;
	rcpt_grey_apply(rc, now);
	return 0;
}

/* An accepted recipient starts the transaction's SPF check; under
 * enforce its reply waits for it.  1: waiting (rc lives on), 0: answered
 * (rc is gone). */
static int
rcpt_finish(struct smtp_check_rcpt *rc)
{
	const struct spf_outcome *o;

	if (rc->v.reply == NULL && rc->cl.spf != NULL) {
		if (!rc->cl.spf_enforce)
			smtp_spf_start(rc->cl.spf);
		else if (smtp_spf_wait(rc->cl.spf, &o, rcpt_spf_done,
		    rc) == 1) {
			rc->spfwait = 1;
			return 1;
		} else
			rcpt_spf_apply(rc, o);
	}
	if (rcpt_grey(rc))
		return 1;
	rcpt_extra(rc);
	return 0;
}

/* The checks after the built-in ones, then the answer. */
static void
rcpt_extra(struct smtp_check_rcpt *rc)
{
	struct smtp_check_verdict v = rc->v;

	for (size_t i = 0; v.reply == NULL && i < nextra; i++) {
		if (extra[i]->rcpt(&rc->cl, &rc->rcpt, rc->key, &v) == 0)
			continue;
		if (v.reply == NULL)
			v.reply = policy_reply(v.rule);
		if (v.dir != NULL)
			dir_result_free(v.dir);
		v.dir = NULL;
		v.conn = NULL;
	}
	rc->cb(rc->arg, &v);
	free(rc->key);
	free(rc);
}

static void
rcpt_dir_done(void *arg, struct dir_result *res)
{
	struct smtp_check_rcpt *rc = arg;

	rc->dirreq = NULL;
	rc->waiting = 0;
	switch (res->status) {
	case DIR_FOUND:
		rc->v.dir = res;
		res = NULL;
		break;
	case DIR_NOTFOUND:
		refuse(&rc->v, ++*rc->unknown >
		    rc->cl.vs->max_unknown_recipients ?
		    POLICY_RULE_MAX_UNKNOWN : POLICY_RULE_UNKNOWN_USER, NULL);
		break;
	case DIR_TOO_MANY:
		refuse(&rc->v, POLICY_RULE_EXPANSION_LIMIT, NULL);
		break;
	default:
		refuse(&rc->v, POLICY_RULE_DIRECTORY_TEMPFAIL, NULL);
		break;
	}
	if (res != NULL)
		dir_result_free(res);
	if (!rc->starting)
		(void)rcpt_finish(rc);
}

struct smtp_check_rcpt *
smtp_check_rcpt(const struct smtp_check_client *cl, const struct addr *rcpt,
    const char *key, unsigned accepted, unsigned *unknown,
    smtp_check_rcpt_cb cb, void *arg)
{
	struct policy_client pc = { cl->addr, cl->authenticated, cl->tls };
	struct policy_rcpt_result pr;
	struct smtp_check_rcpt *rc;
	struct dir_request *req;
	const char *blocked;

	rc = xcalloc(1, sizeof(*rc));
	rc->cl = *cl;
	rc->rcpt = *rcpt;
	rc->key = xstrdup(key);
	rc->unknown = unknown;
	rc->cb = cb;
	rc->arg = arg;
	if (accepted >= cl->vs->max_recipients) {
		refuse(&rc->v, POLICY_RULE_MAX_RECIPIENTS, NULL);
		goto done;
	}
	policy_rcpt(cl->conf, cl->vs, &pc, rcpt, &pr);
	if (pr.verdict == POLICY_RCPT_REFUSE) {
		refuse(&rc->v, pr.rule, pr.reply);
		goto done;
	}
	if (pr.verdict == POLICY_RCPT_RELAY) {
		rc->v.conn = pr.conn;
		goto done;
	}
	if ((blocked = policy_rcpt_blocked(cl->vs, key)) != NULL) {
		refuse(&rc->v, POLICY_RULE_BLOCK_RECIPIENT, blocked);
		goto done;
	}
	if (cl->dir == NULL) {
		refuse(&rc->v, POLICY_RULE_DIRECTORY_TEMPFAIL, NULL);
		goto done;
	}
	/* The answer may come back before directory_resolve() returns:
	 * then it is finished here, once rc is no longer in use there. */
	rc->waiting = rc->starting = 1;
	req = directory_resolve(cl->dir, key, rcpt_dir_done, rc);
	rc->starting = 0;
	if (!rc->waiting)
		goto done;
	rc->dirreq = req;
	return rc;
done:
	return rcpt_finish(rc) ? rc : NULL;
}

void
smtp_check_rcpt_cancel(struct smtp_check_rcpt *rc)
{
	if (rc == NULL)
		return;
	directory_cancel(rc->dirreq);
	if (rc->spfwait)
		smtp_spf_unwait(rc->cl.spf, rc);
	smtp_limits_cancel(rc->greyreq);
	if (rc->v.dir != NULL)
		dir_result_free(rc->v.dir);
	free(rc->key);
	free(rc);
}
