/*
 * test_smtp_data — tests for the DATA reader of smtp_parse.h (smtp_data.c).
 *
 * The property that matters is that the result cannot depend on how the
 * peer's bytes were split into reads.  Every table case is therefore fed
 * whole, split at each single boundary and in 1-byte chunks, and all runs
 * must agree on status, output, counters and total bytes consumed.  The
 * smuggling cases assert BARE_LF/BARE_CR at the offending byte, which also
 * proves DONE never came first.  Random inputs are compared against a
 * plain whole-buffer reference model.
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

#define IN(s)		(s), sizeof(s) - 1
#define OUT_MAX		(4 * 1024 * 1024)
#define SAME		NULL, 0	/* output: the input without ".\r\n" */

enum { MORE = SMTP_DATA_NEED_MORE, DONE = SMTP_DATA_DONE,
	LF = SMTP_DATA_BARE_LF, CR = SMTP_DATA_BARE_CR };

struct result {
	int		 st;
	struct buf	 out;
	uint64_t	 size;
	int		 too_big, line_too_long, header_too_long;
	unsigned	 received;
	size_t		 consumed;	/* in total, over all calls */
};

static void
result_free(struct result *r)
{
	buf_free(&r->out);
}

/*
 * Feed `in` in the chunks given by the cut offsets (ascending), as the
 * session would: stop at the first status other than NEED_MORE.
 */
static void
data_run(const char *in, size_t len, uint64_t max_size, size_t out_max,
    const size_t *cuts, size_t ncuts, struct result *res)
{
	struct smtp_data_reader r;
	size_t k, from = 0, to, consumed;
	int st = MORE;

	memset(res, 0, sizeof(*res));
	buf_init(&res->out, out_max);
	smtp_data_init(&r, max_size);
	for (k = 0; k <= ncuts && st == MORE; k++) {
		to = k < ncuts ? cuts[k] : len;
		st = smtp_data_feed(&r, in + from, to - from, &consumed,
		    &res->out);
		assert_true(consumed <= to - from);
		if (st == MORE)
			assert_int_equal(consumed, to - from);
		res->consumed += consumed;
		from = to;
	}
	if (st != MORE) {
		/* a finished reader stays finished and takes nothing */
		assert_int_equal(smtp_data_feed(&r, IN("x\r\n.\r\n"), &consumed,
		    &res->out), st);
		assert_int_equal(consumed, 0);
	}
	res->st = st;
	res->size = r.size;
	res->too_big = r.too_big;
	res->line_too_long = r.line_too_long;
	res->header_too_long = r.header_too_long;
	res->received = r.received_count;
}

static void
result_same(const struct result *a, const struct result *b, const char *how)
{
	if (a->st != b->st || a->out.len != b->out.len ||
	    (a->out.len > 0 && memcmp(a->out.p, b->out.p, a->out.len) != 0) ||
	    a->size != b->size || a->too_big != b->too_big ||
	    a->line_too_long != b->line_too_long ||
	    a->header_too_long != b->header_too_long ||
	    a->received != b->received || a->consumed != b->consumed)
		fail_msg("%s: st %d/%d outlen %zu/%zu size %ju/%ju big %d/%d "
		    "long %d/%d hdr %d/%d rcvd %u/%u consumed %zu/%zu", how,
		    a->st, b->st, a->out.len, b->out.len, (uintmax_t)a->size,
		    (uintmax_t)b->size, a->too_big, b->too_big,
		    a->line_too_long, b->line_too_long, a->header_too_long,
		    b->header_too_long, a->received, b->received, a->consumed,
		    b->consumed);
}

/*
 * The split property: whole input, every single boundary (when `every`),
 * 1-byte chunks, and a few multi-way splits; returns the whole-input
 * result for the caller to check.
 */
