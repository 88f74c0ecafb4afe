/*
 * auth — SMTP AUTH (RFC 4954) for the receiving side: the `auth` file of a
 * virtual server, password checks, the per-address failure count, and the
 * SASL PLAIN (RFC 4616) and LOGIN decoders.
 *
 * The file holds `user:hash` lines, hashes in crypt(3) form: yescrypt
 * ("$y$") or SHA-512 crypt ("$6$"); anything else, plain text above all,
 * is refused when the file is read.  A database is an immutable,
 * reference-counted snapshot, read at start (before privileges are
 * dropped) and again on every reload.  auth_db_check() is thread-safe
 * (crypt_r) and costs what the hash costs, so the daemon runs it off the
 * loop through an auth_verifier, which also holds a failed answer back
 * for AUTH_FAILURE_DELAY_MS without blocking anything.  The verifier's
 * queue is bounded, in all and per client (AUTH_VERIFY_QUEUE_MAX,
 * AUTH_VERIFY_CLIENT_MAX in postern_limits.h).
 *
 * The SASL decoders (auth_sasl.c) are pure functions over buffers, table
 * tested and fuzzed.  Passwords never leave the buffers they are decoded
 * into and the verifier's request, which are wiped after use; they are
 * never logged.
 */
#ifndef POSTERN_AUTH_H
#define POSTERN_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct event_base;

#define AUTH_USER_MAX		255	/* octets of a user name */
#define AUTH_PASS_MAX		255	/* octets of a password */
#define AUTH_FILE_MAX		(16 * 1024 * 1024)
#define AUTH_LINE_MAX		1024
#define AUTH_FAILURE_DELAY_MS	1000	/* before each 535 */
#define AUTH_FAILURE_WINDOW	3600	/* max-auth-failures counts per hour */
#define AUTH_GUARD_KEYS_MAX	65536	/* client addresses tracked */

/* ---- the auth file ---- */

struct auth_db;

/* Parse text (name is used in messages).  0, or -1 with err
 * "NAME:LINE: message". */
int	auth_db_parse(const char *name, const char *text, size_t len,
	    struct auth_db **out, char *err, size_t errlen);
/* Read and parse a file: 0, or -1 with err "PATH: ..." or "PATH:LINE: ...". */
int	auth_db_load(const char *path, struct auth_db **out, char *err,
	    size_t errlen);
struct auth_db *auth_db_ref(struct auth_db *db);
void	auth_db_unref(struct auth_db *db);
size_t	auth_db_count(const struct auth_db *db);
const char *auth_db_path(const struct auth_db *db);
/*
 * 1 if user exists and pass matches its hash, else 0.  An unknown user
 * costs a hash computation too, so timing does not tell users apart.
 * Blocking (the hash's cost) and thread-safe.
 */
int	auth_db_check(const struct auth_db *db, const char *user,
	    const char *pass);

/* The databases of every virtual server of c with `auth`.  A file that
 * cannot be read on a reload (privileges dropped) while old holds the same
 * path keeps the old database, with a warning.  0, or -1 with err. */
struct auth_set;
int	auth_set_load(const struct conf *c, const struct auth_set *old,
	    struct auth_set **out, char *err, size_t errlen);
void	auth_set_free(struct auth_set *set);
/* The database of one virtual server (borrowed), or NULL. */
struct auth_db *auth_set_get(const struct auth_set *set, const char *vsname);

/* ---- failures per client address (max-auth-failures) ---- */

/*
 * Failures per key within AUTH_FAILURE_WINDOW seconds of the first one.
 * The caller passes the time (ratelimit_now()), so tests step it.  Past
 * AUTH_GUARD_KEYS_MAX keys the expired ones are dropped, and if that is
 * not enough the table starts over (fail open, logged).
 *
 * The session counts an attempt as a failure when it starts
 * (auth_guard_fail()) and takes it back with auth_guard_refund() when it
 * succeeds or ends without a password checked, so that parallel
 * connections cannot all get a guess in before the first failure is
 * known (src/smtpd/smtp_auth.c).
 */
