#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "../util/error.h"
#include "state.h"

void baton_state_init(struct baton_state *s, unsigned n_nodes)
{
    BATON_ASSERT(n_nodes >= 1 && n_nodes <= BATON_NODES_MAX);
    memset(s, 0, sizeof(*s));
    s->n_nodes = (uint8_t)n_nodes;
    s->coord = BATON_NODE_NONE;
}

void baton_state_widen(struct baton_state *s, unsigned n_nodes)
{
    BATON_ASSERT(n_nodes <= BATON_NODES_MAX);
    if (n_nodes > s->n_nodes) {
        s->n_nodes = (uint8_t)n_nodes; /* the new slots are empty */
    }
}

int baton_state_validate(const struct baton_state *s, unsigned n_nodes)
{
    if (s->n_nodes != n_nodes) {
        return BATON_EBADMSG;
    }
    if (s->coord == BATON_NODE_NONE) {
        /* A state that never had a coordinator has no epoch either. */
        if (s->epoch != 0 || s->coord_inc != 0) {
            return BATON_EBADMSG;
        }
    } else if (s->coord >= n_nodes || s->coord_inc == 0 ||
               baton_epoch_node(s->epoch) != s->coord ||
               baton_epoch_term(s->epoch) == 0) {
        return BATON_EBADMSG;
    }
    for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
        const struct baton_state_node *n = &s->nodes[i];
        if (i >= n_nodes && (n->inc != 0 || n->member != 0)) {
            return BATON_EBADMSG;
        }
        if (n->member > 1 || (n->member && n->inc == 0)) {
            return BATON_EBADMSG;
        }
        if (i >= n_nodes && s->name_rank[i] != 0) {
            return BATON_EBADMSG;
        }
    }
    for (unsigned a = 0; a < BATON_APPS_MAX; a++) {
        if (baton_app_validate(&s->apps[a], n_nodes) != 0) {
            return BATON_EBADMSG;
        }
        for (unsigned b = 0; b < a; b++) {
            if (s->apps[a].status != BATON_APP_FREE &&
                strcmp(s->apps[a].name, s->apps[b].name) == 0) {
                return BATON_EBADMSG; /* one slot per name */
            }
        }
    }
    return 0;
}

static bool node_or_none(uint8_t id, unsigned n_nodes)
{
    return id == BATON_NODE_NONE || id < n_nodes;
}

int baton_app_validate(const struct baton_state_app *e, unsigned n_nodes)
{
    size_t len = strnlen(e->name, sizeof(e->name));

    if (e->status == BATON_APP_FREE) {
        return len == 0 ? 0 : BATON_EBADMSG;
    }
    if (len == 0 || len == sizeof(e->name) || e->status >= BATON_APP__COUNT ||
        e->type > BATON_START_TAKEOVER || !node_or_none(e->owner, n_nodes) ||
        !node_or_none(e->from, n_nodes) || !node_or_none(e->prev, n_nodes)) {
        return BATON_EBADMSG;
    }
    for (unsigned i = n_nodes; i < BATON_NODES_MAX; i++) {
        if (e->rank[i] != 0) {
            return BATON_EBADMSG;
        }
    }
    if (e->epoch > e->epoch_max ||
        (baton_app_active(e) &&
         (e->owner == BATON_NODE_NONE || e->owner_inc == 0 ||
          e->rank[e->owner] == 0 || e->epoch == 0))) {
        return BATON_EBADMSG;
    }
    if (e->status == BATON_APP_TAKEOVER &&
        (e->prev == BATON_NODE_NONE || e->prev == e->owner ||
         e->prev_inc == 0)) {
        return BATON_EBADMSG;
    }
    return 0;
}

bool baton_app_active(const struct baton_state_app *e)
{
    return e->status == BATON_APP_STARTING || e->status == BATON_APP_RUNNING ||
           e->status == BATON_APP_TAKEOVER;
}

