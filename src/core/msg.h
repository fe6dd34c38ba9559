/* Core protocol messages (as values; src/wire encodes them for the
 * network). See docs/design/core.md §5. */
#ifndef BATON_CORE_MSG_H
#define BATON_CORE_MSG_H

#include "raft.h"
#include "state.h"

enum baton_msg_type {
    BATON_MSG_HEARTBEAT = 1, /* status only */
    BATON_MSG_JOIN,          /* "let me follow you", with my replica */
    BATON_MSG_SNAPSHOT,      /* welcome or resync: a full state */
    BATON_MSG_OP,            /* one ordered op of the coordinator's stream */
    BATON_MSG_RESYNC,        /* "I missed ops: send me a snapshot" */
    BATON_MSG_REPORT,        /* a node's apps, to its coordinator */
    BATON_MSG_STATE,         /* takeover: the old owner's exported state */
    BATON_MSG_NAME_REQ,      /* a name write, to the coordinator */
    BATON_MSG_NAME_REPLY,    /* the coordinator's answer to one */
    BATON_MSG_NAME_LOST,     /* "your endpoint lost this name": a clash */
    BATON_MSG_CALL,          /* a message or call to a name's owner */
    BATON_MSG_REPLY,         /* the answer to a call, to its caller */
    BATON_MSG_RAFT,          /* quorum mode: one Raft message (raft.h) */
    BATON_MSG_MEMBERS,       /* the sender's member list (membership.md) */
    /* Operator settings (docs/design/apps.md §7), wire version 6 on. */
    BATON_MSG_ADMIN,         /* an operator verb, to the coordinator */
    BATON_MSG_ADMIN_REPLY,   /* the coordinator's answer to one */
    BATON_MSG_SETTINGS,      /* the operator settings a node knows */
    BATON_MSG__COUNT
};

/* A node's role, as announced in every message it sends. */
enum baton_role {
    BATON_ROLE_SEEKING = 1, /* follows nobody yet */
    BATON_ROLE_JOINING,     /* has asked `coord` to accept it */
    BATON_ROLE_FOLLOWER,    /* follows `coord` */
    BATON_ROLE_COORDINATOR, /* coordinates its group */
    BATON_ROLE__COUNT
};

/* The member list (docs/design/membership.md): who is in the cluster,
 * at which node index, replicated with a version that only grows. A
 * slot of kind 0 is free: a removed node leaves a hole, an added one
 * takes the lowest free slot, so indexes never move. name and addr are
 * the driver's (a node name and its address); the core compares names
 * only (to find itself) and carries both. */
#define BATON_MEMBER_NAME_MAX (255)
#define BATON_MEMBER_ADDR_MAX (127)

enum baton_member_kind {
    BATON_MEMBER_FREE = 0,
    BATON_MEMBER_CANDIDATE, /* may coordinate */
    BATON_MEMBER_WORKER,    /* never coordinates */
    BATON_MEMBER_WITNESS,   /* never coordinates, holds no app */
    BATON_MEMBER__KIND_COUNT
};

struct baton_member {
    uint8_t kind; /* enum baton_member_kind */
    uint8_t reserved[7];
    char name[BATON_MEMBER_NAME_MAX + 1];
    char addr[BATON_MEMBER_ADDR_MAX + 1];
};

struct baton_members {
    uint64_t version; /* 0: the seed list of the config file */
    uint8_t n_slots;  /* slots in use or freed: 1..BATON_NODES_MAX */
    uint8_t reserved[7];
    struct baton_member slot[BATON_NODES_MAX];
};

/* One replication stream: what a coordinator orders during one claim.
 * Indexes are consecutive within a stream and start at 1. */
struct baton_stream {
    uint8_t coord;
    uint8_t reserved[7];
    baton_inc coord_inc;
    baton_epoch claim; /* the epoch the coordinator claimed with */
};

/* What every message says about its sender, so that peers always hold
 * a current view of who follows whom (docs/design/core.md §3.1). */
struct baton_status {
    uint8_t role;   /* enum baton_role */
    uint8_t coord;  /* JOINING/FOLLOWER: the coordinator; else NONE */
    uint8_t synced; /* 0 while booting (docs/design/core.md §3.3) */
    uint8_t reserved[5];
    /* Bit p: the sender hears peer p (alive in its failure detector);
     * bits of unconfigured nodes mean nothing. A coordinator fails
     * nothing over from a node a member still hears (docs/design/core.md
     * §4.4, indirect liveness). */
    uint64_t heard;
    baton_epoch epoch;    /* the sender's current epoch */
    uint64_t index;       /* COORDINATOR: last op index of its stream */
    struct baton_stream stream; /* COORDINATOR/FOLLOWER: its stream */
};

