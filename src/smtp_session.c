/*
 * smtp_session — the SMTP server state machine; see smtp_session.h.
 *
 * Check, then proceed (STYLE 6): each handler validates syntax and state
 * and replies on failure; only then does it act.  The command table is the
 * only dispatcher.  Every refusal counts where the SPEC says it counts:
 * bad commands towards max-errors, 550 5.1.1 towards
 * max-unknown-recipients; TEMPFAIL answers count towards neither.
 */
#include "smtp_session.h"
#include "addr.h"
#include "conf.h"
#include "directory.h"
#include "postern_limits.h"
#include "log.h"
#include "netaddr.h"
#include "policy.h"
#include "queue.h"
#include "smtp_received.h"
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

static void	reply(struct smtp_session *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	bad_command(struct smtp_session *, const char *);
static void	tx_reset(struct smtp_session *);

static const char *state_names[] = {
	"CONNECTED", "READY", "MAIL", "RCPT", "DATA", "REJECTED", "CLOSING",
};

const char *
smtp_state_name(enum smtp_state st)
{
	return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[st] : "?";
}

static void
enter_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state != st)
		log_debug("session=%016llx %s -> %s",
		    (unsigned long long)s->id, smtp_state_name(s->state),
		    smtp_state_name(st));
	s->state = st;
}

static void
reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[SMTP_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	/* The output limit is enforced by the server (it stops reading from
	 * a client that does not read its replies), so this cannot fail
	 * short of that bound. */
	if (buf_append(&s->out, line, (size_t)n) == -1)
		enter_state(s, SMTP_S_CLOSING);
}

static void
close_with(struct smtp_session *s, const char *text)
{
	reply(s, "%s", text);
	tx_reset(s);
	enter_state(s, SMTP_S_CLOSING);
}

/* A bad command: the reply, unless the client is past its error budget. */
static void
bad_command(struct smtp_session *s, const char *text)
{
	if (++s->errors > s->vs->max_errors) {
		log_info("session=%016llx client=%s too many errors",
		    (unsigned long long)s->id, s->peer_ip);
		close_with(s, "421 4.7.0 Too many errors, closing connection");
		return;
	}
	reply(s, "%s", text);
}

static void
refusal(struct smtp_session *s, const char *stage, const char *rule,
    const char *what, const char *text)
{
	log_info("session=%016llx client=%s refused %s rule=%s %s: %s",
	    (unsigned long long)s->id, s->peer_ip, stage, rule,
	    what ? what : "", text);
	reply(s, "%s", text);
}

static void
tx_reset(struct smtp_session *s)
{
	if (s->dirreq) {
		directory_cancel(s->dirreq);
		s->dirreq = NULL;
	}
	free(s->pending_rcpt);
	s->pending_rcpt = NULL;
	free(s->pending_args);
	s->pending_args = NULL;
	if (s->env) {
		queue_envelope_free(s->env);
		s->env = NULL;
	}
	buf_free(&s->msg);
	strmap_free(s->rcpt_set, NULL);
	s->rcpt_set = NULL;
	s->rcpts_given = 0;
	if (s->waiting == SMTP_WAIT_DIRECTORY)
		s->waiting = SMTP_WAIT_NONE;
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT ||
	    s->state == SMTP_S_DATA)
		enter_state(s, SMTP_S_READY);
}

struct smtp_session *
smtp_session_new(uint64_t id, struct conf *conf, const struct conf_vserver *vs,
    struct directory *dir, const struct sockaddr *peer,
    const struct smtp_session_ops *ops, void *owner)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	const char *refuse;

	s->id = id;
	s->conf = conf_ref(conf);
	s->vs = vs;
	s->dir = dir ? directory_ref(dir) : NULL;
	s->ops = ops;
	s->owner = owner;
	memcpy(&s->peer, peer, peer->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	netaddr_ntop(peer, s->peer_ip, sizeof(s->peer_ip));
	smtp_framer_init(&s->framer, SMTP_CMD_LINE_MAX);
	buf_init(&s->out, SMTP_OUTPUT_MAX);
	buf_init(&s->msg, 0);
	s->state = SMTP_S_CONNECTED;

	refuse = policy_client(vs, peer);
	if (refuse) {
		refusal(s, "CONNECT", "block-client", NULL, refuse);
		if (s->counters)
			s->counters->refused_client++;
		enter_state(s, SMTP_S_REJECTED);
		return s;
	}
	reply(s, "220 %s %s", vs->hostname ? vs->hostname : conf->hostname,
	    vs->banner);
	return s;
}

