/*
 * cluster_node — see cluster_node.h.  The summary is built as jansson
 * values while the caller fills it, with a running estimate of the
 * listing's size so that filling stops early; the listing is then dumped
 * and, should escapes have made it longer than KV_VALUE_MAX after all,
 * shortened from its end until it fits.
 */
#include "cluster_node.h"
#include "log.h"
#include "xmalloc.h"

#include <event2/event.h>
#include <jansson.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the listing's messages may take by the estimate, leaving room for
 * what the estimate misses (escapes are checked after the dump). */
#define QUEUE_BUDGET	(KV_VALUE_MAX - 8 * 1024)

struct cluster_summary {
	json_t		*queue;		/* the record's "queue" */
	json_t		*deferred;
	json_t		*msgs;		/* the listing's messages */
	json_t		*cur;		/* the message being given */
	size_t		 est;		/* bytes of msgs, estimated */
	int		 full;
	uint64_t	 total;		/* messages given or refused */
};

struct cluster_node {
	struct event_base	*base;
	struct kv		*kv;
	char			*name;
	cluster_fill_cb		 fill;
	void			*arg;
	int64_t			 up_since;
	struct event		*timer;
	struct kv_req		*req[3];	/* record, listing, set */
	int			 failed;	/* this beat */
	int			 outage;	/* the last beat failed */
};

/* ---- the summary ---- */

void
cluster_summary_queue(struct cluster_summary *s, uint64_t messages,
    uint64_t held, int64_t oldest)
{
	json_object_set_new(s->queue, "messages", json_integer(
	    (json_int_t)messages));
	json_object_set_new(s->queue, "held", json_integer((json_int_t)held));
	json_object_set_new(s->queue, "oldest", json_integer(oldest));
}

void
cluster_summary_deferred(struct cluster_summary *s, const char *dest,
    uint64_t n)
{
	if (json_object_size(s->deferred) >= CLUSTER_DEST_MAX ||
	    strlen(dest) > CLUSTER_DEST_LEN || *dest == '\0')
		return;
	json_object_set_new(s->deferred, dest, json_integer((json_int_t)n));
}

static size_t
bounded(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > max ? max : n;
}

int
cluster_summary_msg(struct cluster_summary *s, const char *id,
    int64_t arrival, uint64_t size, const char *sender, uint64_t nrcpts)
{
	size_t cost = strlen(id) + strlen(sender) + 96;

	s->total++;
	s->cur = NULL;
	if (s->full || json_array_size(s->msgs) >= CLUSTER_QMSG_MAX ||
	    s->est + cost > QUEUE_BUDGET) {
		s->full = 1;
		return -1;
	}
	s->est += cost;
	s->cur = json_pack("{s:s%, s:I, s:I, s:s%, s:[], s:I}",
	    "id", id, bounded(id, CLUSTER_ID_LEN),
	    "arrival", (json_int_t)arrival, "size", (json_int_t)size,
	    "sender", sender, bounded(sender, CLUSTER_ADDR_LEN),
	    "recipients", "total_recipients", (json_int_t)nrcpts);
	if (s->cur == NULL)	/* not UTF-8 */
		return 0;
	json_array_append_new(s->msgs, s->cur);
	return 0;
}

void
cluster_summary_rcpt(struct cluster_summary *s, const char *address,
    const char *state)
{
	json_t *r, *rcpts;
	size_t cost = strlen(address) + strlen(state) + 32;

	if (s->cur == NULL || s->full)
		return;
	rcpts = json_object_get(s->cur, "recipients");
	if (json_array_size(rcpts) >= CLUSTER_QRCPT_MAX ||
	    s->est + cost > QUEUE_BUDGET)
		return;
	r = json_pack("{s:s%, s:s%}", "address", address,
	    bounded(address, CLUSTER_ADDR_LEN), "state", state,
	    bounded(state, CLUSTER_STATE_LEN));
	if (r == NULL)
		return;
	s->est += cost;
	json_array_append_new(rcpts, r);
}

