/* JSON requests of control sessions: each op checked and carried out,
 * and the data helpers (text or base64). The protocol is in
 * docs/control.md; session.c has the core's side. */
#include "../util/setup.h"

#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "session.h"

static const char *const name_error =
    "name must be 1-127 printable ASCII bytes without spaces";

/* ---- data: text or base64 ------------------------------------------- */

/* Reads "key" (text) or "key64" (base64) of req: *data is the bytes
 * (NULL and 0 when neither is there), borrowed from req for text and
 * owned for base64, in which case *owned is set to them too (free with
 * free(); NULL otherwise). A call's text data is thus not copied on its
 * way from the request line to the frame. Returns NULL, or what is
 * wrong. */
static const char *data_view(const cJSON *req, const char *key,
                             const char *key64, size_t max,
                             const uint8_t **data, size_t *len,
                             uint8_t **owned, char *why, size_t why_len)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, key);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(req, key64);
    const char *end = NULL;
    size_t n;

    *data = *owned = NULL;
    *len = 0;
    if (t != NULL && b != NULL) {
        snprintf(why, why_len, "give %s or %s, not both", key, key64);
        return why;
    }
    if (t != NULL) {
        if (!cJSON_IsString(t)) {
            snprintf(why, why_len, "%s must be a string", key);
            return why;
        }
        n = strlen(t->valuestring);
        if (n > max) {
            snprintf(why, why_len, "%s must be at most %zu bytes", key,
                     max);
            return why;
        }
        *data = (const uint8_t *)t->valuestring;
        *len = n;
        return NULL;
    }
    if (b == NULL) {
        return NULL;
    }
    if (!cJSON_IsString(b)) {
        snprintf(why, why_len, "%s must be a base64 string", key64);
        return why;
    }
    n = strlen(b->valuestring);
    *owned = malloc(n / 4 * 3 + 3);
    if (*owned == NULL) {
        return "out of memory";
    }
    if (sodium_base642bin(*owned, n / 4 * 3 + 3, b->valuestring, n, NULL, len,
                          &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b->valuestring + n || *len > max) {
        free(*owned);
        *owned = NULL;
        *len = 0;
        snprintf(why, why_len,
                 "%s must be base64 (with padding) of at most %zu "
                 "bytes",
                 key64, max);
        return why;
    }
    *data = *owned;
    return NULL;
}

/* data_view() into bytes the caller owns (free with free()). */
static const char *get_data(const cJSON *req, const char *key,
                            const char *key64, size_t max, uint8_t **out,
                            size_t *len, char *why, size_t why_len)
{
    const uint8_t *data;
    const char *err = data_view(req, key, key64, max, &data, len, out, why,
                                why_len);

    if (err != NULL || data == NULL || *out != NULL) {
        return err;
    }
    *out = malloc(*len + 1);
    if (*out == NULL) {
        *len = 0;
        return "out of memory";
    }
    memcpy(*out, data, *len + 1); /* text: its NUL too */
    return NULL;
}

const char *lib_ctl_get_data(const cJSON *req, const char *key,
                             const char *key64, size_t max, uint8_t **out,
                             size_t *len, char *why, size_t why_len)
{
    return get_data(req, key, key64, max, out, len, why, why_len);
}

/* ---- answers ------------------------------------------------------- */

cJSON *lib_ctl_cid_keep(const cJSON *cid, cJSON *slot)
{
    if (cid == NULL) {
        return NULL;
    }
    if (!cJSON_IsNumber(cid)) {
        return cJSON_Duplicate(cid, true);
    }
    memset(slot, 0, sizeof(*slot));
    slot->type = cJSON_Number;
    slot->valuedouble = cid->valuedouble;
    slot->valueint = cid->valueint;
    return slot;
}

void lib_ctl_cid_free(cJSON *cid, cJSON *slot)
{
    if (cid != slot) {
        cJSON_Delete(cid);
    }
}

