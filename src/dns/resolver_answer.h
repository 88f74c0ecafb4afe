/*
 * resolver_answer — the raw DNS answers c-ares hands to resolver.c's
 * callbacks, turned into resolver results by pure functions: no channel,
 * no event loop, no global state.  The live path (resolver.c), the unit
 * tests (tests/unit/test_resolver_answer.c) and the fuzz harness
 * (tests/fuzz/fuzz_dns.c) all run this same code on the same bytes.
 *
 * c-ares walks the wire format (bounds, compression pointers, loops);
 * this module checks what c-ares lets through.  An MX host name is asked
 * of DNS again and is written to logs, queue files and DSNs, so it must
 * be a plain host name (resolver_valid_hostname); c-ares renders odd
 * bytes in a name as "\DDD" or "\." escapes, which never pass.  MX hosts
 * and addresses are capped (RESOLVER_MX_MAX, RESOLVER_ADDR_MAX) whatever
 * the size of the answer.
 */
#ifndef POSTERN_RESOLVER_ANSWER_H
#define POSTERN_RESOLVER_ANSWER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "resolver_result.h"

/*
 * A broken or hostile zone must not fan one delivery out without bound:
 * the best RESOLVER_MX_MAX hosts are kept, RESOLVER_ADDR_MAX addresses of
 * each family per host.
 */
#define RESOLVER_MX_MAX		16
#define RESOLVER_ADDR_MAX	32

/* The longest host name in text, without the trailing dot (RFC 1035
 * 2.3.4: 255 octets on the wire), and the longest label. */
#define RESOLVER_NAME_MAX	253
#define RESOLVER_LABEL_MAX	63

/* What one question (MX, A or AAAA) came to. */
enum resolver_lk {
	RESOLVER_LK_PENDING,
	RESOLVER_LK_OK,
	RESOLVER_LK_NODATA,
	RESOLVER_LK_NXDOMAIN,
	RESOLVER_LK_TEMP,
};

/* The context of one answer: what was asked, and what the parsers say
 * about it beyond the result itself. */
struct resolver_answer {
	const char	*name;		/* the name asked, lowercase */
	const char	*profile;	/* the profile, for error texts */
	int		 port;		/* given to every address */
	uint32_t	(*rnd)(void);	/* MX tie shuffle; NULL: getrandom */
	int		 implicit;	/* out, MX: no MX, the name itself */
	char		 outcome[64];	/* out: for the debug line */
	char		 temperr[160];	/* out, A/AAAA: why LK_TEMP */
};

/*
 * The c-ares status of an answer, from its header as well: a status
 * other than ARES_SUCCESS is returned as is; a short buffer, a query
 * instead of a response or an unknown rcode is ARES_EBADRESP; SERVFAIL,
 * NXDOMAIN, REFUSED ... map as c-ares maps them; NOERROR without answer
 * records is ARES_ENODATA.
 */
int	resolver_answer_status(int status, const unsigned char *abuf,
	    int alen);

/*
 * An MX answer (status from the ares_query callback) for a->name, into
 * res, which holds no host on entry.  RESOLVER_OK: res->hosts holds the
 * best RESOLVER_MX_MAX distinct valid host names by preference (equal
 * preferences shuffled with a->rnd), without addresses yet, or the name
 * itself with a->implicit set when there is no MX record (RFC 5321 5.1).
 * Otherwise res->status and res->error are final: NXDOMAIN, NULLMX (only
 * root-name records: RFC 7505), TEMPFAIL (server failures, malformed
 * answers, MX records none of which names a valid host).
 */
void	resolver_parse_mx(struct resolver_answer *a, int status,
	    const unsigned char *abuf, int alen, struct resolver_result *res);

/*
 * An A (qtype ns_t_a) or AAAA answer for host h: at most
 * RESOLVER_ADDR_MAX usable addresses (unspecified, multicast and
 * broadcast ones are dropped) join h->addrs with a->port, IPv4 before
 * IPv6 whichever answer comes first.  RESOLVER_LK_TEMP sets h->tempfail
 * and a->temperr.
 */
enum resolver_lk resolver_parse_addrs(struct resolver_answer *a, int qtype,
	    int status, const unsigned char *abuf, int alen,
	    struct resolver_host *h);

/* 1 if s is a host name postern asks about and prints: dot-separated
 * labels of 1-63 letters, digits, '-' or '_', 253 characters at most. */
int	resolver_valid_hostname(const char *s);
/* A copy, lowercase, without the trailing dot of an absolute name. */
char	*resolver_lowercase_name(const char *s);
/* af AF_INET (4 bytes at addr) or AF_INET6 (16), with the port. */
void	resolver_make_sa(struct sockaddr_storage *ss, int af,
	    const void *addr, int port);
/* "MX", "A" or "AAAA"; a c-ares status for logs and DSNs. */
const char *resolver_qtype_name(int qtype);
const char *resolver_status_text(int status);

/* Sort hosts by preference and shuffle ties (RFC 5321 5.1) with the
 * given random source (NULL: getrandom). */
void	resolver_sort_hosts(struct resolver_host *h, size_t n,
	    uint32_t (*rnd)(void));

#endif
