/* Operator settings: per app disabled and pin, per node standby
 * (docs/design/apps.md §7). A verb on any node goes to the coordinator,
 * which checks it against what it knows (its state and its members'
 * reports), writes the setting under a new version, answers, and sends
 * the settings to every member. Every node keeps the newest settings it
 * has seen and its driver persists them, so a coordinator that
 * restarted, a whole cluster that restarted, or the two sides of a
 * healed partition get them back: a member that holds a newer entry
 * than its coordinator's sends it, and entries merge one by one, the
 * higher version winning. The settings are not in the replicated state:
 * only the coordinator decides with them, and a record that merges
 * entry by entry needs no ordering. */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

static const char *const code_texts[] = {
#define BATON__ADMIN_TEXT(name, text) text,
    BATON_ADMIN_CODE_MAP(BATON__ADMIN_TEXT)
#undef BATON__ADMIN_TEXT
};

static const char *const code_names[] = {
#define BATON__ADMIN_NAME(name, text) #name,
    BATON_ADMIN_CODE_MAP(BATON__ADMIN_NAME)
#undef BATON__ADMIN_NAME
};

const char *baton_admin_code_text(unsigned code)
{
    return code < BATON_ADMIN_CODE__COUNT ? code_texts[code] : "unknown";
}

const char *baton_admin_code_name(unsigned code)
{
    return code < BATON_ADMIN_CODE__COUNT ? code_names[code] : "UNKNOWN";
}

/* ---- the record: pure functions ---------------------------------------- */

static bool name_valid(const char *name, size_t size)
{
    size_t len = strnlen(name, size);

    return len < size;
}

int baton_settings_validate(const struct baton_settings *s, unsigned n_nodes)
{
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        const struct baton_app_setting *a = &s->app[i];
        if (!name_valid(a->name, sizeof(a->name)) || a->disabled > 1 ||
            (a->pin != BATON_NODE_NONE && a->pin >= n_nodes) ||
            (a->name[0] == '\0' && a->ver != 0)) {
            return BATON_EBADMSG;
        }
        for (unsigned j = 0; j < i; j++) {
            if (a->name[0] != '\0' && strcmp(a->name, s->app[j].name) == 0) {
                return BATON_EBADMSG; /* one entry per app */
            }
        }
    }
    for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
        if (s->standby[x] > 1 ||
            (x >= n_nodes && (s->standby[x] != 0 || s->standby_ver[x] != 0))) {
            return BATON_EBADMSG;
        }
    }
    return 0;
}

const struct baton_app_setting *baton_settings_app(
    const struct baton_settings *s,
    const char *name)
{
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        if (s->app[i].name[0] != '\0' && strcmp(s->app[i].name, name) == 0) {
            return &s->app[i];
        }
    }
    return NULL;
}

/* An entry that says nothing (enabled, no pin) may give its place to an
 * app with something to say; the lowest version goes first. */
static bool idle_entry(const struct baton_app_setting *a)
{
    return a->name[0] == '\0' ||
           (a->disabled == 0 && a->pin == BATON_NODE_NONE);
}

/* The entry for app name in s: its own, a free one, or the oldest that
 * says nothing. NULL when every entry has something to say. */
static struct baton_app_setting *entry_for(struct baton_settings *s,
                                           const char *name)
{
    struct baton_app_setting *best = NULL;

    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        struct baton_app_setting *a = &s->app[i];
        if (a->name[0] != '\0' && strcmp(a->name, name) == 0) {
            return a;
        }
        if (idle_entry(a) && (best == NULL || best->name[0] != '\0') &&
            (best == NULL || a->name[0] == '\0' || a->ver < best->ver)) {
            best = a;
        }
    }
    return best;
}

bool baton_settings_merge(struct baton_settings *dst,
                          const struct baton_settings *src)
{
    bool changed = false;

    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        const struct baton_app_setting *a = &src->app[i];
        struct baton_app_setting *d;
        if (a->name[0] == '\0') {
            continue;
        }
        d = entry_for(dst, a->name);
        if (d == NULL || (strcmp(d->name, a->name) == 0 && d->ver >= a->ver) ||
            (strcmp(d->name, a->name) != 0 && idle_entry(a))) {
            continue; /* not newer, or nothing to say and no room */
        }
        *d = *a;
        changed = true;
    }
    for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
        if (src->standby_ver[x] > dst->standby_ver[x]) {
            dst->standby[x] = src->standby[x];
            dst->standby_ver[x] = src->standby_ver[x];
            changed = true;
        }
    }
    return changed;
}

