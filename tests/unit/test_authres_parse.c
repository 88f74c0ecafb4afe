/*
 * test_authres_parse — the Authentication-Results parser (RFC 8601 2.2)
 * on the RFC's own examples (appendix B), headers as big providers write
 * them, ARC-Authentication-Results, broken forms, and its bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres_parse.h"
#include "xmalloc.h"

static struct authres_parsed *pp;

static enum authres_parse_status
parse(const char *s)
{
	return authres_parse(s, strlen(s), pp);
}

static int
setup(void **state)
{
	(void)state;
	pp = xmalloc(sizeof(*pp));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(pp);
	return 0;
}

static void
t_rfc_examples(void **state)
{
	(void)state;
	/* RFC 8601 B.2 */
	assert_int_equal(parse(" example.org 1; none"), AUTHRES_PARSE_OK);
	assert_string_equal(pp->authserv_id, "example.org");
	assert_int_equal(pp->version, 1);
	assert_true(pp->none);
	/* B.3 */
	assert_int_equal(parse(" example.com;\r\n\tspf=pass "
	    "smtp.mailfrom=example.net"), AUTHRES_PARSE_OK);
	assert_int_equal(pp->nres, 1);
	assert_string_equal(pp->res[0].method, "spf");
	assert_string_equal(pp->res[0].result, "pass");
	assert_string_equal(pp->res[0].prop[0].ptype, "smtp");
	assert_string_equal(pp->res[0].prop[0].property, "mailfrom");
	assert_string_equal(pp->res[0].prop[0].value, "example.net");
	/* B.4, with comments everywhere */
	assert_int_equal(parse(" example.com;\r\n"
	    "    auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
	    "    spf=pass smtp.mailfrom=example.net"), AUTHRES_PARSE_OK);
	assert_int_equal(pp->nres, 2);
	assert_string_equal(pp->res[0].prop[0].value, "sender@example.net");
	/* B.5 */
	assert_int_equal(parse(" example.com;\r\n"
	    "    sender-id=pass header.from=example.com"),
	    AUTHRES_PARSE_OK);
	assert_string_equal(pp->res[0].method, "sender-id");
	/* B.6: comments inside tokens' spaces, version on the method */
	assert_int_equal(parse(" example.com;\r\n"
	    "    dkim/1=pass (good signature) header.d=mail-router.example.net;\r\n"
	    "    dkim=fail (bad signature) header.d=newyork.example.com"),
	    AUTHRES_PARSE_OK);
	assert_int_equal(pp->nres, 2);
	assert_string_equal(pp->res[0].method, "dkim");
	assert_string_equal(pp->res[1].result, "fail");
	assert_int_equal(pp->syntax_errors, 0);
	/* B.7 */
	assert_int_equal(parse(" foo.example.net (foobar) 1 (baz);\r\n"
	    "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
	    "      policy (A dot can go here) . (like that) expired\r\n"
	    "      (this surprised me) = (as I wasn't expecting it) 1362471462"),
	    AUTHRES_PARSE_OK);
	assert_string_equal(pp->authserv_id, "foo.example.net");
	assert_int_equal(pp->nres, 1);
	assert_string_equal(pp->res[0].method, "dkim");
	assert_string_equal(pp->res[0].result, "fail");
	assert_string_equal(pp->res[0].prop[0].ptype, "policy");
	assert_string_equal(pp->res[0].prop[0].property, "expired");
	assert_string_equal(pp->res[0].prop[0].value, "1362471462");
	assert_int_equal(pp->syntax_errors, 0);
}

static void
t_real_world(void **state)
{
	const struct authres_parsed_result *r;

	(void)state;
	assert_int_equal(parse(" mx.google.com;\r\n"
	    "       dkim=pass header.i=@example.com header.s=20230601 "
	    "header.b=Ab/cD+9=;\r\n"
	    "       spf=pass (google.com: domain of a.b@example.com "
	    "designates 2001:db8::1 as permitted sender) "
	    "smtp.mailfrom=a.b@example.com;\r\n"
	    "       dmarc=pass (p=NONE sp=NONE dis=NONE) "
	    "header.from=example.com"), AUTHRES_PARSE_OK);
	assert_int_equal(pp->nres, 3);
	assert_string_equal(pp->res[0].prop[0].value, "@example.com");
	assert_string_equal(pp->res[0].prop[2].value, "Ab/cD+9=");
	r = authres_parsed_find(pp, "DMARC");
	assert_non_null(r);
	assert_string_equal(authres_parsed_prop(r, "header", "from"),
	    "example.com");
	assert_null(authres_parsed_prop(r, "header", "d"));
	assert_null(authres_parsed_find(pp, "arc"));
	/* Microsoft's, with reason and quoted values */
	assert_int_equal(parse(" spf=pass (sender IP is 192.0.2.1) "
	    "smtp.mailfrom=example.com; dkim=none (message not signed) "
	    "header.d=none;dmarc=bestguesspass action=none "
	    "header.from=example.com;compauth=pass reason=109"),
	    AUTHRES_PARSE_SYNTAX);	/* no authserv-id: the first is a
					   resinfo ("spf=pass" is no value) */
	assert_int_equal(parse(" mx.example.net; dkim=pass reason=\"good "
	    "sig\" header.d=example.com (c) header.s=\"s 1\"; "
	    "DMARC=PASS policy.dmarc=reject;"), AUTHRES_PARSE_OK);
	assert_string_equal(pp->res[0].reason, "good sig");
	assert_string_equal(authres_parsed_prop(&pp->res[0], "header", "s"),
	    "s 1");
	assert_string_equal(pp->res[1].method, "dmarc");
	assert_string_equal(pp->res[1].result, "pass");
	/* a quoted authserv-id */
	assert_int_equal(parse("\"mx example\"; none"), AUTHRES_PARSE_OK);
	assert_string_equal(pp->authserv_id, "mx example");
}

