/* libbaton: global names, messages and calls (docs/api.md "Names"). */
#include "../util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "lib.h"

/* The core's codes, as the library's errors. */
static int status_of(unsigned code)
{
    switch (code) {
    case BATON_NAME_OK:
        return 0;
    case BATON_NAME_TAKEN:
    case BATON_NAME_HAS_NAME:
        return BATON_ENAMETAKEN;
    case BATON_NAME_NOT_OWNER:
        return BATON_ENOTOWNER;
    case BATON_NAME_NOT_FOUND:
        return BATON_ENOTFOUND;
    case BATON_NAME_FULL:
        return BATON_EFULL;
    case BATON_NAME_BUSY:
        return BATON_EBUSY;
    case BATON_NAME_TIMEOUT:
        return BATON_ETIMEDOUT;
    case BATON_NAME_UNREACHABLE:
        return BATON_EUNREACHABLE;
    default:
        return BATON_EINVAL;
    }
}

static uint64_t new_id(struct baton *b)
{
    return b->next_id++;
}

static struct lib_ep *ep_by_name(const struct baton *b, const char *name)
{
    for (uint32_t i = 0; i < b->eps.cap; i++) {
        struct lib_ep *ep = b->eps.vals[i];
        if (b->eps.keys[i] != 0 && ep->owner == LIB_OWNER_LIB &&
            strcmp(ep->name, name) == 0) {
            return ep;
        }
    }
    return NULL;
}

static void ep_free(struct baton *b, struct lib_ep *ep)
{
    lib_idmap_del(&b->eps, ep->id);
    free(ep);
}

static int check_name(struct baton *b, const char *name)
{
    if (name == NULL || baton_name_check(name, strlen(name)) != 0) {
        return lib_fail(b, BATON_EINVAL,
                        "name \"%.140s\": 1-127 printable ASCII bytes, "
                        "no spaces", name ? name : "(null)");
    }
    return 0;
}

static int usable(struct baton *b)
{
    if (b->closing) {
        return BATON_ECLOSED;
    }
    if (!b->started) {
        return lib_fail(b, BATON_ESTATE, "the node is not started");
    }
    return 0;
}

int lib_register(struct baton *b, const char *name, bool re,
                 const struct baton_handler *h, void *data,
                 baton_done_cb cb, void *cb_data)
{
    struct baton_name_req req;
    struct lib_ep *ep;
    struct lib_op *op;
    int rv;

    if ((rv = usable(b)) != 0 || (rv = check_name(b, name)) != 0) {
        return rv;
    }
    if (h == NULL) {
        return lib_fail(b, BATON_EINVAL, "register %s: no handler", name);
    }
    ep = calloc(1, sizeof(*ep));
    op = calloc(1, sizeof(*op));
    if (ep == NULL || op == NULL) {
        free(ep);
        free(op);
        return BATON_ENOMEM;
    }
    ep->id = new_id(b);
    snprintf(ep->name, sizeof(ep->name), "%s", name);
    ep->h = h;
    ep->data = data;
    op->id = new_id(b);
    op->ep = ep;
    op->kind = re ? BATON_NAME_REREGISTER : BATON_NAME_REGISTER;
    op->cb = cb;
    op->cb_data = cb_data;
    if (lib_idmap_put(&b->eps, ep->id, ep) != 0 ||
        lib_idmap_put(&b->ops, op->id, op) != 0) {
        lib_idmap_del(&b->eps, ep->id);
        free(ep);
        free(op);
        return BATON_ENOMEM;
    }
    memset(&req, 0, sizeof(req));
    req.id = op->id;
    req.kind = op->kind;
    req.endpoint = ep->id;
    snprintf(req.name, sizeof(req.name), "%s", name);
    rv = baton_io_name(&b->io, &req);
    if (rv != 0) {
        lib_idmap_del(&b->ops, op->id);
        ep_free(b, ep);
        free(op);
        return lib_fail(b, rv == BATON_EFULL ? BATON_EBUSY : rv,
                        "register %s: %s", name, baton_strerror(rv));
    }
    return 0;
}

int baton_register(struct baton *b, const char *name,
                   const struct baton_handler *h, void *data,
                   baton_done_cb cb, void *cb_data)
{
    return lib_register(b, name, false, h, data, cb, cb_data);
}

int baton_reregister(struct baton *b, const char *name,
                     const struct baton_handler *h, void *data,
                     baton_done_cb cb, void *cb_data)
{
    return lib_register(b, name, true, h, data, cb, cb_data);
}

