/*
 * dkim_sig — DKIM's pure parsers (dkim_sig.h).  The tag-list grammar of
 * RFC 6376 3.2 is applied to the letter except that folding whitespace is
 * taken as any run of SP, HTAB, CR and LF (a broken fold is not worth a
 * different result); each known tag is then checked and copied into a
 * bounded field of struct dkim_sig or struct dkim_keyrec.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_sig.h"
#include "base64.h"

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
dkim_sig_taglist(const char *s, size_t len, struct dkim_tag *t, size_t *nt,
    char *err, size_t errlen)
{
	size_t pos = 0, n = 0, i;

	*nt = 0;
	for (;;) {
		struct dkim_tag tag;
		size_t end;

		while (pos < len && is_fws(s[pos]))
			pos++;
		if (pos == len)
			break;
		if (!is_alpha(s[pos]))
			return fail(err, errlen, "bad tag-list at offset %zu",
			    pos);
		tag.name = s + pos;
		while (pos < len && (is_alpha(s[pos]) || is_digit(s[pos]) ||
		    s[pos] == '_'))
			pos++;
		tag.namelen = (size_t)(s + pos - tag.name);
		while (pos < len && is_fws(s[pos]))
			pos++;
		if (pos == len || s[pos] != '=')
			return fail(err, errlen, "tag %.*s without '='",
			    (int)tag.namelen, tag.name);
		tag.value_off = ++pos;
		while (pos < len && is_fws(s[pos]))
			pos++;
		tag.value = s + pos;
		for (end = pos; pos < len && s[pos] != ';'; pos++) {
			unsigned char c = (unsigned char)s[pos];

			if (is_fws((char)c))
				continue;
			if (c < 0x21 || c > 0x7e)
				return fail(err, errlen, "bad character in "
				    "tag %.*s", (int)tag.namelen, tag.name);
			end = pos + 1;
		}
		tag.valuelen = end > (size_t)(tag.value - s) ?
		    end - (size_t)(tag.value - s) : 0;
		tag.value_end = pos;
		for (i = 0; i < n; i++)
			if (t[i].namelen == tag.namelen &&
			    memcmp(t[i].name, tag.name, tag.namelen) == 0)
				return fail(err, errlen, "duplicate tag %.*s",
				    (int)tag.namelen, tag.name);
		if (n == DKIM_TAGS_MAX)
			return fail(err, errlen, "too many tags");
		t[n++] = tag;
		if (pos < len)
			pos++;			/* the ';' */
	}
	*nt = n;
	return 0;
}

const struct dkim_tag *
dkim_sig_tag(const struct dkim_tag *t, size_t nt, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < nt; i++)
		if (t[i].namelen == n && memcmp(t[i].name, name, n) == 0)
			return &t[i];
	return NULL;
}

long
dkim_sig_base64(const char *s, size_t len, unsigned char *out, size_t cap)
{
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0, pad = 0, nchar = 0;

	for (i = 0; i < len; i++) {
		int v;

		if (is_fws(s[i]))
			continue;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = base64_value((unsigned char)s[i])) < 0)
			return -1;		/* text after padding */
		nchar++;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* Padding, if any, must complete the last group. */
	if (pad > 2 || (pad > 0 && (nchar + pad) % 4 != 0) || nchar % 4 == 1)
		return -1;
	return (long)o;
}

