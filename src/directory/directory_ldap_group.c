/*
 * directory_ldap_group — groups whose members are DNs (`member-attribute`,
 * Active Directory's `member`; docs/ldap.md): the backend answers such a
 * group as a list of addresses, which the generic layer then resolves
 * like any list.
 *
 * Each member DN is read (a base-scope search, asynchronous like every
 * search: directory_ldap_conn_read).  A member entry that has member DNs
 * itself is a nested group: its DNs are read in turn; any other member
 * entry gives its address, the value of an attribute the filter matches
 * addresses with (directory_ldap_item_addr: `mail` for (mail=%s),
 * "smtp:ADDR" of `proxyAddresses` for (proxyAddresses=smtp:%s)).  The
 * bounds are those of lists: each DN read once (which also ends loops:
 * group A in B in A), DIRECTORY_DEPTH_MAX levels and DIRECTORY_EXPAND_MAX
 * addresses (past either: TOO_MANY, 550 5.4.6), and 4,000 reads for one
 * group at most.  A member DN with no entry (a user deleted since) or no
 * address is skipped with a warning; a read that fails makes the answer
 * TEMPFAIL.  Loop thread only.
 */
#include "directory_ldap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "postern_limits.h"
#include "strmap.h"
#include "xmalloc.h"

#define DL_GROUP_READS_MAX	(4 * DIRECTORY_EXPAND_MAX)

struct dl_group {
	struct dldir	 *dd;
	char		 *key;
	dir_entry_cb	  cb;
	void		 *arg;
	struct strmap	 *seen;		/* DNs and addresses met, lowercase */
	char		**addrs;	/* at most DIRECTORY_EXPAND_MAX */
	size_t		  naddrs;
	size_t		  pending;	/* reads in flight, + 1 while starting */
	size_t		  nreads;
	int		  tempfail;
	int		  too_many;
	char		  why[256];
};

struct dl_read {
	struct dl_group	*g;
	char		*dn;
	int		 depth;		/* of the group the DN is a member of */
};

