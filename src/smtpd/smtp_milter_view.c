/*
 * smtp_milter_view — the message with the edits applied; see
 * smtp_milter_view.h.
 */
#include "smtp_milter_view.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "smtp_state.h"
#include "xmalloc.h"

/* The octets [from, to) of the message as received (to: UINT64_MAX for
 * its end). */
static int
raw(struct smtp_session *s, uint64_t from, uint64_t to, char *chunk,
    void (*fn)(void *, const char *, size_t), void *arg)
{
	ssize_t n;
	size_t want;

	while (from < to) {
		want = to - from < SMTP_MILTER_VIEW_CHUNK ? (size_t)(to - from) :
		    SMTP_MILTER_VIEW_CHUNK;
		if ((n = smtp_state_message_read(s, from, chunk, want)) < 0)
			return -1;
		if (n == 0)
			break;
		fn(arg, chunk, (size_t)n);
		from += (uint64_t)n;
	}
	return 0;
}

int
smtp_milter_view(struct smtp_session *s, const struct smtp_msgcheck_edits *ed,
    void (*fn)(void *arg, const char *p, size_t n), void *arg)
{
	char *chunk = xmalloc(SMTP_MILTER_VIEW_CHUNK);
	uint64_t pos = 0;
	const char *t;
	size_t tl, k;
	int rc = 0;

	for (size_t i = 0; i < ed->ncuts && rc == 0; i++) {
		const struct queue_cut *c = &ed->cuts[i];

		rc = raw(s, pos, c->off, chunk, fn, arg);
		t = c->text != NULL ? c->text : "";
		tl = strlen(t);
		/* a long text (a replaced body) in bounded pieces too */
		for (; tl > 0; t += k, tl -= k) {
			k = tl < SMTP_MILTER_VIEW_CHUNK ? tl :
			    SMTP_MILTER_VIEW_CHUNK;
			fn(arg, t, k);
		}
		pos = c->off + c->len;
	}
	if (rc == 0)
		rc = raw(s, pos, UINT64_MAX, chunk, fn, arg);
	free(chunk);
	return rc;
}
