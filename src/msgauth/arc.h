/*
 * arc — the ARC chain verifier (RFC 8617 5.2), a state machine over the
 * streamed message and authdns like dkim_verify, built from the same
 * pieces (dkim_sig's parsers, dkim_canon's body hash, dkim_check's key,
 * header hash and signature check).
 *
 * It checks: the ARC sets complete and numbered 1..N (N at most 50, one
 * of each field per instance), cv=none on i=1 and cv=pass on every later
 * one, the newest ARC-Message-Signature (its body hash computed while the
 * body streams), and every ARC-Seal (over the sets 1..i in order, relaxed,
 * RFC 8617 5.1.1).  Older AMSs are not checked (RFC 8617 5.2 step 5 is
 * optional).  The result is none (no ARC field), pass or fail; a key that
 * cannot be fetched (DNS failure) fails the chain too, as RFC 8617 has no
 * temperror for ARC (docs/authentication-dkim.md).
 *
 * Calling rule: arc_verify_end returns 0 with the outcome at once when it
 * is known without DNS (none, a broken structure), otherwise 1 and the
 * callback runs exactly once, later, from a DNS answer (it may free the
 * verifier).  arc_verify_free cancels pending lookups: no callback then.
 */
#ifndef POSTERN_ARC_H
#define POSTERN_ARC_H

#include <stddef.h>
#include <time.h>

#include "authdns.h"
#include "msg_header.h"

#define ARC_INSTANCES_MAX	50		/* RFC 8617 4.2.1 */

enum arc_result { ARC_NONE, ARC_PASS, ARC_FAIL };

/* "none", "pass", "fail" (RFC 8601 names). */
const char *arc_result_name(enum arc_result r);

struct arc_outcome {
	enum arc_result	 result;
	int		 instances;	/* N, the newest set's i= */
	char		 sealer[254];	/* d= of the newest ARC-Seal */
	char		*aar;		/* the newest ARC-Authentication-Results
					   value after "i=N;", unfolded, owned
					   by the verifier, valid until free;
					   NULL if none */
	char		 detail[160];	/* why fail */
};

struct arc_verify;

struct arc_verify *arc_verify_new(time_t now);
/* The header section is complete (h->done). */
void	arc_verify_header(struct arc_verify *a, const struct msg_header *h);
/* Body bytes as they stream. */
void	arc_verify_body(struct arc_verify *a, const char *p, size_t n);

typedef void (*arc_verify_cb)(void *arg, const struct arc_outcome *o);

/* The end of the message (h as given to arc_verify_header, alive until
 * the outcome): 0 with *out set (owned by a) when known at once, 1 when
 * cb will run later. */
int	arc_verify_end(struct arc_verify *a, const struct msg_header *h,
	    const struct authdns *dns, arc_verify_cb cb, void *arg,
	    const struct arc_outcome **out);
void	arc_verify_free(struct arc_verify *a);

#endif
