/*
 * spf_lookup — two-round SPF lookups (spf_lookup.h): the first question
 * (MX or PTR) in slot 0, then one question per name found, asked
 * together, each in its own slot so that an answer knows its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "spf_lookup.h"
#include "netaddr.h"
#include "xmalloc.h"

struct slot {
	struct spf_lookup *lk;
	void		*h;		/* pending question, or NULL */
	int		 valid;		/* ptr: this name validated */
	char		 name[SPF_LOOKUP_NAME_MAX + 1];
};

struct spf_lookup {
	struct authdns	 dns;
	spf_lookup_cb	 cb;
	void		*arg;
	int		 mx;		/* else ptr */
	int		 family;
	unsigned char	 ip[16];
	int		 prefix;
	char		 within[SPF_LOOKUP_NAME_MAX + 1];	/* "" = any */
	int		 second;	/* the first answer came */
	int		 pending;
	int		 in_cb;
	struct slot	 slot[SPF_LOOKUP_NAMES_MAX];
	struct spf_lookup_result res;
};

static void	answer(void *, const struct dns_rrset *);

void
spf_lookup_reverse_name(int family, const unsigned char *ip, char *buf,
    size_t len)
{
	size_t n = 0;
	int i;

	if (family == AF_INET) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2],
		    ip[1], ip[0]);
		return;
	}
	for (i = 15; i >= 0 && n < len; i--)
		n += (size_t)snprintf(buf + n, len - n, "%x.%x.", ip[i] & 15,
		    ip[i] >> 4);
	if (n < len)
		snprintf(buf + n, len - n, "ip6.arpa");
}

int
spf_lookup_within(const char *name, const char *dom)
{
	size_t n = strlen(name), d = strlen(dom);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && dom[d - 1] == '.')
		d--;
	if (n < d || strncasecmp(name + n - d, dom, d) != 0)
		return 0;
	return n == d || name[n - d - 1] == '.';
}

static int
ask(struct spf_lookup *lk, int i, const char *name, int type)
{
	struct slot *s = &lk->slot[i];

	s->lk = lk;
	s->valid = 0;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->h = lk->dns.ask(lk->dns.ctx, name, type, answer, s);
	if (s->h == NULL)
		return -1;
	lk->pending++;
	return 0;
}

static void
cancel_pending(struct spf_lookup *lk)
{
	int i;

	for (i = 0; i < SPF_LOOKUP_NAMES_MAX; i++) {
		if (lk->slot[i].h != NULL && lk->dns.cancel != NULL)
			lk->dns.cancel(lk->dns.ctx, lk->slot[i].h);
		lk->slot[i].h = NULL;
	}
	lk->pending = 0;
}

static void
done(struct spf_lookup *lk, enum spf_lookup_status st)
{
	int i;

	cancel_pending(lk);
	lk->res.status = st;
	if (!lk->mx) {
		for (i = 0; i < SPF_LOOKUP_NAMES_MAX; i++)
			if (lk->slot[i].valid)
				memcpy(lk->res.names[lk->res.nnames++],
				    lk->slot[i].name, sizeof(lk->slot[i].name));
		if (st == SPF_LOOKUP_NOMATCH && lk->res.nnames > 0)
			lk->res.status = SPF_LOOKUP_MATCH;
	}
	lk->in_cb = 1;
	lk->cb(lk->arg, &lk->res);
	free(lk);
}

static int
addr_match(const struct spf_lookup *lk, const struct dns_rrset *rs, int bits)
{
	size_t i;

	if (rs->status != DNS_RR_OK)
		return 0;
	for (i = 0; i < rs->nrr; i++)
		if (rs->rr[i].family == lk->family &&
		    netaddr_prefix_match(rs->rr[i].addr, lk->ip, bits))
			return 1;
	return 0;
}

