/*
 * msg_header — collect the header section of a streamed message
 * (msg_header.h).  The stream is cut anywhere (a chunk may end inside a
 * CRLF), so the scanner keeps one state across calls: at the start of a
 * line, inside a line, or after its CR.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg_header.h"
#include "xmalloc.h"

enum {
	ST_LINE_START,		/* at the first byte of a line */
	ST_IN_LINE,
	ST_CR,			/* after a CR inside a line */
	ST_EMPTY_CR,		/* after a CR that began a line */
};

void
msg_header_init(struct msg_header *h)
{
	memset(h, 0, sizeof(*h));
	h->state = ST_LINE_START;
}

void
msg_header_free(struct msg_header *h)
{
	free(h->buf);
	free(h->f);
	msg_header_init(h);
}

/* The open field ends here (at h->len). */
static void
close_field(struct msg_header *h)
{
	struct msg_field *f;
	const char *colon;

	if (h->nf == 0)
		return;
	f = &h->f[h->nf - 1];
	if (f->len != 0)
		return;
	f->len = h->len - f->off;
	colon = memchr(h->buf + f->off, ':', f->len);
	f->namelen = colon == NULL ? 0 : (size_t)(colon - (h->buf + f->off));
	if (memchr(h->buf + f->off, ' ', f->namelen) != NULL ||
	    memchr(h->buf + f->off, '\t', f->namelen) != NULL) {
		/* "Name : value" (obsolete syntax): the name is the part
		 * before the blanks. */
		size_t n = f->namelen;

		while (n > 0 && (h->buf[f->off + n - 1] == ' ' ||
		    h->buf[f->off + n - 1] == '\t'))
			n--;
		f->namelen = n;
	}
	/* A field whose text is cut by the bound counts as missing. */
	if (h->overflow && f->off + f->len == MSG_HEADER_MAX)
		h->nf--;
}

static void
open_field(struct msg_header *h)
{
	close_field(h);
	if (h->nf == MSG_HEADER_FIELDS_MAX) {
		h->overflow = 1;
		return;
	}
	if (h->nf == h->fcap) {
		h->fcap = h->fcap ? h->fcap * 2 : 32;
		h->f = xreallocarray(h->f, h->fcap, sizeof(*h->f));
	}
	memset(&h->f[h->nf], 0, sizeof(h->f[h->nf]));
	h->f[h->nf].off = h->len;
	h->f[h->nf].stream_off = h->fed;
	h->nf++;
}

static void
keep(struct msg_header *h, char c)
{
	if (h->overflow && (h->nf == 0 || h->f[h->nf - 1].len != 0))
		return;
	if (h->len == MSG_HEADER_MAX) {
		h->overflow = 1;
		return;
	}
	if (h->len == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 4096;
		if (h->cap > MSG_HEADER_MAX)
			h->cap = MSG_HEADER_MAX;
		h->buf = xreallocarray(h->buf, h->cap, 1);
	}
	h->buf[h->len++] = c;
}

size_t
msg_header_feed(struct msg_header *h, const char *p, size_t n)
{
	size_t i;

	if (h->done)
		return 0;
	for (i = 0; i < n; i++, h->fed++) {
		char c = p[i];

		switch (h->state) {
		case ST_LINE_START:
			if (c == '\r') {
				h->state = ST_EMPTY_CR;
				continue;
			}
			if (c != ' ' && c != '\t')
				open_field(h);
			h->state = ST_IN_LINE;
			keep(h, c);
			break;
		case ST_EMPTY_CR:
			if (c == '\n') {
				close_field(h);
				h->done = 1;
				h->fed++;
				h->body_off = h->fed;
				return i + 1;
			}
			/* A line that starts with a bare CR: text. */
			if (h->nf == 0)
				open_field(h);
			keep(h, '\r');
			keep(h, c);
			h->state = c == '\r' ? ST_CR : ST_IN_LINE;
			break;
		case ST_IN_LINE:
			keep(h, c);
			if (c == '\r')
				h->state = ST_CR;
			break;
		case ST_CR:
			keep(h, c);
			h->state = c == '\n' ? ST_LINE_START :
			    c == '\r' ? ST_CR : ST_IN_LINE;
			break;
		}
	}
	return n;
}

void
msg_header_end(struct msg_header *h)
{
	if (h->done)
		return;
	close_field(h);
	h->done = 1;
	h->body_off = h->fed;
}

int
msg_field_is(const struct msg_header *h, size_t i, const char *name)
{
	size_t n = strlen(name);

	return i < h->nf && h->f[i].namelen == n &&
	    strncasecmp(h->buf + h->f[i].off, name, n) == 0;
}

const char *
msg_field_value(const struct msg_header *h, size_t i, size_t *len)
{
	const struct msg_field *f = &h->f[i];
	size_t start, end;

	start = f->namelen;
	while (start < f->len && h->buf[f->off + start] != ':')
		start++;
	if (start < f->len)
		start++;
	end = f->len;
	if (end >= 2 && h->buf[f->off + end - 2] == '\r' &&
	    h->buf[f->off + end - 1] == '\n')
		end -= 2;
	if (end < start)
		end = start;
	*len = end - start;
	return h->buf + f->off + start;
}

const char *
msg_field_raw(const struct msg_header *h, size_t i, size_t *len)
{
	*len = h->f[i].len;
	return h->buf + h->f[i].off;
}

size_t
msg_header_count(const struct msg_header *h, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < h->nf; i++)
		n += msg_field_is(h, i, name);
	return n;
}
