/*
 * smtp_milter_stage — the filters at connect, HELO, MAIL, RCPT and DATA;
 * see smtp_milter_stage.h.
 *
 * One stage at a time per session (the session waits for it): the
 * filters are asked in order, each answer goes to the filter's record
 * (smtp_milters_note: the log, the envelope's verdicts, the metrics),
 * and the first refusal ends the stage.  A reject or tempfail at connect
 * or HELO also holds for the filter's connection (milter_conn.h): every
 * later stage answers it again, so a refused HELO refuses the next one.
 */
#include "smtp_milter_stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "milter_conn.h"
#include "queue.h"
#include "smtp_milter.h"
#include "smtp_milter_priv.h"
#include "smtp_state.h"

static const char *const stage_names[] = {
	"CONNECT", "HELO", "MAIL", "RCPT", "DATA",
};

static void	ask_next(struct smtp_milters *ms);

static void
macro(struct smtp_milters *ms, size_t *n, const char *name,
    const char *value)
{
	if (value == NULL || *n + 1 >= sizeof(ms->mac) / sizeof(ms->mac[0]))
		return;
	ms->mac[*n].name = name;
	ms->mac[*n].value = value;
	(*n)++;
	ms->mac[*n].name = NULL;
}

/* The macros filters use at each stage (docs/milter.md). */
static const struct milter_macro *
macros(struct smtp_milters *ms)
{
	const struct smtp_session *s = ms->s;
	size_t n = 0;

	ms->mac[0].name = NULL;
	switch (ms->stage) {
	case SMTP_MILTER_CONNECT:
		macro(ms, &n, "j", smtp_state_server_name(s));
		macro(ms, &n, "{daemon_name}", "postern");
		macro(ms, &n, "{if_name}", smtp_state_server_name(s));
		macro(ms, &n, "{if_addr}", ms->if_addr[0] ? ms->if_addr :
		    NULL);
		macro(ms, &n, "{client_addr}", s->peer_ip);
		break;
	case SMTP_MILTER_HELO:
		macro(ms, &n, "{tls_version}", s->tls ? s->tls_info : NULL);
		break;
	case SMTP_MILTER_MAIL:
		macro(ms, &n, "i", s->env->id);
		macro(ms, &n, "{auth_authen}", s->auth_user);
		macro(ms, &n, "{mail_addr}", s->env->sender);
		break;
	case SMTP_MILTER_RCPT:
		macro(ms, &n, "{rcpt_addr}", ms->addr);
		break;
	case SMTP_MILTER_DATA:
		macro(ms, &n, "i", s->env->id);
		break;
	}
	return ms->mac;
}

/* The stage is over: the session is told (refusal NULL: go on). */
static void
finish(struct smtp_milters *ms, const char *refusal)
{
	struct smtp_session *s = ms->s;
	void (*then)(struct smtp_session *, void *, const char *) = ms->then;
	void *ctx = ms->ctx;

	ms->busy = 0;
	ms->s = NULL;
	ms->nargs = 0;		/* that command's parameters are spent */
	if (refusal != NULL && ms->stage == SMTP_MILTER_MAIL)
		smtp_milters_abort(ms);	/* a refused MAIL ends it */
	if (s->state == SMTP_S_CLOSING) {
		if (ms->ctx_free != NULL)
			ms->ctx_free(ctx);
		return;
	}
	then(s, ctx, refusal);
	smtp_state_wake(s);
}

/* The reply of a refusal at this stage: the filter's when it fits. */
static const char *
refusal(struct smtp_milters *ms, const struct conf_milter *cf,
    const struct milter_answer *a)
{
	int temp = a->verdict != MILTER_REJECT;

	if (ms->stage == SMTP_MILTER_CONNECT) {
		/* A greeting is 554 or 421 (RFC 5321 3.1): the session
		 * closes after a 421. */
		if (!temp && a->verdict == MILTER_REJECT && a->reply[0] == '5')
			snprintf(ms->reply, sizeof(ms->reply), "%s", a->reply);
		else if (temp && a->verdict == MILTER_TEMPFAIL &&
		    strncmp(a->reply, "421", 3) == 0)
			snprintf(ms->reply, sizeof(ms->reply), "%s", a->reply);
		else if (!temp)
			snprintf(ms->reply, sizeof(ms->reply), "554 5.7.1 "
			    "Connection rejected by content filter %s",
			    cf->name);
		else
			snprintf(ms->reply, sizeof(ms->reply), "421 4.7.1 "
			    "Content filter %s unavailable, try again later",
			    cf->name);
		return ms->reply;
	}
	if (a->verdict != MILTER_FAILED && a->reply[0])
		snprintf(ms->reply, sizeof(ms->reply), "%s", a->reply);
	else if (a->verdict == MILTER_REJECT)
		snprintf(ms->reply, sizeof(ms->reply), "550 5.7.1 %s rejected "
		    "by content filter %s", stage_names[ms->stage], cf->name);
	else if (a->verdict == MILTER_TEMPFAIL)
		snprintf(ms->reply, sizeof(ms->reply), "451 4.7.1 Content "
		    "filter %s: try again later", cf->name);
	else
		snprintf(ms->reply, sizeof(ms->reply), "451 4.7.1 Content "
		    "filter %s unavailable, try again later", cf->name);
	return ms->reply;
}

