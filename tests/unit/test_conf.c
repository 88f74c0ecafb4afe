/*
 * test_conf — the configuration module on valid input: a full file read
 * back field by field, the defaults, the value kinds, DNS list naming, the
 * example shipped in etc/, and the file-level errors (missing, too large,
 * line too long).  One case per configuration error is in
 * test_conf_errors.c.  Run from tests/unit (the Makefile does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "postern_limits.h"

#define NAME	"t.conf"

static struct conf *
load(const char *text)
{
	struct conf *c = NULL;
	char err[CONF_ERR_MAX] = "";

	if (conf_load_string(NAME, text, &c, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(c);
	return c;
}

static const char full[] =
    "# a configuration with every statement\n"			/* 1 */
    "hostname Gateway.Winery-Co.co\n"
    "spool /var/spool/postern-test\n"
    "user postern\n"
    "control /run/postern.sock\n"				/* 5 */
    "log syslog\n"
    "log-level debug\n"
    "metrics 127.0.0.1:9125\n"
    "dns 10.0.0.53 10.0.0.54:5353 [2001:db8::53] [2001:db8::54]:54\n"
    "dns-list external 198.51.100.53 198.51.100.54\n"		/* 10 */
    "dns-list partner 192.0.2.53\n"
    "local-domain winery-co.co Winery.LOCAL\n"
    "local-domain example.net\n"
    "directory file /etc/postern/directory\n"
    "mailbox-port 2525\n"					/* 15 */
    "mailbox-tls verify\n"
    "mailbox-store /srv/mail\n"
    "virtual-server internet {\n"
    "\tlisten 203.0.113.25:25\n"
    "\tlisten 203.0.113.25:465 tls\n"				/* 20 */
    "\tlisten [2001:db8::25]\n"
    "\trelay deny\n"
    "\tanonymous yes\n"
    "\tdns internal\n"
    "\thostname mx.winery-co.co\n"				/* 25 */
    "\tbanner \"ESMTP \\\"ready\\\" \\\\o/\"   # a comment\n"
    "\ttls certificate /etc/ssl/cert.pem key /etc/ssl/key.pem required\n"
    "\tauth /etc/postern/users\n"
    "\tmax-auth-failures 3\n"
    "\tmax-message-size 10M\n"					/* 30 */
    "\tmax-recipients 100\n"
    "\tmax-connections 1000\n"
    "\tmax-connections-per-ip 20\n"
    "\ttimeout 5m\n"
    "\tmax-errors 5\n"						/* 35 */
    "\tmax-unknown-recipients 7\n"
    "\tfilter {\n"
    "\t\tblock-sender spam@bad.example @Bad.Example <>\n"
    "\t\tblock-sender Other@Spam.example\n"
    "\t\tblock-senders-file /etc/postern/blocked\n"		/* 40 */
    "\t\tblock-recipient Internal-All@winery-co.co\n"
    "\t\tblock-client 192.0.2.0/24 2001:db8:bad::/48\n"
    "\t\tallow-client 192.0.2.7/32\n"
    "\t\tdnsbl zen.example.org\n"
    "\t\tdnsbl bl.example.net\n"					/* 45 */
    "\t\trate-limit 30/m\n"
    "\t\tgreet-wait 2s\n"
    "\t}\n"
    "}\n"
    "virtual-server intranet {\n"				/* 50 */
    "\tlisten 10.0.0.25:25\n"
    "\trelay allow 10.0.0.0/8 127.0.0.0/8 authenticated\n"
    "\tanonymous no\n"
    "\tdns 10.0.0.99\n"
    "\texternal-dns 198.51.100.1 198.51.100.2:5353\n"		/* 55 */
    "}\n"
    "virtual-server submission{\n"
    "\tlisten 10.0.0.25:587\n"
    "\trelay authenticated\n"
    "\texternal-dns external\n"					/* 60 */
    "}\n"
    "connector internet {\n"
    "\taddress-space * cost 5\n"
    "\taddress-space partner.example cost 2 relay\n"
    "\taddress-space *.Partner.example\n"			/* 65 */
    "\thome intranet\n"
    "\troute dns\n"
    "\tdns partner\n"
    "\tport 2525\n"
    "\ttls encrypt\n"						/* 70 */
    "\ttls-ca /etc/ssl/ca.pem\n"
    "\tsource 203.0.113.25\n"
    "}\n"
    "connector smart {\n"
    "\taddress-space example.org relay cost 0\n"		/* 75 */
    "\thome submission\n"
    "\troute smarthost [10.0.0.25]:25 [mail.winery.local] "
    "relay.winery.local relay2.winery.local:587 [2001:db8::1]:25\n"
    "\tdns 192.0.2.1\n"
    "\tsource [2001:db8::25]\n"
    "}\n"							/* 80 */
    "queue {\n"
    "\tretry 30s 2m 1h\n"
    "\texpire 2d\n"
    "\tdelay-warning 4h\n"
    "\tconcurrency 50\n"					/* 85 */
    "\tper-destination 10\n"
    "\tconnect-timeout 10s\n"
    "\tcommand-timeout 2m\n"					/* 90 */
    "\tdata-timeout 1h\n"
    "}\n";

