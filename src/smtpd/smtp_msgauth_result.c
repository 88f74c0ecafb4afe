/*
 * smtp_msgauth_result — the Authentication-Results header field and the
 * log line of a message's authentication results; see
 * smtp_msgauth_result.h.  The header names each method checked, in the
 * order RFC 8601 examples use (spf, dkim per signature, dmarc, arc), with
 * the properties a reader needs to see what was checked.
 */
#include "smtp_msgauth_result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "conf.h"
#include "log.h"
#include "queue.h"
#include "smtp_state.h"

static void
add_spf(struct authres_builder *b, const struct smtp_session *s,
    const struct smtp_msgauth_results *r)
{
	const char *sender = s->env != NULL ? s->env->sender : "";

	if (!r->have_spf)
		return;
	if (r->spf.helo_identity)
		authres_addl(b, "spf", spf_result_name(r->spf.result),
		    r->spf.detail[0] ? r->spf.detail : NULL,
		    "smtp.helo", r->spf.domain, (char *)NULL);
	else
		authres_addl(b, "spf", spf_result_name(r->spf.result),
		    r->spf.detail[0] ? r->spf.detail : NULL,
		    "smtp.mailfrom", sender[0] ? sender : r->spf.domain,
		    (char *)NULL);
}

static void
add_dkim(struct authres_builder *b, const struct smtp_msgauth_results *r)
{
	char comment[200];

	if (!r->have_dkim)
		return;
	if (r->ndkim == 0) {
		authres_addl(b, "dkim", "none", NULL, (char *)NULL);
		return;
	}
	for (size_t i = 0; i < r->ndkim; i++) {
		const struct dkim_sig_result *d = &r->dkim[i];

		/* l= is honoured, and said: the rest of the body is not
		 * covered by the signature. */
		if (d->length >= 0)
			snprintf(comment, sizeof(comment), "%s%sl=%lld",
			    d->detail, d->detail[0] ? "; " : "", d->length);
		else
			snprintf(comment, sizeof(comment), "%s", d->detail);
		authres_addl(b, "dkim", dkim_result_name(d->result),
		    comment[0] ? comment : NULL,
		    "header.d", d->domain[0] ? d->domain : NULL,
		    "header.s", d->selector[0] ? d->selector : NULL,
		    "header.a", d->algorithm[0] ? d->algorithm : NULL,
		    "header.b", d->b_prefix[0] ? d->b_prefix : NULL,
		    (char *)NULL);
	}
}

static void
add_dmarc(struct authres_builder *b, const struct smtp_msgauth_results *r)
{
	char comment[300];

	if (!r->have_dmarc)
		return;
	if (r->arc_override)
		snprintf(comment, sizeof(comment), "%.150s; overridden by the "
		    "ARC chain of trusted sealer %.100s", r->dmarc.detail,
		    r->arc.sealer);
	else
		snprintf(comment, sizeof(comment), "%s", r->dmarc.detail);
	authres_addl(b, "dmarc", dmarc_result_name(r->dmarc.result),
	    comment[0] ? comment : NULL,
	    "header.from", r->dmarc.from_domain[0] ? r->dmarc.from_domain :
	    NULL,
	    "policy.dmarc", r->dmarc.record_domain[0] ?
	    dmarc_policy_name(r->dmarc.policy) : NULL,
	    (char *)NULL);
}

static void
add_arc(struct authres_builder *b, const struct smtp_msgauth_results *r)
{
	char comment[200];

	if (!r->have_arc)
		return;
	if (r->arc.result == ARC_NONE)
		comment[0] = '\0';
	else
		snprintf(comment, sizeof(comment), "%d instance%s, sealer "
		    "%.60s%s%.100s", r->arc.instances, r->arc.instances == 1 ? "" : "s",
		    r->arc.sealer[0] ? r->arc.sealer : "?",
		    r->arc.detail[0] ? "; " : "", r->arc.detail);
	authres_addl(b, "arc", arc_result_name(r->arc.result),
	    comment[0] ? comment : NULL, (char *)NULL);
}

char *
smtp_msgauth_result_header(const struct smtp_session *s,
    const struct smtp_msgauth_results *r)
{
	struct authres_builder *b = authres_new(smtp_state_server_name(s));

	add_spf(b, s, r);
	add_dkim(b, r);
	add_dmarc(b, r);
	add_arc(b, r);
	return authres_finish(b, NULL);
}

void
smtp_msgauth_result_log(const struct smtp_session *s,
    const struct smtp_msgauth_results *r)
{
	char dkim[256];
	size_t off = 0;

	dkim[0] = '\0';
	for (size_t i = 0; i < r->ndkim && off < sizeof(dkim); i++)
		off += (size_t)snprintf(dkim + off, sizeof(dkim) - off,
		    "%s%s/%s", i ? "," : "", dkim_result_name(r->dkim[i].result),
		    r->dkim[i].domain);
	log_info("session=%016llx queue=%s auth spf=%s dkim=%s dmarc=%s%s%s "
	    "arc=%s%s forged-removed=%u",
	    (unsigned long long)s->id, s->env ? s->env->id : "-",
	    r->have_spf ? spf_result_name(r->spf.result) : "-",
	    r->have_dkim ? (r->ndkim ? dkim : "none") : "-",
	    r->have_dmarc ? dmarc_result_name(r->dmarc.result) : "-",
	    r->have_dmarc ? "/" : "",
	    r->have_dmarc ? dmarc_policy_name(r->dmarc.disposition) : "",
	    r->have_arc ? arc_result_name(r->arc.result) : "-",
	    r->arc_override ? " (overrides dmarc)" : "", r->forged);
}
