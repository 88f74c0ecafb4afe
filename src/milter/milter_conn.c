/*
 * milter_conn — the socket, the negotiation and the stages of one milter
 * connection; see milter_conn.h and docs/milter.md.  The replies of a
 * stage are taken apart in milter_conn_reply.c.
 *
 * Every answer is delivered from the `defer` event, so a callback never
 * runs inside the call that started its stage, and nothing of the
 * connection is touched after a callback returns (it may free it).  One
 * timer bounds every wait: the connect, the negotiation, a reply (started
 * again by SMFIR_PROGRESS), and the output draining after a stage that
 * has no reply.  Reading stops past one packet's bound
 * (MILTER_PACKET_MAX), and a length over it fails before a byte of the
 * packet is kept.
 */
#include "milter_conn.h"
#include "log.h"
#include "milter_conn_priv.h"
#include "xmalloc.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* the commands we encode at once: a header block's field with its
 * macros, or a body chunk */
#define OUT_MAX		(2 * 1024 * 1024)
#define OFFER_PROTOCOL	(MILTER_P_NOCONNECT | MILTER_P_NOHELO | \
	MILTER_P_NOMAIL | MILTER_P_NORCPT | MILTER_P_NOBODY | \
	MILTER_P_NOHDRS | MILTER_P_NOEOH | MILTER_P_NR_HDR | \
	MILTER_P_NOUNKNOWN | MILTER_P_NODATA | MILTER_P_SKIP | \
	MILTER_P_NR_CONN | MILTER_P_NR_HELO | MILTER_P_NR_MAIL | \
	MILTER_P_NR_RCPT | MILTER_P_NR_DATA | MILTER_P_NR_UNKN | \
	MILTER_P_NR_EOH | MILTER_P_NR_BODY | MILTER_P_HDR_LEADSPC)

const char *const milter_conn_stage_names[] = {
	"connect", "helo", "mail", "rcpt", "data", "header", "eoh", "body",
	"eom", "unknown",
};

/* Per stage: its command, the steps that skip it or its reply, its
 * macro class (-1: none), the lowest filter version that knows it. */
static const struct {
	char		cmd;
	uint32_t	skip, noreply;
	int		mclass;
	uint32_t	version;
} stages[] = {
	[MS_CONNECT] = { MILTER_C_CONNECT, MILTER_P_NOCONNECT,
	    MILTER_P_NR_CONN, MILTER_M_CONNECT, 2 },
	[MS_HELO] = { MILTER_C_HELO, MILTER_P_NOHELO, MILTER_P_NR_HELO,
	    MILTER_M_HELO, 2 },
	[MS_MAIL] = { MILTER_C_MAIL, MILTER_P_NOMAIL, MILTER_P_NR_MAIL,
	    MILTER_M_ENVFROM, 2 },
	[MS_RCPT] = { MILTER_C_RCPT, MILTER_P_NORCPT, MILTER_P_NR_RCPT,
	    MILTER_M_ENVRCPT, 2 },
	[MS_DATA] = { MILTER_C_DATA, MILTER_P_NODATA, MILTER_P_NR_DATA,
	    MILTER_M_DATA, 4 },
	[MS_HEADER] = { MILTER_C_HEADER, MILTER_P_NOHDRS, MILTER_P_NR_HDR,
	    -1, 2 },
	[MS_EOH] = { MILTER_C_EOH, MILTER_P_NOEOH, MILTER_P_NR_EOH,
	    MILTER_M_EOH, 2 },
	[MS_BODY] = { MILTER_C_BODY, MILTER_P_NOBODY, MILTER_P_NR_BODY,
	    -1, 2 },
	[MS_EOM] = { MILTER_C_BODYEOB, 0, 0, MILTER_M_EOM, 2 },
	[MS_UNKNOWN] = { MILTER_C_UNKNOWN, MILTER_P_NOUNKNOWN,
	    MILTER_P_NR_UNKN, -1, 3 },
};

char
milter_conn_stage_cmd(enum milter_conn_stage st)
{
	return stages[st].cmd;
}

static void	read_cb(struct bufferevent *, void *);
static void	write_cb(struct bufferevent *, void *);
static void	event_cb(struct bufferevent *, short, void *);

