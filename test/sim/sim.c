/* The simulator harness. Happy path: events (message deliveries, link
 * changes, node timers) are taken in virtual-time order from one heap and
 * fed to the real core. Failure modes it produces on purpose: loss,
 * duplication, reordering, delay, one-way and two-way partitions,
 * crashes with restarts under a new incarnation, pauses, garbage. */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

const char *const sim_names[SIM_NODES_MAX] = {"a", "b", "c", "d", "e",
                                              "f", "g", "h", "i"};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        fprintf(stderr, "baton-sim: out of memory\n");
        exit(2);
    }
    return q;
}

void sim__fail(struct sim *s, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (s->failed) {
        return;
    }
    s->failed = true;
    k = snprintf(s->failure, sizeof(s->failure), "t=%" PRIu64 "ms: ",
                 s->now_us / SIM_MS);
    va_start(ap, fmt);
    vsnprintf(s->failure + k, sizeof(s->failure) - (size_t)k, fmt, ap);
    va_end(ap);
}

/* ---- event heap ------------------------------------------------------ */

static bool ev_before(const struct event *a, const struct event *b)
{
    return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static void heap_push(struct sim *s, struct event ev)
{
    size_t i;

    if (s->n_heap == s->cap_heap) {
        s->cap_heap = s->cap_heap ? s->cap_heap * 2 : 256;
        s->heap = xrealloc(s->heap, s->cap_heap * sizeof(*s->heap));
    }
    ev.order = ++s->order;
    i = s->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(&ev, &s->heap[parent])) {
            break;
        }
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = ev;
}

void sim__heap_push(struct sim *s, struct event ev)
{
    heap_push(s, ev);
}

static struct event heap_pop(struct sim *s)
{
    struct event top = s->heap[0];
    struct event last = s->heap[--s->n_heap];
    size_t i = 0;

    for (;;) {
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        size_t m = i;
        const struct event *best = &last;
        if (l < s->n_heap && ev_before(&s->heap[l], best)) {
            m = l;
            best = &s->heap[l];
        }
        if (r < s->n_heap && ev_before(&s->heap[r], best)) {
            m = r;
        }
        if (m == i) {
            break;
        }
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->n_heap > 0) {
        s->heap[i] = last;
    }
    return top;
}

static uint64_t rnd(struct sim *s, uint64_t lo, uint64_t hi)
{
    return lo + baton_prng_below(&s->prng, hi - lo + 1);
}

uint64_t sim__rnd(struct sim *s, uint64_t lo, uint64_t hi)
{
    return rnd(s, lo, hi);
}

/* ---- checker maps ---------------------------------------------------- */

static uint64_t stream_hash(const struct baton_stream *st, uint64_t index)
{
    uint64_t h = st->claim * 0x9e3779b97f4a7c15ull;
    h ^= st->coord_inc * 0xc2b2ae3d27d4eb4full + st->coord;
    h ^= index * 0x165667b19e3779f9ull;
    return h ^ (h >> 29);
}

static struct digest_entry *digest_slot(struct sim *s,
                                        const struct baton_stream *st,
                                        uint64_t index)
{
    size_t mask;
    size_t i;

    if (2 * (s->n_digests + 1) > s->cap_digests) {
        struct digest_entry *old = s->digests;
        size_t old_cap = s->cap_digests;
        s->cap_digests = old_cap ? old_cap * 2 : 1024;
        s->digests = calloc(s->cap_digests, sizeof(*s->digests));
        if (s->digests == NULL) {
            fprintf(stderr, "baton-sim: out of memory\n");
            exit(2);
        }
        s->n_digests = 0;
        for (size_t k = 0; k < old_cap; k++) {
            if (old[k].used) {
                struct digest_entry *e =
                    digest_slot(s, &old[k].stream, old[k].index);
                *e = old[k];
                s->n_digests++;
            }
        }
        free(old);
    }
    mask = s->cap_digests - 1;
    i = (size_t)stream_hash(st, index) & mask;
    while (s->digests[i].used &&
           !(s->digests[i].index == index &&
             baton_stream_equal(&s->digests[i].stream, st))) {
        i = (i + 1) & mask;
    }
    return &s->digests[i];
}

/* Records or checks the replica digest at (stream, index). */
static void check_digest(struct sim *s, unsigned node,
                         const struct baton_stream *st, uint64_t index,
                         uint64_t digest)
{
    struct digest_entry *e = digest_slot(s, st, index);

    if (!e->used) {
        e->used = true;
        e->stream = *st;
        e->index = index;
        e->digest = digest;
        s->n_digests++;
        return;
    }
    if (e->digest != digest) {
        sim__fail(s,
             "replicas diverged: %s holds state %016" PRIx64
             " at index %" PRIu64 " of %s's stream, which had %016" PRIx64,
             sim_names[node], digest, index, sim_names[st->coord],
             e->digest);
    }
}

static void check_claim(struct sim *s, unsigned node, baton_epoch epoch)
{
    size_t i;

    if (2 * (s->n_claims + 1) > s->cap_claims) {
        struct claim_entry *old = s->claims;
        size_t old_cap = s->cap_claims;
        s->cap_claims = old_cap ? old_cap * 2 : 256;
        s->claims = calloc(s->cap_claims, sizeof(*s->claims));
        if (s->claims == NULL) {
            exit(2);
        }
        s->n_claims = 0;
        for (size_t k = 0; k < old_cap; k++) {
            if (old[k].used) {
                check_claim(s, old[k].node, old[k].epoch);
            }
        }
        free(old);
    }
    i = (size_t)(epoch * 0x9e3779b97f4a7c15ull) & (s->cap_claims - 1);
    while (s->claims[i].used && s->claims[i].epoch != epoch) {
        i = (i + 1) & (s->cap_claims - 1);
    }
    if (!s->claims[i].used) {
        s->claims[i].used = true;
        s->claims[i].epoch = epoch;
        s->claims[i].node = node;
        s->n_claims++;
    } else if (s->claims[i].node != node) {
        sim__fail(s, "epoch %" PRIu64 ".%u claimed by both %s and %s",
             baton_epoch_term(epoch), baton_epoch_node(epoch),
             sim_names[s->claims[i].node], sim_names[node]);
    }
}

