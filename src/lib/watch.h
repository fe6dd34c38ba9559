/* Calls in flight whose holder's node is lost fail at once with
 * "unreachable" (docs/control.md, docs/api.md): where a call goes, and
 * which nodes were lost since the last look. The library's calls and the
 * control sessions' use the same rule. */
#ifndef BATON_LIB_WATCH_H
#define BATON_LIB_WATCH_H

#include "../core/node.h"

/* The node a call went to, and that node's life then. */
struct lib_target {
    uint8_t node; /* BATON_NODE_NONE: this node, or no holder */
    baton_inc inc;
};

/* Where a call to name goes now: the holder's node and life; node is
 * BATON_NODE_NONE when the holder is this node or there is none (then
 * the core answers the call itself). A local read. */
struct lib_target lib_target_of(const struct baton_node *n,
                                const char *name);

/* Has a call that went to t lost its holder: t's node declared down, or
 * back in a new life (the old one took the call with it)? A call the
 * lost node had forwarded elsewhere before it went is failed too; its
 * late answer finds no call and is dropped. */
bool lib_target_lost(const struct baton_node *n, struct lib_target t);

/* The peers' liveness at the last look. Zero-initialise. */
struct lib_watch {
    bool alive[BATON_NODES_MAX];
    baton_inc inc[BATON_NODES_MAX];
};

/* Was a node declared down, or seen in a new life, since the last look?
 * Updates w. Cheap enough for every loop turn (a pass over the peers). */
bool lib_watch_lost(struct lib_watch *w, const struct baton_node *n);

#endif /* BATON_LIB_WATCH_H */
