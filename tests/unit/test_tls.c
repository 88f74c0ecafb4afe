/*
 * tls: the contexts both ways, driven through in-memory handshakes (a BIO
 * pair, no sockets) with a CA, leaf and self-signed certificates made
 * here with the OpenSSL API: server contexts from files and their errors,
 * TLS 1.2 as the floor both ways, verification of names and addresses
 * under `verify`, the outcome under `may`, SNI, the failure texts, CA
 * sources of a configuration, and session resumption.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tls.h"

static char dir[] = "/tmp/postern-test-tls-XXXXXX";
static char ca_pem[128], leaf_pem[128], leaf_key[128], self_pem[128],
    self_key[128], other_key[128];

static EVP_PKEY *
make_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

static X509 *
make_cert(EVP_PKEY *key, const char *cn, const char *san, EVP_PKEY *signer,
    X509 *issuer, int ca)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;
	static long serial = 1;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    X509_get_subject_name(x));
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (ca) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (san) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
		    (char *)san);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, signer ? signer : key, EVP_sha256()) > 0);
	return x;
}

static void
write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (x)
		PEM_write_X509(f, x);
	if (k)
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static int
setup(void **state)
{
	EVP_PKEY *cak, *lk, *sk, *ok;
	X509 *ca, *leaf, *self;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", dir);
	snprintf(leaf_pem, sizeof(leaf_pem), "%s/leaf.pem", dir);
	snprintf(leaf_key, sizeof(leaf_key), "%s/leaf.key", dir);
	snprintf(self_pem, sizeof(self_pem), "%s/self.pem", dir);
	snprintf(self_key, sizeof(self_key), "%s/self.key", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
	cak = make_key();
	lk = make_key();
	sk = make_key();
	ok = make_key();
	ca = make_cert(cak, "test CA", NULL, NULL, NULL, 1);
	leaf = make_cert(lk, "mx.test", "DNS:mx.test,DNS:*.wild.test,"
	    "IP:127.0.0.9", cak, ca, 0);
	self = make_cert(sk, "mx.test", "DNS:mx.test", NULL, NULL, 0);
	write_pem(ca_pem, ca, NULL);
	write_pem(leaf_pem, leaf, NULL);
	write_pem(leaf_key, NULL, lk);
	write_pem(self_pem, self, NULL);
	write_pem(self_key, NULL, sk);
	write_pem(other_key, NULL, ok);
	X509_free(ca);
	X509_free(leaf);
	X509_free(self);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(ok);
	return 0;
}

static int
teardown(void **state)
{
	const char *files[] = { ca_pem, leaf_pem, leaf_key, self_pem,
	    self_key, other_key };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(dir);
	tls_client_install(NULL);
	return 0;
}

/* Run both sides over a BIO pair: 1 if both finished, 0 if one failed. */
static int
handshake(SSL *client, SSL *server)
{
	BIO *a, *b;
	int rc, rs, i;

	assert_int_equal(BIO_new_bio_pair(&a, 0, &b, 0), 1);
	SSL_set_bio(client, a, a);
	SSL_set_bio(server, b, b);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	for (i = 0; i < 100; i++) {
		rc = SSL_do_handshake(client);
		rs = SSL_do_handshake(server);
		if (rc == 1 && rs == 1)
			return 1;
		if ((rc <= 0 && SSL_get_error(client, rc) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(client, rc) != SSL_ERROR_WANT_WRITE) ||
		    (rs <= 0 && SSL_get_error(server, rs) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(server, rs) != SSL_ERROR_WANT_WRITE))
			return 0;
	}
	return 0;
}

static SSL_CTX *
server_ctx(const char *cert, const char *key)
{
	char err[512];
	SSL_CTX *ctx = tls_server_ctx_new(cert, key, "test", err, sizeof(err));

	if (ctx == NULL)
		fail_msg("%s", err);
	return ctx;
}

