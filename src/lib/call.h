/* A call in flight: one entry type for the node's one call table
 * (docs/design/lib.md §4). */
#ifndef BATON_LIB_CALL_H
#define BATON_LIB_CALL_H

#include <baton/baton.h>

#include "deadline.h"

struct baton;
struct baton_group;

enum lib_call_kind {
    LIB_CALL_USER = 1,  /* baton_call: the reply as it comes */
    LIB_CALL_LEADER,    /* baton_leader_call: 'R' + reply, or retry */
    LIB_CALL_JOIN,      /* a member asks the leader for its sync */
    LIB_CALL_LOCAL,     /* baton_group_call: answered in process */
    LIB_CALL_SESSION,   /* a control session's: a struct lib_pending_call
                         * (session.h), answered by the control socket */
};

/* A call this node made, waiting for its answer or its deadline: the
 * library's (b set) and the control sessions' (kind LIB_CALL_SESSION,
 * b NULL) are entries of one table (a libbaton node's `calls`). */
struct lib_call {
    uint64_t id;
    struct lib_deadline dl; /* in b->deadlines */
    struct baton *b;
    uint8_t kind;
    uint8_t buffered;      /* LEADER: waiting for a leader */
    uint8_t target;        /* LEADER, JOIN: the leader it went to */
    baton_reply_cb cb;
    void *cb_data;
    struct baton_group *group;
    struct lib_call *next, *prev; /* LEADER: the group's list */
    uint64_t epoch;        /* JOIN: the leader's epoch asked about */
    uint8_t *msg;          /* LEADER: 'C' + message, kept for a retry */
    size_t len;
};

#endif /* BATON_LIB_CALL_H */
