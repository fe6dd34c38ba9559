/* The durable Raft store (src/lib/raftlog.c, docs/design/quorum.md §3):
 * round trips against a model of the core's writes, a crash at every
 * byte of the file, damaged bytes refused, snapshots and compaction, a
 * failure at every system call, a full and a read-only file system.
 *
 * The crash sweeps run in /dev/shm when it exists: a crash is simulated
 * by cutting the file, which does not depend on the file system, and
 * thousands of reopens there cost no disk flushes. The rest runs in
 * $TMPDIR (/tmp). */
#include "../../src/util/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/lib/raftlog.h"

#define MODEL_MAX 4096

/* ---- a model of the store: what the core's writes mean --------------- */

struct model {
    uint64_t term;
    int vote;
    uint64_t base, base_term; /* the snapshot */
    uint8_t snap[64];
    uint32_t snap_len;
    bool has_snap;
    uint64_t last;
    struct baton_raft_entry log[MODEL_MAX]; /* by index */
};

static void model_write(struct model *m, const struct baton_raft_write *w)
{
    m->term = w->term;
    m->vote = w->vote;
    if (w->from_index <= m->last) {
        m->last = BATON_MAX(w->from_index - 1, m->base);
    }
    for (uint32_t i = 0; i < w->n; i++) {
        m->log[w->from_index + i] = w->entries[i];
    }
    if (w->n > 0) {
        m->last = w->from_index + w->n - 1;
    }
}

static void model_snapshot(struct model *m,
                           uint64_t index,
                           uint64_t term,
                           const void *data,
                           uint32_t len)
{
    bool keep =
        index <= m->last && (index == m->base || m->log[index].term == term);

    m->base = index;
    m->base_term = term;
    if (!keep) {
        m->last = index;
    }
    memcpy(m->snap, data, len);
    m->snap_len = len;
    m->has_snap = true;
}

/* The store holds exactly the model's state. */
static bool same(const struct lib_raftlog *l, const struct model *m)
{
    struct baton_raft_disk d;
    const uint8_t *snap;
    uint64_t snap_len;

    lib_raftlog_disk(l, &d);
    lib_raftlog_snapshot_data(l, &snap, &snap_len);
    if (d.term != m->term || d.vote != m->vote || d.snap_index != m->base ||
        (m->has_snap && d.snap_term != m->base_term) ||
        d.n != m->last - m->base || (snap != NULL) != m->has_snap ||
        (m->has_snap && (snap_len != m->snap_len ||
                         memcmp(snap, m->snap, m->snap_len) != 0))) {
        return false;
    }
    for (uint32_t i = 0; i < d.n; i++) {
        const struct baton_raft_entry *a = &d.entries[i];
        const struct baton_raft_entry *b = &m->log[m->base + 1 + i];
        if (a->term != b->term || a->len != b->len ||
            memcmp(a->data, b->data, a->len) != 0) {
            return false;
        }
    }
    return true;
}

/* ---- fixtures --------------------------------------------------------- */

struct fx {
    char dir[256]; /* the store's directory */
    char mnt[256]; /* a tmpfs mounted by the test, or "" */
    char lines[8][600];
    unsigned n_lines;
    struct model m;
    struct lib_raftlog *l;
    char errmsg[512];
};

static void capture(void *data, int level, const char *text)
{
    struct fx *f = data;

    (void)level;
    snprintf(f->lines[f->n_lines % 8], sizeof(f->lines[0]), "%s", text);
    f->n_lines++;
}

static bool logged(const struct fx *f, const char *needle)
{
    for (unsigned i = 0; i < 8 && i < f->n_lines; i++) {
        if (strstr(f->lines[i], needle) != NULL) {
            return true;
        }
    }
    return false;
}

static int setup_in(void **state, const char *base)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s/raftlog-test-XXXXXX", base);
    assert_non_null(mkdtemp(f->dir));
    f->m.vote = -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    const char *t = getenv("TMPDIR");

    return setup_in(state, t != NULL && t[0] != '\0' ? t : "/tmp");
}

static int setup_shm(void **state)
{
    struct stat sb;

    if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
        access("/dev/shm", W_OK) == 0) {
        return setup_in(state, "/dev/shm");
    }
    return setup(state);
}

static void rm_rf(const char *dir)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_raftlog: could not remove %s\n", dir);
    }
}

