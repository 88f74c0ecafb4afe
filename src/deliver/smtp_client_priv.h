/*
 * smtp_client_priv — what the parts of the SMTP client share:
 * smtp_client.c (connection, the protocol, the body), smtp_client_tx.c
 * (setting up a transaction), smtp_client_reuse.c (kept connections) and
 * smtp_client_tls.c (STARTTLS and the TLS policy).  Not for anyone else:
 * they go through smtp_client.h.
 */
#ifndef POSTERN_SMTP_CLIENT_PRIV_H
#define POSTERN_SMTP_CLIENT_PRIV_H

#include <sys/socket.h>

#include "conf.h"
#include "smtp_client.h"

struct bufferevent;

enum client_state {
	C_CONNECT, C_GREETING, C_EHLO, C_HELO,
	C_STARTTLS,	/* waiting for the reply to STARTTLS */
	C_TLS,		/* TLS handshake; no reply expected */
	C_RSET,		/* kept connection: waiting for the reply to RSET */
	C_MAIL,		/* waiting for the reply to MAIL */
	C_RCPT,		/* ... to RCPT of order[cur] */
	C_DATA,		/* ... to DATA */
	C_BODY,		/* sending the message; no reply expected */
	C_DOT,		/* ... to the end of data */
	C_QUIT,
	C_PARK,		/* transaction over, connection kept; the zero
			   timer reports it */
	C_IDLE,		/* kept, waiting for smtp_client_again() */
	C_DONE,		/* closed; the zero timer will finish */
};

/* Per recipient, beside the caller's array. */
enum { R_SKIP, R_TRY, R_ACCEPTED, R_ANSWERED };

struct smtp_client {
	struct event_base	*base;
	struct bufferevent	*bev;
	struct event		*timer;
	enum client_state	 state;
	char			 relay[336];	/* name[addr]:port */
	char			*helo;
	unsigned		 connect_timeout, command_timeout;
	unsigned		 data_timeout;
	struct sockaddr_storage	 addr, source;	/* copies, to connect again */
	socklen_t		 addrlen, sourcelen;

	/* TLS (smtp_client_tls.c) */
	enum conf_tls_policy	 tls;
	char			*tls_ca;	/* or NULL: system store */
	char			*tls_name;	/* to verify, or NULL */
	int			 tls_active;	/* handshake done */
	int			 tls_plain;	/* `may` after a failed
						   handshake: clear text */

	struct smtp_client_msg	 msg;	/* strings are copies: */
	char			*sender, *envid;

	struct smtp_client_rcpt	**rcpts;
	size_t			 n;
	unsigned char		*rstate;	/* R_* per rcpt */
	size_t			*order;	/* the rcpts we send */
	size_t			 nsend;
	size_t			 cur;	/* next reply: order[cur] */
	size_t			 naccepted;
	struct smtp_client_ehlo	 ext;
	int			 mail_failed; /* ignore rest of group */

	uint64_t		 sent;		/* body octets read */
	struct smtp_canon	 canon;
	char			*chunk;

	/* reuse (smtp_client_reuse.c) */
	int			 keep;		/* params' keep */
	int			 quiet;		/* no log line, no callback:
						   an idle connection ending */
	unsigned		 uses;		/* transactions so far */
	time_t			 born;
	void			(*lost)(void *); /* while idle */
	void			*lostarg;

	char			 last[512]; /* last reply, for logs */
	smtp_client_cb		 cb;
	void			*cbarg;
	struct smtp_client_result res;
};

#define SMTP_CLIENT_PRINTF	__attribute__((format(printf, 2, 3)))

/* smtp_client.c */
extern const char *const smtp_client_stage_names[];
void	smtp_client_set_error(struct smtp_client *, const char *, ...)
	    SMTP_CLIENT_PRINTF;
void	smtp_client_fail(struct smtp_client *, const char *, ...)
	    SMTP_CLIENT_PRINTF;
void	smtp_client_done(struct smtp_client *c);
void	smtp_client_arm(struct smtp_client *c, unsigned secs);
void	smtp_client_quit(struct smtp_client *c);
void	smtp_client_send_next(struct smtp_client *c, enum client_state st,
	    const char *cmd);
/* After EHLO/HELO (and TLS): MAIL, RCPT, DATA. */
void	smtp_client_begin(struct smtp_client *c);
/* Connect to c->addr on a new plain bufferevent: 0, or -1 with the error
 * set. */
int	smtp_client_connect(struct smtp_client *c);
/* Our callbacks and read limit on a (new) bufferevent of c. */
void	smtp_client_setcb(struct smtp_client *c, struct bufferevent *bev);

void	smtp_client_set_rcpt(struct smtp_client *c, size_t i,
	    enum rcpt_state res, const char *reply);
/* Every recipient still in play gets this outcome. */
void	smtp_client_settle_all(struct smtp_client *c,
	    enum rcpt_state res, const char *reply);

/* smtp_client_tx.c */
/* Which recipients to send; refuse lines we must not write: 0, or -1
 * with the error set. */
int	smtp_client_prepare(struct smtp_client *c);
/* Numeric host text for logs, Postfix style: name[addr]:port. */
void	smtp_client_make_relay(struct smtp_client *c,
	    const struct smtp_client_params *p);
/* Release what one transaction held (copies of the message, recipient
 * state, body buffer). */
void	smtp_client_tx_free(struct smtp_client *c);
/* Copy the message and take the recipients of a new transaction. */
void	smtp_client_tx_init(struct smtp_client *c,
	    const struct smtp_client_msg *m, struct smtp_client_rcpt **rcpts,
	    size_t n);
/* Refuse what cannot succeed with this peer (SMTPUTF8, SIZE): 1 if it
 * did (recipients settled, QUIT sent). */
int	smtp_client_refuse(struct smtp_client *c);
/* MAIL, and with PIPELINING every RCPT and DATA, into the output. */
void	smtp_client_send_tx(struct smtp_client *c);

/* The log line of a transaction. */
void	smtp_client_log(struct smtp_client *c);

/* smtp_client_reuse.c */
/* The transaction ended cleanly: keep the connection if asked to.  1 if
 * it was kept (the zero timer reports it), 0 to QUIT as usual. */
int	smtp_client_park(struct smtp_client *c, int code);
/* The zero timer in C_PARK: log, call back with reusable set. */
void	smtp_client_report_parked(struct smtp_client *c);
/* The reply to RSET on a kept connection. */
void	smtp_client_rset_reply(struct smtp_client *c, int code);
/* A kept connection failed before the new transaction began. */
void	smtp_client_stale(struct smtp_client *c, const char *why);
/* Input, EOF, an error or the timer while idle. */
void	smtp_client_idle_end(struct smtp_client *c, int polite);

/* smtp_client_tls.c */
/* After a 2xx to EHLO or HELO: 1 if the TLS policy took over (STARTTLS
 * sent, or the attempt ended), 0 to go on with the transaction. */
int	smtp_client_tls_after_ehlo(struct smtp_client *c);
void	smtp_client_tls_reply(struct smtp_client *c, const struct smtp_reply *r,
	    const char *txt);
/* A bufferevent event in state C_TLS. */
void	smtp_client_tls_event(struct smtp_client *c, short what);
void	smtp_client_tls_timeout(struct smtp_client *c);
/* "none", "may", "encrypt", "verify". */
const char *smtp_client_tls_policy_name(enum conf_tls_policy p);

#endif
