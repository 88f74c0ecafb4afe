/*
 * conf — configuration snapshots: load, share, free, look up; see conf.h.
 *
 * A snapshot is built whole by the parser into fresh memory and handed out
 * only if every check passed; on any error it is freed here, so a reload
 * can never leave half a configuration behind.  Everything a snapshot
 * points to belongs to it.  The reference count is atomic so that a
 * snapshot may later be shared by several worker threads.
 * Defaults that depend on other settings (control socket and mailbox store
 * under the spool, the host name) are filled in after the parse.
 */
#include "conf.h"
#include "conf_priv.h"
#include "postern_limits.h"
#include "xmalloc.h"

#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void
conf_strv_add(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct conf_dnslist *
conf_dnslist_add(struct conf *c, const char *name, int line, int unnamed)
{
	struct conf_dnslist *l = xcalloc(1, sizeof(*l));

	l->name = xstrdup(name);
	l->line = line;
	l->unnamed = unnamed;
	c->dnslists = xreallocarray(c->dnslists, c->ndnslists + 1,
	    sizeof(*c->dnslists));
	c->dnslists[c->ndnslists++] = l;
	return l;
}

static void
vserver_free(struct conf_vserver *vs)
{
	struct conf_filter *f = &vs->filter;

	free(vs->name);
	for (size_t i = 0; i < vs->nlisten; i++)
		free(vs->listen[i].text);
	free(vs->listen);
	free(vs->relay_allow);
	free(vs->hostname);
	free(vs->banner);
	free(vs->tls_cert);
	free(vs->tls_key);
	free(vs->auth_file);
	strv_free(f->block_sender, f->nblock_sender);
	free(f->block_senders_file);
	strv_free(f->block_recipient, f->nblock_recipient);
	free(f->block_client);
	free(f->allow_client);
	strv_free(f->dnsbl, f->ndnsbl);
	strv_free(vs->auth.arc_trusted, vs->auth.narc_trusted);
	strv_free(vs->dkim_sign, vs->ndkim_sign);
	free(vs->dkim_sign_keys);
	strv_free(vs->milters, vs->nmilters);
	free(vs->milter_confs);
	free(vs);
}

static void
connector_free(struct conf_connector *cn)
{
	free(cn->name);
	for (size_t i = 0; i < cn->nspaces; i++)
		free(cn->spaces[i].pattern);
	free(cn->spaces);
	free(cn->home_name);
	strv_free(cn->smarthosts, cn->nsmarthosts);
	free(cn->tls_ca);
	free(cn->source);
	free(cn);
}

static void
conf_free(struct conf *c)
{
	struct conf_ldap *l = &c->ldap;

	free(c->path);
	free(c->hostname);
	free(c->spool);
	free(c->user);
	free(c->control);
	free(c->metrics);
	for (size_t i = 0; i < c->ndnslists; i++) {
		free(c->dnslists[i]->name);
		strv_free(c->dnslists[i]->servers, c->dnslists[i]->nservers);
		free(c->dnslists[i]);
	}
	free(c->dnslists);
	strv_free(c->local_domains, c->nlocal_domains);
	free(c->directory_file);
	strv_free(l->uri, l->nuri);
	free(l->base);
	free(l->bind_dn);
	free(l->password_file);
	free(l->filter);
	free(l->host_attribute);
	free(l->alias_attribute);
	free(c->mailbox_store);
	for (size_t i = 0; i < c->nvservers; i++)
		vserver_free(c->vservers[i]);
	free(c->vservers);
	for (size_t i = 0; i < c->nconnectors; i++)
		connector_free(c->connectors[i]);
	free(c->connectors);
	free(c->queue.retry);
	for (size_t i = 0; i < c->ndkim_keys; i++) {
		struct conf_dkim_key *k = c->dkim_keys[i];

		free(k->name);
		free(k->domain);
		free(k->selector);
		free(k->key_file);
		strv_free(k->headers, k->nheaders);
		EVP_PKEY_free(k->pkey);
		free(k);
	}
	free(c->dkim_keys);
	for (size_t i = 0; i < c->nmilters; i++) {
		free(c->milters[i]->name);
		free(c->milters[i]->socket);
		free(c->milters[i]);
	}
	free(c->milters);
	conf_cluster_free(c->cluster);
	free(c);
}

/* Defaults computed from other settings or from the system. */
static void
conf_finish(struct conf *c)
{
	char host[256];

	if (c->hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		c->hostname = xstrdup(host);
	}
	if (c->control == NULL)
		c->control = xasprintf("%s/control.sock", c->spool);
	if (c->mailbox_store == NULL)
		c->mailbox_store = xasprintf("%s/mailboxes", c->spool);
	conf_cluster_finish(c);
}

static int
load_text(const char *name, const char *text, size_t len, struct conf **out,
    char *err, size_t errlen)
{
	struct conf *c;
	struct conf_dnslist *internal;

	*out = NULL;
	if (len > CONF_FILE_MAX) {
		conf_errf(err, errlen, name, 0, "file too large (more than %d "
		    "bytes)", CONF_FILE_MAX);
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->refcnt = 1;
	c->path = xstrdup(name);
	internal = conf_dnslist_add(c, "internal", 0, 0);
	internal->use_resolv_conf = 1;
	if (conf_parse(c, name, text, len, err, errlen) == -1) {
		conf_free(c);
		return -1;
	}
	conf_finish(c);
	*out = c;
	return 0;
}

int
conf_load_string(const char *name, const char *text, struct conf **out,
    char *err, size_t errlen)
{
	return load_text(name, text, strnlen(text, CONF_FILE_MAX + 1), out,
	    err, errlen);
}

int
conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_errf(err, errlen, path, 0, "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_errf(err, errlen, path, 0, "not a regular file");
		close(fd);
		return -1;
	}
	/* One byte more than the limit tells a file that is too large. */
	text = xmalloc(CONF_FILE_MAX + 1);
	while (len < CONF_FILE_MAX + 1) {
		n = read(fd, text + len, CONF_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			conf_errf(err, errlen, path, 0, "read: %s",
			    strerror(errno));
			free(text);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	rc = load_text(path, text, len, out, err, errlen);
	free(text);
	return rc;
}

struct conf *
conf_ref(struct conf *c)
{
	__atomic_add_fetch(&c->refcnt, 1, __ATOMIC_RELAXED);
	return c;
}

void
conf_unref(struct conf *c)
{
	if (c == NULL)
		return;
	if (__atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		conf_free(c);
}

struct conf_vserver *
conf_vserver_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nvservers; i++)
		if (strcmp(c->vservers[i]->name, name) == 0)
			return c->vservers[i];
	return NULL;
}

struct conf_connector *
conf_connector_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nconnectors; i++)
		if (strcmp(c->connectors[i]->name, name) == 0)
			return c->connectors[i];
	return NULL;
}

struct conf_milter *
conf_milter_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nmilters; i++)
		if (strcmp(c->milters[i]->name, name) == 0)
			return c->milters[i];
	return NULL;
}

struct conf_dkim_key *
conf_dkim_key_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->ndkim_keys; i++)
		if (strcmp(c->dkim_keys[i]->name, name) == 0)
			return c->dkim_keys[i];
	return NULL;
}

struct conf_dnslist *
conf_dnslist_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->ndnslists; i++)
		if (!c->dnslists[i]->unnamed &&
		    strcmp(c->dnslists[i]->name, name) == 0)
			return c->dnslists[i];
	return NULL;
}

int
conf_is_local_domain(const struct conf *c, const char *domain)
{
	for (size_t i = 0; i < c->nlocal_domains; i++)
		if (strcasecmp(c->local_domains[i], domain) == 0)
			return 1;
	return 0;
}
