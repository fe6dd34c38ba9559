/* App scenarios: placement, failover, takeover and their defects fixed,
 * on a fixed-delay network (1 ms per message and link event; instances
 * get ready 1-10 ms after they start), asserted on the trace. Each test
 * is a piece of docs/design/apps.md. Trace lines: "<ms> <node>: <event>". */
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

/* spec: one app per string, e.g. "a,{bc}" = a first, then b and c of
 * equal priority; '-' = not listed. */
static void define(struct baton_app_config *ac, const char *name,
                   const char *spec, uint64_t timeout_ms)
{
    uint8_t rank = 1;
    bool group = false;

    memset(ac, 0, sizeof(*ac));
    snprintf(ac->name, sizeof(ac->name), "%s", name);
    ac->failover_timeout_ms = timeout_ms;
    for (const char *c = spec; *c; c++) {
        if (*c == '{') {
            group = true;
        } else if (*c == '}') {
            group = false;
            rank++;
        } else if (*c >= 'a' && *c <= 'i') {
            ac->rank[*c - 'a'] = rank;
            if (!group) {
                rank++;
            }
        }
    }
}

/* A quorum app at the least lease (4 heartbeats) and its default stop
 * margin (a quarter). */
static void define_quorum(struct baton_app_config *ac, const char *spec)
{
    define(ac, "q", spec, 0);
    ac->mode = BATON_APP_QUORUM;
    ac->lease_ms = 1000;
    ac->stop_margin_ms = 250;
}

/* The scenarios' cluster: n candidates, 1 ms links, traces kept. */
static void configure(struct sim_config *cfg, unsigned n, unsigned n_apps,
                      const struct baton_app_config *apps)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->n_nodes = n;
    memset(cfg->candidate, 1, n);
    cfg->seed = 3;
    cfg->delay_min_us = 1000;
    cfg->delay_max_us = 1000;
    cfg->link_delay_us = 1000;
    cfg->keep_trace = true;
    cfg->n_apps = n_apps;
    memcpy(cfg->apps, apps, n_apps * sizeof(*apps));
}

static struct sim *cluster(unsigned n, unsigned n_apps,
                           const struct baton_app_config *apps,
                           const struct baton_app_config *override,
                           unsigned override_node)
{
    struct sim_config cfg;
    struct sim *s;

    configure(&cfg, n, n_apps, apps);
    if (override != NULL) {
        cfg.override_set = true;
        cfg.override_node = override_node;
        cfg.override_app = *override;
    }
    s = sim_create(&cfg);
    assert_non_null(s);
    return s;
}

static void dump(const struct sim *s)
{
    for (int i = 0; i < sim_trace_count(s); i++) {
        const char *l = sim_trace_line(s, i);
        if (strstr(l, " app ") != NULL || strstr(l, "coordinator") != NULL ||
            strstr(l, "peer-down") != NULL || strstr(l, "boot") != NULL) {
            fprintf(stderr, "  %s\n", l);
        }
    }
}

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

static void expect_none(const struct sim *s, int from, const char *needle)
{
    int k = sim_trace_find(s, from, needle);

    if (k >= 0) {
        dump(s);
        fail_msg("unexpected trace line: %s", sim_trace_line(s, k));
    }
}

/* Node i runs app a, ready (and only there, among nodes 0..n-1). */
static void runs_only_on(const struct sim *s, unsigned n, unsigned a,
                         unsigned i)
{
    for (unsigned x = 0; x < n; x++) {
        unsigned st = sim_instance(s, x, a, NULL);
        if ((x == i) != (st == 2)) {
            dump(s);
            fail_msg("app %u: node %c has instance state %u", a, 'a' + x, st);
        }
    }
    assert_false(sim_failed(s));
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

/* Three nodes boot together: the app starts once, on the first node of
 * its list, as a normal start, well within 30 ms. */
static void placement_first_node(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k = 0;

    (void)state;
    define(&app, "x", "a,{bc}", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 100 * MS);
    assert_true(expect(s, &k, "a: app x: start here (normal)") <= 30);
    expect(s, &k, "a: app x: running here");
    runs_only_on(s, 3, 0, 0);
    assert_int_equal(sim_starts(s, 0), 1);
    assert_converged(s);
    sim_destroy(s);
}

/* Owner lost: after failover_timeout the app starts on the next node,
 * type failover from the lost node (reference §1.6); inside an equal
 * group the node with the fewest apps wins, ties to the smallest name. */
static void failover_after_timeout(void **state)
{
    struct baton_app_config apps[2];
    struct sim *s;
    int k;
    uint64_t t;

    (void)state;
    define(&apps[0], "x", "a,{bc}", 1000);
    define(&apps[1], "y", "b,{ac}", 0); /* b runs y: c has fewer apps */
    s = cluster(3, 2, apps, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, 0);
    runs_only_on(s, 3, 1, 1);
    k = sim_trace_count(s);
    sim_crash(s, 0);
    sim_run_until(s, 3000 * MS);
    expect(s, &k, "app x: waiting on a");
    t = expect(s, &k, "c: app x: start here (failover from a)");
    assert_true(t >= 2000 && t <= 2020); /* 1 ms to see the link close */
    runs_only_on(s, 3, 0, 2);
    expect_none(s, 0, "b: app x: start here");
    assert_converged(s);
    sim_destroy(s);
}

/* The original node back within the timeout restarts the app there as
 * normal, and nobody else starts it (reference §1.6 item 4). */
static void back_within_timeout(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "a,{bc}", 3000);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    k = sim_trace_count(s);
    sim_crash(s, 0);
    sim_run_until(s, 1500 * MS);
    sim_restart(s, 0);
    sim_run_until(s, 5000 * MS);
    expect(s, &k, "app x: waiting on a");
    expect(s, &k, "a: app x: start here (normal)");
    expect_none(s, 0, "b: app x: start here");
    expect_none(s, 0, "c: app x: start here");
    runs_only_on(s, 3, 0, 0);
    assert_converged(s);
    sim_destroy(s);
}

/* failover_timeout = infinity: never failed over. */
static void infinity_never_fails_over(void **state)
{
    struct baton_app_config app;
    struct sim *s;

    (void)state;
    define(&app, "x", "a,{bc}", BATON_TIMEOUT_INFINITY);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    sim_crash(s, 0);
    sim_run_until(s, 60000 * MS);
    expect_none(s, 0, "b: app x: start here");
    expect_none(s, 0, "c: app x: start here");
    assert_int_equal(sim_starts(s, 0), 1);
    sim_destroy(s);
}

/* A higher-priority node that comes up takes the app over: the new
 * instance starts and gets ready, and only then is the old one stopped
 * (reference §1.7). */
static void takeover_order(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k = 0;
    uint64_t ready;
    uint64_t stop;

    (void)state;
    define(&app, "x", "a,{bc}", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_crash(s, 0); /* a is down at boot: x starts on b */
    sim_run_until(s, 2000 * MS);
    runs_only_on(s, 3, 0, 1);
    k = sim_trace_count(s);
    sim_restart(s, 0);
    sim_run_until(s, 2500 * MS);
    expect(s, &k, "app x: takeover on a (takeover from b)");
    expect(s, &k, "a: app x: start here (takeover from b, with its state)");
    ready = expect(s, &k, "a: app x: running here");
    stop = expect(s, &k, "b: app x: stop here (now running on a)");
    assert_true(stop >= ready);
    runs_only_on(s, 3, 0, 0);
    assert_converged(s);
    sim_destroy(s);
}

/* Two apps failing over to the same equal-priority group at once, where
 * OTP deadlocks (reference §1.11 item 1): both restart, spread by load. */
static void two_apps_fail_over_together(void **state)
{
    struct baton_app_config apps[2];
    struct sim *s;

    (void)state;
    define(&apps[0], "x", "a,{bc}", 0);
    define(&apps[1], "y", "a,{bc}", 0);
    s = cluster(3, 2, apps, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, 0);
    runs_only_on(s, 3, 1, 0);
    sim_crash(s, 0);
    sim_run_until(s, 1100 * MS);
    runs_only_on(s, 3, 0, 1); /* tie: smallest name */
    runs_only_on(s, 3, 1, 2); /* b runs one app already: c */
    assert_converged(s);
    sim_destroy(s);
}

/* The app crashes beyond its restarts: failed over at once (OTP leaves a
 * crashed distributed app running nowhere, §1.9). */
static void crash_fails_over(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "a,b,c", 5000);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    k = sim_trace_count(s);
    sim_app_fail(s, 0, 0);
    sim_run_until(s, 1100 * MS);
    expect(s, &k, "a: app x: failed here");
    expect(s, &k, "b: app x: start here (failover from a)");
    runs_only_on(s, 3, 0, 1);
    /* Permitting it again on a forgives the failure: a takes it back. */
    sim_request(s, 0, 0, BATON_REQ_PERMIT, 1);
    sim_run_until(s, 1200 * MS);
    runs_only_on(s, 3, 0, 0);
    assert_converged(s);
    sim_destroy(s);
}

