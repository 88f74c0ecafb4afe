/*
 * directory_ldap — the `directory ldap { }` backend (postern.conf(5),
 * docs/ldap.md): what to ask an LDAP server for a key, and what its
 * entries mean.
 *
 * The key's values go into the configured filter escaped per RFC 4515, so
 * no address can change the filter.  One search per key; the entries found
 * become one answer (directory_ldap_classify): an alias-attribute list, a
 * host-attribute mailbox server, nothing, or a temporary failure (an
 * address found twice, every uri failing).  The generic layer does the
 * catch-all, the recursion and the cache.  The connections live in
 * directory_ldap_conn.c; they start at the first lookup, on the event base
 * given with directory_attach().  The password file is read at open, i.e.
 * before privileges are dropped at start.
 */
#include "directory_ldap.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "secretfile.h"
#include "xmalloc.h"

struct dl_lookup {
	struct dldir	*dd;
	char		*key;
	dir_entry_cb	 cb;
	void		*arg;
};

/* ---- pure helpers ---- */

size_t
directory_ldap_escape(const char *in, size_t inlen, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0, w = 0;		/* needed, written */
	unsigned char ch;

	for (i = 0; i < inlen; i++) {
		ch = (unsigned char)in[i];
		if (ch != ' ' && (ch < 0x21 || ch > 0x7e || ch == '*' ||
		    ch == '(' || ch == ')' || ch == '\\')) {
			if (w == n && n + 3 < outlen) {
				out[w++] = '\\';
				out[w++] = hex[ch >> 4];
				out[w++] = hex[ch & 15];
			}
			n += 3;
		} else {
			if (w == n && n + 1 < outlen)
				out[w++] = (char)ch;
			n++;
		}
	}
	if (outlen > 0)
		out[w] = '\0';
	return n;
}

/* Split a key into local part and domain (local empty for "@domain"). */
static void
key_split(const char *key, const char **local, size_t *llen,
    const char **domain)
{
	const char *at = strrchr(key, '@');

	*local = key;
	*llen = at ? (size_t)(at - key) : strlen(key);
	*domain = at ? at + 1 : "";
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* One byte into out, if it fits (n counts what would be needed). */
#define PUT(ch) do {							\
	if (n + 1 < outlen)						\
		out[n] = (ch);						\
	n++;								\
} while (0)

/*
 * The template with the key put in: escaped for a filter, or raw (and the
 * template's own \XX decoded) for comparing with a value.  0, or -1 if it
 * does not fit in outlen (> 0).
 */
static int
subst(const char *t, size_t tlen, const char *key, int escape, char *out,
    size_t outlen)
{
	const char *local, *domain, *v;
	size_t llen, vlen = 0, n = 0, i;
	int hi, lo;

	key_split(key, &local, &llen, &domain);
	for (i = 0; i < tlen; i++) {
		if (t[i] == '%' && i + 1 < tlen) {
			switch (t[++i]) {
			case 's':
				v = key, vlen = strlen(key);
				break;
			case 'u':
				v = local, vlen = llen;
				break;
			case 'd':
				v = domain, vlen = strlen(domain);
				break;
			default:	/* %% (the only other one allowed) */
				v = NULL;
				PUT('%');
				break;
			}
			if (v != NULL && escape)
				n += directory_ldap_escape(v, vlen, out + n,
				    n < outlen ? outlen - n : 0);
			else if (v != NULL) {
				if (n + vlen < outlen)
					memcpy(out + n, v, vlen);
				n += vlen;
			}
		} else if (!escape && t[i] == '\\' && i + 2 < tlen &&
		    (hi = hexval(t[i + 1])) >= 0 &&
		    (lo = hexval(t[i + 2])) >= 0) {
			PUT((char)(hi * 16 + lo));
			i += 2;
		} else
			PUT(t[i]);
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}

#undef PUT

int
directory_ldap_filter(const char *tmpl, const char *key, char *out,
    size_t outlen)
{
	if (outlen == 0)
		return -1;
	return subst(tmpl, strlen(tmpl), key, 1, out, outlen);
}

static int
attr_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == ';';
}

