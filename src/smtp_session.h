/*
 * smtp_session — the SMTP server protocol engine of one client session.
 *
 * Pure with respect to I/O: bytes from the client go in through
 * smtp_session_input(), replies come out in s->out, and the waits of a
 * session — the DNSBL answers before the greeting, a directory answer at
 * RCPT and the durable commit at the end of DATA — go through the
 * resolver, the directory interface and the ops->commit hook.  The
 * socket layer (smtp_server.c) only moves bytes and timers, so the whole
 * protocol runs in unit tests from memory buffers (golden transcripts).
 *
 * States (smtp_state_name() for logs): a session is GREETING while the
 * final greeting waits for greet-wait or the DNSBL answers (smtp_greet.c),
 * then CONNECTED until the client says HELO/EHLO, then READY; a
 * transaction moves READY -> MAIL -> RCPT -> DATA and back to READY; QUIT
 * (or a fatal error) moves to CLOSING, after which the server flushes
 * s->out and closes.  A client refused at connect is REJECTED: only QUIT.
 * Commands are dispatched by one table of {verb, allowed states, handler}.
 *
 * The filters' shared state (resolver, block-senders-file list, rate
 * counters, per-rule counters) comes in through struct smtp_session_env;
 * without it a session simply has no DNSBL, no file list, no rate limit.
 *
 * TLS and AUTH (smtp_auth.c): the session offers STARTTLS when the server
 * says it can (env->starttls), answers it with 220 and then waits
 * (SMTP_WAIT_TLS) without reading on; the server discards whatever the
 * client sent after the STARTTLS line, runs the handshake and calls
 * smtp_session_tls_started(), which forgets HELO and the transaction
 * (RFC 3207 4.2).  An implicit-TLS session is told the same once its
 * handshake is done.  AUTH PLAIN/LOGIN is offered and taken only under
 * TLS; the password check goes to env->verifier (off the loop, failures
 * held back), or is made in place without one (tests).
 */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"
#include "policy.h"
#include "smtp_parse.h"

struct auth_db;
struct auth_guard;
struct auth_req;
struct auth_verifier;
struct conf;
struct conf_vserver;
struct directory;
struct dir_request;
struct smtp_check_rcpt;
struct dnsbl_check;
struct queue_envelope;
struct ratelimit;
struct resolver;
struct senderlist;
struct smtp_session;

enum smtp_state {
	SMTP_S_GREETING,	/* final greeting not sent yet */
	SMTP_S_CONNECTED,	/* greeted by us, no HELO/EHLO yet */
	SMTP_S_READY,		/* HELO/EHLO done, no transaction */
	SMTP_S_MAIL,		/* MAIL accepted */
	SMTP_S_RCPT,		/* at least one RCPT accepted */
	SMTP_S_DATA,		/* reading the message */
	SMTP_S_BDAT,		/* a BDAT transaction: between or in chunks */
	SMTP_S_REJECTED,	/* refused at connect: only QUIT */
	SMTP_S_CLOSING,		/* flush s->out, then close */
};

/*
 * How a session stores the message it receives.  The session keeps at
 * most SMTP_MSG_BUF_MAX bytes of it; a larger message goes to the I/O
 * layer's spool file as it arrives (spool_write), so a session's memory
 * does not grow with what the client sends (docs/spool.md).
 */
struct smtp_session_ops {
	/*
	 * Append the next bytes of the message of s->env (the spool file is
	 * created on the first call).  0, or an errno: then the rest of the
	 * message is read and dropped, and its end is answered with a
	 * temporary failure.
	 */
	int	(*spool_write)(struct smtp_session *s, const char *p, size_t n);
	/* Forget what spool_write wrote: the message will not be committed
	 * (refused, RSET, connection gone). */
	void	(*spool_abort)(struct smtp_session *s);
	/*
	 * Make env durable with its message: what spool_write wrote, then
	 * tail (malloc'ed, taken).  Call smtp_session_commit_done() later
	 * (never from inside this call).  Takes ownership of env and tail.
	 */
	void	(*commit)(struct smtp_session *s, struct queue_envelope *env,
		    char *tail, size_t taillen);
	/* An asynchronous answer arrived outside smtp_session_input(): the
	 * server should flush s->out and feed any buffered input again. */
	void	(*wakeup)(struct smtp_session *s);
};

