/*
 * be32 — 32-bit big-endian integers in byte buffers, for the length
 * prefixes of the wire formats postern speaks (the control socket's
 * frames, the milter protocol's packets).
 */
#ifndef POSTERN_BE32_H
#define POSTERN_BE32_H

#include <stdint.h>

static inline void
be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline uint32_t
be32_get(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

#endif
