/*
 * smtp_msgcheck — the checks of a message in order; see smtp_msgcheck.h.
 */
#include "smtp_msgcheck.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "xmalloc.h"

#define RUN_MAX	(16 + SMTP_MSGCHECK_EXTRA_MAX)

static const struct smtp_msgcheck_def *extra[SMTP_MSGCHECK_EXTRA_MAX];
static size_t nextra;

struct smtp_msgcheck_run {
	const struct smtp_msgcheck_def	*defs[RUN_MAX];
	void				*st[RUN_MAX];
	size_t				 n;
	size_t				 next;		/* verdict to ask */
	int				 waiting;	/* defs[next - 1] */
	const struct smtp_session	*s;
	smtp_msgcheck_done_cb		 cb;
	void				*arg;
	/* The edits so far (smtp_msgcheck_edits). */
	struct buf			 prepend;
	struct queue_envelope		 cutenv;	/* cuts only */
	char				*hold;
	char				**rcpt_add;
	size_t				 nrcpt_add;
	char				**rcpt_del;
	size_t				 nrcpt_del;
};

#define RCPT_CHANGES_MAX	1000	/* recipients added or removed */

static int
keep_list(char ***v, size_t *n, char *const *add, size_t nadd)
{
	if (*n + nadd > RCPT_CHANGES_MAX)
		return -1;
	*v = xreallocarray(*v, *n + nadd + 1, sizeof(**v));
	for (size_t i = 0; i < nadd; i++)
		(*v)[(*n)++] = xstrdup(add[i]);
	return 0;
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
smtp_msgcheck_register(const struct smtp_msgcheck_def *def)
{
	if (nextra == SMTP_MSGCHECK_EXTRA_MAX)
		return -1;
	extra[nextra++] = def;
	return 0;
}

void
smtp_msgcheck_unregister_all(void)
{
	nextra = 0;
}

struct smtp_msgcheck_run *
smtp_msgcheck_begin(const struct smtp_session *s,
    const struct smtp_msgcheck_def *const *builtin, size_t nbuiltin)
{
	struct smtp_msgcheck_run *r = xcalloc(1, sizeof(*r));

	buf_init(&r->prepend, SMTP_MSGCHECK_PREPEND_MAX);

	for (size_t i = 0; i < nbuiltin && r->n < RUN_MAX; i++)
		r->defs[r->n++] = builtin[i];
	for (size_t i = 0; i < nextra && r->n < RUN_MAX; i++)
		r->defs[r->n++] = extra[i];
	for (size_t i = 0; i < r->n; i++)
		r->st[i] = r->defs[i]->begin ? r->defs[i]->begin(s) : NULL;
	return r;
}

void
smtp_msgcheck_data(struct smtp_msgcheck_run *r, const char *p, size_t n)
{
	if (r == NULL || n == 0)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (r->defs[i]->data)
			r->defs[i]->data(r->st[i], p, n);
}

static void	run_on(struct smtp_msgcheck_run *r);

/* Keep a check's edits; 0, or -1 when they do not fit (the message is
 * then refused: leaving out an edit could deliver a forgery). */
static int
keep_edits(struct smtp_msgcheck_run *r, const struct smtp_msgcheck_result *res,
    const char *name)
{
	if (res->prepend != NULL &&
	    buf_append(&r->prepend, res->prepend, strlen(res->prepend)) != 0) {
		log_warnx("message check %s: header lines over %d bytes", name,
		    SMTP_MSGCHECK_PREPEND_MAX);
		return -1;
	}
	for (size_t i = 0; i < res->ncuts; i++)
		if (queue_envelope_add_cut(&r->cutenv, res->cuts[i].off,
		    res->cuts[i].len, res->cuts[i].text) == -1) {
			log_warnx("message check %s: a cut overlaps another or "
			    "is one too many", name);
			return -1;
		}
	if (keep_list(&r->rcpt_add, &r->nrcpt_add, res->rcpt_add,
	    res->nrcpt_add) == -1 || keep_list(&r->rcpt_del, &r->nrcpt_del,
	    res->rcpt_del, res->nrcpt_del) == -1) {
		log_warnx("message check %s: over %d recipients changed", name,
		    RCPT_CHANGES_MAX);
		return -1;
	}
	if (res->verdict == SMTP_MSGCHECK_HOLD && r->hold == NULL)
		r->hold = xstrdup(res->reason ? res->reason : name);
	return 0;
}

/* One check's verdict: 1 to go on with the next check. */
static int
verdict(struct smtp_msgcheck_run *r, size_t i,
    const struct smtp_msgcheck_result *res)
{
	struct smtp_msgcheck_result fail;

	switch (res->verdict) {
	case SMTP_MSGCHECK_ACCEPT:
	case SMTP_MSGCHECK_HOLD:
		if (keep_edits(r, res, r->defs[i]->name) == 0)
			return 1;
		memset(&fail, 0, sizeof(fail));
		fail.verdict = SMTP_MSGCHECK_REFUSE;
		fail.rule = POLICY_RULE_CHECK_TEMPFAIL;
		fail.reply = policy_reply(fail.rule);
		r->cb(r->arg, &fail);
		return 0;
	case SMTP_MSGCHECK_REFUSE:
	case SMTP_MSGCHECK_DISCARD:
		break;
	}
	r->cb(r->arg, res);
	return 0;
}

/* A verdict that came later. */
static void
later(void *arg, const struct smtp_msgcheck_result *res)
{
	struct smtp_msgcheck_run *r = arg;

	r->waiting = 0;
	if (verdict(r, r->next - 1, res))
		run_on(r);
}

static void
run_on(struct smtp_msgcheck_run *r)
{
	struct smtp_msgcheck_result res;

	while (r->next < r->n) {
		size_t i = r->next++;

		memset(&res, 0, sizeof(res));
		if (r->defs[i]->end == NULL)
			continue;
		if (r->defs[i]->end(r->st[i], r->s, &res, later, r) == 1) {
			r->waiting = 1;
			return;
		}
		if (!verdict(r, i, &res))
			return;
	}
	memset(&res, 0, sizeof(res));
	res.verdict = r->hold ? SMTP_MSGCHECK_HOLD : SMTP_MSGCHECK_ACCEPT;
	res.reason = r->hold;
	r->cb(r->arg, &res);
}

void
smtp_msgcheck_edits(const struct smtp_msgcheck_run *r,
    struct smtp_msgcheck_edits *out)
{
	memset(out, 0, sizeof(*out));
	if (r == NULL)
		return;
	out->prepend = r->prepend.len > 0 ? r->prepend.p : NULL;
	out->cuts = r->cutenv.cuts;
	out->ncuts = r->cutenv.ncuts;
	out->hold = r->hold;
	out->rcpt_add = r->rcpt_add;
	out->nrcpt_add = r->nrcpt_add;
	out->rcpt_del = r->rcpt_del;
	out->nrcpt_del = r->nrcpt_del;
}

void
smtp_msgcheck_end(struct smtp_msgcheck_run *r, const struct smtp_session *s,
    smtp_msgcheck_done_cb cb, void *arg)
{
	r->s = s;
	r->cb = cb;
	r->arg = arg;
	r->next = 0;
	run_on(r);
}

void
smtp_msgcheck_free(struct smtp_msgcheck_run *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (r->defs[i]->finish)
			r->defs[i]->finish(r->st[i]);
	buf_free(&r->prepend);
	queue_envelope_clear_cuts(&r->cutenv);
	free(r->hold);
	free_list(r->rcpt_add, r->nrcpt_add);
	free_list(r->rcpt_del, r->nrcpt_del);
	free(r);
}
