/*
 * queue_recycle — the files of delivered messages kept for the next ones.
 *
 * Creating a file allocates an inode and deleting one frees it; at a
 * thousand messages a second that churn is a large part of the spool's
 * cost (on ext4 without a journal the allocator even skips every inode
 * freed in the last 30 s: docs/performance.md).  So a queue file whose
 * message is done is renamed into SPOOL/free/ instead of unlinked (up to
 * QUEUE_RECYCLE_MAX of them), and the writer renames one of those into
 * incoming/ID and truncates it instead of creating a file.  Nothing in
 * free/ is ever read: start-up empties it like incoming/, and a crash at
 * any point leaves at worst a file there.  The old content stays on disk
 * until the file is reused (like a deleted file's blocks), readable only
 * by the spool's owner.  `queue { reuse-files no }` turns this off
 * (queue_recycle_reuse): delivered files are unlinked at once, and those
 * kept are unlinked when it is turned off.  Thread-safe: removals run on the work pool, takes
 * on the writer threads and, for a message written as it arrives
 * (queue_msg_open), on the loop thread.
 */
#ifndef POSTERN_QUEUE_RECYCLE_H
#define POSTERN_QUEUE_RECYCLE_H

#define QUEUE_RECYCLE_MAX	1024	/* files kept in free/ */

/* Start keeping files for spool (free/ exists and is empty: queue_init);
 * 0, or -1 with errno (then nothing is kept, and everything still
 * works). */
int	queue_recycle_start(const char *spool);
/* Stop: files already in free/ stay there until the next start. */
void	queue_recycle_stop(void);

/* Reuse files (on, the default) or not (off: the files kept in free/
 * are unlinked now, and queue_recycle_put() keeps none).  Applies to
 * every start after it too. */
void	queue_recycle_reuse(int on);

/* queue/ID of spool is done with: 0 if it was moved into free/, -1 if
 * the caller must unlink it (not started, another spool, free/ full, or
 * the rename failed). */
int	queue_recycle_put(const char *spool, const char *id);

/* Move a kept file to dirfd/name, never over an existing one: 0, or -1
 * when there is none (the caller creates a file instead). */
int	queue_recycle_take(int dirfd, const char *name);

#endif
