/* The cluster event stream (docs/control.md "Cluster events"). Happy
 * path: after every loop turn the node's replica is compared with what
 * it was at the last look; each difference bumps its counter
 * (metrics.h) and becomes one JSON line for every control session that
 * subscribed to its kind. Comparing states instead of hooking the core
 * keeps the core and the driver untouched, and sees every way a change
 * arrives (an op, a snapshot, a heal's merge) alike; what happened and
 * was undone between two looks (both within one loop turn) is not seen.
 * Failure modes: a subscriber that leaves LIB_EV_OUT_MAX unread gets
 * "overflow" and is unsubscribed; out of memory for the name table's
 * copy: name events are off (logged) until the next subscription. */
#include "../util/setup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "lib.h"
#include "session.h"

/* ---- sending ---------------------------------------------------------- */

static bool wants(const struct lib_session *s, unsigned kind)
{
    return s->json && !s->closing && !s->handle_closing &&
           (s->events & kind) != 0;
}

/* Sends ev (owned) to every subscriber of kind. */
static void emit(struct baton *b, unsigned kind, cJSON *ev)
{
    struct lib_session *s, *next;

    for (s = b->control != NULL ? b->control->sessions : NULL; s != NULL;
         s = next) {
        next = s->next;
        if (!wants(s, kind)) {
            continue;
        }
        if (baton__wbuf_backlog(&s->wb) > LIB_EV_OUT_MAX) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "event", "overflow");
            cJSON_AddStringToObject(o, "message",
                                    "events left unread: subscription "
                                    "ended, subscribe again");
            s->events = 0;
            lib_ctl_session_send(s, o);
            continue;
        }
        lib_ctl_session_send(s, cJSON_Duplicate(ev, true));
    }
    cJSON_Delete(ev);
}

static bool any_subscriber(const struct baton *b, unsigned kind)
{
    const struct lib_session *s;

    for (s = b->control != NULL ? b->control->sessions : NULL; s != NULL;
         s = s->next) {
        if (wants(s, kind)) {
            return true;
        }
    }
    return false;
}

static void add_node(const struct baton *b,
                     cJSON *o,
                     const char *key,
                     unsigned id)
{
    const char *name = lib_node_name(b, id);

    if (name != NULL) {
        cJSON_AddStringToObject(o, key, name);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static void add_epoch(cJSON *o, uint64_t epoch)
{
    char text[24];

    snprintf(text, sizeof(text), "%" PRIu64, epoch);
    cJSON_AddStringToObject(o, "epoch", text);
}

static cJSON *event_new(const char *event, const char *change)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "event", event);
    cJSON_AddStringToObject(o, "change", change);
    return o;
}

/* ---- nodes ------------------------------------------------------------ */

static void observe_nodes(struct baton *b, bool quiet)
{
    const struct baton_node *n = &b->io.node;
    struct lib_events *ev = &b->events;
    unsigned coord = baton_node_coordinator(n);

    for (unsigned p = 0; p < b->cfg.io.n_nodes; p++) {
        bool alive = lib_alive(b, p);
        cJSON *o;
        if (alive == ev->alive[p]) {
            continue;
        }
        ev->alive[p] = alive;
        if (!quiet) {
            o = event_new("node", alive ? "up" : "down");
            add_node(b, o, "node", p);
            emit(b, LIB_EV_NODE, o);
        }
    }
    if (coord != ev->coord) {
        cJSON *o;
        ev->coord = (uint8_t)coord;
        if (coord != BATON_NODE_NONE) {
            b->metrics.coordinator_changes++;
        }
        if (!quiet) {
            o = event_new("node", "coordinator");
            add_node(b, o, "node", coord);
            emit(b, LIB_EV_NODE, o);
        }
    }
}

/* ---- apps ------------------------------------------------------------- */

static bool has_instance(unsigned status)
{
    return status == BATON_APP_STARTING || status == BATON_APP_RUNNING ||
           status == BATON_APP_TAKEOVER;
}

/* Why the instance seen before ended, by what the app is now. */
static const char *stop_reason(const struct lib_ev_app *now)
{
    if (has_instance(now->status)) {
        return now->type == BATON_START_TAKEOVER ? "moved" : "lost";
    }
    switch (now->status) {
    case BATON_APP_WAITING:
        return "lost"; /* its node was lost: failover timer */
    case BATON_APP_FAILED:
        return "failed";
    case BATON_APP_STOPPED:
        return "ended";
    case BATON_APP_REFUSED:
        return "refused";
    default:
        return "stopped";
    }
}

