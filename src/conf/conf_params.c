/*
 * conf_params — the keywords of postern.conf: one table per block
 * and the handlers of the statements whose values have a grammar of their
 * own (DNS lists, directory, address spaces, routes).  The virtual-server
 * and filter blocks are in conf_vserver.c.
 *
 * A row says how its values are read, where they go, their bounds and their
 * default as it would be written in the file; the same rows serve the
 * parser, the defaults and, later, the documentation and a `show config`.
 * Handlers only read and store: checks that need the whole block or the
 * whole file are in conf_check.c.
 */
#include "conf_priv.h"
#include "postern_limits.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The text of a DNS server: "ip:port" / "[ip6]:port", the port always. */
static int
dns_servers(struct conf_pctx *p, const struct conf_stmt *st,
    struct conf_dnslist *l, size_t first)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[NETADDR_STRLEN];

	for (size_t i = first; i < st->ac; i++) {
		if (netaddr_parse_hostport(st->av[i].s, 53, &ss, &len) == -1)
			return conf_perr(p, st->line, "bad DNS server address "
			    "\"%s\" (" CONF_ADDR_USAGE ")", st->av[i].s);
		netaddr_ntop_port((struct sockaddr *)&ss, buf, sizeof(buf));
		conf_strv_add(&l->servers, &l->nservers, xstrdup(buf));
	}
	return 0;
}

/*
 * Wherever a list is expected: one word that is not an address names a
 * list, resolved once the whole file is read (dns-list may come later);
 * otherwise the words are the servers of a new unnamed list called after
 * its role.
 */
int
conf_dns_ref(struct conf_pctx *p, const struct conf_stmt *st,
    struct conf_dnslist **slot, const char *role)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct conf_dnsref *r;

	if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
		return -1;
	if (st->ac == 1 &&
	    netaddr_parse_hostport(st->av[0].s, 53, &ss, &len) == -1) {
		if (conf_val_name(p, st, st->av[0].s, "DNS list") == -1)
			return -1;
		p->refs = xreallocarray(p->refs, p->nrefs + 1,
		    sizeof(*p->refs));
		r = &p->refs[p->nrefs++];
		r->slot = slot;
		r->name = xstrdup(st->av[0].s);
		r->line = st->line;
		return 0;
	}
	*slot = conf_dnslist_add(p->conf, role, st->line, 1);
	return dns_servers(p, st, *slot, 0);
}

/* ---- top level ---- */

static int
h_dns(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;
	struct conf_dnslist *l = c->dnslists[0];

	(void)pp;
	if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
		return -1;
	l->use_resolv_conf = 0;
	l->line = st->line;
	return dns_servers(p, st, l, 0);
}

static int
h_dnslist(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;
	struct conf_dnslist *l;
	struct sockaddr_storage ss;
	socklen_t len;
	const char *name;

	(void)pp;
	if (st->ac < 2 ||
	    netaddr_parse_hostport(st->av[0].s, 53, &ss, &len) == 0)
		return conf_perr(p, st->line, "\"dns-list\" takes NAME "
		    "SERVER...");
	if (conf_need_args(p, st, 2, SIZE_MAX) == -1)
		return -1;
	name = st->av[0].s;
	if (conf_val_name(p, st, name, "DNS list") == -1)
		return -1;
	if (strcmp(name, "internal") == 0)
		return conf_perr(p, st->line, "the DNS list name \"internal\" "
		    "is reserved (it is the top-level \"dns\" list)");
	if ((l = conf_dnslist_find(c, name)) != NULL)
		return conf_perr(p, st->line, "duplicate DNS list \"%s\" "
		    "(first at line %d)", name, l->line);
	l = conf_dnslist_add(c, name, st->line, 0);
	return dns_servers(p, st, l, 1);
}

