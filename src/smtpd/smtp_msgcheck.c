/*
 * smtp_msgcheck — the checks of a message in order; see smtp_msgcheck.h.
 */
#include "smtp_msgcheck.h"

#include <stdlib.h>
#include <string.h>

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
};

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

/* A verdict that came later. */
static void
later(void *arg, const struct smtp_msgcheck_result *res)
{
	struct smtp_msgcheck_run *r = arg;

	r->waiting = 0;
	if (res->refuse) {
		r->cb(r->arg, res);
		return;
	}
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
		if (res.refuse) {
			r->cb(r->arg, &res);
			return;
		}
	}
	memset(&res, 0, sizeof(res));
	r->cb(r->arg, &res);
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
	free(r);
}
