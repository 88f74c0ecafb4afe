/*
 * smtp_received — see smtp_received.h.
 */
#include "smtp_received.h"
#include "queue.h"

#include <stdio.h>
#include <string.h>

void
smtp_received_date(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static void
sanitize(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		/* "(", ")" and "\" would end or escape the comment. */
		dst[i] = (c > ' ' && c < 0x7f && c != '(' && c != ')' &&
		    c != '\\') ? (char)c : '?';
	}
	dst[i] = '\0';
}

size_t
smtp_received_header(char *buf, size_t len, const struct queue_envelope *env,
    const char *by_host, int esmtp, const char *tls, int authenticated,
    time_t now)
{
	char helo[256], date[64], using[160] = "";
	const char *proto;
	int n;

	if (!esmtp)
		proto = "SMTP";
	else if (tls && authenticated)
		proto = "ESMTPSA";
	else if (tls)
		proto = "ESMTPS";
	else if (authenticated)
		proto = "ESMTPA";
	else
		proto = "ESMTP";
	sanitize(helo, sizeof(helo), env->helo ? env->helo : "unknown");
	smtp_received_date(date, sizeof(date), now);
	if (tls != NULL && *tls != '\0')
		snprintf(using, sizeof(using), "\t(using %.128s)\r\n", tls);
	n = snprintf(buf, len,
	    "Received: from %s ([%s])\r\n"
	    "%s"
	    "\tby %s (postern) with %s id %s;\r\n"
	    "\t%s\r\n",
	    helo, env->client_addr, using, by_host, proto, env->id, date);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}
