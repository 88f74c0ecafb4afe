/*
 * addr — RFC 5321 path and mailbox syntax, with RFC 6531 SMTPUTF8.
 *
 * A recursive-descent scanner over (pointer, length): it never reads past
 * len, assumes no NUL terminator and allocates nothing.  Results go into the
 * fixed arrays of struct addr, so every length check below is also what
 * keeps the copies in bounds.  Called from the SMTP session (MAIL, RCPT)
 * and from the configuration and directory loaders; no global state.
 *
 * Lengths: the local part is limited in its canonical form (unquoted when
 * it can be, otherwise minimally quoted), which is never longer than the
 * form sent, so whatever RFC 5321 4.5.3.1.1 allows is accepted and whatever
 * we pass on is within it.  The path limit counts the path as sent, "<"
 * to ">" with any source route (4.5.3.1.3 counts the punctuation).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define LABEL_MAX	63	/* RFC 1035 2.3.4, for ASCII labels */
#define LITERAL_MAX	64	/* "IPv6:" + the longest IPv6 text, and more */

struct cursor {
	const unsigned char	*s;
	size_t			 len;
	size_t			 i;
	int			 flags;
};

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* RFC 5322 atext, ASCII part. */
static int
is_atext(unsigned char c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
ascii_caseeq(const unsigned char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * Length of the well-formed UTF-8 sequence (RFC 3629) of a non-ASCII
 * character at p[0..n), or 0.  Overlong forms, surrogates, code points past
 * U+10FFFF and the C1 controls are refused: none belongs in an address.
 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned int cp, min;
	size_t need, k;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < need)
		return 0;
	for (k = 1; k < need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp <= 0x9f)
		return 0;
	return need;
}

/*
 * At a byte >= 0x80 in a place where SMTPUTF8 allows a UTF8-non-ascii:
 * without the flag that is the 553 5.6.7 case, with it the sequence must
 * be well formed.
 */
static enum addr_status
cur_utf8(const struct cursor *c, size_t *n)
{
	if (!(c->flags & ADDR_F_UTF8))
		return ADDR_ERR_UTF8;
	if ((*n = utf8_len(c->s + c->i, c->len - c->i)) == 0)
		return ADDR_ERR_SYNTAX;
	return ADDR_OK;
}

/* Dot-string = Atom *("." Atom), copied as sent. */
static enum addr_status
parse_dot_string(struct cursor *c, char *dst, size_t *dlen)
{
	enum addr_status st;
	size_t n = 0, atom = 0, k;
	unsigned char ch;

	while (c->i < c->len) {
		ch = c->s[c->i];
		k = 1;
		if (ch == '.') {
			if (atom == 0)
				return ADDR_ERR_SYNTAX;	/* ".a" or "a..b" */
			atom = 0;
		} else if (ch >= 0x80) {
			if ((st = cur_utf8(c, &k)) != ADDR_OK)
				return st;
			atom += k;
		} else if (is_atext(ch))
			atom++;
		else
			break;
		if (n + k > ADDR_LOCAL_MAX)
			return ADDR_ERR_TOO_LONG;
		memcpy(dst + n, c->s + c->i, k);
		n += k;
		c->i += k;
	}
	if (atom == 0)
		return ADDR_ERR_SYNTAX;		/* empty, or "a." */
	dst[n] = '\0';
	*dlen = n;
	return ADDR_OK;
}

/* Is the (decoded, already UTF-8 checked) text a Dot-string? */
static int
is_dot_string(const unsigned char *s, size_t n)
{
	size_t i, atom = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (atom == 0)
				return 0;
			atom = 0;
		} else if (s[i] >= 0x80 || is_atext(s[i]))
			atom++;
		else
			return 0;
	}
	return atom > 0;
}

/*
 * Quoted-string: decode the content, then write the canonical form, which
 * is the bare dot-string when the content is one (RFC 5321 4.1.2: the same
 * mailbox), otherwise quotes with a backslash before '"' and '\' only.
 */
static enum addr_status
parse_quoted(struct cursor *c, char *dst, size_t *dlen)
{
	unsigned char tmp[ADDR_LOCAL_MAX];
	enum addr_status st;
	size_t tn = 0, n, i, k;
	unsigned char ch;

	c->i++;				/* the opening quote */
	for (;;) {
		if (c->i >= c->len)
			return ADDR_ERR_SYNTAX;
		ch = c->s[c->i];
		if (ch == '"') {
			c->i++;
			break;
		}
		k = 1;
		if (ch == '\\') {
			/* quoted-pairSMTP is ASCII only, even with SMTPUTF8 */
			if (c->i + 1 >= c->len || c->s[c->i + 1] < 32 ||
			    c->s[c->i + 1] > 126)
				return ADDR_ERR_SYNTAX;
			c->i++;
		} else if (ch >= 0x80) {
			if ((st = cur_utf8(c, &k)) != ADDR_OK)
				return st;
		} else if (ch < 32 || ch > 126)
			return ADDR_ERR_SYNTAX;
		if (tn + k > sizeof(tmp))
			return ADDR_ERR_TOO_LONG;
		memcpy(tmp + tn, c->s + c->i, k);
		tn += k;
		c->i += k;
	}

	if (is_dot_string(tmp, tn)) {
		memcpy(dst, tmp, tn);
		n = tn;
	} else {
		n = 0;
		dst[n++] = '"';
		for (i = 0; i < tn; i++) {
			if (tmp[i] == '"' || tmp[i] == '\\')
				dst[n++] = '\\';
			dst[n++] = (char)tmp[i];
		}
		dst[n++] = '"';
		if (n > ADDR_LOCAL_MAX)
			return ADDR_ERR_TOO_LONG;
	}
	dst[n] = '\0';
	*dlen = n;
	return ADDR_OK;
}

