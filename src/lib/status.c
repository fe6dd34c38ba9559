/* Status queries of the public API (baton_status_get, baton_peer_get):
 * what the node knows of itself and of every node of [nodes]. The
 * control socket's "status" is printed from them (control.c), so an
 * embedded program sees what batonctl shows. See docs/design/lib.md. */
#include "../util/setup.h"

#include <string.h>

#include "../util/error.h"
#include "lib.h"

#if UINTPTR_MAX == UINT64_MAX
/* The ABI: fields are added in the reserved bytes, never elsewhere. */
_Static_assert(sizeof(struct baton_status_info) == 136,
               "struct baton_status_info keeps its size");
_Static_assert(sizeof(struct baton_peer_info) == 96,
               "struct baton_peer_info keeps its size");
#endif

/* A role's name as the control socket prints it, and the coordinator
 * the role follows (NULL: none, or unknown). */
static const char *coord_name(const struct baton_io *io, unsigned coord)
{
    return coord < io->cfg.n_nodes ? io->names[coord] : NULL;
}

int baton_status_get(const struct baton *b, struct baton_status_info *out)
{
    const struct baton_io *io = &b->io;
    const struct baton_node *n = &io->node;

    if (!b->started) {
        return BATON_ESTATE;
    }
    memset(out, 0, sizeof(*out));
    out->node = io->names[io->cfg.self];
    out->role = baton_role_name(n->role);
    out->coordinator = coord_name(io, baton_node_coordinator(n));
    out->incarnation = n->inc;
    out->epoch = n->epoch;
    out->members = baton_state_members(&n->state);
    out->n_nodes = io->cfg.n_nodes;
    out->synced = n->synced;
    out->auth_failures = io->stats.auth_failures;
    out->bad_frames = io->stats.bad_frames;
    return 0;
}

int baton_peer_get(const struct baton *b, unsigned i,
                   struct baton_peer_info *out)
{
    const struct baton_io *io = &b->io;
    const struct baton_node *n = &io->node;
    const struct baton_peer *peer;

    if (!b->started) {
        return BATON_ESTATE;
    }
    if (i >= io->cfg.n_nodes) {
        return BATON_ERANGE;
    }
    peer = &n->peers[i];
    memset(out, 0, sizeof(*out));
    out->name = io->names[i];
    out->host = io->cfg.hosts[i];
    out->port = io->cfg.ports[i];
    out->self = i == io->cfg.self;
    out->linked = baton_io_link_up(io, i);
    out->alive = out->self || peer->alive;
    out->candidate = io->cfg.candidate[i] != 0;
    out->heard = !out->self && peer->heard;
    if (out->heard) {
        out->last_seen_ms = n->now_ms - peer->last_heard_ms;
        out->incarnation = peer->inc;
        out->role = baton_role_name(peer->status.role);
        out->coordinator = coord_name(io, peer->status.coord);
    }
    return 0;
}
