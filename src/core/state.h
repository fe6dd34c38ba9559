/* Replicated cluster state: the pure functions apply(state, op) and
 * merge(a, b). See docs/design/core.md §4. */
#ifndef BATON_CORE_STATE_H
#define BATON_CORE_STATE_H

#include "names.h"
#include "types.h"

/* What the group knows of one configured node. */
struct baton_state_node {
    baton_inc inc;  /* highest incarnation the group has seen; 0 = none */
    uint8_t member; /* 1 while the node follows (or is) the coordinator */
    uint8_t reserved[7];
};

/* Distributed apps (docs/design/apps.md). */
#define BATON_APPS_MAX (16)
#define BATON_APP_NAME_MAX (31)
#define BATON_TIMEOUT_INFINITY (UINT64_MAX)

enum baton_app_status {
    BATON_APP_FREE = 0,  /* slot unused */
    BATON_APP_IDLE,      /* defined, placed nowhere yet */
    BATON_APP_STARTING,  /* owner is starting it (epoch, type, from) */
    BATON_APP_RUNNING,   /* owner runs it */
    BATON_APP_TAKEOVER,  /* owner starts it while prev still runs it */
    BATON_APP_WAITING,   /* owner lost: failover timer running */
    BATON_APP_FAILED,    /* no permitted node could run it */
    BATON_APP_STOPPED,   /* ended normally (temporary/transient) */
    BATON_APP_REFUSED,   /* definitions differ between nodes */
    BATON_APP__COUNT
};

/* One app as the group knows it. rank[] is the priority list: 0 = not
 * listed, 1 = first group, 2 = second, ...; equal rank = equal priority
 * (braces in the config). */
struct baton_state_app {
    char name[BATON_APP_NAME_MAX + 1];
    uint8_t status; /* enum baton_app_status */
    uint8_t type;   /* enum baton_start_type of the owner's start */
    uint8_t owner;  /* or BATON_NODE_NONE */
    uint8_t from;   /* failover/takeover: the node it came from */
    uint8_t prev;   /* TAKEOVER: the old owner, still running it */
    uint8_t reserved[3];
    baton_inc owner_inc;
    /* TAKEOVER: prev's life; STARTING as a failover from a lost node:
     * the life it was lost in (core.md §4.4, the last moment). */
    baton_inc prev_inc;
    uint64_t epoch; /* the owner's instance's fencing token */
    /* The highest token issued for this app in any history merged into
     * this state: new tokens go above it, so they grow cluster-wide even
     * when a heal keeps an instance with an older token. */
    uint64_t epoch_max;
    uint64_t failover_timeout_ms; /* or BATON_TIMEOUT_INFINITY */
    uint8_t rank[BATON_NODES_MAX];
};

/* The state every member of a group replicates. It is a plain value
 * (no pointers), so copying it is a snapshot. */
struct baton_state {
    /* Node slots: the member list's n_slots, which only grows as nodes
     * are added (membership.md §4); a slot beyond it is empty. */
    uint8_t n_nodes;
    uint8_t coord;        /* coordinator id, or BATON_NODE_NONE */
    uint8_t reserved[6];
    baton_inc coord_inc;  /* the coordinator's incarnation */
    baton_epoch epoch;    /* the coordinator's election epoch */
    struct baton_state_node nodes[BATON_NODES_MAX];
    /* Position of each node's name in sorted order: the placement
     * tie-break (reference §1.4). Identical on every node, as the node
     * list is (the link handshake checks it). */
    uint8_t name_rank[BATON_NODES_MAX];
    struct baton_state_app apps[BATON_APPS_MAX];
    /* The highest registration token issued in any history merged into
     * this state: new name tokens go above it (docs/design/names.md). */
    uint64_t name_epoch_max;
};

