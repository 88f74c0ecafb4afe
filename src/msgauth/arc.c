/*
 * arc — the ARC chain verifier (arc.h).  At the end of the header
 * section the ARC fields are sorted into sets by instance and the
 * structure is checked, which decides most broken chains at once; the
 * newest AMS gets a body hash; at the end, the keys of the newest AMS and
 * of every seal are asked at once, and each answer is checked as it
 * comes.  The first failure ends the chain: the other questions are
 * cancelled and the callback runs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "authres_parse.h"
#include "dkim_canon.h"
#include "dkim_check.h"
#include "dkim_sig.h"
#include "xmalloc.h"

enum { F_AAR, F_AMS, F_AS, F_KINDS };

static const char *const fieldname[F_KINDS] = {
	"arc-authentication-results", "arc-message-signature", "arc-seal",
};

struct arc_q {
	struct arc_verify	*a;
	int			 inst;		/* 0: the newest AMS; i: seal i */
	void			*h;		/* the pending question */
};

struct arc_verify {
	time_t			 now;
	struct arc_outcome	 out;
	int			 decided;
	int			 n;
	size_t			 f[ARC_INSTANCES_MAX + 1][F_KINDS];
	struct dkim_sig		*seal;		/* [1..n] */
	struct dkim_sig		 ams;		/* the newest */
	struct dkim_bodyhash	*bh;
	unsigned char		 bhd[EVP_MAX_MD_SIZE];
	size_t			 bhlen;
	unsigned long long	 bodylen;
	struct arc_q		 q[ARC_INSTANCES_MAX + 1];
	size_t			 pending;
	const struct msg_header	*h;
	struct authdns		 dns;
	arc_verify_cb		 cb;
	void			*arg;
};

const char *
arc_result_name(enum arc_result r)
{
	return r == ARC_PASS ? "pass" : r == ARC_FAIL ? "fail" : "none";
}

static void
fail(struct arc_verify *a, const char *fmt, ...)
{
	va_list ap;

	if (a->decided)
		return;
	a->decided = 1;
	a->out.result = ARC_FAIL;
	va_start(ap, fmt);
	vsnprintf(a->out.detail, sizeof(a->out.detail), fmt, ap);
	va_end(ap);
}

struct arc_verify *
arc_verify_new(time_t now)
{
	struct arc_verify *a = xcalloc(1, sizeof(*a));

	a->now = now;
	return a;
}

/* The instance of an AMS or seal: its i= tag; 0 if none or malformed. */
static int
sig_instance(const char *v, size_t len)
{
	struct dkim_tag t[DKIM_TAGS_MAX];
	const struct dkim_tag *i;
	size_t nt, k;
	int n = 0;

	if (dkim_sig_taglist(v, len, t, &nt, NULL, 0) == -1 ||
	    (i = dkim_sig_tag(t, nt, "i")) == NULL || i->valuelen == 0 ||
	    i->valuelen > 3)
		return 0;
	for (k = 0; k < i->valuelen; k++) {
		if (i->value[k] < '0' || i->value[k] > '9')
			return 0;
		n = n * 10 + (i->value[k] - '0');
	}
	return n;
}

/* Sort the ARC fields into sets; 0, or -1 (decided: fail). */
static int
collect(struct arc_verify *a, const struct msg_header *h, int *any)
{
	size_t i, len;
	int kind, inst;

	for (i = 0; i < h->nf; i++) {
		const char *v;

		for (kind = 0; kind < F_KINDS; kind++)
			if (msg_field_is(h, i, fieldname[kind]))
				break;
		if (kind == F_KINDS)
			continue;
		*any = 1;
		v = msg_field_value(h, i, &len);
		if (kind == F_AAR) {
			size_t rest;

			inst = (int)authres_arc_instance(v, len, &rest);
		} else
			inst = sig_instance(v, len);
		if (inst < 1 || inst > ARC_INSTANCES_MAX) {
			fail(a, "%s with a bad instance", fieldname[kind]);
			return -1;
		}
		if (a->f[inst][kind] != 0) {
			fail(a, "two %s with i=%d", fieldname[kind], inst);
			return -1;
		}
		a->f[inst][kind] = i + 1;	/* 0: none */
		if (inst > a->n)
			a->n = inst;
	}
	return 0;
}