/* ---- invariants ------------------------------------------------------ */

static void check_trace(struct sim *s, unsigned i, const struct baton_trace *t)
{
    struct shadow *sh = &s->nodes[i].sh;

    switch (t->type) {
    case BATON_TRACE_ROLE:
        if (t->role == BATON_ROLE_COORDINATOR) {
            check_claim(s, i, t->a);
        }
        break;
    case BATON_TRACE_APPLIED:
        if (baton_stream_equal(&t->stream, &sh->stream)) {
            if (t->a != sh->applied + 1) {
                sim__fail(s,
                     "%s applied index %" PRIu64 " after %" PRIu64
                     " (out of order or twice)",
                     sim_names[i], t->a, sh->applied);
            }
        } else if (t->a != 1 || t->stream.coord != i) {
            sim__fail(s, "%s applied index %" PRIu64 " of a stream it never joined",
                 sim_names[i], t->a);
        }
        sh->stream = t->stream;
        sh->applied = t->a;
        check_digest(s, i, &t->stream, t->a, t->c);
        break;
    case BATON_TRACE_SNAPSHOT:
        if (baton_stream_equal(&t->stream, &sh->stream) &&
            t->a <= sh->applied) {
            sim__fail(s,
                 "%s installed a snapshot at index %" PRIu64
                 " after applying %" PRIu64,
                 sim_names[i], t->a, sh->applied);
        }
        sh->stream = t->stream;
        sh->applied = t->a;
        check_digest(s, i, &t->stream, t->a, t->c);
        break;
    case BATON_TRACE_APP:
        sim__apps_trace(s, i, t);
        break;
    default:
        break;
    }
}

static void check_node(struct sim *s, unsigned i)
{
    const struct baton_node *n = &s->nodes[i].core;
    struct shadow *sh = &s->nodes[i].sh;
    unsigned nn = n->cfg.n_nodes;

    switch (n->role) {
    case BATON_ROLE_COORDINATOR:
        if (!n->cfg.candidate[i] || n->state.coord != i ||
            n->stream.coord != i || n->stream.coord_inc != n->inc) {
            sim__fail(s, "%s coordinates without being a candidate or the "
                    "coordinator of its own replica", sim_names[i]);
        }
        break;
    case BATON_ROLE_FOLLOWER:
    case BATON_ROLE_JOINING:
        if (n->target >= nn || n->target == i ||
            !n->cfg.candidate[n->target]) {
            sim__fail(s, "%s follows an impossible coordinator %u", sim_names[i],
                 n->target);
        }
        break;
    case BATON_ROLE_SEEKING:
        if (n->target != BATON_NODE_NONE) {
            sim__fail(s, "%s seeks but names coordinator %u", sim_names[i],
                 n->target);
        }
        break;
    default:
        sim__fail(s, "%s has impossible role %u", sim_names[i], n->role);
    }
    if (n->counters.replica_mismatches != 0) {
        sim__fail(s, "%s's replica could not apply its coordinator's op",
                  sim_names[i]);
    }
    if (baton_state_validate(&n->state, nn) != 0) {
        sim__fail(s, "%s holds an invalid replica", sim_names[i]);
    }
    if (n->epoch < sh->epoch || n->term_seen < sh->term_seen) {
        sim__fail(s, "%s's epoch went back from %" PRIu64 " to %" PRIu64,
             sim_names[i], sh->epoch, n->epoch);
    }
    sh->epoch = n->epoch;
    sh->term_seen = n->term_seen;
    for (unsigned p = 0; p < nn; p++) {
        if (n->peers[p].inc < sh->peer_inc[p] ||
            n->state.nodes[p].inc < sh->state_inc[p]) {
            sim__fail(s, "%s's incarnation of %s went back", sim_names[i],
                 sim_names[p]);
        }
        sh->peer_inc[p] = n->peers[p].inc;
        sh->state_inc[p] = n->state.nodes[p].inc;
    }
    /* The traces must account for every change of the replica. */
    if (n->applied != sh->applied ||
        (n->applied != 0 && !baton_stream_equal(&n->stream, &sh->stream))) {
        sim__fail(s, "%s's replica moved without an applied/snapshot trace",
             sim_names[i]);
    }
}

/* ---- stepping -------------------------------------------------------- */

static void keep_line(struct sim *s, const char *line)
{
    if (s->cfg.print_trace) {
        printf("%s\n", line);
    }
    if (!s->cfg.keep_trace) {
        return;
    }
    if (s->n_lines == s->cap_lines) {
        s->cap_lines = s->cap_lines ? s->cap_lines * 2 : 256;
        s->lines = xrealloc(s->lines, (size_t)s->cap_lines * sizeof(char *));
    }
    s->lines[s->n_lines] = xrealloc(NULL, strlen(line) + 1);
    strcpy(s->lines[s->n_lines++], line);
}

/* A driver's line in the trace (link resets), formatted as the core's. */
void sim__keep_line(struct sim *s, unsigned i, const char *text)
{
    char line[256];

    if (s->cfg.print_trace || s->cfg.keep_trace) {
        snprintf(line, sizeof(line), "%6" PRIu64 " %s: %s",
                 s->now_us / SIM_MS, sim_names[i], text);
        keep_line(s, line);
    }
}

/* The network's copy of a message: what it borrows (a state, a name
 * table, call data) is copied right behind it. */
struct baton_msg *sim__copy_msg(const struct baton_msg *m)
{
    const struct baton_names *t = NULL;
    uint32_t first = 0;
    uint32_t end = 0;
    uint32_t count = 0;
    const uint8_t *data = NULL;
    uint32_t len = 0;
    uint32_t cap = 0;
    size_t size = sizeof(*m);
    struct baton_msg *c;
    char *tail;

