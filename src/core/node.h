/* The sans-IO node: one event in (carrying the time), effects out.
 * See docs/design/core.md. The core never reads a clock, never calls
 * rand() and makes no syscalls; the driver (src/io, or the simulator in
 * test/sim) feeds it events and carries out its effects. */
#ifndef BATON_CORE_NODE_H
#define BATON_CORE_NODE_H

#include "msg.h"
#include "prng.h"
#include "state.h"

/* Defaults (docs/design/core.md §2): a peer is declared down after
 * heartbeat_miss heartbeat intervals with no traffic at all. */
#define BATON_HEARTBEAT_MS_DEFAULT (250)
#define BATON_HEARTBEAT_MISS_DEFAULT (4)

struct baton_node_config {
    unsigned n_nodes; /* 1..BATON_NODES_MAX, identical on every node */
    unsigned self;    /* this node's id (its position in the list) */
    /* candidate[i] = 1 if node i may coordinate; list position is the
     * priority among candidates (lower id = higher priority). */
    uint8_t candidate[BATON_NODES_MAX];
    uint64_t heartbeat_ms;   /* 0 = default */
    uint64_t heartbeat_miss; /* 0 = default */
    /* How long a booting node waits to hear the cluster before it may
     * coordinate. 0 = heartbeat_ms * heartbeat_miss. */
    uint64_t sync_window_ms;
};

enum baton_event_type {
    BATON_EVENT_TICK = 1,  /* time passed (a deadline was reached) */
    BATON_EVENT_RECEIVE,   /* msg arrived from peer */
    BATON_EVENT_LINK_UP,   /* the transport connected to peer */
    BATON_EVENT_LINK_DOWN, /* the transport lost peer's connection */
};

struct baton_event {
    uint8_t type;    /* enum baton_event_type */
    uint8_t peer;    /* LINK_UP/LINK_DOWN: the peer */
    uint64_t now_ms; /* monotonic time, never smaller than the last one */
    const struct baton_msg *msg; /* RECEIVE: borrowed for the call */
};

/* Trace events: the core's log, also what simulator scenarios assert
 * on. Formatted by baton_trace_format(). */
#define BATON_TRACE_MAP(X)                                              \
    X(BOOT, "boot")                                                     \
    X(SYNCED, "synced")                                                 \
    X(PEER_UP, "peer-up")                                               \
    X(PEER_DOWN, "peer-down")                                           \
    X(PEER_RESTARTED, "peer-restarted")                                 \
    X(ROLE, "role")                                                     \
    X(APPLIED, "applied")                                               \
    X(SNAPSHOT, "snapshot")                                             \
    X(REJECTED, "rejected")                                             \
    X(TILT, "tilt")

enum baton_trace_type {
#define BATON__TRACE_ENUM(name, text) BATON_TRACE_##name,
    BATON__TRACE_NONE = 0,
    BATON_TRACE_MAP(BATON__TRACE_ENUM)
#undef BATON__TRACE_ENUM
        BATON_TRACE__COUNT
};

/* Why a peer was declared down. */
enum baton_down_reason {
    BATON_DOWN_LINK = 1, /* the transport closed the link */
    BATON_DOWN_SILENT,   /* heartbeat_miss intervals with no traffic */
    BATON_DOWN_RESTART,  /* a newer incarnation spoke */
};

/* Why a message was rejected (counted in baton_node.rejected[]). */
#define BATON_REJECT_MAP(X)                                             \
    X(UNKNOWN_NODE, "unknown sender")                                   \
    X(MISROUTED, "addressed to another node")                           \
    X(STALE_INC, "stale sender incarnation")                            \
    X(STALE_DST, "addressed to a previous life")                        \
    X(NO_LINK, "no link to the sender")                                 \
    X(BAD_TYPE, "unknown message type")                                 \
    X(BAD_FIELD, "impossible field")                                    \
    X(BAD_OP, "invalid op")                                             \
    X(BAD_STATE, "invalid state")

enum baton_reject {
#define BATON__REJECT_ENUM(name, text) BATON_REJECT_##name,
    BATON_REJECT_MAP(BATON__REJECT_ENUM)
#undef BATON__REJECT_ENUM
        BATON_REJECT__COUNT
};

struct baton_trace {
    uint8_t type;   /* enum baton_trace_type */
    uint8_t peer;   /* the node concerned, or BATON_NODE_NONE */
    uint8_t role;   /* ROLE: the new role */
    uint8_t reason; /* PEER_DOWN: baton_down_reason; REJECTED: reject;
                       SYNCED: 1 welcomed, 2 heard all, 3 window */
    uint8_t reserved[4];
    uint64_t now_ms;
    uint64_t a; /* see baton_trace_format() for each type's fields */
    uint64_t b;
    uint64_t c;
    struct baton_stream stream; /* ROLE/APPLIED/SNAPSHOT */
};

/* Upper bounds of one step's output. A coordinator sends at most
 * BATON_STEP_OPS_MAX ops per follower per step and a snapshot beyond
 * that, which keeps one step's sends below BATON_FX_SEND_MAX. */
