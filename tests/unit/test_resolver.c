/*
 * test_resolver — the resolver module: the pure MX ordering helper with a
 * fake random source, then live lookups against real dnsmasq servers the
 * test starts on 127.0.0.1 (high ports) and stops by PID:
 *
 *	internal  dnsmasq A: example.org MX, implicit MX, null MX, NXDOMAIN,
 *		  NODATA, REFUSED, split.example.org = 127.0.0.81, and
 *		  slow.test forwarded to the hole (A/AAAA time out)
 *	external  dnsmasq B on ::1 where it exists: split.example.org =
 *		  127.0.0.82 (the split)
 *	stopped   dnsmasq C, killed before it is asked (connection refused)
 *	hole      a UDP socket that never answers (timeouts)
 *
 * The live tests are skipped when dnsmasq is not installed.  Run from
 * tests/unit (the Makefile does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "netaddr.h"
#include "resolver.h"
#include "resolver_answer.h"

#define DNSMASQ		"/usr/sbin/dnsmasq"
#define LOOP_LIMIT	15	/* seconds: guard against a hung loop */

/* ---- live fixture ---- */

/*
 * dnsmasq runs under a shell that kills it when the test's end of a pipe
 * closes: at stop_dnsmasq(), and also when the test crashes (dnsmasq
 * changes its credentials, which clears PR_SET_PDEATHSIG).
 */
struct server {
	pid_t	pid;		/* the shell */
	int	fd;		/* write end of its stdin */
};

struct fixture {
	struct event_base	*base;
	struct conf		*conf;
	struct resolver_set	*rs;
	struct resolver		*internal, *external, *stopped, *hole;
	struct server		 dns_a, dns_b;
	int			 hole_fd;
};

static int live = 1;

/* ip ("127.0.0.1", "::1") and port into *ss; its length. */
static socklen_t
sa_of(const char *ip, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return sizeof(*sin);
	}
	inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	return sizeof(*sin6);
}

/* A UDP socket bound to ip and a free port (*port), or -1. */
static int
udp_bound(const char *ip, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_of(ip, 0, &ss);
	int fd;

	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = netaddr_port((struct sockaddr *)&ss);
	return fd;
}

static int
tcp_answers(const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_of(ip, port, &ss);
	int fd, ok;

	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		return 0;
	ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return ok;
}

static void
stop_dnsmasq(struct server *sv)
{
	if (sv->pid <= 0)
		return;
	close(sv->fd);
	waitpid(sv->pid, NULL, 0);
	sv->pid = -1;
}

/* Start dnsmasq on ip and a free port (*port) with the given records;
 * 0 once it answers on TCP, -1 if it would not start. */
static int
start_dnsmasq(struct server *sv, const char *ip, const char *const *records,
    const char *extra, int *port)
{
	char portarg[32], listen[64], *argv[64];
	size_t n, i;
	int tries, wait, fd, p[2];

	for (tries = 0; tries < 5; tries++) {
		if ((fd = udp_bound(ip, port)) == -1)
			return -1;
		close(fd);
		snprintf(portarg, sizeof(portarg), "--port=%d", *port);
		snprintf(listen, sizeof(listen), "--listen-address=%s", ip);
		n = 0;
		argv[n++] = (char *)"/bin/sh";
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)"\"$0\" \"$@\" & p=$!; read x; kill $p; "
		    "wait $p";
		argv[n++] = (char *)DNSMASQ;
		argv[n++] = (char *)"--keep-in-foreground";
		argv[n++] = (char *)"--conf-file=/dev/null";
		argv[n++] = (char *)"--no-resolv";
		argv[n++] = (char *)"--no-hosts";
		argv[n++] = (char *)"--bind-interfaces";
		argv[n++] = listen;
		argv[n++] = portarg;
		argv[n++] = (char *)"--user=root";
		argv[n++] = (char *)"--pid-file=";
		argv[n++] = (char *)"--cache-size=0";
		argv[n++] = (char *)"--log-facility=/dev/null";
		for (i = 0; records[i] != NULL && n < 62; i++)
			argv[n++] = (char *)records[i];
		if (extra != NULL)
			argv[n++] = (char *)extra;
		argv[n] = NULL;
		if (pipe2(p, O_CLOEXEC) == -1 || (sv->pid = fork()) == -1)
			return -1;
		if (sv->pid == 0) {
			dup2(p[0], 0);
			if ((fd = open("/dev/null", O_RDWR)) != -1) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execv(argv[0], argv);
			_exit(127);
		}
		close(p[0]);
		sv->fd = p[1];
		for (wait = 0; wait < 200; wait++) {
			if (tcp_answers(ip, *port))
				return 0;
			usleep(10000);
		}
		stop_dnsmasq(sv);	/* the port was taken meanwhile? */
	}
	return -1;
}

