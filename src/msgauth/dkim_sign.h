/*
 * dkim_sign — the DKIM signer (RFC 6376 5, RFC 8463) for what a server
 * with `dkim-sign` accepts: the body is hashed as it streams (one hash,
 * relaxed, SHA-256, shared by every key), and at the end of the data one
 * DKIM-Signature per key is made, to be prepended to the message as it
 * leaves.  Fixed choices: c=relaxed/relaxed, a= by key type
 * (rsa-sha256, ed25519-sha256), t= set, no l=, no x=; h= names each
 * configured field as many times as it is present, and From once more
 * (over-signed, so no From can be added).
 */
#ifndef POSTERN_DKIM_SIGN_H
#define POSTERN_DKIM_SIGN_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "msg_header.h"

#define DKIM_SIGN_LINE_MAX	78	/* octets a line, CRLF excluded */

struct dkim_sign_key {
	EVP_PKEY		*pkey;		/* dkim_key_load() */
	const char		*domain;	/* d= */
	const char		*selector;	/* s= */
	const char *const	*headers;	/* lowercase names */
	size_t			 nheaders;
};

struct dkim_signer;

/* keys (and what they point to) must live until dkim_signer_free. */
struct dkim_signer *dkim_signer_new(const struct dkim_sign_key *const *keys,
	    size_t nkeys, time_t now);
/* Body bytes as they stream, after the header section. */
void	dkim_signer_body(struct dkim_signer *s, const char *p, size_t n);
/*
 * The end of the message, h its header section: the DKIM-Signature
 * fields, one per key in order, each folded to lines of at most
 * DKIM_SIGN_LINE_MAX octets (unless one d= or s= is longer), each CRLF
 * terminated; a new string of *len bytes (NUL-terminated).  NULL with err
 * on failure.  Once only.
 */
char	*dkim_signer_end(struct dkim_signer *s, const struct msg_header *h,
	    size_t *len, char *err, size_t errlen);
/*
 * dkim_signer_end() in three steps, for a caller that signs on a worker
 * thread (smtp_msgauth.c).  prepare: the body hash, each field up to its
 * b= and the digest each key signs (0, or -1 with err); h and the keys'
 * domain, selector and headers are not used after it, and the signer
 * holds its own reference on every key.  sign: the private-key
 * operations, touching nothing but the signer (any thread, one at a
 * time); 0, or 1 + the index of the key that failed.  finish: the fields,
 * as dkim_signer_end() returns them.
 */
int	dkim_signer_prepare(struct dkim_signer *s, const struct msg_header *h,
	    char *err, size_t errlen);
int	dkim_signer_sign(struct dkim_signer *s);
char	*dkim_signer_finish(struct dkim_signer *s, size_t *len, char *err,
	    size_t errlen);
void	dkim_signer_free(struct dkim_signer *s);

#endif