static void
t_broken(void **state)
{
	(void)state;
	assert_int_equal(parse(""), AUTHRES_PARSE_SYNTAX);
	assert_int_equal(parse("   (only a comment)"), AUTHRES_PARSE_SYNTAX);
	assert_int_equal(parse("; spf=pass"), AUTHRES_PARSE_SYNTAX);
	/* an id without ";": the id is still read, for forgery checks */
	assert_int_equal(parse(" mx.winery-co.co spf=pass"),
	    AUTHRES_PARSE_SYNTAX);
	assert_string_equal(pp->authserv_id, "mx.winery-co.co");
	/* unreadable resinfos are skipped, the others kept */
	assert_int_equal(parse("mx; =pass; spf pass; dkim=pass "
	    "header.d=x.example junk !! header.s=s; ;; dmarc=(c)fail;"),
	    AUTHRES_PARSE_OK);
	assert_int_equal(pp->nres, 2);
	assert_string_equal(pp->res[0].method, "dkim");
	assert_int_equal(pp->res[0].nprop, 2);
	assert_string_equal(pp->res[1].method, "dmarc");
	assert_string_equal(pp->res[1].result, "fail");
	assert_true(pp->syntax_errors >= 3);
	/* unterminated comment and quote */
	assert_int_equal(parse("mx; spf=pass (open comment"),
	    AUTHRES_PARSE_OK);
	assert_int_equal(pp->nres, 1);
	assert_int_equal(parse("mx; spf=pass smtp.mailfrom=\"open"),
	    AUTHRES_PARSE_OK);
	assert_string_equal(pp->res[0].prop[0].value, "open");
	/* a ";" inside a comment or a quoted-string separates nothing */
	assert_int_equal(parse("mx; spf=pass (a; b) smtp.helo=\"c;d\"; "
	    "dkim=none"), AUTHRES_PARSE_OK);
	assert_int_equal(pp->nres, 2);
	assert_string_equal(pp->res[0].prop[0].value, "c;d");
}

static void
t_arc(void **state)
{
	const char *v = " i=2; lists.example.org;\r\n"
	    "    spf=pass smtp.mailfrom=example.com; dkim=pass "
	    "header.d=example.com; dmarc=pass header.from=example.com";

	(void)state;
	assert_int_equal(authres_parse_arc(v, strlen(v), pp),
	    AUTHRES_PARSE_OK);
	assert_int_equal(pp->arc_instance, 2);
	assert_string_equal(pp->authserv_id, "lists.example.org");
	assert_int_equal(pp->nres, 3);
	assert_string_equal(authres_parsed_find(pp, "dmarc")->result,
	    "pass");
	assert_int_equal(authres_parse_arc("i=0; a; none", 12, pp),
	    AUTHRES_PARSE_SYNTAX);
	assert_int_equal(authres_parse_arc("i=51; a; none", 13, pp),
	    AUTHRES_PARSE_SYNTAX);
	assert_int_equal(authres_parse_arc("a; none", 7, pp),
	    AUTHRES_PARSE_SYNTAX);
	assert_int_equal(authres_parse_arc("i = 1 ; a; none", 15, pp),
	    AUTHRES_PARSE_OK);
	assert_true(pp->none);
	assert_int_equal(authres_parse_arc("i=1", 3, pp),
	    AUTHRES_PARSE_SYNTAX);
}

static void
t_bounds(void **state)
{
	char big[8000];
	size_t i, o = 0;

	(void)state;
	o += (size_t)sprintf(big, "mx");
	for (i = 0; i < AUTHRES_PARSE_RESULTS + 4; i++)
		o += (size_t)sprintf(big + o, "; m%zu=pass", i);
	assert_int_equal(parse(big), AUTHRES_PARSE_OK);
	assert_int_equal(pp->nres, AUTHRES_PARSE_RESULTS);
	assert_true(pp->truncated);

	o = (size_t)sprintf(big, "mx; dkim=pass");
	for (i = 0; i < AUTHRES_PARSE_PROPS + 3; i++)
		o += (size_t)sprintf(big + o, " header.x%zu=v", i);
	assert_int_equal(parse(big), AUTHRES_PARSE_OK);
	assert_int_equal(pp->res[0].nprop, AUTHRES_PARSE_PROPS);
	assert_true(pp->truncated);

	o = (size_t)sprintf(big, "mx; dkim=pass header.b=");
	memset(big + o, 'b', 1000);
	big[o + 1000] = '\0';
	assert_int_equal(parse(big), AUTHRES_PARSE_OK);
	assert_int_equal(strlen(pp->res[0].prop[0].value), 255);
	assert_true(pp->truncated);

	/* deep comments: a counter, no recursion */
	memset(big, '(', 5000);
	strcpy(big + 5000, "x");
	assert_int_equal(parse(big), AUTHRES_PARSE_SYNTAX);
	assert_int_equal(authres_parse(NULL, 10, pp), AUTHRES_PARSE_SYNTAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rfc_examples),
		cmocka_unit_test(t_real_world),
		cmocka_unit_test(t_broken),
		cmocka_unit_test(t_arc),
		cmocka_unit_test(t_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
