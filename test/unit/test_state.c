/* Unit tests for the pure replicated-state functions (src/core/state.c). */
#include "../../src/util/setup.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../src/core/msg.h"
#include "../../src/core/prng.h"
#include "../../src/core/state.h"
#include "../../src/util/error.h"

/* Iterations of the randomized property checks. */
#define PROPERTY_ROUNDS (3000)

/* Helpers */

/* A valid 3-node state coordinated by node 0 (inc 3, epoch 3.0) with
 * nodes 1 (inc 4) and 2 (inc 2) as members. */
static void three_members(struct baton_state *s)
{
    baton_state_init(s, 3);
    s->coord = 0;
    s->coord_inc = 3;
    s->epoch = baton_epoch_make(3, 0);
    s->nodes[0].inc = 3;
    s->nodes[0].member = 1;
    s->nodes[1].inc = 4;
    s->nodes[1].member = 1;
    s->nodes[2].inc = 2;
    s->nodes[2].member = 1;
}

static struct baton_op coord_op(unsigned node, baton_inc inc,
                                baton_epoch epoch, bool fresh)
{
    struct baton_op op;

    memset(&op, 0, sizeof(op));
    op.type = BATON_OP_COORD;
    op.node = (uint8_t)node;
    op.inc = inc;
    op.epoch = epoch;
    op.fresh = fresh ? 1 : 0;
    return op;
}

static struct baton_op member_op(unsigned type, unsigned node, baton_inc inc)
{
    struct baton_op op;

    memset(&op, 0, sizeof(op));
    op.type = (uint8_t)type;
    op.node = (uint8_t)node;
    op.inc = inc;
    return op;
}

/* A random state that baton_state_validate() accepts, shaped like the
 * ones the protocol produces: small incarnations (so that two states
 * often know the same life), members only with a known life, and a
 * coordinator whose recorded life is its table entry. */
static void random_state_terms(struct baton_prng *p, struct baton_state *s,
                               unsigned n_nodes, uint64_t terms)
{
    baton_state_init(s, n_nodes);
    for (unsigned i = 0; i < n_nodes; i++) {
        s->nodes[i].inc = baton_prng_below(p, 6);
        s->nodes[i].member =
            (uint8_t)(s->nodes[i].inc != 0 && baton_prng_chance(p, 500000));
    }
    if (baton_prng_chance(p, 700000)) {
        unsigned c = (unsigned)baton_prng_below(p, n_nodes);
        if (s->nodes[c].inc == 0) {
            s->nodes[c].inc = 1 + baton_prng_below(p, 5);
        }
        s->coord = (uint8_t)c;
        s->coord_inc = s->nodes[c].inc;
        s->nodes[c].member = 1;
        s->epoch = baton_epoch_make(1 + baton_prng_below(p, terms), c);
    }
}

static void random_state(struct baton_prng *p, struct baton_state *s,
                         unsigned n_nodes)
{
    random_state_terms(p, s, n_nodes, 1000);
}

static unsigned random_n_nodes(struct baton_prng *p)
{
    return 1 + (unsigned)baton_prng_below(p, BATON_NODES_MAX);
}

static bool incs_equal(const struct baton_state *a,
                       const struct baton_state *b)
{
    if (a->n_nodes != b->n_nodes) {
        return false;
    }
    for (unsigned i = 0; i < a->n_nodes; i++) {
        if (a->nodes[i].inc != b->nodes[i].inc) {
            return false;
        }
    }
    return true;
}

/* init and validate */

static void test_state_init(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    for (unsigned n = 1; n <= BATON_NODES_MAX; n++) {
        memset(&s, 0xa5, sizeof(s));
        baton_state_init(&s, n);
        assert_int_equal(s.n_nodes, n);
        assert_int_equal(s.coord, BATON_NODE_NONE);
        assert_int_equal(s.coord_inc, 0);
        assert_int_equal(s.epoch, 0);
        for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
            assert_int_equal(s.nodes[i].inc, 0);
            assert_int_equal(s.nodes[i].member, 0);
        }
        assert_int_equal(baton_state_members(&s), 0);
        assert_int_equal(baton_state_validate(&s, n), 0);
    }
}

