#include "../util/setup.h"

#include "msg.h"

const char *baton_msg_type_name(unsigned type)
{
    static const char *const names[] = {
        "?",      "heartbeat", "join",     "snapshot",    "op",        "resync",
        "report", "state",     "name_req", "name_reply",  "name_lost", "call",
        "reply",  "raft",      "admin",    "admin_reply", "settings"};

    _Static_assert(BATON_ARRAY_LEN(names) == BATON_MSG__COUNT,
                   "a name for every message type");
    return type < BATON_ARRAY_LEN(names) ? names[type] : "?";
}

const char *baton_role_name(unsigned role)
{
    static const char *const names[] = {"?", "seeking", "joining",
                                        "follower", "coordinator"};
    return role < BATON_ARRAY_LEN(names) ? names[role] : "?";
}

bool baton_stream_equal(const struct baton_stream *a,
                        const struct baton_stream *b)
{
    return a->coord == b->coord && a->coord_inc == b->coord_inc &&
           a->claim == b->claim;
}

/* A decoded APPEND holds its entries in the message; that must not make
 * every message (the effects hold hundreds) larger than a snapshot part
 * already makes it. */
_Static_assert(sizeof(((struct baton_msg *)0)->u.raft) <=
                   sizeof(((struct baton_msg *)0)->u.snapshot),
               "a Raft message fits the union as it was");
