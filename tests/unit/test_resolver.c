/*
 * test_resolver — the resolver module without a DNS server: address
 * literals (answered without a question), finding a profile, and
 * cancelling or freeing with questions in flight.  The only server is a
 * UDP socket the test binds and never reads (the "hole"): questions sent
 * there stay in flight.  The cases that need real answers run against
 * dnsmasq in tests/integration/test_resolver.py (through
 * tests/tools/resolver_probe.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "netaddr.h"
#include "resolver.h"

#define LOOP_LIMIT	15	/* seconds: guard against a hung loop */

struct fixture {
	struct event_base	*base;
	struct conf		*conf;
	struct resolver_set	*rs;
	struct resolver		*internal, *hole;
	int			 hole_fd;
};

/* A UDP socket bound to 127.0.0.1 and a free port (*port), or -1. */
static int
udp_bound(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = netaddr_port((struct sockaddr *)&sin);
	return fd;
}

/* Both profiles ask the hole: the top-level list and "hole". */
static int
setup(void **state)
{
	struct fixture *f;
	char text[256], err[CONF_ERR_MAX];
	int ph = 0;

	log_init("test_resolver", 0, 0);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->hole_fd = udp_bound(&ph);
	assert_true(f->hole_fd != -1);
	snprintf(text, sizeof(text), "dns 127.0.0.1:%d\n"
	    "dns-list hole 127.0.0.1:%d\n", ph, ph);
	if (conf_load_string("t.conf", text, &f->conf, err, sizeof(err)) != 0)
		fail_msg("conf: %s", err);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->rs = resolver_set_new(f->base, f->conf, err, sizeof(err));
	if (f->rs == NULL)
		fail_msg("resolver_set_new: %s", err);
	f->internal = resolver_get(f->rs, f->conf->dnslists[0]);
	f->hole = resolver_get(f->rs, conf_dnslist_find(f->conf, "hole"));
	assert_non_null(f->internal);
	assert_non_null(f->hole);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f == NULL)
		return 0;
	resolver_set_free(f->rs);
	if (f->base != NULL)
		event_base_free(f->base);
	conf_unref(f->conf);
	if (f->hole_fd > 0)
		close(f->hole_fd);
	free(f);
	return 0;
}

/* ---- helpers ---- */

struct answer {
	int			 calls;
	struct resolver_result	*res;
};

/* Every result of a test, freed after it. */
static struct resolver_result *kept[64];
static size_t nkept;

static void
on_result(void *arg, struct resolver_result *res)
{
	struct answer *a = arg;

	a->calls++;
	a->res = res;
	assert_true(nkept < 64);
	kept[nkept++] = res;
}

