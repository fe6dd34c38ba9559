/* The durable Raft store: see raftlog.h and docs/design/quorum.md §3.
 *
 * raft.log is a header (magic, version, a random key, its hash) and then
 * records, each one lib_raftlog_write: a head (length, kind, sequence
 * number, the body's hash, the head's hash) and a body (term, vote, the
 * cut, the entries). Both hashes are BLAKE2b-128 keyed with the file's
 * key: a record of another file, or bytes in an entry that look like a
 * record, never pass for one of this file. raft.snap is a header (index,
 * term, length, hash) and the embedding's state. */
#include "../util/setup.h"

#include "raftlog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/assert.h"
#include "lib.h"

#define FILE_MAGIC "BATONRL1"
#define SNAP_MAGIC "BATONSN1"
#define VERSION 1u
#define HASH 16u
#define FILE_HEAD 48u  /* magic 8, version 4, zero 4, key 16, hash 16 */
#define REC_HEAD 48u   /* len 4, kind 4, seq 8, body hash 16, hash 16 */
#define SNAP_HEAD 56u  /* magic 8, version 4, zero 4, index, term, len, hash */
#define BODY_HEAD 28u  /* term 8, vote 8, from_index 8, n 4 */
#define ENTRY_HEAD 12u /* term 8, len 4 */
#define REC_WRITE 1u
#define BODY_MAX \
    (BODY_HEAD + BATON_RAFT_LOG_MAX * (ENTRY_HEAD + BATON_RAFT_DATA_MAX))
#define LOG_FILE_MAX ((uint64_t)1 << 30)

struct lib_raftlog {
    char dir[256];
    char path[300], path_new[300], snap_path[300], snap_tmp[300];
    int dirfd, fd;
    uint64_t compact_bytes;
    baton_log_cb log;
    void *log_data;
    const struct lib_raftlog_sys *sys;
    uint8_t key[HASH];
    uint64_t end;      /* raft.log's size: the next record goes here */
    uint64_t next_seq; /* the next record's sequence number */
    /* The state: term, vote, the snapshot, the entries after it. */
    uint64_t term;
    int vote;
    uint64_t snap_index, snap_term;
    uint8_t *snap;
    uint64_t snap_len;
    struct baton_raft_entry *ents; /* ents[0] is index first */
    uint64_t first;
    uint32_t n, cap;
    uint8_t *buf; /* one record */
    bool failed;
    struct lib_raftlog_stats st;
    char errmsg[512];
};

/* ---- system calls (raftlog.h: lib_raftlog_sys) ---------------------- */

static ssize_t sys_pwrite(struct lib_raftlog *l,
                          int fd,
                          const void *buf,
                          size_t len,
                          off_t off)
{
    if (l->sys != NULL && l->sys->pwrite != NULL) {
        return l->sys->pwrite(l->sys->data, fd, buf, len, off);
    }
    return pwrite(fd, buf, len, off);
}

static int sys_fdatasync(struct lib_raftlog *l, int fd)
{
    if (l->sys != NULL && l->sys->fdatasync != NULL) {
        return l->sys->fdatasync(l->sys->data, fd);
    }
    return fdatasync(fd);
}

static int sys_fsync(struct lib_raftlog *l, int fd)
{
    if (l->sys != NULL && l->sys->fsync != NULL) {
        return l->sys->fsync(l->sys->data, fd);
    }
    return fsync(fd);
}

static int sys_rename(struct lib_raftlog *l, const char *from, const char *to)
{
    if (l->sys != NULL && l->sys->rename != NULL) {
        return l->sys->rename(l->sys->data, from, to);
    }
    return rename(from, to);
}

/* ---- messages --------------------------------------------------------- */

