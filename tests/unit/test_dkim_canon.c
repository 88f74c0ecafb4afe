/*
 * test_dkim_canon — header canonicalization (RFC 6376 3.4.1, 3.4.2) and
 * the streaming body hash (3.4.3, 3.4.4, l=) under every way of cutting
 * the body: two cut points anywhere, and byte by byte, so a chunk ends
 * inside a CRLF, inside a run of blanks and inside the final run of empty
 * lines.  The expected canonical bodies are written out; the hash must be
 * SHA-256 of them (or of their first l= octets).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/evp.h>

#include "dkim_canon.h"

struct hcase {
	const char	*raw;
	const char	*simple;
	const char	*relaxed;
};

static const struct hcase hcases[] = {
	{ "Subject: hi\r\n", "Subject: hi\r\n", "subject:hi\r\n" },
	{ "SUBJECT : a  b \t\r\n", "SUBJECT : a  b \t\r\n", "subject:a b\r\n" },
	{ "X-A:\r\n\tfolded\r\n  more\r\n", "X-A:\r\n\tfolded\r\n  more\r\n",
	  "x-a:folded more\r\n" },
	{ "H: a :\r\n b\r\n", "H: a :\r\n b\r\n", "h:a : b\r\n" },
	{ "Empty:\r\n", "Empty:\r\n", "empty:\r\n" },
	{ "Empty:   \r\n", "Empty:   \r\n", "empty:\r\n" },
	{ "NoCRLF: x", "NoCRLF: x\r\n", "nocrlf:x\r\n" },
	/* RFC 6376 3.4.5's example */
	{ "A: X\r\n", "A: X\r\n", "a:X\r\n" },
	{ "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n" },
};

static void
t_header(void **state)
{
	char out[256];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++) {
		const struct hcase *c = &hcases[i];

		n = dkim_canon_header(DKIM_CANON_SIMPLE, c->raw,
		    strlen(c->raw), 1, out);
		assert_int_equal(n, strlen(c->simple));
		assert_memory_equal(out, c->simple, n);
		n = dkim_canon_header(DKIM_CANON_RELAXED, c->raw,
		    strlen(c->raw), 1, out);
		out[n] = '\0';
		assert_string_equal(out, c->relaxed);
		/* without the CRLF (the signature field itself) */
		n = dkim_canon_header(DKIM_CANON_RELAXED, c->raw,
		    strlen(c->raw), 0, out);
		assert_int_equal(n, strlen(c->relaxed) - 2);
	}
}

struct bcase {
	const char	*in;
	const char	*simple;
	const char	*relaxed;
};

static const struct bcase bcases[] = {
	{ "", "\r\n", "" },
	{ "\r\n", "\r\n", "" },
	{ "\r\n\r\n\r\n", "\r\n", "" },
	{ "abc\r\n", "abc\r\n", "abc\r\n" },
	{ "abc", "abc\r\n", "abc\r\n" },
	{ "a  b \t\r\n\r\n", "a  b \t\r\n", "a b\r\n" },
	{ " \r\n", " \r\n", "" },
	{ "x\r\n \t \r\n\r\n", "x\r\n \t \r\n", "x\r\n" },
	{ "x\r\n\r\ny\r\n\r\n", "x\r\n\r\ny\r\n", "x\r\n\r\ny\r\n" },
	{ "a\rb\r\n", "a\rb\r\n", "a\rb\r\n" },
	{ "  lead\r\n", "  lead\r\n", " lead\r\n" },
	{ "a\r\n\r\n \r\nb", "a\r\n\r\n \r\nb\r\n", "a\r\n\r\n\r\nb\r\n" },
	{ "abc\r", "abc\r\r\n", "abc\r\r\n" },
	{ "a \r \r\n", "a \r \r\n", "a \r\r\n" },
	{ "\n\r\n", "\n\r\n", "\n\r\n" },
	/* RFC 6376 3.4.5's example */
	{ " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n" },
};

static size_t
sha256(const char *p, size_t n, unsigned char *out)
{
	unsigned int len;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
	return len;
}