/* The MX or PTR answer: ask the names' addresses. */
static void
first_answer(struct spf_lookup *lk, const struct dns_rrset *rs)
{
	char names[SPF_LOOKUP_NAMES_MAX][SPF_LOOKUP_NAME_MAX + 1];
	size_t i, n = 0;

	lk->second = 1;
	if (rs->status == DNS_RR_TEMPFAIL) {
		/* 5.5: a DNS error on the PTR question is no match */
		snprintf(lk->res.failed, sizeof(lk->res.failed), "%s",
		    lk->slot[0].name);
		done(lk, lk->mx ? SPF_LOOKUP_TEMPFAIL : SPF_LOOKUP_NOMATCH);
		return;
	}
	if (rs->status != DNS_RR_OK) {
		done(lk, SPF_LOOKUP_VOID);
		return;
	}
	for (i = 0; i < rs->nrr; i++) {
		const char *t = rs->rr[i].text;
		size_t len;

		/* only the first names of a PTR answer (4.6.4) */
		if (!lk->mx && i == SPF_LOOKUP_NAMES_MAX)
			break;
		/* "" or ".": a null MX (RFC 7505), no host */
		if (t == NULL || t[0] == '\0' || strcmp(t, ".") == 0)
			continue;
		len = strlen(t);
		if (len > 1 && t[len - 1] == '.')
			len--;
		if (len > SPF_LOOKUP_NAME_MAX)
			continue;
		if (lk->within[0] != '\0' && !spf_lookup_within(t, lk->within))
			continue;
		if (n == SPF_LOOKUP_NAMES_MAX) {
			done(lk, SPF_LOOKUP_TOOMANY);	/* mx only */
			return;
		}
		memcpy(names[n], t, len);
		names[n][len] = '\0';
		n++;
	}
	if (n == 0) {
		done(lk, SPF_LOOKUP_NOMATCH);
		return;
	}
	for (i = 0; i < n; i++)
		if (ask(lk, (int)i, names[i], lk->family == AF_INET ?
		    DNS_T_A : DNS_T_AAAA) == -1) {
			snprintf(lk->res.failed, sizeof(lk->res.failed), "%.253s",
			    names[i]);
			done(lk, lk->mx ? SPF_LOOKUP_TEMPFAIL :
			    SPF_LOOKUP_NOMATCH);
			return;
		}
}

static void
answer(void *arg, const struct dns_rrset *rs)
{
	struct slot *s = arg;
	struct spf_lookup *lk = s->lk;

	s->h = NULL;
	lk->pending--;
	if (!lk->second) {
		first_answer(lk, rs);
		return;
	}
	if (lk->mx) {
		if (rs->status == DNS_RR_TEMPFAIL) {
			snprintf(lk->res.failed, sizeof(lk->res.failed), "%s",
			    s->name);
			done(lk, SPF_LOOKUP_TEMPFAIL);
			return;
		}
		if (addr_match(lk, rs, lk->prefix)) {
			done(lk, SPF_LOOKUP_MATCH);
			return;
		}
	} else {
		/* validated: the name leads back to the client; a DNS
		 * error skips the name (5.5) */
		s->valid = addr_match(lk, rs, lk->family == AF_INET ? 32 : 128);
		if (s->valid && lk->within[0] != '\0') {
			done(lk, SPF_LOOKUP_MATCH);
			return;
		}
	}
	if (lk->pending == 0)
		done(lk, SPF_LOOKUP_NOMATCH);
}

static struct spf_lookup *
start(const struct authdns *dns, int mx, int family, const unsigned char *ip,
    spf_lookup_cb cb, void *arg)
{
	struct spf_lookup *lk = xcalloc(1, sizeof(*lk));

	lk->dns = *dns;
	lk->cb = cb;
	lk->arg = arg;
	lk->mx = mx;
	lk->family = family;
	memcpy(lk->ip, ip, family == AF_INET ? 4 : 16);
	return lk;
}

struct spf_lookup *
spf_lookup_mx(const struct authdns *dns, const char *name, int family,
    const unsigned char *ip, int prefix, spf_lookup_cb cb, void *arg)
{
	struct spf_lookup *lk = start(dns, 1, family, ip, cb, arg);

	lk->prefix = prefix;
	if (ask(lk, 0, name, DNS_T_MX) == -1) {
		free(lk);
		return NULL;
	}
	return lk;
}

struct spf_lookup *
spf_lookup_ptr(const struct authdns *dns, int family, const unsigned char *ip,
    const char *within, spf_lookup_cb cb, void *arg)
{
	struct spf_lookup *lk = start(dns, 0, family, ip, cb, arg);
	char rev[80];

	if (within != NULL)
		snprintf(lk->within, sizeof(lk->within), "%s", within);
	spf_lookup_reverse_name(family, ip, rev, sizeof(rev));
	if (ask(lk, 0, rev, DNS_T_PTR) == -1) {
		free(lk);
		return NULL;
	}
	return lk;
}

void
spf_lookup_cancel(struct spf_lookup *lk)
{
	if (lk == NULL || lk->in_cb)
		return;
	cancel_pending(lk);
	free(lk);
}
