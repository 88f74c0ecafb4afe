/*
 * test_arc — the ARC chain verifier over fake DNS: chains of one to
 * three sets pass under every chunking; each way a chain breaks fails
 * (the body, a signed field, a sealed AAR, a set missing or doubled, a
 * gap, cv= wrong, more than 50 instances, the key); the outcome's
 * instances, sealer and AAR; the calling rule.  Sets are made here with
 * dkim_fixture.h (the AMS) and a small sealer; python3-dkim's ARC signer
 * is in tests/integration/test_arc_interop.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fake_dns.h"
#include "dkim_fixture.h"
#include "arc.h"

static EVP_PKEY *rsa;

static const char msg[] =
    "From: Kim <kim@example.org>\r\n"
    "To: list@lists.example\r\n"
    "Subject: the list\r\n"
    "\r\n"
    "Hello  there \r\n"
    "\r\n";

/* The raw field named name with instance inst in h (index), or -1. */
static int
find(const struct msg_header *h, const char *name, int inst)
{
	char tag[16];
	size_t i, len;

	snprintf(tag, sizeof(tag), "i=%d;", inst);
	for (i = 0; i < h->nf; i++) {
		const char *v;

		if (!msg_field_is(h, i, name))
			continue;
		v = msg_field_value(h, i, &len);
		while (*v == ' ')
			v++;
		if (strncmp(v, tag, strlen(tag)) == 0)
			return (int)i;
	}
	return -1;
}

/* m with ARC set n added (cv as given, the AAR text aar): a new
 * string. */
static char *
add_set(const char *m, int n, const char *cv, const char *aar,
    const char *domain)
{
	struct msg_header h;
	unsigned char hash[32];
	char *m1, *m2, *tags, *seal, *b, *out;
	EVP_MD_CTX *md;
	unsigned int len;
	size_t rl;
	const char *raw;
	int j, k;
	static const char *const names[] = { "arc-authentication-results",
	    "arc-message-signature", "arc-seal" };

	m1 = xasprintf("ARC-Authentication-Results: i=%d; %s\r\n%s", n, aar,
	    m);
	tags = xasprintf("i=%d; a=rsa-sha256; c=relaxed/relaxed; d=%s;"
	    " s=rsa; h=from:to:subject", n, domain);
	m2 = fx_sign_kind(DKIM_SIG_AMS, m1, rsa, tags);
	seal = xasprintf("ARC-Seal: i=%d; a=rsa-sha256; cv=%s; d=%s; s=rsa;"
	    "\r\n b=\r\n", n, cv, domain);
	m1 = (free(m1), xasprintf("%s%s", seal, m2));
	fx_feed(m1, 1 << 20, &h, NULL, NULL, NULL);
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (j = 1; j <= n; j++)
		for (k = 0; k < 3; k++) {
			int f = find(&h, names[k], j);

			if (f < 0)
				continue;	/* a broken chain on purpose */
			raw = msg_field_raw(&h, (size_t)f, &rl);
			if (j == n && k == 2)
				dkim_check_hash_sigfield(md,
				    DKIM_CANON_RELAXED, raw, rl);
			else
				dkim_check_hash_field(md, DKIM_CANON_RELAXED,
				    raw, rl, 1);
		}
	EVP_DigestFinal_ex(md, hash, &len);
	EVP_MD_CTX_free(md);
	b = fx_sign_digest(rsa, 0, hash, 32);
	out = xasprintf("ARC-Seal: i=%d; a=rsa-sha256; cv=%s; d=%s; s=rsa;"
	    "\r\n b=%s\r\n%s", n, cv, domain, b, m2);
	msg_header_free(&h);
	free(b);
	free(m1);
	free(m2);
	free(seal);
	free(tags);
	return out;
}

static char *
chain(int sets)
{
	char *m = xstrdup(msg), *t;
	int i;

	for (i = 1; i <= sets; i++) {
		char aar[64];

		snprintf(aar, sizeof(aar), "hop%d.example; arc=%s", i,
		    i == 1 ? "none" : "pass");
		t = add_set(m, i, i == 1 ? "none" : "pass", aar,
		    i == sets ? "lists.example" : "example.org");
		free(m);
		m = t;
	}
	return m;
}

