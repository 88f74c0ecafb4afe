/*
 * bounce — compose delivery status notifications: a multipart/report
 * (RFC 6522) with a human explanation, a message/delivery-status part
 * (RFC 3464) and the original message or its header section.
 *
 * Pure computation into a caller-owned struct buf: no I/O, nothing global
 * written (queue_id_new's counter aside), so it is safe on any thread and
 * easy to test.  Everything that comes from outside is made canonical on
 * the way in, because a DSN goes back out to the Internet (docs/smtp.md; "What
 * postern emits"): remote replies are reduced to single-line printable
 * ASCII, non-ASCII addresses are written in the RFC 6533 \x{HEX} form in the
 * report parts, the returned message gets CRLF line ends and no line over
 * 998 octets, and the MIME boundary is checked against every part.
 */
#include "bounce.h"

#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postern_limits.h"
#include "queue.h"
#include "dsn.h"
#include "xmalloc.h"
#include "xtext.h"

#define RETURN_FULL_MAX	(128 * 1024)	/* no RET: whole message up to this */
#define DIAG_MAX	2048		/* a remote reply is cut past this */
#define WRAP_WIDTH	76		/* soft limit for lines we compose */
#define CHUNK_MAX	900		/* a word longer than this is split */
#define BOUNDARY_TRIES	16

/* ---- small helpers ---- */

static void
rand_bytes(unsigned char *p, size_t n)
{
	struct timespec ts;
	ssize_t got;
	size_t i;

	do
		got = getrandom(p, n, 0);
	while (got == -1 && errno == EINTR);
	if (got == (ssize_t)n)
		return;
	/* No getrandom (seccomp): the clock still varies; the boundary is
	 * checked against the content anyway. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((uint64_t)ts.tv_nsec >> (i % 8 * 8) ^
		    (uint64_t)getpid() * (i + 1));
}

/* RFC 5322 3.3, always UTC; English names whatever the locale. */
static void
fmt_date(char *out, size_t len, time_t t)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    wd[tm.tm_wday], tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * Reduce text from outside (a remote reply, a host name) to one line of
 * printable ASCII: CR, LF, TAB and other controls become blanks, runs of
 * blanks collapse, 8-bit bytes become '?', and the result is cut at `max`.
 * Multi-line replies read naturally as one line.
 */
static char *
sanitize(const char *in, size_t max)
{
	size_t i, n = 0, len = strlen(in);
	char *out;

	if (len > max)
		len = max;
	out = xmalloc(len + 4);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= ' ' || c == 0x7f) {
			if (n > 0 && out[n - 1] != ' ')
				out[n++] = ' ';
		} else
			out[n++] = c >= 0x80 ? '?' : (char)c;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	if (strlen(in) > max) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* A host name as a token: sanitized, blanks dropped. */
static char *
host_token(const char *in)
{
	char *s = sanitize(in, ADDR_DOMAIN_MAX), *p, *q;

	for (p = q = s; *p; p++)
		if (*p != ' ')
			*q++ = *p;
	*q = '\0';
	return s;
}

static int
is_ascii_print(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/*
 * An address as printable ASCII.  Plain ASCII stays as it is (*utf8 = 0);
 * otherwise every non-ASCII character, control and backslash becomes
 * \x{HEX} (RFC 6533 3, utf-8-addr-unitext) and *utf8 = 1, so the report
 * parts stay 7-bit.  Bytes that are not UTF-8 become U+FFFD.
 */
static char *
addr_ascii(const char *addr, int *utf8)
{
	struct buf b;
	const unsigned char *p = (const unsigned char *)addr;
	uint32_t cp;
	int extra, i;

	*utf8 = !is_ascii_print(addr) || strchr(addr, '\\') != NULL;
	if (!*utf8)
		return xstrdup(addr);
	buf_init(&b, SIZE_MAX / 2);
	while (*p) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			buf_appendc(&b, (char)*p++);
			continue;
		}
		if (*p < 0x80) {
			cp = *p++;
			extra = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p++ & 0x1f;
			extra = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p++ & 0x0f;
			extra = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p++ & 0x07;
			extra = 3;
		} else {
			p++;
			cp = 0xfffd;
			extra = 0;
		}
		for (i = 0; i < extra; i++) {
			if ((*p & 0xc0) != 0x80) {
				cp = 0xfffd;
				break;
			}
			cp = cp << 6 | (*p++ & 0x3f);
		}
		buf_appendf(&b, "\\x{%X}", (unsigned)cp);
	}
	return buf_release(&b, NULL);
}

