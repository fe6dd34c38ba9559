/* Distributed apps: where each app runs, decided by the coordinator as an
 * explicit state machine with deadlines, and carried out by every node.
 * See docs/design/apps.md.
 *
 * Division of truth:
 *  - the replicated state holds each app's decision (status, owner,
 *    epoch, start type, from, takeover's previous owner);
 *  - each node is the truth about its own instances, its permission and
 *    whether the app failed there; it reports that to its coordinator,
 *    which holds the latest report of every member (volatile: a new
 *    coordinator simply collects them again).
 * Every node runs an app exactly when the state says it owns it (or is
 * the old owner during a takeover), and stops it otherwise: that one rule
 * completes takeovers and resolves duplicates after a heal. */
#include "../util/setup.h"

#include <string.h>

#include "../util/assert.h"
#include "internal.h"

enum app_trace {
    TR_DECIDED = 1, /* the coordinator set a new status */
    TR_START,       /* this node starts its instance */
    TR_STOP,        /* this node stops its instance */
    TR_READY,       /* the local instance is running */
    TR_FAILED,      /* the local instance failed here */
    TR_EXITED,      /* the local instance ended normally */
    TR_REFUSED,     /* definitions differ between nodes */
    TR_TOKEN,       /* the local instance has a new token */
    TR_KEPT,        /* definitions differ: kept where it runs */
    TR_DEFINED,     /* defined here at run time */
    TR_REMOVED,     /* removed here at run time */
    /* 12: quorum.c's kill at lease end (TRACE_APP_KILLED) */
};

static void trace_app(struct baton_node *n, unsigned kind, const char *name,
                      unsigned node, uint64_t epoch, uint64_t b, uint64_t c)
{
    struct baton_trace *t = baton__trace(n, BATON_TRACE_APP, node);

    t->reason = (uint8_t)kind;
    t->a = epoch;
    t->b = b;
    t->c = c;
    memcpy(t->app, name, sizeof(t->app));
}

/* ---- reports: this node's truth --------------------------------------- */

static void fill_report(const struct baton_node *n, struct baton_app_reports *r)
{
    memset(r, 0, sizeof(*r));
    if (n->cfg.apps_held) {
        return; /* still syncing: it defines nothing yet */
    }
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        const struct baton_app_config *c = &n->cfg.apps[i];
        const struct baton_local_app *l = &n->local[i];
        struct baton_app_report *p;
        if (baton_node_app_gone(n, i)) {
            continue; /* removed here, and no instance left (§1.1) */
        }
        p = &r->r[r->n++];
        memcpy(p->name, c->name, sizeof(p->name));
        memcpy(p->rank, c->rank, sizeof(p->rank));
        p->failover_timeout_ms = c->failover_timeout_ms;
        p->mode = c->mode;
        p->lease_ms = c->lease_ms;
        p->stop_margin_ms = c->stop_margin_ms;
        p->flags =
            (uint8_t)((l->permit && !l->removed ? BATON_REPORT_PERMIT : 0) |
                      (l->failed ? BATON_REPORT_FAILED : 0) |
                      (l->wants ? BATON_REPORT_WANTS : 0));
        p->run = l->run;
        p->epoch = l->run == BATON_LOCAL_IDLE ? 0 : l->epoch;
        p->exited = l->exited;
        p->last = l->last;
    }
}

/* Sends this node's report to its coordinator (or files it, if this node
 * coordinates). Called when something changed and with every heartbeat,
 * so a lost report is repaired within one interval. */
/* Does this node place apps from the reports it is sent: the
 * coordinator (available apps), or the Raft group's leader (quorum
 * apps' grants, quorum.md §4.2)? */
static bool takes_reports(const struct baton_node *n)
{
    return n->role == BATON_ROLE_COORDINATOR ||
           (n->quorum && n->raft.role == BATON_RAFT_LEADER);
}

/* Sends this node's report to its coordinator (or files it, if this node
 * coordinates), and to the Raft leader if that is another node: the
 * leader grants quorum apps by the same reports. Called when something
 * changed and with every heartbeat, so a lost report is repaired within
 * one interval. */
void baton__apps_report(struct baton_node *n, bool force)
{
    struct baton_msg m;
    unsigned leader = baton_node_raft_leader(n);

    if (!force && !n->report_dirty) {
        return;
    }
    if (takes_reports(n)) {
        struct baton_report_slot *slot = &n->reports[n->cfg.self];
        slot->inc = n->inc;
        slot->seq = n->seq;
        fill_report(n, &slot->rep);
    }
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_REPORT;
    fill_report(n, &m.u.report);
    if (leader != BATON_NODE_NONE && leader != n->cfg.self &&
        (force || n->role == BATON_ROLE_FOLLOWER ||
         n->role == BATON_ROLE_COORDINATOR) &&
        (n->role != BATON_ROLE_FOLLOWER || leader != n->target)) {
        baton__send(n, leader, &m);
    }
    if (n->role == BATON_ROLE_COORDINATOR) {
        n->report_dirty = false;
        return;
    }
    if (n->role != BATON_ROLE_FOLLOWER ||
        (n->cfg.n_apps == 0 && !force)) {
        return;
    }
    baton__send(n, n->target, &m);
    n->report_dirty = false;
}

void baton__apps_on_report(struct baton_node *n, const struct baton_msg *m)
{
    struct baton_report_slot *slot = &n->reports[m->from];

    if (!takes_reports(n)) {
        return;
    }
    if (slot->inc == m->from_inc && m->seq <= slot->seq) {
        return; /* an older report overtaken by a newer one */
    }
    slot->inc = m->from_inc;
    slot->seq = m->seq;
    slot->rep = m->u.report;
}

/* A member joins (or leaves) the coordinator's group: whatever it
 * reported before is no evidence any more. */
void baton__apps_member(struct baton_node *n, unsigned p, bool joined)
{
    memset(&n->reports[p], 0, sizeof(n->reports[p]));
    n->joined_ms[p] = joined ? n->now_ms : 0;
    if (joined) {
        n->settings_to |= 1u << p; /* it gets the operator settings */
    }
}

/* A member whose report is still to come: it joined (or this claim
 * began) less than a heartbeat ago. Decisions that hinge on its report
 * wait for it rather than read its silence as "does not run the app". */
static bool pending(const struct baton_node *n, unsigned x)
{
    uint64_t since = BATON_MAX(n->claim_ms, n->joined_ms[x]);

    return x < n->cfg.n_nodes && n->state.nodes[x].member &&
           (n->reports[x].inc == 0 ||
            n->reports[x].inc != n->state.nodes[x].inc) &&
           n->now_ms < since + n->cfg.heartbeat_ms;
}

/* A member of whose current life no report has arrived at all yet: one
 * comes with each of its heartbeats, so its silence about an app means
 * nothing (unlike a report that does not list it). */
static bool unreported(const struct baton_node *n, unsigned x)
{
    return n->state.nodes[x].member &&
           n->reports[x].inc != n->state.nodes[x].inc;
}

const struct baton_app_report *baton__apps_report_of(
    const struct baton_node *n, unsigned node, const char *name)
{
    const struct baton_report_slot *slot = &n->reports[node];

    if (!n->state.nodes[node].member || slot->inc == 0 ||
        slot->inc != n->state.nodes[node].inc) {
        return NULL;
    }
    for (unsigned i = 0; i < slot->rep.n && i < BATON_APPS_MAX; i++) {
        if (strcmp(slot->rep.r[i].name, name) == 0) {
            return &slot->rep.r[i];
        }
    }
    return NULL;
}

static bool same_definition(const struct baton_app_report *r,
                            const struct baton_state_app *e)
{
    return r->failover_timeout_ms == e->failover_timeout_ms &&
           memcmp(r->rank, e->rank, sizeof(r->rank)) == 0;
}

/* ---- the coordinator's decisions --------------------------------------- */

