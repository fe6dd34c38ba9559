/* The example programs' shared frame (common.h). */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ex_say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

const char *ex_start_type(int type)
{
    switch (type) {
    case BATON_START_NORMAL:
        return "normal";
    case BATON_START_FAILOVER:
        return "failover";
    case BATON_START_TAKEOVER:
        return "takeover";
    default:
        return "unknown";
    }
}

const char *ex_stop_reason(int reason)
{
    switch (reason) {
    case BATON_STOP_SHUTDOWN:
        return "shutdown";
    case BATON_STOP_MOVED:
        return "moved";
    case BATON_STOP_CONFLICT:
        return "conflict";
    case BATON_STOP_FAILED:
        return "failed";
    case BATON_STOP_ENDED:
        return "ended";
    default:
        return "unknown";
    }
}

long long ex_num(const char *s, long long max)
{
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    v = strtoll(s, &end, 10);
    return *end != '\0' || v > max ? -1 : v;
}

static void usage_exit(const char *prog, const char *usage)
{
    fprintf(stderr, "usage: %s -c CONFIG %s\n", prog, usage);
    exit(2);
}

void ex_args(struct ex *ex, int argc, char **argv, const char *usage,
             const struct ex_flag *flags)
{
    for (int i = 1; i < argc; i++) {
        const struct ex_flag *f = NULL;
        if (i + 1 >= argc) {
            usage_exit(argv[0], usage);
        }
        if (strcmp(argv[i], "-c") == 0) {
            ex->config = argv[++i];
            continue;
        }
        for (const struct ex_flag *k = flags; k && k->name; k++) {
            if (strcmp(argv[i], k->name) == 0) {
                f = k;
            }
        }
        if (f == NULL) {
            usage_exit(argv[0], usage);
        }
        *f->value = argv[++i];
    }
    if (ex->config == NULL) {
        usage_exit(argv[0], usage);
    }
}

void ex_open(struct ex *ex)
{
    struct baton_options opt;
    char err[512];
    int rv;

    /* A write to a peer that just died raises SIGPIPE, whose default
     * kills the program: libbaton leaves signals to its host (batond
     * ignores it too), and a failed write is already a link down. */
    signal(SIGPIPE, SIG_IGN);
    ex->loop = uv_default_loop();
    memset(&opt, 0, sizeof(opt));
    opt.config_file = ex->config;
    opt.loop = ex->loop;
    rv = baton_new(&ex->b, &opt, err, sizeof(err));
    if (rv != 0) {
        fprintf(stderr, "%s: %s\n", baton_strerror(rv), err);
        exit(1);
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct ex *ex = h->data;

    (void)hint;
    buf->base = ex->buf + ex->len;
    buf->len = sizeof(ex->buf) - ex->len;
}

/* Hands every complete line to on_line; a line too long is dropped. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct ex *ex = s->data;
    char *start, *nl;

    (void)buf;
    if (n < 0) {
        ex_close(ex); /* end of stdin: leave */
        return;
    }
    ex->len += (size_t)n;
    start = ex->buf;
    while (!ex->closing &&
           (nl = memchr(start, '\n', ex->len - (size_t)(start - ex->buf)))) {
        *nl = '\0';
        if (nl > start && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
        if (*start != '\0') {
            ex->on_line(ex, start);
        }
        start = nl + 1;
    }
    if (ex->closing) {
        return;
    }
    ex->len -= (size_t)(start - ex->buf);
    memmove(ex->buf, start, ex->len);
    if (ex->len == sizeof(ex->buf)) {
        ex_say("error: line too long");
        ex->len = 0;
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    ex_close(h->data);
}

void ex_close(struct ex *ex)
{
    if (ex->closing) {
        return;
    }
    ex->closing = true;
    uv_close((uv_handle_t *)&ex->in, NULL);
    uv_close((uv_handle_t *)&ex->sig_term, NULL);
    uv_close((uv_handle_t *)&ex->sig_int, NULL);
    /* The instances stop (their stop callbacks run) in baton_close; b
     * stays valid until the loop turns, so on_close may still answer. */
    baton_close(ex->b, NULL, NULL);
    if (ex->on_close != NULL) {
        ex->on_close(ex);
    }
}

int ex_run(struct ex *ex, ex_line_cb on_line)
{
    int rv;

    ex->on_line = on_line;
    rv = baton_start(ex->b);
    if (rv != 0) {
        fprintf(stderr, "%s: %s\n", baton_strerror(rv),
                baton_errmsg(ex->b));
        baton_close(ex->b, NULL, NULL);
        uv_run(ex->loop, UV_RUN_DEFAULT);
        return 1;
    }
    uv_pipe_init(ex->loop, &ex->in, 0);
    uv_signal_init(ex->loop, &ex->sig_term);
    uv_signal_init(ex->loop, &ex->sig_int);
    ex->in.data = ex->sig_term.data = ex->sig_int.data = ex;
    uv_signal_start(&ex->sig_term, on_signal, SIGTERM);
    uv_signal_start(&ex->sig_int, on_signal, SIGINT);
    if (uv_pipe_open(&ex->in, STDIN_FILENO) != 0 ||
        uv_read_start((uv_stream_t *)&ex->in, on_alloc, on_read) != 0) {
        fprintf(stderr, "stdin must be a pipe, a FIFO or a socket\n");
        ex_close(ex);
    }
    ex_say("running as %s", baton_self(ex->b));
    uv_run(ex->loop, UV_RUN_DEFAULT);
    ex_say("closed");
    (void)uv_loop_close(ex->loop);
    return 0;
}
