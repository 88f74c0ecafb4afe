/*
 * control — the control socket; see control.h.
 *
 * One struct cconn per client connection, on a bufferevent.  The request
 * is decoded only once it is whole; its length word is checked first, so
 * an oversized request is refused before it is read.  A handler writes
 * its records and ends with END or ERROR; the connection then closes once
 * its output has drained.  Handlers that wait (trace, flow, remove) keep
 * the connection busy; a client that leaves meanwhile cancels the trace
 * or flow, and a pending remove keeps the struct (not the socket) until
 * the scheduler calls back, so no callback ever lands on freed memory.
 */
#include "control.h"
#include "cluster_view.h"
#include "conf.h"
#include "control_proto.h"
#include "flow.h"
#include "log.h"
#include "metrics.h"
#include "queue_state.h"
#include "scheduler.h"
#include "senderlist.h"
#include "smtp_server.h"
#include "trace.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_CONNS_MAX	32	/* connections at once */
#define CONTROL_TIMEOUT		60	/* seconds without progress */
#define CONTROL_CHUNK		(128 * 1024)	/* queue listing: write up
						   to this, then wait */

struct cconn {
	TAILQ_ENTRY(cconn)	 entry;
	struct control		*ctl;
	struct bufferevent	*bev;
	int			 busy;		/* a request is being served */
	int			 closing;	/* close once drained */
	int			 dead;		/* socket gone, callback due */
	/* queue listing */
	char			(*ids)[QUEUE_ID_LEN + 1];
	size_t			 nids, pos;
	struct trace		*trace;
	struct flow		*flow;
	struct cluster_view	*cview;		/* cluster: waiting for redis */
	int			 removing;
};

struct control {
	struct event_base		*base;
	const struct control_env	*env;
	struct evconnlistener		*evl;
	char				*path;
	TAILQ_HEAD(, cconn)		 conns;
	unsigned			 nconns;
};

static void	conn_free(struct cconn *);

/* ---- replies ---- */

static void
send_rec(struct cconn *c, unsigned type, const char *const *f, size_t n)
{
	void *b;
	size_t len;

	if ((b = control_encode(type, f, n, &len)) == NULL) {
		log_warnx("control: cannot encode a %s reply: %s",
		    control_type_name(type), strerror(errno));
		return;
	}
	bufferevent_write(c->bev, b, len);
	free(b);
}

/* The last reply: END (ok) or ERROR, then close once written. */
static void
finish(struct cconn *c, unsigned type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
finish(struct cconn *c, unsigned type, const char *fmt, ...)
{
	char text[1024];
	const char *f[1] = { text };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	send_rec(c, type, f, 1);
	c->busy = 0;
	c->closing = 1;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_disable(c->bev, EV_READ);
	/* The output holds at least this reply now: conn_write closes the
	 * connection once it has drained, never from inside a handler. */
}

#define ok(c, ...)	finish((c), CTL_REP_END, __VA_ARGS__)
#define fail(c, ...)	finish((c), CTL_REP_ERROR, __VA_ARGS__)

/* ---- queue, show ---- */

static const char *
rcpt_state(uint8_t st)
{
	return st == RCPT_DELIVERED ? "delivered" : st == RCPT_FAILED ?
	    "failed" : "pending";
}

static void
send_msg(struct cconn *c, const struct scheduler_msg *m)
{
	const struct queue_envelope *env = m->env;
	char received[32], age[32], size[32], attempts[32], next[32], n[32];
	time_t now = time(NULL);
	const char *f[CTL_MSG_NFIELDS];

	snprintf(received, sizeof(received), "%lld", (long long)env->received);
	snprintf(age, sizeof(age), "%lld", (long long)(now - env->received));
	snprintf(size, sizeof(size), "%" PRIu64, env->size);
	snprintf(attempts, sizeof(attempts), "%u", m->qs->attempts);
	snprintf(next, sizeof(next), "%lld", (long long)m->next);
	snprintf(n, sizeof(n), "%zu", env->nrcpts);
	f[0] = env->id;
	f[1] = received;
	f[2] = age;
	f[3] = size;
	f[4] = env->sender;
	f[5] = env->vserver;
	f[6] = env->client_addr;
	f[7] = m->held ? "held" : m->busy ? "active" : "waiting";
	f[8] = attempts;
	f[9] = m->next ? next : "";
	f[10] = n;
	send_rec(c, CTL_REC_MSG, f, CTL_MSG_NFIELDS);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const char *r[CTL_RCPT_NFIELDS] = { env->rcpts[i].addr,
		    rcpt_state(m->qs->st[i]), m->qs->last[i] };

		send_rec(c, CTL_REC_RCPT, r, CTL_RCPT_NFIELDS);
	}
}

