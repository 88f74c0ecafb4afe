/*
 * directory_ldap_conn — the LDAP connections of one directory: one reused
 * connection per uri, searched asynchronously from the event loop.
 *
 * A connection is DOWN, CONNECTING or UP.  Connecting (TCP, TLS for
 * ldaps://, StartTLS, the simple bind) uses libldap's synchronous calls,
 * so it runs on a worker thread of the pool's own workpool, each blocking
 * step bounded by the timeout (directory_ldap_open.c).  An UP connection
 * belongs to the loop and its socket is non-blocking, so no call waits for
 * the server: ldap_search_ext() sends, and ldap_result() with a zero
 * timeout reads whatever an EV_READ event on LDAP_OPT_DESC says is there
 * (half a message or half a TLS record stays with libldap until the rest
 * comes).  A request the socket did not take whole stays with libldap: an
 * EV_WRITE event lets ldap_result() flush it, and searches that come
 * meanwhile wait in `unsent` (libldap takes one half-written request at a
 * time).  Their timeout runs all along.
 *
 * A search goes to the first uri, from where it is, that is UP or is
 * connecting for the first time; a uri that failed before reconnects in
 * the background and takes searches only when no later uri can.  A
 * search waits at most `timeout` seconds on one uri, then tries the next.
 * A server that fails a connect or leaves a search unanswered is DOWN for
 * 1, 2, 4 ... 30 seconds; a connection that is simply lost may reconnect
 * at once.  No uri left: the search fails (TEMPFAIL for the directory).
 *
 * Answers are handed back from a fresh loop turn (one event drains the
 * finished searches), never from inside the connection code, so callbacks
 * may do anything, including dropping the directory's last reference.
 */
#include "directory_ldap.h"
#include "workpool.h"

#include <sys/queue.h>

#include <event2/event.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"

enum dl_state { DL_DOWN, DL_CONNECTING, DL_UP };
enum dl_where { W_NONE, W_WAITING, W_UNSENT, W_SENT, W_DONE };

struct dl_search {
	TAILQ_ENTRY(dl_search)	 entry;
	struct dl_pool		*p;
	char			*filter;
	char			*dn;	/* a read: base scope on it */
	dl_search_cb		 cb;
	void			*arg;
	size_t			 uri;	/* the connection it is on */
	enum dl_where		 where;
	int			 retried; /* once on a lost connection */
	int			 msgid;
	struct event		*timer;
	struct dl_answer	 ans;
	enum dl_status		 st;
	char			 why[256];	/* the last failure */
};

TAILQ_HEAD(dl_searches, dl_search);

struct dl_job;

struct dl_conn {
	struct dl_pool		*p;
	size_t			 idx;
	enum dl_state		 state;
	LDAP			*ld;
	struct event		*ev;		/* EV_READ, while UP */
	struct event		*wev;		/* EV_WRITE, while UP */
	struct dl_watch		 w;		/* what the socket did */
	struct dl_searches	 waiting;	/* for the connect */
	struct dl_searches	 unsent;	/* for libldap to take them */
	struct dl_searches	 sent;
	unsigned		 backoff;	/* seconds; 0: none */
	time_t			 next_try;	/* monotonic */
	int			 warned;	/* down since the last log */
};

/* One connect attempt, owned by the worker thread until it is done. */
struct dl_job {
	struct dl_conn		*c;
	LDAP			*ld;
	char			 err[256];
};

struct dl_pool {
	const struct dl_settings *s;
	struct directory	*d;
	struct event_base	*base;
	struct dl_conn		*conns;
	size_t			 nconns;
	struct workpool		*wp;
	struct ldap_conncb	 conncb;
	struct dl_searches	 done;
	struct event		*done_ev;
	int			 closing;
};

static void	place(struct dl_search *s, size_t from);

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
answer_clear(struct dl_answer *a, size_t nattrs)
{
	for (size_t i = 0; i < a->n; i++) {
		for (size_t k = 0; k < nattrs; k++) {
			for (size_t j = 0; j < a->e[i].nvals[k]; j++)
				free(a->e[i].vals[k][j]);
			free(a->e[i].vals[k]);
		}
		free(a->e[i].dn);
	}
	free(a->e);
	a->e = NULL;
	a->n = 0;
}

