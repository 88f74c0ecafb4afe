/*
 * resolver_probe — asks the resolver (src/dns/resolver.h) questions
 * against live DNS servers and prints what comes back, for
 * tests/integration/test_resolver.py, which starts the dnsmasq servers.
 *
 *	resolver_probe [-d] [-t SECS] [-c I]... [-F N] CONF QUERY...
 *
 * CONF is a configuration file whose DNS lists name the servers.  Each
 * QUERY is PROFILE,KIND,NAME,PORT: PROFILE "internal" (the top-level list),
 * a dns-list name, or vs:NAME (that virtual server's external-dns); KIND
 * mx or host.  Every question is asked at once, in order, then the loop
 * runs until all are answered or SECS (15) have passed.  Each answer is
 * printed as it comes, one JSON object a line: {"i", "ms" (since the
 * questions were asked), "status", "error", "hosts": [{"name", "pref",
 * "tempfail", "addrs"}]}; then one {"stats": PROFILE, "queries",
 * "failures"} line per profile asked, in order of first use, and
 * {"unanswered": [i...]} if the time ran out.
 *
 * An answer before its question has returned, or to a question cancelled
 * (-c I: right after all are asked), is an error.  -F N frees the whole
 * resolver set once the profile of question 0 has asked N questions, then
 * runs the loop once more: every answer after that is an error; prints
 * {"freed": asked}.  -d logs the resolver's debug lines (one per question)
 * to stderr.  Exit 0; 1 on a usage error, a failed set-up or an answer
 * that must not come; 2 if the time ran out.
 */
#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "netaddr.h"
#include "resolver.h"
#include "xmalloc.h"

#define QUERIES_MAX	64

struct probe {
	int			 i;
	char			*spec;	/* a copy, cut into the four below */
	const char		*profile, *kind, *name;
	int			 port;
	struct resolver		*r;
	struct resolver_query	*q;
	int			 answered;
	int			 cancelled;
};

static struct probe probes[QUERIES_MAX];
static int nprobes, errors;
static int asking;		/* an answer now would be synchronous */
static struct timespec t0;

static long
elapsed_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0.tv_sec) * 1000 +
	    (now.tv_nsec - t0.tv_nsec) / 1000000;
}

static const char *
status_name(enum resolver_status s)
{
	switch (s) {
	case RESOLVER_OK:
		return "OK";
	case RESOLVER_NXDOMAIN:
		return "NXDOMAIN";
	case RESOLVER_NULLMX:
		return "NULLMX";
	case RESOLVER_NOHOST:
		return "NOHOST";
	case RESOLVER_TEMPFAIL:
		return "TEMPFAIL";
	}
	return "?";
}

static void
print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

static void
on_result(void *arg, struct resolver_result *res)
{
	struct probe *p = arg;
	char buf[NETADDR_STRLEN];
	json_t *hosts = json_array();

	p->q = NULL;
	p->answered++;
	if (asking) {
		fprintf(stderr, "resolver_probe: question %d answered before "
		    "it was asked\n", p->i);
		errors++;
	}
	if (p->cancelled) {
		fprintf(stderr, "resolver_probe: cancelled question %d "
		    "answered\n", p->i);
		errors++;
	}
	for (size_t h = 0; h < res->nhosts; h++) {
		const struct resolver_host *rh = &res->hosts[h];
		json_t *addrs = json_array();

		for (size_t a = 0; a < rh->naddrs; a++)
			json_array_append_new(addrs, json_string(
			    netaddr_ntop_port((const struct sockaddr *)
			    &rh->addrs[a], buf, sizeof(buf))));
		json_array_append_new(hosts, json_pack("{s:s, s:i, s:b, s:o}",
		    "name", rh->name, "pref", (int)rh->pref, "tempfail",
		    rh->tempfail, "addrs", addrs));
	}
	print_json(json_pack("{s:i, s:I, s:s, s:s, s:o}", "i", p->i,
	    "ms", (json_int_t)elapsed_ms(), "status", status_name(res->status),
	    "error", res->error, "hosts", hosts));
	resolver_result_free(res);
}

