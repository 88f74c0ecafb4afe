/*
 * smtp_greet — the connection phase of an SMTP session, up to the final
 * greeting (postern.conf(5) `filter`, docs/filtering.md).
 *
 * In order: allow-client (exempt from what follows), block-client (554
 * 5.7.1 greeting, then only QUIT), then two waits that run side by side:
 * the DNSBL lookups of the client address and the greet-wait
 * (pre-greeting) test.  With greet-wait the "220-" line goes out at once
 * and the final "220 " line only when the wait is over; a client that
 * sends anything before it is no patient MTA and gets 554 5.5.1 and the
 * door.  The final greeting also waits for the DNSBL answers, so a listed
 * client never gets a 220: its greeting ends with 554 5.7.1 naming the
 * list, and then only QUIT is accepted.
 *
 * With a shared store (`cluster`) the final greeting also waits for the
 * client's connection count over every node (max-connections-per-ip,
 * smtp_limits.h): over it, 421 4.7.0 and the door.
 *
 * The session stays pure: the socket layer owns the timer, asking
 * smtp_greet_delay() how long to wait and calling smtp_greet_elapsed().
 */
#ifndef POSTERN_SMTP_GREET_H
#define POSTERN_SMTP_GREET_H

#include <stddef.h>

struct smtp_session;

/* The server's part: milliseconds to wait before smtp_greet_elapsed()
 * (0: no wait), read once, right after the session is created. */
unsigned smtp_greet_delay(const struct smtp_session *s);
/* greet-wait is over; the caller then flushes s->out and reads on. */
void	smtp_greet_elapsed(struct smtp_session *s);

/* The session's part (smtp_session.c). */
void	smtp_greet_start(struct smtp_session *s);
/* The session ends: its shared connection count is given back. */
void	smtp_greet_end(struct smtp_session *s);
/* Client bytes while the greet-wait runs: the pregreet refusal. */
void	smtp_greet_pregreet(struct smtp_session *s, const char *in,
	    size_t len);

#endif
