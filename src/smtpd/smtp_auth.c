/*
 * smtp_auth — AUTH PLAIN and LOGIN in the session; see smtp_auth.h.
 *
 * Checks, in order: AUTH configured (else 502, as before the feature),
 * TLS (538 5.7.11: never a password in clear text), EHLO done and no
 * transaction (503), not yet authenticated (503), and the failure guard:
 * a client (netaddr_limit_key(): an IPv6 client is its /64) with
 * max-auth-failures failed attempts in the last hour gets 421 4.7.0 and
 * the door, its password unchecked (with `cluster`, the failures of
 * every gateway: the AUTH line waits for the shared count, smtp_limits.h,
 * and each failure is added to it).  Decoding is auth_sasl.c's; a
 * response that decodes to something PLAIN or LOGIN does not allow goes
 * through the same check as a wrong password (with an empty one), so it
 * is delayed and counted alike.  Failures count towards the guard, never
 * towards max-errors; bad base64 is a syntax error and counts as one.
 * "*" aborts the exchange (501 5.7.0).
 *
 * An attempt is counted as a failure when it starts (charge()), not when
 * the verdict comes a second later: otherwise a client with many
 * connections would get a guess in on each before its first failure were
 * known.  A success takes the count back, and so does an exchange that
 * ends with no password checked (aborted, bad base64, the verifier full,
 * the client gone before answering); one whose password went to the
 * verifier stays counted even if the client leaves.  When the verifier's
 * queue is full, in all or for this client, the answer is 454 4.7.0
 * (RFC 4954 6) at once.
 *
 * The user name is logged (printable, truncated) on success and failure,
 * with the client address; the password is never kept past the check.
 */
#include "smtp_auth.h"
#include "auth.h"
#include "conf.h"
#include "log.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "smtp_limits.h"
#include "smtp_parse.h"
#include "smtp_state.h"
#include "xmalloc.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOGIN_USER_PROMPT	"334 VXNlcm5hbWU6"	/* "Username:" */
#define LOGIN_PASS_PROMPT	"334 UGFzc3dvcmQ6"	/* "Password:" */

static const char *
client_key(const struct smtp_session *s, char *buf, size_t len)
{
	return netaddr_limit_key((const struct sockaddr *)&s->peer, buf, len);
}

static void
guard_key(const struct smtp_session *s, char *key, size_t len)
{
	char client[NETADDR_STRLEN];

	/* Per virtual server: each has its own max-auth-failures. */
	snprintf(key, len, "%s %s", s->vs->name,
	    client_key(s, client, sizeof(client)));
}

/* The attempt starts: it counts as a failure from now on. */
static void
charge(struct smtp_session *s)
{
	char key[300];

	if (s->authguard == NULL || s->auth_charged)
		return;		/* an exchange left by a bad line: its count */
	guard_key(s, key, sizeof(key));
	s->auth_charged_at = ratelimit_now();
	auth_guard_fail(s->authguard, key, s->auth_charged_at);
	s->auth_charged = 1;
}

/* It succeeded, or ended with no password checked: take the count back. */
static void
refund(struct smtp_session *s)
{
	char key[300];

	if (!s->auth_charged)
		return;
	s->auth_charged = 0;
	guard_key(s, key, sizeof(key));
	auth_guard_refund(s->authguard, key, s->auth_charged_at,
	    ratelimit_now());
}

static void
result(struct smtp_session *s, int ok)
{
	char key[300], name[80];
	unsigned n = 0;

	auth_log_name(s->auth_login, name, sizeof(name));
	if (ok) {
		refund(s);
		s->authenticated = 1;
		free(s->auth_user);
		s->auth_user = xstrdup(s->auth_login);
		log_info("session=%016llx client=%s authenticated "
		    "mechanism=%s user=%s", (unsigned long long)s->id,
		    s->peer_ip, s->auth_mech, name);
		smtp_state_reply(s, "235 2.7.0 Authentication successful");
	} else {
		guard_key(s, key, sizeof(key));
		/* Counted when the attempt started (charge()). */
		if (s->authguard && !s->auth_charged)
			n = auth_guard_fail(s->authguard, key,
			    ratelimit_now());
		else if (s->authguard)
			n = auth_guard_failures(s->authguard, key,
			    ratelimit_now());
		s->auth_charged = 0;
		if (s->counters)
			s->counters->auth_failures++;
		smtp_limits_auth_fail(s->limits, s->vs,
		    (const struct sockaddr *)&s->peer);
		log_info("session=%016llx client=%s AUTH failed mechanism=%s "
		    "user=\"%s\" failures=%u/%u", (unsigned long long)s->id,
		    s->peer_ip, s->auth_mech, name, n,
		    s->vs->max_auth_failures);
		smtp_state_reply(s, "535 5.7.8 Authentication credentials "
		    "invalid");
	}
	OPENSSL_cleanse(s->auth_login, sizeof(s->auth_login));
	if (s->shutting_down)
		smtp_state_close_with(s, "421 4.3.2 Service shutting down, "
		    "closing connection");
}

