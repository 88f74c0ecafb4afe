/*
 * directory_cache — the answer cache in front of a directory backend
 * (postern.conf(5), `directory ldap`: "A cached answer is used until it expires, also while
 * the directory is down").  Private to directory.c and its tests.
 *
 * FOUND and NOTFOUND answers are kept per key for a fixed lifetime; a
 * TEMPFAIL is never kept.  Questions for a key already being asked join
 * the lookup in flight instead of asking the backend again.  The cache is
 * bounded (DIRECTORY_CACHE_MAX answers, DIRECTORY_CACHE_BYTES_MAX bytes):
 * past either bound the oldest answer goes first.  Loop thread only.
 */
#ifndef POSTERN_DIRECTORY_CACHE_H
#define POSTERN_DIRECTORY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "directory_backend.h"

struct dir_cache;

struct dir_cache_stats {
	uint64_t	hits;		/* answered from the cache */
	uint64_t	joined;		/* joined a lookup in flight */
	uint64_t	misses;		/* asked the backend */
	size_t		entries;
	size_t		bytes;
};

struct dir_cache *directory_cache_new(unsigned ttl_seconds);
/* No lookup may be in flight (the directory holds a reference for each). */
void	directory_cache_free(struct dir_cache *c);
/*
 * Answer key through the cache, or ask d's backend.  cb runs exactly once,
 * possibly before this returns; the entry it gets is valid during the call.
 */
void	directory_cache_lookup(struct dir_cache *c, struct directory *d,
	    const char *key, dir_entry_cb cb, void *arg);
void	directory_cache_stats(const struct dir_cache *c,
	    struct dir_cache_stats *st);

#endif