/*
 * ENVID and the address part of ORCPT arrive xtext-encoded (RFC 3461 4);
 * the DSN carries them decoded.  When the value is not valid xtext, or
 * decodes to something that is not printable ASCII, the text as received
 * is kept (it is printable ASCII by the parser's rules), sanitized.
 */
static char *
xtext_shown(const char *in)
{
	char *out = xtext_decode(in);

	if (out != NULL && is_ascii_print(out))
		return out;
	free(out);
	return sanitize(in, ADDR_PARAM_MAX);
}

/*
 * Append `text` (single-line, words separated by single blanks) starting
 * at column `col`, breaking before a word that would pass WRAP_WIDTH: the
 * separating blank becomes CRLF + `cont`.  With cont " " this is header
 * folding (RFC 5322 2.2.3), undone exactly by unfolding.  A word longer than
 * CHUNK_MAX is split, so no line can pass 998 octets.  No final CRLF.
 */
static int
put_words(struct buf *b, const char *text, size_t col, const char *cont)
{
	const char *p = text, *sp;
	size_t wlen, clen = strlen(cont);
	int rc = 0, first = 1;

	while (*p) {
		sp = strchr(p, ' ');
		wlen = sp ? (size_t)(sp - p) : strlen(p);
		if (!first) {
			if (col + 1 + wlen > WRAP_WIDTH && col > clen) {
				rc |= buf_appendf(b, "\r\n%s", cont);
				col = clen;
			} else {
				rc |= buf_appendc(b, ' ');
				col++;
			}
		}
		while (wlen > CHUNK_MAX) {
			rc |= buf_append(b, p, CHUNK_MAX);
			rc |= buf_appendf(b, "\r\n%s", cont);
			p += CHUNK_MAX;
			wlen -= CHUNK_MAX;
			col = clen;
		}
		rc |= buf_append(b, p, wlen);
		col += wlen;
		first = 0;
		p += wlen;
		if (*p == ' ')
			p++;
	}
	return rc;
}

/* "Name: value" CRLF, folded. */
static int
put_field(struct buf *b, const char *name, const char *value)
{
	int rc;

	rc = buf_appendf(b, "%s: ", name);
	rc |= put_words(b, value, strlen(name) + 2, " ");
	rc |= buf_append(b, "\r\n", 2);
	return rc;
}

/* A paragraph of the human part, wrapped, then a blank line. */
static int
put_para(struct buf *b, const char *text)
{
	int rc;

	rc = put_words(b, text, 0, "");
	rc |= buf_append(b, "\r\n\r\n", 4);
	return rc;
}

/*
 * Copy the original message (or its header section) canonically: a bare
 * CR or LF becomes CRLF and a line over SMTP_TEXT_LINE_MAX is broken.  The
 * receiving side has already refused such input (smtp_data.c), so this is
 * a guard that normally copies byte for byte.  Ends with CRLF.
 */
static int
put_canonical(struct buf *b, const char *p, size_t len)
{
	size_t i, start = 0, col = 0;
	int rc = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			i++;
			col = 0;
			continue;
		}
		if (p[i] == '\r' || p[i] == '\n') {
			rc |= buf_append(b, p + start, i - start);
			rc |= buf_append(b, "\r\n", 2);
			start = i + 1;
			col = 0;
			continue;
		}
		if (++col > SMTP_TEXT_LINE_MAX) {
			rc |= buf_append(b, p + start, i - start);
			rc |= buf_append(b, "\r\n", 2);
			start = i;
			col = 1;
		}
	}
	rc |= buf_append(b, p + start, len - start);
	if (len == 0 || (p[len - 1] != '\n' && p[len - 1] != '\r'))
		rc |= buf_append(b, "\r\n", 2);
	return rc;
}

