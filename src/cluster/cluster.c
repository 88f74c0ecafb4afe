/*
 * cluster — see cluster.h.
 */
#include "cluster.h"
#include "kv.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cluster {
	struct kv		*kv;
	struct cluster_node	*node;
	char			*name;
	char			*address;
};

/* The password read at start, for a reload that may not read it. */
static struct {
	char	*path;
	char	*password;
} remembered;

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int
read_password(const char *where, const char *path, char **out, char *err,
    size_t errlen)
{
	char buf[CLUSTER_PASSWORD_MAX + 2];
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == EACCES && remembered.path != NULL &&
		    strcmp(remembered.path, path) == 0) {
			log_warnx("%s: %s: %s: keeping the password read at "
			    "start", where, path, strerror(errno));
			*out = xstrdup(remembered.password);
			return 0;
		}
		snprintf(err, errlen, "%s: password-file %s: %s", where, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: password-file %s: not a regular "
		    "file", where, path);
		close(fd);
		return -1;
	}
	if (st.st_mode & S_IROTH)
		log_warnx("%s: password-file %s is readable by everyone",
		    where, path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n > CLUSTER_PASSWORD_MAX) {
		snprintf(err, errlen, "%s: password-file %s: %s", where, path,
		    n < 0 ? strerror(errno) : "longer than allowed");
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		snprintf(err, errlen, "%s: password-file %s is empty", where,
		    path);
		return -1;
	}
	*out = xstrdup(buf);
	if (remembered.path == NULL || strcmp(remembered.path, path) != 0 ||
	    strcmp(remembered.password, buf) != 0) {
		free(remembered.path);
		wipe_free(remembered.password);
		remembered.path = xstrdup(path);
		remembered.password = xstrdup(buf);
	}
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

struct cluster *
cluster_open(struct event_base *base, const struct cluster_params *p,
    cluster_fill_cb fill, void *arg, char *err, size_t errlen)
{
	struct kv_params kp = { .address = p->redis,
	    .timeout_ms = p->timeout_ms };
	char *password = NULL, kerr[256];
	const char *where = p->where != NULL ? p->where : "cluster";
	struct cluster *c;

	if (p->password_file != NULL && read_password(where,
	    p->password_file, &password, err, errlen) == -1)
		return NULL;
	kp.password = password;
	c = xcalloc(1, sizeof(*c));
	if ((c->kv = kv_open(base, &kp, kerr, sizeof(kerr))) == NULL) {
		snprintf(err, errlen, "%s: %s", where, kerr);
		wipe_free(password);
		free(c);
		return NULL;
	}
	wipe_free(password);
	c->name = xstrdup(p->node);
	c->address = xstrdup(p->redis);
	c->node = cluster_node_new(base, c->kv, c->name, fill, arg);
	log_info("cluster: node %s, redis at %s", c->name, c->address);
	return c;
}

void
cluster_retire(struct cluster *c)
{
	if (c == NULL)
		return;
	cluster_node_free(c->node);
	c->node = NULL;
}

void
cluster_close(struct cluster *c)
{
	if (c == NULL)
		return;
	cluster_node_free(c->node);
	kv_free(c->kv);
	free(c->name);
	free(c->address);
	free(c);
}

struct kv *
cluster_kv(const struct cluster *c)
{
	return c != NULL ? c->kv : NULL;
}

const char *
cluster_name(const struct cluster *c)
{
	return c != NULL ? c->name : NULL;
}

const char *
cluster_address(const struct cluster *c)
{
	return c != NULL ? c->address : NULL;
}
