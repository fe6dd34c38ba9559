/* batond's control socket: a Unix stream socket (mode 0600) that serves
 * batonctl and programs: one-shot text commands, and JSON sessions that
 * are name endpoints. See docs/control.md. */
#ifndef BATON_DAEMON_CONTROL_H
#define BATON_DAEMON_CONTROL_H

#include "../io/io.h"
#include "../lib/idmap.h"
#include "../lib/watch.h"
#include "supervise.h"

struct batond_session; /* session.h */
struct batond_defer;   /* session.c */
struct batond_queued;  /* appname.c */

/* An app's name (`name =` in its section) as this node serves it
 * (docs/control.md "Apps with names"). */
struct batond_appname {
    bool active; /* started here: the name is (being) pointed here */
    struct batond_session *server; /* the session serving it, or NULL */
    struct batond_queued *head, *tail; /* calls waiting for a server */
    unsigned n_queued;
};

struct batond_control {
    uv_pipe_t pipe;
    struct baton_io *io;
    struct batond_sup *sup;
    const struct batond_config *cfg;
    char path[108];
    bool open;
    bool closing;
    /* Sessions (docs/control.md "Sessions"). */
    struct batond_session *sessions; /* every connection, a list */
    unsigned n_sessions;             /* of them not closing */
    size_t in_bytes;                 /* sessions' input buffers, in all */
    /* A limit that bites is logged, at most once a second per limit,
     * with how often it bit since (docs/control.md "Limits"). */
    struct batond_limit_log {
        uint64_t last_ms;
        unsigned count;
    } refused_log, accept_log, in_log, idle_log;
    uint64_t next_endpoint;          /* from 1, per batond life */
    uint64_t next_id;                /* name writes and calls, from 1 */
    struct lib_idmap endpoints;   /* endpoint -> session */
    struct lib_idmap writes;      /* name write id -> pending write */
    struct lib_idmap calls;       /* call id -> pending call */
    struct lib_idmap incoming;    /* delivered call -> incoming */
    /* Work for the core found while inside one of its callbacks (an
     * app's name write, then its start; a DROP; a reply): done from
     * `idle` right after the step, in order, so that an app's name is
     * re-pointed before its start is reported, and no effect handler
     * steps the core in the middle of another step's effects. */
    struct batond_defer *defer_head, *defer_tail;
    unsigned depth; /* > 0 while inside an io callback */
    uv_idle_t idle;
    uv_timer_t sweep; /* expires queued calls of app names */
    /* After every loop turn: calls whose holder's node was lost fail
     * with "unreachable" (src/lib/watch.h, the library's rule). */
    uv_check_t watch_check;
    struct lib_watch watch;
    /* Sessions with output to write, written once per loop iteration:
     * the check handle runs after the I/O callbacks, the idle handle
     * before the loop polls (docs/control.md "Limits"). */
    struct batond_session *flush_head;
    uv_idle_t flush_idle;
    uv_check_t flush_check;
    bool flush_armed;
    struct batond_appname apps[BATON_APPS_MAX];
};

/* Binds and listens at path (replacing a stale socket file, refusing if
 * another batond answers there). c->sup and c->cfg must be set
 * beforehand; the caller routes io's on_app, on_name and on_call to the
 * functions below. Errors:
 * BATON_EIO, with a message in err. */
int batond_control_start(struct batond_control *c, struct baton_io *io,
                         const char *path, char *err, size_t err_len);
/* Closes the listener, every session and the timers; cb runs for the
 * listener (the loop ends once every handle is closed). */
void batond_control_close(struct batond_control *c, uv_close_cb cb);

/* An app effect from the core: names of apps started here are pointed
 * at this node first, then the supervisor carries the effect out, both
 * after the core's step has returned. Borrows e for the call. */
void batond_control_app_effect(struct batond_control *c,
                               const struct baton_app_effect *e);
/* The supervisor's instance of app went idle here: its name goes. */
void batond_control_app_idle(struct batond_control *c, unsigned app);
/* The core's name and call effects (io's on_name and on_call). Borrow e
 * for the call. */
void batond_control_name_effect(struct batond_control *c,
                                const struct baton_name_effect *e);
void batond_control_call_effect(struct batond_control *c,
                                const struct baton_call_effect *e);

/* The JSON status document (returns owned, free with free()). */
char *batond_status_json(const struct baton_io *io);
/* The JSON apps document: every app, cluster-wide and local. */
char *batond_apps_json(const struct baton_io *io, const struct batond_sup *sup);

#endif /* BATON_DAEMON_CONTROL_H */
