/*
 * milter_proto — the milter codec; see milter_proto.h and docs/milter.md.
 *
 * Written from the protocol's description (Sendmail's libmilter
 * documentation and include/libmilter/mfdef.h): integers are 32-bit
 * (the port 16-bit) in network order, strings end with a NUL, and the
 * length in front of a packet counts its letter and data.
 */
#include "milter_proto.h"
#include "be32.h"

#include <string.h>

#define LEN_BYTES	4

enum milter_proto_status
milter_proto_frame(const void *p, size_t len, size_t max, size_t *total,
    const char **why)
{
	uint32_t n;

	*total = 0;
	if (len < LEN_BYTES)
		return MILTER_PROTO_MORE;
	n = be32_get(p);
	if (n == 0) {
		*why = "packet of length 0";
		return MILTER_PROTO_BAD;
	}
	if (n > max) {
		*why = "packet longer than the limit";
		return MILTER_PROTO_BAD;
	}
	if (len - LEN_BYTES < n)
		return MILTER_PROTO_MORE;
	*total = (size_t)n + LEN_BYTES;
	return MILTER_PROTO_OK;
}

/* A NUL-terminated string at the front of *p. */
static int
take_str(const unsigned char **p, size_t *len, struct milter_span *s,
    const char **why)
{
	const unsigned char *nul = memchr(*p, '\0', *len);

	if (nul == NULL) {
		*why = "string not terminated inside the packet";
		return -1;
	}
	s->p = (const char *)*p;
	s->len = (size_t)(nul - *p);
	*len -= s->len + 1;
	*p = nul + 1;
	return 0;
}

static int
take32(const unsigned char **p, size_t *len, uint32_t *v, const char **why)
{
	if (*len < 4) {
		*why = "packet too short for a 32-bit field";
		return -1;
	}
	*v = be32_get(*p);
	*p += 4;
	*len -= 4;
	return 0;
}

int
milter_proto_symlist_next(const unsigned char **p, size_t *len, uint32_t *cls,
    struct milter_span *names)
{
	const char *why;

	if (*len == 0)
		return 0;
	if (take32(p, len, cls, &why) == -1 ||
	    take_str(p, len, names, &why) == -1)
		return -1;
	return 1;
}

int
milter_proto_replycode_ok(const char *t, size_t len, unsigned *code)
{
	if (len < 3 || (t[0] != '4' && t[0] != '5') ||
	    t[1] < '0' || t[1] > '9' || t[2] < '0' || t[2] > '9')
		return 0;
	if (len > 3 && t[3] != ' ' && t[3] != '-')
		return 0;
	/* RFC 3463: the class of an enhanced code agrees with the reply's */
	if (len > 5 && t[4] >= '0' && t[4] <= '9' && t[4] != t[0])
		return 0;
	*code = (unsigned)(t[0] - '0') * 100 + (unsigned)(t[1] - '0') * 10 +
	    (unsigned)(t[2] - '0');
	return 1;
}

int
milter_proto_header_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > MILTER_HEADER_NAME_MAX)
		return 0;
	/* RFC 5322 2.2: printable US-ASCII except ':' */
	for (i = 0; i < len; i++)
		if (name[i] < 33 || name[i] > 126 || name[i] == ':')
			return 0;
	return 1;
}

/* Replies that carry nothing. */
static int
is_bare(int kind)
{
	switch (kind) {
	case MILTER_R_ACCEPT:
	case MILTER_R_CONTINUE:
	case MILTER_R_REJECT:
	case MILTER_R_TEMPFAIL:
	case MILTER_R_DISCARD:
	case MILTER_R_PROGRESS:
	case MILTER_R_SKIP:
	case MILTER_R_SHUTDOWN:
	case MILTER_R_CONN_FAIL:
		return 1;
	}
	return 0;
}

static int
decode_header(const unsigned char **p, size_t *n, struct milter_reply *r,
    const char **why)
{
	if (take_str(p, n, &r->a, why) == -1 ||
	    take_str(p, n, &r->b, why) == -1)
		return -1;
	if (!milter_proto_header_name_ok(r->a.p, r->a.len)) {
		*why = "bad header name";
		return -1;
	}
	return 0;
}

static int
decode_optneg(const unsigned char *p, size_t n, struct milter_reply *r,
    const char **why)
{
	const unsigned char *lp;
	size_t ln;
	uint32_t cls;
	struct milter_span names;
	int rc;

	if (take32(&p, &n, &r->version, why) == -1 ||
	    take32(&p, &n, &r->actions, why) == -1 ||
	    take32(&p, &n, &r->protocol, why) == -1)
		return -1;
	r->lists = p;
	r->listslen = n;
	lp = p;
	ln = n;
	while ((rc = milter_proto_symlist_next(&lp, &ln, &cls, &names)) == 1)
		;
	if (rc == -1) {
		*why = "malformed macro list in negotiation";
		return -1;
	}
	return 0;
}