static char *
lower(const char *s)
{
	char *l = xstrdup(s);

	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

/* 1 if s was not met yet (and is now). */
static int
first_time(struct dl_group *g, const char *prefix, const char *s)
{
	char *l = lower(s), *k;
	int added;

	k = xasprintf("%s%s", prefix, l);
	added = strmap_add(g->seen, k, NULL) == 0;
	free(k);
	free(l);
	return added;
}

static void
too_many(struct dl_group *g, const char *why)
{
	if (g->too_many || g->tempfail)
		return;
	g->too_many = 1;
	snprintf(g->why, sizeof(g->why), "%s", why);
}

static void
add_addr(struct dl_group *g, const char *addr)
{
	if (!first_time(g, "a:", addr))
		return;
	if (g->naddrs >= DIRECTORY_EXPAND_MAX) {
		too_many(g, "group expands to more than 1000 addresses");
		return;
	}
	g->addrs[g->naddrs++] = xstrdup(addr);
}

static void	read_done(void *arg, enum dl_status st,
		    const struct dl_answer *ans, const char *why);

/* The members of group entry re, at depth (1: the group asked for). */
static void
members(struct dl_group *g, const struct dl_rawentry *re, int depth)
{
	const struct dldir *dd = g->dd;
	struct dl_read *rd;
	size_t i, a = dd->alias_attr, m = dd->member_attr;

	for (i = 0; a != DL_NOATTR && i < re->nvals[a]; i++)
		add_addr(g, re->vals[a][i]);
	for (i = 0; i < re->nvals[m] && !g->too_many && !g->tempfail; i++) {
		if (!first_time(g, "d:", re->vals[m][i]))
			continue;	/* each DN once: loops end here */
		if (depth > DIRECTORY_DEPTH_MAX) {
			too_many(g, "group nesting deeper than 10 levels");
			return;
		}
		if (++g->nreads > DL_GROUP_READS_MAX) {
			too_many(g, "group expansion needs more than 4000 "
			    "reads");
			return;
		}
		rd = xcalloc(1, sizeof(*rd));
		rd->g = g;
		rd->dn = xstrdup(re->vals[m][i]);
		rd->depth = depth;
		g->pending++;
		directory_ldap_conn_read(dd->pool, rd->dn, read_done, rd);
	}
}

/* The address of a member entry that is no group. */
static int
entry_addr(const struct dldir *dd, const struct dl_rawentry *re, char *out,
    size_t outlen)
{
	for (size_t k = 0; k < dd->nitems; k++) {
		size_t a = dd->item_attr[k];

		for (size_t j = 0; j < re->nvals[a]; j++)
			if (directory_ldap_item_addr(&dd->items[k],
			    re->vals[a][j], out, outlen) == 0)
				return 0;
	}
	return -1;
}

static void
finish(struct dl_group *g)
{
	struct dir_entry e;
	char **keys;
	size_t i, n = g->naddrs;

	if (g->tempfail) {
		log_warnx("directory ldap: %s: %s", g->key, g->why);
		g->cb(g->arg, DIR_TEMPFAIL, NULL);
	} else if (g->too_many) {
		log_warnx("directory ldap: %s: %s", g->key, g->why);
		g->cb(g->arg, DIR_TOO_MANY, NULL);
	} else {
		keys = directory_ldap_keys(g->key,
		    (const char *const *)g->addrs, &n);
		memset(&e, 0, sizeof(e));
		e.kind = DIR_ENTRY_ALIAS;
		e.members = (const char *const *)keys;
		e.nmembers = n;
		log_debug("directory ldap: %s: group of %zu address(es)",
		    g->key, n);
		g->cb(g->arg, DIR_FOUND, &e);
		for (i = 0; i < n; i++)
			free(keys[i]);
		free(keys);
	}
	for (i = 0; i < g->naddrs; i++)
		free(g->addrs[i]);
	free(g->addrs);
	strmap_free(g->seen, NULL);
	free(g->key);
	free(g);
}

static void
done_one(struct dl_group *g)
{
	if (--g->pending == 0)
		finish(g);
}

static void
read_done(void *arg, enum dl_status st, const struct dl_answer *ans,
    const char *why)
{
	struct dl_read *rd = arg;
	struct dl_group *g = rd->g;
	const struct dl_rawentry *re;
	char addr[LDAP_VALUE_MAX + 1];

	if (g->tempfail || g->too_many)
		goto done;
	if (st != DL_OK) {
		g->tempfail = 1;
		snprintf(g->why, sizeof(g->why), "group member %.100s: %.140s",
		    rd->dn, why ? why : "failed");
		goto done;
	}
	if (ans->n == 0) {
		log_warnx("directory ldap: %s: group member %s has no entry, "
		    "skipped", g->key, rd->dn);
		goto done;
	}
	re = &ans->e[0];
	if (re->nvals[g->dd->member_attr] > 0)
		members(g, re, rd->depth + 1);
	else if (entry_addr(g->dd, re, addr, sizeof(addr)) == 0)
		add_addr(g, addr);
	else
		log_warnx("directory ldap: %s: group member %s has no "
		    "address, skipped", g->key, rd->dn);
done:
	free(rd->dn);
	free(rd);
	done_one(g);
}

void
directory_ldap_group(struct dldir *dd, const char *key,
    const struct dl_rawentry *re, dir_entry_cb cb, void *arg)
{
	struct dl_group *g = xcalloc(1, sizeof(*g));

	g->dd = dd;
	g->key = xstrdup(key);
	g->cb = cb;
	g->arg = arg;
	g->seen = strmap_new();
	g->addrs = xcalloc(DIRECTORY_EXPAND_MAX, sizeof(*g->addrs));
	g->pending = 1;		/* until every first read is sent */
	first_time(g, "d:", re->dn);
	members(g, re, 1);
	done_one(g);
}
