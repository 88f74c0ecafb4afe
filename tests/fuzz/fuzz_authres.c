/*
 * fuzz_authres — libFuzzer harness for authres_parse and
 * authres_parse_arc, called directly, and for the builder through them.
 * Beyond "no crash, no sanitizer report" it checks the contract: every
 * text NUL-terminated inside its field, counts within their bounds, and a
 * round trip: what was parsed, built again with authres_add, parses back
 * to the same authserv-id, methods, results, reasons and properties
 * (values with control characters excepted: the builder makes them "?").
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "authres_parse.h"

static void
check_text(const char *s, size_t size)
{
	if (strnlen(s, size) >= size)
		abort();
}

static void
check_bounds(const struct authres_parsed *p)
{
	size_t i, j;

	check_text(p->authserv_id, sizeof(p->authserv_id));
	if (p->nres > AUTHRES_PARSE_RESULTS)
		abort();
	for (i = 0; i < p->nres; i++) {
		const struct authres_parsed_result *r = &p->res[i];

		check_text(r->method, sizeof(r->method));
		check_text(r->result, sizeof(r->result));
		check_text(r->reason, sizeof(r->reason));
		if (r->method[0] == '\0' || r->result[0] == '\0' ||
		    r->nprop > AUTHRES_PARSE_PROPS)
			abort();
		for (j = 0; j < r->nprop; j++) {
			check_text(r->prop[j].ptype, sizeof(r->prop[j].ptype));
			check_text(r->prop[j].property,
			    sizeof(r->prop[j].property));
			check_text(r->prop[j].value, sizeof(r->prop[j].value));
		}
	}
}

static int
plain(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void
roundtrip(const struct authres_parsed *p)
{
	static struct authres_parsed q;
	struct authres_builder *b;
	struct authres_prop props[AUTHRES_PARSE_PROPS + 1];
	size_t i, j, n, len;
	char *h, *v;

	if (!plain(p->authserv_id) || p->authserv_id[0] == '\0')
		return;
	for (i = 0; i < p->nres; i++) {
		if (strchr(p->res[i].method, '.') != NULL ||
		    !plain(p->res[i].reason))
			return;
		for (j = 0; j < p->res[i].nprop; j++)
			if (!plain(p->res[i].prop[j].value) ||
			    strchr(p->res[i].prop[j].property, '.') != NULL)
				return;
	}
	b = authres_new(p->authserv_id);
	for (i = 0; i < p->nres; i++) {
		const struct authres_parsed_result *r = &p->res[i];

		n = 0;
		if (r->reason[0] != '\0') {
			props[n].ptype = "reason";
			props[n].property = "";
			props[n++].value = r->reason;
		}
		for (j = 0; j < r->nprop; j++) {
			props[n].ptype = r->prop[j].ptype;
			props[n].property = r->prop[j].property;
			props[n++].value = r->prop[j].value;
		}
		authres_add(b, r->method, r->result, "c", props, n);
	}
	h = authres_finish(b, &len);
	if (len != strlen(h) || len < 2 || memcmp(h + len - 2, "\r\n", 2))
		abort();
	v = strchr(h, ':') + 1;
	if (authres_parse(v, len - (size_t)(v - h) - 2, &q) !=
	    AUTHRES_PARSE_OK || q.syntax_errors != 0)
		abort();
	if (strcmp(q.authserv_id, p->authserv_id) != 0 || q.nres != p->nres)
		abort();
	for (i = 0; i < p->nres; i++) {
		const struct authres_parsed_result *r = &p->res[i];
		const struct authres_parsed_result *s = &q.res[i];

		if (strcmp(r->method, s->method) || strcmp(r->result,
		    s->result) || strcmp(r->reason, s->reason) ||
		    r->nprop != s->nprop)
			abort();
		for (j = 0; j < r->nprop; j++)
			if (strcmp(r->prop[j].ptype, s->prop[j].ptype) ||
			    strcmp(r->prop[j].property,
			    s->prop[j].property) ||
			    strcmp(r->prop[j].value, s->prop[j].value))
				abort();
	}
	free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct authres_parsed p;
	const char *s = (const char *)data;

	if (authres_parse(s, size, &p) == AUTHRES_PARSE_OK) {
		check_bounds(&p);
		if (!p.truncated && p.authserv_id[0] != '\0')
			roundtrip(&p);
	} else
		check_bounds(&p);
	if (authres_parse_arc(s, size, &p) == AUTHRES_PARSE_OK &&
	    (p.arc_instance < 1 || p.arc_instance > 50))
		abort();
	check_bounds(&p);
	return 0;
}
