/* baton-sim: runs seeded random simulations of the core.
 *
 *   baton-sim --seeds N [--first S] [--jobs J] [--max-nodes M]
 *   baton-sim --seed S [--trace] [--max-nodes M]   replay one run
 *   --names adds the global-names workload and its checks (names.md §7)
 *   --legacy-transport models the driver before issue 11 (no link reset
 *   on silence, 5 s dials): it misses the liveness bound
 *   --names-part P cuts snapshots in parts of P names (3..24: the
 *   simulator's table holds 24), so that runs exercise transfers in
 *   parts under faults (names.md §1)
 *   --quorum adds an app in quorum mode: the nodes run their Raft group
 *   over the driver's store, checked after every step (quorum.md §7)
 *   --reload has nodes remove apps and define them again, the same or
 *   differently, at run time, racing with the faults (apps.md §1.1)
 *   --verbs adds operator verbs (move, disable, standby...: apps.md §7)
 *   racing with the faults; every one is answered exactly once
 *   baton-sim --measure [--runs R]                 detection figures
 *
 * The last line of a multi-seed run is "N passed, M failed". */
#include "../../src/util/setup.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "schedule.h"

struct opts {
    uint64_t first;
    uint64_t seeds;
    unsigned jobs;
    bool single;
    bool measure;
    unsigned runs;
    struct seed_opts so;
};

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: baton-sim --seeds N [--first S] [--jobs J] "
            "[--max-nodes M] [--names] [--names-part P] [--quorum] "
            "[--reload] [--verbs] [--legacy-transport]\n"
            "       baton-sim --seed S [--trace] [--max-nodes M] [--names] "
            "[--names-part P] [--quorum] [--reload] [--verbs]\n"
            "       baton-sim --measure [--runs R]\n");
    exit(2);
}

static uint64_t num(const char *flag, const char *v)
{
    char *end;
    unsigned long long x;

    if (v == NULL) {
        fprintf(stderr, "baton-sim: %s needs a value\n", flag);
        exit(2);
    }
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v) {
        fprintf(stderr, "baton-sim: %s: not a number: %s\n", flag, v);
        exit(2);
    }
    return (uint64_t)x;
}

static void parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->first = 1;
    o->seeds = 100;
    o->jobs = 1;
    o->runs = 200;
    o->so.max_nodes = 7;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--seeds") == 0) {
            o->seeds = num(a, v);
            i++;
        } else if (strcmp(a, "--first") == 0) {
            o->first = num(a, v);
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            o->first = num(a, v);
            o->seeds = 1;
            o->single = true;
            i++;
        } else if (strcmp(a, "--jobs") == 0) {
            o->jobs = (unsigned)num(a, v);
            i++;
        } else if (strcmp(a, "--max-nodes") == 0) {
            o->so.max_nodes = (unsigned)num(a, v);
            i++;
        } else if (strcmp(a, "--runs") == 0) {
            o->runs = (unsigned)num(a, v);
            i++;
        } else if (strcmp(a, "--trace") == 0) {
            o->so.trace = true;
        } else if (strcmp(a, "--names") == 0) {
            o->so.names = true;
        } else if (strcmp(a, "--names-part") == 0) {
            o->so.names_part = (uint32_t)num(a, v);
            i++;
        } else if (strcmp(a, "--legacy-transport") == 0) {
            o->so.legacy = true;
        } else if (strcmp(a, "--quorum") == 0) {
            o->so.quorum = true;
        } else if (strcmp(a, "--reload") == 0) {
            o->so.reload = true;
        } else if (strcmp(a, "--verbs") == 0) {
            o->so.verbs = true;
        } else if (strcmp(a, "--measure") == 0) {
            o->measure = true;
        } else {
            usage();
        }
    }
    if (o->so.max_nodes < 1 || o->so.max_nodes > SIM_NODES_MAX) {
        fprintf(stderr, "baton-sim: --max-nodes must be 1..%d\n",
                SIM_NODES_MAX);
        exit(2);
    }
    if (o->so.names_part != 0 &&
        (o->so.names_part < 3 || o->so.names_part > 24)) {
        fprintf(stderr, "baton-sim: --names-part must be 3..24\n");
        exit(2);
    }
    if (o->jobs < 1) {
        o->jobs = 1;
    }
}

/* " --names-part P" and " --quorum" for replay lines, or "". */
static const char *part_flag(const struct opts *o)
{
    static char buf[48];

    snprintf(buf, sizeof(buf), "%s%s%s", o->so.quorum ? " --quorum" : "",
             o->so.reload ? " --reload" : "", o->so.verbs ? " --verbs" : "");
    if (o->so.names_part != 0) {
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
                 " --names-part %u", (unsigned)o->so.names_part);
    }
    return buf;
}

