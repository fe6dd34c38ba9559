/* The app supervisor. Happy path: the core says START (epoch, type,
 * from); the app is spawned through the shim in its own process group
 * with BATON_* in its environment; it becomes ready (at spawn, by a check
 * command, or by `batonctl ready`); its start phases run in order; the
 * core hears READY. STOP: the stop command or SIGTERM to the group, then
 * SIGKILL after stop_timeout; the core hears STOPPED.
 * Failure modes: the app exits or fails to get ready -> restarted per its
 * restart policy, up to max_restarts within restart_window, then FAILED
 * (the core fails it over); it ends normally -> EXITED (the app stops
 * cluster-wide) unless it is permanent; a start command that does not
 * exist behaves like a crash (the shim says why). See
 * docs/design/supervision.md. */
#define _GNU_SOURCE /* pipe2 */
#include "../util/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/lib.h"
#include "../util/error.h"
#include "supervise.h"

extern char **environ;

#define RESTART_DELAY_MS (100)
#define READY_POLL_MS (200)

/* What a spawned process is to its instance: the prefix of its output
 * lines in the log ("[app X monitor] ..."). */
enum role { ROLE_APP = 0, ROLE_READY, ROLE_PHASE, ROLE_STOP, ROLE_MONITOR,
            ROLE_EXPORT, ROLE_PRE_START, ROLE_POST_STOP };
static const char *const role_names[] = {"", " ready", " phase", " stop",
                                         " monitor", " state_export",
                                         " pre_start", " post_stop"};

/* Output lines longer than this are logged in pieces of this size, so
 * that an app writing without newlines costs bounded memory. */
#define OUT_LINE_MAX (1024)
/* At most this much is read at once when a process has ended (what it
 * wrote before its end; a grandchild writing on cannot hold batond). */
#define OUT_DRAIN_MAX (256u << 10)

struct batond_child;

/* One of a child's stdout and stderr, read line by line into the log.
 * The pipe comes first: its callbacks find the batond_out from the
 * handle, whose data is the child (on_child_closed counts it). */
struct batond_out {
    uv_pipe_t pipe;
    struct batond_child *c;
    size_t len;
    char line[OUT_LINE_MAX];
};

/* One spawned process and the handles that live exactly as long. */
struct batond_child {
    uv_process_t proc;
    uv_pipe_t keep; /* the shim's stdin: batond holds the write end */
    uv_pipe_t out;  /* an exporter's stdout */
    struct batond_proc *owner;
    bool with_out;
    bool is_helper;
    bool exited;
    bool with_keep;
    int role;             /* enum role */
    const char *app_name; /* its app's, for its output; NULL: a spare's */
    struct batond_sup *spare_of; /* while it is sup's spare shim */
    struct batond_sup *sup;
    unsigned n_logs; /* log[0..n_logs): its stdout and stderr, or stderr */
    struct batond_out log[2];
    int open; /* handles not yet closed */
    int64_t status;
    int term_signal;
};

static void logf_(struct batond_sup *sup, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(struct batond_sup *sup, int level, const char *fmt, ...)
{
    char text[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    sup->log(sup->log_data, level, text);
}

const char *batond_proc_state_name(int state)
{
    static const char *const names[] = {"idle",       "starting", "phases",
                                        "ready",      "restarting",
                                        "stopping"};
    return state >= 0 && state < (int)BATON_ARRAY_LEN(names) ? names[state]
                                                              : "?";
}

static const char *app_name(const struct batond_proc *p)
{
    return p->sup->cfg->node->io.apps[p->app].name;
}

static const struct batond_app *app_def(const struct batond_proc *p)
{
    return &p->sup->cfg->apps[p->app];
}

/* ---- spawning --------------------------------------------------------- */

static void on_child_closed(uv_handle_t *h)
{
    struct batond_child *c = h->data;

    if (--c->open == 0) {
        free(c);
    }
}

/* ---- output to the log ------------------------------------------------
 * Every process batond starts writes its stdout and stderr into pipes
 * batond reads: each line goes to the log as "[app X] line" (the app;
 * its helpers as "[app X monitor] line" and so on). Real pipes, not
 * libuv's socketpairs: a program that opens /dev/stdout (redis-cli
 * --rdb /dev/stdout) cannot open a socket that way (ENXIO), but can a
 * pipe. */

static void out_emit(struct batond_out *o)
{
    struct batond_child *c = o->c;
    char text[OUT_LINE_MAX + 128];

    /* Control bytes (a carriage return, an escape sequence) would let an
     * app's line pass for, or hide, another one on a terminal. */
    for (size_t i = 0; i < o->len; i++) {
        unsigned char ch = (unsigned char)o->line[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            o->line[i] = '?';
        }
    }
    if (c->app_name != NULL) {
        snprintf(text, sizeof(text), "[app %s%s] %.*s", c->app_name,
                 role_names[c->role], (int)o->len, o->line);
    } else {
        snprintf(text, sizeof(text), "[spare shim] %.*s", (int)o->len, o->line);
    }
    o->len = 0;
    c->sup->log(c->sup->log_data, BATON_LOG_INFO, text);
}

_Static_assert(offsetof(struct batond_out, pipe) == 0, "pipe first");

static void on_out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct batond_out *o = (struct batond_out *)h;

    (void)suggested;
    *buf = uv_buf_init(o->line + o->len, (unsigned)(sizeof(o->line) - o->len));
}

static void on_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct batond_out *o = (struct batond_out *)s;
    char *nl;

    (void)buf;
    if (n < 0) { /* its end: a last line without a newline */
        if (o->len > 0) {
            out_emit(o);
        }
        uv_read_stop(s);
        return;
    }
    o->len += (size_t)n;
    while ((nl = memchr(o->line, '\n', o->len)) != NULL) {
        size_t rest = o->len - (size_t)(nl - o->line) - 1;
        o->len = (size_t)(nl - o->line);
        out_emit(o);
        memmove(o->line, nl + 1, rest);
        o->len = rest;
    }
    if (o->len == sizeof(o->line)) {
        out_emit(o); /* a line too long: this piece now, the rest next */
    }
}

/* Reads what a pipe holds now, through its own callbacks, once its
 * process has ended: its last words reach the log (or the export) before
 * the news of its end, and the pipe can then close. */
static void pipe_drain(uv_pipe_t *pp, uv_alloc_cb alloc, uv_read_cb rd)
{
    uv_os_fd_t fd;
    size_t total = 0;

    if (uv_fileno((uv_handle_t *)pp, &fd) != 0) {
        return;
    }
    while (total < OUT_DRAIN_MAX) {
        uv_buf_t b;
        ssize_t n;
        alloc((uv_handle_t *)pp, 4096, &b);
        n = read(fd, b.base, b.len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        rd((uv_stream_t *)pp, n, &b);
        total += (size_t)n;
    }
}

static void on_export_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_export_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void child_close(struct batond_child *c)
{
    uv_close((uv_handle_t *)&c->proc, on_child_closed);
    if (c->with_keep) {
        uv_close((uv_handle_t *)&c->keep, on_child_closed);
    }
    if (c->with_out) {
        pipe_drain(&c->out, on_export_alloc, on_export_read);
        uv_close((uv_handle_t *)&c->out, on_child_closed);
    }
    for (unsigned i = 0; i < c->n_logs; i++) {
        struct batond_out *o = &c->log[i];
        pipe_drain(&o->pipe, on_out_alloc, on_out_read);
        if (o->len > 0) {
            out_emit(o);
        }
        uv_close((uv_handle_t *)&o->pipe, on_child_closed);
    }
}

/* A pipe for one of c's fds: *child_fd is the write end the child gets
 * (close it once spawned), the read end goes to p, a handle in c (0);
 * or -1, and a handle that could not take the fd closes counted in
 * c->open (c is freed by on_child_closed, not by the caller, then). */
static int out_pipe(struct batond_sup *sup,
                    uv_pipe_t *p,
                    struct batond_child *c,
                    int *child_fd)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC) != 0) {
        return -1;
    }
    uv_pipe_init(sup->loop, p, 0);
    p->data = c;
    if (uv_pipe_open(p, fds[0]) != 0) {
        close(fds[0]);
        close(fds[1]);
        c->open++;
        uv_close((uv_handle_t *)p, on_child_closed);
        return -1;
    }
    *child_fd = fds[1];
    return 0;
}

/* Sets up c's output: stdio[1] and [2] (or only [2] with stderr_only,
 * stdio[1] being the caller's) as pipes to the log. Adds the pipes to
 * c->open; fds[] gets the child's ends for out_started(). No pipe
 * (out of fds): the child writes to batond's own output. */
static void out_setup(struct batond_sup *sup,
                      struct batond_child *c,
                      uv_stdio_container_t *io,
                      bool stderr_only,
                      int fds[2])
{
    c->sup = sup;
    fds[0] = fds[1] = -1;
    for (int k = stderr_only ? 1 : 0; k < 2; k++) {
        struct batond_out *o = &c->log[c->n_logs];
        io[1 + k].flags = UV_INHERIT_FD;
        io[1 + k].data.fd = 1 + k;
        if (out_pipe(sup, &o->pipe, c, &fds[k]) == 0) {
            o->c = c;
            io[1 + k].data.fd = fds[k];
            c->n_logs++;
        }
    }
}

/* After uv_spawn: the child's ends close here, and reading starts (on
 * success). */
static void out_started(struct batond_child *c, int fds[2], bool ok)
{
    for (int k = 0; k < 2; k++) {
        if (fds[k] >= 0) {
            close(fds[k]);
        }
    }
    for (unsigned i = 0; ok && i < c->n_logs; i++) {
        uv_read_start((uv_stream_t *)&c->log[i].pipe, on_out_alloc,
                      on_out_read);
    }
}