static void test_state_validate_accepts_good(void **state)
{
    struct baton_state s;
    struct baton_prng p;

    BATON_UNUSED(state);
    three_members(&s);
    assert_int_equal(baton_state_validate(&s, 3), 0);
    assert_int_equal(baton_state_members(&s), 3);

    /* A known life that is not a member is fine. */
    s.nodes[2].member = 0;
    assert_int_equal(baton_state_validate(&s, 3), 0);

    /* The largest cluster, coordinated by its last node. */
    baton_state_init(&s, BATON_NODES_MAX);
    s.coord = BATON_NODES_MAX - 1;
    s.coord_inc = 1;
    s.epoch = baton_epoch_make(1, BATON_NODES_MAX - 1);
    s.nodes[BATON_NODES_MAX - 1].inc = 1;
    s.nodes[BATON_NODES_MAX - 1].member = 1;
    assert_int_equal(baton_state_validate(&s, BATON_NODES_MAX), 0);

    /* Reserved bytes are not fields. */
    s.reserved[0] = 0x11;
    s.nodes[0].reserved[3] = 0x22;
    assert_int_equal(baton_state_validate(&s, BATON_NODES_MAX), 0);

    baton_prng_seed(&p, 1);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned n = random_n_nodes(&p);
        random_state(&p, &s, n);
        assert_int_equal(baton_state_validate(&s, n), 0);
    }
}

static void test_state_validate_rejects_n_nodes_mismatch(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    three_members(&s);
    assert_int_equal(baton_state_validate(&s, 2), BATON_EBADMSG);
    assert_int_equal(baton_state_validate(&s, 4), BATON_EBADMSG);
    baton_state_init(&s, 3);
    assert_int_equal(baton_state_validate(&s, 1), BATON_EBADMSG);
}

static void test_state_validate_rejects_coord_out_of_range(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    baton_state_init(&s, 3);
    s.coord = 3;
    s.coord_inc = 1;
    s.epoch = baton_epoch_make(1, 3);
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
    s.coord = 0xfe;
    s.epoch = baton_epoch_make(1, 0xfe);
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
}

static void test_state_validate_rejects_epoch_not_coords(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    three_members(&s);
    s.epoch = baton_epoch_make(3, 1); /* claimed by node 1, coord is 0 */
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
}

static void test_state_validate_rejects_term_zero(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    three_members(&s);
    s.epoch = baton_epoch_make(0, 0);
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
}

static void test_state_validate_rejects_coord_without_inc(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    three_members(&s);
    s.coord_inc = 0;
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
}

static void test_state_validate_rejects_no_coord_with_epoch(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    baton_state_init(&s, 3);
    s.epoch = baton_epoch_make(1, 0);
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
    baton_state_init(&s, 3);
    s.epoch = 1; /* term 0 but non-zero */
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
    baton_state_init(&s, 3);
    s.coord_inc = 1;
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
}

static void test_state_validate_rejects_member_flag_2(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    three_members(&s);
    s.nodes[1].member = 2;
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
    s.nodes[1].member = 0xff;
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
}

static void test_state_validate_rejects_member_without_inc(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    three_members(&s);
    s.nodes[2].inc = 0;
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
}

static void test_state_validate_rejects_data_beyond_n_nodes(void **state)
{
    struct baton_state s;

    BATON_UNUSED(state);
    three_members(&s);
    s.nodes[3].inc = 1;
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);

    three_members(&s);
    s.nodes[BATON_NODES_MAX - 1].inc = 7;
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);

    three_members(&s);
    s.nodes[5].member = 1;
    assert_int_equal(baton_state_validate(&s, 3), BATON_EBADMSG);
}

/* op_validate */

static void test_op_validate_coord(void **state)
{
    struct baton_op op;

    BATON_UNUSED(state);
    op = coord_op(2, 5, baton_epoch_make(1, 2), true);
    assert_int_equal(baton_op_validate(&op, 3), 0);
    op = coord_op(2, 5, baton_epoch_make(9, 2), false);
    assert_int_equal(baton_op_validate(&op, 3), 0);

    op = coord_op(3, 5, baton_epoch_make(1, 3), true); /* node >= n */
    assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
    op = coord_op(2, 0, baton_epoch_make(1, 2), true); /* inc 0 */
    assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
    op = coord_op(2, 5, baton_epoch_make(1, 2), true);
    op.fresh = 2;
    assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
    op = coord_op(2, 5, baton_epoch_make(1, 1), true); /* not its epoch */
    assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
    op = coord_op(2, 5, baton_epoch_make(0, 2), true); /* term 0 */
    assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
}

static void test_op_validate_join_leave(void **state)
{
    static const unsigned types[] = {BATON_OP_JOIN, BATON_OP_LEAVE};
    struct baton_op op;

    BATON_UNUSED(state);
    for (unsigned t = 0; t < BATON_ARRAY_LEN(types); t++) {
        op = member_op(types[t], 2, 1);
        assert_int_equal(baton_op_validate(&op, 3), 0);
        op = member_op(types[t], 3, 1);
        assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
        op = member_op(types[t], 0xff, 1);
        assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
        op = member_op(types[t], 2, 0);
        assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
    }
}

