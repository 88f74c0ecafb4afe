/*
 * dmarc — the DMARC evaluator (RFC 7489): given the RFC5322.From domain and
 * what SPF and DKIM found, it finds the domain's policy record in DNS
 * (_dmarc.FROM, else _dmarc.ORGANIZATIONAL-DOMAIN: RFC 7489 6.6.3), checks
 * identifier alignment (3.1, relaxed or strict as the record asks) and
 * gives the result, the published policy (p, or sp for a subdomain From
 * under its organizational domain's record) and the disposition after pct
 * sampling (6.6.4).  A state machine over struct authdns: no event loop,
 * no global state but the read-only Public Suffix List (orgdomain.h).
 *
 * Results (RFC 7489 11.2, as docs/authentication-dmarc.md details):
 *   none       no DMARC record (or several: 6.6.3 applies no policy)
 *   pass       an aligned SPF pass or an aligned DKIM pass
 *   fail       a record, and neither
 *   temperror  a DNS failure while looking for the record
 *   permerror  a record that is not valid (6.6.3 discards it), or an
 *              unusable From (none, unparseable, several: 6.6.1)
 * The disposition is `none` for everything but fail, except an ambiguous
 * From (several From fields or mailboxes), which gets `reject`: the
 * receiver's choice RFC 7489 6.6.1 describes ("typically rejected").
 */
#ifndef POSTERN_DMARC_H
#define POSTERN_DMARC_H

#include <stddef.h>
#include <stdint.h>

#include "authdns.h"
#include "dmarc_record.h"	/* enum dmarc_policy */

enum dmarc_result {
	DMARC_NONE,
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,
	DMARC_PERMERROR,
};

/* The A-R result words (RFC 7489 11.2) and policy words (6.3). */
const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_policy_name(enum dmarc_policy p);

struct dmarc_input {
	/* The RFC5322.From domain (header_from.h); NULL: unusable From. */
	const char	*from_domain;
	/* With from_domain NULL: nonzero when the From was ambiguous
	 * (several From fields, several mailboxes), zero when it was
	 * missing or unparseable. */
	int		 from_ambiguous;
	/* The SPF-checked domain (MAIL FROM, or HELO for <>) and whether
	 * SPF passed; NULL: SPF not checked. */
	const char	*spf_domain;
	int		 spf_pass;
	/* d= of the DKIM signatures that passed. */
	const char *const *dkim_pass_domains;
	size_t		 ndkim;
	/* pct sampling: a number, uniform over 32 bits; NULL: getrandom. */
	uint32_t	(*rnd)(void);
};

#define DMARC_DOMAIN_SIZE	254	/* 253 octets and the NUL */

struct dmarc_outcome {
	enum dmarc_result result;
	/* The domain's policy for this message: p or sp, as published
	 * (none when no valid record was found). */
	enum dmarc_policy policy;
	/* What to apply: the policy for a fail sampled in by pct, the next
	 * lower one for a fail sampled out (RFC 7489 6.6.4), none for
	 * anything but fail (see above for an ambiguous From). */
	enum dmarc_policy disposition;
	char		 from_domain[DMARC_DOMAIN_SIZE];
	char		 org_domain[DMARC_DOMAIN_SIZE];
	/* Where the record was found: the From or the org domain ("" if
	 * none). */
	char		 record_domain[DMARC_DOMAIN_SIZE];
	/* Aligned passes, in the record's modes (relaxed when there is no
	 * record). */
	int		 spf_aligned;
	int		 dkim_aligned;
	int		 pct;		/* the record's pct (100 without one) */
	int		 sampled_out;	/* a fail outside pct */
	char		 detail[160];	/* why, for logs and A-R comments */
};

typedef void (*dmarc_cb)(void *arg, const struct dmarc_outcome *o);

struct dmarc_check;

/*
 * Start a check.  If the outcome is known without DNS (an unusable From,
 * or dns->ask() failing at once: temperror), it is written to *now, the
 * return is NULL and cb is never called.  Otherwise the check runs: cb is
 * called exactly once, later, from a DNS answer (never before this
 * returns), and the check frees itself after cb returns.  The input is
 * copied; `now` may be NULL only if the caller does not care.
 */
struct dmarc_check *dmarc_check_start(const struct authdns *dns,
	    const struct dmarc_input *in, dmarc_cb cb, void *arg,
	    struct dmarc_outcome *now);
/* Stop a running check: cb will not be called; NULL is ignored.  Not
 * from inside cb, nor after it ran (the check is gone by then). */
void	dmarc_check_cancel(struct dmarc_check *c);

#endif
