/*
 * spf — the SPF check of RFC 7208: check_host() (section 4) for the MAIL
 * FROM identity, or the HELO identity when the sender is null or the
 * caller asks for it (2.3, 2.4), as an asynchronous state machine over
 * struct authdns.  No event loop, no blocking, no global state.
 *
 * One check evaluates the sender's record, its includes and redirects,
 * and on "fail" fetches the exp= explanation; docs/authentication-spf.md
 * lists what is checked and the limits:
 *   - 10 terms that query DNS (include, a, mx, ptr, exists, redirect; the
 *     %{p} macro), 2 void lookups, 10 MX names per mx, the first 10 PTR
 *     names per ptr or %{p} (4.6.4), past which: permerror;
 *   - at most 10 questions outstanding (an mx's or a ptr's names, asked
 *     together: spf_lookup.h), names of at most 253 octets, records of
 *     SPF_RECORD_MAX octets (spf_record.h).
 * A DNS failure or timeout (authdns's TEMPFAIL, or ask() returning NULL)
 * is temperror.  An IPv4-mapped IPv6 client is checked as IPv4.  No
 * overall time limit of its own: the caller cancels a check it no longer
 * waits for.
 *
 * When the result is known without DNS (a sender whose domain is not a
 * valid name: none, 4.3; ask() failing at once: temperror),
 * spf_check_start returns NULL with *at_once filled and cb never runs.
 * Otherwise cb runs exactly once, later, from a DNS answer (never from
 * inside spf_check_start); the check is freed when cb returns, and
 * cancelling it from inside cb is ignored.
 */
#ifndef POSTERN_SPF_H
#define POSTERN_SPF_H

#include <sys/socket.h>
#include <time.h>

#include "authdns.h"

#define SPF_LOOKUP_MAX		10	/* DNS-querying terms (4.6.4) */
#define SPF_VOID_MAX		2	/* void lookups (4.6.4) */
#define SPF_NAMES_MAX		10	/* MX names, PTR names (4.6.4) */
#define SPF_DEPTH_MAX		(SPF_LOOKUP_MAX + 1)	/* nested includes */

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror",
 * "permerror" (the names of RFC 8601 section 2.7.2). */
const char *spf_result_name(enum spf_result r);

struct spf_request {
	const struct sockaddr *client;	/* AF_INET or AF_INET6 (v4-mapped = v4) */
	const char	*sender;	/* MAIL FROM without <>; "" = null */
	const char	*helo;		/* HELO/EHLO argument as given */
	const char	*receiver;	/* our host name, for %{r} */
	int		 helo_identity;	/* 1: check the HELO identity (2.3) */
	time_t		 now;		/* for %{t} */
};

struct spf_outcome {
	enum spf_result	 result;
	char		 domain[256];	/* the domain checked */
	int		 helo_identity;	/* the identity checked was HELO */
	char		 explanation[512];	/* fail: the expanded exp=, else "" */
	char		 detail[200];	/* the mechanism that matched, or why
					   permerror/temperror (logs, the
					   Authentication-Results comment) */
	unsigned	 lookups;	/* DNS-querying terms evaluated */
	unsigned	 voids;		/* void lookups met */
};

typedef void (*spf_cb)(void *arg, const struct spf_outcome *o);

struct spf_check;

/* NULL: the result is in *at_once and cb never runs (see above). */
struct spf_check *spf_check_start(const struct authdns *dns,
	    const struct spf_request *req, struct spf_outcome *at_once,
	    spf_cb cb, void *arg);
/* The callback will not run; every question is cancelled, everything
 * freed.  NULL ignored. */
void	spf_check_cancel(struct spf_check *c);

#endif
