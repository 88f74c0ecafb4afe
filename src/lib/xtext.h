/*
 * xtext — the encoding of RFC 3461 section 4 (DSN ENVID and ORCPT, AUTH=
 * in MAIL): xchar is "!".."~" except "+" and "=", and any other octet is
 * "+" and two upper-case hex digits.  One implementation for the parser
 * that checks what clients send, the SMTP client that passes values on,
 * the session that writes ORCPT, and the DSN that shows them decoded.
 */
#ifndef POSTERN_XTEXT_H
#define POSTERN_XTEXT_H

#include <stddef.h>

/* s[0..n) is non-empty, well-formed xtext: 1, else 0. */
int	xtext_valid(const char *s, size_t n);
/* Encode the string in into out (len bytes, NUL-terminated); encoding
 * stops at a character that would not fit.  Returns the length written. */
size_t	xtext_encode(char *out, size_t len, const char *in);
/* The decoded value (malloc'ed), or NULL if in is not valid xtext. */
char	*xtext_decode(const char *in);

#endif
