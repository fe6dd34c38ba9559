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

/* The transport's link policy (docs/design/transport.md §1), here so that
 * the driver (src/io) and the simulator's model of it (test/sim) are one
 * decision: a closed or refused dial is retried after BACKOFF_MIN ms,
 * doubling to BACKOFF_MAX, each delay jittered by +-25%; a dial that has
 * not completed its handshake within baton_node_dial_timeout_ms() is
 * abandoned and redialed at once; an accepted connection has
 * BATON_HANDSHAKE_MS to authenticate. */
#define BATON_HANDSHAKE_MS (5000)
#define BATON_BACKOFF_MIN_MS (50)
#define BATON_BACKOFF_MAX_MS (2000)

/* Lease bounds (docs/design/quorum.md §1): a lease spans at least this
 * many heartbeats, so that it survives lost ones, and at most a minute;
 * the default is the least. The stop margin defaults to a quarter of
 * the lease and may be at most half of it. Clocks' rates differ by at
 * most max_drift: 1% by default, 0.01%..10% allowed. */
#define BATON_LEASE_HEARTBEATS (4)
#define BATON_LEASE_MS_MAX (60000)
#define BATON_DRIFT_PPM_DEFAULT (10000)
#define BATON_DRIFT_PPM_MIN (100)
#define BATON_DRIFT_PPM_MAX (100000)
/* Snapshots of the grant table (quorum.md §3): one every this many
 * applied entries (a grant or a leader's no-op), well within what the
 * log holds (BATON_RAFT_LOG_MAX), so it is compacted long before it is
 * full. A snapshot holds a header and one record per granted app. */
#define BATON_QUORUM_SNAP_EVERY (64)
#define BATON_QUORUM_SNAP_HEAD (8)
#define BATON_QUORUM_SNAP_RECORD (56)
/* Names in quorum mode (quorum.md §6): entries of the log, at most
 * BATON_QNAMES_MAX in the table (they are few and important; a full
 * table's snapshot, one record each, fits one SNAPSHOT message), at
 * most BATON_QNAME_PENDING registrations under way at a leader, each
 * answered TIMEOUT (outcome unknown) if its entry is neither committed
 * nor overwritten within BATON_QNAME_TIMEOUT_MS. */
#define BATON_QNAMES_MAX (256)
#define BATON_QNAME_PENDING (32)
#define BATON_QNAME_TIMEOUT_MS (5000)
#define BATON_QUORUM_SNAP_QNAME (160)
#define BATON_QUORUM_SNAP_MAX                                             \
    (BATON_QUORUM_SNAP_HEAD + BATON_APPS_MAX * BATON_QUORUM_SNAP_RECORD + \
     BATON_QNAMES_MAX * BATON_QUORUM_SNAP_QNAME)

/* One distributed app as this node's config defines it. The definition
 * that must agree cluster-wide is name, rank, failover timeout, mode,
 * lease and stop margin (docs/design/apps.md §1, quorum.md §1); the
 * driver keeps the rest (commands). */
struct baton_app_config {
    char name[BATON_APP_NAME_MAX + 1];
    uint8_t rank[BATON_NODES_MAX]; /* 0 = not listed, 1 = first group, ... */
    uint64_t failover_timeout_ms;  /* or BATON_TIMEOUT_INFINITY */
    uint8_t mode;                  /* enum baton_app_mode */
    /* 1: the node starts with `permit false` for the app (the driver
     * persisted it: docs/design/apps.md §7). Node-local. */
    uint8_t permit_off;
    uint8_t reserved[6];
    /* Quorum apps: both set (defaults filled in by the config reader);
     * available apps: both 0. */
    uint64_t lease_ms;
    uint64_t stop_margin_ms;
};

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
    /* How long a new owner waits for the old one's state before it
     * starts without (0 = 6000 ms: the export timeout plus margin). */
    uint64_t state_wait_ms;
    /* Position of each node's name in sorted order (placement ties go
     * to the smallest name); all zero = list order. */
    uint8_t name_rank[BATON_NODES_MAX];
    unsigned n_apps;
    struct baton_app_config apps[BATON_APPS_MAX];
    /* Boot-time sync (reference §1.3): while held, this node reports no
     * apps (so it is placed nothing) until BATON_REQ_RELEASE. */
    bool apps_held;
    /* The name tables' storage (docs/design/names.md §1): 3 x names_cap
     * slots (the replica, this node's own names, and a snapshot arriving
     * in parts), names_cap a power of two (0 = this node holds no names
     * and refuses every write). Every node of a cluster must use the
     * same size. The slots must be zeroed when the node is initialised.
     * Borrowed for the node's lifetime; the core never allocates. */
    struct baton_name *names_slots;
    uint32_t names_cap;
    /* Entries per snapshot part: 0 = BATON_SNAPSHOT_PART_NAMES. A full
     * table must fit BATON_SNAPSHOT_PARTS_MAX parts. The simulator uses
     * small parts to cut small tables into many. */
    uint32_t names_part;
    /* Quorum mode (docs/design/quorum.md): with at least one app in
     * quorum mode the node runs one Raft group whose voters are every
     * node. max_drift_ppm: 0 = BATON_DRIFT_PPM_DEFAULT. raft_disk: what
     * the driver recovered from its store (term, vote, log), or NULL for
     * none; borrowed during baton_node_init only. */
    uint32_t max_drift_ppm;
    const struct baton_raft_disk *raft_disk;
    /* The snapshot the store holds (the grant table as of
     * raft_disk->snap_index, as the raft_snapshot effect gave it), or
     * NULL; borrowed during baton_node_init only. */
    const uint8_t *raft_snap;
    uint32_t raft_snap_len;
    /* A snapshot of the grant table is taken once this many entries
     * were applied since the last (0 = BATON_QUORUM_SNAP_EVERY), and the
     * log keeps at most raft_log_room entries before it compacts them
     * (0 = what it holds less a batch). The simulator makes both small
     * to exercise compaction and installs. */
    uint32_t raft_snap_every;
    uint32_t raft_log_room;
    /* Live membership (docs/design/membership.md): the member list to
     * start with, the one the driver persisted at the last change, or
     * NULL for the seed list (version 0: n_nodes slots, every one used,
     * unnamed). When given, its n_slots must equal n_nodes, slot self
     * must be used, and candidate[] is taken from the slots' kinds.
     * Borrowed during baton_node_init only. */
    const struct baton_members *members;
    /* The operator settings the driver persisted (docs/design/apps.md
     * §7), or NULL for none; borrowed during baton_node_init only. */
    const struct baton_settings *settings;
};

