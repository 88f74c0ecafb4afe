/*
 * router — connector choice by address space, cost and name; see router.h.
 */
#include "router.h"
#include "conf.h"

#include <stdlib.h>
#include <string.h>

int
router_space_match(const char *pattern, const char *domain)
{
	size_t plen, dlen;

	if (domain[0] == '[')
		return -1;
	if (strcmp(pattern, "*") == 0)
		return 0;
	dlen = strlen(domain);
	if (pattern[0] == '*' && pattern[1] == '.') {
		/* "*.example.com" matches strict subdomains only. */
		plen = strlen(pattern + 1);	/* ".example.com" */
		if (dlen <= plen ||
		    strcmp(domain + dlen - plen, pattern + 1) != 0)
			return -1;
		return (int)plen - 1;
	}
	return strcmp(pattern, domain) == 0 ? (int)dlen : -1;
}

struct match {
	const struct conf_connector	*conn;
	int				 spec;
	unsigned			 cost;
};

static int
match_cmp(const void *a, const void *b)
{
	const struct match *x = a, *y = b;

	if (x->spec != y->spec)
		return x->spec > y->spec ? -1 : 1;
	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return strcmp(x->conn->name, y->conn->name);
}

size_t
router_connectors(const struct conf *c, const char *domain,
    const struct conf_connector **out, size_t max)
{
	struct match *m;
	size_t n = 0;

	if (c->nconnectors == 0)
		return 0;
	m = calloc(c->nconnectors, sizeof(*m));
	if (m == NULL)
		return 0;
	for (size_t i = 0; i < c->nconnectors; i++) {
		const struct conf_connector *cn = c->connectors[i];
		int best = -1;
		unsigned cost = 0;

		/* A connector's best-matching space stands for it. */
		for (size_t j = 0; j < cn->nspaces; j++) {
			int s = router_space_match(cn->spaces[j].pattern,
			    domain);
			if (s < 0)
				continue;
			if (s > best || (s == best &&
			    cn->spaces[j].cost < cost)) {
				best = s;
				cost = cn->spaces[j].cost;
			}
		}
		if (best >= 0) {
			m[n].conn = cn;
			m[n].spec = best;
			m[n].cost = cost;
			n++;
		}
	}
	qsort(m, n, sizeof(*m), match_cmp);
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = m[i].conn;
	free(m);
	return n;
}

int
router_is_relay_domain(const struct conf *c, const char *domain)
{
	for (size_t i = 0; i < c->nconnectors; i++) {
		const struct conf_connector *cn = c->connectors[i];

		for (size_t j = 0; j < cn->nspaces; j++)
			if (cn->spaces[j].relay &&
			    router_space_match(cn->spaces[j].pattern,
			    domain) >= 0)
				return 1;
	}
	return 0;
}
