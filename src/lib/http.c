/* The Prometheus endpoint: libmicrohttpd without a thread of its own.
 * MHD runs in external epoll mode: its one epoll descriptor is watched
 * by a uv_poll on the node's loop, and a uv_timer follows MHD's own
 * timeout (idle connections, connections with work left); both call
 * MHD_run(), which calls on_request() here, on the loop's thread. So
 * the metrics are read where the node changes them, without locks.
 * Happy path: GET /metrics -> the text of lib_metrics_render().
 * Failure modes: another method -> 405, another path -> 404, out of
 * memory -> 500. Bounds: at most LIB_HTTP_CONNS_MAX connections (more
 * are closed as soon as accepted: on_accept counts them itself, because
 * MHD's own MHD_OPTION_CONNECTION_LIMIT, in external epoll mode, stopped
 * serving for good once reached: connections closed by their clients
 * stayed in CLOSE-WAIT, with 0.9.75), LIB_HTTP_IDLE_S of silence closes one,
 * and a request's headers must fit LIB_HTTP_CONN_MEM bytes (MHD answers a
 * larger one with an error): a slow or hostile client holds at most
 * that much memory per connection, and a body is never read. */
#include "../util/setup.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "lib.h"

#define LIB_HTTP_CONNS_MAX (16u)
#define LIB_HTTP_IDLE_S (10u)
#define LIB_HTTP_CONN_MEM ((size_t)16384)

struct lib_http {
    struct baton *b;
    struct MHD_Daemon *d;
    uv_poll_t poll;
    uv_timer_t timer;
    unsigned conns;  /* open now */
    unsigned closed; /* handles closed, of poll and timer */
};

static enum MHD_Result on_accept(void *cls,
                                 const struct sockaddr *addr,
                                 socklen_t len)
{
    struct lib_http *h = cls;

    (void)addr;
    (void)len;
    return h->conns < LIB_HTTP_CONNS_MAX ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls,
                          struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode what)
{
    struct lib_http *h = cls;

    (void)conn;
    (void)socket_context;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        h->conns++;
    } else if (what == MHD_CONNECTION_NOTIFY_CLOSED && h->conns > 0) {
        h->conns--;
    }
}

static enum MHD_Result answer(struct MHD_Connection *conn,
                              unsigned status,
                              char *body,
                              size_t len,
                              const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rv;

    if (r == NULL) {
        free(body);
        return MHD_NO; /* MHD closes the connection */
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    rv = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rv;
}

static enum MHD_Result text(struct MHD_Connection *conn,
                            unsigned status,
                            const char *msg)
{
    char *body = strdup(msg);

    if (body == NULL) {
        return MHD_NO;
    }
    return answer(conn, status, body, strlen(body), "text/plain");
}

static enum MHD_Result on_request(void *cls,
                                  struct MHD_Connection *conn,
                                  const char *url,
                                  const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size,
                                  void **con_cls)
{
    struct lib_http *h = cls;
    size_t len = 0;
    char *body;

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
    }
    if (strcmp(url, "/metrics") != 0) {
        return text(conn, MHD_HTTP_NOT_FOUND, "see /metrics\n");
    }
    body = lib_metrics_render(h->b, &len);
    if (body == NULL) {
        return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    return answer(conn, MHD_HTTP_OK, body, len,
                  "text/plain; version=0.0.4; charset=utf-8");
}

static void on_timer(uv_timer_t *t);

/* Runs MHD, then waits for its descriptor or its next timeout. */
static void run(struct lib_http *h)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;

    MHD_run(h->d);
    if (MHD_get_timeout(h->d, &ms) == MHD_YES) {
        uv_timer_start(&h->timer, on_timer, (uint64_t)ms, 0);
    } else {
        uv_timer_stop(&h->timer);
    }
}

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    run(p->data);
}

/* The listening address: an IPv4 or IPv6 literal (config.c checked). */
static int address(const struct baton *b, struct sockaddr_storage *ss)
{
    const char *host = b->cfg.metrics_host;
    unsigned port = b->cfg.metrics_port;

    memset(ss, 0, sizeof(*ss));
    if (strchr(host, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 ? MHD_USE_IPv6
                                                              : -1;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
}

int lib_http_start(struct baton *b)
{
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    struct lib_http *h;
    int flags;

    if (b->cfg.metrics_host[0] == '\0') {
        return 0;
    }
    flags = address(b, &ss);
    if (flags < 0) {
        return lib_fail(b, BATON_EIO, "metrics_listen %s: not an address",
                        b->cfg.metrics_host);
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return lib_fail(b, BATON_ENOMEM, "baton_start: out of memory");
    }
    h->b = b;
    h->d = MHD_start_daemon(
        (unsigned)flags | MHD_USE_EPOLL, b->cfg.metrics_port, on_accept, h,
        on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_CONNECTION_TIMEOUT, LIB_HTTP_IDLE_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, LIB_HTTP_CONN_MEM, MHD_OPTION_END);
    info = h->d != NULL ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD)
                        : NULL;
    if (info == NULL) {
        if (h->d != NULL) {
            MHD_stop_daemon(h->d);
        }
        free(h);
        return lib_fail(b, BATON_EIO,
                        "baton_start: metrics_listen %s:%u: cannot listen "
                        "(address in use?)",
                        b->cfg.metrics_host, b->cfg.metrics_port);
    }
    uv_poll_init(b->loop, &h->poll, info->epoll_fd);
    uv_timer_init(b->loop, &h->timer);
    h->poll.data = h->timer.data = h;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    b->http = h;
    b->handles += 2;
    run(h);
    return 0;
}

static void on_closed(uv_handle_t *handle)
{
    struct lib_http *h = handle->data;
    struct baton *b = h->b;

    /* h goes with the second of its two handles, whichever it is:
     * libuv calls close callbacks in no promised order (in fact the
     * reverse of uv_close's). Then the node's count, which may free b. */
    if (++h->closed == 2) {
        free(h);
    }
    lib_handle_gone(b);
}

void lib_http_close(struct baton *b)
{
    struct lib_http *h = b->http;

    if (h == NULL) {
        return;
    }
    b->http = NULL;
    /* Out of the loop's epoll set before MHD closes the descriptor. */
    uv_poll_stop(&h->poll);
    MHD_stop_daemon(h->d);
    uv_close((uv_handle_t *)&h->poll, on_closed);
    uv_close((uv_handle_t *)&h->timer, on_closed);
}
