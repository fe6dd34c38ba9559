/* JSON sessions on the control socket. Happy path: a client sends JSON
 * request lines; name writes go to the core and are answered when their
 * DONE effect comes back; whereis and names are answered at once from
 * this node's replica; calls and sends are answered when the core says
 * they are done (the reply routed back from the owner). Messages and
 * calls delivered to the session's endpoint are pushed to it as events,
 * and it answers calls with {"op":"reply"}.
 * Failure modes: malformed JSON, unknown ops and bad fields get an
 * "invalid" error and the session goes on; calls without an answer time
 * out in the node's deadline heap (deadline.h); more than LIB_CTL_CALLS_MAX in flight are
 * refused ("busy"); when the session closes, one DROP name write removes
 * all its names, and its calls in flight are forgotten. The protocol is
 * in docs/control.md. */
#include "../util/setup.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/error.h"
#include "session.h"

enum defer_kind { DEFER_NAME = 1, DEFER_CALL, DEFER_REPLY, DEFER_APP };

/* Work for the core found inside one of its callbacks (defer.h). */
struct lib_ctl_defer {
    struct lib_defer d; /* first; a call's, reply's or effect's bytes */
    int kind;
    struct baton_name_req req;  /* NAME */
    struct baton_call call;     /* CALL, REPLY */
    struct baton_app_effect app; /* APP */
    char name[BATON_GNAME_MAX + 1];
};

