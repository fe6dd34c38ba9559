/* libbaton's insides: one embedded node (docs/api.md, docs/design/lib.md). */
#ifndef BATON_LIB_LIB_H
#define BATON_LIB_LIB_H

#include <baton/baton.h>
#include <uv.h>

#include "config.h"
#include "control.h"
#include "deadline.h"
#include "defer.h"
#include "events.h"
#include "http.h"
#include "metrics.h"
#include "idmap.h"
#include "raftlog.h"
#include "../io/io.h"

enum lib_req_kind {
    LIB_REQ_REMOTE = 1, /* answer over the mesh */
    LIB_REQ_LOCAL,      /* answer call `call_id` of this node */
};

struct baton_request {
    struct baton *b;
    uint8_t kind;
    uint8_t to;
    uint8_t prefix; /* 0, or a byte put before the answer */
    baton_inc to_inc;
    uint64_t id;    /* REMOTE: the delivered call's; LOCAL: lib_call's */
};

enum lib_app_kind { LIB_APP = 1, LIB_SINGLETON, LIB_GROUP };

struct lib_fence;

struct baton_app {
    struct baton *b;
    unsigned idx; /* in cfg.io.apps */
    uint8_t kind;
    const struct baton_app_callbacks *cbs;
    void *data;
    unsigned n_phases;
    struct baton_group *group;
    bool running;
    uint64_t epoch;
    uint8_t *state; /* the takeover state received, malloc'd */
    size_t state_len;
    uint64_t state_epoch;
    /* export_state answered BATON_EAGAIN: baton_app_exported() gives the
     * state of the instance of epoch export_epoch. */
    bool export_pending;
    uint64_t export_epoch;
    /* start answered BATON_EAGAIN: baton_app_started() finishes it. */
    bool start_pending;
    /* The program supervises the instance itself (batond's OS
     * processes, lib_apps_adopt): every STOP, EXPORT and TOKEN reaches
     * its callbacks, and it reports the instance's end with
     * lib_app_event() once the process is gone. */
    bool supervised;
    /* Its supervisor's self-fencing (lib_apps_fence), or NULL. */
    const struct lib_fence *fence;
};

/* An app event or export result for the core, made in an effect
 * callback and given at the next idle turn (defer.h: no nested step). */
struct lib_deferred {
    struct lib_defer d; /* first; an export's bytes in d.bytes */
    uint8_t kind; /* 1 = app event, 2 = exported */
    uint8_t app;
    uint8_t what;
    uint8_t ok;
    uint64_t epoch;
};

struct baton_group {
    struct baton *b;
    struct baton_app *app;
    char name[BATON_APP_NAME_MAX + 1];
    const struct baton_group_callbacks *cbs;
    void *data;
    uint8_t candidate[BATON_NODES_MAX]; /* rank, 0 = not one */
    uint8_t worker[BATON_NODES_MAX];
    char leader_name[BATON_GNAME_MAX + 1]; /* "<group>" */
    char member_name[BATON_GNAME_MAX + 1]; /* "<group>/<self>" */
    struct baton_handler leader_h, member_h;
    bool member_registered, member_registering;
    bool leading, leader_registering;
    uint64_t lead_epoch;  /* the leadership's token (grows with TOKEN) */
    uint64_t elect_epoch; /* the token it was elected at (0: never led) */
    uint8_t *sync0; /* elected(NULL)'s sync, for members alive then */
    size_t sync0_len;
    bool alive_at_election[BATON_NODES_MAX];
    bool alive[BATON_NODES_MAX]; /* as last seen, for handle_down */
    uint64_t surrendered_epoch;
    unsigned followed;       /* the leader surrendered to, + 1 (0: none) */
    uint64_t followed_elect; /* and its election epoch */
    bool joining;
    uint64_t join_after_ms;
    bool initialized;
    bool refused_logged;
    uint8_t *handover; /* a takeover: the old leader's sync, malloc'd */
    size_t handover_len;
    bool has_handover;
    struct lib_call *waiting; /* leader calls, buffered or in flight */
    unsigned n_waiting;
};
#define LIB_LEADER_CALLS_MAX (1024)

/* What a program running the node adds beyond the public API (batond:
 * its [app] sections and their names, `batonctl ready`, its instances
 * in `batonctl apps`, its drain). Borrowed until the node is freed. */
