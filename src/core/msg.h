/* Core protocol messages (as values; src/wire encodes them for the
 * network). See docs/design/core.md §5. */
#ifndef BATON_CORE_MSG_H
#define BATON_CORE_MSG_H

#include "state.h"

enum baton_msg_type {
    BATON_MSG_HEARTBEAT = 1, /* status only */
    BATON_MSG_JOIN,          /* "let me follow you", with my replica */
    BATON_MSG_SNAPSHOT,      /* welcome or resync: a full state */
    BATON_MSG_OP,            /* one ordered op of the coordinator's stream */
    BATON_MSG_RESYNC,        /* "I missed ops: send me a snapshot" */
    BATON_MSG_REPORT,        /* a node's apps, to its coordinator */
    BATON_MSG_STATE,         /* takeover: the old owner's exported state */
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
};

struct baton_app_reports {
    uint8_t n;
    uint8_t reserved[7];
    struct baton_app_report r[BATON_APPS_MAX];
};

/* The largest exported app state carried by a takeover. */
#define BATON_STATE_MAX (65536)

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
        } join;
        struct {
            uint64_t join_seq; /* the JOIN answered; 0 for a resync */
            struct baton_stream stream;
            uint64_t index;
            struct baton_state state;
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
    } u;
};

const char *baton_msg_type_name(unsigned type);
const char *baton_role_name(unsigned role);

bool baton_stream_equal(const struct baton_stream *a,
                        const struct baton_stream *b);

#endif /* BATON_CORE_MSG_H */
