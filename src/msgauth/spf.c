/*
 * spf — check_host() of RFC 7208 as a state machine over authdns
 * (spf.h).  One check holds a stack of frames, one per record being
 * evaluated (the sender's, then each include's; a redirect replaces its
 * frame, as its result is the result of the record that names it, 6.1),
 * and waits for one step at a time: a record, an address set, an mx's or
 * a ptr's lookup (spf_lookup.c: several questions), the %{p} value, the
 * explanation.  drive() evaluates terms until one needs DNS or the result
 * is known; every answer handler ends by resuming it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "netaddr.h"
#include "spf_lookup.h"
#include "spf_macro.h"
#include "spf_record.h"
#include "xmalloc.h"

enum wait {
	W_NONE,
	W_RECORD,	/* the TXT records of the top frame's domain */
	W_ADDR,		/* a: the target's addresses */
	W_MX,		/* mx: spf_lookup_mx */
	W_PTR,		/* ptr: spf_lookup_ptr within the target */
	W_EXISTS,	/* exists: the target's A records */
	W_P,		/* %{p}: spf_lookup_ptr */
	W_EXP,		/* exp=: the explanation's TXT record */
};

/* What waits for the %{p} value. */
enum resume {
	R_TERM,		/* the term being evaluated (or the redirect) */
	R_EXPDOMAIN,	/* the exp= domain-spec */
	R_EXPTEXT,	/* the explanation text */
};

struct spf_frame {
	char		 domain[SPF_DOMAIN_MAX + 1];
	struct spf_record *rec;		/* NULL until its TXT answer */
	size_t		 next;		/* the term being evaluated */
	int		 redirected;	/* reached by redirect=: none is
					   permerror (6.1) */
};

struct spf_check {
	struct authdns	 dns;
	spf_cb		 cb;
	void		*arg;
	struct spf_outcome out;

	int		 family;
	unsigned char	 ip[16];
	char		 local[SPF_MACRO_VALUE_MAX + 1];
	char		 sdomain[SPF_DOMAIN_MAX + 2];
	char		 helo[SPF_MACRO_VALUE_MAX + 1];
	char		 receiver[SPF_DOMAIN_MAX + 1];
	time_t		 now;

	struct spf_frame frame[SPF_DEPTH_MAX];
	int		 depth;
	enum wait	 wait;
	void		*q;		/* W_RECORD, W_ADDR, W_EXISTS, W_EXP */
	struct spf_lookup *lk;		/* W_MX, W_PTR, W_P */
	char		 asked[SPF_DOMAIN_MAX + 1];	/* q's name */
	int		 cidr;		/* a: the prefix that applies */

	int		 has_result;
	enum spf_result	 result;
	int		 exp_tried;
	char		*exp_text;
	size_t		 exp_len;

	int		 p_state;	/* 0: not asked, 1: asking, 2: known */
	enum resume	 p_resume;
	char		 pname[SPF_NAMES_MAX][SPF_DOMAIN_MAX + 1];
	int		 npname;	/* the client's validated names */
	int		 in_cb;
};

static void	drive(struct spf_check *);
static void	answer(void *, const struct dns_rrset *);
static void	lookup_done(void *, const struct spf_lookup_result *);
static void	exp_domain(struct spf_check *);
static void	exp_text(struct spf_check *);

const char *
spf_result_name(enum spf_result r)
{
	static const char *names[] = { "none", "neutral", "pass", "fail",
	    "softfail", "temperror", "permerror" };

	if ((unsigned)r >= sizeof(names) / sizeof(names[0]))
		return "permerror";
	return names[r];
}

/* Copy src into dst of size octets, cut if longer (names are checked for
 * length before they get here). */
static void
copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct spf_frame *
top(struct spf_check *c)
{
	return &c->frame[c->depth - 1];
}

static void
cancel_all(struct spf_check *c)
{
	if (c->q != NULL && c->dns.cancel != NULL)
		c->dns.cancel(c->dns.ctx, c->q);
	c->q = NULL;
	spf_lookup_cancel(c->lk);
	c->lk = NULL;
	c->wait = W_NONE;
}

static void
check_free(struct spf_check *c)
{
	int i;

	cancel_all(c);
	for (i = 0; i < c->depth; i++)
		free(c->frame[i].rec);
	free(c->exp_text);
	free(c);
}

