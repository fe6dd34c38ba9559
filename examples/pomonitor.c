/* pomonitor: a globally named server whose takeover loses no call
 * (seed 000, Ulf Wiger's answer on erlang-questions, 10 Feb 2000).
 *
 *   pomonitor -c CONFIG [--nodes "a@h, {b@h c@h}"] [--pull-delay MS]
 *             [--failover-timeout MS]
 *
 * The app "pomonitor" runs on one node of its priority list (default:
 * every node of [nodes], in order). Its instance holds the global name
 * "pomonitor" and a counter: "observe N" adds N and answers
 * "count=K sum=S"; "get" answers the same without changing it. Every
 * process also holds "pomonitor/<its node>", through which the instances
 * talk to each other. Commands on stdin, one per line: observe N, get,
 * load N [GAP_MS [STREAMS]] (N "observe 1" calls, from STREAMS
 * sequential callers, each pausing GAP_MS between calls), call NAME TEXT
 * (any name: the test reaches an old instance's node name with it),
 * takeover, where, quit. Events and answers go to stdout, one line each.
 *
 * The design: steal the name first, then pull the state (the seed's).
 *   1. The new instance (start TAKEOVER from X) queues every call it gets
 *      and re-registers "pomonitor": from then on new calls come to it.
 *   2. Once the name is ours, it asks X for the state ("handover ME" to
 *      "pomonitor/X"). X answers with its counter and, in the same
 *      callback, stops applying calls: that answer is the cut-off.
 *   3. Calls X receives after the cut-off (routed to it before its node
 *      saw the name move) are forwarded to "pomonitor/ME" and X relays
 *      the answer. The new instance queues them with the others.
 *   4. With the state in, the new instance applies the queue in arrival
 *      order, answers each call, and serves from then on.
 * Every call is thus applied exactly once, to the state of the one
 * instance that answers it: before the cut-off by X, after it by us.
 *
 * Why not the library's export_state/import_state: the export runs on
 * the old node before the new instance starts, hence before the name
 * moves. Calls the old instance answers between the export and the move
 * would be missing from the imported state. To prevent it the old one
 * would have to freeze at export, but it is never told if the takeover
 * is then abandoned (the new node fails to start), and would stay frozen.
 * Here the old instance gives its state away only when asked by a node
 * that already holds the name, so it never freezes for nothing.
 *
 * The old instance may be stopped (BATON_STOP_MOVED: the new one
 * reported ready when its start returned) before the pull comes: the
 * process keeps the counter and serves the pull later. On failover (the
 * owner's node was lost) the state is lost: the counter starts at zero.
 */
#define _POSIX_C_SOURCE 200809L

#include <baton/baton.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define NAME "pomonitor"
#define QUEUE_MAX (4096)       /* calls held during a takeover */
#define CALL_TIMEOUT_MS (10000)
#define PULL_TIMEOUT_MS (2000)
#define PULL_TRIES_MAX (100)
#define FWD_TRIES_MAX (50)     /* NOTFOUND retries, 100 ms apart */
#define RETRY_MS (100)
#define LINE_MAX_BYTES (256)
#define NODE_MAX (128)

/* What this process does with a call to "pomonitor". */
enum mode {
    MODE_IDLE,    /* no state here: refuse */
    MODE_SERVING, /* apply it to the counter */
    MODE_TAKING,  /* a takeover waits for the state: queue it */
    MODE_HANDED,  /* the state went to p->to: forward it there */
};

static const char *const mode_names[] = {"idle", "serving", "taking",
                                         "handed"};

struct held {
    struct baton_request *req;
    char msg[LINE_MAX_BYTES];
};

/* A call forwarded to the new instance, waiting for its answer or for
 * a retry (the new instance's name may not be known here yet). */
struct fwd {
    struct pomon *p;
    struct baton_request *req;
    char target[NODE_MAX + 16];
    char msg[LINE_MAX_BYTES + 8];
    unsigned tries;
    struct fwd *next;
};

#define LOAD_STREAMS_MAX (16)