cJSON *lib_ctl_answer(const cJSON *cid, bool ok)
{
    cJSON *o = cJSON_CreateObject();

    if (cid != NULL) {
        cJSON_AddItemToObject(o, "id", cJSON_Duplicate(cid, true));
    }
    cJSON_AddBoolToObject(o, "ok", ok);
    return o;
}

void lib_ctl_send_ok(struct lib_session *s, const cJSON *cid)
{
    lib_ctl_session_send(s, lib_ctl_answer(cid, true));
}

void lib_ctl_send_error(struct lib_session *s, const cJSON *cid,
                        const char *error, const char *message)
{
    cJSON *o = lib_ctl_answer(cid, false);

    cJSON_AddStringToObject(o, "error", error);
    if (message != NULL) {
        cJSON_AddStringToObject(o, "message", message);
    }
    lib_ctl_session_send(s, o);
}

/* The code's token, lower case: "taken", "not_found". */
const char *lib_ctl_code_token(unsigned code, char *buf, size_t len)
{
    const char *n = baton_name_code_name(code);
    size_t i;

    for (i = 0; n != NULL && n[i] != '\0' && i + 1 < len; i++) {
        buf[i] = (char)tolower((unsigned char)n[i]);
    }
    buf[i] = '\0';
    return buf;
}

void lib_ctl_send_code(struct lib_session *s, const cJSON *cid,
                       unsigned code)
{
    char tok[32];

    if (code == BATON_NAME_OK) {
        lib_ctl_send_ok(s, cid);
    } else {
        lib_ctl_send_error(s, cid, lib_ctl_code_token(code, tok, sizeof(tok)),
                           baton_name_code_text(code));
    }
}

/* ---- requests --------------------------------------------------------- */

/* The "name" member, checked. Returns NULL after answering s. */
static const char *req_name(struct lib_session *s, const cJSON *req,
                            const cJSON *cid)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(req, "name");

    if (!cJSON_IsString(n) ||
        baton_name_check(n->valuestring, strlen(n->valuestring)) != 0) {
        lib_ctl_send_error(s, cid, "invalid", name_error);
        return NULL;
    }
    return n->valuestring;
}

/* Checks register/reregister's fields into nr (meta, resolver, the
 * one-name rule). Returns false after answering s. */
static bool check_write(struct lib_session *s, const cJSON *req,
                        const cJSON *cid, const char *name,
                        struct baton_name_req *nr)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(req, "resolver");
    const cJSON *multi = cJSON_GetObjectItemCaseSensitive(req, "multi");
    uint8_t *meta = NULL;
    size_t meta_len = 0;
    char buf[128];
    const char *why = get_data(req, "meta", "meta64", BATON_GNAME_META_MAX,
                               &meta, &meta_len, buf, sizeof(buf));
    int r = BATON_RESOLVE_KEEP_INCUMBENT;

    if (why != NULL) {
        lib_ctl_send_error(s, cid, "invalid", why);
        return false;
    }
    if (meta_len > 0) {
        memcpy(nr->meta, meta, meta_len);
    }
    nr->meta_len = (uint16_t)meta_len;
    free(meta);
    if (res != NULL && (!cJSON_IsString(res) ||
                        (r = baton_resolver_parse(res->valuestring)) < 0)) {
        lib_ctl_send_error(s, cid, "invalid",
                           "resolver must be keep_incumbent, random_exit, "
                           "random_notify or notify_all");
        return false;
    }
    nr->resolver = (uint8_t)r;
    if (multi != NULL && !cJSON_IsBool(multi)) {
        lib_ctl_send_error(s, cid, "invalid", "multi must be true or false");
        return false;
    }
    /* One name per endpoint unless it asks for more (issue: "one name
     * per owner unless the owner asks for more"). */
    if (!cJSON_IsTrue(multi) &&
        s->n_held + s->n_registering >
            (lib_ctl_held_find(s, name) >= 0 ? 1u : 0u)) {
        lib_ctl_send_code(s, cid, BATON_NAME_HAS_NAME);
        return false;
    }
    if (s->n_held + s->n_registering >= LIB_CTL_HELD_MAX) {
        lib_ctl_send_error(s, cid, "full",
                           "a session holds at most 4096 names");
        return false;
    }
    return true;
}

