/* The Raft core (src/core/raft.c) under random faults, against true
 * virtual time (docs/design/quorum.md §7).
 *
 *   baton-raft-sim [--seeds N] [--first S] [--seed S] [--nodes K] [-v]
 *
 * Each seed runs 3 or 5 voters (or K) for 40 s of virtual time: messages
 * delayed 1-10 ms (sometimes 50-200 ms: reordered) and dropped (2%),
 * writes made durable 1-5 ms after they are asked for (5%: up to 200 ms
 * more, a slow fsync), in order, clocks whose rates
 * differ by up to the configured drift, and a nemesis that every 0.2-2 s
 * partitions, cuts one way, bridges, isolates, crashes (writes not yet durable
 * are lost) and restarts, or pauses a node longer than an election timeout.
 * After every event:
 *   - at most one leader per term;
 *   - an entry once committed anywhere is the same entry at that index
 *     on every node that commits it, across crashes and restarts;
 *   - a new leader is never elected while another leader's lease
 *     (baton_raft_lease_end, on that leader's clock) still runs;
 * and at the end, after 8 s without faults, every node has committed a
 * last proposal. The last line is "N passed, M failed". */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/prng.h"
#include "../../src/core/raft.h"

#define NMAX 7
#define DISK_MAX 8192
#define EVENTS_MAX 65536
#define TERMS_MAX 100000
#define RUN_US (40u * 1000000u)
#define QUIET_US (8u * 1000000u)
#define DRIFT_PPM 10000u

enum {
    EV_TICK = 1,
    EV_MSG,
    EV_DURABLE,
    EV_NEMESIS,
    EV_PROPOSE,
    EV_RESTART,
    EV_CRASH,
};

struct event {
    uint64_t at_us;
    uint64_t order;
    uint8_t type;
    uint8_t node;
    uint64_t gen; /* the node's life (TICK, DURABLE), or the timer's */
    uint64_t seq; /* DURABLE: the write */
    struct baton_raft_msg m;
    struct baton_raft_entry *entries; /* MSG: a copy, malloc'd */
    uint8_t data[16];                 /* SNAPSHOT: index and hash */
};

struct disk_write {
    uint64_t seq;
    struct baton_raft_write w;
    struct baton_raft_entry *entries;
};

struct node {
    struct baton_raft r;
    bool up;
    uint64_t life;
    uint64_t tick_gen;
    int64_t rate_ppm;    /* its clock runs at 1 + rate_ppm/1e6 */
    uint64_t clock_base; /* its clock at true time 0 */
    uint64_t paused_until_us;
    uint64_t disk_free_us; /* writes become durable in order */
    uint64_t applied;      /* commit seen so far */
    uint64_t hash;         /* the state: a hash of the entries up to applied */
    /* The disk: what is durable. */
    uint64_t d_term;
    int d_vote;
    struct baton_raft_entry *d_log; /* index i at d_log[i - 1] */
    uint64_t d_n;
    /* Its snapshot, persisted as the state is applied. */
    uint64_t d_snap_index, d_snap_term, d_snap_hash;
};

struct sim {
    struct baton_prng prng;
    unsigned n;
    struct node nodes[NMAX];
    struct event *heap;
    unsigned n_events;
    uint64_t order;
    uint64_t now_us;
    bool cut[NMAX][NMAX]; /* cut[a][b]: a's messages to b are lost */
    int leader_of[TERMS_MAX];
    struct baton_raft_entry *committed;
    uint64_t *hash_at; /* the state's hash at each committed index */
    uint64_t n_committed;
    uint64_t proposals;
    bool quiet;
    bool verbose;
    char failure[256];
};

static struct baton_raft_effects fx;