static void
check_done(void *arg, int ok)
{
	struct smtp_session *s = arg;

	s->authreq = NULL;
	s->waiting = SMTP_WAIT_NONE;
	result(s, ok);
	smtp_state_wake(s);
}

/* user is kept in s->auth_login for the result; pass is wiped by the
 * caller. */
static void
check(struct smtp_session *s, const char *user, const char *pass)
{
	char client[NETADDR_STRLEN];

	if (user != s->auth_login)
		snprintf(s->auth_login, sizeof(s->auth_login), "%s", user);
	if (s->verifier == NULL) {
		result(s, auth_db_check(s->authdb, user, pass));
		return;
	}
	s->authreq = auth_verify(s->verifier, s->authdb,
	    client_key(s, client, sizeof(client)), user, pass, check_done, s);
	if (s->authreq != NULL) {
		s->waiting = SMTP_WAIT_AUTH;
		return;
	}
	/* The verifier's queue is full (AUTH_VERIFY_*_MAX): no guess made. */
	refund(s);
	log_info("session=%016llx client=%s AUTH deferred mechanism=%s: "
	    "%zu checks waiting, %zu of this client's", (unsigned long long)
	    s->id, s->peer_ip, s->auth_mech,
	    auth_verifier_pending(s->verifier),
	    auth_verifier_client_pending(s->verifier, client));
	OPENSSL_cleanse(s->auth_login, sizeof(s->auth_login));
	smtp_state_reply(s, "454 4.7.0 Temporary authentication failure");
}

/* A response that did not decode to credentials; 1 if handled. */
static int
not_credentials(struct smtp_session *s, enum auth_sasl_status st)
{
	switch (st) {
	case AUTH_SASL_OK:
		return 0;
	case AUTH_SASL_CANCEL:
		refund(s);
		OPENSSL_cleanse(s->auth_login, sizeof(s->auth_login));
		smtp_state_reply(s, "501 5.7.0 Authentication aborted");
		return 1;
	case AUTH_SASL_BAD_BASE64:
		refund(s);
		OPENSSL_cleanse(s->auth_login, sizeof(s->auth_login));
		smtp_state_bad_command(s, "501 5.5.2 Invalid base64 data");
		return 1;
	case AUTH_SASL_BAD_FORMAT:
	default:
		/* As a wrong password: same delay, same count. */
		check(s, s->auth_login, "");
		return 1;
	}
}

static void
plain_response(struct smtp_session *s, const char *resp, size_t len)
{
	char user[AUTH_USER_MAX + 1], pass[AUTH_PASS_MAX + 1];
	enum auth_sasl_status st;

	st = auth_sasl_plain(resp, len, user, pass);
	if (!not_credentials(s, st))
		check(s, user, pass);
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(user, sizeof(user));
}

static void
login_user(struct smtp_session *s, const char *resp, size_t len)
{
	enum auth_sasl_status st;

	st = auth_sasl_login(resp, len, s->auth_login, AUTH_USER_MAX);
	if (st == AUTH_SASL_BAD_FORMAT)
		s->auth_login[0] = '\0';	/* carry on: fails at the end */
	else if (not_credentials(s, st))
		return;
	s->auth_step = SMTP_AUTH_LOGIN_PASS;
	smtp_state_reply(s, "%s", LOGIN_PASS_PROMPT);
}

static void
login_pass(struct smtp_session *s, const char *resp, size_t len)
{
	char pass[AUTH_PASS_MAX + 1];
	enum auth_sasl_status st;

	st = auth_sasl_login(resp, len, pass, AUTH_PASS_MAX);
	if (!not_credentials(s, st)) {
		if (s->auth_login[0] == '\0')
			check(s, s->auth_login, "");
		else
			check(s, s->auth_login, pass);
	}
	OPENSSL_cleanse(pass, sizeof(pass));
}

/* The failures counted for this client here: an exchange this session
 * left (a bad line) holds a count that the new attempt takes over
 * (charge()). */
static unsigned
local_failures(struct smtp_session *s)
{
	char key[300];
	unsigned n;

	if (s->authguard == NULL)
		return 0;
	guard_key(s, key, sizeof(key));
	n = auth_guard_failures(s->authguard, key, ratelimit_now());
	if (s->auth_charged && n > 0)
		n--;
	return n;
}

static int
over_limit(struct smtp_session *s, long long n)
{
	if (n < (long long)s->vs->max_auth_failures)
		return 0;
	log_info("session=%016llx client=%s refused AUTH "
	    "rule=max-auth-failures: 421 4.7.0 Too many authentication "
	    "failures", (unsigned long long)s->id, s->peer_ip);
	smtp_state_close_with(s, "421 4.7.0 Too many authentication "
	    "failures, closing connection");
	return 1;
}