static int
h_local_domain(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;
	char *d = NULL;

	(void)pp;
	if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
		return -1;
	for (size_t i = 0; i < st->ac; i++) {
		if (conf_val_domain(p, st, st->av[i].s, "domain", &d) == -1)
			return -1;
		if (conf_is_local_domain(c, d)) {
			free(d);
			return conf_perr(p, st->line, "duplicate local-domain "
			    "\"%s\"", st->av[i].s);
		}
		conf_strv_add(&c->local_domains, &c->nlocal_domains, d);
	}
	if (c->local_domain_line == 0)
		c->local_domain_line = st->line;
	return 0;
}

static int
h_directory(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;

	(void)pp;
	if (!st->opens && st->ac == 2 && strcmp(st->av[0].s, "file") == 0 &&
	    st->av[1].s[0] != '\0') {
		c->directory = DIR_FILE;
		c->directory_file = xstrdup(st->av[1].s);
		c->directory_line = st->line;
		return 0;
	}
	if (st->opens && st->ac == 1 && strcmp(st->av[0].s, "ldap") == 0) {
		c->directory = DIR_LDAP;
		c->directory_line = c->ldap.line = st->line;
		p->newbase = &c->ldap;
		return 0;
	}
	return conf_perr(p, st->line, "\"directory\" takes \"file PATH\" or "
	    "\"ldap {\"");
}

static int
h_metrics(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;
	struct sockaddr_storage ss;
	socklen_t len;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1)
		return -1;
	if (netaddr_parse_hostport(st->av[0].s, 0, &ss, &len) == -1)
		return conf_perr(p, st->line, "\"metrics\" takes ADDRESS:PORT "
		    "(IPv4:port or [IPv6]:port)");
	c->metrics = xstrdup(st->av[0].s);
	return 0;
}

static int
h_vserver(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;
	struct conf_vserver *vs;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1 ||
	    conf_val_name(p, st, st->av[0].s, "virtual-server") == -1)
		return -1;
	if ((vs = conf_vserver_find(c, st->av[0].s)) != NULL)
		return conf_perr(p, st->line, "duplicate virtual-server "
		    "\"%s\" (first at line %d)", vs->name, vs->line);
	vs = xcalloc(1, sizeof(*vs));
	c->vservers = xreallocarray(c->vservers, c->nvservers + 1,
	    sizeof(*c->vservers));
	c->vservers[c->nvservers++] = vs;
	vs->name = xstrdup(st->av[0].s);
	vs->line = st->line;
	vs->dns = c->dnslists[0];
	p->newbase = vs;
	if (conf_defaults(p, &conf_block_vserver, vs, st->line) == -1)
		return -1;
	return conf_defaults(p, &conf_block_filter, &vs->filter, st->line);
}

static int
h_connector(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf *c = base;
	struct conf_connector *cn;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1 ||
	    conf_val_name(p, st, st->av[0].s, "connector") == -1)
		return -1;
	if ((cn = conf_connector_find(c, st->av[0].s)) != NULL)
		return conf_perr(p, st->line, "duplicate connector \"%s\" "
		    "(first at line %d)", cn->name, cn->line);
	cn = xcalloc(1, sizeof(*cn));
	c->connectors = xreallocarray(c->connectors, c->nconnectors + 1,
	    sizeof(*c->connectors));
	c->connectors[c->nconnectors++] = cn;
	cn->name = xstrdup(st->av[0].s);
	cn->line = st->line;
	cn->route = ROUTE_DNS;
	p->newbase = cn;
	return conf_defaults(p, &conf_block_connector, cn, st->line);
}

static int
h_queue(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	(void)pp;
	if (conf_need_args(p, st, 0, 0) == -1)
		return -1;
	p->newbase = &((struct conf *)base)->queue;
	return 0;
}

/* ---- connector ---- */

