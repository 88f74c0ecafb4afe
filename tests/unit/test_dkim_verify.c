/*
 * test_dkim_verify — the verifier over fake DNS: pass with RSA and
 * Ed25519 under each canonicalization, under every chunk size; what
 * breaks a signature (a signed header, the body, over-signing, the key);
 * RFC 8301 (rsa-sha1, short keys); x=; l=; the limits; and the calling
 * rule (at once without DNS, otherwise the callback once, later, never
 * after free).  Signatures are made by dkim_fixture.h, except the
 * RFC 8463 example, verified as published.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fake_dns.h"
#include "dkim_fixture.h"
#include "dkim_verify.h"

#define NOW	1800000000

static EVP_PKEY *rsa, *ed, *rsa_short;

static const char msg[] =
    "From: Kim <kim@example.org>\r\n"
    "To: you@example.net\r\n"
    "Subject: the  test\r\n"
    "\tfolded \r\n"
    "\r\n"
    "Hello  there \r\n"
    "\r\n"
    "second line\r\n"
    "\r\n\r\n";

#define RSA_TAGS "v=1; a=rsa-sha256; d=example.org; s=rsa"
#define ED_TAGS "v=1; a=ed25519-sha256; d=example.org; s=ed"

struct run {
	struct fake_dns		*fd;
	int			 inside;	/* in dkim_verify_end */
	int			 cbs;
	int			 later;		/* the result came by cb */
	struct dkim_sig_result	 r[DKIM_VERIFY_MAX];
	size_t			 nr;
	size_t			 ignored;
};

static void
on_header(void *arg, const struct msg_header *h)
{
	dkim_verify_header(arg, h);
}

static void
on_body(void *arg, const char *p, size_t n)
{
	dkim_verify_body(arg, p, n);
}

static void
done(void *arg, const struct dkim_sig_result *r, size_t nr)
{
	struct run *R = arg;

	assert_false(R->inside);
	R->cbs++;
	memcpy(R->r, r, nr * sizeof(*r));
	R->nr = nr;
}

static struct fake_dns *
zone(void)
{
	struct fake_dns *fd = fake_dns_new();
	char *rec;

	rec = fx_keyrec(rsa);
	fake_dns_add_txt(fd, "rsa._domainkey.example.org", rec);
	fake_dns_add_txt(fd, "wrongtype._domainkey.example.org", rec);
	free(rec);
	rec = fx_keyrec(ed);
	fake_dns_add_txt(fd, "ed._domainkey.example.org", "v=spf1 -all");
	fake_dns_add_txt(fd, "ed._domainkey.example.org", rec);
	free(rec);
	rec = fx_keyrec(rsa_short);
	fake_dns_add_txt(fd, "short._domainkey.example.org", rec);
	free(rec);
	fake_dns_add_txt(fd, "gone._domainkey.example.org", "v=DKIM1; p=");
	fake_dns_add_txt(fd, "junk._domainkey.example.org", "v=DKIM1; p=AAAA");
	fake_dns_set(fd, "tf._domainkey.example.org", DNS_T_TXT,
	    DNS_RR_TEMPFAIL);
	return fd;
}

static void
verify_step(struct run *R, const char *m, size_t step, time_t now)
{
	struct authdns dns;
	struct dkim_verify *v = dkim_verify_new(now);
	const struct dkim_sig_result *res = NULL;
	struct msg_header h;
	size_t nres = 0;

	memset(R, 0, sizeof(*R));
	R->fd = zone();
	dns = fake_dns_authdns(R->fd);
	fx_feed(m, step, &h, on_header, on_body, v);
	R->inside = 1;
	if (dkim_verify_end(v, &h, &dns, done, R, &res, &nres) == 0) {
		R->inside = 0;
		assert_int_equal(R->fd->asked, 0);
		memcpy(R->r, res, nres * sizeof(*res));
		R->nr = nres;
	} else {
		R->inside = 0;
		assert_int_equal(R->cbs, 0);
		fake_dns_run(R->fd);
		assert_int_equal(R->cbs, 1);
		R->later = 1;
	}
	R->ignored = dkim_verify_ignored(v);
	dkim_verify_free(v);
	msg_header_free(&h);
	fake_dns_free(R->fd);
}

static void
verify(struct run *R, const char *m)
{
	verify_step(R, m, 4096, NOW);
}

