/*
 * smtp_reply — the pure parts of smtp_client.h: the reply parser, the EHLO
 * keyword reader, the MAIL/RCPT line builders and the canonicalizer of
 * outgoing message bytes.
 *
 * No sockets, no allocation, no global state: every function works on the
 * buffer it is given, so each is table-tested and fuzzed on its own.  The
 * parser decides only from bytes that have arrived and reports BAD as soon
 * as they prove it, so a peer cannot make us buffer more than
 * SMTP_CLIENT_REPLY_MAX.  The canonicalizer is what keeps postern from ever
 * being the sending half of an SMTP smuggling attack (docs/smtp.md): whatever the
 * queue file holds, the wire carries CRLF-only, dot-stuffed lines of at
 * most 998 octets.
 */
#include "smtp_client.h"
#include "postern_limits.h"
#include "smtp_parse.h"
#include "xtext.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')

/* Printable ASCII or '?': reply text ends up in logs and DSNs. */
static char
printable(char c)
{
	return c >= 0x20 && c <= 0x7e ? c : '?';
}

static void
copy_text(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t i;

	if (n > dstlen - 1)
		n = dstlen - 1;
	for (i = 0; i < n; i++)
		dst[i] = printable(src[i]);
	dst[n] = '\0';
}

/*
 * Check the start of a line that may be incomplete: "DDD" with the first
 * digit 2..5 (so 200..599), the same code as earlier lines (code > 0),
 * then ' ', '-' or the line end.  0 if the bytes at hand already rule the
 * line out.
 */
static int
line_prefix_ok(const char *p, size_t n, int code)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n && i < 3; i++) {
		if (!IS_DIGIT(p[i]))
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	if (n >= 1 && (p[0] < '2' || p[0] > '5'))
		return 0;
	if (n >= 3 && code > 0 && v != code)
		return 0;
	if (n >= 4 && p[3] != ' ' && p[3] != '-' && p[3] != '\r')
		return 0;
	return 1;
}

/* Keep a whole keyword line or none of it: a cut "SIZE 10" would lie.
 * A keyword line takes fewer octets in ext than on the wire ("250-" and
 * CRLF become one LF), and a reply is at most SMTP_CLIENT_REPLY_MAX, the
 * size of ext: every keyword fits, the test is a guard. */
static void
ext_add(struct smtp_reply *out, size_t *extlen, const char *p, size_t n)
{
	size_t i;

	if (*extlen + n + 2 > sizeof(out->ext))
		return;
	for (i = 0; i < n; i++) {
		char c = printable(p[i]);

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		out->ext[(*extlen)++] = c;
	}
	out->ext[(*extlen)++] = '\n';
	out->ext[*extlen] = '\0';
}

enum smtp_reply_status
smtp_client_parse_reply(const char *buf, size_t len, struct smtp_reply *out,
    size_t *consumed)
{
	const char *lf, *line;
	size_t pos = 0, avail, scan, end, n, extlen = 0;
	int code = 0, nlines = 0;

	/* ext is as large as a reply: set the strings, not every byte */
	out->code = 0;
	out->text[0] = '\0';
	out->ext[0] = '\0';
	*consumed = 0;
	for (;;) {
		line = buf + pos;
		avail = len - pos;
		/* a line of LINE_MAX octets plus CR LF is the longest */
		scan = avail < SMTP_CLIENT_REPLY_LINE_MAX + 2 ? avail :
		    SMTP_CLIENT_REPLY_LINE_MAX + 2;
		lf = memchr(line, '\n', scan);
		if (lf == NULL) {
			if (avail >= SMTP_CLIENT_REPLY_LINE_MAX + 2 ||
			    len > SMTP_CLIENT_REPLY_MAX ||
			    !line_prefix_ok(line, avail, code))
				return SMTP_REPLY_BAD;
			return SMTP_REPLY_NEED_MORE;
		}
		end = (size_t)(lf - buf);
		if (end + 1 > SMTP_CLIENT_REPLY_MAX)
			return SMTP_REPLY_BAD;
		if (end > pos && buf[end - 1] == '\r')
			end--;
		n = end - pos;
		if (n > SMTP_CLIENT_REPLY_LINE_MAX || n < 3 ||
		    !line_prefix_ok(line, n, code) ||
		    (n > 3 && line[3] != ' ' && line[3] != '-'))
			return SMTP_REPLY_BAD;
		if (code == 0)
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
		if (nlines == 0)
			copy_text(out->text, sizeof(out->text), line + 3 +
			    (n > 3), n > 3 ? n - 4 : 0);
		else
			ext_add(out, &extlen, line + 4, n > 3 ? n - 4 : 0);
		nlines++;
		pos = (size_t)(lf - buf) + 1;
		if (n == 3 || line[3] != '-') {
			out->code = code;
			*consumed = pos;
			return SMTP_REPLY_OK;
		}
	}
}