static void op_write(struct lib_session *s, const cJSON *req,
                     const cJSON *cid, unsigned kind)
{
    struct lib_control *c = s->ctl;
    const char *name = req_name(s, req, cid);
    const cJSON *qj = cJSON_GetObjectItemCaseSensitive(req, "quorum");
    struct baton_name_req nr = {0};
    struct lib_pending_write *w;

    if (name == NULL) {
        return;
    }
    if (qj != NULL && !cJSON_IsBool(qj)) {
        lib_ctl_send_error(s, cid, "invalid", "quorum must be true or false");
        return;
    }
    /* A quorum name (quorum.md §6): an entry of the Raft log, answered
     * once committed, at the leader only (elsewhere "unavailable");
     * no metadata, no resolver, and it outlives the session. */
    nr.quorum = cJSON_IsTrue(qj) ? 1 : 0;
    if (nr.quorum && kind == BATON_NAME_REREGISTER) {
        lib_ctl_send_error(s, cid, "invalid",
                           "a quorum name is registered or unregistered");
        return;
    }
    if (!nr.quorum && kind != BATON_NAME_UNREGISTER &&
        !check_write(s, req, cid, name, &nr)) {
        return;
    }
    w = s->n_writes < LIB_CTL_WRITES_MAX ? calloc(1, sizeof(*w)) : NULL;
    if (w == NULL) {
        lib_ctl_send_error(s, cid, "busy",
                           s->n_writes < LIB_CTL_WRITES_MAX
                               ? "out of memory"
                               : "1024 name writes in flight on this "
                                 "session");
        return;
    }
    w->op.id = lib_ctl_new_id(c);
    w->op.owner = LIB_OWNER_SESSION;
    w->op.kind = (uint8_t)kind;
    w->endpoint = s->ep.id;
    w->app = -1;
    w->quorum = nr.quorum != 0;
    w->cid = cid != NULL ? cJSON_Duplicate(cid, true) : NULL;
    snprintf(w->name, sizeof(w->name), "%s", name);
    if (lib_idmap_put(c->writes, w->op.id, w) != 0) {
        cJSON_Delete(w->cid);
        free(w);
        lib_ctl_send_error(s, cid, "busy", "out of memory");
        return;
    }
    nr.id = w->op.id;
    nr.kind = (uint8_t)kind;
    nr.endpoint = s->ep.id;
    snprintf(nr.name, sizeof(nr.name), "%s", name);
    s->n_writes++;
    if (kind != BATON_NAME_UNREGISTER && !nr.quorum) {
        s->n_registering++;
        s->named = true;
    }
    /* The answer may come during this very call. */
    lib_ctl_io_name(c, &nr);
}

static cJSON *entry_json(const struct lib_control *c,
                         const struct baton_name *e, cJSON *o)
{
    char num[32];

    cJSON_AddStringToObject(o, "name", e->name);
    cJSON_AddStringToObject(o, "node", e->owner < c->io->cfg.n_nodes
                                           ? c->io->names[e->owner]
                                           : "?");
    snprintf(num, sizeof(num), "%" PRIu64, e->endpoint);
    cJSON_AddRawToObject(o, "endpoint", num);
    snprintf(num, sizeof(num), "%" PRIu64, e->epoch);
    cJSON_AddStringToObject(o, "epoch", num);
    lib_json_add_data(o, "meta", "meta64", e->meta,
                     BATON_MIN(e->meta_len, BATON_GNAME_META_MAX));
    cJSON_AddStringToObject(o, "resolver", baton_resolver_name(e->resolver));
    return o;
}

/* whereis of a quorum name (quorum.md §6): the leader's lease read at
 * the clock now (libuv's cached loop time may lag: the lease is checked
 * against the later of the two), else "unavailable". */
