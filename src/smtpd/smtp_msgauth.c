/*
 * smtp_msgauth — message authentication as a message check
 * (smtp_msgcheck.h): what a virtual server with `authentication` learns
 * of a message from the Internet, and the signature a server with
 * `dkim-sign` puts on what it accepts (docs/authentication.md).
 *
 * As the message streams, its header section is collected (msg_header.h)
 * and its body goes once through the DKIM and ARC body hashes and the
 * signer's.  At the end of the data: the transaction's SPF answer (asked
 * at the first accepted RCPT, smtp_spf.h), DKIM and ARC in parallel, then
 * DMARC over their results; then the verdict (dmarc enforce: p=reject is
 * refused, p=quarantine held under `quarantine hold`; an arc-trusted
 * sealer's passing chain overrides a fail; on-dns-failure tempfail turns
 * a temperror into 451 4.7.5) and the edits: the forged
 * Authentication-Results carrying our authserv-id are cut, and the
 * message gets its DKIM-Signature fields and our Authentication-Results
 * (smtp_msgauth_result.c writes it).  The session waits, the loop does
 * not: every lookup is asynchronous, and the signatures are made on a
 * thread of their own (dkim_signer_sign on sign_pool).
 */
#include "smtp_msgauth.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arc.h"
#include "authres_parse.h"
#include "conf.h"
#include "dkim_sign.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "header_from.h"
#include "log.h"
#include "msg_header.h"
#include "smtp_milter_view.h"
#include "smtp_msgauth_keys.h"
#include "smtp_msgauth_result.h"
#include "smtp_msgcheck.h"
#include "smtp_spf.h"
#include "smtp_state.h"
#include "workpool.h"
#include "xmalloc.h"

struct msgauth {
	const struct smtp_session	*s;
	const struct conf_authentication *au;	/* NULL: no verification */
	struct msg_header		 h;
	struct dkim_verify		*dv;
	struct arc_verify		*av;
	struct dkim_signer		*sg;
	struct smtp_msgauth_keyset	 keys;		/* sg's */
	struct msg_header		 sh;	/* resigned: the header as it
						   leaves, which sg signs */
	int				 resigned;	/* 1: sg signed the
							   message edited, -1:
							   it could not */

	/* the end of the data */
	struct smtp_msgauth_results	 r;	/* what was learnt */
	int				 pending;	/* answers awaited */
	struct dmarc_check		*dc;
	int				 spf_waiting;
	smtp_msgcheck_done_cb		 done;
	void				*arg;
	struct smtp_msgcheck_result	 res;
	char				*prepend;
	char				*authres;	/* ours, to prepend */
	int				 signing;	/* on sign_pool */
	int				 abandoned;	/* finished meanwhile */
	struct queue_cut		 cuts[QUEUE_CUTS_MAX];
	size_t				 ncuts;
	char				 reason[300];
};

/*
 * The private-key operations of signing run here when posternd made the
 * pool (smtp_msgauth_start); without it (tests, tools) on the loop.  One
 * thread: the loop has the other core of a small machine.
 */
#define SIGN_THREADS	1
static struct workpool	*sign_pool;

static void	phase_dmarc(struct msgauth *m);
static void	conclude(struct msgauth *m);

/* ---- as the message streams ---- */

static void *
ma_begin(const struct smtp_session *s)
{
	const struct conf_vserver *vs = s->vs;
	struct msgauth *m;
	/* An authenticated client's mail is the organisation's own: it is
	 * signed, never judged. */
	int verify = vs->auth.enabled && !s->authenticated &&
	    s->authdns.ask != NULL;

	if (!verify && vs->ndkim_sign == 0)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->s = s;
	msg_header_init(&m->h);
	if (verify) {
		m->au = &vs->auth;
		if (m->au->dkim != CONF_AUTH_OFF)
			m->dv = dkim_verify_new(time(NULL));
		if (m->au->arc != CONF_AUTH_OFF)
			m->av = arc_verify_new(time(NULL));
	}
	return m;
}

/* The header section is complete: the verifiers find their fields, and
 * the signer is made with the keys of the From: domain. */
