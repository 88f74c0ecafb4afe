/*
 * authdns_resolver — the evaluators' DNS interface on a live resolver
 * profile (dns/resolver.h).
 */
#ifndef POSTERN_AUTHDNS_RESOLVER_H
#define POSTERN_AUTHDNS_RESOLVER_H

#include "authdns.h"

struct resolver;

struct authdns authdns_resolver(struct resolver *r);

#endif