static bool owner_alive(const struct baton_node *n, unsigned node,
                        baton_inc inc)
{
    return node < n->cfg.n_nodes && n->state.nodes[node].member &&
           n->state.nodes[node].inc == inc;
}

/* When this node's current life began. */
static uint64_t boot_ms(const struct baton_node *n)
{
    return n->boot_deadline_ms - n->cfg.sync_window_ms;
}

/* Until when a peer this node has not heard in that life may still be
 * alive: one detection window after this node booted. A coordinator
 * waits that long, or until the peer speaks, before it concludes
 * anything from its silence (issue 11 finding 8: a new coordinator that
 * had not heard a briefly frozen owner yet failed its app over). */
static uint64_t unknown_until(const struct baton_node *n)
{
    return boot_ms(n) + baton_node_down_after_ms(n);
}

/* Does a peer this node hears say, in its latest status, that it hears
 * node? Then node is alive behind a link this node lacks (a bridge:
 * docs/design/core.md §4.4, SWIM's indirect probes), in a group of its
 * own or none, and keeps its instances: starting another here would run
 * the app twice for as long as the bridge lasts. The peer need not be a
 * member: at the far end of a bridge this node leads a group of its own,
 * and the node in the middle follows the other side (scenario
 * bridge_owner_vouched_for_by_non_member). Its status is as fresh as its
 * last heartbeat, and a peer it stops hearing leaves its heard set within
 * one detection window. */
static bool vouched(const struct baton_node *n, unsigned node)
{
    for (unsigned m = 0; m < n->cfg.n_nodes; m++) {
        const struct baton_peer *peer = &n->peers[m];
        if (m != n->cfg.self && m != node && peer->alive &&
            (peer->status.heard >> node & 1u)) {
            return true;
        }
    }
    return false;
}

/* Is node's life inc out of this group but possibly alive: alive in
 * this node's view, heard by a member (vouched), or not heard yet within
 * the window above? Its apps then wait for it to join or to be lost;
 * failing them over would start a second instance (core.md §4.4). */
static bool away(const struct baton_node *n, unsigned node, baton_inc inc)
{
    const struct baton_peer *peer;

    if (node >= n->cfg.n_nodes || node == n->cfg.self ||
        owner_alive(n, node, inc)) {
        return false;
    }
    peer = &n->peers[node];
    if (peer->inc > inc) {
        return false; /* it restarted since: that instance is gone */
    }
    if (peer->inc == inc && peer->alive) {
        return true;
    }
    if (vouched(n, node)) {
        return true;
    }
    if (peer->inc == inc && peer->heard) {
        return false; /* declared down here, and nobody here hears it */
    }
    return n->now_ms < unknown_until(n);
}

/* A failover start from a lost node (prev_inc: the life lost), not yet
 * carried out: is that life heard again, here directly or through a
 * peer (vouched)? Then its instance may well still run, and the start
 * must not happen: the decision was taken while nobody heard it, and
 * reached this node after a heal (the long nemesis's one start while
 * another ran, docs/design/cluster.md §7). A newer life of it known here
 * means that instance is gone: the failover stands. */
static bool lost_heard_again(const struct baton_node *n,
                             const struct baton_state_app *e)
{
    unsigned f = e->from;

    if (e->status != BATON_APP_STARTING || e->type != BATON_START_FAILOVER ||
        e->prev_inc == 0 || f >= n->cfg.n_nodes || f == n->cfg.self ||
        n->peers[f].inc > e->prev_inc || n->state.nodes[f].inc > e->prev_inc) {
        return false;
    }
    return (n->peers[f].inc == e->prev_inc && n->peers[f].alive) ||
           vouched(n, f);
}

/* Operator settings (settings.c, apps.md §7): is node x in standby, is
 * app e disabled, and where is it pinned (BATON_NODE_NONE: nowhere)? */
static bool in_standby(const struct baton_node *n, unsigned x)
{
    return x < BATON_NODES_MAX && n->settings.standby[x] != 0;
}

static bool disabled(const struct baton_node *n,
                     const struct baton_state_app *e)
{
    const struct baton_app_setting *a =
        baton_settings_app(&n->settings, e->name);

    return a != NULL && a->disabled;
}

static unsigned pinned_to(const struct baton_node *n,
                          const struct baton_state_app *e)
{
    const struct baton_app_setting *a =
        baton_settings_app(&n->settings, e->name);

    return a != NULL ? a->pin : BATON_NODE_NONE;
}

/* Does node x, by its report r, let app e run there: permitted by its
 * operator (batonctl permit) and not in standby? */
static bool permitted(const struct baton_node *n,
                      const struct baton_app_report *r,
                      unsigned x)
{
    return (r->flags & BATON_REPORT_PERMIT) && !in_standby(n, x);
}

/* May app e be placed on node x (reference §1.4 step 1: loaded and
 * permitted), and has it not failed there? Never while the app is
 * disabled or the node in standby. */
static bool eligible(const struct baton_node *n,
                     const struct baton_state_app *e, unsigned x)
{
    const struct baton_app_report *r = baton__apps_report_of(n, x, e->name);

    return r != NULL && e->rank[x] != 0 && same_definition(r, e) &&
           permitted(n, r, x) && !(r->flags & BATON_REPORT_FAILED) &&
           !disabled(n, e);
}

/* The placement rule (reference §1.4): the first group, in priority
 * order, with an eligible node; inside it, stay where the app already
 * runs, else the node running the fewest apps, ties to the smallest
 * name. `skip` is never chosen. */
unsigned baton__apps_place(const struct baton_node *n,
                           const struct baton_state_app *e, unsigned skip)
{
    unsigned best = BATON_NODE_NONE;
    unsigned best_rank = 0;

    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        if (x != skip && eligible(n, e, x) &&
            (best_rank == 0 || e->rank[x] < best_rank)) {
            best_rank = e->rank[x];
        }
    }
    if (best_rank == 0) {
        return BATON_NODE_NONE;
    }
    if (baton_app_active(e) && e->owner != skip &&
        e->rank[e->owner] == best_rank && eligible(n, e, e->owner)) {
        return e->owner; /* never move inside a group */
    }
    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        unsigned lx, lb;
        if (x == skip || e->rank[x] != best_rank || !eligible(n, e, x)) {
            continue;
        }
        if (best == BATON_NODE_NONE) {
            best = x;
            continue;
        }
        lx = baton_state_apps_on(&n->state, x);
        lb = baton_state_apps_on(&n->state, best);
        if (lx < lb ||
            (lx == lb && n->state.name_rank[x] < n->state.name_rank[best])) {
            best = x;
        }
    }
    return best;
}

static void set_app(struct baton_node *n, unsigned k,
                    const struct baton_state_app *next)
{
    struct baton_op op;

    if (memcmp(next, &n->state.apps[k], sizeof(*next)) == 0) {
        return;
    }
    memset(&op, 0, sizeof(op));
    op.type = BATON_OP_APP;
    op.node = (uint8_t)k;
    op.app = *next;
    baton__submit(n, &op);
    trace_app(n, TR_DECIDED, next->name, next->owner, next->epoch,
              next->status, (uint64_t)next->type << 8 | next->from);
}

/* The next fencing token: (counter + 1) << 8 | owner, where the counter
 * never falls below the coordinator's incarnation. Two sides of a
 * partition that both start the app get different tokens (the owner is
 * in the low byte); every start on one side outranks the last one it
 * knew; and a cluster that lost all its state (every node restarted)
 * still counts from above its old tokens, because incarnations are boot
 * times in ms (docs/design/apps.md §4). */
static uint64_t next_epoch(const struct baton_node *n,
                           const struct baton_state_app *e, unsigned owner)
{
    const uint64_t mask = UINT64_MAX >> 8;
    uint64_t counter = BATON_MAX(e->epoch_max >> 8, n->inc & mask);

    /* Above every token a member has started it with (a node may come
     * from another lineage), and above the owner's boot time (its own
     * tokens from earlier lives). */
    counter = BATON_MAX(counter, n->state.nodes[owner].inc & mask);
    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        const struct baton_app_report *r = baton__apps_report_of(n, x, e->name);
        if (r != NULL) {
            counter = BATON_MAX(counter, r->last >> 8);
        }
    }
    return ((counter + 1) << 8) | (owner & 0xffu);
}