static void
finish(struct spf_check *c)
{
	c->out.result = c->result;
	c->in_cb = 1;
	c->cb(c->arg, &c->out);
	check_free(c);
}

/* The result is known: stop whatever is pending. */
static void
set_result(struct spf_check *c, enum spf_result r, const char *fmt, ...)
{
	va_list ap;

	cancel_all(c);
	c->has_result = 1;
	c->result = r;
	va_start(ap, fmt);
	vsnprintf(c->out.detail, sizeof(c->out.detail), fmt, ap);
	va_end(ap);
}

/* Ask one question, to wait for as w.  0, or -1 when authdns could not
 * (then the wait is over). */
static int
ask(struct spf_check *c, enum wait w, const char *name, int type)
{
	copy(c->asked, sizeof(c->asked), name);
	c->wait = w;
	c->q = c->dns.ask(c->dns.ctx, name, type, answer, c);
	if (c->q == NULL) {
		c->wait = W_NONE;
		return -1;
	}
	return 0;
}

static void
ask1(struct spf_check *c, enum wait w, const char *name, int type)
{
	if (ask(c, w, name, type) == -1)
		set_result(c, SPF_TEMPERROR, "DNS query for %s failed", name);
}

/* Does the answer hold the client's address, within prefix bits? */
static int
addr_match(const struct spf_check *c, const struct dns_rrset *rs, int bits)
{
	size_t i;

	if (rs->status != DNS_RR_OK)
		return 0;
	for (i = 0; i < rs->nrr; i++)
		if (rs->rr[i].family == c->family &&
		    netaddr_prefix_match(rs->rr[i].addr, c->ip, bits))
			return 1;
	return 0;
}

static int
addr_type(const struct spf_check *c)
{
	return c->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
}

/* The %{p} value for the current domain (7.3): a validated name that is
 * the domain, else one within it, else any; NULL: "unknown". */
static const char *
p_value(const struct spf_check *c, const char *domain)
{
	const char *sub = NULL;
	int i;

	for (i = 0; i < c->npname; i++) {
		if (strcasecmp(c->pname[i], domain) == 0)
			return c->pname[i];
		if (sub == NULL && spf_lookup_within(c->pname[i], domain))
			sub = c->pname[i];
	}
	return sub != NULL ? sub : c->npname > 0 ? c->pname[0] : NULL;
}

static int
expand(struct spf_check *c, const char *s, size_t len, int flags,
    char *out, size_t outsz)
{
	struct spf_macro_ctx x;

	memset(&x, 0, sizeof(x));
	x.local = c->local;
	x.sender_domain = c->sdomain;
	x.domain = top(c)->domain;
	x.family = c->family;
	memcpy(x.addr, c->ip, sizeof(x.addr));
	x.helo = c->helo;
	x.receiver = c->receiver[0] ? c->receiver : NULL;
	x.ptr = c->p_state == 2 ? p_value(c, x.domain) : NULL;
	x.now = c->now;
	return spf_macro_expand(s, len, flags, &x, out, outsz);
}

/* A void lookup (4.6.4): 1 when it was one too many. */
static int
void_hit(struct spf_check *c)
{
	if (++c->out.voids > SPF_VOID_MAX) {
		set_result(c, SPF_PERMERROR, "more than %d void lookups",
		    SPF_VOID_MAX);
		return 1;
	}
	return 0;
}

static void	mech_done(struct spf_check *, int);

/*
 * The frame on top has its result.  The sender's record's result is the
 * check's; an include's maps into its parent as 5.2 says; an error ends
 * the whole check.
 */
static void
frame_done(struct spf_check *c, enum spf_result r, const char *detail)
{
	struct spf_frame *f = top(c);

	if (r == SPF_NONE && f->redirected) {
		set_result(c, SPF_PERMERROR, "redirect=%s: no SPF record",
		    f->domain);
		return;
	}
	if (c->depth == 1 || r == SPF_TEMPERROR || r == SPF_PERMERROR) {
		set_result(c, r, "%s", detail);
		return;
	}
	if (r == SPF_NONE) {
		set_result(c, SPF_PERMERROR, "include:%s: no SPF record",
		    f->domain);
		return;
	}
	free(f->rec);
	f->rec = NULL;
	c->depth--;
	mech_done(c, r == SPF_PASS);
}

