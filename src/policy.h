/*
 * policy — the accept/refuse decisions of a virtual server (SPEC 1, 5).
 *
 * Pure functions over a configuration snapshot and the facts of a session
 * (client address, authentication); no I/O.  Each decision comes back as a
 * verdict plus the exact reply text, so that a live session and a dry run
 * (`posternctl trace`, later) cannot disagree.  Directory answers are the
 * caller's business: policy_rcpt() says whether the directory must be asked.
 */
#ifndef POSTERN_POLICY_H
#define POSTERN_POLICY_H

#include <sys/socket.h>

struct addr;
struct conf;
struct conf_vserver;
struct conf_connector;

struct policy_client {
	const struct sockaddr	*addr;
	int			 authenticated;
	int			 tls;
};

enum policy_rcpt_verdict {
	POLICY_RCPT_LOCAL,	/* local domain: ask the directory */
	POLICY_RCPT_RELAY,	/* another domain, relaying allowed; routed by
				   *conn */
	POLICY_RCPT_REFUSE,	/* reply holds the refusal */
};

struct policy_rcpt_result {
	enum policy_rcpt_verdict	 verdict;
	const struct conf_connector	*conn;	/* RELAY: the best connector */
	const char			*reply;	/* REFUSE: "550 5.7.1 ..." */
	const char			*rule;	/* REFUSE: short name for logs
						   and counters */
};

/* Relay control for one recipient (already syntactically valid). */
void	policy_rcpt(const struct conf *c, const struct conf_vserver *vs,
	    const struct policy_client *cl, const struct addr *rcpt,
	    struct policy_rcpt_result *out);

/* Does the virtual server let this client relay (CIDR or AUTH)? */
int	policy_may_relay(const struct conf_vserver *vs,
	    const struct policy_client *cl);

/*
 * Sender filtering at MAIL: NULL if allowed, else the reply.  `extra` is a
 * list loaded from block-senders-file (may be NULL).
 */
const char *policy_sender(const struct conf_vserver *vs,
	    const struct addr *sender, const char *const *extra,
	    size_t nextra);

/* block-recipient: NULL if allowed, else the reply. */
const char *policy_rcpt_blocked(const struct conf_vserver *vs,
	    const char *rcpt_key);

/* Connection filtering at connect: NULL if allowed, else the reply. */
const char *policy_client(const struct conf_vserver *vs,
	    const struct sockaddr *sa);

#endif