static void
expect(const char *m, enum dkim_result want, const char *detail)
{
	struct run R;

	verify(&R, m);
	assert_int_equal(R.nr, 1);
	if (R.r[0].result != want)
		fail_msg("%s, not %s (%s)", dkim_result_name(R.r[0].result),
		    dkim_result_name(want), R.r[0].detail);
	if (detail != NULL && strstr(R.r[0].detail, detail) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", R.r[0].detail, detail);
}

/* RFC 8463 Appendix A.3: the example message signed with both of
 * Appendix A.2's keys (an RSA key of 1024 bits: still accepted). */
static const char rfc8463[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n"
    "\r\n";

static void
t_rfc8463(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct authdns dns = fake_dns_authdns(fd);
	struct dkim_verify *v = dkim_verify_new(NOW);
	const struct dkim_sig_result *res;
	struct msg_header h;
	struct run R;
	size_t nres;

	(void)state;
	memset(&R, 0, sizeof(R));
	fake_dns_add_txt(fd, "brisbane._domainkey.football.example.com",
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	fake_dns_add_txt(fd, "test._domainkey.football.example.com",
	    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
	    "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
	    "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
	    "Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
	fx_feed(rfc8463, 13, &h, on_header, on_body, v);
	assert_int_equal(dkim_verify_end(v, &h, &dns, done, &R, &res, &nres),
	    1);
	fake_dns_run(fd);
	assert_int_equal(R.nr, 2);
	assert_int_equal(R.r[0].result, DKIM_PASS);
	assert_int_equal(R.r[1].result, DKIM_PASS);
	assert_string_equal(R.r[0].algorithm, "ed25519-sha256");
	assert_string_equal(R.r[0].b_prefix, "/gCrinpc");
	assert_string_equal(R.r[1].identity, "@football.example.com");
	dkim_verify_free(v);
	msg_header_free(&h);
	fake_dns_free(fd);
}

static void
t_none(void **state)
{
	struct run R;

	(void)state;
	verify(&R, msg);
	assert_int_equal(R.nr, 0);
	assert_false(R.later);
}

static void
t_pass_each_canon(void **state)
{
	static const char *const c[] = { "simple/simple", "simple/relaxed",
	    "relaxed/simple", "relaxed/relaxed", "relaxed", "simple" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *tags, *m;

		tags = xasprintf(RSA_TAGS "; c=%s; h=from:to:subject", c[i]);
		m = fx_sign(msg, rsa, tags);
		expect(m, DKIM_PASS, NULL);
		free(m);
		free(tags);
		tags = xasprintf(ED_TAGS "; c=%s; h=from:subject", c[i]);
		m = fx_sign(msg, ed, tags);
		expect(m, DKIM_PASS, NULL);
		free(m);
		free(tags);
	}
}

static void
t_every_chunking(void **state)
{
	char *m = fx_sign(msg, rsa, RSA_TAGS "; c=relaxed/relaxed; h=from");
	char *m2 = fx_sign(m, ed, ED_TAGS "; c=simple/simple; h=from:to");
	struct run R;
	size_t step;

	(void)state;
	for (step = 1; step <= strlen(m2) + 1; step++) {
		verify_step(&R, m2, step, NOW);
		assert_int_equal(R.nr, 2);
		assert_int_equal(R.r[0].result, DKIM_PASS);
		assert_int_equal(R.r[1].result, DKIM_PASS);
	}
	assert_string_equal(R.r[0].domain, "example.org");
	assert_string_equal(R.r[0].selector, "ed");
	assert_string_equal(R.r[0].algorithm, "ed25519-sha256");
	assert_string_equal(R.r[0].identity, "@example.org");
	assert_int_equal(strlen(R.r[0].b_prefix), 8);
	assert_int_equal(R.r[0].length, -1);
	free(m);
	free(m2);
}

/* m with the first occurrence of a replaced by b (a new string). */
static char *
replace(const char *m, const char *a, const char *b)
{
	const char *p = strstr(m, a);

	assert_non_null(p);
	return xasprintf("%.*s%s%s", (int)(p - m), m, b, p + strlen(a));
}

static void
t_tampered(void **state)
{
	char *m = fx_sign(msg, rsa, RSA_TAGS "; c=relaxed/relaxed;"
	    " h=from:to:subject");
	char *t;

	(void)state;
	t = replace(m, "Subject: the", "Subject: a");
	expect(t, DKIM_FAIL, "signature did not verify");
	free(t);
	t = replace(m, "second line", "Second line");
	expect(t, DKIM_FAIL, "body hash");
	free(t);
	/* relaxed: blanks and trailing empty lines do not matter */
	t = replace(m, "Hello  there \r\n", "Hello there\r\n");
	expect(t, DKIM_PASS, NULL);
	free(t);
	t = replace(m, "Subject: the  test", "SUBJECT:the test");
	expect(t, DKIM_PASS, NULL);
	free(t);
	/* an unsigned field, anywhere, changes nothing; the gateway's own
	 * Received: on top either */
	t = replace(m, "To:", "X-Added: 1\r\nTo:");
	expect(t, DKIM_PASS, NULL);
	free(t);
	t = xasprintf("Received: from x by y; Mon, 7 Dec 2026\r\n%s", m);
	expect(t, DKIM_PASS, NULL);
	free(t);
	/* a second Subject added below the signed one is the one verified
	 * (bottom-up): fail */
	t = replace(m, "\r\n\r\nHello", "\r\nSubject: other\r\n\r\nHello");
	expect(t, DKIM_FAIL, NULL);
	free(t);
	free(m);
}

static void
t_oversigning(void **state)
{
	char *m = fx_sign(msg, rsa, RSA_TAGS "; c=relaxed/relaxed;"
	    " h=from:from:subject:subject:cc");
	char *t;

	(void)state;
	expect(m, DKIM_PASS, NULL);
	/* a From or Cc added anywhere now breaks it */
	t = replace(m, "To:", "From: evil@example.com\r\nTo:");
	expect(t, DKIM_FAIL, NULL);
	free(t);
	t = replace(m, "To:", "Cc: evil@example.com\r\nTo:");
	expect(t, DKIM_FAIL, NULL);
	free(t);
	free(m);
}

static void
t_keys(void **state)
{
	EVP_PKEY *other;
	char *m;

	(void)state;
	m = fx_sign(msg, rsa, "v=1; a=rsa-sha256; d=example.org; s=nokey;"
	    " h=from");
	expect(m, DKIM_PERMERROR, "no key record");
	free(m);
	m = fx_sign(msg, rsa, "v=1; a=rsa-sha256; d=example.org; s=gone;"
	    " h=from");
	expect(m, DKIM_PERMERROR, "revoked");
	free(m);
	m = fx_sign(msg, rsa, "v=1; a=rsa-sha256; d=example.org; s=junk;"
	    " h=from");
	expect(m, DKIM_PERMERROR, "bad public key");
	free(m);
	m = fx_sign(msg, rsa, "v=1; a=rsa-sha256; d=example.org; s=tf;"
	    " h=from");
	expect(m, DKIM_TEMPERROR, "lookup failed");
	free(m);
	m = fx_sign(msg, ed, "v=1; a=ed25519-sha256; d=example.org;"
	    " s=wrongtype; h=from");
	expect(m, DKIM_PERMERROR, "key type");
	free(m);
	/* RFC 8301 3.2: under 1024 bits fails */
	m = fx_sign(msg, rsa_short, "v=1; a=rsa-sha256; d=example.org;"
	    " s=short; h=from");
	expect(m, DKIM_FAIL, "RFC 8301");
	free(m);
	/* the other key of the right type: fail */
	other = fx_key_ed25519();
	m = fx_sign(msg, other, ED_TAGS "; h=from");
	expect(m, DKIM_FAIL, "did not verify");
	free(m);
	EVP_PKEY_free(other);
}

static void
t_at_once(void **state)
{
	struct run R;
	char *m;

	(void)state;
	/* rsa-sha1 (RFC 8301 3.1) and a malformed field: no DNS */
	m = fx_sign(msg, rsa, "v=1; a=rsa-sha1; d=example.org; s=rsa;"
	    " h=from");
	verify(&R, m);
	assert_false(R.later);
	assert_int_equal(R.r[0].result, DKIM_FAIL);
	assert_string_equal(R.r[0].algorithm, "rsa-sha1");
	free(m);
	m = xasprintf("DKIM-Signature: v=1; a=rsa-sha256; d=example.org;"
	    " s=rsa; h=to; bh=AAAA; b=AAAA\r\n%s", msg);
	verify(&R, m);
	assert_false(R.later);
	assert_int_equal(R.r[0].result, DKIM_PERMERROR);
	assert_string_equal(R.r[0].domain, "example.org");
	assert_string_equal(R.r[0].selector, "rsa");
	assert_non_null(strstr(R.r[0].detail, "From"));
	free(m);
}

static void
t_times(void **state)
{
	struct run R;
	char *m;

	(void)state;
	m = fx_sign(msg, rsa, RSA_TAGS "; h=from; t=1700000000;"
	    " x=1800000100");
	verify_step(&R, m, 4096, NOW);
	assert_int_equal(R.r[0].result, DKIM_PASS);
	verify_step(&R, m, 4096, NOW + 101);
	assert_int_equal(R.r[0].result, DKIM_FAIL);
	assert_string_equal(R.r[0].detail, "signature expired");
	free(m);
	/* a t= in the future is not held against it (clocks differ) */
	m = fx_sign(msg, rsa, RSA_TAGS "; h=from; t=1900000000");
	expect(m, DKIM_PASS, NULL);
	free(m);
}

static void
t_length(void **state)
{
	struct run R;
	char *m, *t;

	(void)state;
	m = fx_sign(msg, rsa, RSA_TAGS "; c=relaxed/relaxed; h=from; l=7");
	verify(&R, m);
	assert_int_equal(R.r[0].result, DKIM_PASS);
	assert_int_equal(R.r[0].length, 7);
	/* text appended after l= octets still passes (and is recorded) */
	t = replace(m, "second line", "APPENDED");
	expect(t, DKIM_PASS, NULL);
	free(t);
	t = replace(m, "Hello", "Jello");
	expect(t, DKIM_FAIL, "body hash");
	free(t);
	free(m);
	/* l= beyond the body */
	m = fx_sign(msg, rsa, RSA_TAGS "; c=relaxed/relaxed; h=from;"
	    " l=10000");
	expect(m, DKIM_FAIL, "l=");
	free(m);
}

static void
t_limits(void **state)
{
	struct run R;
	char *m = xstrdup(msg), *t;
	int i;

	(void)state;
	for (i = 0; i < DKIM_VERIFY_MAX + 2; i++) {
		t = fx_sign(m, i % 2 ? ed : rsa, i % 2 ? ED_TAGS "; h=from" :
		    RSA_TAGS "; c=relaxed/simple; h=from:to");
		free(m);
		m = t;
	}
	verify(&R, m);
	assert_int_equal(R.nr, DKIM_VERIFY_MAX);
	assert_int_equal(R.ignored, 2);
	for (i = 0; i < DKIM_VERIFY_MAX; i++)
		assert_int_equal(R.r[i].result, DKIM_PASS);
	free(m);
}

static void
t_free_pending(void **state)
{
	struct fake_dns *fd = zone();
	struct authdns dns = fake_dns_authdns(fd);
	struct dkim_verify *v = dkim_verify_new(NOW);
	const struct dkim_sig_result *res;
	struct msg_header h;
	struct run R;
	size_t nres;
	char *m = fx_sign(msg, rsa, RSA_TAGS "; h=from");

	(void)state;
	memset(&R, 0, sizeof(R));
	fx_feed(m, 100, &h, on_header, on_body, v);
	assert_int_equal(dkim_verify_end(v, &h, &dns, done, &R, &res, &nres),
	    1);
	dkim_verify_free(v);
	assert_int_equal(fake_dns_run(fd), 0);
	assert_int_equal(R.cbs, 0);
	msg_header_free(&h);
	fake_dns_free(fd);
	free(m);
	assert_string_equal(dkim_result_name(DKIM_PERMERROR), "permerror");
	assert_string_equal(dkim_result_name(DKIM_NONE), "none");
}

static int
setup(void **state)
{
	(void)state;
	rsa = fx_key_rsa(2048);
	ed = fx_key_ed25519();
	rsa_short = fx_key_rsa(768);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa_short);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rfc8463),
		cmocka_unit_test(t_none),
		cmocka_unit_test(t_pass_each_canon),
		cmocka_unit_test(t_every_chunking),
		cmocka_unit_test(t_tampered),
		cmocka_unit_test(t_oversigning),
		cmocka_unit_test(t_keys),
		cmocka_unit_test(t_at_once),
		cmocka_unit_test(t_times),
		cmocka_unit_test(t_length),
		cmocka_unit_test(t_limits),
		cmocka_unit_test(t_free_pending),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
