/*
 * spf_macro — the macro language of SPF records (RFC 7208 section 7):
 * its syntax check and its expansion, as pure functions over a buffer.
 * The record parser (spf_record.c) checks every domain-spec and modifier
 * value with spf_macro_check; the evaluator (spf.c) expands them with the
 * values of one check (struct spf_macro_ctx).
 *
 * Three kinds of string, told apart by flags:
 *   SPF_MACRO_DOMAIN   a domain-spec: macro-string domain-end; the
 *                      explanation-only letters c, r, t are refused (7.1);
 *                      the expansion is a name to query: its final dot is
 *                      dropped and, past 253 octets, its left labels are
 *                      removed until it fits (7.3);
 *   SPF_MACRO_EXPLAIN  the TXT text an exp= modifier names (explain-string,
 *                      6.2): spaces allowed, every letter allowed; the
 *                      expansion is cut at the output's size;
 *   0                  the value of an unknown modifier (macro-string):
 *                      checked, never expanded.
 * Bounded: a macro's value is cut at SPF_MACRO_VALUE_MAX octets before
 * its transformers apply; a domain's expansion keeps only its right-hand
 * part while it grows, so a long expansion costs no more memory.
 */
#ifndef POSTERN_SPF_MACRO_H
#define POSTERN_SPF_MACRO_H

#include <stddef.h>
#include <time.h>

#define SPF_MACRO_DOMAIN	0x1
#define SPF_MACRO_EXPLAIN	0x2

#define SPF_MACRO_VALUE_MAX	1024	/* one macro's value, before transforms */
#define SPF_DOMAIN_MAX		253	/* an expanded name (7.3) */

/* The values of one check_host() evaluation (7.2). */
struct spf_macro_ctx {
	const char	*local;		/* l: the sender's local-part */
	const char	*sender_domain;	/* o */
	const char	*domain;	/* d: the <domain> being checked */
	int		 family;	/* AF_INET or AF_INET6 (i, c, v) */
	unsigned char	 addr[16];	/* the client: 4 bytes for IPv4 */
	const char	*helo;		/* h */
	const char	*receiver;	/* r: NULL = "unknown" */
	const char	*ptr;		/* p: validated name; NULL = "unknown" */
	time_t		 now;		/* t */
};

/* Is s[0..len) well-formed for these flags?  0 or -1. */
int	spf_macro_check(const char *s, size_t len, int flags);
/* Does s[0..len) use the macro letter c (either case)? */
int	spf_macro_uses(const char *s, size_t len, char c);
/*
 * Expand s[0..len) into out (outsz octets, NUL-terminated).  The length
 * written, or -1 if s is not well-formed.  With SPF_MACRO_DOMAIN, outsz
 * must be at least SPF_DOMAIN_MAX + 1; the result may still be no valid
 * name (an empty label, a label longer than 63): see spf_macro_name_ok.
 */
int	spf_macro_expand(const char *s, size_t len, int flags,
	    const struct spf_macro_ctx *ctx, char *out, size_t outsz);
/* Can the name be queried: labels of 1 to 63 octets, 253 in all? */
int	spf_macro_name_ok(const char *name);
/*
 * Can check_host() start from this domain (RFC 7208 4.3: else "none")?
 * Two labels at least, of 1 to 63 letters, digits, hyphens or
 * underscores, 253 octets in all, the top one not a number (a domain
 * literal or an address is no domain).  A final dot is removed from d.
 */
int	spf_macro_domain_ok(char *d);

#endif
