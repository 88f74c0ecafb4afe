/*
 * dkim_sign — the DKIM signer (dkim_sign.h).  A field is written by a
 * small folding writer: words go on the current line while it stays
 * within DKIM_SIGN_LINE_MAX octets, else on a new line after CRLF SP
 * (folding whitespace is allowed between tags, around the colons of h=
 * and inside base64, RFC 6376 3.2, 3.5).  b= starts a line of its own, so
 * the text signed (the field with b= empty, relaxed) is exactly the text
 * sent.  The end of a message is three steps (prepare, sign, finish) so
 * that the private-key operations can run off the event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>

#include "buf.h"
#include "dkim_canon.h"
#include "dkim_check.h"
#include "dkim_sig.h"
#include "dkim_sign.h"
#include "xmalloc.h"

#define SIGN_FIELDS_MAX	(64 * 1024)	/* every signature of a message */
#define SIGN_NAME_MAX	100		/* a header name to sign */

/* What one key's signature needs once the header is known. */
struct sign_part {
	struct buf		 field;		/* up to and with "b=" */
	unsigned char		 digest[32];	/* the header hash */
	EVP_PKEY		*key;		/* a reference of its own */
	unsigned char		 sig[1024];	/* RSA up to 8192 bits */
	size_t			 siglen;
	int			 signed_ok;
};

struct dkim_signer {
	const struct dkim_sign_key *const *keys;
	size_t			 nkeys;
	time_t			 now;
	struct dkim_bodyhash	*bh;
	struct sign_part	*parts;		/* nkeys, once prepared */
};

struct dkim_signer *
dkim_signer_new(const struct dkim_sign_key *const *keys, size_t nkeys,
    time_t now)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));

	s->keys = keys;
	s->nkeys = nkeys;
	s->now = now;
	s->bh = dkim_bodyhash_new(DKIM_CANON_RELAXED, EVP_sha256(), -1);
	return s;
}

void
dkim_signer_body(struct dkim_signer *s, const char *p, size_t n)
{
	dkim_bodyhash_update(s->bh, p, n);
}

struct fold {
	struct buf	*b;
	size_t		 col;		/* octets on the current line */
	int		 full;		/* the buffer's bound was hit */
};

static void
put(struct fold *f, const char *p, size_t n)
{
	if (buf_append(f->b, p, n) == -1)
		f->full = 1;
}

/* A word, after a space (sep) or right after the text before it. */
static void
word(struct fold *f, const char *w, size_t n, int sep)
{
	if (f->col + (size_t)sep + n > DKIM_SIGN_LINE_MAX && f->col > 1) {
		put(f, "\r\n ", 3);
		f->col = 1;
	} else if (sep) {
		put(f, " ", 1);
		f->col++;
	}
	put(f, w, n);
	f->col += n;
}

static void
wordf(struct fold *f, const char *fmt, const char *arg)
{
	char w[320];
	int n = snprintf(w, sizeof(w), fmt, arg);

	word(f, w, n < (int)sizeof(w) ? (size_t)n : sizeof(w) - 1, 1);
}

/* Base64 that fills each line and goes on after CRLF SP. */
static void
b64(struct fold *f, const char *p, size_t n)
{
	while (n > 0) {
		size_t room = DKIM_SIGN_LINE_MAX - f->col, k;

		if (room == 0) {
			put(f, "\r\n ", 3);
			f->col = 1;
			continue;
		}
		k = n < room ? n : room;
		put(f, p, k);
		f->col += k;
		p += k;
		n -= k;
	}
}

static char *
base64(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* h=: each configured field as often as present, From (always signed)
 * once more; in s (only h[] and nh are set). */
static int
choose(const struct dkim_sign_key *k, const struct msg_header *h,
    struct dkim_sig *s)
{
	size_t i, j, n, from = msg_header_count(h, "from") + 1;

	s->nh = 0;
	if (from > DKIM_SIG_H_MAX)
		return -1;
	for (j = 0; j < from; j++)
		s->h[s->nh++] = "from";
	for (i = 0; i < k->nheaders; i++) {
		const char *name = k->headers[i];

		if (strlen(name) > SIGN_NAME_MAX)
			return -1;
		if (strcmp(name, "from") == 0)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(k->headers[j], name) == 0)
				break;
		if (j < i)
			continue;		/* listed twice */
		/* Past the bound, fewer instances are listed than present:
		 * still valid, the bottom ones are signed (RFC 6376
		 * 5.4.2). */
		n = msg_header_count(h, name);
		for (j = 0; j < n && s->nh < DKIM_SIG_H_MAX; j++)
			s->h[s->nh++] = name;
	}
	return 0;
}

/* One signature of digest d with key; 0, or -1 on failure.  Touches
 * nothing but its arguments: any thread. */
static int
sign_digest(EVP_PKEY *key, const unsigned char *d, size_t dl,
    unsigned char *sig, size_t *sl)
{
	int ok = 0;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		/* RFC 8463 3: Ed25519 over the SHA-256 of the header data */
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL,
		    key) == 1 && EVP_DigestSign(md, sig, sl, d, dl) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);

		ok = c != NULL && EVP_PKEY_sign_init(c) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(c, sig, sl, d, dl) == 1;
		EVP_PKEY_CTX_free(c);
	}
	return ok ? 0 : -1;
}

