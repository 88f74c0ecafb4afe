/*
 * resolver — asynchronous DNS with one c-ares channel per resolver profile.
 *
 * A profile is a DNS server list of the configuration (postern.conf(5)): the
 * top-level `dns` list ("internal", or /etc/resolv.conf when none is
 * given), each `dns-list`, each unnamed inline list.  Every question is
 * asked through exactly one profile, which the caller picks (router and
 * delivery code decide which, by the rules of postern.conf(5)); a profile never falls
 * back to another's servers.  Channels are driven by the libevent loop
 * (socket state callbacks + a timer), never blocking it.
 *
 * Answers are classified for mail delivery: NXDOMAIN and null MX
 * (RFC 7505) are permanent; SERVFAIL, REFUSED, timeouts and connection
 * errors are temporary.
 */
#ifndef POSTERN_RESOLVER_H
#define POSTERN_RESOLVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct conf;
struct conf_dnslist;
struct resolver;
struct resolver_set;
struct resolver_query;

#include "dns_rrset.h"
#include "resolver_result.h"

typedef void (*resolver_cb)(void *arg, struct resolver_result *res);
/* rs is valid only during the call. */
typedef void (*resolver_rr_cb)(void *arg, const struct dns_rrset *rs);

/*
 * Channels for every DNS list of the configuration.  Servers given as
 * "ip:port" are used as is; the internal list with use_resolv_conf uses
 * the system configuration.  NULL with err set on failure.
 */
struct resolver_set *resolver_set_new(struct event_base *base,
	    const struct conf *c, char *err, size_t errlen);
/* Pending queries are cancelled: their callbacks never run. */
void	resolver_set_free(struct resolver_set *rs);
/* The profile for a configured list (by pointer identity, else name;
 * an unnamed list only by identity).  NULL: the top-level list. */
struct resolver *resolver_get(struct resolver_set *rs,
	    const struct conf_dnslist *list);
const char *resolver_name(const struct resolver *r);

/*
 * Mail exchangers of `domain`: MX records sorted by preference (equal
 * preferences shuffled), each host's A and AAAA records; no MX record
 * means the domain itself is the implicit MX (RFC 5321 5.1).  Addresses
 * carry `port`.  The callback owns res (resolver_result_free) and runs on
 * the loop, never before resolver_mx() returns.
 */
struct resolver_query *resolver_mx(struct resolver *r, const char *domain,
	    int port, resolver_cb cb, void *arg);
/* A and AAAA of one host name (mailbox servers, [name] smart hosts). */
struct resolver_query *resolver_host(struct resolver *r, const char *name,
	    int port, resolver_cb cb, void *arg);
/*
 * The records of one type (DNS_T_TXT, A, AAAA, MX, PTR) at `name`, as
 * they are (no MX sorting, no address lookups): for message
 * authentication.  The callback runs on the loop, never before
 * resolver_lookup() returns; the handle is cancelled with
 * resolver_cancel().
 */
struct resolver_query *resolver_lookup(struct resolver *r, const char *name,
	    int type, resolver_rr_cb cb, void *arg);
/* The callback will not run.  A query handle is valid until its callback
 * has run or it is cancelled; NULL is ignored. */
void	resolver_cancel(struct resolver_query *q);
void	resolver_result_free(struct resolver_result *res);

/* Lookups asked and failed (temporarily) through this profile. */
void	resolver_stats(const struct resolver *r, uint64_t *queries,
	    uint64_t *failures);


#endif