static bool has_instance(const struct baton_app_report *r)
{
    return r != NULL && r->epoch != 0 &&
           (r->run == BATON_LOCAL_RUNNING || r->run == BATON_LOCAL_STARTING);
}

/* A member, other than `owner`, that reports an instance of app e (an
 * eligible one only, if `usable`): the best-ranked one, a running one
 * before a starting one. */
static unsigned instance_elsewhere(const struct baton_node *n,
                                   const struct baton_state_app *e,
                                   unsigned owner, bool usable)
{
    unsigned best = BATON_NODE_NONE;
    bool best_ready = false;

    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        const struct baton_app_report *r = baton__apps_report_of(n, x, e->name);
        bool ready;
        if (x == owner || !has_instance(r) || (usable && !eligible(n, e, x))) {
            continue;
        }
        ready = r->run == BATON_LOCAL_RUNNING;
        if (best == BATON_NODE_NONE || e->rank[x] < e->rank[best] ||
            (e->rank[x] == e->rank[best] && ready && !best_ready)) {
            best = x;
            best_ready = ready;
        }
    }
    return best;
}

/* A new start: the fencing token moves up, cluster-wide. A node that
 * already has an instance (back from a partition, or from a history a
 * heal merged) keeps it: the app is adopted there under that instance's
 * token rather than started a second time. A failover from a lost node
 * names the life it was lost in (lost_inc, kept in prev_inc while the
 * start is under way): if that life is heard again before the new owner
 * starts, the failover is cancelled (core.md §4.4). */
static void assign(struct baton_node *n, unsigned k, unsigned owner,
                   unsigned type, unsigned from, baton_inc lost_inc)
{
    struct baton_state_app e = n->state.apps[k];
    const struct baton_app_report *r = baton__apps_report_of(n, owner, e.name);

    if (!has_instance(r)) {
        /* Another member already runs it (a lagging node started on an
         * assignment since replaced, a heal's loser not yet stopped):
         * it is adopted there rather than started a second time; the
         * placement rules then move it, by a takeover, if they must. */
        unsigned x = instance_elsewhere(n, &e, owner, true);
        if (x != BATON_NODE_NONE) {
            owner = x;
            r = baton__apps_report_of(n, x, e.name);
        }
    }

    if (has_instance(r)) {
        e.status = r->run == BATON_LOCAL_RUNNING ? BATON_APP_RUNNING
                                                 : BATON_APP_STARTING;
        e.owner = (uint8_t)owner;
        e.owner_inc = n->state.nodes[owner].inc;
        e.epoch = r->epoch;
        e.epoch_max = BATON_MAX(e.epoch_max, r->epoch);
        e.prev = BATON_NODE_NONE;
        e.prev_inc = 0;
        set_app(n, k, &e);
        return;
    }
    if ((r != NULL && r->run == BATON_LOCAL_STOPPING) ||
        (!has_instance(r) &&
         instance_elsewhere(n, &e, owner, false) != BATON_NODE_NONE)) {
        /* Decided again once that instance is gone (one told to stop,
         * on a node that may not run the app, reports in soon). */
        return;
    }

    e.status = BATON_APP_STARTING;
    e.owner = (uint8_t)owner;
    e.owner_inc = n->state.nodes[owner].inc;
    e.type = (uint8_t)type;
    e.from = (uint8_t)from;
    e.prev = BATON_NODE_NONE;
    e.prev_inc = type == BATON_START_FAILOVER ? lost_inc : 0;
    e.epoch = next_epoch(n, &e, owner);
    e.epoch_max = e.epoch;
    set_app(n, k, &e);
}

static void set_status(struct baton_node *n, unsigned k, unsigned status)
{
    struct baton_state_app e = n->state.apps[k];

    e.status = (uint8_t)status;
    if (!baton_app_active(&e) && status != BATON_APP_WAITING) {
        e.owner = BATON_NODE_NONE;
        e.owner_inc = 0;
    }
    if (status != BATON_APP_TAKEOVER) {
        e.prev = BATON_NODE_NONE;
        e.prev_inc = 0;
    }
    set_app(n, k, &e);
}

/* The owner is gone: start the failover timer (reference §1.6). */
static void lost(struct baton_node *n, unsigned k)
{
    struct baton_state_app e = n->state.apps[k];
    uint64_t t = e.failover_timeout_ms;

    e.from = e.owner;
    e.status = BATON_APP_WAITING;
    e.prev = BATON_NODE_NONE;
    e.prev_inc = 0;
    n->app_deadline_ms[k] = t == BATON_TIMEOUT_INFINITY ? UINT64_MAX
                                                       : n->now_ms + t;
    set_app(n, k, &e);
}

/* Has every live peer that could run app e reported since this claim
 * began? Until then (or one heartbeat), an unplaced app waits: placing it
 * on the first node heard would only mean a takeover a moment later. */
static bool settled(const struct baton_node *n)
{
    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        if (pending(n, x)) {
            return false;
        }
    }
    if (n->now_ms >= n->claim_ms + n->cfg.heartbeat_ms) {
        return true;
    }
    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        if (x != n->cfg.self && n->peers[x].alive &&
            !(n->state.nodes[x].member && n->reports[x].inc != 0 &&
              n->reports[x].inc == n->state.nodes[x].inc)) {
            return false;
        }
    }
    return true;
}

/* The node app e is pinned to: by batonctl move (the operator
 * settings' pin, while that node is eligible), else by batonctl
 * takeover on a node (its report): the owner if it pinned it, else the
 * first by name. */
static unsigned wanted_by(const struct baton_node *n,
                          const struct baton_state_app *e)
{
    unsigned w = pinned_to(n, e);

    if (w != BATON_NODE_NONE && w < n->cfg.n_nodes && eligible(n, e, w)) {
        return w;
    }
    w = BATON_NODE_NONE;

    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        const struct baton_app_report *r = baton__apps_report_of(n, x, e->name);
        if (r == NULL || !(r->flags & BATON_REPORT_WANTS) ||
            !eligible(n, e, x)) {
            continue;
        }
        if (x == e->owner) {
            return x;
        }
        if (w == BATON_NODE_NONE ||
            n->state.name_rank[x] < n->state.name_rank[w]) {
            w = x;
        }
    }
    return w;
}