/* The header section: up to and including the CRLF before the empty line. */
static size_t
header_len(const char *msg, size_t len)
{
	const char *e;

	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 0;
	e = memmem(msg, len, "\r\n\r\n", 4);
	return e ? (size_t)(e - msg) + 2 : len;
}

static int
has_8bit(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/* "x.y.z" with class 2, 4 or 5 and 1-3 digit subjects (RFC 3463). */
static int
status_ok(const char *s)
{
	int part, n;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	s += 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; *s >= '0' && *s <= '9'; s++)
			n++;
		if (n < 1 || n > 3 || *s != (part == 0 ? '.' : '\0'))
			return 0;
		if (part == 0)
			s++;
	}
	return 1;
}

/* Does it look like an SMTP reply ("550 ...", "451-...")? */
static int
is_smtp_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '-' ||
	    s[3] == '\0');
}

/* ---- the parts ---- */

struct dsn {
	enum bounce_kind		 kind;
	const struct queue_envelope	*env;
	const struct bounce_rcpt	*rcpts;
	size_t				 n;
	char				*host;	/* sanitized */
	time_t				 now;
	int				 full;	/* whole message returned */
};

static const char *
rcpt_status(const struct dsn *d, const struct bounce_rcpt *r)
{
	/* A success report with a failure status would contradict its own
	 * Action field. */
	if (status_ok(r->status) && (d->kind != BOUNCE_SUCCESS ||
	    r->status[0] == '2'))
		return r->status;
	switch (d->kind) {
	case BOUNCE_FAILED:
		return "5.0.0";
	case BOUNCE_DELAYED:
		return "4.0.0";
	default:
		return "2.0.0";
	}
}

/* RFC 3464 2.3.3; only a success report has a choice. */
static const char *
rcpt_action(const struct dsn *d, const struct bounce_rcpt *r)
{
	switch (d->kind) {
	case BOUNCE_FAILED:
		return "failed";
	case BOUNCE_DELAYED:
		return "delayed";
	default:
		return r->action != NULL && strcmp(r->action, "relayed") == 0 ?
		    "relayed" : "delivered";
	}
}

/* The human intro of a success report. */
static int
success_intro(struct buf *b, const struct dsn *d)
{
	size_t i;
	int rc, relayed = 0;

	for (i = 0; i < d->n; i++)
		if (strcmp(rcpt_action(d, &d->rcpts[i]), "relayed") == 0)
			relayed = 1;
	rc = put_para(b, "Your message was delivered to the recipients "
	    "listed below. You receive this report because you asked to be "
	    "told of successful delivery.");
	/* "relayed" is the end of the line for reports (RFC 3461 5.2.2):
	 * the sender must not wait for another. */
	if (relayed)
		rc |= put_para(b, "A recipient marked as relayed was handed to "
		    "a mail server that does not send delivery reports: you "
		    "will hear nothing more about it, whether it reaches the "
		    "mailbox or not.");
	rc |= put_para(b, "The header of your message is attached.");
	return rc;
}

/* One recipient of a success report, for a person. */
static char *
success_line(const struct dsn *d, const struct bounce_rcpt *r,
    const char *addr, const char *mta, const char *diag)
{
	if (strcmp(rcpt_action(d, r), "delivered") == 0)
		return xasprintf("<%s>: delivered to the mailbox (status %s)",
		    addr, rcpt_status(d, r));
	if (diag && *diag && mta && *mta)
		return xasprintf("<%s>: relayed to host %s, which said: %s",
		    addr, mta, diag);
	if (mta && *mta)
		return xasprintf("<%s>: relayed to host %s (status %s)", addr,
		    mta, rcpt_status(d, r));
	return xasprintf("<%s>: relayed (status %s)", addr,
	    rcpt_status(d, r));
}