static void logf_(struct lib_raftlog *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(struct lib_raftlog *l, int level, const char *fmt, ...)
{
    char text[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    l->log(l->log_data, level, text);
}

/* Sets errmsg and returns rv (fail() also marks the store failed). */
static int err(struct lib_raftlog *l, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int err(struct lib_raftlog *l, int rv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(l->errmsg, sizeof(l->errmsg), fmt, ap);
    va_end(ap);
    return rv;
}

/* A write went wrong: nothing more is written (raftlog.h). */
static int fail(struct lib_raftlog *l, const char *what, const char *file)
{
    int e = errno;

    l->failed = true;
    err(l, BATON_EIO, "raftlog %s: %s: %s", file, what, strerror(e));
    logf_(l, BATON_LOG_ERROR, "%s: the store is failed, the node must stop",
          l->errmsg);
    return BATON_EIO;
}

/* ---- encoding --------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void hash(uint8_t out[HASH],
                 const uint8_t *key,
                 const uint8_t *p,
                 size_t len)
{
    crypto_generichash(out, HASH, p, len, key, key != NULL ? HASH : 0);
}

/* Fills l->buf with the record of one write; returns its size. */
static size_t encode(struct lib_raftlog *l,
                     uint64_t term,
                     int vote,
                     uint64_t from,
                     const struct baton_raft_entry *e,
                     uint32_t n)
{
    uint8_t *b = l->buf + REC_HEAD;
    size_t len = BODY_HEAD;

    put64(b, term);
    put64(b + 8, (uint64_t)(int64_t)vote);
    put64(b + 16, from);
    put32(b + 24, n);
    for (uint32_t i = 0; i < n; i++) {
        put64(b + len, e[i].term);
        put32(b + len + 8, e[i].len);
        memcpy(b + len + ENTRY_HEAD, e[i].data, e[i].len);
        len += ENTRY_HEAD + e[i].len;
    }
    put32(l->buf, (uint32_t)len);
    put32(l->buf + 4, REC_WRITE);
    put64(l->buf + 8, l->next_seq);
    hash(l->buf + 16, l->key, b, len);
    hash(l->buf + 32, l->key, l->buf, 32);
    return REC_HEAD + len;
}

/* A record's head at p (avail bytes there) is this file's. */
static bool head_ok(const struct lib_raftlog *l,
                    const uint8_t *p,
                    uint64_t avail)
{
    uint8_t h[HASH];

    if (avail < REC_HEAD) {
        return false;
    }
    hash(h, l->key, p, 32);
    return sodium_memcmp(h, p + 32, HASH) == 0 && get32(p) <= BODY_MAX;
}

/* ---- the state -------------------------------------------------------- */

static uint64_t last(const struct lib_raftlog *l)
{
    return l->first + l->n - 1;
}

static int reserve(struct lib_raftlog *l, uint64_t n)
{
    struct baton_raft_entry *e;
    uint32_t cap = l->cap != 0 ? l->cap : 64;

    if (n <= l->cap) {
        return 0;
    }
    if (n > UINT32_MAX / 2) {
        return BATON_ENOMEM;
    }
    while (cap < n) {
        cap *= 2;
    }
    e = realloc(l->ents, cap * sizeof(*e));
    if (e == NULL) {
        return BATON_ENOMEM;
    }
    l->ents = e;
    l->cap = cap;
    return 0;
}

/* Applies one write to the state, as the core made it: the cut after
 * from - 1, then the entries. Entries that do not follow the log (after
 * an installed snapshot) start it anew: the end of recovery checks that
 * the snapshot covers the gap. */
static int apply(struct lib_raftlog *l,
                 uint64_t term,
                 int vote,
                 uint64_t from,
                 const struct baton_raft_entry *e,
                 uint32_t n)
{
    int rv;

    l->term = term;
    l->vote = vote;
    if (l->n > 0 && from <= last(l)) {
        l->n = from <= l->first ? 0 : (uint32_t)(from - l->first);
    }
    if (n == 0) {
        return 0;
    }
    if (l->n == 0 || from != last(l) + 1) {
        l->n = 0;
        l->first = from;
    }
    rv = reserve(l, (uint64_t)l->n + n);
    if (rv != 0) {
        return rv;
    }
    memcpy(l->ents + l->n, e, n * sizeof(*e));
    l->n += n;
    return 0;
}

/* Drops the entries index and before; all of them if the entry at index
 * is not of term `term` (check) or the log ends before it: Raft's rule
 * for a snapshot. */
static void drop_upto(struct lib_raftlog *l,
                      uint64_t index,
                      uint64_t term,
                      bool check)
{
    uint32_t k;

    if (l->n == 0 || index < l->first) {
        return;
    }
    if (index > last(l) || (check && l->ents[index - l->first].term != term)) {
        l->n = 0;
        l->first = index + 1;
        return;
    }
    k = (uint32_t)(index - l->first + 1);
    memmove(l->ents, l->ents + k, (l->n - k) * sizeof(*l->ents));
    l->n -= k;
    l->first = index + 1;
}

/* What a rewrite of raft.log would take. */
static uint64_t live_bytes(const struct lib_raftlog *l)
{
    uint64_t b = FILE_HEAD + REC_HEAD + BODY_HEAD;

    for (uint32_t i = 0; i < l->n; i++) {
        b += ENTRY_HEAD + l->ents[i].len;
    }
    return b + (l->n / BATON_RAFT_LOG_MAX) * (REC_HEAD + BODY_HEAD);
}

/* ---- writing ---------------------------------------------------------- */

static int write_all(struct lib_raftlog *l,
                     int fd,
                     const uint8_t *p,
                     size_t len,
                     uint64_t off)
{
    while (len > 0) {
        ssize_t k = sys_pwrite(l, fd, p, len, (off_t)off);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            if (k == 0) {
                errno = ENOSPC;
            }
            return -1;
        }
        p += k;
        len -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* A rewrite that failed: its file goes, the store is failed. */
static int abandon(struct lib_raftlog *l, int fd)
{
    int e = errno;

    close(fd);
    unlink(l->path_new);
    errno = e;
    return fail(l, "write", l->path_new);
}

/* Writes raft.log anew (raft.log.new, synced, renamed, the directory
 * synced): a fresh key, then the state as records. */
static int rewrite(struct lib_raftlog *l)
{
    uint64_t off = FILE_HEAD, seq = 1;
    uint8_t head[FILE_HEAD] = {0};
    uint32_t done = 0;
    int fd;

    fd = open(l->path_new, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return fail(l, "create", l->path_new);
    }
    memcpy(head, FILE_MAGIC, 8);
    put32(head + 8, VERSION);
    randombytes_buf(head + 16, HASH);
    hash(head + 32, NULL, head, 32);
    memcpy(l->key, head + 16, HASH);
    if (write_all(l, fd, head, FILE_HEAD, 0) != 0) {
        goto err_write;
    }
    /* At least one record, for term and vote; entries in records of at
     * most what one write holds. */
    do {
        uint32_t k = BATON_MIN(l->n - done, (uint32_t)BATON_RAFT_LOG_MAX);
        size_t len;
        l->next_seq = seq++;
        len = encode(l, l->term, l->vote,
                     l->n > 0 ? l->first + done : l->snap_index + 1,
                     k > 0 ? l->ents + done : NULL, k);
        if (write_all(l, fd, l->buf, len, off) != 0) {
            goto err_write;
        }
        off += len;
        done += k;
    } while (done < l->n);
    if (sys_fdatasync(l, fd) != 0) {
        goto err_write;
    }
    if (sys_rename(l, l->path_new, l->path) != 0) {
        goto err_write;
    }
    if (sys_fsync(l, l->dirfd) != 0) {
        close(fd);
        return fail(l, "fsync the directory", l->dir);
    }
    if (l->fd >= 0) {
        close(l->fd);
    }
    l->fd = fd;
    l->end = off;
    l->next_seq = seq;
    l->st.records = seq - 1;
    return 0;

err_write:
    return abandon(l, fd);
}

int lib_raftlog_compact(struct lib_raftlog *l)
{
    int rv;

    if (l->failed) {
        return BATON_EIO;
    }
    rv = rewrite(l);
    if (rv == 0) {
        l->st.compactions++;
    }
    return rv;
}

/* Past its bound, and mostly what a rewrite would drop. */
static int maybe_compact(struct lib_raftlog *l)
{
    if (l->end > l->compact_bytes && l->end > 2 * live_bytes(l)) {
        return lib_raftlog_compact(l);
    }
    return 0;
}

int lib_raftlog_write(struct lib_raftlog *l, const struct baton_raft_write *w)
{
    size_t len;
    int rv;

    if (l->failed) {
        return BATON_EIO;
    }
    if (w->seq == 0) {
        return 0;
    }
    if (w->n > BATON_RAFT_LOG_MAX || (w->n > 0 && w->entries == NULL)) {
        return err(l, BATON_EINVAL, "raftlog: a write of %" PRIu32 " entries",
                   w->n);
    }
    for (uint32_t i = 0; i < w->n; i++) {
        if (w->entries[i].len > BATON_RAFT_DATA_MAX) {
            return err(l, BATON_EINVAL,
                       "raftlog: an entry of %" PRIu32 " bytes",
                       w->entries[i].len);
        }
    }
    len = encode(l, w->term, w->vote, w->from_index, w->entries, w->n);
    if (write_all(l, l->fd, l->buf, len, l->end) != 0) {
        return fail(l, "write", l->path);
    }
    if (sys_fdatasync(l, l->fd) != 0) {
        return fail(l, "fdatasync", l->path);
    }
    l->end += len;
    l->next_seq++;
    l->st.records++;
    l->st.writes++;
    rv = apply(l, w->term, w->vote, w->from_index, w->entries, w->n);
    if (rv != 0) {
        l->failed = true;
        return err(l, rv, "raftlog %s: no memory for the log", l->path);
    }
    drop_upto(l, l->snap_index, 0, false);
    return maybe_compact(l);
}

int lib_raftlog_snapshot(struct lib_raftlog *l,
                         uint64_t index,
                         uint64_t term,
                         const void *data,
                         uint64_t len)
{
    uint8_t head[SNAP_HEAD] = {0};
    crypto_generichash_state hs;
    uint8_t *copy;
    bool ok;
    int fd;

    if (l->failed) {
        return BATON_EIO;
    }
    if (index < l->snap_index || len > LIB_RAFTLOG_SNAP_MAX) {
        return err(l, BATON_EINVAL,
                   "raftlog: a snapshot at %" PRIu64 " (held: %" PRIu64 ")",
                   index, l->snap_index);
    }
    copy = malloc(len > 0 ? (size_t)len : 1);
    if (copy == NULL) {
        return err(l, BATON_ENOMEM, "raftlog: no memory for the snapshot");
    }
    if (len > 0) {
        memcpy(copy, data, (size_t)len);
    }
    memcpy(head, SNAP_MAGIC, 8);
    put32(head + 8, VERSION);
    put64(head + 16, index);
    put64(head + 24, term);
    put64(head + 32, len);
    crypto_generichash_init(&hs, NULL, 0, HASH);
    crypto_generichash_update(&hs, head, 40);
    crypto_generichash_update(&hs, copy, (size_t)len);
    crypto_generichash_final(&hs, head + 40, HASH);
    fd = open(l->snap_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(copy);
        return fail(l, "create", l->snap_tmp);
    }
    ok = write_all(l, fd, head, SNAP_HEAD, 0) == 0 &&
         write_all(l, fd, copy, (size_t)len, SNAP_HEAD) == 0 &&
         sys_fdatasync(l, fd) == 0;
    if (close(fd) != 0) {
        ok = false;
    }
    if (!ok || sys_rename(l, l->snap_tmp, l->snap_path) != 0) {
        int e = errno;
        unlink(l->snap_tmp);
        free(copy);
        errno = e;
        return fail(l, "write", l->snap_tmp);
    }
    if (sys_fsync(l, l->dirfd) != 0) {
        free(copy);
        return fail(l, "fsync the directory", l->dir);
    }
    free(l->snap);
    l->snap = copy;
    l->snap_len = len;
    l->snap_index = index;
    l->snap_term = term;
    drop_upto(l, index, term, true);
    if (l->n == 0) {
        l->first = index + 1;
    }
    return maybe_compact(l);
}

/* ---- recovery --------------------------------------------------------- */

/* Reads the file at path whole into *out (owned: free()); at most max
 * bytes. Returns 0, or -1 with errno set (EFBIG: past max). */
static int read_whole(const char *path,
                      uint8_t **out,
                      uint64_t *size,
                      uint64_t max)
{
    struct stat sb;
    uint8_t *b;
    uint64_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -1;
    }
    errno = 0;
    memset(&sb, 0, sizeof(sb));
    if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size > max) {
        int e = errno;
        if (e == 0 || (uint64_t)sb.st_size > max) {
            e = EFBIG;
        }
        close(fd);
        errno = e;
        return -1;
    }
    b = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1);
    if (b == NULL) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    while (got < (uint64_t)sb.st_size) {
        ssize_t k = read(fd, b + got, (size_t)((uint64_t)sb.st_size - got));
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            int e = k == 0 ? EIO : errno;
            free(b);
            close(fd);
            errno = e;
            return -1;
        }
        got += (uint64_t)k;
    }
    close(fd);
    *out = b;
    *size = got;
    return 0;
}

