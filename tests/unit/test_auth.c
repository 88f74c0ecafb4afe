/*
 * auth: strict base64, the SASL PLAIN and LOGIN decoders (tables), the
 * auth file (good and bad files, with their messages), password checks
 * against yescrypt and SHA-512 crypt hashes made here with libcrypt, the
 * failure guard over an explicit clock (with refunds), and the off-loop
 * verifier (the delay before a failure, cancellation, freeing with checks
 * in flight, the bounds of its queue in all and per client).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crypt.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "auth.h"
#include "postern_limits.h"

/* ---- base64 ---- */

static void
t_base64(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;	/* NULL: refused */
		long		 len;
	} cases[] = {
		{ "", "", 0 },
		{ "Zg==", "f", 1 },
		{ "Zm8=", "fo", 2 },
		{ "Zm9v", "foo", 3 },
		{ "Zm9vYg==", "foob", 4 },
		{ "AGEAYg==", "\0a\0b", 4 },
		{ "Zg=", NULL, 0 },		/* length */
		{ "Z===", NULL, 0 },		/* three pads */
		{ "Zg==Zg==", NULL, 0 },	/* pad inside */
		{ "Zh==", NULL, 0 },		/* non-zero unused bits */
		{ "Zm9=", NULL, 0 },		/* likewise */
		{ "Zm9v\n", NULL, 0 },
		{ "Zm 9", NULL, 0 },
		{ "Zm9*", NULL, 0 },
		{ "=Zm9", NULL, 0 },
	};
	unsigned char out[64];
	char enc[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long n = auth_base64_decode(cases[i].in, strlen(cases[i].in),
		    out, sizeof(out));

		if (cases[i].out == NULL) {
			assert_int_equal(n, -1);
			continue;
		}
		assert_int_equal(n, cases[i].len);
		assert_memory_equal(out, cases[i].out, (size_t)n);
		assert_int_equal(auth_base64_encode(out, (size_t)n, enc,
		    sizeof(enc)), strlen(cases[i].in));
		assert_string_equal(enc, cases[i].in);
	}
	/* output too small */
	assert_int_equal(auth_base64_decode("Zm9vYg==", 8, out, 3), -1);
	assert_int_equal(auth_base64_encode((const unsigned char *)"foo", 3,
	    enc, 4), -1);
}

/* ---- SASL ---- */

static void
b64(const char *raw, size_t len, char *out, size_t outlen)
{
	assert_true(auth_base64_encode((const unsigned char *)raw, len, out,
	    outlen) >= 0);
}

