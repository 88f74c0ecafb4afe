/*
 * dmarc_record — parse one DMARC record (dmarc_record.h): a tag-list
 * (RFC 7489 6.3, 6.4) walked segment by segment over the caller's
 * buffer, every value checked against its ABNF before it is used.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmarc_record.h"

/* One tag=value segment: slices of the caller's text. */
struct dmarc_tag {
	const char	*name;
	size_t		 namelen;
	const char	*val;
	size_t		 vallen;
};

/* The known tags, for the duplicate rule (RFC 6376 3.2 via 7489 6.3). */
enum {
	T_V = 1 << 0, T_P = 1 << 1, T_SP = 1 << 2, T_PCT = 1 << 3,
	T_ADKIM = 1 << 4, T_ASPF = 1 << 5, T_RUA = 1 << 6, T_RUF = 1 << 7,
	T_FO = 1 << 8, T_RF = 1 << 9, T_RI = 1 << 10,
};

static const struct {
	const char	*name;
	unsigned	 bit;
} dmarc_record_tags[] = {
	{ "v", T_V }, { "p", T_P }, { "sp", T_SP }, { "pct", T_PCT },
	{ "adkim", T_ADKIM }, { "aspf", T_ASPF }, { "rua", T_RUA },
	{ "ruf", T_RUF }, { "fo", T_FO }, { "rf", T_RF }, { "ri", T_RI },
};

static int
is_wsp(char c)
{
	/* WSP, and the CR/LF a careless zone file leaves in a TXT string */
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && is_wsp(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && is_wsp((*p)[*n - 1]))
		(*n)--;
}

static int
eq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/* Split the segment [p, p+n) into a tag; 0 if it has no "=" or no name. */
static int
split_tag(const char *p, size_t n, struct dmarc_tag *t)
{
	const char *e = memchr(p, '=', n);

	if (e == NULL)
		return 0;
	t->name = p;
	t->namelen = (size_t)(e - p);
	t->val = e + 1;
	t->vallen = n - t->namelen - 1;
	trim(&t->name, &t->namelen);
	trim(&t->val, &t->vallen);
	return t->namelen > 0;
}