/* raft.snap, if there is one. */
static int load_snapshot(struct lib_raftlog *l)
{
    uint8_t h[HASH];
    crypto_generichash_state hs;
    uint8_t *b;
    uint64_t size, len;

    if (read_whole(l->snap_path, &b, &size, SNAP_HEAD + LIB_RAFTLOG_SNAP_MAX) !=
        0) {
        if (errno == ENOENT) {
            return 0;
        }
        return err(l, errno == ENOMEM ? BATON_ENOMEM : BATON_EIO,
                   "raftlog %s: read: %s", l->snap_path, strerror(errno));
    }
    len = size >= SNAP_HEAD ? get64(b + 32) : 0;
    if (size < SNAP_HEAD || memcmp(b, SNAP_MAGIC, 8) != 0 ||
        get32(b + 8) != VERSION || len != size - SNAP_HEAD) {
        free(b);
        return err(l, BATON_EBADMSG,
                   "raftlog %s: not a snapshot of this version (offset 0, "
                   "%" PRIu64 " bytes): refusing to start",
                   l->snap_path, size);
    }
    crypto_generichash_init(&hs, NULL, 0, HASH);
    crypto_generichash_update(&hs, b, 40);
    crypto_generichash_update(&hs, b + SNAP_HEAD, (size_t)len);
    crypto_generichash_final(&hs, h, HASH);
    if (sodium_memcmp(h, b + 40, HASH) != 0) {
        free(b);
        return err(l, BATON_EBADMSG,
                   "raftlog %s: damaged (checksum of offset 0..%" PRIu64
                   "): refusing to start",
                   l->snap_path, size);
    }
    l->snap_index = get64(b + 16);
    l->snap_term = get64(b + 24);
    l->snap_len = len;
    l->snap = malloc(len > 0 ? (size_t)len : 1);
    if (l->snap == NULL) {
        free(b);
        return err(l, BATON_ENOMEM, "raftlog: no memory for the snapshot");
    }
    memcpy(l->snap, b + SNAP_HEAD, (size_t)len);
    free(b);
    return 0;
}

