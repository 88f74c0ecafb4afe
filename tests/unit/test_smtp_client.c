/*
 * test_smtp_client — table tests for the pure parts of smtp_client.h
 * (smtp_reply.c): reply parser, EHLO keywords, MAIL/RCPT lines and the
 * canonicalizer.  The session itself is tested against a fake server in
 * test_smtp_client_live.c.
 *
 * Parser and canonicalizer cases are also fed at every split point: the
 * result must not depend on how bytes arrive.  The canonicalizer is
 * compared with a whole-buffer reference model on random input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp_client.h"
#include "smtp_parse.h"

#define IN(s)	(s), sizeof(s) - 1

enum { MORE = SMTP_REPLY_NEED_MORE, OK = SMTP_REPLY_OK, BAD = SMTP_REPLY_BAD };

/* ---- reply parser ---- */

struct reply_case {
	const char	*in;
	int		 st;
	int		 code;
	const char	*text;
	size_t		 consumed;	/* 0: all of in */
	const char	*ext;
};

static const struct reply_case reply_cases[] = {
	{ "250 ok\r\n", OK, 250, "ok", 0, "" },
	{ "250\r\n", OK, 250, "", 0, "" },
	{ "221 bye\n", OK, 221, "bye", 0, "" },		/* bare LF: ok */
	{ "554 5.7.1 no\r\n", OK, 554, "5.7.1 no", 0, "" },
	{ "599 x\r\n", OK, 599, "x", 0, "" },
	{ "200 x\r\n", OK, 200, "x", 0, "" },
	{ "250-mx.test hi\r\n250-PIPELINING\r\n250-size 1000\r\n"
	  "250 8BITMIME\r\n", OK, 250, "mx.test hi", 0,
	  "PIPELINING\nSIZE 1000\n8BITMIME\n" },
	{ "250-a\r\n250\r\n", OK, 250, "a", 0, "\n" },
	{ "250 ok\r\n221 bye\r\n", OK, 250, "ok", 8, "" },
	{ "250 a\x01" "b\xff" "c\r\n", OK, 250, "a?b?c", 0, "" },
	{ "250 a\rb\r\n", OK, 250, "a?b", 0, "" },
	{ "250-a\r\n251 b\r\n", BAD, 0, NULL, 0, NULL },
	{ "250-a\r\n250-b\r\n550 c\r\n", BAD, 0, NULL, 0, NULL },
	{ "000 x\r\n", BAD, 0, NULL, 0, NULL },
	{ "099 x\r\n", BAD, 0, NULL, 0, NULL },
	{ "199 x\r\n", BAD, 0, NULL, 0, NULL },
	{ "600 x\r\n", BAD, 0, NULL, 0, NULL },
	{ "25x x\r\n", BAD, 0, NULL, 0, NULL },
	{ "2500 x\r\n", BAD, 0, NULL, 0, NULL },
	{ "250x\r\n", BAD, 0, NULL, 0, NULL },
	{ "25\r\n", BAD, 0, NULL, 0, NULL },
	{ "\r\n", BAD, 0, NULL, 0, NULL },
	{ " 250 x\r\n", BAD, 0, NULL, 0, NULL },
	{ "hello\r\n", BAD, 0, NULL, 0, NULL },
	{ "x", BAD, 0, NULL, 0, NULL },
	{ "250-a\r\nxyz", BAD, 0, NULL, 0, NULL },
	{ "", MORE, 0, NULL, 0, NULL },
	{ "2", MORE, 0, NULL, 0, NULL },
	{ "250", MORE, 0, NULL, 0, NULL },
	{ "250 ok", MORE, 0, NULL, 0, NULL },
	{ "250 ok\r", MORE, 0, NULL, 0, NULL },
	{ "250-ok\r\n", MORE, 0, NULL, 0, NULL },
	{ "250-ok\r\n25", MORE, 0, NULL, 0, NULL },
};

