/* Global names in the node: writes ordered by the coordinator (one round
 * trip), local reads, purge of lost nodes' names, a joiner's own names
 * taken in with clash resolution, and calls routed to a name's owner.
 * See docs/design/names.md. */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "../util/error.h"
#include "internal.h"

/* ---- reads ------------------------------------------------------------ */

/* Is e's owner alive as this node sees it? */
static bool visible(const struct baton_node *n, const struct baton_name *e)
{
    if (e->owner == n->cfg.self) {
        return e->owner_inc == n->inc;
    }
    return e->owner < n->cfg.n_nodes && n->peers[e->owner].alive &&
           n->peers[e->owner].inc == e->owner_inc;
}

const struct baton_name *baton_node_whereis(const struct baton_node *n,
                                           const char *name)
{
    const struct baton_name *e = baton_names_find(&n->names, name);

    return e != NULL && visible(n, e) ? e : NULL;
}

static uint64_t replica_digest(const struct baton_node *n,
                               uint64_t state_digest)
{
    return state_digest ^
           (n->names.digest * 0x9e3779b97f4a7c15ull + n->names.count);
}

uint64_t baton_node_replica_digest(const struct baton_node *n)
{
    return replica_digest(n, baton_state_digest(&n->state));
}

/* The same, for the trace of every applied op: the state's digest walks
 * every app and node slot (about 6 µs, most of a name write's CPU time
 * when it was taken per op), while a name op changes only
 * name_epoch_max; the base is kept until anything else in the state
 * differs (compared whole: equal bytes mean equal fields, so a false
 * difference only costs a recomputation). */
uint64_t baton__replica_digest(struct baton_node *n)
{
    uint64_t base;

    n->digest_of.name_epoch_max = n->state.name_epoch_max;
    if (!n->digest_ok ||
        memcmp(&n->digest_of, &n->state, sizeof(n->state)) != 0) {
        memcpy(&n->digest_of, &n->state, sizeof(n->state));
        n->digest_base = baton_state_digest_base(&n->state);
        n->digest_ok = true;
    }
    base = n->digest_base;
    return replica_digest(
        n, baton_state_digest_finish(base, n->state.name_epoch_max));
}

/* ---- effects ---------------------------------------------------------- */

static struct baton_name_effect *name_fx(struct baton_node *n)
{
    struct baton_effects *fx = n->fx;

    if (fx->n_name == BATON_FX_NAME_MAX) {
        fx->name_dropped++;
        return NULL;
    }
    memset(&fx->name[fx->n_name], 0, sizeof(fx->name[0]));
    return &fx->name[fx->n_name++];
}

static void done(struct baton_node *n, uint64_t id, unsigned code)
{
    struct baton_name_effect *e = name_fx(n);

    if (e != NULL) {
        e->action = BATON_NAMEFX_DONE;
        e->code = (uint8_t)code;
        e->id = id;
    }
}

void baton__name_done(struct baton_node *n,
                      uint64_t id,
                      unsigned code,
                      uint64_t epoch)
{
    struct baton_name_effect *e = name_fx(n);

    if (e != NULL) {
        e->action = BATON_NAMEFX_DONE;
        e->code = (uint8_t)code;
        e->id = id;
        e->epoch = epoch;
    }
}

static bool told_before(struct baton_node *n, uint64_t endpoint,
                        uint64_t epoch, uint64_t hash)
{
    for (unsigned i = 0; i < n->n_told && i < BATON_NAME_TOLD_MAX; i++) {
        if (n->told[i].endpoint == endpoint && n->told[i].epoch == epoch &&
            n->told[i].hash == hash) {
            return true;
        }
    }
    return false;
}

/* What this node's endpoints hold, by the answers they were given: the
 * truth about this node's names that its JOIN carries (names.md §4). */
static void own_forget(struct baton_node *n, const char *name,
                       uint64_t endpoint)
{
    const struct baton_name *o = baton_names_find(&n->own, name);

    if (o != NULL && o->endpoint == endpoint) {
        baton_names_del(&n->own, name);
    }
}

/* Tells the driver that a local endpoint lost a registration, once. */
static struct baton_name_pending *pending_at(struct baton_node *n,
                                             unsigned i);

/* The latest unfinished register or re_register of name by endpoint. */
static struct baton_name_pending *pending_reg(struct baton_node *n,
                                              uint64_t endpoint,
                                              const char *name)
{
    for (unsigned i = n->n_pending; i-- > 0;) {
        struct baton_name_pending *p = pending_at(n, i);
        if (!p->finished && p->name.endpoint == endpoint &&
            (p->kind == BATON_NAME_REGISTER ||
             p->kind == BATON_NAME_REREGISTER) &&
            strcmp(p->name.name, name) == 0) {
            return p;
        }
    }
    return NULL;
}

static void tell_lost(struct baton_node *n, const struct baton_name *e,
                      unsigned reason)
{
    uint64_t hash = baton_name_hash(e->name);
    struct baton_name_pending *p;
    struct baton_name_effect *fx;
    unsigned k;

    if (e->owner != n->cfg.self || e->owner_inc != n->inc ||
        (e->epoch != 0 && told_before(n, e->endpoint, e->epoch, hash))) {
        return;
    }
    /* While the endpoint writes this name, a notice must not overtake
     * that write's DONE: the DONE would tell it the name again. The
     * notice waits for it and is given after it if the registration
     * the write left is gone or is the one lost (check_applied;
     * docs/design/names.md §3). That registration is no longer ours
     * meanwhile: a JOIN must not bring it back. */
    p = pending_reg(n, e->endpoint, e->name);
    if (p != NULL) {
        const struct baton_name *o = baton_names_find(&n->own, e->name);
        if (o != NULL && o->endpoint == e->endpoint && o->epoch == e->epoch) {
            baton_names_del(&n->own, e->name);
        }
        p->lost_reason = (uint8_t)reason;
        p->lost_epoch = e->epoch;
        return;
    }
    own_forget(n, e->name, e->endpoint);
    k = n->n_told % BATON_NAME_TOLD_MAX;
    n->told[k].endpoint = e->endpoint;
    n->told[k].epoch = e->epoch;
    n->told[k].hash = hash;
    n->n_told++;
    fx = name_fx(n);
    if (fx != NULL) {
        fx->action = BATON_NAMEFX_LOST;
        fx->code = (uint8_t)reason;
        fx->endpoint = e->endpoint;
        fx->epoch = e->epoch;
        memcpy(fx->name, e->name, sizeof(fx->name));
        n->counters.name_lost_told++;
    }
}

