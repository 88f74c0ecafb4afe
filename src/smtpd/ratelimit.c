/*
 * ratelimit — sliding-minute counters per key; see ratelimit.h.
 *
 * Entries sit in a hash table (by key) and on a list in order of last use,
 * so the stalest entry is always at the head: expiry and eviction look at
 * the head only, which keeps every call O(1) amortised however many
 * clients there are.
 */
#include "ratelimit.h"
#include "strmap.h"
#include "xmalloc.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rl_entry {
	TAILQ_ENTRY(rl_entry)	 lru;
	char			*key;
	uint64_t		 last;		/* newest slot index seen */
	uint32_t		 count[RATELIMIT_SLOTS];
};

struct ratelimit {
	struct strmap		*map;		/* key -> struct rl_entry */
	TAILQ_HEAD(, rl_entry)	 lru;		/* least recently used first */
	size_t			 max;
};

struct ratelimit *
ratelimit_new(size_t max_keys)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	rl->map = strmap_new();
	TAILQ_INIT(&rl->lru);
	rl->max = max_keys ? max_keys : RATELIMIT_KEYS_MAX;
	return rl;
}

static void
entry_del(struct ratelimit *rl, struct rl_entry *e)
{
	strmap_del(rl->map, e->key);
	TAILQ_REMOVE(&rl->lru, e, lru);
	free(e->key);
	free(e);
}

void
ratelimit_free(struct ratelimit *rl)
{
	struct rl_entry *e;

	if (rl == NULL)
		return;
	while ((e = TAILQ_FIRST(&rl->lru)) != NULL)
		entry_del(rl, e);
	strmap_free(rl->map, NULL);
	free(rl);
}

/* Every count of e is older than the window that ends in slot `slot`. */
static int
stale(const struct rl_entry *e, uint64_t slot)
{
	return slot >= e->last + RATELIMIT_SLOTS;
}

/* Zero the slots that fell out of the window, and move e->last on.  The
 * clock is monotonic, but a slot in the past is simply taken as now. */
static void
advance(struct rl_entry *e, uint64_t slot)
{
	uint64_t i;

	if (slot <= e->last)
		return;
	if (stale(e, slot))
		memset(e->count, 0, sizeof(e->count));
	else
		for (i = e->last + 1; i <= slot; i++)
			e->count[i % RATELIMIT_SLOTS] = 0;
	e->last = slot;
}

static uint64_t
window_sum(const struct rl_entry *e)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < RATELIMIT_SLOTS; i++)
		sum += e->count[i];
	return sum;
}

/* Drop entries whose every event has aged out (they sit at the head). */
static void
expire(struct ratelimit *rl, uint64_t slot)
{
	struct rl_entry *e;

	while ((e = TAILQ_FIRST(&rl->lru)) != NULL && stale(e, slot))
		entry_del(rl, e);
}

int
ratelimit_hit(struct ratelimit *rl, const char *key, unsigned limit,
    uint64_t now)
{
	uint64_t slot = now / RATELIMIT_SLOT_SECS;
	struct rl_entry *e;

	if (limit == 0)
		return 1;
	expire(rl, slot);
	if ((e = strmap_get(rl->map, key)) == NULL) {
		if (strmap_count(rl->map) >= rl->max)
			entry_del(rl, TAILQ_FIRST(&rl->lru));
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->last = slot;
		strmap_put(rl->map, key, e);
	} else {
		TAILQ_REMOVE(&rl->lru, e, lru);
		advance(e, slot);
	}
	TAILQ_INSERT_TAIL(&rl->lru, e, lru);
	if (window_sum(e) >= limit)
		return 0;
	e->count[e->last % RATELIMIT_SLOTS]++;
	return 1;
}

unsigned
ratelimit_count(struct ratelimit *rl, const char *key, uint64_t now)
{
	uint64_t slot = now / RATELIMIT_SLOT_SECS;
	struct rl_entry *e;

	if ((e = strmap_get(rl->map, key)) == NULL)
		return 0;
	advance(e, slot);
	return (unsigned)window_sum(e);
}

size_t
ratelimit_keys(const struct ratelimit *rl)
{
	return strmap_count(rl->map);
}

uint64_t
ratelimit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}