static int
parse_policy(const char *p, size_t n, enum dmarc_policy *out)
{
	if (eq(p, n, "none"))
		*out = DMARC_POLICY_NONE;
	else if (eq(p, n, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (eq(p, n, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return 0;
	return 1;
}

/* 1*maxdigits DIGIT, at most max; -1 otherwise. */
static long long
parse_uint(const char *p, size_t n, size_t maxdigits, long long max)
{
	long long v = 0;
	size_t i;

	if (n == 0 || n > maxdigits)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= max ? v : -1;
}

/*
 * The next item of a list separated by sep (WSP allowed around it): its
 * slice in *item, trimmed; 0 at the end.  *pos walks the value.
 */
static int
next_item(const char *v, size_t n, size_t *pos, char sep, const char **item,
    size_t *itemlen)
{
	const char *s, *e;

	if (*pos > n)
		return 0;
	s = v + *pos;
	e = memchr(s, sep, n - *pos);
	if (e == NULL)
		e = v + n;
	*item = s;
	*itemlen = (size_t)(e - s);
	*pos = (size_t)(e - v) + 1;
	trim(item, itemlen);
	return 1;
}

/* fo: ("0" / "1" / "d" / "s") *(":" ...); 0 bits if invalid. */
static unsigned
parse_fo(const char *v, size_t n)
{
	const char *it;
	size_t len, pos = 0;
	unsigned fo = 0;

	while (next_item(v, n, &pos, ':', &it, &len)) {
		if (len != 1)
			return 0;
		switch (tolower((unsigned char)it[0])) {
		case '0': fo |= DMARC_FO_0; break;
		case '1': fo |= DMARC_FO_1; break;
		case 'd': fo |= DMARC_FO_D; break;
		case 's': fo |= DMARC_FO_S; break;
		default: return 0;
		}
	}
	return fo;
}

/* Keyword = ldh-str (RFC 5321 4.1.2): a letter or digit first and last. */
static int
is_keyword(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || !isalnum((unsigned char)p[0]) ||
	    !isalnum((unsigned char)p[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-')
			return 0;
	return 1;
}

/* rf: Keyword *(":" Keyword); 0 if invalid. */
static int
parse_rf(const char *v, size_t n, struct dmarc_record *r)
{
	const char *it;
	size_t len, pos = 0;
	int afrf = 0, iodef = 0;

	while (next_item(v, n, &pos, ':', &it, &len)) {
		if (!is_keyword(it, len))
			return 0;
		if (eq(it, len, "afrf"))
			afrf = 1;
		else if (eq(it, len, "iodef"))
			iodef = 1;
	}
	r->rf_afrf = afrf;
	r->rf_iodef = iodef;
	return 1;
}

/*
 * One dmarc-uri (RFC 7489 6.4): URI [ "!" 1*DIGIT [ "k" / "m" / "g" /
 * "t" ] ], the URI checked for a scheme (RFC 3986 3.1) and a non-empty,
 * printable rest (commas and "!" must be %-encoded in it).
 */
static int
valid_uri(const char *p, size_t n)
{
	const char *bang = memchr(p, '!', n);
	size_t i, ulen = bang != NULL ? (size_t)(bang - p) : n;

	if (bang != NULL) {
		size_t sl = n - ulen - 1;
		const char *s = bang + 1;

		if (sl > 0 && strchr("kmgtKMGT", s[sl - 1]) != NULL)
			sl--;
		if (sl == 0)
			return 0;
		for (i = 0; i < sl; i++)
			if (!isdigit((unsigned char)s[i]))
				return 0;
	}
	if (ulen == 0 || !isalpha((unsigned char)p[0]))
		return 0;
	for (i = 1; i < ulen && p[i] != ':'; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '+' &&
		    p[i] != '-' && p[i] != '.')
			return 0;
	if (i >= ulen - 1)
		return 0;		/* no ":" or nothing after it */
	for (i++; i < ulen; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return 0;
	return 1;
}

/* A URI list: the number of valid URIs; the text kept if it fits. */
static int
parse_uris(const char *v, size_t n, char *keep, size_t keepsz, int *trunc)
{
	const char *it;
	size_t len, pos = 0;
	int valid = 0;

	while (next_item(v, n, &pos, ',', &it, &len))
		valid += valid_uri(it, len);
	if (n < keepsz && memchr(v, '\0', n) == NULL) {
		memcpy(keep, v, n);
		keep[n] = '\0';
	} else {
		keep[0] = '\0';
		*trunc = 1;
	}
	return valid;
}

static void
defaults(struct dmarc_record *r)
{
	memset(r, 0, sizeof(*r));
	r->p = r->sp = DMARC_POLICY_NONE;
	r->pct = 100;
	r->ri = 86400;
	r->fo = DMARC_FO_0;
	r->rf_afrf = 1;
}

/* "v" *WSP "=" *WSP "DMARC1" then the end or a ";" (RFC 7489 6.4). */
static int
is_dmarc1(const char *text, size_t len, size_t *rest)
{
	const char *semi = memchr(text, ';', len);
	size_t n = semi != NULL ? (size_t)(semi - text) : len;
	struct dmarc_tag t;

	if (!split_tag(text, n, &t) || !eq(t.name, t.namelen, "v"))
		return 0;
	if (t.vallen != 6 || memcmp(t.val, "DMARC1", 6) != 0)
		return 0;
	*rest = semi != NULL ? n + 1 : len;
	return 1;
}

static enum dmarc_record_status
invalid(struct dmarc_record *r, const char *why)
{
	snprintf(r->error, sizeof(r->error), "%s", why);
	return DMARC_RECORD_INVALID;
}

enum dmarc_record_status
dmarc_record_parse(const char *text, size_t len, struct dmarc_record *r)
{
	size_t pos, i;
	unsigned seen = T_V;
	int p_ok = 0, sp_ok = 1;
	const char *seg;
	size_t seglen;
	struct dmarc_tag t;
	long long v;

	defaults(r);
	if (text == NULL || !is_dmarc1(text, len, &pos))
		return DMARC_RECORD_NOT_DMARC;
	while (next_item(text, len, &pos, ';', &seg, &seglen)) {
		unsigned bit = 0;

		if (seglen == 0 || !split_tag(seg, seglen, &t))
			continue;	/* ";;", a trailing ";", no "=" */
		for (i = 0; i < sizeof(dmarc_record_tags) /
		    sizeof(dmarc_record_tags[0]); i++)
			if (eq(t.name, t.namelen, dmarc_record_tags[i].name))
				bit = dmarc_record_tags[i].bit;
		if (bit == 0)
			continue;	/* unknown tag: ignored (6.3) */
		if (seen & bit)
			return invalid(r, "a tag occurs twice");
		seen |= bit;
		switch (bit) {
		case T_V:
			break;
		case T_P:
			p_ok = parse_policy(t.val, t.vallen, &r->p);
			break;
		case T_SP:
			sp_ok = parse_policy(t.val, t.vallen, &r->sp);
			r->has_sp = sp_ok;
			break;
		case T_PCT:
			v = parse_uint(t.val, t.vallen, 3, 100);
			r->pct = v < 0 ? 100 : (int)v;
			break;
		case T_ADKIM:
		case T_ASPF: {
			int s = eq(t.val, t.vallen, "s");

			if (!s && !eq(t.val, t.vallen, "r"))
				break;	/* invalid: the default, relaxed */
			if (bit == T_ADKIM)
				r->adkim_strict = s;
			else
				r->aspf_strict = s;
			break;
		}
		case T_RUA:
			r->nrua = parse_uris(t.val, t.vallen, r->rua,
			    sizeof(r->rua), &r->uri_truncated);
			break;
		case T_RUF:
			r->nruf = parse_uris(t.val, t.vallen, r->ruf,
			    sizeof(r->ruf), &r->uri_truncated);
			break;
		case T_FO: {
			unsigned fo = parse_fo(t.val, t.vallen);

			r->fo = fo != 0 ? fo : DMARC_FO_0;
			break;
		}
		case T_RF:
			if (!parse_rf(t.val, t.vallen, r)) {
				r->rf_afrf = 1;
				r->rf_iodef = 0;
			}
			break;
		case T_RI:
			v = parse_uint(t.val, t.vallen, 10, 4294967295LL);
			r->ri = v < 0 ? 86400 : (unsigned long)v;
			break;
		}
	}
	if (!p_ok || !sp_ok) {
		/* RFC 7489 6.6.3: with a valid rua, act as if "v=DMARC1;
		 * p=none" had been published; without, discard it. */
		if (r->nrua == 0)
			return invalid(r, !p_ok ? "no valid p tag" :
			    "sp tag not valid");
		r->p = r->sp = DMARC_POLICY_NONE;
		r->has_sp = 0;
		r->defaulted = 1;
	}
	if (!r->has_sp)
		r->sp = r->p;
	return DMARC_RECORD_OK;
}
