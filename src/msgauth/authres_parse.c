/*
 * authres_parse — read an Authentication-Results value (authres_parse.h)
 * with one cursor over the caller's bytes: no recursion (comments are
 * skipped with a depth counter), no allocation, every copy bounded.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "authres_parse.h"

struct cur {
	const char	*s;
	size_t		 n;
	size_t		 i;
	int		*truncated;
};

static int
at_end(const struct cur *c)
{
	return c->i >= c->n;
}

static int
peek(const struct cur *c)
{
	return c->i < c->n ? (unsigned char)c->s[c->i] : -1;
}

static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* A comment from its "(" (RFC 5322 3.2.2): nested, with quoted-pairs;
 * one left open runs to the end. */
static void
skip_comment(struct cur *c)
{
	size_t depth = 0;

	while (!at_end(c)) {
		char ch = c->s[c->i++];

		if (ch == '\\' && !at_end(c))
			c->i++;
		else if (ch == '(')
			depth++;
		else if (ch == ')' && --depth == 0)
			return;
	}
}

/* CFWS: blanks, folding, comments. */
static void
skip_cfws(struct cur *c)
{
	while (!at_end(c)) {
		if (is_blank(peek(c)))
			c->i++;
		else if (peek(c) == '(')
			skip_comment(c);
		else
			return;
	}
}

/* Append ch to out[0..*o) within size (one byte kept for the NUL). */
static void
put(struct cur *c, char *out, size_t size, size_t *o, char ch)
{
	if (*o + 1 < size)
		out[(*o)++] = ch;
	else
		*c->truncated = 1;
}

/* A keyword: letters, digits, "-", "_", and "." if dots; lowercased. */
static size_t
read_keyword(struct cur *c, char *out, size_t size, int dots)
{
	size_t o = 0;

	while (!at_end(c)) {
		int ch = peek(c);

		if (!isalnum(ch) && ch != '-' && ch != '_' &&
		    !(dots && ch == '.'))
			break;
		put(c, out, size, &o, (char)tolower(ch));
		c->i++;
	}
	out[o] = '\0';
	return o;
}

/* A value: a quoted-string (unquoted into out, folding dropped) or a run
 * of characters up to a blank, ";" or a comment.  0 if empty. */
static size_t
read_value(struct cur *c, char *out, size_t size)
{
	size_t o = 0, start = c->i;

	if (peek(c) == '"') {
		c->i++;
		while (!at_end(c) && peek(c) != '"') {
			char ch = c->s[c->i++];

			if (ch == '\\' && !at_end(c))
				ch = c->s[c->i++];
			else if (ch == '\r' || ch == '\n')
				continue;
			put(c, out, size, &o, ch);
		}
		if (!at_end(c))
			c->i++;		/* the closing quote */
		out[o] = '\0';
		return c->i - start;
	}
	while (!at_end(c)) {
		int ch = peek(c);

		if (is_blank(ch) || ch == ';' || ch == '(' || ch == ')')
			break;
		put(c, out, size, &o, (char)ch);
		c->i++;
	}
	out[o] = '\0';
	return c->i - start;
}

/* After an error: on to the next ";" outside comments and quotes. */
static void
skip_to_semicolon(struct cur *c)
{
	char scratch[2];

	while (!at_end(c) && peek(c) != ';') {
		if (peek(c) == '(')
			skip_comment(c);
		else if (peek(c) == '"')
			(void)read_value(c, scratch, sizeof(scratch));
		else
			c->i++;
	}
}

/* One property (or the reason) at the cursor; -1 on a syntax error,
 * after skipping what could not be read. */
static int
read_prop(struct cur *c, struct authres_parsed *p,
    struct authres_parsed_result *r)
{
	struct authres_parsed_prop tmp, *pp;
	char scratch[2];
	size_t start = c->i;

	if (read_keyword(c, tmp.ptype, sizeof(tmp.ptype), 0) == 0)
		goto junk;
	skip_cfws(c);
	if (strcmp(tmp.ptype, "reason") == 0 && peek(c) == '=') {
		c->i++;
		skip_cfws(c);
		(void)read_value(c, r != NULL ? r->reason : tmp.value,
		    sizeof(tmp.value));
		return 0;
	}
	if (peek(c) != '.')
		goto junk;
	c->i++;
	skip_cfws(c);
	if (read_keyword(c, tmp.property, sizeof(tmp.property), 1) == 0)
		goto junk;
	skip_cfws(c);
	if (peek(c) != '=')
		goto junk;
	c->i++;
	skip_cfws(c);
	(void)read_value(c, tmp.value, sizeof(tmp.value));
	if (r == NULL)
		return 0;
	if (r->nprop >= AUTHRES_PARSE_PROPS) {
		p->truncated = 1;
		return 0;
	}
	pp = &r->prop[r->nprop++];
	*pp = tmp;
	return 0;
junk:
	/* skip the unreadable word so that the cursor moves on */
	if (c->i == start && !at_end(c) && peek(c) != ';') {
		if (peek(c) == '"')
			(void)read_value(c, scratch, sizeof(scratch));
		else
			c->i++;
	}
	while (!at_end(c) && !is_blank(peek(c)) && peek(c) != ';' &&
	    peek(c) != '(')
		c->i++;
	return -1;
}

