/*
 * tls — OpenSSL contexts both ways; see tls.h.
 *
 * The settings that make a context postern's are in one place
 * (ctx_common): TLS 1.2 minimum, the AEAD cipher list, no renegotiation,
 * no compression, and an unexpected EOF treated as an EOF (peers that
 * close without close_notify are common in SMTP, and the protocol has its
 * own end: QUIT).  Server contexts add the chain, the key and resumption;
 * client contexts add the CA source.
 */
#include "tls.h"
#include "log.h"
#include "strmap.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SESSION_TIMEOUT		3600	/* seconds a session may resume */
#define SESSION_CACHE_SIZE	20000	/* server-side cache entries */
#define SYSTEM_STORE		""	/* the key of the system CA store */

static void
openssl_error(char *buf, size_t len, unsigned long e)
{
	char text[256];

	if (e == 0)
		e = ERR_peek_last_error();
	if (e == 0) {
		snprintf(buf, len, "%s", errno ? strerror(errno) :
		    "unknown error");
		return;
	}
	ERR_error_string_n(e, text, sizeof(text));
	snprintf(buf, len, "%s", text);
}

/* Can we read path?  OpenSSL's own messages for this are obscure. */
static int
readable(const char *path, const char *what, char *err, size_t errlen)
{
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		close(fd);
		return 0;
	}
	saved = errno;
	snprintf(err, errlen, "%s: cannot read the %s: %s", path, what,
	    strerror(saved));
	errno = saved;
	return -1;
}

static int
ctx_common(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS) != 1)
		return -1;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

/* ---- receiving ---- */

struct tls_server_set {
	struct strmap	*byvs;		/* vserver name -> SSL_CTX */
	struct strmap	*files;		/* vserver name -> "cert\nkey" */
};

SSL_CTX *
tls_server_ctx_new(const char *cert, const char *key, const char *id,
    char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[256];

	if (readable(cert, "certificate", err, errlen) == -1 ||
	    readable(key, "key", err, errlen) == -1)
		return NULL;
	ERR_clear_error();
	errno = 0;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    ctx_common(ctx) == -1) {
		openssl_error(why, sizeof(why), 0);
		snprintf(err, errlen, "cannot make a TLS context: %s", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		openssl_error(why, sizeof(why), 0);
		snprintf(err, errlen, "%s: cannot load the certificate: %s",
		    cert, why);
		SSL_CTX_free(ctx);
		errno = 0;
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		openssl_error(why, sizeof(why), 0);
		snprintf(err, errlen, "%s: cannot load the key for %s: %s", key,
		    cert, why);
		SSL_CTX_free(ctx);
		errno = 0;
		return NULL;
	}
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, SESSION_CACHE_SIZE);
	SSL_CTX_set_timeout(ctx, SESSION_TIMEOUT);
	if (id != NULL)
		SSL_CTX_set_session_id_context(ctx, (const unsigned char *)id,
		    (unsigned)(strlen(id) < SSL_MAX_SID_CTX_LENGTH ?
		    strlen(id) : SSL_MAX_SID_CTX_LENGTH));
	return ctx;
}

static void
ctx_free(void *v)
{
	SSL_CTX_free(v);
}

int
tls_server_set_load(const struct conf *c, const struct tls_server_set *old,
    struct tls_server_set **out, char *err, size_t errlen)
{
	struct tls_server_set *set = xcalloc(1, sizeof(*set));
	const struct conf_vserver *vs;
	const char *oldfiles;
	SSL_CTX *ctx;
	char *files;

	set->byvs = strmap_new();
	set->files = strmap_new();
	for (size_t i = 0; i < c->nvservers; i++) {
		vs = c->vservers[i];
		if (vs->tls_cert == NULL || vs->tls_key == NULL)
			continue;
		files = xasprintf("%s\n%s", vs->tls_cert, vs->tls_key);
		ctx = tls_server_ctx_new(vs->tls_cert, vs->tls_key, vs->name,
		    err, errlen);
		if (ctx == NULL && errno == EACCES && old != NULL &&
		    (oldfiles = strmap_get(old->files, vs->name)) != NULL &&
		    strcmp(oldfiles, files) == 0 &&
		    (ctx = strmap_get(old->byvs, vs->name)) != NULL) {
			log_warnx("%s; virtual server %s keeps the certificate "
			    "read before", err, vs->name);
			SSL_CTX_up_ref(ctx);
		}
		if (ctx == NULL) {
			free(files);
			tls_server_set_free(set);
			return -1;
		}
		strmap_put(set->byvs, vs->name, ctx);
		strmap_put(set->files, vs->name, files);
	}
	ERR_clear_error();
	*out = set;
	return 0;
}

void
tls_server_set_free(struct tls_server_set *set)
{
	if (set == NULL)
		return;
	strmap_free(set->byvs, ctx_free);
	strmap_free(set->files, free);
	free(set);
}

SSL_CTX *
tls_server_ctx(const struct tls_server_set *set, const char *vsname)
{
	return set ? strmap_get(set->byvs, vsname) : NULL;
}

/* ---- delivering ---- */

struct tls_client_set {
	struct strmap	*byca;		/* CA file or SYSTEM_STORE -> SSL_CTX */
};