static int
text_part(struct buf *b, const struct dsn *d)
{
	const struct bounce_rcpt *r;
	char date[64], *addr, *diag, *mta, *line;
	size_t i;
	int rc = 0, utf8;

	fmt_date(date, sizeof(date), d->env->received);
	rc |= buf_appendf(b, "This is the mail gateway at %s.\r\n\r\n", d->host);
	if (d->kind == BOUNCE_FAILED) {
		rc |= put_para(b, "Your message could not be delivered to one "
		    "or more of its recipients, and the gateway has stopped "
		    "trying. Each of them is listed below with the reason "
		    "given for the failure.");
		rc |= put_para(b, d->full ? "A copy of your message is "
		    "attached." : "The header of your message is attached; "
		    "the rest was not returned because of its size or "
		    "because you asked for headers only.");
		rc |= put_para(b, "If the reason is not clear, please forward "
		    "this report to your postmaster, who can look into it.");
	} else if (d->kind == BOUNCE_SUCCESS) {
		rc |= success_intro(b, d);
	} else {
		rc |= put_para(b, "Your message has not been delivered yet to "
		    "one or more of its recipients. This is only a warning: "
		    "the gateway is still trying and you do not need to send "
		    "the message again. You will hear again only if delivery "
		    "finally fails.");
	}
	rc |= buf_appendf(b, "Message received: %s\r\nQueue ID: %s\r\n",
	    date, d->env->id);

	for (i = 0; i < d->n; i++) {
		r = &d->rcpts[i];
		addr = addr_ascii(r->addr, &utf8);
		diag = r->diagnostic ? sanitize(r->diagnostic, DIAG_MAX) : NULL;
		mta = r->remote_mta ? host_token(r->remote_mta) : NULL;
		if (d->kind == BOUNCE_SUCCESS)
			line = success_line(d, r, addr, mta, diag);
		else if (diag && *diag && mta && *mta)
			line = xasprintf("<%s>: host %s said: %s", addr, mta,
			    diag);
		else if (diag && *diag)
			line = xasprintf("<%s>: %s", addr, diag);
		else if (mta && *mta)
			line = xasprintf("<%s>: delivery to host %s %s "
			    "(status %s)", addr, mta, d->kind == BOUNCE_FAILED ?
			    "failed" : "was deferred", rcpt_status(d, r));
		else
			line = xasprintf("<%s>: delivery %s (status %s)", addr,
			    d->kind == BOUNCE_FAILED ? "failed" : "was deferred",
			    rcpt_status(d, r));
		rc |= buf_append(b, "\r\n", 2);
		rc |= put_words(b, line, 0, "    ");
		rc |= buf_append(b, "\r\n", 2);
		free(line);
		free(addr);
		free(diag);
		free(mta);
	}
	return rc;
}

