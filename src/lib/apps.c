/* libbaton: apps and singletons as callbacks, on the core's app
 * machinery (docs/api.md "Apps", docs/design/apps.md). */
#include "../util/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib.h"

struct baton_app *lib_app_handle(struct baton *b,
                                 unsigned idx,
                                 uint8_t kind,
                                 const struct baton_app_callbacks *cbs,
                                 void *data)
{
    struct baton_app *app = &b->apps[idx];

    free(app->state); /* an index reused at run time: its last app's */
    memset(app, 0, sizeof(*app));
    /* Its counters are the new app's (labelled by its name) from 0. */
    b->metrics.failovers[idx] = 0;
    b->metrics.takeovers[idx] = 0;
    b->metrics.restarts[idx] = 0;
    b->metrics.monitor_failures[idx] = 0;
    app->b = b;
    app->idx = idx;
    app->kind = kind;
    app->cbs = cbs;
    app->data = data;
    return app;
}

static bool name_ok(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;

    return len != 0 && len <= BATON_APP_NAME_MAX &&
           strspn(name,
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.-") == len;
}

int lib_app_declare(struct baton *b, const char *name, const uint8_t *rank,
                    uint64_t failover_timeout_ms, uint8_t kind,
                    const struct baton_app_callbacks *cbs, void *data,
                    unsigned n_phases, struct baton_app **out)
{
    struct baton_app_config *ac;
    struct baton_app *app;

    if (b->started || b->closing) {
        return lib_fail(b, BATON_ESTATE,
                        "%s: singletons and groups are added before "
                        "baton_start (apps may be added later too)",
                        name ? name : "(null)");
    }
    if (!name_ok(name)) {
        return lib_fail(b, BATON_EINVAL,
                        "\"%.40s\": a name is 1-31 letters, digits, _ . -",
                        name ? name : "(null)");
    }
    for (unsigned i = 0; i < b->n_apps; i++) {
        if (strcmp(b->cfg.io.apps[i].name, name) == 0) {
            return lib_fail(b, BATON_EINVAL, "%s: added twice", name);
        }
    }
    if (b->n_apps == BATON_APPS_MAX) {
        return lib_fail(b, BATON_EFULL, "%s: at most %d apps, singletons "
                        "and groups", name, BATON_APPS_MAX);
    }
    ac = &b->cfg.io.apps[b->n_apps];
    memset(ac, 0, sizeof(*ac));
    snprintf(ac->name, sizeof(ac->name), "%s", name);
    memcpy(ac->rank, rank, sizeof(ac->rank));
    ac->failover_timeout_ms = failover_timeout_ms;
    app = lib_app_handle(b, b->n_apps, kind, cbs, data);
    app->n_phases = n_phases;
    b->n_apps++;
    b->cfg.io.n_apps = b->n_apps;
    if (out != NULL) {
        *out = app;
    }
    return 0;
}

int lib_app_slot(struct baton *b, const char *name, unsigned *idx, bool *fresh)
{
    const struct baton_node *n = &b->io.node;
    unsigned gone = BATON_APPS_MAX;

    for (unsigned i = 0; i < b->n_apps; i++) {
        if (strcmp(b->cfg.io.apps[i].name, name) == 0) {
            *idx = i;
            *fresh = baton_node_app_gone(n, i);
            return 0;
        }
        if (gone == BATON_APPS_MAX && baton_node_app_gone(n, i)) {
            gone = i;
        }
    }
    if (gone == BATON_APPS_MAX && b->n_apps == BATON_APPS_MAX) {
        return lib_fail(b, BATON_EFULL,
                        "%s: at most %d apps, singletons "
                        "and groups on a node (removed ones count until "
                        "their instance here is gone)",
                        name, BATON_APPS_MAX);
    }
    *idx = gone != BATON_APPS_MAX ? gone : b->n_apps;
    *fresh = true;
    return 0;
}

int lib_app_define(struct baton *b,
                   unsigned idx,
                   const struct baton_app_config *def)
{
    int rv = baton_io_app_define(&b->io, idx, def);

    if (rv != 0) {
        return lib_fail(b, rv,
                        "app %s: the node refused its definition "
                        "(defined twice, or a quorum app on a node started "
                        "without one)",
                        def->name);
    }
    b->cfg.io.apps[idx] = *def;
    b->cfg.io.n_apps = b->io.cfg.n_apps;
    b->n_apps = b->io.cfg.n_apps;
    return 0;
}

int lib_app_remove(struct baton *b, unsigned idx)
{
    if (!b->started || b->closing || idx >= b->n_apps) {
        return BATON_ESTATE;
    }
    return baton_io_request(&b->io, idx, BATON_REQ_UNDEFINE, 0);
}

int baton_app_remove(struct baton_app *app)
{
    struct baton *b = app->b;

    if (app->kind != LIB_APP) {
        return lib_fail(b, BATON_EINVAL,
                        "%s: only an app is removed, not "
                        "a singleton or group",
                        b->cfg.io.apps[app->idx].name);
    }
    return lib_app_remove(b, app->idx);
}

/* baton_app_add on a started node (docs/design/apps.md §1.1): the app
 * takes a free index and is defined in the core, which reports it to
 * the coordinator. */
static int add_running(struct baton *b,
                       const struct baton_app_config *def,
                       const struct baton_app_options *opt,
                       const struct baton_app_callbacks *cbs,
                       void *data,
                       struct baton_app **out)
{
    struct baton_app *app;
    unsigned idx;
    bool fresh;
    int rv = lib_app_slot(b, def->name, &idx, &fresh);

    if (rv != 0) {
        return rv;
    }
    if (!fresh) {
        return lib_fail(b, BATON_EINVAL,
                        "%s: added twice (or removed and "
                        "still stopping here)",
                        def->name);
    }
    app = lib_app_handle(b, idx, LIB_APP, cbs, data);
    app->n_phases = opt->n_phases;
    rv = lib_app_define(b, idx, def);
    if (rv == 0 && out != NULL) {
        *out = app;
    }
    return rv;
}

int baton_app_add(struct baton *b, const char *name,
                  const struct baton_app_options *opt,
                  const struct baton_app_callbacks *cbs, void *data,
                  struct baton_app **out)
{
    uint8_t rank[BATON_NODES_MAX];
    struct baton_app_config mode = {0};
    char err[256];
    int rv;

    if (opt == NULL || opt->nodes == NULL || cbs == NULL ||
        cbs->start == NULL || cbs->stop == NULL) {
        return lib_fail(b, BATON_EINVAL, "app %s: needs nodes and the "
                        "start and stop callbacks", name ? name : "(null)");
    }
    if (lib_config_priority(&b->cfg, name ? name : "?", opt->nodes, rank,
                              err, sizeof(err)) != 0) {
        return lib_fail(b, BATON_EINVAL, "%s", err);
    }
    /* The same checks and defaults as batond's [app] (one place). */
    snprintf(mode.name, sizeof(mode.name), "%.31s", name ? name : "?");
    mode.mode = opt->mode;
    mode.lease_ms = opt->lease_ms;
    mode.stop_margin_ms = opt->stop_margin_ms;
    if (opt->mode > BATON_MODE_QUORUM) {
        return lib_fail(b, BATON_EINVAL, "app %s: mode %u is not "
                        "BATON_MODE_AVAILABLE or BATON_MODE_QUORUM",
                        mode.name, (unsigned)opt->mode);
    }
    if (lib_config_app_mode(&b->cfg, &mode, err, sizeof(err)) != 0) {
        return lib_fail(b, BATON_EINVAL, "%s", err);
    }
    if (b->started && !b->closing && name_ok(name)) {
        memcpy(mode.rank, rank, sizeof(mode.rank));
        mode.failover_timeout_ms = opt->failover_timeout_ms;
        return add_running(b, &mode, opt, cbs, data, out);
    }
    rv = lib_app_declare(b, name, rank, opt->failover_timeout_ms, LIB_APP,
                         cbs, data, opt->n_phases, out);
    if (rv == 0) {
        struct baton_app_config *ac = &b->cfg.io.apps[b->n_apps - 1];
        ac->mode = mode.mode;
        ac->lease_ms = mode.lease_ms;
        ac->stop_margin_ms = mode.stop_margin_ms;
    }
    return rv;
}

_Static_assert((int)BATON_MODE_AVAILABLE == (int)BATON_APP_AVAILABLE &&
                   (int)BATON_MODE_QUORUM == (int)BATON_APP_QUORUM,
               "the public modes are the core's");
_Static_assert(sizeof(struct baton_app_options) == 56,
               "baton_app_options keeps its size (ABI)");

int baton_singleton_add(struct baton *b, const char *name,
                        const struct baton_app_callbacks *cbs, void *data,
                        struct baton_app **out)
{
    uint8_t rank[BATON_NODES_MAX] = {0};

    if (cbs == NULL || cbs->start == NULL || cbs->stop == NULL) {
        return lib_fail(b, BATON_EINVAL, "singleton %s: needs the start and "
                        "stop callbacks", name ? name : "(null)");
    }
    /* Every node, all of equal priority: never moves back (§2). */
    for (unsigned i = 0; i < b->cfg.io.n_nodes; i++) {
        rank[i] = b->cfg.witness[i] ? 0 : 1; /* a witness holds no app */
    }
    return lib_app_declare(b, name, rank, 0, LIB_SINGLETON, cbs, data, 0,
                           out);
}

void *baton_app_data(const struct baton_app *app)
{
    return app->data;
}

struct baton *baton_app_node(const struct baton_app *app)
{
    return app->b;
}

/* A deferred app event or export reaches the core. */
static void run_deferred(void *ctx, struct lib_defer *w)
{
    struct baton *b = ctx;
    const struct lib_deferred *d = (const struct lib_deferred *)w;

    if (b->closing || !b->started) {
        return;
    }
    if (d->kind == 1) {
        (void)baton_io_app_event(&b->io, d->app, d->what, d->epoch);
    } else {
        (void)baton_io_exported(&b->io, d->app, d->epoch, d->ok,
                                d->d.len > 0 ? d->d.bytes : NULL, d->d.len);
    }
}

/* Queues d's work for the core (defer.h); a copy of data goes with it. */
static void defer_app(struct baton *b, const struct lib_deferred *d,
                      const void *data, uint32_t len)
{
    struct lib_deferred *w = (struct lib_deferred *)lib_defer_new(
        run_deferred, b, sizeof(*w), data, len);

    if (w == NULL) {
        lib_logf(b, BATON_LOG_ERROR, "app %s: out of memory: its %s is "
                 "lost", b->cfg.io.apps[d->app].name,
                 d->kind == 1 ? "event" : "exported state");
        return;
    }
    w->kind = d->kind;
    w->app = d->app;
    w->what = d->what;
    w->ok = d->ok;
    w->epoch = d->epoch;
    lib_defer_push(&b->defers, &w->d);
}

static void report(struct baton *b, struct baton_app *app, unsigned what,
                   uint64_t epoch)
{
    struct lib_deferred d;

    memset(&d, 0, sizeof(d));
    d.kind = 1;
    d.app = (uint8_t)app->idx;
    d.what = (uint8_t)what;
    d.epoch = epoch;
    defer_app(b, &d, NULL, 0);
}

int baton_app_exit(struct baton_app *app, bool failed)
{
    struct baton *b = app->b;

    if (!app->running) {
        return lib_fail(b, BATON_ESTATE, "%s: not running here",
                        b->cfg.io.apps[app->idx].name);
    }
    app->running = false;
    report(b, app, failed ? BATON_APP_EV_FAILED : BATON_APP_EV_EXITED,
           app->epoch);
    return 0;
}

int baton_app_takeover(struct baton_app *app)
{
    struct baton *b = app->b;

    if (!b->started || b->closing) {
        return BATON_ESTATE;
    }
    return baton_io_request(&b->io, app->idx, BATON_REQ_TAKEOVER, 0);
}

int baton_app_permit(struct baton_app *app, bool permit)
{
    struct baton *b = app->b;

    if (!b->started || b->closing) {
        return BATON_ESTATE;
    }
    return baton_io_request(&b->io, app->idx, BATON_REQ_PERMIT, permit);
}

const char *baton_app_where(const struct baton_app *app, uint64_t *epoch)
{
    const struct baton *b = app->b;
    const struct baton_state *st = &b->io.node.state;
    int k;

    if (epoch != NULL) {
        *epoch = 0;
    }
    if (!b->started) {
        return "";
    }
    k = baton_state_app_find(st, b->cfg.io.apps[app->idx].name);
    if (k < 0 || st->apps[k].owner == BATON_NODE_NONE ||
        (st->apps[k].status != BATON_APP_RUNNING &&
         st->apps[k].status != BATON_APP_STARTING &&
         st->apps[k].status != BATON_APP_TAKEOVER)) {
        return "";
    }
    if (epoch != NULL) {
        *epoch = st->apps[k].epoch;
    }
    return lib_node_name(b, st->apps[k].owner);
}

/* Why the core stops our instance (node.h: STOP carries the app's
 * status and owner now). */
static int stop_reason(const struct baton *b, const struct baton_app_effect *e)
{
    if (b->closing) {
        return BATON_STOP_SHUTDOWN;
    }
    if (e->ok) {
        return BATON_STOP_MOVED; /* the core says: moved on purpose */
    }
    if (e->why == BATON_STOPFX_CONFLICT) {
        return BATON_STOP_CONFLICT; /* the other side's instance stays */
    }
    switch (e->type) {
    case BATON_APP_TAKEOVER:
        return BATON_STOP_MOVED;
    case BATON_APP_STARTING:
    case BATON_APP_RUNNING:
    case BATON_APP_WAITING:
        /* Placed elsewhere while we still ran it: we lived apart. */
        return e->from == b->cfg.io.self ? BATON_STOP_MOVED
                                         : BATON_STOP_CONFLICT;
    case BATON_APP_FAILED:
        return BATON_STOP_FAILED;
    default:
        return BATON_STOP_ENDED;
    }
}

/* The instance of app->epoch started (status 0) or not: its start
 * phases, then READY or FAILED to the core. */
static void started(struct baton *b, struct baton_app *app, int status)
{
    for (unsigned k = 0; status == 0 && k < app->n_phases; k++) {
        if (app->cbs->start_phase != NULL) {
            status = app->cbs->start_phase(app, k);
        }
    }
    if (status != 0) {
        lib_logf(b, BATON_LOG_WARN, "app %s: start failed: %s",
                 b->cfg.io.apps[app->idx].name, baton_strerror(status));
        report(b, app, BATON_APP_EV_FAILED, app->epoch);
        return;
    }
    app->running = true;
    report(b, app, BATON_APP_EV_READY, app->epoch);
}

static void start(struct baton *b, struct baton_app *app,
                  const struct baton_app_effect *e)
{
    const struct baton_app_callbacks *cbs = app->cbs;
    const char *from = e->from == BATON_NODE_NONE ? NULL
                                                   : lib_node_name(b, e->from);
    int rv;

    app->epoch = e->epoch; /* the import's too (batond names its file) */
    if (e->with_state && app->state_epoch == e->epoch &&
        cbs->import_state != NULL) {
        cbs->import_state(app, app->state, app->state_len);
    }
    free(app->state);
    app->state = NULL;
    app->state_len = 0;
    /* Pending already inside start: an instance that is ready before
     * start returns BATON_EAGAIN may say so from there (batond's
     * ready = spawn). */
    app->start_pending = true;
    rv = cbs->start(app, e->type, from, e->epoch);
    if (rv == BATON_EAGAIN) { /* baton_app_started() finishes it */
        return;
    }
    app->start_pending = false;
    started(b, app, rv);
}

int baton_app_started(struct baton_app *app, int status)
{
    struct baton *b = app->b;

    if (!app->start_pending || b->closing) {
        return lib_fail(b, BATON_ESTATE, "%s: no start waits",
                        b->cfg.io.apps[app->idx].name);
    }
    app->start_pending = false;
    started(b, app, status);
    return 0;
}

static void stop(struct baton *b, struct baton_app *app, int reason,
                 const char *to)
{
    if (app->supervised) {
        /* Its supervisor stops the process and reports when it is gone
         * (lib_app_event): the core must not start the next instance
         * while this one still runs. */
        app->running = false;
        app->start_pending = false;
        app->cbs->stop(app, reason, to);
        return;
    }
    /* A start still under way (BATON_EAGAIN) is stopped too: its late
     * baton_app_started() then gets BATON_ESTATE. */
    if (app->running || app->start_pending) {
        app->running = false;
        app->start_pending = false;
        if (app->cbs->prep_stop != NULL) {
            app->cbs->prep_stop(app, reason);
        }
        app->cbs->stop(app, reason, to);
    }
    if (!b->closing) {
        report(b, app, BATON_APP_EV_STOPPED, app->epoch);
    }
}

/* The export's result (status 0 with data, or an error) to the core. */
static void exported(struct baton *b, struct baton_app *app,
                     struct lib_deferred *d, int status, const void *data,
                     size_t len)
{
    if (status == 0 && len > BATON_CALL_DATA_MAX) {
        lib_logf(b, BATON_LOG_WARN, "app %s: exported state of %zu bytes "
                 "is over %u: starting the new instance without it",
                 b->cfg.io.apps[app->idx].name, len,
                 (unsigned)BATON_CALL_DATA_MAX);
        status = BATON_ERANGE;
    }
    d->ok = status == 0;
    defer_app(b, d, data, status == 0 ? (uint32_t)len : 0);
}

static void export_state(struct baton *b, struct baton_app *app,
                         const struct baton_app_effect *e)
{
    struct lib_deferred d;
    void *data = NULL;
    size_t len = 0;
    int rv = BATON_EINVAL;

    memset(&d, 0, sizeof(d));
    d.kind = 2;
    d.app = (uint8_t)app->idx;
    d.epoch = e->epoch;
    if ((app->running || app->supervised) &&
        app->cbs->export_state != NULL) {
        rv = app->cbs->export_state(app, &data, &len);
    }
    if (rv == BATON_EAGAIN) { /* baton_app_exported() gives it later */
        free(data);
        app->export_pending = true;
        app->export_epoch = e->epoch;
        return;
    }
    exported(b, app, &d, rv, data, len);
    free(data);
}

int baton_app_exported(struct baton_app *app, int status, const void *data,
                       size_t len)
{
    struct baton *b = app->b;
    struct lib_deferred d;

    if (!app->export_pending) {
        return lib_fail(b, BATON_ESTATE, "%s: no export asked for",
                        b->cfg.io.apps[app->idx].name);
    }
    if (status == 0 && data == NULL && len != 0) {
        return lib_fail(b, BATON_EINVAL, "%s: exported: no data",
                        b->cfg.io.apps[app->idx].name);
    }
    app->export_pending = false;
    memset(&d, 0, sizeof(d));
    d.kind = 2;
    d.app = (uint8_t)app->idx;
    d.epoch = app->export_epoch;
    exported(b, app, &d, status, data, len);
    return 0;
}

void lib_on_app(struct baton_io *io, const struct baton_app_effect *e)
{
    struct baton *b = io->data;
    struct baton_app *app;

    if (e->app >= b->n_apps) {
        return;
    }
    app = &b->apps[e->app];
    switch (e->action) {
    case BATON_APP_START:
        start(b, app, e);
        break;
    case BATON_APP_STOP:
        stop(b, app, stop_reason(b, e),
             (e->ok || e->type == BATON_APP_TAKEOVER) &&
                     e->from != BATON_NODE_NONE
                 ? lib_node_name(b, e->from)
                 : NULL);
        break;
    case BATON_APP_EXPORT:
        export_state(b, app, e);
        break;
    case BATON_APP_TOKEN:
        if (app->supervised) { /* its supervisor knows its instance */
            if (app->cbs->token != NULL) {
                app->cbs->token(app, e->epoch);
            }
            break;
        }
        /* The instance goes on under a higher token (apps.md §4); the
         * core still takes our events under its start token. */
        if (!app->running || e->epoch <= app->epoch) {
            break;
        }
        app->epoch = e->epoch;
        if (app->group != NULL) {
            lib_group_token(app->group, e->epoch);
        } else if (app->cbs->token != NULL) {
            app->cbs->token(app, e->epoch);
        }
        break;
    case BATON_APP_KILL:
        if (app->supervised) {
            if (app->fence != NULL) {
                app->fence->kill(app);
            }
            break;
        }
        /* A callback app's stop callback ran at the STOP: by its
         * contract the instance was gone when it returned, and code in
         * this process cannot be killed (core.md §8 "Self-fencing").
         * Only the end's report was late (a loop that was frozen). */
        lib_logf(b, BATON_LOG_WARN,
                 "app %s: lease ended before its stop was reported",
                 b->cfg.io.apps[app->idx].name);
        if (app->running || app->start_pending) {
            stop(b, app, BATON_STOP_ENDED, NULL);
        }
        break;
    case BATON_APP_LEASE:
        if (app->supervised && app->fence != NULL) {
            app->fence->lease(app, e->until_ms);
        }
        break;
    case BATON_APP_STATE:
        free(app->state);
        app->state = NULL;
        app->state_len = 0;
        app->state_epoch = e->epoch;
        if (e->ok && e->len > 0) {
            app->state = malloc(e->len);
            if (app->state != NULL) {
                memcpy(app->state, e->data, e->len);
                app->state_len = e->len;
            }
        }
        break;
    default:
        break;
    }
}

void lib_apps_shutdown(struct baton *b)
{
    for (unsigned i = 0; i < b->n_apps; i++) {
        struct baton_app *app = &b->apps[i];
        if (app->running && app->kind != LIB_GROUP) {
            stop(b, app, BATON_STOP_SHUTDOWN, NULL);
        }
    }
}

void lib_apps_adopt(struct baton *b, const struct baton_app_callbacks *cbs,
                    void *const *data)
{
    for (unsigned i = 0; i < b->cfg.io.n_apps; i++) {
        lib_app_handle(b, i, LIB_APP, cbs, data[i])->supervised = true;
    }
    b->n_apps = b->cfg.io.n_apps;
}

void lib_apps_fence(struct baton *b, const struct lib_fence *fence)
{
    for (unsigned i = 0; i < b->n_apps; i++) {
        if (b->apps[i].supervised) {
            b->apps[i].fence = fence;
        }
    }
}

void lib_app_event(struct baton_app *app, unsigned what, uint64_t epoch)
{
    app->running = what == BATON_APP_EV_READY;
    lib_metrics_app_event(app->b, app->idx, what); /* READY: a restart */
    app->start_pending = false;
    report(app->b, app, what, epoch);
}

/* ---- operator settings, persisted (docs/design/apps.md §7) ------------ */

/* The file is text, one setting a line, nodes and apps by name (so it
 * survives a reordered [nodes]):
 *   app NAME disabled 0|1 pin NODE|- version N
 *   standby NODE 0|1 version N
 *   permit APP false
 * The node rewrites it whole on every change: a temporary file, fsync,
 * rename, fsync of the directory (a crash leaves the old or the new). */
static int node_by_name(const struct baton *b, const char *name)
{
    for (unsigned x = 0; x < b->cfg.io.n_nodes; x++) {
        if (strcmp(b->cfg.io.names[x], name) == 0) {
            return (int)x;
        }
    }
    return -1;
}

static bool settings_line(struct baton *b, const char *line)
{
    char name[64], node[BATON_NAME_MAX + 1], word[16];
    unsigned on;
    uint64_t ver;
    struct baton_settings *s = &b->settings_loaded;

    if (sscanf(line, "app %63s disabled %u pin %255s version %" SCNu64, name,
               &on, node, &ver) == 4) {
        int x = strcmp(node, "-") == 0 ? (int)BATON_NODE_NONE
                                       : node_by_name(b, node);
        if (strlen(name) > BATON_APP_NAME_MAX || on > 1 || x < 0) {
            return false;
        }
        for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
            if (s->app[i].name[0] == '\0') {
                snprintf(s->app[i].name, sizeof(s->app[i].name), "%s", name);
                s->app[i].disabled = (uint8_t)on;
                s->app[i].pin = (uint8_t)x;
                s->app[i].ver = ver;
                return baton_settings_app(s, name) == &s->app[i];
            }
        }
        return false;
    }
    if (sscanf(line, "standby %255s %u version %" SCNu64, node, &on, &ver) ==
        3) {
        int x = node_by_name(b, node);
        if (x < 0 || on > 1 || ver == 0) {
            return false;
        }
        s->standby[x] = (uint8_t)on;
        s->standby_ver[x] = ver;
        return true;
    }
    if (sscanf(line, "permit %63s %15s", name, word) == 2 &&
        strcmp(word, "false") == 0) {
        for (unsigned i = 0; i < b->cfg.io.n_apps; i++) {
            if (strcmp(b->cfg.io.apps[i].name, name) == 0) {
                b->cfg.io.apps[i].permit_off = 1;
            }
        }
        return true; /* an app not defined here any more: forgotten */
    }
    return false;
}

