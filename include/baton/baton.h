/* libbaton: embed a baton node in a C program (docs/api.md).
 *
 * A node joins the cluster named by a config file (the same [node],
 * [cluster] and [nodes] sections as batond's, docs/config.md) and runs,
 * as callbacks in this program:
 *   - apps: placed on one node of a priority list, failed over and taken
 *     over with their state (baton_app_add);
 *   - singletons: one instance in the cluster, the other nodes stand by
 *     (baton_singleton_add);
 *   - leader groups: gen_leader's behaviour, an instance on every member
 *     and one elected leader (baton_group_add);
 *   - global names, messages and calls (baton_register, baton_call).
 *
 * Threads: none of its own. Every callback runs on the thread that runs
 * the node's loop, and no function may be called from another thread.
 * Errors: functions return 0 or a negative BATON_E* code
 * (baton_strerror); baton_errmsg() adds what and where. If a call that
 * takes a callback fails, the callback never fires.
 * Ownership: the library allocates its objects; pointers passed in are
 * borrowed for the call unless a comment says otherwise; data passed to
 * a callback is valid during the callback only. */
#ifndef BATON_BATON_H
#define BATON_BATON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BATON_BUILDING) && defined(__GNUC__)
#define BATON_API __attribute__((visibility("default")))
#else
#define BATON_API
#endif

/* ---- errors ----------------------------------------------------------- */

#define BATON_ERRNO_MAP(X)                                              \
    X(INVAL, "invalid argument")                                        \
    X(NOMEM, "out of memory")                                           \
    X(RANGE, "value out of range")                                      \
    X(BADMSG, "malformed message")                                      \
    X(STALE, "stale message")                                           \
    X(NOTCOORD, "not the coordinator")                                  \
    X(FULL, "bounded buffer full")                                      \
    X(AGAIN, "need more data")                                          \
    X(AUTH, "authentication failed")                                    \
    X(IO, "I/O error")                                                  \
    X(NAMETAKEN, "name already registered")                             \
    X(NOTOWNER, "name is not registered by this endpoint")              \
    X(NOTFOUND, "no such name")                                         \
    X(TIMEDOUT, "timed out")                                            \
    X(UNREACHABLE, "the owner's node is unreachable")                   \
    X(BUSY, "too many requests pending")                                \
    X(LEADERDOWN, "the leader was lost during the call")               \
    X(STATE, "not allowed in this state")                               \
    X(CLOSED, "the node is closing")                                    \
    X(REFUSED, "its definition differs between nodes")

enum baton_errno {
    BATON_OK = 0,
#define BATON__ERRNO_ENUM(name, text) BATON_E##name,
    BATON__ERRNO_FIRST = -100,
    BATON_ERRNO_MAP(BATON__ERRNO_ENUM)
#undef BATON__ERRNO_ENUM
        BATON__ERRNO_LAST
};

/* A static description of an error code ("unknown error" if unknown). */
BATON_API const char *baton_strerror(int rv);

/* ---- shared vocabulary ------------------------------------------------ */

enum baton_log_level { BATON_LOG_DEBUG, BATON_LOG_INFO, BATON_LOG_WARN,
                       BATON_LOG_ERROR };

/* How an app or singleton instance starts (reference §1.5). */
enum baton_start_type {
    BATON_START_NORMAL = 0,
    BATON_START_FAILOVER, /* its previous node was lost: from_node */
    BATON_START_TAKEOVER, /* moved here from a running from_node */
};

/* Why an instance stops. */
enum baton_stop_reason {
    BATON_STOP_SHUTDOWN = 1, /* baton_close(): this node leaves */
    BATON_STOP_MOVED,       /* taken over by (or relocated to) to_node */
    BATON_STOP_CONFLICT,    /* after a heal another instance survives */
    BATON_STOP_FAILED,      /* it failed here (baton_app_failed) */
    BATON_STOP_ENDED,       /* nowhere to run: stopped cluster-wide */
};

