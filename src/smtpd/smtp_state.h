/*
 * smtp_state — the state of one SMTP session (struct smtp_session) and the
 * helpers every part of the engine uses on it: replies, refusals (one log
 * line, the rule's counter, the reply), bad commands (the max-errors
 * budget), the state moves, the end of a transaction.  The parts of the
 * engine (smtp_greet.c, smtp_auth.c, smtp_rcpt.c, smtp_message.c) and the
 * engine itself (smtp_session.c: life cycle, input, command table) sit on
 * top of it; it calls none of them, so the dependencies run one way.
 * The protocol and its states are described in smtp_session.h.
 */
#ifndef POSTERN_SMTP_STATE_H
#define POSTERN_SMTP_STATE_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "authdns.h"
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
struct smtp_check_mail;
struct smtp_check_rcpt;
struct smtp_limits;
struct smtp_limits_req;
struct smtp_msgcheck_run;
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
	/* Read back what spool_write wrote: the bytes read, 0 past them, or
	 * -1 (may be NULL: nothing can be read back). */
	ssize_t	(*spool_read)(struct smtp_session *s, uint64_t off, void *buf,
		    size_t n);
	/* Forget what spool_write wrote: the message will not be committed
	 * (refused, RSET, connection gone). */
	void	(*spool_abort)(struct smtp_session *s);
	/*
	 * Make env durable with its message: what spool_write wrote, then
	 * tail (malloc'ed, taken).  Call smtp_message_commit_done() later
	 * (never from inside this call).  Takes ownership of env and tail.
	 */
	void	(*commit)(struct smtp_session *s, struct queue_envelope *env,
		    char *tail, size_t taillen);
	/* An asynchronous answer arrived outside smtp_session_input(): the
	 * server should flush s->out and feed any buffered input again. */
	void	(*wakeup)(struct smtp_session *s);
};

#define SMTP_AUTHRES_MAX	8
#define SMTP_MILTER_VERDICTS	8	/* > MILTER_FAILED (milter_conn.h) */
#define SMTP_COUNTED_MILTERS_MAX 32	/* filters counted by name */

/* Totals over every virtual server, kept by the server for `posternctl
 * stats`: refusals by rule (index: enum policy_rule). */
struct smtp_session_counters {
	uint64_t	accepted;			/* messages queued */
	uint64_t	refused[POLICY_RULE_COUNT];
	uint64_t	dnsbl_failures;		/* lookups that failed: the
						   client was let in */
	/* Message authentication results, by the evaluators' result
	 * enums (spf.h, dkim_verify.h, dmarc.h, arc.h). */
	uint64_t	spf[SMTP_AUTHRES_MAX];
	uint64_t	dkim[SMTP_AUTHRES_MAX];
	uint64_t	dmarc[SMTP_AUTHRES_MAX];
	uint64_t	arc[SMTP_AUTHRES_MAX];
	uint64_t	dkim_signed;		/* signatures made */
	uint64_t	auth_failures;		/* AUTH attempts refused */
	/* milter verdicts, by filter name and enum milter_verdict */
	struct {
		char		name[64];
		uint64_t	verdicts[SMTP_MILTER_VERDICTS];
	}		milter[SMTP_COUNTED_MILTERS_MAX];
	size_t		nmilters;
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
	struct authdns			 authdns;   /* message authentication
						       lookups (the vs
						       `authentication { dns }`);
						       ask NULL: none */
	struct smtp_milters		*milters;   /* taken: the session
						       frees it; NULL: none */
	struct smtp_limits		*limits;    /* shared limits and the
						       greylist (smtp_limits.h) */
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
	struct authdns			 authdns;  /* ask NULL: none */
	struct smtp_milters		*milters;  /* owned; NULL: none */
	struct senderlist		*senders;  /* reference held */
	struct ratelimit		*ratelimit; /* may be NULL */
	struct smtp_limits		*limits;    /* may be NULL */

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
	struct smtp_limits_req		*auth_shared;	/* shared failures
							   asked */
	char				*auth_held;	/* the AUTH line that
							   waits for them */
	size_t				 auth_held_len;
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
	struct smtp_limits_req		*greet_shared;	/* the shared
							   connection count */
	int				 conn_shared;	/* counted there: give
							   it back at the end */

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
	uint64_t			 spooled_len;	/* what it wrote */
	int				 spool_error;	/* its errno, or 0 */
	struct smtp_msgcheck_run	*msgchk;	/* its checks */
	struct smtp_spf			*spf;		/* its SPF check */
	const char			*msg_stage;	/* "DATA", "BDAT" */
	uint64_t			 chunk_size;	/* BDAT: announced */
	uint64_t			 chunk_left;	/* still to read */
	int				 chunk_last;	/* BDAT ... LAST */
	int				 chunk_why;	/* kept or dropped
							   (smtp_message.c) */