struct lib_program {
    lib_config_section_fn section; /* the config's other sections */
    void *section_data;
    /* The control socket's hooks; app_effect gets every app effect
     * after an app's name was re-pointed (it hands them to the node's
     * apps: lib_on_app). */
    struct lib_control_program control;
    const char *gname[BATON_APPS_MAX]; /* app i's name ("" = none) */
    const char *address[BATON_APPS_MAX]; /* its address here ("" = none) */
    /* Where the node keeps its files (batond: its state_dir, default
     * included, made by then); NULL: [node] state_dir, if set. Its raft/
     * holds the Raft store in quorum mode, and the operator settings are
     * persisted there (docs/config.md "settings"). store_failed: what to
     * do when the Raft store fails while running (stop the node:
     * quorum.md §3); called with control.data. NULL: baton_close. */
    const char *state_dir;
    void (*store_failed)(void *data, const char *why);
};

struct baton {
    uv_loop_t own_loop;
    uv_loop_t *loop;
    bool own;
    struct lib_config cfg;
    struct baton_io io;
    uv_check_t check;
    uv_timer_t tick;     /* groups: retries */
    baton_log_cb log;
    void *log_data;
    int log_level;
    char errmsg[256];
    bool started, closing, closed;
    bool io_closing; /* a failed start's driver is still closing */
    bool hold_apps;  /* baton_hold_apps() and no release yet */
    unsigned handles;
    void (*close_cb)(void *data);
    void *close_data;
    const struct lib_program *program; /* NULL for a libbaton program */
    /* Quorum mode: the Raft store (NULL without a quorum app), and
     * whether it failed (the node is stopping). */
    struct lib_raftlog *raftlog;
    bool raft_failed;

    /* Live membership: the list read from state_dir at start
     * (members.c, docs/design/membership.md §5). */
    struct baton_members members;
    /* The operator settings file ("": not persisted) and what it held
     * at start (docs/design/apps.md §7). */
    char settings_file[BATON_PATH_MAX];
    struct baton_settings settings_loaded;

    struct baton_app apps[BATON_APPS_MAX];
    unsigned n_apps;
    struct baton_group *groups[BATON_APPS_MAX];
    unsigned n_groups;

    /* The node's endpoints and name writes in flight, the control
     * sessions' beside the library's (owner LIB_OWNER_SESSION). */
    struct lib_idmap eps;   /* endpoint id -> struct lib_ep */
    struct lib_idmap ops;   /* name write id -> struct lib_op */
    /* Call id -> struct lib_call: the node's one call table, with the
     * control sessions' calls (LIB_CALL_SESSION) beside its own. */
    struct lib_idmap calls;
    /* Calls in flight by deadline: the node's one deadline mechanism,
     * shared with the control socket's sessions. */
    struct lib_deadlines deadlines;
    /* The control socket (docs/control.md), when control_socket is set:
     * its sessions' endpoints, writes and calls take ids from next_id. */
    struct lib_control *control;
    uint64_t next_id;

    /* Work for the core made in its callbacks: the node's one
     * re-entrancy rule, shared with the control socket (defer.h). */
    struct lib_defers defers;
    /* Observability (docs/metrics.md, docs/control.md "Cluster
     * events"): the counters, the last look at the replica, and the
     * Prometheus endpoint when metrics_listen is set. */
    struct lib_metrics metrics;
    struct lib_events events;
    struct lib_http *http;
    uint8_t scratch[BATON_CALL_DATA_MAX + 1];
};

/* The default log: "<UTC time> <LEVEL> <text>" lines on stderr (batond's
 * format, which its tests read). */
void lib_log_stderr(void *data, int level, const char *text);

/* members.c: the member list under [node] state_dir (membership.md §5).
 * load: the persisted list (in b->members), or NULL (none, or it does
 * not parse: logged). changed: the driver's on_members, writes it
 * (temp file, fsync, rename, fsync of the directory). */