static void
header_done(struct msgauth *m)
{
	char from[256];

	if (m->s->vs->ndkim_sign > 0 &&
	    header_from_get(&m->h, from, sizeof(from)) == HEADER_FROM_OK)
		m->sg = smtp_msgauth_keys_signer(m->s->vs, from, time(NULL),
		    &m->keys);
	if (m->dv)
		dkim_verify_header(m->dv, &m->h);
	if (m->av)
		arc_verify_header(m->av, &m->h);
}

static void
body(struct msgauth *m, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (m->dv)
		dkim_verify_body(m->dv, p, n);
	if (m->av)
		arc_verify_body(m->av, p, n);
	if (m->sg)
		dkim_signer_body(m->sg, p, n);
}

static void
ma_data(void *st, const char *p, size_t n)
{
	struct msgauth *m = st;
	size_t k;

	if (m == NULL)
		return;
	if (!m->h.done) {
		k = msg_header_feed(&m->h, p, n);
		if (m->h.done)
			header_done(m);
		p += k;
		n -= k;
	}
	body(m, p, n);
}

/* ---- the end of the data ---- */

static void
spf_done(void *arg, const struct spf_outcome *o)
{
	struct msgauth *m = arg;

	m->spf_waiting = 0;
	m->r.spf = *o;
	m->r.have_spf = 1;
	if (--m->pending == 0)
		phase_dmarc(m);
}

static void
keep_dkim(struct msgauth *m, const struct dkim_sig_result *r, size_t nr)
{
	if (nr > DKIM_VERIFY_MAX)
		nr = DKIM_VERIFY_MAX;
	memcpy(m->r.dkim, r, nr * sizeof(*r));
	m->r.ndkim = nr;
	m->r.have_dkim = 1;
}

static void
dkim_done(void *arg, const struct dkim_sig_result *r, size_t nr)
{
	struct msgauth *m = arg;

	keep_dkim(m, r, nr);
	if (--m->pending == 0)
		phase_dmarc(m);
}

static void
keep_arc(struct msgauth *m, const struct arc_outcome *o)
{
	m->r.arc = *o;
	m->r.arc.aar = NULL;
	m->r.arc_aar = o->aar ? xstrdup(o->aar) : NULL;
	m->r.have_arc = 1;
}

static void
arc_done(void *arg, const struct arc_outcome *o)
{
	struct msgauth *m = arg;

	keep_arc(m, o);
	if (--m->pending == 0)
		phase_dmarc(m);
}

/* SPF, DKIM and ARC, each at once or later. */
static void
phase_verify(struct msgauth *m)
{
	const struct spf_outcome *so;
	const struct dkim_sig_result *dr;
	size_t ndr;
	const struct arc_outcome *ao;

	m->pending = 1;		/* held while starting */
	if (m->s->spf != NULL) {
		if (smtp_spf_wait(m->s->spf, &so, spf_done, m) == 1) {
			m->spf_waiting = 1;
			m->pending++;
		} else {
			m->r.spf = *so;
			m->r.have_spf = 1;
		}
	}
	if (m->dv) {
		if (dkim_verify_end(m->dv, &m->h, &m->s->authdns, dkim_done, m,
		    &dr, &ndr) == 1)
			m->pending++;
		else
			keep_dkim(m, dr, ndr);
	}
	if (m->av) {
		if (arc_verify_end(m->av, &m->h, &m->s->authdns, arc_done, m,
		    &ao) == 1)
			m->pending++;
		else
			keep_arc(m, ao);
	}
	if (--m->pending == 0)
		phase_dmarc(m);
}

static void
dmarc_done(void *arg, const struct dmarc_outcome *o)
{
	struct msgauth *m = arg;

	m->dc = NULL;
	m->r.dmarc = *o;
	m->r.have_dmarc = 1;
	conclude(m);
}

static void
phase_dmarc(struct msgauth *m)
{
	const char *pass[DKIM_VERIFY_MAX];
	struct dmarc_input in;
	char from[256];
	enum header_from_status st;

	if (m->au == NULL || m->au->dmarc == CONF_AUTH_OFF) {
		conclude(m);
		return;
	}
	memset(&in, 0, sizeof(in));
	st = header_from_get(&m->h, from, sizeof(from));
	in.from_domain = st == HEADER_FROM_OK ? from : NULL;
	in.from_ambiguous = header_from_ambiguous(st);
	if (m->r.have_spf) {
		in.spf_domain = m->r.spf.domain;
		in.spf_pass = m->r.spf.result == SPF_PASS;
	}
	for (size_t i = 0; i < m->r.ndkim; i++)
		if (m->r.dkim[i].result == DKIM_PASS)
			pass[in.ndkim++] = m->r.dkim[i].domain;
	in.dkim_pass_domains = pass;
	m->dc = dmarc_check_start(&m->s->authdns, &in, dmarc_done, m,
	    &m->r.dmarc);
	if (m->dc != NULL)
		return;
	m->r.have_dmarc = 1;
	conclude(m);
}

