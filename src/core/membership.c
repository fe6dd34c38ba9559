/* Membership and failure detection: which peers are alive, in which
 * life, and what they say they are doing. See docs/design/core.md §2. */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

void baton__peer_heard(struct baton_node *n, unsigned p)
{
    struct baton_peer *peer = &n->peers[p];

    peer->last_heard_ms = n->now_ms;
    peer->heard = true;
    if (!peer->alive) {
        struct baton_trace *t = baton__trace(n, BATON_TRACE_PEER_UP, p);
        t->a = peer->inc;
        peer->alive = true;
        /* A peer that just came (back) up learns our status now rather
         * than a heartbeat later: that is what makes a booting node find
         * the coordinator within a round trip. */
        baton__send_heartbeat(n, p);
    }
}

void baton__peer_down(struct baton_node *n, unsigned p, unsigned reason)
{
    struct baton_peer *peer = &n->peers[p];
    struct baton_trace *t;

    if (!peer->alive) {
        return;
    }
    peer->alive = false;
    peer->down_ms = n->now_ms;
    peer->linked_ms = n->now_ms; /* an unheard link's window starts */
    t = baton__trace(n, BATON_TRACE_PEER_DOWN, p);
    t->reason = (uint8_t)reason;
    t->a = peer->inc;
    t->b = n->now_ms - peer->last_heard_ms;
    /* A link that carries nothing for a detection window is stalled
     * (a cut network: TCP retransmits with exponential backoff, for
     * minutes) or its peer is frozen. Waiting on it would make recovery
     * after a heal wait on the kernel's next retransmission, seconds
     * later: the driver closes it and redials at once instead
     * (docs/design/core.md §2). */
    if (reason == BATON_DOWN_SILENT) {
        n->fx->reset |= UINT32_C(1) << p;
    }
    baton__names_changed(n); /* its names go (docs/design/names.md §2) */
    baton__member_gone(n, p);
    if ((n->role == BATON_ROLE_JOINING || n->role == BATON_ROLE_FOLLOWER) &&
        n->target == p) {
        baton__set_role(n, BATON_ROLE_SEEKING, BATON_NODE_NONE);
    }
}

void baton__peer_new_life(struct baton_node *n, unsigned p, baton_inc inc)
{
    struct baton_peer *peer = &n->peers[p];

    BATON_ASSERT(inc > peer->inc);
    if (peer->inc != 0) {
        struct baton_trace *t =
            baton__trace(n, BATON_TRACE_PEER_RESTARTED, p);
        t->a = peer->inc;
        t->b = inc;
        /* The previous life is over: whatever it was doing ends now. */
        baton__peer_down(n, p, BATON_DOWN_RESTART);
    }
    peer->inc = inc;
    baton__names_changed(n); /* the old life's names go */
    peer->last_seq = 0;
    peer->status_seq = 0;
    peer->join_seq = 0;
    memset(&peer->status, 0, sizeof(peer->status));
    peer->status.role = BATON_ROLE_SEEKING;
    peer->status.coord = BATON_NODE_NONE;
}

/* A member's status tells the coordinator whether it still follows; one
 * that follows someone else (or nobody) leaves the group. */
static bool still_follows_me(const struct baton_node *n,
                             const struct baton_status *st)
{
    if (st->coord != n->cfg.self) {
        return false;
    }
    if (st->role == BATON_ROLE_JOINING) {
        return true;
    }
    return st->role == BATON_ROLE_FOLLOWER &&
           baton_stream_equal(&st->stream, &n->stream);
}

void baton__peer_status(struct baton_node *n, unsigned p,
                        const struct baton_msg *m)
{
    struct baton_peer *peer = &n->peers[p];

    peer->last_seq = BATON_MAX(peer->last_seq, m->seq);
    if (m->status.epoch != 0) {
        n->term_seen =
            BATON_MAX(n->term_seen, baton_epoch_term(m->status.epoch));
    }
    /* Messages may arrive out of order: only a newer message may change
     * what we believe the peer is doing. */
    if (m->seq <= peer->status_seq) {
        return;
    }
    peer->status_seq = m->seq;
    if (m->status.coord != peer->status.coord) {
        peer->coord_since_ms = n->now_ms; /* election.c: blocks() */
    }
    peer->status = m->status;
    peer->status_ms = n->now_ms;
    if (n->role == BATON_ROLE_COORDINATOR && n->state.nodes[p].member &&
        !still_follows_me(n, &m->status)) {
        baton__member_gone(n, p);
    }
}

