/*
 * dkim_verify — the DKIM verifier (RFC 6376 6, RFC 8301, RFC 8463) as a
 * state machine over the streamed message and authdns: the header section
 * names the signatures (up to DKIM_VERIFY_MAX, the rest ignored and
 * counted), the body streams once through one body hash per distinct
 * (canonicalization, algorithm, l=), and at the end the keys are asked
 * in parallel and each signature gets its result.
 *
 * Results: rsa-sha256 and ed25519-sha256 are verified; rsa-sha1 and RSA
 * keys under 1024 bits fail (RFC 8301); x= in the past fails; a
 * signature that does not parse, a missing or unusable key record is
 * permerror; a DNS failure is temperror.  docs/authentication-dkim.md
 * says more.
 *
 * Calling rule (the same for every authentication evaluator): a result
 * known without DNS (no signature, none that needs a key) comes back at
 * once from dkim_verify_end, which then returns 0 and does not run the
 * callback; otherwise it returns 1 and the callback runs exactly once,
 * later, from a DNS answer, never from inside dkim_verify_end.  The
 * callback may free the verifier.  dkim_verify_free cancels what is
 * pending: the callback will not run.
 */
#ifndef POSTERN_DKIM_VERIFY_H
#define POSTERN_DKIM_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "authdns.h"
#include "msg_header.h"

#define DKIM_VERIFY_MAX 8	/* signatures verified per message */

enum dkim_result {
	DKIM_NONE, DKIM_PASS, DKIM_FAIL, DKIM_NEUTRAL, DKIM_POLICY,
	DKIM_TEMPERROR, DKIM_PERMERROR
};

/* The RFC 8601 name: "none", "pass", "fail", ... */
const char *dkim_result_name(enum dkim_result r);

struct dkim_sig_result {
	enum dkim_result result;
	char	domain[254];	/* d= (empty if it could not be read) */
	char	selector[64];	/* s= */
	char	identity[256];	/* i= (or "@d") */
	char	algorithm[24];	/* a= */
	char	b_prefix[16];	/* first 8 characters of b=, header.b */
	long long length;	/* l= if given, else -1 */
	int	testing;	/* the key record says t=y */
	char	detail[160];	/* why not pass, for the comment and logs */
};

struct dkim_verify;

struct dkim_verify *dkim_verify_new(time_t now);
/* The header section is complete (h->done): the signatures are found and
 * parsed, the body hashes set up. */
void	dkim_verify_header(struct dkim_verify *v, const struct msg_header *h);
/* Body bytes as they stream (after dkim_verify_header). */
void	dkim_verify_body(struct dkim_verify *v, const char *p, size_t n);

/* nr = 0: no signature (result none). */
typedef void (*dkim_verify_cb)(void *arg, const struct dkim_sig_result *r,
	    size_t nr);

/*
 * The end of the message (h the same section as given to
 * dkim_verify_header, still alive until the result).  Returns 0 with the
 * results in *res and *nres (owned by v) when they are known at once, or
 * 1 when cb will run later (res and nres untouched).
 */
int	dkim_verify_end(struct dkim_verify *v, const struct msg_header *h,
	    const struct authdns *dns, dkim_verify_cb cb, void *arg,
	    const struct dkim_sig_result **res, size_t *nres);
/* DKIM-Signature fields past DKIM_VERIFY_MAX, not verified. */
size_t	dkim_verify_ignored(const struct dkim_verify *v);
void	dkim_verify_free(struct dkim_verify *v);

#endif
