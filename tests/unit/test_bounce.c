/*
 * test_bounce — the DSN composer: the structure of failed, delayed and
 * success reports (parsed back here: headers, boundary, the three parts, the
 * per-recipient blocks), what is returned (RET, size), hostile diagnostic
 * text, canonical output (CRLF only, no line over 998 octets), the output
 * limit, and the null-sender rule.  When /usr/bin/python3 exists the
 * result is also read by Python's email parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "queue.h"
#include "smtp_parse.h"
#include "xmalloc.h"

#define NOW	1700000000	/* Tue, 14 Nov 2023 22:13:20 +0000 */

static const char orig_msg[] =
    "Received: from client.example.org by gw.example\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@winery-co.co\r\n"
    "Subject: lunch\r\n"
    "\r\n"
    "Shall we meet at noon?\r\n"
    "-- \r\n"
    "Alice\r\n";

/* ---- helpers ---- */

static struct queue_envelope *
mkenv(int ret, const char *envid)
{
	struct queue_envelope *env = xcalloc(1, sizeof(*env));

	queue_id_new(env->id);
	env->received = NOW - 3600;
	env->sender = xstrdup("alice@example.org");
	env->ret = ret;
	env->envid = envid ? xstrdup(envid) : NULL;
	queue_envelope_add_rcpt(env, "bob@winery-co.co",
	    "rfc822;Bob+2Bx@winery-co.co", 0);
	return env;
}

static char *
compose(enum bounce_kind kind, struct queue_envelope *env, const char *msg,
    size_t len, const struct bounce_rcpt *r, size_t n, size_t *outlen)
{
	struct buf b;

	buf_init(&b, 64 * 1024 * 1024);
	assert_int_equal(bounce_compose(&b, kind, env, msg, len, r, n,
	    "gw.example", NOW), 0);
	return buf_release(&b, outlen);
}

