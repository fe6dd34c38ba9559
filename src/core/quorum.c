/* Quorum mode in the node: one Raft group (raft.c) over every node of
 * the cluster, run when at least one app is in quorum mode
 * (docs/design/quorum.md §2-§3, core.md §8).
 *
 * The node calls the group at most once per step: on a TICK, on a
 * received raft message, or on a PERSISTED confirmation. The group's
 * messages point into its log, which only that call changes, so they
 * stay valid until the next step, as every effect must. Its messages
 * leave as BATON_MSG_RAFT, its write as the raft_write effect, and its
 * deadline joins the node's.
 *
 * Grants (quorum.md §4.2, §9 step 3): the leader places each quorum app
 * by apps.c's rule, from the reports every node sends it too, and
 * proposes a grant entry (app, owner); every node applies committed
 * grants in log order to n->grants, whose epoch is the entry's index.
 * One proposal at a time: only when everything in the log is committed
 * and applied, so the decision reads the table as the log has it, and
 * a new leader's no-op is committed first.
 *
 * Leases and self-fencing (quorum.md §4): below. Not yet: the failover
 * timeout.
 *
 * Snapshots (quorum.md §3): every BATON_QUORUM_SNAP_EVERY applied
 * entries the node serialises its grant table (the raft_snapshot
 * effect, which the driver saves before the step's write) and lets the
 * group compact the log up to there; a snapshot a leader sends (or the
 * store holds at boot) replaces the table. */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

/* A grant entry: kind, owner, two bytes zero, the owner's life
 * (little-endian), the app's name padded with zeros. Its index in the
 * log is its epoch. The leader's no-op is the empty entry. */
#define GRANT_KIND 1
#define GRANT_INC 4
#define GRANT_NAME 12
#define GRANT_LEN (GRANT_NAME + BATON_APP_NAME_MAX + 1)
_Static_assert(GRANT_LEN <= BATON_RAFT_DATA_MAX, "a grant fits an entry");

static void put64(uint8_t *p, uint64_t v)
{
    for (unsigned k = 0; k < 8; k++) {
        p[k] = (uint8_t)(v >> (8 * k));
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (unsigned k = 0; k < 8; k++) {
        v |= (uint64_t)p[k] << (8 * k);
    }
    return v;
}

static void carry(struct baton_node *n);

/* The app of cfg.apps named by the zero-padded name at p (which ends
 * with a zero byte), or BATON_NODE_NONE. */
static unsigned app_named(const struct baton_node *n, const uint8_t *p)
{
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (strcmp(n->cfg.apps[i].name, (const char *)p) == 0) {
            return i;
        }
    }
    return BATON_NODE_NONE;
}

static uint32_t grant_encode(uint8_t *buf,
                             const char *name,
                             unsigned owner,
                             baton_inc inc)
{
    memset(buf, 0, GRANT_LEN);
    buf[0] = GRANT_KIND;
    buf[1] = (uint8_t)owner;
    put64(buf + GRANT_INC, inc);
    memcpy(buf + GRANT_NAME, name, strnlen(name, BATON_APP_NAME_MAX));
    return GRANT_LEN;
}

/* The app of cfg.apps a grant entry names, its owner and the owner's
 * life; false if the entry is no grant or names an app this node does
 * not define. */
static bool grant_decode(const struct baton_node *n,
                         const struct baton_raft_entry *e,
                         unsigned *app,
                         struct baton_grant *g)
{
    if (e->len != GRANT_LEN || e->data[0] != GRANT_KIND ||
        e->data[GRANT_LEN - 1] != 0 ||
        (e->data[1] >= n->cfg.n_nodes && e->data[1] != BATON_NODE_NONE)) {
        return false;
    }
    *app = app_named(n, e->data + GRANT_NAME);
    if (*app == BATON_NODE_NONE) {
        return false;
    }
    memset(g, 0, sizeof(*g));
    g->owner = e->data[1];
    g->inc = get64(e->data + GRANT_INC);
    return true;
}

/* ---- names in quorum mode (quorum.md §6) -------------------------------
 *
 * A name entry: kind, op, owner, five bytes zero, the owner's life, the
 * endpoint (both little-endian), the name padded with zeros. PURGE
 * removes every name of `owner` whose life is at most `inc`: the leader
 * proposes it once that life is lost (the node restarted, or it is
 * declared down), as Erlang's global drops a dead node's names. */
#define QNAME_KIND 2
#define QNAME_REGISTER 1
#define QNAME_UNREGISTER 2
#define QNAME_PURGE 3
#define QNAME_INC 8
#define QNAME_EP 16
#define QNAME_NAME 24
#define QNAME_LEN (QNAME_NAME + BATON_GNAME_MAX + 1)
_Static_assert(QNAME_LEN <= BATON_RAFT_DATA_MAX, "a name entry fits an entry");

static uint32_t qname_encode(uint8_t *buf,
                             unsigned op,
                             unsigned owner,
                             baton_inc inc,
                             uint64_t endpoint,
                             const char *name)
{
    memset(buf, 0, QNAME_LEN);
    buf[0] = QNAME_KIND;
    buf[1] = (uint8_t)op;
    buf[2] = (uint8_t)owner;
    put64(buf + QNAME_INC, inc);
    put64(buf + QNAME_EP, endpoint);
    memcpy(buf + QNAME_NAME, name, strnlen(name, BATON_GNAME_MAX));
    return QNAME_LEN;
}

static struct baton_qname *qname_find(struct baton_qname *t, const char *name)
{
    for (unsigned k = 0; k < BATON_QNAMES_MAX; k++) {
        if (t[k].name[0] != '\0' && strcmp(t[k].name, name) == 0) {
            return &t[k];
        }
    }
    return NULL;
}

/* Applies name entry e (at index x) to table t of *count names: the
 * answer its registration gets (BATON_NAME_*), or -1 if e is no name
 * entry. The same on every node: a pure function of the table and e. */