static void decide_running(struct baton_node *n, unsigned k)
{
    const struct baton_state_app *e = &n->state.apps[k];
    const struct baton_app_report *r = baton__apps_report_of(n, e->owner, e->name);
    unsigned t;

    if (e->status == BATON_APP_STARTING && e->type == BATON_START_FAILOVER &&
        e->prev_inc != 0 &&
        (r == NULL || (r->run == BATON_LOCAL_IDLE && r->last < e->epoch)) &&
        (owner_alive(n, e->from, e->prev_inc) ||
         away(n, e->from, e->prev_inc))) {
        /* A failover from a lost node that has not started yet, and
         * that node's life is heard again (in the group, or alive to
         * this node or a peer): it is not lost, so the failover is
         * cancelled and the app waits on it again, as if the decision
         * had been taken a moment later (core.md §4.4). The new owner
         * does not start meanwhile: it checks the same (carry_out). */
        struct baton_state_app next = *e;
        next.status = BATON_APP_WAITING;
        next.owner = e->from;
        next.owner_inc = e->prev_inc;
        next.type = BATON_START_NORMAL;
        next.prev_inc = 0;
        n->app_deadline_ms[k] = 0; /* decide_waiting starts the timer over */
        set_app(n, k, &next);
        return;
    }
    if (away(n, e->owner, e->owner_inc)) {
        return; /* alive, not in the group yet: it joins or goes down */
    }
    if (!owner_alive(n, e->owner, e->owner_inc)) {
        lost(n, k);
        return;
    }
    if (r == NULL && (pending(n, e->owner) || unreported(n, e->owner))) {
        return; /* its report is on its way */
    }
    if (r == NULL || !same_definition(r, e) ||
        (r->flags & BATON_REPORT_FAILED)) {
        /* Crashed beyond its restarts (or no longer defined there):
         * fail over at once (OTP leaves it running nowhere, §1.9). */
        t = baton__apps_place(n, e, e->owner);
        if (t == BATON_NODE_NONE) {
            set_status(n, k, BATON_APP_FAILED);
        } else {
            assign(n, k, t, BATON_START_FAILOVER, e->owner, 0);
        }
        return;
    }
    if (r->exited != 0 && r->exited == e->epoch) {
        set_status(n, k, BATON_APP_STOPPED);
        return;
    }
    if (r->run == BATON_LOCAL_RUNNING && r->epoch != e->epoch &&
        r->epoch != 0) {
        /* The owner's word is the truth about its own instance (a heal
         * may have merged another history's decision into the state),
         * unless the state holds a new token for it that it has not
         * seen yet (below). */
        struct baton_state_app next = *e;
        if (e->status == BATON_APP_RUNNING && e->epoch > r->last &&
            (e->epoch & 0xffu) == e->owner) {
            return;
        }
        next.status = BATON_APP_RUNNING;
        next.epoch = r->epoch;
        next.epoch_max = BATON_MAX(e->epoch_max, r->epoch);
        set_app(n, k, &next);
        return;
    }
    if (e->status == BATON_APP_RUNNING && r->run == BATON_LOCAL_RUNNING &&
        e->epoch < e->epoch_max) {
        /* A token above this instance's was issued (the other side of a
         * healed partition, an aborted takeover): the instance that runs
         * gets a new one above all of them, without a restart, so that a
         * resource fencing on tokens accepts it and nothing older
         * (apps.md §4). */
        struct baton_state_app next = *e;
        next.epoch = next_epoch(n, e, e->owner);
        next.epoch_max = next.epoch;
        set_app(n, k, &next);
        return;
    }
    if (e->status == BATON_APP_STARTING) {
        if (r->run == BATON_LOCAL_RUNNING && r->epoch == e->epoch) {
            set_status(n, k, BATON_APP_RUNNING);
            return;
        }
        if (r->run != BATON_LOCAL_IDLE || r->last < e->epoch) {
            return; /* still starting (or about to) */
        }
        /* That instance came and went without getting ready (stopped by
         * an earlier decision): start again under a new token. */
    }
    if (r->run == BATON_LOCAL_IDLE) {
        /* Running by the state, gone by its owner's word: start it again
         * under a new token. */
        t = baton__apps_place(n, e, BATON_NODE_NONE);
        if (t == BATON_NODE_NONE) {
            set_status(n, k, BATON_APP_FAILED);
        } else {
            assign(n, k, t, BATON_START_NORMAL, BATON_NODE_NONE, 0);
        }
        return;
    }
    t = baton__apps_place(
        n, e, permitted(n, r, e->owner) ? BATON_NODE_NONE : e->owner);
    if (permitted(n, r, e->owner)) {
        unsigned w = wanted_by(n, e);
        if (w == e->owner) {
            return; /* pinned where it is */
        }
        if (w != BATON_NODE_NONE) {
            t = w; /* batonctl takeover on w */
        }
    }
    if (!permitted(n, r, e->owner) && t == BATON_NODE_NONE) {
        set_status(n, k, BATON_APP_IDLE); /* nowhere else: it stops */
        return;
    }
    if (t != BATON_NODE_NONE && t != e->owner &&
        (!permitted(n, r, e->owner) || e->rank[t] < e->rank[e->owner] ||
         t == wanted_by(n, e)) &&
        instance_elsewhere(n, e, e->owner, false) == BATON_NODE_NONE) {
        /* A higher-priority node is here (or this one is no longer
         * permitted): take the app over (reference §1.7) - but not while
         * a leftover instance elsewhere is still stopping: a move can
         * wait for it, and three instances at once would be one too
         * many. */
        struct baton_state_app next = *e;
        next.status = BATON_APP_TAKEOVER;
        next.prev = e->owner;
        next.prev_inc = e->owner_inc;
        next.owner = (uint8_t)t;
        next.owner_inc = n->state.nodes[t].inc;
        next.type = BATON_START_TAKEOVER;
        next.from = e->owner;
        next.epoch = next_epoch(n, e, t);
        next.epoch_max = next.epoch;
        set_app(n, k, &next);
    }
}

static void decide_takeover(struct baton_node *n, unsigned k)
{
    const struct baton_state_app *e = &n->state.apps[k];
    const struct baton_app_report *r = baton__apps_report_of(n, e->owner, e->name);
    bool prev_alive = owner_alive(n, e->prev, e->prev_inc);
    struct baton_state_app next = *e;

    if ((r == NULL && owner_alive(n, e->owner, e->owner_inc) &&
         pending(n, e->owner)) ||
        away(n, e->owner, e->owner_inc)) {
        return; /* its report is on its way, or it is about to join */
    }
    if (!owner_alive(n, e->owner, e->owner_inc) || r == NULL ||
        (r->flags & BATON_REPORT_FAILED) ||
        (r->run == BATON_LOCAL_IDLE && r->last >= e->epoch)) {
        /* The new owner is lost, failed, or its instance came and went
         * (stopped by an older decision): the old one, if alive and
         * still running, keeps the app, under its own instance's token
         * (epoch_max keeps the newer one). */
        const struct baton_app_report *rp = baton__apps_report_of(n, e->prev, e->name);
        if (prev_alive && rp != NULL && rp->run != BATON_LOCAL_IDLE &&
            rp->epoch != 0 && e->rank[e->prev] != 0) {
            next.status = BATON_APP_RUNNING;
            next.owner = e->prev;
            next.owner_inc = e->prev_inc;
            next.type = BATON_START_NORMAL;
            next.from = BATON_NODE_NONE;
            next.epoch = rp->epoch;
            next.prev = BATON_NODE_NONE;
            next.prev_inc = 0;
            set_app(n, k, &next);
        } else if (prev_alive && e->rank[e->prev] == 0) {
            /* The old owner is out of the agreed node list now (a
             * reload, apps.md §1.1): it may not keep the app. Its
             * instance stops, and the app is placed once it has. */
            set_status(n, k, BATON_APP_IDLE);
        } else {
            lost(n, k);
        }
        return;
    }
    if (r->run == BATON_LOCAL_RUNNING && r->epoch == e->epoch) {
        set_status(n, k, BATON_APP_RUNNING); /* the old one stops now */
        return;
    }
    if (r->run == BATON_LOCAL_RUNNING && r->epoch != 0 &&
        r->last >= e->epoch) {
        /* The new owner runs an instance of its own under a token above
         * this takeover's, so it will never start this one (it started
         * on an assignment that a heal's merge then replaced with this
         * older takeover, seed 167170): that instance is the app now,
         * as in decide_running, and the old owner stops. (Below it, the
         * owner stops its instance and starts the takeover's.) */
        next.status = BATON_APP_RUNNING;
        next.epoch = r->epoch;
        next.epoch_max = BATON_MAX(e->epoch_max, r->epoch);
        next.prev = BATON_NODE_NONE;
        next.prev_inc = 0;
        set_app(n, k, &next);
        return;
    }
    if (!prev_alive &&
        instance_elsewhere(n, e, e->owner, false) != BATON_NODE_NONE) {
        /* The old owner is gone, but another member still runs an
         * instance (a heal's merge kept this takeover over that member's
         * own, which is now told to stop): the new owner starts once it
         * has, as in assign (seed 115302). */
        return;
    }
    if (!prev_alive) {
        next.status = BATON_APP_STARTING; /* nothing left to hand over */
        next.prev = BATON_NODE_NONE;
        next.prev_inc = 0;
        set_app(n, k, &next);
    }
}