/* Does a write of our own, still under way, explain that the entry went
 * (so the endpoint asked for it and needs no telling)? */
static bool own_removal(const struct baton_node *n, const struct baton_name *e)
{
    for (unsigned i = 0; i < n->n_pending; i++) {
        const struct baton_name_pending *p =
            &n->pending[(n->pending_head + i) % BATON_NAME_PENDING_MAX];
        if (p->name.endpoint == e->endpoint &&
            (p->kind == BATON_NAME_DROP ||
             (p->kind == BATON_NAME_UNREGISTER &&
              strcmp(p->name.name, e->name) == 0))) {
            return true;
        }
    }
    return false;
}

/* ---- applying ops ----------------------------------------------------- */

static bool same_owner(const struct baton_name *e, unsigned node,
                       baton_inc inc, uint64_t endpoint)
{
    return e->owner == node && e->owner_inc == inc && e->endpoint == endpoint;
}

int baton__apply(struct baton_node *n, const struct baton_op *op)
{
    const struct baton_name *cur = NULL;
    struct baton_name old;
    int rv;

    if (op->type == BATON_OP_NAME_SET || op->type == BATON_OP_NAME_DEL) {
        cur = baton_names_find(&n->names, op->name.name);
        if (cur != NULL) {
            old = *cur;
        }
        if (op->type == BATON_OP_NAME_SET && cur == NULL &&
            n->names.count >= baton_names_limit(n->names.cap)) {
            return BATON_EFULL;
        }
    }
    rv = baton_state_apply(&n->state, &n->state, op);
    if (rv != 0) {
        return rv;
    }
    switch (op->type) {
    case BATON_OP_NAME_SET:
        rv = baton_names_put(&n->names, &op->name);
        BATON_ASSERT(rv == 0); /* room checked above */
        if (cur != NULL &&
            !same_owner(&op->name, old.owner, old.owner_inc,
                        old.endpoint)) {
            tell_lost(n, &old, BATON_LOST_REPLACED);
        }
        break;
    case BATON_OP_NAME_DEL:
        if (cur != NULL && old.endpoint == op->name.endpoint &&
            old.owner == op->name.owner) {
            baton_names_del(&n->names, op->name.name);
            if (op->reason != 0) {
                tell_lost(n, &old, op->reason);
            } else if (op->origin != n->cfg.self && !own_removal(n, &old)) {
                tell_lost(n, &old, BATON_LOST_REMOVED);
            }
        }
        break;
    case BATON_OP_NAME_PURGE:
        baton_names_purge(&n->names, op->node, op->inc);
        break;
    default:
        break;
    }
    return 0;
}

/* A snapshot replaces the table: endpoints of ours whose names are not in
 * it lost them. */
void baton__names_install(struct baton_node *n, const struct baton_names *in)
{
    static const struct baton_names empty;
    int rv;

    if (in == NULL) {
        in = &empty;
    }
    if (n->names.owned[n->cfg.self] != 0) {
        for (uint32_t i = 0; i < n->names.cap; i++) {
            const struct baton_name *e = &n->names.slot[i];
            const struct baton_name *f;
            if (!e->used || e->owner != n->cfg.self) {
                continue;
            }
            f = baton_names_find(in, e->name);
            if ((f == NULL || f->owner != e->owner ||
                 f->endpoint != e->endpoint) &&
                !own_removal(n, e)) {
                tell_lost(n, e, BATON_LOST_REMOVED);
            }
        }
    }
    rv = baton_names_copy(&n->names, in);
    BATON_ASSERT(rv == 0); /* snapshots are validated against the cap */
}

/* ---- writes at their origin ------------------------------------------- */

static struct baton_name_pending *pending_at(struct baton_node *n,
                                             unsigned i)
{
    return &n->pending[(n->pending_head + i) % BATON_NAME_PENDING_MAX];
}

static struct baton_name_pending *pending_find(struct baton_node *n,
                                               uint64_t req)
{
    /* Requests are numbered consecutively in the ring. */
    struct baton_name_pending *first;

    if (n->n_pending == 0) {
        return NULL;
    }
    first = pending_at(n, 0);
    if (req < first->req || req - first->req >= n->n_pending) {
        return NULL;
    }
    return pending_at(n, (unsigned)(req - first->req));
}

static void finish(struct baton_node *n, struct baton_name_pending *p,
                   unsigned code)
{
    if (p->finished) {
        return;
    }
    p->finished = 1;
    done(n, p->id, code);
    while (n->n_pending > 0 && pending_at(n, 0)->finished) {
        n->pending_head = (n->pending_head + 1) % BATON_NAME_PENDING_MAX;
        n->n_pending--;
    }
}

static void own_update(struct baton_node *n,
                       const struct baton_name_pending *p,
                       const struct baton_name *e, bool gone)
{
    switch (p->kind) {
    case BATON_NAME_REGISTER:
    case BATON_NAME_REREGISTER:
        /* Not if a later write of ours gives it up again. */
        if (!gone && !own_removal(n, e) && baton_names_put(&n->own, e) != 0) {
            BATON_ASSERT(0 && "own names fit: the table is as large");
        }
        break;
    case BATON_NAME_UNREGISTER:
        own_forget(n, p->name.name, p->name.endpoint);
        break;
    case BATON_NAME_DROP:
        for (uint32_t i = 0; i < n->own.cap && n->own.count != 0;) {
            const struct baton_name *o = &n->own.slot[i];
            if (o->used && o->endpoint == p->name.endpoint) {
                baton_names_del(&n->own, o->name);
                continue; /* deletion shifts entries: look again */
            }
            i++;
        }
        break;
    default:
        break;
    }
}

/* Does p's endpoint hold p's name in replica entry e, as far as this
 * node knows? Not if a later op took it, nor if the coordinator said
 * that very registration was lost (a held-back notice: our replica may
 * not have applied the op that removes it yet). */
