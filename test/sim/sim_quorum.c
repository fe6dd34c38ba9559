/* Quorum mode in the simulator (docs/design/simulator.md §8): the
 * driver's Raft store, and the invariants of the nodes' Raft group.
 *
 * The store: each raft_write effect is copied when it is asked for and
 * made durable 1-5 ms later (5%: up to 200 ms more, a slow fsync), in
 * order; only then does the node get its PERSISTED. A crash loses every
 * write not yet durable; a restarted node boots from what is. A
 * raft_snapshot effect is saved at once, after the writes asked for
 * before it, as lib_raftlog_snapshot does (the driver's writes are
 * synchronous): the disk's log then keeps the entries after the
 * snapshot if it holds the one at its index with its term, else none.
 *
 * Checked after every step of every node, against true time, with each
 * node's clock drifting (sim_config.drift_ppm):
 *   - at most one leader per term;
 *   - no leader elected while an older leader's lease runs (on that
 *     leader's clock), and never two leaders holding a lease;
 *   - an entry committed anywhere has the same term at that index on
 *     every node that holds it, and every leader holds every entry
 *     committed before its term (never lost across crash and restart,
 *     including writes lost before PERSISTED);
 *   - quorum names (§6): an acknowledged write is in the committed
 *     table when acknowledged, and a lease read answers from a table as
 *     of the highest index committed anywhere (never a stale holder). */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

struct sim_write {
    uint64_t seq;
    uint64_t term;
    int vote;
    uint64_t from;
    uint32_t n;
    struct baton_raft_entry *entries;
};

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap != 0 ? *cap : 16;

    if (need <= *cap) {
        return p;
    }
    while (n < need) {
        n *= 2;
    }
    p = realloc(p, n * size);
    if (p == NULL) {
        abort(); /* the simulator's own memory: nothing to recover */
    }
    *cap = n;
    return p;
}

static void apply(struct sim *s, unsigned i, const struct sim_write *w);
static void check_reads(struct sim *s);
static void qn_apply(struct sim *s,
                     const struct baton_raft_entry *e,
                     uint64_t x);

/* Saves the step's snapshot, before its write (quorum.md §3 "Limits"). */
static void save_snapshot(struct sim *s, unsigned i)
{
    const struct baton_effects *fx = s->fx;
    struct sim_disk *d = &s->nodes[i].disk;

    if (fx->raft_snapshot.len == 0) {
        return;
    }
    if (fx->raft_snapshot.index <= d->snap_index ||
        fx->raft_snapshot.len > sizeof(d->snap)) {
        sim__fail(s, "%s saved snapshot %" PRIu64 " (%u bytes) over %" PRIu64,
                  sim_names[i], fx->raft_snapshot.index, fx->raft_snapshot.len,
                  d->snap_index);
        return;
    }
    /* The writes queued before it are on disk first (their PERSISTED
     * still comes when it was due). */
    for (size_t k = 0; k < d->n_w; k++) {
        apply(s, i, &d->w[k]);
        free(d->w[k].entries);
    }
    d->n_w = 0;
    if (fx->raft_snapshot.index == s->nodes[i].core.snap_index &&
        s->nodes[i].core.raft.snap_index != fx->raft_snapshot.index) {
        sim__fail(s, "%s: the group did not take snapshot %" PRIu64,
                  sim_names[i], fx->raft_snapshot.index);
    }
    if (d->n < fx->raft_snapshot.index ||
        d->log[fx->raft_snapshot.index - 1].term != fx->raft_snapshot.term) {
        d->n = fx->raft_snapshot.index; /* Raft's rule: none kept */
    }
    d->log = grow(d->log, &d->cap, d->n, sizeof(*d->log));
    d->snap_index = fx->raft_snapshot.index;
    d->snap_term = fx->raft_snapshot.term;
    memcpy(d->snap, fx->raft_snapshot.data, fx->raft_snapshot.len);
    d->snap_len = fx->raft_snapshot.len;
}

