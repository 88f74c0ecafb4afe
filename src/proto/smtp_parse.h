/*
 * smtp_parse — pure, resumable SMTP parsers over byte buffers.
 *
 * Three scanners, none of which touches a socket or allocates (except the
 * DATA reader, which appends to a caller-owned bounded struct buf):
 *   - the command line framer: finds one CRLF-terminated line, with a
 *     length limit and a "skip to resync" state after an overlong line;
 *   - the command parser: verb plus arguments, and the MAIL/RCPT parameter
 *     parsers (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH, NOTIFY, ORCPT);
 *   - the DATA reader (in smtp_data.c): CRLF-only line ends,
 *     dot-unstuffing, the end marker CRLF.CRLF, line-length and size
 *     limits, and a header scan that counts Received: fields.
 * Only CRLF ends a line.  A bare LF or bare CR is a parse result, never a
 * line end, so no byte sequence can end DATA except CRLF "." CRLF (the SMTP
 * smuggling class is impossible by construction).
 */
#ifndef POSTERN_SMTP_PARSE_H
#define POSTERN_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dsn.h"
#include "buf.h"

/* ---- command line framing ---- */

enum smtp_line_status {
	SMTP_LINE_NEED_MORE,	/* no complete line yet: read more */
	SMTP_LINE_OK,		/* *linelen bytes of text, then CRLF */
	SMTP_LINE_TOO_LONG,	/* reply 500 5.5.2; bytes consumed, the framer
				   now skips to the next LF by itself */
	SMTP_LINE_BARE_LF,	/* line ended by LF without CR: 500 5.5.2 */
	SMTP_LINE_BAD_CHAR,	/* NUL or bare CR inside the line: 500 5.5.2 */
};

struct smtp_framer {
	size_t	max;		/* longest line, without CRLF */
	int	skipping;	/* discarding the rest of an overlong line */
};

void	smtp_framer_init(struct smtp_framer *f, size_t max);
/*
 * Look at buf[0..len).  Always sets *consumed (bytes the caller must drop
 * before the next call); on SMTP_LINE_OK, the line is buf[0..*linelen).
 * While skipping an overlong line, returns NEED_MORE with *consumed == len
 * until the LF arrives, then TOO_LONG once.
 */
enum smtp_line_status smtp_framer_next(struct smtp_framer *f,
	    const char *buf, size_t len, size_t *linelen, size_t *consumed);

/* ---- commands ---- */

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO, SMTP_CMD_EHLO, SMTP_CMD_MAIL, SMTP_CMD_RCPT,
	SMTP_CMD_DATA, SMTP_CMD_BDAT, SMTP_CMD_RSET, SMTP_CMD_NOOP,
	SMTP_CMD_QUIT, SMTP_CMD_VRFY, SMTP_CMD_EXPN, SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS, SMTP_CMD_AUTH,
	SMTP_CMD_COUNT
};

struct smtp_cmd {
	enum smtp_verb	 verb;
	const char	*arg;	/* after the verb and one space; points into
				   the line; not NUL-terminated */
	size_t		 arglen;
};

/*
 * Split a line (without CRLF) into verb and argument.  Verbs are
 * case-insensitive.  "MAIL FROM:" and "RCPT TO:" keep their "FROM:"/"TO:"
 * in arg for the parameter parsers.  Returns 0, or -1 for an unknown verb
 * (out->verb == SMTP_CMD_UNKNOWN).
 */
int	smtp_parse_command(const char *line, size_t len, struct smtp_cmd *out);
const char *smtp_verb_name(enum smtp_verb v);

enum smtp_body_type { SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };

enum smtp_param_status {
	SMTP_PARAM_OK = 0,
	SMTP_PARAM_SYNTAX,	/* 501 5.5.4 */
	SMTP_PARAM_UNKNOWN,	/* 555 5.5.4: unrecognised parameter */
	SMTP_PARAM_ADDR,	/* the path is bad: see addr_status */
};