/* One app as a node reports it: its definition (what must agree
 * cluster-wide) and the node-local truth about it (apps.md §3). */
#define BATON_REPORT_PERMIT (1u << 0)
#define BATON_REPORT_FAILED (1u << 1)
#define BATON_REPORT_WANTS (1u << 2) /* batonctl takeover: pinned here */

struct baton_app_report {
    char name[BATON_APP_NAME_MAX + 1];
    uint8_t flags;  /* BATON_REPORT_* */
    uint8_t run;    /* enum baton_local_run of the local instance */
    uint8_t reserved[6];
    uint64_t epoch;  /* epoch of the local instance, 0 if none */
    uint64_t exited; /* epoch that ended normally, 0 if none */
    uint64_t last;   /* the highest token this node ever started it with */
    uint64_t failover_timeout_ms;
    uint8_t rank[BATON_NODES_MAX];
    uint8_t mode; /* enum baton_app_mode */
    uint8_t reserved2[7];
    uint64_t lease_ms, stop_margin_ms; /* quorum apps; else 0 */
};

struct baton_app_reports {
    uint8_t n;
    uint8_t reserved[7];
    struct baton_app_report r[BATON_APPS_MAX];
};

/* Operator settings (docs/design/apps.md §7): a small record outside
 * the replicated state, changed by verbs through the coordinator and
 * merged entry by entry, the higher version winning. Versions only
 * grow: (counter + 1) << 8 | the deciding coordinator's id, so two
 * sides of a partition never issue the same one. */
enum baton_admin_kind {
    BATON_ADMIN_MOVE = 1,  /* app: run on node now, pinned there */
    BATON_ADMIN_UNPIN,     /* app: no pin, the priority list rules */
    BATON_ADMIN_DISABLE,   /* app: runs nowhere, cluster-wide */
    BATON_ADMIN_ENABLE,    /* app: placed as usual again */
    BATON_ADMIN_STANDBY,   /* node: runs no app, its apps move away */
    BATON_ADMIN_UNSTANDBY, /* node: may run apps again */
    BATON_ADMIN__KIND_COUNT
};

#define BATON_ADMIN_CODE_MAP(X)                                         \
    X(OK, "ok")                                                         \
    X(UNCHANGED, "already so")                                          \
    X(NO_APP, "no such app in the cluster")                             \
    X(NOT_DEFINED, "the node does not define the app")                  \
    X(DOWN, "the node is down")                                         \
    X(IN_STANDBY, "the node is in standby")                             \
    X(NOT_PERMITTED, "the node does not permit the app")                \
    X(FAILED_THERE, "the app failed on the node")                       \
    X(IS_DISABLED, "the app is disabled")                               \
    X(FULL, "the settings table is full")                               \
    X(NO_COORD, "no coordinator")                                       \
    X(TIMEOUT, "no answer from the coordinator")                        \
    X(BUSY, "too many verbs under way")

enum baton_admin_code {
#define BATON__ADMIN_CODE_ENUM(name, text) BATON_ADMIN_##name,
    BATON_ADMIN_CODE_MAP(BATON__ADMIN_CODE_ENUM)
#undef BATON__ADMIN_CODE_ENUM
        BATON_ADMIN_CODE__COUNT
};

/* One verb: an app's (MOVE, UNPIN, DISABLE, ENABLE) or a node's. */
struct baton_admin_req {
    uint64_t id;  /* the origin's (driver's) request id, never 0 */
    uint8_t kind; /* enum baton_admin_kind */
    uint8_t node; /* MOVE: the target; STANDBY/UNSTANDBY: the node */
    uint8_t reserved[6];
    char name[BATON_APP_NAME_MAX + 1]; /* the app; "" for node verbs */
};

struct baton_admin_reply {
    uint64_t id;
    uint8_t code;   /* enum baton_admin_code */
    uint8_t owner;  /* the app's owner before the verb, or NONE */
    uint8_t status; /* the app's enum baton_app_status before it */
    uint8_t pin;    /* the node it was pinned to before it, or NONE */
    uint8_t reserved[4];
};

