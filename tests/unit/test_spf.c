/*
 * test_spf — the SPF evaluator on fake_dns: results known at once and
 * later (never from inside spf_check_start), the limits of RFC 7208 4.6.4
 * (10 DNS-querying terms, 2 void lookups, 10 MX names, the first 10 PTR
 * names), the bound on outstanding questions, DNS failures, include and
 * redirect, the explanation, IPv4-mapped clients, and cancellation after
 * every answer (run under ASan: nothing may leak).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>

#include "fake_dns.h"
#include "spf.h"

/* authdns over fake_dns that can refuse to ask after `left` questions,
 * and measures how many questions are outstanding at most. */
struct wrap {
	struct fake_dns	*fd;
	int		 left;		/* -1: no limit */
	size_t		 max_out;
};

static size_t
outstanding(const struct fake_dns *fd)
{
	size_t i, n = 0;

	for (i = 0; i < fd->nq; i++)
		if (!fd->q[i]->cancelled)
			n++;
	return n;
}

static void *
wrap_ask(void *ctx, const char *name, int type, authdns_cb cb, void *arg)
{
	struct wrap *w = ctx;
	void *h;

	if (w->left == 0)
		return NULL;
	if (w->left > 0)
		w->left--;
	h = fake_dns_ask(w->fd, name, type, cb, arg);
	if (outstanding(w->fd) > w->max_out)
		w->max_out = outstanding(w->fd);
	return h;
}

static void
wrap_cancel(void *ctx, void *h)
{
	fake_dns_cancel(((struct wrap *)ctx)->fd, h);
}

/* Deliver the first queued answer only; 0 when none is queued. */
static int
step1(struct fake_dns *fd)
{
	struct fake_dns_pending *p;
	struct dns_rrset rs;

	if (fd->nq == 0)
		return 0;
	p = fd->q[0];
	memmove(fd->q, fd->q + 1, (fd->nq - 1) * sizeof(*fd->q));
	fd->nq--;
	if (!p->cancelled) {
		fake_dns_answer(fd, p->name, p->type, &rs);
		p->cb(p->arg, &rs);
		free(rs.rr);
	}
	free(p->name);
	free(p);
	return 1;
}

struct got {
	int			 calls;
	struct spf_outcome	 o;
	struct spf_check	*self;	/* cancel from inside the callback */
};

static void
got_cb(void *arg, const struct spf_outcome *o)
{
	struct got *g = arg;

	g->calls++;
	g->o = *o;
	if (g->self != NULL)
		spf_check_cancel(g->self);
}

static struct sockaddr_storage client_ss;

