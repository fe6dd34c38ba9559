/* The node's control socket: a Unix stream socket (mode 0600) that
 * serves batonctl and programs: one-shot text commands, and JSON
 * sessions that are name endpoints. Any node serves it, batond or a
 * libbaton program with control_socket set. See docs/control.md. */
#ifndef BATON_LIB_CONTROL_H
#define BATON_LIB_CONTROL_H

#include <cjson/cJSON.h>

#include "../io/io.h"
#include "table.h"
#include "deadline.h"
#include "defer.h"
#include "idmap.h"

/* An app's published address, host:port, in its name's meta
 * (docs/control.md "Apps with names"). */
#define LIB_ADDRESS_MAX (160)

struct lib_session; /* session.h */
struct lib_ctl_defer;   /* session.c */
struct lib_queued;  /* appname.c */

/* An app's name (`name =` in its section) as this node serves it
 * (docs/control.md "Apps with names"). */
struct lib_appname {
    bool active; /* started here: the name is (being) pointed here */
    struct lib_session *server; /* the session serving it, or NULL */
    struct lib_queued *head, *tail; /* calls waiting for a server */
    unsigned n_queued;
    /* Keeping the name where the app runs (appname.c): the next write
     * may go at retry_ms; backoff_ms is the wait after it (0: none
     * needed since the name was last seen right). */
    uint64_t retry_ms;
    uint32_t backoff_ms;
    /* A takeover's export is due (lib_control_app_hold): calls for the
     * app's name and for the sessions of process group pgid queue. */
    bool held;
    int pgid;
    /* The address the running instance published ($BATON_ADDRESS_FILE,
     * lib_control_app_address); "" for the configured one. */
    char address[LIB_ADDRESS_MAX + 1];
};

/* What the program running the node adds (batond: its supervisor). Every
 * member may be NULL. */
struct lib_control_program {
    void *data;
    /* Carries out an app effect, after an app's name was re-pointed. */
    void (*app_effect)(void *data, const struct baton_app_effect *e);
    /* batonctl ready APP: 0, or the app waits for no ready here. */
    int (*ready)(void *data, unsigned app);
    /* Adds the local instance's fields to app's entry of "apps". */
    void (*app_json)(void *data, unsigned app, cJSON *o);
    /* The node is stopping: started apps no longer take their names. */
    bool (*draining)(void *data);
    /* batonctl drain: hand every app here over, then stop the node, as
     * SIGTERM does. NULL: the program does not stop on request. */
    void (*drain)(void *data);
    /* batonctl reload: re-read the config file; 0 with what changed in
     * text ("added x; removed y; ..."), or an error with why nothing did
     * (every problem, file:line each). NULL: no such op here. */
    int (*reload)(void *data, char *text, size_t len);
};

struct lib_control {
    uv_pipe_t pipe;
    struct baton_io *io;
    /* The node serving the socket and lib_group_json, for its leader
     * groups. */
    struct baton *node;
    int (*group_json)(struct baton *node, const char *name, cJSON *o);
    /* A session's group op (leader_call, ...): lib_group_op. */
    int (*group_op)(struct baton *node, struct lib_session *s,
                    const char *op, const cJSON *req, const cJSON *cid);
    struct lib_control_program prog;
    /* Persists the node's operator settings and permits after an
     * operator's permit (lib_settings_save). */
    void (*settings_save)(struct baton *node);
    /* App i's global name ("name =" of [app]; NULL or "" for none). */
    const char *gname[BATON_APPS_MAX];
    /* App i's address on this node (address = of [app]; NULL or ""). */
    const char *address[BATON_APPS_MAX];
    /* Ids of endpoints, name writes and calls come from *ids, which the
     * node shares with its other endpoints (one id space in the core). */
    uint64_t *ids;
    /* Calls in flight wait in *deadlines: the node's one deadline heap. */
    struct lib_deadlines *deadlines;
    char path[108];
    /* The read-only socket (lib_control_start_ro), if open: its
     * sessions may only look things up. */
    uv_pipe_t pipe_ro;
    char path_ro[108];
    bool ro_open;
    bool open;
    bool closing;
    /* Sessions (docs/control.md "Sessions"). */
    struct lib_session *sessions; /* every connection, a list */
    unsigned n_sessions;             /* of them not closing */
    size_t in_bytes;                 /* sessions' input buffers, in all */
    /* A limit that bites is logged, at most once a second per limit,
     * with how often it bit since (docs/control.md "Limits"). */
    struct lib_limit_log {
        uint64_t last_ms;
        unsigned count;
    } refused_log, accept_log, in_log, idle_log;
    /* Endpoint -> struct lib_ep and name write id -> struct lib_op: the
     * node's tables (`eps` and `ops`, where the sessions' are
     * LIB_OWNER_SESSION entries beside the library's). */
    struct lib_idmap *endpoints;
    struct lib_idmap *writes;
    /* Call id -> struct lib_call: the node's one call table (`calls`,
     * where the sessions' are LIB_CALL_SESSION entries beside the
     * library's). */
    struct lib_idmap *calls;
    struct lib_idmap incoming;    /* delivered call -> incoming */
    /* Work for the core found while inside one of its callbacks (an
     * app's name write, then its start; a DROP; a reply) waits in the
     * node's one deferral queue (defer.h: the node's `defers`). */
    struct lib_defers *defers;
    unsigned depth; /* > 0 while inside an io callback */
    uv_timer_t sweep; /* expires queued calls of app names */
    struct lib_appname apps[BATON_APPS_MAX];
    /* Operator verbs waiting for the coordinator's answer (docs/
     * control.md "Operator verbs"): the session to answer (NULL: it
     * closed), and what the verb was, to say what changed. */
    struct lib_verb {
        uint64_t id; /* 0: a free slot */
        struct lib_session *s;
        uint8_t kind; /* enum baton_admin_kind */
        uint8_t node;
        char app[BATON_APP_NAME_MAX + 1];
    } verbs[2 * BATON_ADMIN_PENDING_MAX];
};

