/*
 * queue — the durable spool: message files, their envelope, and the commit.
 *
 * Layout under the spool directory (docs/spool.md):
 *   incoming/  files being written; never complete; purged at start
 *   queue/     committed messages, one file per message, named by its id
 *   corrupt/   files that failed validation at start (quarantine)
 * A message becomes durable by: write the file in incoming/, fsync it,
 * rename it into queue/, fsync queue/.  Only then does the caller learn of
 * success (and send 250).  The rename is the one commit point, so a crash
 * leaves either no file in queue/ or a complete, fsynced one.
 *
 * The writer runs on its own thread: queue_commit() hands a request over and
 * returns at once; the thread writes every pending request, fsyncs them,
 * renames them, fsyncs the directory once for the whole batch (group
 * commit), then calls each request's callback on the event loop thread.
 * Requests that arrive while a batch is being synced form the next batch,
 * so the batch size adapts to load and an idle gateway adds no delay.
 * evthread_use_pthreads() must have been called before queue_writer_new().
 */
#ifndef POSTERN_QUEUE_H
#define POSTERN_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct event_base;

#define QUEUE_ID_LEN	20	/* see queue_id_new() */
/* Last bytes of every complete queue file: "END " + 16 lowercase hex digits
 * of the envelope's offset (= the message size) + "\n". */
#define QUEUE_TRAILER_LEN	21

struct queue_rcpt {
	char		*addr;		/* "local@domain" as accepted */
	char		*orcpt;		/* RFC 3461 ORCPT, or NULL */
	unsigned	 notify;	/* SMTP_NOTIFY_* bits, 0 = not given */
};

/*
 * An edit of the stored message as it leaves: [off, off + len) of it is
 * left out, and text (if any) stands in its place.  A forged header field
 * the acceptance checks removed is a cut without text; a header field a
 * milter changes is a cut with its new text; one it adds is an empty cut
 * (len 0) with text.
 */
struct queue_cut {
	uint64_t	 off;
	uint64_t	 len;
	char		*text;		/* or NULL; owned by the envelope */
};
#define QUEUE_CUTS_MAX	64

/* The envelope; every string is owned by the struct (queue_envelope_free). */
struct queue_envelope {
	char			 id[QUEUE_ID_LEN + 1];
	time_t			 received;	/* seconds since the epoch */
	char			*vserver;	/* receiving virtual server */
	char			*client_addr;	/* numeric IP */
	char			*helo;		/* as the client said it */
	char			*sender;	/* "" = the null sender */
	int			 smtputf8;
	int			 body_8bit;	/* BODY=8BITMIME */
	int			 ret;		/* SMTP_RET_* */
	char			*envid;		/* or NULL */
	char			*auth_user;	/* or NULL */
	struct queue_rcpt	*rcpts;
	size_t			 nrcpts;
	uint64_t		 size;		/* body bytes */
	/* What the checks at acceptance decided about the message as it
	 * leaves (docs/spool.md): header lines put before it on every path
	 * out (Authentication-Results, DKIM-Signature), byte ranges left
	 * out (sorted, disjoint), and whether it waits for an
	 * administrator (`quarantine hold`: the reason). */
	char			*prepend;	/* CRLF-ended lines, or NULL */
	struct queue_cut	*cuts;
	size_t			 ncuts;
	char			*hold;		/* or NULL */
	char			*milters;	/* each content filter's verdict
					   and time, or NULL (`posternctl
					   show`) */
};

/* A fresh id, unique across gateways and time: 20 characters of
 * [0-9A-Za-z] built from the time in microseconds, a per-process counter
 * and random bits.  buf must hold QUEUE_ID_LEN + 1. */
void	queue_id_new(char *buf);
int	queue_id_valid(const char *id);

void	queue_envelope_free(struct queue_envelope *env);
/* Append a recipient (strings copied). */
/*
 * Add an edit (text copied; NULL or "" for none): 0, or -1 when it is
 * empty (no length, no text), overlaps one already there, or is past
 * QUEUE_CUTS_MAX.  Kept sorted; texts inserted at the same offset are
 * joined in the order added.
 */
int	queue_envelope_add_cut(struct queue_envelope *env, uint64_t off,
	    uint64_t len, const char *text);
void	queue_envelope_clear_cuts(struct queue_envelope *env);
/* The size of the message as it leaves: env->size with the edits. */
uint64_t queue_envelope_out_size(const struct queue_envelope *env);
/*
 * Read the message as it leaves (the cuts left out) from a queue file:
 * up to n bytes at position pos of that view.  The bytes read, 0 at the end, -1 with errno.
 * Blocking (pread): delivery threads and the off-loop readers only.
 */
struct queue_view {
	int			 fd;
	uint64_t		 offset;	/* the message in the file */
	uint64_t		 size;		/* its stored size */
	const struct queue_cut	*cuts;
	size_t			 ncuts;
};
ssize_t	queue_view_pread(const struct queue_view *v, uint64_t pos, void *buf,
	    size_t n);
void	queue_envelope_add_rcpt(struct queue_envelope *env, const char *addr,
	    const char *orcpt, unsigned notify);
/* Remove every recipient that is addr (case-insensitive); how many. */
size_t	queue_envelope_del_rcpt(struct queue_envelope *env, const char *addr);

/*
 * The envelope part of a queue file (docs/spool.md), as pure functions over
 * memory so that the format can be tested and fuzzed without files.
 * queue_envelope_encode: the records and the blank line, malloc'ed, length
 * in *len; NULL with errno set (EINVAL: a field that cannot be stored, such
 * as an invalid id or no recipient; E2BIG: over QUEUE_ENVELOPE_MAX).
 * queue_envelope_decode: parse buf[0..len) (which may go on past the
 * envelope into the body); on success the envelope, with *envlen the offset
 * of the body; NULL with a message in err otherwise.  The body's `size`
 * and END trailer are checked by queue_read_envelope, not here.
 */