enum baton_event_type {
    BATON_EVENT_TICK = 1,  /* time passed (a deadline was reached) */
    BATON_EVENT_RECEIVE,   /* msg arrived from peer */
    BATON_EVENT_LINK_UP,   /* the transport connected to peer */
    BATON_EVENT_LINK_DOWN, /* the transport lost peer's connection */
    BATON_EVENT_APP,       /* the local instance of app `app` changed */
    BATON_EVENT_REQUEST,   /* an operator request (batonctl) */
    BATON_EVENT_EXPORTED,  /* app's state_export finished (takeover) */
    BATON_EVENT_NAME,      /* a local endpoint's name write: name_req */
    BATON_EVENT_CALL,      /* a local endpoint sends or calls: call */
    BATON_EVENT_REPLY,     /* a local endpoint answers a call: call */
    /* Quorum mode: the driver made the raft_write effect of number
     * `seq` durable (and every earlier one). Never sent by assumption:
     * only once the store says so (quorum.md §3). */
    BATON_EVENT_PERSISTED,
    /* An operator verb (batonctl move, disable, standby...: admin),
     * answered by an admin effect with the same id. */
    BATON_EVENT_ADMIN,
};

/* BATON_EVENT_NAME: one name write of a local endpoint. */
struct baton_name_req {
    uint64_t id;       /* the driver's, echoed in the DONE effect */
    uint8_t kind;      /* enum baton_name_kind */
    uint8_t resolver;  /* REGISTER/REREGISTER: enum baton_resolver */
    uint16_t meta_len;
    /* REGISTER/UNREGISTER: 1 = a quorum name (quorum.md §6): an entry
     * of the Raft log, answered once committed; no metadata. */
    uint8_t quorum;
    uint8_t reserved[3];
    uint64_t endpoint; /* the local endpoint (never 0) */
    char name[BATON_GNAME_MAX + 1]; /* not for DROP */
    uint8_t meta[BATON_GNAME_META_MAX];
};

/* BATON_EVENT_CALL / BATON_EVENT_REPLY. */
struct baton_call {
    uint64_t id;    /* CALL: the driver's call id; REPLY: the delivered
                       call's id */
    uint8_t flags;  /* CALL: BATON_CALL_WANTS_REPLY or 0 (a send) */
    uint8_t to;     /* REPLY: the caller's node (from DELIVER) */
    uint8_t code;   /* REPLY: enum baton_name_code, OK normally */
    uint8_t reserved[5];
    baton_inc to_inc; /* REPLY: the caller's life (from DELIVER) */
    const char *name; /* CALL: the name, NUL-terminated */
    const uint8_t *data; /* borrowed for the step */
    uint32_t len;        /* <= BATON_CALL_DATA_MAX */
};

/* BATON_EVENT_APP: what happened to the local instance. */
enum baton_app_event {
    BATON_APP_EV_READY = 1, /* started, ready, every phase done */
    BATON_APP_EV_STOPPED,   /* stopped because the core said so */
    BATON_APP_EV_EXITED,    /* ended normally; restart policy says done */
    BATON_APP_EV_FAILED,    /* could not start, or crashed beyond
                               max_restarts: do not place it here */
};

