/* libbaton: leader groups, gen_leader's behaviour on baton's machinery
 * (docs/api.md "Leader groups", docs/design/lib.md §3).
 *
 * The leader is where the group's app runs: an app whose nodes are the
 * candidates in order, so the first live candidate leads, takes over
 * from a lower one when it comes back, and after a heal exactly one
 * leader survives. The leader holds the global name "<group>"; every
 * member holds "<group>/<node>". Messages to them start with a byte:
 *   to "<group>":  'C' leader_call, 'J' join (a member asks for its
 *                  sync), 'K' leader_cast;
 *   to members:    'B' broadcast (from_leader);
 *   answers:       'R' + reply, 'S' + election epoch (8 bytes) + sync,
 *                  'N' not the leader (retry). */
#include "../util/setup.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "lib.h"
#include "session.h"

#define JOIN_TIMEOUT_MS (2000)
#define JOIN_RETRY_MS (50)
/* A sync travels as 'S', the leadership's election epoch, the bytes. */
#define SYNC_MAX (BATON_CALL_DATA_MAX - 9)

static void member_message(void *data, const char *name, const void *msg,
                           size_t len);
static void member_lost(void *data, const char *name, int reason);
static void member_call(void *data, const char *name,
                        struct baton_request *req, const void *msg,
                        size_t len);
static void leader_message(void *data, const char *name, const void *msg,
                           size_t len);
static void leader_call(void *data, const char *name,
                        struct baton_request *req, const void *msg,
                        size_t len);
static void leader_lost(void *data, const char *name, int reason);

/* "<group>/<node>" (lengths are checked by baton_group_add). */
static void member_name(char *out, const char *group, const char *node)
{
    size_t a = strlen(group), n = strlen(node);

    if (a + 1 + n > BATON_GNAME_MAX) {
        out[0] = '\0';
        return;
    }
    memcpy(out, group, a);
    out[a] = '/';
    memcpy(out + a + 1, node, n);
    out[a + 1 + n] = '\0';
}

static bool is_member(const struct baton_group *g, unsigned id)
{
    return g->candidate[id] != 0 || g->worker[id] != 0;
}

/* The leader as this node's replica says: the group app's owner. */
static unsigned leader_of(const struct baton_group *g, uint64_t *epoch)
{
    const struct baton_state *st = &g->b->io.node.state;
    int k = baton_state_app_find(st, g->name);

    *epoch = 0;
    if (k < 0 || st->apps[k].owner == BATON_NODE_NONE ||
        (st->apps[k].status != BATON_APP_RUNNING &&
         st->apps[k].status != BATON_APP_STARTING &&
         st->apps[k].status != BATON_APP_TAKEOVER)) {
        return BATON_NODE_NONE;
    }
    if (st->apps[k].owner != g->b->cfg.io.self &&
        !lib_alive(g->b, st->apps[k].owner)) {
        /* The replica keeps a lost owner while no candidate is left to
         * start it: that node leads nothing (issue 12 item 5). */
        return BATON_NODE_NONE;
    }
    *epoch = st->apps[k].epoch;
    return st->apps[k].owner;
}

/* The highest token issued for the group's app: an owner below it is
 * about to get a new one (or to be replaced), so nobody joins it yet. */
static uint64_t epoch_max(const struct baton_group *g)
{
    const struct baton_state *st = &g->b->io.node.state;
    int k = baton_state_app_find(st, g->name);

    return k >= 0 ? st->apps[k].epoch_max : 0;
}

static bool app_refused(const struct baton_group *g)
{
    const struct baton_state *st = &g->b->io.node.state;
    int k = baton_state_app_find(st, g->name);

    return k >= 0 && st->apps[k].status == BATON_APP_REFUSED;
}

/* ---- the app callbacks: this node leads, or stops leading ------------- */

static void register_leader(struct baton_group *g);

static void leader_registered(void *data, int status)
{
    struct baton_group *g = data;

    g->leader_registering = false;
    if (status != 0 && g->leading && !g->b->closing) {
        lib_logf(g->b, BATON_LOG_WARN, "group %s: taking the name %s: %s",
                 g->name, g->leader_name, baton_strerror(status));
    }
}

static void register_leader(struct baton_group *g)
{
    if (g->leader_registering || g->b->closing) {
        return;
    }
    /* Atomic re-point: callers find this node from the next op on. On
     * the coordinator the answer (leader_registered) comes within the
     * call: the flag is set before it. */
    g->leader_registering = true;
    if (lib_register(g->b, g->leader_name, true, &g->leader_h, g,
                     leader_registered, g) != 0) {
        g->leader_registering = false;
    }
}

/* This node leads from epoch on: elected(NULL) makes the sync that
 * the members alive now get; the name follows. */
static void elect(struct baton_group *g, uint64_t epoch)
{
    struct baton *b = g->b;
    void *sync = NULL;
    size_t len = 0;

    g->leading = true;
    g->lead_epoch = epoch;
    g->elect_epoch = epoch;
    g->surrendered_epoch = epoch;
    g->followed = 0;
    for (unsigned i = 0; i < b->cfg.io.n_nodes; i++) {
        g->alive_at_election[i] = is_member(g, i) && lib_alive(b, i);
        g->alive[i] = lib_alive(b, i);
    }
    free(g->sync0);
    g->sync0 = NULL;
    g->sync0_len = 0;
    g->cbs->elected(g, NULL, &sync, &len);
    if (len > SYNC_MAX) {
        lib_logf(b, BATON_LOG_ERROR, "group %s: elected's sync of %zu "
                 "bytes is over %u: sending none", g->name, len,
                 (unsigned)SYNC_MAX);
        free(sync);
        sync = NULL;
        len = 0;
    }
    g->sync0 = sync;
    g->sync0_len = sync != NULL ? len : 0;
    lib_logf(b, BATON_LOG_INFO, "group %s: elected leader (epoch %llu)",
             g->name, (unsigned long long)epoch);
    lib_control_group_event(b->control, g->name, "elected", "leader",
                            lib_node_name(b, b->cfg.io.self), epoch,
                            g->sync0 != NULL ? g->sync0 : (const void *)"",
                            g->sync0_len);
    register_leader(g);
}

