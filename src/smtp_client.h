/*
 * smtp_client — one outbound SMTP transaction to one address.
 *
 * The caller (delivery) walks next hops and their addresses; this module
 * connects to one address, speaks EHLO (HELO if refused), uses PIPELINING
 * and SIZE when the peer offers them, sends MAIL, every RCPT, DATA and the
 * message, and reports per recipient: delivered, permanently failed (5xx
 * to RCPT or DATA) or not done (anything else: the caller tries the next
 * address, then defers).  Output is canonical (CRLF only, stray CR/LF
 * replaced, dot-stuffed, lines folded at 998 octets) whatever the source
 * holds.  Every wait is bounded by a timeout.
 *
 * The reply parser (smtp_client_parse_reply) is pure and fuzzable.
 */
#ifndef POSTERN_SMTP_CLIENT_H
#define POSTERN_SMTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;

enum smtp_client_rcpt_result {
	SMTP_RCPT_PENDING,	/* not settled: try elsewhere / later */
	SMTP_RCPT_DELIVERED,	/* 250 to DATA after an accepted RCPT */
	SMTP_RCPT_FAILED,	/* 5xx to RCPT or DATA: permanent */
};

struct smtp_client_rcpt {
	const char			*addr;
	unsigned			 notify;	/* SMTP_NOTIFY_* or 0 */
	const char			*orcpt;		/* or NULL */
	enum smtp_client_rcpt_result	 result;
	char				 reply[512];	/* last reply about it,
							   "550 5.1.1 ..." */
};

struct smtp_client_msg {
	const char	*sender;	/* "" for <> */
	int		 body_8bit;
	int		 smtputf8;
	int		 ret;		/* SMTP_RET_*; sent if the peer has DSN */
	const char	*envid;		/* or NULL */
	int		 fd;		/* the message: fd, offset, size */
	uint64_t	 offset;
	uint64_t	 size;
};

struct smtp_client_params {
	const struct sockaddr	*addr;
	socklen_t		 addrlen;
	const struct sockaddr	*source;	/* bind address or NULL */
	socklen_t		 sourcelen;
	const char		*helo;		/* our name in EHLO */
	const char		*peer_name;	/* for logs: MX host name */
	unsigned		 connect_timeout; /* seconds */
	unsigned		 command_timeout;
	unsigned		 data_timeout;
};

/* The outcome of the attempt as a whole. */
struct smtp_client_result {
	int	 connected;		/* TCP connection was made */
	int	 transaction;		/* got as far as MAIL being accepted */
	char	 error[512];		/* why the attempt stopped short, or "" */
	char	 tls[64];		/* later: TLS version/cipher, or "" */
};

struct smtp_client;
typedef void (*smtp_client_cb)(void *arg, struct smtp_client_result *res);

/*
 * Start an attempt.  rcpts (array of n) are updated in place and must stay
 * valid until the callback, which runs once on the loop (never before this
 * returns).  msg->fd is read, not closed.
 */
struct smtp_client *smtp_client_start(struct event_base *base,
	    const struct smtp_client_params *p, const struct smtp_client_msg *m,
	    struct smtp_client_rcpt *rcpts, size_t n, smtp_client_cb cb,
	    void *arg);
/* Abort (no callback). */
void	smtp_client_cancel(struct smtp_client *c);

/* ---- pure parts ---- */

enum smtp_reply_status { SMTP_REPLY_NEED_MORE, SMTP_REPLY_OK, SMTP_REPLY_BAD };

#define SMTP_CLIENT_REPLY_MAX	(64 * 1024)	/* all lines of one reply */

struct smtp_reply {
	int	code;			/* 200..599 */
	char	text[512];		/* first line's text after "NNN " or
					   "NNN-", truncated */
	char	ext[1024];		/* EHLO keywords, one per line, upper */
};

/*
 * Parse one complete (possibly multi-line) reply at the start of buf.
 * Lines must end with CRLF (a bare LF is accepted as a line end here: we
 * are the reader, robustness helps and nothing is forwarded).  All lines
 * must carry the same code; a code outside 200..599 or a line that does
 * not start with three digits is BAD.  *consumed covers the whole reply.
 */
enum smtp_reply_status smtp_client_parse_reply(const char *buf, size_t len,
	    struct smtp_reply *out, size_t *consumed);

/*
 * Canonicalize message bytes for the wire: CRLF line ends (a lone CR or LF
 * becomes CRLF), dot-stuffing, lines over 998 octets folded.  Streaming:
 * state lives in *st (zero-initialized before the first call); call with
 * final=1 at the end to close an unterminated last line.  Appends to out
 * (a caller-owned buffer of at least 2*len+8 bytes); returns bytes written.
 */
struct smtp_canon { int at_line_start; int pending_cr; size_t line_len; };
size_t	smtp_client_canon(struct smtp_canon *st, const char *in, size_t len,
	    int final, char *out);

#endif