static void test_op_validate_merge(void **state)
{
    struct baton_op op;

    BATON_UNUSED(state);
    memset(&op, 0, sizeof(op));
    op.type = BATON_OP_MERGE;
    three_members(&op.other);
    assert_int_equal(baton_op_validate(&op, 3), 0);
    /* A replica from before a node was added has fewer slots: valid,
     * and widened when merged; one with more slots than ours is not. */
    assert_int_equal(baton_op_validate(&op, 4), 0);
    assert_int_equal(baton_op_validate(&op, 2), BATON_EBADMSG);
    op.other.nodes[1].member = 2;
    assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
}

static void test_op_validate_bad_type(void **state)
{
    static const uint8_t types[] = {0, BATON_OP__COUNT, 99, 0xff};
    struct baton_op op;

    BATON_UNUSED(state);
    for (unsigned t = 0; t < BATON_ARRAY_LEN(types); t++) {
        /* Fields that would be valid for a JOIN. */
        op = member_op(types[t], 1, 1);
        assert_int_equal(baton_op_validate(&op, 3), BATON_EBADMSG);
    }
}

/* apply */

static void test_apply_coord_first_claim(void **state)
{
    struct baton_state in;
    struct baton_state out;
    struct baton_op op = coord_op(1, 5, baton_epoch_make(1, 1), true);

    BATON_UNUSED(state);
    baton_state_init(&in, 3);
    assert_int_equal(baton_state_apply(&out, &in, &op), 0);
    assert_int_equal(out.n_nodes, 3);
    assert_int_equal(out.coord, 1);
    assert_int_equal(out.coord_inc, 5);
    assert_int_equal(out.epoch, baton_epoch_make(1, 1));
    assert_int_equal(out.nodes[1].inc, 5);
    assert_int_equal(out.nodes[1].member, 1);
    assert_int_equal(out.nodes[0].inc, 0);
    assert_int_equal(out.nodes[2].inc, 0);
    assert_int_equal(baton_state_members(&out), 1);
    assert_int_equal(baton_state_validate(&out, 3), 0);
    /* in is borrowed, not touched. */
    assert_int_equal(in.coord, BATON_NODE_NONE);
}

static void test_apply_coord_fresh_resets_members(void **state)
{
    struct baton_state in;
    struct baton_state out;
    struct baton_op op = coord_op(2, 6, baton_epoch_make(4, 2), true);

    BATON_UNUSED(state);
    three_members(&in);
    assert_int_equal(baton_state_apply(&out, &in, &op), 0);
    assert_int_equal(out.coord, 2);
    assert_int_equal(out.coord_inc, 6);
    assert_int_equal(out.epoch, baton_epoch_make(4, 2));
    /* Only the claimer is a member; the others' lives are remembered. */
    assert_int_equal(out.nodes[0].member, 0);
    assert_int_equal(out.nodes[0].inc, 3);
    assert_int_equal(out.nodes[1].member, 0);
    assert_int_equal(out.nodes[1].inc, 4);
    assert_int_equal(out.nodes[2].member, 1);
    assert_int_equal(out.nodes[2].inc, 6);
    assert_int_equal(baton_state_members(&out), 1);
    assert_int_equal(baton_state_validate(&out, 3), 0);
}

/* The sitting coordinator re-claiming with a fresh op also resets. */
static void test_apply_coord_fresh_by_sitting_coord(void **state)
{
    struct baton_state s;
    struct baton_op op = coord_op(0, 3, baton_epoch_make(5, 0), true);

    BATON_UNUSED(state);
    three_members(&s);
    assert_int_equal(baton_state_apply(&s, &s, &op), 0);
    assert_int_equal(s.coord, 0);
    assert_int_equal(s.epoch, baton_epoch_make(5, 0));
    assert_int_equal(baton_state_members(&s), 1);
    assert_int_equal(s.nodes[0].member, 1);
}

static void test_apply_coord_move_up_keeps_members(void **state)
{
    struct baton_state in;
    struct baton_state out;
    struct baton_op op = coord_op(0, 3, baton_epoch_make(7, 0), false);

    BATON_UNUSED(state);
    three_members(&in);
    assert_int_equal(baton_state_apply(&out, &in, &op), 0);
    assert_int_equal(out.coord, 0);
    assert_int_equal(out.coord_inc, 3);
    assert_int_equal(out.epoch, baton_epoch_make(7, 0));
    assert_int_equal(baton_state_members(&out), 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(out.nodes[i].inc, in.nodes[i].inc);
        assert_int_equal(out.nodes[i].member, 1);
    }
}

