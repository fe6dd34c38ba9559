#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "../util/error.h"
#include "state.h"

void baton_state_init(struct baton_state *s, unsigned n_nodes)
{
    BATON_ASSERT(n_nodes >= 1 && n_nodes <= BATON_NODES_MAX);
    memset(s, 0, sizeof(*s));
    s->n_nodes = (uint8_t)n_nodes;
    s->coord = BATON_NODE_NONE;
}

int baton_state_validate(const struct baton_state *s, unsigned n_nodes)
{
    if (s->n_nodes != n_nodes) {
        return BATON_EBADMSG;
    }
    if (s->coord == BATON_NODE_NONE) {
        /* A state that never had a coordinator has no epoch either. */
        if (s->epoch != 0 || s->coord_inc != 0) {
            return BATON_EBADMSG;
        }
    } else if (s->coord >= n_nodes || s->coord_inc == 0 ||
               baton_epoch_node(s->epoch) != s->coord ||
               baton_epoch_term(s->epoch) == 0) {
        return BATON_EBADMSG;
    }
    for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
        const struct baton_state_node *n = &s->nodes[i];
        if (i >= n_nodes && (n->inc != 0 || n->member != 0)) {
            return BATON_EBADMSG;
        }
        if (n->member > 1 || (n->member && n->inc == 0)) {
            return BATON_EBADMSG;
        }
    }
    return 0;
}

int baton_op_validate(const struct baton_op *op, unsigned n_nodes)
{
    switch (op->type) {
    case BATON_OP_COORD:
        if (op->node >= n_nodes || op->inc == 0 || op->fresh > 1 ||
            baton_epoch_node(op->epoch) != op->node ||
            baton_epoch_term(op->epoch) == 0) {
            return BATON_EBADMSG;
        }
        return 0;
    case BATON_OP_JOIN:
    case BATON_OP_LEAVE:
        return (op->node < n_nodes && op->inc != 0) ? 0 : BATON_EBADMSG;
    case BATON_OP_MERGE:
        return baton_state_validate(&op->other, n_nodes);
    default:
        return BATON_EBADMSG;
    }
}

static int apply_coord(struct baton_state *s, const struct baton_op *op)
{
    if (op->epoch < s->epoch) {
        return BATON_ESTALE;
    }
    if (s->nodes[op->node].inc > op->inc) {
        return BATON_ESTALE;
    }
    if (op->fresh) {
        /* A new claim: the previous group's members must join again. */
        for (unsigned i = 0; i < s->n_nodes; i++) {
            s->nodes[i].member = 0;
        }
    } else if (s->coord != op->node || s->coord_inc != op->inc) {
        /* Only the sitting coordinator may move its own epoch up. */
        return BATON_ESTALE;
    }
    s->coord = op->node;
    s->coord_inc = op->inc;
    s->epoch = op->epoch;
    s->nodes[op->node].inc = op->inc;
    s->nodes[op->node].member = 1;
    return 0;
}

int baton_state_apply(struct baton_state *out, const struct baton_state *in,
                      const struct baton_op *op)
{
    struct baton_state s;
    int rv;

    if (baton_op_validate(op, in->n_nodes) != 0) {
        rv = BATON_EBADMSG;
        goto out_unchanged;
    }
    s = *in;
    switch (op->type) {
    case BATON_OP_COORD:
        rv = apply_coord(&s, op);
        break;
    case BATON_OP_JOIN:
        rv = s.nodes[op->node].inc > op->inc ? BATON_ESTALE : 0;
        if (rv == 0) {
            s.nodes[op->node].inc = op->inc;
            s.nodes[op->node].member = 1;
        }
        break;
    case BATON_OP_LEAVE:
        /* Leaving concerns one life only: a newer life that joined since
         * stays a member. */
        rv = s.nodes[op->node].inc > op->inc ? BATON_ESTALE : 0;
        if (rv == 0) {
            s.nodes[op->node].inc = op->inc;
            s.nodes[op->node].member = 0;
        }
        break;
    case BATON_OP_MERGE:
        baton_state_merge(&s, &s, &op->other);
        rv = 0;
        break;
    default:
        BATON_ASSERT(0 && "validated op type");
        rv = BATON_EBADMSG;
    }
    if (rv != 0) {
        goto out_unchanged;
    }
    *out = s;
    return 0;

out_unchanged:
    if (out != in) {
        *out = *in;
    }
    return rv;
}

void baton_state_merge(struct baton_state *out, const struct baton_state *a,
                       const struct baton_state *b)
{
    struct baton_state m;

    BATON_ASSERT(a->n_nodes == b->n_nodes);
    m = *a;
    for (unsigned i = 0; i < m.n_nodes; i++) {
        baton_inc ib = b->nodes[i].inc;
        if (ib > m.nodes[i].inc) {
            /* b has seen a newer life of node i than a: the life a knows
             * is over, so it cannot still be one of a's members. */
            m.nodes[i].inc = ib;
            m.nodes[i].member = 0;
        }
    }
    if (m.coord != BATON_NODE_NONE &&
        m.nodes[m.coord].inc != m.coord_inc) {
        /* Only possible when b knows a newer life of a's coordinator;
         * keep a's record of its coordinator consistent with that. */
        m.nodes[m.coord].member = 0;
    }
    *out = m;
}

static uint64_t fnv(uint64_t h, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        h ^= (v >> (i * 8)) & 0xffu;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t baton_state_digest(const struct baton_state *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    h = fnv(h, s->n_nodes);
    h = fnv(h, s->coord);
    h = fnv(h, s->coord_inc);
    h = fnv(h, s->epoch);
    for (unsigned i = 0; i < s->n_nodes; i++) {
        h = fnv(h, s->nodes[i].inc);
        h = fnv(h, s->nodes[i].member);
    }
    return h;
}

bool baton_state_equal(const struct baton_state *a,
                       const struct baton_state *b)
{
    if (a->n_nodes != b->n_nodes || a->coord != b->coord ||
        a->coord_inc != b->coord_inc || a->epoch != b->epoch) {
        return false;
    }
    for (unsigned i = 0; i < a->n_nodes; i++) {
        if (a->nodes[i].inc != b->nodes[i].inc ||
            a->nodes[i].member != b->nodes[i].member) {
            return false;
        }
    }
    return true;
}

unsigned baton_state_members(const struct baton_state *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->n_nodes; i++) {
        n += s->nodes[i].member;
    }
    return n;
}

const char *baton_op_type_name(unsigned type)
{
    static const char *const names[] = {"?", "coord", "join", "leave",
                                        "merge"};
    return type < BATON_ARRAY_LEN(names) ? names[type] : "?";
}
