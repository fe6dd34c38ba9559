/* The durable store of one node's Raft state: term and vote, the log and
 * the embedding's snapshot, in the node's state directory
 * (docs/design/quorum.md §3).
 *
 * Happy path: open recovers what the directory holds and hands it to
 * baton_raft_init (lib_raftlog_disk). Each effects.write of the core is
 * given to lib_raftlog_write, which returns once it is on disk
 * (fdatasync); only then does the caller call baton_raft_persisted with
 * its seq. A snapshot the embedding takes (or installs: effects.install)
 * goes through lib_raftlog_snapshot before baton_raft_snapshot_taken.
 *
 * The calls are synchronous: the caller's loop blocks for the fdatasync
 * (docs/benchmarks.md "raftlog" has its cost on this machine). The API
 * already separates the write from its confirmation, so a later version
 * can run the writes on a thread and confirm from the loop without a
 * change for the caller.
 *
 * Failure modes: a write or snapshot that fails (a full disk, an I/O
 * error, fdatasync failing) leaves the store *failed*: that call and
 * every later one return BATON_EIO and nothing more is written. The core
 * takes a later confirmation as covering every earlier write, so a node
 * must never go on past a lost write: it closes the store and stops; on
 * restart, open recovers what is durable. Open refuses a damaged
 * directory (a bad record before the last one, a bad snapshot) with
 * BATON_EBADMSG and an errmsg naming the file and the offset: that is
 * data loss the node must not paper over. A torn last record (a crash
 * during a write) is cut and logged: it was never confirmed. */
#ifndef BATON_LIB_RAFTLOG_H
#define BATON_LIB_RAFTLOG_H

#include <stddef.h>
#include <sys/types.h>

#include <baton/baton.h>

#include "../core/raft.h"
#include "../util/setup.h"

/* The files in the state directory. */
#define LIB_RAFTLOG_FILE "raft.log"
#define LIB_RAFTLOG_SNAP_FILE "raft.snap"
/* The log is rewritten without what a snapshot covers once it is past
 * this size and twice what it holds (lib_raftlog_options.compact_bytes). */
#define LIB_RAFTLOG_COMPACT_BYTES (1u << 20)
/* The largest snapshot read back at open. */
#define LIB_RAFTLOG_SNAP_MAX ((uint64_t)1 << 30)

/* The system calls the store makes, for tests that fail them one by one
 * (STYLE.md "syscall fault sweeps"). NULL: the real ones. */
struct lib_raftlog_sys {
    void *data;
    /* Return what the syscall would (-1 with errno set to fail it). */
    ssize_t (
        *pwrite)(void *data, int fd, const void *buf, size_t len, off_t off);
    int (*fdatasync)(void *data, int fd); /* a file */
    int (*fsync)(void *data, int fd);     /* a directory */
    int (*rename)(void *data, const char *from, const char *to);
};

struct lib_raftlog_options {
    const char *dir;        /* made (one level) if missing; borrowed */
    uint64_t compact_bytes; /* 0: LIB_RAFTLOG_COMPACT_BYTES */
    baton_log_cb log;       /* NULL: lines on stderr */
    void *log_data;
    const struct lib_raftlog_sys *sys; /* NULL: the real calls; borrowed */
};

struct lib_raftlog_stats {
    uint64_t file_bytes; /* raft.log's size */
    uint64_t records;    /* in raft.log */
    uint64_t writes;     /* lib_raftlog_write calls that succeeded */
    uint64_t compactions;
    uint64_t cut_bytes; /* the torn tail cut at open (0: none) */
};

struct lib_raftlog;

/* Opens (making them if missing) the store in opt->dir and recovers it:
 * the snapshot, then every complete record of the log. The directory is
 * locked (flock) for as long as the store is open.
 * Returns owned (free with lib_raftlog_close()) in *out.
 * Errors (errmsg says which file, which offset, why): BATON_EIO (a
 * system call failed, or another process holds the directory),
 * BATON_EBADMSG (a damaged record before the end of raft.log, a damaged
 * or unknown snapshot or log header, a log that does not reach back to
 * the snapshot), BATON_ERANGE (more entries after the snapshot than the
 * core holds), BATON_ENOMEM. */
int lib_raftlog_open(struct lib_raftlog **out,
                     const struct lib_raftlog_options *opt,
                     char *errmsg,
                     size_t errmsg_len);
/* Closes the files and frees the store (failed or not). */
void lib_raftlog_close(struct lib_raftlog *l);

/* What the store holds, for baton_raft_init: term, vote, the snapshot's
 * index and term and the entries after it. disk->entries is valid until
 * the next lib_raftlog_write, lib_raftlog_snapshot or close. */
void lib_raftlog_disk(const struct lib_raftlog *l,
                      struct baton_raft_disk *disk);
/* The embedding's snapshot (the state as of disk->snap_index): *data is
 * NULL and *len 0 without one. Valid until the next lib_raftlog_snapshot
 * or close. */
void lib_raftlog_snapshot_data(const struct lib_raftlog *l,
                               const uint8_t **data,
                               uint64_t *len);

/* Makes w durable: term and vote, the log cut after w->from_index - 1,
 * then w's entries appended; all of it in one record, fdatasync'ed before
 * it returns. w->seq == 0 is nothing to write (returns 0). Borrows w.
 * Then the caller calls baton_raft_persisted(w->seq).
 * Errors: BATON_EINVAL (w->n > BATON_RAFT_LOG_MAX, an entry longer than
 * BATON_RAFT_DATA_MAX), BATON_EIO (errmsg says why; the store is failed,
 * see above; the write may be on disk all the same, e.g. when the
 * compaction after it failed: a restart recovers it, which is safe, as
 * it was never confirmed). */
int lib_raftlog_write(struct lib_raftlog *l, const struct baton_raft_write *w);

/* Replaces the snapshot with the embedding's state as of index (whose
 * entry has the given term): written to a temporary file, fdatasync'ed,
 * renamed into place, the directory fsync'ed. The log keeps the entries
 * after index if its entry at index has that term, else none (Raft's
 * rule for an installed snapshot). The log is compacted when it is past
 * its bound. Borrows data. Then the caller calls
 * baton_raft_snapshot_taken(index).
 * An installed snapshot (effects.install) must be saved before
 * effects.write of the same step is written: that write cuts the log
 * after the snapshot's index.
 * Errors: BATON_EINVAL (index older than the snapshot held), BATON_EIO
 * (the store is failed), BATON_ENOMEM. */
int lib_raftlog_snapshot(struct lib_raftlog *l,
                         uint64_t index,
                         uint64_t term,
                         const void *data,
                         uint64_t len);

/* Rewrites the log without what the snapshot covers now (the snapshot
 * calls it when the log is past its bound). Errors: BATON_EIO (the store
 * is failed), BATON_ENOMEM. */
int lib_raftlog_compact(struct lib_raftlog *l);

/* Failed: a write went wrong; lib_raftlog_errmsg says which. */
bool lib_raftlog_failed(const struct lib_raftlog *l);
const char *lib_raftlog_errmsg(const struct lib_raftlog *l);
void lib_raftlog_stats(const struct lib_raftlog *l,
                       struct lib_raftlog_stats *st);

#endif /* BATON_LIB_RAFTLOG_H */