static void
assert_sa(const struct sockaddr_storage *ss, const char *ip, int port)
{
	char buf[64];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		assert_int_equal(ss->ss_family, AF_INET6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin6->sin6_port), port);
	}
	assert_string_equal(buf, ip);
}

static void
test_full(void **state)
{
	struct conf *c = load(full);
	struct conf_vserver *vs;
	struct conf_connector *cn;
	struct conf_dnslist *l;
	struct sockaddr_in sin = { .sin_family = AF_INET };

	(void)state;
	assert_int_equal(c->refcnt, 1);
	assert_string_equal(c->path, NAME);
	assert_string_equal(c->hostname, "gateway.winery-co.co");
	assert_string_equal(c->spool, "/var/spool/postern-test");
	assert_string_equal(c->user, "postern");
	assert_string_equal(c->control, "/run/postern.sock");
	assert_int_equal(c->log, CONF_LOG_SYSLOG);
	assert_int_equal(c->log_debug, 1);
	assert_string_equal(c->metrics, "127.0.0.1:9125");

	/* internal, external, partner, then the unnamed ones */
	assert_int_equal(c->ndnslists, 6);
	l = c->dnslists[0];
	assert_string_equal(l->name, "internal");
	assert_int_equal(l->use_resolv_conf, 0);
	assert_int_equal(l->line, 9);
	assert_int_equal(l->nservers, 4);
	assert_string_equal(l->servers[0], "10.0.0.53:53");
	assert_string_equal(l->servers[1], "10.0.0.54:5353");
	assert_string_equal(l->servers[2], "[2001:db8::53]:53");
	assert_string_equal(l->servers[3], "[2001:db8::54]:54");
	l = conf_dnslist_find(c, "external");
	assert_non_null(l);
	assert_int_equal(l->unnamed, 0);
	assert_int_equal(l->nservers, 2);
	assert_string_equal(l->servers[1], "198.51.100.54:53");
	assert_ptr_equal(conf_dnslist_find(c, "internal"), c->dnslists[0]);
	assert_null(conf_dnslist_find(c, "nosuch"));

	assert_int_equal(c->nlocal_domains, 3);
	assert_string_equal(c->local_domains[1], "winery.local");
	assert_int_equal(c->local_domain_line, 12);
	assert_true(conf_is_local_domain(c, "example.net"));
	assert_true(conf_is_local_domain(c, "winery.local"));
	assert_false(conf_is_local_domain(c, "example.org"));
	assert_int_equal(c->directory, DIR_FILE);
	assert_string_equal(c->directory_file, "/etc/postern/directory");
	assert_int_equal(c->directory_line, 14);
	assert_int_equal(c->mailbox_port, 2525);
	assert_int_equal(c->mailbox_tls, TLS_VERIFY);
	assert_string_equal(c->mailbox_store, "/srv/mail");

	assert_int_equal(c->nvservers, 3);
	vs = conf_vserver_find(c, "internet");
	assert_ptr_equal(vs, c->vservers[0]);
	assert_int_equal(vs->line, 18);
	assert_int_equal(vs->nlisten, 3);
	assert_sa(&vs->listen[0].ss, "203.0.113.25", 25);
	assert_int_equal(vs->listen[0].tls, 0);
	assert_int_equal(vs->listen[0].line, 19);
	assert_sa(&vs->listen[1].ss, "203.0.113.25", 465);
	assert_int_equal(vs->listen[1].tls, 1);
	assert_string_equal(vs->listen[1].text, "203.0.113.25:465");
	assert_sa(&vs->listen[2].ss, "2001:db8::25", 25);
	assert_int_equal(vs->nrelay_allow, 0);
	assert_int_equal(vs->relay_authenticated, 0);
	assert_int_equal(vs->anonymous, 1);
	assert_ptr_equal(vs->dns, c->dnslists[0]);
	assert_null(vs->external_dns);
	assert_string_equal(vs->hostname, "mx.winery-co.co");
	assert_string_equal(vs->banner, "ESMTP \"ready\" \\o/");
	assert_string_equal(vs->tls_cert, "/etc/ssl/cert.pem");
	assert_string_equal(vs->tls_key, "/etc/ssl/key.pem");
	assert_int_equal(vs->tls_required, 1);
	assert_string_equal(vs->auth_file, "/etc/postern/users");
	assert_int_equal(vs->max_auth_failures, 3);
	assert_int_equal(vs->max_message_size, 10 * 1024 * 1024);
	assert_int_equal(vs->max_recipients, 100);
	assert_int_equal(vs->max_connections, 1000);
	assert_int_equal(vs->max_connections_per_ip, 20);
	assert_int_equal(vs->timeout, 300);
	assert_int_equal(vs->max_errors, 5);
	assert_int_equal(vs->max_unknown_recipients, 7);
	assert_int_equal(vs->filter.nblock_sender, 4);
	assert_string_equal(vs->filter.block_sender[0], "spam@bad.example");
	assert_string_equal(vs->filter.block_sender[1], "@bad.example");
	assert_string_equal(vs->filter.block_sender[2], "<>");
	assert_string_equal(vs->filter.block_sender[3], "other@spam.example");
	assert_string_equal(vs->filter.block_senders_file,
	    "/etc/postern/blocked");
	assert_int_equal(vs->filter.nblock_recipient, 1);
	assert_string_equal(vs->filter.block_recipient[0],
	    "internal-all@winery-co.co");
	assert_int_equal(vs->filter.nblock_client, 2);
	assert_int_equal(vs->filter.block_client[0].prefix, 24);
	assert_int_equal(vs->filter.block_client[1].family, AF_INET6);
	assert_int_equal(vs->filter.block_client[1].prefix, 48);
	assert_int_equal(vs->filter.nallow_client, 1);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	assert_true(netaddr_cidr_match_any(vs->filter.allow_client,
	    vs->filter.nallow_client, (struct sockaddr *)&sin));
	assert_int_equal(vs->filter.ndnsbl, 2);
	assert_string_equal(vs->filter.dnsbl[1], "bl.example.net");
	assert_int_equal(vs->filter.rate_limit, 30);
	assert_int_equal(vs->filter.greet_wait_ms, 2000);

	vs = conf_vserver_find(c, "intranet");
	assert_non_null(vs);
	assert_int_equal(vs->nrelay_allow, 2);
	assert_int_equal(vs->relay_allow[1].prefix, 8);
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	assert_true(netaddr_cidr_match_any(vs->relay_allow, vs->nrelay_allow,
	    (struct sockaddr *)&sin));
	assert_int_equal(vs->relay_authenticated, 1);
	assert_int_equal(vs->anonymous, 0);
	assert_non_null(vs->dns);
	assert_ptr_not_equal(vs->dns, c->dnslists[0]);
	assert_int_equal(vs->dns->unnamed, 1);
	assert_string_equal(vs->dns->name, "internal");
	assert_string_equal(vs->dns->servers[0], "10.0.0.99:53");
	assert_non_null(vs->external_dns);
	assert_int_equal(vs->external_dns->unnamed, 1);
	assert_string_equal(vs->external_dns->name, "external");
	assert_int_equal(vs->external_dns->line, 55);
	assert_int_equal(vs->external_dns->nservers, 2);
	assert_string_equal(vs->external_dns->servers[1], "198.51.100.2:5353");
	/* the named list wins a lookup by name */
	assert_ptr_not_equal(conf_dnslist_find(c, "external"),
	    vs->external_dns);
	assert_string_equal(vs->banner, "ESMTP postern");

	vs = conf_vserver_find(c, "submission");
	assert_non_null(vs);
	assert_int_equal(vs->nrelay_allow, 0);
	assert_int_equal(vs->relay_authenticated, 1);
	assert_ptr_equal(vs->external_dns, conf_dnslist_find(c, "external"));
	assert_null(conf_vserver_find(c, "nosuch"));

	assert_int_equal(c->nconnectors, 2);
	cn = conf_connector_find(c, "internet");
	assert_non_null(cn);
	assert_int_equal(cn->line, 62);
	assert_int_equal(cn->nspaces, 3);
	assert_string_equal(cn->spaces[0].pattern, "*");
	assert_int_equal(cn->spaces[0].cost, 5);
	assert_int_equal(cn->spaces[0].relay, 0);
	assert_string_equal(cn->spaces[1].pattern, "partner.example");
	assert_int_equal(cn->spaces[1].cost, 2);
	assert_int_equal(cn->spaces[1].relay, 1);
	assert_string_equal(cn->spaces[2].pattern, "*.partner.example");
	assert_int_equal(cn->spaces[2].cost, 1);
	assert_int_equal(cn->spaces[2].line, 65);
	assert_string_equal(cn->home_name, "intranet");
	assert_int_equal(cn->home_line, 66);
	assert_ptr_equal(cn->home, conf_vserver_find(c, "intranet"));
	assert_int_equal(cn->route, ROUTE_DNS);
	assert_ptr_equal(cn->dns, conf_dnslist_find(c, "partner"));
	assert_int_equal(cn->port, 2525);
	assert_int_equal(cn->tls, TLS_ENCRYPT);
	assert_string_equal(cn->tls_ca, "/etc/ssl/ca.pem");
	assert_string_equal(cn->source, "203.0.113.25");
	assert_sa(&cn->source_ss, "203.0.113.25", 0);
	assert_int_equal(cn->source_sslen, sizeof(struct sockaddr_in));

	cn = conf_connector_find(c, "smart");
	assert_non_null(cn);
	assert_int_equal(cn->spaces[0].cost, 0);
	assert_int_equal(cn->spaces[0].relay, 1);
	assert_ptr_equal(cn->home, conf_vserver_find(c, "submission"));
	assert_int_equal(cn->route, ROUTE_SMARTHOST);
	assert_int_equal(cn->nsmarthosts, 5);
	assert_string_equal(cn->smarthosts[0], "[10.0.0.25]:25");
	assert_string_equal(cn->smarthosts[1], "[mail.winery.local]");
	assert_string_equal(cn->smarthosts[3], "relay2.winery.local:587");
	assert_string_equal(cn->smarthosts[4], "[2001:db8::1]:25");
	assert_int_equal(cn->dns->unnamed, 1);
	assert_string_equal(cn->dns->name, "external");
	assert_string_equal(cn->dns->servers[0], "192.0.2.1:53");
	assert_int_equal(cn->port, 25);
	assert_int_equal(cn->tls, TLS_MAY);
	assert_sa(&cn->source_ss, "2001:db8::25", 0);
	assert_null(conf_connector_find(c, "nosuch"));

	assert_int_equal(c->queue.nretry, 3);
	assert_int_equal(c->queue.retry[0], 30);
	assert_int_equal(c->queue.retry[1], 120);
	assert_int_equal(c->queue.retry[2], 3600);
	assert_int_equal(c->queue.expire, 2 * 86400);
	assert_int_equal(c->queue.delay_warning, 4 * 3600);
	assert_int_equal(c->queue.concurrency, 50);
	assert_int_equal(c->queue.per_destination, 10);
	assert_int_equal(c->queue.connect_timeout, 10);
	assert_int_equal(c->queue.command_timeout, 120);
	assert_int_equal(c->queue.data_timeout, 3600);

	assert_ptr_equal(conf_ref(c), c);
	assert_int_equal(c->refcnt, 2);
	conf_unref(c);
	assert_int_equal(c->refcnt, 1);
	conf_unref(c);
}

