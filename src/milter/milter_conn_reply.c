/*
 * milter_conn_reply — what a filter's replies mean to one connection
 * (milter_conn_priv.h): the negotiation's answer, a stage's verdict and
 * the verdicts kept for later stages, and the modifications collected at
 * the end of a message, bounded in count (MILTER_MODS_MAX) and octets
 * (the connection's mods_bytes_max).  Semantics follow Sendmail's
 * libmilter documentation (smfi_* and xxfi_* return values) and what
 * Postfix does where that is silent; docs/milter.md says which.
 */
#include "milter_conn.h"
#include "milter_conn_priv.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
milter_conn_negotiated(struct milter_conn *mc, const struct milter_reply *r)
{
	const unsigned char *p = r->lists;
	size_t n = r->listslen;
	uint32_t cls;
	struct milter_span names;
	uint32_t offered = mc->offer;

	if (r->kind != MILTER_C_OPTNEG) {
		milter_conn_fail(mc, "%s instead of the negotiation",
		    milter_proto_reply_name(r->kind));
		return -1;
	}
	if (r->version < 2 || r->version > MILTER_VERSION) {
		milter_conn_fail(mc, "filter protocol version %u",
		    (unsigned)r->version);
		return -1;
	}
	if ((r->actions & ~offered) != 0) {
		milter_conn_fail(mc, "filter asks for actions 0x%x, we offer "
		    "0x%x", (unsigned)r->actions, (unsigned)offered);
		return -1;
	}
	mc->version = r->version;
	mc->actions = r->actions;
	/* steps we did not offer (SMFIP_RCPT_REJ, the MDS sizes) are not
	 * done: Postfix ignores them too */
	mc->protocol = r->protocol & 0x1fffffu & ~MILTER_P_RCPT_REJ;
	while (milter_proto_symlist_next(&p, &n, &cls, &names) == 1) {
		if (cls >= MILTER_M_CLASSES)
			continue;	/* unknown class: ignored (Postfix) */
		if (names.len > MILTER_SYMLIST_MAX) {
			milter_conn_fail(mc, "macro list over %d octets",
			    MILTER_SYMLIST_MAX);
			return -1;
		}
		free(mc->symlist[cls]);
		mc->symlist[cls] = xstrndup(names.p, names.len);
	}
	return 0;
}

void
milter_conn_mods_free(struct milter_conn *mc)
{
	size_t i;

	for (i = 0; i < mc->nmods; i++) {
		free(mc->mods[i].name);
		free(mc->mods[i].value);
		free(mc->mods[i].addr);
		free(mc->mods[i].args);
	}
	free(mc->mods);
	mc->mods = NULL;
	mc->nmods = 0;
	mc->modbytes = 0;
	buf_reset(&mc->body);
	mc->quarantine = 0;
	mc->qreason[0] = '\0';
}

/*
 * The filter's SMTP reply, as the client will see it.  Sendmail uses it
 * as a format string, so filters double '%' (libmilter smfi_setreply):
 * "%%" is one '%' and a lone '%' goes (Postfix does the same).  Lines are
 * joined by CRLF; anything else that is not printable is refused.  Too
 * long a reply keeps the lines that fit, the last one made final.
 */
static int
set_reply(struct milter_conn *mc, const struct milter_span *t)
{
	char *o = mc->ans.reply;
	size_t max = sizeof(mc->ans.reply) - 1, k = 0, i, lastline = 0,
	    cut = 0;

	for (i = 0; i < t->len; i++) {
		char c = t->p[i];

		if (c == '\r' && i + 1 < t->len && t->p[i + 1] == '\n') {
			if (k + 2 > max)
				break;
			cut = k;
			o[k++] = '\r';
			o[k++] = '\n';
			i++;
			lastline = k;
			continue;
		}
		if (c == '%') {
			if (i + 1 < t->len && t->p[i + 1] == '%')
				i++;
			else
				continue;
		}
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e) {
			milter_conn_fail(mc, "control character in the reply "
			    "text");
			return -1;
		}
		if (k + 1 > max)
			break;
		o[k++] = c;
	}
	if (i < t->len && lastline > 0) {
		/* cut after a whole line: it becomes the last one */
		k = cut;
		if (lastline >= 2 && cut > 0) {
			size_t ls = cut;

			while (ls > 0 && !(o[ls - 1] == '\n'))
				ls--;
			if (cut - ls > 3 && o[ls + 3] == '-')
				o[ls + 3] = ' ';
		}
	}
	o[k] = '\0';
	return 0;
}

