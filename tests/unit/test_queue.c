/*
 * test_queue — the spool: ids, the file format (encode, decode, the strict
 * reader), queue_init and queue_scan.  The writer threads are
 * test_queue_writer.c.  Everything happens in a mkdtemp() directory that
 * is removed at the end (spool_fixture.h).
 */
#include "spool_fixture.h"

/* ---- ids ---- */

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, QUEUE_ID_LEN + 1);
}

static void
test_ids(void **state)
{
	enum { N = 100000 };
	char (*ids)[QUEUE_ID_LEN + 1];
	int i, disorder = 0;

	(void)state;
	ids = xcalloc(N, sizeof(*ids));
	for (i = 0; i < N; i++) {
		queue_id_new(ids[i]);
		assert_int_equal(strlen(ids[i]), QUEUE_ID_LEN);
		assert_true(queue_id_valid(ids[i]));
		if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
			disorder++;
	}
	/* Sortable by time; a clock step backwards is not our bug. */
	assert_true(disorder < 3);
	qsort(ids, N, sizeof(*ids), id_cmp);
	for (i = 1; i < N; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) != 0);
	free(ids);

	assert_false(queue_id_valid(NULL));
	assert_false(queue_id_valid(""));
	assert_false(queue_id_valid("0123456789abcdefghi"));	/* 19 */
	assert_false(queue_id_valid("0123456789abcdefghijk"));	/* 21 */
	assert_false(queue_id_valid("0123456789abcdefghi/"));
	assert_false(queue_id_valid("0123456789abcdefghi."));
	assert_false(queue_id_valid("0123456789abcdefgh\xc3\xa9"));
	assert_true(queue_id_valid("0123456789abcdefghiZ"));
}

/* ---- the format ---- */

