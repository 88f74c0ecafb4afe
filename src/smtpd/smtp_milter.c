/*
 * smtp_milter — the session's content filters and their message check;
 * see smtp_milter.h.
 */
#include "smtp_milter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "milter_conn.h"
#include "msg_header.h"
#include "queue.h"
#include "smtp_milter_mods.h"
#include "smtp_milter_priv.h"
#include "smtp_state.h"
#include "xmalloc.h"

#define MACROS_MAX	8

enum stage {
	ST_DATA, ST_HEADER, ST_EOH, ST_BODY, ST_EOM,
};

/* One message through the filters. */
struct mrun {
	struct smtp_session		*s;
	struct smtp_milters		*ms;
	struct msg_header		 h;
	size_t				 cur;		/* the filter */
	enum stage			 stage;
	size_t				 idx;		/* rcpt, header */
	uint64_t			 pos;		/* body read back */
	uint64_t			 size;		/* message bytes */
	unsigned char			*chunk;
	int				 concluded;
	struct smtp_milter_edits	 ed;
	struct smtp_msgcheck_result	 res;
	char				 reply[MILTER_REPLY_TEXT_MAX + 64];
	char				 reason[300];
	int				 hold;
	smtp_msgcheck_done_cb		 done;
	void				*arg;
	/* the macros of the stage in flight, and their text */
	struct milter_macro		 mac[MACROS_MAX + 1];
	char				 addr[600];
};

struct smtp_milters *
smtp_milters_new(struct event_base *base, const struct conf_vserver *vs)
{
	struct smtp_milters *ms;

	if (vs->nmilters == 0)
		return NULL;
	ms = xcalloc(1, sizeof(*ms));
	for (size_t i = 0; i < vs->nmilters && ms->n < SMTP_MILTERS_MAX;
	    i++) {
		const struct conf_milter *cf = vs->milter_confs[i];
		struct milter_conn_params p;

		memset(&p, 0, sizeof(p));
		p.name = cf->name;
		p.socket = cf->socket;
		p.timeout_ms = cf->timeout * 1000;
		p.base = base;
		/* Everything but a new envelope sender, which a gateway
		 * does not take from a filter (docs/milter.md). */
		p.actions = MILTER_ACTIONS_ALL & ~MILTER_F_CHGFROM;
		if ((ms->mc[ms->n] = milter_conn_new(&p)) == NULL) {
			log_warnx("milter %s: bad socket %s", cf->name,
			    cf->socket);
			continue;
		}
		ms->cf[ms->n++] = cf;
	}
	return ms;
}

void
smtp_milters_free(struct smtp_milters *ms)
{
	if (ms == NULL)
		return;
	for (size_t i = 0; i < ms->n; i++)
		milter_conn_free(ms->mc[i]);
	if (ms->busy && ms->ctx_free != NULL)
		ms->ctx_free(ms->ctx);	/* an early stage's, never answered */
	free(ms);
}

void
smtp_milters_abort(struct smtp_milters *ms)
{
	for (size_t i = 0; ms != NULL && i < ms->n; i++)
		milter_conn_abort(ms->mc[i]);
	if (ms != NULL)
		ms->data_sent = 0;
}

void
smtp_milters_set_counters(struct smtp_milters *ms,
    struct smtp_session_counters *c)
{
	if (ms != NULL)
		ms->counters = c;
}

void
smtp_milters_tx_begin(struct smtp_milters *ms)
{
	if (ms == NULL)
		return;
	smtp_milters_abort(ms);
	memset(ms->rec, 0, sizeof(ms->rec));
}

/* The counters of the filter called name: found, or a free slot taken;
 * NULL when every slot is another filter's. */
static uint64_t *
counters_of(struct smtp_session_counters *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nmilters; i++)
		if (strcmp(c->milter[i].name, name) == 0)
			return c->milter[i].verdicts;
	if (c->nmilters == SMTP_COUNTED_MILTERS_MAX)
		return NULL;
	snprintf(c->milter[i].name, sizeof(c->milter[i].name), "%s", name);
	c->nmilters++;
	return c->milter[i].verdicts;
}

void
smtp_milters_note(struct smtp_milters *ms, size_t i,
    const struct milter_answer *a)
{
	struct smtp_milter_record *r = &ms->rec[i];
	uint64_t *v;

	r->asked = 1;
	r->ms += a->elapsed_ms;
	/* An answer made without the filter (a skipped step, a step it
	 * does not answer, an earlier verdict or failure told again) keeps
	 * the record as it is and is not counted: the filter said nothing. */
	if (a->local && r->stage != NULL)
		return;
	if (a->verdict != MILTER_CONTINUE || r->stage == NULL) {
		r->verdict = a->verdict;
		r->stage = a->stage;
	}
	if (!a->local && ms->counters != NULL &&
	    (unsigned)a->verdict < SMTP_MILTER_VERDICTS &&
	    (v = counters_of(ms->counters, ms->cf[i]->name)) != NULL)
		v[a->verdict]++;
}

