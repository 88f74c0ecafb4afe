/*
 * smtp_client — one outbound SMTP transaction to one address, on libevent
 * bufferevents; see smtp_client.h.  The pure parts (reply parser, EHLO
 * keywords, canonicalizer) are in smtp_reply.c.
 *
 * One explicit state says which reply we wait for; on_reply() is the only
 * place that moves it on.  Every wait is bounded by one timer, re-armed per
 * state (and per chunk of body written), so a peer that trickles bytes
 * cannot stretch a wait.  The body is read from the queue file with pread
 * in BODY_CHUNK pieces as the socket drains: never the whole message in
 * memory.  Nothing is freed from inside a callback that still runs: an
 * ending attempt closes the socket at once and finishes (log line, the
 * caller's callback, free) from a zero timer on the next loop turn.
 * Runs on the loop that owns base, one thread.
 */
#include "smtp_client.h"
#include "log.h"
#include "postern_limits.h"
#include "smtp_client_priv.h"
#include "smtp_parse.h"
#include "xmalloc.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* pread size, and the output level under which the body is refilled */
#define BODY_CHUNK	(64 * 1024)
#define QUIT_WAIT	2		/* seconds we wait for 221 */
/* Reading stops while this much is unparsed (e.g. junk during the body). */
#define INPUT_MAX	(2 * SMTP_CLIENT_REPLY_MAX)

/* for a timeout of 0: RFC 5321 4.5.3.2 values, connect our own */
#define DEF_CONNECT_TIMEOUT	30
#define DEF_COMMAND_TIMEOUT	300
#define DEF_DATA_TIMEOUT	600

const char *const smtp_client_stage_names[] = {
	"connect", "greeting", "EHLO", "HELO", "STARTTLS", "TLS handshake",
	"RSET", "MAIL FROM", "RCPT TO", "DATA", "message body", "end of data",
	"QUIT", "parked", "idle", "done",
};
#define stage_names	smtp_client_stage_names

static void	process_input(struct smtp_client *);
static void	send_cmd(struct smtp_client *, const char *, ...)
		    SMTP_CLIENT_PRINTF;

void
smtp_client_set_error(struct smtp_client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->res.error[0] != '\0')
		return;		/* the first reason is the real one */
	va_start(ap, fmt);
	vsnprintf(c->res.error, sizeof(c->res.error), fmt, ap);
	va_end(ap);
}

void
smtp_client_arm(struct smtp_client *c, unsigned secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	evtimer_add(c->timer, &tv);
}

/* Close now; finish (log, callback, free) on the next loop turn. */
void
smtp_client_done(struct smtp_client *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->state = C_DONE;
	smtp_client_arm(c, 0);
}

void
smtp_client_fail(struct smtp_client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->res.error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->res.error, sizeof(c->res.error), fmt, ap);
		va_end(ap);
	}
	smtp_client_done(c);
}

static void
client_free(struct smtp_client *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	free(c->helo);
	free(c->tls_ca);
	free(c->tls_name);
	smtp_client_tx_free(c);
	free(c);
}

/* One line per transaction; conn_use (as Postfix) when the connection
 * carried an earlier one. */
void
smtp_client_log(struct smtp_client *c)
{
	char use[32] = "";
	size_t i, sent = 0, failed = 0, pending = 0;
	const char *status;

	for (i = 0; i < c->n; i++) {
		if (c->rstate[i] == R_SKIP)
			continue;
		if (c->rcpts[i]->st == RCPT_DELIVERED)
			sent++;
		else if (c->rcpts[i]->st == RCPT_FAILED)
			failed++;
		else
			pending++;
	}
	if (pending > 0)
		status = sent + failed > 0 ? "partial" : "deferred";
	else if (failed > 0)
		status = sent > 0 ? "partial" : "bounced";
	else
		status = "sent";
	if (c->uses > 1)
		snprintf(use, sizeof(use), ", conn_use=%u", c->uses);
	log_info("smtp_client: relay=%s, rcpts=%zu, sent=%zu, bounced=%zu, "
	    "deferred=%zu, tls=%s, status=%s (%s)%s", c->relay,
	    sent + failed + pending, sent, failed, pending,
	    c->res.tls[0] != '\0' ? c->res.tls : "none", status,
	    c->res.error[0] != '\0' ? c->res.error : c->last, use);
}