static void
data_check_splits(const char *in, size_t len, uint64_t max_size,
    size_t out_max, int every, struct result *whole)
{
	struct result r;
	size_t cut, *cuts, i, n;
	char how[64];

	data_run(in, len, max_size, out_max, NULL, 0, whole);
	for (cut = 0; every && cut <= len; cut++) {
		data_run(in, len, max_size, out_max, &cut, 1, &r);
		snprintf(how, sizeof(how), "split at %zu", cut);
		result_same(whole, &r, how);
		result_free(&r);
	}
	cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (i = 0; i < len; i++)
		cuts[i] = i;
	data_run(in, len, max_size, out_max, cuts, len, &r);
	result_same(whole, &r, "1-byte chunks");
	result_free(&r);
	for (n = 2; n < 9 && n < len; n++) {	/* chunks of n bytes */
		for (i = 0; i * n < len; i++)
			cuts[i] = i * n;
		data_run(in, len, max_size, out_max, cuts, i, &r);
		snprintf(how, sizeof(how), "%zu-byte chunks", n);
		result_same(whole, &r, how);
		result_free(&r);
	}
	free(cuts);
}

static const struct data_case {
	const char	*in;
	size_t		 len;
	uint64_t	 max;		/* 0: no limit */
	size_t		 out_max;	/* 0: OUT_MAX */
	int		 st;
	const char	*out;		/* NULL: SAME */
	size_t		 outlen;
	uint64_t	 size;
	int		 too_big, line_too_long;
	unsigned	 received;
	size_t		 consumed;
} cases[] = {
	/* the end marker, dot-unstuffing */
	{ IN(".\r\n"), 0, 0, DONE, IN(""), 0, 0, 0, 0, 3 },
	{ IN("Subject: x\r\n\r\nbody\r\n.\r\n"), 0, 0, DONE, SAME, 20, 0, 0,
	    0, 23 },
	{ IN("\r\n.\r\n"), 0, 0, DONE, IN("\r\n"), 2, 0, 0, 0, 5 },
	{ IN("..a\r\n.\r\n"), 0, 0, DONE, IN(".a\r\n"), 4, 0, 0, 0, 8 },
	{ IN("..\r\n.\r\n"), 0, 0, DONE, IN(".\r\n"), 3, 0, 0, 0, 7 },
	{ IN("...\r\n.\r\n"), 0, 0, DONE, IN("..\r\n"), 4, 0, 0, 0, 8 },
	{ IN("a\r\n.b\r\n.\r\n"), 0, 0, DONE, IN("a\r\nb\r\n"), 6, 0, 0, 0,
	    10 },
	{ IN(". \r\n.\r\n"), 0, 0, DONE, IN(" \r\n"), 3, 0, 0, 0, 7 },
	{ IN("x.\r\n.x\r\n.\r\n"), 0, 0, DONE, IN("x.\r\nx\r\n"), 7, 0, 0, 0,
	    11 },
	{ IN("a\r\n.\r\nMAIL FROM:<x>\r\n"), 0, 0, DONE, IN("a\r\n"), 3, 0, 0,
	    0, 6 },
	{ IN("a\r\n.\r\n.\r\n"), 0, 0, DONE, IN("a\r\n"), 3, 0, 0, 0, 6 },
	{ IN("bin\0ary\r\n.\r\n"), 0, 0, DONE, IN("bin\0ary\r\n"), 9, 0, 0, 0,
	    12 },
	/* incomplete */
	{ IN(""), 0, 0, MORE, IN(""), 0, 0, 0, 0, 0 },
	{ IN("a\r\n.a\r\n"), 0, 0, MORE, IN("a\r\na\r\n"), 6, 0, 0, 0, 7 },
	{ IN("a\r\n.\r"), 0, 0, MORE, IN("a\r\n"), 3, 0, 0, 0, 5 },
	{ IN("a\r\n."), 0, 0, MORE, IN("a\r\n"), 3, 0, 0, 0, 4 },
	{ IN("a\r"), 0, 0, MORE, IN("a"), 1, 0, 0, 0, 2 },
	/* smuggling: never DONE, always reported at the offending byte */
	{ IN("a\n.\nb\r\n.\r\n"), 0, 0, LF, IN("a"), 1, 0, 0, 0, 1 },
	{ IN("a\n.\r\n"), 0, 0, LF, IN("a"), 1, 0, 0, 0, 1 },
	{ IN("a\n.\r\nreal\r\n.\r\n"), 0, 0, LF, IN("a"), 1, 0, 0, 0, 1 },
	{ IN("x\r.\rx"), 0, 0, CR, IN("x"), 1, 0, 0, 0, 2 },
	{ IN("a\r.\r\n"), 0, 0, CR, IN("a"), 1, 0, 0, 0, 2 },
	{ IN("a\r\n.\n"), 0, 0, LF, IN("a\r\n"), 3, 0, 0, 0, 4 },
	{ IN("a\r\n.\nb\r\n.\r\n"), 0, 0, LF, IN("a\r\n"), 3, 0, 0, 0, 4 },
	{ IN("a\r\n.\r\r\n"), 0, 0, CR, IN("a\r\n"), 3, 0, 0, 0, 5 },
	{ IN("a\r\n.\r\r\n.\r\n"), 0, 0, CR, IN("a\r\n"), 3, 0, 0, 0, 5 },
	{ IN("a\r\n.\rX\r\n.\r\n"), 0, 0, CR, IN("a\r\n"), 3, 0, 0, 0, 5 },
	{ IN("a\r\n.\r.\r\n"), 0, 0, CR, IN("a\r\n"), 3, 0, 0, 0, 5 },
	{ IN("\n.\r\n"), 0, 0, LF, IN(""), 0, 0, 0, 0, 0 },
	{ IN(".\n"), 0, 0, LF, IN(""), 0, 0, 0, 0, 1 },
	{ IN(".\r"), 0, 0, MORE, IN(""), 0, 0, 0, 0, 2 },
	{ IN(".\rx"), 0, 0, CR, IN(""), 0, 0, 0, 0, 2 },
	{ IN("\r.\r\n"), 0, 0, CR, IN(""), 0, 0, 0, 0, 1 },
	{ IN("\r\n.\n"), 0, 0, LF, IN("\r\n"), 2, 0, 0, 0, 3 },
	{ IN("a\r\r\n.\r\n"), 0, 0, CR, IN("a"), 1, 0, 0, 0, 2 },
	{ IN("a\r\n\n.\r\n"), 0, 0, LF, IN("a\r\n"), 3, 0, 0, 0, 3 },
	{ IN("a\r\n\r.\r\n"), 0, 0, CR, IN("a\r\n"), 3, 0, 0, 0, 4 },
	{ IN("a\r\n..\n"), 0, 0, LF, IN("a\r\n."), 4, 0, 0, 0, 5 },
	{ IN("a\n\r\n.\r\n"), 0, 0, LF, IN("a"), 1, 0, 0, 0, 1 },
	{ IN("a\r\n.\r\n"), 0, 0, DONE, IN("a\r\n"), 3, 0, 0, 0, 6 },
	/* size limits: exactly max_size, then one more */
	{ IN("abc\r\n.\r\n"), 5, 0, DONE, IN("abc\r\n"), 5, 0, 0, 0, 8 },
	{ IN("abcd\r\n.\r\n"), 5, 0, DONE, IN("abcd\r"), 6, 1, 0, 0, 9 },
	{ IN("abc\r\n.\r\n"), 4, 0, DONE, IN("abc\r"), 5, 1, 0, 0, 8 },
	{ IN("..b\r\n.\r\n"), 4, 0, DONE, IN(".b\r\n"), 4, 0, 0, 0, 8 },
	{ IN("..b\r\n.\r\n"), 3, 0, DONE, IN(".b\r"), 4, 1, 0, 0, 8 },
	{ IN("abcdefgh\r\nline2\r\n.\r\n"), 5, 0, DONE, IN("abcde"), 17, 1, 0,
	    0, 20 },
	{ IN("abcdefgh\r\nline2\r\nx\r\n"), 5, 0, MORE, IN("abcde"), 20, 1, 0,
	    0, 20 },
	/* `out` refusing an append counts as too big */
	{ IN("abc\r\n.\r\n"), 0, 5, DONE, IN("abc\r\n"), 5, 0, 0, 0, 8 },
	{ IN("abcd\r\n.\r\n"), 0, 3, DONE, IN("abc"), 6, 1, 0, 0, 9 },
	/* Received: fields in the header section only */
	{ IN("Received: a\r\nReceived: b\r\n\r\nbody\r\n.\r\n"), 0, 0, DONE,
	    SAME, 34, 0, 0, 2, 37 },
	{ IN("received : a\r\nRECEIVED\t:b\r\nReceived:c\r\n\r\n.\r\n"), 0, 0,
	    DONE, SAME, 41, 0, 0, 3, 44 },
	{ IN("Received: from a\r\n\tby b\r\n (c)\r\nSubject: s\r\n\r\n.\r\n"),
	    0, 0, DONE, SAME, 45, 0, 0, 1, 48 },
	{ IN("Received: a\r\n\r\nReceived: x\r\n.\r\n"), 0, 0, DONE, SAME, 28,
	    0, 0, 1, 31 },
	{ IN("Received-SPF: pass\r\nX-Received: y\r\nReceivedX: z\r\n"
	    "Received\r\nReceived x: y\r\n Received: z\r\nRecv: w\r\n\r\n"
	    ".\r\n"), 0, 0, DONE, SAME, 99, 0, 0, 0, 102 },
	{ IN(".Received: a\r\n\r\n.\r\n"), 0, 0, DONE, IN("Received: a\r\n\r\n"),
	    15, 0, 0, 1, 19 },
	{ IN("Received: a\r\n.\r\n"), 0, 0, DONE, SAME, 13, 0, 0, 1, 16 },
	{ IN("Subject: x\r\n\r\n\r\nReceived: y\r\n.\r\n"), 0, 0, DONE, SAME,
	    29, 0, 0, 0, 32 },
	{ IN("Received: a\r\nReceived:"), 0, 0, MORE,
	    IN("Received: a\r\nReceived:"), 22, 0, 0, 2, 22 },
	{ IN("Received: a\n.\r\n"), 0, 0, LF, IN("Received: a"), 11, 0, 0, 1,
	    11 },
};

