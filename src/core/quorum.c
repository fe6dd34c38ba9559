/* Quorum mode in the node: one Raft group (raft.c) over every node of
 * the cluster, run when at least one app is in quorum mode
 * (docs/design/quorum.md §2-§3, core.md §8).
 *
 * The node calls the group at most once per step: on a TICK, on a
 * received raft message, or on a PERSISTED confirmation. The group's
 * messages point into its log, which only that call changes, so they
 * stay valid until the next step, as every effect must. Its messages
 * leave as BATON_MSG_RAFT, its write as the raft_write effect, and its
 * deadline joins the node's.
 *
 * Grants (quorum.md §4.2, §9 step 3): the leader places each quorum app
 * by apps.c's rule, from the reports every node sends it too, and
 * proposes a grant entry (app, owner); every node applies committed
 * grants in log order to n->grants, whose epoch is the entry's index.
 * One proposal at a time: only when everything in the log is committed
 * and applied, so the decision reads the table as the log has it, and
 * a new leader's no-op is committed first.
 *
 * Leases and self-fencing (quorum.md §4): below. Not yet: the failover
 * timeout.
 *
 * Snapshots (quorum.md §3): every BATON_QUORUM_SNAP_EVERY applied
 * entries the node serialises its grant table (the raft_snapshot
 * effect, which the driver saves before the step's write) and lets the
 * group compact the log up to there; a snapshot a leader sends (or the
 * store holds at boot) replaces the table. */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

/* A grant entry: kind, owner, two bytes zero, the owner's life
 * (little-endian), the app's name padded with zeros. Its index in the
 * log is its epoch. The leader's no-op is the empty entry. */
#define GRANT_KIND 1
#define GRANT_INC 4
#define GRANT_NAME 12
#define GRANT_LEN (GRANT_NAME + BATON_APP_NAME_MAX + 1)
_Static_assert(GRANT_LEN <= BATON_RAFT_DATA_MAX, "a grant fits an entry");

static void put64(uint8_t *p, uint64_t v)
{
    for (unsigned k = 0; k < 8; k++) {
        p[k] = (uint8_t)(v >> (8 * k));
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (unsigned k = 0; k < 8; k++) {
        v |= (uint64_t)p[k] << (8 * k);
    }
    return v;
}

/* The app of cfg.apps named by the zero-padded name at p (which ends
 * with a zero byte), or BATON_NODE_NONE. */
static unsigned app_named(const struct baton_node *n, const uint8_t *p)
{
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (strcmp(n->cfg.apps[i].name, (const char *)p) == 0) {
            return i;
        }
    }
    return BATON_NODE_NONE;
}

static uint32_t grant_encode(uint8_t *buf,
                             const char *name,
                             unsigned owner,
                             baton_inc inc)
{
    memset(buf, 0, GRANT_LEN);
    buf[0] = GRANT_KIND;
    buf[1] = (uint8_t)owner;
    put64(buf + GRANT_INC, inc);
    memcpy(buf + GRANT_NAME, name, strnlen(name, BATON_APP_NAME_MAX));
    return GRANT_LEN;
}

/* The app of cfg.apps a grant entry names, its owner and the owner's
 * life; false if the entry is no grant or names an app this node does
 * not define. */
static bool grant_decode(const struct baton_node *n,
                         const struct baton_raft_entry *e,
                         unsigned *app,
                         struct baton_grant *g)
{
    if (e->len != GRANT_LEN || e->data[0] != GRANT_KIND ||
        e->data[GRANT_LEN - 1] != 0 ||
        (e->data[1] >= n->cfg.n_nodes && e->data[1] != BATON_NODE_NONE)) {
        return false;
    }
    *app = app_named(n, e->data + GRANT_NAME);
    if (*app == BATON_NODE_NONE) {
        return false;
    }
    memset(g, 0, sizeof(*g));
    g->owner = e->data[1];
    g->inc = get64(e->data + GRANT_INC);
    return true;
}

