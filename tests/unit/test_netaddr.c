/*
 * test_netaddr — address parsing and CIDR matching (src/lib/netaddr.c):
 * the forms the configuration accepts and the ones it must refuse, prefix
 * boundaries that do not fall on a byte, IPv6, and IPv4-mapped peers;
 * the limit key of a client (IPv4 as is, IPv6 by /64).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "netaddr.h"

/* A peer sockaddr from text: "1.2.3.4" or "::1". */
static const struct sockaddr *
peer(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	}
	return (const struct sockaddr *)ss;
}

static void
test_cidr_parse(void **state)
{
	static const struct {
		const char	*text;
		int		 family, prefix;
	} good[] = {
		{ "10.0.0.0/8", AF_INET, 8 },
		{ "10.0.0.1", AF_INET, 32 },
		{ "0.0.0.0/0", AF_INET, 0 },
		{ "192.0.2.7/32", AF_INET, 32 },
		{ "10.1.2.3/8", AF_INET, 8 },	/* host bits are ignored */
		{ "::1/128", AF_INET6, 128 },
		{ "::1", AF_INET6, 128 },
		{ "::/0", AF_INET6, 0 },
		{ "2001:db8::/32", AF_INET6, 32 },
		{ "::ffff:10.0.0.0/104", AF_INET6, 104 },
	};
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0//8",
		"10.0.0/8", "10.0.0.256/8", "abc", "::/129", "fe80::1%eth0/64",
		"2001:db8::/99999999999999999999", " 10.0.0.0/8",
		("1111111111111111111111111111111111111111111111111111111111111111"
		"11111111111111111111111111111111/8"),
	};
	struct cidr c;
	uint8_t want[16];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (netaddr_parse_cidr(good[i].text, &c) != 0)
			fail_msg("refused %s", good[i].text);
		assert_int_equal(c.family, good[i].family);
		assert_int_equal(c.prefix, good[i].prefix);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (netaddr_parse_cidr(bad[i], &c) != -1)
			fail_msg("accepted \"%s\"", bad[i]);

	assert_int_equal(netaddr_parse_cidr("2001:db8::1/64", &c), 0);
	inet_pton(AF_INET6, "2001:db8::1", want);
	assert_memory_equal(c.addr, want, 16);
	assert_int_equal(netaddr_parse_cidr("192.0.2.1/24", &c), 0);
	inet_pton(AF_INET, "192.0.2.1", want);
	assert_memory_equal(c.addr, want, 4);
}