const char *
milter_verdict_name(enum milter_verdict v)
{
	static const char *const n[] = { "continue", "accept", "reject",
	    "tempfail", "discard", "quarantine", "failed" };

	return (unsigned)v < sizeof(n) / sizeof(n[0]) ? n[v] : "unknown";
}

int
milter_conn_parse_socket(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	char host[64];
	const char *p, *colon;
	char *end;
	unsigned long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(spec, "unix:", 5) == 0) {
		p = spec + 5;
		if (*p == '\0' || strlen(p) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, p, strlen(p) + 1);
		*len = sizeof(*sun);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) != 0)
		return -1;
	p = spec + 5;
	if ((colon = strrchr(p, ':')) == NULL || colon[1] == '\0')
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port == 0 || port > 65535 ||
	    colon[1] < '0' || colon[1] > '9')
		return -1;
	hl = (size_t)(colon - p);
	if (hl >= 2 && p[0] == '[' && p[hl - 1] == ']') {
		p++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static void
defer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	milter_conn_finish(arg);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct milter_conn *mc = arg;
	static const char *const what_s[] = {
		[MC_CONNECTING] = "connecting",
		[MC_NEGOTIATING] = "negotiating",
	};

	(void)fd;
	(void)what;
	if (mc->state == MC_CONNECTING || mc->state == MC_NEGOTIATING)
		milter_conn_fail(mc, "timeout after %u ms %s", mc->timeout_ms,
		    what_s[mc->state]);
	else if (mc->draining)
		milter_conn_fail(mc, "timeout after %u ms sending %s",
		    mc->timeout_ms, milter_conn_stage_names[mc->stage]);
	else
		milter_conn_fail(mc, "timeout after %u ms waiting for the "
		    "reply to %s", mc->timeout_ms,
		    milter_conn_stage_names[mc->stage]);
}

struct milter_conn *
milter_conn_new(const struct milter_conn_params *p)
{
	struct milter_conn *mc;

	mc = xcalloc(1, sizeof(*mc));
	if (milter_conn_parse_socket(p->socket, &mc->ss, &mc->sslen) == -1) {
		free(mc);
		return NULL;
	}
	mc->name = xstrdup(p->name != NULL ? p->name : p->socket);
	mc->socket = xstrdup(p->socket);
	mc->timeout_ms = p->timeout_ms ? p->timeout_ms : MILTER_TIMEOUT_DEFAULT;
	mc->mods_bytes_max = p->mods_bytes_max ? p->mods_bytes_max :
	    MILTER_MODS_BYTES_DEFAULT;
	mc->base = p->base;
	mc->offer = p->actions ? p->actions & MILTER_ACTIONS_ALL :
	    MILTER_ACTIONS_ALL;
	mc->timer = evtimer_new(mc->base, timer_cb, mc);
	mc->defer = event_new(mc->base, -1, 0, defer_cb, mc);
	if (mc->timer == NULL || mc->defer == NULL)
		abort();
	buf_init(&mc->out, OUT_MAX);
	buf_init(&mc->body, mc->mods_bytes_max);
	mc->conn_verdict = mc->tx_verdict = MILTER_CONTINUE;
	return mc;
}

static void
connect_args_free(struct milter_conn *mc)
{
	size_t i;

	free(mc->c_host);
	mc->c_host = NULL;
	for (i = 0; mc->c_macros != NULL && mc->c_macros[i].name != NULL;
	    i++) {
		free((char *)mc->c_macros[i].name);
		free((char *)mc->c_macros[i].value);
	}
	free(mc->c_macros);
	mc->c_macros = NULL;
}