static bool still_held(const struct baton_node *n,
                       const struct baton_name_pending *p,
                       const struct baton_name *e)
{
    return e != NULL && same_owner(e, n->cfg.self, n->inc, p->name.endpoint) &&
           !(p->lost_reason != 0 && e->epoch == p->lost_epoch);
}

/* Answered writes complete in the order they were made (the coordinator
 * decided them in that order), an OK one once this replica has applied
 * its op (read-your-writes). */
static void check_applied(struct baton_node *n)
{
    while (n->n_pending > 0) {
        struct baton_name_pending *p = pending_at(n, 0);
        struct baton_name lost;
        const struct baton_name *e = NULL;
        bool gone = false;
        unsigned reason;
        if (!p->answered) {
            return;
        }
        if (p->code == BATON_NAME_OK && p->wait_index != 0 &&
            (!baton_stream_equal(&p->wait_stream, &n->stream) ||
             n->applied < p->wait_index)) {
            return;
        }
        if (p->code == BATON_NAME_OK &&
            (p->kind == BATON_NAME_REGISTER ||
             p->kind == BATON_NAME_REREGISTER)) {
            /* Taken over (or removed) again before this answer could be
             * given, by a later op we applied already: it was ours, and
             * is no longer. */
            e = baton_names_find(&n->names, p->name.name);
            gone = !still_held(n, p, e);
        }
        lost = p->name;
        if (p->code == BATON_NAME_OK) {
            own_update(n, p, e, gone);
        }
        reason = p->lost_reason != 0 ? p->lost_reason : BATON_LOST_REMOVED;
        lost.owner = (uint8_t)n->cfg.self;
        lost.owner_inc = n->inc;
        lost.epoch = p->lost_epoch;
        if (p->code != BATON_NAME_OK && p->lost_reason != 0) {
            /* A notice held back for this DONE is still true if the
             * endpoint does not hold the name now; after an OK, gone
             * says just that. */
            gone = !still_held(n, p,
                               baton_names_find(&n->names, p->name.name));
        }
        finish(n, p, p->code);
        if (gone) {
            tell_lost(n, &lost, reason);
        }
    }
}

/* ---- the coordinator's decisions -------------------------------------- */

static void order_set(struct baton_node *n, const struct baton_name *e,
                      unsigned origin, uint64_t req)
{
    struct baton_op op;

    memset(&op, 0, sizeof(op));
    op.type = BATON_OP_NAME_SET;
    op.origin = (uint8_t)origin;
    op.req = req;
    op.name = *e;
    op.name.used = 0;
    baton__submit(n, &op);
}

static void order_del(struct baton_node *n, const struct baton_name *e,
                      unsigned origin, uint64_t req, unsigned reason)
{
    struct baton_op op;

    memset(&op, 0, sizeof(op));
    op.type = BATON_OP_NAME_DEL;
    op.origin = (uint8_t)origin;
    op.reason = (uint8_t)reason;
    op.req = req;
    op.name = *e;
    op.name.used = 0;
    baton__submit(n, &op);
}

/* Registrations this coordinator took away from a live holder (a
 * clash's loser, a re-point), so a JOIN sent before the holder heard
 * cannot bring one back (baton__names_absorb). */
static void remember_beaten(struct baton_node *n, const struct baton_name *e)
{
    unsigned k = n->n_beaten++ % BATON_NAME_TOLD_MAX;

    n->beaten[k].endpoint = e->endpoint;
    n->beaten[k].epoch = e->epoch;
    n->beaten[k].owner = e->owner;
}

/* Decides one write of (origin, inc); orders its ops. Returns the result
 * code; *index is the last op's index, 0 if none was needed. */
static unsigned decide(struct baton_node *n, unsigned origin, baton_inc inc,
                       uint64_t req, unsigned kind,
                       const struct baton_name *want, uint64_t *index)
{
    const struct baton_name *e = NULL;
    struct baton_name entry;

    *index = 0;
    n->counters.name_writes++;
    if (kind != BATON_NAME_DROP) {
        e = baton_names_find(&n->names, want->name);
    }
    switch (kind) {
    case BATON_NAME_REGISTER:
    case BATON_NAME_REREGISTER:
        /* Entries of owners the coordinator sees as lost are about to
         * be purged and do not block a registration. */
        if (e != NULL && same_owner(e, origin, inc, want->endpoint) &&
            e->resolver == want->resolver && e->meta_len == want->meta_len &&
            memcmp(e->meta, want->meta, e->meta_len) == 0) {
            return BATON_NAME_OK; /* already so: a repeated request */
        }
        if (kind == BATON_NAME_REGISTER && e != NULL && visible(n, e) &&
            !same_owner(e, origin, inc, want->endpoint)) {
            return BATON_NAME_TAKEN;
        }
        if (e == NULL &&
            n->names.count >= baton_names_limit(n->names.cap)) {
            return BATON_NAME_FULL;
        }
        if (e != NULL && visible(n, e) &&
            !same_owner(e, origin, inc, want->endpoint)) {
            /* A re-point away from a live holder: a JOIN it sent before
             * it heard must not bring the registration back (names.md
             * §4), as for a clash's loser. */
            remember_beaten(n, e);
        }
        entry = *want;
        entry.owner = (uint8_t)origin;
        entry.owner_inc = inc;
        entry.epoch = n->state.name_epoch_max + 1;
        order_set(n, &entry, origin, req);
        *index = n->applied;
        return BATON_NAME_OK;
    case BATON_NAME_UNREGISTER:
        if (e == NULL) {
            return BATON_NAME_OK; /* nothing to do (as OTP) */
        }
        if (!same_owner(e, origin, inc, want->endpoint)) {
            return BATON_NAME_NOT_OWNER;
        }
        entry = *e;
        order_del(n, &entry, origin, req, 0);
        *index = n->applied;
        return BATON_NAME_OK;
    case BATON_NAME_DROP:
        if (n->names.owned[origin] == 0) {
            return BATON_NAME_OK;
        }
        for (uint32_t i = 0; i < n->names.cap; i++) {
            const struct baton_name *f = &n->names.slot[i];
            if (f->used && same_owner(f, origin, inc, want->endpoint)) {
                entry = *f;
                order_del(n, &entry, origin, req, 0);
                *index = n->applied;
                i = (uint32_t)-1; /* deletion shifts entries: rescan */
            }
        }
        return BATON_NAME_OK;
    default:
        return BATON_NAME_INVALID;
    }
}