/* CRLF only, and no line over 998 octets. */
static void
assert_canonical(const char *p, size_t len)
{
	size_t i, col = 0;

	assert_true(len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n');
	for (i = 0; i < len; i++) {
		if (p[i] == '\r') {
			assert_true(i + 1 < len && p[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(p[i] != '\n');
		col++;
		assert_true(col <= 998);
	}
}

static size_t
count(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	const char *p = hay, *end = hay + len, *q;

	while ((q = memmem(p, (size_t)(end - p), needle, nl)) != NULL) {
		n++;
		p = q + nl;
	}
	return n;
}

/* Undo header folding: CRLF before a blank goes. */
static char *
unfold(const char *s)
{
	char *out = xstrdup(s), *q = out;

	for (; *s; s++) {
		if (s[0] == '\r' && s[1] == '\n' && (s[2] == ' ' ||
		    s[2] == '\t')) {
			s++;
			continue;
		}
		*q++ = *s;
	}
	*q = '\0';
	return out;
}

/* Undo the human part's wrapping: each line end and the indent after it
 * become one blank. */
static char *
unfold_text(const char *s)
{
	char *out = xstrdup(s), *q = out;

	while (*s) {
		if (s[0] == '\r' && s[1] == '\n') {
			for (s += 2; *s == ' '; s++)
				;
			*q++ = ' ';
			continue;
		}
		*q++ = *s++;
	}
	*q = '\0';
	return out;
}

/* The value of a top-level header field (first match), malloc'ed. */
static char *
header(const char *msg, const char *name)
{
	char *pat = xasprintf("\r\n%s: ", name), *v;
	const char *p, *e;

	if (strncmp(msg, pat + 2, strlen(pat + 2)) == 0)
		p = msg + strlen(pat + 2);
	else {
		p = strstr(msg, pat);
		assert_non_null(p);
		p += strlen(pat);
	}
	e = strstr(p, "\r\n");
	v = xstrndup(p, (size_t)(e - p));
	free(pat);
	return v;
}

struct parsed {
	char	*boundary;
	char	*part[3];	/* each: part headers, blank line, content */
	char	*type[3];
	char	*content[3];
};

/*
 * Split a DSN into its three parts and check the delimiters: the boundary
 * occurs exactly four times (three delimiters and the close), each at the
 * start of a line after CRLF, and the close ends the message.
 */
static void
parse(const char *msg, size_t len, struct parsed *ps)
{
	char *ct, *delim, *close;
	const char *p, *q, *cty;
	size_t dl;
	int i;

	memset(ps, 0, sizeof(*ps));
	ct = header(msg, "Content-Type");
	p = strstr(ct, "boundary=\"");
	assert_non_null(p);
	p += 10;
	q = strchr(p, '"');
	ps->boundary = xstrndup(p, (size_t)(q - p));
	free(ct);
	assert_int_equal(count(msg, len, ps->boundary), 4 + 1);  /* + header */
	delim = xasprintf("\r\n--%s\r\n", ps->boundary);
	close = xasprintf("\r\n--%s--\r\n", ps->boundary);
	dl = strlen(delim);
	assert_int_equal(count(msg, len, delim), 3);
	assert_int_equal(count(msg, len, close), 1);
	assert_int_equal(strcmp(msg + len - strlen(close), close), 0);

	p = strstr(msg, delim);
	for (i = 0; i < 3; i++) {
		p += dl;
		q = strstr(p, i < 2 ? delim : close);
		assert_non_null(q);
		ps->part[i] = xstrndup(p, (size_t)(q - p));
		cty = strstr(ps->part[i], "Content-Type: ");
		assert_non_null(cty);
		cty += 14;
		ps->type[i] = xstrndup(cty, strcspn(cty, ";\r"));
		cty = strstr(ps->part[i], "\r\n\r\n");
		assert_non_null(cty);
		ps->content[i] = xstrdup(cty + 4);
		p = q;
	}
	free(delim);
	free(close);
}

static void
parsed_free(struct parsed *ps)
{
	int i;

	free(ps->boundary);
	for (i = 0; i < 3; i++) {
		free(ps->part[i]);
		free(ps->type[i]);
		free(ps->content[i]);
	}
}

/* Optional: Python's email package must agree on the structure. */
static void
python_check(const char *msg, size_t len, const char *third)
{
	char dir[] = "/tmp/postern-tb-XXXXXX", *path, *cmd;
	FILE *f;
	int st;

	if (access("/usr/bin/python3", X_OK) != 0)
		return;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/dsn.eml", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(msg, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	cmd = xasprintf("/usr/bin/python3 -c '"
	    "import email, sys\n"
	    "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"))\n"
	    "assert m.get_content_type() == \"multipart/report\"\n"
	    "assert m.get_param(\"report-type\") == \"delivery-status\"\n"
	    "p = m.get_payload()\n"
	    "assert [x.get_content_type() for x in p] == "
	    "[\"text/plain\", \"message/delivery-status\", sys.argv[2]], p\n"
	    "assert not m.defects, m.defects\n"
	    "' %s %s", path, third);
	st = system(cmd);
	assert_int_equal(st, 0);
	unlink(path);
	rmdir(dir);
	free(cmd);
	free(path);
}

/* ---- tests ---- */

static void
test_failed_structure(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_NONE, "QQ+2B314");
	struct bounce_rcpt r[2] = {
		{ "bob@winery-co.co", "rfc822;Bob+2Bx@winery-co.co", "5.1.1",
		    "550 5.1.1 <bob@winery-co.co>: user unknown",
		    "mx.winery-co.co", NULL },
		{ "kim@example.net", NULL, "5.4.7", NULL, NULL, NULL },
	};
	struct parsed ps;
	size_t len;
	char *m, *v;

	(void)state;
	m = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), r, 2,
	    &len);
	assert_canonical(m, len);

	v = header(m, "From");
	assert_string_equal(v,
	    "Mail Delivery System <MAILER-DAEMON@gw.example>");
	free(v);
	v = header(m, "To");
	assert_string_equal(v, "<alice@example.org>");
	free(v);
	v = header(m, "Subject");
	assert_string_equal(v, "Undelivered Mail Returned to Sender");
	free(v);
	v = header(m, "Date");
	assert_string_equal(v, "Tue, 14 Nov 2023 22:13:20 +0000");
	free(v);
	v = header(m, "Auto-Submitted");
	assert_string_equal(v, "auto-replied");
	free(v);
	v = header(m, "MIME-Version");
	assert_string_equal(v, "1.0");
	free(v);
	v = header(m, "Message-ID");
	assert_true(v[0] == '<' && strstr(v, "@gw.example>") != NULL);
	free(v);
	assert_null(strstr(m, "Content-Transfer-Encoding"));

	parse(m, len, &ps);
	assert_string_equal(ps.type[0], "text/plain");
	assert_string_equal(ps.type[1], "message/delivery-status");
	assert_string_equal(ps.type[2], "message/rfc822");
	assert_non_null(strstr(m, "Content-Type: multipart/report; "
	    "report-type=delivery-status; boundary=\""));

	/* The human part names each recipient and its reason. */
	assert_non_null(strstr(ps.content[0], "gw.example"));
	assert_non_null(strstr(ps.content[0], "<bob@winery-co.co>: host "
	    "mx.winery-co.co said: 550 5.1.1"));
	assert_non_null(strstr(ps.content[0], "<kim@example.net>: delivery "
	    "failed (status 5.4.7)"));
	assert_non_null(strstr(ps.content[0], env->id));

	/* Per-message fields, then one block per recipient. */
	assert_true(strncmp(ps.content[1], "Reporting-MTA: dns; gw.example\r\n",
	    32) == 0);
	assert_non_null(strstr(ps.content[1],
	    "\r\nOriginal-Envelope-Id: QQ+314\r\n"));
	assert_non_null(strstr(ps.content[1],
	    "\r\nArrival-Date: Tue, 14 Nov 2023 21:13:20 +0000\r\n"));
	assert_int_equal(count(ps.content[1], strlen(ps.content[1]),
	    "\r\n\r\n"), 2);
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Original-Recipient: rfc822;Bob+x@winery-co.co\r\n"
	    "Final-Recipient: rfc822; bob@winery-co.co\r\n"
	    "Action: failed\r\n"
	    "Status: 5.1.1\r\n"
	    "Remote-MTA: dns; mx.winery-co.co\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@winery-co.co>: user "
	    "unknown\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Final-Recipient: rfc822; kim@example.net\r\n"
	    "Action: failed\r\n"
	    "Status: 5.4.7\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_int_equal(count(ps.content[1], strlen(ps.content[1]),
	    "Final-Recipient:"), 2);

	/* The whole message, unchanged. */
	assert_string_equal(ps.content[2], orig_msg);
	python_check(m, len, "message/rfc822");

	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

