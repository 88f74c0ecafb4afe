/*
 * fuzz_dmarc_record — libFuzzer harness for dmarc_record_parse, called
 * directly on the input as one TXT record's text.  Beyond "no crash, no
 * sanitizer report" it checks the contract: every field in its range, the
 * kept URI text NUL-terminated within its buffer, p=none when defaulted,
 * sp = p without an sp tag, and the same answer on a second parse.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc_record.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_record r, r2;
	enum dmarc_record_status st;

	st = dmarc_record_parse((const char *)data, size, &r);
	if (st != DMARC_RECORD_OK && st != DMARC_RECORD_NOT_DMARC &&
	    st != DMARC_RECORD_INVALID)
		abort();
	if (r.p > DMARC_POLICY_REJECT || r.sp > DMARC_POLICY_REJECT)
		abort();
	if (r.pct < 0 || r.pct > 100 || r.ri > 4294967295UL)
		abort();
	if (r.fo == 0 || r.fo > 0x0f || r.nrua < 0 || r.nruf < 0)
		abort();
	if (strnlen(r.rua, sizeof(r.rua)) >= sizeof(r.rua) ||
	    strnlen(r.ruf, sizeof(r.ruf)) >= sizeof(r.ruf) ||
	    strnlen(r.error, sizeof(r.error)) >= sizeof(r.error))
		abort();
	if (st == DMARC_RECORD_OK) {
		if (r.defaulted && (r.p != DMARC_POLICY_NONE || r.nrua == 0))
			abort();
		if (!r.has_sp && r.sp != r.p)
			abort();
		if (size < 8 || memcmp(memchr(data, 'D', size), "DMARC1", 6))
			abort();
	}
	if (st == DMARC_RECORD_INVALID && r.error[0] == '\0')
		abort();
	if (dmarc_record_parse((const char *)data, size, &r2) != st ||
	    memcmp(&r, &r2, sizeof(r)) != 0)
		abort();
	return 0;
}
