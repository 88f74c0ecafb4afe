/*
 * test_dkim_sign — the signer and the key loader: signatures made with
 * RSA-2048 and Ed25519 keys, one or several, verify with dkim_verify
 * under every chunking; the h= list (configured fields as often as
 * present, From over-signed); lines of at most 78 octets; and every way
 * a key file is refused; the end in three steps (prepare, sign on
 * another thread, finish) gives the same fields.  Interop with python3-dkim and Mail::DKIM is in
 * tests/integration/test_dkim_interop.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "fake_dns.h"
#include "dkim_fixture.h"
#include "dkim_key.h"
#include "dkim_sig.h"
#include "dkim_sign.h"
#include "dkim_verify.h"

static EVP_PKEY *rsa, *ed;

static const char msg[] =
    "Received: from a by b\r\n"
    "From: Kim <kim@example.org>\r\n"
    "To: you@example.net\r\n"
    "Cc: one@example.net\r\n"
    "Cc: two@example.net\r\n"
    "Subject: a subject long enough to make the field fold somewhere, or"
    " not\r\n"
    "\r\n"
    "Hello  there \r\n"
    "\r\n\r\n";

static const char *const hdrs[] = { "to", "cc", "subject", "date",
    "message-id", "to" };

static void
on_body(void *arg, const char *p, size_t n)
{
	dkim_signer_body(arg, p, n);
}

/* msg signed with the keys (a new string). */
static char *
sign(const char *m, const struct dkim_sign_key *const *k, size_t nk,
    size_t step)
{
	struct dkim_signer *s = dkim_signer_new(k, nk, 1800000000);
	struct msg_header h;
	char err[128], *sig, *out;
	size_t len;

	fx_feed(m, step, &h, NULL, on_body, s);
	sig = dkim_signer_end(s, &h, &len, err, sizeof(err));
	assert_non_null(sig);
	assert_int_equal(strlen(sig), len);
	out = xasprintf("%s%s", sig, m);
	free(sig);
	dkim_signer_free(s);
	msg_header_free(&h);
	return out;
}

static void
v_header(void *arg, const struct msg_header *h)
{
	dkim_verify_header(arg, h);
}

static void
v_body(void *arg, const char *p, size_t n)
{
	dkim_verify_body(arg, p, n);
}

static struct dkim_sig_result results[DKIM_VERIFY_MAX];
static size_t nresults;

static void
done(void *arg, const struct dkim_sig_result *r, size_t nr)
{
	(void)arg;
	memcpy(results, r, nr * sizeof(*r));
	nresults = nr;
}

static void
verify(const char *m)
{
	struct fake_dns *fd = fake_dns_new();
	struct authdns dns = fake_dns_authdns(fd);
	struct dkim_verify *v = dkim_verify_new(1800000000);
	const struct dkim_sig_result *r;
	struct msg_header h;
	char *rec;
	size_t nr;

	rec = fx_keyrec(rsa);
	fake_dns_add_txt(fd, "rsa._domainkey.example.org", rec);
	free(rec);
	rec = fx_keyrec(ed);
	fake_dns_add_txt(fd, "ed._domainkey.sub.example.org", rec);
	free(rec);
	nresults = 0;
	fx_feed(m, 4096, &h, v_header, v_body, v);
	assert_int_equal(dkim_verify_end(v, &h, &dns, done, NULL, &r, &nr),
	    1);
	fake_dns_run(fd);
	dkim_verify_free(v);
	msg_header_free(&h);
	fake_dns_free(fd);
}

