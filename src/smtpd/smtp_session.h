/*
 * smtp_session — the SMTP server protocol engine of one client session.
 *
 * Pure with respect to I/O: bytes from the client go in through
 * smtp_session_input(), replies come out in s->out, and the waits of a
 * session — the DNSBL answers before the greeting, a directory answer at
 * RCPT, the content filters' answers at each command
 * (smtp_milter_stage.h) and the durable commit at the end of DATA — go
 * through the resolver, the directory interface, the filters' connections
 * and the ops->commit hook.  The
 * socket layer (smtp_server.c) only moves bytes and timers, so the whole
 * protocol runs in unit tests from memory buffers (golden transcripts).
 *
 * States (smtp_state_name() for logs): a session is GREETING while the
 * final greeting waits for greet-wait or the DNSBL answers (smtp_greet.c),
 * then CONNECTED until the client says HELO/EHLO, then READY; a
 * transaction moves READY -> MAIL -> RCPT -> DATA and back to READY; QUIT
 * (or a fatal error) moves to CLOSING, after which the server flushes
 * s->out and closes.  A client refused at connect is REJECTED: only QUIT.
 * Commands are dispatched by one table of {verb, allowed states, handler}
 * (smtp_session.c); the session's state and the helpers its parts share
 * are smtp_state.h, which calls none of the parts: dependencies run one
 * way (scripts/include-cycles.py checks it).
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

#include "smtp_state.h"

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

/*
 * The TLS handshake is done (info: tls_describe()): from now on the
 * session is encrypted.  After STARTTLS the session starts over as RFC
 * 3207 4.2 says (no HELO, no transaction); its wait ends.  The caller then
 * flushes s->out and feeds input again.
 */
void	smtp_session_tls_started(struct smtp_session *s, const char *info);

/* Idle timeout or shutdown: write the 421 and move to CLOSING. */
void	smtp_session_timeout(struct smtp_session *s);
void	smtp_session_shutdown(struct smtp_session *s);

int	smtp_session_waiting(const struct smtp_session *s);
int	smtp_session_closing(const struct smtp_session *s);

#endif