/* Free first, then call back: the callback may do anything with the loop. */
static void
client_finish(struct smtp_client *c)
{
	struct smtp_client_result res;
	smtp_client_cb cb = c->cb;
	void *arg = c->cbarg;
	size_t i;

	for (i = 0; i < c->n; i++) {
		/* tried, and nothing about it settled: the attempt's reason */
		if ((c->rstate[i] == R_TRY || c->rstate[i] == R_ACCEPTED) &&
		    c->rcpts[i]->st == RCPT_PENDING)
			snprintf(c->rcpts[i]->reply, sizeof(c->rcpts[i]->reply),
			    "%s", c->res.error[0] != '\0' ? c->res.error :
			    "attempt ended without a result");
	}
	if (!c->quiet)
		smtp_client_log(c);
	/* After a HELO fallback ext is zero: no DSN, NOTIFY not passed on. */
	c->res.peer_dsn = c->ext.dsn;
	c->res.uses = c->uses;
	res = c->res;
	client_free(c);
	if (cb != NULL)
		cb(arg, &res);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_client *c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case C_DONE:
		client_finish(c);
		break;
	case C_PARK:
		smtp_client_report_parked(c);
		break;
	case C_IDLE:
		smtp_client_idle_end(c, 1);
		break;
	case C_RSET:
		smtp_client_stale(c, "timeout waiting for reply to RSET");
		break;
	case C_QUIT:
		smtp_client_done(c);		/* no 221 in time: fine */
		break;
	case C_CONNECT:
		smtp_client_fail(c, "connect to %s: timeout", c->relay);
		break;
	case C_BODY:
		smtp_client_fail(c, "timeout sending message body");
		break;
	case C_TLS:
		smtp_client_tls_timeout(c);
		break;
	default:
		smtp_client_fail(c, "timeout waiting for reply to %s",
		    stage_names[c->state]);
		break;
	}
}

void
smtp_client_set_rcpt(struct smtp_client *c, size_t i,
    enum rcpt_state res, const char *reply)
{
	c->rcpts[i]->st = res;
	snprintf(c->rcpts[i]->reply, sizeof(c->rcpts[i]->reply), "%s", reply);
	c->rstate[i] = R_ANSWERED;
}

void
smtp_client_settle_all(struct smtp_client *c, enum rcpt_state res,
    const char *reply)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->rstate[i] == R_TRY || c->rstate[i] == R_ACCEPTED)
			smtp_client_set_rcpt(c, i, res, reply);
}

/*
 * Input waiting when we are about to send a command can only be a reply to
 * nothing; taking it as the reply to what we send next would desynchronise
 * us (and after 354 make a "250" before our "." look like acceptance).
 */
static int
input_clean(struct smtp_client *c)
{
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
		return 1;
	smtp_client_fail(c, "protocol error from peer (unexpected data "
	    "before %s)", stage_names[c->state]);
	return 0;
}

static void
send_cmd(struct smtp_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
}

/* Move on to st by sending one command (not pipelined). */
void
smtp_client_send_next(struct smtp_client *c, enum client_state st,
    const char *cmd)
{
	c->state = st;
	if (!input_clean(c))
		return;
	send_cmd(c, "%s", cmd);
	smtp_client_arm(c, c->command_timeout);
}

void
smtp_client_quit(struct smtp_client *c)
{
	send_cmd(c, "QUIT\r\n");
	c->state = C_QUIT;
	smtp_client_arm(c, c->command_timeout < QUIT_WAIT ? c->command_timeout :
	    QUIT_WAIT);
}

