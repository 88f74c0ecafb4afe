/*
 * dns_rrset — a raw DNS answer (what c-ares hands back) turned into the
 * records of dns_rrset.h: a pure function, so that the live resolver
 * (resolver_lookup), the unit tests and the fuzz harness run the same code
 * on the same bytes.  c-ares walks the wire format; here the records are
 * bounded (DNS_RRSET_MAX of them, DNS_TXT_MAX octets of one TXT record)
 * and names checked (a host name from an MX or PTR record is asked of DNS
 * again and logged, so it must be a plain host name).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_rrset.h"
#include "resolver_answer.h"
#include "xmalloc.h"

static struct dns_rr *
add_rr(struct dns_rrset *rs)
{
	if (rs->nrr == DNS_RRSET_MAX)
		return NULL;
	rs->rr = xreallocarray(rs->rr, rs->nrr + 1, sizeof(*rs->rr));
	memset(&rs->rr[rs->nrr], 0, sizeof(rs->rr[0]));
	return &rs->rr[rs->nrr++];
}

static void
add_name(struct dns_rrset *rs, const char *name, unsigned pref)
{
	struct dns_rr *rr;

	if (name == NULL || !resolver_valid_hostname(name))
		return;
	/* c-ares lists a PTR answer's first name twice. */
	for (size_t i = 0; i < rs->nrr; i++)
		if (strcasecmp(rs->rr[i].text, name) == 0 &&
		    rs->rr[i].pref == pref)
			return;
	if ((rr = add_rr(rs)) == NULL)
		return;
	rr->text = resolver_lowercase_name(name);
	rr->len = strlen(rr->text);
	rr->pref = pref;
}

/* The strings of one TXT record joined; a record over DNS_TXT_MAX is
 * dropped whole (a part of it could read as another record). */
static int
parse_txt(const unsigned char *abuf, int alen, struct dns_rrset *rs)
{
	struct ares_txt_ext *txt, *t;
	struct dns_rr *cur = NULL;
	int st, toolong = 0;

	if ((st = ares_parse_txt_reply_ext(abuf, alen, &txt)) != ARES_SUCCESS)
		return st;
	for (t = txt; t != NULL; t = t->next) {
		if (t->record_start) {
			if (cur != NULL && toolong) {
				free(cur->text);
				rs->nrr--;
			}
			toolong = 0;
			cur = add_rr(rs);
			if (cur != NULL)
				cur->text = xcalloc(1, 1);
		}
		if (cur == NULL || toolong)
			continue;
		if (cur->len + t->length > DNS_TXT_MAX) {
			toolong = 1;
			continue;
		}
		cur->text = xreallocarray(cur->text, cur->len + t->length + 1,
		    1);
		memcpy(cur->text + cur->len, t->txt, t->length);
		cur->len += t->length;
		cur->text[cur->len] = '\0';
	}
	if (cur != NULL && toolong) {
		free(cur->text);
		rs->nrr--;
	}
	ares_free_data(txt);
	return ARES_SUCCESS;
}

static int
parse_addrs(const unsigned char *abuf, int alen, int type,
    struct dns_rrset *rs)
{
	struct ares_addrttl a4[DNS_RRSET_MAX];
	struct ares_addr6ttl a6[DNS_RRSET_MAX];
	int n = DNS_RRSET_MAX, st, i;
	struct dns_rr *rr;

	if (type == DNS_T_A)
		st = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
	else
		st = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	if (st != ARES_SUCCESS)
		return st;
	for (i = 0; i < n && (rr = add_rr(rs)) != NULL; i++) {
		if (type == DNS_T_A) {
			rr->family = AF_INET;
			memcpy(rr->addr, &a4[i].ipaddr, 4);
		} else {
			rr->family = AF_INET6;
			memcpy(rr->addr, &a6[i].ip6addr, 16);
		}
	}
	return ARES_SUCCESS;
}

static int
parse_mx(const unsigned char *abuf, int alen, struct dns_rrset *rs)
{
	struct ares_mx_reply *mx, *m;
	int st;

	if ((st = ares_parse_mx_reply(abuf, alen, &mx)) != ARES_SUCCESS)
		return st;
	for (m = mx; m != NULL; m = m->next)
		add_name(rs, m->host, m->priority);
	ares_free_data(mx);
	return ARES_SUCCESS;
}

static int
parse_ptr(const unsigned char *abuf, int alen, struct dns_rrset *rs)
{
	static const unsigned char any[16];
	struct hostent *he;
	int st;

	if ((st = ares_parse_ptr_reply(abuf, alen, any, sizeof(any),
	    AF_INET6, &he)) != ARES_SUCCESS)
		return st;
	add_name(rs, he->h_name, 0);
	for (char **a = he->h_aliases; a != NULL && *a != NULL; a++)
		add_name(rs, *a, 0);
	ares_free_hostent(he);
	return ARES_SUCCESS;
}

void
dns_rrset_parse(int status, const unsigned char *abuf, int alen, int type,
    struct dns_rrset *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->type = type;
	status = resolver_answer_status(status, abuf, alen);
	if (status == ARES_SUCCESS) {
		switch (type) {
		case DNS_T_TXT:
			status = parse_txt(abuf, alen, rs);
			break;
		case DNS_T_A:
		case DNS_T_AAAA:
			status = parse_addrs(abuf, alen, type, rs);
			break;
		case DNS_T_MX:
			status = parse_mx(abuf, alen, rs);
			break;
		case DNS_T_PTR:
			status = parse_ptr(abuf, alen, rs);
			break;
		default:
			status = ARES_ENOTIMP;
		}
		/* A broken name in an answer is a malformed answer. */
		if (status == ARES_EBADNAME)
			status = ARES_EBADRESP;
	}
	switch (status) {
	case ARES_SUCCESS:
		rs->status = rs->nrr > 0 ? DNS_RR_OK : DNS_RR_NODATA;
		break;
	case ARES_ENODATA:
		rs->status = DNS_RR_NODATA;
		break;
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:	/* from the query: the name cannot exist */
		rs->status = DNS_RR_NXDOMAIN;
		break;
	default:
		rs->status = DNS_RR_TEMPFAIL;
		snprintf(rs->error, sizeof(rs->error), "%s",
		    resolver_status_text(status));
	}
	if (rs->status != DNS_RR_OK)
		dns_rrset_clear(rs);
}

void
dns_rrset_clear(struct dns_rrset *rs)
{
	for (size_t i = 0; i < rs->nrr; i++)
		free(rs->rr[i].text);
	free(rs->rr);
	rs->rr = NULL;
	rs->nrr = 0;
}