static int
free_kept(void **state)
{
	(void)state;
	while (nkept > 0)
		resolver_result_free(kept[--nkept]);
	return 0;
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Run the loop until `want` answers have come in or `secs` have passed. */
static void
run_until(struct event_base *base, struct answer *const *a, size_t n,
    int secs)
{
	struct timeval tv = { secs, 0 };
	struct event *guard;
	int expired = 0, done;
	size_t i;

	guard = evtimer_new(base, on_guard, &expired);
	evtimer_add(guard, &tv);
	for (;;) {
		for (done = 1, i = 0; i < n; i++)
			if (a[i]->calls == 0)
				done = 0;
		if (done || expired)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(guard);
}

/* "ip:port" of a host's address i. */
static const char *
addr(const struct resolver_host *h, size_t i)
{
	static char buf[NETADDR_STRLEN];

	assert_true(i < h->naddrs);
	return netaddr_ntop_port((const struct sockaddr *)&h->addrs[i], buf,
	    sizeof(buf));
}

/* ---- tests ---- */

static void
test_host_literal(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL }, b = { 0, NULL }, c = { 0, NULL };
	struct answer *all[] = { &a, &b, &c };
	uint64_t q0, q1;

	resolver_stats(f->hole, &q0, NULL);
	/* Through the dead profile: a literal must not ask DNS at all. */
	resolver_host(f->hole, "10.0.0.32", 25, on_result, &a);
	resolver_host(f->hole, "::1", 2525, on_result, &b);
	resolver_host(f->hole, "[IPv6:2001:db8::1]", 25, on_result, &c);
	assert_int_equal(a.calls + b.calls + c.calls, 0);
	run_until(f->base, all, 3, 2);
	assert_int_equal(a.res->status, RESOLVER_OK);
	assert_string_equal(addr(&a.res->hosts[0], 0), "10.0.0.32:25");
	assert_string_equal(addr(&b.res->hosts[0], 0), "[::1]:2525");
	assert_string_equal(addr(&c.res->hosts[0], 0), "[2001:db8::1]:25");
	resolver_stats(f->hole, &q1, NULL);
	assert_int_equal(q1, q0);
}

static void
test_get(void **state)
{
	struct fixture *f = *state;
	struct conf_dnslist other;

	assert_ptr_equal(resolver_get(f->rs, NULL), f->internal);
	/* A list from another snapshot: named ones by name. */
	memset(&other, 0, sizeof(other));
	other.name = (char *)"hole";
	assert_ptr_equal(resolver_get(f->rs, &other), f->hole);
	other.name = (char *)"nosuch";
	assert_null(resolver_get(f->rs, &other));
}

static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL }, b = { 0, NULL }, c = { 0, NULL },
	    d = { 0, NULL };
	struct answer *last[] = { &d };
	struct resolver_query *qa, *qb, *qc;

	qa = resolver_mx(f->internal, "example.org", 25, on_result, &a);
	qb = resolver_host(f->internal, "127.0.0.9", 25, on_result, &b);
	qc = resolver_mx(f->hole, "example.org", 25, on_result, &c);
	resolver_cancel(qa);		/* in flight */
	resolver_cancel(qb);		/* answered, callback not yet run */
	resolver_cancel(NULL);
	/* A literal asked after them is answered on a later turn of the
	 * loop than the cancelled literal would have been. */
	resolver_host(f->internal, "127.0.0.10", 25, on_result, &d);
	run_until(f->base, last, 1, LOOP_LIMIT);
	assert_int_equal(d.calls, 1);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 0);
	/* qc is left in flight on purpose: resolver_set_free() in the
	 * teardown must drop it without calling back.  (Cancelling a
	 * question a live server answers: test_resolver.py.) */
	(void)qc;
}

static void
test_set_free_pending(void **state)
{
	struct fixture *f = *state;
	struct resolver_set *rs;
	struct answer a = { 0, NULL }, b = { 0, NULL }, c = { 0, NULL };
	char err[128];
	uint64_t asked = 0;
	int turns;

	rs = resolver_set_new(f->base, f->conf, err, sizeof(err));
	assert_non_null(rs);
	/* Two questions in flight, to servers that never answer. */
	resolver_mx(resolver_get(rs, NULL), "example.org", 25, on_result,
	    &a);
	resolver_mx(resolver_get(rs, conf_dnslist_find(f->conf, "hole")),
	    "example.org", 25, on_result, &c);
	for (turns = 0; turns < 100 && asked < 1; turns++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		resolver_stats(resolver_get(rs, NULL), &asked, NULL);
	}
	assert_int_equal(asked, 1);
	/* Answered, its callback due on the next loop turn. */
	resolver_host(resolver_get(rs, NULL), "10.1.2.3", 25, on_result, &b);
	/* (Freed while an MX answer's address questions are in flight:
	 * test_resolver.py.) */
	resolver_set_free(rs);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(a.calls + b.calls + c.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_host_literal, free_kept),
		cmocka_unit_test_teardown(test_get, free_kept),
		cmocka_unit_test_teardown(test_set_free_pending, free_kept),
		cmocka_unit_test_teardown(test_cancel, free_kept),
	};

	return cmocka_run_group_tests_name("resolver", tests, setup,
	    teardown);
}