static void
check_reply_case(const struct reply_case *rc, const char *in, size_t len)
{
	struct smtp_reply r;
	size_t consumed = 12345, k, kc;
	int st;

	st = smtp_client_parse_reply(in, len, &r, &consumed);
	if (st != rc->st)
		fail_msg("\"%s\": status %d, want %d", rc->in, st, rc->st);
	if (st == OK) {
		assert_int_equal(r.code, rc->code);
		assert_string_equal(r.text, rc->text);
		assert_string_equal(r.ext, rc->ext);
		assert_int_equal(consumed, rc->consumed ? rc->consumed : len);
	} else
		assert_int_equal(consumed, 0);
	/*
	 * Prefixes: before the reply is complete only NEED_MORE (or BAD,
	 * if the whole is BAD); from then on the same result.
	 */
	kc = st == OK ? consumed : len;
	for (k = 0; k < len; k++) {
		char *p = malloc(k + 1);	/* ASan sees overreads */

		memcpy(p, in, k);
		st = smtp_client_parse_reply(p, k, &r, &consumed);
		if (k < kc)
			assert_true(st == MORE || (st == BAD && rc->st == BAD));
		else {
			assert_int_equal(st, OK);
			assert_int_equal(consumed, kc);
		}
		free(p);
	}
}

static void
t_reply_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++)
		check_reply_case(&reply_cases[i], reply_cases[i].in,
		    strlen(reply_cases[i].in));
}

static void
t_reply_limits(void **state)
{
	struct smtp_reply r;
	size_t consumed, len;
	char *s;
	int st;

	(void)state;
	s = malloc(SMTP_CLIENT_REPLY_MAX + 4096);
	/* a line of exactly LINE_MAX octets, then one more */
	memcpy(s, "250 ", 4);
	memset(s + 4, 'a', SMTP_CLIENT_REPLY_LINE_MAX - 4);
	memcpy(s + SMTP_CLIENT_REPLY_LINE_MAX, "\r\n", 2);
	st = smtp_client_parse_reply(s, SMTP_CLIENT_REPLY_LINE_MAX + 2, &r,
	    &consumed);
	assert_int_equal(st, OK);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);	/* cut */
	memcpy(s + SMTP_CLIENT_REPLY_LINE_MAX, "a\r\n", 3);
	st = smtp_client_parse_reply(s, SMTP_CLIENT_REPLY_LINE_MAX + 3, &r,
	    &consumed);
	assert_int_equal(st, BAD);
	/* the same with a bare LF */
	memcpy(s + SMTP_CLIENT_REPLY_LINE_MAX, "a\n", 2);
	st = smtp_client_parse_reply(s, SMTP_CLIENT_REPLY_LINE_MAX + 2, &r,
	    &consumed);
	assert_int_equal(st, BAD);
	/* no line end in sight: BAD without waiting for one */
	memset(s + 4, 'a', SMTP_CLIENT_REPLY_LINE_MAX);
	st = smtp_client_parse_reply(s, SMTP_CLIENT_REPLY_LINE_MAX + 2, &r,
	    &consumed);
	assert_int_equal(st, BAD);

	/* many lines: at most REPLY_MAX in all */
	for (len = 0; len + 10 <= SMTP_CLIENT_REPLY_MAX - 10; len += 10)
		memcpy(s + len, "250-abcd\r\n", 10);
	memcpy(s + len, "250 abcd\r\n", 10);
	len += 10;
	assert_true(len <= SMTP_CLIENT_REPLY_MAX);
	st = smtp_client_parse_reply(s, len, &r, &consumed);
	assert_int_equal(st, OK);
	assert_int_equal(consumed, len);
	/* ext keeps whole lines only */
	assert_true(strlen(r.ext) < sizeof(r.ext));
	assert_int_equal(strlen(r.ext) % 5, 0);
	memcpy(s + len - 10, "250-abcd\r\n250 abcd\r\n", 20);
	len += 10;
	st = smtp_client_parse_reply(s, len, &r, &consumed);
	assert_int_equal(st, BAD);
	/* and BAD already when the unfinished reply passes the limit */
	st = smtp_client_parse_reply(s, SMTP_CLIENT_REPLY_MAX + 1, &r,
	    &consumed);
	assert_int_equal(st, BAD);
	st = smtp_client_parse_reply(s, SMTP_CLIENT_REPLY_MAX - 5, &r,
	    &consumed);
	assert_int_equal(st, MORE);
	free(s);
}

