/* The example programs' shared frame: one embedded node on the default
 * libuv loop, commands read line by line from stdin, answers printed on
 * stdout (a line each, flushed), SIGTERM/SIGINT or the end of stdin
 * closing the node cleanly. */
#ifndef BATON_EXAMPLES_COMMON_H
#define BATON_EXAMPLES_COMMON_H

#include <baton/baton.h>
#include <uv.h>

/* One option "--name VALUE" of an example: *value borrows argv. */
struct ex_flag {
    const char *name;
    const char **value;
};

struct ex;
typedef void (*ex_line_cb)(struct ex *ex, char *line);

struct ex {
    uv_loop_t *loop;
    struct baton *b;
    const char *config;
    ex_line_cb on_line;
    void *data;
    /* Called just after baton_close (stop timers, drop requests with
     * baton_reply: a closing node sends no answer). */
    void (*on_close)(struct ex *ex);
    uv_pipe_t in;
    uv_signal_t sig_term, sig_int;
    char buf[4096];
    size_t len;
    bool closing;
};

/* Parses argv: -c CONFIG (required) and flags (a {NULL, NULL}-ended
 * list, may be NULL). Prints the usage and exits 2 on a bad argument. */
void ex_args(struct ex *ex, int argc, char **argv, const char *usage,
             const struct ex_flag *flags);
/* Makes the node from ex->config on the default loop; exits 1 with the
 * reason on error. */
void ex_open(struct ex *ex);
/* Starts the node, reads stdin with on_line, runs the loop until the
 * node is closed. Returns the exit status. */
int ex_run(struct ex *ex, ex_line_cb on_line);
/* Closes the node (once): the loop then ends. */
void ex_close(struct ex *ex);
/* Prints one line on stdout and flushes it. */
void ex_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "normal", "failover", "takeover" (enum baton_start_type). */
const char *ex_start_type(int type);
/* "shutdown", "moved", "conflict", "failed", "ended". */
const char *ex_stop_reason(int reason);
/* A decimal number in [0, max], or -1. */
long long ex_num(const char *s, long long max);

#endif /* BATON_EXAMPLES_COMMON_H */
