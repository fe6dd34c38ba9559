/* batond: one baton node as a daemon (man batond(8)).
 *
 *   batond -c FILE            run
 *   batond --check -c FILE    validate FILE (and its cookie file), exit
 *   batond --version
 *
 * Logs go to stderr, one line per event: "<UTC time> <LEVEL> <text>", or
 * "<N>text" when stderr is the journal. Under systemd (Type=notify) it
 * says READY=1 once it joined the cluster, keeps STATUS= current, says
 * STOPPING=1 while draining and pings the watchdog (notify.h).
 * SIGTERM/SIGINT: clean shutdown: the apps here are handed over
 * (takeovers, with their state), then the links close (peers see them
 * go at once).
 * SIGHUP: logged and otherwise ignored; the configuration is read at
 * start only (docs/config.md). */
#include "../util/setup.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/lib.h"
#include "../util/error.h"
#include "config.h"
#include "notify.h"
#include "supervise.h"

/* batond is main() over one libbaton node (docs/design/lib.md §4): its
 * [app] sections come in through the config hook and become the node's
 * apps, whose callbacks are the supervisor. */
struct batond {
    uv_loop_t *loop;
    struct baton *node;
    struct batond_config cfg;
    struct lib_program prog;
    struct batond_sup sup;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t sync_timer;
    struct batond_notify notify;
    uv_check_t notify_check; /* after each loop turn: READY=, STATUS= */
    uv_timer_t watchdog;
    uint64_t sync_started_ms;
    bool syncing;
    bool shutting_down;
    bool journal; /* stderr is the journal: "<N>" prefixes */
    int exit_code;
};

static void log_line(void *data, int level, const char *text)
{
    /* syslog(3) levels of debug, info, warn, error */
    static const int prio[] = {7, 6, 4, 3};
    const struct batond *d = data;

    if (d != NULL && d->cfg.node != NULL && level < d->cfg.node->log_level) {
        return;
    }
    if (d != NULL && d->journal) {
        /* journald stamps the time and reads the level off the prefix */
        fprintf(stderr, "<%d>%s\n", prio[level & 3], text);
        return;
    }
    lib_log_stderr(NULL, level, text);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Behind the node's last app reports and exported state (one queue,
 * defer.h): then the node closes its links (peers see them go at once)
 * and the loop ends. */
static void close_node(void *ctx, struct lib_defer *w)
{
    struct batond *d = ctx;

    (void)w;
    baton_close(d->node, NULL, NULL);
}

/* Once every local app has stopped. */
static void on_drained(struct batond_sup *sup)
{
    struct batond *d = sup->data;
    struct lib_defer *w;

    uv_close((uv_handle_t *)&d->sigterm, on_closed);
    uv_close((uv_handle_t *)&d->sigint, on_closed);
    uv_close((uv_handle_t *)&d->sighup, on_closed);
    uv_close((uv_handle_t *)&d->sync_timer, on_closed);
    uv_close((uv_handle_t *)&d->notify_check, on_closed);
    uv_close((uv_handle_t *)&d->watchdog, on_closed);
    uv_close((uv_handle_t *)&d->sup.drain_timer, on_closed);
    for (unsigned i = 0; i < d->node->n_apps; i++) {
        uv_close((uv_handle_t *)&d->sup.procs[i].timer, on_closed);
        uv_close((uv_handle_t *)&d->sup.procs[i].export_timer, on_closed);
    }
    w = lib_defer_new(close_node, d, sizeof(*w), NULL, 0);
    if (w == NULL) {
        close_node(d, NULL);
        return;
    }
    lib_defer_push(&d->node->defers, w);
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
    snprintf(text, sizeof(text), "STOPPING=1\nSTATUS=draining (%s)", why);
    batond_notify_send(&d->notify, text);
    /* This node no longer takes apps: the coordinator moves them to the
     * next node as a takeover (the state exported here first), and the
     * instances here stop once moved, or past the hand-over's bound, so
     * none outlives its batond. */
    for (unsigned i = 0; i < d->node->n_apps; i++) {
        (void)baton_app_permit(&d->node->apps[i], false);
    }
    batond_sup_drain(&d->sup, on_drained);
    if (d->notify.fd >= 0) {
        /* systemd's stop timeout must cover the hand-over's bound and
         * then the slowest stop (stop_timeout, then SIGKILL), plus a
         * margin; past it systemd would SIGKILL everything. */
        uint64_t ms = d->sup.handover_ms + 5000;
        uint64_t slowest = 0;
        for (unsigned i = 0; i < d->node->n_apps; i++) {
            slowest = BATON_MAX(slowest, d->cfg.apps[i].stop_timeout_ms);
        }
        snprintf(text, sizeof(text), "EXTEND_TIMEOUT_USEC=%llu",
                 (unsigned long long)((ms + slowest) * 1000));
        batond_notify_send(&d->notify, text);
    }
}

