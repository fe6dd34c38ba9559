/* A run = a random cluster, a random fault phase, then a quiet phase in
 * which liveness must be reached within a stated bound. Everything is
 * drawn from the seed, so `baton-sim --seed S` replays a run exactly. */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "schedule.h"

uint64_t liveness_bound_ms(uint64_t heartbeat_ms, uint64_t heartbeat_miss,
                           uint64_t sync_window_ms)
{
    /* A silent node is declared down after one detection window; a
     * restarted node may wait out its sync window; a few heartbeats
     * carry the joins, surrenders, merges and resyncs that follow. */
    return heartbeat_ms * heartbeat_miss + sync_window_ms + 4 * heartbeat_ms;
}

static uint64_t rnd(struct baton_prng *p, uint64_t lo, uint64_t hi)
{
    return lo + baton_prng_below(p, hi - lo + 1);
}

static unsigned pick(struct baton_prng *p, unsigned n)
{
    return (unsigned)baton_prng_below(p, n);
}

static void split(struct sim *s, struct baton_prng *p, unsigned nn)
{
    unsigned side[SIM_NODES_MAX];

    sim_heal(s);
    for (unsigned i = 0; i < nn; i++) {
        side[i] = pick(p, 2);
    }
    for (unsigned a = 0; a < nn; a++) {
        for (unsigned b = 0; b < nn; b++) {
            if (side[a] != side[b]) {
                sim_block(s, a, b);
            }
        }
    }
}

/* One fault, chosen by weight. A lossy run (one in eight) also loses,
 * duplicates and reorders messages, which TCP never does within a
 * connection: it keeps exercising the core's tolerance of what a driver
 * bug or a connection swap could do (docs/design/simulator.md §4). */
static void fault(struct sim *s, struct baton_prng *p, unsigned nn,
                  bool lossy)
{
    unsigned i = pick(p, nn);
    unsigned j = pick(p, nn);
    unsigned k = pick(p, nn);
    unsigned r = pick(p, 100);

    if (r < 12) {
        sim_crash(s, i);
    } else if (r < 27) {
        sim_restart(s, i);
    } else if (r < 32) {
        sim_crash(s, i); /* restart under the same name, at once */
        sim_restart(s, i);
    } else if (r < 38) {
        sim_pause(s, i);
    } else if (r < 46) {
        sim_resume(s, i);
    } else if (r < 53) {
        split(s, p, nn);
    } else if (r < 59) {
        if (i != j) {
            sim_block(s, i, j);
        }
    } else if (r < 63) {
        /* Bridge: i-j and i-k up, j-k down. */
        if (i != j && j != k && i != k) {
            sim_heal(s);
            sim_block(s, j, k);
            sim_block(s, k, j);
        }
    } else if (r < 73) {
        sim_heal(s);
    } else if (r < 81) {
        if (lossy) {
            /* One draw per statement: argument order is unspecified,
             * and a run must not depend on the compiler. */
            uint32_t dup = (uint32_t)rnd(p, 0, 100000);
            uint32_t drop = (uint32_t)rnd(p, 0, 300000);
            sim_set_loss(s, drop, dup);
        } else if (i != j) {
            sim_reset_link(s, i, j); /* TCP's only loss: a closed link */
        }
    } else if (r < 86) {
        uint64_t hi = pick(p, 4) == 0 ? 300000 : rnd(p, 1000, 20000);
        sim_set_delay(s, 100, hi);
    } else if (r < 88) {
        for (unsigned a = 0; a < BATON_APPS_MAX; a++) {
            sim_app_fail(s, i, a); /* crashed beyond its restarts */
        }
    } else if (r < 92) {
        /* batonctl permit/takeover, racing with everything else */
        unsigned a = pick(p, 3); /* runs have 0-3 apps */
        unsigned what = pick(p, 3);
        sim_request(s, i, a,
                    what == 2 ? BATON_REQ_TAKEOVER : BATON_REQ_PERMIT,
                    what == 1);
    } else {
        unsigned count = 1 + pick(p, 5);
        for (unsigned g = 0; g < count; g++) {
            unsigned kind = pick(p, 64);
            sim_inject_garbage(s, pick(p, nn), kind);
        }
    }
}