void sim__quorum_write(struct sim *s, unsigned i)
{
    const struct baton_raft_write *w = &s->fx->raft_write;
    struct sim_disk *d = &s->nodes[i].disk;
    struct sim_write *c;
    struct event ev = {0};

    save_snapshot(s, i);
    if (w->seq == 0) {
        return;
    }
    s->quorum_writes++;
    d->w = grow(d->w, &d->cap_w, d->n_w + 1, sizeof(*d->w));
    c = &d->w[d->n_w++];
    c->seq = w->seq;
    c->term = w->term;
    c->vote = w->vote;
    c->from = w->from_index;
    c->n = w->n;
    c->entries = NULL;
    if (w->n > 0) {
        c->entries = malloc(w->n * sizeof(*c->entries));
        if (c->entries == NULL) {
            abort();
        }
        memcpy(c->entries, w->entries, w->n * sizeof(*c->entries));
    }
    ev.t = BATON_MAX(d->free_us, s->now_us) + sim__rnd(s, 1000, 5000) +
           s->nodes[i].disk_extra_us;
    if (sim__rnd(s, 0, 99) < 5) {
        ev.t += sim__rnd(s, 20000, 200000); /* a slow fsync */
    }
    d->free_us = ev.t;
    ev.kind = EV_PERSIST;
    ev.node = (uint8_t)i;
    ev.life = s->nodes[i].life;
    ev.id = w->seq;
    sim__heap_push(s, ev);
}

/* Applies one durable write to the disk: term and vote, the cut, the
 * entries. */
static void apply(struct sim *s, unsigned i, const struct sim_write *w)
{
    struct sim_disk *d = &s->nodes[i].disk;

    d->term = w->term;
    d->vote = w->vote;
    if (w->from <= d->snap_index) {
        /* Written before the snapshot it precedes on disk, which covers
         * these entries: Raft's rule for what follows a snapshot. */
        uint64_t skip = d->snap_index + 1 - w->from;
        if (skip >= w->n) {
            d->n = BATON_MAX(d->n, d->snap_index);
            return;
        }
        d->n = d->snap_index;
        d->log = grow(d->log, &d->cap, d->n + w->n - skip, sizeof(*d->log));
        for (uint32_t k = (uint32_t)skip; k < w->n; k++) {
            d->log[d->n++] = w->entries[k];
        }
        return;
    }
    if (w->from == 0 || w->from - 1 > d->n) {
        sim__fail(s,
                  "%s wrote from index %" PRIu64
                  " past its disk's end "
                  "%" PRIu64,
                  sim_names[i], w->from, d->n);
        return;
    }
    d->n = w->from - 1;
    d->log = grow(d->log, &d->cap, d->n + w->n, sizeof(*d->log));
    for (uint32_t k = 0; k < w->n; k++) {
        d->log[d->n++] = w->entries[k];
    }
}

void sim__quorum_persist(struct sim *s, const struct event *ev)
{
    struct sim_disk *d = &s->nodes[ev->node].disk;
    struct baton_event bev = {0};
    size_t k = 0;

    while (k < d->n_w && d->w[k].seq <= ev->id) {
        apply(s, ev->node, &d->w[k]);
        free(d->w[k].entries);
        k++;
    }
    memmove(d->w, d->w + k, (d->n_w - k) * sizeof(*d->w));
    d->n_w -= k;
    bev.type = BATON_EVENT_PERSISTED;
    bev.seq = ev->id;
    sim__step(s, ev->node, &bev);
}

void sim__quorum_crash(struct sim *s, unsigned i)
{
    struct sim_disk *d = &s->nodes[i].disk;
    struct baton_counters *c = &s->nodes[i].core.counters;

    /* The life's counts, before a boot clears them. */
    s->snaps_taken += c->raft_snaps_taken;
    s->snaps_installed += c->raft_snaps_installed;
    c->raft_snaps_taken = c->raft_snaps_installed = 0;

    for (size_t k = 0; k < d->n_w; k++) {
        free(d->w[k].entries);
    }
    d->n_w = 0;
    d->free_us = 0;
}

