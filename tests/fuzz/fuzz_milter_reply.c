/*
 * fuzz_milter_reply — libFuzzer harness for the milter framer and reply
 * decoder (milter_proto.c), called directly, as milter_conn.c calls them.
 *
 * The input is what a filter sends: packets are framed one after another
 * (the bound is MILTER_PACKET_MAX, or a small one when the first byte is
 * odd, so the oversize path is reached) and each is decoded.  Beyond "no
 * crash, no sanitizer report" it checks the contract: a framed packet
 * lies inside the input, every string of a decoded reply lies inside its
 * packet and ends with the NUL the packet holds, a reply code is 4xx or
 * 5xx, a header name passes milter_proto_header_name_ok, and the macro
 * lists of a negotiation walk to their end.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 *   corpus: tests/fuzz/corpus/milter_reply (one file per reply kind)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter_proto.h"

static void
check_span(const struct milter_span *s, const uint8_t *pkt, size_t len)
{
	if (s->p == NULL) {
		if (s->len != 0)
			abort();
		return;
	}
	if ((const uint8_t *)s->p < pkt ||
	    (const uint8_t *)s->p + s->len >= pkt + len ||
	    s->p[s->len] != '\0' || memchr(s->p, '\0', s->len) != NULL)
		abort();
}

static void
check_reply(const struct milter_reply *r, const uint8_t *pkt, size_t len)
{
	const unsigned char *p;
	size_t n;
	uint32_t cls;
	struct milter_span names;
	int rc;

	if (r->kind != pkt[0])
		abort();
	check_span(&r->a, pkt, len);
	check_span(&r->b, pkt, len);
	switch (r->kind) {
	case MILTER_R_REPLYCODE:
		if (r->code < 400 || r->code > 599 || r->a.p == NULL)
			abort();
		break;
	case MILTER_R_ADDHEADER:
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
		if (!milter_proto_header_name_ok(r->a.p, r->a.len) ||
		    r->b.p == NULL)
			abort();
		break;
	case MILTER_R_REPLBODY:
		if (r->data != pkt + 1 || r->datalen != len - 1)
			abort();
		break;
	case MILTER_C_OPTNEG:
		p = r->lists;
		n = r->listslen;
		if (n > 0 && (p < pkt + 13 || p + n != pkt + len))
			abort();
		while ((rc = milter_proto_symlist_next(&p, &n, &cls,
		    &names)) == 1)
			check_span(&names, pkt, len);
		if (rc != 0 || n != 0)
			abort();
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct milter_reply r;
	const char *why;
	size_t max, total, off;
	enum milter_proto_status st;

	if (size < 1)
		return 0;
	max = (data[0] & 1) ? 64 : MILTER_PACKET_MAX;
	off = 1;
	while (off < size) {
		why = NULL;
		st = milter_proto_frame(data + off, size - off, max, &total,
		    &why);
		if (st == MILTER_PROTO_BAD) {
			if (why == NULL)
				abort();
			break;
		}
		if (st == MILTER_PROTO_MORE)
			break;
		if (total < 5 || total > size - off || total - 4 > max)
			abort();
		why = NULL;
		if (milter_proto_decode(data + off + 4, total - 4, &r,
		    &why) == 0)
			check_reply(&r, data + off + 4, total - 4);
		else if (why == NULL)
			abort();
		off += total;
	}
	return 0;
}
