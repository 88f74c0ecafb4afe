/*
 * test_smtp_client_live — smtp_client.c against a fake SMTP server.
 *
 * The server lives in this process on 127.0.0.1 (its own libevent
 * listener on the client's event_base) and answers from a per-case script.
 * It records every byte it receives, so cases assert the exact transcript:
 * command order, which parameters were sent, pipelining (the server can
 * hold MAIL/RCPT replies until DATA arrives, which only a pipelining
 * client survives; without PIPELINING no command may arrive early) and
 * the dot-stuffed, canonical body.  Every case also checks each
 * recipient's outcome and that the callback ran exactly once, never
 * before smtp_client_start returned.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "buf.h"
#include "smtp_client.h"
#include "smtp_parse.h"

#define SILENT	""		/* the server says nothing */
#define CLOSE	"\x01"		/* the server hangs up instead */

#define EHLO_FULL	"250-fake.test\r\n250-PIPELINING\r\n" \
			"250-SIZE 10000000\r\n250-8BITMIME\r\n" \
			"250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_PLAIN	"250-fake.test\r\n250-SIZE 10000000\r\n" \
			"250 8BITMIME\r\n"
#define QUEUED		"250 2.0.0 Ok: queued as ABC"
#define PREFIX		"ENVELOPE-JUNK\n"	/* before the message */

struct script {
	const char	*greeting, *ehlo, *helo, *mail, *rcpt, *data, *dot;
	const char	*special;	/* "<addr>" gets special_reply */
	const char	*special_reply;
	const char	*after_354;	/* sent together with the 354 */
	int		 hold;		/* MAIL, RCPT replies wait */
};

struct fake {
	struct evconnlistener	*lst;
	struct sockaddr_in	 sin;
	struct script		 sc;
	struct bufferevent	*bev;
	struct buf		 rx;		/* every byte received */
	struct buf		 held;
	int			 in_data, closing;
	int			 conns, closed;
	int			 early;	/* commands too early */
};

struct live {
	struct event_base	*base;
	struct fake		 f;
	struct smtp_client_params p;
	struct smtp_client_msg	 m;
	struct smtp_client_rcpt	 r[3];
	struct smtp_client_rcpt	*rp[3];		/* what the client takes */
	size_t			 n;
	int			 calls, early, started;
	struct smtp_client_result res;
	struct smtp_client	*c;
};

static void
fake_close(struct fake *f)
{
	struct evbuffer *in;

	if (f->bev == NULL)
		return;
	in = bufferevent_get_input(f->bev);
	buf_append(&f->rx, evbuffer_pullup(in, -1), evbuffer_get_length(in));
	bufferevent_free(f->bev);
	f->bev = NULL;
	f->closed = 1;
}

static void
fake_send(struct fake *f, const char *s)
{
	if (f->bev == NULL || s == NULL || *s == '\0')
		return;
	if (strcmp(s, CLOSE) == 0)
		fake_close(f);
	else
		bufferevent_write(f->bev, s, strlen(s));
}

static void
fake_command(struct fake *f, const char *line)
{
	const struct script *sc = &f->sc;
	const char *r;
	int held = 0;

	if (strncasecmp(line, "EHLO", 4) == 0)
		r = sc->ehlo;
	else if (strncasecmp(line, "HELO", 4) == 0)
		r = sc->helo;
	else if (strncasecmp(line, "MAIL", 4) == 0) {
		r = sc->mail;
		held = sc->hold;
	} else if (strncasecmp(line, "RCPT", 4) == 0) {
		r = sc->special != NULL && strstr(line, sc->special) != NULL ?
		    sc->special_reply : sc->rcpt;
		held = sc->hold;
	} else if (strncasecmp(line, "DATA", 4) == 0) {
		fake_send(f, f->held.p);
		buf_reset(&f->held);
		r = sc->data;
		if (strncmp(r, "354", 3) == 0)
			f->in_data = 1;
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		r = "221 2.0.0 Bye\r\n";
		f->closing = 1;
	} else
		r = "500 5.5.2 Error: command not recognized\r\n";
	if (held && strcmp(r, CLOSE) != 0)
		buf_append(&f->held, r, strlen(r));
	else
		fake_send(f, r);
	if (f->in_data && sc->after_354 != NULL)
		fake_send(f, sc->after_354);
}