/* This node no longer leads (to: the node that does, NULL if unknown).
 * Once per leadership, before anything else is handled as leader. */
static void depose(struct baton_group *g, const char *to)
{
    if (!g->leading) {
        return;
    }
    g->leading = false;
    free(g->sync0);
    g->sync0 = NULL;
    g->sync0_len = 0;
    lib_logf(g->b, BATON_LOG_INFO, "group %s: deposed (epoch %llu)%s%s",
             g->name, (unsigned long long)g->lead_epoch,
             to != NULL ? ", leader now " : "", to != NULL ? to : "");
    if (g->cbs->deposed != NULL) {
        g->cbs->deposed(g, to, g->lead_epoch);
    }
    lib_control_group_event(g->b->control, g->name, "deposed", "leader",
                            to, g->lead_epoch, NULL, 0);
    /* The new leader re-points the name; a member now answers 'N' to
     * whatever still reaches it, and the caller retries. */
}

/* Does this node still lead? Asked before anything is handled as
 * leader: a leader that was frozen (SIGSTOP) or cut off learns from its
 * replica that another node took over, and is deposed at once, before
 * it answers a single call as leader. */
static bool still_leading(struct baton_group *g)
{
    const struct baton_state *st = &g->b->io.node.state;
    int k;

    if (!g->leading) {
        return false;
    }
    k = baton_state_app_find(st, g->name);
    if (k < 0) {
        return true;
    }
    if (st->apps[k].owner != g->b->cfg.io.self &&
        st->apps[k].owner != BATON_NODE_NONE) {
        depose(g, lib_node_name(g->b, st->apps[k].owner));
        return false;
    }
    if (st->apps[k].epoch_max > g->lead_epoch) {
        /* A token above ours was issued: another node led meanwhile (a
         * heal merged its history), or a takeover began. This
         * leadership is over; a TOKEN (apps.md §4) elects this node
         * again if it keeps the app. */
        depose(g, NULL);
        return false;
    }
    return true;
}

static int group_start(struct baton_app *app, int type, const char *from,
                       uint64_t epoch)
{
    struct baton_group *g = app->group;
    int from_id = from != NULL ? lib_node_id(g->b, from) : -1;

    if (type == BATON_START_TAKEOVER && from != NULL && g->has_handover &&
        !(from_id >= 0 && g->followed == (unsigned)from_id + 1)) {
        /* As if this node had joined the old leader before it took over:
         * its elected() then sends the group's state, not a blank one.
         * A member that surrendered to that leader already is kept up to
         * date by its broadcasts: one surrendered per leader change. */
        g->cbs->surrendered(g, from, g->handover, g->handover_len);
    }
    free(g->handover);
    g->handover = NULL;
    g->handover_len = 0;
    g->has_handover = false;
    elect(g, epoch);
    return 0;
}

void lib_group_token(struct baton_group *g, uint64_t epoch)
{
    /* A higher token for the running instance means another one was
     * started meanwhile (a heal merged a history in which another node
     * led, or a takeover was abandoned; apps.md §4): the leadership
     * under the old token is over (deposed, if still_leading has not
     * found so yet), and this node is elected again, so members get a
     * fresh sync (not one made before the other leader's time) and
     * surrender once to it. */
    depose(g, NULL);
    elect(g, epoch);
}

static void group_stop(struct baton_app *app, int reason, const char *to)
{
    struct baton_group *g = app->group;

    lib_logf(g->b, BATON_LOG_INFO, "group %s: no longer leader (%d)",
             g->name, reason);
    depose(g, to);
}

/* A better candidate came back and takes the lead over: the old leader
 * makes its sync with elected(joined = the new leader), and the new one
 * gets it in surrendered() just before its own elected(). Without this a
 * restarted candidate would lead with a blank state, and every member's
 * surrendered() would then replace theirs with it. */
static int group_export(struct baton_app *app, void **data, size_t *len)
{
    struct baton_group *g = app->group;
    const struct baton_state *st = &g->b->io.node.state;
    int k = baton_state_app_find(st, g->name);

    if (g->lead_epoch == 0 || k < 0 || st->apps[k].owner == BATON_NODE_NONE ||
        st->apps[k].owner == g->b->cfg.io.self) {
        return BATON_ESTATE;
    }
    g->cbs->elected(g, lib_node_name(g->b, st->apps[k].owner), data, len);
    if (*data == NULL) {
        *len = 0;
    }
    return 0;
}

static void group_import(struct baton_app *app, const void *data,
                         size_t len)
{
    struct baton_group *g = app->group;

    free(g->handover);
    g->handover = NULL;
    g->handover_len = 0;
    g->has_handover = false;
    if (len > 0 && (g->handover = malloc(len)) == NULL) {
        return;
    }
    if (len > 0) {
        memcpy(g->handover, data, len);
    }
    g->handover_len = len;
    g->has_handover = true;
}

static const struct baton_app_callbacks group_app_cbs = {
    .start = group_start,
    .stop = group_stop,
    .export_state = group_export,
    .import_state = group_import,
};