void baton__detect_failures(struct baton_node *n)
{
    uint64_t down_after = baton_node_down_after_ms(n);

    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        struct baton_peer *peer = &n->peers[p];
        if (!baton__slot_used(n, p)) {
            continue; /* a free slot is nobody's link to watch */
        }
        if (peer->alive && n->now_ms - peer->last_heard_ms >= down_after) {
            baton__peer_down(n, p, BATON_DOWN_SILENT);
        } else if (!peer->alive && peer->link_up &&
                   n->now_ms - peer->linked_ms >= down_after) {
            /* A link that came up but carried nothing for a whole
             * window stalled as soon as it was made (a cut right after
             * the handshake): the peer is already down, but its link
             * needs the same reset, once per window. */
            n->fx->reset |= UINT32_C(1) << p;
            peer->linked_ms = n->now_ms;
        }
    }
}

uint64_t baton__detect_deadline(const struct baton_node *n, uint64_t d)
{
    uint64_t down_after = baton_node_down_after_ms(n);

    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        const struct baton_peer *peer = &n->peers[p];
        if (!baton__slot_used(n, p)) {
            continue;
        }
        if (peer->alive) {
            d = BATON_MIN(d, peer->last_heard_ms + down_after);
        } else if (peer->link_up) {
            d = BATON_MIN(d, peer->linked_ms + down_after);
        }
    }
    return d;
}

uint64_t baton_node_dial_timeout_ms(const struct baton_node *n)
{
    return baton_node_down_after_ms(n) / 2;
}

/* ---- live membership (docs/design/membership.md) -------------------- */

bool baton__slot_used(const struct baton_node *n, unsigned p)
{
    return p < n->members.n_slots &&
           n->members.slot[p].kind != BATON_MEMBER_FREE;
}

int baton__members_init(struct baton_node *n,
                        const struct baton_members *given)
{
    struct baton_members *l = &n->members;

    if (given != NULL) {
        if (baton_members_validate(given) != 0 ||
            given->n_slots != n->cfg.n_nodes ||
            given->slot[n->cfg.self].kind == BATON_MEMBER_FREE) {
            return BATON_EINVAL;
        }
        *l = *given;
        for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
            n->cfg.candidate[i] =
                l->slot[i].kind == BATON_MEMBER_CANDIDATE ? 1 : 0;
        }
    } else {
        /* The seed list of a driver that never changes membership: its
         * nodes are named by their index. */
        memset(l, 0, sizeof(*l));
        l->n_slots = (uint8_t)n->cfg.n_nodes;
        for (unsigned i = 0; i < n->cfg.n_nodes; i++) {
            l->slot[i].kind = n->cfg.candidate[i] ? BATON_MEMBER_CANDIDATE
                                                  : BATON_MEMBER_WORKER;
            l->slot[i].name[0] = (char)('0' + i / 10);
            l->slot[i].name[1] = (char)('0' + i % 10);
        }
    }
    n->members_digest = baton_members_digest(l);
    return 0;
}

const struct baton_members *baton_node_members(const struct baton_node *n)
{
    return &n->members;
}

static struct baton_trace *trace_members(struct baton_node *n, unsigned what,
                                         unsigned peer, uint64_t version)
{
    struct baton_trace *t = baton__trace(n, BATON_TRACE_MEMBERS, peer);

    t->reason = (uint8_t)what;
    t->a = version;
    t->b = n->members.version;
    return t;
}

static void send_members(struct baton_node *n, unsigned p, bool reply)
{
    struct baton_msg m;

    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_MEMBERS;
    m.u.members.reply = reply ? 1 : 0;
    m.u.members.list = &n->members;
    baton__send(n, p, &m);
    if (reply) {
        n->peers[p].mtold_ms = n->now_ms;
    }
}

/* An answer at most once per heartbeat interval and link: a peer that
 * keeps talking with another list gets ours again, not a flood. */
static void answer_members(struct baton_node *n, unsigned p)
{
    struct baton_peer *peer = &n->peers[p];

    if (peer->mtold_ms == 0 ||
        n->now_ms >= peer->mtold_ms + n->cfg.heartbeat_ms) {
        send_members(n, p, true);
    }
}

static void broadcast_members(struct baton_node *n)
{
    for (unsigned p = 0; p < BATON_NODES_MAX; p++) {
        if (p != n->cfg.self && n->peers[p].link_up) {
            send_members(n, p, false);
        }
    }
}

void baton__members_link_up(struct baton_node *n, unsigned p)
{
    struct baton_peer *peer = &n->peers[p];

    peer->mknown = false;
    peer->mtold_ms = 0;
    /* The seed list is vouched for by the handshake (both sides'
     * [nodes] digests agree); a changed one is told first, before any
     * other message of this link, which TCP keeps in order. */
    if (n->members.version != 0) {
        send_members(n, p, false);
    }
    if (!baton__slot_used(n, p)) {
        /* A link from outside the list: a removed node that came back
         * unchanged, or one not added yet. Said once per link, naming
         * it (the driver's log), whether or not it speaks again. */
        trace_members(n, BATON_MEMBERS_NOT_MEMBER, p, 0);
        peer->mtold_ms = n->now_ms;
    }
}