static void
fake_read(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr pos;
	size_t n, end;
	char *line;

	while (f->bev != NULL) {
		if (f->in_data) {
			n = evbuffer_get_length(in);
			if (n >= 3 && memcmp(evbuffer_pullup(in, 3), ".\r\n",
			    3) == 0)
				end = 3;
			else {
				pos = evbuffer_search(in, "\r\n.\r\n", 5, NULL);
				if (pos.pos == -1)
					return;
				end = (size_t)pos.pos + 5;
			}
			buf_append(&f->rx, evbuffer_pullup(in, (ssize_t)end),
			    end);
			evbuffer_drain(in, end);
			f->in_data = 0;
			fake_send(f, f->sc.dot);
			continue;
		}
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);
		if (line == NULL)
			return;
		buf_append(&f->rx, line, n);
		buf_append(&f->rx, "\r\n", 2);
		if (evbuffer_get_length(in) > 0)
			f->early++;
		fake_command(f, line);
		free(line);
	}
}

static void
fake_write(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;

	if (f->closing && evbuffer_get_length(bufferevent_get_output(bev)) ==
	    0)
		fake_close(f);
}

static void
fake_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fake_close(arg);
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct fake *f = arg;

	(void)sa;
	(void)salen;
	assert_null(f->bev);	/* one connection per case */
	f->conns++;
	f->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, fake_read, fake_write, fake_event, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	fake_send(f, f->sc.greeting);
}

static void
fake_start(struct fake *f, struct event_base *base, const struct script *sc)
{
	socklen_t len = sizeof(f->sin);

	f->sc = *sc;
#define DEF(x, v)	if (f->sc.x == NULL) f->sc.x = v
	DEF(greeting, "220 fake.test ESMTP\r\n");
	DEF(ehlo, EHLO_FULL);
	DEF(helo, "250 fake.test\r\n");
	DEF(mail, "250 2.1.0 Ok\r\n");
	DEF(rcpt, "250 2.1.5 Ok\r\n");
	DEF(data, "354 End data with <CR><LF>.<CR><LF>\r\n");
	DEF(dot, QUEUED "\r\n");
#undef DEF
	buf_init(&f->rx, 64 * 1024 * 1024);
	buf_init(&f->held, 64 * 1024);
	/* allocated from the start: p is always a string */
	buf_appendc(&f->rx, 'x');
	buf_reset(&f->rx);
	buf_appendc(&f->held, 'x');
	buf_reset(&f->held);
	memset(&f->sin, 0, sizeof(f->sin));
	f->sin.sin_family = AF_INET;
	f->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lst = evconnlistener_new_bind(base, fake_accept, f,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&f->sin, sizeof(f->sin));
	assert_non_null(f->lst);
	assert_int_equal(getsockname(evconnlistener_get_fd(f->lst),
	    (struct sockaddr *)&f->sin, &len), 0);
}

static void
client_cb(void *arg, struct smtp_client_result *res)
{
	struct live *L = arg;

	L->calls++;
	if (!L->started)
		L->early = 1;
	L->res = *res;
}