size_t
smtp_milters_verdicts(const struct smtp_milters *ms, char *out, size_t len)
{
	size_t o = 0;
	int n;

	if (len > 0)
		out[0] = '\0';
	for (size_t i = 0; ms != NULL && i < ms->n && o < len; i++) {
		const struct smtp_milter_record *r = &ms->rec[i];

		if (!r->asked)
			continue;
		n = snprintf(out + o, len - o, "%s%s=%s stage=%s time=%ums",
		    o ? "; " : "", ms->cf[i]->name,
		    milter_verdict_name(r->verdict), r->stage ? r->stage : "-",
		    r->ms);
		if (n < 0 || (size_t)n >= len - o) {
			out[o] = '\0';	/* the whole entries that fit */
			break;
		}
		o += (size_t)n;
	}
	return o;
}

/* ---- one message ---- */

static void	step(struct mrun *r);

static void
macro(struct mrun *r, size_t *n, const char *name, const char *value)
{
	if (value == NULL || *n == MACROS_MAX)
		return;
	r->mac[*n].name = name;
	r->mac[*n].value = value;
	(*n)++;
	r->mac[*n].name = NULL;
}

/* The macros filters use at each stage (docs/milter.md). */
static const struct milter_macro *
macros(struct mrun *r)
{
	const struct smtp_session *s = r->s;
	size_t n = 0;

	r->mac[0].name = NULL;
	switch (r->stage) {
	case ST_DATA:
	case ST_EOH:
	case ST_EOM:
		macro(r, &n, "i", s->env->id);
		break;
	default:
		break;
	}
	return r->mac;
}

/* A final verdict, or the last filter done: the check's answer. */
static void
conclude(struct mrun *r)
{
	struct smtp_msgcheck_result *res = &r->res;

	r->concluded = 1;
	if (res->verdict == SMTP_MSGCHECK_ACCEPT ||
	    res->verdict == SMTP_MSGCHECK_HOLD) {
		res->verdict = r->hold ? SMTP_MSGCHECK_HOLD :
		    SMTP_MSGCHECK_ACCEPT;
		res->reason = r->hold ? r->reason : NULL;
		res->cuts = r->ed.e.cuts;
		res->ncuts = r->ed.e.ncuts;
		res->rcpt_add = r->ed.add;
		res->nrcpt_add = r->ed.nadd;
		res->rcpt_del = r->ed.del;
		res->nrcpt_del = r->ed.ndel;
	}
	if (r->done != NULL)
		r->done(r->arg, res);
}

static void
refuse(struct mrun *r, enum policy_rule rule, const char *reply)
{
	r->res.verdict = SMTP_MSGCHECK_REFUSE;
	r->res.rule = rule;
	snprintf(r->reply, sizeof(r->reply), "%s", reply);
	r->res.reply = r->reply;
}

/* The next filter, from its first stage. */
static void
next_filter(struct mrun *r)
{
	r->cur++;
	r->stage = r->ms->data_sent ? ST_HEADER : ST_DATA;
	r->idx = 0;
	r->pos = r->h.body_off;
}

static void
answered(void *arg, const struct milter_answer *a)
{
	struct mrun *r = arg;
	const struct conf_milter *cf = r->ms->cf[r->cur];
	char text[MILTER_REPLY_TEXT_MAX + 64], err[160];

	smtp_milters_note(r->ms, r->cur, a);
	if (a->verdict != MILTER_CONTINUE || r->stage == ST_EOM)
		log_info("session=%016llx queue=%s milter=%s stage=%s "
		    "verdict=%s time=%ums%s%s", (unsigned long long)r->s->id,
		    r->s->env->id, cf->name, a->stage,
		    milter_verdict_name(a->verdict), a->elapsed_ms,
		    a->reason[0] ? " reason=" : "", a->reason);
	switch (a->verdict) {
	case MILTER_CONTINUE:
		break;
	case MILTER_ACCEPT:
		if (r->stage != ST_EOM) {
			next_filter(r);	/* this filter is done with it */
			step(r);
			return;
		}
		break;
	case MILTER_QUARANTINE:
		if (!r->hold) {
			r->hold = 1;
			snprintf(r->reason, sizeof(r->reason), "quarantined "
			    "by milter %s%s%s", cf->name, a->reason[0] ?
			    ": " : "", a->reason);
		}
		break;
	case MILTER_REJECT:
		snprintf(text, sizeof(text), "550 5.7.1 Message rejected by "
		    "content filter %s", cf->name);
		refuse(r, POLICY_RULE_MILTER, a->reply[0] ? a->reply : text);
		conclude(r);
		return;
	case MILTER_TEMPFAIL:
		snprintf(text, sizeof(text), "451 4.7.1 Content filter %s: "
		    "try again later", cf->name);
		refuse(r, POLICY_RULE_MILTER, a->reply[0] ? a->reply : text);
		conclude(r);
		return;
	case MILTER_DISCARD:
		r->res.verdict = SMTP_MSGCHECK_DISCARD;
		snprintf(r->reason, sizeof(r->reason), "discarded by milter "
		    "%s", cf->name);
		r->res.reason = r->reason;
		conclude(r);
		return;
	case MILTER_FAILED:
		if (cf->fail_accept) {
			log_warnx("milter %s failed (%s): going on without it "
			    "(on-failure accept)", cf->name, a->reason);
			next_filter(r);
			step(r);
			return;
		}
		snprintf(text, sizeof(text), "451 4.7.1 Content filter %s "
		    "unavailable, try again later", cf->name);
		refuse(r, POLICY_RULE_MILTER, text);
		conclude(r);
		return;
	}
	if (r->stage == ST_EOM) {
		if (smtp_milter_mods_apply(&r->ed, &r->h, r->size, a, err,
		    sizeof(err)) == -1) {
			log_warnx("milter %s: %s", cf->name, err);
			snprintf(text, sizeof(text), "451 4.7.1 Content filter "
			    "%s asked for a change that cannot be made",
			    cf->name);
			refuse(r, POLICY_RULE_MILTER, text);
			conclude(r);
			return;
		}
		next_filter(r);
	} else if (r->stage != ST_HEADER && r->stage != ST_BODY)
		r->stage++;
	step(r);
}

