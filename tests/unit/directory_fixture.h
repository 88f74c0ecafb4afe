/*
 * directory_fixture — what the directory's unit tests share: a temporary
 * directory (mk_tmpdir, rm_tmpdir as group setup and teardown), a
 * configuration with the Winery local domains, directory files written
 * there, and a synchronous resolve.  Header-only: each test program
 * includes it once.
 */
#ifndef POSTERN_TEST_DIRECTORY_FIXTURE_H
#define POSTERN_TEST_DIRECTORY_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "directory.h"
#include "strmap.h"
#include "postern_limits.h"
#include "xmalloc.h"

/* Not every test program uses every helper. */
#define FIXTURE_UNUSED	__attribute__((unused))

static FIXTURE_UNUSED char	*tmpdir;

static FIXTURE_UNUSED const char *const local_domains[] = {
	"winery-co.co", "Winery.Local", "example.net"
};

static FIXTURE_UNUSED struct conf *
make_conf(enum conf_dir_type type, const char *file)
{
	struct conf *c = xcalloc(1, sizeof(*c));

	c->directory = type;
	c->directory_file = file ? xstrdup(file) : NULL;
	c->local_domains = (char **)local_domains;
	c->nlocal_domains = sizeof(local_domains) / sizeof(local_domains[0]);
	return c;
}

static FIXTURE_UNUSED void
free_conf(struct conf *c)
{
	free(c->directory_file);
	free(c);
}

static FIXTURE_UNUSED char *
write_dir_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Open a file directory from text; NULL and err on failure. */
static FIXTURE_UNUSED struct directory *
open_text(const char *text, char *err, size_t errlen)
{
	struct directory *d;
	struct conf *c;
	char *path;

	path = write_dir_file("directory", text);
	c = make_conf(DIR_FILE, path);
	d = directory_open(c, err, errlen);
	free_conf(c);
	unlink(path);
	free(path);
	return d;
}

struct got {
	int			 calls;
	struct dir_result	*res;
};

static FIXTURE_UNUSED void
got_cb(void *arg, struct dir_result *res)
{
	struct got *g = arg;

	g->calls++;
	dir_result_free(g->res);
	g->res = res;
}

/* The file backend answers at once: the result is there on return. */
static FIXTURE_UNUSED struct dir_result *
resolve_now(struct directory *d, const char *addr)
{
	struct got g = { 0, NULL };

	assert_null(directory_resolve(d, addr, got_cb, &g));
	assert_int_equal(g.calls, 1);
	return g.res;
}

static FIXTURE_UNUSED int
has_target(const struct dir_result *res, const char *addr, const char *host)
{
	size_t i;

	for (i = 0; i < res->ntargets; i++) {
		if (strcmp(res->targets[i].addr, addr) != 0)
			continue;
		if (host == NULL)
			return res->targets[i].host == NULL;
		return res->targets[i].host != NULL &&
		    strcmp(res->targets[i].host, host) == 0;
	}
	return 0;
}

static FIXTURE_UNUSED const char sample[] =
    "# postern.conf(5)'s example, and more\n"
    "ericm@winery-co.co   mbx1.winery.local\n"
    "KimY@Winery-Co.CO    [10.0.0.32]:25\n"
    "postmaster@winery-co.co local   # the gateway's own store\n"
    "\n"
    "@winery.local        mbx1.winery.local\n"
    "team@winery-co.co    -> ericm@winery-co.co KIMY@winery-co.co\n"
    "all@winery-co.co     -> team@winery-co.co postmaster@winery-co.co\n"
    "loop-a@winery-co.co  -> loop-b@winery-co.co ericm@winery-co.co\n"
    "loop-b@winery-co.co  -> loop-a@winery-co.co kimy@winery-co.co\n"
    "ring-a@winery-co.co  -> ring-b@winery-co.co\n"
    "ring-b@winery-co.co  -> ring-a@winery-co.co\n"
    "ext@winery-co.co     -> someone@Example.ORG ericm@winery-co.co\n"
    "miss@winery-co.co    -> ghost@winery-co.co ericm@winery-co.co\n"
    "allmiss@winery-co.co -> ghost@winery-co.co ghost2@example.net\n"
    "dup@winery-co.co     -> ericm@winery-co.co team@winery-co.co\n"
    "viacatch@winery-co.co -> someone@winery.local\n"
    "x#y@winery-co.co     mbx2:2525\n"
    "v6@winery-co.co      [IPv6:2001:db8::25]:25\n"
    "v6b@winery-co.co     [::1]\n";

static FIXTURE_UNUSED int
rm_tmpdir(void **state)
{
	(void)state;
	assert_int_equal(rmdir(tmpdir), 0);
	free(tmpdir);
	return 0;
}

static FIXTURE_UNUSED int
mk_tmpdir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	tmpdir = xasprintf("%s/postern-td-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

#endif
