/*
 * control_proto — frames of the control socket; see control_proto.h.
 *
 * The decoder trusts nothing: the length word is checked against the
 * caller's limit before anything is waited for, every field length against
 * what is left of the frame, and the frame must be consumed exactly (as
 * OpenSMTPD's m_end() refuses leftover bytes).
 */
#include "control_proto.h"
#include "be32.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct type_desc {
	const char	*name;
	uint16_t	 min, max;	/* fields */
};

static const struct type_desc types[CTL_TYPE_MAX] = {
	[CTL_REQ_QUEUE] = { "queue", 0, 0 },
	[CTL_REQ_SHOW] = { "show", 1, 1 },
	[CTL_REQ_FLUSH] = { "flush", 0, 1 },
	[CTL_REQ_REMOVE] = { "remove", 1, 1 },
	[CTL_REQ_HOLD] = { "hold", 1, 1 },
	[CTL_REQ_RELEASE] = { "release", 1, 1 },
	[CTL_REQ_STATS] = { "stats", 0, 0 },
	[CTL_REQ_RELOAD] = { "reload", 0, 0 },
	[CTL_REQ_TRACE] = { "trace", 4, CONTROL_FIELDS_MAX },
	[CTL_REQ_FLOW] = { "flow", 0, 2 },
	[CTL_REQ_CLUSTER] = { "cluster", 0, 1 },
	[CTL_REP_END] = { "end", 1, 1 },
	[CTL_REP_ERROR] = { "error", 1, 1 },
	[CTL_REC_MSG] = { "msg", CTL_MSG_NFIELDS, CTL_MSG_NFIELDS },
	[CTL_REC_RCPT] = { "rcpt", CTL_RCPT_NFIELDS, CTL_RCPT_NFIELDS },
	[CTL_REC_ATTEMPT] = { "attempt", CTL_ATTEMPT_NFIELDS,
	    CTL_ATTEMPT_NFIELDS },
	[CTL_REC_STAT] = { "stat", CTL_STAT_NFIELDS, CTL_STAT_NFIELDS },
	[CTL_REC_TRACE] = { "trace-result", CTL_TRACE_NFIELDS,
	    CTL_TRACE_NFIELDS },
	[CTL_REC_FLOW] = { "flow-row", CTL_FLOW_NFIELDS, CTL_FLOW_NFIELDS },
	[CTL_REC_ACCEPTANCE] = { "acceptance", CTL_ACCEPTANCE_NFIELDS,
	    CTL_ACCEPTANCE_NFIELDS },
	[CTL_REC_NODE] = { "node", CTL_NODE_NFIELDS, CTL_NODE_NFIELDS },
	[CTL_REC_NODE_MSG] = { "node-msg", CTL_NODE_MSG_NFIELDS,
	    CTL_NODE_MSG_NFIELDS },
};

static const char *const msg_names[] = { CTL_MSG_FIELDS };
static const char *const rcpt_names[] = { CTL_RCPT_FIELDS };
static const char *const attempt_names[] = { CTL_ATTEMPT_FIELDS };
static const char *const stat_names[] = { CTL_STAT_FIELDS };
static const char *const trace_names[] = { CTL_TRACE_FIELDS };
static const char *const flow_names[] = { CTL_FLOW_FIELDS };
static const char *const acceptance_names[] = { CTL_ACCEPTANCE_FIELDS };
static const char *const node_names[] = { CTL_NODE_FIELDS };
static const char *const node_msg_names[] = { CTL_NODE_MSG_FIELDS };

_Static_assert(sizeof(msg_names) / sizeof(msg_names[0]) == CTL_MSG_NFIELDS,
    "CTL_MSG_FIELDS");
_Static_assert(sizeof(rcpt_names) / sizeof(rcpt_names[0]) ==
    CTL_RCPT_NFIELDS, "CTL_RCPT_FIELDS");
_Static_assert(sizeof(attempt_names) / sizeof(attempt_names[0]) ==
    CTL_ATTEMPT_NFIELDS, "CTL_ATTEMPT_FIELDS");
_Static_assert(sizeof(trace_names) / sizeof(trace_names[0]) ==
    CTL_TRACE_NFIELDS, "CTL_TRACE_FIELDS");
_Static_assert(sizeof(flow_names) / sizeof(flow_names[0]) ==
    CTL_FLOW_NFIELDS, "CTL_FLOW_FIELDS");
_Static_assert(sizeof(acceptance_names) / sizeof(acceptance_names[0]) ==
    CTL_ACCEPTANCE_NFIELDS, "CTL_ACCEPTANCE_FIELDS");