/* Remember what holds for the stages after this one. */
static void
remember(struct milter_conn *mc)
{
	enum milter_verdict v = mc->ans.verdict;
	enum milter_conn_stage st = mc->stage;

	if (v == MILTER_CONTINUE || v == MILTER_FAILED)
		return;
	if (st == MS_CONNECT || st == MS_HELO) {
		/* libmilter: a connection-level verdict ends the filter's
		 * part in this connection; it closes its side */
		mc->conn_verdict = v;
		memcpy(mc->conn_reply, mc->ans.reply, sizeof(mc->conn_reply));
		mc->waiting = 0;	/* its reply is in: QUIT may go */
		milter_conn_close(mc, 1);
		mc->state = MC_DONE;
		return;
	}
	if (st == MS_EOM || st == MS_UNKNOWN)
		return;
	if (st == MS_RCPT && (v == MILTER_REJECT || v == MILTER_TEMPFAIL))
		return;		/* that recipient only */
	mc->tx_verdict = v;
	memcpy(mc->tx_reply, mc->ans.reply, sizeof(mc->tx_reply));
}

static int
need_action(struct milter_conn *mc, uint32_t action, int kind)
{
	if (mc->stage != MS_EOM) {
		milter_conn_fail(mc, "%s in reply to %s",
		    milter_proto_reply_name(kind),
		    milter_conn_stage_names[mc->stage]);
		return -1;
	}
	if ((mc->actions & action) == 0) {
		milter_conn_fail(mc, "%s not negotiated",
		    milter_proto_reply_name(kind));
		return -1;
	}
	if (mc->nmods >= MILTER_MODS_MAX) {
		milter_conn_fail(mc, "more than %d modifications",
		    MILTER_MODS_MAX);
		return -1;
	}
	return 0;
}

static int
count(struct milter_conn *mc, size_t n)
{
	if (n > mc->mods_bytes_max || mc->modbytes > mc->mods_bytes_max - n) {
		milter_conn_fail(mc, "modifications over %zu octets",
		    mc->mods_bytes_max);
		return -1;
	}
	mc->modbytes += n;
	return 0;
}

/*
 * A header value from the filter, ready to follow "Name:": the leading
 * space put back without SMFIP_HDR_LEADSPC, LF made CRLF, and every
 * continuation line starting with a space or tab, so that a value can
 * never end the header block or start a field of its own.
 */
static char *
header_value(struct milter_conn *mc, const struct milter_span *v)
{
	struct buf o;
	size_t i;
	int lead = !(mc->protocol & MILTER_P_HDR_LEADSPC) && v->len > 0;

	buf_init(&o, 2 * v->len + 2);
	if (lead)
		(void)buf_appendc(&o, ' ');
	for (i = 0; i < v->len; i++) {
		char c = v->p[i];

		if (c == '\r' && i + 1 < v->len && v->p[i + 1] == '\n')
			continue;	/* the LF below writes CRLF */
		if (c == '\r') {
			buf_free(&o);
			return NULL;
		}
		if (c == '\n') {
			if (i + 1 >= v->len || (v->p[i + 1] != ' ' &&
			    v->p[i + 1] != '\t')) {
				buf_free(&o);
				return NULL;
			}
			(void)buf_append(&o, "\r\n", 2);
			continue;
		}
		(void)buf_appendc(&o, c);
	}
	if (o.p == NULL)
		return xstrdup("");
	return buf_release(&o, NULL);
}

