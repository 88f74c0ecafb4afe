/*
 * test_addr — table tests for addr.c: RFC 5321 paths and mailboxes,
 * SMTPUTF8, the relay tricks a gateway must resolve to the right domain,
 * every length limit at limit and limit + 1, and the formatted forms.
 * Each accepted path is also formatted and parsed back, which must give
 * the same address (the canonical form is a fixed point).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "addr.h"

#define IN(s)	(s), sizeof(s) - 1
#define N	ADDR_F_ALLOW_NULL
#define U	ADDR_F_UTF8
#define P	ADDR_F_POSTMASTER

enum { OK = ADDR_OK, SYN = ADDR_ERR_SYNTAX, LONG = ADDR_ERR_TOO_LONG,
	UTF = ADDR_ERR_UTF8 };

struct path_case {
	const char	*in;
	size_t		 len;
	int		 flags;
	int		 st;
	const char	*local;		/* on OK */
	const char	*domain;
	int		 literal;
	int		 null;
	size_t		 end;		/* 0: the whole input */
};

static const struct path_case path_cases[] = {
	/* plain forms */
	{ IN("<user@example.com>"), 0, OK, "user", "example.com", 0, 0, 0 },
	{ IN("<first.last@sub.example.com>"), 0, OK, "first.last",
	    "sub.example.com", 0, 0, 0 },
	{ IN("<a!#$%&'*+-/=?^_`{|}~z@example.com>"), 0, OK,
	    "a!#$%&'*+-/=?^_`{|}~z", "example.com", 0, 0, 0 },
	{ IN("<u@localhost>"), 0, OK, "u", "localhost", 0, 0, 0 },
	{ IN("<u@1.2.3.4>"), 0, OK, "u", "1.2.3.4", 0, 0, 0 },
	{ IN("<u@a--b.x-y.example>"), 0, OK, "u", "a--b.x-y.example", 0, 0, 0 },
	{ IN("<user@example.com> SIZE=10"), 0, OK, "user", "example.com",
	    0, 0, 18 },
	{ IN("<user@example.com>>"), 0, OK, "user", "example.com", 0, 0, 18 },
	/* the relay tricks: the domain is what follows the last '@' */
	{ IN("<user%ext.example@winery-co.co>"), 0, OK, "user%ext.example",
	    "winery-co.co", 0, 0, 0 },
	{ IN("<@winery-co.co:user@ext.example>"), 0, OK, "user",
	    "ext.example", 0, 0, 0 },
	{ IN("<@a.example,@b.example:user@c.example>"), 0, OK, "user",
	    "c.example", 0, 0, 0 },
	{ IN("<\"user@ext.example\"@winery-co.co>"), 0, OK,
	    "\"user@ext.example\"", "winery-co.co", 0, 0, 0 },
	{ IN("<ext.example!user@winery-co.co>"), 0, OK, "ext.example!user",
	    "winery-co.co", 0, 0, 0 },
	{ IN("<User@WINERY-co.CO>"), 0, OK, "User", "winery-co.co", 0, 0, 0 },
	/* address literals */
	{ IN("<user@[192.0.2.1]>"), 0, OK, "user", "[192.0.2.1]", 1, 0, 0 },
	{ IN("<user@[IPv6:2001:db8::1]>"), 0, OK, "user",
	    "[IPv6:2001:db8::1]", 1, 0, 0 },
	{ IN("<user@[ipv6:2001:DB8::1]>"), 0, OK, "user",
	    "[IPv6:2001:db8::1]", 1, 0, 0 },
	{ IN("<user@[IPv6:::ffff:192.0.2.1]>"), 0, OK, "user",
	    "[IPv6:::ffff:192.0.2.1]", 1, 0, 0 },
	{ IN("<user@[192.0.2.256]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[192.0.2]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[192.0.2.01]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[2001:db8::1]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[IPv6:192.0.2.1]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[IPv6:2001:db8::1%eth0]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[x-tag:something]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[192.0.2.1>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[ 192.0.2.1]>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[192.0.2.1].example>"), 0, SYN, 0, 0, 0, 0, 0 },
	/* quoted local parts: unquoted when a dot-string, else minimal */
	{ IN("<\"user\"@example.com>"), 0, OK, "user", "example.com", 0, 0, 0 },
	{ IN("<\"first.last\"@example.com>"), 0, OK, "first.last",
	    "example.com", 0, 0, 0 },
	{ IN("<\"\\u\\s\\e\\r\"@example.com>"), 0, OK, "user", "example.com",
	    0, 0, 0 },
	{ IN("<\"a b\"@example.com>"), 0, OK, "\"a b\"", "example.com", 0, 0, 0 },
	{ IN("<\"a\\ b\"@example.com>"), 0, OK, "\"a b\"", "example.com",
	    0, 0, 0 },
	{ IN("<\"a\\\"b\"@example.com>"), 0, OK, "\"a\\\"b\"", "example.com",
	    0, 0, 0 },
	{ IN("<\"a\\\\b\"@example.com>"), 0, OK, "\"a\\\\b\"", "example.com",
	    0, 0, 0 },
	{ IN("<\"\"@example.com>"), 0, OK, "\"\"", "example.com", 0, 0, 0 },
	{ IN("<\".a\"@example.com>"), 0, OK, "\".a\"", "example.com", 0, 0, 0 },
	{ IN("<\"a..b\"@example.com>"), 0, OK, "\"a..b\"", "example.com",
	    0, 0, 0 },
	{ IN("<\"a>b\"@example.com>"), 0, OK, "\"a>b\"", "example.com",
	    0, 0, 0 },
	{ IN("<\"unterminated@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\"a\"b@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\"a\\"), 0, SYN, 0, 0, 0, 0, 0 },
	/* null path and postmaster */
	{ IN("<>"), N, OK, "", "", 0, 1, 0 },
	{ IN("<>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<> SIZE=1"), N, OK, "", "", 0, 1, 2 },
	{ IN("<postmaster>"), P, OK, "postmaster", "", 0, 0, 0 },
	{ IN("<PostMaster>"), P, OK, "postmaster", "", 0, 0, 0 },
	{ IN("<postmaster>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<postmaster@Example.com>"), 0, OK, "postmaster", "example.com",
	    0, 0, 0 },
	{ IN("<@a.example:postmaster>"), P, SYN, 0, 0, 0, 0, 0 },
	{ IN("<postmasters>"), P, SYN, 0, 0, 0, 0, 0 },
	/* syntax errors */
	{ IN("<user@winery-co.co.>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("user@example.com"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@example.com"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<@a.example:>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<@a.example,user@b.example>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<@a.example user@b.example>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<@[192.0.2.1]:user@b.example>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<@a.example.:user@b.example>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<.user@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user.@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<us..er@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@-example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@example-.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@exa_mple.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@example..com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@.example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@ex@ample.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<us er@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("< user@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@example.com >"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user(comment)@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN(""), N, SYN, 0, 0, 0, 0, 0 },
	/* NUL and control characters */
	{ IN("<us\0er@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@exa\0mple.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@example.com\0>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\0>"), N, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\"a\0b\"@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\"a\\\0\"@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<us\ter@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\"a\tb\"@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@example.com\r\n>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<us\x7f" "er@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\"a\x1b\"@example.com>"), 0, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[192.0.2.1\n]>"), 0, SYN, 0, 0, 0, 0, 0 },
	/* SMTPUTF8: allowed with the flag, 553 5.6.7 without */
	{ IN("<jos\xc3\xa9@example.com>"), U, OK, "jos\xc3\xa9", "example.com",
	    0, 0, 0 },
	{ IN("<jos\xc3\xa9@example.com>"), 0, UTF, 0, 0, 0, 0, 0 },
	{ IN("<user@B\xc3\x9c" "CHER.Example>"), U, OK, "user",
	    "b\xc3\x9c" "cher.example", 0, 0, 0 },
	{ IN("<user@b\xc3\xbc" "cher.example>"), 0, UTF, 0, 0, 0, 0, 0 },
	{ IN("<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf"
	    "\xe5\x91\x8a>"), U, OK, "\xe7\x94\xa8\xe6\x88\xb7",
	    "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", 0, 0, 0 },
	{ IN("<\"j\xc3\xb6 s\"@example.com>"), U, OK, "\"j\xc3\xb6 s\"",
	    "example.com", 0, 0, 0 },
	{ IN("<\"j\xc3\xb6s\"@example.com>"), U, OK, "j\xc3\xb6s",
	    "example.com", 0, 0, 0 },
	{ IN("<\"j\xc3\xb6s\"@example.com>"), 0, UTF, 0, 0, 0, 0, 0 },
	{ IN("<\xf0\x9f\x98\x80@example.com>"), U, OK, "\xf0\x9f\x98\x80",
	    "example.com", 0, 0, 0 },
	/* ill-formed UTF-8: syntax with the flag, 8-bit without it */
	{ IN("<\xc3@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\xc3@example.com>"), 0, UTF, 0, 0, 0, 0, 0 },
	{ IN("<\xc0\xaf@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\xe0\x80\xaf@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\xed\xa0\x80@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\xf4\x90\x80\x80@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\xf8\x88\x80\x80\x80@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\xc2\x85@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\xff@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\x80@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@ex\xe2\x82>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<a\xe2\x82"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<\"\\\xc3\xa9\"@example.com>"), U, SYN, 0, 0, 0, 0, 0 },
	{ IN("<user@[192.0.2.\xc3\xa9]>"), U, SYN, 0, 0, 0, 0, 0 },
};

/* Printable rendering of a test input for failure messages. */
static const char *
show(const char *s, size_t len)
{
	static char out[1024];
	size_t i, n = 0;

	for (i = 0; i < len && n + 5 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 32 && c < 127)
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, sizeof(out) - n,
			    "\\x%02x", c);
	}
	out[n] = '\0';
	return out;
}

