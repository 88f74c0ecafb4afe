/*
 * test_milter_fake — the fake milter filter and the helpers that
 * test_milter_conn.c and test_milter_faults.c share: a loopback listener
 * on the test's loop that records every packet it gets (letters, and the
 * last data per letter) and answers from a per-command script (packets
 * now, or after a delay; "" for silence), and the waits for an answer.
 * Included once per test program (everything is static).
 */
#ifndef TEST_MILTER_FAKE_H
#define TEST_MILTER_FAKE_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "milter_conn.h"

#define B(s)	(s), sizeof(s) - 1

struct step {
	unsigned	 delay_ms;
	const char	*bytes;
	size_t		 len;
};

struct fake {
	struct event_base	*base;
	struct evconnlistener	*lis;
	struct bufferevent	*bev;
	int			 port;
	char			 log[4096];	/* letters received */
	char			 last[128][512]; /* last data per letter */
	size_t			 lastlen[128];
	struct step		 script[128][4];
	char			 close_on;	/* close when this arrives */
	uint32_t		 version, actions, protocol;
	const char		*lists;		/* after the three words */
	size_t			 listslen;
};

struct got {
	int			 done;
	struct milter_answer	 a;
	struct milter_mod	 mods[16];
	char			 body[256];
};

static struct fake F;

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

struct later {
	struct fake *f;
	struct event *ev;
	const char *bytes;
	size_t len;
};

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	(void)fd;
	(void)what;
	if (l->f->bev != NULL)
		bufferevent_write(l->f->bev, l->bytes, l->len);
	event_free(l->ev);
	free(l);
}

static void
fake_answer(struct fake *f, unsigned char cmd)
{
	unsigned char o[13 + 256];
	int i;

	if (cmd == 'O') {
		put32(o, 13 + (uint32_t)f->listslen);
		o[4] = 'O';
		put32(o + 5, f->version);
		put32(o + 9, f->actions);
		put32(o + 13, f->protocol);
		bufferevent_write(f->bev, o, 17);
		if (f->listslen)
			bufferevent_write(f->bev, f->lists, f->listslen);
		return;
	}
	if (f->script[cmd][0].bytes == NULL) {
		if (strchr("DAQK", cmd) == NULL)
			bufferevent_write(f->bev, "\0\0\0\1c", 5);
		return;
	}
	for (i = 0; i < 4 && f->script[cmd][i].bytes != NULL; i++) {
		struct step *s = &f->script[cmd][i];
		struct later *l;
		struct timeval tv = { s->delay_ms / 1000,
		    (s->delay_ms % 1000) * 1000 };

		if (s->delay_ms == 0) {
			bufferevent_write(f->bev, s->bytes, s->len);
			continue;
		}
		l = calloc(1, sizeof(*l));
		l->f = f;
		l->bytes = s->bytes;
		l->len = s->len;
		l->ev = evtimer_new(f->base, later_cb, l);
		evtimer_add(l->ev, &tv);
	}
}

