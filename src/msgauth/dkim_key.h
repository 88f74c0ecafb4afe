/*
 * dkim_key — the signing keys of `dkim-key` blocks: a PEM private key
 * file, RSA of at least 2048 bits or Ed25519 (RFC 8301 3.2 says signers
 * MUST use at least 1024 and SHOULD use 2048; RFC 8463).  Loaded at start
 * and on reload, so a key that cannot be used is a configuration error
 * with the file's name, never a failure at signing time.
 */
#ifndef POSTERN_DKIM_KEY_H
#define POSTERN_DKIM_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

#define DKIM_KEY_RSA_MIN	2048

/*
 * The key in path, or NULL with a message in err: "FILE: cannot read:
 * ...", "FILE: not a PEM private key", "FILE: RSA key of 1024 bits, at
 * least 2048 needed", "FILE: key type ... (RSA or Ed25519 needed)".
 */
EVP_PKEY *dkim_key_load(const char *path, char *err, size_t errlen);

#endif