    if (m->type == BATON_MSG_JOIN) {
        t = m->u.join.names;
    } else if (m->type == BATON_MSG_SNAPSHOT) {
        t = m->u.snapshot.names;
    } else if (m->type == BATON_MSG_STATE) {
        data = m->u.state.data;
        len = m->u.state.len;
    } else if (m->type == BATON_MSG_CALL) {
        data = m->u.call.data;
        len = m->u.call.len;
    } else if (m->type == BATON_MSG_REPLY) {
        data = m->u.reply.data;
        len = m->u.reply.len;
    } else if (m->type == BATON_MSG_RAFT) {
        data = m->u.raft.m.data;
        len = m->u.raft.m.len;
    } else if (m->type == BATON_MSG_MEMBERS && m->u.members.list != NULL) {
        /* The list is the sender's, which its next step may change. */
        data = (const uint8_t *)m->u.members.list;
        len = (uint32_t)sizeof(*m->u.members.list);
    }
    if (t != NULL) {
        /* A snapshot part carries only its slice of slots, as on the
         * wire. */
        end = t->cap;
        if (m->type == BATON_MSG_SNAPSHOT && m->u.snapshot.slot_end != 0) {
            first = m->u.snapshot.slot_first;
            end = BATON_MIN(m->u.snapshot.slot_end, t->cap);
        }
        for (uint32_t i = first; i < end; i++) {
            count += t->slot[i].used != 0;
        }
        cap = 4;
        while (baton_names_limit(cap) < count) {
            cap *= 2;
        }
        size += sizeof(struct baton_names) + cap * sizeof(struct baton_name);
    }
    c = xrealloc(NULL, size + len);
    *c = *m;
    tail = (char *)(c + 1);
    if (t != NULL) {
        struct baton_names *ct = (struct baton_names *)(void *)tail;
        struct baton_name *slots =
            (struct baton_name *)(void *)(tail + sizeof(*ct));
        memset(slots, 0, cap * sizeof(struct baton_name));
        baton_names_init(ct, slots, cap);
        for (uint32_t i = first; i < end; i++) {
            if (t->slot[i].used && baton_names_put(ct, &t->slot[i]) != 0) {
                abort();
            }
        }
        if (m->type == BATON_MSG_JOIN) {
            c->u.join.names = ct;
        } else {
            c->u.snapshot.names = ct;
            c->u.snapshot.slot_first = c->u.snapshot.slot_end = 0;
        }
        tail += sizeof(*ct) + cap * sizeof(struct baton_name);
    }
    if (len > 0) {
        memcpy(tail, data, len);
        if (m->type == BATON_MSG_STATE) {
            c->u.state.data = (const uint8_t *)tail;
        } else if (m->type == BATON_MSG_CALL) {
            c->u.call.data = (const uint8_t *)tail;
        } else if (m->type == BATON_MSG_RAFT) {
            c->u.raft.m.data = (const uint8_t *)tail;
        } else if (m->type == BATON_MSG_MEMBERS) {
            c->u.members.list = (const struct baton_members *)(void *)tail;
        } else {
            c->u.reply.data = (const uint8_t *)tail;
        }
    }
    if (m->type == BATON_MSG_RAFT && m->u.raft.m.n_entries > 0) {
        /* The entries point into the sender's log, which its next step
         * may change: the copy holds them, as a decoded message does. */
        memcpy(c->u.raft.entries, m->u.raft.m.entries,
               m->u.raft.m.n_entries * sizeof(c->u.raft.entries[0]));
        c->u.raft.m.entries = c->u.raft.entries;
    }
    return c;
}

/* Records a start's (or a new token's) token; a token used twice for
 * one app is a broken fencing guarantee. */
static void check_start(struct sim *s, unsigned i, unsigned a, uint64_t epoch)
{
    uint64_t key = ((uint64_t)a << 58) ^ epoch;
    size_t k;

    if (epoch <= s->nodes[i].inst[a].last_epoch) {
        sim__fail(s, "%s started app %u with epoch %" PRIu64
                     " after %" PRIu64 " (fencing token went back)",
                  sim_names[i], a, epoch, s->nodes[i].inst[a].last_epoch);
    }
    s->nodes[i].inst[a].last_epoch = epoch;
    if (2 * (s->n_starts + 1) > s->cap_starts) {
        struct start_entry *old = s->starts;
        size_t old_cap = s->cap_starts;
        s->cap_starts = old_cap ? old_cap * 2 : 256;
        s->starts = calloc(s->cap_starts, sizeof(*s->starts));
        if (s->starts == NULL) {
            exit(2);
        }
        for (size_t j = 0; j < old_cap; j++) {
            if (old[j].used) {
                k = (size_t)(old[j].key * 0x9e3779b97f4a7c15ull) &
                    (s->cap_starts - 1);
                while (s->starts[k].used) {
                    k = (k + 1) & (s->cap_starts - 1);
                }
                s->starts[k] = old[j];
            }
        }
        free(old);
    }
    k = (size_t)(key * 0x9e3779b97f4a7c15ull) & (s->cap_starts - 1);
    while (s->starts[k].used) {
        if (s->starts[k].key == key) {
            sim__fail(s, "app %u started twice with epoch %" PRIu64
                         " (second time on %s)",
                      a, epoch, sim_names[i]);
            return;
        }
        k = (k + 1) & (s->cap_starts - 1);
    }
    s->starts[k].used = true;
    s->starts[k].key = key;
    s->n_starts++;
}

/* The event app_event_later() just queued for (i, a, epoch) is an
 * export's completion, not an instance change. */
static void retag_export(struct sim *s, unsigned i, unsigned a,
                         uint64_t epoch)
{
    for (size_t k = 0; k < s->n_heap; k++) {
        struct event *ev = &s->heap[k];
        if (ev->kind == EV_APP && ev->node == i && ev->app == a &&
            ev->epoch == epoch && ev->order == s->order) {
            ev->kind = EV_EXPORT;
        }
    }
}