/* ---- declaring -------------------------------------------------------- */

static int parse_list(struct baton *b, const char *group, const char *what,
                      const char *list, uint8_t *rank)
{
    char err[256];
    char label[64];

    snprintf(label, sizeof(label), "%s %s", group, what);
    if (lib_config_priority(&b->cfg, label, list, rank, err,
                              sizeof(err)) != 0) {
        return lib_fail(b, BATON_EINVAL, "group %s", err);
    }
    return 0;
}

int baton_group_add(struct baton *b, const char *name,
                    const char *candidates, const char *workers,
                    const struct baton_group_callbacks *cbs, void *data,
                    struct baton_group **out)
{
    uint8_t cand[BATON_NODES_MAX] = {0};
    uint8_t work[BATON_NODES_MAX] = {0};
    unsigned self = b->cfg.io.self;
    struct baton_group *g;
    int rv;

    if (cbs == NULL || cbs->elected == NULL || cbs->surrendered == NULL ||
        cbs->handle_leader_call == NULL || candidates == NULL) {
        return lib_fail(b, BATON_EINVAL, "group %s: needs candidates and "
                        "the elected, surrendered and handle_leader_call "
                        "callbacks", name ? name : "(null)");
    }
    if ((rv = parse_list(b, name ? name : "?", "candidates", candidates,
                         cand)) != 0) {
        return rv;
    }
    /* One rank per candidate: the list is an order, not groups. */
    {
        uint8_t r = 0;
        for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
            r = cand[i] > r ? cand[i] : r;
        }
        for (unsigned i = 0, seen = 0; i < BATON_NODES_MAX; i++) {
            seen += cand[i] != 0;
            if (i + 1 == BATON_NODES_MAX && seen != r) {
                return lib_fail(b, BATON_EINVAL, "group %s: candidates are "
                                "an order; braces are for apps", name);
            }
        }
    }
    if (workers != NULL && workers[0] != '\0') {
        if ((rv = parse_list(b, name, "workers", workers, work)) != 0) {
            return rv;
        }
        for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
            if (work[i] != 0 && cand[i] != 0) {
                return lib_fail(b, BATON_EINVAL, "group %s: %s is both a "
                                "candidate and a worker", name,
                                lib_node_name(b, i));
            }
        }
    }
    if (cand[self] == 0 && work[self] == 0) {
        return lib_fail(b, BATON_EINVAL, "group %s: this node (%s) is "
                        "neither a candidate nor a worker", name,
                        b->cfg.self_name);
    }
    for (unsigned i = 0; i < b->cfg.io.n_nodes; i++) {
        if ((cand[i] != 0 || work[i] != 0) &&
            strlen(name) + 1 + strlen(b->cfg.io.names[i]) > BATON_GNAME_MAX) {
            return lib_fail(b, BATON_EINVAL, "group %s: \"%s/%s\" is over "
                            "%d bytes: use a shorter group name", name, name,
                            b->cfg.io.names[i], BATON_GNAME_MAX);
        }
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        return BATON_ENOMEM;
    }
    rv = lib_app_declare(b, name, cand, 0, LIB_GROUP, &group_app_cbs, g, 0,
                         &g->app);
    if (rv != 0) {
        free(g);
        return rv;
    }
    g->b = b;
    g->app->group = g;
    snprintf(g->name, sizeof(g->name), "%s", name);
    memcpy(g->candidate, cand, sizeof(cand));
    memcpy(g->worker, work, sizeof(work));
    g->cbs = cbs;
    g->data = data;
    snprintf(g->leader_name, sizeof(g->leader_name), "%s", name);
    member_name(g->member_name, name, b->cfg.self_name);
    g->member_h.message = member_message;
    g->member_h.lost = member_lost;
    g->member_h.call = member_call;
    g->leader_h.message = leader_message;
    g->leader_h.call = leader_call;
    g->leader_h.lost = leader_lost;
    b->groups[b->n_groups++] = g;
    if (out != NULL) {
        *out = g;
    }
    return 0;
}

void *baton_group_data(const struct baton_group *g)
{
    return g->data;
}

struct baton *baton_group_node(const struct baton_group *g)
{
    return g->b;
}

/* ---- the member side -------------------------------------------------- */

static void member_registered(void *data, int status)
{
    struct baton_group *g = data;

    g->member_registering = false;
    g->member_registered = status == 0;
}

static void member_message(void *data, const char *name, const void *msg,
                           size_t len)
{
    struct baton_group *g = data;
    const uint8_t *m = msg;

    (void)name;
    if (len >= 1 && m[0] == 'B' && !g->leading) {
        if (g->cbs->from_leader != NULL) {
            g->cbs->from_leader(g, m + 1, len - 1);
        }
        lib_control_group_event(g->b->control, g->name, "from_leader",
                                NULL, NULL, 0, m + 1, len - 1);
    }
}

static void member_lost(void *data, const char *name, int reason)
{
    struct baton_group *g = data;

    (void)name;
    (void)reason;
    g->member_registered = false; /* registered again by observe */
}

void lib_groups_start(struct baton *b)
{
    for (unsigned i = 0; i < b->n_groups; i++) {
        struct baton_group *g = b->groups[i];
        g->initialized = true;
        if (g->cbs->init != NULL && g->cbs->init(g) != 0) {
            lib_logf(b, BATON_LOG_WARN, "group %s: init failed", g->name);
        }
        for (unsigned p = 0; p < b->cfg.io.n_nodes; p++) {
            g->alive[p] = lib_alive(b, p);
        }
    }
}

