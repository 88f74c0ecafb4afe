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
 * TLS (smtp_client_tls.c), by the policy in the parameters: `none` never
 * asks; `may` uses STARTTLS when offered and, when the handshake fails,
 * connects to the same address again in clear text; `encrypt` and
 * `verify` end the attempt (recipients not done, never failed) when the
 * peer offers no STARTTLS or the handshake fails, and `verify` also when
 * the certificate does not chain to the CA source or does not match the
 * name.  Anything the peer sends after its reply to STARTTLS and before
 * the handshake is discarded.
 *
 * Connection reuse: with `keep` set, a transaction that ends cleanly
 * (any reply to the final dot but 421) leaves the connection open and the
 * handle alive; the owner then runs the next transaction on it with
 * smtp_client_again() (RSET first, pipelined with MAIL/RCPT/DATA when the
 * peer pipelines), parks it in a pool (smtp_pool.h), or closes it.
 *
 * The reply parser (smtp_client_parse_reply) is pure and fuzzable.
 */
#ifndef POSTERN_SMTP_CLIENT_H
#define POSTERN_SMTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include <sys/socket.h>
#include <time.h>

#include "conf.h"
#include "queue_state.h"	/* enum rcpt_state */

struct event_base;

/*
 * One recipient of a message being delivered: the one record every
 * delivery layer shares.  The scheduler makes one per recipient for an
 * attempt (st from the state log, queue_state.h); routing, the job and
 * this client settle it in place: st (RCPT_PENDING: not settled, try
 * elsewhere or later; RCPT_DELIVERED: 2xx to RCPT and to the final dot;
 * RCPT_FAILED: 5xx, permanent) and reply, the last word about it; the
 * delivery adds who answered; the scheduler writes the state log and the
 * DSNs from it.  Nobody keeps a copy of the outcome elsewhere.
 */
struct smtp_client_rcpt {
	const char			*addr;		/* the envelope's */
	unsigned			 notify;	/* SMTP_NOTIFY_* or 0 */
	const char			*orcpt;		/* or NULL */
	enum rcpt_state			 st;
	char				 reply[512];	/* "550 5.1.1 ..." or
							   our own text */
	char				 status[16];	/* enhanced, "5.1.1" */
	char				 remote[300];	/* the next hop that
							   answered, "local"
							   (Maildir store), "" */
	int				 peer_dsn;	/* delivered to a peer
							   that offered DSN: it
							   reports success */
	int				 again;		/* refused with 452 in
							   the last transaction:
							   the peer's recipient
							   limit (RFC 5321
							   4.5.3.1.10), worth a
							   further transaction on
							   the same connection */
};

struct smtp_client_msg {
	const char	*sender;	/* "" for <> */
	int		 body_8bit;
	int		 smtputf8;
	int		 ret;		/* SMTP_RET_*; sent if the peer has DSN */
	const char	*envid;		/* or NULL */
	struct queue_view view;		/* the message in its queue file,
					   as it leaves (queue.h) */
	uint64_t	 size;		/* its size as it leaves */
	const char	*prefix;	/* header lines sent before it (each
					   CRLF-ended, canonicalized like the
					   message: delivery_headers()), or
					   NULL */
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
	enum conf_tls_policy	 tls;		/* TLS_NONE (0) .. TLS_VERIFY */
	const char		*tls_ca;	/* CA file, or NULL: the system
						   store */
	const char		*tls_name;	/* name the certificate must
						   match: MX host, smart host,
						   mailbox server, or the
						   address for [IP] */
	int			 keep;		/* keep the connection after
						   a clean end of data */
};

/* The outcome of the attempt as a whole. */
struct smtp_client_result {
	int	 connected;		/* TCP connection was made */
	int	 transaction;		/* got as far as MAIL being accepted */
	char	 error[512];		/* why the attempt stopped short, or "" */
	char	 tls[160];		/* "TLSv1.3 with cipher ... (256/256
					   bits), verified" or "" (none) */
	int	 peer_dsn;		/* the peer's EHLO offered DSN, so it
					   got NOTIFY/ORCPT and reports success
					   itself (RFC 3461 5.2.1) */
	int	 reusable;		/* kept: the handle lives on, idle;
					   the owner must pass it to
					   smtp_client_again(), smtp_pool_put()
					   or smtp_client_close().  0: the
					   handle is gone */
	int	 stale;			/* a kept connection was dead when this
					   transaction began (no answer to
					   RSET): nothing was sent for the
					   recipients; connect afresh */
	unsigned uses;			/* transactions on this connection,
					   this one included */
};