static void app_event_later(struct sim *s, unsigned i, unsigned a,
                            unsigned what, uint64_t epoch, uint64_t delay)
{
    struct event ev = {0};

    ev.kind = EV_APP;
    ev.t = s->now_us + delay;
    ev.node = (uint8_t)i;
    ev.life = s->nodes[i].life;
    ev.app = (uint8_t)a;
    ev.what = (uint8_t)what;
    ev.epoch = epoch;
    heap_push(s, ev);
}

/* The app runtime: instances get ready (or fail) a little after they
 * start, and stop a little after they are told to. */
static void apps_run(struct sim *s, unsigned i)
{
    struct simnode *sn = &s->nodes[i];

    for (unsigned k = 0; k < s->fx->n_app; k++) {
        const struct baton_app_effect *e = &s->fx->app[k];
        unsigned a = e->app;
        if (e->action == BATON_APP_START) {
            check_start(s, i, a, e->epoch);
            s->starts_of[a]++;
            sn->inst[a].st = 1;
            sn->inst[a].epoch = e->epoch;
            sn->inst[a].hangs = false;
            sn->inst[a].shim_until = 0;
            sn->inst[a].shim_killed = false;
            /* One draw after the other: C leaves the order in which a
             * call's arguments are evaluated open, and gcc and clang
             * differ, so draws inside one call made runs differ between
             * builds. This is the order gcc used. */
            uint64_t delay = rnd(s, 1000, 10000);
            bool fails = baton_prng_chance(&s->prng, s->cfg.app_fail_ppm);
            app_event_later(s, i, a,
                            fails ? BATON_APP_EV_FAILED : BATON_APP_EV_READY,
                            e->epoch, delay);
        } else if (e->action == BATON_APP_EXPORT) {
            /* The export's output names the app and the takeover's
             * token, so its arrival can be checked; 10% fail. */
            uint64_t delay = rnd(s, 1000, 5000); /* order: as above */
            bool fails = baton_prng_chance(&s->prng, 100000);
            app_event_later(s, i, a, fails ? 0 : 1, e->epoch, delay);
            retag_export(s, i, a, e->epoch);
        } else if (e->action == BATON_APP_STATE) {
            char want[64];
            snprintf(want, sizeof(want), "state:%u:%" PRIu64, a, e->epoch);
            if (e->ok && (e->len != strlen(want) ||
                          memcmp(e->data, want, e->len) != 0)) {
                sim__fail(s, "%s got a state for app %u epoch %" PRIu64
                             " that is not the exporter's",
                          sim_names[i], a, e->epoch);
            }
            s->states_delivered++;
        } else if (e->action == BATON_APP_TOKEN) {
            /* The running instance goes on under a new token: it must
             * be one never used, like a start's (apps.md §4). */
            if (sn->inst[a].st != 2) {
                sim__fail(s, "%s gives app %u a new token, but it does not "
                             "run there", sim_names[i], a);
            }
            check_start(s, i, a, e->epoch);
            sn->inst[a].epoch = e->epoch;
        } else if (e->action == BATON_APP_STOP) {
            if (sn->inst[a].st == 0) {
                sim__fail(s, "%s stops app %u, which does not run there",
                          sim_names[i], a);
            }
            sn->inst[a].st = 3;
            /* An instance that ignores its STOP ends only when killed
             * (quorum.md §4.4); one the shim killed is gone already. */
            if (s->cfg.stop_hang_ppm != 0 &&
                s->cfg.apps[a].mode == BATON_APP_QUORUM &&
                !sim__shim_dead(s, i, a) &&
                baton_prng_chance(&s->prng, s->cfg.stop_hang_ppm)) {
                sn->inst[a].hangs = true;
                continue;
            }
            app_event_later(s, i, a, BATON_APP_EV_STOPPED, sn->inst[a].epoch,
                            rnd(s, 500, 3000));
        } else if (e->action == BATON_APP_KILL) {
            /* The lease ended before the instance did: SIGKILL to its
             * group, and its end is reported as a stop's. */
            if (sn->inst[a].st == 0 || sn->inst[a].st == 4 ||
                e->epoch != sn->inst[a].epoch) {
                sim__fail(s, "%s kills app %u epoch %" PRIu64
                             ", which does not run there",
                          sim_names[i], a, e->epoch);
            }
            s->kills++;
            sn->inst[a].st = 4;
            app_event_later(s, i, a, BATON_APP_EV_STOPPED, sn->inst[a].epoch,
                            rnd(s, 100, 1000));
        } else if (e->action == BATON_APP_LEASE) {
            if (sn->inst[a].st == 0 || e->epoch != sn->inst[a].epoch ||
                e->until_ms <= sim__clock_ms(s, i, s->now_us)) {
                sim__fail(s, "%s gives app %u epoch %" PRIu64
                             " a lease to %" PRIu64 " that is no use",
                          sim_names[i], a, e->epoch, e->until_ms);
            }
            sn->inst[a].shim_until = e->until_ms;
        }
    }
}

uint64_t sim__clock_ms(const struct sim *s, unsigned i, uint64_t us)
{
    int64_t skew = (int64_t)us * s->nodes[i].rate_ppm / 1000000;

    return (uint64_t)((int64_t)us + skew) / SIM_MS;
}

uint64_t sim__true_us(const struct sim *s, unsigned i, uint64_t ms)
{
    uint64_t t = ms * SIM_MS * 1000000u /
                 (uint64_t)(1000000 + s->nodes[i].rate_ppm);

    while (t > 0 && sim__clock_ms(s, i, t - 1) >= ms) {
        t--;
    }
    while (sim__clock_ms(s, i, t) < ms) {
        t++;
    }
    return t;
}

