/*
 * control_proto — the messages of the control socket, shared by posternd
 * (control.c) and posternctl.
 *
 * Every message is one frame:
 *
 *   u32 length    bytes that follow, big-endian (at most CONTROL_FRAME_MAX)
 *   u8  version   CONTROL_VERSION
 *   u8  type      enum control_type
 *   u16 nfields   big-endian
 *   nfields x { u32 length, bytes }
 *
 * Fields are text (no NUL byte); numbers are written in decimal.  Each
 * type has a fixed number of fields (or a minimum, for requests that take
 * a list), and the decoder checks the version, the type, the count and that
 * the fields add up to exactly the frame's length: a frame with bytes left
 * over, a field running past the end, or a count that does not match is
 * malformed.  The functions are pure over memory, so they are unit-tested
 * and fuzzed directly.
 *
 * A conversation is one request frame from posternctl, then reply frames
 * from posternd: zero or more records, then END or ERROR.  Long answers
 * (queue) are a stream of records, never one big frame.
 */
#ifndef POSTERN_CONTROL_PROTO_H
#define POSTERN_CONTROL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define CONTROL_VERSION		1
#define CONTROL_HDR_LEN		8		/* length, version, type,
						   nfields */
#define CONTROL_FRAME_MAX	(256 * 1024)	/* after the length word */
#define CONTROL_REQUEST_MAX	(64 * 1024)	/* what posternd accepts */
#define CONTROL_FIELDS_MAX	1024
#define CONTROL_FIELD_MAX	(64 * 1024)

enum control_type {
	/* requests */
	CTL_REQ_QUEUE = 1,	/* - */
	CTL_REQ_SHOW,		/* id */
	CTL_REQ_FLUSH,		/* [id] */
	CTL_REQ_REMOVE,		/* id */
	CTL_REQ_HOLD,		/* id */
	CTL_REQ_RELEASE,	/* id */
	CTL_REQ_STATS,		/* - */
	CTL_REQ_RELOAD,		/* - */
	CTL_REQ_TRACE,		/* vserver client sender rcpt... */
	CTL_REQ_FLOW,		/* [user [unknown-user]] */
	CTL_REQ_CLUSTER,	/* ["queue"] */
	/* replies */
	CTL_REP_END = 32,	/* message (may be empty) */
	CTL_REP_ERROR,		/* message */
	CTL_REC_MSG,		/* a queued message; its RCPTs follow */
	CTL_REC_RCPT,		/* a recipient of the last MSG */
	CTL_REC_ATTEMPT,	/* an SMTP try of the last MSG */
	CTL_REC_STAT,		/* one counter */
	CTL_REC_TRACE,		/* one recipient's verdict */
	CTL_REC_FLOW,		/* one row of the flow table */
	CTL_REC_ACCEPTANCE,	/* show: what acceptance decided */
	CTL_REC_NODE,		/* cluster: one node */
	CTL_REC_NODE_MSG,	/* cluster queue: a message; its RCPTs follow */
	CTL_TYPE_MAX
};

/* The names of a record's fields, in order (posternctl's JSON keys). */
#define CTL_MSG_FIELDS		"id", "received", "age", "size", "sender", \
				"vserver", "client", "state", "attempts", \
				"next_attempt", "recipients"
#define CTL_MSG_NFIELDS		11
#define CTL_RCPT_FIELDS		"address", "state", "last_error"
#define CTL_RCPT_NFIELDS	3
#define CTL_ATTEMPT_FIELDS	"time", "host", "address", "dns", "tls", \
				"reply"
#define CTL_ATTEMPT_NFIELDS	6
#define CTL_ACCEPTANCE_FIELDS	"added_headers", "removed_bytes", "hold"
#define CTL_ACCEPTANCE_NFIELDS	3
#define CTL_STAT_FIELDS		"name", "label", "value"
#define CTL_STAT_NFIELDS	3
#define CTL_TRACE_FIELDS	"recipient", "accepted", "reply", "rule", \
				"route", "connector", "next_hop", "dns", \
				"note"
#define CTL_TRACE_NFIELDS	9
#define CTL_FLOW_FIELDS		"vserver", "flow", "client", "sender", \
				CTL_TRACE_FIELDS
#define CTL_FLOW_NFIELDS	(4 + CTL_TRACE_NFIELDS)
/* deferred: "DEST=N DEST=N ..." */
#define CTL_NODE_FIELDS		"node", "up_since", "last_seen", "messages", \
				"held", "oldest", "deferred"
#define CTL_NODE_NFIELDS	7
#define CTL_NODE_MSG_FIELDS	"node", "id", "arrival", "age", "size", \
				"sender", "total_recipients"
#define CTL_NODE_MSG_NFIELDS	7

/* A decoded frame: fields point into the caller's buffer, so they are
 * not NUL-terminated; control_field_dup() makes a string of one. */
struct control_field {
	const char	*p;
	size_t		 len;
};

struct control_msg {
	uint8_t			 version;
	uint8_t			 type;
	uint16_t		 nfields;
	struct control_field	 f[CONTROL_FIELDS_MAX];
};

enum control_decode {
	CONTROL_OK,		/* *used is the frame's size */
	CONTROL_NEED_MORE,	/* not a whole frame yet */
	CONTROL_TOO_BIG,	/* length word over the limit */
	CONTROL_BAD_VERSION,
	CONTROL_MALFORMED,	/* type, count or field lengths wrong */
};

/*
 * Decode one frame from buf[0..len), accepting a frame of at most `max`
 * bytes after its length word.  On CONTROL_OK, out is filled and *used is
 * the number of bytes the frame took.  Never reads past len.
 */
enum control_decode control_decode(const void *buf, size_t len, size_t max,
	    struct control_msg *out, size_t *used);
const char *control_decode_error(enum control_decode e);

/* Is the field count right for this type?  (Exposed for tests.) */
int	control_type_valid(unsigned type, unsigned nfields);
const char *control_type_name(unsigned type);

/* The field names of a record type (NULL for others). */
const char *const *control_field_names(unsigned type, size_t *n);

/*
 * Encode a frame into a malloc'ed buffer: the fields are NUL-terminated
 * strings (NULL stands for an empty field).  Returns the buffer and its
 * length in *len; NULL with errno E2BIG when it would exceed
 * CONTROL_FRAME_MAX or a limit, EINVAL for a bad type or field count.
 */
void	*control_encode(unsigned type, const char *const *fields, size_t n,
	    size_t *len);

/* The field as a new string (a field holding a NUL byte is malformed and
 * never gets this far). */
char	*control_field_dup(const struct control_field *f);
/* Compare a field with a string. */
int	control_field_eq(const struct control_field *f, const char *s);

#endif
