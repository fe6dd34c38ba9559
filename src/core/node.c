/* The step function: validation of inputs, timers and effects.
 * See docs/design/core.md. */
#include "../util/setup.h"

#include <stdio.h>
#include <string.h>

#include "../util/assert.h"
#include "../util/error.h"
#include "internal.h"

int baton_node_init(struct baton_node *n, const struct baton_node_config *cfg,
                    baton_inc inc, uint64_t seed, uint64_t now_ms)
{
    int rv;

    if (cfg->n_nodes < 1 || cfg->n_nodes > BATON_NODES_MAX ||
        cfg->self >= cfg->n_nodes || inc == 0) {
        return BATON_EINVAL;
    }
    memset(n, 0, sizeof(*n));
    n->cfg = *cfg;
    for (unsigned i = cfg->n_nodes; i < BATON_NODES_MAX; i++) {
        n->cfg.candidate[i] = 0;
    }
    /* The list is borrowed for init only. */
    rv = baton__members_init(n, cfg->members);
    n->cfg.members = NULL;
    if (rv != 0) {
        return rv;
    }
    baton_node_config_defaults(&n->cfg);
    n->inc = inc;
    baton_prng_seed(&n->prng, seed);
    n->now_ms = now_ms;
    n->last_step_ms = now_ms;
    n->role = BATON_ROLE_SEEKING;
    n->target = BATON_NODE_NONE;
    n->role_since_ms = now_ms;
    n->boot_deadline_ms = now_ms + n->cfg.sync_window_ms;
    /* A lone node has nobody to sync with. */
    n->synced = cfg->n_nodes == 1;
    n->hb_next_ms = now_ms;
    n->status_dirty = true;
    baton_state_init(&n->state, cfg->n_nodes);
    if (cfg->names_cap != 0 &&
        (cfg->names_slots == NULL || cfg->names_cap < 4 ||
         (cfg->names_cap & (cfg->names_cap - 1)) != 0)) {
        return BATON_EINVAL;
    }
    /* A full table must go out in at most BATON_SNAPSHOT_PARTS_MAX
     * parts (the bound on a step's sends). */
    if (baton_names_limit(cfg->names_cap) >
        (uint64_t)BATON_SNAPSHOT_PARTS_MAX * baton__names_part(cfg)) {
        return BATON_EINVAL;
    }
    baton_names_init(&n->names, cfg->names_slots, cfg->names_cap);
    baton_names_init(&n->own,
                     cfg->names_slots != NULL ? cfg->names_slots + cfg->names_cap
                                              : NULL,
                     cfg->names_cap);
    baton_names_init(&n->snap_names,
                     cfg->names_slots != NULL
                         ? cfg->names_slots + 2 * (size_t)cfg->names_cap
                         : NULL,
                     cfg->names_cap);
    n->snap_next = BATON_SNAP_NONE;
    n->pend_target = BATON_NODE_NONE;
    if (cfg->n_apps > BATON_APPS_MAX) {
        return BATON_EINVAL;
    }
    for (unsigned i = 0; i < cfg->n_apps; i++) {
        if (cfg->apps[i].name[0] == '\0' ||
            memchr(cfg->apps[i].name, '\0', sizeof(cfg->apps[i].name)) ==
                NULL) {
            return BATON_EINVAL;
        }
    }
    if (cfg->settings != NULL &&
        baton_settings_validate(cfg->settings, cfg->n_nodes) != 0) {
        return BATON_EINVAL;
    }
    baton__settings_init(n, cfg->settings);
    n->cfg.settings = NULL; /* borrowed for init only */
    baton__apps_init(n);
    for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
        n->peers[i].status.role = BATON_ROLE_SEEKING;
        n->peers[i].status.coord = BATON_NODE_NONE;
    }
    /* The disk is borrowed for init only. */
    rv = baton__quorum_init(n, seed);
    n->cfg.raft_disk = NULL;
    n->cfg.raft_snap = NULL;
    n->cfg.raft_snap_len = 0;
    return rv;
}

void baton_node_config_defaults(struct baton_node_config *cfg)
{
    if (cfg->max_drift_ppm == 0) {
        cfg->max_drift_ppm = BATON_DRIFT_PPM_DEFAULT;
    }
    if (cfg->heartbeat_ms == 0) {
        cfg->heartbeat_ms = BATON_HEARTBEAT_MS_DEFAULT;
    }
    if (cfg->heartbeat_miss == 0) {
        cfg->heartbeat_miss = BATON_HEARTBEAT_MISS_DEFAULT;
    }
    if (cfg->sync_window_ms == 0) {
        cfg->sync_window_ms = cfg->heartbeat_ms * cfg->heartbeat_miss;
    }
}

