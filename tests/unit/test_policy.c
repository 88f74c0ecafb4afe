/*
 * The pure parts of message filtering (postern.conf(5) `filter`): connection
 * filtering over the CIDR matcher (IPv4, IPv6, IPv4-mapped, allow-client
 * exceptions), DNSBL query names and answer classification, the rate
 * limiter over a hand-stepped clock, the block-senders-file parser, and
 * sender filtering over both lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "conf.h"
#include "dnsbl.h"
#include "policy.h"
#include "ratelimit.h"
#include "senderlist.h"

static const char *config =
    "hostname gw.test\n"
    "spool /nonexistent\n"
    "local-domain winery-co.co\n"
    "directory file /nonexistent\n"
    "virtual-server internet {\n"
    "  listen 127.0.0.2:25\n"
    "  filter {\n"
    "    block-client 192.0.2.0/24 2001:db8::/32 ::ffff:198.51.100.0/120\n"
    "    allow-client 192.0.2.7/32 2001:db8:1::/48\n"
    "    block-sender spam@bad.example @worse.example\n"
    "    dnsbl bl.test\n"
    "  }\n"
    "}\n"
    "virtual-server open {\n"
    "  listen 127.0.0.3:25\n"
    "}\n";

static struct conf *conf;

static int
setup(void **state)
{
	char err[CONF_ERR_MAX];

	(void)state;
	if (conf_load_string("test.conf", config, &conf, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	conf_unref(conf);
	return 0;
}

static const struct sockaddr *
peer(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

static void
test_client_cidr_rules(void **state)
{
	static const struct {
		const char			*ip;
		enum policy_client_verdict	 v;
	} cases[] = {
		{ "192.0.2.1", POLICY_CLIENT_BLOCKED },
		{ "192.0.2.255", POLICY_CLIENT_BLOCKED },
		{ "192.0.2.7", POLICY_CLIENT_EXEMPT },	/* exception inside */
		{ "192.0.3.1", POLICY_CLIENT_OK },
		{ "::ffff:192.0.2.1", POLICY_CLIENT_BLOCKED }, /* mapped peer */
		{ "::ffff:192.0.2.7", POLICY_CLIENT_EXEMPT },
		{ "198.51.100.9", POLICY_CLIENT_BLOCKED }, /* mapped block */
		{ "198.51.101.9", POLICY_CLIENT_OK },
		{ "2001:db8::1", POLICY_CLIENT_BLOCKED },
		{ "2001:db8:ffff::1", POLICY_CLIENT_BLOCKED },
		{ "2001:db8:1::25", POLICY_CLIENT_EXEMPT },
		{ "2001:db8:1:ffff::1", POLICY_CLIENT_EXEMPT },
		{ "2001:db9::1", POLICY_CLIENT_OK },
		{ "::1", POLICY_CLIENT_OK },
	};
	const struct conf_vserver *vs = conf_vserver_find(conf, "internet");
	const struct conf_vserver *open = conf_vserver_find(conf, "open");
	struct sockaddr_storage ss;
	const char *reply;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum policy_client_verdict v;

		v = policy_client(vs, peer(cases[i].ip, &ss), &reply);
		if (v != cases[i].v)
			fail_msg("%s: verdict %d, expected %d", cases[i].ip,
			    (int)v, (int)cases[i].v);
		if (v == POLICY_CLIENT_BLOCKED)
			assert_string_equal(reply, "554 5.7.1 Client host "
			    "rejected: access denied");
		else
			assert_null(reply);
		assert_int_equal(policy_client(open, peer(cases[i].ip, &ss),
		    &reply), POLICY_CLIENT_OK);
	}
}

