/*
 * spf_record — parse one SPF record into its terms (spf_record.h), after
 * the ABNF of RFC 7208 section 12.  Terms are separated by spaces only
 * (1*SP): a tab, CR or LF inside a record is part of a term and so a
 * syntax error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf_macro.h"
#include "spf_record.h"

static int
fail(struct spf_record *r, const char *t, size_t n, const char *fmt, ...)
{
	va_list ap;
	size_t k;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	if (t != NULL) {
		k = strlen(r->error);
		snprintf(r->error + k, sizeof(r->error) - k, ": \"%.*s\"",
		    (int)(n > 48 ? 48 : n), t);
		/* the record's bytes may be anything: keep the log clean */
		for (; r->error[k] != '\0'; k++)
			if (!isprint((unsigned char)r->error[k]))
				r->error[k] = '?';
	}
	return -1;
}

int
spf_record_is_spf(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 &&
	    (len == 6 || text[6] == ' ');
}

/* ip4-cidr-length / ip6-cidr-length digits: "0" or no leading zero, at
 * most max.  The value, or -1. */
static int
cidr_value(const char *s, size_t n, int max)
{
	int v = 0;
	size_t i;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* A trailing "/N" (or "//N" with dbl) at the end of a[0..*n): 1 and
 * *n shortened, 0 when there is none, -1 when N is out of range. */
static int
strip_cidr(const char *a, size_t *n, int max, int dbl, int *val)
{
	size_t e = *n, d = e, slash;

	while (d > 0 && isdigit((unsigned char)a[d - 1]))
		d--;
	if (d == e || d == 0 || a[d - 1] != '/')
		return 0;
	slash = d - 1;
	if (dbl) {
		if (slash == 0 || a[slash - 1] != '/')
			return 0;
		slash--;
	}
	if ((*val = cidr_value(a + d, e - d, max)) == -1)
		return -1;
	*n = slash;
	return 1;
}

/* ip4-network: four qnum, no leading zeros (12). */
static int
ip4_network(const char *s, size_t n, unsigned char ip[4])
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t d = i;
		int v = 0;

		while (i < n && isdigit((unsigned char)s[i]) && i - d < 4)
			v = v * 10 + (s[i++] - '0');
		if (i == d || i - d > 3 || (i - d > 1 && s[d] == '0') ||
		    v > 255)
			return -1;
		ip[part] = (unsigned char)v;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
	}
	return i == n ? 0 : -1;
}

static int
ip6_network(const char *s, size_t n, unsigned char ip[16])
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, ip) == 1 ? 0 : -1;
}

/* The argument of a mechanism (what follows its name), into t. */
static int
mech_arg(struct spf_record *r, struct spf_term *t, const char *a, size_t n)
{
	size_t off = (size_t)(a - r->text);
	const char *slash;
	int v;

	t->cidr4 = 32;
	t->cidr6 = 128;
	switch (t->mech) {
	case SPF_MECH_ALL:
		return n == 0 ? 0 : -1;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		if (n < 2 || a[0] != ':')
			return -1;
		a++, n--;
		slash = memchr(a, '/', n);
		if (slash != NULL) {
			size_t cl = n - (size_t)(slash - a) - 1;

			v = cidr_value(slash + 1, cl,
			    t->mech == SPF_MECH_IP4 ? 32 : 128);
			if (v == -1)
				return -1;
			if (t->mech == SPF_MECH_IP4)
				t->cidr4 = v;
			else
				t->cidr6 = v;
			n = (size_t)(slash - a);
		}
		return t->mech == SPF_MECH_IP4 ? ip4_network(a, n, t->ip) :
		    ip6_network(a, n, t->ip);
	case SPF_MECH_A:
	case SPF_MECH_MX:
		if (strip_cidr(a, &n, 128, 1, &t->cidr6) == -1 ||
		    strip_cidr(a, &n, 32, 0, &t->cidr4) == -1)
			return -1;
		break;
	default:
		break;
	}
	if (n == 0) {
		/* include and exists need a domain-spec */
		return t->mech == SPF_MECH_INCLUDE ||
		    t->mech == SPF_MECH_EXISTS ? -1 : 0;
	}
	if (a[0] != ':' || n == 1 ||
	    spf_macro_check(a + 1, n - 1, SPF_MACRO_DOMAIN) == -1)
		return -1;
	t->spec_off = (unsigned short)(off + 1);
	t->spec_len = (unsigned short)(n - 1);
	return 0;
}