static void
test_roundtrip(void **state)
{
	struct queue_envelope *env, *back;
	char addr[64], err[256], *text;
	size_t len, envlen, i;

	(void)state;
	env = xcalloc(1, sizeof(*env));
	queue_id_new(env->id);
	env->received = 1712345678;
	env->vserver = xstrdup("in ter\r\nnet");
	env->client_addr = xstrdup("2001:db8::1");
	env->helo = xstrdup("100% [weird] helo\t\x01\x7f end");
	env->sender = xstrdup("");			/* null sender */
	env->smtputf8 = 1;
	env->body_8bit = 1;
	env->ret = SMTP_RET_HDRS;
	env->envid = xstrdup("QQ+2Bxyz%");
	env->auth_user = xstrdup("j\xc3\xb6rg admin");
	env->size = 12345;
	queue_envelope_add_rcpt(env, "j\xc3\xb6rg@b\xc3\xbc" "cher.example",
	    "utf-8;j\\x{00F6}rg@b\\x{00FC}cher.example",
	    SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE);
	queue_envelope_add_rcpt(env, "\"a b\"@example.org", "-", 0);
	queue_envelope_add_rcpt(env, "c@example.org", "", SMTP_NOTIFY_NEVER);
	for (i = 0; i < 500; i++) {
		snprintf(addr, sizeof(addr), "user%zu@example.com", i);
		queue_envelope_add_rcpt(env, addr, i % 2 ? "rfc822;x y" : NULL,
		    (unsigned)(i % 16));
	}

	text = queue_envelope_encode(env, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	/* The bytes the Python tests rely on. */
	assert_non_null(strstr(text, "postern-queue 2\nid "));
	assert_non_null(strstr(text, "\nvserver in%20ter%0D%0Anet\n"));
	assert_non_null(strstr(text,
	    "\nhelo 100%25%20[weird]%20helo%09%01%7F%20end\n"));
	assert_non_null(strstr(text, "\nsender \n"));
	assert_non_null(strstr(text, "\nret hdrs\n"));
	assert_non_null(strstr(text, "\nauth j\xc3\xb6rg%20admin\n"));
	assert_non_null(strstr(text, "\nrcpt \"a%20b\"@example.org 0 %2D\n"));
	assert_non_null(strstr(text, "\nrcpt c@example.org 1 -\n"));
	assert_non_null(strstr(text, "\nsize 12345\n\n"));
	assert_null(memchr(text, '\r', len));

	back = queue_envelope_decode(text, len, &envlen, err, sizeof(err));
	if (back == NULL)
		fail_msg("decode: %s", err);
	assert_int_equal(envlen, len);
	assert_string_equal(back->id, env->id);
	assert_int_equal(back->received, env->received);
	assert_string_equal(back->vserver, env->vserver);
	assert_string_equal(back->client_addr, env->client_addr);
	assert_string_equal(back->helo, env->helo);
	assert_string_equal(back->sender, "");
	assert_int_equal(back->smtputf8, 1);
	assert_int_equal(back->body_8bit, 1);
	assert_int_equal(back->ret, SMTP_RET_HDRS);
	assert_string_equal(back->envid, env->envid);
	assert_string_equal(back->auth_user, env->auth_user);
	assert_int_equal(back->size, 12345);
	assert_int_equal(back->nrcpts, env->nrcpts);
	for (i = 0; i < env->nrcpts; i++) {
		assert_string_equal(back->rcpts[i].addr, env->rcpts[i].addr);
		assert_int_equal(back->rcpts[i].notify, env->rcpts[i].notify);
		if (env->rcpts[i].orcpt == NULL || env->rcpts[i].orcpt[0] == 0)
			assert_null(back->rcpts[i].orcpt);
		else
			assert_string_equal(back->rcpts[i].orcpt,
			    env->rcpts[i].orcpt);
	}
	queue_envelope_free(back);

	/* Optional records stay absent; every other field at its zero. */
	free(env->envid);
	free(env->auth_user);
	env->envid = env->auth_user = NULL;
	env->smtputf8 = env->body_8bit = 0;
	env->ret = SMTP_RET_FULL;
	free(text);
	text = queue_envelope_encode(env, &len);
	assert_null(strstr(text, "\nenvid "));
	assert_null(strstr(text, "\nauth "));
	assert_non_null(strstr(text, "\nsmtputf8 0\nbody 7bit\nret full\n"));
	back = queue_envelope_decode(text, len, NULL, err, sizeof(err));
	assert_non_null(back);
	assert_null(back->envid);
	assert_null(back->auth_user);
	assert_int_equal(back->ret, SMTP_RET_FULL);
	queue_envelope_free(back);
	free(text);

	/* What the reader would refuse, the writer refuses to write. */
	env->ret = 7;
	assert_null(queue_envelope_encode(env, &len));
	assert_int_equal(errno, EINVAL);
	env->ret = SMTP_RET_NONE;
	env->id[3] = '/';
	assert_null(queue_envelope_encode(env, &len));
	queue_envelope_free(env);
	env = simple_env("a@b");
	free(env->rcpts[0].addr);
	free(env->rcpts);
	env->rcpts = NULL;
	env->nrcpts = 0;
	assert_null(queue_envelope_encode(env, &len));
	assert_int_equal(errno, EINVAL);
	queue_envelope_free(env);
}

#define GOOD_HEAD "postern-queue 2\nid 0123456789ABCDEFGHIJ\n" \
	"received 1700000000\nvserver v\nclient 10.0.0.1\nhelo h\nsender \n" \
	"smtputf8 0\nbody 7bit\nret none\n"
#define GOOD_RCPT "rcpt a@b 0 -\n"

static void
test_decode_rejects(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;	/* substring of the message */
	} cases[] = {
		{ GOOD_HEAD GOOD_RCPT "size 0\n\n", NULL },
		{ "postern-queue 1\n", "version" },
		{ "postern-queue 2 \n", "version" },
		{ "From: x\n\n", "not a postern queue file" },
		{ "", "truncated" },
		{ GOOD_HEAD GOOD_RCPT "size 0\n", "truncated" },
		{ GOOD_HEAD GOOD_RCPT "size 0\nfoo bar\n\n", "unknown record" },
		{ GOOD_HEAD GOOD_RCPT "size 0\nsize 0\n\n", "duplicate" },
		{ GOOD_HEAD GOOD_RCPT "\n", "missing record \"size\"" },
		{ GOOD_HEAD "size 0\n\n", "missing record \"rcpt\"" },
		{ "postern-queue 2\nid 0123456789ABCDEFGHIJ\n\n",
		    "missing record \"received\"" },
		{ GOOD_HEAD GOOD_RCPT "size 0\nnospace\n\n", "malformed" },
		{ GOOD_HEAD GOOD_RCPT "size -1\n\n", "bad value" },
		{ GOOD_HEAD GOOD_RCPT "size 01\n\n", "bad value" },
		{ GOOD_HEAD GOOD_RCPT "size 99999999999999999999\n\n",
		    "bad value" },
		{ GOOD_HEAD GOOD_RCPT "size 1 \n\n", "bad value" },
		{ GOOD_HEAD "rcpt a@b 16 -\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD "rcpt a@b 0\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD "rcpt  0 -\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD "rcpt a@b 0 - x\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD "rcpt a@b 0 \nsize 0\n\n", "bad value" },
		{ GOOD_HEAD "rcpt a%00b 0 -\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD "rcpt a%4 0 -\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD "rcpt a%zz 0 -\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD "rcpt a\tb 0 -\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD GOOD_RCPT "envid a\rb\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD GOOD_RCPT "auth a b\nsize 0\n\n", "bad value" },
		{ GOOD_HEAD GOOD_RCPT "ret full\nsize 0\n\n", "duplicate" },
		{ GOOD_HEAD GOOD_RCPT "received 5\nsize 0\n\n", "duplicate" },
		{ GOOD_HEAD GOOD_RCPT "id 0123456789ABCDEFGHIJ\nsize 0\n\n",
		    "duplicate" },
		{ "postern-queue 2\nid 0123456789ABCDEFGHI/\n\n", "bad value" },
		{ "postern-queue 2\nid short\n\n", "bad value" },
		{ "postern-queue 2\nid 0123456789ABCDEFGHIJ\nsmtputf8 2\n\n",
		    "bad value" },
		{ "postern-queue 2\nid 0123456789ABCDEFGHIJ\nbody 8bit\n\n",
		    "bad value" },
		{ "postern-queue 2\nid 0123456789ABCDEFGHIJ\nret NONE\n\n",
		    "bad value" },
		{ "postern-queue 2\nid 0123456789ABCDEFGHIJ\n"
		    "received -5\n\n", "bad value" },
		{ "postern-queue 2\n\x01\x02 x\n\n", "unknown record\0" },
		{ "postern-queue 2\n x\n\n", "malformed" },
	};
	struct queue_envelope *env;
	char err[256], *copy;
	size_t i, len, envlen;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* An exact-size heap copy: ASan sees any over-read. */
		len = strlen(cases[i].text);
		copy = xmalloc(len ? len : 1);
		memcpy(copy, cases[i].text, len);
		err[0] = '\0';
		env = queue_envelope_decode(copy, len, &envlen, err,
		    sizeof(err));
		if (cases[i].err == NULL) {
			if (env == NULL)
				fail_msg("case %zu: %s", i, err);
			assert_int_equal(envlen, len);
			queue_envelope_free(env);
		} else {
			if (env != NULL)
				fail_msg("case %zu accepted", i);
			if (strstr(err, cases[i].err) == NULL)
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
				    err, cases[i].err);
		}
		free(copy);
	}

	/* An envelope past QUEUE_ENVELOPE_MAX, without its blank line. */
	len = QUEUE_ENVELOPE_MAX + 10;
	copy = xmalloc(len);
	memset(copy, 'x', len);
	memcpy(copy, "postern-queue 2\nhelo ", 21);
	assert_null(queue_envelope_decode(copy, len, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "longer than"));
	free(copy);
}

