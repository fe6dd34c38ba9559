/* Unit tests for the node's step interface (src/core/node.c and the
 * modules behind it), driven by hand-built events and messages. */
#include "../../src/util/setup.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/core/node.h"
#include "../../src/util/error.h"

/* The node under test boots at T0 with incarnation SELF_INC; fake peer p
 * speaks with incarnation peer_inc(p) unless a test says otherwise. */
#define T0 (1000u)
#define SELF_INC (10u)

static baton_inc peer_inc(unsigned p)
{
    return 100u + p;
}

/* struct baton_effects is about 250 KB: fixtures live on the heap. */
struct fixture {
    struct baton_node node;
    struct baton_effects fx;
    uint64_t now_ms;
    uint64_t seq[BATON_NODES_MAX]; /* last seq each fake peer sent */
};

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    free(*state);
    return 0;
}

static void config_init(struct baton_node_config *cfg, unsigned n_nodes,
                        unsigned self)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->n_nodes = n_nodes;
    cfg->self = self;
    for (unsigned i = 0; i < n_nodes && i < BATON_NODES_MAX; i++) {
        cfg->candidate[i] = 1;
    }
}

static int step_event(struct fixture *f, unsigned type, unsigned peer,
                      uint64_t now_ms, const struct baton_msg *m)
{
    struct baton_event ev;
    int rv;

    memset(&ev, 0, sizeof(ev));
    ev.type = (uint8_t)type;
    ev.peer = (uint8_t)peer;
    ev.now_ms = now_ms;
    ev.msg = m;
    rv = baton_node_step(&f->node, &ev, &f->fx);
    if (rv == 0) {
        f->now_ms = now_ms;
        assert_true(f->fx.deadline_ms > now_ms);
        assert_int_equal(f->fx.trace_dropped, 0);
    }
    return rv;
}

static void tick(struct fixture *f, uint64_t now_ms)
{
    assert_int_equal(step_event(f, BATON_EVENT_TICK, 0, now_ms, NULL), 0);
}

static void link_up(struct fixture *f, unsigned p, uint64_t now_ms)
{
    assert_int_equal(step_event(f, BATON_EVENT_LINK_UP, p, now_ms, NULL), 0);
}

static void link_down(struct fixture *f, unsigned p, uint64_t now_ms)
{
    assert_int_equal(step_event(f, BATON_EVENT_LINK_DOWN, p, now_ms, NULL),
                     0);
}

static void deliver(struct fixture *f, const struct baton_msg *m,
                    uint64_t now_ms)
{
    assert_int_equal(step_event(f, BATON_EVENT_RECEIVE, 0, now_ms, m), 0);
}

/* Initialises node `self` of an all-candidate cluster and delivers its
 * first TICK at T0. */
static void boot(struct fixture *f, unsigned n_nodes, unsigned self)
{
    struct baton_node_config cfg;

    config_init(&cfg, n_nodes, self);
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 1, T0), 0);
    tick(f, T0);
}

/* A heartbeat from a peer that is SEEKING and synced. */
static void heartbeat_init(struct baton_msg *m, unsigned from, unsigned to,
                           baton_inc from_inc, uint64_t seq)
{
    memset(m, 0, sizeof(*m));
    m->type = BATON_MSG_HEARTBEAT;
    m->from = (uint8_t)from;
    m->to = (uint8_t)to;
    m->from_inc = from_inc;
    m->seq = seq;
    m->status.role = BATON_ROLE_SEEKING;
    m->status.coord = BATON_NODE_NONE;
    m->status.synced = 1;
}

/* The next heartbeat from fake peer p (its usual incarnation). */
static void heartbeat_from(struct fixture *f, struct baton_msg *m,
                           unsigned p)
{
    heartbeat_init(m, p, f->node.cfg.self, peer_inc(p), ++f->seq[p]);
}

/* Makes m's status that of a coordinator that claimed term `term`. */
static void coordinator_status(struct baton_msg *m, uint64_t term)
{
    struct baton_status *st = &m->status;

    st->role = BATON_ROLE_COORDINATOR;
    st->coord = m->from;
    st->synced = 1;
    st->epoch = baton_epoch_make(term, m->from);
    st->index = 1;
    st->stream.coord = m->from;
    st->stream.coord_inc = m->from_inc;
    st->stream.claim = baton_epoch_make(term, m->from);
}

static unsigned trace_count(const struct baton_effects *fx, unsigned type)
{
    unsigned k = 0;

    for (unsigned i = 0; i < fx->n_trace; i++) {
        k += fx->trace[i].type == type;
    }
    return k;
}

/* Index of the first trace of `type`, or -1. */
static int trace_index(const struct baton_effects *fx, unsigned type)
{
    for (unsigned i = 0; i < fx->n_trace; i++) {
        if (fx->trace[i].type == type) {
            return (int)i;
        }
    }
    return -1;
}

static const struct baton_trace *trace_find(const struct baton_effects *fx,
                                            unsigned type)
{
    int i = trace_index(fx, type);

    assert_true(i >= 0);
    return &fx->trace[i];
}

/* Index of the first message of `type` sent to `to`, or -1. */
static int send_index(const struct baton_effects *fx, unsigned type,
                      unsigned to)
{
    for (unsigned i = 0; i < fx->n_send; i++) {
        if (fx->send[i].type == type && fx->send[i].to == to) {
            return (int)i;
        }
    }
    return -1;
}

static uint64_t rejected_total(const struct baton_counters *c)
{
    uint64_t sum = 0;

    for (unsigned r = 0; r < BATON_REJECT__COUNT; r++) {
        sum += c->rejected[r];
    }
    return sum;
}

/* Boots node 0 of n_nodes, brings every link up and delivers one
 * heartbeat from every peer: node 0, the highest priority, claims. */
static void become_coordinator(struct fixture *f, unsigned n_nodes)
{
    struct baton_msg m;

    boot(f, n_nodes, 0);
    for (unsigned p = 1; p < n_nodes; p++) {
        link_up(f, p, T0);
    }
    for (unsigned p = 1; p < n_nodes; p++) {
        heartbeat_from(f, &m, p);
        deliver(f, &m, T0 + 10);
    }
    assert_int_equal(f->node.role, BATON_ROLE_COORDINATOR);
}

/* Delivers m and checks it was rejected for `reason` without touching
 * the node: counted once, traced once, role, replica and peer table as
 * they were. */
static void expect_reject(struct fixture *f, const struct baton_msg *m,
                          unsigned reason)
{
    struct baton_node *n = &f->node;
    struct baton_counters before = n->counters;
    struct baton_state state_before = n->state;
    struct baton_peer peers_before[BATON_NODES_MAX];
    uint8_t role = n->role;
    baton_epoch epoch = n->epoch;
    const struct baton_trace *t;

    memcpy(peers_before, n->peers, sizeof(peers_before));
    deliver(f, m, f->now_ms + 1);
    assert_int_equal(n->counters.rejected[reason],
                     before.rejected[reason] + 1);
    assert_int_equal(rejected_total(&n->counters),
                     rejected_total(&before) + 1);
    assert_int_equal(n->counters.received, before.received);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_REJECTED), 1);
    t = trace_find(&f->fx, BATON_TRACE_REJECTED);
    assert_int_equal(t->reason, reason);
    assert_int_equal(t->a, m->type);
    assert_int_equal(t->b, m->from);
    assert_int_equal(t->peer, m->from < n->cfg.n_nodes ? m->from
                                                       : BATON_NODE_NONE);
    assert_int_equal(n->role, role);
    assert_int_equal(n->epoch, epoch);
    assert_memory_equal(&n->state, &state_before, sizeof(state_before));
    assert_memory_equal(n->peers, peers_before, sizeof(peers_before));
}

/* Delivers m and checks it was accepted. */
static void expect_accept(struct fixture *f, const struct baton_msg *m)
{
    uint64_t received = f->node.counters.received;
    uint64_t rejected = rejected_total(&f->node.counters);

    deliver(f, m, f->now_ms + 1);
    assert_int_equal(f->node.counters.received, received + 1);
    assert_int_equal(rejected_total(&f->node.counters), rejected);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_REJECTED), 0);
}

/* Init */

static void test_init_rejects_bad_config(void **state)
{
    struct fixture *f = *state;
    struct baton_node_config cfg;

    config_init(&cfg, 0, 0);
    assert_int_equal(baton_node_init(&f->node, &cfg, 1, 0, 0), BATON_EINVAL);
    config_init(&cfg, BATON_NODES_MAX + 1, 0);
    assert_int_equal(baton_node_init(&f->node, &cfg, 1, 0, 0), BATON_EINVAL);
    config_init(&cfg, 3, 3);
    assert_int_equal(baton_node_init(&f->node, &cfg, 1, 0, 0), BATON_EINVAL);
    config_init(&cfg, 3, 200);
    assert_int_equal(baton_node_init(&f->node, &cfg, 1, 0, 0), BATON_EINVAL);
    config_init(&cfg, 3, 1);
    assert_int_equal(baton_node_init(&f->node, &cfg, 0, 0, 0), BATON_EINVAL);

    /* The limits themselves are fine. */
    config_init(&cfg, BATON_NODES_MAX, BATON_NODES_MAX - 1);
    assert_int_equal(baton_node_init(&f->node, &cfg, 1, 0, 0), 0);
    config_init(&cfg, 1, 0);
    assert_int_equal(baton_node_init(&f->node, &cfg, UINT64_MAX, 0, 0), 0);
}

static void test_init_defaults(void **state)
{
    struct fixture *f = *state;
    struct baton_node *n = &f->node;
    struct baton_node_config cfg;

    config_init(&cfg, 3, 1);
    cfg.candidate[2] = 0;
    cfg.candidate[5] = 1; /* beyond n_nodes: meaningless */
    assert_int_equal(baton_node_init(n, &cfg, SELF_INC, 7, T0), 0);
    assert_int_equal(n->cfg.heartbeat_ms, 250);
    assert_int_equal(n->cfg.heartbeat_miss, 4);
    assert_int_equal(n->cfg.sync_window_ms, 1000);
    assert_int_equal(baton_node_down_after_ms(n), 1000);
    assert_int_equal(n->inc, SELF_INC);
    assert_int_equal(n->role, BATON_ROLE_SEEKING);
    assert_int_equal(baton_node_coordinator(n), BATON_NODE_NONE);
    assert_false(baton_node_is_coordinator(n));
    assert_false(n->synced);
    assert_int_equal(n->state.n_nodes, 3);
    assert_int_equal(n->state.coord, BATON_NODE_NONE);
    assert_true(baton_node_candidate(n, 0));
    assert_true(baton_node_candidate(n, 1));
    assert_false(baton_node_candidate(n, 2));
    assert_false(baton_node_candidate(n, 5));
    assert_false(baton_node_candidate(n, BATON_NODE_NONE));
}

