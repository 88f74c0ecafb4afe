/*
 * conf_auth — the message authentication keywords: the `authentication`
 * block of a virtual server (what it checks of what it receives), the
 * top-level `dkim-key NAME` blocks, and `dkim-sign` (which keys a virtual
 * server signs with).  Key names are resolved, and key files read, once
 * the whole file is parsed: names in conf_auth_resolve (from the top-level
 * check), the key files by the signing code (smtpd/smtp_msgauth.c), which
 * knows what a usable key is.  docs/authentication.md has the meaning.
 */
#include "conf_priv.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DKIM_SELECTOR_MAX	63	/* one DNS label */
#define DKIM_HEADERS_MAX	32	/* fields listed in `headers` */

/* The fields signed when `headers` is not given (RFC 6376 5.4.1's
 * recommendation, less what changes in transit). */
static const char default_headers[] = "from to cc subject date message-id "
    "reply-to in-reply-to references mime-version content-type";

/* ---- authentication (in a virtual-server block) ---- */

int
conf_h_authentication(struct conf_pctx *p, const struct conf_param *pp,
    void *base, const struct conf_stmt *st)
{
	struct conf_vserver *vs = base;

	(void)pp;
	if (conf_need_args(p, st, 0, 0) == -1)
		return -1;
	vs->auth.enabled = 1;
	vs->auth.line = st->line;
	p->newbase = &vs->auth;
	return conf_defaults(p, &conf_block_authentication, &vs->auth,
	    st->line);
}

/* ---- dkim-key NAME (top level) ---- */

int
conf_h_dkim_key(struct conf_pctx *p, const struct conf_param *pp,
    void *base, const struct conf_stmt *st)
{
	struct conf *c = base;
	struct conf_dkim_key *k;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1 ||
	    conf_val_name(p, st, st->av[0].s, "dkim-key") == -1)
		return -1;
	if ((k = conf_dkim_key_find(c, st->av[0].s)) != NULL)
		return conf_perr(p, st->line, "duplicate dkim-key \"%s\" "
		    "(first at line %d)", k->name, k->line);
	k = xcalloc(1, sizeof(*k));
	c->dkim_keys = xreallocarray(c->dkim_keys, c->ndkim_keys + 1,
	    sizeof(*c->dkim_keys));
	c->dkim_keys[c->ndkim_keys++] = k;
	k->name = xstrdup(st->av[0].s);
	k->line = st->line;
	p->newbase = k;
	return conf_defaults(p, &conf_block_dkim_key, k, st->line);
}

static int
h_selector(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_dkim_key *k = base;
	const char *s;

	(void)pp;
	if (conf_need_args(p, st, 1, 1) == -1)
		return -1;
	s = st->av[0].s;
	/* One or more labels (RFC 6376 3.1), each a DNS label. */
	if (!conf_is_domain(s) || strlen(s) > DKIM_SELECTOR_MAX)
		return conf_perr(p, st->line, "bad selector \"%s\" (labels of "
		    "letters, digits and hyphens, at most %d octets)", s,
		    DKIM_SELECTOR_MAX);
	free(k->selector);
	k->selector = xstrdup(s);
	return 0;
}

/* A field name: printable US-ASCII but the colon (RFC 5322 2.2). */
static int
field_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (*s < 33 || *s > 126 || *s == ':')
			return 0;
	return 1;
}

