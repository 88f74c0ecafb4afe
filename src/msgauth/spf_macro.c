/*
 * spf_macro — check and expand SPF macro strings (spf_macro.h), after the
 * grammar of RFC 7208 section 7.1 and the rules of 7.3.  One scanner walks
 * the string for both the check and the expansion, so the two can never
 * disagree about what is well-formed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "spf_macro.h"

/* Where expanded text goes: a bounded buffer that, for a domain, keeps
 * only the right-hand part once full (7.3 keeps the right-hand labels),
 * and for an explanation keeps the left-hand part. */
struct out {
	char	*p;
	size_t	 len;
	size_t	 cap;		/* usable octets, the NUL not counted */
	int	 suffix;	/* keep the right-hand part */
};

static void
out_put(struct out *o, const char *s, size_t n)
{
	if (o == NULL)
		return;
	if (!o->suffix) {
		if (n > o->cap - o->len)
			n = o->cap - o->len;
		memcpy(o->p + o->len, s, n);
		o->len += n;
		return;
	}
	if (n >= o->cap / 2) {
		/* Only its last cap/2 octets can survive. */
		s += n - o->cap / 2;
		n = o->cap / 2;
	}
	if (o->len + n > o->cap) {
		size_t drop = o->len - o->cap / 2;

		memmove(o->p, o->p + drop, o->len - drop);
		o->len -= drop;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static int
is_literal(unsigned char c, int flags)
{
	if (c == ' ')
		return (flags & SPF_MACRO_EXPLAIN) != 0;
	return c >= 0x21 && c <= 0x7e && c != '%';
}

static int
is_delim(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

static int
is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* toplabel (RFC 7208 section 7.1): letters, digits and inner hyphens, not
 * all digits. */
static int
toplabel_ok(const char *s, size_t n)
{
	size_t i;
	int alpha = 0, dash = 0;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalpha(c))
			alpha = 1;
		else if (c == '-')
			dash = 1;
		else if (!isdigit(c))
			return 0;
	}
	return alpha || dash;
}

/* The value of a macro letter, into v (SPF_MACRO_VALUE_MAX + 1). */
static size_t
letter_value(char l, const struct spf_macro_ctx *x, char *v)
{
	size_t cap = SPF_MACRO_VALUE_MAX + 1, n = 0;
	int i;

	switch (l) {
	case 's':
		snprintf(v, cap, "%s@%s", x->local, x->sender_domain);
		break;
	case 'l':
		snprintf(v, cap, "%s", x->local);
		break;
	case 'o':
		snprintf(v, cap, "%s", x->sender_domain);
		break;
	case 'd':
		snprintf(v, cap, "%s", x->domain);
		break;
	case 'h':
		snprintf(v, cap, "%s", x->helo);
		break;
	case 'r':
		snprintf(v, cap, "%s", x->receiver ? x->receiver : "unknown");
		break;
	case 'p':
		snprintf(v, cap, "%s", x->ptr ? x->ptr : "unknown");
		break;
	case 't':
		snprintf(v, cap, "%lld", (long long)x->now);
		break;
	case 'v':
		snprintf(v, cap, "%s", x->family == AF_INET ? "in-addr" : "ip6");
		break;
	case 'c':
		if (inet_ntop(x->family, x->addr, v, (socklen_t)cap) == NULL)
			v[0] = '\0';
		break;
	case 'i':
		if (x->family == AF_INET) {
			snprintf(v, cap, "%u.%u.%u.%u", x->addr[0], x->addr[1],
			    x->addr[2], x->addr[3]);
			break;
		}
		/* IPv6: 32 nibbles, dot-separated (7.3; lowercase as in the
		 * example of 7.4). */
		for (i = 0; i < 16; i++)
			n += (size_t)snprintf(v + n, cap - n, "%s%x.%x",
			    i ? "." : "", x->addr[i] >> 4, x->addr[i] & 15);
		break;
	default:
		v[0] = '\0';
	}
	return strlen(v);
}

/* One %{...} with its value transformed (7.3): split on the delimiters,
 * reversed on request, the right-hand `keep` parts joined with dots, then
 * URL-escaped for an upper-case letter. */
static void
put_macro(struct out *o, const struct spf_macro_ctx *x, char letter,
    unsigned long keep, int reverse, const char *delims, size_t ndelim)
{
	char v[SPF_MACRO_VALUE_MAX + 1];
	uint16_t off[SPF_MACRO_VALUE_MAX + 1], plen[SPF_MACRO_VALUE_MAX + 1];
	size_t vlen, n = 0, i, start, first = 1;
	int upper = isupper((unsigned char)letter);

	vlen = letter_value((char)tolower((unsigned char)letter), x, v);
	off[0] = 0;
	for (i = 0; i <= vlen; i++) {
		int cut = i == vlen;

		if (!cut) {
			size_t k;

			for (k = 0; k < ndelim; k++)
				if (v[i] == delims[k])
					cut = 1;
			if (ndelim == 0 && v[i] == '.')
				cut = 1;
		}
		if (cut) {
			plen[n] = (uint16_t)(i - off[n]);
			n++;
			if (i < vlen)
				off[n] = (uint16_t)(i + 1);
		}
	}
	if (keep == 0 || keep > n)
		keep = n;
	for (i = 0; i < keep; i++) {
		/* the reversed list keeps parts keep-1..0, the plain one
		 * parts n-keep..n-1 */
		size_t k = reverse ? keep - 1 - i : n - keep + i;
		const char *p = v + off[k];

		if (!first)
			out_put(o, ".", 1);
		first = 0;
		if (!upper) {
			out_put(o, p, plen[k]);
			continue;
		}
		for (start = 0; start < plen[k]; start++) {
			unsigned char c = (unsigned char)p[start];
			char esc[4];

			if (is_unreserved(c)) {
				out_put(o, (const char *)&p[start], 1);
				continue;
			}
			snprintf(esc, sizeof(esc), "%%%02X", c);
			out_put(o, esc, 3);
		}
	}
}

/*
 * The scanner: checks s and, with o and x given, expands it.  0 or -1.
 * *tail is where the trailing run of literal text starts (len when the
 * string ends with a macro-expand).
 */
static int
scan(const char *s, size_t len, int flags, struct out *o,
    const struct spf_macro_ctx *x, size_t *tail)
{
	size_t i = 0;

	*tail = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		unsigned long keep = 0;
		int reverse = 0, digits = 0;
		char letter;
		size_t d0;

		if (c != '%') {
			if (!is_literal(c, flags))
				return -1;
			out_put(o, &s[i], 1);
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		switch (s[i + 1]) {
		case '%':
			out_put(o, "%", 1);
			break;
		case '_':
			out_put(o, " ", 1);
			break;
		case '-':
			out_put(o, "%20", 3);
			break;
		case '{':
			break;
		default:
			return -1;
		}
		if (s[i + 1] != '{') {
			i += 2;
			*tail = i;
			continue;
		}
		i += 2;
		if (i >= len)
			return -1;
		letter = s[i++];
		if (strchr("slodiphcrtv", tolower((unsigned char)letter)) ==
		    NULL || letter == '\0')
			return -1;
		if ((flags & SPF_MACRO_DOMAIN) &&
		    strchr("crt", tolower((unsigned char)letter)) != NULL)
			return -1;	/* explanation only (7.1) */
		while (i < len && isdigit((unsigned char)s[i])) {
			if (keep < 100000)
				keep = keep * 10 + (unsigned long)(s[i] - '0');
			digits = 1;
			i++;
		}
		if (digits && keep == 0)
			return -1;	/* "MUST be nonzero" (7.3) */
		if (i < len && (s[i] == 'r' || s[i] == 'R')) {
			reverse = 1;
			i++;
		}
		d0 = i;
		while (i < len && is_delim(s[i]))
			i++;
		if (i >= len || s[i] != '}')
			return -1;
		if (o != NULL)
			put_macro(o, x, letter, keep, reverse, s + d0, i - d0);
		i++;
		*tail = i;
	}
	if (flags & SPF_MACRO_DOMAIN) {
		/* domain-end = ( "." toplabel [ "." ] ) / macro-expand */
		const char *t = s + *tail, *dot;
		size_t n = len - *tail;

		if (len == 0)
			return -1;
		if (n == 0)
			return 0;
		if (t[n - 1] == '.')
			n--;
		dot = memrchr(t, '.', n);
		if (dot == NULL)
			return -1;
		if (!toplabel_ok(dot + 1, n - (size_t)(dot + 1 - t)))
			return -1;
	}
	return 0;
}

int
spf_macro_check(const char *s, size_t len, int flags)
{
	size_t tail;

	return scan(s, len, flags, NULL, NULL, &tail);
}

int
spf_macro_uses(const char *s, size_t len, char c)
{
	size_t i;

	for (i = 0; i + 2 < len; i++) {
		if (s[i] != '%')
			continue;
		if (s[i + 1] == '{' &&
		    tolower((unsigned char)s[i + 2]) == tolower((unsigned char)c))
			return 1;
		i++;		/* "%%", "%_", "%-" or "%{": past the pair */
	}
	return 0;
}

int
spf_macro_name_ok(const char *name)
{
	size_t len = strlen(name), lab = 0, i;

	if (len == 0 || len > SPF_DOMAIN_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (lab == 0 || lab > 63)
				return 0;
			lab = 0;
		} else
			lab++;
	}
	return 1;
}

