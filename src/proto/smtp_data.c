/*
 * smtp_data — the DATA reader of smtp_parse.h: CRLF-only line ends,
 * dot-unstuffing, the CRLF "." CRLF end marker, the line, size and header
 * limits, and the count of Received: fields.
 *
 * BDAT chunks (RFC 3030) go through the same reader in binary mode: no
 * dot-stuffing and no end marker (the chunk sizes frame the message), the
 * same CRLF-only rule, limits and counts, and smtp_data_finish() at the
 * end of the last chunk.
 *
 * A byte-driven state machine whose whole memory is struct
 * smtp_data_reader, so input may be split anywhere: nothing is decided from
 * bytes that have not arrived, and a CR waits in the state until the next
 * byte says whether it starts a CRLF.  A CR is never stored on its own and
 * an LF is only accepted right after a CR, so the stored message has CRLF
 * line ends only and nothing but CRLF "." CRLF can end it.
 */
#include <string.h>

#include "smtp_parse.h"

enum {
	D_BOL,		/* at the start of a line */
	D_DOT,		/* the line began with '.', which was dropped */
	D_DOT_CR,	/* "." CR at the start of a line: LF ends the data */
	D_TEXT,		/* inside a line */
	D_CR,		/* CR inside a line: only LF may follow */
	D_DONE,
	D_BARE_LF,
	D_BARE_CR,
};

#define HDR_NAME	"received"
#define HDR_NAME_LEN	(sizeof(HDR_NAME) - 1)
#define HDR_NONE	(-1)	/* this line cannot be a Received: field */

void
smtp_data_init(struct smtp_data_reader *r, uint64_t max_size)
{
	memset(r, 0, sizeof(*r));
	r->max_size = max_size;
	r->state = D_BOL;
	r->in_header = 1;
	r->hdr_match = 0;
}

void
smtp_data_init_binary(struct smtp_data_reader *r, uint64_t max_size)
{
	smtp_data_init(r, max_size);
	r->binary = 1;
}

/*
 * Keep message bytes while within max_size and what `out` accepts.  The
 * kept part is cut at exactly the first byte that does not fit, so the
 * output does not depend on how the input was split.  r->size must not yet
 * include these bytes.
 */
static void
data_store(struct smtp_data_reader *r, const char *p, size_t n,
    struct buf *out)
{
	uint64_t take = n;
	size_t room;

	if (r->too_big)
		return;
	if (take > r->max_size - r->size) {
		take = r->max_size - r->size;
		r->too_big = 1;
	}
	if (out == NULL)
		return;
	room = out->max > out->len ? out->max - out->len : 0;
	if (take > room) {
		take = room;
		r->too_big = 1;
	}
	if (take > 0 && buf_append(out, p, (size_t)take) == -1)
		r->too_big = 1;
}

/*
 * The start of a header line, after unstuffing: "Received", any case, then
 * optional WSP, then ':'.  Continuation lines begin with WSP and so never
 * match: a folded Received: counts once.  "Received-SPF:" does not match.
 */
static void
data_hdr_scan(struct smtp_data_reader *r, const char *p, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n && r->hdr_match != HDR_NONE; i++) {
		c = (unsigned char)p[i];
		if (r->hdr_match < (int)HDR_NAME_LEN) {
			if (c >= 'A' && c <= 'Z')
				c = c - 'A' + 'a';
			if (c == HDR_NAME[r->hdr_match])
				r->hdr_match++;
			else
				r->hdr_match = HDR_NONE;
		} else if (c == ':') {
			if (r->received_count < ~0U)
				r->received_count++;
			r->hdr_match = HDR_NONE;
		} else if (c != ' ' && c != '\t')
			r->hdr_match = HDR_NONE;
	}
}

/* Text of a line (no CR, no LF, stuffing dot already removed). */
static void
data_text(struct smtp_data_reader *r, const char *p, size_t n,
    struct buf *out)
{
	data_store(r, p, n, out);
	r->size += n;
	r->line_len += n;
	if (r->line_len > SMTP_TEXT_LINE_MAX)
		r->line_too_long = 1;
	if (r->in_header) {
		r->header_len += n;
		if (r->header_len > SMTP_HEADER_BLOCK_MAX)
			r->header_too_long = 1;
		data_hdr_scan(r, p, n);
	}
}

/* A CRLF that ends a line other than the final ".". */
static void
data_eol(struct smtp_data_reader *r, struct buf *out)
{
	if (r->in_header) {
		if (r->line_len == 0)
			r->in_header = 0;
		else {
			r->header_len += 2;
			if (r->header_len > SMTP_HEADER_BLOCK_MAX)
				r->header_too_long = 1;
		}
	}
	data_store(r, "\r\n", 2, out);
	r->size += 2;
	r->line_len = 0;
	r->hdr_match = r->in_header ? 0 : HDR_NONE;
	r->state = D_BOL;
}

static enum smtp_data_status
data_fail(struct smtp_data_reader *r, int state, size_t at, size_t *consumed)
{
	r->state = state;
	*consumed = at;		/* the offending byte is not consumed */
	return state == D_BARE_LF ? SMTP_DATA_BARE_LF : SMTP_DATA_BARE_CR;
}

enum smtp_data_status
smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
    size_t *consumed, struct buf *out)
{
	const char *cr, *lf;
	size_t i = 0, end;

	*consumed = 0;
	switch (r->state) {
	case D_DONE:
		return SMTP_DATA_DONE;
	case D_BARE_LF:
		return SMTP_DATA_BARE_LF;
	case D_BARE_CR:
		return SMTP_DATA_BARE_CR;
	}

	while (i < len) {
		switch (r->state) {
		case D_BOL:
			if (in[i] == '.' && !r->binary) {
				r->state = D_DOT;
				i++;
			} else
				r->state = D_TEXT;
			break;
		case D_DOT:
			if (in[i] == '\r') {
				r->state = D_DOT_CR;
				i++;
			} else
				r->state = D_TEXT;	/* it was stuffing */
			break;
		case D_DOT_CR:
			if (in[i] != '\n')
				return data_fail(r, D_BARE_CR, i, consumed);
			r->state = D_DONE;
			*consumed = i + 1;
			return SMTP_DATA_DONE;
		case D_TEXT:
			if (in[i] == '\r') {
				r->state = D_CR;
				i++;
				break;
			}
			if (in[i] == '\n')
				return data_fail(r, D_BARE_LF, i, consumed);
			/* the run of text up to the next CR or LF */
			cr = memchr(in + i, '\r', len - i);
			end = cr != NULL ? (size_t)(cr - in) : len;
			lf = memchr(in + i, '\n', end - i);
			if (lf != NULL)
				end = (size_t)(lf - in);
			data_text(r, in + i, end - i, out);
			i = end;
			break;
		case D_CR:
			if (in[i] != '\n')
				return data_fail(r, D_BARE_CR, i, consumed);
			data_eol(r, out);
			i++;
			break;
		}
	}
	*consumed = len;
	return SMTP_DATA_NEED_MORE;
}

enum smtp_data_status
smtp_data_finish(struct smtp_data_reader *r, struct buf *out)
{
	switch (r->state) {
	case D_BARE_LF:
		return SMTP_DATA_BARE_LF;
	case D_CR:
		/* The message ends in a CR that no LF follows. */
		r->state = D_BARE_CR;
		return SMTP_DATA_BARE_CR;
	case D_BARE_CR:
		return SMTP_DATA_BARE_CR;
	case D_TEXT:
		/* The last line has no CRLF: what we store ends with one. */
		data_eol(r, out);
		break;
	}
	r->state = D_DONE;
	return SMTP_DATA_DONE;
}
