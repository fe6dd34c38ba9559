/* The node's one deadline mechanism: every call in flight, the library's
 * and the control sessions', waits in one min-heap behind one timer
 * (docs/design/lib.md §4). */
#ifndef BATON_LIB_DEADLINE_H
#define BATON_LIB_DEADLINE_H

#include <stddef.h>
#include <uv.h>

#include "../util/setup.h"

#define LIB_DEADLINE_NONE (UINT64_MAX) /* never fires */

/* The object an embedded entry belongs to. */
#define LIB_CONTAINER_OF(ptr, type, member)                               \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* An entry, embedded in what waits (a call). */
struct lib_deadline {
    uint64_t at_ms;   /* loop time it fires at, or LIB_DEADLINE_NONE */
    uint32_t heap_at; /* UINT32_MAX: not waiting */
    /* Runs once at_ms has passed, the entry already out of the heap. */
    void (*fire)(struct lib_deadline *e);
};

struct lib_deadlines {
    uv_loop_t *loop;
    uv_timer_t timer; /* follows the earliest entry */
    struct lib_deadline **heap;
    uint32_t len, cap;
    bool closed;
};

/* Zero-initialise d, then init. */
void lib_deadlines_init(struct lib_deadlines *d, uv_loop_t *loop);
/* Stops firing; cb runs once the timer is closed. The entries left are
 * the owners' to forget; the heap is freed by lib_deadlines_free(). */
void lib_deadlines_close(struct lib_deadlines *d, uv_close_cb cb);
void lib_deadlines_free(struct lib_deadlines *d);

/* e fires timeout_ms from now (0 counts as 1; a sum past UINT64_MAX is
 * never). Errors: BATON_ENOMEM (e does not wait, fire never runs). */
int lib_deadline_add(struct lib_deadlines *d, struct lib_deadline *e,
                     uint64_t timeout_ms);
/* e no longer waits (nothing if it does not). */
void lib_deadline_remove(struct lib_deadlines *d, struct lib_deadline *e);

#endif /* BATON_LIB_DEADLINE_H */
