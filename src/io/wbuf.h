/* One gathered writer for every stream of a loop: TCP links and Unix
 * control sessions (docs/design/transport.md §1, "Writes"). */
#ifndef BATON_IO_WBUF_H
#define BATON_IO_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct baton_wbuf;

/* Called when a stream's backlog is all taken by the socket (status 0)
 * or the socket refused a write (status: a negative libuv code; the
 * gathered bytes are dropped and the owner closes the stream). Never
 * called after baton__wbuf_close(). */
typedef void (*baton_wbuf_cb)(struct baton_wbuf *wb, int status);

/* The flush of one loop: every writer that gathered bytes is queued on
 * it and handed to its socket once per loop iteration. A uv_check
 * handle runs it after the I/O callbacks, and a uv_idle handle before
 * the loop polls, for bytes queued by timers or outside the loop by a
 * program that embeds it: an active idle handle makes
 * uv_backend_timeout() 0, so they do not wait for the next event. */
struct baton_wflush {
    uv_idle_t idle;
    uv_check_t check;
    struct baton_wbuf *head; /* writers queued, a list */
    bool armed;
    bool closing;
};

/* A stream's output. Bytes are appended to out and handed to the
 * socket with one uv_try_write at the flush; what it does not take is
 * written from spare by one queued uv_write, while the next bytes
 * gather in out. One write is in flight at a time. The caller allocates
 * it (zeroed) and sets it up with baton__wbuf_init(). */
struct baton_wbuf {
    void *data; /* the owner's */
    uv_stream_t *stream;
    struct baton_wflush *fl;
    struct baton_wbuf *next; /* in fl->head */
    baton_wbuf_cb cb;
    uint8_t *out; /* gathering */
    size_t out_len, out_cap;
    uint8_t *spare; /* the write in flight's bytes, or a spare buffer */
    size_t spare_cap;
    size_t wlen; /* bytes of the write in flight */
    /* Buffers start at init bytes, double on demand and are given back
     * once written if they grew past keep. max bounds the backlog: see
     * baton__wbuf_commit(). */
    size_t init, keep, max;
    uv_write_t wreq;
    bool writing; /* wreq in flight */
    bool queued;  /* in fl->head */
    bool closed;
};

/* Sets up fl's two handles on loop; data is theirs (h->data), for the
 * owner's close callback. */
void baton__wflush_init(struct baton_wflush *fl, uv_loop_t *loop, void *data);
/* Closes fl's two handles with cb (each calls it, h->data as given to
 * init); nothing is flushed after. */
void baton__wflush_close(struct baton_wflush *fl, uv_close_cb cb);

/* Sets up wb on stream (borrowed; it must outlive wb). cb may be NULL. */
void baton__wbuf_init(struct baton_wbuf *wb,
                      struct baton_wflush *fl,
                      uv_stream_t *stream,
                      size_t init,
                      size_t keep,
                      size_t max,
                      baton_wbuf_cb cb,
                      void *data);

/* Bytes not yet taken by the socket: gathered plus the write in
 * flight's. */
size_t baton__wbuf_backlog(const struct baton_wbuf *wb);

/* Room for len bytes after the gathered ones: returns where they go
 * (valid until the next call on wb), or NULL when out of memory (nothing
 * changed). The bytes count once committed. */
uint8_t *baton__wbuf_room(struct baton_wbuf *wb, size_t len);

/* Commits the len bytes written at the room's start; they go out at the
 * end of this loop iteration. A stream whose reader leaves too much
 * unread is not draining: if the backlog is not empty and would pass max,
 * the bytes are dropped. Errors: BATON_EFULL (the caller logs it and
 * closes the stream), BATON_ESTATE (closed: dropped). */
int baton__wbuf_commit(struct baton_wbuf *wb, size_t len);

/* Checks the bound, makes room for len bytes and commits them: *at is
 * where they go, and the caller fills them before anything else is
 * written to wb (the buffer may move). A stream over its bound makes no
 * buffer grow. Errors: BATON_ENOMEM, and those of baton__wbuf_commit()
 * (*at is unset). */
int baton__wbuf_claim(struct baton_wbuf *wb, size_t len, uint8_t **at);

/* baton__wbuf_claim() of len bytes, filled from p (borrowed). */
int baton__wbuf_append(struct baton_wbuf *wb, const void *p, size_t len);

/* The stream is closing: the bytes gathered go to the socket if it takes
 * them at once (unless !send) and no more is written; cb is not called
 * again. The owner then closes the stream, and frees wb's buffers with
 * baton__wbuf_free() in its close callback. */
void baton__wbuf_close(struct baton_wbuf *wb, bool send);
void baton__wbuf_free(struct baton_wbuf *wb);

#endif /* BATON_IO_WBUF_H */
