/*
 * smtp_parse — the command line framer, the command splitter and the
 * MAIL/RCPT parameter parsers (the DATA reader is in smtp_data.c).
 *
 * Everything here is a pure function over (pointer, length): no socket, no
 * global, no allocation, no NUL terminator assumed.  The framer only ever
 * needs max + 2 bytes of a line to decide, so the caller's input buffer
 * stays bounded whatever the peer sends; an overlong line is consumed as it
 * arrives and reported once, at its LF (the resync point).
 */
#include <string.h>

#include "smtp_parse.h"
#include "xtext.h"

static const char *verb_names[SMTP_CMD_COUNT] = {
	[SMTP_CMD_UNKNOWN] = "UNKNOWN",
	[SMTP_CMD_HELO] = "HELO",
	[SMTP_CMD_EHLO] = "EHLO",
	[SMTP_CMD_MAIL] = "MAIL",
	[SMTP_CMD_RCPT] = "RCPT",
	[SMTP_CMD_DATA] = "DATA",
	[SMTP_CMD_BDAT] = "BDAT",
	[SMTP_CMD_RSET] = "RSET",
	[SMTP_CMD_NOOP] = "NOOP",
	[SMTP_CMD_QUIT] = "QUIT",
	[SMTP_CMD_VRFY] = "VRFY",
	[SMTP_CMD_EXPN] = "EXPN",
	[SMTP_CMD_HELP] = "HELP",
	[SMTP_CMD_STARTTLS] = "STARTTLS",
	[SMTP_CMD_AUTH] = "AUTH",
};

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Does s[0..n) equal the NUL-terminated word, ignoring ASCII case? */
static int
word_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (word[i] == '\0' ||
		    lower((unsigned char)s[i]) != lower((unsigned char)word[i]))
			return 0;
	return word[n] == '\0';
}

/* ---- command line framing ---- */

void
smtp_framer_init(struct smtp_framer *f, size_t max)
{
	f->max = max;
	f->skipping = 0;
}

/*
 * Precedence when a line has several faults: TOO_LONG, then BARE_LF, then
 * BAD_CHAR.  All are 500 5.5.2; the order only decides the log line.
 */
enum smtp_line_status
smtp_framer_next(struct smtp_framer *f, const char *buf, size_t len,
    size_t *linelen, size_t *consumed)
{
	const char *lf;
	size_t window, k;
	int full;

	*linelen = 0;
	*consumed = 0;
	if (!f->skipping) {
		/* text (max), CR, LF: a good line has its LF in max + 2 */
		full = len > f->max && len - f->max >= 2;
		window = full ? f->max + 2 : len;
		lf = memchr(buf, '\n', window);
		if (lf == NULL) {
			if (!full)
				return SMTP_LINE_NEED_MORE;
			f->skipping = 1;
			buf += window;
			len -= window;
			*consumed = window;
		} else {
			k = (size_t)(lf - buf);
			*consumed = k + 1;
			if (k == 0 || buf[k - 1] != '\r')
				return k > f->max ? SMTP_LINE_TOO_LONG :
				    SMTP_LINE_BARE_LF;
			k--;
			if (k > f->max)
				return SMTP_LINE_TOO_LONG;
			if (memchr(buf, '\0', k) != NULL ||
			    memchr(buf, '\r', k) != NULL)
				return SMTP_LINE_BAD_CHAR;
			*linelen = k;
			return SMTP_LINE_OK;
		}
	}
	/* Skipping the rest of an overlong line, up to and with its LF. */
	if ((lf = memchr(buf, '\n', len)) == NULL) {
		*consumed += len;
		return SMTP_LINE_NEED_MORE;
	}
	*consumed += (size_t)(lf - buf) + 1;
	f->skipping = 0;
	return SMTP_LINE_TOO_LONG;
}

/* ---- commands ---- */

const char *
smtp_verb_name(enum smtp_verb v)
{
	if ((int)v < 0 || v >= SMTP_CMD_COUNT)
		return verb_names[SMTP_CMD_UNKNOWN];
	return verb_names[v];
}

