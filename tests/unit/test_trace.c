/*
 * The dry run (trace.c) and the flow table (flow.c) over a configuration
 * and a file directory: each verdict and route as a live session and
 * delivery would find them — relay denied, unknown user, blocked client
 * and sender, block-recipient, a list, a catch-all, a smart host, a
 * partner relay domain, MX through the external list, max-recipients —
 * and the canonical flows of the canonical mail flows of README.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "directory.h"
#include "flow.h"
#include "trace.h"

static const char *directory_text =
    "ericm@winery-co.co   mbx1.winery.local\n"
    "kimy@winery-co.co    [10.0.0.32]:25\n"
    "postmaster@winery-co.co local\n"
    "@winery.local        mbx1.winery.local\n"
    "team@winery-co.co    -> ericm@winery-co.co kimy@winery-co.co\n"
    "ext@winery-co.co     -> someone@example.org\n";

static const char *config_fmt =
    "hostname gw.test\n"
    "spool /nonexistent\n"
    "dns 10.0.0.53\n"
    "dns-list external 198.51.100.53\n"
    "local-domain winery-co.co winery.local\n"
    "directory file %s\n"
    "virtual-server internet {\n"
    "  listen 203.0.113.25:25\n"
    "  max-recipients 3\n"
    "  filter {\n"
    "    block-client 192.0.2.0/24\n"
    "    allow-client 192.0.2.7/32\n"
    "    block-sender spam@bad.example @junk.example\n"
    "    block-recipient internal-all@winery-co.co\n"
    "  }\n"
    "}\n"
    "virtual-server intranet {\n"
    "  listen 10.0.0.25:25\n"
    "  relay allow 10.0.0.0/8\n"
    "  external-dns external\n"
    "}\n"
    "connector internet {\n"
    "  address-space * cost 1\n"
    "  address-space partner.example cost 1 relay\n"
    "  home intranet\n"
    "}\n"
    "connector branch {\n"
    "  address-space branch.example cost 1\n"
    "  home intranet\n"
    "  route smarthost [10.1.0.25]:25\n"
    "}\n";

static struct conf *conf;
static struct directory *dir;
static char dirpath[] = "/tmp/test_trace.XXXXXX";

static int
setup(void **state)
{
	char err[CONF_ERR_MAX], *text;
	int fd;

	(void)state;
	if ((fd = mkstemp(dirpath)) == -1)
		return -1;
	if (write(fd, directory_text, strlen(directory_text)) == -1)
		return -1;
	close(fd);
	if (asprintf(&text, config_fmt, dirpath) == -1)
		return -1;
	if (conf_load_string("test.conf", text, &conf, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		free(text);
		return -1;
	}
	free(text);
	if ((dir = directory_open(conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	directory_unref(dir);
	conf_unref(conf);
	unlink(dirpath);
	return 0;
}

static struct trace_result *got;
static size_t ngot;
static char goterr[256];

static void
done(void *arg, struct trace_result *res, size_t n, const char *error)
{
	(void)arg;
	got = res;
	ngot = n;
	snprintf(goterr, sizeof(goterr), "%s", error ? error : "");
}

static struct trace_result *
run(const char *vs, const char *client, const char *sender,
    const char *rcpt)
{
	const char *rcpts[1] = { rcpt };
	struct trace_request rq = { .conf = conf, .dir = dir, .vserver = vs,
	    .client = client, .sender = sender, .rcpts = rcpts, .nrcpts = 1 };

	trace_results_free(got, ngot);
	got = NULL;
	assert_null(trace_start(&rq, done, NULL));	/* file: at once */
	assert_non_null(got);
	assert_int_equal(ngot, 1);
	return &got[0];
}

#define assert_str_or_null(a, b) do {					\
	if ((b) == NULL)						\
		assert_null(a);						\
	else								\
		assert_string_equal((a), (b));				\
} while (0)

