/* The control socket's connections and JSON sessions: the internals
 * shared by control.c (the socket), session.c (the requests and the
 * core's name and call effects), requests.c and appname.c (names of
 * apps). See docs/control.md. */
#ifndef BATON_LIB_SESSION_H
#define BATON_LIB_SESSION_H

#include <cjson/cJSON.h>

#include "control.h"
#include "json.h"

/* App app's global name, "" if it has none. */
static inline const char *lib_ctl_gname(const struct lib_control *c,
                                        unsigned app)
{
    return app < BATON_APPS_MAX && c->gname[app] != NULL ? c->gname[app]
                                                         : "";
}

/* A new id for an endpoint, a name write or a call: from the node's one
 * counter, as its other endpoints take them (post-increment). */
static inline uint64_t lib_ctl_new_id(struct lib_control *c)
{
    return (*c->ids)++;
}

/* Bounds (docs/control.md "Limits"). */
#define LIB_CTL_LINE_MAX (256u * 1024)  /* a JSON request line */
#define LIB_CTL_TEXT_LINE_MAX (1024u)   /* a one-shot text request */
#define LIB_CTL_OUT_MAX (4u << 20)      /* output a client leaves unread */
#define LIB_CTL_CALLS_MAX (4096u)       /* own calls and sends in flight */
#define LIB_CTL_INCOMING_MAX (4096u)    /* calls delivered, not answered */
#define LIB_CTL_HELD_MAX (4096u)        /* names one session holds */
#define LIB_CTL_WRITES_MAX (1024u)      /* name writes in flight */
#define LIB_CTL_CALL_TIMEOUT_MS (5000u)
#define LIB_CTL_CALL_TIMEOUT_MAX_MS (600000u)
#define LIB_CTL_QUEUE_MAX (1024u)       /* calls queued for an app's name */
#define LIB_CTL_QUEUE_MS (30000u)       /* and how long each may wait */
#define LIB_CTL_CLOSING_MS (5000u)      /* to flush a last event */
#define LIB_CTL_SWEEP_MS (250u)
#define LIB_CTL_SWEEP_SOON_MS (5u)
#define LIB_CTL_SESSIONS_MAX (512u)     /* connections at once */
#define LIB_CTL_IN_TOTAL_MAX (64u << 20) /* input buffers, all sessions */
#define LIB_CTL_LINE_IDLE_MS (10000u)   /* an unfinished line may wait */
#define LIB_CTL_WARN_EVERY_MS (1000u)   /* a limit's warning, at most */

/* Endpoints of app names: one per app, above every session's endpoint
 * (those count from 1) and below 2^53, so JSON numbers carry them
 * exactly. */
#define LIB_CTL_APP_ENDPOINT_BASE (1ull << 52)
#define LIB_CTL_APP_ENDPOINT(app) (LIB_CTL_APP_ENDPOINT_BASE + (app) + 1u)


/* One control connection: a one-shot text request, or a JSON session,
 * which is a name endpoint (its names go when it closes). */
struct lib_session {
    uv_pipe_t pipe;
    struct lib_control *ctl;
    struct lib_session *prev, *next; /* ctl->sessions */
    /* JSON sessions: the endpoint (ep.id from 1, owner
     * LIB_OWNER_SESSION) in the node's endpoint table; ep.id is 0 for
     * one-shots. */
    struct lib_ep ep;
    char *buf;         /* request bytes not yet handled */
    size_t len, cap;
    /* Output (docs/control.md "Limits"): lines are appended to it and
     * handed to the socket once per loop iteration (src/io/wbuf.h). */
    struct baton_wbuf wb;
    bool json;
    bool read_only; /* came in on the read-only socket: lookups only */
    bool closing;          /* detached; closes once its output is out */
    bool handle_closing;   /* uv_close() called */
    bool named;            /* asked for a name once: DROP on close */
    /* The leader group it joined ("": none), whose local member's
     * events it gets (docs/control.md "Leader groups"). */
    char group[BATON_APP_NAME_MAX + 1];
    /* When the unfinished line in buf (or, before the first request,
     * the connection) began: it must end within LIB_CTL_LINE_IDLE_MS. */
    uint64_t waiting_since_ms;
    uint64_t closing_ms;
    char **held;           /* the names it holds, as the core confirmed */
    unsigned n_held, cap_held;
    unsigned n_registering; /* register/reregister in flight */
    unsigned n_writes;      /* every name write in flight */
    unsigned n_calls;       /* own calls and sends in flight */
    struct lib_pending_call *calls;          /* those, a list */
    struct lib_incoming *in_head, *in_tail;  /* calls to answer */
    unsigned n_in;
    uint32_t serving; /* bit per app whose name it serves */
    int peer_pid;     /* the connecting process (SO_PEERCRED), or 0 */
    bool on_hold;     /* a session of app held_app, held for its export */
    uint8_t events;   /* cluster events it subscribed to (LIB_EV_*) */
    uint8_t held_app;
};

