/*
 * authres_parse — the pure parser of an Authentication-Results value
 * (RFC 8601 2.2), and of an ARC-Authentication-Results value after its
 * "i=N;" (RFC 8617 4.1.1), for two users: the removal of a forged header
 * that carries the gateway's own authserv-id (only the id is needed), and
 * ARC's trusted sealers, whose dmarc=pass is read from the results.
 *
 * Tolerant of what real headers hold: comments (CFWS) anywhere, skipped;
 * folding; a version after the authserv-id; method versions ("dkim/1");
 * property values that are quoted-strings, [local-part]@domain, or any
 * run of non-blank characters (header.b=ab/cd+= unquoted); a trailing
 * ";"; case in keywords (method, result, ptype, property are lowercased).
 * A resinfo it cannot read is skipped to the next ";" and `syntax_errors`
 * counts it; the rest is kept.
 *
 * Bounded: AUTHRES_PARSE_RESULTS results of AUTHRES_PARSE_PROPS
 * properties, each text cut to its field's size (`truncated` says so);
 * comments nested at most 64 deep (deeper ones run to the end).  The
 * struct is about 40 KiB: allocate it, do not put it on a small stack.
 */
#ifndef POSTERN_AUTHRES_PARSE_H
#define POSTERN_AUTHRES_PARSE_H

#include <stddef.h>

#define AUTHRES_PARSE_RESULTS	16
#define AUTHRES_PARSE_PROPS	8

struct authres_parsed_prop {
	char		 ptype[32];	/* "smtp", "header", "policy"... */
	char		 property[64];	/* "mailfrom", "d"... */
	char		 value[256];	/* unquoted */
};

struct authres_parsed_result {
	char		 method[64];	/* without its "/version" */
	char		 result[32];
	char		 reason[256];	/* "" if none */
	struct authres_parsed_prop prop[AUTHRES_PARSE_PROPS];
	size_t		 nprop;
};

struct authres_parsed {
	char		 authserv_id[256];	/* unquoted; "" if unreadable */
	unsigned	 version;	/* 1 unless the header says */
	int		 none;		/* the no-result form "; none" */
	unsigned	 arc_instance;	/* ARC: the i= tag; 0 otherwise */
	struct authres_parsed_result res[AUTHRES_PARSE_RESULTS];
	size_t		 nres;
	int		 truncated;	/* a bound was hit: something cut */
	int		 syntax_errors;	/* resinfos or properties skipped */
};

enum authres_parse_status {
	AUTHRES_PARSE_OK,	/* an authserv-id and results (or none) */
	AUTHRES_PARSE_SYNTAX,	/* no authserv-id, or no ";" after it
				   (the id, if read, is still filled in) */
};

/* Parse the value of an Authentication-Results field (after the colon),
 * text[0..len), folding and all. */
enum authres_parse_status authres_parse(const char *text, size_t len,
	    struct authres_parsed *out);
/* The value of an ARC-Authentication-Results field: "i=N;" (1..50,
 * RFC 8617 4.2.1) then as above.  SYNTAX without a valid instance. */
/* The instance of an ARC-Authentication-Results value ("i=N;" first,
 * CFWS allowed around its parts, RFC 8617 4.1.1): N in 1..50, with *rest
 * the offset after the ';'; 0 when malformed. */
unsigned authres_arc_instance(const char *text, size_t len, size_t *rest);
enum authres_parse_status authres_parse_arc(const char *text, size_t len,
	    struct authres_parsed *out);
/* The first result of `method` (case-insensitive), or NULL. */
const struct authres_parsed_result *authres_parsed_find(
	    const struct authres_parsed *p, const char *method);
/* The value of ptype.property in r, or NULL. */
const char *authres_parsed_prop(const struct authres_parsed_result *r,
	    const char *ptype, const char *property);

#endif
