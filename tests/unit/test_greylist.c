/*
 * test_greylist — the greylist table of greylist.h, over a clock stepped
 * by hand: a new triplet and an early retry are deferred, a retry after
 * DELAY passes and is remembered, AUTO-ALLOW lets the client's other
 * triplets through, triplets not retried expire, IPv4 clients group by
 * /24 and IPv6 ones by /64, case does not matter, a look (trace) records
 * nothing, the table is bounded (the least recently seen forgotten), and
 * the shared store's answers decide the same way (greylist_decide); and
 * the `greylist DELAY [AUTO-ALLOW]` statement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "greylist.h"

#define DELAY	300
#define ALLOW	(35 * 86400)
#define T0	1000000

static struct sockaddr_storage ss;

static const struct sockaddr *
ip(const char *text)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)&ss;
}

static enum greylist_verdict
check(struct greylist *gl, const char *client, const char *sender,
    const char *rcpt, unsigned allow, uint64_t now)
{
	struct greylist_key k;

	greylist_key(&k, "internet", ip(client), sender, rcpt);
	return greylist_check(gl, &k, DELAY, allow, now, 1);
}

static void
test_delay(void **state)
{
	struct greylist *gl = greylist_new(0);

	(void)state;
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", 0, T0),
	    GREYLIST_NEW);
	assert_true(GREYLIST_DEFERS(GREYLIST_NEW));
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", 0,
	    T0 + 60), GREYLIST_EARLY);
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", 0,
	    T0 + DELAY - 1), GREYLIST_EARLY);
	/* The retries did not move the first sighting on. */
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", 0,
	    T0 + DELAY), GREYLIST_PASS);
	assert_false(GREYLIST_DEFERS(GREYLIST_PASS));
	/* Passed: remembered for GREYLIST_PASS_SECS. */
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", 0,
	    T0 + 86400), GREYLIST_KNOWN);
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", 0,
	    T0 + DELAY + GREYLIST_PASS_SECS), GREYLIST_NEW);
	/* Without AUTO-ALLOW another triplet of the client starts over. */
	assert_int_equal(check(gl, "192.0.2.7", "c@x.org", "b@y.org", 0,
	    T0 + 1000), GREYLIST_NEW);
	greylist_free(gl);
}

static void
test_auto_allow(void **state)
{
	struct greylist *gl = greylist_new(0);

	(void)state;
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", ALLOW,
	    T0), GREYLIST_NEW);
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", ALLOW,
	    T0 + DELAY), GREYLIST_PASS);
	/* The client's network, any sender and recipient. */
	assert_int_equal(check(gl, "192.0.2.200", "z@w.org", "q@y.org", ALLOW,
	    T0 + DELAY + 1), GREYLIST_KNOWN);
	/* Not another network. */
	assert_int_equal(check(gl, "192.0.3.7", "z@w.org", "q@y.org", ALLOW,
	    T0 + DELAY + 1), GREYLIST_NEW);
	/* AUTO-ALLOW runs out. */
	assert_int_equal(check(gl, "192.0.2.200", "n@w.org", "q@y.org", ALLOW,
	    T0 + DELAY + ALLOW), GREYLIST_NEW);
	greylist_free(gl);
}

static void
test_expiry(void **state)
{
	struct greylist *gl = greylist_new(0);

	(void)state;
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", 0, T0),
	    GREYLIST_NEW);
	assert_int_equal(greylist_keys(gl), 1);
	/* Not retried within DELAY + GREYLIST_RETRY_SECS: forgotten. */
	assert_int_equal(check(gl, "192.0.2.7", "a@x.org", "b@y.org", 0,
	    T0 + DELAY + GREYLIST_RETRY_SECS), GREYLIST_NEW);
	assert_int_equal(greylist_keys(gl), 1);
	/* An expired entry at the head goes when anything is looked up. */
	assert_int_equal(check(gl, "198.51.100.1", "a@x.org", "b@y.org", 0,
	    T0 + 2 * (DELAY + GREYLIST_RETRY_SECS)), GREYLIST_NEW);
	assert_int_equal(greylist_keys(gl), 1);
	greylist_free(gl);
}

static void
test_grouping(void **state)
{
	struct greylist *gl = greylist_new(0);
	struct greylist_key a, b;
	char net[64];

	(void)state;
	assert_string_equal(greylist_net(ip("192.0.2.77"), net, sizeof(net)),
	    "192.0.2.0/24");
	assert_string_equal(greylist_net(ip("::ffff:192.0.2.77"), net,
	    sizeof(net)), "192.0.2.0/24");
	assert_string_equal(greylist_net(ip("2001:db8:1:2:3::4"), net,
	    sizeof(net)), "2001:db8:1:2::/64");
	/* The same /24 (and case) is the same triplet: a retry from
	 * another address of the network passes. */
	assert_int_equal(check(gl, "192.0.2.7", "A@X.org", "b@Y.org", 0, T0),
	    GREYLIST_NEW);
	assert_int_equal(check(gl, "192.0.2.8", "a@x.org", "B@y.org", 0,
	    T0 + DELAY), GREYLIST_PASS);
	/* The same /64. */
	assert_int_equal(check(gl, "2001:db8:1:2::10", "a@x.org", "b@y.org", 0,
	    T0), GREYLIST_NEW);
	assert_int_equal(check(gl, "2001:db8:1:2:ffff::1", "a@x.org",
	    "b@y.org", 0, T0 + DELAY), GREYLIST_PASS);
	assert_int_equal(check(gl, "2001:db8:1:3::10", "a@x.org", "b@y.org", 0,
	    T0 + DELAY), GREYLIST_NEW);
	/* Keys are short, scoped, and carry no address. */
	greylist_key(&a, "internet", ip("192.0.2.7"), "a@x.org", "b@y.org");
	greylist_key(&b, "partner", ip("192.0.2.7"), "a@x.org", "b@y.org");
	assert_string_equal(a.client, "internet:192.0.2.0/24");
	assert_int_equal(strncmp(a.triplet, "internet:192.0.2.0/24:", 22), 0);
	assert_int_equal(strlen(a.triplet), 22 + 32);
	assert_null(strchr(a.triplet, '@'));
	assert_string_not_equal(a.triplet, b.triplet);
	/* Sender and recipient are not interchangeable. */
	greylist_key(&b, "internet", ip("192.0.2.7"), "b@y.org", "a@x.org");
	assert_string_not_equal(a.triplet, b.triplet);
	greylist_free(gl);
}