static int
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static void
check_roundtrip(const struct addr *a, int flags)
{
	char text[ADDR_TEXT_MAX];
	struct addr b;

	if (a->null || a->domain[0] == '\0')
		return;
	addr_format(a, text, sizeof(text));
	if (addr_parse_mailbox(text, strlen(text), flags, &b) != ADDR_OK ||
	    strcmp(a->local, b.local) != 0 ||
	    strcmp(a->domain, b.domain) != 0 || a->literal != b.literal) {
		print_error("round trip of \"%s\" failed\n", text);
		fail();
	}
}

static void
test_path_table(void **state)
{
	const struct path_case *c;
	struct addr a;
	size_t i, end;
	int st;

	(void)state;
	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		c = &path_cases[i];
		end = 0;
		st = addr_parse_path(c->in, c->len, c->flags, &a, &end);
		if (st != c->st) {
			print_error("case %zu <%s>: status %d, want %d\n", i,
			    show(c->in, c->len), st, c->st);
			fail();
		}
		if (st != ADDR_OK)
			continue;
		if (strcmp(a.local, c->local) != 0 ||
		    strcmp(a.domain, c->domain) != 0 ||
		    a.literal != c->literal || a.null != c->null ||
		    end != (c->end ? c->end : c->len)) {
			print_error("case %zu <%s>: got local [%s] domain [%s] "
			    "literal %d null %d end %zu\n", i,
			    show(c->in, c->len), a.local, a.domain, a.literal,
			    a.null, end);
			fail();
		}
		assert_int_equal(a.utf8, has_8bit(a.local) ||
		    has_8bit(a.domain));
		check_roundtrip(&a, c->flags);
	}
}

