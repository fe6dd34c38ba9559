/* MessagePack bodies with msgpack-c. See docs/design/wire.md §2.
 *
 * Decoding runs in three steps:
 * 1. skim() walks the bytes once without building anything. It checks
 *    that they hold exactly one object, with no map or ext, no deeper
 *    nesting than the format has, and no container that announces more
 *    elements than bytes remain. msgpack-c allocates a container's
 *    element array when it reads the header, before it has seen the
 *    elements, so without this check a 5-byte input ("dd ff ff ff ff")
 *    would ask for about 100 GB. After it, msgpack-c allocates at most
 *    sizeof(msgpack_object) per input byte.
 * 2. msgpack-c builds the object tree in a zone: the caller's
 *    (struct baton_wire_zone, cleared after each decode, so that a
 *    frame that fits its first chunk allocates nothing), or one made
 *    for the call.
 * 3. The read_* functions check every type, length and range against
 *    the format and fill the output, which was zeroed first. */
#include "../util/setup.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "../util/error.h"
#include "codec.h"

/* The format nests arrays six deep (msg, body, op, state, nodes or apps,
 * pair or app);
 * anything deeper is malformed. msgpack-c itself stops at 32 levels
 * (MSGPACK_EMBED_STACK_SIZE) but reports that as out of memory, so
 * skim() must stop first. */
#define DEPTH_MAX (8)

static const char hello_magic[] = "baton";

/* Encoding */

/* The packer writes straight into the caller's buffer. Once a write does
 * not fit, every later write is refused too, so a too-small buffer never
 * holds a spliced encoding that looks complete. */
struct sink {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool full;
};

struct enc {
    msgpack_packer pk;
    struct sink sink;
    int rv; /* first error; BATON_EINVAL overrides BATON_EFULL */
};

static int sink_write(void *data, const char *p, size_t n)
{
    struct sink *s = data;

    if (s->full || n > s->cap - s->len) {
        s->full = true;
        return -1;
    }
    if (n > 0) {
        memcpy(s->buf + s->len, p, n);
        s->len += n;
    }
    return 0;
}

static void enc_init(struct enc *e, uint8_t *buf, size_t cap)
{
    e->sink.buf = buf;
    e->sink.cap = cap;
    e->sink.len = 0;
    e->sink.full = false;
    e->rv = 0;
    msgpack_packer_init(&e->pk, &e->sink, sink_write);
}

/* A value the format cannot carry is reported whatever the buffer size,
 * so it wins over an earlier BATON_EFULL. */
static void enc_invalid(struct enc *e)
{
    e->rv = BATON_EINVAL;
}

static void enc_check(struct enc *e, int packed)
{
    if (packed != 0 && e->rv == 0) {
        e->rv = BATON_EFULL;
    }
}

static void put_array(struct enc *e, size_t n)
{
    enc_check(e, msgpack_pack_array(&e->pk, n));
}

static void put_u8(struct enc *e, uint8_t v)
{
    enc_check(e, msgpack_pack_uint8(&e->pk, v));
}

static void put_u64(struct enc *e, uint64_t v)
{
    enc_check(e, msgpack_pack_uint64(&e->pk, v));
}

static void put_nil(struct enc *e)
{
    enc_check(e, msgpack_pack_nil(&e->pk));
}

static void put_bin(struct enc *e, const uint8_t *p, size_t n)
{
    enc_check(e, msgpack_pack_bin_with_body(&e->pk, p, n));
}

static void put_str(struct enc *e, const char *p, size_t n)
{
    enc_check(e, msgpack_pack_str_with_body(&e->pk, p, n));
}

static int enc_finish(struct enc *e, size_t *len)
{
    if (e->rv != 0) {
        return e->rv;
    }
    *len = e->sink.len;
    return 0;
}

/* [coord u8, coord_inc u64, claim u64] */
static void put_stream(struct enc *e, const struct baton_stream *s)
{
    put_array(e, 3);
    put_u8(e, s->coord);
    put_u64(e, s->coord_inc);
    put_u64(e, s->claim);
}

/* [slot u8, name str(1..31), status u8, type u8, owner u8, from u8,
 *  prev u8, owner_inc u64, prev_inc u64, epoch u64, epoch_max u64,
 *  failover_timeout u64, rank bin(n_nodes)] */
static void put_app(struct enc *e, const struct baton_state_app *a,
                    unsigned slot, unsigned n_nodes)
{
    size_t len = strnlen(a->name, sizeof(a->name));

    if (len == 0 || len == sizeof(a->name)) {
        enc_invalid(e);
        return;
    }
    put_array(e, 13);
    put_u8(e, (uint8_t)slot);
    put_str(e, a->name, len);
    put_u8(e, a->status);
    put_u8(e, a->type);
    put_u8(e, a->owner);
    put_u8(e, a->from);
    put_u8(e, a->prev);
    put_u64(e, a->owner_inc);
    put_u64(e, a->prev_inc);
    put_u64(e, a->epoch);
    put_u64(e, a->epoch_max);
    put_u64(e, a->failover_timeout_ms);
    put_bin(e, a->rank, n_nodes);
}

/* [n_nodes u8, coord u8, coord_inc u64, epoch u64,
 *  [[inc u64, member u8, name_rank u8] * n_nodes], [app * used slots],
 *  name_epoch_max u64] */
static void put_state(struct enc *e, const struct baton_state *s)
{
    unsigned used = 0;

    if (s->n_nodes < 1 || s->n_nodes > BATON_NODES_MAX) {
        enc_invalid(e);
        return;
    }
    put_array(e, 7);
    put_u8(e, s->n_nodes);
    put_u8(e, s->coord);
    put_u64(e, s->coord_inc);
    put_u64(e, s->epoch);
    put_array(e, s->n_nodes);
    for (unsigned i = 0; i < s->n_nodes; i++) {
        put_array(e, 3);
        put_u64(e, s->nodes[i].inc);
        put_u8(e, s->nodes[i].member);
        put_u8(e, s->name_rank[i]);
    }
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        used += s->apps[k].status != BATON_APP_FREE;
    }
    put_array(e, used);
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        if (s->apps[k].status != BATON_APP_FREE) {
            put_app(e, &s->apps[k], k, s->n_nodes);
        }
    }
    put_u64(e, s->name_epoch_max);
}

/* How a name entry's fields are checked, on both sides. */
enum entry_rule {
    ENTRY_OP,    /* an op's: syntax only, the core judges the rest */
    ENTRY_TABLE, /* a table's: baton_name_validate() too */
    ENTRY_REQ,   /* a request's: no owner; empty name for DROP only */
};

/* Is e's name (NUL-terminated within its array) one the format carries:
 * a valid name, or empty where empty_ok? */
static bool entry_name_ok(const struct baton_name *e, bool empty_ok)
{
    size_t len = strnlen(e->name, sizeof(e->name));

    if (len == sizeof(e->name)) {
        return false;
    }
    return len == 0 ? empty_ok : baton_name_check(e->name, len) == 0;
}

/* The checks an entry must pass under rule (n_nodes for ENTRY_TABLE),
 * the same whether it is being encoded or was just decoded. */
static bool entry_ok(const struct baton_name *e, enum entry_rule rule,
                     bool empty_ok, unsigned n_nodes)
{
    switch (rule) {
    case ENTRY_TABLE:
        return baton_name_validate(e, n_nodes) == 0;
    case ENTRY_REQ:
        return entry_name_ok(e, empty_ok) &&
               e->resolver < BATON_RESOLVE__COUNT && e->endpoint != 0 &&
               e->meta_len <= BATON_GNAME_META_MAX;
    default:
        return entry_name_ok(e, false) && e->meta_len <= BATON_GNAME_META_MAX;
    }
}