/* A name write in flight: its answer goes to the endpoint's session if it
 * is still open (looked up by endpoint), or to the log for an app. */
struct lib_pending_write {
    /* First: its entry in the node's name write table (ctl->writes),
     * owner LIB_OWNER_SESSION, with its id and kind. */
    struct lib_op op;
    uint64_t endpoint;
    int app; /* -1: a session's */
    bool quorum; /* a quorum name's: not among the session's names */
    cJSON *cid; /* the request's "id", echoed */
    char name[BATON_GNAME_MAX + 1];
};

/* A call or send in flight, for a session or as a proxy for a call that
 * waited for an app's name which then moved (appname.c). */
struct lib_pending_call {
    /* First: its entry in the node's call table (ctl->calls), kind
     * LIB_CALL_SESSION, with its id and deadline. */
    struct lib_call call;
    struct lib_control *ctl;
    struct lib_session *s; /* NULL: a proxy */
    struct lib_pending_call *prev, *next; /* s->calls */
    cJSON *cid; /* lib_ctl_cid_keep(), maybe &cid_inline */
    cJSON cid_inline;
    bool is_call;
    uint64_t timeout_ms;
    uint64_t orig_id; /* proxy: the call to answer */
    baton_inc orig_inc;
    uint8_t orig_from;
    uint8_t orig_flags;
};

/* A call delivered to a session, until it replies. */
struct lib_incoming {
    uint64_t cid; /* the session's handle for it ("call") */
    uint64_t id;  /* the caller's call id */
    baton_inc from_inc;
    uint8_t from;
    struct lib_session *s;
    struct lib_incoming *prev, *next; /* s->in_head, oldest first */
};

/* control.c: queues doc as one line to s (takes ownership of doc). A
 * client that leaves more than LIB_CTL_OUT_MAX unread is disconnected. */
void lib_ctl_session_send(struct lib_session *s, cJSON *doc);
/* control.c: the answer {"id":cid,"ok":true}, with "data" if with_data,
 * and the event "call" (call > 0) or "message" of a delivery, queued to
 * s as the cJSON documents of requests.c would print them. Borrow cid,
 * name, from and data. */
void lib_ctl_session_send_ok(struct lib_session *s, const cJSON *cid,
                             bool with_data, const uint8_t *data,
                             size_t len);
void lib_ctl_session_send_event(struct lib_session *s, uint64_t call,
                                const char *name, const char *from,
                                const uint8_t *data, size_t len);
/* Ends s: detaches it at once (its names dropped, its calls forgotten);
 * graceful lets queued output reach the client first. */
void lib_ctl_session_end(struct lib_session *s, bool graceful,
                         const char *why);

/* session.c */
void lib_ctl_session_request(struct lib_session *s, const char *line,
                             size_t len);
void lib_ctl_session_detach(struct lib_session *s);
/* Gives a delivered message or call to s (data borrowed). */
void lib_ctl_session_deliver(struct lib_session *s, const char *name,
                             unsigned from, baton_inc from_inc, uint64_t id,
                             unsigned flags, const uint8_t *data,
                             uint32_t len);
/* The core, carefully: outside the core's callbacks these step it at
 * once; inside, they queue the work for right after (in order). A write
 * or call the core refuses finishes as INVALID through the usual path. */
void lib_ctl_io_name(struct lib_control *c,
                     const struct baton_name_req *req);
void lib_ctl_io_call(struct lib_control *c, const struct baton_call *call);
void lib_ctl_io_reply(struct lib_control *c,
                      const struct baton_call *reply);
