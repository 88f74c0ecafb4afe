/*
 * dmarc — the DMARC evaluator (dmarc.h).  Alignment needs no DNS, so it
 * is worked out at the start for both modes; DNS only finds the record:
 * at most two TXT questions, one after the other (RFC 7489 6.6.3).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dmarc.h"
#include "orgdomain.h"
#include "xmalloc.h"

struct dmarc_check {
	struct authdns	 dns;
	dmarc_cb	 cb;
	void		*arg;
	void		*q;		/* the pending question */
	int		 at_org;	/* asking _dmarc.ORG now */
	uint32_t	(*rnd)(void);
	/* alignment in either mode (RFC 7489 3.1.1, 3.1.2) */
	int		 spf_strict, spf_relaxed;
	int		 dkim_strict, dkim_relaxed;
	struct dmarc_outcome o;
};

const char *
dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_NONE:	return "none";
	case DMARC_PASS:	return "pass";
	case DMARC_FAIL:	return "fail";
	case DMARC_TEMPERROR:	return "temperror";
	case DMARC_PERMERROR:	return "permerror";
	}
	return "permerror";
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:		return "none";
	case DMARC_POLICY_QUARANTINE:	return "quarantine";
	case DMARC_POLICY_REJECT:	return "reject";
	}
	return "none";
}

/* A domain lowercased, its final dot dropped, into out; 0 if it is no
 * usable domain name (empty, an empty label, too long). */
static int
norm_domain(const char *d, char *out, size_t outlen)
{
	size_t n, i;

	if (d == NULL)
		return 0;
	n = strnlen(d, ORGDOMAIN_MAX + 2);
	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > ORGDOMAIN_MAX || n >= outlen)
		return 0;
	for (i = 0; i < n; i++) {
		if (d[i] == '.' && (i == 0 || d[i - 1] == '.'))
			return 0;
		out[i] = (char)tolower((unsigned char)d[i]);
	}
	out[n] = '\0';
	return 1;
}

/* Whether d is aligned with the From domain: strictly (identical) and
 * relaxed (the same organizational domain). */
static void
align(const struct dmarc_outcome *o, const char *d, int *strict,
    int *relaxed)
{
	char nd[DMARC_DOMAIN_SIZE], org[DMARC_DOMAIN_SIZE];

	if (!norm_domain(d, nd, sizeof(nd)))
		return;
	if (strcmp(nd, o->from_domain) == 0)
		*strict = *relaxed = 1;
	else if (orgdomain_get(nd, org, sizeof(org)) != NULL &&
	    strcmp(org, o->org_domain) == 0)
		*relaxed = 1;
}

static uint32_t
dmarc_random(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)random();
	return v;
}

static enum dmarc_policy
lower(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE :
	    DMARC_POLICY_NONE;
}

/* Apply the one record found at o->record_domain. */
static void
evaluate(struct dmarc_check *c, const struct dmarc_record *r)
{
	struct dmarc_outcome *o = &c->o;
	int subdomain = strcmp(o->record_domain, o->from_domain) != 0;

	/* sp: only for a From below the domain whose record it is (6.3) */
	o->policy = subdomain ? r->sp : r->p;
	o->pct = r->pct;
	o->spf_aligned = r->aspf_strict ? c->spf_strict : c->spf_relaxed;
	o->dkim_aligned = r->adkim_strict ? c->dkim_strict : c->dkim_relaxed;
	if (o->spf_aligned || o->dkim_aligned) {
		o->result = DMARC_PASS;
		o->disposition = DMARC_POLICY_NONE;
		snprintf(o->detail, sizeof(o->detail), "%s%s%s aligned",
		    o->spf_aligned ? "spf" : "",
		    o->spf_aligned && o->dkim_aligned ? " and " : "",
		    o->dkim_aligned ? "dkim" : "");
		return;
	}
	o->result = DMARC_FAIL;
	o->disposition = o->policy;
	/* pct (6.6.4): 100 always applies, 0 never, else a draw */
	if (r->pct < 100 && (r->pct == 0 ||
	    (int)(c->rnd() % 100) >= r->pct)) {
		o->sampled_out = 1;
		o->disposition = lower(o->policy);
	}
	snprintf(o->detail, sizeof(o->detail),
	    "no aligned spf or dkim pass%s%s", r->defaulted ?
	    "; invalid p or sp, p=none by rua" : "",
	    o->sampled_out ? "; sampled out by pct" : "");
}

static void
finish(struct dmarc_check *c)
{
	c->q = NULL;
	c->cb(c->arg, &c->o);
	free(c);
}

static int	ask(struct dmarc_check *c, const char *domain);

/* _dmarc.DOMAIN is a name DNS can hold (RFC 1035 2.3.4: 253 octets). */
static int
dmarc_askable(const char *domain)
{
	return strlen(domain) + sizeof("_dmarc.") - 1 <= ORGDOMAIN_MAX;
}

