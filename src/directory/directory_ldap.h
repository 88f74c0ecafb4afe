/*
 * directory_ldap — private interface of the LDAP directory backend, shared
 * by its two files and its unit test (docs/ldap.md):
 *
 *   directory_ldap.c       the backend: settings, password file, the
 *                          filter with the address put in (RFC 4515
 *                          escaping), and the pure functions that turn
 *                          the entries found into one answer;
 *   directory_ldap_group.c groups whose members are DNs (member-attribute):
 *                          each member entry read, nested groups followed;
 *   directory_ldap_conn.c  the connections: one per uri, opened (and
 *                          bound, StartTLS'd) on worker threads, searched
 *                          asynchronously on the event loop, failing over
 *                          to the next uri, reconnecting with backoff;
 *   directory_ldap_open.c  opening one connection (worker thread), and
 *                          making it non-blocking for the loop, its writes
 *                          watched.
 *
 * Loop thread only, except directory_ldap_open() (the connect jobs of
 * directory_ldap_conn.c).
 */
#ifndef POSTERN_DIRECTORY_LDAP_H
#define POSTERN_DIRECTORY_LDAP_H

#include <stddef.h>

#include "directory.h"
#include "postern_limits.h"

/* host, alias, member and the attributes of the filter's items */
#define DL_ATTRS_MAX	(3 + LDAP_FILTER_ITEMS_MAX)

/* ---- directory_ldap.c: pure helpers ---- */

/*
 * Escape an assertion value as RFC 4515 says: * ( ) \ NUL become \2a \28
 * \29 \5c \00, and so does every other byte outside printable ASCII.
 * Writes at most outlen bytes, NUL included; returns the length the whole
 * would need (as snprintf does).
 */
size_t	directory_ldap_escape(const char *in, size_t inlen, char *out,
	    size_t outlen);
/*
 * The filter for a key ("local@domain" or "@domain"): %s the key, %u the
 * local part ("" for "@domain"), %d the domain, each escaped; %% is %.
 * 0, or -1 if it does not fit in outlen.
 */
int	directory_ldap_filter(const char *tmpl, const char *key, char *out,
	    size_t outlen);

/* An (ATTR=VALUE) item of the filter whose value holds the address (%s,
 * or %u), without wildcards: an entry that has ATTR=VALUE exactly is the
 * address's own entry, not a catch-all that the filter also matches. */
struct dl_item {
	char	*attr;
	char	*tmpl;		/* the value, \XX escapes decoded */
};

/* The items of a filter template, at most max; free with _items_free. */
size_t	directory_ldap_items(const char *tmpl, struct dl_item *items,
	    size_t max);
void	directory_ldap_items_free(struct dl_item *items, size_t n);
/* 1 if value equals the item's value for key (case-insensitively). */
int	directory_ldap_item_match(const struct dl_item *it, const char *key,
	    const char *value);

/*
 * The mailbox server a host-attribute value names, into out: "local", a
 * host name, [IP], NAME:PORT...; an Exchange legacy DN such as
 * "/o=Org/ou=Admin Group/cn=Configuration/cn=Servers/cn=MBX1" names its
 * last cn ("mbx1").  0, or -1 if it names no valid server.
 */
int	directory_ldap_host(const char *value, char *out, size_t outlen);

/*
 * The address an entry holds in value of an item's attribute: the item's
 * value is PREFIX%sSUFFIX (no %u, %d), and value is PREFIX, an address,
 * SUFFIX (prefix and suffix compared case-insensitively), as
 * "smtp:ericm@winery-co.co" for (proxyAddresses=smtp:%s).  0 with the
 * address in out, or -1.
 */
int	directory_ldap_item_addr(const struct dl_item *it, const char *value,
	    char *out, size_t outlen);

/* One entry found, as the classifier sees it. */
struct dl_found {
	const char		 *dn;
	const char		 *host;	/* first host value, or NULL */
	const char *const	 *members;	/* alias values */
	size_t			  nmembers;
	int			  exact;	/* an item matches the key */
};

/*
 * The answer for the entries found: none is NOTFOUND; one answers; among
 * several, the only exact one answers, else it is "found twice"
 * (TEMPFAIL).  An entry with alias values is an ALIAS, else one with a
 * valid host a MAILBOX (host normalised into hostbuf), else: no host is
 * NOTFOUND, a bad host TEMPFAIL.  why says what happened (for logs).
 */
/* The entry of f that answers (as directory_ldap_classify picks it), or
 * -1: none, or several and not exactly one exact. */
int	directory_ldap_pick(const struct dl_found *f, size_t n);
enum dir_status directory_ldap_classify(const struct dl_found *f, size_t n,
	    struct dir_entry *e, char *hostbuf, size_t hostlen, char *why,
	    size_t whylen);

