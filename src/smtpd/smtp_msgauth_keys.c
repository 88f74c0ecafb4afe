/*
 * smtp_msgauth_keys — DKIM keys of a configuration snapshot; see
 * smtp_msgauth_keys.h.
 */
#include "smtp_msgauth_keys.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "dkim_key.h"

int
smtp_msgauth_keys_load(struct conf *c, char *err, size_t errlen)
{
	char why[256];

	for (size_t i = 0; i < c->ndkim_keys; i++) {
		struct conf_dkim_key *k = c->dkim_keys[i];

		if (k->pkey != NULL)
			continue;
		if ((k->pkey = dkim_key_load(k->key_file, why,
		    sizeof(why))) == NULL) {
			snprintf(err, errlen, "%s:%d: dkim-key %s: %s", c->path,
			    k->line, k->name, why);
			return -1;
		}
	}
	return 0;
}

/* from is the key's domain or one of its subdomains. */
static int
covers(const char *keydom, const char *from)
{
	size_t kl = strlen(keydom), fl = strlen(from);

	if (fl < kl || strcasecmp(from + fl - kl, keydom) != 0)
		return 0;
	return fl == kl || from[fl - kl - 1] == '.';
}

struct dkim_signer *
smtp_msgauth_keys_signer(const struct conf_vserver *vs,
    const char *from_domain, time_t now, struct smtp_msgauth_keyset *ks)
{
	struct dkim_sign_key *keys = ks->k;
	size_t n = 0;

	ks->n = 0;
	if (from_domain == NULL)
		return NULL;
	for (size_t i = 0; i < vs->ndkim_sign && n < SMTP_SIGN_KEYS_MAX;
	    i++) {
		const struct conf_dkim_key *k = vs->dkim_sign_keys[i];

		if (k->pkey == NULL || !covers(k->domain, from_domain))
			continue;
		keys[n].pkey = k->pkey;
		keys[n].domain = k->domain;
		keys[n].selector = k->selector;
		keys[n].headers = (const char *const *)k->headers;
		keys[n].nheaders = k->nheaders;
		ks->kp[n] = &keys[n];
		n++;
	}
	ks->n = n;
	if (n == 0)
		return NULL;
	return dkim_signer_new(ks->kp, n, now);
}