/* BATON_EVENT_REQUEST kinds (reference §1.7). */
enum baton_request_kind {
    BATON_REQ_PERMIT = 1, /* permit app here: value 0 moves it away */
    BATON_REQ_TAKEOVER,   /* move app to this node */
    BATON_REQ_RELEASE,    /* boot sync done: take part in apps (app 0) */
    /* Hold apps again, as before a boot sync (app 0): the driver saw an
     * older peer whose config differs (docs/design/transport.md §2). */
    BATON_REQ_HOLD,
    /* Runtime definitions (docs/design/apps.md §1.1): DEFINE sets
     * cfg.apps[app] to *def (app == cfg.n_apps appends; an index whose
     * app was removed and is gone here may be reused for another name);
     * UNDEFINE removes cfg.apps[app] here: its instance here moves away
     * (as with permit 0), then this node stops reporting it. */
    BATON_REQ_DEFINE,
    BATON_REQ_UNDEFINE,
    /* Live membership (membership.md §2), on the coordinator: add
     * ev->member (name, addr, kind), or remove the member called
     * ev->member->name. The answer is fx->member_result. */
    BATON_REQ_MEMBER_ADD,
    BATON_REQ_MEMBER_REMOVE,
};

struct baton_event {
    uint8_t type;    /* enum baton_event_type */
    uint8_t peer;    /* LINK_UP/LINK_DOWN: the peer */
    uint8_t app;     /* APP/REQUEST: index in cfg.apps */
    uint8_t what;    /* APP: baton_app_event; REQUEST: baton_request_kind */
    uint8_t value;   /* REQUEST PERMIT: 0 or 1 */
    uint8_t reserved[3];
    uint64_t epoch;  /* APP: the epoch of the instance concerned */
    uint64_t now_ms; /* monotonic time, never smaller than the last one */
    const struct baton_msg *msg; /* RECEIVE: borrowed for the call */
    /* EXPORTED: value 1 = data holds the state, 0 = the export failed.
     * Borrowed: must stay valid until the step's effects are carried
     * out (a STATE message points at it). */
    const uint8_t *data;
    uint32_t len;
    const struct baton_name_req *name_req; /* NAME: borrowed */
    const struct baton_call *call;         /* CALL/REPLY: borrowed */
    uint64_t seq; /* PERSISTED: the write's raft_write.seq */
    const struct baton_app_config *def; /* REQUEST DEFINE: borrowed */
    const struct baton_member *member; /* REQUEST MEMBER_*: borrowed */
    const struct baton_admin_req *admin; /* ADMIN: borrowed */
};

/* What the driver must do with a local app instance. */
enum baton_app_action {
    BATON_APP_START = 1, /* start it: epoch, type, from */
    BATON_APP_STOP,      /* stop it (reason in the trace) */
    BATON_APP_EXPORT,    /* run state_export: a takeover needs the state */
    BATON_APP_STATE,     /* the state for the coming takeover start */
    /* The running instance's fencing token is now `epoch` (a heal merged
     * a history that issued higher ones: apps.md §4). The instance goes
     * on; the driver passes the token on to it and may keep naming the
     * instance by its start token in its events. */
    BATON_APP_TOKEN,
    /* Quorum apps (quorum.md §4.4): the lease under which the instance
     * runs ended and it has not stopped (its STOP came before, in this
     * step or earlier). End it by force now: batond SIGKILLs its process
     * group. The driver still reports STOPPED once it is gone. */
    BATON_APP_KILL,
    /* Quorum apps: the instance's lease now ends at until_ms on the
     * node's clock (given at its START and as renewals move it on by at
     * least half the stop margin, so never later than the true end). The
     * driver hands it to whatever can kill the instance without the node
     * (batond: the shim's own timer, quorum.md §4.4). */
    BATON_APP_LEASE,
};

/* Why a STOP (apps.md §5). */
enum baton_stop_why {
    BATON_STOPFX_ENDED = 1, /* the app runs nowhere now (idle, stopped,
                               failed, refused, no longer defined) */
    BATON_STOPFX_MOVED,     /* taken over from here, or moved on purpose */
    BATON_STOPFX_CONFLICT,  /* another instance is the app's: the two
                               sides of a partition both ran it */
    BATON_STOPFX_REPLACED,  /* its own instance restarts under a new token */
};

struct baton_app_effect {
    uint8_t action; /* enum baton_app_action */
    uint8_t app;    /* index in cfg.apps */
    uint8_t type;   /* START: enum baton_start_type; STOP: the app's
                       enum baton_app_status now (0: not in the state) */
    uint8_t from;   /* START: node it came from, or BATON_NODE_NONE;
                       STOP: its owner now, or BATON_NODE_NONE */
    uint8_t with_state; /* START: 1 = a STATE effect gave its state */
    uint8_t ok;         /* STATE: 1 = data is the state; STOP: 1 = it
                           moves from here on purpose (takeover) */
    uint8_t why;        /* STOP: enum baton_stop_why */
    uint8_t reserved[1];
    uint64_t epoch; /* START/EXPORT/STATE/TOKEN/KILL/LEASE: the
                       instance's token */
    const uint8_t *data; /* STATE: borrowed, valid during this effect */
    uint32_t len;
    uint64_t until_ms; /* LEASE: the lease's end, on the node's clock */
};