uint64_t baton_node_down_after_ms(const struct baton_node *n)
{
    return n->cfg.heartbeat_ms * n->cfg.heartbeat_miss;
}

struct baton_trace *baton__trace(struct baton_node *n, unsigned type,
                                 unsigned peer)
{
    static struct baton_trace sink; /* write-only overflow target */
    struct baton_effects *fx = n->fx;
    struct baton_trace *t;

    if (fx->n_trace == BATON_FX_TRACE_MAX) {
        fx->trace_dropped++;
        return memset(&sink, 0, sizeof(sink));
    }
    t = &fx->trace[fx->n_trace++];
    memset(t, 0, sizeof(*t));
    t->type = (uint8_t)type;
    t->peer = (uint8_t)peer;
    t->now_ms = n->now_ms;
    return t;
}

void baton__status_fill(const struct baton_node *n, struct baton_status *st)
{
    memset(st, 0, sizeof(*st));
    st->role = n->role;
    st->coord = n->role == BATON_ROLE_COORDINATOR ? (uint8_t)n->cfg.self
                                                  : n->target;
    st->synced = n->synced;
    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        if (n->peers[p].alive) {
            st->heard |= (uint64_t)1 << p;
        }
    }
    st->epoch = n->epoch;
    st->index = n->applied;
    if (n->role == BATON_ROLE_COORDINATOR ||
        n->role == BATON_ROLE_FOLLOWER) {
        st->stream = n->stream;
    }
}

void baton__send(struct baton_node *n, unsigned to, struct baton_msg *m)
{
    struct baton_effects *fx = n->fx;

    /* A MEMBERS message may go to a slot beyond our list (a node not
     * added yet); every other message goes to a member. */
    BATON_ASSERT(to < BATON_NODES_MAX && to != n->cfg.self);
    BATON_ASSERT(m->type == BATON_MSG_MEMBERS || baton__slot_used(n, to));
    /* The bound is sized for the worst step (node.h); overflowing it
     * would be a core bug, not bad input. */
    BATON_ASSERT(fx->n_send < BATON_FX_SEND_MAX);
    m->from = (uint8_t)n->cfg.self;
    m->to = (uint8_t)to;
    m->from_inc = n->inc;
    m->to_inc = n->peers[to].inc;
    m->seq = ++n->seq;
    baton__status_fill(n, &m->status);
    fx->send[fx->n_send++] = *m;
    n->counters.sent++;
}

void baton__send_heartbeat(struct baton_node *n, unsigned to)
{
    struct baton_msg m;

    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_HEARTBEAT;
    baton__send(n, to, &m);
}

static void broadcast_heartbeat(struct baton_node *n)
{
    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        if (p != n->cfg.self && n->peers[p].link_up &&
            baton__slot_used(n, p)) {
            baton__send_heartbeat(n, p);
        }
    }
}

/* Checks the status a sender announces: every combination that no
 * correct node can send is refused. */
static bool status_valid(const struct baton_node *n,
                         const struct baton_msg *m)
{
    const struct baton_status *st = &m->status;
    unsigned nn = n->cfg.n_nodes;

    if (st->synced > 1 || st->role < BATON_ROLE_SEEKING ||
        st->role >= BATON_ROLE__COUNT) {
        return false;
    }
    if (st->epoch != 0 && (baton_epoch_node(st->epoch) >= nn ||
                           baton_epoch_term(st->epoch) == 0)) {
        return false;
    }
    switch (st->role) {
    case BATON_ROLE_SEEKING:
        return st->coord == BATON_NODE_NONE;
    case BATON_ROLE_JOINING:
        return baton__is_candidate(n, st->coord) && st->coord != m->from;
    case BATON_ROLE_FOLLOWER:
        return baton__is_candidate(n, st->coord) && st->coord != m->from &&
               st->stream.coord == st->coord && st->stream.coord_inc != 0 &&
               baton_epoch_node(st->stream.claim) == st->coord;
    default: /* COORDINATOR */
        return baton__is_candidate(n, m->from) && st->coord == m->from &&
               st->stream.coord == m->from &&
               st->stream.coord_inc == m->from_inc &&
               baton_epoch_node(st->stream.claim) == m->from &&
               baton_epoch_term(st->stream.claim) != 0 &&
               baton_epoch_node(st->epoch) == m->from &&
               st->epoch >= st->stream.claim && st->index >= 1;
    }
}

