/*
 * strmap — see strmap.h.  FNV-1a hashing, chains, load factor <= 1.
 */
#include "strmap.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct strmap_node {
	struct strmap_node	*next;
	uint64_t		 hash;
	void			*value;
	char			 key[];
};

struct strmap {
	struct strmap_node	**b;
	size_t			  nb;
	size_t			  count;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	m->nb = 64;
	m->b = xcalloc(m->nb, sizeof(*m->b));
	return m;
}

void
strmap_free(struct strmap *m, void (*free_value)(void *))
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nb; i++) {
		struct strmap_node *n = m->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			if (free_value)
				free_value(n->value);
			free(n);
		}
	}
	free(m->b);
	free(m);
}

static struct strmap_node **
find(const struct strmap *m, const char *key, uint64_t h)
{
	struct strmap_node **pp = &m->b[h & (m->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_node **pp = find(m, key, hash_str(key));

	return *pp ? (*pp)->value : NULL;
}

static void
grow(struct strmap *m)
{
	size_t nb = m->nb * 2;
	struct strmap_node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nb; i++) {
		struct strmap_node *n = m->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void *
strmap_put(struct strmap *m, const char *key, void *value)
{
	uint64_t h = hash_str(key);
	struct strmap_node **pp = find(m, key, h), *n;
	size_t klen;
	void *old;

	if (*pp) {
		old = (*pp)->value;
		(*pp)->value = value;
		return old;
	}
	klen = strlen(key);
	n = xmalloc(sizeof(*n) + klen + 1);
	memcpy(n->key, key, klen + 1);
	n->hash = h;
	n->value = value;
	n->next = NULL;
	*pp = n;
	if (++m->count > m->nb)
		grow(m);
	return NULL;
}

int
strmap_add(struct strmap *m, const char *key, void *value)
{
	if (*find(m, key, hash_str(key)) != NULL)
		return -1;
	strmap_put(m, key, value);
	return 0;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_node **pp = find(m, key, hash_str(key)), *n;
	void *v;

	if ((n = *pp) == NULL)
		return NULL;
	*pp = n->next;
	v = n->value;
	free(n);
	m->count--;
	return v;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

void
strmap_foreach(const struct strmap *m,
    void (*fn)(const char *key, void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct strmap_node *n = m->b[i]; n; n = n->next)
			fn(n->key, n->value, arg);
}
