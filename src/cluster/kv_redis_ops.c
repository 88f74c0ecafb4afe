/*
 * kv_redis_ops — the operations of kv.h on Redis (kv_redis.c carries
 * them): the commands and Lua scripts, each one round trip, every key
 * prefixed "postern:" and given an expiry.  Scripts go as EVALSHA;
 * kv_redis.c sends the EVAL kept here again on NOSCRIPT.
 */
#include "kv.h"
#include "kv_redis_priv.h"
#include "log.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <string.h>

static const char incr_expire_lua[] =
	"local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
	"if redis.call('TTL', KEYS[1]) == -1 then "
	"redis.call('EXPIRE', KEYS[1], ARGV[2]) end "
	"return v";

/* The store's clock in microseconds; members unique within the key. */
static const char window_hit_lua[] =
	"local t = redis.call('TIME') "
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) "
	"local win = tonumber(ARGV[2]) * 1000000 "
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', "
	"string.format('%.0f', now - win)) "
	"local n = redis.call('ZCARD', KEYS[1]) "
	"local limit = tonumber(ARGV[1]) "
	"if n >= limit then return limit + 1 end "
	"redis.call('ZADD', KEYS[1], string.format('%.0f', now), "
	"string.format('%.0f-%d', now, n)) "
	"redis.call('PEXPIRE', KEYS[1], ARGV[2] * 1000) "
	"return n + 1";

static const char first_seen_lua[] =
	"local t = tonumber(redis.call('TIME')[1]) "
	"local v = redis.call('GET', KEYS[1]) "
	"if not v then "
	"redis.call('SET', KEYS[1], t, 'EX', ARGV[1]) return 0 end "
	"local age = t - (tonumber(v) or t) "
	"if age < 0 then age = 0 end "
	"return age";

/* The members whose heartbeat is gone are left to the key's expiry; this
 * node's own part counts even before its first heartbeat. */
static const char count_adjust_lua[] =
	"local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2]) "
	"if v < 0 then redis.call('HSET', KEYS[1], ARGV[1], 0) end "
	"redis.call('EXPIRE', KEYS[1], ARGV[3]) "
	"local all = redis.call('HGETALL', KEYS[1]) "
	"local sum = 0 "
	"for i = 1, #all, 2 do "
	"local n = tonumber(all[i + 1]) or 0 "
	"if n > 0 and (all[i] == ARGV[1] or "
	"redis.call('EXISTS', ARGV[4] .. all[i]) == 1) then "
	"sum = sum + n end end "
	"return sum";

static const char set_add_lua[] =
	"local n = redis.call('SADD', KEYS[1], ARGV[1]) "
	"redis.call('EXPIRE', KEYS[1], ARGV[2]) "
	"return n";

/* The values of the members still alive, at most ARGV[2]; the members
 * whose key has expired are removed from the set. */
static const char set_values_lua[] =
	"local out = {} "
	"for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
	"local v = redis.call('GET', ARGV[1] .. m) "
	"if v then "
	"if #out < tonumber(ARGV[2]) then out[#out + 1] = v end "
	"else redis.call('SREM', KEYS[1], m) end end "
	"return out";

/* "postern:" + key into buf of KV_FULLKEY_MAX; its length, or 0 when the
 * key is empty or too long. */
static size_t
kv_key(const char *key, char *buf)
{
	size_t len = key != NULL ? strlen(key) : 0;

	if (len == 0 || len > KV_KEY_MAX)
		return 0;
	memcpy(buf, KV_PREFIX, KV_PREFIX_LEN);
	memcpy(buf + KV_PREFIX_LEN, key, len + 1);
	return KV_PREFIX_LEN + len;
}

