/*
 * header_from — the RFC5322.From domain (RFC 7489 3.1, 6.6.1) of a
 * message's header section: the one DMARC evaluates.  A pure parser over
 * the field's value (RFC 5322 3.4 and 3.6.2 with the obsolete forms of
 * 4.4: display names, comments, quoted local parts, routes, folding,
 * empty list elements; the group syntax RFC 6854 allows in From).
 *
 * The outcome is the domain, lowercased, only when there is exactly one
 * From field holding exactly one mailbox; every other case is a status of
 * its own, so the DMARC evaluator can tell ambiguous (several fields or
 * mailboxes: RFC 7489 6.6.1 "typically rejected") from missing or broken
 * (docs/authentication-dmarc.md says what each becomes).  A domain literal
 * ([192.0.2.1]) or a domain that is not an ASCII host name (letters,
 * digits, "-", "_"; labels of 1..63, 253 in all) is SYNTAX: it has no DNS
 * name for DMARC to ask.  Bounded: HEADER_FROM_TOKENS_MAX tokens a field.
 */
#ifndef POSTERN_HEADER_FROM_H
#define POSTERN_HEADER_FROM_H

#include <stddef.h>

#include "msg_header.h"

#define HEADER_FROM_DOMAIN_MAX	253
#define HEADER_FROM_TOKENS_MAX	1024

enum header_from_status {
	HEADER_FROM_OK,
	HEADER_FROM_MISSING,		/* no From field */
	HEADER_FROM_MULTIPLE_FIELDS,	/* several From fields */
	HEADER_FROM_MULTIPLE_MAILBOXES,	/* one field, several mailboxes */
	HEADER_FROM_NO_MAILBOX,		/* empty, or an empty group */
	HEADER_FROM_SYNTAX,		/* unparseable, or no usable domain */
	HEADER_FROM_OVERFLOW,		/* the header section was cut
					   (msg_header overflow) */
};

/* "ok", "missing", "multiple-fields"... for logs and A-R comments. */
const char *header_from_status_name(enum header_from_status st);
/* Several From fields or mailboxes: the "ambiguous" input of dmarc.h. */
int	header_from_ambiguous(enum header_from_status st);

/*
 * The From domain of one field value, value[0..len) (after the colon,
 * folding kept), into domain (NUL-terminated, lowercase; at least
 * HEADER_FROM_DOMAIN_MAX + 1 bytes or the result is SYNTAX).  domain is
 * "" unless the status is OK.
 */
enum header_from_status header_from_parse(const char *value, size_t len,
	    char *domain, size_t domainlen);
/* The same for a whole header section: exactly one From field. */
enum header_from_status header_from_get(const struct msg_header *h,
	    char *domain, size_t domainlen);

#endif
