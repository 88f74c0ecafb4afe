/*
 * cluster_view — see cluster_view.h.
 */
#include "cluster_view.h"
#include "cluster_node.h"
#include "control_proto.h"
#include "kv.h"
#include "log.h"
#include "queue.h"
#include "queue_state.h"
#include "scheduler.h"
#include "strmap.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DESTS_MAX	4096	/* distinct destinations counted */

struct cluster_view {
	struct kv_req		*req;
	int			 queue;
	cluster_view_rec_cb	 rec;
	cluster_view_done_cb	 done;
	void			*arg;
	size_t			 nmsgs;
	const char		*node;	/* the listing being sent */
};

/* ---- the summary this node publishes ---- */

struct top {
	struct { const char *name; uintptr_t n; } d[CLUSTER_DEST_MAX];
	size_t	nd;
};

static void
top_add(const char *key, void *value, void *arg)
{
	struct top *t = arg;
	uintptr_t n = (uintptr_t)value;
	size_t i;

	if (t->nd == CLUSTER_DEST_MAX && n <= t->d[t->nd - 1].n)
		return;
	if (t->nd < CLUSTER_DEST_MAX)
		t->nd++;
	for (i = t->nd - 1; i > 0 && t->d[i - 1].n < n; i--)
		t->d[i] = t->d[i - 1];
	t->d[i].name = key;
	t->d[i].n = n;
}

void
cluster_view_fill(struct cluster_summary *s, void *arg)
{
	struct scheduler *sched = arg;
	struct scheduler_stats st;
	struct scheduler_msg m;
	char (*ids)[QUEUE_ID_LEN + 1] = NULL;
	struct strmap *dests;
	struct top top;
	size_t nids, i, j;
	int listing = 1;

	if (sched == NULL)
		return;
	scheduler_stats(sched, &st);
	cluster_summary_queue(s, st.queued, st.held, (int64_t)st.oldest);
	dests = strmap_new();
	nids = scheduler_ids(sched, &ids);
	for (i = 0; i < nids; i++) {
		const struct queue_envelope *env;

		if (!listing && i >= CLUSTER_SCAN_MAX) {
			/* counted in the listing's total only */
			(void)cluster_summary_msg(s, ids[i], 0, 0, "", 0);
			continue;
		}
		if (scheduler_get(sched, ids[i], &m) == -1)
			continue;
		env = m.env;
		if (i < CLUSTER_SCAN_MAX && m.qs->attempts > 0)
			for (j = 0; j < env->nrcpts; j++) {
				const char *at = strrchr(env->rcpts[j].addr,
				    '@');
				uintptr_t n;

				if (m.qs->st[j] != RCPT_PENDING || at == NULL)
					continue;
				n = (uintptr_t)strmap_get(dests, at + 1);
				if (n == 0 && strmap_count(dests) >= DESTS_MAX)
					continue;
				strmap_put(dests, at + 1, (void *)(n + 1));
			}
		if (listing && cluster_summary_msg(s, env->id,
		    (int64_t)env->received, env->size, env->sender,
		    env->nrcpts) == -1)
			listing = 0;
		for (j = 0; listing && j < env->nrcpts; j++)
			cluster_summary_rcpt(s, env->rcpts[j].addr,
			    m.held ? "held" : m.qs->st[j] == RCPT_DELIVERED ?
			    "delivered" : m.qs->st[j] == RCPT_FAILED ?
			    "failed" : m.qs->attempts > 0 ? "deferred" :
			    "pending");
	}
	memset(&top, 0, sizeof(top));
	strmap_foreach(dests, top_add, &top);
	for (i = 0; i < top.nd; i++)
		cluster_summary_deferred(s, top.d[i].name, top.d[i].n);
	strmap_free(dests, NULL);
	free(ids);
}

/* ---- posternctl cluster ---- */

static void
send_node(struct cluster_view *v, const struct cluster_node_rec *r)
{
	char up[32], seen[32], msgs[32], held[32], oldest[32];
	char deferred[CLUSTER_DEST_MAX * (CLUSTER_DEST_LEN + 24)];
	const char *f[CTL_NODE_NFIELDS] = { r->name, up, seen, msgs, held,
	    oldest, deferred };
	size_t i, off = 0;

	snprintf(up, sizeof(up), "%" PRId64, r->up_since);
	snprintf(seen, sizeof(seen), "%" PRId64, r->last_seen);
	snprintf(msgs, sizeof(msgs), "%" PRIu64, r->messages);
	snprintf(held, sizeof(held), "%" PRIu64, r->held);
	snprintf(oldest, sizeof(oldest), "%" PRId64, r->oldest);
	deferred[0] = '\0';
	for (i = 0; i < r->ndests && off < sizeof(deferred); i++)
		off += (size_t)snprintf(deferred + off, sizeof(deferred) - off,
		    "%s%s=%" PRIu64, i ? " " : "", r->dests[i].name,
		    r->dests[i].deferred);
	v->rec(v->arg, CTL_REC_NODE, f, CTL_NODE_NFIELDS);
}