static void
test_delayed(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_FULL, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "4.4.1",
	    "451 4.4.1 try later", "mx.winery-co.co", NULL };
	struct parsed ps;
	size_t len;
	char *m, *v;

	(void)state;
	m = compose(BOUNCE_DELAYED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &len);
	assert_canonical(m, len);
	v = header(m, "Subject");
	assert_string_equal(v, "Delayed Mail (still being retried)");
	free(v);
	parse(m, len, &ps);
	assert_non_null(strstr(ps.content[1], "\r\nAction: delayed\r\n"));
	assert_non_null(strstr(ps.content[1], "\r\nStatus: 4.4.1\r\n"));
	assert_null(strstr(ps.content[1], "Original-Envelope-Id"));
	assert_null(strstr(ps.content[1], "Original-Recipient"));
	assert_null(strstr(ps.content[1], "Will-Retry-Until"));
	assert_non_null(strstr(ps.content[0], "still trying"));
	assert_string_equal(ps.type[2], "message/rfc822");
	python_check(m, len, "message/rfc822");
	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

static void
test_ret_hdrs(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_HDRS, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.1.1", NULL,
	    NULL, NULL };
	struct parsed ps;
	const char *eoh = strstr(orig_msg, "\r\n\r\n") + 2;
	size_t len;
	char *m, *hdrs;

	(void)state;
	m = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &len);
	assert_canonical(m, len);
	parse(m, len, &ps);
	assert_string_equal(ps.type[2], "text/rfc822-headers");
	hdrs = xstrndup(orig_msg, (size_t)(eoh - orig_msg));
	assert_string_equal(ps.content[2], hdrs);
	assert_null(strstr(m, "Shall we meet"));
	python_check(m, len, "text/rfc822-headers");
	free(hdrs);
	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

/*
 * NOTIFY=SUCCESS (RFC 3461 6.2): "delivered" into the local store,
 * "relayed" to a peer without DSN; Status 2.x whatever the caller said;
 * only the header returned even with RET=FULL.
 */