int baton_op_validate(const struct baton_op *op, unsigned n_nodes)
{
    switch (op->type) {
    case BATON_OP_COORD:
        if (op->node >= n_nodes || op->inc == 0 || op->fresh > 1 ||
            baton_epoch_node(op->epoch) != op->node ||
            baton_epoch_term(op->epoch) == 0) {
            return BATON_EBADMSG;
        }
        return 0;
    case BATON_OP_JOIN:
    case BATON_OP_LEAVE:
        return (op->node < n_nodes && op->inc != 0) ? 0 : BATON_EBADMSG;
    case BATON_OP_MERGE:
        /* A replica from before a node was added has fewer slots. */
        return op->other.n_nodes <= n_nodes
                   ? baton_state_validate(&op->other, op->other.n_nodes)
                   : BATON_EBADMSG;
    case BATON_OP_APP:
        return op->node < BATON_APPS_MAX &&
                       op->app.status != BATON_APP_FREE &&
                       baton_app_validate(&op->app, n_nodes) == 0
                   ? 0
                   : BATON_EBADMSG;
    case BATON_OP_NAME_SET:
        return op->origin < n_nodes || op->origin == BATON_NODE_NONE
                   ? baton_name_validate(&op->name, n_nodes)
                   : BATON_EBADMSG;
    case BATON_OP_NAME_DEL: {
        const char *end = memchr(op->name.name, '\0', sizeof(op->name.name));
        return end != NULL &&
                       baton_name_check(op->name.name,
                                        (size_t)(end - op->name.name)) ==
                           0 &&
                       op->reason < BATON_LOST__COUNT &&
                       op->name.owner < n_nodes &&
                       (op->origin < n_nodes ||
                        op->origin == BATON_NODE_NONE)
                   ? 0
                   : BATON_EBADMSG;
    }
    case BATON_OP_NAME_PURGE:
        return op->node < n_nodes ? 0 : BATON_EBADMSG;
    default:
        return BATON_EBADMSG;
    }
}

/* An app slot is defined once (by name) and then only moves forward:
 * its epoch, the fencing token, never goes back. */
static int apply_app(struct baton_state *s, const struct baton_op *op)
{
    struct baton_state_app *cur = &s->apps[op->node];

    if (cur->status == BATON_APP_FREE) {
        if (baton_state_app_find(s, op->app.name) >= 0) {
            return BATON_ESTALE; /* that name has another slot */
        }
    } else if (strcmp(cur->name, op->app.name) != 0 ||
               op->app.epoch_max < cur->epoch_max) {
        return BATON_ESTALE;
    }
    *cur = op->app;
    return 0;
}

static int apply_coord(struct baton_state *s, const struct baton_op *op)
{
    if (op->epoch < s->epoch) {
        return BATON_ESTALE;
    }
    if (s->nodes[op->node].inc > op->inc) {
        return BATON_ESTALE;
    }
    if (op->fresh) {
        /* A new claim: the previous group's members must join again. */
        for (unsigned i = 0; i < s->n_nodes; i++) {
            s->nodes[i].member = 0;
        }
    } else if (s->coord != op->node || s->coord_inc != op->inc) {
        /* Only the sitting coordinator may move its own epoch up. */
        return BATON_ESTALE;
    }
    s->coord = op->node;
    s->coord_inc = op->inc;
    s->epoch = op->epoch;
    s->nodes[op->node].inc = op->inc;
    s->nodes[op->node].member = 1;
    return 0;
}

int baton_state_apply(struct baton_state *out, const struct baton_state *in,
                      const struct baton_op *op)
{
    struct baton_state s;
    int rv;

    if (baton_op_validate(op, in->n_nodes) != 0) {
        rv = BATON_EBADMSG;
        goto out_unchanged;
    }
    s = *in;
    switch (op->type) {
    case BATON_OP_COORD:
        rv = apply_coord(&s, op);
        break;
    case BATON_OP_JOIN:
        rv = s.nodes[op->node].inc > op->inc ? BATON_ESTALE : 0;
        if (rv == 0) {
            s.nodes[op->node].inc = op->inc;
            s.nodes[op->node].member = 1;
        }
        break;
    case BATON_OP_LEAVE:
        /* Leaving concerns one life only: a newer life that joined since
         * stays a member. */
        rv = s.nodes[op->node].inc > op->inc ? BATON_ESTALE : 0;
        if (rv == 0) {
            s.nodes[op->node].inc = op->inc;
            s.nodes[op->node].member = 0;
        }
        break;
    case BATON_OP_MERGE:
        baton_state_merge(&s, &s, &op->other);
        rv = 0;
        break;
    case BATON_OP_APP:
        rv = apply_app(&s, op);
        break;
    case BATON_OP_NAME_SET:
        /* The table itself is changed by baton_names_apply(). */
        s.name_epoch_max = BATON_MAX(s.name_epoch_max, op->name.epoch);
        rv = 0;
        break;
    case BATON_OP_NAME_DEL:
    case BATON_OP_NAME_PURGE:
        rv = 0;
        break;
    default:
        BATON_ASSERT(0 && "validated op type");
        rv = BATON_EBADMSG;
    }
    if (rv != 0) {
        goto out_unchanged;
    }
    *out = s;
    return 0;

out_unchanged:
    if (out != in) {
        *out = *in;
    }
    return rv;
}