int baton_unregister(struct baton *b, const char *name, baton_done_cb cb,
                     void *cb_data)
{
    struct baton_name_req req;
    struct lib_ep *ep;
    struct lib_op *op;
    int rv;

    if ((rv = usable(b)) != 0 || (rv = check_name(b, name)) != 0) {
        return rv;
    }
    ep = ep_by_name(b, name);
    if (ep == NULL || !ep->held) {
        return lib_fail(b, BATON_ENOTOWNER,
                        "unregister %s: this node does not hold it", name);
    }
    op = calloc(1, sizeof(*op));
    if (op == NULL || lib_idmap_put(&b->ops, (op->id = new_id(b)), op) != 0) {
        free(op);
        return BATON_ENOMEM;
    }
    op->ep = ep;
    op->kind = BATON_NAME_UNREGISTER;
    op->cb = cb;
    op->cb_data = cb_data;
    ep->held = false; /* given up from now on: no more deliveries */
    ep->leaving = true;
    memset(&req, 0, sizeof(req));
    req.id = op->id;
    req.kind = BATON_NAME_UNREGISTER;
    req.endpoint = ep->id;
    snprintf(req.name, sizeof(req.name), "%s", name);
    rv = baton_io_name(&b->io, &req);
    if (rv != 0) {
        lib_idmap_del(&b->ops, op->id);
        free(op);
        ep->held = true;
        ep->leaving = false;
        return lib_fail(b, rv == BATON_EFULL ? BATON_EBUSY : rv,
                        "unregister %s: %s", name, baton_strerror(rv));
    }
    return 0;
}

int baton_whereis(const struct baton *b, const char *name, const char **node,
                  uint64_t *epoch)
{
    const struct baton_name *e;

    if (!b->started || name == NULL) {
        return BATON_ENOTFOUND;
    }
    e = baton_node_whereis(&b->io.node, name);
    if (e == NULL) {
        return BATON_ENOTFOUND;
    }
    if (node != NULL) {
        *node = lib_node_name(b, e->owner);
    }
    if (epoch != NULL) {
        *epoch = e->epoch;
    }
    return 0;
}

/* A name write finished, or an endpoint lost its name. */
void lib_on_name(struct baton_io *io, const struct baton_name_effect *e)
{
    struct baton *b = io->data;

    if (e->action == BATON_NAMEFX_DONE) {
        struct lib_op *op = lib_idmap_get(&b->ops, e->id);
        int status = status_of(e->code);
        struct lib_ep *ep;
        if (op == NULL) {
            return;
        }
        if (op->owner == LIB_OWNER_SESSION) { /* a control socket's */
            lib_control_name_effect(b->control, e);
            return;
        }
        lib_idmap_del(&b->ops, op->id);
        ep = op->ep;
        if (op->kind == BATON_NAME_UNREGISTER) {
            ep_free(b, ep);
        } else if (status == 0) {
            ep->held = true;
        } else {
            ep_free(b, ep);
        }
        if (op->cb != NULL) {
            op->cb(op->cb_data, status);
        }
        free(op);
    } else if (e->action == BATON_NAMEFX_LOST) {
        struct lib_ep *ep = lib_idmap_get(&b->eps, e->endpoint);
        if (ep == NULL || ep->owner == LIB_OWNER_SESSION) {
            if (b->control != NULL) { /* a session's or an app's name */
                lib_control_name_effect(b->control, e);
            }
            return;
        }
        ep->held = false;
        lib_idmap_del(&b->eps, ep->id);
        if (ep->h->lost != NULL) {
            ep->h->lost(ep->data, ep->name, e->code);
        }
        free(ep);
    }
}

/* ---- calls ------------------------------------------------------------ */

/* Its deadline passed: the call fails. */
static void call_fire(struct lib_deadline *e)
{
    struct lib_call *c = LIB_CONTAINER_OF(e, struct lib_call, dl);

    lib_call_finish(c->b, c, BATON_ETIMEDOUT, NULL, 0);
}

struct lib_call *lib_call_new(struct baton *b, uint8_t kind,
                              uint64_t timeout_ms, baton_reply_cb cb,
                              void *cb_data)
{
    struct lib_call *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->id = new_id(b);
    c->b = b;
    c->kind = kind;
    c->cb = cb;
    c->cb_data = cb_data;
    c->dl.fire = call_fire;
    if (lib_idmap_put(&b->calls, c->id, c) != 0) {
        free(c);
        return NULL;
    }
    if (lib_deadline_add(&b->deadlines, &c->dl, timeout_ms) != 0) {
        lib_idmap_del(&b->calls, c->id);
        free(c);
        return NULL;
    }
    return c;
}