static const struct {
	const char	*name;
	enum spf_mech	 mech;
} mechs[] = {
	{ "all", SPF_MECH_ALL }, { "include", SPF_MECH_INCLUDE },
	{ "a", SPF_MECH_A }, { "mx", SPF_MECH_MX }, { "ptr", SPF_MECH_PTR },
	{ "ip4", SPF_MECH_IP4 }, { "ip6", SPF_MECH_IP6 },
	{ "exists", SPF_MECH_EXISTS },
};

static int
modifier(struct spf_record *r, const char *s, size_t namelen, size_t n)
{
	const char *v = s + namelen + 1;
	size_t vl = n - namelen - 1;
	unsigned short *off, *len;

	if (namelen == 0 || !isalpha((unsigned char)s[0]))
		return fail(r, s, n, "bad modifier name");
	if (namelen == 8 && strncasecmp(s, "redirect", 8) == 0) {
		off = &r->redirect_off;
		len = &r->redirect_len;
	} else if (namelen == 3 && strncasecmp(s, "exp", 3) == 0) {
		off = &r->exp_off;
		len = &r->exp_len;
	} else {
		/* unknown-modifier: ignored, but must be well-formed */
		if (spf_macro_check(v, vl, 0) == -1)
			return fail(r, s, n, "bad modifier value");
		return 0;
	}
	if (*len != 0)
		return fail(r, s, n, "modifier given twice");
	if (vl == 0 || spf_macro_check(v, vl, SPF_MACRO_DOMAIN) == -1)
		return fail(r, s, n, "bad domain-spec");
	*off = (unsigned short)(v - r->text);
	*len = (unsigned short)vl;
	return 0;
}

static int
term(struct spf_record *r, const char *s, size_t n)
{
	struct spf_term *t;
	size_t namelen = 0, i;
	char qual = '+';
	const char *p = s;

	if (s[0] != '\0' && strchr("+-~?", s[0]) != NULL) {
		qual = s[0];
		p++;
	}
	while (p + namelen < s + n && (isalnum((unsigned char)p[namelen]) ||
	    (p[namelen] != '\0' && strchr("-_.", p[namelen]) != NULL)))
		namelen++;
	if (p + namelen < s + n && p[namelen] == '=') {
		if (p != s)
			return fail(r, s, n, "qualifier on a modifier");
		return modifier(r, s, namelen, n);
	}
	if (r->nterm == SPF_TERMS_MAX)
		return fail(r, NULL, 0, "more than %d mechanisms",
		    SPF_TERMS_MAX);
	t = &r->term[r->nterm];
	memset(t, 0, sizeof(*t));
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == namelen &&
		    strncasecmp(p, mechs[i].name, namelen) == 0)
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0]))
		return fail(r, s, n, "unknown mechanism");
	t->mech = mechs[i].mech;
	t->qual = qual;
	t->off = (unsigned short)(s - r->text);
	t->len = (unsigned short)n;
	if (mech_arg(r, t, p + namelen, n - (size_t)(p + namelen - s)) == -1)
		return fail(r, s, n, "bad mechanism");
	if (t->mech == SPF_MECH_ALL)
		r->has_all = 1;
	r->nterm++;
	return 0;
}

int
spf_record_parse(const char *text, size_t len, struct spf_record *r)
{
	size_t i, start;

	memset(r, 0, offsetof(struct spf_record, term));
	r->nterm = 0;
	r->has_all = 0;
	r->redirect_len = r->exp_len = 0;
	r->error[0] = '\0';
	if (len > SPF_RECORD_MAX)
		return fail(r, NULL, 0, "record longer than %d octets",
		    SPF_RECORD_MAX);
	memcpy(r->text, text, len);
	r->text[len] = '\0';
	r->len = len;
	if (!spf_record_is_spf(text, len))
		return fail(r, NULL, 0, "not an SPF record");
	for (i = 6; i < len; ) {
		if (r->text[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < len && r->text[i] != ' ')
			i++;
		if (term(r, r->text + start, i - start) == -1)
			return -1;
	}
	return 0;
}