struct baton_app_setting {
    char name[BATON_APP_NAME_MAX + 1]; /* "" = a free entry */
    uint8_t disabled;
    uint8_t pin; /* the node it is pinned to, or BATON_NODE_NONE */
    uint8_t reserved[6];
    uint64_t ver; /* of disabled and pin together */
};

struct baton_settings {
    struct baton_app_setting app[BATON_APPS_MAX];
    uint8_t standby[BATON_NODES_MAX];
    uint64_t standby_ver[BATON_NODES_MAX]; /* 0: never set */
};

/* Name writes (docs/design/names.md §3). */
enum baton_name_kind {
    BATON_NAME_REGISTER = 1, /* fails if taken */
    BATON_NAME_REREGISTER,   /* atomic re-point, no "taken" check */
    BATON_NAME_UNREGISTER,   /* only the endpoint that holds it */
    BATON_NAME_DROP,         /* every name of the endpoint (it closed) */
    BATON_NAME__KIND_COUNT
};

/* Results of a name write (and of calls, below). */
#define BATON_NAME_CODE_MAP(X)                                    \
    X(OK, "ok")                                                   \
    X(TAKEN, "name is registered by another endpoint")            \
    X(NOT_OWNER, "name is not registered by this endpoint")       \
    X(NOT_FOUND, "no such name")                                  \
    X(HAS_NAME, "endpoint already holds a name (ask with multi)") \
    X(FULL, "name table full")                                    \
    X(INVALID, "invalid request")                                 \
    X(BUSY, "too many requests pending")                          \
    X(TIMEOUT, "timed out")                                       \
    X(UNREACHABLE, "the owner's node is unreachable")             \
    X(RETRY, "out of order: resend from index (internal)")        \
    X(UNAVAILABLE, "no quorum leader here: try again")

enum baton_name_code {
#define BATON__NAME_CODE_ENUM(name, text) BATON_NAME_##name,
    BATON_NAME_CODE_MAP(BATON__NAME_CODE_ENUM)
#undef BATON__NAME_CODE_ENUM
        BATON_NAME_CODE__COUNT
};

/* BATON_MSG_CALL flags. */
#define BATON_CALL_WANTS_REPLY (1u << 0) /* a call, not a send */
/* Hops a call may be forwarded when the name moved meanwhile. */
#define BATON_CALL_HOPS_MAX (3)

/* The largest exported app state carried by a takeover. */
#define BATON_STATE_MAX (65536)

/* A snapshot goes out in parts of at most BATON_SNAPSHOT_PART_NAMES
 * entries (one frame each: wire.md §2.4; a node config may ask for
 * smaller parts) and at most BATON_SNAPSHOT_PARTS_MAX parts, which
 * bounds a step's sends. The receiver applies it only once every part
 * came, in order (docs/design/names.md §1). */
#define BATON_SNAPSHOT_PART_NAMES (8192)
#define BATON_SNAPSHOT_PARTS_MAX (8)
/* A JOIN is one frame: it carries the joiner's own names, so a node's
 * endpoints hold at most this many names (a write beyond it fails with
 * FULL; docs/design/names.md §1). */
#define BATON_JOIN_NAMES_MAX (BATON_SNAPSHOT_PART_NAMES)

