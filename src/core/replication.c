/* Replicated state: the coordinator orders ops, followers apply them in
 * order, joiners and lagging followers get snapshots, and a surrendering
 * group's state is merged in. See docs/design/core.md §4. */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

static void trace_applied(struct baton_node *n, const struct baton_op *op)
{
    bool name = op->type == BATON_OP_NAME_SET || op->type == BATON_OP_NAME_DEL;
    struct baton_trace *t = baton__trace(n, BATON_TRACE_APPLIED,
                                         op->type == BATON_OP_MERGE
                                             ? BATON_NODE_NONE
                                         : name ? op->name.owner
                                                : op->node);

    if (name) {
        /* The name (cut to fit), and its owner as the peer. */
        size_t len = strnlen(op->name.name, sizeof(t->app) - 1);
        memcpy(t->app, op->name.name, len);
        t->app[len] = '\0';
    }
    t->a = n->applied;
    t->b = op->type;
    t->c = baton__replica_digest(n);
    t->stream = n->stream;
}

void baton__submit(struct baton_node *n, const struct baton_op *op)
{
    int rv;

    BATON_ASSERT(n->role == BATON_ROLE_COORDINATOR);
    /* The coordinator builds every op from its own state, so one it
     * cannot apply is a core bug. */
    rv = baton__apply(n, op);
    BATON_ASSERT(rv == 0);
    BATON_ASSERT(n->state.epoch >= n->epoch);
    n->epoch = n->state.epoch;
    n->applied++;
    n->counters.ops_applied++;
    if (n->step_ops == 0) {
        n->step_first_index = n->applied;
    }
    if (n->step_ops < BATON_STEP_OPS_MAX) {
        n->step_op[n->step_ops] = *op;
    }
    n->step_ops++;
    trace_applied(n, op);
}

/* Snapshots go out at the end of the step (baton__send_snapshots), so
 * the name table they point at no longer changes while the driver
 * encodes them. join_seq: the JOIN answered, 0 for a resync. */
static void send_snapshot(struct baton_node *n, unsigned to,
                          uint64_t join_seq)
{
    if (n->snap_want[to] == 0) {
        n->snap_stream = n->stream;
    }
    n->snap_want[to] = BATON_MAX(n->snap_want[to], join_seq + 1);
}

/* Sends snapshot m to `to` in parts of at most names_part entries, each
 * a slice of slots, all in this step: the table does not change between
 * them, so their union is one consistent table (docs/design/names.md
 * §1). The transfer is named by its first part's seq. */
static void send_parts(struct baton_node *n, unsigned to, struct baton_msg *m)
{
    uint32_t per = baton__names_part(&n->cfg);
    uint32_t cap = n->names.cap;
    uint32_t left = n->names.count;
    uint32_t start = 0;

    m->u.snapshot.snap = n->seq + 1;
    n->counters.snapshots_sent++;
    for (uint32_t part = 0;; part++) {
        uint32_t end = start;
        uint32_t k = 0;
        while (end < cap && k < per) {
            k += n->names.slot[end++].used != 0;
        }
        left -= k;
        BATON_ASSERT(part < BATON_SNAPSHOT_PARTS_MAX); /* checked at init */
        m->u.snapshot.part = part;
        m->u.snapshot.more = left != 0;
        m->u.snapshot.slot_first = start;
        m->u.snapshot.slot_end = left != 0 ? end : cap;
        baton__send(n, to, m);
        if (left == 0) {
            break;
        }
        start = end;
    }
}

void baton__send_snapshots(struct baton_node *n)
{
    for (unsigned to = 0; to < n->cfg.n_nodes; to++) {
        struct baton_msg m;
        uint64_t want = n->snap_want[to];
        if (want == 0) {
            continue;
        }
        n->snap_want[to] = 0;
        if (n->role != BATON_ROLE_COORDINATOR ||
            !baton_stream_equal(&n->snap_stream, &n->stream)) {
            continue; /* no longer ours to give: they ask again */
        }
        memset(&m, 0, sizeof(m));
        m.type = BATON_MSG_SNAPSHOT;
        m.u.snapshot.join_seq = want - 1;
        m.u.snapshot.stream = n->stream;
        m.u.snapshot.index = n->applied;
        m.u.snapshot.state = n->state;
        m.u.snapshot.names = &n->names;
        send_parts(n, to, &m);
    }
}

/* Sends this step's ops to every member: each op while there are few,
 * one snapshot when there are more (which bounds a step's output). */