static void send_reply(struct baton_node *n, unsigned to, uint64_t req,
                       unsigned code, uint64_t index)
{
    struct baton_msg m;

    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_NAME_REPLY;
    m.u.name_reply.req = req;
    m.u.name_reply.code = (uint8_t)code;
    m.u.name_reply.stream = n->stream;
    m.u.name_reply.index = index;
    baton__send(n, to, &m);
}

/* A write from another node: decided once, in the order the origin
 * numbered its writes; a repeat gets the first answer again. */
static void on_name_req(struct baton_node *n, const struct baton_msg *m)
{
    struct baton_name_results *r = &n->results[m->from];
    uint64_t req = m->u.name_req.req;
    uint64_t index;
    unsigned code;
    unsigned k;

    if (n->role != BATON_ROLE_COORDINATOR) {
        return; /* the origin resends to whoever coordinates */
    }
    if (r->inc != m->from_inc) {
        memset(r, 0, sizeof(*r));
        r->inc = m->from_inc;
        r->next = m->u.name_req.first;
    }
    if (m->u.name_req.first > r->next) {
        r->next = m->u.name_req.first; /* decided elsewhere meanwhile */
    }
    k = (unsigned)(req % BATON_NAME_WINDOW);
    if (req < r->next) {
        if (r->r[k].req == req) {
            /* A repeat: the op is in this replica, so our current
             * index covers it. */
            send_reply(n, m->from, req, r->r[k].code,
                       r->r[k].index != 0 ? n->applied : 0);
        }
        return;
    }
    if (req > r->next) {
        /* An earlier one is missing (lost, or overtaken on a network
         * that reorders): ask for everything from it again. */
        send_reply(n, m->from, req, BATON_NAME_RETRY, r->next);
        return;
    }
    code = decide(n, m->from, m->from_inc, req, m->u.name_req.kind,
                  &m->u.name_req.name, &index);
    r->r[k].req = req;
    r->r[k].code = (uint8_t)code;
    r->r[k].index = index;
    r->next = req + 1;
    baton__flush(n); /* the ops go out before the answer */
    send_reply(n, m->from, req, code, index);
}

static void on_name_reply(struct baton_node *n, const struct baton_msg *m)
{
    struct baton_name_pending *p = pending_find(n, m->u.name_reply.req);

    if (n->role != BATON_ROLE_FOLLOWER || m->from != n->target ||
        m->from_inc != n->target_inc) {
        return;
    }
    if (m->u.name_reply.code == BATON_NAME_RETRY) {
        if (n->now_ms > n->pend_retry_ms) {
            n->pend_retry_ms = n->now_ms;
            for (unsigned i = 0; i < n->n_pending; i++) {
                struct baton_name_pending *q = pending_at(n, i);
                if (q->req >= m->u.name_reply.index && !q->answered) {
                    q->sent_ms = 0;
                }
            }
        }
        return;
    }
    if (p == NULL || p->finished || p->answered || p->sent_ms == 0) {
        return;
    }
    p->answered = 1;
    p->code = m->u.name_reply.code;
    p->wait_stream = m->u.name_reply.stream;
    p->wait_index = m->u.name_reply.code == BATON_NAME_OK
                        ? m->u.name_reply.index
                        : 0;
    check_applied(n);
}

static void on_name_lost(struct baton_node *n, const struct baton_msg *m)
{
    const struct baton_name *e = baton_names_find(&n->names,
                                                  m->u.name_lost.name);
    struct baton_name gone;

    /* Told by the coordinator we follow or join, about an entry of ours
     * as we hold it. */
    if (m->from != n->target || m->from_inc != n->target_inc ||
        (n->role != BATON_ROLE_FOLLOWER && n->role != BATON_ROLE_JOINING)) {
        return;
    }
    if (e != NULL && e->owner == n->cfg.self && e->owner_inc == n->inc &&
        e->endpoint == m->u.name_lost.endpoint &&
        e->epoch == m->u.name_lost.epoch) {
        gone = *e;
        tell_lost(n, &gone, m->u.name_lost.reason);
    }
}

/* Sends (or, coordinating, decides) the writes under way, oldest first,
 * at most BATON_NAME_WINDOW at a time; resends unanswered ones after a
 * heartbeat interval, and all of them to a new coordinator. */
static void pump(struct baton_node *n)
{
    bool follower = n->role == BATON_ROLE_FOLLOWER;
    bool coord = n->role == BATON_ROLE_COORDINATOR;
    uint64_t first;

    if (n->pend_target != baton_node_coordinator(n) ||
        n->pend_target_inc != (coord ? n->inc : n->target_inc) ||
        !baton_stream_equal(&n->pend_stream, &n->stream)) {
        /* A new coordinator, or a new stream: every answer so far is
         * void (its op may be lost); ask again. */
        n->pend_target = (uint8_t)baton_node_coordinator(n);
        n->pend_target_inc = coord ? n->inc : n->target_inc;
        n->pend_stream = n->stream;
        for (unsigned i = 0; i < n->n_pending; i++) {
            struct baton_name_pending *p = pending_at(n, i);
            p->sent_ms = 0;
            p->answered = 0;
        }
    }
    if (n->n_pending == 0 || (!follower && !coord)) {
        return;
    }
    if (coord) {
        for (unsigned i = 0; i < n->n_pending;) {
            struct baton_name_pending *p = pending_at(n, i);
            uint64_t index;
            unsigned code;
            if (p->finished) {
                i++;
                continue;
            }
            if (p->answered) {
                i++;
                continue;
            }
            code = decide(n, n->cfg.self, n->inc, p->req, p->kind, &p->name,
                          &index);
            /* Our own replica applied it already. */
            p->answered = 1;
            p->code = (uint8_t)code;
            p->wait_stream = n->stream;
            p->wait_index = code == BATON_NAME_OK ? index : 0;
            i++;
        }
        check_applied(n);
        return;
    }
    first = pending_at(n, 0)->req;
    for (unsigned i = 0; i < n->n_pending && i < BATON_NAME_WINDOW; i++) {
        struct baton_name_pending *p = pending_at(n, i);
        struct baton_msg m;
        if (p->finished || p->answered ||
            (p->sent_ms != 0 &&
             n->now_ms < p->sent_ms + 2 * n->cfg.heartbeat_ms)) {
            continue;
        }
        memset(&m, 0, sizeof(m));
        m.type = BATON_MSG_NAME_REQ;
        m.u.name_req.req = p->req;
        m.u.name_req.first = first;
        m.u.name_req.kind = p->kind;
        m.u.name_req.name = p->name;
        baton__send(n, n->target, &m);
        p->sent_ms = n->now_ms;
    }
}