/* Sends the leader calls that waited for a leader. */
static void flush_waiting(struct baton_group *g, unsigned leader)
{
    struct baton *b = g->b;

    for (struct lib_call *c = g->waiting, *next; c != NULL; c = next) {
        uint64_t id = c->id;
        int rv;
        next = c->next;
        if (!c->buffered) {
            continue;
        }
        c->buffered = 0;
        c->target = (uint8_t)leader;
        rv = lib_call_send(b, c, g->leader_name, c->msg, c->len);
        if (rv != 0 && lib_idmap_get(&b->calls, id) == c) {
            c->buffered = 1; /* try again on the next turn */
        }
    }
}

static void join_done(struct baton *b, struct lib_call *c, int status,
                      const uint8_t *reply, size_t len);

/* A join that timed out (or the node closes): ask again later. */
static void join_expired(void *data, int status, const void *reply,
                         size_t len)
{
    struct baton_group *g = data;

    (void)status;
    (void)reply;
    (void)len;
    g->joining = false;
    g->join_after_ms = lib_now(g->b) + JOIN_RETRY_MS;
}

/* After every loop turn (and on a tick): registrations, a new leader to
 * join, members lost, waiting calls to send or to fail. */
void lib_groups_observe(struct baton *b)
{
    uint64_t now = lib_now(b);

    for (unsigned i = 0; i < b->n_groups; i++) {
        struct baton_group *g = b->groups[i];
        uint64_t epoch;
        unsigned leader = leader_of(g, &epoch);

        if (!g->member_registered && !g->member_registering &&
            b->io.node.role != BATON_ROLE_SEEKING) {
            g->member_registering = true; /* may be answered within */
            if (lib_register(b, g->member_name, true, &g->member_h, g,
                             member_registered, g) != 0) {
                g->member_registering = false;
            }
        }
        for (unsigned p = 0; p < b->cfg.io.n_nodes; p++) {
            bool up = lib_alive(b, p);
            bool lost = g->alive[p] && !up && is_member(g, p);
            /* Before any callback: one may call in again (a reply
             * callback that makes a new leader_call observes). */
            g->alive[p] = up;
            if (lost) {
                /* Leader calls that went to a lost leader fail: it may
                 * have done the work, so they are not sent again. The
                 * list may change under a callback: start over. */
                struct lib_call *c = g->waiting;
                while (c != NULL) {
                    if (!c->buffered && c->target == p) {
                        lib_call_finish(b, c, BATON_ELEADERDOWN, NULL, 0);
                        c = g->waiting;
                        continue;
                    }
                    c = c->next;
                }
                if (still_leading(g) && g->cbs->handle_down != NULL) {
                    g->cbs->handle_down(g, lib_node_name(b, p));
                }
                lib_control_group_event(b->control, g->name, "down",
                                        "node", lib_node_name(b, p), 0,
                                        NULL, 0);
            }
        }
        if (app_refused(g)) {
            /* Nodes disagree on the candidates: nobody leads. */
            if (!g->refused_logged) {
                g->refused_logged = true;
                lib_logf(b, BATON_LOG_ERROR, "group %s: refused: its "
                         "candidate list differs between nodes; give every "
                         "node the same list", g->name);
            }
            while (g->waiting != NULL) {
                lib_call_finish(b, g->waiting, BATON_EREFUSED, NULL, 0);
            }
            continue;
        }
        if (!g->leading && g->app->running && g->lead_epoch != 0 &&
            leader == b->cfg.io.self && epoch >= epoch_max(g)) {
            /* Deposed (the replica showed another owner, or a higher
             * token, for a while), yet the core kept this node's
             * instance without a new token (a heal resolved for it):
             * it leads again, elected with a fresh sync. */
            elect(g, epoch);
        }
        if (still_leading(g) && leader == b->cfg.io.self) {
            const char *holder = NULL;
            if (baton_whereis(b, g->leader_name, &holder, NULL) != 0 ||
                holder == NULL || strcmp(holder, b->cfg.self_name) != 0) {
                register_leader(g);
            }
        }
        if (leader != BATON_NODE_NONE && leader != b->cfg.io.self &&
            epoch != g->surrendered_epoch && epoch >= epoch_max(g) &&
            !g->joining &&
            now >= g->join_after_ms && g->member_registered) {
            /* A new leader: ask it for our sync (gen_leader's ldr). */
            struct lib_call *c = lib_call_new(b, LIB_CALL_JOIN,
                                              JOIN_TIMEOUT_MS, join_expired,
                                              g);
            uint8_t msg[10];
            if (c != NULL) {
                uint64_t id = c->id;
                c->epoch = epoch;
                c->target = (uint8_t)leader;
                msg[0] = 'J';
                memcpy(msg + 1, &epoch, 8);
                msg[9] = (uint8_t)b->cfg.io.self;
                g->joining = true;
                if (lib_call_send(b, c, g->leader_name, msg, sizeof(msg)) !=
                        0 &&
                    (c = lib_idmap_get(&b->calls, id)) != NULL) {
                    join_done(b, c, BATON_EBUSY, NULL, 0);
                }
            }
        }
        if (leader != BATON_NODE_NONE && g->n_waiting > 0) {
            const char *holder = NULL;
            int l = -1;
            if (baton_whereis(b, g->leader_name, &holder, NULL) == 0) {
                l = lib_node_id(b, holder);
            }
            if (l == (int)leader &&
                (leader != b->cfg.io.self || still_leading(g))) {
                flush_waiting(g, leader);
            }
        }
    }
}