/* Applies the committed entries not applied yet, in log order. */
static void apply_grants(struct baton_node *n)
{
    while (n->grants_applied < n->raft.commit) {
        uint64_t x = n->grants_applied + 1;
        const struct baton_raft_entry *e = baton_raft_entry_at(&n->raft, x);
        struct baton_grant g;
        unsigned app;
        /* Compacted before it was applied: the log is compacted only up
         * to a snapshot of this node (taken of applied entries) or one
         * it installed (which set grants_applied), never past them. */
        BATON_ASSERT(e != NULL);
        if (grant_decode(n, e, &app, &g)) {
            struct baton_trace *t = baton__trace(n, BATON_TRACE_RAFT, g.owner);
            g.epoch = x;
            n->grants[app] = g;
            t->role = n->raft.role;
            t->a = n->raft.term;
            t->b = n->raft.commit;
            t->c = x;
            memcpy(t->app, n->cfg.apps[app].name, sizeof(t->app));
        }
        n->grants_applied = x;
    }
}

/* Leader: where the placement rule puts quorum app i now, given its
 * grant (BATON_NODE_NONE: nowhere). */
static unsigned placed(const struct baton_node *n, unsigned i)
{
    const struct baton_app_config *c = &n->cfg.apps[i];
    const struct baton_grant *g = &n->grants[i];
    struct baton_state_app e;

    /* The grant as an app of the state, so that the placement rule
     * keeps it where it is granted when it may stay there. */
    memset(&e, 0, sizeof(e));
    memcpy(e.name, c->name, sizeof(e.name));
    memcpy(e.rank, c->rank, sizeof(e.rank));
    e.failover_timeout_ms = c->failover_timeout_ms;
    e.status = g->owner != BATON_NODE_NONE ? BATON_APP_RUNNING : BATON_APP_IDLE;
    e.owner = g->owner;
    e.from = e.prev = BATON_NODE_NONE;
    return baton__apps_place(n, &e, BATON_NODE_NONE);
}

/* Leader: is app i's grant spent, although the placement rule keeps it
 * where it is? Its owner restarted since (a new life may not run it),
 * or its instance under the grant's epoch stopped (a lease ran out) and
 * did not end for good: a fresh grant, a new epoch, starts it again (a
 * token is never used twice, apps.md §4). */
static bool spent(const struct baton_node *n, unsigned i)
{
    const struct baton_grant *g = &n->grants[i];
    const struct baton_app_report *r =
        baton__apps_report_of(n, g->owner, n->cfg.apps[i].name);

    if (g->owner >= n->cfg.n_nodes || g->inc != n->state.nodes[g->owner].inc) {
        return true;
    }
    return r != NULL && r->run == BATON_LOCAL_IDLE && r->last >= g->epoch &&
           r->exited != g->epoch;
}

static bool is_leader(const struct baton_node *n)
{
    return n->quorum && n->raft.role == BATON_RAFT_LEADER;
}

/* Leader: the quorum app to grant anew and to whom (false: none). Only
 * once everything in the log is committed and applied, and once every
 * lease it answered for the app has run out, drift included (§4.3; a
 * new leader answered none, and the old leader's ended before its
 * election). */
static bool grant_wanted(const struct baton_node *n,
                         unsigned *app,
                         unsigned *owner)
{
    if (!is_leader(n) || n->raft.commit != baton_raft_last_index(&n->raft) ||
        n->grants_applied != n->raft.commit ||
        n->grant_refused_at == n->raft.commit) {
        return false;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        unsigned t;
        if (n->cfg.apps[i].mode != BATON_APP_QUORUM) {
            continue;
        }
        t = placed(n, i);
        if (t != BATON_NODE_NONE && n->now_ms >= n->lease_given[i] &&
            (t != n->grants[i].owner || spent(n, i))) {
            *app = i;
            *owner = t;
            return true;
        }
    }
    return false;
}

