/*
 * posternctl — the administrator's view of a running gateway (posternctl(8)).
 *
 * Talks to posternd over its control socket (control_proto.h): one
 * request per connection, then records until END or ERROR.  The socket is
 * the `control` path of the configuration (-c FILE, default
 * /etc/postern/postern.conf) or the one -s names.  Records are printed as
 * they arrive, so `queue` streams however long the queue; with --json
 * every answer is JSON made by jansson (an array for queue, trace and
 * flow, an object for show and stats), never escaped by hand.
 * Exit status: 0 success, 1 failure (message on stderr), 2 usage.
 */
#include "conf.h"
#include "control_proto.h"
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct out {
	int		 json;
	unsigned	 req;		/* the request type */
	json_t		*cur;		/* queue/show: the message being read */
	json_t		*all;		/* show: attempts; stats: object */
	size_t		 nout;		/* JSON array items printed */
	int		 rows;		/* text: lines printed */
	char		 lastvs[128];	/* flow: the server being printed */
	char		 legend[1024];	/* flow: its sample addresses */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: posternctl [-c file | -s socket] command [--json]\n"
	    "commands:\n"
	    "  queue                          list the queue\n"
	    "  show ID                        envelope, recipients, attempts\n"
	    "  flush [ID]                     attempt now (one or all)\n"
	    "  remove ID                      delete, without a bounce\n"
	    "  hold ID | release ID           stop / resume delivery\n"
	    "  stats                          counters\n"
	    "  reload                         what SIGHUP does\n"
	    "  trace --server VS --client IP [--sender ADDR] [--tls] "
	    "[--auth] [--no-dns] RCPT...\n"
	    "  flow [--user ADDR] [--unknown ADDR]\n"
	    "  cluster [queue]                the gateways sharing redis, "
	    "their queues\n");
	exit(2);
}

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posternctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* ---- fields ---- */

static char *
fstr(const struct control_msg *m, size_t i)
{
	static char bufs[16][4096];
	static unsigned k;
	char *b = bufs[k++ % 16];
	size_t n = m->f[i].len < 4095 ? m->f[i].len : 4095;

	memcpy(b, m->f[i].p, n);
	b[n] = '\0';
	return b;
}

static long long
fnum(const struct control_msg *m, size_t i)
{
	return strtoll(fstr(m, i), NULL, 10);
}

static int
is_num_field(const char *name)
{
	static const char *const nums[] = { "received", "age", "size",
	    "attempts", "next_attempt", "time", "value", "removed_bytes",
	    "up_since", "last_seen", "messages", "held", "oldest", "arrival",
	    "total_recipients", NULL };

	for (size_t i = 0; nums[i]; i++)
		if (strcmp(name, nums[i]) == 0)
			return 1;
	return 0;
}

/* A record as a JSON object: empty fields are null, counts are numbers,
 * "accepted" is a boolean. */
static json_t *
rec_json(const struct control_msg *m)
{
	const char *const *names;
	size_t n;
	json_t *o = json_object();

	names = control_field_names(m->type, &n);
	for (size_t i = 0; names && i < n && i < m->nfields; i++) {
		char *v = fstr(m, i);
		json_t *j;

		if (strcmp(names[i], "accepted") == 0)
			j = v[0] ? json_boolean(strcmp(v, "yes") == 0) :
			    json_null();
		else if (v[0] == '\0')
			j = json_null();
		else if (is_num_field(names[i]))
			j = strchr(v, '.') || strchr(v, 'e') ?
			    json_real(strtod(v, NULL)) :
			    json_integer(strtoll(v, NULL, 10));
		else
			j = json_stringn(m->f[i].p, m->f[i].len);
		json_object_set_new(o, names[i], j);
	}
	return o;
}

static void
json_item(struct out *o, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);

	printf("%s%s", o->nout++ ? ",\n" : "[\n", s);
	free(s);
	json_decref(j);
}

