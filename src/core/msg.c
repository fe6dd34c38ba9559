#include "../util/setup.h"

#include "msg.h"

const char *baton_msg_type_name(unsigned type)
{
    static const char *const names[] = {"?",  "heartbeat", "join",
                                        "snapshot", "op", "resync",
                                        "report", "state"};
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