/* The SHA-1 of a script in hex, as EVALSHA names it (computed once). */
static const char *
script_sha(const char *script)
{
	static struct {
		const char	*script;
		char		 hex[2 * SHA_DIGEST_LENGTH + 1];
	} cache[8];
	unsigned char md[SHA_DIGEST_LENGTH];
	size_t i, j;

	for (i = 0; i < sizeof(cache) / sizeof(cache[0]); i++) {
		if (cache[i].script == script)
			return cache[i].hex;
		if (cache[i].script == NULL)
			break;
	}
	if (i == sizeof(cache) / sizeof(cache[0]))
		fatalx("kv: too many scripts");
	SHA1((const unsigned char *)script, strlen(script), md);
	for (j = 0; j < SHA_DIGEST_LENGTH; j++)
		snprintf(cache[i].hex + 2 * j, 3, "%02x", md[j]);
	cache[i].script = script;
	return cache[i].hex;
}

/* EVALSHA sha 1 key args... (EVAL script 1 key args... kept for
 * NOSCRIPT). */
static struct kv_req *
kv_eval(struct kv_req *r, const char *script, const char *key, int nargs,
    const char **args)
{
	char k[KV_FULLKEY_MAX];
	const char *argv[KV_ARGV_MAX];
	size_t lens[KV_ARGV_MAX];
	int i, n, argc = 0;

	if ((lens[3] = kv_key(key, k)) == 0 || nargs > KV_ARGV_MAX - 4)
		return kv_redis_req_refuse(r);
	argv[argc] = "EVAL", lens[argc++] = 4;
	argv[argc] = script, lens[argc++] = strlen(script);
	argv[argc] = "1", lens[argc++] = 1;
	argv[argc++] = k;
	for (i = 0; i < nargs; i++) {
		argv[argc] = args[i];
		lens[argc++] = strlen(args[i]);
	}
	if ((n = redisFormatCommandArgv(&r->eval, argc, argv, lens)) < 0)
		fatalx("kv: redisFormatCommandArgv");
	r->eval_len = (size_t)n;
	argv[0] = "EVALSHA", lens[0] = 7;
	argv[1] = script_sha(script), lens[1] = 2 * SHA_DIGEST_LENGTH;
	return kv_redis_req_send(r, argc, argv, lens);
}

struct kv_req *
kv_incr_expire(struct kv *kv, const char *key, long long by, unsigned ttl_s,
    kv_int_cb cb, void *arg)
{
	struct kv_req *r = kv_redis_req_new(kv, P_INT, arg);
	char a[2][24];
	const char *args[2] = { a[0], a[1] };

	r->cb.i = cb;
	snprintf(a[0], sizeof(a[0]), "%lld", by);
	snprintf(a[1], sizeof(a[1]), "%u", ttl_s > 0 ? ttl_s : 1);
	return kv_eval(r, incr_expire_lua, key, 2, args);
}

struct kv_req *
kv_get(struct kv *kv, const char *key, kv_str_cb cb, void *arg)
{
	struct kv_req *r = kv_redis_req_new(kv, P_STR, arg);
	char k[KV_FULLKEY_MAX];
	const char *argv[2];
	size_t lens[2];

	r->cb.s = cb;
	if ((lens[1] = kv_key(key, k)) == 0)
		return kv_redis_req_refuse(r);
	argv[0] = "GET", lens[0] = 3;
	argv[1] = k;
	return kv_redis_req_send(r, 2, argv, lens);
}

static struct kv_req *
kv_set(struct kv *kv, const char *key, const char *value, size_t len,
    unsigned ttl_s, int nx, kv_int_cb cb, void *arg)
{
	struct kv_req *r = kv_redis_req_new(kv, P_SET, arg);
	char k[KV_FULLKEY_MAX], ttl[24];
	const char *argv[6];
	size_t lens[6];
	int argc = 0;

	r->cb.i = cb;
	if ((lens[1] = kv_key(key, k)) == 0 || len > KV_VALUE_MAX)
		return kv_redis_req_refuse(r);
	snprintf(ttl, sizeof(ttl), "%u", ttl_s > 0 ? ttl_s : 1);
	argv[argc] = "SET", lens[argc++] = 3;
	argv[argc++] = k;
	argv[argc] = value, lens[argc++] = len;
	if (nx)
		argv[argc] = "NX", lens[argc++] = 2;
	argv[argc] = "EX", lens[argc++] = 2;
	argv[argc] = ttl, lens[argc++] = strlen(ttl);
	return kv_redis_req_send(r, argc, argv, lens);
}

