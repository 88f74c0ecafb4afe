/*
 * test_dmarc_from — the RFC5322.From domain (header_from.c) that DMARC
 * evaluates: the forms of RFC 5322 3.4 and the obsolete ones of 4.4,
 * groups (RFC 6854), several mailboxes or fields, missing and broken
 * fields, literals and non-host domains, folding and bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "header_from.h"
#include "msg_header.h"

static void
expect(const char *value, enum header_from_status want, const char *dom)
{
	char d[HEADER_FROM_DOMAIN_MAX + 1];
	enum header_from_status st;

	st = header_from_parse(value, strlen(value), d, sizeof(d));
	if (st != want)
		fail_msg("\"%s\": %s, wanted %s", value,
		    header_from_status_name(st), header_from_status_name(want));
	assert_string_equal(d, dom != NULL ? dom : "");
}

static void
t_forms(void **state)
{
	(void)state;
	expect(" kimy@Winery-Co.CO", HEADER_FROM_OK, "winery-co.co");
	expect(" Kim Y <kimy@winery-co.co>", HEADER_FROM_OK, "winery-co.co");
	expect(" \"Y, Kim\" <kimy@winery-co.co>", HEADER_FROM_OK,
	    "winery-co.co");
	expect(" \"kim@evil.example\" <kimy@winery-co.co>", HEADER_FROM_OK,
	    "winery-co.co");
	expect(" \"odd \\\" local\"@example.com", HEADER_FROM_OK,
	    "example.com");
	expect(" <kimy@example.com>", HEADER_FROM_OK, "example.com");
	expect(" kimy@example.com (Kim (the) Y)", HEADER_FROM_OK,
	    "example.com");
	expect(" (comment) Kim <kimy(c)@(c)example(c).(c)com> (x)",
	    HEADER_FROM_OK, "example.com");
	expect(" Kim\r\n\t<kimy@\r\n example.com>", HEADER_FROM_OK,
	    "example.com");
	/* obsolete forms (RFC 5322 4.4) */
	expect(" Kim Y. <kimy@example.com>", HEADER_FROM_OK, "example.com");
	expect(" <@relay.example,@b.example:kimy@example.com>",
	    HEADER_FROM_OK, "example.com");
	expect(" kimy . y @ example . com", HEADER_FROM_OK, "example.com");
	expect(" kimy..y.@example.com", HEADER_FROM_OK, "example.com");
	expect(" \"kimy\".y@example.com", HEADER_FROM_OK, "example.com");
	expect(" ,, kimy@example.com ,", HEADER_FROM_OK, "example.com");
	expect(" kimy@mail_1.example.com", HEADER_FROM_OK,
	    "mail_1.example.com");
	/* 8-bit display name (RFC 6532) */
	expect(" J\xc3\xb6rg <j@example.de>", HEADER_FROM_OK, "example.de");
	/* groups (RFC 6854) */
	expect(" Team: kimy@example.com;", HEADER_FROM_OK, "example.com");
	expect(" Team: Kim <kimy@example.com>, ;", HEADER_FROM_OK,
	    "example.com");
}