static void
set_aar(struct arc_verify *a, const struct msg_header *h)
{
	size_t len, rest = 0, n, f = a->f[a->n][F_AAR];
	const char *v;

	if (f == 0)
		return;
	v = msg_field_value(h, f - 1, &len);
	if (authres_arc_instance(v, len, &rest) == 0)
		return;
	while (rest < len && (v[rest] == ' ' || v[rest] == '\t'))
		rest++;
	/* unfolded: one line for a comment or a log */
	a->out.aar = xmalloc(len - rest + 1);
	for (n = 0; rest < len; rest++)
		if (v[rest] != '\r' && v[rest] != '\n')
			a->out.aar[n++] = v[rest];
	a->out.aar[n] = '\0';
}

void
arc_verify_header(struct arc_verify *a, const struct msg_header *h)
{
	char err[128];
	size_t len;
	const char *v;
	int i, k, any = 0;

	if (collect(a, h, &any) == -1)
		return;
	if (!any) {
		a->decided = 1;
		a->out.result = ARC_NONE;
		return;
	}
	a->out.instances = a->n;
	set_aar(a, h);
	if (h->overflow) {
		fail(a, "header section too large");
		return;
	}
	/* RFC 8617 5.2 step 2: every set complete, 1..N. */
	for (i = 1; i <= a->n; i++)
		for (k = 0; k < F_KINDS; k++)
			if (a->f[i][k] == 0) {
				fail(a, "no %s with i=%d", fieldname[k], i);
				return;
			}
	a->seal = xcalloc((size_t)a->n + 1, sizeof(*a->seal));
	for (i = a->n; i >= 1; i--) {
		struct dkim_sig *s = &a->seal[i];

		v = msg_field_value(h, a->f[i][F_AS] - 1, &len);
		if (dkim_sig_parse(DKIM_SIG_AS, v, len, s, err,
		    sizeof(err)) == -1) {
			fail(a, "ARC-Seal i=%d: %s", i, err);
			return;
		}
		if (i == a->n)
			memcpy(a->out.sealer, s->domain, sizeof(a->out.sealer));
		/* step 3: cv= */
		if (s->cv == DKIM_CV_FAIL) {
			fail(a, "ARC-Seal i=%d says cv=fail", i);
			return;
		}
		if ((i == 1) != (s->cv == DKIM_CV_NONE)) {
			fail(a, "ARC-Seal i=%d with cv=%s", i,
			    s->cv == DKIM_CV_NONE ? "none" : "pass");
			return;
		}
		if (s->alg == DKIM_ALG_RSA_SHA1) {
			fail(a, "ARC-Seal i=%d uses rsa-sha1", i);
			return;
		}
	}
	v = msg_field_value(h, a->f[a->n][F_AMS] - 1, &len);
	if (dkim_sig_parse(DKIM_SIG_AMS, v, len, &a->ams, err,
	    sizeof(err)) == -1) {
		fail(a, "ARC-Message-Signature i=%d: %s", a->n, err);
		return;
	}
	if (a->ams.alg == DKIM_ALG_RSA_SHA1) {
		fail(a, "ARC-Message-Signature i=%d uses rsa-sha1", a->n);
		return;
	}
	for (k = 0; k < (int)a->ams.nh; k++)
		if (strcmp(a->ams.h[k], "arc-seal") == 0) {
			fail(a, "ARC-Message-Signature signs ARC-Seal");
			return;
		}
	a->bh = dkim_bodyhash_new(a->ams.bcanon, EVP_sha256(), a->ams.length);
}

void
arc_verify_body(struct arc_verify *a, const char *p, size_t n)
{
	if (a->bh != NULL && !a->decided)
		dkim_bodyhash_update(a->bh, p, n);
}

/* Seal i's hash: the sets 1..i, each AAR, AMS, AS, relaxed; seal i with
 * b= empty and no CRLF (RFC 8617 5.1.1). */
static void
seal_hash(struct arc_verify *a, int i, unsigned char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int olen;
	const char *raw;
	size_t len;
	int j, k;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort();
	for (j = 1; j <= i; j++)
		for (k = 0; k < F_KINDS; k++) {
			raw = msg_field_raw(a->h, a->f[j][k] - 1, &len);
			if (j == i && k == F_AS)
				dkim_check_hash_sigfield(md,
				    DKIM_CANON_RELAXED, raw, len);
			else
				dkim_check_hash_field(md, DKIM_CANON_RELAXED,
				    raw, len, 1);
		}
	EVP_DigestFinal_ex(md, out, &olen);
	EVP_MD_CTX_free(md);
}

