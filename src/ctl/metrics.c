/*
 * metrics — the collector and the Prometheus endpoint; see metrics.h.
 */
#include "metrics.h"
#include "arc.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "kv.h"
#include "spf.h"
#include "buf.h"
#include "conf.h"
#include "control_env.h"
#include "log.h"
#include "netaddr.h"
#include "policy.h"
#include "queue.h"
#include "resolver.h"
#include "scheduler.h"
#include "smtp_server.h"
#include "smtp_session.h"
#include "xmalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define METRICS_TEXT_MAX	(4 * 1024 * 1024)

struct metrics {
	struct evhttp			*http;
	const struct control_env	*env;
	evutil_socket_t			 fd;
};

static void
emit_counter(metrics_emit_fn emit, void *arg, const char *name,
    const char *help, uint64_t v)
{
	emit(arg, name, "counter", help, "", "", (double)v);
}

static void
emit_gauge(metrics_emit_fn emit, void *arg, const char *name,
    const char *help, double v)
{
	emit(arg, name, "gauge", help, "", "", v);
}

/* Message authentication results by method and result. */
static void
auth_results(const char *method, const uint64_t *v, int n,
    const char *(*name)(int), metrics_emit_fn emit, void *arg)
{
	char label[96];

	for (int i = 0; i < n && i < SMTP_AUTHRES_MAX; i++) {
		snprintf(label, sizeof(label), "method=\"%s\",result=\"%s\"",
		    method, name(i));
		emit(arg, "postern_auth_results_total", "counter",
		    "message authentication results (SPF, DKIM per signature, "
		    "DMARC, ARC)", "", label, (double)v[i]);
	}
}

static const char *
spf_name(int i)
{
	return spf_result_name((enum spf_result)i);
}

static const char *
dkim_name(int i)
{
	return dkim_result_name((enum dkim_result)i);
}

static const char *
dmarc_name(int i)
{
	return dmarc_result_name((enum dmarc_result)i);
}

static const char *
arc_name(int i)
{
	return arc_result_name((enum arc_result)i);
}

static void
collect_auth(const struct smtp_session_counters *sc, metrics_emit_fn emit,
    void *arg)
{
	auth_results("spf", sc->spf, SPF_PERMERROR + 1, spf_name, emit, arg);
	auth_results("dkim", sc->dkim, DKIM_PERMERROR + 1, dkim_name, emit,
	    arg);
	auth_results("dmarc", sc->dmarc, DMARC_PERMERROR + 1, dmarc_name,
	    emit, arg);
	auth_results("arc", sc->arc, ARC_FAIL + 1, arc_name, emit, arg);
	emit_counter(emit, arg, "postern_dkim_signatures_total",
	    "DKIM signatures made on accepted mail", sc->dkim_signed);
}

static void
collect_server(const struct control_env *env, metrics_emit_fn emit, void *arg)
{
	struct smtp_server_stats ss;
	const struct smtp_session_counters *sc;
	char label[96];

	smtp_server_stats(env->server, &ss);
	sc = smtp_server_counters(env->server);
	emit_counter(emit, arg, "postern_connections_total",
	    "SMTP connections accepted", ss.connections);
	emit_counter(emit, arg, "postern_connections_refused_total",
	    "SMTP connections refused at once (max-connections, "
	    "max-connections-per-ip)", ss.refused_connections);
	emit_gauge(emit, arg, "postern_connections_active",
	    "SMTP sessions open now", (double)ss.active);
	emit_counter(emit, arg, "postern_messages_received_total",
	    "messages accepted and queued", sc->accepted);
	for (int r = 0; r < POLICY_RULE_COUNT; r++) {
		snprintf(label, sizeof(label), "rule=\"%s\"",
		    policy_rule_name((enum policy_rule)r));
		emit(arg, "postern_refused_total", "counter",
		    "refusals by filtering or policy rule", "", label,
		    (double)sc->refused[r]);
	}
	emit_counter(emit, arg, "postern_dnsbl_failures_total",
	    "DNSBL lookups that failed (the client was let in)",
	    sc->dnsbl_failures);
	collect_auth(sc, emit, arg);
}