void sim__quorum_disk(struct sim *s, unsigned i, struct baton_raft_disk *out)
{
    struct sim_disk *d = &s->nodes[i].disk;

    memset(out, 0, sizeof(*out));
    out->term = d->term;
    out->vote = d->vote;
    out->snap_index = d->snap_index;
    out->snap_term = d->snap_term;
    if (d->n < d->snap_index || d->n - d->snap_index > BATON_RAFT_LOG_MAX) {
        /* What lib_raftlog_open refuses (BATON_ERANGE): the node must
         * take snapshots often enough. */
        sim__fail(s,
                  "%s has %" PRIu64
                  " log entries after its snapshot at "
                  "%" PRIu64 ": more than a node holds",
                  sim_names[i], d->n - d->snap_index, d->snap_index);
        return;
    }
    out->n = (uint32_t)(d->n - d->snap_index);
    out->entries = out->n > 0 ? d->log + d->snap_index : NULL;
}

static void check_leader(struct sim *s, unsigned i)
{
    const struct baton_node *n = &s->nodes[i].core;
    uint64_t term = n->raft.term;

    if (n->raft.role != BATON_RAFT_LEADER) {
        return;
    }
    s->leader_of =
        grow(s->leader_of, &s->cap_terms, term + 1, sizeof(*s->leader_of));
    if (term >= s->n_terms) {
        memset(s->leader_of + s->n_terms, 0,
               (term + 1 - s->n_terms) * sizeof(*s->leader_of));
        s->n_terms = term + 1;
    }
    if (s->leader_of[term] == 0) {
        s->leader_of[term] = (uint8_t)(i + 1);
        /* Leader stickiness (quorum.md §4.1): an older leader's lease
         * must have run out on its own clock. (A leader of an older
         * term elected late holds no lease: the newer term's voters
         * refuse its heartbeats.) */
        for (unsigned k = 0; k < s->cfg.n_nodes; k++) {
            const struct baton_node *o = &s->nodes[k].core;
            uint64_t end, now;
            if (k == i || !s->nodes[k].up || !o->quorum ||
                o->raft.role != BATON_RAFT_LEADER || o->raft.term >= term) {
                continue;
            }
            end = baton_raft_lease_end(&o->raft);
            now = sim__clock_ms(s, k, s->now_us);
            if (end > now) {
                sim__fail(s,
                          "%s elected in term %" PRIu64
                          " while %s's "
                          "lease (term %" PRIu64 ") ran %" PRIu64 " ms more",
                          sim_names[i], term, sim_names[k], o->raft.term,
                          end - now);
                return;
            }
        }
        /* Leader completeness: it holds every entry committed so far. */
        for (uint64_t x = n->raft.first_index; x <= s->n_committed; x++) {
            const struct baton_raft_entry *e = baton_raft_entry_at(&n->raft, x);
            if (e == NULL || e->term != s->committed[x - 1]) {
                sim__fail(s,
                          "%s leads term %" PRIu64
                          " without committed "
                          "entry %" PRIu64 " (term %" PRIu64 ")",
                          sim_names[i], term, x, s->committed[x - 1]);
                return;
            }
        }
    } else if (s->leader_of[term] != i + 1) {
        sim__fail(s, "two leaders in term %" PRIu64 ": %s and %s", term,
                  sim_names[s->leader_of[term] - 1], sim_names[i]);
    }
}

/* At no instant do two leaders hold a lease, each on its own clock. */
static void check_leases(struct sim *s)
{
    unsigned holder = BATON_NODE_NONE;

    for (unsigned k = 0; k < s->cfg.n_nodes; k++) {
        const struct baton_node *o = &s->nodes[k].core;
        if (!s->nodes[k].up || !o->quorum ||
            o->raft.role != BATON_RAFT_LEADER ||
            baton_raft_lease_end(&o->raft) <= sim__clock_ms(s, k, s->now_us)) {
            continue;
        }
        if (holder != BATON_NODE_NONE) {
            sim__fail(s,
                      "leaders %s (term %" PRIu64 ") and %s (term %" PRIu64
                      ") both hold a lease",
                      sim_names[holder], s->nodes[holder].core.raft.term,
                      sim_names[k], o->raft.term);
            return;
        }
        holder = k;
    }
}

