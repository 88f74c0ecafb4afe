/*
 * dns_rrset — the records one DNS question came to, for the callers that
 * read records rather than route mail (message authentication: SPF, DKIM
 * keys, DMARC and ARC records, PTR names).  Plain data: the resolver fills
 * it from c-ares (resolver_lookup in resolver.h), tests fill it from a
 * table (tests/unit/fake_dns.h), the evaluators only read it.
 *
 * NODATA (the name exists, no record of the type) and NXDOMAIN are kept
 * apart because SPF counts both as "void" lookups but DMARC and DKIM
 * treat them alike; every server failure, timeout or malformed answer is
 * TEMPFAIL.
 */
#ifndef POSTERN_DNS_RRSET_H
#define POSTERN_DNS_RRSET_H

#include <stddef.h>

/* The record types asked (their DNS numbers). */
#define DNS_T_A		1
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28

/* Bounds whatever the answer holds: records kept per question, and the
 * length of one TXT record's strings joined (longer ones are dropped). */
#define DNS_RRSET_MAX		64
#define DNS_TXT_MAX		8192

enum dns_rrstatus {
	DNS_RR_OK,		/* at least one record of the type */
	DNS_RR_NODATA,		/* the name exists, no such record */
	DNS_RR_NXDOMAIN,	/* the name does not exist */
	DNS_RR_TEMPFAIL,	/* SERVFAIL, REFUSED, timeout, bad answer */
};

struct dns_rr {
	/* TXT: the record's character-strings joined with nothing between
	 * (RFC 7208 3.3, RFC 6376 3.6.2.2), NUL-terminated, len without
	 * the NUL (a TXT record may hold a NUL byte: use len).  MX and
	 * PTR: the host name, lowercase, no final dot.  A/AAAA: NULL. */
	char		*text;
	size_t		 len;
	unsigned	 pref;		/* MX preference */
	int		 family;	/* A: AF_INET, AAAA: AF_INET6 */
	unsigned char	 addr[16];	/* A: 4 bytes, AAAA: 16 */
};

struct dns_rrset {
	enum dns_rrstatus	 status;
	int			 type;		/* DNS_T_* asked */
	struct dns_rr		*rr;		/* nrr records (OK only) */
	size_t			 nrr;
	char			 error[128];	/* TEMPFAIL: why, for logs */
};

/*
 * A c-ares answer (the status and buffer its callback got) for a question
 * of `type`, into rs (cleared first).  Pure; rs owns what it holds until
 * dns_rrset_clear().
 */
void	dns_rrset_parse(int status, const unsigned char *abuf, int alen,
	    int type, struct dns_rrset *rs);
void	dns_rrset_clear(struct dns_rrset *rs);

#endif