static void
test_success(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_FULL, "QQ314");
	struct bounce_rcpt r[3] = {
		{ "bob@winery-co.co", "rfc822;Bob+2Bx@winery-co.co", "2.0.0",
		    NULL, NULL, "delivered" },
		{ "kim@example.net", NULL, "2.0.0", "250 2.0.0 Ok: queued",
		    "mx.example.net[192.0.2.1]", "relayed" },
		{ "lee@example.net", NULL, "5.1.1", NULL, NULL, NULL },
	};
	const char *eoh = strstr(orig_msg, "\r\n\r\n") + 2;
	struct parsed ps;
	size_t len;
	char *m, *v, *hdrs;

	(void)state;
	m = compose(BOUNCE_SUCCESS, env, orig_msg, strlen(orig_msg), r, 3,
	    &len);
	assert_canonical(m, len);
	v = header(m, "Subject");
	assert_string_equal(v, "Successful Mail Delivery Report");
	free(v);
	v = header(m, "To");
	assert_string_equal(v, "<alice@example.org>");
	free(v);
	v = header(m, "Auto-Submitted");
	assert_string_equal(v, "auto-replied");
	free(v);
	parse(m, len, &ps);

	v = unfold_text(ps.content[0]);
	assert_non_null(strstr(v, "Your message was delivered"));
	assert_non_null(strstr(v, "<bob@winery-co.co>: delivered to the "
	    "mailbox (status 2.0.0)"));
	assert_non_null(strstr(v, "<kim@example.net>: relayed to host "
	    "mx.example.net[192.0.2.1], which said: 250 2.0.0 Ok: queued"));
	assert_non_null(strstr(v, "does not send delivery reports"));
	assert_null(strstr(v, "could not be delivered"));
	free(v);

	assert_non_null(strstr(ps.content[1],
	    "\r\nOriginal-Envelope-Id: QQ314\r\n"));
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Original-Recipient: rfc822;Bob+x@winery-co.co\r\n"
	    "Final-Recipient: rfc822; bob@winery-co.co\r\n"
	    "Action: delivered\r\n"
	    "Status: 2.0.0\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Final-Recipient: rfc822; kim@example.net\r\n"
	    "Action: relayed\r\n"
	    "Status: 2.0.0\r\n"
	    "Remote-MTA: dns; mx.example.net[192.0.2.1]\r\n"
	    "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued\r\n"));
	/* No action given: delivered; a failure status: made 2.0.0. */
	assert_non_null(strstr(ps.content[1], "\r\n\r\n"
	    "Final-Recipient: rfc822; lee@example.net\r\n"
	    "Action: delivered\r\n"
	    "Status: 2.0.0\r\n"));
	assert_null(strstr(ps.content[1], "Action: failed"));
	assert_null(strstr(ps.content[1], "5.1.1"));

	/* RET=FULL is for failures: the header section only. */
	assert_string_equal(ps.type[2], "text/rfc822-headers");
	assert_non_null(strstr(ps.part[2], "Content-Description: Message "
	    "Headers\r\n"));
	hdrs = xstrndup(orig_msg, (size_t)(eoh - orig_msg));
	assert_string_equal(ps.content[2], hdrs);
	assert_null(strstr(m, "Shall we meet"));
	python_check(m, len, "text/rfc822-headers");
	free(hdrs);
	parsed_free(&ps);
	free(m);

	/* Only delivered recipients: no word about relaying. */
	m = compose(BOUNCE_SUCCESS, env, orig_msg, strlen(orig_msg), r, 1,
	    &len);
	parse(m, len, &ps);
	assert_null(strstr(ps.content[0], "relayed"));
	assert_null(strstr(ps.content[1], "Action: relayed"));
	parsed_free(&ps);
	free(m);

	/* Nor to the null sender. */
	{
		struct buf b;

		buf_init(&b, 1024 * 1024);
		free(env->sender);
		env->sender = xstrdup("");
		errno = 0;
		assert_int_equal(bounce_compose(&b, BOUNCE_SUCCESS, env,
		    orig_msg, strlen(orig_msg), r, 1, "gw.example", NOW), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(b.len, 0);
		buf_free(&b);
	}
	queue_envelope_free(env);
}

static char *
big_message(size_t size)
{
	char *msg = xmalloc(size + 1);
	size_t hl = strlen("Subject: big\r\n\r\n"), i;

	memcpy(msg, "Subject: big\r\n\r\n", hl);
	for (i = hl; i < size; i++)
		msg[i] = (i - hl) % 80 == 78 ? '\r' :
		    (i - hl) % 80 == 79 ? '\n' : 'x';
	memcpy(msg + size - 2, "\r\n", 2);
	msg[size] = '\0';
	return msg;
}

