/*
 * smtp_milter — the session's content filters and their message check;
 * see smtp_milter.h.
 */
#include "smtp_milter.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "milter_conn.h"
#include "msg_header.h"
#include "netaddr.h"
#include "queue.h"
#include "smtp_milter_mods.h"
#include "smtp_milter_priv.h"
#include "smtp_state.h"
#include "xmalloc.h"

#define MACROS_MAX	8

enum stage {
	ST_DATA, ST_HEADER, ST_EOH, ST_BODY, ST_EOM,
};

/*
 * One message through the filters, event by event: each event (DATA, a
 * header field, the end of the header, a body chunk) goes to every filter
 * still in, in order, before the next; the end of the message then goes
 * to each in turn.  The events are sent while the message arrives (the
 * header once it is complete, the body in whole chunks), read back from
 * what the session stored, so nothing is kept here but one chunk.
 */
struct mrun {
	struct smtp_session		*s;
	struct smtp_milters		*ms;
	struct msg_header		 h;
	size_t				 cur;		/* the filter */
	enum stage			 stage;
	size_t				 idx;		/* header */
	uint64_t			 pos;		/* body sent */
	uint64_t			 size;		/* message bytes so far */
	unsigned char			*chunk;		/* the body chunk in */
	size_t				 chunklen;	/* flight, or 0 */
	int				 out[SMTP_MILTERS_MAX]; /* done with
							   the message */
	int				 busy;		/* an event in flight */
	int				 ended;		/* the data is complete */
	int				 decided;	/* res is the answer */
	int				 concluded;	/* and it was given */
	int				 orphan;	/* ended while busy */
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

static void	mrun_free(void *st);

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
smtp_milters_set_local(struct smtp_milters *ms, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (ms == NULL)
		return;
	ms->if_addr[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	netaddr_ntop((struct sockaddr *)&ss, ms->if_addr,
	    sizeof(ms->if_addr));
}

void
smtp_milters_free(struct smtp_milters *ms)
{
	if (ms == NULL)
		return;
	for (size_t i = 0; i < ms->n; i++)
		milter_conn_free(ms->mc[i]);
	mrun_free(ms->orphan);
	if (ms->busy && ms->ctx_free != NULL)
		ms->ctx_free(ms->ctx);	/* an early stage's, never answered */
	free(ms);
}

void
smtp_milters_abort(struct smtp_milters *ms)
{
	for (size_t i = 0; ms != NULL && i < ms->n; i++)
		if (ms->orphan == NULL || i != ms->orphan_i)
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

static void	pump(struct mrun *r);

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

/* The answer is known: given now if the data is complete, else kept for
 * the end of the data (mi_end). */
static void
conclude(struct mrun *r)
{
	struct smtp_msgcheck_result *res = &r->res;

	r->decided = 1;
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
	if (r->ended && r->done != NULL) {
		r->concluded = 1;
		r->done(r->arg, res);
	}
}

static void
refuse(struct mrun *r, enum policy_rule rule, const char *reply)
{
	r->res.verdict = SMTP_MSGCHECK_REFUSE;
	r->res.rule = rule;
	snprintf(r->reply, sizeof(r->reply), "%s", reply);
	r->res.reply = r->reply;
}

/* Every filter still in has had the event: the next one. */
static void
next_event(struct mrun *r)
{
	r->cur = 0;
	switch (r->stage) {
	case ST_DATA:
		r->stage = ST_HEADER;
		r->idx = 0;
		break;
	case ST_HEADER:
		r->idx++;
		break;
	case ST_EOH:
		r->stage = ST_BODY;
		r->pos = r->h.body_off;
		break;
	case ST_BODY:
		r->pos += r->chunklen;
		r->chunklen = 0;
		break;
	case ST_EOM:
		conclude(r);		/* after the last filter */
		break;
	}
}

static void
answered(void *arg, const struct milter_answer *a)
{
	struct mrun *r = arg;
	const struct conf_milter *cf = r->ms->cf[r->cur];
	char text[MILTER_REPLY_TEXT_MAX + 64], err[160];
	struct smtp_milters *ms = r->ms;
	void (*resume)(struct smtp_milters *);

	r->busy = 0;
	if (r->orphan) {
		/* the message is gone: end the filter's transaction now,
		 * then what waited for it */
		ms->orphan = NULL;
		milter_conn_abort(ms->mc[r->cur]);
		mrun_free(r);
		if ((resume = ms->resume) != NULL) {
			ms->resume = NULL;
			resume(ms);
		}
		return;
	}
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
		if (r->stage != ST_EOM)
			r->out[r->cur] = 1;	/* done with the message */
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
			r->out[r->cur] = 1;
			break;
		}
		snprintf(text, sizeof(text), "451 4.7.1 Content filter %s "
		    "unavailable, try again later", cf->name);
		refuse(r, POLICY_RULE_MILTER, text);
		conclude(r);
		return;
	}
	if (r->stage == ST_EOM && a->verdict != MILTER_FAILED &&
	    smtp_milter_mods_apply(&r->ed, &r->h, r->size, a, err,
	    sizeof(err)) == -1) {
		log_warnx("milter %s: %s", cf->name, err);
		snprintf(text, sizeof(text), "451 4.7.1 Content filter %s "
		    "asked for a change that cannot be made", cf->name);
		refuse(r, POLICY_RULE_MILTER, text);
		conclude(r);
		return;
	}
	r->cur++;
	pump(r);
}

/* Some filter still wants the message. */
static int
any_in(const struct mrun *r)
{
	for (size_t i = 0; i < r->ms->n; i++)
		if (!r->out[i])
			return 1;
	return 0;
}

/* Send the next event to the next filter, when it can go: the header
 * once it is complete, a body chunk once it is whole (or the data
 * ended), the end of the message once the data ended. */
static void
pump(struct mrun *r)
{
	struct milter_conn *mc;
	uint64_t avail;
	ssize_t n;
	size_t vlen;
	const char *v;

	while (!r->busy && !r->decided) {
		if (r->stage != ST_EOM && !any_in(r)) {
			/* every filter is done with the message */
			r->stage = ST_EOM;
			r->cur = 0;
			continue;
		}
		if (r->stage != ST_EOM && r->cur == r->ms->n) {
			next_event(r);
			continue;
		}
		if (r->stage == ST_EOM && r->cur == r->ms->n) {
			next_event(r);	/* concludes */
			return;
		}
		if (r->out[r->cur]) {
			r->cur++;
			continue;
		}
		mc = r->ms->mc[r->cur];
		switch (r->stage) {
		case ST_DATA:
			break;
		case ST_HEADER:
			if (!r->h.done)
				return;		/* more to come */
			if (r->idx == r->h.nf) {
				r->stage = ST_EOH;
				r->cur = 0;
				continue;
			}
			break;
		case ST_EOH:
			break;
		case ST_BODY:
			if (r->chunklen > 0)
				break;
			avail = r->size > r->pos ? r->size - r->pos : 0;
			if (avail == 0 && r->ended) {
				r->stage = ST_EOM;
				r->cur = 0;
				continue;
			}
			if (avail < MILTER_CHUNK_MAX && !r->ended)
				return;		/* a whole chunk first */
			n = smtp_state_message_read(r->s, r->pos, r->chunk,
			    MILTER_CHUNK_MAX);
			if (n <= 0) {
				refuse(r, POLICY_RULE_CHECK_TEMPFAIL,
				    policy_reply(POLICY_RULE_CHECK_TEMPFAIL));
				conclude(r);
				return;
			}
			r->chunklen = (size_t)n;
			break;
		case ST_EOM:
			if (!r->ended)
				return;
			break;
		}
		r->busy = 1;
		switch (r->stage) {
		case ST_DATA:
			milter_conn_data(mc, macros(r), answered, r);
			break;
		case ST_HEADER:
			v = msg_field_value(&r->h, r->idx, &vlen);
			snprintf(r->addr, sizeof(r->addr), "%.*s",
			    (int)r->h.f[r->idx].namelen,
			    r->h.buf + r->h.f[r->idx].off);
			milter_conn_header(mc, r->addr, v, vlen, answered, r);
			break;
		case ST_EOH:
			milter_conn_eoh(mc, macros(r), answered, r);
			break;
		case ST_BODY:
			milter_conn_body(mc, r->chunk, r->chunklen, answered, r);
			break;
		case ST_EOM:
			milter_conn_eom(mc, macros(r), answered, r);
			break;
		}
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
	r->chunk = xmalloc(MILTER_CHUNK_MAX);
	r->stage = r->ms->data_sent ? ST_HEADER : ST_DATA;
	return r;
}

static void
mi_data(void *st, const char *p, size_t n)
{
	struct mrun *r = st;

	if (r == NULL)
		return;
	if (!r->h.done)
		(void)msg_header_feed(&r->h, p, n);
	r->size += n;
	pump(r);
}

static int
mi_end(void *st, const struct smtp_session *s,
    struct smtp_msgcheck_result *res, smtp_msgcheck_done_cb done, void *arg)
{
	struct mrun *r = st;

	(void)s;
	if (r == NULL)
		return 0;
	if (!r->h.done)
		msg_header_end(&r->h);
	r->ended = 1;
	if (!r->decided)
		pump(r);
	if (r->decided) {
		/* decided while the message arrived, or without a filter
		 * (none usable): at once */
		r->concluded = 1;
		*res = r->res;
		return 0;
	}
	r->done = done;
	r->arg = arg;
	return 1;
}

static void
mrun_free(void *st)
{
	struct mrun *r = st;

	if (r == NULL)
		return;
	msg_header_free(&r->h);
	smtp_milter_mods_free(&r->ed);
	free(r->chunk);
	free(r);
}

static void
mi_finish(void *st)
{
	struct mrun *r = st;

	if (r == NULL)
		return;
	if (r->busy) {
		/* A filter owes an answer (the message ended before the
		 * filters did): kept until it comes (answered). */
		r->orphan = 1;
		r->ms->orphan = r;
		r->ms->orphan_i = r->cur;
	}
	/* The filters' transaction ends with the message. */
	smtp_milters_abort(r->ms);
	if (!r->busy)
		mrun_free(r);
}

const struct smtp_msgcheck_def smtp_milter_check = {
	.name = "milters", .begin = mi_begin, .data = mi_data, .end = mi_end,
	.finish = mi_finish,
};
