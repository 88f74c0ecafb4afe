/*
 * greylist — RFC 6647 greylisting (filter `greylist DELAY [AUTO-ALLOW]`,
 * postern.conf(5), docs/greylisting.md), over an explicit clock.
 *
 * A triplet is (the client's network: its /24 for IPv4, its /64 for IPv6;
 * the sender, lowercased; the recipient, lowercased), scoped by virtual
 * server.  The first time a triplet is seen it is deferred (451 4.7.1),
 * and so is every retry before DELAY has passed; a retry after DELAY
 * passes, the triplet is then remembered as passed for GREYLIST_PASS_SECS
 * (postgrey's max-age), and with AUTO-ALLOW the client's network is let
 * through without greylisting for AUTO-ALLOW; both run from the pass (a
 * message that is let through renews neither, so that the shared store
 * needs no write per message).  A triplet that is not retried
 * is forgotten DELAY + GREYLIST_RETRY_SECS after it was first seen.
 *
 * Pure: the caller passes the time (seconds on a monotonic clock,
 * ratelimit_now()), so tests step it by hand.  At most `max_keys` entries
 * (triplets and allowed clients) are kept; past that the least recently
 * seen one is forgotten, which can only let a client through (fail open),
 * never defer anyone wrongly.  One table per event loop; not thread-safe.
 *
 * The keys are also the shared store's (smtp_limits.c: "grey:" +
 * triplet, "greyok:" + client or triplet): short, printable, without the
 * addresses themselves (the sender and recipient are hashed).
 */
#ifndef POSTERN_GREYLIST_H
#define POSTERN_GREYLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GREYLIST_KEYS_MAX	65536		/* entries of a table */
#define GREYLIST_RETRY_SECS	(4 * 3600)	/* a triplet not retried
						   lives DELAY + this */
#define GREYLIST_PASS_SECS	(35 * 86400)	/* a passed triplet */
#define GREYLIST_KEY_MAX	200		/* bytes of a key */

enum greylist_verdict {
	GREYLIST_NEW,		/* first seen now: defer */
	GREYLIST_EARLY,		/* retried before DELAY: defer */
	GREYLIST_PASS,		/* retried after DELAY: passes now */
	GREYLIST_KNOWN,		/* a triplet that passed before, or an
				   auto-allowed client: passes */
};

/* Defer (451 4.7.1)? */
#define GREYLIST_DEFERS(v)	((v) == GREYLIST_NEW || (v) == GREYLIST_EARLY)

struct greylist_key {
	char	client[GREYLIST_KEY_MAX];	/* "VS:NET" */
	char	triplet[GREYLIST_KEY_MAX];	/* "VS:NET:HASH" */
};

/* The keys of (virtual server, client address, sender, recipient);
 * sender "" is the null sender.  Case does not matter. */
void	greylist_key(struct greylist_key *k, const char *vsname,
	    const struct sockaddr *client, const char *sender,
	    const char *rcpt);
/* "192.0.2.0/24", "2001:db8:1:2::/64" (an IPv4-mapped IPv6 client is
 * IPv4) into buf of at least 64 bytes. */
const char *greylist_net(const struct sockaddr *sa, char *buf, size_t len);

struct greylist;

struct greylist *greylist_new(size_t max_keys);	/* 0: the default */
void	greylist_free(struct greylist *gl);

/*
 * The verdict on k at `now` for DELAY delay_s and AUTO-ALLOW allow_s (0:
 * none).  With record 0 nothing changes (posternctl trace); else the
 * triplet is remembered, a pass marks it, and auto-allows its client.
 */
enum greylist_verdict greylist_check(struct greylist *gl,
	    const struct greylist_key *k, unsigned delay_s, unsigned allow_s,
	    uint64_t now, int record);

/* The verdict from what the shared store says: whether the pass key
 * ("greyok:") exists, and the triplet's age (kv_first_seen: 0 when first
 * seen now). */
enum greylist_verdict greylist_decide(int allowed, long long age,
	    unsigned delay_s);

/* Entries held now. */
size_t	greylist_keys(const struct greylist *gl);

#endif
