/*
 * directory_cache — see directory_cache.h.
 *
 * Every answer lives as long as every other (one lifetime per cache), so
 * the order of insertion is also the order of expiry: one list, oldest
 * first, serves both expiry (drop from the head while expired) and the
 * bounds (drop from the head while over).  An answer being handed to a
 * caller is pinned by a reference, so that nothing the caller does (such
 * as a lookup that evicts) frees it under the caller's feet.
 */
#include "directory_cache.h"
#include "strmap.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "postern_limits.h"
#include "xmalloc.h"

struct centry {
	TAILQ_ENTRY(centry)	 age;
	char			*key;
	int			 refs;	/* the cache's, and pins */
	enum dir_status		 st;	/* FOUND or NOTFOUND */
	struct dir_entry	 e;	/* FOUND: points into below */
	char			*host;
	char			**members;
	uint64_t		 expires;	/* monotonic ms */
	size_t			 bytes;
};

TAILQ_HEAD(centries, centry);

struct waiter {
	struct waiter	*next;
	dir_entry_cb	 cb;
	void		*arg;
};

struct flight {
	struct dir_cache	*c;
	char			*key;
	struct waiter		*head, **tail;
};

struct dir_cache {
	uint64_t		 ttl_ms;
	struct strmap		*entries;	/* key -> struct centry */
	struct strmap		*flights;	/* key -> struct flight */
	struct centries		 ages;		/* oldest first */
	size_t			 bytes;
	struct dir_cache_stats	 st;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct dir_cache *
directory_cache_new(unsigned ttl_seconds)
{
	struct dir_cache *c = xcalloc(1, sizeof(*c));

	c->ttl_ms = (uint64_t)ttl_seconds * 1000;
	c->entries = strmap_new();
	c->flights = strmap_new();
	TAILQ_INIT(&c->ages);
	return c;
}

static void
centry_unref(struct centry *ce)
{
	if (--ce->refs > 0)
		return;
	for (size_t i = 0; i < ce->e.nmembers; i++)
		free(ce->members[i]);
	free(ce->members);
	free(ce->host);
	free(ce->key);
	free(ce);
}

static void
evict(struct dir_cache *c, struct centry *ce)
{
	TAILQ_REMOVE(&c->ages, ce, age);
	strmap_del(c->entries, ce->key);
	c->bytes -= ce->bytes;
	centry_unref(ce);
}

static void
expire(struct dir_cache *c, uint64_t now)
{
	struct centry *ce;

	while ((ce = TAILQ_FIRST(&c->ages)) != NULL && ce->expires <= now)
		evict(c, ce);
}

static void
store(struct dir_cache *c, const char *key, enum dir_status st,
    const struct dir_entry *e)
{
	struct centry *ce, *old;
	size_t i;

	ce = xcalloc(1, sizeof(*ce));
	ce->key = xstrdup(key);
	ce->refs = 1;
	ce->st = st;
	ce->bytes = sizeof(*ce) + strlen(key) + 1;
	if (st == DIR_FOUND) {
		ce->e.kind = e->kind;
		if (e->host != NULL) {
			ce->host = xstrdup(e->host);
			ce->bytes += strlen(e->host) + 1;
		}
		if (e->nmembers > 0) {
			ce->members = xcalloc(e->nmembers,
			    sizeof(*ce->members));
			for (i = 0; i < e->nmembers; i++) {
				ce->members[i] = xstrdup(e->members[i]);
				ce->bytes += strlen(e->members[i]) + 1 +
				    sizeof(char *);
			}
		}
		ce->e.host = ce->host;
		ce->e.members = (const char *const *)ce->members;
		ce->e.nmembers = e->nmembers;
	}
	ce->expires = now_ms() + c->ttl_ms;
	if ((old = strmap_get(c->entries, key)) != NULL)
		evict(c, old);
	while ((old = TAILQ_FIRST(&c->ages)) != NULL &&
	    (strmap_count(c->entries) >= DIRECTORY_CACHE_MAX ||
	    c->bytes + ce->bytes > DIRECTORY_CACHE_BYTES_MAX))
		evict(c, old);
	if (ce->bytes > DIRECTORY_CACHE_BYTES_MAX) {
		centry_unref(ce);	/* one huge list: not kept */
		return;
	}
	strmap_add(c->entries, key, ce);
	TAILQ_INSERT_TAIL(&c->ages, ce, age);
	c->bytes += ce->bytes;
}

static void
flight_answer(void *arg, enum dir_status st, const struct dir_entry *e)
{
	struct flight *f = arg;
	struct dir_cache *c = f->c;
	struct waiter *w, *next;

	/* Out of the map first: a caller that asks again gets the answer
	 * stored below, or a new lookup. */
	strmap_del(c->flights, f->key);
	if (st == DIR_NOTFOUND || (st == DIR_FOUND && e != NULL))
		store(c, f->key, st, e);
	/* c is not touched again: a caller may end the directory. */
	for (w = f->head; w != NULL; w = next) {
		next = w->next;
		w->cb(w->arg, st, e);
		free(w);
	}
	free(f->key);
	free(f);
}

void
directory_cache_lookup(struct dir_cache *c, struct directory *d,
    const char *key, dir_entry_cb cb, void *arg)
{
	struct centry *ce;
	struct flight *f;
	struct waiter *w;

	expire(c, now_ms());
	if ((ce = strmap_get(c->entries, key)) != NULL) {
		c->st.hits++;
		log_debug("directory: cache answers %s", key);
		ce->refs++;
		cb(arg, ce->st, ce->st == DIR_FOUND ? &ce->e : NULL);
		centry_unref(ce);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	if ((f = strmap_get(c->flights, key)) != NULL) {
		c->st.joined++;
		*f->tail = w;
		f->tail = &w->next;
		return;
	}
	c->st.misses++;
	f = xcalloc(1, sizeof(*f));
	f->c = c;
	f->key = xstrdup(key);
	f->head = w;
	f->tail = &w->next;
	strmap_add(c->flights, key, f);
	/* May answer before it returns: f belongs to flight_answer now. */
	d->backend->lookup(d, f->key, flight_answer, f);
}

void
directory_cache_stats(const struct dir_cache *c, struct dir_cache_stats *st)
{
	*st = c->st;
	st->entries = strmap_count(c->entries);
	st->bytes = c->bytes;
}

static void
flight_drop(void *p)
{
	struct flight *f = p;
	struct waiter *w, *next;

	log_warnx("directory: cache freed with a lookup of %s in flight",
	    f->key);
	for (w = f->head; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	free(f->key);
	free(f);
}

void
directory_cache_free(struct dir_cache *c)
{
	struct centry *ce;

	if (c == NULL)
		return;
	while ((ce = TAILQ_FIRST(&c->ages)) != NULL)
		evict(c, ce);
	strmap_free(c->entries, NULL);
	strmap_free(c->flights, flight_drop);
	free(c);
}
