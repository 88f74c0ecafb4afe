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
	if (local_rcpt == NULL)
		return NULL;	/* by SMTP: nothing added yet */
	/* RFC 5321 4.4: the final delivery records the envelope. */
	return xasprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n",
	    env->sender, local_rcpt);
}
