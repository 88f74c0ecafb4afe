/*
 * fuzz_spf — libFuzzer harness for the SPF evaluator (spf.c,
 * spf_lookup.c) on fake_dns: the input is the TXT records of a small zone
 * (one a line, for example.com, a.example.com, b.example.com, ...), so the
 * state machine meets every record shape with includes, redirects, exp=
 * and the macros; a fixed part of the zone gives it addresses, MX and PTR
 * names and failures.  The first byte picks the client and the sender.
 * It checks that the callback runs exactly once, never from inside
 * spf_check_start, with a known result and bounded texts; and, on every
 * tenth input, that cancelling midway calls nothing back (ASan sees leaks).
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/fake_dns.h"
#include "spf.h"

static const char *names[] = {
	"example.com", "a.example.com", "b.example.com", "c.example.com",
	"d.example.com", "mx.example.com", "x.example.org",
};

static void
fixed_zone(struct fake_dns *fd)
{
	fake_dns_add_addr(fd, "a.example.com", "192.0.2.1");
	fake_dns_add_addr(fd, "b.example.com", "2001:db8::1");
	fake_dns_add_addr(fd, "mx.example.com", "192.0.2.1");
	fake_dns_add_addr(fd, "mx.example.com", "2001:db8::1");
	fake_dns_add_mx(fd, "example.com", 10, "mx.example.com");
	fake_dns_add_mx(fd, "a.example.com", 0, "");
	fake_dns_add_mx(fd, "c.example.com", 5, "a.example.com");
	fake_dns_add_ptr(fd, "1.2.0.192.in-addr.arpa", "mx.example.com");
	fake_dns_add_ptr(fd, "1.2.0.192.in-addr.arpa", "x.example.org");
	fake_dns_set(fd, "d.example.com", DNS_T_A, DNS_RR_TEMPFAIL);
	fake_dns_set(fd, "x.example.org", DNS_T_A, DNS_RR_TEMPFAIL);
}

struct got {
	int			calls;
	int			starting;
};

static void
done(void *arg, const struct spf_outcome *o)
{
	struct got *g = arg;

	if (g->starting)
		abort();		/* from inside spf_check_start */
	g->calls++;
	if (o->result > SPF_PERMERROR ||
	    strnlen(o->explanation, sizeof(o->explanation)) ==
	    sizeof(o->explanation) ||
	    strnlen(o->detail, sizeof(o->detail)) == sizeof(o->detail) ||
	    strnlen(o->domain, sizeof(o->domain)) == sizeof(o->domain))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *senders[] = { "kim@example.com", "",
	    "a.b@a.example.com", "@b.example.com" };
	struct sockaddr_storage ss;
	struct spf_request req;
	struct spf_outcome now;
	struct spf_check *c;
	struct fake_dns *fd;
	struct authdns dns;
	struct got g = { 0, 0 };
	const char *p, *end;
	size_t k = 0;
	int sel;

	if (size < 1)
		return 0;
	sel = data[0];
	fd = fake_dns_new();
	fixed_zone(fd);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end && k < sizeof(names) / sizeof(names[0])) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		fake_dns_add_txtn(fd, names[k++], p, len);
		p += len + 1;
	}
	memset(&ss, 0, sizeof(ss));
	if (sel & 1) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, "192.0.2.1", &s4->sin_addr);
	}
	memset(&req, 0, sizeof(req));
	req.client = (struct sockaddr *)&ss;
	req.sender = senders[(sel >> 1) & 3];
	req.helo = "example.com";
	req.receiver = "gw.example.net";
	req.helo_identity = (sel >> 3) & 1;
	dns = fake_dns_authdns(fd);
	g.starting = 1;
	c = spf_check_start(&dns, &req, &now, done, &g);
	g.starting = 0;
	if (c != NULL && (sel >> 4) % 10 == 0 && fd->nq > 0) {
		/* cancel after the first answer, if still running */
		struct fake_dns_pending *q = fd->q[0];
		struct dns_rrset rs;

		memmove(fd->q, fd->q + 1, (fd->nq - 1) * sizeof(*fd->q));
		fd->nq--;
		fake_dns_answer(fd, q->name, q->type, &rs);
		q->cb(q->arg, &rs);
		free(rs.rr);
		free(q->name);
		free(q);
		if (g.calls == 0)
			spf_check_cancel(c);
		fake_dns_run(fd);
		if (g.calls > 1)
			abort();
	} else {
		fake_dns_run(fd);
		if (g.calls != (c != NULL ? 1 : 0))
			abort();
	}
	fake_dns_free(fd);
	return 0;
}