/* [name str(0..127), owner u8, resolver u8, owner_inc u64, endpoint u64,
 *  epoch u64, meta bin(0..256)]. A request carries no owner: 0 and 0. */
static void put_entry(struct enc *e, const struct baton_name *n,
                      enum entry_rule rule, bool empty_ok, unsigned n_nodes)
{
    bool req = rule == ENTRY_REQ;

    if (!entry_ok(n, rule, empty_ok, n_nodes)) {
        enc_invalid(e);
        return;
    }
    put_array(e, 7);
    put_str(e, n->name, strlen(n->name));
    put_u8(e, req ? 0 : n->owner);
    put_u8(e, n->resolver);
    put_u64(e, req ? 0 : n->owner_inc);
    put_u64(e, n->endpoint);
    put_u64(e, n->epoch);
    put_bin(e, n->meta, n->meta_len);
}

/* [entry * used slots] of a table (NULL: no entries). */
/* The used slots of t in [first, end) (end 0: to the table's end). */
static void put_names(struct enc *e, const struct baton_names *t,
                      unsigned n_nodes, uint32_t first, uint32_t end)
{
    uint32_t used = 0;

    if (t == NULL) {
        first = end = 0;
    } else if (end == 0 || end > t->cap) {
        end = t->cap;
    }
    for (uint32_t i = first; i < end; i++) {
        used += t->slot[i].used != 0;
    }
    put_array(e, used);
    for (uint32_t i = first; i < end; i++) {
        if (t->slot[i].used) {
            put_entry(e, &t->slot[i], ENTRY_TABLE, false, n_nodes);
        }
    }
}

/* [type u8, node u8, fresh u8, inc u64, epoch u64, other, origin u8,
 *  reason u8, req u64] */
static void put_op(struct enc *e, const struct baton_op *op)
{
    if (op->reason >= BATON_LOST__COUNT) {
        enc_invalid(e);
        return;
    }
    put_array(e, 9);
    put_u8(e, op->type);
    put_u8(e, op->node);
    put_u8(e, op->fresh);
    put_u64(e, op->inc);
    put_u64(e, op->epoch);
    if (op->type == BATON_OP_MERGE) {
        put_state(e, &op->other);
    } else if (op->type == BATON_OP_APP) {
        /* The app's rank covers every node slot: nodes beyond the
         * cluster's are zero (validated by the core). */
        put_app(e, &op->app, op->node, BATON_NODES_MAX);
    } else if (op->type == BATON_OP_NAME_SET ||
               op->type == BATON_OP_NAME_DEL) {
        put_entry(e, &op->name, ENTRY_OP, false, 0);
    } else {
        put_nil(e);
    }
    put_u8(e, op->origin);
    put_u8(e, op->reason);
    put_u64(e, op->req);
}

/* [role u8, coord u8, synced u8, heard u64, epoch u64,
 *  index u64, stream] */
static void put_status(struct enc *e, const struct baton_status *s)
{
    put_array(e, 7);
    put_u8(e, s->role);
    put_u8(e, s->coord);
    put_u8(e, s->synced);
    put_u64(e, s->heard);
    put_u64(e, s->epoch);
    put_u64(e, s->index);
    put_stream(e, &s->stream);
}

/* [[name str(1..31), flags u8, run u8, epoch u64, exited u64, last u64,
 *   failover_timeout u64, rank bin(32), mode u8, lease u64,
 *   stop_margin u64] * n] */
static void put_reports(struct enc *e, const struct baton_app_reports *r)
{
    if (r->n > BATON_APPS_MAX) {
        enc_invalid(e);
        return;
    }
    put_array(e, r->n);
    for (unsigned i = 0; i < r->n; i++) {
        const struct baton_app_report *p = &r->r[i];
        size_t len = strnlen(p->name, sizeof(p->name));
        if (len == 0 || len == sizeof(p->name)) {
            enc_invalid(e);
            return;
        }
        if (p->mode > BATON_APP_QUORUM) {
            enc_invalid(e);
            return;
        }
        put_array(e, 11);
        put_str(e, p->name, len);
        put_u8(e, p->flags);
        put_u8(e, p->run);
        put_u64(e, p->epoch);
        put_u64(e, p->exited);
        put_u64(e, p->last);
        put_u64(e, p->failover_timeout_ms);
        put_bin(e, p->rank, sizeof(p->rank));
        put_u8(e, p->mode);
        put_u64(e, p->lease_ms);
        put_u64(e, p->stop_margin_ms);
    }
}

/* Raft (quorum mode, wire.md §2.5): [type u8 (1..5), pre u8 (0..1),
 * ok u8 (0..1), term u64, index u64, log_term u64, commit u64,
 * sent_ms u64, entries [[term u64, data bin(0..256)] * (0..8)],
 * snapshot bin(0..65536)]. from and to are the message's. */
static void put_raft(struct enc *e, const struct baton_raft_msg *r)
{
    if (!baton_raft_msg_valid(r)) {
        enc_invalid(e);
        return;
    }
    put_array(e, 10);
    put_u8(e, r->type);
    put_u8(e, r->pre ? 1 : 0);
    put_u8(e, r->ok ? 1 : 0);
    put_u64(e, r->term);
    put_u64(e, r->index);
    put_u64(e, r->log_term);
    put_u64(e, r->commit);
    put_u64(e, r->sent_ms);
    put_array(e, r->n_entries);
    for (uint32_t i = 0; i < r->n_entries; i++) {
        put_array(e, 2);
        put_u64(e, r->entries[i].term);
        put_bin(e, r->entries[i].data, r->entries[i].len);
    }
    put_bin(e, r->data, r->len);
}

/* Is len bytes at data a payload the format carries (at most max)? */
static bool payload_ok(const uint8_t *data, uint32_t len, uint32_t max)
{
    return len <= max && (len == 0 || data != NULL);
}

static bool str_ok(const char *name, size_t size)
{
    size_t len = strnlen(name, size);

    return len < size && baton_name_check(name, len) == 0;
}

