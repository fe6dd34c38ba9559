/* Replicated cluster state: the pure functions apply(state, op) and
 * merge(a, b). See docs/design/core.md §4. */
#ifndef BATON_CORE_STATE_H
#define BATON_CORE_STATE_H

#include "types.h"

/* What the group knows of one configured node. */
struct baton_state_node {
    baton_inc inc;  /* highest incarnation the group has seen; 0 = none */
    uint8_t member; /* 1 while the node follows (or is) the coordinator */
    uint8_t reserved[7];
};

/* The state every member of a group replicates. It is a plain value
 * (no pointers), so copying it is a snapshot. Later issues add app
 * placements and global names beside the member table. */
struct baton_state {
    uint8_t n_nodes;      /* configured nodes; fixed for the cluster */
    uint8_t coord;        /* coordinator id, or BATON_NODE_NONE */
    uint8_t reserved[6];
    baton_inc coord_inc;  /* the coordinator's incarnation */
    baton_epoch epoch;    /* the coordinator's election epoch */
    struct baton_state_node nodes[BATON_NODES_MAX];
};

enum baton_op_type {
    /* A coordinator claims the group (new stream) or moves its epoch up;
     * a new claim resets the member set to the coordinator alone. */
    BATON_OP_COORD = 1,
    BATON_OP_JOIN,  /* node (inc) follows the coordinator now */
    BATON_OP_LEAVE, /* node (inc) no longer does */
    BATON_OP_MERGE, /* fold another group's state in: merge(state, other) */
    BATON_OP__COUNT
};

struct baton_op {
    uint8_t type;  /* enum baton_op_type */
    uint8_t node;  /* COORD/JOIN/LEAVE: the node concerned */
    uint8_t fresh; /* COORD: 1 = a new claim (resets members) */
    uint8_t reserved[5];
    baton_inc inc;       /* COORD/JOIN/LEAVE: that node's incarnation */
    baton_epoch epoch;   /* COORD: the new epoch */
    struct baton_state other; /* MERGE: the state folded in */
};

/* Initialises an empty state for n_nodes configured nodes.
 * Preconditions: 1 <= n_nodes <= BATON_NODES_MAX. */
void baton_state_init(struct baton_state *s, unsigned n_nodes);

/* Checks that every field of a state is possible for a cluster of
 * n_nodes (used on snapshots received from the network).
 * Errors: BATON_EBADMSG naming nothing; callers count the rejection. */
int baton_state_validate(const struct baton_state *s, unsigned n_nodes);

/* Checks an op's fields against a cluster of n_nodes.
 * Errors: BATON_EBADMSG. */
int baton_op_validate(const struct baton_op *op, unsigned n_nodes);

/* The pure transition function: out = apply(in, op). in and out may be the
 * same object. A COORD op never moves the epoch down and JOIN/LEAVE never
 * move an incarnation down; an op that would is refused.
 * Errors: BATON_EBADMSG (invalid op), BATON_ESTALE (would go backwards);
 * out is then left equal to in. Borrows in and op. */
int baton_state_apply(struct baton_state *out, const struct baton_state *in,
                      const struct baton_op *op);

/* out = merge(a, b): a is the surviving group's state, b the absorbed
 * one. Coordinator, epoch and member set come from a; every node's
 * incarnation is the higher of the two. The incarnation part is
 * commutative, associative and idempotent. out may alias a or b.
 * Preconditions: a->n_nodes == b->n_nodes. */
void baton_state_merge(struct baton_state *out, const struct baton_state *a,
                       const struct baton_state *b);

/* A 64-bit digest of the state's contents (FNV-1a over the fields), used
 * to compare replicas in tests and in the simulator. */
uint64_t baton_state_digest(const struct baton_state *s);

bool baton_state_equal(const struct baton_state *a,
                       const struct baton_state *b);

/* Number of members in the state. */
unsigned baton_state_members(const struct baton_state *s);

const char *baton_op_type_name(unsigned type);

#endif /* BATON_CORE_STATE_H */
