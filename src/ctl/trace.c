/*
 * trace — the dry run; see trace.h.
 *
 * The checks stand in the order smtp_greet.c, smtp_session.c (MAIL) and
 * smtp_rcpt.c apply them, with the same policy and router calls; the reply
 * texts of the steps that are not policy decisions (syntax, directory
 * answers, limits) are those of the live session, and
 * tests/integration/test_ctl.py holds the two to the same answers.
 * A refusal at connect or at MAIL is every recipient's answer: a live
 * client would never get as far as RCPT.
 */
#include "trace.h"
#include "addr.h"
#include "authdns_resolver.h"
#include "conf.h"
#include "directory.h"
#include "dnsbl.h"
#include "netaddr.h"
#include "policy.h"
#include "postern_limits.h"
#include "resolver.h"
#include "router.h"
#include "senderlist.h"
#include "greylist.h"
#include "smtp_check.h"
#include "smtp_spf.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

struct trace {
	struct conf			*conf;
	const struct conf_vserver	*vs;
	struct directory		*dir;
	struct senderlist		*senders;
	struct smtp_limits		*limits;
	struct sockaddr_storage		 peer;
	unsigned			 flags;
	char				**rcpts;
	size_t				 nrcpts;
	struct trace_result		*res;
	size_t				 next;		/* recipient to check */
	unsigned			 accepted;	/* RCPTs accepted */
	unsigned			 unknown;	/* 550 5.1.1 given */
	const char			*refuse;	/* connect or MAIL */
	const char			*refuse_rule;
	char				 refuse_buf[SMTP_REPLY_MAX];
	const char			*sender;	/* for check_mail */
	char				*sender_copy;
	struct dnsbl_check		*dnsbl;
	char				*note;		/* for every result */
	struct smtp_check_rcpt		*rcptchk;
	struct smtp_spf			*spf;		/* or NULL */
	int				 spf_waiting;
	int				 spf_skipped;	/* no DNS */
	char				 domain[ADDR_DOMAIN_MAX + 1];
	int				 waiting;
	int				 in_step;
	trace_cb			 cb;
	void				*arg;
};

static int	step(struct trace *);
static void	dnsbl_done(void *, const struct dnsbl_result *);

/* ---- routes: the router's answers, as trace reports them ---- */

static void
route_connector(struct trace_result *r, const struct conf *c,
    const struct conf_connector *cn, const char *domain)
{
	r->route = "connector";
	r->connector = xstrdup(cn->name);
	if (cn->route == ROUTE_DNS) {
		r->next_hop = xasprintf("MX %s", domain);
		r->dns = xstrdup(router_connector_dns(c, cn)->name);
	} else {
		/* Smart host names use the top-level list (postern.conf(5)). */
		r->next_hop = xstrdup(cn->smarthosts[0]);
		r->dns = xstrdup(c->dnslists[0]->name);
	}
}

/* Where one final recipient goes: its mailbox server, or the connectors
 * for a list member outside the local domains.  -1: no route. */