struct smtp_mail_args {
	struct addr		sender;
	enum addr_status	addr_status;	/* when SMTP_PARAM_ADDR */
	uint64_t		size;		/* SIZE=, 0 if absent */
	enum smtp_body_type	body;
	int			smtputf8;
	enum smtp_ret		ret;
	char			envid[ADDR_PARAM_MAX + 1]; /* xtext as sent */
	char			auth[ADDR_PARAM_MAX + 1];  /* AUTH= as sent */
	size_t			params;		/* where the parameters start
						   in arg (after the path) */
};

struct smtp_rcpt_args {
	struct addr		rcpt;
	enum addr_status	addr_status;
	unsigned		notify;		/* SMTP_NOTIFY_*, 0 if absent */
	char			orcpt[ADDR_PARAM_MAX + 1]; /* "rfc822;..." */
	size_t			params;		/* as in smtp_mail_args */
};

/*
 * arg is the text after "MAIL " ("FROM:<a@b> SIZE=10").  One optional space
 * after the colon is tolerated (widespread client behaviour).  `utf8_ok`
 * says whether the server offers SMTPUTF8.
 */
enum smtp_param_status smtp_parse_mail(const char *arg, size_t len,
	    int utf8_ok, struct smtp_mail_args *out);
/* `utf8` is whether this transaction's MAIL carried SMTPUTF8. */
enum smtp_param_status smtp_parse_rcpt(const char *arg, size_t len,
	    int utf8, struct smtp_rcpt_args *out);

/* ---- DATA ---- */

enum smtp_data_status {
	SMTP_DATA_NEED_MORE,	/* everything given was consumed */
	SMTP_DATA_DONE,		/* CRLF.CRLF seen; *consumed stops after it */
	SMTP_DATA_BARE_LF,	/* bare LF: 521 5.5.2 and close */
	SMTP_DATA_BARE_CR,	/* bare CR: 521 5.5.2 and close */
};

struct smtp_data_reader {
	/* limits, set by smtp_data_init */
	uint64_t	max_size;	/* message bytes kept (after unstuffing) */
	/* results, valid after SMTP_DATA_DONE */
	uint64_t	size;		/* bytes of the whole message, counted as
					   RFC 1870 does: after unstuffing, CRLFs
					   in, the final ".\r\n" out; keeps
					   counting past max_size */
	int		too_big;	/* size passed max_size, or `out` refused
					   an append: 552 5.3.4 */
	int		line_too_long;	/* a line over 998 octets, not counting a
					   stuffed dot (RFC 5321 4.5.3.1.6):
					   554 5.6.0 */
	int		header_too_long; /* header section over the limit */
	unsigned	received_count;	/* Received: fields in the header */
	/* private scanner state (smtp_data.c) */
	int		state;
	uint64_t	line_len;	/* octets of this line so far */
	uint64_t	header_len;	/* octets of the header section so far */
	int		in_header;	/* before the first empty line */
	int		hdr_match;	/* progress matching "Received" WSP* ":"
					   at the start of a header line */
	int		binary;		/* BDAT: no dot-stuffing, no marker */
};

void	smtp_data_init(struct smtp_data_reader *r, uint64_t max_size);
/*
 * Feed received bytes.  Unstuffed message bytes (CRLF line ends, without
 * the final "." line) are appended to `out` while the message is within
 * max_size; past it, scanning continues to the end marker but nothing more
 * is stored and too_big is set.  *consumed is how many input bytes were
 * used (less than len only on DONE or an error; on an error it stops at the
 * offending byte).  After DONE or an error, further calls return the same
 * status and consume nothing.  `out` may be NULL to scan without keeping.
 */
enum smtp_data_status smtp_data_feed(struct smtp_data_reader *r,
	    const char *in, size_t len, size_t *consumed, struct buf *out);
/*
 * BDAT (RFC 3030): smtp_data_init_binary() reads chunks with the same
 * rules but takes a leading dot as text and never sees an end marker; at
 * the end of the LAST chunk, smtp_data_finish() ends the message: a last
 * line without CRLF gets one in `out` (SMTP_DATA_DONE), a CR left waiting
 * for its LF is a bare CR.  It may output up to two bytes.
 */
void	smtp_data_init_binary(struct smtp_data_reader *r, uint64_t max_size);
enum smtp_data_status smtp_data_finish(struct smtp_data_reader *r,
	    struct buf *out);

#endif