static struct tls_client_set *installed;	/* loop thread only */

static SSL_CTX *
client_ctx_new(const char *ca, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[256];
	int rc;

	ERR_clear_error();
	errno = 0;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    ctx_common(ctx) == -1) {
		openssl_error(why, sizeof(why), 0);
		snprintf(err, errlen, "cannot make a TLS context: %s", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (*ca != '\0' && readable(ca, "CA certificates", err, errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (*ca != '\0')
		rc = SSL_CTX_load_verify_locations(ctx, ca, NULL);
	else
		rc = SSL_CTX_set_default_verify_paths(ctx);
	if (rc != 1) {
		openssl_error(why, sizeof(why), 0);
		snprintf(err, errlen, "%s: cannot load the CA certificates: %s",
		    *ca ? ca : "system store", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	ERR_clear_error();
	return ctx;
}

static int
client_set_add(struct tls_client_set *set, const char *ca, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;

	if (strmap_get(set->byca, ca) != NULL)
		return 0;
	if ((ctx = client_ctx_new(ca, err, errlen)) == NULL)
		return -1;
	strmap_put(set->byca, ca, ctx);
	return 0;
}

void
tls_client_set_free(struct tls_client_set *set)
{
	if (set == NULL)
		return;
	strmap_free(set->byca, ctx_free);
	free(set);
}

int
tls_client_set_load(const struct conf *c, struct tls_client_set **out,
    char *err, size_t errlen)
{
	struct tls_client_set *set = xcalloc(1, sizeof(*set));
	const struct conf_connector *cn;
	int rc = 0;

	set->byca = strmap_new();
	if (c->mailbox_tls != TLS_NONE)
		rc = client_set_add(set, c->mailbox_tls_ca ?
		    c->mailbox_tls_ca : SYSTEM_STORE, err, errlen);
	for (size_t i = 0; rc == 0 && i < c->nconnectors; i++) {
		cn = c->connectors[i];
		if (cn->tls != TLS_NONE)
			rc = client_set_add(set, cn->tls_ca ? cn->tls_ca :
			    SYSTEM_STORE, err, errlen);
	}
	if (rc == -1) {
		tls_client_set_free(set);
		return -1;
	}
	*out = set;
	return 0;
}

void
tls_client_install(struct tls_client_set *set)
{
	tls_client_set_free(installed);
	installed = set;
}

static int
is_address(const char *name)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, name, bin) == 1 ||
	    inet_pton(AF_INET6, name, bin) == 1;
}

SSL *
tls_client_ssl(enum conf_tls_policy policy, const char *ca, const char *name,
    char *err, size_t errlen)
{
	X509_VERIFY_PARAM *vpm;
	SSL_CTX *ctx;
	SSL *ssl;
	char host[256], why[256];
	size_t n;

	if (ca == NULL)
		ca = SYSTEM_STORE;
	if (installed == NULL) {
		installed = xcalloc(1, sizeof(*installed));
		installed->byca = strmap_new();
	}
	if (client_set_add(installed, ca, err, errlen) == -1)
		return NULL;
	ctx = strmap_get(installed->byca, ca);
	ERR_clear_error();
	if ((ssl = SSL_new(ctx)) == NULL) {
		openssl_error(why, sizeof(why), 0);
		snprintf(err, errlen, "SSL_new: %s", why);
		return NULL;
	}
	snprintf(host, sizeof(host), "%s", name ? name : "");
	if ((n = strlen(host)) > 0 && host[n - 1] == '.')
		host[n - 1] = '\0';
	vpm = SSL_get0_param(ssl);
	if (host[0] != '\0' && is_address(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vpm, host) != 1)
			goto bad;
	} else if (host[0] != '\0') {
		X509_VERIFY_PARAM_set_hostflags(vpm,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, host) != 1 ||
		    SSL_set_tlsext_host_name(ssl, host) != 1)
			goto bad;
	}
	SSL_set_verify(ssl, policy == TLS_VERIFY ? SSL_VERIFY_PEER :
	    SSL_VERIFY_NONE, NULL);
	return ssl;
bad:
	openssl_error(why, sizeof(why), 0);
	snprintf(err, errlen, "cannot verify \"%.255s\": %s", host, why);
	SSL_free(ssl);
	return NULL;
}

/* ---- both ---- */

void
tls_describe(const SSL *ssl, char *buf, size_t len)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg = 0, bits;

	if (c == NULL) {
		snprintf(buf, len, "%s", SSL_get_version(ssl));
		return;
	}
	bits = SSL_CIPHER_get_bits(c, &alg);
	snprintf(buf, len, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(ssl), SSL_CIPHER_get_name(c), bits, alg);
}

int
tls_peer_verified(const SSL *ssl)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	return cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

void
tls_failure(const SSL *ssl, unsigned long err, char *buf, size_t len)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	char why[256];

	if (v != X509_V_OK) {
		snprintf(buf, len, "certificate verification failed: %s",
		    X509_verify_cert_error_string(v));
		return;
	}
	if (err == 0 && ERR_peek_last_error() == 0) {
		snprintf(buf, len, "%s", "connection closed or not TLS");
		return;
	}
	openssl_error(why, sizeof(why), err);
	snprintf(buf, len, "%s", why);
}