/* Does a hold an entry newer than b's? */
static bool newer(const struct baton_settings *a,
                  const struct baton_settings *b)
{
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        const struct baton_app_setting *x = &a->app[i];
        const struct baton_app_setting *y;
        if (x->name[0] == '\0') {
            continue;
        }
        y = baton_settings_app(b, x->name);
        if (y == NULL ? !idle_entry(x) : y->ver < x->ver) {
            return true;
        }
    }
    for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
        if (a->standby_ver[x] > b->standby_ver[x]) {
            return true;
        }
    }
    return false;
}

/* ---- the node's part --------------------------------------------------- */

void baton__settings_init(struct baton_node *n,
                          const struct baton_settings *loaded)
{
    memset(&n->settings, 0, sizeof(n->settings));
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        n->settings.app[i].pin = BATON_NODE_NONE;
    }
    if (loaded != NULL) {
        (void)baton_settings_merge(&n->settings, loaded);
    }
}

/* The settings changed here: the driver persists them, and a
 * coordinator sends them to every member. */
static void changed(struct baton_node *n)
{
    n->fx->settings = &n->settings;
    if (n->role == BATON_ROLE_COORDINATOR) {
        for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
            if (x != n->cfg.self && n->state.nodes[x].member) {
                n->settings_to |= 1u << x;
            }
        }
    }
}

void baton__settings_send(struct baton_node *n, unsigned to)
{
    struct baton_msg m;

    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_SETTINGS;
    m.u.settings = n->settings;
    baton__send(n, to, &m);
}

/* A new version, above every one this node has seen: the counter above,
 * and this coordinator's id in the low byte (two sides of a partition
 * never issue the same version). */
static uint64_t next_ver(const struct baton_node *n)
{
    uint64_t top = 0;

    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        top = BATON_MAX(top, n->settings.app[i].ver);
    }
    for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
        top = BATON_MAX(top, n->settings.standby_ver[x]);
    }
    return (((top >> 8) + 1) << 8) | (n->cfg.self & 0xffu);
}

/* May node x run app e now, as a move's target? The code says why not. */
static unsigned move_check(const struct baton_node *n,
                           const struct baton_state_app *e,
                           unsigned x)
{
    const struct baton_app_report *r;

    if (x >= n->cfg.n_nodes || e->rank[x] == 0) {
        return BATON_ADMIN_NOT_DEFINED;
    }
    if (!n->state.nodes[x].member) {
        return BATON_ADMIN_DOWN;
    }
    if (n->settings.standby[x]) {
        return BATON_ADMIN_IN_STANDBY;
    }
    r = baton__apps_report_of(n, x, e->name);
    if (r == NULL) {
        return BATON_ADMIN_NOT_DEFINED;
    }
    if (!(r->flags & BATON_REPORT_PERMIT)) {
        return BATON_ADMIN_NOT_PERMITTED;
    }
    if (r->flags & BATON_REPORT_FAILED) {
        return BATON_ADMIN_FAILED_THERE;
    }
    return BATON_ADMIN_OK;
}

/* COORDINATOR: checks and applies one verb. */
static void decide(struct baton_node *n,
                   const struct baton_admin_req *q,
                   struct baton_admin_reply *out)
{
    int k = -1;
    const struct baton_state_app *e = NULL;
    struct baton_app_setting *a = NULL;
    struct baton_app_setting next;