/* The mechanism and its initial response, once the guard let it in. */
static void
auth_begin(struct smtp_session *s, const char *arg, size_t arglen)
{
	const char *sp, *resp = NULL;
	size_t mlen, rlen = 0;

	sp = memchr(arg, ' ', arglen);
	mlen = sp ? (size_t)(sp - arg) : arglen;
	if (sp) {
		resp = sp + 1;
		rlen = arglen - mlen - 1;
	}
	if (mlen == 0 || (sp && rlen == 0)) {
		smtp_state_bad_command(s, "501 5.5.4 Syntax: AUTH mechanism "
		    "[initial-response]");
		return;
	}
	s->auth_login[0] = '\0';
	if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0) {
		s->auth_mech = "PLAIN";
		charge(s);
		if (resp)
			plain_response(s, resp, rlen);
		else {
			s->auth_step = SMTP_AUTH_PLAIN;
			smtp_state_reply(s, "334 ");
		}
	} else if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		s->auth_mech = "LOGIN";
		charge(s);
		if (resp)
			login_user(s, resp, rlen);
		else {
			s->auth_step = SMTP_AUTH_LOGIN_USER;
			smtp_state_reply(s, "%s", LOGIN_USER_PROMPT);
		}
	} else
		smtp_state_bad_command(s, "504 5.5.4 Unrecognized "
		    "authentication mechanism");
}

static void
held_free(struct smtp_session *s)
{
	if (s->auth_held != NULL) {
		OPENSSL_cleanse(s->auth_held, s->auth_held_len);
		free(s->auth_held);
	}
	s->auth_held = NULL;
	s->auth_held_len = 0;
}

/* The failures counted over every node have answered (the local count
 * when the store did not): the held AUTH goes on, or the door. */
static void
shared_done(void *arg, long long n)
{
	struct smtp_session *s = arg;

	s->auth_shared = NULL;
	s->waiting = SMTP_WAIT_NONE;
	if (!over_limit(s, n))
		auth_begin(s, s->auth_held, s->auth_held_len);
	held_free(s);
	smtp_state_wake(s);
}

void
smtp_auth_command(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->vs->auth_file == NULL || s->authdb == NULL) {
		smtp_state_bad_command(s, "502 5.5.1 Command not "
		    "implemented");
		return;
	}
	if (!s->tls) {
		smtp_state_bad_command(s, "538 5.7.11 Encryption required "
		    "for requested authentication mechanism");
		return;
	}
	if (s->state == SMTP_S_CONNECTED) {
		smtp_state_bad_command(s, "503 5.5.1 Bad sequence of "
		    "commands: EHLO first");
		return;
	}
	if (s->state != SMTP_S_READY) {
		smtp_state_bad_command(s, "503 5.5.1 Bad sequence of "
		    "commands: no AUTH during a mail transaction");
		return;
	}
	if (s->authenticated) {
		smtp_state_bad_command(s, "503 5.5.1 Already "
		    "authenticated");
		return;
	}
	/* With a shared store the guard counts every node's failures: the
	 * command waits for them (kept, then wiped). */
	s->auth_shared = smtp_limits_auth_count(s->limits, s->vs,
	    (const struct sockaddr *)&s->peer, local_failures(s), shared_done,
	    s);
	if (s->auth_shared != NULL) {
		s->auth_held = xmalloc(cmd->arglen + 1);
		memcpy(s->auth_held, cmd->arg, cmd->arglen);
		s->auth_held[cmd->arglen] = '\0';
		s->auth_held_len = cmd->arglen;
		s->waiting = SMTP_WAIT_SHARED;
		return;
	}
	if (over_limit(s, local_failures(s)))
		return;
	auth_begin(s, cmd->arg, cmd->arglen);
}

void
smtp_auth_line(struct smtp_session *s, const char *line, size_t len)
{
	int step = s->auth_step;

	s->auth_step = SMTP_AUTH_NONE;
	switch (step) {
	case SMTP_AUTH_PLAIN:
		plain_response(s, line, len);
		break;
	case SMTP_AUTH_LOGIN_USER:
		login_user(s, line, len);
		break;
	case SMTP_AUTH_LOGIN_PASS:
		login_pass(s, line, len);
		break;
	default:
		break;
	}
}

void
smtp_auth_reset(struct smtp_session *s)
{
	if (s->authreq) {
		/* The password went to the check: a guess, counted. */
		auth_verify_cancel(s->authreq);
		s->authreq = NULL;
		s->auth_charged = 0;
	}
	refund(s);		/* an exchange with no password checked */
	if (s->waiting == SMTP_WAIT_AUTH)
		s->waiting = SMTP_WAIT_NONE;
	if (s->auth_shared != NULL) {
		smtp_limits_cancel(s->auth_shared);
		s->auth_shared = NULL;
		if (s->waiting == SMTP_WAIT_SHARED)
			s->waiting = SMTP_WAIT_NONE;
	}
	held_free(s);
	s->auth_step = SMTP_AUTH_NONE;
	OPENSSL_cleanse(s->auth_login, sizeof(s->auth_login));
}
