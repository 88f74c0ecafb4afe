/*
 * smtp_server — listeners and client connections; see smtp_server.h.
 *
 * A connection's bytes wait in its bufferevent's input buffer until the
 * session consumes them, so pipelined commands stay queued, in order,
 * while the session waits for the directory or for the commit; reading is
 * disabled meanwhile (and when the client does not read our replies).  A
 * connection that closes while its commit is in flight stays allocated
 * (a zombie) until the commit calls back, so no callback ever lands on
 * freed memory.
 *
 * The filters' shared state lives here, one per loop: the rate-limit
 * counters, the block-senders-file lists of the running configuration,
 * the per-rule refusal counters, and (borrowed) the resolver profiles the
 * DNSBL lookups use.  The greet-wait timer of a session is the one timer
 * the session cannot own itself.
 *
 * TLS (handshakes, certificates, AUTH users) is in smtp_server_tls.c;
 * until a handshake is done the session gets no input.
 */
#include "smtp_server.h"
#include "auth.h"
#include "conf.h"
#include "directory.h"
#include "postern_limits.h"
#include "log.h"
#include "netaddr.h"
#include "policy.h"
#include "queue.h"
#include "ratelimit.h"
#include "smtp_limits.h"
#include "authdns_resolver.h"
#include "resolver.h"
#include "smtp_milter.h"
#include "senderlist.h"
#include "smtp_greet.h"
#include "smtp_server_priv.h"
#include "smtp_message.h"
#include "smtp_session.h"
#include "strmap.h"
#include "tls.h"
#include "xmalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	struct smtp_server	*srv;
	struct evconnlistener	*evl;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			*vsname;
	char			 text[NETADDR_STRLEN];
	int			 keep;	/* reload bookkeeping */
	int			 tls;	/* implicit TLS (RFC 8314) */
};

/* ---- connection counting ---- */

static unsigned
count_adjust(struct strmap *m, const char *key, int delta)
{
	uintptr_t n = (uintptr_t)strmap_get(m, key);

	n = (uintptr_t)((intptr_t)n + delta);
	if (n == 0)
		strmap_del(m, key);
	else
		strmap_put(m, key, (void *)n);
	return (unsigned)n;
}

/* ---- session glue ---- */

static void
commit_done(void *arg, int error, struct queue_envelope *env)
{
	struct conn *c = arg;
	struct smtp_server *srv = c->srv;
	char user[80] = "";

	if (env->auth_user)
		auth_log_name(env->auth_user, user, sizeof(user));
	if (error == 0)
		log_info("%s: client=%s, vserver=%s, from=<%s>, size=%llu, "
		    "nrcpt=%zu%s%s (queued)", env->id, env->client_addr,
		    env->vserver, env->sender,
		    (unsigned long long)env->size, env->nrcpts,
		    user[0] ? ", user=" : "", user);
	if (c->zombie) {
		/* The client left before the 250: the message is queued
		 * all the same (delivery is at least once). */
		smtp_session_free(c->sess);
		SSL_CTX_free(c->ssl_ctx);
		free(c->vsname);
		free(c);
	} else
		smtp_message_commit_done(c->sess, error, env->id);
	if (error == 0 && srv->queued)
		srv->queued(srv->queued_arg, env);
	else
		queue_envelope_free(env);
}

void
smtp_server_on_queued(struct smtp_server *srv,
    void (*fn)(void *, struct queue_envelope *), void *arg)
{
	srv->queued = fn;
	srv->queued_arg = arg;
}

static int
sess_spool_write(struct smtp_session *s, const char *p, size_t n)
{
	struct conn *c = s->owner;

	if (c->qmsg == NULL &&
	    (c->qmsg = queue_msg_open(c->srv->writer, s->env->id)) == NULL)
		return errno;
	return queue_msg_write(c->qmsg, p, n) == -1 ? errno : 0;
}