/* The settings file, if it is this user's own and nobody else may
 * write it (and not a link): settings spread cluster-wide, so a file
 * planted in a shared directory (/tmp) must not feed them. NULL with
 * errno (EPERM for a file that is not our own). */
static FILE *open_own(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    FILE *f;

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
        close(fd);
        errno = EPERM;
        return NULL;
    }
    f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
    }
    return f;
}

/* A new file at path, never through a link an other user planted. */
static FILE *create_own(const char *path)
{
    int fd;
    FILE *f;

    (void)unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              0600);
    if (fd < 0) {
        return NULL;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
    }
    return f;
}

void lib_settings_load(struct baton *b)
{
    const char *dir = b->program != NULL && b->program->state_dir != NULL
                          ? b->program->state_dir
                          : b->cfg.state_dir;
    char line[512];
    unsigned n = 0;
    FILE *f;

    memset(&b->settings_loaded, 0, sizeof(b->settings_loaded));
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        b->settings_loaded.app[i].pin = BATON_NODE_NONE;
    }
    b->cfg.io.settings = NULL;
    if (dir[0] == '\0' ||
        (size_t)snprintf(b->settings_file, sizeof(b->settings_file),
                         "%s/settings", dir) >= sizeof(b->settings_file)) {
        b->settings_file[0] = '\0';
        return;
    }
    f = open_own(b->settings_file);
    if (f == NULL) {
        if (errno != ENOENT) {
            lib_logf(b, BATON_LOG_WARN, "settings %s: %s: starting without",
                     b->settings_file, strerror(errno));
        }
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        n++;
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        if (!settings_line(b, line)) {
            line[strcspn(line, "\n")] = '\0';
            lib_logf(b, BATON_LOG_WARN, "settings %s:%u: ignored: %.200s",
                     b->settings_file, n, line);
        }
    }
    fclose(f);
    if (baton_settings_validate(&b->settings_loaded, b->cfg.io.n_nodes) != 0) {
        lib_logf(b, BATON_LOG_WARN,
                 "settings %s: inconsistent: starting without",
                 b->settings_file);
        return;
    }
    b->cfg.io.settings = &b->settings_loaded;
    lib_logf(b, BATON_LOG_DEBUG, "settings %s loaded", b->settings_file);
}