static int teardown(void **state)
{
    struct fx *f = *state;

    lib_raftlog_close(f->l);
    if (f->mnt[0] != '\0') {
        umount2(f->mnt, MNT_DETACH);
    }
    rm_rf(f->dir);
    free(f);
    return 0;
}

static int open_with(struct fx *f,
                     const struct lib_raftlog_sys *sys,
                     uint64_t compact_bytes)
{
    struct lib_raftlog_options o = {.dir = f->dir,
                                    .log = capture,
                                    .log_data = f,
                                    .sys = sys,
                                    .compact_bytes = compact_bytes};

    lib_raftlog_close(f->l);
    f->l = NULL;
    return lib_raftlog_open(&f->l, &o, f->errmsg, sizeof(f->errmsg));
}

static void reopen(struct fx *f)
{
    int rv = open_with(f, NULL, 0);

    if (rv != 0) {
        fail_msg("open %s: %s", f->dir, f->errmsg);
    }
}

/* A write of n entries from index `from`, the entries of term `eterm`,
 * their data naming index and `gen`. */
static struct baton_raft_write mkwrite(struct baton_raft_entry *e,
                                       uint64_t seq,
                                       uint64_t term,
                                       int vote,
                                       uint64_t from,
                                       uint32_t n,
                                       uint64_t eterm,
                                       unsigned gen,
                                       uint32_t pad)
{
    struct baton_raft_write w = {.seq = seq,
                                 .term = term,
                                 .vote = vote,
                                 .from_index = from,
                                 .n = n,
                                 .entries = e};

    for (uint32_t i = 0; i < n; i++) {
        int k = snprintf((char *)e[i].data, BATON_RAFT_DATA_MAX,
                         "entry %" PRIu64 " gen %u ", from + i, gen);
        e[i].term = eterm;
        e[i].len = BATON_MIN((uint32_t)k + pad, BATON_RAFT_DATA_MAX);
        memset(e[i].data + k, 'a' + (int)(gen % 26), e[i].len - (uint32_t)k);
    }
    return w;
}

/* Writes w through the store and the model. */
static void put(struct fx *f, const struct baton_raft_write *w)
{
    int rv = lib_raftlog_write(f->l, w);

    if (rv != 0) {
        fail_msg("write: %s", lib_raftlog_errmsg(f->l));
    }
    model_write(&f->m, w);
    assert_true(same(f->l, &f->m));
}

static uint64_t file_bytes(const struct fx *f)
{
    struct lib_raftlog_stats st;

    lib_raftlog_stats(f->l, &st);
    return st.file_bytes;
}

static void read_file(const char *path, uint8_t **b, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    *b = malloc((size_t)n + 1);
    assert_non_null(*b);
    assert_int_equal(fread(*b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
}

static void write_file(const char *path,
                       const uint8_t *b,
                       size_t len,
                       size_t zeros)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, len, fp), len);
    for (size_t i = 0; i < zeros; i++) {
        assert_int_not_equal(fputc(0, fp), EOF);
    }
    assert_int_equal(fclose(fp), 0);
}

static void log_path(const struct fx *f, char *p, size_t len)
{
    snprintf(p, len, "%s/" LIB_RAFTLOG_FILE, f->dir);
}