static void decide_waiting(struct baton_node *n, unsigned k)
{
    const struct baton_state_app *e = &n->state.apps[k];
    unsigned f = e->from;
    unsigned t;

    if (n->app_deadline_ms[k] == 0) {
        /* A new coordinator found the app waiting: the timer starts over
         * (it cannot know how much of it had run). */
        n->app_deadline_ms[k] = e->failover_timeout_ms == BATON_TIMEOUT_INFINITY
                                    ? UINT64_MAX
                                    : n->now_ms + e->failover_timeout_ms;
    }
    if (f != BATON_NODE_NONE && owner_alive(n, f, e->owner_inc) &&
        !eligible(n, e, f) && settled(n)) {
        /* The lost owner is back, its instance maybe still running, but
         * it may no longer run the app (permit false, failed): hand the
         * app on from it, or stop it if nobody else may run it. Not
         * while a leftover instance elsewhere still runs (as for any
         * takeover). */
        if (instance_elsewhere(n, e, f, false) != BATON_NODE_NONE) {
            return;
        }
        t = baton__apps_place(n, e, f);
        if (t == BATON_NODE_NONE) {
            set_status(n, k, BATON_APP_IDLE);
        } else {
            struct baton_state_app next = *e;
            next.status = BATON_APP_TAKEOVER;
            next.prev = (uint8_t)f;
            next.prev_inc = e->owner_inc;
            next.owner = (uint8_t)t;
            next.owner_inc = n->state.nodes[t].inc;
            next.type = BATON_START_TAKEOVER;
            next.from = (uint8_t)f;
            next.epoch = next_epoch(n, e, t);
            next.epoch_max = next.epoch;
            set_app(n, k, &next);
        }
        return;
    }
    if (f != BATON_NODE_NONE && eligible(n, e, f)) {
        const struct baton_app_report *r = baton__apps_report_of(n, f, e->name);
        if (r->epoch == e->epoch && r->run != BATON_LOCAL_IDLE &&
            n->state.nodes[f].inc == e->owner_inc) {
            /* Back within the timeout with its instance still running
             * (a partition that healed): nothing moves. */
            struct baton_state_app next = *e;
            next.status = BATON_APP_RUNNING;
            next.owner = (uint8_t)f;
            set_app(n, k, &next);
        } else {
            /* Back within the timeout after a restart: it starts the app
             * again as normal, and nobody else does (reference §1.6). */
            assign(n, k, f, BATON_START_NORMAL, BATON_NODE_NONE, 0);
        }
        return;
    }
    if (n->now_ms < n->app_deadline_ms[k] || !settled(n) ||
        away(n, f, e->owner_inc)) {
        return;
    }
    t = baton__apps_place(n, e, BATON_NODE_NONE);
    if (t != BATON_NODE_NONE) {
        assign(n, k, t, BATON_START_FAILOVER, f, e->owner_inc);
    }
}

/* The definition every member agrees on, or NULL (and *refuse) when two
 * members differ (OTP kills the node there, §1.2; baton refuses the app
 * and keeps running). */
static const struct baton_app_report *agreed(const struct baton_node *n,
                                             const char *name, bool *refuse)
{
    const struct baton_app_report *first = NULL;

    *refuse = false;
    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        const struct baton_app_report *r = baton__apps_report_of(n, x, name);
        if (r == NULL) {
            continue;
        }
        if (first == NULL) {
            first = r;
        } else if (first->failover_timeout_ms != r->failover_timeout_ms ||
                   memcmp(first->rank, r->rank, sizeof(r->rank)) != 0 ||
                   first->mode != r->mode || first->lease_ms != r->lease_ms ||
                   first->stop_margin_ms != r->stop_margin_ms) {
            *refuse = true;
        }
    }
    return first;
}

/* Makes sure every app some member defines has a slot, and that slots
 * carry the agreed definition (or are refused). */
static void define_apps(struct baton_node *n)
{
    for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
        const struct baton_report_slot *slot = &n->reports[x];
        if (!n->state.nodes[x].member || slot->inc != n->state.nodes[x].inc) {
            continue;
        }
        for (unsigned i = 0; i < slot->rep.n && i < BATON_APPS_MAX; i++) {
            const struct baton_app_report *r = &slot->rep.r[i];
            int k = baton_state_app_find(&n->state, r->name);
            if (k < 0) {
                struct baton_state_app e;
                memset(&e, 0, sizeof(e));
                memcpy(e.name, r->name, sizeof(e.name));
                memcpy(e.rank, r->rank, sizeof(e.rank));
                e.failover_timeout_ms = r->failover_timeout_ms;
                e.status = BATON_APP_IDLE;
                e.owner = e.from = e.prev = BATON_NODE_NONE;
                for (unsigned s = 0; s < BATON_APPS_MAX; s++) {
                    if (n->state.apps[s].status == BATON_APP_FREE) {
                        set_app(n, s, &e);
                        /* at run time only: a boot waits anyway */
                        n->app_new_ms[s] = settled(n) ? n->now_ms : 0;
                        break;
                    }
                }
            }
        }
    }
}

/* Was app k's slot made less than a heartbeat ago? A new app is placed
 * once the nodes that define it too (a reload of every node at once)
 * have reported, not on the first one heard (as settled() at boot). */
static bool young(const struct baton_node *n, unsigned k)
{
    return n->app_new_ms[k] != 0 &&
           n->now_ms < n->app_new_ms[k] + n->cfg.heartbeat_ms;
}

/* Every member now agrees on a new definition (configs changed
 * together, or a reload reached the last node: apps.md §1.1): adopt it.
 * An app running on a node the new list leaves out is taken over from
 * there in the same op (with its state), by the new list's placement,
 * as from a node that no longer permits it; if it cannot be (nobody
 * else eligible, a leftover instance elsewhere, or not running yet) it
 * goes idle: its instance stops, and it is placed once it has. */
static void adopt_definition(struct baton_node *n,
                             unsigned k,
                             const struct baton_app_report *def)
{
    const struct baton_state_app *e = &n->state.apps[k];
    struct baton_state_app next = *e;
    unsigned t;

    memcpy(next.rank, def->rank, sizeof(next.rank));
    next.failover_timeout_ms = def->failover_timeout_ms;
    if (baton_app_active(&next) && next.rank[next.owner] == 0) {
        t = baton__apps_place(n, &next, e->owner);
        if (e->status == BATON_APP_RUNNING && t != BATON_NODE_NONE &&
            instance_elsewhere(n, e, e->owner, false) == BATON_NODE_NONE) {
            next.status = BATON_APP_TAKEOVER;
            next.prev = e->owner;
            next.prev_inc = e->owner_inc;
            next.owner = (uint8_t)t;
            next.owner_inc = n->state.nodes[t].inc;
            next.type = BATON_START_TAKEOVER;
            next.from = e->owner;
            next.epoch = next_epoch(n, e, t);
            next.epoch_max = next.epoch;
        } else {
            next.status = BATON_APP_IDLE;
            next.owner = BATON_NODE_NONE;
            next.owner_inc = 0;
            next.prev = BATON_NODE_NONE;
            next.prev_inc = 0;
        }
    }
    set_app(n, k, &next);
}

/* The definitions of app k differ between members (a rolling reload, or
 * a config out of step): is it kept as it is (apps.md §1.1)? An app that
 * runs stays where it runs, unmoved, and a takeover already decided is
 * finished; nothing new is placed until they agree. Refusing it would
 * stop it on every reload of a shared field. One that runs nowhere (or
 * whose owner's instance is gone) is refused, as at start. */
