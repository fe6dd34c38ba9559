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
 * Not yet: leases (a granted app is not started: it runs nowhere until
 * the owner holds a lease, quorum.md §4), the failover timeout and the
 * wait for an old owner's lease before a grant moves (nothing runs, so
 * a move is harmless today), snapshots (the log is never compacted, so
 * after BATON_RAFT_LOG_MAX entries a proposal is refused). */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

/* A grant entry: kind, owner, two bytes zero, the app's name padded
 * with zeros. Its index in the log is its epoch. The leader's no-op is
 * the empty entry. */
#define GRANT_KIND 1
#define GRANT_NAME 4
#define GRANT_LEN (GRANT_NAME + BATON_APP_NAME_MAX + 1)
_Static_assert(GRANT_LEN <= BATON_RAFT_DATA_MAX, "a grant fits an entry");

static uint32_t grant_encode(uint8_t *buf, const char *name, unsigned owner)
{
    memset(buf, 0, GRANT_LEN);
    buf[0] = GRANT_KIND;
    buf[1] = (uint8_t)owner;
    memcpy(buf + GRANT_NAME, name, strnlen(name, BATON_APP_NAME_MAX));
    return GRANT_LEN;
}

/* The app of cfg.apps a grant entry names, and its owner; false if the
 * entry is no grant or names an app this node does not define. */
static bool grant_decode(const struct baton_node *n,
                         const struct baton_raft_entry *e,
                         unsigned *app,
                         unsigned *owner)
{
    if (e->len != GRANT_LEN || e->data[0] != GRANT_KIND ||
        e->data[GRANT_LEN - 1] != 0 ||
        (e->data[1] >= n->cfg.n_nodes && e->data[1] != BATON_NODE_NONE)) {
        return false;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (strcmp(n->cfg.apps[i].name, (const char *)e->data + GRANT_NAME) ==
            0) {
            *app = i;
            *owner = e->data[1];
            return true;
        }
    }
    return false;
}

/* Applies the committed entries not applied yet, in log order. */
static void apply_grants(struct baton_node *n)
{
    while (n->grants_applied < n->raft.commit) {
        uint64_t x = n->grants_applied + 1;
        const struct baton_raft_entry *e = baton_raft_entry_at(&n->raft, x);
        unsigned app, owner;
        /* Compacted before it was applied: the log is not compacted
         * before snapshots carry the table (§9), so this cannot happen
         * yet. */
        BATON_ASSERT(e != NULL);
        if (grant_decode(n, e, &app, &owner)) {
            struct baton_trace *t = baton__trace(n, BATON_TRACE_RAFT, owner);
            n->grants[app].owner = (uint8_t)owner;
            n->grants[app].epoch = x;
            t->role = n->raft.role;
            t->a = n->raft.term;
            t->b = n->raft.commit;
            t->c = x;
            memcpy(t->app, n->cfg.apps[app].name, sizeof(t->app));
        }
        n->grants_applied = x;
    }
}

/* Leader: the quorum app to grant anew and to whom (false: none). Only
 * once everything in the log is committed and applied. */
static bool grant_wanted(const struct baton_node *n,
                         unsigned *app,
                         unsigned *owner)
{
    if (!n->quorum || n->raft.role != BATON_RAFT_LEADER ||
        n->raft.commit != baton_raft_last_index(&n->raft) ||
        n->grants_applied != n->raft.commit ||
        n->grant_refused_at == n->raft.commit) {
        return false;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        const struct baton_app_config *c = &n->cfg.apps[i];
        const struct baton_grant *g = &n->grants[i];
        struct baton_state_app e;
        unsigned t;
        if (c->mode != BATON_APP_QUORUM) {
            continue;
        }
        /* The grant as an app of the state, so that the placement rule
         * keeps it where it is granted when it may stay there. */
        memset(&e, 0, sizeof(e));
        memcpy(e.name, c->name, sizeof(e.name));
        memcpy(e.rank, c->rank, sizeof(e.rank));
        e.failover_timeout_ms = c->failover_timeout_ms;
        e.status =
            g->owner != BATON_NODE_NONE ? BATON_APP_RUNNING : BATON_APP_IDLE;
        e.owner = g->owner;
        e.from = e.prev = BATON_NODE_NONE;
        t = baton__apps_place(n, &e, BATON_NODE_NONE);
        if (t != BATON_NODE_NONE && t != g->owner) {
            *app = i;
            *owner = t;
            return true;
        }
    }
    return false;
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
    apply_grants(n);
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
         * a grant due is proposed instead of the tick, which the group
         * then asks for again a millisecond later. */
        if (grant_wanted(n, &app, &owner)) {
            uint8_t buf[GRANT_LEN];
            uint32_t len = grant_encode(buf, n->cfg.apps[app].name, owner);
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
    if (baton_raft_receive(&n->raft, n->now_ms, &m->u.raft.m, &n->raft_fx) ==
        0) {
        carry(n);
    }
}

uint64_t baton__quorum_deadline(const struct baton_node *n)
{
    unsigned app, owner;

    if (!n->quorum) {
        return UINT64_MAX;
    }
    if (grant_wanted(n, &app, &owner)) {
        return n->now_ms + 1; /* proposed at the next tick */
    }
    if (n->raft_fx.deadline_ms == 0) {
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