static void
send_qmsg(const struct cluster_qmsg *m, void *arg)
{
	struct cluster_view *v = arg;
	char arrival[32], age[32], size[32], total[32];
	const char *f[CTL_NODE_MSG_NFIELDS] = { v->node, m->id, arrival, age,
	    size, m->sender, total };
	size_t i;

	snprintf(arrival, sizeof(arrival), "%" PRId64, m->arrival);
	snprintf(age, sizeof(age), "%lld", m->arrival > 0 ?
	    (long long)time(NULL) - (long long)m->arrival : 0);
	snprintf(size, sizeof(size), "%" PRIu64, m->size);
	snprintf(total, sizeof(total), "%" PRIu64, m->total_rcpts);
	v->rec(v->arg, CTL_REC_NODE_MSG, f, CTL_NODE_MSG_NFIELDS);
	for (i = 0; i < m->nrcpts; i++) {
		const char *r[CTL_RCPT_NFIELDS] = { m->rcpts[i].address,
		    m->rcpts[i].state, "" };

		v->rec(v->arg, CTL_REC_RCPT, r, CTL_RCPT_NFIELDS);
	}
	v->nmsgs++;
}

struct named {
	char		 name[CLUSTER_NAME_MAX + 1];
	const char	*val;
	size_t		 len;
};

static int
cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name,
	    ((const struct named *)b)->name);
}

static void
listed(enum kv_status st, const char *const *vals, const size_t *lens,
    size_t n, void *arg)
{
	struct cluster_view *v = arg;
	struct cluster_node_rec *rec;
	struct named *nv;
	char summary[64];
	uint64_t total;
	size_t i, k = 0;

	v->req = NULL;
	if (st != KV_OK) {
		v->done(v->arg, st == KV_TIMEOUT ? "cluster: redis did not "
		    "answer within the cluster timeout" : st == KV_DOWN ?
		    "cluster: redis is unreachable (see the log)" :
		    "cluster: redis answered with an error", NULL);
		free(v);
		return;
	}
	rec = xmalloc(sizeof(*rec));
	nv = xcalloc(n > 0 ? n : 1, sizeof(*nv));
	for (i = 0; i < n; i++) {
		int bad;

		if (!v->queue) {
			bad = cluster_node_parse(vals[i], lens[i], rec) == -1;
			if (!bad)
				memcpy(nv[k].name, rec->name,
				    sizeof(rec->name));
		} else
			bad = cluster_queue_parse(vals[i], lens[i],
			    nv[k].name, &total, NULL, NULL) == -1;
		if (bad) {
			log_warnx("cluster: a node %s in redis is not valid; "
			    "ignored", v->queue ? "listing" : "record");
			continue;
		}
		nv[k].val = vals[i];
		nv[k++].len = lens[i];
	}
	qsort(nv, k, sizeof(*nv), cmp_named);
	for (i = 0; i < k; i++) {
		if (!v->queue) {
			if (cluster_node_parse(nv[i].val, nv[i].len, rec) == 0)
				send_node(v, rec);
			continue;
		}
		v->node = nv[i].name;
		if (cluster_queue_parse(nv[i].val, nv[i].len, nv[i].name,
		    &total, send_qmsg, v) == -1)
			log_warnx("cluster: the queue listing of node %s in "
			    "redis is not valid", nv[i].name);
	}
	if (v->queue)
		snprintf(summary, sizeof(summary), "%zu message(s) on %zu "
		    "node(s)", v->nmsgs, k);
	else
		snprintf(summary, sizeof(summary), "%zu node(s)", k);
	free(nv);
	free(rec);
	v->done(v->arg, NULL, summary);
	free(v);
}

struct cluster_view *
cluster_view_start(struct kv *kv, int queue, cluster_view_rec_cb rec,
    cluster_view_done_cb done, void *arg)
{
	struct cluster_view *v;

	v = xcalloc(1, sizeof(*v));
	v->queue = queue;
	v->rec = rec;
	v->done = done;
	v->arg = arg;
	v->req = kv_set_values(kv, CLUSTER_SET, queue ? CLUSTER_QUEUE_PREFIX :
	    KV_NODE_KEY_PREFIX, listed, v);
	return v;
}

void
cluster_view_cancel(struct cluster_view *v)
{
	if (v == NULL)
		return;
	kv_cancel(v->req);
	free(v);
}