static bool kept_while_disagreeing(struct baton_node *n, unsigned k)
{
    const struct baton_state_app *e = &n->state.apps[k];
    const struct baton_app_report *r;

    if (e->status == BATON_APP_TAKEOVER) {
        decide_takeover(n, k);
    } else if (e->status == BATON_APP_WAITING) {
        /* its failover waits for the definitions to agree */
    } else if (e->status == BATON_APP_RUNNING ||
               e->status == BATON_APP_STARTING) {
        r = baton__apps_report_of(n, e->owner, e->name);
        if (!away(n, e->owner, e->owner_inc) &&
            !(owner_alive(n, e->owner, e->owner_inc) &&
              (has_instance(r) || (r == NULL && (pending(n, e->owner) ||
                                                 unreported(n, e->owner)))))) {
            return false;
        }
        if (e->status == BATON_APP_STARTING && r != NULL &&
            r->run == BATON_LOCAL_RUNNING && r->epoch == e->epoch) {
            set_status(n, k, BATON_APP_RUNNING);
        }
    } else {
        return false;
    }
    e = &n->state.apps[k];
    if (!n->app_kept[k] &&
        (baton_app_active(e) || e->status == BATON_APP_WAITING)) {
        n->app_kept[k] = true;
        trace_app(n, TR_KEPT, e->name, e->owner, e->epoch, e->status, 0);
    }
    return true;
}

/* batonctl disable (apps.md §7): the app runs nowhere. Idle stops
 * every instance (the one rule of §5: not the state's, so stopped). */
static void decide_disabled(struct baton_node *n, unsigned k)
{
    const struct baton_state_app *e = &n->state.apps[k];

    if (baton_app_active(e) || e->status == BATON_APP_WAITING ||
        e->status == BATON_APP_FAILED) {
        set_status(n, k, BATON_APP_IDLE);
    }
}

static void decide(struct baton_node *n, unsigned k)
{
    const struct baton_state_app *e = &n->state.apps[k];
    bool refuse;
    const struct baton_app_report *def = agreed(n, e->name, &refuse);
    unsigned t;

    if (refuse) {
        if (kept_while_disagreeing(n, k)) {
            return;
        }
        n->app_kept[k] = false;
        if (e->status != BATON_APP_REFUSED) {
            set_status(n, k, BATON_APP_REFUSED);
        }
        return;
    }
    n->app_kept[k] = false;
    if (def != NULL && !same_definition(def, e)) {
        /* One decision per app per step: the next step goes on from
         * the new definition (the simulator checks each start against
         * the state it leaves). */
        adopt_definition(n, k, def);
        return;
    }
    if (def != NULL && def->mode == BATON_APP_QUORUM) {
        /* A quorum app is placed only through the Raft log (quorum.md
         * §4), which is not wired into the node yet (§9): until it is,
         * the app runs nowhere rather than with available mode's
         * duplicates after a partition. */
        return;
    }
    if (disabled(n, e)) {
        decide_disabled(n, k);
        return;
    }
    switch (e->status) {
    case BATON_APP_IDLE:
    case BATON_APP_FAILED:
    case BATON_APP_REFUSED:
        if (e->status == BATON_APP_IDLE && (!settled(n) || young(n, k))) {
            return;
        }
        t = baton__apps_place(n, e, BATON_NODE_NONE);
        if (t != BATON_NODE_NONE) {
            assign(n, k, t, BATON_START_NORMAL, BATON_NODE_NONE, 0);
        } else if (e->status == BATON_APP_REFUSED) {
            set_status(n, k, BATON_APP_IDLE);
        }
        return;
    case BATON_APP_STARTING:
    case BATON_APP_RUNNING:
        decide_running(n, k);
        return;
    case BATON_APP_TAKEOVER:
        decide_takeover(n, k);
        return;
    case BATON_APP_WAITING:
        decide_waiting(n, k);
        return;
    default: /* STOPPED: stays stopped */
        return;
    }
}

/* The coordinator's pass over every app, once per step. Each decision is
 * one op; a decision never waits for an answer, so nothing blocks
 * (DESIGN.md §3 item 2). */
static void coordinate(struct baton_node *n)
{
    define_apps(n);
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        if (n->state.apps[k].status != BATON_APP_FREE) {
            decide(n, k);
        }
    }
}

/* ---- every node: carry the decisions out ------------------------------- */

/* May this node's instance keep running? The owner's may (also while
 * the app waits on it: it is the "lost" owner, alive after all, and the
 * coordinator will say so), and the old owner's during a takeover. */
static bool may_run(const struct baton_node *n, const struct baton_state_app *e)
{
    bool owner = e->owner == n->cfg.self && e->owner_inc == n->inc;
    bool prev = e->prev == n->cfg.self && e->prev_inc == n->inc;

    return ((baton_app_active(e) || e->status == BATON_APP_WAITING) &&
            owner) ||
           (e->status == BATON_APP_TAKEOVER && prev);
}

/* Must this node start an instance? Only on a fresh assignment, whose
 * epoch no instance has carried: a token is never used twice. */
static bool must_start(const struct baton_node *n,
                       const struct baton_state_app *e)
{
    return (e->status == BATON_APP_STARTING ||
            e->status == BATON_APP_TAKEOVER) &&
           e->owner == n->cfg.self && e->owner_inc == n->inc;
}

/* Why this node stops its instance of app e (moved: a takeover from
 * here). Another node's instance being the app's is a conflict: both
 * sides of a partition ran it, and the merge kept the other one. */
static unsigned stop_why(const struct baton_node *n,
                         const struct baton_state_app *e, bool moved)
{
    if (e->owner == n->cfg.self && e->owner_inc == n->inc) {
        return BATON_STOPFX_REPLACED; /* a new token for our own */
    }
    if (moved) {
        return BATON_STOPFX_MOVED;
    }
    if (baton_app_active(e) || e->status == BATON_APP_WAITING) {
        return BATON_STOPFX_CONFLICT;
    }
    return BATON_STOPFX_ENDED;
}

static void effect(struct baton_node *n, unsigned action, unsigned i,
                   const struct baton_state_app *e)
{
    struct baton_effects *fx = n->fx;
    struct baton_app_effect *a;

    BATON_ASSERT(fx->n_app < BATON_FX_APP_MAX);
    a = &fx->app[fx->n_app++];
    memset(a, 0, sizeof(*a));
    a->action = (uint8_t)action;
    a->app = (uint8_t)i;
    a->from = BATON_NODE_NONE;
    if (action == BATON_APP_START || action == BATON_APP_EXPORT) {
        a->type = e->type;
        a->from = e->from;
        a->epoch = e->epoch;
    } else if (action == BATON_APP_TOKEN) {
        a->epoch = e->epoch;
    } else if (action == BATON_APP_STOP) {
        a->why = BATON_STOPFX_ENDED;
    }
    if (action == BATON_APP_STOP && e != NULL) {
        /* Why: where the app is now, in what status, and whether it was
         * moved from here on purpose (a takeover or relocation). */
        a->type = e->status;
        a->from = e->owner;
        a->ok = e->owner != n->cfg.self &&
                ((e->status == BATON_APP_TAKEOVER && e->prev == n->cfg.self) ||
                 (e->type == BATON_START_TAKEOVER && e->from == n->cfg.self));
        a->why = (uint8_t)stop_why(n, e, a->ok);
    }
}

/* The old owner's export finished: send it to the new owner. */
static void exported(struct baton_node *n, const struct baton_event *ev)
{
    const char *name = n->cfg.apps[ev->app].name;
    int k = baton_state_app_find(&n->state, name);
    const struct baton_state_app *e = k >= 0 ? &n->state.apps[k] : NULL;
    struct baton_msg m;

    if (e == NULL || e->status != BATON_APP_TAKEOVER ||
        e->epoch != ev->epoch || e->prev != n->cfg.self ||
        e->owner == n->cfg.self || ev->len > BATON_STATE_MAX) {
        return; /* the takeover is over, or went elsewhere */
    }
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_STATE;
    memcpy(m.u.state.name, name, sizeof(m.u.state.name));
    m.u.state.epoch = ev->epoch;
    m.u.state.ok = ev->value != 0;
    m.u.state.len = m.u.state.ok ? ev->len : 0;
    m.u.state.data = m.u.state.ok ? ev->data : NULL;
    baton__send(n, e->owner, &m);
}

