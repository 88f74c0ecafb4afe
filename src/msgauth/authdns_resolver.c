/*
 * authdns_resolver — the authdns interface (authdns.h) on a live resolver
 * profile: the evaluators' questions go through c-ares on the loop, with
 * the profile the virtual server's `authentication { dns }` names.
 */
#include "authdns_resolver.h"
#include "resolver.h"

static void *
ask(void *ctx, const char *name, int type, authdns_cb cb, void *arg)
{
	return resolver_lookup(ctx, name, type, cb, arg);
}

static void
cancel(void *ctx, void *handle)
{
	(void)ctx;
	resolver_cancel(handle);
}

struct authdns
authdns_resolver(struct resolver *r)
{
	struct authdns a = { ask, cancel, r };

	return a;
}
