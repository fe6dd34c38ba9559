/* Seeded random fault schedules for the simulator. */
#ifndef BATON_SIM_SCHEDULE_H
#define BATON_SIM_SCHEDULE_H

#include "sim.h"

struct seed_opts {
    unsigned max_nodes; /* cluster size is 1 + seed % max_nodes */
    bool trace;         /* print the run's trace */
    bool names;         /* run the names workload and its checks */
    bool legacy;        /* the driver before issue 11 (sim_config) */
    uint32_t names_part; /* entries per snapshot part, 0 = default */
    bool quorum;        /* add a quorum-mode app: the nodes' Raft group */
    bool reload;        /* nodes remove and redefine apps at run time */
    bool verbs;         /* operator verbs race with the faults */
};

struct seed_result {
    bool ok;
    uint64_t steps;
    uint64_t converge_us; /* from the end of faults to convergence */
    uint64_t bound_us;    /* the liveness bound for this run's settings */
    uint64_t app_extra_us; /* the part of it the apps add */
    uint64_t garbage;     /* invalid messages injected (all rejected) */
    uint64_t resets;      /* links reset on the cores' requests */
    uint64_t snaps_taken, snaps_installed; /* quorum mode */
    uint64_t qn_acked, qn_reads;           /* quorum names: OK answers, reads */
    /* The quiet phase's slowest link: from the end of the faults (the
     * heal) until both ends of a pair the network connects hold it up,
     * for pairs that did not at that moment (5 ms resolution). */
    uint64_t heal_link_us;
    bool default_hb; /* default heartbeat settings */
    unsigned n_nodes;
    char failure[600];
};

/* The liveness bound: after the last fault, every fully connected group
 * converges within this (docs/design/simulator.md §4). */
uint64_t liveness_bound_ms(uint64_t heartbeat_ms, uint64_t heartbeat_miss,
                           uint64_t sync_window_ms);

void run_seed(uint64_t seed, const struct seed_opts *o,
              struct seed_result *r);

#endif /* BATON_SIM_SCHEDULE_H */