void
milter_conn_close(struct milter_conn *mc, int quit)
{
	if (mc->bev == NULL)
		return;
	/* a last, best-effort QUIT, when nothing else is unsent: the
	 * socket is non-blocking and the packet is 5 octets */
	if (quit && mc->state == MC_READY && !mc->waiting &&
	    evbuffer_get_length(bufferevent_get_output(mc->bev)) == 0) {
		static const unsigned char q[5] = { 0, 0, 0, 1, MILTER_C_QUIT };

		(void)send(bufferevent_getfd(mc->bev), q, sizeof(q),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	bufferevent_free(mc->bev);
	mc->bev = NULL;
}

void
milter_conn_free(struct milter_conn *mc)
{
	size_t i;

	if (mc == NULL)
		return;
	milter_conn_close(mc, 1);
	event_free(mc->timer);
	event_free(mc->defer);
	buf_free(&mc->out);
	buf_free(&mc->body);
	milter_conn_mods_free(mc);
	connect_args_free(mc);
	for (i = 0; i < MILTER_M_CLASSES; i++)
		free(mc->symlist[i]);
	free(mc->name);
	free(mc->socket);
	free(mc);
}

void
milter_conn_arm(struct milter_conn *mc)
{
	struct timeval tv = { (time_t)(mc->timeout_ms / 1000),
	    (suseconds_t)(mc->timeout_ms % 1000) * 1000 };

	evtimer_add(mc->timer, &tv);
}

/* The answer is final: deliver it on the next loop turn. */
static void
answer(struct milter_conn *mc)
{
	mc->waiting = mc->draining = 0;
	mc->answered = 1;
	evtimer_del(mc->timer);
	event_active(mc->defer, EV_TIMEOUT, 1);
}

void
milter_conn_answer_local(struct milter_conn *mc, enum milter_verdict v, const char *reply)
{
	mc->ans.verdict = v;
	mc->ans.local = 1;
	snprintf(mc->ans.reply, sizeof(mc->ans.reply), "%s", reply);
	answer(mc);
}

void
milter_conn_finish(struct milter_conn *mc)
{
	struct timespec now;
	milter_cb cb = mc->cb;
	void *arg = mc->cbarg;
	long ms;

	if (!mc->busy || !mc->answered)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(now.tv_sec - mc->t0.tv_sec) * 1000 +
	    (now.tv_nsec - mc->t0.tv_nsec) / 1000000;
	mc->ans.elapsed_ms = ms > 0 ? (unsigned)ms : 0;
	mc->busy = mc->answered = 0;
	mc->cb = NULL;
	if (cb != NULL)
		cb(arg, &mc->ans);	/* may free mc: nothing after this */
}

void
milter_conn_fail(struct milter_conn *mc, const char *fmt, ...)
{
	va_list ap;

	if (mc->state != MC_FAILED) {
		va_start(ap, fmt);
		vsnprintf(mc->failure, sizeof(mc->failure), fmt, ap);
		va_end(ap);
		milter_conn_close(mc, 0);
		mc->state = MC_FAILED;
	}
	evtimer_del(mc->timer);
	mc->waiting = mc->draining = 0;
	/* an answer already settled stands; the connection is gone after */
	if (mc->busy && !mc->answered) {
		mc->ans.verdict = MILTER_FAILED;
		mc->ans.local = 0;
		mc->ans.nmods = 0;
		mc->ans.body_replaced = 0;
		snprintf(mc->ans.reason, sizeof(mc->ans.reason), "%s",
		    mc->failure);
		answer(mc);
	}
}

int
milter_conn_begin(struct milter_conn *mc, enum milter_conn_stage st, milter_cb cb,
    void *arg)
{
	int tx = st >= MS_MAIL && st <= MS_EOM;

	if (mc->busy) {
		/* the contract is one stage at a time: a broken invariant */
		fatalx("milter %s: %s while %s is in progress", mc->name,
		    milter_conn_stage_names[st],
		    milter_conn_stage_names[mc->stage]);
	}
	memset(&mc->ans, 0, sizeof(mc->ans));
	mc->busy = 1;
	mc->answered = 0;
	mc->stage = st;
	mc->cb = cb;
	mc->cbarg = arg;
	mc->progress = 0;
	mc->ans.stage = milter_conn_stage_names[st];
	clock_gettime(CLOCK_MONOTONIC, &mc->t0);
	if (mc->state == MC_FAILED) {
		mc->ans.verdict = MILTER_FAILED;
		mc->ans.local = 1;
		snprintf(mc->ans.reason, sizeof(mc->ans.reason), "%s",
		    mc->failure);
		answer(mc);
		return 1;
	}
	if (mc->state == MC_DONE) {
		milter_conn_answer_local(mc, mc->conn_verdict, mc->conn_reply);
		return 1;
	}
	if (mc->state == MC_NEW && st != MS_CONNECT) {
		milter_conn_fail(mc, "%s before connect",
		    milter_conn_stage_names[st]);
		return 1;
	}
	if (tx && mc->tx_verdict != MILTER_CONTINUE) {
		milter_conn_answer_local(mc, mc->tx_verdict, mc->tx_reply);
		return 1;
	}
	return 0;
}

static int
in_list(const char *list, const char *name)
{
	size_t nl = strlen(name), l;
	const char *p = list;

	if (nl > 2 && name[0] == '{' && name[nl - 1] == '}') {
		name++;
		nl -= 2;
	}
	while (*p != '\0') {
		p += strspn(p, " ,\t");
		l = strcspn(p, " ,\t");
		if (l > 2 && p[0] == '{' && p[l - 1] == '}') {
			if (l - 2 == nl && memcmp(p + 1, name, nl) == 0)
				return 1;
		} else if (l > 0 && l == nl && memcmp(p, name, nl) == 0)
			return 1;
		p += l;
	}
	return 0;
}

/* SMFIC_MACRO with the macros the filter wants, if any: 0 or -1. */
static int
put_macros(struct milter_conn *mc, int mclass, char cmd,
    const struct milter_macro *m)
{
	struct milter_macro *sel;
	size_t n = 0, k = 0, i;
	int rc;

	for (i = 0; m != NULL && m[i].name != NULL; i++)
		n++;
	if (mclass < 0 || n == 0)
		return 0;
	if (mc->symlist[mclass] == NULL)
		return milter_proto_macro(&mc->out, cmd, m);
	sel = xcalloc(n + 1, sizeof(*sel));
	for (i = 0; i < n; i++)
		if (in_list(mc->symlist[mclass], m[i].name))
			sel[k++] = m[i];
	rc = k > 0 ? milter_proto_macro(&mc->out, cmd, sel) : 0;
	free(sel);
	return rc;
}

/*
 * After the stage's command (or nothing) is in mc->out: send it, then
 * wait for the reply, or answer CONTINUE when there is none to wait for
 * (once the output is below MILTER_OUTPUT_MAX).
 */
static void
send_out(struct milter_conn *mc, int wait)
{
	struct evbuffer *o;

	if (mc->out.len > 0 &&
	    bufferevent_write(mc->bev, mc->out.p, mc->out.len) == -1) {
		buf_reset(&mc->out);
		milter_conn_fail(mc, "cannot queue the %s command",
		    milter_conn_stage_names[mc->stage]);
		return;
	}
	buf_reset(&mc->out);
	if (wait) {
		mc->waiting = 1;
		milter_conn_arm(mc);
		return;
	}
	o = bufferevent_get_output(mc->bev);
	if (evbuffer_get_length(o) > MILTER_OUTPUT_MAX) {
		mc->draining = 1;
		milter_conn_arm(mc);
		return;
	}
	mc->ans.verdict = MILTER_CONTINUE;
	mc->ans.local = 1;
	answer(mc);
}

void
milter_conn_run(struct milter_conn *mc, const struct milter_macro *macros,
    milter_conn_encode_fn enc, const void *ctx)
{
	enum milter_conn_stage st = mc->stage;
	int skip, tx = st >= MS_MAIL && st <= MS_EOM;

	if (mc->version < stages[st].version) {
		/* a step the filter's version does not know (Postfix
		 * does the same): neither macros nor command */
		milter_conn_answer_local(mc, MILTER_CONTINUE, "");
		return;
	}
	skip = (mc->protocol & stages[st].skip) != 0 ||
	    (st == MS_BODY && mc->skip_body);
	/* the macros go even when the step is skipped, so that a later
	 * step's macros can be read (Postfix does so too) */
	if (put_macros(mc, stages[st].mclass, stages[st].cmd, macros) == -1 ||
	    (!skip && enc(mc, ctx) == -1)) {
		buf_reset(&mc->out);
		milter_conn_fail(mc, "%s command over the limit",
		    milter_conn_stage_names[st]);
		return;
	}
	if (tx && mc->out.len > 0)
		mc->tx_open = 1;
	send_out(mc, !skip && (mc->protocol & stages[st].noreply) == 0);
}

/* ---- connect and negotiation ---- */

static void
open_socket(struct milter_conn *mc)
{
	mc->bev = bufferevent_socket_new(mc->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (mc->bev == NULL) {
		milter_conn_fail(mc, "cannot make a socket: %s",
		    strerror(errno));
		return;
	}
	bufferevent_setcb(mc->bev, read_cb, write_cb, event_cb, mc);
	/* a packet's bound, then reading waits */
	bufferevent_setwatermark(mc->bev, EV_READ, 0, MILTER_PACKET_MAX + 8);
	bufferevent_setwatermark(mc->bev, EV_WRITE, MILTER_OUTPUT_MAX / 2, 0);
	bufferevent_enable(mc->bev, EV_READ | EV_WRITE);
	mc->state = MC_CONNECTING;
	milter_conn_arm(mc);
	if (bufferevent_socket_connect(mc->bev, (struct sockaddr *)&mc->ss,
	    (int)mc->sslen) == -1)
		milter_conn_fail(mc, "connect to %s: %s", mc->socket,
		    strerror(errno));
}

static int
enc_connect(struct milter_conn *mc, const void *ctx)
{
	const struct sockaddr *sa = ctx;
	char addr[INET6_ADDRSTRLEN + 8], host[INET6_ADDRSTRLEN + 16];
	const char *name = mc->c_host;
	char fam = MILTER_A_UNKNOWN;
	uint16_t port = 0;
	const char *a = NULL;

	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		inet_ntop(AF_INET, &s->sin_addr, addr, sizeof(addr));
		fam = MILTER_A_INET;
		port = ntohs(s->sin_port);
		a = addr;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		/* a dual-stack listener's IPv4 client is an IPv4 client */
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
			inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], addr,
			    sizeof(addr));
			fam = MILTER_A_INET;
		} else {
			inet_ntop(AF_INET6, &s->sin6_addr, addr, sizeof(addr));
			fam = MILTER_A_INET6;
		}
		port = ntohs(s->sin6_port);
		a = addr;
	} else if (sa != NULL && sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *s = (const void *)sa;

		fam = MILTER_A_UNIX;
		a = s->sun_path;
	}
	if (name == NULL) {
		/* Sendmail's form for a client without a verified name */
		if (fam == MILTER_A_INET || fam == MILTER_A_INET6) {
			snprintf(host, sizeof(host), "[%s]", addr);
			name = host;
		} else
			name = fam == MILTER_A_UNIX ? "localhost" : "unknown";
	}
	return milter_proto_connect(&mc->out, name, fam, port, a);
}