void sim__step(struct sim *s, unsigned i, struct baton_event *ev)
{
    struct simnode *sn = &s->nodes[i];
    int rv;

    ev->now_ms = sim__clock_ms(s, i, s->now_us);
    rv = baton_node_step(&sn->core, ev, s->fx);
    s->steps++;
    if (rv != 0) {
        sim__fail(s, "%s: step failed: %d", sim_names[i], rv);
        return;
    }
    if (s->fx->trace_dropped != 0) {
        sim__fail(s, "%s: %u trace events dropped", sim_names[i],
             s->fx->trace_dropped);
    }
    for (unsigned k = 0; k < s->fx->n_trace; k++) {
        const struct baton_trace *t = &s->fx->trace[k];
        if (s->cfg.print_trace || s->cfg.keep_trace) {
            char text[200];
            char line[256];
            baton_trace_format(text, sizeof(text), t, sim_names);
            snprintf(line, sizeof(line), "%6" PRIu64 " %s: %s",
                     s->now_us / SIM_MS, sim_names[i], text);
            keep_line(s, line);
        }
        check_trace(s, i, t);
    }
    check_node(s, i);
    sim__quorum_check(s, i);
    sn->deadline_us = sim__true_us(s, i, s->fx->deadline_ms);
    if (sn->deadline_us <= s->now_us) {
        sim__fail(s, "%s asked for a deadline in the past", sim_names[i]);
        sn->deadline_us = s->now_us + SIM_MS;
    }
    /* The driver: resets first (nothing is written into a connection
     * about to be aborted), then the messages. */
    if (s->fx->members_changed && !sn->core.removed) {
        /* The driver persists the list before it relies on it. */
        sn->members = *baton_node_members(&sn->core);
        sn->has_members = true;
    }
    sim__net_reset(s, i, s->fx->reset);
    for (unsigned k = 0; k < s->fx->n_send; k++) {
        sim__net_send(s, i, &s->fx->send[k]);
    }
    apps_run(s, i);
    for (unsigned k = 0; k < s->fx->n_admin; k++) {
        const struct baton_admin_reply *r = &s->fx->admin[k];
        unsigned slot = (unsigned)(r->id % SIM_ADMIN_MAX);
        if (r->id == 0 || r->id > s->admin_next ||
            (s->admin[slot].id == r->id &&
             (s->admin[slot].code != -1 || s->admin[slot].node != i))) {
            sim__fail(s, "%s: answer to verb %" PRIu64 " unasked or twice",
                      sim_names[i], r->id);
        } else if (s->admin[slot].id == r->id) {
            s->admin[slot].code = r->code;
        }
    }
    if (s->fx->settings != NULL) {
        sn->saved = *s->fx->settings; /* the driver's atomic write */
        sn->has_saved = true;
    }
    sim__quorum_check_apps(s);
    sim__names_effects(s, i);
    sim__quorum_write(s, i);
}

static void tick(struct sim *s, unsigned i)
{
    struct baton_event ev = {0};
    ev.type = BATON_EVENT_TICK;
    sim__step(s, i, &ev);
}

/* The list node i starts with: the one its driver persisted, else its
 * seed list (sim_config.n_seed). */
static void seed_list(struct sim *s, unsigned i, struct baton_node_config *cfg)
{
    struct simnode *sn = &s->nodes[i];
    unsigned n = s->cfg.n_seed == 0 || i >= s->cfg.n_seed ? s->cfg.n_nodes
                                                          : s->cfg.n_seed;

    if (!sn->has_members) {
        memset(&sn->members, 0, sizeof(sn->members));
        sn->members.n_slots = (uint8_t)n;
        for (unsigned x = 0; x < n; x++) {
            sn->members.slot[x].kind = s->cfg.candidate[x]
                                           ? BATON_MEMBER_CANDIDATE
                                           : BATON_MEMBER_WORKER;
            snprintf(sn->members.slot[x].name,
                     sizeof(sn->members.slot[x].name), "%s", sim_names[x]);
        }
    }
    cfg->n_nodes = sn->members.n_slots;
    cfg->members = &sn->members;
}

static void boot(struct sim *s, unsigned i)
{
    struct simnode *sn = &s->nodes[i];
    struct baton_node_config cfg = {0};
    struct baton_raft_disk disk;

    cfg.n_nodes = s->cfg.n_nodes;
    cfg.self = i;
    memcpy(cfg.candidate, s->cfg.candidate, s->cfg.n_nodes);
    seed_list(s, i, &cfg);
    cfg.heartbeat_ms = s->cfg.heartbeat_ms;
    cfg.heartbeat_miss = s->cfg.heartbeat_miss;
    cfg.sync_window_ms = s->cfg.sync_window_ms;
    cfg.n_apps = s->cfg.n_apps;
    memcpy(cfg.apps, s->cfg.apps, sizeof(cfg.apps));
    cfg.state_wait_ms = s->cfg.state_wait_ms;
    memset(sn->name_slots, 0, sizeof(sn->name_slots)); /* a new life */
    cfg.names_slots = sn->name_slots;
    cfg.names_cap = SIM_NAMES_CAP;
    cfg.names_part = s->cfg.names_part;
    if (s->cfg.override_set && s->cfg.override_node == i) {
        cfg.apps[0] = s->cfg.override_app;
    }
    sim__quorum_disk(s, i, &disk);
    cfg.raft_disk = &disk;
    cfg.raft_snap = sn->disk.snap_len > 0 ? sn->disk.snap : NULL;
    cfg.raft_snap_len = sn->disk.snap_len;
    cfg.raft_snap_every = s->cfg.raft_snap_every;
    cfg.raft_log_room = s->cfg.raft_log_room;
    cfg.settings = sn->has_saved ? &sn->saved : NULL;
    for (unsigned a = 0; a < BATON_APPS_MAX; a++) {
        sn->inst[a].st = 0; /* a crash took every instance with it */
    }
    /* Incarnations are boot times, as batond's are (in µs here, so a
     * crash and an immediate restart still differ). */
    sn->inc = BATON_MAX(sn->inc + 1, s->now_us + 1);
    sn->life++;
    sn->up = true;
    sn->paused = false;
    sn->n_held = 0;
    memset(&sn->sh, 0, sizeof(sn->sh));
    cfg.max_drift_ppm = s->cfg.drift_ppm;
    if (baton_node_init(&sn->core, &cfg, sn->inc,
                        s->cfg.seed * 131 + i * 7 + sn->inc,
                        sim__clock_ms(s, i, s->now_us)) != 0) {
        sim__fail(s, "%s: init failed", sim_names[i]);
        return;
    }
    tick(s, i);
}

