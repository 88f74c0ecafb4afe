/*
 * queue_writer — the thread that makes messages durable, with group commit
 * (docs/spool.md).
 *
 * queue_commit() runs on the loop thread: it appends a request to the
 * pending list and wakes a writer.  A writer takes every pending request
 * as one batch: it writes each file in incoming/ (starting its writeback
 * at once), fsyncs each, renames each into queue/, and fsyncs queue/ once
 * for the whole batch.  Requests that arrive meanwhile go to the next
 * batch, which the other writer takes while the first waits for the
 * disk; so the batches grow with the load and an idle gateway adds no
 * delay (no timer).  A finished batch goes onto the done list and an event
 * wakes the loop, which runs the callbacks there.  Only the two lists and
 * the stats are shared; they are under one mutex, never held across a
 * system call that touches the disk.
 */
#include "queue.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "queue_recycle.h"
#include "xmalloc.h"

/* A message being written into incoming/ID as it arrives (loop thread). */
struct queue_msg {
	struct queue_writer	*w;
	char			 id[QUEUE_ID_LEN + 1];
	int			 fd;
	int			 reused;	/* a free/ file: cut it at commit */
	uint64_t		 written;
};

struct queue_req {
	struct queue_req	*next;
	struct queue_envelope	*env;
	struct queue_msg	*msg;	/* the part already on disk, or NULL */
	char			*body;	/* the rest of the message */
	size_t			 bodylen;
	queue_commit_cb		 cb;
	void			*arg;
	int			 error;	/* errno, 0 = durable */
	int			 in_queue;	/* renamed into queue/ */
	int			 fd;	/* incoming/ID between the phases */
	char			*hdr;	/* its encoded envelope */
};

/* Files of a batch written before the first of them is fsynced: their
 * writeback then runs together (a batch larger than this goes in parts,
 * which also bounds the descriptors held). */
#define WRITER_SYNC_GROUP	64
/* Writer threads: each takes what is pending as its batch, so while one
 * waits for its fsyncs the next batch is already being written, and the
 * block layer merges their cache flushes (docs/performance.md). */
#ifndef WRITER_THREADS
#define WRITER_THREADS		2
#endif

struct req_list {
	struct queue_req	*head;
	struct queue_req	**tailp;
};

struct queue_writer {
	struct event_base	*base;
	struct event		*done_ev;
	char			*spool;
	int			 incoming_fd;
	int			 queue_fd;
	pthread_t		 threads[WRITER_THREADS];
	int			 nthreads;

