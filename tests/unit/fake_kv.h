/*
 * fake_kv — the shared store of kv.h in memory, for the unit tests of
 * what asks it (smtp_limits.c and the session): every kv_* function of
 * kv.h, answering when the test says so (fake_kv_step(): every pending
 * request, in order), never from inside the call that asked, as the real
 * one.  fake_kv_mode makes every answer KV_TIMEOUT, KV_DOWN or KV_ERROR
 * instead (nothing is stored then); fake_kv_now is the store's clock
 * (kv_first_seen's ages).  The store is a small table of keys; a count of
 * kv_count_adjust keeps one part per member.  Requests are counted by
 * operation (fake_kv_ops) and cancellations too, so tests check the
 * round trips.  Header-only: each program includes it once, and its
 * definitions take the place of the library's.
 */
#ifndef POSTERN_TEST_FAKE_KV_H
#define POSTERN_TEST_FAKE_KV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define FAKE_KV_KEYS	64
#define FAKE_KV_MEMBERS	4

enum fake_kv_op { FKV_INCR, FKV_GET, FKV_SETNX, FKV_SET, FKV_WINDOW,
	FKV_FIRST, FKV_COUNT, FKV_NOPS };

struct fake_kv_entry {
	char		 key[KV_KEY_MAX];
	long long	 n;			/* counter, window count, or
						   first-seen time */
	char		 value[64];		/* GET/SET */
	int		 isstr;
	char		 member[FAKE_KV_MEMBERS][32];
	long long	 part[FAKE_KV_MEMBERS];
	unsigned	 ttl;
};

struct kv_req {
	struct kv_req	*next;
	enum fake_kv_op	 op;
	char		 key[KV_KEY_MAX];
	char		 member[32];
	char		 value[64];
	long long	 by;
	unsigned	 limit, ttl;
	kv_int_cb	 icb;
	kv_str_cb	 scb;
	void		*arg;
};

struct kv {
	struct kv_req		*head, **tail;
};

static struct kv fake_kv_store = { NULL, &fake_kv_store.head };
static struct fake_kv_entry fake_kv_tab[FAKE_KV_KEYS];
static enum kv_status fake_kv_mode = KV_OK;
static long long fake_kv_now = 1000;
static unsigned fake_kv_ops[FKV_NOPS];
static unsigned fake_kv_cancels;

/* The store the tests hand to smtp_limits_set_kv(). */
static inline struct kv *
fake_kv(void)
{
	return &fake_kv_store;
}

static inline void
fake_kv_reset(void)
{
	struct kv_req *r;

	while ((r = fake_kv_store.head) != NULL) {
		fake_kv_store.head = r->next;
		free(r);
	}
	fake_kv_store.tail = &fake_kv_store.head;
	memset(fake_kv_tab, 0, sizeof(fake_kv_tab));
	memset(fake_kv_ops, 0, sizeof(fake_kv_ops));
	fake_kv_cancels = 0;
	fake_kv_mode = KV_OK;
	fake_kv_now = 1000;
}

static inline struct fake_kv_entry *
fake_kv_entry(const char *key, int create)
{
	struct fake_kv_entry *free_e = NULL;

	for (size_t i = 0; i < FAKE_KV_KEYS; i++) {
		if (fake_kv_tab[i].key[0] == '\0') {
			if (free_e == NULL)
				free_e = &fake_kv_tab[i];
		} else if (strcmp(fake_kv_tab[i].key, key) == 0)
			return &fake_kv_tab[i];
	}
	if (!create || free_e == NULL)
		return NULL;
	snprintf(free_e->key, sizeof(free_e->key), "%s", key);
	return free_e;
}

/* The sum of a kv_count_adjust key's parts (a test looks, or sets one
 * member's part: another node's connections). */
static inline long long
fake_kv_count(const char *key)
{
	struct fake_kv_entry *e = fake_kv_entry(key, 0);
	long long sum = 0;

	for (size_t i = 0; e && i < FAKE_KV_MEMBERS; i++)
		sum += e->part[i];
	return sum;
}