static void
test_data_table(void **state)
{
	const struct data_case *c;
	struct result r;
	const char *want;
	size_t i, wantlen;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		data_check_splits(c->in, c->len, c->max ? c->max : UINT64_MAX,
		    c->out_max ? c->out_max : OUT_MAX, 1, &r);
		want = c->out ? c->out : c->in;
		wantlen = c->out ? c->outlen : c->len - 3;
		if (r.st != c->st || r.out.len != wantlen ||
		    memcmp(r.out.p ? r.out.p : "", want, wantlen) != 0 ||
		    r.size != c->size || r.too_big != c->too_big ||
		    r.line_too_long != c->line_too_long ||
		    r.received != c->received || r.consumed != c->consumed ||
		    r.header_too_long)
			fail_msg("DATA case %zu: st %d out [%.*s] size %ju "
			    "big %d long %d rcvd %u consumed %zu", i, r.st,
			    (int)r.out.len, r.out.p ? r.out.p : "",
			    (uintmax_t)r.size, r.too_big, r.line_too_long,
			    r.received, r.consumed);
		result_free(&r);
	}
}

/* A line of 998 octets, then 999; a stuffed dot is not counted. */
static void
test_line_length(void **state)
{
	static const struct {
		int	 dot;
		size_t	 n;
		int	 too_long;
	} cases[] = {
		{ 0, SMTP_TEXT_LINE_MAX, 0 },
		{ 0, SMTP_TEXT_LINE_MAX + 1, 1 },
		{ 1, SMTP_TEXT_LINE_MAX, 0 },
		{ 1, SMTP_TEXT_LINE_MAX + 1, 1 },
	};
	char in[1100];
	struct result r;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = 0;
		memcpy(in, "a\r\n", 3);
		len += 3;
		if (cases[i].dot)
			in[len++] = '.';
		memset(in + len, 'x', cases[i].n);
		len += cases[i].n;
		memcpy(in + len, "\r\nb\r\n.\r\n", 8);
		len += 8;
		data_check_splits(in, len, UINT64_MAX, OUT_MAX, 1, &r);
		assert_int_equal(r.st, DONE);
		assert_int_equal(r.line_too_long, cases[i].too_long);
		assert_int_equal(r.size, 3 + cases[i].n + 5);
		assert_int_equal(r.out.len, r.size);
		assert_false(r.too_big);
		result_free(&r);
	}
}

