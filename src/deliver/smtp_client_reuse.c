/*
 * smtp_client_reuse — keeping an outbound SMTP connection for the next
 * transaction; see smtp_client.h.
 *
 * A connection is kept only after a clean end of data (the peer answered
 * the final dot, and not with 421), so both sides agree that no
 * transaction is open.  The next transaction starts with RSET: it costs
 * nothing when pipelined with MAIL, RCPT and DATA, and its reply proves
 * the connection still alive before anything depends on it.  A kept
 * connection that is dead by then (the peer timed it out) is "stale": the
 * recipients were not offered to anyone, so the owner connects afresh
 * without counting the address as failed.  While idle, any input, EOF or
 * the idle timer ends the connection and tells the owner (smtp_pool).
 */
#include "smtp_client.h"
#include "log.h"
#include "smtp_client_priv.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <stdio.h>
#include <string.h>

int
smtp_client_park(struct smtp_client *c, int code)
{
	/* 421: the peer is closing the channel (RFC 5321 3.8) */
	if (!c->keep || code == 421 || c->bev == NULL)
		return 0;
	c->state = C_PARK;
	smtp_client_arm(c, 0);
	return 1;
}

/* Like client_finish in smtp_client.c, but the handle stays alive. */
void
smtp_client_report_parked(struct smtp_client *c)
{
	struct smtp_client_result res;
	smtp_client_cb cb = c->cb;
	void *arg = c->cbarg;

	smtp_client_log(c);
	c->res.peer_dsn = c->ext.dsn;
	c->res.reusable = 1;
	c->res.uses = c->uses;
	res = c->res;
	c->state = C_IDLE;
	c->cb = NULL;
	c->cbarg = NULL;
	/* the chunk buffer is the largest part of an idle connection */
	smtp_client_tx_free(c);
	c->n = 0;
	c->rcpts = NULL;
	if (cb != NULL)
		cb(arg, &res);
}

int
smtp_client_idle(struct smtp_client *c, unsigned secs, void (*lost)(void *),
    void *arg)
{
	if (c->state != C_IDLE || c->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) != 0)
		return -1;
	c->lost = lost;
	c->lostarg = arg;
	smtp_client_arm(c, secs);
	return 0;
}

void
smtp_client_idle_end(struct smtp_client *c, int polite)
{
	void (*lost)(void *) = c->lost;
	void *arg = c->lostarg;

	c->lost = NULL;
	c->quiet = 1;
	c->cb = NULL;
	if (polite)
		smtp_client_quit(c);
	else
		smtp_client_done(c);
	if (lost != NULL)
		lost(arg);
}

void
smtp_client_close(struct smtp_client *c)
{
	smtp_client_close_cb(c, NULL, NULL);
}

void
smtp_client_close_cb(struct smtp_client *c, smtp_client_cb cb, void *arg)
{
	c->lost = NULL;
	c->quiet = 1;
	c->cb = cb;
	c->cbarg = arg;
	if (c->state == C_IDLE && c->bev != NULL)
		smtp_client_quit(c);
	else
		smtp_client_done(c);
}

time_t
smtp_client_born(const struct smtp_client *c)
{
	return c->born;
}

void
smtp_client_again(struct smtp_client *c, const struct smtp_client_msg *m,
    struct smtp_client_rcpt **rcpts, size_t n, smtp_client_cb cb, void *arg)
{
	char tls[sizeof(c->res.tls)];

	evtimer_del(c->timer);
	c->lost = NULL;
	c->cb = cb;
	c->cbarg = arg;
	smtp_client_tx_free(c);
	smtp_client_tx_init(c, m, rcpts, n);
	c->uses++;
	/* the connection's TLS outcome holds for every transaction on it */
	memcpy(tls, c->res.tls, sizeof(tls));
	memset(&c->res, 0, sizeof(c->res));
	memcpy(c->res.tls, tls, sizeof(tls));
	c->res.connected = 1;
	if (c->state != C_IDLE || c->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) != 0) {
		smtp_client_stale(c, "kept connection no longer usable");
		return;
	}
	if (smtp_client_prepare(c) == -1) {
		smtp_client_quit(c);
		return;
	}
	if (c->ext.pipelining && smtp_client_refuse(c))
		return;
	evbuffer_add(bufferevent_get_output(c->bev), "RSET\r\n", 6);
	if (c->ext.pipelining)
		smtp_client_send_tx(c);
	c->state = C_RSET;
	smtp_client_arm(c, c->command_timeout);
}

void
smtp_client_rset_reply(struct smtp_client *c, int code)
{
	if (code / 100 != 2) {
		smtp_client_stale(c, "RSET refused on a kept connection");
		return;
	}
	if (!c->ext.pipelining) {
		smtp_client_begin(c);
		return;
	}
	/* MAIL, RCPT and DATA went with the RSET: their replies follow */
	c->state = C_MAIL;
	smtp_client_arm(c, c->command_timeout);
}

void
smtp_client_stale(struct smtp_client *c, const char *why)
{
	size_t i;

	/* nothing reached a peer: the recipients are as they were, except
	 * those smtp_client_prepare() refused outright */
	for (i = 0; i < c->n; i++)
		if (c->rstate[i] == R_TRY) {
			c->rcpts[i]->reply[0] = '\0';
			c->rstate[i] = R_SKIP;
		}
	log_debug("smtp_client: relay=%s, %s after %u use(s)", c->relay, why,
	    c->uses - 1);
	c->res.stale = 1;
	c->quiet = 1;
	smtp_client_fail(c, "%s", why);
}
