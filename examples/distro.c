/* distro: an app placed by priority, failed over and taken over with its
 * state (seed 002's adder).
 *
 * The app "adder" runs on one node of --nodes (default "a@local,
 * {b@local c@local}"). Where it runs, it holds the global name "adder":
 * a call "X Y" is answered "X+Y from NODE". Its state, the number of
 * additions done, goes with it on a takeover ("imported N"). Commands on
 * every node: add X Y (a call to "adder"), where. */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL_TIMEOUT_MS (10000)

struct distro {
    struct ex ex;
    struct baton_app *app;
    bool running;
    uint64_t total; /* additions done by this instance and its elders */
};

static void adder_call(void *data, const char *name,
                       struct baton_request *req, const void *msg,
                       size_t len)
{
    struct distro *d = data;
    char in[64], out[128];
    long long x, y;
    int n;

    (void)name;
    if (!d->running || len >= sizeof(in)) {
        (void)baton_reply(req, "error: not here", 15);
        return;
    }
    memcpy(in, msg, len);
    in[len] = '\0';
    if (sscanf(in, "%lld %lld", &x, &y) != 2) {
        (void)baton_reply(req, "error: want X Y", 15);
        return;
    }
    d->total++;
    n = snprintf(out, sizeof(out), "%lld from %s", x + y,
                 baton_self(d->ex.b));
    (void)baton_reply(req, out, (size_t)n);
}

static void adder_lost(void *data, const char *name, int reason)
{
    (void)data;
    ex_say("lost %s (%d)", name, reason);
}

static const struct baton_handler adder_h = {
    .call = adder_call,
    .lost = adder_lost,
};

static void registered(void *data, int status)
{
    (void)data;
    if (status == 0) {
        ex_say("serving adder");
    } else {
        ex_say("register adder: error: %s", baton_strerror(status));
    }
}

static int start(struct baton_app *app, int type, const char *from,
                 uint64_t epoch)
{
    struct distro *d = baton_app_data(app);
    int rv;

    d->running = true;
    ex_say("started %s from %s epoch %llu", ex_start_type(type),
           from ? from : "-", (unsigned long long)epoch);
    /* Take the name from wherever it is: calls follow it here. */
    rv = baton_reregister(d->ex.b, "adder", &adder_h, d, registered, d);
    if (rv != 0) {
        d->running = false;
        return rv;
    }
    return 0;
}

static void stop(struct baton_app *app, int reason, const char *to)
{
    struct distro *d = baton_app_data(app);

    d->running = false;
    ex_say("stopped %s%s%s total %llu", ex_stop_reason(reason),
           to ? " to " : "", to ? to : "", (unsigned long long)d->total);
    /* The new instance re-registers the name; if there is none (the app
     * ended), give it up. */
    if (reason != BATON_STOP_MOVED && reason != BATON_STOP_SHUTDOWN) {
        (void)baton_unregister(d->ex.b, "adder", NULL, NULL);
    }
}

static int export_state(struct baton_app *app, void **data, size_t *len)
{
    struct distro *d = baton_app_data(app);
    char *s = malloc(32);

    if (s == NULL) {
        return BATON_ENOMEM;
    }
    *len = (size_t)snprintf(s, 32, "%llu", (unsigned long long)d->total);
    *data = s;
    ex_say("exported %llu", (unsigned long long)d->total);
    return 0;
}

static void import_state(struct baton_app *app, const void *data, size_t len)
{
    struct distro *d = baton_app_data(app);
    char s[32];

    if (len >= sizeof(s)) {
        return;
    }
    memcpy(s, data, len);
    s[len] = '\0';
    d->total = strtoull(s, NULL, 10);
    ex_say("imported %llu", (unsigned long long)d->total);
}

static const struct baton_app_callbacks cbs = {
    .start = start,
    .stop = stop,
    .export_state = export_state,
    .import_state = import_state,
};

static void added(void *data, int status, const void *reply, size_t len)
{
    char *what = data;

    if (status == 0) {
        ex_say("add %s: %.*s", what, (int)len, (const char *)reply);
    } else {
        ex_say("add %s: error: %s", what, baton_strerror(status));
    }
    free(what);
}

static void on_line(struct ex *ex, char *line)
{
    struct distro *d = ex->data;

    if (strncmp(line, "add ", 4) == 0) {
        char *what = strdup(line + 4);
        int rv;
        if (what == NULL) {
            return;
        }
        rv = baton_call(ex->b, "adder", what, strlen(what), CALL_TIMEOUT_MS,
                        added, what);
        if (rv != 0) {
            ex_say("add %s: error: %s", what, baton_strerror(rv));
            free(what);
        }
    } else if (strcmp(line, "where") == 0) {
        uint64_t epoch;
        const char *w = baton_app_where(d->app, &epoch);
        ex_say("where: %s epoch %llu total %llu", *w ? w : "nowhere",
               (unsigned long long)epoch, (unsigned long long)d->total);
    } else {
        ex_say("unknown command: %s", line);
    }
}

int main(int argc, char **argv)
{
    static struct distro d;
    const char *nodes = "a@local, {b@local c@local}", *failover = NULL;
    const struct ex_flag flags[] = {{"--nodes", &nodes},
                                    {"--failover-ms", &failover},
                                    {NULL, NULL}};
    struct baton_app_options opt;
    int rv;

    ex_args(&d.ex, argc, argv, "[--nodes LIST] [--failover-ms N]", flags);
    memset(&opt, 0, sizeof(opt));
    opt.nodes = nodes;
    if (failover != NULL) {
        long long ms = ex_num(failover, 86400000);
        if (ms < 0) {
            fprintf(stderr, "distro: --failover-ms takes 0-86400000\n");
            return 2;
        }
        opt.failover_timeout_ms = (uint64_t)ms;
    }
    d.ex.data = &d;
    ex_open(&d.ex);
    rv = baton_app_add(d.ex.b, "adder", &opt, &cbs, &d, &d.app);
    if (rv != 0) {
        fprintf(stderr, "distro: %s: %s\n", baton_strerror(rv),
                baton_errmsg(d.ex.b));
        return 1;
    }
    return ex_run(&d.ex, on_line);
}