void lib_ctl_defer_app(struct lib_control *c,
                       const struct baton_app_effect *e);
/* A name write of app's name (never a session's): DONE is logged. */
void lib_ctl_app_write(struct lib_control *c, unsigned app, unsigned kind);
/* The meta of app's name: "app=NAME", then " address=host:port" if it
 * has one here. Returns its length (at most len - 1). */
uint16_t lib_ctl_app_meta(const struct lib_control *c, unsigned app,
                          uint8_t *meta, size_t len);
/* Calls app's queued call (id, from, from_inc, flags, data) from here
 * at its name's current place and answers the caller with the result. */
void lib_ctl_proxy_call(struct lib_control *c, const char *name,
                        uint64_t id, unsigned from, baton_inc from_inc,
                        unsigned flags, const uint8_t *data, uint32_t len,
                        uint64_t timeout_ms);
void lib_ctl_session_close_all(struct lib_control *c);

/* appname.c */
int lib_ctl_app_of_endpoint(const struct lib_control *c,
                            uint64_t endpoint);
void lib_ctl_app_deliver(struct lib_control *c, unsigned app,
                         const struct baton_call_effect *e);
/* {"op":"serve"}: NULL on success, else the error message. */
const char *lib_ctl_app_serve(struct lib_session *s, const char *name);
/* After serve's answer: the calls that waited go to s, in order. */
void lib_ctl_app_flush(struct lib_session *s);
/* A new session of a held app's process group is held too. */
void lib_ctl_app_hold_new(struct lib_session *s);
/* A call for a held session: queued at its app. */
void lib_ctl_app_held_deliver(struct lib_session *s,
                              const struct baton_call_effect *e);
void lib_ctl_app_unserve(struct lib_session *s);
/* Every sweep: true while calls wait at an app or an app is held (they
 * may move any moment: the next sweep comes in LIB_CTL_SWEEP_SOON_MS). */
bool lib_ctl_app_sweep(struct lib_control *c);
void lib_ctl_sweep_soon(struct lib_control *c);
void lib_ctl_app_free(struct lib_control *c);

/* session.c: the bookkeeping requests.c shares. */
/* The JSON session whose endpoint this is, or NULL (the library's, an
 * app's, or none). */
struct lib_session *lib_ctl_session_of(const struct lib_control *c,
                                       uint64_t endpoint);
void lib_ctl_log(struct lib_control *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A call in flight, in c->calls and c->deadlines; the caller fills in
 * the rest. NULL when out of memory. */
struct lib_pending_call *lib_ctl_call_new(struct lib_control *c,
                                             uint64_t timeout_ms);
void lib_ctl_incoming_unlink(struct lib_incoming *in);
int lib_ctl_held_find(const struct lib_session *s, const char *name);

/* requests.c: answers and data. */
/* Reads "key" (text) or "key64" (base64) of req into *out (owned, free
 * with free(); NULL and 0 when neither is there). Returns NULL, or what
 * is wrong (in why, or a constant). */
const char *lib_ctl_get_data(const cJSON *req, const char *key,
                             const char *key64, size_t max, uint8_t **out,
                             size_t *len, char *why, size_t why_len);
cJSON *lib_ctl_answer(const cJSON *cid, bool ok); /* {"id":..,"ok":..} */
/* A copy of a request's id (borrowed) to answer with later, or NULL for
 * none: a number, the usual id, is copied into *slot without an
 * allocation; any other id is duplicated. Free it with
 * lib_ctl_cid_free(cid, slot). */
cJSON *lib_ctl_cid_keep(const cJSON *cid, cJSON *slot);
void lib_ctl_cid_free(cJSON *cid, cJSON *slot);
void lib_ctl_send_ok(struct lib_session *s, const cJSON *cid);
void lib_ctl_send_error(struct lib_session *s, const cJSON *cid,
                        const char *error, const char *message);
/* OK, or the code's error token ("taken") and text. */
void lib_ctl_send_code(struct lib_session *s, const cJSON *cid,
                       unsigned code);
/* "taken", "not_found": the code's name in lower case, in buf. */
const char *lib_ctl_code_token(unsigned code, char *buf, size_t len);

#endif /* BATON_LIB_SESSION_H */
