/*
 * conf_vserver — the keywords of the virtual-server and filter blocks, and
 * the handlers of those with a grammar of their own: listen, relay, tls,
 * sender and recipient patterns, rate-limit.  A listen address is checked
 * against every one read so far, in any virtual server, so the error names
 * the second use.  See conf_params.c for the other blocks.
 */
#include "conf_priv.h"
#include "postern_limits.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- virtual-server ---- */

static int
h_listen(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_vserver *vs = base;
	struct conf *c = p->conf;
	struct conf_listen l = { 0 };
	char buf[NETADDR_STRLEN];

	(void)pp;
	if (conf_need_args(p, st, 1, 2) == -1)
		return -1;
	if (st->ac == 2 && strcmp(st->av[1].s, "tls") != 0)
		return conf_perr(p, st->line, "\"listen\" takes ADDRESS [tls]");
	if (netaddr_parse_hostport(st->av[0].s, 25, &l.ss, &l.sslen) == -1)
		return conf_perr(p, st->line, "bad listen address \"%s\" ("
		    CONF_ADDR_USAGE ")", st->av[0].s);
	for (size_t i = 0; i < c->nvservers; i++)
		for (size_t j = 0; j < c->vservers[i]->nlisten; j++) {
			const struct conf_listen *o = &c->vservers[i]->listen[j];

			if (netaddr_equal((const struct sockaddr *)&o->ss,
			    (const struct sockaddr *)&l.ss))
				return conf_perr(p, st->line, "listen address "
				    "%s already used at line %d",
				    netaddr_ntop_port((struct sockaddr *)&l.ss,
				    buf, sizeof(buf)), o->line);
		}
	l.tls = st->ac == 2;
	l.line = st->line;
	l.text = xstrdup(st->av[0].s);
	vs->listen = xreallocarray(vs->listen, vs->nlisten + 1, sizeof(l));
	vs->listen[vs->nlisten++] = l;
	return 0;
}

static int
h_relay(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_vserver *vs = base;
	const char *w;
	size_t i, n;

	(void)pp;
	if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
		return -1;
	w = st->av[0].s;
	if (strcmp(w, "deny") == 0 && st->ac == 1)
		return 0;
	if (strcmp(w, "authenticated") == 0 && st->ac == 1) {
		vs->relay_authenticated = 1;
		return 0;
	}
	if (strcmp(w, "allow") != 0)
		goto usage;
	n = st->ac;
	if (strcmp(st->av[n - 1].s, "authenticated") == 0) {
		vs->relay_authenticated = 1;
		n--;
	}
	if (n < 2)
		goto usage;
	vs->relay_allow = xcalloc(n - 1, sizeof(*vs->relay_allow));
	for (i = 1; i < n; i++) {
		if (conf_val_cidr(p, st, st->av[i].s,
		    &vs->relay_allow[vs->nrelay_allow]) == -1)
			return -1;
		vs->nrelay_allow++;
	}
	return 0;
 usage:
	return conf_perr(p, st->line, "\"relay\" takes deny, allow CIDR..., "
	    "authenticated, or allow CIDR... authenticated");
}

static int
h_tls(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_vserver *vs = base;
	char **dst;

	(void)pp;
	for (size_t i = 0; i < st->ac; i++) {
		const char *w = st->av[i].s;

		if (strcmp(w, "required") == 0) {
			vs->tls_required = 1;
			continue;
		}
		if (strcmp(w, "certificate") == 0)
			dst = &vs->tls_cert;
		else if (strcmp(w, "key") == 0)
			dst = &vs->tls_key;
		else
			goto usage;
		if (*dst != NULL || i + 1 == st->ac || st->av[i + 1].s[0] == 0)
			goto usage;
		*dst = xstrdup(st->av[++i].s);
	}
	if (vs->tls_cert && vs->tls_key)
		return 0;
 usage:
	return conf_perr(p, st->line, "\"tls\" takes certificate PATH key "
	    "PATH [required]");
}

static int
h_filter(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	(void)pp;
	if (conf_need_args(p, st, 0, 0) == -1)
		return -1;
	p->newbase = &((struct conf_vserver *)base)->filter;
	return 0;
}

/* ---- filter ---- */

/* local@domain, dot-atom local part (RFC 5322 3.2.3); lowercased copy. */
static char *
mailbox(const char *s)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	const char *at = strrchr(s, '@');
	size_t llen;
	char *r;

	if (at == NULL || !conf_is_domain(at + 1))
		return NULL;
	llen = (size_t)(at - s);
	if (llen == 0 || llen > ADDR_LOCAL_MAX || s[0] == '.' ||
	    at[-1] == '.')
		return NULL;
	for (const char *q = s; q < at; q++) {
		if (*q == '.' && q[1] == '.')
			return NULL;
		if (!isalnum((unsigned char)*q) && *q != '.' &&
		    strchr(atext, *q) == NULL)
			return NULL;
	}
	r = xstrdup(s);
	for (char *q = r; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return r;
}

