/*
 * authres — the builder of the gateway's own Authentication-Results header
 * field (RFC 8601 2.2): "Authentication-Results: AUTHSERV-ID;" then one
 * resinfo per method result, or "none" when nothing was checked (2.2).
 * The caller adds results in the order they should appear (spf, dkim one
 * per signature, dmarc, arc); the builder quotes what must be quoted
 * (a value that is not an RFC 2045 token, nor a pvalue's
 * [local-part]@domain, becomes a quoted-string), escapes comments, turns
 * control characters (CR, LF...) into "?" so no input can start a header
 * line of its own, and folds at 78 octets (RFC 5322 2.1.1) with CRLF TAB.
 * A single word longer than that (a long helo name) cannot be folded and
 * stays whole on a line of its own; the bounds below keep every line
 * under the 998-octet limit of RFC 5322 2.1.1.
 *
 * Bounds: AUTHRES_RESULTS_MAX results, AUTHRES_PROPS_MAX properties each;
 * a comment is cut at AUTHRES_COMMENT_MAX octets; a property whose value
 * exceeds AUTHRES_VALUE_MAX octets is left out (a cut value would claim
 * something else).  Results past the bound are dropped, counted in
 * authres_dropped().
 */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include <stddef.h>

#define AUTHRES_RESULTS_MAX	32
#define AUTHRES_PROPS_MAX	8
#define AUTHRES_VALUE_MAX	400
#define AUTHRES_COMMENT_MAX	256
#define AUTHRES_LINE_MAX	78

/* One property of a result: ptype.property=value, e.g. ("smtp",
 * "mailfrom", "bounce@example.com"); ptype "reason" with a NULL or empty
 * property gives the resinfo's reasonspec (RFC 8601 2.2) instead. */
struct authres_prop {
	const char	*ptype;
	const char	*property;
	const char	*value;
};

struct authres_builder;

/* A builder for the header of authserv_id (the gateway's hostname). */
struct authres_builder *authres_new(const char *authserv_id);
/*
 * One result: method ("spf", "dkim", "dmarc", "arc"...), result ("pass",
 * "fail"...), an optional comment (NULL: none; placed after the result,
 * "(text)"), then nprops properties in order.  Properties with a NULL
 * value are skipped.
 */
void	authres_add(struct authres_builder *b, const char *method,
	    const char *result, const char *comment,
	    const struct authres_prop *props, size_t nprops);
/* The same, the properties given as "ptype.property", value pairs ended
 * by NULL: authres_addl(b, "spf", "pass", NULL, "smtp.mailfrom", from,
 * (char *)NULL).  A key without a dot is the reason. */
void	authres_addl(struct authres_builder *b, const char *method,
	    const char *result, const char *comment, ...)
	    __attribute__((sentinel));
/* Results dropped because AUTHRES_RESULTS_MAX were already added. */
size_t	authres_dropped(const struct authres_builder *b);
/*
 * The whole header field, "Authentication-Results: ..." to the final
 * CRLF, NUL-terminated, owned by the caller; *len (if not NULL) its
 * length.  The builder is freed.
 */
char	*authres_finish(struct authres_builder *b, size_t *len);
/* Free a builder without finishing it; NULL ignored. */
void	authres_free(struct authres_builder *b);

/*
 * One value as RFC 8601 writes it into out: as is when it is an RFC 2045
 * token (or, with pvalue, [local-part]@domain), else a quoted-string;
 * control characters become "?".  The length written, or 0 if it does not
 * fit (out is then "").
 */
size_t	authres_quote(const char *value, int pvalue, char *out, size_t outlen);

#endif
