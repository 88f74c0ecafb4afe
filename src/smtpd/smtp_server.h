/*
 * smtp_server — the socket edge of the receiving side.
 *
 * Owns the listeners of every virtual server, one bufferevent per client
 * connection, connection limits (per virtual server, per client address),
 * idle timeouts and output back-pressure, and moves bytes between the
 * socket and an smtp_session.  Everything here runs on one event loop
 * (a loop, its sessions, its commit writer), so a
 * later `workers N` is a matter of running several.
 */
#ifndef POSTERN_SMTP_SERVER_H
#define POSTERN_SMTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct directory;
struct event_base;
struct queue_envelope;
struct queue_writer;
struct resolver_set;
struct senderlist_set;
struct smtp_server;
struct smtp_session_counters;
struct smtp_limits;
struct kv;

struct smtp_server_stats {
	uint64_t	connections;
	uint64_t	refused_connections;	/* max-connections(-per-ip) */
	uint64_t	active;
};

/* Starts the password verifier's thread: before privileges are dropped. */
struct smtp_server *smtp_server_new(struct event_base *base,
	    struct queue_writer *writer);
void	smtp_server_free(struct smtp_server *srv);

/*
 * Bind the listeners of conf (before privileges are dropped).  On reload,
 * listeners whose address is unchanged are kept, new ones are bound and
 * the rest closed.  0, or -1 with err set (nothing changed then).
 */
int	smtp_server_listen(struct smtp_server *srv, const struct conf *conf,
	    char *err, size_t errlen);

/*
 * Sessions that start from now on use this configuration and directory
 * (references taken), these resolver profiles for their DNSBL lookups
 * (borrowed: rs must outlive every session started under it, which
 * posternd ensures by keeping every set it made until exit; NULL: no
 * DNSBL lookups) and these block-senders-file lists (taken over; the
 * previous set is freed).  Sessions in flight keep theirs.
 */
void	smtp_server_set_config(struct smtp_server *srv, struct conf *conf,
	    struct directory *dir, struct resolver_set *rs,
	    struct senderlist_set *senders);

/*
 * Read the TLS material and AUTH files of conf: the certificate and key of
 * every virtual server with `tls`, its `auth` file, and the CA sources of
 * the outbound policies.  Call before privileges are dropped at start, and
 * on reload before smtp_server_set_config(), which puts them in force
 * (connections and sessions in flight keep what they hold; outbound
 * connections from then on use the new CA sources).  0, or -1 with err
 * ("PATH: why"; nothing changed).
 */
int	smtp_server_load_tls(struct smtp_server *srv, const struct conf *conf,
	    char *err, size_t errlen);

/* Where accepted messages go once durable: fn takes ownership of env. */
void	smtp_server_on_queued(struct smtp_server *srv,
	    void (*fn)(void *arg, struct queue_envelope *env), void *arg);

/* Start accepting (after privileges are dropped). */
void	smtp_server_start(struct smtp_server *srv);

/*
 * Graceful stop: close the listeners, send 421 to idle sessions, let
 * transactions in flight finish.  `done` runs once no session remains.
 */
void	smtp_server_shutdown(struct smtp_server *srv, void (*done)(void *),
	    void *arg);

/*
 * The shared store of `cluster` (borrowed: it must outlive the server;
 * NULL: none, every limit and the greylist from memory) and this node's
 * name: rate-limit, max-connections-per-ip, max-auth-failures and the
 * greylist are then shared (smtp_limits.h).
 */
void	smtp_server_set_cluster(struct smtp_server *srv, struct kv *kv,
	    const char *node);
/* The limits and greylist of the server (posternctl trace looks). */
struct smtp_limits *smtp_server_limits(const struct smtp_server *srv);

void	smtp_server_stats(const struct smtp_server *srv,
	    struct smtp_server_stats *out);
/* Refusals by rule and messages accepted, over every virtual server, since
 * start (for `posternctl stats`). */
const struct smtp_session_counters *smtp_server_counters(
	    const struct smtp_server *srv);

#endif