static void
answered(void *arg, const struct milter_answer *a)
{
	struct smtp_milters *ms = arg;
	const struct conf_milter *cf = ms->cf[ms->cur];
	const struct smtp_session *s = ms->s;

	smtp_milters_note(ms, ms->cur, a);
	if (a->verdict != MILTER_CONTINUE)
		log_info("session=%016llx queue=%s milter=%s stage=%s "
		    "verdict=%s time=%ums%s%s", (unsigned long long)s->id,
		    s->env ? s->env->id : "-", cf->name, a->stage,
		    milter_verdict_name(a->verdict), a->elapsed_ms,
		    a->reason[0] ? " reason=" : "", a->reason);
	switch (a->verdict) {
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
		finish(ms, refusal(ms, cf, a));
		return;
	case MILTER_FAILED:
		if (!cf->fail_accept) {
			finish(ms, refusal(ms, cf, a));
			return;
		}
		log_warnx("milter %s failed (%s): going on without it "
		    "(on-failure accept)", cf->name, a->reason);
		break;
	default:
		/* continue, accept, discard (which the filter's connection
		 * answers again at the end of the message) */
		break;
	}
	ms->cur++;
	ask_next(ms);
}

static void
ask_next(struct smtp_milters *ms)
{
	struct smtp_session *s = ms->s;
	struct milter_conn *mc;

	if (ms->cur == ms->n) {
		finish(ms, NULL);
		return;
	}
	mc = ms->mc[ms->cur];
	switch (ms->stage) {
	case SMTP_MILTER_CONNECT:
		milter_conn_connect(mc, NULL, (const struct sockaddr *)&s->peer,
		    macros(ms), answered, ms);
		break;
	case SMTP_MILTER_HELO:
		milter_conn_helo(mc, s->helo, macros(ms), answered, ms);
		break;
	case SMTP_MILTER_MAIL:
		milter_conn_mail(mc, ms->addr, ms->args, ms->nargs,
		    macros(ms), answered, ms);
		break;
	case SMTP_MILTER_RCPT:
		milter_conn_rcpt(mc, ms->addr, ms->args, ms->nargs,
		    macros(ms), answered, ms);
		break;
	case SMTP_MILTER_DATA:
		milter_conn_data(mc, macros(ms), answered, ms);
		break;
	}
}

static void
start(struct smtp_milters *ms)
{
	if (ms->stage == SMTP_MILTER_MAIL)
		smtp_milters_tx_begin(ms);
	if (ms->stage == SMTP_MILTER_DATA)
		ms->data_sent = 1;
	ask_next(ms);
}

int
smtp_milter_ask(struct smtp_session *s, enum smtp_milter_stage stage,
    const char *arg, void (*then)(struct smtp_session *s, void *ctx,
    const char *refusal), void *ctx, void (*ctx_free)(void *))
{
	struct smtp_milters *ms = s->milters;

	if (ms == NULL || ms->n == 0)
		return 0;
	if (ms->busy) {
		/* Cannot happen: the session waits for each stage. */
		log_warnx("session=%016llx: milter stage while another is in "
		    "flight", (unsigned long long)s->id);
		return 0;
	}
	snprintf(ms->addr, sizeof(ms->addr), "%s", arg ? arg : "");
	ms->busy = 1;
	ms->stage = (int)stage;
	ms->cur = 0;
	ms->s = s;
	ms->then = then;
	ms->ctx = ctx;
	ms->ctx_free = ctx_free;
	if (ms->orphan != NULL)
		ms->resume = start;	/* after the last message's answer */
	else
		start(ms);
	return 1;
}

void
smtp_milter_params(struct smtp_session *s, const char *p, size_t len)
{
	struct smtp_milters *ms = s->milters;
	size_t i;

	if (ms == NULL || ms->n == 0)
		return;
	if (len > sizeof(ms->params) - 1)
		len = sizeof(ms->params) - 1;	/* the line bound: cannot */
	memcpy(ms->params, p, len);
	ms->params[len] = '\0';
	ms->nargs = 0;
	for (i = 0; i < len; i++) {
		if (ms->params[i] == ' ') {
			ms->params[i] = '\0';
			continue;
		}
		if ((i == 0 || ms->params[i - 1] == '\0') &&
		    ms->nargs < SMTP_MILTER_ARGS_MAX)
			ms->args[ms->nargs++] = ms->params + i;
	}
}