/* --reload (docs/design/apps.md §1.1): node i removes app a, defines it
 * again as the cluster does, or defines it differently (another node
 * list or failover timeout: the nodes disagree until they agree again),
 * racing with every fault. Draws from q, a PRNG of its own, so that the
 * seed's other draws stay as they were. */
static void reload(struct sim *s,
                   struct baton_prng *q,
                   unsigned nn,
                   const struct sim_config *cfg)
{
    unsigned i = pick(q, nn);
    unsigned a;
    unsigned r = pick(q, 3);
    struct baton_app_config def;

    if (cfg->n_apps == 0) {
        return;
    }
    a = pick(q, cfg->n_apps);
    def = cfg->apps[a];
    if (def.mode == BATON_APP_QUORUM) {
        return; /* defined at start only */
    }
    if (r == 0) {
        sim_request(s, i, a, BATON_REQ_UNDEFINE, 0);
        return;
    }
    if (r == 2) {
        for (unsigned x = 0; x < nn; x++) {
            def.rank[x] = pick(q, 4) == 0 ? 0 : (uint8_t)(1 + pick(q, 3));
        }
        def.failover_timeout_ms = pick(q, 2) ? 0 : rnd(q, 1, 1500);
    }
    sim_define(s, i, a, &def);
}

/* An operator verb (batonctl move, disable, standby...) on a random
 * node, one time in three (docs/design/apps.md §7). From a PRNG of its
 * own, so that --verbs leaves every other draw of the seed as it was. */
static void verbs_load(struct sim *s,
                       struct baton_prng *v,
                       unsigned nn,
                       unsigned n_apps)
{
    unsigned kind = BATON_ADMIN_MOVE + pick(v, BATON_ADMIN__KIND_COUNT - 1);
    unsigned i = pick(v, nn);
    unsigned node = pick(v, nn);
    unsigned a = n_apps > 0 ? pick(v, n_apps) : 0;

    if (pick(v, 3) != 0 || (n_apps == 0 && kind != BATON_ADMIN_STANDBY &&
                            kind != BATON_ADMIN_UNSTANDBY)) {
        return;
    }
    (void)sim_admin(s, i, kind, a, node);
}

/* A few quorum name writes from random endpoints (quorum.md §6), from
 * the quorum runs' own PRNG. */
static void qnames_load(struct sim *s, struct baton_prng *p, unsigned nn)
{
    unsigned count = pick(p, 4);

    for (unsigned k = 0; k < count; k++) {
        unsigned i = pick(p, nn);
        unsigned l = baton_node_raft_leader(sim_node(s, i));
        /* Mostly at the node i takes to lead (a client that was told
         * UNAVAILABLE retries there), else anywhere. */
        if (l < nn && pick(p, 4) != 0) {
            i = l;
        }
        sim_qname_write(
            s, i, pick(p, 3) == 0 ? BATON_NAME_UNREGISTER : BATON_NAME_REGISTER,
            pick(p, 3), pick(p, 4));
    }
}

/* A few name writes and calls from random endpoints. */
static void names_load(struct sim *s, struct baton_prng *p, unsigned nn,
                       bool writes)
{
    unsigned count = pick(p, 4);

    for (unsigned k = 0; k < count; k++) {
        unsigned i = pick(p, nn);
        unsigned r = pick(p, 100);
        if (writes && r < 60) {
            unsigned kind = r < 27   ? BATON_NAME_REGISTER
                            : r < 36 ? BATON_NAME_REREGISTER
                            : r < 51 ? BATON_NAME_UNREGISTER
                                     : BATON_NAME_DROP;
            unsigned resolver = pick(p, 4);
            unsigned name = pick(p, 10);
            sim_name_write(s, i, kind, pick(p, 3), name, resolver);
        } else {
            bool wants_reply = pick(p, 5) != 0;
            sim_call(s, i, pick(p, 10), wants_reply);
        }
    }
}

