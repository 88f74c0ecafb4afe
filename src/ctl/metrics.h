/*
 * metrics — the gateway's counters, for `posternctl stats` and for the
 * optional Prometheus endpoint (`metrics ADDRESS:PORT`).
 *
 * One collector reads every source, so the two views cannot disagree:
 * the SMTP server (connections; messages received; refusals by rule,
 * smtp_server_counters()), the scheduler (recipients delivered, deferred,
 * bounced; queue size and oldest age; delivery latency histogram), the
 * resolver profiles (lookups and failures each, resolver_stats) and the
 * group-commit writer (batches, messages, largest batch,
 * queue_writer_stats).
 *
 * The endpoint (metrics_http.c) is a small HTTP server on its own
 * listening socket, bound before privileges are dropped, with a cap on
 * connections, on the request head and on time; it answers GET /metrics
 * with the text exposition format (version 0.0.4) and 404 to other
 * paths.  The
 * configuration check already refuses an address an Internet-facing
 * virtual server listens on.  Loop thread only.
 */
#ifndef POSTERN_METRICS_H
#define POSTERN_METRICS_H

#include <stddef.h>

struct control_env;
struct event_base;
struct metrics;

/*
 * One sample: family (the metric's name), its type ("counter", "gauge",
 * "histogram") and help, a suffix for histogram samples ("_bucket",
 * "_sum", "_count", or ""), the label text (`rule="relay"`, or "") and the
 * value.  Samples of one family come one after the other.
 */
typedef void (*metrics_emit_fn)(void *arg, const char *family,
	    const char *type, const char *help, const char *suffix,
	    const char *labels, double value);

void	metrics_collect(const struct control_env *env, metrics_emit_fn emit,
	    void *arg);

/* The text exposition of everything metrics_collect() gives, malloc'ed,
 * with its length in *len. */
char	*metrics_text(const struct control_env *env, size_t *len);

#define METRICS_CONN_MAX	16	/* connections at once; past it a new
					   one is closed at once */
#define METRICS_HEAD_MAX	8192	/* request head; past it 431 */
#define METRICS_TIMEOUT		10	/* seconds per read and write */
#define METRICS_LIFETIME	60	/* seconds a connection may last */

/*
 * The status for a request head (request line and header lines, up to
 * the first line end at least): 200 for GET /metrics (a query allowed),
 * 404 another path, 405 another method, 400 no HTTP/1.x request line.
 */
int	metrics_http_parse(const char *head, size_t len);

/* Listen on "ip:port" (as root, before privileges are dropped).  NULL
 * with err set on failure. */
struct metrics *metrics_new(struct event_base *base,
	    const struct control_env *env, const char *addr, char *err,
	    size_t errlen);
void	metrics_free(struct metrics *m);

#endif