static const char *const records_a[] = {
	"--local=/example.org/",
	"--mx-host=example.org,mx1.example.org,10",
	"--mx-host=example.org,mx2.example.org,20",
	"--mx-host=example.org,mx3.example.org,10",
	"--host-record=mx1.example.org,127.0.0.61",
	"--host-record=mx2.example.org,127.0.0.62,::1",
	"--host-record=mx3.example.org,127.0.0.63",
	"--host-record=implicit.example.org,127.0.0.70",
	"--mx-host=nohost.example.org,gone.example.org,10",
	/* RFC 7505 "0 .": rdata is preference 0 and the root label. */
	"--dns-rr=nullmx.example.org,15,000000",
	"--host-record=split.example.org,127.0.0.81",
	/* slow.test is forwarded to the hole: its A/AAAA never come. */
	"--mx-host=stuck.example.org,host.slow.test,10",
	"--mx-host=mixed.example.org,mx1.example.org,10",
	"--mx-host=mixed.example.org,host.slow.test,20",
	NULL
};

static const char *const records_b[] = {
	"--local=/example.org/",
	"--host-record=split.example.org,127.0.0.82",
	NULL
};

static int
live_setup(void **state)
{
	static const char *const none[] = { NULL };
	struct fixture *f;
	char text[512], err[CONF_ERR_MAX], fwd[64];
	const char *ip6 = "::1";
	int pa, pb, pc, ph, fd;
	struct server dns_c;

	if (access(DNSMASQ, X_OK) == -1) {
		live = 0;
		return 0;
	}
	log_init("test_resolver", 0, 0);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	/* A server that takes questions and never answers. */
	f->hole_fd = udp_bound("127.0.0.1", &ph);
	assert_true(f->hole_fd != -1);
	/* The external server on IPv6 loopback, where there is one, so that
	 * "[ip6]:port" servers are covered too. */
	if ((fd = udp_bound(ip6, &pb)) == -1)
		ip6 = "127.0.0.1";
	else
		close(fd);

	snprintf(fwd, sizeof(fwd), "--server=/slow.test/127.0.0.1#%d", ph);
	assert_int_equal(start_dnsmasq(&f->dns_a, "127.0.0.1", records_a, fwd,
	    &pa), 0);
	assert_int_equal(start_dnsmasq(&f->dns_b, ip6, records_b, NULL, &pb),
	    0);
	assert_int_equal(start_dnsmasq(&dns_c, "127.0.0.1", none, NULL, &pc),
	    0);
	stop_dnsmasq(&dns_c);

	snprintf(text, sizeof(text),
	    "dns 127.0.0.1:%d\n"
	    "dns-list stopped 127.0.0.1:%d\n"
	    "dns-list hole 127.0.0.1:%d\n"
	    "virtual-server out {\n"
	    "\tlisten 127.0.0.1:2525\n"
	    "\texternal-dns %s%s%s:%d\n"
	    "}\n", pa, pc, ph, strchr(ip6, ':') ? "[" : "", ip6,
	    strchr(ip6, ':') ? "]" : "", pb);
	if (conf_load_string("t.conf", text, &f->conf, err, sizeof(err)) != 0)
		fail_msg("conf: %s", err);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->rs = resolver_set_new(f->base, f->conf, err, sizeof(err));
	if (f->rs == NULL)
		fail_msg("resolver_set_new: %s", err);
	f->internal = resolver_get(f->rs, f->conf->dnslists[0]);
	f->external = resolver_get(f->rs,
	    conf_vserver_find(f->conf, "out")->external_dns);
	f->stopped = resolver_get(f->rs, conf_dnslist_find(f->conf,
	    "stopped"));
	f->hole = resolver_get(f->rs, conf_dnslist_find(f->conf, "hole"));
	assert_non_null(f->internal);
	assert_non_null(f->external);
	assert_non_null(f->stopped);
	assert_non_null(f->hole);
	*state = f;
	return 0;
}

