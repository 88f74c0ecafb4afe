/*
 * test_cluster_node — the node record and queue listing of
 * src/cluster/cluster_node.c: rendered from a summary and read back field
 * by field, the bounds of the listing (CLUSTER_QMSG_MAX messages,
 * CLUSTER_QRCPT_MAX recipients, KV_VALUE_MAX bytes, "truncated" and
 * "total"), the destinations kept, and records that are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_node.h"

struct fill {
	size_t	nmsgs, nrcpts, sender_len;
	size_t	ndests;
};

static void
fill(struct cluster_summary *s, void *arg)
{
	struct fill *f = arg;
	char id[32], dest[32], *sender;

	cluster_summary_queue(s, f->nmsgs, 1, 1765000000);
	for (size_t i = 0; i < f->ndests; i++) {
		snprintf(dest, sizeof(dest), "d%zu.example", i);
		cluster_summary_deferred(s, dest, i + 1);
	}
	sender = malloc(f->sender_len + 1);
	memset(sender, 's', f->sender_len);
	sender[f->sender_len] = '\0';
	for (size_t i = 0; i < f->nmsgs; i++) {
		snprintf(id, sizeof(id), "id%zu", i);
		if (cluster_summary_msg(s, id, 1765000000 + (int64_t)i, 100 + i,
		    sender, f->nrcpts) == -1)
			continue;
		for (size_t j = 0; j < f->nrcpts; j++)
			cluster_summary_rcpt(s, "rcpt@example.org",
			    j % 2 ? "deferred" : "pending");
	}
	free(sender);
}

struct seen {
	size_t	n;
	struct cluster_qmsg first;
};

static void
each(const struct cluster_qmsg *m, void *arg)
{
	struct seen *s = arg;

	if (s->n++ == 0)
		s->first = *m;
}

static void
test_round_trip(void **state)
{
	struct fill f = { .nmsgs = 3, .nrcpts = 2, .sender_len = 5,
	    .ndests = 2 };
	struct cluster_node_rec r;
	struct seen seen = { 0 };
	char *rec, *queue, node[CLUSTER_NAME_MAX + 1];
	uint64_t total;

	(void)state;
	cluster_node_render("gw1", 1764999000, fill, &f, &rec, &queue);
	assert_int_equal(cluster_node_parse(rec, strlen(rec), &r), 0);
	assert_string_equal(r.name, "gw1");
	assert_int_equal(r.up_since, 1764999000);
	assert_true(r.last_seen >= r.up_since);
	assert_int_equal(r.messages, 3);
	assert_int_equal(r.held, 1);
	assert_int_equal(r.oldest, 1765000000);
	assert_int_equal(r.ndests, 2);
	assert_string_equal(r.dests[1].name, "d1.example");
	assert_int_equal(r.dests[1].deferred, 2);
	assert_int_equal(cluster_queue_parse(queue, strlen(queue), node,
	    &total, each, &seen), 0);
	assert_string_equal(node, "gw1");
	assert_int_equal(total, 3);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.first.id, "id0");
	assert_string_equal(seen.first.sender, "sssss");
	assert_int_equal(seen.first.size, 100);
	assert_int_equal(seen.first.nrcpts, 2);
	assert_int_equal(seen.first.total_rcpts, 2);
	assert_string_equal(seen.first.rcpts[1].state, "deferred");
	assert_non_null(strstr(queue, "\"truncated\":false"));
	free(rec);
	free(queue);
}

static void
test_bounds(void **state)
{
	struct fill many = { .nmsgs = 5000, .nrcpts = 20, .sender_len = 5,
	    .ndests = 40 };
	struct fill big = { .nmsgs = 100, .nrcpts = 1, .sender_len = 3000 };
	struct cluster_node_rec r;
	struct seen seen = { 0 };
	char *rec, *queue, node[CLUSTER_NAME_MAX + 1];
	uint64_t total;

	(void)state;
	cluster_node_render("gw2", 1, fill, &many, &rec, &queue);
	assert_true(strlen(queue) <= KV_VALUE_MAX);
	assert_int_equal(cluster_node_parse(rec, strlen(rec), &r), 0);
	assert_int_equal(r.ndests, CLUSTER_DEST_MAX);
	assert_int_equal(cluster_queue_parse(queue, strlen(queue), node,
	    &total, each, &seen), 0);
	assert_int_equal(total, 5000);
	assert_true(seen.n > 0 && seen.n <= CLUSTER_QMSG_MAX);
	assert_int_equal(seen.first.nrcpts, CLUSTER_QRCPT_MAX);
	assert_int_equal(seen.first.total_rcpts, 20);
	assert_non_null(strstr(queue, "\"truncated\":true"));
	free(rec);
	free(queue);

	/* long senders: the 64 KiB bound, not the count, stops it */
	memset(&seen, 0, sizeof(seen));
	cluster_node_render("gw3", 1, fill, &big, &rec, &queue);
	assert_true(strlen(queue) <= KV_VALUE_MAX);
	assert_int_equal(cluster_queue_parse(queue, strlen(queue), node,
	    &total, each, &seen), 0);
	assert_int_equal(total, 100);
	assert_true(seen.n < 100 && seen.n > 10);
	free(rec);
	free(queue);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"name\":\"gw1\"}",
		"{\"name\":\"\",\"up_since\":1,\"last_seen\":1,\"queue\":"
		    "{\"messages\":0,\"held\":0,\"oldest\":0,\"deferred\":{}}}",
		"{\"name\":\"gw1\",\"up_since\":-1,\"last_seen\":1,\"queue\":"
		    "{\"messages\":0,\"held\":0,\"oldest\":0,\"deferred\":{}}}",
		"{\"name\":\"gw1\",\"up_since\":1,\"last_seen\":1,\"queue\":"
		    "{\"messages\":\"2\",\"held\":0,\"oldest\":0,"
		    "\"deferred\":{}}}",
		"{\"name\":\"gw1\",\"up_since\":1,\"last_seen\":1,\"queue\":"
		    "{\"messages\":0,\"held\":0,\"oldest\":0,"
		    "\"deferred\":{\"a\":-1}}}",
		"{\"name\":\"g\\u0000w\",\"up_since\":1,\"last_seen\":1,"
		    "\"queue\":{\"messages\":0,\"held\":0,\"oldest\":0,"
		    "\"deferred\":{}}}",
	};
	static const char q1[] = "{\"node\":\"a\",\"total\":1,"
	    "\"messages\":[{\"id\":\"x\"}]}";
	static const char q2[] = "{\"node\":\"a\",\"total\":0,"
	    "\"messages\":[]}";
	struct cluster_node_rec r;
	char node[CLUSTER_NAME_MAX + 1];
	uint64_t total;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cluster_node_parse(bad[i], strlen(bad[i]), &r) != -1)
			fail_msg("record %zu accepted", i);
	assert_int_equal(cluster_queue_parse(q1, strlen(q1), node, &total,
	    NULL, NULL), -1);
	assert_int_equal(cluster_queue_parse(q2, strlen(q2), node, &total,
	    NULL, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