/* Grants (quorum.md §4.2, §7): a node's table only moves forward in a
 * life (epochs grow), never past its commit index, and the grant at an
 * index is the same on every node that applied it (committed grants are
 * never lost or changed). */
static void check_grants(struct sim *s, unsigned i)
{
    struct simnode *sn = &s->nodes[i];
    const struct baton_node *n = &sn->core;

    if (sn->grant_life != sn->life) {
        memset(sn->grant_seen, 0, sizeof(sn->grant_seen));
        sn->grant_life = sn->life;
    }
    for (unsigned a = 0; a < n->cfg.n_apps; a++) {
        uint64_t epoch;
        unsigned owner = baton_node_grant(n, a, &epoch);
        struct sim_grant *g;
        if (epoch < sn->grant_seen[a]) {
            sim__fail(
                s,
                "%s: grant of %s went back from epoch %" PRIu64 " to %" PRIu64,
                sim_names[i], n->cfg.apps[a].name, sn->grant_seen[a], epoch);
            return;
        }
        sn->grant_seen[a] = epoch;
        if (epoch == 0) {
            continue;
        }
        if (epoch > n->raft.commit) {
            sim__fail(s,
                      "%s applied grant %" PRIu64 " past its commit %" PRIu64,
                      sim_names[i], epoch, n->raft.commit);
            return;
        }
        if (epoch > s->cap_grant_at) {
            size_t old = s->cap_grant_at;
            s->grant_at = grow(s->grant_at, &s->cap_grant_at, epoch,
                               sizeof(*s->grant_at));
            memset(s->grant_at + old, 0,
                   (s->cap_grant_at - old) * sizeof(*s->grant_at));
        }
        g = &s->grant_at[epoch - 1];
        if (g->app1 == 0) {
            g->app1 = (uint8_t)(a + 1);
            g->owner = (uint8_t)owner;
        } else if (g->app1 != a + 1 || g->owner != owner) {
            sim__fail(s,
                      "%s: grant %" PRIu64
                      " gives %s to %s, elsewhere app "
                      "%u to node %u",
                      sim_names[i], epoch, n->cfg.apps[a].name,
                      owner < SIM_NODES_MAX ? sim_names[owner] : "none",
                      g->app1 - 1u, g->owner);
            return;
        }
    }
}

void sim_set_disk_delay(struct sim *s, unsigned i, uint64_t extra_us)
{
    s->nodes[i].disk_extra_us = extra_us;
}

bool sim__shim_dead(const struct sim *s, unsigned i, unsigned a)
{
    const struct simnode *sn = &s->nodes[i];

    return s->cfg.shim && sn->inst[a].shim_until != 0 &&
           sim__clock_ms(s, i, s->now_us) >= sn->inst[a].shim_until;
}

/* Is node k's instance of quorum app a alive: started, ready, or told
 * to stop and not gone yet (a stop may hang: only the kill at lease
 * end bounds it, quorum.md §4.4)? With the shim modelled it runs on
 * while its node is paused, until the shim's timer kills it; without
 * (libbaton) it is frozen with its node and cannot act. */
