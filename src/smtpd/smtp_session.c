/*
 * smtp_session — the SMTP server state machine; see smtp_session.h.
 *
 * Check, then proceed: each handler validates syntax and state
 * and replies on failure; only then does it act.  The command table is the
 * only dispatcher.  Every refusal counts where docs/filtering.md says it counts:
 * bad commands towards max-errors, 550 5.1.1 towards
 * max-unknown-recipients; TEMPFAIL answers count towards neither.  Every
 * refusal goes through smtp_state_refuse(), so each one has its log line
 * and its rule's counter.  The connection phase is in smtp_greet.c, RCPT
 * in smtp_rcpt.c, AUTH in smtp_auth.c.
 *
 * STARTTLS (RFC 3207) is taken outside a transaction only, and ends the
 * reading of this input: whatever the client pipelined after it is
 * discarded by the server, never executed (the CVE-2011-0411 class).
 *
 * rate-limit counts MAIL commands, accepted or not (as Postfix's
 * smtpd_client_message_rate_limit does): a client that opens transactions
 * only to abandon them is held to the same budget as one that sends.
 * With `cluster` the budget is shared by the gateways (smtp_limits.h):
 * the reply to MAIL, and the commands pipelined behind it, wait for it.
 */
#include "smtp_session.h"
#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "directory.h"
#include "postern_limits.h"
#include "log.h"
#include "netaddr.h"
#include "policy.h"
#include "queue.h"
#include "ratelimit.h"
#include "senderlist.h"
#include "smtp_auth.h"
#include "smtp_greet.h"
#include "smtp_rcpt.h"
#include "smtp_received.h"
#include "smtp_check.h"
#include "smtp_message.h"
#include "smtp_milter.h"
#include "smtp_milter_stage.h"
#include "smtp_state.h"
#include "strmap.h"
#include "xmalloc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST(x)	(1u << (x))
#define ST_ANY	(ST(SMTP_S_CONNECTED) | ST(SMTP_S_READY) | ST(SMTP_S_MAIL) | \
		 ST(SMTP_S_RCPT))

struct smtp_session *
smtp_session_new_env(uint64_t id, struct conf *conf,
    const struct conf_vserver *vs, struct directory *dir,
    const struct sockaddr *peer, const struct smtp_session_ops *ops,
    void *owner, const struct smtp_session_env *env)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->id = id;
	s->conf = conf_ref(conf);
	s->vs = vs;
	s->dir = dir ? directory_ref(dir) : NULL;
	s->ops = ops;
	s->owner = owner;
	if (env) {
		s->resolver = env->resolver;
		s->authdns = env->authdns;
		s->milters = env->milters;
		smtp_milters_set_counters(s->milters, env->counters);
		s->senders = senderlist_ref(env->senders);
		s->ratelimit = env->ratelimit;
		s->limits = env->limits;
		s->counters = env->counters;
		s->starttls_ok = env->starttls;
		s->authdb = auth_db_ref(env->authdb);
		s->authguard = env->authguard;
		s->verifier = env->verifier;
	}
	memcpy(&s->peer, peer, peer->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	netaddr_ntop(peer, s->peer_ip, sizeof(s->peer_ip));
	smtp_framer_init(&s->framer, SMTP_CMD_LINE_MAX);
	buf_init(&s->out, SMTP_OUTPUT_MAX);
	buf_init(&s->msg, 0);
	s->state = SMTP_S_GREETING;
	smtp_greet_start(s);
	return s;
}

struct smtp_session *
smtp_session_new(uint64_t id, struct conf *conf, const struct conf_vserver *vs,
    struct directory *dir, const struct sockaddr *peer,
    const struct smtp_session_ops *ops, void *owner)
{
	return smtp_session_new_env(id, conf, vs, dir, peer, ops, owner, NULL);
}

void
smtp_session_free(struct smtp_session *s)
{
	if (s == NULL)
		return;
	smtp_state_cancel_greeting(s);
	smtp_greet_end(s);
	smtp_auth_reset(s);
	smtp_state_tx_reset(s);
	smtp_milters_free(s->milters);
	buf_free(&s->out);
	free(s->reject_reply);
	free(s->auth_user);
	auth_db_unref(s->authdb);
	senderlist_unref(s->senders);
	if (s->dir)
		directory_unref(s->dir);
	conf_unref(s->conf);
	free(s);
}

int
smtp_session_waiting(const struct smtp_session *s)
{
	return s->waiting;
}

int
smtp_session_closing(const struct smtp_session *s)
{
	return s->state == SMTP_S_CLOSING;
}

void
smtp_session_timeout(struct smtp_session *s)
{
	if (s->state == SMTP_S_CLOSING)
		return;
	log_info("session=%016llx client=%s timeout in state %s",
	    (unsigned long long)s->id, s->peer_ip, smtp_state_name(s->state));
	smtp_state_close_with(s, "421 4.4.2 Timeout exceeded, closing "
	    "connection");
}