static void on_exit_cb(uv_process_t *proc, int64_t status, int term_signal);

/* BATON_START_TYPE: the core's, or "restart" for a local restart. */
static const char *start_type_name(const struct batond_proc *p)
{
    return p->restarted ? "restart" : baton_start_type_name(p->type);
}

/* Is the name of entry ("NAME=value") set in env[0..n)? A name given
 * twice is read as the first by getenv() but as the last by a shell:
 * batond's own must not follow the app's. */
static bool env_has(char **env, size_t n, const char *entry)
{
    size_t len = strcspn(entry, "=");

    for (size_t i = 0; i < n; i++) {
        if (strncmp(env[i], entry, len) == 0 && env[i][len] == '=') {
            return true;
        }
    }
    return false;
}

/* Builds the environment: the app's env= first, then BATON_* (and with
 * user=, HOME, USER, LOGNAME), then batond's own minus what came before
 * (one entry per name). Returns owned (free with free()), strings in
 * `store`. */
static char **build_env(const struct batond_proc *p, char *store,
                        size_t store_len, const char *extra)
{
    const struct batond_sup *sup = p->sup;
    const struct batond_app *a = app_def(p);
    size_t n_environ = 0;
    size_t used = 0;
    char **env;
    size_t k = 0;
    const char *self = sup->cfg->node->io.names[sup->cfg->node->io.self];
    const char *from = p->from == BATON_NODE_NONE || p->restarted
                           ? ""
                           : sup->cfg->node->io.names[p->from];
    char line[BATON_PATH_MAX + 32];

    while (environ[n_environ] != NULL) {
        n_environ++;
    }
    env = calloc(n_environ + a->n_env + 16, sizeof(*env));
    if (env == NULL) {
        return NULL;
    }
#define ADD(...)                                            \
    do {                                                    \
        int w_ = snprintf(line, sizeof(line), __VA_ARGS__); \
        if (w_ > 0 && (size_t)w_ < sizeof(line) &&          \
            used + (size_t)w_ + 1 <= store_len) {           \
            memcpy(store + used, line, (size_t)w_ + 1);     \
            env[k++] = store + used;                        \
            used += (size_t)w_ + 1;                         \
        }                                                   \
    } while (0)
    for (unsigned i = 0; i < a->n_env; i++) {
        env[k++] = (char *)a->env[i];
    }
    if (a->as_uid) { /* the user's, not batond's (env= still wins) */
        ADD("HOME=%s", a->home);
        ADD("USER=%s", a->user);
        ADD("LOGNAME=%s", a->user);
    }
    ADD("BATON_APP=%s", app_name(p));
    ADD("BATON_NODE=%s", self);
    ADD("BATON_START_TYPE=%s", start_type_name(p));
    ADD("BATON_FROM_NODE=%s", from);
    ADD("BATON_EPOCH=%" PRIu64, p->token);
    ADD("BATON_EPOCH_FILE=%s", p->token_file);
    if (p->address_file[0] != '\0') {
        ADD("BATON_ADDRESS_FILE=%s", p->address_file);
    }
    ADD("BATON_SOCKET=%s", sup->cfg->node->control_socket);
    if (a->gname[0] != '\0') {
        ADD("BATON_NAME=%s", a->gname); /* to serve: batonctl serve */
    }
    if (extra != NULL) {
        ADD("%s", extra);
    }
#undef ADD
    for (size_t i = 0, set = k; i < n_environ; i++) {
        if (strncmp(environ[i], "BATON_", 6) != 0 &&
            !env_has(env, set, environ[i])) {
            env[k++] = environ[i];
        }
    }
    env[k] = NULL;
    return env;
}

/* ---- the spare shim -------------------------------------------------
 * Forked ahead, so that an app start (a failover above all) costs a write
 * to a pipe instead of a fork and an exec of batond: the spare is a shim
 * already running in its own session, waiting on its stdin for the
 * command (supervise.h). It gets batond's environment; the app gets its
 * own, as with a shim started for it. */

#define SPARE_AGAIN_MS (50)   /* a new spare after one is taken */
#define SPARE_RETRY_MS (1000) /* after one failed or died */

static bool quorum_here(const struct batond_sup *sup)
{
    const struct baton_io_config *io = &sup->cfg->node->io;

    for (unsigned i = 0; i < io->n_apps; i++) {
        if (io->apps[i].mode == BATON_APP_QUORUM) {
            return true;
        }
    }
    return false;
}

static void on_spare_timer(uv_timer_t *t);

static void spare_arm(struct batond_sup *sup, uint64_t ms)
{
    if (sup->prefork && !sup->draining && sup->spare == NULL) {
        uv_timer_start(&sup->spare_timer, on_spare_timer, ms, 0);
    }
}

/* Does some app list this node? Else it never starts one: no spare. */
static bool apps_may_run_here(const struct batond_sup *sup)
{
    const struct baton_io_config *io = &sup->cfg->node->io;

    for (unsigned i = 0; i < io->n_apps; i++) {
        if (io->apps[i].rank[io->self] != 0) {
            return true;
        }
    }
    return false;
}

static void on_spare_timer(uv_timer_t *t)
{
    struct batond_sup *sup = t->data;
    char *args[] = {"batond", "--shim", BATOND_SHIM_SPARE, NULL};
    uv_process_options_t o = {0};
    uv_stdio_container_t io[3];
    struct batond_child *c;
    int fds[2];
    int rv;

    if (!sup->prefork || sup->draining || sup->spare != NULL ||
        !apps_may_run_here(sup) || (c = calloc(1, sizeof(*c))) == NULL) {
        return;
    }
    c->proc.data = c;
    uv_pipe_init(sup->loop, &c->keep, 0);
    c->keep.data = c;
    c->with_keep = true;
    io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    io[0].data.stream = (uv_stream_t *)&c->keep;
    out_setup(sup, c, io, false, fds); /* the app's, once it is one */
    o.file = sup->exe;
    o.args = args;
    o.flags = UV_PROCESS_DETACHED; /* as a shim started for its app */
    o.stdio = io;
    o.stdio_count = 3;
    o.exit_cb = on_exit_cb;
    rv = uv_spawn(sup->loop, &c->proc, &o);
    out_started(c, fds, rv == 0);
    c->open += 2 + (int)c->n_logs;
    if (rv != 0) {
        logf_(sup, BATON_LOG_WARN,
              "cannot start a spare shim: %s (apps start without one)",
              uv_strerror(rv));
        c->exited = true;
        child_close(c);
        uv_timer_start(&sup->spare_timer, on_spare_timer, SPARE_RETRY_MS, 0);
        return;
    }
    c->spare_of = sup;
    sup->spare = c;
}

/* A spare that ended before it was used (killed by someone). */
static void spare_ended(struct batond_child *c)
{
    struct batond_sup *sup = c->spare_of;

    c->spare_of = NULL;
    sup->spare = NULL;
    logf_(sup, BATON_LOG_WARN,
          "the spare shim ended (status %" PRId64 ", signal %d)", c->status,
          c->term_signal);
    spare_arm(sup, SPARE_RETRY_MS);
}

/* Gives the spare the app's command: the spare, now the app's shim, or
 * NULL (no spare, or it could not take it: then started the usual way). */
static struct batond_child *spare_take(struct batond_sup *sup,
                                       char **argv,
                                       char **env,
                                       const char *cwd,
                                       bool as_other)
{
    struct batond_child *c = sup->spare;
    uint32_t counts[2] = {0, 0};
    size_t size = sizeof(counts);
    char *buf;
    char *at;
    uv_buf_t b;
    int n;

    /* A directory it cannot enter fails the usual way, with uv_spawn's
     * error in the log. An app with user or group goes the usual way
     * too: the request carries no identity (supervise.h). */
    if (c == NULL || (cwd != NULL && access(cwd, X_OK) != 0) || as_other) {
        return NULL;
    }
    size += strlen(cwd != NULL ? cwd : "") + 1;
    for (; argv[counts[0]] != NULL; counts[0]++) {
        size += strlen(argv[counts[0]]) + 1;
    }
    for (; env[counts[1]] != NULL; counts[1]++) {
        size += strlen(env[counts[1]]) + 1;
    }
    if (size > BATOND_SPARE_REQ_MAX ||
        (buf = malloc(sizeof(uint32_t) + size)) == NULL) {
        return NULL;
    }
    memcpy(buf, &(uint32_t){(uint32_t)size}, sizeof(uint32_t));
    memcpy(buf + sizeof(uint32_t), counts, sizeof(counts));
    at = buf + sizeof(uint32_t) + sizeof(counts);
    at = stpcpy(at, cwd != NULL ? cwd : "") + 1;
    for (uint32_t i = 0; i < counts[0]; i++) {
        at = stpcpy(at, argv[i]) + 1;
    }
    for (uint32_t i = 0; i < counts[1]; i++) {
        at = stpcpy(at, env[i]) + 1;
    }
    b = uv_buf_init(buf, (unsigned)(sizeof(uint32_t) + size));
    n = uv_try_write((uv_stream_t *)&c->keep, &b, 1);
    free(buf);
    c->spare_of = NULL;
    sup->spare = NULL;
    spare_arm(sup, SPARE_AGAIN_MS);
    if (n != (int)b.len) {
        /* Not all of it (a full pipe): this spare is of no use. */
        uv_process_kill(&c->proc, SIGKILL);
        return NULL;
    }
    return c;
}

/* Shutdown: the spare goes with its timer (the loop is to end). */
static void spare_close(struct batond_sup *sup)
{
    struct batond_child *c = sup->spare;

    sup->prefork = false;
    uv_close((uv_handle_t *)&sup->spare_timer, NULL);
    if (c != NULL) {
        c->spare_of = NULL;
        sup->spare = NULL;
        uv_process_kill(&c->proc, SIGKILL);
        child_close(c);
    }
}

