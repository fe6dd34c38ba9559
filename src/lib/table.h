/* The entries of the node's tables: endpoints, name writes and calls in
 * flight, one type each, shared by the library and the control socket's
 * sessions (docs/design/lib.md §4). */
#ifndef BATON_LIB_TABLE_H
#define BATON_LIB_TABLE_H

#include <baton/baton.h>

#include "deadline.h"
#include "../core/node.h"

struct baton;
struct baton_group;

enum lib_owner {
    LIB_OWNER_LIB = 0,  /* the library's (a baton_register, ...) */
    LIB_OWNER_SESSION,  /* the control socket's (session.h) */
};

/* An endpoint of the core. The library's hold one name each (name, h);
 * a control session's is embedded in its struct lib_session and holds
 * many names (its `held`), all dropped at once when it closes. */
struct lib_ep {
    uint64_t id;
    uint8_t owner; /* enum lib_owner */
    char name[BATON_GNAME_MAX + 1];
    const struct baton_handler *h;
    void *data;
    bool held; /* the register answered OK and no loss since */
    bool leaving; /* unregister under way: deliver nothing more */
};

/* A name write under way. A control socket's is embedded first in its
 * struct lib_pending_write (owner LIB_OWNER_SESSION, ep and cb unused). */
struct lib_op {
    uint64_t id;
    uint8_t owner; /* enum lib_owner */
    uint8_t kind;  /* BATON_NAME_REGISTER, ... */
    struct lib_ep *ep;
    baton_done_cb cb;
    void *cb_data;
};

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

#endif /* BATON_LIB_TABLE_H */