/* Results travel from workers to the parent as one line per seed. */
static void emit(FILE *out, uint64_t seed, const struct seed_result *r)
{
    fprintf(out,
            "%" PRIu64 " %d %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
            " %" PRIu64 " %" PRIu64 " %d %" PRIu64 " %" PRIu64 " %" PRIu64
            " %" PRIu64 " %s\n",
            seed, r->ok, r->n_nodes, r->steps, r->converge_us, r->bound_us,
            r->garbage, r->resets, r->heal_link_us, r->default_hb,
            r->snaps_taken, r->snaps_installed, r->qn_acked, r->qn_reads,
            r->ok ? "-" : r->failure);
}

struct totals {
    uint64_t passed, failed, steps, garbage, resets;
    uint64_t snaps_taken, snaps_installed; /* quorum mode */
    uint64_t qn_acked, qn_reads;
    /* heal -> every link up, at any and at default heartbeat settings */
    uint64_t heal_link_us, heal_link_seed;
    uint64_t heal_link_default_us, heal_link_default_seed;
    uint64_t worst_us, worst_seed, worst_bound_us;
    uint64_t worst_default_us, worst_default_seed; /* default settings */
};

static void absorb(struct totals *t, const char *line, const char *self,
                   const struct opts *o)
{
    uint64_t seed, steps, conv, bound, garbage, resets, heal_link;
    uint64_t taken, installed, acked, reads;
    int ok, default_hb;
    unsigned nn;
    int used = 0;

    if (sscanf(line,
               "%" SCNu64 " %d %u %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
               " %" SCNu64 " %" SCNu64 " %d %" SCNu64 " %" SCNu64 " %" SCNu64
               " %" SCNu64 " %n",
               &seed, &ok, &nn, &steps, &conv, &bound, &garbage, &resets,
               &heal_link, &default_hb, &taken, &installed, &acked, &reads,
               &used) < 14) {
        fprintf(stderr, "baton-sim: bad worker line: %s", line);
        t->failed++;
        return;
    }
    t->steps += steps;
    t->garbage += garbage;
    t->resets += resets;
    t->snaps_taken += taken;
    t->snaps_installed += installed;
    t->qn_acked += acked;
    t->qn_reads += reads;
    if (default_hb && heal_link > t->heal_link_default_us) {
        t->heal_link_default_us = heal_link;
        t->heal_link_default_seed = seed;
    }
    if (heal_link > t->heal_link_us) {
        t->heal_link_us = heal_link;
        t->heal_link_seed = seed;
    }
    if (ok) {
        t->passed++;
        if (bound == liveness_bound_ms(BATON_HEARTBEAT_MS_DEFAULT,
                                       BATON_HEARTBEAT_MISS_DEFAULT,
                                       BATON_HEARTBEAT_MS_DEFAULT *
                                           BATON_HEARTBEAT_MISS_DEFAULT) *
                         SIM_MS &&
            conv > t->worst_default_us) {
            t->worst_default_us = conv;
            t->worst_default_seed = seed;
        }
        if (conv > t->worst_us) {
            t->worst_us = conv;
            t->worst_seed = seed;
            t->worst_bound_us = bound;
        }
        return;
    }
    t->failed++;
    printf("FAIL seed %" PRIu64 " (%u nodes): %s", seed, nn, line + used);
    printf("  replay: %s --seed %" PRIu64 " --max-nodes %u%s%s%s --trace\n",
           self, seed, o->so.max_nodes, o->so.names ? " --names" : "",
           o->so.legacy ? " --legacy-transport" : "", part_flag(o));
}

/* Reads every worker's lines as they come. Reading one pipe to its end
 * before the next would leave the others blocked on a full pipe, and
 * --jobs 2 would run one worker at a time after the first thousand
 * seeds. */