/* The term being evaluated matched, or did not. */
static void
mech_done(struct spf_check *c, int matched)
{
	struct spf_frame *f = top(c);
	const struct spf_term *t = &f->rec->term[f->next];
	char detail[sizeof(c->out.detail)];
	enum spf_result r;

	if (!matched) {
		f->next++;
		return;
	}
	switch (t->qual) {
	case '-':
		r = SPF_FAIL;
		break;
	case '~':
		r = SPF_SOFTFAIL;
		break;
	case '?':
		r = SPF_NEUTRAL;
		break;
	default:
		r = SPF_PASS;
		break;
	}
	snprintf(detail, sizeof(detail), "%s matched %.*s", f->domain,
	    (int)t->len, f->rec->text + t->off);
	frame_done(c, r, detail);
}

/* The TXT answer for the top frame's domain: record selection (4.5). */
static void
record_answer(struct spf_check *c, const struct dns_rrset *rs)
{
	struct spf_frame *f = top(c);
	size_t i, n = 0, which = 0;

	if (rs->status == DNS_RR_TEMPFAIL) {
		set_result(c, SPF_TEMPERROR, "%s: TXT lookup failed",
		    f->domain);
		return;
	}
	if (rs->status == DNS_RR_OK)
		for (i = 0; i < rs->nrr; i++)
			if (spf_record_is_spf(rs->rr[i].text, rs->rr[i].len)) {
				n++;
				which = i;
			}
	if (n == 0) {
		char detail[sizeof(c->out.detail)];

		snprintf(detail, sizeof(detail), "%s: no SPF record",
		    f->domain);
		frame_done(c, SPF_NONE, detail);
		return;
	}
	if (n > 1) {
		set_result(c, SPF_PERMERROR, "%s: %zu SPF records",
		    f->domain, n);
		return;
	}
	f->rec = xmalloc(sizeof(*f->rec));
	f->next = 0;
	if (spf_record_parse(rs->rr[which].text, rs->rr[which].len,
	    f->rec) == -1)
		set_result(c, SPF_PERMERROR, "%s: %s", f->domain,
		    f->rec->error);
}

/*
 * Start the %{p} lookup (7.3) for what `why` names.  1: waiting for it;
 * 0: it is known now (as "unknown": no question could be asked), or the
 * check ended (over the lookup limit).
 */
static int
start_p(struct spf_check *c, enum resume why)
{
	c->p_resume = why;
	if (why == R_TERM && ++c->out.lookups > SPF_LOOKUP_MAX) {
		set_result(c, SPF_PERMERROR, "more than %d DNS lookups",
		    SPF_LOOKUP_MAX);
		return 0;
	}
	c->p_state = 1;
	c->wait = W_P;
	c->lk = spf_lookup_ptr(&c->dns, c->family, c->ip, NULL, lookup_done,
	    c);
	if (c->lk == NULL) {
		c->wait = W_NONE;
		c->p_state = 2;
		return 0;
	}
	return 1;
}

/* The %{p} names are known: resume what waited for them. */
static void
p_known(struct spf_check *c, const struct spf_lookup_result *r)
{
	int i;

	for (i = 0; i < r->nnames && i < SPF_NAMES_MAX; i++)
		memcpy(c->pname[i], r->names[i], sizeof(c->pname[i]));
	c->npname = i;
	c->wait = W_NONE;
	c->p_state = 2;
	switch (c->p_resume) {
	case R_TERM:
		drive(c);
		break;
	case R_EXPDOMAIN:
		exp_domain(c);
		break;
	case R_EXPTEXT:
		exp_text(c);
		break;
	}
}