static void
t_ehlo(void **state)
{
	static const char in[] = "250-mx.test PIPELINING SIZE 5\r\n"
	    "250-Pipelining\r\n250-SIZE 10240000\r\n250-8bitmime\r\n"
	    "250-DSN\r\n250-SMTPUTF8X\r\n250-AUTH PLAIN\r\n"
	    "250 ENHANCEDSTATUSCODES\r\n";
	struct smtp_reply r;
	struct smtp_client_ehlo e;
	size_t consumed;

	(void)state;
	assert_int_equal(smtp_client_parse_reply(IN(in), &r, &consumed), OK);
	smtp_client_parse_ehlo(&r, &e);
	assert_true(e.pipelining);
	assert_true(e.size_offered);
	assert_int_equal(e.size, 10240000);
	assert_true(e.eightbitmime);
	assert_true(e.dsn);
	assert_false(e.smtputf8);

	/* the first line is the greeting, not a keyword */
	assert_int_equal(smtp_client_parse_reply(IN("250 PIPELINING\r\n"),
	    &r, &consumed), OK);
	smtp_client_parse_ehlo(&r, &e);
	assert_false(e.pipelining);

	assert_int_equal(smtp_client_parse_reply(IN("250-x\r\n250-SIZE\r\n"
	    "250 SMTPUTF8\r\n"), &r, &consumed), OK);
	smtp_client_parse_ehlo(&r, &e);
	assert_true(e.size_offered);
	assert_int_equal(e.size, 0);
	assert_true(e.smtputf8);

	assert_int_equal(smtp_client_parse_reply(IN("250-x\r\n"
	    "250 SIZE 999999999999999999999999\r\n"), &r, &consumed), OK);
	smtp_client_parse_ehlo(&r, &e);
	assert_true(e.size == UINT64_MAX);
}

/*
 * Issue 20 point 3: a long EHLO reply (4 KiB of keywords, as some peers
 * send) keeps every keyword: STARTTLS last must still be seen, or `tls
 * may` would go on in clear text.  Also at the reply's own bound: a
 * keyword on the last line of a reply of almost SMTP_CLIENT_REPLY_MAX.
 */
static void
t_ehlo_long(void **state)
{
	struct smtp_reply *r = malloc(sizeof(*r));
	struct smtp_client_ehlo e;
	size_t len = 0, consumed;
	char *s = malloc(SMTP_CLIENT_REPLY_MAX);
	int i;

	(void)state;
	len += (size_t)sprintf(s, "250-mx.test greets you\r\n");
	for (i = 0; len < 4096; i++)
		len += (size_t)sprintf(s + len, "250-X-PADDING-KEYWORD-%04d "
		    "some parameters here\r\n", i);
	len += (size_t)sprintf(s + len, "250-PIPELINING\r\n250 STARTTLS\r\n");
	assert_true(len > 4096);
	assert_int_equal(smtp_client_parse_reply(s, len, r, &consumed), OK);
	assert_int_equal(consumed, len);
	smtp_client_parse_ehlo(r, &e);
	assert_true(e.pipelining);
	assert_true(e.starttls);

	/* up to the reply's own bound */
	len = (size_t)sprintf(s, "250-mx.test\r\n");
	while (len + 50 < SMTP_CLIENT_REPLY_MAX - 40)
		len += (size_t)sprintf(s + len, "250-%044d\r\n", 0);
	len += (size_t)sprintf(s + len, "250-SIZE 1000\r\n250 STARTTLS\r\n");
	assert_true(len <= SMTP_CLIENT_REPLY_MAX);
	assert_int_equal(smtp_client_parse_reply(s, len, r, &consumed), OK);
	smtp_client_parse_ehlo(r, &e);
	assert_true(e.starttls);
	assert_true(e.size_offered);
	assert_int_equal(e.size, 1000);
	free(s);
	free(r);
}

