/*
 * test_authres — the Authentication-Results builder (RFC 8601 2.2): the
 * layout, "none", quoting of values and comments, control characters,
 * folding at 78 octets, the bounds; and that the parser reads back every
 * header the builder makes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "authres_parse.h"
#include "xmalloc.h"

/* Every line at most 78 octets, CRLF-ended, continuation lines folded. */
static void
check_lines(const char *h, size_t len)
{
	const char *p = h, *e;

	assert_int_equal(strlen(h), len);
	assert_true(len >= 2 && h[len - 2] == '\r' && h[len - 1] == '\n');
	while (*p != '\0') {
		e = strstr(p, "\r\n");
		assert_non_null(e);
		/* one unfoldable word may be longer (RFC 5322 2.1.1) */
		assert_true(e - p <= AUTHRES_LINE_MAX ||
		    memchr(p + 1, ' ', (size_t)(e - p - 1)) == NULL);
		assert_true(e - p <= 998);
		assert_null(memchr(p, '\n', (size_t)(e - p)));
		assert_null(memchr(p, '\r', (size_t)(e - p)));
		if (p != h)
			assert_true(*p == '\t' || *p == ' ');
		p = e + 2;
	}
}

/* Parse the value of a built header. */
static struct authres_parsed *
reparse(const char *h)
{
	struct authres_parsed *p = xmalloc(sizeof(*p));
	const char *v = strchr(h, ':') + 1;

	assert_int_equal(authres_parse(v, strlen(v) - 2, p),
	    AUTHRES_PARSE_OK);
	assert_int_equal(p->syntax_errors, 0);
	return p;
}

static void
t_none(void **state)
{
	struct authres_builder *b = authres_new("mx.winery-co.co");
	struct authres_parsed *p;
	size_t len;
	char *h;

	(void)state;
	h = authres_finish(b, &len);
	assert_string_equal(h,
	    "Authentication-Results: mx.winery-co.co; none\r\n");
	check_lines(h, len);
	p = reparse(h);
	assert_string_equal(p->authserv_id, "mx.winery-co.co");
	assert_true(p->none);
	assert_int_equal(p->nres, 0);
	free(p);
	free(h);
}

static void
t_full(void **state)
{
	struct authres_builder *b = authres_new("mx.winery-co.co");
	struct authres_parsed *p;
	const struct authres_parsed_result *r;
	size_t len;
	char *h;

	(void)state;
	authres_addl(b, "spf", "pass", "mx.winery-co.co: domain of "
	    "bounce@example.net designates 192.0.2.1 as permitted sender",
	    "smtp.mailfrom", "bounce@example.net", (char *)NULL);
	authres_addl(b, "dkim", "pass", NULL, "header.d", "example.net",
	    "header.s", "sel2026", "header.b", "Ab/Cd+Ef", (char *)NULL);
	authres_addl(b, "dkim", "fail", "body hash did not verify",
	    "header.d", "example.org", "header.s", "s", "header.b",
	    "XyZ12345", (char *)NULL);
	authres_addl(b, "dmarc", "pass", NULL, "header.from", "example.net",
	    "policy.dmarc", "reject", (char *)NULL);
	authres_addl(b, "arc", "none", NULL, (char *)NULL);
	h = authres_finish(b, &len);
	check_lines(h, len);
	assert_non_null(strstr(h, "header.b=\"Ab/Cd+Ef\""));
	assert_non_null(strstr(h, "smtp.mailfrom=bounce@example.net"));
	assert_non_null(strstr(h, "Authentication-Results: mx.winery-co.co;"
	    "\r\n\tspf=pass (mx.winery-co.co: domain of"));
	p = reparse(h);
	assert_int_equal(p->nres, 5);
	r = authres_parsed_find(p, "spf");
	assert_non_null(r);
	assert_string_equal(authres_parsed_prop(r, "smtp", "mailfrom"),
	    "bounce@example.net");
	assert_string_equal(p->res[1].method, "dkim");
	assert_string_equal(authres_parsed_prop(&p->res[1], "header", "b"),
	    "Ab/Cd+Ef");
	assert_string_equal(p->res[2].result, "fail");
	r = authres_parsed_find(p, "dmarc");
	assert_string_equal(authres_parsed_prop(r, "policy", "dmarc"),
	    "reject");
	assert_string_equal(p->res[4].method, "arc");
	free(p);
	free(h);
}

