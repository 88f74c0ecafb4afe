/*
 * fuzz_resolver_cache — libFuzzer harness for resolver_cache.h: the input
 * is one raw DNS answer, as c-ares hands it over, offered to the cache
 * under each status an answer can come with.  Seeds:
 * tests/fuzz/corpus/resolver_cache/ (the DNS answers of corpus/dns and
 * negative answers with and without an SOA).
 *
 * Beyond "no crash, no leak, no UB": a kept answer's TTL is within its
 * cap (the negative cap for NXDOMAIN and NODATA); only the three statuses
 * of a real answer are ever kept, and only when the header's rcode says
 * the same; what is kept comes back byte for byte until its TTL is over,
 * and not after.
 */
#include <arpa/nameser.h>

#include <ares.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolver_cache.h"

static void
one(struct resolver_cache *c, int status, const uint8_t *data, int len)
{
	unsigned ttl = resolver_cache_ttl(status, data, len);
	unsigned char *abuf;
	int st, alen, rc = len >= 12 ? data[3] & 0x0f : -1;

	if (ttl == 0)
		goto put;
	if (len < 12 || !(data[2] & 0x80) || (data[2] & 0x02))
		abort();		/* a response, not truncated */
	switch (status) {
	case ARES_SUCCESS:
		if (rc != ns_r_noerror || ttl > RESOLVER_CACHE_TTL_MAX)
			abort();
		break;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
		if (rc != (status == ARES_ENODATA ? ns_r_noerror :
		    ns_r_nxdomain) || ttl > RESOLVER_CACHE_NEG_MAX)
			abort();
		break;
	default:
		abort();		/* never a failure */
	}
put:
	resolver_cache_put(c, ns_t_txt, "Example.org", status, data, len, 100);
	if (resolver_cache_get(c, ns_t_txt, "example.ORG", 100, &st, &abuf,
	    &alen) != (ttl > 0))
		abort();
	if (ttl > 0) {
		if (st != status || alen != len ||
		    memcmp(abuf, data, (size_t)len) != 0)
			abort();
		free(abuf);
		if (resolver_cache_get(c, ns_t_txt, "example.org",
		    100 + (int64_t)ttl, &st, &abuf, &alen) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = { ARES_SUCCESS, ARES_ENODATA,
	    ARES_ENOTFOUND, ARES_ESERVFAIL, ARES_EREFUSED, ARES_EBADRESP };
	int len = size > 65535 ? 65535 : (int)size;	/* a DNS message */
	struct resolver_cache *c = resolver_cache_new(4, 0);

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		one(c, statuses[i], data, len);
	resolver_cache_free(c);
	return 0;
}