size_t
directory_ldap_items(const char *tmpl, struct dl_item *items, size_t max)
{
	const char *p, *a, *v, *end;
	size_t n = 0;

	for (p = tmpl; (p = strchr(p, '(')) != NULL && n < max; p++) {
		for (a = p + 1; attr_char(*a); a++)
			;
		if (a == p + 1 || *a != '=')
			continue;	/* not "(attr=", or ~= <= >= := */
		v = a + 1;
		if ((end = strchr(v, ')')) == NULL)
			break;
		if (memchr(v, '(', (size_t)(end - v)) != NULL ||
		    memchr(v, '*', (size_t)(end - v)) != NULL)
			continue;	/* a substring filter is no address */
		if (memmem(v, (size_t)(end - v), "%s", 2) == NULL &&
		    memmem(v, (size_t)(end - v), "%u", 2) == NULL)
			continue;	/* no local part: a catch-all */
		items[n].attr = xstrndup(p + 1, (size_t)(a - p - 1));
		items[n].tmpl = xstrndup(v, (size_t)(end - v));
		n++;
	}
	return n;
}

void
directory_ldap_items_free(struct dl_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].attr);
		free(items[i].tmpl);
	}
}

int
directory_ldap_item_match(const struct dl_item *it, const char *key,
    const char *value)
{
	char want[LDAP_FILTER_MAX];

	if (subst(it->tmpl, strlen(it->tmpl), key, 0, want,
	    sizeof(want)) == -1)
		return 0;
	return strcasecmp(want, value) == 0;
}

int
directory_ldap_item_addr(const struct dl_item *it, const char *value,
    char *out, size_t outlen)
{
	char tmpl[LDAP_VALUE_MAX + 1];
	const char *pct;
	size_t plen, slen, vlen = strlen(value), alen;

	/* The template decoded, "%s" kept: subst() with an empty key would
	 * lose where the address goes. */
	if ((pct = strstr(it->tmpl, "%s")) == NULL ||
	    strstr(pct + 2, "%s") != NULL || strstr(it->tmpl, "%u") ||
	    strstr(it->tmpl, "%d"))
		return -1;
	if (subst(it->tmpl, (size_t)(pct - it->tmpl), "", 0, tmpl,
	    sizeof(tmpl)) == -1)
		return -1;
	plen = strlen(tmpl);
	if (subst(pct + 2, strlen(pct + 2), "", 0, tmpl + plen,
	    sizeof(tmpl) - plen) == -1)
		return -1;
	slen = strlen(tmpl + plen);
	if (vlen <= plen + slen || strncasecmp(value, tmpl, plen) != 0 ||
	    strcasecmp(value + vlen - slen, tmpl + plen) != 0)
		return -1;
	alen = vlen - plen - slen;
	if (alen >= outlen || memchr(value + plen, '@', alen) == NULL)
		return -1;
	memcpy(out, value + plen, alen);
	out[alen] = '\0';
	return 0;
}

int
directory_ldap_host(const char *value, char *out, size_t outlen)
{
	const char *p, *cn = NULL;
	size_t i, n;

	if (strcasecmp(value, "local") == 0) {
		snprintf(out, outlen, "local");
		return 0;
	}
	if (strncasecmp(value, "/o=", 3) == 0) {
		/* Exchange legacy DN: the server is the last /cn=. */
		for (p = value; (p = strchr(p, '/')) != NULL; p++)
			if (strncasecmp(p, "/cn=", 4) == 0)
				cn = p + 4;
		if (cn == NULL)
			return -1;
		value = cn;
	}
	n = strlen(value);
	if (n == 0 || n >= outlen)
		return -1;
	for (i = 0; i <= n; i++)
		out[i] = (value[i] >= 'A' && value[i] <= 'Z') ?
		    (char)(value[i] - 'A' + 'a') : value[i];
	return directory_host_valid(out) ? 0 : -1;
}

int
directory_ldap_pick(const struct dl_found *f, size_t n)
{
	size_t i, nexact = 0;
	int pick = -1;

	if (n == 1)
		return 0;
	for (i = 0; i < n; i++)
		if (f[i].exact) {
			nexact++;
			pick = (int)i;
		}
	return nexact == 1 ? pick : -1;
}

