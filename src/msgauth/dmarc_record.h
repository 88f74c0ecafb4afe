/*
 * dmarc_record — the pure parser of one DMARC policy record (RFC 7489 6.3,
 * 6.4), the TXT text found at _dmarc.DOMAIN.  No DNS, no allocation: the
 * caller (dmarc.c, the fuzz harness) hands it one record's joined strings.
 *
 * A record is one of three things (dmarc_record_parse's result):
 *   NOT_DMARC  it does not begin with "v=DMARC1" (the value exactly, RFC
 *              7489 6.3 "MUST match precisely"): it is not counted at all
 *              in record discovery (RFC 7489 6.6.3 step 2);
 *   INVALID    it is a DMARC record whose p (or sp) is missing or not one
 *              of none/quarantine/reject, and it has no syntactically
 *              valid rua URI to fall back on (6.6.3 last step: the record
 *              is discarded), or a known tag occurs twice (the DKIM
 *              tag-list rule, RFC 6376 3.2, that RFC 7489 6.3 adopts);
 *   OK         a policy: an invalid p or sp with a valid rua has become
 *              p=none (6.6.3), flagged by `defaulted`.
 * p may come anywhere after v (6.3 wants it second: tolerated).
 * Unknown tags are ignored (6.3); a known optional tag with a value out
 * of its grammar keeps its default (documented in
 * docs/authentication-dmarc.md); segments without "=" are skipped.
 */
#ifndef POSTERN_DMARC_RECORD_H
#define POSTERN_DMARC_RECORD_H

#include <stddef.h>

/* What a domain asks a receiver to do with a failing message
 * (RFC 7489 6.3 p and sp); shared with dmarc.h. */
enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_record_status {
	DMARC_RECORD_OK,
	DMARC_RECORD_NOT_DMARC,
	DMARC_RECORD_INVALID,
};

/* The longest rua/ruf value kept; a longer one is still judged valid or
 * not, but kept empty with `uri_truncated` set. */
#define DMARC_RECORD_URI_MAX	512

/* Failure reporting options (fo), as bits. */
#define DMARC_FO_0	0x01	/* all mechanisms failed (the default) */
#define DMARC_FO_1	0x02	/* any mechanism failed */
#define DMARC_FO_D	0x04	/* DKIM failed */
#define DMARC_FO_S	0x08	/* SPF failed */

struct dmarc_record {
	enum dmarc_policy p;
	enum dmarc_policy sp;		/* = p when the record has no sp */
	int		 has_sp;
	int		 defaulted;	/* p=none because p/sp was invalid */
	int		 pct;		/* 0..100, default 100 */
	int		 adkim_strict;	/* adkim=s (default r) */
	int		 aspf_strict;	/* aspf=s (default r) */
	unsigned long	 ri;		/* seconds, default 86400 */
	unsigned	 fo;		/* DMARC_FO_* (default DMARC_FO_0) */
	int		 rf_afrf;	/* rf names afrf (default yes) */
	int		 rf_iodef;
	int		 nrua;		/* syntactically valid rua URIs */
	int		 nruf;
	int		 uri_truncated;
	char		 rua[DMARC_RECORD_URI_MAX];
	char		 ruf[DMARC_RECORD_URI_MAX];
	char		 error[96];	/* INVALID: why, for the detail */
};

/* Parse text[0..len) (it may hold NUL bytes: a NUL is a syntax error in a
 * value).  out is always fully written (defaults on INVALID/NOT_DMARC). */
enum dmarc_record_status dmarc_record_parse(const char *text, size_t len,
	    struct dmarc_record *out);

#endif