#define BATON_FX_SEND_MAX (384)
#define BATON_FX_TRACE_MAX (256)
#define BATON_STEP_OPS_MAX (4)

/* What the driver must do after a step. Valid until the next
 * baton_node_step() on the same node. */
struct baton_effects {
    unsigned n_send;
    struct baton_msg send[BATON_FX_SEND_MAX]; /* msg.to says to whom */
    unsigned n_trace;
    unsigned trace_dropped; /* traces lost to a full buffer */
    struct baton_trace trace[BATON_FX_TRACE_MAX];
    uint64_t deadline_ms; /* deliver a TICK at this time at the latest */
};

/* What this node knows of one peer. */
struct baton_peer {
    baton_inc inc;          /* the peer's current life, 0 = unknown */
    uint64_t last_seq;      /* highest seq seen from that life */
    uint64_t status_seq;    /* seq of the message `status` came from */
    uint64_t last_heard_ms; /* last valid message */
    uint64_t status_ms;     /* when `status` last changed */
    uint64_t down_ms;       /* when last declared down */
    bool link_up;           /* per the transport */
    bool alive;             /* link up and heard within the timeout */
    bool heard;             /* has spoken since we booted */
    struct baton_status status; /* its latest announced status */
};

struct baton_counters {
    uint64_t rejected[BATON_REJECT__COUNT];
    uint64_t received;
    uint64_t sent;
    uint64_t ops_applied;
    uint64_t snapshots_installed;
    uint64_t replica_mismatches; /* valid ops our replica could not apply */
    uint64_t claims; /* times this node became coordinator */
    uint64_t tilts;
};

/* The node. The caller allocates it; every field is internal. */
struct baton_node {
    struct baton_node_config cfg;
    baton_inc inc;
    struct baton_prng prng;
    uint64_t now_ms;
    uint64_t last_step_ms;
    bool started; /* the first step has run */

    /* Role state machine (docs/design/core.md §3.2). */
    uint8_t role;   /* enum baton_role */
    uint8_t target; /* JOINING/FOLLOWER: the coordinator */
    baton_inc target_inc;
    uint64_t role_since_ms;
    bool synced;
    uint64_t boot_deadline_ms;
    uint64_t join_first_seq; /* first JOIN of the current attempt */
    uint64_t join_next_ms;   /* when to send the JOIN again */
    uint64_t resync_next_ms; /* rate limit on RESYNC requests */
    uint64_t hb_next_ms;
    bool status_dirty; /* the role changed: tell every peer now */

    /* Epochs: the node's own (never decreases) and the highest term
     * heard anywhere (so a new claim outranks everything known). */
    baton_epoch epoch;
    uint64_t term_seen;

    /* Replication. */
    struct baton_state state; /* this node's replica */
    struct baton_stream stream;
    uint64_t applied; /* last index of `stream` applied */
    unsigned step_ops; /* COORDINATOR: ops ordered during this step */
    uint64_t step_first_index;
    struct baton_op step_op[BATON_STEP_OPS_MAX];

    uint64_t seq; /* last message seq sent in this life */
    struct baton_peer peers[BATON_NODES_MAX];
    struct baton_counters counters;
    struct baton_effects *fx; /* during a step only */
};

/* Fills the zero timing fields of cfg with their defaults (heartbeat
 * 250 ms x 4, sync window = heartbeat x miss). baton_node_init() applies
 * the same; drivers use it to agree on the effective settings. */
void baton_node_config_defaults(struct baton_node_config *cfg);

/* Validates cfg and initialises the node at time now_ms. inc must be
 * greater than any incarnation this node name had before (the driver's
 * job: a persisted counter or the wall clock at boot); seed feeds the
 * core's PRNG. The driver must then deliver a TICK at now_ms.
 * Errors: BATON_EINVAL (bad config: self out of range, n_nodes out of
 * range, inc 0). Borrows cfg. */
int baton_node_init(struct baton_node *n, const struct baton_node_config *cfg,
                    baton_inc inc, uint64_t seed, uint64_t now_ms);

/* Feeds one event to the node and fills fx with what the driver must now
 * do. fx is overwritten; its contents are valid until the next call.
 * Bad messages never fail the step: they are rejected, counted and
 * traced. Errors: BATON_EINVAL (event type unknown, time going back).
 * Borrows ev and its msg. */
int baton_node_step(struct baton_node *n, const struct baton_event *ev,
                    struct baton_effects *fx);

/* Queries. */
unsigned baton_node_coordinator(const struct baton_node *n); /* or NONE */
bool baton_node_is_coordinator(const struct baton_node *n);
bool baton_node_candidate(const struct baton_node *n, unsigned id);
uint64_t baton_node_down_after_ms(const struct baton_node *n);

/* Formats one trace event as a line without a newline, naming nodes by
 * names[id] (names may be NULL: ids are printed). Returns the length
 * snprintf would have written. */
int baton_trace_format(char *buf, size_t len, const struct baton_trace *t,
                       const char *const *names);

const char *baton_trace_name(unsigned type);
const char *baton_reject_name(unsigned reason);

#endif /* BATON_CORE_NODE_H */