/* "<" local "@" domain ">", with local and domain of the given lengths. */
static size_t
make_path(char *buf, size_t llen, size_t dlen)
{
	size_t n = 0, i;

	buf[n++] = '<';
	memset(buf + n, 'l', llen);
	n += llen;
	buf[n++] = '@';
	/* labels of 63 'd' joined by dots, cut to dlen; never ending in '.' */
	for (i = 0; i < dlen; i++)
		buf[n + i] = (i % 64 == 63 && i + 1 < dlen) ? '.' : 'd';
	n += dlen;
	buf[n++] = '>';
	buf[n] = '\0';
	return n;
}

static void
test_lengths(void **state)
{
	char buf[2048], q[256];
	struct addr a;
	size_t n, end;

	(void)state;
	/* local part: 64 octets, then 65 */
	n = make_path(buf, 64, 10);
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end), ADDR_OK);
	assert_int_equal(strlen(a.local), 64);
	n = make_path(buf, 65, 10);
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end),
	    ADDR_ERR_TOO_LONG);
	assert_string_equal(a.local, "");

	/* quoted: the canonical form counts, quotes included */
	memset(q, 0, sizeof(q));
	q[0] = '<';
	q[1] = '"';
	memset(q + 2, 'x', 62);
	q[2] = ' ';
	memcpy(q + 64, "\"@d>", 4);
	assert_int_equal(addr_parse_path(q, 68, 0, &a, &end), ADDR_OK);
	assert_int_equal(strlen(a.local), 64);
	memset(q + 2, 'x', 63);
	q[2] = ' ';
	memcpy(q + 65, "\"@d>", 4);
	assert_int_equal(addr_parse_path(q, 69, 0, &a, &end),
	    ADDR_ERR_TOO_LONG);
	/* a quoted dot-string of 64 is 66 as sent, 64 once unquoted */
	memset(q + 2, 'x', 64);
	memcpy(q + 66, "\"@d>", 4);
	assert_int_equal(addr_parse_path(q, 70, 0, &a, &end), ADDR_OK);
	assert_int_equal(strlen(a.local), 64);

	/* path: 256 octets with "<>", then 257 */
	n = make_path(buf, 1, 252);
	assert_int_equal(n, 256);
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end), ADDR_OK);
	assert_int_equal(end, 256);
	n = make_path(buf, 1, 253);
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end),
	    ADDR_ERR_TOO_LONG);
	n = make_path(buf, 64, 190);
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end),
	    ADDR_ERR_TOO_LONG);

	/* domain: 256 octets is too long even before the path limit */
	n = make_path(buf, 1, 256);
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end),
	    ADDR_ERR_TOO_LONG);
	n = make_path(buf, 1, 1500);
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end),
	    ADDR_ERR_TOO_LONG);

	/* a label of 63, then 64 */
	n = (size_t)snprintf(buf, sizeof(buf), "<u@%.*s.example>", 63,
	    "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end), ADDR_OK);
	n = (size_t)snprintf(buf, sizeof(buf), "<u@%.*s.example>", 64,
	    "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end),
	    ADDR_ERR_TOO_LONG);

	/* a source route counts in the path */
	n = 0;
	buf[n++] = '<';
	while (n < 250) {
		memcpy(buf + n, "@relay.example,", 15);
		n += 15;
	}
	buf[n - 1] = ':';
	memcpy(buf + n, "u@x>", 4);
	n += 4;
	assert_true(n > ADDR_PATH_MAX);
	assert_int_equal(addr_parse_path(buf, n, 0, &a, &end),
	    ADDR_ERR_TOO_LONG);
}

