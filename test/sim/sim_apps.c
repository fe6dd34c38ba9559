/* App checks of the simulator that belong to issue 11's promises
 * (docs/design/apps.md §4-§5), kept apart from the network model. */
#include "../../src/util/setup.h"

#include <inttypes.h>
#include <stdio.h>

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