/* Write the listing while the socket takes it. */
static void
queue_fill(struct cconn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct scheduler_msg m;

	while (c->pos < c->nids) {
		if (evbuffer_get_length(out) >= CONTROL_CHUNK)
			return;		/* the write callback comes back */
		if (scheduler_get(c->ctl->env->sched, c->ids[c->pos++],
		    &m) == 0)
			send_msg(c, &m);	/* else: gone meanwhile */
	}
	free(c->ids);
	c->ids = NULL;
	ok(c, "%zu message(s)", c->nids);
}

static void
req_queue(struct cconn *c, const struct control_msg *rq)
{
	(void)rq;
	c->nids = scheduler_ids(c->ctl->env->sched, &c->ids);
	c->pos = 0;
	bufferevent_setwatermark(c->bev, EV_WRITE, CONTROL_CHUNK / 2, 0);
	queue_fill(c);
}

static int
get_id(struct cconn *c, const struct control_msg *rq, char *id)
{
	if (rq->f[0].len != QUEUE_ID_LEN) {
		fail(c, "not a queue id");
		return -1;
	}
	memcpy(id, rq->f[0].p, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	if (!queue_id_valid(id)) {
		fail(c, "not a queue id");
		return -1;
	}
	return 0;
}

static void
req_show(struct cconn *c, const struct control_msg *rq)
{
	struct scheduler_msg m;
	char id[QUEUE_ID_LEN + 1];

	if (get_id(c, rq, id) == -1)
		return;
	if (scheduler_get(c->ctl->env->sched, id, &m) == -1) {
		fail(c, "%s: not in the queue", id);
		return;
	}
	send_msg(c, &m);
	if (m.env->prepend != NULL || m.env->ncuts > 0 || m.env->hold ||
	    m.env->milters) {
		char cut[32];
		const char *f[CTL_ACCEPTANCE_NFIELDS] = { m.env->prepend ?
		    m.env->prepend : "", cut, m.env->hold ? m.env->hold : "",
		    m.env->milters ? m.env->milters : "" };

		snprintf(cut, sizeof(cut), "%" PRIu64, m.env->size -
		    queue_envelope_out_size(m.env));
		send_rec(c, CTL_REC_ACCEPTANCE, f, CTL_ACCEPTANCE_NFIELDS);
	}
	for (size_t i = 0; i < m.ntries; i++) {
		const struct scheduler_try *t = &m.tries[i];
		char when[32];
		const char *f[CTL_ATTEMPT_NFIELDS] = { when, t->host,
		    t->address, t->profile, t->tls, t->reply };

		snprintf(when, sizeof(when), "%lld", (long long)t->time);
		send_rec(c, CTL_REC_ATTEMPT, f, CTL_ATTEMPT_NFIELDS);
	}
	ok(c, "%s", id);
}

/* ---- hold, release, flush, remove ---- */

static void
req_lever(struct cconn *c, const struct control_msg *rq)
{
	struct scheduler *s = c->ctl->env->sched;
	char id[QUEUE_ID_LEN + 1];
	int e;

	if (rq->type == CTL_REQ_FLUSH && rq->nfields == 0) {
		ok(c, "%zu message(s) flushed", scheduler_flush_all(s));
		return;
	}
	if (get_id(c, rq, id) == -1)
		return;
	switch (rq->type) {
	case CTL_REQ_HOLD:
		e = scheduler_hold(s, id);
		break;
	case CTL_REQ_RELEASE:
		e = scheduler_release(s, id);
		break;
	default:
		e = scheduler_flush(s, id);
		break;
	}
	if (e == ENOENT)
		fail(c, "%s: not in the queue", id);
	else if (e == EBUSY)
		fail(c, "%s: held (release it first)", id);
	else
		ok(c, "%s: %s", id, rq->type == CTL_REQ_HOLD ? "held" :
		    rq->type == CTL_REQ_RELEASE ? "released" : "flushed");
}

static void
removed(void *arg, int error)
{
	struct cconn *c = arg;

	c->removing = 0;
	if (c->dead) {
		conn_free(c);
		return;
	}
	if (error)
		fail(c, "cannot remove: %s", strerror(error));
	else
		ok(c, "removed");
}

static void
req_remove(struct cconn *c, const struct control_msg *rq)
{
	char id[QUEUE_ID_LEN + 1];
	int e;

	if (get_id(c, rq, id) == -1)
		return;
	c->removing = 1;
	e = scheduler_remove(c->ctl->env->sched, id, removed, c);
	if (e == 0)
		return;		/* removed() finishes */
	c->removing = 0;
	if (e == EALREADY)
		fail(c, "%s: being removed already", id);
	else
		fail(c, "%s: not in the queue", id);
}

/* ---- stats, reload ---- */

static void
stat_emit(void *arg, const char *family, const char *type, const char *help,
    const char *suffix, const char *labels, double value)
{
	struct cconn *c = arg;
	char name[160], v[64];
	const char *f[CTL_STAT_NFIELDS] = { name, labels, v };

	(void)type;
	(void)help;
	snprintf(name, sizeof(name), "%s%s", family, suffix);
	snprintf(v, sizeof(v), "%.17g", value);
	send_rec(c, CTL_REC_STAT, f, CTL_STAT_NFIELDS);
}

static void
req_stats(struct cconn *c, const struct control_msg *rq)
{
	(void)rq;
	metrics_collect(c->ctl->env, stat_emit, c);
	ok(c, "stats");
}

static void
req_reload(struct cconn *c, const struct control_msg *rq)
{
	const struct control_env *env = c->ctl->env;
	char err[CONF_ERR_MAX];

	(void)rq;
	if (env->reload == NULL) {
		fail(c, "reload is not available");
		return;
	}
	if (env->reload(env->reload_arg, err, sizeof(err)) == -1)
		fail(c, "reload refused, the running configuration stays: %s",
		    err);
	else
		ok(c, "configuration reloaded");
}

/* ---- trace, flow ---- */

static void
send_trace_fields(const struct trace_result *r, const char **f)
{
	f[0] = r->recipient;
	f[1] = r->reply == NULL ? "" : r->accepted ? "yes" : "no";
	f[2] = r->reply;
	f[3] = r->rule;
	f[4] = r->route;
	f[5] = r->connector;
	f[6] = r->next_hop;
	f[7] = r->dns;
	f[8] = r->note;
}

static void
traced(void *arg, struct trace_result *res, size_t n, const char *error)
{
	struct cconn *c = arg;

	c->trace = NULL;
	if (res == NULL) {
		fail(c, "%s", error ? error : "trace failed");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *f[CTL_TRACE_NFIELDS];

		send_trace_fields(&res[i], f);
		send_rec(c, CTL_REC_TRACE, f, CTL_TRACE_NFIELDS);
	}
	trace_results_free(res, n);
	ok(c, "trace");
}

static void
req_trace(struct cconn *c, const struct control_msg *rq)
{
	const struct control_env *env = c->ctl->env;
	struct trace_request tr;
	char *vs, *client, *sender, *flags, **rcpts;
	size_t n = rq->nfields - 4;

	vs = control_field_dup(&rq->f[0]);
	client = control_field_dup(&rq->f[1]);
	sender = control_field_dup(&rq->f[2]);
	flags = control_field_dup(&rq->f[3]);
	rcpts = xcalloc(n, sizeof(*rcpts));
	for (size_t i = 0; i < n; i++)
		rcpts[i] = control_field_dup(&rq->f[4 + i]);
	memset(&tr, 0, sizeof(tr));
	tr.conf = env->conf;
	tr.dir = env->dir;
	tr.rs = env->rs;
	tr.senders = senderlist_set_get(env->senders, vs);
	tr.limits = env->server ? smtp_server_limits(env->server) : NULL;
	tr.vserver = vs;
	tr.client = client;
	tr.sender = sender;
	tr.flags = (strstr(flags, "tls") ? TRACE_F_TLS : 0) |
	    (strstr(flags, "auth") ? TRACE_F_AUTH : 0) |
	    (strstr(flags, "nodns") ? TRACE_F_NO_DNS : 0);
	tr.rcpts = (const char *const *)rcpts;
	tr.nrcpts = n;
	c->trace = trace_start(&tr, traced, c);
	for (size_t i = 0; i < n; i++)
		free(rcpts[i]);
	free(rcpts);
	free(vs);
	free(client);
	free(sender);
	free(flags);
}

static void
flowed(void *arg, struct flow_row *rows, size_t n)
{
	struct cconn *c = arg;

	c->flow = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *f[CTL_FLOW_NFIELDS];

		f[0] = rows[i].vserver;
		f[1] = rows[i].flow;
		f[2] = rows[i].client;
		f[3] = rows[i].sender;
		send_trace_fields(&rows[i].r, f + 4);
		send_rec(c, CTL_REC_FLOW, f, CTL_FLOW_NFIELDS);
	}
	flow_rows_free(rows, n);
	ok(c, "flow");
}

