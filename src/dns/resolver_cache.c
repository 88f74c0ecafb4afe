/*
 * resolver_cache — the bounded answer cache of one resolver profile
 * (resolver_cache.h): a hash table of (type, name) over entries that
 * also sit on a list from most to least recently used.  The TTL of an
 * answer is read from the answer itself by a small walk over its
 * sections; anything that does not walk cleanly is not kept.
 */
#include <sys/queue.h>

#include <arpa/nameser.h>

#include <ares.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resolver_cache.h"
#include "xmalloc.h"

struct centry {
	LIST_ENTRY(centry)	 bucket;
	TAILQ_ENTRY(centry)	 lru;
	uint32_t		 hash;
	int			 qtype;
	int			 status;
	int64_t			 expires;	/* gone at this second */
	unsigned char		*abuf;
	int			 alen;
	size_t			 size;		/* what it holds, counted */
	char			 name[];
};

LIST_HEAD(cbucket, centry);

struct resolver_cache {
	struct cbucket		*buckets;
	size_t			 nbuckets;	/* a power of two */
	TAILQ_HEAD(centry_lru, centry) lru;	/* most recent first */
	size_t			 max_entries;
	size_t			 max_bytes;
	struct resolver_cache_stats st;
};

/* ---- the TTL of an answer ---- */

static unsigned
rd16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Past the name at *off (labels, ending in the root or a pointer). */
static int
skip_name(const unsigned char *b, int len, int *off)
{
	int o = *off;

	for (;;) {
		if (o >= len)
			return -1;
		if (b[o] == 0) {
			o++;
			break;
		}
		if ((b[o] & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -1;
			o += 2;
			break;
		}
		if ((b[o] & 0xc0) != 0)
			return -1;
		o += 1 + b[o];
	}
	*off = o;
	return 0;
}

/* RFC 2181 8: a TTL with the top bit set counts as 0. */
static uint32_t
ttl_value(uint32_t t)
{
	return t & 0x80000000u ? 0 : t;
}

unsigned
resolver_cache_ttl(int status, const unsigned char *b, int len)
{
	unsigned flags, rcode, qd, an, ns, i, type, rdlen;
	uint32_t ttl = UINT32_MAX, t;
	int off = 12, neg, soa = 0;

	if (b == NULL || len < 12)
		return 0;
	flags = rd16(b + 2);
	rcode = flags & 0xf;
	if (!(flags & 0x8000) || (flags & 0x0200))	/* QR, TC */
		return 0;
	qd = rd16(b + 4);
	an = rd16(b + 6);
	ns = rd16(b + 8);
	if (status == ARES_SUCCESS && rcode == ns_r_noerror && an > 0)
		neg = 0;
	else if ((status == ARES_ENODATA && rcode == ns_r_noerror &&
	    an == 0) || (status == ARES_ENOTFOUND && rcode == ns_r_nxdomain))
		neg = 1;
	else
		return 0;
	if (qd != 1)
		return 0;
	if (skip_name(b, len, &off) == -1 || off + 4 > len)
		return 0;
	off += 4;
	for (i = 0; i < an + ns; i++) {
		if (skip_name(b, len, &off) == -1 || off + 10 > len)
			return 0;
		type = rd16(b + off);
		t = ttl_value(rd32(b + off + 4));
		rdlen = rd16(b + off + 8);
		off += 10;
		if (off + (int)rdlen > len)
			return 0;
		if (i < an) {
			if (!neg && t < ttl)
				ttl = t;
		} else if (neg && type == ns_t_soa && rdlen >= 22) {
			/* RFC 2308 5: the SOA's TTL or its MINIMUM,
			 * whichever is smaller */
			uint32_t min = ttl_value(rd32(b + off + rdlen - 4));

			if (t < ttl)
				ttl = t;
			if (min < ttl)
				ttl = min;
			soa = 1;
		}
		off += (int)rdlen;
	}
	if (neg && !soa)
		return 0;		/* RFC 2308 5: no SOA, not cached */
	if (neg && ttl > RESOLVER_CACHE_NEG_MAX)
		ttl = RESOLVER_CACHE_NEG_MAX;
	if (!neg && ttl > RESOLVER_CACHE_TTL_MAX)
		ttl = RESOLVER_CACHE_TTL_MAX;
	return (unsigned)ttl;
}

/* ---- the table ---- */

static uint32_t
key_hash(int qtype, const char *name)
{
	uint32_t h = 2166136261u ^ (uint32_t)qtype;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		unsigned char ch = *p;

		if (ch >= 'A' && ch <= 'Z')
			ch += 32;
		h = (h ^ ch) * 16777619u;
	}
	return h;
}