int baton_qnames_apply(struct baton_qname *t,
                       uint32_t *count,
                       unsigned n_nodes,
                       const struct baton_raft_entry *e,
                       uint64_t x)
{
    const char *name = (const char *)e->data + QNAME_NAME;
    unsigned owner;
    baton_inc inc;
    uint64_t ep;
    struct baton_qname *q;

    if (e->len != QNAME_LEN || e->data[0] != QNAME_KIND ||
        e->data[QNAME_LEN - 1] != 0 || e->data[2] >= n_nodes) {
        return -1;
    }
    owner = e->data[2];
    inc = get64(e->data + QNAME_INC);
    ep = get64(e->data + QNAME_EP);
    q = qname_find(t, name);
    switch (e->data[1]) {
    case QNAME_REGISTER:
        if (q != NULL) {
            return q->owner == owner && q->inc == inc && q->endpoint == ep
                       ? BATON_NAME_OK /* a retry of its own */
                       : BATON_NAME_TAKEN;
        }
        if (*count >= BATON_QNAMES_MAX || name[0] == '\0') {
            return BATON_NAME_FULL;
        }
        for (q = t; q->name[0] != '\0'; q++) {
            /* a free slot exists: *count < BATON_QNAMES_MAX */
        }
        memset(q, 0, sizeof(*q));
        memcpy(q->name, name, strlen(name));
        q->owner = (uint8_t)owner;
        q->inc = inc;
        q->endpoint = ep;
        q->epoch = x;
        (*count)++;
        return BATON_NAME_OK;
    case QNAME_UNREGISTER:
        if (q == NULL) {
            return BATON_NAME_NOT_FOUND;
        }
        if (q->owner != owner || q->inc != inc || q->endpoint != ep) {
            return BATON_NAME_NOT_OWNER;
        }
        memset(q, 0, sizeof(*q));
        (*count)--;
        return BATON_NAME_OK;
    case QNAME_PURGE:
        for (unsigned k = 0; k < BATON_QNAMES_MAX; k++) {
            if (t[k].name[0] != '\0' && t[k].owner == owner &&
                t[k].inc <= inc) {
                memset(&t[k], 0, sizeof(t[k]));
                (*count)--;
            }
        }
        return BATON_NAME_OK;
    default:
        return -1;
    }
}

/* The leader's registration whose entry is (x, term) is decided: OK or
 * the table's answer if the committed entry at x is its own, else
 * UNAVAILABLE (another leader's entry took the index: it never will
 * be committed). */
static void qname_decided(struct baton_node *n,
                          uint64_t x,
                          uint64_t term,
                          int code)
{
    for (unsigned k = 0; k < n->n_qpend;) {
        struct baton_qname_pending *p = &n->qpend[k];
        if (p->index != x) {
            k++;
            continue;
        }
        if (p->term == term && code >= 0) {
            baton__name_done(n, p->id, (unsigned)code, x);
        } else {
            baton__name_done(n, p->id, BATON_NAME_UNAVAILABLE, 0);
        }
        *p = n->qpend[--n->n_qpend];
    }
}

/* Registrations whose outcome this node cannot learn in time (it lost
 * the leadership and hears no one) are answered TIMEOUT: not an ack. */
static void qname_expire(struct baton_node *n)
{
    for (unsigned k = 0; k < n->n_qpend;) {
        if (n->now_ms >= n->qpend[k].until_ms && n->fx != NULL) {
            baton__name_done(n, n->qpend[k].id, BATON_NAME_TIMEOUT, 0);
            n->qpend[k] = n->qpend[--n->n_qpend];
        } else {
            k++;
        }
    }
}

void baton__quorum_name(struct baton_node *n, const struct baton_name_req *q)
{
    uint8_t buf[QNAME_LEN];
    uint64_t index;
    uint32_t len;

    if (q->kind != BATON_NAME_REGISTER && q->kind != BATON_NAME_UNREGISTER) {
        baton__name_done(n, q->id, BATON_NAME_INVALID, 0);
        return;
    }
    if (!n->quorum || n->raft.role != BATON_RAFT_LEADER) {
        /* Not forwarded: the caller retries at the leader
         * (baton_node_raft_leader), so no answer is ever lost on a
         * hop (quorum.md §6). */
        baton__name_done(n, q->id, BATON_NAME_UNAVAILABLE, 0);
        return;
    }
    if (n->n_qpend == BATON_QNAME_PENDING) {
        baton__name_done(n, q->id, BATON_NAME_BUSY, 0);
        return;
    }
    len = qname_encode(
        buf, q->kind == BATON_NAME_REGISTER ? QNAME_REGISTER : QNAME_UNREGISTER,
        n->cfg.self, n->inc, q->endpoint, q->name);
    if (baton_raft_propose(&n->raft, n->now_ms, buf, len, &index,
                           &n->raft_fx) != 0) {
        baton__name_done(n, q->id, BATON_NAME_BUSY, 0); /* the log is full */
        return;
    }
    n->qpend[n->n_qpend].id = q->id;
    n->qpend[n->n_qpend].index = index;
    n->qpend[n->n_qpend].term = n->raft.term;
    n->qpend[n->n_qpend].until_ms = n->now_ms + BATON_QNAME_TIMEOUT_MS;
    n->n_qpend++;
    carry(n);
}

unsigned baton_node_qwhereis(const struct baton_node *n,
                             uint64_t now_ms,
                             const char *name,
                             struct baton_qname *out)
{
    const struct baton_raft_entry *e;
    uint64_t term;
    const struct baton_qname *q = NULL;