static void
t_server_ctx(void **state)
{
	SSL_CTX *ctx = server_ctx(leaf_pem, leaf_key);
	char err[512];

	(void)state;
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_true(SSL_CTX_get_session_cache_mode(ctx) &
	    SSL_SESS_CACHE_SERVER);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_free(ctx);
	assert_null(tls_server_ctx_new("/nonexistent.pem", leaf_key, NULL,
	    err, sizeof(err)));
	assert_string_equal(err, "/nonexistent.pem: cannot read the "
	    "certificate: No such file or directory");
	assert_null(tls_server_ctx_new(leaf_pem, "/nonexistent.key", NULL,
	    err, sizeof(err)));
	assert_string_equal(err, "/nonexistent.key: cannot read the key: No "
	    "such file or directory");
	assert_null(tls_server_ctx_new(leaf_pem, other_key, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "other.key: cannot load the key for "));
	assert_null(tls_server_ctx_new(leaf_key, leaf_key, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "leaf.key: cannot load the certificate: "));
}

static SSL *
client(enum conf_tls_policy p, const char *ca, const char *name)
{
	char err[512];
	SSL *ssl = tls_client_ssl(p, ca, name, err, sizeof(err));

	if (ssl == NULL)
		fail_msg("%s", err);
	return ssl;
}

/* One handshake of a client (policy, name) with a server (cert, key):
 * the outcome, and the failure text in why. */
static int
try(enum conf_tls_policy p, const char *name, const char *cert,
    const char *key, int *verified, char *why, size_t whylen)
{
	SSL_CTX *sctx = server_ctx(cert, key);
	SSL *c = client(p, ca_pem, name), *s = SSL_new(sctx);
	int ok = handshake(c, s);

	why[0] = '\0';
	if (ok) {
		*verified = tls_peer_verified(c);
		tls_describe(c, why, whylen);
	} else
		tls_failure(c, 0, why, whylen);
	ERR_clear_error();
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(sctx);
	return ok;
}

static void
t_verify(void **state)
{
	char why[256];
	int v = -1;

	(void)state;
	assert_true(try(TLS_VERIFY, "mx.test", leaf_pem, leaf_key, &v, why,
	    sizeof(why)));
	assert_true(v);
	assert_true(strncmp(why, "TLSv1.3 with cipher TLS_", 24) == 0);
	assert_non_null(strstr(why, " bits)"));
	assert_true(try(TLS_VERIFY, "mx.test.", leaf_pem, leaf_key, &v, why,
	    sizeof(why)));		/* trailing dot of a DNS name */
	assert_true(try(TLS_VERIFY, "a.wild.test", leaf_pem, leaf_key, &v,
	    why, sizeof(why)));
	assert_false(try(TLS_VERIFY, "a.b.wild.test", leaf_pem, leaf_key, &v,
	    why, sizeof(why)));
	assert_false(try(TLS_VERIFY, "other.test", leaf_pem, leaf_key, &v, why,
	    sizeof(why)));
	assert_string_equal(why, "certificate verification failed: hostname "
	    "mismatch");
	assert_true(try(TLS_VERIFY, "127.0.0.9", leaf_pem, leaf_key, &v, why,
	    sizeof(why)));
	assert_false(try(TLS_VERIFY, "127.0.0.8", leaf_pem, leaf_key, &v, why,
	    sizeof(why)));
	assert_string_equal(why, "certificate verification failed: IP address "
	    "mismatch");
	assert_false(try(TLS_VERIFY, "mx.test", self_pem, self_key, &v, why,
	    sizeof(why)));
	assert_string_equal(why, "certificate verification failed: "
	    "self-signed certificate");
}

static void
t_may_and_encrypt_record_only(void **state)
{
	char why[256];
	int v = -1;

	(void)state;
	assert_true(try(TLS_MAY, "other.test", leaf_pem, leaf_key, &v, why,
	    sizeof(why)));
	assert_false(v);
	assert_true(try(TLS_ENCRYPT, "mx.test", self_pem, self_key, &v, why,
	    sizeof(why)));
	assert_false(v);
	assert_true(try(TLS_MAY, "mx.test", leaf_pem, leaf_key, &v, why,
	    sizeof(why)));
	assert_true(v);
}

static void
t_sni(void **state)
{
	SSL *c;

	(void)state;
	c = client(TLS_MAY, NULL, "mx.test.");
	assert_string_equal(SSL_get_servername(c, TLSEXT_NAMETYPE_host_name),
	    "mx.test");
	SSL_free(c);
	c = client(TLS_MAY, NULL, "::1");
	assert_null(SSL_get_servername(c, TLSEXT_NAMETYPE_host_name));
	assert_int_equal(SSL_get_verify_mode(c), SSL_VERIFY_NONE);
	SSL_free(c);
	c = client(TLS_VERIFY, NULL, "10.0.0.25");
	assert_int_equal(SSL_get_verify_mode(c), SSL_VERIFY_PEER);
	SSL_free(c);
}