/* The old owner's state arrived: the driver keeps it for the start. */
void baton__apps_on_state(struct baton_node *n, const struct baton_msg *m)
{
    struct baton_effects *fx = n->fx;
    struct baton_app_effect *a;

    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        struct baton_local_app *l = &n->local[i];
        if (strcmp(n->cfg.apps[i].name, m->u.state.name) != 0 ||
            m->u.state.epoch <= l->last || m->u.state.epoch == l->state_for) {
            continue;
        }
        l->state_for = m->u.state.epoch;
        l->state_ok = m->u.state.ok != 0;
        BATON_ASSERT(fx->n_app < BATON_FX_APP_MAX);
        a = &fx->app[fx->n_app++];
        memset(a, 0, sizeof(*a));
        a->action = BATON_APP_STATE;
        a->app = (uint8_t)i;
        a->from = m->from;
        a->epoch = m->u.state.epoch;
        a->ok = m->u.state.ok;
        a->data = m->u.state.data;
        a->len = m->u.state.len;
    }
}

static void exported(struct baton_node *n, const struct baton_event *ev);

static uint64_t state_wait(const struct baton_node *n)
{
    return n->cfg.state_wait_ms ? n->cfg.state_wait_ms : 6000;
}

/* A new owner taking over waits for the old owner's state (bounded):
 * returns true when it may start now. */
static bool state_settled(struct baton_node *n, unsigned i,
                          const struct baton_state_app *e)
{
    struct baton_local_app *l = &n->local[i];

    if (e->status != BATON_APP_TAKEOVER || l->state_for == e->epoch) {
        return true;
    }
    if (l->wait_from_ms == 0) {
        l->wait_from_ms = n->now_ms;
    }
    if (n->now_ms < l->wait_from_ms + state_wait(n)) {
        return false;
    }
    return true; /* it goes on without state, and says so */
}

void baton__apps_local(struct baton_node *n, unsigned i, bool start,
                       uint64_t epoch)
{
    struct baton_local_app *l = &n->local[i];
    struct baton_state_app e;

    memset(&e, 0, sizeof(e));
    e.type = BATON_START_NORMAL;
    e.from = e.owner = BATON_NODE_NONE;
    e.epoch = epoch;
    if (start) {
        l->run = BATON_LOCAL_STARTING;
        l->epoch = l->started = epoch;
        l->last = BATON_MAX(l->last, epoch);
        effect(n, BATON_APP_START, i, &e);
        trace_app(n, TR_START, n->cfg.apps[i].name, BATON_NODE_NONE, epoch,
                  e.type, 0);
    } else {
        l->run = BATON_LOCAL_STOPPING;
        effect(n, BATON_APP_STOP, i, &e);
        trace_app(n, TR_STOP, n->cfg.apps[i].name, BATON_NODE_NONE, l->epoch,
                  0, n->fx->app[n->fx->n_app - 1].why);
    }
    n->report_dirty = true;
}

static void carry_out(struct baton_node *n)
{
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        struct baton_local_app *l = &n->local[i];
        if (n->cfg.apps[i].mode == BATON_APP_QUORUM) {
            continue; /* under a lease: quorum.c */
        }
        int k = baton_state_app_find(&n->state, n->cfg.apps[i].name);
        const struct baton_state_app *e = k >= 0 ? &n->state.apps[k] : NULL;
        bool run = e != NULL && may_run(n, e);
        bool start = e != NULL && must_start(n, e);

        if (e != NULL && (e->status == BATON_APP_REFUSED) != l->refused_seen) {
            l->refused_seen = e->status == BATON_APP_REFUSED;
            if (l->refused_seen) {
                trace_app(n, TR_REFUSED, e->name, BATON_NODE_NONE, e->epoch,
                          0, 0);
            }
        }

        if (run && e->status == BATON_APP_RUNNING &&
            e->owner == n->cfg.self && l->run == BATON_LOCAL_RUNNING &&
            e->epoch > l->last && (e->epoch & 0xffu) == n->cfg.self) {
            /* A new token for the instance that runs here (apps.md §4):
             * it goes on under it. Never one used before here, and only
             * one issued for this node (its id is the low byte). */
            trace_app(n, TR_TOKEN, e->name, n->cfg.self, e->epoch, l->epoch,
                      0);
            l->epoch = e->epoch;
            l->last = e->epoch;
            effect(n, BATON_APP_TOKEN, i, e);
            n->report_dirty = true;
        }

        /* Only under a token above every one started here: an old
         * decision merged in from another history must not reuse one
         * (the coordinator then assigns a new token). */
        if (e != NULL && e->status == BATON_APP_TAKEOVER &&
            e->prev == n->cfg.self && e->prev_inc == n->inc &&
            l->exported != e->epoch) {
            /* Taken over: hand the state to the new owner - or, with no
             * running instance to export from, say at once that there is
             * none, so the new owner does not wait for it. */
            l->exported = e->epoch;
            if (l->run == BATON_LOCAL_RUNNING) {
                effect(n, BATON_APP_EXPORT, i, e);
            } else {
                struct baton_event none = {0};
                none.app = (uint8_t)i;
                none.epoch = e->epoch;
                exported(n, &none);
            }
        }
        if (start && l->run == BATON_LOCAL_IDLE && !l->failed && !l->removed &&
            l->exited != e->epoch && e->epoch > l->last &&
            !lost_heard_again(n, e) && state_settled(n, i, e)) {
            bool with_state = l->state_for == e->epoch && l->state_ok;
            l->run = BATON_LOCAL_STARTING;
            l->epoch = e->epoch;
            l->started = e->epoch;
            l->last = BATON_MAX(l->last, e->epoch);
            effect(n, BATON_APP_START, i, e);
            n->fx->app[n->fx->n_app - 1].with_state = with_state;
            trace_app(n, TR_START, e->name, e->from, e->epoch, e->type,
                      e->status != BATON_APP_TAKEOVER ? 0
                      : with_state                    ? 1
                      : l->state_for == e->epoch      ? 2
                                                      : 3);
            l->wait_from_ms = 0;
            n->report_dirty = true;
        } else if ((!run || (start && e->epoch > l->last)) &&
                   (l->run == BATON_LOCAL_STARTING ||
                    l->run == BATON_LOCAL_RUNNING)) {
            /* Not ours any more, or ours under a new token: the old
             * instance stops (and a new one starts once it has). */
            /* Only a node that knows where the app is now stops its
             * instance: a node with no coordinator keeps serving
             * (available mode). */
            if (n->role != BATON_ROLE_FOLLOWER &&
                n->role != BATON_ROLE_COORDINATOR) {
                continue;
            }
            l->run = BATON_LOCAL_STOPPING;
            l->wants = false; /* the pin ends when the app leaves */
            effect(n, BATON_APP_STOP, i, e);
            trace_app(n, TR_STOP, n->cfg.apps[i].name,
                      e ? e->owner : BATON_NODE_NONE, l->epoch,
                      e ? e->status : 0, n->fx->app[n->fx->n_app - 1].why);
            n->report_dirty = true;
        }
    }
}

/* Once per step, after the election and replication work. */
void baton__apps_step(struct baton_node *n)
{
    if (n->role == BATON_ROLE_COORDINATOR) {
        baton__apps_report(n, false);
        coordinate(n);
    }
    carry_out(n);
    if (n->role == BATON_ROLE_COORDINATOR) {
        baton__apps_report(n, false);
    }
    baton__settings_step(n);
}

