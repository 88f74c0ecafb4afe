/*
 * ratelimit — "at most N events per key in any minute" (filter
 * `rate-limit N/m`, postern.conf(5)), over an explicit clock.
 *
 * Pure: the caller passes the time (seconds on a monotonic clock), so the
 * tests step time by hand.  Each key keeps RATELIMIT_SLOTS counters of
 * RATELIMIT_SLOT_SECS seconds, 13 * 5 s: the sum covers at least the last
 * 60 s, so no key ever gets more than N events in any 60-second window
 * (the price is that an event may be remembered up to 5 s longer).  A key
 * costs about 100 bytes whatever N is.  At most RATELIMIT_KEYS_MAX keys are
 * kept: past that the least recently seen key is forgotten, which can only
 * let that client through (fail open), never refuse anyone wrongly.
 *
 * One table per event loop; not thread-safe.  Keys are the caller's: the
 * session counts "VSERVER CLIENT", CLIENT from netaddr_limit_key() (an
 * IPv6 client is its /64).
 */
#ifndef POSTERN_RATELIMIT_H
#define POSTERN_RATELIMIT_H

#include "postern_limits.h"

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_WINDOW_SECS	60
#define RATELIMIT_SLOT_SECS	5
#define RATELIMIT_SLOTS		(RATELIMIT_WINDOW_SECS / RATELIMIT_SLOT_SECS + 1)

struct ratelimit;

struct ratelimit *ratelimit_new(size_t max_keys);	/* 0: the default */
void	ratelimit_free(struct ratelimit *rl);

/*
 * One event for key at time `now`: 1 if fewer than `limit` events were
 * counted in the last minute (this one is then counted), 0 if not (a
 * refused event is not counted, so a client that keeps trying gets back
 * in once its old events age out).  limit 0 always allows.
 */
int	ratelimit_hit(struct ratelimit *rl, const char *key, unsigned limit,
	    uint64_t now);
/* Events counted for key in the current window (for tests and traces). */
unsigned ratelimit_count(struct ratelimit *rl, const char *key,
	    uint64_t now);
/* Keys held now. */
size_t	ratelimit_keys(const struct ratelimit *rl);
/* Seconds on CLOCK_MONOTONIC: the clock the daemon passes. */
uint64_t ratelimit_now(void);

#endif
