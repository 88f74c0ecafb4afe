/*
 * posternd — the gateway daemon: configuration, privileges, the event loop.
 *
 * Start-up order matters: read and check the configuration (nothing starts
 * on any error), prepare the spool, bind every listener as root, drop
 * privileges, load the spool, then serve.  SIGHUP reloads configuration,
 * directory and block-senders-file lists into fresh snapshots and swaps
 * them in only if all load;
 * a changed `cluster` block opens a new store and heartbeat (the old
 * store stays open, idle, for what may still wait on it, until exit);
 * SIGTERM/SIGINT stop accepting, let transactions in flight finish (within
 * SHUTDOWN_GRACE seconds), and keep the queue.
 */
#include "cluster.h"
#include "cluster_view.h"
#include "conf.h"
#include "control.h"
#include "directory.h"
#include "log.h"
#include "metrics.h"
#include "orgdomain.h"
#include "privdrop.h"
#include "smtp_msgauth.h"
#include "smtp_msgauth_keys.h"
#include "queue.h"
#include "queue_recycle.h"
#include "resolver.h"
#include "scheduler.h"
#include "senderlist.h"
#include "smtp_server.h"
#include "workpool.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHUTDOWN_GRACE	30	/* seconds for transactions in flight */

struct daemon {
	struct event_base	*base;
	struct smtp_server	*server;
	struct queue_writer	*writer;
	struct workpool		*wp;
	struct scheduler	*sched;
	struct conf		*conf;
	struct directory	*dir;
	const char		*path;
	struct event		*grace;
	struct control		*ctl;		/* posternctl */
	struct metrics		*metrics;	/* optional */
	struct control_env	 env;		/* what both look at */
	struct cluster		*cluster;	/* `cluster`, or NULL */
	struct cluster		**retired;	/* replaced by reloads */
	size_t			 nretired;
};

/* One descriptor per session: take every descriptor the system allows
 * (connection limits, not the fd limit, decide how many clients we keep). */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
}

/*
 * The event loop.  With epoll, libevent's changelist folds the EV_WRITE
 * enable/disable of each reply into the next epoll_wait turn instead of
 * an epoll_ctl each (about 30 a message before: docs/performance.md).
 * Its one hazard, descriptors shared through dup(), does not arise: every
 * socket here is opened by us and closed once.
 */
static struct event_base *
loop_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static void
usage(void)
{
	fprintf(stderr, "usage: posternd [-dn] [-f file]\n");
	exit(2);
}

static void
cluster_fill(struct cluster_summary *s, void *arg)
{
	struct daemon *d = arg;

	cluster_view_fill(s, d->sched);
}

/* The cluster block of c, opened (reading the password file): 0 with
 * *out (NULL without a block), or -1 with err. */
static int
cluster_start(struct daemon *d, const struct conf *c, struct cluster **out,
    char *err, size_t errlen)
{
	struct cluster_params p;
	char where[CONF_ERR_MAX];

	*out = NULL;
	if (c->cluster == NULL)
		return 0;
	snprintf(where, sizeof(where), "%s:%d", c->path, c->cluster->line);
	memset(&p, 0, sizeof(p));
	p.redis = c->cluster->redis;
	p.password_file = c->cluster->password_file;
	p.node = c->cluster->node;
	p.timeout_ms = c->cluster->timeout_ms;
	p.where = where;
	/* The heartbeat reads the scheduler through d (set before the loop
	 * runs). */
	*out = cluster_open(d->base, &p, cluster_fill, d, err, errlen);
	return *out == NULL ? -1 : 0;
}

/* Put cl in force (the server's shared limits, the control socket and
 * metrics); the one it replaces keeps its store open, idle, until exit. */
static void
cluster_set(struct daemon *d, struct cluster *cl)
{
	if (d->cluster != NULL) {
		cluster_retire(d->cluster);
		d->retired = reallocarray(d->retired, d->nretired + 1,
		    sizeof(*d->retired));
		if (d->retired == NULL)
			fatal("reallocarray");
		d->retired[d->nretired++] = d->cluster;
	}
	d->cluster = cl;
	d->env.kv = cluster_kv(cl);
	/* The shared limits and greylist of smtpd take the store here. */
	smtp_server_set_cluster(d->server, cluster_kv(cl), cluster_name(cl));
}