static int
add_mod(struct milter_conn *mc, const struct milter_reply *r)
{
	struct milter_mod m;

	memset(&m, 0, sizeof(m));
	if (count(mc, r->a.len + r->b.len + 2) == -1)
		return -1;
	switch (r->kind) {
	case MILTER_R_ADDHEADER:
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
		m.kind = r->kind == MILTER_R_ADDHEADER ? MILTER_MOD_ADDHEADER :
		    r->kind == MILTER_R_INSHEADER ? MILTER_MOD_INSHEADER :
		    MILTER_MOD_CHGHEADER;
		m.index = r->index;
		/* Sendmail counts a change's index from 1; 0 is the first */
		if (m.kind == MILTER_MOD_CHGHEADER && m.index == 0)
			m.index = 1;
		if ((m.value = header_value(mc, &r->b)) == NULL) {
			milter_conn_fail(mc, "%s: bad line break in the value "
			    "of %.64s", milter_proto_reply_name(r->kind),
			    r->a.p);
			return -1;
		}
		m.name = xstrndup(r->a.p, r->a.len);
		break;
	case MILTER_R_ADDRCPT:
	case MILTER_R_ADDRCPT_PAR:
	case MILTER_R_DELRCPT:
	case MILTER_R_CHGFROM:
		m.kind = r->kind == MILTER_R_DELRCPT ? MILTER_MOD_DELRCPT :
		    r->kind == MILTER_R_CHGFROM ? MILTER_MOD_CHGFROM :
		    MILTER_MOD_ADDRCPT;
		m.addr = xstrndup(r->a.p, r->a.len);
		if (r->b.p != NULL)
			m.args = xstrndup(r->b.p, r->b.len);
		break;
	default:
		return -1;
	}
	mc->mods = xreallocarray(mc->mods, mc->nmods + 1, sizeof(*mc->mods));
	mc->mods[mc->nmods++] = m;
	return 0;
}

static int
modification(struct milter_conn *mc, const struct milter_reply *r)
{
	static const struct { int kind; uint32_t action; } need[] = {
		{ MILTER_R_ADDHEADER, MILTER_F_ADDHDRS },
		{ MILTER_R_INSHEADER, MILTER_F_ADDHDRS },
		{ MILTER_R_CHGHEADER, MILTER_F_CHGHDRS },
		{ MILTER_R_ADDRCPT, MILTER_F_ADDRCPT },
		{ MILTER_R_ADDRCPT_PAR, MILTER_F_ADDRCPT_PAR },
		{ MILTER_R_DELRCPT, MILTER_F_DELRCPT },
		{ MILTER_R_CHGFROM, MILTER_F_CHGFROM },
		{ MILTER_R_REPLBODY, MILTER_F_CHGBODY },
		{ MILTER_R_QUARANTINE, MILTER_F_QUARANTINE },
	};
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (need[i].kind == r->kind)
			break;
	if (i == sizeof(need) / sizeof(need[0]))
		return -1;
	if (need_action(mc, need[i].action, r->kind) == -1)
		return -1;
	if (r->kind == MILTER_R_REPLBODY) {
		/* chunks of one new body, in order (smfi_replacebody) */
		if (count(mc, r->datalen) == -1)
			return -1;
		if (buf_append(&mc->body, r->data, r->datalen) == -1) {
			milter_conn_fail(mc, "replaced body over the limit");
			return -1;
		}
		mc->ans.body_replaced = 1;
		return 0;
	}
	if (r->kind == MILTER_R_QUARANTINE) {
		mc->quarantine = 1;
		snprintf(mc->qreason, sizeof(mc->qreason), "%.*s",
		    (int)(r->a.len < 255 ? r->a.len : 255), r->a.p);
		for (i = 0; mc->qreason[i] != '\0'; i++)
			if ((unsigned char)mc->qreason[i] < 0x20 ||
			    (unsigned char)mc->qreason[i] > 0x7e)
				mc->qreason[i] = '?';
		return 0;
	}
	return add_mod(mc, r);
}

