/*
 * milter_proto — the Sendmail milter protocol (version 6), MTA side, as a
 * pure codec: no socket, no state (docs/milter.md).
 *
 * Every packet is a 4-octet big-endian length, then that many octets: a
 * command (MTA to filter) or reply (filter to MTA) letter and its data.
 * The encoders append one whole packet to a struct buf (lib/buf.h) or
 * nothing (the buf's own limit, or an argument that cannot be sent); the
 * framer finds one packet in received bytes, bounded by the caller's
 * maximum; the decoder takes one reply packet apart into a struct
 * milter_reply whose strings point into the packet (valid while it is),
 * each checked to be NUL-terminated inside it.  Anything malformed is an
 * error with a static message, never a crash.  The constants keep the
 * libmilter names (include/libmilter/mfdef.h) in their comments.
 */
#ifndef POSTERN_MILTER_PROTO_H
#define POSTERN_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MILTER_VERSION		6		/* SMFI_PROT_VERSION */
#define MILTER_PACKET_MAX	(512 * 1024)	/* a reply: letter and data */
#define MILTER_CHUNK_MAX	65535		/* MILTER_CHUNK_SIZE: one body
						   packet's data */

/* Commands, MTA to filter (SMFIC_*). */
#define MILTER_C_ABORT		'A'
#define MILTER_C_BODY		'B'
#define MILTER_C_CONNECT	'C'
#define MILTER_C_MACRO		'D'
#define MILTER_C_BODYEOB	'E'
#define MILTER_C_HELO		'H'
#define MILTER_C_QUIT_NC	'K'
#define MILTER_C_HEADER		'L'
#define MILTER_C_MAIL		'M'
#define MILTER_C_EOH		'N'
#define MILTER_C_OPTNEG		'O'	/* also the filter's answer to it */
#define MILTER_C_QUIT		'Q'
#define MILTER_C_RCPT		'R'
#define MILTER_C_DATA		'T'
#define MILTER_C_UNKNOWN	'U'

/* Replies, filter to MTA (SMFIR_*). */
#define MILTER_R_ADDRCPT	'+'
#define MILTER_R_DELRCPT	'-'
#define MILTER_R_ADDRCPT_PAR	'2'
#define MILTER_R_SHUTDOWN	'4'
#define MILTER_R_ACCEPT		'a'
#define MILTER_R_REPLBODY	'b'
#define MILTER_R_CONTINUE	'c'
#define MILTER_R_DISCARD	'd'
#define MILTER_R_CHGFROM	'e'
#define MILTER_R_CONN_FAIL	'f'
#define MILTER_R_ADDHEADER	'h'
#define MILTER_R_INSHEADER	'i'
#define MILTER_R_SETSYMLIST	'l'
#define MILTER_R_CHGHEADER	'm'
#define MILTER_R_PROGRESS	'p'
#define MILTER_R_QUARANTINE	'q'
#define MILTER_R_REJECT		'r'
#define MILTER_R_SKIP		's'
#define MILTER_R_TEMPFAIL	't'
#define MILTER_R_REPLYCODE	'y'

/* Actions the filter may ask for (SMFIF_*). */
#define MILTER_F_ADDHDRS	0x001u
#define MILTER_F_CHGBODY	0x002u
#define MILTER_F_ADDRCPT	0x004u
#define MILTER_F_DELRCPT	0x008u
#define MILTER_F_CHGHDRS	0x010u
#define MILTER_F_QUARANTINE	0x020u
#define MILTER_F_CHGFROM	0x040u
#define MILTER_F_ADDRCPT_PAR	0x080u
#define MILTER_F_SETSYMLIST	0x100u

/* Protocol steps (SMFIP_*): what the filter does not want sent, and
 * which replies it will not send. */
#define MILTER_P_NOCONNECT	0x000001u
#define MILTER_P_NOHELO		0x000002u
#define MILTER_P_NOMAIL		0x000004u
#define MILTER_P_NORCPT		0x000008u
#define MILTER_P_NOBODY		0x000010u
#define MILTER_P_NOHDRS		0x000020u
#define MILTER_P_NOEOH		0x000040u
#define MILTER_P_NR_HDR		0x000080u
#define MILTER_P_NOUNKNOWN	0x000100u
#define MILTER_P_NODATA		0x000200u
#define MILTER_P_SKIP		0x000400u	/* MTA understands SKIP */
#define MILTER_P_RCPT_REJ	0x000800u
#define MILTER_P_NR_CONN	0x001000u
#define MILTER_P_NR_HELO	0x002000u
#define MILTER_P_NR_MAIL	0x004000u
#define MILTER_P_NR_RCPT	0x008000u
#define MILTER_P_NR_DATA	0x010000u
#define MILTER_P_NR_UNKN	0x020000u
#define MILTER_P_NR_EOH		0x040000u
#define MILTER_P_NR_BODY	0x080000u
#define MILTER_P_HDR_LEADSPC	0x100000u