static void
search_free(struct dl_search *s)
{
	answer_clear(&s->ans, s->p->s->nattrs);
	if (s->timer)
		event_free(s->timer);
	free(s->filter);
	free(s->dn);
	free(s);
}

/* Off whatever list it is on; its timer stopped. */
static void
unlink_search(struct dl_search *s)
{
	struct dl_conn *c = &s->p->conns[s->uri];

	if (s->where == W_WAITING)
		TAILQ_REMOVE(&c->waiting, s, entry);
	else if (s->where == W_UNSENT)
		TAILQ_REMOVE(&c->unsent, s, entry);
	else if (s->where == W_SENT)
		TAILQ_REMOVE(&c->sent, s, entry);
	else if (s->where == W_DONE)
		TAILQ_REMOVE(&s->p->done, s, entry);
	s->where = W_NONE;
	evtimer_del(s->timer);
}

/* Hand the answer back from a fresh loop turn. */
static void
finish(struct dl_search *s, enum dl_status st, const char *why)
{
	unlink_search(s);
	s->st = st;
	if (why != NULL && why != s->why)
		snprintf(s->why, sizeof(s->why), "%s", why);
	s->where = W_DONE;
	TAILQ_INSERT_TAIL(&s->p->done, s, entry);
	event_active(s->p->done_ev, EV_TIMEOUT, 0);
}

static void
done_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dl_pool *p = arg;
	struct directory *d = p->d;
	struct dl_search *s;

	(void)fd;
	(void)ev;
	/* A callback may drop the directory's last reference: hold one
	 * until the list is drained (the pool may be gone after). */
	directory_ref(d);
	while ((s = TAILQ_FIRST(&p->done)) != NULL) {
		TAILQ_REMOVE(&p->done, s, entry);
		s->where = W_NONE;
		s->cb(s->arg, s->st, &s->ans, s->why);
		search_free(s);
	}
	directory_unref(d);
}

/* ---- connecting (worker thread) ---- */

static int
connect_run(void *arg)
{
	struct dl_job *j = arg;
	struct dl_pool *p = j->c->p;

	return directory_ldap_open(p->s, p->s->uris[j->c->idx], &p->conncb,
	    &j->ld, j->err, sizeof(j->err));
}

/* ---- connections (loop) ---- */

static void	read_cb(evutil_socket_t fd, short ev, void *arg);
static void	write_cb(evutil_socket_t fd, short ev, void *arg);

static void
conn_down(struct dl_conn *c, const char *why, int backoff)
{
	struct dl_searches moved = TAILQ_HEAD_INITIALIZER(moved);
	struct dl_search *s;
	time_t now = mono_now();

	if (c->ev) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->wev) {
		event_free(c->wev);
		c->wev = NULL;
	}
	if (c->ld) {
		/* Non-blocking: the unbind goes if the socket takes it. */
		ldap_unbind_ext(c->ld, NULL, NULL);
		c->ld = NULL;
	}
	memset(&c->w, 0, sizeof(c->w));
	c->state = DL_DOWN;
	if (backoff) {
		c->backoff = c->backoff == 0 ? LDAP_BACKOFF_MIN :
		    c->backoff * 2 > LDAP_BACKOFF_MAX ? LDAP_BACKOFF_MAX :
		    c->backoff * 2;
		c->next_try = now + c->backoff;
	} else
		c->next_try = now;
	if (!c->warned || backoff)
		log_warnx("directory ldap: %s: %s%s", c->p->s->uris[c->idx],
		    why, backoff ? " (down, retried later)" : "");
	c->warned = 1;
	TAILQ_CONCAT(&moved, &c->waiting, entry);
	TAILQ_CONCAT(&moved, &c->sent, entry);
	TAILQ_CONCAT(&moved, &c->unsent, entry);
	while ((s = TAILQ_FIRST(&moved)) != NULL) {
		TAILQ_REMOVE(&moved, s, entry);
		s->where = W_NONE;
		evtimer_del(s->timer);
		answer_clear(&s->ans, c->p->s->nattrs);
		snprintf(s->why, sizeof(s->why), "%s: %s",
		    c->p->s->uris[c->idx], why);
		/* A connection simply lost (a server restarted) is opened
		 * again at once: its searches may wait for that, once. */
		if (!backoff && !s->retried) {
			s->retried = 1;
			place(s, c->idx);
		} else
			place(s, c->idx + 1);
	}
}

