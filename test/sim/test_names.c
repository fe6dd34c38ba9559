/* Name scenarios on a fixed-delay network (1 ms per message and link
 * event): writes in one round trip, local reads, a lost node's names,
 * each resolver after a heal, and calls across a re-point. Each test is
 * a piece of docs/design/names.md. Names are "n0".."n9". */
#include "../../src/util/setup.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sim.h"

#define MS SIM_MS

/* names_part: entries per snapshot part, 0 = the core's default. */
static struct sim *cluster_parts(unsigned n, uint32_t names_part)
{
    struct sim_config cfg = {0};
    struct sim *s;

    cfg.n_nodes = n;
    memset(cfg.candidate, 1, n);
    cfg.seed = 5;
    cfg.delay_min_us = 1000;
    cfg.delay_max_us = 1000;
    cfg.link_delay_us = 1000;
    cfg.names_part = names_part;
    s = sim_create(&cfg);
    assert_non_null(s);
    sim_run_until(s, 100 * MS); /* a coordinates b and c */
    assert_false(sim_failed(s));
    return s;
}

static struct sim *cluster(unsigned n)
{
    return cluster_parts(n, 0);
}

static const struct baton_name *where(const struct sim *s, unsigned i,
                                      const char *name)
{
    return baton_node_whereis(sim_node(s, i), name);
}