static void
test_defaults(void **state)
{
	struct conf *c = load("virtual-server a {\n\tlisten 127.0.0.1\n}\n");
	struct conf_vserver *vs = c->vservers[0];
	static const unsigned retry[] = { 60, 300, 900, 1800, 3600, 7200,
	    14400 };

	(void)state;
	assert_non_null(c->hostname);
	assert_true(c->hostname[0] != '\0');
	assert_string_equal(c->spool, "/var/spool/postern");
	assert_string_equal(c->control, "/var/spool/postern/control.sock");
	assert_string_equal(c->mailbox_store, "/var/spool/postern/mailboxes");
	assert_null(c->user);
	assert_null(c->metrics);
	assert_int_equal(c->log, CONF_LOG_DEFAULT);
	assert_int_equal(c->log_debug, 0);
	assert_int_equal(c->ndnslists, 1);
	assert_string_equal(c->dnslists[0]->name, "internal");
	assert_int_equal(c->dnslists[0]->use_resolv_conf, 1);
	assert_int_equal(c->dnslists[0]->nservers, 0);
	assert_int_equal(c->nlocal_domains, 0);
	assert_int_equal(c->directory, DIR_NONE);
	assert_int_equal(c->mailbox_port, 25);
	assert_int_equal(c->mailbox_tls, TLS_MAY);

	assert_sa(&vs->listen[0].ss, "127.0.0.1", 25);
	assert_int_equal(vs->nrelay_allow, 0);
	assert_int_equal(vs->relay_authenticated, 0);
	assert_int_equal(vs->anonymous, 1);
	assert_ptr_equal(vs->dns, c->dnslists[0]);
	assert_null(vs->external_dns);
	assert_null(vs->hostname);
	assert_string_equal(vs->banner, "ESMTP postern");
	assert_null(vs->tls_cert);
	assert_int_equal(vs->max_auth_failures, 5);
	assert_int_equal(vs->max_message_size, 35 * 1024 * 1024);
	assert_int_equal(vs->max_recipients, 500);
	assert_int_equal(vs->max_connections, 2000);
	assert_int_equal(vs->max_connections_per_ip, 50);
	assert_int_equal(vs->timeout, 300);
	assert_int_equal(vs->max_errors, 10);
	assert_int_equal(vs->max_unknown_recipients, 20);
	assert_int_equal(vs->filter.nblock_sender, 0);
	assert_int_equal(vs->filter.rate_limit, 0);
	assert_int_equal(vs->filter.greet_wait_ms, 0);

	assert_int_equal(c->queue.nretry, 7);
	assert_memory_equal(c->queue.retry, retry, sizeof(retry));
	assert_int_equal(c->queue.expire, 5 * 86400);
	assert_int_equal(c->queue.delay_warning, 0);
	assert_int_equal(c->queue.concurrency, 200);
	assert_int_equal(c->queue.per_destination, 20);
	/* RFC 5321 4.5.3.2: 5 min per command, 10 min for the final dot */
	assert_int_equal(c->queue.connect_timeout, 30);
	assert_int_equal(c->queue.command_timeout, 300);
	assert_int_equal(c->queue.data_timeout, 600);
	assert_string_equal(c->ldap.filter, "(mail=%s)");
	assert_int_equal(c->ldap.timeout, 5);
	assert_int_equal(c->ldap.cache, 60);
	assert_int_equal(c->ldap.starttls, 0);
	conf_unref(c);

	/* control and mailbox-store follow spool; an empty file is valid */
	c = load("spool run/spool\n");
	assert_string_equal(c->control, "run/spool/control.sock");
	assert_string_equal(c->mailbox_store, "run/spool/mailboxes");
	assert_int_equal(c->nvservers, 0);
	conf_unref(c);
	c = load("");
	conf_unref(c);
}

