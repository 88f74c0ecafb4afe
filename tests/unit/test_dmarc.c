/*
 * test_dmarc — the DMARC evaluator on a table zone (fake_dns.h): record
 * discovery (From domain, then organizational domain; several records;
 * non-DMARC TXT), relaxed and strict alignment of SPF and DKIM, p and sp,
 * pct sampling, DNS failures, an unusable From, cancel, and the rule that
 * the callback never runs inside dmarc_check_start.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dmarc.h"
#include "fake_dns.h"
#include "orgdomain.h"

struct run {
	struct dmarc_outcome o;
	int		 calls;
};

static uint32_t fixed_rnd;

static uint32_t
rnd(void)
{
	return fixed_rnd;
}

static void
done(void *arg, const struct dmarc_outcome *o)
{
	struct run *r = arg;

	r->o = *o;
	r->calls++;
}

/* Run one check to its end; the outcome, whether it came at once or not. */
static struct dmarc_outcome
check(struct fake_dns *fd, const char *from, const char *spf, int spf_pass,
    const char *d1, const char *d2, unsigned *asked)
{
	const char *dk[2];
	size_t nd = 0;
	struct dmarc_input in = { 0 };
	struct authdns dns = fake_dns_authdns(fd);
	struct run r = { 0 };
	struct dmarc_outcome now;
	struct dmarc_check *c;
	unsigned before = fd->asked;

	if (d1 != NULL)
		dk[nd++] = d1;
	if (d2 != NULL)
		dk[nd++] = d2;
	in.from_domain = from;
	in.spf_domain = spf;
	in.spf_pass = spf_pass;
	in.dkim_pass_domains = dk;
	in.ndkim = nd;
	in.rnd = rnd;
	c = dmarc_check_start(&dns, &in, done, &r, &now);
	assert_int_equal(r.calls, 0);	/* never inside start */
	if (c == NULL) {
		assert_int_equal(fake_dns_run(fd), 0);
		r.o = now;
	} else {
		fake_dns_run(fd);
		assert_int_equal(r.calls, 1);
	}
	if (asked != NULL)
		*asked = fd->asked - before;
	return r.o;
}

static struct fake_dns *
zone(void)
{
	struct fake_dns *fd = fake_dns_new();

	fake_dns_add_txt(fd, "_dmarc.example.com", "v=DMARC1; p=reject");
	fake_dns_add_txt(fd, "_dmarc.example.com", "v=spf1 -all");
	fake_dns_add_txt(fd, "_dmarc.strict.example",
	    "v=DMARC1; p=quarantine; adkim=s; aspf=s");
	fake_dns_add_txt(fd, "_dmarc.sp.example",
	    "v=DMARC1; p=none; sp=quarantine");
	fake_dns_add_txt(fd, "_dmarc.own.sp.example",
	    "v=DMARC1; p=reject; sp=none");
	fake_dns_add_txt(fd, "_dmarc.two.example", "v=DMARC1; p=reject");
	fake_dns_add_txt(fd, "_dmarc.two.example", "v=DMARC1; p=none");
	fake_dns_add_txt(fd, "_dmarc.bad.example", "v=DMARC1; p=maybe");
	fake_dns_add_txt(fd, "_dmarc.pct.example", "v=DMARC1; p=reject; "
	    "pct=50");
	fake_dns_add_txt(fd, "_dmarc.zero.example",
	    "v=DMARC1; p=quarantine; pct=0");
	fake_dns_add_txt(fd, "_dmarc.sub.zero.example", "not dmarc");
	fake_dns_set(fd, "_dmarc.fail.example", DNS_T_TXT, DNS_RR_TEMPFAIL);
	fake_dns_set(fd, "_dmarc.orgfail.example", DNS_T_TXT,
	    DNS_RR_TEMPFAIL);
	return fd;
}