static void join_done(struct baton *b, struct lib_call *c, int status,
                      const uint8_t *reply, size_t len)
{
    struct baton_group *g = c->cb_data;
    uint64_t epoch = c->epoch, elected;
    unsigned asked = c->target; /* the leader that answers, not today's */

    c->cb = NULL;
    lib_call_finish(b, c, status, NULL, 0);
    g->joining = false;
    if (status == 0 && len >= 9 && reply[0] == 'S' && !g->leading) {
        memcpy(&elected, reply + 1, 8);
        g->surrendered_epoch = epoch;
        if (g->followed == asked + 1 && g->followed_elect == elected) {
            /* The same leadership under a new token: surrendered once
             * per leader change, not once per token. */
            return;
        }
        g->followed = asked + 1;
        g->followed_elect = elected;
        g->cbs->surrendered(g, lib_node_name(b, asked), reply + 9, len - 9);
        lib_control_group_event(b->control, g->name, "surrendered",
                                "leader", lib_node_name(b, asked), epoch,
                                reply + 9, len - 9);
        return;
    }
    g->join_after_ms = lib_now(b) + JOIN_RETRY_MS;
}

/* ---- the leader side -------------------------------------------------- */

/* 'S' (the prefix), the election epoch, then the sync. */
static void sync_reply(struct baton_group *g, struct baton_request *req,
                       const void *sync, size_t len)
{
    uint8_t *buf = malloc(8 + len);

    if (buf == NULL) {
        (void)baton_reply(req, NULL, 0); /* the member asks again */
        return;
    }
    memcpy(buf, &g->elect_epoch, 8);
    if (len > 0) {
        memcpy(buf + 8, sync, len);
    }
    (void)baton_reply(req, buf, 8 + len);
    free(buf);
}

static void leader_call(void *data, const char *name,
                        struct baton_request *req, const void *msg,
                        size_t len)
{
    struct baton_group *g = data;
    const uint8_t *m = msg;
    static const uint8_t not_leader = 'N';

    (void)name;
    if (len < 1 || !still_leading(g)) {
        req->prefix = 0;
        (void)baton_reply(req, &not_leader, 1);
        return;
    }
    if (m[0] == 'C') {
        req->prefix = 'R';
        g->cbs->handle_leader_call(g, req, m + 1, len - 1);
    } else if (m[0] == 'J' && len == 10) {
        uint64_t epoch;
        unsigned node = m[9];
        memcpy(&epoch, m + 1, 8);
        req->prefix = 'S';
        if (epoch != g->lead_epoch || node >= g->b->cfg.io.n_nodes) {
            req->prefix = 0;
            (void)baton_reply(req, &not_leader, 1);
        } else if (g->alive_at_election[node]) {
            sync_reply(g, req, g->sync0, g->sync0_len);
        } else {
            void *sync = NULL;
            size_t slen = 0;
            g->cbs->elected(g, lib_node_name(g->b, node), &sync, &slen);
            if (slen > SYNC_MAX) {
                slen = 0;
            }
            sync_reply(g, req, sync, sync != NULL ? slen : 0);
            free(sync);
        }
    } else {
        req->prefix = 0;
        (void)baton_reply(req, &not_leader, 1);
    }
}

static void leader_message(void *data, const char *name, const void *msg,
                           size_t len)
{
    struct baton_group *g = data;
    const uint8_t *m = msg;

    (void)name;
    if (len >= 1 && m[0] == 'K' && still_leading(g) &&
        g->cbs->handle_leader_cast != NULL) {
        g->cbs->handle_leader_cast(g, m + 1, len - 1);
    }
}

static void leader_lost(void *data, const char *name, int reason)
{
    struct baton_group *g = data;

    (void)name;
    (void)reason;
    /* Still leading (a heal's clash on the name went the other way, or a
     * stale leader re-registered): observe takes it back. */
    (void)g;
}

/* ---- calls ------------------------------------------------------------ */

void lib_group_call_done(struct baton *b, struct lib_call *c, int status,
                         const uint8_t *reply, size_t len)
{
    if (c->kind == LIB_CALL_JOIN) {
        join_done(b, c, status, reply, len);
        return;
    }
    if (c->kind != LIB_CALL_LEADER) {
        lib_call_finish(b, c, status, reply, len);
        return;
    }
    if (status == 0 && len >= 1 && reply[0] == 'R') {
        lib_call_finish(b, c, 0, reply + 1, len - 1);
    } else if ((status == 0 && len >= 1 && reply[0] == 'N') ||
               status == BATON_ENOTFOUND) {
        c->buffered = 1; /* not the leader (any more): wait for one */
    } else if (status == BATON_EUNREACHABLE) {
        lib_call_finish(b, c, BATON_ELEADERDOWN, NULL, 0);
    } else {
        lib_call_finish(b, c, status != 0 ? status : BATON_EBADMSG, NULL, 0);
    }
}

static int group_usable(struct baton_group *g)
{
    if (g->b->closing) {
        return BATON_ECLOSED;
    }
    if (!g->b->started) {
        return lib_fail(g->b, BATON_ESTATE, "group %s: not started",
                        g->name);
    }
    return 0;
}

