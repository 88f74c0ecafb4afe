/*
 * auth — the auth file, password checks, the failure count per client
 * address and the off-loop verifier; see auth.h.  The SASL decoders are
 * in auth_sasl.c.
 *
 * A database maps user -> crypt(3) hash.  auth_db_check() runs crypt_r
 * with its own crypt_data, so any number of threads may check at once;
 * the comparison of the result is constant-time.  The verifier runs one
 * worker thread: a check costs a few milliseconds (SHA-512 crypt) to tens
 * of milliseconds (yescrypt), which must not stall the sessions of the
 * loop, and one thread also bounds the CPU a password guesser can take.
 * Its queue is bounded too (AUTH_VERIFY_QUEUE_MAX checks, of which
 * AUTH_VERIFY_CLIENT_MAX from one client), so a guesser with many
 * connections makes nobody else wait behind it: over either bound the
 * check is refused at once and the session answers 454 4.7.0.
 */
#include "auth.h"
#include "conf.h"
#include "log.h"
#include "netaddr.h"
#include "postern_limits.h"
#include "strmap.h"
#include "workpool.h"
#include "fileread.h"
#include "textline.h"
#include "xmalloc.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct auth_db {
	int		 refcnt;
	char		*path;
	struct strmap	*users;		/* user -> hash (owned) */
	char		*dummy;		/* a setting to hash unknown users
					   with: the cost of a real check */
};

/* ---- the file ---- */

static int
hash_ok(const char *h)
{
	/* yescrypt "$y$PARAMS$SALT$HASH", SHA-512 "$6$[rounds=N$]SALT$HASH" */
	if (strncmp(h, "$y$", 3) != 0 && strncmp(h, "$6$", 3) != 0)
		return 0;
	for (const char *p = h; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ':')
			return 0;
	return strrchr(h, '$') - h >= 4 && h[strlen(h) - 1] != '$';
}

static int
parse_line(struct auth_db *db, const char *p, size_t len, char *msg,
    size_t msglen)
{
	const char *colon;
	char *user, *hash;
	size_t ulen;

	if (len > AUTH_LINE_MAX) {
		snprintf(msg, msglen, "line longer than %d bytes",
		    AUTH_LINE_MAX);
		return -1;
	}
	if (memchr(p, '\0', len) != NULL) {
		snprintf(msg, msglen, "NUL byte in line");
		return -1;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
		p++;
		len--;
	}
	if (len == 0 || p[0] == '#')
		return 0;
	if ((colon = memchr(p, ':', len)) == NULL || colon == p) {
		snprintf(msg, msglen, "expected user:hash");
		return -1;
	}
	ulen = (size_t)(colon - p);
	if (ulen > AUTH_USER_MAX) {
		snprintf(msg, msglen, "user name longer than %d bytes",
		    AUTH_USER_MAX);
		return -1;
	}
	user = xstrndup(p, ulen);
	hash = xstrndup(colon + 1, len - ulen - 1);
	if (!hash_ok(hash)) {
		/* Never echo what may be a password in plain text. */
		snprintf(msg, msglen, "user \"%.64s\": not a yescrypt ($y$) or "
		    "SHA-512 crypt ($6$) hash", user);
		free(user);
		free(hash);
		return -1;
	}
	if (strmap_add(db->users, user, hash) == -1) {
		snprintf(msg, msglen, "user \"%.64s\" given twice", user);
		free(user);
		free(hash);
		return -1;
	}
	if (db->dummy == NULL)
		db->dummy = xstrndup(hash, (size_t)(strrchr(hash, '$') - hash));
	free(user);
	return 0;
}

int
auth_db_parse(const char *name, const char *text, size_t len,
    struct auth_db **out, char *err, size_t errlen)
{
	struct auth_db *db = xcalloc(1, sizeof(*db));
	char msg[256];
	size_t off = 0, n;
	const char *line;
	int lineno = 0;