/* Decodes a record's body into e (BATON_RAFT_LOG_MAX entries). */
static bool decode(const uint8_t *b,
                   uint32_t len,
                   uint64_t *term,
                   int *vote,
                   uint64_t *from,
                   struct baton_raft_entry *e,
                   uint32_t *n)
{
    uint32_t off = BODY_HEAD;
    int64_t v;

    if (len < BODY_HEAD) {
        return false;
    }
    *term = get64(b);
    v = (int64_t)get64(b + 8);
    *from = get64(b + 16);
    *n = get32(b + 24);
    if (v < -1 || v >= BATON_RAFT_NODES_MAX || *n > BATON_RAFT_LOG_MAX ||
        *from == 0) {
        return false;
    }
    *vote = (int)v;
    for (uint32_t i = 0; i < *n; i++) {
        if (len - off < ENTRY_HEAD) {
            return false;
        }
        e[i].term = get64(b + off);
        e[i].len = get32(b + off + 8);
        off += ENTRY_HEAD;
        if (e[i].len > BATON_RAFT_DATA_MAX || len - off < e[i].len) {
            return false;
        }
        memcpy(e[i].data, b + off, e[i].len);
        off += e[i].len;
    }
    return off == len;
}

/* The record at offset o (avail bytes there) is complete and this
 * file's: its length in *len. */