uint64_t sim__link_delay(struct sim *s, uint64_t lo, uint64_t hi)
{
    return s->cfg.link_delay_us ? s->cfg.link_delay_us : rnd(s, lo, hi);
}

static void hold(struct simnode *sn, const struct event *ev)
{
    if (sn->n_held == sn->cap_held) {
        sn->cap_held = sn->cap_held ? sn->cap_held * 2 : 64;
        sn->held = xrealloc(sn->held, sn->cap_held * sizeof(*sn->held));
    }
    sn->held[sn->n_held++] = *ev;
}

static void handle(struct sim *s, struct event *ev)
{
    struct simnode *sn = &s->nodes[ev->node];
    struct baton_event bev = {0};

    if (!sn->up || ev->life != sn->life) {
        if (ev->kind == EV_DELIVER) {
            sim__net_orphan(s, ev); /* its host answers with a RST */
        }
        return;
    }
    /* The kernel retransmits and takes RSTs while the process is
     * frozen; everything else waits for it. */
    if (ev->kind == EV_RST || ev->kind == EV_RETX) {
        sim__net_event(s, ev);
        return;
    }
    if (sn->paused) {
        hold(sn, ev);
        return;
    }
    switch (ev->kind) {
    case EV_DELIVER:
    case EV_LINK_UP:
    case EV_LINK_DOWN:
    case EV_DIAL:
        sim__net_deliver(s, ev);
        break;
    case EV_REPLY:
        sim__names_reply(s, ev);
        break;
    case EV_PERSIST:
        sim__quorum_persist(s, ev);
        break;
    case EV_EXPORT: {
        char out[64];
        int len = snprintf(out, sizeof(out), "state:%u:%" PRIu64, ev->app,
                           ev->epoch);
        bev.type = BATON_EVENT_EXPORTED;
        bev.app = ev->app;
        bev.epoch = ev->epoch;
        bev.value = ev->what; /* 1 ok, 0 failed */
        bev.data = (const uint8_t *)out;
        bev.len = (uint32_t)len;
        sim__step(s, ev->node, &bev);
        break;
    }
    case EV_APP: {
        uint8_t *st = &sn->inst[ev->app].st;
        if (sn->inst[ev->app].epoch != ev->epoch || *st == 0) {
            break; /* an instance that is gone already */
        }
        if (ev->what == BATON_APP_EV_READY && *st != 1) {
            break; /* told to stop before it was ready */
        }
        *st = ev->what == BATON_APP_EV_READY ? 2 : 0;
        bev.type = BATON_EVENT_APP;
        bev.app = ev->app;
        bev.what = ev->what;
        bev.epoch = ev->epoch;
        sim__step(s, ev->node, &bev);
        break;
    }
    default:
        sim__fail(s, "bad event kind");
    }
}

/* ---- public API ------------------------------------------------------ */

struct sim *sim_create(const struct sim_config *cfg)
{
    struct sim *s = calloc(1, sizeof(*s));

    if (s == NULL || cfg->n_nodes < 1 || cfg->n_nodes > SIM_NODES_MAX) {
        free(s);
        return NULL;
    }
    s->fx = calloc(1, sizeof(*s->fx));
    s->names = sim__names_new();
    if (s->fx == NULL) {
        free(s);
        return NULL;
    }
    s->cfg = *cfg;
    baton_prng_seed(&s->prng, cfg->seed);
    for (unsigned i = 0; i < SIM_NODES_MAX; i++) {
        for (unsigned p = 0; p < SIM_NODES_MAX; p++) {
            s->dial[i][p].backoff_ms = BATON_BACKOFF_MIN_MS;
        }
        s->nodes[i].disk.vote = -1; /* a new disk: no vote */
    }
    if (cfg->rates_given) {
        for (unsigned i = 0; i < cfg->n_nodes; i++) {
            s->nodes[i].rate_ppm = cfg->rate_ppm[i];
        }
    } else if (cfg->drift_ppm != 0) {
        /* A PRNG of its own: the run's other draws stay as without. */
        struct baton_prng d;
        baton_prng_seed(&d, cfg->seed ^ 0xd41f7u);
        for (unsigned i = 0; i < cfg->n_nodes; i++) {
            s->nodes[i].rate_ppm =
                (int64_t)baton_prng_below(&d, cfg->drift_ppm + 1) -
                (int64_t)cfg->drift_ppm / 2;
        }
    }
    s->delay_min_us = cfg->delay_min_us ? cfg->delay_min_us : 100;
    s->delay_max_us = BATON_MAX(cfg->delay_max_us, s->delay_min_us);
    for (unsigned i = 0; i < cfg->n_nodes; i++) {
        boot(s, i);
    }
    for (unsigned a = 0; a < cfg->n_nodes; a++) {
        for (unsigned b = a + 1; b < cfg->n_nodes; b++) {
            sim__net_connect(s, a, b);
        }
    }
    return s;
}

void sim_destroy(struct sim *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t k = 0; k < s->n_heap; k++) {
        free(s->heap[k].msg);
    }
    sim__net_free(s);
    for (unsigned i = 0; i < SIM_NODES_MAX; i++) {
        for (size_t k = 0; k < s->nodes[i].n_held; k++) {
            free(s->nodes[i].held[k].msg);
        }
        free(s->nodes[i].held);
    }
    for (int k = 0; k < s->n_lines; k++) {
        free(s->lines[k]);
    }
    free(s->lines);
    free(s->heap);
    free(s->digests);
    free(s->claims);
    free(s->starts);
    free(s->fx);
    sim__names_free(s->names);
    sim__quorum_free(s);
    free(s);
}