/* A partition with failover_timeout 0: each side runs the app. After the
 * heal one instance survives, the one the placement rules pick (a: first
 * in the list), and the other stops (DESIGN.md §3 item 1). */
static void duplicates_after_heal(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "a,{bc}", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    for (unsigned i = 1; i < 3; i++) {
        sim_block(s, 0, i);
        sim_block(s, i, 0);
    }
    sim_run_until(s, 3000 * MS);
    assert_int_equal(sim_instance(s, 0, 0, NULL), 2);
    assert_int_equal(sim_instance(s, 1, 0, NULL), 2); /* b's side too */
    k = sim_trace_count(s);
    sim_heal(s);
    sim_run_until(s, 3500 * MS);
    expect(s, &k, "b: app x: stop here (conflict: now running on a)");
    runs_only_on(s, 3, 0, 0);
    assert_converged(s);
    sim_destroy(s);
}

/* Issue 11 finding 4 (item 6): tokens only grow for the instance that
 * runs. While a and {b,c} live apart, b's side starts x under a token
 * above a's. After the heal a's instance survives, so it gets a new
 * token above both, without a restart (a TOKEN effect), and b's stop
 * says why: a conflict. */
static void heal_survivor_token_grows(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    uint64_t ta = 0;
    uint64_t tb = 0;
    uint64_t after = 0;
    uint64_t starts;
    int j;
    int k;

    (void)state;
    define(&app, "x", "a,{bc}", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    for (unsigned i = 1; i < 3; i++) {
        sim_block(s, 0, i);
        sim_block(s, i, 0);
    }
    sim_run_until(s, 3000 * MS);
    assert_int_equal(sim_instance(s, 0, 0, &ta), 2);
    assert_int_equal(sim_instance(s, 1, 0, &tb), 2);
    assert_true(tb > ta);
    starts = sim_starts(s, 0);
    k = sim_trace_count(s);
    sim_heal(s);
    sim_run_until(s, 4000 * MS);
    j = k;
    expect(s, &j, "b: app x: stop here (conflict: now running on a)");
    expect(s, &k, "a: app x: token here");
    runs_only_on(s, 3, 0, 0);
    sim_instance(s, 0, 0, &after);
    assert_true(after > tb);
    assert_int_equal(sim_starts(s, 0), starts); /* no restart */
    assert_converged(s);
    sim_destroy(s);
}

/* Issue 11 finding 6: a node restarted with a config that differs from
 * its peers' is cut from them (the transport adopts no link: it keeps
 * only an authenticated, silent one) and, started later than they, held
 * (BATON_REQ_HOLD, docs/design/transport.md §2). It starts nothing while
 * held, even alone, as coordinator of its own side, while its peers fail
 * its app over; a node held while it runs the app stops it. Released and
 * linked again, one instance runs. */
static void mismatch_holds_later_node(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "a,b,c", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, 0);
    sim_crash(s, 0);
    sim_run_until(s, 1500 * MS);
    runs_only_on(s, 3, 0, 1);
    k = sim_trace_count(s);
    for (unsigned i = 1; i < 3; i++) {
        sim_block(s, 0, i);
        sim_block(s, i, 0);
    }
    sim_restart(s, 0);
    sim_request(s, 0, 0, BATON_REQ_HOLD, 0);
    sim_run_until(s, 5000 * MS);
    expect(s, &k, "a: coordinator");
    expect_none(s, k, "a: app x: start here");
    runs_only_on(s, 3, 0, 1);
    /* Resolved: a released and linked again; a takes x back, once. */
    sim_request(s, 0, 0, BATON_REQ_RELEASE, 0);
    sim_heal(s);
    sim_run_until(s, 8000 * MS);
    runs_only_on(s, 3, 0, 0);
    assert_converged(s);
    /* Held while running it (the mismatched link formed only after the
     * node had started the app alone): it stops it; b runs it. */
    for (unsigned i = 1; i < 3; i++) {
        sim_block(s, 0, i);
        sim_block(s, i, 0);
    }
    sim_run_until(s, 10000 * MS);
    k = sim_trace_count(s);
    sim_request(s, 0, 0, BATON_REQ_HOLD, 0);
    sim_run_until(s, 12000 * MS);
    expect(s, &k, "a: app x: stop");
    assert_int_equal(sim_instance(s, 0, 0, NULL), 0);
    sim_destroy(s);
}

/* batonctl permit APP false moves the app away; true lets it back
 * (reference §1.7). batonctl takeover APP moves it here and keeps it
 * here, even from a higher-priority node. */
static void permit_and_takeover(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "a,b,c", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    k = sim_trace_count(s);
    sim_request(s, 0, 0, BATON_REQ_PERMIT, 0);
    sim_run_until(s, 1100 * MS);
    expect(s, &k, "app x: takeover on b (takeover from a)");
    runs_only_on(s, 3, 0, 1);
    sim_request(s, 0, 0, BATON_REQ_PERMIT, 1);
    sim_run_until(s, 1200 * MS);
    expect(s, &k, "app x: takeover on a (takeover from b)");
    runs_only_on(s, 3, 0, 0);
    sim_request(s, 2, 0, BATON_REQ_TAKEOVER, 0);
    sim_run_until(s, 1300 * MS);
    expect(s, &k, "app x: takeover on c (takeover from a)");
    runs_only_on(s, 3, 0, 2);
    sim_run_until(s, 3000 * MS);
    runs_only_on(s, 3, 0, 2); /* pinned: a does not take it back */
    sim_destroy(s);
}

/* An app whose node list differs between nodes: refused on every node
 * (OTP kills the node, §1.2); the nodes keep running; once the odd node
 * is gone, the agreeing ones run it. */
static void differing_definitions_refused(void **state)
{
    struct baton_app_config app;
    struct baton_app_config odd;
    struct sim *s;
    int k = 0;

    (void)state;
    define(&app, "x", "a,b,c", 0);
    define(&odd, "x", "c,b,a", 0);
    s = cluster(3, 1, &app, &odd, 2);
    sim_run_until(s, 1000 * MS);
    expect(s, &k, "app x: refused");
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(sim_instance(s, i, 0, NULL), 0);
        assert_true(sim_up(s, i));
    }
    assert_non_null(strstr(sim_trace_line(s, sim_trace_find(s, 0,
                                                            "app x: refused:")),
                           "differs between nodes"));
    sim_crash(s, 2);
    sim_run_until(s, 1500 * MS);
    runs_only_on(s, 2, 0, 0);
    sim_destroy(s);
}

/* The mode and the lease belong to the definition too (quorum.md §1):
 * one node with x in quorum mode, the others available, or a different
 * lease, refuses x everywhere. */
static void differing_modes_refused(void **state)
{
    struct baton_app_config app;
    struct baton_app_config odd;
    struct sim *s;
    int k = 0;

    (void)state;
    for (int lease_only = 0; lease_only < 2; lease_only++) {
        define(&app, "x", "a,b,c", 0);
        define(&odd, "x", "a,b,c", 0);
        odd.mode = BATON_APP_QUORUM;
        odd.lease_ms = 1000;
        odd.stop_margin_ms = 250;
        if (lease_only) {
            app = odd;
            odd.lease_ms = 2000;
        }
        s = cluster(3, 1, &app, &odd, 2);
        k = 0;
        sim_run_until(s, 1000 * MS);
        expect(s, &k, "app x: refused");
        for (unsigned i = 0; i < 3; i++) {
            assert_int_equal(sim_instance(s, i, 0, NULL), 0);
        }
        sim_destroy(s);
    }
}

/* A quorum app runs only on the node the log granted it to, under a
 * lease (quorum.md §4.2); an available app beside it runs as before. */
