/* The one re-entrancy rule: see defer.h. */
#include "../util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "../util/assert.h"
#include "defer.h"

void lib_defers_init(struct lib_defers *q, uv_loop_t *loop)
{
    uv_idle_init(loop, &q->idle);
    q->idle.data = q;
}

struct lib_defer *lib_defer_new(void (*run)(void *ctx, struct lib_defer *d),
                                void *ctx,
                                size_t size,
                                const void *data,
                                uint32_t len)
{
    struct lib_defer *d;

    BATON_ASSERT(size >= sizeof(*d));
    d = calloc(1, size + len);
    if (d == NULL) {
        return NULL;
    }
    d->run = run;
    d->ctx = ctx;
    d->len = len;
    d->bytes = (uint8_t *)d + size;
    if (len > 0) {
        memcpy(d->bytes, data, len);
    }
    return d;
}

/* The work waiting when the turn began, in order, one at a time: the
 * rest stays queued while one runs, so that work it makes outside a
 * callback still waits behind it (lib_defers_pending). What it queues
 * runs next turn. */
static void on_idle(uv_idle_t *h)
{
    struct lib_defers *q = h->data;
    size_t n = 0;

    for (const struct lib_defer *d = q->head; d != NULL; d = d->next) {
        n++;
    }
    while (n-- > 0 && q->head != NULL && !q->closed) {
        struct lib_defer *d = q->head;
        q->head = d->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        d->run(d->ctx, d);
        free(d);
    }
    if (q->head == NULL && !q->closed) {
        uv_idle_stop(&q->idle);
    }
}

void lib_defer_push(struct lib_defers *q, struct lib_defer *d)
{
    d->next = NULL;
    if (q->tail != NULL) {
        q->tail->next = d;
    } else {
        q->head = d;
    }
    q->tail = d;
    if (!q->closed) {
        uv_idle_start(&q->idle, on_idle);
    }
}

bool lib_defers_pending(const struct lib_defers *q)
{
    return q->head != NULL;
}

void lib_defers_drop(struct lib_defers *q, void *ctx)
{
    struct lib_defer **at = &q->head;

    q->tail = NULL;
    while (*at != NULL) {
        struct lib_defer *d = *at;
        if (d->ctx == ctx) {
            *at = d->next;
            free(d);
        } else {
            q->tail = d;
            at = &d->next;
        }
    }
}

void lib_defers_close(struct lib_defers *q, uv_close_cb cb)
{
    q->closed = true;
    while (q->head != NULL) {
        struct lib_defer *d = q->head;
        q->head = d->next;
        free(d);
    }
    q->tail = NULL;
    uv_close((uv_handle_t *)&q->idle, cb);
}