enum dir_status
directory_ldap_classify(const struct dl_found *f, size_t n,
    struct dir_entry *e, char *hostbuf, size_t hostlen, char *why,
    size_t whylen)
{
	int pick;

	memset(e, 0, sizeof(*e));
	if (n == 0) {
		snprintf(why, whylen, "no entry");
		return DIR_NOTFOUND;
	}
	if ((pick = directory_ldap_pick(f, n)) == -1) {
		snprintf(why, whylen, "found %zu times (%.100s and %.100s)",
		    n, f[0].dn ? f[0].dn : "?", f[1].dn ? f[1].dn : "?");
		return DIR_TEMPFAIL;
	}
	f += pick;
	if (f->nmembers > 0) {
		e->kind = DIR_ENTRY_ALIAS;
		e->members = f->members;
		e->nmembers = f->nmembers;
		snprintf(why, whylen, "list %.200s of %zu member(s)",
		    f->dn ? f->dn : "?", f->nmembers);
		return DIR_FOUND;
	}
	if (f->host == NULL) {
		snprintf(why, whylen, "entry %.200s has no mailbox server",
		    f->dn ? f->dn : "?");
		return DIR_NOTFOUND;
	}
	if (directory_ldap_host(f->host, hostbuf, hostlen) == -1) {
		snprintf(why, whylen, "entry %.200s names a bad mailbox "
		    "server \"%.100s\"", f->dn ? f->dn : "?", f->host);
		return DIR_TEMPFAIL;
	}
	e->kind = DIR_ENTRY_MAILBOX;
	e->host = hostbuf;
	snprintf(why, whylen, "entry %.200s: mailbox on %s",
	    f->dn ? f->dn : "?", hostbuf);
	return DIR_FOUND;
}

enum dl_rc
directory_ldap_rc(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return DL_RC_OK;
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_UNWILLING_TO_PERFORM:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
	case LDAP_OTHER:
	case LDAP_SERVER_DOWN:
	case LDAP_TIMEOUT:
	case LDAP_CONNECT_ERROR:
	case LDAP_LOCAL_ERROR:
	case LDAP_LOOP_DETECT:
		return DL_RC_NEXT;
	default:	/* sizelimit (found too often), no such base, access
			   rights, referrals...: this key has no answer now */
		return DL_RC_FAIL;
	}
}

/* ---- the backend ---- */

/* The password read at start, as root, for a reload (as the run user)
 * that may not read the file again (secretfile.h). */
static struct secretfile_memo password_memo;

/* Add an attribute to the search's list once; its index. */
static size_t
attr_index(struct dl_settings *s, const char *name)
{
	for (size_t i = 0; i < s->nattrs; i++)
		if (strcasecmp(s->attrs[i], name) == 0)
			return i;
	s->attrs[s->nattrs] = xstrdup(name);
	return s->nattrs++;
}

static void
dldir_free(struct dldir *dd)
{
	size_t i;

	directory_ldap_conn_free(dd->pool);
	for (i = 0; i < dd->s.nuris; i++)
		free(dd->s.uris[i]);
	free(dd->s.uris);
	free(dd->s.base);
	free(dd->s.bind_dn);
	free(dd->s.tls_ca);
	if (dd->s.password) {
		explicit_bzero(dd->s.password, strlen(dd->s.password));
		free(dd->s.password);
	}
	for (i = 0; i < dd->s.nattrs; i++)
		free(dd->s.attrs[i]);
	directory_ldap_items_free(dd->items, dd->nitems);
	free(dd->filter);
	free(dd);
}