static void quorum_app_runs_on_its_owner(void **state)
{
    struct baton_app_config apps[2];
    struct sim *s;

    (void)state;
    define_quorum(&apps[0], "a,b,c");
    define(&apps[1], "x", "a,b,c", 0);
    s = cluster(3, 2, apps, NULL, 0);
    sim_run_until(s, 3000 * MS);
    runs_only_on(s, 3, 0, 0);
    assert_true(baton_node_lease_end(sim_node(s, 0), 0) >
                baton_node_lease_end(sim_node(s, 1), 0));
    runs_only_on(s, 3, 1, 0);
    sim_destroy(s);
}

/* With a quorum app the nodes run one Raft group over the wire codec's
 * messages and the driver's store: one leader, known to all; its
 * crash elects another in a later term, which the old one follows when
 * it returns; every node commits every leader's entry (quorum.md §2-§3;
 * the checker in sim_quorum.c runs after every step). */
static void quorum_group_elects(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    unsigned l1, l2;
    uint64_t t1;

    (void)state;
    define_quorum(&app, "a,b,c");
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 4000 * MS);
    l1 = baton_node_raft_leader(sim_node(s, 0));
    assert_true(l1 < 3);
    t1 = baton_node_raft_term(sim_node(s, l1));
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(baton_node_raft_leader(sim_node(s, i)), l1);
        assert_true(baton_node_raft_commit(sim_node(s, i)) >= 1);
    }
    sim_crash(s, l1);
    sim_run_until(s, 8000 * MS);
    l2 = baton_node_raft_leader(sim_node(s, (l1 + 1) % 3));
    assert_true(l2 < 3 && l2 != l1);
    assert_true(baton_node_raft_term(sim_node(s, l2)) > t1);
    sim_restart(s, l1);
    sim_run_until(s, 12000 * MS);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(baton_node_raft_leader(sim_node(s, i)), l2);
        assert_int_equal(baton_node_raft_commit(sim_node(s, i)),
                         baton_node_raft_commit(sim_node(s, l2)));
    }
    assert_true(baton_node_raft_commit(sim_node(s, l2)) >= 2);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* Grants through the log (quorum.md §4.2, §9 step 3): the Raft leader
 * places the quorum app by the available-mode rule (first in rank: a)
 * and every node applies the same committed grant, its epoch the
 * granting entry's index. a crashes: the leader of the other two grants
 * it to b, second in rank, under a higher epoch; a back in a new life
 * is first in rank again and gets it back by a third grant, higher
 * still, once b's lease has run out. The app runs on the owner of the
 * latest grant, under the grant's epoch. */
static void quorum_app_granted_through_log(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    uint64_t e1, e2, e3, e;

    (void)state;
    define_quorum(&app, "a,b,c");
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 4000 * MS);
    assert_int_equal(baton_node_grant(sim_node(s, 0), 0, &e1), 0);
    assert_true(e1 >= 2); /* after the leader's no-op */
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(baton_node_grant(sim_node(s, i), 0, &e), 0);
        assert_int_equal(e, e1);
    }
    runs_only_on(s, 3, 0, 0);
    assert_int_equal(sim_node(s, 0)->local[0].epoch, e1);
    sim_crash(s, 0);
    sim_run_until(s, 10000 * MS);
    for (unsigned i = 1; i < 3; i++) {
        assert_int_equal(baton_node_grant(sim_node(s, i), 0, &e2), 1);
        assert_true(e2 > e1);
    }
    assert_int_equal(sim_instance(s, 1, 0, NULL), 2);
    assert_int_equal(sim_instance(s, 2, 0, NULL), 0);
    sim_restart(s, 0);
    sim_run_until(s, 16000 * MS);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(baton_node_grant(sim_node(s, i), 0, &e3), 0);
        assert_true(e3 > e2);
    }
    runs_only_on(s, 3, 0, 0);
    assert_int_equal(sim_node(s, 0)->local[0].epoch, e3);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* Self-fencing (quorum.md §4.4): the owner a is frozen for three
 * leases. Its lease runs out on its own clock while it sleeps; the
 * leader grants the app to b only after the last lease it answered a,
 * drift included, so b starts after a's lease ended (sim_quorum.c checks
 * it at every step); a, woken, stops at once and does not start again. */
static void quorum_owner_paused_stops_on_waking(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    uint64_t e1, e2;

    (void)state;
    define_quorum(&app, "a,b,c");
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 4000 * MS);
    runs_only_on(s, 3, 0, 0);
    assert_int_equal(baton_node_grant(sim_node(s, 1), 0, &e1), 0);
    sim_pause(s, 0);
    sim_run_until(s, 7000 * MS);
    assert_int_equal(baton_node_grant(sim_node(s, 1), 0, &e2), 1);
    assert_true(e2 > e1);
    assert_int_equal(sim_instance(s, 1, 0, NULL), 2);
    sim_resume(s, 0);
    sim_run_for(s, 5 * MS);
    assert_int_not_equal(sim_instance(s, 0, 0, NULL), 2);
    /* Its lease ended while it slept (no drift here: virtual ms). */
    assert_true(baton_node_lease_end(sim_node(s, 0), 0) < 7000);
    sim_run_for(s, 2000 * MS);
    /* a is first in rank: once back, it gets the app again (a new
     * grant), after b's lease. */
    runs_only_on(s, 3, 0, 0);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

static void assert_no_failure(const struct sim *s)
{
    if (sim_failed(s)) {
        fail_msg("invariant: %s", sim_failure(s));
    }
}

/* A cluster of three running quorum app q on a, whose instances ignore
 * every STOP (stop_hang_ppm: only a kill ends them); shim models
 * batond's shim (sim.h). */
static struct sim *hanging_cluster(bool shim)
{
    struct baton_app_config app;
    struct sim_config cfg;
    struct sim *s;

    define_quorum(&app, "a,b,c");
    configure(&cfg, 3, 1, &app);
    cfg.stop_hang_ppm = 1000000;
    cfg.shim = shim;
    s = sim_create(&cfg);
    assert_non_null(s);
    return s;
}

/* Self-fencing when the stop hangs (quorum.md §4.4): a, the owner, is
 * cut off from b and c. Its lease runs out unrenewed: STOP at
 * lease_end - M, which the instance ignores, then KILL at lease_end. b
 * starts only after that (the invariant of sim_quorum.c counts a
 * stopping instance as live until it is gone). Without the kill a's
 * instance would run on beside b's. */
static void quorum_stop_hangs_killed_at_lease_end(void **state)
{
    struct sim *s;
    int cur = 0;
    uint64_t t_stop, t_kill, t_start;

    (void)state;
    s = hanging_cluster(false);
    sim_run_until(s, 4000 * MS);
    runs_only_on(s, 3, 0, 0);
    for (unsigned k = 1; k < 3; k++) {
        sim_block(s, 0, k);
        sim_block(s, k, 0);
    }
    sim_run_until(s, 8000 * MS);
    assert_no_failure(s);
    t_stop = expect(s, &cur, "a: app q: stop here");
    t_kill = expect(s, &cur, "a: app q: killed here: lease ended at");
    t_start = expect(s, &cur, "b: app q: start here");
    /* The stop margin (250 ms) between the stop and the kill. */
    assert_true(t_kill >= t_stop + 240);
    assert_true(t_start > t_kill);
    assert_int_equal(sim_kills(s), 1);
    assert_int_equal(sim_instance(s, 0, 0, NULL), 0);
    assert_int_equal(sim_instance(s, 1, 0, NULL), 2);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* The shim's own timer (quorum.md §4.4): a, the owner, is frozen (as
 * batond under SIGSTOP) while its app runs on outside it, and the app
 * ignores stops. Only the shim can end it: it kills the app at the
 * lease end a gave it last (LEASE), before b is granted the app and
 * starts. Without the LEASE effect the app would outlive the lease. */