struct resolver_cache *
resolver_cache_new(size_t max_entries, size_t max_bytes)
{
	struct resolver_cache *c = xcalloc(1, sizeof(*c));
	size_t i;

	c->max_entries = max_entries ? max_entries : RESOLVER_CACHE_ENTRIES;
	c->max_bytes = max_bytes ? max_bytes : RESOLVER_CACHE_BYTES;
	c->nbuckets = 16;
	while (c->nbuckets < c->max_entries && c->nbuckets < 65536)
		c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	for (i = 0; i < c->nbuckets; i++)
		LIST_INIT(&c->buckets[i]);
	TAILQ_INIT(&c->lru);
	return c;
}

static void
drop(struct resolver_cache *c, struct centry *e)
{
	LIST_REMOVE(e, bucket);
	TAILQ_REMOVE(&c->lru, e, lru);
	c->st.entries--;
	c->st.bytes -= e->size;
	free(e->abuf);
	free(e);
}

void
resolver_cache_free(struct resolver_cache *c)
{
	struct centry *e;

	if (c == NULL)
		return;
	while ((e = TAILQ_FIRST(&c->lru)) != NULL)
		drop(c, e);
	free(c->buckets);
	free(c);
}

static struct centry *
find(struct resolver_cache *c, int qtype, const char *name, uint32_t h)
{
	struct centry *e;

	LIST_FOREACH(e, &c->buckets[h & (c->nbuckets - 1)], bucket)
		if (e->hash == h && e->qtype == qtype &&
		    strcasecmp(e->name, name) == 0)
			return e;
	return NULL;
}

void
resolver_cache_put(struct resolver_cache *c, int qtype, const char *name,
    int status, const unsigned char *abuf, int alen, int64_t now)
{
	unsigned ttl = resolver_cache_ttl(status, abuf, alen);
	size_t nlen = strlen(name), size;
	uint32_t h = key_hash(qtype, name);
	struct centry *e;

	if (ttl == 0 || nlen > RESOLVER_CACHE_NAME_MAX)
		return;
	size = sizeof(*e) + nlen + 1 + (size_t)alen;
	if (size > c->max_bytes)
		return;
	if ((e = find(c, qtype, name, h)) != NULL)
		drop(c, e);
	while (c->st.entries > 0 && (c->st.entries >= c->max_entries ||
	    c->st.bytes + size > c->max_bytes)) {
		drop(c, TAILQ_LAST(&c->lru, centry_lru));
		c->st.evicted++;
	}
	e = xmalloc(sizeof(*e) + nlen + 1);
	memcpy(e->name, name, nlen + 1);
	e->hash = h;
	e->qtype = qtype;
	e->status = status;
	e->expires = now + ttl;
	e->abuf = xmalloc((size_t)alen);
	memcpy(e->abuf, abuf, (size_t)alen);
	e->alen = alen;
	e->size = size;
	LIST_INSERT_HEAD(&c->buckets[h & (c->nbuckets - 1)], e, bucket);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	c->st.entries++;
	c->st.bytes += size;
	c->st.stored++;
}

int
resolver_cache_get(struct resolver_cache *c, int qtype, const char *name,
    int64_t now, int *status, unsigned char **abuf, int *alen)
{
	struct centry *e = find(c, qtype, name, key_hash(qtype, name));

	if (e != NULL && now >= e->expires) {
		drop(c, e);
		e = NULL;
	}
	if (e == NULL) {
		c->st.misses++;
		return 0;
	}
	TAILQ_REMOVE(&c->lru, e, lru);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	*status = e->status;
	*abuf = xmalloc((size_t)e->alen);
	memcpy(*abuf, e->abuf, (size_t)e->alen);
	*alen = e->alen;
	c->st.hits++;
	return 1;
}

void
resolver_cache_stats(const struct resolver_cache *c,
    struct resolver_cache_stats *st)
{
	*st = c->st;
}