int baton_leader_call(struct baton_group *g, const void *msg, size_t len,
                      uint64_t timeout_ms, baton_reply_cb cb, void *cb_data)
{
    struct baton *b = g->b;
    struct lib_call *c;
    int rv;

    if ((rv = group_usable(g)) != 0) {
        return rv;
    }
    if (len > BATON_CALL_DATA_MAX - 1 || (msg == NULL && len != 0)) {
        return lib_fail(b, BATON_EINVAL, "leader_call %s: %zu bytes",
                        g->name, len);
    }
    if (g->n_waiting >= LIB_LEADER_CALLS_MAX) {
        return lib_fail(b, BATON_EBUSY, "leader_call %s: %d calls waiting",
                        g->name, LIB_LEADER_CALLS_MAX);
    }
    c = lib_call_new(b, LIB_CALL_LEADER, timeout_ms, cb, cb_data);
    if (c == NULL) {
        return BATON_ENOMEM;
    }
    c->msg = malloc(len + 1);
    if (c->msg == NULL) {
        c->cb = NULL;
        lib_call_finish(b, c, BATON_ENOMEM, NULL, 0);
        return BATON_ENOMEM;
    }
    c->msg[0] = 'C';
    if (len > 0) {
        memcpy(c->msg + 1, msg, len);
    }
    c->len = len + 1;
    c->group = g;
    c->buffered = 1;
    c->next = g->waiting;
    if (g->waiting != NULL) {
        g->waiting->prev = c;
    }
    g->waiting = c;
    g->n_waiting++;
    lib_groups_observe(b); /* sends it now if there is a leader */
    return 0;
}

int baton_leader_cast(struct baton_group *g, const void *msg, size_t len)
{
    int rv;

    if ((rv = group_usable(g)) != 0) {
        return rv;
    }
    if (still_leading(g)) {
        if (g->cbs->handle_leader_cast != NULL) {
            g->cbs->handle_leader_cast(g, msg, len);
        }
        return 0;
    }
    return lib_send_prefixed(g->b, g->leader_name, 'K', msg, len);
}

int baton_group_broadcast(struct baton_group *g, const void *msg, size_t len)
{
    struct baton *b = g->b;
    char name[BATON_GNAME_MAX + 1];
    int rv;

    if ((rv = group_usable(g)) != 0) {
        return rv;
    }
    if (!still_leading(g)) {
        return lib_fail(b, BATON_ESTATE, "broadcast %s: not the leader",
                        g->name);
    }
    for (unsigned p = 0; p < b->cfg.io.n_nodes; p++) {
        if (p == b->cfg.io.self || !is_member(g, p) || !lib_alive(b, p)) {
            continue;
        }
        member_name(name, g->name, lib_node_name(b, p));
        rv = lib_send_prefixed(b, name, 'B', msg, len);
        if (rv != 0 && rv != BATON_ENOTFOUND) {
            return rv;
        }
    }
    return 0;
}

int baton_group_call(struct baton_group *g, const void *msg, size_t len,
                     uint64_t timeout_ms, baton_reply_cb cb, void *cb_data)
{
    struct baton *b = g->b;
    struct baton_request *req;
    struct lib_call *c;
    int rv;

    if ((rv = group_usable(g)) != 0) {
        return rv;
    }
    if (g->cbs->handle_call == NULL) {
        return lib_fail(b, BATON_EINVAL, "group %s: no handle_call",
                        g->name);
    }
    c = lib_call_new(b, LIB_CALL_LOCAL, timeout_ms, cb, cb_data);
    req = c != NULL ? lib_request_new(b, LIB_REQ_LOCAL, c->id) : NULL;
    if (req == NULL) {
        if (c != NULL) {
            c->cb = NULL;
            lib_call_finish(b, c, BATON_ENOMEM, NULL, 0);
        }
        return BATON_ENOMEM;
    }
    g->cbs->handle_call(g, req, msg, len);
    return 0;
}

int baton_group_cast(struct baton_group *g, const void *msg, size_t len)
{
    int rv;

    if ((rv = group_usable(g)) != 0) {
        return rv;
    }
    if (g->cbs->handle_cast != NULL) {
        g->cbs->handle_cast(g, msg, len);
    }
    return 0;
}

int baton_group_info(struct baton_group *g, const void *msg, size_t len)
{
    int rv;

    if ((rv = group_usable(g)) != 0) {
        return rv;
    }
    if (g->cbs->handle_info != NULL) {
        g->cbs->handle_info(g, msg, len);
    }
    return 0;
}

void lib_groups_shutdown(struct baton *b)
{
    for (unsigned i = 0; i < b->n_groups; i++) {
        struct baton_group *g = b->groups[i];
        g->leading = false;
        g->app->running = false;
        if (g->initialized && g->cbs->terminate != NULL) {
            g->cbs->terminate(g, BATON_STOP_SHUTDOWN);
        }
    }
}

/* ---- queries ---------------------------------------------------------- */

const char *baton_group_leader(const struct baton_group *g)
{
    uint64_t epoch;
    unsigned l;

    if (!g->b->started) {
        return NULL;
    }
    l = leader_of(g, &epoch);
    return l == BATON_NODE_NONE ? NULL : lib_node_name(g->b, l);
}

bool baton_group_is_leader(const struct baton_group *g)
{
    return g->leading;
}

uint64_t baton_group_epoch(const struct baton_group *g)
{
    if (g->leading) {
        return g->lead_epoch;
    }
    return g->followed != 0 ? g->surrendered_epoch : 0;
}

static unsigned list(const struct baton_group *g, const char **names,
                     unsigned max, int which)
{
    const struct baton *b = g->b;
    unsigned n = 0;

    for (unsigned rank = 1; rank <= BATON_NODES_MAX; rank++) {
        for (unsigned p = 0; p < b->cfg.io.n_nodes; p++) {
            bool take;
            if (which == 0) {
                take = g->candidate[p] == rank;
            } else if (rank != 1) {
                continue;
            } else if (which == 1) {
                take = g->worker[p] != 0;
            } else {
                take = is_member(g, p) &&
                       (which == 2) == (b->started && lib_alive(b, p));
            }
            if (take) {
                if (n < max) {
                    names[n] = lib_node_name(b, p);
                }
                n++;
            }
        }
    }
    return n;
}