    memset(out, 0, sizeof(*out));
    out->id = q->id;
    out->owner = BATON_NODE_NONE;
    out->pin = BATON_NODE_NONE;
    if (q->kind == BATON_ADMIN_STANDBY || q->kind == BATON_ADMIN_UNSTANDBY) {
        uint8_t want = q->kind == BATON_ADMIN_STANDBY;
        if (n->settings.standby[q->node] == want) {
            out->code = BATON_ADMIN_UNCHANGED;
            return;
        }
        n->settings.standby[q->node] = want;
        n->settings.standby_ver[q->node] = next_ver(n);
        out->code = BATON_ADMIN_OK;
        changed(n);
        return;
    }
    k = baton_state_app_find(&n->state, q->name);
    if (k < 0) {
        out->code = BATON_ADMIN_NO_APP;
        return;
    }
    e = &n->state.apps[k];
    out->owner = baton_app_active(e) || e->status == BATON_APP_WAITING
                     ? e->owner
                     : BATON_NODE_NONE;
    out->status = e->status;
    out->pin = BATON_NODE_NONE;
    a = entry_for(&n->settings, q->name);
    if (a == NULL) {
        out->code = BATON_ADMIN_FULL;
        return;
    }
    if (strcmp(a->name, q->name) != 0) {
        memset(&next, 0, sizeof(next));
        memcpy(next.name, q->name, sizeof(next.name));
        next.pin = BATON_NODE_NONE;
    } else {
        next = *a;
        out->pin = a->pin;
    }
    switch (q->kind) {
    case BATON_ADMIN_MOVE:
        out->code = next.disabled ? BATON_ADMIN_IS_DISABLED
                                  : (uint8_t)move_check(n, e, q->node);
        if (out->code == BATON_ADMIN_OK && next.pin == q->node &&
            e->owner == q->node && baton_app_active(e)) {
            out->code = BATON_ADMIN_UNCHANGED;
        }
        next.pin = q->node;
        break;
    case BATON_ADMIN_UNPIN:
        out->code = next.pin == BATON_NODE_NONE ? BATON_ADMIN_UNCHANGED
                                                : BATON_ADMIN_OK;
        next.pin = BATON_NODE_NONE;
        break;
    default:
        next.disabled = q->kind == BATON_ADMIN_DISABLE;
        out->code =
            next.disabled == (strcmp(a->name, q->name) == 0 && a->disabled)
                ? BATON_ADMIN_UNCHANGED
                : BATON_ADMIN_OK;
        break;
    }
    if (out->code != BATON_ADMIN_OK) {
        return;
    }
    next.ver = next_ver(n);
    *a = next;
    changed(n);
}

static void answer(struct baton_node *n, const struct baton_admin_reply *r)
{
    struct baton_effects *fx = n->fx;

    BATON_ASSERT(fx->n_admin < BATON_FX_ADMIN_MAX);
    fx->admin[fx->n_admin++] = *r;
}

static void refuse(struct baton_node *n, uint64_t id, unsigned code)
{
    struct baton_admin_reply r;

    memset(&r, 0, sizeof(r));
    r.id = id;
    r.code = (uint8_t)code;
    r.owner = BATON_NODE_NONE;
    r.pin = BATON_NODE_NONE;
    answer(n, &r);
}

static bool req_valid(const struct baton_node *n,
                      const struct baton_admin_req *q)
{
    bool node_verb =
        q->kind == BATON_ADMIN_STANDBY || q->kind == BATON_ADMIN_UNSTANDBY;

    return q->id != 0 && q->kind >= BATON_ADMIN_MOVE &&
           q->kind < BATON_ADMIN__KIND_COUNT &&
           name_valid(q->name, sizeof(q->name)) &&
           (node_verb || q->name[0] != '\0') &&
           (node_verb || q->kind == BATON_ADMIN_MOVE ? q->node < n->cfg.n_nodes
                                                     : true);
}

int baton__admin_event(struct baton_node *n, const struct baton_event *ev)
{
    const struct baton_admin_req *q = ev->admin;
    struct baton_admin_pending *p = NULL;
    struct baton_msg m;

    if (q == NULL || !req_valid(n, q)) {
        return BATON_EINVAL;
    }
    if (n->role == BATON_ROLE_COORDINATOR) {
        struct baton_admin_reply r;
        decide(n, q, &r);
        answer(n, &r);
        return 0;
    }
    if (n->role != BATON_ROLE_FOLLOWER) {
        refuse(n, q->id, BATON_ADMIN_NO_COORD);
        return 0;
    }
    for (unsigned i = 0; i < BATON_ADMIN_PENDING_MAX; i++) {
        if (n->admin_pend[i].id == 0) {
            p = &n->admin_pend[i];
            break;
        }
    }
    if (p == NULL) {
        refuse(n, q->id, BATON_ADMIN_BUSY);
        return 0;
    }
    p->id = q->id;
    p->sent_ms = n->now_ms;
    p->to = n->target;
    p->to_inc = n->target_inc;
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_ADMIN;
    m.u.admin = *q;
    baton__send(n, n->target, &m);
    return 0;
}