static int
h_addrspace(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_connector *cn = base;
	struct conf_addrspace as = { .cost = 1, .line = st->line };
	const char *pat;
	uint64_t cost;
	int have_cost = 0;

	(void)pp;
	if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
		return -1;
	pat = st->av[0].s;
	if (strcmp(pat, "*") != 0 &&
	    !conf_is_domain(strncmp(pat, "*.", 2) == 0 ? pat + 2 : pat))
		return conf_perr(p, st->line, "bad address-space \"%s\" (*, "
		    "DOMAIN or *.DOMAIN)", pat);
	for (size_t i = 1; i < st->ac; i++) {
		const char *w = st->av[i].s;

		if (strcmp(w, "relay") == 0 && !as.relay)
			as.relay = 1;
		else if (strcmp(w, "cost") == 0 && !have_cost &&
		    i + 1 < st->ac) {
			if (conf_val_uint(p, st, st->av[++i].s, 0, 1000000,
			    &cost) == -1)
				return -1;
			as.cost = (unsigned)cost;
			have_cost = 1;
		} else
			return conf_perr(p, st->line, "\"address-space\" "
			    "takes PATTERN [cost N] [relay]");
	}
	if (as.relay && strcmp(pat, "*") == 0)
		return conf_perr(p, st->line, "address-space \"*\" cannot be "
		    "\"relay\": that would relay for anyone to anywhere (an "
		    "open relay)");
	for (size_t i = 0; i < cn->nspaces; i++)
		if (strcasecmp(cn->spaces[i].pattern, pat) == 0)
			return conf_perr(p, st->line, "duplicate address-space "
			    "\"%s\" (first at line %d)", pat,
			    cn->spaces[i].line);
	as.pattern = xstrdup(pat);
	for (char *q = as.pattern; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	cn->spaces = xreallocarray(cn->spaces, cn->nspaces + 1, sizeof(as));
	cn->spaces[cn->nspaces++] = as;
	return 0;
}

static int
h_home(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_connector *cn = base;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1 ||
	    conf_val_name(p, st, st->av[0].s, "virtual-server") == -1)
		return -1;
	cn->home_name = xstrdup(st->av[0].s);
	cn->home_line = st->line;
	return 0;
}