static void on_app_idle(struct batond_sup *sup, unsigned app)
{
    struct batond *d = sup->data;

    if (d->node->control != NULL) {
        lib_control_app_idle(d->node->control, app);
    }
}

/* The program's side of the control socket (src/lib/control.h). An app
 * effect, after its name was re-pointed, goes to the node's apps: the
 * supervisor's callbacks. */
static void prog_app_effect(void *data, const struct baton_app_effect *e)
{
    struct batond *d = data;

    lib_on_app(&d->node->io, e);
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
    char health[32];

    cJSON_AddStringToObject(o, "here", batond_proc_state_name(p->state));
    cJSON_AddStringToObject(o, "health",
                            batond_proc_health(p, health, sizeof(health)));
    cJSON_AddNumberToObject(o, "pid", p->pid);
    cJSON_AddNumberToObject(o, "since_ms",
                            (double)(uv_now(d->loop) - p->since_ms));
}

static void on_app_hold(struct batond_sup *sup, unsigned app, int pgid)
{
    struct batond *d = sup->data;

    if (d->node->control != NULL) {
        lib_control_app_hold(d->node->control, app, pgid);
    }
}

static void on_app_address(struct batond_sup *sup, unsigned app,
                           const char *address)
{
    struct batond *d = sup->data;

    if (d->node->control != NULL) {
        lib_control_app_address(d->node->control, app, address);
    }
}

static unsigned on_app_unanswered(struct batond_sup *sup, unsigned app)
{
    struct batond *d = sup->data;

    return d->node->control != NULL
               ? lib_control_app_unanswered(d->node->control, app)
               : 0;
}

