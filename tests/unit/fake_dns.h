/*
 * fake_dns — a DNS zone held in a table, served through the authdns
 * interface (src/msgauth/authdns.h), for the message authentication tests
 * and their command-line drivers (after Postfix's mock_dns_lookup): no
 * socket, no event loop.  Answers are queued when asked and delivered by
 * fake_dns_run(), so that an evaluator sees them later, as it would live.
 *
 * A name with no entry at all is NXDOMAIN; a name with entries of other
 * types only is NODATA; fake_dns_set() forces a status (TEMPFAIL for a
 * server failure or a timeout, NXDOMAIN) for one type, or every type with
 * type 0.  Names compare case-insensitively, a final dot ignored.
 * Header-only: include it once per program.
 */
#ifndef POSTERN_TEST_FAKE_DNS_H
#define POSTERN_TEST_FAKE_DNS_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "authdns.h"
#include "xmalloc.h"

#ifndef FIXTURE_UNUSED
#define FIXTURE_UNUSED	__attribute__((unused))
#endif

struct fake_dns_entry {
	char			*name;
	int			 type;		/* 0: every type (forced) */
	int			 forced;	/* status set by fake_dns_set */
	enum dns_rrstatus	 status;
	struct dns_rr		 rr;
};

struct fake_dns_pending {
	char			*name;
	int			 type;
	authdns_cb		 cb;
	void			*arg;
	int			 cancelled;
};

struct fake_dns {
	struct fake_dns_entry	*e;
	size_t			 ne;
	struct fake_dns_pending	**q;		/* asked, not yet answered */
	size_t			 nq;
	unsigned		 asked;		/* questions asked in all */
};

static FIXTURE_UNUSED int
fake_dns_same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static FIXTURE_UNUSED struct fake_dns *
fake_dns_new(void)
{
	return xcalloc(1, sizeof(struct fake_dns));
}