static ssize_t
sess_spool_read(struct smtp_session *s, uint64_t off, void *buf, size_t n)
{
	struct conn *c = s->owner;

	return c->qmsg ? queue_msg_pread(c->qmsg, off, buf, n) : 0;
}

static void
sess_spool_abort(struct smtp_session *s)
{
	struct conn *c = s->owner;

	queue_msg_abort(c->qmsg);
	c->qmsg = NULL;
}

static void
sess_commit(struct smtp_session *s, struct queue_envelope *env, char *tail,
    size_t len)
{
	struct conn *c = s->owner;

	queue_msg_commit(c->srv->writer, c->qmsg, env, tail, len, commit_done,
	    c);
	c->qmsg = NULL;
}

static void
sess_wakeup(struct smtp_session *s)
{
	smtp_server_pump(s->owner);
}

static const struct smtp_session_ops sess_ops = {
	.spool_write = sess_spool_write,
	.spool_read = sess_spool_read,
	.spool_abort = sess_spool_abort,
	.commit = sess_commit,
	.wakeup = sess_wakeup,
};

static void
data_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	smtp_message_data_expired(c->sess);
	smtp_server_pump(c);
}

/* max-data-time runs from the 354 (or the first BDAT) to the end of the
 * message, whatever
 * the client sends meanwhile (the idle timeout alone lets a client
 * dribble a byte a minute for ever). */
static void
data_timer_update(struct conn *c)
{
	struct timeval tv = { (time_t)c->sess->vs->max_data_time, 0 };
	int in_data = c->sess->state == SMTP_S_DATA ||
	    c->sess->state == SMTP_S_BDAT;

	if (in_data && c->data_ev == NULL) {
		c->data_ev = evtimer_new(c->srv->base, data_timer_cb, c);
		if (c->data_ev != NULL)
			evtimer_add(c->data_ev, &tv);
	} else if (!in_data && c->data_ev != NULL) {
		event_free(c->data_ev);
		c->data_ev = NULL;
	}
}

/* Send pending replies; feed buffered input; decide whether to read. */
void
smtp_server_pump(struct conn *c)
{
	struct smtp_session *s = c->sess;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len, used;

	if (c->handshaking || c->tls_switch) {
		/* The greeting may go into the TLS output (implicit TLS);
		 * no input reaches the session before the handshake ends. */
		if (smtp_session_closing(s)) {
			smtp_server_close(c);	/* nothing can be said yet */
			return;
		}
		if (s->out.len && !c->tls_switch) {
			bufferevent_write(c->bev, s->out.p, s->out.len);
			buf_reset(&s->out);
		}
		if (c->handshaking)
			bufferevent_enable(c->bev, EV_READ);
		return;
	}
	for (;;) {
		if (s->out.len) {
			bufferevent_write(c->bev, s->out.p, s->out.len);
			buf_reset(&s->out);
		}
		if (smtp_session_closing(s) || smtp_session_waiting(s))
			break;
		len = evbuffer_get_length(in);
		if (len == 0)
			break;
		if (evbuffer_get_length(out) > SMTP_OUTPUT_MAX) {
			c->throttled = 1;	/* resumed by write_cb */
			break;
		}
		used = smtp_session_input(s,
		    (const char *)evbuffer_pullup(in, (ssize_t)len), len);
		evbuffer_drain(in, used);
		if (used == 0 && s->out.len == 0)
			break;	/* a partial line: wait for more */
	}
	if (s->out.len) {
		bufferevent_write(c->bev, s->out.p, s->out.len);
		buf_reset(&s->out);
	}
	data_timer_update(c);
	if (smtp_session_closing(s)) {
		bufferevent_disable(c->bev, EV_READ);
		c->clean = 1;
		if (evbuffer_get_length(out) == 0)
			smtp_server_close(c);
		return;		/* else write_cb closes once drained */
	}
	if (smtp_session_waiting(s) == SMTP_WAIT_TLS) {
		smtp_server_starttls(c);
		return;
	}
	if (smtp_session_waiting(s) || c->throttled)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	smtp_server_pump(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->tls_switch) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			smtp_server_starttls_switch(c);
		return;
	}
	if (smtp_session_closing(c->sess)) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			smtp_server_close(c);
		return;
	}
	if (c->throttled) {
		c->throttled = 0;
		smtp_server_pump(c);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->handshaking || (what & BEV_EVENT_CONNECTED)) {
		smtp_server_tls_event(c, what);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		smtp_session_timeout(c->sess);
		smtp_server_pump(c);
		return;
	}
	/* EOF or error: the client is gone. */
	if (what & BEV_EVENT_ERROR)
		log_debug("session=%016llx client=%s: connection error: %s",
		    (unsigned long long)c->sess->id, c->sess->peer_ip,
		    strerror(EVUTIL_SOCKET_ERROR()));
	smtp_server_close(c);
}