/* ---- leases (quorum.md §4.2) ------------------------------------------
 *
 * Renewals ride on Raft's append acks, answers on a message of the same
 * shape (no new field on the wire): an APPEND_RESP carries in `commit`
 * its sender's clock when it left (s_o). The leader answers a follower
 * that owns quorum apps with an APPEND_RESP marked `pre` (meaningless
 * for an ack): sent_ms = s_o, commit = D = what is left of its
 * leadership lease, index = a bit per app of cfg.apps the lease covers
 * (the apps granted to it that the placement rule keeps there). For app
 * a the owner's lease ends at s_o + min(L_a, D)·(1 − ρ) on its clock;
 * the leader takes no new owner for a before now + min(L_a, D)·(1 + ρ)
 * on its own. A leader that owns apps holds them under its leadership
 * lease (capped at L). */

static uint64_t scaled(uint64_t ms, const struct baton_node *n, bool up)
{
    uint64_t ppm = n->raft.cfg.drift_ppm;

    return up ? ms + (ms * ppm + 999999) / 1000000 : ms - ms * ppm / 1000000;
}

/* Leader: the apps of cfg.apps whose lease it renews for node o. */
static uint32_t renewable(const struct baton_node *n, unsigned o)
{
    uint32_t mask = 0;

    if (n->raft.commit != baton_raft_last_index(&n->raft) ||
        n->grants_applied != n->raft.commit) {
        /* A grant may be under way (or a new leader's no-op): the table
         * may be about to change, and a grant's proposal is decided on
         * every lease answered before it. */
        return 0;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (n->cfg.apps[i].mode == BATON_APP_QUORUM &&
            n->grants[i].owner == o && placed(n, i) == o && !spent(n, i)) {
            mask |= UINT32_C(1) << i;
        }
    }
    return mask;
}

/* Leader: an ack from follower f left it at s_o (its clock): answer
 * with a lease for the apps it owns. */
static void answer(struct baton_node *n, unsigned f, uint64_t s_o)
{
    uint64_t end = baton_raft_lease_end(&n->raft);
    uint32_t mask = renewable(n, f);
    struct baton_msg m;

    if (end <= n->now_ms || mask == 0) {
        return;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (mask >> i & 1u) {
            uint64_t d = BATON_MIN(n->cfg.apps[i].lease_ms, end - n->now_ms);
            n->lease_given[i] =
                BATON_MAX(n->lease_given[i], n->now_ms + scaled(d, n, true));
        }
    }
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_RAFT;
    m.u.raft.m.type = BATON_RAFT_APPEND_RESP;
    m.u.raft.m.pre = true;
    m.u.raft.m.ok = true;
    m.u.raft.m.from = (uint8_t)n->cfg.self;
    m.u.raft.m.to = (uint8_t)f;
    m.u.raft.m.term = n->raft.term;
    m.u.raft.m.index = mask;
    m.u.raft.m.commit = end - n->now_ms;
    m.u.raft.m.sent_ms = s_o;
    baton__send(n, f, &m);
}

/* Owner: the leader's answer to its ack sent at sent_ms. */
static void on_answer(struct baton_node *n, const struct baton_raft_msg *r)
{
    if (n->raft.role != BATON_RAFT_FOLLOWER || n->raft.leader != r->from ||
        r->term != n->raft.term || r->sent_ms > n->now_ms) {
        return;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        uint64_t d;
        if (!(r->index >> i & 1u) || n->cfg.apps[i].mode != BATON_APP_QUORUM ||
            n->grants[i].owner != n->cfg.self || n->grants[i].inc != n->inc) {
            continue;
        }
        d = BATON_MIN(n->cfg.apps[i].lease_ms, r->commit);
        n->lease_end[i] =
            BATON_MAX(n->lease_end[i], r->sent_ms + scaled(d, n, false));
    }
}

/* The app trace's kind for a kill at lease end (trace.c formats it;
 * apps.c's kinds are 1-11). */
#define TRACE_APP_KILLED 12

static void trace_kill(struct baton_node *n, unsigned i, uint64_t end)
{
    struct baton_trace *t = baton__trace(n, BATON_TRACE_APP, BATON_NODE_NONE);

    t->reason = TRACE_APP_KILLED;
    t->a = n->local[i].epoch;
    t->b = end;
    memcpy(t->app, n->cfg.apps[i].name, sizeof(t->app));
}