/* The bodies of names and calls (docs/design/wire.md §2.4). */
static void put_names_body(struct enc *e, const struct baton_msg *m)
{
    switch (m->type) {
    case BATON_MSG_NAME_REQ: {
        uint8_t kind = m->u.name_req.kind;
        if (kind < BATON_NAME_REGISTER || kind >= BATON_NAME__KIND_COUNT) {
            enc_invalid(e);
            break;
        }
        put_array(e, 4);
        put_u64(e, m->u.name_req.req);
        put_u64(e, m->u.name_req.first);
        put_u8(e, kind);
        put_entry(e, &m->u.name_req.name, ENTRY_REQ, kind == BATON_NAME_DROP,
                  0);
        break;
    }
    case BATON_MSG_NAME_REPLY:
        if (m->u.name_reply.code >= BATON_NAME_CODE__COUNT) {
            enc_invalid(e);
            break;
        }
        put_array(e, 4);
        put_u64(e, m->u.name_reply.req);
        put_u8(e, m->u.name_reply.code);
        put_stream(e, &m->u.name_reply.stream);
        put_u64(e, m->u.name_reply.index);
        break;
    case BATON_MSG_NAME_LOST:
        if (m->u.name_lost.reason < BATON_LOST_REMOVED ||
            m->u.name_lost.reason >= BATON_LOST__COUNT ||
            !str_ok(m->u.name_lost.name, sizeof(m->u.name_lost.name))) {
            enc_invalid(e);
            break;
        }
        put_array(e, 4);
        put_u8(e, m->u.name_lost.reason);
        put_u64(e, m->u.name_lost.endpoint);
        put_u64(e, m->u.name_lost.epoch);
        put_str(e, m->u.name_lost.name, strlen(m->u.name_lost.name));
        break;
    case BATON_MSG_CALL:
        if (!str_ok(m->u.call.name, sizeof(m->u.call.name)) ||
            !payload_ok(m->u.call.data, m->u.call.len, BATON_CALL_DATA_MAX)) {
            enc_invalid(e);
            break;
        }
        put_array(e, 7);
        put_u64(e, m->u.call.id);
        put_u8(e, m->u.call.caller);
        put_u8(e, m->u.call.hops);
        put_u8(e, m->u.call.flags);
        put_u64(e, m->u.call.caller_inc);
        put_str(e, m->u.call.name, strlen(m->u.call.name));
        put_bin(e, m->u.call.data, m->u.call.len);
        break;
    case BATON_MSG_REPLY:
        if (m->u.reply.code >= BATON_NAME_CODE__COUNT ||
            !payload_ok(m->u.reply.data, m->u.reply.len,
                        BATON_CALL_DATA_MAX)) {
            enc_invalid(e);
            break;
        }
        put_array(e, 3);
        put_u64(e, m->u.reply.id);
        put_u8(e, m->u.reply.code);
        put_bin(e, m->u.reply.data, m->u.reply.len);
        break;
    default:
        enc_invalid(e);
        break;
    }
}

/* [reply u8, version u64, n_slots u8, [[kind u8, name str(0..255),
 * addr str(0..63)] * n_slots]] (wire.md §2.3, membership.md §2) */
static void put_members(struct enc *e, const struct baton_msg *m)
{
    const struct baton_members *l = m->u.members.list;

    if (l == NULL || l->n_slots < 1 || l->n_slots > BATON_NODES_MAX ||
        m->u.members.reply > 1) {
        enc_invalid(e);
        return;
    }
    put_array(e, 4);
    put_u8(e, m->u.members.reply);
    put_u64(e, l->version);
    put_u8(e, l->n_slots);
    put_array(e, l->n_slots);
    for (unsigned i = 0; i < l->n_slots; i++) {
        const struct baton_member *x = &l->slot[i];
        size_t name = strnlen(x->name, sizeof(x->name));
        size_t addr = strnlen(x->addr, sizeof(x->addr));
        if (name == sizeof(x->name) || addr == sizeof(x->addr) ||
            x->kind >= BATON_MEMBER__KIND_COUNT) {
            enc_invalid(e);
            return;
        }
        put_array(e, 3);
        put_u8(e, x->kind);
        put_str(e, x->name, name);
        put_str(e, x->addr, addr);
    }
}

/* Operator settings (wire.md §2.6, version 6): an app's name is
 * str(0..31) in a verb (empty for a node's) and str(1..31) in the
 * settings. */
static void put_app_name(struct enc *e,
                         const char *name,
                         size_t size,
                         bool empty_ok)
{
    size_t len = strnlen(name, size);

    if (len == size || (len == 0 && !empty_ok)) {
        enc_invalid(e);
        return;
    }
    put_str(e, name, len);
}

/* [[name str(1..31), disabled u8, pin u8, ver u64] * apps with a name,
 *  [node u8, standby u8, ver u64] * nodes with a version] */
static void put_settings(struct enc *e, const struct baton_settings *st)
{
    unsigned n_apps = 0;
    unsigned n_nodes = 0;

    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        n_apps += st->app[i].name[0] != '\0';
    }
    for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
        n_nodes += st->standby_ver[x] != 0;
    }
    put_array(e, 2);
    put_array(e, n_apps);
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        const struct baton_app_setting *a = &st->app[i];
        if (a->name[0] == '\0') {
            continue;
        }
        put_array(e, 4);
        put_app_name(e, a->name, sizeof(a->name), false);
        put_u8(e, a->disabled);
        put_u8(e, a->pin);
        put_u64(e, a->ver);
    }
    put_array(e, n_nodes);
    for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
        if (st->standby_ver[x] == 0) {
            continue;
        }
        put_array(e, 3);
        put_u8(e, (uint8_t)x);
        put_u8(e, st->standby[x]);
        put_u64(e, st->standby_ver[x]);
    }
}

static void put_body(struct enc *e, const struct baton_msg *m)
{
    switch (m->type) {
    case BATON_MSG_MEMBERS:
        put_members(e, m);
        break;
    case BATON_MSG_HEARTBEAT:
        put_nil(e);
        break;
    case BATON_MSG_JOIN:
        put_array(e, 3);
        put_stream(e, &m->u.join.stream);
        put_state(e, &m->u.join.replica);
        put_names(e, m->u.join.names, m->u.join.replica.n_nodes, 0, 0);
        break;
    case BATON_MSG_SNAPSHOT:
        if (m->u.snapshot.part >= BATON_SNAPSHOT_PARTS_MAX ||
            m->u.snapshot.more > 1) {
            enc_invalid(e);
            break;
        }
        put_array(e, 8);
        put_u64(e, m->u.snapshot.join_seq);
        put_stream(e, &m->u.snapshot.stream);
        put_u64(e, m->u.snapshot.index);
        put_state(e, &m->u.snapshot.state);
        put_u64(e, m->u.snapshot.snap);
        put_u64(e, m->u.snapshot.part);
        put_u8(e, m->u.snapshot.more);
        put_names(e, m->u.snapshot.names, m->u.snapshot.state.n_nodes,
                  m->u.snapshot.slot_first, m->u.snapshot.slot_end);
        break;
    case BATON_MSG_OP:
        put_array(e, 3);
        put_stream(e, &m->u.op.stream);
        put_u64(e, m->u.op.index);
        put_op(e, &m->u.op.op);
        break;
    case BATON_MSG_RESYNC:
        put_array(e, 2);
        put_stream(e, &m->u.resync.stream);
        put_u64(e, m->u.resync.applied);
        break;
    case BATON_MSG_REPORT:
        put_reports(e, &m->u.report);
        break;
    case BATON_MSG_STATE: {
        size_t len = strnlen(m->u.state.name, sizeof(m->u.state.name));
        if (len == 0 || len == sizeof(m->u.state.name) ||
            m->u.state.len > BATON_STATE_MAX ||
            (m->u.state.len > 0 && m->u.state.data == NULL)) {
            enc_invalid(e);
            break;
        }
        put_array(e, 4);
        put_str(e, m->u.state.name, len);
        put_u64(e, m->u.state.epoch);
        put_u8(e, m->u.state.ok);
        put_bin(e, m->u.state.data, m->u.state.len);
        break;
    }
    case BATON_MSG_RAFT:
        put_raft(e, &m->u.raft.m);
        break;
    case BATON_MSG_ADMIN: /* [id u64, kind u8, node u8, name] */
        put_array(e, 4);
        put_u64(e, m->u.admin.id);
        put_u8(e, m->u.admin.kind);
        put_u8(e, m->u.admin.node);
        put_app_name(e, m->u.admin.name, sizeof(m->u.admin.name), true);
        break;
    case BATON_MSG_ADMIN_REPLY: /* [id u64, code u8, owner u8, status u8,
                                   pin u8] */
        put_array(e, 5);
        put_u64(e, m->u.admin_reply.id);
        put_u8(e, m->u.admin_reply.code);
        put_u8(e, m->u.admin_reply.owner);
        put_u8(e, m->u.admin_reply.status);
        put_u8(e, m->u.admin_reply.pin);
        break;
    case BATON_MSG_SETTINGS:
        put_settings(e, &m->u.settings);
        break;
    default:
        put_names_body(e, m);
        break;
    }
}

