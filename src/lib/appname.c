/* Names of apps (`name = X` in an [app] section). Happy path: the core
 * starts the app here; before the supervisor spawns it, X is
 * re_registered to the app's own endpoint on this node (a takeover
 * steals the name first); calls to X wait in a queue until the app's
 * process connects and sends {"op":"serve","name":X}, then go to it in
 * order, and later ones straight to it. When the instance stops here the
 * name's endpoint is dropped.
 * Failure modes: the queue is full (1024) -> the caller gets "busy"; a
 * call waits more than 30 s -> "timeout"; the serving session closes ->
 * calls queue again; calls still queued when the instance stopped go on
 * to wherever X points now (a takeover moved it), from this node, and
 * their answers go back to their callers. See docs/control.md.
 * The name follows the app, not the registration race: while the shared
 * state places the app here and its instance runs, a lost X (a clash
 * after a heal, replaced, removed, purged) is re-pointed here again, and
 * a failed write is retried with backoff; an X still pointing here after
 * the instance stopped is dropped the same way (docs/design/names.md
 * §5).
 *
 * A takeover's export waits until the old instance has stopped serving
 * (docs/control.md "Takeover order"): lib_control_app_hold() holds the
 * app's name and every session of its process group (its own
 * registrations too); calls for them queue here, and once every call
 * already delivered to them is answered (lib_control_app_quiet) the
 * export runs. Held calls then follow their name to wherever it points
 * (the new instance's name, or its own re-registration); the hold ends
 * when the instance stops here, or when the cluster gives the app back
 * to this node (the takeover was abandoned). */
#include "../util/setup.h"

#include <unistd.h>

#include <stdlib.h>
#include <string.h>

#include "session.h"

struct lib_queued {
    struct lib_queued *next;
    /* NULL: a call to the app's name; else one to a name a held session
     * of the app registered itself, at that session's endpoint. */
    const char *name;
    uint64_t endpoint;
    uint64_t id;
    baton_inc from_inc;
    uint64_t expires_ms;
    uint8_t from;
    uint8_t flags;
    uint32_t len;
    uint8_t data[];
};

int lib_ctl_app_of_endpoint(const struct lib_control *c, uint64_t endpoint)
{
    uint64_t k = endpoint - LIB_CTL_APP_ENDPOINT_BASE;

    if (endpoint <= LIB_CTL_APP_ENDPOINT_BASE || k > c->io->cfg.n_apps ||
        lib_ctl_gname(c, (unsigned)(k - 1))[0] == '\0') {
        return -1;
    }
    return (int)(k - 1);
}

/* The first check of a write comes after NAME_FIRST_CHECK_MS; each retry
 * doubles the wait, up to NAME_BACKOFF_MAX_MS. */
#define NAME_FIRST_CHECK_MS (1000u)
#define NAME_BACKOFF_MAX_MS (8000u)

static void name_written(struct lib_control *c, unsigned app)
{
    struct lib_appname *a = &c->apps[app];

    a->backoff_ms =
        a->backoff_ms == 0 ? NAME_FIRST_CHECK_MS : a->backoff_ms * 2;
    if (a->backoff_ms > NAME_BACKOFF_MAX_MS) {
        a->backoff_ms = NAME_BACKOFF_MAX_MS;
    }
    a->retry_ms = uv_now(c->io->loop) + a->backoff_ms;
}

/* Does the shared state place app here, starting or running? A loser of
 * an app conflict after a heal is not placed here (its instance is being
 * stopped), so it never takes the name back from the survivor. */
static bool placed_here(const struct lib_control *c, unsigned app)
{
    const struct baton_state *st = &c->io->node.state;
    int k = baton_state_app_find(st, c->io->cfg.apps[app].name);

    return k >= 0 && st->apps[k].owner == c->io->cfg.self &&
           (st->apps[k].status == BATON_APP_RUNNING ||
            st->apps[k].status == BATON_APP_STARTING ||
            st->apps[k].status == BATON_APP_TAKEOVER);
}

/* Every sweep: the app's name points here exactly while its instance
 * runs here and the cluster agrees it should. */
