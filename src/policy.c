/*
 * policy — relay control and the static filters; see policy.h.
 *
 * Order of the RCPT checks: a local domain is always accepted for the
 * directory to decide, on every virtual server (so the Internet-facing one
 * cannot refuse the organisation's own mail); anything else needs the
 * server's relay permission or a partner address space marked `relay`, and
 * then a connector that routes it.  Address literals are never local.
 */
#include "policy.h"
#include "addr.h"
#include "conf.h"
#include "netaddr.h"
#include "router.h"

#include <string.h>
#include <strings.h>

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
		out->rule = "relay";
		return;
	}
	if (router_connectors(c, rcpt->domain, best, 1) == 0) {
		out->verdict = POLICY_RCPT_REFUSE;
		out->reply = "550 5.1.2 No route to the recipient's domain";
		out->rule = "no-route";
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
    const char *const *extra, size_t nextra)
{
	char key[ADDR_TEXT_MAX];
	const struct conf_filter *f = &vs->filter;

	addr_format_key(sender, key, sizeof(key));
	for (size_t i = 0; i < f->nblock_sender; i++)
		if (sender_matches(f->block_sender[i], sender, key))
			return "550 5.7.1 Sender address rejected: blocked";
	for (size_t i = 0; i < nextra; i++)
		if (sender_matches(extra[i], sender, key))
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

const char *
policy_client(const struct conf_vserver *vs, const struct sockaddr *sa)
{
	const struct conf_filter *f = &vs->filter;

	if (netaddr_cidr_match_any(f->allow_client, f->nallow_client, sa))
		return NULL;
	if (netaddr_cidr_match_any(f->block_client, f->nblock_client, sa))
		return "554 5.7.1 Client host rejected: access denied";
	return NULL;
}