static void
t_quoting(void **state)
{
	char out[64];
	struct authres_builder *b;
	struct authres_parsed *p;
	char *h;
	size_t len;

	(void)state;
	assert_int_equal(authres_quote("example.com", 0, out, sizeof(out)),
	    11);
	assert_string_equal(out, "example.com");
	authres_quote("a@example.com", 0, out, sizeof(out));
	assert_string_equal(out, "\"a@example.com\"");
	authres_quote("a@example.com", 1, out, sizeof(out));
	assert_string_equal(out, "a@example.com");
	authres_quote("@example.com", 1, out, sizeof(out));
	assert_string_equal(out, "@example.com");
	authres_quote("SRS0=x=y@example.com", 1, out, sizeof(out));
	assert_string_equal(out, "\"SRS0=x=y@example.com\"");
	authres_quote("a b\"c\\d\r\n", 0, out, sizeof(out));
	assert_string_equal(out, "\"a b\\\"c\\\\d??\"");
	authres_quote("", 1, out, sizeof(out));
	assert_string_equal(out, "\"\"");
	assert_int_equal(authres_quote("toolongforit", 0, out, 5), 0);
	assert_string_equal(out, "");

	/* hostile input cannot open a header line of its own */
	b = authres_new("mx.example;\r\nX-Evil: 1");
	authres_addl(b, "spf", "pass", "a)(b\\c\r\nX-Evil: 2",
	    "smtp.mailfrom", "\"x\"\r\nX-Evil: 3@example.com",
	    "reason", "why; not\r\n", (char *)NULL);
	h = authres_finish(b, &len);
	check_lines(h, len);
	assert_null(strstr(h, "\r\nX-Evil"));
	p = reparse(h);
	assert_string_equal(p->authserv_id, "mx.example;??X-Evil: 1");
	assert_int_equal(p->nres, 1);
	assert_string_equal(p->res[0].reason, "why; not??");
	assert_string_equal(authres_parsed_prop(&p->res[0], "smtp",
	    "mailfrom"), "\"x\"??X-Evil: 3@example.com");
	free(p);
	free(h);
}

static void
t_folding(void **state)
{
	struct authres_builder *b = authres_new("mx.winery-co.co");
	char big[AUTHRES_VALUE_MAX + 2], comment[400];
	struct authres_parsed *p;
	size_t len, i;
	char *h;

	(void)state;
	for (i = 0; i < sizeof(comment) - 1; i++)
		comment[i] = i % 7 == 6 ? ' ' : 'a' + (char)(i % 26);
	comment[sizeof(comment) - 1] = '\0';
	authres_addl(b, "spf", "softfail", comment, "smtp.helo",
	    "a-very-long-helo-name.with.many.labels.example.com",
	    (char *)NULL);
	/* a value over AUTHRES_VALUE_MAX is left out, not cut */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	authres_addl(b, "dkim", "pass", NULL, "header.d", big,
	    "header.s", "s1", (char *)NULL);
	h = authres_finish(b, &len);
	check_lines(h, len);
	assert_null(strstr(h, "xxxxxxxx"));
	p = reparse(h);
	assert_int_equal(p->nres, 2);
	assert_int_equal(p->res[1].nprop, 1);
	assert_string_equal(authres_parsed_prop(&p->res[0], "smtp", "helo"),
	    "a-very-long-helo-name.with.many.labels.example.com");
	free(p);
	free(h);
}

static void
t_bounds(void **state)
{
	struct authres_builder *b = authres_new("mx");
	struct authres_prop props[AUTHRES_PROPS_MAX + 3];
	struct authres_parsed *p;
	size_t len, i;
	char *h;

	(void)state;
	for (i = 0; i < AUTHRES_PROPS_MAX + 3; i++) {
		props[i].ptype = "header";
		props[i].property = "x";
		props[i].value = "v";
	}
	props[1].value = NULL;			/* skipped */
	authres_add(b, "dkim", "pass", NULL, props, AUTHRES_PROPS_MAX + 3);
	for (i = 1; i < AUTHRES_RESULTS_MAX + 5; i++)
		authres_add(b, "x-method.bad", "pass", "", NULL, 0);
	assert_int_equal(authres_dropped(b), 5);
	h = authres_finish(b, &len);
	check_lines(h, len);
	assert_non_null(strstr(h, "x-method-bad=pass ()"));
	p = reparse(h);
	assert_int_equal(p->res[0].nprop, AUTHRES_PROPS_MAX);
	assert_int_equal(p->nres, AUTHRES_PARSE_RESULTS);
	assert_true(p->truncated);
	free(p);
	free(h);
	authres_free(authres_new("x"));
	authres_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_none),
		cmocka_unit_test(t_full),
		cmocka_unit_test(t_quoting),
		cmocka_unit_test(t_folding),
		cmocka_unit_test(t_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