struct load {
    bool active;
    unsigned n, issued, done, ok, failed, streams;
    uint64_t gap_ms;
    long long best;            /* the highest count answered */
    char last[LINE_MAX_BYTES]; /* the answer with that count */
    uv_timer_t timer[LOAD_STREAMS_MAX];
};

struct pomon {
    uv_loop_t loop;
    struct baton *b;
    struct baton_app *app;
    bool closing;
    char node_name[NODE_MAX + 16]; /* "pomonitor/<self>" */
    bool node_name_held;
    uint64_t pull_delay_ms;

    /* The instance. */
    bool running;       /* started and not stopped */
    bool name_pending;  /* a reregister of "pomonitor" under way */
    uint64_t epoch;     /* of the last start: stale callbacks check it */
    enum mode mode;
    int64_t count, sum;
    char from[NODE_MAX]; /* takeover source */
    unsigned pull_tries;
    char to[NODE_MAX];   /* MODE_HANDED: where the state went */
    int64_t snap_count, snap_sum;
    unsigned forwarded;
    struct held queue[QUEUE_MAX];
    unsigned q_len;

    struct fwd *retry;  /* forwards waiting for a retry */
    struct load load;
    char line[LINE_MAX_BYTES];
    size_t line_len;

    uv_pipe_t in_pipe;
    uv_tty_t in_tty;
    uv_stream_t *in;
    uv_timer_t pull_timer, fwd_timer, name_timer, repair_timer;
    uv_signal_t sigterm, sigint;
};

static void handle(struct pomon *p, struct baton_request *req,
                   const char *msg);
static void name_register(struct pomon *p);
static void on_fwd_timer(uv_timer_t *t);
static void on_pull_timer(uv_timer_t *t);
static void on_repair_timer(uv_timer_t *t);
static void on_name_timer(uv_timer_t *t);

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void reply_text(struct baton_request *req, const char *text)
{
    (void)baton_reply(req, text, strlen(text));
}

/* Copies a reply (not NUL-terminated) into buf. */
static void text_of(char *buf, size_t size, const void *data, size_t len)
{
    if (len >= size) {
        len = size - 1;
    }
    if (len > 0) {
        memcpy(buf, data, len);
    }
    buf[len] = '\0';
}

/* ---- the counter -------------------------------------------------------- */

/* "observe N" or "get" to the counter; answers into out. */
static void apply(struct pomon *p, const char *msg, char *out, size_t size)
{
    long long n;
    char extra;

    if (sscanf(msg, "observe %lld %c", &n, &extra) == 1) {
        p->count++;
        p->sum += n;
    } else if (strcmp(msg, "get") != 0) {
        snprintf(out, size, "error: bad request \"%.40s\"", msg);
        return;
    }
    snprintf(out, size, "count=%" PRId64 " sum=%" PRId64, p->count, p->sum);
}

static void answer(struct pomon *p, struct baton_request *req,
                   const char *msg)
{
    char out[128];

    apply(p, msg, out, sizeof(out));
    reply_text(req, out);
}

/* Answers every queued call: with the counter, or with why not. */
static void drain(struct pomon *p, const char *error)
{
    unsigned n = p->q_len;

    p->q_len = 0;
    for (unsigned i = 0; i < n; i++) {
        if (error != NULL) {
            reply_text(p->queue[i].req, error);
        } else {
            answer(p, p->queue[i].req, p->queue[i].msg);
        }
    }
}

/* ---- forwarding (the old instance, after the cut-off) ------------------- */

static void fwd_send(struct fwd *f);

static void fwd_done(struct fwd *f, const char *text)
{
    reply_text(f->req, text);
    free(f);
}