void
cluster_node_render(const char *name, int64_t up_since, cluster_fill_cb fill,
    void *arg, char **rec, char **queue)
{
	struct cluster_summary s;
	json_t *r, *q;
	size_t n;

	memset(&s, 0, sizeof(s));
	s.queue = json_pack("{s:i, s:i, s:i}", "messages", 0, "held", 0,
	    "oldest", 0);
	s.deferred = json_object();
	s.msgs = json_array();
	fill(&s, arg);
	json_object_set_new(s.queue, "deferred", s.deferred);
	r = json_pack("{s:s, s:I, s:I, s:o}", "name", name,
	    "up_since", (json_int_t)up_since,
	    "last_seen", (json_int_t)time(NULL), "queue", s.queue);
	q = json_pack("{s:s, s:I, s:b, s:o}", "node", name,
	    "total", (json_int_t)s.total, "truncated",
	    s.total > json_array_size(s.msgs), "messages", s.msgs);
	if (r == NULL || q == NULL)
		fatalx("cluster_node: json_pack");
	*rec = json_dumps(r, JSON_COMPACT);
	for (;;) {
		*queue = json_dumps(q, JSON_COMPACT);
		if (*queue == NULL || strlen(*queue) <= KV_VALUE_MAX ||
		    (n = json_array_size(s.msgs)) == 0)
			break;
		free(*queue);
		for (size_t k = n / 8 + 1; k > 0 && n > 0; k--)
			json_array_remove(s.msgs, --n);
		json_object_set_new(q, "truncated", json_true());
	}
	if (*rec == NULL || *queue == NULL)
		fatalx("cluster_node: json_dumps");
	json_decref(r);
	json_decref(q);
}

/* ---- the heartbeat ---- */

static void beat(evutil_socket_t, short, void *);

static void
beat_next(struct cluster_node *n)
{
	struct timeval tv = { n->failed ? 1 : CLUSTER_BEAT_S, 0 };

	if (n->failed && !n->outage)
		log_debug("cluster: node %s: heartbeat not written; trying "
		    "every second", n->name);
	n->outage = n->failed;
	evtimer_add(n->timer, &tv);
}

static void
beat_done(struct cluster_node *n, int i, enum kv_status st)
{
	n->req[i] = NULL;
	if (st != KV_OK)
		n->failed = 1;
	if (n->req[0] == NULL && n->req[1] == NULL && n->req[2] == NULL)
		beat_next(n);
}

static void
rec_done(enum kv_status st, long long v, void *arg)
{
	(void)v;
	beat_done(arg, 0, st);
}

static void
queue_done(enum kv_status st, long long v, void *arg)
{
	(void)v;
	beat_done(arg, 1, st);
}

static void
set_done(enum kv_status st, long long v, void *arg)
{
	(void)v;
	beat_done(arg, 2, st);
}

static void
beat(evutil_socket_t fd, short ev, void *arg)
{
	struct cluster_node *n = arg;
	char key[KV_KEY_MAX + 1], *rec, *queue;
	struct kv_stats st;

	(void)fd;
	(void)ev;
	/* Not connected: nothing is asked (the failures counted in the
	 * metrics are the callers'), and the first beat follows a second
	 * after the store is back. */
	kv_stats(n->kv, &st);
	n->failed = !st.up;
	if (n->failed) {
		beat_next(n);
		return;
	}
	cluster_node_render(n->name, n->up_since, n->fill, n->arg, &rec,
	    &queue);
	snprintf(key, sizeof(key), "%s%s", KV_NODE_KEY_PREFIX, n->name);
	n->req[0] = kv_set_ex(n->kv, key, rec, strlen(rec), CLUSTER_TTL_S,
	    rec_done, n);
	snprintf(key, sizeof(key), "%s%s", CLUSTER_QUEUE_PREFIX, n->name);
	n->req[1] = kv_set_ex(n->kv, key, queue, strlen(queue),
	    CLUSTER_TTL_S, queue_done, n);
	n->req[2] = kv_set_add(n->kv, CLUSTER_SET, n->name, CLUSTER_TTL_S,
	    set_done, n);
	free(rec);
	free(queue);
}

struct cluster_node *
cluster_node_new(struct event_base *base, struct kv *kv, const char *name,
    cluster_fill_cb fill, void *arg)
{
	struct cluster_node *n;
	struct timeval now = { 0, 0 };

	n = xcalloc(1, sizeof(*n));
	n->base = base;
	n->kv = kv;
	n->name = xstrndup(name, CLUSTER_NAME_MAX);
	n->fill = fill;
	n->arg = arg;
	n->up_since = (int64_t)time(NULL);
	if ((n->timer = evtimer_new(base, beat, n)) == NULL)
		fatalx("cluster_node: evtimer_new");
	evtimer_add(n->timer, &now);
	return n;
}