static bool inst_live(struct sim *s, unsigned k, unsigned a)
{
    struct simnode *sn = &s->nodes[k];
    unsigned st = sn->inst[a].st;

    if (st == 0 || st == 4 || (sn->paused && !s->cfg.shim)) {
        return false;
    }
    if (sim__shim_dead(s, k, a)) {
        if (!sn->inst[a].shim_killed) {
            sn->inst[a].shim_killed = true;
            s->shim_kills++;
            /* The node stops its instance at lease end - M, before the
             * shim's timer (LEASE is never more than M/2 short of the
             * end): only a paused node leaves it to the shim. */
            if (!sn->paused && st != 3) {
                sim__fail(s,
                          "the shim killed %s's %s before its node "
                          "stopped it",
                          sim_names[k], s->cfg.apps[a].name);
            }
        }
        return false;
    }
    return true;
}

/* Invariant 1 (quorum.md §7): at no instant of true time do two nodes
 * hold a live lease on one quorum app, each on its own drifting clock
 * (a paused node's lease runs on), nor have a live instance of it
 * (inst_live: a stopping one counts until it is gone or killed).
 * Run once a step's app effects are carried out. */
void sim__quorum_check_apps(struct sim *s)
{
    for (unsigned a = 0; a < s->cfg.n_apps; a++) {
        unsigned holder = BATON_NODE_NONE, runner = BATON_NODE_NONE;
        if (s->cfg.apps[a].mode != BATON_APP_QUORUM) {
            continue;
        }
        for (unsigned k = 0; k < s->cfg.n_nodes; k++) {
            const struct simnode *sn = &s->nodes[k];
            if (!sn->up) {
                continue;
            }
            if (baton_node_lease_end(&sn->core, a) >
                sim__clock_ms(s, k, s->now_us)) {
                if (holder != BATON_NODE_NONE) {
                    sim__fail(
                        s,
                        "%s and %s both hold a lease on %s (to %" PRIu64
                        " and %" PRIu64 " ms on their clocks, now %" PRIu64
                        " and %" PRIu64 ")",
                        sim_names[holder], sim_names[k], s->cfg.apps[a].name,
                        baton_node_lease_end(&s->nodes[holder].core, a),
                        baton_node_lease_end(&sn->core, a),
                        sim__clock_ms(s, holder, s->now_us),
                        sim__clock_ms(s, k, s->now_us));
                    return;
                }
                holder = k;
            }
            if (inst_live(s, k, a)) {
                if (runner != BATON_NODE_NONE) {
                    sim__fail(s, "quorum app %s runs on %s and %s",
                              s->cfg.apps[a].name, sim_names[runner],
                              sim_names[k]);
                    return;
                }
                runner = k;
            }
        }
    }
}

void sim__quorum_check(struct sim *s, unsigned i)
{
    const struct baton_node *n = &s->nodes[i].core;

    if (!n->quorum) {
        return;
    }
    check_leader(s, i);
    check_leases(s);
    check_grants(s, i);
    /* Every entry it has committed: recorded the first time, the same
     * term at that index ever after. */
    for (uint64_t x = n->raft.first_index; x <= n->raft.commit; x++) {
        const struct baton_raft_entry *e = baton_raft_entry_at(&n->raft, x);
        if (e == NULL) {
            continue;
        }
        if (x > s->n_committed) {
            if (x != s->n_committed + 1) {
                sim__fail(s,
                          "%s committed %" PRIu64
                          " past the known end "
                          "%zu",
                          sim_names[i], x, s->n_committed);
                return;
            }
            s->committed =
                grow(s->committed, &s->cap_committed, x, sizeof(*s->committed));
            s->committed[x - 1] = e->term;
            s->n_committed = x;
            qn_apply(s, e, x);
        } else if (s->committed[x - 1] != e->term) {
            sim__fail(s,
                      "%s committed entry %" PRIu64 " of term %" PRIu64
                      ", another node one of term %" PRIu64,
                      sim_names[i], x, e->term, s->committed[x - 1]);
            return;
        }
    }
    check_reads(s);
}

/* ---- quorum names (quorum.md §6) ------------------------------------ */

static const struct baton_qname *truth_of(const struct sim *s, const char *name)
{
    for (unsigned k = 0; k < BATON_QNAMES_MAX; k++) {
        if (s->qn_truth[k].name[0] != '\0' &&
            strcmp(s->qn_truth[k].name, name) == 0) {
            return &s->qn_truth[k];
        }
    }
    return NULL;
}

