/*
 * directory_ldap_open — opening one LDAP connection, and handing it to the
 * event loop non-blocking (docs/ldap.md, "Connections").
 *
 * directory_ldap_open() runs on a worker thread: libldap's connect, TLS
 * handshake, StartTLS and bind are synchronous calls, each bounded by the
 * timeout (LDAP_OPT_NETWORK_TIMEOUT, LDAP_OPT_TIMEOUT, and SO_RCVTIMEO /
 * SO_SNDTIMEO set by the connect callback).
 *
 * directory_ldap_nonblock() runs on the loop when the bound connection
 * arrives there: from then on the socket is O_NONBLOCK, so no libldap call
 * of the loop can wait for the server.  A read that finds half an LDAP
 * message or half a TLS record returns EWOULDBLOCK, libldap keeps the
 * part, and the rest comes with a later EV_READ.  A write that the socket
 * does not take leaves the rest of the request with libldap (an LDAP
 * request "writing", or a TLS record): a Sockbuf layer of ours, between
 * libldap's TLS and TCP layers, notes that in struct dl_watch so that the
 * loop waits for EV_WRITE and lets ldap_result() flush it.
 */
#include "directory_ldap.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- connecting (worker thread) ---- */

/*
 * Every blocking read and write of the connect is bounded; keepalives find
 * a connection that a firewall dropped while it was idle (ldapi:// sockets
 * refuse them, harmlessly).
 */
static int
conncb_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
    struct ldap_conncb *ctx)
{
	struct timeval tv = { (time_t)(size_t)ctx->lc_arg, 0 };
	int on = 1, idle = 60, intvl = 10, cnt = 3;
	ber_socket_t fd;

	(void)ld;
	(void)srv;
	(void)addr;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1 && fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
		    sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	return 0;
}

static void
conncb_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	(void)ld;
	(void)sb;
	(void)ctx;
}

void
directory_ldap_conncb_init(struct ldap_conncb *cb, unsigned timeout)
{
	memset(cb, 0, sizeof(*cb));
	cb->lc_add = conncb_add;
	cb->lc_del = conncb_del;
	cb->lc_arg = (void *)(size_t)timeout;
}

int
directory_ldap_open(const struct dl_settings *s, const char *uri,
    struct ldap_conncb *cb, LDAP **ldp, char *err, size_t errlen)
{
	struct timeval tv = { (time_t)s->timeout, 0 };
	struct berval cred;
	int rc, v3 = LDAP_VERSION3;
	const char *step;
	char *diag = NULL;
	LDAP *ld = NULL;

	*ldp = NULL;
	if ((rc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS) {
		snprintf(err, errlen, "%s", ldap_err2string(rc));
		return -1;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_CONNECT_CB, cb);
	/* TLS uses libldap's global context, which demands a valid
	 * certificate (directory_ldap.c sets that up at open); with tls-ca,
	 * a context of this connection's own, made from its options (which
	 * start as a copy of the global ones) with that CA bundle. */
	if (s->tls_ca != NULL) {
		int demand = LDAP_OPT_X_TLS_DEMAND, client = 0;

		step = "tls-ca";
		/* That bundle alone: no CA directory of ldap.conf. */
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR,
		    NULL) != LDAP_OPT_SUCCESS ||
		    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE,
		    s->tls_ca)) != LDAP_OPT_SUCCESS ||
		    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
		    &demand)) != LDAP_OPT_SUCCESS ||
		    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX,
		    &client)) != LDAP_OPT_SUCCESS) {
			rc = LDAP_LOCAL_ERROR;
			goto fail;
		}
	}
	step = "connect";
	if ((rc = ldap_connect(ld)) != LDAP_SUCCESS)
		goto fail;
	if (s->starttls && strncasecmp(uri, "ldap://", 7) == 0) {
		step = "StartTLS";
		if ((rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS)
			goto fail;
	}
	step = "bind";
	cred.bv_val = s->password ? s->password : (char *)"";
	cred.bv_len = strlen(cred.bv_val);
	rc = ldap_sasl_bind_s(ld, s->bind_dn ? s->bind_dn : "",
	    LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		goto fail;
	*ldp = ld;
	return 0;
fail:
	ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(err, errlen, "%s: %s%s%s", step, ldap_err2string(rc),
	    diag && *diag ? ": " : "", diag ? diag : "");
	ldap_memfree(diag);
	ldap_unbind_ext(ld, NULL, NULL);
	return -1;
}

/* ---- on the loop: non-blocking, writes watched ---- */

/* A pass-through layer: reads and controls go down unchanged; each write
 * records whether the socket took it (ber_flush2 and OpenSSL write until
 * done or until the socket refuses, so the last write tells whether
 * libldap still holds bytes). */
static int
watch_setup(Sockbuf_IO_Desc *sbiod, void *arg)
{
	sbiod->sbiod_pvt = arg;
	return 0;
}

static int
watch_ctrl(Sockbuf_IO_Desc *sbiod, int opt, void *arg)
{
	return LBER_SBIOD_CTRL_NEXT(sbiod, opt, arg);
}

static ber_slen_t
watch_read(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	return LBER_SBIOD_READ_NEXT(sbiod, buf, len);
}

static ber_slen_t
watch_write(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	struct dl_watch *w = sbiod->sbiod_pvt;
	ber_slen_t n = LBER_SBIOD_WRITE_NEXT(sbiod, buf, len);

	w->writes++;
	w->blocked = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	return n;
}

/* libldap closes the socket itself when it finds the connection broken
 * (and at unbind): the loop must not let it reconnect synchronously. */
static int
watch_close(Sockbuf_IO_Desc *sbiod)
{
	struct dl_watch *w = sbiod->sbiod_pvt;

	w->closed = 1;
	return 0;
}

static Sockbuf_IO watch_io = {
	watch_setup,		/* sbi_setup */
	NULL,			/* sbi_remove */
	watch_ctrl,		/* sbi_ctrl */
	watch_read,		/* sbi_read */
	watch_write,		/* sbi_write */
	watch_close,		/* sbi_close */
};

int
directory_ldap_nonblock(LDAP *ld, struct dl_watch *w, int *fdp)
{
	Sockbuf *sb = NULL;
	ber_socket_t fd = -1;

	memset(w, 0, sizeof(*w));
	if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS ||
	    sb == NULL || ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 ||
	    fd < 0)
		return -1;
	/* Below TLS (LBER_SBIOD_LEVEL_TRANSPORT), above TCP: it sees the
	 * bytes that go to the socket. */
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_NONBLOCK, (void *)1) != 1 ||
	    ber_sockbuf_add_io(sb, &watch_io, LBER_SBIOD_LEVEL_PROVIDER,
	    w) != 0)
		return -1;
	*fdp = fd;
	return 0;
}