/* smtp_client_prepare() made sure the line can be made. */
static const char *
rcpt_line(struct smtp_client *c, size_t i, char *line, size_t len)
{
	if (smtp_client_rcpt_line(line, len, c->rcpts[i], &c->ext) == -1)
		line[0] = '\0';
	return line;
}

int
smtp_client_refuse(struct smtp_client *c)
{
	if (c->msg.smtputf8 && !c->ext.smtputf8) {
		/* no downgrade (RFC 6531 3.2): the address may need it */
		smtp_client_settle_all(c, RCPT_FAILED, "553 5.6.7 "
		    "SMTPUTF8 is required, but was not offered by the remote "
		    "host");
		smtp_client_set_error(c, "SMTPUTF8 required, not offered");
		smtp_client_quit(c);
		return 1;
	}
	if (c->ext.size_offered && c->ext.size > 0 &&
	    smtp_client_msg_size(&c->msg) > c->ext.size) {
		smtp_client_settle_all(c, RCPT_FAILED,
		    "552 5.3.4 Message size exceeds remote limit");
		smtp_client_set_error(c, "message size %llu exceeds remote "
		    "limit %llu",
		    (unsigned long long)smtp_client_msg_size(&c->msg),
		    (unsigned long long)c->ext.size);
		smtp_client_quit(c);
		return 1;
	}
	return 0;
}

void
smtp_client_send_tx(struct smtp_client *c)
{
	char line[SMTP_CMD_LINE_MAX + 3];
	size_t i;

	/* smtp_client_prepare() checked the line with every extension on */
	if (smtp_client_mail_line(line, sizeof(line), &c->msg,
	    &c->ext) != -1)
		send_cmd(c, "%s", line);
	if (c->ext.pipelining) {
		for (i = 0; i < c->nsend; i++)
			send_cmd(c, "%s", rcpt_line(c, c->order[i], line,
			    sizeof(line)));
		send_cmd(c, "DATA\r\n");
	}
}

/*
 * After EHLO/HELO (or RSET on a kept connection): refuse what cannot
 * succeed here, then MAIL (with every RCPT and DATA in the same write when
 * the peer pipelines, RFC 2920).
 */
void
smtp_client_begin(struct smtp_client *c)
{
	if (smtp_client_refuse(c) || !input_clean(c))
		return;
	smtp_client_send_tx(c);
	c->state = C_MAIL;
	smtp_client_arm(c, c->command_timeout);
}

static void
body_fill(struct smtp_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec iov;
	uint64_t want;
	ssize_t n;

	while (evbuffer_get_length(out) < BODY_CHUNK &&
	    c->sent < c->msg.size) {
		want = c->msg.size - c->sent;
		if (want > BODY_CHUNK)
			want = BODY_CHUNK;
		n = queue_view_pread(&c->msg.view, c->sent, c->chunk,
		    (size_t)want);
		/* never "." after a partial message: that would deliver it */
		if (n == -1) {
			smtp_client_fail(c, "message file: read error: %s",
			    strerror(errno));
			return;
		}
		if (n == 0) {
			smtp_client_fail(c, "message file: shorter than its "
			    "size");
			return;
		}
		c->sent += (uint64_t)n;
		if (evbuffer_reserve_space(out, 2 * (size_t)n + 8, &iov,
		    1) < 1) {
			smtp_client_fail(c, "out of memory");
			return;
		}
		iov.iov_len = smtp_client_canon(&c->canon, c->chunk,
		    (size_t)n, c->sent == c->msg.size, iov.iov_base);
		evbuffer_commit_space(out, &iov, 1);
	}
	if (c->sent < c->msg.size) {
		smtp_client_arm(c, c->data_timeout);	/* progress */
		return;
	}
	evbuffer_add(out, ".\r\n", 3);
	c->state = C_DOT;
	smtp_client_arm(c, c->data_timeout);
	/* a reply that came early is not announced again */
	process_input(c);
}