static cJSON *app_event(struct baton *b,
                        unsigned i,
                        const char *change,
                        unsigned node,
                        uint64_t epoch)
{
    cJSON *o = event_new("app", change);

    cJSON_AddStringToObject(o, "app", b->cfg.io.apps[i].name);
    add_node(b, o, "node", node);
    add_epoch(o, epoch);
    return o;
}

/* The changes of app i from was to now, as events, in the order they
 * happened: the old instance's end, the new one's placing, its start. */
static void app_changed(struct baton *b,
                        unsigned i,
                        const struct lib_ev_app *was,
                        const struct lib_ev_app *now,
                        bool quiet)
{
    bool new_instance = has_instance(now->status) &&
                        (!has_instance(was->status) ||
                         now->epoch != was->epoch || now->owner != was->owner);
    cJSON *o;

    if (has_instance(was->status) &&
        (new_instance || !has_instance(now->status))) {
        if (!quiet) {
            o = app_event(b, i, "stopped", was->owner, was->epoch);
            cJSON_AddStringToObject(o, "reason", stop_reason(now));
            emit(b, LIB_EV_APP, o);
        }
    }
    if (new_instance) {
        const char *type = baton_start_type_name(now->type);
        if (quiet || was->status == BATON_APP_FREE || !b->io.node.synced) {
            /* History: the baseline, or a replica this node just got. */
        } else if (now->type == BATON_START_FAILOVER) {
            b->metrics.failovers[i]++;
        } else if (now->type == BATON_START_TAKEOVER) {
            b->metrics.takeovers[i]++;
        }
        if (!quiet && now->type != BATON_START_NORMAL) {
            o = app_event(b, i, type, now->owner, now->epoch);
            add_node(b, o, "from", now->from);
            emit(b, LIB_EV_APP, o);
        }
        if (!quiet) {
            o = app_event(b, i, "placed", now->owner, now->epoch);
            cJSON_AddStringToObject(o, "reason", type);
            emit(b, LIB_EV_APP, o);
        }
    }
    if (now->status == BATON_APP_RUNNING &&
        (new_instance || was->status != BATON_APP_RUNNING) && !quiet) {
        emit(b, LIB_EV_APP, app_event(b, i, "started", now->owner, now->epoch));
    }
    if (!quiet && now->status != was->status &&
        (now->status == BATON_APP_FAILED || now->status == BATON_APP_REFUSED)) {
        o = app_event(b, i, baton_app_status_name(now->status), now->owner,
                      now->epoch);
        emit(b, LIB_EV_APP, o);
    }
}

static void observe_apps(struct baton *b, bool quiet)
{
    const struct baton_state *st = &b->io.node.state;

    if (!quiet &&
        memcmp(b->events.state_apps, st->apps, sizeof(st->apps)) == 0) {
        return;
    }
    memcpy(b->events.state_apps, st->apps, sizeof(st->apps));
    for (unsigned i = 0; i < b->cfg.io.n_apps; i++) {
        int k = baton_state_app_find(st, b->cfg.io.apps[i].name);
        struct lib_ev_app now = {0};
        struct lib_ev_app *was = &b->events.apps[i];
        if (k >= 0) {
            now.status = st->apps[k].status;
            now.type = st->apps[k].type;
            now.owner = st->apps[k].owner;
            now.from = st->apps[k].from;
            now.epoch = st->apps[k].epoch;
        } else {
            now.owner = now.from = BATON_NODE_NONE;
        }
        if (memcmp(&now, was, sizeof(now)) != 0) {
            app_changed(b, i, was, &now, quiet);
            *was = now;
        }
    }
}

/* ---- names ------------------------------------------------------------ */

static void name_event(struct baton *b,
                       const char *change,
                       const struct baton_name *e,
                       const struct baton_name *from)
{
    cJSON *o = event_new("name", change);

    cJSON_AddStringToObject(o, "name", e->name);
    add_node(b, o, "node", e->owner);
    cJSON_AddNumberToObject(o, "endpoint", (double)e->endpoint);
    add_epoch(o, e->epoch);
    if (from != NULL) {
        add_node(b, o, "from", from->owner);
    }
    emit(b, LIB_EV_NAME, o);
}

