/*
 * authres — build the gateway's Authentication-Results header field
 * (authres.h).  Each result is kept as a list of words that must not be
 * split ("spf=pass", "smtp.mailfrom=a@b", the words of a comment); the
 * header is laid out only at the end, so folding sees whole words.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "buf.h"
#include "xmalloc.h"

/* A method, result, ptype or property is cut here; a whole header is
 * at most AUTHRES_HEADER_MAX octets (32 results of 8 longest values, a
 * comment and keywords are about 300 KiB). */
#define AUTHRES_KEYWORD_MAX	64
#define AUTHRES_HEADER_MAX	(512 * 1024)

struct authres_result {
	char		**w;		/* the words, in order */
	size_t		 nw;
};

struct authres_builder {
	char		*id;
	struct authres_result res[AUTHRES_RESULTS_MAX];
	size_t		 nres;
	size_t		 dropped;
};

/* RFC 2045 5.1: tspecials, which a token may not hold. */
static int
is_tspecial(unsigned char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL && c != '\0';
}

static int
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

static int
is_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_token_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A dot-atom of atext without the tspecials (so that "=" and "/",
 * legal in a local part, get quoted for parsers that split on them). */
static int
is_plain_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return 0;
		} else if (!is_token_char((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int
is_domain_name(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0) ||
		    c == '_') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return label > 0 && s[n - 1] != '-';
}

/* RFC 8601 2.2 pvalue: [ [ local-part ] "@" ] domain-name, unquoted. */
static int
is_plain_pvalue(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);

	if (at == NULL)
		return 0;
	if (at > s && !is_plain_dot_atom(s, (size_t)(at - s)))
		return 0;
	return is_domain_name(at + 1, n - (size_t)(at - s) - 1);
}

size_t
authres_quote(const char *value, int pvalue, char *out, size_t outlen)
{
	size_t n = strlen(value), i, o = 0;

	if (outlen == 0)
		return 0;
	if (is_token(value, n) || (pvalue && is_plain_pvalue(value, n))) {
		if (n >= outlen)
			goto toolong;
		memcpy(out, value, n + 1);
		return n;
	}
	/* quoted-string (RFC 5322 3.2.4): \ before " and \, no CTLs */
	if (outlen < 3)
		goto toolong;
	out[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (o + 4 > outlen)
			goto toolong;
		if (c == '"' || c == '\\')
			out[o++] = '\\';
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
toolong:
	out[0] = '\0';
	return 0;
}

static void
add_word(struct authres_result *r, char *w)
{
	r->w = xreallocarray(r->w, r->nw + 1, sizeof(*r->w));
	r->w[r->nw++] = w;
}

/* A method, result or ptype.property: a keyword (RFC 8601 2.2); other
 * characters become "-" (they come from our code, never the network). */
static char *
keyword(const char *s)
{
	char *k = xstrndup(s != NULL && *s != '\0' ? s : "none",
	    AUTHRES_KEYWORD_MAX);

	for (char *p = k; *p != '\0'; p++)
		if (!is_token_char((unsigned char)*p) || *p == '.')
			*p = '-';
	return k;
}

/* The comment's words: "(first", ..., "last)"; runs of blanks and
 * control characters are one space; (, ) and \ are quoted-pairs. */
static void
add_comment(struct authres_result *r, const char *comment)
{
	char word[2 * AUTHRES_COMMENT_MAX + 3];
	size_t i, n = strnlen(comment, AUTHRES_COMMENT_MAX), o = 0;
	int first = 1;

	for (i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)comment[i] : ' ';

		if (c <= 0x20 || c == 0x7f) {
			if (o == 0)
				continue;
			word[o] = '\0';
			add_word(r, xasprintf("%s%s", first ? "(" : "", word));
			first = 0;
			o = 0;
			continue;
		}
		if (c == '(' || c == ')' || c == '\\')
			word[o++] = '\\';
		word[o++] = (char)c;
	}
	if (first)
		add_word(r, xstrdup("()"));
	else {
		char *last = r->w[r->nw - 1];

		r->w[r->nw - 1] = xasprintf("%s)", last);
		free(last);
	}
}

/* The reasonspec, not a property (authres.h). */
static int
is_reason(const struct authres_prop *p)
{
	return p->ptype != NULL && strcmp(p->ptype, "reason") == 0 &&
	    (p->property == NULL || p->property[0] == '\0');
}

struct authres_builder *
authres_new(const char *authserv_id)
{
	struct authres_builder *b = xcalloc(1, sizeof(*b));
	char id[AUTHRES_VALUE_MAX + 3];

	if (authres_quote(authserv_id != NULL ? authserv_id : "", 0, id,
	    sizeof(id)) == 0)
		strcpy(id, "\"\"");
	b->id = xstrdup(id);
	return b;
}