static void
req_flow(struct cconn *c, const struct control_msg *rq)
{
	const struct control_env *env = c->ctl->env;
	char *user = rq->nfields > 0 ? control_field_dup(&rq->f[0]) : NULL;
	char *unknown = rq->nfields > 1 ? control_field_dup(&rq->f[1]) : NULL;

	c->flow = flow_start(env->conf, env->dir, env->senders, user, unknown,
	    flowed, c);
	free(user);
	free(unknown);
}

/* ---- cluster ---- */

static void
cluster_rec(void *arg, unsigned type, const char *const *f, size_t n)
{
	send_rec(arg, type, f, n);
}

static void
cluster_done(void *arg, const char *error, const char *summary)
{
	struct cconn *c = arg;

	c->cview = NULL;
	if (error != NULL)
		fail(c, "%s", error);
	else
		ok(c, "%s", summary);
}

static void
req_cluster(struct cconn *c, const struct control_msg *rq)
{
	int queue = rq->nfields > 0 && control_field_eq(&rq->f[0], "queue");

	if (rq->nfields > 0 && !queue) {
		fail(c, "cluster: unknown request");
		return;
	}
	if (c->ctl->env->kv == NULL) {
		fail(c, "cluster: not configured (no cluster block in the "
		    "configuration)");
		return;
	}
	c->cview = cluster_view_start(c->ctl->env->kv, queue, cluster_rec,
	    cluster_done, c);
}