enum baton_op_type {
    /* A coordinator claims the group (new stream) or moves its epoch up;
     * a new claim resets the member set to the coordinator alone. */
    BATON_OP_COORD = 1,
    BATON_OP_JOIN,  /* node (inc) follows the coordinator now */
    BATON_OP_LEAVE, /* node (inc) no longer does */
    BATON_OP_MERGE, /* fold another group's state in: merge(state, other) */
    BATON_OP_APP,   /* set app slot `node` to `app` */
    /* Names (docs/design/names.md §3): the table is held beside the
     * state (struct baton_names) and these ops change it. */
    BATON_OP_NAME_SET,   /* insert or overwrite entry `name` */
    BATON_OP_NAME_DEL,   /* remove name.name (reason: why) */
    BATON_OP_NAME_PURGE, /* remove node's entries not of life inc */
    BATON_OP__COUNT
};

struct baton_op {
    uint8_t type;  /* enum baton_op_type */
    uint8_t node;  /* COORD/JOIN/LEAVE: the node concerned; APP: slot */
    uint8_t fresh; /* COORD: 1 = a new claim (resets members) */
    uint8_t origin; /* NAME_*: node whose request this answers, or NONE */
    uint8_t reason; /* NAME_DEL: enum baton_lost_reason, 0 = asked for */
    uint8_t reserved[3];
    baton_inc inc;       /* COORD/JOIN/LEAVE: that node's incarnation */
    baton_epoch epoch;   /* COORD: the new epoch */
    struct baton_state other; /* MERGE: the state folded in */
    struct baton_state_app app; /* APP: the slot's new value */
    uint64_t req;           /* NAME_*: origin's request number, or 0 */
    struct baton_name name; /* NAME_SET: the entry; NAME_DEL: the entry
                               removed (name, owner, endpoint, epoch) */
};

/* Initialises an empty state for n_nodes configured nodes.
 * Preconditions: 1 <= n_nodes <= BATON_NODES_MAX. */
void baton_state_init(struct baton_state *s, unsigned n_nodes);

/* Live membership (docs/design/membership.md §4): gives s n_nodes slots
 * if it has fewer; the slots added are empty. Equality and the digest
 * do not tell a widened state from the one it was. */
void baton_state_widen(struct baton_state *s, unsigned n_nodes);

/* Checks that every field of a state is possible for a cluster of
 * n_nodes (used on snapshots received from the network).
 * Errors: BATON_EBADMSG naming nothing; callers count the rejection. */
int baton_state_validate(const struct baton_state *s, unsigned n_nodes);

/* Checks one app entry's fields. Errors: BATON_EBADMSG. */
int baton_app_validate(const struct baton_state_app *e, unsigned n_nodes);

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
 * commutative, associative and idempotent. Apps: an app only b knows is
 * added; for one both know, the entry with the higher epoch wins, except
 * that when both groups run it on different nodes (a duplicate after a
 * partition), the instance the placement rules pick is kept and the
 * epoch moves above both (docs/design/apps.md §5). out may alias a or b.
 * The result has the larger n_nodes of the two (membership.md §4). */
void baton_state_merge(struct baton_state *out, const struct baton_state *a,
                       const struct baton_state *b);

/* A 64-bit digest of the state's contents (FNV-1a over the fields), used
 * to compare replicas in tests and in the simulator. */
uint64_t baton_state_digest(const struct baton_state *s);

/* The same digest in two parts: the base covers every field but
 * name_epoch_max, which every name op moves and nothing else, so a
 * caller that digests after each op can keep the base while only names
 * change (baton__replica_digest). digest = finish(base(s), s's max). */
uint64_t baton_state_digest_base(const struct baton_state *s);
uint64_t baton_state_digest_finish(uint64_t base, uint64_t name_epoch_max);

bool baton_state_equal(const struct baton_state *a,
                       const struct baton_state *b);

/* Number of members in the state. */
unsigned baton_state_members(const struct baton_state *s);

const char *baton_op_type_name(unsigned type);
const char *baton_app_status_name(unsigned status);
const char *baton_start_type_name(unsigned type);

/* Slot of the app called name, or -1. */
int baton_state_app_find(const struct baton_state *s, const char *name);

/* How many apps node n owns (starting, running or taking over), the
 * placement's load measure (reference §1.4: fewest apps wins). */
unsigned baton_state_apps_on(const struct baton_state *s, unsigned n);

/* Does app entry e have an instance on a node (starting, running,
 * taking over)? */
bool baton_app_active(const struct baton_state_app *e);

#endif /* BATON_CORE_STATE_H */