/* max_size exactly and + 1 on a larger message. */
static void
test_max_size(void **state)
{
	char in[5000];
	struct result r;
	size_t i, len = 0;

	(void)state;
	for (i = 0; i < 40; i++) {
		memset(in + len, 'm', 98);
		memcpy(in + len + 98, "\r\n", 2);
		len += 100;
	}
	memcpy(in + len, ".\r\n", 3);
	data_check_splits(in, len + 3, 4000, OUT_MAX, 0, &r);
	assert_int_equal(r.st, DONE);
	assert_false(r.too_big);
	assert_int_equal(r.size, 4000);
	assert_memory_equal(r.out.p, in, 4000);
	result_free(&r);
	data_check_splits(in, len + 3, 3999, OUT_MAX, 0, &r);
	assert_int_equal(r.st, DONE);
	assert_true(r.too_big);
	assert_int_equal(r.size, 4000);
	assert_int_equal(r.out.len, 3999);
	assert_int_equal(r.consumed, len + 3);
	result_free(&r);
}

/*
 * The header section limit: exactly SMTP_HEADER_BLOCK_MAX octets of
 * header lines (CRLFs in, the blank line out), then one more.
 */
static void
test_header_block(void **state)
{
	size_t lines = SMTP_HEADER_BLOCK_MAX / 1000;
	size_t rest = SMTP_HEADER_BLOCK_MAX % 1000, len, i, extra;
	static const char tail[] = "\r\n\r\nReceived: body\r\n.\r\n";
	struct result r;
	char *in;

	(void)state;
	assert_true(rest >= 10);
	in = malloc(SMTP_HEADER_BLOCK_MAX + 64);
	assert_non_null(in);
	for (extra = 0; extra <= 1; extra++) {
		len = 0;
		for (i = 0; i < lines; i++) {
			memcpy(in + len, "X-H: ", 5);
			memset(in + len + 5, 'h', 993);
			memcpy(in + len + 998, "\r\n", 2);
			len += 1000;
		}
		memcpy(in + len, "Received: ", 10);
		memset(in + len + 10, 'r', rest - 12 + extra);
		len += rest - 2 + extra;
		memcpy(in + len, tail, sizeof(tail) - 1);
		len += sizeof(tail) - 1;
		data_check_splits(in, len, UINT64_MAX, OUT_MAX, 0, &r);
		assert_int_equal(r.st, DONE);
		assert_int_equal(r.header_too_long, (int)extra);
		assert_int_equal(r.received, 1);
		assert_false(r.line_too_long);
		assert_int_equal(r.size, len - 3);
		result_free(&r);
	}
	free(in);
}