static void
setup(struct live *L, const struct script *sc, const char *body,
    size_t len)
{
	char path[] = "/tmp/test_smtp_client.XXXXXX";
	int fd;

	memset(L, 0, sizeof(*L));
	L->base = event_base_new();
	assert_non_null(L->base);
	fake_start(&L->f, L->base, sc);
	L->p.addr = (struct sockaddr *)&L->f.sin;
	L->p.addrlen = sizeof(L->f.sin);
	L->p.helo = "client.test";
	L->p.peer_name = "mx.fake.test";
	L->p.connect_timeout = L->p.command_timeout = L->p.data_timeout = 5;
	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	/* the message sits between other bytes, as in a queue file */
	assert_int_equal(write(fd, PREFIX, strlen(PREFIX)), strlen(PREFIX));
	assert_int_equal(write(fd, body, len), (ssize_t)len);
	assert_int_equal(write(fd, "\r\n.\r\nTRAILER", 12), 12);
	L->m.sender = "s@a.test";
	L->m.fd = fd;
	L->m.offset = strlen(PREFIX);
	L->m.size = len;
	L->r[0].addr = "a@b.test";
	L->r[1].addr = "b@b.test";
	L->r[2].addr = "c@b.test";
	for (int i = 0; i < 3; i++)
		L->rp[i] = &L->r[i];
	L->n = 3;
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Until the callback has run and the server has seen the connection end. */
static void
run(struct live *L)
{
	struct timeval tv = { 15, 0 }, grace = { 0, 50000 };
	struct event *dl;
	int expired = 0;

	dl = evtimer_new(L->base, deadline_cb, &expired);
	evtimer_add(dl, &tv);
	L->c = smtp_client_start(L->base, &L->p, &L->m, L->rp, L->n,
	    client_cb, L);
	assert_non_null(L->c);
	L->started = 1;
	while (!expired && (L->calls == 0 || (L->f.conns > 0 &&
	    !L->f.closed)))
		event_base_loop(L->base, EVLOOP_ONCE);
	assert_false(expired);
	/* a little longer: nothing may call back a second time */
	event_base_loopexit(L->base, &grace);
	event_base_dispatch(L->base);
	assert_int_equal(L->calls, 1);
	assert_false(L->early);
	event_free(dl);
}

static void
teardown(struct live *L)
{
	fake_close(&L->f);
	if (L->f.lst != NULL)
		evconnlistener_free(L->f.lst);
	buf_free(&L->f.rx);
	buf_free(&L->f.held);
	close(L->m.fd);
	event_base_free(L->base);
}

static void
assert_rcpt(const struct smtp_client_rcpt *r,
    enum rcpt_state res, const char *reply)
{
	if (r->st != res)
		fail_msg("%s: result %d, want %d (%s)", r->addr, r->st,
		    res, r->reply);
	if (reply != NULL)
		assert_string_equal(r->reply, reply);
}

static void
assert_all(const struct live *L, enum rcpt_state res,
    const char *reply)
{
	size_t i;

	for (i = 0; i < L->n; i++)
		assert_rcpt(&L->r[i], res, reply);
}

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* ---- cases ---- */

static const char body1[] = "Subject: t\r\n\r\n.leading dot\nbare lf\r"
    "bare cr\r\n..two\r\n.\r\nlast";
#define WIRE1	"Subject: t\r\n\r\n..leading dot\r\nbare lf\r\n" \
		"bare cr\r\n" \
		"...two\r\n..\r\nlast\r\n.\r\n"

#define IN_BODY1	body1, sizeof(body1) - 1
#define HEAD	"EHLO client.test\r\nMAIL FROM:<s@a.test> SIZE=58\r\n"
#define RCPTS	"RCPT TO:<a@b.test>\r\nRCPT TO:<b@b.test>\r\n" \
		"RCPT TO:<c@b.test>\r\n"

static void
t_pipelined(void **state)
{
	struct script sc = { .greeting = "220-fake.test ESMTP\r\n220 more\r\n",
	    .hold = 1 };
	struct live L;

	(void)state;
	setup(&L, &sc, IN_BODY1);
	L.m.body_8bit = 1;
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nMAIL FROM:"
	    "<s@a.test> SIZE=58 BODY=8BITMIME\r\n" RCPTS "DATA\r\n" WIRE1
	    "QUIT\r\n");
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	assert_true(L.res.connected);
	assert_true(L.res.transaction);
	assert_string_equal(L.res.error, "");
	teardown(&L);
}