/* Why a registration went away without its owner asking. */
enum baton_lost_reason {
    BATON_LOST_REMOVED = 1,     /* gone from the group's table */
    BATON_LOST_CONFLICT_KEEP,   /* a heal's clash: the other was older */
    BATON_LOST_CONFLICT_EXIT,   /* a clash under random_exit */
    BATON_LOST_CONFLICT_NOTIFY, /* a clash under random_notify */
    BATON_LOST_CONFLICT_ALL,    /* a clash under notify_all: both gone */
    BATON_LOST_REPLACED,        /* another endpoint re_registered it */
};

/* ---- the node --------------------------------------------------------- */

struct baton;         /* one embedded node */
struct uv_loop_s;     /* libuv's uv_loop_t */

typedef void (*baton_log_cb)(void *data, int level, const char *text);

struct baton_options {
    /* The INI file with [node] (name, cookie_file), optional [cluster]
     * and [nodes], as batond's (docs/config.md). [app] sections are
     * batond's: here apps come from baton_app_add(). */
    const char *config_file;
    /* The loop to run on, or NULL: the node makes its own, run with
     * baton_run() or polled with baton_fd()/baton_timeout_ms(). */
    struct uv_loop_s *loop;
    baton_log_cb log; /* NULL = lines on stderr */
    void *log_data;
    /* enum baton_log_level; messages below are dropped. 0 = the config
     * file's log_level (default info; set it there for debug). */
    int log_level;
    uint8_t reserved[64];
};

/* Makes a node from opt (not yet linked: add apps, groups, singletons,
 * then baton_start). Returns owned (free with baton_close()). If SIGPIPE
 * has its default action it is set to be ignored: a write to a peer
 * that just died must not end the program (batond does the same).
 * Errors: BATON_EINVAL (the config file: errmsg names file:line and the
 * key of every problem, a line each, as much as fits), BATON_ENOMEM,
 * BATON_EIO. errmsg (may be NULL) gets the reason. */
BATON_API int baton_new(struct baton **out, const struct baton_options *opt,
                        char *errmsg, size_t errmsg_len);

/* Listens, dials every peer and boots the node. Apps, singletons and
 * groups must be added before, the same on every node: one whose
 * definition differs between nodes is refused cluster-wide (logged,
 * run nowhere; a group's leader calls fail with BATON_EREFUSED).
 * Errors: BATON_EIO (cannot listen), BATON_ESTATE (started already). */
BATON_API int baton_start(struct baton *b);

/* A boot hold, as batond's sync_nodes_*: called before baton_start, the
 * node links and serves names but is placed no app (it reports none)
 * until baton_release_apps(), e.g. once the nodes it waits for are up
 * (baton_node_up). Errors: BATON_ESTATE (started already; no hold). */
BATON_API int baton_hold_apps(struct baton *b);
BATON_API int baton_release_apps(struct baton *b);

/* Stops every local instance (stop callbacks with BATON_STOP_SHUTDOWN,
 * terminate for groups), closes the links, then calls cb (may be NULL)
 * and frees b. Pending calls fail with BATON_ECLOSED. */
BATON_API void baton_close(struct baton *b, void (*cb)(void *data),
                           void *data);

/* With the node's own loop: runs it until baton_close() completes.
 * Errors: BATON_ESTATE (b runs on the caller's loop). */
BATON_API int baton_run(struct baton *b);
/* For another event loop (own loop only): an fd to poll for reading,
 * the milliseconds until baton_process() is due (-1 = none), and a call
 * that does the work that is ready without blocking. Returns 0, or
 * BATON_ESTATE when b runs on the caller's loop. */
BATON_API int baton_fd(const struct baton *b);
BATON_API int baton_timeout_ms(const struct baton *b);
BATON_API int baton_process(struct baton *b);

BATON_API const char *baton_self(const struct baton *b); /* "a@host" */
/* The context of the last error on b ("" if none). */
BATON_API const char *baton_errmsg(const struct baton *b);
/* Is node (a name from [nodes]) up, as this node sees it? */
BATON_API bool baton_node_up(const struct baton *b, const char *node);