void baton__settings_on_msg(struct baton_node *n, const struct baton_msg *m)
{
    switch (m->type) {
    case BATON_MSG_ADMIN: {
        struct baton_msg r;
        memset(&r, 0, sizeof(r));
        r.type = BATON_MSG_ADMIN_REPLY;
        if (n->role != BATON_ROLE_COORDINATOR || !req_valid(n, &m->u.admin)) {
            r.u.admin_reply.id = m->u.admin.id;
            r.u.admin_reply.code = BATON_ADMIN_NO_COORD;
            r.u.admin_reply.owner = BATON_NODE_NONE;
            r.u.admin_reply.pin = BATON_NODE_NONE;
        } else {
            decide(n, &m->u.admin, &r.u.admin_reply);
        }
        baton__send(n, m->from, &r);
        return;
    }
    case BATON_MSG_ADMIN_REPLY:
        for (unsigned i = 0; i < BATON_ADMIN_PENDING_MAX; i++) {
            struct baton_admin_pending *p = &n->admin_pend[i];
            if (p->id != 0 && p->id == m->u.admin_reply.id &&
                p->to == m->from && p->to_inc == m->from_inc) {
                answer(n, &m->u.admin_reply);
                p->id = 0;
            }
        }
        return;
    case BATON_MSG_SETTINGS:
        if (baton_settings_merge(&n->settings, &m->u.settings)) {
            changed(n);
        }
        if (newer(&n->settings, &m->u.settings)) {
            /* The sender lacks what this node knows (a coordinator
             * that restarted, the other side of a healed partition):
             * it gets it back. */
            if (n->role == BATON_ROLE_COORDINATOR ||
                (n->role == BATON_ROLE_FOLLOWER && m->from == n->target)) {
                baton__settings_send(n, m->from);
            }
        }
        return;
    default:
        return;
    }
}

/* A verb not answered in two detection windows, or whose coordinator
 * is no longer this node's, gets TIMEOUT: the verb may or may not have
 * been applied (batonctl apps tells). */
static uint64_t admin_timeout(const struct baton_node *n)
{
    return 2 * baton_node_down_after_ms(n);
}

void baton__settings_step(struct baton_node *n)
{
    for (unsigned i = 0; i < BATON_ADMIN_PENDING_MAX; i++) {
        struct baton_admin_pending *p = &n->admin_pend[i];
        if (p->id != 0 && (n->now_ms >= p->sent_ms + admin_timeout(n) ||
                           n->role != BATON_ROLE_FOLLOWER ||
                           n->target != p->to || n->target_inc != p->to_inc)) {
            refuse(n, p->id, BATON_ADMIN_TIMEOUT);
            p->id = 0;
        }
    }
    if (n->role != BATON_ROLE_COORDINATOR) {
        n->settings_to = 0;
        n->settings_next_ms = 0;
        return;
    }
    if (n->now_ms >= n->settings_next_ms) {
        /* Once per detection window to every member, whatever changed:
         * a lost message (a link reset, a driver that dropped it) is
         * repaired within a window, and a member that holds a newer
         * entry answers with it (newer(), on receipt). */
        for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
            n->settings_to |= (uint32_t)n->state.nodes[x].member << x;
        }
        n->settings_next_ms = n->now_ms + baton_node_down_after_ms(n);
    }
    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        if ((n->settings_to >> x & 1u) && n->state.nodes[x].member &&
            x != n->cfg.self) {
            baton__settings_send(n, x);
        }
    }
    n->settings_to = 0;
}

uint64_t baton__settings_deadline(const struct baton_node *n)
{
    uint64_t d = UINT64_MAX;

    for (unsigned i = 0; i < BATON_ADMIN_PENDING_MAX; i++) {
        if (n->admin_pend[i].id != 0) {
            d = BATON_MIN(d, n->admin_pend[i].sent_ms + admin_timeout(n));
        }
    }
    if (n->role == BATON_ROLE_COORDINATOR) {
        d = BATON_MIN(d, n->settings_next_ms);
    }
    return d;
}
