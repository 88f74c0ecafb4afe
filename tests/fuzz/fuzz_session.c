/*
 * fuzz_session — libFuzzer harness for the SMTP server engine fed whole
 * client sessions from memory (no sockets): commands, pipelining, DATA,
 * the directory answering from the unit tests' table (session_fake.h).
 * The first byte picks how the input is chunked, so chunk boundaries are
 * fuzzed too.  Every reply must be a well-formed SMTP reply line with an
 * enhanced status code where one is due.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The configuration, directory and spool of the session unit tests; the
 * virtual server "small" has limits a short input reaches. */
#include "../unit/session_fake.h"

static void
check_replies(const char *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(p + off, '\n', len - off);
		size_t l;

		if (nl == NULL || nl == p + off || nl[-1] != '\r')
			abort();
		l = (size_t)(nl - (p + off)) - 1;
		if (l < 4 || p[off] < '2' || p[off] > '5' ||
		    (p[off + 3] != ' ' && p[off + 3] != '-'))
			abort();
		off = (size_t)(nl - p) + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct smtp_session *s;
	size_t chunk;

	if (conf == NULL && fake_load() == -1)
		abort();
	if (size == 0)
		return 0;
	chunk = 1 + data[0] % 64;
	data++;
	size--;
	sin.sin_addr.s_addr = htonl(0xc0000201);
	s = smtp_session_new(1, conf, conf_vserver_find(conf, "small"), dir,
	    (struct sockaddr *)&sin, &ops, NULL);
	fake_drive(s, (const char *)data, size, chunk);
	check_replies(s->out.p ? s->out.p : "", s->out.len);
	smtp_session_free(s);
	return 0;
}
