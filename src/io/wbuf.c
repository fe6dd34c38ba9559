/* The gathered writer, one under TCP links and Unix sessions (libuv's
 * src/unix/stream.c is one writer under TCP and pipes too). Happy path:
 * bytes are appended as they are made, and once per loop iteration each
 * stream that gathered some hands them all to the socket with one
 * uv_try_write, so the replies of every request of one read leave in one
 * system call. Failure modes: the socket does not take everything (the
 * rest goes by one queued uv_write while the next bytes gather in a
 * spare buffer), a reader that leaves more than the bound unread
 * (BATON_EFULL at commit: the owner logs it and closes), out of memory
 * for a buffer (BATON_ENOMEM), a write the socket refuses (the owner's
 * callback closes the stream). See docs/design/transport.md §1. */
#include "../util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "../util/assert.h"
#include "../util/error.h"
#include "wbuf.h"

static void on_flush_idle(uv_idle_t *h);
static void on_flush_check(uv_check_t *h);

void baton__wflush_init(struct baton_wflush *fl, uv_loop_t *loop, void *data)
{
    memset(fl, 0, sizeof(*fl));
    uv_idle_init(loop, &fl->idle);
    uv_check_init(loop, &fl->check);
    fl->idle.data = data;
    fl->check.data = data;
}

void baton__wflush_close(struct baton_wflush *fl, uv_close_cb cb)
{
    fl->closing = true;
    fl->armed = false;
    fl->head = NULL;
    uv_close((uv_handle_t *)&fl->idle, cb);
    uv_close((uv_handle_t *)&fl->check, cb);
}

void baton__wbuf_init(struct baton_wbuf *wb,
                      struct baton_wflush *fl,
                      uv_stream_t *stream,
                      size_t init,
                      size_t keep,
                      size_t max,
                      baton_wbuf_cb cb,
                      void *data)
{
    BATON_ASSERT(init > 0);
    BATON_ASSERT(keep >= init);
    memset(wb, 0, sizeof(*wb));
    wb->fl = fl;
    wb->stream = stream;
    wb->init = init;
    wb->keep = keep;
    wb->max = max;
    wb->cb = cb;
    wb->data = data;
    wb->wreq.data = wb;
}

size_t baton__wbuf_backlog(const struct baton_wbuf *wb)
{
    return wb->out_len + wb->wlen;
}

/* The flusher's handles carry their owner's data (for its close
 * callback), so the flusher is found from the handle's address. */
static struct baton_wflush *flush_of_idle(uv_idle_t *h)
{
    return (struct baton_wflush *)(void *)((char *)h -
                                           offsetof(struct baton_wflush, idle));
}

static struct baton_wflush *flush_of_check(uv_check_t *h)
{
    return (
        struct baton_wflush *)(void *)((char *)h -
                                       offsetof(struct baton_wflush, check));
}

/* Queues wb for the flush at the end of this loop iteration. */
static void queue(struct baton_wbuf *wb)
{
    struct baton_wflush *fl = wb->fl;

    if (wb->queued || wb->closed || fl->closing) {
        return;
    }
    wb->queued = true;
    wb->next = fl->head;
    fl->head = wb;
    if (!fl->armed) {
        fl->armed = true;
        uv_idle_start(&fl->idle, on_flush_idle);
        uv_check_start(&fl->check, on_flush_check);
    }
}

static void unqueue(struct baton_wbuf *wb)
{
    if (!wb->queued) {
        return;
    }
    for (struct baton_wbuf **pp = &wb->fl->head; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == wb) {
            *pp = wb->next;
            break;
        }
    }
    wb->queued = false;
    wb->next = NULL;
}

/* Gives a large buffer back once it is empty, so that only streams that
 * carry large messages hold large buffers, and only while they do. */
static void drop_large(uint8_t **buf, size_t *cap, size_t keep)
{
    if (*cap > keep) {
        free(*buf);
        *buf = NULL;
        *cap = 0;
    }
}

/* The socket refused a write: what was gathered is dropped, and the
 * owner closes the stream. */
