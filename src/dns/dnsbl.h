/*
 * dnsbl — DNS block list lookups of a client address (filter `dnsbl ZONE`,
 * postern.conf(5); RFC 5782).
 *
 * The pure half builds the query name (IPv4 octets or IPv6 nibbles
 * reversed, then the zone) and classifies an answer; the other half asks
 * every zone of a virtual server in parallel through that server's `dns`
 * resolver profile and calls back once: as soon as one zone lists the
 * client, or when every zone has answered.
 *
 * Listed means an A record in 127.0.0.0/8 (RFC 5782 2.1), except
 * 127.255.255.0/24, which lists such as Spamhaus use to say "query
 * refused"; that, any other address, and every DNS failure are FAILED:
 * the caller logs them and lets the client in (a DNSBL that is down must
 * never stop mail).  NXDOMAIN, or no A record, is NOT_LISTED.
 */
#ifndef POSTERN_DNSBL_H
#define POSTERN_DNSBL_H

#include <stddef.h>
#include <sys/socket.h>

struct resolver;
struct dnsbl_check;

#define DNSBL_NAME_MAX		253	/* a DNS name, without the final dot */

enum dnsbl_status {
	DNSBL_NOT_LISTED,
	DNSBL_LISTED,
	DNSBL_FAILED,		/* lookup failed or odd answer: fail open */
	DNSBL_SKIPPED,		/* not asked, or dropped once another zone
				   listed the client */
};

struct dnsbl_answer {
	const char		*zone;
	enum dnsbl_status	 status;
	char			 detail[160];	/* LISTED: "127.0.0.2";
						   FAILED: why */
};

struct dnsbl_result {
	const struct dnsbl_answer	*answers;	/* one per zone */
	size_t				 nanswers;
	int				 listed;	/* index, or -1 */
};

/* Valid only during the call. */
typedef void (*dnsbl_cb)(void *arg, const struct dnsbl_result *res);

/*
 * "4.3.2.1.ZONE" for 1.2.3.4, 32 reversed nibbles then ZONE for IPv6; an
 * IPv4-mapped IPv6 address (::ffff:1.2.3.4) is asked as IPv4.  0, or -1
 * if the address is neither or the name would be longer than
 * DNSBL_NAME_MAX.
 */
int	dnsbl_query_name(const struct sockaddr *client, const char *zone,
	    char *out, size_t outlen);

/* Classify the addresses an A/AAAA lookup of the query name returned. */
enum dnsbl_status dnsbl_classify(const struct sockaddr_storage *addrs,
	    size_t naddrs, char *detail, size_t detaillen);

/*
 * Ask every zone (which must outlive the check) about the client.  The
 * callback runs later, on the loop, exactly once unless cancelled; NULL
 * if no question could be asked (nothing will be called then).
 */
struct dnsbl_check *dnsbl_check_start(struct resolver *r,
	    const struct sockaddr *client, char *const *zones, size_t nzones,
	    dnsbl_cb cb, void *arg);
/* The callback will not run; NULL is ignored. */
void	dnsbl_check_cancel(struct dnsbl_check *chk);

const char *dnsbl_status_name(enum dnsbl_status st);

#endif
