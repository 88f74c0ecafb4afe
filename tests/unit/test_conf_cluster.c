/*
 * test_conf_cluster — the `cluster` block (src/conf/conf_cluster.c):
 * every keyword read back, the defaults (timeout 250ms, node = the host
 * name), the comparison posternd uses on reload, and each error naming
 * its line.  Run from tests/unit (the Makefile does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define NAME	"t.conf"

static struct conf *
load(const char *text)
{
	struct conf *c = NULL;
	char err[CONF_ERR_MAX] = "";

	if (conf_load_string(NAME, text, &c, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(c);
	return c;
}

static void
load_err(const char *text, const char *want)
{
	struct conf *c = NULL;
	char err[CONF_ERR_MAX] = "";

	assert_int_equal(conf_load_string(NAME, text, &c, err, sizeof(err)),
	    -1);
	assert_null(c);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void
test_full(void **state)
{
	struct conf *c;

	(void)state;
	c = load("hostname gw.example.org\n"
	    "cluster {\n"
	    "\tredis unix:/run/redis/redis.sock\n"
	    "\tpassword-file /etc/postern/redis.secret\n"
	    "\tnode gw1\n"
	    "\ttimeout 1s\n"
	    "}\n");
	assert_non_null(c->cluster);
	assert_int_equal(c->cluster->line, 2);
	assert_string_equal(c->cluster->redis, "unix:/run/redis/redis.sock");
	assert_string_equal(c->cluster->password_file,
	    "/etc/postern/redis.secret");
	assert_string_equal(c->cluster->node, "gw1");
	assert_int_equal(c->cluster->timeout_ms, 1000);
	conf_unref(c);
}

static void
test_defaults(void **state)
{
	struct conf *c;

	(void)state;
	c = load("hostname gw7.example.org\ncluster {\n\tredis 127.0.0.1:6379\n}\n");
	assert_string_equal(c->cluster->redis, "127.0.0.1:6379");
	assert_null(c->cluster->password_file);
	assert_string_equal(c->cluster->node, "gw7.example.org");
	assert_int_equal(c->cluster->timeout_ms, 250);
	conf_unref(c);
	c = load("cluster {\n\tredis [::1]:6380\n\ttimeout 40ms\n}\n");
	assert_int_equal(c->cluster->timeout_ms, 40);
	assert_non_null(c->cluster->node);
	conf_unref(c);
	c = load("hostname gw.example.org\n");
	assert_null(c->cluster);
	conf_unref(c);
}

static void
test_equal(void **state)
{
	struct conf *a, *b, *d;

	(void)state;
	a = load("cluster {\n\tredis 127.0.0.1:6379\n\tnode a\n}\n");
	b = load("# same\ncluster {\n\tnode a\n\tredis 127.0.0.1:6379\n}\n");
	d = load("cluster {\n\tredis 127.0.0.1:6379\n\tnode b\n}\n");
	assert_true(conf_cluster_equal(a->cluster, b->cluster));
	assert_false(conf_cluster_equal(a->cluster, d->cluster));
	assert_false(conf_cluster_equal(a->cluster, NULL));
	assert_true(conf_cluster_equal(NULL, NULL));
	conf_unref(a);
	conf_unref(b);
	conf_unref(d);
}

static void
test_errors(void **state)
{
	(void)state;
	load_err("cluster {\n\tnode gw1\n}\n",
	    "t.conf:1: cluster needs a \"redis\" address");
	load_err("cluster {\n\tredis localhost:6379\n}\n",
	    "t.conf:2: bad redis address \"localhost:6379\"");
	load_err("cluster {\n\tredis redis.example.org\n}\n",
	    "t.conf:2: bad redis address");
	load_err("cluster {\n\tredis 127.0.0.1\n}\n",
	    "t.conf:2: bad redis address");
	load_err("cluster {\n\tredis unix:relative.sock\n}\n",
	    "t.conf:2: bad redis address");
	load_err("cluster {\n\tredis ::1:6379\n}\n",
	    "t.conf:2: bad redis address");
	load_err("cluster {\n\tredis 127.0.0.1:6379\n\tport 6379\n}\n",
	    "t.conf:3:");
	load_err("cluster {\n\tredis 127.0.0.1:6379\n\tnode gw/1\n}\n",
	    "t.conf:3: bad node name");
	load_err("cluster {\n\tredis 127.0.0.1:6379\n\ttimeout 2ms\n}\n",
	    "t.conf:3: \"timeout\" must be between");
	load_err("cluster {\n\tredis 127.0.0.1:6379\n\ttimeout soon\n}\n",
	    "t.conf:3: bad duration");
	load_err("cluster {\n\tredis 127.0.0.1:6379\n}\n"
	    "cluster {\n\tredis 127.0.0.1:6379\n}\n", "t.conf:4:");
	load_err("cluster {\n\tredis 127.0.0.1:6379\n\tredis 127.0.0.2:6379\n"
	    "}\n", "t.conf:3:");
	load_err("cluster gw1 {\n\tredis 127.0.0.1:6379\n}\n", "t.conf:1:");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
