/*
 * conf_parse — the block grammar of postern.conf and its typed values.
 *
 * The grammar is small enough to be a loop over lines with a stack of open
 * blocks: a line is `}`, or KEYWORD VALUE... [{].  The keyword is looked up
 * in the table of the innermost block (conf_params.c); what happens next is
 * decided by the row's type: the common value kinds (strings, numbers,
 * sizes, durations, yes/no, word lists) are read here, once, for every
 * block; statements with a grammar of their own have a handler.  A
 * single-valued keyword given twice in one block is an error, as is a
 * keyword of another block.  The first error stops everything: the caller
 * throws the half-built snapshot away.
 */
#include "conf_priv.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_PATH_MAX	4096
#define CONF_DEF_MAX	16	/* words of a default value */

_Static_assert(sizeof(enum conf_log) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_tls_policy) == sizeof(int), "enum size");

int
conf_perr(struct conf_pctx *p, int line, const char *fmt, ...)
{
	char msg[CONF_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_errf(p->err, p->errlen, p->name, line, "%s", msg);
	return -1;
}

const struct conf_param *
conf_param_find(const struct conf_block *b, const char *name, size_t *idx)
{
	for (size_t i = 0; i < b->nparams; i++)
		if (strcmp(b->params[i].name, name) == 0) {
			if (idx)
				*idx = i;
			return &b->params[i];
		}
	return NULL;
}

int
conf_seen_line(const struct conf_frame *f, const char *kw)
{
	size_t i;

	if (conf_param_find(f->block, kw, &i) == NULL)
		return 0;
	return f->seen[i];
}

int
conf_need_args(struct conf_pctx *p, const struct conf_stmt *st, size_t min,
    size_t max)
{
	if (st->ac < min) {
		if (st->ac == 0)
			return conf_perr(p, st->line, "\"%s\" needs a value",
			    st->kw);
		return conf_perr(p, st->line, "\"%s\" needs at least %zu "
		    "values", st->kw, min);
	}
	if (st->ac > max) {
		if (max == 0)
			return conf_perr(p, st->line, "\"%s\" takes no value",
			    st->kw);
		if (max == 1)
			return conf_perr(p, st->line, "\"%s\" takes one value "
			    "(quote a value with blanks)", st->kw);
		return conf_perr(p, st->line, "\"%s\" takes at most %zu "
		    "values", st->kw, max);
	}
	for (size_t i = 0; i < st->ac; i++)
		if (st->av[i].s[0] == '\0')
			return conf_perr(p, st->line, "empty value for \"%s\"",
			    st->kw);
	return 0;
}

/* Digits only, into *v; -1 on anything else or on overflow. */
static int
read_digits(const char **sp, uint64_t *v)
{
	const char *s = *sp;

	if (!isdigit((unsigned char)*s))
		return -1;
	*v = 0;
	for (; isdigit((unsigned char)*s); s++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	return 0;
}

int
conf_val_uint(struct conf_pctx *p, const struct conf_stmt *st, const char *s,
    uint64_t min, uint64_t max, uint64_t *out)
{
	const char *q = s;
	uint64_t v;

	if (read_digits(&q, &v) == -1 || *q != '\0')
		return conf_perr(p, st->line, "bad number \"%s\" for \"%s\"",
		    s, st->kw);
	if (v < min || v > max)
		return conf_perr(p, st->line, "\"%s\" must be between %llu "
		    "and %llu", st->kw, (unsigned long long)min,
		    (unsigned long long)max);
	*out = v;
	return 0;
}

static void
fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "GMK";

	for (int i = 0; i < 3; i++) {
		uint64_t m = 1ULL << (10 * (3 - i));

		if (v >= m && v % m == 0) {
			snprintf(buf, len, "%llu%c",
			    (unsigned long long)(v / m), units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

static int
val_size(struct conf_pctx *p, const struct conf_stmt *st, const char *s,
    uint64_t min, uint64_t max, uint64_t *out)
{
	const char *q = s;
	uint64_t v, mult = 1;
	char a[32], b[32];

	if (read_digits(&q, &v) == -1)
		goto bad;
	switch (*q) {
	case '\0':
		break;
	case 'K': case 'k':
		mult = 1ULL << 10;
		break;
	case 'M': case 'm':
		mult = 1ULL << 20;
		break;
	case 'G': case 'g':
		mult = 1ULL << 30;
		break;
	default:
		goto bad;
	}
	if (*q != '\0' && q[1] != '\0')
		goto bad;
	if (v > UINT64_MAX / mult)
		v = UINT64_MAX;		/* out of any range below */
	else
		v *= mult;
	if (v < min || v > max) {
		fmt_size(min, a, sizeof(a));
		fmt_size(max, b, sizeof(b));
		return conf_perr(p, st->line, "\"%s\" must be between %s "
		    "and %s", st->kw, a, b);
	}
	*out = v;
	return 0;
 bad:
	return conf_perr(p, st->line, "bad size \"%s\" for \"%s\" (a number "
	    "with an optional K, M or G)", s, st->kw);
}

static void
fmt_dur(uint64_t v, int ms, char *buf, size_t len)
{
	static const struct { char u; uint64_t s; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};

	if (ms && v % 1000 != 0) {
		snprintf(buf, len, "%llums", (unsigned long long)v);
		return;
	}
	if (ms)
		v /= 1000;
	for (size_t i = 0; i < nitems(units); i++)
		if (v != 0 && v % units[i].s == 0) {
			snprintf(buf, len, "%llu%c",
			    (unsigned long long)(v / units[i].s), units[i].u);
			return;
		}
	snprintf(buf, len, "0s");
}

int
conf_val_dur(struct conf_pctx *p, const struct conf_stmt *st, const char *s,
    uint64_t min, uint64_t max, int ms, unsigned *out)
{
	const char *q = s;
	uint64_t v, mult;
	char a[32], b[32];

	if (read_digits(&q, &v) == -1)
		goto bad;
	if (strcmp(q, "") == 0 || strcmp(q, "s") == 0)
		mult = 1000;
	else if (strcmp(q, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(q, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(q, "d") == 0)
		mult = 86400 * 1000;
	else if (ms && strcmp(q, "ms") == 0)
		mult = 1;
	else
		goto bad;
	if (!ms) {
		/* Whole seconds: "ms" was refused above. */
		mult /= 1000;
	}
	if (v > UINT64_MAX / mult)
		v = UINT64_MAX;
	else
		v *= mult;
	if (v < min || v > max || v > (unsigned)~0U) {
		fmt_dur(min, ms, a, sizeof(a));
		fmt_dur(max, ms, b, sizeof(b));
		return conf_perr(p, st->line, "\"%s\" must be between %s "
		    "and %s", st->kw, a, b);
	}
	*out = (unsigned)v;
	return 0;
 bad:
	return conf_perr(p, st->line, "bad duration \"%s\" for \"%s\" (a "
	    "number followed by %ss, m, h or d)", s, st->kw, ms ? "ms, " : "");
}

/* Letters, digits and hyphens in dot-separated labels (RFC 1123). */
int
conf_is_domain(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		label++;
	}
	return 1;
}

int
conf_val_domain(struct conf_pctx *p, const struct conf_stmt *st,
    const char *s, const char *what, char **out)
{
	char *d;

	if (!conf_is_domain(s))
		return conf_perr(p, st->line, "bad %s \"%s\" (letters, digits, "
		    "hyphens and dots; no trailing dot)", what, s);
	d = xstrdup(s);
	for (char *q = d; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	*out = d;
	return 0;
}

int
conf_val_cidr(struct conf_pctx *p, const struct conf_stmt *st, const char *s,
    struct cidr *out)
{
	if (netaddr_parse_cidr(s, out) == -1)
		return conf_perr(p, st->line, "bad CIDR \"%s\" for \"%s\" "
		    "(ADDRESS/PREFIX, IPv4 or IPv6)", s, st->kw);
	return 0;
}

int
conf_val_name(struct conf_pctx *p, const struct conf_stmt *st,
    const char *s, const char *what)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			len = 0;
	if (len == 0 || len > CONF_NAME_MAX)
		return conf_perr(p, st->line, "bad %s name \"%s\" (up to %d "
		    "letters, digits, \"-\", \"_\" and \".\")", what, s,
		    CONF_NAME_MAX);
	return 0;
}

/* Append to a fixed buffer, truncating (for lists in messages). */
static void
cat(char *dst, const char *s, size_t size)
{
	size_t len = strlen(dst);

	if (len < size)
		snprintf(dst + len, size - len, "%s", s);
}

static int
set_string(struct conf_pctx *p, const struct conf_param *pp, char **dst,
    const struct conf_stmt *st)
{
	const char *s = st->av[0].s;
	size_t max = pp->max ? pp->max : CONF_PATH_MAX;
	char *v = NULL;

	if (strlen(s) > max)
		return conf_perr(p, st->line, "value of \"%s\" too long (more "
		    "than %zu characters)", st->kw, max);
	switch (pp->type) {
	case CONF_T_TEXT:
		for (const char *q = s; *q; q++)
			if (*q < 0x20 || *q > 0x7e)
				return conf_perr(p, st->line, "\"%s\" takes "
				    "printable ASCII only", st->kw);
		break;
	case CONF_T_HOST:
		if (conf_val_domain(p, st, s, "host name", &v) == -1)
			return -1;
		break;
	default:
		break;
	}
	free(*dst);
	*dst = v ? v : xstrdup(s);
	return 0;
}

static int
set_enum(struct conf_pctx *p, const struct conf_param *pp, void *field,
    const struct conf_stmt *st)
{
	char list[256] = "";
	const struct conf_word *w;

	for (w = pp->words; w->word; w++)
		if (strcmp(w->word, st->av[0].s) == 0) {
			memcpy(field, &w->value, sizeof(int));
			return 0;
		}
	for (w = pp->words; w->word; w++) {
		if (w != pp->words)
			cat(list, w[1].word ? ", " : " or ", sizeof(list));
		cat(list, w->word, sizeof(list));
	}
	return conf_perr(p, st->line, "\"%s\" takes %s", st->kw, list);
}

/* The common value kinds; a handler for the others. */
static int
set_value(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	char *field = (char *)base + pp->off;
	size_t *np = (size_t *)((char *)base + pp->noff);
	uint64_t v;

	if (pp->type == CONF_T_FN)
		return pp->fn(p, pp, base, st);
	if (pp->type == CONF_T_DNSREF)
		return conf_dns_ref(p, st, (struct conf_dnslist **)field,
		    pp->role);
	if (pp->type == CONF_T_DURLIST || pp->type == CONF_T_CIDRLIST ||
	    pp->type == CONF_T_DOMAINLIST) {
		if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
			return -1;
	} else if (conf_need_args(p, st, 1, 1) == -1)
		return -1;

	switch (pp->type) {
	case CONF_T_STR:
	case CONF_T_TEXT:
	case CONF_T_PATH:
	case CONF_T_HOST:
		return set_string(p, pp, (char **)field, st);
	case CONF_T_UINT:
		if (conf_val_uint(p, st, st->av[0].s, pp->min, pp->max,
		    &v) == -1)
			return -1;
		*(unsigned *)field = (unsigned)v;
		return 0;
	case CONF_T_SIZE:
		return val_size(p, st, st->av[0].s, pp->min, pp->max,
		    (uint64_t *)field);
	case CONF_T_DUR:
	case CONF_T_DUR_MS:
		return conf_val_dur(p, st, st->av[0].s, pp->min, pp->max,
		    pp->type == CONF_T_DUR_MS, (unsigned *)field);
	case CONF_T_BOOL:
		if (strcmp(st->av[0].s, "yes") == 0)
			*(int *)field = 1;
		else if (strcmp(st->av[0].s, "no") == 0)
			*(int *)field = 0;
		else
			return conf_perr(p, st->line, "\"%s\" takes yes or "
			    "no", st->kw);
		return 0;
	case CONF_T_ENUM:
		return set_enum(p, pp, field, st);
	case CONF_T_DURLIST: {
		unsigned *list = xcalloc(st->ac, sizeof(*list));

		for (size_t i = 0; i < st->ac; i++)
			if (conf_val_dur(p, st, st->av[i].s, pp->min, pp->max,
			    0, &list[i]) == -1) {
				free(list);
				return -1;
			}
		free(*(unsigned **)field);
		*(unsigned **)field = list;
		*np = st->ac;
		return 0;
	}
	case CONF_T_CIDRLIST: {
		struct cidr **list = (struct cidr **)field, c;

		for (size_t i = 0; i < st->ac; i++) {
			if (conf_val_cidr(p, st, st->av[i].s, &c) == -1)
				return -1;
			*list = xreallocarray(*list, *np + 1, sizeof(c));
			(*list)[(*np)++] = c;
		}
		return 0;
	}
	case CONF_T_DOMAINLIST:
		for (size_t i = 0; i < st->ac; i++) {
			char *dom = NULL;

			if (conf_val_domain(p, st, st->av[i].s, "domain",
			    &dom) == -1)
				return -1;
			conf_strv_add((char ***)field, np, dom);
		}
		return 0;
	default:
		return conf_perr(p, st->line, "internal error: \"%s\" has no "
		    "type", st->kw);
	}
}

int
conf_defaults(struct conf_pctx *p, const struct conf_block *b, void *base,
    int line)
{
	for (size_t i = 0; i < b->nparams; i++) {
		const struct conf_param *pp = &b->params[i];
		struct conf_tok tok[CONF_DEF_MAX];
		char buf[256], *save, *w;
		struct conf_stmt st = { .kw = pp->name, .av = tok,
		    .line = line };

		if (pp->def == NULL || pp->type == CONF_T_FN ||
		    pp->type == CONF_T_BLOCK)
			continue;
		snprintf(buf, sizeof(buf), "%s", pp->def);
		if (pp->type != CONF_T_DURLIST && pp->type != CONF_T_CIDRLIST &&
		    pp->type != CONF_T_DOMAINLIST) {
			/* One value, blanks and all ("ESMTP postern"). */
			tok[st.ac].s = buf;
			tok[st.ac++].quoted = 1;
		} else for (w = strtok_r(buf, " ", &save);
		    w && st.ac < CONF_DEF_MAX; w = strtok_r(NULL, " ", &save)) {
			tok[st.ac].s = w;
			tok[st.ac++].quoted = 0;
		}
		if (set_value(p, pp, base, &st) == -1)
			return -1;
	}
	return 0;
}

/* A keyword of this grammar, but of another block: say where it goes. */
static int
not_here(struct conf_pctx *p, const struct conf_frame *f,
    const struct conf_stmt *st)
{
	char where[256] = "";
	size_t n = 0, total = 0;

	for (size_t i = 0; i < conf_nblocks; i++)
		total += conf_blocks[i] != f->block &&
		    conf_param_find(conf_blocks[i], st->kw, NULL) != NULL;
	/* "in a, in b or in c" */
	for (size_t i = 0; i < conf_nblocks; i++) {
		if (conf_blocks[i] == f->block ||
		    conf_param_find(conf_blocks[i], st->kw, NULL) == NULL)
			continue;
		if (n++)
			cat(where, n == total ? " or " : ", ", sizeof(where));
		cat(where, conf_blocks[i]->where, sizeof(where));
	}
	if (n == 0)
		return conf_perr(p, st->line, "unknown keyword \"%s\"", st->kw);
	return conf_perr(p, st->line, "\"%s\" is not allowed %s (only %s)",
	    st->kw, f->block->where, where);
}

static int
close_block(struct conf_pctx *p)
{
	struct conf_frame *f = &p->stack[p->depth - 1];

	if (f->block->close && f->block->close(p, f) == -1)
		return -1;
	p->depth--;
	return 0;
}

static int
statement(struct conf_pctx *p, const struct conf_line *ln)
{
	struct conf_frame *f = &p->stack[p->depth - 1], *nf;
	const struct conf_param *pp;
	struct conf_stmt st;
	size_t idx;

	if (conf_tok_is(&ln->tok[0], '}')) {
		if (ln->ntok > 1)
			return conf_perr(p, ln->lineno, "unexpected \"%s\" "
			    "after \"}\"", ln->tok[1].s);
		if (p->depth == 1)
			return conf_perr(p, ln->lineno, "\"}\" without an "
			    "open block");
		return close_block(p);
	}
	st.kw = ln->tok[0].s;
	st.line = ln->lineno;
	st.opens = ln->ntok > 1 && conf_tok_is(&ln->tok[ln->ntok - 1], '{');
	st.av = ln->tok + 1;
	st.ac = ln->ntok - 1 - (size_t)st.opens;
	if (conf_tok_is(&ln->tok[0], '{'))
		return conf_perr(p, st.line, "\"{\" must end the line that "
		    "names the block");
	for (size_t i = 0; i < st.ac; i++)
		if (conf_tok_is(&st.av[i], '{') || conf_tok_is(&st.av[i], '}'))
			return conf_perr(p, st.line, "unexpected \"%s\" (a "
			    "brace must end a line or stand alone)",
			    st.av[i].s);

	if ((pp = conf_param_find(f->block, st.kw, &idx)) == NULL)
		return not_here(p, f, &st);
	if (st.opens && pp->type != CONF_T_BLOCK)
		return conf_perr(p, st.line, "\"%s\" does not open a block",
		    st.kw);
	if (!st.opens && pp->type == CONF_T_BLOCK &&
	    !(pp->flags & CONF_F_NOBLOCK))
		return conf_perr(p, st.line, "\"%s\" opens a block: end the "
		    "line with \"{\"", st.kw);
	if (f->seen[idx] && !(pp->flags & CONF_F_REPEAT))
		return conf_perr(p, st.line, "duplicate \"%s\" (first at line "
		    "%d)", st.kw, f->seen[idx]);
	if (f->seen[idx] == 0)
		f->seen[idx] = st.line;
	if (pp->type != CONF_T_BLOCK)
		return set_value(p, pp, f->base, &st);

	p->newbase = NULL;
	if (pp->fn(p, pp, f->base, &st) == -1)
		return -1;
	if (p->newbase == NULL)		/* a statement after all */
		return 0;
	if (p->depth == CONF_DEPTH_MAX)
		return conf_perr(p, st.line, "blocks nested too deep");
	nf = &p->stack[p->depth++];
	memset(nf, 0, sizeof(*nf));
	nf->block = pp->block;
	nf->base = p->newbase;
	nf->line = st.line;
	return 0;
}

int
conf_parse(struct conf *c, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct conf_pctx p = { .conf = c, .name = name, .err = err,
	    .errlen = errlen, .depth = 1 };
	struct conf_lexer lx;
	struct conf_line ln = { 0 };
	int rc;

	p.stack[0].block = &conf_block_top;
	p.stack[0].base = c;
	if (conf_defaults(&p, &conf_block_top, c, 0) == -1 ||
	    conf_defaults(&p, &conf_block_queue, &c->queue, 0) == -1 ||
	    conf_defaults(&p, &conf_block_ldap, &c->ldap, 0) == -1)
		goto fail;

	conf_lex_init(&lx, name, text, len);
	while ((rc = conf_lex_line(&lx, &ln, err, errlen)) == 1)
		if (ln.ntok > 0 && statement(&p, &ln) == -1)
			goto fail;
	if (rc == -1)
		goto fail;
	if (p.depth > 1) {
		struct conf_frame *f = &p.stack[p.depth - 1];

		conf_perr(&p, f->line, "\"%s\" block is never closed",
		    f->block->name);
		goto fail;
	}
	if (close_block(&p) == -1)
		goto fail;
	rc = 0;
	goto out;
 fail:
	rc = -1;
 out:
	conf_line_free(&ln);
	for (size_t i = 0; i < p.nrefs; i++)
		free(p.refs[i].name);
	free(p.refs);
	return rc;
}
