/* highlander: a singleton ("there can be only one") run as callbacks.
 *
 * Its instance is a "process" made of a uv timer that prints "tick" every
 * 100 ms. start prints "started TYPE from FROM epoch E"; stop prints
 * "stopped REASON"; a token raised after a heal prints "token E" (fence
 * with the latest). Commands: crash (the instance fails: the singleton
 * starts elsewhere), where (where it runs). */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <stdio.h>
#include <string.h>

struct highlander {
    struct ex ex;
    struct baton_app *app;
    uv_timer_t tick;
    unsigned ticks;
};

static void on_tick(uv_timer_t *t)
{
    struct highlander *h = t->data;

    h->ticks++;
    ex_say("tick %u", h->ticks);
}

static int start(struct baton_app *app, int type, const char *from,
                 uint64_t epoch)
{
    struct highlander *h = baton_app_data(app);

    ex_say("started %s from %s epoch %llu", ex_start_type(type),
           from ? from : "-", (unsigned long long)epoch);
    h->ticks = 0;
    uv_timer_start(&h->tick, on_tick, 100, 100);
    return 0;
}

static void stop(struct baton_app *app, int reason, const char *to)
{
    struct highlander *h = baton_app_data(app);

    uv_timer_stop(&h->tick);
    ex_say("stopped %s%s%s", ex_stop_reason(reason), to ? " to " : "",
           to ? to : "");
}

/* After a heal the surviving instance gets a token above every token
 * either side issued: a store that fences on tokens keeps accepting it. */
static void token(struct baton_app *app, uint64_t epoch)
{
    (void)app;
    ex_say("token %llu", (unsigned long long)epoch);
}

static const struct baton_app_callbacks cbs = {
    .start = start,
    .stop = stop,
    .token = token,
};

static void on_line(struct ex *ex, char *line)
{
    struct highlander *h = ex->data;

    if (strcmp(line, "crash") == 0) {
        int rv = baton_app_exit(h->app, true);
        uv_timer_stop(&h->tick);
        if (rv == 0) {
            ex_say("crashed");
        } else {
            ex_say("crash: error: %s", baton_strerror(rv));
        }
    } else if (strcmp(line, "where") == 0) {
        uint64_t epoch;
        const char *w = baton_app_where(h->app, &epoch);
        ex_say("where: %s epoch %llu", *w ? w : "nowhere",
               (unsigned long long)epoch);
    } else {
        ex_say("unknown command: %s", line);
    }
}

static void on_close(struct ex *ex)
{
    struct highlander *h = ex->data;

    uv_close((uv_handle_t *)&h->tick, NULL);
}

int main(int argc, char **argv)
{
    static struct highlander h;
    int rv;

    ex_args(&h.ex, argc, argv, "", NULL);
    h.ex.data = &h;
    h.ex.on_close = on_close;
    ex_open(&h.ex);
    uv_timer_init(h.ex.loop, &h.tick);
    h.tick.data = &h;
    rv = baton_singleton_add(h.ex.b, "highlander", &cbs, &h, &h.app);
    if (rv != 0) {
        fprintf(stderr, "highlander: %s: %s\n", baton_strerror(rv),
                baton_errmsg(h.ex.b));
        return 1;
    }
    return ex_run(&h.ex, on_line);
}