static void fwd_cb(void *data, int status, const void *reply, size_t len)
{
    struct fwd *f = data;
    struct pomon *p = f->p;
    char text[LINE_MAX_BYTES];

    if (status == 0) {
        text_of(text, sizeof(text), reply, len);
        fwd_done(f, text);
        return;
    }
    /* Our node may not have seen the new instance's node name yet. */
    if (status == BATON_ENOTFOUND && !p->closing &&
        ++f->tries < FWD_TRIES_MAX) {
        f->next = p->retry;
        p->retry = f;
        if (!uv_is_active((uv_handle_t *)&p->fwd_timer)) {
            uv_timer_start(&p->fwd_timer, on_fwd_timer, 0, 0);
        }
        return;
    }
    snprintf(text, sizeof(text), "error: forward to %s: %s", f->target,
             baton_strerror(status));
    fwd_done(f, text);
}

static void fwd_send(struct fwd *f)
{
    int rv = baton_call(f->p->b, f->target, f->msg, strlen(f->msg),
                        CALL_TIMEOUT_MS, fwd_cb, f);
    char text[LINE_MAX_BYTES];

    if (rv != 0) {
        snprintf(text, sizeof(text), "error: forward to %s: %s", f->target,
                 baton_strerror(rv));
        fwd_done(f, text);
    }
}

static void on_fwd_timer(uv_timer_t *t)
{
    struct pomon *p = t->data;
    struct fwd *f = p->retry;

    p->retry = NULL;
    while (f != NULL) {
        struct fwd *next = f->next;
        fwd_send(f);
        f = next;
    }
}

static void forward(struct pomon *p, struct baton_request *req,
                    const char *msg)
{
    struct fwd *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        reply_text(req, "error: out of memory");
        return;
    }
    f->p = p;
    f->req = req;
    snprintf(f->target, sizeof(f->target), NAME "/%s", p->to);
    snprintf(f->msg, sizeof(f->msg), "fwd %s", msg);
    p->forwarded++;
    say("forwarded call %u (%s) to %s", p->forwarded, msg, p->to);
    fwd_send(f);
}

/* ---- calls to this process ---------------------------------------------- */

static void handle(struct pomon *p, struct baton_request *req,
                   const char *msg)
{
    switch (p->mode) {
    case MODE_SERVING:
        answer(p, req, msg);
        break;
    case MODE_TAKING:
        if (p->q_len == QUEUE_MAX) {
            reply_text(req, "error: too many calls queued");
            break;
        }
        p->queue[p->q_len].req = req;
        snprintf(p->queue[p->q_len].msg, sizeof(p->queue[0].msg), "%s", msg);
        p->q_len++;
        break;
    case MODE_HANDED:
        forward(p, req, msg);
        break;
    default:
        reply_text(req, "error: pomonitor does not run here");
        break;
    }
}

/* "handover NODE" from the instance taking over: the cut-off. */
static void handover(struct pomon *p, struct baton_request *req,
                     const char *node)
{
    char out[128];

    if (p->mode == MODE_SERVING) {
        p->snap_count = p->count;
        p->snap_sum = p->sum;
        snprintf(p->to, sizeof(p->to), "%.*s", NODE_MAX - 1, node);
        p->mode = MODE_HANDED;
        say("handed over to %s: count=%" PRId64 " sum=%" PRId64, node,
            p->count, p->sum);
    } else if (p->mode == MODE_TAKING) {
        reply_text(req, "retry"); /* our own state is still on its way */
        return;
    } else if (p->mode != MODE_HANDED || strcmp(p->to, node) != 0) {
        reply_text(req, "none");
        return;
    }
    /* A repeat (our first answer was lost) gets the same snapshot: what
     * we forwarded since is queued there, after it. */
    snprintf(out, sizeof(out), "state %" PRId64 " %" PRId64, p->snap_count,
             p->snap_sum);
    reply_text(req, out);
}

static void on_call(void *data, const char *name, struct baton_request *req,
                    const void *msg, size_t len)
{
    struct pomon *p = data;
    char text[LINE_MAX_BYTES];

    text_of(text, sizeof(text), msg, len);
    if (strcmp(name, NAME) == 0) {
        handle(p, req, text);
    } else if (strncmp(text, "fwd ", 4) == 0) {
        handle(p, req, text + 4);
    } else if (strncmp(text, "handover ", 9) == 0) {
        handover(p, req, text + 9);
    } else {
        reply_text(req, "error: unknown request");
    }
}

