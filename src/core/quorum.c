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
 * Not yet: quorum apps placed through the log (§4), leases, snapshots
 * (the log is never compacted, so after BATON_RAFT_LOG_MAX entries a
 * proposal is refused; nothing proposes yet but a new leader's no-op). */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

static bool wants_quorum(const struct baton_node_config *cfg)
{
    for (unsigned i = 0; i < cfg->n_apps; i++) {
        if (cfg->apps[i].mode == BATON_APP_QUORUM) {
            return true;
        }
    }
    return false;
}

/* Sends the group's messages, hands its write to the driver, and traces
 * a change of leader or term. */
static void carry(struct baton_node *n)
{
    const struct baton_raft_effects *rfx = &n->raft_fx;
    struct baton_effects *fx = n->fx;

    for (unsigned k = 0; k < rfx->n_msgs; k++) {
        struct baton_msg m;
        const struct baton_raft_msg *r = &rfx->msgs[k];
        if (r->to >= n->cfg.n_nodes || r->to == n->cfg.self) {
            continue;
        }
        memset(&m, 0, sizeof(m));
        m.type = BATON_MSG_RAFT;
        m.u.raft.m = *r;
        m.u.raft.m.from = (uint8_t)n->cfg.self;
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
}

int baton__quorum_init(struct baton_node *n, uint64_t seed)
{
    struct baton_raft_config rc;
    struct baton_raft_disk empty;
    int rv;

    n->quorum = wants_quorum(&n->cfg);
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
    int rv;

    if (!n->quorum) {
        /* Without a quorum app there is no group: a confirmation can
         * only be a driver's mistake. */
        return ev->type == BATON_EVENT_PERSISTED ? BATON_EINVAL : 0;
    }
    switch (ev->type) {
    case BATON_EVENT_TICK:
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
    if (baton_raft_receive(&n->raft, n->now_ms, &m->u.raft.m, &n->raft_fx) ==
        0) {
        carry(n);
    }
}

uint64_t baton__quorum_deadline(const struct baton_node *n)
{
    if (!n->quorum || n->raft_fx.deadline_ms == 0) {
        return UINT64_MAX;
    }
    /* A deadline already reached (the group was last called before it,
     * on another event) is due at once: the next millisecond. */
    return BATON_MAX(n->raft_fx.deadline_ms, n->now_ms + 1);
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