static void
json_print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);

	printf("%s\n", s);
	free(s);
	json_decref(j);
}

/* ---- text ---- */

static const char *
dur(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, len, "%llds", s);
	else if (s < 7200)
		snprintf(buf, len, "%lldm", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%lldh", s / 3600);
	else
		snprintf(buf, len, "%lldd", s / 86400);
	return buf;
}

static const char *
when(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* The route of a trace result, "mailbox mbx1 (dns internal)". */
static void
route_text(const struct control_msg *m, size_t b, char *buf, size_t len)
{
	const char *route = fstr(m, b + 4), *conn = fstr(m, b + 5),
	    *hop = fstr(m, b + 6), *dns = fstr(m, b + 7);

	if (route[0] == '\0') {
		snprintf(buf, len, "%s", hop[0] ? hop : "");
		return;
	}
	snprintf(buf, len, "%s%s%s%s%s%s%s%s", route, conn[0] ? " " : "", conn,
	    hop[0] ? conn[0] ? ", " : " " : "", hop, dns[0] ? " (dns " : "",
	    dns, dns[0] ? ")" : "");
}

/* One verdict; `brief` (flow) shows the route instead of a 250. */
static void
print_trace(const struct control_msg *m, size_t b, int brief, int indent)
{
	const char *reply = fstr(m, b + 2), *rule = fstr(m, b + 3),
	    *note = fstr(m, b + 8);
	int acc = fstr(m, b + 1)[0] == 'y';
	char route[1024];

	route_text(m, b, route, sizeof(route));
	if (reply[0] == '\0') {
		printf("%-9s %s\n", "n/a", note);
		return;
	}
	printf("%-9s ", acc ? "accepted" : "REFUSED");
	if (!brief || !acc || !route[0])
		printf("%s", reply);
	if (route[0])
		printf("%s-> %s", !brief || !acc ? " " : "", route);
	if (rule[0] && !brief)
		printf("  [rule %s]", rule);
	printf("\n");
	if (note[0])
		printf("%*s%-9s note: %s\n", indent, "", "", note);
}

/* flow: the sample addresses of a virtual server, once, after its rows. */
static void
flow_legend(struct out *o)
{
	char *p = o->legend, *item;
	size_t col = 0;

	/* "  (a, b, c)", wrapped after the commas at 78 columns. */
	if (*p == '\0')
		return;
	while ((item = strsep(&p, "\t")) != NULL) {
		size_t n = strlen(item) + 2;

		if (col == 0)
			col = (size_t)printf("  (%s", item);
		else if (col + n > 78)
			col = (size_t)printf(",\n   %s", item) - 2;
		else
			col += (size_t)printf(", %s", item);
	}
	if (col)
		printf(")\n");
	o->legend[0] = '\0';
}

static void
flow_note(struct out *o, const char *what, const char *v)
{
	size_t l = strlen(o->legend);

	if (v[0] == '\0')
		return;
	snprintf(o->legend + l, sizeof(o->legend) - l, "%s%s %s",
	    l ? "\t" : "", what, v);
}

static void
print_msg_line(const struct control_msg *m)
{
	char age[32];
	const char *state = fstr(m, 7);

	printf("%s  %5s  %8lld  <%s>%s", fstr(m, 0), dur(fnum(m, 2), age,
	    sizeof(age)), fnum(m, 3), fstr(m, 4),
	    strcmp(state, "held") == 0 ? "  HELD" : "");
}

/* cluster: one line per node. */
static void
print_node(const struct control_msg *m)
{
	char a[64], b[32], c[32];
	long long now = (long long)time(NULL), oldest = fnum(m, 5);

	printf("%-16s up since %s  last seen %s ago  queue %lld (held %lld)"
	    "  oldest %s", fstr(m, 0), when(fnum(m, 1), a, sizeof(a)),
	    dur(now - fnum(m, 2), b, sizeof(b)), fnum(m, 3), fnum(m, 4),
	    oldest > 0 ? dur(now - oldest, c, sizeof(c)) : "-");
	printf("  deferred %s\n", fstr(m, 6)[0] ? fstr(m, 6) : "-");
}

/* --json: "deferred" as an object {"DEST": N}. */
static json_t *
node_json(const struct control_msg *m)
{
	json_t *o = rec_json(m), *d = json_object();
	char *s = fstr(m, 6), *w, *eq;

	while ((w = strsep(&s, " ")) != NULL)
		if ((eq = strrchr(w, '=')) != NULL) {
			*eq = '\0';
			json_object_set_new(d, w, json_integer(strtoll(eq + 1,
			    NULL, 10)));
		}
	json_object_set_new(o, "deferred", d);
	return o;
}

/* ---- records ---- */

static void
flush_msg(struct out *o)
{
	if (o->cur == NULL)
		return;
	if (o->req == CTL_REQ_QUEUE || o->req == CTL_REQ_CLUSTER)
		json_item(o, o->cur);
	o->cur = NULL;
}

/*
 * One counter into the --json object: a plain one as "name": value, a
 * labelled one nested by its label values in order
 * (postern_refused_total{rule="relay"} is ["postern_refused_total"]
 * ["relay"], {method="spf",result="pass"} is [...]["spf"]["pass"]).
 */
static void
stat_json(json_t *all, const char *name, const char *label, json_t *v)
{
	json_t *cur = all;
	const char *key = name, *p = label, *q1, *q2;
	size_t keylen = strlen(name);

	while ((q1 = strchr(p, '"')) != NULL &&
	    (q2 = strchr(q1 + 1, '"')) != NULL) {
		json_t *next = json_object_getn(cur, key, keylen);

		if (!json_is_object(next)) {
			next = json_object();
			json_object_setn_new(cur, key, keylen, next);
		}
		cur = next;
		key = q1 + 1;
		keylen = (size_t)(q2 - q1 - 1);
		p = q2 + 1;
	}
	json_object_setn_new(cur, key, keylen, v);
}

/* The header lines acceptance put on the message, one per line,
 * indented (their CRLFs and folding kept readable). */
static void
print_added(const char *h)
{
	printf("added headers:\n");
	while (*h) {
		size_t n = strcspn(h, "\r\n");

		printf("  %.*s\n", (int)n, h);
		h += n;
		while (*h == '\r' || *h == '\n')
			h++;
	}
}

static void
on_record(struct out *o, const struct control_msg *m)
{
	char a[64], b[64];

	switch (m->type) {
	case CTL_REC_MSG:
		if (o->json) {
			flush_msg(o);
			o->cur = rec_json(m);
			json_object_set_new(o->cur, "recipients",
			    json_array());
			if (o->req == CTL_REQ_SHOW)
				json_object_set_new(o->cur, "history",
				    json_array());
			break;
		}
		if (o->req == CTL_REQ_QUEUE) {
			if (o->rows++)
				printf("\n");
			print_msg_line(m);
			break;
		}
		printf("id:          %s\n", fstr(m, 0));
		printf("received:    %s (%s ago)\n", when(fnum(m, 1), a,
		    sizeof(a)), dur(fnum(m, 2), b, sizeof(b)));
		printf("size:        %lld\n", fnum(m, 3));
		printf("sender:      <%s>\n", fstr(m, 4));
		printf("vserver:     %s (client %s)\n", fstr(m, 5), fstr(m, 6));
		printf("state:       %s, %lld attempt(s)", fstr(m, 7),
		    fnum(m, 8));
		if (fstr(m, 9)[0])
			printf(", next %s", when(fnum(m, 9), a, sizeof(a)));
		printf("\nrecipients:\n");
		break;
	case CTL_REC_RCPT:
		if (o->json) {
			if (o->cur)
				json_array_append_new(json_object_get(o->cur,
				    "recipients"), rec_json(m));
			break;
		}
		if (o->req == CTL_REQ_QUEUE || o->req == CTL_REQ_CLUSTER)
			printf("  %s (%s%s%s)", fstr(m, 0), fstr(m, 1),
			    fstr(m, 2)[0] ? ": " : "", fstr(m, 2));
		else
			printf("  %-32s %-9s %s\n", fstr(m, 0), fstr(m, 1),
			    fstr(m, 2));
		break;
	case CTL_REC_ACCEPTANCE:
		if (o->json) {
			json_t *j = rec_json(m);

			if (o->cur)
				json_object_update(o->cur, j);
			json_decref(j);
			break;
		}
		if (fstr(m, 2)[0])
			printf("held:        %s\n", fstr(m, 2));
		if (fnum(m, 1) > 0)
			printf("removed:     %lld bytes (forged header "
			    "fields)\n", fnum(m, 1));
		if (fstr(m, 0)[0])
			print_added(fstr(m, 0));
		break;
	case CTL_REC_ATTEMPT:
		if (o->json) {
			if (o->cur)
				json_array_append_new(json_object_get(o->cur,
				    "history"), rec_json(m));
			break;
		}
		if (o->rows++ == 0)
			printf("attempts:\n");
		printf("  %s  host %s  address %s  dns %s  tls %s\n      %s\n",
		    when(fnum(m, 0), a, sizeof(a)), fstr(m, 1),
		    fstr(m, 2)[0] ? fstr(m, 2) : "-",
		    fstr(m, 3)[0] ? fstr(m, 3) : "-",
		    fstr(m, 4)[0] ? fstr(m, 4) : "-", fstr(m, 5));
		break;
	case CTL_REC_STAT:
		if (o->json) {
			json_t *v = strchr(fstr(m, 2), '.') ?
			    json_real(strtod(fstr(m, 2), NULL)) :
			    json_integer(fnum(m, 2));

			stat_json(o->all, fstr(m, 0), fstr(m, 1), v);
			break;
		}
		printf("%s%s%s%s %s\n", fstr(m, 0), fstr(m, 1)[0] ? "{" : "",
		    fstr(m, 1), fstr(m, 1)[0] ? "}" : "", fstr(m, 2));
		break;
	case CTL_REC_TRACE:
		if (o->json) {
			json_item(o, rec_json(m));
			break;
		}
		printf("%-32s ", fstr(m, 0));
		print_trace(m, 0, 0, 33);
		break;
	case CTL_REC_FLOW:
		if (o->json) {
			json_item(o, rec_json(m));
			break;
		}
		if (strcmp(o->lastvs, fstr(m, 0)) != 0) {
			flow_legend(o);
			snprintf(o->lastvs, sizeof(o->lastvs), "%s",
			    fstr(m, 0));
			printf("%svirtual server %s\n", o->rows++ ? "\n" : "",
			    fstr(m, 0));
		}
		printf("  %-31s ", fstr(m, 1));
		print_trace(m, 4, 1, 34);
		if (strcmp(fstr(m, 1), "Internet -> Internet") == 0) {
			flow_note(o, "Internet client", fstr(m, 2));
			flow_note(o, "Internet recipient", fstr(m, 4));
		} else if (strcmp(fstr(m, 1), "Internet -> local user") == 0)
			flow_note(o, "local user", fstr(m, 4));
		else if (strcmp(fstr(m, 1), "Internet -> unknown local user")
		    == 0)
			flow_note(o, "unknown user", fstr(m, 4));
		else if (strcmp(fstr(m, 1), "intranet -> Internet") == 0)
			flow_note(o, "intranet client", fstr(m, 2));
		else if (strcmp(fstr(m, 1), "blocked sender") == 0)
			flow_note(o, "blocked sender", fstr(m, 3));
		else if (strcmp(fstr(m, 1), "blocked client") == 0)
			flow_note(o, "blocked client", fstr(m, 2));
		break;
	case CTL_REC_NODE:
		if (o->json)
			json_item(o, node_json(m));
		else
			print_node(m);
		break;
	case CTL_REC_NODE_MSG:
		if (o->json) {
			flush_msg(o);
			o->cur = rec_json(m);
			json_object_set_new(o->cur, "recipients",
			    json_array());
			break;
		}
		if (o->rows++)
			printf("\n");
		printf("%-16s %s  %5s  %8lld  <%s>", fstr(m, 0), fstr(m, 1),
		    dur(fnum(m, 3), a, sizeof(a)), fnum(m, 4), fstr(m, 5));
		break;
	default:
		break;
	}
}

/* ---- the conversation ---- */

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("%s: path too long", path);
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("cannot connect to %s: %s (is posternd running?)", path,
		    strerror(errno));
	return fd;
}

