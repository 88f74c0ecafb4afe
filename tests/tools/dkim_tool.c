/*
 * dkim_tool — a command-line driver of the DKIM and ARC code for the
 * interop tests (tests/integration/test_dkim_interop.py and
 * test_arc_interop.py), which pit it against python3-dkim and Mail::DKIM.
 * The message comes on stdin, CRLF line ends, fed in chunks of
 * DKIM_TOOL_CHUNK bytes (default 4096) as a session would stream it.
 *
 *   dkim_tool verify ZONEFILE [NOW] < message
 *	one line per signature: "RESULT d=D s=S detail"; "none" if none
 *   dkim_tool sign KEYFILE DOMAIN SELECTOR [HEADER...] [+ KEYFILE ...]
 *	the signed message: one signature per key, in order
 *   dkim_tool arc ZONEFILE [NOW] < message
 *	"RESULT instances=N sealer=D aar=... detail"
 *
 * ZONEFILE lines: "NAME TEXT" (a TXT record, the strings joined), or
 * "NAME !TEMPFAIL" (the lookup fails); served through fake_dns.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_dns.h"
#include "arc.h"
#include "dkim_key.h"
#include "dkim_sign.h"
#include "dkim_verify.h"
#include "msg_header.h"

static char *
read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, k;
	char *p = xmalloc(cap);

	while ((k = fread(p + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap)
			p = xreallocarray(p, cap *= 2, 1);
	}
	*len = n;
	return p;
}

static void
load_zone(struct fake_dns *fd, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[16384];

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp;

		line[strcspn(line, "\r\n")] = '\0';
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp++ = '\0';
		if (strcmp(sp, "!TEMPFAIL") == 0)
			fake_dns_set(fd, line, DNS_T_TXT, DNS_RR_TEMPFAIL);
		else
			fake_dns_add_txt(fd, line, sp);
	}
	fclose(f);
}

static size_t
chunk_size(void)
{
	const char *e = getenv("DKIM_TOOL_CHUNK");
	long n = e ? atol(e) : 4096;

	return n > 0 ? (size_t)n : 4096;
}

/* Feed the message: the header section to h, the body to body(). */
static void
feed(const char *msg, size_t len, struct msg_header *h,
    void (*header_done)(void *, const struct msg_header *),
    void (*body)(void *, const char *, size_t), void *arg)
{
	size_t off = 0, step = chunk_size();

	while (off < len) {
		size_t n = len - off < step ? len - off : step, k = 0;

		if (!h->done) {
			k = msg_header_feed(h, msg + off, n);
			if (h->done)
				header_done(arg, h);
		}
		if (k < n && h->done)
			body(arg, msg + off + k, n - k);
		off += n;
	}
	if (!h->done) {
		msg_header_end(h);
		header_done(arg, h);
	}
}

static void
v_header(void *arg, const struct msg_header *h)
{
	dkim_verify_header(arg, h);
}

static void
v_body(void *arg, const char *p, size_t n)
{
	dkim_verify_body(arg, p, n);
}

static int printed;

static void
print_results(void *arg, const struct dkim_sig_result *r, size_t nr)
{
	size_t i;

	(void)arg;
	printed = 1;
	if (nr == 0)
		printf("none\n");
	for (i = 0; i < nr; i++)
		printf("%s d=%s s=%s a=%s b=%s l=%lld %s\n",
		    dkim_result_name(r[i].result), r[i].domain, r[i].selector,
		    r[i].algorithm, r[i].b_prefix, r[i].length, r[i].detail);
}

static int
cmd_verify(int argc, char **argv)
{
	struct fake_dns *fd = fake_dns_new();
	struct authdns dns = fake_dns_authdns(fd);
	struct msg_header h;
	struct dkim_verify *v;
	const struct dkim_sig_result *r;
	size_t len, nr;
	char *msg;

	if (argc < 3)
		return 2;
	load_zone(fd, argv[2]);
	v = dkim_verify_new(argc > 3 ? (time_t)atoll(argv[3]) : time(NULL));
	msg = read_all(stdin, &len);
	msg_header_init(&h);
	feed(msg, len, &h, v_header, v_body, v);
	if (dkim_verify_end(v, &h, &dns, print_results, NULL, &r, &nr) == 0)
		print_results(NULL, r, nr);
	else
		fake_dns_run(fd);
	if (!printed)
		fprintf(stderr, "dkim_tool: no result\n");
	dkim_verify_free(v);
	msg_header_free(&h);
	fake_dns_free(fd);
	free(msg);
	return printed ? 0 : 1;
}

