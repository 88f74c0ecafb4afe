/*
 * dkim_verify — the DKIM verifier (dkim_verify.h).  Each signature moves
 * from "parsed" (or decided at once: a syntax error, rsa-sha1, expired)
 * to "asking" its key to "done"; the callback runs when the last one is
 * done.  The checks of one signature are dkim_check's, shared with ARC.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "dkim_check.h"
#include "dkim_sig.h"
#include "dkim_verify.h"
#include "xmalloc.h"

struct dkim_vsig {
	struct dkim_verify	*v;
	size_t			 field;		/* in the header section */
	struct dkim_sig		 sig;
	int			 decided;	/* res.result is final */
	int			 bh;		/* body hash index */
	void			*q;		/* the key question */
};

struct dkim_vhash {
	enum dkim_canon		 canon;
	enum dkim_alg		 alg;
	long long		 limit;
	struct dkim_bodyhash	*bh;
	unsigned char		 digest[EVP_MAX_MD_SIZE];
	size_t			 dlen;
	unsigned long long	 total;
};

struct dkim_verify {
	time_t			 now;
	struct dkim_vsig	*s;		/* ns of them (at most
						   DKIM_VERIFY_MAX), made
						   when the header is seen */
	struct dkim_sig_result	*res;
	size_t			 ns;
	size_t			 ignored;
	struct dkim_vhash	 hash[DKIM_VERIFY_MAX];
	size_t			 nhash;
	const struct msg_header	*h;
	struct authdns		 dns;
	size_t			 pending;
	dkim_verify_cb		 cb;
	void			*arg;
};

static const char *const names[] = {
	[DKIM_NONE] = "none", [DKIM_PASS] = "pass", [DKIM_FAIL] = "fail",
	[DKIM_NEUTRAL] = "neutral", [DKIM_POLICY] = "policy",
	[DKIM_TEMPERROR] = "temperror", [DKIM_PERMERROR] = "permerror",
};

static const struct dkim_sig_result no_result;

const char *
dkim_result_name(enum dkim_result r)
{
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] :
	    "permerror";
}

static void
decide(struct dkim_verify *v, size_t i, enum dkim_result r,
    const char *fmt, ...)
{
	va_list ap;

	v->s[i].decided = 1;
	v->res[i].result = r;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(v->res[i].detail, sizeof(v->res[i].detail), fmt, ap);
		va_end(ap);
	}
}

struct dkim_verify *
dkim_verify_new(time_t now)
{
	struct dkim_verify *v = xcalloc(1, sizeof(*v));

	v->now = now;
	return v;
}

/* For a signature that does not parse, what can still be read of it
 * names it in the results. */
static void
salvage(const char *val, size_t len, struct dkim_sig_result *r)
{
	struct dkim_tag t[DKIM_TAGS_MAX];
	const struct dkim_tag *d, *s;
	size_t nt;

	if (dkim_sig_taglist(val, len, t, &nt, NULL, 0) == -1)
		return;
	if ((d = dkim_sig_tag(t, nt, "d")) != NULL &&
	    d->valuelen < sizeof(r->domain))
		snprintf(r->domain, sizeof(r->domain), "%.*s",
		    (int)d->valuelen, d->value);
	if ((s = dkim_sig_tag(t, nt, "s")) != NULL &&
	    s->valuelen < sizeof(r->selector))
		snprintf(r->selector, sizeof(r->selector), "%.*s",
		    (int)s->valuelen, s->value);
}

static void
copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
body_hash_for(struct dkim_verify *v, const struct dkim_sig *sig)
{
	size_t i;

	for (i = 0; i < v->nhash; i++)
		if (v->hash[i].canon == sig->bcanon &&
		    v->hash[i].alg == sig->alg &&
		    v->hash[i].limit == sig->length)
			return (int)i;
	v->hash[i].canon = sig->bcanon;
	v->hash[i].alg = sig->alg;
	v->hash[i].limit = sig->length;
	v->hash[i].bh = dkim_bodyhash_new(sig->bcanon,
	    sig->alg == DKIM_ALG_RSA_SHA1 ? EVP_sha1() : EVP_sha256(),
	    sig->length);
	v->nhash++;
	return (int)i;
}

static void
add_sig(struct dkim_verify *v, const struct msg_header *h, size_t field)
{
	size_t i = v->ns++, len;
	struct dkim_vsig *vs = &v->s[i];
	struct dkim_sig_result *r = &v->res[i];
	const char *val = msg_field_value(h, field, &len);
	char err[128];

	vs->v = v;
	vs->field = field;
	vs->bh = -1;
	r->length = -1;
	if (h->overflow) {
		salvage(val, len, r);
		decide(v, i, DKIM_PERMERROR, "header section too large");
		return;
	}
	if (dkim_sig_parse(DKIM_SIG_DKIM, val, len, &vs->sig, err,
	    sizeof(err)) == -1) {
		salvage(val, len, r);
		decide(v, i, DKIM_PERMERROR, "%s", err);
		return;
	}
	copy(r->domain, sizeof(r->domain), vs->sig.domain);
	copy(r->selector, sizeof(r->selector), vs->sig.selector);
	copy(r->identity, sizeof(r->identity), vs->sig.identity);
	copy(r->algorithm, sizeof(r->algorithm), vs->sig.algname);
	copy(r->b_prefix, sizeof(r->b_prefix), vs->sig.b_prefix);
	r->length = vs->sig.length;
	if (vs->sig.alg == DKIM_ALG_RSA_SHA1) {
		decide(v, i, DKIM_FAIL, "rsa-sha1 is not accepted (RFC 8301)");
		return;
	}
	/* RFC 6376 3.5 x=: a signature past it may be called invalid; it
	 * is (docs/authentication-dkim.md). */
	if (vs->sig.expire >= 0 && (long long)v->now > vs->sig.expire) {
		decide(v, i, DKIM_FAIL, "signature expired");
		return;
	}
	vs->bh = body_hash_for(v, &vs->sig);
}