static void
arm(struct dl_search *s)
{
	struct timeval tv = { (time_t)s->p->s->timeout, 0 };

	evtimer_add(s->timer, &tv);
}

/* Waits for libldap to take it; its timer goes on. */
static void
queue_unsent(struct dl_conn *c, struct dl_search *s)
{
	s->uri = c->idx;
	s->where = W_UNSENT;
	TAILQ_INSERT_TAIL(&c->unsent, s, entry);
	if (!evtimer_pending(s->timer, NULL))
		arm(s);
}

/*
 * Send s on c, or queue it behind a request libldap has not written whole
 * (it takes one such at a time, LDAP_BUSY otherwise).  0 if sent or
 * queued (or failed for good: s is handed back); -1 if the connection
 * failed (it is DOWN now, s on no list).
 */
static int
conn_send(struct dl_conn *c, struct dl_search *s)
{
	const struct dl_settings *set = c->p->s;
	struct timeval tl = { (time_t)set->timeout, 0 };
	int rc;

	if (c->w.closed) {
		/* libldap dropped the socket: a search now would make it
		 * connect again, synchronously. */
		conn_down(c, ldap_err2string(LDAP_SERVER_DOWN), 0);
		return -1;
	}
	if (c->w.blocked || !TAILQ_EMPTY(&c->unsent)) {
		queue_unsent(c, s);
		return 0;
	}
	rc = ldap_search_ext(c->ld, s->dn ? s->dn : set->base,
	    s->dn ? LDAP_SCOPE_BASE : LDAP_SCOPE_SUBTREE, s->filter,
	    (char **)set->attrs, 0, NULL, NULL, &tl, LDAP_ENTRIES_MAX,
	    &s->msgid);
	if (rc == LDAP_SUCCESS) {
		s->uri = c->idx;
		s->where = W_SENT;
		TAILQ_INSERT_TAIL(&c->sent, s, entry);
		if (!evtimer_pending(s->timer, NULL))
			arm(s);
		return 0;
	}
	if (rc == LDAP_BUSY && !c->w.closed) {
		queue_unsent(c, s);
		return 0;
	}
	if (rc == LDAP_FILTER_ERROR || rc == LDAP_PARAM_ERROR ||
	    rc == LDAP_NO_MEMORY || rc == LDAP_ENCODING_ERROR) {
		s->uri = c->idx;
		snprintf(s->why, sizeof(s->why), "search %s: %s", s->filter,
		    ldap_err2string(rc));
		finish(s, DL_FAIL, NULL);
		return 0;
	}
	conn_down(c, ldap_err2string(rc), 0);
	return -1;
}

/*
 * After libldap ran on c: once it has written what it held, the searches
 * queued meanwhile go; EV_WRITE is watched exactly while it holds bytes.
 */
static void
conn_pump(struct dl_conn *c)
{
	struct dl_search *s;

	if (c->state == DL_UP && c->w.closed) {
		conn_down(c, ldap_err2string(LDAP_SERVER_DOWN), 0);
		return;
	}
	while (c->state == DL_UP && !c->w.blocked &&
	    (s = TAILQ_FIRST(&c->unsent)) != NULL) {
		TAILQ_REMOVE(&c->unsent, s, entry);
		s->where = W_NONE;
		if (conn_send(c, s) == -1) {
			place(s, c->idx + 1);
			return;
		}
	}
	if (c->state != DL_UP)
		return;
	if (c->w.blocked)
		event_add(c->wev, NULL);
	else
		event_del(c->wev);
}