const struct baton_members *lib_members_load(struct baton *b);
void lib_members_changed(struct baton_io *io, const struct baton_members *l);
void lib_logf(struct baton *b, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int lib_fail(struct baton *b, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t lib_now(const struct baton *b);
const char *lib_node_name(const struct baton *b, unsigned id);
int lib_node_id(const struct baton *b, const char *name);
bool lib_alive(const struct baton *b, unsigned id);
/* One of the node's handles closed (b->handles): the last frees it. */
void lib_handle_gone(struct baton *b);

/* baton_new with a program's hooks (batond). */
int lib_node_new(struct baton **out, const struct baton_options *opt,
                 const struct lib_program *program, char *errmsg,
                 size_t errmsg_len);

/* names.c */
void lib_on_name(struct baton_io *io, const struct baton_name_effect *e);
void lib_on_call(struct baton_io *io, const struct baton_call_effect *e);
int lib_register(struct baton *b, const char *name, bool re,
                 const struct baton_handler *h, void *data,
                 baton_done_cb cb, void *cb_data);
int lib_send_prefixed(struct baton *b, const char *name, uint8_t prefix,
                      const void *msg, size_t len);
struct lib_call *lib_call_new(struct baton *b, uint8_t kind,
                              uint64_t timeout_ms, baton_reply_cb cb,
                              void *cb_data);
int lib_call_send(struct baton *b, struct lib_call *c, const char *name,
                  const void *msg, size_t len);
void lib_call_finish(struct baton *b, struct lib_call *c, int status,
                     const void *reply, size_t len);
void lib_calls_fail_all(struct baton *b, int status);
struct baton_request *lib_request_new(struct baton *b, uint8_t kind,
                                      uint64_t id);
void lib_names_close(struct baton *b);

/* apps.c */
void lib_on_app(struct baton_io *io, const struct baton_app_effect *e);
/* Operator settings (docs/design/apps.md §7, docs/config.md): reads the
 * file into b->cfg.io (settings, and apps' permit false) before the
 * driver starts; writes it, atomically, when the settings or an
 * operator's permit change. Failures are logged, not fatal. */
void lib_settings_load(struct baton *b);
void lib_settings_save(struct baton *b);
void lib_on_settings(struct baton_io *io, const struct baton_settings *s);
void lib_on_admin(struct baton_io *io, const struct baton_admin_reply *r);
int lib_app_declare(struct baton *b, const char *name, const uint8_t *rank,
                    uint64_t failover_timeout_ms, uint8_t kind,
                    const struct baton_app_callbacks *cbs, void *data,
                    unsigned n_phases, struct baton_app **out);
void lib_apps_shutdown(struct baton *b);
/* The apps the config hook declared ([app] sections) become supervised
 * apps with cbs, app i's data being data[i]. Before baton_start. */
/* Runtime definitions (docs/design/apps.md §1.1). lib_app_slot: the
 * index app `name` takes: its own (fresh = false while it is still
 * defined or stopping here), else one whose app was removed and is gone
 * here, else the next (fresh: the caller makes its handle before
 * lib_app_define). lib_app_define: app idx is *def here and in the
 * core. lib_app_remove: it leaves this node (moved away first). Errors:
 * BATON_EFULL (no index free), BATON_EINVAL (the core refused it),
 * BATON_ESTATE (not started, or closing). */
/* The handle of app idx made afresh (declared, adopted, or defined at
 * run time at an index whose last app is gone). */
struct baton_app *lib_app_handle(struct baton *b,
                                 unsigned idx,
                                 uint8_t kind,
                                 const struct baton_app_callbacks *cbs,
                                 void *data);
int lib_app_slot(struct baton *b, const char *name, unsigned *idx, bool *fresh);
int lib_app_define(struct baton *b,
                   unsigned idx,
                   const struct baton_app_config *def);
int lib_app_remove(struct baton *b, unsigned idx);
void lib_apps_adopt(struct baton *b, const struct baton_app_callbacks *cbs,
                    void *const *data);
/* Self-fencing of supervised quorum apps (docs/design/quorum.md §4.4):
 * what reaches the supervisor beyond the app callbacks. */
struct lib_fence {
    /* KILL: the instance's lease ended before it was gone (its stop was
     * ordered before): end it by force now. Its end is reported as a
     * stop's, with lib_app_event(). */
    void (*kill)(struct baton_app *app);
    /* LEASE: the instance's lease now ends at until_ms, on the loop's
     * clock (uv_now); for a timer of the supervisor's own that must end
     * the instance then even if this process is frozen or dead. */
    void (*lease)(struct baton_app *app, uint64_t until_ms);
};
/* After lib_apps_adopt: every adopted app gets fence (borrowed until b
 * is closed). */
void lib_apps_fence(struct baton *b, const struct lib_fence *fence);
/* News of a supervised instance of epoch for the core, at the next idle
 * turn: it ended (BATON_APP_EV_STOPPED, _EXITED, _FAILED), or it is
 * ready again after a restart (_READY; the first READY of a start is
 * baton_app_started()). */
void lib_app_event(struct baton_app *app, unsigned what, uint64_t epoch);

/* group.c */
void lib_groups_start(struct baton *b);
void lib_groups_observe(struct baton *b);
/* The leading instance of g runs on under a new token (BATON_APP_TOKEN,
 * docs/design/apps.md §4): members join it under that one. */
void lib_group_token(struct baton_group *g, uint64_t epoch);
void lib_groups_shutdown(struct baton *b);
void lib_group_call_done(struct baton *b, struct lib_call *c, int status,
                         const uint8_t *reply, size_t len);

#endif /* BATON_LIB_LIB_H */
