#include "../util/setup.h"

#include <string.h>

#include "../util/error.h"
#include "msg.h"

const char *baton_msg_type_name(unsigned type)
{
    static const char *const names[] = {
        "?",         "heartbeat",  "join",      "snapshot", "op",
        "resync",    "report",     "state",     "name_req", "name_reply",
        "name_lost", "call",       "reply",     "raft",     "members",
        "admin",     "admin_reply", "settings"};

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

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t baton_members_digest(const struct baton_members *l)
{
    uint64_t h = 0xcbf29ce484222325ull;

    h = fnv_bytes(h, &l->n_slots, 1);
    for (unsigned i = 0; i < l->n_slots && i < BATON_NODES_MAX; i++) {
        const struct baton_member *m = &l->slot[i];
        /* The terminating NULs keep "ab"+"c" apart from "a"+"bc". */
        h = fnv_bytes(h, &m->kind, 1);
        h = fnv_bytes(h, m->name, strnlen(m->name, sizeof(m->name)) + 1);
        h = fnv_bytes(h, m->addr, strnlen(m->addr, sizeof(m->addr)) + 1);
    }
    return h;
}

static bool member_valid(const struct baton_member *m, bool in_range)
{
    size_t name = strnlen(m->name, sizeof(m->name));
    size_t addr = strnlen(m->addr, sizeof(m->addr));

    if (name == sizeof(m->name) || addr == sizeof(m->addr) ||
        m->kind >= BATON_MEMBER__KIND_COUNT) {
        return false;
    }
    if (m->kind == BATON_MEMBER_FREE || !in_range) {
        return m->kind == BATON_MEMBER_FREE && name == 0 && addr == 0;
    }
    return name > 0;
}

int baton_members_validate(const struct baton_members *l)
{
    unsigned used = 0;

    if (l->n_slots < 1 || l->n_slots > BATON_NODES_MAX) {
        return BATON_EBADMSG;
    }
    for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
        const struct baton_member *m = &l->slot[i];
        if (!member_valid(m, i < l->n_slots)) {
            return BATON_EBADMSG;
        }
        if (m->kind == BATON_MEMBER_FREE) {
            continue;
        }
        used++;
        for (unsigned j = 0; j < i; j++) {
            if (l->slot[j].kind != BATON_MEMBER_FREE &&
                strcmp(l->slot[j].name, m->name) == 0) {
                return BATON_EBADMSG;
            }
        }
    }
    return used > 0 ? 0 : BATON_EBADMSG;
}

int baton_members_find(const struct baton_members *l, const char *name)
{
    for (unsigned i = 0; i < l->n_slots && i < BATON_NODES_MAX; i++) {
        if (l->slot[i].kind != BATON_MEMBER_FREE &&
            strcmp(l->slot[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}