static void
connect_done(void *arg, int rc)
{
	struct dl_job *j = arg;
	struct dl_conn *c = j->c;
	struct dl_pool *p = c->p;
	struct dl_searches ready = TAILQ_HEAD_INITIALIZER(ready);
	struct dl_search *s;
	int fd = -1;

	/* Never hands an answer back itself (finish() defers), so the
	 * directory outlives this function. */
	if (p->closing) {
		if (j->ld)
			ldap_unbind_ext(j->ld, NULL, NULL);
		free(j);
		return;
	}
	if (rc == 0 && directory_ldap_nonblock(j->ld, &c->w, &fd) == -1) {
		ldap_unbind_ext(j->ld, NULL, NULL);
		memset(&c->w, 0, sizeof(c->w));
		snprintf(j->err, sizeof(j->err), "no socket after bind");
		rc = -1;
	}
	if (rc != 0) {
		conn_down(c, j->err, 1);
		free(j);
		return;
	}
	c->ld = j->ld;
	free(j);
	c->state = DL_UP;
	c->backoff = 0;
	c->ev = event_new(p->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->wev = event_new(p->base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
	event_add(c->ev, NULL);
	if (c->warned)
		log_info("directory ldap: %s: connected", p->s->uris[c->idx]);
	else
		log_debug("directory ldap: %s: connected",
		    p->s->uris[c->idx]);
	c->warned = 0;
	TAILQ_CONCAT(&ready, &c->waiting, entry);
	while ((s = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, s, entry);
		s->where = W_NONE;
		evtimer_del(s->timer);
		if (c->state != DL_UP || conn_send(c, s) == -1)
			place(s, c->idx + 1);
	}
	conn_pump(c);
}

static void
conn_start(struct dl_conn *c)
{
	struct dl_pool *p = c->p;
	struct dl_job *j = xcalloc(1, sizeof(*j));
	int n;

	if (p->wp == NULL) {
		n = (int)(p->nconns < LDAP_CONNECT_THREADS_MAX ? p->nconns :
		    LDAP_CONNECT_THREADS_MAX);
		p->wp = workpool_new(p->base, n);
	}
	c->state = DL_CONNECTING;
	j->c = c;
	workpool_run(p->wp, connect_run, connect_done, j);
}

/*
 * The first uri from `from` on that can take s: UP, or connecting for the
 * first time (or again after a clean loss).  A uri reconnecting after
 * failures is tried in the background and waited for only when no later
 * uri can take s, so a hung server costs a search its timeout once, not
 * once per backoff.  None: s fails.
 */
static void
place(struct dl_search *s, size_t from)
{
	struct dl_pool *p = s->p;
	struct dl_conn *c = NULL, *retrying = NULL;
	time_t now = mono_now();
	size_t i;

	for (i = from; i < p->nconns; i++) {
		c = &p->conns[i];
		if (c->state == DL_UP) {
			if (conn_send(c, s) == 0) {
				conn_pump(c);
				return;
			}
			continue;
		}
		if (c->state == DL_DOWN && now >= c->next_try)
			conn_start(c);
		if (c->state != DL_CONNECTING)
			continue;
		if (c->backoff == 0)
			break;
		if (retrying == NULL)
			retrying = c;
	}
	if (i == p->nconns)
		c = retrying;
	if (c == NULL || c->state != DL_CONNECTING) {
		if (s->why[0] == '\0')
			snprintf(s->why, sizeof(s->why),
			    "every LDAP server is down");
		finish(s, DL_FAIL, NULL);
		return;
	}
	s->uri = c->idx;
	s->where = W_WAITING;
	TAILQ_INSERT_TAIL(&c->waiting, s, entry);
	arm(s);
}

static void
timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dl_search *s = arg;
	struct dl_conn *c = &s->p->conns[s->uri];
	char why[64];

	(void)fd;
	(void)ev;
	snprintf(why, sizeof(why), "no answer in %u s", s->p->s->timeout);
	if (s->where == W_WAITING) {
		/* The connect goes on; this search moves on. */
		unlink_search(s);
		snprintf(s->why, sizeof(s->why), "%s: connect: %s",
		    s->p->s->uris[c->idx], why);
		place(s, c->idx + 1);
	} else if (s->where == W_SENT || s->where == W_UNSENT)
		conn_down(c, why, 1);
}

/* Take what the entry has of each attribute the search asked for. */
static void
take_entry(struct dl_conn *c, struct dl_search *s, LDAPMessage *msg)
{
	const struct dl_settings *set = c->p->s;
	struct dl_rawentry *re;
	struct berval **bv;
	char *dn;
	size_t k, j;

	if (s->ans.n >= LDAP_ENTRIES_MAX)
		return;
	if (s->ans.e == NULL)
		s->ans.e = xcalloc(LDAP_ENTRIES_MAX, sizeof(*s->ans.e));
	re = &s->ans.e[s->ans.n++];
	dn = ldap_get_dn(c->ld, msg);
	re->dn = xstrdup(dn ? dn : "?");
	ldap_memfree(dn);
	for (k = 0; k < set->nattrs; k++) {
		if ((bv = ldap_get_values_len(c->ld, msg,
		    set->attrs[k])) == NULL)
			continue;
		for (j = 0; bv[j] != NULL && re->nvals[k] < LDAP_VALUES_MAX;
		    j++) {
			if (bv[j]->bv_len > LDAP_VALUE_MAX || memchr(
			    bv[j]->bv_val, '\0', bv[j]->bv_len) != NULL) {
				log_warnx("directory ldap: %s: a value of %s "
				    "is too long or binary, skipped", re->dn,
				    set->attrs[k]);
				continue;
			}
			if (re->vals[k] == NULL)
				re->vals[k] = xcalloc(LDAP_VALUES_MAX,
				    sizeof(char *));
			re->vals[k][re->nvals[k]++] = xstrndup(bv[j]->bv_val,
			    bv[j]->bv_len);
		}
		ldap_value_free_len(bv);
	}
}

static void
take_result(struct dl_conn *c, struct dl_search *s, LDAPMessage *msg)
{
	char *diag = NULL;
	int err = LDAP_OTHER;

	if (ldap_parse_result(c->ld, msg, &err, NULL, &diag, NULL, NULL,
	    0) != LDAP_SUCCESS)
		err = LDAP_OTHER;
	snprintf(s->why, sizeof(s->why), "%s: %s %s: %s%s%s",
	    c->p->s->uris[c->idx], s->dn ? "read" : "search",
	    s->dn ? s->dn : s->filter, ldap_err2string(err),
	    diag && *diag ? ": " : "", diag ? diag : "");
	ldap_memfree(diag);
	if (s->dn != NULL && err == LDAP_NO_SUCH_OBJECT)
		err = LDAP_SUCCESS;	/* a read: the entry is not there */
	switch (directory_ldap_rc(err)) {
	case DL_RC_OK:
		finish(s, DL_OK, "");
		break;
	case DL_RC_NEXT:
		unlink_search(s);
		answer_clear(&s->ans, c->p->s->nattrs);
		place(s, c->idx + 1);
		break;
	default:
		finish(s, DL_FAIL, NULL);
		break;
	}
}

/* Everything libldap has for us now; it also writes what it held if the
 * socket takes it.  Never waits: the socket is non-blocking. */
static void
conn_drain(struct dl_conn *c)
{
	struct timeval zero = { 0, 0 };
	struct dl_search *s;
	LDAPMessage *msg;
	LDAP *ld = c->ld;
	int rc, id, type;

	/* libldap may hold more than one message (and TLS more than the
	 * socket shows). */
	while (c->state == DL_UP && c->ld == ld) {
		msg = NULL;
		rc = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &msg);
		if (rc == 0)
			break;
		if (rc == -1) {
			int e = LDAP_SERVER_DOWN;

			ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &e);
			conn_down(c, ldap_err2string(e), 0);
			break;
		}
		id = ldap_msgid(msg);
		type = ldap_msgtype(msg);
		TAILQ_FOREACH(s, &c->sent, entry)
			if (s->msgid == id)
				break;
		if (type == LDAP_RES_EXTENDED && id == 0) {
			ldap_msgfree(msg);
			conn_down(c, "the server closes the connection", 0);
			break;
		}
		if (s != NULL && type == LDAP_RES_SEARCH_ENTRY)
			take_entry(c, s, msg);
		else if (s != NULL && type == LDAP_RES_SEARCH_RESULT)
			take_result(c, s, msg);
		ldap_msgfree(msg);
	}
}