/* ---- round trip ------------------------------------------------------- */

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    struct baton_raft_entry e[BATON_RAFT_LOG_MAX];
    struct baton_raft_write w;
    struct baton_raft_disk d;

    reopen(f);
    lib_raftlog_disk(f->l, &d);
    assert_int_equal(d.term, 0);
    assert_int_equal(d.vote, -1);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.snap_index, 0);
    w = mkwrite(e, 1, 1, 0, 1, 3, 1, 0, 0);
    put(f, &w);
    w = mkwrite(e, 2, 2, -1, 4, 0, 0, 0, 0); /* term and vote only */
    put(f, &w);
    w = mkwrite(e, 3, 2, 1, 3, 2, 2, 1, 40); /* cut after 2, then 3, 4 */
    put(f, &w);
    w = mkwrite(e, 4, 2, 1, 5, BATON_RAFT_LOG_MAX - 4, 2, 2,
                BATON_RAFT_DATA_MAX); /* full entries, up to the max */
    put(f, &w);
    w = mkwrite(e, 0, 9, 3, 1, 0, 0, 0, 0); /* seq 0: nothing */
    assert_int_equal(lib_raftlog_write(f->l, &w), 0);
    reopen(f);
    assert_true(same(f->l, &f->m));
    lib_raftlog_disk(f->l, &d);
    assert_int_equal(d.n, BATON_RAFT_LOG_MAX);
    assert_int_equal(d.entries[2].term, 2);
    /* What open recovered, the core takes. */
    {
        struct baton_raft_config cfg = {.self = 0,
                                        .n_nodes = 3,
                                        .voters = 7,
                                        .election_min_ms = 1000,
                                        .heartbeat_ms = 250};
        static struct baton_raft r;
        static struct baton_raft_effects rfx;
        assert_int_equal(baton_raft_init(&r, &cfg, &d, 1, 0, &rfx), 0);
        assert_int_equal(baton_raft_last_index(&r), BATON_RAFT_LOG_MAX);
    }
    /* Appends go on after a reopen. */
    w = mkwrite(e, 5, 3, 2, 4, 1, 3, 3, 0);
    put(f, &w);
    reopen(f);
    assert_true(same(f->l, &f->m));
    /* Refused, and the store not failed by it. */
    e[0].len = BATON_RAFT_DATA_MAX + 1;
    w.n = 1;
    assert_int_equal(lib_raftlog_write(f->l, &w), BATON_EINVAL);
    w.n = BATON_RAFT_LOG_MAX + 1;
    assert_int_equal(lib_raftlog_write(f->l, &w), BATON_EINVAL);
    assert_false(lib_raftlog_failed(f->l));
}

static void test_term_vote_newest(void **state)
{
    struct fx *f = *state;
    struct baton_raft_entry e[1];
    struct baton_raft_write w;

    reopen(f);
    for (unsigned t = 1; t <= 200; t++) {
        w = mkwrite(e, t, t, (int)(t % 5) - 1, 1, 0, 0, 0, 0);
        put(f, &w);
        if (t % 50 == 0) {
            reopen(f);
            assert_true(same(f->l, &f->m));
        }
    }
    reopen(f);
    assert_true(same(f->l, &f->m));
}

static void test_locked(void **state)
{
    struct fx *f = *state;
    char slash[300];
    struct lib_raftlog_options o = {
        .dir = slash, .log = capture, .log_data = f};
    struct lib_raftlog *other;

    reopen(f);
    /* The same directory, spelt with trailing slashes. */
    snprintf(slash, sizeof(slash), "%s//", f->dir);
    assert_int_equal(lib_raftlog_open(&other, &o, f->errmsg, sizeof(f->errmsg)),
                     BATON_EIO);
    assert_null(other);
    assert_non_null(strstr(f->errmsg, "in use by another process"));
    assert_non_null(strstr(f->errmsg, f->dir));
}

/* ---- crashes: every prefix of the file -------------------------------- */

/* A script of writes (cuts, term changes, appends); sizes[j] is the
 * file's size after write j, states[j] the model's. */
#define SCRIPT 12

static void script(struct fx *f, uint64_t *sizes, struct model *states)
{
    struct baton_raft_entry e[8];
    struct baton_raft_write w;

    reopen(f);
    sizes[0] = file_bytes(f);
    states[0] = f->m;
    for (unsigned j = 1; j <= SCRIPT; j++) {
        uint64_t term = 1 + j / 3;
        uint64_t from = f->m.last + 1;
        uint32_t n = j % 4 == 3 ? 0 : 1 + j % 3;
        if (j % 5 == 4 && f->m.last > 2) {
            from = f->m.last - 1; /* a cut */
        }
        w = mkwrite(e, j, term, (int)(j % 3) - 1, from, n, term, j, 3);
        put(f, &w);
        sizes[j] = file_bytes(f);
        states[j] = f->m;
    }
    lib_raftlog_close(f->l);
    f->l = NULL;
}

/* The file b cut at o (zero-filled past it if `zeros`) still holds its
 * first `upto` bytes. */
static bool intact(const uint8_t *b, size_t o, int zeros, uint64_t upto)
{
    if (upto <= o) {
        return true;
    }
    for (size_t p = o; zeros && p < upto; p++) {
        if (b[p] != 0) {
            return false;
        }
    }
    return zeros != 0;
}

/* The file cut at every offset (and zero-filled past it, as a crash can
 * leave a block): what open recovers is the state after the last
 * complete write, a cut is logged with its offset, and appends go on. */