static void lease_effect(struct baton_node *n,
                         unsigned i,
                         unsigned action,
                         uint64_t until_ms)
{
    struct baton_app_effect a = {
        .action = (uint8_t)action,
        .app = (uint8_t)i,
        .from = BATON_NODE_NONE,
        .epoch = n->local[i].epoch,
        .until_ms = until_ms,
    };

    BATON_ASSERT(n->fx->n_app < BATON_FX_APP_MAX);
    n->fx->app[n->fx->n_app++] = a;
}

/* Self-fencing of app i's local instance (quorum.md §4.4). An instance
 * still there (starting, running, or told to stop) once its lease has
 * ended is killed, once: its stop hangs, or the node woke from a pause
 * past the lease's end. A lease granted elsewhere is over here
 * (lease_end 0): the leader moved it only after every lease it answered
 * had run out. While the instance lives, the driver learns its lease's
 * end whenever it moves on by half the stop margin: the value it holds
 * is never past the true end, and at most half the margin short of it,
 * so its own timer (the shim's) never fires before the STOP is due. */
static void fence(struct baton_node *n, unsigned i)
{
    struct baton_local_app *l = &n->local[i];
    uint64_t end = n->lease_end[i];
    uint64_t step = n->cfg.apps[i].stop_margin_ms / 2;

    if (l->run == BATON_LOCAL_IDLE) {
        return;
    }
    if (n->now_ms >= end && !l->killed) {
        l->killed = true;
        lease_effect(n, i, BATON_APP_KILL, end);
        trace_kill(n, i, end);
        return;
    }
    if (end > n->now_ms && (l->lease_told == 0 || end < l->lease_told ||
                            end - l->lease_told >= BATON_MAX(step, 1))) {
        l->lease_told = end;
        lease_effect(n, i, BATON_APP_LEASE, end);
    }
}

void baton__quorum_leases(struct baton_node *n)
{
    uint64_t lead_end = is_leader(n) ? baton_raft_lease_end(&n->raft) : 0;

    if (!n->quorum || n->fx == NULL) {
        return;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        const struct baton_app_config *c = &n->cfg.apps[i];
        struct baton_local_app *l = &n->local[i];
        bool mine =
            n->grants[i].owner == n->cfg.self && n->grants[i].inc == n->inc;
        uint64_t stop_at;
        if (c->mode != BATON_APP_QUORUM) {
            continue;
        }
        if (mine && lead_end > n->now_ms &&
            (renewable(n, n->cfg.self) >> i & 1u)) {
            /* Its own leadership lease, already discounted for drift. */
            uint64_t end = BATON_MIN(lead_end, n->now_ms + c->lease_ms);
            n->lease_end[i] = BATON_MAX(n->lease_end[i], end);
            n->lease_given[i] = BATON_MAX(n->lease_given[i], n->lease_end[i]);
        }
        if (!mine) {
            n->lease_end[i] = 0; /* granted elsewhere: it is over here */
        }
        stop_at = n->lease_end[i] > c->stop_margin_ms
                      ? n->lease_end[i] - c->stop_margin_ms
                      : 0;
        if ((l->run == BATON_LOCAL_STARTING || l->run == BATON_LOCAL_RUNNING) &&
            (n->now_ms >= stop_at || l->epoch != n->grants[i].epoch)) {
            baton__apps_local(n, i, false, l->epoch);
        } else if (l->run == BATON_LOCAL_IDLE && mine && n->raft_stored &&
                   !l->failed && n->now_ms < stop_at &&
                   n->grants[i].epoch > l->last) {
            baton__apps_local(n, i, true, n->grants[i].epoch);
            l->killed = false;
            l->lease_told = 0;
        }
    }
}

void baton__quorum_fence(struct baton_node *n)
{
    if (!n->quorum || n->fx == NULL) {
        return;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (n->cfg.apps[i].mode == BATON_APP_QUORUM) {
            fence(n, i);
        }
    }
}