static void on_lost(void *data, const char *name, int reason)
{
    struct pomon *p = data;

    say("name %s lost (reason %d)", name, reason);
    if (strcmp(name, p->node_name) == 0 && !p->closing) {
        p->node_name_held = false;
        uv_timer_start(&p->name_timer, on_name_timer, RETRY_MS, 0);
    }
}

static const struct baton_handler handler = {
    .call = on_call,
    .lost = on_lost,
};

/* ---- the takeover: steal the name, then pull -------------------------- */

struct pull {
    struct pomon *p;
    uint64_t epoch;
};

static void takeover_done(struct pomon *p, const char *how)
{
    unsigned queued = p->q_len;

    p->mode = MODE_SERVING;
    say("%s: count=%" PRId64 " sum=%" PRId64, how, p->count, p->sum);
    drain(p, NULL);
    say("queued %u calls", queued);
}

static void pull_cb(void *data, int status, const void *reply, size_t len)
{
    struct pull *c = data;
    struct pomon *p = c->p;
    char text[LINE_MAX_BYTES];
    long long count, sum;
    bool stale = p->closing || p->epoch != c->epoch ||
                 p->mode != MODE_TAKING;

    free(c);
    if (stale) {
        return;
    }
    text_of(text, sizeof(text), reply, len);
    if (status == 0 && sscanf(text, "state %lld %lld", &count, &sum) == 2) {
        p->count = count;
        p->sum = sum;
        say("pulled %zu bytes from %s", len, p->from);
        takeover_done(p, "state in");
    } else if (status == 0 && strcmp(text, "none") == 0) {
        takeover_done(p, "no state at the old node: starting empty");
    } else if (++p->pull_tries < PULL_TRIES_MAX &&
               baton_node_up(p->b, p->from)) {
        uv_timer_start(&p->pull_timer, on_pull_timer, RETRY_MS, 0);
    } else {
        say("pull from %s failed (%s): state lost", p->from,
            status != 0 ? baton_strerror(status) : text);
        takeover_done(p, "starting empty");
    }
}

static void on_pull_timer(uv_timer_t *t)
{
    struct pomon *p = t->data;
    struct pull *c;
    char target[NODE_MAX + 16];
    char msg[NODE_MAX + 16];
    int rv;

    if (p->mode != MODE_TAKING || p->closing) {
        return;
    }
    c = malloc(sizeof(*c));
    if (c == NULL) {
        uv_timer_start(&p->pull_timer, on_pull_timer, RETRY_MS, 0);
        return;
    }
    c->p = p;
    c->epoch = p->epoch;
    snprintf(target, sizeof(target), NAME "/%s", p->from);
    snprintf(msg, sizeof(msg), "handover %s", baton_self(p->b));
    rv = baton_call(p->b, target, msg, strlen(msg), PULL_TIMEOUT_MS, pull_cb,
                    c);
    if (rv != 0) {
        pull_cb(c, rv, NULL, 0);
    }
}

/* ---- the instance ------------------------------------------------------- */

struct reg {
    struct pomon *p;
    uint64_t epoch;
};

static void name_cb(void *data, int status)
{
    struct reg *r = data;
    struct pomon *p = r->p;
    bool current = !p->closing && p->epoch == r->epoch && p->running;

    free(r);
    if (!current) {
        return;
    }
    p->name_pending = false;
    if (status != 0) {
        say("register " NAME ": %s; again", baton_strerror(status));
        uv_timer_start(&p->repair_timer, on_repair_timer, RETRY_MS, 500);
        return;
    }
    say("name " NAME " is ours");
    if (p->mode == MODE_TAKING) {
        /* Step 2: the name is ours, so nothing new reaches the old
         * instance but what its node routed before it saw the move. */
        p->pull_tries = 0;
        uv_timer_start(&p->pull_timer, on_pull_timer, p->pull_delay_ms, 0);
    }
}

