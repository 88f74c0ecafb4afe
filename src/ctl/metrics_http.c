/*
 * metrics_http — the Prometheus endpoint (`metrics ADDRESS:PORT`): a
 * minimal HTTP/1.1 server for one request per connection; see metrics.h.
 *
 * Bounded in every way an unauthenticated peer could push on: at most
 * METRICS_CONN_MAX connections at once (past it a new connection is closed
 * as soon as it is accepted), a request head of at most METRICS_HEAD_MAX
 * bytes (past it: 431 and close), METRICS_TIMEOUT seconds for each read
 * and write and METRICS_LIFETIME for the whole connection (then it is
 * closed).  The head is parsed
 * by metrics_http_parse(), a pure function; the answer is 200 with the
 * exposition text for GET /metrics, 404 for another path, 405 for another
 * method, 400 for anything else, always with "Connection: close".  After
 * the reply, what the peer still sends is read and dropped (up to
 * METRICS_DRAIN_MAX bytes, within the timeout) so that closing does not
 * reset the connection before the peer has read the reply.  Loop thread
 * only.
 */
#include "metrics.h"
#include "log.h"
#include "netaddr.h"
#include "xmalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#define METRICS_DRAIN_MAX	(4 * 1024 * 1024)

struct mconn {
	LIST_ENTRY(mconn)	 entry;
	struct metrics		*m;
	struct bufferevent	*bev;
	struct event		*deadline;	/* METRICS_LIFETIME */
	int			 replied;	/* then draining */
	int			 peer_done;	/* EOF: free once written */
	size_t			 drained;
};

struct metrics {
	struct evconnlistener		*lev;
	const struct control_env	*env;
	LIST_HEAD(, mconn)		 conns;
	size_t				 nconns;
	unsigned long			 refused;
};

/* ---- the request head (pure) ---- */

int
metrics_http_parse(const char *head, size_t len)
{
	const char *sp1, *sp2, *eol, *path;
	size_t plen;

	if ((eol = memchr(head, '\n', len)) == NULL)
		return 400;
	if (eol > head && eol[-1] == '\r')
		eol--;
	if ((sp1 = memchr(head, ' ', (size_t)(eol - head))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL)
		return 400;
	if ((size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return 400;
	if (sp1 - head != 3 || memcmp(head, "GET", 3) != 0)
		return 405;
	path = sp1 + 1;
	plen = (size_t)(sp2 - path);
	if ((plen == 8 || (plen > 8 && path[8] == '?')) &&
	    memcmp(path, "/metrics", 8) == 0)
		return 200;
	return 404;
}

/* ---- connections ---- */

static void
conn_free(struct mconn *c)
{
	LIST_REMOVE(c, entry);
	c->m->nconns--;
	bufferevent_free(c->bev);
	if (c->deadline)
		event_free(c->deadline);
	free(c);
}

static void
reply(struct mconn *c, int code)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *reason, *ctype = "text/plain; charset=utf-8";
	char *text = NULL;
	size_t len = 0;

	switch (code) {
	case 200:
		reason = "OK";
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		text = metrics_text(c->m->env, &len);
		break;
	case 404:
		reason = "Not Found";
		break;
	case 405:
		reason = "Method Not Allowed";
		break;
	case 431:
		reason = "Request Header Fields Too Large";
		break;
	default:
		reason = "Bad Request";
		break;
	}
	if (text == NULL) {
		text = xasprintf("%d %s%s\n", code, reason,
		    code == 404 ? ": try /metrics" : "");
		len = strlen(text);
	}
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", code, reason,
	    ctype, len, code == 405 ? "Allow: GET\r\n" : "");
	evbuffer_add(out, text, len);
	free(text);
	c->replied = 1;
}

/* What the peer sends after the reply is dropped (bounded). */
static void
drain(struct mconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);

	c->drained += n;
	evbuffer_drain(in, n);
	if (c->drained > METRICS_DRAIN_MAX)
		conn_free(c);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct mconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	size_t len = evbuffer_get_length(in), hl = 0;
	unsigned char *head;

	if (c->replied) {
		drain(c);
		return;
	}
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos != -1)
		hl = (size_t)end.pos + 2;	/* the last line's end kept */
	else if ((end = evbuffer_search(in, "\n\n", 2, NULL)).pos != -1)
		hl = (size_t)end.pos + 1;
	if (end.pos == -1 && len <= METRICS_HEAD_MAX)
		return;		/* more to come, within the timeout */
	if (end.pos == -1 || hl > METRICS_HEAD_MAX)
		reply(c, 431);
	else {
		head = evbuffer_pullup(in, (ev_ssize_t)hl);
		reply(c, metrics_http_parse((const char *)head, hl));
	}
	drain(c);
}

/* The reply is out: no more writing; reading goes on until the peer
 * closes (or the timeout, or METRICS_DRAIN_MAX), unless it already did. */
static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct mconn *c = arg;

	if (!c->replied ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (c->peer_done)
		conn_free(c);
	else
		shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mconn *c = arg;

	/* A peer that closed its side after the request still gets the
	 * reply; errors and timeouts end the connection. */
	if ((what & BEV_EVENT_EOF) && c->replied &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		c->peer_done = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_free(c);
}

static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	conn_free(arg);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct metrics *m = arg;
	struct timeval tv = { METRICS_TIMEOUT, 0 };
	struct timeval life = { METRICS_LIFETIME, 0 };
	struct mconn *c;

	(void)sa;
	(void)salen;
	if (m->nconns >= METRICS_CONN_MAX) {
		if (m->refused++ == 0)
			log_warnx("metrics: %d connections open, closing new "
			    "ones (logged once)", METRICS_CONN_MAX);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->m = m;
	if ((c->bev = bufferevent_socket_new(evconnlistener_get_base(lev),
	    fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&m->conns, c, entry);
	m->nconns++;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	/* Read in slices: a head past the limit is seen at once. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, METRICS_HEAD_MAX + 1);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->deadline = evtimer_new(evconnlistener_get_base(lev), deadline_cb,
	    c);
	evtimer_add(c->deadline, &life);
}

struct metrics *
metrics_new(struct event_base *base, const struct control_env *env,
    const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct metrics *m;
	evutil_socket_t fd;
	int one = 1;

	if (netaddr_parse_hostport(addr, 0, &ss, &sslen) == -1) {
		snprintf(err, errlen, "metrics: bad address %s", addr);
		return NULL;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		snprintf(err, errlen, "metrics: socket: %s", strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, 64) == -1) {
		snprintf(err, errlen, "metrics: cannot listen on %s: %s", addr,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->env = env;
	LIST_INIT(&m->conns);
	if ((m->lev = evconnlistener_new(base, accept_cb, m,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL) {
		snprintf(err, errlen, "metrics: evconnlistener failed");
		close(fd);
		free(m);
		return NULL;
	}
	log_info("metrics on http://%s/metrics", addr);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	while (!LIST_EMPTY(&m->conns))
		conn_free(LIST_FIRST(&m->conns));
	evconnlistener_free(m->lev);	/* closes the bound socket too */
	free(m);
}
