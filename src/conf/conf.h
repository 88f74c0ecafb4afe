/*
 * conf — the parsed configuration (postern.conf(5)).
 *
 * conf_load() reads a file into a fresh, immutable snapshot; nothing in it is
 * shared with a previous snapshot, so a reload either swaps in a whole new
 * one or refuses it and keeps the old.  Snapshots are
 * reference-counted: sessions hold the snapshot they started under until they
 * end (conf_ref / conf_unref).  Every statement of the language is parsed and
 * stored, including settings whose behaviour arrives in later work.
 *
 * Durations are stored in seconds (greet-wait in milliseconds), sizes in
 * bytes.  Strings are owned by the snapshot.  A `dns`/`external-dns`/
 * connector `dns` setting always resolves to a struct conf_dnslist in
 * conf->dnslists (inline server lists become unnamed lists), so that every
 * DNS question has exactly one resolver profile.
 */
#ifndef POSTERN_CONF_H
#define POSTERN_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netaddr.h"

#define CONF_ERR_MAX	512	/* "FILE:LINE: message" */

enum conf_log { CONF_LOG_DEFAULT, CONF_LOG_STDERR, CONF_LOG_SYSLOG };
enum conf_tls_policy { TLS_NONE, TLS_MAY, TLS_ENCRYPT, TLS_VERIFY };
enum conf_route { ROUTE_DNS, ROUTE_SMARTHOST };
enum conf_dir_type { DIR_NONE, DIR_FILE, DIR_LDAP };

struct conf_dnslist {
	char	*name;		/* "internal", a dns-list name, or "external"
				   for an unnamed external-dns list */
	int	 line;
	int	 use_resolv_conf; /* internal list with no `dns` statement */
	int	 unnamed;	/* written inline where a list was expected:
				   conf_dnslist_find never returns it */
	char	**servers;	/* "ip" or "ip:port" / "[ip6]:port" text */
	size_t	 nservers;
};

struct conf_listen {
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	int			tls;	/* implicit TLS (RFC 8314) */
	int			line;
	char			*text;	/* as written, for messages */
};

struct conf_filter {
	char		**block_sender;	/* "a@b", "@domain", "<>" lowercase */
	size_t		  nblock_sender;
	char		 *block_senders_file;
	char		**block_recipient; /* addresses, lowercase */
	size_t		  nblock_recipient;
	struct cidr	 *block_client;
	size_t		  nblock_client;
	struct cidr	 *allow_client;
	size_t		  nallow_client;
	char		**dnsbl;
	size_t		  ndnsbl;
	unsigned	  rate_limit;		/* messages per minute, 0 = off */
	unsigned	  greet_wait_ms;	/* 0 = off */
	unsigned	  greylist_delay;	/* seconds, 0 = off */
	unsigned	  greylist_allow;	/* auto-allow seconds, 0 = off */
};

/* Message authentication of what a virtual server receives (SPF, DKIM,
 * DMARC, ARC; docs/authentication.md). */
enum conf_authmode { CONF_AUTH_OFF, CONF_AUTH_ON, CONF_AUTH_ENFORCE };

struct conf_authentication {
	int			 enabled;	/* the block was given */
	int			 line;
	struct conf_dnslist	*dns;		/* NULL: the server's `dns` */
	enum conf_authmode	 spf;		/* default on */
	enum conf_authmode	 dkim;		/* on | off, default on */
	enum conf_authmode	 dmarc;		/* default on */
	enum conf_authmode	 arc;		/* on | off, default on */
	char			**arc_trusted;	/* sealer domains, lowercase */
	size_t			  narc_trusted;
	int			 quarantine_hold; /* default deliver */
	int			 dns_tempfail;	/* on-dns-failure tempfail */
};

/* A content filter reached by the milter protocol (`milter NAME`). */
struct conf_milter {
	char			*name;
	int			 line;
	char			*socket;	/* "inet:IP:PORT" | "unix:PATH" */
	unsigned		 timeout;	/* seconds per reply, default 30 */
	int			 fail_accept;	/* on-failure accept (default:
						   tempfail) */
};