static void config(uint64_t seed, const struct seed_opts *o,
                   struct baton_prng *p, struct sim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->n_nodes = 1 + (unsigned)(seed % o->max_nodes);
    cfg->seed = seed;
    for (unsigned i = 0; i < cfg->n_nodes; i++) {
        cfg->candidate[i] = pick(p, 100) < 80;
    }
    if (pick(p, 100) < 30) {
        cfg->heartbeat_ms = rnd(p, 50, 400);
        cfg->heartbeat_miss = rnd(p, 2, 6);
        if (pick(p, 2)) {
            cfg->sync_window_ms =
                rnd(p, cfg->heartbeat_ms,
                    3 * cfg->heartbeat_ms * cfg->heartbeat_miss);
        }
    }
    cfg->delay_min_us = 100;
    cfg->delay_max_us = 2000;
    cfg->legacy_transport = o->legacy;
    cfg->names_part = o->names_part;
    cfg->print_trace = o->trace;
    /* Up to 3 apps with random priority lists: rank 0 = not listed,
     * equal ranks = equal priority (braces). */
    cfg->n_apps = pick(p, 4);
    for (unsigned a = 0; a < cfg->n_apps; a++) {
        struct baton_app_config *ac = &cfg->apps[a];
        snprintf(ac->name, sizeof(ac->name), "app%u", a);
        for (unsigned i = 0; i < cfg->n_nodes; i++) {
            ac->rank[i] = pick(p, 5) == 0 ? 0 : (uint8_t)(1 + pick(p, 3));
        }
        ac->failover_timeout_ms = pick(p, 3) == 0 ? 0 : rnd(p, 1, 1500);
    }
    if (o->quorum && cfg->n_apps < BATON_APPS_MAX) {
        /* From a PRNG of its own, so that --quorum leaves every other
         * draw of the seed (and so its schedule) as it was. */
        struct baton_app_config *ac = &cfg->apps[cfg->n_apps++];
        struct baton_prng q;
        baton_prng_seed(&q, seed ^ 0x9407u);
        snprintf(ac->name, sizeof(ac->name), "quorum");
        for (unsigned i = 0; i < cfg->n_nodes; i++) {
            ac->rank[i] = (uint8_t)(1 + pick(&q, 2));
        }
        ac->mode = BATON_APP_QUORUM;
        ac->lease_ms = 4 * (cfg->heartbeat_ms ? cfg->heartbeat_ms
                                              : BATON_HEARTBEAT_MS_DEFAULT);
        ac->stop_margin_ms = ac->lease_ms / 4;
        /* A lease lasts no longer than what is left of the leader's
         * (quorum.md §4.2): with an election timeout under 4 heartbeats
         * it lapses before each renewal arrives, and the app would only
         * flap. */
        if (cfg->heartbeat_miss != 0 && cfg->heartbeat_miss < 4) {
            cfg->heartbeat_miss = 4;
        }
        cfg->drift_ppm = BATON_DRIFT_PPM_DEFAULT; /* clocks drift, by 1% */
        /* Self-fencing (quorum.md §4.4): batond's shim in half the seeds
         * (the instance outlives a paused node until the shim's timer),
         * and in a third of them the instance ignores a fifth of its
         * stops (only the kill at lease end ends it). */
        cfg->shim = pick(&q, 2) == 0;
        cfg->stop_hang_ppm = pick(&q, 3) == 0 ? 200000 : 0;
        /* A run makes tens of entries, not the hundreds after which the
         * defaults take a snapshot and compact: three seeds in four take
         * them every few entries and keep few, so that snapshots,
         * compaction and installs happen in every such run. */
        if (pick(&q, 4) != 0) {
            cfg->raft_snap_every = (uint32_t)rnd(&q, 1, 6);
            cfg->raft_log_room = (uint32_t)rnd(&q, 2, 12);
        }
    }
    cfg->app_fail_ppm = 20000;
    /* Exports take 1-5 ms in the model: a new owner waits 200 ms for a
     * state before it goes on without (a lost STATE message). */
    cfg->state_wait_ms = 200;
}