void sim_run_until(struct sim *s, uint64_t t_end)
{
    while (!s->failed) {
        uint64_t t_heap = s->n_heap ? s->heap[0].t : UINT64_MAX;
        uint64_t t_timer = UINT64_MAX;
        unsigned who = 0;

        for (unsigned i = 0; i < s->cfg.n_nodes; i++) {
            const struct simnode *sn = &s->nodes[i];
            if (sn->up && !sn->paused && sn->deadline_us < t_timer) {
                t_timer = sn->deadline_us;
                who = i;
            }
        }
        if (BATON_MIN(t_heap, t_timer) > t_end) {
            break;
        }
        if (t_timer <= t_heap) {
            s->now_us = t_timer;
            tick(s, who);
        } else {
            struct event ev = heap_pop(s);
            s->now_us = ev.t;
            handle(s, &ev);
        }
    }
    if (!s->failed) {
        s->now_us = t_end;
    }
}

void sim_run_for(struct sim *s, uint64_t d_us)
{
    sim_run_until(s, s->now_us + d_us);
}

uint64_t sim_now(const struct sim *s)
{
    return s->now_us;
}

void sim_crash(struct sim *s, unsigned i)
{
    struct simnode *sn = &s->nodes[i];

    if (!sn->up) {
        return;
    }
    sn->up = false;
    sn->paused = false;
    sn->ended_us = s->now_us;
    for (unsigned a = 0; a < BATON_APPS_MAX; a++) {
        sn->inst[a].st = 0; /* no orphans: its instances die with it */
    }
    for (size_t k = 0; k < sn->n_held; k++) {
        free(sn->held[k].msg);
    }
    sn->n_held = 0;
    sim__quorum_crash(s, i);
    sim__net_crash(s, i);
}

void sim_restart(struct sim *s, unsigned i)
{
    if (s->nodes[i].up) {
        return;
    }
    boot(s, i);
    sim__net_restart(s, i);
}

void sim_pause(struct sim *s, unsigned i)
{
    if (s->nodes[i].up) {
        s->nodes[i].paused = true;
    }
}

void sim_resume(struct sim *s, unsigned i)
{
    struct simnode *sn = &s->nodes[i];

    if (!sn->up || !sn->paused) {
        return;
    }
    sn->paused = false;
    sn->resumed_us = s->now_us;
    /* Its timers run first, then the mail that queued up arrives late,
     * in the order it was sent. */
    tick(s, i);
    for (size_t k = 0; k < sn->n_held; k++) {
        struct event ev = sn->held[k];
        ev.t = s->now_us;
        heap_push(s, ev);
    }
    sn->n_held = 0;
}

void sim_block(struct sim *s, unsigned from, unsigned to)
{
    s->blocked[from][to] = true;
}

void sim_unblock(struct sim *s, unsigned from, unsigned to)
{
    s->blocked[from][to] = false;
}

void sim_heal(struct sim *s)
{
    memset(s->blocked, 0, sizeof(s->blocked));
}

void sim_set_reorder(struct sim *s, bool on)
{
    s->reorder = on;
}

void sim_set_loss(struct sim *s, uint32_t drop_ppm, uint32_t dup_ppm)
{
    s->drop_ppm = drop_ppm;
    s->dup_ppm = dup_ppm;
}

void sim_set_delay(struct sim *s, uint64_t min_us, uint64_t max_us)
{
    s->delay_min_us = min_us;
    s->delay_max_us = BATON_MAX(min_us, max_us);
}

void sim_set_app_fail(struct sim *s, uint32_t ppm)
{
    s->cfg.app_fail_ppm = ppm;
}

const struct baton_node *sim_node(const struct sim *s, unsigned i)
{
    return &s->nodes[i].core;
}

unsigned sim_instance(const struct sim *s, unsigned i, unsigned a,
                      uint64_t *epoch)
{
    if (epoch != NULL) {
        *epoch = s->nodes[i].inst[a].epoch;
    }
    return s->nodes[i].up ? s->nodes[i].inst[a].st : 0;
}

void sim_app_fail(struct sim *s, unsigned i, unsigned a)
{
    struct simnode *sn = &s->nodes[i];
    struct baton_event ev = {0};

    if (!sim_up(s, i) || sn->inst[a].st != 2) {
        return;
    }
    sn->inst[a].st = 0;
    ev.type = BATON_EVENT_APP;
    ev.app = (uint8_t)a;
    ev.what = BATON_APP_EV_FAILED;
    ev.epoch = sn->inst[a].epoch;
    sim__step(s, i, &ev);
}

void sim_request(struct sim *s, unsigned i, unsigned a, unsigned what,
                 unsigned value)
{
    struct baton_event ev = {0};

    if (!sim_up(s, i) || a >= s->cfg.n_apps) {
        return;
    }
    ev.type = BATON_EVENT_REQUEST;
    ev.app = (uint8_t)a;
    ev.what = (uint8_t)what;
    ev.value = (uint8_t)value;
    sim__step(s, i, &ev);
}

uint64_t sim_kills(const struct sim *s)
{
    return s->kills;
}

uint64_t sim_shim_kills(const struct sim *s)
{
    return s->shim_kills;
}

void sim_define(struct sim *s,
                unsigned i,
                unsigned a,
                const struct baton_app_config *def)
{
    struct baton_event ev = {0};

    if (!sim_up(s, i) || a > s->cfg.n_apps || a >= BATON_APPS_MAX) {
        return;
    }
    if (a == s->cfg.n_apps) {
        /* a new app of the cluster: the checkers and a restart see it */
        s->cfg.apps[a] = *def;
        s->cfg.n_apps++;
    }
    ev.type = BATON_EVENT_REQUEST;
    ev.app = (uint8_t)a;
    ev.what = BATON_REQ_DEFINE;
    ev.def = def;
    sim__step(s, i, &ev);
}

