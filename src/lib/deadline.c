/* The deadline heap: see deadline.h. */
#include "../util/setup.h"

#include <stdlib.h>

#include "../util/error.h"
#include "deadline.h"

#define NOT_WAITING (UINT32_MAX)

static void set(struct lib_deadlines *d, uint32_t i, struct lib_deadline *e)
{
    d->heap[i] = e;
    e->heap_at = i;
}

static void up(struct lib_deadlines *d, uint32_t i)
{
    struct lib_deadline *e = d->heap[i];

    while (i > 0 && e->at_ms < d->heap[(i - 1) / 2]->at_ms) {
        set(d, i, d->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    set(d, i, e);
}

static void down(struct lib_deadlines *d, uint32_t i)
{
    struct lib_deadline *e = d->heap[i];

    for (;;) {
        uint32_t k = 2 * i + 1;
        if (k >= d->len) {
            break;
        }
        if (k + 1 < d->len && d->heap[k + 1]->at_ms < d->heap[k]->at_ms) {
            k++;
        }
        if (d->heap[k]->at_ms >= e->at_ms) {
            break;
        }
        set(d, i, d->heap[k]);
        i = k;
    }
    set(d, i, e);
}

static void on_timer(uv_timer_t *t);

/* The timer follows the earliest entry. */
static void arm(struct lib_deadlines *d)
{
    uint64_t now = uv_now(d->loop);
    uint64_t at;

    if (d->len == 0 || d->closed ||
        (at = d->heap[0]->at_ms) == LIB_DEADLINE_NONE) {
        uv_timer_stop(&d->timer);
        return;
    }
    uv_timer_start(&d->timer, on_timer, at > now ? at - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    struct lib_deadlines *d = t->data;
    uint64_t now = uv_now(d->loop);

    while (!d->closed && d->len > 0 && d->heap[0]->at_ms <= now) {
        struct lib_deadline *e = d->heap[0];
        lib_deadline_remove(d, e);
        e->fire(e); /* may add and remove others */
    }
    arm(d);
}

void lib_deadlines_init(struct lib_deadlines *d, uv_loop_t *loop)
{
    d->loop = loop;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
}

void lib_deadlines_close(struct lib_deadlines *d, uv_close_cb cb)
{
    d->closed = true;
    uv_close((uv_handle_t *)&d->timer, cb);
}

void lib_deadlines_free(struct lib_deadlines *d)
{
    free(d->heap);
    d->heap = NULL;
    d->len = d->cap = 0;
}

int lib_deadline_add(struct lib_deadlines *d, struct lib_deadline *e,
                     uint64_t timeout_ms)
{
    uint64_t now = uv_now(d->loop);

    if (d->len == d->cap) {
        uint32_t cap = d->cap ? 2 * d->cap : 64;
        struct lib_deadline **h = realloc(d->heap, cap * sizeof(*h));
        if (h == NULL) {
            e->heap_at = NOT_WAITING;
            return BATON_ENOMEM;
        }
        d->heap = h;
        d->cap = cap;
    }
    if (timeout_ms == 0) {
        timeout_ms = 1;
    }
    e->at_ms = now + timeout_ms < now ? LIB_DEADLINE_NONE : now + timeout_ms;
    set(d, d->len++, e);
    up(d, e->heap_at);
    if (d->heap[0] == e) {
        arm(d);
    }
    return 0;
}

void lib_deadline_remove(struct lib_deadlines *d, struct lib_deadline *e)
{
    uint32_t i = e->heap_at;
    struct lib_deadline *last;

    if (i == NOT_WAITING || i >= d->len || d->heap[i] != e) {
        return;
    }
    e->heap_at = NOT_WAITING;
    last = d->heap[--d->len];
    if (i < d->len) {
        set(d, i, last);
        up(d, i);
        down(d, last->heap_at);
    }
    if (i == 0) {
        arm(d);
    }
}
