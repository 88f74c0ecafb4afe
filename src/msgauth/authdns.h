/*
 * authdns — how the message authentication evaluators (SPF, DKIM, DMARC,
 * ARC) ask DNS: a small table of functions, so that each evaluator is a
 * state machine over answers and can run on the live resolver (one
 * resolver profile per virtual server's `authentication { dns }`) or on a
 * table of records in tests (tests/unit/fake_dns.h) alike.
 *
 * The answer is valid only during the callback.  The callback never runs
 * before ask() returns; ask() returns NULL when no question could be asked
 * (the evaluator treats that as a temporary failure, at once).
 */
#ifndef POSTERN_AUTHDNS_H
#define POSTERN_AUTHDNS_H

#include "dns_rrset.h"

typedef void (*authdns_cb)(void *arg, const struct dns_rrset *rs);

struct authdns {
	void	*(*ask)(void *ctx, const char *name, int type, authdns_cb cb,
		    void *arg);
	/* The callback of a pending question will not run; NULL ignored. */
	void	 (*cancel)(void *ctx, void *handle);
	void	*ctx;
};

#endif