/* One resinfo after its ";". */
static void
read_resinfo(struct cur *c, struct authres_parsed *p)
{
	struct authres_parsed_result *r = NULL;
	char method[64], result[32];

	if (read_keyword(c, method, sizeof(method), 1) == 0)
		goto error;
	skip_cfws(c);
	if (peek(c) == '/') {		/* method version (RFC 8601 2.2) */
		c->i++;
		skip_cfws(c);
		while (isdigit(peek(c)))
			c->i++;
		skip_cfws(c);
	}
	if (strcmp(method, "none") == 0 && (at_end(c) || peek(c) == ';')) {
		p->none = 1;
		return;
	}
	if (peek(c) != '=')
		goto error;
	c->i++;
	skip_cfws(c);
	if (read_keyword(c, result, sizeof(result), 0) == 0)
		goto error;
	if (p->nres < AUTHRES_PARSE_RESULTS) {
		r = &p->res[p->nres++];
		memset(r, 0, sizeof(*r));
		memcpy(r->method, method, sizeof(r->method));
		memcpy(r->result, result, sizeof(r->result));
	} else
		p->truncated = 1;
	for (;;) {
		skip_cfws(c);
		if (at_end(c) || peek(c) == ';')
			return;
		if (read_prop(c, p, r) == -1)
			p->syntax_errors++;
	}
error:
	p->syntax_errors++;
	skip_to_semicolon(c);
}

static void
init(struct authres_parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->version = 1;
}

static enum authres_parse_status
parse_at(struct cur *c, struct authres_parsed *p)
{
	skip_cfws(c);
	if (peek(c) == ';' ||
	    read_value(c, p->authserv_id, sizeof(p->authserv_id)) == 0)
		return AUTHRES_PARSE_SYNTAX;
	skip_cfws(c);
	if (isdigit(peek(c))) {		/* authres-version */
		unsigned v = 0;

		while (isdigit(peek(c))) {
			if (v < 100000)
				v = v * 10 + (unsigned)(peek(c) - '0');
			c->i++;
		}
		p->version = v;
		skip_cfws(c);
	}
	if (peek(c) != ';')
		return AUTHRES_PARSE_SYNTAX;
	while (!at_end(c) && peek(c) == ';') {
		c->i++;
		skip_cfws(c);
		if (at_end(c))
			break;		/* a trailing ";" */
		if (peek(c) == ';')
			continue;	/* an empty resinfo */
		read_resinfo(c, p);
	}
	return AUTHRES_PARSE_OK;
}

enum authres_parse_status
authres_parse(const char *text, size_t len, struct authres_parsed *out)
{
	struct cur c = { text, text != NULL ? len : 0, 0, &out->truncated };

	init(out);
	return parse_at(&c, out);
}

unsigned
authres_arc_instance(const char *text, size_t len, size_t *rest)
{
	int trunc = 0;
	struct cur c = { text, text != NULL ? len : 0, 0, &trunc };
	unsigned inst = 0;
	char tag[4];

	skip_cfws(&c);
	if (read_keyword(&c, tag, sizeof(tag), 0) == 0 ||
	    strcmp(tag, "i") != 0)
		return 0;
	skip_cfws(&c);
	if (peek(&c) != '=')
		return 0;
	c.i++;
	skip_cfws(&c);
	while (isdigit(peek(&c))) {
		if (inst < 1000)
			inst = inst * 10 + (unsigned)(peek(&c) - '0');
		c.i++;
	}
	skip_cfws(&c);
	/* RFC 8617 4.2.1: instances 1 to 50 */
	if (inst < 1 || inst > 50 || peek(&c) != ';')
		return 0;
	*rest = c.i + 1;
	return inst;
}

enum authres_parse_status
authres_parse_arc(const char *text, size_t len, struct authres_parsed *out)
{
	struct cur c = { text, text != NULL ? len : 0, 0, &out->truncated };
	size_t rest;
	unsigned inst;

	init(out);
	if ((inst = authres_arc_instance(text, len, &rest)) == 0)
		return AUTHRES_PARSE_SYNTAX;
	c.i = rest;
	out->arc_instance = inst;
	return parse_at(&c, out);
}

const struct authres_parsed_result *
authres_parsed_find(const struct authres_parsed *p, const char *method)
{
	size_t i;

	for (i = 0; i < p->nres; i++)
		if (strcasecmp(p->res[i].method, method) == 0)
			return &p->res[i];
	return NULL;
}

const char *
authres_parsed_prop(const struct authres_parsed_result *r,
    const char *ptype, const char *property)
{
	size_t i;

	for (i = 0; i < r->nprop; i++)
		if (strcasecmp(r->prop[i].ptype, ptype) == 0 &&
		    strcasecmp(r->prop[i].property, property) == 0)
			return r->prop[i].value;
	return NULL;
}