/* SIGHUP and `posternctl reload`: 0, or -1 with the reason in err. */
static int
reload(struct daemon *d, char *err, size_t errlen)
{
	struct conf *nc = NULL;
	struct directory *nd = NULL;
	struct resolver_set *nrs;
	struct senderlist_set *nss = NULL;
	struct cluster *ncl = NULL;
	int new_cluster;

	log_info("reloading %s", d->path);
	if (conf_load(d->path, &nc, err, errlen) == -1)
		goto refused;
	if ((nd = directory_open(nc, err, errlen)) == NULL)
		goto refused;
	directory_attach(nd, d->base);
	if (senderlist_set_load(nc, &nss, err, errlen) == -1 ||
	    smtp_msgauth_keys_load(nc, err, errlen) == -1)
		goto refused;
	new_cluster = !conf_cluster_equal(d->conf->cluster, nc->cluster);
	if (new_cluster && cluster_start(d, nc, &ncl, err, errlen) == -1)
		goto refused;
	/* TLS certificates and keys, AUTH files, CA sources: put in force
	 * by smtp_server_set_config(). */
	if (smtp_server_load_tls(d->server, nc, err, errlen) == -1 ||
	    smtp_server_listen(d->server, nc, err, errlen) == -1 ||
	    (nrs = resolver_set_new(d->base, nc, err, errlen)) == NULL)
		goto refused;
	/* The scheduler keeps every resolver set until exit; the server
	 * borrows them for DNSBL lookups. */
	smtp_server_set_config(d->server, nc, nd, nrs, nss);
	scheduler_set_config(d->sched, nc, nd, nrs);
	queue_recycle_reuse(nc->queue.reuse_files);
	if (new_cluster)
		cluster_set(d, ncl);
	conf_unref(d->conf);
	directory_unref(d->dir);
	d->conf = nc;
	d->dir = nd;
	d->env.conf = nc;
	d->env.dir = nd;
	d->env.senders = nss;
	d->env.rs = nrs;
	log_set_debug(nc->log_debug || log_debug_enabled());
	log_info("configuration reloaded");
	return 0;

refused:
	log_warnx("reload refused, keeping the running configuration: %s",
	    err);
	cluster_close(ncl);
	if (nss)
		senderlist_set_free(nss);
	if (nd)
		directory_unref(nd);
	if (nc)
		conf_unref(nc);
	return -1;
}

static int
control_reload(void *arg, char *err, size_t errlen)
{
	return reload(arg, err, errlen);
}

static void
deliveries_stopped(void *arg)
{
	struct daemon *d = arg;

	log_info("deliveries in flight finished");
	event_base_loopexit(d->base, NULL);
}

static void
stopped(void *arg)
{
	struct daemon *d = arg;

	log_info("all sessions closed");
	scheduler_shutdown(d->sched, deliveries_stopped, d);
}

static void
queued(void *arg, struct queue_envelope *env)
{
	struct daemon *d = arg;

	scheduler_add(d->sched, env);
}

static void
grace_expired(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	/* What is in flight stays in the queue and is attempted again at
	 * the next start: nothing is lost by leaving now. */
	log_warnx("sessions or deliveries still running after %d s: "
	    "stopping anyway", SHUTDOWN_GRACE);
	_exit(0);
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { SHUTDOWN_GRACE, 0 };

	(void)ev;
	if (sig == SIGHUP) {
		char err[CONF_ERR_MAX];

		(void)reload(d, err, sizeof(err));
		return;
	}
	if (d->grace)
		return;		/* already stopping */
	log_info("signal %d: stopping", (int)sig);
	d->grace = evtimer_new(d->base, grace_expired, d);
	evtimer_add(d->grace, &tv);
	smtp_server_shutdown(d->server, stopped, d);
}