int baton_msg_encode(const struct baton_msg *m, uint8_t *buf, size_t cap,
                     size_t *len)
{
    struct enc e;

    enc_init(&e, buf, cap);
    if (m->type < BATON_MSG_HEARTBEAT || m->type >= BATON_MSG__COUNT) {
        enc_invalid(&e);
        return enc_finish(&e, len);
    }
    put_array(&e, 8);
    put_u8(&e, m->type);
    put_u8(&e, m->from);
    put_u8(&e, m->to);
    put_u64(&e, m->from_inc);
    put_u64(&e, m->to_inc);
    put_u64(&e, m->seq);
    put_status(&e, &m->status);
    put_body(&e, m);
    return enc_finish(&e, len);
}

int baton_hello_encode(const struct baton_hello *h, uint8_t *buf, size_t cap,
                       size_t *len)
{
    struct enc e;
    size_t name_len;

    enc_init(&e, buf, cap);
    /* No terminator within the array means a name longer than
     * BATON_NAME_MAX. */
    name_len = strnlen(h->name, sizeof(h->name));
    if (name_len < 1 || name_len > BATON_NAME_MAX || h->inc == 0 ||
        h->n_parts > BATON_CONFIG_PARTS_MAX || h->wire_min == 0 ||
        h->wire_min > h->wire_max) {
        enc_invalid(&e);
        return enc_finish(&e, len);
    }
    put_array(&e, h->has_aeads ? BATON_HELLO_FIELDS_AEADS
                               : BATON_HELLO_FIELDS);
    put_str(&e, hello_magic, sizeof(hello_magic) - 1);
    put_u8(&e, h->version);
    put_str(&e, h->name, name_len);
    put_u64(&e, h->inc);
    put_bin(&e, h->nonce, sizeof(h->nonce));
    put_bin(&e, h->config, sizeof(h->config));
    put_bin(&e, h->parts[0], (size_t)h->n_parts * BATON_CONFIG_PART_LEN);
    put_u8(&e, h->wire_min);
    put_u8(&e, h->wire_max);
    if (h->has_aeads) {
        put_u8(&e, h->aeads);
    }
    return enc_finish(&e, len);
}

int baton_proof_encode(const struct baton_proof *p, uint8_t *buf, size_t cap,
                       size_t *len)
{
    struct enc e;

    enc_init(&e, buf, cap);
    put_array(&e, 1);
    put_bin(&e, p->mac, sizeof(p->mac));
    return enc_finish(&e, len);
}

/* Decoding: step 1, the skim */

/* Reads an n-byte big-endian length at buf[*pos]. */
static bool skim_be(const uint8_t *buf, size_t len, size_t *pos, size_t n,
                    size_t *v)
{
    size_t x = 0;

    if (n > len - *pos) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        x = x << 8 | buf[*pos + i];
    }
    *pos += n;
    *v = x;
    return true;
}

/* Bytes of the big-endian field (length, count or value) after header
 * byte b, for the header types skim() accepts; 0 for any other. */
static size_t field_width(uint8_t b)
{
    switch (b) {
    case 0xc4: /* bin 8 */
    case 0xcc: /* uint 8 */
    case 0xd0: /* int 8 */
    case 0xd9: /* str 8 */
        return 1;
    case 0xc5:
    case 0xcd:
    case 0xd1:
    case 0xda:
    case 0xdc: /* array 16 */
        return 2;
    case 0xc6:
    case 0xca: /* float 32 */
    case 0xce:
    case 0xd2:
    case 0xdb:
    case 0xdd: /* array 32 */
        return 4;
    case 0xcb: /* float 64 */
    case 0xcf:
    case 0xd3:
        return 8;
    default:
        /* Maps, ext types and the unused 0xc1: not in the format. */
        return 0;
    }
}

/* Reads one header at buf[*pos] and, for a str or bin, its payload.
 * Sets *is_array and, for an array, *count. */
static bool skim_header(const uint8_t *buf, size_t len, size_t *pos,
                        bool *is_array, size_t *count)
{
    uint8_t b = buf[(*pos)++];
    size_t payload = 0; /* str or bin bytes after the header */
    size_t field;

    *is_array = false;
    *count = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        return true; /* fixint, nil, bool: the header is the value */
    }
    if (b >= 0x90 && b <= 0x9f) {
        *is_array = true;
        *count = b & 0x0fu;
        return true;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        payload = b & 0x1fu; /* fixstr */
    } else {
        if (field_width(b) == 0 ||
            !skim_be(buf, len, pos, field_width(b), &field)) {
            return false;
        }
        if (b == 0xdc || b == 0xdd) {
            *is_array = true;
            *count = field;
            return true;
        }
        if ((b >= 0xc4 && b <= 0xc6) || (b >= 0xd9 && b <= 0xdb)) {
            payload = field;
        }
    }
    if (payload > len - *pos) {
        return false;
    }
    *pos += payload;
    return true;
}

/* Checks that buf holds exactly one object within the limits above.
 * Errors: BATON_EBADMSG. */
static int skim(const uint8_t *buf, size_t len)
{
    size_t left[DEPTH_MAX]; /* elements still to finish in each open array */
    size_t unread = 0;      /* elements announced but not yet started */
    unsigned depth = 0;
    size_t pos = 0;
    bool array;
    size_t count;

    for (;;) {
        if (pos >= len || !skim_header(buf, len, &pos, &array, &count)) {
            return BATON_EBADMSG;
        }
        if (depth > 0) {
            unread--;
        }
        if (array && count > 0) {
            /* Every element not yet started takes at least one byte. */
            if (depth == DEPTH_MAX || count > len - pos ||
                unread > len - pos - count) {
                return BATON_EBADMSG;
            }
            left[depth++] = count;
            unread += count;
            continue;
        }
        /* One object is complete, and with it every array it ends. */
        while (depth > 0 && --left[depth - 1] == 0) {
            depth--;
        }
        if (depth == 0) {
            break;
        }
    }
    return pos == len ? 0 : BATON_EBADMSG;
}

/* Decoding: step 3, the typed reads */

/* Sets *elems when o is an array of exactly n elements. */
static bool get_array(const msgpack_object *o, uint32_t n,
                      const msgpack_object **elems)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != n) {
        return false;
    }
    *elems = o->via.array.ptr;
    return true;
}

/* msgpack-c gives every non-negative integer, whatever its encoding,
 * the type POSITIVE_INTEGER. */
static bool read_u64(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return false;
    }
    *v = o->via.u64;
    return true;
}

static bool read_u8(const msgpack_object *o, uint8_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > 255) {
        return false;
    }
    *v = (uint8_t)o->via.u64;
    return true;
}

static bool read_bin(const msgpack_object *o, uint8_t *out, size_t n)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n) {
        return false;
    }
    memcpy(out, o->via.bin.ptr, n);
    return true;
}

static bool read_stream(const msgpack_object *o, struct baton_stream *s)
{
    const msgpack_object *a;

    return get_array(o, 3, &a) && read_u8(&a[0], &s->coord) &&
           read_u64(&a[1], &s->coord_inc) && read_u64(&a[2], &s->claim);
}