void
authres_add(struct authres_builder *b, const char *method,
    const char *result, const char *comment,
    const struct authres_prop *props, size_t nprops)
{
	struct authres_result *r;
	char val[2 * AUTHRES_VALUE_MAX + 3];
	char *m, *res, *pt, *pr;
	size_t i, kept = 0;

	if (b->nres >= AUTHRES_RESULTS_MAX) {
		b->dropped++;
		return;
	}
	r = &b->res[b->nres++];
	m = keyword(method);
	res = keyword(result);
	add_word(r, xasprintf("%s=%s", m, res));
	free(m);
	free(res);
	if (comment != NULL)
		add_comment(r, comment);
	/* the reasonspec comes before the properties (RFC 8601 2.2) */
	for (i = 0; i < nprops; i++) {
		const struct authres_prop *p = &props[i];

		if (p->value == NULL || !is_reason(p))
			continue;
		if (strlen(p->value) <= AUTHRES_VALUE_MAX &&
		    authres_quote(p->value, 0, val, sizeof(val)) > 0)
			add_word(r, xasprintf("reason=%s", val));
		break;
	}
	for (i = 0; i < nprops && kept < AUTHRES_PROPS_MAX; i++) {
		const struct authres_prop *p = &props[i];

		if (p->value == NULL || p->ptype == NULL || is_reason(p))
			continue;
		if (strlen(p->value) > AUTHRES_VALUE_MAX ||
		    authres_quote(p->value, 1, val, sizeof(val)) == 0)
			continue;
		pt = keyword(p->ptype);
		pr = keyword(p->property);
		add_word(r, xasprintf("%s.%s=%s", pt, pr, val));
		free(pt);
		free(pr);
		kept++;
	}
}

void
authres_addl(struct authres_builder *b, const char *method,
    const char *result, const char *comment, ...)
{
	struct authres_prop props[AUTHRES_PROPS_MAX + 1];
	char keys[AUTHRES_PROPS_MAX + 1][64];
	size_t n = 0;
	const char *key, *dot;
	va_list ap;

	va_start(ap, comment);
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);

		if (n >= AUTHRES_PROPS_MAX + 1)
			continue;
		dot = strchr(key, '.');
		if (dot == NULL) {
			props[n].ptype = "reason";
			props[n].property = "";
		} else {
			size_t pl = (size_t)(dot - key);

			if (pl >= sizeof(keys[n]))
				pl = sizeof(keys[n]) - 1;
			memcpy(keys[n], key, pl);
			keys[n][pl] = '\0';
			props[n].ptype = keys[n];
			props[n].property = dot + 1;
		}
		props[n].value = value;
		n++;
	}
	va_end(ap);
	authres_add(b, method, result, comment, props, n);
}

size_t
authres_dropped(const struct authres_builder *b)
{
	return b->dropped;
}

/* Put word w (and a tail, ";" or "", that must stay on its line) on the
 * current line, or fold first (RFC 5322 2.2.3: CRLF, then a TAB). */
static void
lay_word(struct buf *out, size_t *col, const char *w, const char *tail,
    int first_on_line)
{
	size_t wl = strlen(w) + strlen(tail);

	if (!first_on_line) {
		if (*col + 1 + wl > AUTHRES_LINE_MAX) {
			buf_append(out, "\r\n\t", 3);
			*col = 1;
		} else {
			buf_append(out, " ", 1);
			(*col)++;
		}
	}
	buf_append(out, w, strlen(w));
	buf_append(out, tail, strlen(tail));
	*col += wl;
}

void
authres_free(struct authres_builder *b)
{
	size_t i, j;

	if (b == NULL)
		return;
	for (i = 0; i < b->nres; i++) {
		for (j = 0; j < b->res[i].nw; j++)
			free(b->res[i].w[j]);
		free(b->res[i].w);
	}
	free(b->id);
	free(b);
}

char *
authres_finish(struct authres_builder *b, size_t *len)
{
	struct buf out;
	size_t col, i, j;
	char *s;

	/* the bounds of authres.h keep a header far below this */
	buf_init(&out, AUTHRES_HEADER_MAX);
	buf_append(&out, "Authentication-Results:", 23);
	col = 23;
	lay_word(&out, &col, b->id, ";", 0);
	if (b->nres == 0)
		lay_word(&out, &col, "none", "", 0);
	for (i = 0; i < b->nres; i++) {
		const struct authres_result *r = &b->res[i];

		/* each result on a line of its own, for the reader */
		buf_append(&out, "\r\n\t", 3);
		col = 1;
		for (j = 0; j < r->nw; j++)
			lay_word(&out, &col, r->w[j],
			    j + 1 == r->nw && i + 1 < b->nres ? ";" : "",
			    j == 0);
	}
	buf_append(&out, "\r\n", 2);
	if (len != NULL)
		*len = out.len;
	s = buf_release(&out, NULL);
	authres_free(b);
	return s;
}