static void test_init_custom_timers(void **state)
{
    struct fixture *f = *state;
    struct baton_node_config cfg;

    config_init(&cfg, 3, 0);
    cfg.heartbeat_ms = 100;
    cfg.heartbeat_miss = 3;
    assert_int_equal(baton_node_init(&f->node, &cfg, 1, 0, 0), 0);
    assert_int_equal(f->node.cfg.heartbeat_ms, 100);
    assert_int_equal(f->node.cfg.heartbeat_miss, 3);
    assert_int_equal(baton_node_down_after_ms(&f->node), 300);
    assert_int_equal(f->node.cfg.sync_window_ms, 300);

    cfg.sync_window_ms = 50;
    assert_int_equal(baton_node_init(&f->node, &cfg, 1, 0, 0), 0);
    assert_int_equal(f->node.cfg.sync_window_ms, 50);
}

/* Step argument checks */

/* A refused step must leave the node exactly as it was. */
static void expect_step_einval(struct fixture *f, unsigned type,
                               unsigned peer, uint64_t now_ms,
                               const struct baton_msg *m)
{
    struct baton_node *copy = malloc(sizeof(*copy));

    assert_non_null(copy);
    memcpy(copy, &f->node, sizeof(*copy));
    assert_int_equal(step_event(f, type, peer, now_ms, m), BATON_EINVAL);
    assert_memory_equal(copy, &f->node, sizeof(*copy));
    assert_int_equal(f->fx.n_send, 0);
    assert_int_equal(f->fx.n_trace, 0);
    free(copy);
}

static void test_step_rejects_time_going_back(void **state)
{
    struct fixture *f = *state;
    struct baton_node_config cfg;

    config_init(&cfg, 3, 0);
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 1, T0), 0);
    expect_step_einval(f, BATON_EVENT_TICK, 0, T0 - 1, NULL);
    expect_step_einval(f, BATON_EVENT_LINK_UP, 1, 0, NULL);
    tick(f, T0);
    tick(f, T0 + 200);
    expect_step_einval(f, BATON_EVENT_TICK, 0, T0 + 199, NULL);
    /* The same time again is allowed. */
    tick(f, T0 + 200);
}

static void test_step_rejects_unknown_event(void **state)
{
    struct fixture *f = *state;

    boot(f, 3, 0);
    expect_step_einval(f, 0, 0, T0 + 1, NULL);
    expect_step_einval(f, BATON_EVENT_LINK_DOWN + 1, 1, T0 + 1, NULL);
    expect_step_einval(f, 0xff, 1, T0 + 1, NULL);
    expect_step_einval(f, BATON_EVENT_RECEIVE, 0, T0 + 1, NULL);
}

static void test_step_rejects_bad_link_peer(void **state)
{
    static const unsigned types[] = {BATON_EVENT_LINK_UP,
                                     BATON_EVENT_LINK_DOWN};
    struct fixture *f = *state;

    boot(f, 3, 1);
    for (unsigned t = 0; t < BATON_ARRAY_LEN(types); t++) {
        expect_step_einval(f, types[t], 1, T0 + 1, NULL); /* self */
        expect_step_einval(f, types[t], BATON_NODES_MAX, T0 + 1, NULL);
        expect_step_einval(f, types[t], BATON_NODE_NONE, T0 + 1, NULL);
    }
    /* The real peers are accepted. */
    link_up(f, 0, T0 + 1);
    link_up(f, 2, T0 + 1);
}

/* Boot and claims */

static void test_first_tick_boots(void **state)
{
    struct fixture *f = *state;
    struct baton_node_config cfg;
    const struct baton_trace *t;
    char buf[64];

    config_init(&cfg, 3, 0);
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 1, T0), 0);
    tick(f, T0);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_BOOT), 1);
    assert_int_equal(trace_index(&f->fx, BATON_TRACE_BOOT), 0);
    t = trace_find(&f->fx, BATON_TRACE_BOOT);
    assert_int_equal(t->a, SELF_INC);
    assert_int_equal(t->peer, BATON_NODE_NONE);
    assert_int_equal(t->now_ms, T0);
    assert_true(f->fx.deadline_ms > T0);
    assert_true(f->fx.deadline_ms <= T0 + 250);
    baton_trace_format(buf, sizeof(buf), t, NULL);
    assert_string_equal(buf, "boot inc=10");
    /* Nobody heard yet, no link: a 3-node cluster member waits. */
    assert_int_equal(f->node.role, BATON_ROLE_SEEKING);
    assert_int_equal(f->fx.n_send, 0);

    tick(f, T0 + 1);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_BOOT), 0);
}

static void test_single_node_claims_on_first_tick(void **state)
{
    struct fixture *f = *state;
    struct baton_node *n = &f->node;
    const struct baton_trace *t;
    baton_epoch e = baton_epoch_make(1, 0);

    boot(f, 1, 0);
    assert_int_equal(n->role, BATON_ROLE_COORDINATOR);
    assert_true(baton_node_is_coordinator(n));
    assert_int_equal(baton_node_coordinator(n), 0);
    assert_int_equal(n->state.coord, 0);
    assert_int_equal(n->state.coord_inc, SELF_INC);
    assert_int_equal(n->state.epoch, e);
    assert_int_equal(n->epoch, e);
    assert_int_equal(n->state.nodes[0].inc, SELF_INC);
    assert_int_equal(n->state.nodes[0].member, 1);
    assert_int_equal(n->counters.claims, 1);
    assert_int_equal(f->fx.n_send, 0);

    t = trace_find(&f->fx, BATON_TRACE_ROLE);
    assert_int_equal(t->role, BATON_ROLE_COORDINATOR);
    assert_int_equal(t->a, e);
    assert_int_equal(t->stream.coord, 0);
    assert_int_equal(t->stream.coord_inc, SELF_INC);
    assert_int_equal(t->stream.claim, e);
    t = trace_find(&f->fx, BATON_TRACE_APPLIED);
    assert_int_equal(t->b, BATON_OP_COORD);
    assert_int_equal(t->peer, 0);
    assert_int_equal(t->a, 1);
    assert_int_equal(t->c, baton_state_digest(&n->state));
    assert_true(trace_index(&f->fx, BATON_TRACE_ROLE) <
                trace_index(&f->fx, BATON_TRACE_APPLIED));

    /* It stays coordinator and never claims again. */
    for (uint64_t now = T0 + 250; now <= T0 + 5000; now += 250) {
        tick(f, now);
        assert_int_equal(trace_count(&f->fx, BATON_TRACE_ROLE), 0);
    }
    assert_int_equal(n->counters.claims, 1);
    assert_int_equal(n->epoch, e);
}

static void test_single_non_candidate_never_claims(void **state)
{
    struct fixture *f = *state;
    struct baton_node_config cfg;

    config_init(&cfg, 1, 0);
    cfg.candidate[0] = 0;
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 1, T0), 0);
    for (uint64_t now = T0; now <= T0 + 5000; now += 250) {
        tick(f, now);
    }
    assert_int_equal(f->node.role, BATON_ROLE_SEEKING);
    assert_int_equal(f->node.counters.claims, 0);
    assert_int_equal(f->node.state.coord, BATON_NODE_NONE);
}

static void test_link_up_sends_heartbeat(void **state)
{
    struct fixture *f = *state;
    const struct baton_msg *m;
    uint64_t seq;

    boot(f, 2, 0);
    link_up(f, 1, T0 + 10);
    assert_int_equal(f->fx.n_send, 1);
    m = &f->fx.send[0];
    assert_int_equal(m->type, BATON_MSG_HEARTBEAT);
    assert_int_equal(m->from, 0);
    assert_int_equal(m->to, 1);
    assert_int_equal(m->from_inc, SELF_INC);
    assert_int_equal(m->to_inc, 0); /* peer 1's life is not known yet */
    assert_true(m->seq >= 1);
    assert_int_equal(m->status.role, BATON_ROLE_SEEKING);
    assert_int_equal(m->status.coord, BATON_NODE_NONE);
    assert_int_equal(m->status.synced, 0);
    assert_int_equal(m->status.epoch, 0);
    assert_int_equal(f->node.counters.sent, 1);
    seq = m->seq;

    /* The periodic heartbeat follows with the next seq. */
    tick(f, T0 + 250);
    assert_int_equal(f->fx.n_send, 1);
    assert_int_equal(f->fx.send[0].type, BATON_MSG_HEARTBEAT);
    assert_int_equal(f->fx.send[0].to, 1);
    assert_int_equal(f->fx.send[0].seq, seq + 1);
    /* Nothing more before the next interval. */
    tick(f, T0 + 260);
    assert_int_equal(f->fx.n_send, 0);
    tick(f, T0 + 500);
    assert_int_equal(f->fx.n_send, 1);
    assert_int_equal(f->fx.send[0].seq, seq + 2);
}

static void test_two_nodes_coordinator_after_hearing_peer(void **state)
{
    struct fixture *f = *state;
    struct baton_node *n = &f->node;
    const struct baton_trace *t;
    const struct baton_msg *out;
    struct baton_msg m;
    baton_epoch e = baton_epoch_make(1, 0);
    uint64_t seq;

    boot(f, 2, 0);
    link_up(f, 1, T0 + 10);
    seq = f->fx.send[0].seq;
    assert_int_equal(n->role, BATON_ROLE_SEEKING);

    heartbeat_init(&m, 1, 0, 1, 1);
    deliver(f, &m, T0 + 20);
    assert_int_equal(n->counters.received, 1);
    assert_int_equal(n->peers[1].inc, 1);
    assert_true(n->peers[1].alive);
    t = trace_find(&f->fx, BATON_TRACE_PEER_UP);
    assert_int_equal(t->peer, 1);
    assert_int_equal(t->a, 1);
    t = trace_find(&f->fx, BATON_TRACE_SYNCED);
    assert_int_equal(t->reason, 2); /* heard all */
    t = trace_find(&f->fx, BATON_TRACE_ROLE);
    assert_int_equal(t->role, BATON_ROLE_COORDINATOR);
    assert_int_equal(t->a, e);
    assert_true(trace_index(&f->fx, BATON_TRACE_SYNCED) <
                trace_index(&f->fx, BATON_TRACE_ROLE));
    assert_int_equal(n->role, BATON_ROLE_COORDINATOR);
    assert_int_equal(n->state.coord, 0);
    assert_int_equal(n->state.epoch, e);
    assert_int_equal(baton_state_members(&n->state), 1);

    /* The new status goes out at once: everything this step sends goes
     * to peer 1 in seq order, and the last message announces the claim. */
    assert_true(f->fx.n_send >= 1);
    for (unsigned i = 0; i < f->fx.n_send; i++) {
        out = &f->fx.send[i];
        assert_int_equal(out->type, BATON_MSG_HEARTBEAT);
        assert_int_equal(out->from, 0);
        assert_int_equal(out->to, 1);
        assert_int_equal(out->from_inc, SELF_INC);
        assert_int_equal(out->to_inc, 1);
        assert_int_equal(out->seq, seq + 1 + i);
    }
    out = &f->fx.send[f->fx.n_send - 1];
    assert_int_equal(out->status.role, BATON_ROLE_COORDINATOR);
    assert_int_equal(out->status.coord, 0);
    assert_int_equal(out->status.synced, 1);
    assert_int_equal(out->status.epoch, e);
    assert_int_equal(out->status.index, 1);
    assert_int_equal(out->status.stream.coord, 0);
    assert_int_equal(out->status.stream.coord_inc, SELF_INC);
    assert_int_equal(out->status.stream.claim, e);

    /* More heartbeats (to_inc now naming node 0's life) change nothing. */
    heartbeat_init(&m, 1, 0, 1, 2);
    m.to_inc = SELF_INC;
    deliver(f, &m, T0 + 30);
    assert_int_equal(n->counters.received, 2);
    assert_int_equal(n->role, BATON_ROLE_COORDINATOR);
    assert_int_equal(n->counters.claims, 1);
    assert_int_equal(n->epoch, e);
}

