/*
 * trace — the dry run of `posternctl trace` (posternctl(8)): what a virtual
 * server would answer to a client, sender and recipients, and where each
 * accepted recipient would go, without sending anything.
 *
 * It runs the session's own decisions: policy_client and the DNSBL at
 * connect, then the MAIL and RCPT check lists of smtp_check.c (the very
 * lists the session runs, directory included: the live directory,
 * asynchronously; the file backend answers at once), and the router for
 * the route and the resolver profile delivery would use
 * (router_connectors, router_connector_dns).  The only DNS questions are
 * the DNSBL lookups of the client, asked as the session asks them (every
 * zone, through the virtual server's own `dns` profile), so that a listed
 * client gets the 554 the server would give, and SPF's for the client
 * and sender where the server checks SPF (`authentication`: its answer
 * in the note, and under `spf enforce` a fail refuses the recipients as
 * the session would); TRACE_F_NO_DNS (or no resolver) skips them and says
 * so in a note.  Next hops are reported as
 * written ("MX example.org", a mailbox server, a smart host), not
 * resolved.
 *
 * The client is taken as plain (no TLS) and anonymous unless the request
 * says otherwise; per-client state (rate limit, connection counts) is
 * not modelled; greylisting is, from this node's own table, read only
 * (a triplet it has not seen pass would be greylisted).  Runs on the loop
 * thread.
 */
#ifndef POSTERN_TRACE_H
#define POSTERN_TRACE_H

#include <stddef.h>

struct conf;
struct directory;
struct resolver_set;
struct senderlist;
struct smtp_limits;
struct trace;

#define TRACE_F_TLS	0x01	/* the client has done STARTTLS */
#define TRACE_F_AUTH	0x02	/* the client has authenticated */
#define TRACE_F_NO_DNS	0x04	/* ask no DNSBL */

struct trace_request {
	struct conf		*conf;		/* referenced while it runs */
	struct directory	*dir;		/* may be NULL: 451 4.3.0 */
	struct resolver_set	*rs;		/* the live resolvers (the
						   DNSBL); NULL: not asked */
	struct senderlist	*senders;	/* the vserver's
						   block-senders-file, or
						   NULL */
	struct smtp_limits	*limits;	/* the server's greylist,
						   looked at, never written;
						   NULL: every triplet new */
	const char		*vserver;
	const char		*client;	/* numeric IPv4 or IPv6 */
	const char		*sender;	/* "" or "<>": null sender */
	unsigned		 flags;		/* TRACE_F_* */
	const char *const	*rcpts;
	size_t			 nrcpts;
};

struct trace_result {
	char		*recipient;
	int		 accepted;
	char		*reply;		/* "250 2.1.5 Ok", "550 5.7.1 ..." */
	const char	*rule;		/* policy_rule_name(), or NULL */
	const char	*route;		/* "mailbox", "connector", or NULL */
	char		*connector;	/* or NULL */
	char		*next_hop;	/* host, "MX example.org", "local",
					   or NULL */
	char		*dns;		/* resolver profile, or NULL */
	char		*note;		/* list members, DNSBL, or NULL */
};

/*
 * Called once with the results (owned by the callee: trace_results_free)
 * or, when the request itself is wrong (unknown virtual server, bad
 * client address), with res NULL and a message in error.
 */
typedef void (*trace_cb)(void *arg, struct trace_result *res, size_t n,
	    const char *error);

/*
 * Start a trace.  The callback may run before trace_start() returns (then
 * NULL is returned); otherwise the handle can cancel it.
 */
struct trace *trace_start(const struct trace_request *rq, trace_cb cb,
	    void *arg);
void	trace_cancel(struct trace *t);
void	trace_results_free(struct trace_result *res, size_t n);
/* Free the strings of one result (not the struct itself). */
void	trace_result_clear(struct trace_result *r);

#endif
