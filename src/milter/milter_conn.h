/*
 * milter_conn — one connection to one milter filter, MTA side, on the
 * caller's libevent loop (docs/milter.md).
 *
 * The session drives it one stage at a time: connect, helo, mail, rcpt,
 * data, header, eoh, body, eom (and unknown); each stage's answer comes
 * through the callback, on a later turn of the loop, never from inside
 * the call that started it.  Only one stage may be in progress.  The
 * first stage (milter_conn_connect) opens the socket and negotiates
 * (SMFIC_OPTNEG, version 6); steps the filter asked to skip are not sent
 * and replies it said it will not send are not awaited (both are answered
 * MILTER_CONTINUE at once).  Every wait is bounded by the timeout, which a
 * SMFIR_PROGRESS starts again; a reply is bounded by MILTER_PACKET_MAX and
 * the modifications of one message in count and bytes.  Any protocol
 * error, close or timeout is MILTER_FAILED with a reason, and the
 * connection stays failed (every later stage answers MILTER_FAILED at
 * once): the caller applies the filter's on-failure.
 *
 * Earlier verdicts are remembered, as Sendmail and Postfix do: ACCEPT or
 * REJECT/TEMPFAIL at connect or HELO holds for the whole connection (the
 * socket is closed); ACCEPT, DISCARD, REJECT or TEMPFAIL at MAIL, DATA,
 * a header, EOH or the body holds for the rest of the transaction (so
 * does ACCEPT or DISCARD at RCPT; REJECT and TEMPFAIL at RCPT are for
 * that recipient only); those later stages are answered locally, with the
 * same verdict, without a word to the filter.  milter_conn_abort ends a
 * transaction (RSET, a refused MAIL, a new MAIL, after the message): it
 * sends SMFIC_ABORT when the filter has a transaction open.  The
 * connection is reused across transactions.  Runs on the loop of
 * params.base only, one thread.
 */
#ifndef POSTERN_MILTER_CONN_H
#define POSTERN_MILTER_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "milter_proto.h"

#define MILTER_TIMEOUT_DEFAULT	30000	/* ms, for a timeout of 0 */
#define MILTER_MODS_MAX		1024	/* modifications of one message */
#define MILTER_MODS_BYTES_DEFAULT (4 * 1024 * 1024) /* their octets, a
					   replaced body included */
#define MILTER_PROGRESS_MAX	120	/* SMFIR_PROGRESS in one stage */
#define MILTER_SYMLIST_MAX	1024	/* octets of one macro list asked */
#define MILTER_OUTPUT_MAX	(256 * 1024) /* unsent octets before a
					   no-reply stage waits for them */
#define MILTER_REPLY_TEXT_MAX	1024	/* an SMTP reply kept */
/* every action the MTA side can hand over (docs/milter.md) */
#define MILTER_ACTIONS_ALL	(MILTER_F_ADDHDRS | MILTER_F_CHGBODY | \
	MILTER_F_ADDRCPT | MILTER_F_DELRCPT | MILTER_F_CHGHDRS | \
	MILTER_F_QUARANTINE | MILTER_F_CHGFROM | MILTER_F_ADDRCPT_PAR | \
	MILTER_F_SETSYMLIST)

struct milter_conn_params {
	const char	*name;		/* the filter's name, for reasons */
	const char	*socket;	/* inet:IP:PORT, inet:[IPv6]:PORT or
					   unix:PATH */
	unsigned	 timeout_ms;	/* connect, and each reply; 0:
					   MILTER_TIMEOUT_DEFAULT */
	struct event_base *base;
	size_t		 mods_bytes_max; /* 0: MILTER_MODS_BYTES_DEFAULT */
	uint32_t	 actions;	/* MILTER_F_* offered; 0: MILTER_ACTIONS_ALL
					   (a caller that cannot apply one
					   leaves it out) */
};

enum milter_verdict {
	MILTER_CONTINUE,
	MILTER_ACCEPT,
	MILTER_REJECT,		/* reply: the filter's, or "" (550 5.7.1) */
	MILTER_TEMPFAIL,	/* reply: the filter's, or "" (451 4.7.1) */
	MILTER_DISCARD,
	MILTER_QUARANTINE,	/* at end of message only; reason set */
	MILTER_FAILED,		/* connection, timeout, malformed: reason
				   set; the caller applies on-failure */
};

enum milter_mod_kind {
	MILTER_MOD_ADDHEADER,	/* name, value: at the end of the header */
	MILTER_MOD_INSHEADER,	/* index (0: first), name, value */
	MILTER_MOD_CHGHEADER,	/* index (1: first of that name), name,
				   value; value "" deletes it */
	MILTER_MOD_ADDRCPT,	/* addr, args (NULL without) */
	MILTER_MOD_DELRCPT,	/* addr */
	MILTER_MOD_CHGFROM,	/* addr, args (NULL without) */
};

