/* The Raft core (src/core/raft.c) on the real store (src/lib/raftlog.c):
 * three nodes in one process, messages delivered in virtual time, each
 * node's term, vote, log and snapshots in its own directory, crashes
 * that close the store (some of them tearing the write in flight, which
 * was then never confirmed) and restarts from what open recovers.
 *
 * This is the embedding's side of the contract in raftlog.h, as a
 * driver will carry it out: every effects.write made durable before
 * baton_raft_persisted, an installed snapshot saved before the write of
 * its step, the embedding's snapshots saved before
 * baton_raft_snapshot_taken. Checked: every node applies the same entry
 * at every committed index (a commit lost across a restart would let a
 * later leader commit another one there), every open succeeds (never
 * more entries than the core holds, never a log that misses the
 * snapshot), and after a quiet spell every node has applied the same,
 * with progress. The core alone is checked far harder by baton-raft-sim
 * (docs/design/quorum.md §7); this is the store under it. */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/lib/raftlog.h"

#define NODES 3
#define QUEUE 4096
#define COMMITS_MAX 100000
#define SNAP_EVERY 50 /* entries applied between the embedding's snapshots */

struct qmsg {
    uint64_t at_ms;
    struct baton_raft_msg m;
    struct baton_raft_entry *entries;
    uint8_t data[16];
};

struct node {
    char dir[300];
    struct baton_raft r;
    struct lib_raftlog *l;
    bool up;
    uint64_t down_until;
    uint64_t applied, hash, snap_at;
};

struct cluster {
    uint64_t seed, rng, now;
    char base[256];
    struct node n[NODES];
    struct qmsg q[QUEUE];
    unsigned nq;
    /* What was committed: the entry's hash and the state's, by index. */
    uint64_t entry_hash[COMMITS_MAX], state_hash[COMMITS_MAX];
    uint64_t n_committed;
    uint64_t proposed, crashes, torn, installs, restarts;
    bool quiet;
};