static int
live_teardown(void **state)
{
	struct fixture *f = *state;

	if (f == NULL)
		return 0;
	resolver_set_free(f->rs);
	if (f->base != NULL)
		event_base_free(f->base);
	conf_unref(f->conf);
	stop_dnsmasq(&f->dns_a);
	stop_dnsmasq(&f->dns_b);
	if (f->hole_fd > 0)
		close(f->hole_fd);
	free(f);
	return 0;
}

/* ---- live helpers ---- */

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

static void
wait_one(struct fixture *f, struct answer *a)
{
	run_until(f->base, &a, 1, LOOP_LIMIT);
	assert_int_equal(a->calls, 1);
	assert_non_null(a->res);
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

#define SKIP_UNLESS_LIVE() do { if (!live) skip(); } while (0)

/* ---- live tests ---- */

static void
test_mx_order(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL };
	struct resolver_host *h;
	int seen1 = 0, seen3 = 0, round;

	SKIP_UNLESS_LIVE();
	for (round = 0; round < 20 && !(seen1 && seen3); round++) {
		resolver_mx(f->internal, "Example.ORG", 2525, on_result, &a);
		assert_int_equal(a.calls, 0);	/* never synchronous */
		wait_one(f, &a);
		assert_int_equal(a.res->status, RESOLVER_OK);
		assert_int_equal(a.res->nhosts, 3);
		h = a.res->hosts;
		/* mx1 and mx3 (10) in either order, then mx2 (20). */
		assert_int_equal(h[0].pref, 10);
		assert_int_equal(h[1].pref, 10);
		assert_int_equal(h[2].pref, 20);
		if (strcmp(h[0].name, "mx1.example.org") == 0)
			seen1 = 1;
		else if (strcmp(h[0].name, "mx3.example.org") == 0)
			seen3 = 1;
		else
			fail_msg("unexpected first MX %s", h[0].name);
		assert_string_equal(h[2].name, "mx2.example.org");
		assert_int_equal(h[2].naddrs, 2);
		assert_string_equal(addr(&h[2], 0), "127.0.0.62:2525");
		assert_string_equal(addr(&h[2], 1), "[::1]:2525");
		assert_int_equal(h[0].naddrs, 1);
		assert_int_equal(h[0].tempfail, 0);
		a.calls = 0;
	}
	assert_true(seen1 && seen3);	/* ties are shuffled */
}

static void
test_mx_implicit(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL };

	SKIP_UNLESS_LIVE();
	resolver_mx(f->internal, "implicit.example.org", 25, on_result, &a);
	wait_one(f, &a);
	assert_int_equal(a.res->status, RESOLVER_OK);
	assert_int_equal(a.res->nhosts, 1);
	assert_string_equal(a.res->hosts[0].name, "implicit.example.org");
	assert_int_equal(a.res->hosts[0].pref, 0);
	assert_int_equal(a.res->hosts[0].naddrs, 1);
	assert_string_equal(addr(&a.res->hosts[0], 0), "127.0.0.70:25");
}