struct run {
	int		 cbs;
	int		 inside;
	int		 later;
	struct arc_outcome o;
	char		 aar[256];
};

static void
on_header(void *arg, const struct msg_header *h)
{
	arc_verify_header(arg, h);
}

static void
on_body(void *arg, const char *p, size_t n)
{
	arc_verify_body(arg, p, n);
}

static void
keep(struct run *R, const struct arc_outcome *o)
{
	R->o = *o;
	snprintf(R->aar, sizeof(R->aar), "%s", o->aar ? o->aar : "");
	R->o.aar = NULL;
}

static void
done(void *arg, const struct arc_outcome *o)
{
	struct run *R = arg;

	assert_false(R->inside);
	R->cbs++;
	keep(R, o);
}

static void
verify_dns(struct run *R, const char *m, size_t step, struct fake_dns *fd)
{
	struct authdns dns = fake_dns_authdns(fd);
	struct arc_verify *a = arc_verify_new(1800000000);
	const struct arc_outcome *o;
	struct msg_header h;

	memset(R, 0, sizeof(*R));
	fx_feed(m, step, &h, on_header, on_body, a);
	R->inside = 1;
	if (arc_verify_end(a, &h, &dns, done, R, &o) == 0) {
		R->inside = 0;
		keep(R, o);
	} else {
		R->inside = 0;
		assert_int_equal(R->cbs, 0);
		fake_dns_run(fd);
		assert_int_equal(R->cbs, 1);
		R->later = 1;
	}
	arc_verify_free(a);
	msg_header_free(&h);
}

static struct fake_dns *
zone(void)
{
	struct fake_dns *fd = fake_dns_new();
	char *rec = fx_keyrec(rsa);

	fake_dns_add_txt(fd, "rsa._domainkey.example.org", rec);
	fake_dns_add_txt(fd, "rsa._domainkey.lists.example", rec);
	free(rec);
	return fd;
}

static void
verify(struct run *R, const char *m)
{
	struct fake_dns *fd = zone();

	verify_dns(R, m, 4096, fd);
	fake_dns_free(fd);
}

static void
expect_fail(const char *m, const char *detail, int at_once)
{
	struct run R;

	verify(&R, m);
	if (R.o.result != ARC_FAIL)
		fail_msg("%s, not fail", arc_result_name(R.o.result));
	if (strstr(R.o.detail, detail) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", R.o.detail, detail);
	assert_int_equal(R.later, !at_once);
}

static void
t_none(void **state)
{
	struct run R;

	(void)state;
	verify(&R, msg);
	assert_int_equal(R.o.result, ARC_NONE);
	assert_false(R.later);
	assert_string_equal(arc_result_name(ARC_NONE), "none");
}

static void
t_pass(void **state)
{
	struct run R;
	int sets;

	(void)state;
	for (sets = 1; sets <= 3; sets++) {
		char *m = chain(sets), want[64];

		verify(&R, m);
		assert_int_equal(R.o.result, ARC_PASS);
		assert_true(R.later);
		assert_int_equal(R.o.instances, sets);
		assert_string_equal(R.o.sealer, "lists.example");
		snprintf(want, sizeof(want), "hop%d.example; arc=%s", sets,
		    sets == 1 ? "none" : "pass");
		assert_string_equal(R.aar, want);
		free(m);
	}
}

static void
t_every_chunking(void **state)
{
	char *m = chain(2);
	struct fake_dns *fd = zone();
	struct run R;
	size_t step;

	(void)state;
	for (step = 1; step <= strlen(m); step += step < 40 ? 1 : 37) {
		verify_dns(&R, m, step, fd);
		assert_int_equal(R.o.result, ARC_PASS);
	}
	fake_dns_free(fd);
	free(m);
}

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
	char *m = chain(2), *t;

	(void)state;
	t = replace(m, "Hello", "Jello");
	expect_fail(t, "body hash", 0);
	free(t);
	t = replace(m, "Subject: the list", "Subject: the lost");
	expect_fail(t, "ARC-Message-Signature i=2: signature", 0);
	free(t);
	/* the AAR of set 1 is sealed by both seals */
	t = replace(m, "hop1.example; arc=none", "hop1.example; arc=pass");
	expect_fail(t, "ARC-Seal", 0);
	free(t);
	/* unsigned fields and the gateway's Received: change nothing */
	t = xasprintf("Received: from a by b\r\nX-New: 1\r\n%s", m);
	{
		struct run R;

		verify(&R, t);
		assert_int_equal(R.o.result, ARC_PASS);
	}
	free(t);
	free(m);
}