static unsigned request_check(const struct baton_name_req *q)
{
    const char *end = memchr(q->name, '\0', sizeof(q->name));

    if (q->kind < BATON_NAME_REGISTER || q->kind >= BATON_NAME__KIND_COUNT ||
        q->endpoint == 0 || q->resolver >= BATON_RESOLVE__COUNT ||
        q->meta_len > BATON_GNAME_META_MAX) {
        return BATON_NAME_INVALID;
    }
    if (q->kind != BATON_NAME_DROP &&
        (end == NULL ||
         baton_name_check(q->name, (size_t)(end - q->name)) != 0)) {
        return BATON_NAME_INVALID;
    }
    return BATON_NAME_OK;
}

static void on_name_event(struct baton_node *n, const struct baton_name_req *q)
{
    struct baton_name_pending *p;
    unsigned code = request_check(q);

    if (code != BATON_NAME_OK) {
        done(n, q->id, code);
        return;
    }
    if (q->quorum) {
        baton__quorum_name(n, q); /* the log, not the coordinator's table */
        return;
    }
    /* A JOIN carries this node's own names in one frame: they stay
     * within what one holds (docs/design/names.md §1). Writes under way
     * count as if each added one. */
    if (n->names.cap == 0 ||
        ((q->kind == BATON_NAME_REGISTER ||
          q->kind == BATON_NAME_REREGISTER) &&
         baton_names_find(&n->own, q->name) == NULL &&
         n->own.count + n->n_pending >= BATON_JOIN_NAMES_MAX)) {
        done(n, q->id, BATON_NAME_FULL);
        return;
    }
    if (n->n_pending == BATON_NAME_PENDING_MAX) {
        done(n, q->id, BATON_NAME_BUSY);
        return;
    }
    p = pending_at(n, n->n_pending++);
    memset(p, 0, sizeof(*p));
    p->req = ++n->name_req_next;
    p->id = q->id;
    p->kind = q->kind;
    if (q->kind != BATON_NAME_DROP) {
        memcpy(p->name.name, q->name, sizeof(p->name.name));
    }
    p->name.resolver = q->resolver;
    p->name.endpoint = q->endpoint;
    p->name.meta_len = q->meta_len;
    memcpy(p->name.meta, q->meta, q->meta_len);
    if (q->kind == BATON_NAME_UNREGISTER || q->kind == BATON_NAME_DROP) {
        /* Given up from now on: a JOIN must not bring it back, even
         * while the write is under way. */
        own_update(n, p, NULL, false);
    }
    pump(n);
}

/* ---- the coordinator's housekeeping ------------------------------------ */

/* Orders the removal of names whose owner's node is down or has a new
 * life (docs/design/names.md §2). Runs when membership changed. */
/* The coordinator's own names, like a joiner's, are what its endpoints
 * were told they hold: an entry of ours in the replica that no endpoint
 * holds or is registering (one we were told we lost while joining a
 * group whose snapshot never came, say) is removed. */
static void own_sync(struct baton_node *n)
{
    for (uint32_t i = 0; i < n->names.cap && n->names.owned[n->cfg.self];
         i++) {
        const struct baton_name *e = &n->names.slot[i];
        const struct baton_name *o;
        struct baton_name gone;
        if (!e->used || e->owner != n->cfg.self || e->owner_inc != n->inc) {
            continue;
        }
        o = baton_names_find(&n->own, e->name);
        if ((o != NULL && o->endpoint == e->endpoint) ||
            pending_reg(n, e->endpoint, e->name) != NULL) {
            continue;
        }
        gone = *e;
        order_del(n, &gone, n->cfg.self, 0, 0); /* nobody to tell */
        i = (uint32_t)-1; /* deletion shifts entries: rescan */
    }
}

static void purge(struct baton_node *n)
{
    n->names_check = false;
    own_sync(n);
    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        baton_inc keep;
        bool stale = false;
        struct baton_op op;
        if (n->names.owned[p] == 0) {
            continue;
        }
        if (p == n->cfg.self) {
            keep = n->inc;
        } else if (n->peers[p].alive && n->peers[p].inc != 0) {
            keep = n->peers[p].inc;
        } else {
            keep = 0;
        }
        for (uint32_t i = 0; i < n->names.cap && !stale; i++) {
            const struct baton_name *e = &n->names.slot[i];
            stale = e->used && e->owner == p &&
                    (keep == 0 || e->owner_inc != keep);
        }
        if (!stale) {
            continue;
        }
        memset(&op, 0, sizeof(op));
        op.type = BATON_OP_NAME_PURGE;
        op.node = (uint8_t)p;
        op.inc = keep;
        op.origin = BATON_NODE_NONE;
        baton__submit(n, &op);
    }
}

void baton__names_changed(struct baton_node *n)
{
    n->names_check = true;
}

/* Who keeps a name both sides of a heal hold (reference §2.5 for OTP's
 * rules: not random, the smaller node name wins). Returns 1 if ours
 * stays, 2 if theirs, 0 if neither. */
static unsigned resolve(const struct baton_node *n, const struct baton_name *ours,
                        const struct baton_name *theirs)
{
    bool ours_smaller = n->state.name_rank[ours->owner] <
                            n->state.name_rank[theirs->owner] ||
                        (n->state.name_rank[ours->owner] ==
                             n->state.name_rank[theirs->owner] &&
                         ours->owner < theirs->owner);

    switch (ours->resolver) {
    case BATON_RESOLVE_RANDOM_EXIT:
    case BATON_RESOLVE_RANDOM_NOTIFY:
        return ours_smaller ? 1 : 2;
    case BATON_RESOLVE_NOTIFY_ALL:
        return 0;
    default: /* keep_incumbent: the older registration */
        if (ours->epoch != theirs->epoch) {
            return ours->epoch < theirs->epoch ? 1 : 2;
        }
        return ours_smaller ? 1 : 2;
    }
}