static void
test_cidr_match(void **state)
{
	static const struct {
		const char	*cidr, *ip;
		int		 match;
	} cases[] = {
		{ "10.0.0.0/8", "10.1.2.3", 1 },
		{ "10.0.0.0/8", "11.0.0.0", 0 },
		{ "10.0.0.0/8", "9.255.255.255", 0 },
		{ "192.0.2.0/23", "192.0.3.255", 1 },	/* not on a byte */
		{ "192.0.2.0/23", "192.0.4.0", 0 },
		{ "192.0.2.128/25", "192.0.2.127", 0 },
		{ "192.0.2.128/25", "192.0.2.200", 1 },
		{ "192.0.2.7/32", "192.0.2.7", 1 },
		{ "192.0.2.7/32", "192.0.2.6", 0 },
		{ "0.0.0.0/0", "203.0.113.25", 1 },
		{ "10.1.2.3/8", "10.200.0.1", 1 },
		/* IPv6 */
		{ "::1/128", "::1", 1 },
		{ "::1/128", "::2", 0 },
		{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
		{ "2001:db8::/32", "2001:db9::1", 0 },
		{ "2001:db8::/127", "2001:db8::1", 1 },
		{ "2001:db8::/127", "2001:db8::2", 0 },
		{ "::/0", "2001:db8::1", 1 },
		/* families do not mix ... */
		{ "10.0.0.0/8", "::1", 0 },
		{ "::/0", "10.0.0.1", 0 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		/* ... except through IPv4-mapped addresses, both ways */
		{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 },
		{ "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
		{ "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
		{ "0.0.0.0/0", "::ffff:1.2.3.4", 1 },
		{ "10.0.0.0/8", "::10.1.2.3", 0 },	/* not mapped */
		{ "::ffff:10.0.0.0/104", "10.1.2.3", 1 },
		{ "::ffff:10.0.0.0/104", "11.1.2.3", 0 },
		{ "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", 1 },
		{ "::ffff:0.0.0.0/96", "192.0.2.1", 1 },
		{ "::ffff:0.0.0.0/95", "192.0.2.1", 0 },
		{ "::/0", "::ffff:10.0.0.1", 1 },
	};
	struct sockaddr_storage ss;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct cidr c, list[2];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(netaddr_parse_cidr(cases[i].cidr, &c), 0);
		if (netaddr_cidr_match(&c, peer(cases[i].ip, &ss)) !=
		    cases[i].match)
			fail_msg("%s in %s: want %d", cases[i].ip,
			    cases[i].cidr, cases[i].match);
	}
	assert_int_equal(netaddr_cidr_match(&c, (struct sockaddr *)&sun), 0);

	assert_int_equal(netaddr_parse_cidr("10.0.0.0/8", &list[0]), 0);
	assert_int_equal(netaddr_parse_cidr("::1", &list[1]), 0);
	assert_true(netaddr_cidr_match_any(list, 2, peer("::1", &ss)));
	assert_true(netaddr_cidr_match_any(list, 2, peer("10.0.0.1", &ss)));
	assert_false(netaddr_cidr_match_any(list, 2, peer("::2", &ss)));
	assert_false(netaddr_cidr_match_any(list, 0, peer("::1", &ss)));
}

static void
test_hostport(void **state)
{
	static const struct {
		const char	*text;
		int		 defport;
		const char	*want;		/* netaddr_ntop_port */
	} good[] = {
		{ "1.2.3.4", 25, "1.2.3.4:25" },
		{ "1.2.3.4:2525", 25, "1.2.3.4:2525" },
		{ "0.0.0.0:1", 25, "0.0.0.0:1" },
		{ "127.0.0.1:65535", 0, "127.0.0.1:65535" },
		{ "[::1]:25", 53, "[::1]:25" },
		{ "[::1]", 53, "[::1]:53" },
		{ "[2001:DB8::25]:587", 25, "[2001:db8::25]:587" },
		{ "[::]:25", 25, "[::]:25" },
		{ "[::ffff:10.0.0.1]:25", 25, "[::ffff:10.0.0.1]:25" },
		{ "[1.2.3.4]:25", 53, "1.2.3.4:25" },
		{ "10.0.0.53:0053", 25, "10.0.0.53:53" },
	};
	static const char *const bad[] = {
		"", ":25", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
		"1.2.3.4:25x", "1.2.3.4:+25", "1.2.3.4:-25", "1.2.3.4: 25",
		"1.2.3.4:25:", "1.2.3", "1.2.3.4.5", "::1", "2001:db8::1:25",
		"[::1", "[::1]x", "[::1]:", "[]:25", "[]", "host:25",
		"localhost", "[fe80::1%eth0]:25", "[::1]:99999999999999999999",
		("[1111111111111111111111111111111111111111111111111111111111111"
		"11111111111]:25"),
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[NETADDR_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		len = 0;
		if (netaddr_parse_hostport(good[i].text, good[i].defport,
		    &ss, &len) != 0)
			fail_msg("refused %s", good[i].text);
		assert_string_equal(netaddr_ntop_port((struct sockaddr *)&ss,
		    buf, sizeof(buf)), good[i].want);
		assert_int_equal(len, ss.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (netaddr_parse_hostport(bad[i], 25, &ss, &len) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	/* without a default, the port is required */
	assert_int_equal(netaddr_parse_hostport("127.0.0.1", 0, &ss, &len),
	    -1);
	assert_int_equal(netaddr_parse_hostport("127.0.0.1:9", 0, &ss, &len),
	    0);
	assert_int_equal(netaddr_port((struct sockaddr *)&ss), 9);
}

static void
test_ntop_equal(void **state)
{
	struct sockaddr_storage a, b;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	char buf[NETADDR_STRLEN];

	(void)state;
	assert_int_equal(netaddr_parse_hostport("[2001:db8::1]:25", 25, &a,
	    &len), 0);
	assert_string_equal(netaddr_ntop((struct sockaddr *)&a, buf,
	    sizeof(buf)), "2001:db8::1");
	assert_int_equal(netaddr_port((struct sockaddr *)&a), 25);
	assert_string_equal(netaddr_ntop((struct sockaddr *)&sun, buf,
	    sizeof(buf)), "unknown");
	assert_int_equal(netaddr_port((struct sockaddr *)&sun), 0);

	assert_int_equal(netaddr_parse_hostport("[2001:db8:0::1]", 25, &b,
	    &len), 0);
	assert_true(netaddr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	assert_int_equal(netaddr_parse_hostport("[2001:db8::1]:26", 25, &b,
	    &len), 0);
	assert_false(netaddr_equal((struct sockaddr *)&a,
	    (struct sockaddr *)&b));
	assert_int_equal(netaddr_parse_hostport("10.0.0.1:25", 25, &a, &len),
	    0);
	assert_int_equal(netaddr_parse_hostport("10.0.0.1", 25, &b, &len), 0);
	assert_true(netaddr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	assert_int_equal(netaddr_parse_hostport("10.0.0.2", 25, &b, &len), 0);
	assert_false(netaddr_equal((struct sockaddr *)&a,
	    (struct sockaddr *)&b));
	/* a mapped address is not the same socket address as the IPv4 one */
	assert_int_equal(netaddr_parse_hostport("[::ffff:10.0.0.1]", 25, &b,
	    &len), 0);
	assert_false(netaddr_equal((struct sockaddr *)&a,
	    (struct sockaddr *)&b));
	assert_false(netaddr_equal((struct sockaddr *)&sun,
	    (struct sockaddr *)&sun));
}

static void
test_limit_key(void **state)
{
	static const struct {
		const char	*peer;
		const char	*key;
	} cases[] = {
		{ "192.0.2.7", "192.0.2.7" },
		{ "0.0.0.0", "0.0.0.0" },
		{ "255.255.255.255", "255.255.255.255" },
		/* a dual-stack listener's IPv4 peer is the IPv4 client */
		{ "::ffff:192.0.2.7", "192.0.2.7" },
		{ "::FFFF:c000:207", "192.0.2.7" },
		/* IPv6: the /64, whatever the interface identifier */
		{ "2001:db8:1:2::1", "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64" },
		{ "2001:0db8:0001:0002:a:b:c:d", "2001:db8:1:2::/64" },
		{ "2001:db8:1:3::1", "2001:db8:1:3::/64" },
		{ "2001:db8::1", "2001:db8::/64" },
		{ "2001:db8:0:0:1::", "2001:db8::/64" },
		{ "2001:db8:ab:cd:12:34:56:78", "2001:db8:ab:cd::/64" },
		{ "fe80::1", "fe80::/64" },
		{ "::1", "::/64" },
		{ "::", "::/64" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "ffff:ffff:ffff:ffff::/64" },
		/* not mapped: the prefix is not ::ffff:0:0/96 */
		{ "::fffe:192.0.2.7", "::/64" },
		{ "64:ff9b::192.0.2.7", "64:ff9b::/64" },
	};
	struct sockaddr_storage ss;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[NETADDR_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		assert_string_equal(netaddr_limit_key(peer(cases[i].peer, &ss),
		    buf, sizeof(buf)), cases[i].key);
	}
	/* the longest key fits, with the buffer the callers use */
	assert_true(strlen("ffff:ffff:ffff:ffff::/64") < NETADDR_STRLEN);
	assert_string_equal(netaddr_limit_key((struct sockaddr *)&sun, buf,
	    sizeof(buf)), "unknown");
	/* the port plays no part */
	assert_int_equal(netaddr_parse_hostport("[2001:db8:1:2::9]:2525", 25,
	    &ss, &(socklen_t){ 0 }), 0);
	assert_string_equal(netaddr_limit_key((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "2001:db8:1:2::/64");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_match),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_ntop_equal),
		cmocka_unit_test(test_limit_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