static void op_qwhereis(struct lib_session *s,
                        const char *name,
                        const cJSON *cid)
{
    const struct baton_node *n = &s->ctl->io->node;
    uint64_t now = BATON_MAX(uv_hrtime() / 1000000, n->now_ms);
    struct baton_qname q;
    unsigned code = baton_node_qwhereis(n, now, name, &q);
    char num[32];
    cJSON *o;

    if (code != BATON_NAME_OK) {
        lib_ctl_send_code(s, cid, code);
        return;
    }
    o = lib_ctl_answer(cid, true);
    cJSON_AddStringToObject(o, "name", q.name);
    cJSON_AddStringToObject(
        o, "node",
        q.owner < s->ctl->io->cfg.n_nodes ? s->ctl->io->names[q.owner] : "?");
    snprintf(num, sizeof(num), "%" PRIu64, q.endpoint);
    cJSON_AddRawToObject(o, "endpoint", num);
    snprintf(num, sizeof(num), "%" PRIu64, q.epoch);
    cJSON_AddStringToObject(o, "epoch", num);
    cJSON_AddBoolToObject(o, "quorum", true);
    lib_ctl_session_send(s, o);
}

static void op_whereis(struct lib_session *s, const cJSON *req,
                       const cJSON *cid)
{
    const char *name = req_name(s, req, cid);
    const struct baton_name *e;

    if (name == NULL) {
        return;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "quorum"))) {
        op_qwhereis(s, name, cid);
        return;
    }
    e = baton_node_whereis(&s->ctl->io->node, name);
    if (e == NULL) {
        lib_ctl_send_code(s, cid, BATON_NAME_NOT_FOUND);
        return;
    }
    lib_ctl_session_send(s, entry_json(s->ctl, e, lib_ctl_answer(cid, true)));
}

static void op_names(struct lib_session *s, const cJSON *cid)
{
    const struct baton_node *n = &s->ctl->io->node;
    cJSON *o = lib_ctl_answer(cid, true);
    cJSON *arr = cJSON_AddArrayToObject(o, "names");

    for (uint32_t i = 0; i < n->names.cap; i++) {
        const struct baton_name *e = &n->names.slot[i];
        /* What whereis would say: names of nodes seen down are gone. */
        if (e->used && baton_node_whereis(n, e->name) == e) {
            cJSON_AddItemToArray(arr, entry_json(s->ctl, e,
                                                 cJSON_CreateObject()));
        }
    }
    lib_ctl_session_send(s, o);
}

/* leader: a leader group's state, a local read; join: the same, and
 * from then on this session gets the group's local member's events
 * (docs/control.md "Leader groups"). */
static void op_leader(struct lib_session *s, const cJSON *req,
                      const cJSON *cid, bool join)
{
    const cJSON *gj = cJSON_GetObjectItemCaseSensitive(req, "group");
    cJSON *o;

    if (!cJSON_IsString(gj)) {
        lib_ctl_send_error(s, cid, "invalid", "group missing (a string)");
        return;
    }
    if (join && s->group[0] != '\0' &&
        strcmp(s->group, gj->valuestring) != 0) {
        lib_ctl_send_error(s, cid, "invalid",
                           "this session joined another group already");
        return;
    }
    o = lib_ctl_answer(cid, true);
    if (lib_control_group_json(s->ctl, gj->valuestring, o) != 0) {
        cJSON_Delete(o);
        lib_ctl_send_error(s, cid, "not_found", "no such leader group here");
        return;
    }
    if (join) {
        snprintf(s->group, sizeof(s->group), "%s", gj->valuestring);
    }
    lib_ctl_session_send(s, o);
}