static bool read_app(const msgpack_object *o, struct baton_state_app *app,
                     uint8_t *slot, unsigned n_nodes)
{
    const msgpack_object *a;

    if (!get_array(o, 13, &a) || !read_u8(&a[0], slot) ||
        *slot >= BATON_APPS_MAX || a[1].type != MSGPACK_OBJECT_STR ||
        a[1].via.str.size == 0 || a[1].via.str.size > BATON_APP_NAME_MAX ||
        memchr(a[1].via.str.ptr, '\0', a[1].via.str.size) != NULL) {
        return false;
    }
    memcpy(app->name, a[1].via.str.ptr, a[1].via.str.size);
    return read_u8(&a[2], &app->status) && read_u8(&a[3], &app->type) &&
           read_u8(&a[4], &app->owner) && read_u8(&a[5], &app->from) &&
           read_u8(&a[6], &app->prev) && read_u64(&a[7], &app->owner_inc) &&
           read_u64(&a[8], &app->prev_inc) && read_u64(&a[9], &app->epoch) &&
           read_u64(&a[10], &app->epoch_max) &&
           read_u64(&a[11], &app->failover_timeout_ms) &&
           read_bin(&a[12], app->rank, n_nodes);
}

static bool read_state(const msgpack_object *o, struct baton_state *s)
{
    const msgpack_object *a;
    const msgpack_object *nodes;
    const msgpack_object *pair;
    const msgpack_object *apps;

    if (!get_array(o, 7, &a) || !read_u8(&a[0], &s->n_nodes) ||
        !read_u8(&a[1], &s->coord) || !read_u64(&a[2], &s->coord_inc) ||
        !read_u64(&a[3], &s->epoch) || !read_u64(&a[6], &s->name_epoch_max)) {
        return false;
    }
    if (s->n_nodes < 1 || s->n_nodes > BATON_NODES_MAX ||
        !get_array(&a[4], s->n_nodes, &nodes)) {
        return false;
    }
    for (unsigned i = 0; i < s->n_nodes; i++) {
        if (!get_array(&nodes[i], 3, &pair) ||
            !read_u64(&pair[0], &s->nodes[i].inc) ||
            !read_u8(&pair[1], &s->nodes[i].member) ||
            !read_u8(&pair[2], &s->name_rank[i])) {
            return false;
        }
    }
    if (a[5].type != MSGPACK_OBJECT_ARRAY ||
        a[5].via.array.size > BATON_APPS_MAX) {
        return false;
    }
    apps = a[5].via.array.ptr;
    for (uint32_t k = 0; k < a[5].via.array.size; k++) {
        struct baton_state_app app;
        uint8_t slot;
        memset(&app, 0, sizeof(app));
        if (!read_app(&apps[k], &app, &slot, s->n_nodes) ||
            s->apps[slot].status != BATON_APP_FREE ||
            app.status == BATON_APP_FREE) {
            return false; /* a slot twice, or an empty one sent */
        }
        s->apps[slot] = app;
    }
    return true;
}

/* Reads an entry (see put_entry) and checks it under rule. */
static bool read_entry(const msgpack_object *o, struct baton_name *e,
                       enum entry_rule rule, bool empty_ok, unsigned n_nodes)
{
    const msgpack_object *a;

    /* The name's bytes are checked as sent: a NUL inside would pass as
     * a shorter name once copied. Empty is for entry_ok() to judge. */
    if (!get_array(o, 7, &a) || a[0].type != MSGPACK_OBJECT_STR ||
        a[0].via.str.size > BATON_GNAME_MAX ||
        (a[0].via.str.size > 0 &&
         baton_name_check(a[0].via.str.ptr, a[0].via.str.size) != 0) ||
        a[6].type != MSGPACK_OBJECT_BIN ||
        a[6].via.bin.size > BATON_GNAME_META_MAX) {
        return false;
    }
    /* msgpack-c may give an empty str or bin a NULL pointer. */
    if (a[0].via.str.size > 0) {
        memcpy(e->name, a[0].via.str.ptr, a[0].via.str.size);
    }
    e->name[a[0].via.str.size] = '\0';
    e->meta_len = (uint16_t)a[6].via.bin.size;
    if (e->meta_len > 0) {
        memcpy(e->meta, a[6].via.bin.ptr, e->meta_len);
    }
    if (!read_u8(&a[1], &e->owner) || !read_u8(&a[2], &e->resolver) ||
        !read_u64(&a[3], &e->owner_inc) || !read_u64(&a[4], &e->endpoint) ||
        !read_u64(&a[5], &e->epoch)) {
        return false;
    }
    /* A request has no owner: put_entry() sends 0 and 0, and anything
     * else is malformed (so a decoded request encodes back to itself). */
    if (rule == ENTRY_REQ && (e->owner != 0 || e->owner_inc != 0)) {
        return false;
    }
    return entry_ok(e, rule, empty_ok, n_nodes);
}

/* Fills t (cleared first) with a table's entries and sets *out = t; with
 * no table (t NULL), only an empty list is accepted (*out = NULL). A
 * repeated name, an invalid entry or more entries than t holds is
 * malformed. */
static bool read_names(const msgpack_object *o, struct baton_names *t,
                       unsigned n_nodes, const struct baton_names **out)
{
    const msgpack_object *items;

    if (o->type != MSGPACK_OBJECT_ARRAY) {
        return false;
    }
    *out = t;
    if (t == NULL || o->via.array.size > baton_names_limit(t->cap)) {
        return t == NULL && o->via.array.size == 0;
    }
    baton_names_clear(t);
    items = o->via.array.ptr;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        struct baton_name e;
        memset(&e, 0, sizeof(e));
        if (!read_entry(&items[i], &e, ENTRY_TABLE, false, n_nodes) ||
            baton_names_find(t, e.name) != NULL ||
            baton_names_put(t, &e) != 0) {
            return false;
        }
    }
    return true;
}

static bool read_op(const msgpack_object *o, struct baton_op *op)
{
    const msgpack_object *a;

    if (!get_array(o, 9, &a) || !read_u8(&a[0], &op->type) ||
        !read_u8(&a[1], &op->node) || !read_u8(&a[2], &op->fresh) ||
        !read_u64(&a[3], &op->inc) || !read_u64(&a[4], &op->epoch) ||
        !read_u8(&a[6], &op->origin) || !read_u8(&a[7], &op->reason) ||
        op->reason >= BATON_LOST__COUNT || !read_u64(&a[8], &op->req)) {
        return false;
    }
    if (op->type == BATON_OP_MERGE) {
        return read_state(&a[5], &op->other);
    }
    if (op->type == BATON_OP_APP) {
        uint8_t slot;
        return read_app(&a[5], &op->app, &slot, BATON_NODES_MAX) &&
               slot == op->node;
    }
    if (op->type == BATON_OP_NAME_SET || op->type == BATON_OP_NAME_DEL) {
        return read_entry(&a[5], &op->name, ENTRY_OP, false, 0);
    }
    return a[5].type == MSGPACK_OBJECT_NIL;
}

static bool read_status(const msgpack_object *o, struct baton_status *s)
{
    const msgpack_object *a;

    return get_array(o, 7, &a) && read_u8(&a[0], &s->role) &&
           read_u8(&a[1], &s->coord) && read_u8(&a[2], &s->synced) &&
           read_u64(&a[3], &s->heard) && read_u64(&a[4], &s->epoch) &&
           read_u64(&a[5], &s->index) && read_stream(&a[6], &s->stream);
}