/* Totals over every virtual server, kept by the server for `posternctl
 * stats`: refusals by rule (index: enum policy_rule). */
struct smtp_session_counters {
	uint64_t	accepted;			/* messages queued */
	uint64_t	refused[POLICY_RULE_COUNT];
	uint64_t	dnsbl_failures;		/* lookups that failed: the
						   client was let in */
};

/* What a session borrows from the server (all optional). */
struct smtp_session_env {
	struct resolver			*resolver;  /* the vs `dns` profile:
						       DNSBL lookups */
	struct senderlist		*senders;   /* block-senders-file */
	struct ratelimit		*ratelimit; /* rate-limit counters */
	struct smtp_session_counters	*counters;
	int				 starttls;  /* a TLS context is ready:
						       offer STARTTLS */
	struct auth_db			*authdb;    /* the vs `auth` users */
	struct auth_guard		*authguard; /* failures per address */
	struct auth_verifier		*verifier;  /* checks off the loop */
};

struct smtp_session {
	uint64_t			 id;
	struct conf			*conf;	/* reference held */
	const struct conf_vserver	*vs;	/* within conf */
	struct directory		*dir;	/* reference held */
	const struct smtp_session_ops	*ops;
	void				*owner;	/* the I/O layer's */
	struct smtp_session_counters	*counters; /* may be NULL */
	struct resolver			*resolver; /* may be NULL */
	struct senderlist		*senders;  /* reference held */
	struct ratelimit		*ratelimit; /* may be NULL */

	struct sockaddr_storage		 peer;
	char				 peer_ip[64];
	int				 tls;
	int				 authenticated;
	int				 shutting_down;

	/* TLS and AUTH (smtp_auth.c) */
	int				 starttls_ok;	/* env->starttls */
	char				 tls_info[128];	/* "TLSv1.3 with ..." */
	struct auth_db			*authdb;	/* reference held */
	struct auth_guard		*authguard;	/* may be NULL */
	struct auth_verifier		*verifier;	/* may be NULL */
	struct auth_req			*authreq;	/* check in flight */
	int				 auth_step;	/* SMTP_AUTH_* */
	const char			*auth_mech;	/* "PLAIN", "LOGIN" */
	char				 auth_login[256]; /* LOGIN: user */
	char				*auth_user;	/* once authenticated */
	int				 auth_charged;	/* the attempt counts as
							   a failure until it
							   succeeds */
	uint64_t			 auth_charged_at; /* ratelimit_now() */

	enum smtp_state			 state;
	int				 esmtp;
	char				 helo[SMTP_HELO_MAX + 1];
	unsigned			 errors;
	unsigned			 unknown_rcpts;
	unsigned			 messages;
	char				*reject_reply;	/* REJECTED: the
							   reply to repeat */

	/* before the final greeting (smtp_greet.c) */
	unsigned			 greet_pending;	/* SMTP_GREET_* */
	struct dnsbl_check		*dnsbl;
	int				 dnsbl_listed;	/* zone index, -1 */
	char				 dnsbl_answer[32];

	struct smtp_framer		 framer;
	struct smtp_data_reader		 data;
	struct buf			 out;	/* replies not yet sent */

	/* the transaction */
	struct queue_envelope		*env;
	struct strmap			*rcpt_set;	/* final rcpts, once */
	unsigned			 rcpts_given;	/* accepted RCPTs */
	struct buf			 msg;	/* Received: + message, the
						   part not yet spooled */
	int				 spooled;	/* spool_write was called */
	int				 spool_error;	/* its errno, or 0 */
	uint64_t			 chunk_size;	/* BDAT: announced */
	uint64_t			 chunk_left;	/* still to read */
	int				 chunk_last;	/* BDAT ... LAST */
	int				 chunk_why;	/* kept or dropped
							   (smtp_message.c) */