/* Names and calls: what the driver must tell its endpoints. */
enum baton_name_action {
    BATON_NAMEFX_DONE = 1, /* name write `id` finished with `code` */
    BATON_NAMEFX_LOST,     /* endpoint lost `name` (code = reason) */
};

struct baton_name_effect {
    uint8_t action; /* enum baton_name_action */
    uint8_t code;   /* DONE: enum baton_name_code; LOST: lost reason */
    uint8_t reserved[6];
    uint64_t id;       /* DONE: the request's id */
    uint64_t endpoint; /* LOST: the endpoint */
    /* LOST: the registration's token. DONE of a quorum name write: the
     * index of its committed entry (a registration's token). */
    uint64_t epoch;
    char name[BATON_GNAME_MAX + 1]; /* LOST */
};

enum baton_call_action {
    BATON_CALLFX_DELIVER = 1, /* give data to local endpoint */
    BATON_CALLFX_DONE,        /* call/send `id` finished: code, data */
};

struct baton_call_effect {
    uint8_t action; /* enum baton_call_action */
    uint8_t code;   /* DONE: enum baton_name_code */
    uint8_t from;   /* DELIVER: the caller's node (for the REPLY) */
    uint8_t flags;  /* DELIVER: BATON_CALL_WANTS_REPLY if a call */
    uint8_t reserved[4];
    uint64_t id;       /* DELIVER: call id to reply to; DONE: own id */
    baton_inc from_inc; /* DELIVER: the caller's life */
    uint64_t endpoint; /* DELIVER */
    const char *name;  /* DELIVER: the name called; borrowed */
    const uint8_t *data; /* borrowed: valid until the next step */
    uint32_t len;
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
    X(TILT, "tilt")                                                     \
    X(APP, "app")                                                       \
    X(RAFT, "raft")                                                     \
    X(MEMBERS, "members")

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
    BATON_DOWN_REMOVED,  /* the member list no longer has it */
};

/* BATON_TRACE_MEMBERS: what happened to the member list (reason). */
enum baton_members_what {
    BATON_MEMBERS_ADOPTED = 1, /* a newer list is ours now (a: version) */
    BATON_MEMBERS_CHANGED,     /* we decided a change (a: version) */
    BATON_MEMBERS_REMOVED,     /* a newer list lacks this node */
    BATON_MEMBERS_NOT_MEMBER,  /* peer spoke but is not in our list */
    BATON_MEMBERS_DIFFERS,     /* peer's list of our version differs */
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
    char app[BATON_APP_NAME_MAX + 1]; /* APP: the app's name */
    uint64_t a; /* see baton_trace_format() for each type's fields */
    uint64_t b;
    uint64_t c;
    struct baton_stream stream; /* ROLE/APPLIED/SNAPSHOT */
};

/* Upper bounds of one step's output. A coordinator sends at most
 * BATON_STEP_OPS_MAX ops per follower per step and a snapshot beyond
 * that (of at most BATON_SNAPSHOT_PARTS_MAX parts), which keeps one
 * step's sends below BATON_FX_SEND_MAX. */
#define BATON_FX_SEND_MAX                                      \
    (384 + (BATON_SNAPSHOT_PARTS_MAX - 1) * BATON_NODES_MAX + \
     BATON_RAFT_MSGS_MAX)
#define BATON_FX_TRACE_MAX (256)
/* Per app and step: a START or a STOP from the placement, and a STOP,
 * a KILL and a LEASE from the quorum leases. */
#define BATON_FX_APP_MAX (4 * BATON_APPS_MAX)
#define BATON_STEP_OPS_MAX (4)
#define BATON_FX_NAME_MAX (512)
#define BATON_FX_CALL_MAX (4)
/* Verbs a node sends on to its coordinator and waits for at once; a
 * step answers each at most once, and the verb it was given. */
#define BATON_ADMIN_PENDING_MAX (8)
#define BATON_FX_ADMIN_MAX (BATON_ADMIN_PENDING_MAX + 1)
/* Name writes a node holds while they are under way; the first
 * BATON_NAME_WINDOW of them are sent to the coordinator. */
#define BATON_NAME_PENDING_MAX (256)
#define BATON_NAME_WINDOW (64)
/* Calls this node sent on (its own, and forwarded ones) that wait for a
 * reply, watched so that losing the node they went to fails them
 * (docs/design/names.md §5); the oldest is forgotten beyond this. */
#define BATON_CALLS_WATCHED (256)

/* What the driver must do after a step. Valid until the next
 * baton_node_step() on the same node. */
