/* The control socket. Happy path: a client connects, sends one request
 * line ("status"), gets one JSON document followed by a newline, and the
 * server closes. Failure modes: a request longer than 1 KiB or without a
 * newline within 5 s is answered with an error and closed; an unknown
 * command gets {"error": ...}. */
#include "../util/setup.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/error.h"
#include "control.h"

#define REQUEST_MAX (1024)

struct client {
    uv_pipe_t pipe;
    struct batond_control *ctl;
    size_t len;
    bool done;
    char buf[REQUEST_MAX];
};

static const char *epoch_text(uint64_t e, const char *const *names,
                              char *buf, size_t len)
{
    if (e == 0) {
        return "0";
    }
    snprintf(buf, len, "%" PRIu64 ".%s", baton_epoch_term(e),
             names[baton_epoch_node(e)]);
    return buf;
}

static const char *status_text(const struct baton_status *st,
                               const char *const *names, char *buf,
                               size_t len)
{
    if (st->role == BATON_ROLE_JOINING || st->role == BATON_ROLE_FOLLOWER) {
        snprintf(buf, len, "%s %s",
                 st->role == BATON_ROLE_JOINING ? "joining" : "follower of",
                 st->coord < BATON_NODES_MAX ? names[st->coord] : "?");
        return buf;
    }
    return baton_role_name(st->role);
}

