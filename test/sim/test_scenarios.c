/* Scenario tests: small clusters on a fixed-delay network (every message
 * and link event takes exactly 1 ms), asserted against the expected
 * trace, so each test reads as a piece of the specification
 * (docs/design/core.md). Trace lines are "<ms> <node>: <event>". */
#include "../../src/util/setup.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MS SIM_MS

/* roles: one letter per node, 'c' candidate or 'w' worker. */
static struct sim *cluster(const char *roles)
{
    struct sim_config cfg = {0};
    struct sim *s;

    cfg.n_nodes = (unsigned)strlen(roles);
    for (unsigned i = 0; i < cfg.n_nodes; i++) {
        cfg.candidate[i] = roles[i] == 'c';
    }
    cfg.seed = 1;
    cfg.delay_min_us = 1000;
    cfg.delay_max_us = 1000;
    cfg.link_delay_us = 1000;
    cfg.keep_trace = true;
    s = sim_create(&cfg);
    assert_non_null(s);
    return s;
}

static void dump(const struct sim *s)
{
    for (int i = 0; i < sim_trace_count(s); i++) {
        const char *l = sim_trace_line(s, i);
        if (strstr(l, "applied") == NULL && strstr(l, "peer-up") == NULL) {
            fprintf(stderr, "  %s\n", l);
        }
    }
}

/* Finds the next line at or after *cursor containing every '|'-separated
 * part of needle and moves the cursor past it; fails the test (printing
 * the trace) if there is none. Returns the line's time in ms. */
static uint64_t expect(const struct sim *s, int *cursor, const char *needle)
{
    int k = sim_trace_find(s, *cursor, needle);

    if (k < 0) {
        fprintf(stderr, "expected trace line not found: \"%s\"\n", needle);
        dump(s);
        fail_msg("missing: %s", needle);
    }
    *cursor = k + 1;
    return strtoull(sim_trace_line(s, k), NULL, 10);
}

/* Like expect, at an exact time. */
static void expect_at(const struct sim *s, int *cursor, uint64_t ms,
                      const char *needle)
{
    uint64_t t = expect(s, cursor, needle);

    if (t != ms) {
        dump(s);
        fail_msg("\"%s\" at %" PRIu64 " ms, expected at %" PRIu64 " ms",
                 needle, t, ms);
    }
}

static void expect_none(const struct sim *s, int from, const char *needle)
{
    int k = sim_trace_find(s, from, needle);

    if (k >= 0) {
        dump(s);
        fail_msg("unexpected trace line: %s", sim_trace_line(s, k));
    }
}

static void assert_converged(const struct sim *s)
{
    char why[256] = "";

    assert_false(sim_failed(s));
    if (!sim_converged(s, why, sizeof(why))) {
        dump(s);
        fail_msg("not converged: %s", why);
    }
}

/* Three nodes boot together: the first candidate coordinates as soon as
 * it has heard both peers, well before its sync window ends. */
static void boot_together(void **state)
{
    struct sim *s = cluster("ccc");
    int k = 0;

    (void)state;
    sim_run_until(s, 100 * MS);
    expect_at(s, &k, 2, "a: synced (heard all)");
    expect_at(s, &k, 2, "a: coordinator epoch=1.a");
    k = 0;
    expect_at(s, &k, 3, "b: joining a");
    expect_at(s, &k, 5, "b: follower of a epoch=1.a");
    k = 0;
    expect_at(s, &k, 5, "c: follower of a epoch=1.a");
    expect_none(s, 0, "b: coordinator");
    expect_none(s, 0, "c: coordinator");
    assert_converged(s);
    sim_destroy(s);
}

/* The coordinator is killed: its links close, the next candidate takes
 * over within a millisecond of seeing that, and the third node follows
 * it without claiming anything itself. It then restarts under the same
 * name: a new incarnation, which syncs first, then takes over. */
