/* Unit tests for the gathered writer (src/io/wbuf.c) on a Unix
 * socketpair driven by a real libuv loop: gathering, a socket that takes
 * part, the bound, the close and a refused write. See
 * docs/design/transport.md §1, "Writes". */
#include "../../src/util/setup.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/io/wbuf.h"
#include "../../src/util/error.h"

struct fixture {
    uv_loop_t loop;
    uv_pipe_t pipe;
    struct baton_wflush fl;
    struct baton_wbuf wb;
    int peer; /* the other end, read with read(2) */
    unsigned drained;
    unsigned failed;
    int status;
    unsigned closed_handles;
};

static void on_wb(struct baton_wbuf *wb, int status)
{
    struct fixture *f = wb->data;

    if (status == 0) {
        f->drained++;
    } else {
        f->failed++;
        f->status = status;
    }
}

static void fixture_init(struct fixture *f, size_t max)
{
    int sv[2];
    int small = 4096;

    memset(f, 0, sizeof(*f));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    /* A small send buffer, so that a write of a few hundred KiB is only
     * partly taken. */
    assert_int_equal(
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    assert_int_equal(
        setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(uv_pipe_init(&f->loop, &f->pipe, 0), 0);
    assert_int_equal(uv_pipe_open(&f->pipe, sv[0]), 0);
    f->peer = sv[1];
    baton__wflush_init(&f->fl, &f->loop, f);
    baton__wbuf_init(&f->wb, &f->fl, (uv_stream_t *)&f->pipe, 64, 1024, max,
                     on_wb, f);
}

static void on_closed(uv_handle_t *h)
{
    struct fixture *f = h->data;

    f->closed_handles++;
}

static void fixture_close(struct fixture *f)
{
    baton__wbuf_close(&f->wb, false);
    f->pipe.data = f;
    uv_close((uv_handle_t *)&f->pipe, on_closed);
    baton__wflush_close(&f->fl, on_closed);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->closed_handles, 3);
    baton__wbuf_free(&f->wb);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    if (f->peer >= 0) {
        close(f->peer);
    }
}

/* Reads what the peer end holds (non-blocking) into buf; returns the
 * bytes read. */
static size_t peer_read(struct fixture *f, uint8_t *buf, size_t cap)
{
    size_t got = 0;

    while (got < cap) {
        ssize_t n = recv(f->peer, buf + got, cap - got, MSG_DONTWAIT);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    return got;
}

/* Three lines appended in one loop turn leave in one flush: the peer
 * reads them in order and the writer reports one drain, not three. */
static void test_gathered(void **state)
{
    struct fixture f;
    uint8_t buf[64];
    (void)state;

    fixture_init(&f, 1u << 20);
    assert_int_equal(baton__wbuf_append(&f.wb, "one\n", 4), 0);
    assert_int_equal(baton__wbuf_append(&f.wb, "two\n", 4), 0);
    assert_int_equal(baton__wbuf_append(&f.wb, "three\n", 6), 0);
    assert_int_equal(baton__wbuf_backlog(&f.wb), 14);
    assert_int_equal(peer_read(&f, buf, sizeof(buf)), 0); /* not yet */
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.drained, 1);
    assert_int_equal(baton__wbuf_backlog(&f.wb), 0);
    assert_int_equal(peer_read(&f, buf, sizeof(buf)), 14);
    assert_memory_equal(buf, "one\ntwo\nthree\n", 14);
    /* Nothing queued: the flush handles are stopped, the loop is done. */
    assert_int_equal(uv_run(&f.loop, UV_RUN_NOWAIT), 0);
    fixture_close(&f);
}

/* A socket that takes only part: the rest goes by one queued write, the
 * bytes appended meanwhile gather behind it, and all arrive in order. */
static void test_partial(void **state)
{
    enum { BIG = 256 * 1024 };
    struct fixture f;
    uint8_t *big = malloc(BIG);
    uint8_t *got = malloc(BIG + 16);
    size_t n = 0;
    (void)state;

    assert_non_null(big);
    assert_non_null(got);
    for (size_t i = 0; i < BIG; i++) {
        big[i] = (uint8_t)(i * 7 + i / 251);
    }
    fixture_init(&f, 1u << 20);
    assert_int_equal(baton__wbuf_append(&f.wb, big, BIG), 0);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_true(f.wb.writing);
    assert_int_equal(f.drained, 0);
    assert_true(baton__wbuf_backlog(&f.wb) > 0);
    assert_int_equal(baton__wbuf_append(&f.wb, "tail-bytes\n", 11), 0);
    while (n < BIG + 11) {
        n += peer_read(&f, got + n, BIG + 16 - n);
        uv_run(&f.loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(n, BIG + 11);
    assert_memory_equal(got, big, BIG);
    assert_memory_equal(got + BIG, "tail-bytes\n", 11);
    assert_int_equal(f.failed, 0);
    assert_int_equal(f.drained, 1);
    assert_int_equal(baton__wbuf_backlog(&f.wb), 0);
    fixture_close(&f);
    free(big);
    free(got);
}

/* The bound: one message larger than it passes an empty backlog; more
 * bytes behind an unread backlog that would pass it are refused, and
 * nothing is queued for them. */
static void test_bound(void **state)
{
    enum { MAX = 64 * 1024 };
    struct fixture f;
    uint8_t *blob = calloc(1, 2 * MAX);
    uint8_t *at = NULL;
    (void)state;

    assert_non_null(blob);
    fixture_init(&f, MAX);
    assert_int_equal(baton__wbuf_append(&f.wb, blob, 2 * MAX), 0);
    assert_int_equal(baton__wbuf_append(&f.wb, "x", 1), BATON_EFULL);
    assert_int_equal(baton__wbuf_claim(&f.wb, 1, &at), BATON_EFULL);
    assert_null(at);
    assert_int_equal(baton__wbuf_backlog(&f.wb), 2 * MAX);
    fixture_close(&f);

    fixture_init(&f, MAX);
    assert_int_equal(baton__wbuf_append(&f.wb, blob, MAX - 10), 0);
    assert_int_equal(baton__wbuf_append(&f.wb, blob, 10), 0); /* = MAX */
    assert_int_equal(baton__wbuf_append(&f.wb, blob, 1), BATON_EFULL);
    /* Written and not read: the in-flight part counts too. */
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(baton__wbuf_backlog(&f.wb) > 0, 1);
    assert_int_equal(baton__wbuf_append(&f.wb, blob, MAX), BATON_EFULL);
    fixture_close(&f);
    free(blob);
}

/* A close hands the gathered bytes to the socket, and then nothing is
 * written and no callback fires. */
static void test_close(void **state)
{
    struct fixture f;
    uint8_t buf[16];
    (void)state;

    fixture_init(&f, 1u << 20);
    assert_int_equal(baton__wbuf_append(&f.wb, "last\n", 5), 0);
    baton__wbuf_close(&f.wb, true);
    assert_int_equal(baton__wbuf_append(&f.wb, "more\n", 5), BATON_ESTATE);
    assert_int_equal(baton__wbuf_commit(&f.wb, 0), BATON_ESTATE);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(peer_read(&f, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "last\n", 5);
    assert_int_equal(f.drained + f.failed, 0);
    fixture_close(&f);
}

/* A socket that refuses the write (its peer is gone): the owner's
 * callback hears the error once. */
static void test_refused(void **state)
{
    struct fixture f;
    (void)state;

    fixture_init(&f, 1u << 20);
    close(f.peer);
    f.peer = -1;
    assert_int_equal(baton__wbuf_append(&f.wb, "lost\n", 5), 0);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.failed, 1);
    assert_int_equal(f.status, UV_EPIPE);
    assert_int_equal(f.drained, 0);
    assert_int_equal(baton__wbuf_backlog(&f.wb), 0);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gathered), cmocka_unit_test(test_partial),
        cmocka_unit_test(test_bound),    cmocka_unit_test(test_close),
        cmocka_unit_test(test_refused),
    };

    signal(SIGPIPE, SIG_IGN); /* as batond: a refused write is an error */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