void baton__flush(struct baton_node *n)
{
    unsigned k = n->step_ops;

    if (k == 0) {
        return;
    }
    n->step_ops = 0;
    BATON_ASSERT(n->role == BATON_ROLE_COORDINATOR);
    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        if (p == n->cfg.self || !n->state.nodes[p].member) {
            continue;
        }
        if (k > BATON_STEP_OPS_MAX) {
            send_snapshot(n, p, 0);
            continue;
        }
        for (unsigned i = 0; i < k; i++) {
            struct baton_msg m;
            memset(&m, 0, sizeof(m));
            m.type = BATON_MSG_OP;
            m.u.op.stream = n->stream;
            m.u.op.index = n->step_first_index + i;
            m.u.op.op = n->step_op[i];
            baton__send(n, p, &m);
        }
    }
}

void baton__member_gone(struct baton_node *n, unsigned p)
{
    struct baton_op op = {0};

    if (n->role != BATON_ROLE_COORDINATOR || !n->state.nodes[p].member) {
        return;
    }
    baton__apps_member(n, p, false);
    op.type = BATON_OP_LEAVE;
    op.node = (uint8_t)p;
    op.inc = n->state.nodes[p].inc;
    baton__submit(n, &op);
}

/* Is a snapshot in parts from our coordinator under way: a part came on
 * the current link within a detection window? Asking again meanwhile
 * would only queue another whole snapshot behind it, and a large
 * table's parts can take a while on a slow link (whose write queue
 * holds few of them: docs/design/names.md §1). A transfer whose tail
 * was lost (the link closed) or that stalled is not under way. */
static bool parts_coming(const struct baton_node *n)
{
    const struct baton_peer *peer;

    if (n->snap_next == BATON_SNAP_NONE || n->snap_from != n->target ||
        n->snap_from_inc != n->target_inc) {
        return false;
    }
    peer = &n->peers[n->target];
    return peer->link_up && peer->linked_ms <= n->snap_last_ms &&
           n->now_ms < n->snap_last_ms + baton_node_down_after_ms(n);
}

void baton__send_join(struct baton_node *n)
{
    struct baton_msg m;

    BATON_ASSERT(n->role == BATON_ROLE_JOINING);
    if (n->join_first_seq != 0 && parts_coming(n)) {
        n->join_next_ms = n->now_ms + n->cfg.heartbeat_ms;
        return; /* a retry: the answer to an earlier JOIN is coming */
    }
    /* Ahead of the JOIN, on the same link: the coordinator has this
     * node's operator settings before it counts it as a member, so it
     * never decides with settings older than a member's (apps.md §7). */
    baton__settings_send(n, n->target);
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_JOIN;
    m.u.join.stream = n->stream;
    m.u.join.replica = n->state;
    m.u.join.names = &n->own; /* what our endpoints hold */
    baton__send(n, n->target, &m);
    if (n->join_first_seq == 0) {
        n->join_first_seq = n->seq;
    }
    /* Jitter keeps retries of many joiners from moving in lockstep. */
    n->join_next_ms = n->now_ms + n->cfg.heartbeat_ms +
                      baton_prng_below(&n->prng, n->cfg.heartbeat_ms / 4 + 1);
}

/* The coordinator takes a joiner in: merges the joiner's replica when it
 * comes from another stream (a group that lived apart), moves its own
 * epoch above the joiner's so no node's epoch ever goes back, records
 * the member, and answers with a snapshot. */
