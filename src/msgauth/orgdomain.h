/*
 * orgdomain — the Organizational Domain of a DNS domain (RFC 7489 3.2), by
 * the Public Suffix List, for DMARC's record discovery and relaxed
 * alignment.  The list is loaded once, at start, before the gateway drops
 * privileges (orgdomain_init), and only read afterwards: orgdomain_get is
 * then safe from any thread.
 *
 * The rule (docs/authentication-dmarc.md): the public suffix that matches
 * the most labels (wildcards and exceptions as the list defines them, and
 * the list's implicit "*" rule, so an unknown TLD is a public suffix of one
 * label) plus one more label.  A domain that is itself a public suffix is
 * its own organizational domain (RFC 7489 3.2 has no label to add; this is
 * what Mail::DMARC does too).  Output is lowercase, without a final dot.
 */
#ifndef POSTERN_ORGDOMAIN_H
#define POSTERN_ORGDOMAIN_H

#include <stddef.h>

/* Longest domain name kept (RFC 1035 2.3.4: 253 octets of text). */
#define ORGDOMAIN_MAX	253

/*
 * Load the list from path (a .dat or libpsl's .dafsa), or with NULL the
 * distribution's (Debian publicsuffix: /usr/share/publicsuffix), falling
 * back to libpsl's built-in copy.  0, or -1 if path cannot be loaded.
 * Calling it again replaces the list (not while lookups run).
 */
int	orgdomain_init(const char *path);
void	orgdomain_free(void);

/*
 * The organizational domain of `domain` into out (NUL-terminated), and out;
 * NULL when the domain is empty, longer than ORGDOMAIN_MAX, has an empty
 * label, or out is too small.  Without orgdomain_init, the built-in list is
 * loaded on first use.
 */
const char *orgdomain_get(const char *domain, char *out, size_t outlen);

#endif