uint64_t baton__apps_deadline(const struct baton_node *n)
{
    uint64_t d = UINT64_MAX;

    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        uint64_t w = n->local[i].wait_from_ms;
        if (w != 0 && w + state_wait(n) > n->now_ms) {
            d = BATON_MIN(d, w + state_wait(n));
        }
    }
    if (n->role != BATON_ROLE_COORDINATOR) {
        return d;
    }
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        const struct baton_state_app *e = &n->state.apps[k];
        if (e->status == BATON_APP_IDLE && young(n, k)) {
            d = BATON_MIN(d, n->app_new_ms[k] + n->cfg.heartbeat_ms);
        }
        if (e->status == BATON_APP_WAITING && n->app_deadline_ms[k] > n->now_ms) {
            d = BATON_MIN(d, n->app_deadline_ms[k]);
        }
        if (baton_app_active(e) || e->status == BATON_APP_WAITING) {
            unsigned o = e->status == BATON_APP_WAITING ? e->from : e->owner;
            if (away(n, o, e->owner_inc) && unknown_until(n) > n->now_ms) {
                d = BATON_MIN(d, unknown_until(n)); /* its window ends */
            }
        }
        if (e->status != BATON_APP_FREE && !settled(n)) {
            if (n->claim_ms + n->cfg.heartbeat_ms > n->now_ms) {
                d = BATON_MIN(d, n->claim_ms + n->cfg.heartbeat_ms);
            }
            for (unsigned x = 0; x < n->cfg.n_nodes; x++) {
                if (pending(n, x)) {
                    d = BATON_MIN(d, BATON_MAX(n->claim_ms, n->joined_ms[x]) +
                                         n->cfg.heartbeat_ms);
                }
            }
        }
    }
    return d;
}

bool baton_node_app_gone(const struct baton_node *n, unsigned app)
{
    return app < n->cfg.n_apps && n->local[app].removed &&
           n->local[app].run == BATON_LOCAL_IDLE;
}

/* BATON_REQ_DEFINE (apps.md §1.1): app i of this node is now *def. A
 * new app (or a reused index) starts with a clean local record; a
 * changed one keeps its instance, and its new definition goes to the
 * coordinator with the next report (the agreement of §1). A removed app
 * defined again is simply wanted back. Quorum apps are defined at start
 * only: the Raft group and its grants are made then (quorum.md §1). */
static int define_app(struct baton_node *n,
                      unsigned i,
                      const struct baton_app_config *def)
{
    struct baton_local_app *l = &n->local[i];
    size_t len;

    if (def == NULL || i > n->cfg.n_apps || i >= BATON_APPS_MAX ||
        def->mode > BATON_APP_QUORUM) {
        return -1;
    }
    len = strnlen(def->name, sizeof(def->name));
    if (len == 0 || len == sizeof(def->name) || def->mode == BATON_APP_QUORUM) {
        return -1;
    }
    for (unsigned x = 0; x < n->cfg.n_apps; x++) {
        if (x != i && !baton_node_app_gone(n, x) &&
            strcmp(n->cfg.apps[x].name, def->name) == 0) {
            return -1; /* defined twice */
        }
    }
    if (i < n->cfg.n_apps && strcmp(n->cfg.apps[i].name, def->name) != 0 &&
        !baton_node_app_gone(n, i)) {
        return -1; /* still another app's */
    }
    if (i == n->cfg.n_apps || strcmp(n->cfg.apps[i].name, def->name) != 0) {
        /* A new app: its tokens are its own (it never ran here). */
        memset(l, 0, sizeof(*l));
        l->permit = true;
        n->cfg.n_apps = BATON_MAX(n->cfg.n_apps, i + 1);
    } else if (l->removed) {
        l->permit = true; /* wanted back: eligible again */
        l->failed = false;
    }
    l->removed = false;
    n->cfg.apps[i] = *def;
    trace_app(n, TR_DEFINED, def->name, BATON_NODE_NONE, 0, 0, 0);
    n->report_dirty = true;
    return 0;
}

/* BATON_REQ_UNDEFINE: app i leaves this node. It reports the app as not
 * permitted while an instance runs here, so the coordinator moves it
 * away (a takeover, with its state) or, if no other node may run it,
 * stops it; once the instance here is gone, it reports it no more. A
 * quorum app stays (quorum.md §1: made at start). */
static int undefine_app(struct baton_node *n, unsigned i)
{
    struct baton_local_app *l = &n->local[i];

    if (n->cfg.apps[i].mode == BATON_APP_QUORUM) {
        return -1; /* its grants are the Raft log's: defined at start */
    }
    if (l->removed) {
        return 0;
    }
    l->removed = true;
    l->wants = false;
    trace_app(n, TR_REMOVED, n->cfg.apps[i].name, BATON_NODE_NONE, l->epoch,
              l->run, 0);
    n->report_dirty = true;
    return 0;
}

/* BATON_EVENT_APP and BATON_EVENT_REQUEST. */
int baton__apps_event(struct baton_node *n, const struct baton_event *ev)
{
    struct baton_local_app *l;
    const char *name;

    if (ev->type == BATON_EVENT_EXPORTED) {
        if (ev->app >= n->cfg.n_apps || ev->value > 1 ||
            (ev->value && ev->len > 0 && ev->data == NULL)) {
            return -1;
        }
        exported(n, ev);
        return 0;
    }
    if (ev->type == BATON_EVENT_REQUEST &&
        (ev->what == BATON_REQ_RELEASE || ev->what == BATON_REQ_HOLD)) {
        n->cfg.apps_held = ev->what == BATON_REQ_HOLD;
        n->report_dirty = true;
        return 0;
    }
    if (ev->type == BATON_EVENT_REQUEST && ev->what == BATON_REQ_DEFINE) {
        return define_app(n, ev->app, ev->def);
    }
    if (ev->app >= n->cfg.n_apps) {
        return -1;
    }
    if (ev->type == BATON_EVENT_REQUEST && ev->what == BATON_REQ_UNDEFINE) {
        return undefine_app(n, ev->app);
    }
    l = &n->local[ev->app];
    name = n->cfg.apps[ev->app].name;
    if (ev->type == BATON_EVENT_REQUEST) {
        if (ev->what == BATON_REQ_PERMIT && ev->value <= 1) {
            l->permit = ev->value != 0;
            if (l->permit) {
                l->failed = false; /* permitting again forgives a failure */
            }
        } else if (ev->what == BATON_REQ_TAKEOVER) {
            l->permit = true;
            l->failed = false;
            l->wants = true;
        } else {
            return -1;
        }
        n->report_dirty = true;
        return 0;
    }
    if ((ev->epoch != l->epoch && ev->epoch != l->started) ||
        l->run == BATON_LOCAL_IDLE) {
        return 0; /* about an instance that is already gone */
    }
    switch (ev->what) {
    case BATON_APP_EV_READY:
        if (l->run == BATON_LOCAL_STARTING) {
            l->run = BATON_LOCAL_RUNNING;
            trace_app(n, TR_READY, name, n->cfg.self, l->epoch, 0, 0);
        }
        break;
    case BATON_APP_EV_STOPPED:
        l->run = BATON_LOCAL_IDLE;
        break;
    case BATON_APP_EV_EXITED:
        l->run = BATON_LOCAL_IDLE;
        l->exited = l->epoch;
        trace_app(n, TR_EXITED, name, n->cfg.self, l->epoch, 0, 0);
        break;
    case BATON_APP_EV_FAILED:
        l->run = BATON_LOCAL_IDLE;
        l->failed = true;
        trace_app(n, TR_FAILED, name, n->cfg.self, l->epoch, 0, 0);
        break;
    default:
        return -1;
    }
    n->report_dirty = true;
    return 0;
}

void baton__apps_init(struct baton_node *n)
{
    for (unsigned i = 0; i < n->cfg.n_apps; i++) {
        n->local[i].permit = !n->cfg.apps[i].permit_off;
    }
    memcpy(n->state.name_rank, n->cfg.name_rank, sizeof(n->state.name_rank));
    n->report_dirty = n->cfg.n_apps > 0;
}