static void test_every_prefix(void **state)
{
    struct fx *f = *state;
    static uint64_t sizes[SCRIPT + 1];
    static struct model states[SCRIPT + 1];
    char path[300];
    uint8_t *b;
    size_t len;

    script(f, sizes, states);
    log_path(f, path, sizeof(path));
    read_file(path, &b, &len);
    assert_int_equal(len, sizes[SCRIPT]);
    for (int zeros = 0; zeros <= 1; zeros++) {
        for (size_t o = 0; o <= len; o++) {
            unsigned j = 0;
            int rv;
            /* The last write whose bytes are all there (zeros may
             * stand in for zeros). */
            while (j < SCRIPT && intact(b, o, zeros, sizes[j + 1])) {
                j++;
            }
            write_file(path, b, o, zeros ? len - o : 0);
            f->n_lines = 0;
            rv = open_with(f, NULL, 0);
            if (o < sizes[0]) {
                /* Only ever made whole (renamed into place): a torn
                 * header is refused, a torn first record is nothing. */
                assert_true(rv == BATON_EBADMSG ||
                            (rv == 0 && same(f->l, &states[0])));
                continue;
            }
            if (rv != 0) {
                fail_msg("offset %zu: %s", o, f->errmsg);
            }
            if (!same(f->l, &states[j])) {
                fail_msg("offset %zu: not the state after write %u", o, j);
            }
            if (o + (size_t)zeros * (len - o) > sizes[j]) {
                /* Something past the last complete record: cut. */
                char want[64];
                snprintf(want, sizeof(want), "offset %" PRIu64, sizes[j]);
                assert_true(logged(f, "torn tail"));
                assert_true(logged(f, want));
                assert_true(logged(f, path));
            }
            assert_int_equal(file_bytes(f), sizes[j]);
        }
    }
    /* After a cut, a write lands where the torn one was. */
    {
        struct baton_raft_entry e[1];
        struct baton_raft_write w;
        write_file(path, b, (size_t)(sizes[SCRIPT - 1] + 5), 0);
        reopen(f);
        f->m = states[SCRIPT - 1];
        w = mkwrite(e, 99, 9, 1, f->m.last + 1, 1, 9, 99, 0);
        put(f, &w);
        reopen(f);
        assert_true(same(f->l, &f->m));
    }
    free(b);
}

/* ---- damage: refused unless it is the last record ---------------------- */

static void test_bit_flips(void **state)
{
    struct fx *f = *state;
    static uint64_t sizes[SCRIPT + 1];
    static struct model states[SCRIPT + 1];
    char path[300], want[64];
    uint8_t *b;
    size_t len;

    script(f, sizes, states);
    log_path(f, path, sizeof(path));
    read_file(path, &b, &len);
    for (size_t p = 0; p < len; p++) {
        int rv;
        b[p] ^= (uint8_t)(1u << (p % 8));
        write_file(path, b, len, 0);
        b[p] ^= (uint8_t)(1u << (p % 8));
        f->n_lines = 0;
        rv = open_with(f, NULL, 0);
        if (p >= sizes[SCRIPT - 1]) {
            /* The last record: not told from a torn write (quorum.md
             * §3), cut and logged. */
            if (rv != 0) {
                fail_msg("byte %zu: %s", p, f->errmsg);
            }
            assert_true(same(f->l, &states[SCRIPT - 1]));
            assert_true(logged(f, "torn tail"));
            continue;
        }
        if (rv != BATON_EBADMSG) {
            fail_msg("byte %zu of %zu: damage accepted (rv %d)", p,
                     (size_t)sizes[SCRIPT - 1], rv);
        }
        assert_null(f->l);
        assert_non_null(strstr(f->errmsg, path));
        assert_non_null(strstr(f->errmsg, "refusing to start"));
    }
    /* The offset named is the damaged record's. */
    b[sizes[3] + 60] ^= 1;
    write_file(path, b, len, 0);
    assert_int_equal(open_with(f, NULL, 0), BATON_EBADMSG);
    snprintf(want, sizeof(want), "damaged record at offset %" PRIu64, sizes[3]);
    assert_non_null(strstr(f->errmsg, want));
    free(b);
}

/* ---- snapshots and compaction ------------------------------------------ */

static void snap(struct fx *f, uint64_t index, uint64_t term)
{
    char data[64];
    int len = snprintf(data, sizeof(data), "state as of %" PRIu64, index);
    int rv = lib_raftlog_snapshot(f->l, index, term, data, (uint64_t)len);

    if (rv != 0) {
        fail_msg("snapshot: %s", lib_raftlog_errmsg(f->l));
    }
    model_snapshot(&f->m, index, term, data, (uint32_t)len);
    assert_true(same(f->l, &f->m));
}