static bool read_reports(const msgpack_object *o, struct baton_app_reports *r)
{
    const msgpack_object *items;

    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > BATON_APPS_MAX) {
        return false;
    }
    r->n = (uint8_t)o->via.array.size;
    items = o->via.array.ptr;
    for (unsigned i = 0; i < r->n; i++) {
        struct baton_app_report *p = &r->r[i];
        const msgpack_object *a;
        if (!get_array(&items[i], 11, &a) || a[0].type != MSGPACK_OBJECT_STR ||
            a[0].via.str.size == 0 ||
            a[0].via.str.size > BATON_APP_NAME_MAX ||
            memchr(a[0].via.str.ptr, '\0', a[0].via.str.size) != NULL) {
            return false;
        }
        memcpy(p->name, a[0].via.str.ptr, a[0].via.str.size);
        if (!read_u8(&a[1], &p->flags) || !read_u8(&a[2], &p->run) ||
            !read_u64(&a[3], &p->epoch) || !read_u64(&a[4], &p->exited) ||
            !read_u64(&a[5], &p->last) ||
            !read_u64(&a[6], &p->failover_timeout_ms) ||
            !read_bin(&a[7], p->rank, sizeof(p->rank)) ||
            !read_u8(&a[8], &p->mode) || p->mode > BATON_APP_QUORUM ||
            !read_u64(&a[9], &p->lease_ms) ||
            !read_u64(&a[10], &p->stop_margin_ms)) {
            return false;
        }
    }
    return true;
}

/* A name (1..127 bytes, baton_name_check) into name[128], zeroed. */
static bool read_gname(const msgpack_object *o, char *name)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size < 1 ||
        o->via.str.size > BATON_GNAME_MAX ||
        baton_name_check(o->via.str.ptr, o->via.str.size) != 0) {
        return false;
    }
    memcpy(name, o->via.str.ptr, o->via.str.size);
    return true;
}

/* A payload of at most max bytes, borrowed from the input buffer:
 * msgpack-c references bin data there rather than copying it, and
 * baton_msg_decode() checks that it did. */
static bool read_payload(const msgpack_object *o, uint32_t max,
                         const uint8_t **data, uint32_t *len)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size > max) {
        return false;
    }
    *len = o->via.bin.size;
    *data = *len > 0 ? (const uint8_t *)o->via.bin.ptr : NULL;
    return true;
}

/* See put_raft. The entries are copied into the message (raft.entries),
 * the snapshot borrowed from the input. */
static bool read_raft(const msgpack_object *o, struct baton_msg *m)
{
    struct baton_raft_msg *r = &m->u.raft.m;
    const msgpack_object *a, *items;
    uint8_t pre, ok;

    if (!get_array(o, 10, &a) || !read_u8(&a[0], &r->type) ||
        r->type < BATON_RAFT_VOTE || r->type > BATON_RAFT_SNAPSHOT ||
        !read_u8(&a[1], &pre) || pre > 1 || !read_u8(&a[2], &ok) ||
        ok > 1 || !read_u64(&a[3], &r->term) ||
        !read_u64(&a[4], &r->index) || !read_u64(&a[5], &r->log_term) ||
        !read_u64(&a[6], &r->commit) || !read_u64(&a[7], &r->sent_ms) ||
        a[8].type != MSGPACK_OBJECT_ARRAY ||
        a[8].via.array.size > BATON_RAFT_BATCH) {
        return false;
    }
    r->pre = pre == 1;
    r->ok = ok == 1;
    r->from = m->from;
    r->to = m->to;
    r->n_entries = a[8].via.array.size;
    r->entries = r->n_entries > 0 ? m->u.raft.entries : NULL;
    items = a[8].via.array.ptr;
    for (uint32_t i = 0; i < r->n_entries; i++) {
        struct baton_raft_entry *x = &m->u.raft.entries[i];
        const msgpack_object *f;
        if (!get_array(&items[i], 2, &f) || !read_u64(&f[0], &x->term) ||
            f[1].type != MSGPACK_OBJECT_BIN ||
            f[1].via.bin.size > BATON_RAFT_DATA_MAX) {
            return false;
        }
        x->len = f[1].via.bin.size;
        if (x->len > 0) {
            memcpy(x->data, f[1].via.bin.ptr, x->len);
        }
    }
    return read_payload(&a[9], BATON_RAFT_SNAPSHOT_MAX, &r->data, &r->len);
}

/* The bodies of names and calls (see put_names_body). */
static bool read_names_body(const msgpack_object *o, struct baton_msg *m)
{
    const msgpack_object *a;

    switch (m->type) {
    case BATON_MSG_NAME_REQ:
        return get_array(o, 4, &a) && read_u64(&a[0], &m->u.name_req.req) &&
               read_u64(&a[1], &m->u.name_req.first) &&
               read_u8(&a[2], &m->u.name_req.kind) &&
               m->u.name_req.kind >= BATON_NAME_REGISTER &&
               m->u.name_req.kind < BATON_NAME__KIND_COUNT &&
               read_entry(&a[3], &m->u.name_req.name, ENTRY_REQ,
                          m->u.name_req.kind == BATON_NAME_DROP, 0);
    case BATON_MSG_NAME_REPLY:
        return get_array(o, 4, &a) &&
               read_u64(&a[0], &m->u.name_reply.req) &&
               read_u8(&a[1], &m->u.name_reply.code) &&
               m->u.name_reply.code < BATON_NAME_CODE__COUNT &&
               read_stream(&a[2], &m->u.name_reply.stream) &&
               read_u64(&a[3], &m->u.name_reply.index);
    case BATON_MSG_NAME_LOST:
        return get_array(o, 4, &a) &&
               read_u8(&a[0], &m->u.name_lost.reason) &&
               m->u.name_lost.reason >= BATON_LOST_REMOVED &&
               m->u.name_lost.reason < BATON_LOST__COUNT &&
               read_u64(&a[1], &m->u.name_lost.endpoint) &&
               read_u64(&a[2], &m->u.name_lost.epoch) &&
               read_gname(&a[3], m->u.name_lost.name);
    case BATON_MSG_CALL:
        return get_array(o, 7, &a) && read_u64(&a[0], &m->u.call.id) &&
               read_u8(&a[1], &m->u.call.caller) &&
               read_u8(&a[2], &m->u.call.hops) &&
               read_u8(&a[3], &m->u.call.flags) &&
               read_u64(&a[4], &m->u.call.caller_inc) &&
               read_gname(&a[5], m->u.call.name) &&
               read_payload(&a[6], BATON_CALL_DATA_MAX, &m->u.call.data,
                            &m->u.call.len);
    case BATON_MSG_REPLY:
        return get_array(o, 3, &a) && read_u64(&a[0], &m->u.reply.id) &&
               read_u8(&a[1], &m->u.reply.code) &&
               m->u.reply.code < BATON_NAME_CODE__COUNT &&
               read_payload(&a[2], BATON_CALL_DATA_MAX, &m->u.reply.data,
                            &m->u.reply.len);
    default:
        return false; /* a type outside 1..17 */
    }
}

static bool read_app_name(const msgpack_object *o, char *name, bool empty_ok)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > BATON_APP_NAME_MAX ||
        (o->via.str.size == 0 && !empty_ok)) {
        return false;
    }
    if (o->via.str.size == 0) {
        return true; /* an empty string may come with no bytes at all */
    }
    if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
        return false;
    }
    memcpy(name, o->via.str.ptr, o->via.str.size);
    return true;
}

/* See put_settings. Entries fill the record in order; a node's standby
 * appears once. */