static bool stream_from_sender(const struct baton_msg *m,
                               const struct baton_stream *s)
{
    return s->coord == m->from && s->coord_inc == m->from_inc &&
           baton_epoch_node(s->claim) == m->from &&
           baton_epoch_term(s->claim) != 0;
}

/* A state that records a newer life of the receiver or of the sender
 * than the ones talking is impossible for correct nodes (each knows its
 * own life best); accepting it would make the receiver's own ops stale
 * and its replica unusable. */
static bool state_plausible(const struct baton_node *n,
                            const struct baton_msg *m,
                            const struct baton_state *s)
{
    return s->n_nodes <= n->cfg.n_nodes &&
           baton_state_validate(s, s->n_nodes) == 0 &&
           s->nodes[n->cfg.self].inc <= n->inc &&
           s->nodes[m->from].inc <= m->from_inc;
}

/* A name entry naming a newer life of the receiver or the sender than
 * the ones talking is impossible, as for states. */
static bool entry_plausible(const struct baton_node *n,
                            const struct baton_msg *m,
                            const struct baton_name *e)
{
    return baton_name_validate(e, n->cfg.n_nodes) == 0 &&
           (e->owner != n->cfg.self || e->owner_inc <= n->inc) &&
           (e->owner != m->from || e->owner_inc <= m->from_inc);
}

static bool names_plausible(const struct baton_node *n,
                            const struct baton_msg *m,
                            const struct baton_names *t)
{
    if (t == NULL) {
        return true;
    }
    if (t->count > baton_names_limit(n->names.cap)) {
        return false;
    }
    for (uint32_t i = 0; i < t->cap; i++) {
        if (t->slot[i].used && !entry_plausible(n, m, &t->slot[i])) {
            return false;
        }
    }
    return true;
}

static bool name_ok(const char *name, size_t size)
{
    const char *end = memchr(name, '\0', size);

    return end != NULL && baton_name_check(name, (size_t)(end - name)) == 0;
}

static int names_body_check(const struct baton_node *n,
                            const struct baton_msg *m)
{
    switch (m->type) {
    case BATON_MSG_NAME_REQ: {
        const struct baton_name *e = &m->u.name_req.name;
        unsigned kind = m->u.name_req.kind;
        return kind >= BATON_NAME_REGISTER &&
                       kind < BATON_NAME__KIND_COUNT && e->endpoint != 0 &&
                       e->resolver < BATON_RESOLVE__COUNT &&
                       e->meta_len <= BATON_GNAME_META_MAX &&
                       (kind == BATON_NAME_DROP ||
                        name_ok(e->name, sizeof(e->name))) &&
                       m->u.name_req.first >= 1 &&
                       m->u.name_req.first <= m->u.name_req.req
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    }
    case BATON_MSG_NAME_REPLY:
        return m->u.name_reply.code < BATON_NAME_CODE__COUNT
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    case BATON_MSG_NAME_LOST:
        return m->u.name_lost.reason >= 1 &&
                       m->u.name_lost.reason < BATON_LOST__COUNT &&
                       name_ok(m->u.name_lost.name,
                               sizeof(m->u.name_lost.name))
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    case BATON_MSG_CALL:
        return name_ok(m->u.call.name, sizeof(m->u.call.name)) &&
                       m->u.call.caller < n->cfg.n_nodes &&
                       m->u.call.caller_inc != 0 &&
                       m->u.call.hops <= BATON_CALL_HOPS_MAX &&
                       (m->u.call.flags & ~BATON_CALL_WANTS_REPLY) == 0 &&
                       m->u.call.len <= BATON_CALL_DATA_MAX &&
                       (m->u.call.len == 0 || m->u.call.data != NULL)
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    case BATON_MSG_REPLY:
        return m->u.reply.code < BATON_NAME_CODE__COUNT &&
                       m->u.reply.len <= BATON_CALL_DATA_MAX &&
                       (m->u.reply.len == 0 || m->u.reply.data != NULL)
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    default:
        return BATON_REJECT_BAD_TYPE;
    }
}

