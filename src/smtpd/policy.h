/*
 * policy — the accept/refuse decisions of a virtual server (postern.conf(5), docs/smtp.md).
 *
 * Pure functions over a configuration snapshot and the facts of a session
 * (client address, authentication, sender); no I/O.  Each decision comes
 * back as a verdict plus the exact reply text, so that a live session and
 * a dry run (`posternctl trace`, later) cannot disagree.  Answers that need
 * a lookup (directory, DNSBL, rate counters) are the caller's business:
 * policy says when to ask and words the refusal.
 *
 * Every refusal has a rule (enum policy_rule): its name goes into the one
 * log line of the refusal and indexes the per-rule counters that
 * `posternctl stats` shows, so the vocabulary lives here, once.
 */
#ifndef POSTERN_POLICY_H
#define POSTERN_POLICY_H

#include <stddef.h>
#include <sys/socket.h>

struct addr;
struct conf;
struct conf_vserver;
struct conf_connector;
struct senderlist;

enum policy_rule {
	/* connection filtering */
	POLICY_RULE_BLOCK_CLIENT,	/* block-client: 554 5.7.1 */
	POLICY_RULE_DNSBL,		/* dnsbl: 554 5.7.1 */
	POLICY_RULE_PREGREET,		/* greet-wait: 554 5.5.1, close */
	POLICY_RULE_MAX_CONNECTIONS,	/* 421 4.7.0 at connect */
	POLICY_RULE_MAX_CONNECTIONS_PER_IP, /* 421 4.7.0 at connect */
	/* abuse control */
	POLICY_RULE_RATE_LIMIT,		/* rate-limit: 421 4.7.0, close */
	POLICY_RULE_MAX_ERRORS,		/* 421 4.7.0, close */
	/* sender filtering */
	POLICY_RULE_BLOCK_SENDER,	/* block-sender: 550 5.7.1 */
	POLICY_RULE_BLOCK_SENDERS_FILE,	/* block-senders-file: 550 5.7.1 */
	POLICY_RULE_TLS_REQUIRED,	/* 530 5.7.0 */
	POLICY_RULE_AUTH_REQUIRED,	/* 530 5.7.0 */
	/* recipient filtering */
	POLICY_RULE_RELAY,		/* 550 5.7.1 */
	POLICY_RULE_NO_ROUTE,		/* 550 5.1.2 */
	POLICY_RULE_BLOCK_RECIPIENT,	/* block-recipient: 550 5.7.1 */
	POLICY_RULE_UNKNOWN_USER,	/* 550 5.1.1 */
	POLICY_RULE_MAX_UNKNOWN,	/* max-unknown-recipients: 421 4.7.0 */
	POLICY_RULE_DIRECTORY_TEMPFAIL,	/* 451 4.3.0 */
	POLICY_RULE_EXPANSION_LIMIT,	/* 550 5.4.6 */
	POLICY_RULE_MAX_RECIPIENTS,	/* 452 4.5.3 */
	POLICY_RULE_GREYLIST,		/* greylist: 451 4.7.1 */
	/* message checks */
	POLICY_RULE_SIZE,		/* 552 5.3.4 */
	POLICY_RULE_LINE_LENGTH,	/* 554 5.6.0 */
	POLICY_RULE_MAIL_LOOP,		/* 554 5.4.6 */
	POLICY_RULE_BARE_NEWLINE,	/* 521 5.5.2, close */
	POLICY_RULE_DATA_TIME,		/* max-data-time: 421 4.4.2, close */
	POLICY_RULE_CHECK_TEMPFAIL,	/* a check could not decide: 451 4.3.0 */
	/* message authentication */
	POLICY_RULE_SPF,		/* spf enforce: 550 5.7.23 */
	POLICY_RULE_DMARC,		/* dmarc enforce, p=reject: 550 5.7.1 */
	POLICY_RULE_AUTH_DNS,		/* on-dns-failure tempfail: 451 4.7.5 */
	POLICY_RULE_AUTH_HEADER,	/* a header too large to clear of
					   forged Authentication-Results:
					   554 5.7.1 */
	/* content filters */
	POLICY_RULE_MILTER,		/* a milter's reject or tempfail */
	POLICY_RULE_COUNT
};

/* "block-client", "dnsbl", ...: stable names for logs and statistics. */
const char *policy_rule_name(enum policy_rule r);
/* The reply of a rule whose reply never varies ("452 4.5.3 Too many
 * recipients"); NULL for the rules whose reply names something (a list,
 * a zone, a connector's refusal), which their own function words. */
const char *policy_reply(enum policy_rule r);

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
	enum policy_rule		 rule;	/* REFUSE: why */
};

/* Relay control for one recipient (already syntactically valid). */
void	policy_rcpt(const struct conf *c, const struct conf_vserver *vs,
	    const struct policy_client *cl, const struct addr *rcpt,
	    struct policy_rcpt_result *out);

/* Does the virtual server let this client relay (CIDR or AUTH)? */
int	policy_may_relay(const struct conf_vserver *vs,
	    const struct policy_client *cl);

/*
 * Sender filtering at MAIL: NULL if allowed, else the reply, with *rule
 * saying which list matched.  `file` is the virtual server's
 * block-senders-file list (may be NULL).
 */
const char *policy_sender(const struct conf_vserver *vs,
	    const struct addr *sender, const struct senderlist *file,
	    enum policy_rule *rule);

/* block-recipient: NULL if allowed, else the reply. */
const char *policy_rcpt_blocked(const struct conf_vserver *vs,
	    const char *rcpt_key);

enum policy_client_verdict {
	POLICY_CLIENT_OK,	/* no static rule: the DNSBL zones decide */
	POLICY_CLIENT_EXEMPT,	/* allow-client: neither block-client nor
				   dnsbl applies */
	POLICY_CLIENT_BLOCKED,	/* block-client: *reply */
};

/* Connection filtering at connect, before any DNS. */
enum policy_client_verdict policy_client(const struct conf_vserver *vs,
	    const struct sockaddr *sa, const char **reply);

/* The refusal of a client a DNSBL zone lists ("554 5.7.1 ..."). */
void	policy_dnsbl_reply(char *buf, size_t len, const char *client_ip,
	    const char *zone);

#endif
