/* libbaton in one process: bad input gets clear errors, and a one-node
 * cluster runs every kind of object through its callbacks (cmocka).
 * Three-node behaviour is in test/integration/test_lib.sh. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include <baton/baton.h>

static char dir[64];
static char cfg_path[128];
/* ", worker": node a never coordinates (b does, while it lives). */
static const char *a_role = "";
static pid_t kid_pid = -1; /* a child node: killed by teardown if a test
                            * fails before it does */

static void write_file(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

/* A one-node cluster config on a free-ish loopback port. */
static void make_config(const char *extra)
{
    char text[1024], path[160];
    int port = 40000 + (int)(getpid() % 20000);

    snprintf(path, sizeof(path), "%s/cookie", dir);
    write_file(path, "test-cookie-0123456789\n", 0600);
    snprintf(text, sizeof(text),
             "[node]\nname = a@local\ncookie_file = cookie\n"
             "[cluster]\nheartbeat_ms = 20\n"
             "[nodes]\na@local = 127.0.0.1:%d%s\nb@local = 127.0.0.1:%d\n%s",
             port, a_role, port + 1, extra);
    write_file(cfg_path, text, 0600);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/baton-libtest.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cfg_path, sizeof(cfg_path), "%s/a.ini", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    if (kid_pid > 0) {
        kill(kid_pid, SIGKILL);
        (void)waitpid(kid_pid, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void quiet(void *data, int level, const char *text)
{
    (void)data;
    (void)level;
    (void)text;
}

static struct baton *new_node(uv_loop_t *loop)
{
    struct baton_options o;
    struct baton *b = NULL;
    char err[256];

    memset(&o, 0, sizeof(o));
    o.config_file = cfg_path;
    o.loop = loop;
    o.log = quiet;
    assert_int_equal(baton_new(&b, &o, err, sizeof(err)), 0);
    return b;
}

/* ---- bad input -------------------------------------------------------- */

static void test_bad_config(void **state)
{
    struct baton_options o;
    struct baton *b = (struct baton *)1;
    char err[256];

    (void)state;
    memset(&o, 0, sizeof(o));
    o.config_file = "/nonexistent/baton.ini";
    assert_int_equal(baton_new(&b, &o, err, sizeof(err)), BATON_EINVAL);
    assert_null(b);
    assert_non_null(strstr(err, "/nonexistent/baton.ini: cannot read"));

    make_config("[app web]\nnodes = a@local\nstart = /bin/true\n");
    assert_int_equal(baton_new(&b, &o, err, sizeof(err)), BATON_EINVAL);
    assert_null(b);
    o.config_file = cfg_path;
    assert_int_equal(baton_new(&b, &o, err, sizeof(err)), BATON_EINVAL);
    assert_non_null(strstr(err, "[app web]: [app] sections are batond's"));

    make_config("[nodes]\nbroken line\n");
    assert_int_equal(baton_new(&b, &o, err, sizeof(err)), BATON_EINVAL);
    assert_non_null(strstr(err, "a.ini:"));
}

static int dummy_start(struct baton_app *app, int type, const char *from,
                       uint64_t epoch)
{
    (void)app;
    (void)type;
    (void)from;
    (void)epoch;
    return 0;
}

static void dummy_stop(struct baton_app *app, int reason, const char *to)
{
    (void)app;
    (void)reason;
    (void)to;
}

static void dummy_elected(struct baton_group *g, const char *joined,
                          void **sync, size_t *len)
{
    (void)g;
    (void)joined;
    *sync = NULL;
    *len = 0;
}

static void dummy_surrendered(struct baton_group *g, const char *leader,
                              const void *sync, size_t len)
{
    (void)g;
    (void)leader;
    (void)sync;
    (void)len;
}

static void dummy_leader_call(struct baton_group *g,
                              struct baton_request *req, const void *msg,
                              size_t len)
{
    (void)g;
    (void)baton_reply(req, msg, len);
}

static const struct baton_app_callbacks app_cbs = {
    .start = dummy_start, .stop = dummy_stop};
static const struct baton_group_callbacks group_cbs = {
    .elected = dummy_elected,
    .surrendered = dummy_surrendered,
    .handle_leader_call = dummy_leader_call,
};

static void test_bad_declarations(void **state)
{
    struct baton_app_options ao;
    struct baton *b;
    uv_loop_t loop;

    (void)state;
    make_config("");
    uv_loop_init(&loop);
    b = new_node(&loop);
    memset(&ao, 0, sizeof(ao));
    ao.nodes = "a@local, x@local";
    assert_int_equal(baton_app_add(b, "web", &ao, &app_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "x@local is not listed"));
    ao.nodes = "a@local";
    assert_int_equal(baton_app_add(b, "bad name", &ao, &app_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_int_equal(baton_app_add(b, "web", &ao, &app_cbs, NULL, NULL), 0);
    assert_int_equal(baton_app_add(b, "web", &ao, &app_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "added twice"));
    /* Quorum mode: the checks of batond's [app] (heartbeat_ms = 20). */
    ao.mode = BATON_MODE_QUORUM;
    ao.lease_ms = 79;
    assert_int_equal(baton_app_add(b, "q", &ao, &app_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "lease_ms = 79: not in 80..60000"));
    ao.lease_ms = 0;
    ao.stop_margin_ms = 41;
    assert_int_equal(baton_app_add(b, "q", &ao, &app_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "stop_margin_ms = 41: not in 1..40"));
    ao.mode = 2;
    ao.stop_margin_ms = 0;
    assert_int_equal(baton_app_add(b, "q", &ao, &app_cbs, NULL, NULL),
                     BATON_EINVAL);
    ao.mode = BATON_MODE_AVAILABLE;
    ao.lease_ms = 1000;
    assert_int_equal(baton_app_add(b, "q", &ao, &app_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "only for mode = quorum"));
    /* A margin of 250 ms against an election timeout of 4 x 20 ms: every
     * lease would lapse before its renewal. */
    ao.mode = BATON_MODE_QUORUM;
    assert_int_equal(baton_app_add(b, "q", &ao, &app_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "stop_margin_ms = 250: the "
                                            "election timeout (heartbeat_ms "
                                            "20 x heartbeat_miss 4 = 80 ms)"));
    ao.lease_ms = 0; /* 80 ms, and a margin of 20 ms: 80 > 20 + 20 + 10 */
    assert_int_equal(baton_app_add(b, "q", &ao, &app_cbs, NULL, NULL), 0);
    memset(&ao, 0, sizeof(ao));
    ao.nodes = "a@local";
    assert_int_equal(baton_group_add(b, "g", "b@local", NULL, &group_cbs,
                                     NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "neither a candidate"));
    assert_int_equal(baton_group_add(b, "g", "{a@local b@local}", NULL,
                                     &group_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "candidates are an order"));
    assert_int_equal(baton_group_add(b, "g", "a@local", "a@local",
                                     &group_cbs, NULL, NULL),
                     BATON_EINVAL);
    assert_non_null(strstr(baton_errmsg(b), "both a candidate and a worker"));
    /* Names and calls need a started node. */
    assert_int_equal(baton_send(b, "x", "y", 1), BATON_ESTATE);
    assert_int_equal(baton_whereis(b, "x", NULL, NULL), BATON_ENOTFOUND);
    baton_close(b, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- a one-node cluster ----------------------------------------------- */

struct world {
    uv_loop_t loop;
    struct baton *b;
    struct baton_app *app, *single;
    struct baton_group *g;
    int app_started, app_type, app_stopped, stop_reason;
    int single_started;
    int elected, terminated, handled_cast, infos;
    int registered, reg_status, lost;
    int calls_answered, call_status;
    char reply[64];
    int leader_answered;
    int local_answered;
    int messages;
    int step;
    bool closed;
    uv_timer_t timer;
};

static struct world W;

static int w_start(struct baton_app *app, int type, const char *from,
                   uint64_t epoch)
{
    (void)from;
    assert_true(epoch > 0);
    if (app == W.app) {
        W.app_started++;
        W.app_type = type;
    } else {
        W.single_started++;
    }
    return 0;
}

static void w_stop(struct baton_app *app, int reason, const char *to)
{
    (void)to;
    if (app == W.app) {
        W.app_stopped++;
        W.stop_reason = reason;
    }
}

static void w_elected(struct baton_group *g, const char *joined, void **sync,
                      size_t *len)
{
    (void)g;
    assert_null(joined);
    W.elected++;
    *sync = strdup("sync");
    *len = 4;
}

static void w_leader_cast(struct baton_group *g, const void *msg, size_t len)
{
    (void)g;
    assert_int_equal(len, 4);
    assert_memory_equal(msg, "cast", 4);
    W.handled_cast++;
}

static void w_handle_call(struct baton_group *g, struct baton_request *req,
                          const void *msg, size_t len)
{
    (void)g;
    (void)baton_reply(req, msg, len);
}

static void w_info(struct baton_group *g, const void *msg, size_t len)
{
    (void)g;
    (void)msg;
    (void)len;
    W.infos++;
}

static void w_terminate(struct baton_group *g, int reason)
{
    (void)g;
    assert_int_equal(reason, BATON_STOP_SHUTDOWN);
    W.terminated++;
}

static const struct baton_app_callbacks w_app_cbs = {.start = w_start,
                                                     .stop = w_stop};
static const struct baton_group_callbacks w_group_cbs = {
    .elected = w_elected,
    .surrendered = dummy_surrendered,
    .handle_leader_call = dummy_leader_call,
    .handle_leader_cast = w_leader_cast,
    .handle_call = w_handle_call,
    .handle_info = w_info,
    .terminate = w_terminate,
};

static void on_message(void *data, const char *name, const void *msg,
                       size_t len)
{
    (void)data;
    (void)name;
    (void)msg;
    (void)len;
    W.messages++;
}

static void on_call(void *data, const char *name, struct baton_request *req,
                    const void *msg, size_t len)
{
    char out[64];
    int n;
    (void)data;
    n = snprintf(out, sizeof(out), "%s:%.*s", name, (int)len,
                 (const char *)msg);
    (void)baton_reply(req, out, (size_t)n);
}

static void on_lost(void *data, const char *name, int reason)
{
    (void)data;
    (void)name;
    (void)reason;
    W.lost++;
}

static const struct baton_handler handler = {
    .message = on_message, .call = on_call, .lost = on_lost};

static void registered(void *data, int status)
{
    (void)data;
    W.registered++;
    W.reg_status = status;
}

static void answered(void *data, int status, const void *reply, size_t len)
{
    int *counter = data;
    (*counter)++;
    W.call_status = status;
    snprintf(W.reply, sizeof(W.reply), "%.*s", (int)len,
             reply ? (const char *)reply : "");
}

static void closed_flag(void *data)
{
    *(bool *)data = true;
}

static void closed(void *data)
{
    (void)data;
    W.closed = true;
}

/* Drives the steps one at a time, each when the previous one's effect is
 * visible; fails the test if a step takes over 5 s. */
static void on_timer(uv_timer_t *t)
{
    static uint64_t since;
    uint64_t now = uv_now(t->loop);
    bool done = false;
    const char *node = NULL;

    if (since == 0) {
        since = now;
    }
    if (now - since > 5000) {
        fail_msg("step %d did not finish in 5 s", W.step);
    }
    switch (W.step) {
    case 0: /* the app, the singleton and the group start here */
        done = W.app_started == 1 && W.single_started == 1 &&
               W.elected == 1 && baton_group_is_leader(W.g);
        if (done) {
            assert_int_equal(W.app_type, BATON_START_NORMAL);
            assert_string_equal(baton_app_where(W.app, NULL), "a@local");
            assert_string_equal(baton_group_leader(W.g), "a@local");
            assert_int_equal(baton_register(W.b, "svc", &handler, NULL,
                                            registered, NULL),
                             0);
        }
        break;
    case 1:
        done = W.registered == 1;
        if (done) {
            assert_int_equal(W.reg_status, 0);
            assert_int_equal(baton_whereis(W.b, "svc", &node, NULL), 0);
            assert_string_equal(node, "a@local");
            assert_int_equal(baton_register(W.b, "svc", &handler, NULL,
                                            registered, NULL),
                             0);
        }
        break;
    case 2:
        done = W.registered == 2;
        if (done) {
            assert_int_equal(W.reg_status, BATON_ENAMETAKEN);
            assert_int_equal(baton_call(W.b, "svc", "hi", 2, 1000, answered,
                                        &W.calls_answered),
                             0);
            assert_int_equal(baton_send(W.b, "svc", "m", 1), 0);
            assert_int_equal(baton_send(W.b, "nobody", "m", 1),
                             BATON_ENOTFOUND);
            assert_int_equal(baton_register(W.b, "bad name", &handler, NULL,
                                            registered, NULL),
                             BATON_EINVAL);
        }
        break;
    case 3:
        done = W.calls_answered == 1 && W.messages == 1;
        if (done) {
            assert_int_equal(W.call_status, 0);
            assert_string_equal(W.reply, "svc:hi");
            assert_int_equal(baton_call(W.b, "nobody", "x", 1, 1000,
                                        answered, &W.calls_answered),
                             0);
        }
        break;
    case 4:
        done = W.calls_answered == 2;
        if (done) {
            assert_int_equal(W.call_status, BATON_ENOTFOUND);
            assert_int_equal(baton_leader_call(W.g, "lc", 2, 1000, answered,
                                               &W.leader_answered),
                             0);
            assert_int_equal(baton_leader_cast(W.g, "cast", 4), 0);
            assert_int_equal(baton_group_call(W.g, "gc", 2, 1000, answered,
                                              &W.local_answered),
                             0);
            assert_int_equal(baton_group_info(W.g, "i", 1), 0);
        }
        break;
    case 5:
        done = W.leader_answered == 1 && W.local_answered == 1 &&
               W.handled_cast == 1 && W.infos == 1;
        if (done) {
            assert_int_equal(baton_unregister(W.b, "svc", registered, NULL),
                             0);
        }
        break;
    case 6:
        done = W.registered == 3;
        if (done) {
            assert_int_equal(W.reg_status, 0);
            assert_int_equal(baton_whereis(W.b, "svc", NULL, NULL),
                             BATON_ENOTFOUND);
            assert_int_equal(W.lost, 0);
            uv_timer_stop(t);
            uv_close((uv_handle_t *)t, NULL);
            baton_close(W.b, closed, NULL);
            return;
        }
        break;
    default:
        break;
    }
    if (done) {
        W.step++;
        since = now;
    }
}

static void test_one_node(void **state)
{
    struct baton_app_options ao;

    (void)state;
    memset(&W, 0, sizeof(W));
    make_config("");
    uv_loop_init(&W.loop);
    W.b = new_node(&W.loop);
    memset(&ao, 0, sizeof(ao));
    ao.nodes = "a@local, b@local";
    assert_int_equal(baton_app_add(W.b, "web", &ao, &w_app_cbs, NULL, &W.app),
                     0);
    assert_int_equal(baton_singleton_add(W.b, "single", &w_app_cbs, NULL,
                                         &W.single),
                     0);
    assert_int_equal(baton_group_add(W.b, "grp", "a@local, b@local", NULL,
                                     &w_group_cbs, NULL, &W.g),
                     0);
    {
        const char *names[4];
        assert_int_equal(baton_group_candidates(W.g, names, 4), 2);
        assert_string_equal(names[0], "a@local");
        assert_string_equal(names[1], "b@local");
        assert_int_equal(baton_group_workers(W.g, names, 4), 0);
    }
    {
        struct baton_status_info si;
        struct baton_peer_info pi;
        /* Nothing is known before the start. */
        assert_int_equal(baton_status_get(W.b, &si), BATON_ESTATE);
        assert_int_equal(baton_peer_get(W.b, 0, &pi), BATON_ESTATE);
    }
    assert_int_equal(baton_start(W.b), 0);
    assert_int_equal(baton_start(W.b), BATON_ESTATE);
    {
        /* Apps may come and go after the start (docs/design/apps.md
         * §1.1), singletons and groups not. Removed before the
         * coordinator places it (a heartbeat after it is defined),
         * "late" never starts. */
        struct baton_app *late = NULL;
        struct baton_app *again = NULL;
        assert_int_equal(
            baton_app_add(W.b, "late", &ao, &w_app_cbs, NULL, &late), 0);
        assert_non_null(late);
        assert_int_equal(
            baton_app_add(W.b, "late", &ao, &w_app_cbs, NULL, NULL),
            BATON_EINVAL);
        assert_int_equal(baton_app_remove(late), 0);
        assert_int_equal(
            baton_app_add(W.b, "late", &ao, &w_app_cbs, NULL, &again), 0);
        assert_ptr_equal(again, late); /* its index, gone here, reused */
        assert_int_equal(baton_app_remove(again), 0);
        assert_int_equal(baton_app_remove(W.single), BATON_EINVAL);
        assert_int_equal(
            baton_singleton_add(W.b, "late1", &w_app_cbs, NULL, NULL),
            BATON_ESTATE);
    }
    uv_timer_init(&W.loop, &W.timer);
    uv_timer_start(&W.timer, on_timer, 10, 10);
    uv_run(&W.loop, UV_RUN_DEFAULT);
    assert_true(W.closed);
    assert_int_equal(W.app_stopped, 1);
    assert_int_equal(W.stop_reason, BATON_STOP_SHUTDOWN);
    assert_int_equal(W.terminated, 1);
    assert_int_equal(uv_loop_close(&W.loop), 0);
}

/* A port taken by someone else: baton_start fails, naming the address,
 * and closing afterwards frees everything once the driver has closed. */
static void test_start_fails(void **state)
{
    struct sockaddr_in sa;
    uv_tcp_t squatter;
    uv_loop_t loop;
    struct baton *b;
    bool done = false;

    (void)state;
    make_config("");
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &squatter);
    uv_ip4_addr("127.0.0.1", 40000 + (int)(getpid() % 20000), &sa);
    assert_int_equal(uv_tcp_bind(&squatter, (const struct sockaddr *)&sa, 0),
                     0);
    assert_int_equal(uv_listen((uv_stream_t *)&squatter, 1, NULL), 0);
    b = new_node(&loop);
    assert_int_equal(baton_start(b), BATON_EIO);
    assert_non_null(strstr(baton_errmsg(b), "cannot listen on 127.0.0.1"));
    assert_int_equal(baton_start(b), BATON_ESTATE);
    baton_close(b, closed_flag, &done);
    uv_close((uv_handle_t *)&squatter, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(done);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The node's own loop, polled from "another event loop". */
static void test_own_loop(void **state)
{
    struct baton_options o;
    struct baton *b = NULL;
    char err[256];
    int rounds = 0;

    (void)state;
    make_config("");
    memset(&o, 0, sizeof(o));
    o.config_file = cfg_path;
    o.log = quiet;
    assert_int_equal(baton_new(&b, &o, err, sizeof(err)), 0);
    assert_true(baton_fd(b) >= 0);
    assert_int_equal(baton_start(b), 0);
    while (rounds++ < 20) {
        assert_int_equal(baton_process(b), 0);
        assert_true(baton_timeout_ms(b) >= -1);
    }
    baton_close(b, NULL, NULL);
    assert_int_equal(baton_run(b), 0); /* runs the close out, frees b */
}

/* ---- a holder's node killed under a call (issue 12) ------------------- */

/* Runs the node's own loop for up to ms, or until *flag is set; with
 * extra_fd >= 0, also until it is readable. */
static void pump(struct baton *b, const bool *flag, int extra_fd, int ms)
{
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd pf[2] = {{baton_fd(b), POLLIN, 0},
                               {extra_fd, POLLIN, 0}};
        int wait = baton_timeout_ms(b);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((flag != NULL && *flag) ||
            (t.tv_sec - t0.tv_sec) * 1000 +
                    (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms) {
            return;
        }
        (void)poll(pf, extra_fd >= 0 ? 2 : 1, wait < 0 || wait > 20 ? 20 : wait);
        assert_int_equal(baton_process(b), 0);
        if (extra_fd >= 0 && (pf[1].revents & POLLIN)) {
            return;
        }
    }
}

/* The holder (a child process, node b): registers "mute", tells the
 * parent "r", and on every call tells it "c" and never answers. */
static int holder_fd = -1;
static bool holder_registered, holder_registering;

static void holder_call(void *data, const char *name,
                        struct baton_request *req, const void *msg,
                        size_t len)
{
    (void)data, (void)name, (void)req, (void)msg, (void)len;
    if (write(holder_fd, "c", 1) != 1) {
        _exit(3);
    }
}

static void holder_done(void *data, int status)
{
    (void)data;
    holder_registering = false;
    if (status == 0) {
        holder_registered = true;
        if (write(holder_fd, "r", 1) != 1) {
            _exit(3);
        }
    }
}

static void run_holder(const char *ini, int fd)
{
    static const struct baton_handler h = {.call = holder_call};
    struct baton_options o;
    struct baton *b = NULL;

    holder_fd = fd;
    memset(&o, 0, sizeof(o));
    o.config_file = ini;
    o.log = quiet;
    if (baton_new(&b, &o, NULL, 0) != 0 || baton_start(b) != 0) {
        _exit(2);
    }
    for (;;) { /* until the parent kills it */
        if (!holder_registered && !holder_registering &&
            baton_node_up(b, "a@local")) {
            holder_registering =
                baton_register(b, "mute", &h, NULL, holder_done, NULL) == 0;
        }
        pump(b, NULL, -1, 20);
    }
}

struct answer {
    bool done;
    int status;
};

static void on_answer(void *data, int status, const void *reply, size_t len)
{
    struct answer *a = data;

    (void)reply, (void)len;
    a->done = true;
    a->status = status;
}

/* Node b as a child process: writes a.ini (make_config) and b.ini, forks
 * child(b.ini, fd), which never returns and talks to the parent through a
 * pipe; *rfd gets the parent's end. */
static pid_t fork_node_b(void (*child)(const char *ini, int fd), int *rfd)
{
    char b_ini[160], text[1024];
    int p[2], port = 40000 + (int)(getpid() % 20000);
    pid_t pid;

    make_config("");
    snprintf(b_ini, sizeof(b_ini), "%s/b.ini", dir);
    snprintf(text, sizeof(text),
             "[node]\nname = b@local\ncookie_file = cookie\n"
             "[cluster]\nheartbeat_ms = 20\n"
             "[nodes]\na@local = 127.0.0.1:%d%s\nb@local = 127.0.0.1:%d\n",
             port, a_role, port + 1);
    write_file(b_ini, text, 0600);
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child(b_ini, p[1]);
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

/* A call in flight when the holder's node dies (kill -9) fails with
 * BATON_EUNREACHABLE, not with its deadline (docs/api.md). */
/* The status queries on a (baton_status_get, baton_peer_get) with b up
 * (it holds a name a sees) or declared down (its call failed). */
static void check_status(struct baton *a, bool b_up)
{
    struct baton_status_info si;
    struct baton_peer_info pi;
    bool self_seen = false, b_seen = false;

    assert_int_equal(baton_status_get(a, &si), 0);
    assert_string_equal(si.node, "a@local");
    assert_true(si.n_nodes >= 2);
    assert_non_null(si.role);
    assert_true(si.incarnation != 0);
    assert_int_equal(baton_peer_get(a, si.n_nodes, &pi), BATON_ERANGE);
    for (unsigned i = 0; i < si.n_nodes; i++) {
        assert_int_equal(baton_peer_get(a, i, &pi), 0);
        assert_non_null(pi.name);
        assert_true(pi.port != 0);
        if (pi.self) {
            assert_string_equal(pi.name, "a@local");
            assert_true(pi.alive);
            self_seen = true;
        } else if (strcmp(pi.name, "b@local") == 0) {
            assert_int_equal(pi.alive, b_up);
            assert_int_equal(pi.linked, b_up);
            assert_true(pi.heard); /* in both cases: it was heard once */
            assert_true(pi.incarnation != 0);
            assert_non_null(pi.role);
            b_seen = true;
        }
    }
    assert_true(self_seen && b_seen);
    if (b_up) {
        assert_true(si.members >= 2);
        assert_non_null(si.coordinator);
    }
}

static void test_holder_killed(void **state)
{
    struct baton_options o;
    struct answer ans = {false, 0};
    struct baton *a = NULL;
    char got = 0;
    const char *node;
    uint64_t epoch;
    int p[2];
    pid_t pid;

    (void)state;
    pid = fork_node_b(run_holder, &p[0]);
    memset(&o, 0, sizeof(o));
    o.config_file = cfg_path;
    o.log = quiet;
    assert_int_equal(baton_new(&a, &o, NULL, 0), 0);
    assert_int_equal(baton_start(a), 0);
    /* "r": b holds the name; then a's replica must show it. */
    pump(a, NULL, p[0], 30000);
    assert_int_equal(read(p[0], &got, 1), 1);
    assert_int_equal(got, 'r');
    for (int i = 0; i < 1500 && baton_whereis(a, "mute", &node, &epoch) != 0;
         i++) {
        pump(a, NULL, -1, 20);
    }
    assert_int_equal(baton_whereis(a, "mute", &node, &epoch), 0);
    assert_string_equal(node, "b@local");
    check_status(a, true);
    /* A long deadline: only the holder's loss can end the call soon. */
    assert_int_equal(baton_call(a, "mute", "x", 1, 60000, on_answer, &ans),
                     0);
    pump(a, NULL, p[0], 30000);
    assert_int_equal(read(p[0], &got, 1), 1);
    assert_int_equal(got, 'c');
    assert_false(ans.done);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    close(p[0]);
    pump(a, &ans.done, -1, 120000);
    assert_true(ans.done);
    assert_int_equal(ans.status, BATON_EUNREACHABLE);
    check_status(a, false);
    baton_close(a, NULL, NULL);
    assert_int_equal(baton_run(a), 0);
}

/* ---- a start finished later (baton_app_started) ------------------------ */

static bool later_asked, later_phase;

static int later_start(struct baton_app *app, int type, const char *from,
                       uint64_t epoch)
{
    (void)app, (void)type, (void)from, (void)epoch;
    later_asked = true;
    return BATON_EAGAIN;
}

static int later_start_phase(struct baton_app *app, unsigned k)
{
    (void)app, (void)k;
    later_phase = true;
    return 0;
}

static void later_stop(struct baton_app *app, int reason, const char *to)
{
    (void)app, (void)reason, (void)to;
}

/* start returns BATON_EAGAIN: the instance is not running (no start
 * phase, baton_app_exit refused) until baton_app_started(app, 0). */
static void test_start_later(void **state)
{
    static const struct baton_app_callbacks cbs = {
        .start = later_start,
        .start_phase = later_start_phase,
        .stop = later_stop};
    struct baton_app_options ao;
    struct baton_app *app = NULL;
    struct baton *b = NULL;

    (void)state;
    make_config("");
    b = new_node(NULL); /* its own loop */
    memset(&ao, 0, sizeof(ao));
    ao.nodes = "a@local, b@local";
    ao.n_phases = 1;
    assert_int_equal(baton_app_add(b, "slow", &ao, &cbs, NULL, &app), 0);
    assert_int_equal(baton_start(b), 0);
    assert_int_equal(baton_app_started(app, 0), BATON_ESTATE);
    pump(b, &later_asked, -1, 30000);
    assert_true(later_asked);
    pump(b, NULL, -1, 100);
    assert_false(later_phase);
    assert_int_equal(baton_app_exit(app, false), BATON_ESTATE);
    assert_int_equal(baton_app_started(app, 0), 0);
    assert_true(later_phase);
    assert_int_equal(baton_app_started(app, 0), BATON_ESTATE);
    assert_int_equal(baton_app_exit(app, false), 0);
    pump(b, NULL, -1, 100);
    baton_close(b, NULL, NULL);
    assert_int_equal(baton_run(b), 0);
}

/* start says ready from inside itself, then returns BATON_EAGAIN (as
 * batond does for ready = spawn): the instance runs, once. */
static int inside_rv;

static int inside_start(struct baton_app *app, int type, const char *from,
                        uint64_t epoch)
{
    (void)type, (void)from, (void)epoch;
    later_asked = true;
    inside_rv = baton_app_started(app, 0);
    return BATON_EAGAIN;
}

static void test_start_inside(void **state)
{
    static const struct baton_app_callbacks cbs = {.start = inside_start,
                                                   .stop = later_stop};
    struct baton_app_options ao;
    struct baton_app *app = NULL;
    struct baton *b = NULL;

    (void)state;
    later_asked = false;
    inside_rv = -1;
    make_config("");
    b = new_node(NULL);
    memset(&ao, 0, sizeof(ao));
    ao.nodes = "a@local, b@local";
    assert_int_equal(baton_app_add(b, "quick", &ao, &cbs, NULL, &app), 0);
    assert_int_equal(baton_start(b), 0);
    pump(b, &later_asked, -1, 30000);
    assert_true(later_asked);
    assert_int_equal(inside_rv, 0);
    assert_int_equal(baton_app_started(app, 0), BATON_ESTATE);
    assert_int_equal(baton_app_exit(app, false), 0);
    pump(b, NULL, -1, 100);
    baton_close(b, NULL, NULL);
    assert_int_equal(baton_run(b), 0);
}

/* ---- permit ------------------------------------------------------------ */

struct permit_seen {
    unsigned starts, stops;
};

static int permit_start(struct baton_app *app, int type, const char *from,
                        uint64_t epoch)
{
    struct permit_seen *ps = baton_app_data(app);

    (void)type, (void)from, (void)epoch;
    ps->starts++;
    return 0;
}

static void permit_stop(struct baton_app *app, int reason, const char *to)
{
    struct permit_seen *ps = baton_app_data(app);

    (void)reason, (void)to;
    ps->stops++;
}

/* Runs b's loop until *count reaches n (at most ms). */
static void pump_until(struct baton *b, const unsigned *count, unsigned n,
                       int ms)
{
    for (int i = 0; i < ms / 20 && *count < n; i++) {
        pump(b, NULL, -1, 20);
    }
}

/* Node a (its own loop, not started) with app "p" (nodes a, b) that
 * counts its starts and stops in *ps. */
static struct baton *counted_app_node(struct permit_seen *ps,
                                      struct baton_app **app)
{
    static const struct baton_app_callbacks cbs = {.start = permit_start,
                                                   .stop = permit_stop};
    struct baton_app_options ao;
    struct baton *b;

    make_config("");
    b = new_node(NULL);
    memset(&ao, 0, sizeof(ao));
    ao.nodes = "a@local, b@local";
    assert_int_equal(baton_app_add(b, "p", &ao, &cbs, ps, app), 0);
    return b;
}

/* baton_app_permit(app, false) stops the only instance (it may run on
 * no other node here); true starts it again. */
static void test_permit(void **state)
{
    struct permit_seen ps = {0, 0};
    struct baton_app *app = NULL;
    struct baton *b;

    (void)state;
    b = counted_app_node(&ps, &app);
    assert_int_equal(baton_app_permit(app, false), BATON_ESTATE);
    assert_int_equal(baton_start(b), 0);
    pump_until(b, &ps.starts, 1, 30000);
    assert_int_equal(ps.starts, 1);
    assert_int_equal(baton_app_permit(app, false), 0);
    pump_until(b, &ps.stops, 1, 30000);
    assert_int_equal(ps.stops, 1);
    assert_string_equal(baton_app_where(app, NULL), "");
    assert_int_equal(baton_app_permit(app, true), 0);
    pump_until(b, &ps.starts, 2, 30000);
    assert_int_equal(ps.starts, 2);
    baton_close(b, NULL, NULL);
    assert_int_equal(baton_run(b), 0);
}

/* A boot hold: the app is not started here until baton_release_apps. */
static void test_hold_apps(void **state)
{
    struct permit_seen ps = {0, 0};
    struct baton *b;

    (void)state;
    b = counted_app_node(&ps, NULL);
    assert_int_equal(baton_release_apps(b), BATON_ESTATE);
    assert_int_equal(baton_hold_apps(b), 0);
    assert_int_equal(baton_start(b), 0);
    assert_int_equal(baton_hold_apps(b), BATON_ESTATE);
    /* Long enough for an unheld node to start it (test_permit). */
    pump_until(b, &ps.starts, 1, 1000);
    assert_int_equal(ps.starts, 0);
    assert_int_equal(baton_release_apps(b), 0);
    assert_int_equal(baton_release_apps(b), BATON_ESTATE);
    pump_until(b, &ps.starts, 1, 30000);
    assert_int_equal(ps.starts, 1);
    baton_close(b, NULL, NULL);
    assert_int_equal(baton_run(b), 0);
}

/* ---- an export answered later (baton_app_exported) -------------------- */

/* The old owner (a child process, node b): runs app "st" (nodes a, b),
 * tells the parent "s" when it started, and answers export_state with
 * BATON_EAGAIN, giving the state from its loop afterwards. */
static int st_fd = -1;
static bool st_export_asked;

static int st_start(struct baton_app *app, int type, const char *from,
                    uint64_t epoch)
{
    (void)app, (void)type, (void)from, (void)epoch;
    if (st_fd >= 0 && write(st_fd, "s", 1) != 1) {
        _exit(3);
    }
    return 0;
}

static void st_stop(struct baton_app *app, int reason, const char *to)
{
    (void)app, (void)reason, (void)to;
}

static int st_export(struct baton_app *app, void **data, size_t *len)
{
    (void)app, (void)data, (void)len;
    st_export_asked = true;
    return BATON_EAGAIN;
}

static const struct baton_app_callbacks st_cbs = {
    .start = st_start, .stop = st_stop, .export_state = st_export};

static void run_old_owner(const char *ini, int fd)
{
    struct baton_app_options ao;
    struct baton_options o;
    struct baton_app *app = NULL;
    struct baton *b = NULL;

    st_fd = fd;
    memset(&o, 0, sizeof(o));
    o.config_file = ini;
    o.log = quiet;
    memset(&ao, 0, sizeof(ao));
    ao.nodes = "a@local, b@local";
    ao.failover_timeout_ms = 0;
    if (baton_new(&b, &o, NULL, 0) != 0 ||
        baton_app_add(b, "st", &ao, &st_cbs, NULL, &app) != 0 ||
        baton_start(b) != 0) {
        _exit(2);
    }
    for (;;) { /* until the parent kills it */
        pump(b, NULL, -1, 20);
        if (st_export_asked) {
            st_export_asked = false;
            if (baton_app_exported(app, 0, "later-7", 7) != 0) {
                _exit(4);
            }
        }
    }
}

struct imported {
    bool started;
    int type;
    char data[16];
    size_t len;
};

static int imp_start(struct baton_app *app, int type, const char *from,
                     uint64_t epoch)
{
    struct imported *im = baton_app_data(app);

    (void)from, (void)epoch;
    im->started = true;
    im->type = type;
    return 0;
}

static void imp_import(struct baton_app *app, const void *data, size_t len)
{
    struct imported *im = baton_app_data(app);

    im->len = len < sizeof(im->data) ? len : sizeof(im->data) - 1;
    memcpy(im->data, data, im->len);
}

/* A takeover whose old instance answers export_state with BATON_EAGAIN
 * and then baton_app_exported(): the new instance imports that state
 * (docs/api.md "State on takeover"). */
static void test_export_later(void **state)
{
    static const struct baton_app_callbacks cbs = {
        .start = imp_start, .stop = st_stop, .import_state = imp_import};
    struct baton_app_options ao;
    struct imported im;
    struct baton *a = NULL;
    char got = 0;
    int p[2];
    pid_t pid;

    (void)state;
    memset(&im, 0, sizeof(im));
    pid = fork_node_b(run_old_owner, &p[0]);
    /* "s": the app runs on b, alone; then a, first in its list, comes. */
    {
        struct pollfd pf = {p[0], POLLIN, 0};
        assert_int_equal(poll(&pf, 1, 60000), 1);
    }
    assert_int_equal(read(p[0], &got, 1), 1);
    assert_int_equal(got, 's');
    a = new_node(NULL); /* its own loop */
    memset(&ao, 0, sizeof(ao));
    ao.nodes = "a@local, b@local";
    assert_int_equal(baton_app_add(a, "st", &ao, &cbs, &im, NULL), 0);
    assert_int_equal(baton_start(a), 0);
    pump(a, &im.started, -1, 60000);
    assert_true(im.started);
    assert_int_equal(im.type, BATON_START_TAKEOVER);
    assert_int_equal(im.len, 7);
    assert_memory_equal(im.data, "later-7", 7);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    close(p[0]);
    baton_close(a, NULL, NULL);
    assert_int_equal(baton_run(a), 0);
}

/* ---- leader groups on two nodes (gen_leader's fixes, issue 12) ---------- */

/* Node b's member (a child process): candidates and workers from the
 * child's globals; it tells the parent 'E' (elected), 'D' (deposed) and
 * 'S' (surrendered). Its elected sync is "b<n>", n counting elections,
 * so the parent sees whether a sync is fresh. */
static const char *kid_candidates, *kid_workers;
static int kid_fd = -1, kid_elections;

static void kid_say(char c)
{
    if (write(kid_fd, &c, 1) != 1) {
        _exit(3);
    }
}

static void kid_elected(struct baton_group *g, const char *joined,
                        void **sync, size_t *len)
{
    char buf[16];

    (void)g;
    if (joined == NULL) {
        kid_elections++;
        kid_say('E');
    }
    snprintf(buf, sizeof(buf), "b%d", kid_elections);
    *sync = strdup(buf);
    *len = strlen(buf);
}

static void kid_surrendered(struct baton_group *g, const char *leader,
                            const void *sync, size_t len)
{
    (void)g, (void)leader, (void)sync, (void)len;
    kid_say('S');
}

static void kid_deposed(struct baton_group *g, const char *leader,
                        uint64_t epoch)
{
    (void)g, (void)leader, (void)epoch;
    kid_say('D');
}

static void kid_leader_call(struct baton_group *g, struct baton_request *req,
                            const void *msg, size_t len)
{
    (void)g;
    (void)baton_reply(req, msg, len);
}

static void run_member(const char *ini, int fd)
{
    static const struct baton_group_callbacks cbs = {
        .elected = kid_elected,
        .surrendered = kid_surrendered,
        .handle_leader_call = kid_leader_call,
        .deposed = kid_deposed,
    };
    struct baton_options o;
    struct baton *b = NULL;

    kid_fd = fd;
    memset(&o, 0, sizeof(o));
    o.config_file = ini;
    o.log = quiet;
    if (baton_new(&b, &o, NULL, 0) != 0 ||
        baton_group_add(b, "g", kid_candidates, kid_workers, &cbs, NULL,
                        NULL) != 0 ||
        baton_start(b) != 0) {
        _exit(2);
    }
    for (;;) { /* until the parent kills it */
        pump(b, NULL, -1, 20);
    }
}

/* Node a's member, in this process. */
struct member {
    int elected, surrendered, deposed;
    uint64_t elected_epoch, surrendered_epoch, deposed_epoch;
    char sync[16]; /* the last surrendered's */
    char leader[32];
    char trace[512]; /* what happened, for a failure's message */
};
static struct member M;

static void m_elected(struct baton_group *g, const char *joined, void **sync,
                      size_t *len)
{
    if (joined == NULL) {
        M.elected++;
        M.elected_epoch = baton_group_epoch(g);
        snprintf(M.trace + strlen(M.trace), sizeof(M.trace) - strlen(M.trace),
                 " elected@%llu", (unsigned long long)M.elected_epoch);
    }
    *sync = strdup("a");
    *len = 1;
}

static void m_surrendered(struct baton_group *g, const char *leader,
                          const void *sync, size_t len)
{
    M.surrendered++;
    M.surrendered_epoch = baton_group_epoch(g);
    snprintf(M.sync, sizeof(M.sync), "%.*s", (int)len, (const char *)sync);
    snprintf(M.leader, sizeof(M.leader), "%s", leader);
    snprintf(M.trace + strlen(M.trace), sizeof(M.trace) - strlen(M.trace),
             " surrendered(%s,%s)@%llu", leader, M.sync,
             (unsigned long long)M.surrendered_epoch);
}

static void m_deposed(struct baton_group *g, const char *leader,
                      uint64_t epoch)
{
    (void)g, (void)leader;
    M.deposed++;
    M.deposed_epoch = epoch;
    snprintf(M.trace + strlen(M.trace), sizeof(M.trace) - strlen(M.trace),
             " deposed(%s)@%llu", leader ? leader : "?",
             (unsigned long long)epoch);
}

static const struct baton_group_callbacks m_cbs = {
    .elected = m_elected,
    .surrendered = m_surrendered,
    .handle_leader_call = kid_leader_call,
    .deposed = m_deposed,
};

/* Pumps a until cond(g) holds (at most ms). */
static bool pump_for(struct baton *b, struct baton_group *g,
                     bool (*cond)(struct baton_group *g), int ms)
{
    for (int i = 0; i < ms / 20 && !cond(g); i++) {
        pump(b, NULL, -1, 20);
    }
    return cond(g);
}

static bool follows_b(struct baton_group *g)
{
    const char *l = baton_group_leader(g);
    return M.surrendered > 0 && l != NULL && strcmp(l, "b@local") == 0;
}

static bool b_down_seen(struct baton_group *g)
{
    return !baton_node_up(baton_group_node(g), "b@local");
}

static bool a_leads(struct baton_group *g)
{
    return M.elected > 0 && baton_group_is_leader(g);
}

static bool a_follows_again(struct baton_group *g)
{
    return M.surrendered >= 2 && !baton_group_is_leader(g);
}

/* Reads what the child said so far (non-blocking) into out. */
static void drain(int fd, char *out, size_t cap)
{
    size_t n = strlen(out);
    struct pollfd pf = {fd, POLLIN, 0};

    while (n + 1 < cap && poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN)) {
        if (read(fd, out + n, 1) != 1) {
            break;
        }
        out[++n] = '\0';
    }
}

static struct baton *member_a(const char *candidates, const char *workers,
                              struct baton_group **g)
{
    struct baton_options o;
    struct baton *a = NULL;

    memset(&o, 0, sizeof(o));
    o.config_file = cfg_path;
    o.log = quiet;
    assert_int_equal(baton_new(&a, &o, NULL, 0), 0);
    assert_int_equal(baton_group_add(a, "g", candidates, workers, &m_cbs,
                                     NULL, g),
                     0);
    assert_int_equal(baton_start(a), 0);
    return a;
}

/* The leader's node killed and no candidate left (b was the only
 * candidate, for the group and to coordinate): a's replica keeps b as
 * the owner, yet the leader query names nobody (it named the dead node)
 * and the worker never leads. */
static void test_group_leader_down(void **state)
{
    struct baton_group *g;
    struct baton *a;
    int fd;
    pid_t pid;

    (void)state;
    memset(&M, 0, sizeof(M));
    kid_candidates = "b@local";
    kid_workers = "a@local";
    a_role = ", worker"; /* b coordinates: its death leaves no one to */
    pid = fork_node_b(run_member, &fd);
    kid_pid = pid;
    a = member_a("b@local", "a@local", &g);
    assert_true(pump_for(a, g, follows_b, 30000));
    assert_int_equal(M.surrendered, 1);
    assert_string_equal(M.sync, "b1");
    assert_true(M.surrendered_epoch > 0);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    kid_pid = -1;
    close(fd);
    /* At once: the replica may still name b until a new state. */
    assert_true(pump_for(a, g, b_down_seen, 30000));
    assert_null(baton_group_leader(g));
    pump(a, NULL, -1, 200);
    assert_null(baton_group_leader(g));
    assert_false(baton_group_is_leader(g));
    assert_int_equal(M.elected, 0);
    a_role = "";
    baton_close(a, NULL, NULL);
    assert_int_equal(baton_run(a), 0);
}

/* The leader b frozen (SIGSTOP) long enough for a to take over, then
 * thawed: b is deposed before it leads again, and a surrenders to b once
 * more with b's fresh sync ("b2", not the "b1" made before a's time),
 * exactly once. elected and surrendered see the epochs grow. */
static void test_group_frozen_leader(void **state)
{
    struct baton_group *g;
    struct baton *a;
    char said[64] = "";
    int fd, surrendered;
    pid_t pid;

    (void)state;
    memset(&M, 0, sizeof(M));
    kid_candidates = "b@local, a@local";
    kid_workers = NULL;
    pid = fork_node_b(run_member, &fd);
    kid_pid = pid;
    a = member_a("b@local, a@local", NULL, &g);
    assert_true(pump_for(a, g, follows_b, 30000));
    assert_int_equal(M.surrendered, 1);
    assert_string_equal(M.sync, "b1");
    kill(pid, SIGSTOP);
    assert_true(pump_for(a, g, a_leads, 30000));
    assert_int_equal(M.elected, 1);
    assert_true(M.elected_epoch > M.surrendered_epoch);
    assert_int_equal(baton_group_epoch(g), M.elected_epoch);
    kill(pid, SIGCONT);
    assert_true(pump_for(a, g, a_follows_again, 30000));
    assert_true(pump_for(a, g, follows_b, 30000));
    /* Settle: no second surrendered for this leader change. */
    surrendered = M.surrendered;
    pump(a, NULL, -1, 1000);
    drain(fd, said, sizeof(said));
    print_message("a:%s; b said %s\n", M.trace, said);
    assert_int_equal(M.surrendered, surrendered);
    assert_int_equal(M.surrendered, 2);
    assert_string_equal(M.leader, "b@local");
    assert_string_equal(M.sync, "b2");
    assert_int_equal(M.deposed, 1);
    assert_int_equal(M.deposed_epoch, M.elected_epoch);
    assert_true(M.surrendered_epoch > M.elected_epoch);
    drain(fd, said, sizeof(said));
    /* b: elected, deposed once it learnt of a's leadership, elected. */
    assert_string_equal(said, "EDE");
    kid_pid = -1;
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    close(fd);
    baton_close(a, NULL, NULL);
    assert_int_equal(baton_run(a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_bad_declarations),
        cmocka_unit_test(test_one_node),
        cmocka_unit_test(test_own_loop),
        cmocka_unit_test(test_start_fails),
        cmocka_unit_test(test_holder_killed),
        cmocka_unit_test(test_export_later),
        cmocka_unit_test(test_start_later),
        cmocka_unit_test(test_start_inside),
        cmocka_unit_test(test_permit),
        cmocka_unit_test(test_hold_apps),
        cmocka_unit_test(test_group_leader_down),
        cmocka_unit_test(test_group_frozen_leader),
    };
    assert_int_equal(strcmp(baton_strerror(BATON_ELEADERDOWN),
                            "the leader was lost during the call"),
                     0);
    return cmocka_run_group_tests(tests, setup, teardown);
}