static void expect_refused(const struct baton_state *in,
                           const struct baton_op *op, int rv)
{
    struct baton_state out;
    struct baton_state alias = *in;

    /* Separate out: overwritten with a copy of in. */
    memset(&out, 0x5a, sizeof(out));
    assert_int_equal(baton_state_apply(&out, in, op), rv);
    assert_memory_equal(&out, in, sizeof(out));
    /* Aliased: left as it was. */
    assert_int_equal(baton_state_apply(&alias, &alias, op), rv);
    assert_memory_equal(&alias, in, sizeof(alias));
}

static void test_apply_coord_not_sitting_refused(void **state)
{
    struct baton_state s;
    struct baton_op op;

    BATON_UNUSED(state);
    three_members(&s);
    /* Another node may not move the epoch without a fresh claim... */
    op = coord_op(1, 4, baton_epoch_make(5, 1), false);
    expect_refused(&s, &op, BATON_ESTALE);
    /* ...nor may a new life of the coordinator. */
    op = coord_op(0, 8, baton_epoch_make(5, 0), false);
    expect_refused(&s, &op, BATON_ESTALE);
    /* With no coordinator, there is nobody sitting. */
    baton_state_init(&s, 3);
    op = coord_op(1, 4, baton_epoch_make(1, 1), false);
    expect_refused(&s, &op, BATON_ESTALE);
}

static void test_apply_coord_lower_epoch_refused(void **state)
{
    struct baton_state s;
    struct baton_op op;

    BATON_UNUSED(state);
    three_members(&s); /* epoch 3.0 */
    op = coord_op(1, 4, baton_epoch_make(2, 1), true);
    expect_refused(&s, &op, BATON_ESTALE);
    op = coord_op(0, 3, baton_epoch_make(2, 0), false);
    expect_refused(&s, &op, BATON_ESTALE);
    op = coord_op(0, 3, baton_epoch_make(2, 0), true);
    expect_refused(&s, &op, BATON_ESTALE);
    /* Same term, lower claimer id: still a lower epoch. */
    s.coord = 1;
    s.coord_inc = 4;
    s.epoch = baton_epoch_make(3, 1);
    op = coord_op(0, 3, baton_epoch_make(3, 0), true);
    expect_refused(&s, &op, BATON_ESTALE);
}

static void test_apply_coord_older_life_refused(void **state)
{
    struct baton_state s;
    struct baton_op op;

    BATON_UNUSED(state);
    three_members(&s); /* node 1 is known at inc 4 */
    op = coord_op(1, 3, baton_epoch_make(9, 1), true);
    expect_refused(&s, &op, BATON_ESTALE);
}

static void test_apply_join_leave(void **state)
{
    struct baton_state s;
    struct baton_state out;
    struct baton_op op;

    BATON_UNUSED(state);
    baton_state_init(&s, 3);
    op = coord_op(0, 3, baton_epoch_make(1, 0), true);
    assert_int_equal(baton_state_apply(&s, &s, &op), 0);

    op = member_op(BATON_OP_JOIN, 1, 4);
    assert_int_equal(baton_state_apply(&out, &s, &op), 0);
    assert_int_equal(out.nodes[1].inc, 4);
    assert_int_equal(out.nodes[1].member, 1);
    assert_int_equal(baton_state_members(&out), 2);
    /* Nothing else moved. */
    assert_int_equal(out.coord, 0);
    assert_int_equal(out.epoch, baton_epoch_make(1, 0));
    assert_int_equal(out.nodes[2].inc, 0);
    s = out;

    /* The same life joining again is harmless. */
    assert_int_equal(baton_state_apply(&out, &s, &op), 0);
    assert_true(baton_state_equal(&out, &s));

    /* A newer life joins: the incarnation rises. */
    op = member_op(BATON_OP_JOIN, 1, 9);
    assert_int_equal(baton_state_apply(&s, &s, &op), 0);
    assert_int_equal(s.nodes[1].inc, 9);
    assert_int_equal(s.nodes[1].member, 1);

    op = member_op(BATON_OP_LEAVE, 1, 9);
    assert_int_equal(baton_state_apply(&s, &s, &op), 0);
    assert_int_equal(s.nodes[1].inc, 9);
    assert_int_equal(s.nodes[1].member, 0);
    assert_int_equal(baton_state_members(&s), 1);

    /* A LEAVE of a newer life than known records that life. */
    op = member_op(BATON_OP_LEAVE, 2, 6);
    assert_int_equal(baton_state_apply(&s, &s, &op), 0);
    assert_int_equal(s.nodes[2].inc, 6);
    assert_int_equal(s.nodes[2].member, 0);
    assert_int_equal(baton_state_validate(&s, 3), 0);
}