	db->refcnt = 1;
	db->path = xstrdup(name);
	db->users = strmap_new();
	while (textline_next(text, len, &off, &line, &n)) {
		lineno++;
		if (parse_line(db, line, n, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, msg);
			auth_db_unref(db);
			return -1;
		}
	}
	if (db->dummy == NULL)
		db->dummy = xstrdup("$6$postern.dummy");
	*out = db;
	return 0;
}

int
auth_db_load(const char *path, struct auth_db **out, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	size_t len;
	int rc;

	if (fileread(path, AUTH_FILE_MAX, &text, &len, &st, err, errlen) == -1)
		return -1;
	if (st.st_mode & S_IROTH)
		log_warnx("%s: readable by everyone: the password hashes "
		    "should not be", path);
	rc = auth_db_parse(path, text, len, out, err, errlen);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

struct auth_db *
auth_db_ref(struct auth_db *db)
{
	if (db)
		__atomic_add_fetch(&db->refcnt, 1, __ATOMIC_RELAXED);
	return db;
}

void
auth_db_unref(struct auth_db *db)
{
	if (db == NULL ||
	    __atomic_sub_fetch(&db->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	strmap_free(db->users, free);
	free(db->dummy);
	free(db->path);
	free(db);
}

size_t
auth_db_count(const struct auth_db *db)
{
	return db ? strmap_count(db->users) : 0;
}

const char *
auth_db_path(const struct auth_db *db)
{
	return db ? db->path : NULL;
}

int
auth_db_check(const struct auth_db *db, const char *user, const char *pass)
{
	struct crypt_data *cd;
	const char *hash, *res;
	int ok = 0;

	if (db == NULL)
		return 0;
	hash = strmap_get(db->users, user);
	cd = xcalloc(1, sizeof(*cd));
	res = crypt_r(pass, hash ? hash : db->dummy, cd);
	if (hash != NULL && res != NULL && res[0] != '*' &&
	    strlen(res) == strlen(hash))
		ok = CRYPTO_memcmp(res, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* ---- the databases of one configuration ---- */

struct auth_set {
	struct strmap	*byvs;		/* vserver name -> struct auth_db */
};

static void
unref_value(void *v)
{
	auth_db_unref(v);
}

/* The database old holds for path, or NULL. */
static struct auth_db *
old_db(const struct auth_set *old, const struct conf *c, const char *path)
{
	struct auth_db *db;

	if (old == NULL)
		return NULL;
	for (size_t i = 0; i < c->nvservers; i++) {
		db = strmap_get(old->byvs, c->vservers[i]->name);
		if (db && strcmp(db->path, path) == 0)
			return db;
	}
	return NULL;
}

int
auth_set_load(const struct conf *c, const struct auth_set *old,
    struct auth_set **out, char *err, size_t errlen)
{
	struct auth_set *set = xcalloc(1, sizeof(*set));
	struct strmap *bypath = strmap_new();
	struct auth_db *db;
	const char *path;

	set->byvs = strmap_new();
	for (size_t i = 0; i < c->nvservers; i++) {
		if ((path = c->vservers[i]->auth_file) == NULL)
			continue;
		errno = 0;
		if ((db = strmap_get(bypath, path)) != NULL)
			auth_db_ref(db);
		else if (auth_db_load(path, &db, err, errlen) == -1) {
			if (errno != EACCES ||
			    (db = old_db(old, c, path)) == NULL) {
				strmap_free(bypath, NULL);
				auth_set_free(set);
				return -1;
			}
			log_warnx("%s; keeping the users read before", err);
			auth_db_ref(db);
			strmap_put(bypath, path, db);
		} else
			strmap_put(bypath, path, db);
		strmap_put(set->byvs, c->vservers[i]->name, db);
	}
	strmap_free(bypath, NULL);	/* the references are set->byvs's */
	*out = set;
	return 0;
}

void
auth_set_free(struct auth_set *set)
{
	if (set == NULL)
		return;
	strmap_free(set->byvs, unref_value);
	free(set);
}

struct auth_db *
auth_set_get(const struct auth_set *set, const char *vsname)
{
	return set ? strmap_get(set->byvs, vsname) : NULL;
}

/* ---- failures per client address ---- */

struct guard_entry {
	unsigned	n;
	uint64_t	since;		/* first failure of the window */
};

struct auth_guard {
	struct strmap	*keys;		/* key -> struct guard_entry */
};

struct auth_guard *
auth_guard_new(void)
{
	struct auth_guard *g = xcalloc(1, sizeof(*g));

	g->keys = strmap_new();
	return g;
}

void
auth_guard_free(struct auth_guard *g)
{
	if (g == NULL)
		return;
	strmap_free(g->keys, free);
	free(g);
}

struct sweep {
	uint64_t	  now;
	char		**expired;
	size_t		  n;
};

static void
sweep_one(const char *key, void *value, void *arg)
{
	struct guard_entry *e = value;
	struct sweep *sw = arg;

	if (sw->now - e->since >= AUTH_FAILURE_WINDOW)
		sw->expired[sw->n++] = xstrdup(key);
}

static void
guard_sweep(struct auth_guard *g, uint64_t now)
{
	struct sweep sw = { now, NULL, 0 };

	sw.expired = xcalloc(strmap_count(g->keys) + 1, sizeof(char *));
	strmap_foreach(g->keys, sweep_one, &sw);
	for (size_t i = 0; i < sw.n; i++) {
		free(strmap_del(g->keys, sw.expired[i]));
		free(sw.expired[i]);
	}
	free(sw.expired);
	if (strmap_count(g->keys) >= AUTH_GUARD_KEYS_MAX) {
		log_warnx("auth: more than %d client addresses with recent "
		    "AUTH failures: forgetting them all", AUTH_GUARD_KEYS_MAX);
		strmap_free(g->keys, free);
		g->keys = strmap_new();
	}
}

unsigned
auth_guard_failures(struct auth_guard *g, const char *key, uint64_t now)
{
	struct guard_entry *e = strmap_get(g->keys, key);

	if (e == NULL)
		return 0;
	if (now - e->since >= AUTH_FAILURE_WINDOW) {
		free(strmap_del(g->keys, key));
		return 0;
	}
	return e->n;
}

unsigned
auth_guard_fail(struct auth_guard *g, const char *key, uint64_t now)
{
	struct guard_entry *e;

	if (auth_guard_failures(g, key, now) == 0) {
		if (strmap_count(g->keys) >= AUTH_GUARD_KEYS_MAX)
			guard_sweep(g, now);
		e = xcalloc(1, sizeof(*e));
		e->since = now;
		strmap_put(g->keys, key, e);
	} else
		e = strmap_get(g->keys, key);
	return ++e->n;
}

unsigned
auth_guard_refund(struct auth_guard *g, const char *key, uint64_t when,
    uint64_t now)
{
	struct guard_entry *e;

	if (auth_guard_failures(g, key, now) == 0)
		return 0;
	e = strmap_get(g->keys, key);
	/* Counted in an earlier window, which is over: nothing to give back
	 * in this one. */
	if (when < e->since)
		return e->n;
	if (--e->n == 0) {
		free(strmap_del(g->keys, key));
		return 0;
	}
	return e->n;
}

/* ---- the verifier ---- */

struct auth_req {
	TAILQ_ENTRY(auth_req)	 entry;
	struct auth_verifier	*v;
	struct auth_db		*db;
	char			 user[AUTH_USER_MAX + 1];
	char			 pass[AUTH_PASS_MAX + 1];
	char			 client[NETADDR_STRLEN];
	auth_verify_cb		 cb;
	void			*arg;
	struct event		*delay;
	int			 ok;
	int			 in_thread;
	int			 cancelled;
};

struct auth_verifier {
	struct event_base	*base;
	struct workpool		*wp;		/* AUTH_VERIFY_QUEUE_MAX */
	struct strmap		*per_client;	/* client -> checks in the
						   pool (uintptr_t) */
	TAILQ_HEAD(, auth_req)	 reqs;		/* not in a thread */
	int			 stopping;
};

static size_t
client_adjust(struct auth_verifier *v, const char *client, int delta)
{
	uintptr_t n = (uintptr_t)strmap_get(v->per_client, client);

	n = (uintptr_t)((intptr_t)n + delta);
	if (n == 0)
		strmap_del(v->per_client, client);
	else
		strmap_put(v->per_client, client, (void *)n);
	return n;
}

static void
req_free(struct auth_req *r)
{
	if (r->delay)
		event_free(r->delay);
	auth_db_unref(r->db);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

static int
verify_work(void *arg)
{
	struct auth_req *r = arg;

	r->ok = auth_db_check(r->db, r->user, r->pass);
	OPENSSL_cleanse(r->pass, sizeof(r->pass));
	return 0;
}

static void
req_finish(struct auth_req *r)
{
	auth_verify_cb cb = r->cb;
	void *arg = r->arg;
	int ok = r->ok;

	TAILQ_REMOVE(&r->v->reqs, r, entry);
	req_free(r);
	cb(arg, ok);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	req_finish(arg);
}

static void
verify_done(void *arg, int result)
{
	struct auth_req *r = arg;
	struct timeval tv = { AUTH_FAILURE_DELAY_MS / 1000,
	    (AUTH_FAILURE_DELAY_MS % 1000) * 1000 };

	(void)result;
	r->in_thread = 0;
	client_adjust(r->v, r->client, -1);
	if (r->cancelled || r->v->stopping) {
		req_free(r);
		return;
	}
	TAILQ_INSERT_TAIL(&r->v->reqs, r, entry);
	if (r->ok)
		tv.tv_sec = tv.tv_usec = 0;
	if ((r->delay = evtimer_new(r->v->base, delay_cb, r)) == NULL) {
		req_finish(r);		/* no timer: answer at once */
		return;
	}
	evtimer_add(r->delay, &tv);
}

struct auth_verifier *
auth_verifier_new(struct event_base *base)
{
	struct auth_verifier *v = xcalloc(1, sizeof(*v));

	v->base = base;
	v->wp = workpool_new_bounded(base, 1, AUTH_VERIFY_QUEUE_MAX);
	v->per_client = strmap_new();
	TAILQ_INIT(&v->reqs);
	return v;
}

void
auth_verifier_free(struct auth_verifier *v)
{
	struct auth_req *r;

	if (v == NULL)
		return;
	v->stopping = 1;
	workpool_free(v->wp);	/* checks in flight end in verify_done */
	while ((r = TAILQ_FIRST(&v->reqs)) != NULL) {
		TAILQ_REMOVE(&v->reqs, r, entry);
		req_free(r);
	}
	strmap_free(v->per_client, NULL);
	free(v);
}

struct auth_req *
auth_verify(struct auth_verifier *v, struct auth_db *db, const char *client,
    const char *user, const char *pass, auth_verify_cb cb, void *arg)
{
	struct auth_req *r;

	if (auth_verifier_client_pending(v, client) >= AUTH_VERIFY_CLIENT_MAX)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->v = v;
	r->db = auth_db_ref(db);
	snprintf(r->client, sizeof(r->client), "%s", client);
	snprintf(r->user, sizeof(r->user), "%s", user);
	snprintf(r->pass, sizeof(r->pass), "%s", pass);
	r->cb = cb;
	r->arg = arg;
	r->in_thread = 1;
	if (workpool_try_run(v->wp, verify_work, verify_done, r) == -1) {
		req_free(r);		/* wipes the password */
		return NULL;
	}
	client_adjust(v, r->client, 1);	/* verify_done runs later, here */
	return r;
}

size_t
auth_verifier_pending(const struct auth_verifier *v)
{
	return workpool_pending(v->wp);
}

size_t
auth_verifier_client_pending(const struct auth_verifier *v,
    const char *client)
{
	return (uintptr_t)strmap_get(v->per_client, client);
}

void
auth_verify_cancel(struct auth_req *r)
{
	if (r == NULL)
		return;
	if (r->in_thread) {
		r->cancelled = 1;	/* freed by verify_done */
		return;
	}
	TAILQ_REMOVE(&r->v->reqs, r, entry);
	req_free(r);
}
