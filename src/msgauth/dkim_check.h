/*
 * dkim_check — the steps of checking one signature that DKIM and ARC
 * share (RFC 6376 6.1.2 and 6.1.3, RFC 8617 5.1): the key from its DNS
 * answer, the header hash (the signed fields chosen bottom-up, then the
 * signature field with b= emptied), and the signature over that hash.
 * Every signature is over the SHA-256 digest of the canonical header
 * data: rsa-sha256 signs it with PKCS#1 v1.5, ed25519-sha256 signs the
 * digest itself (RFC 8463 3), so the data is hashed as it is made and
 * never collected.
 */
#ifndef POSTERN_DKIM_CHECK_H
#define POSTERN_DKIM_CHECK_H

#include <stddef.h>

#include <openssl/evp.h>

#include "dkim_sig.h"
#include "dns_rrset.h"
#include "msg_header.h"

enum dkim_check {
	DKIM_CHECK_OK,
	DKIM_CHECK_FAIL,		/* does not verify */
	DKIM_CHECK_PERMERROR,		/* no usable key */
	DKIM_CHECK_TEMPERROR,		/* DNS failed */
};

#define DKIM_CHECK_RSA_MIN	1024	/* bits: RFC 8301 3.2 */
#define DKIM_CHECK_QNAME_MAX	330	/* selector._domainkey.domain */

/* The DNS name of the key of s, in out (DKIM_CHECK_QNAME_MAX bytes). */
void	dkim_check_qname(const struct dkim_sig *s, char *out);

/*
 * The key of s from the TXT answer rs: OK with *key (the caller frees
 * it), or TEMPERROR (the lookup failed), PERMERROR (no record, none that
 * parses, revoked, of another type than a=, t=s and i= in a subdomain)
 * or FAIL (an RSA key under DKIM_CHECK_RSA_MIN bits), with why in detail.
 * *testing (if not NULL): the record says t=y.
 */
enum dkim_check dkim_check_key(const struct dkim_sig *s,
	    const struct dns_rrset *rs, EVP_PKEY **key, int *testing,
	    char *detail, size_t dlen);

/* One field canonicalized into the digest (the scratch space is the
 * function's own). */
void	dkim_check_hash_field(EVP_MD_CTX *md, enum dkim_canon c,
	    const char *raw, size_t len, int crlf);
/* The signature field itself: b= emptied, no final CRLF (RFC 6376
 * 3.7). */
void	dkim_check_hash_sigfield(EVP_MD_CTX *md, enum dkim_canon c,
	    const char *raw, size_t len);
/*
 * The header hash of the DKIM-Signature or ARC-Message-Signature s whose
 * raw field (as in the message) is sigraw: the fields of h= chosen from h
 * bottom up (a name listed more often than present adds nothing:
 * over-signing), then the signature field.  SHA-256 into out (32 bytes).
 * Only s's h= and header canonicalization are read.
 */
void	dkim_check_header_hash(const struct msg_header *h,
	    const struct dkim_sig *s, const char *sigraw, size_t siglen,
	    unsigned char *out);

/* Does s's signature b= verify over the header hash with key? */
int	dkim_check_signature(const struct dkim_sig *s, EVP_PKEY *key,
	    const unsigned char *hash, size_t hlen);

#endif
