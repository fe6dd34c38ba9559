/* leader_call benchmarks (docs/benchmarks.md "libbaton"), driven by
 * bench/leader.sh. One embedded node per process, built on libbaton's
 * public API only (include/baton/baton.h):
 *
 *   baton-bench-leader -c CONFIG --role leader
 *       joins the leader group "bench" (candidates a@local, workers
 *       b@local and c@local) and answers every leader_call at once with
 *       its own bytes; runs until SIGTERM or SIGINT.
 *   baton-bench-leader -c CONFIG --role worker --mode MODE [options]
 *       joins the same group as a worker, waits until it has
 *       surrendered to the leader, then measures and prints one line per
 *       run on stdout, and exits:
 *         idle   nothing: only a member of the group (until SIGTERM);
 *         rtt    one call at a time: WARMUP unmeasured calls, then CALLS
 *                measured ones; prints "p50_us p99_us calls_per_s";
 *         calls  CALLERS calls in flight, each answer issuing the next;
 *                answers counted for MS after 200 ms of warm-up; prints
 *                "calls_per_s".
 *
 * Options: --runs N (5), --calls N (20000), --warmup N (1000), --size
 * BYTES (16), --callers N (8), --ms MS (2000), --at EPOCH_MS and
 * --period MS: run r starts at wall-clock EPOCH_MS + r * PERIOD, so that
 * workers in two processes measure the same windows (their figures are
 * then added up by the script).
 *
 * Times are CLOCK_MONOTONIC. Errors go to stderr and exit 1. */
#define _POSIX_C_SOURCE 200809L

#include <baton/baton.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define GROUP "bench"
#define CANDIDATES "a@local"
#define WORKERS "b@local, c@local"
#define SIZE_MAX_BYTES (4096u)
#define CALLERS_MAX (64u)
#define CALL_TIMEOUT_MS (5000u)
#define WARM_MS (200u)
#define READY_POLL_MS (5u)
#define WATCHDOG_MS (300000u)

enum mode { MODE_LEADER, MODE_IDLE, MODE_RTT, MODE_CALLS };

struct bench {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    uv_timer_t timer;    /* readiness poll, run starts, windows */
    uv_timer_t watchdog; /* a stuck run fails instead of hanging */
    struct baton *b;
    struct baton_group *g;
    int mode;
    bool joined; /* surrendered to the leader */
    uint64_t served; /* leader: calls answered */
    bool closing;
    int rc;

    unsigned runs, run;
    unsigned long calls, warmup, callers, ms;
    size_t size;
    int64_t at_ms; /* wall-clock start of run 0, or -1 */
    unsigned long period_ms;
    uint8_t payload[SIZE_MAX_BYTES];

    /* rtt */
    uint64_t *lat;
    unsigned long done;
    uint64_t t0_ns, measured_from_ns;

    /* calls */
    unsigned long inflight;
    bool counting, stopping;
    uint64_t counted, window_from_ns, window_ns;
};

static void schedule_run(struct bench *k);
static void issue(struct bench *k);

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_closed(void *data)
{
    struct bench *k = data;

    k->b = NULL;
    uv_close((uv_handle_t *)&k->sigterm, NULL);
    uv_close((uv_handle_t *)&k->sigint, NULL);
    uv_close((uv_handle_t *)&k->timer, NULL);
    uv_close((uv_handle_t *)&k->watchdog, NULL);
}

/* Leaves the cluster; the loop ends once the node is closed. */
static void finish(struct bench *k, int rc)
{
    if (k->closing) {
        return;
    }
    k->closing = true;
    k->rc = rc;
    uv_timer_stop(&k->timer);
    uv_timer_stop(&k->watchdog);
    baton_close(k->b, on_closed, k);
}

static void fail(struct bench *k, const char *what, int rv)
{
    fprintf(stderr, "baton-bench-leader: %s: %s (%s)\n", what,
            baton_strerror(rv), k->b ? baton_errmsg(k->b) : "");
    finish(k, 1);
}

/* ---- the group's callbacks -------------------------------------------- */

static void elected(struct baton_group *g, const char *joined, void **sync,
                    size_t *len)
{
    (void)g;
    (void)joined;
    *sync = NULL;
    *len = 0;
}

static void surrendered(struct baton_group *g, const char *leader,
                        const void *sync, size_t len)
{
    struct bench *k = baton_group_data(g);

    (void)sync;
    (void)len;
    if (!k->joined) {
        fprintf(stderr, "baton-bench-leader: %s: joined leader %s\n",
                baton_self(k->b), leader);
    }
    k->joined = true;
}

/* The echo: answered at once with the caller's bytes. */
static void handle_leader_call(struct baton_group *g,
                               struct baton_request *req, const void *msg,
                               size_t len)
{
    struct bench *k = baton_group_data(g);
    int rv = baton_reply(req, msg, len);

    k->served++;
    if (rv != 0) {
        fail(k, "reply", rv);
    }
}

