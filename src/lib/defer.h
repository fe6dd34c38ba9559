/* The node's one re-entrancy rule: work for the core found inside one of
 * its callbacks (an effect handler) is not done there but queued, and
 * done in order at the loop's next idle turn, so that no handler steps
 * the core in the middle of another step's effects and an app's name is
 * re-pointed before its start is reported. The library's app events and
 * exports and the control sessions' name writes, calls and replies wait
 * in one queue (docs/design/lib.md §4). */
#ifndef BATON_LIB_DEFER_H
#define BATON_LIB_DEFER_H

#include <uv.h>

#include "../util/setup.h"

/* One piece of work, embedded first in its owner's struct and malloc'd
 * with a copy of its bytes behind that (lib_defer_new). */
struct lib_defer {
    struct lib_defer *next;
    /* Does the work (not called if the queue closed first). */
    void (*run)(void *ctx, struct lib_defer *d);
    void *ctx;
    uint8_t *bytes; /* the copy */
    uint32_t len;
};

struct lib_defers {
    uv_idle_t idle; /* runs while work waits */
    struct lib_defer *head, *tail;
    bool closed;
};

/* Zero-initialise q, then init. */
void lib_defers_init(struct lib_defers *q, uv_loop_t *loop);
/* Work for run(ctx, d) in an owner's struct of size bytes (d first),
 * with a copy of data[0..len) in d->bytes; NULL when out of memory. The
 * caller fills in its fields, then pushes it. */
struct lib_defer *lib_defer_new(void (*run)(void *ctx, struct lib_defer *d),
                                void *ctx,
                                size_t size,
                                const void *data,
                                uint32_t len);
void lib_defer_push(struct lib_defers *q, struct lib_defer *d);
/* Does work wait? (Then new work must wait behind it, to keep order.) */
bool lib_defers_pending(const struct lib_defers *q);
/* Forgets, unrun, the work of ctx (its owner is going away). */
void lib_defers_drop(struct lib_defers *q, void *ctx);
/* Forgets all work, closes the idle handle (cb runs once it is). */
void lib_defers_close(struct lib_defers *q, uv_close_cb cb);

#endif /* BATON_LIB_DEFER_H */