/* Does peer p hold our list, as far as we know? An unknown list is the
 * seed list when ours is too: the handshake compared those. */
static bool agrees(const struct baton_node *n, unsigned p)
{
    const struct baton_peer *peer = &n->peers[p];

    if (!peer->mknown) {
        return n->members.version == 0;
    }
    return peer->mver == n->members.version &&
           peer->mdigest == n->members_digest;
}

bool baton__members_gate(struct baton_node *n, const struct baton_msg *m)
{
    unsigned p = m->from;

    if (n->removed) {
        return false;
    }
    if (p >= BATON_NODES_MAX || p == n->cfg.self || m->to != n->cfg.self ||
        !n->peers[p].link_up) {
        return true; /* header_check rejects it, naming why */
    }
    if (!baton__slot_used(n, p)) {
        /* A removed node that came back unchanged, or one started before
         * it was added: tell it our list (it learns it is out, or waits
         * to be added) and say so, once per link. */
        if (n->peers[p].mtold_ms == 0) {
            trace_members(n, BATON_MEMBERS_NOT_MEMBER, p, 0);
        }
        answer_members(n, p);
        return false;
    }
    if (!agrees(n, p)) {
        answer_members(n, p);
        return false;
    }
    return true;
}

static bool list_newer(uint64_t v, uint64_t d, const struct baton_node *n)
{
    return v > n->members.version ||
           (v == n->members.version && v != 0 && d > n->members_digest);
}

static void stop_everything(struct baton_node *n)
{
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        uint8_t run = n->local[i].run;
        if (run == BATON_LOCAL_STARTING || run == BATON_LOCAL_RUNNING) {
            baton__apps_local(n, i, false, 0);
        }
    }
    for (unsigned p = 0; p < BATON_NODES_MAX; p++) {
        if (p != n->cfg.self) {
            baton__peer_down(n, p, BATON_DOWN_REMOVED);
        }
    }
}

/* The consequences of a new list (old: the one it replaces): slots that
 * became free are peers lost for good, slots that became used are new
 * peers, and the index space only grows (membership.md §4). */
static void apply_change(struct baton_node *n, const struct baton_members *old)
{
    const struct baton_members *l = &n->members;

    if (l->n_slots > n->cfg.n_nodes) {
        n->cfg.n_nodes = l->n_slots;
        baton_state_widen(&n->state, n->cfg.n_nodes);
    }
    for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
        const struct baton_member *was = &old->slot[i];
        const struct baton_member *is = &l->slot[i];
        bool gone = was->kind != BATON_MEMBER_FREE &&
                    (is->kind == BATON_MEMBER_FREE ||
                     strcmp(was->name, is->name) != 0);
        if (i == n->cfg.self) {
            continue;
        }
        n->cfg.candidate[i] = is->kind == BATON_MEMBER_CANDIDATE ? 1 : 0;
        if (gone) {
            /* Like a node loss (its apps fail over, its names go), and
             * for good: the slot is free now. */
            baton__peer_down(n, i, BATON_DOWN_REMOVED);
            baton__member_gone(n, i);
            n->peers[i].heard = false;
        }
    }
    n->cfg.candidate[n->cfg.self] =
        l->slot[n->cfg.self].kind == BATON_MEMBER_CANDIDATE ? 1 : 0;
    n->members_digest = baton_members_digest(l);
    n->fx->members_changed = true;
    n->status_dirty = true;
    baton__names_changed(n);
}

static void adopt(struct baton_node *n, unsigned p,
                  const struct baton_members *l)
{
    struct baton_members old;
    int self = baton_members_find(l, n->members.slot[n->cfg.self].name);

    if (self < 0) {
        /* This node was removed: it takes part in nothing from now on
         * (its peers have failed its apps over and dropped its names),
         * until a list that has it again arrives. */
        if (!n->removed) {
            trace_members(n, BATON_MEMBERS_REMOVED, p, l->version);
            n->removed = true;
            n->fx->members_changed = true;
            stop_everything(n);
        }
        return;
    }
    if ((unsigned)self != n->cfg.self) {
        /* Our index moved: a node cannot renumber itself while it runs.
         * It refuses the list; the operator restarts it with the list
         * (membership.md §5). */
        trace_members(n, BATON_MEMBERS_DIFFERS, p, l->version);
        return;
    }
    old = n->members;
    n->members = *l;
    n->removed = false;
    trace_members(n, BATON_MEMBERS_ADOPTED, p, l->version);
    apply_change(n, &old);
    broadcast_members(n);
}