/* ---- MAIL / RCPT lines ---- */

static void
t_cmd_lines(void **state)
{
	struct smtp_client_msg m = { .sender = "s@a.test", .size = 42 };
	struct smtp_client_rcpt r = { .addr = "r@b.test" };
	struct smtp_client_ehlo none = { 0 }, all = { 0, 1, 0, 1, 1, 1, 0 };
	char buf[SMTP_CMD_LINE_MAX + 3];

	(void)state;
	assert_int_equal(smtp_client_mail_line(buf, sizeof(buf), &m, &none), 0);
	assert_string_equal(buf, "MAIL FROM:<s@a.test>\r\n");
	m.body_8bit = 1;
	m.smtputf8 = 1;
	m.ret = SMTP_RET_HDRS;
	m.envid = "QQ+2Bx";
	assert_int_equal(smtp_client_mail_line(buf, sizeof(buf), &m, &all), 0);
	assert_string_equal(buf, "MAIL FROM:<s@a.test> SIZE=42 BODY=8BITMIME"
	    " SMTPUTF8 RET=HDRS ENVID=QQ+2Bx\r\n");
	m.envid = "bad envid";	/* not xtext: left out */
	m.ret = SMTP_RET_FULL;
	m.sender = "";
	m.body_8bit = m.smtputf8 = 0;
	assert_int_equal(smtp_client_mail_line(buf, sizeof(buf), &m, &all), 0);
	assert_string_equal(buf, "MAIL FROM:<> SIZE=42 RET=FULL\r\n");
	m.sender = "a@b\r\nRCPT TO:<evil@x>";
	assert_int_equal(smtp_client_mail_line(buf, sizeof(buf), &m, &all),
	    -1);
	m.sender = "s@a.test";
	assert_int_equal(smtp_client_mail_line(buf, 20, &m, &all), -1);

	assert_int_equal(smtp_client_rcpt_line(buf, sizeof(buf), &r, &all), 0);
	assert_string_equal(buf, "RCPT TO:<r@b.test>\r\n");
	r.notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY;
	r.orcpt = "rfc822;r@b.test";
	assert_int_equal(smtp_client_rcpt_line(buf, sizeof(buf), &r, &all), 0);
	assert_string_equal(buf, "RCPT TO:<r@b.test> NOTIFY=SUCCESS,DELAY"
	    " ORCPT=rfc822;r@b.test\r\n");
	r.notify = SMTP_NOTIFY_FAILURE;
	assert_int_equal(smtp_client_rcpt_line(buf, sizeof(buf), &r, &all), 0);
	assert_string_equal(buf, "RCPT TO:<r@b.test> NOTIFY=FAILURE"
	    " ORCPT=rfc822;r@b.test\r\n");
	r.notify = SMTP_NOTIFY_NEVER;
	assert_int_equal(smtp_client_rcpt_line(buf, sizeof(buf), &r, &all), 0);
	assert_string_equal(buf, "RCPT TO:<r@b.test> NOTIFY=NEVER"
	    " ORCPT=rfc822;r@b.test\r\n");
	assert_int_equal(smtp_client_rcpt_line(buf, sizeof(buf), &r, &none),
	    0);
	assert_string_equal(buf, "RCPT TO:<r@b.test>\r\n");
	r.addr = "x\ny";
	assert_int_equal(smtp_client_rcpt_line(buf, sizeof(buf), &r, &none),
	    -1);
}

/* ---- canonicalizer ---- */

