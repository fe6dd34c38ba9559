/* Coordinator election, available mode: the role state machine and the
 * rule that picks what this node should be doing. See
 * docs/design/core.md §3. */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

/* Legal edges of the role machine. A coordinator never drops to SEEKING:
 * it keeps its group until it surrenders to a higher coordinator. */
static bool edge_legal(unsigned from, unsigned to)
{
    switch (from) {
    case BATON_ROLE_SEEKING:
        return to == BATON_ROLE_JOINING || to == BATON_ROLE_COORDINATOR;
    case BATON_ROLE_JOINING: /* may also retarget, JOINING -> JOINING */
        return to >= BATON_ROLE_SEEKING && to < BATON_ROLE__COUNT;
    case BATON_ROLE_FOLLOWER:
        return to == BATON_ROLE_SEEKING || to == BATON_ROLE_JOINING ||
               to == BATON_ROLE_COORDINATOR;
    case BATON_ROLE_COORDINATOR:
        return to == BATON_ROLE_JOINING;
    default:
        return false;
    }
}

void baton__set_role(struct baton_node *n, unsigned role, unsigned target)
{
    struct baton_trace *t;

    BATON_ASSERT(edge_legal(n->role, role));
    BATON_ASSERT(role == BATON_ROLE_SEEKING ||
                 role == BATON_ROLE_COORDINATOR ||
                 baton__is_candidate(n, target));
    if (n->role == BATON_ROLE_COORDINATOR) {
        /* Ops ordered before stepping down still reach the members. */
        baton__flush(n);
    }
    n->role = (uint8_t)role;
    n->target = (uint8_t)(role == BATON_ROLE_JOINING ||
                                  role == BATON_ROLE_FOLLOWER
                              ? target
                              : BATON_NODE_NONE);
    n->target_inc = n->target == BATON_NODE_NONE ? 0 : n->peers[target].inc;
    n->role_since_ms = n->now_ms;
    n->status_dirty = true;
    if (role == BATON_ROLE_COORDINATOR) {
        baton__names_changed(n); /* purge what our view rules out */
    }
    if (role == BATON_ROLE_FOLLOWER) {
        n->report_dirty = true; /* the new coordinator needs our apps */
    }
    t = baton__trace(n, BATON_TRACE_ROLE, n->target);
    t->role = (uint8_t)role;
    t->a = n->epoch;
    t->stream = n->stream;
    if (role == BATON_ROLE_JOINING) {
        n->join_first_seq = 0;
        baton__send_join(n);
    }
}

void baton__join_retry(struct baton_node *n)
{
    BATON_ASSERT(n->role == BATON_ROLE_JOINING);
    baton__send_join(n);
}

static void claim(struct baton_node *n)
{
    uint64_t term = BATON_MAX(n->term_seen, baton_epoch_term(n->epoch)) + 1;
    struct baton_op op = {0};

    BATON_ASSERT(baton__is_candidate(n, n->cfg.self) && n->synced);
    n->epoch = baton_epoch_make(term, n->cfg.self);
    n->term_seen = term;
    n->stream.coord = (uint8_t)n->cfg.self;
    n->stream.coord_inc = n->inc;
    n->stream.claim = n->epoch;
    n->applied = 0;
    n->counters.claims++;
    /* A new claim collects every member's app report afresh. */
    n->claim_ms = n->now_ms;
    memset(n->reports, 0, sizeof(n->reports));
    memset(n->app_deadline_ms, 0, sizeof(n->app_deadline_ms));
    memset(n->joined_ms, 0, sizeof(n->joined_ms));
    n->report_dirty = true;
    baton__set_role(n, BATON_ROLE_COORDINATOR, BATON_NODE_NONE);
    op.type = BATON_OP_COORD;
    op.node = (uint8_t)n->cfg.self;
    op.inc = n->inc;
    op.epoch = n->epoch;
    op.fresh = 1;
    baton__submit(n, &op);
}

/* A booting node is synced once a coordinator has welcomed it, or once it
 * has heard every peer and none of them coordinates (nobody to sync
 * from), or when its sync window has passed (docs/design/core.md §3.3). */