/* A helper runs as its app (user, group): libuv changes the identity in
 * the child, and drops supplementary groups there (setgroups(0)); the
 * app itself gets the user's through the shim (initgroups). */
static void as_app(const struct batond_app *a, uv_process_options_t *o)
{
    if (a->as_uid) {
        o->flags |= UV_PROCESS_SETUID;
        o->uid = (uv_uid_t)a->uid;
    }
    if (a->as_gid) {
        o->flags |= UV_PROCESS_SETGID;
        o->gid = (uv_gid_t)a->gid;
    }
}

/* Spawns cmd (a config command line). As the app, through the shim in a
 * new process group (the spare one if there is one); as a helper,
 * directly. */
static struct batond_child *spawn(struct batond_proc *p,
                                  const char *cmd,
                                  int role,
                                  const char *extra_env)
{
    struct batond_sup *sup = p->sup;
    const struct batond_app *a = app_def(p);
    struct batond_child *c = calloc(1, sizeof(*c));
    bool app = role == ROLE_APP;
    char words[BATOND_CMD_MAX];
    char *argv[70];
    char *args[78];
    char ids[2][16];
    char store[4096];
    uv_process_options_t o = {0};
    uv_stdio_container_t io[3];
    char **env;
    int fds[2];
    int n;
    int rv;

    if (c == NULL) {
        return NULL;
    }
    n = lib_split(cmd, words, sizeof(words), argv, 64);
    env = build_env(p, store, sizeof(store), extra_env);
    if (n <= 0 || env == NULL) {
        free(env);
        free(c);
        return NULL;
    }
    if (app) {
        struct batond_child *spare = spare_take(
            sup, argv, env, a->cwd[0] != '\0' ? a->cwd : NULL, a->as_gid);
        if (spare != NULL) {
            free(env);
            free(c);
            spare->owner = p;
            spare->app_name = app_name(p);
            spare->role = ROLE_APP;
            return spare;
        }
    }
    c->owner = p;
    c->is_helper = !app;
    c->role = role;
    c->app_name = app_name(p);
    c->proc.data = c;
    if (app) {
        int k = 0;
        args[k++] = "batond";
        args[k++] = "--shim";
        if (a->as_gid) { /* the shim changes identity in the app's fork */
            snprintf(ids[0], sizeof(ids[0]), "%" PRIu32, a->uid);
            snprintf(ids[1], sizeof(ids[1]), "%" PRIu32, a->gid);
            args[k++] = BATOND_SHIM_AS;
            args[k++] = a->as_uid ? ids[0] : "-";
            args[k++] = ids[1];
            args[k++] = (char *)a->user;
        }
        args[k++] = "--";
        memcpy(&args[k], argv, ((size_t)n + 1) * sizeof(char *));
        uv_pipe_init(sup->loop, &c->keep, 0);
        c->keep.data = c;
        c->with_keep = true;
        io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
        io[0].data.stream = (uv_stream_t *)&c->keep;
        o.file = sup->exe;
        o.args = args;
        /* A new session: the shim leads the app's process group. */
        o.flags = UV_PROCESS_DETACHED;
    } else {
        io[0].flags = UV_IGNORE;
        o.file = argv[0];
        o.args = argv;
        /* A monitor or a hook leads a group of its own, so that its
         * timeout kills whatever it started too. */
        o.flags = role == ROLE_MONITOR || role == ROLE_PRE_START ||
                          role == ROLE_POST_STOP
                      ? UV_PROCESS_DETACHED
                      : 0;
    }
    out_setup(sup, c, io, false, fds);
    o.stdio = io;
    o.stdio_count = 3;
    o.env = env;
    o.cwd = a->cwd[0] != '\0' ? a->cwd : NULL;
    /* Hooks run as batond's user: taking an address or a route over
     * (ip addr) is not the app's business. */
    if (!app && role != ROLE_PRE_START && role != ROLE_POST_STOP) {
        as_app(a, &o);
    }
    o.exit_cb = on_exit_cb;
    rv = uv_spawn(sup->loop, &c->proc, &o);
    free(env);
    out_started(c, fds, rv == 0);
    c->open += (c->with_keep ? 2 : 1) + (int)c->n_logs;
    if (rv != 0) {
        logf_(sup, BATON_LOG_ERROR, "app %s: cannot run \"%s\": %s",
              app_name(p), cmd, uv_strerror(rv));
        c->exited = true;
        child_close(c);
        return NULL;
    }
    return c;
}

static void check_drained(struct batond_sup *sup);

/* ---- takeover state: export on the old owner, file on the new ---- */

static void export_failed(struct batond_proc *p, const char *why)
{
    logf_(p->sup, BATON_LOG_WARN,
          "app %s: state_export %s: the takeover goes on without state",
          app_name(p), why);
}

/* The exporter is done: its output (or the failure) goes to the node,
 * which hands it to the new owner. */
static void export_done(struct batond_proc *p, bool ok, const char *why)
{
    struct batond_sup *sup = p->sup;

    uv_timer_stop(&p->export_timer);
    if (!ok) {
        export_failed(p, why);
    } else {
        logf_(sup, BATON_LOG_INFO, "app %s: exported %zu bytes of state",
              app_name(p), p->export_len);
    }
    if (p->export_async) {
        p->export_async = false;
        (void)baton_app_exported(p->lib, ok ? 0 : BATON_EIO, p->export_buf,
                                 ok ? p->export_len : 0);
    }
    free(p->export_buf);
    p->export_buf = NULL;
    p->export_len = 0;
    check_drained(sup);
}

static void on_export_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct batond_child *c = h->data;
    struct batond_proc *p = c->owner;
    static char sink[4096];

    (void)suggested;
    if (p == NULL || p->export_buf == NULL ||
        p->export_len >= BATON_STATE_MAX) {
        *buf = uv_buf_init(sink, sizeof(sink)); /* drained and dropped */
        return;
    }
    *buf = uv_buf_init((char *)p->export_buf + p->export_len,
                       (unsigned)(BATON_STATE_MAX - p->export_len));
}

static void on_export_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct batond_child *c = s->data;
    struct batond_proc *p = c->owner;

    if (n <= 0 || p == NULL || p->exporter != c) {
        return;
    }
    if ((uint8_t *)buf->base == p->export_buf + p->export_len) {
        p->export_len += (size_t)n;
    } else {
        p->export_too_big = true;
    }
}

static void on_export_timeout(uv_timer_t *t)
{
    struct batond_proc *p = t->data;
    char why[64];

    if (p->exporter == NULL) {
        return;
    }
    uv_process_kill(&p->exporter->proc, SIGKILL);
    p->exporter->owner = NULL;
    p->exporter = NULL;
    snprintf(why, sizeof(why), "did not finish within %" PRIu64 " ms",
             app_def(p)->export_timeout_ms);
    export_done(p, false, why);
}

static void run_export(struct batond_proc *p);

/* How long an export waits for calls already given to be answered: half
 * its timeout, at most 1 s (the new owner waits state_wait, 6 s, for
 * the state: export_timeout 5 s + 1 s). */
static uint64_t quiet_max(const struct batond_proc *p)
{
    return BATON_MIN(app_def(p)->export_timeout_ms / 2, 1000);
}

/* Seed 000's order (docs/control.md "Takeover order"): the old instance
 * exports only once it has stopped serving. New calls for it queue in
 * the runtime from now on; the export waits (quiet_max) for the calls it
 * was already given to be answered. */
static void on_quiet_check(uv_timer_t *t)
{
    struct batond_proc *p = t->data;
    struct batond_sup *sup = p->sup;
    unsigned left =
        sup->unanswered != NULL ? sup->unanswered(sup, p->app) : 0;

    if (left > 0 && uv_now(sup->loop) < p->quiet_until_ms &&
        p->state != BATOND_PROC_IDLE) {
        return;
    }
    uv_timer_stop(t);
    if (left > 0) {
        logf_(sup, BATON_LOG_WARN,
              "app %s: %u calls still unanswered after %" PRIu64
              " ms: exporting without them",
              app_name(p), left, quiet_max(p));
    }
    run_export(p);
}

/* Runs state_export once the instance stopped serving: BATON_EAGAIN
 * (export_done answers), or an error at once (logged). */
static int start_export(struct batond_proc *p)
{
    const struct batond_app *a = app_def(p);
    struct batond_sup *sup = p->sup;

    if (a->state_export[0] == '\0' || p->exporter != NULL ||
        p->state == BATOND_PROC_IDLE) {
        /* No instance here any more: whatever an export printed now
         * would not be its state, so the new owner hears there is none. */
        export_failed(p, a->state_export[0] == '\0' ? "is not configured"
                         : p->exporter != NULL       ? "is already running"
                                              : "has no instance to export from");
        return BATON_EINVAL;
    }
    p->export_async = true;
    if (sup->hold != NULL) {
        sup->hold(sup, p->app, p->pid);
        p->quiet_until_ms = uv_now(sup->loop) + quiet_max(p);
        uv_timer_start(&p->export_timer, on_quiet_check, 0, 1);
    } else {
        run_export(p);
    }
    return BATON_EAGAIN;
}

