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

/*
 * One row per rule: its stable name, and its reply where the reply never
 * varies, so that the session, trace and flow say the same.
 */
static const struct {
	const char	*name;
	const char	*reply;
} rules[POLICY_RULE_COUNT] = {
	[POLICY_RULE_BLOCK_CLIENT] = { "block-client",
	    "554 5.7.1 Client host rejected: access denied" },
	[POLICY_RULE_DNSBL] = { "dnsbl", NULL },
	[POLICY_RULE_PREGREET] = { "pregreet", NULL },
	[POLICY_RULE_MAX_CONNECTIONS] = { "max-connections",
	    "421 4.7.0 Too many connections, try again later" },
	[POLICY_RULE_MAX_CONNECTIONS_PER_IP] = { "max-connections-per-ip",
	    "421 4.7.0 Too many connections, try again later" },
	[POLICY_RULE_RATE_LIMIT] = { "rate-limit",
	    "421 4.7.0 Rate limit exceeded: too many messages from your "
	    "address, try again later" },
	[POLICY_RULE_MAX_ERRORS] = { "max-errors",
	    "421 4.7.0 Too many errors, closing connection" },
	[POLICY_RULE_BLOCK_SENDER] = { "block-sender",
	    "550 5.7.1 Sender address rejected: blocked" },
	[POLICY_RULE_BLOCK_SENDERS_FILE] = { "block-senders-file",
	    "550 5.7.1 Sender address rejected: blocked" },
	[POLICY_RULE_TLS_REQUIRED] = { "tls-required",
	    "530 5.7.0 Must issue a STARTTLS command first" },
	[POLICY_RULE_AUTH_REQUIRED] = { "auth-required",
	    "530 5.7.0 Authentication required" },
	[POLICY_RULE_RELAY] = { "relay",
	    "550 5.7.1 Relay access denied" },
	[POLICY_RULE_NO_ROUTE] = { "no-route",
	    "550 5.1.2 No route to the recipient's domain" },
	[POLICY_RULE_BLOCK_RECIPIENT] = { "block-recipient",
	    "550 5.7.1 Recipient address rejected: not accepted from this "
	    "server" },
	[POLICY_RULE_UNKNOWN_USER] = { "unknown-user",
	    "550 5.1.1 Recipient address rejected: user unknown" },
	[POLICY_RULE_MAX_UNKNOWN] = { "max-unknown-recipients",
	    "421 4.7.0 Too many unknown recipients, closing connection" },
	[POLICY_RULE_DIRECTORY_TEMPFAIL] = { "directory-tempfail",
	    "451 4.3.0 Directory temporarily unavailable, try again later" },
	[POLICY_RULE_EXPANSION_LIMIT] = { "expansion-limit",
	    "550 5.4.6 List expansion limit exceeded" },
	[POLICY_RULE_MAX_RECIPIENTS] = { "max-recipients",
	    "452 4.5.3 Too many recipients" },
	[POLICY_RULE_GREYLIST] = { "greylist",
	    "451 4.7.1 Greylisted, try again later" },
	[POLICY_RULE_SIZE] = { "size",
	    "552 5.3.4 Message size exceeds fixed limit" },
	[POLICY_RULE_LINE_LENGTH] = { "line-length",
	    "554 5.6.0 Message has a line longer than 998 octets" },
	[POLICY_RULE_MAIL_LOOP] = { "mail-loop",
	    "554 5.4.6 Too many Received headers: mail loop" },
	[POLICY_RULE_BARE_NEWLINE] = { "bare-newline", NULL },
	[POLICY_RULE_DATA_TIME] = { "max-data-time",
	    "421 4.4.2 Message data time limit exceeded, closing connection" },
	[POLICY_RULE_CHECK_TEMPFAIL] = { "check-tempfail",
	    "451 4.3.0 Temporary failure checking the message, try again "
	    "later" },
	[POLICY_RULE_SPF] = { "spf",
	    "550 5.7.23 SPF validation failed" },
	[POLICY_RULE_DMARC] = { "dmarc",
	    "550 5.7.1 Message rejected by the DMARC policy of the From "
	    "domain" },
	[POLICY_RULE_AUTH_DNS] = { "auth-dns-failure",
	    "451 4.7.5 Temporary DNS failure checking message "
	    "authentication, try again later" },
	[POLICY_RULE_AUTH_HEADER] = { "auth-header",
	    "554 5.7.1 Header section too large to check for forged "
	    "Authentication-Results" },
	[POLICY_RULE_MILTER] = { "milter",
	    "550 5.7.1 Message rejected by a content filter" },
};

const char *
policy_reply(enum policy_rule r)
{
	return (unsigned)r < POLICY_RULE_COUNT ? rules[r].reply : NULL;
}

const char *
policy_rule_name(enum policy_rule r)
{
	return (unsigned)r < POLICY_RULE_COUNT && rules[r].name ?
	    rules[r].name : "?";
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
		out->reply = rules[POLICY_RULE_RELAY].reply;
		out->rule = POLICY_RULE_RELAY;
		return;
	}
	if (router_connectors(c, rcpt->domain, best, 1) == 0) {
		out->verdict = POLICY_RCPT_REFUSE;
		out->reply = rules[POLICY_RULE_NO_ROUTE].reply;
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
			return rules[*rule].reply;
	*rule = POLICY_RULE_BLOCK_SENDERS_FILE;
	if (senderlist_match(file, sender))
		return rules[*rule].reply;
	return NULL;
}

const char *
policy_rcpt_blocked(const struct conf_vserver *vs, const char *rcpt_key)
{
	const struct conf_filter *f = &vs->filter;

	for (size_t i = 0; i < f->nblock_recipient; i++)
		if (strcasecmp(f->block_recipient[i], rcpt_key) == 0)
			return rules[POLICY_RULE_BLOCK_RECIPIENT].reply;
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
		*reply = rules[POLICY_RULE_BLOCK_CLIENT].reply;
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