/* Run canon over in, cut at the given offsets, into a fresh buf. */
static size_t
canon_run(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    struct buf *out)
{
	struct smtp_canon st;
	size_t k, from = 0, to, n, total = 0;
	char *o;

	memset(&st, 0, sizeof(st));
	buf_init(out, SIZE_MAX);
	for (k = 0; k <= ncuts; k++) {
		to = k < ncuts ? cuts[k] : len;
		/* exactly the documented room: ASan catches overruns */
		o = malloc(2 * (to - from) + 8);
		n = smtp_client_canon(&st, in + from, to - from, k == ncuts, o);
		assert_true(n <= 2 * (to - from) + 8);
		assert_int_equal(buf_append(out, o, n), 0);
		free(o);
		total += n;
		from = to;
	}
	assert_true(st.at_line_start);
	return total;
}

/*
 * The reference: split into lines at CRLF, CR or LF; cut each line into
 * pieces of 998 wire octets (997 and the stuffing dot for a piece that
 * starts with '.'); CRLF after each.
 */
static void
canon_ref(const char *in, size_t len, struct buf *out)
{
	size_t i = 0, s, e, p, m, lim;

	buf_init(out, SIZE_MAX);
	while (i < len) {
		s = i;
		while (i < len && in[i] != '\r' && in[i] != '\n')
			i++;
		e = i;
		if (i < len && in[i] == '\r' && i + 1 < len &&
		    in[i + 1] == '\n')
			i += 2;
		else if (i < len)
			i++;
		p = s;
		do {
			/* the stuffing dot is on the wire: it counts */
			lim = p < e && in[p] == '.' ? 997 : 998;
			m = e - p > lim ? lim : e - p;
			if (m > 0 && in[p] == '.')
				buf_appendc(out, '.');
			buf_append(out, in + p, m);
			buf_append(out, "\r\n", 2);
			p += m;
		} while (p < e);
	}
}

struct canon_case {
	const char	*in;
	const char	*out;
};

static const struct canon_case canon_cases[] = {
	{ "", "" },
	{ "abc", "abc\r\n" },
	{ "a\r\nb\r\n", "a\r\nb\r\n" },
	{ "a\nb\n", "a\r\nb\r\n" },
	{ "a\rb\r", "a\r\nb\r\n" },
	{ "a\r\r\nb", "a\r\n\r\nb\r\n" },
	{ "\n\r", "\r\n\r\n" },
	{ "\r\n\r\n", "\r\n\r\n" },
	{ "\n\n", "\r\n\r\n" },
	{ ".", "..\r\n" },
	{ ".\r\n", "..\r\n" },
	{ "\r\n.\r\n", "\r\n..\r\n" },
	{ ".a\n..b\r\nc.d\r\n.", "..a\r\n...b\r\nc.d\r\n..\r\n" },
	{ "a\n.\rb\r.\n", "a\r\n..\r\nb\r\n..\r\n" },
	{ "x\r\n.\r\nMAIL FROM:<a@b>\r\n", "x\r\n..\r\nMAIL FROM:<a@b>\r\n" },
	{ "x\n.\nRCPT", "x\r\n..\r\nRCPT\r\n" },
	{ "x\r.\r", "x\r\n..\r\n" },
};

static void
canon_check(const char *in, size_t len, const char *want, size_t wantlen)
{
	struct buf whole, part;
	size_t k, *cuts;

	canon_run(in, len, NULL, 0, &whole);
	assert_int_equal(whole.len, wantlen);
	assert_memory_equal(whole.p, want, wantlen);
	/* every single split point */
	for (k = 0; k <= len; k++) {
		canon_run(in, len, &k, 1, &part);
		assert_int_equal(part.len, whole.len);
		assert_memory_equal(part.p, whole.p, whole.len);
		buf_free(&part);
	}
	/* one byte at a time */
	cuts = malloc((len + 1) * sizeof(*cuts));
	for (k = 0; k < len; k++)
		cuts[k] = k + 1;
	canon_run(in, len, cuts, len, &part);
	assert_int_equal(part.len, whole.len);
	assert_memory_equal(part.p, whole.p, whole.len);
	buf_free(&part);
	free(cuts);
	buf_free(&whole);
}

static void
t_canon_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(canon_cases) / sizeof(canon_cases[0]); i++)
		canon_check(canon_cases[i].in, strlen(canon_cases[i].in),
		    canon_cases[i].out, strlen(canon_cases[i].out));
}

