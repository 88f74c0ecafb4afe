/*
 * cluster — see cluster.h.
 */
#include "cluster.h"
#include "kv.h"
#include "log.h"
#include "secretfile.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cluster {
	struct kv		*kv;
	struct cluster_node	*node;
	char			*name;
	char			*address;
};

/* The password read at start, for a reload that may not read it
 * (secretfile.h). */
static struct secretfile_memo password_memo;

struct cluster *
cluster_open(struct event_base *base, const struct cluster_params *p,
    cluster_fill_cb fill, void *arg, char *err, size_t errlen)
{
	struct kv_params kp = { .address = p->redis,
	    .timeout_ms = p->timeout_ms };
	char *password = NULL, kerr[256];
	const char *where = p->where != NULL ? p->where : "cluster";
	struct cluster *c;

	if (p->password_file != NULL && secretfile_read(where,
	    p->password_file, CLUSTER_PASSWORD_MAX, &password_memo, &password,
	    err, errlen) == -1)
		return NULL;
	kp.password = password;
	c = xcalloc(1, sizeof(*c));
	if ((c->kv = kv_open(base, &kp, kerr, sizeof(kerr))) == NULL) {
		snprintf(err, errlen, "%s: %s", where, kerr);
		secretfile_wipe_free(password);
		free(c);
		return NULL;
	}
	secretfile_wipe_free(password);
	c->name = xstrdup(p->node);
	c->address = xstrdup(p->redis);
	c->node = cluster_node_new(base, c->kv, c->name, fill, arg);
	log_info("cluster: node %s, redis at %s", c->name, c->address);
	return c;
}

void
cluster_retire(struct cluster *c)
{
	if (c == NULL)
		return;
	cluster_node_free(c->node);
	c->node = NULL;
}

void
cluster_close(struct cluster *c)
{
	if (c == NULL)
		return;
	cluster_node_free(c->node);
	kv_free(c->kv);
	free(c->name);
	free(c->address);
	free(c);
}

struct kv *
cluster_kv(const struct cluster *c)
{
	return c != NULL ? c->kv : NULL;
}

const char *
cluster_name(const struct cluster *c)
{
	return c != NULL ? c->name : NULL;
}

const char *
cluster_address(const struct cluster *c)
{
	return c != NULL ? c->address : NULL;
}