static bool record_ok(const struct lib_raftlog *l,
                      const uint8_t *p,
                      uint64_t avail,
                      uint32_t *len)
{
    uint8_t h[HASH];

    if (!head_ok(l, p, avail)) {
        return false;
    }
    *len = get32(p);
    if (avail - REC_HEAD < *len) {
        return false;
    }
    hash(h, l->key, p + REC_HEAD, *len);
    return sodium_memcmp(h, p + 16, HASH) == 0;
}

/* Past the last complete record at o: a torn tail (nothing of this file
 * after it) is cut; a record of this file after it means o is damaged in
 * the middle, which is refused. */
static int end_of_log(struct lib_raftlog *l,
                      const uint8_t *b,
                      uint64_t size,
                      uint64_t o)
{
    for (uint64_t p = o + 1; p + REC_HEAD <= size; p++) {
        if (head_ok(l, b + p, size - p)) {
            return err(l, BATON_EBADMSG,
                       "raftlog %s: damaged record at offset %" PRIu64
                       " (records follow it, from offset %" PRIu64
                       "): refusing to start",
                       l->path, o, p);
        }
    }
    logf_(l, BATON_LOG_WARN,
          "raftlog %s: torn tail cut at offset %" PRIu64 " (%" PRIu64
          " bytes): the last write was not complete, it was never "
          "confirmed",
          l->path, o, size - o);
    if (ftruncate(l->fd, (off_t)o) != 0 || fdatasync(l->fd) != 0) {
        return err(l, BATON_EIO, "raftlog %s: cut at offset %" PRIu64 ": %s",
                   l->path, o, strerror(errno));
    }
    l->st.cut_bytes = size - o;
    return 0;
}

