/*
 * milter_conn_stage — the stages the session drives, after connect
 * (milter_conn.h): each encodes its command for milter_conn_run, which
 * sends it with its macros, or answers at once for a skipped step, an
 * earlier verdict or a failed connection.  Also the end of a transaction
 * (SMFIC_ABORT).  Header values and body chunks are copied into the
 * packet at once, so the caller's buffers may go when the call returns.
 */
#include "milter_conn.h"
#include "milter_conn_priv.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <string.h>

struct env_ctx {
	const char *addr;
	const char *const *args;
	size_t nargs;
};

static int
enc_str(struct milter_conn *mc, const void *ctx)
{
	switch (mc->stage) {
	case MS_HELO:
		return milter_proto_helo(&mc->out, ctx);
	case MS_UNKNOWN:
		return milter_proto_unknown(&mc->out, ctx);
	default:
		return milter_proto_simple(&mc->out, milter_conn_stage_cmd(mc->stage));
	}
}

static int
enc_env(struct milter_conn *mc, const void *ctx)
{
	const struct env_ctx *e = ctx;

	return (mc->stage == MS_MAIL ? milter_proto_mail : milter_proto_rcpt)(
	    &mc->out, e->addr, e->args, e->nargs);
}

void
milter_conn_helo(struct milter_conn *mc, const char *helo,
    const struct milter_macro *macros, milter_cb cb, void *arg)
{
	if (!milter_conn_begin(mc, MS_HELO, cb, arg))
		milter_conn_run(mc, macros, enc_str, helo);
}

void
milter_conn_unknown(struct milter_conn *mc, const char *line,
    const struct milter_macro *macros, milter_cb cb, void *arg)
{
	if (!milter_conn_begin(mc, MS_UNKNOWN, cb, arg))
		milter_conn_run(mc, macros, enc_str, line);
}

/* A new transaction ends the one before, if the caller did not. */
static void
abort_tx(struct milter_conn *mc)
{
	if (mc->tx_open && mc->bev != NULL && mc->state == MC_READY &&
	    milter_proto_simple(&mc->out, MILTER_C_ABORT) == 0) {
		if (bufferevent_write(mc->bev, mc->out.p, mc->out.len) == -1)
			milter_conn_fail(mc, "cannot queue SMFIC_ABORT");
	}
	buf_reset(&mc->out);
	mc->tx_open = 0;
	mc->skip_body = 0;
	mc->tx_verdict = MILTER_CONTINUE;
	mc->tx_reply[0] = '\0';
}

void
milter_conn_mail(struct milter_conn *mc, const char *addr,
    const char *const *args, size_t nargs, const struct milter_macro *macros,
    milter_cb cb, void *arg)
{
	struct env_ctx e = { addr, args, nargs };

	if (!mc->busy && mc->state == MC_READY)
		abort_tx(mc);
	else if (!mc->busy)
		mc->tx_verdict = MILTER_CONTINUE;
	if (!milter_conn_begin(mc, MS_MAIL, cb, arg))
		milter_conn_run(mc, macros, enc_env, &e);
}

void
milter_conn_rcpt(struct milter_conn *mc, const char *addr,
    const char *const *args, size_t nargs, const struct milter_macro *macros,
    milter_cb cb, void *arg)
{
	struct env_ctx e = { addr, args, nargs };

	if (!milter_conn_begin(mc, MS_RCPT, cb, arg))
		milter_conn_run(mc, macros, enc_env, &e);
}

void
milter_conn_data(struct milter_conn *mc, const struct milter_macro *macros,
    milter_cb cb, void *arg)
{
	if (!milter_conn_begin(mc, MS_DATA, cb, arg))
		milter_conn_run(mc, macros, enc_str, NULL);
}

void
milter_conn_eoh(struct milter_conn *mc, const struct milter_macro *macros,
    milter_cb cb, void *arg)
{
	if (!milter_conn_begin(mc, MS_EOH, cb, arg))
		milter_conn_run(mc, macros, enc_str, NULL);
}

struct hdr_ctx {
	const char *name;
	const char *value;
	size_t vlen;
};

/* Folds go as LF alone (Sendmail's and Postfix's form); without
 * SMFIP_HDR_LEADSPC the space after the colon is not sent. */
static int
enc_header(struct milter_conn *mc, const void *ctx)
{
	const struct hdr_ctx *h = ctx;
	struct buf v;
	size_t i = 0;
	int rc;

	if (!(mc->protocol & MILTER_P_HDR_LEADSPC))
		while (i < h->vlen && (h->value[i] == ' ' ||
		    h->value[i] == '\t'))
			i++;
	buf_init(&v, h->vlen + 1);
	for (; i < h->vlen; i++) {
		if (h->value[i] == '\r' && i + 1 < h->vlen &&
		    h->value[i + 1] == '\n')
			continue;
		(void)buf_appendc(&v, h->value[i]);
	}
	rc = milter_proto_header(&mc->out, h->name, v.p ? v.p : "", v.len);
	buf_free(&v);
	return rc;
}

void
milter_conn_header(struct milter_conn *mc, const char *name,
    const char *value, size_t vlen, milter_cb cb, void *arg)
{
	struct hdr_ctx h = { name, value, vlen };

	if (!milter_conn_begin(mc, MS_HEADER, cb, arg))
		milter_conn_run(mc, NULL, enc_header, &h);
}

struct body_ctx {
	const void *p;
	size_t n;
};

static int
enc_body(struct milter_conn *mc, const void *ctx)
{
	const struct body_ctx *b = ctx;

	return milter_proto_body(&mc->out, b->p, b->n);
}

void
milter_conn_body(struct milter_conn *mc, const void *p, size_t n,
    milter_cb cb, void *arg)
{
	struct body_ctx b = { p, n };

	if (milter_conn_begin(mc, MS_BODY, cb, arg))
		return;
	if (n == 0) {
		milter_conn_answer_local(mc, MILTER_CONTINUE, "");
		return;
	}
	if (n > MILTER_CHUNK_MAX) {
		milter_conn_fail(mc, "body chunk of %zu octets", n);
		return;
	}
	milter_conn_run(mc, NULL, enc_body, &b);
}

void
milter_conn_eom(struct milter_conn *mc, const struct milter_macro *macros,
    milter_cb cb, void *arg)
{
	milter_conn_mods_free(mc);
	if (!milter_conn_begin(mc, MS_EOM, cb, arg))
		milter_conn_run(mc, macros, enc_str, NULL);
}

void
milter_conn_abort(struct milter_conn *mc)
{
	if (mc->busy) {
		event_del(mc->defer);
		if (!mc->answered) {
			mc->busy = 0;
			milter_conn_fail(mc, "transaction ended while the "
			    "filter was answering %s",
			    milter_conn_stage_names[mc->stage]);
		}
		mc->busy = mc->answered = 0;
		mc->cb = NULL;
	}
	abort_tx(mc);
}