void baton__on_join(struct baton_node *n, const struct baton_msg *m)
{
    unsigned p = m->from;
    struct baton_peer *peer = &n->peers[p];
    struct baton_state merged;
    bool absorb = false;

    if (n->role != BATON_ROLE_COORDINATOR) {
        /* Our status tells the joiner to look elsewhere. */
        baton__send_heartbeat(n, p);
        return;
    }
    /* A joiner from another stream lived apart (it may not have been
     * dropped from our members yet): its names need taking in, unless
     * this JOIN is stale: older than one taken in already, or overtaken
     * by a message that shows the joiner doing something else by now
     * (following us, say, with names it wrote since). A later message
     * that still asks to join us leaves this JOIN's names current: a
     * joiner writes nothing until it follows (docs/design/names.md §4). */
    absorb = !baton_stream_equal(&m->u.join.stream, &n->stream) &&
             m->seq > peer->join_seq &&
             (peer->status_seq == m->seq ||
              (peer->status.role == BATON_ROLE_JOINING &&
               peer->status.coord == n->cfg.self));
    if (!baton_stream_equal(&m->u.join.stream, &n->stream)) {
        baton_state_merge(&merged, &n->state, &m->u.join.replica);
        if (!baton_state_equal(&merged, &n->state)) {
            struct baton_op op;
            memset(&op, 0, sizeof(op));
            op.type = BATON_OP_MERGE;
            op.other = m->u.join.replica;
            baton__submit(n, &op);
        }
    }
    if (m->status.epoch > n->epoch) {
        struct baton_op op = {0};
        uint64_t term = BATON_MAX(n->term_seen,
                                  baton_epoch_term(m->status.epoch)) + 1;
        op.type = BATON_OP_COORD;
        op.node = (uint8_t)n->cfg.self;
        op.inc = n->inc;
        op.epoch = baton_epoch_make(term, n->cfg.self);
        n->term_seen = term;
        baton__submit(n, &op);
    }
    /* Its report from an earlier membership is no evidence now. */
    baton__apps_member(n, p, true);
    if (!n->state.nodes[p].member || n->state.nodes[p].inc != m->from_inc) {
        struct baton_op op = {0};
        op.type = BATON_OP_JOIN;
        op.node = (uint8_t)p;
        op.inc = m->from_inc;
        baton__submit(n, &op);
        absorb = true;
    }
    if (absorb) {
        /* Its own names come with it (docs/design/names.md §4). */
        peer->join_seq = m->seq;
        baton__names_absorb(n, p, m->from_inc, m->u.join.names);
        baton__names_changed(n);
    }
    baton__flush(n);
    send_snapshot(n, p, m->seq);
}

static void install(struct baton_node *n, const struct baton_msg *m,
                    const struct baton_names *names)
{
    struct baton_trace *t;

    n->state = m->u.snapshot.state;
    baton_state_widen(&n->state, n->cfg.n_nodes);
    baton__names_install(n, names);
    n->stream = m->u.snapshot.stream;
    n->applied = m->u.snapshot.index;
    n->epoch = n->state.epoch;
    n->counters.snapshots_installed++;
    t = baton__trace(n, BATON_TRACE_SNAPSHOT, m->from);
    t->a = n->applied;
    t->c = baton__replica_digest(n);
    t->stream = n->stream;
}

/* Collects snapshot parts (docs/design/names.md §1). True, with the
 * whole table in *out (NULL: empty), once m is the last part of a
 * transfer whose every part came in order. A part of another transfer,
 * or out of order (the link lost one), drops what came so far: the
 * transfer starts again with the next part 0, which the joiner's JOIN
 * or the follower's RESYNC asks for. Nothing is applied before the
 * last part. */
static bool take_part(struct baton_node *n, const struct baton_msg *m,
                      const struct baton_names **out)
{
    const struct baton_names *t = m->u.snapshot.names;
    uint32_t end = 0;

    n->counters.snapshot_parts++;
    if (m->u.snapshot.part == 0 && !m->u.snapshot.more) {
        n->snap_next = BATON_SNAP_NONE;
        *out = t; /* the whole table at once: nothing to collect */
        return true;
    }
    if (m->u.snapshot.part == 0) {
        baton_names_clear(&n->snap_names);
        n->snap_from = m->from;
        n->snap_from_inc = m->from_inc;
        n->snap_id = m->u.snapshot.snap;
        n->snap_next = 0;
    } else if (n->snap_next != m->u.snapshot.part ||
               n->snap_from != m->from ||
               n->snap_from_inc != m->from_inc ||
               n->snap_id != m->u.snapshot.snap) {
        if (n->snap_next != BATON_SNAP_NONE) {
            n->counters.snapshot_parts_dropped++;
        }
        n->snap_next = BATON_SNAP_NONE;
        return false;
    }
    if (t != NULL) {
        end = m->u.snapshot.slot_end != 0
                  ? BATON_MIN(m->u.snapshot.slot_end, t->cap)
                  : t->cap;
    }
    for (uint32_t i = m->u.snapshot.slot_first; i < end; i++) {
        const struct baton_name *e = &t->slot[i];
        /* Parts are disjoint slices of one table: a name twice, or
         * more than the table holds, is a bad transfer. */
        if (e->used && (baton_names_find(&n->snap_names, e->name) != NULL ||
                        baton_names_put(&n->snap_names, e) != 0)) {
            n->counters.snapshot_parts_dropped++;
            n->snap_next = BATON_SNAP_NONE;
            return false;
        }
    }
    if (m->u.snapshot.more) {
        n->snap_next++;
        n->snap_last_ms = n->now_ms;
        return false;
    }
    n->snap_next = BATON_SNAP_NONE;
    *out = &n->snap_names;
    return true;
}