/* [IP]:port, [IP], [name], [name]:port, name, name:port, IPv4[:port]. */
static int
valid_smarthost(const char *s)
{
	char host[ADDR_DOMAIN_MAX + 1];
	const char *end, *port = NULL;
	struct in6_addr a6;
	size_t hlen;
	int bracket = s[0] == '[';

	if (bracket) {
		if ((end = strchr(s, ']')) == NULL)
			return 0;
		s++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return 0;
	} else {
		end = strchr(s, ':');
		if (end && strchr(end + 1, ':'))
			return 0;	/* IPv6 must be bracketed */
		if (end)
			port = end + 1;
		else
			end = s + strlen(s);
	}
	hlen = (size_t)(end - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return 0;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (!conf_is_domain(host) &&
	    !(bracket && inet_pton(AF_INET6, host, &a6) == 1))
		return 0;
	if (port) {
		char *e;
		long v;

		if (!isdigit((unsigned char)*port))
			return 0;
		v = strtol(port, &e, 10);
		if (*e != '\0' || v < 1 || v > 65535)
			return 0;
	}
	return 1;
}

static int
h_route(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_connector *cn = base;

	(void)pp;
	if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
		return -1;
	if (strcmp(st->av[0].s, "dns") == 0 && st->ac == 1) {
		cn->route = ROUTE_DNS;
		return 0;
	}
	if (strcmp(st->av[0].s, "smarthost") != 0 || st->ac < 2)
		return conf_perr(p, st->line, "\"route\" takes dns or "
		    "smarthost HOST[:PORT]...");
	for (size_t i = 1; i < st->ac; i++) {
		if (!valid_smarthost(st->av[i].s))
			return conf_perr(p, st->line, "bad smart host \"%s\" "
			    "(name, name:port, [name], [IP] or [IP]:port)",
			    st->av[i].s);
		conf_strv_add(&cn->smarthosts, &cn->nsmarthosts,
		    xstrdup(st->av[i].s));
	}
	cn->route = ROUTE_SMARTHOST;
	return 0;
}

static int
h_source(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_connector *cn = base;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cn->source_ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cn->source_ss;
	char ip[NETADDR_STRLEN];
	const char *s;
	size_t len;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1)
		return -1;
	s = st->av[0].s;
	len = strlen(s);
	if (s[0] == '[' && len > 2 && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len >= sizeof(ip))
		goto bad;
	memcpy(ip, s, len);
	ip[len] = '\0';
	memset(&cn->source_ss, 0, sizeof(cn->source_ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		cn->source_sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		cn->source_sslen = sizeof(*sin6);
	} else
		goto bad;
	cn->source = xstrdup(st->av[0].s);
	return 0;
 bad:
	return conf_perr(p, st->line, "bad source address \"%s\" (an IPv4 "
	    "or IPv6 address, no port)", st->av[0].s);
}

/* ---- directory ldap ---- */

static int
h_uri(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_ldap *l = base;

	(void)pp;
	if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
		return -1;
	for (size_t i = 0; i < st->ac; i++) {
		const char *u = st->av[i].s;

		if (strncasecmp(u, "ldap://", 7) != 0 &&
		    strncasecmp(u, "ldaps://", 8) != 0 &&
		    strncasecmp(u, "ldapi://", 8) != 0)
			return conf_perr(p, st->line, "bad LDAP uri \"%s\" "
			    "(ldap://, ldaps:// or ldapi://)", u);
		conf_strv_add(&l->uri, &l->nuri, xstrdup(u));
	}
	return 0;
}

/* ---- the tables ---- */

#define TOP(f)	offsetof(struct conf, f)
#define CN(f)	offsetof(struct conf_connector, f)
#define QU(f)	offsetof(struct conf_queue, f)
#define LD(f)	offsetof(struct conf_ldap, f)
#define FN(h)	.type = CONF_T_FN, .fn = (h)

#define DAY	86400

static const struct conf_word log_words[] = {
	{ "stderr", CONF_LOG_STDERR }, { "syslog", CONF_LOG_SYSLOG },
	{ NULL, 0 }
};
static const struct conf_word level_words[] = {
	{ "info", 0 }, { "debug", 1 }, { NULL, 0 }
};
static const struct conf_word tls_words[] = {
	{ "none", TLS_NONE }, { "may", TLS_MAY }, { "encrypt", TLS_ENCRYPT },
	{ "verify", TLS_VERIFY }, { NULL, 0 }
};

static const struct conf_param top_params[] = {
	{ "hostname", CONF_T_HOST, .off = TOP(hostname),
	  .doc = "name in greeting, EHLO, Received, bounces (default: the "
	  "system host name)" },
	{ "spool", CONF_T_PATH, .def = "/var/spool/postern",
	  .off = TOP(spool), .doc = "queue directory" },
	{ "user", CONF_T_STR, .max = 32, .off = TOP(user),
	  .doc = "user to run as after binding (default: stay as started)" },
	{ "control", CONF_T_PATH, .off = TOP(control),
	  .doc = "control socket (default: SPOOL/control.sock)" },
	{ "log", CONF_T_ENUM, .words = log_words, .off = TOP(log),
	  .doc = "stderr | syslog (default: stderr in the foreground, "
	  "syslog as a daemon)" },
	{ "log-level", CONF_T_ENUM, .words = level_words, .def = "info",
	  .off = TOP(log_debug), .doc = "info | debug" },
	{ "metrics", FN(h_metrics),
	  .doc = "ADDRESS:PORT of the Prometheus endpoint (default: none)" },
	{ "dns", FN(h_dns),
	  .doc = "the internal DNS servers (default: /etc/resolv.conf)" },
	{ "dns-list", FN(h_dnslist), .flags = CONF_F_REPEAT,
	  .doc = "NAME SERVER...: a named DNS server list" },
	{ "local-domain", FN(h_local_domain), .flags = CONF_F_REPEAT,
	  .doc = "DOMAIN...: domains whose mail the organisation receives" },
	{ "directory", CONF_T_BLOCK, .flags = CONF_F_NOBLOCK,
	  .fn = h_directory, .block = &conf_block_ldap,
	  .doc = "file PATH | ldap { ... }" },
	{ "mailbox-port", CONF_T_UINT, .min = 1, .max = 65535, .def = "25",
	  .off = TOP(mailbox_port), .doc = "TCP port of mailbox servers" },
	{ "mailbox-tls", CONF_T_ENUM, .words = tls_words, .def = "may",
	  .off = TOP(mailbox_tls), .doc = "TLS towards mailbox servers" },
	{ "mailbox-store", CONF_T_PATH, .off = TOP(mailbox_store),
	  .doc = "Maildir store for `local` (default: SPOOL/mailboxes)" },
	{ "virtual-server", CONF_T_BLOCK, .flags = CONF_F_REPEAT,
	  .fn = h_vserver, .block = &conf_block_vserver,
	  .doc = "NAME { ... }: an SMTP listener and its policy" },
	{ "connector", CONF_T_BLOCK, .flags = CONF_F_REPEAT,
	  .fn = h_connector, .block = &conf_block_connector,
	  .doc = "NAME { ... }: an outbound route" },
	{ "queue", CONF_T_BLOCK, .fn = h_queue, .block = &conf_block_queue,
	  .doc = "{ ... }: retry schedule and delivery concurrency" },
	{ "dkim-key", CONF_T_BLOCK, .flags = CONF_F_REPEAT,
	  .fn = conf_h_dkim_key, .block = &conf_block_dkim_key,
	  .doc = "NAME { ... }: a DKIM signing key" },
	{ "milter", CONF_T_BLOCK, .flags = CONF_F_REPEAT,
	  .fn = conf_h_milter, .block = &conf_block_milter,
	  .doc = "NAME { ... }: a content filter (milter protocol)" },
	{ "cluster", CONF_T_BLOCK, .fn = conf_h_cluster,
	  .block = &conf_block_cluster,
	  .doc = "{ ... }: the Redis several gateways share" },
};

static const struct conf_param connector_params[] = {
	{ "address-space", FN(h_addrspace), .flags = CONF_F_REPEAT,
	  .doc = "PATTERN [cost N] [relay]: *, DOMAIN or *.DOMAIN" },
	{ "home", FN(h_home), .doc = "the bridgehead virtual server" },
	{ "route", FN(h_route),
	  .doc = "dns | smarthost HOST[:PORT]... (default: dns)" },
	{ "dns", CONF_T_DNSREF, .off = CN(dns), .role = "external",
	  .doc = "DNS list (default: the home's external-dns, else internal)" },
	{ "port", CONF_T_UINT, .min = 1, .max = 65535, .def = "25",
	  .off = CN(port), .doc = "TCP port for deliveries" },
	{ "tls", CONF_T_ENUM, .words = tls_words, .def = "may",
	  .off = CN(tls), .doc = "none | may | encrypt | verify" },
	{ "tls-ca", CONF_T_PATH, .off = CN(tls_ca),
	  .doc = "CA bundle for verify (default: the system store)" },
	{ "source", FN(h_source), .doc = "bind address of connections" },
};

static const struct conf_param queue_params[] = {
	{ "retry", CONF_T_DURLIST, .min = 1, .max = 7 * DAY,
	  .def = "1m 5m 15m 30m 1h 2h 4h", .off = QU(retry),
	  .noff = QU(nretry), .doc = "successive waits; the last repeats" },
	{ "expire", CONF_T_DUR, .min = 1, .max = 60 * DAY, .def = "5d",
	  .off = QU(expire), .doc = "then bounce" },
	{ "delay-warning", CONF_T_DUR, .min = 0, .max = 60 * DAY,
	  .off = QU(delay_warning), .doc = "DSN \"delayed\" (default: off)" },
	{ "concurrency", CONF_T_UINT, .min = 1, .max = 100000, .def = "200",
	  .off = QU(concurrency), .doc = "outbound connections in all" },
	{ "per-destination", CONF_T_UINT, .min = 1, .max = 100000,
	  .def = "20", .off = QU(per_destination),
	  .doc = "outbound connections per next hop" },
	/* RFC 5321 4.5.3.2 defaults; 1s at least (0 would mean "the
	 * default" to smtp_client), 1h at most (a wait that long is a
	 * mistake, and it holds a connection slot). */
	{ "connect-timeout", CONF_T_DUR, .min = 1, .max = 3600, .def = "30s",
	  .off = QU(connect_timeout), .doc = "TCP connect to a next hop" },
	{ "command-timeout", CONF_T_DUR, .min = 1, .max = 3600, .def = "5m",
	  .off = QU(command_timeout),
	  .doc = "each reply: greeting, EHLO, STARTTLS, RSET, MAIL, RCPT, "
	  "DATA" },
	{ "data-timeout", CONF_T_DUR, .min = 1, .max = 3600, .def = "10m",
	  .off = QU(data_timeout),
	  .doc = "each wait sending the body, and the reply to the dot" },
};

static const struct conf_param ldap_params[] = {
	{ "uri", FN(h_uri), .doc = "one or more, tried in order" },
	{ "base", CONF_T_STR, .off = LD(base), .doc = "search base" },
	{ "bind-dn", CONF_T_STR, .off = LD(bind_dn),
	  .doc = "(default: anonymous bind)" },
	{ "password-file", CONF_T_PATH, .off = LD(password_file),
	  .doc = "bind password, read before dropping privileges" },
	{ "filter", CONF_T_STR, .def = "(mail=%s)", .off = LD(filter),
	  .doc = "%s address, %u local part, %d domain" },
	{ "host-attribute", CONF_T_STR, .off = LD(host_attribute),
	  .doc = "the mailbox server" },
	{ "alias-attribute", CONF_T_STR, .off = LD(alias_attribute),
	  .doc = "a list's member addresses" },
	{ "starttls", CONF_T_BOOL, .def = "no", .off = LD(starttls),
	  .doc = "StartTLS to the LDAP server" },
	{ "timeout", CONF_T_DUR, .min = 1, .max = 300, .def = "5s",
	  .off = LD(timeout), .doc = "per search, then the next uri" },
	{ "cache", CONF_T_DUR, .min = 0, .max = DAY, .def = "60s",
	  .off = LD(cache), .doc = "answer lifetime (0: off)" },
};

CONF_CHECK_TABLE(top_params);
CONF_CHECK_TABLE(connector_params);
CONF_CHECK_TABLE(queue_params);
CONF_CHECK_TABLE(ldap_params);

const struct conf_block conf_block_top = {
	"top level", "at top level", top_params, nitems(top_params),
	conf_check_top
};
const struct conf_block conf_block_connector = {
	"connector", "in a connector block", connector_params,
	nitems(connector_params), conf_check_connector
};
const struct conf_block conf_block_queue = {
	"queue", "in a queue block", queue_params, nitems(queue_params),
	conf_check_queue
};
const struct conf_block conf_block_ldap = {
	"directory ldap", "in a directory ldap block", ldap_params,
	nitems(ldap_params), conf_check_ldap
};

const struct conf_block *const conf_blocks[] = {
	&conf_block_top, &conf_block_vserver, &conf_block_filter,
	&conf_block_connector, &conf_block_queue, &conf_block_ldap,
	&conf_block_authentication, &conf_block_dkim_key, &conf_block_milter,
	&conf_block_cluster,
};
const size_t conf_nblocks = nitems(conf_blocks);
