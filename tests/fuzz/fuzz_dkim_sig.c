/*
 * fuzz_dkim_sig — libFuzzer harness for DKIM's pure parsers (dkim_sig.c)
 * and canonicalizations (dkim_canon.c), called directly.
 *
 * The first input byte picks what the rest is: a DKIM-Signature,
 * ARC-Message-Signature or ARC-Seal value, a key record, a tag-list, one
 * header field to canonicalize, or a body to hash.  Beyond "no crash, no
 * sanitizer report" it checks the contracts: tags lie inside the input,
 * parsed strings stay in their bounds, a canonical header never grows
 * past len + 2, and a body hashed in two chunks cut anywhere hashes as
 * it does in one.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "dkim_sig.h"

static void
check_sig(const struct dkim_sig *s)
{
	size_t i;

	if (strnlen(s->domain, sizeof(s->domain)) == sizeof(s->domain) ||
	    strnlen(s->selector, sizeof(s->selector)) == sizeof(s->selector) ||
	    strnlen(s->identity, sizeof(s->identity)) == sizeof(s->identity) ||
	    strnlen(s->b_prefix, sizeof(s->b_prefix)) > 8 ||
	    s->blen == 0 || s->blen > sizeof(s->b) || s->nh > DKIM_SIG_H_MAX)
		abort();
	for (i = 0; i < s->nh; i++)
		if (s->h[i] < s->hlist || s->h[i] >= s->hlist +
		    sizeof(s->hlist) || s->h[i][0] == '\0')
			abort();
	if (s->kind == DKIM_SIG_DKIM && s->identity[0] == '\0')
		abort();
	if (s->kind != DKIM_SIG_DKIM && (s->instance < 1 || s->instance > 50))
		abort();
}

static void
body(int relaxed, const char *p, size_t n, size_t cut, long long limit)
{
	enum dkim_canon c = relaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	struct dkim_bodyhash *a = dkim_bodyhash_new(c, EVP_sha256(), limit);
	struct dkim_bodyhash *b = dkim_bodyhash_new(c, EVP_sha256(), limit);
	unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	size_t la, lb;

	dkim_bodyhash_update(a, p, n);
	dkim_bodyhash_update(b, p, cut);
	dkim_bodyhash_update(b, p + cut, n - cut);
	la = dkim_bodyhash_final(a, da);
	lb = dkim_bodyhash_final(b, db);
	if (la != 32 || la != lb || memcmp(da, db, la) != 0 ||
	    dkim_bodyhash_length(a) != dkim_bodyhash_length(b) ||
	    dkim_bodyhash_length(a) > 2 * (unsigned long long)n + 2)
		abort();
	dkim_bodyhash_free(a);
	dkim_bodyhash_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_sig s;
	struct dkim_keyrec k;
	struct dkim_tag t[DKIM_TAGS_MAX];
	unsigned char out[512];
	const char *p;
	char err[128], *canon;
	size_t n, nt, i, len;
	int sel;

	if (size < 1)
		return 0;
	sel = data[0] % 8;
	p = (const char *)data + 1;
	n = size - 1;
	switch (sel) {
	case 0:
	case 1:
	case 2:
		if (dkim_sig_parse((enum dkim_sig_kind)sel, p, n, &s, err,
		    sizeof(err)) == 0)
			check_sig(&s);
		else if (err[0] == '\0')
			abort();
		break;
	case 3:
		if (dkim_sig_keyrec(p, n, &k, err, sizeof(err)) == 0 &&
		    k.plen > sizeof(k.p))
			abort();
		break;
	case 4:
		if (dkim_sig_taglist(p, n, t, &nt, err, sizeof(err)) == 0)
			for (i = 0; i < nt; i++)
				if (t[i].name < p || t[i].value < p ||
				    t[i].value + t[i].valuelen > p + n ||
				    t[i].value_off > t[i].value_end ||
				    t[i].value_end > n)
					abort();
		(void)dkim_sig_base64(p, n, out, sizeof(out));
		break;
	case 5:
	case 6:
		canon = malloc(n + 2);
		len = dkim_canon_header(sel == 6 ? DKIM_CANON_RELAXED :
		    DKIM_CANON_SIMPLE, p, n, 1, canon);
		if (len > n + 2 || len < 2 || canon[len - 1] != '\n')
			abort();
		len = dkim_canon_header(DKIM_CANON_RELAXED, p, n, 0, canon);
		if (len > n)
			abort();
		free(canon);
		break;
	case 7:
		if (n < 2)
			break;
		body(data[1] & 1, p + 1, n - 1, data[1] % n,
		    data[1] & 2 ? (long long)(data[1] >> 2) : -1);
		break;
	}
	return 0;
}