int lib_call_send(struct baton *b, struct lib_call *c, const char *name,
                  const void *msg, size_t len)
{
    struct baton_call call;

    memset(&call, 0, sizeof(call));
    call.id = c->id;
    call.flags = BATON_CALL_WANTS_REPLY;
    call.name = name;
    call.data = msg;
    call.len = (uint32_t)len;
    return baton_io_call(&b->io, &call);
}

/* Removes c (from the map, the heap, its group) and answers it. */
void lib_call_finish(struct baton *b, struct lib_call *c, int status,
                     const void *reply, size_t len)
{
    lib_idmap_del(&b->calls, c->id);
    lib_deadline_remove(&b->deadlines, &c->dl);
    if (c->group != NULL) {
        struct baton_group *g = c->group;
        if (c->prev != NULL) {
            c->prev->next = c->next;
        } else {
            g->waiting = c->next;
        }
        if (c->next != NULL) {
            c->next->prev = c->prev;
        }
        g->n_waiting--;
    }
    if (c->cb != NULL) {
        c->cb(c->cb_data, status, reply, len);
    }
    free(c->msg);
    free(c);
}

void lib_calls_fail_all(struct baton *b, int status)
{
    while (b->calls.count > 0) {
        /* Finishing deletes entries, shifting others back: pass again
         * until none is left. */
        for (size_t i = 0; i < b->calls.cap; i++) {
            if (b->calls.keys[i] != 0) {
                lib_call_finish(b, b->calls.vals[i], status, NULL, 0);
            }
        }
    }
}

int baton_call(struct baton *b, const char *name, const void *msg,
               size_t len, uint64_t timeout_ms, baton_reply_cb cb,
               void *cb_data)
{
    struct lib_call *c;
    uint64_t id;
    int rv;

    if ((rv = usable(b)) != 0 || (rv = check_name(b, name)) != 0) {
        return rv;
    }
    if (len > BATON_CALL_DATA_MAX || (msg == NULL && len != 0)) {
        return lib_fail(b, BATON_EINVAL, "call %s: %zu bytes (at most %u)",
                        name, len, (unsigned)BATON_CALL_DATA_MAX);
    }
    c = lib_call_new(b, LIB_CALL_USER, timeout_ms, cb, cb_data);
    if (c == NULL) {
        return BATON_ENOMEM;
    }
    id = c->id;
    rv = lib_call_send(b, c, name, msg, len);
    if (rv != 0) {
        /* No callback for a call that failed to start. */
        c = lib_idmap_get(&b->calls, id);
        if (c != NULL) {
            c->cb = NULL;
            lib_call_finish(b, c, rv, NULL, 0);
        }
        return lib_fail(b, rv == BATON_EFULL ? BATON_EBUSY : rv,
                        "call %s: %s", name, baton_strerror(rv));
    }
    return 0;
}

/* data as it goes on the wire: behind prefix (in b->scratch) if it is
 * not 0. Preconditions: len < BATON_CALL_DATA_MAX when there is one. */
static const uint8_t *with_prefix(struct baton *b, uint8_t prefix,
                                  const void *data, size_t len,
                                  uint32_t *out_len)
{
    if (prefix == 0) {
        *out_len = (uint32_t)len;
        return data;
    }
    b->scratch[0] = prefix;
    if (len > 0) {
        memcpy(b->scratch + 1, data, len);
    }
    *out_len = (uint32_t)len + 1;
    return b->scratch;
}

int lib_send_prefixed(struct baton *b, const char *name, uint8_t prefix,
                      const void *msg, size_t len)
{
    struct baton_call call;
    int rv;

    if ((rv = usable(b)) != 0 || (rv = check_name(b, name)) != 0) {
        return rv;
    }
    if (len + (prefix != 0) > BATON_CALL_DATA_MAX ||
        (msg == NULL && len != 0)) {
        return lib_fail(b, BATON_EINVAL, "send %s: %zu bytes (at most %u)",
                        name, len, (unsigned)BATON_CALL_DATA_MAX);
    }
    if (baton_node_whereis(&b->io.node, name) == NULL) {
        return lib_fail(b, BATON_ENOTFOUND, "send %s: no such name", name);
    }
    memset(&call, 0, sizeof(call));
    call.id = 0;
    call.name = name;
    call.data = with_prefix(b, prefix, msg, len, &call.len);
    rv = baton_io_call(&b->io, &call);
    return rv == BATON_EFULL ? BATON_EBUSY : rv;
}

