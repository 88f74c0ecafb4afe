/*
 * policy — relay control and the static filters; see policy.h.
 *
 * Order of the RCPT checks: a local domain is always accepted for the
 * directory to decide, on every virtual server (so the Internet-facing one
 * cannot refuse the organisation's own mail); anything else needs the
 * server's relay permission or a partner address space marked `relay`, and
 * then a connector that routes it.  Address literals are never local.
 *
 * At connect, allow-client is looked at first: an exception inside a
 * blocked range must win, and it spares the client the DNSBL lookups too.
 */
#include "policy.h"
#include "addr.h"
#include "conf.h"
#include "netaddr.h"
#include "router.h"
#include "senderlist.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *rule_names[POLICY_RULE_COUNT] = {
	[POLICY_RULE_BLOCK_CLIENT] = "block-client",
	[POLICY_RULE_DNSBL] = "dnsbl",
	[POLICY_RULE_PREGREET] = "pregreet",
	[POLICY_RULE_MAX_CONNECTIONS] = "max-connections",
	[POLICY_RULE_MAX_CONNECTIONS_PER_IP] = "max-connections-per-ip",
	[POLICY_RULE_RATE_LIMIT] = "rate-limit",
	[POLICY_RULE_MAX_ERRORS] = "max-errors",
	[POLICY_RULE_BLOCK_SENDER] = "block-sender",
	[POLICY_RULE_BLOCK_SENDERS_FILE] = "block-senders-file",
	[POLICY_RULE_TLS_REQUIRED] = "tls-required",
	[POLICY_RULE_AUTH_REQUIRED] = "auth-required",
	[POLICY_RULE_RELAY] = "relay",
	[POLICY_RULE_NO_ROUTE] = "no-route",
	[POLICY_RULE_BLOCK_RECIPIENT] = "block-recipient",
	[POLICY_RULE_UNKNOWN_USER] = "unknown-user",
	[POLICY_RULE_MAX_UNKNOWN] = "max-unknown-recipients",
	[POLICY_RULE_DIRECTORY_TEMPFAIL] = "directory-tempfail",
	[POLICY_RULE_EXPANSION_LIMIT] = "expansion-limit",
	[POLICY_RULE_MAX_RECIPIENTS] = "max-recipients",
	[POLICY_RULE_SIZE] = "size",
	[POLICY_RULE_LINE_LENGTH] = "line-length",
	[POLICY_RULE_MAIL_LOOP] = "mail-loop",
	[POLICY_RULE_BARE_NEWLINE] = "bare-newline",
	[POLICY_RULE_DATA_TIME] = "max-data-time",
	[POLICY_RULE_CHECK_TEMPFAIL] = "check-tempfail",
	[POLICY_RULE_SPF] = "spf",
	[POLICY_RULE_DMARC] = "dmarc",
	[POLICY_RULE_AUTH_DNS] = "auth-dns-failure",
};

/* One text per rule, so that the session, trace and flow say the same. */
static const char *const rule_replies[POLICY_RULE_COUNT] = {
	[POLICY_RULE_MAX_CONNECTIONS] = "421 4.7.0 Too many connections, "
	    "try again later",
	[POLICY_RULE_MAX_CONNECTIONS_PER_IP] = "421 4.7.0 Too many "
	    "connections, try again later",
	[POLICY_RULE_RATE_LIMIT] = "421 4.7.0 Rate limit exceeded: too many "
	    "messages from your address, try again later",
	[POLICY_RULE_MAX_ERRORS] = "421 4.7.0 Too many errors, closing "
	    "connection",
	[POLICY_RULE_TLS_REQUIRED] = "530 5.7.0 Must issue a STARTTLS "
	    "command first",
	[POLICY_RULE_AUTH_REQUIRED] = "530 5.7.0 Authentication required",
	[POLICY_RULE_UNKNOWN_USER] = "550 5.1.1 Recipient address rejected: "
	    "user unknown",
	[POLICY_RULE_MAX_UNKNOWN] = "421 4.7.0 Too many unknown recipients, "
	    "closing connection",
	[POLICY_RULE_DIRECTORY_TEMPFAIL] = "451 4.3.0 Directory temporarily "
	    "unavailable, try again later",
	[POLICY_RULE_EXPANSION_LIMIT] = "550 5.4.6 List expansion limit "
	    "exceeded",
	[POLICY_RULE_MAX_RECIPIENTS] = "452 4.5.3 Too many recipients",
	[POLICY_RULE_SIZE] = "552 5.3.4 Message size exceeds fixed limit",
	[POLICY_RULE_LINE_LENGTH] = "554 5.6.0 Message has a line longer "
	    "than 998 octets",
	[POLICY_RULE_MAIL_LOOP] = "554 5.4.6 Too many Received headers: "
	    "mail loop",
	[POLICY_RULE_DATA_TIME] = "421 4.4.2 Message data time limit "
	    "exceeded, closing connection",
	[POLICY_RULE_CHECK_TEMPFAIL] = "451 4.3.0 Temporary failure checking "
	    "the message, try again later",
	[POLICY_RULE_SPF] = "550 5.7.23 SPF validation failed",
	[POLICY_RULE_DMARC] = "550 5.7.1 Message rejected by the DMARC "
	    "policy of the From domain",
	[POLICY_RULE_AUTH_DNS] = "451 4.7.5 Temporary DNS failure checking "
	    "message authentication, try again later",
};