static unsigned loss_reason(unsigned resolver)
{
    switch (resolver) {
    case BATON_RESOLVE_RANDOM_EXIT:
        return BATON_LOST_CONFLICT_EXIT;
    case BATON_RESOLVE_RANDOM_NOTIFY:
        return BATON_LOST_CONFLICT_NOTIFY;
    case BATON_RESOLVE_NOTIFY_ALL:
        return BATON_LOST_CONFLICT_ALL;
    default:
        return BATON_LOST_CONFLICT_KEEP;
    }
}

/* Tells the loser's node (before any op about it goes out, so the
 * reason arrives first), or our own endpoint directly. */
static void notify_loser(struct baton_node *n, const struct baton_name *e,
                         unsigned reason)
{
    struct baton_msg m;

    remember_beaten(n, e);
    if (e->owner == n->cfg.self) {
        tell_lost(n, e, reason);
        return;
    }
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_NAME_LOST;
    m.u.name_lost.reason = (uint8_t)reason;
    m.u.name_lost.endpoint = e->endpoint;
    m.u.name_lost.epoch = e->epoch;
    memcpy(m.u.name_lost.name, e->name, sizeof(m.u.name_lost.name));
    baton__send(n, e->owner, &m);
}

static bool beaten(const struct baton_node *n, const struct baton_name *f)
{
    for (unsigned i = 0; i < n->n_beaten && i < BATON_NAME_TOLD_MAX; i++) {
        if (n->beaten[i].owner == f->owner &&
            n->beaten[i].endpoint == f->endpoint &&
            n->beaten[i].epoch == f->epoch) {
            return true;
        }
    }
    return false;
}

/* A node joins: its own view of its own names is the truth about them
 * (it may have missed ops, or we may have purged them while it was cut
 * off). Entries of its life we hold and it does not are removed; its
 * entries are added, and a clash with another node's registration is
 * resolved once, here (docs/design/names.md §4). */
void baton__names_absorb(struct baton_node *n, unsigned p, baton_inc inc,
                         const struct baton_names *theirs)
{
    BATON_ASSERT(n->role == BATON_ROLE_COORDINATOR);
    if (n->names.owned[p] != 0) {
        for (uint32_t i = 0; i < n->names.cap; i++) {
            const struct baton_name *e = &n->names.slot[i];
            const struct baton_name *f;
            struct baton_name gone;
            if (!e->used || e->owner != p || e->owner_inc != inc) {
                continue;
            }
            f = theirs != NULL ? baton_names_find(theirs, e->name) : NULL;
            if (f != NULL && same_owner(f, p, inc, e->endpoint)) {
                continue;
            }
            gone = *e;
            order_del(n, &gone, BATON_NODE_NONE, 0, 0);
            i = (uint32_t)-1; /* deletion shifts entries: rescan */
        }
    }
    if (theirs == NULL || theirs->owned[p] == 0) {
        return;
    }
    for (uint32_t i = 0; i < theirs->cap; i++) {
        const struct baton_name *f = &theirs->slot[i];
        const struct baton_name *e;
        struct baton_name ours;
        if (!f->used || f->owner != p || f->owner_inc != inc) {
            continue;
        }
        e = baton_names_find(&n->names, f->name);
        if (e != NULL && baton_name_equal(e, f)) {
            continue;
        }
        if (beaten(n, f)) {
            continue; /* lost here already; its owner is being told */
        }
        if (e == NULL || !visible(n, e) ||
            same_owner(e, p, inc, f->endpoint)) {
            if (e == NULL &&
                n->names.count >= baton_names_limit(n->names.cap)) {
                notify_loser(n, f, BATON_LOST_REMOVED);
                continue;
            }
            order_set(n, f, BATON_NODE_NONE, 0);
            continue;
        }
        /* A clash: the same name held by two live endpoints. */
        ours = *e;
        n->counters.name_clashes++;
        switch (resolve(n, &ours, f)) {
        case 1:
            notify_loser(n, f, loss_reason(ours.resolver));
            break;
        case 2:
            notify_loser(n, &ours, loss_reason(ours.resolver));
            order_set(n, f, BATON_NODE_NONE, 0);
            break;
        default:
            notify_loser(n, f, loss_reason(ours.resolver));
            notify_loser(n, &ours, loss_reason(ours.resolver));
            order_del(n, &ours, BATON_NODE_NONE, 0,
                      loss_reason(ours.resolver));
            break;
        }
    }
}

/* ---- calls ------------------------------------------------------------ */

static struct baton_call_effect *call_fx(struct baton_node *n)
{
    struct baton_effects *fx = n->fx;

    BATON_ASSERT(fx->n_call < BATON_FX_CALL_MAX);
    memset(&fx->call[fx->n_call], 0, sizeof(fx->call[0]));
    return &fx->call[fx->n_call++];
}

static void call_done(struct baton_node *n, uint64_t id, unsigned code,
                      const uint8_t *data, uint32_t len)
{
    struct baton_call_effect *c = call_fx(n);

    c->action = BATON_CALLFX_DONE;
    c->code = (uint8_t)code;
    c->id = id;
    c->data = data;
    c->len = len;
}

static void deliver(struct baton_node *n, const struct baton_name *e,
                    unsigned from, baton_inc from_inc, uint64_t id,
                    unsigned flags, const uint8_t *data, uint32_t len)
{
    struct baton_call_effect *c = call_fx(n);

    c->action = BATON_CALLFX_DELIVER;
    c->from = (uint8_t)from;
    c->from_inc = from_inc;
    c->flags = (uint8_t)flags;
    c->id = id;
    c->endpoint = e->endpoint;
    c->name = e->name;
    c->data = data;
    c->len = len;
}

