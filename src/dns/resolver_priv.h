/*
 * resolver_priv — what resolver.c (questions and answers) and
 * resolver_channel.c (profiles and their c-ares channels on the loop)
 * share.  Not for use outside the resolver.
 */
#ifndef POSTERN_RESOLVER_PRIV_H
#define POSTERN_RESOLVER_PRIV_H

#include <sys/queue.h>

#include <ares.h>
#include <event2/event.h>

#include "resolver.h"
#include "resolver_answer.h"
#include "resolver_cache.h"

/*
 * A dead server must become TEMPFAIL within seconds (c-ares doubles the
 * timeout on the second round: 2 s + 4 s per server).  The caps on MX
 * hosts and addresses are in resolver_answer.h.
 */
#define RESOLVER_TIMEOUT_MS	2000
#define RESOLVER_TRIES		2

struct rsock {
	struct resolver	*r;
	int		 fd;		/* -1: slot free for reuse */
	struct event	*ev;
};

struct resolver {
	struct resolver_set		*rs;
	const struct conf_dnslist	*list;	/* identity only, never read */
	char				*name;
	int				 unnamed;
	ares_channel			 channel;
	int				 channel_ok;
	struct event			*timer;
	struct rsock			**socks;
	size_t				 nsocks;
	TAILQ_HEAD(, resolver_query)	 queries;
	uint64_t			 nqueries;
	uint64_t			 nfailures;
	struct resolver_cache		*cache;	/* answers, this profile's */
};

struct resolver_set {
	struct event_base	*base;
	struct resolver		**r;
	size_t			 n;
};

/* One question of a query; addresses go straight to the host. */
struct lookup {
	struct resolver_query	*q;
	size_t			 host;		/* index in q->res->hosts */
	int			 qtype;
	enum resolver_lk	 outcome;
	int			 cached;	/* answered from the cache */
};

struct resolver_query {
	TAILQ_ENTRY(resolver_query)	 entry;
	struct resolver			*r;
	int				 is_mx;
	int				 implicit;	/* no MX: the domain */
	int				 addr_stage;	/* A/AAAA asked */
	char				*name;
	int				 port;
	resolver_cb			 cb;
	void				*arg;
	int				 cancelled;
	int				 pending;	/* asked, unanswered */
	struct lookup			 mxlk;
	struct lookup			*lk;		/* A, AAAA per host */
	struct resolver_result		*res;
	int				 rrtype;	/* resolver_lookup */
	resolver_rr_cb			 rrcb;
	struct dns_rrset		 rrs;
	struct event			*done;
	char				 temperr[160];	/* the first one */
};

/* resolver.c */
void	resolver_query_free(struct resolver_query *q);
/* resolver_channel.c: call after every call into c-ares. */
void	resolver_rearm(struct resolver *r);

#endif