static bool op_plausible(const struct baton_node *n,
                         const struct baton_msg *m, const struct baton_op *op)
{
    if (baton_op_validate(op, n->cfg.n_nodes) != 0) {
        return false;
    }
    switch (op->type) {
    case BATON_OP_NAME_SET:
        return entry_plausible(n, m, &op->name);
    case BATON_OP_NAME_DEL:
    case BATON_OP_NAME_PURGE:
        return true;
    case BATON_OP_COORD: /* only the sender coordinates its stream */
        return op->node == m->from && op->inc == m->from_inc;
    case BATON_OP_MERGE:
        return state_plausible(n, m, &op->other);
    default:
        return (op->node != n->cfg.self || op->inc <= n->inc) &&
               (op->node != m->from || op->inc <= m->from_inc);
    }
}

static bool reports_valid(const struct baton_node *n,
                          const struct baton_app_reports *r)
{
    if (r->n > BATON_APPS_MAX) {
        return false;
    }
    for (unsigned i = 0; i < r->n; i++) {
        const struct baton_app_report *p = &r->r[i];
        size_t len = strnlen(p->name, sizeof(p->name));
        if (len == 0 || len == sizeof(p->name) || p->flags > 7 ||
            p->run > BATON_LOCAL_STOPPING) {
            return false;
        }
        for (unsigned x = n->cfg.n_nodes; x < BATON_NODES_MAX; x++) {
            if (p->rank[x] != 0) {
                return false;
            }
        }
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(p->name, r->r[j].name) == 0) {
                return false;
            }
        }
    }
    return true;
}

/* A Raft message (quorum mode) as its codec gives it; what it means is
 * raft.c's to judge. */
static bool raft_plausible(const struct baton_msg *m)
{
    const struct baton_raft_msg *r = &m->u.raft.m;

    return r->from == m->from && r->to == m->to && baton_raft_msg_valid(r);
}

/* Returns the rejection reason for a message's body, or -1 if valid. */
static int body_check(const struct baton_node *n, const struct baton_msg *m)
{
    bool from_coord = m->status.role == BATON_ROLE_COORDINATOR;

    switch (m->type) {
    case BATON_MSG_HEARTBEAT:
        return -1;
    case BATON_MSG_JOIN:
        if (m->status.role != BATON_ROLE_JOINING ||
            m->status.coord != n->cfg.self) {
            return BATON_REJECT_BAD_FIELD;
        }
        return state_plausible(n, m, &m->u.join.replica) &&
                       names_plausible(n, m, m->u.join.names)
                   ? -1
                   : BATON_REJECT_BAD_STATE;
    case BATON_MSG_SNAPSHOT:
        if (!from_coord || !stream_from_sender(m, &m->u.snapshot.stream) ||
            m->u.snapshot.index == 0 ||
            m->u.snapshot.state.coord != m->from ||
            m->u.snapshot.state.coord_inc != m->from_inc) {
            return BATON_REJECT_BAD_FIELD;
        }
        return state_plausible(n, m, &m->u.snapshot.state) &&
                       names_plausible(n, m, m->u.snapshot.names)
                   ? -1
                   : BATON_REJECT_BAD_STATE;
    case BATON_MSG_OP:
        if (!from_coord || !stream_from_sender(m, &m->u.op.stream) ||
            m->u.op.index == 0) {
            return BATON_REJECT_BAD_FIELD;
        }
        return op_plausible(n, m, &m->u.op.op) ? -1 : BATON_REJECT_BAD_OP;
    case BATON_MSG_RESYNC:
        return m->status.role == BATON_ROLE_FOLLOWER
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    case BATON_MSG_REPORT:
        return reports_valid(n, &m->u.report) ? -1 : BATON_REJECT_BAD_FIELD;
    case BATON_MSG_STATE: {
        size_t len = strnlen(m->u.state.name, sizeof(m->u.state.name));
        return len > 0 && len < sizeof(m->u.state.name) &&
                       m->u.state.ok <= 1 &&
                       m->u.state.len <= BATON_STATE_MAX &&
                       (m->u.state.len == 0 || m->u.state.data != NULL) &&
                       m->u.state.epoch != 0
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    }
    case BATON_MSG_RAFT:
        return raft_plausible(m) ? -1 : BATON_REJECT_BAD_FIELD;
    case BATON_MSG_ADMIN:
        return m->u.admin.id != 0 && m->u.admin.kind >= BATON_ADMIN_MOVE &&
                       m->u.admin.kind < BATON_ADMIN__KIND_COUNT &&
                       memchr(m->u.admin.name, '\0', sizeof(m->u.admin.name)) !=
                           NULL
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    case BATON_MSG_ADMIN_REPLY:
        return m->u.admin_reply.code < BATON_ADMIN_CODE__COUNT &&
                       m->u.admin_reply.status < BATON_APP__COUNT &&
                       (m->u.admin_reply.owner == BATON_NODE_NONE ||
                        m->u.admin_reply.owner < n->cfg.n_nodes) &&
                       (m->u.admin_reply.pin == BATON_NODE_NONE ||
                        m->u.admin_reply.pin < n->cfg.n_nodes)
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    case BATON_MSG_SETTINGS:
        return baton_settings_validate(&m->u.settings, n->cfg.n_nodes) == 0
                   ? -1
                   : BATON_REJECT_BAD_FIELD;
    default:
        return names_body_check(n, m);
    }
}

