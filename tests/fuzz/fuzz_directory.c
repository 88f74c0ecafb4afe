/*
 * fuzz_directory — libFuzzer harness for the directory file parser and
 * the generic resolution over it (aliases, catch-alls, limits).  The input
 * is written as a directory file (the backend reads files only); any
 * content must load or fail with "FILE:LINE: message", and a loaded one
 * must answer every lookup exactly once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "directory.h"

static int answered;

static void
done(void *arg, struct dir_result *res)
{
	(void)arg;
	answered++;
	if (res->status == DIR_FOUND && res->ntargets == 0)
		abort();
	dir_result_free(res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const probes[] = {
		"ericm@winery-co.co", "team@winery-co.co", "x@winery-co.co",
		"a@b.example", "postmaster@winery-co.co",
	};
	char path[64], text[256], err[CONF_ERR_MAX];
	struct directory *d;
	struct conf *c;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/fuzz-directory-%d", (int)getpid());
	if ((f = fopen(path, "wb")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	snprintf(text, sizeof(text), "local-domain winery-co.co\n"
	    "directory file %s\n", path);
	if (conf_load_string("f.conf", text, &c, err, sizeof(err)) == -1)
		abort();
	if ((d = directory_open(c, err, sizeof(err))) != NULL) {
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
			answered = 0;
			if (directory_resolve(d, probes[i], done, NULL) != NULL ||
			    answered != 1)
				abort();	/* the file answers at once */
		}
		directory_unref(d);
	} else if (strncmp(err, path, strlen(path)) != 0)
		abort();	/* errors name the file */
	conf_unref(c);
	unlink(path);
	return 0;
}