/* Every pair of running nodes the network connects has its link up at
 * both ends. */
static bool linked_all(const struct sim *s, unsigned nn)
{
    for (unsigned a = 0; a < nn; a++) {
        for (unsigned b = 0; b < nn; b++) {
            if (a != b && sim_up(s, a) && sim_up(s, b) &&
                sim_connected(s, a, b) &&
                !sim_node(s, a)->peers[b].link_up) {
                return false;
            }
        }
    }
    return true;
}

void run_seed(uint64_t seed, const struct seed_opts *o, struct seed_result *r)
{
    struct baton_prng p;
    struct baton_prng qp; /* --quorum's name writes */
    struct baton_prng q;  /* --reload's draws */
    struct baton_prng v;
    struct sim_config cfg;
    struct sim *s;
    uint64_t t_faults_end;
    uint64_t t_end, t_writes_end, t_calls_checked;
    uint64_t hb, miss, window;
    uint64_t converged_at = UINT64_MAX;
    char why[256] = "";
    bool lossy;

    memset(r, 0, sizeof(*r));
    baton_prng_seed(&p, seed ^ 0x5eed5eed5eedull);
    config(seed, o, &p, &cfg);
    baton_prng_seed(&v, seed ^ 0x7e4b5u);
    lossy = pick(&p, 8) == 0;
    r->n_nodes = cfg.n_nodes;
    hb = cfg.heartbeat_ms ? cfg.heartbeat_ms : BATON_HEARTBEAT_MS_DEFAULT;
    miss = cfg.heartbeat_miss ? cfg.heartbeat_miss
                              : BATON_HEARTBEAT_MISS_DEFAULT;
    window = cfg.sync_window_ms ? cfg.sync_window_ms : hb * miss;
    r->bound_us = liveness_bound_ms(hb, miss, window) * SIM_MS;
    /* Apps add their longest failover timeout, and a start (10 ms at
     * most in the model) for each of a failover and a takeover. */
    for (unsigned a = 0; a < cfg.n_apps; a++) {
        uint64_t extra =
            (cfg.apps[a].failover_timeout_ms + cfg.state_wait_ms + 20) *
            SIM_MS;
        r->app_extra_us = BATON_MAX(r->app_extra_us, extra);
    }
    if (o->quorum) {
        /* Raft: a voter that heard a leader waits out its stickiness
         * (one detection window) before it may pre-vote, an election
         * timeout is up to two more, and a split vote costs another. */
        r->app_extra_us = BATON_MAX(r->app_extra_us,
                                    (5 * hb * miss + 100) * SIM_MS);
    }
    r->bound_us += r->app_extra_us;
    /* Quorum names from a PRNG of their own (see config). */
    baton_prng_seed(&qp, seed ^ 0x9408u);
    s = sim_create(&cfg);
    if (s == NULL) {
        snprintf(r->failure, sizeof(r->failure), "out of memory");
        return;
    }
    sim_set_reorder(s, lossy);

    /* Fault phase. */
    baton_prng_seed(&q, seed ^ 0x7e10adu);
    t_faults_end = rnd(&p, 2000, 30000) * SIM_MS;
    for (uint64_t t = rnd(&p, 0, 500) * SIM_MS; t < t_faults_end;
         t += rnd(&p, 20, 1500) * SIM_MS) {
        sim_run_until(s, t);
        fault(s, &p, cfg.n_nodes, lossy);
        if (o->reload && pick(&q, 100) < 40) {
            reload(s, &q, cfg.n_nodes, &cfg);
        }
        if (o->verbs) {
            verbs_load(s, &v, cfg.n_nodes, cfg.n_apps);
        }
        if (o->names) {
            names_load(s, &p, cfg.n_nodes, true);
        }
        if (o->quorum) {
            qnames_load(s, &qp, cfg.n_nodes);
        }
    }
    sim_run_until(s, t_faults_end);

    /* Quiet phase: a clean network; most stopped nodes come back; the
     * partition heals or settles into two clean groups. */
    sim_set_loss(s, 0, 0);
    sim_set_reorder(s, false);
    sim_set_delay(s, 100, 2000);
    sim_set_app_fail(s, 0);
    for (unsigned i = 0; i < cfg.n_nodes; i++) {
        if (pick(&p, 100) < 75) {
            sim_restart(s, i);
            sim_resume(s, i);
        }
    }
    for (unsigned i = 0; o->reload && i < cfg.n_nodes; i++) {
        /* Every node reloads the cluster's config (a restarted node
         * read it at start): the definitions agree again. */
        for (unsigned a = 0; a < cfg.n_apps; a++) {
            if (cfg.apps[a].mode != BATON_APP_QUORUM) {
                sim_define(s, i, a, &cfg.apps[a]);
            }
        }
    }
    if (pick(&p, 100) < 75) {
        sim_heal(s);
    } else {
        split(s, &p, cfg.n_nodes);
    }
    t_end = t_faults_end + r->bound_us + 1000 * SIM_MS;
    /* Names: writes early in the quiet phase; calls throughout, and
     * those made once lost nodes are detected must all be answered. */
    t_writes_end = t_faults_end + r->bound_us / 3;
    /* A cut lets data through one way for one retransmission timeout
     * (its ACKs are lost), so a silence, and its detection, may begin
     * that much after the faults end. */
    t_calls_checked =
        t_faults_end + (hb * miss + 3 * hb) * SIM_MS + SIM_RTO_MIN_US;
    while (!sim_failed(s) && sim_now(s) < t_end) {
        bool ok;
        if (!linked_all(s, cfg.n_nodes)) {
            r->heal_link_us = sim_now(s) + 5 * SIM_MS - t_faults_end;
        }
        sim_run_for(s, 5 * SIM_MS);
        if (o->names && sim_now(s) < t_end - 300 * SIM_MS &&
            pick(&p, 8) == 0) {
            sim_names_must_finish(s, sim_now(s) >= t_calls_checked);
            names_load(s, &p, cfg.n_nodes, sim_now(s) < t_writes_end);
        }
        if (o->quorum && sim_now(s) < t_writes_end && pick(&qp, 16) == 0) {
            qnames_load(s, &qp, cfg.n_nodes);
        }
        ok = sim_converged(s, why, sizeof(why));
        if (ok && converged_at == UINT64_MAX) {
            converged_at = sim_now(s);
        } else if (!ok) {
            converged_at = UINT64_MAX;
        }
    }
    if (!sim_failed(s) && converged_at != UINT64_MAX) {
        sim_names_final(s);
        sim_admin_final(s);
    }
    r->steps = sim_steps(s);
    r->resets = sim_resets(s);
    sim_quorum_stats(s, &r->snaps_taken, &r->snaps_installed);
    sim_qname_stats(s, &r->qn_acked, &r->qn_reads);
    r->default_hb = cfg.heartbeat_ms == 0;
    r->garbage = sim_rejected(s);
    if (sim_failed(s)) {
        snprintf(r->failure, sizeof(r->failure), "%s", sim_failure(s));
    } else if (converged_at == UINT64_MAX) {
        snprintf(r->failure, sizeof(r->failure),
                 "no convergence %" PRIu64 " ms after the faults stopped: %s",
                 (t_end - t_faults_end) / SIM_MS, why);
    } else {
        r->converge_us = converged_at - t_faults_end;
        if (r->converge_us > r->bound_us) {
            snprintf(r->failure, sizeof(r->failure),
                     "converged %" PRIu64 " ms after the faults stopped, "
                     "beyond the bound of %" PRIu64 " ms",
                     r->converge_us / SIM_MS, r->bound_us / SIM_MS);
        } else {
            r->ok = true;
        }
    }
    sim_destroy(s);
}
