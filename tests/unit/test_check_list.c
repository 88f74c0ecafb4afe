/*
 * One decision path: a check added to smtp_check's list is applied by the
 * session and shown by posternctl trace and flow, with nothing else
 * changed.  A dummy RCPT check refuses one known user; the live session
 * (session_fixture.h), trace and flow must all give that recipient the
 * dummy's reply and rule, and everyone else the usual answers.
 */
#include "session_fixture.h"

#include "flow.h"
#include "smtp_check.h"
#include "trace.h"

#define DUMMY_REPLY	"550 5.7.1 Dummy check: kimy takes no mail today"

static int dummy_calls;

static int
dummy_rcpt(const struct smtp_check_client *cl, const struct addr *rcpt,
    const char *key, struct smtp_check_verdict *v)
{
	(void)cl;
	(void)rcpt;
	dummy_calls++;
	if (strcmp(key, "kimy@winery-co.co") != 0)
		return 0;
	v->rule = POLICY_RULE_BLOCK_RECIPIENT;
	v->reply = DUMMY_REPLY;
	return -1;
}

static const struct smtp_check_def dummy = { "dummy", dummy_rcpt };

static struct trace_result *got;
static size_t ngot;

static void
traced(void *arg, struct trace_result *res, size_t n, const char *error)
{
	(void)arg;
	assert_null(error);
	got = res;
	ngot = n;
}

static struct flow_row *rows;
static size_t nrows;

static void
flowed(void *arg, struct flow_row *r, size_t n)
{
	(void)arg;
	rows = r;
	nrows = n;
}

static void
test_dummy_check_everywhere(void **state)
{
	const char *rcpts[2] = { "kimy@winery-co.co", "ericm@winery-co.co" };
	struct trace_request rq = { .conf = conf, .dir = dir,
	    .vserver = "internet", .client = "192.0.2.1",
	    .sender = "a@example.org", .rcpts = rcpts, .nrcpts = 2 };
	size_t i;
	int seen = 0;

	(void)state;
	assert_int_equal(smtp_check_register(&dummy), 0);

	/* The session. */
	check("internet", "192.0.2.1",
	    "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<kimy@winery-co.co>\r\nRCPT TO:<ericm@winery-co.co>\r\n"
	    "RCPT TO:<nobody@winery-co.co>\r\n",
	    "220 gw.test ESMTP postern\r\n"
	    "250-gw.test Hello c.example [192.0.2.1]\r\n"
	    "250-PIPELINING\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
	    "250 DSN\r\n250 2.1.0 Ok\r\n"
	    DUMMY_REPLY "\r\n"
	    "250 2.1.5 Ok\r\n"
	    "550 5.1.1 Recipient address rejected: user unknown\r\n");
	/* The built-in refusals come first: no call for nobody@. */
	assert_true(dummy_calls > 0);

	/* trace. */
	assert_null(trace_start(&rq, traced, NULL));
	assert_int_equal(ngot, 2);
	assert_false(got[0].accepted);
	assert_string_equal(got[0].reply, DUMMY_REPLY);
	assert_string_equal(got[0].rule, "block-recipient");
	assert_true(got[1].accepted);
	trace_results_free(got, ngot);

	/* flow, with kimy as its local user, on the same virtual server (the
	 * fixture's others refuse earlier on purpose, e.g. without TLS). */
	assert_null(flow_start(conf, dir, NULL, "kimy@winery-co.co", NULL,
	    flowed, NULL));
	for (i = 0; i < nrows; i++) {
		if (strcmp(rows[i].flow, "Internet -> local user") != 0 ||
		    strcmp(rows[i].vserver, "internet") != 0)
			continue;
		assert_non_null(rows[i].r.reply);
		assert_string_equal(rows[i].r.reply, DUMMY_REPLY);
		seen++;
	}
	assert_true(seen >= 1);
	flow_rows_free(rows, nrows);

	/* Without it, kimy is accepted again everywhere. */
	smtp_check_unregister_all();
	assert_null(trace_start(&rq, traced, NULL));
	assert_true(got[0].accepted);
	trace_results_free(got, ngot);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dummy_check_everywhere),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
