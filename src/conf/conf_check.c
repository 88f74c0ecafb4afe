/*
 * conf_check — the checks that need more than one statement.
 *
 * The parser calls a block's check when the block closes (its frame still
 * knows the line of every keyword given in it), and conf_check_top once the
 * whole file is read: that one resolves the names that may be used before
 * they are defined (DNS lists, a connector's home) and looks across blocks.
 * Every error names the line of the statement at fault; when a check finds
 * several, the one on the lowest line is reported, so that fixing errors
 * from the top of the file down works.
 */
#include "conf_priv.h"
#include "postern_limits.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Keep the error on the lowest line of this check. */
static void
ck(struct conf_pctx *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
ck(struct conf_pctx *p, int line, const char *fmt, ...)
{
	char msg[CONF_ERR_MAX];
	va_list ap;

	if (p->errline != 0 && line >= p->errline)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errline = line;
	conf_perr(p, line, "%s", msg);
}

static int
ck_done(struct conf_pctx *p)
{
	return p->errline ? -1 : 0;
}

int
conf_check_vserver(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf_vserver *vs = f->base;

	p->errline = 0;
	if (vs->nlisten == 0)
		ck(p, f->line, "virtual-server \"%s\" has no listen address",
		    vs->name);
	for (size_t i = 0; i < vs->nlisten; i++)
		if (vs->listen[i].tls && vs->tls_cert == NULL)
			ck(p, vs->listen[i].line, "\"listen %s tls\" needs "
			    "\"tls certificate PATH key PATH\" in "
			    "virtual-server \"%s\"", vs->listen[i].text,
			    vs->name);
	if (vs->auth_file && vs->tls_cert == NULL)
		ck(p, conf_seen_line(f, "auth"), "\"auth\" needs \"tls "
		    "certificate PATH key PATH\" in virtual-server \"%s\" "
		    "(AUTH is only offered over TLS)", vs->name);
	return ck_done(p);
}

int
conf_check_filter(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf_filter *fl = f->base;

	p->errline = 0;
	/* A reversed IPv6 address takes 64 octets of a 253-octet name. */
	for (size_t i = 0; i < fl->ndnsbl; i++)
		if (strlen(fl->dnsbl[i]) > DNSBL_ZONE_MAX)
			ck(p, conf_seen_line(f, "dnsbl"), "dnsbl zone \"%.40s...\" "
			    "is longer than %d octets", fl->dnsbl[i],
			    DNSBL_ZONE_MAX);
	return ck_done(p);
}

int
conf_check_connector(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf_connector *cn = f->base;

	p->errline = 0;
	if (cn->nspaces == 0)
		ck(p, f->line, "connector \"%s\" has no address-space",
		    cn->name);
	else if (cn->home_name == NULL)
		ck(p, f->line, "connector \"%s\" has no home (the virtual "
		    "server it delivers for)", cn->name);
	return ck_done(p);
}

int
conf_check_queue(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf_queue *q = f->base;
	int line;

	p->errline = 0;
	if (q->per_destination > q->concurrency) {
		line = conf_seen_line(f, "per-destination");
		ck(p, line ? line : conf_seen_line(f, "concurrency"),
		    "\"per-destination\" (%u) is more than \"concurrency\" "
		    "(%u)", q->per_destination, q->concurrency);
	}
	if (q->delay_warning != 0 && q->delay_warning >= q->expire) {
		line = conf_seen_line(f, "delay-warning");
		ck(p, line, "\"delay-warning\" must be shorter than "
		    "\"expire\"");
	}
	return ck_done(p);
}

/* Parentheses balanced, and % only as %s, %u, %d or %%, one at least. */
static int
ldap_filter_ok(const char *s)
{
	int depth = 0, subst = 0;
	size_t len = strlen(s);

	if (len < 2 || s[0] != '(' || s[len - 1] != ')')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')') {
			if (--depth < 0 || (depth == 0 && i != len - 1))
				return 0;
		} else if (s[i] == '%') {
			i++;
			if (s[i] == 's' || s[i] == 'u' || s[i] == 'd')
				subst = 1;
			else if (s[i] != '%')
				return 0;
		}
	}
	return depth == 0 && subst;
}