struct baton_effects {
    unsigned n_send;
    struct baton_msg send[BATON_FX_SEND_MAX]; /* msg.to says to whom */
    unsigned n_trace;
    unsigned trace_dropped; /* traces lost to a full buffer */
    struct baton_trace trace[BATON_FX_TRACE_MAX];
    unsigned n_app;
    struct baton_app_effect app[BATON_FX_APP_MAX];
    unsigned n_name;
    unsigned name_dropped; /* LOST effects lost to a full buffer */
    struct baton_name_effect name[BATON_FX_NAME_MAX];
    unsigned n_call;
    struct baton_call_effect call[BATON_FX_CALL_MAX];
    /* Bit p: close the link to peer p (abortively) and redial it at once.
     * Set when p is declared down for silence: its connection is stalled
     * in the kernel's retransmission backoff, and a new one is the
     * fastest way back once the network heals (docs/design/core.md §2,
     * docs/design/transport.md §1). */
    uint32_t reset;
    /* Verbs answered (ADMIN events, by id): code, and the app's owner
     * and status before the verb. */
    unsigned n_admin;
    struct baton_admin_reply admin[BATON_FX_ADMIN_MAX];
    /* Non-NULL: the operator settings changed; the driver persists them
     * (docs/design/apps.md §7). Points into the node. */
    const struct baton_settings *settings;
    /* Quorum mode: what the driver must make durable (seq 0: nothing),
     * in order (the term and vote, then the log cut after from_index - 1
     * and entries appended), then confirm with BATON_EVENT_PERSISTED.
     * entries are valid until the next step. */
    struct baton_raft_write raft_write;
    /* Quorum mode: a snapshot of the grant table as of index (whose
     * entry has term), taken or installed (len 0: none). The driver
     * saves it, durably, BEFORE raft_write of the same step (that write
     * cuts the log after index: quorum.md §3 "Limits"); it is never
     * confirmed: a driver that cannot save it stops, as for a write.
     * data is valid until the next step. */
    struct {
        uint64_t index, term;
        const uint8_t *data;
        uint32_t len;
    } raft_snapshot;
    uint64_t deadline_ms; /* deliver a TICK at this time at the latest */
    /* Live membership: the member list changed in this step (adopted,
     * decided, or this node was removed): the driver persists
     * baton_node_members() (temp file, fsync, rename) before it relies
     * on it, dials slots that became used and forgets slots that became
     * free (membership.md §3). */
    bool members_changed;
    /* The answer to a REQUEST MEMBER_*: 0, or BATON_ENOTCOORD (ask the
     * coordinator), BATON_ESTATE (a change is still spreading, no
     * majority of the members is here, this node was removed, or a
     * quorum app is defined), BATON_EINVAL (name taken or unknown, the
     * coordinator itself, bad name, address or kind), BATON_EFULL (no
     * free slot). */
    int member_result;
};
_Static_assert(BATON_NODES_MAX <= 32, "baton_effects.reset has a bit per node");

/* This node's local app instances (node-local truth, reported to the
 * coordinator: docs/design/apps.md §3). */
enum baton_local_run {
    BATON_LOCAL_IDLE = 0,
    BATON_LOCAL_STARTING, /* START emitted, not ready yet */
    BATON_LOCAL_RUNNING,  /* ready */
    BATON_LOCAL_STOPPING, /* STOP emitted */
};

struct baton_local_app {
    uint8_t run;       /* enum baton_local_run */
    bool permit;       /* batonctl permit: default true */
    bool failed;       /* failed here: not placed here until permitted */
    bool wants;        /* batonctl takeover: move it here, keep it here */
    bool refused_seen; /* the refusal was logged here */
    uint64_t epoch;    /* epoch of the local instance (its token now) */
    uint64_t started;  /* the token it started with: events may name it */
    uint64_t exited;   /* epoch that ended normally, 0 if none */
    uint64_t last;     /* highest token started with here */
    uint64_t exported; /* takeover token we ran the export for */
    uint64_t state_for; /* takeover token whose STATE arrived here */
    bool state_ok;
    uint64_t wait_from_ms; /* when this node began waiting for a STATE */
    uint64_t digest;   /* of name, rank and failover timeout */
    /* Quorum apps (quorum.c): the lease end last given to the driver
     * (LEASE; 0: none yet for this instance), and whether the instance
     * was killed at its lease's end (KILL, once per instance). */
    uint64_t lease_told;
    bool killed;
    bool removed;      /* UNDEFINE: leaves, then is no longer reported */
};

/* What the coordinator holds of each member's latest report. */
struct baton_report_slot {
    baton_inc inc; /* the life that reported, 0 = none */
    uint64_t seq;  /* freshness: the REPORT message's seq */
    struct baton_app_reports rep;
};

/* What this node knows of one peer. */
struct baton_peer {
    baton_inc inc;          /* the peer's current life, 0 = unknown */
    uint64_t last_seq;      /* highest seq seen from that life */
    uint64_t status_seq;    /* seq of the message `status` came from */
    uint64_t join_seq;      /* seq of the last JOIN whose names we took */
    uint64_t last_heard_ms; /* last valid message */
    uint64_t status_ms;     /* when `status` last changed */
    uint64_t coord_since_ms; /* when status.coord last changed */
    uint64_t down_ms;       /* when last declared down */
    /* When the link came up, or the last reset was asked for while the
     * peer stayed unheard on it (docs/design/core.md §2). */
    uint64_t linked_ms;
    bool link_up;           /* per the transport */
    bool alive;             /* link up and heard within the timeout */
    bool heard;             /* has spoken since we booted */
    /* Its member list (membership.md §2), as its MEMBERS said on the
     * current link: version and digest (mknown: it said so). Only a
     * peer whose list is ours is listened to. */
    bool mknown;
    uint64_t mver;
    uint64_t mdigest;
    uint64_t mtold_ms; /* when our list was last sent to it as an answer */
    struct baton_status status; /* its latest announced status */
};