int
spf_macro_expand(const char *s, size_t len, int flags,
    const struct spf_macro_ctx *ctx, char *out, size_t outsz)
{
	char win[2048];
	struct out o;
	size_t tail, n, skip = 0;

	if (outsz == 0)
		return -1;
	if (!(flags & SPF_MACRO_DOMAIN)) {
		o.p = out;
		o.len = 0;
		o.cap = outsz - 1;
		o.suffix = 0;
		if (scan(s, len, flags, &o, ctx, &tail) == -1) {
			out[0] = '\0';
			return -1;
		}
		out[o.len] = '\0';
		return (int)o.len;
	}
	o.p = win;
	o.len = 0;
	o.cap = sizeof(win);
	o.suffix = 1;
	out[0] = '\0';
	if (outsz < SPF_DOMAIN_MAX + 1 ||
	    scan(s, len, flags, &o, ctx, &tail) == -1)
		return -1;
	n = o.len;
	if (n > 0 && win[n - 1] == '.')
		n--;
	/* 7.3: drop left-hand labels (and their dots) until it fits. */
	while (n - skip > SPF_DOMAIN_MAX) {
		const char *dot = memchr(win + skip, '.', n - skip);

		if (dot == NULL)
			break;
		skip = (size_t)(dot - win) + 1;
	}
	if (n - skip > SPF_DOMAIN_MAX)
		n = skip + SPF_DOMAIN_MAX;	/* one huge label: no name */
	memcpy(out, win + skip, n - skip);
	out[n - skip] = '\0';
	return (int)(n - skip);
}

int
spf_macro_domain_ok(char *d)
{
	size_t len = strlen(d), i, lab = 0, labels = 0;
	int digits = 1;

	if (len > 0 && d[len - 1] == '.')
		d[--len] = '\0';
	if (len == 0 || len > SPF_DOMAIN_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		unsigned char ch = (unsigned char)d[i];

		if (i == len || ch == '.') {
			if (lab == 0 || lab > 63)
				return 0;
			labels++;
			lab = 0;
			continue;
		}
		if (!(ch == '-' || ch == '_' || isalnum(ch)))
			return 0;
		lab++;
	}
	/* a number at the top: an address, not a domain */
	for (i = len; i > 0 && d[i - 1] != '.'; i--)
		if (!isdigit((unsigned char)d[i - 1]))
			digits = 0;
	return labels >= 2 && !digits;
}