/* Lines of 998 / 999 octets and folding with dots. */
static void
t_canon_long(void **state)
{
	char in[3000], want[3100];
	size_t n;

	(void)state;
	memset(in, 'a', sizeof(in));
	/* 998 + CRLF: untouched */
	memcpy(in + 998, "\r\n", 2);
	canon_check(in, 1000, in, 1000);
	/* 999 + CRLF: folded after 998 */
	memset(in, 'a', sizeof(in));
	memcpy(in + 999, "\r\n", 2);
	memset(want, 'a', 998);
	memcpy(want + 998, "\r\na\r\n", 5);
	canon_check(in, 1001, want, 1003);
	/* 998 then CR then x: the CR ends the line, no fold */
	memset(in, 'a', sizeof(in));
	memcpy(in + 998, "\rx", 2);
	memset(want, 'a', 998);
	memcpy(want + 998, "\r\nx\r\n", 5);
	canon_check(in, 1000, want, 1003);
	/* the octet after a fold that is a '.' is stuffed */
	memset(in, 'a', sizeof(in));
	in[998] = '.';
	memset(want, 'a', 998);
	memcpy(want + 998, "\r\n..\r\n", 6);
	canon_check(in, 999, want, 1004);
	/* Issue 20 point 5: the stuffing dot counts (SPEC 5: at most 998
	 * octets on the wire): "." + 996 stays one line of 998 ... */
	memset(in, 'a', sizeof(in));
	in[0] = '.';
	want[0] = '.';
	memcpy(want + 1, in, 997);
	memcpy(want + 998, "\r\n", 2);
	canon_check(in, 997, want, 1000);
	/* ... a 998-octet line starting with "." becomes two lines: the
	 * first 998 octets with its dot, the second the last octet */
	memcpy(want + 998, "\r\na\r\n", 5);
	canon_check(in, 998, want, 1003);
	/* ... and a fold piece that starts with '.' is bounded the same */
	memset(in, 'a', sizeof(in));
	in[998] = '.';
	memset(want, 'a', 998);
	memcpy(want + 998, "\r\n..", 4);
	memset(want + 1002, 'a', 996);
	memcpy(want + 1998, "\r\naa\r\n", 6);
	canon_check(in, 998 + 999, want, 2004);
	/* 2000 octets, unterminated */
	memset(in, 'a', 2000);
	memset(want, 'a', 998);
	memcpy(want + 998, "\r\n", 2);
	memset(want + 1000, 'a', 998);
	memcpy(want + 1998, "\r\naaaa\r\n", 8);
	n = 2006;
	canon_check(in, 2000, want, n);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static void
t_canon_random(void **state)
{
	static const char alpha[] = "a.\r\n";
	struct buf ref, got;
	size_t len, i, k, cuts[3];
	unsigned seed = 12345;
	char *in;
	int round;

	(void)state;
	in = malloc(5000);
	for (round = 0; round < 400; round++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 8) % 5000;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			/* some rounds with few line ends: long lines */
			k = (seed >> 16) % 1024;
			in[i] = k < (round % 3 ? 256u : 3u) ? alpha[k % 4] :
			    'a';
		}
		for (k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			cuts[k] = len ? (seed >> 8) % (len + 1) : 0;
		}
		qsort(cuts, 3, sizeof(cuts[0]), cmp_size);
		canon_ref(in, len, &ref);
		canon_run(in, len, cuts, 3, &got);
		assert_int_equal(got.len, ref.len);
		assert_memory_equal(got.p, ref.p, ref.len);
		buf_free(&ref);
		buf_free(&got);
	}
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_reply_table),
		cmocka_unit_test(t_reply_limits),
		cmocka_unit_test(t_ehlo),
		cmocka_unit_test(t_ehlo_long),
		cmocka_unit_test(t_cmd_lines),
		cmocka_unit_test(t_canon_table),
		cmocka_unit_test(t_canon_long),
		cmocka_unit_test(t_canon_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
