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
 * SIGHUP (or batonctl reload): re-reads FILE; its [app] sections are
 * applied at run time, and a broken file or a change that needs a
 * restart changes nothing (docs/config.md "Reload"). */
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
    const char *file; /* the config file, read again on a reload */
    /* A reload changed app i's commands while its instance ran here: the
     * new ones apply from its next start, once that instance is gone. */
    struct batond_app pending[BATON_APPS_MAX];
    bool pending_set[BATON_APPS_MAX];
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

    if (d->pending_set[app]) {
        /* A reload's new commands: from this app's next start on. */
        d->cfg.apps[app] = d->pending[app];
        d->pending_set[app] = false;
    }

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

/* ---- reload (SIGHUP, batonctl reload: docs/config.md "Reload") ------ */

static void add_word(char *list, size_t len, const char *word)
{
    size_t used = strlen(list);

    snprintf(list + used, len - used, "%s%s", used ? ", " : "", word);
}

/* Does a reload leave app i alone? Removed here earlier (and not in the
 * file again), or in the file again. */
static bool removed_here(const struct batond *d, unsigned i)
{
    return d->node->io.node.local[i].removed;
}

/* The running app named name (not removed here), or -1. */
static int running_app(const struct batond *d, const char *name)
{
    const struct baton_io_config *io = &d->node->cfg.io;

    for (unsigned i = 0; i < io->n_apps; i++) {
        if (!removed_here(d, i) && strcmp(io->apps[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* What a reload would refuse in the new file nc/nn, all of it in why:
 * changes that take a restart. 0 if none. */
static int reload_refusals(const struct batond *d,
                           const struct batond_config *nc,
                           const struct lib_config *nn,
                           char *why,
                           size_t len)
{
    const struct baton_io_config *io = &d->node->cfg.io;
    char what[512];
    unsigned free_slots = BATON_APPS_MAX - io->n_apps;
    unsigned added = 0;
    int n = 0;

    why[0] = '\0';
    if (batond_config_node_changes(&d->node->cfg, nn, what, sizeof(what)) > 0) {
        n += snprintf(why + strlen(why), len - strlen(why),
                      "%s changed: that takes a restart of batond\n", what) > 0;
    }
    for (unsigned i = 0; i < io->n_apps; i++) {
        free_slots += baton_node_app_gone(&d->node->io.node, i);
    }
    for (unsigned j = 0; j < nn->io.n_apps; j++) {
        const struct baton_app_config *na = &nn->io.apps[j];
        int i = running_app(d, na->name);
        if (i < 0) {
            added++;
            if (na->mode == BATON_APP_QUORUM) {
                n += snprintf(why + strlen(why), len - strlen(why),
                              "[app %s] is new in quorum mode: that takes a "
                              "restart of batond (the Raft group is made at "
                              "start)\n",
                              na->name) > 0;
            }
            continue;
        }
        if (na->mode == BATON_APP_QUORUM &&
            (memcmp(io->apps[i].rank, na->rank, sizeof(na->rank)) != 0 ||
             io->apps[i].failover_timeout_ms != na->failover_timeout_ms)) {
            n += snprintf(why + strlen(why), len - strlen(why),
                          "[app %s] is a quorum app: changing its nodes or "
                          "failover_timeout takes a restart of batond\n",
                          na->name) > 0;
        }
        if (io->apps[i].mode != na->mode ||
            io->apps[i].lease_ms != na->lease_ms ||
            io->apps[i].stop_margin_ms != na->stop_margin_ms) {
            n += snprintf(why + strlen(why), len - strlen(why),
                          "[app %s] mode, lease_ms or stop_margin_ms "
                          "changed: that takes a restart of batond on every "
                          "node\n",
                          na->name) > 0;
        }
        if (strcmp(d->cfg.apps[i].gname, nc->apps[j].gname) != 0) {
            n += snprintf(why + strlen(why), len - strlen(why),
                          "[app %s] name changed: remove the app (reload), "
                          "then add it again\n",
                          na->name) > 0;
        }
    }
    for (unsigned i = 0; i < io->n_apps; i++) {
        bool kept = false;
        for (unsigned j = 0; j < nn->io.n_apps && !kept; j++) {
            kept = strcmp(nn->io.apps[j].name, io->apps[i].name) == 0;
        }
        if (!kept && !removed_here(d, i) &&
            io->apps[i].mode == BATON_APP_QUORUM) {
            n += snprintf(why + strlen(why), len - strlen(why),
                          "[app %s] is a quorum app: removing it takes a "
                          "restart of batond\n",
                          io->apps[i].name) > 0;
        }
    }
    if (added > free_slots) {
        n += snprintf(why + strlen(why), len - strlen(why),
                      "%u new apps, room for %u (at most %d on a node; a "
                      "removed app's room is free once its instance here is "
                      "gone)\n",
                      added, free_slots, BATON_APPS_MAX) > 0;
    }
    if (n > 0 && why[0] != '\0') {
        why[strlen(why) - 1] = '\0'; /* the last newline */
    }
    return n;
}

/* Re-reads the config file and applies its [app] sections (docs/
 * config.md "Reload"): 0 with what changed in text, or an error with
 * why nothing did. The same checks as batond --check. */
static int reload(struct batond *d, char *text, size_t len)
{
    static struct lib_config nn;
    static struct batond_config nc;
    static char err[16384];
    struct baton *b = d->node;
    const struct baton_io_config *io = &b->cfg.io;
    char added[512] = "";
    char removed[512] = "";
    char changed[1024] = "";
    char failed[1024] = "";
    bool keep[BATON_APPS_MAX] = {false};

    if (d->shutting_down) {
        snprintf(text, len, "not reloaded: batond is stopping");
        return BATON_ESTATE;
    }
    memset(&nn, 0, sizeof(nn));
    memset(&nc, 0, sizeof(nc));
    nc.check_programs = true;
    if (batond_config_load(&nc, &nn, d->file, err, sizeof(err)) != 0) {
        snprintf(text, len, "not reloaded, nothing changed: %s", err);
        return BATON_EINVAL;
    }
    if (reload_refusals(d, &nc, &nn, err, sizeof(err)) != 0) {
        snprintf(text, len, "not reloaded, nothing changed: %s: %s", d->file,
                 err);
        return BATON_EINVAL;
    }
    b->cfg.log_level = nn.log_level; /* the one node key a reload sets */
    for (unsigned j = 0; j < nn.io.n_apps; j++) {
        const struct baton_app_config *na = &nn.io.apps[j];
        int i = running_app(d, na->name);
        unsigned idx;
        bool fresh;
        if (i >= 0) {
            bool agreed =
                memcmp(io->apps[i].rank, na->rank, sizeof(na->rank)) != 0 ||
                io->apps[i].failover_timeout_ms != na->failover_timeout_ms;
            bool cmds =
                memcmp(&d->cfg.apps[i], &nc.apps[j], sizeof(nc.apps[j])) != 0;
            char word[160];
            keep[i] = true;
            if (agreed && lib_app_define(b, (unsigned)i, na) != 0) {
                add_word(failed, sizeof(failed), baton_errmsg(b));
                continue;
            }
            if (cmds) {
                if (d->sup.procs[i].state == BATOND_PROC_IDLE) {
                    d->cfg.apps[i] = nc.apps[j];
                    d->pending_set[i] = false;
                } else {
                    d->pending[i] = nc.apps[j];
                    d->pending_set[i] = true;
                }
            }
            if (agreed || cmds) {
                snprintf(word, sizeof(word), "%s (%s%s%s)", na->name,
                         cmds ? "next start" : "", cmds && agreed ? "; " : "",
                         agreed ? "nodes/failover_timeout: once every node "
                                  "agrees"
                                : "");
                add_word(changed, sizeof(changed), word);
            }
            continue;
        }
        if (lib_app_slot(b, na->name, &idx, &fresh) != 0 ||
            (fresh && batond_sup_add(&d->sup, b, idx) != 0)) {
            add_word(failed, sizeof(failed), na->name);
            continue;
        }
        if (!fresh || d->sup.procs[idx].state != BATOND_PROC_IDLE) {
            /* removed earlier, its instance still stopping here */
            d->pending[idx] = nc.apps[j];
            d->pending_set[idx] = true;
        } else {
            d->cfg.apps[idx] = nc.apps[j];
            d->pending_set[idx] = false;
        }
        if (lib_app_define(b, idx, na) != 0) {
            add_word(failed, sizeof(failed), baton_errmsg(b));
            continue;
        }
        keep[idx] = true;
        add_word(added, sizeof(added), na->name);
    }
    for (unsigned i = 0; i < io->n_apps; i++) {
        if (!keep[i] && !removed_here(d, i)) {
            (void)lib_app_remove(b, i);
            d->pending_set[i] = false;
            add_word(removed, sizeof(removed), io->apps[i].name);
        }
    }
    snprintf(text, len, "%s%s%s%s%s%s%s%s%s%s%s", added[0] ? "added " : "",
             added, added[0] && (removed[0] || changed[0]) ? "; " : "",
             removed[0] ? "removed " : "", removed,
             removed[0] && changed[0] ? "; " : "", changed[0] ? "changed " : "",
             changed,
             failed[0] && (added[0] || removed[0] || changed[0]) ? "; " : "",
             failed[0] ? "failed: " : "", failed);
    if (text[0] == '\0') {
        snprintf(text, len, "no change");
    }
    return 0;
}

static int prog_reload(void *data, char *text, size_t len)
{
    struct batond *d = data;
    int rv = reload(d, text, len);

    char line[600];

    /* a line each (the file's errors come one per line) */
    for (const char *c = text; *c != '\0';) {
        size_t n = strcspn(c, "\n");
        snprintf(line, sizeof(line), "reload: %.*s", (int)BATON_MIN(n, 580), c);
        log_line(d, rv == 0 ? BATON_LOG_INFO : BATON_LOG_ERROR, line);
        c += n + (c[n] == '\n');
    }
    return rv;
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct batond *d = s->data;

    if (signum == SIGHUP) {
        static char text[16384];
        (void)prog_reload(d, text, sizeof(text));
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
    /* The member list is kept in the state_dir too, the default one
     * included (docs/design/membership.md §5). */
    if (d.node->cfg.state_dir[0] == '\0') {
        snprintf(d.node->cfg.state_dir, sizeof(d.node->cfg.state_dir), "%s",
                 d.sup.state_dir);
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
    d.prog.control.reload = prog_reload;
    d.file = file;
    /* Every index: a reload may define an app at any of them. */
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
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
