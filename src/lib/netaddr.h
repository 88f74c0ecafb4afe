/*
 * netaddr — IP addresses, listen addresses and CIDR blocks.
 *
 * Pure functions: parsing of the forms the configuration uses
 * (`IPv4`, `IPv4:port`, `[IPv6]:port`, `[IPv6]`, `CIDR`) and matching a
 * peer address against CIDR blocks.  IPv4-mapped IPv6 peers
 * (::ffff:a.b.c.d) match IPv4 blocks, and IPv4 peers match blocks written
 * in that form (::ffff:10.0.0.0/104), so a dual-stack listener and an IPv4
 * one apply the same rules.  netaddr_limit_key() names the client that
 * per-client limits count (docs/filtering.md).
 */
#ifndef POSTERN_NETADDR_H
#define POSTERN_NETADDR_H

#include <stdint.h>
#include <sys/socket.h>

#define NETADDR_STRLEN 64	/* "[ipv6]:port" text, with room to spare */

struct cidr {
	int	family;		/* AF_INET or AF_INET6 */
	uint8_t	addr[16];	/* network byte order; IPv4 in the first 4 */
	int	prefix;		/* 0..32 or 0..128 */
};

/* "10.0.0.0/8", "::1/128", or a bare address (host prefix).  0 or -1. */
int	netaddr_parse_cidr(const char *s, struct cidr *out);
/* Do the first `bits` bits of a and b agree (network byte order)? */
int	netaddr_prefix_match(const uint8_t *a, const uint8_t *b, int bits);
/* Does the peer address lie within the block? */
int	netaddr_cidr_match(const struct cidr *c, const struct sockaddr *sa);
int	netaddr_cidr_match_any(const struct cidr *c, size_t n,
	    const struct sockaddr *sa);

/*
 * "1.2.3.4", "1.2.3.4:25", "[::1]:25", "[::1]" into a sockaddr;
 * defport is used when no port is given.  0 or -1.
 */
int	netaddr_parse_hostport(const char *s, int defport,
	    struct sockaddr_storage *ss, socklen_t *len);
/* A bare numeric IPv4 or IPv6 address (no port, no brackets), port 0.
 * 0 or -1. */
int	netaddr_parse_ip(const char *s, struct sockaddr_storage *ss);
/* Numeric IP text of a peer (no port), into buf of NETADDR_STRLEN. */
const char *netaddr_ntop(const struct sockaddr *sa, char *buf, size_t len);
/* "1.2.3.4:25" / "[::1]:25". */
const char *netaddr_ntop_port(const struct sockaddr *sa, char *buf,
	    size_t len);
int	netaddr_port(const struct sockaddr *sa);
/*
 * The client a per-client limit counts a peer as (docs/filtering.md): an IPv4
 * address is itself ("192.0.2.7"), an IPv6 address its /64, printed
 * canonically ("2001:db8:1:2::/64"), since a site or a subscriber is
 * given a whole /64 and may use any address in it.  An IPv4-mapped IPv6
 * peer (::ffff:192.0.2.7, a dual-stack listener) is its IPv4 address.
 * Into buf of NETADDR_STRLEN; every per-client counter keys on this.
 */
const char *netaddr_limit_key(const struct sockaddr *sa, char *buf,
	    size_t len);
/* Same address and port? */
int	netaddr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