static void test_snapshot_compaction(void **state)
{
    struct fx *f = *state;
    struct baton_raft_entry e[4];
    struct baton_raft_write w;
    struct lib_raftlog_stats st;
    uint64_t compact = 8192, biggest = 0, compactions = 0;

    assert_int_equal(open_with(f, NULL, compact), 0);
    for (unsigned i = 1; i <= 600; i++) {
        w = mkwrite(e, i, 1 + i / 100, 0, f->m.last + 1, 2, 1 + i / 100, i, 60);
        put(f, &w);
        if (i % 10 == 0) {
            snap(f, f->m.last - 5, f->m.log[f->m.last - 5].term);
        }
        biggest = BATON_MAX(biggest, file_bytes(f));
        if (i % 150 == 0) {
            lib_raftlog_stats(f->l, &st);
            compactions += st.compactions;
            assert_int_equal(open_with(f, NULL, compact), 0);
            assert_true(same(f->l, &f->m));
        }
    }
    assert_true(compactions >= 10);
    /* Bounded: the bound, plus the write that crossed it. */
    assert_true(biggest <= compact + 2048);
    reopen(f);
    assert_true(same(f->l, &f->m));
    lib_raftlog_stats(f->l, &st);
    assert_true(st.file_bytes <= compact + 2048);
    /* Entries after the snapshot stay if its entry matches: 5 here. */
    assert_int_equal(f->m.last - f->m.base, 5);
    /* An older snapshot than the one held is refused. */
    assert_int_equal(lib_raftlog_snapshot(f->l, f->m.base - 1, 1, "x", 1),
                     BATON_EINVAL);
    assert_false(lib_raftlog_failed(f->l));
}

/* An installed snapshot (effects.install): the log goes if its entry at
 * the snapshot's index differs or is missing, also across a crash right
 * after the snapshot. */
static void test_install(void **state)
{
    struct fx *f = *state;
    struct baton_raft_entry e[20];
    struct baton_raft_write w;
    char path[300];

    reopen(f);
    w = mkwrite(e, 1, 1, 0, 1, 20, 1, 1, 0);
    put(f, &w);
    snap(f, 15, 3); /* index 15 has term 1 here: all goes */
    assert_int_equal(f->m.last, 15);
    reopen(f);
    assert_true(same(f->l, &f->m));
    w = mkwrite(e, 2, 3, 1, 16, 2, 3, 2, 0); /* the cut, the leader's */
    put(f, &w);
    snap(f, 60, 4); /* beyond the log */
    reopen(f);
    assert_true(same(f->l, &f->m));
    w = mkwrite(e, 3, 4, 1, 61, 3, 4, 3, 0);
    put(f, &w);
    reopen(f);
    assert_true(same(f->l, &f->m));
    /* A log that does not reach back to the snapshot (a write after an
     * install whose snapshot was not saved first) is refused. */
    w = mkwrite(e, 4, 4, 1, 90, 1, 4, 4, 0);
    assert_int_equal(lib_raftlog_write(f->l, &w), 0);
    lib_raftlog_close(f->l);
    f->l = NULL;
    assert_int_equal(open_with(f, NULL, 0), BATON_EBADMSG);
    assert_non_null(strstr(f->errmsg, "start at index 90"));
    /* A snapshot without its log: term and vote are gone, refused. */
    log_path(f, path, sizeof(path));
    unlink(path);
    assert_int_equal(open_with(f, NULL, 0), BATON_EBADMSG);
    assert_non_null(strstr(f->errmsg, "term and vote lost"));
}

static void test_snapshot_flips(void **state)
{
    struct fx *f = *state;
    char path[300];
    uint8_t *b;
    size_t len;

    reopen(f);
    snap(f, 0, 0);
    lib_raftlog_close(f->l);
    f->l = NULL;
    snprintf(path, sizeof(path), "%s/" LIB_RAFTLOG_SNAP_FILE, f->dir);
    read_file(path, &b, &len);
    for (size_t p = 0; p < len; p++) {
        b[p] ^= (uint8_t)(1u << (p % 8));
        write_file(path, b, len, 0);
        b[p] ^= (uint8_t)(1u << (p % 8));
        assert_int_equal(open_with(f, NULL, 0), BATON_EBADMSG);
        assert_non_null(strstr(f->errmsg, path));
    }
    write_file(path, b, len - 1, 0);
    assert_int_equal(open_with(f, NULL, 0), BATON_EBADMSG);
    write_file(path, b, len, 0);
    reopen(f);
    assert_true(same(f->l, &f->m));
    free(b);
}

