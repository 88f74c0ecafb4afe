/*
 * smtp_limits — shared limits with the local answer as the fallback; see
 * smtp_limits.h.
 *
 * A request holds at most two store requests (greylisting asks two
 * things at once); its answer is given when the last of them has
 * answered.  Fire-and-forget writes (a connection closed, an AUTH
 * failure, a greylist pass) go out with a callback that ignores the
 * answer: nobody waits for them and nothing cancels them.
 */
#include "smtp_limits.h"
#include "conf.h"
#include "kv.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct smtp_limits {
	struct kv		*kv;		/* borrowed, or NULL */
	char			*node;
	struct greylist		*gl;
};

enum req_kind { REQ_RATE, REQ_CONN, REQ_AUTH, REQ_GREY };

struct smtp_limits_req {
	struct smtp_limits	*lim;
	enum req_kind		 kind;
	struct kv_req		*kr[2];
	enum kv_status		 st[2];
	long long		 val[2];
	int			 nwait;
	long long		 local;		/* the fallback answer */
	long long		 limit;
	char			 key[KV_KEY_MAX];	/* conn: to give back;
							   grey: the pass key */
	unsigned		 ttl;		/* grey: the pass key's */
	unsigned		 delay;
	smtp_limits_cb		 cb;
	void			*arg;
};

struct smtp_limits *
smtp_limits_new(void)
{
	struct smtp_limits *lim = xcalloc(1, sizeof(*lim));

	lim->gl = greylist_new(0);
	return lim;
}

void
smtp_limits_free(struct smtp_limits *lim)
{
	if (lim == NULL)
		return;
	greylist_free(lim->gl);
	free(lim->node);
	free(lim);
}

void
smtp_limits_set_kv(struct smtp_limits *lim, struct kv *kv, const char *node)
{
	lim->kv = kv;
	free(lim->node);
	lim->node = xstrdup(node ? node : "node");
}

int
smtp_limits_shared(const struct smtp_limits *lim)
{
	return lim != NULL && lim->kv != NULL;
}

void
smtp_limits_cancel(struct smtp_limits_req *req)
{
	if (req == NULL)
		return;
	for (int i = 0; i < 2; i++)
		if (req->kr[i] != NULL)
			kv_cancel(req->kr[i]);
	free(req);
}

/* "PREFIX:VS:CLIENT" */
static void
client_key(char *buf, size_t len, const char *prefix, const char *vsname,
    const struct sockaddr *client)
{
	char c[NETADDR_STRLEN];

	snprintf(buf, len, "%s:%.64s:%s", prefix, vsname,
	    netaddr_limit_key(client, c, sizeof(c)));
}

static struct smtp_limits_req *
req_new(struct smtp_limits *lim, enum req_kind kind, long long local,
    smtp_limits_cb cb, void *arg)
{
	struct smtp_limits_req *req = xcalloc(1, sizeof(*req));

	req->lim = lim;
	req->kind = kind;
	req->local = local;
	req->cb = cb;
	req->arg = arg;
	return req;
}

static void
ignore_int(enum kv_status st, long long value, void *arg)
{
	(void)st;
	(void)value;
	(void)arg;
}

/* Every store request has answered: the answer, from the store or
 * local. */
static void
req_done(struct smtp_limits_req *req)
{
	struct smtp_limits *lim = req->lim;
	long long answer = req->local;
	int ok = req->st[0] == KV_OK && (req->nwait < 2 || req->st[1] == KV_OK);

	switch (req->kind) {
	case REQ_RATE:
		if (ok)
			answer = req->val[0] <= req->limit;
		break;
	case REQ_CONN:
		if (ok && req->val[0] > req->limit) {
			answer = 0;
			(void)kv_count_adjust(lim->kv, req->key, lim->node, -1,
			    SMTP_LIMITS_CONN_TTL, ignore_int, NULL);
		}
		break;
	case REQ_AUTH:
		if (ok && req->val[0] > answer)
			answer = req->val[0];
		break;
	case REQ_GREY:
		if (!ok)
			break;
		answer = greylist_decide(req->val[0] != 0, req->val[1],
		    req->delay);
		if (answer == GREYLIST_PASS)
			(void)kv_set_ex(lim->kv, req->key, "1", 1, req->ttl,
			    ignore_int, NULL);
		break;
	}
	req->cb(req->arg, answer);
	free(req);
}

static void
int_answer(struct smtp_limits_req *req, int i, enum kv_status st,
    long long value)
{
	req->kr[i] = NULL;
	req->st[i] = st;
	req->val[i] = value;
	if (req->kr[0] == NULL && req->kr[1] == NULL)
		req_done(req);
}

static void
int_cb0(enum kv_status st, long long value, void *arg)
{
	int_answer(arg, 0, st, value);
}

static void
int_cb1(enum kv_status st, long long value, void *arg)
{
	int_answer(arg, 1, st, value);
}

/* A GET: 1 or the number it holds, 0 when the key does not exist. */
static void
str_cb0(enum kv_status st, const char *value, size_t len, void *arg)
{
	char num[24];
	long long n = 0;

	if (st == KV_OK && value != NULL) {
		snprintf(num, sizeof(num), "%.*s",
		    (int)(len < sizeof(num) - 1 ? len : sizeof(num) - 1),
		    value);
		n = strtoll(num, NULL, 10);
		if (n <= 0)
			n = 1;
	}
	int_answer(arg, 0, st, n);
}

