/*
 * resolver_channel — resolver profiles and their c-ares channels, driven
 * from the libevent loop: c-ares reports the sockets it wants watched
 * through its socket state callback (one persistent event per socket),
 * and one timer per channel is re-armed from ares_timeout() after every
 * call into c-ares.  The questions themselves are resolver.c.
 */
#include "resolver_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "xmalloc.h"

/* ---- loop integration ---- */

void
resolver_rearm(struct resolver *r)
{
	struct timeval tv, *tvp;

	if ((tvp = ares_timeout(r->channel, NULL, &tv)) != NULL)
		evtimer_add(r->timer, tvp);
	else
		evtimer_del(r->timer);
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = ((struct rsock *)arg)->r;

	ares_process_fd(r->channel,
	    (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_rearm(r);
}

/*
 * c-ares opens, watches and closes its sockets through this.  A closed
 * socket's slot and event are kept for the next socket, so no event is
 * ever freed from inside its own callback (ares_process_fd closes
 * sockets).
 */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct rsock *s = NULL, *freeslot = NULL;
	short what;
	size_t i;

	for (i = 0; i < r->nsocks; i++) {
		if (r->socks[i]->fd == (int)fd)
			s = r->socks[i];
		else if (r->socks[i]->fd == -1 && freeslot == NULL)
			freeslot = r->socks[i];
	}
	if (s != NULL)
		event_del(s->ev);
	if (!readable && !writable) {
		if (s != NULL)
			s->fd = -1;
		return;
	}
	if (s == NULL && (s = freeslot) == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->r = r;
		if ((s->ev = event_new(r->rs->base, -1, 0, NULL, NULL)) ==
		    NULL)
			fatalx("resolver: event_new failed");
		r->socks = xreallocarray(r->socks, r->nsocks + 1,
		    sizeof(*r->socks));
		r->socks[r->nsocks++] = s;
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0);
	s->fd = (int)fd;
	event_assign(s->ev, r->rs->base, (evutil_socket_t)fd, what, on_sock,
	    s);
	if (event_add(s->ev, NULL) == -1)
		log_warnx("resolver: %s: cannot watch DNS socket %d", r->name,
		    (int)fd);
}

/* ---- profiles ---- */

static int
resolver_open(struct resolver *r, const struct conf_dnslist *l, char *err,
    size_t errlen)
{
	struct ares_options opts;
	char lookups[] = "b", *csv = NULL, *prev = NULL;
	size_t i;
	int st, mask;

	/*
	 * Questions go through ares_query, which never uses the search list
	 * or the hosts file; flags and lookups say so again for anything
	 * else c-ares might do with the channel.
	 */
	memset(&opts, 0, sizeof(opts));
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
	opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	opts.timeout = RESOLVER_TIMEOUT_MS;
	opts.tries = RESOLVER_TRIES;
	opts.sock_state_cb = sock_state;
	opts.sock_state_cb_data = r;
	opts.lookups = lookups;
	if ((st = ares_init_options(&r->channel, &opts, mask)) !=
	    ARES_SUCCESS) {
		snprintf(err, errlen, "DNS list %s: %s", r->name,
		    ares_strerror(st));
		return -1;
	}
	r->channel_ok = 1;
	if (l->use_resolv_conf)
		return 0;
	/* The configuration keeps servers as "ip:port" / "[ip6]:port":
	 * c-ares's own list syntax. */
	for (i = 0; i < l->nservers; i++) {
		csv = xasprintf("%s%s%s", prev != NULL ? prev : "",
		    prev != NULL ? "," : "", l->servers[i]);
		free(prev);
		prev = csv;
	}
	if (csv == NULL) {
		snprintf(err, errlen, "DNS list %s has no servers", r->name);
		return -1;
	}
	st = ares_set_servers_ports_csv(r->channel, csv);
	free(csv);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "DNS list %s: %s", r->name,
		    ares_strerror(st));
		return -1;
	}
	return 0;
}

static void
resolver_free(struct resolver *r)
{
	struct resolver_query *q, *next;
	size_t i;

	for (q = TAILQ_FIRST(&r->queries); q != NULL; q = next) {
		next = TAILQ_NEXT(q, entry);
		q->cb = NULL;
		q->cancelled = 1;
		if (q->pending == 0)
			resolver_query_free(q);
	}
	/* Calls every outstanding question back with ARES_EDESTRUCTION,
	 * which frees the cancelled queries, and closes the sockets
	 * through sock_state(). */
	if (r->channel_ok)
		ares_destroy(r->channel);
	while ((q = TAILQ_FIRST(&r->queries)) != NULL)
		resolver_query_free(q);
	for (i = 0; i < r->nsocks; i++) {
		event_free(r->socks[i]->ev);
		free(r->socks[i]);
	}
	free(r->socks);
	if (r->timer != NULL)
		event_free(r->timer);
	resolver_cache_free(r->cache);
	free(r->name);
	free(r);
}

struct resolver_set *
resolver_set_new(struct event_base *base, const struct conf *c, char *err,
    size_t errlen)
{
	struct resolver_set *rs;
	struct resolver *r;
	size_t i;
	int st;

	if ((st = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return NULL;
	}
	rs = xcalloc(1, sizeof(*rs));
	rs->base = base;
	rs->r = xcalloc(c->ndnslists, sizeof(*rs->r));
	for (i = 0; i < c->ndnslists; i++) {
		r = xcalloc(1, sizeof(*r));
		TAILQ_INIT(&r->queries);
		r->rs = rs;
		r->list = c->dnslists[i];
		r->name = xstrdup(c->dnslists[i]->name);
		r->unnamed = c->dnslists[i]->unnamed;
		r->cache = resolver_cache_new(0, 0);
		rs->r[rs->n++] = r;
		if ((r->timer = evtimer_new(base, on_timer, r)) == NULL)
			fatalx("resolver: evtimer_new failed");
		if (resolver_open(r, c->dnslists[i], err, errlen) == -1) {
			resolver_set_free(rs);
			return NULL;
		}
	}
	return rs;
}

void
resolver_set_free(struct resolver_set *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++)
		resolver_free(rs->r[i]);
	free(rs->r);
	free(rs);
	ares_library_cleanup();
}

/*
 * By identity; a list of another snapshot by name (an unnamed list has no
 * name to go by, as in conf_dnslist_find).  NULL is the top-level list.
 */
struct resolver *
resolver_get(struct resolver_set *rs, const struct conf_dnslist *list)
{
	size_t i;

	if (rs == NULL || rs->n == 0)
		return NULL;
	if (list == NULL)
		return rs->r[0];
	for (i = 0; i < rs->n; i++)
		if (rs->r[i]->list == list)
			return rs->r[i];
	for (i = 0; i < rs->n && !list->unnamed; i++)
		if (!rs->r[i]->unnamed &&
		    strcmp(rs->r[i]->name, list->name) == 0)
			return rs->r[i];
	return NULL;
}

const char *
resolver_name(const struct resolver *r)
{
	return r->name;
}

void
resolver_stats(const struct resolver *r, uint64_t *queries,
    uint64_t *failures)
{
	if (queries != NULL)
		*queries = r->nqueries;
	if (failures != NULL)
		*failures = r->nfailures;
}