    if (!n->quorum || n->raft.role != BATON_RAFT_LEADER ||
        baton_raft_lease_end(&n->raft) <= now_ms ||
        n->grants_applied != n->raft.commit) {
        return BATON_NAME_UNAVAILABLE;
    }
    /* Raft's read rule: a new leader's table is current only once an
     * entry of its term is committed (its no-op). */
    e = baton_raft_entry_at(&n->raft, n->raft.commit);
    term = e != NULL ? e->term : n->raft.compacted_term;
    if (term != n->raft.term) {
        return BATON_NAME_UNAVAILABLE;
    }
    for (unsigned k = 0; k < BATON_QNAMES_MAX; k++) {
        if (n->qnames[k].name[0] != '\0' &&
            strcmp(n->qnames[k].name, name) == 0) {
            q = &n->qnames[k];
        }
    }
    if (q == NULL) {
        return BATON_NAME_NOT_FOUND;
    }
    if (out != NULL) {
        *out = *q;
    }
    return BATON_NAME_OK;
}

/* Applies the committed entries not applied yet, in log order. */
static void apply_grants(struct baton_node *n)
{
    while (n->grants_applied < n->raft.commit) {
        uint64_t x = n->grants_applied + 1;
        const struct baton_raft_entry *e = baton_raft_entry_at(&n->raft, x);
        struct baton_grant g;
        unsigned app;
        /* Compacted before it was applied: the log is compacted only up
         * to a snapshot of this node (taken of applied entries) or one
         * it installed (which set grants_applied), never past them. */
        BATON_ASSERT(e != NULL);
        int code =
            baton_qnames_apply(n->qnames, &n->n_qnames, n->cfg.n_nodes, e, x);
        qname_decided(n, x, e->term, code);
        if (grant_decode(n, e, &app, &g)) {
            struct baton_trace *t = baton__trace(n, BATON_TRACE_RAFT, g.owner);
            g.epoch = x;
            n->grants[app] = g;
            t->role = n->raft.role;
            t->a = n->raft.term;
            t->b = n->raft.commit;
            t->c = x;
            memcpy(t->app, n->cfg.apps[app].name, sizeof(t->app));
        }
        n->grants_applied = x;
    }
}

/* Leader: where the placement rule puts quorum app i now, given its
 * grant (BATON_NODE_NONE: nowhere). */
static unsigned placed(const struct baton_node *n, unsigned i)
{
    const struct baton_app_config *c = &n->cfg.apps[i];
    const struct baton_grant *g = &n->grants[i];
    struct baton_state_app e;

    /* The grant as an app of the state, so that the placement rule
     * keeps it where it is granted when it may stay there. */
    memset(&e, 0, sizeof(e));
    memcpy(e.name, c->name, sizeof(e.name));
    memcpy(e.rank, c->rank, sizeof(e.rank));
    e.failover_timeout_ms = c->failover_timeout_ms;
    e.status = g->owner != BATON_NODE_NONE ? BATON_APP_RUNNING : BATON_APP_IDLE;
    e.owner = g->owner;
    e.from = e.prev = BATON_NODE_NONE;
    return baton__apps_place(n, &e, BATON_NODE_NONE);
}

/* Leader: is app i's grant spent, although the placement rule keeps it
 * where it is? Its owner restarted since (a new life may not run it),
 * or its instance under the grant's epoch stopped (a lease ran out) and
 * did not end for good: a fresh grant, a new epoch, starts it again (a
 * token is never used twice, apps.md §4). */
static bool spent(const struct baton_node *n, unsigned i)
{
    const struct baton_grant *g = &n->grants[i];
    const struct baton_app_report *r =
        baton__apps_report_of(n, g->owner, n->cfg.apps[i].name);

    if (g->owner >= n->cfg.n_nodes || g->inc != n->state.nodes[g->owner].inc) {
        return true;
    }
    return r != NULL && r->run == BATON_LOCAL_IDLE && r->last >= g->epoch &&
           r->exited != g->epoch;
}

static bool is_leader(const struct baton_node *n)
{
    return n->quorum && n->raft.role == BATON_RAFT_LEADER;
}

/* Is a grant entry in the log but not yet committed? Name entries do
 * not change the grant table, so leases are renewed while they are. */
static bool grant_in_flight(const struct baton_node *n)
{
    for (uint64_t x = n->raft.commit + 1; x <= baton_raft_last_index(&n->raft);
         x++) {
        const struct baton_raft_entry *e = baton_raft_entry_at(&n->raft, x);
        if (e == NULL || e->len == 0 || e->data[0] == GRANT_KIND) {
            return true; /* a new leader's no-op too: the table may lag */
        }
    }
    return false;
}

/* Leader: may it propose a grant or a purge? Only one at a time: once
 * everything in the log is committed and applied (so the decision reads
 * the tables as the log has them), and not again at a commit index at
 * which a proposal was refused. */
static bool may_propose(const struct baton_node *n)
{
    return is_leader(n) && n->raft.commit == baton_raft_last_index(&n->raft) &&
           n->grants_applied == n->raft.commit &&
           n->grant_refused_at != n->raft.commit;
}

/* Leader: the quorum app to grant anew and to whom (false: none). Only
 * once everything in the log is committed and applied, and once every
 * lease it answered for the app has run out, drift included (§4.3; a
 * new leader answered none, and the old leader's ended before its
 * election). */
static bool grant_wanted(const struct baton_node *n,
                         unsigned *app,
                         unsigned *owner)
{
    if (!may_propose(n)) {
        return false;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        unsigned t;
        if (n->cfg.apps[i].mode != BATON_APP_QUORUM) {
            continue;
        }
        t = placed(n, i);
        if (t != BATON_NODE_NONE && n->now_ms >= n->lease_given[i] &&
            (t != n->grants[i].owner || spent(n, i))) {
            *app = i;
            *owner = t;
            return true;
        }
    }
    return false;
}

/* Leader: a purge due (quorum.md §6): the owner and life of a name
 * whose holder's life this leader knows to be over (the node spoke in
 * a newer life, or was declared down after it was heard). A leader
 * that has not heard a node yet purges nothing of it: after a restart
 * of the leader alone, names stay until their node's fate is known.
 * Proposed like grants: one at a time, on a log wholly applied. */
