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
