/*
 * test_milter_conn — one milter connection against a fake filter in the
 * same process and loop: a loopback listener that records every packet
 * it gets (letters and data) and answers from a per-command script
 * (packets now, or after a delay).  Covers the negotiation (what is
 * offered; skipped steps and no-reply steps), each verdict and the
 * verdicts kept for later stages, abort between transactions, every
 * modification, PROGRESS against the timeout, and the failures: a filter
 * that never answers, closes, sends garbage or an oversized length, or a
 * refused connect.  The callback must never run inside the call.
 */
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

static void
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

static void
t_whole_transaction(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };
	const char *args[] = { "SIZE=10" };
	struct milter_macro mi[] = { { "i", "Q1" }, { NULL, NULL } };

	(void)state;
	do_connect(mc, &g, NULL);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	assert_false(g.a.local);
	assert_string_equal(g.a.stage, "connect");
	/* what we offer: version 6, every action, the steps */
	assert_int_equal(F.lastlen['O'], 12);
	assert_memory_equal(F.last['O'], "\0\0\0\6" "\0\0\1\xff"
	    "\0\x1f\xf7\xff", 12);
	assert_memory_equal(F.last['C'], "[192.0.2.7]\0" "4" "\x9c\x40"
	    "192.0.2.7\0", 25);
	g.done = 0;
	milter_conn_helo(mc, "client.example", NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_mail(mc, "a@example", args, 1, mi, on_answer, &g);
	wait_answer(&g);
	assert_memory_equal(F.last['M'], "<a@example>\0SIZE=10\0", 20);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_data(mc, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_header(mc, "Subject", B(" hello\r\n world"), on_answer,
	    &g);
	wait_answer(&g);
	/* without HDR_LEADSPC: no leading space, folds as LF */
	assert_memory_equal(F.last['L'], "Subject\0hello\n world\0", 21);
	g.done = 0;
	milter_conn_eoh(mc, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_body(mc, B("body\r\n"), on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_eom(mc, mi, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);	/* continue at eom */
	assert_int_equal(g.a.nmods, 0);
	assert_string_equal(F.log, "O DC C H DM M R T L N B DE E ");
	/* the next transaction needs no abort: the message is over */
	milter_conn_abort(mc);
	g.done = 0;
	milter_conn_mail(mc, "c@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_string_equal(F.log, "O DC C H DM M R T L N B DE E M ");
	milter_conn_free(mc);
	settle();
	assert_string_equal(F.log, "O DC C H DM M R T L N B DE E M Q ");
}

static void
t_skips_and_noreply(void **state)
{
	struct milter_conn *mc = conn(300, 0);
	struct got g = { 0 };

	(void)state;
	/* no connect, no helo, no reply to RCPT or headers, no body; the
	 * fake stays silent where no reply is due */
	F.protocol = 0x1 | 0x2 | 0x10 | 0x8000 | 0x80 | 0x100000;
	STEP('R', 0, 0, "");
	STEP('L', 0, 0, "");
	do_connect(mc, &g, "client.example");
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_helo(mc, "h", NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_header(mc, "X-A", B(" v"), on_answer, &g);
	wait_answer(&g);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_body(mc, B("x\r\n"), on_answer, &g);
	wait_answer(&g);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	/* the macros of a skipped step still go */
	assert_string_equal(F.log, "O DC M R L E ");
	/* with HDR_LEADSPC the value goes as it is */
	assert_memory_equal(F.last['L'], "X-A\0 v\0", 7);
	milter_conn_free(mc);
}

static void
t_verdicts(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	STEP('R', 0, 0, "\0\0\0\1r");
	STEP('M', 0, 0, "\0\0\0\1c");
	STEP('T', 0, 0, "\0\0\0\x16" "y550 5.7.1 100%% spam\0");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_REJECT);
	assert_string_equal(g.a.reply, "");
	/* a rejected recipient does not end the transaction */
	F.script['R'][0].bytes = NULL;
	g.done = 0;
	milter_conn_rcpt(mc, "c@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	g.done = 0;
	milter_conn_data(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_REJECT);
	assert_string_equal(g.a.reply, "550 5.7.1 100% spam");
	/* the rest of the transaction is answered without the filter */
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_REJECT);
	assert_true(g.a.local);
	assert_string_equal(g.a.reply, "550 5.7.1 100% spam");
	milter_conn_abort(mc);
	settle();
	assert_string_equal(F.log, "O DC C M R R T A ");
	/* a new transaction: tempfail at MAIL, discard at data */
	STEP('M', 0, 0, "\0\0\0\1t");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_TEMPFAIL);
	STEP('M', 0, 0, "\0\0\0\1c");
	STEP('T', 0, 0, "\0\0\0\1d");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	g.done = 0;
	milter_conn_data(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_DISCARD);
	g.done = 0;
	milter_conn_body(mc, B("x"), on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_DISCARD);
	assert_true(g.a.local);
	settle();
	/* MAIL after the refused one aborted it first */
	assert_string_equal(F.log, "O DC C M R R T A M A M T ");
	milter_conn_free(mc);
}

static void
t_connection_verdict(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	STEP('H', 0, 0, "\0\0\0\1a");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_helo(mc, "h", NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	settle();
	assert_string_equal(F.log, "O DC C H Q ");
	milter_conn_free(mc);
}

static void
t_modifications(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	STEP('E', 0, 0,
	    "\0\0\0\x0c" "hX-Spam\0yes\0"
	    "\0\0\0\x12" "i\0\0\0\0" "X-First\0a\n\tb\0"
	    "\0\0\0\x0e" "m\0\0\0\0" "Subject\0\0"
	    "\0\0\0\x08" "+<n@ex>\0"
	    "\0\0\0\x15" "2<p@ex>\0NOTIFY=NEVER\0");
	STEP('E', 1, 0,
	    "\0\0\0\x08" "-<o@ex>\0"
	    "\0\0\0\x0c" "e<s@ex>\0A=B\0"
	    "\0\0\0\x06" "bnew\r\n"
	    "\0\0\0\x05" "bbody"
	    "\0\0\0\x01" "p"
	    "\0\0\0\x07" "qvirus\0"
	    "\0\0\0\x01" "c");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_QUARANTINE);
	assert_string_equal(g.a.reason, "virus");
	assert_int_equal(g.a.nmods, 7);
	assert_int_equal(g.mods[0].kind, MILTER_MOD_ADDHEADER);
	assert_string_equal(g.mods[0].name, "X-Spam");
	assert_string_equal(g.mods[0].value, " yes");
	assert_int_equal(g.mods[1].kind, MILTER_MOD_INSHEADER);
	assert_int_equal(g.mods[1].index, 0);
	assert_string_equal(g.mods[1].value, " a\r\n\tb");
	assert_int_equal(g.mods[2].kind, MILTER_MOD_CHGHEADER);
	assert_int_equal(g.mods[2].index, 1);
	assert_string_equal(g.mods[2].value, "");
	assert_int_equal(g.mods[3].kind, MILTER_MOD_ADDRCPT);
	assert_string_equal(g.mods[3].addr, "<n@ex>");
	assert_null(g.mods[3].args);
	assert_int_equal(g.mods[4].kind, MILTER_MOD_ADDRCPT);
	assert_string_equal(g.mods[4].args, "NOTIFY=NEVER");
	assert_int_equal(g.mods[5].kind, MILTER_MOD_DELRCPT);
	assert_int_equal(g.mods[6].kind, MILTER_MOD_CHGFROM);
	assert_string_equal(g.mods[6].args, "A=B");
	assert_true(g.a.body_replaced);
	assert_string_equal(g.body, "new\r\nbody");
	got_free(&g);

	/* a value that would end the header block is a failure */
	memset(F.script['E'], 0, sizeof(F.script['E']));
	STEP('E', 0, 0, "\0\0\0\x0b" "hX-A\0a\nB:c\0" "\0\0\0\1c");
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "line break"));
	milter_conn_free(mc);
}

static void
t_mod_limits(void **state)
{
	struct milter_conn *mc = conn(2000, 16);
	struct got g = { 0 };

	(void)state;
	F.actions = 0x1;	/* add headers only */
	STEP('E', 0, 0, "\0\0\0\x0c" "hX-Spam\0yes\0" "\0\0\0\x0c"
	    "hX-Spam\0yes\0" "\0\0\0\1c");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "over 16 octets"));
	milter_conn_free(mc);

	/* an action not negotiated */
	mc = conn(2000, 0);
	memset(F.script['E'], 0, sizeof(F.script['E']));
	STEP('E', 0, 0, "\0\0\0\x08" "+<n@ex>\0" "\0\0\0\1c");
	memset(&g, 0, sizeof(g));
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "not negotiated"));
	milter_conn_free(mc);
}