unsigned baton_group_candidates(const struct baton_group *g,
                                const char **names, unsigned max)
{
    return list(g, names, max, 0);
}

unsigned baton_group_workers(const struct baton_group *g, const char **names,
                             unsigned max)
{
    return list(g, names, max, 1);
}

unsigned baton_group_alive(const struct baton_group *g, const char **names,
                           unsigned max)
{
    return list(g, names, max, 2);
}

unsigned baton_group_down(const struct baton_group *g, const char **names,
                          unsigned max)
{
    return list(g, names, max, 3);
}

/* The group's state for the control socket (docs/control.md "Leader
 * groups"): added to o. The epoch is the group app's, as this node's
 * replica says; it grows with every election. */
static void add_list(cJSON *o, const char *key, const struct baton_group *g,
                     int which)
{
    const char *names[BATON_NODES_MAX];
    unsigned n = list(g, names, BATON_NODES_MAX, which);
    cJSON *arr = cJSON_AddArrayToObject(o, key);

    for (unsigned i = 0; i < n && i < BATON_NODES_MAX; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
    }
}

int lib_group_json(struct baton *b, const char *name, cJSON *o)
{
    const struct baton_group *g = NULL;
    char num[24];
    uint64_t epoch = 0;
    unsigned l = BATON_NODE_NONE;

    for (unsigned i = 0; b != NULL && i < b->n_groups; i++) {
        if (strcmp(b->groups[i]->name, name) == 0) {
            g = b->groups[i];
        }
    }
    if (g == NULL) {
        return BATON_ENOTFOUND;
    }
    if (b->started) {
        l = leader_of(g, &epoch);
    }
    cJSON_AddStringToObject(o, "group", g->name);
    if (l == BATON_NODE_NONE) {
        cJSON_AddNullToObject(o, "leader");
        cJSON_AddNullToObject(o, "epoch");
    } else {
        cJSON_AddStringToObject(o, "leader", lib_node_name(b, l));
        snprintf(num, sizeof(num), "%" PRIu64, epoch);
        cJSON_AddStringToObject(o, "epoch", num);
    }
    cJSON_AddBoolToObject(o, "leading", g->leading);
    add_list(o, "candidates", g, 0);
    add_list(o, "workers", g, 1);
    add_list(o, "alive", g, 2);
    add_list(o, "down", g, 3);
    return 0;
}

/* ---- the control socket: a session on this node's member --------------
 * (docs/control.md "Leader groups"). A session is one more endpoint of
 * this node: its ops are the C API's on the group the program declared,
 * and the answers to its calls come back to it, if it is still open. */

/* A session's call in flight (leader_call, group_call). */
struct sess_call {
    struct baton *b;
    uint64_t endpoint; /* the session, looked up again: it may close */
    cJSON *cid;
    const char *what; /* "leader_call", "group_call" */
    uint64_t timeout_ms;
};

/* The error token of a group op's status (docs/control.md "Errors"). */
static const char *status_token(int status)
{
    switch (status) {
    case BATON_ETIMEDOUT:
        return "timeout";
    case BATON_ELEADERDOWN:
        return "leader_down";
    case BATON_EBUSY:
    case BATON_EFULL:
    case BATON_ENOMEM:
        return "busy";
    case BATON_EREFUSED:
        return "refused";
    case BATON_ENOTFOUND:
        return "not_found";
    case BATON_EUNREACHABLE:
        return "unreachable";
    case BATON_ESTATE:
        return "not_leader";
    case BATON_ECLOSED:
        return "closed";
    default:
        return "invalid";
    }
}

static void send_status(struct lib_session *s, const cJSON *cid,
                        int status, const char *what)
{
    char msg[160];

    if (status == 0) {
        lib_ctl_send_ok(s, cid);
        return;
    }
    snprintf(msg, sizeof(msg), "%s: %s", what, baton_strerror(status));
    lib_ctl_send_error(s, cid, status_token(status), msg);
}

static void sess_call_done(void *data, int status, const void *reply,
                           size_t len)
{
    struct sess_call *sc = data;
    struct lib_session *s = NULL;

    /* A closing node has no sessions left to answer. */
    if (!sc->b->closing && sc->b->control != NULL) {
        s = lib_ctl_session_of(sc->b->control, sc->endpoint);
    }
    if (s != NULL && !s->closing) {
        if (status == 0) {
            lib_ctl_session_send_ok(s, sc->cid, true, reply, len);
        } else if (status == BATON_ETIMEDOUT) {
            char msg[160];
            snprintf(msg, sizeof(msg), "%s: no answer within %" PRIu64
                     " ms%s", sc->what, sc->timeout_ms,
                     sc->what[0] == 'l' ? " (no leader elected meanwhile, "
                                          "or it did not reply)"
                                        : "");
            lib_ctl_send_error(s, sc->cid, "timeout", msg);
        } else {
            send_status(s, sc->cid, status, sc->what);
        }
    }
    cJSON_Delete(sc->cid);
    free(sc);
}

static struct sess_call *sess_call_new(struct baton *b,
                                       struct lib_session *s,
                                       const cJSON *cid, const char *what,
                                       uint64_t timeout_ms)
{
    struct sess_call *sc = calloc(1, sizeof(*sc));

    if (sc == NULL) {
        return NULL;
    }
    sc->b = b;
    sc->endpoint = s->ep.id;
    sc->cid = cid != NULL ? cJSON_Duplicate(cid, true) : NULL;
    sc->what = what;
    sc->timeout_ms = timeout_ms;
    return sc;
}