/* The forged Authentication-Results (and ARC-Authentication-Results)
 * fields that carry our authserv-id: cut from the message as it leaves
 * (RFC 8601 5).  0, or -1 when some could stay: a header section past
 * what msg_header keeps, or more forgeries than cuts. */
static int
cut_forgeries(struct msgauth *m)
{
	const char *id = smtp_state_server_name(m->s);
	struct authres_parsed *ap = xmalloc(sizeof(*ap));
	const char *v;
	size_t len;

	if (m->h.overflow)
		return -1;
	for (size_t i = 0; i < m->h.nf; i++) {
		int arc = msg_field_is(&m->h, i, "arc-authentication-results");

		if (!arc && !msg_field_is(&m->h, i, "authentication-results"))
			continue;
		v = msg_field_value(&m->h, i, &len);
		if (arc)
			(void)authres_parse_arc(v, len, ap);
		else
			(void)authres_parse(v, len, ap);
		if (strcasecmp(ap->authserv_id, id) != 0)
			continue;
		if (m->ncuts == QUEUE_CUTS_MAX) {
			free(ap);
			return -1;
		}
		m->cuts[m->ncuts].off = m->h.f[i].stream_off;
		m->cuts[m->ncuts].len = m->h.f[i].len;
		m->cuts[m->ncuts].text = NULL;
		m->ncuts++;
		m->r.forged++;
	}
	free(ap);
	return 0;
}

/* Did a trusted sealer's passing chain say the DMARC check passed where
 * it saw the message (RFC 8617 7.2)? */
static int
arc_override(struct msgauth *m)
{
	struct authres_parsed *ap;
	const struct authres_parsed_result *d;
	int ok = 0;

	if (!m->r.have_arc || m->r.arc.result != ARC_PASS ||
	    m->r.arc_aar == NULL)
		return 0;
	for (size_t i = 0; i < m->au->narc_trusted; i++)
		if (strcasecmp(m->au->arc_trusted[i], m->r.arc.sealer) == 0)
			ok = 1;
	if (!ok)
		return 0;
	ap = xmalloc(sizeof(*ap));
	ok = authres_parse(m->r.arc_aar, strlen(m->r.arc_aar), ap) ==
	    AUTHRES_PARSE_OK &&
	    (d = authres_parsed_find(ap, "dmarc")) != NULL &&
	    strcasecmp(d->result, "pass") == 0;
	free(ap);
	return ok;
}

static int
any_temperror(const struct smtp_msgauth_results *r)
{
	if (r->have_spf && r->spf.result == SPF_TEMPERROR)
		return 1;
	for (size_t i = 0; i < r->ndkim; i++)
		if (r->dkim[i].result == DKIM_TEMPERROR)
			return 1;
	return r->have_dmarc && r->dmarc.result == DMARC_TEMPERROR;
}

/* The verdict, from the results and the server's settings. */
static void
decide(struct msgauth *m)
{
	const struct smtp_msgauth_results *r = &m->r;
	struct smtp_msgcheck_result *res = &m->res;

	res->verdict = SMTP_MSGCHECK_ACCEPT;
	if (m->au == NULL)
		return;
	if (m->au->dns_tempfail && any_temperror(r)) {
		res->verdict = SMTP_MSGCHECK_REFUSE;
		res->rule = POLICY_RULE_AUTH_DNS;
		return;
	}
	if (!r->have_dmarc || r->dmarc.result != DMARC_FAIL)
		return;
	if (arc_override(m)) {
		m->r.arc_override = 1;
		return;
	}
	if (m->au->dmarc != CONF_AUTH_ENFORCE)
		return;
	if (r->dmarc.disposition == DMARC_POLICY_REJECT) {
		res->verdict = SMTP_MSGCHECK_REFUSE;
		res->rule = POLICY_RULE_DMARC;
	} else if (r->dmarc.disposition == DMARC_POLICY_QUARANTINE &&
	    m->au->quarantine_hold) {
		res->verdict = SMTP_MSGCHECK_HOLD;
		snprintf(m->reason, sizeof(m->reason), "DMARC quarantine "
		    "policy of %s", r->dmarc.from_domain);
		res->reason = m->reason;
	}
}

