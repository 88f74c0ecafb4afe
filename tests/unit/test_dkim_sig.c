/*
 * test_dkim_sig — the pure parsers: the tag-list (RFC 6376 3.2), the
 * DKIM-Signature field (3.5) and its ARC variants, the key record
 * (3.6.1), base64 with folding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dkim_sig.h"

static int
tags(const char *s, size_t *nt, struct dkim_tag *t)
{
	char err[128];

	return dkim_sig_taglist(s, strlen(s), t, nt, err, sizeof(err));
}

static void
t_taglist(void **state)
{
	struct dkim_tag t[DKIM_TAGS_MAX];
	size_t nt;

	(void)state;
	assert_int_equal(tags("a=1; b = two words ;c=", &nt, t), 0);
	assert_int_equal(nt, 3);
	assert_int_equal(t[1].valuelen, strlen("two words"));
	assert_memory_equal(t[1].value, "two words", t[1].valuelen);
	assert_int_equal(t[2].valuelen, 0);
	assert_int_equal(tags("a=1;\r\n\tb=2;  ", &nt, t), 0);
	assert_int_equal(nt, 2);
	assert_int_equal(tags("", &nt, t), 0);
	assert_int_equal(nt, 0);
	assert_non_null(dkim_sig_tag(t, 0, "a") == NULL ? t : NULL);
	/* errors */
	assert_int_equal(tags("a=1; a=2", &nt, t), -1);	/* duplicate */
	assert_int_equal(tags("a=1;;b=2", &nt, t), -1);
	assert_int_equal(tags("a", &nt, t), -1);
	assert_int_equal(tags("=x", &nt, t), -1);
	assert_int_equal(tags("1a=x", &nt, t), -1);
	assert_int_equal(tags("a=\x01", &nt, t), -1);
	assert_int_equal(tags("a=caf\xc3\xa9", &nt, t), -1);
	/* the value's extent, for blanking b= */
	assert_int_equal(tags("bh=x; b= abc ;c=1", &nt, t), 0);
	assert_int_equal(t[1].value_off, strlen("bh=x; b="));
	assert_int_equal(t[1].value_end, strlen("bh=x; b= abc "));
}

