/*
 * milter_probe — drive one message through one milter filter with
 * milter_conn (src/milter), the way a session would, and print each
 * stage's answer: a test driver for real filters (rspamd, clamav-milter)
 * and the fake one of the integration tests.
 *
 *   milter_probe [-t MS] [-a CLIENT_IP] [-H HELO] [-f SENDER] [-r RCPT]...
 *       SOCKET < MESSAGE
 *
 * The message (LF or CRLF line ends) is sent as header fields, EOH, body
 * chunks and end of message.  Output, one line per stage:
 *   STAGE verdict=V local=0|1 ms=N [reply="..."] [reason="..."]
 * then, after eom, one line per modification:
 *   mod KIND [index=N] [name="..."] [value="..."] [addr="..."] [args="..."]
 * and "body N" when the body was replaced.  Control characters are
 * printed as \r, \n, \t or \xHH.  It stops after the first verdict that
 * ends the transaction; exit status 0, or 2 on a usage error.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "milter_conn.h"

#define MSG_MAX		(64 * 1024 * 1024)
#define RCPT_MAX	16
#define FIELDS_MAX	4096

struct probe {
	struct milter_conn	*mc;
	struct event_base	*base;
	const char		*helo, *sender;
	const char		*rcpts[RCPT_MAX];
	size_t			 nrcpt, ircpt, accepted;
	struct sockaddr_in	 client;
	char			 client_ip[64];
	struct buf		 msg;
	size_t			 fields[FIELDS_MAX][4]; /* name, nlen, val, vlen */
	size_t			 nfields, ifield, body, bodyoff;
	int			 step;
};

static void	next(struct probe *);