int
smtp_parse_command(const char *line, size_t len, struct smtp_cmd *out)
{
	size_t vlen;
	int v;

	/* Trailing blanks are common client noise and carry no meaning. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		;
	out->verb = SMTP_CMD_UNKNOWN;
	if (vlen < len) {
		out->arg = line + vlen + 1;
		out->arglen = len - vlen - 1;
	} else {
		out->arg = line + len;
		out->arglen = 0;
	}
	for (v = SMTP_CMD_UNKNOWN + 1; v < SMTP_CMD_COUNT; v++) {
		if (word_eq(line, vlen, verb_names[v])) {
			out->verb = (enum smtp_verb)v;
			return 0;
		}
	}
	return -1;
}

/* ---- MAIL and RCPT parameters ---- */

struct param {
	const char	*key;
	size_t		 klen;
	const char	*val;		/* NULL for a bare keyword */
	size_t		 vlen;
};

/*
 * The next esmtp-param (RFC 5321 4.1.2) from s[*pos..len), after any
 * spaces: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"),
 * esmtp-value = 1*(%d33-60 / %d62-126).  None of the parameters we know
 * takes 8-bit text, so a UTF-8 esmtp-value (RFC 6531) is a syntax error.
 * Returns 1 with a parameter, 0 at the end, -1 on a syntax error.
 */
static int
next_param(const char *s, size_t len, size_t *pos, struct param *p)
{
	size_t i = *pos, start;
	unsigned char c;

	while (i < len && s[i] == ' ')
		i++;
	if (i == len) {
		*pos = i;
		return 0;
	}
	start = i;
	for (; i < len && s[i] != ' ' && s[i] != '='; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && i > start)))
			return -1;
	}
	if (i == start)
		return -1;
	p->key = s + start;
	p->klen = i - start;
	p->val = NULL;
	p->vlen = 0;
	if (i < len && s[i] == '=') {
		start = ++i;
		for (; i < len && s[i] != ' '; i++) {
			c = (unsigned char)s[i];
			if (c < 33 || c > 126 || c == '=')
				return -1;
		}
		if (i == start)
			return -1;
		p->val = s + start;
		p->vlen = i - start;
	}
	*pos = i;
	return 1;
}

/* xtext (lib/xtext.h), at most ADDR_PARAM_MAX octets as sent. */
static int
param_xtext_ok(const char *s, size_t n)
{
	return n <= ADDR_PARAM_MAX && xtext_valid(s, n);
}

static void
copy_value(char *dst, const struct param *p)
{
	memcpy(dst, p->val, p->vlen);
	dst[p->vlen] = '\0';
}

/*
 * "FROM:" or "TO:" (any case), one optional space, then the path.  The
 * path must be followed by the end or a space.  *pos is left after it.
 */
static enum smtp_param_status
parse_path_part(const char *arg, size_t len, const char *kw, int flags,
    struct addr *a, enum addr_status *ast, size_t *pos)
{
	size_t i = strlen(kw), end;

	if (len < i || !word_eq(arg, i, kw))
		return SMTP_PARAM_SYNTAX;
	if (i < len && arg[i] == ' ')
		i++;
	*ast = addr_parse_path(arg + i, len - i, flags, a, &end);
	if (*ast != ADDR_OK)
		return SMTP_PARAM_ADDR;
	i += end;
	if (i < len && arg[i] != ' ')
		return SMTP_PARAM_SYNTAX;
	*pos = i;
	return SMTP_PARAM_OK;
}

