/*
 * test_conf_errors — one case per configuration error: the exact
 * FILE:LINE: prefix (the line of the statement at fault, as postern.conf(5)
 * says) and a recognisable message, and no snapshot returned.  Cases run
 * under ASan in `make check`, so every error path is also checked for leaks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conf.h"

#define NAME	"t.conf"
#define VS	"virtual-server a {\n  listen 127.0.0.1:25\n"

static const struct {
	const char	*text;
	int		 line;
	const char	*msg;
} errors[] = {
	/* lexer */
	{ "hostname \"gateway\n", 1, "unterminated quoted string" },
	{ "# c\n\nbanner \"abc\n\"\n", 3, "unterminated quoted string" },
	{ VS "  banner \"a\\tb\"\n}\n", 3, "bad escape" },
	{ "spool \"/a\"b\n", 1, "followed by a blank" },
	{ "spool /a\"b\"\n", 1, "quote in the middle" },
	{ "spool /a\x01\n", 1, "control character 0x01" },

	/* grammar */
	{ "\n\nfoo bar\n", 3, "unknown keyword \"foo\"" },
	{ VS "  frobnicate 1\n}\n", 3, "unknown keyword \"frobnicate\"" },
	{ VS "  filter {\n    block-everything\n  }\n}\n", 4,
	  "unknown keyword \"block-everything\"" },
	{ "connector c {\n  smarthost x\n}\n", 2,
	  "unknown keyword \"smarthost\"" },
	{ "queue {\n  retries 1m\n}\n", 2, "unknown keyword \"retries\"" },
	{ "directory ldap {\n  url ldap://x\n}\n", 2,
	  "unknown keyword \"url\"" },
	{ "listen 127.0.0.1:25\n", 1,
	  "\"listen\" is not allowed at top level (only in a virtual-server "
	  "block)" },
	{ VS "  spool /tmp\n}\n", 3,
	  "\"spool\" is not allowed in a virtual-server block (only at top "
	  "level)" },
	{ "queue {\n  timeout 5s\n}\n", 2, "\"timeout\" is not allowed in a "
	  "queue block (only in a virtual-server block, in a directory "
	  "ldap block, in a milter block or in a cluster block)" },
	{ VS "  filter {\n    listen 127.0.0.2\n  }\n}\n", 4,
	  "\"listen\" is not allowed in a filter block" },
	{ VS "  virtual-server b {\n", 3, "\"virtual-server\" is not allowed "
	  "in a virtual-server block" },
	{ "spool /a\nspool /b\n", 2, "duplicate \"spool\" (first at line 1)" },
	{ VS "  banner x\n  banner y\n}\n", 4,
	  "duplicate \"banner\" (first at line 3)" },
	{ VS "  filter {\n  }\n  filter {\n  }\n}\n", 5,
	  "duplicate \"filter\" (first at line 3)" },
	{ "queue {\n}\nqueue {\n}\n", 3, "duplicate \"queue\"" },
	{ "\n}\n", 2, "\"}\" without an open block" },
	{ VS "} x\n", 3, "unexpected \"x\" after \"}\"" },
	{ VS "}\n{\n", 4, "\"{\" must end the line" },
	{ "\n" VS "  filter {\n  }\n", 2,
	  "\"virtual-server\" block is never closed" },
	{ VS "  filter {\n", 3, "\"filter\" block is never closed" },
	{ "queue\n", 1, "\"queue\" opens a block" },
	{ "queue x {\n}\n", 1, "\"queue\" takes no value" },
	{ VS "  banner {\n}\n}\n", 3, "\"banner\" does not open a block" },
	{ "spool\n", 1, "\"spool\" needs a value" },
	{ "spool /a /b\n", 1, "\"spool\" takes one value" },
	{ "spool \"\"\n", 1, "empty value for \"spool\"" },
	{ "spool /a { x\n", 1, "unexpected \"{\"" },

	/* values */
	{ "log console\n", 1, "\"log\" takes stderr or syslog" },
	{ "log-level verbose\n", 1, "\"log-level\" takes info or debug" },
	{ "mailbox-tls maybe\n", 1,
	  "\"mailbox-tls\" takes none, may, encrypt or verify" },
	{ "mailbox-port 0\n", 1, "\"mailbox-port\" must be between 1 and "
	  "65535" },
	{ "mailbox-port 25x\n", 1, "bad number \"25x\" for \"mailbox-port\"" },
	{ "mailbox-port -1\n", 1, "bad number \"-1\"" },
	{ "hostname bad_host.example\n", 1, "bad host name "
	  "\"bad_host.example\"" },
	{ "hostname gateway.example.\n", 1, "bad host name" },
	{ VS "  anonymous maybe\n}\n", 3, "\"anonymous\" takes yes or no" },
	{ VS "  banner \"caf\xc3\xa9\"\n}\n", 3, "printable ASCII" },
	{ VS "  max-message-size 35X\n}\n", 3, "bad size \"35X\"" },
	{ VS "  max-message-size 5G\n}\n", 3,
	  "\"max-message-size\" must be between 1K and 4G" },
	{ VS "  max-message-size 99999999999999999999\n}\n", 3,
	  "bad size" },
	{ VS "  max-recipients 0\n}\n", 3, "\"max-recipients\" must be "
	  "between 1 and 100000" },
	{ VS "  timeout 5x\n}\n", 3, "bad duration \"5x\" for \"timeout\"" },
	{ VS "  timeout 0s\n}\n", 3, "\"timeout\" must be between 1s and 1d" },
	{ VS "  timeout 5ms\n}\n", 3, "bad duration" },
	{ VS "  filter {\n    greet-wait 2x\n  }\n}\n", 4, "bad duration" },
	{ VS "  filter {\n    greet-wait 2m\n  }\n}\n", 4,
	  "\"greet-wait\" must be between 0s and 1m" },
	{ "queue {\n  retry 1m 5x\n}\n", 2, "bad duration \"5x\" for "
	  "\"retry\"" },
	{ "queue {\n  retry\n}\n", 2, "\"retry\" needs a value" },

	/* dns */
	{ "dns 10.0.0.300\n", 1, "bad DNS server address \"10.0.0.300\"" },
	{ "dns 10.0.0.53 ::1\n", 1, "bad DNS server address \"::1\"" },
	{ "dns internal\n", 1, "bad DNS server address \"internal\"" },
	{ "dns 10.0.0.53\ndns 10.0.0.54\n", 2, "duplicate \"dns\"" },
	{ "dns-list ext 192.0.2.1\ndns-list ext 192.0.2.2\n", 2,
	  "duplicate DNS list \"ext\" (first at line 1)" },
	{ "dns-list internal 192.0.2.1\n", 1,
	  "the DNS list name \"internal\" is reserved" },
	{ "dns-list ext\n", 1, "\"dns-list\" takes NAME SERVER..." },
	{ "dns-list 192.0.2.1 192.0.2.2\n", 1, "\"dns-list\" takes NAME "
	  "SERVER..." },
	{ "dns-list ext 192.0.2.1 nameserver\n", 1,
	  "bad DNS server address \"nameserver\"" },
	{ VS "  external-dns nosuch\n}\n", 3, "unknown DNS list \"nosuch\"" },
	{ VS "  dns 10.0.0\n}\n", 3, "unknown DNS list \"10.0.0\"" },
	{ VS "  dns bad!name\n}\n", 3, "bad DNS list name \"bad!name\"" },
	{ "connector c {\n  address-space *\n  home a\n  dns nosuch\n}\n"
	  VS "}\n", 4, "unknown DNS list \"nosuch\"" },

	/* virtual-server */
	{ "virtual-server a {\n}\n", 1,
	  "virtual-server \"a\" has no listen address" },
	{ "virtual-server {\n}\n", 1, "\"virtual-server\" needs a value" },
	{ "virtual-server a/b {\n}\n", 1, "bad virtual-server name" },
	{ VS "}\n\nvirtual-server a {\n  listen 127.0.0.2\n}\n", 5,
	  "duplicate virtual-server \"a\" (first at line 1)" },
	{ VS "  listen 127.0.0.1.5\n}\n", 3, "bad listen address" },
	{ VS "  listen 127.0.0.1:25 ssl\n}\n", 3, "\"listen\" takes ADDRESS "
	  "[tls]" },
	{ VS "  listen 127.0.0.1\n}\n", 3,
	  "listen address 127.0.0.1:25 already used at line 2" },
	{ VS "}\nvirtual-server b {\n  listen 127.0.0.2\n"
	  "  listen 127.0.0.1:25\n}\n", 6,
	  "listen address 127.0.0.1:25 already used at line 2" },
	{ "virtual-server a {\n  listen [::1]:25\n  listen [0:0::1]\n}\n", 3,
	  "listen address [::1]:25 already used at line 2" },
	{ VS "  listen 127.0.0.1:465 tls\n}\n", 3,
	  "\"listen 127.0.0.1:465 tls\" needs \"tls certificate PATH key "
	  "PATH\"" },
	{ VS "  auth /etc/users\n}\n", 3, "\"auth\" needs \"tls certificate" },
	{ VS "  tls certificate /c\n}\n", 3, "\"tls\" takes certificate PATH "
	  "key PATH [required]" },
	{ VS "  tls certificate /c key /k optional\n}\n", 3,
	  "\"tls\" takes certificate" },
	{ VS "  relay maybe\n}\n", 3, "\"relay\" takes deny, allow CIDR..." },
	{ VS "  relay allow\n}\n", 3, "\"relay\" takes deny" },
	{ VS "  relay allow authenticated\n}\n", 3, "\"relay\" takes deny" },
	{ VS "  relay deny 10.0.0.0/8\n}\n", 3, "\"relay\" takes deny" },
	{ VS "  relay allow 10.0.0.0/33\n}\n", 3,
	  "bad CIDR \"10.0.0.0/33\" for \"relay\"" },
	{ VS "  relay allow 10.0.0.0/8 nonsense\n}\n", 3,
	  "bad CIDR \"nonsense\"" },

	/* filter */
	{ VS "  filter {\n    block-sender no-at-sign\n  }\n}\n", 4,
	  "bad sender \"no-at-sign\"" },
	{ VS "  filter {\n    block-sender @bad..example\n  }\n}\n", 4,
	  "bad sender" },
	{ VS "  filter {\n    block-sender a..b@example.com\n  }\n}\n", 4,
	  "bad sender" },
	{ VS "  filter {\n    block-recipient <>\n  }\n}\n", 4,
	  "bad recipient address \"<>\"" },
	{ VS "  filter {\n    block-client 192.0.2.0/24 192.0.2\n  }\n}\n",
	  4, "bad CIDR \"192.0.2\" for \"block-client\"" },
	{ VS "  filter {\n    allow-client ::1/129\n  }\n}\n", 4,
	  "bad CIDR \"::1/129\"" },
	{ VS "  filter {\n    dnsbl zen..example\n  }\n}\n", 4,
	  "bad domain \"zen..example\"" },
	{ VS "  filter {\n    dnsbl aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n  }\n}\n", 4,
	  "is longer than 189 octets" },
	{ VS "  filter {\n    rate-limit 30\n  }\n}\n", 4,
	  "\"rate-limit\" takes N/m" },
	{ VS "  filter {\n    rate-limit 30/d\n  }\n}\n", 4,
	  "\"rate-limit\" takes N/m" },
	{ VS "  filter {\n    rate-limit 0/m\n  }\n}\n", 4,
	  "\"rate-limit\" must be between 1 and 1000000" },
	{ VS "  filter {\n    rate-limit 90/h\n  }\n}\n", 4,
	  "90/h is not a whole number per minute" },

	/* connector */
	{ "connector c {\n  home a\n}\n" VS "}\n", 1,
	  "connector \"c\" has no address-space" },
	{ "connector c {\n  address-space *\n}\n", 1,
	  "connector \"c\" has no home" },
	{ VS "}\nconnector c {\n  address-space *\n  home a\n}\n"
	  "connector c {\n}\n", 8, "duplicate connector \"c\" (first at "
	  "line 4)" },
	{ "\nconnector c {\n  address-space *\n  home nosuch\n}\n", 4,
	  "unknown virtual-server \"nosuch\" in \"home\"" },
	{ "connector c {\n  address-space example.*\n}\n", 2,
	  "bad address-space \"example.*\" (*, DOMAIN or *.DOMAIN)" },
	{ "connector c {\n  address-space **.example.com\n}\n", 2,
	  "bad address-space" },
	{ "connector c {\n  address-space * relay\n}\n", 2,
	  "address-space \"*\" cannot be \"relay\"" },
	{ "connector c {\n  address-space * cost\n}\n", 2,
	  "\"address-space\" takes PATTERN [cost N] [relay]" },
	{ "connector c {\n  address-space * cost x\n}\n", 2,
	  "bad number \"x\" for \"address-space\"" },
	{ "connector c {\n  address-space a.com\n  address-space A.com\n}\n",
	  3, "duplicate address-space \"A.com\" (first at line 2)" },
	{ "connector c {\n  route smarthost\n}\n", 2,
	  "\"route\" takes dns or smarthost HOST[:PORT]..." },
	{ "connector c {\n  route mx\n}\n", 2, "\"route\" takes dns" },
	{ "connector c {\n  route smarthost [::1\n}\n", 2,
	  "bad smart host \"[::1\"" },
	{ "connector c {\n  route smarthost ::1\n}\n", 2,
	  "bad smart host \"::1\"" },
	{ "connector c {\n  route smarthost relay:0\n}\n", 2,
	  "bad smart host \"relay:0\"" },
	{ "connector c {\n  route smarthost [bad_name]:25\n}\n", 2,
	  "bad smart host" },
	{ "connector c {\n  tls sometimes\n}\n", 2,
	  "\"tls\" takes none, may, encrypt or verify" },
	{ "connector c {\n  port 70000\n}\n", 2,
	  "\"port\" must be between 1 and 65535" },
	{ "connector c {\n  source 10.0.0.1:25\n}\n", 2,
	  "bad source address \"10.0.0.1:25\"" },
	{ "connector c {\n  home a b\n}\n", 2, "\"home\" takes one value" },

	/* queue */
	{ "queue {\n  concurrency 10\n  per-destination 20\n}\n", 3,
	  "\"per-destination\" (20) is more than \"concurrency\" (10)" },
	{ "queue {\n  concurrency 10\n}\n", 2,
	  "\"per-destination\" (20) is more than \"concurrency\" (10)" },
	{ "queue {\n  expire 1h\n  delay-warning 4h\n}\n", 3,
	  "\"delay-warning\" must be shorter than \"expire\"" },
	{ "queue {\n  expire 61d\n}\n", 2,
	  "\"expire\" must be between 1s and 60d" },
	{ "queue {\n  retry 1h\n  connect-timeout 0\n}\n", 3,
	  "\"connect-timeout\" must be between 1s and 1h" },
	{ "queue {\n  connect-timeout 61m\n}\n", 2,
	  "\"connect-timeout\" must be between 1s and 1h" },
	{ "queue {\n  command-timeout 0s\n}\n", 2,
	  "\"command-timeout\" must be between 1s and 1h" },
	{ "queue {\n  command-timeout 2h\n}\n", 2,
	  "\"command-timeout\" must be between 1s and 1h" },
	{ "queue {\n  data-timeout 0\n}\n", 2,
	  "\"data-timeout\" must be between 1s and 1h" },
	{ "queue {\n  data-timeout 3601\n}\n", 2,
	  "\"data-timeout\" must be between 1s and 1h" },
	{ "queue {\n  data-timeout 10x\n}\n", 2,
	  "bad duration \"10x\" for \"data-timeout\"" },
	{ "queue {\n  command-timeout\n}\n", 2,
	  "\"command-timeout\" needs a value" },
	{ "queue {\n  data-timeout 1m\n  data-timeout 2m\n}\n", 3,
	  "duplicate \"data-timeout\"" },
	{ "connect-timeout 5s\n", 1,
	  "\"connect-timeout\" is not allowed at top level" },

	/* directory, local domains */
	{ "directory file /a\ndirectory file /b\n", 2,
	  "duplicate \"directory\" (first at line 1)" },
	{ "directory file /a\ndirectory ldap {\n}\n", 2,
	  "duplicate \"directory\"" },
	{ "directory nfs /a\n", 1, "\"directory\" takes \"file PATH\" or "
	  "\"ldap {\"" },
	{ "directory file\n", 1, "\"directory\" takes \"file PATH\"" },
	{ "directory ldap\n", 1, "\"directory\" takes \"file PATH\"" },
	{ "directory file /a {\n}\n", 1, "\"directory\" takes" },
	{ "\nlocal-domain winery-co.co\n" VS "}\nlocal-domain x.example\n", 2,
	  "local domains need a directory" },
	{ "local-domain -winery.com\n", 1, "bad domain \"-winery.com\"" },
	{ "local-domain winery.com.\n", 1, "bad domain \"winery.com.\"" },
	{ "local-domain a.com b_c.com\n", 1, "bad domain \"b_c.com\"" },
	{ "local-domain a.com\nlocal-domain A.COM\n", 2,
	  "duplicate local-domain \"A.COM\"" },
	{ "directory ldap {\n  base dc=x\n  host-attribute h\n}\n", 1,
	  "directory ldap needs a \"uri\"" },
	{ "directory ldap {\n  uri ldap://x\n  host-attribute h\n}\n", 1,
	  "directory ldap needs a \"base\"" },
	{ "directory ldap {\n  uri ldap://x\n  base dc=x\n}\n", 1,
	  "directory ldap needs a \"host-attribute\"" },
	{ "directory ldap {\n  uri http://x\n}\n", 2,
	  "bad LDAP uri \"http://x\"" },
	{ "directory ldap {\n  uri ldap://x\n  base dc=x\n  host-attribute h\n"
	  "  bind-dn cn=x\n}\n", 5, "\"bind-dn\" needs a \"password-file\"" },
	{ "directory ldap {\n  uri ldap://x\n  base dc=x\n  host-attribute h\n"
	  "  password-file /s\n}\n", 5,
	  "\"password-file\" needs a \"bind-dn\"" },
	{ "directory ldap {\n  uri ldap://x\n  base dc=x\n  host-attribute h\n"
	  "  filter \"(mail=x)\"\n}\n", 5, "bad LDAP filter \"(mail=x)\"" },
	{ "directory ldap {\n  uri ldap://x\n  base dc=x\n  host-attribute h\n"
	  "  filter \"(mail=%s))(\"\n}\n", 5, "bad LDAP filter" },
	{ "directory ldap {\n  uri ldap://x\n  base dc=x\n  host-attribute h\n"
	  "  filter \"(mail=%x)\"\n}\n", 5, "bad LDAP filter" },
	{ "directory ldap {\n  cache 2d\n}\n", 2,
	  "\"cache\" must be between 0s and 1d" },

	/* metrics */
	{ "metrics 127.0.0.1\n", 1, "\"metrics\" takes ADDRESS:PORT" },
	{ "\nmetrics 203.0.113.25:9125\nvirtual-server inet {\n"
	  "  listen 203.0.113.25:25\n}\n", 2,
	  "metrics must not be on an Internet address: 203.0.113.25:9125 is "
	  "an address of the Internet-facing virtual-server \"inet\" "
	  "(line 4)" },
	{ "metrics 0.0.0.0:9125\n" VS "}\n", 1,
	  "metrics on a wildcard address" },
	{ "metrics 10.0.0.1:25\nvirtual-server in {\n  listen 10.0.0.1\n"
	  "  relay allow 10.0.0.0/8\n}\n", 1,
	  "metrics address 10.0.0.1:25 is also a listen address (line 3)" },

	/* message authentication and milters */
	{ VS "  authentication {\n    spf maybe\n  }\n}\n", 4,
	  "\"spf\" takes off, on or enforce" },
	{ VS "  authentication {\n    dns nosuch\n  }\n}\n", 4,
	  "unknown DNS list \"nosuch\"" },
	{ "dkim-key k {\n  domain a.example\n  selector s\n}\n", 1,
	  "dkim-key \"k\" needs domain, selector and key" },
	{ "dkim-key k {\n  selector a..b\n}\n", 2, "bad selector" },
	{ "dkim-key k {\n  headers from bad:name\n}\n", 2,
	  "bad header field name \"bad:name\"" },
	{ VS "  dkim-sign nokey\n}\n", 3,
	  "unknown dkim-key \"nokey\" in \"dkim-sign\"" },
	{ "milter m {\n  socket inet:localhost:11332\n}\n", 2,
	  "bad milter socket \"inet:localhost:11332\"" },
	{ "milter m {\n  socket unix:relative.sock\n}\n", 2,
	  "bad milter socket" },
	{ "milter m {\n  timeout 5s\n}\n", 1, "milter \"m\" needs a socket" },
	{ "milter m {\n  socket inet:127.0.0.1:1\n  on-failure drop\n}\n", 3,
	  "\"on-failure\" takes tempfail or accept" },
	{ VS "  milters rspamd\n}\n", 3,
	  "unknown milter \"rspamd\" in \"milters\"" },

	/* several errors after the parse: the lowest line is reported */
	{ "connector c {\n  address-space *\n  home nosuch\n}\n"
	  "local-domain a.example\n", 3, "unknown virtual-server" },
	{ "local-domain a.example\n"
	  "connector c {\n  address-space *\n  home nosuch\n}\n", 1,
	  "local domains need a directory" },
};

static void
test_errors(void **state)
{
	char err[CONF_ERR_MAX], prefix[64];
	struct conf *c;

	(void)state;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		c = (struct conf *)&c;	/* must be reset */
		memset(err, 0, sizeof(err));
		if (conf_load_string(NAME, errors[i].text, &c, err,
		    sizeof(err)) != -1)
			fail_msg("case %zu: no error for:\n%s", i,
			    errors[i].text);
		assert_null(c);
		snprintf(prefix, sizeof(prefix), NAME ":%d: ", errors[i].line);
		if (strncmp(err, prefix, strlen(prefix)) != 0 ||
		    strstr(err, errors[i].msg) == NULL)
			fail_msg("case %zu: want \"%s%s\", got \"%s\"", i,
			    prefix, errors[i].msg, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