void
cluster_node_free(struct cluster_node *n)
{
	if (n == NULL)
		return;
	for (int i = 0; i < 3; i++)
		kv_cancel(n->req[i]);
	event_free(n->timer);
	free(n->name);
	free(n);
}

/* ---- reading back ---- */

static int
get_str(json_t *o, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(o, key);
	size_t len;

	if (!json_is_string(v))
		return -1;
	len = json_string_length(v);
	if (len >= size || memchr(json_string_value(v), '\0', len) != NULL)
		return -1;
	memcpy(buf, json_string_value(v), len + 1);
	return 0;
}

static int
get_int(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int
get_uint(json_t *o, const char *key, uint64_t *out)
{
	int64_t v;

	if (get_int(o, key, &v) == -1)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static json_t *
load(const char *json, size_t len)
{
	json_error_t e;

	if (len > KV_VALUE_MAX)
		return NULL;
	return json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
}

int
cluster_node_parse(const char *json, size_t len, struct cluster_node_rec *out)
{
	json_t *r, *q, *d, *v;
	const char *k;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((r = load(json, len)) == NULL)
		return -1;
	q = json_object_get(r, "queue");
	d = json_object_get(q, "deferred");
	if (!json_is_object(r) || !json_is_object(q) || !json_is_object(d) ||
	    get_str(r, "name", out->name, sizeof(out->name)) == -1 ||
	    out->name[0] == '\0' ||
	    get_int(r, "up_since", &out->up_since) == -1 ||
	    get_int(r, "last_seen", &out->last_seen) == -1 ||
	    get_uint(q, "messages", &out->messages) == -1 ||
	    get_uint(q, "held", &out->held) == -1 ||
	    get_int(q, "oldest", &out->oldest) == -1 ||
	    json_object_size(d) > CLUSTER_DEST_MAX)
		goto out;
	json_object_foreach(d, k, v) {
		struct cluster_dest *cd = &out->dests[out->ndests];

		if (strlen(k) > CLUSTER_DEST_LEN || !json_is_integer(v) ||
		    json_integer_value(v) < 0)
			goto out;
		memcpy(cd->name, k, strlen(k) + 1);
		cd->deferred = (uint64_t)json_integer_value(v);
		out->ndests++;
	}
	rc = 0;
 out:
	json_decref(r);
	return rc;
}

static int
msg_parse(json_t *m, struct cluster_qmsg *out)
{
	json_t *rs, *r;
	size_t i;

	memset(out, 0, sizeof(*out));
	rs = json_object_get(m, "recipients");
	if (!json_is_object(m) || !json_is_array(rs) ||
	    json_array_size(rs) > CLUSTER_QRCPT_MAX ||
	    get_str(m, "id", out->id, sizeof(out->id)) == -1 ||
	    get_int(m, "arrival", &out->arrival) == -1 ||
	    get_uint(m, "size", &out->size) == -1 ||
	    get_str(m, "sender", out->sender, sizeof(out->sender)) == -1 ||
	    get_uint(m, "total_recipients", &out->total_rcpts) == -1)
		return -1;
	json_array_foreach(rs, i, r) {
		struct cluster_qrcpt *qr = &out->rcpts[out->nrcpts];

		if (get_str(r, "address", qr->address,
		    sizeof(qr->address)) == -1 ||
		    get_str(r, "state", qr->state, sizeof(qr->state)) == -1)
			return -1;
		out->nrcpts++;
	}
	return 0;
}

int
cluster_queue_parse(const char *json, size_t len, char *node,
    uint64_t *total, void (*each)(const struct cluster_qmsg *, void *),
    void *arg)
{
	struct cluster_qmsg *qm;
	json_t *q, *ms, *m;
	size_t i;
	int rc = -1;

	*node = '\0';
	*total = 0;
	if ((q = load(json, len)) == NULL)
		return -1;
	ms = json_object_get(q, "messages");
	qm = xmalloc(sizeof(*qm));
	if (!json_is_object(q) || !json_is_array(ms) ||
	    json_array_size(ms) > CLUSTER_QMSG_MAX ||
	    get_str(q, "node", node, CLUSTER_NAME_MAX + 1) == -1 ||
	    get_uint(q, "total", total) == -1)
		goto out;
	json_array_foreach(ms, i, m) {
		if (msg_parse(m, qm) == -1)
			goto out;
		if (each != NULL)
			each(qm, arg);
	}
	rc = 0;
 out:
	free(qm);
	json_decref(q);
	return rc;
}