static bool purge_wanted(const struct baton_node *n,
                         unsigned *owner,
                         baton_inc *inc)
{
    if (!may_propose(n)) {
        return false;
    }
    for (unsigned k = 0; k < BATON_QNAMES_MAX; k++) {
        const struct baton_qname *q = &n->qnames[k];
        bool lost;
        if (q->name[0] == '\0') {
            continue;
        }
        lost = q->owner == n->cfg.self ? q->inc != n->inc
                                       : n->peers[q->owner].heard &&
                                             (n->peers[q->owner].inc > q->inc ||
                                              !n->peers[q->owner].alive);
        if (lost) {
            *owner = q->owner;
            *inc = q->inc;
            return true;
        }
    }
    return false;
}

/* ---- leases (quorum.md §4.2) ------------------------------------------
 *
 * Renewals ride on Raft's append acks, answers on a message of the same
 * shape (no new field on the wire): an APPEND_RESP carries in `commit`
 * its sender's clock when it left (s_o). The leader answers a follower
 * that owns quorum apps with an APPEND_RESP marked `pre` (meaningless
 * for an ack): sent_ms = s_o, commit = D = what is left of its
 * leadership lease, index = a bit per app of cfg.apps the lease covers
 * (the apps granted to it that the placement rule keeps there). For app
 * a the owner's lease ends at s_o + min(L_a, D)·(1 − ρ) on its clock;
 * the leader takes no new owner for a before now + min(L_a, D)·(1 + ρ)
 * on its own. A leader that owns apps holds them under its leadership
 * lease (capped at L). */

static uint64_t scaled(uint64_t ms, const struct baton_node *n, bool up)
{
    uint64_t ppm = n->raft.cfg.drift_ppm;

    return up ? ms + (ms * ppm + 999999) / 1000000 : ms - ms * ppm / 1000000;
}

/* Leader: the apps of cfg.apps whose lease it renews for node o. */
static uint32_t renewable(const struct baton_node *n, unsigned o)
{
    uint32_t mask = 0;

    if (grant_in_flight(n) || n->grants_applied != n->raft.commit) {
        /* A grant may be under way (or a new leader's no-op): the table
         * may be about to change, and a grant's proposal is decided on
         * every lease answered before it. */
        return 0;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (n->cfg.apps[i].mode == BATON_APP_QUORUM &&
            n->grants[i].owner == o && placed(n, i) == o && !spent(n, i)) {
            mask |= UINT32_C(1) << i;
        }
    }
    return mask;
}

/* Leader: an ack from follower f left it at s_o (its clock): answer
 * with a lease for the apps it owns. */
static void answer(struct baton_node *n, unsigned f, uint64_t s_o)
{
    uint64_t end = baton_raft_lease_end(&n->raft);
    uint32_t mask = renewable(n, f);
    struct baton_msg m;

    if (end <= n->now_ms || mask == 0) {
        return;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (mask >> i & 1u) {
            uint64_t d = BATON_MIN(n->cfg.apps[i].lease_ms, end - n->now_ms);
            n->lease_given[i] =
                BATON_MAX(n->lease_given[i], n->now_ms + scaled(d, n, true));
        }
    }
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_RAFT;
    m.u.raft.m.type = BATON_RAFT_APPEND_RESP;
    m.u.raft.m.pre = true;
    m.u.raft.m.ok = true;
    m.u.raft.m.from = (uint8_t)n->cfg.self;
    m.u.raft.m.to = (uint8_t)f;
    m.u.raft.m.term = n->raft.term;
    m.u.raft.m.index = mask;
    m.u.raft.m.commit = end - n->now_ms;
    m.u.raft.m.sent_ms = s_o;
    baton__send(n, f, &m);
}

/* Owner: the leader's answer to its ack sent at sent_ms. */
static void on_answer(struct baton_node *n, const struct baton_raft_msg *r)
{
    if (n->raft.role != BATON_RAFT_FOLLOWER || n->raft.leader != r->from ||
        r->term != n->raft.term || r->sent_ms > n->now_ms) {
        return;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        uint64_t d;
        if (!(r->index >> i & 1u) || n->cfg.apps[i].mode != BATON_APP_QUORUM ||
            n->grants[i].owner != n->cfg.self || n->grants[i].inc != n->inc) {
            continue;
        }
        d = BATON_MIN(n->cfg.apps[i].lease_ms, r->commit);
        n->lease_end[i] =
            BATON_MAX(n->lease_end[i], r->sent_ms + scaled(d, n, false));
    }
}

/* The app trace's kind for a kill at lease end (trace.c formats it;
 * apps.c's kinds are 1-11). */
#define TRACE_APP_KILLED 12

static void trace_kill(struct baton_node *n, unsigned i, uint64_t end)
{
    struct baton_trace *t = baton__trace(n, BATON_TRACE_APP, BATON_NODE_NONE);

    t->reason = TRACE_APP_KILLED;
    t->a = n->local[i].epoch;
    t->b = end;
    memcpy(t->app, n->cfg.apps[i].name, sizeof(t->app));
}

static void lease_effect(struct baton_node *n,
                         unsigned i,
                         unsigned action,
                         uint64_t until_ms)
{
    struct baton_app_effect a = {
        .action = (uint8_t)action,
        .app = (uint8_t)i,
        .from = BATON_NODE_NONE,
        .epoch = n->local[i].epoch,
        .until_ms = until_ms,
    };

    BATON_ASSERT(n->fx->n_app < BATON_FX_APP_MAX);
    n->fx->app[n->fx->n_app++] = a;
}