/*
 * Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * or (SMTPUTF8) a U-label, written lowercased (ASCII letters only) to dst,
 * which holds ADDR_DOMAIN_MAX + 1 bytes.  Stops at the first byte that
 * cannot continue the domain; the caller judges that byte.  A dot must be
 * followed by a label, so a trailing dot is a syntax error.
 */
static enum addr_status
parse_domain(struct cursor *c, char *dst, size_t *dlen)
{
	enum addr_status st;
	size_t n = 0, lab, k;
	unsigned char ch, last;
	int ascii;

	for (;;) {
		lab = 0;
		last = 0;
		ascii = 1;
		while (c->i < c->len) {
			ch = c->s[c->i];
			k = 1;
			if (ch == '-') {
				if (lab == 0)
					return ADDR_ERR_SYNTAX;
			} else if (ch >= 0x80) {
				if ((st = cur_utf8(c, &k)) != ADDR_OK)
					return st;
				ascii = 0;
			} else if (!is_alpha(ch) && !is_digit(ch))
				break;
			if (n + k > ADDR_DOMAIN_MAX)
				return ADDR_ERR_TOO_LONG;
			if (k == 1)
				dst[n] = (char)lower(ch);
			else
				memcpy(dst + n, c->s + c->i, k);
			n += k;
			lab += k;
			c->i += k;
			last = ch;
		}
		if (lab == 0 || last == '-')
			return ADDR_ERR_SYNTAX;
		/* A U-label's octets say nothing of its A-label length. */
		if (ascii && lab > LABEL_MAX)
			return ADDR_ERR_TOO_LONG;
		if (c->i >= c->len || c->s[c->i] != '.')
			break;
		if (n + 1 > ADDR_DOMAIN_MAX)
			return ADDR_ERR_TOO_LONG;
		dst[n++] = '.';
		c->i++;
	}
	dst[n] = '\0';
	*dlen = n;
	return ADDR_OK;
}

/*
 * address-literal: "[" IPv4 "]" or "[IPv6:" IPv6 "]", checked with
 * inet_pton.  A General-address-literal needs an IANA-registered tag and
 * none but IPv6 exists, so any other tag is a syntax error.  Stored with
 * its brackets, the tag spelt "IPv6:" and hex digits lowercased.
 */
static enum addr_status
parse_literal(struct cursor *c, char *dst, size_t *dlen)
{
	char text[LITERAL_MAX + 1];
	unsigned char bin[16], ch;
	size_t n = 0;
	int v6;

	c->i++;				/* '[' */
	for (;;) {
		if (c->i >= c->len)
			return ADDR_ERR_SYNTAX;
		ch = c->s[c->i++];
		if (ch == ']')
			break;
		/* dcontent: %d33-90 / %d94-126 */
		if (ch < 33 || ch > 126 || (ch >= 91 && ch <= 93))
			return ADDR_ERR_SYNTAX;
		if (n >= LITERAL_MAX)
			return ADDR_ERR_SYNTAX;
		text[n++] = (char)lower(ch);
	}
	text[n] = '\0';
	v6 = n > 5 && memcmp(text, "ipv6:", 5) == 0;
	if (v6) {
		if (inet_pton(AF_INET6, text + 5, bin) != 1)
			return ADDR_ERR_SYNTAX;
		memcpy(text, "IPv6:", 5);
	} else if (inet_pton(AF_INET, text, bin) != 1)
		return ADDR_ERR_SYNTAX;
	dst[0] = '[';
	memcpy(dst + 1, text, n);
	dst[n + 1] = ']';
	dst[n + 2] = '\0';
	*dlen = n + 2;
	return ADDR_OK;
}

static int
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static enum addr_status
parse_mailbox(struct cursor *c, struct addr *out)
{
	enum addr_status st;
	size_t n;

	if (c->i < c->len && c->s[c->i] == '"')
		st = parse_quoted(c, out->local, &n);
	else
		st = parse_dot_string(c, out->local, &n);
	if (st != ADDR_OK)
		return st;
	if (c->i >= c->len || c->s[c->i] != '@')
		return ADDR_ERR_SYNTAX;
	c->i++;
	if (c->i < c->len && c->s[c->i] == '[') {
		out->literal = 1;
		st = parse_literal(c, out->domain, &n);
	} else
		st = parse_domain(c, out->domain, &n);
	if (st != ADDR_OK)
		return st;
	out->utf8 = has_8bit(out->local) || has_8bit(out->domain);
	return ADDR_OK;
}