static uint64_t rnd(struct cluster *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static uint64_t below(struct cluster *c, uint64_t n)
{
    return rnd(c) % n;
}

static uint64_t ehash(const struct baton_raft_entry *e)
{
    uint64_t h = e->term * 0x9e3779b97f4a7c15u;

    for (uint32_t k = 0; k < e->len; k++) {
        h = (h ^ e->data[k]) * 0x100000001b3u;
    }
    return h;
}

static void quiet_log(void *data, int level, const char *text)
{
    (void)data;
    (void)level;
    (void)text;
}

static void carry_out(struct cluster *c,
                      unsigned i,
                      struct baton_raft_effects *fx);

/* The embedding's state as of applied, persisted: then the core may
 * compact. */
static void snapshot(struct cluster *c,
                     unsigned i,
                     uint64_t index,
                     uint64_t term)
{
    struct node *nd = &c->n[i];
    uint8_t data[16];
    int rv;

    memcpy(data, &index, 8);
    memcpy(data + 8, &nd->hash, 8);
    rv = lib_raftlog_snapshot(nd->l, index, term, data, 16);
    if (rv != 0) {
        fail_msg("seed %" PRIu64 " node %u: snapshot: %s", c->seed, i,
                 lib_raftlog_errmsg(nd->l));
    }
    nd->snap_at = index;
    baton_raft_snapshot_taken(&nd->r, index);
}

static void apply(struct cluster *c, unsigned i, struct baton_raft_effects *fx)
{
    struct node *nd = &c->n[i];

    if (fx->install.set) {
        uint64_t idx = fx->install.index, h;
        assert_int_equal(fx->install.len, 16);
        memcpy(&h, fx->install.data + 8, 8);
        if (idx == 0 || idx > c->n_committed || c->state_hash[idx - 1] != h) {
            fail_msg("seed %" PRIu64
                     " node %u: installed a snapshot at "
                     "%" PRIu64 " that is not the committed state",
                     c->seed, i, idx);
        }
        nd->applied = idx;
        nd->hash = h;
        /* Saved before this step's write, which cuts the log after it. */
        snapshot(c, i, idx, fx->install.term);
        c->installs++;
    }
    for (uint64_t idx = nd->applied + 1; idx <= fx->commit; idx++) {
        const struct baton_raft_entry *e = baton_raft_entry_at(&nd->r, idx);
        if (e == NULL) {
            fail_msg("seed %" PRIu64 " node %u: committed %" PRIu64
                     " without holding it",
                     c->seed, i, idx);
        }
        assert_true(idx <= COMMITS_MAX);
        nd->hash = (nd->hash ^ ehash(e)) * 0xff51afd7ed558ccdu;
        if (idx > c->n_committed) {
            assert_int_equal(idx, c->n_committed + 1);
            c->entry_hash[idx - 1] = ehash(e);
            c->state_hash[idx - 1] = nd->hash;
            c->n_committed = idx;
        } else if (c->entry_hash[idx - 1] != ehash(e) ||
                   c->state_hash[idx - 1] != nd->hash) {
            fail_msg("seed %" PRIu64 " node %u: index %" PRIu64
                     " applied differently than committed before",
                     c->seed, i, idx);
        }
        nd->applied = idx;
    }
    if (nd->applied >= nd->snap_at + SNAP_EVERY) {
        snapshot(c, i, nd->applied,
                 baton_raft_entry_at(&nd->r, nd->applied)->term);
    }
}

static void crash(struct cluster *c, unsigned i)
{
    struct node *nd = &c->n[i];

    lib_raftlog_close(nd->l);
    nd->l = NULL;
    nd->up = false;
    nd->down_until = c->now + 20 + below(c, 300);
    c->crashes++;
}

/* The write, durable; or, now and then, torn by a crash: cut somewhere
 * in its record and never confirmed. */
static bool make_durable(struct cluster *c,
                         unsigned i,
                         const struct baton_raft_write *w)
{
    struct node *nd = &c->n[i];
    struct lib_raftlog_stats before, after;
    int rv;

    lib_raftlog_stats(nd->l, &before);
    rv = lib_raftlog_write(nd->l, w);
    if (rv != 0) {
        fail_msg("seed %" PRIu64 " node %u: write: %s", c->seed, i,
                 lib_raftlog_errmsg(nd->l));
    }
    lib_raftlog_stats(nd->l, &after);
    if (!c->quiet && after.file_bytes > before.file_bytes &&
        after.compactions == before.compactions && below(c, 200) == 0) {
        char path[320];
        uint64_t cut =
            before.file_bytes + below(c, after.file_bytes - before.file_bytes);
        snprintf(path, sizeof(path), "%s/" LIB_RAFTLOG_FILE, nd->dir);
        crash(c, i);
        assert_int_equal(truncate(path, (off_t)cut), 0);
        c->torn++;
        return false;
    }
    return true;
}

static void send(struct cluster *c, const struct baton_raft_msg *m)
{
    struct qmsg *q;

    if (m->to >= NODES || c->nq == QUEUE || !c->n[m->to].up ||
        (!c->quiet && below(c, 50) == 0)) {
        return; /* lost: Raft retries */
    }
    q = &c->q[c->nq++];
    q->at_ms = c->now + 1 + below(c, 5);
    q->m = *m;
    q->entries = NULL;
    if (m->n_entries > 0) {
        q->entries = malloc(m->n_entries * sizeof(*m->entries));
        assert_non_null(q->entries);
        memcpy(q->entries, m->entries, m->n_entries * sizeof(*m->entries));
    }
    q->m.entries = q->entries;
    if (m->type == BATON_RAFT_SNAPSHOT) {
        assert_int_equal(m->len, 16);
        memcpy(q->data, m->data, 16);
    }
}

static void carry_out(struct cluster *c,
                      unsigned i,
                      struct baton_raft_effects *fx)
{
    struct node *nd = &c->n[i];
    struct baton_raft_effects *next;
    uint32_t want = fx->want_snapshot;

    apply(c, i, fx);
    for (unsigned k = 0; k < fx->n_msgs; k++) {
        send(c, &fx->msgs[k]);
    }
    if (fx->write.seq != 0) {
        if (!make_durable(c, i, &fx->write)) {
            return; /* crashed */
        }
        next = malloc(sizeof(*next));
        assert_non_null(next);
        baton_raft_persisted(&nd->r, c->now, fx->write.seq, next);
        carry_out(c, i, next);
        free(next);
        if (!nd->up) {
            return;
        }
    }
    for (unsigned k = 0; k < NODES; k++) {
        const uint8_t *data;
        uint64_t len;
        if ((want & (1u << k)) == 0 || nd->r.role != BATON_RAFT_LEADER) {
            continue;
        }
        lib_raftlog_snapshot_data(nd->l, &data, &len);
        if (data == NULL) {
            continue;
        }
        next = malloc(sizeof(*next));
        assert_non_null(next);
        if (baton_raft_send_snapshot(&nd->r, c->now, k, data, (uint32_t)len,
                                     next) == 0) {
            carry_out(c, i, next);
        }
        free(next);
        if (!nd->up) {
            return;
        }
    }
}

static void boot(struct cluster *c, unsigned i)
{
    struct node *nd = &c->n[i];
    struct lib_raftlog_options o = {.dir = nd->dir, .log = quiet_log};
    struct baton_raft_config cfg = {.self = i,
                                    .n_nodes = NODES,
                                    .voters = (1u << NODES) - 1,
                                    .election_min_ms = 150,
                                    .heartbeat_ms = 50,
                                    .drift_ppm = 0};
    struct baton_raft_disk disk;
    struct baton_raft_effects *fx;
    const uint8_t *data;
    uint64_t len;
    char errmsg[512];
    int rv;

    rv = lib_raftlog_open(&nd->l, &o, errmsg, sizeof(errmsg));
    if (rv != 0) {
        fail_msg("seed %" PRIu64 " node %u: open: %s", c->seed, i, errmsg);
    }
    lib_raftlog_disk(nd->l, &disk);
    lib_raftlog_snapshot_data(nd->l, &data, &len);
    nd->applied = nd->hash = 0;
    if (data != NULL) {
        assert_int_equal(len, 16);
        memcpy(&nd->applied, data, 8);
        memcpy(&nd->hash, data + 8, 8);
        assert_int_equal(nd->applied, disk.snap_index);
    }
    nd->snap_at = nd->applied;
    nd->up = true;
    fx = malloc(sizeof(*fx));
    assert_non_null(fx);
    rv = baton_raft_init(&nd->r, &cfg, &disk, c->seed * 7 + i, c->now, fx);
    assert_int_equal(rv, 0);
    carry_out(c, i, fx);
    free(fx);
}

static void deliver(struct cluster *c)
{
    struct baton_raft_effects *fx = malloc(sizeof(*fx));

    assert_non_null(fx);
    for (unsigned k = 0; k < c->nq;) {
        struct qmsg q = c->q[k];
        struct node *nd = &c->n[q.m.to];
        if (q.at_ms > c->now) {
            k++;
            continue;
        }
        c->q[k] = c->q[--c->nq];
        if (nd->up) {
            q.m.entries = q.entries;
            q.m.data = q.data;
            baton_raft_receive(&nd->r, c->now, &q.m, fx);
            carry_out(c, q.m.to, fx);
        }
        free(q.entries);
    }
    free(fx);
}

static void run(uint64_t seed, uint64_t ms, const char *base)
{
    struct cluster *c = calloc(1, sizeof(*c));
    struct baton_raft_effects *fx = malloc(sizeof(*fx));
    uint64_t applied = UINT64_MAX;

    assert_non_null(c);
    assert_non_null(fx);
    c->seed = seed;
    c->rng = seed * 0x9e3779b97f4a7c15u + 1;
    snprintf(c->base, sizeof(c->base), "%s/raftlog-raft-XXXXXX", base);
    assert_non_null(mkdtemp(c->base));
    for (unsigned i = 0; i < NODES; i++) {
        snprintf(c->n[i].dir, sizeof(c->n[i].dir), "%s/n%u", c->base, i);
        boot(c, i);
    }
    for (c->now = 1; c->now <= ms + 3000; c->now++) {
        c->quiet = c->now > ms; /* the last 3 s: no faults */
        deliver(c);
        for (unsigned i = 0; i < NODES; i++) {
            struct node *nd = &c->n[i];
            if (!nd->up) {
                if (c->now >= nd->down_until) {
                    boot(c, i);
                    c->restarts++;
                }
                continue;
            }
            if (!c->quiet && below(c, 3000) == 0) {
                crash(c, i);
                continue;
            }
            baton_raft_tick(&nd->r, c->now, fx);
            carry_out(c, i, fx);
            if (nd->up && nd->r.role == BATON_RAFT_LEADER && !c->quiet &&
                below(c, 4) == 0) {
                char data[32];
                uint64_t index;
                int len =
                    snprintf(data, sizeof(data), "p%" PRIu64, c->proposed);
                if (baton_raft_propose(&nd->r, c->now, data, (uint32_t)len,
                                       &index, fx) == 0) {
                    c->proposed++;
                    carry_out(c, i, fx);
                }
            }
        }
    }
    for (unsigned i = 0; i < NODES; i++) {
        assert_true(c->n[i].up);
        if (applied == UINT64_MAX) {
            applied = c->n[i].applied;
        }
        if (c->n[i].applied != applied || applied != c->n_committed) {
            fail_msg("seed %" PRIu64
                     ": after the quiet spell node %u "
                     "applied %" PRIu64 ", committed %" PRIu64,
                     seed, i, c->n[i].applied, c->n_committed);
        }
        lib_raftlog_close(c->n[i].l);
    }
    /* Progress: most proposals committed despite the crashes. */
    assert_true(c->n_committed * 2 > c->proposed);
    printf("seed %" PRIu64 ": %" PRIu64 " committed of %" PRIu64
           " proposed, %" PRIu64 " crashes (%" PRIu64 " torn writes), %" PRIu64
           " installs\n",
           seed, c->n_committed, c->proposed, c->crashes, c->torn, c->installs);
    for (unsigned k = 0; k < c->nq; k++) {
        free(c->q[k].entries);
    }
    {
        char cmd[320];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->base);
        assert_int_equal(system(cmd), 0);
    }
    free(fx);
    free(c);
}

static void test_cluster(void **state)
{
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 ? "/dev/shm" : "/tmp";
    const char *env = getenv("RAFTLOG_SEEDS");
    unsigned seeds = env != NULL ? (unsigned)atoi(env) : 20;

    (void)state;
    for (unsigned s = 1; s <= seeds; s++) {
        run(s, 15000, base);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