static void
test_ldap(void **state)
{
	struct conf *c = load(
	    "local-domain winery-co.co\n"
	    "directory ldap {\n"
	    "  uri \"ldap://dc1.winery.local\" ldaps://dc2.winery.local\n"
	    "  base \"dc=winery,dc=local\"\n"
	    "  bind-dn \"cn=gateway,ou=services,dc=winery,dc=local\"\n"
	    "  password-file /etc/postern/ldap.secret\n"
	    "  filter \"(|(mail=%s)(proxyAddresses=smtp:%s)(x=%u@%d)(y=100%%))\"\n"
	    "  host-attribute msExchHomeServerName\n"
	    "  alias-attribute rfc822MailMember\n"
	    "  starttls yes\n"
	    "  timeout 10s\n"
	    "  cache 0\n"
	    "}\n");

	(void)state;
	assert_int_equal(c->directory, DIR_LDAP);
	assert_int_equal(c->directory_line, 2);
	assert_int_equal(c->ldap.line, 2);
	assert_int_equal(c->ldap.nuri, 2);
	assert_string_equal(c->ldap.uri[0], "ldap://dc1.winery.local");
	assert_string_equal(c->ldap.uri[1], "ldaps://dc2.winery.local");
	assert_string_equal(c->ldap.base, "dc=winery,dc=local");
	assert_string_equal(c->ldap.bind_dn,
	    "cn=gateway,ou=services,dc=winery,dc=local");
	assert_string_equal(c->ldap.password_file, "/etc/postern/ldap.secret");
	assert_string_equal(c->ldap.filter,
	    "(|(mail=%s)(proxyAddresses=smtp:%s)(x=%u@%d)(y=100%%))");
	assert_string_equal(c->ldap.host_attribute, "msExchHomeServerName");
	assert_string_equal(c->ldap.alias_attribute, "rfc822MailMember");
	assert_int_equal(c->ldap.starttls, 1);
	assert_int_equal(c->ldap.timeout, 10);
	assert_int_equal(c->ldap.cache, 0);
	conf_unref(c);
}

