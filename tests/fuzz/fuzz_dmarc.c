/*
 * fuzz_dmarc — libFuzzer harness for the DMARC evaluator's state machine
 * (dmarc.c) on a fake zone: the input's first bytes choose the DNS status
 * of the two questions, the identifiers that passed and the pct draw; the
 * rest, split at NUL bytes, are the TXT records at _dmarc.FROM and
 * _dmarc.ORG.  Beyond "no crash, no sanitizer report" it checks the
 * contract: the callback runs exactly once and never inside the start,
 * at most two questions, every outcome field in range, disposition none
 * unless the result is fail (or an ambiguous From), and never stricter
 * than the policy.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "../unit/fake_dns.h"	/* the fake zone of the unit tests */

static uint32_t fuzz_rnd_value;

static uint32_t
fuzz_rnd(void)
{
	return fuzz_rnd_value;
}

struct fuzz_run {
	struct dmarc_outcome o;
	int		 calls;
};

static void
fuzz_done(void *arg, const struct dmarc_outcome *o)
{
	struct fuzz_run *r = arg;

	r->o = *o;
	r->calls++;
}

static void
check(const struct dmarc_outcome *o)
{
	if (o->result > DMARC_PERMERROR || o->policy > DMARC_POLICY_REJECT ||
	    o->disposition > DMARC_POLICY_REJECT)
		abort();
	if (strnlen(o->detail, sizeof(o->detail)) >= sizeof(o->detail) ||
	    strnlen(o->record_domain, sizeof(o->record_domain)) >=
	    sizeof(o->record_domain))
		abort();
	if (o->result == DMARC_FAIL) {
		if (o->disposition > o->policy)
			abort();
	} else if (o->disposition != DMARC_POLICY_NONE &&
	    o->result != DMARC_PERMERROR)
		abort();
	if (o->result == DMARC_PASS && !o->spf_aligned && !o->dkim_aligned)
		abort();
	if (o->pct < 0 || o->pct > 100)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_rrstatus st[] = { DNS_RR_OK, DNS_RR_NODATA,
	    DNS_RR_NXDOMAIN, DNS_RR_TEMPFAIL };
	static const char *const spf[] = { NULL, "sub.example.co.uk",
	    "example.co.uk", "other.example" };
	const char *dkim[2] = { "a.b.example.co.uk", "co.uk" };
	struct fake_dns *fd;
	struct authdns dns;
	struct dmarc_input in = { 0 };
	struct fuzz_run r = { 0 };
	struct dmarc_outcome now;
	struct dmarc_check *c;
	const uint8_t *p, *e, *nul;
	int which = 0;

	if (size < 4)
		return 0;
	fd = fake_dns_new();
	dns = fake_dns_authdns(fd);
	if (st[data[0] & 3] != DNS_RR_OK)
		fake_dns_set(fd, "_dmarc.a.b.example.co.uk", DNS_T_TXT,
		    st[data[0] & 3]);
	if (st[(data[0] >> 2) & 3] != DNS_RR_OK)
		fake_dns_set(fd, "_dmarc.example.co.uk", DNS_T_TXT,
		    st[(data[0] >> 2) & 3]);
	in.from_domain = (data[0] & 0x80) ? NULL : "a.b.example.co.uk";
	in.from_ambiguous = (data[0] >> 6) & 1;
	in.spf_domain = spf[data[1] & 3];
	in.spf_pass = (data[1] >> 2) & 1;
	in.dkim_pass_domains = dkim;
	in.ndkim = (data[1] >> 3) & 3;
	if (in.ndkim > 2)
		in.ndkim = 2;
	fuzz_rnd_value = (uint32_t)data[2] | (uint32_t)data[3] << 8;
	in.rnd = fuzz_rnd;
	for (p = data + 4, e = data + size; p < e && which < 8; which++) {
		nul = memchr(p, '\0', (size_t)(e - p));
		if (nul == NULL)
			nul = e;
		fake_dns_add_txtn(fd, which % 2 ? "_dmarc.example.co.uk" :
		    "_dmarc.a.b.example.co.uk", (const char *)p,
		    (size_t)(nul - p));
		p = nul + 1;
	}
	c = dmarc_check_start(&dns, &in, fuzz_done, &r, &now);
	if (r.calls != 0)
		abort();
	if (c == NULL) {
		if (fake_dns_run(fd) != 0)
			abort();
		check(&now);
	} else {
		fake_dns_run(fd);
		if (r.calls != 1 || fd->asked > 2)
			abort();
		check(&r.o);
	}
	fake_dns_free(fd);
	return 0;
}