uint64_t sim_admin(struct sim *s,
                   unsigned i,
                   unsigned kind,
                   unsigned a,
                   unsigned node)
{
    struct baton_event ev = {0};
    struct baton_admin_req q = {0};

    if (!sim_up(s, i)) {
        return 0;
    }
    q.id = ++s->admin_next;
    q.kind = (uint8_t)kind;
    q.node = (uint8_t)node;
    if (kind != BATON_ADMIN_STANDBY && kind != BATON_ADMIN_UNSTANDBY) {
        memcpy(q.name, s->cfg.apps[a].name, sizeof(q.name));
    }
    s->admin[q.id % SIM_ADMIN_MAX].id = q.id;
    s->admin[q.id % SIM_ADMIN_MAX].code = -1;
    s->admin[q.id % SIM_ADMIN_MAX].node = (uint8_t)i;
    s->admin[q.id % SIM_ADMIN_MAX].life = s->nodes[i].life;
    ev.type = BATON_EVENT_ADMIN;
    ev.admin = &q;
    sim__step(s, i, &ev);
    return q.id;
}

int sim_admin_code(const struct sim *s, uint64_t id)
{
    return s->admin[id % SIM_ADMIN_MAX].id == id
               ? s->admin[id % SIM_ADMIN_MAX].code
               : -1;
}

void sim_admin_final(struct sim *s)
{
    for (unsigned k = 0; k < SIM_ADMIN_MAX; k++) {
        unsigned i = s->admin[k].node;
        if (s->admin[k].id != 0 && s->admin[k].code == -1 && sim_up(s, i) &&
            s->nodes[i].life == s->admin[k].life) {
            sim__fail(s, "%s: verb %" PRIu64 " never answered", sim_names[i],
                      s->admin[k].id);
            return;
        }
    }
}

uint64_t sim_starts(const struct sim *s, unsigned a)
{
    return s->starts_of[a];
}

struct baton_node *sim_node_mut(struct sim *s, unsigned i)
{
    return &s->nodes[i].core;
}

bool sim_up(const struct sim *s, unsigned i)
{
    return s->nodes[i].up && !s->nodes[i].paused;
}

bool sim_failed(const struct sim *s)
{
    return s->failed;
}

const char *sim_failure(const struct sim *s)
{
    return s->failure;
}

uint64_t sim_steps(const struct sim *s)
{
    return s->steps;
}

uint64_t sim_rejected(const struct sim *s)
{
    return s->rejected;
}

void sim_quorum_stats(const struct sim *s, uint64_t *taken, uint64_t *installed)
{
    *taken = s->snaps_taken;
    *installed = s->snaps_installed;
    for (unsigned i = 0; i < s->cfg.n_nodes; i++) {
        *taken += s->nodes[i].core.counters.raft_snaps_taken;
        *installed += s->nodes[i].core.counters.raft_snaps_installed;
    }
}

uint64_t sim_resets(const struct sim *s)
{
    return s->resets;
}

bool sim_connected(const struct sim *s, unsigned a, unsigned b)
{
    return !s->blocked[a][b] && !s->blocked[b][a];
}

int sim_trace_find(const struct sim *s, int from, const char *needle)
{
    for (int k = from < 0 ? 0 : from; k < s->n_lines; k++) {
        const char *p = needle;
        bool all = true;
        while (all && *p) {
            char part[128];
            size_t len = strcspn(p, "|");
            if (len >= sizeof(part)) {
                len = sizeof(part) - 1;
            }
            memcpy(part, p, len);
            part[len] = '\0';
            all = strstr(s->lines[k], part) != NULL;
            p += len;
            if (*p == '|') {
                p++;
            }
        }
        if (all) {
            return k;
        }
    }
    return -1;
}

const char *sim_trace_line(const struct sim *s, int i)
{
    return i >= 0 && i < s->n_lines ? s->lines[i] : NULL;
}

int sim_trace_count(const struct sim *s)
{
    return s->n_lines;
}

int sim_member_request(struct sim *s, unsigned i, unsigned what,
                       unsigned who, unsigned kind)
{
    struct baton_member m = {0};
    struct baton_event ev = {0};

    if (!sim_up(s, i) || who >= SIM_NODES_MAX) {
        return BATON_ESTATE;
    }
    m.kind = (uint8_t)kind;
    snprintf(m.name, sizeof(m.name), "%s", sim_names[who]);
    snprintf(m.addr, sizeof(m.addr), "10.0.0.%u:7701", who + 1);
    ev.type = BATON_EVENT_REQUEST;
    ev.what = (uint8_t)what;
    ev.member = &m;
    sim__step(s, i, &ev);
    return s->fx->member_result;
}

bool sim_in_cluster(const struct sim *s, unsigned i)
{
    const struct baton_members *best = NULL;
    unsigned best_n = 0;

    if (!s->nodes[i].up || s->nodes[i].core.removed) {
        return false;
    }
    /* The newest list; among lists of one version (two seed lists), the
     * one most nodes hold. */
    for (unsigned x = 0; x < s->cfg.n_nodes; x++) {
        const struct baton_members *l;
        uint64_t d;
        unsigned holders = 0;
        if (!s->nodes[x].up || s->nodes[x].core.removed) {
            continue;
        }
        l = baton_node_members(&s->nodes[x].core);
        d = baton_members_digest(l);
        for (unsigned y = 0; y < s->cfg.n_nodes; y++) {
            const struct baton_members *o =
                baton_node_members(&s->nodes[y].core);
            holders += s->nodes[y].up && !s->nodes[y].core.removed &&
                       o->version == l->version &&
                       baton_members_digest(o) == d;
        }
        if (best == NULL || l->version > best->version ||
            (l->version == best->version && holders > best_n)) {
            best = l;
            best_n = holders;
        }
    }
    return best != NULL && i < best->n_slots &&
           best->slot[i].kind != BATON_MEMBER_FREE &&
           baton_members_find(best, sim_names[i]) == (int)i;
}
