/*
 * dkim_canon — the canonicalizations of RFC 6376 3.4, shared by the DKIM
 * verifier and signer and by ARC (RFC 8617 reuses them): a pure function
 * over one raw header field, and a streaming body hasher fed the body in
 * chunks cut anywhere (inside a CRLF, a run of blanks, or the run of empty
 * lines that ends a body), so the body is hashed as it streams to the
 * spool, once, and never held in memory: the hasher keeps a count of
 * pending line ends and one pending blank, nothing more.
 */
#ifndef POSTERN_DKIM_CANON_H
#define POSTERN_DKIM_CANON_H

#include <stddef.h>

#include <openssl/evp.h>

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

/*
 * One header field as fed (name, colon, value, folding, optional final
 * CRLF), canonicalized into out, which must hold len + 2 bytes: the
 * result never grows except for the CRLF.  With crlf, the result ends in
 * CRLF (the field's own is kept, or one is added); without, it has none
 * (the DKIM-Signature field being verified, RFC 6376 3.7).  Returns the
 * length written.
 */
size_t	dkim_canon_header(enum dkim_canon c, const char *raw, size_t len,
	    int crlf, char *out);

struct dkim_bodyhash;

/*
 * A body hash with canonicalization canon and digest md (EVP_sha256(), or
 * EVP_sha1() only so that an rsa-sha1 signature is recognised), over the
 * first `limit` octets of the canonical body (RFC 6376 l=), or all of it
 * with limit < 0.
 */
struct dkim_bodyhash *dkim_bodyhash_new(enum dkim_canon canon,
	    const EVP_MD *md, long long limit);
void	dkim_bodyhash_update(struct dkim_bodyhash *bh, const char *p,
	    size_t n);
/* The end of the body: the digest into out (EVP_MAX_MD_SIZE bytes);
 * returns its length.  Once only. */
size_t	dkim_bodyhash_final(struct dkim_bodyhash *bh, unsigned char *out);
/* After final: the length of the whole canonical body (before l=). */
unsigned long long dkim_bodyhash_length(const struct dkim_bodyhash *bh);
void	dkim_bodyhash_free(struct dkim_bodyhash *bh);

#endif