	/* the wait, if any */
	int				 waiting;	/* SMTP_WAIT_* */
	struct smtp_check_rcpt		*rcptchk;	/* RCPT checks */
	struct smtp_check_mail		*mailchk;	/* MAIL checks */
	struct smtp_mail_args		*pending_mail;
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
#define SMTP_WAIT_CHECK		6	/* a message check's verdict */
#define SMTP_WAIT_MILTER	8	/* a filter's answer to a command
					   (smtp_milter_stage.h) */
#define SMTP_WAIT_SHARED	7	/* the shared store (MAIL, AUTH) */

#define SMTP_AUTH_NONE		0	/* no SASL exchange */
#define SMTP_AUTH_PLAIN		1	/* "334 " sent: the PLAIN response */
#define SMTP_AUTH_LOGIN_USER	2	/* "334 VXNlcm5hbWU6" sent */
#define SMTP_AUTH_LOGIN_PASS	3	/* "334 UGFzc3dvcmQ6" sent */

#define SMTP_GREET_TIMER	0x01	/* greet-wait running */
#define SMTP_GREET_DNSBL	0x02	/* DNSBL answers outstanding */
#define SMTP_GREET_MILTER	0x04	/* the filters' connect answers */
#define SMTP_GREET_SHARED	0x08	/* the shared connection count */

/* What happens to the rest of a BDAT chunk (smtp_message.c). */
enum smtp_chunk_fate {
	SMTP_CHUNK_KEEP,		/* part of the message */
	SMTP_CHUNK_DROP,		/* dropped, the reply already given */
	SMTP_CHUNK_BAD_SEQUENCE,	/* dropped, then 503: no transaction */
	SMTP_CHUNK_NO_RCPT,		/* dropped, then 554: no recipient */
	SMTP_CHUNK_BARE_NEWLINE,	/* dropped, then 554 5.6.0 */
};

const char *smtp_state_name(enum smtp_state st);
void	smtp_state_enter(struct smtp_session *s, enum smtp_state st);
/* One reply line (CRLF added) into s->out. */
void	smtp_state_reply(struct smtp_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * A refusal: one log line (session, client, stage, rule, what, reply), the
 * rule's counter, and the reply.
 */
void	smtp_state_refuse(struct smtp_session *s, const char *stage,
	    enum policy_rule rule, const char *what, const char *text);
/* A bad command: counts towards max-errors; the reply or the 421. */
void	smtp_state_bad_command(struct smtp_session *s, const char *text);
int	smtp_state_param_error(struct smtp_session *s,
	    enum smtp_param_status st, enum addr_status as, int mail);
/* Reply, drop the transaction and any wait, and move to CLOSING. */
void	smtp_state_close_with(struct smtp_session *s, const char *text);
void	smtp_state_tx_reset(struct smtp_session *s);
/* An answer came in from the loop: let the server flush and read on. */
void	smtp_state_wake(struct smtp_session *s);
/*
 * Read the message being received back, from its first byte (the
 * gateway's Received:): what went to the spool, then what the session
 * still holds.  For the checks that need it again at its end (milters,
 * smtp_milter.c).  The bytes read, 0 past the end, -1 on an error.
 */
ssize_t	smtp_state_message_read(struct smtp_session *s, uint64_t off,
	    void *buf, size_t n);
const char *smtp_state_server_name(const struct smtp_session *s);
/* The session's client as the checks (smtp_check.h) see it. */
struct smtp_check_client;
void	smtp_state_check_client(const struct smtp_session *s,
	    struct smtp_check_client *cl);

/* Drop the greeting's wait (DNSBL lookups, greet-wait): the session is
 * closing or being freed. */
void	smtp_state_cancel_greeting(struct smtp_session *s);

#endif