void
smtp_session_shutdown(struct smtp_session *s)
{
	s->shutting_down = 1;
	/* A transaction in flight is finished first (posternd(8): SIGTERM); a session
	 * still waiting for its greeting has none. */
	if (s->state != SMTP_S_GREETING &&
	    (s->waiting || s->state == SMTP_S_MAIL ||
	    s->state == SMTP_S_RCPT || s->state == SMTP_S_DATA ||
	    s->state == SMTP_S_BDAT || s->state == SMTP_S_CLOSING))
		return;
	smtp_state_close_with(s, "421 4.3.2 Service shutting down, closing "
	    "connection");
}

/* ---- commands ---- */

static int
helo_arg_ok(const struct smtp_cmd *cmd)
{
	if (cmd->arglen == 0 || cmd->arglen > SMTP_HELO_MAX)
		return 0;
	for (size_t i = 0; i < cmd->arglen; i++) {
		unsigned char c = (unsigned char)cmd->arg[i];
		if (c <= ' ' || c == 0x7f)
			return 0;
	}
	return 1;
}

/* HELO/EHLO taken (the filters let it through): the reply. */
static void
helo_reply(struct smtp_session *s)
{
	const struct conf_vserver *vs = s->vs;

	smtp_state_enter(s, SMTP_S_READY);
	if (!s->esmtp) {
		smtp_state_reply(s, "250 %s", smtp_state_server_name(s));
		return;
	}
	smtp_state_reply(s, "250-%s Hello %s [%s]",
	    smtp_state_server_name(s), s->helo, s->peer_ip);
	smtp_state_reply(s, "250-PIPELINING");
	smtp_state_reply(s, "250-SIZE %llu",
	    (unsigned long long)vs->max_message_size);
	smtp_state_reply(s, "250-8BITMIME");
	smtp_state_reply(s, "250-ENHANCEDSTATUSCODES");
	if (s->starttls_ok && !s->tls)
		smtp_state_reply(s, "250-STARTTLS");
	if (s->tls && s->authdb && vs->auth_file)
		smtp_state_reply(s, "250-AUTH PLAIN LOGIN");
	smtp_state_reply(s, "250-SMTPUTF8");
	smtp_state_reply(s, "250-CHUNKING");
	smtp_state_reply(s, "250 DSN");
}

/* The filters' answer to HELO: a refusal leaves the client without one. */
static void
helo_filtered(struct smtp_session *s, void *ctx, const char *refusal)
{
	(void)ctx;
	s->waiting = SMTP_WAIT_NONE;
	if (refusal == NULL) {
		helo_reply(s);
		return;
	}
	smtp_state_refuse(s, "HELO", POLICY_RULE_MILTER, s->helo, refusal);
	s->helo[0] = '\0';
	smtp_state_enter(s, SMTP_S_CONNECTED);
}

static void
cmd_helo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (!helo_arg_ok(cmd)) {
		smtp_state_bad_command(s, "501 5.5.4 Syntax: HELO/EHLO "
		    "hostname");
		return;
	}
	smtp_state_tx_reset(s);
	memcpy(s->helo, cmd->arg, cmd->arglen);
	s->helo[cmd->arglen] = '\0';
	s->esmtp = cmd->verb == SMTP_CMD_EHLO;
	if (smtp_milter_ask(s, SMTP_MILTER_HELO, s->helo, helo_filtered, NULL,
	    NULL)) {
		s->waiting = SMTP_WAIT_MILTER;
		return;
	}
	helo_reply(s);
}

/* The filters' answer to MAIL: a refusal ends the transaction. */
static void
mail_filtered(struct smtp_session *s, void *ctx, const char *refusal)
{
	char what[ADDR_TEXT_MAX + 2];

	(void)ctx;
	s->waiting = SMTP_WAIT_NONE;
	if (refusal == NULL) {
		smtp_state_reply(s, "250 2.1.0 Ok");
		return;
	}
	snprintf(what, sizeof(what), "<%s>", s->env->sender);
	smtp_state_refuse(s, "MAIL", POLICY_RULE_MILTER, what, refusal);
	smtp_state_tx_reset(s);
}