static void names_diff(struct baton *b)
{
    const struct baton_names *now = &b->io.node.names;
    const struct baton_names *was = &b->events.names;

    for (uint32_t k = 0; k < now->cap; k++) {
        const struct baton_name *e = &now->slot[k];
        const struct baton_name *old;
        if (!e->used) {
            continue;
        }
        old = baton_names_find(was, e->name);
        if (old == NULL) {
            name_event(b, "registered", e, NULL);
        } else if (old->owner != e->owner || old->endpoint != e->endpoint ||
                   old->owner_inc != e->owner_inc) {
            name_event(b, "moved", e, old);
        } else if (old->epoch != e->epoch) {
            name_event(b, "registered", e, NULL); /* again, same holder */
        }
    }
    for (uint32_t k = 0; k < was->cap; k++) {
        const struct baton_name *e = &was->slot[k];
        if (e->used && baton_names_find(now, e->name) == NULL) {
            name_event(b, "unregistered", e, NULL);
        }
    }
}

static void observe_names(struct baton *b)
{
    const struct baton_names *now = &b->io.node.names;
    struct lib_events *ev = &b->events;

    if (ev->names_fresh && now->digest == ev->names_digest &&
        now->count == ev->names_count) {
        return;
    }
    if (ev->slots == NULL || !any_subscriber(b, LIB_EV_NAME)) {
        ev->names_fresh = false; /* retaken at the next subscription */
        return;
    }
    if (ev->names_fresh) {
        names_diff(b);
    }
    /* The copy fits: it has the replica's capacity. */
    if (baton_names_copy(&ev->names, now) != 0) {
        ev->names_fresh = false;
        return;
    }
    ev->names_fresh = true;
    ev->names_digest = now->digest;
    ev->names_count = now->count;
}

/* ---- the look --------------------------------------------------------- */

void lib_events_observe(struct baton *b)
{
    bool quiet = !b->events.seen;

    if (quiet) {
        b->events.coord = BATON_NODE_NONE;
        for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
            b->events.apps[i].owner = b->events.apps[i].from = BATON_NODE_NONE;
        }
        b->events.seen = true;
    }
    observe_nodes(b, quiet);
    observe_apps(b, quiet);
    observe_names(b);
}

/* The name table's copy, the size of the replica's. */
static int names_copy_init(struct baton *b)
{
    struct lib_events *ev = &b->events;
    uint32_t cap = b->io.node.names.cap;

    if (ev->slots != NULL || cap == 0) {
        return 0;
    }
    ev->slots = calloc(cap, sizeof(*ev->slots));
    if (ev->slots == NULL) {
        return BATON_ENOMEM;
    }
    baton_names_init(&ev->names, ev->slots, cap);
    ev->names_fresh = false;
    return 0;
}

static const char *const kinds[] = {"app", "node", "name"};

void lib_events_subscribe(struct lib_session *s,
                          const cJSON *req,
                          const cJSON *cid)
{
    struct baton *b = s->ctl->node;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(req, "events");
    const cJSON *k;
    unsigned mask = 0;
    cJSON *ans, *arr;

    if (list == NULL) {
        mask = LIB_EV_ALL;
    } else if (!cJSON_IsArray(list)) {
        lib_ctl_send_error(s, cid, "invalid",
                           "events must be a list of \"app\", \"node\", "
                           "\"name\"");
        return;
    }
    cJSON_ArrayForEach(k, list)
    {
        unsigned bit = 0;
        for (unsigned i = 0; i < BATON_ARRAY_LEN(kinds); i++) {
            if (cJSON_IsString(k) && strcmp(k->valuestring, kinds[i]) == 0) {
                bit = 1u << i;
            }
        }
        if (bit == 0) {
            lib_ctl_send_error(s, cid, "invalid",
                               "events must be a list of \"app\", "
                               "\"node\", \"name\"");
            return;
        }
        mask |= bit;
    }
    if ((mask & LIB_EV_NAME) != 0 && names_copy_init(b) != 0) {
        lib_ctl_send_error(s, cid, "busy", "out of memory");
        return;
    }
    s->events = (uint8_t)mask;
    ans = lib_ctl_answer(cid, true);
    arr = cJSON_AddArrayToObject(ans, "events");
    for (unsigned i = 0; i < BATON_ARRAY_LEN(kinds); i++) {
        if ((mask & (1u << i)) != 0) {
            cJSON_AddItemToArray(arr, cJSON_CreateString(kinds[i]));
        }
    }
    lib_ctl_session_send(s, ans);
}

void lib_events_free(struct baton *b)
{
    free(b->events.slots);
    b->events.slots = NULL;
}
