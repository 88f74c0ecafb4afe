/*
 * flow — the canonical mail-flow table; see flow.h.
 *
 * The cases are built first (pure, from the configuration), then traced
 * one after the other; a trace may answer at once (file directory) or
 * later (LDAP), so the runner loops while answers come back inside
 * trace_start() and otherwise goes on from the callback.
 */
#include "flow.h"
#include "conf.h"
#include "directory.h"
#include "netaddr.h"
#include "router.h"
#include "senderlist.h"
#include "trace.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FLOWS_PER_SERVER	7

struct fcase {
	char		*vserver;
	const char	*flow;
	char		*client;	/* NULL: not applicable */
	char		*sender;
	char		*rcpt;
	char		*na;		/* why not applicable */
	struct senderlist *senders;	/* the server's block-senders-file */
};

struct flow {
	struct conf		*conf;
	struct directory	*dir;
	struct fcase		*cases;
	size_t			 ncases, next;
	struct flow_row		*rows;
	struct trace		*tr;
	const struct senderlist_set *set;	/* only in flow_start() */
	int			 in_run;
	int			 waiting;
	flow_cb			 cb;
	void			*arg;
};

/* Documentation addresses (RFC 5737, RFC 3849) standing for the Internet. */
static const char *const internet_candidates[] = {
	"203.0.113.99", "198.51.100.99", "192.0.2.99", "2001:db8::99",
};
static const char *const external_domains[] = {
	"example.org", "example.net", "example.com", "example.invalid",
};

/* An address that no server relays for and this server does not block. */
static char *
internet_client(const struct conf *c, const struct conf_vserver *vs)
{
	struct sockaddr_storage ss;

	for (size_t i = 0; i < sizeof(internet_candidates) /
	    sizeof(internet_candidates[0]); i++) {
		const struct sockaddr *sa = (struct sockaddr *)&ss;
		int ok = 1;

		netaddr_parse_ip(internet_candidates[i], &ss);
		for (size_t k = 0; k < c->nvservers; k++)
			if (netaddr_cidr_match_any(c->vservers[k]->relay_allow,
			    c->vservers[k]->nrelay_allow, sa))
				ok = 0;
		if (netaddr_cidr_match_any(vs->filter.block_client,
		    vs->filter.nblock_client, sa))
			ok = 0;
		if (ok)
			return xstrdup(internet_candidates[i]);
	}
	return xstrdup(internet_candidates[0]);
}

/* The first host of a CIDR block, as text. */
static char *
cidr_host(const struct cidr *b)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t a[16];
	int bits = b->family == AF_INET ? 32 : 128, zero = 1;

	memcpy(a, b->addr, sizeof(a));
	for (int i = b->prefix; i < bits; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			zero = 0;
	if (zero && b->prefix <= bits - 2)
		a[bits / 8 - 1] |= 1;	/* the network's first host */
	if (inet_ntop(b->family, a, buf, sizeof(buf)) == NULL)
		return NULL;
	return xstrdup(buf);
}

/* A client this server relays for, else one any server relays for. */
static char *
intranet_client(const struct conf *c, const struct conf_vserver *vs)
{
	if (vs->nrelay_allow > 0)
		return cidr_host(&vs->relay_allow[0]);
	for (size_t k = 0; k < c->nvservers; k++)
		if (c->vservers[k]->nrelay_allow > 0)
			return cidr_host(&c->vservers[k]->relay_allow[0]);
	return xstrdup("10.0.0.1");
}

/* A first block-client address that allow-client does not exempt. */
static char *
blocked_client(const struct conf_vserver *vs)
{
	struct sockaddr_storage ss;
	const struct conf_filter *f = &vs->filter;

	for (size_t i = 0; i < f->nblock_client; i++) {
		char *ip = cidr_host(&f->block_client[i]);

		if (ip == NULL)
			continue;
		netaddr_parse_ip(ip, &ss);
		if (!netaddr_cidr_match_any(f->allow_client, f->nallow_client,
		    (struct sockaddr *)&ss))
			return ip;
		free(ip);
	}
	return NULL;
}

static char *
blocked_sender(const struct conf_vserver *vs)
{
	const char *e;

	if (vs->filter.nblock_sender == 0)
		return NULL;
	e = vs->filter.block_sender[0];
	if (strcmp(e, "<>") == 0)
		return xstrdup("<>");
	if (e[0] == '@')
		return xasprintf("spammer%s", e);
	return xstrdup(e);
}

static const char *
external_domain(const struct conf *c)
{
	for (size_t i = 0; i < sizeof(external_domains) /
	    sizeof(external_domains[0]); i++)
		if (!conf_is_local_domain(c, external_domains[i]) &&
		    !router_is_relay_domain(c, external_domains[i]))
			return external_domains[i];
	return external_domains[0];
}

static void
add_case(struct flow *f, const struct conf_vserver *vs, const char *flow,
    char *client, const char *sender, const char *rcpt, const char *na)
{
	struct fcase *k = &f->cases[f->ncases++];

	k->vserver = xstrdup(vs->name);
	k->flow = flow;
	k->client = client;
	k->sender = xstrdup(sender ? sender : "");
	k->rcpt = xstrdup(rcpt ? rcpt : "");
	k->na = na ? xstrdup(na) : NULL;
	k->senders = senderlist_ref(senderlist_set_get(f->set, vs->name));
	if (k->na) {
		free(k->client);
		k->client = NULL;
	}
}

