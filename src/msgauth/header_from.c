/*
 * header_from — the From domain (header_from.h).  Two passes over one
 * field value: a tokenizer that removes CFWS and folds quoted strings,
 * comments and domain literals into single tokens, then a descent over
 * the tokens (RFC 5322 3.4 address-list, with the obsolete forms of 4.4).
 * No recursion but one level of group; no allocation.
 */
#include <ctype.h>
#include <string.h>

#include "header_from.h"

enum tok_type {
	T_WORD,		/* a run of atext (8-bit too, RFC 6532) */
	T_QSTR,		/* a quoted-string */
	T_LIT,		/* a domain literal */
	T_LT = '<', T_GT = '>', T_AT = '@', T_COMMA = ',', T_COLON = ':',
	T_SEMI = ';', T_DOT = '.',
};

struct tok {
	enum tok_type	 type;
	const char	*p;
	size_t		 len;
};

struct hf_parse {
	struct tok	 t[HEADER_FROM_TOKENS_MAX];
	size_t		 nt;
	size_t		 i;		/* the next token */
	size_t		 mailboxes;
	int		 first_literal;	/* the first mailbox's domain */
	char		*domain;	/* the first mailbox's domain */
	size_t		 domainlen;
	int		 bad_domain;
};

const char *
header_from_status_name(enum header_from_status st)
{
	switch (st) {
	case HEADER_FROM_OK:			return "ok";
	case HEADER_FROM_MISSING:		return "missing";
	case HEADER_FROM_MULTIPLE_FIELDS:	return "multiple-fields";
	case HEADER_FROM_MULTIPLE_MAILBOXES:	return "multiple-mailboxes";
	case HEADER_FROM_NO_MAILBOX:		return "no-mailbox";
	case HEADER_FROM_SYNTAX:		return "syntax";
	case HEADER_FROM_OVERFLOW:		return "overflow";
	}
	return "syntax";
}

int
header_from_ambiguous(enum header_from_status st)
{
	return st == HEADER_FROM_MULTIPLE_FIELDS ||
	    st == HEADER_FROM_MULTIPLE_MAILBOXES;
}

static int
is_special(unsigned char c)
{
	return c != '\0' && strchr("()<>[]:;@\\,.\"", c) != NULL;
}

/* Past the quoted-string, comment or domain literal that starts at
 * s[*i] (its opening character), quoted-pairs honoured, comments nested;
 * 0 if it never ends (or a literal holds a "["). */
static int
skip_delimited(const char *s, size_t n, size_t *i)
{
	char open = s[*i];
	char close = open == '"' ? '"' : open == '(' ? ')' : ']';
	size_t depth = 1;

	(*i)++;
	while (*i < n) {
		char c = s[(*i)++];

		if (c == '\\') {
			if (*i >= n)
				return 0;
			(*i)++;
		} else if (c == close) {
			if (--depth == 0)
				return 1;
		} else if (c == open && open == '(')
			depth++;
		else if (c == '[' && open == '[')
			return 0;
	}
	return 0;
}

static int
tokenize(struct hf_parse *hp, const char *s, size_t n)
{
	size_t i = 0, start;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		struct tok *t;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
			continue;
		}
		if (c == '(') {
			if (!skip_delimited(s, n, &i))
				return -1;
			continue;
		}
		if (hp->nt >= HEADER_FROM_TOKENS_MAX)
			return -1;
		t = &hp->t[hp->nt++];
		start = i;
		if (c == '"' || c == '[') {
			if (!skip_delimited(s, n, &i))
				return -1;
			t->type = c == '"' ? T_QSTR : T_LIT;
		} else if (strchr("<>@,:;.", c) != NULL) {
			t->type = (enum tok_type)c;
			i++;
		} else if (is_special(c) || c < 0x20 || c == 0x7f)
			return -1;	/* ) ] \ or a control character */
		else {
			while (i < n && !is_special((unsigned char)s[i]) &&
			    (unsigned char)s[i] > 0x20 && s[i] != 0x7f)
				i++;
			t->type = T_WORD;
		}
		t->p = s + start;
		t->len = i - start;
	}
	return 0;
}

static const struct tok *
cur(const struct hf_parse *hp)
{
	return hp->i < hp->nt ? &hp->t[hp->i] : NULL;
}

static int
cur_is(const struct hf_parse *hp, int type)
{
	const struct tok *t = cur(hp);

	return t != NULL && (int)t->type == type;
}

/* A host name label's characters (the DNS name DMARC will ask). */
static int
host_label(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' &&
		    p[i] != '_')
			return 0;
	return 1;
}

/* domain = dot-atom / domain-literal / obs-domain, at the cursor. */
static int
parse_domain(struct hf_parse *hp)
{
	int first = hp->mailboxes == 0;
	size_t o = 0;
	const struct tok *t;

	if (cur_is(hp, T_LIT)) {
		hp->i++;
		if (first)
			hp->first_literal = 1;
		return 0;
	}
	for (;;) {
		t = cur(hp);
		if (t == NULL || t->type != T_WORD)
			return -1;
		hp->i++;
		if (first) {
			/* the name with its dot, then the NUL, must fit */
			size_t need = o + (o > 0) + t->len;

			if (!host_label(t->p, t->len) ||
			    need > HEADER_FROM_DOMAIN_MAX ||
			    need + 1 > hp->domainlen || hp->bad_domain)
				hp->bad_domain = 1;
			else {
				if (o > 0)
					hp->domain[o++] = '.';
				for (size_t k = 0; k < t->len; k++)
					hp->domain[o++] = (char)tolower(
					    (unsigned char)t->p[k]);
				hp->domain[o] = '\0';
			}
		}
		if (!cur_is(hp, T_DOT))
			return 0;
		hp->i++;
	}
}

