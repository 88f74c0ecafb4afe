/*
 * senderlist — the `block-senders-file` of a virtual server's filter
 * (postern.conf(5)): one entry a line, `local@domain`, `@domain` or `<>`, `#` starts
 * a comment.
 *
 * The parser is pure (text in, list or "NAME:LINE: message" out) and the
 * loader reads the whole file first, so a bad line refuses the file and a
 * reload keeps the list it had.  Entries are kept in a hash table under
 * their lookup key (lowercase), so a list of a million addresses costs one
 * lookup per MAIL.  Lists are immutable and reference-counted: a session
 * keeps the list it started with across a reload.
 *
 * A senderlist_set holds the lists of one configuration snapshot, one per
 * virtual server that names a file (a file named twice is read once).
 */
#ifndef POSTERN_SENDERLIST_H
#define POSTERN_SENDERLIST_H

#include "postern_limits.h"

#include <stddef.h>

struct addr;
struct conf;
struct senderlist;
struct senderlist_set;


/* Parse text (name is used in messages).  0, or -1 with err set. */
int	senderlist_parse(const char *name, const char *text, size_t len,
	    struct senderlist **out, char *err, size_t errlen);
/* Read and parse a file.  0, or -1 with err "PATH: ..." / "PATH:LINE: ...". */
int	senderlist_load(const char *path, struct senderlist **out, char *err,
	    size_t errlen);
struct senderlist *senderlist_ref(struct senderlist *l);
void	senderlist_unref(struct senderlist *l);

/* Is the sender (a parsed MAIL FROM path) on the list?  NULL l: no. */
int	senderlist_match(const struct senderlist *l, const struct addr *sender);
size_t	senderlist_count(const struct senderlist *l);
const char *senderlist_path(const struct senderlist *l);

/* The lists every virtual server of c names.  0, or -1 with err set. */
int	senderlist_set_load(const struct conf *c, struct senderlist_set **out,
	    char *err, size_t errlen);
void	senderlist_set_free(struct senderlist_set *set);
/* The list of one virtual server, or NULL. */
struct senderlist *senderlist_set_get(const struct senderlist_set *set,
	    const char *vsname);

#endif