void lib_ctl_log(struct lib_control *c, int level, const char *fmt, ...)
{
    char text[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    c->io->log(c->io->log_data, level, text);
}

/* ---- the core, carefully -------------------------------------------- */

static void on_name_done(struct lib_control *c, uint64_t id,
                         unsigned code);
static void on_call_done(struct lib_control *c, uint64_t id,
                         unsigned code, const uint8_t *data, uint32_t len);

static bool must_defer(const struct lib_control *c)
{
    return c->depth > 0 || lib_defers_pending(c->defers);
}

static void run_deferred(void *ctx, struct lib_defer *w);

static struct lib_ctl_defer *defer_new(struct lib_control *c, int kind,
                                       const uint8_t *data, uint32_t len)
{
    struct lib_ctl_defer *d = (struct lib_ctl_defer *)lib_defer_new(
        run_deferred, c, sizeof(*d), data, len);

    if (d != NULL) {
        d->kind = kind;
    }
    return d;
}

static void name_now(struct lib_control *c,
                     const struct baton_name_req *req)
{
    if (baton_io_name(c->io, req) != 0) {
        on_name_done(c, req->id, BATON_NAME_INVALID);
    }
}

static void call_now(struct lib_control *c, const struct baton_call *call)
{
    if (baton_io_call(c->io, call) != 0) {
        on_call_done(c, call->id, BATON_NAME_INVALID, NULL, 0);
    }
}

void lib_ctl_io_name(struct lib_control *c,
                     const struct baton_name_req *req)
{
    struct lib_ctl_defer *d;

    if (!must_defer(c)) {
        name_now(c, req);
        return;
    }
    d = defer_new(c, DEFER_NAME, NULL, 0);
    if (d == NULL) {
        on_name_done(c, req->id, BATON_NAME_BUSY);
        return;
    }
    d->req = *req;
    lib_defer_push(c->defers, &d->d);
}

void lib_ctl_io_call(struct lib_control *c, const struct baton_call *call)
{
    struct lib_ctl_defer *d;

    if (!must_defer(c)) {
        call_now(c, call);
        return;
    }
    d = defer_new(c, DEFER_CALL, call->data, call->len);
    if (d == NULL) {
        on_call_done(c, call->id, BATON_NAME_BUSY, NULL, 0);
        return;
    }
    d->call = *call;
    snprintf(d->name, sizeof(d->name), "%s", call->name);
    lib_defer_push(c->defers, &d->d);
}

void lib_ctl_io_reply(struct lib_control *c,
                      const struct baton_call *reply)
{
    struct lib_ctl_defer *d;

    if (!must_defer(c)) {
        baton_io_reply(c->io, reply);
        return;
    }
    d = defer_new(c, DEFER_REPLY, reply->data, reply->len);
    if (d != NULL) {
        d->call = *reply;
        lib_defer_push(c->defers, &d->d);
    }
}

void lib_ctl_defer_app(struct lib_control *c,
                       const struct baton_app_effect *e)
{
    struct lib_ctl_defer *d = defer_new(c, DEFER_APP, e->data, e->len);

    if (d == NULL) {
        lib_ctl_log(c, BATON_LOG_ERROR, "out of memory: app effect lost");
        return;
    }
    d->app = *e;
    lib_defer_push(c->defers, &d->d);
}

static void run_deferred(void *ctx, struct lib_defer *w)
{
    struct lib_control *c = ctx;
    struct lib_ctl_defer *d = (struct lib_ctl_defer *)w;

    if (c->closing) {
        return;
    }
    switch (d->kind) {
    case DEFER_NAME:
        name_now(c, &d->req);
        break;
    case DEFER_CALL:
        d->call.name = d->name;
        d->call.data = d->d.bytes;
        call_now(c, &d->call);
        break;
    case DEFER_REPLY:
        d->call.data = d->d.bytes;
        baton_io_reply(c->io, &d->call);
        break;
    default:
        d->app.data = d->d.bytes;
        if (c->prog.app_effect != NULL) {
            c->prog.app_effect(c->prog.data, &d->app);
        }
        break;
    }
}

/* ---- calls in flight ------------------------------------------------- */

/* Forgets pc: out of the map, its session's list and the deadlines, and
 * frees it. */
static void call_forget(struct lib_pending_call *pc)
{
    struct lib_control *c = pc->ctl;

    lib_idmap_del(c->calls, pc->call.id);
    if (pc->s != NULL) {
        if (pc->prev != NULL) {
            pc->prev->next = pc->next;
        } else {
            pc->s->calls = pc->next;
        }
        if (pc->next != NULL) {
            pc->next->prev = pc->prev;
        }
        pc->s->n_calls--;
        pc->s = NULL;
    }
    lib_deadline_remove(c->deadlines, &pc->call.dl);
    lib_ctl_cid_free(pc->cid, &pc->cid_inline);
    free(pc);
}

/* The end of a call: to its session, or, for a proxy, to the caller it
 * stands in for. */
static void call_finish(struct lib_pending_call *pc, unsigned code,
                        const uint8_t *data, uint32_t len)
{
    struct lib_control *c = pc->ctl;
    struct lib_session *s = pc->s;

    if (s == NULL) {
        if ((pc->orig_flags & BATON_CALL_WANTS_REPLY) != 0) {
            struct baton_call r = {0};
            r.id = pc->orig_id;
            r.to = pc->orig_from;
            r.to_inc = pc->orig_inc;
            r.code = (uint8_t)code;
            r.data = data;
            r.len = len;
            lib_ctl_io_reply(c, &r);
        }
    } else if (code == BATON_NAME_OK) {
        lib_ctl_session_send_ok(s, pc->cid, pc->is_call, data, len);
    } else if (code == BATON_NAME_INVALID && len > 0) {
        /* The endpoint answered {"op":"reply","error":...}: carried as
         * INVALID with the message as data (see docs/control.md). */
        char msg[1024];
        snprintf(msg, sizeof(msg), "%.*s", (int)BATON_MIN(len, 1000u),
                 (const char *)data);
        lib_ctl_send_error(s, pc->cid, "refused", msg);
    } else {
        lib_ctl_send_code(s, pc->cid, code);
    }
    call_forget(pc);
}

static void on_call_done(struct lib_control *c, uint64_t id,
                         unsigned code, const uint8_t *data, uint32_t len)
{
    struct lib_call *call = lib_idmap_get(c->calls, id);

    if (call != NULL && call->kind == LIB_CALL_SESSION) {
        struct lib_pending_call *pc = (struct lib_pending_call *)call;
        call_finish(pc, code, data, len);
    }
}

static void on_call_timeout(struct lib_deadline *e)
{
    struct lib_pending_call *pc = LIB_CONTAINER_OF(e, struct lib_pending_call,
                                                   call.dl);
    char msg[64];

    if (pc->s != NULL) {
        snprintf(msg, sizeof(msg), "no answer within %" PRIu64 " ms",
                 pc->timeout_ms);
        lib_ctl_send_error(pc->s, pc->cid, "timeout", msg);
        call_forget(pc);
        return;
    }
    call_finish(pc, BATON_NAME_TIMEOUT, NULL, 0);
}

struct lib_pending_call *lib_ctl_call_new(struct lib_control *c,
                                             uint64_t timeout_ms)
{
    struct lib_pending_call *pc = calloc(1, sizeof(*pc));

    if (pc == NULL) {
        return NULL;
    }
    pc->ctl = c;
    pc->call.id = lib_ctl_new_id(c);
    pc->call.kind = LIB_CALL_SESSION;
    pc->timeout_ms = timeout_ms;
    pc->call.dl.fire = on_call_timeout;
    if (lib_idmap_put(c->calls, pc->call.id, pc) != 0) {
        free(pc);
        return NULL;
    }
    if (lib_deadline_add(c->deadlines, &pc->call.dl, timeout_ms) != 0) {
        lib_idmap_del(c->calls, pc->call.id);
        free(pc);
        return NULL;
    }
    return pc;
}

void lib_ctl_proxy_call(struct lib_control *c, const char *name,
                        uint64_t id, unsigned from, baton_inc from_inc,
                        unsigned flags, const uint8_t *data, uint32_t len,
                        uint64_t timeout_ms)
{
    struct lib_pending_call *pc = lib_ctl_call_new(c, timeout_ms);
    struct baton_call call = {0};

    if (pc == NULL) {
        return; /* the caller times out */
    }
    pc->orig_id = id;
    pc->orig_from = (uint8_t)from;
    pc->orig_inc = from_inc;
    pc->orig_flags = (uint8_t)flags;
    pc->is_call = (flags & BATON_CALL_WANTS_REPLY) != 0;
    call.id = pc->call.id;
    call.flags = (uint8_t)(flags & BATON_CALL_WANTS_REPLY);
    call.name = name;
    call.data = data;
    call.len = len;
    lib_ctl_io_call(c, &call);
}

void lib_ctl_session_close_all(struct lib_control *c)
{
    /* Proxies have no session: close what is left of them (the node's
     * own calls in the table are the node's to end). Sessions' calls
     * went with lib_ctl_session_detach(). */
    for (bool found = true; found;) {
        /* Deleting shifts entries back, possibly past the cursor: pass
         * again until none is left. */
        found = false;
        for (size_t i = 0; i < c->calls->cap; i++) {
            const struct lib_call *call = c->calls->vals[i];
            if (c->calls->keys[i] != 0 && call->kind == LIB_CALL_SESSION) {
                call_forget(c->calls->vals[i]);
                found = true;
            }
        }
    }
    /* The writes in flight are forgotten (their answers will find
     * nothing); the node's own entries in the tables are the node's. */
    for (bool found = true; found;) {
        found = false;
        for (size_t i = 0; i < c->writes->cap; i++) {
            struct lib_pending_write *w = c->writes->vals[i];
            if (c->writes->keys[i] == 0 || w->op.owner != LIB_OWNER_SESSION) {
                continue;
            }
            lib_idmap_del(c->writes, w->op.id);
            cJSON_Delete(w->cid);
            free(w);
            found = true;
        }
    }
    lib_defers_drop(c->defers, c);
    lib_idmap_free(&c->incoming);
}

/* ---- names held ------------------------------------------------------ */

struct lib_session *lib_ctl_session_of(const struct lib_control *c,
                                       uint64_t endpoint)
{
    struct lib_ep *ep = lib_idmap_get(c->endpoints, endpoint);

    if (ep == NULL || ep->owner != LIB_OWNER_SESSION) {
        return NULL;
    }
    return LIB_CONTAINER_OF(ep, struct lib_session, ep);
}

int lib_ctl_held_find(const struct lib_session *s, const char *name)
{
    for (unsigned i = 0; i < s->n_held; i++) {
        if (strcmp(s->held[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void held_add(struct lib_session *s, const char *name)
{
    char *copy;

    if (lib_ctl_held_find(s, name) >= 0) {
        return;
    }
    if (s->n_held == s->cap_held) {
        unsigned cap = s->cap_held ? s->cap_held * 2 : 4;
        char **nh = realloc(s->held, cap * sizeof(*nh));
        if (nh == NULL) {
            return;
        }
        s->held = nh;
        s->cap_held = cap;
    }
    copy = strdup(name);
    if (copy != NULL) {
        s->held[s->n_held++] = copy;
    }
}

static void held_del(struct lib_session *s, const char *name)
{
    int i = lib_ctl_held_find(s, name);

    if (i >= 0) {
        free(s->held[i]);
        s->held[i] = s->held[--s->n_held];
    }
}

/* ---- effects ---------------------------------------------------------- */

static void on_name_done(struct lib_control *c, uint64_t id,
                         unsigned code)
{
    struct lib_pending_write *w = lib_idmap_get(c->writes, id);
    struct lib_session *s;
    char tok[32];

    if (w == NULL || w->op.owner != LIB_OWNER_SESSION) {
        return;
    }
    lib_idmap_del(c->writes, id);
    if (w->app >= 0) {
        if (code != BATON_NAME_OK) {
            lib_ctl_log(c, BATON_LOG_WARN, "app %s: name %s: %s: %s",
                        c->io->cfg.apps[w->app].name,
                        w->op.kind == BATON_NAME_DROP ? "(drop)" : w->name,
                        lib_ctl_code_token(code, tok, sizeof(tok)),
                        baton_name_code_text(code));
        }
    } else if ((s = lib_ctl_session_of(c, w->endpoint)) != NULL &&
               !s->closing) {
        s->n_writes--;
        if (w->quorum) {
            /* Not the session's: it stays when the session closes
             * (quorum.md §6). */
        } else if (w->op.kind == BATON_NAME_REGISTER ||
                   w->op.kind == BATON_NAME_REREGISTER) {
            s->n_registering--;
            if (code == BATON_NAME_OK) {
                held_add(s, w->name);
            }
        } else if (w->op.kind == BATON_NAME_UNREGISTER &&
                   code == BATON_NAME_OK) {
            held_del(s, w->name);
        }
        if (code == BATON_NAME_OK) {
            lib_ctl_session_send_ok(s, w->cid, false, NULL, 0);
        } else {
            lib_ctl_send_code(s, w->cid, code);
        }
    }
    cJSON_Delete(w->cid);
    free(w);
}

static void on_lost(struct lib_control *c, const struct baton_name_effect *e)
{
    struct lib_session *s = lib_ctl_session_of(c, e->endpoint);
    int app = lib_ctl_app_of_endpoint(c, e->endpoint);
    const char *reason = baton_lost_reason_name(e->code);
    cJSON *o;

    if (app >= 0) {
        lib_ctl_log(c, BATON_LOG_INFO, "app %s: name %s lost here (%s)",
                    c->io->cfg.apps[app].name, e->name, reason);
        s = c->apps[app].server;
    } else if (s != NULL) {
        held_del(s, e->name);
    }
    if (s == NULL || s->closing) {
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", "name_lost");
    cJSON_AddStringToObject(o, "name", e->name);
    cJSON_AddStringToObject(o, "reason", reason != NULL ? reason : "?");
    lib_ctl_session_send(s, o);
    if (app < 0 && e->code == BATON_LOST_CONFLICT_EXIT) {
        /* random_exit: OTP kills the loser; its session ends. */
        lib_ctl_session_end(s, true, "lost its name (conflict_random_exit)");
    }
}

void lib_control_name_effect(struct lib_control *c,
                                const struct baton_name_effect *e)
{
    c->depth++;
    if (e->action == BATON_NAMEFX_DONE) {
        on_name_done(c, e->id, e->code);
    } else if (e->action == BATON_NAMEFX_LOST) {
        on_lost(c, e);
    }
    c->depth--;
}

void lib_control_call_effect(struct lib_control *c,
                                const struct baton_call_effect *e)
{
    struct lib_session *s;
    int app;

    c->depth++;
    if (e->action == BATON_CALLFX_DONE) {
        on_call_done(c, e->id, e->code, e->data, e->len);
    } else if (e->action == BATON_CALLFX_DELIVER) {
        s = lib_ctl_session_of(c, e->endpoint);
        app = lib_ctl_app_of_endpoint(c, e->endpoint);
        if (s != NULL && !s->closing && s->on_hold) {
            lib_ctl_app_held_deliver(s, e);
        } else if (s != NULL && !s->closing) {
            lib_ctl_session_deliver(s, e->name, e->from, e->from_inc, e->id,
                                    e->flags, e->data, e->len);
        } else if (app >= 0) {
            lib_ctl_app_deliver(c, (unsigned)app, e);
        } else if ((e->flags & BATON_CALL_WANTS_REPLY) != 0) {
            /* The endpoint closed; its DROP is on its way. */
            struct baton_call r = {0};
            r.id = e->id;
            r.to = e->from;
            r.to_inc = e->from_inc;
            r.code = BATON_NAME_NOT_FOUND;
            lib_ctl_io_reply(c, &r);
        }
    }
    c->depth--;
}

/* ---- delivery to a session ------------------------------------------- */

void lib_ctl_incoming_unlink(struct lib_incoming *in)
{
    struct lib_session *s = in->s;

    if (in->prev != NULL) {
        in->prev->next = in->next;
    } else {
        s->in_head = in->next;
    }
    if (in->next != NULL) {
        in->next->prev = in->prev;
    } else {
        s->in_tail = in->prev;
    }
    s->n_in--;
    lib_idmap_del(&s->ctl->incoming, in->cid);
}

void lib_ctl_session_deliver(struct lib_session *s, const char *name,
                             unsigned from, baton_inc from_inc, uint64_t id,
                             unsigned flags, const uint8_t *data,
                             uint32_t len)
{
    struct lib_control *c = s->ctl;
    const char *who = from < c->io->cfg.n_nodes ? c->io->names[from] : "?";
    uint64_t cid = 0; /* a message's event has no "call" */

    if ((flags & BATON_CALL_WANTS_REPLY) != 0) {
        struct lib_incoming *in = calloc(1, sizeof(*in));
        if (in == NULL) {
            return; /* the caller times out */
        }
        in->cid = lib_ctl_new_id(c);
        in->id = id;
        in->from = (uint8_t)from;
        in->from_inc = from_inc;
        in->s = s;
        if (lib_idmap_put(&c->incoming, in->cid, in) != 0) {
            free(in);
            return;
        }
        in->prev = s->in_tail;
        if (s->in_tail != NULL) {
            s->in_tail->next = in;
        } else {
            s->in_head = in;
        }
        s->in_tail = in;
        s->n_in++;
        /* An endpoint that never answers: its oldest calls are given up
         * (their callers time out); late replies to them are refused. */
        if (s->n_in > LIB_CTL_INCOMING_MAX) {
            struct lib_incoming *old = s->in_head;
            lib_ctl_incoming_unlink(old);
            free(old);
        }
        cid = in->cid;
    }
    lib_ctl_session_send_event(s, cid, name != NULL ? name : "", who, data,
                               len);
}

void lib_ctl_session_detach(struct lib_session *s)
{
    struct lib_control *c = s->ctl;

    if (s->ep.id != 0) {
        lib_idmap_del(c->endpoints, s->ep.id);
    }
    while (s->calls != NULL) {
        call_forget(s->calls);
    }
    while (s->in_head != NULL) {
        struct lib_incoming *in = s->in_head;
        lib_ctl_incoming_unlink(in);
        free(in);
    }
    lib_ctl_app_unserve(s);
    if (s->named && !c->closing) {
        struct baton_name_req req = {0};
        struct lib_pending_write *w = calloc(1, sizeof(*w));
        /* One write removes every name of the endpoint; its answer goes
         * nowhere (the session is gone) but is awaited like any other. */
        if (w == NULL) {
            return;
        }
        w->op.id = lib_ctl_new_id(c);
        w->op.owner = LIB_OWNER_SESSION;
        w->op.kind = BATON_NAME_DROP;
        w->endpoint = s->ep.id;
        w->app = -1;
        if (lib_idmap_put(c->writes, w->op.id, w) != 0) {
            free(w);
            return;
        }
        req.id = w->op.id;
        req.kind = BATON_NAME_DROP;
        req.endpoint = s->ep.id;
        lib_ctl_io_name(c, &req);
    }
}

void lib_ctl_app_write(struct lib_control *c, unsigned app, unsigned kind)
{
    struct baton_name_req req = {0};
    struct lib_pending_write *w = calloc(1, sizeof(*w));
    const char *gname = lib_ctl_gname(c, app);

    if (w == NULL) {
        return;
    }
    w->op.id = lib_ctl_new_id(c);
    w->op.owner = LIB_OWNER_SESSION;
    w->op.kind = (uint8_t)kind;
    w->endpoint = LIB_CTL_APP_ENDPOINT(app);
    w->app = (int)app;
    snprintf(w->name, sizeof(w->name), "%s", gname);
    if (lib_idmap_put(c->writes, w->op.id, w) != 0) {
        free(w);
        return;
    }
    req.id = w->op.id;
    req.kind = (uint8_t)kind;
    req.endpoint = w->endpoint;
    req.resolver = BATON_RESOLVE_KEEP_INCUMBENT;
    if (kind != BATON_NAME_DROP) {
        snprintf(req.name, sizeof(req.name), "%s", gname);
        req.meta_len = lib_ctl_app_meta(c, app, req.meta, sizeof(req.meta));
    }
    lib_ctl_io_name(c, &req);
}