/* Hash in (n bytes) cut at a and b, compare with want (or its first
 * limit octets). */
static void
check_cut(enum dkim_canon c, const char *in, size_t n, size_t a, size_t b,
    const char *want, long long limit)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(c, EVP_sha256(), limit);
	unsigned char got[EVP_MAX_MD_SIZE], exp[EVP_MAX_MD_SIZE];
	size_t wl = strlen(want), hl;

	dkim_bodyhash_update(bh, in, a);
	dkim_bodyhash_update(bh, in + a, b - a);
	dkim_bodyhash_update(bh, in + b, n - b);
	hl = dkim_bodyhash_final(bh, got);
	assert_int_equal(dkim_bodyhash_length(bh), wl);
	assert_int_equal(sha256(want, limit >= 0 && (size_t)limit < wl ?
	    (size_t)limit : wl, exp), hl);
	assert_memory_equal(got, exp, hl);
	dkim_bodyhash_free(bh);
}

static void
t_body_every_cut(void **state)
{
	size_t i, a, b;

	(void)state;
	for (i = 0; i < sizeof(bcases) / sizeof(bcases[0]); i++) {
		const struct bcase *c = &bcases[i];
		size_t n = strlen(c->in);

		for (a = 0; a <= n; a++)
			for (b = a; b <= n; b++) {
				check_cut(DKIM_CANON_SIMPLE, c->in, n, a, b,
				    c->simple, -1);
				check_cut(DKIM_CANON_RELAXED, c->in, n, a, b,
				    c->relaxed, -1);
			}
	}
}

static void
t_body_bytewise_and_limit(void **state)
{
	static const char in[] = "line  one \r\n\r\n\tline two\r\n\r\n\r\n";
	static const char rel[] = "line one\r\n\r\n line two\r\n";
	unsigned char got[EVP_MAX_MD_SIZE], exp[EVP_MAX_MD_SIZE];
	long long l;
	size_t i, hl;

	(void)state;
	for (l = 0; l <= (long long)strlen(rel) + 2; l++) {
		struct dkim_bodyhash *bh = dkim_bodyhash_new(
		    DKIM_CANON_RELAXED, EVP_sha256(), l);

		for (i = 0; i < sizeof(in) - 1; i++)
			dkim_bodyhash_update(bh, in + i, 1);
		hl = dkim_bodyhash_final(bh, got);
		sha256(rel, (size_t)l < strlen(rel) ? (size_t)l : strlen(rel),
		    exp);
		assert_memory_equal(got, exp, hl);
		dkim_bodyhash_free(bh);
	}
}

static void
t_body_large(void **state)
{
	/* Longer than the hasher's output buffer, in odd chunks, with the
	 * trailing empty lines split across chunks. */
	static char in[20000], want[20000];
	unsigned char got[EVP_MAX_MD_SIZE], exp[EVP_MAX_MD_SIZE];
	struct dkim_bodyhash *bh;
	size_t i, n = 0, w = 0, hl;

	(void)state;
	for (i = 0; i < 1500; i++) {
		memcpy(in + n, "0123456789\r\n", 12);
		memcpy(want + w, "0123456789\r\n", 12);
		n += 12;
		w += 12;
	}
	for (i = 0; i < 500; i++) {
		memcpy(in + n, "\r\n", 2);
		n += 2;
	}
	bh = dkim_bodyhash_new(DKIM_CANON_SIMPLE, EVP_sha256(), -1);
	for (i = 0; i < n; i += 997)
		dkim_bodyhash_update(bh, in + i, n - i < 997 ? n - i : 997);
	hl = dkim_bodyhash_final(bh, got);
	sha256(want, w, exp);
	assert_memory_equal(got, exp, hl);
	assert_int_equal(dkim_bodyhash_length(bh), w);
	dkim_bodyhash_free(bh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_header),
		cmocka_unit_test(t_body_every_cut),
		cmocka_unit_test(t_body_bytewise_and_limit),
		cmocka_unit_test(t_body_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
