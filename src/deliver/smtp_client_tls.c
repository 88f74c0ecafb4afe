/*
 * smtp_client_tls — the connection of an outbound attempt: connecting
 * (again, in clear text, after a failed handshake under `may`), STARTTLS,
 * and the TLS policy; see smtp_client.h.
 *
 * After EHLO the policy decides: `none` never asks; `may` asks when
 * STARTTLS is offered; `encrypt` and `verify` end the attempt without it
 * (the recipients stay pending: the scheduler defers them, never bounces,
 * and never sends in clear text).  On the 220 to STARTTLS everything the
 * peer sent after it is discarded (the response-injection class) and the
 * plain bufferevent is replaced by an OpenSSL one over the same socket;
 * after the handshake EHLO is sent again and what the peer said before is
 * forgotten.  The TLS outcome (version, cipher, verified or not) goes into
 * res.tls and the log.
 */
#include "smtp_client_priv.h"
#include "log.h"
#include "tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *
smtp_client_tls_policy_name(enum conf_tls_policy p)
{
	switch (p) {
	case TLS_NONE:
		return "none";
	case TLS_MAY:
		return "may";
	case TLS_ENCRYPT:
		return "encrypt";
	case TLS_VERIFY:
		return "verify";
	}
	return "?";
}

int
smtp_client_connect(struct smtp_client *c)
{
	int fd, on = 1;

	if (c->addrlen == 0) {
		smtp_client_set_error(c, "no address to connect to");
		return -1;
	}
	fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		smtp_client_set_error(c, "socket: %s", strerror(errno));
		return -1;
	}
	if (c->sourcelen != 0) {
#ifdef IP_BIND_ADDRESS_NO_PORT
		/* the port is chosen at connect: many more connections */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		    &on, sizeof(on));
#endif
		if (bind(fd, (struct sockaddr *)&c->source, c->sourcelen) ==
		    -1) {
			smtp_client_set_error(c, "bind to source address: %s",
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
	(void)on;
	c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		smtp_client_set_error(c, "out of memory");
		return -1;
	}
	smtp_client_setcb(c, c->bev);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->addr,
	    (int)c->addrlen) == -1) {
		smtp_client_set_error(c, "connect to %s: %s", c->relay,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
smtp_client_tls_after_ehlo(struct smtp_client *c)
{
	if (c->tls_active || c->tls == TLS_NONE || c->tls_plain)
		return 0;
	if (!c->ext.starttls) {
		if (c->tls == TLS_MAY)
			return 0;
		smtp_client_set_error(c, "TLS is required (tls %s), but %s "
		    "does not offer STARTTLS",
		    smtp_client_tls_policy_name(c->tls), c->relay);
		smtp_client_quit(c);
		return 1;
	}
	smtp_client_send_next(c, C_STARTTLS, "STARTTLS\r\n");
	return 1;
}

static void
start_handshake(struct smtp_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct bufferevent *nb;
	evutil_socket_t fd;
	char err[300];
	size_t n;
	SSL *ssl;

	if ((n = evbuffer_get_length(in)) > 0) {
		log_info("smtp_client: relay=%s: discarded %zu bytes sent "
		    "after the reply to STARTTLS", c->relay, n);
		evbuffer_drain(in, n);
	}
	if ((ssl = tls_client_ssl(c->tls, c->tls_ca, c->tls_name, err,
	    sizeof(err))) == NULL) {
		smtp_client_fail(c, "TLS: %s", err);
		return;
	}
	/* The new bufferevent owns the socket from now on. */
	fd = bufferevent_getfd(c->bev);
	bufferevent_setfd(c->bev, -1);
	bufferevent_free(c->bev);
	c->bev = NULL;
	nb = bufferevent_openssl_socket_new(c->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (nb == NULL) {
		SSL_free(ssl);
		close(fd);
		smtp_client_fail(c, "TLS: out of memory");
		return;
	}
	c->bev = nb;
	bufferevent_openssl_set_allow_dirty_shutdown(nb, 1);
	smtp_client_setcb(c, nb);
	bufferevent_enable(nb, EV_READ | EV_WRITE);
	c->state = C_TLS;
	smtp_client_arm(c, c->command_timeout);
}

void
smtp_client_tls_reply(struct smtp_client *c, const struct smtp_reply *r,
    const char *txt)
{
	if (r->code == 220) {
		start_handshake(c);
		return;
	}
	if (c->tls == TLS_MAY) {
		log_info("smtp_client: relay=%s: STARTTLS refused (%s), going "
		    "on in clear text", c->relay, txt);
		c->tls_plain = 1;
		smtp_client_begin(c);
		return;
	}
	smtp_client_set_error(c, "TLS is required (tls %s), but STARTTLS was "
	    "refused: %s", smtp_client_tls_policy_name(c->tls), txt);
	smtp_client_quit(c);
}

static void
handshake_failed(struct smtp_client *c, const char *why)
{
	if (c->tls != TLS_MAY || c->tls_plain) {
		smtp_client_fail(c, "TLS handshake with %s failed: %s",
		    c->relay, why);
		return;
	}
	log_info("smtp_client: relay=%s: TLS handshake failed (%s), trying "
	    "again in clear text", c->relay, why);
	c->tls_plain = 1;
	bufferevent_free(c->bev);
	c->bev = NULL;
	memset(&c->ext, 0, sizeof(c->ext));
	c->state = C_CONNECT;
	if (smtp_client_connect(c) == -1)
		smtp_client_done(c);
	else
		smtp_client_arm(c, c->connect_timeout);
}

void
smtp_client_tls_event(struct smtp_client *c, short what)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	char desc[TLS_INFO_MAX], why[300];

	if (what & BEV_EVENT_CONNECTED) {
		c->tls_active = 1;
		tls_describe(ssl, desc, sizeof(desc));
		snprintf(c->res.tls, sizeof(c->res.tls), "%s, %s", desc,
		    tls_peer_verified(ssl) ? "verified" : "not verified");
		log_info("smtp_client: relay=%s: TLS established: %s",
		    c->relay, c->res.tls);
		/* RFC 3207 4.2: what the peer said in clear text is void */
		memset(&c->ext, 0, sizeof(c->ext));
		snprintf(why, sizeof(why), "EHLO %s\r\n", c->helo);
		smtp_client_send_next(c, C_EHLO, why);
		return;
	}
	tls_failure(ssl, bufferevent_get_openssl_error(c->bev), why,
	    sizeof(why));
	handshake_failed(c, why);
}

void
smtp_client_tls_timeout(struct smtp_client *c)
{
	handshake_failed(c, "timeout");
}
