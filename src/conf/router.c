/*
 * router — connector choice by address space, cost and name; see router.h.
 */
#include "router.h"
#include "conf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

const struct conf_dnslist *
router_connector_dns(const struct conf *c, const struct conf_connector *conn)
{
	if (conn->dns)
		return conn->dns;
	if (conn->home && conn->home->external_dns)
		return conn->home->external_dns;
	return c->dnslists[0];
}

int
router_parse_host(const char *text, int defport, char *name, size_t namelen,
    int *port, int *bracketed)
{
	const char *end, *colon;
	size_t len;
	char *e;
	long p;

	*bracketed = text[0] == '[';
	if (*bracketed) {
		if ((end = strchr(text, ']')) == NULL)
			return -1;
		len = (size_t)(end - text - 1);
		text++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (!colon && end[1] != '\0')
			return -1;
		if (len > 5 && strncasecmp(text, "IPv6:", 5) == 0) {
			text += 5;
			len -= 5;
		}
	} else {
		colon = strchr(text, ':');
		len = colon ? (size_t)(colon - text) : strlen(text);
	}
	if (len == 0 || len >= namelen)
		return -1;
	memcpy(name, text, len);
	name[len] = '\0';
	*port = defport;
	if (colon) {
		p = strtol(colon + 1, &e, 10);
		if (*e != '\0' || p < 1 || p > 65535)
			return -1;
		*port = (int)p;
	}
	return 0;
}