static inline long long *
fake_kv_part(struct fake_kv_entry *e, const char *member)
{
	for (size_t i = 0; i < FAKE_KV_MEMBERS; i++)
		if (strcmp(e->member[i], member) == 0)
			return &e->part[i];
	for (size_t i = 0; i < FAKE_KV_MEMBERS; i++)
		if (e->member[i][0] == '\0') {
			snprintf(e->member[i], sizeof(e->member[i]), "%s",
			    member);
			return &e->part[i];
		}
	return &e->part[0];
}

static inline void
fake_kv_set_part(const char *key, const char *member, long long n)
{
	*fake_kv_part(fake_kv_entry(key, 1), member) = n;
}

/* A number stored under key (a counter, a window's events). */
static inline void
fake_kv_set_n(const char *key, long long n)
{
	fake_kv_entry(key, 1)->n = n;
}

static inline long long
fake_kv_n(const char *key)
{
	struct fake_kv_entry *e = fake_kv_entry(key, 0);

	return e ? e->n : 0;
}

static inline int
fake_kv_exists(const char *key)
{
	return fake_kv_entry(key, 0) != NULL;
}

static inline unsigned
fake_kv_ttl(const char *key)
{
	struct fake_kv_entry *e = fake_kv_entry(key, 0);

	return e ? e->ttl : 0;
}

static inline unsigned
fake_kv_pending(void)
{
	unsigned n = 0;

	for (struct kv_req *r = fake_kv_store.head; r; r = r->next)
		n++;
	return n;
}

static inline struct kv_req *
fake_kv_push(struct kv *kv, enum fake_kv_op op, const char *key)
{
	struct kv_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();
	r->op = op;
	snprintf(r->key, sizeof(r->key), "%s", key);
	*kv->tail = r;
	kv->tail = &r->next;
	fake_kv_ops[op]++;
	return r;
}

static inline void
fake_kv_answer(struct kv_req *r)
{
	struct fake_kv_entry *e;
	long long v = 0, *p;

	if (fake_kv_mode != KV_OK) {
		if (r->scb)
			r->scb(fake_kv_mode, NULL, 0, r->arg);
		else
			r->icb(fake_kv_mode, 0, r->arg);
		return;
	}
	switch (r->op) {
	case FKV_GET:
		e = fake_kv_entry(r->key, 0);
		if (e == NULL)
			r->scb(KV_OK, NULL, 0, r->arg);
		else if (e->isstr)
			r->scb(KV_OK, e->value, strlen(e->value), r->arg);
		else {
			char num[32];

			snprintf(num, sizeof(num), "%lld", e->n);
			r->scb(KV_OK, num, strlen(num), r->arg);
		}
		return;
	case FKV_INCR:
		e = fake_kv_entry(r->key, 0);
		if (e == NULL) {
			e = fake_kv_entry(r->key, 1);
			e->ttl = r->ttl;
		}
		v = e->n += r->by;
		break;
	case FKV_SETNX:
	case FKV_SET:
		e = fake_kv_entry(r->key, 0);
		if (e != NULL && r->op == FKV_SETNX) {
			v = 0;
			break;
		}
		e = fake_kv_entry(r->key, 1);
		e->isstr = 1;
		snprintf(e->value, sizeof(e->value), "%s", r->value);
		e->ttl = r->ttl;
		v = 1;
		break;
	case FKV_WINDOW:
		e = fake_kv_entry(r->key, 1);
		e->ttl = r->ttl;
		if (e->n >= r->limit)
			v = r->limit + 1;
		else
			v = ++e->n;
		break;
	case FKV_FIRST:
		e = fake_kv_entry(r->key, 0);
		if (e == NULL) {
			e = fake_kv_entry(r->key, 1);
			e->n = fake_kv_now;
			e->ttl = r->ttl;
		}
		v = fake_kv_now - e->n;
		break;
	case FKV_COUNT:
		e = fake_kv_entry(r->key, 1);
		e->ttl = r->ttl;
		p = fake_kv_part(e, r->member);
		*p += r->by;
		if (*p < 0)
			*p = 0;
		v = fake_kv_count(r->key);
		break;
	default:
		break;
	}
	r->icb(KV_OK, v, r->arg);
}

/* Answer every request pending now (not those the answers make);
 * returns how many. */
