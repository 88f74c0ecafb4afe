/*
 * smtp_server_tls — the TLS side of client connections; see
 * smtp_server.h and smtp_server_priv.h.
 *
 * A connection on an implicit-TLS listener starts as an OpenSSL
 * bufferevent over its socket.  After STARTTLS the plain bufferevent is
 * replaced by one over the same socket once the 220 is written out, and
 * whatever the client sent after STARTTLS is discarded first, so that no
 * plaintext command can ride into the TLS session (CVE-2011-0411).
 * Replacing the bufferevent rather than stacking a filter on it keeps one
 * output buffer: "output empty" then means "handed to the kernel", which
 * is what closing after a 221 or 421 relies on.  Until the handshake is
 * done the session gets no input.
 *
 * The TLS material and AUTH users of a configuration are read by
 * smtp_server_load_tls() (before privileges are dropped at start) and put
 * in force with the configuration; the failure counts of AUTH and the
 * password verifier (one thread, made at start) live for the server's
 * life.
 */
#include "smtp_server_priv.h"
#include "auth.h"
#include "log.h"
#include "tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <stdio.h>

void
smtp_server_tls_init(struct smtp_server *srv)
{
	srv->authguard = auth_guard_new();
	srv->verifier = auth_verifier_new(srv->base);
}

static void
drop_staged(struct smtp_server *srv)
{
	tls_server_set_free(srv->next_tls);
	auth_set_free(srv->next_auths);
	tls_client_set_free(srv->next_client);
	srv->next_tls = NULL;
	srv->next_auths = NULL;
	srv->next_client = NULL;
}

int
smtp_server_load_tls(struct smtp_server *srv, const struct conf *conf,
    char *err, size_t errlen)
{
	struct tls_server_set *tls;
	struct auth_set *auths;
	struct tls_client_set *client;

	/* Files unreadable now but read before (privileges dropped) keep
	 * what is in force. */
	if (tls_server_set_load(conf, srv->tls, &tls, err, errlen) == -1)
		return -1;
	if (auth_set_load(conf, srv->auths, &auths, err, errlen) == -1) {
		tls_server_set_free(tls);
		return -1;
	}
	if (tls_client_set_load(conf, &client, err, errlen) == -1) {
		tls_server_set_free(tls);
		auth_set_free(auths);
		return -1;
	}
	drop_staged(srv);
	srv->next_tls = tls;
	srv->next_auths = auths;
	srv->next_client = client;
	return 0;
}

void
smtp_server_tls_commit(struct smtp_server *srv)
{
	/* Connections hold their TLS context and sessions their AUTH users:
	 * the previous sets can go. */
	if (srv->next_tls == NULL)
		return;
	tls_server_set_free(srv->tls);
	auth_set_free(srv->auths);
	srv->tls = srv->next_tls;
	srv->auths = srv->next_auths;
	tls_client_install(srv->next_client);
	srv->next_tls = NULL;
	srv->next_auths = NULL;
	srv->next_client = NULL;
}

/* After the connections are gone. */
void
smtp_server_tls_free(struct smtp_server *srv)
{
	auth_verifier_free(srv->verifier);
	auth_guard_free(srv->authguard);
	drop_staged(srv);
	tls_server_set_free(srv->tls);
	auth_set_free(srv->auths);
	tls_client_install(NULL);
}

/*
 * STARTTLS answered: no more reading in clear text, and what the client
 * pipelined after STARTTLS is thrown away (RFC 3207 5, CVE-2011-0411).
 * The switch waits until the 220 is out of our buffer.
 */
void
smtp_server_starttls(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);

	bufferevent_disable(c->bev, EV_READ);
	if (n > 0) {
		log_info("session=%016llx client=%s discarded %zu bytes sent "
		    "after STARTTLS", (unsigned long long)c->sess->id,
		    c->sess->peer_ip, n);
		evbuffer_drain(in, n);
	}
	c->tls_switch = 1;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		smtp_server_starttls_switch(c);
	/* else write_cb switches */
}

void
smtp_server_starttls_switch(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct bufferevent *nb;
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	SSL *ssl;

	c->tls_switch = 0;
	if (evbuffer_get_length(in) > 0)
		evbuffer_drain(in, evbuffer_get_length(in));
	if (c->ssl_ctx == NULL || (ssl = SSL_new(c->ssl_ctx)) == NULL) {
		log_warnx("session=%016llx: cannot start TLS",
		    (unsigned long long)c->sess->id);
		smtp_server_close(c);
		return;
	}
	/* The new bufferevent owns the socket from now on. */
	bufferevent_setfd(c->bev, -1);
	bufferevent_free(c->bev);
	c->bev = NULL;
	nb = bufferevent_openssl_socket_new(c->srv->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (nb == NULL) {
		log_warnx("session=%016llx: cannot start TLS",
		    (unsigned long long)c->sess->id);
		SSL_free(ssl);
		evutil_closesocket(fd);
		smtp_server_close(c);
		return;
	}
	c->handshaking = 1;
	smtp_server_set_bev(c, nb);
}

void
smtp_server_tls_event(struct conn *c, short what)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		c->handshaking = 0;
		tls_describe(ssl, why, sizeof(why));
		log_info("session=%016llx client=%s TLS established (%s): %s",
		    (unsigned long long)c->sess->id, c->sess->peer_ip,
		    c->implicit ? "implicit" : "STARTTLS", why);
		smtp_session_tls_started(c->sess, why);
		smtp_server_pump(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timeout");
	else
		tls_failure(ssl, bufferevent_get_openssl_error(c->bev), why,
		    sizeof(why));
	log_info("session=%016llx client=%s TLS handshake failed: %s",
	    (unsigned long long)c->sess->id, c->sess->peer_ip, why);
	smtp_server_close(c);
}
