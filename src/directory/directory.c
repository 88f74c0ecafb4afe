/*
 * directory — the backend registry, reference counting, and the one
 * resolution algorithm every backend shares (postern.conf(5)).
 *
 * A backend answers "what is the entry for this key?", possibly later.
 * directory_resolve() turns that into a list of final recipients: exact key,
 * else "@domain"; aliases expanded member by member, each address at most
 * once, within DIRECTORY_DEPTH_MAX levels and DIRECTORY_EXPAND_MAX
 * addresses.  It is an asynchronous state machine: every lookup in flight is
 * a node counted in its request's `pending`, and the request ends when the
 * count reaches zero, whether the answers came before lookup() returned (the
 * file backend) or on a later loop turn (LDAP).  Every question to the
 * backend goes through the answer cache (directory_cache.c) when the
 * backend asked for one.  Loop thread only.
 */
#include "directory.h"
#include "directory_cache.h"
#include "strmap.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "postern_limits.h"
#include "log.h"
#include "xmalloc.h"

/* Lookups one resolution may make, skipped members included, so that a
 * directory full of dead list members cannot make one RCPT cost more. */
#define DIR_LOOKUP_MAX	(4 * DIRECTORY_EXPAND_MAX)

/* ---- directories ---- */

/* The public struct first, so that a struct directory * is also ours. */
struct dir_handle {
	struct directory	  d;
	char			**domains;	/* lowercase */
	size_t			  ndomains;
	struct dir_cache	 *cache;	/* NULL: none */
};

static int
none_open(struct directory *d, const struct conf *c, char *err,
    size_t errlen)
{
	(void)d;
	(void)c;
	(void)err;
	(void)errlen;
	return 0;
}

static void
none_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	(void)d;
	(void)key;
	cb(arg, DIR_NOTFOUND, NULL);
}

static void
none_close(struct directory *d)
{
	(void)d;
}

/* No `directory` statement: nobody is local (every RCPT gets 550 5.1.1). */
static const struct directory_backend directory_backend_none = {
	"none", none_open, none_lookup, none_close
};

/* The registry: one row per `directory` type of the configuration. */
static const struct {
	enum conf_dir_type		 type;
	const struct directory_backend	*backend; /* NULL: not yet */
} backends[] = {
	{ DIR_NONE, &directory_backend_none },
	{ DIR_FILE, &directory_backend_file },
	{ DIR_LDAP, &directory_backend_ldap },
};

struct directory *
directory_open(const struct conf *c, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (backends[i].type != c->directory)
			continue;
		if (backends[i].backend == NULL) {
			snprintf(err, errlen, "%s directory not supported yet",
			    c->directory == DIR_LDAP ? "ldap" : "this");
			return NULL;
		}
		return directory_open_backend(backends[i].backend, c, err,
		    errlen);
	}
	snprintf(err, errlen, "unknown directory type %d", (int)c->directory);
	return NULL;
}