void
dkim_verify_header(struct dkim_verify *v, const struct msg_header *h)
{
	size_t i, n = msg_header_count(h, "dkim-signature");

	if (n == 0 || v->s != NULL)
		return;
	/* Only as much as there are signatures: most messages have one
	 * or two, and every session in DATA holds a verifier. */
	if (n > DKIM_VERIFY_MAX)
		n = DKIM_VERIFY_MAX;
	v->s = xcalloc(n, sizeof(*v->s));
	v->res = xcalloc(n, sizeof(*v->res));
	for (i = 0; i < h->nf; i++) {
		if (!msg_field_is(h, i, "dkim-signature"))
			continue;
		if (v->ns == DKIM_VERIFY_MAX)
			v->ignored++;
		else
			add_sig(v, h, i);
	}
}

void
dkim_verify_body(struct dkim_verify *v, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < v->nhash; i++)
		dkim_bodyhash_update(v->hash[i].bh, p, n);
}

/* The key of signature vs came (or did not): decide it. */
static void
check(struct dkim_verify *v, size_t i, const struct dns_rrset *rs)
{
	struct dkim_vsig *vs = &v->s[i];
	struct dkim_vhash *hh = &v->hash[vs->bh];
	unsigned char hash[32];
	EVP_PKEY *key;
	char detail[160];
	enum dkim_check c;

	c = dkim_check_key(&vs->sig, rs, &key, &v->res[i].testing, detail,
	    sizeof(detail));
	if (c != DKIM_CHECK_OK) {
		decide(v, i, c == DKIM_CHECK_TEMPERROR ? DKIM_TEMPERROR :
		    c == DKIM_CHECK_FAIL ? DKIM_FAIL : DKIM_PERMERROR, "%s",
		    detail);
		return;
	}
	if (vs->sig.length >= 0 &&
	    (unsigned long long)vs->sig.length > hh->total)
		decide(v, i, DKIM_FAIL, "l= beyond the end of the body");
	else if (hh->dlen != vs->sig.bhlen ||
	    memcmp(hh->digest, vs->sig.bh, hh->dlen) != 0)
		decide(v, i, DKIM_FAIL, "body hash did not verify");
	else {
		const char *raw;
		size_t len;

		raw = msg_field_raw(v->h, vs->field, &len);
		dkim_check_header_hash(v->h, &vs->sig, raw, len, hash);
		if (dkim_check_signature(&vs->sig, key, hash, sizeof(hash)))
			decide(v, i, DKIM_PASS, NULL);
		else
			decide(v, i, DKIM_FAIL, "signature did not verify");
	}
	EVP_PKEY_free(key);
}

static void
answered(void *arg, const struct dns_rrset *rs)
{
	struct dkim_vsig *vs = arg;
	struct dkim_verify *v = vs->v;

	vs->q = NULL;
	check(v, (size_t)(vs - v->s), rs);
	if (--v->pending == 0)
		v->cb(v->arg, v->res, v->ns);	/* last: it may free v */
}

int
dkim_verify_end(struct dkim_verify *v, const struct msg_header *h,
    const struct authdns *dns, dkim_verify_cb cb, void *arg,
    const struct dkim_sig_result **res, size_t *nres)
{
	char qname[DKIM_CHECK_QNAME_MAX];
	size_t i;

	v->h = h;
	v->dns = *dns;
	v->cb = cb;
	v->arg = arg;
	for (i = 0; i < v->nhash; i++) {
		v->hash[i].dlen = dkim_bodyhash_final(v->hash[i].bh,
		    v->hash[i].digest);
		v->hash[i].total = dkim_bodyhash_length(v->hash[i].bh);
	}
	for (i = 0; i < v->ns; i++) {
		if (v->s[i].decided)
			continue;
		dkim_check_qname(&v->s[i].sig, qname);
		v->s[i].q = dns->ask(dns->ctx, qname, DNS_T_TXT, answered,
		    &v->s[i]);
		if (v->s[i].q == NULL)
			decide(v, i, DKIM_TEMPERROR, "DNS query not sent");
		else
			v->pending++;
	}
	if (v->pending > 0)
		return 1;
	/* never NULL, even with no result, so callers may copy it */
	*res = v->res != NULL ? v->res : &no_result;
	*nres = v->ns;
	return 0;
}

size_t
dkim_verify_ignored(const struct dkim_verify *v)
{
	return v->ignored;
}

void
dkim_verify_free(struct dkim_verify *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->ns; i++)
		if (v->s[i].q != NULL)
			v->dns.cancel(v->dns.ctx, v->s[i].q);
	for (i = 0; i < v->nhash; i++)
		dkim_bodyhash_free(v->hash[i].bh);
	free(v->s);
	free(v->res);
	free(v);
}
