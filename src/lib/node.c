/* libbaton: the node's life - make, start, run, close (docs/api.md). */
#include "../util/setup.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/assert.h"
#include "lib.h"

/* ---- logging and errors ----------------------------------------------- */

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void lib_log_stderr(void *data, int level, const char *text)
{
    struct timespec ts;
    struct tm tm;
    char when[32];

    (void)data;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%06ldZ %s %s\n", when, ts.tv_nsec / 1000,
            level_names[level & 3], text);
}

/* The driver's log lines, filtered by the node's level. */
static void log_io(void *data, int level, const char *text)
{
    struct baton *b = data;

    if (level >= b->log_level) {
        b->log(b->log_data, level, text);
    }
}

void lib_logf(struct baton *b, int level, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    if (level < b->log_level) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    b->log(b->log_data, level, text);
}

int lib_fail(struct baton *b, int rv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(b->errmsg, sizeof(b->errmsg), fmt, ap);
    va_end(ap);
    return rv;
}

uint64_t lib_now(const struct baton *b)
{
    return uv_now(b->loop);
}

const char *lib_node_name(const struct baton *b, unsigned id)
{
    return id < b->cfg.io.n_nodes ? b->cfg.io.names[id] : NULL;
}

int lib_node_id(const struct baton *b, const char *name)
{
    for (unsigned i = 0; i < b->cfg.io.n_nodes; i++) {
        if (strcmp(b->cfg.io.names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

bool lib_alive(const struct baton *b, unsigned id)
{
    if (id == b->cfg.io.self) {
        return true;
    }
    return id < b->cfg.io.n_nodes && b->io.node.peers[id].alive;
}

/* ---- the loop's hooks ------------------------------------------------- */

/* After every loop turn: groups look at what changed (a new leader, a
 * lost node). Calls whose holder's node was lost are failed by the core
 * (docs/design/names.md §5): BATON_EUNREACHABLE reaches the caller as
 * any answer does. */
static void on_check(uv_check_t *h)
{
    struct baton *b = h->data;

    if (b->started && !b->closing) {
        lib_groups_observe(b);
        lib_events_observe(b);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct baton *b = t->data;

    if (b->started && !b->closing) {
        lib_groups_observe(b);
    }
}

/* ---- public: life ----------------------------------------------------- */

int baton_hold_apps(struct baton *b)
{
    if (b->started || b->closing) {
        return lib_fail(b, BATON_ESTATE, "baton_hold_apps: after start");
    }
    b->hold_apps = true;
    return 0;
}

int baton_release_apps(struct baton *b)
{
    int rv;

    if (!b->started || b->closing || !b->hold_apps) {
        return lib_fail(b, BATON_ESTATE, "baton_release_apps: no hold");
    }
    rv = baton_io_request(&b->io, 0, BATON_REQ_RELEASE, 0);
    if (rv == 0) {
        b->hold_apps = false;
    }
    return rv;
}

int baton_new(struct baton **out, const struct baton_options *opt,
              char *errmsg, size_t errmsg_len)
{
    return lib_node_new(out, opt, NULL, errmsg, errmsg_len);
}

int lib_node_new(struct baton **out, const struct baton_options *opt,
                 const struct lib_program *program, char *errmsg,
                 size_t errmsg_len)
{
    char err[4096]; /* every problem of the file, a line each */
    struct baton *b;
    int rv;

    *out = NULL;
    if (errmsg != NULL && errmsg_len > 0) {
        errmsg[0] = '\0';
    }
    if (opt == NULL || opt->config_file == NULL) {
        if (errmsg != NULL) {
            snprintf(errmsg, errmsg_len, "baton_new: no config_file");
        }
        return BATON_EINVAL;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return BATON_ENOMEM;
    }
    {
        /* A write to a peer that just closed must not kill the program:
         * ignore SIGPIPE unless the program handles it (baton.h). */
        struct sigaction sa;
        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
            signal(SIGPIPE, SIG_IGN);
        }
    }
    b->program = program;
    rv = lib_config_load(&b->cfg, opt->config_file,
                         program != NULL ? program->section : NULL,
                         program != NULL ? program->section_data : NULL,
                         err, sizeof(err));
    if (rv != 0) {
        if (errmsg != NULL) {
            snprintf(errmsg, errmsg_len, "%s", err);
        }
        free(b);
        return rv;
    }
    b->log = opt->log != NULL ? opt->log : lib_log_stderr;
    b->log_data = opt->log_data;
    b->log_level = opt->log_level != 0 ? opt->log_level : b->cfg.log_level;
    if (opt->loop != NULL) {
        b->loop = opt->loop;
    } else {
        if (uv_loop_init(&b->own_loop) != 0) {
            free(b);
            return BATON_EIO;
        }
        b->loop = &b->own_loop;
        b->own = true;
    }
    b->next_id = 1;
    uv_check_init(b->loop, &b->check);
    lib_defers_init(&b->defers, b->loop);
    lib_deadlines_init(&b->deadlines, b->loop);
    uv_timer_init(b->loop, &b->tick);
    b->check.data = b->tick.data = b;
    uv_unref((uv_handle_t *)&b->tick);
    b->handles = 4;
    *out = b;
    return 0;
}

static void on_io_failed(struct baton_io *io);

/* ---- quorum mode: the Raft store (docs/design/quorum.md §3) ----------- */

static bool has_quorum_app(const struct baton *b)
{
    for (unsigned i = 0; i < b->cfg.io.n_apps; i++) {
        if (b->cfg.io.apps[i].mode == BATON_APP_QUORUM) {
            return true;
        }
    }
    return false;
}

static void close_failed(void *ctx, struct lib_defer *d)
{
    (void)d;
    baton_close(ctx, NULL, NULL);
}

/* The store failed: nothing more is confirmed to the core, and the node
 * stops (a later confirmation would cover the lost write). Outside the
 * step: batond drains, a libbaton program's node closes. */
static void store_failed(struct baton *b)
{
    const char *why = lib_raftlog_errmsg(b->raftlog);
    struct lib_defer *d;

    if (b->raft_failed) {
        return;
    }
    b->raft_failed = true;
    lib_logf(b, BATON_LOG_ERROR, "raft store: %s: the node stops", why);
    if (b->program != NULL && b->program->store_failed != NULL) {
        b->program->store_failed(b->program->control.data, why);
        return;
    }
    d = lib_defer_new(close_failed, b, sizeof(*d), NULL, 0);
    if (d != NULL) {
        lib_defer_push(&b->defers, d);
    }
}

static int on_raft_write(struct baton_io *io, const struct baton_raft_write *w)
{
    struct baton *b = io->data;
    int rv = lib_raftlog_write(b->raftlog, w);

    if (rv != 0) {
        store_failed(b);
    }
    return rv;
}

static int on_raft_snapshot(struct baton_io *io,
                            uint64_t index,
                            uint64_t term,
                            const uint8_t *data,
                            uint32_t len)
{
    struct baton *b = io->data;
    int rv = lib_raftlog_snapshot(b->raftlog, index, term, data, len);

    if (rv != 0) {
        store_failed(b);
    }
    return rv;
}

static void log_store(void *data, int level, const char *text)
{
    lib_logf(data, level, "raft store: %s", text);
}

/* The test knob BATON_RAFT_FAIL_FILE=PATH: the store's writes fail
 * (EIO, as a dying disk's) while PATH exists, so that a test can watch
 * the node stop on a failed write (test_quorum_apps.sh). */
static ssize_t knob_pwrite(void *data,
                           int fd,
                           const void *buf,
                           size_t len,
                           off_t off)
{
    if (access(data, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    return pwrite(fd, buf, len, off);
}

/* Opens the store under <state_dir>/raft/ when the node has a quorum
 * app (a witness too: it votes), and hands what it recovered to the
 * core through cfg.io (borrowed during baton_io_init: disk).
 * Errors (errmsg names the file and the offset): what lib_raftlog_open
 * returns, BATON_EINVAL (no state_dir). */
static int open_store(struct baton *b, struct baton_raft_disk *disk)
{
    struct lib_raftlog_options o = {0};
    const char *dir = b->program != NULL && b->program->state_dir != NULL
                          ? b->program->state_dir
                          : b->cfg.state_dir;
    char path[BATON_PATH_MAX + 8];
    char err[512];
    const uint8_t *snap;
    uint64_t snap_len;
    int rv;

    if (!has_quorum_app(b)) {
        return 0;
    }
    if (dir[0] == '\0') {
        return lib_fail(b, BATON_EINVAL,
                        "baton_start: quorum mode keeps its Raft store in "
                        "[node] state_dir, which is not set");
    }
    snprintf(path, sizeof(path), "%s/raft", dir);
    o.dir = path;
    o.log = log_store;
    o.log_data = b;
    if (getenv("BATON_RAFT_FAIL_FILE") != NULL) {
        static struct lib_raftlog_sys knob;
        knob.data = getenv("BATON_RAFT_FAIL_FILE");
        knob.pwrite = knob_pwrite;
        o.sys = &knob;
        lib_logf(b, BATON_LOG_WARN,
                 "BATON_RAFT_FAIL_FILE (a test knob): raft writes fail "
                 "while %s exists",
                 (const char *)knob.data);
    }
    rv = lib_raftlog_open(&b->raftlog, &o, err, sizeof(err));
    if (rv != 0) {
        return lib_fail(b, rv, "baton_start: raft store %s: %s", path, err);
    }
    lib_raftlog_disk(b->raftlog, disk);
    lib_raftlog_snapshot_data(b->raftlog, &snap, &snap_len);
    b->cfg.io.raft_disk = disk;
    b->cfg.io.raft_snap = snap;
    b->cfg.io.raft_snap_len = (uint32_t)snap_len;
    return 0;
}

/* A program's app effects go through the control socket, which points
 * an app's name here first, then hands them to program->control's
 * app_effect (lib_on_app) after the step. */
static void on_app_named(struct baton_io *io,
                         const struct baton_app_effect *e)
{
    struct baton *b = io->data;

    lib_control_app_effect(b->control, e);
}

/* The control socket, if the config names one: served by this node as
 * batond serves its own (docs/control.md). Errors: BATON_ENOMEM,
 * BATON_EIO (errmsg says why). */
static int start_control(struct baton *b)
{
    char err[256];

    if (b->cfg.control_socket[0] == '\0') {
        return 0;
    }
    b->control = calloc(1, sizeof(*b->control));
    if (b->control == NULL) {
        return lib_fail(b, BATON_ENOMEM, "baton_start: out of memory");
    }
    b->control->node = b; /* its leader groups */
    b->control->group_json = lib_group_json;
    b->control->group_op = lib_group_op;
    b->control->settings_save = lib_settings_save;
    b->control->ids = &b->next_id;
    b->control->deadlines = &b->deadlines;
    /* The sessions' endpoints, name writes and calls: the node's tables. */
    b->control->calls = &b->calls;
    b->control->endpoints = &b->eps;
    b->control->writes = &b->ops;
    b->control->defers = &b->defers; /* and one re-entrancy rule */
    if (b->program != NULL) { /* batond: its apps' names and hooks */
        b->control->prog = b->program->control;
        memcpy(b->control->gname, b->program->gname,
               sizeof(b->control->gname));
        memcpy(b->control->address, b->program->address,
               sizeof(b->control->address));
    }
    if (lib_control_start(b->control, &b->io, b->cfg.control_socket, err,
                          sizeof(err)) != 0 ||
        (b->cfg.control_socket_ro[0] != '\0' &&
         lib_control_start_ro(b->control, b->cfg.control_socket_ro,
                              b->cfg.control_group_set, b->cfg.control_gid,
                              err, sizeof(err)) != 0)) {
        return lib_fail(b, BATON_EIO, "baton_start: %s", err);
    }
    return 0;
}

int baton_start(struct baton *b)
{
    struct baton_raft_disk disk;
    bool errmsg_set;
    int rv;

    if (b->started || b->closing || b->io_closing) {
        return lib_fail(b, BATON_ESTATE, "baton_start: started already");
    }
    /* A boot hold (baton_hold_apps): this node is placed no app until
     * baton_release_apps(). The life: wall-clock milliseconds, as batond
     * (docs/config.md). */
    b->cfg.io.apps_held = b->hold_apps;
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        b->cfg.io.inc = (baton_inc)ts.tv_sec * 1000 +
                        (baton_inc)(ts.tv_nsec / 1000000);
    }
    rv = open_store(b, &disk);
    if (rv != 0) {
        return rv; /* errmsg says why */
    }
    lib_settings_load(b); /* docs/design/apps.md §7 */
    b->cfg.io.members = lib_members_load(b);
    rv = baton_io_init(&b->io, b->loop, &b->cfg.io, log_io, b);
    b->cfg.io.members = NULL; /* borrowed during init only */
    b->cfg.io.raft_disk = NULL;
    b->cfg.io.raft_snap = NULL;
    if (rv != 0) {
        lib_raftlog_close(b->raftlog);
        b->raftlog = NULL;
        return lib_fail(b, rv, "baton_start: %s", baton_strerror(rv));
    }
    b->io.data = b;
    if (b->raftlog != NULL) {
        b->io.on_raft_write = on_raft_write;
        b->io.on_raft_snapshot = on_raft_snapshot;
    }
    b->io.on_members = lib_members_changed;
    b->io.on_app = lib_on_app;
    b->io.on_name = lib_on_name;
    b->io.on_call = lib_on_call;
    b->io.on_admin = lib_on_admin;
    b->io.on_settings = lib_on_settings;
    rv = start_control(b);
    errmsg_set = rv != 0;
    if (b->control != NULL && b->program != NULL) {
        /* An app's name is pointed here before its start. */
        b->io.on_app = on_app_named;
    }
    if (rv == 0) {
        rv = baton_io_start(&b->io);
        /* After the driver's start: the failure path below closes its
         * handles, which only its start makes. */
        if (rv == 0 && (rv = lib_http_start(b)) != 0) {
            errmsg_set = true; /* errmsg says why (metrics_listen) */
        }
    }
    if (rv != 0) {
        /* The driver's handles close asynchronously: baton_close waits
         * for them before it frees b. */
        b->io_closing = true;
        if (b->control != NULL && b->control->open) {
            lib_control_close(b->control, NULL);
        }
        baton_io_close(&b->io, on_io_failed);
        if (errmsg_set) {
            return rv; /* errmsg says why */
        }
        return lib_fail(b, rv, "baton_start: cannot listen on %s:%u",
                        b->cfg.io.hosts[b->cfg.io.self],
                        b->cfg.io.ports[b->cfg.io.self]);
    }
    b->started = true;
    uv_check_start(&b->check, on_check);
    if (b->n_groups > 0) {
        uv_timer_start(&b->tick, on_tick, 20, 20);
    }
    lib_groups_start(b);
    return 0;
}

static void finish_close(struct baton *b)
{
    void (*cb)(void *) = b->close_cb;
    void *data = b->close_data;

    lib_names_close(b);
    lib_events_free(b);
    lib_raftlog_close(b->raftlog); /* after the driver: no write under way */
    b->raftlog = NULL;
    /* Every handle of the control socket closed before b's own. */
    free(b->control);
    b->control = NULL;
    for (unsigned i = 0; i < b->n_apps; i++) {
        free(b->apps[i].state);
    }
    for (unsigned i = 0; i < b->n_groups; i++) {
        free(b->groups[i]->sync0);
        free(b->groups[i]->handover);
        free(b->groups[i]);
    }
    b->closed = true;
    if (cb != NULL) {
        cb(data);
    }
    if (!b->own) {
        free(b);
    }
    /* With its own loop, baton_run() (or baton_process()) frees b once
     * the loop has nothing left. */
}

void lib_handle_gone(struct baton *b)
{
    if (--b->handles == 0) {
        finish_close(b);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    lib_handle_gone(h->data);
}

static void on_deadlines_closed(uv_handle_t *h)
{
    struct lib_deadlines *d = h->data;

    lib_handle_gone(LIB_CONTAINER_OF(d, struct baton, deadlines));
}

static void on_defers_closed(uv_handle_t *h)
{
    struct lib_defers *q = h->data;

    lib_handle_gone(LIB_CONTAINER_OF(q, struct baton, defers));
}

static void on_io_closed(struct baton_io *io)
{
    struct baton *b = io->data;

    uv_close((uv_handle_t *)&b->check, on_handle_closed);
    lib_http_close(b);
    lib_defers_close(&b->defers, on_defers_closed);
    lib_deadlines_close(&b->deadlines, on_deadlines_closed);
    uv_close((uv_handle_t *)&b->tick, on_handle_closed);
}

static void on_io_failed(struct baton_io *io)
{
    struct baton *b = io->data;

    b->io_closing = false;
    if (b->closing) {
        on_io_closed(io);
    }
}

void baton_close(struct baton *b, void (*cb)(void *data), void *data)
{
    if (b->closing) {
        return;
    }
    b->closing = true;
    b->close_cb = cb;
    b->close_data = data;
    if (b->started) {
        lib_apps_shutdown(b);
        lib_groups_shutdown(b);
    }
    /* The sessions' calls first (they go quietly with their sessions),
     * then the node's own, which fail with BATON_ECLOSED. */
    if (b->control != NULL && b->control->open) {
        lib_control_close(b->control, NULL);
    }
    lib_calls_fail_all(b, BATON_ECLOSED);
    if (b->started) {
        baton_io_close(&b->io, on_io_closed);
    } else if (!b->io_closing) {
        b->io.data = b;
        on_io_closed(&b->io);
    } /* else on_io_failed goes on once the driver is closed */
}

static void free_own(struct baton *b)
{
    uv_run(&b->own_loop, UV_RUN_NOWAIT);
    (void)uv_loop_close(&b->own_loop);
    free(b);
}

int baton_run(struct baton *b)
{
    if (!b->own) {
        return BATON_ESTATE;
    }
    uv_run(&b->own_loop, UV_RUN_DEFAULT);
    if (b->closed) {
        free_own(b);
    }
    return 0;
}

int baton_fd(const struct baton *b)
{
    return b->own ? uv_backend_fd(&b->own_loop) : BATON_ESTATE;
}

int baton_timeout_ms(const struct baton *b)
{
    return b->own ? uv_backend_timeout(&b->own_loop) : BATON_ESTATE;
}

int baton_process(struct baton *b)
{
    if (!b->own) {
        return BATON_ESTATE;
    }
    uv_run(&b->own_loop, UV_RUN_NOWAIT);
    if (b->closed) {
        free_own(b);
    }
    return 0;
}

const char *baton_self(const struct baton *b)
{
    return b->cfg.self_name;
}

const char *baton_errmsg(const struct baton *b)
{
    return b->errmsg;
}

bool baton_node_up(const struct baton *b, const char *node)
{
    int id = lib_node_id(b, node);

    return id >= 0 && b->started && lib_alive(b, (unsigned)id);
}