const char *const *
control_field_names(unsigned type, size_t *n)
{
	switch (type) {
	case CTL_REC_MSG:
		*n = CTL_MSG_NFIELDS;
		return msg_names;
	case CTL_REC_RCPT:
		*n = CTL_RCPT_NFIELDS;
		return rcpt_names;
	case CTL_REC_ATTEMPT:
		*n = CTL_ATTEMPT_NFIELDS;
		return attempt_names;
	case CTL_REC_STAT:
		*n = CTL_STAT_NFIELDS;
		return stat_names;
	case CTL_REC_TRACE:
		*n = CTL_TRACE_NFIELDS;
		return trace_names;
	case CTL_REC_FLOW:
		*n = CTL_FLOW_NFIELDS;
		return flow_names;
	case CTL_REC_ACCEPTANCE:
		*n = CTL_ACCEPTANCE_NFIELDS;
		return acceptance_names;
	case CTL_REC_NODE:
		*n = CTL_NODE_NFIELDS;
		return node_names;
	case CTL_REC_NODE_MSG:
		*n = CTL_NODE_MSG_NFIELDS;
		return node_msg_names;
	default:
		*n = 0;
		return NULL;
	}
}

int
control_type_valid(unsigned type, unsigned nfields)
{
	if (type >= CTL_TYPE_MAX || types[type].name == NULL)
		return 0;
	return nfields >= types[type].min && nfields <= types[type].max;
}

const char *
control_type_name(unsigned type)
{
	if (type >= CTL_TYPE_MAX || types[type].name == NULL)
		return "?";
	return types[type].name;
}

enum control_decode
control_decode(const void *buf, size_t len, size_t max,
    struct control_msg *out, size_t *used)
{
	const unsigned char *p = buf;
	size_t flen, off;

	if (len < 4)
		return CONTROL_NEED_MORE;
	flen = be32_get(p);
	if (flen > max || flen > CONTROL_FRAME_MAX)
		return CONTROL_TOO_BIG;
	if (flen < CONTROL_HDR_LEN - 4)
		return CONTROL_MALFORMED;
	if (len - 4 < flen)
		return CONTROL_NEED_MORE;
	out->version = p[4];
	out->type = p[5];
	out->nfields = (uint16_t)(p[6] << 8 | p[7]);
	if (out->version != CONTROL_VERSION)
		return CONTROL_BAD_VERSION;
	if (out->nfields > CONTROL_FIELDS_MAX ||
	    !control_type_valid(out->type, out->nfields))
		return CONTROL_MALFORMED;
	off = CONTROL_HDR_LEN;
	for (unsigned i = 0; i < out->nfields; i++) {
		size_t n;

		if (4 + flen - off < 4)
			return CONTROL_MALFORMED;
		n = be32_get(p + off);
		off += 4;
		if (n > CONTROL_FIELD_MAX || n > 4 + flen - off)
			return CONTROL_MALFORMED;
		if (memchr(p + off, '\0', n) != NULL)
			return CONTROL_MALFORMED;
		out->f[i].p = (const char *)p + off;
		out->f[i].len = n;
		off += n;
	}
	if (off != 4 + flen)
		return CONTROL_MALFORMED;	/* bytes left over */
	*used = off;
	return CONTROL_OK;
}

const char *
control_decode_error(enum control_decode e)
{
	switch (e) {
	case CONTROL_OK:
		return "ok";
	case CONTROL_NEED_MORE:
		return "truncated message";
	case CONTROL_TOO_BIG:
		return "message too large";
	case CONTROL_BAD_VERSION:
		return "unsupported protocol version";
	default:
		return "malformed message";
	}
}

void *
control_encode(unsigned type, const char *const *fields, size_t n,
    size_t *len)
{
	unsigned char *b;
	size_t total = CONTROL_HDR_LEN, off;

	if (n > CONTROL_FIELDS_MAX || !control_type_valid(type, (unsigned)n)) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t fl = fields[i] ? strlen(fields[i]) : 0;

		if (fl > CONTROL_FIELD_MAX) {
			errno = E2BIG;
			return NULL;
		}
		total += 4 + fl;
	}
	if (total - 4 > CONTROL_FRAME_MAX) {
		errno = E2BIG;
		return NULL;
	}
	if ((b = malloc(total)) == NULL)
		return NULL;
	be32_put(b, (uint32_t)(total - 4));
	b[4] = CONTROL_VERSION;
	b[5] = (unsigned char)type;
	b[6] = (unsigned char)(n >> 8);
	b[7] = (unsigned char)n;
	off = CONTROL_HDR_LEN;
	for (size_t i = 0; i < n; i++) {
		size_t fl = fields[i] ? strlen(fields[i]) : 0;

		be32_put(b + off, (uint32_t)fl);
		off += 4;
		if (fl)
			memcpy(b + off, fields[i], fl);
		off += fl;
	}
	*len = total;
	return b;
}

char *
control_field_dup(const struct control_field *f)
{
	char *s = malloc(f->len + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, f->p, f->len);
	s[f->len] = '\0';
	return s;
}

int
control_field_eq(const struct control_field *f, const char *s)
{
	return strlen(s) == f->len && memcmp(f->p, s, f->len) == 0;
}