static void name_register(struct pomon *p)
{
    struct reg *r = malloc(sizeof(*r));
    int rv;

    if (r == NULL) {
        return; /* the repair timer tries again */
    }
    r->p = p;
    r->epoch = p->epoch;
    p->name_pending = true;
    rv = baton_reregister(p->b, NAME, &handler, p, name_cb, r);
    if (rv != 0) {
        p->name_pending = false;
        free(r);
        say("register " NAME ": %s", baton_strerror(rv));
    }
}

static const char *type_name(int type)
{
    return type == BATON_START_TAKEOVER   ? "takeover"
           : type == BATON_START_FAILOVER ? "failover"
                                          : "normal";
}

static int app_start(struct baton_app *app, int type, const char *from_node,
                     uint64_t epoch)
{
    struct pomon *p = baton_app_data(app);

    say("started %s from %s epoch %" PRIu64, type_name(type),
        from_node != NULL ? from_node : "-", epoch);
    drain(p, "error: restarted"); /* nothing is left, but be sure */
    p->running = true;
    p->epoch = epoch;
    p->count = p->sum = 0;
    p->forwarded = 0;
    if (type == BATON_START_TAKEOVER && from_node != NULL) {
        /* Step 1: queue from now on, and steal the name. */
        snprintf(p->from, sizeof(p->from), "%s", from_node);
        p->mode = MODE_TAKING;
    } else {
        p->mode = MODE_SERVING;
    }
    name_register(p);
    uv_timer_start(&p->repair_timer, on_repair_timer, 500, 500);
    return 0; /* we serve (or queue) from now on */
}

static const char *reason_name(int reason)
{
    switch (reason) {
    case BATON_STOP_SHUTDOWN:
        return "shutdown";
    case BATON_STOP_MOVED:
        return "moved";
    case BATON_STOP_CONFLICT:
        return "conflict";
    case BATON_STOP_FAILED:
        return "failed";
    default:
        return "ended";
    }
}

static void app_stop(struct baton_app *app, int reason, const char *to_node)
{
    struct pomon *p = baton_app_data(app);

    if (to_node == NULL) {
        to_node = baton_app_where(app, NULL);
    }
    say("stopped %s to %s", reason_name(reason),
        to_node[0] != '\0' ? to_node : "-");
    p->running = false;
    uv_timer_stop(&p->repair_timer);
    /* The new instance may not have pulled yet: keep the counter and go
     * on serving until it does (then forward). The library reports the
     * end of a takeover as BATON_STOP_CONFLICT, not MOVED (its
     * stop_reason() reads the new owner as "lived apart"), so both keep
     * it. After a real conflict nobody pulls it, and no call comes:
     * the name went to the survivor. */
    if (reason == BATON_STOP_MOVED || reason == BATON_STOP_CONFLICT) {
        return;
    }
    uv_timer_stop(&p->pull_timer);
    drain(p, "error: pomonitor stopped here");
    p->mode = MODE_IDLE;
}

static const struct baton_app_callbacks app_cbs = {
    .start = app_start,
    .stop = app_stop,
};

/* If the name went elsewhere and the app is still ours (a takeover that
 * was abandoned after the new node stole it), take it back. */
static void on_repair_timer(uv_timer_t *t)
{
    struct pomon *p = t->data;
    const char *holder = NULL;
    const char *self = baton_self(p->b);

    if (!p->running || p->name_pending || p->mode != MODE_SERVING ||
        strcmp(baton_app_where(p->app, NULL), self) != 0) {
        return;
    }
    if (baton_whereis(p->b, NAME, &holder, NULL) != 0 ||
        strcmp(holder, self) != 0) {
        say("name " NAME " is not ours: registering it again");
        name_register(p);
    }
}

/* ---- "pomonitor/<self>": how instances reach each other ------------- */

static void node_name_cb(void *data, int status)
{
    struct pomon *p = data;

    if (p->closing) {
        return;
    }
    if (status != 0) {
        uv_timer_start(&p->name_timer, on_name_timer, RETRY_MS, 0);
        return;
    }
    p->node_name_held = true;
    say("name %s is ours", p->node_name);
}

