/*
 * netaddr — address parsing and CIDR matching; see netaddr.h.
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_port(const char *s, int *port)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
netaddr_parse_cidr(const char *s, struct cidr *out)
{
	char tmp[80];
	const char *slash;
	char *end;
	size_t alen;
	long prefix;
	int max;

	memset(out, 0, sizeof(*out));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (inet_pton(AF_INET, tmp, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		return -1;
	if (slash == NULL) {
		out->prefix = max;
		return 0;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	prefix = strtol(slash + 1, &end, 10);
	if (*end != '\0' || prefix < 0 || prefix > max)
		return -1;
	out->prefix = (int)prefix;
	return 0;
}

int
netaddr_prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int
netaddr_cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;

	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
		if (c->family == AF_INET)
			return netaddr_prefix_match(a, c->addr, c->prefix);
		/* An IPv4 peer in a block written ::ffff:a.b.c.d/96+n. */
		if (c->prefix >= 96 &&
		    memcmp(c->addr, mapped, sizeof(mapped)) == 0)
			return netaddr_prefix_match(a, c->addr + 12, c->prefix - 96);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (c->family == AF_INET6)
		return netaddr_prefix_match(a, c->addr, c->prefix);
	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return netaddr_prefix_match(a + 12, c->addr, c->prefix);
	return 0;
}

int
netaddr_cidr_match_any(const struct cidr *c, size_t n,
    const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++)
		if (netaddr_cidr_match(&c[i], sa))
			return 1;
	return 0;
}

int
netaddr_parse_hostport(const char *s, int defport,
    struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *portstr = NULL, *p;
	size_t hlen;
	int port = defport;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		p = strchr(s, ']');
		if (p == NULL)
			return -1;
		hlen = (size_t)(p - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (p[1] == ':')
			portstr = p + 2;
		else if (p[1] != '\0')
			return -1;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
		} else {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;
			if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
				return -1;
			sin->sin_family = AF_INET;
		}
	} else {
		p = strchr(s, ':');
		if (p && strchr(p + 1, ':'))
			return -1;	/* bare IPv6 must be bracketed */
		hlen = p ? (size_t)(p - s) : strlen(s);
		if (hlen == 0 || hlen >= sizeof(host))
			return -1;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (p)
			portstr = p + 1;
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
	}
	if (portstr && parse_port(portstr, &port) == -1)
		return -1;
	if (port < 1 || port > 65535)
		return -1;
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in6);
	}
	return 0;
}

const char *
netaddr_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else {
		snprintf(buf, len, "unknown");
		return buf;
	}
	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "unknown");
	return buf;
}

int
netaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

const char *
netaddr_limit_key(const struct sockaddr *sa, char *buf, size_t len)
{
	static const uint8_t mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct in6_addr net;
	char ip[NETADDR_STRLEN];

	if (sa->sa_family != AF_INET6)
		return netaddr_ntop(sa, buf, len);
	net = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (memcmp(net.s6_addr, mapped, sizeof(mapped)) == 0) {
		if (inet_ntop(AF_INET, net.s6_addr + 12, buf,
		    (socklen_t)len) == NULL)
			snprintf(buf, len, "unknown");
		return buf;
	}
	memset(net.s6_addr + 8, 0, 8);
	if (inet_ntop(AF_INET6, &net, ip, sizeof(ip)) == NULL)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%s/64", ip);
	return buf;
}

const char *
netaddr_ntop_port(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[NETADDR_STRLEN];

	netaddr_ntop(sa, ip, sizeof(ip));
	if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%d", ip, netaddr_port(sa));
	else
		snprintf(buf, len, "%s:%d", ip, netaddr_port(sa));
	return buf;
}

int
netaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 0;
}

int
netaddr_parse_ip(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}
