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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../src/lib/lib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    bool ready;
    uv_loop_t loop;
    struct baton *node;
    struct lib_program prog;
    char path[108];
    char dir[64];
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

/* The app is held (never started), as batond holds its apps before its
 * boot sync: these callbacks never run. */
static int app_start(struct baton_app *app, int type, const char *from,
                     uint64_t epoch)
{
    (void)app, (void)type, (void)from, (void)epoch;
    return 0;
}

static void app_stop(struct baton_app *app, int reason, const char *to)
{
    (void)app, (void)reason, (void)to;
}

static const struct baton_app_callbacks app_cbs = {
    .start = app_start,
    .stop = app_stop,
};

/* The program's side, as batond's: app effects go to the node's apps. */
static void prog_app_effect(void *data, const struct baton_app_effect *e)
{
    (void)data;
    lib_on_app(&F.node->io, e);
}

static void remove_files(void)
{
    char file[128];

    unlink(F.path);
    snprintf(file, sizeof(file), "%s/cookie", F.dir);
    unlink(file);
    snprintf(file, sizeof(file), "%s/node.ini", F.dir);
    unlink(file);
    rmdir(F.dir);
}

static void write_file(const char *name, const char *text)
{
    char file[128];
    FILE *f;

    snprintf(file, sizeof(file), "%s/%s", F.dir, name);
    f = fopen(file, "w");
    check(f != NULL);
    check(fputs(text, f) >= 0 && fclose(f) == 0);
    check(chmod(file, 0600) == 0);
}

/* A libbaton node serving the control socket as batond does, with an app
 * that has a name. Listens on port 45000 + pid % 5000 (the node must
 * listen to run); not linked to b@local, so no coordinator: name writes
 * wait and apps stay put. */
static void setup(void)
{
    char text[1024], err[512];
    int port = 45000 + (int)(getpid() % 5000);
    struct baton_options opt = {0};
    struct baton_app_options ao = {0};

    snprintf(F.path, sizeof(F.path), "/tmp/baton-fuzz-%d.sock",
             (int)getpid());
    snprintf(F.dir, sizeof(F.dir), "/tmp/baton-fuzz-%d", (int)getpid());
    check(mkdir(F.dir, 0700) == 0 || errno == EEXIST);
    atexit(remove_files);
    write_file("cookie", "fuzz\n");
    snprintf(text, sizeof(text),
             "[node]\nname = a@local\ncookie_file = cookie\n"
             "control_socket = %s\n"
             "[nodes]\na@local = 127.0.0.1:%d\nb@local = 127.0.0.1:2\n",
             F.path, port);
    write_file("node.ini", text);
    snprintf(text, sizeof(text), "%s/node.ini", F.dir);
    check(uv_loop_init(&F.loop) == 0);
    opt.config_file = text;
    opt.loop = &F.loop;
    opt.log = quiet;
    F.prog.control.app_effect = prog_app_effect;
    F.prog.gname[0] = "web.name";
    check(lib_node_new(&F.node, &opt, &F.prog, err, sizeof(err)) == 0);
    ao.nodes = "a@local, b@local";
    check(baton_app_add(F.node, "web", &ao, &app_cbs, NULL, NULL) == 0);
    check(baton_hold_apps(F.node) == 0);
    check(baton_start(F.node) == 0);
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