static void send_call_reply(struct baton_node *n, unsigned to, baton_inc inc,
                            uint64_t id, unsigned code, const uint8_t *data,
                            uint32_t len)
{
    struct baton_msg m;

    if (to == n->cfg.self) {
        if (inc == n->inc) {
            call_done(n, id, code, data, len);
        }
        return;
    }
    if (n->peers[to].inc != inc) {
        return; /* the caller's life is over: nobody waits for this */
    }
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_REPLY;
    m.u.reply.id = id;
    m.u.reply.code = (uint8_t)code;
    m.u.reply.data = data;
    m.u.reply.len = len;
    baton__send(n, to, &m);
}

/* ---- calls watched until answered ------------------------------------ */

static bool watch_lost(const struct baton_node *n,
                       const struct baton_call_watch *w)
{
    const struct baton_peer *to = &n->peers[w->to];

    return w->used && !(to->alive && to->inc == w->to_inc);
}

/* Whether peer `p` is as the last full scan of the watch table saw it. */
static bool watch_peer_seen(const struct baton_node *n, unsigned p)
{
    bool alive = (n->watch_seen_alive >> p) & 1u;

    return n->peers[p].alive == alive &&
           n->peers[p].inc == n->watch_seen_inc[p];
}

/* Whether a watched call may have been lost since the last full scan.
 * An entry is lost only when its node's life is no longer the one it
 * was sent to, so while no peer changed and no entry was left over
 * (watch_dirty) the 256 slots need not be looked at: most steps are
 * about other things, and a scan per step cost about 1 µs per call. */
static bool watch_may_be_lost(const struct baton_node *n)
{
    if (n->n_watched == 0) {
        return false;
    }
    if (n->watch_dirty) {
        return true;
    }
    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        if (!watch_peer_seen(n, p)) {
            return true;
        }
    }
    return false;
}

/* A call sent on to node `to` (that life) waits for its reply: watched
 * so that losing `to` fails it, as OTP's call monitors its server
 * (docs/design/names.md §5). */
static void watch_call(struct baton_node *n, uint64_t id, unsigned caller,
                       baton_inc caller_inc, unsigned to, baton_inc to_inc)
{
    struct baton_call_watch *w = NULL;

    /* The next free slot in ring order: a slot still watching a call is
     * never taken while another is free (a long call outlived 256 quick
     * ones and lost its watch, test_call_watch_survives_ring_reuse). */
    for (unsigned k = 0; k < BATON_CALLS_WATCHED && w == NULL; k++) {
        struct baton_call_watch *f =
            &n->watch[(n->watch_next + k) % BATON_CALLS_WATCHED];
        if (!f->used) {
            w = f;
            n->watch_next += k;
        }
    }
    if (w == NULL) {
        w = &n->watch[n->watch_next % BATON_CALLS_WATCHED];
    }
    n->watch_next = (n->watch_next + 1) % BATON_CALLS_WATCHED;
    if (!w->used) {
        n->n_watched++;
    }
    /* Every slot in use: the one written longest ago in ring order is
     * overwritten, and that call then has only the driver's deadline
     * (every driver gives each call one). */
    w->id = id;
    w->caller = (uint8_t)caller;
    w->caller_inc = caller_inc;
    w->to = (uint8_t)to;
    w->to_inc = to_inc;
    w->used = 1;
    /* Watched while `to` is not as the last scan saw it (or already
     * lost): the snapshot cannot vouch for this entry, so scan. */
    if (watch_lost(n, w) || !watch_peer_seen(n, to)) {
        n->watch_dirty = true;
    }
}

static void unwatch(struct baton_node *n, struct baton_call_watch *w)
{
    w->used = 0;
    n->n_watched--;
}

/* Our call `id` was answered: it needs no watching any more. Looked for
 * from the slot taken last backwards, since calls are mostly answered
 * in the order they were made, and only until every used entry was
 * seen: with a few calls in flight that is a few slots, not 256. */
static void watch_answered(struct baton_node *n, uint64_t id)
{
    unsigned left = n->n_watched;

    for (unsigned k = 1; k <= BATON_CALLS_WATCHED && left != 0; k++) {
        struct baton_call_watch *w =
            &n->watch[(n->watch_next + BATON_CALLS_WATCHED - k) %
                      BATON_CALLS_WATCHED];
        if (!w->used) {
            continue;
        }
        left--;
        if (w->id == id && w->caller == n->cfg.self) {
            unwatch(n, w);
        }
    }
}

/* At most this many forwarded calls are failed per step, which keeps a
 * step's sends within BATON_FX_SEND_MAX; the rest go next step. */
#define BATON_CALLS_FAIL_STEP (16)

/* Fails every watched call whose node was lost: ours with `unreachable`,
 * forwarded ones by telling their caller so. A forwarded call's reply
 * goes to its caller without passing here, so its entry stays until its
 * node is lost or it is overwritten; a late `unreachable` for a call
 * answered long ago is dropped by the caller's driver. */
static void watch_check(struct baton_node *n)
{
    unsigned sent = 0;
    bool left_over = false;

    if (!watch_may_be_lost(n)) {
        return;
    }
    for (unsigned i = 0; i < BATON_CALLS_WATCHED && n->n_watched != 0; i++) {
        struct baton_call_watch *w = &n->watch[i];
        if (!watch_lost(n, w)) {
            continue;
        }
        if (w->caller == n->cfg.self) {
            if (n->fx->n_call == BATON_FX_CALL_MAX) {
                left_over = true;
                continue; /* next step (baton__names_deadline) */
            }
            call_done(n, w->id, BATON_NAME_UNREACHABLE, NULL, 0);
        } else {
            if (sent == BATON_CALLS_FAIL_STEP) {
                left_over = true;
                continue;
            }
            sent++;
            send_call_reply(n, w->caller, w->caller_inc, w->id,
                            BATON_NAME_UNREACHABLE, NULL, 0);
        }
        unwatch(n, w);
    }
    n->watch_seen_alive = 0;
    for (unsigned p = 0; p < n->cfg.n_nodes; p++) {
        n->watch_seen_alive |= (uint32_t)n->peers[p].alive << p;
        n->watch_seen_inc[p] = n->peers[p].inc;
    }
    n->watch_dirty = left_over;
}

/* Routes a call to where its name lives now: delivered here, or sent
 * (forwarded, for a name that moved on) to the owner's node. */