	/* Shared with the writer thread, under mu. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct req_list		 pending;
	struct req_list		 done;
	int			 stopping;
	struct queue_writer_stats stats;
};

static void
list_init(struct req_list *l)
{
	l->head = NULL;
	l->tailp = &l->head;
}

static void
list_append(struct req_list *l, struct queue_req *r)
{
	r->next = NULL;
	*l->tailp = r;
	l->tailp = &r->next;
}

/* Append a chain of requests linked by next. */
static void
list_append_chain(struct req_list *l, struct queue_req *chain)
{
	*l->tailp = chain;
	while (*l->tailp != NULL)
		l->tailp = &(*l->tailp)->next;
}

static struct queue_req *
list_take(struct req_list *l)
{
	struct queue_req *head = l->head;

	list_init(l);
	return head;
}

/* ---- the disk work (writer thread, or the loop thread in free) ---- */

static int
write_iov(int fd, struct iovec *iov, int iovcnt)
{
	ssize_t n;

	while (iovcnt > 0) {
		if ((n = writev(fd, iov, iovcnt)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		/* Short write: skip what went out and go on. */
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Drop incoming/ID after a failure; e is the errno to report. */
static int
write_fail(struct queue_writer *w, struct queue_req *r, int e)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	free(r->hdr);
	r->hdr = NULL;
	unlinkat(w->incoming_fd, r->env->id, 0);
	return e;
}

/* incoming/ID for a new message: a delivered message's file if one is
 * kept, so that no inode is allocated (queue_recycle.h), else a new one.
 * The descriptor, or -1 with errno (EEXIST: someone else's file, which
 * must never be unlinked). */
static int
open_incoming(struct queue_writer *w, const char *id, int *reused)
{
	*reused = queue_recycle_take(w->incoming_fd, id) == 0;
	if (*reused)
		return openat(w->incoming_fd, id, O_RDWR | O_CLOEXEC);
	return openat(w->incoming_fd, id,
	    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/*
 * Write what is not yet in incoming/ID (all of a message given whole, the
 * last part of a streamed one), then its envelope and the trailer, cut a
 * reused file to that length, and start the writeback without waiting
 * (sync_file_range): the files of a batch then go to the disk together,
 * and each fsync in write_finish() mostly waits for I/O already under way
 * (docs/performance.md).  0 or an errno, with no file left.
 */
static int
write_start(struct queue_writer *w, struct queue_req *r)
{
	char trailer[QUEUE_TRAILER_LEN + 1];
	struct iovec iov[3];
	size_t hdrlen;
	int reused = 0, e;

	r->fd = -1;
	if (r->msg != NULL) {
		r->fd = r->msg->fd;
		reused = r->msg->reused;
		r->msg->fd = -1;
		free(r->msg);
		r->msg = NULL;
	}
	if ((r->hdr = queue_envelope_encode(r->env, &hdrlen)) == NULL) {
		e = errno;
		/* Only a file that is ours is removed (never incoming/ID
		 * when we did not open it). */
		return r->fd != -1 ? write_fail(w, r, e) : e;
	}
	if (r->fd == -1 &&
	    (r->fd = open_incoming(w, r->env->id, &reused)) == -1) {
		free(r->hdr);
		r->hdr = NULL;
		return errno;
	}
	queue_trailer_encode(trailer, r->env->size);
	iov[0].iov_base = r->body;
	iov[0].iov_len = r->bodylen;
	iov[1].iov_base = r->hdr;
	iov[1].iov_len = hdrlen;
	iov[2].iov_base = trailer;
	iov[2].iov_len = QUEUE_TRAILER_LEN;
	if (write_iov(r->fd, iov, 3) == -1)
		return write_fail(w, r, errno);
	if (reused && ftruncate(r->fd, (off_t)(r->env->size + hdrlen +
	    QUEUE_TRAILER_LEN)) == -1)
		return write_fail(w, r, errno);
	/* Only a hint: fsync below is what makes the file durable. */
	(void)sync_file_range(r->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

/* fsync and close what write_start() wrote.  0 or an errno, with no file
 * left. */
static int
write_finish(struct queue_writer *w, struct queue_req *r)
{
	int fd = r->fd;

	/* fsync, not fdatasync: the file is new, so its size and its
	 * directory entry's inode must reach the disk too. */
	if (fsync(fd) == -1)
		return write_fail(w, r, errno);
	r->fd = -1;
	free(r->hdr);
	r->hdr = NULL;
	if (close(fd) == -1)
		return write_fail(w, r, errno);
	return 0;
}

static void
writer_batch(struct queue_writer *w, struct queue_req *batch)
{
	struct queue_req *r, *group;
	int renamed = 0, e, n;

	for (group = batch; group != NULL; group = r) {
		for (r = group, n = 0; r != NULL && n < WRITER_SYNC_GROUP;
		    r = r->next, n++)
			r->error = write_start(w, r);
		for (struct queue_req *q = group; q != r; q = q->next)
			if (q->error == 0)
				q->error = write_finish(w, q);
	}
	for (r = batch; r != NULL; r = r->next) {
		if (r->error != 0)
			continue;
		/* The commit point of one message. */
		if (renameat(w->incoming_fd, r->env->id, w->queue_fd,
		    r->env->id) == -1) {
			r->error = errno;
			unlinkat(w->incoming_fd, r->env->id, 0);
			continue;
		}
		r->in_queue = 1;
		renamed++;
	}
	/* One directory fsync makes every rename of the batch durable.  If
	 * it fails, none of them can be promised: all are undone (a crash
	 * may still bring some back: delivered twice, never lost). */
	if (renamed > 0 && fsync(w->queue_fd) == -1) {
		e = errno;
		log_warn("queue: fsync of %s/queue", w->spool);
		for (r = batch; r != NULL; r = r->next) {
			if (r->in_queue)
				unlinkat(w->queue_fd, r->env->id, 0);
			r->in_queue = 0;
			if (r->error == 0)
				r->error = e;
		}
	}
	for (r = batch; r != NULL; r = r->next)
		if (r->error != 0)
			log_warnx("queue: commit of %s failed: %s", r->env->id,
			    strerror(r->error));
}

static void
writer_account(struct queue_writer *w, struct queue_req *batch)
{
	struct queue_req *r;
	uint64_t n = 0, failed = 0;

	for (r = batch; r != NULL; r = r->next) {
		n++;
		if (r->error != 0)
			failed++;
	}
	/* Called with mu held. */
	w->stats.batches++;
	w->stats.messages += n;
	w->stats.failures += failed;
	if (n > w->stats.max_batch)
		w->stats.max_batch = n;
}

static void *
writer_main(void *arg)
{
	struct queue_writer *w = arg;
	struct queue_req *batch;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->pending.head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->pending.head == NULL)
			break;		/* stopping, nothing left */
		batch = list_take(&w->pending);
		pthread_mutex_unlock(&w->mu);

		writer_batch(w, batch);

		pthread_mutex_lock(&w->mu);
		writer_account(w, batch);
		list_append_chain(&w->done, batch);
		pthread_mutex_unlock(&w->mu);
		/* Thread-safe with evthread_use_pthreads(): wakes the loop. */
		event_active(w->done_ev, EV_TIMEOUT, 0);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- the loop side ---- */

static void
run_done(struct queue_writer *w)
{
	struct queue_req *r, *next;

	pthread_mutex_lock(&w->mu);
	r = list_take(&w->done);
	pthread_mutex_unlock(&w->mu);
	for (; r != NULL; r = next) {
		next = r->next;
		free(r->body);
		r->cb(r->arg, r->error, r->env);
		free(r);
	}
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_done(arg);
}

struct queue_writer *
queue_writer_new(struct event_base *base, const char *spool)
{
	struct queue_writer *w;
	sigset_t all, old;
	int e;

	w = xcalloc(1, sizeof(*w));
	w->base = base;
	w->spool = xstrdup(spool);
	w->incoming_fd = w->queue_fd = -1;
	list_init(&w->pending);
	list_init(&w->done);
	if ((w->incoming_fd = queue_open_dir(spool, "incoming")) == -1 ||
	    (w->queue_fd = queue_open_dir(spool, "queue")) == -1) {
		e = errno;
		log_warn("queue: %s", spool);
		goto fail;
	}
	if ((w->done_ev = event_new(base, -1, 0, done_cb, w)) == NULL) {
		e = ENOMEM;
		log_warnx("queue: event_new failed");
		goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	/* Signals are for the loop thread: the writers block them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (e = 0; e == 0 && w->nthreads < WRITER_THREADS; w->nthreads++)
		e = pthread_create(&w->threads[w->nthreads], NULL, writer_main,
		    w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		w->nthreads--;		/* the last one was not made */
	if (w->nthreads == 0) {
		log_warnx("queue: pthread_create: %s", strerror(e));
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		goto fail;
	}
	if (queue_recycle_start(spool) == -1)
		log_warn("queue: %s/free: queue files are not reused", spool);
	return w;
fail:
	if (w->done_ev != NULL)
		event_free(w->done_ev);
	if (w->incoming_fd != -1)
		close(w->incoming_fd);
	if (w->queue_fd != -1)
		close(w->queue_fd);
	free(w->spool);
	free(w);
	errno = e;
	return NULL;
}

/* ---- messages written as they arrive ---- */

struct queue_msg *
queue_msg_open(struct queue_writer *w, const char *id)
{
	struct queue_msg *m;
	int fd, reused;

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return NULL;
	}
	if ((fd = open_incoming(w, id, &reused)) == -1)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->w = w;
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->fd = fd;
	m->reused = reused;
	return m;
}

int
queue_msg_write(struct queue_msg *m, const void *p, size_t n)
{
	struct iovec iov = { (void *)p, n };

	if (write_iov(m->fd, &iov, 1) == -1)
		return -1;
	m->written += n;
	return 0;
}

uint64_t
queue_msg_size(const struct queue_msg *m)
{
	return m->written;
}

ssize_t
queue_msg_pread(const struct queue_msg *m, uint64_t off, void *buf, size_t n)
{
	ssize_t r;

	if (off >= m->written)
		return 0;
	if (n > m->written - off)
		n = (size_t)(m->written - off);
	do
		r = pread(m->fd, buf, n, (off_t)off);
	while (r == -1 && errno == EINTR);
	return r;
}

void
queue_msg_abort(struct queue_msg *m)
{
	if (m == NULL)
		return;
	close(m->fd);
	unlinkat(m->w->incoming_fd, m->id, 0);
	free(m);
}

void
queue_msg_commit(struct queue_writer *w, struct queue_msg *m,
    struct queue_envelope *env, char *tail, size_t taillen,
    queue_commit_cb cb, void *arg)
{
	struct queue_req *r;

	r = xcalloc(1, sizeof(*r));
	env->size = (m != NULL ? m->written : 0) + taillen;
	r->env = env;
	r->msg = m;
	r->body = tail;
	r->bodylen = taillen;
	r->cb = cb;
	r->arg = arg;
	pthread_mutex_lock(&w->mu);
	list_append(&w->pending, r);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
queue_commit(struct queue_writer *w, struct queue_envelope *env, char *body,
    size_t bodylen, queue_commit_cb cb, void *arg)
{
	queue_msg_commit(w, NULL, env, body, bodylen, cb, arg);
}

void
queue_writer_free(struct queue_writer *w)
{
	struct queue_req *batch;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	/* A thread leaves only once pending is empty. */
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	run_done(w);
	/* A callback may have committed again: the thread is gone, so do
	 * that work here, on the loop thread, until nothing is left. */
	while (w->pending.head != NULL) {
		batch = list_take(&w->pending);
		writer_batch(w, batch);
		writer_account(w, batch);
		list_append_chain(&w->done, batch);
		run_done(w);
	}
	queue_recycle_stop();
	event_free(w->done_ev);
	close(w->incoming_fd);
	close(w->queue_fd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->spool);
	free(w);
}

void
queue_writer_stats(struct queue_writer *w, struct queue_writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	pthread_mutex_unlock(&w->mu);
}