__attribute__((format(printf, 2, 3))) static void fail(struct sim *s,
                                                       const char *fmt,
                                                       ...)
{
    va_list ap;

    if (s->failure[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(s->failure, sizeof(s->failure), fmt, ap);
        va_end(ap);
    }
}

/* ---- events ---------------------------------------------------------- */

static bool before(const struct event *a, const struct event *b)
{
    return a->at_us < b->at_us || (a->at_us == b->at_us && a->order < b->order);
}

/* keep: a deferred event keeps its place among its node's others. */
static void push_at(struct sim *s, struct event ev, bool keep)
{
    unsigned i;

    if (s->n_events == EVENTS_MAX) {
        free(ev.entries);
        return; /* lost, as a message may be */
    }
    if (!keep) {
        ev.order = s->order++;
    }
    i = s->n_events++;
    while (i > 0 && before(&ev, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = ev;
}

static void push(struct sim *s, struct event ev)
{
    push_at(s, ev, false);
}

static struct event pop(struct sim *s)
{
    struct event top = s->heap[0], last = s->heap[--s->n_events];
    unsigned i = 0;

    for (;;) {
        unsigned c = 2 * i + 1;
        if (c >= s->n_events) {
            break;
        }
        if (c + 1 < s->n_events && before(&s->heap[c + 1], &s->heap[c])) {
            c++;
        }
        if (!before(&s->heap[c], &last)) {
            break;
        }
        s->heap[i] = s->heap[c];
        i = c;
    }
    s->heap[i] = last;
    return top;
}

/* A node's clock (ms) at true time us. */
static uint64_t clock_ms(const struct node *nd, uint64_t us)
{
    int64_t skew = (int64_t)us * nd->rate_ppm / 1000000;
    return nd->clock_base + (uint64_t)((int64_t)us + skew) / 1000u;
}

/* The true time (us) at which nd's clock reads ms (the first such). */
static uint64_t true_us(const struct node *nd, uint64_t ms)
{
    uint64_t local_us = (ms - nd->clock_base) * 1000u;
    uint64_t t = local_us * 1000000u / (uint64_t)(1000000 + nd->rate_ppm);

    while (clock_ms(nd, t) < ms) {
        t++;
    }
    return t;
}

/* ---- carrying out effects ------------------------------------------- */

static uint64_t mix(uint64_t h, const struct baton_raft_entry *e)
{
    h ^= e->term + 0x9e3779b97f4a7c15u;
    for (uint32_t k = 0; k < e->len; k++) {
        h = (h ^ e->data[k]) * 0x100000001b3u;
    }
    return h * 0xff51afd7ed558ccdu;
}

static void check_commit(struct sim *s, unsigned i)
{
    struct node *nd = &s->nodes[i];

    if (fx.install.set) {
        uint64_t idx = fx.install.index, h;
        if (fx.install.len != 16) {
            fail(s, "node %u got a snapshot of %u bytes", i, fx.install.len);
            return;
        }
        memcpy(&h, fx.install.data + 8, 8);
        if (idx == 0 || idx > s->n_committed || s->hash_at[idx - 1] != h) {
            fail(s,
                 "node %u installed a snapshot at %" PRIu64
                 " that is not the committed state",
                 i, idx);
            return;
        }
        nd->applied = idx;
        nd->hash = h;
        nd->d_snap_index = idx;
        nd->d_snap_term = fx.install.term;
        nd->d_snap_hash = h;
        baton_raft_snapshot_taken(&nd->r, idx);
    }
    for (uint64_t idx = nd->applied + 1; idx <= fx.commit; idx++) {
        const struct baton_raft_entry *e = baton_raft_entry_at(&nd->r, idx);
        if (e == NULL) {
            fail(s, "node %u committed %" PRIu64 " without holding it", i, idx);
            return;
        }
        if (idx > DISK_MAX) {
            fail(s, "index %" PRIu64 " beyond the simulator's %u", idx,
                 DISK_MAX);
            return;
        }
        nd->hash = mix(nd->hash, e);
        if (idx > s->n_committed) {
            if (idx != s->n_committed + 1) {
                fail(s, "node %u committed %" PRIu64 " past %" PRIu64, i, idx,
                     s->n_committed);
                return;
            }
            s->committed[idx - 1] = *e;
            s->hash_at[idx - 1] = nd->hash;
            s->n_committed = idx;
        } else if (s->hash_at[idx - 1] != nd->hash) {
            fail(s, "node %u's state at %" PRIu64 " is not the committed one",
                 i, idx);
            return;
        } else if (s->committed[idx - 1].term != e->term ||
                   s->committed[idx - 1].len != e->len ||
                   memcmp(s->committed[idx - 1].data, e->data, e->len) != 0) {
            fail(s,
                 "index %" PRIu64 " committed as term %" PRIu64
                 " on node %u, differently before",
                 idx, e->term, i);
            return;
        }
    }
    if (fx.commit > nd->applied) {
        const struct baton_raft_entry *e =
            baton_raft_entry_at(&nd->r, fx.commit);
        nd->applied = fx.commit;
        /* Persisted at once: the snapshot is the state as applied. */
        nd->d_snap_index = fx.commit;
        nd->d_snap_term = e->term;
        nd->d_snap_hash = nd->hash;
        baton_raft_snapshot_taken(&nd->r, fx.commit);
    }
}

static void check_leader(struct sim *s, unsigned i, uint8_t role_before)
{
    struct node *nd = &s->nodes[i];
    uint64_t term = nd->r.term;

    if (nd->r.role != BATON_RAFT_LEADER || role_before == BATON_RAFT_LEADER) {
        return;
    }
    if (term >= TERMS_MAX) {
        fail(s, "term %" PRIu64 " beyond the simulator's", term);
        return;
    }
    if (s->leader_of[term] >= 0 && s->leader_of[term] != (int)i) {
        fail(s, "two leaders in term %" PRIu64 ": %d and %u", term,
             s->leader_of[term], i);
        return;
    }
    s->leader_of[term] = (int)i;
    /* Another leader's lease must have run out on its own clock. */
    for (unsigned k = 0; k < s->n; k++) {
        const struct node *o = &s->nodes[k];
        uint64_t end;
        /* (A leader of an older term elected late, its vote answers
         * delayed, never holds a lease: followers of the newer term
         * refuse it.) */
        if (k == i || !o->up || o->r.role != BATON_RAFT_LEADER ||
            o->r.term >= term) {
            continue;
        }
        end = baton_raft_lease_end(&o->r);
        if (end > clock_ms(o, s->now_us)) {
            fail(s,
                 "node %u elected while leader %u's lease ran %" PRIu64
                 " ms more",
                 i, k, end - clock_ms(o, s->now_us));
        }
    }
}

/* At no instant do two leaders hold a lease. */
static void check_leases(struct sim *s)
{
    int holder = -1;

    for (unsigned k = 0; k < s->n; k++) {
        const struct node *o = &s->nodes[k];
        if (o->up && o->r.role == BATON_RAFT_LEADER &&
            baton_raft_lease_end(&o->r) > clock_ms(o, s->now_us)) {
            if (holder >= 0) {
                fail(s,
                     "leaders %d (term %" PRIu64 ") and %u (term %" PRIu64
                     ") both hold a lease",
                     holder, s->nodes[holder].r.term, k, o->r.term);
                return;
            }
            holder = (int)k;
        }
    }
}

static void carry_out(struct sim *s, unsigned i, uint8_t role_before)
{
    struct node *nd = &s->nodes[i];
    uint32_t want;

    check_leader(s, i, role_before);
    check_leases(s);
    check_commit(s, i);
    want = fx.want_snapshot;
    for (unsigned k = 0; k < fx.n_msgs; k++) {
        const struct baton_raft_msg *m = &fx.msgs[k];
        struct event ev = {0};
        uint64_t d;
        if (m->to >= s->n || s->cut[i][m->to] ||
            (!s->quiet && baton_prng_chance(&s->prng, 20000))) {
            continue;
        }
        d = 1000 + baton_prng_below(&s->prng, 9000);
        if (!s->quiet && baton_prng_chance(&s->prng, 10000)) {
            d = 50000 + baton_prng_below(&s->prng, 150000);
        }
        ev.at_us = s->now_us + d;
        ev.type = EV_MSG;
        ev.node = m->to;
        ev.m = *m;
        if (m->n_entries > 0) {
            ev.entries = malloc(m->n_entries * sizeof(*m->entries));
            memcpy(ev.entries, m->entries, m->n_entries * sizeof(*m->entries));
        }
        ev.m.entries = ev.entries;
        if (m->type == BATON_RAFT_SNAPSHOT) {
            memcpy(ev.data, m->data, m->len < 16 ? m->len : 16);
        }
        push(s, ev);
    }
    if (fx.write.seq != 0) {
        struct event ev = {0};
        const struct baton_raft_write *w = &fx.write;
        /* Durable later: the entries are copied now, as a driver would
         * queue its write. */
        ev.at_us =
            (nd->disk_free_us > s->now_us ? nd->disk_free_us : s->now_us) +
            1000 + baton_prng_below(&s->prng, 4000);
        if (!s->quiet && baton_prng_chance(&s->prng, 50000)) {
            ev.at_us += 20000 + baton_prng_below(&s->prng, 180000); /* slow */
        }
        nd->disk_free_us = ev.at_us;
        if (!s->quiet && nd->r.role == BATON_RAFT_LEADER && w->n > 0 &&
            baton_prng_chance(&s->prng, 20000)) {
            /* The leader dies before this write is durable. */
            struct event c = {0};
            c.at_us =
                s->now_us + baton_prng_below(&s->prng, ev.at_us - s->now_us);
            c.type = EV_CRASH;
            c.node = (uint8_t)i;
            push(s, c);
        }
        ev.type = EV_DURABLE;
        ev.node = (uint8_t)i;
        ev.gen = nd->life;
        ev.seq = w->seq;
        ev.m.term = w->term;
        ev.m.index = w->from_index;
        ev.m.n_entries = w->n;
        ev.m.commit = (uint64_t)(int64_t)w->vote;
        if (w->n > 0) {
            ev.entries = malloc(w->n * sizeof(*w->entries));
            memcpy(ev.entries, w->entries, w->n * sizeof(*w->entries));
        }
        push(s, ev);
    }
    {
        struct event ev = {0};
        ev.at_us = true_us(nd, fx.deadline_ms);
        if (ev.at_us <= s->now_us) {
            ev.at_us = s->now_us + 1;
        }
        ev.type = EV_TICK;
        ev.node = (uint8_t)i;
        ev.gen = ++nd->tick_gen;
        push(s, ev);
    }
    /* Followers that lack compacted entries: the snapshot, each in a
     * step of its own. */
    for (unsigned k = 0; k < s->n; k++) {
        if ((want & (1u << k)) != 0 && nd->r.role == BATON_RAFT_LEADER) {
            uint8_t data[16];
            memcpy(data, &nd->d_snap_index, 8);
            memcpy(data + 8, &nd->d_snap_hash, 8);
            baton_raft_send_snapshot(&nd->r, clock_ms(nd, s->now_us), k, data,
                                     16, &fx);
            carry_out(s, i, BATON_RAFT_LEADER);
        }
    }
}

static void boot(struct sim *s, unsigned i, uint64_t seed)
{
    struct node *nd = &s->nodes[i];
    struct baton_raft_config cfg = {0};
    struct baton_raft_disk disk = {0};
    uint64_t keep;

    cfg.self = i;
    cfg.n_nodes = s->n;
    cfg.voters = (1u << s->n) - 1;
    cfg.election_min_ms = 1000;
    cfg.heartbeat_ms = 250;
    cfg.drift_ppm = DRIFT_PPM;
    disk.term = nd->d_term;
    disk.vote = nd->d_vote;
    disk.snap_index = nd->d_snap_index;
    disk.snap_term = nd->d_snap_term;
    keep = nd->d_n > nd->d_snap_index ? nd->d_n - nd->d_snap_index : 0;
    if (keep > BATON_RAFT_LOG_MAX) {
        fail(s, "node %u has %" PRIu64 " entries after its snapshot", i, keep);
        return;
    }
    disk.n = (uint32_t)keep;
    disk.entries = keep > 0 ? &nd->d_log[nd->d_snap_index] : NULL;
    nd->up = true;
    nd->life++;
    nd->applied = nd->d_snap_index;
    nd->hash = nd->d_snap_hash;
    if (baton_raft_init(&nd->r, &cfg, &disk, seed, clock_ms(nd, s->now_us),
                        &fx) != 0) {
        fail(s, "node %u refused its disk", i);
        return;
    }
    carry_out(s, i, BATON_RAFT_FOLLOWER);
}

static void durable(struct sim *s, struct event *ev)
{
    struct node *nd = &s->nodes[ev->node];
    uint64_t from = ev->m.index;

    if (ev->gen != nd->life || !nd->up) {
        return; /* the node crashed first: the write is lost */
    }
    nd->d_term = ev->m.term;
    nd->d_vote = (int)(int64_t)ev->m.commit;
    if (from - 1 + ev->m.n_entries > DISK_MAX) {
        fail(s, "disk of node %u full", ev->node);
        return;
    }
    if (from - 1 > nd->d_n && from - 1 <= nd->d_snap_index) {
        nd->d_n = from - 1; /* the snapshot covers what is skipped */
    }
    if (from - 1 > nd->d_n) {
        fail(s, "node %u wrote from %" PRIu64 " past its disk's end %" PRIu64,
             ev->node, from, nd->d_n);
        return;
    }
    nd->d_n = from - 1; /* the cut */
    for (uint32_t k = 0; k < ev->m.n_entries; k++) {
        nd->d_log[nd->d_n++] = ev->entries[k];
    }
    {
        uint8_t role = nd->r.role;
        baton_raft_persisted(&nd->r, clock_ms(nd, s->now_us), ev->seq, &fx);
        carry_out(s, ev->node, role);
    }
}

/* ---- the nemesis ----------------------------------------------------- */

static void heal(struct sim *s)
{
    memset(s->cut, 0, sizeof(s->cut));
}

static unsigned n_down(const struct sim *s)
{
    unsigned d = 0;
    for (unsigned i = 0; i < s->n; i++) {
        d += !s->nodes[i].up;
    }
    return d;
}

static int leader(const struct sim *s);

/* a dies (what it had not made durable is lost) and restarts later;
 * never more than a minority at once. */
static void crash(struct sim *s, unsigned a)
{
    struct event ev = {0};

    if (s->nodes[a].up && (n_down(s) + 1) * 2 < s->n) {
        s->nodes[a].up = false;
        s->nodes[a].life++;
        ev.at_us = s->now_us + 300000 + baton_prng_below(&s->prng, 3000000);
        ev.type = EV_RESTART;
        ev.node = (uint8_t)a;
        push(s, ev);
    }
}

static void nemesis(struct sim *s)
{
    unsigned what = (unsigned)baton_prng_below(&s->prng, 8);
    unsigned a = (unsigned)baton_prng_below(&s->prng, s->n);
    int l = leader(s);
    unsigned b = (unsigned)baton_prng_below(&s->prng, s->n);
    struct event ev = {0};

    /* Half the time at the leader: its crash or pause is what tests
     * commits and leases. */
    if (l >= 0 && baton_prng_chance(&s->prng, 500000)) {
        a = (unsigned)l;
    }
    heal(s);
    switch (what) {
    case 0: /* healed */
        break;
    case 1: /* two sides */
        for (unsigned i = 0; i < s->n; i++) {
            for (unsigned j = 0; j < s->n; j++) {
                bool si = (s->prng.s[0] >> i) & 1, sj = (s->prng.s[0] >> j) & 1;
                s->cut[i][j] = si != sj;
            }
        }
        break;
    case 2: /* one isolated */
        for (unsigned j = 0; j < s->n; j++) {
            s->cut[a][j] = s->cut[j][a] = j != a;
        }
        break;
    case 3: /* one way */
        if (a != b) {
            s->cut[a][b] = true;
        }
        break;
    case 7: /* a bridge: a and b cannot reach each other, others can */
        if (a != b) {
            s->cut[a][b] = s->cut[b][a] = true;
        }
        break;
    case 4: /* crash, restarted later */
        crash(s, a);
        break;
    default: /* a pause longer than an election timeout */
        if (s->nodes[a].up) {
            /* Only longer: its deferred events run then, in order. */
            uint64_t until =
                s->now_us + 1200000 + baton_prng_below(&s->prng, 2000000);
            if (until > s->nodes[a].paused_until_us) {
                s->nodes[a].paused_until_us = until;
            }
        }
        break;
    }
    ev.at_us = s->now_us + 200000 + baton_prng_below(&s->prng, 1800000);
    ev.type = EV_NEMESIS;
    if (ev.at_us < RUN_US - QUIET_US) {
        push(s, ev);
    }
}

/* ---- one run --------------------------------------------------------- */

static int leader(const struct sim *s)
{
    int best = -1;
    for (unsigned i = 0; i < s->n; i++) {
        const struct node *nd = &s->nodes[i];
        if (nd->up && nd->r.role == BATON_RAFT_LEADER &&
            (best < 0 || nd->r.term > s->nodes[best].r.term)) {
            best = (int)i;
        }
    }
    return best;
}

static void propose(struct sim *s)
{
    int l = leader(s);
    struct event ev = {0};

    /* In bursts: idle spells let a lagging node's log catch up, so that
     * only leader stickiness stops its election. */
    bool idle = (s->now_us / 1500000) % 3 == 2;

    if (l >= 0 && s->nodes[l].paused_until_us <= s->now_us && !idle) {
        struct node *nd = &s->nodes[l];
        char v[32];
        uint64_t idx;
        uint8_t role = nd->r.role;
        int n = snprintf(v, sizeof(v), "v%" PRIu64, s->proposals);
        if (baton_raft_propose(&nd->r, clock_ms(nd, s->now_us), v, (uint32_t)n,
                               &idx, &fx) == 0) {
            s->proposals++;
        }
        carry_out(s, (unsigned)l, role);
    }
    ev.at_us = s->now_us + 20000 + baton_prng_below(&s->prng, 30000);
    ev.type = EV_PROPOSE;
    if (ev.at_us < RUN_US) {
        push(s, ev);
    }
}

static int run(uint64_t seed, unsigned n_nodes, bool verbose)
{
    static struct sim s;
    int rc;

    memset(&s, 0, sizeof(s));
    baton_prng_seed(&s.prng, seed);
    s.n = n_nodes != 0 ? n_nodes : (baton_prng_chance(&s.prng, 500000) ? 3 : 5);
    s.verbose = verbose;
    s.heap = calloc(EVENTS_MAX, sizeof(*s.heap));
    s.committed = calloc(DISK_MAX, sizeof(*s.committed));
    s.hash_at = calloc(DISK_MAX, sizeof(*s.hash_at));
    for (unsigned t = 0; t < TERMS_MAX; t++) {
        s.leader_of[t] = -1;
    }
    for (unsigned i = 0; i < s.n; i++) {
        struct node *nd = &s.nodes[i];
        nd->d_vote = -1;
        nd->d_log = calloc(DISK_MAX, sizeof(*nd->d_log));
        nd->rate_ppm = (int64_t)baton_prng_below(&s.prng, DRIFT_PPM + 1) -
                       (int64_t)DRIFT_PPM / 2;
        nd->clock_base = 1000000 + baton_prng_below(&s.prng, 1000000);
    }
    for (unsigned i = 0; i < s.n; i++) {
        boot(&s, i, seed * 31 + i);
    }
    {
        struct event ev = {0};
        ev.at_us = 2000000;
        ev.type = EV_NEMESIS;
        push(&s, ev);
        ev.at_us = 100000;
        ev.type = EV_PROPOSE;
        push(&s, ev);
    }
    while (s.n_events > 0 && s.failure[0] == '\0') {
        struct event ev = pop(&s);
        struct node *nd = &s.nodes[ev.node];
        if (ev.at_us > RUN_US) {
            free(ev.entries);
            break;
        }
        s.now_us = ev.at_us;
        if (!s.quiet && s.now_us >= RUN_US - QUIET_US) {
            /* The end: no more faults; the crashed come back. */
            s.quiet = true;
            heal(&s);
            for (unsigned i = 0; i < s.n; i++) {
                /* (A pause ends by itself, its events in order.) */
                if (!s.nodes[i].up) {
                    boot(&s, i, seed * 31 + i + 1000 * s.nodes[i].life);
                }
            }
        }
        if ((ev.type == EV_TICK || ev.type == EV_MSG ||
             ev.type == EV_DURABLE) &&
            nd->paused_until_us > s.now_us && nd->up) {
            ev.at_us = nd->paused_until_us;
            push_at(&s, ev, true); /* it runs again then, in order */
            continue;
        }
        switch (ev.type) {
        case EV_TICK:
            if (nd->up && ev.gen == nd->tick_gen) {
                uint8_t role = nd->r.role;
                baton_raft_tick(&nd->r, clock_ms(nd, s.now_us), &fx);
                carry_out(&s, ev.node, role);
            }
            break;
        case EV_MSG:
            ev.m.data = ev.data;
            if (nd->up) {
                uint8_t role = nd->r.role;
                baton_raft_receive(&nd->r, clock_ms(nd, s.now_us), &ev.m, &fx);
                carry_out(&s, ev.node, role);
            }
            break;
        case EV_DURABLE:
            durable(&s, &ev);
            break;
        case EV_NEMESIS:
            nemesis(&s);
            break;
        case EV_PROPOSE:
            propose(&s);
            break;
        case EV_CRASH:
            if (!s.quiet) {
                crash(&s, ev.node);
            }
            break;
        case EV_RESTART:
            if (!nd->up) {
                boot(&s, ev.node, seed * 31 + ev.node + 1000 * nd->life);
            }
            break;
        default:
            break;
        }
        free(ev.entries);
    }
    /* The end: every node committed what was proposed before the last
     * 3 s. */
    if (s.failure[0] == '\0') {
        int l = leader(&s);
        if (l < 0) {
            fail(&s, "no leader after %u s without faults", QUIET_US / 1000000);
        } else {
            uint64_t want = baton_raft_last_index(&s.nodes[l].r);
            for (unsigned i = 0; i < s.n; i++) {
                if (s.nodes[i].applied + 20 < want) {
                    fail(&s,
                         "node %u committed %" PRIu64 " of %" PRIu64
                         " after the faults ended",
                         i, s.nodes[i].applied, want);
                }
            }
        }
    }
    rc = s.failure[0] == '\0' ? 0 : 1;
    if (rc != 0 || verbose) {
        printf("seed %" PRIu64 " (%u nodes): %s; %" PRIu64
               " proposals, %" PRIu64 " committed\n",
               seed, s.n, rc != 0 ? s.failure : "ok", s.proposals,
               s.n_committed);
    }
    while (s.n_events > 0) {
        struct event ev = pop(&s);
        free(ev.entries);
    }
    for (unsigned i = 0; i < s.n; i++) {
        free(s.nodes[i].d_log);
    }
    free(s.heap);
    free(s.committed);
    free(s.hash_at);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t first = 1, seeds = 100;
    unsigned nodes = 0;
    bool verbose = false;
    unsigned failed = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            seeds = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc) {
            first = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            first = strtoull(argv[++i], NULL, 10);
            seeds = 1;
            verbose = true;
        } else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc) {
            nodes = (unsigned)strtoul(argv[++i], NULL, 10);
            if (nodes == 0 || nodes > NMAX) {
                fprintf(stderr, "baton-raft-sim: --nodes 1..%d\n", NMAX);
                return 2;
            }
        } else if (strcmp(argv[i], "-v") == 0) {
            verbose = true;
        } else {
            fprintf(stderr,
                    "usage: baton-raft-sim [--seeds N] [--first S] "
                    "[--seed S] [--nodes K] [-v]\n");
            return 2;
        }
    }
    for (uint64_t k = 0; k < seeds; k++) {
        failed += (unsigned)run(first + k, nodes, verbose);
    }
    printf("%" PRIu64 " passed, %u failed\n", seeds - failed, failed);
    return failed == 0 ? 0 : 1;
}
