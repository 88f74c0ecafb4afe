/*
 * conf_lex — split postern.conf into statements of words; see conf_lex.h.
 *
 * One line at a time: the end of the line is found first, so that its length
 * is checked before any word of it is kept, and no word can run past it (a
 * quote left open is reported on the line where it opened instead of
 * swallowing the rest of the file).  Control characters other than tab and
 * the CR of a CRLF are refused: they are never meant, and a NUL would cut a
 * value short without anyone noticing.
 */
#include "conf_lex.h"
#include "buf.h"
#include "postern_limits.h"
#include "xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
conf_errf(char *err, size_t errlen, const char *name, int line,
    const char *fmt, ...)
{
	char msg[CONF_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err == NULL || errlen == 0)
		return;
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", name, line, msg);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
}

void
conf_lex_init(struct conf_lexer *lx, const char *name, const char *text,
    size_t len)
{
	lx->name = name;
	lx->p = text;
	lx->end = text + len;
	lx->lineno = 0;
}

static void
line_clear(struct conf_line *ln)
{
	for (size_t i = 0; i < ln->ntok; i++)
		free(ln->tok[i].s);
	ln->ntok = 0;
}

void
conf_line_free(struct conf_line *ln)
{
	line_clear(ln);
	free(ln->tok);
	ln->tok = NULL;
	ln->cap = 0;
}

int
conf_tok_is(const struct conf_tok *t, char c)
{
	return !t->quoted && t->s[0] == c && t->s[1] == '\0';
}

static void
line_push(struct conf_line *ln, char *s, int quoted)
{
	if (ln->ntok == ln->cap) {
		ln->cap = ln->cap ? ln->cap * 2 : 8;
		ln->tok = xreallocarray(ln->tok, ln->cap, sizeof(*ln->tok));
	}
	ln->tok[ln->ntok].s = s;
	ln->tok[ln->ntok].quoted = quoted;
	ln->ntok++;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Does a word end before c? */
static int
is_delim(char c)
{
	return is_blank(c) || c == '#' || c == '{' || c == '}' || c == '"';
}

/* A quoted string from just after its opening quote; *pp moves past it. */
static int
lex_quoted(struct conf_lexer *lx, const char **pp, const char *eol,
    struct conf_line *ln, char *err, size_t errlen)
{
	const char *p = *pp;
	struct buf b;

	buf_init(&b, CONF_LINE_MAX);
	for (;;) {
		if (p == eol) {
			buf_free(&b);
			conf_errf(err, errlen, lx->name, lx->lineno,
			    "unterminated quoted string");
			return -1;
		}
		if (*p == '"')
			break;
		if (*p == '\\') {
			if (p + 1 == eol || (p[1] != '"' && p[1] != '\\')) {
				buf_free(&b);
				conf_errf(err, errlen, lx->name, lx->lineno,
				    "bad escape in quoted string (only \\\" "
				    "and \\\\ are known)");
				return -1;
			}
			p++;
		}
		/* The line is shorter than the limit: this cannot fail. */
		(void)buf_appendc(&b, *p);
		p++;
	}
	p++;
	if (p != eol && !is_blank(*p) && *p != '#' && *p != '{' &&
	    *p != '}') {
		buf_free(&b);
		conf_errf(err, errlen, lx->name, lx->lineno,
		    "a quoted string must be followed by a blank");
		return -1;
	}
	line_push(ln, buf_release(&b, NULL), 1);
	*pp = p;
	return 0;
}

int
conf_lex_line(struct conf_lexer *lx, struct conf_line *ln, char *err,
    size_t errlen)
{
	const char *p, *eol, *next, *start;

	line_clear(ln);
	if (lx->p >= lx->end)
		return 0;
	lx->lineno++;
	ln->lineno = lx->lineno;
	eol = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
	if (eol == NULL)
		eol = next = lx->end;
	else
		next = eol + 1;
	if ((size_t)(eol - lx->p) > CONF_LINE_MAX) {
		conf_errf(err, errlen, lx->name, lx->lineno,
		    "line too long (more than %d characters)", CONF_LINE_MAX);
		return -1;
	}
	for (p = lx->p; p < eol; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
			conf_errf(err, errlen, lx->name, lx->lineno,
			    "control character 0x%02x in the line", c);
			return -1;
		}
	}

	p = lx->p;
	while (p < eol) {
		if (is_blank(*p)) {
			p++;
			continue;
		}
		if (*p == '#')
			break;
		if (*p == '{' || *p == '}') {
			line_push(ln, xstrndup(p, 1), 0);
			p++;
			continue;
		}
		if (*p == '"') {
			p++;
			if (lex_quoted(lx, &p, eol, ln, err, errlen) == -1)
				return -1;
			continue;
		}
		start = p;
		while (p < eol && !is_delim(*p))
			p++;
		if (p < eol && *p == '"') {
			conf_errf(err, errlen, lx->name, lx->lineno,
			    "a quote in the middle of a word (quote the whole "
			    "value)");
			return -1;
		}
		line_push(ln, xstrndup(start, (size_t)(p - start)), 0);
	}
	lx->p = next;
	return 1;
}