static void
expect(struct trace_result *r, int accepted, const char *reply,
    const char *route, const char *conn, const char *hop, const char *dns)
{
	assert_int_equal(r->accepted, accepted);
	assert_true(strncmp(r->reply, reply, strlen(reply)) == 0);
	assert_str_or_null(r->route, route);
	assert_str_or_null(r->connector, conn);
	assert_str_or_null(r->next_hop, hop);
	assert_str_or_null(r->dns, dns);
}

#define INET	"203.0.113.9"
#define INTRA	"10.0.0.77"

static void
test_internet_server(void **state)
{
	struct trace_result *r;

	(void)state;
	expect(run("internet", INET, "a@example.org", "someone@example.net"),
	    0, "550 5.7.1", NULL, NULL, NULL, NULL);
	assert_string_equal(got[0].rule, "relay");
	expect(run("internet", INET, "a@example.org", "ericm@winery-co.co"),
	    1, "250 2.1.5", "mailbox", NULL, "mbx1.winery.local", "internal");
	expect(run("internet", INET, "a@example.org", "nobody@winery-co.co"),
	    0, "550 5.1.1", NULL, NULL, NULL, NULL);
	expect(run("internet", INET, "a@example.org", "anyone@winery.local"),
	    1, "250", "mailbox", NULL, "mbx1.winery.local", "internal");
	expect(run("internet", INET, "a@example.org", "postmaster"),
	    1, "250", "mailbox", NULL, "local", NULL);
	expect(run("internet", INET, "a@example.org", "kimy@winery-co.co"),
	    1, "250", "mailbox", NULL, "[10.0.0.32]:25", "internal");
	expect(run("internet", INET, "a@example.org", "x@partner.example"),
	    1, "250", "connector", "internet", "MX partner.example",
	    "external");
	expect(run("internet", INET, "spam@bad.example", "ericm@winery-co.co"),
	    0, "550 5.7.1 Sender", NULL, NULL, NULL, NULL);
	assert_string_equal(got[0].rule, "block-sender");
	expect(run("internet", INET, "x@junk.example", "ericm@winery-co.co"),
	    0, "550 5.7.1 Sender", NULL, NULL, NULL, NULL);
	expect(run("internet", "192.0.2.9", "a@example.org",
	    "ericm@winery-co.co"), 0, "554 5.7.1", NULL, NULL, NULL, NULL);
	assert_string_equal(got[0].rule, "block-client");
	expect(run("internet", "192.0.2.7", "a@example.org",
	    "ericm@winery-co.co"), 1, "250", "mailbox", NULL,
	    "mbx1.winery.local", "internal");
	expect(run("internet", INET, "a@example.org",
	    "internal-all@winery-co.co"), 0, "550 5.7.1 Recipient", NULL,
	    NULL, NULL, NULL);
	r = run("internet", INET, "a@example.org", "not an address");
	assert_int_equal(r->accepted, 0);
	assert_true(strncmp(r->reply, "501 5.1.3", 9) == 0);
}

static void
test_intranet_server(void **state)
{
	struct trace_result *r;

	(void)state;
	expect(run("intranet", INTRA, "ericm@winery-co.co",
	    "someone@example.org"), 1, "250", "connector", "internet",
	    "MX example.org", "external");
	expect(run("intranet", INTRA, "ericm@winery-co.co",
	    "a@host.branch.example"), 1, "250", "connector", "internet",
	    "MX host.branch.example", "external");
	expect(run("intranet", INTRA, "ericm@winery-co.co",
	    "a@branch.example"), 1, "250", "connector", "branch",
	    "[10.1.0.25]:25", "internal");
	/* Not from the intranet: no relay. */
	expect(run("intranet", INET, "ericm@winery-co.co",
	    "someone@example.org"), 0, "550 5.7.1", NULL, NULL, NULL, NULL);
	/* A list on two mailbox servers: the note tells each member. */
	r = run("intranet", INTRA, "", "team@winery-co.co");
	expect(r, 1, "250", "mailbox", NULL, NULL, "internal");
	assert_non_null(strstr(r->note, "list of 2"));
	assert_non_null(strstr(r->note, "kimy@winery-co.co"));
	/* A list whose one member is on the Internet. */
	expect(run("intranet", INTRA, "", "ext@winery-co.co"), 1, "250",
	    "connector", "internet", "MX example.org", "external");
}