static void keep_name(struct lib_control *c, unsigned app, uint64_t now)
{
    struct lib_appname *a = &c->apps[app];
    const char *name = lib_ctl_gname(c, app);
    const struct baton_name *e = baton_node_whereis(&c->io->node, name);
    bool mine = e != NULL && e->owner == c->io->cfg.self &&
                e->endpoint == LIB_CTL_APP_ENDPOINT(app);
    bool want = a->active && placed_here(c, app) &&
                (c->prog.draining == NULL || !c->prog.draining(c->prog.data));

    if (want == mine || (!want && a->active)) {
        /* Right; or not placed here yet/any more: the core's START or
         * STOP decides, not this check. */
        a->backoff_ms = 0;
        return;
    }
    if (now < a->retry_ms) {
        return;
    }
    if (want) {
        lib_ctl_log(c, BATON_LOG_INFO,
                    "app %s: name %s %s%s while the app runs here: "
                    "re-registering it",
                    c->io->cfg.apps[app].name, name,
                    e == NULL ? "is gone" : "points to ",
                    e == NULL || e->owner >= c->io->cfg.n_nodes
                        ? ""
                        : c->io->names[e->owner]);
        lib_ctl_app_write(c, app, BATON_NAME_REREGISTER);
    } else {
        lib_ctl_app_write(c, app, BATON_NAME_DROP);
    }
    name_written(c, app);
}

void lib_control_app_effect(struct lib_control *c,
                               const struct baton_app_effect *e)
{
    c->depth++;
    if (e->action == BATON_APP_START && e->app < c->io->cfg.n_apps &&
        lib_ctl_gname(c, e->app)[0] != '\0' &&
        (c->prog.draining == NULL || !c->prog.draining(c->prog.data))) {
        c->apps[e->app].active = true;
        lib_ctl_app_write(c, e->app, BATON_NAME_REREGISTER);
        name_written(c, e->app);
    }
    /* After the name write: the start (and its READY report, at once for
     * ready = spawn) reaches the coordinator after the re-point, so the
     * old owner stops only once callers are sent here. */
    lib_ctl_defer_app(c, e);
    c->depth--;
}

static void queue(struct lib_control *c, unsigned app,
                  const struct baton_call_effect *e, uint64_t endpoint);
static void sweep_app(struct lib_control *c, unsigned app, uint64_t now);

/* The sessions of app's process group (and its name's server): held or
 * let go. */
static void hold_sessions(struct lib_control *c, unsigned app, bool hold)
{
    struct lib_appname *a = &c->apps[app];

    for (struct lib_session *s = c->sessions; s != NULL; s = s->next) {
        if (hold && (s == a->server ||
                     (s->peer_pid > 0 && getpgid(s->peer_pid) == a->pgid))) {
            s->on_hold = true;
            s->held_app = (uint8_t)app;
        } else if (!hold && s->on_hold && s->held_app == app) {
            s->on_hold = false;
        }
    }
}

uint16_t lib_ctl_app_meta(const struct lib_control *c, unsigned app,
                          uint8_t *meta, size_t len)
{
    const char *address = c->apps[app].address[0] != '\0'
                              ? c->apps[app].address
                          : c->address[app] != NULL ? c->address[app]
                                                    : "";
    /* A word "key=value" each, space-separated: readers (batonctl whereis
     * --address) look for their key and ignore the others. */
    int n = snprintf((char *)meta, len, "app=%s%s%s",
                     c->io->cfg.apps[app].name,
                     address[0] != '\0' ? " address=" : "", address);

    return (uint16_t)(n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1);
}

void lib_control_app_address(struct lib_control *c, unsigned app,
                             const char *address)
{
    struct lib_appname *a = &c->apps[app];

    if (address == NULL) {
        address = "";
    }
    if (strcmp(a->address, address) == 0) {
        return;
    }
    snprintf(a->address, sizeof(a->address), "%s", address);
    /* The name's meta changes with a write: only while it is (being)
     * pointed here; keep_name's sweeps never compare metas. */
    if (a->active && lib_ctl_gname(c, app)[0] != '\0') {
        lib_ctl_app_write(c, app, BATON_NAME_REREGISTER);
        name_written(c, app);
    }
}

static void unhold(struct lib_control *c, unsigned app)
{
    if (c->apps[app].held) {
        c->apps[app].held = false;
        hold_sessions(c, app, false);
    }
}

void lib_control_app_idle(struct lib_control *c, unsigned app)
{
    struct lib_appname *a = &c->apps[app];

    unhold(c, app);
    a->address[0] = '\0'; /* the next instance publishes its own */
    if (!a->active) {
        return;
    }
    a->active = false;
    if (a->server != NULL) {
        a->server->serving &= ~(1u << app);
        a->server = NULL;
    }
    /* Only entries of this endpoint go: a name taken over meanwhile
     * stays with its new owner. */
    lib_ctl_app_write(c, app, BATON_NAME_DROP);
    name_written(c, app);
}

