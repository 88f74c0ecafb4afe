/*
 * kv_redis_priv — what kv_redis.c (requests, the connection) and
 * kv_redis_ops.c (the operations and their Lua scripts) share: a request
 * and the three calls that make, send or refuse one.
 */
#ifndef POSTERN_KV_REDIS_PRIV_H
#define POSTERN_KV_REDIS_PRIV_H

#include <stddef.h>
#include <sys/queue.h>
#include <time.h>

#include "kv.h"

struct event;

#define KV_PREFIX		"postern:"
#define KV_PREFIX_LEN		(sizeof(KV_PREFIX) - 1)
#define KV_FULLKEY_MAX		(KV_PREFIX_LEN + KV_KEY_MAX + 1)
#define KV_ARGV_MAX		8

enum kv_parse {
	P_INT,		/* an integer reply */
	P_SET,		/* SET: "OK" 1, nil 0 */
	P_STR,		/* a bulk string or nil */
	P_LIST,		/* an array of bulk strings */
	P_HELLO,	/* the handshake: AUTH or PING */
};

struct kv_req {
	TAILQ_ENTRY(kv_req)	 entry;
	struct kv		*kv;
	struct event		*timer;
	enum kv_parse		 parse;
	union {
		kv_int_cb	 i;
		kv_str_cb	 s;
		kv_list_cb	 l;
	}			 cb;
	void			*arg;
	int			 done;		/* answered or cancelled */
	int			 in_hiredis;	/* hiredis holds it */
	enum kv_status		 early;		/* the answer of one never sent */
	char			*eval;		/* EVALSHA's fallback: EVAL,
						   formatted by hiredis */
	size_t			 eval_len;
	struct timespec		 sent;
};

/* A request of kv, answered with this parse of the reply; its callback
 * and arg are set by the caller. */
struct kv_req	*kv_redis_req_new(struct kv *kv, enum kv_parse parse,
		    void *arg);
/* Sends argv, or answers KV_DOWN from the loop; r. */
struct kv_req	*kv_redis_req_send(struct kv_req *r, int argc,
		    const char **argv, const size_t *lens);
/* Refused before it is sent (a key too long): KV_ERROR from the loop;
 * r. */
struct kv_req	*kv_redis_req_refuse(struct kv_req *r);

#endif
