/*
 * dnsbl — block list query names, answers, and parallel lookups; see
 * dnsbl.h.
 *
 * The lookups go through resolver_host() (A and AAAA of a name), the one
 * name lookup the resolver offers: only the A answers count, the AAAA
 * question is wasted but harmless.  A check owns its zone questions; a
 * cancelled check cancels them all, so no callback can reach a session
 * that has gone.
 */
#include "dnsbl.h"
#include "log.h"
#include "resolver.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dnsbl_zone {
	struct dnsbl_check	*chk;
	struct resolver_query	*q;		/* while asked */
};

struct dnsbl_check {
	dnsbl_cb		 cb;
	void			*arg;
	struct dnsbl_zone	*zones;
	struct dnsbl_answer	*answers;
	size_t			 n;
	size_t			 pending;
};

static const char *status_names[] = {
	"not-listed", "listed", "failed", "skipped",
};

const char *
dnsbl_status_name(enum dnsbl_status st)
{
	return (unsigned)st < sizeof(status_names) / sizeof(status_names[0]) ?
	    status_names[st] : "?";
}

int
dnsbl_query_name(const struct sockaddr *client, const char *zone, char *out,
    size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const struct sockaddr_in6 *sin6;
	const uint8_t *a;
	char rev[72];
	size_t o = 0;
	int n;

	if (zone == NULL || zone[0] == '\0')
		return -1;
	if (client->sa_family == AF_INET) {
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)client)->sin_addr;
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u", a[3], a[2], a[1],
		    a[0]);
	} else if (client->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)client;
		a = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			/* The IPv4 client of a dual-stack listener. */
			snprintf(rev, sizeof(rev), "%u.%u.%u.%u", a[15], a[14],
			    a[13], a[12]);
		else {
			for (int i = 15; i >= 0; i--) {
				rev[o++] = hex[a[i] & 0x0f];
				rev[o++] = '.';
				rev[o++] = hex[a[i] >> 4];
				rev[o++] = i ? '.' : '\0';
			}
		}
	} else
		return -1;
	n = snprintf(out, outlen, "%s.%s", rev, zone);
	if (n < 0 || (size_t)n >= outlen || n > DNSBL_NAME_MAX)
		return -1;
	return 0;
}

enum dnsbl_status
dnsbl_classify(const struct sockaddr_storage *addrs, size_t naddrs,
    char *detail, size_t detaillen)
{
	enum dnsbl_status st = DNSBL_NOT_LISTED;
	char ip[INET_ADDRSTRLEN];
	const struct in_addr *in;
	uint32_t v;

	detail[0] = '\0';
	for (size_t i = 0; i < naddrs; i++) {
		if (addrs[i].ss_family != AF_INET)
			continue;	/* only A records carry a listing */
		in = &((const struct sockaddr_in *)&addrs[i])->sin_addr;
		v = ntohl(in->s_addr);
		inet_ntop(AF_INET, in, ip, sizeof(ip));
		if ((v >> 24) == 127 && (v >> 8) != 0x7fffff) {
			snprintf(detail, detaillen, "%s", ip);
			return DNSBL_LISTED;
		}
		if (st == DNSBL_FAILED)
			continue;	/* keep the first oddity */
		st = DNSBL_FAILED;
		if ((v >> 8) == 0x7fffff)
			snprintf(detail, detaillen, "the list refused the "
			    "query (%s)", ip);
		else
			snprintf(detail, detaillen, "answer %s is not in "
			    "127.0.0.0/8", ip);
	}
	return st;
}

static void
check_free(struct dnsbl_check *chk)
{
	free(chk->zones);
	free(chk->answers);
	free(chk);
}

static void
cancel_questions(struct dnsbl_check *chk)
{
	for (size_t i = 0; i < chk->n; i++) {
		if (chk->zones[i].q == NULL)
			continue;
		resolver_cancel(chk->zones[i].q);
		chk->zones[i].q = NULL;
		chk->answers[i].status = DNSBL_SKIPPED;
	}
	chk->pending = 0;
}

static void
zone_done(void *arg, struct resolver_result *res)
{
	struct dnsbl_zone *z = arg;
	struct dnsbl_check *chk = z->chk;
	struct dnsbl_answer *ans = &chk->answers[z - chk->zones];
	struct dnsbl_result out;

	z->q = NULL;
	chk->pending--;
	switch (res->status) {
	case RESOLVER_OK:
		ans->status = res->nhosts ? dnsbl_classify(res->hosts[0].addrs,
		    res->hosts[0].naddrs, ans->detail, sizeof(ans->detail)) :
		    DNSBL_NOT_LISTED;
		break;
	case RESOLVER_TEMPFAIL:
		ans->status = DNSBL_FAILED;
		snprintf(ans->detail, sizeof(ans->detail), "%s", res->error);
		break;
	default:		/* NXDOMAIN, no A record: not listed */
		ans->status = DNSBL_NOT_LISTED;
		break;
	}
	resolver_result_free(res);
	out.listed = -1;
	if (ans->status == DNSBL_LISTED) {
		/* One list is enough: the others need not be waited for. */
		cancel_questions(chk);
		out.listed = (int)(ans - chk->answers);
	} else if (chk->pending > 0)
		return;
	out.answers = chk->answers;
	out.nanswers = chk->n;
	chk->cb(chk->arg, &out);
	check_free(chk);
}

struct dnsbl_check *
dnsbl_check_start(struct resolver *r, const struct sockaddr *client,
    char *const *zones, size_t nzones, dnsbl_cb cb, void *arg)
{
	struct dnsbl_check *chk;
	char name[DNSBL_NAME_MAX + 1];

	if (r == NULL || nzones == 0)
		return NULL;
	chk = xcalloc(1, sizeof(*chk));
	chk->cb = cb;
	chk->arg = arg;
	chk->n = nzones;
	chk->zones = xcalloc(nzones, sizeof(*chk->zones));
	chk->answers = xcalloc(nzones, sizeof(*chk->answers));
	for (size_t i = 0; i < nzones; i++) {
		chk->zones[i].chk = chk;
		chk->answers[i].zone = zones[i];
		chk->answers[i].status = DNSBL_SKIPPED;
		if (dnsbl_query_name(client, zones[i], name,
		    sizeof(name)) == -1) {
			log_warnx("dnsbl %s: no query name for this client "
			    "(zone name too long?): not asked", zones[i]);
			continue;
		}
		chk->pending++;
		/* The callback never runs before resolver_host() returns. */
		chk->zones[i].q = resolver_host(r, name, 0, zone_done,
		    &chk->zones[i]);
	}
	if (chk->pending == 0) {
		check_free(chk);
		return NULL;
	}
	return chk;
}

void
dnsbl_check_cancel(struct dnsbl_check *chk)
{
	if (chk == NULL)
		return;
	cancel_questions(chk);
	check_free(chk);
}