static int
ldap_open(struct directory *d, const struct conf *c, char *err,
    size_t errlen)
{
	const struct conf_ldap *l = &c->ldap;
	char where[CONF_ERR_MAX];
	LDAPURLDesc *lud;
	struct dldir *dd;
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND;
	size_t i;

	snprintf(where, sizeof(where), "%s:%d", c->path ? c->path :
	    "postern.conf", l->line);
	if (l->nuri == 0 || l->base == NULL || l->host_attribute == NULL ||
	    l->filter == NULL) {
		snprintf(err, errlen, "%s: directory ldap needs uri, base, "
		    "filter and host-attribute", where);
		return -1;
	}
	/*
	 * libldap's global state is set up here, on the main thread, before
	 * any connect thread exists.  Its TLS context (which connections
	 * share: per-connection ones would lose the CA settings) checks
	 * certificates whatever ldap.conf says; the CA is the system store,
	 * or ldap.conf's TLS_CACERT, or $LDAPTLS_CACERT.
	 */
	ldap_set_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(NULL, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	dd = xcalloc(1, sizeof(*dd));
	dd->s.uris = xcalloc(l->nuri, sizeof(*dd->s.uris));
	for (i = 0; i < l->nuri; i++) {
		if (ldap_url_parse(l->uri[i], &lud) != LDAP_URL_SUCCESS) {
			snprintf(err, errlen, "%s: bad LDAP uri \"%s\"", where,
			    l->uri[i]);
			goto fail;
		}
		ldap_free_urldesc(lud);
		dd->s.uris[dd->s.nuris++] = xstrdup(l->uri[i]);
	}
	dd->s.base = xstrdup(l->base);
	dd->s.starttls = l->starttls;
	/* Read at each connect, as `user`: here only that it exists (a
	 * bundle root alone may read is the connect's failure, logged). */
	if (l->tls_ca != NULL && access(l->tls_ca, F_OK) == -1) {
		snprintf(err, errlen, "%s: tls-ca %s: %s", where, l->tls_ca,
		    strerror(errno));
		goto fail;
	}
	dd->s.tls_ca = l->tls_ca ? xstrdup(l->tls_ca) : NULL;
	dd->s.timeout = l->timeout ? l->timeout : 5;
	if (l->bind_dn != NULL) {
		dd->s.bind_dn = xstrdup(l->bind_dn);
		if (l->password_file == NULL) {
			snprintf(err, errlen, "%s: bind-dn needs a "
			    "password-file", where);
			goto fail;
		}
		if (secretfile_read(where, l->password_file, LDAP_PASSWORD_MAX,
		    &password_memo, &dd->s.password,
		    err, errlen) == -1)
			goto fail;
	}
	dd->filter = xstrdup(l->filter);
	attr_index(&dd->s, l->host_attribute);
	dd->alias_attr = dd->member_attr = DL_NOATTR;
	if (l->alias_attribute != NULL &&
	    attr_index(&dd->s, l->alias_attribute) != 0)
		dd->alias_attr = attr_index(&dd->s, l->alias_attribute);
	if (l->member_attribute != NULL &&
	    attr_index(&dd->s, l->member_attribute) != 0 &&
	    attr_index(&dd->s, l->member_attribute) != dd->alias_attr)
		dd->member_attr = attr_index(&dd->s, l->member_attribute);
	dd->nitems = directory_ldap_items(dd->filter, dd->items,
	    LDAP_FILTER_ITEMS_MAX);
	for (i = 0; i < dd->nitems; i++)
		dd->item_attr[i] = attr_index(&dd->s, dd->items[i].attr);
	d->priv = dd;
	d->cache_ttl = l->cache;
	return 0;
fail:
	dldir_free(dd);
	return -1;
}

char **
directory_ldap_keys(const char *key, const char *const *vals, size_t *np)
{
	char **out, buf[ADDR_PATH_MAX * 4];
	struct addr a;
	size_t i, n = 0;

	out = xcalloc(*np ? *np : 1, sizeof(*out));
	for (i = 0; i < *np; i++) {
		if (addr_parse_mailbox(vals[i], strlen(vals[i]), ADDR_F_UTF8,
		    &a) != ADDR_OK) {
			log_warnx("directory ldap: %s: list member \"%.200s\" "
			    "is not an address, skipped", key, vals[i]);
			continue;
		}
		out[n++] = xstrdup(addr_format_key(&a, buf, sizeof(buf)));
	}
	*np = n;
	return out;
}

static void
answered(void *arg, enum dl_status st, const struct dl_answer *ans,
    const char *why)
{
	struct dl_lookup *lk = arg;
	struct dldir *dd = lk->dd;
	struct dl_found found[LDAP_ENTRIES_MAX];
	struct dir_entry e;
	enum dir_status ds;
	char host[ADDR_DOMAIN_MAX + 16], text[512], **members = NULL;
	size_t i, k, n;
	int pick;

	if (st != DL_OK) {
		log_warnx("directory ldap: %s: %s", lk->key, why);
		lk->cb(lk->arg, DIR_TEMPFAIL, NULL);
		goto done;
	}
	n = ans->n < LDAP_ENTRIES_MAX ? ans->n : LDAP_ENTRIES_MAX;
	memset(found, 0, sizeof(found));
	for (i = 0; i < n; i++) {
		const struct dl_rawentry *re = &ans->e[i];

		found[i].dn = re->dn;
		found[i].host = re->nvals[0] ? re->vals[0][0] : NULL;
		if (dd->alias_attr != DL_NOATTR) {
			found[i].members =
			    (const char *const *)re->vals[dd->alias_attr];
			found[i].nmembers = re->nvals[dd->alias_attr];
		}
		for (k = 0; k < dd->nitems && !found[i].exact; k++) {
			size_t a = dd->item_attr[k];

			for (size_t j = 0; j < re->nvals[a]; j++)
				if (directory_ldap_item_match(&dd->items[k],
				    lk->key, re->vals[a][j]))
					found[i].exact = 1;
		}
	}
	pick = directory_ldap_pick(found, n);
	if (n > 0 && pick >= 0 && dd->member_attr != DL_NOATTR &&
	    ans->e[pick].nvals[dd->member_attr] > 0) {
		/* A group: its member entries are read (it answers). */
		log_debug("directory ldap: %s: group %s of %zu member DN(s)",
		    lk->key, ans->e[pick].dn, ans->e[pick].nvals[
		    dd->member_attr]);
		directory_ldap_group(dd, lk->key, &ans->e[pick], lk->cb,
		    lk->arg);
		goto done;
	}
	ds = directory_ldap_classify(found, n, &e, host, sizeof(host), text,
	    sizeof(text));
	if (ds == DIR_TEMPFAIL)
		log_warnx("directory ldap: %s: %s", lk->key, text);
	else
		log_debug("directory ldap: %s: %s", lk->key, text);
	if (ds == DIR_FOUND && e.kind == DIR_ENTRY_ALIAS) {
		members = directory_ldap_keys(lk->key, e.members,
		    &e.nmembers);
		e.members = (const char *const *)members;
	}
	lk->cb(lk->arg, ds, ds == DIR_FOUND ? &e : NULL);
	for (i = 0; members != NULL && i < e.nmembers; i++)
		free(members[i]);
	free(members);
done:
	free(lk->key);
	free(lk);
}

static void
ldap_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	struct dldir *dd = d->priv;
	struct dl_lookup *lk;
	char filter[LDAP_FILTER_MAX];

	if (directory_ldap_filter(dd->filter, key, filter,
	    sizeof(filter)) == -1) {
		log_warnx("directory ldap: %s: the filter would be longer "
		    "than %d bytes", key, LDAP_FILTER_MAX);
		cb(arg, DIR_TEMPFAIL, NULL);
		return;
	}
	if (dd->pool == NULL) {
		if (d->base == NULL) {
			log_warnx("directory ldap: %s: no event loop attached",
			    key);
			cb(arg, DIR_TEMPFAIL, NULL);
			return;
		}
		dd->pool = directory_ldap_conn_new(&dd->s, d);
	}
	lk = xcalloc(1, sizeof(*lk));
	lk->dd = dd;
	lk->key = xstrdup(key);
	lk->cb = cb;
	lk->arg = arg;
	directory_ldap_conn_search(dd->pool, filter, answered, lk);
}

static void
ldap_close(struct directory *d)
{
	if (d->priv != NULL)
		dldir_free(d->priv);
	d->priv = NULL;
}

const struct directory_backend directory_backend_ldap = {
	"ldap", ldap_open, ldap_lookup, ldap_close
};