static void
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, c, len)) == -1) {
			if (errno == EINTR)
				continue;
			die("write: %s", strerror(errno));
		}
		c += w;
		len -= (size_t)w;
	}
}

/* Send the request, print every record; 0 or 1. */
static int
converse(const char *path, unsigned type, const char *const *f, size_t n,
    int json)
{
	static struct control_msg m;
	struct out o;
	char *buf, *req;
	size_t len = 0, off = 0, cap = 1 << 20, used, rlen;
	int fd = connect_to(path), rc = -1;
	ssize_t r;

	if ((req = control_encode(type, f, n, &rlen)) == NULL)
		die("request too large");
	write_all(fd, req, rlen);
	free(req);
	memset(&o, 0, sizeof(o));
	o.json = json;
	o.req = type;
	if (json && (type == CTL_REQ_STATS || type == CTL_REQ_SHOW))
		o.all = json_object();
	if ((buf = malloc(cap)) == NULL)
		die("out of memory");
	while (rc == -1) {
		enum control_decode d = control_decode(buf + off, len - off,
		    CONTROL_FRAME_MAX, &m, &used);

		if (d == CONTROL_NEED_MORE) {
			/* Keep the partial frame, drop what was used. */
			memmove(buf, buf + off, len - off);
			len -= off;
			off = 0;
			if (len == cap)
				die("reply too large");
			if ((r = read(fd, buf + len, cap - len)) == -1) {
				if (errno == EINTR)
					continue;
				die("read: %s", strerror(errno));
			}
			if (r == 0)
				die("posternd closed the connection early");
			len += (size_t)r;
			continue;
		}
		if (d != CONTROL_OK)
			die("bad reply: %s", control_decode_error(d));
		if (m.type == CTL_REP_ERROR) {
			fflush(stdout);
			fprintf(stderr, "posternctl: %s\n", fstr(&m, 0));
			rc = 1;
		} else if (m.type == CTL_REP_END) {
			rc = 0;
			if (!json && (type == CTL_REQ_FLUSH ||
			    type == CTL_REQ_REMOVE || type == CTL_REQ_HOLD ||
			    type == CTL_REQ_RELEASE || type == CTL_REQ_RELOAD))
				printf("%s\n", fstr(&m, 0));
		} else
			on_record(&o, &m);
		off += used;
	}
	free(buf);
	close(fd);
	if (json) {
		if (type == CTL_REQ_SHOW && o.cur) {
			json_print(o.cur);
			o.cur = NULL;
		} else if (type == CTL_REQ_STATS) {
			json_print(o.all);
			o.all = NULL;
		} else if (type == CTL_REQ_QUEUE || type == CTL_REQ_TRACE ||
		    type == CTL_REQ_FLOW || type == CTL_REQ_CLUSTER) {
			flush_msg(&o);
			printf("%s]\n", o.nout ? "\n" : "[");
		} else if (rc == 0)
			json_print(json_pack("{s:b}", "ok", 1));
		json_decref(o.all);
		json_decref(o.cur);
	} else if ((type == CTL_REQ_QUEUE || type == CTL_REQ_CLUSTER) &&
	    o.rows)
		printf("\n");
	else if (type == CTL_REQ_FLOW)
		flow_legend(&o);
	return rc;
}