static void
test_valid_domain(void **state)
{
	static const struct {
		const char	*s;
		int		 utf8, ok;
	} cases[] = {
		{ "example.com", 0, 1 },
		{ "EXAMPLE.com", 0, 1 },
		{ "a.b-c.d", 0, 1 },
		{ "localhost", 0, 1 },
		{ "example.com.", 0, 0 },
		{ ".example.com", 0, 0 },
		{ "a..b", 0, 0 },
		{ "-a.b", 0, 0 },
		{ "a-.b", 0, 0 },
		{ "a_b.c", 0, 0 },
		{ "", 0, 0 },
		{ "[192.0.2.1]", 0, 0 },
		{ "example.com x", 0, 0 },
		{ "b\xc3\xbc" "cher.example", 1, 1 },
		{ "b\xc3\xbc" "cher.example", 0, 0 },
		{ "b\xc3" "cher.example", 1, 0 },
	};
	char buf[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (addr_valid_domain(cases[i].s, strlen(cases[i].s),
		    cases[i].utf8) != cases[i].ok) {
			print_error("domain case %zu [%s]\n", i, cases[i].s);
			fail();
		}
	}
	/* 255 octets, then 256 */
	for (i = 0; i < 256; i++)
		buf[i] = (i % 64 == 63) ? '.' : 'd';
	assert_true(addr_valid_domain(buf, 255, 0));
	buf[255] = 'd';
	assert_false(addr_valid_domain(buf, 256, 0));
	/* the length is taken from len, not from a NUL */
	assert_true(addr_valid_domain("example.comX", 11, 0));
}

