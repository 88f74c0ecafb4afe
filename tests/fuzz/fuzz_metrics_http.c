/*
 * fuzz_metrics_http — libFuzzer harness for metrics_http_parse(), the
 * request head of the metrics endpoint (metrics_http.c), called directly.
 *
 * Beyond "no crash, no sanitizer report" (the input is copied to a buffer
 * of exactly its size, so a read past the end is caught): the status is
 * one of 200 404 405 400, 200 only for a request line that starts
 * "GET /metrics", and the answer does not change with what follows the
 * request line.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *nl;
	int st, st2;

	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	st = metrics_http_parse(buf, size);
	if (st != 200 && st != 404 && st != 405 && st != 400)
		abort();
	if (st == 200 && (size < 12 || memcmp(buf, "GET /metrics", 12) != 0))
		abort();
	if ((nl = memchr(buf, '\n', size)) != NULL) {
		st2 = metrics_http_parse(buf, (size_t)(nl - buf) + 1);
		if (st2 != st)
			abort();
	}
	free(buf);
	return 0;
}