void lib_ctl_app_deliver(struct lib_control *c, unsigned app,
                         const struct baton_call_effect *e)
{
    struct lib_appname *a = &c->apps[app];

    if (a->server != NULL && !a->server->closing && !a->held) {
        lib_ctl_session_deliver(a->server, e->name, e->from, e->from_inc,
                                e->id, e->flags, e->data, e->len);
        return;
    }
    queue(c, app, e, 0);
}

void lib_control_app_hold(struct lib_control *c, unsigned app, int pgid)
{
    struct lib_appname *a = &c->apps[app];

    a->held = true;
    a->pgid = pgid;
    hold_sessions(c, app, true);
    lib_ctl_sweep_soon(c);
}

void lib_ctl_app_hold_new(struct lib_session *s)
{
    struct lib_control *c = s->ctl;
    int pgid = -1;

    for (unsigned i = 0; i < c->io->cfg.n_apps; i++) {
        if (c->apps[i].held && s->peer_pid > 0) {
            if (pgid < 0) {
                pgid = getpgid(s->peer_pid);
            }
            if (pgid == c->apps[i].pgid) {
                s->on_hold = true;
                s->held_app = (uint8_t)i;
            }
        }
    }
}

unsigned lib_control_app_unanswered(const struct lib_control *c,
                                    unsigned app)
{
    unsigned n = 0;

    for (const struct lib_session *s = c->sessions; s != NULL; s = s->next) {
        if (s->on_hold && s->held_app == app) {
            n += s->n_in;
        }
    }
    return n;
}

void lib_ctl_app_held_deliver(struct lib_session *s,
                              const struct baton_call_effect *e)
{
    queue(s->ctl, s->held_app, e, s->ep.id);
}

/* Queues e at app: for its name (endpoint 0), or for e->name at a held
 * session's endpoint. A full queue answers "busy". */
static void queue(struct lib_control *c, unsigned app,
                  const struct baton_call_effect *e, uint64_t endpoint)
{
    struct lib_appname *a = &c->apps[app];
    size_t name_len = endpoint != 0 ? strlen(e->name) + 1 : 0;
    struct lib_queued *q;

    q = a->n_queued < LIB_CTL_QUEUE_MAX
            ? malloc(sizeof(*q) + e->len + name_len)
            : NULL;
    if (q == NULL) {
        if ((e->flags & BATON_CALL_WANTS_REPLY) != 0) {
            struct baton_call r = {0};
            r.id = e->id;
            r.to = e->from;
            r.to_inc = e->from_inc;
            r.code = BATON_NAME_BUSY;
            lib_ctl_io_reply(c, &r);
        }
        return;
    }
    q->next = NULL;
    q->name = NULL;
    q->endpoint = endpoint;
    if (endpoint != 0) {
        memcpy(q->data + e->len, e->name, name_len);
        q->name = (const char *)q->data + e->len;
    }
    q->id = e->id;
    q->from = e->from;
    q->from_inc = e->from_inc;
    q->flags = e->flags;
    q->expires_ms = uv_now(c->io->loop) + LIB_CTL_QUEUE_MS;
    q->len = e->len;
    memcpy(q->data, e->data, e->len);
    if (a->tail != NULL) {
        a->tail->next = q;
    } else {
        a->head = q;
    }
    a->tail = q;
    a->n_queued++;
}

const char *lib_ctl_app_serve(struct lib_session *s, const char *name)
{
    struct lib_control *c = s->ctl;

    for (unsigned i = 0; i < c->io->cfg.n_apps; i++) {
        struct lib_appname *a = &c->apps[i];
        if (strcmp(lib_ctl_gname(c, i), name) != 0) {
            continue;
        }
        if (!a->active) {
            return "that app is not running or starting here";
        }
        /* The newest server wins: a restarted instance connects while
         * its predecessor's session may not have closed yet. */
        if (a->server != NULL && a->server != s) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "event", "name_lost");
            cJSON_AddStringToObject(o, "name", name);
            cJSON_AddStringToObject(o, "reason", "served_elsewhere");
            a->server->serving &= ~(1u << i);
            lib_ctl_session_send(a->server, o);
        }
        a->server = s;
        s->serving |= 1u << i;
        return NULL;
    }
    return "not the name of an app (name = in its [app] section)";
}

/* After the "ok" of serve: what waited goes out, in order. */
void lib_ctl_app_flush(struct lib_session *s)
{
    struct lib_control *c = s->ctl;

    for (unsigned i = 0; i < c->io->cfg.n_apps; i++) {
        if ((s->serving & (1u << i)) != 0 && c->apps[i].head != NULL) {
            sweep_app(c, i, uv_now(c->io->loop));
        }
    }
}