/* Address families of SMFIC_CONNECT (SMFIA_*). */
#define MILTER_A_UNKNOWN	'U'
#define MILTER_A_UNIX		'L'
#define MILTER_A_INET		'4'
#define MILTER_A_INET6		'6'

/* Macro classes of the negotiation's lists (SMFIM_*). */
enum milter_macro_class {
	MILTER_M_CONNECT, MILTER_M_HELO, MILTER_M_ENVFROM, MILTER_M_ENVRCPT,
	MILTER_M_DATA, MILTER_M_EOM, MILTER_M_EOH,
	MILTER_M_CLASSES
};

/* A macro as it goes on the wire: "{daemon_name}", "j". */
struct milter_macro {
	const char	*name;
	const char	*value;
};

/* Bytes inside a packet; p[len] is the NUL that ended them. */
struct milter_span {
	const char	*p;
	size_t		 len;
};

struct milter_reply {
	int		 kind;		/* MILTER_R_*, or MILTER_C_OPTNEG */
	uint32_t	 index;		/* INSHEADER, CHGHEADER; SETSYMLIST:
					   the macro class */
	/* header name; recipient; sender; REPLYCODE text; quarantine
	 * reason; SETSYMLIST names */
	struct milter_span a;
	struct milter_span b;		/* header value; ESMTP arguments */
	const unsigned char *data;	/* REPLBODY chunk */
	size_t		 datalen;
	unsigned	 code;		/* REPLYCODE: 400..599 */
	/* OPTNEG: the filter's version, actions, protocol steps, and the
	 * macro lists after them (milter_proto_symlist_next) */
	uint32_t	 version, actions, protocol;
	const unsigned char *lists;
	size_t		 listslen;
};

enum milter_proto_status {
	MILTER_PROTO_MORE,		/* not a whole packet yet */
	MILTER_PROTO_OK,
	MILTER_PROTO_BAD,
};

/*
 * One packet at the start of p[0..len): on OK *total is its size with the
 * length field (the packet's letter is p[4], its data p[5..*total)).  A
 * length of 0 or past max is BAD (*why says which).  Only the 4-octet
 * length field is read: len may count octets not yet copied out (as
 * milter_conn.c does with its input buffer).
 */
enum milter_proto_status milter_proto_frame(const void *p, size_t len,
	    size_t max, size_t *total, const char **why);
/* One reply packet: letter and data (without the length field).  0 or -1
 * with *why. */
int	milter_proto_decode(const void *pkt, size_t len, struct milter_reply *r,
	    const char **why);
/*
 * The next (class, names) of an OPTNEG reply's lists or a SETSYMLIST;
 * 1, 0 at the end, -1 when malformed (the decoder has checked them, so -1
 * only on bytes it has not seen).  Advances *p and *len.
 */
int	milter_proto_symlist_next(const unsigned char **p, size_t *len,
	    uint32_t *cls, struct milter_span *names);
/* A 3-digit SMTP reply code with 4 or 5 first, then ' ', '-' or the end;
 * the enhanced code, if any, starts with the same digit. */
int	milter_proto_replycode_ok(const char *text, size_t len,
	    unsigned *code);
/* A header name: 1-MILTER_HEADER_NAME_MAX printable octets, no ':'. */
#define MILTER_HEADER_NAME_MAX	256
int	milter_proto_header_name_ok(const char *name, size_t len);

/*
 * Encoders: append one packet, 0; or -1 with b unchanged (b->max reached,
 * a body chunk over MILTER_CHUNK_MAX, a bad family).
 */
int	milter_proto_optneg(struct buf *b, uint32_t version, uint32_t actions,
	    uint32_t protocol);
/* SMFIC_MACRO for the command letter cmd; macros ends at a NULL name
 * (NULL: none).  A NULL value is sent as "". */
int	milter_proto_macro(struct buf *b, char cmd,
	    const struct milter_macro *macros);
/* family MILTER_A_*: port and addr only for 4, 6 and L (addr: the
 * numeric address or the socket path). */
int	milter_proto_connect(struct buf *b, const char *hostname, char family,
	    uint16_t port, const char *addr);
int	milter_proto_helo(struct buf *b, const char *helo);
/* MAIL and RCPT: "<addr>" (addr without brackets; "" is the null path),
 * then each ESMTP argument, every one NUL-terminated. */
int	milter_proto_mail(struct buf *b, const char *addr,
	    const char *const *args, size_t nargs);
int	milter_proto_rcpt(struct buf *b, const char *addr,
	    const char *const *args, size_t nargs);
/* name NUL, value (vlen octets, no NUL inside) NUL. */
int	milter_proto_header(struct buf *b, const char *name, const char *value,
	    size_t vlen);
int	milter_proto_body(struct buf *b, const void *p, size_t n);
int	milter_proto_unknown(struct buf *b, const char *line);
/* Commands without data: DATA, EOH, BODYEOB, ABORT, QUIT, QUIT_NC. */
int	milter_proto_simple(struct buf *b, char cmd);

/* "SMFIR_ACCEPT"-style name of a reply letter, for logs ("unknown"). */
const char *milter_proto_reply_name(int kind);

#endif