/* A block-sender entry: an address, @domain or <>; lowercased copy. */
static char *
sender_entry(const char *s)
{
	char *v;

	if (strcmp(s, "<>") == 0)
		return xstrdup(s);
	if (s[0] != '@' || !conf_is_domain(s + 1))
		return mailbox(s);
	v = xstrdup(s);
	for (char *q = v; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return v;
}

/* Every word through `entry` into the list; `what` and `hint` name a bad
 * one. */
static int
add_entries(struct conf_pctx *p, const struct conf_stmt *st,
    char *(*entry)(const char *), char ***list, size_t *n, const char *what,
    const char *hint)
{
	char *v;

	if (conf_need_args(p, st, 1, SIZE_MAX) == -1)
		return -1;
	for (size_t i = 0; i < st->ac; i++) {
		if ((v = entry(st->av[i].s)) == NULL)
			return conf_perr(p, st->line, "bad %s \"%s\"%s", what,
			    st->av[i].s, hint);
		conf_strv_add(list, n, v);
	}
	return 0;
}

static int
h_block_sender(struct conf_pctx *p, const struct conf_param *pp,
    void *base, const struct conf_stmt *st)
{
	struct conf_filter *f = base;

	(void)pp;
	return add_entries(p, st, sender_entry, &f->block_sender,
	    &f->nblock_sender, "sender", " (an address, @domain or <>)");
}

static int
h_block_recipient(struct conf_pctx *p, const struct conf_param *pp,
    void *base, const struct conf_stmt *st)
{
	struct conf_filter *f = base;

	(void)pp;
	return add_entries(p, st, mailbox, &f->block_recipient,
	    &f->nblock_recipient, "recipient address", "");
}

/* N/m; N/s and N/h are turned into messages per minute. */
static int
h_rate_limit(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_filter *f = base;
	char num[32];
	const char *slash;
	uint64_t v;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1)
		return -1;
	slash = strchr(st->av[0].s, '/');
	if (slash == NULL || (size_t)(slash - st->av[0].s) >= sizeof(num))
		goto usage;
	snprintf(num, sizeof(num), "%.*s", (int)(slash - st->av[0].s),
	    st->av[0].s);
	if (conf_val_uint(p, st, num, 1, 1000000, &v) == -1)
		return -1;
	if (strcmp(slash + 1, "m") == 0)
		f->rate_limit = (unsigned)v;
	else if (strcmp(slash + 1, "s") == 0)
		f->rate_limit = (unsigned)v * 60;
	else if (strcmp(slash + 1, "h") == 0) {
		if (v % 60 != 0)
			return conf_perr(p, st->line, "\"rate-limit\" is kept "
			    "per minute: %s is not a whole number per minute",
			    st->av[0].s);
		f->rate_limit = (unsigned)(v / 60);
	} else
		goto usage;
	return 0;
 usage:
	return conf_perr(p, st->line, "\"rate-limit\" takes N/m (messages "
	    "per client address per minute; N/s and N/h also do)");
}

/* greylist DELAY [AUTO-ALLOW] (docs/greylisting.md). */
static int
h_greylist(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_filter *f = base;

	(void)pp;
	if (conf_need_args(p, st, 1, 2) == -1 ||
	    conf_val_dur(p, st, st->av[0].s, 1, 86400, 0,
	    &f->greylist_delay) == -1)
		return -1;
	f->greylist_allow = 0;
	if (st->ac == 2 && conf_val_dur(p, st, st->av[1].s, 0, 366 * 86400,
	    0, &f->greylist_allow) == -1)
		return -1;
	return 0;
}

/* ---- the tables ---- */

#define VS(f)	offsetof(struct conf_vserver, f)
#define FL(f)	offsetof(struct conf_filter, f)
#define FN(h)	.type = CONF_T_FN, .fn = (h)
#define DAY	86400