static void coordinator_killed(void **state)
{
    struct sim *s = cluster("ccc");
    int k;

    (void)state;
    sim_run_until(s, 1000 * MS);
    assert_converged(s);
    sim_crash(s, 0);
    sim_run_until(s, 1100 * MS);
    k = sim_trace_find(s, 0, "1001 b: peer-down a (link closed");
    assert_true(k >= 0);
    expect_at(s, &k, 1001, "b: coordinator epoch=2.b");
    k = 0;
    expect_at(s, &k, 1001, "c: peer-down a (link closed");
    expect_at(s, &k, 1002, "c: joining b epoch=1.a");
    expect_at(s, &k, 1004, "c: follower of b epoch=2.b");
    expect_none(s, 0, "c: coordinator");
    assert_converged(s);

    sim_restart(s, 0);
    sim_run_until(s, 1200 * MS);
    k = 0;
    expect_at(s, &k, 1100, "a: boot inc=1100001");
    expect(s, &k, "a: joining b");
    expect(s, &k, "a: synced (welcomed)");
    expect(s, &k, "a: coordinator epoch=3.a");
    expect(s, &k, "b: joining a epoch=2.b");
    expect(s, &k, "b: follower of a epoch=3.a");
    assert_converged(s);
    sim_destroy(s);
}

/* The coordinator is cut off (silent, links stay up): the others declare
 * it down after 4 silent heartbeats and elect the next candidate, while
 * it keeps its own one-node group (available mode). When the partition
 * heals, the higher-priority coordinator wins and the other surrenders;
 * the epoch moves above both. */
static void coordinator_partitioned_then_healed(void **state)
{
    struct sim *s = cluster("ccc");
    int k = 0;
    uint64_t t;

    (void)state;
    sim_run_until(s, 1000 * MS);
    sim_block(s, 0, 1);
    sim_block(s, 1, 0);
    sim_block(s, 0, 2);
    sim_block(s, 2, 0);
    sim_run_until(s, 3000 * MS);
    t = expect(s, &k, "b: peer-down a (silent");
    assert_true(t >= 1000 + 750 && t <= 1000 + 1000);
    expect(s, &k, "b: coordinator epoch=2.b");
    expect(s, &k, "c: follower of b epoch=2.b");
    k = 0;
    expect(s, &k, "a: peer-down b (silent");
    expect_none(s, 0, "a: seeking");
    assert_true(baton_node_is_coordinator(sim_node(s, 0)));
    assert_true(baton_node_is_coordinator(sim_node(s, 1)));
    assert_converged(s); /* two clean groups: {a} and {b, c} */

    k = sim_trace_count(s);
    sim_heal(s);
    sim_run_until(s, 3400 * MS);
    expect(s, &k, "b: joining a epoch=2.b");
    expect(s, &k, "b: follower of a epoch=3.a");
    expect_none(s, 0, "a: joining");
    assert_converged(s);
    assert_int_equal(sim_node(s, 2)->epoch, baton_epoch_make(3, 0));
    sim_destroy(s);
}

/* A frozen coordinator (SIGSTOP) is declared down after the detection
 * window, and its peers reset their links to it (its kernel takes the
 * RSTs while it is frozen). When it resumes, it does not mistake its own
 * pause for its peers' silence (tilt): it hears its links closed, redials
 * at once, and as the highest-priority candidate takes its group back. */
static void coordinator_frozen_then_resumed(void **state)
{
    struct sim *s = cluster("ccc");
    int k = 0;
    uint64_t t;

    (void)state;
    sim_run_until(s, 1000 * MS);
    sim_pause(s, 0);
    sim_run_until(s, 4000 * MS);
    t = expect(s, &k, "b: peer-down a (silent");
    assert_true(t <= 1000 + 1000);
    expect(s, &k, "b: coordinator epoch=2.b");
    expect(s, &k, "c: follower of b");
    k = sim_trace_count(s);
    sim_resume(s, 0);
    sim_run_until(s, 4500 * MS);
    expect_at(s, &k, 4000, "a: tilt (no step for");
    expect_none(s, k, "a: peer-down b (silent");
    expect_at(s, &k, 4000, "a: peer-down b (link closed");
    expect_at(s, &k, 4001, "b: link up with a after reset");
    expect(s, &k, "b: joining a");
    assert_converged(s);
    assert_int_equal(baton_node_coordinator(sim_node(s, 2)), 0);
    sim_destroy(s);
}