static void
build_cases(struct flow *f, const char *user, const char *unknown)
{
	const struct conf *c = f->conf;
	const char *dom = external_domain(c);
	char out_rcpt[128], out_sender[128], lu[512], uu[512];
	const char *nolocal = c->nlocal_domains ? NULL : "no local-domain";

	snprintf(out_rcpt, sizeof(out_rcpt), "someone@%s", dom);
	snprintf(out_sender, sizeof(out_sender), "sender@%s", dom);
	snprintf(lu, sizeof(lu), "%s", user ? user : "");
	snprintf(uu, sizeof(uu), "%s", unknown ? unknown : "");
	if (c->nlocal_domains && !user)
		snprintf(lu, sizeof(lu), "postmaster@%s", c->local_domains[0]);
	if (c->nlocal_domains && !unknown)
		snprintf(uu, sizeof(uu), "no-such-user.postern-flow@%s",
		    c->local_domains[0]);
	f->cases = xcalloc(c->nvservers * FLOWS_PER_SERVER + 1,
	    sizeof(*f->cases));
	for (size_t i = 0; i < c->nvservers; i++) {
		const struct conf_vserver *vs = c->vservers[i];
		char *bs = blocked_sender(vs), *bc = blocked_client(vs);

		add_case(f, vs, "Internet -> Internet", internet_client(c, vs),
		    out_sender, out_rcpt, NULL);
		add_case(f, vs, "Internet -> local user",
		    internet_client(c, vs), out_sender, lu, nolocal);
		add_case(f, vs, "Internet -> unknown local user",
		    internet_client(c, vs), out_sender, uu, nolocal);
		add_case(f, vs, "intranet -> local user",
		    intranet_client(c, vs), lu, lu, nolocal);
		add_case(f, vs, "intranet -> Internet", intranet_client(c, vs),
		    lu[0] ? lu : out_sender, out_rcpt, NULL);
		add_case(f, vs, "blocked sender", internet_client(c, vs),
		    bs, lu[0] ? lu : out_rcpt, bs ? NULL :
		    vs->filter.block_senders_file ? "only a block-senders-file"
		    : "no block-sender");
		add_case(f, vs, "blocked client", bc ? bc :
		    xstrdup(""), out_sender, lu[0] ? lu : out_rcpt,
		    bc ? NULL : "no block-client");
		free(bs);
	}
}

static int	run(struct flow *);

static void
traced(void *arg, struct trace_result *res, size_t n, const char *error)
{
	struct flow *f = arg;
	struct flow_row *row = &f->rows[f->next];

	f->tr = NULL;
	f->waiting = 0;
	if (res != NULL && n == 1) {
		row->r = res[0];
		free(res);
	} else {
		trace_results_free(res, n);
		row->r.note = xstrdup(error ? error : "no answer");
	}
	f->next++;
	if (!f->in_run)
		(void)run(f);
}

static void
flow_free(struct flow *f)
{
	for (size_t i = 0; i < f->ncases; i++) {
		free(f->cases[i].vserver);
		free(f->cases[i].client);
		free(f->cases[i].sender);
		free(f->cases[i].rcpt);
		free(f->cases[i].na);
		senderlist_unref(f->cases[i].senders);
	}
	free(f->cases);
	conf_unref(f->conf);
	if (f->dir)
		directory_unref(f->dir);
	free(f);
}

/* Trace the cases left; 1 when finished (f is gone), 0 when waiting. */
static int
run(struct flow *f)
{
	f->in_run = 1;
	while (f->next < f->ncases) {
		struct fcase *k = &f->cases[f->next];
		struct flow_row *row = &f->rows[f->next];
		struct trace_request rq;
		const char *rcpts[1] = { k->rcpt };

		row->vserver = xstrdup(k->vserver);
		row->flow = k->flow;
		row->sender = xstrdup(k->sender);
		if (k->na) {
			row->r.recipient = xstrdup(k->rcpt);
			row->r.note = xasprintf("not applicable: %s", k->na);
			f->next++;
			continue;
		}
		row->client = xstrdup(k->client);
		memset(&rq, 0, sizeof(rq));
		rq.conf = f->conf;
		rq.dir = f->dir;
		rq.senders = k->senders;
		rq.vserver = k->vserver;
		rq.client = k->client;
		rq.sender = k->sender;
		rq.rcpts = rcpts;
		rq.nrcpts = 1;
		f->waiting = 1;
		f->tr = trace_start(&rq, traced, f);
		if (f->waiting) {
			f->in_run = 0;
			return 0;	/* traced() goes on */
		}
	}
	f->in_run = 0;
	f->cb(f->arg, f->rows, f->ncases);
	f->rows = NULL;
	flow_free(f);
	return 1;
}

struct flow *
flow_start(struct conf *conf, struct directory *dir,
    const struct senderlist_set *senders, const char *user,
    const char *unknown, flow_cb cb, void *arg)
{
	struct flow *f = xcalloc(1, sizeof(*f));

	f->conf = conf_ref(conf);
	f->dir = dir ? directory_ref(dir) : NULL;
	f->set = senders;
	f->cb = cb;
	f->arg = arg;
	build_cases(f, user && *user ? user : NULL,
	    unknown && *unknown ? unknown : NULL);
	f->set = NULL;
	f->rows = xcalloc(f->ncases + 1, sizeof(*f->rows));
	return run(f) ? NULL : f;
}

void
flow_cancel(struct flow *f)
{
	if (f == NULL)
		return;
	trace_cancel(f->tr);
	flow_rows_free(f->rows, f->ncases);
	flow_free(f);
}

void
flow_rows_free(struct flow_row *rows, size_t n)
{
	if (rows == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(rows[i].vserver);
		free(rows[i].client);
		free(rows[i].sender);
		trace_result_clear(&rows[i].r);
	}
	free(rows);
}
