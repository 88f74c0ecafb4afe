/*
 * kv_probe — drive kv.h (kv_redis.c) against a real redis-server, one
 * command a line on stdin, one answer a line on stdout: the test driver of
 * tests/integration/test_cluster_kv.py.
 *
 *   kv_probe [-t TIMEOUT_MS] [-P PASSWORD_FILE] ADDRESS
 *
 * Commands (words separated by blanks; values without blanks):
 *   incr KEY BY TTL          kv_incr_expire
 *   get KEY                  kv_get
 *   setnx KEY VALUE TTL      kv_set_nx_ex
 *   set KEY VALUE TTL        kv_set_ex
 *   setbig KEY SIZE TTL      kv_set_ex of SIZE bytes "x"
 *   window KEY LIMIT WINDOW  kv_window_hit
 *   first KEY TTL            kv_first_seen
 *   count KEY MEMBER BY TTL  kv_count_adjust
 *   sadd SET MEMBER TTL      kv_set_add
 *   values SET PREFIX        kv_set_values
 *   cancel-get KEY           kv_get, cancelled at once (prints "cancelled")
 *   burst N KEY              N kv_incr_expire at once (pipelined), one
 *                            answer when all are in: "burst ok=.. timeout=..
 *                            down=.. error=.. max=.. ms=N" (max: the
 *                            largest value answered)
 *   wait-up MS               until connected, or MS passed
 *   stats                    kv_stats
 * Answers: "STATUS VALUE ms=N" (STATUS ok, timeout, down, error; VALUE an
 * integer, a string's length and its first 64 bytes, "nil", or the
 * number of values of a list and the values sorted, comma-separated);
 * "stats requests=.. timeouts=.. failures=.. outages=.. up=..";
 * "up 0|1 ms=N".  A command is answered before the next is read.  Exit
 * status 0 at end of input, 2 on a usage error.
 */
#include <event2/event.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kv.h"
#include "log.h"

#define LINE_MAX_	1024
#define WORDS_MAX	8

static struct event_base *base;
static struct kv *kv;
static struct event *in_ev, *poll_ev;
static char line[LINE_MAX_ + 1];
static size_t linelen;
static int busy;
static struct timespec t0;
static long wait_up_ms;
static struct {
	unsigned	 left, st[4];
	long long	 max;
} burst;

static long
elapsed_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0.tv_sec) * 1000 +
	    (now.tv_nsec - t0.tv_nsec) / 1000000;
}

static const char *
stname(enum kv_status st)
{
	switch (st) {
	case KV_OK:
		return "ok";
	case KV_TIMEOUT:
		return "timeout";
	case KV_DOWN:
		return "down";
	case KV_ERROR:
		return "error";
	}
	return "?";
}

static void next_line(void);

static void
done(void)
{
	fflush(stdout);
	busy = 0;
	next_line();
}

static void
int_cb(enum kv_status st, long long v, void *arg)
{
	(void)arg;
	printf("%s %lld ms=%ld\n", stname(st), st == KV_OK ? v : 0,
	    elapsed_ms());
	done();
}

static void
burst_cb(enum kv_status st, long long v, void *arg)
{
	(void)arg;
	burst.st[st]++;
	if (st == KV_OK && v > burst.max)
		burst.max = v;
	if (--burst.left > 0)
		return;
	printf("burst ok=%u timeout=%u down=%u error=%u max=%lld ms=%ld\n",
	    burst.st[KV_OK], burst.st[KV_TIMEOUT], burst.st[KV_DOWN],
	    burst.st[KV_ERROR], burst.max, elapsed_ms());
	done();
}