/* Key k's field up to its b= (in p->field), and the digest it signs. */
static int
prepare_one(struct dkim_signer *s, const struct dkim_sign_key *k,
    const struct msg_header *h, const char *bh64, struct sign_part *p,
    char *err, size_t errlen)
{
	struct dkim_sig *sig = xcalloc(1, sizeof(*sig));	/* h= only */
	struct fold f = { &p->field, 0, 0 };
	int rc = -1;
	size_t i;
	int ed = EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_ED25519;
	char t[32];

	sig->hcanon = DKIM_CANON_RELAXED;
	if (choose(k, h, sig) == -1) {
		snprintf(err, errlen, "%d From fields or more, or a header "
		    "name longer than %d", DKIM_SIG_H_MAX, SIGN_NAME_MAX);
		goto done;
	}
	word(&f, "DKIM-Signature:", 15, 0);
	word(&f, "v=1;", 4, 1);
	wordf(&f, "a=%s;", ed ? "ed25519-sha256" : "rsa-sha256");
	word(&f, "c=relaxed/relaxed;", 18, 1);
	wordf(&f, "d=%s;", k->domain);
	wordf(&f, "s=%s;", k->selector);
	snprintf(t, sizeof(t), "%lld", (long long)s->now);
	wordf(&f, "t=%s;", t);
	for (i = 0; i < sig->nh; i++) {
		char w[128];
		int n = snprintf(w, sizeof(w), "%s%s%s", i == 0 ? "h=" : "",
		    sig->h[i], i + 1 < sig->nh ? ":" : ";");

		word(&f, w, (size_t)n < sizeof(w) ? (size_t)n : sizeof(w) - 1,
		    i == 0);
	}
	wordf(&f, "bh=%s;", bh64);
	put(&f, "\r\n b=", 5);
	if (f.full) {
		snprintf(err, errlen, "signature field too long");
		goto done;
	}
	dkim_check_header_hash(h, sig, p->field.p, p->field.len, p->digest);
	/* the signature is made later, maybe on another thread, and
	 * maybe after the configuration that holds the key is gone */
	EVP_PKEY_up_ref(k->pkey);
	p->key = k->pkey;
	rc = 0;
done:
	free(sig);
	return rc;
}

int
dkim_signer_prepare(struct dkim_signer *s, const struct msg_header *h,
    char *err, size_t errlen)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	size_t i, dl;
	char *bh64;

	if (s->parts != NULL) {
		snprintf(err, errlen, "signed twice");
		return -1;
	}
	dl = dkim_bodyhash_final(s->bh, d);
	bh64 = base64(d, dl);
	s->parts = xcalloc(s->nkeys, sizeof(*s->parts));
	for (i = 0; i < s->nkeys; i++) {
		buf_init(&s->parts[i].field, SIGN_FIELDS_MAX);
		if (prepare_one(s, s->keys[i], h, bh64, &s->parts[i], err,
		    errlen) == -1) {
			free(bh64);
			return -1;
		}
	}
	free(bh64);
	return 0;
}

int
dkim_signer_sign(struct dkim_signer *s)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++) {
		struct sign_part *p = &s->parts[i];

		p->siglen = sizeof(p->sig);
		if (sign_digest(p->key, p->digest, sizeof(p->digest), p->sig,
		    &p->siglen) == -1)
			return (int)i + 1;
		p->signed_ok = 1;
	}
	return 0;
}

char *
dkim_signer_finish(struct dkim_signer *s, size_t *len, char *err,
    size_t errlen)
{
	struct buf out;
	size_t i;

	buf_init(&out, SIGN_FIELDS_MAX);
	for (i = 0; i < s->nkeys; i++) {
		struct sign_part *p = &s->parts[i];
		struct fold f = { &out, 3, 0 };
		char *b;

		if (!p->signed_ok) {
			snprintf(err, errlen, "signing with %s failed",
			    s->keys[i]->selector);
			buf_free(&out);
			return NULL;
		}
		put(&f, p->field.p, p->field.len);
		f.col = 3;
		b = base64(p->sig, p->siglen);
		b64(&f, b, strlen(b));
		put(&f, "\r\n", 2);
		free(b);
		if (f.full) {
			snprintf(err, errlen, "signature field too long");
			buf_free(&out);
			return NULL;
		}
	}
	return buf_release(&out, len);
}

char *
dkim_signer_end(struct dkim_signer *s, const struct msg_header *h,
    size_t *len, char *err, size_t errlen)
{
	if (dkim_signer_prepare(s, h, err, errlen) == -1)
		return NULL;
	(void)dkim_signer_sign(s);
	return dkim_signer_finish(s, len, err, errlen);
}

void
dkim_signer_free(struct dkim_signer *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->parts != NULL) {
		for (i = 0; i < s->nkeys; i++) {
			buf_free(&s->parts[i].field);
			EVP_PKEY_free(s->parts[i].key);
		}
		free(s->parts);
	}
	dkim_bodyhash_free(s->bh);
	free(s);
}