static void
test_big_message(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_NONE, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.2.2", NULL,
	    NULL, NULL };
	struct parsed ps;
	size_t len, size = 128 * 1024 + 80;
	char *m, *msg = big_message(size);

	(void)state;
	/* No RET and over 128 KiB: headers only. */
	m = compose(BOUNCE_FAILED, env, msg, size, &r, 1, &len);
	assert_canonical(m, len);
	parse(m, len, &ps);
	assert_string_equal(ps.type[2], "text/rfc822-headers");
	assert_string_equal(ps.content[2], "Subject: big\r\n");
	assert_true(len < 4096);
	parsed_free(&ps);
	free(m);

	/* Exactly 128 KiB: whole. */
	free(msg);
	size = 128 * 1024;
	msg = big_message(size);
	m = compose(BOUNCE_FAILED, env, msg, size, &r, 1, &len);
	parse(m, len, &ps);
	assert_string_equal(ps.type[2], "message/rfc822");
	assert_true(len > size);
	parsed_free(&ps);
	free(m);

	/* RET=FULL: whole, whatever the size. */
	free(msg);
	size = 300 * 1024;
	msg = big_message(size);
	env->ret = SMTP_RET_FULL;
	m = compose(BOUNCE_FAILED, env, msg, size, &r, 1, &len);
	assert_canonical(m, len);
	parse(m, len, &ps);
	assert_string_equal(ps.type[2], "message/rfc822");
	assert_int_equal(strlen(ps.content[2]), size);
	parsed_free(&ps);
	free(m);
	free(msg);
	queue_envelope_free(env);
}

static void
test_hostile_diagnostic(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_HDRS, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.7.1",
	    "550-5.7.1 first\r\nInjected: header\r\n\r\n--fake\x01\x1b[31m"
	    "\xff\xfe\xc3\xa9 end\n550 5.7.1 last\r",
	    "mx.example\r\nX-Evil: 1", NULL };
	struct parsed ps;
	size_t len, i;
	char *m, *u;

	(void)state;
	m = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &len);
	assert_canonical(m, len);
	assert_null(strstr(m, "\r\nInjected:"));
	assert_null(strstr(m, "\r\nX-Evil"));
	assert_null(strstr(m, "\r\n--fake"));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)m[i];

		assert_true(c < 0x80);
		assert_true(c >= 0x20 || c == '\r' || c == '\n');
	}
	parse(m, len, &ps);
	u = unfold(ps.content[1]);
	assert_non_null(strstr(u, "\r\nDiagnostic-Code: smtp; "
	    "550-5.7.1 first Injected: header --fake [31m???? end 550 5.7.1 "
	    "last\r\n"));
	assert_non_null(strstr(u,
	    "\r\nRemote-MTA: dns; mx.exampleX-Evil:1\r\n"));
	free(u);
	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

/* Long diagnostics fold; long or broken original lines are made canonical. */
static void
test_long_lines(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_FULL, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.0.0", NULL,
	    NULL, NULL };
	const char canon[] = "Subject: x\r\n\r\nbare\r\nlf and bare\r\ncr\r\n";
	struct parsed ps;
	char *diag, *msg, *m, *unfolded, *p, *q;
	size_t len, i, n;

	(void)state;
	/* 1500 octets of words, then a 1500-octet token. */
	diag = xmalloc(3100);
	n = (size_t)sprintf(diag, "550 5.0.0");
	while (n < 1500)
		n += (size_t)sprintf(diag + n, " word%zu", n);
	diag[n++] = ' ';
	for (i = 0; i < 1500; i++)
		diag[n++] = 'T';
	diag[n] = '\0';
	r.diagnostic = diag;

	msg = xmalloc(4000);
	n = (size_t)sprintf(msg, "Subject: x\r\n\r\nbare\nlf and bare\rcr\r\n");
	for (i = 0; i < 2500; i++)
		msg[n++] = 'L';
	msg[n] = '\0';
	m = compose(BOUNCE_FAILED, env, msg, n, &r, 1, &len);
	assert_canonical(m, len);
	parse(m, len, &ps);

	/* The folded field unfolds to the words as given. */
	p = strstr(ps.content[1], "Diagnostic-Code: smtp; ");
	assert_non_null(p);
	q = strstr(p, "\r\nLast-Attempt-Date");
	p = xstrndup(p, (size_t)(q - p));
	unfolded = unfold(p);
	free(p);
	assert_true(strncmp(unfolded + 23, diag, 1500) == 0);
	free(unfolded);

	assert_true(strncmp(ps.content[2], canon, strlen(canon)) == 0);
	p = ps.content[2] + strlen(canon);
	assert_int_equal(strspn(p, "L"), 998);
	assert_true(strncmp(p + 998, "\r\nL", 3) == 0);
	python_check(m, len, "message/rfc822");
	parsed_free(&ps);
	free(m);
	free(msg);
	free(diag);
	queue_envelope_free(env);
}

