/*
 * test_dmarc_record — the DMARC record parser (RFC 7489 6.3, 6.4, 6.6.3):
 * what is a DMARC record at all, every tag and its default, invalid
 * values, the p=none fallback on a valid rua, duplicates, odd spacing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dmarc_record.h"

static enum dmarc_record_status
parse(const char *s, struct dmarc_record *r)
{
	return dmarc_record_parse(s, strlen(s), r);
}

static void
t_not_dmarc(void **state)
{
	static const char *const no[] = {
		"", "v=spf1 -all", "v=DMARC2; p=none", "v=dmarc1; p=none",
		"p=reject; v=DMARC1", "v=DMARC1x; p=none", "V=DMARC10",
		"x; v=DMARC1; p=none", "v DMARC1; p=none",
	};
	struct dmarc_record r;

	(void)state;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_int_equal(parse(no[i], &r), DMARC_RECORD_NOT_DMARC);
	assert_int_equal(dmarc_record_parse(NULL, 0, &r),
	    DMARC_RECORD_NOT_DMARC);
}

static void
t_minimal(void **state)
{
	struct dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=reject", &r), DMARC_RECORD_OK);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT);	/* sp defaults to p */
	assert_false(r.has_sp);
	assert_int_equal(r.pct, 100);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(r.ri, 86400);
	assert_int_equal(r.fo, DMARC_FO_0);
	assert_true(r.rf_afrf);
	assert_int_equal(r.nrua, 0);
	/* spacing, case of tag names and policy words, trailing ";" */
	assert_int_equal(parse(" v = DMARC1 ;P=Quarantine;;", &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(parse("v=DMARC1", &r), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1;", &r), DMARC_RECORD_INVALID);
	/* p later than second: tolerated */
	assert_int_equal(parse("v=DMARC1; pct=50; p=none", &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.pct, 50);
}

static void
t_all_tags(void **state)
{
	struct dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=none; sp=reject; pct=20; "
	    "adkim=s; aspf=S; ri=3600; fo=1:d : s; rf=afrf:iodef; "
	    "rua=mailto:a@example.com,mailto:b@example.net!10m; "
	    "ruf=mailto:f@example.com; future=whatever", &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT);
	assert_true(r.has_sp);
	assert_int_equal(r.pct, 20);
	assert_true(r.adkim_strict);
	assert_true(r.aspf_strict);
	assert_int_equal(r.ri, 3600);
	assert_int_equal(r.fo, DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S);
	assert_true(r.rf_afrf);
	assert_true(r.rf_iodef);
	assert_int_equal(r.nrua, 2);
	assert_int_equal(r.nruf, 1);
	assert_string_equal(r.rua,
	    "mailto:a@example.com,mailto:b@example.net!10m");
}

static void
t_bad_optional(void **state)
{
	struct dmarc_record r;

	(void)state;
	/* out-of-grammar optional values keep their defaults */
	assert_int_equal(parse("v=DMARC1; p=reject; pct=101; adkim=x; "
	    "aspf=; ri=-1; fo=2; rf=-bad", &r), DMARC_RECORD_OK);
	assert_int_equal(r.pct, 100);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(r.ri, 86400);
	assert_int_equal(r.fo, DMARC_FO_0);
	assert_true(r.rf_afrf);
	assert_int_equal(parse("v=DMARC1; p=reject; pct=0", &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.pct, 0);
	assert_int_equal(parse("v=DMARC1; p=reject; pct=1000", &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.pct, 100);
	/* segments without "=" are skipped */
	assert_int_equal(parse("v=DMARC1; junk; p=reject", &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
}

static void
t_invalid_p(void **state)
{
	struct dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=bogus", &r),
	    DMARC_RECORD_INVALID);
	assert_string_equal(r.error, "no valid p tag");
	assert_int_equal(parse("v=DMARC1; sp=reject", &r),
	    DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=reject; sp=bogus", &r),
	    DMARC_RECORD_INVALID);
	assert_string_equal(r.error, "sp tag not valid");
	/* RFC 7489 6.6.3: a valid rua turns it into p=none */
	assert_int_equal(parse("v=DMARC1; p=bogus; rua=mailto:x@example.com",
	    &r), DMARC_RECORD_OK);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_true(r.defaulted);
	assert_int_equal(parse("v=DMARC1; p=reject; sp=x; "
	    "rua=mailto:x@example.com", &r), DMARC_RECORD_OK);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	assert_int_equal(parse("v=DMARC1; rua=mailto:x@example.com", &r),
	    DMARC_RECORD_OK);
	/* an invalid rua does not help */
	assert_int_equal(parse("v=DMARC1; rua=not a uri", &r),
	    DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; rua=mailto:", &r),
	    DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; rua=mailto:x@y!k", &r),
	    DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; rua=1mailto:x@y", &r),
	    DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; rua=,mailto:x@y!20", &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.nrua, 1);
}

static void
t_duplicates(void **state)
{
	struct dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=none; p=reject", &r),
	    DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=none; v=DMARC1", &r),
	    DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=none; PCT=1; pct=2", &r),
	    DMARC_RECORD_INVALID);
	/* unknown tags may repeat: they are ignored */
	assert_int_equal(parse("v=DMARC1; p=none; x=1; x=2", &r),
	    DMARC_RECORD_OK);
}

static void
t_bytes(void **state)
{
	struct dmarc_record r;
	char big[2000];
	static const char nul[] = "v=DMARC1; p=reject; rua=mailto:a\0b@x";

	(void)state;
	/* a NUL in a value: that URI is invalid, the rest stands */
	assert_int_equal(dmarc_record_parse(nul, sizeof(nul) - 1, &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.nrua, 0);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	/* the length given is the end, not a NUL */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=reject", 13, &r),
	    DMARC_RECORD_INVALID);
	/* a rua longer than kept: still counted, flagged */
	strcpy(big, "v=DMARC1; p=none; rua=mailto:a@example.com,mailto:");
	memset(big + strlen(big), 'b', 800);
	strcpy(big + strlen("v=DMARC1; p=none; rua=mailto:a@example.com,"
	    "mailto:") + 800, "@example.com");
	assert_int_equal(parse(big, &r), DMARC_RECORD_OK);
	assert_int_equal(r.nrua, 2);
	assert_true(r.uri_truncated);
	assert_string_equal(r.rua, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_not_dmarc),
		cmocka_unit_test(t_minimal),
		cmocka_unit_test(t_all_tags),
		cmocka_unit_test(t_bad_optional),
		cmocka_unit_test(t_invalid_p),
		cmocka_unit_test(t_duplicates),
		cmocka_unit_test(t_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
