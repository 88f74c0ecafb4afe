/*
 * smtp_msgauth_keys — the DKIM signing keys of a configuration: read
 * when it is loaded (as root at start, as the run user on reload), kept
 * with the snapshot, and turned into a signer per message for a virtual
 * server's `dkim-sign`.
 */
#ifndef POSTERN_SMTP_MSGAUTH_KEYS_H
#define POSTERN_SMTP_MSGAUTH_KEYS_H

#include <stddef.h>
#include <time.h>

#include "dkim_sign.h"

struct conf;
struct conf_vserver;

#define SMTP_SIGN_KEYS_MAX	8

/* The keys a signer signs with: it keeps pointers to them, so they live
 * as long as it does (in the caller's state). */
struct smtp_msgauth_keyset {
	struct dkim_sign_key		 k[SMTP_SIGN_KEYS_MAX];
	const struct dkim_sign_key	*kp[SMTP_SIGN_KEYS_MAX];
	size_t				 n;
};

/* Read every dkim-key's file: 0, or -1 with "FILE:LINE: ..." in err (a
 * key that cannot be read, or is weak: RSA under 2048 bits). */
int	smtp_msgauth_keys_load(struct conf *c, char *err, size_t errlen);
/* A signer with the server's keys for a message whose From: domain is
 * from_domain: the keys of that domain or a parent of it, put in ks;
 * NULL when none applies. */
struct dkim_signer *smtp_msgauth_keys_signer(const struct conf_vserver *vs,
	    const char *from_domain, time_t now,
	    struct smtp_msgauth_keyset *ks);

#endif