static void op_call(struct lib_session *s, const cJSON *req,
                    const cJSON *cid, bool is_call)
{
    struct lib_control *c = s->ctl;
    const char *name = req_name(s, req, cid);
    const cJSON *tmo = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
    uint64_t timeout_ms = LIB_CTL_CALL_TIMEOUT_MS;
    struct lib_pending_call *pc;
    struct baton_call call = {0};
    const uint8_t *data;
    uint8_t *owned;
    size_t len;
    const char *why;
    char buf[128];

    if (name == NULL) {
        return;
    }
    if (tmo != NULL &&
        !lib_json_whole(tmo, 1, LIB_CTL_CALL_TIMEOUT_MAX_MS, &timeout_ms)) {
        lib_ctl_send_error(s, cid, "invalid",
                           "timeout_ms must be a whole number of ms in "
                           "1..600000");
        return;
    }
    why = data_view(req, "data", "data64", BATON_CALL_DATA_MAX, &data, &len,
                    &owned, buf, sizeof(buf));
    if (why != NULL) {
        lib_ctl_send_error(s, cid, "invalid", why);
        return;
    }
    if (s->n_calls >= LIB_CTL_CALLS_MAX) {
        free(owned);
        lib_ctl_send_error(s, cid, "busy",
                           "4096 calls and sends in flight on this session");
        return;
    }
    pc = lib_ctl_call_new(c, timeout_ms);
    if (pc == NULL) {
        free(owned);
        lib_ctl_send_error(s, cid, "busy", "out of memory");
        return;
    }
    pc->s = s;
    pc->is_call = is_call;
    pc->cid = lib_ctl_cid_keep(cid, &pc->cid_inline);
    pc->next = s->calls;
    if (s->calls != NULL) {
        s->calls->prev = pc;
    }
    s->calls = pc;
    s->n_calls++;
    call.id = pc->call.id;
    call.flags = is_call ? BATON_CALL_WANTS_REPLY : 0;
    call.name = name;
    call.data = data;
    call.len = (uint32_t)len;
    /* The answer may come during this very call (a local name). */
    lib_ctl_io_call(c, &call);
    free(owned);
}

static void op_reply(struct lib_session *s, const cJSON *req,
                     const cJSON *cid)
{
    struct lib_control *c = s->ctl;
    const cJSON *call = cJSON_GetObjectItemCaseSensitive(req, "call");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(req, "error");
    struct lib_incoming *in = NULL;
    struct baton_call r = {0};
    uint64_t call_id = 0;
    const uint8_t *data = NULL;
    uint8_t *owned = NULL;
    size_t len = 0;
    const char *why = NULL;
    char buf[128];
    cJSON *o;

    if (!lib_json_whole(call, 1, BATON_JSON_ID_MAX, &call_id)) {
        why = "call must be a whole number in 1..2^53 (the call event's)";
    } else if ((in = lib_idmap_get(&c->incoming, call_id)) == NULL ||
               in->s != s) {
        why = "no such call waits for a reply here (answered, given up "
              "after 4096 newer ones, or not this session's)";
    } else if (err != NULL) {
        if (!cJSON_IsString(err) ||
            strlen(err->valuestring) > BATON_CALL_DATA_MAX) {
            why = "error must be a string of at most 65536 bytes";
        }
    } else {
        why = data_view(req, "data", "data64", BATON_CALL_DATA_MAX, &data,
                        &len, &owned, buf, sizeof(buf));
    }
    if (why != NULL) {
        /* Replies are answered only when they fail: a server can stream
         * them. The answer names the call. */
        o = lib_ctl_answer(cid, false);
        cJSON_AddStringToObject(o, "error", "invalid");
        cJSON_AddStringToObject(o, "message", why);
        if (call != NULL) {
            cJSON_AddItemToObject(o, "call", cJSON_Duplicate(call, true));
        }
        lib_ctl_session_send(s, o);
        return;
    }
    r.id = in->id;
    r.to = in->from;
    r.to_inc = in->from_inc;
    r.code = BATON_NAME_OK;
    if (err != NULL) {
        r.code = BATON_NAME_INVALID; /* "refused": see call_finish() */
        r.data = (const uint8_t *)err->valuestring;
        r.len = (uint32_t)strlen(err->valuestring);
        if (r.len == 0) {
            r.data = (const uint8_t *)"refused";
            r.len = 7;
        }
    } else {
        r.data = data;
        r.len = (uint32_t)len;
    }
    lib_ctl_incoming_unlink(in);
    free(in);
    lib_ctl_io_reply(c, &r);
    free(owned);
}