/* A quorum name (quorum.md §6) as the committed log has it. */
struct baton_qname {
    char name[BATON_GNAME_MAX + 1]; /* NUL-terminated; "" = slot free */
    uint8_t owner;                  /* the holder's node */
    uint8_t reserved[7];
    baton_inc inc;     /* the holder node's life */
    uint64_t endpoint; /* the holder endpoint, on its node */
    uint64_t epoch;    /* the registering entry's index (a token) */
};

/* A name write under way at its origin (docs/design/names.md §3). */
struct baton_name_pending {
    uint64_t req;      /* this node's request number */
    uint64_t id;       /* the driver's */
    uint64_t sent_ms;  /* 0 = not sent to the current coordinator */
    uint8_t kind;
    uint8_t answered;  /* the coordinator's answer is in: code (and, for
                          OK with an op, the index to wait for) */
    uint8_t code;
    uint8_t finished;  /* DONE given; leaves the ring at its head */
    uint8_t lost_reason; /* a loss notice held back until DONE, 0 = none */
    uint8_t reserved[3];
    struct baton_stream wait_stream;
    uint64_t wait_index;
    uint64_t lost_epoch; /* the held-back notice's registration */
    struct baton_name name; /* name, resolver, endpoint, meta */
};

/* COORDINATOR: the latest results given to one origin life, so a
 * repeated request gets the same answer (at most BATON_NAME_WINDOW
 * are in flight). */
struct baton_name_results {
    baton_inc inc;  /* the origin life, 0 = none */
    uint64_t next;  /* the request number expected next */
    struct {
        uint64_t req;
        uint8_t code;
        uint8_t reserved[7];
        uint64_t index;
    } r[BATON_NAME_WINDOW];
};

/* A call sent on to another node, waiting for its reply. */
struct baton_call_watch {
    uint64_t id;          /* the caller's call id */
    baton_inc caller_inc; /* the caller's life */
    baton_inc to_inc;     /* the life of the node it went to */
    uint8_t caller;       /* the caller's node (self for our own) */
    uint8_t to;           /* the node it went to */
    uint8_t used;
    uint8_t reserved[5];
};

/* Losses this node told its endpoints about lately (so a clash's
 * message and the snapshot that follows it tell once). */
#define BATON_NAME_TOLD_MAX (64)

struct baton_counters {
    uint64_t rejected[BATON_REJECT__COUNT];
    uint64_t received;
    uint64_t sent;
    uint64_t ops_applied;
    uint64_t snapshots_installed;
    uint64_t snapshots_sent;         /* whole snapshots, in any parts */
    uint64_t snapshot_parts;         /* parts of a snapshot received */
    uint64_t snapshot_parts_dropped; /* out of order: transfer restarts */
    uint64_t replica_mismatches; /* valid ops our replica could not apply */
    uint64_t claims; /* times this node became coordinator */
    uint64_t tilts;
    uint64_t name_writes;   /* COORDINATOR: name writes decided */
    uint64_t name_clashes;  /* COORDINATOR: clashes resolved */
    uint64_t name_lost_told; /* LOST effects given */
    uint64_t calls_forwarded;
    uint64_t raft_sent;     /* Raft messages sent */
    uint64_t raft_received; /* Raft messages taken by the group */
    uint64_t raft_writes;   /* raft_write effects given */
    uint64_t raft_snaps_taken;     /* grant-table snapshots taken */
    uint64_t raft_snaps_installed; /* ... and installed from a leader */
};