static void test_apply_join_leave_older_life_refused(void **state)
{
    struct baton_state s;
    struct baton_op op;

    BATON_UNUSED(state);
    three_members(&s); /* node 1 at inc 4 */
    op = member_op(BATON_OP_JOIN, 1, 3);
    expect_refused(&s, &op, BATON_ESTALE);
    /* An old life leaving does not remove the newer one. */
    op = member_op(BATON_OP_LEAVE, 1, 3);
    expect_refused(&s, &op, BATON_ESTALE);
    op = member_op(BATON_OP_LEAVE, 1, 1);
    expect_refused(&s, &op, BATON_ESTALE);
}

static void test_apply_invalid_op(void **state)
{
    struct baton_state s;
    struct baton_op op;

    BATON_UNUSED(state);
    three_members(&s);
    op = member_op(0, 1, 4);
    expect_refused(&s, &op, BATON_EBADMSG);
    op = member_op(BATON_OP__COUNT, 1, 4);
    expect_refused(&s, &op, BATON_EBADMSG);
    op = member_op(BATON_OP_JOIN, 3, 4); /* node out of range */
    expect_refused(&s, &op, BATON_EBADMSG);
    op = member_op(BATON_OP_LEAVE, 1, 0);
    expect_refused(&s, &op, BATON_EBADMSG);
    op = coord_op(1, 4, baton_epoch_make(9, 2), true); /* not its epoch */
    expect_refused(&s, &op, BATON_EBADMSG);
    memset(&op, 0, sizeof(op));
    op.type = BATON_OP_MERGE;
    baton_state_init(&op.other, 4); /* another cluster size */
    expect_refused(&s, &op, BATON_EBADMSG);
}

static void test_apply_aliasing(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 2);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned n = random_n_nodes(&p);
        struct baton_state in;
        struct baton_state out;
        struct baton_state alias;
        struct baton_op op;
        int rv;

        random_state(&p, &in, n);
        op = member_op(1 + (unsigned)baton_prng_below(&p, 3),
                       (unsigned)baton_prng_below(&p, n),
                       1 + baton_prng_below(&p, 6));
        if (op.type == BATON_OP_COORD) {
            op.fresh = (uint8_t)baton_prng_below(&p, 2);
            op.epoch = baton_epoch_make(1 + baton_prng_below(&p, 1000),
                                        op.node);
        }
        rv = baton_state_apply(&out, &in, &op);
        alias = in;
        assert_int_equal(baton_state_apply(&alias, &alias, &op), rv);
        assert_memory_equal(&alias, &out, sizeof(out));
        if (rv == 0) {
            assert_int_equal(baton_state_validate(&out, n), 0);
        }
    }
}

static void test_apply_merge_equals_merge(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 3);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned n = random_n_nodes(&p);
        struct baton_state a;
        struct baton_state merged;
        struct baton_state applied;
        struct baton_op op;

        memset(&op, 0, sizeof(op));
        op.type = BATON_OP_MERGE;
        random_state(&p, &a, n);
        random_state(&p, &op.other, n);
        baton_state_merge(&merged, &a, &op.other);
        assert_int_equal(baton_state_apply(&applied, &a, &op), 0);
        assert_true(baton_state_equal(&applied, &merged));
        assert_memory_equal(&applied, &merged, sizeof(merged));
        assert_int_equal(baton_state_apply(&a, &a, &op), 0);
        assert_memory_equal(&a, &merged, sizeof(merged));
    }
}

/* merge */

static void test_merge_example(void **state)
{
    struct baton_state a;
    struct baton_state b;
    struct baton_state m;

    BATON_UNUSED(state);
    three_members(&a); /* coord 0@3; 1@4, 2@2 members */
    baton_state_init(&b, 3);
    b.coord = 2;
    b.coord_inc = 5;
    b.epoch = baton_epoch_make(9, 2);
    b.nodes[1].inc = 4; /* same life as a knows */
    b.nodes[2].inc = 5; /* newer life */
    b.nodes[2].member = 1;
    baton_state_merge(&m, &a, &b);
    assert_int_equal(m.coord, 0);
    assert_int_equal(m.coord_inc, 3);
    assert_int_equal(m.epoch, baton_epoch_make(3, 0));
    assert_int_equal(m.nodes[0].inc, 3);
    assert_int_equal(m.nodes[0].member, 1);
    assert_int_equal(m.nodes[1].inc, 4);
    assert_int_equal(m.nodes[1].member, 1);
    assert_int_equal(m.nodes[2].inc, 5);
    assert_int_equal(m.nodes[2].member, 0);
    assert_int_equal(baton_state_validate(&m, 3), 0);
}

/* b knows a newer life of a's coordinator: a's record of it stops
 * counting the old life as a member. */