static void on_name_timer(uv_timer_t *t)
{
    struct pomon *p = t->data;

    if (p->closing || p->node_name_held) {
        return;
    }
    if (baton_reregister(p->b, p->node_name, &handler, p, node_name_cb, p) !=
        0) {
        uv_timer_start(&p->name_timer, on_name_timer, RETRY_MS, 0);
    }
}

/* ---- the client (stdin) ------------------------------------------------- */

static void client_cb(void *data, int status, const void *reply, size_t len)
{
    char text[LINE_MAX_BYTES];

    (void)data;
    if (status != 0) {
        say("error: %s", baton_strerror(status));
        return;
    }
    text_of(text, sizeof(text), reply, len);
    say("reply: %s", text);
}

static void load_next(uv_timer_t *t);

static void load_cb(void *data, int status, const void *reply, size_t len)
{
    uv_timer_t *stream = data;
    struct pomon *p = stream->data;
    struct load *l = &p->load;
    char text[LINE_MAX_BYTES];
    long long count;

    text_of(text, sizeof(text), reply, status == 0 ? len : 0);
    l->done++;
    if (status == 0 && sscanf(text, "count=%lld", &count) == 1) {
        l->ok++;
        if (count > l->best) {
            l->best = count;
            snprintf(l->last, sizeof(l->last), "%s", text);
        }
    } else {
        l->failed++;
        say("load call %u failed: %s", l->done,
            status != 0 ? baton_strerror(status) : text);
    }
    if (p->closing) {
        return;
    }
    if (l->issued < l->n) {
        /* From the loop, not from here: a call answered on this very
         * node nests a step per call otherwise. */
        uv_timer_start(stream, load_next, l->gap_ms, 0);
    } else if (l->done == l->n) {
        l->active = false;
        say("load done: ok=%u failed=%u last=%s", l->ok, l->failed,
            l->last);
    }
}

static void load_next(uv_timer_t *t)
{
    struct pomon *p = t->data;
    static const char msg[] = "observe 1";
    int rv;

    p->load.issued++;
    rv = baton_call(p->b, NAME, msg, sizeof(msg) - 1, CALL_TIMEOUT_MS,
                    load_cb, t);
    if (rv != 0) {
        load_cb(t, rv, NULL, 0);
    }
}

static void load_start(struct pomon *p, unsigned n, unsigned gap_ms,
                       unsigned streams)
{
    struct load *l = &p->load;

    if (l->active) {
        say("error: a load runs already");
        return;
    }
    l->active = true;
    l->n = n;
    l->issued = l->done = l->ok = l->failed = 0;
    l->gap_ms = gap_ms;
    l->best = -1;
    l->last[0] = '\0';
    l->streams = streams < 1 ? 1
                 : streams > LOAD_STREAMS_MAX ? LOAD_STREAMS_MAX
                                              : streams;
    for (unsigned i = 0; i < l->streams && i < n; i++) {
        uv_timer_start(&l->timer[i], load_next, 0, 0);
    }
}

