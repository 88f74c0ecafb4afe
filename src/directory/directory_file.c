/*
 * directory_file — the directory backend over a flat file (postern.conf(5)):
 *
 *	ericm@winery-co.co	mbx1.winery.local
 *	kimy@winery-co.co	[10.0.0.32]:25
 *	@winery.local		mbx1.winery.local
 *	team@winery-co.co	-> ericm@winery-co.co kimy@winery-co.co
 *
 * The whole file is read and checked at open (start and reload), so a bad
 * line refuses the file with "FILE:LINE: message" and the previous
 * directory stays.  Keys are stored lowercase in a hash table, so a lookup
 * costs the same with 100 or 100,000 users; lookups answer synchronously,
 * through the callback, before lookup() returns.
 */
#include "directory.h"
#include "strmap.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "postern_limits.h"
#include "xmalloc.h"

struct fentry {
	enum dir_entry_kind	  kind;
	char			 *host;		/* MAILBOX */
	char			**members;	/* ALIAS, lowercase */
	size_t			  nmembers;
	int			  line;
};

struct dfile {
	struct strmap	*entries;	/* key -> struct fentry */
};

static void
fentry_free(void *p)
{
	struct fentry *fe = p;
	size_t i;

	for (i = 0; i < fe->nmembers; i++)
		free(fe->members[i]);
	free(fe->members);
	free(fe->host);
	free(fe);
}

/* A mailbox written in the file, as its lookup key; -1 if invalid. */
static int
mailbox_key(const char *s, char *key, size_t keylen)
{
	struct addr a;

	if (addr_parse_mailbox(s, strlen(s), ADDR_F_UTF8, &a) != ADDR_OK)
		return -1;
	addr_format_key(&a, key, keylen);
	return 0;
}

/* Split on blanks, in place; a token that starts with '#' ends the line
 * ('#' inside a token is kept: it is legal in a local part). */
static size_t
tokenize(char *line, char ***toks, size_t *cap)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		if (n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*toks = xreallocarray(*toks, *cap, sizeof(**toks));
		}
		(*toks)[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n')
			p++;
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	return n;
}

/* One non-empty line: 0 or -1 with the message (without FILE:LINE);
 * quoted text is cut at 200 bytes, enough to recognise it. */
static int
parse_line(struct dfile *df, char **tok, size_t ntok, int lineno, char *msg,
    size_t msglen)
{
	struct fentry *fe, *old;
	char key[ADDR_PATH_MAX * 4], member[ADDR_PATH_MAX * 4], *p;
	size_t i;

	if (tok[0][0] == '@') {
		if (!addr_valid_domain(tok[0] + 1, strlen(tok[0] + 1), 1)) {
			snprintf(msg, msglen, "bad domain \"%.200s\"", tok[0]);
			return -1;
		}
		if (ntok >= 2 && strcmp(tok[1], "->") == 0) {
			snprintf(msg, msglen, "a catch-all (%.200s) cannot be "
			    "an alias", tok[0]);
			return -1;
		}
		snprintf(key, sizeof(key), "%s", tok[0]);
		for (p = key; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	} else if (mailbox_key(tok[0], key, sizeof(key)) == -1) {
		snprintf(msg, msglen, "bad address \"%.200s\"", tok[0]);
		return -1;
	}

	fe = xcalloc(1, sizeof(*fe));
	fe->line = lineno;
	if (ntok == 2 && strcmp(tok[1], "->") != 0) {
		if (!directory_host_valid(tok[1])) {
			snprintf(msg, msglen, "bad mailbox server \"%.200s\" "
			    "(NAME, NAME:PORT, [IP], [IP]:PORT or local)",
			    tok[1]);
			goto fail;
		}
		fe->kind = DIR_ENTRY_MAILBOX;
		fe->host = xstrdup(tok[1]);
	} else if (ntok >= 2 && strcmp(tok[1], "->") == 0) {
		if (ntok == 2) {
			snprintf(msg, msglen, "alias %.200s has no member",
			    key);
			goto fail;
		}
		fe->kind = DIR_ENTRY_ALIAS;
		fe->members = xcalloc(ntok - 2, sizeof(*fe->members));
		for (i = 2; i < ntok; i++) {
			if (mailbox_key(tok[i], member, sizeof(member)) == -1) {
				snprintf(msg, msglen, "bad member address "
				    "\"%.200s\"", tok[i]);
				goto fail;
			}
			fe->members[fe->nmembers++] = xstrdup(member);
		}
	} else {
		snprintf(msg, msglen, "expected \"ADDRESS HOST\" or "
		    "\"ADDRESS -> MEMBER...\"");
		goto fail;
	}
	if (strmap_add(df->entries, key, fe) == -1) {
		old = strmap_get(df->entries, key);
		snprintf(msg, msglen, "duplicate entry for %.200s (first "
		    "on line %d)", key, old->line);
		goto fail;
	}
	return 0;
fail:
	fentry_free(fe);
	return -1;
}

static int
file_load(struct dfile *df, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char msg[CONF_ERR_MAX], **toks = NULL, *line = NULL;
	size_t cap = 0, ntoks, tokcap = 0;
	unsigned long long total = 0;
	ssize_t n;
	int lineno = 0, rc = -1;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto done;
	}
	if (st.st_size > DIRECTORY_FILE_MAX) {
		snprintf(err, errlen, "%s: file larger than %d bytes", path,
		    DIRECTORY_FILE_MAX);
		goto done;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		total += (unsigned long long)n;
		if (total > DIRECTORY_FILE_MAX) {
			/* It grew while we read it. */
			snprintf(err, errlen, "%s:%d: file larger than %d "
			    "bytes", path, lineno, DIRECTORY_FILE_MAX);
			goto done;
		}
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if ((size_t)n > DIRECTORY_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: line longer than %d "
			    "bytes", path, lineno, DIRECTORY_LINE_MAX);
			goto done;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			snprintf(err, errlen, "%s:%d: NUL byte in line", path,
			    lineno);
			goto done;
		}
		line[n] = '\0';
		if ((ntoks = tokenize(line, &toks, &tokcap)) == 0)
			continue;
		if (parse_line(df, toks, ntoks, lineno, msg,
		    sizeof(msg)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			goto done;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	free(line);
	free(toks);
	fclose(fp);
	return rc;
}

static int
file_open(struct directory *d, const struct conf *c, char *err,
    size_t errlen)
{
	struct dfile *df;

	if (c == NULL || c->directory_file == NULL) {
		snprintf(err, errlen, "directory file: no path given");
		return -1;
	}
	df = xcalloc(1, sizeof(*df));
	df->entries = strmap_new();
	if (file_load(df, c->directory_file, err, errlen) == -1) {
		strmap_free(df->entries, fentry_free);
		free(df);
		return -1;
	}
	d->priv = df;
	return 0;
}

static void
file_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	struct dfile *df = d->priv;
	struct fentry *fe;
	struct dir_entry e;

	if ((fe = strmap_get(df->entries, key)) == NULL) {
		cb(arg, DIR_NOTFOUND, NULL);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.kind = fe->kind;
	e.host = fe->host;
	e.members = (const char *const *)fe->members;
	e.nmembers = fe->nmembers;
	cb(arg, DIR_FOUND, &e);
}

static void
file_close(struct directory *d)
{
	struct dfile *df = d->priv;

	if (df == NULL)
		return;
	strmap_free(df->entries, fentry_free);
	free(df);
	d->priv = NULL;
}

const struct directory_backend directory_backend_file = {
	"file", file_open, file_lookup, file_close
};