/* With three nodes, hearing one peer is not enough to sync. */
static void test_waits_to_hear_every_peer(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    boot(f, 3, 0);
    link_up(f, 1, T0);
    link_up(f, 2, T0);
    heartbeat_from(f, &m, 1);
    deliver(f, &m, T0 + 10);
    assert_false(f->node.synced);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_SYNCED), 0);
    assert_int_equal(f->node.role, BATON_ROLE_SEEKING);
    heartbeat_from(f, &m, 2);
    deliver(f, &m, T0 + 20);
    assert_true(f->node.synced);
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_SYNCED)->reason, 2);
    assert_int_equal(f->node.role, BATON_ROLE_COORDINATOR);
}

/* A node that hears nobody claims once its sync window has passed. */
static void test_sync_window_passes(void **state)
{
    struct fixture *f = *state;

    boot(f, 3, 0);
    for (uint64_t now = T0 + 250; now < T0 + 1000; now += 250) {
        tick(f, now);
        assert_int_equal(f->node.role, BATON_ROLE_SEEKING);
        assert_true(f->fx.deadline_ms <= T0 + 1000);
    }
    tick(f, T0 + 1000);
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_SYNCED)->reason, 3);
    assert_int_equal(f->node.role, BATON_ROLE_COORDINATOR);
}

/* Node 1 of 2 waits for node 0 (higher priority) rather than claim, and
 * joins it once it coordinates. Returns the JOIN's seq. */
static uint64_t lower_priority_joins(struct fixture *f)
{
    struct baton_node *n = &f->node;
    struct baton_msg m;
    const struct baton_msg *join;
    int i;

    boot(f, 2, 1);
    link_up(f, 0, T0);
    heartbeat_from(f, &m, 0);
    deliver(f, &m, T0 + 10);
    assert_true(n->synced);
    assert_int_equal(n->role, BATON_ROLE_SEEKING); /* blocked by node 0 */
    assert_int_equal(n->counters.claims, 0);

    heartbeat_from(f, &m, 0);
    coordinator_status(&m, 1);
    deliver(f, &m, T0 + 20);
    assert_int_equal(n->role, BATON_ROLE_JOINING);
    assert_int_equal(n->target, 0);
    i = send_index(&f->fx, BATON_MSG_JOIN, 0);
    assert_true(i >= 0);
    join = &f->fx.send[i];
    assert_int_equal(join->from_inc, SELF_INC);
    assert_int_equal(join->to_inc, peer_inc(0));
    assert_int_equal(join->status.role, BATON_ROLE_JOINING);
    assert_int_equal(join->status.coord, 0);
    assert_int_equal(baton_state_validate(&join->u.join.replica, 2), 0);
    return join->seq;
}

/* The state node 0 (inc peer_inc(0), epoch 1.0) welcomes node 1 with. */
static void welcome_state(struct baton_state *s)
{
    baton_state_init(s, 2);
    s->coord = 0;
    s->coord_inc = peer_inc(0);
    s->epoch = baton_epoch_make(1, 0);
    s->nodes[0].inc = peer_inc(0);
    s->nodes[0].member = 1;
    s->nodes[1].inc = SELF_INC;
    s->nodes[1].member = 1;
}

/* Node 1 of 2 joins node 0 and is welcomed at index 2. */
static void become_follower(struct fixture *f)
{
    struct baton_msg m;
    uint64_t join_seq = lower_priority_joins(f);

    heartbeat_from(f, &m, 0);
    coordinator_status(&m, 1);
    m.type = BATON_MSG_SNAPSHOT;
    m.status.index = 2;
    m.u.snapshot.join_seq = join_seq;
    m.u.snapshot.stream = m.status.stream;
    m.u.snapshot.index = 2;
    welcome_state(&m.u.snapshot.state);
    deliver(f, &m, T0 + 30);
    assert_int_equal(f->node.role, BATON_ROLE_FOLLOWER);
}

/* Part `part` of node 0's welcome at index 2, in a transfer of `parts`
 * parts named `snap`. */
static void welcome_part(struct fixture *f, struct baton_msg *m,
                         uint64_t join_seq, uint64_t snap, uint32_t part,
                         uint32_t parts)
{
    heartbeat_from(f, m, 0);
    coordinator_status(m, 1);
    m->type = BATON_MSG_SNAPSHOT;
    m->status.index = 2;
    m->u.snapshot.join_seq = join_seq;
    m->u.snapshot.stream = m->status.stream;
    m->u.snapshot.index = 2;
    welcome_state(&m->u.snapshot.state);
    m->u.snapshot.snap = snap;
    m->u.snapshot.part = part;
    m->u.snapshot.more = part + 1 < parts;
}

/* A snapshot in parts is installed with its last part only; while its
 * parts keep coming the joiner holds back its JOIN retries (another
 * whole snapshot would queue behind it), and once they stop for a
 * detection window it asks again. A part out of order drops the
 * transfer (docs/design/names.md §1). */
static void test_snapshot_parts(void **state)
{
    struct fixture *f = *state;
    struct baton_node *n = &f->node;
    struct baton_msg m;
    uint64_t join_seq = lower_priority_joins(f);
    uint64_t t = T0 + 30;
    uint64_t snap;

    welcome_part(f, &m, join_seq, 0, 0, 3);
    snap = m.u.snapshot.snap = m.seq;
    deliver(f, &m, t);
    assert_int_equal(n->role, BATON_ROLE_JOINING);
    assert_int_equal(n->snap_next, 1);
    /* JOIN retries fall due every heartbeat: held back while parts come
     * within a detection window (1 s), the peer heard meanwhile. */
    for (unsigned k = 1; k <= 3; k++) {
        heartbeat_from(f, &m, 0);
        coordinator_status(&m, 1);
        deliver(f, &m, t + 300 * k - 10);
        assert_true(send_index(&f->fx, BATON_MSG_JOIN, 0) < 0);
        tick(f, t + 300 * k);
        assert_true(send_index(&f->fx, BATON_MSG_JOIN, 0) < 0);
    }
    /* Part 2 before part 1: the transfer is dropped, nothing applied. */
    welcome_part(f, &m, join_seq, snap, 2, 3);
    deliver(f, &m, t + 950);
    assert_int_equal(n->role, BATON_ROLE_JOINING);
    assert_int_equal(n->snap_next, BATON_SNAP_NONE);
    assert_int_equal(n->counters.snapshot_parts_dropped, 1);
    assert_int_equal(n->counters.snapshots_installed, 0);
    /* No transfer under way: the next retry goes out. */
    tick(f, t + 1300);
    assert_true(send_index(&f->fx, BATON_MSG_JOIN, 0) >= 0);
    /* A new transfer, whole and in order: installed with its last part. */
    welcome_part(f, &m, join_seq, 0, 0, 2);
    snap = m.u.snapshot.snap = m.seq;
    deliver(f, &m, t + 1310);
    assert_int_equal(n->role, BATON_ROLE_JOINING);
    /* It stalls: a detection window after its last part, JOIN again. */
    heartbeat_from(f, &m, 0);
    coordinator_status(&m, 1);
    deliver(f, &m, t + 1900);
    tick(f, t + 2320);
    assert_true(send_index(&f->fx, BATON_MSG_JOIN, 0) >= 0);
    /* Its last part still completes it. */
    welcome_part(f, &m, join_seq, snap, 1, 2);
    deliver(f, &m, t + 2330);
    assert_int_equal(n->role, BATON_ROLE_FOLLOWER);
    assert_int_equal(n->counters.snapshots_installed, 1);
    assert_int_equal(n->snap_next, BATON_SNAP_NONE);
}

/* The next op of node 0's stream, at `index`. */
static void op_from_node0(struct fixture *f, struct baton_msg *m,
                          uint64_t index, const struct baton_op *op)
{
    heartbeat_from(f, m, 0);
    coordinator_status(m, 1);
    m->type = BATON_MSG_OP;
    m->status.index = index;
    m->u.op.stream = m->status.stream;
    m->u.op.index = index;
    m->u.op.op = *op;
}

static void test_lower_priority_defers_then_joins(void **state)
{
    struct fixture *f = *state;
    const struct baton_trace *t;

    lower_priority_joins(f);
    t = trace_find(&f->fx, BATON_TRACE_ROLE);
    assert_int_equal(t->role, BATON_ROLE_JOINING);
    assert_int_equal(t->peer, 0);
}

static void test_follower_installs_and_applies(void **state)
{
    struct fixture *f = *state;
    struct baton_node *n = &f->node;
    struct baton_state want;
    struct baton_op op;
    struct baton_msg m;

    become_follower(f);
    welcome_state(&want);
    assert_int_equal(baton_node_coordinator(n), 0);
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_SNAPSHOT)->a, 2);
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_ROLE)->role,
                     BATON_ROLE_FOLLOWER);
    assert_true(baton_state_equal(&n->state, &want));
    assert_int_equal(n->applied, 2);
    assert_int_equal(n->epoch, baton_epoch_make(1, 0));

    /* The next op of the stream is applied in order. */
    memset(&op, 0, sizeof(op));
    op.type = BATON_OP_COORD;
    op.node = 0;
    op.inc = peer_inc(0);
    op.epoch = baton_epoch_make(2, 0);
    op_from_node0(f, &m, 3, &op);
    m.status.epoch = baton_epoch_make(2, 0);
    deliver(f, &m, T0 + 40);
    assert_int_equal(n->applied, 3);
    assert_int_equal(n->epoch, baton_epoch_make(2, 0));
    assert_int_equal(n->state.epoch, baton_epoch_make(2, 0));
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_APPLIED)->b,
                     BATON_OP_COORD);
    assert_int_equal(n->role, BATON_ROLE_FOLLOWER);

    /* A duplicate is ignored. */
    op_from_node0(f, &m, 3, &op);
    m.status.epoch = baton_epoch_make(2, 0);
    deliver(f, &m, T0 + 45);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_APPLIED), 0);
    assert_int_equal(n->applied, 3);

    /* An op beyond the next one means one went missing: ask again. */
    op.epoch = baton_epoch_make(3, 0);
    op_from_node0(f, &m, 5, &op);
    m.status.epoch = baton_epoch_make(3, 0);
    deliver(f, &m, T0 + 50);
    assert_int_equal(n->applied, 3);
    assert_int_equal(n->epoch, baton_epoch_make(2, 0));
    assert_true(send_index(&f->fx, BATON_MSG_RESYNC, 0) >= 0);
}

