/*
 * auth_sasl — the SASL PLAIN (RFC 4616) and LOGIN decoders and strict
 * base64 (RFC 4648); see auth.h.
 *
 * Pure: no allocation, no I/O, no global state; every function works on
 * the buffers it is given and never reads past len, so each is table
 * tested and fuzzed on its own.  Intermediate plaintext (the decoded PLAIN
 * message, which holds the password) is wiped before returning.
 */
#include "auth.h"
#include "base64.h"

#include <openssl/crypto.h>
#include <string.h>

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long
auth_base64_decode(const char *in, size_t len, unsigned char *out,
    size_t outlen)
{
	size_t i, o = 0, pad = 0;
	int v[4];

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		for (int k = 0; k < 4; k++) {
			/* '=' only as the padding of the last group */
			if (in[i + k] == '=' && i + 4 == len &&
			    k >= 4 - (int)pad)
				v[k] = 0;
			else if ((v[k] = base64_value(
			    (unsigned char)in[i + k])) < 0)
				return -1;
		}
		if (i + 4 == len && pad > 0) {
			/* the unused bits must be zero (canonical form) */
			if ((pad == 2 && (v[1] & 0x0f)) ||
			    (pad == 1 && (v[2] & 0x03)))
				return -1;
		}
		if (o + 3 - (i + 4 == len ? pad : 0) > outlen)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (i + 4 < len || pad < 2)
			out[o++] = (unsigned char)((v[1] & 0x0f) << 4 |
			    v[2] >> 2);
		if (i + 4 < len || pad < 1)
			out[o++] = (unsigned char)((v[2] & 0x03) << 6 | v[3]);
	}
	return (long)o;
}

long
auth_base64_encode(const unsigned char *in, size_t len, char *out,
    size_t outlen)
{
	size_t i, o = 0;
	unsigned v;

	if (outlen == 0 || (len + 2) / 3 * 4 >= outlen)
		return -1;
	for (i = 0; i < len; i += 3) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (long)o;
}

static int
is_cancel(const char *resp, size_t len)
{
	return len == 1 && resp[0] == '*';
}

enum auth_sasl_status
auth_sasl_plain(const char *resp, size_t len, char *user, char *pass)
{
	/* authzid, authcid, passwd and two NULs */
	unsigned char msg[2 * AUTH_USER_MAX + AUTH_PASS_MAX + 2];
	const unsigned char *a, *u, *p, *end;
	enum auth_sasl_status st = AUTH_SASL_BAD_FORMAT;
	long n;

	user[0] = pass[0] = '\0';
	if (is_cancel(resp, len))
		return AUTH_SASL_CANCEL;
	if (len == 1 && resp[0] == '=')
		return AUTH_SASL_BAD_FORMAT;	/* the empty response */
	if (len > 4 * ((sizeof(msg) + 2) / 3) ||
	    (n = auth_base64_decode(resp, len, msg, sizeof(msg))) < 0)
		return len > 4 * ((sizeof(msg) + 2) / 3) ?
		    AUTH_SASL_BAD_FORMAT : AUTH_SASL_BAD_BASE64;
	end = msg + n;
	a = msg;
	if ((u = memchr(a, '\0', (size_t)(end - a))) == NULL)
		goto out;
	u++;
	if ((p = memchr(u, '\0', (size_t)(end - u))) == NULL)
		goto out;
	p++;
	if (memchr(p, '\0', (size_t)(end - p)) != NULL)
		goto out;
	if (u - a - 1 > 0 && (u - a != p - u ||
	    memcmp(a, u, (size_t)(u - a - 1)) != 0))
		goto out;	/* acting for another user: not offered */
	if (p - u - 1 == 0 || p - u - 1 > AUTH_USER_MAX || end == p ||
	    end - p > AUTH_PASS_MAX)
		goto out;
	memcpy(user, u, (size_t)(p - u));	/* with its NUL */
	memcpy(pass, p, (size_t)(end - p));
	pass[end - p] = '\0';
	st = AUTH_SASL_OK;
out:
	OPENSSL_cleanse(msg, sizeof(msg));
	return st;
}

enum auth_sasl_status
auth_sasl_login(const char *resp, size_t len, char *out, size_t max)
{
	unsigned char buf[AUTH_PASS_MAX > AUTH_USER_MAX ? AUTH_PASS_MAX + 3 :
	    AUTH_USER_MAX + 3];
	enum auth_sasl_status st = AUTH_SASL_BAD_FORMAT;
	long n;

	out[0] = '\0';
	if (is_cancel(resp, len))
		return AUTH_SASL_CANCEL;
	if (max > sizeof(buf) - 3)
		max = sizeof(buf) - 3;
	if (len > 4 * ((sizeof(buf) + 2) / 3))
		return AUTH_SASL_BAD_FORMAT;
	if ((n = auth_base64_decode(resp, len, buf, sizeof(buf))) < 0)
		return AUTH_SASL_BAD_BASE64;
	if (n > 0 && (size_t)n <= max && memchr(buf, '\0', (size_t)n) ==
	    NULL) {
		memcpy(out, buf, (size_t)n);
		out[n] = '\0';
		st = AUTH_SASL_OK;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return st;
}

void
auth_log_name(const char *user, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; user[i] != '\0' && i + 1 < outlen; i++)
		out[i] = user[i] > ' ' && user[i] < 0x7f && user[i] != '"' ?
		    user[i] : '?';
	out[i] = '\0';
}
