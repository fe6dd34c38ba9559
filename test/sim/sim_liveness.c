/* The simulator's liveness check and its garbage generator. */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

/* The network lets a and b talk: whether their link is up yet is the
 * driver's job, within the bound. */
static bool connected(const struct sim *s, unsigned a, unsigned b)
{
    return sim_connected(s, a, b);
}

static bool why(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool why(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (buf != NULL && len > 0) {
        va_start(ap, fmt);
        vsnprintf(buf, len, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Apps in a group whose coordinator is c: each runs exactly once, ready,
 * on a node of the best-ranked group among the eligible ones (reference
 * §1.4), and the coordinator's state says so; an app no node of the
 * group may run runs nowhere in it. */
static bool apps_converged(const struct sim *s, unsigned mask, unsigned c,
                           char *buf, size_t len)
{
    const struct baton_node *cn = &s->nodes[c].core;
    unsigned nn = s->cfg.n_nodes;

    for (unsigned a = 0; a < s->cfg.n_apps; a++) {
        const struct baton_app_config *ac = &s->cfg.apps[a];
        unsigned best = 0;
        unsigned runner = BATON_NODE_NONE;
        int k = baton_state_app_find(&cn->state, ac->name);
        if (ac->mode == BATON_APP_QUORUM) {
            /* Only on the owner its grant names, under a lease
             * (quorum.md §4.2); sim_quorum.c checks it never runs
             * twice. */
            for (unsigned x = 0; x < nn; x++) {
                const struct baton_node *xn = &s->nodes[x].core;
                if ((mask & (1u << x)) && s->nodes[x].inst[a].st != 0 &&
                    baton_node_grant(xn, a, NULL) != x) {
                    return why(buf, len, "quorum app %s runs on %s",
                               ac->name, sim_names[x]);
                }
            }
            continue;
        }
        /* The operator settings (apps.md §7), as the coordinator has
         * them: a disabled app runs nowhere, a node in standby runs
         * nothing, and a move pins the app to an eligible node. */
        const struct baton_app_setting *set =
            baton_settings_app(&cn->settings, ac->name);
        bool off = set != NULL && set->disabled;
        unsigned pin = set != NULL ? set->pin : BATON_NODE_NONE;
        for (unsigned x = 0; x < nn; x++) {
            const struct baton_local_app *l = &s->nodes[x].core.local[a];
            if ((mask & (1u << x)) && ac->rank[x] != 0 && l->permit &&
                !l->removed && !l->failed && !off && !cn->settings.standby[x] &&
                (best == 0 || ac->rank[x] < best)) {
                best = ac->rank[x];
            }
        }
        for (unsigned x = 0; x < nn; x++) {
            unsigned st = s->nodes[x].inst[a].st;
            if (!(mask & (1u << x)) || st == 0) {
                continue;
            }
            if (st != 2 || runner != BATON_NODE_NONE) {
                return why(buf, len, "app %s: %s on %s as well", ac->name,
                           st == 2 ? "runs" : "is starting or stopping",
                           sim_names[x]);
            }
            runner = x;
        }
        if (best == 0) {
            if (runner != BATON_NODE_NONE) {
                return why(buf, len, "app %s runs on %s, where nobody may run it",
                           ac->name, sim_names[runner]);
            }
            continue;
        }
        if (runner == BATON_NODE_NONE) {
            return why(buf, len, "app %s runs nowhere in %s's group", ac->name,
                       sim_names[c]);
        }
        {
            /* batonctl takeover pins an app on a node: then it runs on a
             * pinning node instead of the best group. */
            bool pinned = false;
            bool on_pin = false;
            for (unsigned x = 0; x < nn; x++) {
                const struct baton_local_app *l = &s->nodes[x].core.local[a];
                if ((mask & (1u << x)) && ac->rank[x] != 0 && l->permit &&
                    !l->removed && !l->failed && !cn->settings.standby[x] &&
                    (pin == BATON_NODE_NONE || pin >= nn ||
                             !(mask & (1u << pin)) ||
                             !s->nodes[pin].core.local[a].permit ||
                             s->nodes[pin].core.local[a].failed ||
                             cn->settings.standby[pin] || ac->rank[pin] == 0
                         ? l->wants
                         : x == pin)) {
                    pinned = true;
                    on_pin = on_pin || x == runner;
                }
            }
            if (pinned ? !on_pin : ac->rank[runner] != best) {
                return why(buf, len,
                           "app %s runs on %s (rank %u), not in the best "
                           "group (rank %u)%s",
                           ac->name, sim_names[runner], ac->rank[runner], best,
                           pinned ? " nor on a node that pinned it" : "");
            }
        }
        if (!sim__apps_tokens_ok(s, mask, a, runner, buf, len)) {
            return false;
        }
        if (k < 0 || cn->state.apps[k].status != BATON_APP_RUNNING ||
            cn->state.apps[k].owner != runner ||
            cn->state.apps[k].epoch != s->nodes[runner].inst[a].epoch) {
            return why(buf, len,
                       "app %s: %s's state does not say it runs on %s "
                       "(epoch %" PRIu64 "), but %s on %s epoch %" PRIu64,
                       ac->name, sim_names[c], sim_names[runner],
                       s->nodes[runner].inst[a].epoch,
                       k < 0 ? "nothing"
                             : baton_app_status_name(cn->state.apps[k].status),
                       k < 0 || cn->state.apps[k].owner >= nn
                           ? "-"
                           : sim_names[cn->state.apps[k].owner],
                       k < 0 ? 0 : cn->state.apps[k].epoch);
        }
    }
    return true;
}

/* Checks one fully connected group (mask of node ids). */
/* Quorum mode: a group holding a majority of the nodes has one Raft
 * leader among its members, which every member knows, and every member
 * has committed what the leader has; a minority has none to agree on. */
static bool quorum_converged(const struct sim *s, unsigned mask, char *buf,
                             size_t len)
{
    unsigned nn = s->cfg.n_nodes;
    unsigned l = BATON_NODE_NONE;
    uint64_t commit = 0;

    if (2 * (unsigned)__builtin_popcount(mask) <= nn) {
        return true;
    }
    for (unsigned i = 0; i < nn; i++) {
        const struct baton_node *n = &s->nodes[i].core;
        unsigned li;
        if (!(mask & (1u << i)) || !n->quorum) {
            continue;
        }
        li = baton_node_raft_leader(n);
        if (li >= nn || !(mask & (1u << li)) ||
            s->nodes[li].core.raft.role != BATON_RAFT_LEADER) {
            return why(buf, len, "%s knows no Raft leader in its majority",
                       sim_names[i]);
        }
        if (l == BATON_NODE_NONE) {
            l = li;
            commit = baton_node_raft_commit(&s->nodes[l].core);
        } else if (li != l) {
            return why(buf, len, "%s follows %s, another node %s",
                       sim_names[i], sim_names[li], sim_names[l]);
        }
        if (baton_node_raft_commit(n) != commit) {
            return why(buf, len, "%s committed %" PRIu64 ", the leader %"
                       PRIu64, sim_names[i], baton_node_raft_commit(n),
                       commit);
        }
    }
    return true;
}

static bool group_converged(const struct sim *s, unsigned mask, char *buf,
                            size_t len)
{
    unsigned nn = s->cfg.n_nodes;
    unsigned c = BATON_NODE_NONE;
    const struct baton_node *cn;

    if (!quorum_converged(s, mask, buf, len)) {
        return false;
    }

    for (unsigned i = 0; i < nn && c == BATON_NODE_NONE; i++) {
        if ((mask & (1u << i)) && s->cfg.candidate[i]) {
            c = i;
        }
    }
    if (c == BATON_NODE_NONE) {
        for (unsigned i = 0; i < nn; i++) {
            if ((mask & (1u << i)) &&
                s->nodes[i].core.role != BATON_ROLE_SEEKING) {
                return why(buf, len, "%s is %s in a group with no candidate",
                           sim_names[i],
                           baton_role_name(s->nodes[i].core.role));
            }
        }
        return true;
    }
    cn = &s->nodes[c].core;
    if (cn->role != BATON_ROLE_COORDINATOR) {
        return why(buf, len, "%s should coordinate but is %s", sim_names[c],
                   baton_role_name(cn->role));
    }
    for (unsigned i = 0; i < nn; i++) {
        const struct baton_node *n = &s->nodes[i].core;
        bool in = (mask & (1u << i)) != 0;
        if (cn->state.nodes[i].member != in ||
            (in && cn->state.nodes[i].inc != s->nodes[i].inc)) {
            return why(buf, len, "%s's member table is wrong about %s",
                       sim_names[c], sim_names[i]);
        }
        if (!in || i == c) {
            continue;
        }
        if (n->role != BATON_ROLE_FOLLOWER || n->target != c ||
            n->target_inc != s->nodes[c].inc) {
            return why(buf, len, "%s is %s, not a follower of %s",
                       sim_names[i], baton_role_name(n->role), sim_names[c]);
        }
        if (!baton_stream_equal(&n->stream, &cn->stream) ||
            n->applied != cn->applied ||
            !baton_state_equal(&n->state, &cn->state) ||
            n->names.count != cn->names.count ||
            n->names.digest != cn->names.digest) {
            return why(buf, len,
                       "%s's replica (index %" PRIu64
                       ") differs from %s's (index %" PRIu64 ")",
                       sim_names[i], n->applied, sim_names[c], cn->applied);
        }
        /* The operator settings: the same on every member (entries may
         * sit in other slots, so each way round merges to nothing). */
        {
            struct baton_settings mine = n->settings;
            struct baton_settings theirs = cn->settings;
            if (baton_settings_merge(&mine, &cn->settings) ||
                baton_settings_merge(&theirs, &n->settings)) {
                return why(buf, len, "%s's operator settings differ from %s's",
                           sim_names[i], sim_names[c]);
            }
        }
    }
    /* Names: only the members' current lives hold any. */
    for (uint32_t k = 0; k < cn->names.cap; k++) {
        const struct baton_name *e = &cn->names.slot[k];
        if (e->used && (!(mask & (1u << e->owner)) ||
                        e->owner_inc != s->nodes[e->owner].inc)) {
            return why(buf, len, "%s still holds %s of %s's life %" PRIu64,
                       sim_names[c], e->name, sim_names[e->owner],
                       e->owner_inc);
        }
    }
    return apps_converged(s, mask, c, buf, len);
}

bool sim_converged(const struct sim *s, char *buf, size_t len)
{
    unsigned nn = s->cfg.n_nodes;
    unsigned seen = 0;

    for (unsigned i = 0; i < nn; i++) {
        unsigned mask = 0;
        /* A node out of the cluster (removed, or not added yet) has no
         * defined outcome either (docs/design/membership.md). */
        if (!sim_up(s, i) || (seen & (1u << i)) || !sim_in_cluster(s, i)) {
            continue;
        }
        for (unsigned j = 0; j < nn; j++) {
            if (j == i || (sim_up(s, j) && sim_in_cluster(s, j) &&
                           connected(s, i, j))) {
                mask |= 1u << j;
            }
        }
        /* Only fully connected groups have a defined outcome. */
        for (unsigned a = 0; a < nn; a++) {
            for (unsigned b = 0; b < nn; b++) {
                if (a != b && (mask & (1u << a)) && (mask & (1u << b)) &&
                    !connected(s, a, b)) {
                    return why(buf, len, "%s and %s are not connected",
                               sim_names[a], sim_names[b]);
                }
            }
        }
        seen |= mask;
        if (!group_converged(s, mask, buf, len)) {
            return false;
        }
    }
    return true;
}

/* ---- garbage ----------------------------------------------------------
 * Each kind breaks one thing that no correct node ever sends; whatever
 * the receiver's state, the message must be rejected and counted. */

#define GARBAGE_KINDS (16u)

static void valid_header(struct sim *s, struct baton_msg *m, unsigned p,
                         unsigned i)
{
    memset(m, 0, sizeof(*m));
    m->type = BATON_MSG_HEARTBEAT;
    m->from = (uint8_t)p;
    m->to = (uint8_t)i;
    m->from_inc = s->nodes[p].inc;
    m->to_inc = s->nodes[i].inc;
    m->seq = 1;
    m->status.role = BATON_ROLE_SEEKING;
    m->status.coord = BATON_NODE_NONE;
    m->status.synced = 1;
}

static void coordinator_status(struct baton_msg *m, unsigned p, baton_inc inc)
{
    m->status.role = BATON_ROLE_COORDINATOR;
    m->status.coord = (uint8_t)p;
    m->status.epoch = baton_epoch_make(1, p);
    m->status.index = 1;
    m->status.stream.coord = (uint8_t)p;
    m->status.stream.coord_inc = inc;
    m->status.stream.claim = m->status.epoch;
}

void sim_inject_garbage(struct sim *s, unsigned i, unsigned kind)
{
    struct baton_msg m;
    struct baton_event ev = {0};
    unsigned nn = s->cfg.n_nodes;
    unsigned p = (i + 1) % nn;
    const struct baton_node *n = &s->nodes[i].core;
    uint64_t before = 0;
    uint64_t after = 0;

    if (!sim_up(s, i)) {
        return;
    }
    kind %= GARBAGE_KINDS;
    if (nn == 1 && kind > 1) {
        kind = 0; /* no peer to impersonate */
    }
    if (kind == 10 && n->peers[p].inc < 2) {
        kind = 3;
    }
    valid_header(s, &m, p, i);
    switch (kind) {
    case 0:
        m.from = (uint8_t)(nn + (unsigned)baton_prng_below(&s->prng, 200));
        break;
    case 1:
        m.from = (uint8_t)i;
        break;
    case 2:
        m.to = (uint8_t)(nn > 1 ? p : 200);
        break;
    case 3:
        m.type = 0;
        break;
    case 4:
        m.type = 77;
        break;
    case 5:
        m.from_inc = 0;
        break;
    case 6:
        m.seq = 0;
        break;
    case 7:
        m.status.role = 9;
        break;
    case 8:
        m.status.coord = 0;
        break;
    case 9:
        coordinator_status(&m, p, m.from_inc);
        m.status.epoch = baton_epoch_make(2, (p + 1) % nn);
        break;
    case 10:
        m.from_inc = n->peers[p].inc - 1;
        break;
    case 11:
        coordinator_status(&m, p, m.from_inc);
        m.type = BATON_MSG_OP;
        m.u.op.stream = m.status.stream;
        m.u.op.index = 1;
        m.u.op.op.type = 99;
        break;
    case 12:
        coordinator_status(&m, p, m.from_inc);
        m.type = BATON_MSG_SNAPSHOT;
        m.u.snapshot.stream = m.status.stream;
        m.u.snapshot.index = 1;
        m.u.snapshot.join_seq = 1;
        m.u.snapshot.state.n_nodes = 0;
        m.u.snapshot.state.coord = (uint8_t)p;
        m.u.snapshot.state.coord_inc = m.from_inc;
        break;
    case 13:
        m.type = BATON_MSG_JOIN; /* from a sender that is not joining */
        break;
    case 14:
        m.status.role = BATON_ROLE_FOLLOWER;
        m.status.coord = (uint8_t)p; /* following itself */
        break;
    default:
        /* A join meant for another life of the receiver. */
        m.type = BATON_MSG_JOIN;
        m.status.role = BATON_ROLE_JOINING;
        m.status.coord = (uint8_t)i;
        m.to_inc = s->nodes[i].inc + 7;
        break;
    }
    for (unsigned r = 0; r < BATON_REJECT__COUNT; r++) {
        before += n->counters.rejected[r];
    }
    ev.type = BATON_EVENT_RECEIVE;
    ev.msg = &m;
    sim__step(s, i, &ev);
    for (unsigned r = 0; r < BATON_REJECT__COUNT; r++) {
        after += n->counters.rejected[r];
    }
    if (after != before + 1) {
        sim__fail(s, "%s did not reject garbage of kind %u", sim_names[i],
                  kind);
    }
    s->rejected++;
}