static void test_merge_newer_coord_life(void **state)
{
    struct baton_state a;
    struct baton_state b;
    struct baton_state m;

    BATON_UNUSED(state);
    three_members(&a);
    baton_state_init(&b, 3);
    b.nodes[0].inc = 7;
    baton_state_merge(&m, &a, &b);
    assert_int_equal(m.coord, 0);
    assert_int_equal(m.coord_inc, 3);
    assert_int_equal(m.nodes[0].inc, 7);
    assert_int_equal(m.nodes[0].member, 0);
    assert_int_equal(baton_state_validate(&m, 3), 0);
}

static void test_merge_properties(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 4);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned n = random_n_nodes(&p);
        struct baton_state a;
        struct baton_state b;
        struct baton_state m;

        random_state(&p, &a, n);
        random_state(&p, &b, n);
        baton_state_merge(&m, &a, &b);
        assert_int_equal(m.n_nodes, a.n_nodes);
        assert_int_equal(m.coord, a.coord);
        assert_int_equal(m.coord_inc, a.coord_inc);
        assert_int_equal(m.epoch, a.epoch);
        for (unsigned i = 0; i < n; i++) {
            baton_inc hi = BATON_MAX(a.nodes[i].inc, b.nodes[i].inc);
            assert_int_equal(m.nodes[i].inc, hi);
            /* Never lowers an incarnation of either side. */
            assert_true(m.nodes[i].inc >= a.nodes[i].inc);
            assert_true(m.nodes[i].inc >= b.nodes[i].inc);
            if (b.nodes[i].inc > a.nodes[i].inc) {
                assert_int_equal(m.nodes[i].member, 0);
            } else {
                assert_int_equal(m.nodes[i].member, a.nodes[i].member);
            }
        }
        assert_int_equal(baton_state_validate(&m, n), 0);
    }
}

static void test_merge_commutative_incs(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 5);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned n = random_n_nodes(&p);
        struct baton_state a;
        struct baton_state b;
        struct baton_state ab;
        struct baton_state ba;

        random_state(&p, &a, n);
        random_state(&p, &b, n);
        baton_state_merge(&ab, &a, &b);
        baton_state_merge(&ba, &b, &a);
        assert_true(incs_equal(&ab, &ba));
    }
}

static void test_merge_associative_incs(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 6);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned n = random_n_nodes(&p);
        struct baton_state a;
        struct baton_state b;
        struct baton_state c;
        struct baton_state ab;
        struct baton_state bc;
        struct baton_state left;
        struct baton_state right;

        random_state(&p, &a, n);
        random_state(&p, &b, n);
        random_state(&p, &c, n);
        baton_state_merge(&ab, &a, &b);
        baton_state_merge(&left, &ab, &c);
        baton_state_merge(&bc, &b, &c);
        baton_state_merge(&right, &a, &bc);
        assert_true(incs_equal(&left, &right));
    }
}

static void test_merge_idempotent(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 7);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned n = random_n_nodes(&p);
        struct baton_state a;
        struct baton_state b;
        struct baton_state m;
        struct baton_state mm;

        random_state(&p, &a, n);
        baton_state_merge(&m, &a, &a);
        assert_true(baton_state_equal(&m, &a));
        assert_memory_equal(&m, &a, sizeof(m));

        /* Folding the same state in twice changes nothing more. */
        random_state(&p, &b, n);
        baton_state_merge(&m, &a, &b);
        baton_state_merge(&mm, &m, &b);
        assert_memory_equal(&mm, &m, sizeof(m));
    }
}

static void test_merge_aliasing(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 8);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned n = random_n_nodes(&p);
        struct baton_state a;
        struct baton_state b;
        struct baton_state expect;
        struct baton_state alias;

        random_state(&p, &a, n);
        random_state(&p, &b, n);
        baton_state_merge(&expect, &a, &b);

        alias = a;
        baton_state_merge(&alias, &alias, &b);
        assert_memory_equal(&alias, &expect, sizeof(expect));

        alias = b;
        baton_state_merge(&alias, &a, &alias);
        assert_memory_equal(&alias, &expect, sizeof(expect));
    }
}

/* digest and equal */

static void test_digest_equal_states(void **state)
{
    struct baton_state a;
    struct baton_state b;
    struct baton_op op;

    BATON_UNUSED(state);
    /* The same state reached two ways. */
    three_members(&a);
    baton_state_init(&b, 3);
    op = coord_op(0, 3, baton_epoch_make(3, 0), true);
    assert_int_equal(baton_state_apply(&b, &b, &op), 0);
    op = member_op(BATON_OP_JOIN, 1, 4);
    assert_int_equal(baton_state_apply(&b, &b, &op), 0);
    op = member_op(BATON_OP_JOIN, 2, 2);
    assert_int_equal(baton_state_apply(&b, &b, &op), 0);
    assert_true(baton_state_equal(&a, &b));
    assert_int_equal(baton_state_digest(&a), baton_state_digest(&b));

    /* Reserved bytes carry no state. */
    b.reserved[2] = 0x77;
    b.nodes[1].reserved[0] = 0x99;
    assert_true(baton_state_equal(&a, &b));
    assert_int_equal(baton_state_digest(&a), baton_state_digest(&b));

    /* The digest is a function of the contents, not of the address. */
    b = a;
    assert_int_equal(baton_state_digest(&a), baton_state_digest(&b));
}

