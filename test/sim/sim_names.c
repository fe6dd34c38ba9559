/* The simulator's names workload and checker: endpoints on every node
 * register, re-register, unregister and drop names and make calls; a
 * model of what each endpoint was told is compared with the replicas
 * (docs/design/simulator.md §6). */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define SN_NAMES (10) /* names "n0".."n9" */
#define SN_EPS (3)    /* endpoints per node */
#define SN_LOST_RING (512)

struct sn_req {
    uint64_t id;
    uint32_t life;
    uint8_t node, ep, kind, name;
    bool used, must_finish;
    int code; /* -1 while under way */
};

struct sn_call {
    uint64_t id;
    uint32_t life;
    uint8_t node;
    bool used, wants, must_finish;
    int code; /* -1 while under way */
    uint8_t served_by; /* the node that delivered it */
};

struct sim_names {
    uint64_t next_id;
    struct sn_req *reqs;
    size_t n_reqs, cap_reqs;
    struct sn_call *calls;
    size_t n_calls, cap_calls;
    /* What each endpoint was told it holds: a bit per name. */
    uint32_t model_life[SIM_NODES_MAX];
    uint32_t held[SIM_NODES_MAX][SN_EPS];
    uint32_t gen[SIM_NODES_MAX][SN_EPS];
    struct {
        uint64_t endpoint, epoch;
        uint32_t life;
        uint8_t node, name, reason;
    } lost[SN_LOST_RING];
    uint64_t n_lost;
    bool must_finish; /* quiet phase: what is issued now must finish */
    uint64_t writes_done, calls_done, calls_ok;
    uint64_t calls_again; /* answers to calls already answered */
};

static void *grow(void *p, size_t *cap, size_t size)
{
    size_t n = *cap ? *cap * 2 : 256;
    void *q = realloc(p, n * size);

    if (q == NULL) {
        exit(2);
    }
    memset((char *)q + *cap * size, 0, (n - *cap) * size);
    *cap = n;
    return q;
}

struct sim_names *sim__names_new(void)
{
    struct sim_names *m = calloc(1, sizeof(*m));

    if (m == NULL) {
        exit(2);
    }
    return m;
}

void sim__names_free(struct sim_names *m)
{
    if (m != NULL) {
        free(m->reqs);
        free(m->calls);
        free(m);
    }
}

static void model_sync(struct sim *s, unsigned i)
{
    struct sim_names *m = s->names;

    if (m->model_life[i] != s->nodes[i].life) {
        /* A new life: its endpoints are new and hold nothing. */
        m->model_life[i] = s->nodes[i].life;
        memset(m->held[i], 0, sizeof(m->held[i]));
    }
}

static uint64_t endpoint_id(const struct sim_names *m, unsigned i,
                            unsigned ep)
{
    return ((uint64_t)m->gen[i][ep] << 8) | (ep + 1u);
}

static int endpoint_of(const struct sim_names *m, unsigned i, uint64_t id)
{
    for (unsigned ep = 0; ep < SN_EPS; ep++) {
        if (endpoint_id(m, i, ep) == id) {
            return (int)ep;
        }
    }
    return -1;
}

static int name_index(const char *name)
{
    if (name[0] == 'n' && name[1] >= '0' && name[1] <= '9' &&
        name[2] == '\0') {
        return name[1] - '0';
    }
    return -1;
}