/* The MAIL checks have answered (maybe inside smtp_check_mail_start()). */
static void
mail_checked(void *arg, struct smtp_check_verdict *v)
{
	struct smtp_session *s = arg;
	struct smtp_mail_args *a = s->pending_mail;
	char sender[ADDR_TEXT_MAX], what[ADDR_TEXT_MAX + 2];

	s->mailchk = NULL;
	s->pending_mail = NULL;
	s->waiting = SMTP_WAIT_NONE;
	addr_format(&a->sender, sender, sizeof(sender));
	snprintf(what, sizeof(what), "<%s>", sender);
	if (v->reply != NULL) {
		smtp_state_refuse(s, "MAIL", v->rule, what, v->reply);
		if (v->close) {
			smtp_state_tx_reset(s);
			smtp_state_enter(s, SMTP_S_CLOSING);
		}
		goto done;
	}
	s->env = xcalloc(1, sizeof(*s->env));
	s->rcpt_set = strmap_new();
	queue_id_new(s->env->id);
	s->env->vserver = xstrdup(s->vs->name);
	s->env->client_addr = xstrdup(s->peer_ip);
	s->env->helo = xstrdup(s->helo);
	s->env->sender = xstrdup(sender);
	s->env->smtputf8 = a->smtputf8;
	s->env->body_8bit = a->body != SMTP_BODY_7BIT;
	s->env->ret = (int)a->ret;
	if (s->auth_user)
		s->env->auth_user = xstrdup(s->auth_user);
	if (a->envid[0])
		s->env->envid = xstrdup(a->envid);
	smtp_state_enter(s, SMTP_S_MAIL);
	if (smtp_milter_ask(s, SMTP_MILTER_MAIL, sender, mail_filtered, NULL,
	    NULL))
		s->waiting = SMTP_WAIT_MILTER;
	else
		smtp_state_reply(s, "250 2.1.0 Ok");
 done:
	free(a);
	smtp_state_wake(s);
}

static void
cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_mail_args a;
	enum smtp_param_status st;
	struct smtp_check_client cl;

	st = smtp_parse_mail(cmd->arg, cmd->arglen, 1, &a);
	if (smtp_state_param_error(s, st, a.addr_status, 1))
		return;
	smtp_milter_params(s, cmd->arg + a.params, cmd->arglen - a.params);
	if (s->shutting_down) {
		smtp_state_close_with(s, "421 4.3.2 Service shutting down, "
		    "closing connection");
		return;
	}
	smtp_state_check_client(s, &cl);
	s->pending_mail = xmalloc(sizeof(a));
	memcpy(s->pending_mail, &a, sizeof(a));
	/* With a shared store the rate limit is its answer: the reply, and
	 * the commands pipelined behind, wait (mail_checked() may run
	 * before this returns). */
	s->waiting = SMTP_WAIT_SHARED;
	s->mailchk = smtp_check_mail_start(&cl, &a.sender, a.size,
	    mail_checked, s);
}

static void
cmd_rset(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_state_tx_reset(s);
	smtp_state_reply(s, "250 2.0.0 Ok");
}

static void
cmd_noop(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_state_reply(s, "250 2.0.0 Ok");
}

static void
cmd_quit(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_state_close_with(s, "221 2.0.0 Bye");
}

static void
cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_state_reply(s, "252 2.5.0 Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

static void
cmd_help(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_state_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA "
	    "RSET NOOP QUIT VRFY HELP");
}

static void
cmd_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->tls) {
		smtp_state_bad_command(s, "503 5.5.1 TLS already active");
		return;
	}
	if (!s->starttls_ok) {
		smtp_state_bad_command(s, "502 5.5.1 Command not "
		    "implemented");
		return;
	}
	if (cmd->arglen) {
		smtp_state_bad_command(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT) {
		smtp_state_bad_command(s, "503 5.5.1 Bad sequence of "
		    "commands: no STARTTLS during a mail transaction");
		return;
	}
	smtp_state_reply(s, "220 2.0.0 Ready to start TLS");
	s->waiting = SMTP_WAIT_TLS;
}