static void quorum_frozen_owner_shim_kills(void **state)
{
    struct sim *s;
    int cur = 0;

    (void)state;
    s = hanging_cluster(true);
    sim_run_until(s, 4000 * MS);
    runs_only_on(s, 3, 0, 0);
    sim_pause(s, 0);
    sim_run_until(s, 8000 * MS);
    assert_no_failure(s);
    expect(s, &cur, "b: app q: start here");
    assert_int_equal(sim_shim_kills(s), 1);
    assert_int_equal(sim_kills(s), 0); /* a slept through its lease */
    assert_int_equal(sim_instance(s, 1, 0, NULL), 2);
    sim_resume(s, 0);
    sim_run_for(s, 5 * MS);
    /* Woken, a stops and kills what it believes runs (the shim's exit
     * reached batond as a crash it does not restart: a stop's end). */
    assert_int_equal(sim_kills(s), 1);
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* The drift discount (quorum.md §4.2): the owner takes its lease as
 * s_o + D(1 - rho) on its clock because its clock may run slow. Here it
 * runs as slow as max_drift allows against the leader's (10%: b at
 * -5%, a and c at +5%), with leases of 10 s (heartbeats of 2.5 s) so
 * that 0.5% of a lease is more than a grant takes. b owns q under the
 * Raft leader c; it is then unpermitted there and cut off, so it does
 * not hear the grant move. c takes q over as early as the rules allow:
 * D(1 + rho) on its own clock after its last answer to b. With the
 * discount b's lease ends well before; without it, b's lease runs past
 * c's start in true time, and the invariant of sim_quorum.c fails. */
static void quorum_drift_discount_holds(void **state)
{
    struct baton_app_config app;
    struct sim_config cfg;
    struct sim *s;
    unsigned leader;
    uint64_t e1, e2;

    (void)state;
    define_quorum(&app, "b,c,a");
    app.lease_ms = 10000;
    app.stop_margin_ms = 2500;
    configure(&cfg, 3, 1, &app);
    cfg.heartbeat_ms = 2500;
    cfg.drift_ppm = 100000;
    cfg.rates_given = true;
    cfg.rate_ppm[0] = 50000;
    cfg.rate_ppm[1] = -50000;
    cfg.rate_ppm[2] = 50000;
    s = sim_create(&cfg);
    assert_non_null(s);
    sim_run_until(s, 60000 * MS);
    assert_no_failure(s);
    leader = baton_node_raft_leader(sim_node(s, 0));
    assert_int_equal(leader, 2);
    runs_only_on(s, 3, 0, 1);
    assert_int_equal(baton_node_grant(sim_node(s, 2), 0, &e1), 1);
    sim_request(s, 1, 0, BATON_REQ_PERMIT, 0);
    sim_run_for(s, 3 * MS); /* b's report reaches c: no more renewals */
    for (unsigned k = 0; k < 3; k += 2) {
        sim_block(s, 1, k);
        sim_block(s, k, 1);
    }
    sim_run_for(s, 30000 * MS);
    assert_no_failure(s);
    assert_int_equal(baton_node_grant(sim_node(s, 2), 0, &e2), 2);
    assert_true(e2 > e1);
    assert_int_equal(sim_instance(s, 2, 0, NULL), 2);
    sim_destroy(s);
}

/* Two nodes and a witness (quorum.md §5): the witness neither
 * coordinates nor is listed for the app, but votes, so the Raft group
 * survives the loss of any one of the three: the other two elect a
 * leader, and the third follows it when it returns. */
static void witness_keeps_majority(void **state)
{
    struct sim_config cfg = {0};
    struct sim *s;
    uint64_t t = 0;

    (void)state;
    cfg.n_nodes = 3;
    cfg.candidate[0] = cfg.candidate[1] = 1; /* c: the witness */
    cfg.seed = 5;
    cfg.delay_min_us = cfg.delay_max_us = 1000;
    cfg.link_delay_us = 1000;
    cfg.n_apps = 1;
    define_quorum(&cfg.apps[0], "a,b");
    s = sim_create(&cfg);
    assert_non_null(s);
    for (unsigned lost = 0; lost < 3; lost++) {
        unsigned a = (lost + 1) % 3, b = (lost + 2) % 3;
        unsigned l;
        t += 4000 * MS;
        sim_run_until(s, t);
        sim_crash(s, lost);
        t += 5000 * MS;
        sim_run_until(s, t);
        l = baton_node_raft_leader(sim_node(s, a));
        assert_true(l == a || l == b);
        assert_int_equal(baton_node_raft_leader(sim_node(s, b)), l);
        sim_restart(s, lost);
        t += 4000 * MS;
        sim_run_until(s, t);
        assert_int_equal(baton_node_raft_leader(sim_node(s, lost)),
                         baton_node_raft_leader(sim_node(s, a)));
    }
    assert_false(sim_failed(s));
    sim_destroy(s);
}

/* Issue 11 finding 8: a singleton (every node equal) runs on d; d freezes
 * for 300 ms, shorter than the detection window, while a (the
 * coordinator) restarts. No coordinator may fail the app over from d in
 * that time: d is alive in every other node's view (and in a's as soon
 * as it thaws). The app keeps running on d only, under its token. */
static void frozen_owner_not_failed_over(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    uint64_t epoch = 0;
    uint64_t after = 0;
    int k;

    (void)state;
    define(&app, "x", "{abcde}", 0);
    s = cluster(5, 1, &app, NULL, 0);
    sim_run_until(s, 500 * MS);
    sim_request(s, 3, 0, BATON_REQ_TAKEOVER, 0); /* pinned on d */
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 5, 0, 3);
    sim_instance(s, 3, 0, &epoch);
    k = sim_trace_count(s);
    sim_pause(s, 3);
    sim_crash(s, 0);
    sim_run_for(s, 10 * MS);
    sim_restart(s, 0);
    sim_run_until(s, 1300 * MS);
    sim_resume(s, 3);
    sim_run_until(s, 4000 * MS);
    expect(s, &k, "a: coordinator");
    expect_none(s, k, "app x: start here");
    runs_only_on(s, 5, 0, 3);
    sim_instance(s, 3, 0, &after);
    assert_true(after >= epoch);
    assert_converged(s);
    sim_destroy(s);
}

/* Issue 11 finding 3 (item 4): 3 vs 2 on 5 nodes, each side runs the
 * app; at the heal, the losing side's coordinator d links to the winner
 * first and surrenders, while its follower e is still cut off from the
 * winner's side for 500 ms. e must not claim in the meantime (its
 * coordinator is merging into a group e is about to reach), and nobody
 * starts the app after the heal: a keeps it, d stops its own. */
static void no_claim_during_merge(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "{abcde}", 0);
    s = cluster(5, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 5, 0, 0);
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned j = 3; j < 5; j++) {
            sim_block(s, i, j);
            sim_block(s, j, i);
        }
    }
    sim_run_until(s, 4000 * MS);
    assert_int_equal(sim_instance(s, 3, 0, NULL), 2); /* d's side too */
    k = sim_trace_count(s);
    for (unsigned i = 0; i < 3; i++) {
        sim_unblock(s, i, 3);
        sim_unblock(s, 3, i);
    }
    sim_run_until(s, 4500 * MS);
    for (unsigned i = 0; i < 3; i++) {
        sim_unblock(s, i, 4);
        sim_unblock(s, 4, i);
    }
    sim_run_until(s, 8000 * MS);
    expect(s, &k, "d: joining a");
    expect_none(s, k, "e: coordinator");
    expect_none(s, k, "app x: start here");
    runs_only_on(s, 5, 0, 0);
    assert_converged(s);
    sim_destroy(s);
}

/* The long nemesis's finding (docs/design/cluster.md §7): d runs x and
 * is cut from everyone; the majority's coordinator a fails x over to e
 * when its timeout runs out. Just before that, d and e hear each other
 * again (the heal reaches e first), but a has not heard from e since, so
 * it still decides the failover: the start reaches e after e heard d,
 * which still runs x. e must not act on it (core.md §4.4, the last
 * moment), and a, once e vouches for d, cancels it: x keeps running on
 * d only, under a token above the cancelled one. */
