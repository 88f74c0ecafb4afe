/*
 * dkim_check — key, header hash and signature of one DKIM or ARC
 * signature (dkim_check.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim_check.h"
#include "xmalloc.h"

void
dkim_check_qname(const struct dkim_sig *s, char *out)
{
	snprintf(out, DKIM_CHECK_QNAME_MAX, "%s._domainkey.%s", s->selector,
	    s->domain);
}

static EVP_PKEY *
make_key(const struct dkim_keyrec *k)
{
	const unsigned char *p = k->p;

	if (k->type == DKIM_KEY_ED25519)
		return k->plen == 32 ? EVP_PKEY_new_raw_public_key(
		    EVP_PKEY_ED25519, NULL, k->p, k->plen) : NULL;
	/* SubjectPublicKeyInfo as RFC 6376 3.6.1 says, or the bare
	 * RSAPublicKey some publish. */
	EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)k->plen);

	if (key == NULL) {
		p = k->p;
		key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)k->plen);
	}
	if (key != NULL && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

enum dkim_check
dkim_check_key(const struct dkim_sig *s, const struct dns_rrset *rs,
    EVP_PKEY **key, int *testing, char *detail, size_t dlen)
{
	struct dkim_keyrec k;
	char err[128] = "";
	size_t i;
	int found = 0;

	*key = NULL;
	if (rs->status == DNS_RR_TEMPFAIL) {
		snprintf(detail, dlen, "key lookup failed: %s", rs->error);
		return DKIM_CHECK_TEMPERROR;
	}
	/* RFC 6376 3.6.2.2: several records are undefined; the first one
	 * that parses is taken. */
	for (i = 0; rs->status == DNS_RR_OK && i < rs->nrr; i++) {
		if (rs->rr[i].text != NULL && dkim_sig_keyrec(rs->rr[i].text,
		    rs->rr[i].len, &k, err, sizeof(err)) == 0) {
			found = 1;
			break;
		}
	}
	if (!found) {
		if (err[0] != '\0')
			snprintf(detail, dlen, "bad key record: %s", err);
		else
			snprintf(detail, dlen, "no key record");
		return DKIM_CHECK_PERMERROR;
	}
	if (testing != NULL)
		*testing = k.testing;
	if (k.plen == 0) {
		snprintf(detail, dlen, "key revoked");
		return DKIM_CHECK_PERMERROR;
	}
	if ((k.type == DKIM_KEY_ED25519) !=
	    (s->alg == DKIM_ALG_ED25519_SHA256)) {
		snprintf(detail, dlen, "key type does not match a=%s",
		    s->algname);
		return DKIM_CHECK_PERMERROR;
	}
	if (k.strict && s->kind == DKIM_SIG_DKIM) {
		const char *at = strrchr(s->identity, '@');

		if (at == NULL || strcasecmp(at + 1, s->domain) != 0) {
			snprintf(detail, dlen, "key t=s and i= in a subdomain");
			return DKIM_CHECK_PERMERROR;
		}
	}
	if ((*key = make_key(&k)) == NULL) {
		snprintf(detail, dlen, "bad public key");
		return DKIM_CHECK_PERMERROR;
	}
	if (k.type == DKIM_KEY_RSA && EVP_PKEY_get_bits(*key) <
	    DKIM_CHECK_RSA_MIN) {
		snprintf(detail, dlen, "RSA key of %d bits (RFC 8301)",
		    EVP_PKEY_get_bits(*key));
		EVP_PKEY_free(*key);
		*key = NULL;
		return DKIM_CHECK_FAIL;
	}
	return DKIM_CHECK_OK;
}

void
dkim_check_hash_field(EVP_MD_CTX *md, enum dkim_canon c, const char *raw,
    size_t len, int crlf)
{
	char *out = xmalloc(len + 2);
	size_t n = dkim_canon_header(c, raw, len, crlf, out);

	EVP_DigestUpdate(md, out, n);
	free(out);
}

void
dkim_check_hash_sigfield(EVP_MD_CTX *md, enum dkim_canon c, const char *raw,
    size_t len)
{
	struct dkim_tag t[DKIM_TAGS_MAX];
	const struct dkim_tag *b;
	const char *colon = memchr(raw, ':', len);
	size_t off, nt;
	char *copy;

	if (colon == NULL)
		return;
	off = (size_t)(colon + 1 - raw);
	if (dkim_sig_taglist(colon + 1, len - off, t, &nt, NULL, 0) == -1 ||
	    (b = dkim_sig_tag(t, nt, "b")) == NULL) {
		dkim_check_hash_field(md, c, raw, len, 0);
		return;
	}
	/* The value and the blanks around it go, "b=" stays. */
	copy = xmalloc(len);
	memcpy(copy, raw, off + b->value_off);
	memcpy(copy + off + b->value_off, raw + off + b->value_end,
	    len - off - b->value_end);
	dkim_check_hash_field(md, c, copy, len - (b->value_end - b->value_off),
	    0);
	free(copy);
}

void
dkim_check_header_hash(const struct msg_header *h, const struct dkim_sig *s,
    const char *sigraw, size_t siglen, unsigned char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char used[MSG_HEADER_FIELDS_MAX];
	unsigned int olen;
	size_t i, len;
	const char *raw;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort();
	memset(used, 0, sizeof(used));
	for (i = 0; i < s->nh; i++) {
		size_t j = h->nf;

		/* RFC 6376 5.4.2: the last instance not yet used. */
		while (j > 0 && (used[j - 1] || !msg_field_is(h, j - 1,
		    s->h[i])))
			j--;
		if (j == 0)
			continue;
		used[j - 1] = 1;
		raw = msg_field_raw(h, j - 1, &len);
		dkim_check_hash_field(md, s->hcanon, raw, len, 1);
	}
	dkim_check_hash_sigfield(md, s->hcanon, sigraw, siglen);
	EVP_DigestFinal_ex(md, out, &olen);
	EVP_MD_CTX_free(md);
}

int
dkim_check_signature(const struct dkim_sig *s, EVP_PKEY *key,
    const unsigned char *hash, size_t hlen)
{
	int ok = 0;

	if (s->alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		if (md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL,
		    key) == 1)
			ok = EVP_DigestVerify(md, s->b, s->blen, hash,
			    hlen) == 1;
		EVP_MD_CTX_free(md);
	} else if (s->alg == DKIM_ALG_RSA_SHA256) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);

		if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1)
			ok = EVP_PKEY_verify(ctx, s->b, s->blen, hash,
			    hlen) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	return ok;
}
