/* batond: one baton node as a daemon.
 *
 *   batond -c FILE            run
 *   batond --check -c FILE    validate FILE (and its cookie file), exit
 *
 * Logs go to stderr, one line per event: "<UTC time> <LEVEL> <text>".
 * SIGTERM/SIGINT: clean shutdown: the apps here are handed over
 * (takeovers, with their state), then the links close (peers see them
 * go at once).
 * SIGHUP: logged and otherwise ignored; the configuration is read at
 * start only (docs/config.md). */
#include "../util/setup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/error.h"
#include "config.h"
#include "../lib/control.h"
#include "supervise.h"

struct batond {
    uv_loop_t *loop;
    struct batond_config cfg;
    struct baton_io io;
    struct batond_sup sup;
    struct lib_control control;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t sync_timer;
    uint64_t sync_started_ms;
    bool syncing;
    bool shutting_down;
    int exit_code;
};

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static void log_line(void *data, int level, const char *text)
{
    const struct batond *d = data;
    struct timespec ts;
    struct tm tm;
    char when[32];

    if (d != NULL && level < d->cfg.node.log_level) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%06ldZ %s %s\n", when, ts.tv_nsec / 1000,
            level_names[level & 3], text);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Once every local app has stopped: close the links (peers see them go at
 * once) and let the loop end. */
static void on_drained(struct batond_sup *sup)
{
    struct batond *d = sup->data;

    uv_close((uv_handle_t *)&d->sigterm, on_closed);
    uv_close((uv_handle_t *)&d->sigint, on_closed);
    uv_close((uv_handle_t *)&d->sighup, on_closed);
    uv_close((uv_handle_t *)&d->sync_timer, on_closed);
    uv_close((uv_handle_t *)&d->sup.drain_timer, on_closed);
    for (unsigned i = 0; i < d->cfg.node.io.n_apps; i++) {
        uv_close((uv_handle_t *)&d->sup.procs[i].timer, on_closed);
        uv_close((uv_handle_t *)&d->sup.procs[i].export_timer, on_closed);
    }
    lib_control_close(&d->control, on_closed);
    baton_io_close(&d->io, NULL);
}

static void shutdown_(struct batond *d, const char *why, int code)
{
    char text[128];

    if (d->shutting_down) {
        return;
    }
    d->shutting_down = true;
    d->exit_code = code;
    snprintf(text, sizeof(text), "shutting down (%s)", why);
    log_line(d, BATON_LOG_INFO, text);
    /* This node no longer takes apps: the coordinator moves them to the
     * next node as a takeover (the state exported here first), and the
     * instances here stop once moved, or past the hand-over's bound, so
     * none outlives its batond. */
    for (unsigned i = 0; i < d->cfg.node.io.n_apps; i++) {
        baton_io_request(&d->io, i, BATON_REQ_PERMIT, 0);
    }
    batond_sup_drain(&d->sup, on_drained);
}

/* The core's effects. App effects go through the control socket's side
 * first (an app's name is pointed here before its start) and reach the
 * supervisor right after the step. */
static void on_app_effect(struct baton_io *io, const struct baton_app_effect *e)
{
    struct batond *d = io->data;

    lib_control_app_effect(&d->control, e);
}

static void on_name_effect(struct baton_io *io,
                           const struct baton_name_effect *e)
{
    struct batond *d = io->data;

    lib_control_name_effect(&d->control, e);
}

static void on_call_effect(struct baton_io *io,
                           const struct baton_call_effect *e)
{
    struct batond *d = io->data;

    lib_control_call_effect(&d->control, e);
}

static void on_app_idle(struct batond_sup *sup, unsigned app)
{
    struct batond *d = sup->data;

    lib_control_app_idle(&d->control, app);
}

/* The supervisor, as the control socket's program (src/lib/control.h). */
static void prog_app_effect(void *data, const struct baton_app_effect *e)
{
    struct batond *d = data;

    batond_sup_effect(&d->sup, e);
}

static int prog_ready(void *data, unsigned app)
{
    struct batond *d = data;

    return batond_sup_ready(&d->sup, app);
}

static void prog_app_json(void *data, unsigned app, cJSON *o)
{
    struct batond *d = data;
    const struct batond_proc *p = &d->sup.procs[app];

    cJSON_AddStringToObject(o, "here", batond_proc_state_name(p->state));
    cJSON_AddNumberToObject(o, "pid", p->pid);
    cJSON_AddNumberToObject(o, "since_ms",
                            (double)(uv_now(d->loop) - p->since_ms));
}

static bool prog_draining(void *data)
{
    struct batond *d = data;

    return d->sup.draining;
}

/* Boot-time sync (reference §1.3): wait until every listed node is
 * linked, or the timeout; a mandatory node still missing then refuses
 * the start. */