/* ---- status (docs/control.md "status") ------------------------------- */

/* What the node knows of itself and the cluster: the control socket's
 * "status" is printed from it. Strings are the node's or constants,
 * valid until baton_close(). */
struct baton_status_info {
    const char *node;        /* this node, "a@host" */
    const char *role;        /* "joining", "follower", "coordinator", ... */
    const char *coordinator; /* the coordinator it follows, or NULL */
    uint64_t incarnation;    /* this life of the node */
    uint64_t epoch;          /* the cluster state's epoch, 0 before any */
    unsigned members;        /* nodes in the cluster state */
    unsigned n_nodes;        /* nodes in [nodes], this one included */
    bool synced;             /* synced with its cluster since it booted */
    uint64_t auth_failures;  /* handshakes whose cookie proof failed */
    uint64_t bad_frames;     /* malformed or tampered frames (link closed) */
    uint8_t reserved[64];
};

/* What the node knows of the i-th node of [nodes] (itself included). */
struct baton_peer_info {
    const char *name;     /* "b@host" */
    const char *host;     /* its address in [nodes] */
    unsigned port;
    bool self;            /* this node */
    bool linked;          /* an authenticated link to it is up */
    bool alive;           /* the node counts it alive */
    bool candidate;       /* it may coordinate */
    bool heard;           /* heard from since this node booted */
    /* When heard: ms since it was last heard, its life, and its role and
     * coordinator as it last told them (NULL if none or unknown). */
    uint64_t last_seen_ms;
    uint64_t incarnation;
    const char *role;
    const char *coordinator;
    uint8_t reserved[32];
};

/* Fills *out. Errors: BATON_ESTATE (not started: nothing known yet). */
BATON_API int baton_status_get(const struct baton *b,
                               struct baton_status_info *out);
/* Fills *out for node i, 0 <= i < baton_status_info.n_nodes, in the
 * order of [nodes]. Errors: BATON_ERANGE (no node i), BATON_ESTATE (not
 * started). */
BATON_API int baton_peer_get(const struct baton *b, unsigned i,
                             struct baton_peer_info *out);

/* ---- apps (dist_ac) --------------------------------------------------- */

struct baton_app;

struct baton_app_callbacks {
    /* Start the instance: return 0 once it serves (or an error: the app
     * is failed here and placed elsewhere), or BATON_EAGAIN to say so
     * later with baton_app_started(). from_node: failover or takeover's
     * source, else NULL; epoch: the instance's fencing token, larger
     * than any before it. Required. */
    int (*start)(struct baton_app *app, int type, const char *from_node,
                 uint64_t epoch);
    /* Start phase k of n_phases, after start (OTP's start phases);
     * an error fails the start. Optional. */
    int (*start_phase)(struct baton_app *app, unsigned k);
    /* Before stop (OTP's prep_stop). Optional. */
    void (*prep_stop)(struct baton_app *app, int reason);
    /* Stop the instance. reason: enum baton_stop_reason; to_node: where
     * it runs next, or NULL. Required. */
    void (*stop)(struct baton_app *app, int reason, const char *to_node);
    /* Takeover: the state for the new instance. Set *data to memory from
     * malloc() (the library takes ownership) and *len; return 0, or an
     * error to start the new instance without state, or BATON_EAGAIN to
     * give it later with baton_app_exported(). Optional. */
    int (*export_state)(struct baton_app *app, void **data, size_t *len);
    /* The old instance's exported state, just before start(TAKEOVER).
     * Optional. */
    void (*import_state)(struct baton_app *app, const void *data,
                         size_t len);
    /* The running instance's fencing token rose to epoch without a
     * restart: a partition healed and the other side had issued higher
     * tokens meanwhile (docs/design/apps.md §4). Fence with this one from
     * now on. Optional. */
    void (*token)(struct baton_app *app, uint64_t epoch);
};

/* An app's mode (docs/design/quorum.md): available (the default,
 * Erlang's: every side of a partition keeps serving) or quorum (only the
 * side with a majority, under a lease; no two owners ever overlap). */