/* The store the gateways share (`cluster { ... }`, SPEC section 9). */
struct conf_cluster {
	int			 line;
	char			*redis;		/* "unix:PATH" | "IP:PORT" */
	char			*password_file;	/* optional */
	char			*node;		/* default: host name */
	unsigned		 timeout_ms;	/* per request, default 250 */
};

/* A DKIM signing key (`dkim-key NAME { ... }`). */
struct conf_dkim_key {
	char			*name;
	int			 line;
	char			*domain;	/* d=, lowercase */
	char			*selector;	/* s= */
	char			*key_file;
	char			**headers;	/* lowercase; From added */
	size_t			  nheaders;
	/* The private key (an EVP_PKEY), read after parsing by whoever
	 * signs (smtpd/smtp_msgauth.c) and freed with the snapshot. */
	struct evp_pkey_st	*pkey;
};

struct conf_vserver {
	char			*name;
	int			 line;
	struct conf_listen	*listen;
	size_t			 nlisten;

	/* relay: deny (nothing set), allow CIDR..., authenticated, or both */
	struct cidr		*relay_allow;
	size_t			 nrelay_allow;
	int			 relay_authenticated;

	int			 anonymous;		/* default yes */
	struct conf_dnslist	*dns;			/* default: internal */
	struct conf_dnslist	*external_dns;		/* optional */
	char			*hostname;		/* optional */
	char			*banner;		/* default "ESMTP postern" */
	char			*tls_cert;
	char			*tls_key;
	int			 tls_required;
	char			*auth_file;
	unsigned		 max_auth_failures;	/* default 5 */
	uint64_t		 max_message_size;	/* default 35M */
	unsigned		 max_recipients;	/* default 500 */
	unsigned		 max_connections;	/* default 2000 */
	unsigned		 max_connections_per_ip; /* default 50 */
	unsigned		 timeout;		/* seconds, default 300 */
	unsigned		 max_data_time;		/* seconds, default 600 */
	unsigned		 max_errors;		/* default 10 */
	unsigned		 max_unknown_recipients; /* default 20 */
	struct conf_filter	 filter;
	struct conf_authentication auth;
	char			**milters;	/* milter names, in order */
	size_t			  nmilters;
	int			  milters_line;
	struct conf_milter	**milter_confs;	/* resolved, in order */
	char			**dkim_sign;	/* key names, as written */
	size_t			  ndkim_sign;
	int			  dkim_sign_line;
	struct conf_dkim_key	**dkim_sign_keys; /* resolved, in order */
};

struct conf_addrspace {
	char		*pattern;	/* "*", "example.com", "*.example.com",
					   lowercase */
	unsigned	 cost;		/* default 1 */
	int		 relay;
	int		 line;
};

struct conf_connector {
	char			*name;
	int			 line;
	struct conf_addrspace	*spaces;
	size_t			 nspaces;
	char			*home_name;
	int			 home_line;
	struct conf_vserver	*home;		/* resolved by the checker */
	enum conf_route		 route;		/* default dns */
	char			**smarthosts;	/* "[10.0.0.25]:25", "name", ... */
	size_t			 nsmarthosts;
	struct conf_dnslist	*dns;		/* optional override */
	unsigned		 port;		/* default 25 */
	enum conf_tls_policy	 tls;		/* default may */
	char			*tls_ca;
	char			*source;	/* optional bind address text */
	struct sockaddr_storage	 source_ss;
	socklen_t		 source_sslen;
};