static int
status_part(struct buf *b, const struct dsn *d)
{
	const struct bounce_rcpt *r;
	char date[64], *v, *t, *semi;
	size_t i;
	int rc = 0, utf8;

	v = xasprintf("dns; %s", d->host);
	rc |= put_field(b, "Reporting-MTA", v);
	free(v);
	rc |= put_field(b, "X-Postern-Queue-ID", d->env->id);
	if (d->env->envid != NULL && d->env->envid[0] != '\0') {
		v = xtext_shown(d->env->envid);
		rc |= put_field(b, "Original-Envelope-Id", v);
		free(v);
	}
	fmt_date(date, sizeof(date), d->env->received);
	rc |= put_field(b, "Arrival-Date", date);
	fmt_date(date, sizeof(date), d->now);

	for (i = 0; i < d->n; i++) {
		r = &d->rcpts[i];
		rc |= buf_append(b, "\r\n", 2);
		if (r->orcpt != NULL && (semi = strchr(r->orcpt, ';')) != NULL) {
			/* addr-type ";" xtext: decode the address part. */
			v = xtext_shown(semi + 1);
			t = xasprintf("%.*s;%s", (int)(semi - r->orcpt),
			    r->orcpt, v);
			free(v);
			v = sanitize(t, 2 * ADDR_PARAM_MAX);
			free(t);
			rc |= put_field(b, "Original-Recipient", v);
			free(v);
		}
		t = addr_ascii(r->addr, &utf8);
		v = xasprintf("%s; %s", utf8 ? "utf-8" : "rfc822", t);
		rc |= put_field(b, "Final-Recipient", v);
		free(v);
		free(t);
		rc |= put_field(b, "Action", rcpt_action(d, r));
		rc |= put_field(b, "Status", rcpt_status(d, r));
		if (r->remote_mta != NULL) {
			t = host_token(r->remote_mta);
			if (*t) {
				v = xasprintf("dns; %s", t);
				rc |= put_field(b, "Remote-MTA", v);
				free(v);
			}
			free(t);
		}
		if (r->diagnostic != NULL) {
			t = sanitize(r->diagnostic, DIAG_MAX);
			if (*t) {
				/* Local failures (a Maildir error, a DNS
				 * answer) are not SMTP replies. */
				v = xasprintf("%s; %s", is_smtp_reply(t) ?
				    "smtp" : "x-postern", t);
				rc |= put_field(b, "Diagnostic-Code", v);
				free(v);
			}
			free(t);
		}
		rc |= put_field(b, "Last-Attempt-Date", date);
	}
	return rc;
}

/* ---- the whole message ---- */

static int
boundary_free(const char *bd, const struct buf *p1, const struct buf *p2,
    const struct buf *p3)
{
	size_t n = strlen(bd);

	return memmem(p1->p, p1->len, bd, n) == NULL &&
	    memmem(p2->p, p2->len, bd, n) == NULL &&
	    memmem(p3->p, p3->len, bd, n) == NULL;
}