static void
t_base64(void **state)
{
	unsigned char out[16];

	(void)state;
	assert_int_equal(dkim_sig_base64("aGVsbG8=", 8, out, sizeof(out)), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(dkim_sig_base64("aGVs\r\n bG8", 10, out,
	    sizeof(out)), 5);
	assert_int_equal(dkim_sig_base64("aGVsbG8=x", 9, out, sizeof(out)),
	    -1);
	assert_int_equal(dkim_sig_base64("a", 1, out, sizeof(out)), -1);
	assert_int_equal(dkim_sig_base64("aGVsbG8", 7, out, 2), -1);
	assert_int_equal(dkim_sig_base64("", 0, out, sizeof(out)), 0);
}

#define GOOD "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.ORG;\r\n" \
	" s=sel; h=From:To : subject:from; bh=aGVsbG8=; b=YWJjZGVmZ2hpams="

static int
sig(const char *s, struct dkim_sig *out, char *err)
{
	return dkim_sig_parse(DKIM_SIG_DKIM, s, strlen(s), out, err, 128);
}

static void
t_sig_good(void **state)
{
	struct dkim_sig s;
	char err[128];

	(void)state;
	assert_int_equal(sig(GOOD, &s, err), 0);
	assert_int_equal(s.alg, DKIM_ALG_RSA_SHA256);
	assert_string_equal(s.domain, "example.org");
	assert_string_equal(s.selector, "sel");
	assert_string_equal(s.identity, "@example.org");
	assert_int_equal(s.hcanon, DKIM_CANON_RELAXED);
	assert_int_equal(s.bcanon, DKIM_CANON_SIMPLE);
	assert_int_equal(s.nh, 4);
	assert_string_equal(s.h[0], "from");
	assert_string_equal(s.h[1], "to");
	assert_string_equal(s.h[2], "subject");
	assert_int_equal(s.bhlen, 5);
	assert_string_equal(s.b_prefix, "YWJjZGVm");
	assert_int_equal(s.length, -1);
	assert_int_equal(sig(GOOD "; l=12; t=100; x=200; i=a@mail.example.org;"
	    " q=dns/txt", &s, err), 0);
	assert_int_equal(s.length, 12);
	assert_int_equal(s.timestamp, 100);
	assert_int_equal(s.expire, 200);
	assert_string_equal(s.identity, "a@mail.example.org");
	/* defaults: c=simple/simple; c=relaxed alone is relaxed/simple */
	assert_int_equal(sig("v=1; a=ed25519-sha256; d=x.org; s=s; h=from;"
	    " bh=aGVsbG8=; b=YWJj", &s, err), 0);
	assert_int_equal(s.alg, DKIM_ALG_ED25519_SHA256);
	assert_int_equal(s.hcanon, DKIM_CANON_SIMPLE);
	assert_int_equal(s.bcanon, DKIM_CANON_SIMPLE);
	/* rsa-sha1 parses, so that it can be failed (RFC 8301) */
	assert_int_equal(sig("v=1; a=rsa-sha1; d=x.org; s=s; h=from;"
	    " bh=aGVsbG8=; b=YWJj", &s, err), 0);
	assert_int_equal(s.alg, DKIM_ALG_RSA_SHA1);
}

static void
t_sig_bad(void **state)
{
	static const char *const bad[] = {
		GOOD "; v=1",				/* duplicate */
		"a=rsa-sha256; d=x.org; s=s; h=from; bh=aGVs; b=YWJj",
		"v=2; a=rsa-sha256; d=x.org; s=s; h=from; bh=aGVs; b=YWJj",
		"v=1; a=rsa-md5; d=x.org; s=s; h=from; bh=aGVs; b=YWJj",
		"v=1; a=rsa-sha256; d=x.org; s=s; h=to; bh=aGVs; b=YWJj",
		"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=aGVs; b=",
		"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=aGVs",
		"v=1; a=rsa-sha256; d=x.org; s=s; h=from::to; bh=aGVs; b=YWJj",
		"v=1; a=rsa-sha256; c=fancy; d=x.org; s=s; h=from; bh=aGVs; b=YWJj",
		GOOD "; i=a@example.com",		/* i= not in d= */
		GOOD "; i=a@badexample.org",
		GOOD "; l=-1",
		GOOD "; l=1234567890123456789012",
		GOOD "; t=200; x=100",
		GOOD "; q=http",
		"v=1; a=rsa-sha256; d=x org; s=s; h=from; bh=aGVs; b=YWJj",
		"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=aGVs; b=YWJj; cv=none",
	};
	struct dkim_sig s;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (sig(bad[i], &s, err) != -1)
			fail_msg("parsed: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void
t_arc_fields(void **state)
{
	static const char as[] = "i=2; a=rsa-sha256; cv=pass; d=lists.org;"
	    " s=arc; t=12345; b=YWJj";
	static const char ams[] = "i=1; a=rsa-sha256; c=relaxed/relaxed;"
	    " d=lists.org; s=arc; h=to:subject; bh=aGVsbG8=; b=YWJj";
	static const char as51[] = "i=51; a=rsa-sha256; cv=none; d=a.org;"
	    " s=s; b=YWJj";
	struct dkim_sig s;
	char err[128];

	(void)state;
	assert_int_equal(dkim_sig_parse(DKIM_SIG_AS, as, strlen(as), &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.instance, 2);
	assert_int_equal(s.cv, DKIM_CV_PASS);
	assert_int_equal(s.hcanon, DKIM_CANON_RELAXED);
	assert_int_equal(dkim_sig_parse(DKIM_SIG_AMS, ams, strlen(ams), &s,
	    err, sizeof(err)), 0);
	assert_int_equal(s.instance, 1);
	assert_int_equal(s.nh, 2);			/* From not needed */
	assert_int_equal(dkim_sig_parse(DKIM_SIG_AS, ams, strlen(ams), &s,
	    err, sizeof(err)), -1);			/* h= in a seal */
	assert_int_equal(dkim_sig_parse(DKIM_SIG_AS, as51, strlen(as51), &s,
	    err, sizeof(err)), -1);			/* instance > 50 */
}

static int
key(const char *s, struct dkim_keyrec *k)
{
	char err[128];

	return dkim_sig_keyrec(s, strlen(s), k, err, sizeof(err));
}

static void
t_keyrec(void **state)
{
	struct dkim_keyrec k;

	(void)state;
	assert_int_equal(key("v=DKIM1; p=aGVsbG8=", &k), 0);
	assert_int_equal(k.type, DKIM_KEY_RSA);
	assert_int_equal(k.plen, 5);
	assert_int_equal(key("v=DKIM1; k=ed25519; t=y:s; h=sha1:sha256;"
	    " s=email; p=aGVsbG8=", &k), 0);
	assert_int_equal(k.type, DKIM_KEY_ED25519);
	assert_true(k.testing);
	assert_true(k.strict);
	assert_int_equal(key("p=", &k), 0);		/* revoked */
	assert_int_equal(k.plen, 0);
	assert_int_equal(key("k=rsa; v=DKIM1; p=aGVs", &k), -1);
	assert_int_equal(key("v=DKIM2; p=aGVs", &k), -1);
	assert_int_equal(key("v=DKIM1; k=dsa; p=aGVs", &k), -1);
	assert_int_equal(key("v=DKIM1; h=sha1; p=aGVs", &k), -1);
	assert_int_equal(key("v=DKIM1; s=web; p=aGVs", &k), -1);
	assert_int_equal(key("v=DKIM1", &k), -1);
	assert_int_equal(key("v=DKIM1; p=!!", &k), -1);
	assert_int_equal(key("v=spf1 -all", &k), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_taglist),
		cmocka_unit_test(t_base64),
		cmocka_unit_test(t_sig_good),
		cmocka_unit_test(t_sig_bad),
		cmocka_unit_test(t_arc_fields),
		cmocka_unit_test(t_keyrec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