/* A mechanism that queries DNS: count it, expand its target, ask. */
static void
dns_mech(struct spf_check *c, struct spf_frame *f, const struct spf_term *t)
{
	const char *spec = f->rec->text + t->spec_off;
	char name[SPF_DOMAIN_MAX + 1];

	if (t->spec_len > 0 && c->p_state == 0 &&
	    spf_macro_uses(spec, t->spec_len, 'p') && start_p(c, R_TERM))
		return;
	if (c->has_result)
		return;
	if (++c->out.lookups > SPF_LOOKUP_MAX) {
		set_result(c, SPF_PERMERROR, "more than %d DNS lookups",
		    SPF_LOOKUP_MAX);
		return;
	}
	if (t->spec_len == 0)
		snprintf(name, sizeof(name), "%s", f->domain);
	else if (expand(c, spec, t->spec_len, SPF_MACRO_DOMAIN, name,
	    sizeof(name)) == -1) {
		set_result(c, SPF_PERMERROR, "%s: bad domain-spec", f->domain);
		return;
	}
	if (!spf_macro_name_ok(name)) {
		/* Not a name DNS can be asked about: as if it had no
		 * records (the suite accepts fail or permerror), so that a
		 * client's odd HELO cannot turn a fail into a permerror. */
		if (t->mech == SPF_MECH_INCLUDE)
			set_result(c, SPF_PERMERROR,
			    "%s: include of a malformed name", f->domain);
		else
			mech_done(c, 0);
		return;
	}
	c->cidr = c->family == AF_INET ? t->cidr4 : t->cidr6;
	switch (t->mech) {
	case SPF_MECH_INCLUDE:
		if (c->depth == SPF_DEPTH_MAX) {
			set_result(c, SPF_PERMERROR, "includes too deep");
			return;
		}
		f = &c->frame[c->depth++];
		memset(f, 0, sizeof(*f));
		snprintf(f->domain, sizeof(f->domain), "%s", name);
		ask1(c, W_RECORD, name, DNS_T_TXT);
		break;
	case SPF_MECH_A:
		ask1(c, W_ADDR, name, addr_type(c));
		break;
	case SPF_MECH_MX:
		c->wait = W_MX;
		c->lk = spf_lookup_mx(&c->dns, name, c->family, c->ip, c->cidr,
		    lookup_done, c);
		break;
	case SPF_MECH_PTR:
		c->wait = W_PTR;
		c->lk = spf_lookup_ptr(&c->dns, c->family, c->ip, name,
		    lookup_done, c);
		break;
	case SPF_MECH_EXISTS:
		/* an A query whatever the client's family (5.7) */
		ask1(c, W_EXISTS, name, DNS_T_A);
		break;
	default:
		break;
	}
	if ((c->wait == W_MX || c->wait == W_PTR) && c->lk == NULL)
		set_result(c, SPF_TEMPERROR, "DNS query for %s failed", name);
}

/* No mechanism matched: redirect= (6.1), else neutral (4.7). */
static void
redirect(struct spf_check *c, struct spf_frame *f)
{
	const char *spec = f->rec->text + f->rec->redirect_off;
	size_t len = f->rec->redirect_len;
	char name[SPF_DOMAIN_MAX + 1];

	if (c->p_state == 0 && spf_macro_uses(spec, len, 'p') &&
	    start_p(c, R_TERM))
		return;
	if (c->has_result)
		return;
	if (++c->out.lookups > SPF_LOOKUP_MAX) {
		set_result(c, SPF_PERMERROR, "more than %d DNS lookups",
		    SPF_LOOKUP_MAX);
		return;
	}
	if (expand(c, spec, len, SPF_MACRO_DOMAIN, name, sizeof(name)) == -1 ||
	    !spf_macro_name_ok(name)) {
		set_result(c, SPF_PERMERROR, "%s: redirect to a malformed name",
		    f->domain);
		return;
	}
	free(f->rec);
	f->rec = NULL;
	f->next = 0;
	f->redirected = 1;
	snprintf(f->domain, sizeof(f->domain), "%s", name);
	ask1(c, W_RECORD, name, DNS_T_TXT);
}

/* Evaluate the top frame's next term, or its end. */
static void
eval(struct spf_check *c)
{
	struct spf_frame *f = top(c);
	const struct spf_term *t;
	char detail[sizeof(c->out.detail)];

	if (f->next >= f->rec->nterm) {
		if (f->rec->redirect_len > 0 && !f->rec->has_all) {
			redirect(c, f);
			return;
		}
		snprintf(detail, sizeof(detail), "%s: no mechanism matched",
		    f->domain);
		frame_done(c, SPF_NEUTRAL, detail);
		return;
	}
	t = &f->rec->term[f->next];
	switch (t->mech) {
	case SPF_MECH_ALL:
		mech_done(c, 1);
		break;
	case SPF_MECH_IP4:
		mech_done(c, c->family == AF_INET &&
		    netaddr_prefix_match(c->ip, t->ip, t->cidr4));
		break;
	case SPF_MECH_IP6:
		mech_done(c, c->family == AF_INET6 &&
		    netaddr_prefix_match(c->ip, t->ip, t->cidr6));
		break;
	default:
		dns_mech(c, f, t);
		break;
	}
}