static void
t_none(void **state)
{
	struct fake_dns *fd = zone();
	struct dmarc_outcome o;
	unsigned asked;

	(void)state;
	o = check(fd, "mail.nodmarc.example", "nodmarc.example", 1, NULL,
	    NULL, &asked);
	assert_int_equal(o.result, DMARC_NONE);
	assert_int_equal(asked, 2);		/* From, then org */
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	assert_string_equal(o.from_domain, "mail.nodmarc.example");
	assert_string_equal(o.org_domain, "nodmarc.example");
	assert_string_equal(o.record_domain, "");
	assert_true(o.spf_aligned);		/* relaxed, for the record */
	/* From = org domain: one question only */
	o = check(fd, "NoDmarc.Example.", NULL, 0, NULL, NULL, &asked);
	assert_int_equal(o.result, DMARC_NONE);
	assert_int_equal(asked, 1);
	assert_string_equal(o.from_domain, "nodmarc.example");
	/* several records: no policy (6.6.3), and no look at the org */
	o = check(fd, "two.example", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(o.result, DMARC_NONE);
	assert_non_null(strstr(o.detail, "several"));
	fake_dns_free(fd);
}

static void
t_alignment(void **state)
{
	struct fake_dns *fd = zone();
	struct dmarc_outcome o;

	(void)state;
	/* relaxed SPF: bounce.example.com for a From of example.com */
	o = check(fd, "example.com", "bounce.example.com", 1, NULL, NULL,
	    NULL);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.spf_aligned);
	assert_false(o.dkim_aligned);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	assert_string_equal(o.record_domain, "example.com");
	/* an SPF that did not pass aligns nothing */
	o = check(fd, "example.com", "example.com", 0, NULL, NULL, NULL);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.disposition, DMARC_POLICY_REJECT);
	/* unaligned SPF pass, unaligned DKIM; then an aligned DKIM */
	o = check(fd, "example.com", "example.net", 1, "other.org", NULL,
	    NULL);
	assert_int_equal(o.result, DMARC_FAIL);
	o = check(fd, "example.com", "example.net", 1, "other.org",
	    "News.Example.COM", NULL);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.dkim_aligned);
	assert_false(o.spf_aligned);
	/* a public suffix or a look-alike is not aligned */
	o = check(fd, "example.com", "com", 1, "evil-example.com", NULL,
	    NULL);
	assert_int_equal(o.result, DMARC_FAIL);
	fake_dns_free(fd);
}

static void
t_strict(void **state)
{
	struct fake_dns *fd = zone();
	struct dmarc_outcome o;

	(void)state;
	o = check(fd, "strict.example", "mail.strict.example", 1,
	    "sub.strict.example", NULL, NULL);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.disposition, DMARC_POLICY_QUARANTINE);
	o = check(fd, "strict.example", "strict.example", 1, NULL, NULL,
	    NULL);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.spf_aligned);
	o = check(fd, "strict.example", NULL, 0, "STRICT.example", NULL,
	    NULL);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.dkim_aligned);
	/* a subdomain From under a strict org record: the From itself */
	o = check(fd, "a.strict.example", "strict.example", 1, NULL, NULL,
	    NULL);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_string_equal(o.record_domain, "strict.example");
	fake_dns_free(fd);
}