/* Self-fencing of app i's local instance (quorum.md §4.4). An instance
 * still there (starting, running, or told to stop) once its lease has
 * ended is killed, once: its stop hangs, or the node woke from a pause
 * past the lease's end. A lease granted elsewhere is over here
 * (lease_end 0): the leader moved it only after every lease it answered
 * had run out. While the instance lives, the driver learns its lease's
 * end whenever it moves on by half the stop margin: the value it holds
 * is never past the true end, and at most half the margin short of it,
 * so its own timer (the shim's) never fires before the STOP is due. */
static void fence(struct baton_node *n, unsigned i)
{
    struct baton_local_app *l = &n->local[i];
    uint64_t end = n->lease_end[i];
    uint64_t step = n->cfg.apps[i].stop_margin_ms / 2;

    if (l->run == BATON_LOCAL_IDLE) {
        return;
    }
    if (n->now_ms >= end && !l->killed) {
        l->killed = true;
        lease_effect(n, i, BATON_APP_KILL, end);
        trace_kill(n, i, end);
        return;
    }
    if (end > n->now_ms && (l->lease_told == 0 || end < l->lease_told ||
                            end - l->lease_told >= BATON_MAX(step, 1))) {
        l->lease_told = end;
        lease_effect(n, i, BATON_APP_LEASE, end);
    }
}

void baton__quorum_leases(struct baton_node *n)
{
    uint64_t lead_end = is_leader(n) ? baton_raft_lease_end(&n->raft) : 0;

    if (!n->quorum || n->fx == NULL) {
        return;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        const struct baton_app_config *c = &n->cfg.apps[i];
        struct baton_local_app *l = &n->local[i];
        bool mine =
            n->grants[i].owner == n->cfg.self && n->grants[i].inc == n->inc;
        uint64_t stop_at;
        if (c->mode != BATON_APP_QUORUM) {
            continue;
        }
        if (mine && lead_end > n->now_ms &&
            (renewable(n, n->cfg.self) >> i & 1u)) {
            /* Its own leadership lease, already discounted for drift. */
            uint64_t end = BATON_MIN(lead_end, n->now_ms + c->lease_ms);
            n->lease_end[i] = BATON_MAX(n->lease_end[i], end);
            n->lease_given[i] = BATON_MAX(n->lease_given[i], n->lease_end[i]);
        }
        if (!mine) {
            n->lease_end[i] = 0; /* granted elsewhere: it is over here */
        }
        stop_at = n->lease_end[i] > c->stop_margin_ms
                      ? n->lease_end[i] - c->stop_margin_ms
                      : 0;
        if ((l->run == BATON_LOCAL_STARTING || l->run == BATON_LOCAL_RUNNING) &&
            (n->now_ms >= stop_at || l->epoch != n->grants[i].epoch)) {
            baton__apps_local(n, i, false, l->epoch);
        } else if (l->run == BATON_LOCAL_IDLE && mine && n->raft_stored &&
                   !l->failed && n->now_ms < stop_at &&
                   n->grants[i].epoch > l->last) {
            baton__apps_local(n, i, true, n->grants[i].epoch);
            l->killed = false;
            l->lease_told = 0;
        }
    }
}

void baton__quorum_fence(struct baton_node *n)
{
    if (!n->quorum || n->fx == NULL) {
        return;
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        if (n->cfg.apps[i].mode == BATON_APP_QUORUM) {
            fence(n, i);
        }
    }
}

static bool wants_quorum(const struct baton_node_config *cfg)
{
    for (unsigned i = 0; i < cfg->n_apps; i++) {
        if (cfg->apps[i].mode == BATON_APP_QUORUM) {
            return true;
        }
    }
    return false;
}

/* ---- snapshots of the grant table (quorum.md §3) ---------------------
 *
 * The tables are all the state the log builds, so a snapshot of them as
 * of an applied index lets the log drop the entries up to there. Layout
 * (little-endian): a head (version, the number of grant records, the
 * number of name records in two bytes, four zero bytes), then per
 * granted app a record: owner, seven zero bytes, the owner's life, the
 * epoch, the app's name padded with zeros to BATON_APP_NAME_MAX + 1
 * bytes; then per quorum name a record: owner, seven zero bytes, the
 * owner's life, the endpoint, the epoch, the name padded with zeros to
 * BATON_GNAME_MAX + 1 bytes. Version 1 (before quorum names) has no
 * name records and is still read. */
#define SNAP_VERSION 2
#define SNAP_QINC 8
#define SNAP_QEP 16
#define SNAP_QEPOCH 24
#define SNAP_QNAME 32
_Static_assert(SNAP_QNAME + BATON_GNAME_MAX + 1 == BATON_QUORUM_SNAP_QNAME,
               "a name record's fields fill it");
_Static_assert(BATON_QUORUM_SNAP_MAX <= BATON_RAFT_SNAPSHOT_MAX,
               "a full snapshot fits one SNAPSHOT message");
#define SNAP_INC 8
#define SNAP_EPOCH 16
#define SNAP_NAME 24
_Static_assert(SNAP_NAME + BATON_APP_NAME_MAX + 1 == BATON_QUORUM_SNAP_RECORD,
               "a record's fields fill it");

static uint32_t snap_encode(const struct baton_node *n, uint8_t *buf)
{
    uint32_t len = BATON_QUORUM_SNAP_HEAD;

    memset(buf, 0, BATON_QUORUM_SNAP_MAX);
    buf[0] = SNAP_VERSION;
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        const struct baton_grant *g = &n->grants[i];
        uint8_t *r = buf + len;
        if (g->epoch == 0) {
            continue;
        }
        r[0] = g->owner;
        put64(r + SNAP_INC, g->inc);
        put64(r + SNAP_EPOCH, g->epoch);
        memcpy(r + SNAP_NAME, n->cfg.apps[i].name,
               strnlen(n->cfg.apps[i].name, BATON_APP_NAME_MAX));
        buf[1]++;
        len += BATON_QUORUM_SNAP_RECORD;
    }
    for (unsigned k = 0; k < BATON_QNAMES_MAX; k++) {
        const struct baton_qname *q = &n->qnames[k];
        uint8_t *r = buf + len;
        if (q->name[0] == '\0') {
            continue;
        }
        r[0] = q->owner;
        put64(r + SNAP_QINC, q->inc);
        put64(r + SNAP_QEP, q->endpoint);
        put64(r + SNAP_QEPOCH, q->epoch);
        memcpy(r + SNAP_QNAME, q->name, strlen(q->name));
        len += BATON_QUORUM_SNAP_QNAME;
    }
    buf[2] = (uint8_t)(n->n_qnames & 0xff);
    buf[3] = (uint8_t)(n->n_qnames >> 8);
    return len;
}

