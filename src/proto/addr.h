/*
 * addr — RFC 5321 mailbox and path syntax (with RFC 6531 SMTPUTF8).
 *
 * Pure functions over buffers, no allocation.  A parsed address is split
 * into local part and domain; the domain is lowercased (ASCII letters only;
 * UTF-8 U-labels are kept as sent), the local part is kept as sent except
 * that a quoted local part whose content is a plain dot-string is unquoted
 * (RFC 5321 4.1.2 says the two forms are the same mailbox).  Source routes
 * (`<@a,@b:user@c>`) are accepted and dropped, as RFC 5321 C and 4.1.1.3
 * require.  A domain may be an address literal (`[1.2.3.4]`,
 * `[IPv6:...]`), stored with its brackets, and is then never a local
 * domain.  A trailing dot in a domain is a syntax error.
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stddef.h>

#include "postern_limits.h"

struct addr {
	int	null;			/* the null path <> */
	int	literal;		/* domain is an address literal */
	int	utf8;			/* non-ASCII somewhere */
	char	local[ADDR_LOCAL_MAX * 4 + 3]; /* room for quoting */
	char	domain[ADDR_DOMAIN_MAX + 1];
};

enum addr_status {
	ADDR_OK = 0,
	ADDR_ERR_SYNTAX,	/* 501 5.1.3 (RCPT) / 5.1.7 (MAIL) */
	ADDR_ERR_TOO_LONG,	/* 501 5.1.3 / 5.1.7 */
	ADDR_ERR_UTF8,		/* 8-bit without SMTPUTF8: 553 5.6.7 */
};

#define ADDR_F_ALLOW_NULL	0x01	/* <> is acceptable (MAIL FROM) */
#define ADDR_F_UTF8		0x02	/* SMTPUTF8 was given on MAIL */
#define ADDR_F_POSTMASTER	0x04	/* <postmaster> without a domain
					   (RCPT, RFC 5321 4.5.1) */

/*
 * Parse a path that starts at s[0] == '<'.  On ADDR_OK, *end is the index
 * just past the closing '>'.  `<postmaster>` yields local "postmaster"
 * with an empty domain (caller substitutes its own).
 */
enum addr_status addr_parse_path(const char *s, size_t len, int flags,
	    struct addr *out, size_t *end);

/* Parse a bare mailbox "local@domain" (configuration, directory files). */
enum addr_status addr_parse_mailbox(const char *s, size_t len, int flags,
	    struct addr *out);

/* Is the text a valid domain name (no literal, no trailing dot)? */
int	addr_valid_domain(const char *s, size_t len, int allow_utf8);

/*
 * "local@domain" into buf (size >= ADDR_PATH_MAX * 4 is always enough),
 * "" for the null path.  Returns buf.
 */
char	*addr_format(const struct addr *a, char *buf, size_t len);

/* The lookup key: the formatted address with the local part lowercased
 * too (postern.conf(5): local parts compare case-insensitively). */
char	*addr_format_key(const struct addr *a, char *buf, size_t len);

#define ADDR_TEXT_MAX	(sizeof(((struct addr *)0)->local) + ADDR_DOMAIN_MAX + 2)

#endif