static void
t_progress_and_timeout(void **state)
{
	struct milter_conn *mc = conn(250, 0);
	struct got g = { 0 };

	(void)state;
	/* 600 ms of work, a progress every 150 ms: within the timeout */
	STEP('E', 0, 150, "\0\0\0\1p");
	STEP('E', 1, 300, "\0\0\0\1p");
	STEP('E', 2, 450, "\0\0\0\1p");
	STEP('E', 3, 600, "\0\0\0\1a");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	assert_true(g.a.elapsed_ms >= 550);
	/* silence: a failure after the timeout, and it stays failed */
	STEP('M', 0, 0, "");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "timeout after 250 ms"));
	assert_true(g.a.elapsed_ms >= 200 && g.a.elapsed_ms < 2000);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_true(g.a.local);
	milter_conn_free(mc);
}

static void
fail_case(const char *reply, size_t len, char close_on, const char *why)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	memset(F.script, 0, sizeof(F.script));
	F.close_on = close_on;
	F.script['M'][0].bytes = reply;
	F.script['M'][0].len = len;
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	if (strstr(g.a.reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", g.a.reason, why);
	milter_conn_free(mc);
	settle();
	F.close_on = 0;
}

static void
t_failures(void **state)
{
	struct milter_conn *mc;
	struct milter_conn_params p = { "none", "inet:127.0.0.1:1", 2000,
	    F.base, 0, 0 };
	struct got g = { 0 };

	(void)state;
	fail_case(B("\0\0\0\1Z"), 0, "malformed");
	fail_case(B("\x7f\xff\xff\xff" "y"), 0, "longer than the limit");
	fail_case(B("\0\0\0\0"), 0, "length 0");
	fail_case(B("\0\0\0\x05y250\0"), 0, "bad SMTP reply code");
	fail_case(B("\0\0\0\x0c" "hX-Spam\0yes\0"), 0, "in reply to mail");
	fail_case(B("\0\0\0\1" "4"), 0, "shuts down");
	fail_case(NULL, 0, 'M', "closed by the filter");
	/* a second reply: this answer stands, the connection is gone */
	mc = conn(2000, 0);
	STEP('M', 0, 0, "\0\0\0\1c" "\0\0\0\1c");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "data from the filter"));
	milter_conn_free(mc);
	memset(&g, 0, sizeof(g));
	/* refused */
	mc = milter_conn_new(&p);
	assert_non_null(mc);
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "connect to inet:127.0.0.1:1"));
	milter_conn_free(mc);
	/* a filter that wants an action we do not offer */
	F.actions = 0x200;
	mc = conn(2000, 0);
	memset(&g, 0, sizeof(g));
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "actions"));
	milter_conn_free(mc);
}