/* ---- start-up: queue_init and queue_scan ---- */

static void
test_init_purges(void **state)
{
	char *spool = tmp_spool(), *sub, *p, err[256];
	struct stat st;

	(void)state;
	/* A spool that does not exist yet is made, with mode 0700. */
	sub = xasprintf("%s/spool", spool);
	assert_int_equal(queue_init(sub, err, sizeof(err)), 0);
	p = xasprintf("%s/queue", sub);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	free(p);

	p = path_of(sub, "incoming", "0123456789ABCDEFGHIJ");
	write_file(p, "half a message", 14);
	free(p);
	p = path_of(sub, "incoming", ".hidden");
	write_file(p, "x", 1);
	free(p);
	p = path_of(sub, "queue", "0123456789ABCDEFGHIJ");
	write_file(p, "kept", 4);
	free(p);
	assert_int_equal(count_files(sub, "incoming"), 2);
	assert_int_equal(queue_init(sub, err, sizeof(err)), 0);
	assert_int_equal(count_files(sub, "incoming"), 0);
	assert_int_equal(count_files(sub, "queue"), 1);	/* untouched */

	/* A file where a directory should be is an error with a message. */
	p = xasprintf("%s/corrupt", sub);
	assert_int_equal(rmdir(p), 0);
	write_file(p, "", 0);
	assert_int_equal(queue_init(sub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "corrupt"));
	free(p);
	free(sub);
	rm_rf(spool);
	free(spool);
}

static int
put_bad(const char *spool, const char *data, size_t len, const char *why)
{
	struct queue_envelope *env;
	char id[QUEUE_ID_LEN + 1], err[256], *p;

	queue_id_new(id);
	p = path_of(spool, "queue", id);
	write_file(p, data, len);
	env = queue_read_envelope(p, NULL, err, sizeof(err));
	if (env != NULL)
		fail_msg("accepted: %s", why);
	free(p);
	return 1;
}