static int
compose(struct buf *out, struct dsn *d, const char *msg, size_t msglen)
{
	struct buf p1, p2, p3;
	unsigned char rnd[16];
	char bd[64], date[64], id[QUEUE_ID_LEN + 1], *to;
	size_t i, k, retlen;
	int rc = 0, tries, eight;

	buf_init(&p1, out->max);
	buf_init(&p2, out->max);
	buf_init(&p3, out->max);
	/* An empty buf has p == NULL; memmem wants a pointer. */
	rc |= buf_append(&p1, "", 0) | buf_append(&p2, "", 0) |
	    buf_append(&p3, "", 0);
	rc |= text_part(&p1, d);
	rc |= status_part(&p2, d);
	retlen = d->full ? msglen : header_len(msg, msglen);
	rc |= put_canonical(&p3, msg, retlen);
	eight = has_8bit(p3.p, p3.len);
	if (rc != 0)
		goto done;

	for (tries = 0; tries < BOUNDARY_TRIES; tries++) {
		rand_bytes(rnd, sizeof(rnd));
		/* "=_" cannot occur in base64 or quoted-printable text. */
		i = (size_t)snprintf(bd, sizeof(bd), "=_postern_");
		for (k = 0; k < sizeof(rnd); k++)
			i += (size_t)snprintf(bd + i, sizeof(bd) - i, "%02x",
			    rnd[k]);
		if (boundary_free(bd, &p1, &p2, &p3))
			break;
	}
	if (tries == BOUNDARY_TRIES) {
		rc = -1;
		goto done;
	}

	fmt_date(date, sizeof(date), d->now);
	queue_id_new(id);
	/* The envelope sender as parsed: only controls need guarding; a
	 * UTF-8 address stays as it is (RFC 6532: the DSN then travels with
	 * SMTPUTF8, as the original did). */
	to = xstrdup(d->env->sender);
	for (i = 0; to[i]; i++)
		if ((unsigned char)to[i] < 0x20 || to[i] == 0x7f)
			to[i] = '?';
	rc |= buf_appendf(out, "From: Mail Delivery System "
	    "<MAILER-DAEMON@%s>\r\n", d->host);
	rc |= buf_appendf(out, "To: <%s>\r\n", to);
	free(to);
	rc |= buf_appendf(out, "Subject: %s\r\n", d->kind == BOUNCE_FAILED ?
	    "Undelivered Mail Returned to Sender" :
	    d->kind == BOUNCE_DELAYED ? "Delayed Mail (still being retried)" :
	    "Successful Mail Delivery Report");
	rc |= buf_appendf(out, "Date: %s\r\n", date);
	rc |= buf_appendf(out, "Message-ID: <%s.dsn@%s>\r\n", id, d->host);
	rc |= buf_appendf(out, "Auto-Submitted: auto-replied\r\n");
	rc |= buf_appendf(out, "MIME-Version: 1.0\r\n");
	rc |= buf_appendf(out, "Content-Type: multipart/report; "
	    "report-type=delivery-status; boundary=\"%s\"\r\n", bd);
	if (eight)
		rc |= buf_appendf(out, "Content-Transfer-Encoding: 8bit\r\n");
	rc |= buf_appendf(out, "\r\nThis is a MIME-encapsulated message.\r\n");

	rc |= buf_appendf(out, "\r\n--%s\r\n", bd);
	rc |= buf_appendf(out, "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	rc |= buf_append(out, p1.p, p1.len);

	rc |= buf_appendf(out, "\r\n--%s\r\n", bd);
	rc |= buf_appendf(out, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	rc |= buf_append(out, p2.p, p2.len);

	rc |= buf_appendf(out, "\r\n--%s\r\n", bd);
	rc |= buf_appendf(out, "Content-Description: %s\r\n"
	    "Content-Type: %s\r\n", d->full ? (d->kind == BOUNCE_FAILED ?
	    "Undelivered Message" : "Delayed Message") : "Message Headers",
	    d->full ? "message/rfc822" : "text/rfc822-headers");
	if (eight)
		rc |= buf_appendf(out, "Content-Transfer-Encoding: 8bit\r\n");
	rc |= buf_append(out, "\r\n", 2);
	rc |= buf_append(out, p3.p, p3.len);
	rc |= buf_appendf(out, "\r\n--%s--\r\n", bd);
done:
	buf_free(&p1);
	buf_free(&p2);
	buf_free(&p3);
	return rc ? -1 : 0;
}

int
bounce_compose(struct buf *out, enum bounce_kind kind,
    const struct queue_envelope *env, const char *msg, size_t msglen,
    const struct bounce_rcpt *rcpts, size_t n, const char *hostname,
    time_t now)
{
	struct dsn d;
	size_t start = out->len;
	int rc;

	/* A bounce is never bounced: no DSN to the null sender. */
	if (env == NULL || env->sender == NULL || env->sender[0] == '\0' ||
	    rcpts == NULL || n == 0 || hostname == NULL ||
	    (msg == NULL && msglen > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (msg == NULL)
		msg = "";
	memset(&d, 0, sizeof(d));
	d.kind = kind;
	d.env = env;
	d.rcpts = rcpts;
	d.n = n;
	d.host = host_token(hostname);
	if (d.host[0] == '\0') {
		free(d.host);
		errno = EINVAL;
		return -1;
	}
	d.now = now;
	/* RET is about failed reports (RFC 3461 4.3); a success report
	 * identifies the message by its header. */
	d.full = kind != BOUNCE_SUCCESS && (env->ret == SMTP_RET_FULL ||
	    (env->ret == SMTP_RET_NONE && msglen <= RETURN_FULL_MAX));

	rc = compose(out, &d, msg, msglen);
	if (rc == -1 && d.full) {
		/* Too big for `out` whole: the headers still tell the sender
		 * which message it was. */
		out->len = start;
		if (out->p != NULL)
			out->p[start] = '\0';
		d.full = 0;
		rc = compose(out, &d, msg, msglen);
	}
	if (rc == -1) {
		out->len = start;
		if (out->p != NULL)
			out->p[start] = '\0';
		errno = E2BIG;
	}
	free(d.host);
	return rc;
}