/*
 * A-d-l = At-domain *( "," At-domain ) ":" — parsed so that a bad route is
 * refused, then forgotten (RFC 5321 C: relays must ignore it).
 */
static enum addr_status
skip_route(struct cursor *c)
{
	char scratch[ADDR_DOMAIN_MAX + 1];
	enum addr_status st;
	size_t n;

	for (;;) {
		if (c->i >= c->len || c->s[c->i] != '@')
			return ADDR_ERR_SYNTAX;
		c->i++;
		if ((st = parse_domain(c, scratch, &n)) != ADDR_OK)
			return st;
		if (c->i < c->len && c->s[c->i] == ',') {
			c->i++;
			continue;
		}
		if (c->i < c->len && c->s[c->i] == ':') {
			c->i++;
			return ADDR_OK;
		}
		return ADDR_ERR_SYNTAX;
	}
}

static enum addr_status
fail(struct addr *out, enum addr_status st)
{
	memset(out, 0, sizeof(*out));
	return st;
}

enum addr_status
addr_parse_path(const char *s, size_t len, int flags, struct addr *out,
    size_t *end)
{
	struct cursor c = { (const unsigned char *)s, len, 0, flags };
	enum addr_status st;

	memset(out, 0, sizeof(*out));
	if (len < 2 || s[0] != '<')
		return ADDR_ERR_SYNTAX;
	if (s[1] == '>') {
		if (!(flags & ADDR_F_ALLOW_NULL))
			return ADDR_ERR_SYNTAX;
		out->null = 1;
		*end = 2;
		return ADDR_OK;
	}
	if ((flags & ADDR_F_POSTMASTER) && len >= 12 &&
	    ascii_caseeq(c.s + 1, "postmaster>", 11)) {
		memcpy(out->local, "postmaster", sizeof("postmaster"));
		*end = 12;
		return ADDR_OK;
	}
	c.i = 1;
	if (s[1] == '@' && (st = skip_route(&c)) != ADDR_OK)
		return fail(out, st);
	if ((st = parse_mailbox(&c, out)) != ADDR_OK)
		return fail(out, st);
	if (c.i >= len || s[c.i] != '>')
		return fail(out, ADDR_ERR_SYNTAX);
	c.i++;
	if (c.i > ADDR_PATH_MAX)
		return fail(out, ADDR_ERR_TOO_LONG);
	*end = c.i;
	return ADDR_OK;
}

enum addr_status
addr_parse_mailbox(const char *s, size_t len, int flags, struct addr *out)
{
	struct cursor c = { (const unsigned char *)s, len, 0, flags };
	enum addr_status st;

	memset(out, 0, sizeof(*out));
	if (len == 0 && (flags & ADDR_F_ALLOW_NULL)) {
		out->null = 1;
		return ADDR_OK;
	}
	if ((flags & ADDR_F_POSTMASTER) && len == 10 &&
	    ascii_caseeq(c.s, "postmaster", 10)) {
		memcpy(out->local, "postmaster", sizeof("postmaster"));
		return ADDR_OK;
	}
	if ((st = parse_mailbox(&c, out)) != ADDR_OK)
		return fail(out, st);
	if (c.i != len)
		return fail(out, ADDR_ERR_SYNTAX);
	if (len + 2 > ADDR_PATH_MAX)	/* as if sent in a path */
		return fail(out, ADDR_ERR_TOO_LONG);
	return ADDR_OK;
}

int
addr_valid_domain(const char *s, size_t len, int allow_utf8)
{
	struct cursor c = { (const unsigned char *)s, len, 0,
	    allow_utf8 ? ADDR_F_UTF8 : 0 };
	char tmp[ADDR_DOMAIN_MAX + 1];
	size_t n;

	return parse_domain(&c, tmp, &n) == ADDR_OK && c.i == len;
}

char *
addr_format(const struct addr *a, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	if (a->null)
		buf[0] = '\0';
	else if (a->domain[0] == '\0')
		snprintf(buf, len, "%s", a->local);
	else
		snprintf(buf, len, "%s@%s", a->local, a->domain);
	return buf;
}

char *
addr_format_key(const struct addr *a, char *buf, size_t len)
{
	size_t i, n;

	addr_format(a, buf, len);
	if (len == 0 || a->null)
		return buf;
	/* Only the local part: the domain is already lowercase, and a quoted
	 * local part may itself contain '@'. */
	n = strlen(a->local);
	for (i = 0; i < n && buf[i] != '\0'; i++)
		buf[i] = (char)lower((unsigned char)buf[i]);
	return buf;
}
