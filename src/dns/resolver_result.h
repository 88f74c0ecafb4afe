/*
 * resolver_result — what a delivery's DNS questions come to: the status
 * and the hosts in MX order with their addresses.  Built by the pure
 * answer parsers (resolver_answer.c) and handed out by the resolver
 * (resolver.c); its own header so that the parsers do not depend on the
 * resolver that uses them.
 */
#ifndef POSTERN_RESOLVER_RESULT_H
#define POSTERN_RESOLVER_RESULT_H

#include <stddef.h>
#include <sys/socket.h>

enum resolver_status {
	RESOLVER_OK,
	RESOLVER_NXDOMAIN,	/* permanent: the domain does not exist */
	RESOLVER_NULLMX,	/* permanent: RFC 7505 "0 ." */
	RESOLVER_NOHOST,	/* permanent: no MX and no A/AAAA */
	RESOLVER_TEMPFAIL,	/* try again later */
};

struct resolver_host {
	char			*name;		/* MX host name, lowercase */
	unsigned		 pref;		/* MX preference (0 for
						   implicit MX / plain hosts) */
	struct sockaddr_storage	*addrs;		/* with the port set */
	size_t			 naddrs;
	int			 tempfail;	/* its A/AAAA lookup failed
						   temporarily */
};

struct resolver_result {
	enum resolver_status	 status;
	struct resolver_host	*hosts;		/* MX order: by preference,
						   equal ones shuffled */
	size_t			 nhosts;
	char			 error[160];	/* for logs and DSNs */
};

#endif