static void command(struct pomon *p, const char *line)
{
    unsigned n, gap = 2, streams = 1;
    char name[NODE_MAX + 16];
    int at = 0;
    long long v;
    int rv = 0;

    if (sscanf(line, "observe %lld", &v) == 1 || strcmp(line, "get") == 0) {
        rv = baton_call(p->b, NAME, line, strlen(line), CALL_TIMEOUT_MS,
                        client_cb, p);
    } else if (sscanf(line, "call %143s %n", name, &at) == 1 && at > 0) {
        rv = baton_call(p->b, name, line + at, strlen(line + at),
                        CALL_TIMEOUT_MS, client_cb, p);
    } else if (sscanf(line, "load %u %u %u", &n, &gap, &streams) >= 1 &&
               n > 0) {
        load_start(p, n, gap, streams);
    } else if (strcmp(line, "takeover") == 0) {
        rv = baton_app_takeover(p->app);
        if (rv == 0) {
            say("takeover asked");
        }
    } else if (strcmp(line, "where") == 0) {
        const char *holder = "-";
        (void)baton_whereis(p->b, NAME, &holder, NULL);
        say("where app=%s name=%s mode=%s count=%" PRId64 " sum=%" PRId64,
            baton_app_where(p->app, NULL), holder, mode_names[p->mode],
            p->count, p->sum);
    } else if (strcmp(line, "quit") == 0) {
        raise(SIGTERM);
    } else if (line[0] != '\0') {
        say("error: unknown command \"%s\"", line);
    }
    if (rv != 0) {
        say("error: %s (%s)", baton_strerror(rv), baton_errmsg(p->b));
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char chunk[4096];

    (void)h;
    (void)hint;
    *buf = uv_buf_init(chunk, sizeof(chunk));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct pomon *p = s->data;

    if (nread < 0) {
        uv_read_stop(s); /* EOF: go on serving */
        return;
    }
    for (ssize_t i = 0; i < nread && !p->closing; i++) {
        char c = buf->base[i];
        if (c == '\n') {
            p->line[p->line_len] = '\0';
            command(p, p->line);
            p->line_len = 0;
        } else if (p->line_len + 1 < sizeof(p->line)) {
            p->line[p->line_len++] = c;
        }
    }
}

/* ---- life --------------------------------------------------------------- */

static void on_closed(void *data)
{
    (void)data; /* b is freed: the loop ends once our handles are closed */
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct pomon *p = s->data;
    struct fwd *f;

    (void)signum;
    if (p->closing) {
        return;
    }
    p->closing = true;
    while ((f = p->retry) != NULL) {
        p->retry = f->next;
        fwd_done(f, "error: closing");
    }
    baton_close(p->b, on_closed, p);
    if (p->in != NULL) {
        uv_close((uv_handle_t *)p->in, NULL);
    }
    uv_close((uv_handle_t *)&p->pull_timer, NULL);
    uv_close((uv_handle_t *)&p->fwd_timer, NULL);
    for (unsigned i = 0; i < LOAD_STREAMS_MAX; i++) {
        uv_close((uv_handle_t *)&p->load.timer[i], NULL);
    }
    uv_close((uv_handle_t *)&p->name_timer, NULL);
    uv_close((uv_handle_t *)&p->repair_timer, NULL);
    uv_close((uv_handle_t *)&p->sigterm, NULL);
    uv_close((uv_handle_t *)&p->sigint, NULL);
}

static int open_stdin(struct pomon *p)
{
    uv_handle_type t = uv_guess_handle(0);

    if (t == UV_TTY && uv_tty_init(&p->loop, &p->in_tty, 0, 1) == 0) {
        p->in = (uv_stream_t *)&p->in_tty;
    } else if (t == UV_NAMED_PIPE &&
               uv_pipe_init(&p->loop, &p->in_pipe, 0) == 0 &&
               uv_pipe_open(&p->in_pipe, 0) == 0) {
        p->in = (uv_stream_t *)&p->in_pipe;
    } else {
        fprintf(stderr, "pomonitor: stdin must be a pipe, FIFO or "
                        "terminal\n");
        return -1;
    }
    p->in->data = p;
    return uv_read_start(p->in, on_alloc, on_read) == 0 ? 0 : -1;
}

static void timers_init(struct pomon *p)
{
    uv_timer_t *ts[] = {&p->pull_timer, &p->fwd_timer, &p->name_timer,
                        &p->repair_timer};

    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        uv_timer_init(&p->loop, ts[i]);
        ts[i]->data = p;
    }
    for (unsigned i = 0; i < LOAD_STREAMS_MAX; i++) {
        uv_timer_init(&p->loop, &p->load.timer[i]);
        p->load.timer[i].data = p;
    }
    uv_signal_init(&p->loop, &p->sigterm);
    uv_signal_init(&p->loop, &p->sigint);
    p->sigterm.data = p->sigint.data = p;
    uv_signal_start(&p->sigterm, on_signal, SIGTERM);
    uv_signal_start(&p->sigint, on_signal, SIGINT);
}