static bool wants_quorum(const struct baton_node_config *cfg)
{
    for (unsigned i = 0; i < cfg->n_apps; i++) {
        if (cfg->apps[i].mode == BATON_APP_QUORUM) {
            return true;
        }
    }
    return false;
}

/* ---- snapshots of the grant table (quorum.md §3) ---------------------
 *
 * The table is all the state the log builds, so a snapshot of it as of
 * an applied index lets the log drop the entries up to there. Layout
 * (little-endian): a head (version, the number of records, six zero
 * bytes), then per granted app a record: owner, seven zero bytes, the
 * owner's life, the epoch, the app's name padded with zeros to
 * BATON_APP_NAME_MAX + 1 bytes. */
#define SNAP_VERSION 1
#define SNAP_INC 8
#define SNAP_EPOCH 16
#define SNAP_NAME 24
_Static_assert(SNAP_NAME + BATON_APP_NAME_MAX + 1 == BATON_QUORUM_SNAP_RECORD,
               "a record's fields fill it");

static uint32_t snap_encode(const struct baton_node *n, uint8_t *buf)
{
    uint32_t len = BATON_QUORUM_SNAP_HEAD;

    memset(buf, 0, BATON_QUORUM_SNAP_MAX);
    buf[0] = SNAP_VERSION;
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        const struct baton_grant *g = &n->grants[i];
        uint8_t *r = buf + len;
        if (g->epoch == 0) {
            continue;
        }
        r[0] = g->owner;
        put64(r + SNAP_INC, g->inc);
        put64(r + SNAP_EPOCH, g->epoch);
        memcpy(r + SNAP_NAME, n->cfg.apps[i].name,
               strnlen(n->cfg.apps[i].name, BATON_APP_NAME_MAX));
        buf[1]++;
        len += BATON_QUORUM_SNAP_RECORD;
    }
    return len;
}

/* Is data a snapshot of a table as of index (each record's name ends
 * with a zero, its owner a node or none, its epoch within the index)?
 * A peer's snapshot is checked before the group installs it: once
 * installed there is no going back to the entries it replaced. */
static bool snap_valid(const struct baton_node *n,
                       const uint8_t *data,
                       uint32_t len,
                       uint64_t index)
{
    if (data == NULL || len < BATON_QUORUM_SNAP_HEAD ||
        len > BATON_QUORUM_SNAP_MAX || data[0] != SNAP_VERSION ||
        data[1] > BATON_APPS_MAX ||
        len != BATON_QUORUM_SNAP_HEAD +
                   (uint32_t)data[1] * BATON_QUORUM_SNAP_RECORD) {
        return false;
    }
    for (unsigned k = 0; k < data[1]; k++) {
        const uint8_t *r =
            data + BATON_QUORUM_SNAP_HEAD + k * BATON_QUORUM_SNAP_RECORD;
        uint64_t epoch = get64(r + SNAP_EPOCH);
        if (r[SNAP_NAME + BATON_APP_NAME_MAX] != 0 ||
            (r[0] >= n->cfg.n_nodes && r[0] != BATON_NODE_NONE) || epoch == 0 ||
            epoch > index) {
            return false;
        }
    }
    return true;
}

/* Replaces the table with a valid snapshot's, as of index, and keeps
 * the snapshot to send on. Apps this node does not define are skipped,
 * as their grants are. */
static void snap_restore(struct baton_node *n,
                         const uint8_t *data,
                         uint32_t len,
                         uint64_t index)
{
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        memset(&n->grants[i], 0, sizeof(n->grants[i]));
        n->grants[i].owner = BATON_NODE_NONE;
    }
    for (unsigned k = 0; k < data[1]; k++) {
        const uint8_t *r =
            data + BATON_QUORUM_SNAP_HEAD + k * BATON_QUORUM_SNAP_RECORD;
        unsigned app = app_named(n, r + SNAP_NAME);
        if (app == BATON_NODE_NONE) {
            continue;
        }
        n->grants[app].owner = r[0];
        n->grants[app].inc = get64(r + SNAP_INC);
        n->grants[app].epoch = get64(r + SNAP_EPOCH);
    }
    n->grants_applied = index;
    memcpy(n->snap, data, len);
    n->snap_len = len;
    n->snap_index = index;
}