static void
t_sign_verify(void **state)
{
	struct dkim_sign_key kr = { rsa, "example.org", "rsa", hdrs, 6 };
	struct dkim_sign_key ke = { ed, "sub.example.org", "ed", hdrs, 3 };
	const struct dkim_sign_key *both[] = { &kr, &ke };
	size_t step;
	char *m;

	(void)state;
	for (step = 1; step < sizeof(msg); step += 7) {
		m = sign(msg, both, 2, step);
		verify(m);
		assert_int_equal(nresults, 2);
		assert_int_equal(results[0].result, DKIM_PASS);
		assert_int_equal(results[1].result, DKIM_PASS);
		assert_string_equal(results[0].algorithm, "rsa-sha256");
		assert_string_equal(results[1].algorithm, "ed25519-sha256");
		assert_string_equal(results[1].domain, "sub.example.org");
		free(m);
	}
	m = sign(msg, both, 2, 4096);
	/* From over-signed: one more From, even on top, breaks both */
	{
		const char *from = strstr(m, "From: Kim");
		char *u = xasprintf("%.*sFrom: evil@example.com\r\n%s",
		    (int)(from - m), m, from);

		verify(u);
		assert_int_equal(results[0].result, DKIM_FAIL);
		assert_int_equal(results[1].result, DKIM_FAIL);
		free(u);
	}
	/* a third Cc: the two signed ones are the bottom ones, so one
	 * added on top changes nothing; one added below breaks */
	{
		const char *to = strstr(m, "To: you");
		char *u = xasprintf("%.*sCc: three@example.net\r\n%s",
		    (int)(to - m), m, to);

		verify(u);
		assert_int_equal(results[0].result, DKIM_PASS);
		free(u);
		to = strstr(m, "Subject:");
		u = xasprintf("%.*sCc: three@example.net\r\n%s",
		    (int)(to - m), m, to);
		verify(u);
		assert_int_equal(results[0].result, DKIM_FAIL);
		free(u);
	}
	free(m);
}

static void
t_format(void **state)
{
	struct dkim_sign_key kr = { rsa, "example.org", "rsa", hdrs, 6 };
	const struct dkim_sign_key *one[] = { &kr };
	char *m = sign(msg, one, 1, 4096), *line, *save = NULL, *hl;
	size_t sigs = 0;

	(void)state;
	/* h= lists From twice (present once), To once (configured
	 * twice), Cc twice, Subject once, nothing for Date */
	hl = strstr(m, "h=");
	assert_non_null(hl);
	assert_memory_equal(hl, "h=from:from:to:cc:cc:subject;", 29);
	assert_non_null(strstr(m, "c=relaxed/relaxed;"));
	assert_non_null(strstr(m, "t=1800000000;"));
	assert_null(strstr(m, " l="));
	assert_null(strstr(m, " x="));
	for (line = strtok_r(m, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);

		assert_true(n >= 1 && line[n - 1] == '\r');
		assert_true(n - 1 <= DKIM_SIGN_LINE_MAX);
		sigs += strncmp(line, "DKIM-Signature:", 15) == 0;
	}
	assert_int_equal(sigs, 1);
	free(m);
}

static void
t_many_fields(void **state)
{
	static const char *const to[] = { "to", "subject" };
	struct dkim_sign_key kr = { rsa, "example.org", "rsa", to, 2 };
	const struct dkim_sign_key *one[] = { &kr };
	struct dkim_signer *s;
	struct msg_header h;
	char *m = xstrdup(msg), *t, err[128];
	size_t len;
	int i;

	(void)state;
	/* more To: fields than h= holds: it lists the bottom ones that
	 * fit, and verifies */
	for (i = 0; i < DKIM_SIG_H_MAX + 10; i++) {
		t = xasprintf("To: r%d@example.net\r\n%s", i, m);
		free(m);
		m = t;
	}
	t = sign(m, one, 1, 4096);
	verify(t);
	assert_int_equal(nresults, 1);
	assert_int_equal(results[0].result, DKIM_PASS);
	free(t);
	/* as many From: fields as h= holds cannot be over-signed: an
	 * error, not a crash */
	for (i = 0; i < DKIM_SIG_H_MAX; i++) {
		t = xasprintf("From: f%d@example.org\r\n%s", i, m);
		free(m);
		m = t;
	}
	s = dkim_signer_new(one, 1, 1800000000);
	fx_feed(m, 4096, &h, NULL, on_body, s);
	assert_null(dkim_signer_end(s, &h, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "From"));
	dkim_signer_free(s);
	msg_header_free(&h);
	free(m);
}