/* A follower whose coordinator's link closes stops following it; with
 * no other peer alive, it claims the group itself. */
static void test_follower_loses_coordinator(void **state)
{
    struct fixture *f = *state;
    struct baton_node *n = &f->node;
    int i_seek;
    int i_claim;

    become_follower(f);
    link_down(f, 0, T0 + 40);
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_PEER_DOWN)->reason,
                     BATON_DOWN_LINK);
    i_seek = -1;
    i_claim = -1;
    for (unsigned i = 0; i < f->fx.n_trace; i++) {
        const struct baton_trace *t = &f->fx.trace[i];
        if (t->type == BATON_TRACE_ROLE && t->role == BATON_ROLE_SEEKING) {
            i_seek = (int)i;
        }
        if (t->type == BATON_TRACE_ROLE &&
            t->role == BATON_ROLE_COORDINATOR) {
            i_claim = (int)i;
        }
    }
    assert_true(i_seek >= 0 && i_seek < i_claim);
    assert_int_equal(baton_node_coordinator(n), 1);
    /* Its claim outranks the epoch it followed. */
    assert_true(n->epoch > baton_epoch_make(1, 0));
    assert_int_equal(baton_epoch_node(n->epoch), 1);
    assert_int_equal(n->state.coord, 1);
}

/* Failure detection */

static void test_peer_down_after_silence(void **state)
{
    struct fixture *f = *state;
    const uint64_t heard = T0 + 10;
    const struct baton_trace *t;
    char buf[64];

    become_coordinator(f, 2);
    assert_int_equal(f->node.peers[1].last_heard_ms, heard);
    /* Regular ticks (a long gap would be a TILT: see below). */
    for (uint64_t dt = 250; dt < 1000; dt += 250) {
        tick(f, heard + dt);
        assert_true(f->node.peers[1].alive);
    }
    tick(f, heard + 999);
    assert_true(f->node.peers[1].alive);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_PEER_DOWN), 0);
    /* The driver is told to come back in time to notice. */
    assert_true(f->fx.deadline_ms <= heard + 1000);

    tick(f, heard + 1000);
    assert_false(f->node.peers[1].alive);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_PEER_DOWN), 1);
    t = trace_find(&f->fx, BATON_TRACE_PEER_DOWN);
    assert_int_equal(t->peer, 1);
    assert_int_equal(t->reason, BATON_DOWN_SILENT);
    assert_int_equal(t->a, peer_inc(1));
    assert_int_equal(t->b, 1000);
    baton_trace_format(buf, sizeof(buf), t, NULL);
    assert_string_equal(buf, "peer-down 1 (silent, silent 1000ms)");
    assert_int_equal(f->node.role, BATON_ROLE_COORDINATOR);

    /* Down once, not at every later tick. */
    tick(f, heard + 1250);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_PEER_DOWN), 0);
}

/* A step long after the last one is this process's pause, not the
 * peers' silence. */
static void test_pause_is_a_tilt_not_a_failure(void **state)
{
    struct fixture *f = *state;
    const uint64_t heard = T0 + 10;

    become_coordinator(f, 2);
    tick(f, heard + 5000);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_PEER_DOWN), 0);
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_TILT)->a, 5000);
    assert_true(f->node.peers[1].alive);
    assert_int_equal(f->node.counters.tilts, 1);
}

static void test_link_down_is_immediate(void **state)
{
    struct fixture *f = *state;
    const struct baton_trace *t;
    struct baton_msg m;

    become_coordinator(f, 2);
    link_down(f, 1, T0 + 20);
    assert_false(f->node.peers[1].alive);
    assert_false(f->node.peers[1].link_up);
    t = trace_find(&f->fx, BATON_TRACE_PEER_DOWN);
    assert_int_equal(t->peer, 1);
    assert_int_equal(t->reason, BATON_DOWN_LINK);
    assert_int_equal(t->b, 10);
    /* Already down: a second LINK_DOWN is quiet. */
    link_down(f, 1, T0 + 30);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_PEER_DOWN), 0);
    /* And without a link the peer is not heard. */
    heartbeat_from(f, &m, 1);
    expect_reject(f, &m, BATON_REJECT_NO_LINK);
}

static void test_peer_restarted(void **state)
{
    struct fixture *f = *state;
    const struct baton_trace *t;
    struct baton_msg m;
    int i_restart;
    int i_down;
    int i_up;

    become_coordinator(f, 2);
    heartbeat_init(&m, 1, 0, peer_inc(1) + 1, 1);
    expect_accept(f, &m);
    assert_int_equal(f->node.peers[1].inc, peer_inc(1) + 1);
    assert_true(f->node.peers[1].alive);
    t = trace_find(&f->fx, BATON_TRACE_PEER_RESTARTED);
    assert_int_equal(t->peer, 1);
    assert_int_equal(t->a, peer_inc(1));
    assert_int_equal(t->b, peer_inc(1) + 1);
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_PEER_DOWN)->reason,
                     BATON_DOWN_RESTART);
    i_restart = trace_index(&f->fx, BATON_TRACE_PEER_RESTARTED);
    i_down = trace_index(&f->fx, BATON_TRACE_PEER_DOWN);
    i_up = trace_index(&f->fx, BATON_TRACE_PEER_UP);
    assert_true(i_restart < i_down && i_down < i_up);

    /* The previous life is over. */
    heartbeat_init(&m, 1, 0, peer_inc(1), 50);
    expect_reject(f, &m, BATON_REJECT_STALE_INC);
}

/* A member that restarts leaves the group: the coordinator orders a
 * LEAVE of its previous life. */
static void test_member_restart_leaves(void **state)
{
    struct fixture *f = *state;
    struct baton_node *n = &f->node;
    const struct baton_msg *snap;
    struct baton_msg m;
    int i;

    become_coordinator(f, 2);
    heartbeat_from(f, &m, 1);
    m.type = BATON_MSG_JOIN;
    m.status.role = BATON_ROLE_JOINING;
    m.status.coord = 0;
    baton_state_init(&m.u.join.replica, 2);
    expect_accept(f, &m);
    assert_int_equal(n->state.nodes[1].member, 1);
    assert_int_equal(n->state.nodes[1].inc, peer_inc(1));
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_APPLIED)->b,
                     BATON_OP_JOIN);
    i = send_index(&f->fx, BATON_MSG_SNAPSHOT, 1);
    assert_true(i >= 0);
    snap = &f->fx.send[i];
    assert_int_equal(snap->u.snapshot.join_seq, m.seq);
    assert_int_equal(snap->u.snapshot.index, n->applied);
    assert_true(baton_state_equal(&snap->u.snapshot.state, &n->state));

    heartbeat_init(&m, 1, 0, peer_inc(1) + 1, 1);
    expect_accept(f, &m);
    assert_int_equal(n->state.nodes[1].member, 0);
    assert_int_equal(trace_find(&f->fx, BATON_TRACE_APPLIED)->b,
                     BATON_OP_LEAVE);
    assert_int_equal(n->role, BATON_ROLE_COORDINATOR);
}

/* Rejections. Each runs against a coordinator of 3 nodes that has
 * heard peers 1 and 2 once. */

static void test_reject_unknown_sender(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_from(f, &m, 1);
    m.from = 3;
    expect_reject(f, &m, BATON_REJECT_UNKNOWN_NODE);
    m.from = BATON_NODE_NONE;
    expect_reject(f, &m, BATON_REJECT_UNKNOWN_NODE);
    m.from = 0; /* itself */
    expect_reject(f, &m, BATON_REJECT_UNKNOWN_NODE);
}

static void test_reject_misrouted(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_from(f, &m, 1);
    m.to = 2;
    expect_reject(f, &m, BATON_REJECT_MISROUTED);
    m.to = 3;
    expect_reject(f, &m, BATON_REJECT_MISROUTED);
}

static void test_reject_bad_type(void **state)
{
    static const uint8_t types[] = {0, BATON_MSG__COUNT, 99, 0xff};
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    for (unsigned t = 0; t < BATON_ARRAY_LEN(types); t++) {
        heartbeat_from(f, &m, 1);
        m.type = types[t];
        expect_reject(f, &m, BATON_REJECT_BAD_TYPE);
    }
}

static void test_reject_bad_header_fields(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_from(f, &m, 1);
    m.from_inc = 0;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    m.seq = 0;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
}

static void test_reject_bad_status(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_from(f, &m, 1);
    m.status.role = 9;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    m.status.role = 0;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    m.status.synced = 2;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    m.status.coord = 2; /* SEEKING follows nobody */
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    m.status.epoch = 1; /* term 0 */
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    m.status.epoch = baton_epoch_make(1, 3); /* claimer out of range */
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    m.status.role = BATON_ROLE_JOINING;
    m.status.coord = 1; /* joining itself */
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
}

/* The coordinator status built by coordinator_status() is valid: the
 * rejections below are caused by the one field they change. */
static void test_accept_coordinator_status(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_from(f, &m, 1);
    coordinator_status(&m, 5);
    expect_accept(f, &m);
    assert_int_equal(f->node.peers[1].status.role, BATON_ROLE_COORDINATOR);
    /* Node 0 outranks node 1: it stays coordinator. */
    assert_int_equal(f->node.role, BATON_ROLE_COORDINATOR);
}

static void test_reject_coordinator_claim_not_sender(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_from(f, &m, 1);
    coordinator_status(&m, 5);
    m.status.stream.claim = baton_epoch_make(5, 2);
    m.status.epoch = baton_epoch_make(5, 2);
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    coordinator_status(&m, 5);
    m.status.coord = 2;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    coordinator_status(&m, 5);
    m.status.stream.coord_inc = peer_inc(1) - 1;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    heartbeat_from(f, &m, 1);
    coordinator_status(&m, 5);
    m.status.index = 0;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
}

/* A coordinator's epoch is always one it claimed itself (claim() and
 * the epoch bump in on_join both use its own id), so a COORDINATOR
 * status whose epoch names another node is impossible. */
static void test_reject_coordinator_epoch_not_sender(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_from(f, &m, 1);
    coordinator_status(&m, 5);
    m.status.epoch = baton_epoch_make(6, 2); /* >= claim, but node 2's */
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
}

static void test_reject_stale_inc(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_init(&m, 1, 0, peer_inc(1) - 1, 99);
    expect_reject(f, &m, BATON_REJECT_STALE_INC);
    heartbeat_init(&m, 2, 0, 1, 99);
    expect_reject(f, &m, BATON_REJECT_STALE_INC);
}

/* An OP from peer 1 announcing a valid coordinator status. */
static void op_from_coordinator(struct fixture *f, struct baton_msg *m)
{
    heartbeat_from(f, m, 1);
    coordinator_status(m, 5);
    m->type = BATON_MSG_OP;
    m->u.op.stream = m->status.stream;
    m->u.op.index = 1;
    m->u.op.op.type = BATON_OP_JOIN;
    m->u.op.op.node = 2;
    m->u.op.op.inc = peer_inc(2);
}