static void route(struct baton_node *n, const char *name, unsigned caller,
                  baton_inc caller_inc, uint64_t id, unsigned flags,
                  unsigned hops, const uint8_t *data, uint32_t len)
{
    const struct baton_name *e = baton_node_whereis(n, name);
    struct baton_msg m;

    if (e == NULL || (e->owner != n->cfg.self && hops >= BATON_CALL_HOPS_MAX)) {
        if (caller == n->cfg.self) {
            call_done(n, id, BATON_NAME_NOT_FOUND, NULL, 0);
        } else if (flags & BATON_CALL_WANTS_REPLY) {
            send_call_reply(n, caller, caller_inc, id, BATON_NAME_NOT_FOUND,
                            NULL, 0);
        }
        return;
    }
    if (e->owner == n->cfg.self) {
        deliver(n, e, caller, caller_inc, id, flags, data, len);
        if (caller == n->cfg.self && !(flags & BATON_CALL_WANTS_REPLY)) {
            call_done(n, id, BATON_NAME_OK, NULL, 0);
        }
        return;
    }
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_CALL; /* to e's life: whereis checked it is current */
    m.u.call.id = id;
    m.u.call.caller = (uint8_t)caller;
    m.u.call.caller_inc = caller_inc;
    m.u.call.hops = (uint8_t)hops;
    m.u.call.flags = (uint8_t)flags;
    memcpy(m.u.call.name, e->name, sizeof(m.u.call.name));
    m.u.call.data = data;
    m.u.call.len = len;
    if (caller != n->cfg.self) {
        n->counters.calls_forwarded++;
    }
    baton__send(n, e->owner, &m);
    if (flags & BATON_CALL_WANTS_REPLY) {
        watch_call(n, id, caller, caller_inc, e->owner, e->owner_inc);
    }
    if (caller == n->cfg.self && !(flags & BATON_CALL_WANTS_REPLY)) {
        call_done(n, id, BATON_NAME_OK, NULL, 0); /* a send is on its way */
    }
}

/* ---- entry points ------------------------------------------------------ */

int baton__names_event(struct baton_node *n, const struct baton_event *ev)
{
    const struct baton_call *c = ev->call;

    switch (ev->type) {
    case BATON_EVENT_NAME:
        if (ev->name_req == NULL) {
            return BATON_EINVAL;
        }
        on_name_event(n, ev->name_req);
        return 0;
    case BATON_EVENT_CALL:
        if (c == NULL || c->name == NULL || c->len > BATON_CALL_DATA_MAX ||
            (c->len > 0 && c->data == NULL) ||
            (c->flags & ~BATON_CALL_WANTS_REPLY) != 0) {
            return BATON_EINVAL;
        }
        if (baton_name_check(c->name, strnlen(c->name, BATON_GNAME_MAX + 1)) !=
            0) {
            call_done(n, c->id, BATON_NAME_INVALID, NULL, 0);
            return 0;
        }
        route(n, c->name, n->cfg.self, n->inc, c->id, c->flags, 0, c->data,
              c->len);
        return 0;
    case BATON_EVENT_REPLY:
        if (c == NULL || c->to >= n->cfg.n_nodes ||
            c->len > BATON_CALL_DATA_MAX || (c->len > 0 && c->data == NULL) ||
            c->code >= BATON_NAME_CODE__COUNT) {
            return BATON_EINVAL;
        }
        send_call_reply(n, c->to, c->to_inc, c->id, c->code, c->data, c->len);
        return 0;
    default:
        return BATON_EINVAL;
    }
}

void baton__names_on_msg(struct baton_node *n, const struct baton_msg *m)
{
    switch (m->type) {
    case BATON_MSG_NAME_REQ:
        on_name_req(n, m);
        break;
    case BATON_MSG_NAME_REPLY:
        on_name_reply(n, m);
        break;
    case BATON_MSG_NAME_LOST:
        on_name_lost(n, m);
        break;
    case BATON_MSG_CALL:
        route(n, m->u.call.name, m->u.call.caller, m->u.call.caller_inc,
              m->u.call.id, m->u.call.flags, m->u.call.hops + 1u,
              m->u.call.data, m->u.call.len);
        break;
    case BATON_MSG_REPLY:
        watch_answered(n, m->u.reply.id);
        call_done(n, m->u.reply.id, m->u.reply.code, m->u.reply.data,
                  m->u.reply.len);
        break;
    default:
        break;
    }
}

void baton__names_step(struct baton_node *n)
{
    if (n->role == BATON_ROLE_COORDINATOR && n->names_check) {
        purge(n);
    }
    pump(n);
    check_applied(n);
    watch_check(n);
}

uint64_t baton__names_deadline(const struct baton_node *n)
{
    uint64_t d = UINT64_MAX;

    if (watch_may_be_lost(n)) {
        for (unsigned i = 0; i < BATON_CALLS_WATCHED; i++) {
            if (watch_lost(n, &n->watch[i])) {
                return n->now_ms + 1; /* failures left over from a step */
            }
        }
    }
    if (n->role != BATON_ROLE_FOLLOWER) {
        return d;
    }
    for (unsigned i = 0; i < n->n_pending && i < BATON_NAME_WINDOW; i++) {
        const struct baton_name_pending *p =
            &n->pending[(n->pending_head + i) % BATON_NAME_PENDING_MAX];
        if (!p->finished && !p->answered && p->sent_ms != 0) {
            d = BATON_MIN(d, p->sent_ms + 2 * n->cfg.heartbeat_ms);
        }
    }
    return d;
}

static const char *const code_names[BATON_NAME_CODE__COUNT] = {
#define BATON__CODE_NAME(name, text) #name,
    BATON_NAME_CODE_MAP(BATON__CODE_NAME)
#undef BATON__CODE_NAME
};

static const char *const code_texts[BATON_NAME_CODE__COUNT] = {
#define BATON__CODE_TEXT(name, text) text,
    BATON_NAME_CODE_MAP(BATON__CODE_TEXT)
#undef BATON__CODE_TEXT
};

const char *baton_name_code_name(unsigned code)
{
    return code < BATON_NAME_CODE__COUNT ? code_names[code] : "?";
}

const char *baton_name_code_text(unsigned code)
{
    return code < BATON_NAME_CODE__COUNT ? code_texts[code] : "unknown";
}