/* The number of name records of a snapshot (none in version 1), and
 * the k-th. */
static uint32_t snap_qnames(const uint8_t *data)
{
    return data[0] == 1 ? 0 : (uint32_t)data[2] | (uint32_t)data[3] << 8;
}

static const uint8_t *snap_qrecord(const uint8_t *data, uint32_t k)
{
    return data + BATON_QUORUM_SNAP_HEAD +
           (uint32_t)data[1] * BATON_QUORUM_SNAP_RECORD +
           k * BATON_QUORUM_SNAP_QNAME;
}

/* Is data a snapshot of a table as of index (each record's name ends
 * with a zero, its owner a node or none, its epoch within the index)?
 * A peer's snapshot is checked before the group installs it: once
 * installed there is no going back to the entries it replaced. */
static bool snap_valid(const struct baton_node *n,
                       const uint8_t *data,
                       uint32_t len,
                       uint64_t index)
{
    uint32_t nq;

    if (data == NULL || len < BATON_QUORUM_SNAP_HEAD ||
        len > BATON_QUORUM_SNAP_MAX ||
        (data[0] != SNAP_VERSION && data[0] != 1) || data[1] > BATON_APPS_MAX) {
        return false;
    }
    nq = snap_qnames(data);
    if (nq > BATON_QNAMES_MAX ||
        len != BATON_QUORUM_SNAP_HEAD +
                   (uint32_t)data[1] * BATON_QUORUM_SNAP_RECORD +
                   nq * BATON_QUORUM_SNAP_QNAME) {
        return false;
    }
    for (uint32_t k = 0; k < nq; k++) {
        const uint8_t *r = snap_qrecord(data, k);
        uint64_t epoch = get64(r + SNAP_QEPOCH);
        if (r[SNAP_QNAME] == 0 || r[SNAP_QNAME + BATON_GNAME_MAX] != 0 ||
            r[0] >= n->cfg.n_nodes || epoch == 0 || epoch > index) {
            return false;
        }
    }
    for (unsigned k = 0; k < data[1]; k++) {
        const uint8_t *r =
            data + BATON_QUORUM_SNAP_HEAD + k * BATON_QUORUM_SNAP_RECORD;
        uint64_t epoch = get64(r + SNAP_EPOCH);
        if (r[SNAP_NAME + BATON_APP_NAME_MAX] != 0 ||
            (r[0] >= n->cfg.n_nodes && r[0] != BATON_NODE_NONE) || epoch == 0 ||
            epoch > index) {
            return false;
        }
    }
    return true;
}

/* Replaces the table with a valid snapshot's, as of index, and keeps
 * the snapshot to send on. Apps this node does not define are skipped,
 * as their grants are. */
static void snap_restore(struct baton_node *n,
                         const uint8_t *data,
                         uint32_t len,
                         uint64_t index)
{
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        memset(&n->grants[i], 0, sizeof(n->grants[i]));
        n->grants[i].owner = BATON_NODE_NONE;
    }
    for (unsigned k = 0; k < data[1]; k++) {
        const uint8_t *r =
            data + BATON_QUORUM_SNAP_HEAD + k * BATON_QUORUM_SNAP_RECORD;
        unsigned app = app_named(n, r + SNAP_NAME);
        if (app == BATON_NODE_NONE) {
            continue;
        }
        n->grants[app].owner = r[0];
        n->grants[app].inc = get64(r + SNAP_INC);
        n->grants[app].epoch = get64(r + SNAP_EPOCH);
    }
    memset(n->qnames, 0, sizeof(n->qnames));
    n->n_qnames = snap_qnames(data);
    for (uint32_t k = 0; k < n->n_qnames; k++) {
        const uint8_t *r = snap_qrecord(data, k);
        struct baton_qname *q = &n->qnames[k];
        q->owner = r[0];
        q->inc = get64(r + SNAP_QINC);
        q->endpoint = get64(r + SNAP_QEP);
        q->epoch = get64(r + SNAP_QEPOCH);
        memcpy(q->name, r + SNAP_QNAME, BATON_GNAME_MAX + 1);
    }
    n->grants_applied = index;
    memcpy(n->snap, data, len);
    n->snap_len = len;
    n->snap_index = index;
}

/* The snapshot held now goes to the driver's store (before the step's
 * write), and the group may compact the log up to it. */
static void snap_saved(struct baton_node *n, uint64_t term)
{
    n->fx->raft_snapshot.index = n->snap_index;
    n->fx->raft_snapshot.term = term;
    n->fx->raft_snapshot.data = n->snap;
    n->fx->raft_snapshot.len = n->snap_len;
    baton_raft_snapshot_taken(&n->raft, n->snap_index);
}

/* Takes a snapshot of the table once enough entries were applied since
 * the last. Only of entries this node has durable: the store keeps the
 * entries after a snapshot only if it holds the one at its index. */