char	*queue_envelope_encode(const struct queue_envelope *env, size_t *len);
/* The trailer that ends a file whose envelope starts at env_offset, and
 * its parser (0, or -1 when p[0..len) is not exactly a trailer). */
void	queue_trailer_encode(char out[QUEUE_TRAILER_LEN + 1],
	    uint64_t env_offset);
int	queue_trailer_decode(const char *p, size_t len, uint64_t *env_offset);
struct queue_envelope *queue_envelope_decode(const char *buf, size_t len,
	    size_t *envlen, char *err, size_t errlen);

/*
 * Create the spool layout if needed and purge incoming/ and free/.  0 or
 * -1 with a message in err ("SPOOL/sub: ..."; a symbolic link in place of
 * a subdirectory is refused, never followed: this runs as root in a
 * directory the run user owns).
 */
int	queue_init(const char *spool, char *err, size_t errlen);

/* Open SPOOL/sub as a directory (O_RDONLY, close-on-exec), never through
 * a symbolic link (ELOOP or ENOTDIR): a descriptor, or -1 with errno.
 * queue_open_dir_at: the same for name in the directory dfd. */
int	queue_open_dir(const char *spool, const char *sub);
int	queue_open_dir_at(int dfd, const char *name);

/*
 * Give the spool, each directory queue_init makes and the regular files in
 * them to uid:gid (privdrop.h), through descriptors: a symbolic link is
 * refused, a hard link left alone.  0, or -1 with a message in err.
 */
int	queue_chown(const char *spool, uid_t uid, gid_t gid, char *err,
	    size_t errlen);

/* The %XX value encoding of queue files (also used by queue_state). */
struct buf;
int	queue_value_put(struct buf *b, const char *s);
/* Decode s[0..n) into a new string (caller frees); NULL if malformed. */
char	*queue_value_get(const char *s, size_t n);

/* ---- the writer thread (group commit) ---- */

struct queue_writer;

struct queue_writer_stats {
	uint64_t	batches;
	uint64_t	messages;
	uint64_t	max_batch;
	uint64_t	failures;
};

struct queue_writer *queue_writer_new(struct event_base *base,
	    const char *spool);
/* Finish every pending request (callbacks run), then stop the thread. */
void	queue_writer_free(struct queue_writer *w);
void	queue_writer_stats(struct queue_writer *w,
	    struct queue_writer_stats *out);

/*
 * Called on the loop thread once the message is durable (error == 0) or
 * could not be made so (error is an errno value; nothing of it remains in
 * queue/).  `env` is the envelope given to queue_commit: the callback owns
 * it now and must queue_envelope_free() it.
 */
typedef void (*queue_commit_cb)(void *arg, int error,
	    struct queue_envelope *env);

/*
 * Take ownership of env and of body (malloc'ed, bodylen bytes, as the
 * message should be stored: with the Received: header already prepended;
 * may be NULL when bodylen is 0)
 * and commit them.  env->id must be set (queue_id_new).  The callback always
 * runs exactly once, later, on the loop thread.
 */
void	queue_commit(struct queue_writer *w, struct queue_envelope *env,
	    char *body, size_t bodylen, queue_commit_cb cb, void *arg);

/*
 * A message too large to hold in memory is written as it arrives, on the
 * loop thread, into incoming/ID (to the page cache: the fsync is the
 * writer's, at commit).  queue_msg_open: a handle, or NULL with errno.
 * queue_msg_write: 0, or -1 with errno (ENOSPC...).  queue_msg_abort
 * removes the file and frees the handle (a message that will not be
 * committed).  queue_msg_commit takes the handle, env and tail (the last
 * bytes of the message, malloc'ed, which may be NULL with taillen 0):
 * env->size becomes what was written plus taillen, and the commit goes on
 * as queue_commit's.  queue_commit(w, env, body, len, ...) is the same
 * with no handle.
 */
struct queue_msg;
struct queue_msg *queue_msg_open(struct queue_writer *w, const char *id);
int	queue_msg_write(struct queue_msg *m, const void *p, size_t n);
uint64_t queue_msg_size(const struct queue_msg *m);
/* Read back what was written (the content checks that need the message
 * again at its end: milters); the bytes read, 0 past them, -1. */
ssize_t	queue_msg_pread(const struct queue_msg *m, uint64_t off, void *buf,
	    size_t n);
void	queue_msg_abort(struct queue_msg *m);
void	queue_msg_commit(struct queue_writer *w, struct queue_msg *m,
	    struct queue_envelope *env, char *tail, size_t taillen,
	    queue_commit_cb cb, void *arg);

/* ---- reading the spool ---- */

/*
 * Read the envelope of a committed file.  Returns a new envelope (caller
 * frees) and, if body_offset is not NULL, where the body starts in the
 * file (the body is env->size bytes from there; nothing else about the
 * layout is promised); NULL with err set when the file is not a complete, valid queue file.
 */
struct queue_envelope *queue_read_envelope(const char *path,
	    uint64_t *body_offset, char *err, size_t errlen);

/*
 * At start: call cb for every valid message in queue/, moving invalid ones
 * to corrupt/ (logged).  Returns the number of valid messages, -1 on error.
 */
long	queue_scan(const char *spool,
	    void (*cb)(void *arg, struct queue_envelope *env), void *arg);

#endif
