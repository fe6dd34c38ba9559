/* The control socket. Happy path: a client connects and sends one
 * request line. A text command ("status") gets one JSON document
 * followed by a newline, and the server closes. A line starting with
 * "{" is a JSON request and makes the connection a session: an endpoint
 * that exchanges JSON lines both ways until either side closes
 * (session.c). Failure modes: a text request longer than 1 KiB, or a
 * JSON line longer than 256 KiB, is answered with an error and closed; an
 * unknown command gets {"error": ...}; a client that leaves more than
 * 4 MiB of output unread is disconnected, with a warning naming its
 * endpoint. A session's output lines are gathered and written once per
 * loop iteration. */
/* struct ucred (SO_PEERCRED): who connects. */
#define _GNU_SOURCE
#include "../util/setup.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/error.h"
#include "control.h"
#include "session.h"

static const char *epoch_text(uint64_t e,
                              const char *const *names,
                              char *buf,
                              size_t len)
{
    if (e == 0) {
        return "0";
    }
    snprintf(buf, len, "%" PRIu64 ".%s", baton_epoch_term(e),
             names[baton_epoch_node(e)]);
    return buf;
}

static char *error_json(const char *msg);

/* A peer's status as it last told it: "follower of X", "joining X", or
 * its role. */
static const char *status_text(const struct baton_peer_info *pi,
                               char *buf,
                               size_t len)
{
    bool joining = strcmp(pi->role, "joining") == 0;

    if (joining || strcmp(pi->role, "follower") == 0) {
        snprintf(buf, len, "%s %s", joining ? "joining" : "follower of",
                 pi->coordinator != NULL ? pi->coordinator : "?");
        return buf;
    }
    return pi->role;
}

/* The public status queries (status.c) as the control socket's
 * "status" document, with the core's rejection counters. */