/* Replays raft.log's records from offset FILE_HEAD onto the snapshot. */
static int replay(struct lib_raftlog *l,
                  const uint8_t *b,
                  uint64_t size,
                  struct baton_raft_entry *scratch)
{
    uint64_t o = FILE_HEAD, seq = 1, term, from;
    uint32_t len, n;
    int vote, rv;

    while (o < size && record_ok(l, b + o, size - o, &len)) {
        if (get64(b + o + 8) != seq || get32(b + o + 4) != REC_WRITE ||
            !decode(b + o + REC_HEAD, len, &term, &vote, &from, scratch, &n)) {
            return err(l, BATON_EBADMSG,
                       "raftlog %s: record at offset %" PRIu64
                       " is not record %" PRIu64
                       " of this version: refusing to start",
                       l->path, o, seq);
        }
        rv = apply(l, term, vote, from, scratch, n);
        if (rv != 0) {
            return err(l, rv, "raftlog %s: no memory for the log", l->path);
        }
        o += REC_HEAD + len;
        seq++;
    }
    if (o < size) {
        rv = end_of_log(l, b, size, o);
        if (rv != 0) {
            return rv;
        }
    }
    l->end = o;
    l->next_seq = seq;
    l->st.records = seq - 1;
    return 0;
}

/* raft.log: replayed, or made if there is none yet. */
static int load_log(struct lib_raftlog *l)
{
    struct baton_raft_entry *scratch;
    uint8_t h[HASH];
    uint8_t *b;
    uint64_t size;
    int rv;

    if (read_whole(l->path, &b, &size, LOG_FILE_MAX) != 0) {
        if (errno != ENOENT) {
            return err(l, errno == ENOMEM ? BATON_ENOMEM : BATON_EIO,
                       "raftlog %s: read: %s", l->path, strerror(errno));
        }
        if (l->snap != NULL) {
            return err(l, BATON_EBADMSG,
                       "raftlog %s: missing beside %s (term and vote "
                       "lost): refusing to start",
                       l->path, l->snap_path);
        }
        return rewrite(l) == 0 ? 0 : BATON_EIO;
    }
    if (size >= FILE_HEAD) {
        hash(h, NULL, b, 32);
    }
    if (size < FILE_HEAD || memcmp(b, FILE_MAGIC, 8) != 0 ||
        get32(b + 8) != VERSION || sodium_memcmp(h, b + 32, HASH) != 0) {
        free(b);
        return err(l, BATON_EBADMSG,
                   "raftlog %s: bad header (offset 0): not a log of this "
                   "version: refusing to start",
                   l->path);
    }
    memcpy(l->key, b + 16, HASH);
    l->fd = open(l->path, O_RDWR | O_CLOEXEC);
    scratch = malloc(BATON_RAFT_LOG_MAX * sizeof(*scratch));
    if (l->fd < 0 || scratch == NULL) {
        rv = l->fd < 0 ? err(l, BATON_EIO, "raftlog %s: open: %s", l->path,
                             strerror(errno))
                       : err(l, BATON_ENOMEM, "raftlog: no memory");
        free(scratch);
        free(b);
        return rv;
    }
    rv = replay(l, b, size, scratch);
    free(scratch);
    free(b);
    return rv;
}

