/*
 * spf_suite — run SPF checks (src/msgauth/spf.h) over a zone held in a
 * file, on fake_dns, for tests/integration/test_spf_suite.py, which
 * writes the zone and the cases from the OpenSPF RFC 7208 suite.
 *
 *   spf_suite ZONE CASES
 *
 * ZONE: one record a line, NAME TAB TYPE TAB VALUE, TYPE one of
 *   A, AAAA (an address), MX ("PREF HOST"), PTR (a host), TXT (the
 *   record's octets in hex, strings joined), TEMPFAIL or NODATA (VALUE: the
 *   type it applies to, A/AAAA/MX/PTR/TXT, or ANY).
 * CASES: ID TAB CLIENT-IP TAB MAIL-FROM TAB HELO, one a line.
 * Prints ID TAB RESULT TAB EXPLANATION TAB DETAIL for each case (tabs and
 * control characters in the texts shown as '?'), and exits 1 if a check
 * did not call back exactly once.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_dns.h"
#include "spf.h"

static int
type_of(const char *s)
{
	static const struct { const char *n; int t; } types[] = {
		{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX },
		{ "PTR", DNS_T_PTR }, { "TXT", DNS_T_TXT }, { "ANY", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(s, types[i].n) == 0)
			return types[i].t;
	fprintf(stderr, "spf_suite: unknown type %s\n", s);
	exit(2);
}

/* Split line at tabs into at most n fields; the number found. */
static int
fields(char *line, char **f, int n)
{
	int k = 0;

	line[strcspn(line, "\n")] = '\0';
	f[k++] = line;
	while (k < n && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[k++] = line;
	}
	return k;
}

static void
load_zone(struct fake_dns *fd, const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[20000], *f[3];

	if (fp == NULL) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (fields(line, f, 3) != 3)
			continue;
		if (strcmp(f[1], "A") == 0 || strcmp(f[1], "AAAA") == 0)
			fake_dns_add_addr(fd, f[0], f[2]);
		else if (strcmp(f[1], "MX") == 0) {
			char *host = strchr(f[2], ' ');

			fake_dns_add_mx(fd, f[0], (unsigned)atoi(f[2]),
			    host ? host + 1 : "");
		} else if (strcmp(f[1], "PTR") == 0)
			fake_dns_add_ptr(fd, f[0], f[2]);
		else if (strcmp(f[1], "TXT") == 0) {
			size_t n = strlen(f[2]) / 2, i;
			char *t = xmalloc(n + 1);

			for (i = 0; i < n; i++) {
				unsigned v;

				sscanf(f[2] + 2 * i, "%2x", &v);
				t[i] = (char)v;
			}
			fake_dns_add_txtn(fd, f[0], t, n);
			free(t);
		} else if (strcmp(f[1], "TEMPFAIL") == 0)
			fake_dns_set(fd, f[0], type_of(f[2]), DNS_RR_TEMPFAIL);
		else if (strcmp(f[1], "NODATA") == 0)
			fake_dns_set(fd, f[0], type_of(f[2]), DNS_RR_NODATA);
		else {
			fprintf(stderr, "spf_suite: bad zone line type %s\n",
			    f[1]);
			exit(2);
		}
	}
	fclose(fp);
}

static void
clean(char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			*s = '?';
}

struct run {
	const char	*id;
	int		 calls;
};

static void
print(const char *id, const struct spf_outcome *o)
{
	char exp[sizeof(o->explanation)], det[sizeof(o->detail)];

	memcpy(exp, o->explanation, sizeof(exp));
	memcpy(det, o->detail, sizeof(det));
	clean(exp);
	clean(det);
	printf("%s\t%s\t%s\t%s\n", id, spf_result_name(o->result), exp, det);
}

static void
done(void *arg, const struct spf_outcome *o)
{
	struct run *r = arg;

	r->calls++;
	print(r->id, o);
}

int
main(int argc, char *argv[])
{
	struct fake_dns *fd;
	struct authdns dns;
	FILE *fp;
	char line[4096], *f[4];
	int bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: spf_suite ZONE CASES\n");
		return 2;
	}
	fd = fake_dns_new();
	load_zone(fd, argv[1]);
	dns = fake_dns_authdns(fd);
	if ((fp = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct sockaddr_storage ss;
		struct spf_request req;
		struct spf_outcome now;
		struct spf_check *c;
		struct run r = { NULL, 0 };

		if (fields(line, f, 4) != 4)
			continue;
		memset(&ss, 0, sizeof(ss));
		if (strchr(f[1], ':') != NULL) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			if (inet_pton(AF_INET6, f[1], &s6->sin6_addr) != 1)
				return 2;
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			if (inet_pton(AF_INET, f[1], &s4->sin_addr) != 1)
				return 2;
		}
		memset(&req, 0, sizeof(req));
		req.client = (struct sockaddr *)&ss;
		req.sender = f[2];
		req.helo = f[3];
		req.receiver = "receiver.example.net";
		req.now = time(NULL);
		r.id = f[0];
		c = spf_check_start(&dns, &req, &now, done, &r);
		if (c == NULL) {
			print(f[0], &now);
			r.calls = 1;
		}
		fake_dns_run(fd);
		if (r.calls != 1) {
			fprintf(stderr, "spf_suite: %s: %d callbacks\n", f[0],
			    r.calls);
			bad = 1;
		}
	}
	fclose(fp);
	fake_dns_free(fd);
	return bad;
}