static void test_reject_stale_dst(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    op_from_coordinator(f, &m);
    m.to_inc = SELF_INC - 1;
    expect_reject(f, &m, BATON_REJECT_STALE_DST);
    op_from_coordinator(f, &m);
    m.to_inc = SELF_INC + 1;
    expect_reject(f, &m, BATON_REJECT_STALE_DST);
    heartbeat_from(f, &m, 1);
    m.type = BATON_MSG_JOIN;
    m.status.role = BATON_ROLE_JOINING;
    m.status.coord = 0;
    baton_state_init(&m.u.join.replica, 3);
    m.to_inc = SELF_INC + 1;
    expect_reject(f, &m, BATON_REJECT_STALE_DST);
    op_from_coordinator(f, &m);
    m.to_inc = SELF_INC;
    expect_accept(f, &m);
    /* A heartbeat only describes its sender: it is good whichever of our
     * lives it was meant for (node.c, header_check). */
    heartbeat_from(f, &m, 1);
    m.to_inc = SELF_INC + 1;
    expect_accept(f, &m);
}

static void test_reject_no_link(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    /* A link that never came up. */
    boot(f, 3, 0);
    link_up(f, 1, T0);
    heartbeat_from(f, &m, 2);
    expect_reject(f, &m, BATON_REJECT_NO_LINK);
    assert_false(f->node.peers[2].heard);
    assert_int_equal(f->node.role, BATON_ROLE_SEEKING);

    /* A link that went down. */
    become_coordinator(f, 3);
    link_down(f, 2, T0 + 20);
    heartbeat_from(f, &m, 2);
    expect_reject(f, &m, BATON_REJECT_NO_LINK);
    assert_false(f->node.peers[2].alive);
}

static void test_reject_bad_op(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    op_from_coordinator(f, &m);
    expect_accept(f, &m); /* valid, though not for us */
    op_from_coordinator(f, &m);
    m.u.op.op.type = 0;
    expect_reject(f, &m, BATON_REJECT_BAD_OP);
    op_from_coordinator(f, &m);
    m.u.op.op.type = 99;
    expect_reject(f, &m, BATON_REJECT_BAD_OP);
    op_from_coordinator(f, &m);
    m.u.op.op.node = 3;
    expect_reject(f, &m, BATON_REJECT_BAD_OP);
    /* The envelope is checked before the op. */
    op_from_coordinator(f, &m);
    m.u.op.index = 0;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    op_from_coordinator(f, &m);
    m.status.role = BATON_ROLE_SEEKING;
    m.status.coord = BATON_NODE_NONE;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
}

/* A SNAPSHOT from peer 1 announcing a valid coordinator status. */
static void snapshot_from_coordinator(struct fixture *f, struct baton_msg *m)
{
    struct baton_state *s = &m->u.snapshot.state;

    heartbeat_from(f, m, 1);
    coordinator_status(m, 5);
    m->type = BATON_MSG_SNAPSHOT;
    m->u.snapshot.stream = m->status.stream;
    m->u.snapshot.index = 1;
    baton_state_init(s, 3);
    s->coord = 1;
    s->coord_inc = peer_inc(1);
    s->epoch = baton_epoch_make(5, 1);
    s->nodes[1].inc = peer_inc(1);
    s->nodes[1].member = 1;
}

static void test_reject_bad_state(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    snapshot_from_coordinator(f, &m);
    expect_accept(f, &m); /* valid; a coordinator ignores it */
    assert_int_equal(f->node.state.coord, 0);

    snapshot_from_coordinator(f, &m);
    m.u.snapshot.state.n_nodes = 4; /* more slots than our member list */
    expect_reject(f, &m, BATON_REJECT_BAD_STATE);
    snapshot_from_coordinator(f, &m);
    m.u.snapshot.state.nodes[2].member = 1; /* member without a life */
    expect_reject(f, &m, BATON_REJECT_BAD_STATE);
    /* A snapshot of somebody else's group is a bad field. */
    snapshot_from_coordinator(f, &m);
    m.u.snapshot.state.coord_inc = peer_inc(1) + 1;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
}

static void test_reject_bad_join_and_resync(void **state)
{
    struct fixture *f = *state;
    struct baton_msg m;

    become_coordinator(f, 3);
    heartbeat_from(f, &m, 1);
    m.type = BATON_MSG_JOIN; /* but SEEKING */
    baton_state_init(&m.u.join.replica, 3);
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    m.seq = ++f->seq[1];
    m.status.role = BATON_ROLE_JOINING;
    m.status.coord = 2; /* joining somebody else */
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    m.seq = ++f->seq[1];
    m.status.coord = 0;
    m.u.join.replica.n_nodes = 4;
    expect_reject(f, &m, BATON_REJECT_BAD_STATE);

    heartbeat_from(f, &m, 1);
    m.type = BATON_MSG_RESYNC; /* only followers resync */
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
}

/* Bad input must never crash the node (node.h: "Bad messages never fail
 * the step"). Each probe below feeds input that a correct node cannot
 * send yet that reaches a BATON_ASSERT in the core; a crash cannot be
 * caught in-process, so each runs in a child, which exits 0 if every step
 * returned 0 and left a valid replica. */

typedef void probe_fn(struct fixture *f);