int
conf_check_ldap(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf_ldap *l = f->base;

	p->errline = 0;
	if (l->nuri == 0)
		ck(p, f->line, "directory ldap needs a \"uri\"");
	else if (l->base == NULL)
		ck(p, f->line, "directory ldap needs a \"base\"");
	else if (l->host_attribute == NULL)
		ck(p, f->line, "directory ldap needs a \"host-attribute\"");
	if (l->bind_dn && l->password_file == NULL)
		ck(p, conf_seen_line(f, "bind-dn"), "\"bind-dn\" needs a "
		    "\"password-file\"");
	if (l->password_file && l->bind_dn == NULL)
		ck(p, conf_seen_line(f, "password-file"), "\"password-file\" "
		    "needs a \"bind-dn\"");
	if (!ldap_filter_ok(l->filter))
		ck(p, conf_seen_line(f, "filter"), "bad LDAP filter \"%s\" "
		    "(parenthesised, with %%s, %%u or %%d, and %%%% for %%)",
		    l->filter);
	return ck_done(p);
}

/* The IP of a sockaddr as bytes; 0 if not IP. */
static size_t
ip_bytes(const struct sockaddr_storage *ss, const unsigned char **b)
{
	if (ss->ss_family == AF_INET) {
		*b = (const unsigned char *)
		    &((const struct sockaddr_in *)ss)->sin_addr;
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		*b = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		return 16;
	}
	*b = NULL;
	return 0;
}

static int
same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const unsigned char *x = NULL, *y = NULL;
	size_t n;

	if (a->ss_family != b->ss_family || (n = ip_bytes(a, &x)) == 0)
		return 0;
	(void)ip_bytes(b, &y);
	return memcmp(x, y, n) == 0;
}

static int
is_wildcard(const struct sockaddr_storage *ss)
{
	static const unsigned char zero[16];
	const unsigned char *x = NULL;
	size_t n = ip_bytes(ss, &x);

	return n != 0 && memcmp(x, zero, n) == 0;
}

/*
 * The metrics endpoint must never be reachable from the Internet: not on
 * an address (any port) of a virtual server that relays for no network,
 * nor on a wildcard address when such a server exists.  And it cannot
 * share an address and port with any listener.
 */
static void
check_metrics(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf *c = p->conf;
	struct sockaddr_storage m;
	socklen_t mlen;
	int line = conf_seen_line(f, "metrics");

	if (c->metrics == NULL ||
	    netaddr_parse_hostport(c->metrics, 0, &m, &mlen) == -1)
		return;
	for (size_t i = 0; i < c->nvservers; i++) {
		const struct conf_vserver *vs = c->vservers[i];
		int internet = vs->nrelay_allow == 0;

		if (internet && is_wildcard(&m))
			ck(p, line, "metrics on a wildcard address would be "
			    "reachable through the Internet-facing "
			    "virtual-server \"%s\"", vs->name);
		for (size_t j = 0; j < vs->nlisten; j++) {
			const struct conf_listen *l = &vs->listen[j];

			if (netaddr_equal((const struct sockaddr *)&m,
			    (const struct sockaddr *)&l->ss))
				ck(p, line, "metrics address %s is also a "
				    "listen address (line %d)", c->metrics,
				    l->line);
			else if (internet && same_ip(&m, &l->ss))
				ck(p, line, "metrics must not be on an "
				    "Internet address: %s is an address of "
				    "the Internet-facing virtual-server "
				    "\"%s\" (line %d)", c->metrics, vs->name,
				    l->line);
		}
	}
}

int
conf_check_top(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf *c = p->conf;

	p->errline = 0;
	for (size_t i = 0; i < p->nrefs; i++) {
		struct conf_dnslist *l = conf_dnslist_find(c, p->refs[i].name);

		if (l == NULL)
			ck(p, p->refs[i].line, "unknown DNS list \"%s\" (not "
			    "a dns-list name, \"internal\", or a server "
			    "address)", p->refs[i].name);
		else
			*p->refs[i].slot = l;
	}
	for (size_t i = 0; i < c->nconnectors; i++) {
		struct conf_connector *cn = c->connectors[i];

		if (cn->home_name == NULL)
			continue;	/* reported when the block closed */
		cn->home = conf_vserver_find(c, cn->home_name);
		if (cn->home == NULL)
			ck(p, cn->home_line, "unknown virtual-server \"%s\" "
			    "in \"home\"", cn->home_name);
	}
	if (conf_auth_resolve(p) == -1 || conf_milter_resolve(p) == -1)
		return -1;
	if (c->nlocal_domains > 0 && c->directory == DIR_NONE)
		ck(p, c->local_domain_line, "local domains need a directory "
		    "(\"directory file PATH\" or \"directory ldap {\")");
	check_metrics(p, f);
	return ck_done(p);
}