/* snap_next while no snapshot is arriving in parts. */
#define BATON_SNAP_NONE (UINT32_MAX)

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
    /* baton__replica_digest's cache: the state its base was taken of
     * (name_epoch_max aside), and that base. */
    struct baton_state digest_of;
    uint64_t digest_base;
    bool digest_ok;
    struct baton_stream stream;
    uint64_t applied; /* last index of `stream` applied */
    unsigned step_ops; /* COORDINATOR: ops ordered during this step */
    uint64_t snap_want[BATON_NODES_MAX]; /* snapshot due: join_seq + 1 */
    struct baton_stream snap_stream;     /* the stream they are of */
    /* A snapshot arriving in parts: whose (from, life, snap), the next
     * part expected (SNAP_NONE: wait for a part 0), and its entries so
     * far, applied only once the last part came. While parts keep
     * coming, JOIN and RESYNC are not repeated. */
    uint8_t snap_from;
    baton_inc snap_from_inc;
    uint64_t snap_id;
    uint32_t snap_next; /* or BATON_SNAP_NONE */
    uint64_t snap_last_ms; /* when the last part came */
    struct baton_names snap_names;
    uint64_t step_first_index;
    struct baton_op step_op[BATON_STEP_OPS_MAX];

    uint64_t seq; /* last message seq sent in this life */
    struct baton_peer peers[BATON_NODES_MAX];

    /* Apps (docs/design/apps.md). */
    struct baton_local_app local[BATON_APPS_MAX];
    bool report_dirty;       /* tell the coordinator now */
    uint64_t claim_ms;       /* COORDINATOR: when this claim began */
    struct baton_report_slot reports[BATON_NODES_MAX]; /* COORDINATOR */
    uint64_t app_deadline_ms[BATON_APPS_MAX]; /* COORDINATOR: WAITING */
    /* COORDINATOR: the app is kept where it runs while definitions
     * differ (apps.md §1.1); traced once per disagreement. */
    bool app_kept[BATON_APPS_MAX];
    /* COORDINATOR: when a member first defined the app at run time (its
     * slot was made): it is placed a heartbeat later, once the others
     * reloaded with it have said so (apps.md §1.1). */
    uint64_t app_new_ms[BATON_APPS_MAX];
    uint64_t joined_ms[BATON_NODES_MAX];      /* COORDINATOR: member since */
    /* Operator settings (settings.c, docs/design/apps.md §7): the newest
     * this node has seen, the members to send them to (COORDINATOR: bit
     * per node), and the verbs sent on to the coordinator. */
    struct baton_settings settings;
    uint32_t settings_to;
    uint64_t settings_next_ms; /* COORDINATOR: the next send to all */
    struct baton_admin_pending {
        uint64_t id;      /* 0: a free slot */
        uint64_t sent_ms;
        uint8_t to;       /* the coordinator it went to */
        uint8_t reserved[7];
        baton_inc to_inc;
    } admin_pend[BATON_ADMIN_PENDING_MAX];

    /* Names (docs/design/names.md). */
    struct baton_names names; /* this node's replica of the table */
    /* What this node's endpoints hold, by the answers they were given:
     * the truth about our own names that a JOIN carries. */
    struct baton_names own;
    uint64_t name_req_next;   /* last request number used */
    unsigned n_pending;
    unsigned pending_head; /* ring of pending writes, oldest first */
    uint8_t pend_target;   /* the coordinator they were sent to */
    uint64_t pend_retry_ms; /* when a RETRY last rewound the window */
    baton_inc pend_target_inc;
    struct baton_stream pend_stream;
    struct baton_name_pending pending[BATON_NAME_PENDING_MAX];
    struct baton_name_results results[BATON_NODES_MAX]; /* COORDINATOR */
    bool names_check; /* COORDINATOR: look for entries to purge */
    /* COORDINATOR: registrations that lost a clash here lately, so a JOIN
     * sent before its owner heard does not bring one back. */
    unsigned n_beaten;
    struct { uint64_t endpoint, epoch; uint8_t owner; } beaten[BATON_NAME_TOLD_MAX];
    unsigned n_told;
    struct { uint64_t endpoint, epoch, hash; } told[BATON_NAME_TOLD_MAX];
    unsigned n_watched;  /* used entries of watch */
    unsigned watch_next; /* the slot the next call takes */
    /* The peers' lives as the last full scan of watch saw them, and
     * whether an entry may be lost since (a scan left some for the next
     * step, or a call was watched while a peer had moved): while these
     * match the peers and watch_dirty is false no entry is lost, so a
     * step need not scan (registry.c watch_check). */
    bool watch_dirty;
    uint32_t watch_seen_alive;               /* a bit per peer */
    baton_inc watch_seen_inc[BATON_NODES_MAX];
    struct baton_call_watch watch[BATON_CALLS_WATCHED];

    /* Quorum mode (quorum.c): one Raft group over every node, run only
     * when an app is in quorum mode. */
    bool quorum;
    uint8_t raft_role;   /* the last role traced */
    uint64_t raft_term;  /* the last term traced */
    struct baton_raft raft;
    struct baton_raft_effects raft_fx;
    /* The grant table (quorum.md §4.2), the same on every node: per app
     * of cfg.apps, the node the log granted it to (BATON_NODE_NONE:
     * none yet), that node's life when granted (only that life may run
     * it) and the granting entry's index, its epoch. Rebuilt from the
     * log, applied in order up to grants_applied. */
    struct baton_grant {
        uint8_t owner;
        uint8_t reserved[7];
        baton_inc inc;
        uint64_t epoch;
    } grants[BATON_APPS_MAX];
    uint64_t grants_applied;
    /* The last snapshot of the table, as of snap_index (quorum.c):
     * what a leader sends a follower that lacks compacted entries (bit
     * per node in snap_wanted, sent one per step). */
    uint8_t snap[BATON_QUORUM_SNAP_MAX];
    uint32_t snap_len;
    uint64_t snap_index;
    uint32_t snap_wanted;
    /* Leases (quorum.md §4.2), per app, on this node's clock. Owner:
     * when its lease ends (0: none). Leader: until when a lease it
     * answered may still run anywhere (drift included): a grant moves
     * only after it. */
    uint64_t lease_end[BATON_APPS_MAX];
    uint64_t lease_given[BATON_APPS_MAX];
    /* The driver keeps a Raft store (cfg.raft_disk was given): without
     * one, votes and entries are not durable, a restart may vote twice
     * in a term, and no quorum app may start here (quorum.md §9). */
    bool raft_stored;
    /* Leader: the commit index at which a proposal was refused (the log
     * is full), so the same grant is not retried every millisecond. */
    uint64_t grant_refused_at;
    /* Names in quorum mode (quorum.md §6): the table the committed log
     * builds (applied with the grants, in log order; epoch = the
     * registering entry's index), and the leader's registrations whose
     * entry (index, term) is not yet committed. */
    struct baton_qname qnames[BATON_QNAMES_MAX];
    uint32_t n_qnames;
    struct baton_qname_pending {
        uint64_t id;    /* the driver's request id */
        uint64_t index; /* the entry proposed */
        uint64_t term;
        uint64_t until_ms; /* TIMEOUT then */
    } qpend[BATON_QNAME_PENDING];
    unsigned n_qpend;
    struct baton_counters counters;
    /* Live membership (membership.md): the agreed list, its digest, and
     * whether a newer list removed this node (it then takes part in
     * nothing until a list that has it again arrives). */
    struct baton_members members;
    uint64_t members_digest;
    bool removed;
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
/* How long a dial may take to complete its handshake: half a detection
 * window (500 ms at defaults). A SYN lost to a cut is retransmitted by
 * the kernel only after 1 s, 3 s, 7 s...: a fresh dial is faster, and
 * keeps heal -> linked within half a window (docs/design/transport.md
 * §1). */