void
milter_conn_send_connect(struct milter_conn *mc)
{
	milter_conn_run(mc, mc->c_macros, enc_connect,
	    mc->c_has_client ? (const void *)&mc->c_client : NULL);
	connect_args_free(mc);
}

void
milter_conn_connect(struct milter_conn *mc, const char *hostname,
    const struct sockaddr *client, const struct milter_macro *macros,
    milter_cb cb, void *arg)
{
	size_t n = 0, i;

	if (milter_conn_begin(mc, MS_CONNECT, cb, arg))
		return;
	connect_args_free(mc);
	mc->c_host = hostname != NULL ? xstrdup(hostname) : NULL;
	mc->c_has_client = 0;
	if (client != NULL && (client->sa_family == AF_INET ||
	    client->sa_family == AF_INET6 || client->sa_family == AF_UNIX)) {
		size_t sl = client->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : client->sa_family ==
		    AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_un);

		memset(&mc->c_client, 0, sizeof(mc->c_client));
		memcpy(&mc->c_client, client, sl);
		/* sun_path ends inside the struct, whatever we were given */
		if (client->sa_family == AF_UNIX)
			((struct sockaddr_un *)&mc->c_client)->sun_path[
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1] =
			    '\0';
		mc->c_has_client = 1;
	}
	for (i = 0; macros != NULL && macros[i].name != NULL; i++)
		n++;
	mc->c_macros = xcalloc(n + 1, sizeof(*mc->c_macros));
	for (i = 0; i < n; i++) {
		mc->c_macros[i].name = xstrdup(macros[i].name);
		mc->c_macros[i].value = xstrdup(macros[i].value ?
		    macros[i].value : "");
	}
	if (mc->state == MC_NEW)
		open_socket(mc);	/* the stage goes on once negotiated */
	else
		milter_conn_send_connect(mc);
}