/* ---- random inputs against a whole-buffer reference model ---- */

static int
ref_received(const char *t, size_t n)
{
	size_t i;

	if (n < 8 || strncasecmp(t, "received", 8) != 0)
		return 0;
	for (i = 8; i < n && (t[i] == ' ' || t[i] == '\t'); i++)
		;
	return i < n && t[i] == ':';
}

/* The rules of smtp_parse.h read literally, one whole line at a time. */
static void
ref_run(const char *in, size_t len, struct result *res)
{
	size_t i = 0, j, tl;
	const char *t;
	int in_header = 1;

	memset(res, 0, sizeof(*res));
	buf_init(&res->out, OUT_MAX);
	for (;;) {
		for (j = i; j < len && in[j] != '\r' && in[j] != '\n'; j++)
			;
		t = in + i;
		tl = j - i;
		if (tl == 1 && t[0] == '.' && j + 1 < len && in[j] == '\r' &&
		    in[j + 1] == '\n') {
			res->st = DONE;
			res->consumed = j + 2;
			return;
		}
		if (tl > 0 && t[0] == '.') {
			t++;
			tl--;
		}
		assert_int_equal(buf_append(&res->out, t, tl), 0);
		res->size += tl;
		if (tl > SMTP_TEXT_LINE_MAX)
			res->line_too_long = 1;
		if (in_header && ref_received(t, tl))
			res->received++;
		if (j == len || (in[j] == '\r' && j + 1 == len)) {
			res->st = MORE;
			res->consumed = len;
			return;
		}
		if (in[j] == '\n' || in[j + 1] != '\n') {
			res->st = in[j] == '\n' ? LF : CR;
			res->consumed = in[j] == '\n' ? j : j + 1;
			return;
		}
		assert_int_equal(buf_append(&res->out, "\r\n", 2), 0);
		res->size += 2;
		if (tl == 0)
			in_header = 0;
		i = j + 2;
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_random_vs_reference(void **state)
{
	static const char *tokens[] = { "a", "b c", ".", "..", "\r", "\n",
	    "\r\n", "\r\n", "\r\n", "\r\n.\r\n", "Received:", "rEcEiVeD \t:",
	    "Received", ":", " ", "\t", "\r\n\r\n", "\0" };
	char in[4096], how[64];
	struct result a, b;
	size_t iter, len, k, t, ncuts, cuts[8], tl;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		len = 0;
		for (k = rnd() % 24; k > 0; k--) {
			t = rnd() % (sizeof(tokens) / sizeof(tokens[0]) + 1);
			if (t == sizeof(tokens) / sizeof(tokens[0])) {
				/* a long run, so lines cross the limit */
				tl = 400 + rnd() % 300;
				memset(in + len, 'L', tl);
			} else {
				tl = strlen(tokens[t]);
				if (tl == 0)
					tl = 1;		/* the NUL token */
				memcpy(in + len, tokens[t], tl);
			}
			len += tl;
		}
		ref_run(in, len, &a);
		data_run(in, len, UINT64_MAX, OUT_MAX, NULL, 0, &b);
		snprintf(how, sizeof(how), "random %zu whole", iter);
		result_same(&a, &b, how);
		result_free(&b);
		ncuts = len ? rnd() % 8 : 0;
		for (k = 0; k < ncuts; k++)
			cuts[k] = rnd() % (len + 1);
		/* ascending */
		for (k = 1; k < ncuts; k++)
			for (t = k; t > 0 && cuts[t - 1] > cuts[t]; t--) {
				size_t x = cuts[t];
				cuts[t] = cuts[t - 1];
				cuts[t - 1] = x;
			}
		data_run(in, len, UINT64_MAX, OUT_MAX, cuts, ncuts, &b);
		snprintf(how, sizeof(how), "random %zu split", iter);
		result_same(&a, &b, how);
		result_free(&b);
		result_free(&a);
	}
}

/* NULL output: scanning only, same verdicts. */
static void
test_null_out(void **state)
{
	struct smtp_data_reader r;
	size_t consumed;

	(void)state;
	smtp_data_init(&r, 4);
	assert_int_equal(smtp_data_feed(&r, IN("Received: x\r\n\r\nbody\r\n"
	    ".\r\n"), &consumed, NULL), DONE);
	assert_int_equal(consumed, 24);
	assert_int_equal(r.size, 21);
	assert_true(r.too_big);
	assert_int_equal(r.received_count, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_table),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_header_block),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_null_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