static void
t_plain(void **state)
{
	static const struct {
		const char		*raw;
		size_t			 len;
		enum auth_sasl_status	 st;
		const char		*user, *pass;
	} cases[] = {
		{ "\0ericm\0secret", 13, AUTH_SASL_OK, "ericm", "secret" },
		{ "ericm\0ericm\0secret", 18, AUTH_SASL_OK, "ericm", "secret" },
		{ "\0ericm\0pass word", 16, AUTH_SASL_OK, "ericm", "pass word" },
		{ "kimy\0ericm\0secret", 17, AUTH_SASL_BAD_FORMAT, "", "" },
		{ "ericmx\0ericm\0secret", 19, AUTH_SASL_BAD_FORMAT, "", "" },
		{ "\0\0secret", 8, AUTH_SASL_BAD_FORMAT, "", "" },
		{ "\0ericm\0", 7, AUTH_SASL_BAD_FORMAT, "", "" },
		{ "ericm secret", 12, AUTH_SASL_BAD_FORMAT, "", "" },
		{ "\0ericm", 6, AUTH_SASL_BAD_FORMAT, "", "" },
		{ "\0ericm\0sec\0ret", 14, AUTH_SASL_BAD_FORMAT, "", "" },
	};
	char user[AUTH_USER_MAX + 1], pass[AUTH_PASS_MAX + 1], enc[2048];
	char raw[600];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b64(cases[i].raw, cases[i].len, enc, sizeof(enc));
		assert_int_equal(auth_sasl_plain(enc, strlen(enc), user, pass),
		    cases[i].st);
		assert_string_equal(user, cases[i].user);
		assert_string_equal(pass, cases[i].pass);
	}
	assert_int_equal(auth_sasl_plain("*", 1, user, pass),
	    AUTH_SASL_CANCEL);
	assert_int_equal(auth_sasl_plain("=", 1, user, pass),
	    AUTH_SASL_BAD_FORMAT);
	assert_int_equal(auth_sasl_plain("AGE", 3, user, pass),
	    AUTH_SASL_BAD_BASE64);
	/* a user name one octet too long */
	memset(raw, 'u', sizeof(raw));
	raw[0] = '\0';
	raw[AUTH_USER_MAX + 2] = '\0';
	memcpy(raw + AUTH_USER_MAX + 3, "pw", 2);
	b64(raw, AUTH_USER_MAX + 5, enc, sizeof(enc));
	assert_int_equal(auth_sasl_plain(enc, strlen(enc), user, pass),
	    AUTH_SASL_BAD_FORMAT);
	/* the longest that fits */
	raw[AUTH_USER_MAX + 1] = '\0';
	memcpy(raw + AUTH_USER_MAX + 2, "pw", 2);
	b64(raw, AUTH_USER_MAX + 4, enc, sizeof(enc));
	assert_int_equal(auth_sasl_plain(enc, strlen(enc), user, pass),
	    AUTH_SASL_OK);
	assert_int_equal(strlen(user), AUTH_USER_MAX);
	assert_string_equal(pass, "pw");
	/* far too long to be anything */
	memset(enc, 'A', sizeof(enc));
	assert_int_equal(auth_sasl_plain(enc, sizeof(enc), user, pass),
	    AUTH_SASL_BAD_FORMAT);
}

static void
t_login(void **state)
{
	char out[AUTH_USER_MAX + 1], enc[64];

	(void)state;
	b64("ericm", 5, enc, sizeof(enc));
	assert_int_equal(auth_sasl_login(enc, strlen(enc), out, AUTH_USER_MAX),
	    AUTH_SASL_OK);
	assert_string_equal(out, "ericm");
	assert_int_equal(auth_sasl_login("", 0, out, AUTH_USER_MAX),
	    AUTH_SASL_BAD_FORMAT);		/* empty */
	b64("a\0b", 3, enc, sizeof(enc));
	assert_int_equal(auth_sasl_login(enc, strlen(enc), out, AUTH_USER_MAX),
	    AUTH_SASL_BAD_FORMAT);		/* NUL */
	b64("abcdef", 6, enc, sizeof(enc));
	assert_int_equal(auth_sasl_login(enc, strlen(enc), out, 5),
	    AUTH_SASL_BAD_FORMAT);		/* longer than max */
	assert_int_equal(auth_sasl_login("*", 1, out, AUTH_USER_MAX),
	    AUTH_SASL_CANCEL);
	assert_int_equal(auth_sasl_login("ZX=", 3, out, AUTH_USER_MAX),
	    AUTH_SASL_BAD_BASE64);
}

static void
t_log_name(void **state)
{
	char out[8];

	(void)state;
	auth_log_name("a\"b c\x01", out, sizeof(out));
	assert_string_equal(out, "a?b?c?");
	auth_log_name("abcdefghij", out, sizeof(out));
	assert_string_equal(out, "abcdefg");
}

/* ---- the file and the checks ---- */

static char *
make_hash(const char *prefix, const char *pw)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	char *h;

	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, setting,
	    sizeof(setting)));
	h = crypt_r(pw, setting, &cd);
	assert_non_null(h);
	assert_true(h[0] == '$');
	return strdup(h);
}

