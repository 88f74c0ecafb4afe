/*
 * milter_conn_priv — what milter_conn.c (socket, negotiation, stages)
 * and milter_conn_reply.c (a stage's replies, the modifications) share.
 * Not for other modules.
 */
#ifndef POSTERN_MILTER_CONN_PRIV_H
#define POSTERN_MILTER_CONN_PRIV_H

#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "milter_conn.h"

enum milter_conn_state {
	MC_NEW,			/* no socket yet */
	MC_CONNECTING,
	MC_NEGOTIATING,		/* SMFIC_OPTNEG sent */
	MC_READY,
	MC_DONE,		/* a verdict for the whole connection:
				   socket closed, stages answered locally */
	MC_FAILED,		/* socket closed, stages answer FAILED */
};

enum milter_conn_stage {
	MS_CONNECT, MS_HELO, MS_MAIL, MS_RCPT, MS_DATA, MS_HEADER, MS_EOH,
	MS_BODY, MS_EOM, MS_UNKNOWN,
};

struct milter_conn {
	char			*name;
	char			*socket;
	unsigned		 timeout_ms;
	size_t			 mods_bytes_max;
	uint32_t		 offer;		/* actions offered */
	struct event_base	*base;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct bufferevent	*bev;
	struct event		*timer;		/* the wait's timeout */
	struct event		*defer;		/* delivers the answer */
	enum milter_conn_state	 state;
	struct buf		 out;		/* packets being encoded */

	/* what the negotiation settled */
	uint32_t		 version, actions, protocol;
	char			*symlist[MILTER_M_CLASSES];

	/* the stage in progress */
	int			 busy;		/* a callback is owed */
	int			 waiting;	/* for the filter's reply */
	int			 draining;	/* for the output to drain */
	int			 answered;	/* ans is final, delivery due */
	enum milter_conn_stage	 stage;
	milter_cb		 cb;
	void			*cbarg;
	struct timespec		 t0;
	unsigned		 progress;
	struct milter_answer	 ans;

	/* end of message: what the filter asked */
	struct milter_mod	*mods;
	size_t			 nmods;
	size_t			 modbytes;
	struct buf		 body;
	int			 quarantine;
	char			 qreason[256];

	/* verdicts remembered for later stages */
	enum milter_verdict	 conn_verdict;	/* CONTINUE: none */
	char			 conn_reply[MILTER_REPLY_TEXT_MAX];
	enum milter_verdict	 tx_verdict;
	char			 tx_reply[MILTER_REPLY_TEXT_MAX];
	int			 tx_open;	/* the filter is in a transaction */
	int			 skip_body;	/* SMFIR_SKIP seen */
	char			 failure[256];

	/* the connect stage, held while the socket opens */
	char			*c_host;
	struct sockaddr_storage	 c_client;
	int			 c_has_client;
	struct milter_macro	*c_macros;
};

extern const char *const milter_conn_stage_names[];

/* milter_conn.c */
void	milter_conn_fail(struct milter_conn *mc, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	milter_conn_finish(struct milter_conn *mc);
void	milter_conn_arm(struct milter_conn *mc);
void	milter_conn_close(struct milter_conn *mc, int quit);
void	milter_conn_send_connect(struct milter_conn *mc);
/* Start a stage: 1 when it is answered already (locally). */
int	milter_conn_begin(struct milter_conn *mc, enum milter_conn_stage st,
	    milter_cb cb, void *arg);
void	milter_conn_answer_local(struct milter_conn *mc, enum milter_verdict v,
	    const char *reply);
/* The stage's own command into mc->out; 0 or -1. */
typedef int (*milter_conn_encode_fn)(struct milter_conn *, const void *);
/* Macros, then the command (unless skipped), then wait or answer. */
void	milter_conn_run(struct milter_conn *mc,
	    const struct milter_macro *macros, milter_conn_encode_fn enc,
	    const void *ctx);
char	milter_conn_stage_cmd(enum milter_conn_stage st);

/* milter_conn_reply.c: one reply of the stage in progress; 0 to wait on,
 * 1 when ans is final, -1 after milter_conn_fail. */
int	milter_conn_reply(struct milter_conn *mc, const struct milter_reply *r);
int	milter_conn_negotiated(struct milter_conn *mc,
	    const struct milter_reply *r);
void	milter_conn_mods_free(struct milter_conn *mc);

#endif