void lib_ctl_app_unserve(struct lib_session *s)
{
    struct lib_control *c = s->ctl;

    for (unsigned i = 0; i < c->io->cfg.n_apps && s->serving != 0; i++) {
        if ((s->serving & (1u << i)) != 0) {
            s->serving &= ~(1u << i);
            if (c->apps[i].server == s) {
                c->apps[i].server = NULL;
            }
        }
    }
}

/* Taken over from here, then given back: the takeover was abandoned. */
static bool given_back(const struct lib_control *c, unsigned app)
{
    const struct baton_state *st = &c->io->node.state;
    int k = baton_state_app_find(st, c->io->cfg.apps[app].name);

    return k >= 0 && st->apps[k].owner == c->io->cfg.self &&
           st->apps[k].status == BATON_APP_RUNNING;
}

/* An app's queue, every sweep: a live server takes what waits for it (in
 * order); calls for an instance gone from here, or for a name that has
 * moved from a held session, follow the name to its new place; calls
 * that waited too long time out. */
static void sweep_app(struct lib_control *c, unsigned app, uint64_t now)
{
    struct lib_appname *a = &c->apps[app];
    const char *gname = lib_ctl_gname(c, app);
    struct lib_session *server;
    bool app_moved = false;
    struct lib_queued **pp = &a->head;

    if (a->held && given_back(c, app)) {
        lib_ctl_log(c, BATON_LOG_INFO,
                    "app %s: the takeover was abandoned: it serves here again",
                    c->io->cfg.apps[app].name);
        unhold(c, app);
    }
    server = a->server != NULL && !a->server->closing && !a->held
                 ? a->server
                 : NULL;
    if (gname[0] != '\0' && !a->active) {
        const struct baton_name *e = baton_node_whereis(&c->io->node, gname);
        app_moved = e != NULL && !(e->owner == c->io->cfg.self &&
                                   e->endpoint == LIB_CTL_APP_ENDPOINT(app));
    }
    while (*pp != NULL) {
        struct lib_queued *q = *pp;
        const char *name = q->name != NULL ? q->name : gname;
        struct lib_session *to = server;
        bool moved = app_moved;

        if (q->name != NULL) {
            const struct baton_name *e =
                baton_node_whereis(&c->io->node, q->name);
            struct lib_session *s = lib_ctl_session_of(c, q->endpoint);
            moved = e != NULL && !(e->owner == c->io->cfg.self &&
                                   e->endpoint == q->endpoint);
            to = s != NULL && !s->closing && !s->on_hold ? s : NULL;
        }
        if (to == NULL && !moved && now < q->expires_ms) {
            pp = &q->next;
            continue;
        }
        *pp = q->next;
        a->n_queued--;
        if (to != NULL) {
            lib_ctl_session_deliver(to, name, q->from, q->from_inc, q->id,
                                    q->flags, q->data, q->len);
        } else if (moved) {
            lib_ctl_proxy_call(c, name, q->id, q->from, q->from_inc,
                               q->flags, q->data, q->len,
                               q->expires_ms > now + 1000
                                   ? q->expires_ms - now
                                   : 1000);
        } else if ((q->flags & BATON_CALL_WANTS_REPLY) != 0) {
            struct baton_call r = {0};
            r.id = q->id;
            r.to = q->from;
            r.to_inc = q->from_inc;
            r.code = BATON_NAME_TIMEOUT;
            lib_ctl_io_reply(c, &r);
        }
        free(q);
    }
    a->tail = NULL;
    for (struct lib_queued *q = a->head; q != NULL; q = q->next) {
        a->tail = q;
    }
}

bool lib_ctl_app_sweep(struct lib_control *c)
{
    uint64_t now = uv_now(c->io->loop);
    bool soon = false;

    for (unsigned i = 0; i < c->io->cfg.n_apps; i++) {
        if (c->apps[i].head != NULL || c->apps[i].held) {
            sweep_app(c, i, now);
        }
        if (lib_ctl_gname(c, i)[0] != '\0') {
            keep_name(c, i, now);
        }
        soon = soon || c->apps[i].head != NULL || c->apps[i].held;
    }
    return soon;
}

void lib_ctl_app_free(struct lib_control *c)
{
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        struct lib_appname *a = &c->apps[i];
        while (a->head != NULL) {
            struct lib_queued *q = a->head;
            a->head = q->next;
            free(q);
        }
        a->tail = NULL;
        a->n_queued = 0;
        a->server = NULL;
    }
}