static void on_sync_timer(uv_timer_t *t)
{
    struct batond *d = t->data;
    const struct lib_config *c = &d->cfg.node;
    uint64_t waited = uv_now(d->loop) - d->sync_started_ms;
    bool all = true;
    char missing[1024] = "";

    for (unsigned i = 0; i < c->io.n_nodes; i++) {
        if (i == c->io.self ||
            !(c->sync_mandatory[i] || c->sync_optional[i])) {
            continue;
        }
        if (!baton_io_link_up(&d->io, i)) {
            all = false;
            if (c->sync_mandatory[i]) {
                size_t used = strlen(missing);
                snprintf(missing + used, sizeof(missing) - used, "%s%s",
                         used ? ", " : "", c->io.names[i]);
            }
        }
    }
    if (all || (c->sync_timeout_ms != BATON_TIMEOUT_INFINITY &&
                waited >= c->sync_timeout_ms)) {
        char text[1200];
        uv_timer_stop(t);
        d->syncing = false;
        if (missing[0] != '\0') {
            snprintf(text, sizeof(text),
                     "sync_nodes_mandatory: %s not up within %llu ms: "
                     "refusing to start",
                     missing, (unsigned long long)c->sync_timeout_ms);
            log_line(d, BATON_LOG_ERROR, text);
            shutdown_(d, "mandatory nodes down", 1);
            return;
        }
        snprintf(text, sizeof(text), "boot sync done after %llu ms%s",
                 (unsigned long long)waited,
                 all ? "" : " (optional nodes missing)");
        log_line(d, BATON_LOG_INFO, text);
        baton_io_request(&d->io, 0, BATON_REQ_RELEASE, 0);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct batond *d = s->data;

    if (signum == SIGHUP) {
        log_line(d, BATON_LOG_INFO,
                 "SIGHUP ignored: the configuration is read at start only; "
                 "restart batond to apply a new one");
        return;
    }
    if (d->shutting_down) {
        /* A second signal: the operator will not wait for the hand-over. */
        log_line(d, BATON_LOG_INFO,
                 "second signal: stopping the apps here without waiting");
        batond_sup_stop_all(&d->sup);
        return;
    }
    shutdown_(d, signum == SIGTERM ? "SIGTERM" : "SIGINT", 0);
}

/* The incarnation tells this life from earlier ones under the same name:
 * the wall clock in milliseconds at start, which grows across restarts
 * unless the clock is set back by more than the time between them. */
static baton_inc incarnation(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (baton_inc)ts.tv_sec * 1000 + (baton_inc)(ts.tv_nsec / 1000000);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: batond -c FILE\n"
               "       batond --check -c FILE\n");
}

int main(int argc, char **argv)
{
    static struct batond d; /* large (read buffers): not on the stack */
    const char *file = NULL;
    bool check = false;
    char err[1024];

    if (argc > 1 && strcmp(argv[1], "--shim") == 0) {
        batond_shim_main(argc, argv); /* an app's keeper: never returns */
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (file == NULL) {
        usage(stderr);
        return 2;
    }
    if (batond_config_load(&d.cfg, file, err, sizeof(err)) != 0) {
        fprintf(stderr, "batond: %s\n", err);
        return 1;
    }
    if (check) {
        printf("%s: OK: node %s, %u nodes, %u apps, control socket %s\n",
               file, d.cfg.node.self_name, d.cfg.node.io.n_nodes, d.cfg.node.io.n_apps,
               d.cfg.node.control_socket);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    d.loop = uv_default_loop();
    d.cfg.node.io.inc = incarnation();
    d.syncing = d.cfg.node.sync_timeout_set;
    d.cfg.node.io.apps_held = d.syncing;
    if (baton_io_init(&d.io, d.loop, &d.cfg.node.io, log_line, &d) != 0) {
        return 1;
    }
    d.io.data = &d;
    d.io.on_app = on_app_effect;
    d.io.on_name = on_name_effect;
    d.io.on_call = on_call_effect;
    if (batond_sup_init(&d.sup, d.loop, &d.cfg, &d.io, log_line, &d) != 0) {
        return 1;
    }
    d.sup.data = &d;
    d.sup.idle = on_app_idle;
    d.sup.prefork = true; /* a spare shim: apps start without a fork */
    d.control.prog.data = &d;
    d.control.prog.app_effect = prog_app_effect;
    d.control.prog.ready = prog_ready;
    d.control.prog.app_json = prog_app_json;
    d.control.prog.draining = prog_draining;
    for (unsigned i = 0; i < d.cfg.node.io.n_apps; i++) {
        d.control.gname[i] = d.cfg.apps[i].gname;
    }
    if (lib_control_start(&d.control, &d.io, d.cfg.node.control_socket, err,
                             sizeof(err)) != 0) {
        log_line(&d, BATON_LOG_ERROR, err);
        return 1;
    }
    if (baton_io_start(&d.io) != 0) {
        lib_control_close(&d.control, on_closed);
        return 1;
    }
    snprintf(err, sizeof(err), "batond %s started (incarnation %llu, %u nodes)",
             d.cfg.node.self_name, (unsigned long long)d.cfg.node.io.inc,
             d.cfg.node.io.n_nodes);
    log_line(&d, BATON_LOG_INFO, err);
    uv_signal_init(d.loop, &d.sigterm);
    uv_signal_init(d.loop, &d.sigint);
    uv_signal_init(d.loop, &d.sighup);
    d.sigterm.data = d.sigint.data = d.sighup.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    uv_signal_start(&d.sighup, on_signal, SIGHUP);
    uv_timer_init(d.loop, &d.sync_timer);
    d.sync_timer.data = &d;
    if (d.syncing) {
        d.sync_started_ms = uv_now(d.loop);
        uv_timer_start(&d.sync_timer, on_sync_timer, 0, 20);
    }
    uv_run(d.loop, UV_RUN_DEFAULT);
    uv_loop_close(d.loop);
    return d.exit_code;
}