struct smtp_client;
typedef void (*smtp_client_cb)(void *arg, struct smtp_client_result *res);

/*
 * Start an attempt.  rcpts (n pointers) are updated in place and must stay
 * valid until the callback, which runs once on the loop (never before this
 * returns).  msg->fd is read, not closed.
 *
 * Added: only recipients whose result is RCPT_PENDING on entry are
 * sent (so the caller may pass the same array to the next address); the
 * others are left untouched.  A recipient still PENDING at the end has the
 * reason in reply (its own 4xx, or the attempt's error).  The strings of p
 * and m are copied; rcpts' strings are not.  The callback runs after the
 * connection is closed; res is valid only during the call, and the handle
 * is gone once the callback has been called (do not cancel it then).
 * Never returns NULL: early failures (bad address, socket, bind) come
 * through the callback too.  Timeouts of 0 mean 30 s connect, 300 s
 * command, 600 s data.  The process must ignore SIGPIPE (posternd does).
 * Result per recipient: RCPT 2xx + final 2xx: DELIVERED; 5xx to MAIL,
 * RCPT, DATA or the final dot, a SIZE the peer refuses, or SMTPUTF8 needed
 * and not offered: FAILED; everything else PENDING.
 */
struct smtp_client *smtp_client_start(struct event_base *base,
	    const struct smtp_client_params *p, const struct smtp_client_msg *m,
	    struct smtp_client_rcpt **rcpts, size_t n, smtp_client_cb cb,
	    void *arg);
/* Abort (no callback), closing the connection at once: before the
 * callback has run, or on a kept (idle) handle. */
void	smtp_client_cancel(struct smtp_client *c);

/*
 * Added: the next transaction on a kept connection (the callback said
 * reusable).  Same contract as smtp_client_start for m, rcpts, cb and
 * arg; the connection's EHLO extensions and TLS state carry over.
 */
void	smtp_client_again(struct smtp_client *c, const struct smtp_client_msg *m,
	    struct smtp_client_rcpt **rcpts, size_t n, smtp_client_cb cb,
	    void *arg);

/* Added: end a kept connection politely (QUIT, then free; no callback). */
void	smtp_client_close(struct smtp_client *c);
/* Added: the same, and cb(arg, res) once the connection is closed (after
 * the 221, or QUIT's short wait for it), from the loop, never before this
 * returns; res says nothing but that.  For a shutdown that waits. */
void	smtp_client_close_cb(struct smtp_client *c, smtp_client_cb cb,
	    void *arg);

/*
 * Added: the timeouts of the next waits on a kept connection (0: the
 * defaults of smtp_client_start).  A connection takes its timeouts when it
 * is made; the owner sets them again before each reuse, so a reloaded
 * configuration holds on kept connections too.
 */
void	smtp_client_set_timeouts(struct smtp_client *c, unsigned connect,
	    unsigned command, unsigned data);

/*
 * Added: watch a kept connection while it waits for its next use: when
 * the peer closes it or says anything, or after secs, it is closed and
 * lost(arg) is called (the handle is gone then).  -1 if the connection
 * is already unusable (unread input): the caller closes it.
 */
int	smtp_client_idle(struct smtp_client *c, unsigned secs,
	    void (*lost)(void *), void *arg);

/* Added: when the connection was made (time(NULL) then). */
time_t	smtp_client_born(const struct smtp_client *c);

/* ---- pure parts ---- */

enum smtp_reply_status { SMTP_REPLY_NEED_MORE, SMTP_REPLY_OK, SMTP_REPLY_BAD };

#define SMTP_CLIENT_REPLY_MAX	(64 * 1024)	/* all lines of one reply */
/* Added: one reply line, without its line end.  RFC 5321 4.5.3.1.5 says
 * 512 with CRLF; real servers exceed it, so we take up to this. */
