/* Scalar domain types and limits shared by every core module. */
#ifndef BATON_CORE_TYPES_H
#define BATON_CORE_TYPES_H

#include "../util/setup.h"
#include "../util/error.h"

/* Upper bound on configured nodes. Node ids are list positions and an
 * epoch keeps the claimer's id in its low byte, so this must stay < 256. */
#define BATON_NODES_MAX (32)
/* "No node": used for an unknown or absent coordinator. */
#define BATON_NODE_NONE (0xffu)

_Static_assert(BATON_NODES_MAX < 256, "node ids must fit in a byte");

/* A node's life counter: strictly greater after every restart, so messages
 * from a previous life can be told apart (docs/design/core.md §2). 0 means
 * "unknown". */
typedef uint64_t baton_inc;

/* Election epoch: (term << 8) | claimer id. Comparing two epochs as
 * integers orders them by term, then by claimer, and two different nodes
 * can never claim the same epoch (docs/design/core.md §3). 0 = none. */
typedef uint64_t baton_epoch;

static inline uint64_t baton_epoch_term(baton_epoch e)
{
    return e >> 8;
}

static inline unsigned baton_epoch_node(baton_epoch e)
{
    return (unsigned)(e & 0xffu);
}

static inline baton_epoch baton_epoch_make(uint64_t term, unsigned node)
{
    return (term << 8) | (baton_epoch)(node & 0xffu);
}

/* An app's mode (docs/design/quorum.md): available runs it on every
 * side of a partition (Erlang's); quorum only under a lease granted
 * through a majority. The values are the public BATON_MODE_*. */
enum baton_app_mode {
    BATON_APP_AVAILABLE = 0,
    BATON_APP_QUORUM = 1,
};

#endif /* BATON_CORE_TYPES_H */
