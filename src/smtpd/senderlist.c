/*
 * senderlist — block-senders-file parsing and lookups; see senderlist.h.
 *
 * Entries are normalised exactly as the session normalises a MAIL FROM
 * path (addr_parse_mailbox, then addr_format_key: local part and domain
 * lowercased), so what the file says and what a client sends cannot
 * disagree on case or quoting.  A `#` that starts a word starts a comment
 * (as in the directory file: inside a word it is a legal local-part
 * character).  The same entry twice is accepted: block lists are appended
 * to by hand and by scripts, and a repeat changes nothing.
 */
#include "senderlist.h"
#include "addr.h"
#include "conf.h"
#include "strmap.h"
#include "fileread.h"
#include "textline.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct senderlist {
	int		 refcnt;
	char		*path;
	struct strmap	*entries;	/* key -> line number */
};

struct senderlist_set {
	struct strmap	*byvs;		/* vserver name -> struct senderlist */
};

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* One word of the file as its lookup key; -1 if it is no sender form. */
static int
entry_key(const char *w, size_t len, char *key, size_t keylen)
{
	struct addr a;

	if (len == 2 && memcmp(w, "<>", 2) == 0) {
		snprintf(key, keylen, "<>");
		return 0;
	}
	if (w[0] == '@') {
		if (!addr_valid_domain(w + 1, len - 1, 1) || len >= keylen)
			return -1;
		memcpy(key, w, len);
		key[len] = '\0';
		lower(key);
		return 0;
	}
	if (addr_parse_mailbox(w, len, ADDR_F_UTF8, &a) != ADDR_OK)
		return -1;
	addr_format_key(&a, key, keylen);
	return 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One line (without its end): 0, or -1 with msg. */
static int
parse_line(struct senderlist *l, const char *p, size_t len, int lineno,
    char *msg, size_t msglen)
{
	char key[ADDR_TEXT_MAX];
	size_t i = 0, start, wlen;

	if (len > SENDERLIST_LINE_MAX) {
		snprintf(msg, msglen, "line longer than %d bytes",
		    SENDERLIST_LINE_MAX);
		return -1;
	}
	if (memchr(p, '\0', len) != NULL) {
		snprintf(msg, msglen, "NUL byte in line");
		return -1;
	}
	while (i < len && is_blank(p[i]))
		i++;
	if (i == len || p[i] == '#')
		return 0;
	start = i;
	while (i < len && !is_blank(p[i]))
		i++;
	wlen = i - start;
	while (i < len && is_blank(p[i]))
		i++;
	if (i < len && p[i] != '#') {
		snprintf(msg, msglen, "one sender a line (an address, @domain "
		    "or <>)");
		return -1;
	}
	if (entry_key(p + start, wlen, key, sizeof(key)) == -1) {
		snprintf(msg, msglen, "bad sender \"%.*s\" (an address, "
		    "@domain or <>)", (int)(wlen > 200 ? 200 : wlen),
		    p + start);
		return -1;
	}
	(void)strmap_add(l->entries, key, (void *)(intptr_t)lineno);
	return 0;
}

int
senderlist_parse(const char *name, const char *text, size_t len,
    struct senderlist **out, char *err, size_t errlen)
{
	struct senderlist *l = xcalloc(1, sizeof(*l));
	char msg[256];
	size_t off = 0, n;
	const char *line;
	int lineno = 0;

	l->refcnt = 1;
	l->path = xstrdup(name);
	l->entries = strmap_new();
	while (textline_next(text, len, &off, &line, &n)) {
		lineno++;
		if (parse_line(l, line, n, lineno, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, msg);
			senderlist_unref(l);
			return -1;
		}
	}
	*out = l;
	return 0;
}

int
senderlist_load(const char *path, struct senderlist **out, char *err,
    size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if (fileread(path, SENDERLIST_FILE_MAX, &text, &len, NULL, err,
	    errlen) == -1)
		return -1;
	rc = senderlist_parse(path, text, len, out, err, errlen);
	free(text);
	return rc;
}

struct senderlist *
senderlist_ref(struct senderlist *l)
{
	if (l)
		__atomic_add_fetch(&l->refcnt, 1, __ATOMIC_RELAXED);
	return l;
}

void
senderlist_unref(struct senderlist *l)
{
	if (l == NULL ||
	    __atomic_sub_fetch(&l->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	strmap_free(l->entries, NULL);
	free(l->path);
	free(l);
}

int
senderlist_match(const struct senderlist *l, const struct addr *sender)
{
	char key[ADDR_TEXT_MAX + 1];

	if (l == NULL)
		return 0;
	if (sender->null)
		return strmap_get(l->entries, "<>") != NULL;
	addr_format_key(sender, key, sizeof(key));
	if (strmap_get(l->entries, key) != NULL)
		return 1;
	snprintf(key, sizeof(key), "@%s", sender->domain);
	lower(key);
	return strmap_get(l->entries, key) != NULL;
}

size_t
senderlist_count(const struct senderlist *l)
{
	return l ? strmap_count(l->entries) : 0;
}

const char *
senderlist_path(const struct senderlist *l)
{
	return l ? l->path : NULL;
}

/* ---- the lists of one configuration ---- */

static void
unref_value(void *v)
{
	senderlist_unref(v);
}

int
senderlist_set_load(const struct conf *c, struct senderlist_set **out,
    char *err, size_t errlen)
{
	struct senderlist_set *set = xcalloc(1, sizeof(*set));
	struct strmap *bypath = strmap_new();
	struct senderlist *l;
	const char *path;

	set->byvs = strmap_new();
	for (size_t i = 0; i < c->nvservers; i++) {
		if ((path = c->vservers[i]->filter.block_senders_file) == NULL)
			continue;
		if ((l = strmap_get(bypath, path)) == NULL) {
			if (senderlist_load(path, &l, err, errlen) == -1) {
				strmap_free(bypath, NULL);
				senderlist_set_free(set);
				return -1;
			}
			strmap_put(bypath, path, l);
		} else
			senderlist_ref(l);
		strmap_put(set->byvs, c->vservers[i]->name, l);
	}
	strmap_free(bypath, NULL);	/* the references are set->byvs's */
	*out = set;
	return 0;
}

void
senderlist_set_free(struct senderlist_set *set)
{
	if (set == NULL)
		return;
	strmap_free(set->byvs, unref_value);
	free(set);
}

struct senderlist *
senderlist_set_get(const struct senderlist_set *set, const char *vsname)
{
	return set ? strmap_get(set->byvs, vsname) : NULL;
}