struct auth_guard;
struct auth_guard *auth_guard_new(void);
void	auth_guard_free(struct auth_guard *g);
unsigned auth_guard_failures(struct auth_guard *g, const char *key,
	    uint64_t now);
/* Count one failure; returns the failures now counted for key. */
unsigned auth_guard_fail(struct auth_guard *g, const char *key,
	    uint64_t now);
/* Take back one failure counted at `when` (an auth_guard_fail() time),
 * unless the window it was counted in is over; returns the failures now
 * counted for key. */
unsigned auth_guard_refund(struct auth_guard *g, const char *key,
	    uint64_t when, uint64_t now);

/* ---- checks off the loop ---- */

struct auth_verifier;
struct auth_req;
typedef void (*auth_verify_cb)(void *arg, int ok);

/* Threads are made here: call before privileges are dropped. */
struct auth_verifier *auth_verifier_new(struct event_base *base);
/* Waits for checks in flight; their callbacks are not called. */
void	auth_verifier_free(struct auth_verifier *v);
/*
 * Check user/pass against db on a worker thread; cb(arg, ok) runs on the
 * loop, at once for a success and AUTH_FAILURE_DELAY_MS later for a
 * failure, never before this returns.  user and pass are copied (and the
 * copies wiped); db is referenced until the check ends.  client is the
 * asker's limit key (netaddr_limit_key()).  NULL, with nothing queued and
 * cb never called, when AUTH_VERIFY_QUEUE_MAX checks, or
 * AUTH_VERIFY_CLIENT_MAX of client's, are waiting or running: the caller
 * answers 454 4.7.0.
 */
struct auth_req *auth_verify(struct auth_verifier *v, struct auth_db *db,
	    const char *client, const char *user, const char *pass,
	    auth_verify_cb cb, void *arg);
/* Checks waiting or running, in all and of one client (tests, logs);
 * a check counts until its hash is computed, not through the delay. */
size_t	auth_verifier_pending(const struct auth_verifier *v);
size_t	auth_verifier_client_pending(const struct auth_verifier *v,
	    const char *client);
/* Drop a request before its callback: the callback is never called. */
void	auth_verify_cancel(struct auth_req *r);

/* ---- SASL (auth_sasl.c) ---- */

enum auth_sasl_status {
	AUTH_SASL_OK,
	AUTH_SASL_CANCEL,	/* the client sent "*": 501 5.7.0 */
	AUTH_SASL_BAD_BASE64,	/* 501 5.5.2 */
	AUTH_SASL_BAD_FORMAT,	/* decoded, but not what the mechanism
				   allows: a failed authentication */
};

/*
 * Strict base64 (RFC 4648 4: padding required, no blanks, no other
 * characters).  Writes at most outlen bytes; -1 if the input is not
 * base64 or does not fit, else the decoded length.
 */
long	auth_base64_decode(const char *in, size_t len, unsigned char *out,
	    size_t outlen);
/* Encode len bytes as base64 into out (NUL-terminated); -1 if it does
 * not fit, else the length. */
long	auth_base64_encode(const unsigned char *in, size_t len, char *out,
	    size_t outlen);

/*
 * PLAIN: the client's response (base64 of authzid NUL authcid NUL passwd).
 * "=" is the empty response.  The user and password must be non-empty,
 * without NUL, at most AUTH_USER_MAX / AUTH_PASS_MAX octets; an authzid
 * other than empty or the user itself (acting for someone else) is
 * BAD_FORMAT.  user and pass must hold AUTH_USER_MAX + 1 and
 * AUTH_PASS_MAX + 1 bytes.
 */
enum auth_sasl_status auth_sasl_plain(const char *resp, size_t len,
	    char *user, char *pass);
/*
 * LOGIN: one response (the user name or the password, base64), at most
 * max octets, no NUL; empty is BAD_FORMAT.  out must hold max + 1 bytes.
 */
enum auth_sasl_status auth_sasl_login(const char *resp, size_t len,
	    char *out, size_t max);

/* Printable ASCII copy of a user name for logs (others become '?',
 * truncated to fit). */
void	auth_log_name(const char *user, char *out, size_t outlen);

#endif