/* Callbacks, limits and timeouts of a connection's (new) bufferevent. */
void
smtp_server_set_bev(struct conn *c, struct bufferevent *bev)
{
	struct timeval tv = { (time_t)c->timeout, 0 };

	c->bev = bev;
	if (c->handshaking)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	/* Bound what one client can make us buffer: unread pipelined input
	 * beyond this is left in the kernel's socket buffer. */
	bufferevent_setwatermark(bev, EV_READ, 0, SMTP_PIPELINE_MAX);
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void
smtp_server_close(struct conn *c)
{
	struct smtp_server *srv = c->srv;

	log_info("session=%016llx client=%s disconnect state=%s",
	    (unsigned long long)c->sess->id, c->sess->peer_ip,
	    smtp_state_name(c->sess->state));
	TAILQ_REMOVE(&srv->conns, c, entry);
	if (c->bev != NULL) {
		SSL *ssl = c->ssl_ctx ? bufferevent_openssl_get_ssl(c->bev) :
		    NULL;

		/* close_notify after our last reply; never after an error */
		if (ssl != NULL && c->clean && !c->handshaking &&
		    SSL_shutdown(ssl) < 0)
			ERR_clear_error();
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->greet_ev) {
		event_free(c->greet_ev);
		c->greet_ev = NULL;
	}
	if (c->data_ev) {
		event_free(c->data_ev);
		c->data_ev = NULL;
	}
	count_adjust(srv->per_ip, c->limkey, -1);
	count_adjust(srv->per_vs, c->vsname, -1);
	srv->stats.active--;
	if (smtp_session_waiting(c->sess) == SMTP_WAIT_COMMIT)
		c->zombie = 1;
	else {
		smtp_session_free(c->sess);
		SSL_CTX_free(c->ssl_ctx);
		free(c->vsname);
		free(c);
	}
	if (srv->stopping && TAILQ_EMPTY(&srv->conns) && srv->stop_done) {
		void (*done)(void *) = srv->stop_done;
		srv->stop_done = NULL;
		done(srv->stop_arg);
	}
}

/* Refuse a connection over a limit without building a session. */
static void
refuse_fd(evutil_socket_t fd, const char *text)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s\r\n", text);

	/* Best effort, non-blocking: the socket is fresh, its buffer empty. */
	if (write(fd, line, (size_t)n) < 0)
		(void)0;
	evutil_closesocket(fd);
}

static void
greet_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	smtp_greet_elapsed(c->sess);
	smtp_server_pump(c);
}