static void
t_file(void **state)
{
	char *y = make_hash("$y$", "yes-pw"), *s6 = make_hash("$6$", "sha-pw");
	char text[1024], err[256];
	struct auth_db *db;

	(void)state;
	snprintf(text, sizeof(text), "# users\r\n\r\nericm:%s\r\n"
	    "kimy:%s   \n  # indented comment\n", y, s6);
	assert_int_equal(auth_db_parse("auth", text, strlen(text), &db, err,
	    sizeof(err)), 0);
	assert_int_equal(auth_db_count(db), 2);
	assert_true(auth_db_check(db, "ericm", "yes-pw"));
	assert_false(auth_db_check(db, "ericm", "sha-pw"));
	assert_false(auth_db_check(db, "ericm", ""));
	assert_true(auth_db_check(db, "kimy", "sha-pw"));
	assert_false(auth_db_check(db, "KimY", "sha-pw"));	/* exact */
	assert_false(auth_db_check(db, "nobody", "sha-pw"));
	assert_false(auth_db_check(db, "", ""));
	auth_db_unref(db);
	free(y);
	free(s6);
}

static void
t_file_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;
	} cases[] = {
		{ "ericm\n", "f:1: expected user:hash" },
		{ "\n:$6$s$h\n", "f:2: expected user:hash" },
		{ "ericm:secret\n", "f:1: user \"ericm\": not a yescrypt ($y$) "
		  "or SHA-512 crypt ($6$) hash" },
		{ "ericm:$1$salt$md5hash\n", "f:1: user \"ericm\": not a "
		  "yescrypt ($y$) or SHA-512 crypt ($6$) hash" },
		{ "ericm:$6$\n", "f:1: user \"ericm\": not a yescrypt ($y$) or "
		  "SHA-512 crypt ($6$) hash" },
		{ "ericm:$6$salt$h a\n", "f:1: user \"ericm\": not a yescrypt "
		  "($y$) or SHA-512 crypt ($6$) hash" },
		{ "a:$6$s$h\nb:$6$s$h\na:$6$t$h\n", "f:3: user \"a\" given "
		  "twice" },
	};
	char err[256];
	struct auth_db *db = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(auth_db_parse("f", cases[i].text,
		    strlen(cases[i].text), &db, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
	}
	assert_int_equal(auth_db_parse("f", "a:$6$s$h\0\n", 10, &db, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "f:1: NUL byte in line");
	assert_int_equal(auth_db_load("/nonexistent/auth", &db, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/auth: No such file or "
	    "directory");
	/* an empty file is a file without users: nobody gets in */
	assert_int_equal(auth_db_parse("f", "", 0, &db, err, sizeof(err)), 0);
	assert_false(auth_db_check(db, "ericm", "x"));
	auth_db_unref(db);
}

/* ---- the guard ---- */

static void
t_guard(void **state)
{
	struct auth_guard *g = auth_guard_new();

	(void)state;
	assert_int_equal(auth_guard_failures(g, "a", 100), 0);
	assert_int_equal(auth_guard_fail(g, "a", 100), 1);
	assert_int_equal(auth_guard_fail(g, "a", 200), 2);
	assert_int_equal(auth_guard_fail(g, "b", 200), 1);
	assert_int_equal(auth_guard_failures(g, "a", 100 + 3599), 2);
	/* an hour after the first failure the count starts over */
	assert_int_equal(auth_guard_failures(g, "a", 100 + 3600), 0);
	assert_int_equal(auth_guard_fail(g, "a", 100 + 3600), 1);
	assert_int_equal(auth_guard_failures(g, "b", 250), 1);
	auth_guard_free(g);
}

static void
t_guard_many_keys(void **state)
{
	struct auth_guard *g = auth_guard_new();
	char key[32];

	(void)state;
	for (int i = 0; i < AUTH_GUARD_KEYS_MAX; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		auth_guard_fail(g, key, i < 10 ? 0 : 5000);
	}
	/* full: the expired ten make room, the others are kept */
	assert_int_equal(auth_guard_fail(g, "new", 5000), 1);
	assert_int_equal(auth_guard_failures(g, "k20", 5000), 1);
	assert_int_equal(auth_guard_failures(g, "k5", 5000), 0);
	auth_guard_free(g);
}

static void
t_guard_refund(void **state)
{
	struct auth_guard *g = auth_guard_new();

	(void)state;
	/* an attempt counted when it starts, taken back when it succeeds */
	assert_int_equal(auth_guard_fail(g, "a", 100), 1);
	assert_int_equal(auth_guard_fail(g, "a", 110), 2);
	assert_int_equal(auth_guard_refund(g, "a", 110, 111), 1);
	assert_int_equal(auth_guard_failures(g, "a", 112), 1);
	assert_int_equal(auth_guard_refund(g, "a", 100, 112), 0);
	assert_int_equal(auth_guard_failures(g, "a", 112), 0);
	/* nothing counted: nothing to take back, never below zero */
	assert_int_equal(auth_guard_refund(g, "a", 100, 113), 0);
	assert_int_equal(auth_guard_refund(g, "none", 100, 113), 0);
	assert_int_equal(auth_guard_fail(g, "a", 200), 1);
	assert_int_equal(auth_guard_fail(g, "a", 200 + 3599), 2);
	/* counted in a window that is over: the new window keeps its own */
	assert_int_equal(auth_guard_fail(g, "a", 200 + 3600), 1);
	assert_int_equal(auth_guard_refund(g, "a", 200 + 3599, 200 + 3601), 1);
	assert_int_equal(auth_guard_failures(g, "a", 200 + 3601), 1);
	assert_int_equal(auth_guard_refund(g, "a", 200 + 3600, 200 + 3601), 0);
	auth_guard_free(g);
}

/* ---- the verifier ---- */

struct vres {
	int		 called;
	int		 ok;
	struct timeval	 at;
};

static void
vdone(void *arg, int ok)
{
	struct vres *r = arg;

	r->called++;
	r->ok = ok;
	gettimeofday(&r->at, NULL);
}

static double
since(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_usec - a->tv_usec) / 1e6;
}

static void
t_verifier(void **state)
{
	char *h = make_hash("$6$", "pw"), text[256], err[128];
	struct vres good = { 0 }, bad = { 0 }, gone = { 0 }, late = { 0 };
	struct event_base *base;
	struct auth_verifier *v;
	struct auth_req *r;
	struct auth_db *db;
	struct timeval t0, stop = { 3, 0 };

	(void)state;
	evthread_use_pthreads();
	base = event_base_new();
	snprintf(text, sizeof(text), "ericm:%s\n", h);
	assert_int_equal(auth_db_parse("f", text, strlen(text), &db, err,
	    sizeof(err)), 0);
	v = auth_verifier_new(base);
	gettimeofday(&t0, NULL);
	auth_verify(v, db, "c", "ericm", "pw", vdone, &good);
	auth_verify(v, db, "c", "ericm", "nope", vdone, &bad);
	r = auth_verify(v, db, "c", "ericm", "pw", vdone, &gone);
	auth_verify_cancel(r);			/* still in the thread */
	auth_db_unref(db);			/* the requests hold it */
	assert_int_equal(good.called, 0);	/* never before return */
	event_base_loopexit(base, &stop);
	event_base_dispatch(base);
	assert_int_equal(good.called, 1);
	assert_true(good.ok);
	assert_true(since(&t0, &good.at) < 0.9);
	assert_int_equal(bad.called, 1);
	assert_false(bad.ok);
	assert_true(since(&t0, &bad.at) >= AUTH_FAILURE_DELAY_MS / 1000.0 -
	    0.01);
	assert_int_equal(gone.called, 0);
	/* freed with a check in flight: no callback, nothing leaks */
	assert_int_equal(auth_db_parse("f", text, strlen(text), &db, err,
	    sizeof(err)), 0);
	auth_verify(v, db, "c", "ericm", "nope", vdone, &late);
	auth_db_unref(db);
	auth_verifier_free(v);
	assert_int_equal(late.called, 0);
	event_base_free(base);
	free(h);
}

struct vcount {
	int			 called;
	int			 want;
	struct event_base	*base;
};

static void
vcount_done(void *arg, int ok)
{
	struct vcount *c = arg;

	assert_true(ok);
	if (++c->called == c->want)
		event_base_loopbreak(c->base);
}

static void
t_verifier_bounds(void **state)
{
	char *h, text[256], err[128], client[32];
	struct vcount cnt = { 0 };
	struct event_base *base;
	struct auth_verifier *v;
	struct auth_req *r;
	struct auth_db *db;
	struct timeval stop = { 60, 0 };	/* a safety net, not a test */
	struct crypt_data cd;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	int queued = 0;

	(void)state;
	/* the cheapest SHA-512 crypt: many checks, little time */
	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn("$6$", 1000, NULL, 0, setting,
	    sizeof(setting)));
	h = strdup(crypt_r("pw", setting, &cd));
	evthread_use_pthreads();
	base = event_base_new();
	snprintf(text, sizeof(text), "ericm:%s\n", h);
	assert_int_equal(auth_db_parse("f", text, strlen(text), &db, err,
	    sizeof(err)), 0);
	v = auth_verifier_new(base);
	/* One client: AUTH_VERIFY_CLIENT_MAX checks, then refused. */
	for (int i = 0; i < AUTH_VERIFY_CLIENT_MAX; i++, queued++)
		assert_non_null(r = auth_verify(v, db, "2001:db8::/64",
		    "ericm", "pw", vcount_done, &cnt));
	assert_null(auth_verify(v, db, "2001:db8::/64", "ericm", "pw",
	    vcount_done, &cnt));
	/* A cancelled check holds its place until its hash is done. */
	auth_verify_cancel(r);
	assert_int_equal(auth_verifier_client_pending(v, "2001:db8::/64"),
	    AUTH_VERIFY_CLIENT_MAX);
	assert_null(auth_verify(v, db, "2001:db8::/64", "ericm", "pw",
	    vcount_done, &cnt));
	/* Others fill the queue up to AUTH_VERIFY_QUEUE_MAX in all... */
	for (int i = 0; queued < AUTH_VERIFY_QUEUE_MAX; i++, queued++) {
		snprintf(client, sizeof(client), "192.0.2.%d", i);
		assert_non_null(auth_verify(v, db, client, "ericm", "pw",
		    vcount_done, &cnt));
	}
	assert_int_equal(auth_verifier_pending(v), AUTH_VERIFY_QUEUE_MAX);
	/* ...then even a client with nothing queued is refused. */
	assert_null(auth_verify(v, db, "198.51.100.1", "ericm", "pw",
	    vcount_done, &cnt));
	assert_int_equal(auth_verifier_client_pending(v, "198.51.100.1"), 0);
	/* Once the checks are done, there is room again. */
	cnt.want = queued - 1;		/* not the cancelled one */
	cnt.base = base;
	event_base_loopexit(base, &stop);
	event_base_dispatch(base);
	assert_int_equal(cnt.called, queued - 1);
	assert_int_equal(auth_verifier_pending(v), 0);
	assert_int_equal(auth_verifier_client_pending(v, "2001:db8::/64"), 0);
	r = auth_verify(v, db, "2001:db8::/64", "ericm", "pw", vcount_done,
	    &cnt);
	assert_non_null(r);
	auth_verify_cancel(r);
	auth_db_unref(db);
	auth_verifier_free(v);
	assert_int_equal(cnt.called, queued - 1); /* cancelled: never */
	event_base_free(base);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_base64),
		cmocka_unit_test(t_plain),
		cmocka_unit_test(t_login),
		cmocka_unit_test(t_log_name),
		cmocka_unit_test(t_file),
		cmocka_unit_test(t_file_errors),
		cmocka_unit_test(t_guard),
		cmocka_unit_test(t_guard_many_keys),
		cmocka_unit_test(t_guard_refund),
		cmocka_unit_test(t_verifier),
		cmocka_unit_test(t_verifier_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