static int
all_answered(void)
{
	for (int i = 0; i < nprobes; i++)
		if (!probes[i].cancelled && !probes[i].answered)
			return 0;
	return 1;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, n;
	char chunk[4096];

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		text = xreallocarray(text, len + n + 1, 1);
		memcpy(text + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (text == NULL)
		text = xstrdup("");
	else
		text[len] = '\0';
	return text;
}

/* The profile a query names; NULL if there is none. */
static struct resolver *
profile(struct resolver_set *rs, const struct conf *c, const char *name)
{
	const struct conf_vserver *vs;
	const struct conf_dnslist *l;

	if (strcmp(name, "internal") == 0)
		return resolver_get(rs, NULL);
	if (strncmp(name, "vs:", 3) == 0) {
		vs = conf_vserver_find(c, name + 3);
		return vs && vs->external_dns ?
		    resolver_get(rs, vs->external_dns) : NULL;
	}
	l = conf_dnslist_find(c, name);
	return l ? resolver_get(rs, l) : NULL;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: resolver_probe [-d] [-t SECS] [-c I]... "
	    "[-F N] CONF PROFILE,KIND,NAME,PORT...\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct event_base *base;
	struct resolver_set *rs;
	struct conf *conf;
	struct event *timer;
	char err[CONF_ERR_MAX], *text;
	int ch, debug = 0, secs = 15, free_after = -1, expired = 0;
	int cancel[QUERIES_MAX], ncancel = 0;
	uint64_t asked, failed;
	struct timeval tv;

	while ((ch = getopt(argc, argv, "dt:c:F:")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 't':
			secs = atoi(optarg);
			break;
		case 'c':
			if (ncancel == QUERIES_MAX)
				usage();
			cancel[ncancel++] = atoi(optarg);
			break;
		case 'F':
			free_after = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc - 1 > QUERIES_MAX)
		usage();
	log_init("resolver_probe", 0, debug);
	if ((text = read_file(argv[0])) == NULL) {
		perror(argv[0]);
		return 1;
	}
	if (conf_load_string(argv[0], text, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "resolver_probe: %s\n", err);
		return 1;
	}
	free(text);
	if ((base = event_base_new()) == NULL ||
	    (rs = resolver_set_new(base, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "resolver_probe: %s\n", err);
		return 1;
	}

	/* Parse every question before asking any. */
	for (int i = 0; i < argc - 1; i++) {
		struct probe *p = &probes[nprobes++];
		char *kind, *name, *port;

		p->i = i;
		p->spec = xstrdup(argv[i + 1]);
		if ((kind = strchr(p->spec, ',')) == NULL ||
		    (name = strchr(kind + 1, ',')) == NULL ||
		    (port = strchr(name + 1, ',')) == NULL)
			usage();
		*kind++ = *name++ = *port++ = '\0';
		p->profile = p->spec;
		p->kind = kind;
		p->name = name;
		p->port = atoi(port);
		if (strcmp(kind, "mx") != 0 && strcmp(kind, "host") != 0)
			usage();
		if ((p->r = profile(rs, conf, p->profile)) == NULL) {
			fprintf(stderr, "resolver_probe: no profile %s\n",
			    p->profile);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	asking = 1;
	for (int i = 0; i < nprobes; i++) {
		struct probe *p = &probes[i];

		p->q = strcmp(p->kind, "mx") == 0 ?
		    resolver_mx(p->r, p->name, p->port, on_result, p) :
		    resolver_host(p->r, p->name, p->port, on_result, p);
	}
	asking = 0;
	for (int k = 0; k < ncancel; k++) {
		if (cancel[k] < 0 || cancel[k] >= nprobes)
			usage();
		probes[cancel[k]].cancelled = 1;
		resolver_cancel(probes[cancel[k]].q);
	}

	tv.tv_sec = secs;
	tv.tv_usec = 0;
	timer = evtimer_new(base, on_timer, &expired);
	evtimer_add(timer, &tv);
	if (free_after >= 0) {
		do {
			event_base_loop(base, EVLOOP_ONCE);
			resolver_stats(probes[0].r, &asked, NULL);
		} while ((int64_t)asked < free_after && !expired);
		resolver_set_free(rs);
		rs = NULL;
		for (int i = 0; i < nprobes; i++)
			probes[i].cancelled = 1;
		event_base_loop(base, EVLOOP_NONBLOCK);
		print_json(json_pack("{s:I}", "freed", (json_int_t)asked));
	} else {
		while (!all_answered() && !expired)
			event_base_loop(base, EVLOOP_ONCE);
		for (int i = 0; i < nprobes; i++) {
			int first = 1;

			for (int j = 0; j < i; j++)
				if (probes[j].r == probes[i].r)
					first = 0;
			if (!first)
				continue;
			resolver_stats(probes[i].r, &asked, &failed);
			print_json(json_pack("{s:s, s:I, s:I}", "stats",
			    probes[i].profile, "queries", (json_int_t)asked,
			    "failures", (json_int_t)failed));
		}
		if (!all_answered()) {
			json_t *left = json_array();

			for (int i = 0; i < nprobes; i++)
				if (!probes[i].cancelled && !probes[i].answered)
					json_array_append_new(left,
					    json_integer(i));
			print_json(json_pack("{s:o}", "unanswered", left));
		}
	}
	event_free(timer);
	resolver_set_free(rs);
	event_base_free(base);
	conf_unref(conf);
	for (int i = 0; i < nprobes; i++)
		free(probes[i].spec);
	if (errors)
		return 1;
	return expired && free_after < 0 ? 2 : 0;
}
