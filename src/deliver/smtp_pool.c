/*
 * smtp_pool — kept outbound SMTP connections; see smtp_pool.h.
 *
 * Entries sit on one list, oldest first (eviction takes the head), and on
 * a per-key stack reached through a strmap (take pops the newest: the
 * warmest connection is reused, the coldest ones age out).  The client
 * tells us through its `lost` hook when an idle connection ends by
 * itself, and the entry goes at once, so take never returns a dead one
 * that we could have known about.
 */
#include "smtp_pool.h"
#include "smtp_client.h"
#include "strmap.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

struct pool_entry {
	struct smtp_pool	*pool;
	struct smtp_client	*c;
	char			*key;
	TAILQ_ENTRY(pool_entry)	 all;	/* oldest first */
	struct pool_entry	*below;	/* same key, parked earlier */
	struct pool_entry	*above;
};
TAILQ_HEAD(pool_list, pool_entry);

struct smtp_pool {
	struct pool_list	 all;
	struct strmap		*tops;	/* key -> newest entry */
	size_t			 count;
	size_t			 quitting;	/* smtp_pool_quit_all() */
	void			(*quit_done)(void *);
	void			*quit_arg;
};

struct smtp_pool *
smtp_pool_new(void)
{
	struct smtp_pool *p = xcalloc(1, sizeof(*p));

	TAILQ_INIT(&p->all);
	p->tops = strmap_new();
	return p;
}

/* Unlink e; the caller decides what becomes of its connection. */
static struct smtp_client *
entry_remove(struct pool_entry *e)
{
	struct smtp_pool *p = e->pool;
	struct smtp_client *c = e->c;

	TAILQ_REMOVE(&p->all, e, all);
	if (e->below != NULL)
		e->below->above = e->above;
	if (e->above != NULL)
		e->above->below = e->below;
	else if (e->below != NULL)
		strmap_put(p->tops, e->key, e->below);
	else
		strmap_del(p->tops, e->key);
	p->count--;
	free(e->key);
	free(e);
	return c;
}

/* The connection ended while idle (the client frees itself). */
static void
entry_lost(void *arg)
{
	entry_remove(arg);
}

void
smtp_pool_free(struct smtp_pool *p)
{
	struct pool_entry *e;

	if (p == NULL)
		return;
	while ((e = TAILQ_FIRST(&p->all)) != NULL)
		smtp_client_cancel(entry_remove(e));
	strmap_free(p->tops, NULL);
	free(p);
}

/* One connection of smtp_pool_quit_all() is closed. */
static void
quit_one(void *arg, struct smtp_client_result *res)
{
	struct smtp_pool *p = arg;
	void (*done)(void *) = p->quit_done;

	(void)res;
	if (--p->quitting > 0 || done == NULL)
		return;
	p->quit_done = NULL;
	done(p->quit_arg);
}

void
smtp_pool_quit_all(struct smtp_pool *p, void (*done)(void *), void *arg)
{
	struct pool_entry *e;

	p->quit_done = done;
	p->quit_arg = arg;
	while ((e = TAILQ_FIRST(&p->all)) != NULL) {
		p->quitting++;
		smtp_client_close_cb(entry_remove(e), quit_one, p);
	}
	if (p->quitting == 0) {
		p->quit_done = NULL;
		done(arg);
	}
}

struct smtp_client *
smtp_pool_take(struct smtp_pool *p, const char *key)
{
	struct pool_entry *e = key[0] != '\0' ? strmap_get(p->tops, key) :
	    NULL;

	return e != NULL ? entry_remove(e) : NULL;
}

int
smtp_pool_evict(struct smtp_pool *p)
{
	struct pool_entry *e = TAILQ_FIRST(&p->all);

	if (e == NULL)
		return 0;
	smtp_client_close(entry_remove(e));
	return 1;
}

void
smtp_pool_put(struct smtp_pool *p, const char *key, struct smtp_client *c,
    size_t max)
{
	struct pool_entry *e;

	if (max == 0 || key[0] == '\0' || strlen(key) >= SMTP_POOL_KEY_MAX ||
	    time(NULL) - smtp_client_born(c) >= SMTP_POOL_AGE_MAX) {
		smtp_client_close(c);
		return;
	}
	while (p->count >= max)
		smtp_pool_evict(p);
	e = xcalloc(1, sizeof(*e));
	if (smtp_client_idle(c, SMTP_POOL_IDLE, entry_lost, e) == -1) {
		free(e);
		smtp_client_close(c);
		return;
	}
	e->pool = p;
	e->c = c;
	e->key = xstrdup(key);
	e->below = strmap_get(p->tops, key);
	if (e->below != NULL)
		e->below->above = e;
	strmap_put(p->tops, key, e);
	TAILQ_INSERT_TAIL(&p->all, e, all);
	p->count++;
}

size_t
smtp_pool_count(const struct smtp_pool *p)
{
	return p->count;
}
