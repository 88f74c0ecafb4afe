/*
 * delivery_route — each pending recipient's next hop, for one delivery
 * attempt (delivery.h): local domains by the directory (looked up again
 * at delivery time, so mail follows a mailbox that moved), the gateway's
 * own Maildir store for `local`, the matching connectors cheapest first
 * for everything else.  Recipients with the same next-hop key share a job,
 * and so one SMTP transaction.
 */
#include "conf.h"
#include "delivery_priv.h"
#include "directory.h"
#include "maildir.h"
#include "queue.h"
#include "router.h"
#include "strmap.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for one more hop (a job's route grows only while it is made). */
static struct route_hop *
hop_add(struct djob *j)
{
	struct route_hop *h;

	j->hops = xreallocarray(j->hops, j->nhops + 1, sizeof(*j->hops));
	h = &j->hops[j->nhops++];
	memset(h, 0, sizeof(*h));
	return h;
}

/* A host as the directory or `smarthost` writes it. */
static void
hop_host(struct route_hop *h, const char *text, int defport)
{
	int bracketed;

	snprintf(h->label, sizeof(h->label), "%s", text);
	if (router_parse_host(text, defport, h->name, sizeof(h->name),
	    &h->port, &bracketed) == -1)
		h->bad = 1;
	h->mx = !bracketed;
}

/* The route of a mailbox server: one hop, A/AAAA (never MX) through the
 * internal profile, with mailbox-tls. */
static void
route_mailbox_hops(struct attempt *a, struct djob *j, const char *host)
{
	const struct conf *c = a->ctx.conf;
	struct route_hop *h = hop_add(j);

	hop_host(h, host, (int)c->mailbox_port);
	h->mx = 0;
	h->dns = c->dnslists[0];
	h->tls = c->mailbox_tls;
	h->tls_ca = c->mailbox_tls_ca;
	h->helo = c->hostname;
}

/*
 * The route through the connectors matching a domain, cheapest first:
 * `route dns` looks up the domain's MX with the connector's profile,
 * `route smarthost` tries its hosts in order with the internal one.  A
 * failover connector never weakens the TLS policy of one before it
 * (docs/tls.md).
 */
static void
route_connector_hops(struct attempt *a, struct djob *j, const char *domain,
    const struct conf_connector **conns, size_t n)
{
	const struct conf *c = a->ctx.conf;

	for (size_t k = 0; k < n; k++) {
		const struct conf_connector *cn = conns[k];
		enum conf_tls_policy tls = cn->tls;
		const char *tls_ca = cn->tls_ca;
		size_t first = j->nhops;

		for (size_t e = 0; e < k; e++)
			if (conns[e]->tls > tls) {
				tls = conns[e]->tls;
				tls_ca = conns[e]->tls_ca;
			}
		if (cn->route == ROUTE_DNS) {
			struct route_hop *h = hop_add(j);

			snprintf(h->label, sizeof(h->label), "%s", domain);
			snprintf(h->name, sizeof(h->name), "%s", domain);
			h->port = (int)cn->port;
			h->mx = h->domain = 1;
			h->dns = router_connector_dns(c, cn);
		}
		for (size_t m = 0; cn->route == ROUTE_SMARTHOST &&
		    m < cn->nsmarthosts; m++) {
			struct route_hop *h = hop_add(j);

			hop_host(h, cn->smarthosts[m], (int)cn->port);
			if (h->bad)
				snprintf(h->label, sizeof(h->label), "%s",
				    cn->name);
			h->dns = c->dnslists[0];
		}
		for (size_t m = first; m < j->nhops; m++) {
			j->hops[m].cn = cn;
			j->hops[m].helo = cn->home && cn->home->hostname ?
			    cn->home->hostname : c->hostname;
			j->hops[m].tls = tls;
			j->hops[m].tls_ca = tls_ca;
		}
	}
}

static struct djob *
job_for(struct attempt *a, enum job_kind kind, const char *key, int *made)
{
	struct djob *j;

	*made = 0;
	if (a->bykey == NULL)
		a->bykey = strmap_new();
	if ((j = strmap_get(a->bykey, key)) != NULL)
		return j;
	j = xcalloc(1, sizeof(*j));
	j->a = a;
	j->kind = kind;
	snprintf(j->key, sizeof(j->key), "%s", key);
	j->idx = xcalloc(a->env->nrcpts, sizeof(*j->idx));
	j->next = a->jobs;
	a->jobs = j;
	strmap_put(a->bykey, j->key, j);
	*made = 1;
	return j;
}

