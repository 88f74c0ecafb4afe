/*
 * dmarc_tool — the driver the integration tests run to hold postern's
 * DMARC evaluator, Authentication-Results builder and parser, and From
 * parser against independent implementations (Mail::DMARC,
 * python3-authres).  JSON in on stdin, JSON (or the header) out on stdout:
 *
 *   dmarc_tool eval           {"zone": [[name, "TXT", text] |
 *                              [name, "TEMPFAIL"|"NXDOMAIN"]...],
 *                              "from": d, "spf_domain": d, "spf_pass": b,
 *                              "dkim": [d...], "rnd": n, "psl": path}
 *                             -> the outcome as JSON
 *   dmarc_tool authres-build  {"id": s, "results": [{"method", "result",
 *                              "comment", "reason", "props": [[ptype,
 *                              property, value]...]}...]} -> the header
 *   dmarc_tool authres-parse [--arc]   a field value -> JSON
 *   dmarc_tool from           a message -> {"status", "domain"}
 *
 * DNS is tests/unit/fake_dns.h: the zone is the table, nothing leaves
 * the process.  Exit status 0, or 2 on bad input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authres.h"
#include "authres_parse.h"
#include "dmarc.h"
#include "fake_dns.h"
#include "header_from.h"
#include "msg_header.h"
#include "orgdomain.h"
#include "xmalloc.h"

#define TOOL_INPUT_MAX	(1024 * 1024)

static char *
read_stdin(size_t *len)
{
	char *p = xmalloc(TOOL_INPUT_MAX + 1);
	size_t n = fread(p, 1, TOOL_INPUT_MAX, stdin);

	p[n] = '\0';
	*len = n;
	return p;
}

static json_t *
read_json(void)
{
	json_error_t err;
	size_t len;
	char *s = read_stdin(&len);
	json_t *j = json_loadb(s, len, 0, &err);

	free(s);
	if (j == NULL) {
		fprintf(stderr, "dmarc_tool: bad JSON: %s\n", err.text);
		exit(2);
	}
	return j;
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static uint32_t tool_rnd_value;

static uint32_t
tool_rnd(void)
{
	return tool_rnd_value;
}

struct eval_run {
	struct dmarc_outcome o;
	int		 done;
};

static void
eval_done(void *arg, const struct dmarc_outcome *o)
{
	struct eval_run *r = arg;

	r->o = *o;
	r->done++;
}

static int
cmd_eval(void)
{
	json_t *in = read_json(), *zone, *e, *dk, *out;
	struct fake_dns *fd = fake_dns_new();
	struct authdns dns = fake_dns_authdns(fd);
	struct dmarc_input di = { 0 };
	struct eval_run r = { 0 };
	const char *dkim[16];
	size_t i;
	int immediate;

	if (jstr(in, "psl") != NULL && orgdomain_init(jstr(in, "psl")) != 0) {
		fprintf(stderr, "dmarc_tool: cannot load %s\n", jstr(in, "psl"));
		return 2;
	}
	zone = json_object_get(in, "zone");
	json_array_foreach(zone, i, e) {
		const char *name = json_string_value(json_array_get(e, 0));
		const char *type = json_string_value(json_array_get(e, 1));

		if (name == NULL || type == NULL)
			return 2;
		if (strcmp(type, "TXT") == 0)
			fake_dns_add_txt(fd, name,
			    json_string_value(json_array_get(e, 2)));
		else if (strcmp(type, "A") == 0)
			fake_dns_add_addr(fd, name,
			    json_string_value(json_array_get(e, 2)));
		else if (strcmp(type, "TEMPFAIL") == 0)
			fake_dns_set(fd, name, DNS_T_TXT, DNS_RR_TEMPFAIL);
		else if (strcmp(type, "NXDOMAIN") == 0)
			fake_dns_set(fd, name, 0, DNS_RR_NXDOMAIN);
		else
			return 2;
	}
	di.from_domain = jstr(in, "from");
	di.from_ambiguous = json_is_true(json_object_get(in,
	    "from_ambiguous"));
	di.spf_domain = jstr(in, "spf_domain");
	di.spf_pass = json_is_true(json_object_get(in, "spf_pass"));
	dk = json_object_get(in, "dkim");
	json_array_foreach(dk, i, e)
		if (di.ndkim < 16)
			dkim[di.ndkim++] = json_string_value(e);
	di.dkim_pass_domains = dkim;
	if (json_is_integer(json_object_get(in, "rnd"))) {
		tool_rnd_value = (uint32_t)json_integer_value(
		    json_object_get(in, "rnd"));
		di.rnd = tool_rnd;
	}
	immediate = dmarc_check_start(&dns, &di, eval_done, &r, &r.o) ==
	    NULL;
	if (!immediate)
		fake_dns_run(fd);
	else if (fake_dns_run(fd) != 0 || r.done != 0)
		return 3;	/* the contract of dmarc.h broken */
	if (!immediate && r.done != 1)
		return 3;
	out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:i, "
	    "s:b, s:s, s:b, s:I}",
	    "result", dmarc_result_name(r.o.result),
	    "policy", dmarc_policy_name(r.o.policy),
	    "disposition", dmarc_policy_name(r.o.disposition),
	    "from_domain", r.o.from_domain,
	    "org_domain", r.o.org_domain,
	    "record_domain", r.o.record_domain,
	    "spf_aligned", r.o.spf_aligned,
	    "dkim_aligned", r.o.dkim_aligned,
	    "pct", r.o.pct,
	    "sampled_out", r.o.sampled_out,
	    "detail", r.o.detail,
	    "immediate", immediate,
	    "asked", (json_int_t)fd->asked);
	json_dumpf(out, stdout, JSON_SORT_KEYS);
	putchar('\n');
	json_decref(out);
	json_decref(in);
	fake_dns_free(fd);
	orgdomain_free();
	return 0;
}