int baton_send(struct baton *b, const char *name, const void *msg,
               size_t len)
{
    return lib_send_prefixed(b, name, 0, msg, len);
}

struct baton_request *lib_request_new(struct baton *b, uint8_t kind,
                                      uint64_t id)
{
    struct baton_request *r = calloc(1, sizeof(*r));

    if (r != NULL) {
        r->b = b;
        r->kind = kind;
        r->id = id;
    }
    return r;
}

int baton_reply(struct baton_request *req, const void *data, size_t len)
{
    struct baton *b = req->b;
    int rv = 0;

    if (len > BATON_CALL_DATA_MAX - 1 || (data == NULL && len != 0)) {
        free(req);
        return lib_fail(b, BATON_EINVAL, "reply: %zu bytes (at most %u)",
                        len, (unsigned)BATON_CALL_DATA_MAX - 1);
    }
    if (req->kind == LIB_REQ_LOCAL) {
        struct lib_call *c = lib_idmap_get(&b->calls, req->id);
        if (c != NULL) {
            lib_call_finish(b, c, 0, data, len);
        }
    } else if (!b->closing) {
        struct baton_call reply;
        memset(&reply, 0, sizeof(reply));
        reply.id = req->id;
        reply.to = req->to;
        reply.to_inc = req->to_inc;
        reply.code = BATON_NAME_OK;
        reply.data = with_prefix(b, req->prefix, data, len, &reply.len);
        rv = baton_io_reply(&b->io, &reply);
    }
    free(req);
    return rv;
}

/* A call for one of our endpoints arrived, or a call of ours finished. */
void lib_on_call(struct baton_io *io, const struct baton_call_effect *e)
{
    struct baton *b = io->data;

    if (e->action == BATON_CALLFX_DONE) {
        struct lib_call *c = lib_idmap_get(&b->calls, e->id);
        if (c == NULL || e->id == 0) {
            return; /* a send, or a call we stopped waiting for */
        }
        if (c->kind == LIB_CALL_SESSION) {
            lib_control_call_effect(b->control, e); /* a session's */
        } else if (c->kind == LIB_CALL_USER) {
            lib_call_finish(b, c, status_of(e->code), e->data, e->len);
        } else {
            lib_group_call_done(b, c, status_of(e->code), e->data, e->len);
        }
    } else if (e->action == BATON_CALLFX_DELIVER) {
        struct lib_ep *ep = lib_idmap_get(&b->eps, e->endpoint);
        if (b->control != NULL && (ep == NULL || ep->owner != LIB_OWNER_LIB) &&
            lib_control_owns_endpoint(b->control, e->endpoint)) {
            lib_control_call_effect(b->control, e); /* a session's */
            return;
        }
        if (!(e->flags & BATON_CALL_WANTS_REPLY)) {
            if (ep != NULL && !ep->leaving && ep->h->message != NULL) {
                ep->h->message(ep->data, e->name, e->data, e->len);
            }
            return;
        }
        /* A registration whose DONE is still to come may already be in
         * the table (a follower applies the op first): deliver. */
        if (ep == NULL || ep->leaving || ep->h->call == NULL) {
            struct baton_call reply;
            memset(&reply, 0, sizeof(reply));
            reply.id = e->id;
            reply.to = e->from;
            reply.to_inc = e->from_inc;
            reply.code = BATON_NAME_NOT_FOUND;
            (void)baton_io_reply(&b->io, &reply);
            return;
        }
        {
            struct baton_request *r =
                lib_request_new(b, LIB_REQ_REMOTE, e->id);
            if (r == NULL) {
                return; /* the caller's deadline answers it */
            }
            r->to = e->from;
            r->to_inc = e->from_inc;
            ep->h->call(ep->data, e->name, r, e->data, e->len);
        }
    }
}

void lib_names_close(struct baton *b)
{
    /* The control socket, closed before, took its entries out. */
    for (uint32_t i = 0; i < b->ops.cap; i++) {
        const struct lib_op *op = b->ops.vals[i];
        if (b->ops.keys[i] != 0 && op->owner == LIB_OWNER_LIB) {
            free(b->ops.vals[i]);
        }
    }
    for (uint32_t i = 0; i < b->eps.cap; i++) {
        const struct lib_ep *ep = b->eps.vals[i];
        if (b->eps.keys[i] != 0 && ep->owner == LIB_OWNER_LIB) {
            free(b->eps.vals[i]);
        }
    }
    lib_idmap_free(&b->ops);
    lib_idmap_free(&b->eps);
    lib_idmap_free(&b->calls);
    lib_deadlines_free(&b->deadlines);
}