static const struct sockaddr *
client(const char *ip)
{
	memset(&client_ss, 0, sizeof(client_ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&client_ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&client_ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	return (struct sockaddr *)&client_ss;
}

/* Run one check to its end on wrap w; the outcome in *g. */
static void
run(struct wrap *w, const char *ip, const char *sender, const char *helo,
    struct got *g)
{
	struct authdns dns = { wrap_ask, wrap_cancel, w };
	struct spf_request req;
	struct spf_outcome now;
	struct spf_check *c;

	memset(&req, 0, sizeof(req));
	memset(g, 0, sizeof(*g));
	req.client = client(ip);
	req.sender = sender;
	req.helo = helo;
	req.receiver = "gw.example.net";
	c = spf_check_start(&dns, &req, &now, got_cb, g);
	if (c == NULL) {
		g->o = now;
		assert_int_equal(w->fd->nq, 0);
		return;
	}
	assert_int_equal(g->calls, 0);	/* never from inside start */
	fake_dns_run(w->fd);
	assert_int_equal(g->calls, 1);
}

static enum spf_result
check(struct fake_dns *fd, const char *ip, const char *sender,
    struct got *g)
{
	struct wrap w = { fd, -1, 0 };

	run(&w, ip, sender, "helo.example.org", g);
	return g->o.result;
}

static void
t_at_once(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct wrap w = { fd, -1, 0 };
	struct got g;

	(void)state;
	fake_dns_add_txt(fd, "example.com", "v=spf1 -all");
	run(&w, "192.0.2.1", "a@[192.0.2.1]", "helo.example.org", &g);
	assert_int_equal(g.calls, 0);
	assert_int_equal(g.o.result, SPF_NONE);
	run(&w, "192.0.2.1", "a@A...example.com", "x.example.org", &g);
	assert_int_equal(g.o.result, SPF_NONE);
	/* null sender: the HELO identity, a single label is no domain */
	run(&w, "192.0.2.1", "", "OEMCOMPUTER", &g);
	assert_int_equal(g.calls, 0);
	assert_int_equal(g.o.result, SPF_NONE);
	assert_true(g.o.helo_identity);
	assert_string_equal(g.o.domain, "OEMCOMPUTER");
	/* a domain longer than 253 octets is none, never cut to fit */
	{
		char sender[400];
		int i;

		strcpy(sender, "a@");
		/* 5 x 50 + 4 = 254 octets without the final dot */
		for (i = 0; i < 5; i++)
			strcat(sender, "abcdefghijabcdefghijabcdefghijabcdefghij"
			    "abcdefghi.");
		strcat(sender, "comm.");
		run(&w, "192.0.2.1", sender, "x.example.org", &g);
		assert_int_equal(g.calls, 0);
		assert_int_equal(g.o.result, SPF_NONE);
	}
	/* ask() refused at once: temperror, at once */
	w.left = 0;
	run(&w, "192.0.2.1", "a@example.com", "helo.example.org", &g);
	assert_int_equal(g.calls, 0);
	assert_int_equal(g.o.result, SPF_TEMPERROR);
	fake_dns_free(fd);
}

static void
t_identities(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct wrap w = { fd, -1, 0 };
	struct got g;

	(void)state;
	fake_dns_add_txt(fd, "helo.example.org", "v=spf1 ip4:192.0.2.1 -all");
	fake_dns_add_txt(fd, "example.com", "v=spf1 -all");
	run(&w, "192.0.2.1", "", "helo.example.org", &g);
	assert_int_equal(g.o.result, SPF_PASS);
	assert_true(g.o.helo_identity);
	assert_string_equal(g.o.domain, "helo.example.org");
	assert_non_null(strstr(g.o.detail, "ip4:192.0.2.1"));
	run(&w, "192.0.2.1", "kim@example.com", "helo.example.org", &g);
	assert_int_equal(g.o.result, SPF_FAIL);
	assert_false(g.o.helo_identity);
	assert_string_equal(g.o.domain, "example.com");
	assert_string_equal(g.o.explanation, "");
	/* the HELO identity on request, whatever the sender */
	{
		struct authdns dns = { wrap_ask, wrap_cancel, &w };
		struct spf_request req;
		struct spf_outcome now;

		memset(&req, 0, sizeof(req));
		memset(&g, 0, sizeof(g));
		req.client = client("192.0.2.1");
		req.sender = "kim@example.com";
		req.helo = "helo.example.org.";
		req.helo_identity = 1;
		assert_non_null(spf_check_start(&dns, &req, &now, got_cb, &g));
		fake_dns_run(fd);
		assert_int_equal(g.o.result, SPF_PASS);
		assert_true(g.o.helo_identity);
		assert_string_equal(g.o.domain, "helo.example.org");
	}
	/* IPv4-mapped IPv6 is IPv4 */
	run(&w, "::ffff:192.0.2.1", "", "helo.example.org", &g);
	assert_int_equal(g.o.result, SPF_PASS);
	fake_dns_free(fd);
}

/* 10 DNS-querying terms are allowed, the 11th is permerror (4.6.4). */
static void
t_lookup_limit(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	char rec[400];
	struct got g;
	int i;

	(void)state;
	fake_dns_add_addr(fd, "h.example.com", "192.0.2.99");
	strcpy(rec, "v=spf1");
	for (i = 0; i < 10; i++)
		strcat(rec, " a:h.example.com");
	strcat(rec, " ip4:192.0.2.1");
	fake_dns_add_txt(fd, "ten.example.com", rec);
	assert_int_equal(check(fd, "192.0.2.1", "a@ten.example.com", &g),
	    SPF_PASS);
	assert_int_equal(g.o.lookups, 10);
	strcpy(rec, "v=spf1 include:ten.example.com");
	fake_dns_add_txt(fd, "eleven.example.com", rec);
	assert_int_equal(check(fd, "192.0.2.1", "a@eleven.example.com", &g),
	    SPF_PERMERROR);
	assert_non_null(strstr(g.o.detail, "DNS lookups"));
	/* a redirect loop ends at the limit too */
	fake_dns_add_txt(fd, "loop.example.com",
	    "v=spf1 redirect=loop.example.com");
	assert_int_equal(check(fd, "192.0.2.1", "a@loop.example.com", &g),
	    SPF_PERMERROR);
	fake_dns_free(fd);
}

static void
t_void_limit(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct got g;

	(void)state;
	fake_dns_add_txt(fd, "two.example.com",
	    "v=spf1 a:n1.example.com mx:n2.example.com -all");
	fake_dns_add_txt(fd, "three.example.com",
	    "v=spf1 a:n1.example.com exists:n2.example.com "
	    "a:n3.example.com -all");
	fake_dns_add_txt(fd, "n1.example.com", "not spf");	/* NODATA */
	assert_int_equal(check(fd, "192.0.2.1", "a@two.example.com", &g),
	    SPF_FAIL);
	assert_int_equal(g.o.voids, 2);
	assert_int_equal(check(fd, "192.0.2.1", "a@three.example.com", &g),
	    SPF_PERMERROR);
	assert_int_equal(g.o.voids, 3);
	fake_dns_free(fd);
}

/* mx: 10 names are looked up together; 11 are permerror. */
static void
t_mx_limit(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct wrap w = { fd, -1, 0 };
	struct got g;
	char name[64];
	int i;

	(void)state;
	fake_dns_add_txt(fd, "ten.example.com", "v=spf1 mx -all");
	fake_dns_add_txt(fd, "eleven.example.com", "v=spf1 mx -all");
	for (i = 0; i < 11; i++) {
		snprintf(name, sizeof(name), "mx%d.example.com", i);
		fake_dns_add_addr(fd, name, i == 9 ? "192.0.2.1" :
		    "192.0.2.200");
		if (i < 10)
			fake_dns_add_mx(fd, "ten.example.com", (unsigned)i,
			    name);
		fake_dns_add_mx(fd, "eleven.example.com", (unsigned)i, name);
	}
	run(&w, "192.0.2.1", "a@ten.example.com", "h.example.org", &g);
	assert_int_equal(g.o.result, SPF_PASS);
	assert_int_equal(w.max_out, 10);
	run(&w, "192.0.2.1", "a@eleven.example.com", "h.example.org", &g);
	assert_int_equal(g.o.result, SPF_PERMERROR);
	assert_non_null(strstr(g.o.detail, "MX names"));
	/* a failed address lookup is temperror */
	fake_dns_set(fd, "mx3.example.com", DNS_T_A, DNS_RR_TEMPFAIL);
	run(&w, "192.0.2.1", "a@ten.example.com", "h.example.org", &g);
	assert_int_equal(g.o.result, SPF_TEMPERROR);
	fake_dns_free(fd);
}

/* ptr: only the first 10 PTR names are looked at; a failing address
 * lookup skips the name (5.5). */
static void
t_ptr_limit(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct got g;
	char name[64];
	int i;

	(void)state;
	fake_dns_add_txt(fd, "example.com", "v=spf1 ptr -all");
	for (i = 0; i < 11; i++) {
		snprintf(name, sizeof(name), "h%d.example.com", i);
		fake_dns_add_ptr(fd, "1.2.0.192.in-addr.arpa", name);
		if (i == 10)
			fake_dns_add_addr(fd, name, "192.0.2.1");
		else
			fake_dns_set(fd, name, DNS_T_A, DNS_RR_TEMPFAIL);
	}
	assert_int_equal(check(fd, "192.0.2.1", "a@example.com", &g),
	    SPF_FAIL);
	fake_dns_free(fd);

	fd = fake_dns_new();
	fake_dns_add_txt(fd, "example.com", "v=spf1 ptr -all");
	fake_dns_add_ptr(fd, "1.2.0.192.in-addr.arpa", "other.example.net");
	fake_dns_add_ptr(fd, "1.2.0.192.in-addr.arpa", "Mail.Example.COM");
	fake_dns_add_addr(fd, "mail.example.com", "192.0.2.1");
	assert_int_equal(check(fd, "192.0.2.1", "a@example.com", &g),
	    SPF_PASS);
	fake_dns_free(fd);
}

static void
t_include_redirect(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct got g;

	(void)state;
	fake_dns_add_txt(fd, "a.example.com",
	    "v=spf1 include:b.example.com -all");
	fake_dns_add_txt(fd, "b.example.com", "v=spf1 ip4:192.0.2.0/24 ~all");
	fake_dns_add_txt(fd, "c.example.com",
	    "v=spf1 include:none.example.com -all");
	fake_dns_add_txt(fd, "d.example.com",
	    "v=spf1 redirect=none.example.com");
	fake_dns_add_txt(fd, "e.example.com",
	    "v=spf1 redirect=b.example.com");
	fake_dns_add_txt(fd, "f.example.com",
	    "v=spf1 include:tf.example.com -all");
	fake_dns_set(fd, "tf.example.com", DNS_T_TXT, DNS_RR_TEMPFAIL);
	assert_int_equal(check(fd, "192.0.2.1", "a@a.example.com", &g),
	    SPF_PASS);
	assert_int_equal(check(fd, "198.51.100.1", "a@a.example.com", &g),
	    SPF_FAIL);
	assert_int_equal(check(fd, "192.0.2.1", "a@c.example.com", &g),
	    SPF_PERMERROR);
	assert_int_equal(check(fd, "192.0.2.1", "a@d.example.com", &g),
	    SPF_PERMERROR);
	assert_int_equal(check(fd, "198.51.100.1", "a@e.example.com", &g),
	    SPF_SOFTFAIL);
	assert_int_equal(check(fd, "192.0.2.1", "a@f.example.com", &g),
	    SPF_TEMPERROR);
	assert_int_equal(check(fd, "192.0.2.1", "a@none.example.com", &g),
	    SPF_NONE);
	fake_dns_free(fd);
}

/* The explanation of a fail, with %{p} looked up for it; errors while
 * fetching it leave the fail without one (6.2). */
static void
t_explanation(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct got g;

	(void)state;
	fake_dns_add_txt(fd, "example.com",
	    "v=spf1 -all exp=why.%{d}");
	fake_dns_add_txt(fd, "why.example.com",
	    "%{c} (%{p}) may not send for %{o} as %{l}");
	fake_dns_add_ptr(fd, "1.2.0.192.in-addr.arpa", "mx.example.com");
	fake_dns_add_addr(fd, "mx.example.com", "192.0.2.1");
	assert_int_equal(check(fd, "192.0.2.1", "kim@example.com", &g),
	    SPF_FAIL);
	assert_string_equal(g.o.explanation,
	    "192.0.2.1 (mx.example.com) may not send for example.com as kim");
	fake_dns_add_txt(fd, "bad.example.com",
	    "v=spf1 -all exp=why.bad.example.com");
	fake_dns_set(fd, "why.bad.example.com", DNS_T_TXT, DNS_RR_TEMPFAIL);
	assert_int_equal(check(fd, "192.0.2.1", "kim@bad.example.com", &g),
	    SPF_FAIL);
	assert_string_equal(g.o.explanation, "");
	fake_dns_free(fd);
}

static void
t_dns_failures(void **state)
{
	struct fake_dns *fd = fake_dns_new();
	struct wrap w = { fd, -1, 0 };
	struct got g;

	(void)state;
	fake_dns_set(fd, "example.com", DNS_T_TXT, DNS_RR_TEMPFAIL);
	fake_dns_add_txt(fd, "a.example.com", "v=spf1 a:t.example.com -all");
	fake_dns_set(fd, "t.example.com", 0, DNS_RR_TEMPFAIL);
	assert_int_equal(check(fd, "192.0.2.1", "a@example.com", &g),
	    SPF_TEMPERROR);
	assert_int_equal(check(fd, "192.0.2.1", "a@a.example.com", &g),
	    SPF_TEMPERROR);
	/* ask() refused later: temperror through the callback */
	w.left = 1;
	run(&w, "192.0.2.1", "a@a.example.com", "h.example.org", &g);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.o.result, SPF_TEMPERROR);
	fake_dns_free(fd);
}

/* A zone whose check takes many steps: include, mx, ptr, %{p}, exp. */
static struct fake_dns *
busy_zone(void)
{
	struct fake_dns *fd = fake_dns_new();

	fake_dns_add_txt(fd, "example.com", "v=spf1 include:i.example.com "
	    "mx ptr:example.org exists:%{p}.x.example.com -all "
	    "exp=e.example.com");
	fake_dns_add_txt(fd, "i.example.com", "v=spf1 a ?all");
	fake_dns_add_addr(fd, "i.example.com", "192.0.2.50");
	fake_dns_add_mx(fd, "example.com", 10, "mx1.example.com");
	fake_dns_add_mx(fd, "example.com", 20, "mx2.example.com");
	fake_dns_add_addr(fd, "mx1.example.com", "192.0.2.51");
	fake_dns_add_addr(fd, "mx2.example.com", "192.0.2.52");
	fake_dns_add_ptr(fd, "1.2.0.192.in-addr.arpa", "h.example.org");
	fake_dns_add_ptr(fd, "1.2.0.192.in-addr.arpa", "h2.example.org");
	fake_dns_add_addr(fd, "h.example.org", "192.0.2.9");
	fake_dns_add_addr(fd, "h2.example.org", "192.0.2.9");
	fake_dns_add_txt(fd, "e.example.com", "no: %{c} %{p} %{i}");
	return fd;
}

/* Cancel after every number of answers: no callback, nothing leaks. */
static void
t_cancel(void **state)
{
	struct spf_request req;
	struct spf_outcome now;
	struct got g;
	int steps, k, i;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.client = client("192.0.2.1");
	req.sender = "a@example.com";
	req.helo = "h.example.org";
	for (steps = 0;; steps++) {
		struct fake_dns *fd = busy_zone();
		struct authdns dns = fake_dns_authdns(fd);
		struct spf_check *c;

		memset(&g, 0, sizeof(g));
		c = spf_check_start(&dns, &req, &now, got_cb, &g);
		assert_non_null(c);
		for (i = 0; i < steps && g.calls == 0; i++)
			step1(fd);
		if (g.calls == 0) {
			spf_check_cancel(c);
			fake_dns_run(fd);
			assert_int_equal(g.calls, 0);
		}
		fake_dns_free(fd);
		if (g.calls == 1)
			break;
	}
	assert_int_equal(g.o.result, SPF_FAIL);
	assert_string_equal(g.o.explanation, "no: 192.0.2.1 unknown 192.0.2.1");
	assert_true(steps > 8);
	/* cancelling from inside the callback is ignored */
	for (k = 0; k < 1; k++) {
		struct fake_dns *fd = busy_zone();
		struct authdns dns = fake_dns_authdns(fd);

		memset(&g, 0, sizeof(g));
		g.self = spf_check_start(&dns, &req, &now, got_cb, &g);
		fake_dns_run(fd);
		assert_int_equal(g.calls, 1);
		fake_dns_free(fd);
	}
	spf_check_cancel(NULL);
	assert_string_equal(spf_result_name(SPF_SOFTFAIL), "softfail");
	assert_string_equal(spf_result_name(SPF_PERMERROR), "permerror");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_at_once),
		cmocka_unit_test(t_identities),
		cmocka_unit_test(t_lookup_limit),
		cmocka_unit_test(t_void_limit),
		cmocka_unit_test(t_mx_limit),
		cmocka_unit_test(t_ptr_limit),
		cmocka_unit_test(t_include_redirect),
		cmocka_unit_test(t_explanation),
		cmocka_unit_test(t_dns_failures),
		cmocka_unit_test(t_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