static const struct baton_group_callbacks group_cbs = {
    .elected = elected,
    .surrendered = surrendered,
    .handle_leader_call = handle_leader_call,
};

/* ---- rtt: one call at a time ------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void rtt_report(struct bench *k, uint64_t end_ns)
{
    double secs = (double)(end_ns - k->measured_from_ns) / 1e9;

    qsort(k->lat, k->calls, sizeof(*k->lat), cmp_u64);
    printf("%.1f %.1f %.0f\n", (double)k->lat[k->calls / 2] / 1e3,
           (double)k->lat[(k->calls * 99) / 100] / 1e3,
           (double)k->calls / secs);
    fflush(stdout);
}

static void rtt_done(void *data, int status, const void *reply, size_t len)
{
    struct bench *k = data;
    uint64_t now = now_ns();

    if (status != 0 || len != k->size ||
        (len > 0 && memcmp(reply, k->payload, len) != 0)) {
        fail(k, "leader_call", status != 0 ? status : BATON_EBADMSG);
        return;
    }
    if (k->done == k->warmup) {
        k->measured_from_ns = k->t0_ns;
    }
    if (k->done >= k->warmup) {
        k->lat[k->done - k->warmup] = now - k->t0_ns;
    }
    k->done++;
    if (k->done < k->warmup + k->calls) {
        issue(k);
        return;
    }
    rtt_report(k, now);
    k->run++;
    schedule_run(k);
}

/* ---- calls: CALLERS in flight ----------------------------------------- */

static void calls_report(struct bench *k)
{
    printf("%.0f\n", (double)k->counted / ((double)k->window_ns / 1e9));
    fflush(stdout);
    k->run++;
    schedule_run(k);
}

static void calls_done(void *data, int status, const void *reply, size_t len)
{
    struct bench *k = data;

    k->inflight--;
    if (status != 0 || len != k->size ||
        (len > 0 && memcmp(reply, k->payload, len) != 0)) {
        fail(k, "leader_call", status != 0 ? status : BATON_EBADMSG);
        return;
    }
    if (k->counting) {
        k->counted++;
    }
    if (!k->stopping) {
        issue(k);
    } else if (k->inflight == 0 && !k->closing) {
        calls_report(k);
    }
}

static void on_window_end(uv_timer_t *t)
{
    struct bench *k = t->data;

    k->window_ns = now_ns() - k->window_from_ns;
    k->counting = false;
    k->stopping = true;
    if (k->inflight == 0) {
        calls_report(k);
    }
}

static void on_window_start(uv_timer_t *t)
{
    struct bench *k = t->data;

    k->counted = 0;
    k->counting = true;
    k->window_from_ns = now_ns();
    uv_timer_start(&k->timer, on_window_end, k->ms, 0);
}

/* ---- runs ------------------------------------------------------------- */

static void issue(struct bench *k)
{
    baton_reply_cb cb = k->mode == MODE_RTT ? rtt_done : calls_done;
    int rv;

    if (k->closing) {
        return;
    }
    k->t0_ns = now_ns();
    rv = baton_leader_call(k->g, k->payload, k->size, CALL_TIMEOUT_MS, cb, k);
    if (rv != 0) {
        fail(k, "leader_call", rv);
        return;
    }
    k->inflight++;
}

static void on_run_start(uv_timer_t *t)
{
    struct bench *k = t->data;

    if (k->mode == MODE_RTT) {
        k->done = 0;
        issue(k);
        return;
    }
    k->counting = k->stopping = false;
    k->inflight = 0;
    for (unsigned long i = 0; i < k->callers && !k->closing; i++) {
        issue(k);
    }
    uv_timer_start(&k->timer, on_window_start, WARM_MS, 0);
}

/* Starts run k->run now, or at its slot of --at/--period; ends after
 * the last. */
static void schedule_run(struct bench *k)
{
    uint64_t delay = 0;

    if (k->run == k->runs) {
        finish(k, 0);
        return;
    }
    if (k->at_ms >= 0) {
        int64_t at = k->at_ms + (int64_t)(k->run * k->period_ms);
        int64_t now = wall_ms();
        if (at < now) {
            fprintf(stderr, "baton-bench-leader: run %u starts %" PRId64
                    " ms late\n", k->run, now - at);
        }
        delay = at > now ? (uint64_t)(at - now) : 0;
    }
    uv_timer_start(&k->timer, on_run_start, delay, 0);
}