static void
count(const struct msgauth *m)
{
	struct smtp_session_counters *c = m->s->counters;

	if (c == NULL)
		return;
	if (m->r.have_spf && m->r.spf.result < SMTP_AUTHRES_MAX)
		c->spf[m->r.spf.result]++;
	for (size_t i = 0; i < m->r.ndkim; i++)
		if (m->r.dkim[i].result < SMTP_AUTHRES_MAX)
			c->dkim[m->r.dkim[i].result]++;
	if (m->r.have_dkim && m->r.ndkim == 0)
		c->dkim[DKIM_NONE]++;
	if (m->r.have_dmarc && m->r.dmarc.result < SMTP_AUTHRES_MAX)
		c->dmarc[m->r.dmarc.result]++;
	if (m->r.have_arc && m->r.arc.result < SMTP_AUTHRES_MAX)
		c->arc[m->r.arc.result]++;
}

/* The signature is made (sig NULL: it failed, err says why): the
 * edits and the verdict go out. */
static void
complete(struct msgauth *m, char *sig, const char *err)
{
	struct smtp_msgcheck_result *res = &m->res;

	if (m->sg != NULL && res->verdict != SMTP_MSGCHECK_REFUSE) {
		if (sig == NULL)
			/* Signing is the organisation's promise about its
			 * mail: unsigned mail is not sent out instead. */
			log_warnx("session=%016llx DKIM signing failed: %s",
			    (unsigned long long)m->s->id, err);
		else if (m->s->counters)
			m->s->counters->dkim_signed++;
	}
	if (m->resigned == -1)
		log_warnx("session=%016llx DKIM signing failed: the message "
		    "cannot be read back", (unsigned long long)m->s->id);
	if (((m->sg != NULL && sig == NULL) || m->resigned == -1) &&
	    res->verdict != SMTP_MSGCHECK_REFUSE) {
		res->verdict = SMTP_MSGCHECK_REFUSE;
		res->rule = POLICY_RULE_CHECK_TEMPFAIL;
	}
	/* The signature on top: the message as it leaves is what it
	 * signed (Authentication-Results is not among the fields signed). */
	m->prepend = xasprintf("%s%s", sig ? sig : "",
	    m->authres ? m->authres : "");
	free(sig);
	free(m->authres);
	m->authres = NULL;
	if (res->verdict == SMTP_MSGCHECK_REFUSE)
		res->reply = policy_reply(res->rule);
	res->prepend = m->prepend[0] ? m->prepend : NULL;
	res->cuts = m->cuts;
	res->ncuts = m->ncuts;
	if (m->done != NULL)
		m->done(m->arg, res);
}

/* ---- signing the message as it leaves ---- */

static void
resign_header(struct msgauth *m)
{
	char from[256];

	if (header_from_get(&m->sh, from, sizeof(from)) == HEADER_FROM_OK)
		m->sg = smtp_msgauth_keys_signer(m->s->vs, from, time(NULL),
		    &m->keys);
}

static void
resign_feed(void *arg, const char *p, size_t n)
{
	struct msgauth *m = arg;
	size_t k;

	if (!m->sh.done) {
		k = msg_header_feed(&m->sh, p, n);
		if (m->sh.done)
			resign_header(m);
		p += k;
		n -= k;
	}
	if (n > 0 && m->sg != NULL)
		dkim_signer_body(m->sg, p, n);
}

/*
 * The checks before this one (the content filters) edited the message: the
 * signature made as it streamed would not hold for what leaves, so the
 * signer starts again over the message read back with those edits applied
 * (smtp_milter_view.h; bounded chunks, as the filters read it).
 */