static void
collect_queue(const struct control_env *env, metrics_emit_fn emit, void *arg)
{
	struct scheduler_stats st;
	struct queue_writer_stats qw;
	time_t now = time(NULL);
	uint64_t cum = 0;
	char label[64];

	scheduler_stats(env->sched, &st);
	emit_counter(emit, arg, "postern_recipients_delivered_total",
	    "recipients delivered", st.delivered);
	emit_counter(emit, arg, "postern_recipients_deferred_total",
	    "recipient delivery tries that failed temporarily", st.deferred);
	emit_counter(emit, arg, "postern_recipients_bounced_total",
	    "recipients failed permanently (expired included)", st.bounced);
	emit_counter(emit, arg, "postern_recipients_expired_total",
	    "recipients failed after queue expire", st.expired);
	emit_counter(emit, arg, "postern_delivery_attempts_total",
	    "message delivery attempts ended", st.attempts);
	emit_gauge(emit, arg, "postern_queue_messages",
	    "messages in the queue", (double)st.queued);
	emit_gauge(emit, arg, "postern_queue_held_messages",
	    "messages on hold", (double)st.held);
	emit_gauge(emit, arg, "postern_queue_oldest_age_seconds",
	    "age of the oldest queued message (0: empty queue)",
	    st.oldest ? (double)(now - st.oldest) : 0);
	for (size_t b = 0; b <= SCHEDULER_LATENCY_BUCKETS; b++) {
		cum += st.latency[b];
		if (b < SCHEDULER_LATENCY_BUCKETS)
			snprintf(label, sizeof(label), "le=\"%u\"",
			    scheduler_latency_bounds[b]);
		else
			snprintf(label, sizeof(label), "le=\"+Inf\"");
		emit(arg, "postern_delivery_latency_seconds", "histogram",
		    "time from arrival to delivery, per recipient", "_bucket",
		    label, (double)cum);
	}
	emit(arg, "postern_delivery_latency_seconds", "histogram", "", "_sum",
	    "", st.latency_sum);
	emit(arg, "postern_delivery_latency_seconds", "histogram", "",
	    "_count", "", (double)st.latency_count);

	queue_writer_stats(env->writer, &qw);
	emit_counter(emit, arg, "postern_commit_batches_total",
	    "group-commit batches (one directory fsync each)", qw.batches);
	emit_counter(emit, arg, "postern_commit_messages_total",
	    "messages made durable by the group commit", qw.messages);
	emit_gauge(emit, arg, "postern_commit_batch_max",
	    "largest group-commit batch", (double)qw.max_batch);
	emit_counter(emit, arg, "postern_commit_failures_total",
	    "messages the group commit could not make durable",
	    qw.failures);
}

static void
collect_dns(const struct control_env *env, metrics_emit_fn emit, void *arg)
{
	struct resolver_set *rs = scheduler_resolvers(env->sched);
	const struct conf *c = env->conf;
	char label[160];
	int pass;

	if (rs == NULL || c == NULL)
		return;
	/* Two passes: the samples of one family stay together. */
	for (pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c->ndnslists; i++) {
			struct resolver *r = resolver_get(rs, c->dnslists[i]);
			uint64_t q = 0, f = 0;

			if (r == NULL)
				continue;
			resolver_stats(r, &q, &f);
			snprintf(label, sizeof(label), "profile=\"%s\"",
			    resolver_name(r));
			if (pass == 0)
				emit(arg, "postern_dns_lookups_total",
				    "counter", "DNS lookups per resolver "
				    "profile", "", label, (double)q);
			else
				emit(arg, "postern_dns_failures_total",
				    "counter", "DNS lookups that failed "
				    "temporarily, per resolver profile", "",
				    label, (double)f);
		}
}

/* The shared store of `cluster` (none without the block). */
static void
collect_cluster(const struct control_env *env, metrics_emit_fn emit,
    void *arg)
{
	struct kv_stats ks;

	if (env->kv == NULL)
		return;
	kv_stats(env->kv, &ks);
	emit_gauge(emit, arg, "postern_cluster_up",
	    "1 when the shared redis answers", ks.up ? 1 : 0);
	emit_counter(emit, arg, "postern_cluster_requests_total",
	    "requests to the shared redis", ks.requests);
	emit_counter(emit, arg, "postern_cluster_timeouts_total",
	    "requests to redis past the cluster timeout", ks.timeouts);
	emit_counter(emit, arg, "postern_cluster_failures_total",
	    "requests to redis answered down or with an error", ks.failures);
	emit_counter(emit, arg, "postern_cluster_outages_total",
	    "times redis became unreachable (each decided locally)",
	    ks.outages);
}

void
metrics_collect(const struct control_env *env, metrics_emit_fn emit,
    void *arg)
{
	collect_server(env, emit, arg);
	collect_queue(env, emit, arg);
	collect_dns(env, emit, arg);
	collect_cluster(env, emit, arg);
}

/* ---- the text exposition format ---- */

struct text {
	struct buf	 b;
	const char	*last;		/* family of the previous sample */
};

static void
text_emit(void *arg, const char *family, const char *type, const char *help,
    const char *suffix, const char *labels, double value)
{
	struct text *t = arg;
	char line[512];
	int n;

	if (t->last == NULL || strcmp(t->last, family) != 0) {
		n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n",
		    family, help, family, type);
		buf_append(&t->b, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
		t->last = family;
	}
	n = snprintf(line, sizeof(line), "%s%s%s%s%s %.17g\n", family, suffix,
	    labels[0] ? "{" : "", labels, labels[0] ? "}" : "", value);
	buf_append(&t->b, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1);
}

char *
metrics_text(const struct control_env *env, size_t *len)
{
	struct text t;

	buf_init(&t.b, METRICS_TEXT_MAX);
	t.last = NULL;
	metrics_collect(env, text_emit, &t);
	return buf_release(&t.b, len);
}

/* ---- the endpoint ---- */

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *out;
	char *text;
	size_t len;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET ||
	    uri == NULL || (strcmp(uri, "/metrics") != 0 &&
	    strncmp(uri, "/metrics?", 9) != 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, "try /metrics");
		return;
	}
	text = metrics_text(m->env, &len);
	out = evbuffer_new();
	evbuffer_add(out, text, len);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
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
	m->fd = fd;
	if ((m->http = evhttp_new(base)) == NULL ||
	    evhttp_accept_socket(m->http, fd) == -1) {
		snprintf(err, errlen, "metrics: evhttp failed");
		if (m->http)
			evhttp_free(m->http);
		close(fd);
		free(m);
		return NULL;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_gencb(m->http, http_cb, m);
	log_info("metrics on http://%s/metrics", addr);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	evhttp_free(m->http);	/* closes the bound socket too */
	free(m);
}