/* Polls until this worker has surrendered to the leader. */
static void on_ready_poll(uv_timer_t *t)
{
    struct bench *k = t->data;

    if (!k->joined || baton_group_leader(k->g) == NULL) {
        return;
    }
    uv_timer_stop(t);
    if (k->mode != MODE_IDLE) {
        schedule_run(k);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    finish(s->data, 0);
}

static void on_watchdog(uv_timer_t *t)
{
    struct bench *k = t->data;

    fprintf(stderr, "baton-bench-leader: no result within %u ms\n",
            WATCHDOG_MS);
    finish(k, 1);
}

/* ---- main ------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: baton-bench-leader -c CONFIG --role leader|worker\n"
            "       [--mode idle|rtt|calls] [--runs N] [--calls N]\n"
            "       [--warmup N] [--size BYTES] [--callers N] [--ms MS]\n"
            "       [--at EPOCH_MS --period MS]\n");
    exit(2);
}

static unsigned long num(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s == '\0' || *end != '\0') {
        usage();
    }
    return v;
}

static void parse(struct bench *k, int argc, char **argv, const char **cfg)
{
    const char *role = NULL, *mode = "idle";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
        }
        i++;
        if (strcmp(a, "-c") == 0) {
            *cfg = v;
        } else if (strcmp(a, "--role") == 0) {
            role = v;
        } else if (strcmp(a, "--mode") == 0) {
            mode = v;
        } else if (strcmp(a, "--runs") == 0) {
            k->runs = (unsigned)num(v);
        } else if (strcmp(a, "--calls") == 0) {
            k->calls = num(v);
        } else if (strcmp(a, "--warmup") == 0) {
            k->warmup = num(v);
        } else if (strcmp(a, "--size") == 0) {
            k->size = num(v);
        } else if (strcmp(a, "--callers") == 0) {
            k->callers = num(v);
        } else if (strcmp(a, "--ms") == 0) {
            k->ms = num(v);
        } else if (strcmp(a, "--at") == 0) {
            k->at_ms = (int64_t)num(v);
        } else if (strcmp(a, "--period") == 0) {
            k->period_ms = num(v);
        } else {
            usage();
        }
    }
    if (*cfg == NULL || role == NULL || k->size > SIZE_MAX_BYTES ||
        k->callers == 0 || k->callers > CALLERS_MAX || k->calls == 0) {
        usage();
    }
    if (strcmp(role, "leader") == 0) {
        k->mode = MODE_LEADER;
    } else if (strcmp(role, "worker") != 0) {
        usage();
    } else if (strcmp(mode, "idle") == 0) {
        k->mode = MODE_IDLE;
    } else if (strcmp(mode, "rtt") == 0) {
        k->mode = MODE_RTT;
    } else if (strcmp(mode, "calls") == 0) {
        k->mode = MODE_CALLS;
    } else {
        usage();
    }
}

int main(int argc, char **argv)
{
    static struct bench k; /* large: the payload */
    struct baton_options opt;
    const char *cfg = NULL;
    char err[512];
    int rv;

    k.runs = 5;
    k.calls = 20000;
    k.warmup = 1000;
    k.size = 16;
    k.callers = 8;
    k.ms = 2000;
    k.at_ms = -1;
    parse(&k, argc, argv, &cfg);
    for (size_t i = 0; i < k.size; i++) {
        k.payload[i] = (uint8_t)('a' + i % 26);
    }
    if (k.mode == MODE_RTT &&
        (k.lat = calloc(k.calls, sizeof(*k.lat))) == NULL) {
        fprintf(stderr, "baton-bench-leader: out of memory\n");
        return 1;
    }

    uv_loop_init(&k.loop);
    memset(&opt, 0, sizeof(opt));
    opt.config_file = cfg;
    opt.loop = &k.loop;
    opt.log_level = BATON_LOG_INFO;
    rv = baton_new(&k.b, &opt, err, sizeof(err));
    if (rv != 0) {
        fprintf(stderr, "baton-bench-leader: %s: %s\n", baton_strerror(rv),
                err);
        return 1;
    }
    rv = baton_group_add(k.b, GROUP, CANDIDATES, WORKERS, &group_cbs, &k,
                         &k.g);
    if (rv == 0) {
        rv = baton_start(k.b);
    }
    if (rv != 0) {
        fprintf(stderr, "baton-bench-leader: %s: %s\n", baton_strerror(rv),
                baton_errmsg(k.b));
        baton_close(k.b, NULL, NULL);
        uv_run(&k.loop, UV_RUN_DEFAULT);
        return 1;
    }

    uv_signal_init(&k.loop, &k.sigterm);
    uv_signal_init(&k.loop, &k.sigint);
    uv_timer_init(&k.loop, &k.timer);
    uv_timer_init(&k.loop, &k.watchdog);
    k.sigterm.data = k.sigint.data = k.timer.data = k.watchdog.data = &k;
    uv_signal_start(&k.sigterm, on_signal, SIGTERM);
    uv_signal_start(&k.sigint, on_signal, SIGINT);
    if (k.mode != MODE_LEADER) {
        uv_timer_start(&k.timer, on_ready_poll, READY_POLL_MS,
                       READY_POLL_MS);
        if (k.mode != MODE_IDLE) {
            uv_timer_start(&k.watchdog, on_watchdog, WATCHDOG_MS, 0);
        }
    }
    uv_run(&k.loop, UV_RUN_DEFAULT);
    if (k.mode == MODE_LEADER) {
        fprintf(stderr, "baton-bench-leader: answered %" PRIu64 " calls\n",
                k.served);
    }
    uv_loop_close(&k.loop);
    free(k.lat);
    return k.rc;
}
