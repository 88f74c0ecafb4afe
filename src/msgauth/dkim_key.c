/*
 * dkim_key — load and check a DKIM signing key (dkim_key.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>

#include "dkim_key.h"

EVP_PKEY *
dkim_key_load(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *k;
	FILE *f;
	int type;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		snprintf(err, errlen, "%s: not a PEM private key", path);
		return NULL;
	}
	type = EVP_PKEY_get_base_id(k);
	if (type == EVP_PKEY_ED25519)
		return k;
	if (type != EVP_PKEY_RSA) {
		const char *name = EVP_PKEY_get0_type_name(k);

		snprintf(err, errlen, "%s: key type %s (RSA or Ed25519 needed)",
		    path, name != NULL ? name : "unknown");
	} else if (EVP_PKEY_get_bits(k) < DKIM_KEY_RSA_MIN) {
		snprintf(err, errlen, "%s: RSA key of %d bits, at least %d "
		    "needed", path, EVP_PKEY_get_bits(k), DKIM_KEY_RSA_MIN);
	} else
		return k;
	EVP_PKEY_free(k);
	return NULL;
}