static void snap_take(struct baton_node *n)
{
    uint64_t every = n->cfg.raft_snap_every != 0 ? n->cfg.raft_snap_every
                                                 : BATON_QUORUM_SNAP_EVERY;
    uint64_t x = n->grants_applied;
    const struct baton_raft_entry *e;

    if (x < n->snap_index + every || x > n->raft.durable_index) {
        return;
    }
    e = baton_raft_entry_at(&n->raft, x);
    BATON_ASSERT(e != NULL); /* compacted only up to snap_index < x */
    n->snap_len = snap_encode(n, n->snap);
    n->snap_index = x;
    snap_saved(n, e->term);
    n->counters.raft_snaps_taken++;
}

/* Sends the group's messages, hands its write to the driver, and traces
 * a change of leader or term. */
static void carry(struct baton_node *n)
{
    const struct baton_raft_effects *rfx = &n->raft_fx;
    struct baton_effects *fx = n->fx;
    bool sending = false;

    for (unsigned k = 0; k < rfx->n_msgs; k++) {
        struct baton_msg m;
        const struct baton_raft_msg *r = &rfx->msgs[k];
        if (r->to >= n->cfg.n_nodes || r->to == n->cfg.self) {
            continue;
        }
        /* It points into n->snap: no new snapshot this step. */
        sending = sending || r->type == BATON_RAFT_SNAPSHOT;
        memset(&m, 0, sizeof(m));
        m.type = BATON_MSG_RAFT;
        m.u.raft.m = *r;
        m.u.raft.m.from = (uint8_t)n->cfg.self;
        if (r->type == BATON_RAFT_APPEND_RESP) {
            m.u.raft.m.commit = n->now_ms; /* a lease renewal: s_o */
        }
        baton__send(n, r->to, &m);
        n->counters.raft_sent++;
    }
    fx->raft_write = rfx->write;
    if (rfx->write.seq != 0) {
        n->counters.raft_writes++;
    }
    if (n->raft.role != n->raft_role || n->raft.term != n->raft_term) {
        struct baton_trace *t = baton__trace(
            n, BATON_TRACE_RAFT,
            n->raft.leader >= 0 ? (unsigned)n->raft.leader : BATON_NODE_NONE);
        t->role = n->raft.role;
        t->a = n->raft.term;
        t->b = n->raft.commit;
        n->raft_role = n->raft.role;
        n->raft_term = n->raft.term;
    }
    /* A snapshot installed replaces the table (the group checked it is
     * newer than anything applied), then the entries after it apply. */
    if (rfx->install.set) {
        snap_restore(n, rfx->install.data, rfx->install.len,
                     rfx->install.index);
        snap_saved(n, rfx->install.term);
        n->counters.raft_snaps_installed++;
    }
    apply_grants(n);
    if (!rfx->install.set && !sending) {
        snap_take(n);
    }
    /* Followers that lack compacted entries get the snapshot, one per
     * step (baton__quorum_event). */
    n->snap_wanted = is_leader(n) ? n->snap_wanted | rfx->want_snapshot : 0;
}

int baton__quorum_init(struct baton_node *n, uint64_t seed)
{
    struct baton_raft_config rc;
    struct baton_raft_disk empty;
    int rv;

    n->quorum = wants_quorum(&n->cfg);
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        n->grants[i].owner = BATON_NODE_NONE;
        n->grants[i].epoch = 0;
    }
    n->grants_applied = 0;
    n->grant_refused_at = 0;
    memset(n->qnames, 0, sizeof(n->qnames));
    n->n_qnames = 0;
    n->n_qpend = 0;
    n->snap_len = 0;
    n->snap_index = 0;
    n->snap_wanted = 0;
    memset(n->lease_end, 0, sizeof(n->lease_end));
    memset(n->lease_given, 0, sizeof(n->lease_given));
    n->raft_stored = n->cfg.raft_disk != NULL;
    if (!n->quorum) {
        return 0;
    }
    memset(&rc, 0, sizeof(rc));
    rc.self = n->cfg.self;
    rc.n_nodes = n->cfg.n_nodes;
    /* Every node votes, witnesses included (quorum.md §1). */
    rc.voters =
        n->cfg.n_nodes == 32 ? UINT32_MAX : (UINT32_C(1) << n->cfg.n_nodes) - 1;
    /* Leader stickiness spans the failure detector's window: a voter that
     * heard the leader within it takes it to be alive (quorum.md §4). */
    rc.election_min_ms = n->cfg.heartbeat_ms * n->cfg.heartbeat_miss;
    rc.heartbeat_ms = n->cfg.heartbeat_ms;
    rc.drift_ppm = n->cfg.max_drift_ppm;
    rc.log_room = n->cfg.raft_log_room;
    if (n->cfg.raft_disk != NULL && n->cfg.raft_disk->snap_index > 0) {
        /* The store's log starts after its snapshot: without the table
         * as of there, the grants it held would be lost. */
        if (!snap_valid(n, n->cfg.raft_snap, n->cfg.raft_snap_len,
                        n->cfg.raft_disk->snap_index)) {
            return BATON_EINVAL;
        }
        snap_restore(n, n->cfg.raft_snap, n->cfg.raft_snap_len,
                     n->cfg.raft_disk->snap_index);
    }
    memset(&empty, 0, sizeof(empty));
    empty.vote = -1;
    /* A seed of its own, so that the group's randomness does not shift
     * the node's (and every available-mode schedule) when it is on. */
    rv = baton_raft_init(
        &n->raft, &rc, n->cfg.raft_disk != NULL ? n->cfg.raft_disk : &empty,
        seed ^ UINT64_C(0x9e3779b97f4a7c15), n->now_ms, &n->raft_fx);
    n->raft_role = n->raft.role;
    n->raft_term = n->raft.term;
    return rv;
}