/* addr-spec = local-part "@" domain; the local part is words (atoms,
 * quoted strings) joined by dots (obs-local-part), two words never side
 * by side ("Kim kimy@example.com" is no address); runs of dots, seen in
 * the wild, are let through. */
static int
parse_addr_spec(struct hf_parse *hp)
{
	size_t words = 0;
	int after_word = 0;

	while (cur_is(hp, T_WORD) || cur_is(hp, T_QSTR) || cur_is(hp, T_DOT)) {
		if (!cur_is(hp, T_DOT)) {
			if (after_word)
				return -1;
			words++;
		}
		after_word = !cur_is(hp, T_DOT);
		hp->i++;
	}
	if (words == 0 || !cur_is(hp, T_AT))
		return -1;
	hp->i++;
	if (parse_domain(hp) == -1)
		return -1;
	hp->mailboxes++;
	return 0;
}

/* angle-addr after its "<": [obs-route] addr-spec ">". */
static int
parse_angle(struct hf_parse *hp)
{
	if (cur_is(hp, T_AT) || cur_is(hp, T_COMMA)) {
		/* obs-route: "@a.example,@b.example:" is skipped */
		while (cur(hp) != NULL && !cur_is(hp, T_COLON)) {
			if (cur_is(hp, T_GT) || cur_is(hp, T_LT) ||
			    cur_is(hp, T_SEMI) || cur_is(hp, T_QSTR))
				return -1;
			hp->i++;
		}
		if (!cur_is(hp, T_COLON))
			return -1;
		hp->i++;
	}
	if (parse_addr_spec(hp) == -1 || !cur_is(hp, T_GT))
		return -1;
	hp->i++;
	return 0;
}

static int	parse_list(struct hf_parse *hp, int in_group);

/* One element of the list: a mailbox or (outside a group) a group. */
static int
parse_elem(struct hf_parse *hp, int in_group)
{
	size_t j, phrase = 0;

	/* what follows the leading words tells the form */
	for (j = hp->i; j < hp->nt; j++) {
		enum tok_type ty = hp->t[j].type;

		if (ty != T_WORD && ty != T_QSTR && ty != T_DOT)
			break;
		phrase++;
	}
	if (j == hp->nt)
		return -1;		/* words and nothing else */
	switch (hp->t[j].type) {
	case T_LT:
		hp->i = j + 1;
		return parse_angle(hp);
	case T_AT:
		return parse_addr_spec(hp);
	case T_COLON:
		if (in_group || phrase == 0)
			return -1;
		hp->i = j + 1;
		if (parse_list(hp, 1) == -1 || !cur_is(hp, T_SEMI))
			return -1;
		hp->i++;
		return 0;
	default:
		return -1;
	}
}

/* (mailbox / group) *("," ...), empty elements allowed (obs-mbox-list);
 * in a group it stops before its ";". */
static int
parse_list(struct hf_parse *hp, int in_group)
{
	for (;;) {
		while (cur_is(hp, T_COMMA))
			hp->i++;
		if (cur(hp) == NULL || (in_group && cur_is(hp, T_SEMI)))
			return 0;
		if (parse_elem(hp, in_group) == -1)
			return -1;
		if (cur(hp) == NULL || (in_group && cur_is(hp, T_SEMI)))
			return 0;
		if (!cur_is(hp, T_COMMA))
			return -1;
	}
}

enum header_from_status
header_from_parse(const char *value, size_t len, char *domain,
    size_t domainlen)
{
	struct hf_parse hp;	/* about 24 KiB: the token table */

	if (domain == NULL || domainlen == 0)
		return HEADER_FROM_SYNTAX;
	domain[0] = '\0';
	hp.nt = hp.i = 0;
	hp.mailboxes = 0;
	hp.first_literal = hp.bad_domain = 0;
	hp.domain = domain;
	hp.domainlen = domainlen;
	if (value == NULL || tokenize(&hp, value, len) == -1 ||
	    parse_list(&hp, 0) == -1) {
		domain[0] = '\0';
		return HEADER_FROM_SYNTAX;
	}
	if (hp.mailboxes > 1) {
		domain[0] = '\0';
		return HEADER_FROM_MULTIPLE_MAILBOXES;
	}
	if (hp.mailboxes == 0)
		return HEADER_FROM_NO_MAILBOX;
	if (hp.first_literal || hp.bad_domain || domain[0] == '\0') {
		domain[0] = '\0';
		return HEADER_FROM_SYNTAX;
	}
	return HEADER_FROM_OK;
}

enum header_from_status
header_from_get(const struct msg_header *h, char *domain, size_t domainlen)
{
	size_t i, n = 0, which = 0, len;
	const char *v;

	if (domain != NULL && domainlen > 0)
		domain[0] = '\0';
	if (h->overflow)
		return HEADER_FROM_OVERFLOW;
	for (i = 0; i < h->nf; i++)
		if (msg_field_is(h, i, "from")) {
			if (n++ == 0)
				which = i;
		}
	if (n == 0)
		return HEADER_FROM_MISSING;
	if (n > 1)
		return HEADER_FROM_MULTIPLE_FIELDS;
	v = msg_field_value(h, which, &len);
	return header_from_parse(v, len, domain, domainlen);
}