static int
parse_size(const struct param *p, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	unsigned d;

	if (p->val == NULL)
		return -1;
	for (i = 0; i < p->vlen; i++) {
		if (p->val[i] < '0' || p->val[i] > '9')
			return -1;
		d = (unsigned)(p->val[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

enum {
	P_SIZE = 0x01, P_BODY = 0x02, P_SMTPUTF8 = 0x04, P_RET = 0x08,
	P_ENVID = 0x10, P_AUTH = 0x20, P_NOTIFY = 0x40, P_ORCPT = 0x80
};

/*
 * One parameter of a verb: the verb's handler sets *bit to the parameter's
 * flag (a repeat is a syntax error) and returns OK, or the fault.
 */
typedef enum smtp_param_status (*param_fn)(const struct param *p,
    void *ctx, unsigned *bit);

/*
 * The parameters after the path.  They are judged left to right and the
 * first fault decides the result, so "FOO=1 SIZE=x" is UNKNOWN and
 * "SIZE=x FOO=1" SYNTAX.
 */
static enum smtp_param_status
parse_params(const char *arg, size_t len, size_t pos, param_fn fn,
    void *ctx)
{
	enum smtp_param_status st;
	struct param p;
	unsigned seen = 0, bit = 0;
	int r;

	while ((r = next_param(arg, len, &pos, &p)) == 1) {
		if ((st = fn(&p, ctx, &bit)) != SMTP_PARAM_OK)
			return st;
		if (seen & bit)
			return SMTP_PARAM_SYNTAX;
		seen |= bit;
	}
	return r == -1 ? SMTP_PARAM_SYNTAX : SMTP_PARAM_OK;
}

struct mail_ctx {
	struct smtp_mail_args	*out;
	int			 utf8_ok;
};

static enum smtp_param_status
mail_param(const struct param *p, void *ctx, unsigned *bit)
{
	struct smtp_mail_args *out = ((struct mail_ctx *)ctx)->out;

	if (word_eq(p->key, p->klen, "SIZE")) {
		*bit = P_SIZE;
		if (parse_size(p, &out->size) == -1)
			return SMTP_PARAM_SYNTAX;
	} else if (word_eq(p->key, p->klen, "BODY")) {
		*bit = P_BODY;
		if (p->val == NULL)
			return SMTP_PARAM_SYNTAX;
		if (word_eq(p->val, p->vlen, "7BIT"))
			out->body = SMTP_BODY_7BIT;
		else if (word_eq(p->val, p->vlen, "8BITMIME"))
			out->body = SMTP_BODY_8BITMIME;
		else if (word_eq(p->val, p->vlen, "BINARYMIME"))
			out->body = SMTP_BODY_BINARYMIME;
		else
			return SMTP_PARAM_SYNTAX;
	} else if (word_eq(p->key, p->klen, "SMTPUTF8") &&
	    ((struct mail_ctx *)ctx)->utf8_ok) {
		*bit = P_SMTPUTF8;
		if (p->val != NULL)
			return SMTP_PARAM_SYNTAX;
		out->smtputf8 = 1;
	} else if (word_eq(p->key, p->klen, "RET")) {
		*bit = P_RET;
		if (p->val == NULL)
			return SMTP_PARAM_SYNTAX;
		if (word_eq(p->val, p->vlen, "FULL"))
			out->ret = SMTP_RET_FULL;
		else if (word_eq(p->val, p->vlen, "HDRS"))
			out->ret = SMTP_RET_HDRS;
		else
			return SMTP_PARAM_SYNTAX;
	} else if (word_eq(p->key, p->klen, "ENVID")) {
		*bit = P_ENVID;
		if (p->val == NULL || !param_xtext_ok(p->val, p->vlen))
			return SMTP_PARAM_SYNTAX;
		copy_value(out->envid, p);
	} else if (word_eq(p->key, p->klen, "AUTH")) {
		/* RFC 4954 5: xtext, "<>" included */
		*bit = P_AUTH;
		if (p->val == NULL || !param_xtext_ok(p->val, p->vlen))
			return SMTP_PARAM_SYNTAX;
		copy_value(out->auth, p);
	} else
		return SMTP_PARAM_UNKNOWN;
	return SMTP_PARAM_OK;
}

enum smtp_param_status
smtp_parse_mail(const char *arg, size_t len, int utf8_ok,
    struct smtp_mail_args *out)
{
	struct mail_ctx ctx = { out, utf8_ok };
	enum smtp_param_status st;
	size_t pos;

	memset(out, 0, sizeof(*out));
	out->body = SMTP_BODY_7BIT;
	out->ret = SMTP_RET_NONE;
	out->addr_status = ADDR_OK;
	/* Parsed with UTF-8 allowed when offered; whether SMTPUTF8 was
	 * actually given is only known after the parameters. */
	st = parse_path_part(arg, len, "FROM:", ADDR_F_ALLOW_NULL |
	    (utf8_ok ? ADDR_F_UTF8 : 0), &out->sender, &out->addr_status,
	    &pos);
	if (st == SMTP_PARAM_OK) {
		out->params = pos;
		st = parse_params(arg, len, pos, mail_param, &ctx);
	}
	if (st != SMTP_PARAM_OK)
		return st;
	if (out->sender.utf8 && !out->smtputf8) {
		out->addr_status = ADDR_ERR_UTF8;
		return SMTP_PARAM_ADDR;
	}
	return SMTP_PARAM_OK;
}

/*
 * NOTIFY=NEVER, or a comma list of SUCCESS, FAILURE, DELAY (RFC 3461
 * 4.1).  A repeated element is harmless and accepted.
 */
static int
parse_notify(const struct param *p, unsigned *out)
{
	size_t i = 0, start;
	unsigned v = 0;

	if (p->val == NULL)
		return -1;
	for (;;) {
		start = i;
		while (i < p->vlen && p->val[i] != ',')
			i++;
		if (word_eq(p->val + start, i - start, "NEVER"))
			v |= SMTP_NOTIFY_NEVER;
		else if (word_eq(p->val + start, i - start, "SUCCESS"))
			v |= SMTP_NOTIFY_SUCCESS;
		else if (word_eq(p->val + start, i - start, "FAILURE"))
			v |= SMTP_NOTIFY_FAILURE;
		else if (word_eq(p->val + start, i - start, "DELAY"))
			v |= SMTP_NOTIFY_DELAY;
		else
			return -1;	/* also an empty element */
		if (i == p->vlen)
			break;
		i++;
	}
	if ((v & SMTP_NOTIFY_NEVER) && v != SMTP_NOTIFY_NEVER)
		return -1;
	*out = v;
	return 0;
}

/* ORCPT = addr-type ";" xtext (RFC 3461 4.2), addr-type an atom. */
static int
orcpt_valid(const struct param *p)
{
	size_t i;
	unsigned char c;

	if (p->val == NULL || p->vlen > ADDR_PARAM_MAX)
		return 0;
	for (i = 0; i < p->vlen && p->val[i] != ';'; i++) {
		c = (unsigned char)p->val[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL))
			return 0;
	}
	if (i == 0 || i == p->vlen)
		return 0;
	return param_xtext_ok(p->val + i + 1, p->vlen - i - 1);
}

static enum smtp_param_status
rcpt_param(const struct param *p, void *ctx, unsigned *bit)
{
	struct smtp_rcpt_args *out = ctx;

	if (word_eq(p->key, p->klen, "NOTIFY")) {
		*bit = P_NOTIFY;
		if (parse_notify(p, &out->notify) == -1)
			return SMTP_PARAM_SYNTAX;
	} else if (word_eq(p->key, p->klen, "ORCPT")) {
		*bit = P_ORCPT;
		if (!orcpt_valid(p))
			return SMTP_PARAM_SYNTAX;
		copy_value(out->orcpt, p);
	} else
		return SMTP_PARAM_UNKNOWN;
	return SMTP_PARAM_OK;
}

enum smtp_param_status
smtp_parse_rcpt(const char *arg, size_t len, int utf8,
    struct smtp_rcpt_args *out)
{
	enum smtp_param_status st;
	size_t pos;

	memset(out, 0, sizeof(*out));
	out->addr_status = ADDR_OK;
	st = parse_path_part(arg, len, "TO:", ADDR_F_POSTMASTER |
	    (utf8 ? ADDR_F_UTF8 : 0), &out->rcpt, &out->addr_status, &pos);
	if (st != SMTP_PARAM_OK)
		return st;
	out->params = pos;
	return parse_params(arg, len, pos, rcpt_param, out);
}