struct kv_req *
kv_set_nx_ex(struct kv *kv, const char *key, const char *value, size_t len,
    unsigned ttl_s, kv_int_cb cb, void *arg)
{
	return kv_set(kv, key, value, len, ttl_s, 1, cb, arg);
}

struct kv_req *
kv_set_ex(struct kv *kv, const char *key, const char *value, size_t len,
    unsigned ttl_s, kv_int_cb cb, void *arg)
{
	return kv_set(kv, key, value, len, ttl_s, 0, cb, arg);
}

struct kv_req *
kv_window_hit(struct kv *kv, const char *key, unsigned limit,
    unsigned window_s, kv_int_cb cb, void *arg)
{
	struct kv_req *r = kv_redis_req_new(kv, P_INT, arg);
	char a[2][24];
	const char *args[2] = { a[0], a[1] };

	r->cb.i = cb;
	snprintf(a[0], sizeof(a[0]), "%u", limit);
	snprintf(a[1], sizeof(a[1]), "%u", window_s > 0 ? window_s : 1);
	return kv_eval(r, window_hit_lua, key, 2, args);
}

struct kv_req *
kv_first_seen(struct kv *kv, const char *key, unsigned ttl_s, kv_int_cb cb,
    void *arg)
{
	struct kv_req *r = kv_redis_req_new(kv, P_INT, arg);
	char a[24];
	const char *args[1] = { a };

	r->cb.i = cb;
	snprintf(a, sizeof(a), "%u", ttl_s > 0 ? ttl_s : 1);
	return kv_eval(r, first_seen_lua, key, 1, args);
}

struct kv_req *
kv_count_adjust(struct kv *kv, const char *key, const char *member,
    long long by, unsigned ttl_s, kv_int_cb cb, void *arg)
{
	struct kv_req *r = kv_redis_req_new(kv, P_INT, arg);
	char a[2][24];
	const char *args[4] = { member, a[0], a[1],
	    KV_PREFIX KV_NODE_KEY_PREFIX };

	r->cb.i = cb;
	if (member == NULL || *member == '\0' || strlen(member) > KV_KEY_MAX)
		return kv_redis_req_refuse(r);
	snprintf(a[0], sizeof(a[0]), "%lld", by);
	snprintf(a[1], sizeof(a[1]), "%u", ttl_s > 0 ? ttl_s : 1);
	return kv_eval(r, count_adjust_lua, key, 4, args);
}

struct kv_req *
kv_set_add(struct kv *kv, const char *set, const char *member,
    unsigned ttl_s, kv_int_cb cb, void *arg)
{
	struct kv_req *r = kv_redis_req_new(kv, P_INT, arg);
	char a[24];
	const char *args[2] = { member, a };

	r->cb.i = cb;
	if (member == NULL || *member == '\0' || strlen(member) > KV_KEY_MAX)
		return kv_redis_req_refuse(r);
	snprintf(a, sizeof(a), "%u", ttl_s > 0 ? ttl_s : 1);
	return kv_eval(r, set_add_lua, set, 2, args);
}

struct kv_req *
kv_set_values(struct kv *kv, const char *set, const char *prefix,
    kv_list_cb cb, void *arg)
{
	struct kv_req *r = kv_redis_req_new(kv, P_LIST, arg);
	char p[KV_FULLKEY_MAX], max[16];
	const char *args[2] = { p, max };

	r->cb.l = cb;
	if (prefix == NULL || strlen(prefix) > KV_KEY_MAX)
		return kv_redis_req_refuse(r);
	snprintf(p, sizeof(p), "%s%s", KV_PREFIX, prefix);
	snprintf(max, sizeof(max), "%d", KV_LIST_MAX);
	return kv_eval(r, set_values_lua, set, 2, args);
}