static void
test_peek(void **state)
{
	struct greylist *gl = greylist_new(0);
	struct greylist_key k;

	(void)state;
	greylist_key(&k, "internet", ip("192.0.2.7"), "a@x.org", "b@y.org");
	assert_int_equal(greylist_check(gl, &k, DELAY, 0, T0, 0),
	    GREYLIST_NEW);
	assert_int_equal(greylist_keys(gl), 0);
	assert_int_equal(greylist_check(gl, &k, DELAY, 0, T0, 1),
	    GREYLIST_NEW);
	assert_int_equal(greylist_check(gl, &k, DELAY, 0, T0 + DELAY, 0),
	    GREYLIST_PASS);
	/* The look did not pass it: the real retry does. */
	assert_int_equal(greylist_check(gl, &k, DELAY, 0, T0 + DELAY + 1, 1),
	    GREYLIST_PASS);
	assert_int_equal(greylist_check(gl, &k, DELAY, 0, T0 + DELAY + 2, 0),
	    GREYLIST_KNOWN);
	greylist_free(gl);
}

static void
test_bound(void **state)
{
	struct greylist *gl = greylist_new(3);
	char client[32];

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(client, sizeof(client), "192.0.%d.1", i);
		assert_int_equal(check(gl, client, "a@x.org", "b@y.org", 0,
		    T0 + (uint64_t)i), GREYLIST_NEW);
		assert_true(greylist_keys(gl) <= 3);
	}
	/* The least recently seen were forgotten: they start over (fail
	 * open: later, never a wrong deferral of a passed triplet). */
	assert_int_equal(check(gl, "192.0.4.1", "a@x.org", "b@y.org", 0,
	    T0 + DELAY + 10), GREYLIST_PASS);
	assert_int_equal(check(gl, "192.0.0.1", "a@x.org", "b@y.org", 0,
	    T0 + DELAY + 10), GREYLIST_NEW);
	greylist_free(gl);
}

static void
test_decide(void **state)
{
	(void)state;
	assert_int_equal(greylist_decide(0, 0, DELAY), GREYLIST_NEW);
	assert_int_equal(greylist_decide(0, 1, DELAY), GREYLIST_EARLY);
	assert_int_equal(greylist_decide(0, DELAY - 1, DELAY),
	    GREYLIST_EARLY);
	assert_int_equal(greylist_decide(0, DELAY, DELAY), GREYLIST_PASS);
	assert_int_equal(greylist_decide(1, 0, DELAY), GREYLIST_KNOWN);
}

/* The filter statement: its values, its bounds. */
static int
load(const char *filter, struct conf **c, char *err, size_t errlen)
{
	char text[1024];

	snprintf(text, sizeof(text),
	    "hostname gw.test\nspool /nonexistent\n"
	    "local-domain winery-co.co\ndirectory file /nonexistent\n"
	    "virtual-server internet {\n  listen 127.0.0.2:25\n"
	    "  filter {\n    %s\n  }\n}\n", filter);
	return conf_load_string("test.conf", text, c, err, errlen);
}

static void
test_conf(void **state)
{
	static const char *bad[] = { "greylist", "greylist 0s",
	    "greylist 2d", "greylist 5m 35d 1", "greylist 5x",
	    "greylist 5m 400d" };
	char err[CONF_ERR_MAX];
	struct conf *c;

	(void)state;
	assert_int_equal(load("greylist 5m 35d", &c, err, sizeof(err)), 0);
	assert_int_equal(c->vservers[0]->filter.greylist_delay, 300);
	assert_int_equal(c->vservers[0]->filter.greylist_allow, 35 * 86400);
	conf_unref(c);
	assert_int_equal(load("greylist 90s", &c, err, sizeof(err)), 0);
	assert_int_equal(c->vservers[0]->filter.greylist_delay, 90);
	assert_int_equal(c->vservers[0]->filter.greylist_allow, 0);
	conf_unref(c);
	assert_int_equal(load("rate-limit 5/m", &c, err, sizeof(err)), 0);
	assert_int_equal(c->vservers[0]->filter.greylist_delay, 0);
	conf_unref(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(load(bad[i], &c, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "test.conf:"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_auto_allow),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_grouping),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