static void
t_old_versions_refused(void **state)
{
	SSL_CTX *sctx = server_ctx(leaf_pem, leaf_key), *old;
	SSL *c, *s;

	(void)state;
	/* an old client against our server */
	old = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_security_level(old, 0);
	SSL_CTX_set_min_proto_version(old, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION);
	SSL_CTX_set_cipher_list(old, "DEFAULT@SECLEVEL=0");
	c = SSL_new(old);
	s = SSL_new(sctx);
	assert_false(handshake(c, s));
	SSL_free(c);
	SSL_free(s);
	/* our client against an old server */
	SSL_CTX_set_security_level(sctx, 0);
	SSL_CTX_set_min_proto_version(sctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(sctx, TLS1_1_VERSION);
	SSL_CTX_set_cipher_list(sctx, "DEFAULT@SECLEVEL=0");
	c = client(TLS_MAY, NULL, "mx.test");
	s = SSL_new(sctx);
	assert_false(handshake(c, s));
	SSL_free(c);
	SSL_free(s);
	ERR_clear_error();
	SSL_CTX_free(old);
	SSL_CTX_free(sctx);
}

static void
t_resumption(void **state)
{
	SSL_CTX *sctx = server_ctx(leaf_pem, leaf_key);
	SSL *c = client(TLS_VERIFY, ca_pem, "mx.test"), *s = SSL_new(sctx);
	SSL_SESSION *sess;
	char byte;

	(void)state;
	assert_true(handshake(c, s));
	/* TLS 1.3 tickets come after the handshake: let the client read */
	assert_true(SSL_write(s, "x", 1) == 1);
	assert_int_equal(SSL_read(c, &byte, 1), 1);
	sess = SSL_get1_session(c);
	assert_non_null(sess);
	SSL_shutdown(c);	/* else the session is dropped as broken */
	SSL_free(c);
	SSL_free(s);
	c = client(TLS_VERIFY, ca_pem, "mx.test");
	s = SSL_new(sctx);
	SSL_set_session(c, sess);
	assert_true(handshake(c, s));
	assert_true(SSL_session_reused(c));
	SSL_SESSION_free(sess);
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(sctx);
}

static void
t_configuration(void **state)
{
	char text[2048], err[CONF_ERR_MAX];
	struct tls_server_set *set;
	struct tls_client_set *cs;
	struct conf *c;

	(void)state;
	snprintf(text, sizeof(text),
	    "hostname gw.test\nspool /nonexistent\n"
	    "virtual-server a {\n listen 127.0.0.2:25\n"
	    " tls certificate %s key %s\n}\n"
	    "virtual-server b {\n listen 127.0.0.3:25\n}\n"
	    "connector out {\n address-space * cost 1\n home a\n"
	    " tls verify\n tls-ca %s\n}\n", leaf_pem, leaf_key, ca_pem);
	if (conf_load_string("t.conf", text, &c, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(tls_server_set_load(c, NULL, &set, err, sizeof(err)),
	    0);
	assert_non_null(tls_server_ctx(set, "a"));
	assert_null(tls_server_ctx(set, "b"));
	tls_server_set_free(set);
	assert_int_equal(tls_client_set_load(c, &cs, err, sizeof(err)), 0);
	tls_client_install(cs);
	conf_unref(c);

	snprintf(text, sizeof(text),
	    "hostname gw.test\nspool /nonexistent\n"
	    "virtual-server a {\n listen 127.0.0.2:25\n}\n"
	    "connector out {\n address-space * cost 1\n home a\n"
	    " tls verify\n tls-ca %s/missing.pem\n}\n", dir);
	if (conf_load_string("t.conf", text, &c, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(tls_client_set_load(c, &cs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing.pem: cannot read the CA "
	    "certificates: No such file or directory"));
	assert_null(tls_client_ssl(TLS_VERIFY, c->connectors[0]->tls_ca,
	    "mx.test", err, sizeof(err)));
	conf_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_server_ctx),
		cmocka_unit_test(t_verify),
		cmocka_unit_test(t_may_and_encrypt_record_only),
		cmocka_unit_test(t_sni),
		cmocka_unit_test(t_old_versions_refused),
		cmocka_unit_test(t_resumption),
		cmocka_unit_test(t_configuration),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