static int
route_target(struct trace_result *r, const struct conf *c, const char *addr,
    const char *host)
{
	const struct conf_connector *best[1];
	const char *at = strrchr(addr, '@');
	const char *domain = at ? at + 1 : "";

	if (host != NULL) {
		r->route = "mailbox";
		r->next_hop = xstrdup(host);
		/* The Maildir store needs no name; mailbox servers are
		 * looked up with the internal list. */
		r->dns = strcmp(host, "local") == 0 ? NULL :
		    xstrdup(c->dnslists[0]->name);
		return 0;
	}
	if (router_connectors(c, domain, best, 1) == 0)
		return -1;
	route_connector(r, c, best[0], domain);
	return 0;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A list: a field stays only while every member agrees on it. */
static void
keep_same(char **field, const char *other)
{
	if (!same(*field, other)) {
		free(*field);
		*field = NULL;
	}
}

static void
result_clear_route(struct trace_result *r)
{
	free(r->connector);
	free(r->next_hop);
	free(r->dns);
	r->route = NULL;
	r->connector = r->next_hop = r->dns = NULL;
}

/*
 * A directory answer: one target is routed like a mailbox; a list is
 * described target by target in the note, and each route field stays set
 * only where every member agrees on it.
 */
static void
route_found(struct trace *t, struct trace_result *r,
    const struct dir_result *res)
{
	struct trace_result one;
	size_t len = 0, cap = 0;
	char *note = NULL;

	for (size_t i = 0; i < res->ntargets; i++) {
		const struct dir_target *tg = &res->targets[i];
		char line[1024];
		int n;

		memset(&one, 0, sizeof(one));
		if (route_target(&one, t->conf, tg->addr, tg->host) == -1)
			snprintf(line, sizeof(line), "%s%s: no route",
			    i ? "; " : "", tg->addr);
		else
			snprintf(line, sizeof(line), "%s%s: %s %s%s%s",
			    i ? "; " : "", tg->addr, one.route,
			    one.next_hop, one.dns ? " dns " : "",
			    one.dns ? one.dns : "");
		if (i == 0) {
			*r = (struct trace_result){ .recipient = r->recipient,
			    .accepted = r->accepted, .reply = r->reply,
			    .rule = r->rule, .route = one.route,
			    .connector = one.connector,
			    .next_hop = one.next_hop, .dns = one.dns };
		} else {
			if (!same(r->route, one.route))
				r->route = NULL;
			keep_same(&r->connector, one.connector);
			keep_same(&r->next_hop, one.next_hop);
			keep_same(&r->dns, one.dns);
			result_clear_route(&one);
		}
		n = (int)strlen(line);
		if (len + (size_t)n + 1 > cap) {
			cap = (len + (size_t)n + 1) * 2;
			note = xreallocarray(note, cap, 1);
		}
		memcpy(note + len, line, (size_t)n + 1);
		len += (size_t)n;
	}
	if (res->ntargets > 1 || (res->ntargets == 1 &&
	    strcmp(res->targets[0].addr, r->recipient) != 0)) {
		r->note = xasprintf("list of %zu: %s", res->ntargets, note);
	}
	free(note);
}

/* ---- the checks ---- */

static void
refuse(struct trace_result *r, const char *reply, enum policy_rule rule)
{
	r->accepted = 0;
	r->reply = xstrdup(reply ? reply : policy_reply(rule));
	r->rule = policy_rule_name(rule);
}

static void
trace_client(const struct trace *t, struct smtp_check_client *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->conf = t->conf;
	cl->vs = t->vs;
	cl->addr = (const struct sockaddr *)&t->peer;
	cl->tls = (t->flags & TRACE_F_TLS) != 0;
	cl->authenticated = (t->flags & TRACE_F_AUTH) != 0;
	cl->senders = t->senders;
	cl->ratelimit = NULL;	/* per-client state is not modelled */
	cl->dir = t->dir;
	/* The greylist is looked at, never written. */
	cl->sender = strcmp(t->sender, "<>") == 0 ? "" : t->sender;
	cl->limits = t->limits;
	cl->peek = 1;
}

/* What greylisting made of the recipient (the table is only looked at). */
static void
note_greylist(struct trace_result *r, int verdict)
{
	static const char *why[] = {
		[GREYLIST_NEW] = "greylist: triplet not seen: deferred",
		[GREYLIST_EARLY] = "greylist: triplet first seen less than "
		    "DELAY ago: deferred",
		[GREYLIST_PASS] = "greylist: triplet first seen DELAY ago: "
		    "passes",
		[GREYLIST_KNOWN] = "greylist: triplet passed before, or client "
		    "auto-allowed: passes",
	};
	char *note;

	if (verdict < 0 || verdict > GREYLIST_KNOWN)
		return;
	note = r->note ? xasprintf("%s; %s", r->note, why[verdict]) :
	    xstrdup(why[verdict]);
	free(r->note);
	r->note = note;
}

/* The checks' verdict on the recipient t->next (maybe inside
 * smtp_check_rcpt()). */
static void
rcpt_checked(void *arg, struct smtp_check_verdict *v)
{
	struct trace *t = arg;
	struct trace_result *r = &t->res[t->next];

	t->rcptchk = NULL;
	t->waiting = 0;
	if (v->reply != NULL)
		refuse(r, v->reply, v->rule);
	else {
		r->accepted = 1;
		r->reply = xstrdup("250 2.1.5 Ok");
		t->accepted++;
		if (v->dir != NULL)
			route_found(t, r, v->dir);
		else
			route_connector(r, t->conf, v->conn, t->domain);
	}
	if (v->greylist)
		note_greylist(r, v->greylist - 1);
	smtp_check_verdict_clear(v);
	t->next++;
	if (!t->in_step)
		(void)step(t);
}

/*
 * One recipient: 0 when answered (the caller moves on), 1 when waiting
 * for the checks, 2 when they answered at once (rcpt_checked has moved
 * on).
 */
static int
check_rcpt(struct trace *t, struct trace_result *r)
{
	struct smtp_check_client cl;
	struct addr a;
	char key[ADDR_TEXT_MAX];
	const char *text = r->recipient;

	if (t->refuse) {
		r->accepted = 0;
		r->reply = xstrdup(t->refuse);
		r->rule = t->refuse_rule;
		return 0;
	}
	if (strcasecmp(text, "postmaster") == 0) {
		/* <postmaster>: RFC 5321 4.5.1, the first local domain. */
		if (t->conf->nlocal_domains == 0) {
			refuse(r, NULL, POLICY_RULE_UNKNOWN_USER);
			return 0;
		}
		memset(&a, 0, sizeof(a));
		snprintf(a.local, sizeof(a.local), "postmaster");
		snprintf(a.domain, sizeof(a.domain), "%s",
		    t->conf->local_domains[0]);
	} else if (addr_parse_mailbox(text, strlen(text), ADDR_F_UTF8, &a) !=
	    ADDR_OK) {
		r->accepted = 0;
		r->reply = xstrdup("501 5.1.3 Bad recipient address syntax");
		return 0;
	}
	addr_format_key(&a, key, sizeof(key));
	snprintf(t->domain, sizeof(t->domain), "%s", a.domain);
	trace_client(t, &cl);
	cl.spf = t->spf;
	cl.spf_enforce = t->vs->auth.spf == CONF_AUTH_ENFORCE;
	t->waiting = 1;
	t->rcptchk = smtp_check_rcpt(&cl, &a, key, t->accepted, &t->unknown,
	    rcpt_checked, t);
	return t->waiting ? 1 : 2;
}

static void
trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->nrcpts; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	free(t->note);
	free(t->sender_copy);
	smtp_spf_free(t->spf);
	conf_unref(t->conf);
	if (t->dir)
		directory_unref(t->dir);
	senderlist_unref(t->senders);
	free(t);
}