static void expect_survives(struct fixture *f, probe_fn *probe)
{
    pid_t pid;
    int status = 0;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        probe(f);
        _exit(baton_state_validate(&f->node.state,
                                   f->node.cfg.n_nodes) == 0 ? 0 : 3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        fail_msg("the node died on signal %d", WTERMSIG(status));
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void join_with_replica(struct fixture *f, unsigned node,
                              baton_inc inc, baton_epoch epoch)
{
    struct baton_event ev;
    struct baton_msg m;

    heartbeat_from(f, &m, 1);
    m.type = BATON_MSG_JOIN;
    m.status.role = BATON_ROLE_JOINING;
    m.status.coord = 0;
    m.status.epoch = epoch;
    baton_state_init(&m.u.join.replica, 2);
    m.u.join.replica.nodes[node].inc = inc;
    memset(&ev, 0, sizeof(ev));
    ev.type = BATON_EVENT_RECEIVE;
    ev.now_ms = f->now_ms + 1;
    ev.msg = &m;
    if (baton_node_step(&f->node, &ev, &f->fx) != 0) {
        _exit(2);
    }
}

/* The joiner's replica names a later life of the joiner than the one
 * sending the JOIN. */
static void probe_join_newer_joiner_life(struct fixture *f)
{
    join_with_replica(f, 1, peer_inc(1) + 5, 0);
}

/* The joiner's replica names a later life of the coordinator, and the
 * joiner's epoch is above the coordinator's. */
static void probe_join_newer_coordinator_life(struct fixture *f)
{
    join_with_replica(f, 0, SELF_INC + 5, baton_epoch_make(7, 1));
}

/* A follower's coordinator orders the LEAVE of a later life of the
 * follower than its own; then the coordinator's link closes and the
 * follower, alone, claims. */
static void probe_follower_learns_newer_self_then_claims(struct fixture *f)
{
    struct baton_event ev;
    struct baton_op op;
    struct baton_msg m;

    memset(&op, 0, sizeof(op));
    op.type = BATON_OP_LEAVE;
    op.node = 1;
    op.inc = SELF_INC + 1;
    op_from_node0(f, &m, 3, &op);
    memset(&ev, 0, sizeof(ev));
    ev.type = BATON_EVENT_RECEIVE;
    ev.now_ms = f->now_ms + 1;
    ev.msg = &m;
    if (baton_node_step(&f->node, &ev, &f->fx) != 0) {
        _exit(2);
    }
    memset(&ev, 0, sizeof(ev));
    ev.type = BATON_EVENT_LINK_DOWN;
    ev.peer = 0;
    ev.now_ms = f->now_ms + 2;
    if (baton_node_step(&f->node, &ev, &f->fx) != 0) {
        _exit(2);
    }
}

static void test_follower_newer_self_life_survives(void **state)
{
    struct fixture *f = *state;

    become_follower(f);
    expect_survives(f, probe_follower_learns_newer_self_then_claims);
}

static void test_join_newer_joiner_life_survives(void **state)
{
    struct fixture *f = *state;

    become_coordinator(f, 2);
    expect_survives(f, probe_join_newer_joiner_life);
}

static void test_join_newer_coordinator_life_survives(void **state)
{
    struct fixture *f = *state;

    become_coordinator(f, 2);
    expect_survives(f, probe_join_newer_coordinator_life);
}

/* Randomized robustness: node 1 of 3 fed plausible but arbitrary
 * messages and events from fake peers 0 and 2, with the invariants of
 * the step interface checked after every step. The generator stays away
 * from the three inputs above (a replica or op naming a later life of
 * the joiner or of the node itself), which crash the node today. */

#define FZ_SELF (1u)
#define FZ_NODES (3u)

struct fuzz {
    struct fixture *f;
    struct baton_prng prng;
    baton_inc inc[FZ_NODES];  /* each fake peer's current life */
    uint64_t seq[FZ_NODES];   /* each fake peer's last seq */
    uint64_t node_seq;        /* last seq the node sent */
    baton_epoch epoch;        /* the node's epoch after the last step */
};

static unsigned fz_below(struct fuzz *z, unsigned bound)
{
    return (unsigned)baton_prng_below(&z->prng, bound);
}

static bool fz_pct(struct fuzz *z, unsigned percent)
{
    return baton_prng_chance(&z->prng, percent * 10000u);
}

static baton_inc fz_inc_of(const struct fuzz *z, unsigned id)
{
    return id == FZ_SELF ? SELF_INC : z->inc[id];
}

/* A valid replica whose lives are at most the current ones. */
static void fz_state(struct fuzz *z, struct baton_state *s, unsigned coord,
                     baton_inc coord_inc, uint64_t term)
{
    baton_state_init(s, FZ_NODES);
    for (unsigned i = 0; i < FZ_NODES; i++) {
        if (fz_pct(z, 80)) {
            s->nodes[i].inc = fz_inc_of(z, i) - fz_below(z, 2);
            s->nodes[i].member = (uint8_t)fz_pct(z, 60);
        }
    }
    if (coord < FZ_NODES) {
        s->coord = (uint8_t)coord;
        s->coord_inc = coord_inc;
        s->epoch = baton_epoch_make(term, coord);
        s->nodes[coord].inc = coord_inc;
        s->nodes[coord].member = 1;
    }
    /* Never a later life of the node itself (see above). */
    s->nodes[FZ_SELF].inc = BATON_MIN(s->nodes[FZ_SELF].inc, SELF_INC);
    if (s->coord == FZ_SELF) {
        s->coord_inc = BATON_MIN(s->coord_inc, SELF_INC);
    }
}

/* A role for m's status that suits its type most of the time. */
static unsigned fz_role(struct fuzz *z, const struct baton_msg *m)
{
    if (fz_pct(z, 20)) {
        return 1 + fz_below(z, 4);
    }
    switch (m->type) {
    case BATON_MSG_JOIN:
        return BATON_ROLE_JOINING;
    case BATON_MSG_SNAPSHOT:
    case BATON_MSG_OP:
        return BATON_ROLE_COORDINATOR;
    case BATON_MSG_RESYNC:
        return BATON_ROLE_FOLLOWER;
    default:
        return 1 + fz_below(z, 4);
    }
}

static void fz_status(struct fuzz *z, struct baton_msg *m)
{
    struct baton_status *st = &m->status;
    const struct baton_node *n = &z->f->node;
    unsigned other = (m->from + 1 + fz_below(z, FZ_NODES - 1)) % FZ_NODES;
    /* Terms near the node's own, so that some claims outrank it. */
    uint64_t term = BATON_MAX(1, baton_epoch_term(n->epoch) + fz_below(z, 3));

    memset(st, 0, sizeof(*st));
    st->role = (uint8_t)fz_role(z, m);
    st->coord = BATON_NODE_NONE;
    st->synced = (uint8_t)fz_pct(z, 90);
    if (st->role == BATON_ROLE_COORDINATOR) {
        coordinator_status(m, term);
        st->synced = (uint8_t)fz_pct(z, 95);
        st->index = BATON_MAX(1, n->applied + fz_below(z, 3));
        if (n->stream.coord == m->from && fz_pct(z, 60)) {
            st->stream = n->stream; /* the stream the node follows */
            st->epoch = BATON_MAX(st->epoch, st->stream.claim);
        }
    } else if (st->role != BATON_ROLE_SEEKING) {
        if (m->type == BATON_MSG_JOIN || m->type == BATON_MSG_RESYNC ||
            fz_pct(z, 30)) {
            other = FZ_SELF;
        }
        st->coord = (uint8_t)other;
        st->epoch = fz_pct(z, 50) ? baton_epoch_make(term, other) : 0;
        if (st->role == BATON_ROLE_FOLLOWER) {
            st->stream.coord = (uint8_t)other;
            st->stream.coord_inc = fz_inc_of(z, other);
            st->stream.claim = baton_epoch_make(term, other);
            if (other == FZ_SELF && fz_pct(z, 70)) {
                st->stream = n->stream; /* following the node */
            }
        }
    }
    if (fz_pct(z, 3)) {
        st->role = (uint8_t)fz_below(z, 8);
    }
    if (fz_pct(z, 3)) {
        st->coord = (uint8_t)fz_below(z, 5);
    }
}

static void fz_op(struct fuzz *z, struct baton_op *op,
                  const struct baton_msg *m)
{
    const struct baton_state *s = &z->f->node.state;
    unsigned node = fz_below(z, FZ_NODES);

    memset(op, 0, sizeof(*op));
    op->type = (uint8_t)(1 + fz_below(z, 4));
    if (op->type == BATON_OP_COORD) {
        node = fz_pct(z, 80) ? m->from : node;
        op->inc = node == m->from ? m->from_inc : fz_inc_of(z, node);
        op->epoch = baton_epoch_make(
            baton_epoch_term(s->epoch) + fz_below(z, 3), node);
        op->fresh = (uint8_t)fz_below(z, 2);
    } else if (op->type == BATON_OP_MERGE) {
        fz_state(z, &op->other, fz_below(z, FZ_NODES + 1),
                 fz_inc_of(z, node), 1 + fz_below(z, 4));
    } else {
        op->inc = fz_inc_of(z, node) - fz_below(z, 2);
    }
    op->node = (uint8_t)node;
    if (fz_pct(z, 3)) {
        op->type = (uint8_t)fz_below(z, 256);
    }
}

static void fz_body(struct fuzz *z, struct baton_msg *m)
{
    const struct baton_node *n = &z->f->node;

    if (m->type == BATON_MSG_JOIN) {
        struct baton_state *r = &m->u.join.replica;
        m->u.join.stream = fz_pct(z, 50) ? n->stream : m->status.stream;
        fz_state(z, r, BATON_NODE_NONE, 0, 0);
        /* Never a later life of the joiner than the one speaking. */
        if (m->from < FZ_NODES && r->nodes[m->from].inc > m->from_inc) {
            r->nodes[m->from].inc = m->from_inc;
        }
    } else if (m->type == BATON_MSG_SNAPSHOT) {
        m->u.snapshot.join_seq = fz_pct(z, 50) ? n->seq
                                               : fz_below(z, 1 + (unsigned)n->seq);
        m->u.snapshot.stream = m->status.stream;
        m->u.snapshot.index = m->status.index;
        fz_state(z, &m->u.snapshot.state, m->from % FZ_NODES, m->from_inc,
                 BATON_MAX(baton_epoch_term(m->status.epoch),
                           baton_epoch_term(n->epoch)) +
                     fz_below(z, 2));
        if (fz_pct(z, 70)) {
            m->u.snapshot.state.nodes[FZ_SELF].inc = SELF_INC;
            m->u.snapshot.state.nodes[FZ_SELF].member = 1;
        }
    } else if (m->type == BATON_MSG_OP) {
        m->u.op.stream = m->status.stream;
        m->u.op.index = n->applied + fz_below(z, 3);
        fz_op(z, &m->u.op.op, m);
    } else if (m->type == BATON_MSG_RESYNC) {
        m->u.resync.stream = fz_pct(z, 70) ? n->stream : m->status.stream;
        m->u.resync.applied = fz_below(z, 2 + (unsigned)n->applied);
    }
}

static void fz_message(struct fuzz *z, struct baton_msg *m)
{
    unsigned from = fz_pct(z, 50) ? 0 : 2;

    if (fz_pct(z, 3)) {
        from = fz_below(z, 6);
    }
    memset(m, 0, sizeof(*m));
    m->type = (uint8_t)(fz_pct(z, 97) ? 1 + fz_below(z, 5) : fz_below(z, 256));
    m->from = (uint8_t)from;
    m->to = (uint8_t)(fz_pct(z, 98) ? FZ_SELF : fz_below(z, 4));
    if (from < FZ_NODES && from != FZ_SELF) {
        if (fz_pct(z, 1)) {
            z->inc[from]++; /* the peer restarts */
            z->seq[from] = 0;
        }
        m->from_inc = z->inc[from] - (fz_pct(z, 3) ? 1 : 0);
        m->seq = fz_pct(z, 95) ? ++z->seq[from]
                               : fz_below(z, 1 + (unsigned)z->seq[from]);
    } else {
        m->from_inc = 1 + fz_below(z, 200);
        m->seq = 1 + fz_below(z, 100);
    }
    if (fz_pct(z, 2)) {
        m->from_inc = 0;
    }
    m->to_inc = fz_pct(z, 95) ? (fz_pct(z, 50) ? 0 : SELF_INC)
                              : fz_below(z, 20);
    fz_status(z, m);
    fz_body(z, m);
}

static void fz_check(struct fuzz *z, bool receive, uint64_t received_before)
{
    const struct baton_node *n = &z->f->node;
    const struct baton_effects *fx = &z->f->fx;
    uint64_t received = n->counters.received - received_before;

    /* Every message is either taken or rejected-and-traced, never both. */
    assert_int_equal(received + trace_count(fx, BATON_TRACE_REJECTED),
                     receive ? 1 : 0);
    assert_true(n->role >= BATON_ROLE_SEEKING &&
                n->role < BATON_ROLE__COUNT);
    assert_int_equal(baton_state_validate(&n->state, FZ_NODES), 0);
    assert_true(n->epoch >= z->epoch);
    z->epoch = n->epoch;
    if (n->role == BATON_ROLE_COORDINATOR) {
        assert_int_equal(n->state.coord, FZ_SELF);
        assert_int_equal(n->state.coord_inc, SELF_INC);
        assert_int_equal(n->state.epoch, n->epoch);
    }
    for (unsigned i = 0; i < fx->n_send; i++) {
        const struct baton_msg *m = &fx->send[i];
        assert_int_equal(m->from, FZ_SELF);
        assert_true(m->to < FZ_NODES && m->to != FZ_SELF);
        assert_int_equal(m->from_inc, SELF_INC);
        assert_int_equal(m->seq, ++z->node_seq);
        /* The role when it was sent, which may have changed since. */
        assert_true(m->status.role >= BATON_ROLE_SEEKING &&
                    m->status.role < BATON_ROLE__COUNT);
    }
}

static void fuzz_run(struct fixture *f, uint64_t seed, unsigned steps)
{
    struct fuzz z;
    struct baton_msg m;

    memset(&z, 0, sizeof(z));
    z.f = f;
    baton_prng_seed(&z.prng, seed);
    z.inc[0] = peer_inc(0);
    z.inc[2] = peer_inc(2);
    boot(f, FZ_NODES, FZ_SELF);
    for (unsigned i = 0; i < steps; i++) {
        unsigned r = fz_below(&z, 100);
        unsigned peer = fz_pct(&z, 50) ? 0 : 2;
        uint64_t now = f->now_ms + (fz_pct(&z, 1) ? 600 + fz_below(&z, 2000)
                                                  : fz_below(&z, 60));
        uint64_t received = f->node.counters.received;

        if (r < 10) {
            tick(f, now);
        } else if (r < 11) {
            link_down(f, peer, now);
        } else if (r < 16) {
            link_up(f, peer, now);
        } else {
            fz_message(&z, &m);
            deliver(f, &m, now);
        }
        fz_check(&z, r >= 16, received);
    }
}

static void test_random_input_robust(void **state)
{
    struct fixture *f = *state;

    for (uint64_t seed = 1; seed <= 8; seed++) {
        fuzz_run(f, seed, 20000);
    }
}

/* Formatting */

static const struct baton_trace *make_trace(struct baton_trace *t,
                                            unsigned type, unsigned peer)
{
    memset(t, 0, sizeof(*t));
    t->type = (uint8_t)type;
    t->peer = (uint8_t)peer;
    return t;
}

static void expect_format(const struct baton_trace *t,
                          const char *const *names, const char *want)
{
    char buf[128];
    int len = baton_trace_format(buf, sizeof(buf), t, names);

    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
}

static void test_trace_format(void **state)
{
    static const char *const names[] = {"a", "b"};
    struct baton_trace t;

    BATON_UNUSED(state);
    make_trace(&t, BATON_TRACE_ROLE, BATON_NODE_NONE);
    t.role = BATON_ROLE_COORDINATOR;
    t.a = baton_epoch_make(3, 0);
    expect_format(&t, names, "coordinator epoch=3.a");
    expect_format(&t, NULL, "coordinator epoch=3.0");
    t.role = BATON_ROLE_SEEKING;
    expect_format(&t, names, "seeking");
    make_trace(&t, BATON_TRACE_ROLE, 0);
    t.role = BATON_ROLE_JOINING;
    expect_format(&t, names, "joining a epoch=0");
    t.role = BATON_ROLE_FOLLOWER;
    t.a = baton_epoch_make(12, 1);
    expect_format(&t, names, "follower of a epoch=12.b");

    make_trace(&t, BATON_TRACE_PEER_DOWN, 1);
    t.reason = BATON_DOWN_SILENT;
    t.b = 1000;
    expect_format(&t, names, "peer-down b (silent, silent 1000ms)");
    t.reason = BATON_DOWN_LINK;
    t.b = 0;
    expect_format(&t, names, "peer-down b (link closed, silent 0ms)");
    t.reason = BATON_DOWN_RESTART;
    expect_format(&t, NULL, "peer-down 1 (restarted, silent 0ms)");
    t.reason = 77;
    expect_format(&t, names, "peer-down b (?, silent 0ms)");

    make_trace(&t, BATON_TRACE_BOOT, BATON_NODE_NONE);
    t.a = 42;
    expect_format(&t, names, "boot inc=42");
    make_trace(&t, BATON_TRACE_SYNCED, BATON_NODE_NONE);
    t.reason = 2;
    expect_format(&t, names, "synced (heard all)");
    t.reason = 9;
    expect_format(&t, names, "synced (?)");
    make_trace(&t, BATON_TRACE_PEER_UP, 1);
    t.a = 5;
    expect_format(&t, names, "peer-up b inc=5");
    make_trace(&t, BATON_TRACE_PEER_RESTARTED, 1);
    t.a = 5;
    t.b = 6;
    expect_format(&t, names, "peer-restarted b inc=6");
}

static void test_trace_format_more(void **state)
{
    static const char *const names[] = {"a", "b"};
    struct baton_trace t;
    char buf[8];
    int len;

    BATON_UNUSED(state);
    make_trace(&t, BATON_TRACE_APPLIED, 0);
    t.a = 1;
    t.b = BATON_OP_COORD;
    expect_format(&t, names, "applied 1 coord a");
    make_trace(&t, BATON_TRACE_APPLIED, BATON_NODE_NONE);
    t.a = 2;
    t.b = BATON_OP_MERGE;
    expect_format(&t, names, "applied 2 merge -");
    make_trace(&t, BATON_TRACE_SNAPSHOT, 0);
    t.a = 4;
    expect_format(&t, names, "snapshot from a index=4");
    make_trace(&t, BATON_TRACE_REJECTED, 1);
    t.a = BATON_MSG_HEARTBEAT;
    t.reason = BATON_REJECT_STALE_INC;
    expect_format(&t, names,
                  "rejected heartbeat from b: stale sender incarnation");
    make_trace(&t, BATON_TRACE_REJECTED, BATON_NODE_NONE);
    t.a = 99;
    t.reason = BATON_REJECT_BAD_TYPE;
    expect_format(&t, names, "rejected ? from -: unknown message type");
    make_trace(&t, BATON_TRACE_TILT, BATON_NODE_NONE);
    t.a = 600;
    expect_format(&t, names, "tilt (no step for 600ms)");
    make_trace(&t, 0, BATON_NODE_NONE);
    expect_format(&t, names, "?");
    make_trace(&t, BATON_TRACE__COUNT, BATON_NODE_NONE);
    expect_format(&t, names, "?");

    /* Truncation: snprintf semantics. */
    make_trace(&t, BATON_TRACE_TILT, BATON_NODE_NONE);
    t.a = 600;
    len = baton_trace_format(buf, sizeof(buf), &t, names);
    assert_int_equal(len, strlen("tilt (no step for 600ms)"));
    assert_string_equal(buf, "tilt (n");
}

static void test_names(void **state)
{
    BATON_UNUSED(state);
    assert_string_equal(baton_trace_name(BATON_TRACE_BOOT), "boot");
    assert_string_equal(baton_trace_name(BATON_TRACE_PEER_DOWN),
                        "peer-down");
    assert_string_equal(baton_trace_name(BATON_TRACE_TILT), "tilt");
    assert_string_equal(baton_trace_name(0), "?");
    assert_string_equal(baton_trace_name(BATON_TRACE__COUNT), "?");
    assert_string_equal(baton_reject_name(BATON_REJECT_UNKNOWN_NODE),
                        "unknown sender");
    assert_string_equal(baton_reject_name(BATON_REJECT_BAD_STATE),
                        "invalid state");
    assert_string_equal(baton_reject_name(BATON_REJECT__COUNT), "?");
    assert_string_equal(baton_role_name(BATON_ROLE_COORDINATOR),
                        "coordinator");
    assert_string_equal(baton_role_name(0), "?");
    assert_string_equal(baton_role_name(BATON_ROLE__COUNT), "?");
    assert_string_equal(baton_msg_type_name(BATON_MSG_RESYNC), "resync");
    assert_string_equal(baton_msg_type_name(BATON_MSG__COUNT), "?");
}

static void test_strerror(void **state)
{
    BATON_UNUSED(state);
    assert_string_equal(baton_strerror(BATON_OK), "success");
    assert_string_equal(baton_strerror(BATON_EINVAL), "invalid argument");
    assert_string_equal(baton_strerror(BATON_ENOMEM), "out of memory");
    assert_string_equal(baton_strerror(BATON_ERANGE), "value out of range");
    assert_string_equal(baton_strerror(BATON_EBADMSG), "malformed message");
    assert_string_equal(baton_strerror(BATON_ESTALE), "stale message");
    assert_string_equal(baton_strerror(BATON_ENOTCOORD),
                        "not the coordinator");
    assert_string_equal(baton_strerror(BATON_EFULL), "bounded buffer full");
    assert_true(BATON_EINVAL < 0 && BATON_EFULL < 0);
    assert_string_equal(baton_strerror(1), "unknown error");
    assert_string_equal(baton_strerror(-1), "unknown error");
    assert_string_equal(baton_strerror(BATON_EINVAL - 1), "unknown error");
    assert_string_equal(baton_strerror(BATON_EAGAIN), "need more data");
    assert_string_equal(baton_strerror(BATON_EAUTH),
                        "authentication failed");
    assert_string_equal(baton_strerror(BATON_EIO), "I/O error");
    assert_string_equal(baton_strerror(BATON__ERRNO_LAST), "unknown error");
    assert_string_equal(baton_strerror(12345), "unknown error");
    assert_string_equal(baton_strerror(INT32_MIN), "unknown error");
}

#define NODE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, \
                                                      fixture_teardown)

/* Quorum mode: a lone node with a quorum app runs the Raft group. It
 * leads only once its vote is durable, and commits its no-op only once
 * that is durable too: each waits for the PERSISTED of the write that
 * carries it, never assumed (quorum.md §3). */
static void test_quorum_waits_for_persisted(void **state)
{
    struct fixture *f = *state;
    struct baton_node_config cfg;
    struct baton_event ev;
    uint64_t t = T0;
    uint64_t seq = 0;

    config_init(&cfg, 1, 0);
    cfg.n_apps = 1;
    snprintf(cfg.apps[0].name, sizeof(cfg.apps[0].name), "q");
    cfg.apps[0].rank[0] = 1;
    cfg.apps[0].mode = BATON_APP_QUORUM;
    cfg.apps[0].lease_ms = 1000;
    cfg.apps[0].stop_margin_ms = 250;
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 1, T0), 0);
    assert_true(f->node.quorum);
    /* Ticks until it campaigns: its vote for itself is a write. */
    while (f->fx.raft_write.seq == 0) {
        tick(f, t);
        t = f->fx.deadline_ms;
        assert_true(t < T0 + 5000);
    }
    seq = f->fx.raft_write.seq;
    assert_int_equal(f->fx.raft_write.vote, 0);
    assert_int_equal(baton_node_raft_leader(&f->node), BATON_NODE_NONE);
    tick(f, f->now_ms + 1);
    assert_int_equal(baton_node_raft_leader(&f->node), BATON_NODE_NONE);
    memset(&ev, 0, sizeof(ev));
    ev.type = BATON_EVENT_PERSISTED;
    ev.now_ms = f->now_ms + 1;
    ev.seq = seq;
    assert_int_equal(baton_node_step(&f->node, &ev, &f->fx), 0);
    assert_int_equal(baton_node_raft_leader(&f->node), 0);
    /* The leader's no-op: written, committed once confirmed. */
    assert_true(f->fx.raft_write.seq > seq);
    assert_int_equal(f->fx.raft_write.n, 1);
    assert_int_equal(baton_node_raft_commit(&f->node), 0);
    ev.seq = f->fx.raft_write.seq;
    assert_int_equal(baton_node_step(&f->node, &ev, &f->fx), 0);
    assert_int_equal(baton_node_raft_commit(&f->node), 1);
    assert_int_equal(trace_count(&f->fx, BATON_TRACE_RAFT), 0);
    assert_true(f->node.counters.raft_writes >= 2);
}

