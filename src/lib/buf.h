/*
 * buf — an owned byte buffer with a hard upper limit.
 *
 * Contract: b->p holds b->len bytes and is always NUL-terminated (the NUL is
 * not counted in len), so text can be passed to C string functions.  Appends
 * that would take len past b->max fail with -1 and leave the buffer as it
 * was: a limit is a result the caller turns into a protocol reply, never a
 * crash or a silent truncation.  buf_free releases the storage; the struct
 * itself belongs to whoever embeds it.
 */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stddef.h>

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
};

void	buf_init(struct buf *b, size_t max);
void	buf_free(struct buf *b);
void	buf_reset(struct buf *b);
int	buf_append(struct buf *b, const void *data, size_t len);
int	buf_appendc(struct buf *b, char c);
int	buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void	buf_consume(struct buf *b, size_t n);
/* Hand the storage to the caller (who frees it); the buf is reset. */
char	*buf_release(struct buf *b, size_t *len);

#endif