static void
test_utf8_and_8bit(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_NONE, NULL);
	struct bounce_rcpt r = { "j\303\266e@winery-co.co", NULL, "5.1.1",
	    NULL, NULL, NULL };
	const char msg[] = "Subject: caf\xc3\xa9\r\n\r\nd\xc3\xa9j\xc3\xa0\r\n";
	struct parsed ps;
	size_t len;
	char *m;

	(void)state;
	m = compose(BOUNCE_FAILED, env, msg, strlen(msg), &r, 1, &len);
	assert_canonical(m, len);
	parse(m, len, &ps);
	assert_non_null(strstr(ps.content[1],
	    "Final-Recipient: utf-8; j\\x{F6}e@winery-co.co\r\n"));
	assert_non_null(strstr(ps.content[0], "<j\\x{F6}e@winery-co.co>"));
	assert_string_equal(ps.content[2], msg);
	/* 8-bit content is declared, at both levels. */
	assert_non_null(strstr(ps.part[2],
	    "Content-Transfer-Encoding: 8bit\r\n"));
	assert_non_null(strstr(m, "\r\nContent-Transfer-Encoding: 8bit\r\n"
	    "\r\nThis is"));
	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

static void
test_limits_and_refusals(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_FULL, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.1.1", NULL,
	    NULL, NULL };
	struct parsed ps;
	struct buf b;
	size_t size = 64 * 1024;
	char *msg = big_message(size);

	(void)state;
	/* Too small even for the report: -1, E2BIG, out unchanged. */
	buf_init(&b, 512);
	assert_int_equal(buf_append(&b, "keep", 4), 0);
	errno = 0;
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 1, "gw.example", NOW), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.p, "keep");
	buf_free(&b);

	/* Room for the headers but not the whole message: headers. */
	buf_init(&b, 16 * 1024);
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 1, "gw.example", NOW), 0);
	assert_canonical(b.p, b.len);
	parse(b.p, b.len, &ps);
	assert_string_equal(ps.type[2], "text/rfc822-headers");
	parsed_free(&ps);
	buf_free(&b);

	/* A bounce is never bounced; nothing to report is an error. */
	buf_init(&b, 1024 * 1024);
	free(env->sender);
	env->sender = xstrdup("");
	errno = 0;
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 1, "gw.example", NOW), -1);
	assert_int_equal(errno, EINVAL);
	free(env->sender);
	env->sender = xstrdup("alice@example.org");
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 0, "gw.example", NOW), -1);
	assert_int_equal(bounce_compose(&b, BOUNCE_FAILED, env, msg, size,
	    &r, 1, "\r\n", NOW), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	free(msg);
	queue_envelope_free(env);
}

/* Two reports of the same failure differ in Message-ID and boundary. */
static void
test_unique(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_NONE, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.1.1", NULL,
	    NULL, NULL };
	struct parsed a, b;
	size_t la, lb;
	char *ma, *mb, *ia, *ib;

	(void)state;
	ma = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &la);
	mb = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &lb);
	ia = header(ma, "Message-ID");
	ib = header(mb, "Message-ID");
	assert_string_not_equal(ia, ib);
	parse(ma, la, &a);
	parse(mb, lb, &b);
	assert_string_not_equal(a.boundary, b.boundary);
	assert_true(strlen(a.boundary) >= 32);
	parsed_free(&a);
	parsed_free(&b);
	free(ia);
	free(ib);
	free(ma);
	free(mb);
	queue_envelope_free(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_structure),
		cmocka_unit_test(test_delayed),
		cmocka_unit_test(test_ret_hdrs),
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_big_message),
		cmocka_unit_test(test_hostile_diagnostic),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_utf8_and_8bit),
		cmocka_unit_test(test_limits_and_refusals),
		cmocka_unit_test(test_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