static void fail(struct baton_wbuf *wb, int status)
{
    wb->out_len = 0;
    if (wb->cb != NULL) {
        wb->cb(wb, status);
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct baton_wbuf *wb = req->data;

    wb->writing = false;
    wb->wlen = 0;
    drop_large(&wb->spare, &wb->spare_cap, wb->keep);
    if (wb->closed) {
        return; /* cancelled by the close, or done after it */
    }
    if (status != 0) {
        fail(wb, status);
    } else if (wb->out_len > 0) {
        queue(wb); /* bytes that gathered meanwhile */
    } else if (wb->cb != NULL) {
        wb->cb(wb, 0);
    }
}

/* Hands wb's gathered bytes to the socket: what it takes at once is done
 * (uv_try_write), the rest is written from the buffer it is in by one
 * queued write, and the spare becomes the buffer the next bytes gather
 * in until that write is done. */
static void flush(struct baton_wbuf *wb)
{
    size_t len = wb->out_len;
    uint8_t *spare = wb->spare;
    size_t spare_cap = wb->spare_cap;
    uv_buf_t buf;
    int n;

    if (wb->closed || wb->writing || len == 0) {
        return;
    }
    BATON_ASSERT(len <= UINT32_MAX);
    buf = uv_buf_init((char *)wb->out, (unsigned)len);
    n = uv_try_write(wb->stream, &buf, 1);
    if (n < 0 && n != UV_EAGAIN) {
        fail(wb, n);
        return;
    }
    wb->out_len = 0;
    if (n >= 0 && (size_t)n == len) {
        drop_large(&wb->out, &wb->out_cap, wb->keep);
        if (wb->cb != NULL) {
            wb->cb(wb, 0);
        }
        return;
    }
    n = n > 0 ? n : 0;
    wb->spare = wb->out;
    wb->spare_cap = wb->out_cap;
    wb->out = spare;
    wb->out_cap = spare_cap;
    wb->wlen = len - (size_t)n;
    buf = uv_buf_init((char *)wb->spare + n, (unsigned)wb->wlen);
    n = uv_write(&wb->wreq, wb->stream, &buf, 1, on_written);
    if (n != 0) {
        wb->wlen = 0;
        fail(wb, n);
        return;
    }
    wb->writing = true;
}

/* Flushes every writer queued. A failed one's callback closes its
 * stream, which may queue bytes for others (a link's close steps the
 * core; a session's end drops its names): they are flushed in this same
 * walk. It ends with nothing queued but writes in flight, whose
 * completion queues their stream again (on_written). */
static void flush_all(struct baton_wflush *fl)
{
    struct baton_wbuf *wb;

    while ((wb = fl->head) != NULL) {
        fl->head = wb->next;
        wb->next = NULL;
        wb->queued = false;
        flush(wb);
    }
    if (fl->armed && !fl->closing) {
        fl->armed = false;
        uv_idle_stop(&fl->idle);
        uv_check_stop(&fl->check);
    }
}

static void on_flush_idle(uv_idle_t *h)
{
    flush_all(flush_of_idle(h));
}

static void on_flush_check(uv_check_t *h)
{
    flush_all(flush_of_check(h));
}

uint8_t *baton__wbuf_room(struct baton_wbuf *wb, size_t len)
{
    size_t need = wb->out_len + len;
    size_t cap = wb->out_cap > 0 ? wb->out_cap : wb->init;
    uint8_t *p;

    if (need <= wb->out_cap) {
        return wb->out + wb->out_len;
    }
    if (need < len || need > SIZE_MAX / 2) {
        return NULL;
    }
    while (cap < need) {
        cap *= 2;
    }
    p = realloc(wb->out, cap);
    if (p == NULL) {
        return NULL;
    }
    wb->out = p;
    wb->out_cap = cap;
    return p + wb->out_len;
}

/* Whether len more bytes would take a non-empty backlog past the bound:
 * one message may be large (a long "names", a snapshot part), but a
 * reader that leaves a whole bound of them unread is not reading. */
static bool over(const struct baton_wbuf *wb, size_t len)
{
    size_t backlog = baton__wbuf_backlog(wb);

    return backlog > 0 && (len > wb->max || backlog > wb->max - len);
}

int baton__wbuf_commit(struct baton_wbuf *wb, size_t len)
{
    if (wb->closed) {
        return BATON_ESTATE;
    }
    if (over(wb, len)) {
        return BATON_EFULL;
    }
    BATON_ASSERT(wb->out_len + len <= wb->out_cap);
    wb->out_len += len;
    queue(wb);
    return 0;
}

int baton__wbuf_claim(struct baton_wbuf *wb, size_t len, uint8_t **at)
{
    uint8_t *p;
    int rv;

    if (wb->closed) {
        return BATON_ESTATE;
    }
    if (over(wb, len)) {
        return BATON_EFULL;
    }
    p = baton__wbuf_room(wb, len);
    if (p == NULL) {
        return BATON_ENOMEM;
    }
    rv = baton__wbuf_commit(wb, len);
    BATON_ASSERT(rv == 0);
    *at = p;
    return 0;
}

int baton__wbuf_append(struct baton_wbuf *wb, const void *p, size_t len)
{
    uint8_t *at;
    int rv = baton__wbuf_claim(wb, len, &at);

    if (rv == 0) {
        memcpy(at, p, len);
    }
    return rv;
}

void baton__wbuf_close(struct baton_wbuf *wb, bool send)
{
    if (wb->closed) {
        return;
    }
    /* What was written before the close is not taken back (a PERMIT on
     * a link's shutdown, a session's last error): it goes to the socket
     * if the socket takes it at once. */
    if (send && wb->out_len > 0 && !wb->writing) {
        uv_buf_t buf = uv_buf_init((char *)wb->out, (unsigned)wb->out_len);
        (void)uv_try_write(wb->stream, &buf, 1);
    }
    wb->out_len = 0;
    unqueue(wb);
    wb->closed = true;
}

void baton__wbuf_free(struct baton_wbuf *wb)
{
    free(wb->out);
    free(wb->spare);
    wb->out = wb->spare = NULL;
    wb->out_cap = wb->spare_cap = 0;
}