/* A request the store would not take: the local answer, from nowhere
 * (the caller decides at once). */
static struct smtp_limits_req *
req_started(struct smtp_limits_req *req)
{
	if (req->kr[0] == NULL && req->nwait > 0) {
		smtp_limits_cancel(req);
		return NULL;
	}
	return req;
}

struct smtp_limits_req *
smtp_limits_rate(struct smtp_limits *lim, const struct conf_vserver *vs,
    const struct sockaddr *client, int local_ok, smtp_limits_cb cb,
    void *arg)
{
	struct smtp_limits_req *req;
	char key[KV_KEY_MAX];

	if (!smtp_limits_shared(lim) || vs->filter.rate_limit == 0)
		return NULL;
	client_key(key, sizeof(key), "rl", vs->name, client);
	req = req_new(lim, REQ_RATE, local_ok, cb, arg);
	req->limit = vs->filter.rate_limit;
	req->nwait = 1;
	req->kr[0] = kv_window_hit(lim->kv, key, vs->filter.rate_limit,
	    RATELIMIT_WINDOW_SECS, int_cb0, req);
	return req_started(req);
}

struct smtp_limits_req *
smtp_limits_conn_open(struct smtp_limits *lim, const struct conf_vserver *vs,
    const struct sockaddr *client, smtp_limits_cb cb, void *arg)
{
	struct smtp_limits_req *req;

	if (!smtp_limits_shared(lim))
		return NULL;
	req = req_new(lim, REQ_CONN, 1, cb, arg);
	client_key(req->key, sizeof(req->key), "conn", vs->name, client);
	req->limit = vs->max_connections_per_ip;
	req->nwait = 1;
	req->kr[0] = kv_count_adjust(lim->kv, req->key, lim->node, 1,
	    SMTP_LIMITS_CONN_TTL, int_cb0, req);
	return req_started(req);
}

void
smtp_limits_conn_close(struct smtp_limits *lim, const char *vsname,
    const struct sockaddr *client)
{
	char key[KV_KEY_MAX];

	if (!smtp_limits_shared(lim))
		return;
	client_key(key, sizeof(key), "conn", vsname, client);
	(void)kv_count_adjust(lim->kv, key, lim->node, -1,
	    SMTP_LIMITS_CONN_TTL, ignore_int, NULL);
}

struct smtp_limits_req *
smtp_limits_auth_count(struct smtp_limits *lim, const struct conf_vserver *vs,
    const struct sockaddr *client, unsigned local_n, smtp_limits_cb cb,
    void *arg)
{
	struct smtp_limits_req *req;
	char key[KV_KEY_MAX];

	if (!smtp_limits_shared(lim))
		return NULL;
	client_key(key, sizeof(key), "authfail", vs->name, client);
	req = req_new(lim, REQ_AUTH, local_n, cb, arg);
	req->nwait = 1;
	req->kr[0] = kv_get(lim->kv, key, str_cb0, req);
	return req_started(req);
}

void
smtp_limits_auth_fail(struct smtp_limits *lim, const struct conf_vserver *vs,
    const struct sockaddr *client)
{
	char key[KV_KEY_MAX];

	if (!smtp_limits_shared(lim))
		return;
	client_key(key, sizeof(key), "authfail", vs->name, client);
	(void)kv_incr_expire(lim->kv, key, 1, SMTP_LIMITS_AUTH_TTL,
	    ignore_int, NULL);
}

struct smtp_limits_req *
smtp_limits_greylist(struct smtp_limits *lim, const struct conf_vserver *vs,
    const struct sockaddr *client, const char *sender, const char *rcpt,
    int peek, enum greylist_verdict *now, smtp_limits_cb cb, void *arg)
{
	const struct conf_filter *f = &vs->filter;
	struct smtp_limits_req *req;
	struct greylist_key k;
	char key[KV_KEY_MAX];

	greylist_key(&k, vs->name, client, sender ? sender : "", rcpt);
	if (lim == NULL) {
		*now = GREYLIST_NEW;
		return NULL;
	}
	*now = greylist_check(lim->gl, &k, f->greylist_delay,
	    f->greylist_allow, ratelimit_now(), !peek);
	if (peek || !smtp_limits_shared(lim))
		return NULL;
	req = req_new(lim, REQ_GREY, *now, cb, arg);
	req->delay = f->greylist_delay;
	if (f->greylist_allow > 0) {
		snprintf(req->key, sizeof(req->key), "greyok:%s", k.client);
		req->ttl = f->greylist_allow;
	} else {
		snprintf(req->key, sizeof(req->key), "greyok:%s", k.triplet);
		req->ttl = GREYLIST_PASS_SECS;
	}
	snprintf(key, sizeof(key), "grey:%s", k.triplet);
	req->nwait = 2;
	/* Both at once: one round trip. */
	req->kr[0] = kv_get(lim->kv, req->key, str_cb0, req);
	req->kr[1] = kv_first_seen(lim->kv, key,
	    f->greylist_delay + GREYLIST_RETRY_SECS, int_cb1, req);
	if (req->kr[0] == NULL || req->kr[1] == NULL) {
		smtp_limits_cancel(req);
		return NULL;
	}
	return req;
}