static FIXTURE_UNUSED struct fake_dns_entry *
fake_dns_add(struct fake_dns *fd, const char *name, int type)
{
	struct fake_dns_entry *e;

	fd->e = xreallocarray(fd->e, fd->ne + 1, sizeof(*fd->e));
	e = &fd->e[fd->ne++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->type = type;
	e->status = DNS_RR_OK;
	return e;
}

/* A TXT record of len bytes (the strings already joined). */
static FIXTURE_UNUSED void
fake_dns_add_txtn(struct fake_dns *fd, const char *name, const char *text,
    size_t len)
{
	struct fake_dns_entry *e = fake_dns_add(fd, name, DNS_T_TXT);

	e->rr.text = xmalloc(len + 1);
	memcpy(e->rr.text, text, len);
	e->rr.text[len] = '\0';
	e->rr.len = len;
}

static FIXTURE_UNUSED void
fake_dns_add_txt(struct fake_dns *fd, const char *name, const char *text)
{
	fake_dns_add_txtn(fd, name, text, strlen(text));
}

/* An A or AAAA record, by the address's text. */
static FIXTURE_UNUSED void
fake_dns_add_addr(struct fake_dns *fd, const char *name, const char *ip)
{
	struct fake_dns_entry *e;
	int v6 = strchr(ip, ':') != NULL;

	e = fake_dns_add(fd, name, v6 ? DNS_T_AAAA : DNS_T_A);
	e->rr.family = v6 ? AF_INET6 : AF_INET;
	if (inet_pton(e->rr.family, ip, e->rr.addr) != 1) {
		fprintf(stderr, "fake_dns: bad address %s\n", ip);
		abort();
	}
}

static FIXTURE_UNUSED void
fake_dns_add_mx(struct fake_dns *fd, const char *name, unsigned pref,
    const char *host)
{
	struct fake_dns_entry *e = fake_dns_add(fd, name, DNS_T_MX);

	e->rr.text = xstrdup(host);
	e->rr.len = strlen(host);
	e->rr.pref = pref;
}

static FIXTURE_UNUSED void
fake_dns_add_ptr(struct fake_dns *fd, const char *name, const char *host)
{
	struct fake_dns_entry *e = fake_dns_add(fd, name, DNS_T_PTR);

	e->rr.text = xstrdup(host);
	e->rr.len = strlen(host);
}

/* Force the answer to (name, type), or to every type with type 0. */
static FIXTURE_UNUSED void
fake_dns_set(struct fake_dns *fd, const char *name, int type,
    enum dns_rrstatus st)
{
	struct fake_dns_entry *e = fake_dns_add(fd, name, type);

	e->forced = 1;
	e->status = st;
}

static FIXTURE_UNUSED void
fake_dns_answer(struct fake_dns *fd, const char *name, int type,
    struct dns_rrset *rs)
{
	size_t i;
	int exists = 0;

	memset(rs, 0, sizeof(*rs));
	rs->type = type;
	for (i = 0; i < fd->ne; i++) {
		struct fake_dns_entry *e = &fd->e[i];

		if (!fake_dns_same(e->name, name))
			continue;
		if (e->forced && (e->type == 0 || e->type == type)) {
			free(rs->rr);
			rs->rr = NULL;
			rs->nrr = 0;
			rs->status = e->status;
			if (e->status == DNS_RR_TEMPFAIL)
				snprintf(rs->error, sizeof(rs->error),
				    "fake_dns: %s failed", name);
			return;
		}
		exists = 1;
		if (e->type == type && rs->nrr < DNS_RRSET_MAX) {
			rs->rr = xreallocarray(rs->rr, rs->nrr + 1,
			    sizeof(*rs->rr));
			rs->rr[rs->nrr++] = e->rr;
		}
	}
	rs->status = rs->nrr > 0 ? DNS_RR_OK :
	    exists ? DNS_RR_NODATA : DNS_RR_NXDOMAIN;
}

static FIXTURE_UNUSED void *
fake_dns_ask(void *ctx, const char *name, int type, authdns_cb cb,
    void *arg)
{
	struct fake_dns *fd = ctx;
	struct fake_dns_pending *p = xcalloc(1, sizeof(*p));

	p->name = xstrdup(name);
	p->type = type;
	p->cb = cb;
	p->arg = arg;
	fd->q = xreallocarray(fd->q, fd->nq + 1, sizeof(*fd->q));
	fd->q[fd->nq++] = p;
	fd->asked++;
	return p;
}

static FIXTURE_UNUSED void
fake_dns_cancel(void *ctx, void *handle)
{
	(void)ctx;
	if (handle != NULL)
		((struct fake_dns_pending *)handle)->cancelled = 1;
}

static FIXTURE_UNUSED struct authdns
fake_dns_authdns(struct fake_dns *fd)
{
	struct authdns a = { fake_dns_ask, fake_dns_cancel, fd };

	return a;
}

/* Answer every question asked, and those asked by the callbacks, in the
 * order asked; the number answered. */
static FIXTURE_UNUSED size_t
fake_dns_run(struct fake_dns *fd)
{
	size_t n = 0;

	while (fd->nq > 0) {
		struct fake_dns_pending *p = fd->q[0];
		struct dns_rrset rs;

		memmove(fd->q, fd->q + 1, (fd->nq - 1) * sizeof(*fd->q));
		fd->nq--;
		if (!p->cancelled) {
			fake_dns_answer(fd, p->name, p->type, &rs);
			p->cb(p->arg, &rs);
			free(rs.rr);
			n++;
		}
		free(p->name);
		free(p);
	}
	return n;
}

static FIXTURE_UNUSED void
fake_dns_free(struct fake_dns *fd)
{
	size_t i;

	if (fd == NULL)
		return;
	for (i = 0; i < fd->nq; i++) {
		free(fd->q[i]->name);
		free(fd->q[i]);
	}
	for (i = 0; i < fd->ne; i++) {
		free(fd->e[i].name);
		free(fd->e[i].rr.text);
	}
	free(fd->e);
	free(fd->q);
	free(fd);
}

#endif