/* A tag's value copied into a bounded string; -1 if too long. */
static int
copy_value(const struct dkim_tag *t, char *out, size_t cap, int lower)
{
	size_t i;

	if (t->valuelen >= cap)
		return -1;
	for (i = 0; i < t->valuelen; i++) {
		char c = t->value[i];

		out[i] = (lower && c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	out[t->valuelen] = '\0';
	return 0;
}

/* A decimal number of at most 18 digits (fits in long long). */
static int
number(const struct dkim_tag *t, long long *out)
{
	long long v = 0;
	size_t i;

	if (t->valuelen == 0 || t->valuelen > 18)
		return -1;
	for (i = 0; i < t->valuelen; i++) {
		if (!is_digit(t->value[i]))
			return -1;
		v = v * 10 + (t->value[i] - '0');
	}
	*out = v;
	return 0;
}

static int
value_is(const struct dkim_tag *t, const char *s)
{
	return t->valuelen == strlen(s) &&
	    strncasecmp(t->value, s, t->valuelen) == 0;
}

/* Does the colon-separated list v[0..n) hold item (case-insensitive)? */
static int
list_has(const char *v, size_t n, const char *item)
{
	size_t i = 0, il = strlen(item);

	while (i <= n) {
		size_t a = i, b;

		while (i < n && v[i] != ':')
			i++;
		b = i;
		while (a < b && is_fws(v[a]))
			a++;
		while (b > a && is_fws(v[b - 1]))
			b--;
		if (b - a == il && strncasecmp(v + a, item, il) == 0)
			return 1;
		i++;
	}
	return 0;
}

static int
parse_alg(const struct dkim_tag *t, struct dkim_sig *s, char *err,
    size_t errlen)
{
	if (copy_value(t, s->algname, sizeof(s->algname), 1) == -1)
		return fail(err, errlen, "a= too long");
	if (strcmp(s->algname, "rsa-sha256") == 0)
		s->alg = DKIM_ALG_RSA_SHA256;
	else if (strcmp(s->algname, "ed25519-sha256") == 0)
		s->alg = DKIM_ALG_ED25519_SHA256;
	else if (strcmp(s->algname, "rsa-sha1") == 0)
		s->alg = DKIM_ALG_RSA_SHA1;
	else
		return fail(err, errlen, "unknown algorithm %s", s->algname);
	return 0;
}

static int
parse_canon(const struct dkim_tag *t, struct dkim_sig *s, char *err,
    size_t errlen)
{
	const char *slash = memchr(t->value, '/', t->valuelen);
	size_t hl = slash ? (size_t)(slash - t->value) : t->valuelen;
	struct dkim_tag h = *t, b = *t;

	h.valuelen = hl;
	if (value_is(&h, "simple"))
		s->hcanon = DKIM_CANON_SIMPLE;
	else if (value_is(&h, "relaxed"))
		s->hcanon = DKIM_CANON_RELAXED;
	else
		return fail(err, errlen, "unknown canonicalization");
	s->bcanon = DKIM_CANON_SIMPLE;		/* 3.5 c=: the default */
	if (slash == NULL)
		return 0;
	b.value = slash + 1;
	b.valuelen = t->valuelen - hl - 1;
	if (value_is(&b, "simple"))
		s->bcanon = DKIM_CANON_SIMPLE;
	else if (value_is(&b, "relaxed"))
		s->bcanon = DKIM_CANON_RELAXED;
	else
		return fail(err, errlen, "unknown canonicalization");
	return 0;
}

static int
parse_hlist(const struct dkim_tag *t, struct dkim_sig *s, char *err,
    size_t errlen)
{
	size_t i = 0, o = 0, n = t->valuelen;
	const char *v = t->value;

	s->nh = 0;
	while (i <= n) {
		size_t a = i, b, k;

		while (i < n && v[i] != ':')
			i++;
		b = i++;
		while (a < b && is_fws(v[a]))
			a++;
		while (b > a && is_fws(v[b - 1]))
			b--;
		if (a == b)
			return fail(err, errlen, "empty name in h=");
		if (s->nh == DKIM_SIG_H_MAX || o + (b - a) + 1 >
		    sizeof(s->hlist))
			return fail(err, errlen, "h= too long");
		s->h[s->nh++] = s->hlist + o;
		for (k = a; k < b; k++) {
			char c = v[k];

			if ((unsigned char)c <= 0x20 || c == 0x7f)
				return fail(err, errlen, "bad name in h=");
			s->hlist[o++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32)
			    : c;
		}
		s->hlist[o++] = '\0';
	}
	return 0;
}

/* i= (DKIM): its domain is d= or a subdomain of it (RFC 6376 3.5). */
static int
identity_ok(const char *i, const char *d)
{
	const char *at = strrchr(i, '@');
	size_t il, dl = strlen(d);

	if (at == NULL)
		return 0;
	at++;
	il = strlen(at);
	if (il == dl)
		return strcasecmp(at, d) == 0;
	return il > dl && at[il - dl - 1] == '.' &&
	    strcasecmp(at + il - dl, d) == 0;
}

static int
domain_ok(const char *d)
{
	size_t i;

	if (d[0] == '\0' || d[0] == '.')
		return 0;
	for (i = 0; d[i] != '\0'; i++)
		if (!(is_alpha(d[i]) || is_digit(d[i]) || d[i] == '-' ||
		    d[i] == '.' || d[i] == '_'))
			return 0;
	return 1;
}

static const char *const required[] = {
	[DKIM_SIG_DKIM] = "v a b bh d h s",
	[DKIM_SIG_AMS] = "i a b bh d h s",
	[DKIM_SIG_AS] = "i a b cv d s",
};

int
dkim_sig_parse(enum dkim_sig_kind kind, const char *str, size_t len,
    struct dkim_sig *s, char *err, size_t errlen)
{
	struct dkim_tag t[DKIM_TAGS_MAX];
	const struct dkim_tag *v;
	const char *r;
	size_t nt, i;
	long n;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->length = s->timestamp = s->expire = -1;
	if (dkim_sig_taglist(str, len, t, &nt, err, errlen) == -1)
		return -1;
	for (r = required[kind]; *r != '\0'; ) {
		char name[4];
		size_t k = strcspn(r, " ");

		memcpy(name, r, k);
		name[k] = '\0';
		if ((v = dkim_sig_tag(t, nt, name)) == NULL)
			return fail(err, errlen, "missing %s= tag", name);
		r += k + (r[k] == ' ');
	}
	if (kind == DKIM_SIG_DKIM &&
	    !value_is(dkim_sig_tag(t, nt, "v"), "1"))
		return fail(err, errlen, "v= is not 1");
	if (parse_alg(dkim_sig_tag(t, nt, "a"), s, err, errlen) == -1)
		return -1;
	v = dkim_sig_tag(t, nt, "b");
	n = dkim_sig_base64(v->value, v->valuelen, s->b, sizeof(s->b));
	if (n <= 0)
		return fail(err, errlen, "bad b= value");
	s->blen = (size_t)n;
	for (i = 0, n = 0; i < v->valuelen && n < 8; i++)
		if (!is_fws(v->value[i]))
			s->b_prefix[n++] = v->value[i];
	s->b_prefix[n] = '\0';
	if ((v = dkim_sig_tag(t, nt, "bh")) != NULL) {
		if (kind == DKIM_SIG_AS)
			return fail(err, errlen, "bh= in an ARC-Seal");
		n = dkim_sig_base64(v->value, v->valuelen, s->bh,
		    sizeof(s->bh));
		if (n <= 0)
			return fail(err, errlen, "bad bh= value");
		s->bhlen = (size_t)n;
	}
	if (copy_value(dkim_sig_tag(t, nt, "d"), s->domain, sizeof(s->domain),
	    1) == -1 || !domain_ok(s->domain))
		return fail(err, errlen, "bad d= value");
	if (copy_value(dkim_sig_tag(t, nt, "s"), s->selector,
	    sizeof(s->selector), 0) == -1 || !domain_ok(s->selector))
		return fail(err, errlen, "bad s= value");
	if ((v = dkim_sig_tag(t, nt, "h")) != NULL) {
		if (kind == DKIM_SIG_AS)
			return fail(err, errlen, "h= in an ARC-Seal");
		if (parse_hlist(v, s, err, errlen) == -1)
			return -1;
		if (kind == DKIM_SIG_DKIM && !list_has(v->value, v->valuelen,
		    "from"))
			return fail(err, errlen, "h= does not sign From");
	}
	s->hcanon = s->bcanon = DKIM_CANON_SIMPLE;
	if (kind == DKIM_SIG_AS)
		s->hcanon = DKIM_CANON_RELAXED;		/* RFC 8617 5.1.1 */
	else if ((v = dkim_sig_tag(t, nt, "c")) != NULL &&
	    parse_canon(v, s, err, errlen) == -1)
		return -1;
	if ((v = dkim_sig_tag(t, nt, "i")) != NULL) {
		if (kind != DKIM_SIG_DKIM) {
			long long inst;

			if (number(v, &inst) == -1 || inst < 1 || inst > 50)
				return fail(err, errlen, "bad i= instance");
			s->instance = (int)inst;
		} else if (copy_value(v, s->identity, sizeof(s->identity),
		    0) == -1 || !identity_ok(s->identity, s->domain))
			return fail(err, errlen, "i= not in d= domain");
	}
	if (kind == DKIM_SIG_DKIM && s->identity[0] == '\0')
		snprintf(s->identity, sizeof(s->identity), "@%s", s->domain);
	if ((v = dkim_sig_tag(t, nt, "cv")) != NULL) {
		if (kind != DKIM_SIG_AS)
			return fail(err, errlen, "cv= outside an ARC-Seal");
		if (value_is(v, "none"))
			s->cv = DKIM_CV_NONE;
		else if (value_is(v, "pass"))
			s->cv = DKIM_CV_PASS;
		else if (value_is(v, "fail"))
			s->cv = DKIM_CV_FAIL;
		else
			return fail(err, errlen, "bad cv= value");
	}
	if ((v = dkim_sig_tag(t, nt, "l")) != NULL &&
	    number(v, &s->length) == -1)
		return fail(err, errlen, "bad l= value");
	if ((v = dkim_sig_tag(t, nt, "t")) != NULL &&
	    number(v, &s->timestamp) == -1)
		return fail(err, errlen, "bad t= value");
	if ((v = dkim_sig_tag(t, nt, "x")) != NULL &&
	    number(v, &s->expire) == -1)
		return fail(err, errlen, "bad x= value");
	if (s->expire >= 0 && s->timestamp >= 0 && s->expire <= s->timestamp)
		return fail(err, errlen, "x= not after t=");
	if ((v = dkim_sig_tag(t, nt, "q")) != NULL &&
	    !list_has(v->value, v->valuelen, "dns/txt"))
		return fail(err, errlen, "q= without dns/txt");
	return 0;
}

int
dkim_sig_keyrec(const char *str, size_t len, struct dkim_keyrec *k,
    char *err, size_t errlen)
{
	struct dkim_tag t[DKIM_TAGS_MAX];
	const struct dkim_tag *v;
	size_t nt;
	long n;

	memset(k, 0, sizeof(*k));
	if (dkim_sig_taglist(str, len, t, &nt, err, errlen) == -1)
		return -1;
	/* 3.6.1 v=: if present, first, and DKIM1. */
	if ((v = dkim_sig_tag(t, nt, "v")) != NULL &&
	    (v != &t[0] || t[0].valuelen != 5 ||
	    memcmp(v->value, "DKIM1", 5) != 0))
		return fail(err, errlen, "key record v= is not DKIM1");
	if ((v = dkim_sig_tag(t, nt, "h")) != NULL &&
	    !list_has(v->value, v->valuelen, "sha256"))
		return fail(err, errlen, "key record h= excludes sha256");
	k->type = DKIM_KEY_RSA;
	if ((v = dkim_sig_tag(t, nt, "k")) != NULL) {
		if (value_is(v, "ed25519"))
			k->type = DKIM_KEY_ED25519;
		else if (!value_is(v, "rsa"))
			return fail(err, errlen, "unknown key type k=%.*s",
			    (int)(v->valuelen > 20 ? 20 : v->valuelen),
			    v->value);
	}
	if ((v = dkim_sig_tag(t, nt, "s")) != NULL &&
	    !list_has(v->value, v->valuelen, "*") &&
	    !list_has(v->value, v->valuelen, "email"))
		return fail(err, errlen, "key record not for email (s=)");
	if ((v = dkim_sig_tag(t, nt, "t")) != NULL) {
		k->testing = list_has(v->value, v->valuelen, "y");
		k->strict = list_has(v->value, v->valuelen, "s");
	}
	if ((v = dkim_sig_tag(t, nt, "p")) == NULL)
		return fail(err, errlen, "key record without p=");
	n = dkim_sig_base64(v->value, v->valuelen, k->p, sizeof(k->p));
	if (n < 0)
		return fail(err, errlen, "bad p= value");
	k->plen = (size_t)n;
	return 0;
}
