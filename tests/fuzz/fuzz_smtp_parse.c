/*
 * fuzz_smtp_parse — libFuzzer harness for smtp_parse.c and smtp_data.c,
 * called directly.
 *
 * The first input byte picks the target and a split step, the rest is
 * what a client sent.  Command mode frames lines (with a small limit, to
 * reach the overlong paths) and parses each as a command, MAIL or RCPT.
 * DATA mode is differential: the reader fed the whole input and fed it in
 * chunks must agree on everything, and the kept message may hold no CR or
 * LF outside a CRLF pair (the smuggling guarantee).  BDAT mode (the top
 * bit of the first byte, with DATA mode) reads the input as the chunks of
 * one message (binary: no dot, no end marker) and ends it with
 * smtp_data_finish(): the same differential checks, and the message must
 * end with CRLF.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"

/* A running digest of the framer's results, to compare two runs. */
static uint64_t
mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static void
parse_line(const char *line, size_t len)
{
	struct smtp_cmd cmd;
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	int utf8;

	if (smtp_parse_command(line, len, &cmd) == -1)
		return;
	if (cmd.arg < line || cmd.arg + cmd.arglen > line + len)
		abort();
	for (utf8 = 0; utf8 <= 1; utf8++) {
		if (cmd.verb == SMTP_CMD_MAIL &&
		    smtp_parse_mail(cmd.arg, cmd.arglen, utf8, &m) ==
		    SMTP_PARAM_OK && (m.sender.utf8 && !m.smtputf8))
			abort();
		if (cmd.verb == SMTP_CMD_RCPT &&
		    smtp_parse_rcpt(cmd.arg, cmd.arglen, utf8, &r) ==
		    SMTP_PARAM_OK && r.rcpt.utf8 && !utf8)
			abort();
	}
}

static uint64_t
frame(const char *in, size_t len, size_t max, size_t step, int parse)
{
	struct smtp_framer f;
	enum smtp_line_status st;
	size_t plen = 0, from = 0, to, linelen, consumed;
	uint64_t h = 0xcbf29ce484222325ULL;
	char *pend;

	if ((pend = malloc(len + 1)) == NULL)
		abort();
	smtp_framer_init(&f, max);
	while (from < len) {
		to = len - from > step ? from + step : len;
		memcpy(pend + plen, in + from, to - from);
		plen += to - from;
		from = to;
		do {
			st = smtp_framer_next(&f, pend, plen, &linelen,
			    &consumed);
			if (consumed > plen)
				abort();
			/* how often NEED_MORE comes depends on the split */
			if (st != SMTP_LINE_NEED_MORE)
				h = mix(h, st);
			if (st == SMTP_LINE_OK) {
				if (linelen > max || linelen + 2 > consumed ||
				    memchr(pend, '\r', linelen) ||
				    memchr(pend, '\n', linelen) ||
				    memchr(pend, '\0', linelen))
					abort();
				h = mix(h, linelen);
				if (parse)
					parse_line(pend, linelen);
			}
			memmove(pend, pend + consumed, plen - consumed);
			plen -= consumed;
		} while (st != SMTP_LINE_NEED_MORE);
		if (plen > max + 1)
			abort();
	}
	free(pend);
	return mix(h, plen);
}

struct data_res {
	enum smtp_data_status	 st;
	struct smtp_data_reader	 r;
	size_t			 consumed;
	struct buf		 out;
};

static void
data(const char *in, size_t len, size_t step, uint64_t max, int binary,
    struct data_res *res)
{
	size_t from = 0, to, consumed;

	buf_init(&res->out, 1 << 20);
	if (binary)
		smtp_data_init_binary(&res->r, max);
	else
		smtp_data_init(&res->r, max);
	res->consumed = 0;
	res->st = SMTP_DATA_NEED_MORE;
	do {
		to = len - from > step ? from + step : len;
		res->st = smtp_data_feed(&res->r, in + from, to - from,
		    &consumed, &res->out);
		if (consumed > to - from)
			abort();
		res->consumed += consumed;
		from = to;
	} while (res->st == SMTP_DATA_NEED_MORE && from < len);
	if (binary && res->st == SMTP_DATA_DONE)
		abort();	/* only the chunk sizes end a BDAT message */
	if (binary && res->st == SMTP_DATA_NEED_MORE)
		res->st = smtp_data_finish(&res->r, &res->out);
}

static void
data_mode(const char *in, size_t len, size_t step, uint64_t max, int binary)
{
	struct data_res a, b;
	size_t i;

	data(in, len, len ? len : 1, max, binary, &a);
	data(in, len, step, max, binary, &b);
	if (a.st != b.st || a.consumed != b.consumed ||
	    a.out.len != b.out.len ||
	    (a.out.len && memcmp(a.out.p, b.out.p, a.out.len) != 0) ||
	    a.r.size != b.r.size || a.r.too_big != b.r.too_big ||
	    a.r.line_too_long != b.r.line_too_long ||
	    a.r.header_too_long != b.r.header_too_long ||
	    a.r.received_count != b.r.received_count)
		abort();
	if (!binary && a.st == SMTP_DATA_DONE && (a.consumed < 3 ||
	    memcmp(in + a.consumed - 3, ".\r\n", 3) != 0))
		abort();
	if (binary && a.st == SMTP_DATA_DONE && !a.r.too_big && a.out.len &&
	    (a.out.len < 2 || memcmp(a.out.p + a.out.len - 2, "\r\n", 2)))
		abort();
	if (!a.r.too_big) {
		if (a.out.len != a.r.size)
			abort();
		for (i = 0; i < a.out.len; i++) {
			if (a.out.p[i] == '\n' &&
			    (i == 0 || a.out.p[i - 1] != '\r'))
				abort();
			if (a.out.p[i] == '\r' &&
			    (i + 1 == a.out.len || a.out.p[i + 1] != '\n'))
				abort();
		}
	}
	buf_free(&a.out);
	buf_free(&b.out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data_, size_t size)
{
	const char *in;
	size_t step, max;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data_[0];
	in = (const char *)data_ + 1;
	size--;
	step = (sel >> 2) % 7 + 1;	/* 1..7 byte chunks */
	if (sel & 1) {
		data_mode(in, size, step, (sel & 2) ? 64 : UINT64_MAX,
		    (sel & 0x80) != 0);
		return 0;
	}
	max = (sel & 2) ? SMTP_CMD_LINE_MAX : (sel >> 5) + 1;
	if (frame(in, size, max, size ? size : 1, 1) !=
	    frame(in, size, max, step, 0))
		abort();
	return 0;
}