enum baton_mode {
    BATON_MODE_AVAILABLE = 0,
    BATON_MODE_QUORUM = 1,
};

struct baton_app_options {
    /* Priority list as in batond's config: "a@h1, {b@h2 c@h3}". */
    const char *nodes;
    uint64_t failover_timeout_ms; /* UINT64_MAX = never fail over */
    unsigned n_phases;
    /* Quorum apps only (0 = the default; docs/config.md "Quorum mode"):
     * the owner's lease, 4 x heartbeat_ms..60000 (default 4 x
     * heartbeat_ms), and how long before it ends the app is told to
     * stop, up to half the lease (default a quarter). */
    uint64_t lease_ms;
    uint64_t stop_margin_ms;
    uint8_t mode; /* enum baton_mode */
    uint8_t reserved[15];
};

/* Declares app name (1-31 of letters, digits, _ . -) before
 * baton_start. Borrows cbs until b is closed. *out is owned by b.
 * Errors: BATON_EINVAL (errmsg says what), BATON_ESTATE, BATON_EFULL. */
BATON_API int baton_app_add(struct baton *b, const char *name,
                            const struct baton_app_options *opt,
                            const struct baton_app_callbacks *cbs,
                            void *data, struct baton_app **out);
/* After baton_start, baton_app_add defines a new app at run time (this
 * node reports it to the coordinator, which places it by the usual
 * rules: docs/design/apps.md §1.1), and baton_app_remove takes app off
 * this node: an instance here moves away first (a takeover, with its
 * state, as baton_app_permit(app, false)), its stop callback runs, and
 * then this node no longer offers it. The handle stays valid until its
 * instance here is gone; a later baton_app_add may reuse it then. A
 * singleton, group or quorum-mode app is not removed (BATON_EINVAL),
 * and a quorum-mode app is added before baton_start only. */
BATON_API int baton_app_remove(struct baton_app *app);
BATON_API void *baton_app_data(const struct baton_app *app);
BATON_API struct baton *baton_app_node(const struct baton_app *app);
/* The running instance crashed or ended: failed = place it elsewhere;
 * otherwise it ended normally and runs nowhere. */
BATON_API int baton_app_exit(struct baton_app *app, bool failed);
/* The end of a start that returned BATON_EAGAIN: status 0 once the
 * instance serves (its start phases run now), or an error (it failed
 * here). Errors: BATON_ESTATE (no start waits). */
BATON_API int baton_app_started(struct baton_app *app, int status);
/* The answer to an export_state that returned BATON_EAGAIN: status 0
 * with the state (data copied, at most 64 KiB), or an error to start the
 * new instance without state. Errors: BATON_ESTATE (no export waits),
 * BATON_EINVAL. */
BATON_API int baton_app_exported(struct baton_app *app, int status,
                                 const void *data, size_t len);
/* Let app run on this node (permit) or not: false moves a running
 * instance away, as OTP's application:permit/2 (batonctl permit).
 * Errors: BATON_ESTATE (not started). */
BATON_API int baton_app_permit(struct baton_app *app, bool permit);
/* Ask the cluster to move app here now (OTP's takeover). */
BATON_API int baton_app_takeover(struct baton_app *app);
/* Where it runs ("" if nowhere) and its epoch; a local read. */
BATON_API const char *baton_app_where(const struct baton_app *app,
                                      uint64_t *epoch);

/* ---- singletons (Highlander) ------------------------------------------ */

/* A singleton is an app whose nodes are every node, all of equal
 * priority, and that never moves back: one instance in the cluster,
 * started elsewhere when its node is lost or it fails; after a heal one
 * survives and the other stops with BATON_STOP_CONFLICT. The callbacks
 * are an app's (start, stop; the others optional). */
BATON_API int baton_singleton_add(struct baton *b, const char *name,
                                  const struct baton_app_callbacks *cbs,
                                  void *data, struct baton_app **out);

/* ---- names, messages and calls (global) ------------------------------ */

struct baton_request; /* a call delivered to this program */