/* Quorum mode: a snapshot of the grant table (quorum.md §3) is taken
 * once enough entries are applied, and a node booted from it (with an
 * empty log after it) has the grant back; a store whose snapshot is
 * missing or is no table is refused. */
static void quorum_config(struct baton_node_config *cfg)
{
    config_init(cfg, 1, 0);
    cfg->n_apps = 1;
    snprintf(cfg->apps[0].name, sizeof(cfg->apps[0].name), "q");
    cfg->apps[0].rank[0] = 1;
    cfg->apps[0].mode = BATON_APP_QUORUM;
    cfg->apps[0].lease_ms = 1000;
    cfg->apps[0].stop_margin_ms = 250;
}

static void test_quorum_snapshot(void **state)
{
    struct fixture *f = *state;
    struct baton_node_config cfg;
    struct baton_raft_disk disk;
    struct baton_event ev;
    uint8_t snap[BATON_QUORUM_SNAP_MAX];
    uint32_t snap_len = 0;
    uint64_t snap_index = 0, snap_term = 0, epoch = 0, t = T0;

    quorum_config(&cfg);
    cfg.raft_snap_every = 1;
    memset(&disk, 0, sizeof(disk));
    disk.vote = -1;
    cfg.raft_disk = &disk;
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 1, T0), 0);
    /* Confirms every write, ticks otherwise, until the grant of q is
     * in a snapshot. */
    for (unsigned k = 0; k < 200 && snap_index < 2; k++) {
        memset(&ev, 0, sizeof(ev));
        ev.type = f->fx.raft_write.seq != 0 ? BATON_EVENT_PERSISTED
                                            : BATON_EVENT_TICK;
        ev.seq = f->fx.raft_write.seq;
        t = BATON_MAX(t + 1,
                      ev.type == BATON_EVENT_TICK ? f->fx.deadline_ms : t + 1);
        ev.now_ms = t;
        assert_int_equal(baton_node_step(&f->node, &ev, &f->fx), 0);
        if (f->fx.raft_snapshot.len != 0) {
            assert_true(f->fx.raft_snapshot.index > snap_index);
            snap_index = f->fx.raft_snapshot.index;
            snap_term = f->fx.raft_snapshot.term;
            snap_len = f->fx.raft_snapshot.len;
            memcpy(snap, f->fx.raft_snapshot.data, snap_len);
        }
    }
    assert_int_equal(baton_node_grant(&f->node, 0, &epoch), 0);
    assert_int_equal(epoch, 2);
    assert_int_equal(snap_index, 2);
    assert_int_equal(snap_len,
                     BATON_QUORUM_SNAP_HEAD + BATON_QUORUM_SNAP_RECORD);
    assert_int_equal(f->node.counters.raft_snaps_taken, 2);

    /* Booted from it: the grant is back, nothing in the log. */
    memset(&disk, 0, sizeof(disk));
    disk.term = snap_term;
    disk.vote = 0;
    disk.snap_index = snap_index;
    disk.snap_term = snap_term;
    quorum_config(&cfg);
    cfg.raft_disk = &disk;
    cfg.raft_snap = snap;
    cfg.raft_snap_len = snap_len;
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 2, t), 0);
    epoch = 0;
    assert_int_equal(baton_node_grant(&f->node, 0, &epoch), 0);
    assert_int_equal(epoch, 2);
    assert_int_equal(f->node.grants_applied, 2);

    /* A snapshot index without a table, or bytes that are none. */
    cfg.raft_snap = NULL;
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 3, t),
                     BATON_EINVAL);
    cfg.raft_snap = snap;
    cfg.raft_snap_len = snap_len - 1;
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 4, t),
                     BATON_EINVAL);
    cfg.raft_snap_len = snap_len;
    snap[snap_len - 1] = 'x'; /* the name no longer ends with a zero */
    assert_int_equal(baton_node_init(&f->node, &cfg, SELF_INC, 5, t),
                     BATON_EINVAL);
}