char *
smtp_client_format_reply(const struct smtp_reply *r, char *buf, size_t len)
{
	if (r->text[0] != '\0')
		snprintf(buf, len, "%03d %s", r->code, r->text);
	else
		snprintf(buf, len, "%03d", r->code);
	return buf;
}

/* Leading decimal digits, saturating: a huge limit is no limit for us. */
static uint64_t
parse_size(const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && IS_DIGIT(p[i]); i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v;
}

void
smtp_client_parse_ehlo(const struct smtp_reply *r,
    struct smtp_client_ehlo *out)
{
	const char *p = r->ext, *nl, *sp;
	size_t n, kw;

	memset(out, 0, sizeof(*out));
	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		n = (size_t)(nl - p);
		sp = memchr(p, ' ', n);
		kw = sp != NULL ? (size_t)(sp - p) : n;
#define KW(s)	(kw == sizeof(s) - 1 && memcmp(p, s, kw) == 0)
		if (KW("PIPELINING"))
			out->pipelining = 1;
		else if (KW("8BITMIME"))
			out->eightbitmime = 1;
		else if (KW("SMTPUTF8"))
			out->smtputf8 = 1;
		else if (KW("DSN"))
			out->dsn = 1;
		else if (KW("STARTTLS"))
			out->starttls = 1;
		else if (KW("SIZE")) {
			out->size_offered = 1;
			out->size = sp != NULL ?
			    parse_size(sp + 1, n - kw - 1) : 0;
		}
#undef KW
	}
}

/* xtext as smtp_parse.c accepted it (RFC 3461 4), within the bound. */
static int
xtext_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= ADDR_PARAM_MAX && xtext_valid(s, n);
}

/* No CR, LF or other control: the address goes into a command line. */
static int
path_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    n >= ADDR_PATH_MAX)
			return 0;
	return 1;
}

/* snprintf at *off; -1 once anything did not fit. */
static int
add(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
add(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*off >= len)
		return -1;
	va_start(ap, fmt);
	r = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= len - *off) {
		*off = len;
		return -1;
	}
	*off += (size_t)r;
	return 0;
}

int
smtp_client_mail_line(char *buf, size_t len, const struct smtp_client_msg *m,
    const struct smtp_client_ehlo *e)
{
	size_t off = 0;

	if (!path_ok(m->sender))
		return -1;
	add(buf, len, &off, "MAIL FROM:<%s>", m->sender);
	if (e->size_offered)
		add(buf, len, &off, " SIZE=%llu",
		    (unsigned long long)smtp_client_msg_size(m));
	/* without 8BITMIME we send as is, as Postfix does: no conversion */
	if (m->body_8bit && e->eightbitmime)
		add(buf, len, &off, " BODY=8BITMIME");
	if (m->smtputf8 && e->smtputf8)
		add(buf, len, &off, " SMTPUTF8");
	if (e->dsn && m->ret == SMTP_RET_FULL)
		add(buf, len, &off, " RET=FULL");
	else if (e->dsn && m->ret == SMTP_RET_HDRS)
		add(buf, len, &off, " RET=HDRS");
	if (e->dsn && xtext_ok(m->envid))
		add(buf, len, &off, " ENVID=%s", m->envid);
	return add(buf, len, &off, "\r\n");
}