struct conf_queue {
	unsigned	*retry;		/* seconds; default 1m 5m 15m 30m 1h 2h 4h */
	size_t		 nretry;
	unsigned	 expire;	/* default 5d */
	unsigned	 delay_warning;	/* 0 = off (default) */
	unsigned	 concurrency;	/* default 200 */
	unsigned	 per_destination; /* default 20 */
	/* Outbound SMTP waits (RFC 5321 4.5.3.2), seconds: each one bounds
	 * a single wait, so a next hop that never answers costs at most this
	 * much per address before the next address is tried. */
	unsigned	 connect_timeout; /* default 30s */
	unsigned	 command_timeout; /* default 5m: greeting .. QUIT */
	unsigned	 data_timeout;	/* default 10m: body and final dot */
	int		 reuse_files;	/* default yes: free/ (queue_recycle) */
};

struct conf_ldap {
	char		**uri;
	size_t		  nuri;
	char		 *base;
	char		 *bind_dn;
	char		 *password_file;
	char		 *filter;	/* default "(mail=%s)" */
	char		 *host_attribute;
	char		 *alias_attribute;
	char		 *member_attribute; /* a group's members as DNs */
	int		  starttls;
	char		 *tls_ca;	/* NULL: libldap's default CAs */
	unsigned	  timeout;	/* default 5s */
	unsigned	  cache;	/* default 60s, 0 = off */
	int		  line;
};

struct conf {
	int			 refcnt;
	char			*path;		/* the file it was read from */
	char			*hostname;	/* default: gethostname() */
	char			*spool;		/* default /var/spool/postern */
	char			*user;		/* optional */
	char			*control;	/* default SPOOL/control.sock */
	enum conf_log		 log;
	int			 log_debug;
	char			*metrics;	/* optional "ip:port" text */

	struct conf_dnslist	**dnslists;	/* [0] is always "internal" */
	size_t			 ndnslists;

	char			**local_domains; /* lowercase */
	size_t			 nlocal_domains;
	int			 local_domain_line; /* first one, for errors */

	enum conf_dir_type	 directory;
	char			*directory_file;
	int			 directory_line;
	struct conf_ldap	 ldap;

	unsigned		 mailbox_port;	/* default 25 */
	enum conf_tls_policy	 mailbox_tls;	/* default may */
	char			*mailbox_tls_ca; /* NULL: the system store */
	char			*mailbox_store;	/* default SPOOL/mailboxes */

	struct conf_vserver	**vservers;
	size_t			 nvservers;
	struct conf_connector	**connectors;
	size_t			 nconnectors;
	struct conf_queue	 queue;
	struct conf_dkim_key	**dkim_keys;
	size_t			 ndkim_keys;
	struct conf_milter	**milters;
	size_t			 nmilters;
	struct conf_cluster	*cluster;	/* NULL: one gateway alone */
};

/*
 * Read and check `path`.  On success *out is a new snapshot with refcnt 1
 * and 0 is returned; on failure -1 and err holds "FILE:LINE: message"
 * (or "FILE: message" when no line applies).
 */
int	conf_load(const char *path, struct conf **out, char *err, size_t errlen);
/* The same, from a string (name is used in messages); for tests. */
int	conf_load_string(const char *name, const char *text, struct conf **out,
	    char *err, size_t errlen);
struct conf *conf_ref(struct conf *c);
void	conf_unref(struct conf *c);

/* Lookups over a snapshot. */
struct conf_vserver	*conf_vserver_find(const struct conf *c, const char *name);
struct conf_connector	*conf_connector_find(const struct conf *c,
			    const char *name);
struct conf_dnslist	*conf_dnslist_find(const struct conf *c,
			    const char *name);
struct conf_dkim_key	*conf_dkim_key_find(const struct conf *c,
			    const char *name);
/* Same cluster block (both NULL, or every setting equal)? */
int	conf_cluster_equal(const struct conf_cluster *a,
	    const struct conf_cluster *b);
struct conf_milter	*conf_milter_find(const struct conf *c,
			    const char *name);
/* Is `domain` (lowercase, no trailing dot) a local domain? */
int			 conf_is_local_domain(const struct conf *c,
			    const char *domain);

#endif