void
smtp_session_tls_started(struct smtp_session *s, const char *info)
{
	snprintf(s->tls_info, sizeof(s->tls_info), "%s", info ? info : "");
	s->tls = 1;
	if (s->waiting != SMTP_WAIT_TLS)
		return;		/* implicit TLS: nothing said before */
	/* RFC 3207 4.2: forget everything the client said in clear text. */
	s->waiting = SMTP_WAIT_NONE;
	smtp_auth_reset(s);
	smtp_state_tx_reset(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	smtp_framer_init(&s->framer, SMTP_CMD_LINE_MAX);
	if (s->state == SMTP_S_READY)
		smtp_state_enter(s, SMTP_S_CONNECTED);
	if (s->shutting_down)
		smtp_state_close_with(s, "421 4.3.2 Service shutting down, "
		    "closing connection");
}

static void
cmd_not_offered(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_state_bad_command(s, "502 5.5.1 Command not implemented");
}

#define PRE	ST(SMTP_S_CONNECTED)
#define TXN	(ST(SMTP_S_MAIL) | ST(SMTP_S_RCPT))
static const struct {
	enum smtp_verb	 verb;
	unsigned	 states;
	void		(*fn)(struct smtp_session *, const struct smtp_cmd *);
	const char	*bad_seq;
} cmd_table[] = {
	{ SMTP_CMD_HELO, ST_ANY, cmd_helo, NULL },
	{ SMTP_CMD_EHLO, ST_ANY, cmd_helo, NULL },
	{ SMTP_CMD_MAIL, ST(SMTP_S_READY), cmd_mail,
	    "503 5.5.1 Bad sequence of commands: HELO/EHLO first, one MAIL "
	    "per transaction" },
	{ SMTP_CMD_RCPT, TXN, smtp_rcpt_command,
	    "503 5.5.1 Bad sequence of commands: MAIL first" },
	{ SMTP_CMD_DATA, ST_ANY, smtp_message_data, NULL },
	/* BDAT in every state: a refused chunk must still be read. */
	{ SMTP_CMD_BDAT, ST_ANY | ST(SMTP_S_BDAT), smtp_message_bdat, NULL },
	{ SMTP_CMD_RSET, ST_ANY | ST(SMTP_S_BDAT), cmd_rset, NULL },
	{ SMTP_CMD_NOOP, ST_ANY | ST(SMTP_S_BDAT), cmd_noop, NULL },
	{ SMTP_CMD_QUIT, ST_ANY | ST(SMTP_S_BDAT) | ST(SMTP_S_REJECTED),
	    cmd_quit, NULL },
	{ SMTP_CMD_VRFY, ST_ANY, cmd_vrfy, NULL },
	{ SMTP_CMD_HELP, ST_ANY, cmd_help, NULL },
	{ SMTP_CMD_EXPN, ST_ANY, cmd_not_offered, NULL },
	{ SMTP_CMD_STARTTLS, ST_ANY, cmd_starttls, NULL },
	{ SMTP_CMD_AUTH, ST_ANY, smtp_auth_command, NULL },
};

/* A refused client said something other than QUIT: the refusal again
 * (RFC 5321 3.1), and it counts towards max-errors, so that a client
 * that will not leave is shown the door. */
static void
rejected_command(struct smtp_session *s)
{
	smtp_state_bad_command(s, s->reject_reply ? s->reject_reply :
	    "554 5.7.1 Client host rejected: access denied");
}

static void
dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;

	if (smtp_parse_command(line, len, &cmd) == -1) {
		if (s->state == SMTP_S_REJECTED)
			rejected_command(s);
		else
			smtp_state_bad_command(s, "500 5.5.2 Command "
			    "unrecognized");
		return;
	}
	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		if (cmd_table[i].verb != cmd.verb)
			continue;
		if (!(cmd_table[i].states & ST(s->state))) {
			if (s->state == SMTP_S_REJECTED)
				rejected_command(s);
			else
				smtp_state_bad_command(s,
				    cmd_table[i].bad_seq ?
				    cmd_table[i].bad_seq :
				    "503 5.5.1 Bad sequence of commands");
			return;
		}
		cmd_table[i].fn(s, &cmd);
		return;
	}
	smtp_state_bad_command(s, "500 5.5.2 Command unrecognized");
}

/* ---- input ---- */

size_t
smtp_session_input(struct smtp_session *s, const char *in, size_t len)
{
	size_t off = 0, linelen, used;

	if (s->state == SMTP_S_GREETING) {
		/* Only the greet-wait leaves us reading here (a DNSBL wait
		 * is a wait): whatever came is too early. */
		if (len == 0 || s->waiting)
			return 0;
		smtp_greet_pregreet(s, in, len);
		return len;
	}
	s->in_input = 1;
	while (off < len && !s->waiting && s->state != SMTP_S_CLOSING) {
		if (smtp_message_reading(s)) {
			off += smtp_message_input(s, in + off, len - off);
			continue;
		}
		switch (smtp_framer_next(&s->framer, in + off, len - off,
		    &linelen, &used)) {
		case SMTP_LINE_NEED_MORE:
			off += used;
			goto out;
		case SMTP_LINE_OK:
			if (s->auth_step != SMTP_AUTH_NONE)
				smtp_auth_line(s, in + off, linelen);
			else
				dispatch(s, in + off, linelen);
			break;
		case SMTP_LINE_TOO_LONG:
			s->auth_step = SMTP_AUTH_NONE;
			smtp_state_bad_command(s, "500 5.5.2 Line too long");
			break;
		case SMTP_LINE_BARE_LF:
			s->auth_step = SMTP_AUTH_NONE;
			smtp_state_bad_command(s, "500 5.5.2 Bare LF in "
			    "command: lines end with CRLF");
			break;
		case SMTP_LINE_BAD_CHAR:
			s->auth_step = SMTP_AUTH_NONE;
			smtp_state_bad_command(s, "500 5.5.2 Invalid "
			    "character in command");
			break;
		}
		off += used;
	}
out:
	s->in_input = 0;
	return off;
}