/* The per-message header lines before the message, through the same
 * canonicalizer: what leaves is canonical whatever they hold.  0 on
 * failure (the client has failed). */
static int
body_prefix(struct smtp_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec iov;
	size_t n = strlen(c->msg.prefix);

	if (evbuffer_reserve_space(out, 2 * n + 8, &iov, 1) < 1) {
		smtp_client_fail(c, "out of memory");
		return 0;
	}
	iov.iov_len = smtp_client_canon(&c->canon, c->msg.prefix, n,
	    c->msg.size == 0, iov.iov_base);
	evbuffer_commit_space(out, &iov, 1);
	return 1;
}

static void
start_body(struct smtp_client *c)
{
	c->state = C_BODY;
	if (!input_clean(c))
		return;
	c->chunk = xmalloc(BODY_CHUNK);
	memset(&c->canon, 0, sizeof(c->canon));
	c->sent = 0;
	if (c->msg.prefix != NULL && c->msg.prefix[0] != '\0' &&
	    !body_prefix(c))
		return;
	bufferevent_setwatermark(c->bev, EV_WRITE, BODY_CHUNK, 0);
	body_fill(c);
}

/* Replies to MAIL and RCPT, in order, pipelined or not. */
static void
on_tx_reply(struct smtp_client *c, const struct smtp_reply *r,
    const char *txt)
{
	char line[SMTP_CMD_LINE_MAX + 3];
	size_t i;
	int cls = r->code / 100;

	if (c->state == C_MAIL) {
		if (cls == 2)
			c->res.transaction = 1;
		else {
			smtp_client_settle_all(c, cls == 5 ? RCPT_FAILED :
			    RCPT_PENDING, txt);
			smtp_client_set_error(c, "MAIL FROM: %s", txt);
			if (!c->ext.pipelining) {
				smtp_client_quit(c);
				return;
			}
			c->mail_failed = 1;
		}
		c->state = C_RCPT;
		c->cur = 0;
	} else {
		i = c->order[c->cur++];
		if (c->mail_failed)
			;	/* 503s to a failed MAIL's group */
		else if (cls == 2) {
			c->rstate[i] = R_ACCEPTED;
			c->naccepted++;
			snprintf(c->rcpts[i]->reply, sizeof(c->rcpts[i]->reply),
			    "%s", txt);
		} else {
			smtp_client_set_rcpt(c, i, cls == 5 ? RCPT_FAILED :
			    RCPT_PENDING, txt);
			c->rcpts[i]->again = r->code == 452;
		}
	}
	smtp_client_arm(c, c->command_timeout);
	if (c->cur < c->nsend) {
		if (!c->ext.pipelining)
			smtp_client_send_next(c, C_RCPT, rcpt_line(c,
			    c->order[c->cur], line, sizeof(line)));
	} else if (c->ext.pipelining)
		c->state = C_DATA;	/* DATA went with the group */
	else if (c->naccepted == 0)
		smtp_client_quit(c);
	else
		smtp_client_send_next(c, C_DATA, "DATA\r\n");
}