static int header_check(const struct baton_node *n,
                        const struct baton_msg *m)
{
    const struct baton_peer *p;

    if (m->from >= n->cfg.n_nodes || m->from == n->cfg.self) {
        return BATON_REJECT_UNKNOWN_NODE;
    }
    if (m->to != n->cfg.self) {
        return BATON_REJECT_MISROUTED;
    }
    /* MEMBERS never gets here: on_receive hands it to membership.c. */
    if (m->type < BATON_MSG_HEARTBEAT || m->type >= BATON_MSG__COUNT ||
        m->type == BATON_MSG_MEMBERS) {
        return BATON_REJECT_BAD_TYPE;
    }
    if (m->from_inc == 0 || m->seq == 0 || !status_valid(n, m)) {
        return BATON_REJECT_BAD_FIELD;
    }
    p = &n->peers[m->from];
    /* The replica may know a newer life than the peer table (learnt
     * through a merge); either way an older life is over. */
    if (m->from_inc < p->inc ||
        m->from_inc < n->state.nodes[m->from].inc) {
        return BATON_REJECT_STALE_INC;
    }
    /* A heartbeat only describes its sender, so it is good whichever of
     * our lives it was meant for (the sender may not know we restarted
     * yet). Everything else answers or continues a conversation with one
     * life of ours, and is void for any other. */
    if (m->to_inc != 0 && m->to_inc != n->inc &&
        m->type != BATON_MSG_HEARTBEAT) {
        return BATON_REJECT_STALE_DST;
    }
    if (!p->link_up) {
        return BATON_REJECT_NO_LINK;
    }
    return -1;
}

void baton__reject(struct baton_node *n, const struct baton_msg *m,
                   int reason)
{
    struct baton_trace *t;

    n->counters.rejected[reason]++;
    t = baton__trace(n, BATON_TRACE_REJECTED,
                     m->from < n->cfg.n_nodes ? m->from : BATON_NODE_NONE);
    t->reason = (uint8_t)reason;
    t->a = m->type;
    t->b = m->from;
}

static void on_receive(struct baton_node *n, const struct baton_msg *m)
{
    int reason;
    unsigned p = m->from;

    /* Live membership (membership.md §2): lists first, and nothing else
     * from a peer whose list is not ours. */
    if (m->type == BATON_MSG_MEMBERS) {
        baton__members_on_msg(n, m);
        return;
    }
    if (!baton__members_gate(n, m)) {
        return;
    }
    reason = header_check(n, m);
    if (reason < 0) {
        reason = body_check(n, m);
    }
    if (reason >= 0) {
        baton__reject(n, m, reason);
        return;
    }
    n->counters.received++;
    if (m->from_inc > n->peers[p].inc) {
        baton__peer_new_life(n, p, m->from_inc);
    }
    /* Only a message newer than every one heard is news that its sender
     * is alive: one overtaken on the way (a network that reorders) was
     * sent before what we know already, and must neither restart the
     * detection window nor bring a peer declared down back up. From a
     * peer declared down it is void: what it says was superseded. */
    if (m->seq > n->peers[p].last_seq) {
        baton__peer_heard(n, p);
    } else if (!n->peers[p].alive) {
        return;
    }
    baton__peer_status(n, p, m);
    switch (m->type) {
    case BATON_MSG_JOIN:
        baton__on_join(n, m);
        break;
    case BATON_MSG_SNAPSHOT:
        baton__on_snapshot(n, m);
        break;
    case BATON_MSG_OP:
        baton__on_op(n, m);
        break;
    case BATON_MSG_RESYNC:
        baton__on_resync(n, m);
        break;
    case BATON_MSG_REPORT:
        baton__apps_on_report(n, m);
        break;
    case BATON_MSG_STATE:
        baton__apps_on_state(n, m);
        break;
    case BATON_MSG_NAME_REQ:
    case BATON_MSG_NAME_REPLY:
    case BATON_MSG_NAME_LOST:
    case BATON_MSG_CALL:
    case BATON_MSG_REPLY:
        baton__names_on_msg(n, m);
        break;
    case BATON_MSG_RAFT:
        baton__quorum_on_msg(n, m);
        break;
    case BATON_MSG_ADMIN:
    case BATON_MSG_ADMIN_REPLY:
    case BATON_MSG_SETTINGS:
        baton__settings_on_msg(n, m);
        break;
    default:
        baton__check_tail(n, p);
        break;
    }
}