#define SMTP_CLIENT_REPLY_LINE_MAX	1000

struct smtp_reply {
	int	code;			/* 200..599 */
	char	text[512];		/* first line's text after "NNN " or
					   "NNN-", truncated */
	char	ext[SMTP_CLIENT_REPLY_MAX]; /* EHLO keywords, one per line,
					   upper: every one of the reply
					   (a 4 KiB EHLO with STARTTLS last
					   keeps it) */
};

/*
 * Parse one complete (possibly multi-line) reply at the start of buf.
 * Lines must end with CRLF (a bare LF is accepted as a line end here: we
 * are the reader, robustness helps and nothing is forwarded).  All lines
 * must carry the same code; a code outside 200..599 or a line that does
 * not start with three digits is BAD.  *consumed covers the whole reply.
 * Added: a line longer than SMTP_CLIENT_REPLY_LINE_MAX or a reply longer
 * than SMTP_CLIENT_REPLY_MAX is BAD; BAD is reported as soon as the bytes
 * at hand prove it (so garbage need not be waited for), and the verdict
 * does not depend on how the input was split.  text and ext hold
 * printable ASCII only (anything else becomes '?').
 */
enum smtp_reply_status smtp_client_parse_reply(const char *buf, size_t len,
	    struct smtp_reply *out, size_t *consumed);

/*
 * Added: "CODE text" of a reply's first line into buf (always terminated;
 * text is already printable ASCII, see below).  Returns buf.
 */
char	*smtp_client_format_reply(const struct smtp_reply *r, char *buf,
	    size_t len);

/*
 * Added: the extensions of an EHLO reply (its ext lines).  SIZE without a
 * number, or SIZE 0, means no announced limit (size == 0).
 */
struct smtp_client_ehlo {
	int		pipelining;
	int		size_offered;
	uint64_t	size;		/* 0: no limit announced */
	int		eightbitmime;
	int		smtputf8;
	int		dsn;
	int		starttls;
};
void	smtp_client_parse_ehlo(const struct smtp_reply *r,
	    struct smtp_client_ehlo *out);

/*
 * Added: the MAIL and RCPT command lines (with CRLF) we send to a peer
 * with extensions e: SIZE=, BODY=8BITMIME, SMTPUTF8, RET=, ENVID=,
 * NOTIFY=, ORCPT= as offered and set.  ENVID and ORCPT that are not
 * printable xtext are left out.  -1 if the path holds a control character
 * or is longer than ADDR_PATH_MAX, or the line does not fit in len.
 */
int	smtp_client_mail_line(char *buf, size_t len,
	    const struct smtp_client_msg *m, const struct smtp_client_ehlo *e);
int	smtp_client_rcpt_line(char *buf, size_t len,
	    const struct smtp_client_rcpt *r, const struct smtp_client_ehlo *e);

/*
 * Canonicalize message bytes for the wire: CRLF line ends (a lone CR or LF
 * becomes CRLF), dot-stuffing, lines over 998 octets folded.  Streaming:
 * state lives in *st (zero-initialized before the first call); call with
 * final=1 at the end to close an unterminated last line.  Appends to out
 * (a caller-owned buffer of at least 2*len+8 bytes); returns bytes written.
 *
 * Added detail: "folded" means a plain CRLF is inserted after 998 octets
 * of a line as it goes on the wire, the stuffing dot counted (RFC 5321
 * 4.5.3.1.6 would not count it; SPEC 5 bounds what we emit at 998, so a
 * lenient next hop never sees a 999-octet line from us); no continuation
 * space is added, as that would be header folding and change body text.  line_len (octets of the current line) and pending_cr (a CR
 * was turned into CRLF; a following LF belongs to it) drive the work, so
 * an all-zero state is the start of a message; at_line_start is kept for
 * the caller's information after each call (output ends at a line start).
 */
struct smtp_canon { int at_line_start; int pending_cr; size_t line_len; };
/* What SIZE announces: the message and its prefix, before stuffing. */
uint64_t smtp_client_msg_size(const struct smtp_client_msg *m);
size_t	smtp_client_canon(struct smtp_canon *st, const char *in, size_t len,
	    int final, char *out);

#endif
