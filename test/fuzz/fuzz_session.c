/* libFuzzer target: the control socket's protocol (docs/control.md), as
 * batond serves it: one-shot text commands and JSON sessions. One node
 * (not linked: no coordinator, so name writes wait and apps stay put)
 * with an app that has a name; every input is the bytes one client
 * sends on one connection, then it stops writing and reads until batond
 * closes or goes quiet. Oracle: no crash, no sanitizer report, and the
 * control socket still answers a status request after every input. */
#include "../../src/util/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../src/daemon/supervise.h"
#include "../../src/lib/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    bool ready;
    uv_loop_t loop;
    struct batond_config cfg;
    struct baton_io io;
    struct batond_sup sup;
    struct lib_control control;
    char path[108];
} F;

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void quiet(void *data, int level, const char *text)
{
    (void)data, (void)level, (void)text;
}

static void on_app(struct baton_io *io, const struct baton_app_effect *e)
{
    (void)io;
    lib_control_app_effect(&F.control, e);
}

static void on_name(struct baton_io *io, const struct baton_name_effect *e)
{
    (void)io;
    lib_control_name_effect(&F.control, e);
}

static void on_call(struct baton_io *io, const struct baton_call_effect *e)
{
    (void)io;
    lib_control_call_effect(&F.control, e);
}

static void prog_app_effect(void *data, const struct baton_app_effect *e)
{
    (void)data;
    batond_sup_effect(&F.sup, e);
}

static int prog_ready(void *data, unsigned app)
{
    (void)data;
    return batond_sup_ready(&F.sup, app);
}

static void on_idle(struct batond_sup *sup, unsigned app)
{
    (void)sup;
    lib_control_app_idle(&F.control, app);
}

static void remove_socket(void)
{
    unlink(F.path);
}

/* Listens on port 45000 + pid % 5000 (the node must listen to run). */
static void setup(void)
{
    char text[1024], err[512];
    int port = 45000 + (int)(getpid() % 5000);

    snprintf(F.path, sizeof(F.path), "/tmp/baton-fuzz-%d.sock",
             (int)getpid());
    snprintf(text, sizeof(text),
             "[node]\nname = a@local\ncookie_file = cookie\n"
             "control_socket = %s\n"
             "[nodes]\na@local = 127.0.0.1:%d\nb@local = 127.0.0.1:2\n"
             "[app web]\nnodes = a@local, b@local\nstart = /bin/true\n"
             "name = web.name\nready = notify\n",
             F.path, port);
    check(batond_config_parse(&F.cfg, text, err, sizeof(err)) == 0);
    memcpy(F.cfg.node.io.cookie, "fuzz", 4);
    F.cfg.node.io.cookie_len = 4;
    F.cfg.node.io.inc = 1;
    /* Held as batond holds them before its boot sync: the app is never
     * started (its shim would be this program). */
    F.cfg.node.io.apps_held = true;
    check(uv_loop_init(&F.loop) == 0);
    check(baton_io_init(&F.io, &F.loop, &F.cfg.node.io, quiet, NULL) == 0);
    F.io.on_app = on_app;
    F.io.on_name = on_name;
    F.io.on_call = on_call;
    check(batond_sup_init(&F.sup, &F.loop, &F.cfg, &F.io, quiet, NULL) == 0);
    F.sup.idle = on_idle;
    F.control.prog.app_effect = prog_app_effect;
    F.control.prog.ready = prog_ready;
    F.control.gname[0] = F.cfg.apps[0].gname;
    check(lib_control_start(&F.control, &F.io, F.path, err,
                               sizeof(err)) == 0);
    atexit(remove_socket);
    check(baton_io_start(&F.io) == 0);
    F.ready = true;
}

static int connect_control(void)
{
    struct sockaddr_un sa = {0};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    check(fd >= 0);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", F.path);
    check(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Sends data on a new connection while batond runs, then reads what it
 * answers until it closes or 200 loop turns pass. Returns the bytes
 * read (at most out_len, the rest dropped) and whether it closed. */
static size_t session(const uint8_t *data, size_t size, char *out,
                      size_t out_len, bool *closed)
{
    int fd = connect_control();
    size_t sent = 0, got = 0;

    *closed = false;
    for (int turn = 0; turn < 200 && !*closed; turn++) {
        char buf[65536];
        ssize_t k;
        if (sent < size) {
            k = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (k > 0) {
                sent += (size_t)k;
            } else if (k < 0 && errno != EAGAIN) {
                sent = size; /* batond closed its end */
            }
            if (sent == size) {
                shutdown(fd, SHUT_WR);
            }
        }
        uv_run(&F.loop, UV_RUN_NOWAIT);
        while ((k = read(fd, buf, sizeof(buf))) > 0) {
            size_t n = BATON_MIN((size_t)k, out_len - got);
            memcpy(out + got, buf, n);
            got += n;
        }
        *closed = k == 0 || (k < 0 && errno != EAGAIN);
    }
    close(fd);
    uv_run(&F.loop, UV_RUN_NOWAIT);
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[1 << 16];
    bool closed;
    size_t n;

    if (!F.ready) {
        setup();
    }
    if (size > (1u << 20)) {
        return 0;
    }
    (void)session(data, size, out, sizeof(out), &closed);
    /* Whatever came before, a new client is still served. */
    n = session((const uint8_t *)"status\n", 7, out, sizeof(out) - 1,
                &closed);
    out[n] = '\0';
    check(closed && strstr(out, "\"node\":\"a@local\"") != NULL);
    return 0;
}