static const struct conf_param vs_params[] = {
	{ "listen", FN(h_listen), .flags = CONF_F_REPEAT,
	  .doc = "ADDRESS [tls] (port 25 unless given)" },
	{ "relay", FN(h_relay),
	  .doc = "deny | allow CIDR... | authenticated | allow CIDR... "
	  "authenticated (default: deny)" },
	{ "anonymous", CONF_T_BOOL, .def = "yes", .off = VS(anonymous),
	  .doc = "no: AUTH required before MAIL" },
	{ "dns", CONF_T_DNSREF, .off = VS(dns), .role = "internal",
	  .doc = "DNS list of this server's own lookups (default: internal)" },
	{ "external-dns", CONF_T_DNSREF, .off = VS(external_dns),
	  .role = "external",
	  .doc = "DNS list of the connectors homed here (default: none)" },
	{ "hostname", CONF_T_HOST, .off = VS(hostname),
	  .doc = "this server's own name (default: the top-level one)" },
	{ "banner", CONF_T_TEXT, .max = 200, .def = "ESMTP postern",
	  .off = VS(banner), .doc = "text of the 220 greeting" },
	{ "tls", FN(h_tls),
	  .doc = "certificate PATH key PATH [required]: STARTTLS" },
	{ "auth", CONF_T_PATH, .off = VS(auth_file),
	  .doc = "user:crypt-hash file; AUTH after TLS only" },
	{ "max-auth-failures", CONF_T_UINT, .min = 1, .max = 1000000,
	  .def = "5", .off = VS(max_auth_failures),
	  .doc = "per client address per hour" },
	{ "max-message-size", CONF_T_SIZE, .min = 1024, .max = 4ULL << 30,
	  .def = "35M", .off = VS(max_message_size), .doc = "bytes" },
	{ "max-recipients", CONF_T_UINT, .min = 1, .max = 100000,
	  .def = "500", .off = VS(max_recipients), .doc = "per message" },
	{ "max-connections", CONF_T_UINT, .min = 1, .max = 1000000,
	  .def = "2000", .off = VS(max_connections), .doc = "in all" },
	{ "max-connections-per-ip", CONF_T_UINT, .min = 1, .max = 1000000,
	  .def = "50", .off = VS(max_connections_per_ip),
	  .doc = "per client address" },
	{ "timeout", CONF_T_DUR, .min = 1, .max = DAY, .def = "300s",
	  .off = VS(timeout), .doc = "idle time before the session closes" },
	{ "max-data-time", CONF_T_DUR, .min = 1, .max = DAY, .def = "10m",
	  .off = VS(max_data_time),
	  .doc = "total time for one message's data" },
	{ "max-errors", CONF_T_UINT, .min = 1, .max = 10000, .def = "10",
	  .off = VS(max_errors), .doc = "bad commands in a session" },
	{ "max-unknown-recipients", CONF_T_UINT, .min = 1, .max = 100000,
	  .def = "20", .off = VS(max_unknown_recipients),
	  .doc = "550 5.1.1 refusals in a session" },
	{ "filter", CONF_T_BLOCK, .fn = h_filter, .block = &conf_block_filter,
	  .doc = "{ ... }: message filtering" },
	{ "authentication", CONF_T_BLOCK, .fn = conf_h_authentication,
	  .block = &conf_block_authentication,
	  .doc = "{ ... }: SPF, DKIM, DMARC and ARC of what arrives" },
	{ "dkim-sign", FN(conf_h_dkim_sign),
	  .doc = "KEY...: dkim-key blocks to sign accepted mail with" },
	{ "milters", FN(conf_h_milters),
	  .doc = "NAME...: milter blocks every transaction goes through" },
};

static const struct conf_param filter_params[] = {
	{ "block-sender", FN(h_block_sender), .flags = CONF_F_REPEAT,
	  .doc = "addresses, @domains, <> (550 5.7.1 at MAIL)" },
	{ "block-senders-file", CONF_T_PATH, .off = FL(block_senders_file),
	  .doc = "one block-sender entry a line" },
	{ "block-recipient", FN(h_block_recipient), .flags = CONF_F_REPEAT,
	  .doc = "addresses that take no mail from this server" },
	{ "block-client", CONF_T_CIDRLIST, .flags = CONF_F_REPEAT,
	  .off = FL(block_client), .noff = FL(nblock_client),
	  .doc = "CIDRs refused at connect (554 5.7.1)" },
	{ "allow-client", CONF_T_CIDRLIST, .flags = CONF_F_REPEAT,
	  .off = FL(allow_client), .noff = FL(nallow_client),
	  .doc = "exceptions to block-client and dnsbl" },
	{ "dnsbl", CONF_T_DOMAINLIST, .flags = CONF_F_REPEAT,
	  .off = FL(dnsbl), .noff = FL(ndnsbl),
	  .doc = "DNS block list zones" },
	{ "rate-limit", FN(h_rate_limit),
	  .doc = "N/m: messages per client address per minute (default: "
	  "off)" },
	{ "greet-wait", CONF_T_DUR_MS, .min = 0, .max = 60000, .def = "0",
	  .off = FL(greet_wait_ms), .doc = "pre-greeting test (0: off)" },
	{ "greylist", FN(h_greylist),
	  .doc = "DELAY [AUTO-ALLOW]: 451 4.7.1 until a triplet is retried "
	  "DELAY later (default: off)" },
};

CONF_CHECK_TABLE(vs_params);
CONF_CHECK_TABLE(filter_params);

const struct conf_block conf_block_vserver = {
	"virtual-server", "in a virtual-server block", vs_params,
	nitems(vs_params), conf_check_vserver
};
const struct conf_block conf_block_filter = {
	"filter", "in a filter block", filter_params, nitems(filter_params),
	conf_check_filter
};