struct baton_msg {
    uint8_t type; /* enum baton_msg_type */
    uint8_t from; /* sender id */
    uint8_t to;   /* intended receiver id */
    uint8_t reserved[5];
    baton_inc from_inc; /* sender's incarnation (never 0) */
    baton_inc to_inc;   /* receiver's incarnation as the sender knows it,
                           0 if unknown */
    uint64_t seq;       /* per-sender-life counter, +1 per message */
    struct baton_status status;
    union {
        struct {
            struct baton_stream stream; /* the joiner's replica stream */
            struct baton_state replica;
            /* The joiner's name table; the coordinator takes the
             * joiner's own entries from it. Borrowed. */
            const struct baton_names *names;
        } join;
        struct {
            uint64_t join_seq; /* the JOIN answered; 0 for a resync */
            struct baton_stream stream;
            uint64_t index;
            struct baton_state state;
            /* Parts: every part repeats the fields above and carries a
             * slice of the table. `snap` names the transfer (the seq of
             * its first part), `part` counts from 0, `more` is 1 on
             * every part but the last. All 0: a whole table at once. */
            uint64_t snap;
            uint32_t part;
            uint8_t more;
            uint8_t reserved[3];
            /* The slots of names this part carries: [slot_first,
             * slot_end), or the whole table when slot_end is 0 (as
             * decoded: the decoder's table holds just this part). */
            uint32_t slot_first;
            uint32_t slot_end;
            const struct baton_names *names; /* the table; borrowed */
        } snapshot;
        struct {
            struct baton_stream stream;
            uint64_t index;
            struct baton_op op;
        } op;
        struct {
            struct baton_stream stream;
            uint64_t applied;
        } resync;
        struct baton_app_reports report;
        struct {
            char name[BATON_APP_NAME_MAX + 1];
            uint64_t epoch; /* the takeover's token */
            uint8_t ok;     /* 0: the export failed or there is none */
            uint8_t reserved[3];
            uint32_t len;
            const uint8_t *data; /* borrowed: valid for the step only */
        } state;
        struct {
            uint64_t req;   /* the origin's request number (from 1) */
            uint64_t first; /* the oldest request it still awaits */
            uint8_t kind;   /* enum baton_name_kind */
            uint8_t reserved[7];
            /* name, resolver, endpoint, meta; owner fields unused */
            struct baton_name name;
        } name_req;
        struct {
            uint64_t req;
            uint8_t code; /* enum baton_name_code */
            uint8_t reserved[7];
            /* OK with index > 0: complete once the origin has applied
             * index of stream (read-your-writes). */
            struct baton_stream stream;
            uint64_t index;
        } name_reply;
        struct {
            uint8_t reason; /* enum baton_lost_reason */
            uint8_t reserved[7];
            uint64_t endpoint;
            uint64_t epoch;
            char name[BATON_GNAME_MAX + 1];
        } name_lost;
        struct {
            uint64_t id;    /* the caller's call id */
            uint8_t caller; /* the caller's node (forwarding keeps it) */
            uint8_t hops;
            uint8_t flags;  /* BATON_CALL_* */
            uint8_t reserved[5];
            baton_inc caller_inc;
            char name[BATON_GNAME_MAX + 1];
            uint32_t len;
            const uint8_t *data; /* borrowed: valid for the step only */
        } call;
        struct {
            uint64_t id;  /* the call answered */
            uint8_t code; /* enum baton_name_code */
            uint8_t reserved[3];
            uint32_t len;
            const uint8_t *data; /* borrowed: valid for the step only */
        } reply;
        struct {
            /* 1: an answer, which is never answered in turn (so two
             * nodes that disagree exchange one list each, not a loop). */
            uint8_t reply;
            uint8_t reserved[7];
            const struct baton_members *list; /* borrowed */
        } members;
        struct {
            /* m.from and m.to are the message's from and to. m.entries
             * (an APPEND's) is borrowed: an encoder reads it wherever it
             * points; a decoded message points it at `entries` below,
             * so a copy of the message must point it at its own copy.
             * m.data (a SNAPSHOT's) is borrowed from the decoder's
             * input, valid for the step only. */
            struct baton_raft_msg m;
            struct baton_raft_entry entries[BATON_RAFT_BATCH];
        } raft;
        struct baton_admin_req admin;
        struct baton_admin_reply admin_reply;
        struct baton_settings settings;
    } u;
};

const char *baton_msg_type_name(unsigned type);
const char *baton_admin_code_text(unsigned code);
const char *baton_admin_code_name(unsigned code);

/* Merges src into dst entry by entry, the higher version winning.
 * Returns whether dst changed. The merge is commutative, associative
 * and idempotent (for versions, which are never reused). */
bool baton_settings_merge(struct baton_settings *dst,
                          const struct baton_settings *src);
/* The entry of app name in s, or NULL. */
const struct baton_app_setting *baton_settings_app(
    const struct baton_settings *s, const char *name);
/* Checks every field of a settings record for a cluster of n_nodes.
 * Errors: BATON_EBADMSG. */
int baton_settings_validate(const struct baton_settings *s, unsigned n_nodes);
const char *baton_role_name(unsigned role);

/* A digest of the list's contents (every slot's kind, name and address,
 * and n_slots; not the version): two lists of one version must have
 * the same digest. */
uint64_t baton_members_digest(const struct baton_members *l);

/* Checks a list's fields: n_slots in range, every used slot named (and
 * NUL-terminated), no name twice, free slots empty, no used slot beyond
 * n_slots. Errors: BATON_EBADMSG. */
int baton_members_validate(const struct baton_members *l);

/* The slot of the member called name, or -1. */
int baton_members_find(const struct baton_members *l, const char *name);

bool baton_stream_equal(const struct baton_stream *a,
                        const struct baton_stream *b);

#endif /* BATON_CORE_MSG_H */