/* The key for q came: check what it signs. */
static void
check(struct arc_verify *a, struct arc_q *q, const struct dns_rrset *rs)
{
	const struct dkim_sig *s = q->inst == 0 ? &a->ams : &a->seal[q->inst];
	const char *what = q->inst == 0 ? "ARC-Message-Signature" :
	    "ARC-Seal";
	int inst = q->inst == 0 ? a->n : q->inst;
	unsigned char hash[32];
	char detail[160];
	EVP_PKEY *key;
	const char *raw;
	size_t len;

	if (dkim_check_key(s, rs, &key, NULL, detail, sizeof(detail)) !=
	    DKIM_CHECK_OK) {
		fail(a, "%s i=%d: %s", what, inst, detail);
		return;
	}
	if (q->inst == 0) {
		if (a->ams.length >= 0 &&
		    (unsigned long long)a->ams.length > a->bodylen) {
			fail(a, "%s i=%d: l= beyond the body", what, inst);
			goto done;
		}
		if (a->bhlen != a->ams.bhlen ||
		    memcmp(a->bhd, a->ams.bh, a->bhlen) != 0) {
			fail(a, "%s i=%d: body hash did not verify", what,
			    inst);
			goto done;
		}
		raw = msg_field_raw(a->h, a->f[a->n][F_AMS] - 1, &len);
		dkim_check_header_hash(a->h, &a->ams, raw, len, hash);
	} else
		seal_hash(a, q->inst, hash);
	if (!dkim_check_signature(s, key, hash, sizeof(hash)))
		fail(a, "%s i=%d: signature did not verify", what, inst);
done:
	EVP_PKEY_free(key);
}

static void
cancel_all(struct arc_verify *a)
{
	int i;

	for (i = 0; i <= a->n && i <= ARC_INSTANCES_MAX; i++)
		if (a->q[i].h != NULL) {
			a->dns.cancel(a->dns.ctx, a->q[i].h);
			a->q[i].h = NULL;
		}
}

static void
answered(void *arg, const struct dns_rrset *rs)
{
	struct arc_q *q = arg;
	struct arc_verify *a = q->a;

	q->h = NULL;
	a->pending--;
	check(a, q, rs);
	if (a->decided)
		cancel_all(a);		/* the first failure is the result */
	else if (a->pending > 0)
		return;
	else {
		a->decided = 1;
		a->out.result = ARC_PASS;
	}
	a->cb(a->arg, &a->out);		/* last: it may free a */
}

static int
ask(struct arc_verify *a, int inst)
{
	const struct dkim_sig *s = inst == 0 ? &a->ams : &a->seal[inst];
	char qname[DKIM_CHECK_QNAME_MAX];

	dkim_check_qname(s, qname);
	a->q[inst].a = a;
	a->q[inst].inst = inst;
	a->q[inst].h = a->dns.ask(a->dns.ctx, qname, DNS_T_TXT, answered,
	    &a->q[inst]);
	if (a->q[inst].h == NULL) {
		fail(a, "DNS query not sent");
		return -1;
	}
	a->pending++;
	return 0;
}

int
arc_verify_end(struct arc_verify *a, const struct msg_header *h,
    const struct authdns *dns, arc_verify_cb cb, void *arg,
    const struct arc_outcome **out)
{
	int i;

	a->h = h;
	a->dns = *dns;
	a->cb = cb;
	a->arg = arg;
	if (a->bh != NULL && !a->decided) {
		a->bhlen = dkim_bodyhash_final(a->bh, a->bhd);
		a->bodylen = dkim_bodyhash_length(a->bh);
	}
	if (!a->decided && a->bh == NULL)
		fail(a, "no header section");
	for (i = 0; i <= a->n && !a->decided; i++)
		if (ask(a, i) == -1)
			cancel_all(a);
	if (a->decided) {
		a->pending = 0;
		*out = &a->out;
		return 0;
	}
	return 1;
}

void
arc_verify_free(struct arc_verify *a)
{
	if (a == NULL)
		return;
	cancel_all(a);
	dkim_bodyhash_free(a->bh);
	free(a->seal);
	free(a->out.aar);
	free(a);
}