static void failover_cancelled_when_owner_heard(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    uint64_t epoch = 0;
    uint64_t failover;
    uint64_t deadline;
    int j;
    int k;

    (void)state;
    define(&app, "x", "d,e,{abc}", 1500);
    s = cluster(5, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 5, 0, 3);
    k = sim_trace_count(s);
    for (unsigned i = 0; i < 5; i++) {
        if (i != 3) {
            sim_block(s, 3, i);
            sim_block(s, i, 3);
        }
    }
    sim_run_until(s, 2500 * MS);
    deadline = expect(s, &k, "a: app x: waiting on d") + 1500;
    /* e and d hear each other again (at 3258 ms, their redial) after
     * e's last heartbeat to a before the deadline (3256 ms): a learns it
     * only with e's next one, at the deadline itself. */
    sim_run_until(s, (deadline - 300) * MS);
    sim_unblock(s, 3, 4);
    sim_unblock(s, 4, 3);
    sim_run_until(s, (deadline + 200) * MS);
    j = k;
    expect(s, &j, "a: app x: starting on e (failover from d)");
    failover =
        strtoull(strstr(sim_trace_line(s, j - 1), "epoch=") + 6, NULL, 10);
    expect(s, &j, "a: app x: waiting on d"); /* cancelled */
    sim_heal(s);
    sim_run_until(s, 8000 * MS);
    expect_none(s, k, "app x: start here");
    runs_only_on(s, 5, 0, 3);
    sim_instance(s, 3, 0, &epoch);
    assert_true(epoch > failover);
    assert_converged(s);
    sim_destroy(s);
}

/* The other side of the last-moment rule: an owner that restarted is
 * heard again in a new life, whose instance is gone, so the failover
 * from its old life stands. d runs x (timeout 0) and crashes; a fails x
 * over to e at once, and d's new life links up with e while that start
 * is on its way: e starts x all the same, and nothing cancels it. */
static void failover_stands_when_owner_restarted(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "e,d,{abc}", 0);
    s = cluster(5, 1, &app, NULL, 0);
    sim_run_until(s, 500 * MS);
    sim_request(s, 3, 0, BATON_REQ_TAKEOVER, 0); /* pinned on d */
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 5, 0, 3);
    k = sim_trace_count(s);
    sim_crash(s, 3);
    sim_run_for(s, 1 * MS);
    sim_restart(s, 3);
    sim_run_until(s, 3000 * MS);
    expect(s, &k, "a: app x: starting on e (failover from d)");
    expect(s, &k, "e: app x: start here (failover from d)");
    expect_none(s, k, "app x: waiting on d");
    runs_only_on(s, 5, 0, 4);
    assert_converged(s);
    sim_destroy(s);
}

/* A bridge: a-b and b-c up, a-c down, with the app's owner at one cut
 * end. c, which cannot reach a, forms a group of its own; a keeps b. b
 * hears both and says so in its status, so neither coordinator may fail
 * the app over (indirect liveness, as SWIM's indirect probes: core.md
 * §4.4). One instance for the whole partition and after the heal, on
 * its owner, under a token above every token issued. */
static void bridge_keeps_owner(const char *nodes, unsigned owner)
{
    struct baton_app_config app;
    struct sim *s;
    uint64_t epoch = 0;
    int k;

    define(&app, "x", nodes, 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, owner);
    k = sim_trace_count(s);
    sim_block(s, 0, 2);
    sim_block(s, 2, 0);
    sim_run_until(s, 3000 * MS);
    expect(s, &k, "c: coordinator"); /* the far end's own group */
    sim_run_until(s, 10000 * MS);
    expect_none(s, k, "app x: start here");
    runs_only_on(s, 3, 0, owner);
    sim_heal(s);
    sim_run_until(s, 13000 * MS);
    expect_none(s, k, "app x: start here");
    runs_only_on(s, 3, 0, owner);
    sim_instance(s, owner, 0, &epoch);
    assert_converged(s);
    sim_destroy(s);
}

/* Issue 11 finding 2 (item 5): the app runs on c, at the far end. a
 * cannot hear c, but b, a member of a's group, vouches for it. */
static void bridge_owner_vouched_for(void **state)
{
    (void)state;
    bridge_keeps_owner("c,{ab}", 2);
}

/* The owner a coordinates; c leads its own group beside b, which follows
 * a: b vouches for a although it is no member of c's group (the cluster
 * suite's bridge). */
static void bridge_owner_vouched_for_by_non_member(void **state)
{
    (void)state;
    bridge_keeps_owner("a,{bc}", 0);
}

/* Issue 12: a graceful stop of the owner's batond withdraws its permits
 * and leaves its instance running until the core stops it (supervision.md
 * §2). The core then moves the app as a takeover: the instance on a
 * exports while it runs, b starts with that state, a stops only once b
 * is ready; then a leaves, and x stays on b. */
static void graceful_leave_hands_state_over(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;
    uint64_t ready;
    uint64_t stop;

    (void)state;
    define(&app, "x", "a,b,c", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, 0);
    k = sim_trace_count(s);
    sim_request(s, 0, 0, BATON_REQ_PERMIT, 0); /* batond's SIGTERM */
    sim_run_until(s, 1100 * MS);
    expect(s, &k, "app x: takeover on b (takeover from a)");
    expect(s, &k, "b: app x: start here (takeover from a, with its state)");
    ready = expect(s, &k, "b: app x: running here");
    stop = expect(s, &k, "a: app x: stop here (now running on b)");
    assert_true(stop >= ready);
    expect_none(s, 0, "without state");
    runs_only_on(s, 3, 0, 1);
    sim_crash(s, 0); /* batond exits once its instance is gone */
    sim_run_until(s, 2000 * MS);
    runs_only_on(s, 3, 0, 1);
    expect_none(s, k, "app x: start here");
    sim_destroy(s);
}

/* ---- runtime definitions (apps.md §1.1: a reload) ------------------- */

/* Runs until t, one millisecond at a time, checking that app a never
 * has two instances (starting or running) among nodes 0..n-1 except
 * during a takeover (the new one starts while the old one runs, as some
 * node's replica still says). */
static void run_single(struct sim *s, unsigned n, unsigned a, uint64_t t)
{
    while (sim_now(s) < t && !sim_failed(s)) {
        unsigned live = 0;
        bool takeover = false;
        sim_run_for(s, MS);
        for (unsigned x = 0; x < n; x++) {
            unsigned st = sim_instance(s, x, a, NULL);
            const struct baton_node *c = sim_node(s, x);
            int k = baton_state_app_find(&c->state, c->cfg.apps[a].name);
            live += st == 1 || st == 2;
            takeover |= sim_up(s, x) && k >= 0 &&
                        c->state.apps[k].status == BATON_APP_TAKEOVER;
        }
        if (live > 2 || (live == 2 && !takeover)) {
            dump(s);
            fail_msg("app %u: %u instances at %" PRIu64 " ms", a, live,
                     sim_now(s) / MS);
        }
    }
    assert_false(sim_failed(s));
}

/* An app added at run time on every node (a reload) is placed by the
 * usual rules, once. */
static void runtime_add_placed(void **state)
{
    struct baton_app_config x;
    struct baton_app_config y;
    struct sim *s;
    int k;

    (void)state;
    define(&x, "x", "a,b,c", 0);
    define(&y, "y", "b,c,a", 0);
    s = cluster(3, 1, &x, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, 0);
    k = sim_trace_count(s);
    for (unsigned i = 0; i < 3; i++) {
        sim_define(s, i, 1, &y);
    }
    run_single(s, 3, 1, 1500 * MS);
    expect(s, &k, "app y: defined here");
    expect(s, &k, "app y: starting on b (normal)");
    runs_only_on(s, 3, 1, 1);
    runs_only_on(s, 3, 0, 0); /* the others are untouched */
    assert_int_equal(sim_starts(s, 1), 1);
    assert_converged(s);
    sim_destroy(s);
}

/* Removed on the node that runs it: it moves away as a takeover, with
 * its state, and is not placed back there; removed everywhere, it runs
 * nowhere. */
static void runtime_remove_moves(void **state)
{
    struct baton_app_config x;
    struct sim *s;
    int k;

    (void)state;
    define(&x, "x", "a,b,c", 0);
    s = cluster(3, 1, &x, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, 0);
    k = sim_trace_count(s);
    sim_request(s, 0, 0, BATON_REQ_UNDEFINE, 0);
    run_single(s, 3, 0, 1500 * MS);
    expect(s, &k, "a: app x: removed here (its instance here moves away");
    expect(s, &k, "app x: takeover on b (takeover from a)");
    expect(s, &k, "b: app x: start here (takeover from a, with its state)");
    expect(s, &k, "a: app x: stop here (now running on b)");
    runs_only_on(s, 3, 0, 1);
    assert_converged(s);
    /* a no longer reports it: nothing moves back */
    run_single(s, 3, 0, 3000 * MS);
    runs_only_on(s, 3, 0, 1);
    assert_int_equal(sim_starts(s, 0), 2);
    /* Defined again on a: a outranks b, so it takes it back. */
    sim_define(s, 0, 0, &x);
    run_single(s, 3, 0, 3500 * MS);
    expect(s, &k, "app x: takeover on a (takeover from b)");
    runs_only_on(s, 3, 0, 0);
    for (unsigned i = 0; i < 3; i++) {
        sim_request(s, i, 0, BATON_REQ_UNDEFINE, 0);
    }
    run_single(s, 3, 0, 4000 * MS);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(sim_instance(s, i, 0, NULL), 0);
    }
    assert_converged(s);
    sim_destroy(s);
}