static void
add_header(struct conf_dkim_key *k, const char *name)
{
	char *v = xstrdup(name);

	for (char *q = v; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	for (size_t i = 0; i < k->nheaders; i++)
		if (strcmp(k->headers[i], v) == 0) {
			free(v);
			return;
		}
	conf_strv_add(&k->headers, &k->nheaders, v);
}

static int
h_headers(struct conf_pctx *p, const struct conf_param *pp, void *base,
    const struct conf_stmt *st)
{
	struct conf_dkim_key *k = base;

	(void)pp;
	if (conf_need_args(p, st, 1, DKIM_HEADERS_MAX) == -1)
		return -1;
	for (size_t i = 0; i < k->nheaders; i++)
		free(k->headers[i]);
	free(k->headers);
	k->headers = NULL;
	k->nheaders = 0;
	for (size_t i = 0; i < st->ac; i++) {
		if (!field_name(st->av[i].s))
			return conf_perr(p, st->line, "bad header field name "
			    "\"%s\"", st->av[i].s);
		add_header(k, st->av[i].s);
	}
	add_header(k, "from");
	return 0;
}

int
conf_check_dkim_key(struct conf_pctx *p, struct conf_frame *f)
{
	struct conf_dkim_key *k = f->base;

	p->errline = 0;
	if (k->domain == NULL || k->selector == NULL || k->key_file == NULL)
		return conf_perr(p, f->line, "dkim-key \"%s\" needs domain, "
		    "selector and key", k->name);
	if (k->nheaders == 0) {
		char buf[sizeof(default_headers)];

		memcpy(buf, default_headers, sizeof(buf));
		for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
			add_header(k, w);
	}
	return 0;
}

/* ---- dkim-sign (in a virtual-server block) ---- */

int
conf_h_dkim_sign(struct conf_pctx *p, const struct conf_param *pp,
    void *base, const struct conf_stmt *st)
{
	struct conf_vserver *vs = base;

	(void)pp;
	if (conf_need_args(p, st, 1, 8) == -1)
		return -1;
	for (size_t i = 0; i < st->ac; i++) {
		if (conf_val_name(p, st, st->av[i].s, "dkim-key") == -1)
			return -1;
		conf_strv_add(&vs->dkim_sign, &vs->ndkim_sign,
		    xstrdup(st->av[i].s));
	}
	vs->dkim_sign_line = st->line;
	return 0;
}

/* The whole file is read: dkim-sign names to keys.  0, or -1 after
 * reporting the first unknown name. */
int
conf_auth_resolve(struct conf_pctx *p)
{
	struct conf *c = p->conf;

	for (size_t i = 0; i < c->nvservers; i++) {
		struct conf_vserver *vs = c->vservers[i];

		if (vs->ndkim_sign == 0)
			continue;
		vs->dkim_sign_keys = xcalloc(vs->ndkim_sign,
		    sizeof(*vs->dkim_sign_keys));
		for (size_t j = 0; j < vs->ndkim_sign; j++) {
			vs->dkim_sign_keys[j] = conf_dkim_key_find(c,
			    vs->dkim_sign[j]);
			if (vs->dkim_sign_keys[j] == NULL)
				return conf_perr(p, vs->dkim_sign_line,
				    "unknown dkim-key \"%s\" in \"dkim-sign\"",
				    vs->dkim_sign[j]);
		}
	}
	return 0;
}

/* ---- the tables ---- */

#define AU(f)	offsetof(struct conf_authentication, f)
#define DK(f)	offsetof(struct conf_dkim_key, f)
#define FN(h)	.type = CONF_T_FN, .fn = (h)

static const struct conf_word mode_words[] = {
	{ "off", CONF_AUTH_OFF }, { "on", CONF_AUTH_ON },
	{ "enforce", CONF_AUTH_ENFORCE }, { NULL, 0 }
};
static const struct conf_word onoff_words[] = {
	{ "off", CONF_AUTH_OFF }, { "on", CONF_AUTH_ON }, { NULL, 0 }
};
static const struct conf_word quarantine_words[] = {
	{ "deliver", 0 }, { "hold", 1 }, { NULL, 0 }
};
static const struct conf_word dnsfail_words[] = {
	{ "accept", 0 }, { "tempfail", 1 }, { NULL, 0 }
};

static const struct conf_param auth_params[] = {
	{ "dns", CONF_T_DNSREF, .off = AU(dns), .role = "authentication",
	  .doc = "DNS list of these lookups (default: the server's dns)" },
	{ "spf", CONF_T_ENUM, .words = mode_words, .def = "on", .off = AU(spf),
	  .doc = "on | enforce (550 5.7.23 to fail) | off" },
	{ "dkim", CONF_T_ENUM, .words = onoff_words, .def = "on",
	  .off = AU(dkim), .doc = "on | off: verify signatures" },
	{ "dmarc", CONF_T_ENUM, .words = mode_words, .def = "on",
	  .off = AU(dmarc),
	  .doc = "on | enforce (apply the domain's policy) | off" },
	{ "arc", CONF_T_ENUM, .words = onoff_words, .def = "on",
	  .off = AU(arc), .doc = "on | off: verify the ARC chain" },
	{ "arc-trusted", CONF_T_DOMAINLIST, .flags = CONF_F_REPEAT,
	  .off = AU(arc_trusted), .noff = AU(narc_trusted),
	  .doc = "sealers whose passing chain may override a DMARC fail" },
	{ "quarantine", CONF_T_ENUM, .words = quarantine_words,
	  .def = "deliver", .off = AU(quarantine_hold),
	  .doc = "deliver | hold: a DMARC p=quarantine failure" },
	{ "on-dns-failure", CONF_T_ENUM, .words = dnsfail_words,
	  .def = "accept", .off = AU(dns_tempfail),
	  .doc = "accept (record temperror) | tempfail (451 4.7.5)" },
};

static const struct conf_param dkim_key_params[] = {
	{ "domain", CONF_T_HOST, .off = DK(domain), .doc = "d= of signatures" },
	{ "selector", FN(h_selector), .doc = "s= of signatures" },
	{ "key", CONF_T_PATH, .off = DK(key_file),
	  .doc = "PEM private key: RSA of 2048 bits or more, or Ed25519" },
	{ "headers", FN(h_headers),
	  .doc = "header fields signed (From always, and over-signed)" },
};

CONF_CHECK_TABLE(auth_params);
CONF_CHECK_TABLE(dkim_key_params);

const struct conf_block conf_block_authentication = {
	"authentication", "in an authentication block", auth_params,
	nitems(auth_params), NULL
};
const struct conf_block conf_block_dkim_key = {
	"dkim-key", "in a dkim-key block", dkim_key_params,
	nitems(dkim_key_params), conf_check_dkim_key
};
