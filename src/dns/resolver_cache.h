/*
 * resolver_cache — a bounded cache of DNS answers, one per resolver
 * profile, below every question the resolver asks (resolver.c: MX, A and
 * AAAA of deliveries, resolver_lookup() of message authentication and the
 * DNSBLs).  What it keeps is the raw answer c-ares handed over with its
 * status, keyed by (type, name), and what it gives back is that same
 * answer, so a caller sees exactly what it would have seen from the
 * server, only sooner.
 *
 * Kept: answers with records (for the smallest TTL among them, at most
 * the cap), NXDOMAIN and NODATA answers that carry the zone's SOA (RFC
 * 2308 5: for min(SOA TTL, SOA MINIMUM), at most the negative cap).
 * Never kept: a TTL of 0, a negative answer without SOA, a truncated or
 * malformed answer, SERVFAIL, REFUSED, timeouts and every other failure.
 * Bounds: a fixed number of entries and of answer bytes, the least
 * recently used going first.  The clock is the caller's (seconds), so the
 * unit tests can move it.
 */
#ifndef POSTERN_RESOLVER_CACHE_H
#define POSTERN_RESOLVER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define RESOLVER_CACHE_ENTRIES	4096		/* per profile */
#define RESOLVER_CACHE_BYTES	(4u << 20)	/* answer bytes per profile */
#define RESOLVER_CACHE_TTL_MAX	3600		/* s: positive answers */
#define RESOLVER_CACHE_NEG_MAX	300		/* s: NXDOMAIN, NODATA */
#define RESOLVER_CACHE_NAME_MAX	255		/* longer names: not kept */

struct resolver_cache;

struct resolver_cache_stats {
	uint64_t	hits;
	uint64_t	misses;
	uint64_t	stored;
	uint64_t	evicted;	/* for room, not for age */
	size_t		entries;
	size_t		bytes;
};

/* max_entries, max_bytes: the bounds (0: the defaults above). */
struct resolver_cache *resolver_cache_new(size_t max_entries,
	    size_t max_bytes);
void	resolver_cache_free(struct resolver_cache *c);

/*
 * How long an answer may be kept, in seconds: 0 for never.  status is
 * the c-ares status of the answer (ARES_SUCCESS, ARES_ENODATA,
 * ARES_ENOTFOUND are the only ones ever kept), abuf/alen the answer.
 * Pure.
 */
unsigned resolver_cache_ttl(int status, const unsigned char *abuf, int alen);

/* Keeps the answer (if resolver_cache_ttl() allows) from now on. */
void	resolver_cache_put(struct resolver_cache *c, int qtype,
	    const char *name, int status, const unsigned char *abuf, int alen,
	    int64_t now);
/*
 * 1 and a copy of the answer (*abuf, to free) with its status when one
 * is kept for (qtype, name) and has not expired at `now`; 0 otherwise.
 * Names compare without regard to case.
 */
int	resolver_cache_get(struct resolver_cache *c, int qtype,
	    const char *name, int64_t now, int *status, unsigned char **abuf,
	    int *alen);
void	resolver_cache_stats(const struct resolver_cache *c,
	    struct resolver_cache_stats *st);

#endif