static void
test_corrupt_files(void **state)
{
	struct queue_envelope *env, *bad;
	struct scan_ctx sc = { 0, "" };
	const char body[] = "Subject: hi\r\n\r\nhello END\n\r\n";
	char *spool = tmp_spool(), *file, *p, *mod, err[256], why[64];
	uint64_t off;
	size_t len, envlen, i;
	int nbad = 0;

	(void)state;
	assert_int_equal(queue_init(spool, err, sizeof(err)), 0);
	env = simple_env("bob@example.org");
	file = make_file(env, body, sizeof(body) - 1, &len, &envlen);

	/* The valid one. */
	p = path_of(spool, "queue", env->id);
	write_file(p, file, len);
	bad = queue_read_envelope(p, &off, err, sizeof(err));
	if (bad == NULL)
		fail_msg("valid file refused: %s", err);
	assert_int_equal(off, 0);
	assert_int_equal(bad->size, sizeof(body) - 1);
	queue_envelope_free(bad);
	free(p);
	(void)envlen;

	/* Cut at every length. */
	for (i = 0; i < len; i++) {
		snprintf(why, sizeof(why), "truncated at %zu", i);
		nbad += put_bad(spool, file, i, why);
	}
	/* Damaged trailers and wrong sizes. */
	mod = xmalloc(len + 64);
	memcpy(mod, file, len);
	mod[len - 1] = '\r';
	nbad += put_bad(spool, mod, len, "END\\r");
	memcpy(mod, file, len);
	mod[len - QUEUE_TRAILER_LEN] = 'e';
	nbad += put_bad(spool, mod, len, "end");
	memcpy(mod, file, len);
	mod[len - 2] = 'X';
	nbad += put_bad(spool, mod, len, "offset not hex");
	memcpy(mod, file, len);
	mod[len - 2] = mod[len - 2] == '0' ? '1' : '0';
	nbad += put_bad(spool, mod, len, "offset off by one");
	memcpy(mod, file, len);
	memcpy(mod + len, "x", 1);
	nbad += put_bad(spool, mod, len + 1, "extra byte");
	memcpy(mod + len, file + len - QUEUE_TRAILER_LEN, QUEUE_TRAILER_LEN);
	nbad += put_bad(spool, mod, len + QUEUE_TRAILER_LEN, "two trailers");
	nbad += put_bad(spool, file, len - QUEUE_TRAILER_LEN, "no trailer");
	memcpy(mod, "x", 1);
	memcpy(mod + 1, file, len);
	nbad += put_bad(spool, mod, len + 1, "a byte before");
	free(mod);
	for (i = 0; i < 3; i++) {
		uint64_t sizes[] = { sizeof(body) - 2, sizeof(body),
		    sizeof(body) + 3 };
		char *f2;
		size_t f2len;

		/* Same file, size record off by a little. */
		f2 = make_file_sized(env, sizes[i], body, sizeof(body) - 1,
		    &f2len, NULL);
		snprintf(why, sizeof(why), "size %llu",
		    (unsigned long long)sizes[i]);
		nbad += put_bad(spool, f2, f2len, why);
		free(f2);
	}
	/* A valid file under another name: only queue_scan can tell. */
	queue_id_new(why);
	p = path_of(spool, "queue", why);
	write_file(p, file, len);
	free(p);
	nbad++;
	/* Not a file at all. */
	p = path_of(spool, "queue", "0123456789abcdefghij");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_null(queue_read_envelope(p, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "regular"));
	free(p);
	nbad++;
	/* Dotfiles are not ours to judge. */
	p = path_of(spool, "queue", ".editor-swap");
	write_file(p, "junk", 4);
	free(p);

	assert_int_equal(queue_scan(spool, scan_cb, &sc), 1);
	assert_int_equal(sc.n, 1);
	assert_string_equal(sc.id, env->id);
	assert_int_equal(count_files(spool, "corrupt"), nbad);
	assert_int_equal(count_files(spool, "queue"), 2);

	/* A second scan moves nothing more, and a name already in
	 * corrupt/ does not overwrite the earlier file there. */
	p = path_of(spool, "queue", "0123456789abcdefghij");
	write_file(p, "again", 5);
	free(p);
	sc.n = 0;
	assert_int_equal(queue_scan(spool, scan_cb, &sc), 1);
	assert_int_equal(count_files(spool, "corrupt"), nbad + 1);

	queue_envelope_free(env);
	free(file);
	rm_rf(spool);
	free(spool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_init_purges),
		cmocka_unit_test(test_corrupt_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