static void
t_free_and_abort_pending(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	STEP('E', 0, 0, "");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	settle();
	milter_conn_free(mc);		/* the callback never runs */
	settle();
	assert_false(g.done);

	mc = conn(2000, 0);
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	milter_conn_abort(mc);		/* a reply in flight: failed */
	settle();
	assert_false(g.done);
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	milter_conn_free(mc);
}

static void
t_macro_lists(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };
	static const char lists[] = "\0\0\0\0" "{client_addr}\0";

	(void)state;
	F.lists = lists;
	F.listslen = sizeof(lists) - 1;
	do_connect(mc, &g, "h");
	assert_int_equal(F.lastlen['D'], 1 + 14 + 10);
	assert_memory_equal(F.last['D'], "C{client_addr}\0" "192.0.2.7\0", 25);
	milter_conn_free(mc);
}

static void
t_parse_socket(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(milter_conn_parse_socket("inet:127.0.0.1:11332", &ss,
	    &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(milter_conn_parse_socket("inet:[::1]:11332", &ss,
	    &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(milter_conn_parse_socket("inet:::1:25", &ss, &len),
	    0);
	assert_int_equal(milter_conn_parse_socket("unix:/run/x.sock", &ss,
	    &len), 0);
	assert_int_equal(ss.ss_family, AF_UNIX);
	assert_int_equal(milter_conn_parse_socket("inet:localhost:25", &ss,
	    &len), -1);
	assert_int_equal(milter_conn_parse_socket("inet:127.0.0.1:0", &ss,
	    &len), -1);
	assert_int_equal(milter_conn_parse_socket("inet:127.0.0.1:65536",
	    &ss, &len), -1);
	assert_int_equal(milter_conn_parse_socket("inet:127.0.0.1", &ss,
	    &len), -1);
	assert_int_equal(milter_conn_parse_socket("unix:", &ss, &len), -1);
	assert_int_equal(milter_conn_parse_socket("tcp:1.2.3.4:5", &ss, &len),
	    -1);
	assert_string_equal(milter_verdict_name(MILTER_QUARANTINE),
	    "quarantine");
}

static void
t_connect_families(void **state)
{
	struct milter_conn *mc;
	struct got g = { 0 };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
	    .sin6_port = htons(25) };

	(void)state;
	inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr);
	mc = conn(2000, 0);
	milter_conn_connect(mc, NULL, (struct sockaddr *)&s6, NULL, on_answer,
	    &g);
	wait_answer(&g);
	assert_memory_equal(F.last['C'], "[2001:db8::7]\0" "6" "\0\x19"
	    "2001:db8::7\0", 29);
	milter_conn_free(mc);
	settle();
	/* an IPv4 client on a dual-stack listener is an IPv4 client */
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &s6.sin6_addr);
	mc = conn(2000, 0);
	memset(&g, 0, sizeof(g));
	milter_conn_connect(mc, "c.example", (struct sockaddr *)&s6, NULL,
	    on_answer, &g);
	wait_answer(&g);
	assert_memory_equal(F.last['C'], "c.example\0" "4" "\0\x19"
	    "192.0.2.9\0", 23);
	milter_conn_free(mc);
	settle();
	mc = conn(2000, 0);
	memset(&g, 0, sizeof(g));
	milter_conn_connect(mc, NULL, NULL, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(F.lastlen['C'], 9);
	assert_memory_equal(F.last['C'], "unknown\0" "U", 9);
	milter_conn_free(mc);
}

static void
t_connect_reject_and_old_filter(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	/* a reply code at connect holds for the connection */
	STEP('C', 0, 0, "\0\0\0\x1a" "y421 4.7.0 go away\r\n421 x\0");
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_TEMPFAIL);
	assert_string_equal(g.a.reply, "421 4.7.0 go away\r\n421 x");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_TEMPFAIL);
	assert_true(g.a.local);
	assert_string_equal(g.a.reply, "421 4.7.0 go away\r\n421 x");
	milter_conn_free(mc);
	settle();

	/* a version 2 filter is not sent DATA; DISCARD at connect is
	 * nothing; SKIP ends the body */
	F.version = 2;
	memset(F.script, 0, sizeof(F.script));
	STEP('C', 0, 0, "\0\0\0\1d");
	STEP('B', 0, 0, "\0\0\0\1s");
	F.log[0] = '\0';
	mc = conn(2000, 0);
	memset(&g, 0, sizeof(g));
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_data(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_body(mc, B("a\r\n"), on_answer, &g);
	wait_answer(&g);
	assert_false(g.a.local);
	g.done = 0;
	milter_conn_body(mc, B("b\r\n"), on_answer, &g);
	wait_answer(&g);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	assert_string_equal(F.log, "O DC C M B E ");
	milter_conn_free(mc);
}

static void
t_long_reply(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };
	static char pkt[4 + 1 + 3000 + 1];
	size_t n = 0, i;

	(void)state;
	/* 30 lines of 98 octets: only whole lines are kept, the last one
	 * made final */
	n = 5;
	for (i = 0; i < 30; i++) {
		n += (size_t)snprintf(pkt + n, sizeof(pkt) - n, "550-5.7.1 %086u",
		    (unsigned)i);
		memcpy(pkt + n, i < 29 ? "\r\n" : "\0", i < 29 ? 2 : 1);
		n += i < 29 ? 2 : 1;
	}
	pkt[0] = 0;
	pkt[1] = 0;
	pkt[2] = (char)((n - 4) >> 8);
	pkt[3] = (char)(n - 4);
	pkt[4] = 'y';
	F.script['M'][0].bytes = pkt;
	F.script['M'][0].len = n;
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_REJECT);
	assert_true(strlen(g.a.reply) < MILTER_REPLY_TEXT_MAX);
	assert_int_equal(strlen(g.a.reply) % 98, 96);
	assert_memory_equal(g.a.reply + strlen(g.a.reply) - 96, "550 5.7.1 ",
	    10);
	assert_null(strstr(g.a.reply + strlen(g.a.reply) - 96, "\r"));
	milter_conn_free(mc);
}