	/* the wait, if any */
	int				 waiting;	/* SMTP_WAIT_* */
	struct smtp_check_rcpt		*rcptchk;	/* RCPT checks */
	char				*pending_rcpt;	/* key being looked up */
	struct smtp_rcpt_args		*pending_args;
	int				 in_input;
};

#define SMTP_WAIT_NONE		0
#define SMTP_WAIT_DIRECTORY	1
#define SMTP_WAIT_COMMIT	2
#define SMTP_WAIT_DNSBL		3	/* greeting held for the DNSBL */
#define SMTP_WAIT_TLS		4	/* 220 to STARTTLS sent: the server
					   discards the rest of the input
					   and runs the handshake */
#define SMTP_WAIT_AUTH		5	/* password check in flight */

#define SMTP_AUTH_NONE		0	/* no SASL exchange */
#define SMTP_AUTH_PLAIN		1	/* "334 " sent: the PLAIN response */
#define SMTP_AUTH_LOGIN_USER	2	/* "334 VXNlcm5hbWU6" sent */
#define SMTP_AUTH_LOGIN_PASS	3	/* "334 UGFzc3dvcmQ6" sent */

#define SMTP_GREET_TIMER	0x01	/* greet-wait running */
#define SMTP_GREET_DNSBL	0x02	/* DNSBL answers outstanding */

/*
 * A new session for a client that just connected: takes a reference on conf
 * and dir (and env->senders).  Writes the greeting, its "220-" first line
 * (greet-wait; see smtp_greet.h), or the connect-time refusal to s->out.
 * smtp_session_new() is smtp_session_new_env() without an environment.
 */
struct smtp_session *smtp_session_new_env(uint64_t id, struct conf *conf,
	    const struct conf_vserver *vs, struct directory *dir,
	    const struct sockaddr *peer, const struct smtp_session_ops *ops,
	    void *owner, const struct smtp_session_env *env);
struct smtp_session *smtp_session_new(uint64_t id, struct conf *conf,
	    const struct conf_vserver *vs, struct directory *dir,
	    const struct sockaddr *peer, const struct smtp_session_ops *ops,
	    void *owner);
/* Free the session; a pending directory or DNSBL lookup is cancelled.
 * Must not be called while a commit is pending (smtp_session_waiting()). */
void	smtp_session_free(struct smtp_session *s);

/*
 * Feed client bytes.  Returns how many were consumed; the rest must be
 * kept and given again (after more arrive, or after a wakeup).  Stops early
 * while waiting or closing.
 */
size_t	smtp_session_input(struct smtp_session *s, const char *in, size_t len);

/* The commit requested through ops->commit finished (error: errno or 0);
 * id is the queue id.  Takes back nothing: env ownership stayed there. */
void	smtp_session_commit_done(struct smtp_session *s, int error,
	    const char *id);

/*
 * The TLS handshake is done (info: tls_describe()): from now on the
 * session is encrypted.  After STARTTLS the session starts over as RFC
 * 3207 4.2 says (no HELO, no transaction); its wait ends.  The caller then
 * flushes s->out and feeds input again.
 */
void	smtp_session_tls_started(struct smtp_session *s, const char *info);

/* Idle timeout or shutdown: write the 421 and move to CLOSING. */
void	smtp_session_timeout(struct smtp_session *s);
/* max-data-time has passed since the 354: unless the message is complete
 * (waiting for its commit), 421 4.4.2, drop it, move to CLOSING. */
void	smtp_session_data_expired(struct smtp_session *s);
void	smtp_session_shutdown(struct smtp_session *s);

int	smtp_session_waiting(const struct smtp_session *s);
int	smtp_session_closing(const struct smtp_session *s);
const char *smtp_state_name(enum smtp_state st);

#endif