int baton__quorum_event(struct baton_node *n, const struct baton_event *ev)
{
    unsigned app, owner;
    baton_inc inc;
    uint8_t buf[QNAME_LEN > GRANT_LEN ? QNAME_LEN : GRANT_LEN];
    uint32_t len = 0;
    int rv;

    if (!n->quorum) {
        /* Without a quorum app there is no group: a confirmation can
         * only be a driver's mistake. */
        return ev->type == BATON_EVENT_PERSISTED ? BATON_EINVAL : 0;
    }
    qname_expire(n);
    switch (ev->type) {
    case BATON_EVENT_TICK:
        /* One call of the group per step (its effects are the step's):
         * a snapshot due to a follower is sent, or a grant or a purge
         * due is proposed, instead of the tick, which the group then asks for
         * again a millisecond later. */
        if (is_leader(n) && n->snap_wanted != 0) {
            unsigned to = (unsigned)__builtin_ctz(n->snap_wanted);
            n->snap_wanted &= ~(UINT32_C(1) << to);
            rv = baton_raft_send_snapshot(&n->raft, n->now_ms, to, n->snap,
                                          n->snap_len, &n->raft_fx);
            if (rv != 0) {
                rv = baton_raft_tick(&n->raft, n->now_ms, &n->raft_fx);
            }
            break;
        }
        if (grant_wanted(n, &app, &owner)) {
            len = grant_encode(buf, n->cfg.apps[app].name, owner,
                               n->state.nodes[owner].inc);
        } else if (purge_wanted(n, &owner, &inc)) {
            len = qname_encode(buf, QNAME_PURGE, owner, inc, 0, "");
        }
        if (len != 0) {
            uint64_t index;
            rv = baton_raft_propose(&n->raft, n->now_ms, buf, len, &index,
                                    &n->raft_fx);
            if (rv != 0) {
                n->grant_refused_at = n->raft.commit;
                rv = baton_raft_tick(&n->raft, n->now_ms, &n->raft_fx);
            }
            break;
        }
        rv = baton_raft_tick(&n->raft, n->now_ms, &n->raft_fx);
        break;
    case BATON_EVENT_PERSISTED:
        rv = baton_raft_persisted(&n->raft, n->now_ms, ev->seq, &n->raft_fx);
        break;
    default:
        return 0;
    }
    if (rv == 0) {
        carry(n);
    }
    return rv;
}

void baton__quorum_on_msg(struct baton_node *n, const struct baton_msg *m)
{
    if (!n->quorum) {
        return; /* a peer with a quorum app: the app is refused anyway */
    }
    n->counters.raft_received++;
    if (m->u.raft.m.type == BATON_RAFT_SNAPSHOT &&
        !snap_valid(n, m->u.raft.m.data, m->u.raft.m.len, m->u.raft.m.index)) {
        return; /* not a table: never installed (see snap_valid) */
    }
    if (m->u.raft.m.type == BATON_RAFT_APPEND_RESP && m->u.raft.m.pre) {
        on_answer(n, &m->u.raft.m);
        return;
    }
    if (baton_raft_receive(&n->raft, n->now_ms, &m->u.raft.m, &n->raft_fx) ==
        0) {
        carry(n);
    }
    if (m->u.raft.m.type == BATON_RAFT_APPEND_RESP && is_leader(n) &&
        m->u.raft.m.term == n->raft.term && m->u.raft.m.commit != 0) {
        answer(n, m->from, m->u.raft.m.commit);
    }
}

uint64_t baton__quorum_deadline(const struct baton_node *n)
{
    unsigned app, owner;
    baton_inc inc;
    uint64_t d = UINT64_MAX;

    if (!n->quorum) {
        return UINT64_MAX;
    }
    for (unsigned k = 0; k < n->n_qpend; k++) {
        d = BATON_MIN(d, n->qpend[k].until_ms);
    }
    if (grant_wanted(n, &app, &owner) || purge_wanted(n, &owner, &inc) ||
        (is_leader(n) && n->snap_wanted != 0)) {
        return n->now_ms + 1; /* proposed or sent at the next tick */
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        /* A lease to stop under (its end less the margin), and for a
         * leader the end of what it answered (a grant may move then). */
        uint64_t m = n->cfg.apps[i].stop_margin_ms;
        uint64_t stop = n->lease_end[i] > m ? n->lease_end[i] - m : 0;
        if (stop > n->now_ms) {
            d = BATON_MIN(d, stop);
        }
        /* The kill at the lease's end, for an instance not gone by then
         * (quorum.md §4.4). */
        if (n->local[i].run != BATON_LOCAL_IDLE && !n->local[i].killed &&
            n->lease_end[i] > n->now_ms) {
            d = BATON_MIN(d, n->lease_end[i]);
        }
        if (is_leader(n) && n->lease_given[i] > n->now_ms) {
            d = BATON_MIN(d, n->lease_given[i]);
        }
    }
    if (n->raft_fx.deadline_ms == 0) {
        return d;
    }
    /* A deadline already reached (the group was last called before it,
     * on another event) is due at once: the next millisecond. */
    return BATON_MIN(d, BATON_MAX(n->raft_fx.deadline_ms, n->now_ms + 1));
}

unsigned baton_node_raft_leader(const struct baton_node *n)
{
    return n->quorum && n->raft.leader >= 0 ? (unsigned)n->raft.leader
                                            : BATON_NODE_NONE;
}

uint64_t baton_node_raft_term(const struct baton_node *n)
{
    return n->quorum ? n->raft.term : 0;
}

uint64_t baton_node_raft_commit(const struct baton_node *n)
{
    return n->quorum ? n->raft.commit : 0;
}

unsigned baton_node_grant(const struct baton_node *n,
                          unsigned app,
                          uint64_t *epoch)
{
    bool set = n->quorum && app < n->cfg.n_apps;

    if (epoch != NULL) {
        *epoch = set ? n->grants[app].epoch : 0;
    }
    return set ? n->grants[app].owner : BATON_NODE_NONE;
}

uint64_t baton_node_lease_end(const struct baton_node *n, unsigned app)
{
    return n->quorum && app < n->cfg.n_apps ? n->lease_end[app] : 0;
}