static void
test_mailbox(void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(addr_parse_mailbox(IN("User@Example.COM"), 0, &a),
	    ADDR_OK);
	assert_string_equal(a.local, "User");
	assert_string_equal(a.domain, "example.com");
	assert_int_equal(addr_parse_mailbox(IN("user@example.com "), 0, &a),
	    ADDR_ERR_SYNTAX);
	assert_int_equal(addr_parse_mailbox(IN("<user@example.com>"), 0, &a),
	    ADDR_ERR_SYNTAX);
	assert_int_equal(addr_parse_mailbox(IN("user"), 0, &a),
	    ADDR_ERR_SYNTAX);
	assert_int_equal(addr_parse_mailbox(IN(""), 0, &a), ADDR_ERR_SYNTAX);
	assert_int_equal(addr_parse_mailbox(IN(""), N, &a), ADDR_OK);
	assert_true(a.null);
	assert_int_equal(addr_parse_mailbox(IN("POSTMASTER"), P, &a), ADDR_OK);
	assert_string_equal(a.local, "postmaster");
	assert_string_equal(a.domain, "");
	assert_int_equal(addr_parse_mailbox(IN("postmaster"), 0, &a),
	    ADDR_ERR_SYNTAX);
	assert_int_equal(addr_parse_mailbox(IN("\"a b\"@[192.0.2.1]"), 0, &a),
	    ADDR_OK);
	assert_string_equal(a.local, "\"a b\"");
	assert_string_equal(a.domain, "[192.0.2.1]");
	assert_true(a.literal);
	assert_int_equal(addr_parse_mailbox(IN("d\xc3\xa9@x.example"), 0, &a),
	    ADDR_ERR_UTF8);
	assert_int_equal(addr_parse_mailbox(IN("d\xc3\xa9@x.example"), U, &a),
	    ADDR_OK);
	assert_true(a.utf8);
	assert_int_equal(addr_parse_mailbox(IN("user@example.com."), 0, &a),
	    ADDR_ERR_SYNTAX);
}

static void
test_format(void **state)
{
	static const struct {
		const char	*in;
		int		 flags;
		const char	*text, *key;
	} cases[] = {
		{ "<User@WINERY-co.CO>", 0, "User@winery-co.co",
		    "user@winery-co.co" },
		{ "<\"Quoted @ User\"@Example.com>", 0,
		    "\"Quoted @ User\"@example.com",
		    "\"quoted @ user\"@example.com" },
		{ "<@Relay.example:Bob@B.example>", 0, "Bob@b.example",
		    "bob@b.example" },
		{ "<\"Bob\"@B.example>", 0, "Bob@b.example", "bob@b.example" },
		{ "<Bob@[IPv6:2001:DB8::1]>", 0, "Bob@[IPv6:2001:db8::1]",
		    "bob@[IPv6:2001:db8::1]" },
		{ "<J\xc3\x96rg@Example.com>", U, "J\xc3\x96rg@example.com",
		    "j\xc3\x96rg@example.com" },
		{ "<>", N, "", "" },
		{ "<Postmaster>", P, "postmaster", "postmaster" },
	};
	char text[ADDR_TEXT_MAX], key[ADDR_TEXT_MAX], small[6];
	struct addr a;
	size_t i, end;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(addr_parse_path(cases[i].in,
		    strlen(cases[i].in), cases[i].flags, &a, &end), ADDR_OK);
		assert_string_equal(addr_format(&a, text, sizeof(text)),
		    cases[i].text);
		assert_string_equal(addr_format_key(&a, key, sizeof(key)),
		    cases[i].key);
	}
	/* a short buffer is cut, never overrun */
	assert_int_equal(addr_parse_path(IN("<User@Example.com>"), 0, &a,
	    &end), ADDR_OK);
	assert_string_equal(addr_format_key(&a, small, sizeof(small)),
	    "user@");
	/* the documented worst case fits ADDR_TEXT_MAX */
	assert_true(sizeof(a.local) + sizeof(a.domain) + 1 <= ADDR_TEXT_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_table),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_valid_domain),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