/* The snapshot held now goes to the driver's store (before the step's
 * write), and the group may compact the log up to it. */
static void snap_saved(struct baton_node *n, uint64_t term)
{
    n->fx->raft_snapshot.index = n->snap_index;
    n->fx->raft_snapshot.term = term;
    n->fx->raft_snapshot.data = n->snap;
    n->fx->raft_snapshot.len = n->snap_len;
    baton_raft_snapshot_taken(&n->raft, n->snap_index);
}

/* Takes a snapshot of the table once enough entries were applied since
 * the last. Only of entries this node has durable: the store keeps the
 * entries after a snapshot only if it holds the one at its index. */
static void snap_take(struct baton_node *n)
{
    uint64_t every = n->cfg.raft_snap_every != 0 ? n->cfg.raft_snap_every
                                                 : BATON_QUORUM_SNAP_EVERY;
    uint64_t x = n->grants_applied;
    const struct baton_raft_entry *e;

    if (x < n->snap_index + every || x > n->raft.durable_index) {
        return;
    }
    e = baton_raft_entry_at(&n->raft, x);
    BATON_ASSERT(e != NULL); /* compacted only up to snap_index < x */
    n->snap_len = snap_encode(n, n->snap);
    n->snap_index = x;
    snap_saved(n, e->term);
    n->counters.raft_snaps_taken++;
}

/* Sends the group's messages, hands its write to the driver, and traces
 * a change of leader or term. */
static void carry(struct baton_node *n)
{
    const struct baton_raft_effects *rfx = &n->raft_fx;
    struct baton_effects *fx = n->fx;
    bool sending = false;

    for (unsigned k = 0; k < rfx->n_msgs; k++) {
        struct baton_msg m;
        const struct baton_raft_msg *r = &rfx->msgs[k];
        if (r->to >= n->cfg.n_nodes || r->to == n->cfg.self) {
            continue;
        }
        /* It points into n->snap: no new snapshot this step. */
        sending = sending || r->type == BATON_RAFT_SNAPSHOT;
        memset(&m, 0, sizeof(m));
        m.type = BATON_MSG_RAFT;
        m.u.raft.m = *r;
        m.u.raft.m.from = (uint8_t)n->cfg.self;
        if (r->type == BATON_RAFT_APPEND_RESP) {
            m.u.raft.m.commit = n->now_ms; /* a lease renewal: s_o */
        }
        baton__send(n, r->to, &m);
        n->counters.raft_sent++;
    }
    fx->raft_write = rfx->write;
    if (rfx->write.seq != 0) {
        n->counters.raft_writes++;
    }
    if (n->raft.role != n->raft_role || n->raft.term != n->raft_term) {
        struct baton_trace *t = baton__trace(
            n, BATON_TRACE_RAFT,
            n->raft.leader >= 0 ? (unsigned)n->raft.leader : BATON_NODE_NONE);
        t->role = n->raft.role;
        t->a = n->raft.term;
        t->b = n->raft.commit;
        n->raft_role = n->raft.role;
        n->raft_term = n->raft.term;
    }
    /* A snapshot installed replaces the table (the group checked it is
     * newer than anything applied), then the entries after it apply. */
    if (rfx->install.set) {
        snap_restore(n, rfx->install.data, rfx->install.len,
                     rfx->install.index);
        snap_saved(n, rfx->install.term);
        n->counters.raft_snaps_installed++;
    }
    apply_grants(n);
    if (!rfx->install.set && !sending) {
        snap_take(n);
    }
    /* Followers that lack compacted entries get the snapshot, one per
     * step (baton__quorum_event). */
    n->snap_wanted = is_leader(n) ? n->snap_wanted | rfx->want_snapshot : 0;
}