/* Without a quorum app there is no group: a PERSISTED is a driver's
 * mistake, and a raft message is accepted and ignored; a malformed one
 * is rejected like any bad body. */
static void test_raft_without_quorum(void **state)
{
    struct fixture *f = *state;
    struct baton_event ev;
    struct baton_msg m;

    boot(f, 3, 0);
    link_up(f, 1, T0 + 1);
    memset(&ev, 0, sizeof(ev));
    ev.type = BATON_EVENT_PERSISTED;
    ev.now_ms = T0 + 2;
    ev.seq = 1;
    assert_int_equal(baton_node_step(&f->node, &ev, &f->fx), BATON_EINVAL);
    assert_false(f->node.quorum);
    heartbeat_init(&m, 1, 0, peer_inc(1), 1);
    deliver(f, &m, T0 + 3);
    heartbeat_init(&m, 1, 0, peer_inc(1), 2);
    m.type = BATON_MSG_RAFT;
    m.u.raft.m.type = BATON_RAFT_VOTE;
    m.u.raft.m.from = 1;
    m.u.raft.m.to = 0;
    m.u.raft.m.pre = true;
    m.u.raft.m.term = 1;
    deliver(f, &m, T0 + 4);
    assert_int_equal(rejected_total(&f->node.counters), 0);
    assert_int_equal(f->node.counters.raft_received, 0);
    m.seq = 3;
    m.u.raft.m.n_entries = BATON_RAFT_BATCH + 1;
    m.u.raft.m.entries = m.u.raft.entries;
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
    m.seq = 4;
    m.u.raft.m.n_entries = 0;
    m.u.raft.m.from = 2; /* not the message's sender */
    expect_reject(f, &m, BATON_REJECT_BAD_FIELD);
}

/* One name write of endpoint 1 on a lone node; returns its DONE code. */
static unsigned own_write(struct baton_node *n, struct baton_effects *fx,
                          unsigned kind, unsigned i)
{
    struct baton_name_req q;
    struct baton_event ev;

    memset(&q, 0, sizeof(q));
    memset(&ev, 0, sizeof(ev));
    q.id = i + 1u;
    q.kind = (uint8_t)kind;
    q.endpoint = 1;
    snprintf(q.name, sizeof(q.name), "own.%u", i);
    ev.type = BATON_EVENT_NAME;
    ev.now_ms = n->now_ms;
    ev.name_req = &q;
    assert_int_equal(baton_node_step(n, &ev, fx), 0);
    for (unsigned k = 0; k < fx->n_name; k++) {
        if (fx->name[k].action == BATON_NAMEFX_DONE && fx->name[k].id == q.id) {
            return fx->name[k].code;
        }
    }
    fail_msg("write %u not answered in its step", i);
    return BATON_NAME_CODE__COUNT;
}

/* A lone node over `slots` (cap per table), booted to coordinator. */
static void lone_coordinator(struct baton_node *n,
                             struct baton_effects *fx,
                             struct baton_node_config *cfg,
                             struct baton_name *slots,
                             uint32_t cap)
{
    struct baton_event ev;

    memset(cfg, 0, sizeof(*cfg));
    cfg->n_nodes = 1;
    cfg->candidate[0] = 1;
    cfg->names_slots = slots;
    cfg->names_cap = cap;
    assert_int_equal(baton_node_init(n, cfg, 1, 7, 0), 0);
    memset(&ev, 0, sizeof(ev));
    ev.type = BATON_EVENT_TICK;
    assert_int_equal(baton_node_step(n, &ev, fx), 0);
    assert_int_equal(n->role, BATON_ROLE_COORDINATOR);
}

/* A JOIN carries a node's own names in one frame, so a node's endpoints
 * hold at most BATON_JOIN_NAMES_MAX names even when the table holds more
 * (docs/design/names.md §1); re-pointing one it holds is still fine. */
static void test_own_names_limit(void **state)
{
    const uint32_t cap = 16384;
    struct baton_name *slots = calloc(3 * (size_t)cap, sizeof(*slots));
    struct baton_node *n = calloc(1, sizeof(*n));
    struct baton_effects *fx = calloc(1, sizeof(*fx));
    struct baton_node_config cfg;

    BATON_UNUSED(state);
    assert_non_null(slots);
    assert_non_null(n);
    assert_non_null(fx);
    assert_true(baton_names_limit(cap) > BATON_JOIN_NAMES_MAX);
    lone_coordinator(n, fx, &cfg, slots, cap);
    for (unsigned i = 0; i < BATON_JOIN_NAMES_MAX; i++) {
        assert_int_equal(own_write(n, fx, BATON_NAME_REGISTER, i),
                         BATON_NAME_OK);
    }
    assert_int_equal(n->own.count, BATON_JOIN_NAMES_MAX);
    assert_int_equal(
        own_write(n, fx, BATON_NAME_REGISTER, BATON_JOIN_NAMES_MAX),
        BATON_NAME_FULL);
    assert_int_equal(own_write(n, fx, BATON_NAME_REREGISTER, 0),
                     BATON_NAME_OK);
    assert_int_equal(n->names.count, BATON_JOIN_NAMES_MAX);
    /* A table too large for BATON_SNAPSHOT_PARTS_MAX parts is refused. */
    memset(slots, 0, 3 * (size_t)cap * sizeof(*slots));
    cfg.names_part = baton_names_limit(cap) / BATON_SNAPSHOT_PARTS_MAX - 1;
    assert_int_equal(baton_node_init(n, &cfg, 1, 7, 0), BATON_EINVAL);
    cfg.names_part += 1;
    assert_int_equal(baton_node_init(n, &cfg, 1, 7, 0), 0);
    free(fx);
    free(n);
    free(slots);
}

/* The APPLIED trace's digest (kept in part between ops, registry.c
 * baton__replica_digest) is the replica's digest after that op, also
 * after a change to the state that is not a name's. */
static void test_applied_digest_follows_state(void **state)
{
    const uint32_t cap = 64;
    struct baton_name *slots = calloc(3 * (size_t)cap, sizeof(*slots));
    struct baton_node *n = calloc(1, sizeof(*n));
    struct baton_effects *fx = calloc(1, sizeof(*fx));
    struct baton_node_config cfg;
    uint64_t before;

    BATON_UNUSED(state);
    assert_non_null(slots);
    assert_non_null(n);
    assert_non_null(fx);
    lone_coordinator(n, fx, &cfg, slots, cap);
    for (unsigned i = 0; i < 6; i++) {
        if (i == 3) {
            /* Anything but the names' epoch: the kept part is stale. */
            n->state.apps[0].epoch += 1;
        }
        before = baton_node_replica_digest(n);
        assert_int_equal(
            own_write(n, fx,
                      i % 2 == 0 ? BATON_NAME_REGISTER : BATON_NAME_UNREGISTER,
                      i / 2),
            BATON_NAME_OK);
        assert_int_equal(trace_count(fx, BATON_TRACE_APPLIED), 1);
        assert_true(trace_find(fx, BATON_TRACE_APPLIED)->c ==
                    baton_node_replica_digest(n));
        assert_true(baton_node_replica_digest(n) != before);
    }
    free(fx);
    free(n);
    free(slots);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        NODE_TEST(test_init_rejects_bad_config),
        NODE_TEST(test_init_defaults),
        NODE_TEST(test_init_custom_timers),
        NODE_TEST(test_step_rejects_time_going_back),
        NODE_TEST(test_step_rejects_unknown_event),
        NODE_TEST(test_quorum_waits_for_persisted),
        NODE_TEST(test_quorum_snapshot),
        NODE_TEST(test_raft_without_quorum),
        NODE_TEST(test_step_rejects_bad_link_peer),
        NODE_TEST(test_first_tick_boots),
        NODE_TEST(test_single_node_claims_on_first_tick),
        NODE_TEST(test_single_non_candidate_never_claims),
        NODE_TEST(test_link_up_sends_heartbeat),
        NODE_TEST(test_two_nodes_coordinator_after_hearing_peer),
        NODE_TEST(test_waits_to_hear_every_peer),
        NODE_TEST(test_sync_window_passes),
        NODE_TEST(test_lower_priority_defers_then_joins),
        NODE_TEST(test_snapshot_parts),
        NODE_TEST(test_follower_installs_and_applies),
        NODE_TEST(test_follower_loses_coordinator),
        NODE_TEST(test_peer_down_after_silence),
        NODE_TEST(test_pause_is_a_tilt_not_a_failure),
        NODE_TEST(test_link_down_is_immediate),
        NODE_TEST(test_peer_restarted),
        NODE_TEST(test_member_restart_leaves),
        NODE_TEST(test_reject_unknown_sender),
        NODE_TEST(test_reject_misrouted),
        NODE_TEST(test_reject_bad_type),
        NODE_TEST(test_reject_bad_header_fields),
        NODE_TEST(test_reject_bad_status),
        NODE_TEST(test_accept_coordinator_status),
        NODE_TEST(test_reject_coordinator_claim_not_sender),
        NODE_TEST(test_reject_coordinator_epoch_not_sender),
        NODE_TEST(test_reject_stale_inc),
        NODE_TEST(test_reject_stale_dst),
        NODE_TEST(test_reject_no_link),
        NODE_TEST(test_reject_bad_op),
        NODE_TEST(test_reject_bad_state),
        NODE_TEST(test_reject_bad_join_and_resync),
        NODE_TEST(test_join_newer_joiner_life_survives),
        NODE_TEST(test_join_newer_coordinator_life_survives),
        NODE_TEST(test_follower_newer_self_life_survives),
        NODE_TEST(test_random_input_robust),
        cmocka_unit_test(test_applied_digest_follows_state),
        cmocka_unit_test(test_trace_format),
        cmocka_unit_test(test_trace_format_more),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_own_names_limit),
        cmocka_unit_test(test_strerror),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