/* Makes dir and its missing parents (0711, as batond's state_dir). */
static void make_parents(char *dir)
{
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            (void)mkdir(dir, 0755);
            *p = '/';
        }
    }
    (void)mkdir(dir, 0711);
}

static int write_settings(struct baton *b, FILE *f)
{
    const struct baton_node *n = &b->io.node;
    const struct baton_settings *s = &n->settings;

    fprintf(f,
            "# baton operator settings (docs/config.md): written by this "
            "node, read at its start\n");
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        const struct baton_app_setting *a = &s->app[i];
        if (a->name[0] != '\0') {
            fprintf(f, "app %s disabled %u pin %s version %" PRIu64 "\n",
                    a->name, a->disabled,
                    a->pin < b->cfg.io.n_nodes ? b->cfg.io.names[a->pin] : "-",
                    a->ver);
        }
    }
    for (unsigned x = 0; x < b->cfg.io.n_nodes; x++) {
        if (s->standby_ver[x] != 0) {
            fprintf(f, "standby %s %u version %" PRIu64 "\n",
                    b->cfg.io.names[x], s->standby[x], s->standby_ver[x]);
        }
    }
    for (unsigned i = 0; i < b->cfg.io.n_apps; i++) {
        if (!n->local[i].permit) {
            fprintf(f, "permit %s false\n", b->cfg.io.apps[i].name);
        }
    }
    return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
}