/* Applies mutation k (0 <= k < n_mutations) to s. */
static void mutate(struct baton_state *s, unsigned k)
{
    unsigned n = s->n_nodes;

    switch (k) {
    case 0:
        s->name_epoch_max++;
        return;
    case 1:
        s->coord = (uint8_t)((s->coord + 1) % n);
        return;
    case 2:
        s->coord_inc++;
        return;
    case 3:
        s->epoch += 1u << 8; /* term */
        return;
    case 4:
        s->epoch ^= 1; /* claimer byte */
        return;
    default:
        break;
    }
    k -= 5;
    if (k % 2 == 0) {
        s->nodes[k / 2].inc++;
    } else {
        s->nodes[k / 2].member ^= 1;
    }
}

static void test_digest_every_field_matters(void **state)
{
    struct baton_state base;
    unsigned n_mut;

    BATON_UNUSED(state);
    baton_state_init(&base, 5);
    base.coord = 2;
    base.coord_inc = 9;
    base.epoch = baton_epoch_make(4, 2);
    for (unsigned i = 0; i < 5; i++) {
        base.nodes[i].inc = 10 + i;
        base.nodes[i].member = (uint8_t)(i % 2);
    }
    base.nodes[2].inc = 9;
    base.nodes[2].member = 1;
    assert_int_equal(baton_state_validate(&base, 5), 0);

    n_mut = 5 + 2 * (unsigned)base.n_nodes;
    for (unsigned k = 0; k < n_mut; k++) {
        struct baton_state s = base;
        mutate(&s, k);
        assert_false(baton_state_equal(&s, &base));
        assert_false(baton_state_equal(&base, &s));
        assert_int_not_equal(baton_state_digest(&s),
                             baton_state_digest(&base));
    }
    /* A state widened by an added node (membership.md §4) is the state
     * it was: the new slots are empty. */
    {
        struct baton_state s = base;
        baton_state_widen(&s, 7);
        assert_int_equal(s.n_nodes, 7);
        assert_int_equal(baton_state_validate(&s, 7), 0);
        assert_true(baton_state_equal(&s, &base));
        assert_int_equal(baton_state_digest(&s), baton_state_digest(&base));
    }
}

static void test_digest_agrees_with_equal(void **state)
{
    struct baton_prng p;
    unsigned equal_pairs = 0;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 9);
    for (unsigned r = 0; r < 20000; r++) {
        /* Tiny clusters, so that equal pairs actually occur. */
        unsigned n = 1 + (unsigned)baton_prng_below(&p, 2);
        struct baton_state a;
        struct baton_state b;
        bool fields_equal;

        random_state_terms(&p, &a, n, 2);
        random_state_terms(&p, &b, n, 2);
        fields_equal = a.coord == b.coord && a.coord_inc == b.coord_inc &&
                       a.epoch == b.epoch;
        for (unsigned i = 0; i < n; i++) {
            fields_equal = fields_equal &&
                           a.nodes[i].inc == b.nodes[i].inc &&
                           a.nodes[i].member == b.nodes[i].member;
        }
        assert_int_equal(baton_state_equal(&a, &b), fields_equal);
        assert_int_equal(baton_state_equal(&b, &a), fields_equal);
        assert_int_equal(baton_state_digest(&a) == baton_state_digest(&b),
                         fields_equal);
        equal_pairs += fields_equal;
    }
    assert_true(equal_pairs > 100);
}

static void test_op_type_names(void **state)
{
    BATON_UNUSED(state);
    assert_string_equal(baton_op_type_name(BATON_OP_COORD), "coord");
    assert_string_equal(baton_op_type_name(BATON_OP_JOIN), "join");
    assert_string_equal(baton_op_type_name(BATON_OP_LEAVE), "leave");
    assert_string_equal(baton_op_type_name(BATON_OP_MERGE), "merge");
    assert_string_equal(baton_op_type_name(0), "?");
    assert_string_equal(baton_op_type_name(BATON_OP__COUNT), "?");
    assert_string_equal(baton_op_type_name(1000), "?");
}

/* Member lists (docs/design/membership.md §1): what validates, and the
 * digest tells contents apart, not versions. */
