/* Detection figures in virtual time: how long from the coordinator's
 * crash (its links close) or freeze (it goes silent) until every other
 * node follows the new coordinator. Default settings, 5 candidates. */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int measure_detection(unsigned runs);

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Everyone but node 0 follows node 1, which coordinates. */
static bool handed_over(const struct sim *s, unsigned n)
{
    if (!baton_node_is_coordinator(sim_node(s, 1))) {
        return false;
    }
    for (unsigned i = 2; i < n; i++) {
        if (baton_node_coordinator(sim_node(s, i)) != 1) {
            return false;
        }
    }
    return true;
}

static int one(uint64_t seed, bool freeze, uint64_t *out_us,
               unsigned *extra_claims)
{
    struct sim_config cfg = {0};
    struct sim *s;
    uint64_t t0;

    cfg.n_nodes = 5;
    cfg.seed = seed;
    memset(cfg.candidate, 1, cfg.n_nodes);
    cfg.delay_min_us = 100;
    cfg.delay_max_us = 2000;
    s = sim_create(&cfg);
    if (s == NULL) {
        return -1;
    }
    /* A random moment in the heartbeat cycle. */
    sim_run_until(s, (3000 + seed % 250) * SIM_MS + (seed * 7919) % SIM_MS);
    t0 = sim_now(s);
    if (freeze) {
        sim_pause(s, 0);
    } else {
        sim_crash(s, 0);
    }
    while (!sim_failed(s) && !handed_over(s, cfg.n_nodes) &&
           sim_now(s) < t0 + 10000 * SIM_MS) {
        sim_run_for(s, 100); /* 0.1 ms resolution */
    }
    *out_us = sim_now(s) - t0;
    /* Only b should have claimed since the loss; anyone else claiming
     * is churn (an epoch spent for nothing). */
    for (unsigned i = 2; i < cfg.n_nodes; i++) {
        *extra_claims += (unsigned)sim_node(s, i)->counters.claims;
    }
    if (sim_failed(s) || !handed_over(s, cfg.n_nodes)) {
        fprintf(stderr, "measure: seed %" PRIu64 " did not hand over: %s\n",
                seed, sim_failure(s));
        sim_destroy(s);
        return -1;
    }
    sim_destroy(s);
    return 0;
}

static void report(const char *name, uint64_t *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    printf("%s: median %.1f ms, p99 %.1f ms, max %.1f ms (%u runs)\n", name,
           (double)v[n / 2] / 1000.0, (double)v[(n * 99) / 100] / 1000.0,
           (double)v[n - 1] / 1000.0, n);
}

int measure_detection(unsigned runs)
{
    uint64_t *crash = calloc(runs, sizeof(*crash));
    uint64_t *freeze = calloc(runs, sizeof(*freeze));
    int rv = 0;
    unsigned extra = 0;

    if (crash == NULL || freeze == NULL || runs == 0) {
        free(crash);
        free(freeze);
        return 2;
    }
    for (unsigned k = 0; k < runs && rv == 0; k++) {
        if (one(k + 1, false, &crash[k], &extra) != 0 ||
            one(k + 1, true, &freeze[k], &extra) != 0) {
            rv = 1;
        }
    }
    if (rv == 0) {
        printf("virtual time from coordinator loss to a new coordinator "
               "known by all (5 nodes, heartbeat 250 ms x 4):\n");
        report("coordinator crash (links close)", crash, runs);
        report("coordinator freeze (silent)", freeze, runs);
        printf("needless claims by other nodes during the %u handovers: "
               "%u\n", 2 * runs, extra);
    }
    free(crash);
    free(freeze);
    return rv;
}