static void
on_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	char txt[sizeof(((struct smtp_client_rcpt *)0)->reply)];
	char line[SMTP_HELO_MAX + 8];
	int cls = r->code / 100;

	smtp_client_format_reply(r, txt, sizeof(txt));
	if (c->state != C_QUIT)
		snprintf(c->last, sizeof(c->last), "%s", txt);
	switch (c->state) {
	case C_GREETING:
		if (cls != 2) {
			smtp_client_set_error(c, "greeting: %s", txt);
			smtp_client_quit(c);
			break;
		}
		snprintf(line, sizeof(line), "EHLO %s\r\n", c->helo);
		smtp_client_send_next(c, C_EHLO, line);
		break;
	case C_EHLO:
	case C_HELO:
		if (cls == 2) {
			if (c->state == C_EHLO)
				smtp_client_parse_ehlo(r, &c->ext);
			if (!smtp_client_tls_after_ehlo(c))
				smtp_client_begin(c);
		} else if (cls == 5 && c->state == C_EHLO) {
			snprintf(line, sizeof(line), "HELO %s\r\n", c->helo);
			smtp_client_send_next(c, C_HELO, line);
		} else {
			smtp_client_set_error(c, "%s: %s",
			    stage_names[c->state], txt);
			smtp_client_quit(c);
		}
		break;
	case C_STARTTLS:
		smtp_client_tls_reply(c, r, txt);
		break;
	case C_RSET:
		smtp_client_rset_reply(c, r->code);
		break;
	case C_MAIL:
	case C_RCPT:
		on_tx_reply(c, r, txt);
		break;
	case C_DATA:
		if (c->mail_failed || c->naccepted == 0) {
			/* nothing to send; a 354 now would eat our QUIT */
			if (r->code == 354)
				smtp_client_fail(c, "peer accepted DATA "
				    "without recipients");
			else
				smtp_client_quit(c);
		} else if (r->code == 354)
			start_body(c);
		else {
			smtp_client_settle_all(c, cls == 5 ? RCPT_FAILED :
			    RCPT_PENDING, txt);
			smtp_client_set_error(c, "DATA: %s", txt);
			smtp_client_quit(c);
		}
		break;
	case C_DOT:
		if (cls == 2)
			smtp_client_settle_all(c, RCPT_DELIVERED, txt);
		else {
			smtp_client_settle_all(c, cls == 5 ? RCPT_FAILED :
			    RCPT_PENDING, txt);
			smtp_client_set_error(c, "end of data: %s", txt);
		}
		if (!smtp_client_park(c, r->code))
			smtp_client_quit(c);
		break;
	case C_QUIT:
		smtp_client_done(c);
		break;
	default:
		break;
	}
}

static int
expects_reply(enum client_state st)
{
	return st >= C_GREETING && st <= C_QUIT && st != C_BODY &&
	    st != C_TLS;
}