/* ---- the connection ---- */

static const struct {
	unsigned	type;
	void		(*fn)(struct cconn *, const struct control_msg *);
} handlers[] = {
	{ CTL_REQ_QUEUE, req_queue },
	{ CTL_REQ_SHOW, req_show },
	{ CTL_REQ_FLUSH, req_lever },
	{ CTL_REQ_HOLD, req_lever },
	{ CTL_REQ_RELEASE, req_lever },
	{ CTL_REQ_REMOVE, req_remove },
	{ CTL_REQ_STATS, req_stats },
	{ CTL_REQ_RELOAD, req_reload },
	{ CTL_REQ_TRACE, req_trace },
	{ CTL_REQ_FLOW, req_flow },
	{ CTL_REQ_CLUSTER, req_cluster },
};

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct cconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct control_msg *msg;
	enum control_decode rc;
	unsigned char *p;
	size_t len = evbuffer_get_length(in), used, want;

	if (c->busy || c->closing || len < 4)
		return;
	p = evbuffer_pullup(in, 4);
	want = 4 + ((size_t)p[0] << 24 | (size_t)p[1] << 16 |
	    (size_t)p[2] << 8 | p[3]);
	if (want - 4 > CONTROL_REQUEST_MAX) {
		fail(c, "%s", control_decode_error(CONTROL_TOO_BIG));
		return;
	}
	if (len < want)
		return;		/* not whole yet */
	p = evbuffer_pullup(in, (ssize_t)want);
	msg = xmalloc(sizeof(*msg));
	rc = control_decode(p, want, CONTROL_REQUEST_MAX, msg, &used);
	if (rc != CONTROL_OK || msg->type >= CTL_REP_END) {
		log_warnx("control: refused a request: %s",
		    rc != CONTROL_OK ? control_decode_error(rc) :
		    "not a request");
		fail(c, "%s", rc != CONTROL_OK ? control_decode_error(rc) :
		    "not a request");
		free(msg);
		return;
	}
	c->busy = 1;
	bufferevent_disable(bev, EV_READ);
	log_debug("control: %s", control_type_name(msg->type));
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == msg->type) {
			/* The fields point into the input buffer, which stays
			 * until the handler returns. */
			handlers[i].fn(c, msg);
			break;
		}
	free(msg);
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct cconn *c = arg;

	if (c->ids != NULL) {
		queue_fill(c);
		return;
	}
	if (c->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct cconn *c = arg;

	if ((what & BEV_EVENT_EOF) && !c->busy && !c->closing &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		/* The client stopped mid-request: say so, then close. */
		fail(c, "%s", control_decode_error(CONTROL_NEED_MORE));
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

static void
conn_free(struct cconn *c)
{
	struct control *ctl = c->ctl;

	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		TAILQ_REMOVE(&ctl->conns, c, entry);
		ctl->nconns--;
	}
	trace_cancel(c->trace);
	c->trace = NULL;
	flow_cancel(c->flow);
	c->flow = NULL;
	cluster_view_cancel(c->cview);
	c->cview = NULL;
	free(c->ids);
	c->ids = NULL;
	if (c->removing) {
		c->dead = 1;	/* removed() frees it */
		return;
	}
	free(c);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control *ctl = arg;
	struct timeval tv = { CONTROL_TIMEOUT, 0 };
	struct cconn *c;

	(void)l;
	(void)sa;
	(void)salen;
	if (ctl->nconns >= CONTROL_CONNS_MAX) {
		log_warnx("control: too many connections, closing one");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl->conns, c, entry);
	ctl->nconns++;
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	/* Read no more than a whole request (and its length word). */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONTROL_REQUEST_MAX + 4);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct control *
control_new(struct event_base *base, const struct control_env *env,
    const char *path, const char *user, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct control *ctl;
	struct stat st;
	struct passwd *pw = NULL;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
			    path);
			return NULL;
		}
		unlink(path);	/* left by a previous run */
	}
	if (user && geteuid() == 0 && (pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "unknown user %s", user);
		return NULL;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return NULL;
	}
	/*
	 * Born 0660, never a moment more open: Linux gives the file the
	 * socket's own mode less the umask, so the mode is set on the
	 * descriptor and no path is ever chmod'ed.  The owner can only be
	 * set on the path, after bind: not through a symbolic link (the
	 * default path is in the spool, which the run user owns), and only
	 * if what is there is a socket.
	 */
	if (fchmod(fd, 0660) == -1) {
		snprintf(err, errlen, "control socket: fchmod: %s",
		    strerror(errno));
		close(fd);
		return NULL;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "cannot bind %s: %s", path,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	umask(old);
	if (pw != NULL) {
		const char *why = NULL;

		if (lstat(path, &st) == -1)
			why = strerror(errno);
		else if (!S_ISSOCK(st.st_mode))
			why = "replaced by something that is not a socket";
		else if (fchownat(AT_FDCWD, path, pw->pw_uid, pw->pw_gid,
		    AT_SYMLINK_NOFOLLOW) == -1)
			why = strerror(errno);
		if (why != NULL) {
			snprintf(err, errlen, "control socket %s: chown: %s",
			    path, why);
			close(fd);
			return NULL;
		}
	}
	if (listen(fd, 16) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return NULL;
	}
	ctl = xcalloc(1, sizeof(*ctl));
	ctl->base = base;
	ctl->env = env;
	ctl->path = xstrdup(path);
	TAILQ_INIT(&ctl->conns);
	ctl->evl = evconnlistener_new(base, accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_DISABLED, -1, fd);
	if (ctl->evl == NULL) {
		snprintf(err, errlen, "control socket %s: listener failed",
		    path);
		close(fd);
		unlink(path);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	return ctl;
}

void
control_start(struct control *ctl)
{
	evconnlistener_enable(ctl->evl);
	log_info("control socket %s", ctl->path);
}

void
control_free(struct control *ctl)
{
	struct cconn *c;

	if (ctl == NULL)
		return;
	while ((c = TAILQ_FIRST(&ctl->conns)) != NULL)
		conn_free(c);
	evconnlistener_free(ctl->evl);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
