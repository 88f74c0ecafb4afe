/*
 * router — where a recipient's mail goes next (docs/delivery.md).
 *
 * Pure functions over a configuration snapshot: no I/O, no DNS.  The same
 * functions serve live sessions, delivery and (later) `posternctl trace`,
 * so what trace says is what a session does.
 */
#ifndef POSTERN_ROUTER_H
#define POSTERN_ROUTER_H

#include <stddef.h>

struct conf;
struct conf_connector;
struct conf_addrspace;

/*
 * Does the address-space pattern match the (lowercase) domain?  Returns
 * the specificity of the match (the length of its domain part; 0 for "*"),
 * or -1 for no match.
 */
int	router_space_match(const char *pattern, const char *domain);

/*
 * The connectors that match `domain`, best first: most specific address
 * space, then lowest cost, then connector name.  Fills up to `max` entries
 * of out and returns how many matched (may exceed max).  Address literals
 * ("[...]") match no connector.
 */
size_t	router_connectors(const struct conf *c, const char *domain,
	    const struct conf_connector **out, size_t max);

/* Is `domain` in an address space marked `relay` (a partner domain)? */
int	router_is_relay_domain(const struct conf *c, const char *domain);


struct conf_dnslist;

/*
 * The resolver profile for deliveries through a connector (postern.conf(5)): its
 * own `dns`, else its home server's `external-dns`, else the top-level
 * (internal) list.
 */
const struct conf_dnslist *router_connector_dns(const struct conf *c,
	    const struct conf_connector *conn);

/*
 * Split a next-hop host as the directory and `smarthost` write it:
 * "name", "name:port", "[name]", "[10.0.0.32]:25", "[IPv6:...]" forms.
 * *bracketed says whether it was in brackets (no MX lookup).  0 or -1.
 */
int	router_parse_host(const char *text, int defport, char *name,
	    size_t namelen, int *port, int *bracketed);

#define ROUTER_KEY_MAX	600

#endif
