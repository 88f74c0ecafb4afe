/*
 * tls — the OpenSSL contexts of postern, both ways (postern.conf(5) `tls`,
 * connector `tls`/`tls-ca`, `mailbox-tls`; docs/tls.md).
 *
 * Receiving: one server context per virtual server with `tls`, holding its
 * certificate chain and key, read at start before privileges are dropped
 * and again on every reload (struct tls_server_set, swapped whole like the
 * configuration).  A key that cannot be read any more on a reload
 * (privileges dropped) while the old set holds the same files keeps the
 * old context, with a warning.  Session resumption: a session cache and
 * TLS 1.3 tickets, per context.
 *
 * Delivering: one client context per CA source (a connector's `tls-ca`
 * file, or the system store), built for every source the configuration
 * names when it is loaded (struct tls_client_set) and installed as the set
 * outbound connections use; tls_client_ssl() makes one connection's SSL
 * with the policy's verification and the name to match.
 *
 * Both ways: TLS 1.2 or later, ECDHE/DHE with AEAD ciphers for TLS 1.2
 * (TLS 1.3 suites as OpenSSL has them), no renegotiation, no compression.
 * Everything here runs on the loop thread; SSL_CTX objects are reference
 * counted by OpenSSL, so a connection keeps its context alive across a
 * reload.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "conf.h"

#define TLS_INFO_MAX	128	/* "TLSv1.3 with cipher ... (256/256 bits)" */

/* The TLS 1.2 cipher list, both ways (TLS 1.3 uses OpenSSL's suites). */
#define TLS_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"

/* ---- receiving ---- */

struct tls_server_set;

/* Contexts for every virtual server of c with `tls`.  0, or -1 with err
 * ("PATH: why"). */
int	tls_server_set_load(const struct conf *c,
	    const struct tls_server_set *old, struct tls_server_set **out,
	    char *err, size_t errlen);
void	tls_server_set_free(struct tls_server_set *set);
/* The context of one virtual server (borrowed: SSL_CTX_up_ref to keep
 * it), or NULL. */
SSL_CTX	*tls_server_ctx(const struct tls_server_set *set, const char *vsname);
/* One server context from files; NULL with err.  For tests. */
SSL_CTX	*tls_server_ctx_new(const char *cert, const char *key, const char *id,
	    char *err, size_t errlen);

/* ---- delivering ---- */

struct tls_client_set;

/* Client contexts for every CA source c names.  0, or -1 with err. */
int	tls_client_set_load(const struct conf *c, struct tls_client_set **out,
	    char *err, size_t errlen);
/* From now on outbound connections use set (taken over; the previous set
 * is freed; NULL frees the current one). */
void	tls_client_install(struct tls_client_set *set);
/* A set never installed. */
void	tls_client_set_free(struct tls_client_set *set);
/*
 * A new SSL for one outbound connection under policy (TLS_MAY, TLS_ENCRYPT
 * or TLS_VERIFY): verification against ca (a file, or NULL for the system
 * store) of `name` (a host name, or an IPv4/IPv6 address, which is then
 * matched as an address).  TLS_VERIFY fails the handshake on a bad
 * certificate; the others only record the result (tls_peer_verified).  A
 * CA source the installed set lacks is loaded now and kept.  NULL with
 * err on failure.
 */
SSL	*tls_client_ssl(enum conf_tls_policy policy, const char *ca,
	    const char *name, char *err, size_t errlen);

/* ---- both ---- */

/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)". */
void	tls_describe(const SSL *ssl, char *buf, size_t len);
/* Did the peer present a certificate that verified (chain and name)? */
int	tls_peer_verified(const SSL *ssl);
/* Why a handshake failed: the verification error if there was one, else
 * the OpenSSL error (err, as bufferevent_get_openssl_error() returns it,
 * or 0 for the thread's error queue). */
void	tls_failure(const SSL *ssl, unsigned long err, char *buf, size_t len);

#endif
