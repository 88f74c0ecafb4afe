/*
 * spf_record — one SPF record's text ("v=spf1 ...") parsed into its terms
 * (RFC 7208 sections 4.5, 4.6.1, 5, 6 and the ABNF of 12): a pure
 * function over a buffer, no DNS.  The evaluator (spf.c) walks the terms;
 * anything that does not follow the grammar anywhere in the record is a
 * syntax error, which the evaluator turns into "permerror" before
 * evaluating a single term (4.6).
 *
 * What is checked here: the version, every mechanism's name and argument
 * (domain-specs through spf_macro_check, ip4/ip6 networks, dual CIDR
 * lengths within 0-32 and 0-128 without leading zeros), the modifiers
 * (redirect= and exp= at most once each, unknown modifiers' names and
 * macro-strings, which are then ignored).  Bounded: SPF_RECORD_MAX octets
 * of text and SPF_TERMS_MAX terms, past either a syntax error.
 */
#ifndef POSTERN_SPF_RECORD_H
#define POSTERN_SPF_RECORD_H

#include <stddef.h>

#define SPF_RECORD_MAX	4096	/* octets of one record's text */
#define SPF_TERMS_MAX	256	/* mechanisms in one record */

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech	 mech;
	char		 qual;		/* '+', '-', '~' or '?' */
	unsigned short	 off, len;	/* the whole term in text */
	unsigned short	 spec_off;	/* domain-spec in text */
	unsigned short	 spec_len;	/* 0: none (the current domain) */
	int		 cidr4;		/* 0..32, or 32 when not given */
	int		 cidr6;		/* 0..128, or 128 when not given */
	unsigned char	 ip[16];	/* ip4 (first 4 bytes) and ip6 */
};

struct spf_record {
	char		 text[SPF_RECORD_MAX + 1];
	size_t		 len;
	struct spf_term	 term[SPF_TERMS_MAX];	/* mechanisms, in order */
	size_t		 nterm;
	int		 has_all;	/* redirect= is then ignored (5.1) */
	unsigned short	 redirect_off, redirect_len;	/* len 0: none */
	unsigned short	 exp_off, exp_len;		/* len 0: none */
	char		 error[128];	/* the syntax error, for the logs */
};

/*
 * Is this TXT record an SPF record: "v=spf1" (any case) followed by a
 * space or the end (4.5)?
 */
int	spf_record_is_spf(const char *text, size_t len);
/* Parse text[0..len) into r.  0, or -1 with r->error set. */
int	spf_record_parse(const char *text, size_t len, struct spf_record *r);

#endif