/* max-connections, max-connections-per-ip: 421 4.7.0 before a session. */
static int
over_limits(struct smtp_server *srv, const struct conf_vserver *vs,
    const char *ip, const char *limkey, evutil_socket_t fd)
{
	enum policy_rule rule;
	const char *text;

	if ((uintptr_t)strmap_get(srv->per_vs, vs->name) >=
	    vs->max_connections)
		rule = POLICY_RULE_MAX_CONNECTIONS;
	else if ((uintptr_t)strmap_get(srv->per_ip, limkey) >=
	    vs->max_connections_per_ip)
		rule = POLICY_RULE_MAX_CONNECTIONS_PER_IP;
	else
		return 0;
	text = policy_reply(rule);
	log_info("client=%s vserver=%s refused CONNECT rule=%s: %s", ip,
	    vs->name, policy_rule_name(rule), text);
	srv->stats.refused_connections++;
	srv->counters.refused[rule]++;
	refuse_fd(fd, text);
	return 1;
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct smtp_server *srv = l->srv;
	const struct conf_vserver *vs;
	struct smtp_session_env env;
	struct bufferevent *bev;
	struct timeval tv;
	struct conn *c;
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	unsigned wait_ms;
	uint64_t id;
	char ip[NETADDR_STRLEN];
	char limkey[NETADDR_STRLEN + 64], climit[NETADDR_STRLEN];

	(void)evl;
	(void)salen;
	srv->stats.connections++;
	vs = conf_vserver_find(srv->conf, l->vsname);
	netaddr_ntop(sa, ip, sizeof(ip));
	if (vs == NULL || srv->stopping) {
		refuse_fd(fd, "421 4.3.2 Service not available, closing "
		    "connection");
		return;
	}
	/* Per virtual server, per client: an IPv6 client is its /64. */
	snprintf(limkey, sizeof(limkey), "%s %s", vs->name,
	    netaddr_limit_key(sa, climit, sizeof(climit)));
	if (over_limits(srv, vs, ip, limkey, fd))
		return;
	ctx = tls_server_ctx(srv->tls, vs->name);
	if (l->tls && (ctx == NULL || (ssl = SSL_new(ctx)) == NULL)) {
		log_warnx("client=%s vserver=%s: no TLS context for %s", ip,
		    vs->name, l->text);
		refuse_fd(fd, "421 4.3.2 Service not available, closing "
		    "connection");
		return;
	}
	if (ssl != NULL)
		bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		bev = bufferevent_socket_new(srv->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_warnx("bufferevent_socket_new failed");
		SSL_free(ssl);
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->vsname = xstrdup(vs->name);
	snprintf(c->limkey, sizeof(c->limkey), "%s", limkey);
	if (ctx != NULL && SSL_CTX_up_ref(ctx) == 1)
		c->ssl_ctx = ctx;
	c->implicit = c->handshaking = ssl != NULL;
	c->timeout = vs->timeout;
	count_adjust(srv->per_ip, c->limkey, 1);
	count_adjust(srv->per_vs, c->vsname, 1);
	srv->stats.active++;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	id = ++srv->next_id;
	log_info("session=%016llx connect from %s to %s (%s)",
	    (unsigned long long)id, ip, l->text, vs->name);
	memset(&env, 0, sizeof(env));
	env.resolver = srv->rs ? resolver_get(srv->rs, vs->dns) : NULL;
	if (srv->rs != NULL && vs->auth.enabled)
		env.authdns = authdns_resolver(resolver_get(srv->rs,
		    vs->auth.dns ? vs->auth.dns : vs->dns));
	env.senders = senderlist_set_get(srv->senders, vs->name);
	env.ratelimit = srv->ratelimit;
	env.limits = srv->limits;
	env.counters = &srv->counters;
	env.starttls = c->ssl_ctx != NULL && !c->implicit;
	env.authdb = auth_set_get(srv->auths, vs->name);
	env.authguard = srv->authguard;
	env.verifier = srv->verifier;
	env.milters = smtp_milters_new(srv->base, vs);
	smtp_milters_set_local(env.milters, fd);
	c->sess = smtp_session_new_env(id, srv->conf, vs, srv->dir, sa,
	    &sess_ops, c, &env);
	smtp_server_set_bev(c, bev);
	if ((wait_ms = smtp_greet_delay(c->sess)) > 0) {
		tv.tv_sec = wait_ms / 1000;
		tv.tv_usec = (wait_ms % 1000) * 1000;
		/* Without a timer the test is skipped, never the client. */
		if ((c->greet_ev = evtimer_new(srv->base, greet_timer_cb,
		    c)) != NULL)
			evtimer_add(c->greet_ev, &tv);
		else
			smtp_greet_elapsed(c->sess);
	}
	smtp_server_pump(c);
}

/* ---- listeners ---- */

static struct listener *
listener_find(struct smtp_server *srv, const struct sockaddr *sa)
{
	struct listener *l;

	TAILQ_FOREACH(l, &srv->listeners, entry)
		if (netaddr_equal((struct sockaddr *)&l->ss, sa))
			return l;
	return NULL;
}

static void
listener_free(struct listener *l)
{
	if (l->evl)
		evconnlistener_free(l->evl);
	free(l->vsname);
	free(l);
}

int
smtp_server_listen(struct smtp_server *srv, const struct conf *conf,
    char *err, size_t errlen)
{
	TAILQ_HEAD(, listener) fresh = TAILQ_HEAD_INITIALIZER(fresh);
	struct listener *l, *next;

	TAILQ_FOREACH(l, &srv->listeners, entry)
		l->keep = 0;
	for (size_t i = 0; i < conf->nvservers; i++) {
		const struct conf_vserver *vs = conf->vservers[i];

		for (size_t j = 0; j < vs->nlisten; j++) {
			const struct conf_listen *cl = &vs->listen[j];

			l = listener_find(srv, (struct sockaddr *)&cl->ss);
			if (l) {
				l->keep = 1;
				continue;
			}
			l = xcalloc(1, sizeof(*l));
			l->srv = srv;
			l->tls = cl->tls;
			memcpy(&l->ss, &cl->ss, cl->sslen);
			l->sslen = cl->sslen;
			l->vsname = xstrdup(vs->name);
			netaddr_ntop_port((struct sockaddr *)&cl->ss, l->text,
			    sizeof(l->text));
			l->evl = evconnlistener_new_bind(srv->base, accept_cb,
			    l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
			    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED |
			    (cl->ss.ss_family == AF_INET6 ?
			    LEV_OPT_BIND_IPV6ONLY : 0), 1024,
			    (struct sockaddr *)&cl->ss, (int)cl->sslen);
			if (l->evl == NULL) {
				snprintf(err, errlen, "%s:%d: cannot listen on "
				    "%s: %s", conf->path, cl->line, l->text,
				    strerror(errno));
				listener_free(l);
				while ((l = TAILQ_FIRST(&fresh))) {
					TAILQ_REMOVE(&fresh, l, entry);
					listener_free(l);
				}
				return -1;
			}
			TAILQ_INSERT_TAIL(&fresh, l, entry);
		}
	}
	/* Everything bound: drop what the new configuration no longer has
	 * and point the kept listeners at their (new) virtual server. */
	for (l = TAILQ_FIRST(&srv->listeners); l; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (!l->keep) {
			log_info("closing listener %s", l->text);
			TAILQ_REMOVE(&srv->listeners, l, entry);
			listener_free(l);
		}
	}
	for (size_t i = 0; i < conf->nvservers; i++)
		for (size_t j = 0; j < conf->vservers[i]->nlisten; j++) {
			l = listener_find(srv, (struct sockaddr *)
			    &conf->vservers[i]->listen[j].ss);
			if (l && l->keep) {
				free(l->vsname);
				l->vsname = xstrdup(conf->vservers[i]->name);
				l->tls = conf->vservers[i]->listen[j].tls;
			}
		}
	while ((l = TAILQ_FIRST(&fresh))) {
		TAILQ_REMOVE(&fresh, l, entry);
		TAILQ_INSERT_TAIL(&srv->listeners, l, entry);
		if (srv->conf && !srv->stopping)	/* already started */
			evconnlistener_enable(l->evl);
		log_info("listening on %s for %s", l->text, l->vsname);
	}
	return 0;
}

/* ---- life cycle ---- */

struct smtp_server *
smtp_server_new(struct event_base *base, struct queue_writer *writer)
{
	struct smtp_server *srv = xcalloc(1, sizeof(*srv));

	srv->base = base;
	srv->writer = writer;
	TAILQ_INIT(&srv->listeners);
	TAILQ_INIT(&srv->conns);
	srv->per_ip = strmap_new();
	srv->per_vs = strmap_new();
	srv->ratelimit = ratelimit_new(0);
	srv->limits = smtp_limits_new();
	smtp_server_tls_init(srv);
	return srv;
}

void
smtp_server_set_config(struct smtp_server *srv, struct conf *conf,
    struct directory *dir, struct resolver_set *rs,
    struct senderlist_set *senders)
{
	struct conf *oc = srv->conf;
	struct directory *od = srv->dir;

	srv->conf = conf_ref(conf);
	srv->dir = dir ? directory_ref(dir) : NULL;
	if (oc)
		conf_unref(oc);
	if (od)
		directory_unref(od);
	srv->rs = rs;
	/* Sessions hold references on their own list, not on the set. */
	senderlist_set_free(srv->senders);
	srv->senders = senders;
	smtp_server_tls_commit(srv);
}

void
smtp_server_start(struct smtp_server *srv)
{
	struct listener *l;

	TAILQ_FOREACH(l, &srv->listeners, entry)
		evconnlistener_enable(l->evl);
}

void
smtp_server_shutdown(struct smtp_server *srv, void (*done)(void *), void *arg)
{
	struct listener *l;
	struct conn *c, *next;

	srv->stopping = 1;
	srv->stop_done = done;
	srv->stop_arg = arg;
	while ((l = TAILQ_FIRST(&srv->listeners))) {
		TAILQ_REMOVE(&srv->listeners, l, entry);
		listener_free(l);
	}
	for (c = TAILQ_FIRST(&srv->conns); c; c = next) {
		next = TAILQ_NEXT(c, entry);
		smtp_session_shutdown(c->sess);
		smtp_server_pump(c);	/* may close and free c */
	}
	if (TAILQ_EMPTY(&srv->conns) && srv->stop_done) {
		srv->stop_done = NULL;
		done(arg);
	}
}

void
smtp_server_free(struct smtp_server *srv)
{
	struct listener *l;
	struct conn *c;

	if (srv == NULL)
		return;
	while ((l = TAILQ_FIRST(&srv->listeners))) {
		TAILQ_REMOVE(&srv->listeners, l, entry);
		listener_free(l);
	}
	srv->stop_done = NULL;
	while ((c = TAILQ_FIRST(&srv->conns)))
		smtp_server_close(c);
	smtp_server_tls_free(srv);
	strmap_free(srv->per_ip, NULL);
	strmap_free(srv->per_vs, NULL);
	ratelimit_free(srv->ratelimit);
	smtp_limits_free(srv->limits);
	senderlist_set_free(srv->senders);
	if (srv->conf)
		conf_unref(srv->conf);
	if (srv->dir)
		directory_unref(srv->dir);
	free(srv);
}

void
smtp_server_set_cluster(struct smtp_server *srv, struct kv *kv,
    const char *node)
{
	smtp_limits_set_kv(srv->limits, kv, node);
}

struct smtp_limits *
smtp_server_limits(const struct smtp_server *srv)
{
	return srv->limits;
}

void
smtp_server_stats(const struct smtp_server *srv, struct smtp_server_stats *out)
{
	*out = srv->stats;
}

const struct smtp_session_counters *
smtp_server_counters(const struct smtp_server *srv)
{
	return &srv->counters;
}