char *batond_status_json(const struct baton_io *io)
{
    const struct baton_node *n = &io->node;
    cJSON *root = cJSON_CreateObject();
    cJSON *peers = cJSON_AddArrayToObject(root, "peers");
    cJSON *rej = cJSON_AddObjectToObject(root, "rejected");
    unsigned coord = baton_node_coordinator(n);
    char eb[300];
    char *out;

    cJSON_AddStringToObject(root, "node", io->names[io->cfg.self]);
    cJSON_AddNumberToObject(root, "incarnation", (double)n->inc);
    cJSON_AddStringToObject(root, "role", baton_role_name(n->role));
    cJSON_AddBoolToObject(root, "synced", n->synced);
    if (coord == BATON_NODE_NONE) {
        cJSON_AddNullToObject(root, "coordinator");
    } else {
        cJSON_AddStringToObject(root, "coordinator", io->names[coord]);
    }
    cJSON_AddStringToObject(root, "epoch",
                            epoch_text(n->epoch, io->names, eb, sizeof(eb)));
    cJSON_AddNumberToObject(root, "members", baton_state_members(&n->state));
    for (unsigned p = 0; p < io->cfg.n_nodes; p++) {
        const struct baton_peer *peer = &n->peers[p];
        cJSON *o;
        char addr[BATON_ADDR_MAX + 8];
        if (p == io->cfg.self) {
            continue;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", io->names[p]);
        snprintf(addr, sizeof(addr), "%s:%u", io->cfg.hosts[p],
                 io->cfg.ports[p]);
        cJSON_AddStringToObject(o, "address", addr);
        cJSON_AddStringToObject(o, "link",
                                baton_io_link_up(io, p) ? "up" : "down");
        cJSON_AddBoolToObject(o, "alive", peer->alive);
        cJSON_AddBoolToObject(o, "candidate", io->cfg.candidate[p] != 0);
        if (peer->heard) {
            cJSON_AddNumberToObject(o, "last_seen_ms",
                                    (double)(n->now_ms - peer->last_heard_ms));
            cJSON_AddNumberToObject(o, "incarnation", (double)peer->inc);
            cJSON_AddStringToObject(
                o, "status", status_text(&peer->status, io->names, eb,
                                         sizeof(eb)));
        } else {
            cJSON_AddNullToObject(o, "last_seen_ms");
        }
        cJSON_AddItemToArray(peers, o);
    }
    for (unsigned r = 0; r < BATON_REJECT__COUNT; r++) {
        if (n->counters.rejected[r] != 0) {
            cJSON_AddNumberToObject(rej, baton_reject_name(r),
                                    (double)n->counters.rejected[r]);
        }
    }
    cJSON_AddNumberToObject(root, "auth_failures",
                            (double)io->stats.auth_failures);
    cJSON_AddNumberToObject(root, "bad_frames", (double)io->stats.bad_frames);
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

char *batond_apps_json(const struct baton_io *io, const struct batond_sup *sup)
{
    const struct baton_node *n = &io->node;
    cJSON *root = cJSON_CreateObject();
    cJSON *apps = cJSON_AddArrayToObject(root, "apps");
    uint64_t now = uv_now(io->loop);
    char *out;

    for (unsigned i = 0; i < io->cfg.n_apps; i++) {
        const char *name = io->cfg.apps[i].name;
        int k = baton_state_app_find(&n->state, name);
        const struct baton_state_app *e = k >= 0 ? &n->state.apps[k] : NULL;
        const struct batond_proc *p = sup != NULL ? &sup->procs[i] : NULL;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "status",
                                e ? baton_app_status_name(e->status)
                                  : "unknown");
        if (e != NULL && e->owner < io->cfg.n_nodes) {
            cJSON_AddStringToObject(o, "owner", io->names[e->owner]);
        } else {
            cJSON_AddNullToObject(o, "owner");
        }
        cJSON_AddNumberToObject(o, "epoch", e ? (double)e->epoch : 0);
        cJSON_AddStringToObject(o, "start_type",
                                e ? baton_start_type_name(e->type) : "normal");
        if (e != NULL && e->from < io->cfg.n_nodes) {
            cJSON_AddStringToObject(o, "from", io->names[e->from]);
        } else {
            cJSON_AddNullToObject(o, "from");
        }
        if (p != NULL) {
            cJSON_AddStringToObject(o, "here", batond_proc_state_name(p->state));
            cJSON_AddNumberToObject(o, "pid", p->pid);
            cJSON_AddNumberToObject(o, "since_ms",
                                    (double)(now - p->since_ms));
        }
        cJSON_AddBoolToObject(o, "permitted_here", n->local[i].permit);
        cJSON_AddItemToArray(apps, o);
    }
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

static int find_app(const struct baton_io *io, const char *name)
{
    for (unsigned i = 0; i < io->cfg.n_apps; i++) {
        if (strcmp(io->cfg.apps[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void on_client_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_written(uv_write_t *req, int status)
{
    struct client *cl = req->data;

    (void)status;
    free(req);
    uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

static void reply(struct client *cl, char *text)
{
    size_t n = text ? strlen(text) : 0;
    uv_write_t *req = malloc(sizeof(*req) + n + 1);
    uv_buf_t buf;

    cl->done = true;
    uv_read_stop((uv_stream_t *)&cl->pipe);
    if (req == NULL || text == NULL) {
        free(req);
        free(text);
        uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
        return;
    }
    memcpy((char *)(req + 1), text, n);
    ((char *)(req + 1))[n] = '\n';
    free(text);
    req->data = cl;
    buf = uv_buf_init((char *)(req + 1), (unsigned)n + 1);
    if (uv_write(req, (uv_stream_t *)&cl->pipe, &buf, 1, on_written) != 0) {
        free(req);
        uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
    }
}

static char *error_json(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    cJSON_AddStringToObject(o, "error", msg);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *ok_json(void)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    cJSON_AddBoolToObject(o, "ok", true);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Requests: status | apps | permit APP true|false | takeover APP |
 * ready APP (docs/control.md). */
static void handle(struct client *cl, const char *line)
{
    struct baton_io *io = cl->ctl->io;
    char cmd[32] = "";
    char arg[64] = "";
    char val[16] = "";
    char err[160];
    int app;

    if (sscanf(line, "%31s %63s %15s", cmd, arg, val) < 1) {
        reply(cl, error_json("empty request"));
        return;
    }
    if (strcmp(cmd, "status") == 0) {
        reply(cl, batond_status_json(io));
        return;
    }
    if (strcmp(cmd, "apps") == 0) {
        reply(cl, batond_apps_json(io, cl->ctl->sup));
        return;
    }
    if (strcmp(cmd, "permit") != 0 && strcmp(cmd, "takeover") != 0 &&
        strcmp(cmd, "ready") != 0) {
        reply(cl, error_json("unknown command (known: status, apps, permit, "
                             "takeover, ready)"));
        return;
    }
    app = find_app(io, arg);
    if (app < 0) {
        snprintf(err, sizeof(err), "unknown app \"%s\"", arg);
        reply(cl, error_json(err));
        return;
    }
    if (strcmp(cmd, "permit") == 0) {
        if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0) {
            reply(cl, error_json("permit APP true|false"));
            return;
        }
        baton_io_request(io, (unsigned)app, BATON_REQ_PERMIT,
                         strcmp(val, "true") == 0);
    } else if (strcmp(cmd, "takeover") == 0) {
        baton_io_request(io, (unsigned)app, BATON_REQ_TAKEOVER, 0);
    } else if (cl->ctl->sup == NULL ||
               batond_sup_ready(cl->ctl->sup, (unsigned)app) != 0) {
        snprintf(err, sizeof(err),
                 "app %s is not waiting for batonctl ready here", arg);
        reply(cl, error_json(err));
        return;
    }
    reply(cl, ok_json());
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct client *cl = h->data;

    (void)suggested;
    *buf = uv_buf_init(cl->buf + cl->len,
                       (unsigned)(sizeof(cl->buf) - cl->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct client *cl = s->data;
    char *nl;

    (void)buf;
    if (cl->done) {
        return;
    }
    if (nread < 0) {
        uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
        cl->done = true;
        return;
    }
    cl->len += (size_t)nread;
    nl = memchr(cl->buf, '\n', cl->len);
    if (nl != NULL) {
        *nl = '\0';
        if (nl > cl->buf && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
        handle(cl, cl->buf);
    } else if (cl->len == sizeof(cl->buf)) {
        reply(cl, error_json("request too long"));
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct batond_control *c = server->data;
    struct client *cl;

    if (status != 0) {
        return;
    }
    cl = calloc(1, sizeof(*cl));
    if (cl == NULL) {
        return;
    }
    cl->ctl = c;
    uv_pipe_init(server->loop, &cl->pipe, 0);
    cl->pipe.data = cl;
    if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0 ||
        uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read) != 0) {
        uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
    }
}

/* Is a live batond answering at path? */
static bool someone_listens(const char *path)
{
    struct sockaddr_un sa = {0};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool yes;

    if (fd < 0) {
        return false;
    }
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    yes = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return yes;
}

int batond_control_start(struct batond_control *c, struct baton_io *io,
                         const char *path, char *err, size_t err_len)
{
    mode_t old;
    int rv;
    struct batond_sup *sup = c->sup; /* set by the caller beforehand */

    memset(c, 0, sizeof(*c));
    c->io = io;
    c->sup = sup;
    snprintf(c->path, sizeof(c->path), "%s", path);
    if (someone_listens(path)) {
        snprintf(err, err_len,
                 "control socket %s: another batond is running there", path);
        return BATON_EIO;
    }
    unlink(path); /* a stale file left by a killed batond */
    uv_pipe_init(io->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->open = true;
    old = umask(0177); /* the socket is created 0600: owner only */
    rv = uv_pipe_bind(&c->pipe, path);
    umask(old);
    if (rv == 0) {
        chmod(path, 0600);
        rv = uv_listen((uv_stream_t *)&c->pipe, 16, on_connection);
    }
    if (rv != 0) {
        snprintf(err, err_len, "control socket %s: %s", path,
                 uv_strerror(rv));
        return BATON_EIO;
    }
    return 0;
}

void batond_control_close(struct batond_control *c, uv_close_cb cb)
{
    if (c->open) {
        c->open = false;
        uv_close((uv_handle_t *)&c->pipe, cb);
        unlink(c->path);
    }
}
