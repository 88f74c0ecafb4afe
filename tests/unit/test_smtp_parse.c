/*
 * test_smtp_parse — table tests for the command line framer, the command
 * splitter and the MAIL/RCPT parameter parsers (the DATA reader has its
 * own file, test_smtp_data.c).
 *
 * The framer is driven the way the session drives it (append what
 * arrived, take lines until NEED_MORE, drop what was consumed), and every
 * case is replayed whole, split at each single boundary and in 1-byte
 * chunks: the transcript of results must not depend on the split.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"

#define IN(s)	(s), sizeof(s) - 1

/* ---- framer ---- */

struct transcript {
	char	text[8192];
	size_t	len;
};

static void
tr_add(struct transcript *t, const char *s, size_t n)
{
	if (t->len + n + 2 >= sizeof(t->text))
		fail_msg("transcript overflow");
	if (t->len > 0)
		t->text[t->len++] = '|';
	memcpy(t->text + t->len, s, n);
	t->len += n;
	t->text[t->len] = '\0';
}

/*
 * Feed `in` to a framer in the chunks given by the cut offsets and record
 * each result: "OK:<line>", "TOO_LONG", "BARE_LF", "BAD_CHAR", then
 * "rest=N" for what stays pending at the end.
 */
static void
frame_run(size_t max, const char *in, size_t len, const size_t *cuts,
    size_t ncuts, struct transcript *t)
{
	static const char *names[] = { "NEED_MORE", "OK", "TOO_LONG",
	    "BARE_LF", "BAD_CHAR" };
	struct smtp_framer f;
	enum smtp_line_status st;
	char *pend, rest[32];
	size_t plen = 0, from = 0, to, k, linelen, consumed;

	pend = malloc(len + 1);
	assert_non_null(pend);
	t->len = 0;
	t->text[0] = '\0';
	smtp_framer_init(&f, max);
	for (k = 0; k <= ncuts; k++) {
		to = k < ncuts ? cuts[k] : len;
		memcpy(pend + plen, in + from, to - from);
		plen += to - from;
		from = to;
		for (;;) {
			st = smtp_framer_next(&f, pend, plen, &linelen,
			    &consumed);
			assert_true(consumed <= plen);
			if (st == SMTP_LINE_OK) {
				char tok[4096];
				assert_true(linelen + 2 <= consumed);
				snprintf(tok, sizeof(tok), "OK:%.*s",
				    (int)linelen, pend);
				tr_add(t, tok, strlen(tok));
			} else if (st != SMTP_LINE_NEED_MORE)
				tr_add(t, names[st], strlen(names[st]));
			memmove(pend, pend + consumed, plen - consumed);
			plen -= consumed;
			if (st == SMTP_LINE_NEED_MORE)
				break;
		}
		/* the caller never has to hold more than a line and CRLF */
		assert_true(plen <= max + 1);
	}
	snprintf(rest, sizeof(rest), "rest=%zu", plen);
	tr_add(t, rest, strlen(rest));
	free(pend);
}

/* Whole, every single split, 1-byte chunks: one transcript. */
static void
frame_check(size_t max, const char *in, size_t len, const char *want)
{
	struct transcript t;
	size_t cut, *cuts, i;

	frame_run(max, in, len, NULL, 0, &t);
	if (strcmp(t.text, want) != 0)
		fail_msg("framer: got [%s], want [%s]", t.text, want);
	for (cut = 0; cut <= len; cut++) {
		frame_run(max, in, len, &cut, 1, &t);
		if (strcmp(t.text, want) != 0)
			fail_msg("framer split at %zu: got [%s], want [%s]",
			    cut, t.text, want);
	}
	cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (i = 0; i < len; i++)
		cuts[i] = i;
	frame_run(max, in, len, cuts, len, &t);
	free(cuts);
	if (strcmp(t.text, want) != 0)
		fail_msg("framer 1-byte chunks: got [%s], want [%s]", t.text,
		    want);
}