/* The result is known: fetch the explanation of a fail (6.2), or end. */
static void
conclude(struct spf_check *c)
{
	if (c->result == SPF_FAIL && !c->exp_tried && c->depth == 1 &&
	    top(c)->rec != NULL && top(c)->rec->exp_len > 0) {
		c->exp_tried = 1;
		exp_domain(c);
		return;
	}
	finish(c);
}

static void
drive(struct spf_check *c)
{
	while (c->wait == W_NONE) {
		if (c->has_result) {
			conclude(c);
			return;
		}
		eval(c);
	}
}

/* Errors while fetching the explanation are ignored (6.2): the fail
 * stands without one. */
static void
exp_domain(struct spf_check *c)
{
	const struct spf_record *r = top(c)->rec;
	const char *spec = r->text + r->exp_off;
	char name[SPF_DOMAIN_MAX + 1];

	if (c->p_state == 0 && spf_macro_uses(spec, r->exp_len, 'p') &&
	    start_p(c, R_EXPDOMAIN))
		return;
	if (expand(c, spec, r->exp_len, SPF_MACRO_DOMAIN, name,
	    sizeof(name)) == -1 || !spf_macro_name_ok(name)) {
		finish(c);
		return;
	}
	if (ask(c, W_EXP, name, DNS_T_TXT) == -1)
		finish(c);
}

static void
exp_answer(struct spf_check *c, const struct dns_rrset *rs)
{
	/* exactly one record, of explain-string syntax */
	if (rs->status != DNS_RR_OK || rs->nrr != 1 ||
	    spf_macro_check(rs->rr[0].text, rs->rr[0].len,
	    SPF_MACRO_EXPLAIN) == -1) {
		finish(c);
		return;
	}
	c->exp_text = xmalloc(rs->rr[0].len + 1);
	memcpy(c->exp_text, rs->rr[0].text, rs->rr[0].len);
	c->exp_len = rs->rr[0].len;
	exp_text(c);
}

static void
exp_text(struct spf_check *c)
{
	if (c->p_state == 0 && spf_macro_uses(c->exp_text, c->exp_len, 'p') &&
	    start_p(c, R_EXPTEXT))
		return;
	if (expand(c, c->exp_text, c->exp_len, SPF_MACRO_EXPLAIN,
	    c->out.explanation, sizeof(c->out.explanation)) == -1)
		c->out.explanation[0] = '\0';
	finish(c);
}

/* An mx's, a ptr's or the %{p} lookup is over. */
static void
lookup_done(void *arg, const struct spf_lookup_result *r)
{
	struct spf_check *c = arg;
	enum wait w = c->wait;

	c->lk = NULL;
	c->wait = W_NONE;
	if (w == W_P) {
		p_known(c, r);
		return;
	}
	switch (r->status) {
	case SPF_LOOKUP_MATCH:
		mech_done(c, 1);
		break;
	case SPF_LOOKUP_NOMATCH:
		mech_done(c, 0);
		break;
	case SPF_LOOKUP_VOID:
		if (!void_hit(c))
			mech_done(c, 0);
		break;
	case SPF_LOOKUP_TEMPFAIL:
		set_result(c, SPF_TEMPERROR, "%s: DNS lookup failed",
		    r->failed);
		break;
	case SPF_LOOKUP_TOOMANY:
		set_result(c, SPF_PERMERROR, "%s: more than %d MX names",
		    top(c)->domain, SPF_NAMES_MAX);
		break;
	}
	drive(c);
}