int baton__quorum_init(struct baton_node *n, uint64_t seed)
{
    struct baton_raft_config rc;
    struct baton_raft_disk empty;
    int rv;

    n->quorum = wants_quorum(&n->cfg);
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        n->grants[i].owner = BATON_NODE_NONE;
        n->grants[i].epoch = 0;
    }
    n->grants_applied = 0;
    n->grant_refused_at = 0;
    n->snap_len = 0;
    n->snap_index = 0;
    n->snap_wanted = 0;
    memset(n->lease_end, 0, sizeof(n->lease_end));
    memset(n->lease_given, 0, sizeof(n->lease_given));
    n->raft_stored = n->cfg.raft_disk != NULL;
    if (!n->quorum) {
        return 0;
    }
    memset(&rc, 0, sizeof(rc));
    rc.self = n->cfg.self;
    rc.n_nodes = n->cfg.n_nodes;
    /* Every node votes, witnesses included (quorum.md §1). */
    rc.voters =
        n->cfg.n_nodes == 32 ? UINT32_MAX : (UINT32_C(1) << n->cfg.n_nodes) - 1;
    /* Leader stickiness spans the failure detector's window: a voter that
     * heard the leader within it takes it to be alive (quorum.md §4). */
    rc.election_min_ms = n->cfg.heartbeat_ms * n->cfg.heartbeat_miss;
    rc.heartbeat_ms = n->cfg.heartbeat_ms;
    rc.drift_ppm = n->cfg.max_drift_ppm;
    rc.log_room = n->cfg.raft_log_room;
    if (n->cfg.raft_disk != NULL && n->cfg.raft_disk->snap_index > 0) {
        /* The store's log starts after its snapshot: without the table
         * as of there, the grants it held would be lost. */
        if (!snap_valid(n, n->cfg.raft_snap, n->cfg.raft_snap_len,
                        n->cfg.raft_disk->snap_index)) {
            return BATON_EINVAL;
        }
        snap_restore(n, n->cfg.raft_snap, n->cfg.raft_snap_len,
                     n->cfg.raft_disk->snap_index);
    }
    memset(&empty, 0, sizeof(empty));
    empty.vote = -1;
    /* A seed of its own, so that the group's randomness does not shift
     * the node's (and every available-mode schedule) when it is on. */
    rv = baton_raft_init(
        &n->raft, &rc, n->cfg.raft_disk != NULL ? n->cfg.raft_disk : &empty,
        seed ^ UINT64_C(0x9e3779b97f4a7c15), n->now_ms, &n->raft_fx);
    n->raft_role = n->raft.role;
    n->raft_term = n->raft.term;
    return rv;
}

int baton__quorum_event(struct baton_node *n, const struct baton_event *ev)
{
    unsigned app, owner;
    int rv;

    if (!n->quorum) {
        /* Without a quorum app there is no group: a confirmation can
         * only be a driver's mistake. */
        return ev->type == BATON_EVENT_PERSISTED ? BATON_EINVAL : 0;
    }
    switch (ev->type) {
    case BATON_EVENT_TICK:
        /* One call of the group per step (its effects are the step's):
         * a snapshot due to a follower is sent, or a grant due is
         * proposed, instead of the tick, which the group then asks for
         * again a millisecond later. */
        if (is_leader(n) && n->snap_wanted != 0) {
            unsigned to = (unsigned)__builtin_ctz(n->snap_wanted);
            n->snap_wanted &= ~(UINT32_C(1) << to);
            rv = baton_raft_send_snapshot(&n->raft, n->now_ms, to, n->snap,
                                          n->snap_len, &n->raft_fx);
            if (rv != 0) {
                rv = baton_raft_tick(&n->raft, n->now_ms, &n->raft_fx);
            }
            break;
        }
        if (grant_wanted(n, &app, &owner)) {
            uint8_t buf[GRANT_LEN];
            uint32_t len = grant_encode(buf, n->cfg.apps[app].name, owner,
                                        n->state.nodes[owner].inc);
            uint64_t index;
            rv = baton_raft_propose(&n->raft, n->now_ms, buf, len, &index,
                                    &n->raft_fx);
            if (rv != 0) {
                n->grant_refused_at = n->raft.commit;
                rv = baton_raft_tick(&n->raft, n->now_ms, &n->raft_fx);
            }
            break;
        }
        rv = baton_raft_tick(&n->raft, n->now_ms, &n->raft_fx);
        break;
    case BATON_EVENT_PERSISTED:
        rv = baton_raft_persisted(&n->raft, n->now_ms, ev->seq, &n->raft_fx);
        break;
    default:
        return 0;
    }
    if (rv == 0) {
        carry(n);
    }
    return rv;
}