static void
resign(struct msgauth *m, const struct smtp_session *s)
{
	struct smtp_msgcheck_edits ed;

	smtp_msgcheck_edits(s->msgchk, &ed);
	if (m->sg == NULL || ed.ncuts == 0)
		return;
	dkim_signer_free(m->sg);
	m->sg = NULL;
	m->resigned = 1;
	msg_header_init(&m->sh);
	if (smtp_milter_view((struct smtp_session *)s, &ed, resign_feed,
	    m) == -1) {
		m->resigned = -1;
		dkim_signer_free(m->sg);
		m->sg = NULL;
		return;
	}
	if (!m->sh.done) {
		msg_header_end(&m->sh);
		resign_header(m);
	}
}

/* On the signing thread: the private-key operations, nothing else. */
static int
sign_work(void *arg)
{
	struct msgauth *m = arg;

	return dkim_signer_sign(m->sg);
}

/* Back on the loop. */
static void
sign_done(void *arg, int rc)
{
	struct msgauth *m = arg;
	char err[256], *sig;
	size_t len;

	(void)rc;
	m->signing = 0;
	if (m->abandoned) {		/* the session went meanwhile */
		dkim_signer_free(m->sg);
		free(m);
		return;
	}
	sig = dkim_signer_finish(m->sg, &len, err, sizeof(err));
	complete(m, sig, err);
}

/* Everything is known: verdict, edits, signature. */
static void
conclude(struct msgauth *m)
{
	struct smtp_msgcheck_result *res = &m->res;
	char err[256], *sig = NULL;
	size_t len;

	memset(res, 0, sizeof(*res));
	err[0] = '\0';
	decide(m);
	if (m->au != NULL) {
		if (cut_forgeries(m) == -1 &&
		    res->verdict != SMTP_MSGCHECK_REFUSE) {
			res->verdict = SMTP_MSGCHECK_REFUSE;
			res->rule = POLICY_RULE_AUTH_HEADER;
		}
		m->authres = smtp_msgauth_result_header(m->s, &m->r);
		count(m);
		smtp_msgauth_result_log(m->s, &m->r);
	}
	if (m->sg != NULL && res->verdict != SMTP_MSGCHECK_REFUSE &&
	    dkim_signer_prepare(m->sg, m->resigned == 1 ? &m->sh : &m->h,
	    err, sizeof(err)) == 0) {
		if (sign_pool != NULL) {
			/* RSA takes a good part of a millisecond: not on
			 * the loop, which serves every other session */
			m->signing = 1;
			workpool_run(sign_pool, sign_work, sign_done, m);
			return;
		}
		(void)dkim_signer_sign(m->sg);
		sig = dkim_signer_finish(m->sg, &len, err, sizeof(err));
	}
	complete(m, sig, err);
}

void
smtp_msgauth_start(struct event_base *base)
{
	if (sign_pool == NULL)
		sign_pool = workpool_new(base, SIGN_THREADS);
}

void
smtp_msgauth_stop(void)
{
	workpool_free(sign_pool);	/* what is in flight ends first */
	sign_pool = NULL;
}

static int
ma_end(void *st, const struct smtp_session *s,
    struct smtp_msgcheck_result *res, smtp_msgcheck_done_cb done, void *arg)
{
	struct msgauth *m = st;

	if (m == NULL)
		return 0;
	if (!m->h.done) {
		msg_header_end(&m->h);
		header_done(m);
	}
	resign(m, s);
	phase_verify(m);
	if (m->pending > 0 || m->dc != NULL || m->signing) {
		m->done = done;
		m->arg = arg;
		return 1;
	}
	*res = m->res;
	return 0;
}

static void
ma_finish(void *st)
{
	struct msgauth *m = st;

	if (m == NULL)
		return;
	if (m->spf_waiting)
		smtp_spf_unwait(m->s->spf, m);
	dmarc_check_cancel(m->dc);
	dkim_verify_free(m->dv);
	arc_verify_free(m->av);
	msg_header_free(&m->h);
	if (m->resigned)
		msg_header_free(&m->sh);
	free(m->r.arc_aar);
	free(m->prepend);
	free(m->authres);
	if (m->signing) {
		/* the signing thread still uses m->sg: sign_done frees */
		m->abandoned = 1;
		return;
	}
	dkim_signer_free(m->sg);
	free(m);
}

const struct smtp_msgcheck_def smtp_msgauth_check = {
	.name = "authentication", .begin = ma_begin, .data = ma_data,
	.end = ma_end, .finish = ma_finish,
};