void lib_settings_save(struct baton *b)
{
    char tmp[BATON_PATH_MAX + 8];
    char dir[BATON_PATH_MAX];
    const char *why = NULL;
    FILE *f;
    int fd;

    if (b->settings_file[0] == '\0') {
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", b->settings_file);
    snprintf(dir, sizeof(dir), "%s", b->settings_file);
    if (strrchr(dir, '/') != NULL) {
        *strrchr(dir, '/') = '\0';
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    f = create_own(tmp);
    if (f == NULL && errno == ENOENT && dir[0] != '\0') {
        make_parents(dir);
        f = create_own(tmp);
    }
    if (f == NULL) {
        why = strerror(errno);
    } else if (write_settings(b, f) != 0) {
        why = strerror(errno);
        fclose(f);
    } else if (fclose(f) != 0 || rename(tmp, b->settings_file) != 0) {
        why = strerror(errno);
    }
    if (why != NULL) {
        lib_logf(b, BATON_LOG_ERROR,
                 "settings %s: %s: not persisted (a restart forgets them)",
                 b->settings_file, why);
        (void)unlink(tmp);
        return;
    }
    lib_logf(b, BATON_LOG_DEBUG, "settings %s written", b->settings_file);
    fd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* the rename itself */
        close(fd);
    }
}

void lib_on_settings(struct baton_io *io, const struct baton_settings *s)
{
    (void)s; /* the node's own, written whole */
    lib_settings_save(io->data);
}

void lib_on_admin(struct baton_io *io, const struct baton_admin_reply *r)
{
    struct baton *b = io->data;

    if (b->control != NULL) {
        lib_control_admin_effect(b->control, r);
    }
}