/* The end of the message's verdict, with what was collected. */
static void
eom_final(struct milter_conn *mc)
{
	struct milter_answer *a = &mc->ans;

	mc->tx_open = 0;		/* the filter's message is over */
	mc->tx_verdict = MILTER_CONTINUE;
	mc->skip_body = 0;
	if (a->verdict == MILTER_CONTINUE)
		a->verdict = MILTER_ACCEPT;
	if (a->verdict != MILTER_ACCEPT) {
		a->nmods = 0;
		a->body_replaced = 0;
		return;
	}
	if (mc->quarantine) {
		a->verdict = MILTER_QUARANTINE;
		snprintf(a->reason, sizeof(a->reason), "%s", mc->qreason);
	}
	a->mods = mc->mods;
	a->nmods = mc->nmods;
	a->body = (const unsigned char *)mc->body.p;
	a->bodylen = mc->body.len;
}

int
milter_conn_reply(struct milter_conn *mc, const struct milter_reply *r)
{
	struct milter_answer *a = &mc->ans;

	switch (r->kind) {
	case MILTER_R_PROGRESS:
		if (++mc->progress > MILTER_PROGRESS_MAX) {
			milter_conn_fail(mc, "more than %d progress replies",
			    MILTER_PROGRESS_MAX);
			return -1;
		}
		milter_conn_arm(mc);	/* the filter is still at work */
		return 0;
	case MILTER_R_CONTINUE:
		a->verdict = MILTER_CONTINUE;
		break;
	case MILTER_R_ACCEPT:
		a->verdict = MILTER_ACCEPT;
		break;
	case MILTER_R_REJECT:
		a->verdict = MILTER_REJECT;
		break;
	case MILTER_R_TEMPFAIL:
		a->verdict = MILTER_TEMPFAIL;
		break;
	case MILTER_R_REPLYCODE:
		if (set_reply(mc, &r->a) == -1)
			return -1;
		a->verdict = r->code >= 500 ? MILTER_REJECT : MILTER_TEMPFAIL;
		break;
	case MILTER_R_DISCARD:
		/* "no action" at connect or HELO (libmilter's
		 * documentation; Postfix ignores it there too) */
		a->verdict = mc->stage == MS_CONNECT || mc->stage == MS_HELO ?
		    MILTER_CONTINUE : MILTER_DISCARD;
		break;
	case MILTER_R_SKIP:
		if (mc->stage != MS_BODY) {
			milter_conn_fail(mc, "SMFIR_SKIP in reply to %s",
			    milter_conn_stage_names[mc->stage]);
			return -1;
		}
		mc->skip_body = 1;
		a->verdict = MILTER_CONTINUE;
		break;
	case MILTER_R_SHUTDOWN:
		milter_conn_fail(mc, "the filter shuts down");
		return -1;
	case MILTER_R_CONN_FAIL:
		/* the filter asks for the SMTP connection to end */
		snprintf(a->reply, sizeof(a->reply),
		    "421 4.7.0 Service not available, closing channel");
		a->verdict = MILTER_TEMPFAIL;
		mc->stage = MS_CONNECT;		/* for the whole connection */
		break;
	case MILTER_R_ADDHEADER:
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
	case MILTER_R_ADDRCPT:
	case MILTER_R_ADDRCPT_PAR:
	case MILTER_R_DELRCPT:
	case MILTER_R_CHGFROM:
	case MILTER_R_REPLBODY:
	case MILTER_R_QUARANTINE:
		return modification(mc, r) == -1 ? -1 : 0;
	default:
		milter_conn_fail(mc, "unexpected %s in reply to %s",
		    milter_proto_reply_name(r->kind),
		    milter_conn_stage_names[mc->stage]);
		return -1;
	}
	if (mc->stage == MS_EOM)
		eom_final(mc);
	else
		remember(mc);
	return 1;
}