struct baton_handler {
    /* A message sent with baton_send(). */
    void (*message)(void *data, const char *name, const void *msg,
                    size_t len);
    /* A call: answer with baton_reply() (now or later), exactly once. */
    void (*call)(void *data, const char *name, struct baton_request *req,
                 const void *msg, size_t len);
    /* The name was lost (reason: enum baton_lost_reason). */
    void (*lost)(void *data, const char *name, int reason);
};

/* status: 0 or BATON_E*. */
typedef void (*baton_done_cb)(void *data, int status);
/* status: 0 with the reply, or BATON_E* (BATON_ENOTFOUND, ETIMEDOUT,
 * EUNREACHABLE, ELEADERDOWN, EREFUSED, ECLOSED). reply is valid during
 * the call. */
typedef void (*baton_reply_cb)(void *data, int status, const void *reply,
                               size_t len);

/* Registers name (1-127 printable ASCII bytes, no spaces) to handler h
 * (borrowed until unregistered or lost). One round trip to the
 * coordinator; cb gets 0, BATON_ENAMETAKEN, BATON_EFULL, BATON_EBUSY.
 * reregister takes the name over atomically from whoever holds it. */
BATON_API int baton_register(struct baton *b, const char *name,
                             const struct baton_handler *h, void *data,
                             baton_done_cb cb, void *cb_data);
BATON_API int baton_reregister(struct baton *b, const char *name,
                               const struct baton_handler *h, void *data,
                               baton_done_cb cb, void *cb_data);
BATON_API int baton_unregister(struct baton *b, const char *name,
                               baton_done_cb cb, void *cb_data);
/* Local read: the node holding name ("a@host") and the registration's
 * epoch; BATON_ENOTFOUND if none. */
BATON_API int baton_whereis(const struct baton *b, const char *name,
                            const char **node, uint64_t *epoch);
/* Sends msg (<= 64 KiB) to name's holder; no answer.
 * Errors: BATON_ENOTFOUND, BATON_EINVAL, BATON_EBUSY. */
BATON_API int baton_send(struct baton *b, const char *name, const void *msg,
                         size_t len);
/* Calls name's holder; cb fires exactly once, by timeout_ms at the
 * latest, or with BATON_EUNREACHABLE as soon as the holder's node is
 * declared down. A call made while the name moves is forwarded to the new
 * holder. Errors (no callback): BATON_EINVAL, BATON_EBUSY, BATON_ENOMEM,
 * BATON_ESTATE (not started), BATON_ECLOSED. */
BATON_API int baton_call(struct baton *b, const char *name, const void *msg,
                         size_t len, uint64_t timeout_ms, baton_reply_cb cb,
                         void *cb_data);
/* Answers req (data <= 64 KiB less one byte, borrowed); req is freed,
 * also on error. Errors: BATON_EINVAL (too long: the caller gets no
 * answer and its deadline fails it). */
BATON_API int baton_reply(struct baton_request *req, const void *data,
                          size_t len);

/* ---- leader groups (gen_leader) --------------------------------------- */

struct baton_group;