/* Binds and listens at path (replacing a stale socket file, refusing if
 * another node answers there). c->prog, c->gname, c->node,
 * c->group_json, c->group_op, c->ids, c->deadlines, c->calls,
 * c->endpoints, c->writes and c->defers (the node's) must be set
 * beforehand; the node routes io's effects for the socket to the
 * functions below. Errors: BATON_EIO, with a message in err. */
int lib_control_start(struct lib_control *c, struct baton_io *io,
                         const char *path, char *err, size_t err_len);

/* After lib_control_start: a second socket at path for lookups only
 * (docs/control.md "Read-only socket"): mode 666, or 660 and group gid
 * if group_set. Its sessions may read (status, apps, leader, whereis,
 * names); any other request is answered "denied". Errors: BATON_EIO,
 * with a message in err. */
int lib_control_start_ro(struct lib_control *c, const char *path,
                         bool group_set, uint32_t gid, char *err,
                         size_t err_len);
/* Closes the listener, every session and the timers; cb runs for the
 * listener (the loop ends once every handle is closed). */
void lib_control_close(struct lib_control *c, uv_close_cb cb);

/* An app effect from the core: names of apps started here are pointed
 * at this node first, then the supervisor carries the effect out, both
 * after the core's step has returned. Borrows e for the call. */
void lib_control_app_effect(struct lib_control *c,
                               const struct baton_app_effect *e);
/* The coordinator answered an operator verb (or the node did, for it):
 * its session gets what changed, or why not. Borrows r for the call. */
void lib_control_admin_effect(struct lib_control *c,
                              const struct baton_admin_reply *r);
/* The program's instance of app went idle here: its name goes. */
void lib_control_app_idle(struct lib_control *c, unsigned app);
/* The running instance of app published address (host:port; NULL or ""
 * for the configured one): its name's meta says so from now on (written
 * again if the name is pointed here). Until the instance goes idle. */
void lib_control_app_address(struct lib_control *c, unsigned app,
                             const char *address);
/* A takeover is about to export app's state (docs/control.md "Takeover
 * order"): from now on calls for its name, and for names held by
 * sessions of process group pgid (the instance's), queue here instead
 * of reaching it; they follow their names once those move. The hold
 * ends when the instance stops (lib_control_app_idle) or the cluster
 * gives the app back to this node. */
void lib_control_app_hold(struct lib_control *c, unsigned app, int pgid);
/* Calls the held instance was given and has not answered yet: its
 * export waits for 0. */
unsigned lib_control_app_unanswered(const struct lib_control *c,
                                    unsigned app);
/* The core's name and call effects (io's on_name and on_call). Borrow e
 * for the call. */
void lib_control_name_effect(struct lib_control *c,
                                const struct baton_name_effect *e);
void lib_control_call_effect(struct lib_control *c,
                                const struct baton_call_effect *e);

/* Adds leader group name's state to o (docs/control.md "Leader
 * groups"): 0, or BATON_ENOTFOUND if node has no such group. In group.c
 * (libbaton only: the control socket calls it through c->group_json). */
int lib_group_json(struct baton *node, const char *name, cJSON *o);

/* c->group_json(c->node, name, o), or BATON_ENOTFOUND without groups. */
int lib_control_group_json(const struct lib_control *c, const char *name,
                           cJSON *o);

/* A session's op on a leader group (docs/control.md "Leader groups"):
 * 0 if op is one (answered, now or later), BATON_ENOTFOUND if not. In
 * group.c, through c->group_op. */
int lib_group_op(struct baton *node, struct lib_session *s, const char *op,
                 const cJSON *req, const cJSON *cid);
int lib_control_group_op(struct lib_session *s, const char *op,
                         const cJSON *req, const cJSON *cid);

/* A leader group's event ("elected", "surrendered", "deposed",
 * "from_leader", "down") to every session that joined it: key: who
 * (either may be NULL: none), epoch (0: none) and data (NULL: none) as
 * its fields. */
void lib_control_group_event(struct lib_control *c, const char *group,
                             const char *event, const char *key,
                             const char *who, uint64_t epoch,
                             const void *data, size_t len);

/* The JSON status document (returns owned, free with free()). */
char *lib_status_json(const struct lib_control *c);
/* The JSON apps document: every app, cluster-wide and local. */
char *lib_apps_json(const struct lib_control *c);

/* Is endpoint one of the control socket's (a session's or an app
 * name's)? The node's other endpoints are not. */
bool lib_control_owns_endpoint(const struct lib_control *c,
                               uint64_t endpoint);

#endif /* BATON_LIB_CONTROL_H */