uint64_t sim_name_write(struct sim *s, unsigned i, unsigned kind,
                        unsigned ep, unsigned name, unsigned resolver)
{
    struct sim_names *m = s->names;
    struct baton_name_req q;
    struct baton_event ev = {0};
    struct sn_req *r;

    if (!sim_up(s, i) || ep >= SN_EPS || name >= SN_NAMES) {
        return 0;
    }
    model_sync(s, i);
    for (size_t k = m->n_reqs; k-- > 0;) {
        const struct sn_req *o = &m->reqs[k];
        if (o->used && o->node == i && o->ep == ep &&
            o->life == s->nodes[i].life && o->kind == BATON_NAME_DROP) {
            return 0; /* the endpoint is closing */
        }
    }
    if (m->n_reqs == m->cap_reqs) {
        m->reqs = grow(m->reqs, &m->cap_reqs, sizeof(*m->reqs));
    }
    r = &m->reqs[m->n_reqs++];
    r->id = ++m->next_id;
    r->life = s->nodes[i].life;
    r->node = (uint8_t)i;
    r->ep = (uint8_t)ep;
    r->kind = (uint8_t)kind;
    r->name = (uint8_t)name;
    r->used = true;
    r->code = -1;
    r->must_finish = true; /* a write retries until it is decided */
    memset(&q, 0, sizeof(q));
    q.id = r->id;
    q.kind = (uint8_t)kind;
    q.resolver = (uint8_t)resolver;
    q.endpoint = endpoint_id(m, i, ep);
    snprintf(q.name, sizeof(q.name), "n%u", name);
    q.meta_len = 3;
    memcpy(q.meta, "ep", 3);
    if (s->cfg.print_trace) {
        printf("%6" PRIu64 " %s: [sim] write %" PRIu64 " %s n%u ep %u "
               "(endpoint %" PRIu64 ")\n",
               s->now_us / SIM_MS, sim_names[i], r->id,
               kind == 1 ? "register" : kind == 2 ? "reregister"
               : kind == 3 ? "unregister" : "drop",
               name, ep, q.endpoint);
    }
    ev.type = BATON_EVENT_NAME;
    ev.name_req = &q;
    sim__step(s, i, &ev);
    return q.id;
}

uint64_t sim_call(struct sim *s, unsigned i, unsigned name,
                  bool wants_reply)
{
    struct sim_names *m = s->names;
    struct baton_call c;
    struct baton_event ev = {0};
    struct sn_call *k;
    char nm[8];
    char data[32];

    if (!sim_up(s, i)) {
        return 0;
    }
    if (m->n_calls == m->cap_calls) {
        m->calls = grow(m->calls, &m->cap_calls, sizeof(*m->calls));
    }
    k = &m->calls[m->n_calls++];
    k->id = ++m->next_id;
    k->life = s->nodes[i].life;
    k->node = (uint8_t)i;
    k->used = true;
    k->code = -1;
    k->wants = wants_reply;
    k->must_finish = m->must_finish;
    snprintf(nm, sizeof(nm), "n%u", name % SN_NAMES);
    snprintf(data, sizeof(data), "c:%" PRIu64, k->id);
    memset(&c, 0, sizeof(c));
    c.id = k->id;
    c.flags = wants_reply ? BATON_CALL_WANTS_REPLY : 0;
    c.name = nm;
    c.data = (const uint8_t *)data;
    c.len = (uint32_t)strlen(data);
    if (s->cfg.print_trace) {
        printf("%6" PRIu64 " %s: [sim] %s %" PRIu64 " %s\n",
               s->now_us / SIM_MS, sim_names[i],
               wants_reply ? "call" : "send", k->id, nm);
    }
    ev.type = BATON_EVENT_CALL;
    ev.call = &c;
    sim__step(s, i, &ev);
    return k->id;
}

void sim_names_must_finish(struct sim *s, bool on)
{
    if (on && !s->names->must_finish && s->cfg.print_trace) {
        printf("%6" PRIu64 " [sim] calls made from now on must finish\n",
               s->now_us / SIM_MS);
    }
    s->names->must_finish = on;
}

