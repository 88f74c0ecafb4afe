/*
 * smtp_spf — one transaction's SPF check and its waiters; see smtp_spf.h.
 */
#include "smtp_spf.h"

#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

#define SPF_WAITERS_MAX	4	/* the RCPT reply, the end of data */

struct spf_waiter {
	smtp_spf_cb	 cb;
	void		*arg;
};

struct smtp_spf {
	struct authdns		 dns;
	struct sockaddr_storage	 client;
	char			*sender;
	char			*helo;
	char			*receiver;
	struct spf_check	*chk;
	int			 started;
	int			 done;
	struct spf_outcome	 out;
	struct spf_waiter	 w[SPF_WAITERS_MAX];
	size_t			 nw;
	char			 reply[600];
};

struct smtp_spf *
smtp_spf_new(const struct authdns *dns, const struct sockaddr *client,
    const char *sender, const char *helo, const char *receiver)
{
	struct smtp_spf *sp = xcalloc(1, sizeof(*sp));

	sp->dns = *dns;
	memcpy(&sp->client, client, client->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	sp->sender = xstrdup(sender);
	sp->helo = xstrdup(helo);
	sp->receiver = xstrdup(receiver);
	return sp;
}

void
smtp_spf_free(struct smtp_spf *sp)
{
	if (sp == NULL)
		return;
	spf_check_cancel(sp->chk);
	free(sp->sender);
	free(sp->helo);
	free(sp->receiver);
	free(sp);
}

static void
answered(void *arg, const struct spf_outcome *o)
{
	struct smtp_spf *sp = arg;
	struct spf_waiter w[SPF_WAITERS_MAX];
	struct spf_outcome copy = *o;
	size_t n = sp->nw;

	sp->chk = NULL;
	sp->done = 1;
	sp->out = *o;
	/* A waiter's callback may end the transaction, and free this with
	 * it: the list and the outcome are copied first, sp not touched
	 * after. */
	memcpy(w, sp->w, sizeof(w));
	sp->nw = 0;
	for (size_t i = 0; i < n; i++)
		w[i].cb(w[i].arg, &copy);
}

void
smtp_spf_start(struct smtp_spf *sp)
{
	struct spf_request req;

	if (sp->started)
		return;
	sp->started = 1;
	memset(&req, 0, sizeof(req));
	req.client = (const struct sockaddr *)&sp->client;
	req.sender = sp->sender;
	req.helo = sp->helo;
	req.receiver = sp->receiver;
	req.now = time(NULL);
	sp->chk = spf_check_start(&sp->dns, &req, &sp->out, answered, sp);
	if (sp->chk == NULL)
		sp->done = 1;
}

int
smtp_spf_wait(struct smtp_spf *sp, const struct spf_outcome **out,
    smtp_spf_cb cb, void *arg)
{
	smtp_spf_start(sp);
	if (sp->done) {
		*out = &sp->out;
		return 0;
	}
	if (sp->nw == SPF_WAITERS_MAX)
		abort();	/* a caller waits twice: a bug */
	sp->w[sp->nw].cb = cb;
	sp->w[sp->nw].arg = arg;
	sp->nw++;
	return 1;
}

void
smtp_spf_unwait(struct smtp_spf *sp, void *arg)
{
	for (size_t i = 0; sp != NULL && i < sp->nw; i++)
		if (sp->w[i].arg == arg) {
			memmove(&sp->w[i], &sp->w[i + 1],
			    (sp->nw - i - 1) * sizeof(sp->w[0]));
			sp->nw--;
			return;
		}
}

const char *
smtp_spf_reply(struct smtp_spf *sp)
{
	char exp[200];
	size_t j = 0;

	/* The explanation is the domain's text: printable ASCII only, and
	 * short, in a one-line reply. */
	for (const char *p = sp->out.explanation; *p && j < sizeof(exp) - 1;
	    p++)
		exp[j++] = isprint((unsigned char)*p) ? *p : '?';
	exp[j] = '\0';
	if (j > 0)
		snprintf(sp->reply, sizeof(sp->reply), "550 5.7.23 SPF "
		    "validation failed for %s: %s", sp->out.domain, exp);
	else
		snprintf(sp->reply, sizeof(sp->reply), "550 5.7.23 SPF "
		    "validation failed for %s", sp->out.domain);
	return sp->reply;
}