static void
test_dnsbl_query_names(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char name[DNSBL_NAME_MAX + 1], zone[300];

	(void)state;
	assert_int_equal(dnsbl_query_name(peer("192.0.2.99", &ss), "bl.test",
	    name, sizeof(name)), 0);
	assert_string_equal(name, "99.2.0.192.bl.test");
	assert_int_equal(dnsbl_query_name(peer("127.0.0.2", &ss),
	    "zen.example.org", name, sizeof(name)), 0);
	assert_string_equal(name, "2.0.0.127.zen.example.org");
	/* RFC 5782 2.4's example. */
	assert_int_equal(dnsbl_query_name(peer("2001:db8:1:2:3:4:567:89ab",
	    &ss), "bl.test", name, sizeof(name)), 0);
	assert_string_equal(name, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0."
	    "1.0.0.0.8.b.d.0.1.0.0.2.bl.test");
	assert_int_equal(dnsbl_query_name(peer("::1", &ss), "bl.test", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.test");
	/* A dual-stack listener's IPv4 client is asked as IPv4. */
	assert_int_equal(dnsbl_query_name(peer("::ffff:192.0.2.99", &ss),
	    "bl.test", name, sizeof(name)), 0);
	assert_string_equal(name, "99.2.0.192.bl.test");
	/* No zone, no address family, no room, past 253 characters. */
	assert_int_equal(dnsbl_query_name(peer("192.0.2.99", &ss), "", name,
	    sizeof(name)), -1);
	assert_int_equal(dnsbl_query_name((struct sockaddr *)&sun, "bl.test",
	    name, sizeof(name)), -1);
	assert_int_equal(dnsbl_query_name(peer("192.0.2.99", &ss), "bl.test",
	    name, 10), -1);
	/* 200 characters: fine after 11 for IPv4, too long after 64. */
	memset(zone, 'a', sizeof(zone));
	zone[50] = zone[100] = zone[150] = '.';
	zone[200] = '\0';
	assert_int_equal(dnsbl_query_name(peer("192.0.2.99", &ss), zone, name,
	    sizeof(name)), 0);
	assert_int_equal(dnsbl_query_name(peer("2001:db8::1", &ss), zone,
	    name, sizeof(name)), -1);
}

static struct sockaddr_storage *
answers(size_t n, const char *const *ips)
{
	struct sockaddr_storage *ss = calloc(n, sizeof(*ss));

	for (size_t i = 0; i < n; i++)
		peer(ips[i], &ss[i]);
	return ss;
}

static void
test_dnsbl_classify(void **state)
{
	static const struct {
		const char		*ips[3];
		size_t			 n;
		enum dnsbl_status	 st;
		const char		*detail;
	} cases[] = {
		{ { NULL }, 0, DNSBL_NOT_LISTED, "" },
		{ { "127.0.0.2" }, 1, DNSBL_LISTED, "127.0.0.2" },
		{ { "127.0.0.10", "127.0.0.4" }, 2, DNSBL_LISTED, "127.0.0.10" },
		{ { "::1" }, 1, DNSBL_NOT_LISTED, "" },	/* AAAA: no listing */
		{ { "2001:db8::1", "127.0.0.3" }, 2, DNSBL_LISTED, "127.0.0.3" },
		{ { "127.255.255.254" }, 1, DNSBL_FAILED,
		    "the list refused the query (127.255.255.254)" },
		{ { "127.255.255.254", "127.0.0.2" }, 2, DNSBL_LISTED,
		    "127.0.0.2" },
		{ { "192.0.2.1" }, 1, DNSBL_FAILED,
		    "answer 192.0.2.1 is not in 127.0.0.0/8" },
	};
	char detail[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage *ss = answers(cases[i].n,
		    cases[i].ips);

		assert_int_equal(dnsbl_classify(ss, cases[i].n, detail,
		    sizeof(detail)), cases[i].st);
		assert_string_equal(detail, cases[i].detail);
		free(ss);
	}
	assert_string_equal(dnsbl_status_name(DNSBL_LISTED), "listed");
}

static void
test_ratelimit_window(void **state)
{
	struct ratelimit *rl = ratelimit_new(0);
	uint64_t t = 1000;	/* slot-aligned: 1000 / 5 */

	(void)state;
	/* 3/m: three in the minute, the fourth refused and not counted. */
	assert_true(ratelimit_hit(rl, "a", 3, t));
	assert_true(ratelimit_hit(rl, "a", 3, t + 1));
	assert_true(ratelimit_hit(rl, "a", 3, t + 20));
	assert_false(ratelimit_hit(rl, "a", 3, t + 21));
	assert_false(ratelimit_hit(rl, "a", 3, t + 59));
	assert_int_equal(ratelimit_count(rl, "a", t + 59), 3);
	/* Another key has its own budget; limit 0 is no limit. */
	assert_true(ratelimit_hit(rl, "b", 3, t + 21));
	assert_true(ratelimit_hit(rl, "a", 0, t + 21));
	/* Never more than 3 in any 60 s: the first two leave after 60-65 s,
	 * the third 20 s later. */
	assert_false(ratelimit_hit(rl, "a", 3, t + 60));
	assert_true(ratelimit_hit(rl, "a", 3, t + 65));
	assert_true(ratelimit_hit(rl, "a", 3, t + 65));
	assert_false(ratelimit_hit(rl, "a", 3, t + 66));
	assert_true(ratelimit_hit(rl, "a", 3, t + 85));
	assert_false(ratelimit_hit(rl, "a", 3, t + 86));
	/* Long idle: everything forgotten, key dropped on the next call. */
	assert_true(ratelimit_hit(rl, "c", 3, t + 1000));
	assert_int_equal(ratelimit_keys(rl), 1);
	assert_int_equal(ratelimit_count(rl, "a", t + 1000), 0);
	/* A clock that goes back counts into the newest slot. */
	assert_true(ratelimit_hit(rl, "c", 3, t + 990));
	assert_int_equal(ratelimit_count(rl, "c", t + 1000), 2);
	ratelimit_free(rl);
}

static void
test_ratelimit_bounded(void **state)
{
	struct ratelimit *rl = ratelimit_new(2);

	(void)state;
	assert_true(ratelimit_hit(rl, "a", 1, 100));
	assert_true(ratelimit_hit(rl, "b", 1, 100));
	assert_false(ratelimit_hit(rl, "a", 1, 101));	/* a is now newest */
	assert_true(ratelimit_hit(rl, "c", 1, 102));	/* evicts b */
	assert_int_equal(ratelimit_keys(rl), 2);
	assert_int_equal(ratelimit_count(rl, "b", 102), 0);
	assert_false(ratelimit_hit(rl, "a", 1, 103));	/* a kept */
	/* Forgetting can only let a client through, never refuse one. */
	assert_true(ratelimit_hit(rl, "b", 1, 103));
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static struct addr
sender(const char *path)
{
	struct addr a;
	size_t end;

	assert_int_equal(addr_parse_path(path, strlen(path), ADDR_F_ALLOW_NULL,
	    &a, &end), ADDR_OK);
	return a;
}

static void
test_senderlist_parse(void **state)
{
	static const char text[] =
	    "# blocked senders\n"
	    "\n"
	    "Spam@Bad.Example\n"
	    "  @Worse.Example   # a whole domain\r\n"
	    "<>\n"
	    "spam@bad.example\n"		/* a repeat is harmless */
	    "\"quoted\"@q.example\n"
	    "last@x.example";			/* no final newline */
	struct senderlist *l;
	struct addr a;
	char err[CONF_ERR_MAX];

	(void)state;
	assert_int_equal(senderlist_parse("f", text, sizeof(text) - 1, &l, err,
	    sizeof(err)), 0);
	assert_int_equal(senderlist_count(l), 5);
	assert_string_equal(senderlist_path(l), "f");
	a = sender("<spam@bad.example>");
	assert_true(senderlist_match(l, &a));
	a = sender("<SPAM@BAD.example>");
	assert_true(senderlist_match(l, &a));
	a = sender("<other@bad.example>");
	assert_false(senderlist_match(l, &a));
	a = sender("<anyone@worse.example>");
	assert_true(senderlist_match(l, &a));
	a = sender("<anyone@sub.worse.example>");
	assert_false(senderlist_match(l, &a));
	a = sender("<>");
	assert_true(senderlist_match(l, &a));
	a = sender("<quoted@q.example>");
	assert_true(senderlist_match(l, &a));
	a = sender("<last@x.example>");
	assert_true(senderlist_match(l, &a));
	assert_false(senderlist_match(NULL, &a));
	senderlist_ref(l);
	senderlist_unref(l);
	senderlist_unref(l);

	assert_int_equal(senderlist_parse("f", "", 0, &l, err, sizeof(err)), 0);
	assert_int_equal(senderlist_count(l), 0);
	senderlist_unref(l);
}

static void
test_senderlist_errors(void **state)
{
	static const struct {
		const char	*text;
		size_t		 len;
		const char	*err;
	} cases[] = {
		{ "ok@x.example\nnot an address\n", 0,
		    "f:2: one sender a line (an address, @domain or <>)" },
		{ "a@b.example c@d.example\n", 0,
		    "f:1: one sender a line (an address, @domain or <>)" },
		{ "\n\n@bad..example\n", 0,
		    "f:3: bad sender \"@bad..example\" (an address, @domain or "
		    "<>)" },
		{ "user@\n", 0,
		    "f:1: bad sender \"user@\" (an address, @domain or <>)" },
		{ "<user@x.example>\n", 0,
		    "f:1: bad sender \"<user@x.example>\" (an address, @domain "
		    "or <>)" },
		{ "a@b.example\nx\0y@z.example\n", 26,
		    "f:2: NUL byte in line" },
	};
	struct senderlist *l = NULL;
	char err[CONF_ERR_MAX], *longline;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len :
		    strlen(cases[i].text);

		assert_int_equal(senderlist_parse("f", cases[i].text, len, &l,
		    err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
	}
	longline = malloc(SENDERLIST_LINE_MAX + 2);
	memset(longline, 'a', SENDERLIST_LINE_MAX + 1);
	longline[SENDERLIST_LINE_MAX + 1] = '\0';
	assert_int_equal(senderlist_parse("f", longline, strlen(longline), &l,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "f:1: line longer than 1024 bytes");
	free(longline);
	assert_int_equal(senderlist_load("/nonexistent/senders", &l, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/senders: No such file or "
	    "directory");
	assert_int_equal(senderlist_load("/", &l, err, sizeof(err)), -1);
	assert_string_equal(err, "/: not a regular file");
}

static void
test_sender_policy_rules(void **state)
{
	const struct conf_vserver *vs = conf_vserver_find(conf, "internet");
	static const char text[] = "file@list.example\n";
	struct senderlist *l;
	enum policy_rule rule;
	struct addr a;
	char err[CONF_ERR_MAX];

	(void)state;
	assert_int_equal(senderlist_parse("f", text, sizeof(text) - 1, &l, err,
	    sizeof(err)), 0);
	a = sender("<Spam@bad.example>");
	assert_non_null(policy_sender(vs, &a, l, &rule));
	assert_int_equal(rule, POLICY_RULE_BLOCK_SENDER);
	a = sender("<x@worse.example>");
	assert_string_equal(policy_sender(vs, &a, l, &rule),
	    "550 5.7.1 Sender address rejected: blocked");
	assert_int_equal(rule, POLICY_RULE_BLOCK_SENDER);
	a = sender("<file@list.example>");
	assert_non_null(policy_sender(vs, &a, l, &rule));
	assert_int_equal(rule, POLICY_RULE_BLOCK_SENDERS_FILE);
	assert_null(policy_sender(vs, &a, NULL, &rule));
	a = sender("<>");
	assert_null(policy_sender(vs, &a, l, &rule));
	senderlist_unref(l);
}

static void
test_rule_names(void **state)
{
	(void)state;
	/* Every rule has a distinct name: logs and counters depend on it. */
	for (int i = 0; i < POLICY_RULE_COUNT; i++) {
		assert_string_not_equal(policy_rule_name(i), "?");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(policy_rule_name(i),
			    policy_rule_name(j));
	}
	assert_string_equal(policy_rule_name(POLICY_RULE_COUNT), "?");
	assert_string_equal(policy_rule_name(POLICY_RULE_DNSBL), "dnsbl");
}

static void
test_dnsbl_reply(void **state)
{
	char buf[256];

	(void)state;
	policy_dnsbl_reply(buf, sizeof(buf), "192.0.2.1", "bl.test");
	assert_string_equal(buf, "554 5.7.1 Service unavailable; client "
	    "[192.0.2.1] blocked using bl.test");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_cidr_rules),
		cmocka_unit_test(test_dnsbl_query_names),
		cmocka_unit_test(test_dnsbl_classify),
		cmocka_unit_test(test_ratelimit_window),
		cmocka_unit_test(test_ratelimit_bounded),
		cmocka_unit_test(test_senderlist_parse),
		cmocka_unit_test(test_senderlist_errors),
		cmocka_unit_test(test_sender_policy_rules),
		cmocka_unit_test(test_rule_names),
		cmocka_unit_test(test_dnsbl_reply),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