/* A step that comes much later than the node's own timers asked for
 * means this process was paused (SIGSTOP, swapping, a debugger). The
 * silence it measured is its own, not its peers': give every live peer a
 * fresh detection window instead of declaring them all down (Sentinel's
 * TILT). */
static void tilt_check(struct baton_node *n)
{
    uint64_t gap = n->now_ms - n->last_step_ms;
    struct baton_trace *t;

    if (gap <= 2 * n->cfg.heartbeat_ms) {
        return;
    }
    n->counters.tilts++;
    t = baton__trace(n, BATON_TRACE_TILT, BATON_NODE_NONE);
    t->a = gap;
    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        if (n->peers[p].alive) {
            n->peers[p].last_heard_ms = n->now_ms;
        }
        n->peers[p].linked_ms = n->now_ms;
    }
}

static void timers(struct baton_node *n)
{
    baton__detect_failures(n);
    if (n->role == BATON_ROLE_JOINING && n->now_ms >= n->join_next_ms) {
        baton__join_retry(n);
    }
}

static uint64_t next_deadline(const struct baton_node *n)
{
    uint64_t d = baton__detect_deadline(n, n->hb_next_ms);
    if (n->role == BATON_ROLE_JOINING) {
        d = BATON_MIN(d, n->join_next_ms);
    }
    if (!n->synced) {
        d = BATON_MIN(d, n->boot_deadline_ms);
    }
    d = BATON_MIN(d, baton__apps_deadline(n));
    d = BATON_MIN(d, baton__names_deadline(n));
    d = BATON_MIN(d, baton__quorum_deadline(n));
    d = BATON_MIN(d, baton__settings_deadline(n));
    BATON_ASSERT(d > n->now_ms);
    return d;
}

static bool member_req(const struct baton_event *ev)
{
    return ev->type == BATON_EVENT_REQUEST &&
           (ev->what == BATON_REQ_MEMBER_ADD ||
            ev->what == BATON_REQ_MEMBER_REMOVE);
}