static int
cmd_authres_build(void)
{
	json_t *in = read_json(), *res, *e, *props, *p;
	struct authres_builder *b;
	struct authres_prop pr[AUTHRES_PROPS_MAX + 2];
	size_t i, j, n, len;
	char *h;

	b = authres_new(jstr(in, "id"));
	res = json_object_get(in, "results");
	json_array_foreach(res, i, e) {
		n = 0;
		if (jstr(e, "reason") != NULL) {
			pr[n].ptype = "reason";
			pr[n].property = NULL;
			pr[n++].value = jstr(e, "reason");
		}
		props = json_object_get(e, "props");
		json_array_foreach(props, j, p) {
			if (n >= sizeof(pr) / sizeof(pr[0]))
				break;
			pr[n].ptype = json_string_value(json_array_get(p, 0));
			pr[n].property = json_string_value(json_array_get(p,
			    1));
			pr[n++].value = json_string_value(json_array_get(p,
			    2));
		}
		authres_add(b, jstr(e, "method"), jstr(e, "result"),
		    jstr(e, "comment"), pr, n);
	}
	h = authres_finish(b, &len);
	fwrite(h, 1, len, stdout);
	free(h);
	json_decref(in);
	return 0;
}

static int
cmd_authres_parse(int arc)
{
	struct authres_parsed *p = xmalloc(sizeof(*p));
	json_t *out, *results, *props, *r;
	enum authres_parse_status st;
	size_t len, i, j;
	char *s = read_stdin(&len);

	st = arc ? authres_parse_arc(s, len, p) : authres_parse(s, len, p);
	results = json_array();
	for (i = 0; i < p->nres; i++) {
		props = json_array();
		for (j = 0; j < p->res[i].nprop; j++)
			json_array_append_new(props, json_pack("[s,s,s]",
			    p->res[i].prop[j].ptype,
			    p->res[i].prop[j].property,
			    p->res[i].prop[j].value));
		r = json_pack("{s:s, s:s, s:s, s:o}",
		    "method", p->res[i].method, "result", p->res[i].result,
		    "reason", p->res[i].reason, "props", props);
		json_array_append_new(results, r);
	}
	out = json_pack("{s:b, s:s, s:i, s:b, s:i, s:o, s:b, s:i}",
	    "ok", st == AUTHRES_PARSE_OK, "authserv_id", p->authserv_id,
	    "version", (int)p->version, "none", p->none,
	    "arc_instance", (int)p->arc_instance, "results", results,
	    "truncated", p->truncated, "syntax_errors", p->syntax_errors);
	json_dumpf(out, stdout, JSON_SORT_KEYS);
	putchar('\n');
	json_decref(out);
	free(s);
	free(p);
	return 0;
}

static int
cmd_from(void)
{
	struct msg_header h;
	char domain[HEADER_FROM_DOMAIN_MAX + 1];
	enum header_from_status st;
	size_t len;
	char *s = read_stdin(&len);
	json_t *out;

	msg_header_init(&h);
	msg_header_feed(&h, s, len);
	msg_header_end(&h);
	st = header_from_get(&h, domain, sizeof(domain));
	out = json_pack("{s:s, s:s}", "status", header_from_status_name(st),
	    "domain", st == HEADER_FROM_OK ? domain : "");
	json_dumpf(out, stdout, JSON_SORT_KEYS);
	putchar('\n');
	json_decref(out);
	msg_header_free(&h);
	free(s);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "eval") == 0)
		return cmd_eval();
	if (argc >= 2 && strcmp(argv[1], "authres-build") == 0)
		return cmd_authres_build();
	if (argc >= 2 && strcmp(argv[1], "authres-parse") == 0)
		return cmd_authres_parse(argc >= 3 &&
		    strcmp(argv[2], "--arc") == 0);
	if (argc >= 2 && strcmp(argv[1], "from") == 0)
		return cmd_from();
	fprintf(stderr, "usage: dmarc_tool eval | authres-build | "
	    "authres-parse [--arc] | from  (JSON or text on stdin)\n");
	return 2;
}