static void read_workers(struct totals *t, const int *fds, unsigned jobs,
                         const char *self, const struct opts *o)
{
    static char buf[64][4096];
    size_t len[64] = {0};
    struct pollfd pf[64];
    unsigned open_n = jobs;

    for (unsigned k = 0; k < jobs; k++) {
        pf[k].fd = fds[k];
        pf[k].events = POLLIN;
    }
    while (open_n > 0) {
        if (poll(pf, jobs, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("baton-sim: poll");
            return;
        }
        for (unsigned k = 0; k < jobs; k++) {
            ssize_t n;
            char *nl;
            if (pf[k].fd < 0 || pf[k].revents == 0) {
                continue;
            }
            n = read(pf[k].fd, buf[k] + len[k], sizeof(buf[k]) - 1 - len[k]);
            if (n <= 0) {
                close(pf[k].fd);
                pf[k].fd = -1; /* poll skips it */
                open_n--;
                continue;
            }
            len[k] += (size_t)n;
            buf[k][len[k]] = '\0';
            while ((nl = strchr(buf[k], '\n')) != NULL) {
                /* absorb() takes the line with its newline, as fgets
                 * gives it. */
                char line[4096];
                size_t used = (size_t)(nl - buf[k]) + 1;
                memcpy(line, buf[k], used);
                line[used] = '\0';
                absorb(t, line, self, o);
                memmove(buf[k], buf[k] + used, len[k] - used + 1);
                len[k] -= used;
            }
        }
    }
}

static int run_many(const struct opts *o, const char *self)
{
    struct totals t = {0};
    double t0 = wall_s();
    double dt;
    int fds[64];
    pid_t pids[64];
    unsigned jobs = BATON_MIN(o->jobs, 64u);

    for (unsigned k = 0; k < jobs; k++) {
        int p[2];
        if (pipe(p) != 0) {
            perror("baton-sim: pipe");
            return 2;
        }
        pids[k] = fork();
        if (pids[k] < 0) {
            perror("baton-sim: fork");
            return 2;
        }
        if (pids[k] == 0) {
            FILE *out = fdopen(p[1], "w");
            close(p[0]);
            for (uint64_t i = k; i < o->seeds; i += jobs) {
                struct seed_result r;
                run_seed(o->first + i, &o->so, &r);
                emit(out, o->first + i, &r);
            }
            fclose(out);
            _exit(0);
        }
        close(p[1]);
        fds[k] = p[0];
    }
    read_workers(&t, fds, jobs, self, o);
    for (unsigned k = 0; k < jobs; k++) {
        int status;
        waitpid(pids[k], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("FAIL worker %u died (status %d): a seed crashed the "
                   "simulator; rerun its seeds one by one with --seed\n",
                   k, status);
            t.failed++;
        }
    }
    dt = wall_s() - t0;
    printf("simulated %" PRIu64 " seeds (cluster sizes 1-%u) in %.1f s: "
           "%" PRIu64 " steps, %.0f steps/s; %" PRIu64
           " invalid messages injected and rejected\n",
           o->seeds, o->so.max_nodes, dt, t.steps,
           dt > 0 ? (double)t.steps / dt : 0.0, t.garbage);
    printf("slowest convergence after faults stopped: %" PRIu64
           " ms (seed %" PRIu64 ", bound %" PRIu64 " ms)\n",
           t.worst_us / SIM_MS, t.worst_seed, t.worst_bound_us / SIM_MS);
    printf("slowest with default settings (250 ms x 4): %" PRIu64
           " ms (seed %" PRIu64 ", bound %" PRIu64 " ms)\n",
           t.worst_default_us / SIM_MS, t.worst_default_seed,
           liveness_bound_ms(BATON_HEARTBEAT_MS_DEFAULT,
                             BATON_HEARTBEAT_MISS_DEFAULT,
                             BATON_HEARTBEAT_MS_DEFAULT *
                                 BATON_HEARTBEAT_MISS_DEFAULT));
    printf("links reset on silence: %" PRIu64 "; slowest heal -> linked: %"
           PRIu64 " ms (seed %" PRIu64 "), with default settings %" PRIu64
           " ms (seed %" PRIu64 ")\n",
           t.resets, t.heal_link_us / SIM_MS, t.heal_link_seed,
           t.heal_link_default_us / SIM_MS, t.heal_link_default_seed);
    if (o->so.quorum) {
        printf("quorum: %" PRIu64 " grant-table snapshots taken, %" PRIu64
               " installed from a leader\n",
               t.snaps_taken, t.snaps_installed);
        printf("quorum names: %" PRIu64
               " writes acknowledged (each checked "
               "against the committed entry), %" PRIu64
               " lease reads answered (each checked against the highest "
               "commit)\n",
               t.qn_acked, t.qn_reads);
    }
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", t.passed, t.failed);
    return t.failed == 0 ? 0 : 1;
}

static int run_one(const struct opts *o, const char *self)
{
    struct seed_result r;

    run_seed(o->first, &o->so, &r);
    printf("seed %" PRIu64 ": %u nodes, %" PRIu64 " steps, ", o->first,
           r.n_nodes, r.steps);
    if (r.ok) {
        printf("converged %" PRIu64 " ms after the faults stopped (bound %"
               PRIu64 " ms)\n1 passed, 0 failed\n",
               r.converge_us / SIM_MS, r.bound_us / SIM_MS);
        return 0;
    }
    printf("FAILED: %s\n  replay: %s --seed %" PRIu64 " --max-nodes %u%s%s%s "
           "--trace\n0 passed, 1 failed\n",
           r.failure, self, o->first, o->so.max_nodes,
           o->so.names ? " --names" : "",
           o->so.legacy ? " --legacy-transport" : "", part_flag(o));
    return 1;
}

int measure_detection(unsigned runs); /* measure.c */

int main(int argc, char **argv)
{
    struct opts o;

    parse(argc, argv, &o);
    if (o.measure) {
        return measure_detection(o.runs);
    }
    return o.single ? run_one(&o, argv[0]) : run_many(&o, argv[0]);
}