/* One value of one keyword, read into the field it sets. */
static void
test_values(void **state)
{
	static const struct {
		const char	*text;
		uint64_t	 want;
	} sizes[] = {
		{ "1024", 1024 }, { "1K", 1024 }, { "1k", 1024 },
		{ "35M", 35ULL << 20 }, { "2G", 2ULL << 30 },
		{ "4G", 4ULL << 30 },
	}, durs[] = {
		{ "90", 90 }, { "90s", 90 }, { "2m", 120 }, { "2h", 7200 },
		{ "1d", 86400 },
	}, waits[] = {
		{ "0", 0 }, { "500ms", 500 }, { "2", 2000 }, { "2s", 2000 },
		{ "1m", 60000 },
	}, rates[] = {
		{ "30/m", 30 }, { "2/s", 120 }, { "120/h", 2 },
	};
	char text[512];
	struct conf *c;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(text, sizeof(text), "virtual-server a {\nlisten "
		    "127.0.0.1\nmax-message-size %s\n}\n", sizes[i].text);
		c = load(text);
		assert_int_equal(c->vservers[0]->max_message_size,
		    sizes[i].want);
		conf_unref(c);
	}
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		snprintf(text, sizeof(text), "virtual-server a {\nlisten "
		    "127.0.0.1\ntimeout %s\n}\n", durs[i].text);
		c = load(text);
		assert_int_equal(c->vservers[0]->timeout, durs[i].want);
		conf_unref(c);
	}
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		snprintf(text, sizeof(text), "virtual-server a {\nlisten "
		    "127.0.0.1\nfilter {\ngreet-wait %s\n}\n}\n",
		    waits[i].text);
		c = load(text);
		assert_int_equal(c->vservers[0]->filter.greet_wait_ms,
		    waits[i].want);
		conf_unref(c);
	}
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		snprintf(text, sizeof(text), "virtual-server a {\nlisten "
		    "127.0.0.1\nfilter {\nrate-limit %s\n}\n}\n",
		    rates[i].text);
		c = load(text);
		assert_int_equal(c->vservers[0]->filter.rate_limit,
		    rates[i].want);
		conf_unref(c);
	}
	/* the outbound timeouts, at their bounds (1s and 1h) too */
	c = load("queue {\nconnect-timeout 1\ncommand-timeout 1s\n"
	    "data-timeout 60m\n}\n");
	assert_int_equal(c->queue.connect_timeout, 1);
	assert_int_equal(c->queue.command_timeout, 1);
	assert_int_equal(c->queue.data_timeout, 3600);
	conf_unref(c);
	c = load("queue {\nconnect-timeout 1h\ncommand-timeout 3600\n"
	    "data-timeout 1s\n}\n");
	assert_int_equal(c->queue.connect_timeout, 3600);
	assert_int_equal(c->queue.command_timeout, 3600);
	assert_int_equal(c->queue.data_timeout, 1);
	conf_unref(c);
}