static void prog_drain(void *data)
{
    shutdown_(data, "batonctl drain", 0);
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
    const struct lib_config *c = d->cfg.node;
    uint64_t waited = uv_now(d->loop) - d->sync_started_ms;
    bool all = true;
    char missing[1024] = "";

    for (unsigned i = 0; i < c->io.n_nodes; i++) {
        if (i == c->io.self ||
            !(c->sync_mandatory[i] || c->sync_optional[i])) {
            continue;
        }
        if (!baton_io_link_up(&d->node->io, i)) {
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
        (void)baton_release_apps(d->node);
    }
}

/* After each turn of the loop: READY=1 once the node has joined (the
 * core's "synced": a coordinator welcomed it, or it heard every peer and
 * none coordinates, or its sync window passed; and batond's boot sync
 * is done), and STATUS= whenever role, coordinator or the number of
 * apps running here changed. Cheap: one short string per turn. */
static void on_notify_check(uv_check_t *h)
{
    struct batond *d = h->data;
    const struct baton_node *n = &d->node->io.node;
    unsigned coord = baton_node_coordinator(n);
    unsigned running = 0;
    char status[256];
    char msg[300];

    if (d->shutting_down) {
        return; /* STOPPING said so */
    }
    for (unsigned i = 0; i < d->node->n_apps; i++) {
        running += d->sup.procs[i].state == BATOND_PROC_READY;
    }
    snprintf(status, sizeof(status), "%s, coordinator %s, %u app%s running "
             "here",
             n->synced && !d->syncing ? baton_role_name(n->role) : "joining",
             coord < d->cfg.node->io.n_nodes ? d->cfg.node->io.names[coord]
                                             : "none",
             running, running == 1 ? "" : "s");
    if (!d->notify.ready && n->synced && !d->syncing) {
        d->notify.ready = true;
        snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
        batond_notify_send(&d->notify, msg);
        snprintf(d->notify.status, sizeof(d->notify.status), "%s", status);
    } else if (strcmp(status, d->notify.status) != 0) {
        snprintf(msg, sizeof(msg), "STATUS=%s", status);
        batond_notify_send(&d->notify, msg);
        snprintf(d->notify.status, sizeof(d->notify.status), "%s", status);
    }
}

/* WatchdogSec=: a ping every half period, as sd_watchdog_enabled(3)
 * advises, from the loop itself: a wedged loop stops the pings and
 * systemd restarts batond. And only while every local quorum instance's
 * lease is being renewed (quorum.md §4.4): one that outlives its lease
 * unrenewed, its stop and the kills failing, gets systemd's restart too,
 * a second self-fence. */
static void on_watchdog(uv_timer_t *t)
{
    struct batond *d = t->data;

    if (batond_sup_leases_renewed(&d->sup, uv_now(d->loop))) {
        batond_notify_send(&d->notify, "WATCHDOG=1");
    }
}

/* The Raft store failed (a full disk, an I/O error): the node may not
 * go on past a lost write (quorum.md §3); it drains and exits 1, and a
 * restart recovers what is durable. */
static void prog_store_failed(void *data, const char *why)
{
    (void)why; /* logged by the node */
    shutdown_(data, "raft store failed", 1);
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

static void usage(FILE *f)
{
    fprintf(f, "usage: batond [-c|--config FILE]\n"
               "       batond --check [-c|--config FILE]\n"
               "       batond --version | --help\n"
               "runs one baton node from FILE; --check validates FILE and "
               "its cookie file,\nprints every problem (file:line: key: "
               "what) and exits 1, or 0 if FILE is usable.\nSee batond(8) "
               "and baton.conf(5).\n");
}

/* Every line of err, as "batond: LINE". */
static void print_errors(const char *err)
{
    const char *c = err;

    while (*c != '\0') {
        size_t n = strcspn(c, "\n");
        fprintf(stderr, "batond: %.*s\n", (int)n, c);
        c += n + (c[n] == '\n');
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    static struct batond d; /* large (read buffers): not on the stack */
    static char err[16384]; /* --check: every problem of the file */
    const char *file = NULL;
    bool check = false;
    int ch;

    if (argc > 1 && strcmp(argv[1], "--shim") == 0) {
        batond_shim_main(argc, argv); /* an app's keeper: never returns */
    }
    while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            file = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("batond %s\n", BATON_VERSION_STRING);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (file == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (check) {
        static struct lib_config node;
        d.cfg.check_programs = true;
        if (batond_config_load(&d.cfg, &node, file, err, sizeof(err)) != 0) {
            print_errors(err);
            return 1;
        }
        printf("%s: OK: node %s, %u nodes, %u apps, control socket %s\n",
               file, node.self_name, node.io.n_nodes, node.io.n_apps,
               node.control_socket);
        return 0;
    }
    d.journal = batond_stderr_is_journal();
    (void)batond_notify_init(&d.notify);
    d.loop = uv_default_loop();
    d.prog.section = batond_config_section;
    d.prog.section_data = &d.cfg;
    {
        struct baton_options opt = {
            .config_file = file,
            .loop = d.loop,
            .log = log_line,
            .log_data = &d,
        };
        if (lib_node_new(&d.node, &opt, &d.prog, err, sizeof(err)) != 0) {
            print_errors(err);
            return 1;
        }
    }
    d.cfg.node = &d.node->cfg;
    if (lib_config_default_socket(d.cfg.node, err, sizeof(err)) != 0) {
        fprintf(stderr, "batond: %s\n", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (batond_sup_init(&d.sup, d.loop, &d.cfg, log_line, &d) != 0) {
        return 1;
    }
    d.sup.data = &d;
    d.sup.idle = on_app_idle;
    d.sup.hold = on_app_hold;
    d.sup.unanswered = on_app_unanswered;
    d.sup.address = on_app_address;
    d.sup.prefork = true; /* a spare shim: apps start without a fork */
    batond_sup_attach(&d.sup, d.node);
    d.prog.control.data = &d;
    d.prog.control.app_effect = prog_app_effect;
    d.prog.control.ready = prog_ready;
    d.prog.control.drain = prog_drain;
    d.prog.control.app_json = prog_app_json;
    d.prog.control.draining = prog_draining;
    d.prog.state_dir = d.sup.state_dir;
    d.prog.store_failed = prog_store_failed;
    for (unsigned i = 0; i < d.node->n_apps; i++) {
        d.prog.gname[i] = d.cfg.apps[i].gname;
        d.prog.address[i] = d.cfg.apps[i].address;
    }
    /* Boot sync (sync_nodes_*): no app is placed here until on_sync_timer
     * releases them. */
    d.syncing = d.cfg.node->sync_timeout_set;
    if (d.syncing) {
        (void)baton_hold_apps(d.node);
    }
    if (baton_start(d.node) != 0) {
        const char *why = baton_errmsg(d.node);
        if (strncmp(why, "baton_start: ", 13) == 0) {
            why += 13; /* batond's own words */
        }
        log_line(&d, BATON_LOG_ERROR, why);
        return 1;
    }
    snprintf(err, sizeof(err), "batond %s started (incarnation %llu, %u nodes)",
             d.cfg.node->self_name, (unsigned long long)d.cfg.node->io.inc,
             d.cfg.node->io.n_nodes);
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
    uv_check_init(d.loop, &d.notify_check);
    uv_timer_init(d.loop, &d.watchdog);
    d.notify_check.data = d.watchdog.data = &d;
    if (d.notify.fd >= 0) {
        uv_check_start(&d.notify_check, on_notify_check);
    }
    if (d.notify.watchdog_usec >= 2000) {
        uint64_t ms = d.notify.watchdog_usec / 2000;
        uv_timer_start(&d.watchdog, on_watchdog, ms, ms);
    }
    uv_run(d.loop, UV_RUN_DEFAULT);
    uv_loop_close(d.loop);
    return d.exit_code;
}