struct baton_group_callbacks {
    /* The local instance starts (every member). Optional. */
    int (*init)(struct baton_group *g);
    /* This node leads. joined: NULL at the election, else a member that
     * came up later. Set *sync (malloc'd, the library takes ownership)
     * and *len: it goes to the others' surrendered (all of them at the
     * election, joined alone later). Required. */
    void (*elected)(struct baton_group *g, const char *joined, void **sync,
                    size_t *len);
    /* Another node leads; sync is its elected's. Required. */
    void (*surrendered)(struct baton_group *g, const char *leader,
                        const void *sync, size_t len);
    /* On the leader: a leader_call. Answer with baton_reply(); may
     * baton_group_broadcast(). Required. */
    void (*handle_leader_call)(struct baton_group *g,
                               struct baton_request *req, const void *msg,
                               size_t len);
    /* On the leader: a leader_cast (gen_leader 1.0 never called it). */
    void (*handle_leader_cast)(struct baton_group *g, const void *msg,
                               size_t len);
    /* On the others: the leader's broadcast. */
    void (*from_leader)(struct baton_group *g, const void *msg, size_t len);
    /* On the leader: a member node was lost. */
    void (*handle_down)(struct baton_group *g, const char *node);
    /* The local instance: baton_group_call / cast / info. */
    void (*handle_call)(struct baton_group *g, struct baton_request *req,
                        const void *msg, size_t len);
    void (*handle_cast)(struct baton_group *g, const void *msg, size_t len);
    void (*handle_info)(struct baton_group *g, const void *msg, size_t len);
    /* The local instance ends (baton_close). */
    void (*terminate)(struct baton_group *g, int reason);
    /* This node no longer leads: another one took over (leader, NULL if
     * not known yet) or its leadership was replaced while it was cut
     * off or frozen (it may be elected again at once, under a higher
     * epoch). epoch: the leadership lost. Fires once per leadership,
     * before anything else is handled as leader. Optional. */
    void (*deposed)(struct baton_group *g, const char *leader, uint64_t epoch);
};

/* Declares leader group name before baton_start. candidates: priority
 * order, "a@h1, b@h2" (the first one alive leads); workers (may be NULL)
 * run an instance but never lead. This node must be one of them. Every
 * node must give the same candidates: if they differ the group is
 * refused on every node (an ERROR log line names it, nobody leads, and
 * leader calls fail with BATON_EREFUSED). Errors: BATON_EINVAL,
 * BATON_ESTATE, BATON_EFULL. */
BATON_API int baton_group_add(struct baton *b, const char *name,
                              const char *candidates, const char *workers,
                              const struct baton_group_callbacks *cbs,
                              void *data, struct baton_group **out);
BATON_API void *baton_group_data(const struct baton_group *g);
BATON_API struct baton *baton_group_node(const struct baton_group *g);

/* To the local instance: handle_call (answer comes to cb), handle_cast,
 * handle_info. */
BATON_API int baton_group_call(struct baton_group *g, const void *msg,
                               size_t len, uint64_t timeout_ms,
                               baton_reply_cb cb, void *cb_data);
BATON_API int baton_group_cast(struct baton_group *g, const void *msg,
                               size_t len);
BATON_API int baton_group_info(struct baton_group *g, const void *msg,
                               size_t len);
/* To the leader, wherever it is: held (at most 1024, up to timeout_ms)
 * while there is none. A leader lost before it answered fails the call
 * with BATON_ELEADERDOWN. */
BATON_API int baton_leader_call(struct baton_group *g, const void *msg,
                                size_t len, uint64_t timeout_ms,
                                baton_reply_cb cb, void *cb_data);
BATON_API int baton_leader_cast(struct baton_group *g, const void *msg,
                                size_t len);
/* On the leader: msg to every other live member's from_leader.
 * Errors: BATON_ESTATE (not the leader). */
BATON_API int baton_group_broadcast(struct baton_group *g, const void *msg,
                                    size_t len);

/* Queries (local reads). The lists fill names[0..max) and return how
 * many there are (which may exceed max). */
BATON_API const char *baton_group_leader(const struct baton_group *g);
BATON_API bool baton_group_is_leader(const struct baton_group *g);
/* The epoch (fencing token) of this node's leadership while it leads
 * (in elected(): the new one; it grows with every election), else of
 * the leadership this node last surrendered to; 0 if none. */
BATON_API uint64_t baton_group_epoch(const struct baton_group *g);
BATON_API unsigned baton_group_candidates(const struct baton_group *g,
                                          const char **names, unsigned max);
BATON_API unsigned baton_group_workers(const struct baton_group *g,
                                       const char **names, unsigned max);
BATON_API unsigned baton_group_alive(const struct baton_group *g,
                                     const char **names, unsigned max);
BATON_API unsigned baton_group_down(const struct baton_group *g,
                                    const char **names, unsigned max);

#ifdef __cplusplus
}
#endif

#endif /* BATON_BATON_H */