static void
s_header(void *arg, const struct msg_header *h)
{
	(void)arg;
	(void)h;
}

static void
s_body(void *arg, const char *p, size_t n)
{
	dkim_signer_body(arg, p, n);
}

#define TOOL_KEYS_MAX	8

static int
cmd_sign(int argc, char **argv)
{
	struct dkim_sign_key keys[TOOL_KEYS_MAX];
	const struct dkim_sign_key *kp[TOOL_KEYS_MAX];
	struct dkim_signer *s;
	struct msg_header h;
	size_t nk = 0, len, slen;
	char err[256], *msg, *sig;
	int i = 2;

	while (i + 2 < argc && nk < TOOL_KEYS_MAX) {
		struct dkim_sign_key *k = &keys[nk];

		if ((k->pkey = dkim_key_load(argv[i], err, sizeof(err))) ==
		    NULL) {
			fprintf(stderr, "dkim_tool: %s\n", err);
			return 2;
		}
		k->domain = argv[i + 1];
		k->selector = argv[i + 2];
		k->headers = (const char *const *)&argv[i + 3];
		for (i += 3; i < argc && strcmp(argv[i], "+") != 0; i++)
			;
		k->nheaders = (size_t)((const char *const *)&argv[i] -
		    k->headers);
		kp[nk] = k;
		nk++;
		i++;
	}
	if (nk == 0)
		return 2;
	s = dkim_signer_new(kp, nk, time(NULL));
	msg = read_all(stdin, &len);
	msg_header_init(&h);
	feed(msg, len, &h, s_header, s_body, s);
	if ((sig = dkim_signer_end(s, &h, &slen, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dkim_tool: %s\n", err);
		return 1;
	}
	fwrite(sig, 1, slen, stdout);
	fwrite(msg, 1, len, stdout);
	free(sig);
	free(msg);
	dkim_signer_free(s);
	msg_header_free(&h);
	while (nk > 0)
		EVP_PKEY_free(keys[--nk].pkey);
	return 0;
}

static void
a_header(void *arg, const struct msg_header *h)
{
	arc_verify_header(arg, h);
}

static void
a_body(void *arg, const char *p, size_t n)
{
	arc_verify_body(arg, p, n);
}

static void
print_arc(void *arg, const struct arc_outcome *o)
{
	(void)arg;
	printed = 1;
	printf("%s instances=%d sealer=%s aar=%s %s\n",
	    arc_result_name(o->result), o->instances, o->sealer,
	    o->aar ? o->aar : "", o->detail);
}

static int
cmd_arc(int argc, char **argv)
{
	struct fake_dns *fd = fake_dns_new();
	struct authdns dns = fake_dns_authdns(fd);
	const struct arc_outcome *o;
	struct msg_header h;
	struct arc_verify *a;
	size_t len;
	char *msg;

	if (argc < 3)
		return 2;
	load_zone(fd, argv[2]);
	a = arc_verify_new(argc > 3 ? (time_t)atoll(argv[3]) : time(NULL));
	msg = read_all(stdin, &len);
	msg_header_init(&h);
	feed(msg, len, &h, a_header, a_body, a);
	if (arc_verify_end(a, &h, &dns, print_arc, NULL, &o) == 0)
		print_arc(NULL, o);
	else
		fake_dns_run(fd);
	if (!printed)
		fprintf(stderr, "dkim_tool: no result\n");
	arc_verify_free(a);
	msg_header_free(&h);
	fake_dns_free(fd);
	free(msg);
	return printed ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "arc") == 0)
		return cmd_arc(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc, argv);
	fprintf(stderr, "usage: dkim_tool verify|sign|arc ...\n");
	return 2;
}