/* The log and the snapshot meet: the entries the snapshot covers go (all
 * of them if its entry there differs), and none may be missing between. */
static int join(struct lib_raftlog *l)
{
    if (l->n > 0 && l->first > l->snap_index + 1) {
        return err(l, BATON_EBADMSG,
                   "raftlog %s: its entries start at index %" PRIu64
                   " but %s ends at %" PRIu64 ": refusing to start",
                   l->path, l->first, l->snap_path, l->snap_index);
    }
    drop_upto(l, l->snap_index, l->snap_term, true);
    if (l->n == 0) {
        l->first = l->snap_index + 1;
    }
    if (l->n > BATON_RAFT_LOG_MAX) {
        return err(l, BATON_ERANGE,
                   "raftlog %s: %" PRIu32
                   " entries after the snapshot, "
                   "more than the core holds (%u)",
                   l->path, l->n, BATON_RAFT_LOG_MAX);
    }
    return 0;
}

/* The directory: made if missing (and its parent synced), then locked. */
static int lock_dir(struct lib_raftlog *l)
{
    if (mkdir(l->dir, 0700) == 0) {
        char parent[256];
        char *slash;
        int pfd;
        snprintf(parent, sizeof(parent), "%s", l->dir);
        slash = strrchr(parent, '/');
        if (slash == parent) {
            slash[1] = '\0';
        } else if (slash != NULL) {
            *slash = '\0';
        } else {
            snprintf(parent, sizeof(parent), ".");
        }
        pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 || fsync(pfd) != 0) {
            int e = errno;
            if (pfd >= 0) {
                close(pfd);
            }
            return err(l, BATON_EIO, "raftlog %s: fsync: %s", parent,
                       strerror(e));
        }
        close(pfd);
    } else if (errno != EEXIST) {
        return err(l, BATON_EIO, "raftlog %s: mkdir: %s", l->dir,
                   strerror(errno));
    }
    l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->dirfd < 0) {
        return err(l, BATON_EIO, "raftlog %s: open: %s", l->dir,
                   strerror(errno));
    }
    if (flock(l->dirfd, LOCK_EX | LOCK_NB) != 0) {
        return err(l, BATON_EIO, "raftlog %s: %s", l->dir,
                   errno == EWOULDBLOCK ? "in use by another process"
                                        : strerror(errno));
    }
    /* A temporary file is what a crash left of a rewrite or snapshot
     * that never took effect. */
    unlink(l->path_new);
    unlink(l->snap_tmp);
    return 0;
}