void
smtp_session_free(struct smtp_session *s)
{
	if (s == NULL)
		return;
	tx_reset(s);
	buf_free(&s->out);
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
	close_with(s, "421 4.4.2 Timeout exceeded, closing connection");
}

void
smtp_session_shutdown(struct smtp_session *s)
{
	s->shutting_down = 1;
	/* A transaction in flight is finished first (SPEC 4). */
	if (s->waiting || s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT ||
	    s->state == SMTP_S_DATA || s->state == SMTP_S_CLOSING)
		return;
	close_with(s, "421 4.3.2 Service shutting down, closing connection");
}

/* ---- commands ---- */

static const char *
server_name(const struct smtp_session *s)
{
	return s->vs->hostname ? s->vs->hostname : s->conf->hostname;
}

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

static void
cmd_helo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	const struct conf_vserver *vs = s->vs;

	if (!helo_arg_ok(cmd)) {
		bad_command(s, "501 5.5.4 Syntax: HELO/EHLO hostname");
		return;
	}
	tx_reset(s);
	memcpy(s->helo, cmd->arg, cmd->arglen);
	s->helo[cmd->arglen] = '\0';
	s->esmtp = cmd->verb == SMTP_CMD_EHLO;
	enter_state(s, SMTP_S_READY);
	if (!s->esmtp) {
		reply(s, "250 %s", server_name(s));
		return;
	}
	reply(s, "250-%s Hello %s [%s]", server_name(s), s->helo, s->peer_ip);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %llu", (unsigned long long)vs->max_message_size);
	reply(s, "250-8BITMIME");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-SMTPUTF8");
	reply(s, "250 DSN");
}

