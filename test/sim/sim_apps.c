/* App checks of the simulator that belong to issue 11's promises
 * (docs/design/apps.md §4-§5), kept apart from the network model. */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

/* Tokens only grow for the instance that runs: once a group has
 * converged, the instance of app a that runs on `runner` holds a token
 * at least as high as any token a member of the group started the app
 * with, or was given, in its current life (each node's `last`). A node
 * that lost its life's history (restarted) cannot be held to more. */
bool sim__apps_tokens_ok(const struct sim *s, unsigned mask, unsigned a,
                         unsigned runner, char *buf, size_t len)
{
    uint64_t have = s->nodes[runner].inst[a].epoch;

    for (unsigned x = 0; x < s->cfg.n_nodes; x++) {
        uint64_t last = s->nodes[x].core.local[a].last;
        if ((mask & (1u << x)) && last > have) {
            if (buf != NULL && len > 0) {
                snprintf(buf, len,
                         "app %s runs on %s with token %" PRIu64
                         ", below %" PRIu64 " started on %s",
                         s->cfg.apps[a].name, sim_names[runner], have, last,
                         sim_names[x]);
            }
            return false;
        }
    }
    return true;
}

/* A coordinator never starts an instance while it knows that another
 * member of its group runs one (docs/design/apps.md §3): checked on
 * every decision that starts app t->app (STARTING or TAKEOVER under a
 * new token), against the reports the coordinator holds at that
 * moment. The takeover's old owner is the one exception: it runs until
 * the new instance is ready. */
void sim__apps_trace(struct sim *s, unsigned c, const struct baton_trace *t)
{
    const struct baton_node *n = &s->nodes[c].core;
    const struct baton_state_app *e;
    int k;

    if (t->type != BATON_TRACE_APP || t->reason != 1 ||
        (t->b != BATON_APP_STARTING && t->b != BATON_APP_TAKEOVER) ||
        n->role != BATON_ROLE_COORDINATOR) {
        return;
    }
    k = baton_state_app_find(&n->state, t->app);
    if (k < 0) {
        return;
    }
    e = &n->state.apps[k];
    for (unsigned a = 0; a < s->cfg.n_apps; a++) {
        if (strcmp(s->cfg.apps[a].name, t->app) == 0 &&
            s->nodes[e->owner].inst[a].last_epoch >= e->epoch) {
            return; /* not a new instance: one under that token started */
        }
    }
    for (unsigned j = 0; j < s->cfg.n_nodes; j++) {
        const struct baton_report_slot *slot = &n->reports[j];
        baton_inc inc = j == c ? n->inc : n->state.nodes[j].inc;
        if (j == e->owner || !n->state.nodes[j].member || slot->inc == 0 ||
            slot->inc != inc ||
            (e->status == BATON_APP_TAKEOVER && j == e->prev)) {
            continue; /* the owner's own instance is adopted or replaced */
        }
        for (unsigned r = 0; r < slot->rep.n && r < BATON_APPS_MAX; r++) {
            const struct baton_app_report *p = &slot->rep.r[r];
            if (strcmp(p->name, t->app) != 0 || p->epoch == 0 ||
                (p->run != BATON_LOCAL_STARTING &&
                 p->run != BATON_LOCAL_RUNNING)) {
                continue;
            }
            sim__fail(s,
                      "%s started app %s on %s (epoch %" PRIu64
                      ") while member %s reported its instance (epoch %" PRIu64
                      ") %s",
                      sim_names[c], t->app, sim_names[e->owner], e->epoch,
                      sim_names[j], p->epoch,
                      p->run == BATON_LOCAL_RUNNING ? "running" : "starting");
            return;
        }
    }
}