int
smtp_client_rcpt_line(char *buf, size_t len, const struct smtp_client_rcpt *r,
    const struct smtp_client_ehlo *e)
{
	unsigned nt = r->notify;
	size_t off = 0;

	if (!path_ok(r->addr))
		return -1;
	add(buf, len, &off, "RCPT TO:<%s>", r->addr);
	/* RFC 3461 4.1: NEVER alone, or a list of the others */
	if (e->dsn && (nt & SMTP_NOTIFY_NEVER))
		add(buf, len, &off, " NOTIFY=NEVER");
	else if (e->dsn && (nt & (SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE |
	    SMTP_NOTIFY_DELAY))) {
		const char *sep = "=";

		add(buf, len, &off, " NOTIFY");
		if (nt & SMTP_NOTIFY_SUCCESS) {
			add(buf, len, &off, "%sSUCCESS", sep);
			sep = ",";
		}
		if (nt & SMTP_NOTIFY_FAILURE) {
			add(buf, len, &off, "%sFAILURE", sep);
			sep = ",";
		}
		if (nt & SMTP_NOTIFY_DELAY)
			add(buf, len, &off, "%sDELAY", sep);
	}
	if (e->dsn && xtext_ok(r->orcpt))
		add(buf, len, &off, " ORCPT=%s", r->orcpt);
	return add(buf, len, &off, "\r\n");
}

static char *
put_crlf(char *o)
{
	*o++ = '\r';
	*o++ = '\n';
	return o;
}

/*
 * A CR becomes CRLF at once and pending_cr swallows an LF right after it,
 * so nothing is held back between calls and the output cannot depend on
 * where the input was split.  Bound on the output: each input octet gives
 * at most 2, plus one fold (2) and one stuffing dot carried over from the
 * previous call, plus the final CRLF: within 2*len+8.
 */
size_t
smtp_client_canon(struct smtp_canon *st, const char *in, size_t len,
    int final, char *out)
{
	char *o = out;
	size_t i;
	char c;

	for (i = 0; i < len;) {
		const char *cr, *lf;
		size_t room, run;

		c = in[i];
		if (st->pending_cr) {
			st->pending_cr = 0;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			o = put_crlf(o);
			st->line_len = 0;
			st->pending_cr = c == '\r';
			i++;
			continue;
		}
		if (st->line_len >= SMTP_TEXT_LINE_MAX) {
			o = put_crlf(o);
			st->line_len = 0;
		}
		/* The stuffing dot is on the wire, so it counts towards the
		 * 998 (SPEC 5: no emitted line longer): a line that starts
		 * with '.' takes 997 octets of text before its fold. */
		if (st->line_len == 0 && c == '.') {
			*o++ = '.';
			st->line_len = 1;
		}
		/* Copy the run of plain bytes up to the next line end or the
		 * fold point in one go: bodies are mostly such runs. */
		room = SMTP_TEXT_LINE_MAX - st->line_len;
		run = len - i < room ? len - i : room;
		if ((cr = memchr(in + i, '\r', run)) != NULL)
			run = (size_t)(cr - (in + i));
		if ((lf = memchr(in + i, '\n', run)) != NULL)
			run = (size_t)(lf - (in + i));
		memcpy(o, in + i, run);
		o += run;
		st->line_len += run;
		i += run;
	}
	if (final && st->line_len > 0) {
		o = put_crlf(o);
		st->line_len = 0;
	}
	st->at_line_start = st->line_len == 0;
	return (size_t)(o - out);
}

uint64_t
smtp_client_msg_size(const struct smtp_client_msg *m)
{
	return m->size + (m->prefix != NULL ? strlen(m->prefix) : 0);
}