/* The highest-priority candidate boots late. The others do not wait for
 * it forever: b coordinates once its sync window has passed. When a
 * boots, it claims nothing until a coordinator has welcomed it (synced
 * with the cluster's state), then takes over. */
static void higher_priority_boots_late(void **state)
{
    struct sim *s = cluster("ccc");
    int k = 0;

    (void)state;
    sim_crash(s, 0); /* a is down from the start */
    sim_run_until(s, 3000 * MS);
    expect_at(s, &k, 1000, "b: synced (window passed)");
    expect_at(s, &k, 1000, "b: coordinator epoch=1.b");
    expect(s, &k, "c: follower of b epoch=1.b");
    assert_converged(s);

    k = sim_trace_count(s);
    sim_restart(s, 0);
    sim_run_until(s, 3100 * MS);
    expect_at(s, &k, 3000, "a: boot inc=3000001");
    expect(s, &k, "a: joining b epoch=0");
    expect(s, &k, "a: synced (welcomed)");
    expect(s, &k, "a: coordinator epoch=2.a");
    expect(s, &k, "c: follower of a epoch=2.a");
    assert_converged(s);
    sim_destroy(s);
}

/* Bridge partitions (two links up, one down). Every node still follows
 * exactly one coordinator it can reach, and no link is cut to get
 * there. */
static void bridge_through_coordinator(void **state)
{
    struct sim *s = cluster("ccc");

    (void)state;
    sim_block(s, 1, 2); /* a-b and a-c up, b-c down */
    sim_block(s, 2, 1);
    sim_run_until(s, 3000 * MS);
    assert_false(sim_failed(s));
    assert_true(baton_node_is_coordinator(sim_node(s, 0)));
    assert_int_equal(baton_node_coordinator(sim_node(s, 1)), 0);
    assert_int_equal(baton_node_coordinator(sim_node(s, 2)), 0);
    sim_destroy(s);
}

static void bridge_through_lowest(void **state)
{
    struct sim *s = cluster("ccc");

    (void)state;
    sim_block(s, 0, 1); /* a-c and b-c up, a-b down: c is the bridge */
    sim_block(s, 1, 0);
    sim_run_until(s, 3000 * MS);
    assert_false(sim_failed(s));
    /* a and b cannot see each other: each coordinates; c follows the
     * higher-priority one, a. */
    assert_true(baton_node_is_coordinator(sim_node(s, 0)));
    assert_true(baton_node_is_coordinator(sim_node(s, 1)));
    assert_int_equal(baton_node_coordinator(sim_node(s, 2)), 0);
    assert_int_equal(sim_node(s, 1)->state.nodes[2].member, 0);
    sim_destroy(s);
}

static void bridge_through_middle(void **state)
{
    struct sim *s = cluster("ccc");
    int k = 0;

    (void)state;
    sim_run_until(s, 1000 * MS);
    sim_block(s, 0, 2); /* a-b and b-c up, a-c down: b is the bridge */
    sim_block(s, 2, 0);
    sim_run_until(s, 4000 * MS);
    assert_false(sim_failed(s));
    /* b keeps following a; c cannot reach a, and b is taken, so after a
     * heartbeat of b still following a, c coordinates alone. */
    assert_true(baton_node_is_coordinator(sim_node(s, 0)));
    assert_int_equal(baton_node_coordinator(sim_node(s, 1)), 0);
    assert_true(baton_node_is_coordinator(sim_node(s, 2)));
    expect(s, &k, "c: peer-down a (silent");
    expect(s, &k, "c: coordinator epoch=2.c");
    expect_none(s, 0, "b: seeking");
    sim_heal(s);
    sim_run_until(s, 4500 * MS);
    assert_converged(s);
    sim_destroy(s);
}

