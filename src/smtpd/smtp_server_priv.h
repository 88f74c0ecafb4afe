/*
 * smtp_server_priv — what the parts of the receiving side's socket edge
 * share: smtp_server.c (listeners, connections, limits) and
 * smtp_server_tls.c (handshakes, the TLS material and AUTH users of a
 * configuration).  Not for anyone else: they go through smtp_server.h.
 */
#ifndef POSTERN_SMTP_SERVER_PRIV_H
#define POSTERN_SMTP_SERVER_PRIV_H

#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "netaddr.h"
#include "smtp_server.h"
#include "smtp_session.h"

struct auth_guard;
struct auth_set;
struct auth_verifier;
struct bufferevent;
struct listener;
struct tls_client_set;
struct tls_server_set;

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct smtp_server	*srv;
	struct bufferevent	*bev;
	struct smtp_session	*sess;
	char			*vsname;
	char			 limkey[NETADDR_STRLEN + 64];
	int			 zombie;	/* socket gone, commit pending */
	struct queue_msg	*qmsg;		/* the message being spooled */
	int			 throttled;	/* reading off: output full */
	struct event		*greet_ev;	/* greet-wait timer */
	struct event		*data_ev;	/* max-data-time, armed while
						   the session is in DATA */
	SSL_CTX			*ssl_ctx;	/* the vs context (a reference),
						   or NULL: no TLS */
	int			 handshaking;	/* TLS handshake under way */
	int			 tls_switch;	/* STARTTLS: switch once the
						   220 is written */
	int			 implicit;	/* implicit-TLS listener */
	int			 clean;		/* closing after our reply */
	unsigned		 timeout;	/* seconds */
};

struct smtp_server {
	struct event_base		*base;
	struct queue_writer		*writer;
	struct conf			*conf;
	struct directory		*dir;
	struct resolver_set		*rs;		/* borrowed */
	struct senderlist_set		*senders;
	struct ratelimit		*ratelimit;
	struct smtp_limits		*limits;	/* shared limits,
							   greylist */
	TAILQ_HEAD(, listener)		 listeners;
	TAILQ_HEAD(, conn)		 conns;
	struct strmap			*per_ip;	/* "vs ip" -> count */
	struct strmap			*per_vs;	/* "vs" -> count */
	uint64_t			 next_id;
	struct smtp_server_stats	 stats;
	int				 stopping;
	void				(*stop_done)(void *);
	void				*stop_arg;
	struct smtp_session_counters	 counters;
	void				(*queued)(void *,
					    struct queue_envelope *);
	void				*queued_arg;
	struct tls_server_set		*tls;
	struct auth_set			*auths;
	struct tls_server_set		*next_tls;	/* loaded, not yet */
	struct auth_set			*next_auths;	/* in force */
	struct tls_client_set		*next_client;
	struct auth_guard		*authguard;
	struct auth_verifier		*verifier;
};

/* smtp_server.c */
/* Send pending replies; feed buffered input; decide whether to read. */
void	smtp_server_pump(struct conn *c);
/* The connection is over (the session may live on as a zombie). */
void	smtp_server_close(struct conn *c);
/* Callbacks, limits and timeouts of a connection's (new) bufferevent. */
void	smtp_server_set_bev(struct conn *c, struct bufferevent *bev);

/* smtp_server_tls.c */
void	smtp_server_tls_init(struct smtp_server *srv);
void	smtp_server_tls_free(struct smtp_server *srv);
/* Put what smtp_server_load_tls() read in force. */
void	smtp_server_tls_commit(struct smtp_server *srv);
/* The session answered STARTTLS with 220: discard, then switch. */
void	smtp_server_starttls(struct conn *c);
/* The 220 is out: an OpenSSL bufferevent takes over the socket. */
void	smtp_server_starttls_switch(struct conn *c);
/* A bufferevent event during (or ending) a handshake. */
void	smtp_server_tls_event(struct conn *c, short what);

#endif