void baton__on_snapshot(struct baton_node *n, const struct baton_msg *m)
{
    unsigned c = m->from;
    const struct baton_state *s = &m->u.snapshot.state;
    const struct baton_names *names;
    bool welcome = n->role == BATON_ROLE_JOINING && n->target == c &&
                   n->target_inc == m->from_inc &&
                   m->u.snapshot.join_seq != 0 &&
                   m->u.snapshot.join_seq >= n->join_first_seq;
    bool resync = n->role == BATON_ROLE_FOLLOWER && n->target == c &&
                  n->target_inc == m->from_inc &&
                  baton_stream_equal(&m->u.snapshot.stream, &n->stream) &&
                  m->u.snapshot.index > n->applied;

    if (!welcome && !resync) {
        return; /* an answer to an attempt that is over */
    }
    if (resync && (!s->nodes[n->cfg.self].member ||
                   s->nodes[n->cfg.self].inc != n->inc)) {
        /* Our coordinator no longer counts us in: join again. */
        baton__set_role(n, BATON_ROLE_SEEKING, BATON_NODE_NONE);
        return;
    }
    /* A snapshot that would move this node's epoch back, or that does not
     * count this life as a member, is stale: keep asking. */
    if (s->epoch < n->epoch || !s->nodes[n->cfg.self].member ||
        s->nodes[n->cfg.self].inc != n->inc) {
        return;
    }
    if (!take_part(n, m, &names)) {
        return; /* more parts to come, or this transfer failed */
    }
    /* Rejoining the stream we already follow: we hold that state or a
     * later one of the same stream already, so there is nothing to
     * install (applying the same point twice is what the order rule
     * forbids). */
    if (!baton_stream_equal(&m->u.snapshot.stream, &n->stream) ||
        m->u.snapshot.index > n->applied) {
        install(n, m, names);
    }
    if (welcome) {
        baton__set_role(n, BATON_ROLE_FOLLOWER, c);
    }
}

static void request_resync(struct baton_node *n)
{
    struct baton_msg m;

    if (n->now_ms < n->resync_next_ms || parts_coming(n)) {
        return;
    }
    n->resync_next_ms = n->now_ms + n->cfg.heartbeat_ms / 2;
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_RESYNC;
    m.u.resync.stream = n->stream;
    m.u.resync.applied = n->applied;
    baton__send(n, n->target, &m);
}

static bool following(const struct baton_node *n, const struct baton_msg *m,
                      const struct baton_stream *s)
{
    return n->role == BATON_ROLE_FOLLOWER && n->target == m->from &&
           n->target_inc == m->from_inc && baton_stream_equal(s, &n->stream);
}

void baton__on_op(struct baton_node *n, const struct baton_msg *m)
{
    int rv;

    if (!following(n, m, &m->u.op.stream) || m->u.op.index <= n->applied) {
        return; /* not ours, or a duplicate */
    }
    if (m->u.op.index > n->applied + 1) {
        request_resync(n); /* an op went missing */
        return;
    }
    rv = baton__apply(n, &m->u.op.op);
    if (rv != 0) {
        /* A valid op that does not apply means our replica disagrees
         * with the coordinator's (the simulator proves this does not
         * happen): start over from its snapshot rather than guess. */
        n->counters.replica_mismatches++;
        request_resync(n);
        return;
    }
    BATON_ASSERT(n->state.epoch >= n->epoch);
    n->epoch = n->state.epoch;
    n->applied = m->u.op.index;
    n->counters.ops_applied++;
    trace_applied(n, &m->u.op.op);
    if (!n->state.nodes[n->cfg.self].member) {
        /* The coordinator dropped this life from its group; join again. */
        baton__set_role(n, BATON_ROLE_SEEKING, BATON_NODE_NONE);
    }
}

void baton__on_resync(struct baton_node *n, const struct baton_msg *m)
{
    unsigned p = m->from;

    /* Answered for non-members too: their snapshot shows they were
     * dropped, and they join again. */
    if (n->role == BATON_ROLE_COORDINATOR &&
        baton_stream_equal(&m->u.resync.stream, &n->stream)) {
        baton__flush(n);
        send_snapshot(n, p, 0);
    }
}

/* A coordinator's heartbeat carries its last index: a follower behind it
 * lost the tail of the stream and asks for a snapshot. */
void baton__check_tail(struct baton_node *n, unsigned p)
{
    const struct baton_status *st = &n->peers[p].status;

    if (n->role == BATON_ROLE_FOLLOWER && n->target == p &&
        st->role == BATON_ROLE_COORDINATOR &&
        baton_stream_equal(&st->stream, &n->stream) &&
        st->index > n->applied) {
        request_resync(n);
    }
}