static void sync_check(struct baton_node *n)
{
    unsigned how = 0;
    bool heard_all = true;
    bool coord_alive = false;

    if (n->synced) {
        return;
    }
    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        const struct baton_peer *peer = &n->peers[p];
        if (p == n->cfg.self || !baton__slot_used(n, p)) {
            continue; /* a free slot has nobody to hear */
        }
        heard_all = heard_all && peer->heard && peer->alive;
        coord_alive = coord_alive ||
                      (peer->alive &&
                       peer->status.role == BATON_ROLE_COORDINATOR);
    }
    if (n->role == BATON_ROLE_FOLLOWER) {
        how = 1;
    } else if (heard_all && !coord_alive) {
        how = 2;
    } else if (n->now_ms >= n->boot_deadline_ms) {
        how = 3;
    }
    if (how != 0) {
        struct baton_trace *t = baton__trace(n, BATON_TRACE_SYNCED,
                                             BATON_NODE_NONE);
        t->reason = (uint8_t)how;
        n->synced = true;
        n->status_dirty = true;
    }
}

/* Is the live higher-priority candidate h still going to claim or join
 * something this node can see? One that follows (or joins) a coordinator
 * this node cannot reach is in another group and does not hold this node
 * back (bridge topologies, docs/design/core.md §3.4) -- but only once h
 * has kept saying so for a heartbeat after we lost that coordinator.
 * Before that, h has most likely lost it too and is about to claim:
 * claiming ourselves would only spend an epoch and churn the group. */
static bool blocks(const struct baton_node *n, unsigned h)
{
    const struct baton_peer *peer = &n->peers[h];
    const struct baton_status *st = &peer->status;
    const struct baton_peer *theirs;

    if (!st->synced || st->role == BATON_ROLE_SEEKING ||
        st->role == BATON_ROLE_COORDINATOR || st->coord == n->cfg.self) {
        return true;
    }
    theirs = &n->peers[st->coord];
    if (theirs->alive) {
        return true;
    }
    /* h has only just turned to that coordinator: its group is merging
     * into one across a heal that our links have not caught up with yet.
     * They get a detection window to come up before we claim apart
     * (docs/design/core.md §3.4: no claims during a merge). */
    if (n->now_ms < peer->coord_since_ms + baton_node_down_after_ms(n)) {
        return true;
    }
    return peer->status_ms < theirs->down_ms + n->cfg.heartbeat_ms;
}

#define WANT_NONE (BATON_NODE_NONE)

/* What this node should be doing now: the node id to follow, itself to
 * coordinate, or WANT_NONE to wait (docs/design/core.md §3.1). */
static unsigned decide(const struct baton_node *n)
{
    unsigned self = n->cfg.self;
    unsigned best = WANT_NONE; /* highest-priority live coordinator */
    bool blocked = false;

    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        const struct baton_peer *peer = &n->peers[p];
        if (p == self || !peer->alive || !baton__is_candidate(n, p)) {
            continue;
        }
        if (peer->status.role == BATON_ROLE_COORDINATOR && best == WANT_NONE) {
            best = p;
        }
        if (p < self && blocks(n, p)) {
            blocked = true;
        }
    }
    if (n->role == BATON_ROLE_COORDINATOR) {
        return (best != WANT_NONE && best < self) ? best : self;
    }
    if (baton__is_candidate(n, self) && n->synced) {
        if (best != WANT_NONE && best < self) {
            return best;
        }
        if (!blocked) {
            return self;
        }
    }
    return best;
}

void baton__evaluate(struct baton_node *n)
{
    unsigned want;

    sync_check(n);
    want = decide(n);
    if (want == n->cfg.self) {
        if (n->role != BATON_ROLE_COORDINATOR) {
            claim(n);
        }
        return;
    }
    if (want == WANT_NONE) {
        BATON_ASSERT(n->role != BATON_ROLE_COORDINATOR);
        if (n->role != BATON_ROLE_SEEKING) {
            baton__set_role(n, BATON_ROLE_SEEKING, BATON_NODE_NONE);
        }
        return;
    }
    if (n->target == want && n->target_inc == n->peers[want].inc) {
        const struct baton_status *st = &n->peers[want].status;
        if (n->role == BATON_ROLE_JOINING) {
            return;
        }
        /* A follower whose coordinator now runs another stream (it
         * stepped down and claimed again) must join that stream. */
        if (n->role == BATON_ROLE_FOLLOWER &&
            baton_stream_equal(&st->stream, &n->stream)) {
            return;
        }
    }
    baton__set_role(n, BATON_ROLE_JOINING, want);
}