/* Start the stage r->stage of filter r->cur, or move past it; conclude
 * after the last filter. */
static void
step(struct mrun *r)
{
	struct milter_conn *mc;
	ssize_t n;
	size_t vlen;
	const char *v;

	for (;;) {
		if (r->cur == r->ms->n) {
			conclude(r);
			return;
		}
		mc = r->ms->mc[r->cur];
		switch (r->stage) {
		case ST_DATA:
			/* Sent at the DATA command; for BDAT, here. */
			milter_conn_data(mc, macros(r), answered, r);
			return;
		case ST_HEADER:
			if (r->idx == r->h.nf)
				break;
			v = msg_field_value(&r->h, r->idx, &vlen);
			snprintf(r->addr, sizeof(r->addr), "%.*s",
			    (int)r->h.f[r->idx].namelen,
			    r->h.buf + r->h.f[r->idx].off);
			r->idx++;
			milter_conn_header(mc, r->addr, v, vlen, answered, r);
			return;
		case ST_EOH:
			milter_conn_eoh(mc, macros(r), answered, r);
			return;
		case ST_BODY:
			n = smtp_state_message_read(r->s, r->pos, r->chunk,
			    MILTER_CHUNK_MAX);
			if (n < 0) {
				refuse(r, POLICY_RULE_CHECK_TEMPFAIL,
				    policy_reply(POLICY_RULE_CHECK_TEMPFAIL));
				conclude(r);
				return;
			}
			if (n == 0)
				break;
			r->pos += (uint64_t)n;
			milter_conn_body(mc, r->chunk, (size_t)n, answered,
			    r);
			return;
		case ST_EOM:
			milter_conn_eom(mc, macros(r), answered, r);
			return;
		}
		/* the end of a repeated stage */
		r->idx = 0;
		r->stage++;
	}
}

static void *
mi_begin(const struct smtp_session *s)
{
	struct mrun *r;

	if (s->milters == NULL)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->s = (struct smtp_session *)s;	/* read back only */
	r->ms = s->milters;
	msg_header_init(&r->h);
	return r;
}

static void
mi_data(void *st, const char *p, size_t n)
{
	struct mrun *r = st;

	if (r == NULL)
		return;
	(void)msg_header_feed(&r->h, p, n);
	r->size += n;
}

static int
mi_end(void *st, const struct smtp_session *s,
    struct smtp_msgcheck_result *res, smtp_msgcheck_done_cb done, void *arg)
{
	struct mrun *r = st;

	(void)s;
	if (r == NULL)
		return 0;
	msg_header_end(&r->h);
	r->chunk = xmalloc(MILTER_CHUNK_MAX);
	r->pos = r->h.body_off;
	r->stage = r->ms->data_sent ? ST_HEADER : ST_DATA;
	r->done = done;
	r->arg = arg;
	step(r);
	if (r->concluded) {
		/* answered without a filter (none usable): at once */
		*res = r->res;
		return 0;
	}
	return 1;
}

static void
mi_finish(void *st)
{
	struct mrun *r = st;

	if (r == NULL)
		return;
	/* The filters' transaction ends with the message (and a stage
	 * still in flight must not answer here). */
	smtp_milters_abort(r->ms);
	msg_header_free(&r->h);
	smtp_milter_mods_free(&r->ed);
	free(r->chunk);
	free(r);
}

const struct smtp_msgcheck_def smtp_milter_check = {
	.name = "milters", .begin = mi_begin, .data = mi_data, .end = mi_end,
	.finish = mi_finish,
};