static void
t_subdomain_policy(void **state)
{
	struct fake_dns *fd = zone();
	struct dmarc_outcome o;

	(void)state;
	/* sp from the org record for a subdomain From */
	o = check(fd, "a.b.sp.example", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);
	assert_int_equal(o.disposition, DMARC_POLICY_QUARANTINE);
	assert_string_equal(o.record_domain, "sp.example");
	/* the org domain itself: p */
	o = check(fd, "sp.example", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(o.policy, DMARC_POLICY_NONE);
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	/* a subdomain with its own record: its p, not its sp (6.3) */
	o = check(fd, "own.sp.example", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_string_equal(o.record_domain, "own.sp.example");
	/* a record without sp: p for subdomains too */
	o = check(fd, "x.example.com", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_string_equal(o.record_domain, "example.com");
	fake_dns_free(fd);
}

static void
t_pct(void **state)
{
	struct fake_dns *fd = zone();
	struct dmarc_outcome o;

	(void)state;
	fixed_rnd = 49;			/* 49 % 100 < 50: sampled in */
	o = check(fd, "pct.example", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.disposition, DMARC_POLICY_REJECT);
	assert_false(o.sampled_out);
	assert_int_equal(o.pct, 50);
	fixed_rnd = 150;		/* 50: out, reject -> quarantine */
	o = check(fd, "pct.example", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_int_equal(o.disposition, DMARC_POLICY_QUARANTINE);
	assert_true(o.sampled_out);
	/* pct=0: always out, quarantine -> none; via a non-DMARC TXT at the
	 * From domain, which does not count */
	fixed_rnd = 0;
	o = check(fd, "sub.zero.example", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	assert_string_equal(o.record_domain, "zero.example");
	/* a pass is never sampled */
	o = check(fd, "pct.example", "pct.example", 1, NULL, NULL, NULL);
	assert_int_equal(o.result, DMARC_PASS);
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	fake_dns_free(fd);
}

static void
t_errors(void **state)
{
	struct fake_dns *fd = zone();
	struct dmarc_outcome o;
	unsigned asked;

	(void)state;
	/* NXDOMAIN at the From domain, then a failure at the org */
	o = check(fd, "sub.fail.example", "fail.example", 1, NULL, NULL,
	    &asked);
	assert_int_equal(o.result, DMARC_TEMPERROR);
	assert_int_equal(asked, 2);
	assert_string_equal(o.record_domain, "");
	/* a failure at the From domain: temperror, the org is not asked */
	o = check(fd, "fail.example", NULL, 0, NULL, NULL, &asked);
	assert_int_equal(o.result, DMARC_TEMPERROR);
	assert_int_equal(asked, 1);
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	/* a failure at the org domain */
	o = check(fd, "a.orgfail.example", NULL, 0, NULL, NULL, &asked);
	assert_int_equal(o.result, DMARC_TEMPERROR);
	assert_int_equal(asked, 2);
	/* an invalid record: permerror, no policy */
	o = check(fd, "bad.example", "bad.example", 1, NULL, NULL, NULL);
	assert_int_equal(o.result, DMARC_PERMERROR);
	assert_int_equal(o.policy, DMARC_POLICY_NONE);
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	assert_string_equal(o.record_domain, "bad.example");
	fake_dns_free(fd);
}

static void
t_from(void **state)
{
	struct fake_dns *fd = zone();
	struct authdns dns = fake_dns_authdns(fd);
	struct dmarc_input in = { 0 };
	struct dmarc_outcome now;
	struct run r = { 0 };

	(void)state;
	in.from_domain = NULL;
	in.from_ambiguous = 1;
	assert_null(dmarc_check_start(&dns, &in, done, &r, &now));
	assert_int_equal(now.result, DMARC_PERMERROR);
	assert_int_equal(now.disposition, DMARC_POLICY_REJECT);
	in.from_ambiguous = 0;
	assert_null(dmarc_check_start(&dns, &in, done, &r, &now));
	assert_int_equal(now.result, DMARC_PERMERROR);
	assert_int_equal(now.disposition, DMARC_POLICY_NONE);
	in.from_domain = "a..example.com";
	assert_null(dmarc_check_start(&dns, &in, done, &r, &now));
	assert_int_equal(now.result, DMARC_PERMERROR);
	assert_null(dmarc_check_start(&dns, &in, done, &r, NULL));
	assert_int_equal(fd->asked, 0);
	assert_int_equal(r.calls, 0);
	fake_dns_free(fd);
}

static void *
ask_fails(void *ctx, const char *name, int type, authdns_cb cb, void *arg)
{
	(void)ctx; (void)name; (void)type; (void)cb; (void)arg;
	return NULL;
}

static void
t_cancel_and_ask_failure(void **state)
{
	struct fake_dns *fd = zone();
	struct authdns dns = fake_dns_authdns(fd);
	struct authdns broken = { ask_fails, NULL, NULL };
	struct dmarc_input in = { 0 };
	struct dmarc_outcome now;
	struct run r = { 0 };
	struct dmarc_check *c;
	char longname[260];

	(void)state;
	in.from_domain = "mail.example.com";
	c = dmarc_check_start(&dns, &in, done, &r, &now);
	assert_non_null(c);
	dmarc_check_cancel(c);
	fake_dns_run(fd);
	assert_int_equal(r.calls, 0);
	dmarc_check_cancel(NULL);

	assert_null(dmarc_check_start(&broken, &in, done, &r, &now));
	assert_int_equal(now.result, DMARC_TEMPERROR);
	assert_int_equal(r.calls, 0);

	/* a From so long that _dmarc.FROM cannot exist: the org only */
	memset(longname, 'a', sizeof(longname));
	for (size_t i = 60; i < 240; i += 61)
		longname[i] = '.';
	strcpy(longname + 240, ".example.com");	/* 252 octets */
	in.from_domain = longname;
	r.calls = 0;
	c = dmarc_check_start(&dns, &in, done, &r, &now);
	assert_non_null(c);
	assert_int_equal(fake_dns_run(fd), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.o.result, DMARC_FAIL);
	assert_string_equal(r.o.record_domain, "example.com");
	fake_dns_free(fd);
}

static void
t_names(void **state)
{
	(void)state;
	assert_string_equal(dmarc_result_name(DMARC_NONE), "none");
	assert_string_equal(dmarc_result_name(DMARC_PASS), "pass");
	assert_string_equal(dmarc_result_name(DMARC_FAIL), "fail");
	assert_string_equal(dmarc_result_name(DMARC_TEMPERROR), "temperror");
	assert_string_equal(dmarc_result_name(DMARC_PERMERROR), "permerror");
	assert_string_equal(dmarc_policy_name(DMARC_POLICY_NONE), "none");
	assert_string_equal(dmarc_policy_name(DMARC_POLICY_QUARANTINE),
	    "quarantine");
	assert_string_equal(dmarc_policy_name(DMARC_POLICY_REJECT), "reject");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_none),
		cmocka_unit_test(t_alignment),
		cmocka_unit_test(t_strict),
		cmocka_unit_test(t_subdomain_policy),
		cmocka_unit_test(t_pct),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_from),
		cmocka_unit_test(t_cancel_and_ask_failure),
		cmocka_unit_test(t_names),
	};
	int rc;

	assert_int_equal(orgdomain_init(NULL), 0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	orgdomain_free();
	return rc;
}
