/*
 * conf_cluster — the `cluster { redis; password-file; node; timeout }`
 * block (SPEC section 9, docs/scale-out.md): where the store the gateways
 * share is, and this gateway's name in it.  The address is an IP and
 * port or a Unix socket, never a name to look up: the gateway must not
 * block on DNS to reach its store.  The password file is only named here;
 * posternd reads it (before dropping privileges at start).
 */
#include "conf_priv.h"
#include "netaddr.h"
#include "xmalloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_PATH_MAX	100	/* sun_path holds 108 */

/* "unix:/absolute/path", "IP:PORT" or "[IPv6]:PORT". */
static int
address_ok(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (strncmp(s, "unix:", 5) == 0)
		return s[5] == '/' && strlen(s + 5) <= CLUSTER_PATH_MAX;
	return strrchr(s, ':') != NULL && (s[0] == '[' ||
	    strchr(s, ':') == strrchr(s, ':')) &&
	    netaddr_parse_hostport(s, 0, &ss, &len) == 0 &&
	    netaddr_port((struct sockaddr *)&ss) != 0;
}

int
conf_h_cluster(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;

	(void)pp;
	if (conf_need_args(p, st, 0, 0) == -1)
		return -1;
	c->cluster = xcalloc(1, sizeof(*c->cluster));
	c->cluster->line = st->line;
	p->newbase = c->cluster;
	return conf_defaults(p, &conf_block_cluster, c->cluster, st->line);
}

static int
h_redis(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_cluster *cl = base;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1)
		return -1;
	if (!address_ok(st->av[0].s))
		return conf_perr(p, st->line, "bad redis address \"%s\" "
		    "(unix:/PATH, IP:PORT or [IPv6]:PORT; not a name)",
		    st->av[0].s);
	free(cl->redis);
	cl->redis = xstrdup(st->av[0].s);
	return 0;
}

static int
h_node(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_cluster *cl = base;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1 ||
	    conf_val_name(p, st, st->av[0].s, "node") == -1)
		return -1;
	free(cl->node);
	cl->node = xstrdup(st->av[0].s);
	return 0;
}

int
conf_check_cluster(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf_cluster *cl = f->base;

	p->errline = 0;
	if (cl->redis == NULL)
		return conf_perr(p, f->line, "cluster needs a \"redis\" "
		    "address");
	return 0;
}

/* The node's name defaults to the gateway's host name (`hostname`, or
 * the system's). */
void
conf_cluster_finish(struct conf *c)
{
	if (c->cluster != NULL && c->cluster->node == NULL)
		c->cluster->node = xstrdup(c->hostname);
}

void
conf_cluster_free(struct conf_cluster *cl)
{
	if (cl == NULL)
		return;
	free(cl->redis);
	free(cl->password_file);
	free(cl->node);
	free(cl);
}

/* Is the cluster block of a the same as b's (posternd: reopen or not)? */
int
conf_cluster_equal(const struct conf_cluster *a, const struct conf_cluster *b)
{
	if (a == NULL || b == NULL)
		return a == b;
#define SAME(f)	((a->f == NULL && b->f == NULL) || \
	(a->f != NULL && b->f != NULL && strcmp(a->f, b->f) == 0))
	return SAME(redis) && SAME(password_file) && SAME(node) &&
	    a->timeout_ms == b->timeout_ms;
#undef SAME
}

#define CL(f)	offsetof(struct conf_cluster, f)
#define FN(h)	.type = CONF_T_FN, .fn = (h)

static const struct conf_param cluster_params[] = {
	{ "redis", FN(h_redis),
	  .doc = "unix:/PATH, IP:PORT or [IPv6]:PORT of the shared Redis" },
	{ "password-file", CONF_T_PATH, .off = CL(password_file),
	  .doc = "Redis AUTH password, read before dropping privileges" },
	{ "node", FN(h_node),
	  .doc = "this gateway's name (default: the host name)" },
	{ "timeout", CONF_T_DUR_MS, .min = 10, .max = 60 * 1000,
	  .def = "250ms", .off = CL(timeout_ms),
	  .doc = "per request; past it the node decides alone" },
};

CONF_CHECK_TABLE(cluster_params);

const struct conf_block conf_block_cluster = {
	"cluster", "in a cluster block", cluster_params,
	nitems(cluster_params), conf_check_cluster
};