/* The node list changes on one node, then on the others (a rolling
 * reload that drops a, where x runs): while they differ, x stays on a,
 * unmoved, and says so; once they agree, it moves to the new list's
 * first node with its state. Never two instances. */
static void runtime_rolling_node_list(void **state)
{
    struct baton_app_config x;
    struct baton_app_config x2;
    struct sim *s;
    int k;

    (void)state;
    define(&x, "x", "a,b,c", 0);
    define(&x2, "x", "c,b", 0);
    s = cluster(3, 1, &x, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, 0);
    k = sim_trace_count(s);
    sim_define(s, 1, 0, &x2);
    run_single(s, 3, 0, 1500 * MS);
    expect(s, &k,
           "app x: its node list, failover_timeout or mode differs "
           "between nodes: kept running on a unmoved");
    expect_none(s, k, "refused");
    runs_only_on(s, 3, 0, 0);
    sim_define(s, 0, 0, &x2);
    run_single(s, 3, 0, 2000 * MS);
    runs_only_on(s, 3, 0, 0); /* c still has the old list */
    assert_int_equal(sim_starts(s, 0), 1);
    sim_define(s, 2, 0, &x2);
    run_single(s, 3, 0, 2500 * MS);
    expect(s, &k, "app x: takeover on c (takeover from a)");
    expect(s, &k, "c: app x: start here (takeover from a, with its state)");
    runs_only_on(s, 3, 0, 2);
    /* settled on the new list: c's failure moves it to b, never to a */
    sim_app_fail(s, 2, 0);
    run_single(s, 3, 0, 3000 * MS);
    runs_only_on(s, 3, 0, 1);
    assert_int_equal(sim_starts(s, 0), 3);
    sim_destroy(s);
}

/* ---- live membership (docs/design/membership.md) --------------------
 * The first n_seed nodes start as the cluster (a seed list of n_seed
 * nodes); the others start with a list of all n nodes, as a node about
 * to be added does. Every node is a candidate but the last, a worker. */
static struct sim *growing(unsigned n, unsigned n_seed, unsigned n_apps,
                           const struct baton_app_config *apps)
{
    struct sim_config cfg = {0};
    struct sim *s;

    cfg.n_nodes = n;
    memset(cfg.candidate, 1, n - 1);
    cfg.n_seed = n_seed;
    cfg.seed = 5;
    cfg.delay_min_us = 1000;
    cfg.delay_max_us = 1000;
    cfg.link_delay_us = 1000;
    cfg.keep_trace = true;
    cfg.n_apps = n_apps;
    memcpy(cfg.apps, apps, n_apps * sizeof(*apps));
    s = sim_create(&cfg);
    assert_non_null(s);
    return s;
}

/* growing() with app x on "a,b,c" and app y on y_spec, run for a
 * second, and name n1 registered by node b at 1.1 s. */
static struct sim *growing_with_name(unsigned n, unsigned n_seed,
                                     const char *y_spec)
{
    struct baton_app_config apps[2];
    struct sim *s;
    uint64_t w;

    define(&apps[0], "x", "a,b,c", 0);
    define(&apps[1], "y", y_spec, 0);
    s = growing(n, n_seed, 2, apps);
    sim_run_until(s, 1000 * MS);
    w = sim_name_write(s, 1, BATON_NAME_REGISTER, 0, 1, 0);
    sim_run_until(s, 1100 * MS);
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
    return s;
}

static bool name_at(const struct sim *s, unsigned i, unsigned name)
{
    char text[8];

    snprintf(text, sizeof(text), "n%u", name);
    return baton_node_whereis(sim_node(s, i), text) != NULL;
}

/* A 4th node added to a running 3-node cluster with apps and names: the
 * cluster refuses it until the coordinator adds it, then it joins, gets
 * the state and the names, serves names of its own; no app starts
 * again. One change at a time; only the coordinator decides. */
static void member_add_fourth_node(void **state)
{
    struct sim *s;
    uint64_t w;
    int k;

    (void)state;
    s = growing_with_name(4, 3, "c,b,a");
    runs_only_on(s, 4, 0, 0);
    runs_only_on(s, 4, 1, 2);
    assert_converged(s); /* a, b, c: d is not in the cluster yet */
    assert_false(sim_in_cluster(s, 3));
    assert_true(sim_trace_find(s, 0, "a: members not a member: d") >= 0);
    assert_false(name_at(s, 3, 1));

    assert_int_equal(sim_member_request(s, 1, BATON_REQ_MEMBER_ADD, 3,
                                        BATON_MEMBER_WORKER),
                     BATON_ENOTCOORD);
    assert_int_equal(sim_member_request(s, 0, BATON_REQ_MEMBER_ADD, 0,
                                        BATON_MEMBER_WORKER),
                     BATON_EINVAL); /* a is a member already */
    k = sim_trace_count(s);
    assert_int_equal(sim_member_request(s, 0, BATON_REQ_MEMBER_ADD, 3,
                                        BATON_MEMBER_WORKER),
                     0);
    expect(s, &k, "a: members changed");
    /* b and c do not hold version 1 yet: one change at a time. */
    assert_int_equal(sim_member_request(s, 0, BATON_REQ_MEMBER_REMOVE, 2, 0),
                     BATON_ESTATE);
    sim_run_until(s, 1200 * MS);
    expect(s, &k, "d: members adopted a version=1");
    expect(s, &k, "d: follower of a");
    assert_true(sim_in_cluster(s, 3));
    assert_converged(s); /* a coordinates all four, replicas equal */
    assert_true(name_at(s, 3, 1)); /* the names came with the state */
    w = sim_name_write(s, 3, BATON_NAME_REGISTER, 0, 2, 0);
    sim_run_until(s, 1300 * MS);
    assert_int_equal(sim_write_code(s, w), BATON_NAME_OK);
    for (unsigned i = 0; i < 4; i++) {
        assert_true(name_at(s, i, 1) && name_at(s, i, 2));
    }
    runs_only_on(s, 4, 0, 0);
    runs_only_on(s, 4, 1, 2);
    assert_int_equal(sim_starts(s, 0), 1);
    assert_int_equal(sim_starts(s, 1), 1);
    /* The change has reached everyone: the next one may go. */
    assert_int_equal(baton_node_members(sim_node(s, 2))->version, 1);
    sim_destroy(s);
}

/* Removing a node that owns an app and names: it stops its instance,
 * the app fails over as on a node loss, its names go. Restarted
 * unchanged (its persisted list still has it), it is refused and told;
 * added again, it rejoins and the app runs once. */