/* Two nodes: a split gives two coordinators (available mode keeps both
 * sides serving); the heal leaves one, the higher-priority a, with an
 * epoch above both. */
static void two_node_split_and_heal(void **state)
{
    struct sim *s = cluster("cc");
    int k;

    (void)state;
    sim_run_until(s, 1000 * MS);
    assert_converged(s);
    sim_block(s, 0, 1);
    sim_block(s, 1, 0);
    sim_run_until(s, 3000 * MS);
    assert_true(baton_node_is_coordinator(sim_node(s, 0)));
    assert_true(baton_node_is_coordinator(sim_node(s, 1)));
    assert_int_equal(sim_node(s, 1)->epoch, baton_epoch_make(2, 1));
    k = sim_trace_count(s);
    sim_heal(s);
    sim_run_until(s, 3500 * MS);
    expect(s, &k, "b: joining a epoch=2.b");
    expect(s, &k, "a: applied|coord");
    expect(s, &k, "b: follower of a epoch=3.a");
    assert_converged(s);
    sim_destroy(s);
}

/* Workers never coordinate: with no candidate there is no coordinator;
 * a worker listed first does not outrank the candidates. */
static void workers_never_coordinate(void **state)
{
    struct sim *s = cluster("www");
    struct sim *t;
    (void)state;

    sim_run_until(s, 5000 * MS);
    expect_none(s, 0, "coordinator");
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(sim_node(s, i)->role, BATON_ROLE_SEEKING);
    }
    assert_converged(s);
    sim_destroy(s);

    t = cluster("wcw");
    sim_run_until(t, 1000 * MS);
    assert_true(baton_node_is_coordinator(sim_node(t, 1)));
    assert_int_equal(baton_node_coordinator(sim_node(t, 0)), 1);
    assert_int_equal(baton_node_coordinator(sim_node(t, 2)), 1);
    expect_none(t, 0, "a: coordinator");
    assert_converged(t);
    sim_destroy(t);
}

/* A node restarted under the same name is told apart from its previous
 * life: peers drop the old life (and its membership) and ignore what it
 * still has in flight. */
