/*
 * conf_milter — the content filters: top-level `milter NAME { socket;
 * timeout; on-failure }` blocks and a virtual server's `milters NAME...`
 * (docs/milter.md).  A socket is a numeric address or a path, never a
 * name to look up: the gateway must not block on DNS to reach a filter.
 */
#include "conf_priv.h"
#include "netaddr.h"
#include "xmalloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MILTERS_MAX	8	/* filters a virtual server runs */
#define MILTER_PATH_MAX	100	/* sun_path holds 108 */

/* "inet:IP:PORT", "inet:[IPv6]:PORT" or "unix:/absolute/path". */
static int
socket_ok(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (strncmp(s, "unix:", 5) == 0)
		return s[5] == '/' && strlen(s + 5) <= MILTER_PATH_MAX;
	if (strncmp(s, "inet:", 5) == 0)
		return strrchr(s + 5, ':') != NULL &&
		    netaddr_parse_hostport(s + 5, 0, &ss, &len) == 0 &&
		    netaddr_port((struct sockaddr *)&ss) != 0;
	return 0;
}

int
conf_h_milter(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;
	struct conf_milter *m;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1 ||
	    conf_val_name(p, st, st->av[0].s, "milter") == -1)
		return -1;
	if ((m = conf_milter_find(c, st->av[0].s)) != NULL)
		return conf_perr(p, st->line, "duplicate milter \"%s\" (first "
		    "at line %d)", m->name, m->line);
	m = xcalloc(1, sizeof(*m));
	c->milters = xreallocarray(c->milters, c->nmilters + 1,
	    sizeof(*c->milters));
	c->milters[c->nmilters++] = m;
	m->name = xstrdup(st->av[0].s);
	m->line = st->line;
	p->newbase = m;
	return conf_defaults(p, &conf_block_milter, m, st->line);
}

static int
h_socket(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_milter *m = base;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1)
		return -1;
	if (!socket_ok(st->av[0].s))
		return conf_perr(p, st->line, "bad milter socket \"%s\" "
		    "(inet:IP:PORT, inet:[IPv6]:PORT or unix:/PATH)",
		    st->av[0].s);
	free(m->socket);
	m->socket = xstrdup(st->av[0].s);
	return 0;
}

int
conf_check_milter(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf_milter *m = f->base;

	p->errline = 0;
	if (m->socket == NULL)
		return conf_perr(p, f->line, "milter \"%s\" needs a socket",
		    m->name);
	return 0;
}

int
conf_h_milters(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_vserver *vs = base;

	(void)pp;
	if (conf_need_args(p, st, 1, MILTERS_MAX) == -1)
		return -1;
	for (size_t i = 0; i < st->ac; i++) {
		if (conf_val_name(p, st, st->av[i].s, "milter") == -1)
			return -1;
		conf_strv_add(&vs->milters, &vs->nmilters,
		    xstrdup(st->av[i].s));
	}
	vs->milters_line = st->line;
	return 0;
}

int
conf_milter_resolve(struct conf_pctx *p)
{
	struct conf *c = p->conf;

	for (size_t i = 0; i < c->nvservers; i++) {
		struct conf_vserver *vs = c->vservers[i];

		if (vs->nmilters == 0)
			continue;
		vs->milter_confs = xcalloc(vs->nmilters,
		    sizeof(*vs->milter_confs));
		for (size_t j = 0; j < vs->nmilters; j++)
			if ((vs->milter_confs[j] = conf_milter_find(c,
			    vs->milters[j])) == NULL)
				return conf_perr(p, vs->milters_line,
				    "unknown milter \"%s\" in \"milters\"",
				    vs->milters[j]);
	}
	return 0;
}

#define MI(f)	offsetof(struct conf_milter, f)
#define FN(h)	.type = CONF_T_FN, .fn = (h)

static const struct conf_word failure_words[] = {
	{ "tempfail", 0 }, { "accept", 1 }, { NULL, 0 }
};

static const struct conf_param milter_params[] = {
	{ "socket", FN(h_socket),
	  .doc = "inet:IP:PORT or unix:/PATH of the filter" },
	{ "timeout", CONF_T_DUR, .min = 1, .max = 3600, .def = "30s",
	  .off = MI(timeout), .doc = "each reply, then on-failure" },
	{ "on-failure", CONF_T_ENUM, .words = failure_words,
	  .def = "tempfail", .off = MI(fail_accept),
	  .doc = "tempfail (451 4.7.1) | accept: a filter down or broken" },
};

CONF_CHECK_TABLE(milter_params);

const struct conf_block conf_block_milter = {
	"milter", "in a milter block", milter_params, nitems(milter_params),
	conf_check_milter
};