static void
negotiate(struct milter_conn *mc)
{
	mc->state = MC_NEGOTIATING;
	if (milter_proto_optneg(&mc->out, MILTER_VERSION, mc->offer,
	    OFFER_PROTOCOL) == -1 ||
	    bufferevent_write(mc->bev, mc->out.p, mc->out.len) == -1) {
		buf_reset(&mc->out);
		milter_conn_fail(mc, "cannot queue the negotiation");
		return;
	}
	buf_reset(&mc->out);
	milter_conn_arm(mc);
}

/* ---- socket events ---- */

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct milter_conn *mc = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		/* Each stage is a small request awaiting a small reply:
		 * without TCP_NODELAY a command waits for the ACK of the last
		 * (Nagle against the filter's delayed ACK: 40 ms stalls,
		 * docs/milter-testing.md). */
		if (mc->ss.ss_family != AF_UNIX)
			(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
			    TCP_NODELAY, &one, sizeof(one));
		negotiate(mc);
		return;
	}
	if (mc->state == MC_CONNECTING)
		milter_conn_fail(mc, "connect to %s: %s", mc->socket,
		    err ? strerror(err) : "failed");
	else if (what & BEV_EVENT_EOF)
		milter_conn_fail(mc, "connection closed by the filter");
	else
		milter_conn_fail(mc, "connection error: %s",
		    err ? strerror(err) : "unknown");
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct milter_conn *mc = arg;

	(void)bev;
	if (!mc->draining)
		return;
	mc->ans.verdict = MILTER_CONTINUE;
	mc->ans.local = 1;
	answer(mc);
}