static inline unsigned
fake_kv_step(void)
{
	struct kv_req *list = fake_kv_store.head, *r;
	unsigned n = 0;

	fake_kv_store.head = NULL;
	fake_kv_store.tail = &fake_kv_store.head;
	while ((r = list) != NULL) {
		list = r->next;
		fake_kv_answer(r);
		free(r);
		n++;
	}
	return n;
}

/* ---- kv.h ---- */

struct kv *
kv_open(struct event_base *base, const struct kv_params *p, char *err,
    size_t errlen)
{
	(void)base;
	(void)p;
	(void)err;
	(void)errlen;
	return &fake_kv_store;
}

void
kv_free(struct kv *kv)
{
	(void)kv;
	fake_kv_reset();
}

void
kv_stats(const struct kv *kv, struct kv_stats *out)
{
	(void)kv;
	memset(out, 0, sizeof(*out));
	out->up = fake_kv_mode == KV_OK;
}

void
kv_cancel(struct kv_req *req)
{
	struct kv_req **pp;

	for (pp = &fake_kv_store.head; *pp; pp = &(*pp)->next)
		if (*pp == req) {
			*pp = req->next;
			if (fake_kv_store.tail == &req->next)
				fake_kv_store.tail = pp;
			free(req);
			fake_kv_cancels++;
			return;
		}
}

struct kv_req *
kv_incr_expire(struct kv *kv, const char *key, long long by, unsigned ttl_s,
    kv_int_cb cb, void *arg)
{
	struct kv_req *r = fake_kv_push(kv, FKV_INCR, key);

	r->by = by;
	r->ttl = ttl_s;
	r->icb = cb;
	r->arg = arg;
	return r;
}

struct kv_req *
kv_get(struct kv *kv, const char *key, kv_str_cb cb, void *arg)
{
	struct kv_req *r = fake_kv_push(kv, FKV_GET, key);

	r->scb = cb;
	r->arg = arg;
	return r;
}

static inline struct kv_req *
fake_kv_set(struct kv *kv, enum fake_kv_op op, const char *key,
    const char *value, size_t len, unsigned ttl_s, kv_int_cb cb, void *arg)
{
	struct kv_req *r = fake_kv_push(kv, op, key);

	snprintf(r->value, sizeof(r->value), "%.*s", (int)len, value);
	r->ttl = ttl_s;
	r->icb = cb;
	r->arg = arg;
	return r;
}

struct kv_req *
kv_set_nx_ex(struct kv *kv, const char *key, const char *value, size_t len,
    unsigned ttl_s, kv_int_cb cb, void *arg)
{
	return fake_kv_set(kv, FKV_SETNX, key, value, len, ttl_s, cb, arg);
}

struct kv_req *
kv_set_ex(struct kv *kv, const char *key, const char *value, size_t len,
    unsigned ttl_s, kv_int_cb cb, void *arg)
{
	return fake_kv_set(kv, FKV_SET, key, value, len, ttl_s, cb, arg);
}

struct kv_req *
kv_window_hit(struct kv *kv, const char *key, unsigned limit,
    unsigned window_s, kv_int_cb cb, void *arg)
{
	struct kv_req *r = fake_kv_push(kv, FKV_WINDOW, key);

	r->limit = limit;
	r->ttl = window_s;
	r->icb = cb;
	r->arg = arg;
	return r;
}

struct kv_req *
kv_first_seen(struct kv *kv, const char *key, unsigned ttl_s, kv_int_cb cb,
    void *arg)
{
	struct kv_req *r = fake_kv_push(kv, FKV_FIRST, key);

	r->ttl = ttl_s;
	r->icb = cb;
	r->arg = arg;
	return r;
}

struct kv_req *
kv_count_adjust(struct kv *kv, const char *key, const char *member,
    long long by, unsigned ttl_s, kv_int_cb cb, void *arg)
{
	struct kv_req *r = fake_kv_push(kv, FKV_COUNT, key);

	snprintf(r->member, sizeof(r->member), "%s", member);
	r->by = by;
	r->ttl = ttl_s;
	r->icb = cb;
	r->arg = arg;
	return r;
}

#endif