static struct sn_req *req_find(const struct sim_names *m, uint64_t id)
{
    /* ids grow, shared with calls: binary search. */
    size_t lo = 0, hi = m->n_reqs;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->reqs[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < m->n_reqs && m->reqs[lo].id == id ? &m->reqs[lo] : NULL;
}

static struct sn_call *call_find(const struct sim_names *m, uint64_t id)
{
    size_t lo = 0, hi = m->n_calls;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->calls[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < m->n_calls && m->calls[lo].id == id ? &m->calls[lo] : NULL;
}

static void on_done(struct sim *s, unsigned i, const struct baton_name_effect *e)
{
    struct sim_names *m = s->names;
    struct sn_req *r = req_find(m, e->id);

    if (r == NULL || !r->used || r->node != i ||
        r->life != s->nodes[i].life) {
        sim__fail(s, "%s finished name write %" PRIu64
                     " it was not given (or twice)",
                  sim_names[i], e->id);
        return;
    }
    r->used = false;
    r->code = e->code;
    m->writes_done++;
    if (e->code == BATON_NAME_NOT_OWNER && r->kind == BATON_NAME_UNREGISTER) {
        /* "Not registered by this endpoint": so it holds it no longer
         * (it gave the name up and someone took it meanwhile). */
        m->held[i][r->ep] &= ~(1u << r->name);
    }
    if (e->code != BATON_NAME_OK) {
        if (e->code != BATON_NAME_TAKEN && e->code != BATON_NAME_NOT_OWNER &&
            e->code != BATON_NAME_FULL) {
            sim__fail(s, "%s: name write %" PRIu64 " failed: %s",
                      sim_names[i], e->id, baton_name_code_text(e->code));
        }
        return;
    }
    switch (r->kind) {
    case BATON_NAME_REGISTER:
    case BATON_NAME_REREGISTER:
        m->held[i][r->ep] |= 1u << r->name;
        break;
    case BATON_NAME_UNREGISTER:
        m->held[i][r->ep] &= ~(1u << r->name);
        break;
    case BATON_NAME_DROP:
        m->held[i][r->ep] = 0;
        m->gen[i][r->ep]++; /* the endpoint closed; a new one opens */
        break;
    default:
        break;
    }
}

static void on_lost(struct sim *s, unsigned i, const struct baton_name_effect *e)
{
    struct sim_names *m = s->names;
    int ep = endpoint_of(m, i, e->endpoint);
    int name = name_index(e->name);
    uint64_t from = m->n_lost > SN_LOST_RING ? m->n_lost - SN_LOST_RING : 0;

    for (uint64_t k = from; k < m->n_lost; k++) {
        const __typeof__(m->lost[0]) *l = &m->lost[k % SN_LOST_RING];
        if (l->node == i && l->life == s->nodes[i].life &&
            l->endpoint == e->endpoint && l->epoch == e->epoch &&
            l->name == name && e->epoch != 0) {
            sim__fail(s, "%s: endpoint %" PRIu64 " told twice it lost %s "
                         "(epoch %" PRIu64 ")",
                      sim_names[i], e->endpoint, e->name, e->epoch);
            return;
        }
    }
    m->lost[m->n_lost % SN_LOST_RING].endpoint = e->endpoint;
    m->lost[m->n_lost % SN_LOST_RING].epoch = e->epoch;
    m->lost[m->n_lost % SN_LOST_RING].life = s->nodes[i].life;
    m->lost[m->n_lost % SN_LOST_RING].node = (uint8_t)i;
    m->lost[m->n_lost % SN_LOST_RING].name = (uint8_t)name;
    m->lost[m->n_lost % SN_LOST_RING].reason = e->code;
    m->n_lost++;
    if (ep >= 0 && name >= 0) {
        m->held[i][ep] &= ~(1u << name);
    }
}

static void on_call_done(struct sim *s, unsigned i,
                         const struct baton_call_effect *e)
{
    struct sim_names *m = s->names;
    struct sn_call *k = call_find(m, e->id);
    char want[32];

    if (k == NULL || k->node != i || k->life != s->nodes[i].life) {
        sim__fail(s, "%s finished call %" PRIu64 " it did not make",
                  sim_names[i], e->id);
        return;
    }
    if (!k->used) {
        /* The network duplicated the call or its reply (the simulator
         * does; TCP does not), or a forwarder's late `unreachable`:
         * drivers drop answers they no longer wait for. */
        m->calls_again++;
        return;
    }
    k->used = false;
    k->code = e->code;
    m->calls_done++;
    if (e->code != BATON_NAME_OK) {
        /* unreachable: the node the call went to was lost before it
         * answered (names.md §5). */
        if (e->code != BATON_NAME_NOT_FOUND &&
            e->code != BATON_NAME_UNREACHABLE) {
            sim__fail(s, "%s: call %" PRIu64 " failed: %s", sim_names[i],
                      e->id, baton_name_code_text(e->code));
        }
        return;
    }
    m->calls_ok++;
    snprintf(want, sizeof(want), "r:%" PRIu64, e->id);
    if (k->wants && (e->len != strlen(want) ||
                     memcmp(e->data, want, e->len) != 0)) {
        sim__fail(s, "%s: call %" PRIu64 " got another call's reply",
                  sim_names[i], e->id);
    }
}

static void on_deliver(struct sim *s, unsigned i,
                       const struct baton_call_effect *e)
{
    struct event ev = {0};
    char want[32];
    uint64_t id;

    if (e->len < 3 || memcmp(e->data, "c:", 2) != 0) {
        sim__fail(s, "%s: a call delivered with foreign data", sim_names[i]);
        return;
    }
    memcpy(want, e->data + 2, BATON_MIN(e->len - 2, sizeof(want) - 1));
    want[BATON_MIN(e->len - 2, sizeof(want) - 1)] = '\0';
    id = strtoull(want, NULL, 10);
    if (id != e->id) {
        sim__fail(s, "%s: call %" PRIu64 " delivered with call %" PRIu64
                     "'s data",
                  sim_names[i], e->id, id);
    }
    if (!(e->flags & BATON_CALL_WANTS_REPLY)) {
        return;
    }
    /* The endpoint answers a little later. */
    ev.kind = EV_REPLY;
    ev.t = s->now_us + 100 + baton_prng_below(&s->prng, 2000);
    ev.node = (uint8_t)i;
    ev.life = s->nodes[i].life;
    ev.peer = e->from;
    ev.epoch = e->from_inc;
    ev.id = e->id;
    sim__heap_push(s, ev);
}

void sim__names_reply(struct sim *s, const struct event *ev)
{
    struct baton_event bev = {0};
    struct baton_call c;
    char data[32];

    memset(&c, 0, sizeof(c));
    snprintf(data, sizeof(data), "r:%" PRIu64, ev->id);
    c.id = ev->id;
    c.to = ev->peer;
    c.to_inc = ev->epoch;
    c.code = BATON_NAME_OK;
    c.data = (const uint8_t *)data;
    c.len = (uint32_t)strlen(data);
    bev.type = BATON_EVENT_REPLY;
    bev.call = &c;
    sim__step(s, ev->node, &bev);
}

/* A name some node shows must belong to a life that is still running,
 * or one that ended within the detection bound: a closed link at once,
 * silence after heartbeat x miss (counted from the observer's resume,
 * as a paused node gives every peer a fresh window), plus a heartbeat
 * and the network's delay. */
static void check_visible(struct sim *s, unsigned i)
{
    const struct baton_node *n = &s->nodes[i].core;
    uint64_t bound = (baton_node_down_after_ms(n) + n->cfg.heartbeat_ms) *
                         SIM_MS +
                     s->delay_max_us + 5 * SIM_MS;

    for (uint32_t k = 0; k < n->names.cap && n->names.count != 0; k++) {
        const struct baton_name *e = &n->names.slot[k];
        const struct simnode *o;
        if (!e->used || baton_node_whereis(n, e->name) != e) {
            continue;
        }
        o = &s->nodes[e->owner];
        if ((!o->up || o->inc != e->owner_inc) &&
            s->now_us - BATON_MAX(o->ended_us, s->nodes[i].resumed_us) >
                bound) {
            sim__fail(s, "%s: whereis %s answers %s's life %" PRIu64
                         ", which has ended",
                      sim_names[i], e->name, sim_names[e->owner],
                      e->owner_inc);
            return;
        }
    }
}

void sim__names_effects(struct sim *s, unsigned i)
{
    const struct baton_effects *fx = s->fx;

    model_sync(s, i);
    if (fx->name_dropped != 0) {
        sim__fail(s, "%s: %u name effects dropped", sim_names[i],
                  fx->name_dropped);
    }
    for (unsigned k = 0; k < fx->n_name; k++) {
        if (s->cfg.print_trace) {
            printf("%6" PRIu64 " %s: [sim] %s %" PRIu64 " %s endpoint %" PRIu64
                   " %s epoch %" PRIu64 "\n",
                   s->now_us / SIM_MS, sim_names[i],
                   fx->name[k].action == BATON_NAMEFX_DONE ? "done" : "lost",
                   fx->name[k].id,
                   fx->name[k].action == BATON_NAMEFX_DONE
                       ? baton_name_code_name(fx->name[k].code)
                       : baton_lost_reason_name(fx->name[k].code),
                   fx->name[k].endpoint, fx->name[k].name, fx->name[k].epoch);
        }
        if (fx->name[k].action == BATON_NAMEFX_DONE &&
            (fx->name[k].id & SIM_QNAME_TAG) != 0) {
            sim__qname_done(s, i, &fx->name[k]);
        } else if (fx->name[k].action == BATON_NAMEFX_DONE) {
            on_done(s, i, &fx->name[k]);
        } else {
            on_lost(s, i, &fx->name[k]);
        }
    }
    for (unsigned k = 0; k < fx->n_call; k++) {
        if (s->cfg.print_trace) {
            printf("%6" PRIu64 " %s: [sim] call %" PRIu64 " %s%s\n",
                   s->now_us / SIM_MS, sim_names[i], fx->call[k].id,
                   fx->call[k].action == BATON_CALLFX_DONE ? "done "
                                                           : "delivered",
                   fx->call[k].action == BATON_CALLFX_DONE
                       ? baton_name_code_name(fx->call[k].code)
                       : "");
        }
        if (fx->call[k].action == BATON_CALLFX_DONE) {
            on_call_done(s, i, &fx->call[k]);
        } else {
            on_deliver(s, i, &fx->call[k]);
        }
    }
    check_visible(s, i);
}

/* One holder per name in a group: every node that follows the same
 * coordinator answers whereis alike (issue 11 item 7). The convergence
 * check compares table digests; this says it in whereis's terms. */
static void check_one_holder(struct sim *s)
{
    for (unsigned i = 0; i < s->cfg.n_nodes; i++) {
        const struct baton_node *a = &s->nodes[i].core;
        unsigned c = baton_node_coordinator(a);
        if (!sim_up(s, i) || c == BATON_NODE_NONE) {
            continue;
        }
        for (unsigned j = i + 1; j < s->cfg.n_nodes; j++) {
            const struct baton_node *b = &s->nodes[j].core;
            if (!sim_up(s, j) || baton_node_coordinator(b) != c) {
                continue;
            }
            for (unsigned k = 0; k < SN_NAMES; k++) {
                char nm[8];
                const struct baton_name *x, *y;
                snprintf(nm, sizeof(nm), "n%u", k);
                x = baton_node_whereis(a, nm);
                y = baton_node_whereis(b, nm);
                if ((x == NULL) != (y == NULL) ||
                    (x != NULL && !baton_name_equal(x, y))) {
                    sim__fail(s, "%s and %s (one group) see two holders "
                                 "of %s",
                              sim_names[i], sim_names[j], nm);
                    return;
                }
            }
        }
    }
}

/* At the end of a converged run: every write and call of the quiet
 * phase finished, each endpoint holds exactly what it was told, and
 * every group agrees on one holder per name. */
void sim_names_final(struct sim *s)
{
    struct sim_names *m = s->names;

    check_one_holder(s);
    if (sim_failed(s)) {
        return;
    }

    for (size_t k = 0; k < m->n_reqs; k++) {
        const struct sn_req *r = &m->reqs[k];
        const struct baton_node *n = &s->nodes[r->node].core;
        if (r->used && r->must_finish && sim_up(s, r->node) &&
            r->life == s->nodes[r->node].life &&
            baton_node_coordinator(n) != BATON_NODE_NONE) {
            sim__fail(s, "%s: name write %" PRIu64 " never finished",
                      sim_names[r->node], r->id);
            return;
        }
    }
    for (size_t k = 0; k < m->n_calls; k++) {
        const struct sn_call *c = &m->calls[k];
        if (c->used && c->must_finish && sim_up(s, c->node) &&
            c->life == s->nodes[c->node].life) {
            sim__fail(s, "%s: call %" PRIu64 " was lost", sim_names[c->node],
                      c->id);
            return;
        }
    }
    for (unsigned i = 0; i < s->cfg.n_nodes; i++) {
        const struct baton_node *n = &s->nodes[i].core;
        uint32_t table[SN_EPS] = {0};
        if (!sim_up(s, i) || baton_node_coordinator(n) == BATON_NODE_NONE) {
            continue;
        }
        model_sync(s, i);
        for (uint32_t k = 0; k < n->names.cap; k++) {
            const struct baton_name *e = &n->names.slot[k];
            int ep, nm;
            if (!e->used || e->owner != i || e->owner_inc != n->inc) {
                continue;
            }
            ep = endpoint_of(m, i, e->endpoint);
            nm = name_index(e->name);
            if (ep < 0 || nm < 0) {
                sim__fail(s, "%s holds %s for endpoint %" PRIu64
                             ", which closed",
                          sim_names[i], e->name, e->endpoint);
                return;
            }
            table[ep] |= 1u << nm;
        }
        for (unsigned ep = 0; ep < SN_EPS; ep++) {
            bool busy = false;
            for (size_t k = 0; k < m->n_reqs && !busy; k++) {
                busy = m->reqs[k].used && m->reqs[k].node == i &&
                       m->reqs[k].ep == ep &&
                       m->reqs[k].life == s->nodes[i].life;
            }
            if (!busy && table[ep] != m->held[i][ep]) {
                sim__fail(s, "%s endpoint %u: the table gives it names "
                             "0x%x, it was told 0x%x",
                          sim_names[i], ep, table[ep], m->held[i][ep]);
                return;
            }
        }
    }
}

void sim_names_stats(const struct sim *s, uint64_t *writes, uint64_t *calls,
                     uint64_t *calls_ok, uint64_t *lost)
{
    *writes = s->names->writes_done;
    *calls = s->names->calls_done;
    *calls_ok = s->names->calls_ok;
    *lost = s->names->n_lost;
}

int sim_write_code(const struct sim *s, uint64_t id)
{
    const struct sn_req *r = req_find(s->names, id);

    return r != NULL ? r->code : -2;
}

uint64_t sim_calls_answered_again(const struct sim *s)
{
    return s->names->calls_again;
}

int sim_call_code(const struct sim *s, uint64_t id)
{
    const struct sn_call *c = call_find(s->names, id);

    return c != NULL ? c->code : -2;
}

unsigned sim_names_lost(const struct sim *s, unsigned i, unsigned name,
                        unsigned reason)
{
    const struct sim_names *m = s->names;
    unsigned count = 0;

    for (uint64_t k = 0; k < m->n_lost && k < SN_LOST_RING; k++) {
        count += m->lost[k].node == i && m->lost[k].name == name &&
                 m->lost[k].reason == reason;
    }
    return count;
}