static void
t_structure(void **state)
{
	char *m = chain(2), *t, *u;

	(void)state;
	/* the newest seal removed */
	t = xstrdup(strstr(m, "ARC-Message-Signature: i=2"));
	expect_fail(t, "no arc-seal with i=2", 1);
	free(t);
	/* a set doubled */
	t = xasprintf("ARC-Authentication-Results: i=1; x\r\n%s", m);
	expect_fail(t, "two arc-authentication-results with i=1", 1);
	free(t);
	/* a gap: sets 1 and 3 */
	t = chain(1);
	u = add_set(t, 3, "pass", "hop3.example; arc=pass", "example.org");
	expect_fail(u, "no arc-authentication-results with i=2", 1);
	free(u);
	/* cv= wrong on i=1, on i=2, and cv=fail */
	u = add_set(t, 2, "none", "hop2.example; arc=pass", "example.org");
	expect_fail(u, "ARC-Seal i=2 with cv=none", 1);
	free(u);
	u = add_set(t, 2, "fail", "hop2.example; arc=fail", "example.org");
	expect_fail(u, "cv=fail", 1);
	free(u);
	free(t);
	t = add_set(msg, 1, "pass", "hop1.example; arc=pass", "example.org");
	expect_fail(t, "ARC-Seal i=1 with cv=pass", 1);
	free(t);
	/* instance 51, and no instance */
	t = xasprintf("ARC-Seal: i=51; a=rsa-sha256; cv=pass; d=a.org; s=s;"
	    " b=YWJj\r\n%s", m);
	expect_fail(t, "bad instance", 1);
	free(t);
	t = xasprintf("ARC-Authentication-Results: hop.example; spf=pass\r\n%s",
	    msg);
	expect_fail(t, "bad instance", 1);
	free(t);
	free(m);
}

static void
t_keys(void **state)
{
	char *m = chain(2);
	struct fake_dns *fd = fake_dns_new();
	char *rec = fx_keyrec(rsa);
	struct run R;

	(void)state;
	/* the sealer of set 2 has no key */
	fake_dns_add_txt(fd, "rsa._domainkey.example.org", rec);
	verify_dns(&R, m, 4096, fd);
	assert_int_equal(R.o.result, ARC_FAIL);
	assert_non_null(strstr(R.o.detail, "no key record"));
	fake_dns_free(fd);
	/* a DNS failure fails the chain too */
	fd = fake_dns_new();
	fake_dns_add_txt(fd, "rsa._domainkey.example.org", rec);
	fake_dns_set(fd, "rsa._domainkey.lists.example", DNS_T_TXT,
	    DNS_RR_TEMPFAIL);
	verify_dns(&R, m, 4096, fd);
	assert_int_equal(R.o.result, ARC_FAIL);
	assert_non_null(strstr(R.o.detail, "lookup failed"));
	fake_dns_free(fd);
	free(rec);
	free(m);
}

static void
t_free_pending(void **state)
{
	struct fake_dns *fd = zone();
	struct authdns dns = fake_dns_authdns(fd);
	struct arc_verify *a = arc_verify_new(1800000000);
	const struct arc_outcome *o;
	struct msg_header h;
	struct run R;
	char *m = chain(3);

	(void)state;
	memset(&R, 0, sizeof(R));
	fx_feed(m, 512, &h, on_header, on_body, a);
	assert_int_equal(arc_verify_end(a, &h, &dns, done, &R, &o), 1);
	arc_verify_free(a);
	assert_int_equal(fake_dns_run(fd), 0);
	assert_int_equal(R.cbs, 0);
	msg_header_free(&h);
	fake_dns_free(fd);
	free(m);
}

static int
setup(void **state)
{
	(void)state;
	rsa = fx_key_rsa(2048);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_none),
		cmocka_unit_test(t_pass),
		cmocka_unit_test(t_every_chunking),
		cmocka_unit_test(t_tampered),
		cmocka_unit_test(t_structure),
		cmocka_unit_test(t_keys),
		cmocka_unit_test(t_free_pending),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