static void
str_cb(enum kv_status st, const char *v, size_t len, void *arg)
{
	(void)arg;
	if (st == KV_OK && v == NULL)
		printf("ok nil ms=%ld\n", elapsed_ms());
	else if (st == KV_OK)
		printf("ok %zu %.*s ms=%ld\n", len, (int)(len > 64 ? 64 : len),
		    v, elapsed_ms());
	else
		printf("%s - ms=%ld\n", stname(st), elapsed_ms());
	done();
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_cb(enum kv_status st, const char *const *vals, const size_t *lens,
    size_t n, void *arg)
{
	char *s[KV_LIST_MAX];
	size_t i;

	(void)arg;
	if (st != KV_OK) {
		printf("%s - ms=%ld\n", stname(st), elapsed_ms());
		done();
		return;
	}
	for (i = 0; i < n; i++)
		s[i] = strndup(vals[i], lens[i] > 64 ? 64 : lens[i]);
	qsort(s, n, sizeof(s[0]), cmp_str);
	printf("ok %zu ", n);
	for (i = 0; i < n; i++) {
		printf("%s%s", i ? "," : "", s[i]);
		free(s[i]);
	}
	printf(" ms=%ld\n", elapsed_ms());
	done();
}

static void
poll_up(evutil_socket_t fd, short ev, void *arg)
{
	struct kv_stats st;
	struct timeval tv = { 0, 20 * 1000 };

	(void)fd;
	(void)ev;
	(void)arg;
	kv_stats(kv, &st);
	if (st.up || elapsed_ms() >= wait_up_ms) {
		printf("up %d ms=%ld\n", st.up, elapsed_ms());
		done();
		return;
	}
	evtimer_add(poll_ev, &tv);
}

static unsigned long
num(const char *s)
{
	return strtoul(s, NULL, 10);
}

/* One command; 0 when an answer will come from the loop. */
static int
run(char **w, int n)
{
	struct kv_stats st;
	struct kv_req *r;
	char *big;
	size_t size;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (n == 4 && strcmp(w[0], "incr") == 0)
		kv_incr_expire(kv, w[1], strtoll(w[2], NULL, 10), num(w[3]),
		    int_cb, NULL);
	else if (n == 2 && strcmp(w[0], "get") == 0)
		kv_get(kv, w[1], str_cb, NULL);
	else if (n == 4 && strcmp(w[0], "setnx") == 0)
		kv_set_nx_ex(kv, w[1], w[2], strlen(w[2]), num(w[3]), int_cb,
		    NULL);
	else if (n == 4 && strcmp(w[0], "set") == 0)
		kv_set_ex(kv, w[1], w[2], strlen(w[2]), num(w[3]), int_cb,
		    NULL);
	else if (n == 4 && strcmp(w[0], "setbig") == 0) {
		size = num(w[2]);
		if ((big = malloc(size + 1)) == NULL)
			return -1;
		memset(big, 'x', size);
		kv_set_ex(kv, w[1], big, size, num(w[3]), int_cb, NULL);
		free(big);
	} else if (n == 4 && strcmp(w[0], "window") == 0)
		kv_window_hit(kv, w[1], num(w[2]), num(w[3]), int_cb, NULL);
	else if (n == 3 && strcmp(w[0], "first") == 0)
		kv_first_seen(kv, w[1], num(w[2]), int_cb, NULL);
	else if (n == 5 && strcmp(w[0], "count") == 0)
		kv_count_adjust(kv, w[1], w[2], strtoll(w[3], NULL, 10),
		    num(w[4]), int_cb, NULL);
	else if (n == 4 && strcmp(w[0], "sadd") == 0)
		kv_set_add(kv, w[1], w[2], num(w[3]), int_cb, NULL);
	else if (n == 3 && strcmp(w[0], "values") == 0)
		kv_set_values(kv, w[1], w[2], list_cb, NULL);
	else if (n == 2 && strcmp(w[0], "cancel-get") == 0) {
		r = kv_get(kv, w[1], str_cb, NULL);
		kv_cancel(r);
		printf("cancelled\n");
		return 1;
	} else if (n == 3 && strcmp(w[0], "burst") == 0 && num(w[1]) > 0) {
		memset(&burst, 0, sizeof(burst));
		burst.left = (unsigned)num(w[1]);
		for (unsigned long i = num(w[1]); i > 0; i--)
			kv_incr_expire(kv, w[2], 1, 60, burst_cb, NULL);
	} else if (n == 2 && strcmp(w[0], "wait-up") == 0) {
		wait_up_ms = (long)num(w[1]);
		poll_up(-1, 0, NULL);
	} else if (n == 1 && strcmp(w[0], "stats") == 0) {
		kv_stats(kv, &st);
		printf("stats requests=%llu timeouts=%llu failures=%llu "
		    "outages=%llu up=%d\n", (unsigned long long)st.requests,
		    (unsigned long long)st.timeouts,
		    (unsigned long long)st.failures,
		    (unsigned long long)st.outages, st.up);
		return 1;
	} else
		return -1;
	return 0;
}

/* Runs the complete lines buffered, one at a time. */
static void
next_line(void)
{
	char *nl, *w[WORDS_MAX], *s;
	int n, rc;

	while (!busy && (nl = memchr(line, '\n', linelen)) != NULL) {
		*nl = '\0';
		n = 0;
		for (s = strtok(line, " \t\r"); s != NULL && n < WORDS_MAX;
		    s = strtok(NULL, " \t\r"))
			w[n++] = s;
		busy = 1;
		rc = n == 0 ? 1 : run(w, n);
		if (rc == -1)
			printf("usage error\n");
		linelen -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, linelen);
		if (rc != 0) {
			fflush(stdout);
			busy = 0;
		}
	}
	if (!busy && in_ev == NULL)
		event_base_loopbreak(base);
}

static void
on_stdin(evutil_socket_t fd, short ev, void *arg)
{
	ssize_t n;

	(void)ev;
	(void)arg;
	if (linelen == LINE_MAX_) {
		fprintf(stderr, "kv_probe: line too long\n");
		exit(2);
	}
	n = read(fd, line + linelen, LINE_MAX_ - linelen);
	if (n <= 0) {
		event_free(in_ev);
		in_ev = NULL;
	} else
		linelen += (size_t)n;
	next_line();
}

int
main(int argc, char **argv)
{
	struct kv_params p = { .timeout_ms = 250 };
	char err[256], pw[256];
	FILE *f;
	int ch;

	while ((ch = getopt(argc, argv, "t:P:")) != -1) {
		switch (ch) {
		case 't':
			p.timeout_ms = (unsigned)num(optarg);
			break;
		case 'P':
			if ((f = fopen(optarg, "r")) == NULL ||
			    fgets(pw, sizeof(pw), f) == NULL) {
				fprintf(stderr, "kv_probe: %s: %s\n", optarg,
				    strerror(errno));
				return 2;
			}
			fclose(f);
			pw[strcspn(pw, "\r\n")] = '\0';
			p.password = pw;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1)
		goto usage;
	p.address = argv[optind];
	log_init("kv_probe", 0, 1);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if ((kv = kv_open(base, &p, err, sizeof(err))) == NULL) {
		printf("open error %s\n", err);
		return 1;
	}
	in_ev = event_new(base, 0, EV_READ | EV_PERSIST, on_stdin, NULL);
	poll_ev = evtimer_new(base, poll_up, NULL);
	event_add(in_ev, NULL);
	event_base_dispatch(base);
	kv_free(kv);
	event_free(poll_ev);
	event_base_free(base);
	return 0;
 usage:
	fprintf(stderr, "usage: kv_probe [-t TIMEOUT_MS] [-P PASSWORD_FILE] "
	    "ADDRESS < COMMANDS\n");
	return 2;
}