static char *
lowercase(const char *s)
{
	char *p, *out = xstrdup(s);

	for (p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

struct directory *
directory_open_backend(const struct directory_backend *b,
    const struct conf *c, char *err, size_t errlen)
{
	struct dir_handle *h;
	size_t i;

	h = xcalloc(1, sizeof(*h));
	h->d.backend = b;
	h->d.refcnt = 1;
	if (c != NULL && c->nlocal_domains > 0) {
		h->domains = xcalloc(c->nlocal_domains, sizeof(*h->domains));
		for (i = 0; i < c->nlocal_domains; i++)
			h->domains[i] = lowercase(c->local_domains[i]);
		h->ndomains = c->nlocal_domains;
	}
	if (b->open != NULL && b->open(&h->d, c, err, errlen) == -1) {
		for (i = 0; i < h->ndomains; i++)
			free(h->domains[i]);
		free(h->domains);
		free(h);
		return NULL;
	}
	if (h->d.cache_ttl > 0)
		h->cache = directory_cache_new(h->d.cache_ttl);
	return &h->d;
}

void
directory_attach(struct directory *d, struct event_base *base)
{
	d->base = base;
}

struct directory *
directory_ref(struct directory *d)
{
	d->refcnt++;
	return d;
}

void
directory_unref(struct directory *d)
{
	struct dir_handle *h = (struct dir_handle *)d;
	size_t i;

	if (d == NULL || --d->refcnt > 0)
		return;
	if (d->backend->close != NULL)
		d->backend->close(d);
	directory_cache_free(h->cache);
	for (i = 0; i < h->ndomains; i++)
		free(h->domains[i]);
	free(h->domains);
	free(h);
}

static int
is_local(const struct directory *d, const char *domain)
{
	const struct dir_handle *h = (const struct dir_handle *)d;
	size_t i;

	for (i = 0; i < h->ndomains; i++)
		if (strcmp(h->domains[i], domain) == 0)
			return 1;
	return 0;
}

/* One question to the backend, through the cache if there is one. */
static void
dir_ask(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	struct dir_handle *h = (struct dir_handle *)d;

	if (h->cache != NULL)
		directory_cache_lookup(h->cache, d, key, cb, arg);
	else
		d->backend->lookup(d, key, cb, arg);
}

static int
valid_port(const char *s)
{
	unsigned long v = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return 0;
	}
	return v > 0;
}

int
directory_host_valid(const char *h)
{
	unsigned char bin[16];
	char ip[64];
	const char *end, *colon;
	size_t n;

	if (strcmp(h, "local") == 0)
		return 1;
	if (h[0] == '[') {
		if ((end = strchr(h, ']')) == NULL)
			return 0;
		n = (size_t)(end - h - 1);
		if (n >= sizeof(ip))
			return 0;
		memcpy(ip, h + 1, n);
		ip[n] = '\0';
		if (inet_pton(AF_INET, ip, bin) != 1 &&
		    inet_pton(AF_INET6, strncasecmp(ip, "IPv6:", 5) == 0 ?
		    ip + 5 : ip, bin) != 1)
			return 0;
		if (end[1] == '\0')
			return 1;
		return end[1] == ':' && valid_port(end + 2);
	}
	colon = strchr(h, ':');
	n = colon ? (size_t)(colon - h) : strlen(h);
	if (!addr_valid_domain(h, n, 0))
		return 0;
	return colon == NULL || valid_port(colon + 1);
}


/* ---- resolution ---- */

struct dir_request {
	struct directory	*d;
	dir_resolve_cb		 cb;
	void			*arg;
	char			*addr;		/* what was asked */
	int			 pending;	/* nodes in flight */
	int			 cancelled;
	int			 tempfail;
	int			 too_many;
	int			 top_alias;	/* addr is a list */
	size_t			 nlookups;
	struct strmap		*visited;	/* addresses met */
	struct dir_target	*targets;
	size_t			 ntargets;
	size_t			 targets_cap;
	char			 reason[128];
};

/* One address being looked up: exact key first, then "@domain". */
struct dir_node {
	struct dir_request	*r;
	char			*addr;
	char			*key;
	int			 depth;		/* 0: the one asked */
	int			 catchall;	/* key is the "@domain" */
};

static void	node_answer(void *arg, enum dir_status st,
		    const struct dir_entry *e);

static void	fail_too_many(struct dir_request *r, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

static void
fail_too_many(struct dir_request *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->too_many || r->tempfail)
		return;
	r->too_many = 1;
	n = snprintf(r->reason, sizeof(r->reason), "%s: ", r->addr);
	if (n < 0 || (size_t)n >= sizeof(r->reason))
		return;
	va_start(ap, fmt);
	vsnprintf(r->reason + n, sizeof(r->reason) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void
fail_temp(struct dir_request *r, const char *why, const char *key)
{
	if (r->tempfail)
		return;
	r->tempfail = 1;
	snprintf(r->reason, sizeof(r->reason), "%s for %s", why, key);
}

static void
add_target(struct dir_request *r, const char *addr, const char *host)
{
	struct dir_target *t;

	if (r->ntargets >= DIRECTORY_EXPAND_MAX) {
		fail_too_many(r, "alias expands to more than %d addresses",
		    DIRECTORY_EXPAND_MAX);
		return;
	}
	if (r->ntargets == r->targets_cap) {
		r->targets_cap = r->targets_cap ? r->targets_cap * 2 : 4;
		r->targets = xreallocarray(r->targets, r->targets_cap,
		    sizeof(*r->targets));
	}
	t = &r->targets[r->ntargets++];
	t->addr = xstrdup(addr);
	t->host = host ? xstrdup(host) : NULL;
}

static void
node_start(struct dir_request *r, const char *addr, int depth)
{
	struct dir_node *n;

	if (++r->nlookups > DIR_LOOKUP_MAX) {
		fail_too_many(r, "alias expansion needs more than %d lookups",
		    DIR_LOOKUP_MAX);
		return;
	}
	n = xcalloc(1, sizeof(*n));
	n->r = r;
	n->addr = xstrdup(addr);
	n->key = xstrdup(addr);
	n->depth = depth;
	r->pending++;
	/* May answer before it returns: n belongs to node_answer now. */
	dir_ask(r->d, n->key, node_answer, n);
}

static void
expand(struct dir_request *r, struct dir_node *n, const struct dir_entry *e)
{
	const char *at;
	char *m;
	size_t i;

	if (n->depth + 1 > DIRECTORY_DEPTH_MAX) {
		fail_too_many(r, "alias nesting deeper than %d levels "
		    "(alias loop limit)", DIRECTORY_DEPTH_MAX);
		return;
	}
	for (i = 0; i < e->nmembers; i++) {
		/* A member answered synchronously may have failed it all. */
		if (r->tempfail || r->too_many)
			return;
		m = lowercase(e->members[i]);
		if ((at = strrchr(m, '@')) == NULL || at == m ||
		    at[1] == '\0') {
			log_warnx("directory: %s: list %s has a member "
			    "\"%s\" that is not an address, skipped",
			    r->addr, n->addr, m);
		} else if (strmap_add(r->visited, m, NULL) == -1) {
			/* Already met: each address at most once (this
			 * also ends alias loops). */
		} else if (is_local(r->d, at + 1))
			node_start(r, m, n->depth + 1);
		else
			add_target(r, m, NULL);
		free(m);
	}
}

static void
request_finish(struct dir_request *r)
{
	struct dir_result *res;
	dir_resolve_cb cb = r->cb;
	void *arg = r->arg;
	size_t i;

	res = xcalloc(1, sizeof(*res));
	if (r->tempfail) {
		res->status = DIR_TEMPFAIL;
		memcpy(res->reason, r->reason, sizeof(res->reason));
	} else if (r->too_many) {
		res->status = DIR_TOO_MANY;
		memcpy(res->reason, r->reason, sizeof(res->reason));
	} else if (r->ntargets == 0) {
		res->status = DIR_NOTFOUND;
		snprintf(res->reason, sizeof(res->reason), r->top_alias ?
		    "%s: no list member has an entry" : "%s: no entry",
		    r->addr);
	} else {
		res->status = DIR_FOUND;
		res->targets = r->targets;
		res->ntargets = r->ntargets;
		r->targets = NULL;
		if (res->ntargets == 1 && !r->top_alias)
			snprintf(res->reason, sizeof(res->reason),
			    "%s: mailbox on %s", r->addr,
			    res->targets[0].host ? res->targets[0].host :
			    "(remote)");
		else
			snprintf(res->reason, sizeof(res->reason),
			    "%s: list of %zu address%s", r->addr,
			    res->ntargets, res->ntargets == 1 ? "" : "es");
	}
	log_debug("directory: resolve %s: %s", r->addr, res->reason);
	for (i = 0; i < r->ntargets && r->targets != NULL; i++) {
		free(r->targets[i].addr);
		free(r->targets[i].host);
	}
	free(r->targets);
	strmap_free(r->visited, NULL);
	free(r->addr);
	directory_unref(r->d);
	/* The request is gone before the callback: nothing it does (such
	 * as dropping its own last reference) can reach it. */
	if (r->cancelled) {
		free(r);
		dir_result_free(res);
		return;
	}
	free(r);
	cb(arg, res);
}

static const char *
status_name(enum dir_status st)
{
	switch (st) {
	case DIR_FOUND:
		return "found";
	case DIR_NOTFOUND:
		return "not found";
	case DIR_TEMPFAIL:
		return "temporary failure";
	default:
		return "bad answer";
	}
}

static void
node_answer(void *arg, enum dir_status st, const struct dir_entry *e)
{
	struct dir_node *n = arg;
	struct dir_request *r = n->r;
	const char *at;

	log_debug("directory: %s lookup %s: %s", r->d->backend->name, n->key,
	    status_name(st));
	/* After a failure or a cancel, answers in flight are only counted. */
	if (r->cancelled || r->tempfail || r->too_many)
		goto done;
	switch (st) {
	case DIR_FOUND:
		if (e == NULL)
			fail_temp(r, "backend answered without an entry",
			    n->key);
		else if (e->kind == DIR_ENTRY_MAILBOX && e->host != NULL)
			add_target(r, n->addr, e->host);
		else if (e->kind == DIR_ENTRY_ALIAS) {
			if (n->depth == 0)
				r->top_alias = 1;
			expand(r, n, e);
		} else
			fail_temp(r, "backend answered a bad entry", n->key);
		break;
	case DIR_NOTFOUND:
		at = strrchr(n->addr, '@');
		if (!n->catchall && at != NULL && at != n->addr &&
		    at[1] != '\0') {
			/* Same node, second question: the catch-all. */
			n->catchall = 1;
			free(n->key);
			n->key = xstrdup(at);
			dir_ask(r->d, n->key, node_answer, n);
			return;
		}
		if (n->depth > 0)
			log_warnx("directory: %s: list member %s has no entry, "
			    "skipped", r->addr, n->addr);
		break;
	case DIR_TOO_MANY:	/* a group the backend expands itself */
		fail_too_many(r, "group %s expands past the limits",
		    n->key);
		break;
	default:
		fail_temp(r, "directory temporary failure", n->key);
		break;
	}
done:
	free(n->addr);
	free(n->key);
	free(n);
	if (--r->pending == 0)
		request_finish(r);
}

struct dir_request *
directory_resolve(struct directory *d, const char *addr, dir_resolve_cb cb,
    void *arg)
{
	struct dir_request *r;

	r = xcalloc(1, sizeof(*r));
	r->d = directory_ref(d);
	r->cb = cb;
	r->arg = arg;
	r->addr = lowercase(addr);
	r->visited = strmap_new();
	strmap_add(r->visited, r->addr, NULL);
	/* A guard count: a backend that answers at once must not finish the
	 * request under our feet. */
	r->pending = 1;
	node_start(r, r->addr, 0);
	if (--r->pending == 0) {
		request_finish(r);
		return NULL;
	}
	return r;
}

void
directory_cancel(struct dir_request *r)
{
	/* Freed when the last answer in flight arrives. */
	if (r != NULL)
		r->cancelled = 1;
}

void
dir_result_free(struct dir_result *res)
{
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->ntargets; i++) {
		free(res->targets[i].addr);
		free(res->targets[i].host);
	}
	free(res->targets);
	free(res);
}