/* A member's instance answers a call to "<group>/<node>" (group_call
 * with a node): its handle_call, as baton_group_call locally. */
static void member_call(void *data, const char *name,
                        struct baton_request *req, const void *msg,
                        size_t len)
{
    struct baton_group *g = data;

    (void)name;
    if (g->cbs->handle_call == NULL) {
        (void)baton_reply(req, NULL, 0);
        return;
    }
    g->cbs->handle_call(g, req, msg, len);
}

static void add_names(cJSON *o, const char *key, const char **names,
                      unsigned n)
{
    cJSON *arr = cJSON_AddArrayToObject(o, key);

    for (unsigned i = 0; i < n && i < BATON_NODES_MAX; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
    }
}

/* group_call: to node's instance ("node" absent or this node: the local
 * one, in process). */
static void op_group_call(struct baton_group *g, struct lib_session *s,
                          const cJSON *req, const cJSON *cid,
                          const uint8_t *data, size_t len,
                          uint64_t timeout_ms)
{
    const cJSON *nj = cJSON_GetObjectItemCaseSensitive(req, "node");
    struct sess_call *sc;
    char name[BATON_GNAME_MAX + 1];
    int node = -1, rv;

    if (nj != NULL && (!cJSON_IsString(nj) ||
                       (node = lib_node_id(g->b, nj->valuestring)) < 0 ||
                       !is_member(g, (unsigned)node))) {
        lib_ctl_send_error(s, cid, "invalid",
                           "node must name a member of the group");
        return;
    }
    if ((sc = sess_call_new(g->b, s, cid, "group_call", timeout_ms)) ==
        NULL) {
        lib_ctl_send_error(s, cid, "busy", "out of memory");
        return;
    }
    if (node < 0 || (unsigned)node == g->b->cfg.io.self) {
        rv = baton_group_call(g, data, len, timeout_ms, sess_call_done, sc);
    } else {
        member_name(name, g->name, lib_node_name(g->b, (unsigned)node));
        rv = baton_call(g->b, name, data, len, timeout_ms, sess_call_done,
                        sc);
    }
    if (rv != 0) {
        cJSON_Delete(sc->cid);
        free(sc);
        send_status(s, cid, rv, "group_call");
    }
}

int lib_group_op(struct baton *b, struct lib_session *s, const char *op,
                 const cJSON *req, const cJSON *cid)
{
    static const char *const lists[] = {"candidates", "workers", "alive",
                                        "down"};
    const cJSON *gj = cJSON_GetObjectItemCaseSensitive(req, "group");
    const cJSON *tmo = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
    const char *group = s->group;
    struct baton_group *g = NULL;
    uint64_t timeout_ms = LIB_CTL_CALL_TIMEOUT_MS;
    int which = -1, rv = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    const char *why;
    char buf[128];

    for (int i = 0; i < 4; i++) {
        which = strcmp(op, lists[i]) == 0 ? i : which;
    }
    if (which < 0 && strcmp(op, "leader_call") != 0 &&
        strcmp(op, "leader_cast") != 0 && strcmp(op, "broadcast") != 0 &&
        strcmp(op, "group_call") != 0) {
        return BATON_ENOTFOUND;
    }
    if (gj != NULL) {
        group = cJSON_IsString(gj) ? gj->valuestring : "";
    }
    for (unsigned i = 0; i < b->n_groups && group[0] != '\0'; i++) {
        g = strcmp(b->groups[i]->name, group) == 0 ? b->groups[i] : g;
    }
    if (g == NULL) {
        lib_ctl_send_error(s, cid, group[0] == '\0' ? "invalid" : "not_found",
                           group[0] == '\0'
                               ? "join a group first, or name it (group)"
                               : "no such leader group here");
        return 0;
    }
    if (which >= 0) {
        const char *names[BATON_NODES_MAX];
        cJSON *o = lib_ctl_answer(cid, true);
        cJSON_AddStringToObject(o, "group", g->name);
        add_names(o, "nodes", names,
                  list(g, names, BATON_NODES_MAX, which));
        lib_ctl_session_send(s, o);
        return 0;
    }
    if (tmo != NULL &&
        !lib_json_whole(tmo, 1, LIB_CTL_CALL_TIMEOUT_MAX_MS, &timeout_ms)) {
        lib_ctl_send_error(s, cid, "invalid",
                           "timeout_ms must be a whole number of ms in "
                           "1..600000");
        return 0;
    }
    /* One byte routes a group's payloads (docs/api.md). */
    why = lib_ctl_get_data(req, "data", "data64", BATON_CALL_DATA_MAX - 1,
                           &data, &len, buf, sizeof(buf));
    if (why != NULL) {
        lib_ctl_send_error(s, cid, "invalid", why);
        return 0;
    }
    if (strcmp(op, "leader_call") == 0) {
        struct sess_call *sc = sess_call_new(b, s, cid, "leader_call",
                                             timeout_ms);
        rv = sc == NULL ? BATON_ENOMEM
                        : baton_leader_call(g, data, len, timeout_ms,
                                            sess_call_done, sc);
        if (rv != 0 && sc != NULL) {
            cJSON_Delete(sc->cid);
            free(sc);
        }
        if (rv != 0) {
            send_status(s, cid, rv, "leader_call");
        }
    } else if (strcmp(op, "group_call") == 0) {
        op_group_call(g, s, req, cid, data, len, timeout_ms);
    } else if (strcmp(op, "leader_cast") == 0) {
        send_status(s, cid, baton_leader_cast(g, data, len), "leader_cast");
    } else {
        send_status(s, cid, baton_group_broadcast(g, data, len),
                    "broadcast");
    }
    free(data);
    return 0;
}