/* Add to the note every result carries (note is taken). */
static void
add_note(struct trace *t, char *note)
{
	if (t->note != NULL) {
		char *both = xasprintf("%s; %s", t->note, note);

		free(note);
		note = both;
	}
	free(t->note);
	t->note = note;
}

/* What SPF answered. */
static void
note_spf(struct trace *t, const struct spf_outcome *o)
{
	add_note(t, xasprintf("SPF %s for %s%s%s%s",
	    spf_result_name(o->result), o->domain[0] ? o->domain :
	    "(no domain)", o->detail[0] ? " (" : "", o->detail,
	    o->detail[0] ? ")" : ""));
}

static void	finish_now(struct trace *t);

static void
spf_answered(void *arg, const struct spf_outcome *o)
{
	struct trace *t = arg;

	t->spf_waiting = 0;
	note_spf(t, o);
	finish_now(t);
}

/* Every recipient is answered: SPF's answer for the note, then the
 * results.  1 when finished (t is gone), 0 when waiting for SPF. */
static int
finish(struct trace *t)
{
	const struct spf_outcome *o;

	if (t->spf_skipped)
		add_note(t, xstrdup("SPF not asked"));
	if (t->spf != NULL) {
		if (smtp_spf_wait(t->spf, &o, spf_answered, t) == 1) {
			t->spf_waiting = 1;
			return 0;
		}
		note_spf(t, o);
	}
	finish_now(t);
	return 1;
}