static void
read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dl_conn *c = arg;

	(void)fd;
	(void)ev;
	conn_drain(c);
	conn_pump(c);
}

/* The socket takes bytes again: ldap_result() writes the request libldap
 * held (it polls for that), then the queued searches go. */
static void
write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dl_conn *c = arg;
	unsigned long writes = c->w.writes;

	(void)fd;
	(void)ev;
	conn_drain(c);
	/* Nothing written: libldap held nothing after all (TLS wanted a
	 * write inside a read: it retries at the next read).  Not watched
	 * again, or the loop would spin on a writable socket. */
	if (c->state == DL_UP && c->w.blocked && c->w.writes == writes)
		c->w.blocked = 0;
	conn_pump(c);
}

/* ---- the pool ---- */

struct dl_pool *
directory_ldap_conn_new(const struct dl_settings *s, struct directory *d)
{
	struct dl_pool *p = xcalloc(1, sizeof(*p));

	p->s = s;
	p->d = d;
	p->base = d->base;
	p->nconns = s->nuris;
	p->conns = xcalloc(p->nconns, sizeof(*p->conns));
	for (size_t i = 0; i < p->nconns; i++) {
		p->conns[i].p = p;
		p->conns[i].idx = i;
		TAILQ_INIT(&p->conns[i].waiting);
		TAILQ_INIT(&p->conns[i].unsent);
		TAILQ_INIT(&p->conns[i].sent);
	}
	directory_ldap_conncb_init(&p->conncb, s->timeout);
	TAILQ_INIT(&p->done);
	p->done_ev = event_new(p->base, -1, 0, done_cb, p);
	return p;
}