int lib_raftlog_open(struct lib_raftlog **out,
                     const struct lib_raftlog_options *opt,
                     char *errmsg,
                     size_t errmsg_len)
{
    struct lib_raftlog *l;
    int rv;

    *out = NULL;
    if (opt->dir == NULL || strlen(opt->dir) == 0 || strlen(opt->dir) > 200) {
        snprintf(errmsg, errmsg_len, "raftlog: no directory, or too long");
        return BATON_EINVAL;
    }
    if (sodium_init() < 0) {
        snprintf(errmsg, errmsg_len, "raftlog: libsodium failed to start");
        return BATON_EIO;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL || (l->buf = malloc(REC_HEAD + BODY_MAX)) == NULL) {
        free(l);
        snprintf(errmsg, errmsg_len, "raftlog: no memory");
        return BATON_ENOMEM;
    }
    snprintf(l->dir, sizeof(l->dir), "%s", opt->dir);
    /* "dir/" is dir: its parent is what a new directory syncs. */
    for (size_t n = strlen(l->dir); n > 1 && l->dir[n - 1] == '/'; n--) {
        l->dir[n - 1] = '\0';
    }
    snprintf(l->path, sizeof(l->path), "%s/" LIB_RAFTLOG_FILE, l->dir);
    snprintf(l->path_new, sizeof(l->path_new), "%s/" LIB_RAFTLOG_FILE ".new",
             l->dir);
    snprintf(l->snap_path, sizeof(l->snap_path), "%s/" LIB_RAFTLOG_SNAP_FILE,
             l->dir);
    snprintf(l->snap_tmp, sizeof(l->snap_tmp),
             "%s/" LIB_RAFTLOG_SNAP_FILE ".tmp", l->dir);
    l->dirfd = l->fd = -1;
    l->vote = -1;
    l->first = 1;
    l->compact_bytes = opt->compact_bytes != 0 ? opt->compact_bytes
                                               : LIB_RAFTLOG_COMPACT_BYTES;
    l->log = opt->log != NULL ? opt->log : lib_log_stderr;
    l->log_data = opt->log_data;
    l->sys = opt->sys;
    rv = lock_dir(l);
    if (rv == 0) {
        rv = load_snapshot(l);
    }
    if (rv == 0) {
        l->first = l->snap_index + 1;
        rv = load_log(l);
    }
    if (rv == 0) {
        rv = join(l);
    }
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "%s", l->errmsg);
        lib_raftlog_close(l);
        return rv;
    }
    *out = l;
    return 0;
}

void lib_raftlog_close(struct lib_raftlog *l)
{
    if (l == NULL) {
        return;
    }
    if (l->fd >= 0) {
        close(l->fd);
    }
    if (l->dirfd >= 0) {
        close(l->dirfd); /* (the lock goes with it) */
    }
    free(l->ents);
    free(l->snap);
    free(l->buf);
    free(l);
}

void lib_raftlog_disk(const struct lib_raftlog *l, struct baton_raft_disk *disk)
{
    BATON_ASSERT(l->n == 0 || l->first == l->snap_index + 1);
    memset(disk, 0, sizeof(*disk));
    disk->term = l->term;
    disk->vote = l->vote;
    disk->snap_index = l->snap_index;
    disk->snap_term = l->snap_term;
    disk->n = l->n;
    disk->entries = l->n > 0 ? l->ents : NULL;
}

void lib_raftlog_snapshot_data(const struct lib_raftlog *l,
                               const uint8_t **data,
                               uint64_t *len)
{
    *data = l->snap;
    *len = l->snap != NULL ? l->snap_len : 0;
}

bool lib_raftlog_failed(const struct lib_raftlog *l)
{
    return l->failed;
}

const char *lib_raftlog_errmsg(const struct lib_raftlog *l)
{
    return l->errmsg;
}

void lib_raftlog_stats(const struct lib_raftlog *l,
                       struct lib_raftlog_stats *st)
{
    *st = l->st;
    st->file_bytes = l->end;
}