void baton__quorum_on_msg(struct baton_node *n, const struct baton_msg *m)
{
    if (!n->quorum) {
        return; /* a peer with a quorum app: the app is refused anyway */
    }
    n->counters.raft_received++;
    if (m->u.raft.m.type == BATON_RAFT_SNAPSHOT &&
        !snap_valid(n, m->u.raft.m.data, m->u.raft.m.len, m->u.raft.m.index)) {
        return; /* not a table: never installed (see snap_valid) */
    }
    if (m->u.raft.m.type == BATON_RAFT_APPEND_RESP && m->u.raft.m.pre) {
        on_answer(n, &m->u.raft.m);
        return;
    }
    if (baton_raft_receive(&n->raft, n->now_ms, &m->u.raft.m, &n->raft_fx) ==
        0) {
        carry(n);
    }
    if (m->u.raft.m.type == BATON_RAFT_APPEND_RESP && is_leader(n) &&
        m->u.raft.m.term == n->raft.term && m->u.raft.m.commit != 0) {
        answer(n, m->from, m->u.raft.m.commit);
    }
}

uint64_t baton__quorum_deadline(const struct baton_node *n)
{
    unsigned app, owner;
    uint64_t d = UINT64_MAX;

    if (!n->quorum) {
        return UINT64_MAX;
    }
    if (grant_wanted(n, &app, &owner) ||
        (is_leader(n) && n->snap_wanted != 0)) {
        return n->now_ms + 1; /* proposed or sent at the next tick */
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        /* A lease to stop under (its end less the margin), and for a
         * leader the end of what it answered (a grant may move then). */
        uint64_t m = n->cfg.apps[i].stop_margin_ms;
        uint64_t stop = n->lease_end[i] > m ? n->lease_end[i] - m : 0;
        if (stop > n->now_ms) {
            d = BATON_MIN(d, stop);
        }
        /* The kill at the lease's end, for an instance not gone by then
         * (quorum.md §4.4). */
        if (n->local[i].run != BATON_LOCAL_IDLE && !n->local[i].killed &&
            n->lease_end[i] > n->now_ms) {
            d = BATON_MIN(d, n->lease_end[i]);
        }
        if (is_leader(n) && n->lease_given[i] > n->now_ms) {
            d = BATON_MIN(d, n->lease_given[i]);
        }
    }
    if (n->raft_fx.deadline_ms == 0) {
        return d;
    }
    /* A deadline already reached (the group was last called before it,
     * on another event) is due at once: the next millisecond. */
    return BATON_MIN(d, BATON_MAX(n->raft_fx.deadline_ms, n->now_ms + 1));
}

unsigned baton_node_raft_leader(const struct baton_node *n)
{
    return n->quorum && n->raft.leader >= 0 ? (unsigned)n->raft.leader
                                            : BATON_NODE_NONE;
}

uint64_t baton_node_raft_term(const struct baton_node *n)
{
    return n->quorum ? n->raft.term : 0;
}

uint64_t baton_node_raft_commit(const struct baton_node *n)
{
    return n->quorum ? n->raft.commit : 0;
}

unsigned baton_node_grant(const struct baton_node *n,
                          unsigned app,
                          uint64_t *epoch)
{
    bool set = n->quorum && app < n->cfg.n_apps;

    if (epoch != NULL) {
        *epoch = set ? n->grants[app].epoch : 0;
    }
    return set ? n->grants[app].owner : BATON_NODE_NONE;
}

uint64_t baton_node_lease_end(const struct baton_node *n, unsigned app)
{
    return n->quorum && app < n->cfg.n_apps ? n->lease_end[app] : 0;
}
