/*
 * dkim_canon — header and body canonicalization (dkim_canon.h), RFC 6376
 * 3.4.1 to 3.4.4.  The body hasher is a small state machine: bytes of a
 * line go out as they come, but a line end is only counted (it may begin
 * the run of empty lines the canonical body drops at its end, 3.4.3), and
 * in relaxed mode a run of blanks is only remembered (it becomes one SP if
 * more text follows on the line, nothing if the line ends, 3.4.4).  The
 * canonical bytes go through a small buffer to the digest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "xmalloc.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

size_t
dkim_canon_header(enum dkim_canon c, const char *raw, size_t len, int crlf,
    char *out)
{
	size_t i, o = 0, colon, vstart;
	int blank = 0;

	/* Whatever the mode, the field's final CRLF is handled here. */
	if (len >= 2 && raw[len - 2] == '\r' && raw[len - 1] == '\n')
		len -= 2;
	if (c == DKIM_CANON_SIMPLE) {
		memcpy(out, raw, len);
		o = len;
		goto end;
	}
	/* 3.4.2: the name lowercased, blanks around the colon removed. */
	for (colon = 0; colon < len && raw[colon] != ':'; colon++)
		;
	for (i = 0; i < colon; i++) {
		char ch = raw[i];

		if (is_wsp(ch) || ch == '\r' || ch == '\n')
			continue;
		out[o++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	if (colon == len)
		goto end;
	out[o++] = ':';
	vstart = o;
	/* The value unfolded, runs of blanks made one SP, none at either
	 * end. */
	for (i = colon + 1; i < len; i++) {
		char ch = raw[i];

		if (ch == '\r' && i + 1 < len && raw[i + 1] == '\n') {
			i++;
			continue;
		}
		if (is_wsp(ch)) {
			blank = 1;
			continue;
		}
		if (blank && o > vstart)
			out[o++] = ' ';
		blank = 0;
		out[o++] = ch;
	}
end:
	if (crlf) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

#define BH_OUTBUF	4096

struct dkim_bodyhash {
	EVP_MD_CTX	*ctx;
	enum dkim_canon	 canon;
	long long	 limit;		/* < 0: none */
	unsigned long long hashed;	/* canonical octets hashed */
	unsigned long long total;	/* canonical octets produced */
	unsigned long long crlfs;	/* line ends held back */
	int		 cr;		/* the last byte was a CR */
	int		 blank;		/* relaxed: blanks held back */
	int		 any;		/* a non-empty line was seen */
	int		 done;
	size_t		 olen;
	char		 out[BH_OUTBUF];
};

static void
flush(struct dkim_bodyhash *bh)
{
	if (bh->olen > 0)
		EVP_DigestUpdate(bh->ctx, bh->out, bh->olen);
	bh->olen = 0;
}

/* Canonical output: counted whole, hashed up to the limit; small pieces
 * gathered in the buffer, large ones straight to the digest. */
static void
emit(struct dkim_bodyhash *bh, const char *p, size_t n)
{
	bh->total += n;
	if (bh->limit >= 0) {
		unsigned long long room = (unsigned long long)bh->limit -
		    bh->hashed;

		if (room < n)
			n = (size_t)room;
	}
	bh->hashed += n;
	if (n > BH_OUTBUF - bh->olen) {
		flush(bh);
		if (n >= BH_OUTBUF) {
			EVP_DigestUpdate(bh->ctx, p, n);
			return;
		}
	}
	memcpy(bh->out + bh->olen, p, n);
	bh->olen += n;
}

static void
emit_crlfs(struct dkim_bodyhash *bh)
{
	while (bh->crlfs > 0) {
		emit(bh, "\r\n", 2);
		bh->crlfs--;
	}
}

/* A byte of line text (not a line end). */
static void
text(struct dkim_bodyhash *bh, char c)
{
	if (bh->canon == DKIM_CANON_RELAXED && is_wsp(c)) {
		bh->blank = 1;
		return;
	}
	emit_crlfs(bh);
	if (bh->blank) {
		emit(bh, " ", 1);
		bh->blank = 0;
	}
	emit(bh, &c, 1);
	bh->any = 1;
}

struct dkim_bodyhash *
dkim_bodyhash_new(enum dkim_canon canon, const EVP_MD *md, long long limit)
{
	struct dkim_bodyhash *bh = xcalloc(1, sizeof(*bh));

	bh->ctx = EVP_MD_CTX_new();
	if (bh->ctx == NULL || EVP_DigestInit_ex(bh->ctx, md, NULL) != 1)
		abort();		/* out of memory, like xmalloc */
	bh->canon = canon;
	bh->limit = limit;
	return bh;
}

#define BYTES(c)	(0x0101010101010101ULL * (unsigned char)(c))

/* Whether the 8 bytes of v hold the byte of pattern pat (exact). */
static uint64_t
has_byte(uint64_t v, uint64_t pat)
{
	uint64_t x = v ^ pat;

	return (x - BYTES(1)) & ~x & BYTES(0x80);
}

/*
 * The end of the run of line text from p[i]: the next CR, or in relaxed
 * mode the next blank.  Eight bytes at a time while none is there.
 */
static size_t
text_run(const char *p, size_t i, size_t n, int relaxed)
{
	uint64_t v, m;

	while (i + 8 <= n) {
		memcpy(&v, p + i, 8);
		m = has_byte(v, BYTES('\r'));
		if (relaxed)
			m |= has_byte(v, BYTES(' ')) | has_byte(v, BYTES('\t'));
		if (m != 0)
			break;
		i += 8;
	}
	while (i < n && p[i] != '\r' && !(relaxed && is_wsp(p[i])))
		i++;
	return i;
}

void
dkim_bodyhash_update(struct dkim_bodyhash *bh, const char *p, size_t n)
{
	int relaxed = bh->canon == DKIM_CANON_RELAXED;
	size_t i = 0, run;

	if (bh->done)
		return;
	while (i < n) {
		char c = p[i];

		if (bh->cr) {
			bh->cr = 0;
			if (c == '\n') {
				/* A line end: held back; relaxed drops the
				 * blanks that ended the line. */
				bh->blank = 0;
				bh->crlfs++;
				i++;
				continue;
			}
			text(bh, '\r');		/* a bare CR is text */
		}
		if (c == '\r') {
			bh->cr = 1;
			i++;
			continue;
		}
		if (relaxed && is_wsp(c)) {
			bh->blank = 1;
			i++;
			continue;
		}
		/* A run of plain text (c is its first byte) goes out at
		 * once, after what was held back before it. */
		run = text_run(p, i + 1, n, relaxed);
		emit_crlfs(bh);
		if (bh->blank) {
			emit(bh, " ", 1);
			bh->blank = 0;
		}
		emit(bh, p + i, run - i);
		bh->any = 1;
		i = run;
	}
}

size_t
dkim_bodyhash_final(struct dkim_bodyhash *bh, unsigned char *out)
{
	unsigned int len = 0;

	if (!bh->done) {
		if (bh->cr)
			text(bh, '\r');
		bh->cr = 0;
		/* 3.4.3: trailing empty lines dropped, a missing final CRLF
		 * added, an empty body is one CRLF; 3.4.4 (and erratum
		 * 1384): a relaxed empty body stays empty. */
		if (bh->any || bh->canon == DKIM_CANON_SIMPLE) {
			bh->crlfs = 1;
			bh->blank = 0;
			emit_crlfs(bh);
		}
		flush(bh);
		bh->done = 1;
	}
	if (EVP_DigestFinal_ex(bh->ctx, out, &len) != 1)
		return 0;
	return len;
}

unsigned long long
dkim_bodyhash_length(const struct dkim_bodyhash *bh)
{
	return bh->total;
}

void
dkim_bodyhash_free(struct dkim_bodyhash *bh)
{
	if (bh == NULL)
		return;
	EVP_MD_CTX_free(bh->ctx);
	free(bh);
}