static void
test_mx_permanent(void **state)
{
	struct fixture *f = *state;
	struct answer nx = { 0, NULL }, null = { 0, NULL },
	    nohost = { 0, NULL }, noaddr = { 0, NULL }, nodata = { 0, NULL };
	struct answer *all[] = { &nx, &null, &nohost, &noaddr, &nodata };

	SKIP_UNLESS_LIVE();
	resolver_mx(f->internal, "nx.example.org", 25, on_result, &nx);
	resolver_mx(f->internal, "nullmx.example.org", 25, on_result, &null);
	/* An MX whose host does not exist. */
	resolver_mx(f->internal, "nohost.example.org", 25, on_result,
	    &nohost);
	/* A host name that does not exist. */
	resolver_host(f->internal, "gone.example.org", 25, on_result,
	    &noaddr);
	/* A name with MX records but no A or AAAA. */
	resolver_host(f->internal, "example.org", 25, on_result, &nodata);
	run_until(f->base, all, 5, LOOP_LIMIT);
	assert_int_equal(nx.res->status, RESOLVER_NXDOMAIN);
	assert_non_null(strstr(nx.res->error, "nx.example.org"));
	assert_non_null(strstr(nx.res->error, "internal"));
	assert_int_equal(null.res->status, RESOLVER_NULLMX);
	assert_int_equal(nohost.res->status, RESOLVER_NOHOST);
	assert_int_equal(nohost.res->nhosts, 1);
	assert_int_equal(nohost.res->hosts[0].naddrs, 0);
	assert_int_equal(nohost.res->hosts[0].tempfail, 0);
	assert_int_equal(noaddr.res->status, RESOLVER_NXDOMAIN);
	assert_int_equal(nodata.res->status, RESOLVER_NOHOST);
	assert_int_equal(nodata.res->nhosts, 1);
	assert_int_equal(nodata.res->hosts[0].naddrs, 0);
}

static void
test_refused(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL };
	uint64_t q0, fl0, q1, fl1;

	SKIP_UNLESS_LIVE();
	/* dnsmasq has no upstream for other zones: REFUSED, temporary. */
	resolver_stats(f->internal, &q0, &fl0);
	resolver_mx(f->internal, "elsewhere.test", 25, on_result, &a);
	wait_one(f, &a);
	assert_int_equal(a.res->status, RESOLVER_TEMPFAIL);
	assert_non_null(strstr(a.res->error, "MX lookup for elsewhere.test"));
	assert_non_null(strstr(a.res->error, "(via internal)"));
	resolver_stats(f->internal, &q1, &fl1);
	assert_int_equal(q1, q0 + 1);
	assert_int_equal(fl1, fl0 + 1);
}