int
milter_proto_decode(const void *pkt, size_t len, struct milter_reply *r,
    const char **why)
{
	const unsigned char *p = pkt;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (len == 0) {
		*why = "empty packet";
		return -1;
	}
	r->kind = p[0];
	p++;
	n = len - 1;
	if (is_bare(r->kind)) {
		if (n != 0) {
			*why = "data after a reply that takes none";
			return -1;
		}
		return 0;
	}
	switch (r->kind) {
	case MILTER_R_REPLYCODE:
		if (take_str(&p, &n, &r->a, why) == -1)
			return -1;
		if (!milter_proto_replycode_ok(r->a.p, r->a.len, &r->code)) {
			*why = "bad SMTP reply code";
			return -1;
		}
		break;
	case MILTER_R_QUARANTINE:
		if (take_str(&p, &n, &r->a, why) == -1)
			return -1;
		break;
	case MILTER_R_ADDHEADER:
		if (decode_header(&p, &n, r, why) == -1)
			return -1;
		break;
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
		if (take32(&p, &n, &r->index, why) == -1 ||
		    decode_header(&p, &n, r, why) == -1)
			return -1;
		break;
	case MILTER_R_ADDRCPT:
	case MILTER_R_DELRCPT:
	case MILTER_R_ADDRCPT_PAR:
	case MILTER_R_CHGFROM:
		if (take_str(&p, &n, &r->a, why) == -1)
			return -1;
		if (r->a.len == 0) {
			*why = "empty address";
			return -1;
		}
		/* the ESMTP arguments are optional (smfi_addrcpt_par,
		 * smfi_chgfrom with NULL args) */
		if ((r->kind == MILTER_R_ADDRCPT_PAR ||
		    r->kind == MILTER_R_CHGFROM) && n > 0 &&
		    take_str(&p, &n, &r->b, why) == -1)
			return -1;
		break;
	case MILTER_R_REPLBODY:
		r->data = p;
		r->datalen = n;
		n = 0;
		break;
	case MILTER_R_SETSYMLIST:
		if (take32(&p, &n, &r->index, why) == -1 ||
		    take_str(&p, &n, &r->a, why) == -1)
			return -1;
		break;
	case MILTER_C_OPTNEG:
		return decode_optneg(p, n, r, why);
	default:
		*why = "unknown reply";
		return -1;
	}
	if (n != 0) {
		*why = "data after the last field";
		return -1;
	}
	return 0;
}

/* Encoders: the packet's size is known before a byte is written. */

static int
begin(struct buf *b, size_t datalen, char cmd, size_t *mark)
{
	unsigned char hdr[LEN_BYTES + 1];

	*mark = b->len;
	if (datalen > UINT32_MAX - 1)
		return -1;
	be32_put(hdr, (uint32_t)(datalen + 1));
	hdr[LEN_BYTES] = (unsigned char)cmd;
	return buf_append(b, hdr, sizeof(hdr));
}

static int
undo(struct buf *b, size_t mark)
{
	b->len = mark;
	if (b->p != NULL)
		b->p[mark] = '\0';
	return -1;
}

static int
add_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s) + 1);
}

int
milter_proto_simple(struct buf *b, char cmd)
{
	size_t mark;

	if (begin(b, 0, cmd, &mark) == -1)
		return undo(b, mark);
	return 0;
}

int
milter_proto_optneg(struct buf *b, uint32_t version, uint32_t actions,
    uint32_t protocol)
{
	unsigned char d[12];
	size_t mark;

	be32_put(d, version);
	be32_put(d + 4, actions);
	be32_put(d + 8, protocol);
	if (begin(b, sizeof(d), MILTER_C_OPTNEG, &mark) == -1 ||
	    buf_append(b, d, sizeof(d)) == -1)
		return undo(b, mark);
	return 0;
}

int
milter_proto_macro(struct buf *b, char cmd, const struct milter_macro *m)
{
	size_t n = 1, i, mark;

	for (i = 0; m != NULL && m[i].name != NULL; i++)
		n += strlen(m[i].name) + 1 +
		    (m[i].value ? strlen(m[i].value) : 0) + 1;
	if (begin(b, n, MILTER_C_MACRO, &mark) == -1 ||
	    buf_appendc(b, cmd) == -1)
		return undo(b, mark);
	for (i = 0; m != NULL && m[i].name != NULL; i++)
		if (add_str(b, m[i].name) == -1 ||
		    add_str(b, m[i].value ? m[i].value : "") == -1)
			return undo(b, mark);
	return 0;
}