/* One framed packet: 0 go on reading, 1 stop. */
static int
packet(struct milter_conn *mc, const unsigned char *p, size_t len)
{
	struct milter_reply r;
	const char *why = NULL;
	int rc;

	if (milter_proto_decode(p, len, &r, &why) == -1) {
		milter_conn_fail(mc, "malformed %s reply: %s",
		    milter_proto_reply_name(p[0]), why);
		return 1;
	}
	if (mc->state == MC_NEGOTIATING) {
		if (milter_conn_negotiated(mc, &r) == -1)
			return 1;
		mc->state = MC_READY;
		evtimer_del(mc->timer);
		milter_conn_send_connect(mc);
		return mc->state == MC_FAILED;
	}
	rc = milter_conn_reply(mc, &r);
	if (rc == 1)
		answer(mc);
	return rc != 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct milter_conn *mc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned char hdr[4];
	const unsigned char *p;
	const char *why = NULL;
	size_t len, total;
	enum milter_proto_status st;
	int one = 1;

	/* Acknowledge the filter's packets at once: libmilter writes a
	 * reply in pieces, and a delayed ACK holds the next piece back
	 * (40 ms a stage; quick-ack mode lasts only a while, so again at
	 * every read). */
	if (mc->ss.ss_family != AF_UNIX)
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
		    TCP_QUICKACK, &one, sizeof(one));
	while ((len = evbuffer_get_length(in)) > 0) {
		if (!mc->waiting && mc->state != MC_NEGOTIATING) {
			milter_conn_fail(mc, "data from the filter when no "
			    "reply was due");
			return;
		}
		if (evbuffer_copyout(in, hdr, len < 4 ? len : 4) < 0)
			return;
		/* the framer reads the length field only */
		st = milter_proto_frame(hdr, len, MILTER_PACKET_MAX, &total,
		    &why);
		if (st == MILTER_PROTO_MORE)
			return;
		if (st == MILTER_PROTO_BAD) {
			milter_conn_fail(mc, "bad packet: %s", why);
			return;
		}
		p = evbuffer_pullup(in, (ssize_t)total);
		if (p == NULL) {
			milter_conn_fail(mc, "cannot read a packet");
			return;
		}
		if (packet(mc, p + 4, total - 4)) {
			/* a final answer: what follows it is not due */
			if (mc->bev != NULL) {
				evbuffer_drain(in, total);
				if (evbuffer_get_length(in) > 0)
					milter_conn_fail(mc, "data from the "
					    "filter after its reply");
			}
			return;
		}
		evbuffer_drain(in, total);
	}
}