/* §3: a write is one round trip to the coordinator; reads are local. */
static void test_register_round_trip(void **state)
{
    struct sim *s = cluster(3);
    uint64_t w, w2;

    (void)state;
    w = sim_name_write(s, 1, BATON_NAME_REGISTER, 0, 1, 0);
    assert_int_equal(sim_write_code(s, w), -1);
    sim_run_for(s, 2 * MS); /* b -> a -> b: 2 ms */
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
    assert_non_null(where(s, 1, "n1"));
    assert_int_equal(where(s, 1, "n1")->owner, 1);
    sim_run_for(s, 1 * MS);
    for (unsigned i = 0; i < 3; i++) {
        assert_non_null(where(s, i, "n1"));
    }
    /* Taken: another endpoint, on another node. */
    w2 = sim_name_write(s, 2, BATON_NAME_REGISTER, 0, 1, 0);
    sim_run_for(s, 3 * MS);
    assert_int_equal(sim_write_code(s, w2), BATON_NAME_TAKEN);
    /* Only its holder may unregister it. */
    w2 = sim_name_write(s, 2, BATON_NAME_UNREGISTER, 0, 1, 0);
    sim_run_for(s, 3 * MS);
    assert_int_equal(sim_write_code(s, w2), BATON_NAME_NOT_OWNER);
    w = sim_name_write(s, 1, BATON_NAME_UNREGISTER, 0, 1, 0);
    sim_run_for(s, 3 * MS);
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
    for (unsigned i = 0; i < 3; i++) {
        assert_null(where(s, i, "n1"));
    }
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* §2: the names of a lost node vanish from reads at once (its links
 * closed) and from the table once the coordinator purges them. */
static void test_lost_node_names(void **state)
{
    struct sim *s = cluster(3);

    (void)state;
    sim_name_write(s, 2, BATON_NAME_REGISTER, 0, 2, 0);
    sim_name_write(s, 2, BATON_NAME_REGISTER, 1, 3, 0);
    sim_run_for(s, 5 * MS);
    assert_non_null(where(s, 1, "n2"));
    sim_crash(s, 2);
    sim_run_for(s, 2 * MS); /* the link closes after 1 ms */
    assert_null(where(s, 0, "n2"));
    assert_null(where(s, 1, "n3"));
    sim_run_for(s, 5 * MS);
    assert_int_equal(sim_node(s, 0)->names.count, 0);
    assert_int_equal(sim_node(s, 1)->names.count, 0);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* §4: a partition {a} | {b c}, "n5" registered on both sides, then the
 * heal: the resolver of a's registration (the incumbent: a coordinates
 * the healed group) decides, once, and the loser is told why. */
static void clash(unsigned resolver, bool a_keeps, bool b_keeps,
                  unsigned a_reason, unsigned b_reason)
{
    struct sim *s = cluster(3);
    uint64_t wa, wb;

    for (unsigned x = 1; x < 3; x++) {
        sim_block(s, 0, x);
        sim_block(s, x, 0);
    }
    sim_run_for(s, 3000 * MS); /* b coordinates b and c */
    wa = sim_name_write(s, 0, BATON_NAME_REGISTER, 0, 5, resolver);
    wb = sim_name_write(s, 1, BATON_NAME_REGISTER, 0, 5, resolver);
    sim_run_for(s, 10 * MS);
    assert_int_equal(sim_write_code(s, wa), BATON_NAME_OK);
    assert_int_equal(sim_write_code(s, wb), BATON_NAME_OK);
    sim_heal(s);
    sim_run_for(s, 2000 * MS);
    assert_false(sim_failed(s));
    for (unsigned i = 0; i < 3; i++) {
        const struct baton_name *e = where(s, i, "n5");
        if (!a_keeps && !b_keeps) {
            assert_null(e);
        } else {
            assert_non_null(e);
            assert_int_equal(e->owner, a_keeps ? 0 : 1);
        }
    }
    assert_int_equal(sim_names_lost(s, 0, 5, a_reason), a_keeps ? 0 : 1);
    assert_int_equal(sim_names_lost(s, 1, 5, b_reason), b_keeps ? 0 : 1);
    sim_names_final(s); /* every endpoint holds what it was told */
    assert_false(sim_failed(s));
    sim_destroy(s);
}

static void test_clash_keep_incumbent(void **state)
{
    (void)state;
    /* Both tokens are equal (issued above the same history on both
     * sides): the tie goes to the smaller node name, a. */
    clash(BATON_RESOLVE_KEEP_INCUMBENT, true, false, 0,
          BATON_LOST_CONFLICT_KEEP);
}

static void test_clash_random_exit(void **state)
{
    (void)state;
    clash(BATON_RESOLVE_RANDOM_EXIT, true, false, 0,
          BATON_LOST_CONFLICT_EXIT);
}

static void test_clash_random_notify(void **state)
{
    (void)state;
    clash(BATON_RESOLVE_RANDOM_NOTIFY, true, false, 0,
          BATON_LOST_CONFLICT_NOTIFY);
}

static void test_clash_notify_all(void **state)
{
    (void)state;
    clash(BATON_RESOLVE_NOTIFY_ALL, false, false, BATON_LOST_CONFLICT_ALL,
          BATON_LOST_CONFLICT_ALL);
}

/* §5: calls made while the name is re-pointed from a to c are delivered
 * to one owner or the other (a forwards what reaches it late); none is
 * lost and none fails. */
static void test_calls_across_repoint(void **state)
{
    struct sim *s = cluster(3);
    uint64_t ids[40];
    uint64_t w;

    (void)state;
    w = sim_name_write(s, 0, BATON_NAME_REGISTER, 0, 4, 0);
    sim_run_for(s, 5 * MS);
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
    for (unsigned k = 0; k < 40; k++) {
        ids[k] = sim_call(s, 1, 4, true);
        if (k == 10) {
            w = sim_name_write(s, 2, BATON_NAME_REREGISTER, 1, 4, 0);
        }
        sim_run_for(s, MS / 4);
    }
    sim_run_for(s, 20 * MS);
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
    assert_int_equal(where(s, 1, "n4")->owner, 2);
    for (unsigned k = 0; k < 40; k++) {
        assert_int_equal(sim_call_code(s, ids[k]), BATON_NAME_OK);
    }
    assert_true(sim_node(s, 0)->counters.calls_forwarded > 0);
    /* A call to a name nobody holds fails at once. */
    w = sim_call(s, 1, 9, true);
    assert_int_equal(sim_call_code(s, w), BATON_NAME_NOT_FOUND);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* Node `node` registers "n<name>" (endpoint 0) and the write succeeds. */
static void registered(struct sim *s, unsigned node, unsigned name)
{
    uint64_t w = sim_name_write(s, node, BATON_NAME_REGISTER, 0, name, 0);

    sim_run_for(s, 5 * MS);
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
}

/* Cuts a and c both ways; the links stay open, as a cut cable. */
static void cut_a_c(struct sim *s)
{
    sim_block(s, 0, 2);
    sim_block(s, 2, 0);
}

/* §5: a call whose node is lost before it answers fails with
 * `unreachable` once the caller declares that node down: a cut link
 * drops it silently, and nothing else would ever answer it. */
static void test_call_to_lost_node(void **state)
{
    struct sim *s = cluster(3);
    const struct baton_node *a = sim_node(s, 0);
    uint64_t c;

    (void)state;
    registered(s, 2, 4);
    cut_a_c(s);
    c = sim_call(s, 0, 4, true);
    sim_run_for(s, baton_node_down_after_ms(a) * MS / 2);
    assert_int_equal(sim_call_code(s, c), -1); /* c still alive to a */
    sim_run_for(s, (baton_node_down_after_ms(a) / 2 + 10) * MS);
    assert_false(sim_node(s, 0)->peers[2].alive);
    assert_int_equal(sim_call_code(s, c), BATON_NAME_UNREACHABLE);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* §5: the core scans its watched calls only when a peer's life changed
 * since its last scan. c is lost while a watches a call to b (a scans
 * and sees c down), comes back, and is lost again under a call: that
 * call still fails with `unreachable`, and the one to b is answered. */
static void test_call_watch_after_node_came_back(void **state)
{
    struct sim *s = cluster(3);
    const struct baton_node *a = sim_node(s, 0);
    uint64_t down = baton_node_down_after_ms(a);
    uint64_t b_call, c_call;

    (void)state;
    registered(s, 2, 4);
    registered(s, 1, 5);
    cut_a_c(s);
    sim_run_for(s, (down + 10) * MS);
    assert_false(a->peers[2].alive);
    b_call = sim_call(s, 0, 5, true);
    sim_run_for(s, 5 * MS);
    assert_int_equal(sim_call_code(s, b_call), BATON_NAME_OK);
    sim_heal(s);
    for (unsigned waited = 0;
         waited < 10000 && (!a->peers[2].alive || where(s, 0, "n4") == NULL);
         waited++) {
        sim_run_for(s, MS);
    }
    assert_true(a->peers[2].alive);
    assert_non_null(where(s, 0, "n4"));
    cut_a_c(s);
    c_call = sim_call(s, 0, 4, true);
    sim_run_for(s, (down + 10) * MS);
    assert_false(a->peers[2].alive);
    assert_int_equal(sim_call_code(s, c_call), BATON_NAME_UNREACHABLE);
    assert_int_equal(a->n_watched, 0);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* §5: the watch ring reuses a slot only when it is free. One call from a
 * to n4 on c hangs (a and c cut, links open); meanwhile a makes more
 * calls than the ring has slots to n5 on b, each answered. The hanging
 * call's watch must survive them: it still fails with `unreachable` when
 * a declares c down, and every other call is answered once. (With
 * BATON_CALLS_WATCHED calls truly in flight the oldest watch is
 * overwritten, and that call has only the driver's deadline.) */
static void test_call_watch_survives_ring_reuse(void **state)
{
    struct sim *s = cluster(3);
    const struct baton_node *a = sim_node(s, 0);
    uint64_t ids[BATON_CALLS_WATCHED + 8];
    uint64_t c;

    (void)state;
    registered(s, 2, 4);
    registered(s, 1, 5);
    cut_a_c(s);
    c = sim_call(s, 0, 4, true);
    for (unsigned k = 0; k < BATON_ARRAY_LEN(ids); k++) {
        ids[k] = sim_call(s, 0, 5, true);
        sim_run_for(s, MS / 4);
    }
    sim_run_for(s, 10 * MS);
    for (unsigned k = 0; k < BATON_ARRAY_LEN(ids); k++) {
        assert_int_equal(sim_call_code(s, ids[k]), BATON_NAME_OK);
    }
    assert_int_equal(sim_call_code(s, c), -1);
    assert_int_equal(a->n_watched, 1); /* the hanging call alone */
    sim_run_for(s, (baton_node_down_after_ms(a) + 10) * MS);
    assert_false(a->peers[2].alive);
    assert_int_equal(sim_call_code(s, c), BATON_NAME_UNREACHABLE);
    assert_int_equal(a->n_watched, 0);
    assert_int_equal(sim_calls_answered_again(s), 0);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* §5: more calls in flight than the ring has slots, all to a node that
 * is then lost. Each watched call fails with `unreachable` exactly once;
 * only the oldest, whose watch the last call took, gets no answer from
 * the core (its driver's deadline answers it), and nothing is answered
 * twice. */
static void test_call_watch_ring_full(void **state)
{
    struct sim *s = cluster(3);
    const struct baton_node *a = sim_node(s, 0);
    uint64_t ids[BATON_CALLS_WATCHED + 1];

    (void)state;
    registered(s, 2, 4);
    cut_a_c(s);
    for (unsigned k = 0; k < BATON_ARRAY_LEN(ids); k++) {
        ids[k] = sim_call(s, 0, 4, true);
    }
    assert_int_equal(a->n_watched, BATON_CALLS_WATCHED);
    /* BATON_FX_CALL_MAX failures a step, a step a ms: 64 ms for all. */
    sim_run_for(s, (baton_node_down_after_ms(a) + 100) * MS);
    assert_false(a->peers[2].alive);
    assert_int_equal(sim_call_code(s, ids[0]), -1);
    for (unsigned k = 1; k < BATON_ARRAY_LEN(ids); k++) {
        assert_int_equal(sim_call_code(s, ids[k]), BATON_NAME_UNREACHABLE);
    }
    assert_int_equal(a->n_watched, 0);
    sim_run_for(s, 3000 * MS);
    assert_int_equal(sim_calls_answered_again(s), 0);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* §4, §7 (seed 79596): b comes back from a partition holding n3 and
 * joins a; a takes its names in, but the snapshot back to b is lost.
 * c then re-points n3 to itself, and b, still joining, sends its JOIN
 * again with n3 in it. That stale JOIN must not undo the re-point (a
 * clash's keep_incumbent would give n3 back to b's older registration):
 * n3 stays c's and b is told it lost n3. */
static void test_repoint_survives_stale_join(void **state)
{
    struct sim *s = cluster(3);
    const struct baton_node *b = sim_node(s, 1);
    uint64_t w;
    unsigned waited = 0;

    (void)state;
    for (unsigned x = 0; x < 3; x += 2) {
        sim_block(s, 1, x);
        sim_block(s, x, 1);
    }
    sim_run_for(s, 3000 * MS); /* b coordinates itself alone */
    assert_true(baton_node_is_coordinator(b));
    w = sim_name_write(s, 1, BATON_NAME_REGISTER, 0, 3, 0);
    sim_run_for(s, 1 * MS);
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
    sim_heal(s);
    /* Once b asks to join a (within a heartbeat: the links stayed
     * open), what a sends b is lost. */
    while (b->role != BATON_ROLE_JOINING && waited++ < 2400) {
        sim_run_for(s, MS / 4);
    }
    assert_int_equal(b->role, BATON_ROLE_JOINING);
    sim_block(s, 0, 1);
    sim_run_for(s, 3 * MS);
    assert_true(sim_node(s, 0)->state.nodes[1].member);
    assert_int_equal(where(s, 0, "n3")->owner, 1); /* b's names came */
    w = sim_name_write(s, 2, BATON_NAME_REREGISTER, 1, 3, 0);
    sim_run_for(s, 5 * MS);
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
    assert_int_equal(where(s, 0, "n3")->owner, 2);
    /* b's JOIN again (a heartbeat interval and jitter later). */
    sim_run_for(s, 400 * MS);
    assert_int_equal(where(s, 0, "n3")->owner, 2);
    sim_unblock(s, 0, 1);
    sim_run_for(s, 2000 * MS);
    assert_false(sim_failed(s));
    for (unsigned i = 0; i < 3; i++) {
        assert_non_null(where(s, i, "n3"));
        assert_int_equal(where(s, i, "n3")->owner, 2);
    }
    assert_int_equal(sim_names_lost(s, 1, 3, BATON_LOST_REMOVED) +
                         sim_names_lost(s, 1, 3, BATON_LOST_REPLACED),
                     1);
    assert_int_equal(sim_names_lost(s, 2, 3, BATON_LOST_CONFLICT_KEEP), 0);
    sim_destroy(s);
}

/* §1: a snapshot larger than a part goes out in parts and is applied
 * only once every part came, in order (issue 11 finding 7). c restarts
 * into a table of 10 names sent in parts of 3 (4 frames); a cuts the
 * link in the middle of the transfer (a RST: the parts in flight are
 * lost). c applies nothing of it, stays joining, asks again, and ends
 * up with exactly a's table. */
static void test_snapshot_in_parts(void **state)
{
    struct sim *s = cluster_parts(3, 3);
    const struct baton_node *c;
    uint64_t sent;
    unsigned waited = 0;

    (void)state;
    for (unsigned k = 0; k < 10; k++) {
        sim_name_write(s, k % 2, BATON_NAME_REGISTER, k % 3, k, 0);
    }
    sim_run_for(s, 20 * MS);
    assert_int_equal(sim_node(s, 0)->names.count, 10);
    sim_crash(s, 2);
    sim_run_for(s, 2000 * MS);
    /* Parts now arrive 1-20 ms apart (in order, as TCP delivers). */
    sim_set_delay(s, 1 * MS, 20 * MS);
    sent = sim_node(s, 0)->counters.snapshots_sent;
    /* Parts that drew their delays so that they arrive together cannot
     * be caught apart: such a life is ended and c restarts again (how
     * the delays fall depends on every message sent before). */
    for (unsigned tries = 0; tries < 10; tries++) {
        sim_restart(s, 2);
        c = sim_node(s, 2);
        waited = 0;
        while (!(c->snap_next != BATON_SNAP_NONE && c->snap_next >= 1) &&
               c->role != BATON_ROLE_FOLLOWER && waited++ < 40000) {
            sim_run_for(s, MS / 10);
        }
        if (c->snap_next != BATON_SNAP_NONE && c->snap_next >= 1) {
            break;
        }
        sim_crash(s, 2);
        sim_run_for(s, 2000 * MS);
    }
    /* Caught in the middle of the transfer: a part came, not the last. */
    assert_true(c->snap_next != BATON_SNAP_NONE && c->snap_next >= 1);
    assert_int_equal(c->role, BATON_ROLE_JOINING);
    assert_int_equal(c->names.count, 0);
    sim_reset_link(s, 0, 2);
    sim_run_for(s, 1 * MS);
    assert_int_equal(c->role, BATON_ROLE_JOINING);
    assert_int_equal(c->names.count, 0); /* nothing applied of it */
    sim_set_delay(s, 1 * MS, 1 * MS);
    sim_run_for(s, 3000 * MS);
    assert_false(sim_failed(s));
    assert_int_equal(c->role, BATON_ROLE_FOLLOWER);
    assert_int_equal(c->names.count, 10);
    assert_true(c->names.digest == sim_node(s, 0)->names.digest);
    assert_true(baton_node_replica_digest(c) ==
                baton_node_replica_digest(sim_node(s, 0)));
    for (unsigned k = 0; k < 10; k++) {
        char nm[8];
        snprintf(nm, sizeof(nm), "n%u", k);
        assert_non_null(where(s, 2, nm));
        assert_int_equal(where(s, 2, nm)->owner, k % 2);
    }
    assert_true(c->counters.snapshot_parts > 4); /* the cut one too */
    /* The cut transfer, then at least one whole one. */
    assert_true(sim_node(s, 0)->counters.snapshots_sent - sent >= 2);

    /* Again with a network that reorders: a part out of order drops
     * the transfer (counted), and the next one starts clean. */
    sim_crash(s, 2);
    sim_run_for(s, 2000 * MS);
    sim_set_reorder(s, true);
    sim_set_delay(s, 1 * MS, 20 * MS);
    sim_restart(s, 2);
    waited = 0;
    while (c->counters.snapshot_parts_dropped == 0 &&
           c->role != BATON_ROLE_FOLLOWER && waited++ < 100) {
        assert_int_equal(c->names.count, 0); /* nothing applied yet */
        sim_run_for(s, 100 * MS);
    }
    assert_true(c->counters.snapshot_parts_dropped > 0);
    sim_set_reorder(s, false);
    sim_set_delay(s, 1 * MS, 1 * MS);
    sim_run_for(s, 3000 * MS);
    assert_false(sim_failed(s));
    assert_int_equal(c->role, BATON_ROLE_FOLLOWER);
    assert_true(baton_node_replica_digest(c) ==
                baton_node_replica_digest(sim_node(s, 0)));
    assert_int_equal(c->names.count, 10);
    sim_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_round_trip),
        cmocka_unit_test(test_lost_node_names),
        cmocka_unit_test(test_clash_keep_incumbent),
        cmocka_unit_test(test_clash_random_exit),
        cmocka_unit_test(test_clash_random_notify),
        cmocka_unit_test(test_clash_notify_all),
        cmocka_unit_test(test_calls_across_repoint),
        cmocka_unit_test(test_call_to_lost_node),
        cmocka_unit_test(test_call_watch_after_node_came_back),
        cmocka_unit_test(test_call_watch_survives_ring_reuse),
        cmocka_unit_test(test_call_watch_ring_full),
        cmocka_unit_test(test_repoint_survives_stale_join),
        cmocka_unit_test(test_snapshot_in_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