static void restart_under_same_name(void **state)
{
    struct sim *s = cluster("ccc");
    int k;

    (void)state;
    sim_run_until(s, 1000 * MS);
    k = sim_trace_count(s);
    sim_crash(s, 2);
    sim_restart(s, 2);
    sim_run_until(s, 1100 * MS);
    expect(s, &k, "a: peer-down c (link closed");
    expect(s, &k, "a: applied|leave c");
    expect(s, &k, "c: follower of a");
    assert_converged(s);
    /* Incarnations are boot times (µs in the simulator). */
    assert_int_equal(sim_node(s, 0)->peers[2].inc, 1000001);
    assert_int_equal(sim_node(s, 0)->state.nodes[2].inc, 1000001);
    /* A message from c's first life arriving now is refused. */
    k = sim_trace_count(s);
    sim_inject_garbage(s, 1, 10); /* to b, from c's first life */
    expect(s, &k, "b: rejected heartbeat from c: stale sender incarnation");
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* The checker itself must catch violations, or a green run means
 * nothing: break a node on purpose and watch it fail. */
static void checker_catches_epoch_going_back(void **state)
{
    struct sim *s = cluster("ccc");

    (void)state;
    sim_run_until(s, 1000 * MS);
    sim_node_mut(s, 2)->epoch = 0;
    sim_run_until(s, 1300 * MS);
    assert_true(sim_failed(s));
    assert_non_null(strstr(sim_failure(s), "epoch went back"));
    sim_destroy(s);
}

static void checker_catches_diverged_replica(void **state)
{
    struct sim *s = cluster("cccc");

    (void)state;
    sim_run_until(s, 1000 * MS);
    /* c's replica silently disagrees with a's about d. */
    sim_node_mut(s, 2)->state.nodes[3].inc += 5;
    sim_crash(s, 1); /* a orders an op; c applies it to a wrong base */
    sim_run_until(s, 1300 * MS);
    assert_true(sim_failed(s));
    assert_non_null(strstr(sim_failure(s), "diverged"));
    sim_destroy(s);
}

static void liveness_check_sees_stale_replica(void **state)
{
    struct sim *s = cluster("ccc");
    char why[256];

    (void)state;
    sim_run_until(s, 1000 * MS);
    assert_true(sim_converged(s, why, sizeof(why)));
    sim_node_mut(s, 1)->state.nodes[2].member = 0;
    assert_false(sim_converged(s, why, sizeof(why)));
    assert_non_null(strstr(why, "replica"));
    sim_destroy(s);
}

/* ---- quorum mode: durability (quorum.md §3, §7) ----------------------
 *
 * Two scenarios the random seeds miss (a restarted voter refuses votes
 * for an election timeout, which masks both there): each fails if the
 * Raft core acts on a write before the driver confirmed it durable. */

/* n nodes, all candidates, running the Raft group for one quorum app. */
static struct sim *quorum_cluster(unsigned n)
{
    struct sim_config cfg = {0};
    struct baton_app_config *ac = &cfg.apps[0];
    struct sim *s;

    cfg.n_nodes = n;
    memset(cfg.candidate, 1, n);
    cfg.seed = 1;
    cfg.delay_min_us = cfg.delay_max_us = 1000;
    cfg.link_delay_us = 1000;
    cfg.keep_trace = true;
    cfg.n_apps = 1;
    snprintf(ac->name, sizeof(ac->name), "q");
    memset(ac->rank, 1, n);
    ac->mode = BATON_APP_QUORUM;
    ac->lease_ms = 1000;
    ac->stop_margin_ms = 250;
    s = sim_create(&cfg);
    assert_non_null(s);
    return s;
}

/* Three nodes after 4 s: the group has a leader (*leader). */
static struct sim *quorum_settled(unsigned *leader)
{
    struct sim *s = quorum_cluster(3);

    sim_run_until(s, 4000 * MS);
    *leader = baton_node_raft_leader(sim_node(s, 0));
    assert_true(*leader < 3);
    return s;
}

static void cut(struct sim *s, unsigned a, unsigned b)
{
    sim_block(s, a, b);
    sim_block(s, b, a);
}

static void assert_no_failure(const struct sim *s)
{
    if (sim_failed(s)) {
        fail_msg("invariant: %s", sim_failure(s));
    }
}

/* Of three nodes, away is cut off from both others, crashed node lost
 * restarts linked to other again, and the two elect a leader. */
static void rejoin_and_elect(struct sim *s,
                             unsigned lost,
                             unsigned away,
                             unsigned other)
{
    unsigned leader;

    cut(s, away, lost);
    cut(s, away, other);
    sim_unblock(s, lost, other);
    sim_unblock(s, other, lost);
    sim_restart(s, lost);
    sim_run_for(s, 8000 * MS);
    assert_no_failure(s);
    leader = baton_node_raft_leader(sim_node(s, other));
    assert_true(leader == lost || leader == other);
}

/* The leader counts its own entry toward a commit only once its write
 * is durable. Leader l's disk is slow (300 ms); f1 takes the entry and
 * acks it at once; f2 is cut off from l. l crashes before its write is
 * durable, which loses the entry there, and f1 is cut off: f2 and the
 * restarted l elect a leader without it. Had l counted itself (a
 * majority with f1), that entry was committed, and the new leader lacks
 * a committed entry (sim_quorum.c). As built it was never committed. */
static void quorum_leader_own_entry_counts_once_durable(void **state)
{
    struct sim *s;
    unsigned l, f1, f2, owner;
    uint64_t last;

    (void)state;
    s = quorum_settled(&l);
    f1 = (l + 1) % 3;
    f2 = (l + 2) % 3;
    cut(s, l, f2);
    sim_set_disk_delay(s, l, 300 * 1000);
    /* The app moves (an entry): its owner is unpermitted, or lost. */
    owner = baton_node_grant(sim_node(s, l), 0, NULL);
    if (owner != f2) {
        sim_request(s, owner, 0, BATON_REQ_PERMIT, 0);
    }
    last = baton_raft_last_index(&sim_node(s, l)->raft);
    for (int k = 0;
         k < 5000 && baton_raft_last_index(&sim_node(s, l)->raft) == last;
         k++) {
        sim_run_for(s, 1 * MS);
    }
    assert_true(baton_raft_last_index(&sim_node(s, l)->raft) > last);
    sim_run_for(s, 20 * MS); /* f1 has it durable and acked */
    assert_true(baton_raft_last_index(&sim_node(s, f1)->raft) > last);
    sim_crash(s, l);
    rejoin_and_elect(s, l, f1, f2);
    sim_destroy(s);
}

/* A vote is answered only once it is durable. x leads; then it is cut
 * off, and p and q elect a leader of the next term, t. When one of them
 * (c) stands, the other's (v's) disk turns slow (300 ms), so its vote
 * for c is not durable yet when v crashes, 2 ms after voting: the vote
 * is lost. c is then cut off; v restarts with the term and vote it had
 * before, meets x again, and the two elect a leader in term t. Had v
 * answered at once, c led term t as well: two leaders in one term
 * (sim_quorum.c). As built, c never got the vote. */
static void quorum_vote_answered_once_durable(void **state)
{
    struct sim *s;
    unsigned x, c = 3, v = 3;
    uint64_t t;

    (void)state;
    s = quorum_settled(&x);
    cut(s, x, (x + 1) % 3);
    cut(s, x, (x + 2) % 3);
    for (int k = 0; k < 100000 && c == 3; k++) {
        sim_run_for(s, 100); /* 0.1 ms: before the request arrives */
        for (unsigned i = 0; i < 3; i++) {
            if (i != x && sim_node(s, i)->raft.role == BATON_RAFT_CANDIDATE) {
                c = i;
            }
        }
    }
    assert_true(c < 3);
    v = 3 - x - c;
    t = sim_node(s, c)->raft.term;
    sim_set_disk_delay(s, v, 300 * 1000);
    for (int k = 0; k < 100 && sim_node(s, v)->raft.vote != (int)c; k++) {
        sim_run_for(s, 100);
    }
    assert_int_equal(sim_node(s, v)->raft.vote, (int)c);
    assert_int_equal(sim_node(s, v)->raft.term, t);
    sim_run_for(s, 2 * MS);
    sim_crash(s, v);
    sim_set_disk_delay(s, v, 0);
    sim_run_for(s, 500 * MS); /* c's own vote is durable by now */
    rejoin_and_elect(s, v, c, x);
    assert_true(baton_node_raft_term(sim_node(s, v)) >= t);
    sim_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boot_together),
        cmocka_unit_test(coordinator_killed),
        cmocka_unit_test(coordinator_partitioned_then_healed),
        cmocka_unit_test(coordinator_frozen_then_resumed),
        cmocka_unit_test(higher_priority_boots_late),
        cmocka_unit_test(bridge_through_coordinator),
        cmocka_unit_test(bridge_through_lowest),
        cmocka_unit_test(bridge_through_middle),
        cmocka_unit_test(two_node_split_and_heal),
        cmocka_unit_test(workers_never_coordinate),
        cmocka_unit_test(restart_under_same_name),
        cmocka_unit_test(checker_catches_epoch_going_back),
        cmocka_unit_test(checker_catches_diverged_replica),
        cmocka_unit_test(liveness_check_sees_stale_replica),
        cmocka_unit_test(quorum_leader_own_entry_counts_once_durable),
        cmocka_unit_test(quorum_vote_answered_once_durable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