static void
finish_now(struct trace *t)
{
	struct trace_result *res = t->res;
	size_t n = t->nrcpts;

	for (size_t i = 0; t->note && i < n; i++) {
		char *note = res[i].note;

		res[i].note = note ? xasprintf("%s; %s", t->note, note) :
		    xstrdup(t->note);
		free(note);
	}
	t->res = NULL;
	t->cb(t->arg, res, n, NULL);
	trace_free(t);
}

/* Check the recipients left; 1 when finished (t is gone), 0 when
 * waiting for the directory (dir_done goes on). */
static int
step(struct trace *t)
{
	t->in_step = 1;
	while (t->next < t->nrcpts) {
		switch (check_rcpt(t, &t->res[t->next])) {
		case 0:
			t->next++;
			break;
		case 1:
			t->in_step = 0;
			return 0;
		default:
			break;
		}
	}
	t->in_step = 0;
	return finish(t);
}

/*
 * Connect: a blocked client, or one a DNSBL lists, is refused for every
 * recipient.  1 when the DNSBL must be asked first (dnsbl_done goes on).
 */
static int
check_connect(struct trace *t, struct resolver_set *rs)
{
	const struct conf_vserver *vs = t->vs;
	const struct conf_filter *f = &vs->filter;
	const char *reply;

	switch (policy_client(vs, (struct sockaddr *)&t->peer, &reply)) {
	case POLICY_CLIENT_BLOCKED:
		t->refuse = reply;
		t->refuse_rule = policy_rule_name(POLICY_RULE_BLOCK_CLIENT);
		return 0;
	case POLICY_CLIENT_OK:
		break;
	default:
		return 0;	/* allow-client: no DNSBL */
	}
	if (f->ndnsbl == 0)
		return 0;
	if (rs == NULL || (t->flags & TRACE_F_NO_DNS)) {
		t->note = xasprintf("DNSBL not asked (%zu zone%s, first %s): "
		    "a listed client gets 554 5.7.1 at connect", f->ndnsbl,
		    f->ndnsbl > 1 ? "s" : "", f->dnsbl[0]);
		return 0;
	}
	t->dnsbl = dnsbl_check_start(resolver_get(rs, vs->dns),
	    (const struct sockaddr *)&t->peer, f->dnsbl, f->ndnsbl, dnsbl_done,
	    t);
	if (t->dnsbl == NULL)
		t->note = xasprintf("DNSBL not asked: no question could be "
		    "made for this client");
	return t->dnsbl != NULL;
}

/* MAIL: the session's checks (smtp_check_mail); a refusal here answers
 * for every recipient. */
static void
check_mail(struct trace *t)
{
	struct smtp_check_client cl;
	struct smtp_check_verdict v;
	const char *sender = t->sender;
	struct addr a;

	if (t->refuse != NULL)
		return;
	memset(&a, 0, sizeof(a));
	if (sender[0] == '\0' || strcmp(sender, "<>") == 0)
		a.null = 1;
	else if (addr_parse_mailbox(sender, strlen(sender), ADDR_F_UTF8, &a) !=
	    ADDR_OK) {
		t->refuse = "501 5.1.7 Bad sender address syntax";
		t->refuse_rule = NULL;
		return;
	}
	trace_client(t, &cl);
	if (smtp_check_mail(&cl, &a, 0, &v) == -1) {
		t->refuse = v.reply;
		t->refuse_rule = policy_rule_name(v.rule);
	}
}

/* The DNSBL answered: the same decision as smtp_greet.c's, the same
 * reply (policy_dnsbl_reply); a lookup that failed lets the client in,
 * as in a session, and the note says so. */
static void
dnsbl_done(void *arg, const struct dnsbl_result *res)
{
	struct trace *t = arg;
	const struct dnsbl_answer *a;
	char ip[NETADDR_STRLEN];
	size_t nfailed = 0;

	t->dnsbl = NULL;
	netaddr_ntop((struct sockaddr *)&t->peer, ip, sizeof(ip));
	for (size_t i = 0; i < res->nanswers; i++)
		if (res->answers[i].status == DNSBL_FAILED)
			nfailed++;
	if (res->listed >= 0) {
		a = &res->answers[res->listed];
		policy_dnsbl_reply(t->refuse_buf, sizeof(t->refuse_buf), ip,
		    a->zone);
		t->refuse = t->refuse_buf;
		t->refuse_rule = policy_rule_name(POLICY_RULE_DNSBL);
		t->note = xasprintf("DNSBL %s lists the client (%s)", a->zone,
		    a->detail);
	} else if (nfailed > 0)
		t->note = xasprintf("DNSBL: %zu of %zu lookups failed; the "
		    "client is let in, as a session would be", nfailed,
		    res->nanswers);
	else
		t->note = xasprintf("DNSBL: not listed in %zu zone%s",
		    res->nanswers, res->nanswers > 1 ? "s" : "");
	check_mail(t);
	step(t);
}