/*
 * One modification asked at the end of the message.  A header value is
 * what follows the colon, ready to be written: folded lines end with
 * CRLF and go on with a space or tab; a value the filter sent without
 * its leading space (no SMFIP_HDR_LEADSPC) has one put back.  Addresses
 * are as the filter sent them (normally in <>).
 */
struct milter_mod {
	enum milter_mod_kind kind;
	unsigned	 index;
	char		*name;
	char		*value;
	char		*addr;
	char		*args;
};

struct milter_answer {
	enum milter_verdict verdict;
	const char	*stage;		/* "connect", "helo", ... "eom" */
	int		 local;		/* answered without the filter: a
					   skipped step or an earlier verdict */
	char		 reply[MILTER_REPLY_TEXT_MAX]; /* SMFIR_REPLYCODE:
					   "550 5.7.1 text" (lines joined by
					   CRLF), or "" */
	char		 reason[256];	/* quarantine or failure reason */
	/* eom: the modifications, in the order asked, and the replaced
	 * body (body_replaced; bodylen octets as the filter sent them) */
	const struct milter_mod *mods;
	size_t		 nmods;
	int		 body_replaced;
	const unsigned char *body;
	size_t		 bodylen;
	unsigned	 elapsed_ms;
};

/* Valid only during the call. */
typedef void (*milter_cb)(void *arg, const struct milter_answer *a);

struct milter_conn;
struct event_base;

/* NULL on a socket that does not parse (the configuration checks it
 * first with milter_conn_parse_socket). */
struct milter_conn *milter_conn_new(const struct milter_conn_params *p);
/* The socket forms above, numeric addresses only; 0 or -1. */
int	milter_conn_parse_socket(const char *spec,
	    struct sockaddr_storage *ss, socklen_t *len);

/*
 * Macros (milter_proto.h) go before the stage's command, in SMFIC_MACRO:
 * an array ended by a NULL name, or NULL; the caller's names are the wire
 * names ("{daemon_name}", "j").  When the filter asked for a list at
 * negotiation only the names in it are sent.
 */
/* Connects and negotiates, then sends the client: hostname (the verified
 * name, or NULL for "[address]"), client (AF_INET, AF_INET6, AF_UNIX, or
 * NULL: unknown). */
void	milter_conn_connect(struct milter_conn *mc, const char *hostname,
	    const struct sockaddr *client, const struct milter_macro *macros,
	    milter_cb cb, void *arg);
void	milter_conn_helo(struct milter_conn *mc, const char *helo,
	    const struct milter_macro *macros, milter_cb cb, void *arg);
/* addr without <> ("" for the null path); args: the ESMTP parameters. */
void	milter_conn_mail(struct milter_conn *mc, const char *addr,
	    const char *const *args, size_t nargs,
	    const struct milter_macro *macros, milter_cb cb, void *arg);
void	milter_conn_rcpt(struct milter_conn *mc, const char *addr,
	    const char *const *args, size_t nargs,
	    const struct milter_macro *macros, milter_cb cb, void *arg);
void	milter_conn_data(struct milter_conn *mc,
	    const struct milter_macro *macros, milter_cb cb, void *arg);
/* value: what follows the colon, folds as CRLF, without the last CRLF. */
void	milter_conn_header(struct milter_conn *mc, const char *name,
	    const char *value, size_t vlen, milter_cb cb, void *arg);
void	milter_conn_eoh(struct milter_conn *mc,
	    const struct milter_macro *macros, milter_cb cb, void *arg);
/* At most MILTER_CHUNK_MAX octets (CRLF line ends), copied at once. */
void	milter_conn_body(struct milter_conn *mc, const void *p, size_t n,
	    milter_cb cb, void *arg);
/* The end of the message: collects the modifications and the verdict.
 * CONTINUE from the filter here is MILTER_ACCEPT. */
void	milter_conn_eom(struct milter_conn *mc,
	    const struct milter_macro *macros, milter_cb cb, void *arg);
void	milter_conn_unknown(struct milter_conn *mc, const char *line,
	    const struct milter_macro *macros, milter_cb cb, void *arg);
/* Ends the transaction; with a stage in progress, its callback never
 * runs and the connection is failed (a reply in flight cannot be told
 * from the next one). */
void	milter_conn_abort(struct milter_conn *mc);
/* SMFIC_QUIT and close; a pending callback never runs. */
void	milter_conn_free(struct milter_conn *mc);

const char *milter_verdict_name(enum milter_verdict v);

#endif