int
main(int argc, char *argv[])
{
	struct daemon d;
	struct event *sigs[4];
	const int signums[4] = { SIGTERM, SIGINT, SIGHUP, 0 };
	char err[CONF_ERR_MAX];
	struct resolver_set *rs;
	struct senderlist_set *senders;
	struct cluster *cl;
	int ch, check_only = 0, debug = 0;
	long nqueued;

	memset(&d, 0, sizeof(d));
	d.path = "/etc/postern/postern.conf";
	while ((ch = getopt(argc, argv, "df:n")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			d.path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("posternd", 0, debug);
	if (conf_load(d.path, &d.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if ((d.dir = directory_open(d.conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		conf_unref(d.conf);
		return 1;
	}
	/* Read as root, like the directory; a reload reads it again as the
	 * unprivileged user. */
	if (senderlist_set_load(d.conf, &senders, err, sizeof(err)) == -1 ||
	    smtp_msgauth_keys_load(d.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		directory_unref(d.dir);
		conf_unref(d.conf);
		return 1;
	}
	if (check_only) {
		printf("%s: configuration OK\n", d.path);
		senderlist_set_free(senders);
		directory_unref(d.dir);
		conf_unref(d.conf);
		return 0;
	}
	log_init("posternd", d.conf->log == CONF_LOG_SYSLOG,
	    debug || d.conf->log_debug);
	/* The Public Suffix List (DMARC's organisational domains), read as
	 * root like every other file. */
	if (orgdomain_init(NULL) == -1)
		log_warnx("cannot read the Public Suffix List: DMARC uses "
		    "libpsl's built-in list");
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (evthread_use_pthreads() == -1)
		fatalx("evthread_use_pthreads failed");
	if ((d.base = loop_new()) == NULL)
		fatalx("event_base_new failed");
	directory_attach(d.dir, d.base);	/* LDAP runs on the loop */
	if (queue_init(d.conf->spool, err, sizeof(err)) == -1)
		fatalx("%s", err);
	/* The writer thread exists before privileges are dropped; glibc's
	 * setresuid() changes every thread's credentials alike. */
	if ((d.writer = queue_writer_new(d.base, d.conf->spool)) == NULL)
		fatalx("cannot start the queue writer");
	queue_recycle_reuse(d.conf->queue.reuse_files);
	d.server = smtp_server_new(d.base, d.writer);
	/* Certificates, keys and AUTH files are read as root. */
	if (smtp_server_load_tls(d.server, d.conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (smtp_server_listen(d.server, d.conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	/* The control socket and the metrics endpoint are bound as root
	 * too; they serve once the loop runs, when d.env is complete. */
	d.env.server = d.server;
	d.env.writer = d.writer;
	d.env.reload = control_reload;
	d.env.reload_arg = &d;
	if ((d.ctl = control_new(d.base, &d.env, d.conf->control,
	    d.conf->user, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (d.conf->metrics && (d.metrics = metrics_new(d.base, &d.env,
	    d.conf->metrics, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	/* The cluster's password file is read as root too; its heartbeat
	 * starts with the loop. */
	if (cluster_start(&d, d.conf, &cl, err, sizeof(err)) == -1)
		fatalx("%s", err);
	cluster_set(&d, cl);
	if (privdrop(d.conf->user, d.conf->spool, d.conf->mailbox_store, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	if ((rs = resolver_set_new(d.base, d.conf, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	d.wp = workpool_new(d.base, 2);
	smtp_msgauth_start(d.base);	/* DKIM signatures off the loop */
	d.sched = scheduler_new(d.base, d.writer, d.wp);
	scheduler_set_config(d.sched, d.conf, d.dir, rs);
	if ((nqueued = scheduler_load(d.sched)) < 0)
		fatalx("cannot read the spool %s", d.conf->spool);
	log_info("%ld message(s) in the queue", nqueued);
	smtp_server_set_config(d.server, d.conf, d.dir, rs, senders);
	smtp_server_on_queued(d.server, queued, &d);
	d.env.sched = d.sched;
	d.env.conf = d.conf;
	d.env.dir = d.dir;
	d.env.senders = senders;
	d.env.rs = rs;
	control_start(d.ctl);
	for (int i = 0; signums[i]; i++) {
		sigs[i] = evsignal_new(d.base, signums[i], signal_cb, &d);
		evsignal_add(sigs[i], NULL);
	}
	smtp_server_start(d.server);
	log_info("posternd started, hostname %s", d.conf->hostname);
	event_base_dispatch(d.base);

	control_free(d.ctl);
	metrics_free(d.metrics);
	smtp_server_free(d.server);
	cluster_close(d.cluster);
	for (size_t i = 0; i < d.nretired; i++)
		cluster_close(d.retired[i]);
	free(d.retired);
	smtp_msgauth_stop();
	queue_writer_free(d.writer);
	workpool_free(d.wp);
	scheduler_free(d.sched);
	for (int i = 0; signums[i]; i++)
		event_free(sigs[i]);
	if (d.grace)
		event_free(d.grace);
	directory_unref(d.dir);
	conf_unref(d.conf);
	event_base_free(d.base);
	orgdomain_free();
	log_info("posternd stopped");
	return 0;
}
