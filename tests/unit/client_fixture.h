/*
 * client_fixture — the fake SMTP server the SMTP client's tests talk to
 * (on 127.0.0.1, its own listener on the client's event base, answering
 * from a per-case script and recording every byte), and the drivers that
 * set up a transaction, run it and check each recipient.  Header-only:
 * each test program includes it once.
 */
#ifndef POSTERN_TEST_CLIENT_FIXTURE_H
#define POSTERN_TEST_CLIENT_FIXTURE_H

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

/* Not every test program uses every helper. */
#define FIXTURE_UNUSED	__attribute__((unused))

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

static FIXTURE_UNUSED void
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

static FIXTURE_UNUSED void
fake_send(struct fake *f, const char *s)
{
	if (f->bev == NULL || s == NULL || *s == '\0')
		return;
	if (strcmp(s, CLOSE) == 0)
		fake_close(f);
	else
		bufferevent_write(f->bev, s, strlen(s));
}

static FIXTURE_UNUSED void
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

static FIXTURE_UNUSED void
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

static FIXTURE_UNUSED void
fake_write(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;

	if (f->closing && evbuffer_get_length(bufferevent_get_output(bev)) ==
	    0)
		fake_close(f);
}

static FIXTURE_UNUSED void
fake_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fake_close(arg);
}

static FIXTURE_UNUSED void
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

static FIXTURE_UNUSED void
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

static FIXTURE_UNUSED void
client_cb(void *arg, struct smtp_client_result *res)
{
	struct live *L = arg;

	L->calls++;
	if (!L->started)
		L->early = 1;
	L->res = *res;
}

static FIXTURE_UNUSED void
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
	L->m.view.fd = fd;
	L->m.view.offset = strlen(PREFIX);
	L->m.view.size = len;
	L->m.size = len;
	L->r[0].addr = "a@b.test";
	L->r[1].addr = "b@b.test";
	L->r[2].addr = "c@b.test";
	for (int i = 0; i < 3; i++)
		L->rp[i] = &L->r[i];
	L->n = 3;
}

static FIXTURE_UNUSED void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Until the callback has run and the server has seen the connection end. */
static FIXTURE_UNUSED void
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

static FIXTURE_UNUSED void
teardown(struct live *L)
{
	fake_close(&L->f);
	if (L->f.lst != NULL)
		evconnlistener_free(L->f.lst);
	buf_free(&L->f.rx);
	buf_free(&L->f.held);
	close(L->m.view.fd);
	event_base_free(L->base);
}

static FIXTURE_UNUSED void
assert_rcpt(const struct smtp_client_rcpt *r,
    enum rcpt_state res, const char *reply)
{
	if (r->st != res)
		fail_msg("%s: result %d, want %d (%s)", r->addr, r->st,
		    res, r->reply);
	if (reply != NULL)
		assert_string_equal(r->reply, reply);
}

static FIXTURE_UNUSED void
assert_all(const struct live *L, enum rcpt_state res,
    const char *reply)
{
	size_t i;

	for (i = 0; i < L->n; i++)
		assert_rcpt(&L->r[i], res, reply);
}

static FIXTURE_UNUSED int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* ---- cases ---- */

static FIXTURE_UNUSED const char body1[] = "Subject: t\r\n\r\n.leading dot\nbare lf\r"
    "bare cr\r\n..two\r\n.\r\nlast";
#define WIRE1	"Subject: t\r\n\r\n..leading dot\r\nbare lf\r\n" \
		"bare cr\r\n" \
		"...two\r\n..\r\nlast\r\n.\r\n"

#define IN_BODY1	body1, sizeof(body1) - 1
#define HEAD	"EHLO client.test\r\nMAIL FROM:<s@a.test> SIZE=58\r\n"
#define RCPTS	"RCPT TO:<a@b.test>\r\nRCPT TO:<b@b.test>\r\n" \
		"RCPT TO:<c@b.test>\r\n"

#endif
