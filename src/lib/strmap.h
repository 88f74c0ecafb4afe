/*
 * strmap — a string-keyed hash table (chained, grows by doubling).
 *
 * Keys are copied and owned by the map; values are opaque pointers owned
 * by the caller (strmap_free can release them through a callback).  No
 * iteration order is promised.  Lookups are O(1) on average, so nothing
 * keyed by address or user ever needs a linear scan.
 */
#ifndef POSTERN_STRMAP_H
#define POSTERN_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap	*strmap_new(void);
void		 strmap_free(struct strmap *m, void (*free_value)(void *));
void		*strmap_get(const struct strmap *m, const char *key);
/* Insert or replace; returns the previous value (or NULL). */
void		*strmap_put(struct strmap *m, const char *key, void *value);
/* Insert only if absent: 0, or -1 (nothing changed) if the key is there. */
int		 strmap_add(struct strmap *m, const char *key, void *value);
/* Remove; returns the value that was there (or NULL). */
void		*strmap_del(struct strmap *m, const char *key);
size_t		 strmap_count(const struct strmap *m);
/* Call fn for every entry; fn must not change the map. */
void		 strmap_foreach(const struct strmap *m,
		    void (*fn)(const char *key, void *value, void *arg),
		    void *arg);

#endif
