/*
 * delivery_headers — the outbound header lines; see delivery_headers.h.
 */
#include "delivery_headers.h"

#include <stddef.h>

#include "queue.h"
#include "xmalloc.h"

char *
delivery_headers(const struct queue_envelope *env, const char *local_rcpt)
{
	const char *acc = env->prepend != NULL ? env->prepend : "";

	if (local_rcpt == NULL)
		return env->prepend != NULL ? xstrdup(acc) : NULL;
	/* RFC 5321 4.4: the final delivery records the envelope, above
	 * everything else. */
	return xasprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n%s",
	    env->sender, local_rcpt, acc);
}