static void
test_request_errors_and_limits(void **state)
{
	const char *rcpts[4] = { "ericm@winery-co.co", "kimy@winery-co.co",
	    "postmaster@winery-co.co", "team@winery-co.co" };
	struct trace_request rq = { .conf = conf, .dir = dir,
	    .vserver = "nosuch", .client = INET, .sender = "", .rcpts = rcpts,
	    .nrcpts = 4 };

	(void)state;
	trace_results_free(got, ngot);
	got = NULL;
	ngot = 0;
	assert_null(trace_start(&rq, done, NULL));
	assert_null(got);
	assert_non_null(strstr(goterr, "nosuch"));
	rq.vserver = "internet";
	rq.client = "not-an-ip";
	assert_null(trace_start(&rq, done, NULL));
	assert_null(got);
	rq.client = INET;
	assert_null(trace_start(&rq, done, NULL));
	assert_int_equal(ngot, 4);
	assert_int_equal(got[2].accepted, 1);
	/* max-recipients 3: the fourth gets 452 as in a session */
	assert_int_equal(got[3].accepted, 0);
	assert_true(strncmp(got[3].reply, "452 4.5.3", 9) == 0);
	trace_results_free(got, ngot);
	got = NULL;
	ngot = 0;
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

static const struct flow_row *
row(const char *vs, const char *flow)
{
	for (size_t i = 0; i < nrows; i++)
		if (strcmp(rows[i].vserver, vs) == 0 &&
		    strcmp(rows[i].flow, flow) == 0)
			return &rows[i];
	fail_msg("no row %s / %s", vs, flow);
	return NULL;
}

static void
test_flow_table(void **state)
{
	const struct flow_row *r;

	(void)state;
	assert_null(flow_start(conf, dir, NULL, "ericm@winery-co.co", NULL,
	    flowed, NULL));
	assert_int_equal(nrows, 14);
	r = row("internet", "Internet -> Internet");
	assert_false(r->r.accepted);
	assert_true(strncmp(r->r.reply, "550 5.7.1", 9) == 0);
	r = row("internet", "Internet -> local user");
	assert_true(r->r.accepted);
	assert_string_equal(r->r.next_hop, "mbx1.winery.local");
	r = row("internet", "Internet -> unknown local user");
	assert_true(strncmp(r->r.reply, "550 5.1.1", 9) == 0);
	r = row("internet", "blocked sender");
	assert_true(strncmp(r->r.reply, "550 5.7.1", 9) == 0);
	r = row("internet", "blocked client");
	assert_true(strncmp(r->r.reply, "554 5.7.1", 9) == 0);
	assert_string_equal(r->client, "192.0.2.1");
	r = row("intranet", "intranet -> Internet");
	assert_true(r->r.accepted);
	assert_string_equal(r->r.next_hop, "MX example.org");
	assert_string_equal(r->r.dns, "external");
	assert_string_equal(r->client, "10.0.0.1");
	r = row("intranet", "intranet -> local user");
	assert_true(r->r.accepted);
	r = row("intranet", "blocked sender");
	assert_null(r->r.reply);
	assert_non_null(strstr(r->r.note, "not applicable"));
	flow_rows_free(rows, nrows);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_internet_server),
		cmocka_unit_test(test_intranet_server),
		cmocka_unit_test(test_request_errors_and_limits),
		cmocka_unit_test(test_flow_table),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);

	trace_results_free(got, ngot);
	return rc;
}
