/*
 * base64 — the alphabet of RFC 4648 section 4, for the decoders that
 * differ in what else they accept (SASL's strict canonical form in
 * smtpd/auth_sasl.c; DKIM's values with folding white space in
 * msgauth/dkim_sig.c).
 */
#ifndef POSTERN_BASE64_H
#define POSTERN_BASE64_H

/* The 6-bit value of an alphabet character, or -1 (padding included). */
int	base64_value(unsigned char c);

#endif