static void op_serve(struct lib_session *s, const cJSON *req,
                     const cJSON *cid)
{
    const char *name = req_name(s, req, cid);
    const char *why;

    if (name == NULL) {
        return;
    }
    why = lib_ctl_app_serve(s, name);
    if (why != NULL) {
        lib_ctl_send_error(s, cid, "invalid", why);
        return;
    }
    lib_ctl_send_ok(s, cid);
    lib_ctl_app_flush(s);
}

void lib_ctl_session_request(struct lib_session *s, const char *line,
                             size_t len)
{
    struct lib_json_flat flat;
    const cJSON *req = lib_json_flat(&flat, line, len);
    cJSON *parsed = NULL; /* cJSON's tree, if the flat parse passed */
    const cJSON *cid;
    const cJSON *opj;
    const char *op;
    char msg[384];

    if (req == NULL) {
        req = parsed = cJSON_ParseWithLength(line, len);
    }
    if (req == NULL || !cJSON_IsObject(req)) {
        lib_ctl_send_error(s, NULL, "invalid",
                           req == NULL ? "malformed JSON"
                           : "a request must be a JSON object");
        cJSON_Delete(parsed);
        return;
    }
    cid = cJSON_GetObjectItemCaseSensitive(req, "id");
    opj = cJSON_GetObjectItemCaseSensitive(req, "op");
    op = cJSON_IsString(opj) ? opj->valuestring : NULL;
    if (op == NULL) {
        lib_ctl_send_error(s, cid, "invalid", "op missing (a string)");
    } else if (s->read_only && strcmp(op, "whereis") != 0 &&
               strcmp(op, "names") != 0 && strcmp(op, "leader") != 0 &&
               strcmp(op, "subscribe") != 0) {
        lib_ctl_send_error(s, cid, "denied",
                           "the read-only socket answers whereis, names, "
                           "leader and subscribe only");
    } else if (strcmp(op, "register") == 0) {
        op_write(s, req, cid, BATON_NAME_REGISTER);
    } else if (strcmp(op, "reregister") == 0) {
        op_write(s, req, cid, BATON_NAME_REREGISTER);
    } else if (strcmp(op, "unregister") == 0) {
        op_write(s, req, cid, BATON_NAME_UNREGISTER);
    } else if (strcmp(op, "whereis") == 0) {
        op_whereis(s, req, cid);
    } else if (strcmp(op, "names") == 0) {
        op_names(s, cid);
    } else if (strcmp(op, "send") == 0 || strcmp(op, "call") == 0) {
        op_call(s, req, cid, op[0] == 'c');
    } else if (strcmp(op, "reply") == 0) {
        op_reply(s, req, cid);
    } else if (strcmp(op, "serve") == 0) {
        op_serve(s, req, cid);
    } else if (strcmp(op, "leader") == 0 || strcmp(op, "join") == 0) {
        op_leader(s, req, cid, op[0] == 'j');
    } else if (strcmp(op, "subscribe") == 0) {
        lib_events_subscribe(s, req, cid); /* events.c */
    } else if (lib_control_group_op(s, op, req, cid) == 0) {
        /* leader_call, leader_cast, broadcast, group_call, alive, down,
         * candidates, workers: the leader group's (group.c) */
    } else {
        snprintf(msg, sizeof(msg),
                 "unknown op \"%.64s\" (known: register, reregister, "
                 "unregister, whereis, names, send, call, reply, serve, "
                 "leader, join, leader_call, leader_cast, broadcast, "
                 "group_call, alive, down, candidates, workers, subscribe)",
                 op);
        lib_ctl_send_error(s, cid, "invalid", msg);
    }
    cJSON_Delete(parsed);
}