/* ---- failures: every system call, a full disk, a read-only one --------- */

struct faults {
    unsigned calls, fail_at;
    bool hit;
};

static bool fault(struct faults *ft, int e)
{
    if (++ft->calls == ft->fail_at) {
        ft->hit = true;
        errno = e;
        return true;
    }
    return false;
}

static ssize_t f_pwrite(void *data,
                        int fd,
                        const void *buf,
                        size_t len,
                        off_t off)
{
    struct faults *ft = data;

    if (fault(ft, ENOSPC)) {
        /* Half of it made it: a torn record. */
        if (len > 1 && pwrite(fd, buf, len / 2, off) < 0) {
            return -1;
        }
        errno = ENOSPC;
        return -1;
    }
    return pwrite(fd, buf, len, off);
}

static int f_fdatasync(void *data, int fd)
{
    return fault(data, EIO) ? -1 : fdatasync(fd);
}

static int f_fsync(void *data, int fd)
{
    return fault(data, EIO) ? -1 : fsync(fd);
}

static int f_rename(void *data, const char *from, const char *to)
{
    return fault(data, EIO) ? -1 : rename(from, to);
}

/* One run of writes and snapshots (with compactions) through the store;
 * the model's state after each step in states[]; how many the store
 * confirmed in *done. */
#define STEPS 40

static void steps(struct fx *f, struct model *states, unsigned *done)
{
    struct baton_raft_entry e[3];
    struct baton_raft_write w;
    bool broken = false;

    *done = 0;
    states[0] = f->m;
    for (unsigned i = 1; i <= STEPS; i++) {
        int rv;
        if (i % 7 == 0) {
            char data[16];
            uint64_t at = f->m.last - 1;
            int len = snprintf(data, sizeof(data), "s%u", i);
            rv = lib_raftlog_snapshot(f->l, at, f->m.log[at].term, data,
                                      (uint64_t)len);
            model_snapshot(&f->m, at, f->m.log[at].term, data, (uint32_t)len);
        } else {
            uint64_t from = i % 5 == 0 ? f->m.last : f->m.last + 1;
            w = mkwrite(e, i, 1 + i / 4, (int)(i % 3) - 1, from,
                        i % 6 == 0 ? 0 : 3, 1 + i / 4, i, 30);
            rv = lib_raftlog_write(f->l, &w);
            model_write(&f->m, &w);
        }
        states[i] = f->m;
        if (broken) {
            assert_int_equal(rv, BATON_EIO);
        } else if (rv == 0) {
            *done = i;
        } else {
            assert_int_equal(rv, BATON_EIO);
            assert_true(lib_raftlog_failed(f->l));
            broken = true;
        }
    }
}

static void test_fault_sweep(void **state)
{
    struct fx *f = *state;
    static struct model states[STEPS + 1];
    struct faults ft = {0};
    const struct lib_raftlog_sys sys = {.data = &ft,
                                        .pwrite = f_pwrite,
                                        .fdatasync = f_fdatasync,
                                        .fsync = f_fsync,
                                        .rename = f_rename};
    unsigned done, runs = 0;

    for (ft.fail_at = 1;; ft.fail_at++) {
        int rv;
        ft.calls = 0;
        ft.hit = false;
        lib_raftlog_close(f->l);
        f->l = NULL;
        rm_rf(f->dir);
        memset(&f->m, 0, sizeof(f->m));
        f->m.vote = -1;
        rv = open_with(f, &sys, 1500);
        if (rv != 0) {
            /* A failure while making the log: refused, and a later open
             * starts from nothing. */
            assert_true(ft.hit);
            assert_int_equal(rv, BATON_EIO);
            reopen(f);
            assert_true(same(f->l, &f->m));
            continue;
        }
        steps(f, states, &done);
        if (!ft.hit) {
            break; /* past the last call: every one was failed once */
        }
        runs++;
        reopen(f);
        /* Everything confirmed is there; the failed step may be. */
        if (!same(f->l, &states[done]) &&
            (done == STEPS || !same(f->l, &states[done + 1]))) {
            fail_msg("failing call %u: not the state after step %u or %u",
                     ft.fail_at, done, done + 1);
        }
    }
    assert_true(runs > 100);
}