void baton__members_on_msg(struct baton_node *n, const struct baton_msg *m)
{
    unsigned p = m->from;
    const struct baton_members *l = m->u.members.list;
    struct baton_peer *peer;
    uint64_t d;

    if (p >= BATON_NODES_MAX || p == n->cfg.self || m->to != n->cfg.self ||
        m->from_inc == 0 || !n->peers[p].link_up || l == NULL ||
        m->u.members.reply > 1 || baton_members_validate(l) != 0) {
        baton__reject(n, m,
                      p >= BATON_NODES_MAX || p == n->cfg.self
                          ? BATON_REJECT_UNKNOWN_NODE
                      : m->to != n->cfg.self ? BATON_REJECT_MISROUTED
                      : !n->peers[p].link_up ? BATON_REJECT_NO_LINK
                                              : BATON_REJECT_BAD_FIELD);
        return;
    }
    peer = &n->peers[p];
    d = baton_members_digest(l);
    peer->mknown = true;
    peer->mver = l->version;
    peer->mdigest = d;
    if (list_newer(l->version, d, n)) {
        adopt(n, p, l);
    } else if (l->version < n->members.version ||
               d != n->members_digest) {
        if (l->version == n->members.version && peer->mtold_ms == 0) {
            /* Two seed lists that differ: the handshake should have
             * refused the link (wire.md §3). */
            trace_members(n, BATON_MEMBERS_DIFFERS, p, l->version);
        }
        answer_members(n, p);
    } else if (m->u.members.reply) {
        /* It answered one of our messages it could not take: it needs
         * to hear that we hold its list. */
        send_members(n, p, false);
    }
}

static bool quorum_defined(const struct baton_node *n)
{
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (n->cfg.apps[i].mode == BATON_APP_QUORUM) {
            return true;
        }
    }
    return false;
}

/* One change at a time, decided by a coordinator that holds a majority
 * of the current members, once every live member holds the current
 * list (membership.md §2). */
static int may_change(const struct baton_node *n)
{
    unsigned used = 0;
    unsigned here = 0;

    if (n->removed || quorum_defined(n)) {
        return BATON_ESTATE;
    }
    if (n->role != BATON_ROLE_COORDINATOR) {
        return BATON_ENOTCOORD;
    }
    for (unsigned p = 0; p < n->members.n_slots; p++) {
        if (!baton__slot_used(n, p)) {
            continue;
        }
        used++;
        if (p == n->cfg.self) {
            here++;
            continue;
        }
        if (n->peers[p].alive && !agrees(n, p)) {
            return BATON_ESTATE;
        }
        here += n->peers[p].alive && n->state.nodes[p].member;
    }
    return 2 * here > used ? 0 : BATON_ESTATE;
}

static bool text_ok(const char *s, size_t size, bool empty_ok)
{
    size_t len = strnlen(s, size);

    return len < size && (empty_ok || len > 0);
}

static int change(struct baton_node *n, const struct baton_event *ev,
                  struct baton_members *l)
{
    const struct baton_member *want = ev->member;
    int slot;

    if (want == NULL || !text_ok(want->name, sizeof(want->name), false)) {
        return BATON_EINVAL;
    }
    slot = baton_members_find(l, want->name);
    if (ev->what == BATON_REQ_MEMBER_REMOVE) {
        if (slot < 0 || (unsigned)slot == n->cfg.self) {
            return BATON_EINVAL;
        }
        memset(&l->slot[slot], 0, sizeof(l->slot[slot]));
        return 0;
    }
    if (slot >= 0 || !text_ok(want->addr, sizeof(want->addr), true) ||
        want->kind == BATON_MEMBER_FREE ||
        want->kind >= BATON_MEMBER__KIND_COUNT) {
        return BATON_EINVAL;
    }
    for (slot = 0; slot < l->n_slots; slot++) {
        if (l->slot[slot].kind == BATON_MEMBER_FREE) {
            break;
        }
    }
    if (slot == BATON_NODES_MAX) {
        return BATON_EFULL;
    }
    if (slot == l->n_slots) {
        l->n_slots++;
    }
    memset(&l->slot[slot], 0, sizeof(l->slot[slot]));
    l->slot[slot].kind = want->kind;
    memcpy(l->slot[slot].name, want->name, strlen(want->name) + 1);
    memcpy(l->slot[slot].addr, want->addr, strlen(want->addr) + 1);
    return 0;
}

void baton__members_request(struct baton_node *n, const struct baton_event *ev)
{
    struct baton_members old = n->members;
    struct baton_members l = n->members;
    int rv = may_change(n);

    if (rv == 0) {
        rv = change(n, ev, &l);
    }
    n->fx->member_result = rv;
    if (rv != 0) {
        return;
    }
    l.version++;
    n->members = l;
    trace_members(n, BATON_MEMBERS_CHANGED, BATON_NODE_NONE, l.version);
    apply_change(n, &old);
    broadcast_members(n);
}