static void run_export(struct batond_proc *p)
{
    const struct batond_app *a = app_def(p);
    struct batond_child *c;
    char words[BATOND_CMD_MAX];
    char *argv[70];
    char store[4096];
    char **env;
    uv_process_options_t o = {0};
    uv_stdio_container_t io[3];
    int fds[2];
    int out_fd = -1;
    int rv;

    if (p->state == BATOND_PROC_IDLE) {
        export_done(p, false, "has no instance to export from");
        return;
    }
    p->export_buf = malloc(BATON_STATE_MAX);
    p->export_len = 0;
    p->export_too_big = false;
    c = calloc(1, sizeof(*c));
    env = build_env(p, store, sizeof(store), NULL);
    /* Its stdout is a pipe (out_pipe says why not a socket). */
    if (p->export_buf == NULL || c == NULL || env == NULL ||
        lib_split(a->state_export, words, sizeof(words), argv, 64) <= 0) {
        free(c);
        free(env);
        export_done(p, false, "could not be run");
        return;
    }
    if (out_pipe(p->sup, &c->out, c, &out_fd) != 0) {
        if (c->open == 0) { /* else its handle's close frees it */
            free(c);
        }
        free(env);
        export_done(p, false, "could not be run (no pipe)");
        return;
    }
    c->owner = p;
    c->is_helper = true;
    c->role = ROLE_EXPORT;
    c->app_name = app_name(p);
    c->proc.data = c;
    c->with_out = true;
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_INHERIT_FD;
    io[1].data.fd = out_fd;
    out_setup(p->sup, c, io, true, fds);
    o.file = argv[0];
    o.args = argv;
    o.stdio = io;
    o.stdio_count = 3;
    o.env = env;
    o.cwd = a->cwd[0] != '\0' ? a->cwd : NULL;
    as_app(a, &o);
    o.exit_cb = on_exit_cb;
    rv = uv_spawn(p->sup->loop, &c->proc, &o);
    free(env);
    close(out_fd);
    out_started(c, fds, rv == 0);
    c->open += 2 + (int)c->n_logs;
    if (rv != 0) {
        c->exited = true;
        c->owner = NULL;
        child_close(c);
        export_done(p, false, uv_strerror(rv));
        return;
    }
    p->exporter = c;
    uv_read_start((uv_stream_t *)&c->out, on_export_alloc, on_export_read);
    uv_timer_start(&p->export_timer, on_export_timeout, a->export_timeout_ms,
                   0);
}

static void on_exporter_exit(struct batond_proc *p, struct batond_child *c)
{
    char why[96];

    p->exporter = NULL;
    if (c->status != 0 || c->term_signal != 0) {
        snprintf(why, sizeof(why), "failed (exit %" PRId64 ", signal %d)",
                 c->status, c->term_signal);
        export_done(p, false, why);
    } else if (p->export_too_big) {
        export_done(p, false, "wrote more than 64 KiB");
    } else {
        export_done(p, true, NULL);
    }
}

/* Writes all of data to fd: 0, or -1 with errno set. */
static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes data to path in dir (made if missing) through a temporary file
 * in the same directory, synced if `synced`, then renamed: a reader finds
 * the whole file or the previous one. The file is a's (mode 600, owned
 * by its user and group if it has them: docs/config.md); the directory
 * is 711, so that such an app reaches its own file and lists nothing.
 * tmp: the caller's buffer for the temporary file's name (the caller
 * logs it if it is *what). Returns 0, or -1 with errno set and *what
 * naming the file that failed; nothing is left behind. */