static void
process_input(struct smtp_client *c)
{
	struct smtp_reply r;
	struct evbuffer *in;
	const char *p;
	size_t len, consumed;
	enum smtp_reply_status st;

	while (c->bev != NULL && expects_reply(c->state)) {
		in = bufferevent_get_input(c->bev);
		len = evbuffer_get_length(in);
		if (len == 0)
			return;
		/* one byte past the limit is enough to call it BAD */
		if (len > SMTP_CLIENT_REPLY_MAX + 1)
			len = SMTP_CLIENT_REPLY_MAX + 1;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
		if (p == NULL) {
			smtp_client_fail(c, "out of memory");
			return;
		}
		st = smtp_client_parse_reply(p, len, &r, &consumed);
		if (st == SMTP_REPLY_NEED_MORE)
			return;
		if (st == SMTP_REPLY_BAD) {
			if (c->state == C_QUIT)
				smtp_client_done(c);
			else
				smtp_client_fail(c, "protocol error from peer "
				    "(reply to %s)", stage_names[c->state]);
			return;
		}
		evbuffer_drain(in, consumed);
		on_reply(c, &r);
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;

	(void)bev;
	if (c->state == C_IDLE)
		smtp_client_idle_end(c, 0);	/* e.g. a 421 on timeout */
	else
		process_input(c);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;

	(void)bev;
	if (c->state == C_BODY)
		body_fill(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_client *c = arg;
	struct smtp_reply r;
	struct evbuffer *in;
	char txt[sizeof(c->last)];
	const char *p;
	size_t len, consumed;
	int err = errno, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (c->state == C_TLS) {
		smtp_client_tls_event(c, what);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		c->res.connected = 1;
		c->state = C_GREETING;
		smtp_client_arm(c, c->command_timeout);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (c->state == C_IDLE) {
		smtp_client_idle_end(c, 0);
		return;
	}
	if (c->state == C_RSET) {
		smtp_client_stale(c, "kept connection closed by the peer");
		return;
	}
	if (c->state == C_CONNECT) {
		if (getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_ERROR,
		    &soerr, &sl) == 0 && soerr != 0)
			err = soerr;
		smtp_client_fail(c, "connect to %s: %s", c->relay,
		    err != 0 ? strerror(err) : "failed");
		return;
	}
	if (c->state == C_QUIT) {
		smtp_client_done(c);
		return;
	}
	/* a peer that hangs up often said why first (e.g. during the body) */
	in = bufferevent_get_input(bev);
	len = evbuffer_get_length(in);
	if (len > SMTP_CLIENT_REPLY_MAX + 1)
		len = SMTP_CLIENT_REPLY_MAX + 1;
	p = len > 0 ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) :
	    NULL;
	if (p != NULL && smtp_client_parse_reply(p, len, &r, &consumed) ==
	    SMTP_REPLY_OK)
		smtp_client_fail(c, "connection lost during %s (peer said: %s)",
		    stage_names[c->state],
		    smtp_client_format_reply(&r, txt, sizeof(txt)));
	else
		smtp_client_fail(c, "connection lost during %s",
		    stage_names[c->state]);
}

void
smtp_client_setcb(struct smtp_client *c, struct bufferevent *bev)
{
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(bev, EV_READ, 0, INPUT_MAX);
}

struct smtp_client *
smtp_client_start(struct event_base *base, const struct smtp_client_params *p,
    const struct smtp_client_msg *m, struct smtp_client_rcpt **rcpts,
    size_t n, smtp_client_cb cb, void *arg)
{
	struct smtp_client *c;

	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->cb = cb;
	c->cbarg = arg;
	c->timer = evtimer_new(base, timer_cb, c);
	if (c->timer == NULL)
		fatalx("smtp_client: out of memory");
	smtp_client_make_relay(c, p);
	c->helo = xstrdup(p->helo != NULL ? p->helo : "");
	smtp_client_set_timeouts(c, p->connect_timeout, p->command_timeout,
	    p->data_timeout);
	smtp_client_tx_init(c, m, rcpts, n);
	c->keep = p->keep;
	c->uses = 1;
	c->born = time(NULL);
	c->state = C_CONNECT;
	if (p->addr != NULL && p->addrlen > 0 &&
	    p->addrlen <= sizeof(c->addr)) {
		memcpy(&c->addr, p->addr, p->addrlen);
		c->addrlen = p->addrlen;
	}
	if (p->source != NULL && p->sourcelen <= sizeof(c->source)) {
		memcpy(&c->source, p->source, p->sourcelen);
		c->sourcelen = p->sourcelen;
	}
	c->tls = p->tls;
	c->tls_ca = p->tls_ca ? xstrdup(p->tls_ca) : NULL;
	c->tls_name = p->tls_name ? xstrdup(p->tls_name) : NULL;

	/* failures here are reported from the loop, as the header promises */
	if (smtp_client_prepare(c) == -1 || smtp_client_connect(c) == -1)
		smtp_client_done(c);
	else
		smtp_client_arm(c, c->connect_timeout);
	return c;
}

void
smtp_client_set_timeouts(struct smtp_client *c, unsigned connect,
    unsigned command, unsigned data)
{
	c->connect_timeout = connect ? connect : DEF_CONNECT_TIMEOUT;
	c->command_timeout = command ? command : DEF_COMMAND_TIMEOUT;
	c->data_timeout = data ? data : DEF_DATA_TIMEOUT;
}

void
smtp_client_cancel(struct smtp_client *c)
{
	if (c != NULL)
		client_free(c);
}