/* Names resolve wherever they are defined; inline lists stay unnamed. */
static void
test_dns_lists(void **state)
{
	struct conf *c = load(
	    "virtual-server a {\n"
	    "  listen 127.0.0.1\n"
	    "  dns late\n"
	    "  external-dns internal\n"
	    "}\n"
	    "connector c {\n"
	    "  address-space example.com\n"
	    "  home a\n"
	    "  dns [::1]:5353\n"
	    "}\n"
	    "dns-list late 192.0.2.1\n"
	    "dns-list external 192.0.2.2\n");
	struct conf_vserver *vs = c->vservers[0];

	(void)state;
	assert_ptr_equal(vs->dns, conf_dnslist_find(c, "late"));
	assert_int_equal(vs->dns->line, 11);
	assert_ptr_equal(vs->external_dns, c->dnslists[0]);
	assert_string_equal(c->connectors[0]->dns->name, "external");
	assert_int_equal(c->connectors[0]->dns->unnamed, 1);
	assert_string_equal(c->connectors[0]->dns->servers[0], "[::1]:5353");
	assert_ptr_not_equal(conf_dnslist_find(c, "external"),
	    c->connectors[0]->dns);
	assert_string_equal(conf_dnslist_find(c, "external")->servers[0],
	    "192.0.2.2:53");
	conf_unref(c);
}

