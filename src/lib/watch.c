/* Lost holders: see watch.h. */
#include "../util/setup.h"

#include "watch.h"

struct lib_target lib_target_of(const struct baton_node *n, const char *name)
{
    const struct baton_name *e = baton_node_whereis(n, name);
    struct lib_target t = {BATON_NODE_NONE, 0};

    if (e != NULL && e->owner != n->cfg.self) {
        t.node = e->owner;
        t.inc = e->owner_inc;
    }
    return t;
}

bool lib_target_lost(const struct baton_node *n, struct lib_target t)
{
    const struct baton_peer *p;

    if (t.node == BATON_NODE_NONE || t.node >= n->cfg.n_nodes) {
        return false;
    }
    p = &n->peers[t.node];
    return !p->alive || p->inc != t.inc;
}

bool lib_watch_lost(struct lib_watch *w, const struct baton_node *n)
{
    bool lost = false;

    for (unsigned i = 0; i < n->cfg.n_nodes; i++) {
        const struct baton_peer *p = &n->peers[i];
        if (i == n->cfg.self) {
            continue;
        }
        /* Down, or a new life without a down between two looks. */
        if ((w->alive[i] && !p->alive) ||
            (w->inc[i] != 0 && p->inc != w->inc[i])) {
            lost = true;
        }
        w->alive[i] = p->alive;
        w->inc[i] = p->inc;
    }
    return lost;
}
