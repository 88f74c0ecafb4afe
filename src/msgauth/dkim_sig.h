/*
 * dkim_sig — the pure parsers of DKIM's text: the tag-list (RFC 6376
 * 3.2), the DKIM-Signature field (3.5) and the ARC fields built on it
 * (ARC-Message-Signature and ARC-Seal, RFC 8617 4.1), the key record
 * (3.6.1), and base64 with folding whitespace.  No I/O, no allocation:
 * results are slices of the input or bounded copies, and every input
 * longer than its bound is an error, not a truncation.
 */
#ifndef POSTERN_DKIM_SIG_H
#define POSTERN_DKIM_SIG_H

#include <stddef.h>

#include "dkim_canon.h"

/* ---- tag-list ---- */

#define DKIM_TAGS_MAX	32	/* tags in one list; more = error */

struct dkim_tag {
	const char	*name;		/* in the input */
	size_t		 namelen;
	const char	*value;		/* FWS around it excluded */
	size_t		 valuelen;
	size_t		 value_off;	/* offsets in the input of the bytes */
	size_t		 value_end;	/* between '=' and ';' (or the end) */
};

/*
 * s[0..len) as a tag-list: 0 and the tags in t (*nt of them), or -1 with
 * the reason in err: a syntax error, a duplicate tag (3.2: "Tags with
 * duplicate names MUST NOT occur"), more than DKIM_TAGS_MAX tags.
 */
int	dkim_sig_taglist(const char *s, size_t len, struct dkim_tag *t,
	    size_t *nt, char *err, size_t errlen);
/* The tag named name in t, or NULL. */
const struct dkim_tag *dkim_sig_tag(const struct dkim_tag *t, size_t nt,
	    const char *name);

/* base64 (folding whitespace allowed between characters) into out (at
 * most cap bytes): the length, or -1 if malformed or too long. */
long	dkim_sig_base64(const char *s, size_t len, unsigned char *out,
	    size_t cap);

/* ---- signatures ---- */

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1,		/* recognised only to fail it */
};

enum dkim_sig_kind {
	DKIM_SIG_DKIM,			/* DKIM-Signature */
	DKIM_SIG_AMS,			/* ARC-Message-Signature */
	DKIM_SIG_AS,			/* ARC-Seal */
};

enum dkim_cv { DKIM_CV_NONE, DKIM_CV_PASS, DKIM_CV_FAIL };

#define DKIM_SIG_B_MAX	1024		/* an 8192-bit RSA signature */
#define DKIM_SIG_H_MAX	128		/* names in h= */
#define DKIM_SIG_HLIST_MAX 2048		/* h= as text */

struct dkim_sig {
	enum dkim_sig_kind kind;
	enum dkim_alg	 alg;
	char		 algname[24];
	enum dkim_canon	 hcanon, bcanon;
	char		 domain[254];		/* d=, lowercase */
	char		 selector[64];		/* s= */
	char		 identity[256];		/* DKIM i= (default "@d") */
	int		 instance;		/* ARC i= (1..50) */
	enum dkim_cv	 cv;			/* ARC-Seal cv= */
	unsigned char	 b[DKIM_SIG_B_MAX];
	size_t		 blen;
	char		 b_prefix[16];		/* first 8 characters of b= */
	unsigned char	 bh[64];
	size_t		 bhlen;
	long long	 length;		/* l=, or -1 */
	long long	 timestamp;		/* t=, or -1 */
	long long	 expire;		/* x=, or -1 */
	char		 hlist[DKIM_SIG_HLIST_MAX];	/* h= names, lowercase,
						   NUL-separated */
	const char	*h[DKIM_SIG_H_MAX];	/* into hlist */
	size_t		 nh;
};

/*
 * A DKIM-Signature, ARC-Message-Signature or ARC-Seal field's value
 * (after the colon): 0, or -1 with the reason in err (every -1 is a
 * permerror: RFC 6376 6.1.1, RFC 8617 5.1).  rsa-sha1 parses (alg =
 * DKIM_ALG_RSA_SHA1), so the caller can fail it as RFC 8301 says; any
 * other unknown algorithm is an error.
 */
int	dkim_sig_parse(enum dkim_sig_kind kind, const char *s, size_t len,
	    struct dkim_sig *out, char *err, size_t errlen);

/* ---- key records ---- */

enum dkim_keytype { DKIM_KEY_RSA, DKIM_KEY_ED25519 };

#define DKIM_KEY_P_MAX	2048		/* decoded p=: an 8192-bit RSA key */

struct dkim_keyrec {
	enum dkim_keytype type;
	unsigned char	 p[DKIM_KEY_P_MAX];
	size_t		 plen;		/* 0: revoked (p= empty) */
	int		 testing;	/* t=y */
	int		 strict;	/* t=s: i= must be exactly d= */
};

/* A key record (the TXT strings joined): 0, or -1 with err (bad syntax,
 * v= not DKIM1, an unknown k=, h= without sha256, s= without email). */
int	dkim_sig_keyrec(const char *s, size_t len, struct dkim_keyrec *out,
	    char *err, size_t errlen);

#endif
