/*
 * spf_lookup — the SPF lookups that take more than one question (RFC 7208
 * 4.6.4, 5.4, 5.5, 7.3): an mx mechanism's MX names and then their
 * addresses, and the client's validated names (a PTR question, then the
 * addresses of each name) for the ptr mechanism and the %{p} macro.  The
 * second round's questions are asked together (at most
 * SPF_LOOKUP_NAMES_MAX outstanding), over struct authdns.
 *
 * Limits (4.6.4): more than SPF_LOOKUP_NAMES_MAX MX names is TOOMANY (the
 * mx mechanism's permerror); of the PTR names only the first
 * SPF_LOOKUP_NAMES_MAX are looked at.  The first question returning no
 * record is VOID, for the caller's void-lookup count.
 *
 * The start functions return NULL when authdns could not ask the first
 * question; otherwise the callback runs exactly once, later, from a DNS
 * answer, and the lookup is freed when it returns (cancelling it from
 * inside the callback is ignored).
 */
#ifndef POSTERN_SPF_LOOKUP_H
#define POSTERN_SPF_LOOKUP_H

#include <stddef.h>

#include "authdns.h"

#define SPF_LOOKUP_NAMES_MAX	10
#define SPF_LOOKUP_NAME_MAX	253

enum spf_lookup_status {
	SPF_LOOKUP_MATCH,	/* mx: an address within the prefix; ptr: a
				   validated name (within the target) */
	SPF_LOOKUP_NOMATCH,
	SPF_LOOKUP_VOID,	/* the MX or PTR question: no record */
	SPF_LOOKUP_TEMPFAIL,	/* mx: a DNS failure (ptr: NOMATCH, 5.5) */
	SPF_LOOKUP_TOOMANY,	/* mx: more than SPF_LOOKUP_NAMES_MAX names */
};

struct spf_lookup_result {
	enum spf_lookup_status status;
	/* ptr: the validated names, in the PTR answer's order */
	char	 names[SPF_LOOKUP_NAMES_MAX][SPF_LOOKUP_NAME_MAX + 1];
	int	 nnames;
	char	 failed[SPF_LOOKUP_NAME_MAX + 1];	/* TEMPFAIL: the name */
};

typedef void (*spf_lookup_cb)(void *arg, const struct spf_lookup_result *r);

struct spf_lookup;

/* mx (5.4): does an address of an MX host of name lie within prefix bits
 * of the client (family AF_INET: ip[0..4), AF_INET6: ip[0..16))? */
struct spf_lookup *spf_lookup_mx(const struct authdns *dns,
	    const char *name, int family, const unsigned char *ip, int prefix,
	    spf_lookup_cb cb, void *arg);
/* The client's validated names (5.5); within non-NULL: only names equal
 * to it or under it count, and the first one ends the lookup (MATCH). */
struct spf_lookup *spf_lookup_ptr(const struct authdns *dns, int family,
	    const unsigned char *ip, const char *within, spf_lookup_cb cb,
	    void *arg);
void	spf_lookup_cancel(struct spf_lookup *lk);

/* The client's name under in-addr.arpa or ip6.arpa, into buf (80). */
void	spf_lookup_reverse_name(int family, const unsigned char *ip,
	    char *buf, size_t len);
/* name is dom or a name under it (any case, final dots ignored). */
int	spf_lookup_within(const char *name, const char *dom);

#endif