static void *
sign_thread(void *arg)
{
	return (void *)(intptr_t)dkim_signer_sign(arg);
}

/*
 * prepare, sign on another thread, finish: the same fields as
 * dkim_signer_end(), even when the keys and the header section are gone
 * once prepared (a reload freed the configuration, the session ended).
 */
static void
t_sign_in_steps(void **state)
{
	EVP_PKEY *kr_copy = EVP_PKEY_dup(rsa), *ke_copy = EVP_PKEY_dup(ed);
	struct dkim_sign_key kr = { kr_copy, "example.org", "rsa", hdrs, 6 };
	struct dkim_sign_key ke = { ed, "sub.example.org", "ed", hdrs, 3 };
	const struct dkim_sign_key *both[] = { &kr, &ke };
	struct dkim_signer *s;
	struct msg_header h;
	char err[128], *whole, *steps;
	size_t len;
	pthread_t t;
	void *rc;

	(void)state;
	assert_non_null(kr_copy);
	assert_non_null(ke_copy);
	ke.pkey = ke_copy;
	whole = sign(msg, both, 2, 4096);
	s = dkim_signer_new(both, 2, 1800000000);
	fx_feed(msg, 4096, &h, NULL, on_body, s);
	assert_int_equal(dkim_signer_prepare(s, &h, err, sizeof(err)), 0);
	msg_header_free(&h);
	EVP_PKEY_free(kr_copy);
	EVP_PKEY_free(ke_copy);
	assert_int_equal(pthread_create(&t, NULL, sign_thread, s), 0);
	assert_int_equal(pthread_join(t, &rc), 0);
	assert_int_equal((intptr_t)rc, 0);
	steps = dkim_signer_finish(s, &len, err, sizeof(err));
	assert_non_null(steps);
	assert_int_equal(strlen(steps), len);
	assert_true(strncmp(whole, steps, len) == 0);
	/* once only */
	assert_int_equal(dkim_signer_prepare(s, &h, err, sizeof(err)), -1);
	dkim_signer_free(s);
	free(steps);
	free(whole);
}

static char *
keyfile(EVP_PKEY *k, const char *text)
{
	char *path = xstrdup("/tmp/test_dkim_sign.XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	assert_non_null(f);
	if (k != NULL)
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	else
		fputs(text, f);
	fclose(f);
	return path;
}

static void
t_key_load(void **state)
{
	EVP_PKEY *small = fx_key_rsa(1024);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k;
	char err[256], *p;

	(void)state;
	p = keyfile(rsa, NULL);
	k = dkim_key_load(p, err, sizeof(err));
	assert_non_null(k);
	EVP_PKEY_free(k);
	unlink(p);
	free(p);
	p = keyfile(ed, NULL);
	k = dkim_key_load(p, err, sizeof(err));
	assert_non_null(k);
	EVP_PKEY_free(k);
	unlink(p);
	free(p);
	p = keyfile(small, NULL);
	assert_null(dkim_key_load(p, err, sizeof(err)));
	assert_non_null(strstr(err, ": RSA key of 1024 bits, at least 2048 "
	    "needed"));
	assert_memory_equal(err, p, strlen(p));
	unlink(p);
	free(p);
	p = keyfile(ec, NULL);
	assert_null(dkim_key_load(p, err, sizeof(err)));
	assert_non_null(strstr(err, ": key type EC (RSA or Ed25519 needed)"));
	unlink(p);
	free(p);
	p = keyfile(NULL, "not a key\n");
	assert_null(dkim_key_load(p, err, sizeof(err)));
	assert_non_null(strstr(err, "not a PEM private key"));
	unlink(p);
	free(p);
	assert_null(dkim_key_load("/nonexistent/k.pem", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/k.pem: cannot read: "
	    "No such file or directory");
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}

static int
setup(void **state)
{
	(void)state;
	rsa = fx_key_rsa(2048);
	ed = fx_key_ed25519();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_sign_verify),
		cmocka_unit_test(t_format),
		cmocka_unit_test(t_many_fields),
		cmocka_unit_test(t_sign_in_steps),
		cmocka_unit_test(t_key_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