int
milter_proto_connect(struct buf *b, const char *hostname, char family,
    uint16_t port, const char *addr)
{
	unsigned char pb[2] = { (unsigned char)(port >> 8),
	    (unsigned char)port };
	size_t n = strlen(hostname) + 2, mark;
	int full;

	switch (family) {
	case MILTER_A_UNKNOWN:
		full = 0;
		break;
	case MILTER_A_UNIX:
	case MILTER_A_INET:
	case MILTER_A_INET6:
		full = 1;
		n += 2 + strlen(addr) + 1;
		break;
	default:
		return -1;
	}
	if (begin(b, n, MILTER_C_CONNECT, &mark) == -1 ||
	    add_str(b, hostname) == -1 || buf_appendc(b, family) == -1)
		return undo(b, mark);
	if (full && (buf_append(b, pb, 2) == -1 || add_str(b, addr) == -1))
		return undo(b, mark);
	return 0;
}

static int
one_string(struct buf *b, char cmd, const char *s)
{
	size_t mark;

	if (begin(b, strlen(s) + 1, cmd, &mark) == -1 || add_str(b, s) == -1)
		return undo(b, mark);
	return 0;
}

int
milter_proto_helo(struct buf *b, const char *helo)
{
	return one_string(b, MILTER_C_HELO, helo);
}

int
milter_proto_unknown(struct buf *b, const char *line)
{
	return one_string(b, MILTER_C_UNKNOWN, line);
}

static int
envelope(struct buf *b, char cmd, const char *addr, const char *const *args,
    size_t nargs)
{
	size_t n = strlen(addr) + 3, i, mark;

	for (i = 0; i < nargs; i++)
		n += strlen(args[i]) + 1;
	if (begin(b, n, cmd, &mark) == -1 || buf_appendc(b, '<') == -1 ||
	    buf_append(b, addr, strlen(addr)) == -1 ||
	    buf_append(b, ">", 2) == -1)
		return undo(b, mark);
	for (i = 0; i < nargs; i++)
		if (add_str(b, args[i]) == -1)
			return undo(b, mark);
	return 0;
}

int
milter_proto_mail(struct buf *b, const char *addr, const char *const *args,
    size_t nargs)
{
	return envelope(b, MILTER_C_MAIL, addr, args, nargs);
}

int
milter_proto_rcpt(struct buf *b, const char *addr, const char *const *args,
    size_t nargs)
{
	return envelope(b, MILTER_C_RCPT, addr, args, nargs);
}

int
milter_proto_header(struct buf *b, const char *name, const char *value,
    size_t vlen)
{
	size_t mark;

	if (memchr(value, '\0', vlen) != NULL)
		return -1;
	if (begin(b, strlen(name) + 1 + vlen + 1, MILTER_C_HEADER,
	    &mark) == -1 || add_str(b, name) == -1 ||
	    buf_append(b, value, vlen) == -1 || buf_appendc(b, '\0') == -1)
		return undo(b, mark);
	return 0;
}

int
milter_proto_body(struct buf *b, const void *p, size_t n)
{
	size_t mark;

	if (n > MILTER_CHUNK_MAX)
		return -1;
	if (begin(b, n, MILTER_C_BODY, &mark) == -1 ||
	    buf_append(b, p, n) == -1)
		return undo(b, mark);
	return 0;
}

const char *
milter_proto_reply_name(int kind)
{
	static const struct { int k; const char *n; } t[] = {
		{ MILTER_R_ADDRCPT, "SMFIR_ADDRCPT" },
		{ MILTER_R_DELRCPT, "SMFIR_DELRCPT" },
		{ MILTER_R_ADDRCPT_PAR, "SMFIR_ADDRCPT_PAR" },
		{ MILTER_R_SHUTDOWN, "SMFIR_SHUTDOWN" },
		{ MILTER_R_ACCEPT, "SMFIR_ACCEPT" },
		{ MILTER_R_REPLBODY, "SMFIR_REPLBODY" },
		{ MILTER_R_CONTINUE, "SMFIR_CONTINUE" },
		{ MILTER_R_DISCARD, "SMFIR_DISCARD" },
		{ MILTER_R_CHGFROM, "SMFIR_CHGFROM" },
		{ MILTER_R_CONN_FAIL, "SMFIR_CONN_FAIL" },
		{ MILTER_R_ADDHEADER, "SMFIR_ADDHEADER" },
		{ MILTER_R_INSHEADER, "SMFIR_INSHEADER" },
		{ MILTER_R_SETSYMLIST, "SMFIR_SETSYMLIST" },
		{ MILTER_R_CHGHEADER, "SMFIR_CHGHEADER" },
		{ MILTER_R_PROGRESS, "SMFIR_PROGRESS" },
		{ MILTER_R_QUARANTINE, "SMFIR_QUARANTINE" },
		{ MILTER_R_REJECT, "SMFIR_REJECT" },
		{ MILTER_R_SKIP, "SMFIR_SKIP" },
		{ MILTER_R_TEMPFAIL, "SMFIR_TEMPFAIL" },
		{ MILTER_R_REPLYCODE, "SMFIR_REPLYCODE" },
		{ MILTER_C_OPTNEG, "SMFIC_OPTNEG" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].k == kind)
			return t[i].n;
	return "unknown";
}