static void
cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_mail_args a;
	const char *refuse;
	char sender[ADDR_TEXT_MAX];

	switch (smtp_parse_mail(cmd->arg, cmd->arglen, 1, &a)) {
	case SMTP_PARAM_OK:
		break;
	case SMTP_PARAM_UNKNOWN:
		bad_command(s, "555 5.5.4 Unsupported MAIL parameter");
		return;
	case SMTP_PARAM_ADDR:
		if (a.addr_status == ADDR_ERR_UTF8)
			bad_command(s, "553 5.6.7 Non-ASCII address without "
			    "SMTPUTF8");
		else
			bad_command(s, "501 5.1.7 Bad sender address syntax");
		return;
	default:
		bad_command(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (s->shutting_down) {
		close_with(s, "421 4.3.2 Service shutting down, closing "
		    "connection");
		return;
	}
	if (s->vs->tls_required && !s->tls) {
		reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (!s->vs->anonymous && !s->authenticated) {
		reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if (a.size > s->vs->max_message_size) {
		refusal(s, "MAIL", "size", NULL,
		    "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	addr_format(&a.sender, sender, sizeof(sender));
	refuse = policy_sender(s->vs, &a.sender, s->blocked_senders,
	    s->nblocked_senders);
	if (refuse) {
		if (s->counters)
			s->counters->refused_sender++;
		refusal(s, "MAIL", "block-sender", sender, refuse);
		return;
	}
	s->env = xcalloc(1, sizeof(*s->env));
	s->rcpt_set = strmap_new();
	queue_id_new(s->env->id);
	s->env->vserver = xstrdup(s->vs->name);
	s->env->client_addr = xstrdup(s->peer_ip);
	s->env->helo = xstrdup(s->helo);
	s->env->sender = xstrdup(sender);
	s->env->smtputf8 = a.smtputf8;
	s->env->body_8bit = a.body != SMTP_BODY_7BIT;
	s->env->ret = (int)a.ret;
	if (a.envid[0])
		s->env->envid = xstrdup(a.envid);
	enter_state(s, SMTP_S_MAIL);
	reply(s, "250 2.1.0 Ok");
}

/* "rfc822;" + the address as RFC 3461 xtext. */
static void
xtext_orcpt(char *out, size_t len, const char *addr)
{
	size_t o = (size_t)snprintf(out, len, "rfc822;");

	for (; *addr && o + 4 < len; addr++) {
		unsigned char c = (unsigned char)*addr;

		if (c < 33 || c > 126 || c == '+' || c == '=')
			o += (size_t)snprintf(out + o, len - o, "+%02X", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/*
 * Add one final recipient to the envelope, once.  List members carry the
 * address the client gave as their ORCPT (RFC 3461), unless it gave one.
 */
static int
rcpt_add(struct smtp_session *s, const char *addr, const char *given,
    const struct smtp_rcpt_args *a)
{
	char orcpt[ADDR_PARAM_MAX + 1];

	if (strmap_get(s->rcpt_set, addr) != NULL)
		return 0;		/* duplicate: kept once */
	if (s->env->nrcpts >= SMTP_RCPT_EXPANDED_MAX)
		return -1;
	strmap_put(s->rcpt_set, addr, (void *)1);
	if (a->orcpt[0])
		snprintf(orcpt, sizeof(orcpt), "%s", a->orcpt);
	else if (strcmp(addr, given) != 0)
		xtext_orcpt(orcpt, sizeof(orcpt), given);
	else
		orcpt[0] = '\0';
	queue_envelope_add_rcpt(s->env, addr, orcpt[0] ? orcpt : NULL,
	    a->notify);
	return 0;
}

static void
rcpt_accept(struct smtp_session *s, const char *key,
    const struct smtp_rcpt_args *a, const struct dir_result *res)
{
	int rc = 0;

	if (res == NULL)
		rc = rcpt_add(s, key, key, a);
	for (size_t i = 0; res && i < res->ntargets && rc == 0; i++)
		rc = rcpt_add(s, res->targets[i].addr, key, a);
	if (rc == -1) {
		refusal(s, "RCPT", "max-recipients", key,
		    "452 4.5.3 Too many recipients");
		return;
	}
	s->rcpts_given++;
	enter_state(s, SMTP_S_RCPT);
	reply(s, "250 2.1.5 Ok");
}

static void
rcpt_dir_done(void *arg, struct dir_result *res)
{
	struct smtp_session *s = arg;

	s->dirreq = NULL;
	s->waiting = SMTP_WAIT_NONE;
	switch (res->status) {
	case DIR_FOUND:
		rcpt_accept(s, s->pending_rcpt, s->pending_args, res);
		break;
	case DIR_NOTFOUND:
		if (s->counters)
			s->counters->refused_unknown++;
		if (++s->unknown_rcpts > s->vs->max_unknown_recipients) {
			refusal(s, "RCPT", "max-unknown-recipients",
			    s->pending_rcpt, "421 4.7.0 Too many unknown "
			    "recipients, closing connection");
			tx_reset(s);
			enter_state(s, SMTP_S_CLOSING);
			break;
		}
		refusal(s, "RCPT", "unknown-user", s->pending_rcpt,
		    "550 5.1.1 Recipient address rejected: user unknown");
		break;
	case DIR_TOO_MANY:
		refusal(s, "RCPT", "expansion-limit", s->pending_rcpt,
		    "550 5.4.6 List expansion limit exceeded");
		break;
	case DIR_TEMPFAIL:
	default:
		refusal(s, "RCPT", "directory-tempfail", s->pending_rcpt,
		    "451 4.3.0 Directory temporarily unavailable, try again "
		    "later");
		break;
	}
	dir_result_free(res);
	free(s->pending_rcpt);
	s->pending_rcpt = NULL;
	free(s->pending_args);
	s->pending_args = NULL;
	if (!s->in_input && s->ops && s->ops->wakeup)
		s->ops->wakeup(s);
}

static void
cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_rcpt_args a;
	struct policy_rcpt_result pr;
	struct policy_client cl = { (struct sockaddr *)&s->peer,
	    s->authenticated, s->tls };
	char key[ADDR_TEXT_MAX];
	const char *blocked;

	switch (smtp_parse_rcpt(cmd->arg, cmd->arglen, s->env->smtputf8, &a)) {
	case SMTP_PARAM_OK:
		break;
	case SMTP_PARAM_UNKNOWN:
		bad_command(s, "555 5.5.4 Unsupported RCPT parameter");
		return;
	case SMTP_PARAM_ADDR:
		if (a.addr_status == ADDR_ERR_UTF8)
			bad_command(s, "553 5.6.7 Non-ASCII address without "
			    "SMTPUTF8");
		else
			bad_command(s, "501 5.1.3 Bad recipient address "
			    "syntax");
		return;
	default:
		bad_command(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (a.rcpt.domain[0] == '\0') {
		/* <postmaster>: RFC 5321 4.5.1, the first local domain. */
		if (s->conf->nlocal_domains == 0) {
			refusal(s, "RCPT", "unknown-user", "postmaster",
			    "550 5.1.1 Recipient address rejected: user "
			    "unknown");
			return;
		}
		snprintf(a.rcpt.domain, sizeof(a.rcpt.domain), "%s",
		    s->conf->local_domains[0]);
	}
	addr_format_key(&a.rcpt, key, sizeof(key));
	if (s->rcpts_given >= s->vs->max_recipients) {
		refusal(s, "RCPT", "max-recipients", key,
		    "452 4.5.3 Too many recipients");
		return;
	}
	policy_rcpt(s->conf, s->vs, &cl, &a.rcpt, &pr);
	if (pr.verdict == POLICY_RCPT_REFUSE) {
		if (s->counters)
			s->counters->refused_relay++;
		refusal(s, "RCPT", pr.rule, key, pr.reply);
		return;
	}
	if (pr.verdict == POLICY_RCPT_RELAY) {
		rcpt_accept(s, key, &a, NULL);
		return;
	}
	blocked = policy_rcpt_blocked(s->vs, key);
	if (blocked) {
		refusal(s, "RCPT", "block-recipient", key, blocked);
		return;
	}
	if (s->dir == NULL) {
		refusal(s, "RCPT", "directory-tempfail", key,
		    "451 4.3.0 Directory temporarily unavailable, try again "
		    "later");
		return;
	}
	s->pending_rcpt = xstrdup(key);
	s->pending_args = xmalloc(sizeof(a));
	memcpy(s->pending_args, &a, sizeof(a));
	s->waiting = SMTP_WAIT_DIRECTORY;
	/* The answer may come back before directory_resolve() returns. */
	s->dirreq = directory_resolve(s->dir, key, rcpt_dir_done, s);
	if (s->waiting != SMTP_WAIT_DIRECTORY)
		s->dirreq = NULL;
}

static void
cmd_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	char hdr[2048];
	size_t hlen;

	if (cmd->arglen) {
		bad_command(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->state == SMTP_S_MAIL) {
		bad_command(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (s->state != SMTP_S_RCPT) {
		bad_command(s, "503 5.5.1 Bad sequence of commands: MAIL "
		    "first");
		return;
	}
	hlen = smtp_received_header(hdr, sizeof(hdr), s->env, server_name(s),
	    s->esmtp, s->tls, s->authenticated, time(NULL));
	buf_init(&s->msg, s->vs->max_message_size + hlen);
	buf_append(&s->msg, hdr, hlen);
	smtp_data_init(&s->data, s->vs->max_message_size);
	enter_state(s, SMTP_S_DATA);
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
cmd_rset(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	tx_reset(s);
	reply(s, "250 2.0.0 Ok");
}

static void
cmd_noop(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	reply(s, "250 2.0.0 Ok");
}

static void
cmd_quit(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	close_with(s, "221 2.0.0 Bye");
}

static void
cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and "
	    "attempt delivery");
}

static void
cmd_help(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP "
	    "QUIT VRFY HELP");
}

static void
cmd_not_offered(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	bad_command(s, "502 5.5.1 Command not implemented");
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
	{ SMTP_CMD_RCPT, TXN, cmd_rcpt,
	    "503 5.5.1 Bad sequence of commands: MAIL first" },
	{ SMTP_CMD_DATA, ST_ANY, cmd_data, NULL },
	{ SMTP_CMD_RSET, ST_ANY, cmd_rset, NULL },
	{ SMTP_CMD_NOOP, ST_ANY, cmd_noop, NULL },
	{ SMTP_CMD_QUIT, ST_ANY | ST(SMTP_S_REJECTED), cmd_quit, NULL },
	{ SMTP_CMD_VRFY, ST_ANY, cmd_vrfy, NULL },
	{ SMTP_CMD_HELP, ST_ANY, cmd_help, NULL },
	{ SMTP_CMD_EXPN, ST_ANY, cmd_not_offered, NULL },
	{ SMTP_CMD_BDAT, ST_ANY, cmd_not_offered, NULL },
	{ SMTP_CMD_STARTTLS, ST_ANY, cmd_not_offered, NULL },
	{ SMTP_CMD_AUTH, ST_ANY, cmd_not_offered, NULL },
};

static void
dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;

	if (smtp_parse_command(line, len, &cmd) == -1) {
		if (s->state == SMTP_S_REJECTED) {
			reply(s, "554 5.7.1 Client host rejected: access "
			    "denied");
			return;
		}
		bad_command(s, "500 5.5.2 Command unrecognized");
		return;
	}
	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		if (cmd_table[i].verb != cmd.verb)
			continue;
		if (!(cmd_table[i].states & ST(s->state))) {
			if (s->state == SMTP_S_REJECTED)
				reply(s, "554 5.7.1 Client host rejected: "
				    "access denied");
			else
				bad_command(s, cmd_table[i].bad_seq ?
				    cmd_table[i].bad_seq :
				    "503 5.5.1 Bad sequence of commands");
			return;
		}
		cmd_table[i].fn(s, &cmd);
		return;
	}
	bad_command(s, "500 5.5.2 Command unrecognized");
}

/* ---- DATA ---- */

static void
data_end(struct smtp_session *s)
{
	struct smtp_data_reader *r = &s->data;
	struct queue_envelope *env;
	char *body;
	size_t len;

	if (r->too_big || r->header_too_long) {
		refusal(s, "DATA", "size", s->env->id,
		    "552 5.3.4 Message size exceeds fixed limit");
		tx_reset(s);
		return;
	}
	if (r->line_too_long) {
		refusal(s, "DATA", "line-length", s->env->id,
		    "554 5.6.0 Message has a line longer than 998 octets");
		tx_reset(s);
		return;
	}
	if (r->received_count > SMTP_RECEIVED_MAX) {
		refusal(s, "DATA", "mail-loop", s->env->id,
		    "554 5.4.6 Too many Received headers: mail loop");
		tx_reset(s);
		return;
	}
	env = s->env;
	s->env = NULL;
	env->received = time(NULL);
	body = buf_release(&s->msg, &len);
	s->waiting = SMTP_WAIT_COMMIT;
	s->ops->commit(s, env, body, len);
}

void
smtp_session_commit_done(struct smtp_session *s, int error, const char *id)
{
	s->waiting = SMTP_WAIT_NONE;
	if (error == 0) {
		s->messages++;
		if (s->counters)
			s->counters->accepted++;
		reply(s, "250 2.0.0 Ok: queued as %s", id);
	} else if (error == ENOSPC || error == EDQUOT) {
		log_warnx("session=%016llx queue=%s commit failed: %s",
		    (unsigned long long)s->id, id, strerror(error));
		reply(s, "452 4.3.1 Insufficient system storage");
	} else {
		log_warnx("session=%016llx queue=%s commit failed: %s",
		    (unsigned long long)s->id, id, strerror(error));
		reply(s, "451 4.3.0 Local error in processing, try again "
		    "later");
	}
	tx_reset(s);
	enter_state(s, SMTP_S_READY);
	if (s->shutting_down)
		close_with(s, "421 4.3.2 Service shutting down, closing "
		    "connection");
	if (!s->in_input && s->ops && s->ops->wakeup)
		s->ops->wakeup(s);
}

static size_t
data_input(struct smtp_session *s, const char *in, size_t len)
{
	size_t used = 0;

	switch (smtp_data_feed(&s->data, in, len, &used, &s->msg)) {
	case SMTP_DATA_NEED_MORE:
		break;
	case SMTP_DATA_DONE:
		data_end(s);
		break;
	case SMTP_DATA_BARE_LF:
	case SMTP_DATA_BARE_CR:
		refusal(s, "DATA", "bare-newline", s->env ? s->env->id : "",
		    "521 5.5.2 Bare CR or LF in message; only CRLF ends a "
		    "line; closing connection");
		tx_reset(s);
		enter_state(s, SMTP_S_CLOSING);
		used = len;
		break;
	}
	return used;
}

/* ---- input ---- */

size_t
smtp_session_input(struct smtp_session *s, const char *in, size_t len)
{
	size_t off = 0, linelen, used;

	s->in_input = 1;
	while (off < len && !s->waiting && s->state != SMTP_S_CLOSING) {
		if (s->state == SMTP_S_DATA) {
			off += data_input(s, in + off, len - off);
			continue;
		}
		switch (smtp_framer_next(&s->framer, in + off, len - off,
		    &linelen, &used)) {
		case SMTP_LINE_NEED_MORE:
			off += used;
			goto out;
		case SMTP_LINE_OK:
			dispatch(s, in + off, linelen);
			break;
		case SMTP_LINE_TOO_LONG:
			bad_command(s, "500 5.5.2 Line too long");
			break;
		case SMTP_LINE_BARE_LF:
			bad_command(s, "500 5.5.2 Bare LF in command: "
			    "lines end with CRLF");
			break;
		case SMTP_LINE_BAD_CHAR:
			bad_command(s, "500 5.5.2 Invalid character in "
			    "command");
			break;
		}
		off += used;
	}
out:
	s->in_input = 0;
	return off;
}