static void
fake_read(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned char h[4], *p;
	size_t n;

	while (evbuffer_get_length(in) >= 4) {
		evbuffer_copyout(in, h, 4);
		n = (size_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
		if (evbuffer_get_length(in) < n + 4)
			return;
		p = evbuffer_pullup(in, (ssize_t)n + 4);
		strncat(f->log, (char *)p + 4, 1);
		if (p[4] == 'D')
			strncat(f->log, (char *)p + 5, 1);
		strcat(f->log, " ");
		f->lastlen[p[4] & 127] = n - 1 < 512 ? n - 1 : 512;
		memcpy(f->last[p[4] & 127], p + 5, f->lastlen[p[4] & 127]);
		if (p[4] == (unsigned char)f->close_on) {
			bufferevent_free(f->bev);
			f->bev = NULL;
			return;
		}
		fake_answer(f, p[4]);
		evbuffer_drain(in, n + 4);
	}
}

static void
fake_event(struct bufferevent *bev, short what, void *arg)
{
	struct fake *f = arg;

	(void)what;
	if (f->bev == bev) {
		bufferevent_free(bev);
		f->bev = NULL;
	}
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct fake *f = arg;

	(void)l;
	(void)sa;
	(void)len;
	f->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, fake_read, NULL, fake_event, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
}

static int
setup(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	(void)state;
	log_init("test_milter_conn", 0, 0);
	memset(&F, 0, sizeof(F));
	F.base = event_base_new();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	F.lis = evconnlistener_new_bind(F.base, fake_accept, &F,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(F.lis);
	getsockname(evconnlistener_get_fd(F.lis), (struct sockaddr *)&sin, &sl);
	F.port = ntohs(sin.sin_port);
	F.version = 6;
	F.actions = 0x1ff;
	F.protocol = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (F.bev != NULL)
		bufferevent_free(F.bev);
	evconnlistener_free(F.lis);
	event_base_free(F.base);
	return 0;
}

static void
on_answer(void *arg, const struct milter_answer *a)
{
	struct got *g = arg;
	size_t i;

	g->done = 1;
	g->a = *a;
	for (i = 0; i < a->nmods && i < 16; i++) {
		g->mods[i] = a->mods[i];
		g->mods[i].name = a->mods[i].name ? strdup(a->mods[i].name) :
		    NULL;
		g->mods[i].value = a->mods[i].value ?
		    strdup(a->mods[i].value) : NULL;
		g->mods[i].addr = a->mods[i].addr ? strdup(a->mods[i].addr) :
		    NULL;
		g->mods[i].args = a->mods[i].args ? strdup(a->mods[i].args) :
		    NULL;
	}
	if (a->body_replaced)
		snprintf(g->body, sizeof(g->body), "%.*s", (int)a->bodylen,
		    a->body);
}

/* inline: not every test program frees modifications */
static inline void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->a.nmods && i < 16; i++) {
		free(g->mods[i].name);
		free(g->mods[i].value);
		free(g->mods[i].addr);
		free(g->mods[i].args);
	}
	memset(g, 0, sizeof(*g));
}

/* Run the loop until the answer came (10 s at most). */
static void
wait_answer(struct got *g)
{
	int i;

	assert_false(g->done);		/* never from inside the call */
	for (i = 0; i < 10000 && !g->done; i++)
		event_base_loop(F.base, EVLOOP_ONCE);
	assert_true(g->done);
}

/* Let the loop run a little (what the fake got, arrives). */
static void
settle(void)
{
	struct timeval tv = { 0, 50000 };

	event_base_loopexit(F.base, &tv);
	event_base_dispatch(F.base);
}

static struct milter_conn *
conn(unsigned timeout_ms, size_t modmax)
{
	char sock[64];
	struct milter_conn_params p = { "fake", sock, timeout_ms, F.base,
	    modmax, 0 };

	snprintf(sock, sizeof(sock), "inet:127.0.0.1:%d", F.port);
	return milter_conn_new(&p);
}

static void
do_connect(struct milter_conn *mc, struct got *g, const char *host)
{
	struct sockaddr_in c = { .sin_family = AF_INET,
	    .sin_port = htons(40000) };
	struct milter_macro m[] = { { "j", "mx.example" },
	    { "{client_addr}", "192.0.2.7" }, { NULL, NULL } };

	inet_pton(AF_INET, "192.0.2.7", &c.sin_addr);
	milter_conn_connect(mc, host, (struct sockaddr *)&c, m, on_answer, g);
	wait_answer(g);
}

#define STEP(cmd, i, ms, s)	do { F.script[(int)(cmd)][i].delay_ms = (ms); \
	F.script[(int)(cmd)][i].bytes = (s); \
	F.script[(int)(cmd)][i].len = sizeof(s) - 1; } while (0)

#endif