/* Of two nodes running the same app, the one the placement rules keep:
 * higher-priority group, then fewer apps, then the smaller name
 * (reference §1.4). */
static bool placement_prefers(const struct baton_state *s,
                              const struct baton_state_app *e, unsigned x,
                              unsigned y)
{
    /* Load counts the other apps: s (the surviving side's state) counts
     * e on its own owner only, which would favour the other node. */
    unsigned lx = baton_state_apps_on(s, x) - (x == e->owner);
    unsigned ly = baton_state_apps_on(s, y) - (y == e->owner);

    if (e->rank[x] != e->rank[y]) {
        return e->rank[x] != 0 && (e->rank[y] == 0 || e->rank[x] < e->rank[y]);
    }
    if (lx != ly) {
        return lx < ly;
    }
    return s->name_rank[x] < s->name_rank[y];
}

static void merge_app(struct baton_state *m, const struct baton_state_app *eb)
{
    struct baton_state_app *ea;
    int k;

    if (eb->status == BATON_APP_FREE) {
        return;
    }
    k = baton_state_app_find(m, eb->name);
    if (k < 0) {
        for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
            if (m->apps[i].status == BATON_APP_FREE) {
                m->apps[i] = *eb;
                return;
            }
        }
        return; /* no free slot: the app stays unknown here */
    }
    ea = &m->apps[k];
    if (baton_app_active(ea) && baton_app_active(eb) &&
        (ea->owner != eb->owner || ea->owner_inc != eb->owner_inc)) {
        /* Both sides of a healed partition run it: keep the instance the
         * placement rules pick; the other node stops its own when it sees
         * it no longer owns the app. epoch_max covers both histories. */
        uint64_t max = BATON_MAX(ea->epoch_max, eb->epoch_max);
        bool keep_b = ea->owner != eb->owner &&
                      placement_prefers(m, ea, eb->owner, ea->owner);
        if (keep_b) {
            *ea = *eb;
        }
        ea->epoch_max = max;
        return;
    }
    {
        uint64_t max = BATON_MAX(ea->epoch_max, eb->epoch_max);
        if (eb->epoch_max > ea->epoch_max) {
            *ea = *eb;
        }
        ea->epoch_max = max;
    }
}

void baton_state_merge(struct baton_state *out, const struct baton_state *a,
                       const struct baton_state *b)
{
    struct baton_state m;

    struct baton_state wb;

    /* Live membership (membership.md §4): a state from before a node
     * was added has fewer slots, all of the extra ones empty. */
    if (b->n_nodes < a->n_nodes) {
        wb = *b;
        baton_state_widen(&wb, a->n_nodes);
        b = &wb;
    }
    m = *a;
    baton_state_widen(&m, b->n_nodes);
    for (unsigned i = 0; i < m.n_nodes; i++) {
        baton_inc ib = b->nodes[i].inc;
        if (ib > m.nodes[i].inc) {
            /* b has seen a newer life of node i than a: the life a knows
             * is over, so it cannot still be one of a's members. */
            m.nodes[i].inc = ib;
            m.nodes[i].member = 0;
        }
    }
    if (m.coord != BATON_NODE_NONE &&
        m.nodes[m.coord].inc != m.coord_inc) {
        /* Only possible when b knows a newer life of a's coordinator;
         * keep a's record of its coordinator consistent with that. */
        m.nodes[m.coord].member = 0;
    }
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        merge_app(&m, &b->apps[k]);
    }
    m.name_epoch_max = BATON_MAX(a->name_epoch_max, b->name_epoch_max);
    *out = m;
}