static void
t_noreply_output_bounded(void **state)
{
	struct milter_conn *mc = conn(300, 0);
	struct got g = { 0 };
	static char chunk[MILTER_CHUNK_MAX];
	int i;

	(void)state;
	/* no reply to body chunks, and a filter that stops reading: the
	 * unsent output stays bounded, then the wait times out */
	F.protocol = 0x80000;
	memset(chunk, 'x', sizeof(chunk));
	do_connect(mc, &g, "h");
	bufferevent_disable(F.bev, EV_READ);
	for (i = 0; i < 2000; i++) {
		g.done = 0;
		milter_conn_body(mc, chunk, sizeof(chunk), on_answer, &g);
		wait_answer(&g);
		if (g.a.verdict != MILTER_CONTINUE)
			break;
	}
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "sending body"));
	milter_conn_free(mc);
}

static void
t_offer_fewer_actions(void **state)
{
	char sock[64];
	struct milter_conn_params p = { "fake", sock, 2000, F.base, 0,
	    MILTER_F_ADDHDRS | MILTER_F_CHGHDRS };
	struct milter_conn *mc;
	struct got g = { 0 };

	(void)state;
	snprintf(sock, sizeof(sock), "inet:127.0.0.1:%d", F.port);
	/* the filter wants every action: refused */
	mc = milter_conn_new(&p);
	do_connect(mc, &g, "h");
	assert_memory_equal(F.last['O'] + 4, "\0\0\0\x11", 4);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	milter_conn_free(mc);
	settle();
	/* it wants what is offered */
	F.actions = MILTER_F_CHGHDRS;
	mc = milter_conn_new(&p);
	memset(&g, 0, sizeof(g));
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	milter_conn_free(mc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_whole_transaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_skips_and_noreply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(t_connection_verdict, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_modifications, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_mod_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(t_progress_and_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(t_free_and_abort_pending,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_macro_lists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_connect_families, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_connect_reject_and_old_filter,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_long_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(t_noreply_output_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_offer_fewer_actions, setup,
		    teardown),
		cmocka_unit_test(t_parse_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