static void
put_esc(const char *k, const char *s, size_t n)
{
	size_t i;

	printf(" %s=\"", k);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_answer(const struct milter_answer *a)
{
	static const char *const kinds[] = { "addheader", "insheader",
	    "chgheader", "addrcpt", "delrcpt", "chgfrom" };
	size_t i;

	printf("%s verdict=%s local=%d ms=%u", a->stage,
	    milter_verdict_name(a->verdict), a->local, a->elapsed_ms);
	if (a->reply[0] != '\0')
		put_esc("reply", a->reply, strlen(a->reply));
	if (a->reason[0] != '\0')
		put_esc("reason", a->reason, strlen(a->reason));
	putchar('\n');
	for (i = 0; i < a->nmods; i++) {
		const struct milter_mod *m = &a->mods[i];

		printf("mod %s", kinds[m->kind]);
		if (m->kind == MILTER_MOD_INSHEADER ||
		    m->kind == MILTER_MOD_CHGHEADER)
			printf(" index=%u", m->index);
		if (m->name != NULL)
			put_esc("name", m->name, strlen(m->name));
		if (m->value != NULL)
			put_esc("value", m->value, strlen(m->value));
		if (m->addr != NULL)
			put_esc("addr", m->addr, strlen(m->addr));
		if (m->args != NULL)
			put_esc("args", m->args, strlen(m->args));
		putchar('\n');
	}
	if (a->body_replaced)
		printf("body %zu\n", a->bodylen);
	fflush(stdout);
}

static void
on_answer(void *arg, const struct milter_answer *a)
{
	struct probe *p = arg;
	enum milter_verdict v = a->verdict;

	print_answer(a);
	if (p->step == 3 && (v == MILTER_REJECT || v == MILTER_TEMPFAIL)) {
		next(p);		/* that recipient only */
		return;
	}
	if (p->step == 3)
		p->accepted++;
	if (v != MILTER_CONTINUE && p->step != 8) {
		event_base_loopbreak(p->base);
		return;
	}
	next(p);
}

/* Header fields (folded lines joined), then where the body starts. */
static void
split(struct probe *p)
{
	const char *m = p->msg.p;
	size_t n = p->msg.len, i = 0, eol, colon;

	while (i < n && !(m[i] == '\r' && i + 1 < n && m[i + 1] == '\n')) {
		size_t start = i, end;

		do {
			const char *e = memmem(m + i, n - i, "\r\n", 2);

			eol = e ? (size_t)(e - m) : n;
			i = eol + 2 > n ? n : eol + 2;
		} while (i < n && (m[i] == ' ' || m[i] == '\t'));
		end = eol;
		colon = start;
		while (colon < end && m[colon] != ':')
			colon++;
		if (colon == end || p->nfields == FIELDS_MAX)
			continue;
		p->fields[p->nfields][0] = start;
		p->fields[p->nfields][1] = colon - start;
		p->fields[p->nfields][2] = colon + 1;
		p->fields[p->nfields][3] = end - colon - 1;
		p->nfields++;
	}
	p->body = i + 2 > n ? n : i + 2;
	p->bodyoff = p->body;
}

static void
next(struct probe *p)
{
	struct milter_macro conn_m[] = { { "j", "postern.test" },
	    { "{daemon_name}", "postern" }, { "{if_addr}", "127.0.0.1" },
	    { "{client_addr}", p->client_ip }, { NULL, NULL } };
	struct milter_macro mail_m[] = { { "{mail_addr}", p->sender },
	    { NULL, NULL } };
	struct milter_macro rcpt_m[] = { { "{rcpt_addr}", NULL },
	    { NULL, NULL } };
	struct milter_macro qid_m[] = { { "i", "PROBE0001" },
	    { NULL, NULL } };
	char name[256];
	size_t *f, n;

	switch (p->step) {
	case 0:
		p->step = 1;
		milter_conn_connect(p->mc, NULL, (struct sockaddr *)&p->client,
		    conn_m, on_answer, p);
		return;
	case 1:
		p->step = 2;
		milter_conn_helo(p->mc, p->helo, NULL, on_answer, p);
		return;
	case 2:
		p->step = 3;
		milter_conn_mail(p->mc, p->sender, NULL, 0, mail_m, on_answer,
		    p);
		return;
	case 3:
		if (p->ircpt < p->nrcpt) {
			rcpt_m[0].value = p->rcpts[p->ircpt];
			milter_conn_rcpt(p->mc, p->rcpts[p->ircpt++], NULL, 0,
			    rcpt_m, on_answer, p);
			return;
		}
		if (p->accepted == 0) {
			event_base_loopbreak(p->base);
			return;
		}
		p->step = 4;
		milter_conn_data(p->mc, qid_m, on_answer, p);
		return;
	case 4:
		if (p->ifield < p->nfields) {
			f = p->fields[p->ifield++];
			snprintf(name, sizeof(name), "%.*s", (int)f[1],
			    p->msg.p + f[0]);
			milter_conn_header(p->mc, name, p->msg.p + f[2], f[3],
			    on_answer, p);
			return;
		}
		p->step = 5;
		milter_conn_eoh(p->mc, qid_m, on_answer, p);
		return;
	case 5:
	case 6:
		p->step = 6;
		if (p->bodyoff < p->msg.len) {
			n = p->msg.len - p->bodyoff;
			if (n > MILTER_CHUNK_MAX)
				n = MILTER_CHUNK_MAX;
			milter_conn_body(p->mc, p->msg.p + p->bodyoff, n,
			    on_answer, p);
			p->bodyoff += n;
			return;
		}
		p->step = 8;
		milter_conn_eom(p->mc, qid_m, on_answer, p);
		return;
	default:
		milter_conn_abort(p->mc);
		event_base_loopbreak(p->base);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: milter_probe [-t ms] [-a client-ip] "
	    "[-H helo] [-f sender] [-r rcpt]... socket < message\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct probe p;
	struct milter_conn_params mp = { "probe", NULL, 10000, NULL, 0, 0 };
	char chunk[8192];
	size_t n;
	int c, prev = 0;

	memset(&p, 0, sizeof(p));
	p.helo = "client.example";
	p.sender = "alice@example.org";
	snprintf(p.client_ip, sizeof(p.client_ip), "192.0.2.7");
	while ((c = getopt(argc, argv, "t:a:H:f:r:")) != -1) {
		switch (c) {
		case 't':
			mp.timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'a':
			snprintf(p.client_ip, sizeof(p.client_ip), "%s",
			    optarg);
			break;
		case 'H':
			p.helo = optarg;
			break;
		case 'f':
			p.sender = optarg;
			break;
		case 'r':
			if (p.nrcpt == RCPT_MAX)
				usage();
			p.rcpts[p.nrcpt++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	if (p.nrcpt == 0)
		p.rcpts[p.nrcpt++] = "bob@example.com";
	log_init("milter_probe", 0, 0);
	p.client.sin_family = AF_INET;
	p.client.sin_port = htons(40000);
	if (inet_pton(AF_INET, p.client_ip, &p.client.sin_addr) != 1)
		usage();
	/* the message, with CRLF line ends */
	buf_init(&p.msg, MSG_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (chunk[i] == '\n' && prev != '\r' &&
			    buf_appendc(&p.msg, '\r') == -1)
				usage();
			if (buf_appendc(&p.msg, chunk[i]) == -1)
				usage();
			prev = chunk[i];
		}
	}
	split(&p);
	p.base = event_base_new();
	mp.socket = argv[optind];
	mp.base = p.base;
	if ((p.mc = milter_conn_new(&mp)) == NULL)
		usage();
	next(&p);
	event_base_dispatch(p.base);
	milter_conn_free(p.mc);
	event_base_free(p.base);
	buf_free(&p.msg);
	return 0;
}