/* Entry x is committed: applies it to the simulator's table and keeps
 * its answer and the holders after it. */
static void qn_apply(struct sim *s,
                     const struct baton_raft_entry *e,
                     uint64_t x)
{
    struct sim_qat *a;

    s->qn_at = grow(s->qn_at, &s->cap_qn_at, x, sizeof(*s->qn_at));
    a = &s->qn_at[x - 1];
    memset(a, 0, sizeof(*a));
    a->code =
        baton_qnames_apply(s->qn_truth, &s->qn_count, s->cfg.n_nodes, e, x);
    for (unsigned q = 0; q < 4; q++) {
        char name[16];
        const struct baton_qname *t;
        snprintf(name, sizeof(name), "q%u", q);
        t = truth_of(s, name);
        if (t != NULL) {
            a->h[q].set = true;
            a->h[q].owner = t->owner;
            a->h[q].inc = t->inc;
            a->h[q].endpoint = t->endpoint;
        }
    }
}

uint64_t sim_qname_write(struct sim *s,
                         unsigned i,
                         unsigned kind,
                         unsigned ep,
                         unsigned name)
{
    struct baton_name_req q;
    struct baton_event ev = {0};
    struct sim_qreq *r;

    if (!sim_up(s, i) || ep >= 3 || !s->nodes[i].core.quorum) {
        return 0;
    }
    s->qreqs = grow(s->qreqs, &s->cap_qreqs, s->n_qreqs + 1, sizeof(*r));
    r = &s->qreqs[s->n_qreqs++];
    memset(r, 0, sizeof(*r));
    r->id = SIM_QNAME_TAG | ++s->qn_next;
    r->endpoint = 1000 + ep;
    r->inc = s->nodes[i].core.inc;
    r->life = s->nodes[i].life;
    r->node = (uint8_t)i;
    r->kind = (uint8_t)kind;
    r->name = (uint8_t)name;
    r->used = true;
    memset(&q, 0, sizeof(q));
    q.id = r->id;
    q.kind = (uint8_t)kind;
    q.quorum = 1;
    q.endpoint = r->endpoint;
    snprintf(q.name, sizeof(q.name), "q%u", name);
    if (s->cfg.print_trace) {
        printf("%6" PRIu64 " %s: [sim] quorum %s q%u ep %u (id %" PRIu64 ")\n",
               s->now_us / SIM_MS, sim_names[i],
               kind == BATON_NAME_REGISTER ? "register" : "unregister", name,
               ep, r->id & ~SIM_QNAME_TAG);
    }
    ev.type = BATON_EVENT_NAME;
    ev.name_req = &q;
    sim__step(s, i, &ev);
    return r->id;
}

