/*
 * dkim_fixture — helpers for the DKIM and ARC unit tests: keys made at
 * run time, their key records, a message split into msg_header and body
 * the way a session streams it, and a minimal signer that builds one
 * signature field from a tag string (so the tests can make signatures the
 * production signer never would: simple canonicalization, l=, x=,
 * rsa-sha1, odd h= lists).  Header-only: include it once per program.
 */
#ifndef POSTERN_TEST_DKIM_FIXTURE_H
#define POSTERN_TEST_DKIM_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim_canon.h"
#include "dkim_check.h"
#include "dkim_sig.h"
#include "msg_header.h"
#include "xmalloc.h"

#ifndef FIXTURE_UNUSED
#define FIXTURE_UNUSED	__attribute__((unused))
#endif

static FIXTURE_UNUSED EVP_PKEY *
fx_key_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	if (k == NULL)
		abort();
	return k;
}

static FIXTURE_UNUSED EVP_PKEY *
fx_key_ed25519(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	if (k == NULL)
		abort();
	return k;
}

/* base64 of n bytes, a new string. */
static FIXTURE_UNUSED char *
fx_b64(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* The key record of k: "v=DKIM1; k=...; p=..." (a new string). */
static FIXTURE_UNUSED char *
fx_keyrec(EVP_PKEY *k)
{
	unsigned char der[4096], *p = der;
	size_t n = sizeof(der);
	char *b64, *rec;
	int ed = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;

	if (ed)
		EVP_PKEY_get_raw_public_key(k, der, &n);
	else
		n = (size_t)i2d_PUBKEY(k, &p);
	b64 = fx_b64(der, n);
	rec = xasprintf("v=DKIM1; k=%s; p=%s", ed ? "ed25519" : "rsa", b64);
	free(b64);
	return rec;
}

/* Split msg (NUL-terminated) into h, in chunks of step bytes, handing the
 * body to body(arg, p, n) after header(arg, h). */
static FIXTURE_UNUSED void
fx_feed(const char *msg, size_t step, struct msg_header *h,
    void (*header)(void *, const struct msg_header *),
    void (*body)(void *, const char *, size_t), void *arg)
{
	size_t len = strlen(msg), off = 0;

	msg_header_init(h);
	while (off < len) {
		size_t n = len - off < step ? len - off : step, k = 0;

		if (!h->done) {
			k = msg_header_feed(h, msg + off, n);
			if (h->done && header != NULL)
				header(arg, h);
		}
		if (k < n && h->done && body != NULL)
			body(arg, msg + off + k, n - k);
		off += n;
	}
	if (!h->done) {
		msg_header_end(h);
		if (header != NULL)
			header(arg, h);
	}
}

/* Sign digest with k as alg does; base64 (a new string). */
static FIXTURE_UNUSED char *
fx_sign_digest(EVP_PKEY *k, int sha1, const unsigned char *d, size_t dl)
{
	unsigned char sig[1024];
	size_t sl = sizeof(sig);

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		if (EVP_DigestSignInit(md, NULL, NULL, NULL, k) != 1 ||
		    EVP_DigestSign(md, sig, &sl, d, dl) != 1)
			abort();
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);

		if (EVP_PKEY_sign_init(c) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(c, sha1 ? EVP_sha1() :
		    EVP_sha256()) != 1 || EVP_PKEY_sign(c, sig, &sl, d, dl) != 1)
			abort();
		EVP_PKEY_CTX_free(c);
	}
	return fx_b64(sig, sl);
}

/* The body of msg (after the empty line), or "" */
static FIXTURE_UNUSED const char *
fx_body(const char *msg)
{
	const char *b = strstr(msg, "\r\n\r\n");

	return b ? b + 4 : "";
}

/*
 * msg signed by a DKIM-Signature (or, with kind AMS, an
 * ARC-Message-Signature) whose tags are `tags` (no bh= and b=, no final
 * ';'), prepended: a new string.
 */
static FIXTURE_UNUSED char *
fx_sign_kind(enum dkim_sig_kind kind, const char *msg, EVP_PKEY *k,
    const char *tags)
{
	const char *fname = kind == DKIM_SIG_AMS ? "ARC-Message-Signature" :
	    "DKIM-Signature";
	struct dkim_sig s;
	struct dkim_bodyhash *bh;
	struct msg_header h;
	unsigned char d[EVP_MAX_MD_SIZE], hh[32];
	char err[128], *field, *m, *bh64, *b64, *out;
	const char *body = fx_body(msg);
	size_t dl;

	/* Parse once with placeholders for the canonicalizations, l= and
	 * h=; the real bh= is then computed and the field rebuilt. */
	field = xasprintf("%s; bh=AAAA; b=AAAA", tags);
	if (dkim_sig_parse(kind, field, strlen(field), &s, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "fx_sign: %s: %s\n", field, err);
		abort();
	}
	free(field);
	bh = dkim_bodyhash_new(s.bcanon, s.alg == DKIM_ALG_RSA_SHA1 ?
	    EVP_sha1() : EVP_sha256(), s.length);
	dkim_bodyhash_update(bh, body, strlen(body));
	dl = dkim_bodyhash_final(bh, d);
	dkim_bodyhash_free(bh);
	bh64 = fx_b64(d, dl);
	m = xasprintf("%s: %s; bh=%s;\r\n b=\r\n%s", fname, tags, bh64, msg);
	fx_feed(m, 1 << 20, &h, NULL, NULL, NULL);
	{
		size_t rl;
		const char *raw = msg_field_raw(&h, 0, &rl);

		dkim_check_header_hash(&h, &s, raw, rl, hh);
	}
	if (s.alg == DKIM_ALG_RSA_SHA1) {
		/* rsa-sha1: the header hash is SHA-1; recomputed the slow
		 * way, only for the test that fails it. */
		unsigned int l;

		EVP_Digest("", 0, hh, &l, EVP_sha1(), NULL);
	}
	b64 = fx_sign_digest(k, s.alg == DKIM_ALG_RSA_SHA1, hh,
	    s.alg == DKIM_ALG_RSA_SHA1 ? 20 : 32);
	out = xasprintf("%s: %s; bh=%s;\r\n b=%s\r\n%s", fname, tags, bh64,
	    b64, msg);
	msg_header_free(&h);
	free(m);
	free(bh64);
	free(b64);
	return out;
}

static FIXTURE_UNUSED char *
fx_sign(const char *msg, EVP_PKEY *k, const char *tags)
{
	return fx_sign_kind(DKIM_SIG_DKIM, msg, k, tags);
}

#endif