static void
test_framer_table(void **state)
{
	static const struct {
		size_t		 max;
		const char	*in;
		size_t		 len;
		const char	*want;
	} cases[] = {
		{ 10, IN("NOOP\r\n"), "OK:NOOP|rest=0" },
		{ 10, IN("NOOP\r\nQUIT\r\n"), "OK:NOOP|OK:QUIT|rest=0" },
		{ 10, IN("\r\n"), "OK:|rest=0" },
		{ 10, IN("NOO"), "rest=3" },
		{ 10, IN("NOOP\r"), "rest=5" },
		{ 10, IN("NOOP\n"), "BARE_LF|rest=0" },
		{ 10, IN("\n"), "BARE_LF|rest=0" },
		{ 10, IN("NOOP\nQUIT\r\n"), "BARE_LF|OK:QUIT|rest=0" },
		{ 10, IN("NO\0OP\r\nQUIT\r\n"), "BAD_CHAR|OK:QUIT|rest=0" },
		{ 10, IN("\0\r\n"), "BAD_CHAR|rest=0" },
		{ 10, IN("NO\rOP\r\nQUIT\r\n"), "BAD_CHAR|OK:QUIT|rest=0" },
		{ 10, IN("NOOP\r\r\n"), "BAD_CHAR|rest=0" },
		{ 10, IN("\r\r\n\r\n"), "BAD_CHAR|OK:|rest=0" },
		/* the limit, and limit + 1, with CRLF and with bare LF */
		{ 10, IN("0123456789\r\n"), "OK:0123456789|rest=0" },
		{ 10, IN("0123456789A\r\n"), "TOO_LONG|rest=0" },
		{ 10, IN("0123456789\n"), "BARE_LF|rest=0" },
		{ 10, IN("0123456789A\n"), "TOO_LONG|rest=0" },
		{ 10, IN("0123456789\r"), "rest=11" },
		/* overlong: consumed as it comes, reported once, then resync */
		{ 10, IN("0123456789ABCDEF"), "rest=0" },
		{ 10, IN("0123456789ABCDEF\r\nNOOP\r\n"),
		    "TOO_LONG|OK:NOOP|rest=0" },
		{ 10, IN("0123456789ABCDEF\nNOOP\r\n"), "TOO_LONG|OK:NOOP|rest=0" },
		{ 10, IN("0123456789AB\r\rxx\0x\r\nNOOP\r\nQUIT\r\n"),
		    "TOO_LONG|OK:NOOP|OK:QUIT|rest=0" },
		{ 10, IN("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
		    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\nQUIT\r\nNO"),
		    "TOO_LONG|TOO_LONG|OK:QUIT|rest=2" },
		{ 10, IN("RCPT TO:<a>\r\nRCPT\r\n"), "TOO_LONG|OK:RCPT|rest=0" },
		{ 0, IN("\r\nx\r\n"), "OK:|TOO_LONG|rest=0" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		frame_check(cases[i].max, cases[i].in, cases[i].len,
		    cases[i].want);
}

/* SMTP_CMD_LINE_MAX and SMTP_CMD_LINE_MAX + 1, with the real limit. */
static void
test_framer_real_limit(void **state)
{
	size_t n = SMTP_CMD_LINE_MAX, len;
	char *in, *want;

	(void)state;
	in = malloc(2 * n + 64);
	want = malloc(n + 64);
	assert_non_null(in);
	assert_non_null(want);
	memset(in, 'x', n);
	memcpy(in + n, "\r\n", 2);
	memcpy(want, "OK:", 3);
	memset(want + 3, 'x', n);
	strcpy(want + 3 + n, "|rest=0");
	frame_check(n, in, n + 2, want);

	memset(in, 'x', n + 1);
	memcpy(in + n + 1, "\r\nNOOP\r\n", 8);
	len = n + 9;
	frame_check(n, in, len, "TOO_LONG|OK:NOOP|rest=0");
	free(in);
	free(want);
}

/* The documented call-by-call behaviour while skipping. */
static void
test_framer_skipping(void **state)
{
	struct smtp_framer f;
	size_t linelen, consumed;

	(void)state;
	smtp_framer_init(&f, 4);
	assert_int_equal(smtp_framer_next(&f, IN("abcdef"), &linelen,
	    &consumed), SMTP_LINE_NEED_MORE);
	assert_int_equal(consumed, 6);
	assert_int_equal(smtp_framer_next(&f, IN("ghi"), &linelen, &consumed),
	    SMTP_LINE_NEED_MORE);
	assert_int_equal(consumed, 3);
	assert_int_equal(smtp_framer_next(&f, IN("j\r\nQUIT\r\n"), &linelen,
	    &consumed), SMTP_LINE_TOO_LONG);
	assert_int_equal(consumed, 3);
	assert_int_equal(smtp_framer_next(&f, IN("QUIT\r\n"), &linelen,
	    &consumed), SMTP_LINE_OK);
	assert_int_equal(linelen, 4);
	assert_int_equal(consumed, 6);
	assert_int_equal(smtp_framer_next(&f, "", 0, &linelen, &consumed),
	    SMTP_LINE_NEED_MORE);
	assert_int_equal(consumed, 0);
}

/* ---- commands ---- */

static void
test_command_table(void **state)
{
	static const struct {
		const char	*line;
		size_t		 len;
		int		 rc;
		enum smtp_verb	 verb;
		const char	*arg;
	} cases[] = {
		{ IN("HELO example.com"), 0, SMTP_CMD_HELO, "example.com" },
		{ IN("ehlo example.com"), 0, SMTP_CMD_EHLO, "example.com" },
		{ IN("MAIL FROM:<a@b>"), 0, SMTP_CMD_MAIL, "FROM:<a@b>" },
		{ IN("Rcpt To:<a@b> NOTIFY=NEVER"), 0, SMTP_CMD_RCPT,
		    "To:<a@b> NOTIFY=NEVER" },
		{ IN("DATA"), 0, SMTP_CMD_DATA, "" },
		{ IN("data   "), 0, SMTP_CMD_DATA, "" },
		{ IN("BDAT 100 LAST"), 0, SMTP_CMD_BDAT, "100 LAST" },
		{ IN("RSET"), 0, SMTP_CMD_RSET, "" },
		{ IN("NOOP hello "), 0, SMTP_CMD_NOOP, "hello" },
		{ IN("NOOP  x"), 0, SMTP_CMD_NOOP, " x" },
		{ IN("QUIT \t "), 0, SMTP_CMD_QUIT, "" },
		{ IN("VRFY user"), 0, SMTP_CMD_VRFY, "user" },
		{ IN("expn list"), 0, SMTP_CMD_EXPN, "list" },
		{ IN("HELP"), 0, SMTP_CMD_HELP, "" },
		{ IN("HELP DATA"), 0, SMTP_CMD_HELP, "DATA" },
		{ IN("StartTLS"), 0, SMTP_CMD_STARTTLS, "" },
		{ IN("AUTH PLAIN dGVzdA=="), 0, SMTP_CMD_AUTH, "PLAIN dGVzdA==" },
		{ IN("MAIL"), 0, SMTP_CMD_MAIL, "" },
		{ IN("FOO bar"), -1, SMTP_CMD_UNKNOWN, "bar" },
		{ IN(""), -1, SMTP_CMD_UNKNOWN, "" },
		{ IN("   "), -1, SMTP_CMD_UNKNOWN, "" },
		{ IN(" NOOP"), -1, SMTP_CMD_UNKNOWN, "NOOP" },
		{ IN("MAILX FROM:<a@b>"), -1, SMTP_CMD_UNKNOWN, "FROM:<a@b>" },
		{ IN("MAI"), -1, SMTP_CMD_UNKNOWN, "" },
		{ IN("MAIL:FROM:<a@b>"), -1, SMTP_CMD_UNKNOWN, "" },
		{ IN("DATA\t"), 0, SMTP_CMD_DATA, "" },
		{ IN("DAT\0"), -1, SMTP_CMD_UNKNOWN, "" },
		{ IN("GET / HTTP/1.0"), -1, SMTP_CMD_UNKNOWN, "/ HTTP/1.0" },
	};
	struct smtp_cmd cmd;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = smtp_parse_command(cases[i].line, cases[i].len, &cmd);
		if (rc != cases[i].rc || cmd.verb != cases[i].verb ||
		    cmd.arglen != strlen(cases[i].arg) ||
		    memcmp(cmd.arg, cases[i].arg, cmd.arglen) != 0)
			fail_msg("command case %zu [%s]: rc %d verb %d arg "
			    "[%.*s]", i, cases[i].line, rc, cmd.verb,
			    (int)cmd.arglen, cmd.arg);
	}
}

static void
test_verb_names(void **state)
{
	struct smtp_cmd cmd;
	const char *name;
	int v;

	(void)state;
	for (v = SMTP_CMD_UNKNOWN + 1; v < SMTP_CMD_COUNT; v++) {
		name = smtp_verb_name((enum smtp_verb)v);
		assert_int_equal(smtp_parse_command(name, strlen(name), &cmd),
		    0);
		assert_int_equal(cmd.verb, v);
	}
	assert_string_equal(smtp_verb_name(SMTP_CMD_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_verb_name(SMTP_CMD_COUNT), "UNKNOWN");
}

/* ---- MAIL ---- */

enum { POK = SMTP_PARAM_OK, PSYN = SMTP_PARAM_SYNTAX,
	PUNK = SMTP_PARAM_UNKNOWN, PADDR = SMTP_PARAM_ADDR };

static const struct mail_case {
	const char	*arg;
	int		 utf8_ok;
	int		 st;
	int		 ast;		/* when PADDR */
	const char	*sender;	/* addr_format, on OK */
	uint64_t	 size;
	int		 body, smtputf8, ret;
	const char	*envid, *auth;
} mail_cases[] = {
	{ "FROM:<a@b.example>", 0, POK, 0, "a@b.example", 0, 0, 0, 0, "", "" },
	{ "from:<a@B.example>", 0, POK, 0, "a@b.example", 0, 0, 0, 0, "", "" },
	{ "FROM: <a@b.example>", 0, POK, 0, "a@b.example", 0, 0, 0, 0, "", "" },
	{ "FROM:<>", 0, POK, 0, "", 0, 0, 0, 0, "", "" },
	{ "FROM:<> SIZE=5", 0, POK, 0, "", 5, 0, 0, 0, "", "" },
	{ "FROM:  <a@b.example>", 0, PADDR, ADDR_ERR_SYNTAX, 0, 0, 0, 0, 0,
	    0, 0 },
	{ "FROM :<a@b.example>", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM<a@b.example>", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "TO:<a@b.example>", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:", 0, PADDR, ADDR_ERR_SYNTAX, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:a@b.example", 0, PADDR, ADDR_ERR_SYNTAX, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.example.>", 0, PADDR, ADDR_ERR_SYNTAX, 0, 0, 0, 0, 0,
	    0, 0 },
	{ "FROM:<postmaster>", 0, PADDR, ADDR_ERR_SYNTAX, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.example>SIZE=1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<@r.example:a@b.example>", 0, POK, 0, "a@b.example", 0, 0,
	    0, 0, "", "" },
	/* SIZE */
	{ "FROM:<a@b> SIZE=1000", 0, POK, 0, "a@b", 1000, 0, 0, 0, "", "" },
	{ "FROM:<a@b> size=0", 0, POK, 0, "a@b", 0, 0, 0, 0, "", "" },
	{ "FROM:<a@b> SIZE=0018446744073709551615", 0, POK, 0, "a@b",
	    UINT64_MAX, 0, 0, 0, "", "" },
	{ "FROM:<a@b> SIZE=18446744073709551616", 0, PSYN, 0, 0, 0, 0, 0, 0,
	    0, 0 },
	{ "FROM:<a@b> SIZE=99999999999999999999999", 0, PSYN, 0, 0, 0, 0, 0,
	    0, 0, 0 },
	{ "FROM:<a@b> SIZE=", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE=12a", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE=-1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE=+1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE=1 SIZE=1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE=1 size=2", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	/* BODY */
	{ "FROM:<a@b> BODY=8BITMIME", 0, POK, 0, "a@b", 0,
	    SMTP_BODY_8BITMIME, 0, 0, "", "" },
	{ "FROM:<a@b> body=7bit", 0, POK, 0, "a@b", 0, SMTP_BODY_7BIT, 0, 0,
	    "", "" },
	{ "FROM:<a@b> BODY=BinaryMIME", 0, POK, 0, "a@b", 0,
	    SMTP_BODY_BINARYMIME, 0, 0, "", "" },
	{ "FROM:<a@b> BODY=9BIT", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> BODY", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> BODY=7BIT BODY=7BIT", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	/* SMTPUTF8 */
	{ "FROM:<a@b> SMTPUTF8", 1, POK, 0, "a@b", 0, 0, 1, 0, "", "" },
	{ "FROM:<a@b> smtputf8", 1, POK, 0, "a@b", 0, 0, 1, 0, "", "" },
	{ "FROM:<a@b> SMTPUTF8", 0, PUNK, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SMTPUTF8=yes", 1, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SMTPUTF8 SMTPUTF8", 1, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<j\xc3\xb6@b.example> SMTPUTF8", 1, POK, 0,
	    "j\xc3\xb6@b.example", 0, 0, 1, 0, "", "" },
	{ "FROM:<j\xc3\xb6@b.example>", 1, PADDR, ADDR_ERR_UTF8, 0, 0, 0, 0,
	    0, 0, 0 },
	{ "FROM:<j\xc3\xb6@b.example> SMTPUTF8", 0, PADDR, ADDR_ERR_UTF8, 0,
	    0, 0, 0, 0, 0, 0 },
	{ "FROM:<j\xc3@b.example> SMTPUTF8", 1, PADDR, ADDR_ERR_SYNTAX, 0, 0,
	    0, 0, 0, 0, 0 },
	/* RET, ENVID, AUTH */
	{ "FROM:<a@b> RET=FULL", 0, POK, 0, "a@b", 0, 0, 0, SMTP_RET_FULL, "",
	    "" },
	{ "FROM:<a@b> ret=hdrs", 0, POK, 0, "a@b", 0, 0, 0, SMTP_RET_HDRS, "",
	    "" },
	{ "FROM:<a@b> RET=NONE", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> RET", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> ENVID=QQ314159", 0, POK, 0, "a@b", 0, 0, 0, 0,
	    "QQ314159", "" },
	{ "FROM:<a@b> ENVID=a+2Bb+3D<>", 0, POK, 0, "a@b", 0, 0, 0, 0,
	    "a+2Bb+3D<>", "" },
	{ "FROM:<a@b> ENVID=a+2bb", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> ENVID=a+2", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> ENVID=a+", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> ENVID=a+GG", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> ENVID=", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> ENVID", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> ENVID=\xc3\xa9", 1, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> ENVID=x ENVID=x", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> AUTH=<>", 0, POK, 0, "a@b", 0, 0, 0, 0, "", "<>" },
	{ "FROM:<a@b> AUTH=u+40b.example", 0, POK, 0, "a@b", 0, 0, 0, 0, "",
	    "u+40b.example" },
	{ "FROM:<a@b> AUTH", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> AUTH=a+zz", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	/* unknown parameters, and the parameter syntax itself */
	{ "FROM:<a@b> FOO=bar", 0, PUNK, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> FOO", 0, PUNK, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> X-FOO-1=a", 0, PUNK, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> NOTIFY=NEVER", 0, PUNK, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> FOO=1 SIZE=x", 0, PUNK, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE=x FOO=1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> =1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> -X=1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> X_Y=1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE=1=2", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE==1", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> SIZE=1\t", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b> FOO=a\x7f", 0, PSYN, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b>  SIZE=1   BODY=8BITMIME  ", 0, POK, 0, "a@b", 1,
	    SMTP_BODY_8BITMIME, 0, 0, "", "" },
	{ "FROM:<a@b> ", 0, POK, 0, "a@b", 0, 0, 0, 0, "", "" },
	{ "FROM:<a@b> BODY=8BITMIME SIZE=10 RET=HDRS ENVID=e1 SMTPUTF8 "
	    "AUTH=<>", 1, POK, 0, "a@b", 10, SMTP_BODY_8BITMIME, 1,
	    SMTP_RET_HDRS, "e1", "<>" },
};

static void
test_mail_table(void **state)
{
	const struct mail_case *c;
	struct smtp_mail_args m;
	char text[ADDR_TEXT_MAX];
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]); i++) {
		c = &mail_cases[i];
		st = smtp_parse_mail(c->arg, strlen(c->arg), c->utf8_ok, &m);
		if (st != c->st)
			fail_msg("MAIL case %zu [%s]: status %d, want %d", i,
			    c->arg, st, c->st);
		if (st == PADDR && (int)m.addr_status != c->ast)
			fail_msg("MAIL case %zu [%s]: addr status %d", i,
			    c->arg, m.addr_status);
		if (st != POK)
			continue;
		addr_format(&m.sender, text, sizeof(text));
		if (strcmp(text, c->sender) != 0 || m.size != c->size ||
		    (int)m.body != c->body || m.smtputf8 != c->smtputf8 ||
		    (int)m.ret != c->ret || strcmp(m.envid, c->envid) != 0 ||
		    strcmp(m.auth, c->auth) != 0)
			fail_msg("MAIL case %zu [%s]: sender [%s] size %ju "
			    "body %d utf8 %d ret %d envid [%s] auth [%s]", i,
			    c->arg, text, (uintmax_t)m.size, m.body,
			    m.smtputf8, m.ret, m.envid, m.auth);
	}
}

/* xtext values: ADDR_PARAM_MAX octets, then one more. */
static void
test_param_lengths(void **state)
{
	char arg[1200];
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	size_t n;

	(void)state;
	n = (size_t)snprintf(arg, sizeof(arg), "FROM:<a@b> ENVID=");
	memset(arg + n, 'e', ADDR_PARAM_MAX);
	assert_int_equal(smtp_parse_mail(arg, n + ADDR_PARAM_MAX, 0, &m),
	    SMTP_PARAM_OK);
	assert_int_equal(strlen(m.envid), ADDR_PARAM_MAX);
	arg[n + ADDR_PARAM_MAX] = 'e';
	assert_int_equal(smtp_parse_mail(arg, n + ADDR_PARAM_MAX + 1, 0, &m),
	    SMTP_PARAM_SYNTAX);

	n = (size_t)snprintf(arg, sizeof(arg), "FROM:<a@b> AUTH=");
	memset(arg + n, 'u', ADDR_PARAM_MAX + 1);
	assert_int_equal(smtp_parse_mail(arg, n + ADDR_PARAM_MAX, 0, &m),
	    SMTP_PARAM_OK);
	assert_int_equal(smtp_parse_mail(arg, n + ADDR_PARAM_MAX + 1, 0, &m),
	    SMTP_PARAM_SYNTAX);

	n = (size_t)snprintf(arg, sizeof(arg), "TO:<a@b> ORCPT=rfc822;");
	memset(arg + n, 'o', ADDR_PARAM_MAX);
	/* the whole value, "rfc822;" included, is limited */
	assert_int_equal(smtp_parse_rcpt(arg, n + ADDR_PARAM_MAX - 7, 0, &r),
	    SMTP_PARAM_OK);
	assert_int_equal(strlen(r.orcpt), ADDR_PARAM_MAX);
	assert_int_equal(smtp_parse_rcpt(arg, n + ADDR_PARAM_MAX - 6, 0, &r),
	    SMTP_PARAM_SYNTAX);
}

/* ---- RCPT ---- */

static void
test_rcpt_table(void **state)
{
	static const struct {
		const char	*arg;
		int		 utf8;
		int		 st, ast;
		const char	*rcpt;
		unsigned	 notify;
		const char	*orcpt;
	} cases[] = {
		{ "TO:<a@b.example>", 0, POK, 0, "a@b.example", 0, "" },
		{ "to:<A@B.Example>", 0, POK, 0, "A@b.example", 0, "" },
		{ "TO: <a@b.example>", 0, POK, 0, "a@b.example", 0, "" },
		{ "TO:<postmaster>", 0, POK, 0, "postmaster", 0, "" },
		{ "TO:<PostMaster>", 0, POK, 0, "postmaster", 0, "" },
		{ "TO:<>", 0, PADDR, ADDR_ERR_SYNTAX, 0, 0, 0 },
		{ "TO:", 0, PADDR, ADDR_ERR_SYNTAX, 0, 0, 0 },
		{ "FROM:<a@b>", 0, PSYN, 0, 0, 0, 0 },
		{ "TO :<a@b>", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b>x", 0, PSYN, 0, 0, 0, 0 },
		/* the relay tricks, through RCPT */
		{ "TO:<user%ext.example@winery-co.co>", 0, POK, 0,
		    "user%ext.example@winery-co.co", 0, "" },
		{ "TO:<@winery-co.co:user@ext.example>", 0, POK, 0,
		    "user@ext.example", 0, "" },
		{ "TO:<\"user@ext.example\"@winery-co.co>", 0, POK, 0,
		    "\"user@ext.example\"@winery-co.co", 0, "" },
		{ "TO:<ext.example!user@winery-co.co>", 0, POK, 0,
		    "ext.example!user@winery-co.co", 0, "" },
		{ "TO:<user@[192.0.2.1]>", 0, POK, 0, "user@[192.0.2.1]", 0, "" },
		{ "TO:<user@winery-co.co.>", 0, PADDR, ADDR_ERR_SYNTAX, 0, 0, 0 },
		/* SMTPUTF8 is per transaction */
		{ "TO:<j\xc3\xb6@b.example>", 1, POK, 0, "j\xc3\xb6@b.example", 0,
		    "" },
		{ "TO:<j\xc3\xb6@b.example>", 0, PADDR, ADDR_ERR_UTF8, 0, 0, 0 },
		/* NOTIFY */
		{ "TO:<a@b> NOTIFY=NEVER", 0, POK, 0, "a@b", SMTP_NOTIFY_NEVER,
		    "" },
		{ "TO:<a@b> NOTIFY=SUCCESS,FAILURE,DELAY", 0, POK, 0, "a@b",
		    SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE |
		    SMTP_NOTIFY_DELAY, "" },
		{ "TO:<a@b> notify=delay", 0, POK, 0, "a@b", SMTP_NOTIFY_DELAY,
		    "" },
		{ "TO:<a@b> NOTIFY=FAILURE,FAILURE", 0, POK, 0, "a@b",
		    SMTP_NOTIFY_FAILURE, "" },
		{ "TO:<a@b> NOTIFY=NEVER,SUCCESS", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY=DELAY,NEVER", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY=", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY=SUCCESS,", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY=,SUCCESS", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY=SUCCESS,,DELAY", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY=BOGUS", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER", 0, PSYN, 0, 0, 0, 0 },
		/* ORCPT */
		{ "TO:<a@b> ORCPT=rfc822;a@b.example", 0, POK, 0, "a@b", 0,
		    "rfc822;a@b.example" },
		{ "TO:<a@b> ORCPT=rfc822;a+2Bb@x", 0, POK, 0, "a@b", 0,
		    "rfc822;a+2Bb@x" },
		{ "TO:<a@b> ORCPT=utf-8;j\\x{00F6}@x", 0, POK, 0, "a@b", 0,
		    "utf-8;j\\x{00F6}@x" },
		{ "TO:<a@b> ORCPT=rfc822", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> ORCPT=;a@b", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> ORCPT=rfc822;", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> ORCPT=rfc822;a+zz", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> ORCPT=rf(c;a", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> ORCPT", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> ORCPT=rfc822;a ORCPT=rfc822;a", 0, PSYN, 0, 0, 0, 0 },
		{ "TO:<a@b> NOTIFY=DELAY ORCPT=rfc822;a@b", 0, POK, 0, "a@b",
		    SMTP_NOTIFY_DELAY, "rfc822;a@b" },
		/* MAIL parameters are unknown on RCPT */
		{ "TO:<a@b> SIZE=10", 0, PUNK, 0, 0, 0, 0 },
		{ "TO:<a@b> SMTPUTF8", 1, PUNK, 0, 0, 0, 0 },
		{ "TO:<a@b> FOO", 0, PUNK, 0, 0, 0, 0 },
	};
	struct smtp_rcpt_args r;
	char text[ADDR_TEXT_MAX];
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st = smtp_parse_rcpt(cases[i].arg, strlen(cases[i].arg),
		    cases[i].utf8, &r);
		if (st != cases[i].st)
			fail_msg("RCPT case %zu [%s]: status %d, want %d", i,
			    cases[i].arg, st, cases[i].st);
		if (st == PADDR && (int)r.addr_status != cases[i].ast)
			fail_msg("RCPT case %zu [%s]: addr status %d", i,
			    cases[i].arg, r.addr_status);
		if (st != POK)
			continue;
		addr_format(&r.rcpt, text, sizeof(text));
		if (strcmp(text, cases[i].rcpt) != 0 ||
		    r.notify != cases[i].notify ||
		    strcmp(r.orcpt, cases[i].orcpt) != 0)
			fail_msg("RCPT case %zu [%s]: rcpt [%s] notify %u "
			    "orcpt [%s]", i, cases[i].arg, text, r.notify,
			    r.orcpt);
	}
}

/* Where the parameters start: the filters get them as written. */
static void
test_params_offset(void **state)
{
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	const char *a;

	(void)state;
	a = "FROM: <a@example.org>  SIZE=10 BODY=8BITMIME";
	assert_int_equal(smtp_parse_mail(a, strlen(a), 1, &m), SMTP_PARAM_OK);
	assert_string_equal(a + m.params, "  SIZE=10 BODY=8BITMIME");
	a = "FROM:<>";
	assert_int_equal(smtp_parse_mail(a, strlen(a), 1, &m), SMTP_PARAM_OK);
	assert_int_equal(m.params, strlen(a));
	a = "TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@x.org";
	assert_int_equal(smtp_parse_rcpt(a, strlen(a), 0, &r), SMTP_PARAM_OK);
	assert_string_equal(a + r.params,
	    " NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@x.org");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framer_table),
		cmocka_unit_test(test_framer_real_limit),
		cmocka_unit_test(test_framer_skipping),
		cmocka_unit_test(test_command_table),
		cmocka_unit_test(test_verb_names),
		cmocka_unit_test(test_mail_table),
		cmocka_unit_test(test_param_lengths),
		cmocka_unit_test(test_rcpt_table),
		cmocka_unit_test(test_params_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