static int write_atomic(const struct batond_app *a,
                        const char *dir,
                        const char *path,
                        const uint8_t *data,
                        size_t len,
                        bool synced,
                        char (*tmp)[BATON_PATH_MAX + 8],
                        const char **what)
{
    int fd;

    snprintf(*tmp, sizeof(*tmp), "%s.tmp", path);
    *what = dir;
    if ((mkdir(dir, 0711) != 0 && errno != EEXIST) ||
        (a->as_gid && chmod(dir, 0711) != 0)) {
        return -1;
    }
    *what = *tmp;
    fd =
        open(*tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return -1;
    }
    if ((a->as_gid && fchown(fd, a->as_uid ? (uid_t)a->uid : (uid_t)-1,
                             (gid_t)a->gid) != 0) ||
        write_all(fd, data, len) != 0 || (synced && fsync(fd) != 0)) {
        int saved = errno;
        close(fd);
        unlink(*tmp);
        errno = saved;
        return -1;
    }
    if (close(fd) != 0 || rename(*tmp, path) != 0) {
        int saved = errno;
        unlink(*tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

/* The state file has served the start it was for (or never will): it
 * goes, so that no later start of the app here finds it (a restart
 * after a crash starts without state) and the directory holds no old
 * states. */
static void drop_state(struct batond_proc *p)
{
    if (p->state_file[0] != '\0' && unlink(p->state_file) != 0 &&
        errno != ENOENT) {
        logf_(p->sup, BATON_LOG_WARN, "app %s: cannot remove %s: %s",
              app_name(p), p->state_file, strerror(errno));
    }
    p->state_file[0] = '\0';
    p->state_epoch = 0;
}

/* The new owner got the old owner's state: keep it in a private file for
 * the start (BATON_STATE_FILE). Written to a temporary file in the same
 * directory, synced, then renamed: the app finds the whole state or no
 * file. If that fails (a full disk, say), nothing is left behind and the
 * app starts without state, and the log says so (the core's "start here
 * (..., with its state)" only says that the state arrived). */
static void keep_state(struct batond_proc *p, uint64_t epoch,
                       const void *data, size_t len)
{
    const char *dir = p->sup->state_dir;
    const char *what = p->state_file;
    char tmp[BATON_PATH_MAX + 8];

    drop_state(p); /* one that no start took (a drain came between) */
    snprintf(p->state_file, sizeof(p->state_file), "%s/%s.%" PRIu64, dir,
             app_name(p), epoch);
    if (write_atomic(app_def(p), dir, p->state_file, data, len, true, &tmp,
                     &what) != 0) {
        logf_(p->sup, BATON_LOG_ERROR,
              "app %s: cannot write %s: %s: it starts without state",
              app_name(p), what, strerror(errno));
        p->state_file[0] = '\0';
        return;
    }
    p->state_epoch = epoch;
}

/* The instance's fencing token, in a file it can re-read at any time
 * (BATON_EPOCH_FILE; docs/design/supervision.md §3): after a heal the
 * surviving instance goes on under a token above every token either side
 * issued, and a store that fences on tokens must see that one. A failed
 * write is logged; the app's BATON_EPOCH is still its start token. */
static void keep_token(struct batond_proc *p, uint64_t token)
{
    const char *dir = p->sup->state_dir;
    char text[32];
    const char *what = p->token_file;
    char tmp[BATON_PATH_MAX + 8];
    int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", token);

    p->token = token;
    snprintf(p->token_file, sizeof(p->token_file), "%s/%s.epoch", dir,
             app_name(p));
    /* Not synced: it is on every start's way (a failover's too), where a
     * sync costs a disk flush, and it only has to outlive this node's
     * processes, which read it from the page cache: after a crash of the
     * machine the app starts again, with a new token. */
    if (write_atomic(app_def(p), dir, p->token_file, (const uint8_t *)text,
                     (size_t)n, false, &tmp, &what) != 0) {
        /* A stale file would name an older instance's token: better none,
         * and the app falls back on BATON_EPOCH. */
        logf_(p->sup, BATON_LOG_ERROR,
              "app %s: cannot write %s: %s (removed: BATON_EPOCH holds)",
              app_name(p), what, strerror(errno));
        unlink(p->token_file);
    }
}

/* $BATON_ADDRESS_FILE, empty and the app's, before each start: what is
 * there once the instance is ready is its own (read_address). If it
 * cannot be made, the app goes without it, and the log says why. */
static void make_address_file(struct batond_proc *p)
{
    const char *dir = p->sup->state_dir;
    const char *what = p->address_file;
    char tmp[BATON_PATH_MAX + 8];

    snprintf(p->address_file, sizeof(p->address_file), "%s/%s.address", dir,
             app_name(p));
    if (write_atomic(app_def(p), dir, p->address_file, (const uint8_t *)"",
                     0, false, &tmp, &what) != 0) {
        logf_(p->sup, BATON_LOG_ERROR, "app %s: cannot write %s: %s",
              app_name(p), what, strerror(errno));
        p->address_file[0] = '\0';
    }
}

/* The ready instance's address, if it wrote one: to the name's meta. */
static void read_address(struct batond_proc *p)
{
    char buf[LIB_ADDRESS_MAX + 2];
    size_t n = 0;
    FILE *f;

    if (p->address_file[0] == '\0' ||
        (f = fopen(p->address_file, "re")) == NULL) {
        return;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\r' || buf[n - 1] == '\t')) {
        n--;
    }
    buf[n] = '\0';
    if (n == 0) {
        return; /* none written: the configured address stays */
    }
    if (!batond_address_valid(buf)) {
        logf_(p->sup, BATON_LOG_WARN,
              "app %s: %s holds \"%.64s\", not host:port: ignored",
              app_name(p), p->address_file, buf);
        return;
    }
    logf_(p->sup, BATON_LOG_INFO, "app %s: publishes address %s",
          app_name(p), buf);
    if (p->sup->address != NULL) {
        p->sup->address(p->sup, p->app, buf);
    }
}

static void signal_group(struct batond_proc *p, int sig)
{
    if (p->pid > 0) {
        kill(-p->pid, sig);
    }
}

/* ---- the state machine ------------------------------------------------ */

static void monitor_start(struct batond_proc *p);
static void monitor_stop(struct batond_proc *p);

static void set_state(struct batond_proc *p, int state)
{
    bool gone = state == BATOND_PROC_IDLE && p->state != BATOND_PROC_IDLE;

    if (p->state == BATOND_PROC_READY && state != BATOND_PROC_READY) {
        monitor_stop(p); /* it watches a ready instance only */
    }
    p->state = state;
    p->since_ms = uv_now(p->sup->loop);
    if (gone) {
        /* The instance that started with them is gone. */
        drop_state(p);
        if (p->token_file[0] != '\0') {
            unlink(p->token_file);
        }
        if (p->address_file[0] != '\0') {
            unlink(p->address_file);
            p->address_file[0] = '\0';
        }
    }
    if (gone && p->sup->idle != NULL) {
        p->sup->idle(p->sup, p->app); /* its name goes (docs/control.md) */
    }
    if (state == BATOND_PROC_READY) {
        monitor_start(p);
    }
}

static void arm(struct batond_proc *p, uint64_t ms, uv_timer_cb cb)
{
    uv_timer_start(&p->timer, cb, ms, 0);
}

/* While draining: once every instance here is gone, batond may exit. */
static void check_drained(struct batond_sup *sup)
{
    void (*cb)(struct batond_sup *sup) = sup->drained;

    if (!sup->draining || cb == NULL) {
        return;
    }
    for (unsigned i = 0; i < sup->cfg->node->io.n_apps; i++) {
        /* An export still under way must reach the new owner first. */
        if (sup->procs[i].state != BATOND_PROC_IDLE ||
            sup->procs[i].exporter != NULL || sup->procs[i].hook != NULL) {
            return;
        }
    }
    sup->drained = NULL; /* once */
    uv_timer_stop(&sup->drain_timer);
    spare_close(sup);
    for (unsigned i = 0; i < sup->cfg->node->io.n_apps; i++) {
        /* The caller closes the rest of each instance's handles. */
        uv_close((uv_handle_t *)&sup->procs[i].monitor_timer, NULL);
        uv_close((uv_handle_t *)&sup->procs[i].hook_timer, NULL);
    }
    cb(sup);
}

/* ---- the health monitor (docs/design/supervision.md §6) ------------- */

static void on_monitor_timer(uv_timer_t *t);

static void monitor_start(struct batond_proc *p)
{
    p->monitor_fails = 0;
    p->monitor_ran = false;
    if (app_def(p)->monitor[0] != '\0') {
        /* The first check one interval after the instance got ready, as
         * every later one: a start that has just passed its ready check
         * needs no second one at once. */
        uv_timer_start(&p->monitor_timer, on_monitor_timer,
                       app_def(p)->monitor_interval_ms, 0);
    }
}

/* A monitor still running is killed with its group; its exit no longer
 * concerns the instance. */
static void monitor_kill(struct batond_proc *p)
{
    if (p->monitor != NULL) {
        if (p->monitor->proc.pid > 0) {
            kill(-p->monitor->proc.pid, SIGKILL);
        }
        p->monitor->owner = NULL;
        p->monitor = NULL;
    }
}

static void monitor_stop(struct batond_proc *p)
{
    uv_timer_stop(&p->monitor_timer);
    monitor_kill(p);
}

/* One check's outcome: a pass clears the count; monitor_failures
 * failures in a row kill the instance, and its end goes through
 * crashed() as any crash does: restarted per policy (a restart counted
 * against max_restarts), or failed over once none are left. */
static void monitor_result(struct batond_proc *p, bool ok, const char *why)
{
    const struct batond_app *a = app_def(p);

    p->monitor_ran = true;
    if (ok) {
        if (p->monitor_fails > 0) {
            logf_(p->sup, BATON_LOG_INFO, "app %s: monitor passes again",
                  app_name(p));
        }
        p->monitor_fails = 0;
    } else {
        p->monitor_fails++;
        logf_(p->sup, BATON_LOG_WARN, "app %s: monitor %s (%u of %u)",
              app_name(p), why, p->monitor_fails, a->monitor_failures);
    }
    if (p->monitor_fails < a->monitor_failures) {
        uv_timer_start(&p->monitor_timer, on_monitor_timer,
                       a->monitor_interval_ms, 0);
        return;
    }
    snprintf(p->kill_why, sizeof(p->kill_why),
             "failed its monitor %u times in a row", p->monitor_fails);
    logf_(p->sup, BATON_LOG_ERROR, "app %s: %s: SIGKILL (pid %d)", app_name(p),
          p->kill_why, p->pid);
    signal_group(p, SIGKILL); /* its exit then goes through crashed() */
}

/* Interval over: run the monitor. Its timeout over: it failed. */
static void on_monitor_timer(uv_timer_t *t)
{
    struct batond_proc *p = t->data;
    const struct batond_app *a = app_def(p);
    char why[64];

    if (p->state != BATOND_PROC_READY) {
        return;
    }
    if (p->monitor != NULL) {
        monitor_kill(p);
        snprintf(why, sizeof(why), "timed out after %" PRIu64 " ms",
                 a->monitor_timeout_ms);
        monitor_result(p, false, why);
        return;
    }
    p->monitor = spawn(p, a->monitor, ROLE_MONITOR, NULL);
    if (p->monitor == NULL) {
        monitor_result(p, false, "could not be run");
        return;
    }
    uv_timer_start(&p->monitor_timer, on_monitor_timer, a->monitor_timeout_ms,
                   0);
}

/* How helper c ended, into buf: "killed by signal N", or its status
 * as "<before>N<after>". Returns whether it succeeded (exit 0). */
static bool ended_how(const struct batond_child *c, const char *before,
                      const char *after, char *buf, size_t len)
{
    if (c->term_signal != 0) {
        snprintf(buf, len, "killed by signal %d", c->term_signal);
    } else {
        snprintf(buf, len, "%s%" PRId64 "%s", before, c->status, after);
    }
    return c->status == 0 && c->term_signal == 0;
}

static void on_monitor_exit(struct batond_proc *p, struct batond_child *c)
{
    char why[64];

    p->monitor = NULL;
    uv_timer_stop(&p->monitor_timer);
    monitor_result(p, ended_how(c, "failed (exit ", ")", why, sizeof(why)),
                   why);
}

const char *batond_proc_health(const struct batond_proc *p,
                               char *buf,
                               size_t len)
{
    const struct batond_app *a = app_def(p);

    if (a->monitor[0] == '\0' || p->state != BATOND_PROC_READY) {
        snprintf(buf, len, "-");
    } else if (!p->monitor_ran) {
        snprintf(buf, len, "unknown");
    } else if (p->monitor_fails == 0) {
        snprintf(buf, len, "healthy");
    } else {
        snprintf(buf, len, "failing %u/%u", p->monitor_fails,
                 a->monitor_failures);
    }
    return buf;
}

/* The instance's news for the core, through the node: READY finishes
 * the start (baton_app_started, also from inside cb_start for ready =
 * spawn; a restarted instance's READY again is lib_app_event's), the
 * rest end it. */
static void report(struct batond_proc *p, unsigned what)
{
    if (what != BATON_APP_EV_READY || baton_app_started(p->lib, 0) != 0) {
        lib_app_event(p->lib, what, p->epoch);
    }
    if (p->state == BATOND_PROC_IDLE) {
        check_drained(p->sup);
    }
}

static void spawn_app(struct batond_proc *p);
static void next_phase(struct batond_proc *p);

static void kill_helper(struct batond_proc *p)
{
    if (p->helper != NULL) {
        uv_process_kill(&p->helper->proc, SIGKILL);
        p->helper->owner = NULL; /* its exit no longer concerns us */
        p->helper = NULL;
    }
}

static void on_restart(uv_timer_t *t)
{
    struct batond_proc *p = t->data;

    if (p->state == BATOND_PROC_RESTARTING) {
        spawn_app(p);
    }
}

/* The instance crashed or could not get ready: restart it per policy, or
 * give up and tell the core (which fails it over). */
static void crashed(struct batond_proc *p, bool normal, const char *why)
{
    const struct batond_app *a = app_def(p);
    uint64_t now = uv_now(p->sup->loop);
    unsigned recent = 0;

    kill_helper(p);
    uv_timer_stop(&p->timer);
    if (normal && a->restart != BATOND_RESTART_PERMANENT) {
        logf_(p->sup, BATON_LOG_INFO, "app %s: ended normally (%s)",
              app_name(p), why);
        set_state(p, BATOND_PROC_IDLE);
        report(p, BATON_APP_EV_EXITED);
        return;
    }
    for (unsigned i = 0; i < p->n_restarts; i++) {
        recent += now - p->restart_ms[i] < a->restart_window_ms;
    }
    if (a->restart == BATOND_RESTART_TEMPORARY || recent >= a->max_restarts) {
        logf_(p->sup, BATON_LOG_ERROR,
              "app %s: %s; %s: failing it over", app_name(p), why,
              a->restart == BATOND_RESTART_TEMPORARY
                  ? "temporary, not restarted"
                  : "no restarts left");
        set_state(p, BATOND_PROC_IDLE);
        p->n_restarts = 0;
        report(p, BATON_APP_EV_FAILED);
        return;
    }
    if (p->n_restarts == BATON_ARRAY_LEN(p->restart_ms)) {
        memmove(p->restart_ms, p->restart_ms + 1,
                sizeof(p->restart_ms) - sizeof(p->restart_ms[0]));
        p->n_restarts--;
    }
    p->restart_ms[p->n_restarts++] = now;
    /* The restart is local: a takeover's state was the crashed
     * instance's to load, and is older than what it ran on since. */
    p->restarted = true;
    drop_state(p);
    logf_(p->sup, BATON_LOG_WARN, "app %s: %s; restarting (%u of %u within "
                                  "%" PRIu64 " ms)",
          app_name(p), why, recent + 1, a->max_restarts, a->restart_window_ms);
    set_state(p, BATOND_PROC_RESTARTING);
    /* After a short delay, so that a failing start cannot spin. */
    arm(p, RESTART_DELAY_MS, on_restart);
}

static void became_ready(struct batond_proc *p)
{
    uv_timer_stop(&p->timer);
    set_state(p, BATOND_PROC_PHASES);
    p->phase = 0;
    next_phase(p);
}

static void on_deadline(uv_timer_t *t)
{
    struct batond_proc *p = t->data;
    char why[96];

    if (p->state == BATOND_PROC_STOPPING) {
        logf_(p->sup, BATON_LOG_WARN,
              "app %s: still running %" PRIu64 " ms after the stop: SIGKILL",
              app_name(p), app_def(p)->stop_timeout_ms);
        signal_group(p, SIGKILL);
        return;
    }
    snprintf(why, sizeof(why), "not ready within %" PRIu64 " ms",
             app_def(p)->ready_timeout_ms);
    signal_group(p, SIGKILL); /* its exit then goes through crashed() */
    kill_helper(p);
    logf_(p->sup, BATON_LOG_WARN, "app %s: %s", app_name(p), why);
}

static void on_ready_poll(uv_timer_t *t)
{
    struct batond_proc *p = t->data;

    if (p->state != BATOND_PROC_STARTING || p->helper != NULL) {
        return;
    }
    if (uv_now(p->sup->loop) >= p->deadline_ms) {
        on_deadline(t);
        return;
    }
    p->helper = spawn(p, app_def(p)->ready_cmd, ROLE_READY, NULL);
    if (p->helper == NULL) {
        arm(p, READY_POLL_MS, on_ready_poll);
    }
}

static void next_phase(struct batond_proc *p)
{
    const struct batond_app *a = app_def(p);
    char extra[64];

    if (p->phase == a->n_phases) {
        uv_timer_stop(&p->timer);
        set_state(p, BATOND_PROC_READY);
        logf_(p->sup, BATON_LOG_INFO, "app %s: ready (pid %d, epoch %" PRIu64
                                      ", %s)",
              app_name(p), p->pid, p->epoch, start_type_name(p));
        /* Before the READY report: the name's new meta is written first,
         * as its re-point is before the start. */
        read_address(p);
        report(p, BATON_APP_EV_READY);
        return;
    }
    snprintf(extra, sizeof(extra), "BATON_PHASE=%u", p->phase + 1);
    p->helper = spawn(p, a->phases[p->phase], ROLE_PHASE, extra);
    if (p->helper == NULL) {
        signal_group(p, SIGKILL);
        return;
    }
    arm(p, a->ready_timeout_ms, on_deadline);
}

/* ---- hooks (docs/config.md "Hooks") ---------------------------------- */

static void spawn_app_now(struct batond_proc *p);

static void on_hook_timeout(uv_timer_t *t)
{
    struct batond_proc *p = t->data;

    if (p->hook != NULL && p->hook->proc.pid > 0) {
        logf_(p->sup, BATON_LOG_WARN,
              "app %s: %s still running after %" PRIu64 " ms: SIGKILL",
              app_name(p), p->hook_pre ? "pre_start" : "post_stop",
              app_def(p)->hook_timeout_ms);
        kill(-p->hook->proc.pid, SIGKILL); /* its exit: a failure */
    }
}

/* Runs pre_start (pre) or post_stop with BATON_REASON=reason. Returns
 * false if it could not be run (logged by spawn). */
static bool run_hook(struct batond_proc *p, bool pre, const char *reason)
{
    const struct batond_app *a = app_def(p);
    char extra[64];

    snprintf(extra, sizeof(extra), "BATON_REASON=%s", reason);
    p->hook = spawn(p, pre ? a->pre_start : a->post_stop,
                    pre ? ROLE_PRE_START : ROLE_POST_STOP, extra);
    if (p->hook == NULL) {
        return false;
    }
    p->hook_pre = pre;
    logf_(p->sup, BATON_LOG_INFO, "app %s: %s (%s) runs (pid %d)",
          app_name(p), pre ? "pre_start" : "post_stop", reason,
          p->hook->proc.pid);
    uv_timer_start(&p->hook_timer, on_hook_timeout, a->hook_timeout_ms, 0);
    return true;
}

/* The instance's process group ended here (reason: stop, exit, crash,
 * killed): post_stop cleans up after it. */
static void post_stop(struct batond_proc *p, const char *reason)
{
    if (app_def(p)->post_stop[0] == '\0') {
        return;
    }
    if (p->hook != NULL || !run_hook(p, false, reason)) {
        logf_(p->sup, BATON_LOG_ERROR, "app %s: post_stop (%s) not run%s",
              app_name(p), reason,
              p->hook != NULL ? ": a hook is still running" : "");
    }
}

static void pre_start(struct batond_proc *p)
{
    if (!run_hook(p, true, start_type_name(p))) {
        crashed(p, false, "pre_start could not be run");
    }
}

static void on_hook_exit(struct batond_proc *p, struct batond_child *c)
{
    bool waiting = p->state == BATOND_PROC_STARTING && p->child == NULL;
    char why[64];
    char text[96];
    bool ok = ended_how(c, "exit ", "", why, sizeof(why));

    p->hook = NULL;
    uv_timer_stop(&p->hook_timer);
    if (!p->hook_pre) {
        logf_(p->sup, ok ? BATON_LOG_INFO : BATON_LOG_WARN,
              "app %s: post_stop %s%s", app_name(p), ok ? "done" : "failed: ",
              ok ? "" : why);
    }
    if (p->start_waits && waiting) {
        /* A hook of the previous instance (its post_stop, or the
         * pre_start of a start stopped meanwhile) has ended: now this
         * start's own pre_start. */
        p->start_waits = false;
        pre_start(p);
        return;
    }
    if (!p->hook_pre) {
        check_drained(p->sup);
        return;
    }
    if (!waiting) {
        /* Stopped while pre_start ran: undo what it did. */
        logf_(p->sup, BATON_LOG_INFO,
              "app %s: pre_start ended (%s) after the stop", app_name(p),
              ok ? "ok" : why);
        post_stop(p, "stop");
        check_drained(p->sup);
        return;
    }
    if (!ok) {
        /* A failed start: restarted per the policy, or failed over. */
        snprintf(text, sizeof(text), "pre_start failed (%s)", why);
        crashed(p, false, text);
        return;
    }
    spawn_app_now(p);
}

/* ---- the lease, for the shim's own timer (supervision.md §8) --------- */

static uint64_t boot_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Hands the instance's lease end to its shim, as CLOCK_BOOTTIME ms: the
 * lease is on uv_now's clock (CLOCK_MONOTONIC, possibly the coarse one,
 * which never reads ahead of the precise one), so what is left of it is
 * measured against a fresh CLOCK_MONOTONIC read taken after the
 * CLOCK_BOOTTIME one, and rounded down: the shim's end is never later
 * than the core's. */
static void send_lease(struct batond_proc *p)
{
    struct batond_child *c = p->child;
    struct batond_shim_lease rec;
    uint64_t boot = boot_ns();
    uint64_t mono = uv_hrtime();
    uint64_t end_ns = p->lease_ms * 1000000u;
    uv_buf_t b;

    if (p->lease_ms == 0 || c == NULL || c->exited || !c->with_keep) {
        return;
    }
    memset(&rec, 0, sizeof(rec));
    rec.magic = BATOND_SHIM_LEASE_MAGIC;
    rec.until_ms = (boot + (end_ns > mono ? end_ns - mono : 0)) / 1000000u;
    if (rec.until_ms == 0) {
        rec.until_ms = 1; /* 0 is no lease to the shim */
    }
    b = uv_buf_init((char *)&rec, sizeof(rec));
    /* 16 bytes into a pipe the shim keeps draining: all or nothing
     * (PIPE_BUF). Should it fail, the shim keeps the earlier end and
     * kills the app early, never late. */
    if (uv_try_write((uv_stream_t *)&c->keep, &b, 1) != (int)sizeof(rec)) {
        logf_(p->sup, BATON_LOG_WARN,
              "app %s: could not hand the lease to its shim: it may be "
              "killed at the lease's previous end",
              app_name(p));
        return;
    }
    p->lease_boot_ms = rec.until_ms;
}

/* For the systemd watchdog (quorum.md §4.4): an instance under a lease
 * whose renewals stopped reaches its stop margin (the core stops it
 * then, and kills it at the lease end); until it is gone, this node's
 * leases are not being renewed. */
bool batond_sup_leases_renewed(const struct batond_sup *sup, uint64_t now_ms)
{
    for (unsigned i = 0; i < sup->cfg->node->io.n_apps; i++) {
        const struct batond_proc *p = &sup->procs[i];
        uint64_t margin = sup->cfg->node->io.apps[i].stop_margin_ms;

        if (p->state != BATOND_PROC_IDLE && p->lease_ms != 0 &&
            now_ms + margin >= p->lease_ms) {
            return false;
        }
    }
    return true;
}

/* Was the instance's end its shim's kill at lease end? Its lease, as
 * handed to the shim, has passed on CLOCK_BOOTTIME. */
static bool lease_over(const struct batond_proc *p)
{
    return p->lease_boot_ms != 0 &&
           boot_ns() / 1000000u >= p->lease_boot_ms;
}

/* Each start of the instance here, a local restart too: pre_start first
 * (after the previous instance's post_stop, if that still runs). */
static void spawn_app(struct batond_proc *p)
{
    if (app_def(p)->pre_start[0] == '\0') {
        spawn_app_now(p);
        return;
    }
    p->kill_why[0] = '\0';
    set_state(p, BATOND_PROC_STARTING); /* with no child yet */
    if (p->hook != NULL) {
        p->start_waits = true;
        return;
    }
    pre_start(p);
}

static void spawn_app_now(struct batond_proc *p)
{
    const struct batond_app *a = app_def(p);
    char state_env[BATON_PATH_MAX + 32];

    p->notified = false;
    p->kill_why[0] = '\0';
    make_address_file(p);
    if (p->sup->address != NULL) {
        /* A restart's instance publishes its own, or has the configured
         * one: not its crashed predecessor's. */
        p->sup->address(p->sup, p->app, NULL);
    }
    snprintf(state_env, sizeof(state_env), "BATON_STATE_FILE=%s",
             p->state_epoch == p->epoch && !p->restarted ? p->state_file : "");
    p->child = spawn(p, a->start, ROLE_APP, state_env);
    if (p->child == NULL) {
        p->pid = 0;
        crashed(p, false, "could not be spawned");
        return;
    }
    p->pid = p->child->proc.pid;
    set_state(p, BATOND_PROC_STARTING);
    send_lease(p); /* the lease the core gave with its START */
    p->deadline_ms = uv_now(p->sup->loop) + a->ready_timeout_ms;
    logf_(p->sup, BATON_LOG_INFO,
          "app %s: started (pid %d, epoch %" PRIu64 ", %s%s%s)", app_name(p),
          p->pid, p->epoch, start_type_name(p),
          p->from == BATON_NODE_NONE || p->restarted ? "" : " from ",
          p->from == BATON_NODE_NONE || p->restarted
              ? ""
              : p->sup->cfg->node->io.names[p->from]);
    switch (a->ready) {
    case BATOND_READY_SPAWN:
        became_ready(p);
        break;
    case BATOND_READY_COMMAND:
        arm(p, 0, on_ready_poll);
        break;
    default: /* notify: batonctl ready */
        arm(p, a->ready_timeout_ms, on_deadline);
        break;
    }
}

static void on_helper_exit(struct batond_proc *p, struct batond_child *c)
{
    bool ok = c->status == 0 && c->term_signal == 0;

    p->helper = NULL;
    if (p->state == BATOND_PROC_STARTING) {
        if (ok) {
            became_ready(p);
        } else if (uv_now(p->sup->loop) >= p->deadline_ms) {
            on_deadline(&p->timer);
        } else {
            arm(p, READY_POLL_MS, on_ready_poll);
        }
    } else if (p->state == BATOND_PROC_PHASES) {
        if (ok) {
            p->phase++;
            next_phase(p);
        } else {
            logf_(p->sup, BATON_LOG_WARN,
                  "app %s: start phase %u failed (exit %" PRId64 ")",
                  app_name(p), p->phase + 1, c->status);
            signal_group(p, SIGKILL);
        }
    }
}

static void on_exit_cb(uv_process_t *proc, int64_t status, int term_signal)
{
    struct batond_child *c = proc->data;
    struct batond_proc *p = c->owner;
    char why[96];

    c->exited = true;
    c->status = status;
    c->term_signal = term_signal;
    child_close(c);
    if (c->spare_of != NULL) {
        spare_ended(c);
        return;
    }
    if (p == NULL) {
        return;
    }
    if (c->is_helper) {
        if (p->hook == c) {
            on_hook_exit(p, c);
        } else if (p->helper == c) {
            on_helper_exit(p, c);
        } else if (p->exporter == c) {
            on_exporter_exit(p, c);
        } else if (p->monitor == c) {
            on_monitor_exit(p, c);
        }
        return;
    }
    if (p->child != c) {
        return;
    }
    p->child = NULL;
    p->pid = 0;
    kill_helper(p);
    post_stop(p, p->state == BATOND_PROC_STOPPING ? "stop"
                 : p->kill_why[0] != '\0'        ? "killed"
                 : term_signal == 0 && status == 0 ? "exit"
                                                   : "crash");
    if (p->state == BATOND_PROC_STOPPING) {
        uv_timer_stop(&p->timer);
        set_state(p, BATOND_PROC_IDLE);
        /* After a takeover this is the overlap: the new instance was
         * running when the stop was ordered. */
        logf_(p->sup, BATON_LOG_INFO,
              "app %s: stopped, %" PRIu64 " ms after the stop was ordered "
              "(the overlap, if it moved)",
              app_name(p), uv_now(p->sup->loop) - p->stop_ms);
        report(p, BATON_APP_EV_STOPPED);
        return;
    }
    if (lease_over(p)) {
        /* The shim's kill at lease end (batond was frozen, or slow):
         * no restart without a lease. The core, whose lease ended too,
         * orders the stop, which then finds the instance gone. */
        uv_timer_stop(&p->timer);
        logf_(p->sup, BATON_LOG_WARN,
              "app %s: killed by its shim at its lease's end; waiting for "
              "the stop",
              app_name(p));
        set_state(p, BATOND_PROC_RESTARTING);
        return;
    }
    if (p->kill_why[0] != '\0') {
        snprintf(why, sizeof(why), "%s", p->kill_why);
        term_signal = SIGKILL; /* whatever the shim said: a crash */
    } else if (term_signal != 0) {
        snprintf(why, sizeof(why), "killed by signal %d", term_signal);
    } else {
        snprintf(why, sizeof(why), "exited with status %" PRId64, status);
    }
    crashed(p, term_signal == 0 && status == 0, why);
}

static void start(struct batond_proc *p, uint64_t epoch, uint8_t type,
                  uint8_t from)
{
    if (p->state != BATOND_PROC_IDLE) {
        logf_(p->sup, BATON_LOG_ERROR,
              "app %s: asked to start while %s: ignored", app_name(p),
              batond_proc_state_name(p->state));
        return;
    }
    p->epoch = epoch;
    p->type = type;
    p->from = from;
    p->n_restarts = 0;
    p->restarted = false;
    p->lease_ms = 0;
    p->lease_boot_ms = 0;
    keep_token(p, epoch);
    spawn_app(p);
}

static void stop(struct batond_proc *p)
{
    const struct batond_app *a = app_def(p);

    /* A second stop (the core's STOP after batond's own drain) changes
     * nothing: it must not cancel the stop command nor the SIGKILL that
     * stop_timeout has armed, or an app that missed its SIGTERM runs on
     * and batond never exits. */
    if (p->state == BATOND_PROC_IDLE || p->state == BATOND_PROC_STOPPING) {
        return;
    }
    kill_helper(p);
    uv_timer_stop(&p->timer);
    p->start_waits = false;
    if (p->child == NULL) { /* between restarts, or before pre_start's end */
        set_state(p, BATOND_PROC_IDLE);
        report(p, BATON_APP_EV_STOPPED);
        return;
    }
    set_state(p, BATOND_PROC_STOPPING);
    p->stop_ms = uv_now(p->sup->loop);
    if (a->stop[0] != '\0') {
        p->helper = spawn(p, a->stop, ROLE_STOP, NULL);
    }
    if (p->helper == NULL) {
        signal_group(p, SIGTERM);
    }
    arm(p, a->stop_timeout_ms, on_deadline);
}

/* ---- the node's app callbacks ----------------------------------------- */

static int cb_start(struct baton_app *app, int type, const char *from_node,
                    uint64_t epoch)
{
    struct batond_proc *p = baton_app_data(app);
    int from = from_node != NULL ? lib_node_id(app->b, from_node) : -1;

    /* A draining node starts nothing (it gave its permits up). */
    if (!p->sup->draining) {
        start(p, epoch, (uint8_t)type,
              from < 0 ? BATON_NODE_NONE : (uint8_t)from);
    }
    return BATON_EAGAIN; /* report() says READY once it is ready */
}

static void cb_stop(struct baton_app *app, int reason, const char *to_node)
{
    (void)reason, (void)to_node;
    stop(baton_app_data(app));
}

static int cb_export(struct baton_app *app, void **data, size_t *len)
{
    (void)data, (void)len;
    return start_export(baton_app_data(app));
}

/* Just before cb_start of a takeover, under its epoch: the state goes
 * to the file its start names (BATON_STATE_FILE). */
static void cb_import(struct baton_app *app, const void *data, size_t len)
{
    keep_state(baton_app_data(app), app->epoch, data, len);
}

static void cb_token(struct baton_app *app, uint64_t epoch)
{
    struct batond_proc *p = baton_app_data(app);

    if (p->state != BATOND_PROC_IDLE && epoch > p->token) {
        logf_(p->sup, BATON_LOG_INFO,
              "app %s: token now %" PRIu64 " (was %" PRIu64 "): %s",
              app_name(p), epoch, p->token, p->token_file);
        keep_token(p, epoch);
    }
}

/* The core's KILL: the lease ended before the instance was gone (its
 * stop hangs, or batond woke from a freeze past the lease's end). */
static void fence_kill(struct baton_app *app)
{
    struct batond_proc *p = baton_app_data(app);

    if (p->pid <= 0) {
        return; /* gone already (its shim's timer, or between restarts) */
    }
    logf_(p->sup, BATON_LOG_WARN,
          "app %s: its lease ended before it stopped: SIGKILL (pid %d)",
          app_name(p), p->pid);
    kill_helper(p); /* a stop command still running */
    signal_group(p, SIGKILL);
}

static void fence_lease(struct baton_app *app, uint64_t until_ms)
{
    struct batond_proc *p = baton_app_data(app);

    if (p->state == BATOND_PROC_IDLE) {
        return;
    }
    p->lease_ms = until_ms;
    send_lease(p);
}

static const struct lib_fence sup_fence = {
    .kill = fence_kill,
    .lease = fence_lease,
};

static const struct baton_app_callbacks sup_callbacks = {
    .start = cb_start,
    .stop = cb_stop,
    .export_state = cb_export,
    .import_state = cb_import,
    .token = cb_token,
};

void batond_sup_attach(struct batond_sup *sup, struct baton *node)
{
    void *data[BATON_APPS_MAX];

    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        data[i] = &sup->procs[i];
    }
    lib_apps_adopt(node, &sup_callbacks, data);
    lib_apps_fence(node, &sup_fence);
    for (unsigned i = 0; i < node->n_apps; i++) {
        sup->procs[i].lib = &node->apps[i];
    }
}

int batond_sup_ready(struct batond_sup *sup, unsigned app)
{
    struct batond_proc *p;

    if (app >= sup->cfg->node->io.n_apps) {
        return BATON_EINVAL;
    }
    p = &sup->procs[app];
    if (p->state != BATOND_PROC_STARTING || p->child == NULL ||
        sup->cfg->apps[app].ready != BATOND_READY_NOTIFY) {
        return BATON_EINVAL;
    }
    became_ready(p);
    return 0;
}

void batond_sup_stop_all(struct batond_sup *sup)
{
    for (unsigned i = 0; i < sup->cfg->node->io.n_apps; i++) {
        stop(&sup->procs[i]);
    }
}

static void on_drain_deadline(uv_timer_t *t)
{
    struct batond_sup *sup = t->data;

    logf_(sup, BATON_LOG_WARN,
          "apps not handed over after %" PRIu64 " ms: stopping them here",
          sup->handover_ms);
    batond_sup_stop_all(sup);
}

void batond_sup_drain(struct batond_sup *sup,
                      void (*cb)(struct batond_sup *sup))
{
    const struct batond_config *cfg = sup->cfg;

    sup->draining = true;
    sup->drained = cb;
    /* The instances stay until the core stops them: its takeover exports
     * each one's state while it still runs, and the new owner starts
     * with it (docs/design/supervision.md, Shutdown). The bound covers
     * the export and the new instance's readiness, plus a second for
     * the decisions; past it they stop here anyway. */
    sup->handover_ms = 0;
    for (unsigned i = 0; i < cfg->node->io.n_apps; i++) {
        const struct batond_app *a = &cfg->apps[i];
        if (sup->procs[i].state != BATOND_PROC_IDLE) {
            sup->handover_ms =
                BATON_MAX(sup->handover_ms,
                          a->export_timeout_ms + a->ready_timeout_ms + 1000);
        }
    }
    for (unsigned i = 0; i < cfg->node->io.n_apps; i++) {
        struct batond_proc *p = &sup->procs[i];
        if (p->state == BATOND_PROC_RESTARTING) {
            stop(p); /* between restarts: nothing to hand over */
        }
    }
    if (sup->drained != NULL) {
        uv_timer_start(&sup->drain_timer, on_drain_deadline,
                       sup->handover_ms, 0);
    }
    check_drained(sup);
}

/* Makes dir and its missing parents: the parents 755, dir itself 711
 * (an app running as another user reaches its own 600 files there, and
 * nobody lists them). Under /tmp, the first level must be batond's own
 * directory and nobody else's: it is checked, not trusted. Returns 0 or
 * -1 with errno set. */
static int make_dirs(char *dir, const char *own)
{
    struct stat st;
    size_t own_len = own != NULL ? strlen(own) : 0;

    for (char *s = strchr(dir + 1, '/');; s = strchr(s + 1, '/')) {
        bool leaf = s == NULL;
        if (!leaf) {
            *s = '\0';
        }
        if (mkdir(dir, leaf || own_len > 0 ? 0711 : 0755) != 0 &&
            errno != EEXIST) {
            if (!leaf) {
                *s = '/';
            }
            return -1;
        }
        if (own_len > 0 && strlen(dir) == own_len &&
            (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
             st.st_uid != geteuid() || (st.st_mode & 022) != 0)) {
            if (!leaf) {
                *s = '/';
            }
            errno = EPERM; /* someone else's, or a link: not ours */
            return -1;
        }
        if (leaf) {
            return 0;
        }
        *s = '/';
    }
}

/* The default state_dir (docs/config.md): BASE/CLUSTER/NODE, BASE being
 * /var/lib/baton for root (if it can be made), else $XDG_RUNTIME_DIR/
 * baton, else /tmp/baton-UID; CLUSTER 8 hex digits of a hash of the
 * cookie, so that two clusters on one host with the same node names
 * keep apart, and a cookie cannot be read back from it. *own: the part
 * that must be batond's own (under /tmp), or NULL. */
static void default_state_dir(struct batond_sup *sup, char *own, size_t own_len)
{
    const struct lib_config *c = sup->cfg->node;
    static const char label[] = "baton state_dir";
    crypto_generichash_state h;
    uint8_t tag[crypto_generichash_BYTES_MIN];
    char base[300];
    const char *xdg = getenv("XDG_RUNTIME_DIR");

    crypto_generichash_init(&h, NULL, 0, sizeof(tag));
    crypto_generichash_update(&h, (const uint8_t *)label, sizeof(label));
    crypto_generichash_update(&h, c->io.cookie, c->io.cookie_len);
    crypto_generichash_final(&h, tag, sizeof(tag));
    own[0] = '\0';
    if (geteuid() == 0 &&
        (mkdir("/var/lib/baton", 0755) == 0 || errno == EEXIST) &&
        access("/var/lib/baton", W_OK | X_OK) == 0) {
        snprintf(base, sizeof(base), "/var/lib/baton");
    } else if (xdg != NULL && xdg[0] == '/' && strlen(xdg) < 256) {
        snprintf(base, sizeof(base), "%s/baton", xdg);
    } else {
        snprintf(base, sizeof(base), "/tmp/baton-%u", (unsigned)geteuid());
        snprintf(own, own_len, "/tmp/baton-%u", (unsigned)geteuid());
    }
    snprintf(sup->state_dir, sizeof(sup->state_dir), "%s/%02x%02x%02x%02x/%s",
             base, tag[0], tag[1], tag[2], tag[3], c->self_name);
}

/* state_dir: the configured one or the default, made now if an app may
 * run here (a failure is logged here, and again by the first file that
 * cannot be written). */
static void state_dir_init(struct batond_sup *sup)
{
    char own[64] = "";
    const char *set = sup->cfg->node->state_dir;

    if (set[0] != '\0') {
        size_t len = strlen(set); /* resolved against the file's dir */
        if (len >= sizeof(sup->state_dir)) {
            logf_(sup, BATON_LOG_ERROR, "state_dir %s: too long", set);
            return;
        }
        memcpy(sup->state_dir, set, len + 1);
    } else {
        default_state_dir(sup, own, sizeof(own));
    }
    /* No app will want a file here, nor the Raft store (quorum mode,
     * kept in raft/ here even on a witness): no directory either. */
    if ((apps_may_run_here(sup) || quorum_here(sup)) &&
        (sup->state_dir[0] != '/' ||
         make_dirs(sup->state_dir, own[0] != '\0' ? own : NULL) != 0)) {
        logf_(sup, BATON_LOG_ERROR, "state_dir %s: %s", sup->state_dir,
              sup->state_dir[0] != '/' ? "not an absolute path"
                                       : strerror(errno));
    }
    /* Once made: test_restarts reads this line, then looks. */
    logf_(sup, BATON_LOG_DEBUG, "state_dir %s", sup->state_dir);
}

static void proc_init(struct batond_sup *sup, unsigned i)
{
    struct batond_proc *p = &sup->procs[i];

    p->sup = sup;
    p->app = i;
    uv_timer_init(sup->loop, &p->timer);
    p->timer.data = p;
    uv_timer_init(sup->loop, &p->export_timer);
    p->export_timer.data = p;
    uv_timer_init(sup->loop, &p->monitor_timer);
    p->monitor_timer.data = p;
    uv_timer_init(sup->loop, &p->hook_timer);
    p->hook_timer.data = p;
    p->since_ms = uv_now(sup->loop);
}

int batond_sup_add(struct batond_sup *sup, struct baton *node, unsigned app)
{
    struct batond_proc *p;
    struct baton_app *a;

    if (app >= BATON_APPS_MAX) {
        return BATON_EINVAL;
    }
    p = &sup->procs[app];
    if (p->state != BATOND_PROC_IDLE || p->child != NULL || p->helper != NULL ||
        p->hook != NULL) {
        return BATON_ESTATE; /* a removed app's leftovers still run */
    }
    if (p->sup == NULL) {
        proc_init(sup, app); /* an index never used before */
    }
    /* A new app at this index: nothing of the last one's carries over. */
    p->n_restarts = 0;
    p->restarted = false;
    p->monitor_fails = 0;
    p->kill_why[0] = '\0';
    a = lib_app_handle(node, app, LIB_APP, &sup_callbacks, p);
    a->supervised = true;
    p->lib = a;
    return 0;
}

int batond_sup_init(struct batond_sup *sup, uv_loop_t *loop,
                    const struct batond_config *cfg, baton_log_fn log,
                    void *log_data)
{
    ssize_t n;

    memset(sup, 0, sizeof(*sup));
    sup->loop = loop;
    sup->cfg = cfg;
    sup->log = log;
    sup->log_data = log_data;
    n = readlink("/proc/self/exe", sup->exe, sizeof(sup->exe) - 1);
    if (n <= 0) {
        logf_(sup, BATON_LOG_ERROR, "cannot find batond's own executable: %s",
              strerror(errno));
        return BATON_EIO;
    }
    sup->exe[n] = '\0';
    state_dir_init(sup);
    /* The helpers (ready checks, monitors, state_export, stop) are
     * started by libuv, which closes nothing in the child: whatever
     * batond inherited without FD_CLOEXEC (an fd its parent leaked)
     * would reach them. batond's own fds are all close-on-exec. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        logf_(sup, BATON_LOG_WARN,
              "cannot mark inherited fds close-on-exec: %s (helpers may "
              "inherit them)",
              strerror(errno));
    }
    uv_timer_init(loop, &sup->drain_timer);
    sup->drain_timer.data = sup;
    uv_timer_init(loop, &sup->spare_timer);
    sup->spare_timer.data = sup;
    /* The first spare once the loop runs (and the caller has said if it
     * wants one): before the first start, as a rule. */
    uv_timer_start(&sup->spare_timer, on_spare_timer, 0, 0);
    for (unsigned i = 0; i < cfg->node->io.n_apps; i++) {
        proc_init(sup, i);
    }
    return 0;
}
