/*
 * greylist — triplets and auto-allowed clients; see greylist.h.
 *
 * Entries (a triplet, "T" + key, or an allowed client, "A" + key) sit in
 * a hash table and on a list in order of last use, so the least recently
 * seen is at the head: eviction takes the head, and expired entries are
 * dropped from the head as long as it is expired (an entry further on
 * is dropped when it is next looked up), which keeps every call O(1)
 * amortised however many clients there are.
 */
#include "greylist.h"
#include "netaddr.h"
#include "strmap.h"
#include "xmalloc.h"

#include <sys/queue.h>

#include <netinet/in.h>
#include <openssl/evp.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gl_entry {
	TAILQ_ENTRY(gl_entry)	 lru;
	char			*key;
	uint64_t		 first;		/* triplet: first seen */
	uint64_t		 expires;	/* forgotten at */
	int			 passed;	/* triplet: passed once */
};

struct greylist {
	struct strmap		*map;		/* key -> struct gl_entry */
	TAILQ_HEAD(, gl_entry)	 lru;		/* least recently used first */
	size_t			 max;
};

const char *
greylist_net(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const uint8_t *a;

	if (sa->sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		a = s6->sin6_addr.s6_addr;
		snprintf(buf, len, "%x:%x:%x:%x::/64", a[0] << 8 | a[1],
		    a[2] << 8 | a[3], a[4] << 8 | a[5], a[6] << 8 | a[7]);
		return buf;
	}
	a = sa->sa_family == AF_INET6 ? s6->sin6_addr.s6_addr + 12 :
	    (const uint8_t *)&s4->sin_addr;
	snprintf(buf, len, "%u.%u.%u.0/24", a[0], a[1], a[2]);
	return buf;
}

/* The first 16 bytes of SHA-256(lower(sender) NUL lower(rcpt)), in hex. */
static void
pair_hash(const char *sender, const char *rcpt, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *parts[2] = { sender, rcpt };
	unsigned char c;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto fail;
	for (int i = 0; i < 2; i++) {
		for (const char *p = parts[i]; *p; p++) {
			c = (unsigned char)tolower((unsigned char)*p);
			EVP_DigestUpdate(ctx, &c, 1);
		}
		c = 0;
		EVP_DigestUpdate(ctx, &c, 1);
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16)
		goto fail;
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return;
 fail:
	/* Cannot happen short of memory: one triplet for all then, which
	 * only lets mail through sooner. */
	EVP_MD_CTX_free(ctx);
	snprintf(out, 33, "%032d", 0);
}

void
greylist_key(struct greylist_key *k, const char *vsname,
    const struct sockaddr *client, const char *sender, const char *rcpt)
{
	char net[NETADDR_STRLEN], hash[33];

	greylist_net(client, net, sizeof(net));
	pair_hash(sender, rcpt, hash);
	/* A virtual server's name is a short word (conf_val_name). */
	snprintf(k->client, sizeof(k->client), "%.64s:%.64s", vsname, net);
	snprintf(k->triplet, sizeof(k->triplet), "%.150s:%.32s", k->client,
	    hash);
}

struct greylist *
greylist_new(size_t max_keys)
{
	struct greylist *gl = xcalloc(1, sizeof(*gl));

	gl->map = strmap_new();
	TAILQ_INIT(&gl->lru);
	gl->max = max_keys ? max_keys : GREYLIST_KEYS_MAX;
	return gl;
}

static void
entry_del(struct greylist *gl, struct gl_entry *e)
{
	strmap_del(gl->map, e->key);
	TAILQ_REMOVE(&gl->lru, e, lru);
	free(e->key);
	free(e);
}

void
greylist_free(struct greylist *gl)
{
	struct gl_entry *e;

	if (gl == NULL)
		return;
	while ((e = TAILQ_FIRST(&gl->lru)) != NULL)
		entry_del(gl, e);
	strmap_free(gl->map, NULL);
	free(gl);
}

/* The live entry of key, or NULL (an expired one is dropped). */
static struct gl_entry *
lookup(struct greylist *gl, const char *key, uint64_t now)
{
	struct gl_entry *e;

	while ((e = TAILQ_FIRST(&gl->lru)) != NULL && e->expires <= now)
		entry_del(gl, e);
	if ((e = strmap_get(gl->map, key)) != NULL && e->expires <= now) {
		entry_del(gl, e);
		e = NULL;
	}
	return e;
}

/* Most recently used from now on. */
static void
touch(struct greylist *gl, struct gl_entry *e)
{
	TAILQ_REMOVE(&gl->lru, e, lru);
	TAILQ_INSERT_TAIL(&gl->lru, e, lru);
}

static struct gl_entry *
entry_add(struct greylist *gl, const char *key)
{
	struct gl_entry *e;

	if (strmap_count(gl->map) >= gl->max)
		entry_del(gl, TAILQ_FIRST(&gl->lru));
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	strmap_put(gl->map, key, e);
	TAILQ_INSERT_TAIL(&gl->lru, e, lru);
	return e;
}

enum greylist_verdict
greylist_check(struct greylist *gl, const struct greylist_key *k,
    unsigned delay_s, unsigned allow_s, uint64_t now, int record)
{
	char ckey[GREYLIST_KEY_MAX + 1], tkey[GREYLIST_KEY_MAX + 1];
	struct gl_entry *c, *t;

	snprintf(ckey, sizeof(ckey), "A%s", k->client);
	snprintf(tkey, sizeof(tkey), "T%s", k->triplet);
	c = lookup(gl, ckey, now);
	t = lookup(gl, tkey, now);
	if (c != NULL || (t != NULL && t->passed)) {
		if (record && t != NULL)
			touch(gl, t);
		if (record && c != NULL)
			touch(gl, c);
		return GREYLIST_KNOWN;
	}
	if (t == NULL) {
		if (record) {
			t = entry_add(gl, tkey);
			t->first = now;
			t->expires = now + delay_s + GREYLIST_RETRY_SECS;
		}
		return GREYLIST_NEW;
	}
	if (now - t->first < delay_s) {
		if (record)
			touch(gl, t);
		return GREYLIST_EARLY;
	}
	if (record) {
		t->passed = 1;
		t->expires = now + GREYLIST_PASS_SECS;
		touch(gl, t);
		if (allow_s > 0) {
			c = entry_add(gl, ckey);
			c->expires = now + allow_s;
		}
	}
	return GREYLIST_PASS;
}

enum greylist_verdict
greylist_decide(int allowed, long long age, unsigned delay_s)
{
	if (allowed)
		return GREYLIST_KNOWN;
	if (age <= 0)
		return GREYLIST_NEW;
	return age < (long long)delay_s ? GREYLIST_EARLY : GREYLIST_PASS;
}

size_t
greylist_keys(const struct greylist *gl)
{
	return strmap_count(gl->map);
}