static int usage(void)
{
    fprintf(stderr, "usage: pomonitor -c CONFIG [--nodes LIST] "
                    "[--pull-delay MS] [--failover-timeout MS]\n");
    return 2;
}

/* The default priority list: every node of the config, in order. */
static int default_nodes(const char *config, char *out, size_t size)
{
    FILE *f = fopen(config, "r");
    char line[512], name[NODE_MAX];
    bool in_nodes = false;
    size_t used = 0;

    if (f == NULL) {
        return -1;
    }
    out[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '[') {
            in_nodes = strncmp(line, "[nodes]", 7) == 0;
        } else if (in_nodes && sscanf(line, " %127[^ =;#\n]", name) == 1) {
            int w = snprintf(out + used, size - used, "%s%s",
                             used > 0 ? ", " : "", name);
            if (w < 0 || (size_t)w >= size - used) {
                break;
            }
            used += (size_t)w;
        }
    }
    fclose(f);
    return used > 0 ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct baton_options *opt,
                      struct baton_app_options *aopt, struct pomon *p,
                      char *nodes, size_t nodes_size)
{
    const char *list = NULL;

    for (int i = 1; i < argc; i++) {
        bool more = i + 1 < argc;
        if (strcmp(argv[i], "-c") == 0 && more) {
            opt->config_file = argv[++i];
        } else if (strcmp(argv[i], "--nodes") == 0 && more) {
            list = argv[++i];
        } else if (strcmp(argv[i], "--pull-delay") == 0 && more) {
            p->pull_delay_ms = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--failover-timeout") == 0 && more) {
            aopt->failover_timeout_ms = strtoull(argv[++i], NULL, 10);
        } else {
            return -1;
        }
    }
    if (opt->config_file == NULL) {
        return -1;
    }
    if (list != NULL) {
        snprintf(nodes, nodes_size, "%s", list);
    } else if (default_nodes(opt->config_file, nodes, nodes_size) != 0) {
        fprintf(stderr, "pomonitor: no [nodes] in %s\n", opt->config_file);
        return -1;
    }
    aopt->nodes = nodes;
    return 0;
}

int main(int argc, char **argv)
{
    static struct pomon pm; /* large (the queue): not on the stack */
    struct pomon *p = &pm;
    struct baton_options opt;
    struct baton_app_options aopt;
    char nodes[2048], err[512];
    int rv;

    memset(&opt, 0, sizeof(opt));
    memset(&aopt, 0, sizeof(aopt));
    if (parse_args(argc, argv, &opt, &aopt, p, nodes, sizeof(nodes)) != 0) {
        return usage();
    }
    if (uv_loop_init(&p->loop) != 0) {
        return 1;
    }
    opt.loop = &p->loop;
    rv = baton_new(&p->b, &opt, err, sizeof(err));
    if (rv != 0) {
        fprintf(stderr, "pomonitor: %s: %s\n", baton_strerror(rv), err);
        return 1;
    }
    rv = baton_app_add(p->b, NAME, &aopt, &app_cbs, p, &p->app);
    if (rv == 0) {
        rv = baton_start(p->b);
    }
    if (rv != 0) {
        fprintf(stderr, "pomonitor: %s: %s\n", baton_strerror(rv),
                baton_errmsg(p->b));
        baton_close(p->b, NULL, NULL);
        uv_run(&p->loop, UV_RUN_DEFAULT);
        return 1;
    }
    snprintf(p->node_name, sizeof(p->node_name), NAME "/%s",
             baton_self(p->b));
    timers_init(p);
    if (open_stdin(p) != 0) {
        raise(SIGTERM);
    }
    say("node %s: app " NAME " on %s", baton_self(p->b), nodes);
    uv_timer_start(&p->name_timer, on_name_timer, 0, 0);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&p->loop);
    return 0;
}