/* What a search's LDAP result code means. */
enum dl_rc {
	DL_RC_OK,		/* the entries are the answer */
	DL_RC_NEXT,		/* that server is in trouble: next uri */
	DL_RC_FAIL		/* no answer for this key: TEMPFAIL */
};
enum dl_rc directory_ldap_rc(int ldap_rc);

/* ---- directory_ldap_conn.c: connections and searches ---- */

struct dl_settings {
	char		**uris;
	size_t		  nuris;
	char		 *base;
	char		 *bind_dn;	/* NULL: anonymous */
	char		 *password;	/* with bind_dn */
	int		  starttls;
	char		 *tls_ca;	/* NULL: libldap's global context */
	unsigned	  timeout;	/* seconds, per search */
	char		 *attrs[DL_ATTRS_MAX + 1]; /* NULL-terminated */
	size_t		  nattrs;
};

struct dl_rawentry {
	char	 *dn;
	char	**vals[DL_ATTRS_MAX];	/* per attribute of settings */
	size_t	  nvals[DL_ATTRS_MAX];
};

struct dl_answer {
	struct dl_rawentry	*e;
	size_t			 n;
};

enum dl_status { DL_OK, DL_FAIL };

/* Runs on the loop, never inside directory_ldap_conn_search() unless the
 * directory has no event base yet. */
typedef void (*dl_search_cb)(void *arg, enum dl_status st,
	    const struct dl_answer *ans, const char *why);

struct dl_pool;

/* s is borrowed and must outlive the pool; d gives the event base. */
struct dl_pool *directory_ldap_conn_new(const struct dl_settings *s,
	    struct directory *d);
/* Waits for connects in flight (each bounded by the timeout). */
void	directory_ldap_conn_free(struct dl_pool *p);
void	directory_ldap_conn_search(struct dl_pool *p, const char *filter,
	    dl_search_cb cb, void *arg);
/* Read one entry (a base-scope search on dn), asynchronously as a
 * search; an entry that does not exist is an answer with no entry. */
void	directory_ldap_conn_read(struct dl_pool *p, const char *dn,
	    dl_search_cb cb, void *arg);

/* ---- directory_ldap.c and directory_ldap_group.c: the backend ---- */

#define DL_NOATTR	((size_t)-1)

struct dldir {
	struct dl_settings	 s;
	char			*filter;
	struct dl_item		 items[LDAP_FILTER_ITEMS_MAX];
	size_t			 nitems;
	size_t			 item_attr[LDAP_FILTER_ITEMS_MAX];
	size_t			 alias_attr;	/* DL_NOATTR: none */
	size_t			 member_attr;	/* DL_NOATTR: none */
	struct dl_pool		*pool;
};

/* A list's member addresses as lookup keys (parsed, local part
 * lowercased), those that are no address skipped with a warning; free
 * each and the array.  *n is updated. */
char	**directory_ldap_keys(const char *key, const char *const *vals,
	    size_t *n);

/*
 * The members of group entry re (found for key): its alias-attribute
 * values and the addresses of the entries its member-attribute DNs name,
 * read asynchronously, nested groups followed (DIRECTORY_DEPTH_MAX
 * levels, each DN once, DIRECTORY_EXPAND_MAX addresses).  cb gets one
 * answer: FOUND with an ALIAS entry, TEMPFAIL, or TOO_MANY.
 */
void	directory_ldap_group(struct dldir *dd, const char *key,
	    const struct dl_rawentry *re, dir_entry_cb cb, void *arg);

/* ---- directory_ldap_open.c: one connection ---- */

struct ldap_conncb;
typedef struct ldap LDAP;

/* The connect callback that bounds the blocking steps of a connect by
 * timeout (seconds) and turns TCP keepalives on; must outlive every
 * connection opened with it. */
void	directory_ldap_conncb_init(struct ldap_conncb *cb, unsigned timeout);
/*
 * Connect to uri, TLS or StartTLS as settings say, bind: blocking, for a
 * worker thread.  0 with *ldp set, or -1 with the step that failed and
 * libldap's message in err.
 */
int	directory_ldap_open(const struct dl_settings *s, const char *uri,
	    struct ldap_conncb *cb, LDAP **ldp, char *err, size_t errlen);

/* What the connection's socket did, as our Sockbuf layer saw it. */
struct dl_watch {
	unsigned long	writes;		/* write calls */
	int		blocked;	/* the last write would have blocked:
					   libldap holds unsent bytes */
	int		closed;		/* libldap closed the socket */
};

/*
 * Hand a bound connection to the loop: its socket O_NONBLOCK, its writes
 * watched through w (which must outlive ld).  0 with the descriptor in
 * *fdp, or -1.
 */
int	directory_ldap_nonblock(LDAP *ld, struct dl_watch *w, int *fdp);

#endif
