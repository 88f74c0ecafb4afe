/*
 * smtp_client_tx — setting up one transaction of the SMTP client: the
 * copies of the message it holds, which recipients it sends (and which
 * lines it must refuse to write), and the peer's name for logs.  The
 * protocol itself is in smtp_client.c.
 */
#include "smtp_client.h"
#include "netaddr.h"
#include "postern_limits.h"
#include "smtp_client_priv.h"
#include "smtp_parse.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
smtp_client_tx_free(struct smtp_client *c)
{
	free(c->sender);
	free(c->envid);
	free(c->rstate);
	free(c->order);
	free(c->chunk);
	c->sender = c->envid = c->chunk = NULL;
	c->rstate = NULL;
	c->order = NULL;
}

void
smtp_client_tx_init(struct smtp_client *c, const struct smtp_client_msg *m,
    struct smtp_client_rcpt **rcpts, size_t n)
{
	c->msg = *m;
	c->sender = xstrdup(m->sender != NULL ? m->sender : "");
	c->envid = m->envid != NULL ? xstrdup(m->envid) : NULL;
	c->msg.sender = c->sender;
	c->msg.envid = c->envid;
	c->rcpts = rcpts;
	c->n = n;
	c->rstate = xcalloc(n ? n : 1, sizeof(*c->rstate));
	c->order = xcalloc(n ? n : 1, sizeof(*c->order));
	c->nsend = c->cur = c->naccepted = 0;
	c->mail_failed = 0;
	c->sent = 0;
	c->last[0] = '\0';
}

/* Numeric host text for logs, Postfix style: name[addr]:port. */
void
smtp_client_make_relay(struct smtp_client *c,
    const struct smtp_client_params *p)
{
	char ip[NETADDR_STRLEN], name[ADDR_DOMAIN_MAX + 1];
	const char *s = p->peer_name != NULL ? p->peer_name : "";
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof(name) - 1; i++)
		name[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	name[i] = '\0';
	if (p->addr == NULL || (p->addr->sa_family != AF_INET &&
	    p->addr->sa_family != AF_INET6)) {
		snprintf(c->relay, sizeof(c->relay), "%s[?]", name);
		return;
	}
	netaddr_ntop(p->addr, ip, sizeof(ip));
	snprintf(c->relay, sizeof(c->relay), "%s[%s]:%d", name, ip,
	    netaddr_port(p->addr));
}

int
smtp_client_prepare(struct smtp_client *c)
{
	struct smtp_client_ehlo all = { .dsn = 1 };
	char line[SMTP_CMD_LINE_MAX + 3];
	const char *h;
	size_t i;

	for (h = c->helo; *h > 0x20 && *h < 0x7f; h++)
		;
	if (*h != '\0' || h == c->helo || h - c->helo > SMTP_HELO_MAX) {
		smtp_client_set_error(c, "invalid HELO name");
		return -1;
	}
	for (i = 0; i < c->n; i++) {
		if (c->rcpts[i]->st != RCPT_PENDING)
			continue;
		c->rstate[i] = R_TRY;
		c->rcpts[i]->reply[0] = '\0';
		c->rcpts[i]->again = 0;
	}
	/* with every extension on: the longest lines we could send */
	all.size_offered = all.eightbitmime = all.smtputf8 = 1;
	if (smtp_client_mail_line(line, sizeof(line), &c->msg, &all) == -1) {
		smtp_client_settle_all(c, RCPT_FAILED,
		    "501 5.1.7 Bad sender address syntax");
		smtp_client_set_error(c, "invalid sender address");
		return -1;
	}
	for (i = 0; i < c->n; i++) {
		if (c->rstate[i] != R_TRY)
			continue;
		if (smtp_client_rcpt_line(line, sizeof(line), c->rcpts[i],
		    &all) == -1)
			smtp_client_set_rcpt(c, i, RCPT_FAILED,
			    "501 5.1.3 Bad recipient address syntax");
		else
			c->order[c->nsend++] = i;
	}
	if (c->nsend == 0) {
		smtp_client_set_error(c, "no recipients to send");
		return -1;
	}
	return 0;
}
