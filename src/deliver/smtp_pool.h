/*
 * smtp_pool — kept outbound SMTP connections waiting for their next
 * transaction (a connection cache, as Postfix's scache).
 *
 * A burst of mail to one next hop then pays one TCP connection, greeting,
 * EHLO and TLS handshake for many messages instead of one each.  Entries
 * are keyed by everything that made the connection what it is (address,
 * source, our EHLO name, TLS policy, CA and name to verify), so a kept
 * connection is only ever reused where a new one would be identical.  An
 * idle connection lives SMTP_POOL_IDLE seconds, is not reused once it is
 * SMTP_POOL_AGE_MAX old, and the pool holds at most the `max` its owner
 * gives (the oldest goes first).  The pool owns what it holds; what
 * smtp_pool_take() returns belongs to the caller.
 */
#ifndef POSTERN_SMTP_POOL_H
#define POSTERN_SMTP_POOL_H

#include <stddef.h>

struct event_base;
struct smtp_client;
struct smtp_pool;

#define SMTP_POOL_IDLE		2	/* seconds a kept connection waits */
#define SMTP_POOL_AGE_MAX	300	/* seconds: then closed, not reused */
#define SMTP_POOL_KEY_MAX	1024

struct smtp_pool *smtp_pool_new(void);
/* Close every idle connection at once (no QUIT) and free the pool. */
void	smtp_pool_free(struct smtp_pool *p);
/*
 * Shutdown: QUIT on every idle connection, then done(arg) once the last
 * one is closed (each waits at most 2 s for its 221), or at once when
 * there is none.  Nothing may be put in the pool afterwards.
 */
void	smtp_pool_quit_all(struct smtp_pool *p, void (*done)(void *),
	    void *arg);

/* A kept connection for key (the most recently used), or NULL. */
struct smtp_client *smtp_pool_take(struct smtp_pool *p, const char *key);
/* Keep c, which its callback reported reusable, under key; closes it
 * instead when it is too old or unusable.  With max idle connections
 * already held, the oldest is closed first. */
void	smtp_pool_put(struct smtp_pool *p, const char *key,
	    struct smtp_client *c, size_t max);
/* Idle connections held. */
size_t	smtp_pool_count(const struct smtp_pool *p);
/* Close the oldest idle connection (QUIT): 1, or 0 if there is none. */
int	smtp_pool_evict(struct smtp_pool *p);

#endif