static bool read_settings(const msgpack_object *o, struct baton_settings *st)
{
    const msgpack_object *a, *apps, *nodes, *f;

    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        st->app[i].pin = BATON_NODE_NONE;
    }
    if (!get_array(o, 2, &a) || a[0].type != MSGPACK_OBJECT_ARRAY ||
        a[0].via.array.size > BATON_APPS_MAX ||
        a[1].type != MSGPACK_OBJECT_ARRAY ||
        a[1].via.array.size > BATON_NODES_MAX) {
        return false;
    }
    apps = a[0].via.array.ptr;
    nodes = a[1].via.array.ptr;
    for (uint32_t i = 0; i < a[0].via.array.size; i++) {
        struct baton_app_setting *e = &st->app[i];
        if (!get_array(&apps[i], 4, &f) ||
            !read_app_name(&f[0], e->name, false) ||
            !read_u8(&f[1], &e->disabled) || !read_u8(&f[2], &e->pin) ||
            !read_u64(&f[3], &e->ver)) {
            return false;
        }
    }
    for (uint32_t i = 0; i < a[1].via.array.size; i++) {
        uint8_t x, on;
        uint64_t ver;
        if (!get_array(&nodes[i], 3, &f) || !read_u8(&f[0], &x) ||
            !read_u8(&f[1], &on) || !read_u64(&f[2], &ver) ||
            x >= BATON_NODES_MAX || ver == 0 || st->standby_ver[x] != 0) {
            return false;
        }
        st->standby[x] = on;
        st->standby_ver[x] = ver;
    }
    return true;
}

static bool read_body(const msgpack_object *o, struct baton_msg *m,
                      struct baton_names *names)
{
    const msgpack_object *a;

    switch (m->type) {
    case BATON_MSG_HEARTBEAT:
        return o->type == MSGPACK_OBJECT_NIL;
    case BATON_MSG_JOIN:
        return get_array(o, 3, &a) && read_stream(&a[0], &m->u.join.stream) &&
               read_state(&a[1], &m->u.join.replica) &&
               read_names(&a[2], names, m->u.join.replica.n_nodes,
                          &m->u.join.names);
    case BATON_MSG_SNAPSHOT: {
        uint64_t part;
        if (!get_array(o, 8, &a) ||
            !read_u64(&a[0], &m->u.snapshot.join_seq) ||
            !read_stream(&a[1], &m->u.snapshot.stream) ||
            !read_u64(&a[2], &m->u.snapshot.index) ||
            !read_state(&a[3], &m->u.snapshot.state) ||
            !read_u64(&a[4], &m->u.snapshot.snap) || !read_u64(&a[5], &part) ||
            part >= BATON_SNAPSHOT_PARTS_MAX ||
            !read_u8(&a[6], &m->u.snapshot.more) || m->u.snapshot.more > 1) {
            return false;
        }
        m->u.snapshot.part = (uint32_t)part;
        return read_names(&a[7], names, m->u.snapshot.state.n_nodes,
                          &m->u.snapshot.names);
    }

    case BATON_MSG_OP:
        return get_array(o, 3, &a) && read_stream(&a[0], &m->u.op.stream) &&
               read_u64(&a[1], &m->u.op.index) && read_op(&a[2], &m->u.op.op);
    case BATON_MSG_RESYNC:
        return get_array(o, 2, &a) && read_stream(&a[0], &m->u.resync.stream) &&
               read_u64(&a[1], &m->u.resync.applied);
    case BATON_MSG_REPORT:
        return read_reports(o, &m->u.report);
    case BATON_MSG_STATE:
        if (!get_array(o, 4, &a) || a[0].type != MSGPACK_OBJECT_STR ||
            a[0].via.str.size == 0 ||
            a[0].via.str.size > BATON_APP_NAME_MAX ||
            memchr(a[0].via.str.ptr, '\0', a[0].via.str.size) != NULL ||
            !read_u64(&a[1], &m->u.state.epoch) ||
            !read_u8(&a[2], &m->u.state.ok)) {
            return false;
        }
        memcpy(m->u.state.name, a[0].via.str.ptr, a[0].via.str.size);
        return read_payload(&a[3], BATON_STATE_MAX, &m->u.state.data,
                            &m->u.state.len);
    case BATON_MSG_RAFT:
        return read_raft(o, m);
    case BATON_MSG_ADMIN:
        return get_array(o, 4, &a) && read_u64(&a[0], &m->u.admin.id) &&
               read_u8(&a[1], &m->u.admin.kind) &&
               read_u8(&a[2], &m->u.admin.node) &&
               read_app_name(&a[3], m->u.admin.name, true);
    case BATON_MSG_ADMIN_REPLY:
        return get_array(o, 5, &a) && read_u64(&a[0], &m->u.admin_reply.id) &&
               read_u8(&a[1], &m->u.admin_reply.code) &&
               read_u8(&a[2], &m->u.admin_reply.owner) &&
               read_u8(&a[3], &m->u.admin_reply.status) &&
               read_u8(&a[4], &m->u.admin_reply.pin);
    case BATON_MSG_SETTINGS:
        return read_settings(o, &m->u.settings);
    default:
        return read_names_body(o, m);
    }
}

/* What read_msg fills: the message, the caller's table for a JOIN's
 * or SNAPSHOT's names, and the caller's list for a MEMBERS. */
struct msg_out {
    struct baton_msg *m;
    struct baton_names *names;
    struct baton_members *members;
};

/* A string of at most max bytes, no NUL, possibly empty. */
static bool read_text(const msgpack_object *o, char *out, size_t max)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > max ||
        memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
        return false;
    }
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
    return true;
}

static bool read_members(const msgpack_object *o, struct baton_msg *m,
                         struct baton_members *l)
{
    const msgpack_object *a;
    const msgpack_object *s;

    if (l == NULL || !get_array(o, 4, &a) ||
        !read_u8(&a[0], &m->u.members.reply) || m->u.members.reply > 1) {
        return false;
    }
    memset(l, 0, sizeof(*l));
    if (!read_u64(&a[1], &l->version) || !read_u8(&a[2], &l->n_slots) ||
        l->n_slots < 1 || l->n_slots > BATON_NODES_MAX ||
        !get_array(&a[3], l->n_slots, &s)) {
        return false;
    }
    for (unsigned i = 0; i < l->n_slots; i++) {
        struct baton_member *x = &l->slot[i];
        const msgpack_object *f;
        if (!get_array(&s[i], 3, &f) || !read_u8(&f[0], &x->kind) ||
            x->kind >= BATON_MEMBER__KIND_COUNT ||
            !read_text(&f[1], x->name, BATON_MEMBER_NAME_MAX) ||
            !read_text(&f[2], x->addr, BATON_MEMBER_ADDR_MAX)) {
            return false;
        }
    }
    m->u.members.list = l;
    return true;
}

static bool read_msg(const msgpack_object *o, void *out)
{
    struct msg_out *x = out;
    struct baton_msg *m = x->m;
    const msgpack_object *a;

    return get_array(o, 8, &a) && read_u8(&a[0], &m->type) &&
           read_u8(&a[1], &m->from) && read_u8(&a[2], &m->to) &&
           read_u64(&a[3], &m->from_inc) && read_u64(&a[4], &m->to_inc) &&
           read_u64(&a[5], &m->seq) && read_status(&a[6], &m->status) &&
           (m->type == BATON_MSG_MEMBERS
                ? read_members(&a[7], m, x->members)
                : read_body(&a[7], m, x->names));
}