static void
test_split(void **state)
{
	struct fixture *f = *state;
	struct answer in = { 0, NULL }, ex = { 0, NULL };
	struct answer *all[] = { &in, &ex };
	uint64_t qi0, qe0, qi1, qe1, fails;
	char logbuf[4096];
	FILE *tmp;
	int saved;
	size_t n;

	SKIP_UNLESS_LIVE();
	assert_string_equal(resolver_name(f->internal), "internal");
	assert_string_equal(resolver_name(f->external), "external");
	resolver_stats(f->internal, &qi0, NULL);
	resolver_stats(f->external, &qe0, &fails);

	/* Capture the debug lines: each names its profile. */
	tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	log_set_debug(1);
	resolver_host(f->internal, "split.example.org", 25, on_result, &in);
	resolver_host(f->external, "split.example.org", 25, on_result, &ex);
	run_until(f->base, all, 2, LOOP_LIMIT);
	log_set_debug(0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(logbuf, 1, sizeof(logbuf) - 1, tmp);
	logbuf[n] = '\0';
	fclose(tmp);

	assert_int_equal(in.res->status, RESOLVER_OK);
	assert_int_equal(ex.res->status, RESOLVER_OK);
	assert_string_equal(addr(&in.res->hosts[0], 0), "127.0.0.81:25");
	assert_string_equal(addr(&ex.res->hosts[0], 0), "127.0.0.82:25");
	resolver_stats(f->internal, &qi1, NULL);
	resolver_stats(f->external, &qe1, NULL);
	assert_int_equal(qi1, qi0 + 2);		/* A and AAAA each */
	assert_int_equal(qe1, qe0 + 2);
	assert_non_null(strstr(logbuf, "profile=internal qtype=A "
	    "name=split.example.org"));
	assert_non_null(strstr(logbuf, "profile=external qtype=AAAA "
	    "name=split.example.org outcome=NODATA"));
}

static void
test_stopped_server(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL }, b = { 0, NULL };
	struct answer *all[] = { &a, &b };
	time_t t0 = time(NULL);
	uint64_t q, fl;

	SKIP_UNLESS_LIVE();
	resolver_mx(f->stopped, "example.org", 25, on_result, &a);
	resolver_host(f->stopped, "mx1.example.org", 25, on_result, &b);
	run_until(f->base, all, 2, LOOP_LIMIT);
	assert_true(time(NULL) - t0 <= 8);
	assert_int_equal(a.res->status, RESOLVER_TEMPFAIL);
	assert_non_null(strstr(a.res->error, "(via stopped)"));
	assert_int_equal(b.res->status, RESOLVER_TEMPFAIL);
	assert_int_equal(b.res->hosts[0].tempfail, 1);
	resolver_stats(f->stopped, &q, &fl);
	assert_int_equal(q, 3);
	assert_int_equal(fl, 3);
}

static void
test_dead_server(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL }, b = { 0, NULL }, c = { 0, NULL },
	    d = { 0, NULL };
	struct answer *all[] = { &a, &b, &c, &d };
	struct resolver_host *h;
	time_t t0 = time(NULL);

	SKIP_UNLESS_LIVE();
	/*
	 * Only the timer can end these: nothing ever answers.  All run in
	 * parallel, so the test waits for the slowest only once.
	 */
	resolver_mx(f->hole, "example.org", 25, on_result, &a);
	resolver_mx(f->internal, "stuck.example.org", 25, on_result, &c);
	resolver_mx(f->internal, "mixed.example.org", 25, on_result, &d);
	resolver_mx(f->internal, "example.org", 25, on_result, &b);
	run_until(f->base, &all[1], 1, LOOP_LIMIT);
	/* The other profile is not held up by the dead one. */
	assert_int_equal(b.res->status, RESOLVER_OK);
	assert_int_equal(a.calls, 0);
	run_until(f->base, all, 4, LOOP_LIMIT);
	assert_true(time(NULL) - t0 <= 10);

	assert_int_equal(a.calls, 1);
	assert_int_equal(a.res->status, RESOLVER_TEMPFAIL);
	assert_non_null(strstr(a.res->error, "MX lookup for example.org"));
	assert_non_null(strstr(a.res->error, "(via hole)"));

	/* The MX host's addresses time out: temporary, not "no host". */
	assert_int_equal(c.res->status, RESOLVER_TEMPFAIL);
	assert_int_equal(c.res->nhosts, 1);
	assert_int_equal(c.res->hosts[0].tempfail, 1);
	assert_non_null(strstr(c.res->error, "lookup for host.slow.test"));

	/* One good host is enough; the other is marked. */
	assert_int_equal(d.res->status, RESOLVER_OK);
	assert_int_equal(d.res->nhosts, 2);
	h = d.res->hosts;
	assert_string_equal(h[0].name, "mx1.example.org");
	assert_int_equal(h[0].naddrs, 1);
	assert_int_equal(h[0].tempfail, 0);
	assert_string_equal(h[1].name, "host.slow.test");
	assert_int_equal(h[1].naddrs, 0);
	assert_int_equal(h[1].tempfail, 1);
}