static uint64_t fnv(uint64_t h, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        h ^= (v >> (i * 8)) & 0xffu;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t baton_state_digest(const struct baton_state *s)
{
    return baton_state_digest_finish(baton_state_digest_base(s),
                                     s->name_epoch_max);
}

uint64_t baton_state_digest_finish(uint64_t base, uint64_t name_epoch_max)
{
    return fnv(base, name_epoch_max);
}

uint64_t baton_state_digest_base(const struct baton_state *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    /* Not n_nodes, and every slot up to BATON_NODES_MAX: slots beyond
     * n_nodes are empty, so a state widened by an added node
     * (membership.md §4) equals the state it was. */
    h = fnv(h, s->coord);
    h = fnv(h, s->coord_inc);
    h = fnv(h, s->epoch);
    for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
        h = fnv(h, s->nodes[i].inc);
        h = fnv(h, s->nodes[i].member);
        h = fnv(h, s->name_rank[i]);
    }
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        const struct baton_state_app *e = &s->apps[k];
        for (const char *c = e->name; *c; c++) {
            h = fnv(h, (uint8_t)*c);
        }
        h = fnv(h, (uint64_t)e->status << 32 | (uint64_t)e->type << 24 |
                       (uint64_t)e->owner << 16 | (uint64_t)e->from << 8 |
                       e->prev);
        h = fnv(h, e->owner_inc);
        h = fnv(h, e->prev_inc);
        h = fnv(h, e->epoch);
        h = fnv(h, e->epoch_max);
        h = fnv(h, e->failover_timeout_ms);
        for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
            h = fnv(h, e->rank[i]);
        }
    }
    return h;
}

static bool app_equal(const struct baton_state_app *a,
                      const struct baton_state_app *b, unsigned n)
{
    return strcmp(a->name, b->name) == 0 && a->status == b->status &&
           a->type == b->type && a->owner == b->owner && a->from == b->from &&
           a->prev == b->prev && a->owner_inc == b->owner_inc &&
           a->prev_inc == b->prev_inc && a->epoch == b->epoch &&
           a->epoch_max == b->epoch_max &&
           a->failover_timeout_ms == b->failover_timeout_ms &&
           memcmp(a->rank, b->rank, n) == 0;
}

bool baton_state_equal(const struct baton_state *a,
                       const struct baton_state *b)
{
    if (a->coord != b->coord ||
        a->coord_inc != b->coord_inc || a->epoch != b->epoch ||
        a->name_epoch_max != b->name_epoch_max) {
        return false;
    }
    for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
        if (a->nodes[i].inc != b->nodes[i].inc ||
            a->nodes[i].member != b->nodes[i].member ||
            a->name_rank[i] != b->name_rank[i]) {
            return false;
        }
    }
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        if (!app_equal(&a->apps[k], &b->apps[k], BATON_NODES_MAX)) {
            return false;
        }
    }
    return true;
}

int baton_state_app_find(const struct baton_state *s, const char *name)
{
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        if (s->apps[k].status != BATON_APP_FREE &&
            strcmp(s->apps[k].name, name) == 0) {
            return (int)k;
        }
    }
    return -1;
}

unsigned baton_state_apps_on(const struct baton_state *s, unsigned n)
{
    unsigned count = 0;

    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        count += baton_app_active(&s->apps[k]) && s->apps[k].owner == n;
    }
    return count;
}

const char *baton_app_status_name(unsigned status)
{
    static const char *const names[] = {
        "free",    "idle",   "starting", "running", "takeover",
        "waiting", "failed", "stopped",  "refused"};
    return status < BATON_ARRAY_LEN(names) ? names[status] : "?";
}

const char *baton_start_type_name(unsigned type)
{
    static const char *const names[] = {"normal", "failover", "takeover"};
    return type < BATON_ARRAY_LEN(names) ? names[type] : "?";
}

unsigned baton_state_members(const struct baton_state *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->n_nodes; i++) {
        n += s->nodes[i].member;
    }
    return n;
}

const char *baton_op_type_name(unsigned type)
{
    static const char *const names[] = {
        "?",   "coord",    "join",     "leave",     "merge",
        "app", "name-set", "name-del", "name-purge"};
    return type < BATON_ARRAY_LEN(names) ? names[type] : "?";
}