const char *
policy_reply(enum policy_rule r)
{
	return (unsigned)r < POLICY_RULE_COUNT ? rule_replies[r] : NULL;
}

const char *
policy_rule_name(enum policy_rule r)
{
	return (unsigned)r < POLICY_RULE_COUNT && rule_names[r] ?
	    rule_names[r] : "?";
}

int
policy_may_relay(const struct conf_vserver *vs, const struct policy_client *cl)
{
	if (cl->authenticated && vs->relay_authenticated)
		return 1;
	return netaddr_cidr_match_any(vs->relay_allow, vs->nrelay_allow,
	    cl->addr);
}

void
policy_rcpt(const struct conf *c, const struct conf_vserver *vs,
    const struct policy_client *cl, const struct addr *rcpt,
    struct policy_rcpt_result *out)
{
	const struct conf_connector *best[1];

	memset(out, 0, sizeof(*out));
	if (!rcpt->literal && conf_is_local_domain(c, rcpt->domain)) {
		out->verdict = POLICY_RCPT_LOCAL;
		return;
	}
	if (!policy_may_relay(vs, cl) &&
	    (rcpt->literal || !router_is_relay_domain(c, rcpt->domain))) {
		out->verdict = POLICY_RCPT_REFUSE;
		out->reply = "550 5.7.1 Relay access denied";
		out->rule = POLICY_RULE_RELAY;
		return;
	}
	if (router_connectors(c, rcpt->domain, best, 1) == 0) {
		out->verdict = POLICY_RCPT_REFUSE;
		out->reply = "550 5.1.2 No route to the recipient's domain";
		out->rule = POLICY_RULE_NO_ROUTE;
		return;
	}
	out->verdict = POLICY_RCPT_RELAY;
	out->conn = best[0];
}

static int
sender_matches(const char *entry, const struct addr *sender,
    const char *key)
{
	if (strcmp(entry, "<>") == 0)
		return sender->null;
	if (sender->null)
		return 0;
	if (entry[0] == '@')
		return strcasecmp(entry + 1, sender->domain) == 0;
	return strcasecmp(entry, key) == 0;
}

const char *
policy_sender(const struct conf_vserver *vs, const struct addr *sender,
    const struct senderlist *file, enum policy_rule *rule)
{
	char key[ADDR_TEXT_MAX];
	const struct conf_filter *f = &vs->filter;

	addr_format_key(sender, key, sizeof(key));
	*rule = POLICY_RULE_BLOCK_SENDER;
	for (size_t i = 0; i < f->nblock_sender; i++)
		if (sender_matches(f->block_sender[i], sender, key))
			return "550 5.7.1 Sender address rejected: blocked";
	*rule = POLICY_RULE_BLOCK_SENDERS_FILE;
	if (senderlist_match(file, sender))
		return "550 5.7.1 Sender address rejected: blocked";
	return NULL;
}

const char *
policy_rcpt_blocked(const struct conf_vserver *vs, const char *rcpt_key)
{
	const struct conf_filter *f = &vs->filter;

	for (size_t i = 0; i < f->nblock_recipient; i++)
		if (strcasecmp(f->block_recipient[i], rcpt_key) == 0)
			return "550 5.7.1 Recipient address rejected: "
			    "not accepted from this server";
	return NULL;
}

enum policy_client_verdict
policy_client(const struct conf_vserver *vs, const struct sockaddr *sa,
    const char **reply)
{
	const struct conf_filter *f = &vs->filter;

	*reply = NULL;
	if (netaddr_cidr_match_any(f->allow_client, f->nallow_client, sa))
		return POLICY_CLIENT_EXEMPT;
	if (netaddr_cidr_match_any(f->block_client, f->nblock_client, sa)) {
		*reply = "554 5.7.1 Client host rejected: access denied";
		return POLICY_CLIENT_BLOCKED;
	}
	return POLICY_CLIENT_OK;
}

void
policy_dnsbl_reply(char *buf, size_t len, const char *client_ip,
    const char *zone)
{
	snprintf(buf, len, "554 5.7.1 Service unavailable; client [%s] "
	    "blocked using %s", client_ip, zone);
}