/* SPF as the server would ask it (authentication { spf }), for the
 * client and the sender; not for an authenticated client, nor without
 * DNS.  A trace has no HELO: the null sender's check says none. */
static void
trace_spf(struct trace *t, struct resolver_set *rs)
{
	const struct conf_vserver *vs = t->vs;
	const char *sender = t->sender;
	struct authdns dns;

	if (!vs->auth.enabled || vs->auth.spf == CONF_AUTH_OFF ||
	    (t->flags & TRACE_F_AUTH))
		return;
	if (rs == NULL || (t->flags & TRACE_F_NO_DNS)) {
		t->spf_skipped = 1;
		return;
	}
	if (strcmp(sender, "<>") == 0)
		sender = "";
	dns = authdns_resolver(resolver_get(rs, vs->auth.dns ? vs->auth.dns :
	    vs->dns));
	t->spf = smtp_spf_new(&dns, (const struct sockaddr *)&t->peer, sender,
	    "", vs->hostname ? vs->hostname : t->conf->hostname);
}

struct trace *
trace_start(const struct trace_request *rq, trace_cb cb, void *arg)
{
	const struct conf_vserver *vs;
	struct sockaddr_storage ss;
	struct trace *t;
	char err[256];

	if ((vs = conf_vserver_find(rq->conf, rq->vserver)) == NULL) {
		snprintf(err, sizeof(err), "no virtual server \"%.100s\"",
		    rq->vserver);
		cb(arg, NULL, 0, err);
		return NULL;
	}
	if (netaddr_parse_ip(rq->client, &ss) == -1) {
		snprintf(err, sizeof(err), "bad client address \"%.100s\" "
		    "(numeric IPv4 or IPv6)", rq->client);
		cb(arg, NULL, 0, err);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->conf = conf_ref(rq->conf);
	t->vs = vs;
	t->dir = rq->dir ? directory_ref(rq->dir) : NULL;
	t->senders = rq->senders ? senderlist_ref(rq->senders) : NULL;
	t->peer = ss;
	t->flags = rq->flags;
	t->cb = cb;
	t->arg = arg;
	t->nrcpts = rq->nrcpts;
	t->rcpts = xcalloc(rq->nrcpts ? rq->nrcpts : 1, sizeof(*t->rcpts));
	t->res = xcalloc(rq->nrcpts ? rq->nrcpts : 1, sizeof(*t->res));
	for (size_t i = 0; i < rq->nrcpts; i++) {
		t->rcpts[i] = xstrdup(rq->rcpts[i]);
		t->res[i].recipient = xstrdup(rq->rcpts[i]);
	}
	t->sender = t->sender_copy = xstrdup(rq->sender);
	t->limits = rq->limits;
	trace_spf(t, rq->rs);
	if (check_connect(t, rq->rs))
		return t;	/* dnsbl_done goes on */
	check_mail(t);
	return step(t) ? NULL : t;
}

void
trace_cancel(struct trace *t)
{
	if (t == NULL)
		return;
	smtp_check_rcpt_cancel(t->rcptchk);
	dnsbl_check_cancel(t->dnsbl);
	if (t->spf_waiting)
		smtp_spf_unwait(t->spf, t);
	trace_results_free(t->res, t->nrcpts);
	trace_free(t);
}

void
trace_results_free(struct trace_result *res, size_t n)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		trace_result_clear(&res[i]);
	free(res);
}

void
trace_result_clear(struct trace_result *r)
{
	free(r->recipient);
	free(r->reply);
	free(r->connector);
	free(r->next_hop);
	free(r->dns);
	free(r->note);
}