/* The example the administrator reads first must load as it is. */
static void
test_example(void **state)
{
	struct conf *c = NULL;
	char err[CONF_ERR_MAX] = "";
	struct conf_vserver *vs;

	(void)state;
	if (conf_load("../../etc/postern.conf.example", &c, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c->hostname, "gateway.winery-co.co");
	assert_string_equal(c->spool, "run/spool");
	assert_null(c->user);
	assert_int_equal(c->log, CONF_LOG_STDERR);
	assert_string_equal(c->dnslists[0]->servers[0], "127.0.0.1:5353");
	assert_string_equal(conf_dnslist_find(c, "external")->servers[0],
	    "127.0.0.1:5354");
	assert_true(conf_is_local_domain(c, "winery-co.co"));
	assert_int_equal(c->directory, DIR_FILE);
	assert_string_equal(c->directory_file, "etc/directory.example");
	assert_string_equal(c->mailbox_store, "run/spool/mailboxes");
	vs = conf_vserver_find(c, "internet");
	assert_non_null(vs);
	assert_int_equal(vs->nlisten, 2);
	assert_sa(&vs->listen[0].ss, "127.0.0.1", 2525);
	assert_sa(&vs->listen[1].ss, "::1", 2525);
	assert_int_equal(vs->nrelay_allow, 0);
	assert_int_equal(vs->filter.nblock_client, 1);
	vs = conf_vserver_find(c, "intranet");
	assert_non_null(vs);
	assert_int_equal(vs->nrelay_allow, 2);
	assert_ptr_equal(vs->external_dns, conf_dnslist_find(c, "external"));
	assert_ptr_equal(c->connectors[0]->home, vs);
	assert_string_equal(c->connectors[0]->spaces[0].pattern, "*");
	conf_unref(c);
}

static void
test_file_errors(void **state)
{
	struct conf *c = NULL;
	char err[CONF_ERR_MAX];
	char *big;

	(void)state;
	assert_int_equal(conf_load("no-such.conf", &c, err, sizeof(err)), -1);
	assert_null(c);
	assert_true(strncmp(err, "no-such.conf: cannot open: ", 27) == 0);

	assert_int_equal(conf_load(".", &c, err, sizeof(err)), -1);
	assert_string_equal(err, ".: not a regular file");

	big = malloc(CONF_FILE_MAX + 2);
	memset(big, '#', CONF_FILE_MAX + 1);
	big[CONF_FILE_MAX + 1] = '\0';
	assert_int_equal(conf_load_string(NAME, big, &c, err, sizeof(err)),
	    -1);
	assert_null(c);
	assert_true(strstr(err, NAME ": file too large") == err);

	/* a line of exactly the limit is fine, one more is not */
	memset(big, '#', CONF_LINE_MAX);
	big[CONF_LINE_MAX] = '\n';
	strcpy(big + CONF_LINE_MAX + 1, "#\n");
	assert_int_equal(conf_load_string(NAME, big, &c, err, sizeof(err)),
	    0);
	conf_unref(c);
	strcpy(big + CONF_LINE_MAX, "#\n");
	assert_int_equal(conf_load_string(NAME, big, &c, err, sizeof(err)),
	    -1);
	assert_true(strstr(err, NAME ":1: line too long") == err);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ldap),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_dns_lists),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