static void
route_mailbox(struct attempt *a, size_t i, const char *host)
{
	char key[ROUTER_KEY_MAX];
	struct djob *j;
	int made;

	if (strcmp(host, "local") == 0) {
		if (!maildir_address_ok(a->env->rcpts[i].addr)) {
			delivery_settle(a, i, RCPT_FAILED, "550 5.1.3 Address "
			    "not usable as a mailbox name", NULL);
			return;
		}
		j = job_for(a, JOB_LOCAL, "local", &made);
	} else {
		snprintf(key, sizeof(key), "mailbox %s", host);
		j = job_for(a, JOB_MAILBOX, key, &made);
		if (made)
			route_mailbox_hops(a, j, host);
	}
	j->idx[j->n++] = i;
}

static void
route_remote(struct attempt *a, size_t i)
{
	const char *addr = a->env->rcpts[i].addr;
	const char *domain = strrchr(addr, '@');
	const struct conf_connector *conns[CONNECTORS_MAX];
	char key[ROUTER_KEY_MAX];
	size_t n;
	struct djob *j;
	int made;

	domain = domain ? domain + 1 : "";
	n = router_connectors(a->ctx.conf, domain, conns, CONNECTORS_MAX);
	if (n == 0) {
		delivery_settle(a, i, RCPT_FAILED, "550 5.1.2 No route to the "
		    "recipient's domain", NULL);
		return;
	}
	if (n > CONNECTORS_MAX)
		n = CONNECTORS_MAX;
	/* Smart hosts take every domain in one transaction; MX routes go
	 * per domain. */
	if (conns[0]->route == ROUTE_SMARTHOST)
		snprintf(key, sizeof(key), "connector %s", conns[0]->name);
	else
		snprintf(key, sizeof(key), "connector %s domain %s",
		    conns[0]->name, domain);
	j = job_for(a, JOB_CONNECTOR, key, &made);
	if (made)
		route_connector_hops(a, j, domain, conns, n);
	j->idx[j->n++] = i;
}

struct route_req {
	struct attempt	*a;
	size_t		 i;
};

static void
route_dir_done(void *arg, struct dir_result *res)
{
	struct route_req *rq = arg;
	struct attempt *a = rq->a;
	size_t i = rq->i;
	const char *addr = a->env->rcpts[i].addr;
	const char *host = NULL;

	free(rq);
	switch (res->status) {
	case DIR_FOUND:
		for (size_t k = 0; k < res->ntargets; k++)
			if (strcmp(res->targets[k].addr, addr) == 0)
				host = res->targets[k].host;
		if (host == NULL && res->ntargets == 1)
			host = res->targets[0].host;
		if (host == NULL)
			delivery_settle(a, i, RCPT_PENDING, "451 4.3.0 The "
			    "directory entry changed into a list; retrying",
			    NULL);
		else
			route_mailbox(a, i, host);
		break;
	case DIR_NOTFOUND:
		delivery_settle(a, i, RCPT_FAILED, "550 5.1.1 Recipient no "
		    "longer in the directory", NULL);
		break;
	case DIR_TOO_MANY:
		delivery_settle(a, i, RCPT_FAILED, "550 5.4.6 List expansion "
		    "limit exceeded", NULL);
		break;
	default:
		delivery_settle(a, i, RCPT_PENDING, "451 4.3.0 Directory "
		    "temporarily unavailable", NULL);
		break;
	}
	dir_result_free(res);
	delivery_routing_release(a);
}

void
delivery_route(struct attempt *a, size_t i)
{
	const char *addr = a->env->rcpts[i].addr;
	const char *at = strrchr(addr, '@');
	struct route_req *rq;

	if (at == NULL || !conf_is_local_domain(a->ctx.conf, at + 1)) {
		route_remote(a, i);
		return;
	}
	rq = xcalloc(1, sizeof(*rq));
	rq->a = a;
	rq->i = i;
	a->routing++;
	directory_resolve(a->ctx.dir, addr, route_dir_done, rq);
}
