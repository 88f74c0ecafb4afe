/*
 * posternctl — the administrator's view of a gateway (SPEC section 4).
 *
 * For now it reads the spool directly, read-only (`queue`); the control
 * socket commands (show, flush, hold, stats, trace, flow...) come with the
 * operations work.  Exit status: 0 success, 1 failure, 2 usage.
 */
#include "conf.h"
#include "log.h"
#include "queue.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
usage(void)
{
	fprintf(stderr, "usage: posternctl [-c file] queue\n");
	exit(2);
}

static int
cmd_queue(const struct conf *c)
{
	char dir[4096], path[4352], err[256];
	struct dirent *de;
	DIR *d;
	time_t now = time(NULL);

	snprintf(dir, sizeof(dir), "%s/queue", c->spool);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "posternctl: %s: cannot open\n", dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		struct queue_envelope *env;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		env = queue_read_envelope(path, NULL, err, sizeof(err));
		if (env == NULL) {
			printf("%s  (unreadable: %s)\n", de->d_name, err);
			continue;
		}
		printf("%s  %lds  %llu  <%s>", env->id,
		    (long)(now - env->received),
		    (unsigned long long)env->size, env->sender);
		for (size_t i = 0; i < env->nrcpts; i++)
			printf("  %s", env->rcpts[i].addr);
		printf("\n");
		queue_envelope_free(env);
	}
	closedir(d);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *path = "/etc/postern/postern.conf";
	char err[CONF_ERR_MAX];
	struct conf *c;
	int ch, rc;

	log_init("posternctl", 0, 0);
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "queue") != 0)
		usage();
	if (conf_load(path, &c, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rc = cmd_queue(c);
	conf_unref(c);
	return rc;
}
