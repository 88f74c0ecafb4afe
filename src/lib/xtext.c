/*
 * xtext — RFC 3461 section 4; see xtext.h.
 */
#include "xtext.h"

#include <string.h>

#include "xmalloc.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
xchar(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}

int
xtext_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			if (n - i < 3 || hexval((unsigned char)s[i + 1]) < 0 ||
			    hexval((unsigned char)s[i + 2]) < 0)
				return 0;
			i += 2;
		} else if (!xchar((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

size_t
xtext_encode(char *out, size_t len, const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (len == 0)
		return 0;
	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (xchar(c)) {
			if (o + 1 >= len)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= len)
				break;
			out[o++] = '+';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return o;
}

char *
xtext_decode(const char *in)
{
	size_t i, n = 0, len = strlen(in);
	char *out;

	if (!xtext_valid(in, len))
		return NULL;
	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (in[i] == '+') {
			out[n++] = (char)(hexval((unsigned char)in[i + 1]) << 4 |
			    hexval((unsigned char)in[i + 2]));
			i += 2;
		} else
			out[n++] = in[i];
	}
	out[n] = '\0';
	return out;
}