static void
answer(void *arg, const struct dns_rrset *rs)
{
	struct spf_check *c = arg;
	enum wait w = c->wait;

	c->q = NULL;
	c->wait = W_NONE;
	switch (w) {
	case W_RECORD:
		record_answer(c, rs);
		drive(c);
		break;
	case W_ADDR:
	case W_EXISTS:
		if (rs->status == DNS_RR_TEMPFAIL)
			set_result(c, SPF_TEMPERROR, "%s: %s lookup failed",
			    c->asked, w == W_ADDR ? "address" : "A");
		else if (rs->status != DNS_RR_OK) {
			if (!void_hit(c))
				mech_done(c, 0);
		} else
			mech_done(c, w == W_EXISTS || addr_match(c, rs,
			    c->cidr));
		drive(c);
		break;
	case W_EXP:
		exp_answer(c, rs);
		break;
	default:
		break;
	}
}

/* The client's address; IPv4-mapped IPv6 as IPv4.  0 or -1. */
static int
client_addr(struct spf_check *c, const struct sockaddr *sa)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		c->family = AF_INET;
		memcpy(c->ip, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			c->family = AF_INET;
			memcpy(c->ip, a->s6_addr + 12, 4);
		} else {
			c->family = AF_INET6;
			memcpy(c->ip, a->s6_addr, 16);
		}
		return 0;
	}
	return -1;
}

struct spf_check *
spf_check_start(const struct authdns *dns, const struct spf_request *req,
    struct spf_outcome *at_once, spf_cb cb, void *arg)
{
	struct spf_check *c = xcalloc(1, sizeof(*c));
	const char *sender = req->sender ? req->sender : "";
	const char *helo = req->helo ? req->helo : "";
	const char *at, *dom;
	int helo_id = req->helo_identity || sender[0] == '\0';

	memset(at_once, 0, sizeof(*at_once));
	c->dns = *dns;
	c->cb = cb;
	c->arg = arg;
	c->now = req->now;
	snprintf(c->helo, sizeof(c->helo), "%s", helo);
	snprintf(c->receiver, sizeof(c->receiver), "%s",
	    req->receiver ? req->receiver : "");
	c->out.helo_identity = helo_id;
	if (helo_id) {
		/* <sender> = postmaster@HELO (2.3, 2.4) */
		dom = helo;
		snprintf(c->local, sizeof(c->local), "postmaster");
	} else {
		at = strrchr(sender, '@');
		dom = at != NULL ? at + 1 : sender;	/* a bare domain */
		/* no local-part: "postmaster" (4.3) */
		if (at == NULL || at == sender)
			snprintf(c->local, sizeof(c->local), "postmaster");
		else
			snprintf(c->local, sizeof(c->local), "%.*s",
			    (int)(at - sender < SPF_MACRO_VALUE_MAX ?
			    at - sender : SPF_MACRO_VALUE_MAX), sender);
	}
	/* a longer one is no domain: never cut it to fit */
	if (strlen(dom) < sizeof(c->sdomain))
		memcpy(c->sdomain, dom, strlen(dom) + 1);
	copy(c->out.domain, sizeof(c->out.domain), dom);
	if (client_addr(c, req->client) == -1) {
		*at_once = c->out;
		at_once->result = SPF_NONE;
		snprintf(at_once->detail, sizeof(at_once->detail),
		    "no client address");
		free(c);
		return NULL;
	}
	if (strlen(dom) >= sizeof(c->sdomain) ||
	    !spf_macro_domain_ok(c->sdomain)) {
		*at_once = c->out;
		at_once->result = SPF_NONE;
		snprintf(at_once->detail, sizeof(at_once->detail),
		    "%s is not a domain name", helo_id ? "HELO" : "sender");
		free(c);
		return NULL;
	}
	copy(c->out.domain, sizeof(c->out.domain), c->sdomain);
	c->depth = 1;
	copy(c->frame[0].domain, sizeof(c->frame[0].domain), c->sdomain);
	if (ask(c, W_RECORD, c->sdomain, DNS_T_TXT) == -1) {
		*at_once = c->out;
		at_once->result = SPF_TEMPERROR;
		snprintf(at_once->detail, sizeof(at_once->detail),
		    "DNS query for %.160s failed", c->sdomain);
		free(c);
		return NULL;
	}
	return c;
}

void
spf_check_cancel(struct spf_check *c)
{
	if (c == NULL || c->in_cb)
		return;
	check_free(c);
}
