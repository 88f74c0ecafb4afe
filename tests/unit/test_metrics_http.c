/*
 * test_metrics_http — the metrics endpoint's request head parser
 * (metrics_http.c, metrics_http_parse).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static int
parse(const char *s)
{
	return metrics_http_parse(s, strlen(s));
}

static void
test_parse(void **state)
{
	(void)state;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n"), 200);
	assert_int_equal(parse("GET /metrics HTTP/1.0\n"), 200);
	assert_int_equal(parse("GET /metrics?name[]=up HTTP/1.1\r\n"), 200);
	assert_int_equal(parse("GET /metricsx HTTP/1.1\r\n"), 404);
	assert_int_equal(parse("GET / HTTP/1.1\r\n"), 404);
	assert_int_equal(parse("HEAD /metrics HTTP/1.1\r\n"), 405);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n"), 405);
	assert_int_equal(parse("GET /metrics\r\n"), 400);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n"), 400);
	assert_int_equal(parse("GET /metrics HTTP/1.1"), 400);  /* no end */
	assert_int_equal(parse("GET /a b HTTP/1.1\r\n"), 400);
	assert_int_equal(parse("\r\n"), 400);
	assert_int_equal(metrics_http_parse("", 0), 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