static void
t_outcomes(void **state)
{
	(void)state;
	expect(" a@example.com, b@example.org",
	    HEADER_FROM_MULTIPLE_MAILBOXES, NULL);
	expect(" a@example.com, <b@example.com>",
	    HEADER_FROM_MULTIPLE_MAILBOXES, NULL);
	expect(" T: a@example.com, b@example.org;",
	    HEADER_FROM_MULTIPLE_MAILBOXES, NULL);
	expect(" T: a@example.com;, b@example.org",
	    HEADER_FROM_MULTIPLE_MAILBOXES, NULL);
	expect("", HEADER_FROM_NO_MAILBOX, NULL);
	expect("  (only a comment) ", HEADER_FROM_NO_MAILBOX, NULL);
	expect(" undisclosed-recipients:;", HEADER_FROM_NO_MAILBOX, NULL);
	/* unusable */
	expect(" Kim", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@", HEADER_FROM_SYNTAX, NULL);
	expect(" @example.com", HEADER_FROM_SYNTAX, NULL);
	expect(" <kimy@example.com", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@example.com>", HEADER_FROM_SYNTAX, NULL);
	expect(" Kim <kimy@example.com> extra", HEADER_FROM_SYNTAX, NULL);
	expect(" \"open <kimy@example.com>", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@example.com (open", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@example.com)", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@example.com.", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@[192.0.2.1]", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@[192.0.2.1", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@ex!ample.com", HEADER_FROM_SYNTAX, NULL);
	expect(" kimy@b\xc3\xbc" "cher.example", HEADER_FROM_SYNTAX, NULL);
	expect(" A: B: c@example.com;;", HEADER_FROM_SYNTAX, NULL);
	expect(" T: a@example.com", HEADER_FROM_SYNTAX, NULL);
	expect(" a@example.com\x01", HEADER_FROM_SYNTAX, NULL);
	expect(" a@b@example.com", HEADER_FROM_SYNTAX, NULL);
	expect(" Kim Y kimy@example.com", HEADER_FROM_SYNTAX, NULL);
	expect(" Kim <Y kimy@example.com>", HEADER_FROM_SYNTAX, NULL);
	expect(" \"a\" b@example.com", HEADER_FROM_SYNTAX, NULL);
	expect(" a@example.com; b@example.com", HEADER_FROM_SYNTAX, NULL);
}

static void
t_bounds(void **state)
{
	char v[2000], d[HEADER_FROM_DOMAIN_MAX + 1], small[8];
	size_t o;

	(void)state;
	/* a 64-octet label, then a 254-octet name */
	o = (size_t)snprintf(v, sizeof(v), " a@");
	memset(v + o, 'x', 64);
	strcpy(v + o + 64, ".com");
	expect(v, HEADER_FROM_SYNTAX, NULL);
	o = (size_t)snprintf(v, sizeof(v), " a@");
	for (int i = 0; i < 4; i++) {
		memset(v + o, 'x', 63);
		o += 63;
		v[o++] = '.';
	}
	strcpy(v + o, "a");			/* 4*64+1 = 257 */
	expect(v, HEADER_FROM_SYNTAX, NULL);
	strcpy(v + o - 4 * 64 + 3 * 64, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx.com");
	assert_int_equal(header_from_parse(v, strlen(v), d, sizeof(d)),
	    HEADER_FROM_OK);
	assert_int_equal(header_from_parse(v, strlen(v), small,
	    sizeof(small)), HEADER_FROM_SYNTAX);
	assert_int_equal(header_from_parse(v, strlen(v), NULL, 0),
	    HEADER_FROM_SYNTAX);
	/* more tokens than the table holds */
	o = 0;
	while (o + 3 < sizeof(v) - 20)
		o += (size_t)snprintf(v + o, sizeof(v) - o, ",,");
	strcpy(v + o, "a@example.com");
	expect(v, HEADER_FROM_SYNTAX, NULL);
	/* the value's length is the end */
	assert_int_equal(header_from_parse(" a@example.com", 3, d,
	    sizeof(d)), HEADER_FROM_SYNTAX);
}

static enum header_from_status
from_message(const char *msg, char *d)
{
	struct msg_header h;
	enum header_from_status st;

	msg_header_init(&h);
	msg_header_feed(&h, msg, strlen(msg));
	msg_header_end(&h);
	st = header_from_get(&h, d, HEADER_FROM_DOMAIN_MAX + 1);
	msg_header_free(&h);
	return st;
}

static void
t_header(void **state)
{
	char d[HEADER_FROM_DOMAIN_MAX + 1];

	(void)state;
	assert_int_equal(from_message("Subject: x\r\nFROM :\r\n Kim\r\n"
	    " <k@Example.com>\r\nTo: y@z\r\n\r\nFrom: body@x.example\r\n",
	    d), HEADER_FROM_OK);
	assert_string_equal(d, "example.com");
	assert_int_equal(from_message("Subject: x\r\n\r\n", d),
	    HEADER_FROM_MISSING);
	assert_int_equal(from_message("From: a@example.com\r\n"
	    "from: b@example.com\r\n\r\n", d), HEADER_FROM_MULTIPLE_FIELDS);
	assert_string_equal(d, "");
	assert_true(header_from_ambiguous(HEADER_FROM_MULTIPLE_FIELDS));
	assert_true(header_from_ambiguous(HEADER_FROM_MULTIPLE_MAILBOXES));
	assert_false(header_from_ambiguous(HEADER_FROM_MISSING));
	assert_false(header_from_ambiguous(HEADER_FROM_SYNTAX));
	assert_string_equal(header_from_status_name(HEADER_FROM_OVERFLOW),
	    "overflow");
}

static void
t_overflow(void **state)
{
	struct msg_header h;
	char d[HEADER_FROM_DOMAIN_MAX + 1];
	char line[64];

	(void)state;
	msg_header_init(&h);
	msg_header_feed(&h, "From: a@example.com\r\n", 21);
	for (int i = 0; i < MSG_HEADER_FIELDS_MAX + 5; i++) {
		int n = snprintf(line, sizeof(line), "X-%d: y\r\n", i);

		msg_header_feed(&h, line, (size_t)n);
	}
	msg_header_feed(&h, "\r\n", 2);
	assert_true(h.overflow);
	assert_int_equal(header_from_get(&h, d, sizeof(d)),
	    HEADER_FROM_OVERFLOW);
	msg_header_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_forms),
		cmocka_unit_test(t_outcomes),
		cmocka_unit_test(t_bounds),
		cmocka_unit_test(t_header),
		cmocka_unit_test(t_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