/* Without PIPELINING: one command, one reply; nothing arrives early. */
static void
t_no_pipelining(void **state)
{
	struct script sc = { .ehlo = EHLO_PLAIN };
	struct live L;

	(void)state;
	setup(&L, &sc, IN_BODY1);
	run(&L);
	assert_string_equal(L.f.rx.p, HEAD RCPTS "DATA\r\n" WIRE1 "QUIT\r\n");
	assert_int_equal(L.f.early, 0);
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

static void
t_rcpt_550(void **state)
{
	struct script sc = { .special = "<b@b.test>", .special_reply =
	    "550 5.1.1 <b@b.test>: Recipient address rejected\r\n" };
	struct live L;

	(void)state;
	setup(&L, &sc, IN_BODY1);
	run(&L);
	assert_rcpt(&L.r[0], RCPT_DELIVERED, QUEUED);
	assert_rcpt(&L.r[1], RCPT_FAILED,
	    "550 5.1.1 <b@b.test>: Recipient address rejected");
	assert_rcpt(&L.r[2], RCPT_DELIVERED, QUEUED);
	assert_string_equal(L.res.error, "");
	teardown(&L);
}

/* A settled recipient is not sent again; a 4xx one stays PENDING. */
static void
t_rcpt_452_prior(void **state)
{
	struct script sc = { .ehlo = EHLO_PLAIN, .special = "<b@b.test>",
	    .special_reply = "452 4.5.3 Too many recipients\r\n" };
	struct live L;

	(void)state;
	setup(&L, &sc, "x\r\n", 3);
	L.r[0].st = RCPT_FAILED;
	strcpy(L.r[0].reply, "550 earlier");
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nMAIL FROM:"
	    "<s@a.test> SIZE=3\r\nRCPT TO:<b@b.test>\r\nRCPT TO:<c@b.test>"
	    "\r\nDATA\r\nx\r\n.\r\nQUIT\r\n");
	assert_rcpt(&L.r[0], RCPT_FAILED, "550 earlier");
	assert_rcpt(&L.r[1], RCPT_PENDING,
	    "452 4.5.3 Too many recipients");
	assert_rcpt(&L.r[2], RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/* The per-message header lines go out before the message, canonicalized
 * (a bare LF becomes CRLF, a leading dot is stuffed). */
static void
t_prefix(void **state)
{
	struct script sc = { .ehlo = EHLO_PLAIN };
	struct live L;

	(void)state;
	setup(&L, &sc, "x\r\n", 3);
	L.m.prefix = "X-One: 1\r\nX-Two: 2\n.dot: 3\r\n";
	run(&L);
	assert_non_null(strstr(L.f.rx.p, " SIZE=31\r\n"));
	assert_non_null(strstr(L.f.rx.p, "DATA\r\nX-One: 1\r\nX-Two: 2\r\n"
	    "..dot: 3\r\nx\r\n.\r\n"));
	assert_rcpt(&L.r[0], RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/*
 * Cases that differ only in the script: every recipient ends the same way.
 * reply NULL: a PENDING recipient holds the attempt's error.  error NULL:
 * no error; else the error starts with it.
 */
struct live_case {
	const char	*name;
	struct script	 sc;
	const char	*rx;		/* what the server got */
	int		 result;
	const char	*reply;
	const char	*error;
	int		 transaction;
	unsigned	 timeout;	/* command and data timeouts, or 0 */
	int		 utf8;		/* message needs SMTPUTF8 */
};

#define PEND	RCPT_PENDING
#define FAILED	RCPT_FAILED

static const struct live_case live_cases[] = {
	/* pipelined, every RCPT refused: the 554 to DATA is expected */
	{ "all refused", { .rcpt = "550 5.1.1 unknown\r\n",
	    .data = "554 5.5.1 Error: no valid recipients\r\n" },
	    HEAD RCPTS "DATA\r\nQUIT\r\n", FAILED, "550 5.1.1 unknown", NULL,
	    1, 0, 0 },
	/* the same without PIPELINING: DATA is not even sent */
	{ "all greylisted", { .ehlo = EHLO_PLAIN,
	    .rcpt = "450 4.2.0 greylisted\r\n" },
	    HEAD RCPTS "QUIT\r\n", PEND, "450 4.2.0 greylisted", NULL,
	    1, 0, 0 },
	{ "greeting 421", { .greeting = "421 4.3.2 Service not available\r\n" },
	    "QUIT\r\n", PEND, NULL,
	    "greeting: 421 4.3.2 Service not available", 0, 0, 0 },
	{ "greeting garbage", { .greeting = "hello there\r\n" }, "", PEND, NULL,
	    "protocol error from peer (reply to greeting)", 0, 0, 0 },
	{ "DATA 451", { .data = "451 4.3.0 try later\r\n" },
	    HEAD RCPTS "DATA\r\nQUIT\r\n", PEND, "451 4.3.0 try later",
	    "DATA: 451 4.3.0 try later", 1, 0, 0 },
	{ "DATA 554", { .data = "554 5.7.1 go away\r\n" },
	    HEAD RCPTS "DATA\r\nQUIT\r\n", FAILED, "554 5.7.1 go away",
	    "DATA: 554", 1, 0, 0 },
	{ "dot 451", { .dot = "451 4.3.0 queue full\r\n" },
	    HEAD RCPTS "DATA\r\n" WIRE1 "QUIT\r\n", PEND,
	    "451 4.3.0 queue full", "end of data: 451 4.3.0 queue full",
	    1, 0, 0 },
	{ "dot 554", { .dot = "554-5.7.1 spam\r\n554 5.7.1 really\r\n" },
	    HEAD RCPTS "DATA\r\n" WIRE1 "QUIT\r\n", FAILED, "554 5.7.1 spam",
	    "end of data: 554 5.7.1 spam", 1, 0, 0 },
	{ "closed after data", { .dot = CLOSE },
	    HEAD RCPTS "DATA\r\n" WIRE1, PEND, NULL,
	    "connection lost during end of data", 1, 0, 0 },
	{ "silent greeting", { .greeting = SILENT }, "", PEND, NULL,
	    "timeout waiting for reply to greeting", 0, 1, 0 },
	{ "silent after data", { .dot = SILENT },
	    HEAD RCPTS "DATA\r\n" WIRE1, PEND, NULL,
	    "timeout waiting for reply to end of data", 1, 1, 0 },
	{ "small SIZE", { .ehlo = "250-fake.test\r\n250-PIPELINING\r\n"
	    "250 SIZE 10\r\n" }, "EHLO client.test\r\nQUIT\r\n", FAILED,
	    "552 5.3.4 Message size exceeds remote limit",
	    "message size 58 exceeds remote limit 10", 0, 0, 0 },
	{ "SMTPUTF8 not offered", { .ehlo = "250-fake.test\r\n250 DSN\r\n" },
	    "EHLO client.test\r\nQUIT\r\n", FAILED,
	    "553 5.6.7 SMTPUTF8 is required, but was not offered by the "
	    "remote host", "SMTPUTF8 required", 0, 0, 1 },
	/* MAIL refused in a pipelined group: the 503s after it are noise */
	{ "MAIL 550", { .mail = "550 5.7.1 sender blocked\r\n",
	    .rcpt = "503 5.5.1 need MAIL\r\n",
	    .data = "503 5.5.1 need RCPT\r\n" },
	    HEAD RCPTS "DATA\r\nQUIT\r\n", FAILED, "550 5.7.1 sender blocked",
	    "MAIL FROM: 550", 0, 0, 0 },
	{ "MAIL 451 plain", { .ehlo = EHLO_PLAIN,
	    .mail = "451 4.3.0 later\r\n" }, HEAD "QUIT\r\n", PEND,
	    "451 4.3.0 later", "MAIL FROM: 451 4.3.0 later", 0, 0, 0 },
	/* bytes after 354 would pass for the final reply: refuse them */
	{ "junk after 354", { .after_354 = "250 2.0.0 fake\r\n" },
	    HEAD RCPTS "DATA\r\n", PEND, NULL,
	    "protocol error from peer (unexpected data before message body)",
	    1, 0, 0 },
};

static void
t_table(void **state)
{
	const struct live_case *lc;
	struct live L;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(live_cases) / sizeof(live_cases[0]); i++) {
		lc = &live_cases[i];
		print_message("case: %s\n", lc->name);
		setup(&L, &lc->sc, IN_BODY1);
		L.m.smtputf8 = lc->utf8;
		if (lc->timeout)
			L.p.command_timeout = L.p.data_timeout = lc->timeout;
		run(&L);
		assert_string_equal(L.f.rx.p, lc->rx);
		for (k = 0; k < L.n; k++)
			assert_rcpt(&L.r[k], lc->result, lc->reply != NULL ?
			    lc->reply : L.res.error);
		if (lc->error == NULL)
			assert_string_equal(L.res.error, "");
		else if (!has_prefix(L.res.error, lc->error))
			fail_msg("error \"%s\", want \"%s...\"", L.res.error,
			    lc->error);
		assert_true(L.res.connected);
		assert_int_equal(L.res.transaction, lc->transaction);
		teardown(&L);
	}
}

/* EHLO refused: HELO, and then no ESMTP parameters at all. */
static void
t_helo_fallback(void **state)
{
	struct script sc = { .ehlo = "502 5.5.2 Error: command not "
	    "recognized\r\n" };
	struct live L;

	(void)state;
	setup(&L, &sc, "hi\n", 3);
	L.m.body_8bit = 1;
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nHELO client.test"
	    "\r\nMAIL FROM:<s@a.test>\r\n" RCPTS "DATA\r\nhi\r\n.\r\n"
	    "QUIT\r\n");
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/* (not offered: in the table) */
static void
t_smtputf8(void **state)
{
	struct script sc = { .ehlo = "250-fake.test\r\n250 SMTPUTF8\r\n" };
	struct live L;

	(void)state;
	setup(&L, &sc, "x", 1);
	L.m.smtputf8 = 1;
	L.n = 1;
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nMAIL FROM:"
	    "<s@a.test> SMTPUTF8\r\nRCPT TO:<a@b.test>\r\nDATA\r\nx\r\n.\r\n"
	    "QUIT\r\n");
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

static void
t_dsn(void **state)
{
	struct script sc = { .ehlo = "250-fake.test\r\n250-PIPELINING\r\n"
	    "250 DSN\r\n", .hold = 1 };
	struct live L;

	(void)state;
	setup(&L, &sc, "x\r\n", 3);
	L.m.ret = SMTP_RET_HDRS;
	L.m.envid = "ENV+2B1";
	L.r[0].notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY;
	L.r[0].orcpt = "rfc822;a@b.test";
	L.r[1].notify = SMTP_NOTIFY_NEVER;
	run(&L);
	assert_string_equal(L.f.rx.p, "EHLO client.test\r\nMAIL FROM:"
	    "<s@a.test> RET=HDRS ENVID=ENV+2B1\r\n"
	    "RCPT TO:<a@b.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@b.test\r\n"
	    "RCPT TO:<b@b.test> NOTIFY=NEVER\r\nRCPT TO:<c@b.test>\r\n"
	    "DATA\r\nx\r\n.\r\nQUIT\r\n");
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/* A big message, streamed: the server gets exactly the canonical form. */
static void
t_big_message(void **state)
{
	struct script sc = { 0 };
	struct smtp_canon st = { 0, 0, 0 };
	struct live L;
	size_t len = 700 * 1024, i, n, head;
	unsigned seed = 7;
	char *body, *want;

	(void)state;
	body = malloc(len);
	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % 4096;
		body[i] = n < 8 ? "\r\n.\n\r.\n."[n] : (char)('a' + n % 26);
	}
	want = malloc(2 * len + 8);
	n = smtp_client_canon(&st, body, len, 1, want);
	setup(&L, &sc, body, len);
	run(&L);
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	head = strstr(L.f.rx.p, "DATA\r\n") + 6 - L.f.rx.p;
	assert_int_equal(L.f.rx.len, head + n + 3 + 6);
	assert_memory_equal(L.f.rx.p + head, want, n);
	assert_memory_equal(L.f.rx.p + head + n, ".\r\nQUIT\r\n", 9);
	teardown(&L);
	free(body);
	free(want);
}

/* The file holds less than msg->size: never send the final dot. */
static void
t_short_file(void **state)
{
	struct script sc = { 0 };
	struct live L;

	(void)state;
	setup(&L, &sc, IN_BODY1);
	L.m.size += 1000;
	run(&L);
	assert_string_equal(L.res.error, "message file: shorter than its size");
	assert_all(&L, RCPT_PENDING, L.res.error);
	/* the message was never ended (the trailer's "." got stuffed) */
	assert_null(strstr(L.f.rx.p, "QUIT"));
	assert_null(strstr(L.f.rx.p, "\r\n.\r\n"));
	teardown(&L);
}

static void
t_refused(void **state)
{
	struct script sc = { 0 };
	struct live L;
	char want[128];

	(void)state;
	setup(&L, &sc, IN_BODY1);
	/* nobody listens on a closed listener's port */
	evconnlistener_free(L.f.lst);
	L.f.lst = NULL;
	run(&L);
	snprintf(want, sizeof(want), "connect to mx.fake.test[127.0.0.1]:%d: ",
	    ntohs(L.f.sin.sin_port));
	assert_true(has_prefix(L.res.error, want));
	assert_false(L.res.connected);
	assert_all(&L, RCPT_PENDING, L.res.error);
	teardown(&L);
}

static void
t_source_bind(void **state)
{
	struct script sc = { 0 };
	struct sockaddr_in src;
	struct live L;

	(void)state;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setup(&L, &sc, "x", 1);
	L.p.source = (struct sockaddr *)&src;
	L.p.sourcelen = sizeof(src);
	run(&L);
	assert_all(&L, RCPT_DELIVERED, QUEUED);
	teardown(&L);
}

/* Nothing sendable: no connection, a callback all the same. */
static void
t_bad_addresses(void **state)
{
	struct script sc = { 0 };
	struct live L;

	(void)state;
	setup(&L, &sc, "x", 1);
	L.r[0].addr = "a@b\r\nDATA";
	L.r[1].addr = "b\n@b";
	L.r[2].st = RCPT_DELIVERED;
	run(&L);
	assert_int_equal(L.f.conns, 0);
	assert_rcpt(&L.r[0], RCPT_FAILED,
	    "501 5.1.3 Bad recipient address syntax");
	assert_rcpt(&L.r[1], RCPT_FAILED, NULL);
	assert_rcpt(&L.r[2], RCPT_DELIVERED, "");
	teardown(&L);

	setup(&L, &sc, "x", 1);
	L.m.sender = "s@a\rb";
	run(&L);
	assert_int_equal(L.f.conns, 0);
	assert_all(&L, RCPT_FAILED, "501 5.1.7 Bad sender address syntax");
	teardown(&L);
}

static void
t_cancel(void **state)
{
	struct script sc = { .ehlo = SILENT };
	struct timeval grace = { 0, 100000 };
	struct live L;
	int i;

	(void)state;
	/* before anything happened */
	setup(&L, &sc, "x", 1);
	smtp_client_cancel(smtp_client_start(L.base, &L.p, &L.m, L.rp, L.n,
	    client_cb, &L));
	event_base_loopexit(L.base, &grace);
	event_base_dispatch(L.base);
	assert_int_equal(L.calls, 0);
	teardown(&L);

	/* with a failure already scheduled */
	setup(&L, &sc, "x", 1);
	L.m.sender = "\n";
	smtp_client_cancel(smtp_client_start(L.base, &L.p, &L.m, L.rp, L.n,
	    client_cb, &L));
	event_base_loopexit(L.base, &grace);
	event_base_dispatch(L.base);
	assert_int_equal(L.calls, 0);
	teardown(&L);

	/* in the middle of the conversation */
	setup(&L, &sc, "x", 1);
	L.c = smtp_client_start(L.base, &L.p, &L.m, L.rp, L.n, client_cb, &L);
	for (i = 0; i < 1000 && strstr(L.f.rx.p, "EHLO") == NULL; i++)
		event_base_loop(L.base, EVLOOP_ONCE);
	assert_non_null(strstr(L.f.rx.p, "EHLO"));
	smtp_client_cancel(L.c);
	for (i = 0; i < 1000 && !L.f.closed; i++)
		event_base_loop(L.base, EVLOOP_ONCE);
	assert_true(L.f.closed);
	assert_int_equal(L.calls, 0);
	teardown(&L);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_pipelined),
		cmocka_unit_test(t_no_pipelining),
		cmocka_unit_test(t_rcpt_550),
		cmocka_unit_test(t_rcpt_452_prior),
		cmocka_unit_test(t_prefix),
		cmocka_unit_test(t_table),
		cmocka_unit_test(t_helo_fallback),
		cmocka_unit_test(t_smtputf8),
		cmocka_unit_test(t_dsn),
		cmocka_unit_test(t_big_message),
		cmocka_unit_test(t_short_file),
		cmocka_unit_test(t_refused),
		cmocka_unit_test(t_source_bind),
		cmocka_unit_test(t_bad_addresses),
		cmocka_unit_test(t_cancel),
	};

	/* the client writes to peers that hang up, as posternd does */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