void sim__qname_done(struct sim *s,
                     unsigned i,
                     const struct baton_name_effect *e)
{
    struct sim_qreq *r = NULL;
    const struct sim_qat *a;
    const struct sim_qheld *h;
    bool mine;

    for (size_t k = 0; k < s->n_qreqs; k++) {
        if (s->qreqs[k].id == e->id) {
            r = &s->qreqs[k];
        }
    }
    if (r == NULL || !r->used || r->node != i || r->life != s->nodes[i].life) {
        sim__fail(s,
                  "%s answered quorum name write %" PRIu64
                  " it was not given (or twice)",
                  sim_names[i], e->id & ~SIM_QNAME_TAG);
        return;
    }
    r->used = false;
    if (e->epoch == 0) {
        /* No entry of its own committed: UNAVAILABLE, BUSY, TIMEOUT,
         * INVALID, none of which claims anything. */
        if (e->code == BATON_NAME_OK || e->code == BATON_NAME_TAKEN ||
            e->code == BATON_NAME_NOT_OWNER ||
            e->code == BATON_NAME_NOT_FOUND) {
            sim__fail(s,
                      "%s answered quorum name write %" PRIu64
                      " %s without a committed entry",
                      sim_names[i], e->id & ~SIM_QNAME_TAG,
                      baton_name_code_name(e->code));
        }
        return;
    }
    if (e->epoch > s->n_committed) {
        sim__fail(s,
                  "%s answered quorum name write %" PRIu64
                  " %s at index %" PRIu64 ", committed only up to %zu",
                  sim_names[i], e->id & ~SIM_QNAME_TAG,
                  baton_name_code_name(e->code), e->epoch, s->n_committed);
        return;
    }
    a = &s->qn_at[e->epoch - 1];
    h = &a->h[r->name];
    mine = h->set && h->owner == i && h->inc == r->inc &&
           h->endpoint == r->endpoint;
    if (a->code != e->code ||
        (e->code == BATON_NAME_OK && r->kind == BATON_NAME_REGISTER && !mine) ||
        (e->code == BATON_NAME_OK && r->kind == BATON_NAME_UNREGISTER &&
         mine) ||
        (e->code == BATON_NAME_TAKEN && (!h->set || mine))) {
        sim__fail(s,
                  "%s answered quorum %s of q%u (endpoint %" PRIu64
                  ") %s at index %" PRIu64 "; committed there: %s, held by %s",
                  sim_names[i],
                  r->kind == BATON_NAME_REGISTER ? "register" : "unregister",
                  r->name, r->endpoint, baton_name_code_name(e->code), e->epoch,
                  a->code >= 0 ? baton_name_code_name((unsigned)a->code)
                               : "no name entry",
                  h->set ? sim_names[h->owner] : "none");
        return;
    }
    if (e->code == BATON_NAME_OK) {
        s->qn_acked++;
    }
}

/* Every live node's lease read of every name the simulator writes: an
 * answer (not UNAVAILABLE) comes from a table as of the highest index
 * committed anywhere so far, and matches it. Reads are local and
 * instant, so "some instant between request and answer" is now. */
static void check_reads(struct sim *s)
{
    for (unsigned k = 0; k < s->cfg.n_nodes; k++) {
        const struct baton_node *o = &s->nodes[k].core;
        uint64_t now;
        if (!sim_up(s, k) || !o->quorum) {
            continue;
        }
        now = sim__clock_ms(s, k, s->now_us);
        for (unsigned q = 0; q < 4; q++) {
            char name[16];
            struct baton_qname got;
            const struct baton_qname *t;
            unsigned code;
            snprintf(name, sizeof(name), "q%u", q);
            code = baton_node_qwhereis(o, now, name, &got);
            if (code == BATON_NAME_UNAVAILABLE) {
                continue;
            }
            s->qn_reads++;
            t = truth_of(s, name);
            if (o->raft.commit != s->n_committed ||
                (code == BATON_NAME_OK) != (t != NULL) ||
                (t != NULL &&
                 (got.owner != t->owner || got.inc != t->inc ||
                  got.endpoint != t->endpoint || got.epoch != t->epoch))) {
                sim__fail(s,
                          "%s read quorum name %s as %s at commit %" PRIu64
                          "; committed (index %zu): %s",
                          sim_names[k], name,
                          code == BATON_NAME_OK ? sim_names[got.owner] : "none",
                          o->raft.commit, s->n_committed,
                          t == NULL ? "none" : sim_names[t->owner]);
                return;
            }
        }
    }
}

void sim_qname_stats(const struct sim *s, uint64_t *acked, uint64_t *reads)
{
    *acked = s->qn_acked;
    *reads = s->qn_reads;
}

void sim__quorum_free(struct sim *s)
{
    free(s->qreqs);
    free(s->qn_at);
    for (unsigned i = 0; i < SIM_NODES_MAX; i++) {
        sim__quorum_crash(s, i);
        free(s->nodes[i].disk.w);
        free(s->nodes[i].disk.log);
    }
    free(s->leader_of);
    free(s->committed);
    free(s->grant_at);
}