/* name: str of 1..BATON_NAME_MAX bytes without NUL. A NUL would cut the
 * name short in h->name and make the handshake transcript, where names
 * are NUL-terminated, ambiguous (docs/design/transport.md §2). */
static bool read_name(const msgpack_object *o, char *name)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size < 1 ||
        o->via.str.size > BATON_NAME_MAX ||
        memchr(o->via.str.ptr, 0, o->via.str.size) != NULL) {
        return false;
    }
    memcpy(name, o->via.str.ptr, o->via.str.size);
    return true;
}

static bool read_hello(const msgpack_object *o, void *out)
{
    struct baton_hello *h = out;
    const msgpack_object *a;

    /* A later version appends fields and this one ignores them (wire.md
     * §2.1): at least the fields it knows, in their places. */
    if (o->type != MSGPACK_OBJECT_ARRAY ||
        o->via.array.size < BATON_HELLO_FIELDS) {
        return false;
    }
    a = o->via.array.ptr;
    if (a[0].type != MSGPACK_OBJECT_STR ||
        a[0].via.str.size != sizeof(hello_magic) - 1 ||
        memcmp(a[0].via.str.ptr, hello_magic, sizeof(hello_magic) - 1) != 0) {
        return false;
    }
    /* The part digests: whole ones, as many as the sender knows (a later
     * version may add parts; the receiver compares those it knows). */
    if (a[6].type != MSGPACK_OBJECT_BIN ||
        a[6].via.bin.size % BATON_CONFIG_PART_LEN != 0 ||
        a[6].via.bin.size > sizeof(h->parts)) {
        return false;
    }
    h->n_parts = (uint8_t)(a[6].via.bin.size / BATON_CONFIG_PART_LEN);
    /* Appended fields this version knows: `aeads`, any bits. */
    h->has_aeads = o->via.array.size >= BATON_HELLO_FIELDS_AEADS;
    if (h->has_aeads && !read_u8(&a[9], &h->aeads)) {
        return false;
    }
    return read_u8(&a[1], &h->version) && read_name(&a[2], h->name) &&
           read_u64(&a[3], &h->inc) && h->inc != 0 &&
           read_bin(&a[4], h->nonce, sizeof(h->nonce)) &&
           read_bin(&a[5], h->config, sizeof(h->config)) &&
           read_bin(&a[6], h->parts[0], a[6].via.bin.size) &&
           read_u8(&a[7], &h->wire_min) && read_u8(&a[8], &h->wire_max) &&
           h->wire_min != 0 && h->wire_min <= h->wire_max;
}

static bool read_proof(const msgpack_object *o, void *out)
{
    struct baton_proof *p = out;
    const msgpack_object *a;

    return get_array(o, 1, &a) && read_bin(&a[0], p->mac, sizeof(p->mac));
}

typedef bool (*read_fn)(const msgpack_object *o, void *out);

struct baton_wire_zone {
    msgpack_zone z;
};

struct baton_wire_zone *baton_wire_zone_new(void)
{
    struct baton_wire_zone *wz = malloc(sizeof(*wz));

    if (wz != NULL && !msgpack_zone_init(&wz->z, MSGPACK_ZONE_CHUNK_SIZE)) {
        free(wz);
        wz = NULL;
    }
    return wz;
}

void baton_wire_zone_free(struct baton_wire_zone *wz)
{
    if (wz != NULL) {
        msgpack_zone_destroy(&wz->z);
        free(wz);
    }
}

/* Decoding: the three steps together, the tree built in zone, which is
 * cleared after (it keeps its first chunk). The caller zeroes its
 * output first, so that whatever the encoding does not carry reads as
 * zero. */
static int decode_in(msgpack_zone *zone, const uint8_t *buf, size_t len,
                     read_fn read, void *out)
{
    msgpack_object obj;
    size_t off = 0;
    int rv;

    rv = skim(buf, len);
    if (rv != 0) {
        return rv;
    }
    /* msgpack_unpack(): the same parser as msgpack_unpack_next(), into a
     * zone of ours instead of one it allocates for every object. */
    switch (msgpack_unpack((const char *)buf, len, &off, zone, &obj)) {
    case MSGPACK_UNPACK_SUCCESS:
        rv = off == len ? 0 : BATON_EBADMSG;
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        rv = BATON_ENOMEM;
        break;
    default: /* EXTRA_BYTES (skim() leaves none), CONTINUE, PARSE_ERROR */
        rv = BATON_EBADMSG;
        break;
    }
    if (rv == 0) {
        rv = read(&obj, out) ? 0 : BATON_EBADMSG;
    }
    msgpack_zone_clear(zone);
    return rv;
}

/* decode_in() in the caller's zone, or in one made for this call. */
static int decode(struct baton_wire_zone *wz, const uint8_t *buf, size_t len,
                  read_fn read, void *out)
{
    msgpack_zone own;
    int rv;

    if (wz != NULL) {
        return decode_in(&wz->z, buf, len, read, out);
    }
    if (!msgpack_zone_init(&own, MSGPACK_ZONE_CHUNK_SIZE)) {
        return BATON_ENOMEM;
    }
    rv = decode_in(&own, buf, len, read, out);
    msgpack_zone_destroy(&own);
    return rv;
}

/* Does the borrowed payload of n bytes at data lie within buf? */
static bool within(const uint8_t *buf, size_t len, const uint8_t *data,
                   uint32_t n)
{
    return n == 0 || (data >= buf && (size_t)(data - buf) <= len &&
                      n <= len - (size_t)(data - buf));
}

int baton_msg_decode(const uint8_t *buf, size_t len, struct baton_msg *out,
                     struct baton_names *names)
{
    return baton_msg_decode_in(NULL, buf, len, out, names, NULL);
}

int baton_msg_decode_into(const uint8_t *buf, size_t len,
                          struct baton_msg *out, struct baton_names *names,
                          struct baton_members *members)
{
    return baton_msg_decode_in(NULL, buf, len, out, names, members);
}

int baton_msg_decode_in(struct baton_wire_zone *wz, const uint8_t *buf,
                        size_t len, struct baton_msg *out,
                        struct baton_names *names,
                        struct baton_members *members)
{
    struct msg_out x = {out, names, members};
    int rv;

    memset(out, 0, sizeof(*out));
    rv = decode(wz, buf, len, read_msg, &x);
    if (rv != 0) {
        return rv;
    }
    /* STATE, CALL and REPLY borrow their bytes from buf: make sure they
     * are there (and not in memory msgpack-c has freed). */
    switch (out->type) {
    case BATON_MSG_STATE:
        return within(buf, len, out->u.state.data, out->u.state.len)
                   ? 0
                   : BATON_EBADMSG;
    case BATON_MSG_CALL:
        return within(buf, len, out->u.call.data, out->u.call.len)
                   ? 0
                   : BATON_EBADMSG;
    case BATON_MSG_REPLY:
        return within(buf, len, out->u.reply.data, out->u.reply.len)
                   ? 0
                   : BATON_EBADMSG;
    case BATON_MSG_RAFT:
        return within(buf, len, out->u.raft.m.data, out->u.raft.m.len)
                   ? 0
                   : BATON_EBADMSG;
    default:
        return 0;
    }
}

int baton_hello_decode(const uint8_t *buf, size_t len, struct baton_hello *out)
{
    memset(out, 0, sizeof(*out));
    return decode(NULL, buf, len, read_hello, out);
}

int baton_proof_decode(const uint8_t *buf, size_t len, struct baton_proof *out)
{
    memset(out, 0, sizeof(*out));
    return decode(NULL, buf, len, read_proof, out);
}