void
directory_ldap_conn_search(struct dl_pool *p, const char *filter,
    dl_search_cb cb, void *arg)
{
	struct dl_search *s = xcalloc(1, sizeof(*s));

	s->p = p;
	s->filter = xstrdup(filter);
	s->cb = cb;
	s->arg = arg;
	s->timer = evtimer_new(p->base, timer_cb, s);
	place(s, 0);
}

void
directory_ldap_conn_read(struct dl_pool *p, const char *dn, dl_search_cb cb,
    void *arg)
{
	struct dl_search *s = xcalloc(1, sizeof(*s));

	s->p = p;
	s->filter = xstrdup("(objectClass=*)");
	s->dn = xstrdup(dn);
	s->cb = cb;
	s->arg = arg;
	s->timer = evtimer_new(p->base, timer_cb, s);
	place(s, 0);
}

void
directory_ldap_conn_free(struct dl_pool *p)
{
	struct dl_searches all = TAILQ_HEAD_INITIALIZER(all);
	struct dl_search *s;
	struct dl_conn *c;

	if (p == NULL)
		return;
	p->closing = 1;
	/* Connects in flight finish (bounded by the timeout) and are
	 * thrown away by connect_done. */
	workpool_free(p->wp);
	TAILQ_CONCAT(&all, &p->done, entry);
	for (size_t i = 0; i < p->nconns; i++) {
		c = &p->conns[i];
		TAILQ_CONCAT(&all, &c->waiting, entry);
		TAILQ_CONCAT(&all, &c->unsent, entry);
		TAILQ_CONCAT(&all, &c->sent, entry);
		if (c->ev)
			event_free(c->ev);
		if (c->wev)
			event_free(c->wev);
		if (c->ld)
			ldap_unbind_ext(c->ld, NULL, NULL);
	}
	/* None should be left: every lookup holds the directory. */
	while ((s = TAILQ_FIRST(&all)) != NULL) {
		TAILQ_REMOVE(&all, s, entry);
		search_free(s);
	}
	event_free(p->done_ev);
	free(p->conns);
	free(p);
}