static void member_remove_owner_then_readd(void **state)
{
    struct sim *s;
    int k;

    (void)state;
    s = growing_with_name(3, 0, "b,c,a");
    runs_only_on(s, 3, 1, 1);
    assert_int_equal(sim_member_request(s, 0, BATON_REQ_MEMBER_REMOVE, 0, 0),
                     BATON_EINVAL); /* not the coordinator itself */
    k = sim_trace_count(s);
    assert_int_equal(sim_member_request(s, 0, BATON_REQ_MEMBER_REMOVE, 1, 0),
                     0);
    sim_run_until(s, 1200 * MS);
    expect(s, &k, "b: members this node was removed from a version=1");
    k = sim_trace_count(s) - 1;
    assert_true(sim_trace_find(s, 0, "a: peer-down b (removed") >= 0);
    assert_true(sim_trace_find(s, 0, "b: app y: stop here") >= 0);
    assert_true(sim_trace_find(s, 0, "c: app y: start here (failover from b)") >= 0);
    runs_only_on(s, 3, 1, 2);
    runs_only_on(s, 3, 0, 0);
    assert_false(sim_in_cluster(s, 1));
    assert_converged(s);
    for (unsigned i = 0; i < 3; i += 2) {
        assert_false(name_at(s, i, 1));
    }

    /* b restarts with the list it persisted: the cluster refuses it. */
    sim_crash(s, 1);
    sim_run_until(s, 1300 * MS);
    k = sim_trace_count(s);
    sim_restart(s, 1);
    sim_run_until(s, 2500 * MS);
    expect(s, &k, "members not a member: b");
    k = sim_trace_count(s);
    assert_true(sim_trace_find(s, 0, "b: members this node was removed") >= 0);
    assert_false(sim_in_cluster(s, 1));
    runs_only_on(s, 3, 1, 2);
    assert_converged(s);

    /* Added again: it takes its free slot back and rejoins. */
    assert_int_equal(sim_member_request(s, 0, BATON_REQ_MEMBER_ADD, 1,
                                        BATON_MEMBER_CANDIDATE),
                     0);
    sim_run_until(s, 3500 * MS);
    expect(s, &k, "b: members adopted a version=2");
    assert_true(sim_in_cluster(s, 1));
    assert_converged(s);
    /* Each app runs exactly once. */
    for (unsigned a = 0; a < 2; a++) {
        unsigned running = 0;
        for (unsigned i = 0; i < 3; i++) {
            running += sim_instance(s, i, a, NULL) == 2;
        }
        assert_int_equal(running, 1);
    }
    sim_destroy(s);
}

/* An add during a partition a | b c d: the minority side's coordinator
 * may not decide (no majority of the list); the majority's may, and d
 * joins it. After the heal, a learns the list and every node agrees. */
static void member_add_during_partition(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "a,b,c", 0);
    s = growing(4, 3, 1, &app);
    sim_run_until(s, 1000 * MS);
    for (unsigned i = 1; i < 4; i++) {
        sim_block(s, 0, i);
        sim_block(s, i, 0);
    }
    sim_run_until(s, 3000 * MS);
    assert_true(baton_node_is_coordinator(sim_node(s, 0)));
    assert_true(baton_node_is_coordinator(sim_node(s, 1)));
    assert_int_equal(sim_member_request(s, 0, BATON_REQ_MEMBER_ADD, 3,
                                        BATON_MEMBER_WORKER),
                     BATON_ESTATE);
    k = sim_trace_count(s);
    assert_int_equal(sim_member_request(s, 1, BATON_REQ_MEMBER_ADD, 3,
                                        BATON_MEMBER_WORKER),
                     0);
    sim_run_until(s, 3200 * MS);
    expect(s, &k, "d: members adopted b version=1");
    expect(s, &k, "d: follower of b");
    sim_heal(s);
    sim_run_until(s, 6000 * MS);
    assert_true(sim_trace_find(s, k, "a: members adopted") >= 0);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(baton_node_members(sim_node(s, i))->version, 1);
        assert_true(sim_in_cluster(s, i));
    }
    assert_converged(s);
    runs_only_on(s, 4, 0, 0);
    sim_destroy(s);
}

/* No change while a quorum app is defined: Raft's voters would change
 * under it (quorum.md; membership.md §2). */
static void member_change_refused_with_quorum_app(void **state)
{
    struct baton_app_config app;
    struct sim *s;

    (void)state;
    define_quorum(&app, "a,b,c");
    s = growing(4, 3, 1, &app);
    sim_run_until(s, 2000 * MS);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(sim_member_request(s, i, BATON_REQ_MEMBER_ADD, 3,
                                            BATON_MEMBER_WORKER),
                         BATON_ESTATE);
    }
    assert_int_equal(baton_node_members(sim_node(s, 0))->version, 0);
    sim_destroy(s);
}

/* ---- operator verbs (apps.md §7) ---------------------------------------- */

/* No node runs app a (among nodes 0..n-1). */
static void runs_nowhere(const struct sim *s, unsigned n, unsigned a)
{
    for (unsigned x = 0; x < n; x++) {
        if (sim_instance(s, x, a, NULL) != 0) {
            dump(s);
            fail_msg("app %u: node %c still has an instance", a, 'a' + x);
        }
    }
}

/* The verb answered with code. */
static void answered(const struct sim *s, uint64_t id, int code)
{
    if (sim_admin_code(s, id) != code) {
        fail_msg("verb %" PRIu64 ": code %d, expected %d (%s)", id,
                 sim_admin_code(s, id), code,
                 baton_admin_code_name((unsigned)code));
    }
}

/* Verb kind (about app a, or node) given to node i, then a run until
 * t with one instance of app 0 at most: it answered code. */
static void verb(struct sim *s,
                 unsigned i,
                 unsigned kind,
                 unsigned a,
                 unsigned node,
                 uint64_t t,
                 int code)
{
    uint64_t id = sim_admin(s, i, kind, a, node);

    run_single(s, 3, 0, t);
    answered(s, id, code);
}

/* batonctl disable, from a node that neither runs the app nor
 * coordinates: stopped everywhere, started nowhere, also after a
 * failover would have placed it; enable places it again. */
