/*
 * msg_header — the header section of a message, collected as the message
 * streams to the spool, for the checks that read header fields at the end
 * of the data (DKIM and ARC: the signed fields; DMARC: From; the removal of
 * forged Authentication-Results).  The body is not kept: msg_header_feed
 * says where it begins, and the caller hands those bytes to body hashes.
 *
 * Input is the message as stored: CRLF line ends, dot-stuffing undone.
 * The section ends at the first empty line (its CRLF belongs to neither
 * the header nor the body, as RFC 6376 3.7 counts the body).  A message
 * without an empty line is all header.  Bounded: MSG_HEADER_MAX bytes and
 * MSG_HEADER_FIELDS_MAX fields are kept; past either, `overflow` is set
 * and the rest of the section is skipped (the checks then give their
 * permanent-error result rather than judge a header they did not see).
 */
#ifndef POSTERN_MSG_HEADER_H
#define POSTERN_MSG_HEADER_H

#include <stddef.h>
#include <stdint.h>

#define MSG_HEADER_MAX		(256 * 1024)
#define MSG_HEADER_FIELDS_MAX	1000

struct msg_field {
	size_t		 off;		/* in buf: the field's first byte */
	size_t		 len;		/* the whole field, continuation
					   lines and the final CRLF included */
	size_t		 namelen;	/* the name, before the colon (no
					   blanks); 0: a line without a colon */
	uint64_t	 stream_off;	/* where the field starts in the
					   message as fed */
};

struct msg_header {
	char		*buf;		/* the fields as fed, back to back */
	size_t		 len;
	size_t		 cap;
	struct msg_field *f;
	size_t		 nf;
	size_t		 fcap;
	uint64_t	 fed;		/* bytes of the stream seen */
	uint64_t	 body_off;	/* done: where the body starts */
	int		 done;		/* the empty line was seen */
	int		 overflow;	/* a bound was hit: fields missing */
	int		 state;		/* line-start tracking (private) */
};

void	msg_header_init(struct msg_header *h);
void	msg_header_free(struct msg_header *h);
/*
 * The next bytes of the message: how many of p[0..n) belong to the
 * header section (the separating empty line included); p[ret..n) is body.
 * Once done, it returns 0.
 */
size_t	msg_header_feed(struct msg_header *h, const char *p, size_t n);
/* The end of the message: a field still open is closed. */
void	msg_header_end(struct msg_header *h);

/* Field i's name is `name` (case-insensitive). */
int	msg_field_is(const struct msg_header *h, size_t i, const char *name);
/* The value of field i: after the colon up to, not including, the final
 * CRLF (folding kept). */
const char *msg_field_value(const struct msg_header *h, size_t i,
	    size_t *len);
/* The raw field, as fed (name, colon, value, CRLF). */
const char *msg_field_raw(const struct msg_header *h, size_t i, size_t *len);
/* The number of fields named `name`. */
size_t	msg_header_count(const struct msg_header *h, const char *name);

#endif