int baton_node_step(struct baton_node *n, const struct baton_event *ev,
                    struct baton_effects *fx)
{
    fx->n_send = 0;
    fx->n_trace = 0;
    fx->n_app = 0;
    fx->n_name = 0;
    fx->name_dropped = 0;
    fx->n_call = 0;
    fx->n_admin = 0;
    fx->settings = NULL;
    fx->reset = 0;
    fx->trace_dropped = 0;
    memset(&fx->raft_write, 0, sizeof(fx->raft_write));
    memset(&fx->raft_snapshot, 0, sizeof(fx->raft_snapshot));
    fx->deadline_ms = 0;
    fx->members_changed = false;
    fx->member_result = 0;
    if (ev->now_ms < n->now_ms) {
        return BATON_EINVAL;
    }
    if (ev->type < BATON_EVENT_TICK || ev->type > BATON_EVENT_ADMIN) {
        return BATON_EINVAL;
    }
    if ((ev->type == BATON_EVENT_APP || ev->type == BATON_EVENT_EXPORTED ||
         (ev->type == BATON_EVENT_REQUEST && ev->what != BATON_REQ_RELEASE &&
          ev->what != BATON_REQ_HOLD && ev->what != BATON_REQ_DEFINE &&
          !member_req(ev))) &&
        ev->app >= n->cfg.n_apps) {
        return BATON_EINVAL;
    }
    if ((ev->type == BATON_EVENT_LINK_UP ||
         ev->type == BATON_EVENT_LINK_DOWN) &&
        (ev->peer >= BATON_NODES_MAX || ev->peer == n->cfg.self)) {
        return BATON_EINVAL;
    }
    if (ev->type == BATON_EVENT_RECEIVE && ev->msg == NULL) {
        return BATON_EINVAL;
    }
    n->fx = fx;
    n->now_ms = ev->now_ms;
    if (!n->started) {
        struct baton_trace *t = baton__trace(n, BATON_TRACE_BOOT,
                                             BATON_NODE_NONE);
        t->a = n->inc;
        n->started = true;
    }
    tilt_check(n);
    /* Leases first: a node woken from a pause stops what it may no
     * longer run before anything else (quorum.md §4.4). */
    baton__quorum_leases(n);
    switch (ev->type) {
    case BATON_EVENT_LINK_UP:
        n->peers[ev->peer].link_up = true;
        n->peers[ev->peer].linked_ms = n->now_ms;
        baton__members_link_up(n, ev->peer);
        /* Tell the new peer who we are at once, not a heartbeat later. */
        if (baton__slot_used(n, ev->peer) && !n->removed) {
            baton__send_heartbeat(n, ev->peer);
        }
        break;
    case BATON_EVENT_LINK_DOWN:
        n->peers[ev->peer].link_up = false;
        n->peers[ev->peer].mknown = false;
        baton__peer_down(n, ev->peer, BATON_DOWN_LINK);
        break;
    case BATON_EVENT_RECEIVE:
        on_receive(n, ev->msg);
        break;
    case BATON_EVENT_APP:
    case BATON_EVENT_REQUEST:
    case BATON_EVENT_EXPORTED:
        if (member_req(ev)) {
            baton__members_request(n, ev);
        } else if (baton__apps_event(n, ev) != 0) {
            n->fx = NULL;
            return BATON_EINVAL;
        }
        break;
    case BATON_EVENT_NAME:
    case BATON_EVENT_CALL:
    case BATON_EVENT_REPLY:
        if (baton__names_event(n, ev) != 0) {
            n->fx = NULL;
            return BATON_EINVAL;
        }
        break;
    case BATON_EVENT_ADMIN:
        if (baton__admin_event(n, ev) != 0) {
            n->fx = NULL;
            return BATON_EINVAL;
        }
        break;
    default:
        break;
    }
    if (baton__quorum_event(n, ev) != 0) {
        /* A PERSISTED on a node without a Raft group: a driver's
         * mistake, refused like an event for an unknown app. */
        n->fx = NULL;
        return BATON_EINVAL;
    }
    if (n->removed) {
        /* Out of the cluster (membership.md §2): nothing to decide, send
         * or time out; only a list that has it again brings it back. */
        fx->deadline_ms = n->now_ms + n->cfg.heartbeat_ms;
        n->last_step_ms = n->now_ms;
        n->fx = NULL;
        return 0;
    }
    timers(n);
    baton__evaluate(n);
    baton__apps_step(n);
    baton__quorum_leases(n);
    baton__quorum_fence(n);
    baton__names_step(n);
    baton__flush(n);
    baton__send_snapshots(n);
    if (n->status_dirty || n->now_ms >= n->hb_next_ms) {
        broadcast_heartbeat(n);
        /* The report rides along with every heartbeat: one that was lost
         * is repaired within an interval. */
        baton__apps_report(n, true);
        n->status_dirty = false;
        n->hb_next_ms = n->now_ms + n->cfg.heartbeat_ms;
    } else {
        baton__apps_report(n, false);
    }
    fx->deadline_ms = next_deadline(n);
    n->last_step_ms = n->now_ms;
    n->fx = NULL;
    return 0;
}

unsigned baton_node_coordinator(const struct baton_node *n)
{
    if (n->role == BATON_ROLE_COORDINATOR) {
        return n->cfg.self;
    }
    return n->role == BATON_ROLE_FOLLOWER ? n->target : BATON_NODE_NONE;
}

bool baton_node_is_coordinator(const struct baton_node *n)
{
    return n->role == BATON_ROLE_COORDINATOR;
}

bool baton_node_candidate(const struct baton_node *n, unsigned id)
{
    return baton__is_candidate(n, id);
}