static void admin_disable_enable(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    uint64_t starts;
    int k;

    (void)state;
    define(&app, "x", "a,b,c", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    runs_only_on(s, 3, 0, 0);
    k = sim_trace_count(s);
    verb(s, 2, BATON_ADMIN_DISABLE, 0, 0, 1100 * MS, BATON_ADMIN_OK);
    expect(s, &k, "a: app x: stop here (now idle)");
    runs_nowhere(s, 3, 0);
    starts = sim_starts(s, 0);
    /* Again: nothing to change, and it says so. */
    verb(s, 1, BATON_ADMIN_DISABLE, 0, 0, 1200 * MS, BATON_ADMIN_UNCHANGED);
    /* A move is refused while disabled. */
    verb(s, 1, BATON_ADMIN_MOVE, 0, 1, 1300 * MS, BATON_ADMIN_IS_DISABLED);
    /* The coordinator goes: the next one keeps the app disabled. */
    sim_crash(s, 0);
    run_single(s, 3, 0, 4000 * MS);
    runs_nowhere(s, 3, 0);
    assert_int_equal(sim_starts(s, 0), starts);
    verb(s, 2, BATON_ADMIN_ENABLE, 0, 0, 4100 * MS, BATON_ADMIN_OK);
    runs_only_on(s, 3, 0, 1);
    sim_destroy(s);
}

/* batonctl standby on the owner: its app moves away as a graceful move
 * (a takeover, with the state handed over), nothing is placed on it,
 * and unstandby lets the priority list bring the app back. */
static void admin_standby_moves_apps(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    int k;

    (void)state;
    define(&app, "x", "a,b,c", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    k = sim_trace_count(s);
    verb(s, 2, BATON_ADMIN_STANDBY, 0, 0, 1100 * MS, BATON_ADMIN_OK);
    expect(s, &k, "b: app x: start here (takeover from a, with its state)");
    runs_only_on(s, 3, 0, 1);
    /* A move to a node in standby is refused, and says why. */
    verb(s, 2, BATON_ADMIN_MOVE, 0, 0, 1200 * MS, BATON_ADMIN_IN_STANDBY);
    /* b fails: the app goes to c, not to a. */
    sim_crash(s, 1);
    run_single(s, 3, 0, 3000 * MS);
    runs_only_on(s, 3, 0, 2);
    verb(s, 2, BATON_ADMIN_UNSTANDBY, 0, 0, 3100 * MS, BATON_ADMIN_OK);
    runs_only_on(s, 3, 0, 0);
    verb(s, 2, BATON_ADMIN_UNSTANDBY, 0, 0, 3200 * MS, BATON_ADMIN_UNCHANGED);
    sim_destroy(s);
}

/* batonctl move APP NODE from a third node: the app moves there now and
 * stays (pinned) although a outranks it; refused moves say why; a pin
 * outlives its node's failure (the app comes back to it); unpin hands
 * the app back to the priority list. */
static void admin_move_and_unpin(void **state)
{
    struct baton_app_config apps[2];
    struct sim *s;
    uint64_t id;
    int k;

    (void)state;
    define(&apps[0], "x", "a,b,c", 0);
    define(&apps[1], "y", "a,b", 0);
    s = cluster(3, 2, apps, NULL, 0);
    sim_run_until(s, 1000 * MS);
    k = sim_trace_count(s);
    verb(s, 1, BATON_ADMIN_MOVE, 0, 2, 1100 * MS, BATON_ADMIN_OK);
    expect(s, &k, "c: app x: start here (takeover from a, with its state)");
    runs_only_on(s, 3, 0, 2);
    run_single(s, 3, 0, 3000 * MS);
    runs_only_on(s, 3, 0, 2); /* pinned: a does not take it back */
    verb(s, 0, BATON_ADMIN_MOVE, 0, 2, 3100 * MS, BATON_ADMIN_UNCHANGED);
    id = sim_admin(s, 0, BATON_ADMIN_MOVE, 1, 2); /* c does not list y */
    run_single(s, 3, 0, 3200 * MS);
    answered(s, id, BATON_ADMIN_NOT_DEFINED);
    sim_request(s, 1, 0, BATON_REQ_PERMIT, 0);
    run_single(s, 3, 0, 3300 * MS);
    verb(s, 0, BATON_ADMIN_MOVE, 0, 1, 3400 * MS, BATON_ADMIN_NOT_PERMITTED);
    sim_request(s, 1, 0, BATON_REQ_PERMIT, 1);
    /* c crashes: x fails over to a; c back: the pin brings x home. */
    sim_crash(s, 2);
    run_single(s, 3, 0, 3500 * MS);
    verb(s, 0, BATON_ADMIN_MOVE, 0, 2, 4500 * MS, BATON_ADMIN_DOWN);
    runs_only_on(s, 3, 0, 0);
    sim_restart(s, 2);
    run_single(s, 3, 0, 6000 * MS);
    runs_only_on(s, 3, 0, 2);
    verb(s, 1, BATON_ADMIN_UNPIN, 0, 0, 6100 * MS, BATON_ADMIN_OK);
    runs_only_on(s, 3, 0, 0);
    verb(s, 1, BATON_ADMIN_UNPIN, 0, 0, 6200 * MS, BATON_ADMIN_UNCHANGED);
    assert_converged(s);
    sim_destroy(s);
}

/* The settings survive the restart of every node (each loads what its
 * driver persisted), and one that restarted with an older record gets
 * the newer one back from the others: a coordinator that was down while
 * a verb was applied does not undo it when it coordinates again. */
static void admin_settings_survive_restarts(void **state)
{
    struct baton_app_config app;
    struct sim *s;
    uint64_t starts;

    (void)state;
    define(&app, "x", "a,b,c", 0);
    s = cluster(3, 1, &app, NULL, 0);
    sim_run_until(s, 1000 * MS);
    verb(s, 1, BATON_ADMIN_DISABLE, 0, 0, 1100 * MS, BATON_ADMIN_OK);
    for (unsigned x = 0; x < 3; x++) {
        sim_crash(s, x);
    }
    run_single(s, 3, 0, 1500 * MS);
    starts = sim_starts(s, 0);
    for (unsigned x = 0; x < 3; x++) {
        sim_restart(s, x);
    }
    run_single(s, 3, 0, 4000 * MS);
    runs_nowhere(s, 3, 0);
    assert_int_equal(sim_starts(s, 0), starts);
    /* a (the coordinator) is down while the app is enabled again and
     * c is put in standby; it comes back with its older record. */
    sim_crash(s, 0);
    run_single(s, 3, 0, 6000 * MS);
    verb(s, 2, BATON_ADMIN_ENABLE, 0, 0, 6100 * MS, BATON_ADMIN_OK);
    runs_only_on(s, 3, 0, 1);
    verb(s, 2, BATON_ADMIN_STANDBY, 0, 2, 6200 * MS, BATON_ADMIN_OK);
    sim_restart(s, 0);
    run_single(s, 3, 0, 9000 * MS);
    runs_only_on(s, 3, 0, 0); /* enabled: back on a */
    assert_true(sim_node(s, 0)->settings.standby[2]);
    assert_converged(s);
    sim_destroy(s);
}

/* Verbs on both sides of a partition: after the heal, every setting is
 * the one with the higher version, on every node, and the app runs once,
 * where those settings say. */
static void admin_settings_heal(void **state)
{
    struct baton_app_config apps[2];
    struct sim *s;
    uint64_t id;
    const struct baton_app_setting *x0;

    (void)state;
    define(&apps[0], "x", "a,b,c", 0);
    define(&apps[1], "y", "a,b,c", 0);
    s = cluster(3, 2, apps, NULL, 0);
    sim_run_until(s, 1000 * MS);
    for (unsigned i = 1; i < 3; i++) {
        sim_block(s, 0, i);
        sim_block(s, i, 0);
    }
    sim_run_until(s, 3000 * MS);
    /* Both sides run both apps meanwhile (available mode: failover
     * timeout 0), so two instances are expected here. */
    /* a's side disables x first; b's side then moves x to c and
     * disables y: b's versions for x come later, so they win. */
    id = sim_admin(s, 0, BATON_ADMIN_DISABLE, 0, 0);
    sim_run_until(s, 3100 * MS);
    answered(s, id, BATON_ADMIN_OK);
    id = sim_admin(s, 1, BATON_ADMIN_DISABLE, 1, 0);
    sim_run_until(s, 3200 * MS);
    answered(s, id, BATON_ADMIN_OK);
    id = sim_admin(s, 1, BATON_ADMIN_MOVE, 0, 2);
    sim_run_until(s, 3300 * MS);
    answered(s, id, BATON_ADMIN_OK);
    sim_heal(s);
    sim_run_until(s, 6000 * MS);
    assert_converged(s);
    for (unsigned i = 0; i < 3; i++) {
        const struct baton_settings *st = &sim_node(s, i)->settings;
        x0 = baton_settings_app(st, "x");
        assert_non_null(x0);
        assert_int_equal(x0->pin, 2);
        assert_int_equal(x0->disabled, 0);
        assert_non_null(baton_settings_app(st, "y"));
        assert_int_equal(baton_settings_app(st, "y")->disabled, 1);
        assert_int_equal(memcmp(st->standby, sim_node(s, 0)->settings.standby,
                                sizeof(st->standby)),
                         0);
    }
    runs_only_on(s, 3, 0, 2);
    runs_nowhere(s, 3, 1);
    sim_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(placement_first_node),
        cmocka_unit_test(failover_after_timeout),
        cmocka_unit_test(back_within_timeout),
        cmocka_unit_test(infinity_never_fails_over),
        cmocka_unit_test(takeover_order),
        cmocka_unit_test(two_apps_fail_over_together),
        cmocka_unit_test(crash_fails_over),
        cmocka_unit_test(duplicates_after_heal),
        cmocka_unit_test(permit_and_takeover),
        cmocka_unit_test(mismatch_holds_later_node),
        cmocka_unit_test(differing_definitions_refused),
        cmocka_unit_test(differing_modes_refused),
        cmocka_unit_test(quorum_app_runs_on_its_owner),
        cmocka_unit_test(quorum_app_granted_through_log),
        cmocka_unit_test(quorum_owner_paused_stops_on_waking),
        cmocka_unit_test(quorum_stop_hangs_killed_at_lease_end),
        cmocka_unit_test(quorum_frozen_owner_shim_kills),
        cmocka_unit_test(quorum_drift_discount_holds),
        cmocka_unit_test(quorum_group_elects),
        cmocka_unit_test(witness_keeps_majority),
        cmocka_unit_test(frozen_owner_not_failed_over),
        cmocka_unit_test(no_claim_during_merge),
        cmocka_unit_test(bridge_owner_vouched_for),
        cmocka_unit_test(failover_cancelled_when_owner_heard),
        cmocka_unit_test(failover_stands_when_owner_restarted),
        cmocka_unit_test(bridge_owner_vouched_for_by_non_member),
        cmocka_unit_test(heal_survivor_token_grows),
        cmocka_unit_test(graceful_leave_hands_state_over),
        cmocka_unit_test(runtime_add_placed),
        cmocka_unit_test(runtime_remove_moves),
        cmocka_unit_test(runtime_rolling_node_list),
        cmocka_unit_test(member_add_fourth_node),
        cmocka_unit_test(member_remove_owner_then_readd),
        cmocka_unit_test(member_add_during_partition),
        cmocka_unit_test(member_change_refused_with_quorum_app),
        cmocka_unit_test(admin_disable_enable),
        cmocka_unit_test(admin_standby_moves_apps),
        cmocka_unit_test(admin_move_and_unpin),
        cmocka_unit_test(admin_settings_survive_restarts),
        cmocka_unit_test(admin_settings_heal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