/* ---- the command line ---- */

static const struct {
	const char	*name;
	unsigned	 type;
	int		 min, max;	/* positional arguments */
} commands[] = {
	{ "queue", CTL_REQ_QUEUE, 0, 0 },
	{ "show", CTL_REQ_SHOW, 1, 1 },
	{ "flush", CTL_REQ_FLUSH, 0, 1 },
	{ "remove", CTL_REQ_REMOVE, 1, 1 },
	{ "hold", CTL_REQ_HOLD, 1, 1 },
	{ "release", CTL_REQ_RELEASE, 1, 1 },
	{ "stats", CTL_REQ_STATS, 0, 0 },
	{ "reload", CTL_REQ_RELOAD, 0, 0 },
	{ "trace", CTL_REQ_TRACE, 1, CONTROL_FIELDS_MAX - 4 },
	{ "flow", CTL_REQ_FLOW, 0, 0 },
	{ "cluster", CTL_REQ_CLUSTER, 0, 1 },
};

int
main(int argc, char *argv[])
{
	const char *conf_path = "/etc/postern/postern.conf", *sock = NULL;
	const char *server = NULL, *client = NULL, *sender = "";
	const char *user = NULL, *unknown = NULL, *ci = NULL;
	const char **f;
	char flags[32] = "", err[CONF_ERR_MAX];
	struct conf *c = NULL;
	size_t n = 0, k;
	int ch, json = 0, rc;

	log_init("posternctl", 0, 0);
	while ((ch = getopt(argc, argv, "+c:s:")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			ci = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || (ci && sock))
		usage();
	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[optind], commands[k].name) == 0)
			break;
	if (k == sizeof(commands) / sizeof(commands[0]))
		usage();
	f = calloc((size_t)argc + 4, sizeof(*f));
	if (f == NULL)
		die("out of memory");
	if (commands[k].type == CTL_REQ_TRACE)
		n = 4;		/* vserver client sender flags, then RCPTs */
	for (int i = optind + 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;

		if (strcmp(a, "--json") == 0)
			json = 1;
		else if (strcmp(a, "--server") == 0 && more)
			server = argv[++i];
		else if (strcmp(a, "--client") == 0 && more)
			client = argv[++i];
		else if (strcmp(a, "--sender") == 0 && more)
			sender = argv[++i];
		else if (strcmp(a, "--tls") == 0)
			strcat(flags, "tls,");
		else if (strcmp(a, "--auth") == 0)
			strcat(flags, "auth,");
		else if (strcmp(a, "--no-dns") == 0)
			strcat(flags, "nodns,");
		else if (strcmp(a, "--user") == 0 && more)
			user = argv[++i];
		else if (strcmp(a, "--unknown") == 0 && more)
			unknown = argv[++i];
		else if (a[0] == '-' && a[1] == '-')
			usage();
		else
			f[n++] = a;
	}
	if (commands[k].type == CTL_REQ_TRACE) {
		if (server == NULL || client == NULL)
			usage();
		f[0] = server;
		f[1] = client;
		f[2] = sender;
		f[3] = flags;
		if ((int)n - 4 < commands[k].min)
			usage();
	} else if (commands[k].type == CTL_REQ_FLOW) {
		if (n != 0)
			usage();
		if (user || unknown) {
			f[n++] = user ? user : "";
			if (unknown)
				f[n++] = unknown;
		}
	} else if (commands[k].type == CTL_REQ_CLUSTER && n == 1 &&
	    strcmp(f[0], "queue") != 0)
		usage();
	else if ((int)n < commands[k].min || (int)n > commands[k].max ||
	    server || client || user || unknown || flags[0])
		usage();
	if (sock == NULL) {
		if (conf_load(conf_path, &c, err, sizeof(err)) == -1)
			die("%s", err);
		sock = c->control;
	}
	rc = converse(sock, commands[k].type, f, n, json);
	free(f);
	if (c)
		conf_unref(c);
	return rc;
}