static void
test_host_literal(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL }, b = { 0, NULL }, c = { 0, NULL };
	struct answer *all[] = { &a, &b, &c };
	uint64_t q0, q1;

	SKIP_UNLESS_LIVE();
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
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0, NULL }, b = { 0, NULL }, c = { 0, NULL },
	    d = { 0, NULL };
	struct answer *last[] = { &d };
	struct resolver_query *qa, *qb, *qc;

	SKIP_UNLESS_LIVE();
	qa = resolver_mx(f->internal, "example.org", 25, on_result, &a);
	qb = resolver_host(f->internal, "127.0.0.9", 25, on_result, &b);
	qc = resolver_mx(f->hole, "example.org", 25, on_result, &c);
	resolver_cancel(qa);		/* in flight */
	resolver_cancel(qb);		/* answered, callback not yet run */
	resolver_cancel(NULL);
	/* Once a later question on the same server has been answered, the
	 * cancelled one has been too. */
	resolver_mx(f->internal, "example.org", 25, on_result, &d);
	run_until(f->base, last, 1, LOOP_LIMIT);
	assert_int_equal(d.calls, 1);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 0);
	/* qc is left in flight on purpose: resolver_set_free() in the
	 * teardown must drop it without calling back. */
	(void)qc;
}

static void
test_set_free_pending(void **state)
{
	struct fixture *f = *state;
	struct resolver_set *rs;
	struct answer a = { 0, NULL }, b = { 0, NULL }, c = { 0, NULL },
	    d = { 0, NULL };
	char err[128];
	uint64_t asked = 0;
	int turns;

	SKIP_UNLESS_LIVE();
	rs = resolver_set_new(f->base, f->conf, err, sizeof(err));
	assert_non_null(rs);
	/* The MX step answers, its A/AAAA questions never do: wait until
	 * they are asked, so that they are in flight below. */
	resolver_mx(resolver_get(rs, NULL), "stuck.example.org", 25,
	    on_result, &d);
	for (turns = 0; turns < 100 && asked < 3; turns++) {
		event_base_loop(f->base, EVLOOP_ONCE);
		resolver_stats(resolver_get(rs, NULL), &asked, NULL);
	}
	assert_int_equal(asked, 3);
	resolver_mx(resolver_get(rs, NULL), "example.org", 25, on_result,
	    &a);
	resolver_mx(resolver_get(rs, conf_dnslist_find(f->conf, "hole")),
	    "example.org", 25, on_result, &c);
	/* Answered, its callback due on the next loop turn. */
	resolver_host(resolver_get(rs, NULL), "10.1.2.3", 25, on_result, &b);
	resolver_set_free(rs);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(a.calls + b.calls + c.calls + d.calls, 0);
}

static void
test_get(void **state)
{
	struct fixture *f = *state;
	struct conf_dnslist other;

	SKIP_UNLESS_LIVE();
	assert_ptr_equal(resolver_get(f->rs, NULL), f->internal);
	/* A list from another snapshot: named ones by name. */
	memset(&other, 0, sizeof(other));
	other.name = (char *)"hole";
	assert_ptr_equal(resolver_get(f->rs, &other), f->hole);
	other.name = (char *)"nosuch";
	assert_null(resolver_get(f->rs, &other));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mx_order, free_kept),
		cmocka_unit_test_teardown(test_mx_implicit, free_kept),
		cmocka_unit_test_teardown(test_mx_permanent, free_kept),
		cmocka_unit_test_teardown(test_refused, free_kept),
		cmocka_unit_test_teardown(test_split, free_kept),
		cmocka_unit_test_teardown(test_stopped_server, free_kept),
		cmocka_unit_test_teardown(test_dead_server, free_kept),
		cmocka_unit_test_teardown(test_host_literal, free_kept),
		cmocka_unit_test_teardown(test_get, free_kept),
		cmocka_unit_test_teardown(test_set_free_pending, free_kept),
		cmocka_unit_test_teardown(test_cancel, free_kept),
	};

	return cmocka_run_group_tests_name("resolver_live", tests, live_setup,
	    live_teardown);
}
