/*
 * fuzz_dkim_msg — libFuzzer harness for the DKIM and ARC verifiers
 * (dkim_verify.c, arc.c) over whole messages: what the parsers of
 * fuzz_dkim_sig see, plus the selection of signed fields, the sorting of
 * ARC sets, the body hashes cut at odd places, and the state machines'
 * answers, on a DNS held in the harness (the test fixtures are not on
 * the fuzz build's include path).
 *
 * Input: byte 0 picks the DNS (0: the keys below by selector "rsa" or
 * "ed", NXDOMAIN otherwise; 1: every lookup fails; 2: the text after the
 * message's first NUL byte is every key record; 3: NODATA), byte 1 the
 * chunk size, the rest is the message.  The seeds are real messages
 * signed with these keys, so the fuzzer starts from passing signatures.
 * Checks: each verifier answers exactly once, at once or through its
 * callback, with bounded, terminated strings.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc.h"
#include "dkim_verify.h"
#include "msg_header.h"

#define Q_MAX	64

static const char rsa_rec[] =
    "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmLGT9g1Jf6EPLn6U/8ccQMbRLjdvsHjCLMd22Kb6PD8TCvGR/iXXZ+ZCnut4irUY+4NDLhjhMk/8jBFG9DlwuBOTATN/dV+u5sw51Cjl8LiLJTBppL3b/k5Ngcka5gnA5OJrKvyQH4Jn8BtYeBTm3mEa016aAmg5Qq15AlcVBdebEU/k6fzyXO8bp9TMOMCVIZi+qY2XJninOpa8Fewvgp8mf9/rQgbIflvtFxxuKmpgSMr7G0w0bz54hGNYmHFL1YGXpe/1MbKorgHus0DfS5nMOsLTmfW5iHeFBWRqIejdzr9OOF2LA+ktQwgnM7R9RmbHaaEaeiV2C3lqzNkESwIDAQAB";
static const char ed_rec[] =
    "v=DKIM1; k=ed25519; p=wCh2jaAj+nZaue6Fsdd+AHGkD8dNq7NPfbsak0M69+E=";

struct q {
	authdns_cb	 cb;
	void		*arg;
	char		 name[64];
	int		 cancelled;
};

struct fdns {
	struct q	 q[Q_MAX];
	size_t		 nq;
	int		 mode;
	const char	*text;
	size_t		 textlen;
};

static void *
ask(void *ctx, const char *name, int type, authdns_cb cb, void *arg)
{
	struct fdns *d = ctx;
	struct q *q;

	if (type != DNS_T_TXT || d->nq == Q_MAX)
		return NULL;
	q = &d->q[d->nq++];
	q->cb = cb;
	q->arg = arg;
	q->cancelled = 0;
	strncpy(q->name, name, sizeof(q->name) - 1);
	q->name[sizeof(q->name) - 1] = '\0';
	return q;
}

static void
cancel(void *ctx, void *h)
{
	(void)ctx;
	if (h != NULL)
		((struct q *)h)->cancelled = 1;
}

static void
run(struct fdns *d)
{
	struct dns_rrset rs;
	struct dns_rr rr;
	size_t i;

	for (i = 0; i < d->nq; i++) {
		struct q *q = &d->q[i];

		if (q->cancelled)
			continue;
		q->cancelled = 1;
		memset(&rs, 0, sizeof(rs));
		memset(&rr, 0, sizeof(rr));
		rs.type = DNS_T_TXT;
		rs.status = DNS_RR_OK;
		rs.rr = &rr;
		rs.nrr = 1;
		if (d->mode == 1) {
			rs.status = DNS_RR_TEMPFAIL;
			rs.nrr = 0;
		} else if (d->mode == 3) {
			rs.status = DNS_RR_NODATA;
			rs.nrr = 0;
		} else if (d->mode == 2) {
			rr.text = (char *)d->text;
			rr.len = d->textlen;
		} else if (strncasecmp(q->name, "rsa.", 4) == 0) {
			rr.text = (char *)rsa_rec;
			rr.len = sizeof(rsa_rec) - 1;
		} else if (strncasecmp(q->name, "ed.", 3) == 0) {
			rr.text = (char *)ed_rec;
			rr.len = sizeof(ed_rec) - 1;
		} else {
			rs.status = DNS_RR_NXDOMAIN;
			rs.nrr = 0;
		}
		q->cb(q->arg, &rs);
	}
}

static int dkim_answers, arc_answers;

static void
check_str(const char *s, size_t cap)
{
	if (strnlen(s, cap) == cap)
		abort();
}

static void
dkim_done(void *arg, const struct dkim_sig_result *r, size_t nr)
{
	size_t i;

	(void)arg;
	dkim_answers++;
	if (nr > DKIM_VERIFY_MAX)
		abort();
	for (i = 0; i < nr; i++) {
		if (r[i].result > DKIM_PERMERROR || r[i].result == DKIM_NONE)
			abort();
		check_str(r[i].domain, sizeof(r[i].domain));
		check_str(r[i].selector, sizeof(r[i].selector));
		check_str(r[i].identity, sizeof(r[i].identity));
		check_str(r[i].algorithm, sizeof(r[i].algorithm));
		check_str(r[i].b_prefix, sizeof(r[i].b_prefix));
		check_str(r[i].detail, sizeof(r[i].detail));
		if (r[i].result != DKIM_PASS && r[i].detail[0] == '\0')
			abort();
	}
}

static void
arc_done(void *arg, const struct arc_outcome *o)
{
	(void)arg;
	arc_answers++;
	if (o->result > ARC_FAIL || o->instances < 0 ||
	    o->instances > ARC_INSTANCES_MAX)
		abort();
	check_str(o->sealer, sizeof(o->sealer));
	check_str(o->detail, sizeof(o->detail));
	if (o->result == ARC_FAIL && o->detail[0] == '\0')
		abort();
	if (o->aar != NULL && strpbrk(o->aar, "\r\n") != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fdns d;
	struct authdns dns = { ask, cancel, &d };
	struct msg_header h;
	struct dkim_verify *v;
	struct arc_verify *a;
	const struct dkim_sig_result *r;
	const struct arc_outcome *o;
	const char *msg, *nul;
	size_t len, off = 0, step, nr;

	if (size < 2)
		return 0;
	memset(&d, 0, sizeof(d));
	d.mode = data[0] % 4;
	step = data[1] ? data[1] : 4096;
	msg = (const char *)data + 2;
	len = size - 2;
	if (d.mode == 2 && (nul = memchr(msg, '\0', len)) != NULL) {
		d.text = nul + 1;
		d.textlen = len - (size_t)(nul + 1 - msg);
		len = (size_t)(nul - msg);
	}
	dkim_answers = arc_answers = 0;
	v = dkim_verify_new(1800000000);
	a = arc_verify_new(1800000000);
	msg_header_init(&h);
	while (off < len) {
		size_t n = len - off < step ? len - off : step, k = 0;

		if (!h.done) {
			k = msg_header_feed(&h, msg + off, n);
			if (h.done) {
				dkim_verify_header(v, &h);
				arc_verify_header(a, &h);
			}
		}
		if (k < n && h.done) {
			dkim_verify_body(v, msg + off + k, n - k);
			arc_verify_body(a, msg + off + k, n - k);
		}
		off += n;
	}
	if (!h.done) {
		msg_header_end(&h);
		dkim_verify_header(v, &h);
		arc_verify_header(a, &h);
	}
	if (dkim_verify_end(v, &h, &dns, dkim_done, NULL, &r, &nr) == 0) {
		if (d.nq != 0)
			abort();
		dkim_done(NULL, r, nr);
	}
	if (arc_verify_end(a, &h, &dns, arc_done, NULL, &o) == 0)
		arc_done(NULL, o);
	run(&d);
	if (dkim_answers != 1 || arc_answers != 1)
		abort();
	dkim_verify_free(v);
	arc_verify_free(a);
	msg_header_free(&h);
	return 0;
}