static void test_members_validate_and_digest(void **state)
{
    struct baton_members l;
    struct baton_members x;

    BATON_UNUSED(state);
    memset(&l, 0, sizeof(l));
    l.n_slots = 3;
    for (unsigned i = 0; i < 3; i += 2) { /* slot 1 free: a removed node */
        l.slot[i].kind = BATON_MEMBER_CANDIDATE;
        snprintf(l.slot[i].name, sizeof(l.slot[i].name), "n%u@h", i);
    }
    assert_int_equal(baton_members_validate(&l), 0);
    assert_int_equal(baton_members_find(&l, "n2@h"), 2);
    assert_int_equal(baton_members_find(&l, "n1@h"), -1);

    x = l;
    x.version = 9;
    assert_int_equal(baton_members_digest(&x), baton_members_digest(&l));
    x.slot[0].kind = BATON_MEMBER_WORKER;
    assert_int_not_equal(baton_members_digest(&x), baton_members_digest(&l));
    x = l;
    x.slot[2].addr[0] = 'z';
    assert_int_not_equal(baton_members_digest(&x), baton_members_digest(&l));

    x = l; /* a name twice */
    snprintf(x.slot[2].name, sizeof(x.slot[2].name), "n0@h");
    assert_int_equal(baton_members_validate(&x), BATON_EBADMSG);
    x = l; /* a free slot with a name */
    x.slot[1].name[0] = 'q';
    assert_int_equal(baton_members_validate(&x), BATON_EBADMSG);
    x = l; /* a used slot beyond n_slots */
    x.slot[3].kind = BATON_MEMBER_WORKER;
    x.slot[3].name[0] = 'q';
    assert_int_equal(baton_members_validate(&x), BATON_EBADMSG);
    x = l; /* a used slot without a name */
    x.slot[1].kind = BATON_MEMBER_WITNESS;
    assert_int_equal(baton_members_validate(&x), BATON_EBADMSG);
    x = l; /* a kind out of range */
    x.slot[0].kind = BATON_MEMBER__KIND_COUNT;
    assert_int_equal(baton_members_validate(&x), BATON_EBADMSG);
    x = l; /* no slot */
    x.n_slots = 0;
    assert_int_equal(baton_members_validate(&x), BATON_EBADMSG);
    memset(&x, 0, sizeof(x)); /* nobody */
    x.n_slots = 1;
    assert_int_equal(baton_members_validate(&x), BATON_EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_init),
        cmocka_unit_test(test_state_validate_accepts_good),
        cmocka_unit_test(test_state_validate_rejects_n_nodes_mismatch),
        cmocka_unit_test(test_state_validate_rejects_coord_out_of_range),
        cmocka_unit_test(test_state_validate_rejects_epoch_not_coords),
        cmocka_unit_test(test_state_validate_rejects_term_zero),
        cmocka_unit_test(test_state_validate_rejects_coord_without_inc),
        cmocka_unit_test(test_state_validate_rejects_no_coord_with_epoch),
        cmocka_unit_test(test_state_validate_rejects_member_flag_2),
        cmocka_unit_test(test_state_validate_rejects_member_without_inc),
        cmocka_unit_test(test_state_validate_rejects_data_beyond_n_nodes),
        cmocka_unit_test(test_op_validate_coord),
        cmocka_unit_test(test_op_validate_join_leave),
        cmocka_unit_test(test_op_validate_merge),
        cmocka_unit_test(test_op_validate_bad_type),
        cmocka_unit_test(test_apply_coord_first_claim),
        cmocka_unit_test(test_apply_coord_fresh_resets_members),
        cmocka_unit_test(test_apply_coord_fresh_by_sitting_coord),
        cmocka_unit_test(test_apply_coord_move_up_keeps_members),
        cmocka_unit_test(test_apply_coord_not_sitting_refused),
        cmocka_unit_test(test_apply_coord_lower_epoch_refused),
        cmocka_unit_test(test_apply_coord_older_life_refused),
        cmocka_unit_test(test_apply_join_leave),
        cmocka_unit_test(test_apply_join_leave_older_life_refused),
        cmocka_unit_test(test_apply_invalid_op),
        cmocka_unit_test(test_apply_aliasing),
        cmocka_unit_test(test_apply_merge_equals_merge),
        cmocka_unit_test(test_merge_example),
        cmocka_unit_test(test_merge_newer_coord_life),
        cmocka_unit_test(test_merge_properties),
        cmocka_unit_test(test_merge_commutative_incs),
        cmocka_unit_test(test_merge_associative_incs),
        cmocka_unit_test(test_merge_idempotent),
        cmocka_unit_test(test_merge_aliasing),
        cmocka_unit_test(test_digest_equal_states),
        cmocka_unit_test(test_digest_every_field_matters),
        cmocka_unit_test(test_digest_agrees_with_equal),
        cmocka_unit_test(test_members_validate_and_digest),
        cmocka_unit_test(test_op_type_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