uint64_t baton_node_dial_timeout_ms(const struct baton_node *n);

/* The entry called name as this node sees it now: NULL when there is
 * none or when its owner's node is down or gone to a new life in this
 * node's view (so a lost node's names vanish here at once, before the
 * coordinator purges them). A local read: no message. */
const struct baton_name *baton_node_whereis(const struct baton_node *n,
                                           const char *name);

/* Quorum mode: the node running the Raft group's leadership as this
 * node knows it (BATON_NODE_NONE: none, or no quorum app), the term,
 * and the committed index. */
unsigned baton_node_raft_leader(const struct baton_node *n);
/* Is cfg.apps[app] removed here (BATON_REQ_UNDEFINE) and its instance
 * here gone: the driver may reuse the index for another app. */
bool baton_node_app_gone(const struct baton_node *n, unsigned app);
uint64_t baton_node_raft_term(const struct baton_node *n);
uint64_t baton_node_raft_commit(const struct baton_node *n);
/* Quorum mode: the grant of cfg.apps[app] committed in the log and
 * applied here: its owner (BATON_NODE_NONE: none) and, in *epoch if not
 * NULL, the granting entry's index (0: none). */
unsigned baton_node_grant(const struct baton_node *n, unsigned app,
                          uint64_t *epoch);
/* Quorum mode: the holder of quorum name `name` (quorum.md §6), read
 * from the committed table by the leader while its leadership lease
 * holds at now_ms (the driver's clock now, not the last step's) and
 * once an entry of its term is committed: BATON_NAME_OK (and *out),
 * BATON_NAME_NOT_FOUND, or BATON_NAME_UNAVAILABLE (not the leader, no
 * lease, no quorum app): never a stale holder. A local read. */
unsigned baton_node_qwhereis(const struct baton_node *n,
                             uint64_t now_ms,
                             const char *name,
                             struct baton_qname *out);
/* Applies the log entry e at index x to a quorum name table t[BATON_
 * QNAMES_MAX] of *count names, as every node applies committed ones:
 * the answer its write gets (enum baton_name_code), or -1 if e is no
 * name entry. Pure; the simulator rebuilds the committed table with it. */
int baton_qnames_apply(struct baton_qname *t,
                       uint32_t *count,
                       unsigned n_nodes,
                       const struct baton_raft_entry *e,
                       uint64_t x);
/* Quorum mode: when this node's lease on cfg.apps[app] ends, on its
 * clock (0: it holds none). */
uint64_t baton_node_lease_end(const struct baton_node *n, unsigned app);

/* The agreed member list (membership.md); valid until the next step. */
const struct baton_members *baton_node_members(const struct baton_node *n);

/* A digest of the replica: state and name table. */
uint64_t baton_node_replica_digest(const struct baton_node *n);

const char *baton_name_code_text(unsigned code);
const char *baton_name_code_name(unsigned code);

/* Formats one trace event as a line without a newline, naming nodes by
 * names[id] (names may be NULL: ids are printed). Returns the length
 * snprintf would have written. */
int baton_trace_format(char *buf, size_t len, const struct baton_trace *t,
                       const char *const *names);

const char *baton_trace_name(unsigned type);
const char *baton_reject_name(unsigned reason);

#endif /* BATON_CORE_NODE_H */