char *lib_status_json(const struct lib_control *c)
{
    const struct baton_node *n = &c->io->node;
    struct baton_status_info st;
    cJSON *root = cJSON_CreateObject();
    cJSON *peers = cJSON_AddArrayToObject(root, "peers");
    cJSON *rej = cJSON_AddObjectToObject(root, "rejected");
    char eb[300];
    char *out;

    if (baton_status_get(c->node, &st) != 0) {
        cJSON_Delete(root);
        return error_json("the node has not started");
    }
    cJSON_AddStringToObject(root, "node", st.node);
    {
        struct baton_peer_info me;
        char addr[BATON_ADDR_MAX + 8];

        if (baton_peer_get(c->node, c->io->cfg.self, &me) == 0) {
            snprintf(addr, sizeof(addr), "%s:%u", me.host, me.port);
            cJSON_AddStringToObject(root, "address", addr);
        }
    }
    cJSON_AddNumberToObject(root, "incarnation", (double)st.incarnation);
    cJSON_AddStringToObject(root, "role", st.role);
    cJSON_AddBoolToObject(root, "standby",
                          n->settings.standby[c->io->cfg.self] != 0);
    cJSON_AddBoolToObject(root, "synced", st.synced);
    if (st.coordinator == NULL) {
        cJSON_AddNullToObject(root, "coordinator");
    } else {
        cJSON_AddStringToObject(root, "coordinator", st.coordinator);
    }
    cJSON_AddStringToObject(root, "epoch",
                            epoch_text(st.epoch, c->io->names, eb, sizeof(eb)));
    cJSON_AddNumberToObject(root, "members", st.members);
    for (unsigned p = 0; p < st.n_nodes; p++) {
        struct baton_peer_info pi;
        cJSON *o;
        char addr[BATON_ADDR_MAX + 8];
        if (baton_peer_get(c->node, p, &pi) != 0 || pi.self) {
            continue;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", pi.name);
        snprintf(addr, sizeof(addr), "%s:%u", pi.host, pi.port);
        cJSON_AddStringToObject(o, "address", addr);
        cJSON_AddStringToObject(o, "link", pi.linked ? "up" : "down");
        /* The wire version negotiated on the link (docs/design/wire.md
         * §1.1); null while it is down. */
        if (pi.linked) {
            cJSON_AddNumberToObject(o, "wire", baton_io_link_wire(c->io, p));
        } else {
            cJSON_AddNullToObject(o, "wire");
        }
        cJSON_AddBoolToObject(o, "alive", pi.alive);
        cJSON_AddBoolToObject(o, "candidate", pi.candidate);
        cJSON_AddBoolToObject(o, "standby", n->settings.standby[p] != 0);
        cJSON_AddBoolToObject(
            o, "coordinator",
            st.coordinator != NULL && strcmp(st.coordinator, pi.name) == 0);
        /* What a peer that is down does now is not known: its last
         * status stays apart, as last_status, not shown as current. */
        cJSON_AddStringToObject(
            o, "role",
            pi.alive && pi.heard && pi.role != NULL ? pi.role : "unknown");
        if (pi.heard) {
            cJSON_AddNumberToObject(o, "last_seen_ms", (double)pi.last_seen_ms);
            cJSON_AddNumberToObject(o, "incarnation", (double)pi.incarnation);
            cJSON_AddStringToObject(o, pi.alive ? "status" : "last_status",
                                    status_text(&pi, eb, sizeof(eb)));
        } else {
            cJSON_AddNullToObject(o, "last_seen_ms");
        }
        if (!(pi.alive && pi.heard)) {
            cJSON_AddStringToObject(o, "status", "unknown");
        }
        cJSON_AddItemToArray(peers, o);
    }
    for (unsigned r = 0; r < BATON_REJECT__COUNT; r++) {
        if (n->counters.rejected[r] != 0) {
            cJSON_AddNumberToObject(rej, baton_reject_name(r),
                                    (double)n->counters.rejected[r]);
        }
    }
    cJSON_AddNumberToObject(root, "auth_failures", (double)st.auth_failures);
    cJSON_AddNumberToObject(root, "bad_frames", (double)st.bad_frames);
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

char *lib_apps_json(const struct lib_control *c)
{
    const struct baton_io *io = c->io;
    const struct baton_node *n = &io->node;
    cJSON *root = cJSON_CreateObject();
    cJSON *apps = cJSON_AddArrayToObject(root, "apps");
    char *out;

    for (unsigned i = 0; i < io->cfg.n_apps; i++) {
        const char *name = io->cfg.apps[i].name;
        int k = baton_state_app_find(&n->state, name);
        const struct baton_state_app *e = k >= 0 ? &n->state.apps[k] : NULL;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(
            o, "status", e ? baton_app_status_name(e->status) : "unknown");
        if (e != NULL && e->owner < io->cfg.n_nodes) {
            cJSON_AddStringToObject(o, "owner", io->names[e->owner]);
        } else {
            cJSON_AddNullToObject(o, "owner");
        }
        {
            /* A decimal string, as every epoch on the socket: a 64-bit
             * token is beyond what a JSON number carries exactly. */
            char num[24];
            snprintf(num, sizeof(num), "%" PRIu64, e ? e->epoch : 0);
            cJSON_AddStringToObject(o, "epoch", num);
        }
        cJSON_AddStringToObject(o, "start_type",
                                e ? baton_start_type_name(e->type) : "normal");
        if (e != NULL && e->from < io->cfg.n_nodes) {
            cJSON_AddStringToObject(o, "from", io->names[e->from]);
        } else {
            cJSON_AddNullToObject(o, "from");
        }
        if (c->prog.app_json != NULL) {
            c->prog.app_json(c->prog.data, i, o);
        }
        cJSON_AddBoolToObject(o, "permitted_here", n->local[i].permit);
        {
            /* The operator settings as this node has them (apps.md §7). */
            const struct baton_app_setting *set =
                baton_settings_app(&n->settings, name);
            cJSON_AddBoolToObject(o, "disabled", set != NULL && set->disabled);
            /* Pinned by batonctl move (cluster-wide), or by batonctl
             * takeover here (only this node knows of that one). */
            if (set != NULL && set->pin < io->cfg.n_nodes) {
                cJSON_AddStringToObject(o, "pinned_to", io->names[set->pin]);
                cJSON_AddStringToObject(o, "pinned_by", "move");
            } else if (n->local[i].wants) {
                cJSON_AddStringToObject(o, "pinned_to",
                                        io->names[io->cfg.self]);
                cJSON_AddStringToObject(o, "pinned_by", "takeover");
            } else {
                cJSON_AddNullToObject(o, "pinned_to");
                cJSON_AddNullToObject(o, "pinned_by");
            }
        }
        cJSON_AddItemToArray(apps, o);
    }
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

static int find_app(const struct baton_io *io, const char *name)
{
    for (unsigned i = 0; i < io->cfg.n_apps; i++) {
        if (strcmp(io->cfg.apps[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- connections ------------------------------------------------------ */

/* A session's output buffer (the loop's gathered writer, src/io/wbuf.h)
 * starts at OUT_INIT bytes, doubles on demand, and is given back once
 * written if it grew past OUT_KEEP. */
#define OUT_INIT (4u << 10)
#define OUT_KEEP (64u << 10)

/* A session that closes before its verb's answer: the answer goes
 * nowhere. */
static void verbs_forget(struct lib_control *c, const struct lib_session *s)
{
    for (size_t i = 0; i < BATON_ARRAY_LEN(c->verbs); i++) {
        if (c->verbs[i].s == s) {
            c->verbs[i].s = NULL;
        }
    }
}

static void on_session_closed(uv_handle_t *h)
{
    struct lib_session *s = h->data;
    struct lib_control *c = s->ctl;

    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        c->sessions = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    c->n_sessions--;
    c->in_bytes -= s->cap;
    verbs_forget(c, s);
    for (unsigned i = 0; i < s->n_held; i++) {
        free(s->held[i]);
    }
    free(s->held);
    free(s->buf);
    baton__wbuf_free(&s->wb);
    free(s);
}

static void close_handle(struct lib_session *s)
{
    if (!s->handle_closing) {
        /* Lines gathered before the close are not taken back: they go
         * to the socket if it takes them at once. */
        baton__wbuf_close(&s->wb, true);
        s->handle_closing = true;
        uv_close((uv_handle_t *)&s->pipe, on_session_closed);
    }
}

void lib_ctl_session_end(struct lib_session *s, bool graceful, const char *why)
{
    if (!s->closing) {
        s->closing = true;
        s->closing_ms = uv_now(s->ctl->io->loop);
        uv_read_stop((uv_stream_t *)&s->pipe);
        if (why != NULL && s->ep.id != 0) {
            lib_ctl_log(s->ctl, BATON_LOG_DEBUG,
                        "control session %" PRIu64 " closed: %s", s->ep.id,
                        why);
        }
        if (s->json) {
            lib_ctl_session_detach(s);
        }
    }
    /* A last message (an error, "name_lost") goes out before the close;
     * the sweep closes a session whose client does not take it. */
    if (!graceful || baton__wbuf_backlog(&s->wb) == 0) {
        close_handle(s);
    }
}

/* ---- output: gathered per session, written once per loop iteration -- */

/* The socket took all of s's output (status 0), or refused it. */
static void on_written(struct baton_wbuf *wb, int status)
{
    struct lib_session *s = wb->data;

    if (status != 0) {
        lib_ctl_session_end(s, false, uv_strerror(status));
    } else if (s->closing) {
        close_handle(s); /* its last lines are out */
    }
}

/* Logs and ends s when its output cannot be committed: out of memory,
 * or a client that leaves more than LIB_CTL_OUT_MAX unread. */
static void out_failed(struct lib_session *s, int rv)
{
    if (rv == BATON_EFULL) {
        lib_ctl_log(s->ctl, BATON_LOG_WARN,
                    "control session %" PRIu64
                    ": the client leaves %zu "
                    "bytes unread (limit %u): disconnected",
                    s->ep.id, baton__wbuf_backlog(&s->wb), LIB_CTL_OUT_MAX);
        lib_ctl_session_end(s, false, NULL);
    } else if (rv != BATON_ESTATE) {
        lib_ctl_session_end(s, false, "out of memory");
    }
}

/* The line of len bytes (its newline included) just written at the
 * room of s's output goes out with the rest. */
static void line_commit(struct lib_session *s, size_t len)
{
    int rv = baton__wbuf_commit(&s->wb, len);

    if (rv != 0) {
        out_failed(s, rv);
    }
}

/* Appends text (len bytes, its newline included) to s's output.
 * Borrows text. */
static void write_text(struct lib_session *s, const char *text, size_t len)
{
    int rv;

    if (s->handle_closing) {
        return;
    }
    rv = baton__wbuf_append(&s->wb, text, len);
    if (rv != 0) {
        out_failed(s, rv);
    }
}

/* Takes ownership of text; adds the newline. */
static void write_line(struct lib_session *s, char *text)
{
    size_t n;

    if (text == NULL) {
        lib_ctl_session_end(s, false, "out of memory");
        return;
    }
    n = strlen(text);
    text[n] = '\n'; /* the NUL's place: n + 1 bytes go out */
    write_text(s, text, n + 1);
    free(text);
}

/* ---- JSON straight into a session's output ---------------------------
 * The bytes cJSON_PrintUnformatted() gives (cJSON 1.7), without its
 * allocations and copies, and with integers printed without
 * sprintf/sscanf: every answer carries one (its id, a call's handle). */

struct jw {
    struct lib_session *s;
    size_t len; /* bytes written in the room of s's output */
    bool failed;
};

static char *jw_room(struct jw *w, size_t more)
{
    char *p = NULL;

    if (!w->failed) {
        p = (char *)baton__wbuf_room(&w->s->wb, w->len + more);
    }
    if (p == NULL) {
        w->failed = true;
        return NULL;
    }
    return p + w->len;
}

static void jw_put(struct jw *w, const char *p, size_t n)
{
    char *d = jw_room(w, n);

    if (d != NULL) {
        memcpy(d, p, n);
        w->len += n;
    }
}

/* As cJSON escapes: the two JSON specials, the five short escapes,
 * \u00XX for other control bytes, every other byte as is. */
static void jw_string(struct jw *w, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(str != NULL ? str : "");
    size_t n = strlen((const char *)p);
    char *start = jw_room(w, 6 * n + 2); /* at worst \u00XX each */
    char *d = start;

    if (d == NULL) {
        return;
    }
    *d++ = '"';
    for (; *p != '\0'; p++) {
        unsigned char ch = *p;
        if (ch >= 32 && ch != '"' && ch != '\\') {
            *d++ = (char)ch;
            continue;
        }
        *d++ = '\\';
        switch (ch) {
        case '"':
        case '\\':
            *d++ = (char)ch;
            break;
        case '\b':
            *d++ = 'b';
            break;
        case '\f':
            *d++ = 'f';
            break;
        case '\n':
            *d++ = 'n';
            break;
        case '\r':
            *d++ = 'r';
            break;
        case '\t':
            *d++ = 't';
            break;
        default:
            memcpy(d, "u00", 3);
            d[3] = hex[ch >> 4];
            d[4] = hex[ch & 15];
            d += 5;
            break;
        }
    }
    *d++ = '"';
    w->len += (size_t)(d - start);
}

static void jw_number(struct jw *w, double v)
{
    char buf[32];
    double back;
    double max;
    int n;

    if (isnan(v) || isinf(v)) {
        jw_put(w, "null", 4);
        return;
    }
    /* An integer below 10^15 prints as %1.15g prints it. */
    if (v == floor(v) && fabs(v) < 1e15) {
        uint64_t u = (uint64_t)fabs(v);
        char *e = buf + sizeof(buf);
        char *b = e;
        do {
            *--b = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        if (signbit(v)) {
            *--b = '-'; /* -0 too, as %g prints it */
        }
        jw_put(w, b, (size_t)(e - b));
        return;
    }
    /* cJSON's way: 15 digits if they give the number back, else 17. */
    n = snprintf(buf, sizeof(buf), "%1.15g", v);
    back = strtod(buf, NULL);
    max = fabs(back) > fabs(v) ? fabs(back) : fabs(v);
    if (fabs(back - v) > max * DBL_EPSILON) {
        n = snprintf(buf, sizeof(buf), "%1.17g", v);
    }
    jw_put(w, buf, (size_t)n);
}

/* Recursive: what is echoed (a request's id) was parsed by cJSON, whose
 * nesting is limited to CJSON_NESTING_LIMIT (1000). */
static void jw_value(struct jw *w, const cJSON *item)
{
    int type = item->type & 0xFF;
    char close = type == cJSON_Array ? ']' : '}';

    switch (type) {
    case cJSON_NULL:
        jw_put(w, "null", 4);
        return;
    case cJSON_False:
        jw_put(w, "false", 5);
        return;
    case cJSON_True:
        jw_put(w, "true", 4);
        return;
    case cJSON_Number:
        jw_number(w, item->valuedouble);
        return;
    case cJSON_String:
        jw_string(w, item->valuestring);
        return;
    case cJSON_Raw:
        if (item->valuestring == NULL) {
            w->failed = true;
            return;
        }
        jw_put(w, item->valuestring, strlen(item->valuestring));
        return;
    case cJSON_Array:
    case cJSON_Object:
        break;
    default:
        w->failed = true; /* cJSON_Invalid: cJSON fails too */
        return;
    }
    jw_put(w, type == cJSON_Array ? "[" : "{", 1);
    for (const cJSON *c = item->child; c != NULL && !w->failed; c = c->next) {
        if (c != item->child) {
            jw_put(w, ",", 1);
        }
        if (type == cJSON_Object) {
            jw_string(w, c->string);
            jw_put(w, ":", 1);
        }
        jw_value(w, c);
    }
    jw_put(w, &close, 1);
}

void lib_ctl_session_send(struct lib_session *s, cJSON *doc)
{
    struct jw w = {s, 0, doc == NULL};

    if (!s->handle_closing) {
        if (doc != NULL) {
            jw_value(&w, doc);
            jw_put(&w, "\n", 1);
        }
        if (w.failed) {
            lib_ctl_session_end(s, false, "out of memory");
        } else {
            line_commit(s, w.len);
        }
    }
    cJSON_Delete(doc);
}

/* ---- the answers and events of every call, without cJSON ---------------
 * They are most of what sessions get; built as cJSON documents they cost
 * more than the rest of the call's way through batond. Each writes the
 * bytes its cJSON document would print. */

/* Printable ASCII, \n and \t: bytes that travel as a JSON string
 * ("data") without any check; requests.c's is_text accepts them all. */
static bool plain_text(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((d[i] < 0x20 || d[i] > 0x7e) && d[i] != '\n' && d[i] != '\t') {
            return false;
        }
    }
    return true;
}

/* ,"data":"..." for plain text (escaped as cJSON escapes it). */
static void jw_data(struct jw *w, const uint8_t *d, size_t n)
{
    char *start = jw_room(w, 10 + 2 * n);
    char *p = start;

    if (p == NULL) {
        return;
    }
    memcpy(p, ",\"data\":\"", 9);
    p += 9;
    for (size_t i = 0; i < n; i++) {
        char ch = (char)d[i];
        if (ch == '"' || ch == '\\') {
            *p++ = '\\';
        } else if (ch == '\n' || ch == '\t') {
            *p++ = '\\';
            ch = ch == '\n' ? 'n' : 't';
        }
        *p++ = ch;
    }
    *p++ = '"';
    w->len += (size_t)(p - start);
}

static void jw_end(struct jw *w)
{
    jw_put(w, "}\n", 2);
    if (w->failed) {
        lib_ctl_session_end(w->s, false, "out of memory");
        return;
    }
    line_commit(w->s, w->len);
}

void lib_ctl_session_send_ok(struct lib_session *s,
                             const cJSON *cid,
                             bool with_data,
                             const uint8_t *data,
                             size_t len)
{
    struct jw w = {s, 0, false};

    if (s->handle_closing) {
        return;
    }
    if (with_data && !plain_text(data, len)) {
        cJSON *o = lib_ctl_answer(cid, true);
        lib_json_add_data(o, "data", "data64", data, len);
        lib_ctl_session_send(s, o);
        return;
    }
    if (cid != NULL) {
        jw_put(&w, "{\"id\":", 6);
        jw_value(&w, cid);
        jw_put(&w, ",\"ok\":true", 10);
    } else {
        jw_put(&w, "{\"ok\":true", 10);
    }
    if (with_data) {
        jw_data(&w, data, len);
    }
    jw_end(&w);
}

void lib_ctl_session_send_event(struct lib_session *s,
                                uint64_t call,
                                const char *name,
                                const char *from,
                                const uint8_t *data,
                                size_t len)
{
    struct jw w = {s, 0, false};

    if (s->handle_closing) {
        return;
    }
    if (!plain_text(data, len)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", call != 0 ? "call" : "message");
        if (call != 0) {
            cJSON_AddNumberToObject(o, "call", (double)call);
        }
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "from", from);
        lib_json_add_data(o, "data", "data64", data, len);
        lib_ctl_session_send(s, o);
        return;
    }
    if (call != 0) {
        jw_put(&w, "{\"event\":\"call\",\"call\":", 23);
        jw_number(&w, (double)call);
    } else {
        jw_put(&w, "{\"event\":\"message\"", 18);
    }
    jw_put(&w, ",\"name\":", 8);
    jw_string(&w, name);
    jw_put(&w, ",\"from\":", 8);
    jw_string(&w, from);
    jw_data(&w, data, len);
    jw_end(&w);
}

/* A one-shot text request: one answer, then the connection closes. */
static void reply(struct lib_session *s, char *text)
{
    write_line(s, text);
    lib_ctl_session_end(s, true, NULL);
}

static char *error_json(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    cJSON_AddStringToObject(o, "error", msg);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *ok_json(void)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    cJSON_AddBoolToObject(o, "ok", true);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int lib_control_group_json(const struct lib_control *c,
                           const char *name,
                           cJSON *o)
{
    if (c->group_json == NULL) {
        return BATON_ENOTFOUND;
    }
    return c->group_json(c->node, name, o);
}

int lib_control_group_op(struct lib_session *s,
                         const char *op,
                         const cJSON *req,
                         const cJSON *cid)
{
    struct lib_control *c = s->ctl;

    if (c->group_op == NULL) {
        return BATON_ENOTFOUND;
    }
    return c->group_op(c->node, s, op, req, cid);
}

void lib_control_group_event(struct lib_control *c,
                             const char *group,
                             const char *event,
                             const char *key,
                             const char *who,
                             uint64_t epoch,
                             const void *data,
                             size_t len)
{
    char num[24];

    if (c == NULL) {
        return;
    }
    for (struct lib_session *s = c->sessions; s != NULL; s = s->next) {
        cJSON *o;
        if (!s->json || s->closing || strcmp(s->group, group) != 0) {
            continue;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", event);
        cJSON_AddStringToObject(o, "group", group);
        if (key != NULL && who != NULL) {
            cJSON_AddStringToObject(o, key, who);
        }
        if (epoch != 0) {
            snprintf(num, sizeof(num), "%" PRIu64, epoch);
            cJSON_AddStringToObject(o, "epoch", num);
        }
        if (data != NULL) {
            lib_json_add_data(o, "data", "data64", data, len);
        }
        lib_ctl_session_send(s, o);
    }
}

/* batonctl reload: the program re-reads its config file and answers
 * what changed ("changes"), or why nothing did (docs/control.md). */
static void reload(struct lib_session *cl)
{
    static char text[16384]; /* every error of the file, file:line each */
    cJSON *o;
    char *out;

    if (cl->ctl->prog.reload == NULL) {
        reply(cl, error_json("this node's program reads no config file on "
                             "request (reload is batond's)"));
        return;
    }
    text[0] = '\0';
    if (cl->ctl->prog.reload(cl->ctl->prog.data, text, sizeof(text)) != 0) {
        reply(cl, error_json(text));
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", true);
    cJSON_AddStringToObject(o, "changes", text);
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    reply(cl, out);
}

/* node remove NAME | node add NAME ADDR [worker|witness] (docs/control.md,
 * docs/design/membership.md §2): asks the core, answered with the
 * list's new version or why not. An added node is dialed by every
 * driver at ADDR once the list reaches it (membership.md §5). */
static void handle_node(struct lib_session *cl, const char *line)
{
    struct baton_io *io = cl->ctl->io;
    struct baton_member m;
    char verb[16] = "";
    char kind[16] = "";
    char err[BATON_MEMBER_NAME_MAX + 160];
    unsigned coord;
    unsigned what = BATON_REQ_MEMBER_REMOVE;
    cJSON *o;
    int rv;
    int n;

    memset(&m, 0, sizeof(m));
    n = sscanf(line, "node %15s %255s %127s %15s", verb, m.name, m.addr, kind);
    if (n >= 2 && strcmp(verb, "remove") == 0 && n == 2) {
        what = BATON_REQ_MEMBER_REMOVE;
    } else if (n >= 3 && strcmp(verb, "add") == 0 &&
               (n == 3 || strcmp(kind, "worker") == 0 ||
                strcmp(kind, "witness") == 0)) {
        what = BATON_REQ_MEMBER_ADD;
        m.kind = n == 3                          ? BATON_MEMBER_CANDIDATE
                 : strcmp(kind, "worker") == 0 ? BATON_MEMBER_WORKER
                                                 : BATON_MEMBER_WITNESS;
    } else {
        reply(cl, error_json("node remove NAME | node add NAME ADDR "
                             "[worker|witness]"));
        return;
    }
    if (what == BATON_REQ_MEMBER_ADD) {
        char host[BATON_ADDR_MAX];
        uint16_t port;
        if (baton_io_split_addr(m.addr, host, &port) != 0) {
            reply(cl, error_json("node add: ADDR is host:port, host an IPv4 "
                                 "or IPv6 literal"));
            return;
        }
    }
    rv = baton_io_member_request(io, what, &m);
    switch (rv) {
    case 0:
        o = cJSON_CreateObject();
        if (o == NULL ||
            cJSON_AddBoolToObject(o, "ok", 1) == NULL ||
            cJSON_AddNumberToObject(
                o, "version",
                (double)baton_node_members(&io->node)->version) == NULL) {
            cJSON_Delete(o);
            reply(cl, error_json("out of memory"));
            return;
        }
        reply(cl, cJSON_PrintUnformatted(o));
        cJSON_Delete(o);
        return;
    case BATON_ENOTCOORD:
        coord = baton_node_coordinator(&io->node);
        snprintf(err, sizeof(err),
                 "not the coordinator: ask %s (membership changes are "
                 "decided there)",
                 coord < BATON_NODES_MAX && io->names[coord] != NULL
                     ? io->names[coord]
                     : "it once one is elected");
        break;
    case BATON_ESTATE:
        snprintf(err, sizeof(err),
                 "refused: the previous change has not reached every "
                 "member yet, no majority of the members is here, a "
                 "quorum app is defined, or this node was removed");
        break;
    case BATON_EINVAL:
        snprintf(err, sizeof(err),
                 what == BATON_REQ_MEMBER_ADD
                     ? "refused: %s is a member already, or its name or "
                       "address is too long"
                     : "refused: %s is not a member, or it is the "
                       "coordinator (remove it from another node once it "
                       "is not)",
                 m.name);
        break;
    default:
        snprintf(err, sizeof(err), "refused: %s", baton_strerror(rv));
        break;
    }
    reply(cl, error_json(err));
}

/* ---- operator verbs (docs/control.md "Operator verbs") ----------------- */

static const struct {
    const char *word; /* the request's */
    uint8_t kind;     /* enum baton_admin_kind */
    bool node_verb;   /* its argument is a node, not an app */
    const char *done; /* "not <done>: why" */
} verb_table[] = {
    {"move", BATON_ADMIN_MOVE, false, "moved"},
    {"unpin", BATON_ADMIN_UNPIN, false, "unpinned"},
    {"disable", BATON_ADMIN_DISABLE, false, "disabled"},
    {"enable", BATON_ADMIN_ENABLE, false, "enabled"},
    {"standby", BATON_ADMIN_STANDBY, true, "put in standby"},
    {"unstandby", BATON_ADMIN_UNSTANDBY, true, "taken out of standby"},
};

static const char *verb_word(unsigned kind)
{
    for (size_t k = 0; k < BATON_ARRAY_LEN(verb_table); k++) {
        if (verb_table[k].kind == kind) {
            return verb_table[k].word;
        }
    }
    return "?";
}

static int verb_index(const char *word)
{
    for (size_t k = 0; k < BATON_ARRAY_LEN(verb_table); k++) {
        if (strcmp(verb_table[k].word, word) == 0) {
            return (int)k;
        }
    }
    return -1;
}

/* A node by its full name (a@host) or by the part before the @, if that
 * is unambiguous; -1 if none. */
static int find_node(const struct baton_io *io, const char *name)
{
    int found = -1;
    size_t len = strlen(name);

    for (unsigned x = 0; x < io->cfg.n_nodes; x++) {
        if (strcmp(io->names[x], name) == 0) {
            return (int)x;
        }
        if (strncmp(io->names[x], name, len) == 0 && io->names[x][len] == '@') {
            if (found >= 0) {
                return -2; /* two nodes of that name on different hosts */
            }
            found = (int)x;
        }
    }
    return found;
}

static const char *node_name(const struct baton_io *io, unsigned x)
{
    return x < io->cfg.n_nodes ? io->names[x] : "nowhere";
}

/* What a verb changed, or why not, in words (the "text" of its reply). */
static void verb_text(const struct lib_control *c,
                      const struct lib_verb *v,
                      const struct baton_admin_reply *r,
                      char *buf,
                      size_t len)
{
    const struct baton_io *io = c->io;
    const char *target = node_name(io, v->node);
    const char *done = verb_table[verb_index(verb_word(v->kind))].done;
    bool was_running = r->owner < io->cfg.n_nodes;

    switch (r->code) {
    case BATON_ADMIN_OK:
        break;
    case BATON_ADMIN_UNCHANGED:
        switch (v->kind) {
        case BATON_ADMIN_MOVE:
            snprintf(buf, len, "%s already runs on %s, pinned there", v->app,
                     target);
            return;
        case BATON_ADMIN_UNPIN:
            snprintf(buf, len, "%s has no pin", v->app);
            return;
        case BATON_ADMIN_DISABLE:
        case BATON_ADMIN_ENABLE:
            snprintf(buf, len, "%s already %s", v->app, done);
            return;
        default:
            snprintf(buf, len, "node %s %s in standby", target,
                     v->kind == BATON_ADMIN_STANDBY ? "already" : "is not");
            return;
        }
    case BATON_ADMIN_NO_APP:
        snprintf(buf, len, "not %s: no app %s in the cluster", done, v->app);
        return;
    case BATON_ADMIN_NOT_DEFINED:
        snprintf(buf, len, "not %s: node %s does not define %s", done, target,
                 v->app);
        return;
    case BATON_ADMIN_DOWN:
        snprintf(buf, len, "not %s: node %s is down", done, target);
        return;
    case BATON_ADMIN_IN_STANDBY:
        snprintf(buf, len, "not %s: node %s is in standby", done, target);
        return;
    case BATON_ADMIN_NOT_PERMITTED:
        snprintf(buf, len,
                 "not %s: node %s does not permit %s (batonctl "
                 "permit)",
                 done, target, v->app);
        return;
    case BATON_ADMIN_FAILED_THERE:
        snprintf(buf, len,
                 "not %s: %s failed on node %s (batonctl permit "
                 "%s true there forgives it)",
                 done, v->app, target, v->app);
        return;
    case BATON_ADMIN_IS_DISABLED:
        snprintf(buf, len, "not %s: %s is disabled", done, v->app);
        return;
    case BATON_ADMIN_TIMEOUT:
        snprintf(buf, len,
                 "no answer from the coordinator: %s may or may "
                 "not be %s (see batonctl apps)",
                 v->app[0] ? v->app : target, done);
        return;
    default:
        snprintf(buf, len, "not %s: %s", done, baton_admin_code_text(r->code));
        return;
    }
    switch (v->kind) {
    case BATON_ADMIN_MOVE:
        if (was_running && r->owner != v->node) {
            snprintf(buf, len, "moved %s from %s to %s", v->app,
                     io->names[r->owner], target);
        } else if (was_running) {
            snprintf(buf, len, "%s pinned to %s, where it runs", v->app,
                     target);
        } else {
            snprintf(buf, len, "moved %s to %s (it ran nowhere)", v->app,
                     target);
        }
        return;
    case BATON_ADMIN_UNPIN:
        snprintf(buf, len,
                 "%s unpinned (was pinned to %s): its priority "
                 "list places it",
                 v->app, node_name(io, r->pin));
        return;
    case BATON_ADMIN_DISABLE:
        if (was_running) {
            snprintf(buf, len, "%s disabled (was running on %s)", v->app,
                     io->names[r->owner]);
        } else {
            snprintf(buf, len, "%s disabled (was %s)", v->app,
                     baton_app_status_name(r->status));
        }
        return;
    case BATON_ADMIN_ENABLE:
        snprintf(buf, len, "%s enabled", v->app);
        return;
    case BATON_ADMIN_STANDBY:
        snprintf(buf, len, "node %s in standby: its apps move away", target);
        return;
    default:
        snprintf(buf, len, "node %s out of standby", target);
        return;
    }
}

void lib_control_admin_effect(struct lib_control *c,
                              const struct baton_admin_reply *r)
{
    for (size_t i = 0; i < BATON_ARRAY_LEN(c->verbs); i++) {
        struct lib_verb *v = &c->verbs[i];
        char text[256];
        cJSON *o;
        char *out;
        if (v->id == 0 || v->id != r->id) {
            continue;
        }
        if (v->s != NULL) {
            verb_text(c, v, r, text, sizeof(text));
            o = cJSON_CreateObject();
            cJSON_AddBoolToObject(
                o, "ok",
                r->code == BATON_ADMIN_OK || r->code == BATON_ADMIN_UNCHANGED);
            cJSON_AddBoolToObject(o, "changed", r->code == BATON_ADMIN_OK);
            cJSON_AddStringToObject(o, "code", baton_admin_code_name(r->code));
            cJSON_AddStringToObject(o, "text", text);
            out = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            reply(v->s, out);
        }
        lib_ctl_log(
            c, r->code == BATON_ADMIN_OK ? BATON_LOG_INFO : BATON_LOG_DEBUG,
            "operator verb %s %s: %s", verb_word(v->kind),
            v->app[0] ? v->app : node_name(c->io, v->node),
            baton_admin_code_name(r->code));
        v->id = 0;
        v->s = NULL;
    }
}

/* move APP NODE | unpin APP | disable APP | enable APP | standby NODE |
 * unstandby NODE: sent to the coordinator; the session is answered when
 * the answer comes (lib_control_admin_effect). */
static void handle_verb(struct lib_session *cl,
                        int k,
                        const char *arg,
                        const char *val)
{
    struct lib_control *c = cl->ctl;
    struct baton_admin_req q;
    struct lib_verb *v = NULL;
    const char *node_arg = verb_table[k].node_verb ? arg : val;
    char err[200];
    int x = BATON_NODE_NONE;
    int rv;

    memset(&q, 0, sizeof(q));
    if (arg[0] == '\0' ||
        (verb_table[k].kind == BATON_ADMIN_MOVE && val[0] == '\0')) {
        snprintf(err, sizeof(err), "%s %s", verb_table[k].word,
                 verb_table[k].node_verb                  ? "NODE"
                 : verb_table[k].kind == BATON_ADMIN_MOVE ? "APP NODE"
                                                          : "APP");
        reply(cl, error_json(err));
        return;
    }
    if (!verb_table[k].node_verb && strlen(arg) > BATON_APP_NAME_MAX) {
        reply(cl, error_json("an app's name is at most 31 bytes"));
        return;
    }
    if (verb_table[k].node_verb || verb_table[k].kind == BATON_ADMIN_MOVE) {
        x = find_node(c->io, node_arg);
        if (x < 0) {
            snprintf(err, sizeof(err), "%s node \"%.64s\"",
                     x == -2 ? "ambiguous" : "unknown", node_arg);
            reply(cl, error_json(err));
            return;
        }
    }
    for (size_t i = 0; i < BATON_ARRAY_LEN(c->verbs); i++) {
        if (c->verbs[i].id == 0) {
            v = &c->verbs[i];
            break;
        }
    }
    if (v == NULL) {
        reply(cl, error_json("too many operator verbs under way here"));
        return;
    }
    q.id = lib_ctl_new_id(c);
    q.kind = verb_table[k].kind;
    q.node = (uint8_t)x;
    if (!verb_table[k].node_verb) {
        snprintf(q.name, sizeof(q.name), "%s", arg);
    }
    /* Registered first: on the coordinator the answer comes during the
     * call. */
    v->id = q.id;
    v->s = cl;
    v->kind = q.kind;
    v->node = q.node;
    memcpy(v->app, q.name, sizeof(v->app));
    rv = baton_io_admin(c->io, &q);
    if (rv != 0 && v->id == q.id) {
        v->id = 0;
        v->s = NULL;
        snprintf(err, sizeof(err), "%s: %s", verb_table[k].word,
                 baton_strerror(rv));
        reply(cl, error_json(err));
    }
}

/* Text requests: status | apps | leader GROUP | permit APP true|false |
 * takeover APP | ready APP | node remove NAME (docs/control.md). */
static void handle(struct lib_session *cl, const char *line)
{
    struct baton_io *io = cl->ctl->io;
    char cmd[32] = "";
    char arg[64] = "";
    char val[16] = "";
    char err[160];
    int app;

    if (sscanf(line, "%31s %63s %15s", cmd, arg, val) < 1) {
        reply(cl, error_json("empty request"));
        return;
    }
    if (strcmp(cmd, "status") == 0) {
        reply(cl, lib_status_json(cl->ctl));
        return;
    }
    if (strcmp(cmd, "apps") == 0) {
        reply(cl, lib_apps_json(cl->ctl));
        return;
    }
    if (strcmp(cmd, "leader") == 0) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || lib_control_group_json(cl->ctl, arg, o) != 0) {
            cJSON_Delete(o);
            snprintf(err, sizeof(err), "no leader group \"%s\" here", arg);
            reply(cl, error_json(err));
            return;
        }
        reply(cl, cJSON_PrintUnformatted(o));
        cJSON_Delete(o);
        return;
    }
    if (cl->read_only) {
        reply(cl, error_json("denied: the read-only socket answers "
                             "status, apps, leader, and the JSON ops "
                             "whereis, names, leader"));
        return;
    }
    if (strcmp(cmd, "node") == 0) {
        handle_node(cl, line);
        return;
    }
    if (strcmp(cmd, "drain") == 0) {
        if (cl->ctl->prog.drain == NULL) {
            reply(cl, error_json("this node's program does not stop on "
                                 "request (drain is batond's)"));
            return;
        }
        /* Answered first: the node closes this session as it stops. */
        reply(cl, ok_json());
        cl->ctl->prog.drain(cl->ctl->prog.data);
        return;
    }
    if (strcmp(cmd, "reload") == 0) {
        reload(cl);
        return;
    }
    if (verb_index(cmd) >= 0) {
        handle_verb(cl, verb_index(cmd), arg, val);
        return;
    }
    if (strcmp(cmd, "permit") != 0 && strcmp(cmd, "takeover") != 0 &&
        strcmp(cmd, "ready") != 0) {
        reply(cl, error_json("unknown command (known: status, apps, leader, "
                             "permit, takeover, ready, drain, reload, node, "
                             "move, unpin, disable, enable, standby, "
                             "unstandby; a line starting with { is a JSON "
                             "request)"));
        return;
    }
    app = find_app(io, arg);
    if (app < 0) {
        snprintf(err, sizeof(err), "unknown app \"%s\"", arg);
        reply(cl, error_json(err));
        return;
    }
    if (strcmp(cmd, "permit") == 0) {
        if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0) {
            reply(cl, error_json("permit APP true|false"));
            return;
        }
        baton_io_request(io, (unsigned)app, BATON_REQ_PERMIT,
                         strcmp(val, "true") == 0);
        /* An operator's permit survives a restart (apps.md §7); a
         * graceful stop's own permit false (baton_app_permit) does not. */
        if (cl->ctl->settings_save != NULL) {
            cl->ctl->settings_save(cl->ctl->node);
        }
    } else if (strcmp(cmd, "takeover") == 0) {
        /* A move's pin outranks a takeover's (apps.md §7): say so
         * rather than answer ok and leave the app where it is. */
        const struct baton_app_setting *set =
            baton_settings_app(&io->node.settings, arg);
        if (set != NULL && set->pin < io->cfg.n_nodes &&
            set->pin != io->cfg.self) {
            snprintf(err, sizeof(err),
                     "not taken over: %s is pinned to %s (batonctl unpin "
                     "%s, or move %s here)",
                     arg, io->names[set->pin], arg, arg);
            reply(cl, error_json(err));
            return;
        }
        baton_io_request(io, (unsigned)app, BATON_REQ_TAKEOVER, 0);
    } else if (cl->ctl->prog.ready == NULL ||
               cl->ctl->prog.ready(cl->ctl->prog.data, (unsigned)app) != 0) {
        snprintf(err, sizeof(err),
                 "app %s is not waiting for batonctl ready here", arg);
        reply(cl, error_json(err));
        return;
    }
    reply(cl, ok_json());
}

/* The first line decides what the connection is: a JSON session gets an
 * endpoint and its table entry. */
static bool become_session(struct lib_session *s)
{
    struct lib_control *c = s->ctl;

    s->json = true;
    s->ep.id = lib_ctl_new_id(c);
    s->ep.owner = LIB_OWNER_SESSION;
    if (lib_idmap_put(c->endpoints, s->ep.id, &s->ep) != 0) {
        s->ep.id = 0;
        s->json = false;
        lib_ctl_session_end(s, false, "out of memory");
        return false;
    }
    lib_ctl_log(c, BATON_LOG_DEBUG, "control session %" PRIu64 " opened",
                s->ep.id);
    return true;
}

static size_t line_max(const struct lib_session *s)
{
    return s->json || (s->len > 0 && s->buf[0] == '{') ? LIB_CTL_LINE_MAX
                                                       : LIB_CTL_TEXT_LINE_MAX;
}

/* Counts one bite of a limit; logs it at most once a second, with how
 * often it bit since the last line. */
static void limit_bit(struct lib_control *c,
                      struct lib_limit_log *l,
                      const char *what)
{
    uint64_t now = uv_now(c->io->loop);

    l->count++;
    if (l->last_ms != 0 && now - l->last_ms < LIB_CTL_WARN_EVERY_MS) {
        return;
    }
    lib_ctl_log(c, BATON_LOG_WARN,
                "control socket: %s (%u time%s since "
                "the last such warning)",
                what, l->count, l->count == 1 ? "" : "s");
    l->last_ms = now;
    l->count = 0;
}

/* Ends s after a last error line (docs/control.md "Limits"). */
static void refuse(struct lib_session *s,
                   const char *error,
                   const char *message)
{
    char line[320];
    int n = snprintf(line, sizeof(line),
                     "{\"ok\":false,\"error\":\"%s\",\"message\":\"%s\"}\n",
                     error, message);

    write_text(s, line, BATON_MIN((size_t)n, sizeof(line) - 1));
    lib_ctl_session_end(s, true, message);
}

#define IN_KEEP (2u * 65536)

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct lib_session *s = h->data;
    struct lib_control *c = s->ctl;
    size_t want = BATON_MIN(LIB_CTL_LINE_MAX + 1, s->len + 65536);

    (void)suggested;
    /* Unfinished lines of every session share one budget: past it, a
     * session that needs more gets none (UV_ENOBUFS in on_read). */
    if (s->cap < want && c->in_bytes - s->cap + want <= LIB_CTL_IN_TOTAL_MAX) {
        char *nb = realloc(s->buf, want);
        if (nb != NULL) {
            c->in_bytes += want - s->cap;
            s->buf = nb;
            s->cap = want;
        }
    }
    if (s->buf == NULL) {
        /* Over the budget before this session had any buffer: no room
         * (libuv then reports UV_ENOBUFS), and no offset from NULL. */
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init(s->buf + s->len, (unsigned)(s->cap - s->len));
}

/* Handles every complete line in the buffer, keeps the rest. */
static void take_lines(struct lib_session *s)
{
    size_t start = 0;
    char *nl;

    while (!s->closing &&
           (nl = memchr(s->buf + start, '\n', s->len - start)) != NULL) {
        char *line = s->buf + start;
        size_t n = (size_t)(nl - line);
        start += n + 1;
        if (n > 0 && line[n - 1] == '\r') {
            n--;
        }
        line[n] = '\0';
        if (n > line_max(s)) {
            start -= (size_t)(nl - line) + 1;
            break; /* answered below */
        }
        if (!s->json && line[0] != '{') {
            handle(s, line);
            return;
        }
        if (!s->json && !become_session(s)) {
            return;
        }
        if (n > 0) {
            lib_ctl_session_request(s, line, n);
        }
    }
    if (s->closing) {
        return;
    }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    if (s->len > line_max(s)) {
        char msg[96];
        if (!s->json) {
            if (s->buf[0] != '{') {
                reply(s, error_json("request too long"));
                return;
            }
            if (!become_session(s)) {
                return;
            }
        }
        snprintf(msg, sizeof(msg),
                 "{\"ok\":false,\"error\":\"invalid\",\"message\":\"request "
                 "line longer than %u bytes\"}",
                 LIB_CTL_LINE_MAX);
        write_line(s, strdup(msg));
        lib_ctl_session_end(s, true, "request line too long");
    }
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct lib_session *s = st->data;
    bool ended;

    (void)buf;
    if (s->closing) {
        return;
    }
    if (nread == UV_ENOBUFS) {
        limit_bit(s->ctl, &s->ctl->in_log,
                  "unfinished requests fill 64 MiB: a session disconnected");
        refuse(s, "busy", "the control socket's input buffers are full");
        return;
    }
    if (nread < 0) {
        lib_ctl_session_end(
            s, false,
            nread == UV_EOF ? "closed by the client" : uv_strerror((int)nread));
        return;
    }
    if (nread == 0) {
        return; /* EAGAIN: nothing read */
    }
    ended = memchr(s->buf + s->len, '\n', (size_t)nread) != NULL;
    s->len += (size_t)nread;
    take_lines(s);
    if (s->closing) {
        return;
    }
    if (ended) { /* what is left began with this read */
        s->waiting_since_ms = s->len > 0 ? uv_now(st->loop) : 0;
    }
    if (s->len == 0 && s->json) {
        s->waiting_since_ms = 0;
        /* A long line's buffer is not kept; the usual one (64 KiB plus
         * a partial line, on_alloc) is, or pipelined requests would
         * free and allocate it on every read. */
        if (s->cap > IN_KEEP) {
            s->ctl->in_bytes -= s->cap;
            free(s->buf);
            s->buf = NULL;
            s->cap = 0;
        }
    } else if (s->waiting_since_ms == 0) {
        s->waiting_since_ms = uv_now(st->loop);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct lib_control *c = server->data;
    struct lib_session *s;

    if (c->closing) {
        return;
    }
    if (status != 0) {
        /* Out of fds (EMFILE): libuv sheds the connection itself. */
        char what[128];
        snprintf(what, sizeof(what), "cannot accept a connection: %s",
                 uv_strerror(status));
        limit_bit(c, &c->accept_log, what);
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        limit_bit(c, &c->accept_log,
                  "cannot accept a connection: out of "
                  "memory");
        return;
    }
    s->ctl = c;
    s->read_only = server == (uv_stream_t *)&c->pipe_ro;
    s->waiting_since_ms = uv_now(server->loop);
    c->n_sessions++;
    uv_pipe_init(server->loop, &s->pipe, 0);
    s->pipe.data = s;
    baton__wbuf_init(&s->wb, &c->io->wflush, (uv_stream_t *)&s->pipe, OUT_INIT,
                     OUT_KEEP, LIB_CTL_OUT_MAX, on_written, s);
    s->next = c->sessions;
    if (c->sessions != NULL) {
        c->sessions->prev = s;
    }
    c->sessions = s;
    if (uv_accept(server, (uv_stream_t *)&s->pipe) != 0 ||
        uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read) != 0) {
        s->closing = true;
        close_handle(s);
        return;
    }
    {
        /* Who connects: a session of an app's instance is held with it
         * while its takeover exports (appname.c). */
        struct ucred cred;
        socklen_t cred_len = sizeof(cred);
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&s->pipe, &fd) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0) {
            s->peer_pid = cred.pid;
            lib_ctl_app_hold_new(s);
        }
    }
    if (c->n_sessions > LIB_CTL_SESSIONS_MAX) {
        limit_bit(c, &c->refused_log,
                  "512 connections open: a new one refused");
        refuse(s, "busy", "too many control connections (512)");
    }
}

static void on_sweep(uv_timer_t *t)
{
    struct lib_control *c = t->data;
    uint64_t now = uv_now(c->io->loop);

    for (struct lib_session *s = c->sessions; s != NULL; s = s->next) {
        if (s->closing && !s->handle_closing &&
            now - s->closing_ms >= LIB_CTL_CLOSING_MS) {
            close_handle(s);
        } else if (!s->closing && s->waiting_since_ms != 0 &&
                   now - s->waiting_since_ms >= LIB_CTL_LINE_IDLE_MS) {
            limit_bit(c, &c->idle_log,
                      "a request line unfinished after "
                      "10 s: its connection closed");
            refuse(s, "invalid", "a request line unfinished after 10 s");
        }
    }
    if (lib_ctl_app_sweep(c)) {
        lib_ctl_sweep_soon(c);
    }
}

void lib_ctl_sweep_soon(struct lib_control *c)
{
    if (!c->closing) {
        uv_timer_start(&c->sweep, on_sweep, LIB_CTL_SWEEP_SOON_MS,
                       LIB_CTL_SWEEP_MS);
    }
}

/* Is a live batond answering at path? */
static bool someone_listens(const char *path)
{
    struct sockaddr_un sa = {0};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool yes;

    if (fd < 0) {
        return false;
    }
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    yes = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return yes;
}

/* Does another node listen at path? Then err says so. */
static bool in_use(const char *path, char *err, size_t err_len)
{
    if (!someone_listens(path)) {
        return false;
    }
    snprintf(err, err_len, "control socket %s: another node is running there",
             path);
    return true;
}

/* Replaces a stale file at path (left by a killed node: the caller made
 * sure nobody listens there) with a socket of the given mode (and group
 * gid if group_set), listening for c. It is created 0600 and only then
 * opened up, never wider than meant. Errors: BATON_EIO, with a message
 * in err. */
static int listen_at(struct lib_control *c, uv_pipe_t *pipe, const char *path,
                     mode_t mode, bool group_set, uint32_t gid, char *err,
                     size_t err_len)
{
    mode_t old;
    int rv;

    unlink(path);
    uv_pipe_init(c->io->loop, pipe, 0);
    pipe->data = c;
    old = umask(0177);
    rv = uv_pipe_bind(pipe, path);
    umask(old);
    if (rv == 0 && group_set && chown(path, (uid_t)-1, (gid_t)gid) != 0) {
        rv = uv_translate_sys_error(errno);
    }
    if (rv == 0 && chmod(path, mode) != 0) {
        rv = uv_translate_sys_error(errno);
    }
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)pipe, 128, on_connection);
    }
    if (rv != 0) {
        snprintf(err, err_len, "control socket %s: %s", path,
                 uv_strerror(rv));
        return BATON_EIO;
    }
    return 0;
}

int lib_control_start(struct lib_control *c, struct baton_io *io,
                      const char *path, char *err, size_t err_len)
{
    /* set by the caller beforehand */
    struct lib_control_program prog = c->prog;
    const char *gname[BATON_APPS_MAX];
    const char *address[BATON_APPS_MAX];
    uint64_t *ids = c->ids;
    struct lib_deadlines *deadlines = c->deadlines;
    struct lib_idmap *calls = c->calls;
    struct lib_idmap *endpoints = c->endpoints;
    struct lib_idmap *writes = c->writes;
    struct lib_defers *defers = c->defers;
    struct baton *node = c->node;
    int (*group_json)(struct baton *, const char *, cJSON *) = c->group_json;
    int (*group_op)(struct baton *, struct lib_session *, const char *,
                    const cJSON *, const cJSON *) = c->group_op;
    void (*settings_save)(struct baton *) = c->settings_save;

    memcpy(gname, c->gname, sizeof(gname));
    memcpy(address, c->address, sizeof(address));
    memset(c, 0, sizeof(*c));
    c->io = io;
    c->prog = prog;
    memcpy(c->gname, gname, sizeof(gname));
    memcpy(c->address, address, sizeof(address));
    c->ids = ids;
    c->deadlines = deadlines;
    c->calls = calls;
    c->endpoints = endpoints;
    c->writes = writes;
    c->defers = defers;
    c->node = node;
    c->group_json = group_json;
    c->group_op = group_op;
    c->settings_save = settings_save;
    snprintf(c->path, sizeof(c->path), "%s", path);
    if (in_use(path, err, err_len)) {
        return BATON_EIO;
    }
    c->open = true;
    uv_timer_init(io->loop, &c->sweep);
    c->sweep.data = c;
    uv_timer_start(&c->sweep, on_sweep, LIB_CTL_SWEEP_MS, LIB_CTL_SWEEP_MS);
    /* The sweep alone must not keep a stopping batond's loop alive. */
    uv_unref((uv_handle_t *)&c->sweep);
    return listen_at(c, &c->pipe, path, 0600, false, 0, err, err_len);
}

static void on_helper_closed(uv_handle_t *h)
{
    (void)h;
}

int lib_control_start_ro(struct lib_control *c, const char *path,
                         bool group_set, uint32_t gid, char *err,
                         size_t err_len)
{
    snprintf(c->path_ro, sizeof(c->path_ro), "%s", path);
    if (in_use(path, err, err_len)) {
        return BATON_EIO;
    }
    c->ro_open = true;
    return listen_at(c, &c->pipe_ro, path, group_set ? 0660 : 0666,
                     group_set, gid, err, err_len);
}

void lib_control_close(struct lib_control *c, uv_close_cb cb)
{
    if (!c->open) {
        return;
    }
    c->open = false;
    c->closing = true;
    for (struct lib_session *s = c->sessions; s != NULL; s = s->next) {
        lib_ctl_session_end(s, false, "the node is stopping");
    }
    lib_ctl_session_close_all(c);
    lib_ctl_app_free(c);
    uv_close((uv_handle_t *)&c->sweep, on_helper_closed);
    if (c->ro_open) {
        c->ro_open = false;
        uv_close((uv_handle_t *)&c->pipe_ro, on_helper_closed);
        unlink(c->path_ro);
    }
    uv_close((uv_handle_t *)&c->pipe, cb);
    unlink(c->path);
}

bool lib_control_owns_endpoint(const struct lib_control *c, uint64_t endpoint)
{
    return lib_ctl_session_of(c, endpoint) != NULL ||
           lib_ctl_app_of_endpoint(c, endpoint) >= 0;
}