static void
answer(void *arg, const struct dns_rrset *rs)
{
	struct dmarc_check *c = arg;
	struct dmarc_outcome *o = &c->o;
	struct dmarc_record rec, found;
	enum dmarc_record_status st, found_st = DMARC_RECORD_NOT_DMARC;
	const char *dom = c->at_org ? o->org_domain : o->from_domain;
	size_t i, nrec = 0;

	c->q = NULL;
	if (rs->status == DNS_RR_TEMPFAIL) {
		o->result = DMARC_TEMPERROR;
		snprintf(o->detail, sizeof(o->detail),
		    "DNS failure looking up _dmarc.%.*s", 100, dom);
		finish(c);
		return;
	}
	for (i = 0; rs->status == DNS_RR_OK && i < rs->nrr; i++) {
		const struct dns_rr *rr = &rs->rr[i];

		if (rr->text == NULL)
			continue;
		st = dmarc_record_parse(rr->text, rr->len, &rec);
		if (st == DMARC_RECORD_NOT_DMARC)
			continue;	/* not counted (6.6.3 step 2) */
		if (nrec++ == 0) {
			found = rec;
			found_st = st;
		}
	}
	if (nrec == 0 && !c->at_org && dmarc_askable(o->org_domain) &&
	    strcmp(o->org_domain, o->from_domain) != 0) {
		/* 6.6.3 step 3: the organizational domain's record */
		c->at_org = 1;
		if (ask(c, o->org_domain) == 0)
			return;
		o->result = DMARC_TEMPERROR;
		snprintf(o->detail, sizeof(o->detail),
		    "DNS query for _dmarc.%.*s failed", 100, o->org_domain);
		finish(c);
		return;
	}
	if (nrec == 0) {
		o->result = DMARC_NONE;
		snprintf(o->detail, sizeof(o->detail), "no DMARC record");
	} else if (nrec > 1) {
		o->result = DMARC_NONE;
		snprintf(o->detail, sizeof(o->detail),
		    "several DMARC records at _dmarc.%.*s", 100, dom);
	} else {
		snprintf(o->record_domain, sizeof(o->record_domain), "%s",
		    dom);
		if (found_st == DMARC_RECORD_INVALID) {
			o->result = DMARC_PERMERROR;
			snprintf(o->detail, sizeof(o->detail),
			    "invalid DMARC record at _dmarc.%.*s: %.40s", 80,
			    dom, found.error);
		} else
			evaluate(c, &found);
	}
	finish(c);
}

/* Ask _dmarc.DOMAIN; -1 if the question could not be asked. */
static int
ask(struct dmarc_check *c, const char *domain)
{
	char name[8 + DMARC_DOMAIN_SIZE];

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	c->q = c->dns.ask(c->dns.ctx, name, DNS_T_TXT, answer, c);
	return c->q != NULL ? 0 : -1;
}

/* An outcome known at once. */
static struct dmarc_check *
now_outcome(struct dmarc_outcome *now, const struct dmarc_outcome *o)
{
	if (now != NULL)
		*now = *o;
	return NULL;
}

struct dmarc_check *
dmarc_check_start(const struct authdns *dns, const struct dmarc_input *in,
    dmarc_cb cb, void *arg, struct dmarc_outcome *now)
{
	struct dmarc_check *c;
	struct dmarc_outcome o;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.pct = 100;
	if (!norm_domain(in->from_domain, o.from_domain,
	    sizeof(o.from_domain)) ||
	    orgdomain_get(o.from_domain, o.org_domain,
	    sizeof(o.org_domain)) == NULL) {
		/* RFC 7489 6.6.1: no single From domain to evaluate */
		o.result = DMARC_PERMERROR;
		if (in->from_domain == NULL && in->from_ambiguous) {
			o.disposition = DMARC_POLICY_REJECT;
			snprintf(o.detail, sizeof(o.detail),
			    "several From fields or mailboxes");
		} else
			snprintf(o.detail, sizeof(o.detail), "%s",
			    in->from_domain == NULL ? "no usable From field" :
			    "From domain not a domain name");
		o.from_domain[0] = o.org_domain[0] = '\0';
		return now_outcome(now, &o);
	}

	c = xcalloc(1, sizeof(*c));
	c->dns = *dns;
	c->cb = cb;
	c->arg = arg;
	c->rnd = in->rnd != NULL ? in->rnd : dmarc_random;
	c->o = o;
	if (in->spf_pass && in->spf_domain != NULL)
		align(&c->o, in->spf_domain, &c->spf_strict, &c->spf_relaxed);
	for (i = 0; i < in->ndkim; i++)
		if (in->dkim_pass_domains[i] != NULL)
			align(&c->o, in->dkim_pass_domains[i],
			    &c->dkim_strict, &c->dkim_relaxed);
	/* without a record, the default (relaxed) modes are reported */
	c->o.spf_aligned = c->spf_relaxed;
	c->o.dkim_aligned = c->dkim_relaxed;
	if (!dmarc_askable(c->o.from_domain)) {
		/* no record can exist there: straight to the org domain */
		c->at_org = 1;
		if (strcmp(c->o.org_domain, c->o.from_domain) == 0 ||
		    !dmarc_askable(c->o.org_domain)) {
			o = c->o;
			free(c);
			snprintf(o.detail, sizeof(o.detail),
			    "no DMARC record (name too long)");
			return now_outcome(now, &o);
		}
	}
	if (ask(c, c->at_org ? c->o.org_domain : c->o.from_domain) == -1) {
		int at_org = c->at_org;

		o = c->o;
		free(c);
		o.result = DMARC_TEMPERROR;
		snprintf(o.detail, sizeof(o.detail),
		    "DNS query for _dmarc.%.*s failed", 100,
		    at_org ? o.org_domain : o.from_domain);
		return now_outcome(now, &o);
	}
	return c;
}

void
dmarc_check_cancel(struct dmarc_check *c)
{
	if (c == NULL)
		return;
	if (c->q != NULL && c->dns.cancel != NULL)
		c->dns.cancel(c->dns.ctx, c->q);
	free(c);
}