static bool try_mount(struct fx *f, const char *opts)
{
    snprintf(f->mnt, sizeof(f->mnt), "%s", f->dir);
    if (mount("tmpfs", f->mnt, "tmpfs", 0, opts) != 0) {
        f->mnt[0] = '\0';
        return false;
    }
    return true;
}

/* A full file system (a 64 KiB tmpfs, as root): the write that does not
 * fit fails with a clear error, nothing after it is written, and a
 * reopen finds exactly what was confirmed. */
static void test_full_disk(void **state)
{
    struct fx *f = *state;
    struct baton_raft_entry e[16];
    struct baton_raft_write w;
    static uint8_t big[128 * 1024];
    int rv = 0;

    if (geteuid() != 0 || !try_mount(f, "size=64k")) {
        skip(); /* the fault sweep fails pwrite with ENOSPC instead */
    }
    reopen(f);
    for (unsigned i = 1; i < 1000 && rv == 0; i++) {
        /* The same 16 entries again and again: the log stays short
         * (as the core keeps it), the file grows. */
        w = mkwrite(e, i, 1, 0, 1, 16, 1, i, 200);
        rv = lib_raftlog_write(f->l, &w);
        if (rv == 0) {
            model_write(&f->m, &w);
        }
    }
    assert_int_equal(rv, BATON_EIO);
    assert_non_null(strstr(lib_raftlog_errmsg(f->l), "No space left"));
    assert_non_null(strstr(lib_raftlog_errmsg(f->l), LIB_RAFTLOG_FILE));
    assert_true(logged(f, "the node must stop"));
    w = mkwrite(e, 2000, 2, 0, f->m.last + 1, 1, 2, 0, 0);
    assert_int_equal(lib_raftlog_write(f->l, &w), BATON_EIO);
    assert_int_equal(lib_raftlog_snapshot(f->l, 1, 1, "x", 1), BATON_EIO);
    reopen(f);
    assert_true(same(f->l, &f->m));
    /* A snapshot that does not fit leaves the old one. */
    rv = lib_raftlog_snapshot(f->l, 1, 1, big, sizeof(big));
    assert_int_equal(rv, BATON_EIO);
    reopen(f);
    assert_true(same(f->l, &f->m));
}

/* A directory the store cannot write: a clear error at open. */
static void test_unwritable(void **state)
{
    struct fx *f = *state;
    struct baton_raft_entry e[1];
    struct baton_raft_write w;
    char file[300];

    if (geteuid() == 0 && try_mount(f, "size=1m")) {
        reopen(f);
        w = mkwrite(e, 1, 1, 0, 1, 1, 1, 1, 0);
        put(f, &w);
        lib_raftlog_close(f->l);
        f->l = NULL;
        assert_int_equal(
            mount("tmpfs", f->mnt, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL), 0);
        assert_int_equal(open_with(f, NULL, 0), BATON_EIO);
        assert_non_null(strstr(f->errmsg, "Read-only file system"));
        assert_non_null(strstr(f->errmsg, LIB_RAFTLOG_FILE));
    } else {
        assert_int_equal(chmod(f->dir, 0500), 0);
        assert_int_equal(open_with(f, NULL, 0), BATON_EIO);
        assert_non_null(strstr(f->errmsg, "Permission denied"));
        assert_int_equal(chmod(f->dir, 0700), 0);
    }
    /* Under a regular file: no directory can be made. */
    snprintf(file, sizeof(file), "%s-file", f->dir);
    write_file(file, (const uint8_t *)"x", 1, 0);
    snprintf(f->errmsg, sizeof(f->errmsg), "%s", "");
    {
        struct lib_raftlog_options o = {.dir = NULL};
        char sub[320];
        snprintf(sub, sizeof(sub), "%s/state", file);
        o.dir = sub;
        assert_int_equal(
            lib_raftlog_open(&f->l, &o, f->errmsg, sizeof(f->errmsg)),
            BATON_EIO);
        assert_non_null(strstr(f->errmsg, "mkdir"));
        assert_non_null(strstr(f->errmsg, sub));
    }
    unlink(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_term_vote_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_prefix, setup_shm, teardown),
        cmocka_unit_test_setup_teardown(test_bit_flips, setup_shm, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_compaction, setup_shm,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_flips, setup_shm,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fault_sweep, setup_shm, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
