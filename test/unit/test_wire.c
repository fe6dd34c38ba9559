/* Unit tests for the wire format: frame headers (src/wire/frame.c) and
 * MessagePack bodies (src/wire/codec.c). See docs/design/wire.md. */
#include "../../src/util/setup.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/prng.h"
#include "../../src/io/secure.h"
#include "../../src/util/error.h"
#include "../../src/wire/codec.h"
#include "../../src/wire/frame.h"

/* Iterations of the randomized round trips. */
#define PROPERTY_ROUNDS (3000)
/* Comfortably above the largest random encoding (a JOIN with a full
 * state and RAND_NAMES_MAX long names is under 8 KiB). */
#define BUF_CAP (16384)
/* Objects in the largest message's tree. */
#define TREE_NODES_MAX (1024)
/* Name tables: the random messages' source, the decoders' tables. */
#define TABLE_CAP (64)
#define RAND_NAMES_MAX (8)
/* Bytes a random CALL or REPLY carries at most. */
#define RAND_DATA_MAX (300)

enum kind {
    KIND_MSG,
    KIND_HELLO,
    KIND_PROOF,
};

/* Name tables: src holds the entries random JOINs and SNAPSHOTs carry,
 * rx is what decode_kind() decodes into, rt what round trips decode
 * into (so that a message decoded into rx can make a round trip). */
static struct baton_name src_slots[TABLE_CAP];
static struct baton_name rx_slots[TABLE_CAP];
static struct baton_name rt_slots[TABLE_CAP];
static struct baton_names src_tab;
static struct baton_names rx_tab;
static struct baton_names rt_tab;
/* Where a decoded MEMBERS message's list goes (membership.md §2). */
static struct baton_members t_members;
/* Where random MEMBERS messages' lists are (a message borrows one). */
static struct baton_members rand_lists[4];
static unsigned rand_lists_next;
/* Bytes random CALLs and REPLYs borrow. */
static uint8_t rand_data[RAND_DATA_MAX];

static int tables_setup(void **state)
{
    BATON_UNUSED(state);
    memset(src_slots, 0, sizeof(src_slots));
    memset(rx_slots, 0, sizeof(rx_slots));
    memset(rt_slots, 0, sizeof(rt_slots));
    baton_names_init(&src_tab, src_slots, TABLE_CAP);
    baton_names_init(&rx_tab, rx_slots, TABLE_CAP);
    baton_names_init(&rt_tab, rt_slots, TABLE_CAP);
    for (size_t i = 0; i < sizeof(rand_data); i++) {
        rand_data[i] = (uint8_t)(i * 13 + 5);
    }
    return 0;
}

/* Random values */

/* A u64 of random width, so that every integer encoding (fixint, uint 8
 * to uint 64) turns up. */
static uint64_t rand_u64(struct baton_prng *p)
{
    return baton_prng_next(p) >> baton_prng_below(p, 64);
}

static uint8_t rand_u8(struct baton_prng *p)
{
    return (uint8_t)baton_prng_below(p, 256);
}

static void rand_bytes(struct baton_prng *p, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = rand_u8(p);
    }
}

static void rand_stream(struct baton_prng *p, struct baton_stream *s)
{
    s->coord = rand_u8(p);
    s->coord_inc = rand_u64(p);
    s->claim = rand_u64(p);
}

/* An app entry with a unique, non-empty name (the slot number is part
 * of it) and any values in the carried fields. */
static void rand_app(struct baton_prng *p, struct baton_state_app *a,
                     unsigned slot, unsigned n_nodes)
{
    size_t len = 3 + (size_t)baton_prng_below(p, BATON_APP_NAME_MAX - 2);

    memset(a, 0, sizeof(*a));
    a->name[0] = (char)('a' + slot);
    for (size_t i = 1; i < len; i++) {
        a->name[i] = (char)('a' + baton_prng_below(p, 26));
    }
    a->status = (uint8_t)(1 + baton_prng_below(p, 254));
    a->type = rand_u8(p);
    a->owner = rand_u8(p);
    a->from = rand_u8(p);
    a->prev = rand_u8(p);
    a->owner_inc = rand_u64(p);
    a->prev_inc = rand_u64(p);
    a->epoch = rand_u64(p);
    a->epoch_max = rand_u64(p);
    a->failover_timeout_ms = rand_u64(p);
    rand_bytes(p, a->rank, n_nodes);
}

static void rand_reports(struct baton_prng *p, struct baton_app_reports *r)
{
    r->n = (uint8_t)baton_prng_below(p, BATON_APPS_MAX + 1);
    for (unsigned i = 0; i < r->n; i++) {
        struct baton_state_app a;
        struct baton_app_report *q = &r->r[i];
        rand_app(p, &a, i, BATON_NODES_MAX);
        memcpy(q->name, a.name, sizeof(q->name));
        q->flags = rand_u8(p);
        q->run = rand_u8(p);
        q->epoch = rand_u64(p);
        q->exited = rand_u64(p);
        q->last = rand_u64(p);
        q->failover_timeout_ms = rand_u64(p);
        memcpy(q->rank, a.rank, sizeof(q->rank));
        /* From the values above, so that the PRNG's sequence (and every
         * later sample of a seed) stays what it was before version 4. */
        q->mode = (uint8_t)(q->flags & 1);
        q->lease_ms = q->epoch ^ q->last;
        q->stop_margin_ms = q->exited ^ q->failover_timeout_ms;
    }
}

/* A state of n_nodes nodes, or of a random count when n_nodes is 0.
 * Only the fields the format carries are set. */
static void rand_state(struct baton_prng *p, struct baton_state *s,
                       unsigned n_nodes)
{
    if (n_nodes == 0) {
        n_nodes = 1 + (unsigned)baton_prng_below(p, BATON_NODES_MAX);
    }
    s->n_nodes = (uint8_t)n_nodes;
    s->coord = rand_u8(p);
    s->coord_inc = rand_u64(p);
    s->epoch = rand_u64(p);
    s->name_epoch_max = rand_u64(p);
    for (unsigned i = 0; i < n_nodes; i++) {
        s->nodes[i].inc = rand_u64(p);
        s->nodes[i].member = rand_u8(p);
        s->name_rank[i] = rand_u8(p);
    }
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        if (baton_prng_chance(p, 400000)) {
            rand_app(p, &s->apps[k], k, n_nodes);
        }
    }
}

/* A global name of len bytes (0x21..0x7e), first byte from tag so
 * that names with different tags differ. */
static void rand_gname(struct baton_prng *p, char *name, size_t len,
                       unsigned tag)
{
    memset(name, 0, BATON_GNAME_MAX + 1);
    for (size_t i = 0; i < len; i++) {
        name[i] = (char)(0x21 + baton_prng_below(p, 0x7e - 0x21 + 1));
    }
    if (len > 0) {
        name[0] = (char)(0x21 + tag % (0x7e - 0x21 + 1));
    }
}

static uint64_t rand_nonzero(struct baton_prng *p)
{
    uint64_t v = rand_u64(p);

    return v != 0 ? v : 1;
}

enum entry_kind { ENTRY_TABLE, ENTRY_OP, ENTRY_REQ };

/* A name entry as the format carries it for kind: a table's passes
 * baton_name_validate() for n_nodes, a request's has no owner, an op's
 * has any values beyond a valid name and metadata. */
static void rand_entry(struct baton_prng *p, struct baton_name *e,
                       enum entry_kind kind, unsigned n_nodes, unsigned tag)
{
    size_t len = 1 + (size_t)baton_prng_below(p, BATON_GNAME_MAX);

    memset(e, 0, sizeof(*e));
    rand_gname(p, e->name, len, tag);
    e->owner = kind == ENTRY_TABLE ? (uint8_t)baton_prng_below(p, n_nodes)
               : kind == ENTRY_REQ ? 0
                                   : rand_u8(p);
    e->resolver = kind == ENTRY_OP
                      ? rand_u8(p)
                      : (uint8_t)baton_prng_below(p, BATON_RESOLVE__COUNT);
    e->owner_inc = kind == ENTRY_REQ ? 0 : rand_nonzero(p);
    e->endpoint = rand_nonzero(p);
    e->epoch = rand_nonzero(p);
    e->meta_len = (uint16_t)baton_prng_below(p, BATON_GNAME_META_MAX + 1);
    rand_bytes(p, e->meta, e->meta_len);
}

/* Fills src_tab with up to RAND_NAMES_MAX entries for n_nodes nodes. */
static const struct baton_names *rand_table(struct baton_prng *p,
                                            unsigned n_nodes)
{
    unsigned n = (unsigned)baton_prng_below(p, RAND_NAMES_MAX + 1);

    baton_names_clear(&src_tab);
    for (unsigned i = 0; i < n; i++) {
        struct baton_name e;
        rand_entry(p, &e, ENTRY_TABLE, n_nodes, i);
        assert_int_equal(baton_names_put(&src_tab, &e), 0);
    }
    /* No table and an empty one encode alike. */
    return n == 0 && baton_prng_chance(p, 500000) ? NULL : &src_tab;
}

/* A third of the ops are MERGEs, a third name ops; the rest have any u8
 * type, since the codec does not judge meaning. */
static void rand_op(struct baton_prng *p, struct baton_op *op, unsigned n_nodes)
{
    switch (baton_prng_below(p, 3)) {
    case 0:
        op->type = BATON_OP_MERGE;
        break;
    case 1:
        op->type = (uint8_t)(BATON_OP_NAME_SET + baton_prng_below(p, 3));
        break;
    default:
        op->type = rand_u8(p);
        break;
    }
    op->node = rand_u8(p);
    op->fresh = rand_u8(p);
    op->inc = rand_u64(p);
    op->epoch = rand_u64(p);
    op->origin = rand_u8(p);
    op->reason = (uint8_t)baton_prng_below(p, BATON_LOST__COUNT);
    op->req = rand_u64(p);
    if (op->type == BATON_OP_MERGE) {
        rand_state(p, &op->other, n_nodes);
    } else if (op->type == BATON_OP_APP) {
        op->node = (uint8_t)baton_prng_below(p, BATON_APPS_MAX);
        rand_app(p, &op->app, op->node, BATON_NODES_MAX);
    } else if (op->type == BATON_OP_NAME_SET ||
               op->type == BATON_OP_NAME_DEL) {
        rand_entry(p, &op->name, ENTRY_OP, 0, 0);
    }
}

/* Borrowed bytes for a CALL or REPLY: none, or some of rand_data. */
static void rand_payload(struct baton_prng *p, const uint8_t **data,
                         uint32_t *len)
{
    *len = (uint32_t)baton_prng_below(p, RAND_DATA_MAX + 1);
    *data = *len > 0 ? rand_data + baton_prng_below(p, RAND_DATA_MAX - *len + 1)
                     : NULL;
}

/* The bodies of names and calls. */
static void rand_names_msg(struct baton_prng *p, struct baton_msg *m)
{
    switch (m->type) {
    case BATON_MSG_NAME_REQ:
        m->u.name_req.req = rand_u64(p);
        m->u.name_req.first = rand_u64(p);
        m->u.name_req.kind = (uint8_t)(BATON_NAME_REGISTER +
                                       baton_prng_below(p, 4));
        rand_entry(p, &m->u.name_req.name, ENTRY_REQ, 0, 0);
        if (m->u.name_req.kind == BATON_NAME_DROP &&
            baton_prng_chance(p, 500000)) {
            memset(m->u.name_req.name.name, 0,
                   sizeof(m->u.name_req.name.name));
        }
        break;
    case BATON_MSG_NAME_REPLY:
        m->u.name_reply.req = rand_u64(p);
        m->u.name_reply.code =
            (uint8_t)baton_prng_below(p, BATON_NAME_CODE__COUNT);
        rand_stream(p, &m->u.name_reply.stream);
        m->u.name_reply.index = rand_u64(p);
        break;
    case BATON_MSG_NAME_LOST:
        m->u.name_lost.reason =
            (uint8_t)(1 + baton_prng_below(p, BATON_LOST__COUNT - 1));
        m->u.name_lost.endpoint = rand_u64(p);
        m->u.name_lost.epoch = rand_u64(p);
        rand_gname(p, m->u.name_lost.name,
                   1 + (size_t)baton_prng_below(p, BATON_GNAME_MAX), 0);
        break;
    case BATON_MSG_CALL:
        m->u.call.id = rand_u64(p);
        m->u.call.caller = rand_u8(p);
        m->u.call.hops = rand_u8(p);
        m->u.call.flags = rand_u8(p);
        m->u.call.caller_inc = rand_u64(p);
        rand_gname(p, m->u.call.name,
                   1 + (size_t)baton_prng_below(p, BATON_GNAME_MAX), 0);
        rand_payload(p, &m->u.call.data, &m->u.call.len);
        break;
    case BATON_MSG_REPLY:
        m->u.reply.id = rand_u64(p);
        m->u.reply.code = (uint8_t)baton_prng_below(p, BATON_NAME_CODE__COUNT);
        rand_payload(p, &m->u.reply.data, &m->u.reply.len);
        break;
    default:
        break;
    }
}

/* A Raft message: entries only in an APPEND, a snapshot only in a
 * SNAPSHOT (as raft.c sends them; the codec takes any mix), entries
 * held in the message as a decoded one holds them. */
static void rand_raft_msg(struct baton_prng *p, struct baton_msg *m)
{
    struct baton_raft_msg *r = &m->u.raft.m;

    r->type = (uint8_t)(BATON_RAFT_VOTE +
                        baton_prng_below(p, BATON_RAFT_SNAPSHOT));
    r->from = m->from;
    r->to = m->to;
    r->pre = baton_prng_chance(p, 500000);
    r->ok = baton_prng_chance(p, 500000);
    r->term = rand_u64(p);
    r->index = rand_u64(p);
    r->log_term = rand_u64(p);
    r->commit = rand_u64(p);
    r->sent_ms = rand_u64(p);
    if (r->type == BATON_RAFT_APPEND) {
        r->n_entries = (uint32_t)baton_prng_below(p, BATON_RAFT_BATCH + 1);
        for (uint32_t i = 0; i < r->n_entries; i++) {
            struct baton_raft_entry *e = &m->u.raft.entries[i];
            e->term = rand_u64(p);
            e->len = (uint32_t)baton_prng_below(p, BATON_RAFT_DATA_MAX + 1);
            rand_bytes(p, e->data, e->len);
        }
        r->entries = r->n_entries > 0 ? m->u.raft.entries : NULL;
    }
    if (r->type == BATON_RAFT_SNAPSHOT) {
        rand_payload(p, &r->data, &r->len);
    }
}

/* A random member list (syntax only: the codec leaves its meaning to
 * the core), zeroed first, so that it compares byte for byte. */
static void rand_members(struct baton_prng *p, struct baton_msg *m,
                         unsigned n_nodes)
{
    struct baton_members *l = &rand_lists[rand_lists_next++ % 4];

    memset(l, 0, sizeof(*l));
    l->version = rand_u64(p);
    l->n_slots = (uint8_t)(n_nodes != 0 ? n_nodes
                                        : 1 + baton_prng_below(
                                                  p, BATON_NODES_MAX));
    for (unsigned i = 0; i < l->n_slots; i++) {
        struct baton_member *x = &l->slot[i];
        x->kind = (uint8_t)baton_prng_below(p, BATON_MEMBER__KIND_COUNT);
        if (i == 0) {
            /* The longest name and address the format carries. */
            memset(x->name, 'n', BATON_MEMBER_NAME_MAX);
            memset(x->addr, 'a', BATON_MEMBER_ADDR_MAX);
        } else if (x->kind != BATON_MEMBER_FREE) {
            snprintf(x->name, sizeof(x->name), "n%u@h%u", i, rand_u8(p));
            snprintf(x->addr, sizeof(x->addr), "10.0.0.%u:%u", i,
                     rand_u8(p) + 4000u);
        }
    }
    m->u.members.reply = (uint8_t)baton_prng_below(p, 2);
    m->u.members.list = l;
}

/* A random message of the given type, zeroed first so that it can be
 * compared byte for byte with its decoding. */
/* Operator settings as a decoder fills them: the named entries first,
 * the rest free (no pin), and a standby only with a version. */
static void rand_settings(struct baton_prng *p, struct baton_settings *st)
{
    unsigned n = (unsigned)baton_prng_below(p, BATON_APPS_MAX + 1);

    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        st->app[i].pin = BATON_NODE_NONE;
    }
    for (unsigned i = 0; i < n; i++) {
        snprintf(st->app[i].name, sizeof(st->app[i].name), "s%u", i);
        st->app[i].disabled = rand_u8(p);
        st->app[i].pin = rand_u8(p);
        st->app[i].ver = rand_u64(p);
    }
    for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
        if (baton_prng_chance(p, 300000)) {
            st->standby[x] = rand_u8(p);
            st->standby_ver[x] = rand_u64(p) | 1;
        }
    }
}

static void rand_msg(struct baton_prng *p, struct baton_msg *m, unsigned type,
                     unsigned n_nodes)
{
    memset(m, 0, sizeof(*m));
    m->type = (uint8_t)type;
    m->from = rand_u8(p);
    m->to = rand_u8(p);
    m->from_inc = rand_u64(p);
    m->to_inc = rand_u64(p);
    m->seq = rand_u64(p);
    m->status.role = rand_u8(p);
    m->status.coord = rand_u8(p);
    m->status.synced = rand_u8(p);
    m->status.epoch = rand_u64(p);
    /* Derived, not drawn: the draws that follow stay as they were. */
    m->status.heard = m->status.epoch >> 17;
    m->status.index = rand_u64(p);
    rand_stream(p, &m->status.stream);
    switch (type) {
    case BATON_MSG_JOIN:
        rand_stream(p, &m->u.join.stream);
        rand_state(p, &m->u.join.replica, n_nodes);
        m->u.join.names = rand_table(p, m->u.join.replica.n_nodes);
        break;
    case BATON_MSG_SNAPSHOT:
        m->u.snapshot.join_seq = rand_u64(p);
        rand_stream(p, &m->u.snapshot.stream);
        m->u.snapshot.index = rand_u64(p);
        rand_state(p, &m->u.snapshot.state, n_nodes);
        m->u.snapshot.names = rand_table(p, m->u.snapshot.state.n_nodes);
        /* Derived, not drawn, as heard above. */
        m->u.snapshot.snap = m->u.snapshot.index ^ m->u.snapshot.join_seq;
        m->u.snapshot.part =
            (uint32_t)(m->u.snapshot.join_seq % BATON_SNAPSHOT_PARTS_MAX);
        m->u.snapshot.more = (uint8_t)(m->u.snapshot.index & 1);
        break;
    case BATON_MSG_OP:
        rand_stream(p, &m->u.op.stream);
        m->u.op.index = rand_u64(p);
        rand_op(p, &m->u.op.op, n_nodes);
        break;
    case BATON_MSG_RESYNC:
        rand_stream(p, &m->u.resync.stream);
        m->u.resync.applied = rand_u64(p);
        break;
    case BATON_MSG_REPORT:
        rand_reports(p, &m->u.report);
        break;
    case BATON_MSG_STATE:
        /* The bytes are borrowed from the decoder's input, so round
         * trips compare a state without bytes here, and
         * test_state_bytes the rest. */
        snprintf(m->u.state.name, sizeof(m->u.state.name), "st%u",
                 rand_u8(p));
        m->u.state.epoch = rand_u64(p) | 1;
        m->u.state.ok = rand_u8(p);
        break;
    case BATON_MSG_RAFT:
        rand_raft_msg(p, m);
        break;
    case BATON_MSG_MEMBERS:
        rand_members(p, m, n_nodes);
        break;
    case BATON_MSG_ADMIN:
        m->u.admin.id = rand_u64(p);
        m->u.admin.kind = rand_u8(p);
        m->u.admin.node = rand_u8(p);
        if (baton_prng_chance(p, 800000)) {
            snprintf(m->u.admin.name, sizeof(m->u.admin.name), "ad%u",
                     rand_u8(p));
        }
        break;
    case BATON_MSG_ADMIN_REPLY:
        m->u.admin_reply.id = rand_u64(p);
        m->u.admin_reply.code = rand_u8(p);
        m->u.admin_reply.owner = rand_u8(p);
        m->u.admin_reply.status = rand_u8(p);
        m->u.admin_reply.pin = rand_u8(p);
        break;
    case BATON_MSG_SETTINGS:
        rand_settings(p, &m->u.settings);
        break;
    default:
        rand_names_msg(p, m);
        break;
    }
}

static void rand_hello(struct baton_prng *p, struct baton_hello *h,
                       size_t name_len)
{
    memset(h, 0, sizeof(*h));
    h->version = rand_u8(p);
    for (size_t i = 0; i < name_len; i++) {
        h->name[i] = (char)(1 + baton_prng_below(p, 255));
    }
    h->inc = 1 + baton_prng_below(p, UINT64_MAX);
    rand_bytes(p, h->nonce, sizeof(h->nonce));
    rand_bytes(p, h->config, sizeof(h->config));
    h->n_parts = (uint8_t)baton_prng_below(p, BATON_CONFIG_PARTS_MAX + 1);
    rand_bytes(p, h->parts[0], (size_t)h->n_parts * BATON_CONFIG_PART_LEN);
    h->wire_min = (uint8_t)(1 + baton_prng_below(p, 255));
    h->wire_max =
        (uint8_t)(h->wire_min + baton_prng_below(p, 256u - h->wire_min));
    /* Half of them an older build's, without `aeads`. */
    h->has_aeads = baton_prng_below(p, 2) == 1;
    h->aeads = h->has_aeads ? rand_u8(p) : 0;
}

/* Samples: one valid encoding of every shape */

struct sample {
    enum kind kind;
    uint8_t buf[BUF_CAP];
    size_t len;
};

/* Moves every u64 field above 255, so that the mutation tests can tell
 * u8 fields from u64 fields by value in a decoded tree. */
#define BIG (0x100u)

static void big_stream(struct baton_stream *s)
{
    s->coord_inc |= BIG;
    s->claim |= BIG;
}

static void big_app(struct baton_state_app *a)
{
    a->owner_inc |= BIG;
    a->prev_inc |= BIG;
    a->epoch |= BIG;
    a->epoch_max |= BIG;
    a->failover_timeout_ms |= BIG;
}

static void big_state(struct baton_state *s)
{
    s->coord_inc |= BIG;
    s->epoch |= BIG;
    s->name_epoch_max |= BIG;
    for (unsigned i = 0; i < s->n_nodes; i++) {
        s->nodes[i].inc |= BIG;
    }
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        if (s->apps[k].status != BATON_APP_FREE) {
            big_app(&s->apps[k]);
        }
    }
}

static void big_msg(struct baton_msg *m)
{
    m->from_inc |= BIG;
    m->to_inc |= BIG;
    m->seq |= BIG;
    m->status.heard |= BIG;
    m->status.epoch |= BIG;
    m->status.index |= BIG;
    big_stream(&m->status.stream);
    switch (m->type) {
    case BATON_MSG_JOIN:
        big_stream(&m->u.join.stream);
        big_state(&m->u.join.replica);
        break;
    case BATON_MSG_SNAPSHOT:
        m->u.snapshot.join_seq |= BIG;
        big_stream(&m->u.snapshot.stream);
        m->u.snapshot.index |= BIG;
        big_state(&m->u.snapshot.state);
        break;
    case BATON_MSG_OP:
        big_stream(&m->u.op.stream);
        m->u.op.index |= BIG;
        m->u.op.op.inc |= BIG;
        m->u.op.op.epoch |= BIG;
        m->u.op.op.req |= BIG;
        if (m->u.op.op.type == BATON_OP_MERGE) {
            big_state(&m->u.op.op.other);
        } else if (m->u.op.op.type == BATON_OP_APP) {
            big_app(&m->u.op.op.app);
        } else if (m->u.op.op.type == BATON_OP_NAME_SET ||
                   m->u.op.op.type == BATON_OP_NAME_DEL) {
            m->u.op.op.name.owner_inc |= BIG;
            m->u.op.op.name.endpoint |= BIG;
            m->u.op.op.name.epoch |= BIG;
        }
        break;
    case BATON_MSG_RESYNC:
        big_stream(&m->u.resync.stream);
        m->u.resync.applied |= BIG;
        break;
    case BATON_MSG_STATE:
        m->u.state.epoch |= BIG;
        break;
    case BATON_MSG_ADMIN:
        m->u.admin.id |= BIG;
        break;
    case BATON_MSG_ADMIN_REPLY:
        m->u.admin_reply.id |= BIG;
        break;
    case BATON_MSG_SETTINGS:
        for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
            m->u.settings.app[i].ver |= m->u.settings.app[i].name[0] ? BIG : 0;
        }
        for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
            m->u.settings.standby_ver[x] |=
                m->u.settings.standby_ver[x] ? BIG : 0;
        }
        break;
    case BATON_MSG_NAME_REQ:
        m->u.name_req.req |= BIG;
        m->u.name_req.first |= BIG;
        m->u.name_req.name.endpoint |= BIG;
        m->u.name_req.name.epoch |= BIG;
        break;
    case BATON_MSG_NAME_REPLY:
        m->u.name_reply.req |= BIG;
        m->u.name_reply.index |= BIG;
        big_stream(&m->u.name_reply.stream);
        break;
    case BATON_MSG_NAME_LOST:
        m->u.name_lost.endpoint |= BIG;
        m->u.name_lost.epoch |= BIG;
        break;
    case BATON_MSG_CALL:
        m->u.call.id |= BIG;
        m->u.call.caller_inc |= BIG;
        break;
    case BATON_MSG_REPLY:
        m->u.reply.id |= BIG;
        break;
    case BATON_MSG_MEMBERS:
        /* The list is one of rand_lists, which the test owns. */
        rand_lists[(rand_lists_next + 3) % 4].version |= BIG;
        break;
    case BATON_MSG_RAFT:
        m->u.raft.m.term |= BIG;
        m->u.raft.m.index |= BIG;
        m->u.raft.m.log_term |= BIG;
        m->u.raft.m.commit |= BIG;
        m->u.raft.m.sent_ms |= BIG;
        break;
    case BATON_MSG_REPORT:
        for (unsigned i = 0; i < m->u.report.n; i++) {
            m->u.report.r[i].epoch |= BIG;
            m->u.report.r[i].exited |= BIG;
            m->u.report.r[i].last |= BIG;
            m->u.report.r[i].failover_timeout_ms |= BIG;
            m->u.report.r[i].lease_ms |= BIG;
            m->u.report.r[i].stop_margin_ms |= BIG;
        }
        break;
    default:
        break;
    }
}

/* Two entries for n_nodes nodes in src_tab, their u64 fields above 255
 * and no metadata (every bin of a sample has a fixed size or none). */
static const struct baton_names *sample_table(struct baton_prng *p,
                                             unsigned n_nodes)
{
    baton_names_clear(&src_tab);
    for (unsigned i = 0; i < 2; i++) {
        struct baton_name e;
        rand_entry(p, &e, ENTRY_TABLE, n_nodes, i);
        e.name[1 + baton_prng_below(p, 15)] = '\0';
        e.owner_inc |= BIG;
        e.endpoint |= BIG;
        e.epoch |= BIG;
        e.meta_len = 0;
        assert_int_equal(baton_names_put(&src_tab, &e), 0);
    }
    return &src_tab;
}

/* A message of a sample: a small table, no variable-length bins. */
static void sample_fix(struct baton_prng *p, struct baton_msg *m)
{
    switch (m->type) {
    case BATON_MSG_JOIN:
        m->u.join.names = sample_table(p, m->u.join.replica.n_nodes);
        break;
    case BATON_MSG_SNAPSHOT:
        m->u.snapshot.names = sample_table(p, m->u.snapshot.state.n_nodes);
        break;
    case BATON_MSG_OP:
        m->u.op.op.name.meta_len = 0;
        break;
    case BATON_MSG_NAME_REQ:
        m->u.name_req.name.meta_len = 0;
        break;
    case BATON_MSG_CALL:
        m->u.call.len = 0;
        m->u.call.data = NULL;
        break;
    case BATON_MSG_REPLY:
        m->u.reply.len = 0;
        m->u.reply.data = NULL;
        break;
    case BATON_MSG_RAFT:
        /* An APPEND with two empty entries: every field is there, and
         * the only bins, of any length, are empty. */
        m->u.raft.m.type = BATON_RAFT_APPEND;
        m->u.raft.m.n_entries = 2;
        m->u.raft.m.entries = m->u.raft.entries;
        memset(m->u.raft.entries, 0, sizeof(m->u.raft.entries));
        m->u.raft.entries[0].term = rand_u64(p) | BIG;
        m->u.raft.entries[1].term = rand_u64(p) | BIG;
        m->u.raft.m.len = 0;
        m->u.raft.m.data = NULL;
        break;
    default:
        break;
    }
}

static void add_msg_sample(struct sample *s, struct baton_msg *m)
{
    big_msg(m);
    s->kind = KIND_MSG;
    assert_int_equal(baton_msg_encode(m, s->buf, BUF_CAP, &s->len), 0);
}

/* Every message type, a MERGE op with a full state and with a single
 * node, a non-MERGE op, a hello with the longest name and a proof. Every
 * u64 field is above 255 and every u8 field at most 255. */
/* One per message type, four more messages, a HELLO and a PROOF. */
#define SAMPLES_N ((BATON_MSG__COUNT - 1) + 6)

static void make_samples(struct sample *s)
{
    struct baton_prng p;
    struct baton_msg m;
    struct baton_hello h;
    struct baton_proof proof;
    size_t i = 0;

    baton_prng_seed(&p, 7);
    for (unsigned type = BATON_MSG_HEARTBEAT; type < BATON_MSG__COUNT; type++) {
        rand_msg(&p, &m, type, BATON_NODES_MAX);
        if (type == BATON_MSG_OP) {
            m.u.op.op.type = BATON_OP_MERGE;
            memset(&m.u.op.op.app, 0, sizeof(m.u.op.op.app));
            memset(&m.u.op.op.name, 0, sizeof(m.u.op.op.name));
            rand_state(&p, &m.u.op.op.other, BATON_NODES_MAX);
        }
        if (type == BATON_MSG_NAME_REQ) {
            m.u.name_req.kind = BATON_NAME_REGISTER;
            m.u.name_req.name.name[20] = '\0';
        }
        sample_fix(&p, &m);
        add_msg_sample(&s[i++], &m);
    }
    /* A name op's entry. */
    rand_msg(&p, &m, BATON_MSG_OP, 3);
    m.u.op.op.type = BATON_OP_NAME_SET;
    memset(&m.u.op.op.other, 0, sizeof(m.u.op.op.other));
    memset(&m.u.op.op.app, 0, sizeof(m.u.op.op.app));
    rand_entry(&p, &m.u.op.op.name, ENTRY_OP, 0, 0);
    m.u.op.op.name.name[9] = '\0';
    sample_fix(&p, &m);
    add_msg_sample(&s[i++], &m);
    rand_msg(&p, &m, BATON_MSG_OP, 1);
    m.u.op.op.type = BATON_OP_MERGE;
    memset(&m.u.op.op.app, 0, sizeof(m.u.op.op.app));
    memset(&m.u.op.op.name, 0, sizeof(m.u.op.op.name));
    rand_state(&p, &m.u.op.op.other, 1);
    add_msg_sample(&s[i++], &m);
    rand_msg(&p, &m, BATON_MSG_OP, 3);
    m.u.op.op.type = BATON_OP_JOIN;
    memset(&m.u.op.op.other, 0, sizeof(m.u.op.op.other));
    memset(&m.u.op.op.app, 0, sizeof(m.u.op.op.app));
    memset(&m.u.op.op.name, 0, sizeof(m.u.op.op.name));
    add_msg_sample(&s[i++], &m);
    rand_msg(&p, &m, BATON_MSG_SNAPSHOT, 1);
    sample_fix(&p, &m);
    add_msg_sample(&s[i++], &m);
    rand_hello(&p, &h, BATON_NAME_MAX);
    h.inc |= BIG;
    s[i].kind = KIND_HELLO;
    assert_int_equal(baton_hello_encode(&h, s[i].buf, BUF_CAP, &s[i].len), 0);
    i++;
    rand_bytes(&p, proof.mac, sizeof(proof.mac));
    s[i].kind = KIND_PROOF;
    assert_int_equal(baton_proof_encode(&proof, s[i].buf, BUF_CAP, &s[i].len),
                     0);
    i++;
    assert_int_equal(i, SAMPLES_N);
}

static int decode_kind(enum kind kind, const uint8_t *buf, size_t len)
{
    struct baton_msg m;
    struct baton_hello h;
    struct baton_proof p;

    switch (kind) {
    case KIND_MSG:
        return baton_msg_decode_into(buf, len, &m, &rx_tab, &t_members);
    case KIND_HELLO:
        return baton_hello_decode(buf, len, &h);
    default:
        return baton_proof_decode(buf, len, &p);
    }
}

/* Frames */

static void test_frame_roundtrip(void **state)
{
    static const uint32_t lengths[] = {0,
                                       1,
                                       255,
                                       256,
                                       65535,
                                       65536,
                                       BATON_FRAME_BODY_MAX - 1,
                                       BATON_FRAME_BODY_MAX};
    uint8_t buf[BATON_FRAME_HEADER_LEN];
    struct baton_frame_header h;

    BATON_UNUSED(state);
    for (unsigned type = BATON_FRAME_HELLO; type <= BATON_FRAME_SEALED;
         type++) {
        for (size_t i = 0; i < BATON_ARRAY_LEN(lengths); i++) {
            baton_frame_header_encode(buf, BATON_WIRE_VERSION, type,
                                      lengths[i]);
            assert_int_equal(buf[0], 0x42);
            assert_int_equal(buf[1], 0x54);
            assert_int_equal(buf[2], BATON_WIRE_VERSION);
            memset(&h, 0xa5, sizeof(h));
            assert_int_equal(baton_frame_header_decode(buf, sizeof(buf), &h),
                             0);
            assert_int_equal(h.type, type);
            assert_int_equal(h.length, lengths[i]);
        }
    }

    /* Bytes after the header are the body's, not the header's concern. */
    {
        uint8_t longer[BATON_FRAME_HEADER_LEN + 4] = {0};
        baton_frame_header_encode(longer, BATON_WIRE_VERSION,
                                  BATON_FRAME_SEALED, 4);
        assert_int_equal(baton_frame_header_decode(longer, sizeof(longer), &h),
                         0);
        assert_int_equal(h.length, 4);
    }

    /* Big-endian length. */
    baton_frame_header_encode(buf, BATON_WIRE_VERSION, BATON_FRAME_PROOF,
                              0x030201);
    assert_int_equal(buf[3], BATON_FRAME_PROOF);
    assert_int_equal(buf[4], 0x00);
    assert_int_equal(buf[5], 0x03);
    assert_int_equal(buf[6], 0x02);
    assert_int_equal(buf[7], 0x01);
}

static void test_frame_short(void **state)
{
    uint8_t buf[BATON_FRAME_HEADER_LEN];
    struct baton_frame_header h;

    BATON_UNUSED(state);
    baton_frame_header_encode(buf, BATON_WIRE_VERSION, BATON_FRAME_HELLO, 10);
    for (size_t len = 0; len < BATON_FRAME_HEADER_LEN; len++) {
        assert_int_equal(baton_frame_header_decode(buf, len, &h), BATON_EAGAIN);
    }
    /* Even garbage is only judged once 8 bytes are in. */
    memset(buf, 0xff, sizeof(buf));
    for (size_t len = 0; len < BATON_FRAME_HEADER_LEN; len++) {
        assert_int_equal(baton_frame_header_decode(buf, len, &h), BATON_EAGAIN);
    }
}

static void check_bad_header(const uint8_t good[BATON_FRAME_HEADER_LEN],
                             size_t at, uint8_t value)
{
    uint8_t buf[BATON_FRAME_HEADER_LEN];
    struct baton_frame_header h;

    memcpy(buf, good, sizeof(buf));
    buf[at] = value;
    assert_int_equal(baton_frame_header_decode(buf, sizeof(buf), &h),
                     BATON_EBADMSG);
}

/* Version 2 added `heard` to every status, version 3 snapshot parts and
 * the HELLO's part digests, version 4 the app's mode in reports and
 * Raft's messages, version 5 the HELLO's range of versions, version 6
 * the operator verbs and settings (message types 15-17). A header of
 * a version from before negotiation is refused, and the driver learns
 * which it is, so that it logs it; any later one decodes, and the
 * driver checks it against the link's (docs/design/wire.md §1.1). */
static void test_frame_version(void **state)
{
    uint8_t buf[BATON_FRAME_HEADER_LEN];
    struct baton_frame_header h;

    BATON_UNUSED(state);
    assert_int_equal(BATON_WIRE_VERSION, 6);
    assert_int_equal(BATON_WIRE_NEGOTIATES, 5);
    baton_frame_header_encode(buf, BATON_WIRE_VERSION, BATON_FRAME_HELLO, 88);
    assert_int_equal(buf[2], 6);
    assert_int_equal(baton_frame_old_version(buf, sizeof(buf)), 0);
    for (unsigned v = 0; v <= 0xff; v++) {
        buf[2] = (uint8_t)v;
        memset(&h, 0xa5, sizeof(h));
        if (v >= BATON_WIRE_NEGOTIATES) {
            assert_int_equal(baton_frame_header_decode(buf, sizeof(buf), &h),
                             0);
            assert_int_equal(h.version, v);
            assert_int_equal(baton_frame_old_version(buf, sizeof(buf)), 0);
            continue;
        }
        assert_int_equal(baton_frame_header_decode(buf, sizeof(buf), &h),
                         BATON_EBADMSG);
        assert_int_equal(baton_frame_old_version(buf, sizeof(buf)), v);
        /* Not a whole header yet: the reader waits, nothing to name. */
        assert_int_equal(baton_frame_old_version(buf, sizeof(buf) - 1), 0);
    }
    /* The encoder writes the version it is given: a link's. */
    baton_frame_header_encode(buf, 200, BATON_FRAME_SEALED, 1);
    assert_int_equal(baton_frame_header_decode(buf, sizeof(buf), &h), 0);
    assert_int_equal(h.version, 200);
    /* A version-1 header that is not a baton frame is just garbage. */
    buf[2] = 1;
    buf[0] = 0x43;
    assert_int_equal(baton_frame_old_version(buf, sizeof(buf)), 0);
    buf[0] = 0x42;
    buf[1] = 0x00;
    assert_int_equal(baton_frame_old_version(buf, sizeof(buf)), 0);
}

/* The highest version both speak, the same from either side; none when
 * the ranges are disjoint (docs/design/wire.md §1.1). */
static void test_wire_negotiate(void **state)
{
    static const struct {
        unsigned lo_a, hi_a, lo_b, hi_b, want;
    } cases[] = {
        {5, 5, 5, 5, 5}, /* equal */
        {5, 7, 6, 9, 7}, /* overlapping: the lower top */
        {5, 9, 6, 7, 7}, /* one inside the other */
        {5, 6, 6, 8, 6}, /* touching */
        {5, 5, 6, 6, 0}, /* disjoint */
        {5, 6, 8, 9, 0}, /* disjoint, with a gap */
        {1, 255, 255, 255, 255},
        {6, 5, 5, 6, 0}, /* an empty range speaks nothing */
    };

    BATON_UNUSED(state);
    for (size_t i = 0; i < BATON_ARRAY_LEN(cases); i++) {
        assert_int_equal(baton_wire_negotiate(cases[i].lo_a, cases[i].hi_a,
                                              cases[i].lo_b, cases[i].hi_b),
                         cases[i].want);
        assert_int_equal(baton_wire_negotiate(cases[i].lo_b, cases[i].hi_b,
                                              cases[i].lo_a, cases[i].hi_a),
                         cases[i].want);
    }
}

/* Raft's message type 13 came with version 4: a link negotiated at 3
 * must not carry it. */
static void test_wire_features(void **state)
{
    BATON_UNUSED(state);
    assert_false(baton_wire_has(3, BATON_WIRE_F_RAFT));
    assert_true(baton_wire_has(4, BATON_WIRE_F_RAFT));
    assert_true(baton_wire_has(BATON_WIRE_VERSION_MIN, BATON_WIRE_F_RAFT));
    assert_true(baton_wire_has(255, BATON_WIRE_F_RAFT));
    /* Operator verbs and settings (apps.md §7) from version 6: a link
     * to a node of version 5 does not carry them. */
    assert_false(baton_wire_has(5, BATON_WIRE_F_ADMIN));
    assert_true(baton_wire_has(6, BATON_WIRE_F_ADMIN));
    assert_true(baton_wire_has(BATON_WIRE_VERSION, BATON_WIRE_F_ADMIN));
}

static void hello_fill(struct baton_hello *h,
                       const char *name,
                       unsigned lo,
                       unsigned hi)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->version = (uint8_t)hi;
    h->inc = 7;
    h->wire_min = (uint8_t)lo;
    h->wire_max = (uint8_t)hi;
    memset(h->nonce, 0x11, sizeof(h->nonce));
    memset(h->config, 0x22, sizeof(h->config));
}

/* Two builds of different ranges compute the same proofs (the
 * transcript holds no build's own version), and a man in the middle who
 * narrows either HELLO's range to force a lower version makes the
 * proofs fail: the link is refused rather than downgraded. */
static void test_wire_transcript(void **state)
{
    static const uint8_t cookie[] = "secret";
    struct baton_hello a, b, forged;
    struct baton_transcript t = {&a, &b};
    struct baton_transcript seen = {&a, &forged};
    uint8_t mac[BATON_MAC_LEN];

    BATON_UNUSED(state);
    hello_fill(&a, "a@h", 5, 7);
    hello_fill(&b, "b@h", 5, 6);
    /* What each side sends, the other checks: equal computations. */
    baton_proof_compute(cookie, sizeof(cookie), &t, true, mac);
    assert_int_equal(baton_proof_check(cookie, sizeof(cookie), &t, true, mac),
                     0);
    baton_proof_compute(cookie, sizeof(cookie), &t, false, mac);
    assert_int_equal(baton_proof_check(cookie, sizeof(cookie), &t, false, mac),
                     0);
    /* a proves its transcript; a receives a HELLO whose range was cut
     * to 5..5 on the way (b sent 5..6): b's proof fails at a. */
    forged = b;
    forged.wire_max = 5;
    forged.version = 5;
    baton_proof_compute(cookie, sizeof(cookie), &t, false, mac);
    assert_int_equal(
        baton_proof_check(cookie, sizeof(cookie), &seen, false, mac),
        BATON_EAUTH);
    /* Each field of the range counts on its own. */
    forged = b;
    forged.wire_max = 5;
    assert_int_equal(
        baton_proof_check(cookie, sizeof(cookie), &seen, false, mac),
        BATON_EAUTH);
    forged = b;
    forged.wire_min = 6;
    assert_int_equal(
        baton_proof_check(cookie, sizeof(cookie), &seen, false, mac),
        BATON_EAUTH);
    forged = b;
    forged.version = 7;
    assert_int_equal(
        baton_proof_check(cookie, sizeof(cookie), &seen, false, mac),
        BATON_EAUTH);
}

/* A HELLO carries the sender's range; a later version may append fields,
 * which this one ignores; an empty or zero range is refused
 * (docs/design/wire.md §2.1). */
static void test_hello_range(void **state)
{
    struct baton_hello h, out;
    uint8_t buf[600];
    uint8_t more[600];
    size_t n;

    BATON_UNUSED(state);
    hello_fill(&h, "a@h", 5, 9);
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &n), 0);
    assert_int_equal(baton_hello_decode(buf, n, &out), 0);
    assert_int_equal(out.wire_min, 5);
    assert_int_equal(out.wire_max, 9);
    assert_int_equal(out.version, 9);
    /* Two fields appended by some later version: 0x99 is a 9-element
     * array header, 0x9b the same with 11 elements. */
    assert_int_equal(buf[0], 0x99);
    memcpy(more, buf, n);
    more[0] = 0x9b;
    more[n] = 0x07;     /* a positive fixint */
    more[n + 1] = 0xc0; /* nil */
    memset(&out, 0, sizeof(out));
    assert_int_equal(baton_hello_decode(more, n + 2, &out), 0);
    assert_int_equal(out.wire_max, 9);
    /* Fewer fields than this version knows: refused. */
    more[0] = 0x98;
    assert_int_equal(baton_hello_decode(more, n - 1, &out), BATON_EBADMSG);
    /* Invalid ranges neither encode nor decode. */
    h.wire_min = 0;
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &n),
                     BATON_EINVAL);
    h.wire_min = 10;
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &n),
                     BATON_EINVAL);
    hello_fill(&h, "a@h", 5, 9);
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &n), 0);
    /* The last two bytes are wire_min 5 and wire_max 9, as fixints. */
    assert_int_equal(buf[n - 2], 5);
    assert_int_equal(buf[n - 1], 9);
    buf[n - 2] = 10;
    assert_int_equal(baton_hello_decode(buf, n, &out), BATON_EBADMSG);
    buf[n - 2] = 0;
    assert_int_equal(baton_hello_decode(buf, n, &out), BATON_EBADMSG);
}

static void test_frame_bad(void **state)
{
    uint8_t good[BATON_FRAME_HEADER_LEN];
    uint8_t buf[BATON_FRAME_HEADER_LEN];
    struct baton_frame_header h;

    BATON_UNUSED(state);
    baton_frame_header_encode(good, BATON_WIRE_VERSION, BATON_FRAME_SEALED,
                              100);
    check_bad_header(good, 0, 0x43);
    check_bad_header(good, 0, 0x00);
    check_bad_header(good, 1, 0x55);
    check_bad_header(good, 1, 0x42);
    check_bad_header(good, 2, 0);
    check_bad_header(good, 2, BATON_WIRE_NEGOTIATES - 1);
    check_bad_header(good, 3, 0);
    check_bad_header(good, 3, BATON_FRAME_SEALED + 1);
    check_bad_header(good, 3, 0xff);
    check_bad_header(good, 4, 0x80); /* 2 GiB */

    /* The length limit is inclusive. */
    memcpy(buf, good, sizeof(buf));
    buf[4] = (uint8_t)(BATON_FRAME_BODY_MAX >> 24);
    buf[5] = (uint8_t)(BATON_FRAME_BODY_MAX >> 16);
    buf[6] = (uint8_t)(BATON_FRAME_BODY_MAX >> 8);
    buf[7] = (uint8_t)BATON_FRAME_BODY_MAX;
    assert_int_equal(baton_frame_header_decode(buf, sizeof(buf), &h), 0);
    assert_int_equal(h.length, BATON_FRAME_BODY_MAX);
    buf[7] = (uint8_t)(BATON_FRAME_BODY_MAX + 1);
    assert_int_equal(baton_frame_header_decode(buf, sizeof(buf), &h),
                     BATON_EBADMSG);
    memset(buf + 4, 0xff, 4);
    assert_int_equal(baton_frame_header_decode(buf, sizeof(buf), &h),
                     BATON_EBADMSG);
}

/* Round trips */

/* Same entries (NULL and an empty table are alike). */
static void assert_tables_equal(const struct baton_names *a,
                                const struct baton_names *b)
{
    uint32_t na = a != NULL ? a->count : 0;
    uint32_t nb = b != NULL ? b->count : 0;

    assert_int_equal(na, nb);
    if (na == 0) {
        return;
    }
    assert_true(a->digest == b->digest);
    for (uint32_t i = 0; i < a->cap; i++) {
        const struct baton_name *f;
        if (!a->slot[i].used) {
            continue;
        }
        f = baton_names_find(b, a->slot[i].name);
        assert_non_null(f);
        assert_true(baton_name_equal(&a->slot[i], f));
    }
}

static void assert_bytes_equal(const uint8_t *a, uint32_t alen,
                               const uint8_t *b, uint32_t blen)
{
    assert_int_equal(alen, blen);
    if (alen > 0) {
        assert_memory_equal(a, b, alen);
    }
}

/* Equal messages: their tables and borrowed bytes by content, the rest
 * byte for byte. */
static void assert_msgs_equal(const struct baton_msg *x,
                              const struct baton_msg *y)
{
    static struct baton_msg a;
    static struct baton_msg b;

    a = *x;
    b = *y;
    assert_int_equal(a.type, b.type);
    switch (a.type) {
    case BATON_MSG_MEMBERS:
        assert_non_null(a.u.members.list);
        assert_non_null(b.u.members.list);
        assert_memory_equal(a.u.members.list, b.u.members.list,
                            sizeof(*a.u.members.list));
        a.u.members.list = b.u.members.list = NULL;
        break;
    case BATON_MSG_JOIN:
        assert_tables_equal(a.u.join.names, b.u.join.names);
        a.u.join.names = b.u.join.names = NULL;
        break;
    case BATON_MSG_SNAPSHOT:
        assert_tables_equal(a.u.snapshot.names, b.u.snapshot.names);
        a.u.snapshot.names = b.u.snapshot.names = NULL;
        break;
    case BATON_MSG_STATE:
        assert_bytes_equal(a.u.state.data, a.u.state.len, b.u.state.data,
                           b.u.state.len);
        a.u.state.data = b.u.state.data = NULL;
        break;
    case BATON_MSG_CALL:
        assert_bytes_equal(a.u.call.data, a.u.call.len, b.u.call.data,
                           b.u.call.len);
        a.u.call.data = b.u.call.data = NULL;
        break;
    case BATON_MSG_REPLY:
        assert_bytes_equal(a.u.reply.data, a.u.reply.len, b.u.reply.data,
                           b.u.reply.len);
        a.u.reply.data = b.u.reply.data = NULL;
        break;
    case BATON_MSG_RAFT:
        assert_bytes_equal(a.u.raft.m.data, a.u.raft.m.len, b.u.raft.m.data,
                           b.u.raft.m.len);
        a.u.raft.m.data = b.u.raft.m.data = NULL;
        assert_int_equal(a.u.raft.m.n_entries, b.u.raft.m.n_entries);
        for (uint32_t i = 0; i < a.u.raft.m.n_entries; i++) {
            const struct baton_raft_entry *ea = &a.u.raft.m.entries[i];
            const struct baton_raft_entry *eb = &b.u.raft.m.entries[i];
            assert_int_equal(ea->term, eb->term);
            assert_bytes_equal(ea->data, ea->len, eb->data, eb->len);
        }
        /* Where the entries are is the holder's business. */
        a.u.raft.m.entries = b.u.raft.m.entries = NULL;
        memset(a.u.raft.entries, 0, sizeof(a.u.raft.entries));
        memset(b.u.raft.entries, 0, sizeof(b.u.raft.entries));
        break;
    default:
        break;
    }
    assert_memory_equal(&a, &b, sizeof(a));
}

/* Encodes m, decodes it into rt_tab's message and compares. */
/* One zone for every decode of a test that goes through it, as a node's
 * links use one: what a message leaves in it must not show in the next
 * (reachable from here until exit, so not a leak). */
static struct baton_wire_zone *test_zone(void)
{
    static struct baton_wire_zone *zone;

    if (zone == NULL) {
        zone = baton_wire_zone_new();
        assert_non_null(zone);
    }
    return zone;
}

static void check_msg_roundtrip(const struct baton_msg *m)
{
    static uint8_t buf[BUF_CAP];
    static struct baton_msg out;
    size_t len = 0;

    assert_int_equal(baton_msg_encode(m, buf, sizeof(buf), &len), 0);
    assert_true(len > 0 && len <= sizeof(buf));
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(baton_msg_decode_in(test_zone(), buf, len, &out, &rt_tab,
                                         &t_members),
                     0);
    assert_msgs_equal(&out, m);
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(baton_msg_decode_into(buf, len, &out, &rt_tab, &t_members), 0);
    assert_msgs_equal(&out, m);
    /* Decoding borrows from the input. */
    if (out.type == BATON_MSG_CALL && out.u.call.len > 0) {
        assert_true(out.u.call.data >= buf &&
                    out.u.call.data + out.u.call.len <= buf + len);
    }
    if (out.type == BATON_MSG_REPLY && out.u.reply.len > 0) {
        assert_true(out.u.reply.data >= buf &&
                    out.u.reply.data + out.u.reply.len <= buf + len);
    }
    if (out.type == BATON_MSG_RAFT && out.u.raft.m.len > 0) {
        assert_true(out.u.raft.m.data >= buf &&
                    out.u.raft.m.data + out.u.raft.m.len <= buf + len);
    }
    /* A decoded APPEND holds its own entries. */
    if (out.type == BATON_MSG_RAFT && out.u.raft.m.n_entries > 0) {
        assert_ptr_equal(out.u.raft.m.entries, out.u.raft.entries);
    }
}

static void test_msg_roundtrip_random(void **state)
{
    struct baton_prng p;
    struct baton_msg m;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 1);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        unsigned type =
            1 + (unsigned)baton_prng_below(&p, BATON_MSG__COUNT - 1);
        rand_msg(&p, &m, type, 0);
        check_msg_roundtrip(&m);
    }
}

static void test_msg_roundtrip_node_counts(void **state)
{
    static const unsigned counts[] = {1, 2, BATON_NODES_MAX - 1,
                                      BATON_NODES_MAX};
    struct baton_prng p;
    struct baton_msg m;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 2);
    for (size_t i = 0; i < BATON_ARRAY_LEN(counts); i++) {
        for (unsigned r = 0; r < 50; r++) {
            rand_msg(&p, &m, BATON_MSG_JOIN, counts[i]);
            check_msg_roundtrip(&m);
            rand_msg(&p, &m, BATON_MSG_SNAPSHOT, counts[i]);
            check_msg_roundtrip(&m);
            rand_msg(&p, &m, BATON_MSG_OP, counts[i]);
            m.u.op.op.type = BATON_OP_MERGE;
            memset(&m.u.op.op.app, 0, sizeof(m.u.op.op.app));
            memset(&m.u.op.op.name, 0, sizeof(m.u.op.op.name));
            rand_state(&p, &m.u.op.op.other, counts[i]);
            check_msg_roundtrip(&m);
        }
    }
}

/* Where the state of a message of this type lives, if it has one. */
static struct baton_state *msg_state(struct baton_msg *m)
{
    switch (m->type) {
    case BATON_MSG_JOIN:
        return &m->u.join.replica;
    case BATON_MSG_SNAPSHOT:
        return &m->u.snapshot.state;
    case BATON_MSG_OP:
        return &m->u.op.op.other;
    default:
        return NULL;
    }
}

/* Sets every carried field of a message of the given type to v (u8 fields
 * to its low byte), every state to n_nodes nodes, and everything else to
 * zero. */
static void fill_msg(struct baton_msg *m, unsigned type, uint64_t v,
                     unsigned n_nodes)
{
    struct baton_state *s;
    struct baton_stream *streams[2];
    uint8_t v8 = (uint8_t)v;

    memset(m, 0, sizeof(*m));
    m->type = (uint8_t)type;
    m->from = m->to = v8;
    m->from_inc = m->to_inc = m->seq = v;
    m->status.role = m->status.coord = m->status.synced = v8;
    m->status.heard = v;
    m->status.epoch = m->status.index = v;
    streams[0] = &m->status.stream;
    streams[1] = NULL;
    switch (type) {
    case BATON_MSG_JOIN:
        streams[1] = &m->u.join.stream;
        break;
    case BATON_MSG_SNAPSHOT:
        m->u.snapshot.join_seq = m->u.snapshot.index = v;
        streams[1] = &m->u.snapshot.stream;
        break;
    case BATON_MSG_OP:
        m->u.op.index = v;
        m->u.op.op.type = BATON_OP_MERGE;
        m->u.op.op.node = m->u.op.op.fresh = m->u.op.op.origin = v8;
        m->u.op.op.inc = m->u.op.op.epoch = m->u.op.op.req = v;
        m->u.op.op.reason = (uint8_t)(v % BATON_LOST__COUNT);
        streams[1] = &m->u.op.stream;
        break;
    case BATON_MSG_RESYNC:
        m->u.resync.applied = v;
        streams[1] = &m->u.resync.stream;
        break;
    case BATON_MSG_STATE:
        snprintf(m->u.state.name, sizeof(m->u.state.name), "x");
        m->u.state.epoch = v;
        m->u.state.ok = (uint8_t)v;
        break;
    case BATON_MSG_NAME_REQ:
        /* The kind, resolver and endpoint are held to their ranges. */
        m->u.name_req.req = m->u.name_req.first = v;
        m->u.name_req.kind = BATON_NAME_REREGISTER;
        snprintf(m->u.name_req.name.name, sizeof(m->u.name_req.name.name),
                 "x");
        m->u.name_req.name.resolver = (uint8_t)(v % BATON_RESOLVE__COUNT);
        m->u.name_req.name.endpoint = v != 0 ? v : 1;
        m->u.name_req.name.epoch = v;
        break;
    case BATON_MSG_NAME_REPLY:
        m->u.name_reply.req = m->u.name_reply.index = v;
        m->u.name_reply.code = (uint8_t)(v % BATON_NAME_CODE__COUNT);
        streams[1] = &m->u.name_reply.stream;
        break;
    case BATON_MSG_NAME_LOST:
        m->u.name_lost.reason = BATON_LOST_REPLACED;
        m->u.name_lost.endpoint = m->u.name_lost.epoch = v;
        snprintf(m->u.name_lost.name, sizeof(m->u.name_lost.name), "~");
        break;
    case BATON_MSG_CALL:
        m->u.call.id = m->u.call.caller_inc = v;
        m->u.call.caller = m->u.call.hops = m->u.call.flags = v8;
        snprintf(m->u.call.name, sizeof(m->u.call.name), "!");
        break;
    case BATON_MSG_REPLY:
        m->u.reply.id = v;
        m->u.reply.code = (uint8_t)(v % BATON_NAME_CODE__COUNT);
        break;
    case BATON_MSG_RAFT:
        /* The type, flags and entry count are held to their ranges. */
        m->u.raft.m.type = (uint8_t)(BATON_RAFT_VOTE + v % 5);
        m->u.raft.m.from = m->u.raft.m.to = v8;
        m->u.raft.m.pre = m->u.raft.m.ok = (v & 1) != 0;
        m->u.raft.m.term = m->u.raft.m.index = m->u.raft.m.log_term = v;
        m->u.raft.m.commit = m->u.raft.m.sent_ms = v;
        m->u.raft.m.n_entries = (uint32_t)(v % (BATON_RAFT_BATCH + 1));
        m->u.raft.m.entries = m->u.raft.entries;
        for (uint32_t i = 0; i < m->u.raft.m.n_entries; i++) {
            m->u.raft.entries[i].term = v;
            m->u.raft.entries[i].len = v8;
            memset(m->u.raft.entries[i].data, v8, v8);
        }
        break;
    case BATON_MSG_MEMBERS: {
        /* Kinds are held to their range; n_nodes slots, every one used. */
        struct baton_members *l = &rand_lists[rand_lists_next++ % 4];
        memset(l, 0, sizeof(*l));
        l->version = v;
        l->n_slots = (uint8_t)n_nodes;
        for (unsigned i = 0; i < n_nodes; i++) {
            l->slot[i].kind = (uint8_t)(1 + v % 3);
            snprintf(l->slot[i].name, sizeof(l->slot[i].name), "%u", i);
        }
        m->u.members.reply = (uint8_t)(v & 1);
        m->u.members.list = l;
        break;
    }
    case BATON_MSG_ADMIN:
        m->u.admin.id = v;
        m->u.admin.kind = m->u.admin.node = v8;
        snprintf(m->u.admin.name, sizeof(m->u.admin.name), "%s",
                 v8 & 1 ? "x" : "");
        break;
    case BATON_MSG_ADMIN_REPLY:
        m->u.admin_reply.id = v;
        m->u.admin_reply.code = m->u.admin_reply.owner = v8;
        m->u.admin_reply.status = m->u.admin_reply.pin = v8;
        break;
    case BATON_MSG_SETTINGS:
        /* Full, every field at the value (a version of 0 is no
         * standby at all). */
        for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
            snprintf(m->u.settings.app[i].name,
                     sizeof(m->u.settings.app[i].name), "a%u", i);
            m->u.settings.app[i].disabled = m->u.settings.app[i].pin = v8;
            m->u.settings.app[i].ver = v;
        }
        for (unsigned x = 0; x < BATON_NODES_MAX; x++) {
            m->u.settings.standby[x] = v != 0 ? v8 : 0;
            m->u.settings.standby_ver[x] = v;
        }
        break;
    default:
        break;
    }
    for (size_t i = 0; i < 2 && streams[i] != NULL; i++) {
        streams[i]->coord = v8;
        streams[i]->coord_inc = streams[i]->claim = v;
    }
    s = msg_state(m);
    if (s != NULL) {
        s->n_nodes = (uint8_t)n_nodes;
        s->coord = v8;
        s->coord_inc = s->epoch = s->name_epoch_max = v;
        for (unsigned i = 0; i < n_nodes; i++) {
            s->nodes[i].inc = v;
            s->nodes[i].member = v8;
        }
    }
}

/* The extremes of every field: all zero and all ones, with the smallest
 * and the largest states. */
static void test_msg_roundtrip_extremes(void **state)
{
    static const uint64_t values[] = {0, 1, 127, 128, 255, 256, UINT64_MAX};
    static const unsigned counts[] = {1, BATON_NODES_MAX};
    struct baton_msg m;

    BATON_UNUSED(state);
    for (unsigned type = BATON_MSG_HEARTBEAT; type < BATON_MSG__COUNT; type++) {
        for (size_t v = 0; v < BATON_ARRAY_LEN(values); v++) {
            for (size_t c = 0; c < BATON_ARRAY_LEN(counts); c++) {
                fill_msg(&m, type, values[v], counts[c]);
                check_msg_roundtrip(&m);
            }
        }
    }
    /* An op of any other type carries nil. */
    for (unsigned op_type = 0; op_type <= 255; op_type++) {
        fill_msg(&m, BATON_MSG_OP, UINT64_MAX, 1);
        m.u.op.op.type = (uint8_t)op_type;
        if (op_type == BATON_OP_APP) {
            m.u.op.op.node = 3;
            memset(&m.u.op.op.other, 0, sizeof(m.u.op.op.other));
            strcpy(m.u.op.op.app.name, "app");
            m.u.op.op.app.epoch = UINT64_MAX;
            m.u.op.op.app.epoch_max = UINT64_MAX;
        } else if (op_type == BATON_OP_NAME_SET ||
                   op_type == BATON_OP_NAME_DEL) {
            memset(&m.u.op.op.other, 0, sizeof(m.u.op.op.other));
            memset(m.u.op.op.name.name, '~', BATON_GNAME_MAX);
            m.u.op.op.name.owner = m.u.op.op.name.resolver = 255;
            m.u.op.op.name.owner_inc = m.u.op.op.name.endpoint = UINT64_MAX;
            m.u.op.op.name.epoch = UINT64_MAX;
            m.u.op.op.name.meta_len = BATON_GNAME_META_MAX;
            memset(m.u.op.op.name.meta, 0xff, BATON_GNAME_META_MAX);
        } else if (op_type != BATON_OP_MERGE) {
            memset(&m.u.op.op.other, 0, sizeof(m.u.op.op.other));
            memset(&m.u.op.op.app, 0, sizeof(m.u.op.op.app));
        }
        check_msg_roundtrip(&m);
    }
}

/* Decoding zeroes what the encoding does not carry: reserved bytes, the
 * nodes beyond n_nodes, the rest of the union, a non-MERGE op's other. */
static void test_msg_decode_zeroes(void **state)
{
    struct baton_prng p;
    struct baton_msg m;
    struct baton_msg out;
    struct baton_msg zero;
    uint8_t buf[BUF_CAP];
    size_t len;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 3);
    rand_msg(&p, &m, BATON_MSG_HEARTBEAT, 0);
    memset(&m.u, 0x5a, sizeof(m.u));
    memset(m.reserved, 0x5a, sizeof(m.reserved));
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(baton_msg_decode_into(buf, len, &out, &rt_tab, &t_members), 0);
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(&out.u, &zero.u, sizeof(out.u));
    assert_memory_equal(out.reserved, zero.reserved, sizeof(out.reserved));
    assert_int_equal(out.seq, m.seq);

    rand_msg(&p, &m, BATON_MSG_OP, 2);
    m.u.op.op.type = BATON_OP_JOIN;
    rand_state(&p, &m.u.op.op.other, 5); /* not carried: not a MERGE */
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(baton_msg_decode_into(buf, len, &out, &rt_tab, &t_members), 0);
    assert_memory_equal(&out.u.op.op.other, &zero.u.op.op.other,
                        sizeof(out.u.op.op.other));
    assert_int_equal(out.u.op.op.inc, m.u.op.op.inc);

    rand_msg(&p, &m, BATON_MSG_SNAPSHOT, 3);
    m.u.snapshot.state.nodes[3].inc = 99; /* beyond n_nodes */
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(baton_msg_decode_into(buf, len, &out, &rt_tab, &t_members), 0);
    assert_int_equal(out.u.snapshot.state.nodes[3].inc, 0);
    m.u.snapshot.state.nodes[3].inc = 0;
    assert_msgs_equal(&out, &m);

    /* A request carries no owner: it reads as 0 whatever was set. */
    rand_msg(&p, &m, BATON_MSG_NAME_REQ, 0);
    m.u.name_req.name.owner = 7;
    m.u.name_req.name.owner_inc = 99;
    m.u.name_req.name.used = 1;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(baton_msg_decode_into(buf, len, &out, &rt_tab, &t_members), 0);
    assert_int_equal(out.u.name_req.name.owner, 0);
    assert_int_equal(out.u.name_req.name.owner_inc, 0);
    assert_int_equal(out.u.name_req.name.used, 0);
    assert_int_equal(out.u.name_req.name.endpoint, m.u.name_req.name.endpoint);

    /* An op carries its entry only when it is a NAME_SET or NAME_DEL. */
    rand_msg(&p, &m, BATON_MSG_OP, 2);
    m.u.op.op.type = BATON_OP_NAME_PURGE;
    rand_entry(&p, &m.u.op.op.name, ENTRY_OP, 0, 0);
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(baton_msg_decode_into(buf, len, &out, &rt_tab, &t_members), 0);
    assert_memory_equal(&out.u.op.op.name, &zero.u.op.op.name,
                        sizeof(out.u.op.op.name));
    assert_int_equal(out.u.op.op.req, m.u.op.op.req);
}

static void check_hello_roundtrip(const struct baton_hello *h)
{
    uint8_t buf[BUF_CAP];
    struct baton_hello out;
    size_t len = 0;

    assert_int_equal(baton_hello_encode(h, buf, sizeof(buf), &len), 0);
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(baton_hello_decode(buf, len, &out), 0);
    assert_int_equal(out.version, h->version);
    assert_memory_equal(out.name, h->name, sizeof(out.name));
    assert_int_equal(out.inc, h->inc);
    assert_memory_equal(out.nonce, h->nonce, sizeof(out.nonce));
    assert_memory_equal(out.config, h->config, sizeof(out.config));
    assert_int_equal(out.n_parts, h->n_parts);
    assert_int_equal(out.wire_min, h->wire_min);
    assert_int_equal(out.wire_max, h->wire_max);
    assert_int_equal(out.has_aeads, h->has_aeads);
    assert_int_equal(out.aeads, h->aeads);
    if (h->n_parts > 0) {
        assert_memory_equal(out.parts, h->parts,
                            (size_t)h->n_parts * BATON_CONFIG_PART_LEN);
    }
}

static void test_hello_roundtrip(void **state)
{
    struct baton_prng p;
    struct baton_hello h;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 4);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        size_t name_len = 1 + (size_t)baton_prng_below(&p, BATON_NAME_MAX);
        rand_hello(&p, &h, name_len);
        check_hello_roundtrip(&h);
    }
    rand_hello(&p, &h, 1);
    check_hello_roundtrip(&h);
    rand_hello(&p, &h, BATON_NAME_MAX);
    check_hello_roundtrip(&h);
    memset(&h, 0, sizeof(h));
    strcpy(h.name, "a@localhost");
    h.inc = 1;
    h.wire_min = 1;
    h.wire_max = 1;
    check_hello_roundtrip(&h);
    h.wire_max = 255;
    h.version = 255;
    h.inc = UINT64_MAX;
    memset(h.nonce, 0xff, sizeof(h.nonce));
    check_hello_roundtrip(&h);
}

static void test_proof_roundtrip(void **state)
{
    struct baton_prng p;
    struct baton_proof proof;
    struct baton_proof out;
    uint8_t buf[BUF_CAP];
    size_t len;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 5);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        rand_bytes(&p, proof.mac, sizeof(proof.mac));
        assert_int_equal(baton_proof_encode(&proof, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, 1 + 2 + BATON_MAC_LEN);
        memset(&out, 0xa5, sizeof(out));
        assert_int_equal(baton_proof_decode(buf, len, &out), 0);
        assert_memory_equal(out.mac, proof.mac, sizeof(out.mac));
    }
}

/* Framing of the bytes: truncation, trailing bytes, small buffers */

static void test_truncated(void **state)
{
    struct sample *s = malloc(SAMPLES_N * sizeof(*s));

    BATON_UNUSED(state);
    assert_non_null(s);
    make_samples(s);
    for (size_t i = 0; i < SAMPLES_N; i++) {
        assert_int_equal(decode_kind(s[i].kind, s[i].buf, s[i].len), 0);
        for (size_t len = 0; len < s[i].len; len++) {
            /* A copy of exactly len bytes, so that ASan catches a read
             * past the end. */
            uint8_t *copy = malloc(len > 0 ? len : 1);
            assert_non_null(copy);
            memcpy(copy, s[i].buf, len);
            assert_int_equal(decode_kind(s[i].kind, copy, len), BATON_EBADMSG);
            free(copy);
        }
    }
    free(s);
}

static void test_trailing(void **state)
{
    static const uint8_t extra[] = {0x00, 0x7f, 0xc0, 0x90, 0xff};
    struct sample *s = malloc(SAMPLES_N * sizeof(*s));

    BATON_UNUSED(state);
    assert_non_null(s);
    make_samples(s);
    for (size_t i = 0; i < SAMPLES_N; i++) {
        for (size_t e = 0; e < BATON_ARRAY_LEN(extra); e++) {
            s[i].buf[s[i].len] = extra[e];
            assert_int_equal(decode_kind(s[i].kind, s[i].buf, s[i].len + 1),
                             BATON_EBADMSG);
        }
        /* Two valid objects back to back are not one message. */
        memcpy(s[i].buf + s[i].len, s[i].buf, s[i].len);
        assert_int_equal(decode_kind(s[i].kind, s[i].buf, 2 * s[i].len),
                         BATON_EBADMSG);
    }
    free(s);
}

static int encode_kind(enum kind kind, const void *value, uint8_t *buf,
                       size_t cap, size_t *len)
{
    switch (kind) {
    case KIND_MSG:
        return baton_msg_encode(value, buf, cap, len);
    case KIND_HELLO:
        return baton_hello_encode(value, buf, cap, len);
    default:
        return baton_proof_encode(value, buf, cap, len);
    }
}

static void check_full(enum kind kind, const void *value)
{
    uint8_t want[BUF_CAP];
    uint8_t *buf;
    size_t want_len = 0;
    size_t len;

    assert_int_equal(encode_kind(kind, value, want, sizeof(want), &want_len),
                     0);
    for (size_t cap = 0; cap <= want_len; cap++) {
        /* Exactly cap bytes, so that ASan catches a write past the end. */
        buf = malloc(cap > 0 ? cap : 1);
        assert_non_null(buf);
        len = 12345;
        if (cap < want_len) {
            assert_int_equal(encode_kind(kind, value, buf, cap, &len),
                             BATON_EFULL);
            assert_int_equal(len, 12345); /* untouched on error */
        } else {
            assert_int_equal(encode_kind(kind, value, buf, cap, &len), 0);
            assert_int_equal(len, want_len);
            assert_memory_equal(buf, want, want_len);
        }
        free(buf);
    }
}

static void test_encode_full(void **state)
{
    struct baton_prng p;
    struct baton_msg m;
    struct baton_hello h;
    struct baton_proof proof;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 6);
    for (unsigned type = BATON_MSG_HEARTBEAT; type < BATON_MSG__COUNT; type++) {
        rand_msg(&p, &m, type, BATON_NODES_MAX);
        check_full(KIND_MSG, &m);
    }
    rand_msg(&p, &m, BATON_MSG_OP, BATON_NODES_MAX);
    m.u.op.op.type = BATON_OP_MERGE;
    memset(&m.u.op.op.app, 0, sizeof(m.u.op.op.app));
    rand_state(&p, &m.u.op.op.other, BATON_NODES_MAX);
    check_full(KIND_MSG, &m);
    rand_hello(&p, &h, BATON_NAME_MAX);
    check_full(KIND_HELLO, &h);
    rand_hello(&p, &h, 1);
    check_full(KIND_HELLO, &h);
    rand_bytes(&p, proof.mac, sizeof(proof.mac));
    check_full(KIND_PROOF, &proof);
}

/* Values the format cannot carry */

static void test_encode_invalid(void **state)
{
    static const unsigned bad_types[] = {0, BATON_MSG__COUNT, 255};
    static const uint8_t bad_counts[] = {0, BATON_NODES_MAX + 1, 255};
    struct baton_prng p;
    struct baton_msg m;
    struct baton_hello h;
    uint8_t buf[BUF_CAP];
    size_t len = 0;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 8);
    for (size_t i = 0; i < BATON_ARRAY_LEN(bad_types); i++) {
        rand_msg(&p, &m, BATON_MSG_HEARTBEAT, 0);
        m.type = (uint8_t)bad_types[i];
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
    }
    for (size_t i = 0; i < BATON_ARRAY_LEN(bad_counts); i++) {
        rand_msg(&p, &m, BATON_MSG_JOIN, 0);
        m.u.join.replica.n_nodes = bad_counts[i];
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
        rand_msg(&p, &m, BATON_MSG_SNAPSHOT, 0);
        m.u.snapshot.state.n_nodes = bad_counts[i];
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
        rand_msg(&p, &m, BATON_MSG_OP, 0);
        m.u.op.op.type = BATON_OP_MERGE;
        memset(&m.u.op.op.app, 0, sizeof(m.u.op.op.app));
        rand_state(&p, &m.u.op.op.other, 0);
        m.u.op.op.other.n_nodes = bad_counts[i];
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
        /* Too small a buffer does not hide an invalid value. */
        assert_int_equal(baton_msg_encode(&m, buf, 10, &len), BATON_EINVAL);
        /* Only a MERGE carries other. */
        m.u.op.op.type = BATON_OP_LEAVE;
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    }

    /* Raft: a type outside 1..5, too many entries, an entry or a
     * snapshot too long. */
    {
        static const uint8_t zeros[BATON_RAFT_SNAPSHOT_MAX + 1];
        rand_msg(&p, &m, BATON_MSG_RAFT, 0);
        m.u.raft.m.type = 0;
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
        m.u.raft.m.type = BATON_RAFT_SNAPSHOT + 1;
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
        m.u.raft.m.type = BATON_RAFT_APPEND;
        m.u.raft.m.len = 0;
        m.u.raft.m.data = NULL;
        m.u.raft.m.entries = m.u.raft.entries;
        m.u.raft.m.n_entries = BATON_RAFT_BATCH;
        memset(m.u.raft.entries, 0, sizeof(m.u.raft.entries));
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
        m.u.raft.m.n_entries = BATON_RAFT_BATCH + 1;
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
        m.u.raft.m.n_entries = 1;
        m.u.raft.entries[0].len = BATON_RAFT_DATA_MAX + 1;
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
        m.u.raft.entries[0].len = 0;
        m.u.raft.m.data = zeros;
        m.u.raft.m.len = BATON_RAFT_SNAPSHOT_MAX + 1;
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                         BATON_EINVAL);
    }

    /* A mode the core does not know is refused both ways. */
    do {
        rand_msg(&p, &m, BATON_MSG_REPORT, 0);
    } while (m.u.report.n == 0);
    m.u.report.r[0].mode = BATON_APP_QUORUM + 1;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.report.r[0].mode = BATON_APP_QUORUM;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    {
        struct baton_msg out;
        /* Decoding refuses mode 2: of the bytes that encode 1, the one
         * that makes decoding fail when turned into 2 must exist (every
         * other u8 field takes any value). */
        size_t at = SIZE_MAX;
        for (size_t b = 0; b + 1 < len; b++) {
            uint8_t keep = buf[b];
            if (keep != BATON_APP_QUORUM) {
                continue;
            }
            buf[b] = BATON_APP_QUORUM + 1;
            if (baton_msg_decode_into(buf, len, &out, NULL, &t_members) == 0) {
                buf[b] = keep;
                continue;
            }
            buf[b] = keep;
            assert_int_equal(baton_msg_decode_into(buf, len, &out, NULL, &t_members), 0);
            if (out.u.report.r[0].mode == BATON_APP_QUORUM) {
                at = b;
            }
        }
        assert_int_not_equal(at, SIZE_MAX);
    }

    rand_hello(&p, &h, 0); /* empty name */
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    rand_hello(&p, &h, BATON_NAME_MAX + 1); /* 256 bytes, no terminator */
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    rand_hello(&p, &h, 10);
    h.inc = 0;
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    assert_int_equal(baton_hello_encode(&h, buf, 0, &len), BATON_EINVAL);
    rand_hello(&p, &h, 10);
    h.n_parts = BATON_CONFIG_PARTS_MAX + 1;
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &len),
                     BATON_EINVAL);
}

/* A HELLO's part digests are whole (8 bytes each) and at most
 * BATON_CONFIG_PARTS_MAX: the last field is rewritten by hand into a
 * well-formed bin of a wrong size, which only the codec's own check
 * refuses. */
static void test_hello_parts_checked(void **state)
{
    struct baton_hello h;
    struct baton_hello out;
    uint8_t buf[BUF_CAP];
    size_t len = 0;

    BATON_UNUSED(state);
    memset(&h, 0, sizeof(h));
    strcpy(h.name, "a@localhost");
    h.inc = 1;
    h.n_parts = 1;
    h.wire_min = 5;
    h.wire_max = 5;
    memset(h.parts, 0x5a, sizeof(h.parts));
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &len), 0);
    assert_int_equal(baton_hello_decode(buf, len, &out), 0);
    /* bin8 header of the parts: 0xc4, 8; then its 8 bytes; then the
     * two one-byte versions. */
    assert_int_equal(buf[len - 12], 0xc4);
    assert_int_equal(buf[len - 11], 8);
    buf[len - 11] = 7; /* 7 bytes: not a whole part */
    memmove(buf + len - 3, buf + len - 2, 2);
    assert_int_equal(baton_hello_decode(buf, len - 1, &out), BATON_EBADMSG);

    h.n_parts = BATON_CONFIG_PARTS_MAX;
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &len), 0);
    assert_int_equal(baton_hello_decode(buf, len, &out), 0);
    assert_int_equal(out.n_parts, BATON_CONFIG_PARTS_MAX);
    /* One part more than any HELLO may carry. */
    assert_int_equal(buf[len - BATON_CONFIG_PARTS_MAX * 8 - 4], 0xc4);
    buf[len - BATON_CONFIG_PARTS_MAX * 8 - 3] =
        (uint8_t)((BATON_CONFIG_PARTS_MAX + 1) * 8);
    memmove(buf + len + 6, buf + len - 2, 2);
    memset(buf + len - 2, 0x5a, 8);
    assert_int_equal(baton_hello_decode(buf, len + 8, &out), BATON_EBADMSG);

    h.n_parts = 0; /* none: a HELLO that names no part still decodes */
    assert_int_equal(baton_hello_encode(&h, buf, sizeof(buf), &len), 0);
    assert_int_equal(baton_hello_decode(buf, len, &out), 0);
    assert_int_equal(out.n_parts, 0);
}

/* Malformed input built by editing a decoded msgpack tree */

struct tree {
    msgpack_unpacked up;
    msgpack_object *nodes[TREE_NODES_MAX];
    size_t n;
};

static void tree_collect(struct tree *t, msgpack_object *o)
{
    assert_true(t->n < TREE_NODES_MAX);
    t->nodes[t->n++] = o;
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            tree_collect(t, &o->via.array.ptr[i]);
        }
    }
}

static void tree_load(struct tree *t, const uint8_t *buf, size_t len)
{
    size_t off = 0;

    msgpack_unpacked_init(&t->up);
    assert_int_equal(msgpack_unpack_next(&t->up, (const char *)buf, len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len);
    t->n = 0;
    tree_collect(t, &t->up.data);
}

static void tree_free(struct tree *t)
{
    msgpack_unpacked_destroy(&t->up);
}

/* Packs the (edited) tree and decodes it as kind. */
static int tree_decode(const struct tree *t, enum kind kind)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rv;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, t->up.data), 0);
    rv = decode_kind(kind, (const uint8_t *)sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rv;
}

/* Replaces *o with v, decodes, and puts *o back. */
static int try_replace(struct tree *t, enum kind kind, msgpack_object *o,
                       msgpack_object v)
{
    msgpack_object saved = *o;
    int rv;

    *o = v;
    rv = tree_decode(t, kind);
    *o = saved;
    return rv;
}

static msgpack_object obj_uint(uint64_t v)
{
    msgpack_object o;

    memset(&o, 0, sizeof(o));
    o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.u64 = v;
    return o;
}

static msgpack_object obj_str(const char *p, uint32_t n)
{
    msgpack_object o;

    memset(&o, 0, sizeof(o));
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = p;
    o.via.str.size = n;
    return o;
}

static msgpack_object obj_bin(const uint8_t *p, uint32_t n)
{
    msgpack_object o;

    memset(&o, 0, sizeof(o));
    o.type = MSGPACK_OBJECT_BIN;
    o.via.bin.ptr = (const char *)p;
    o.via.bin.size = n;
    return o;
}

/* One value of every msgpack type the format might be confused with. */
static size_t wrong_values(msgpack_object *v)
{
    static const uint8_t zeros[BATON_MAC_LEN];
    size_t n = 0;

    memset(v, 0, 9 * sizeof(*v));
    v[n++].type = MSGPACK_OBJECT_NIL;
    v[n].type = MSGPACK_OBJECT_BOOLEAN;
    v[n++].via.boolean = true;
    v[n].type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    v[n++].via.i64 = -1;
    v[n].type = MSGPACK_OBJECT_FLOAT64;
    v[n++].via.f64 = 1.5;
    v[n].type = MSGPACK_OBJECT_FLOAT32;
    v[n++].via.f64 = 0.5;
    v[n++] = obj_str("1", 1);
    v[n++] = obj_bin(zeros, sizeof(zeros));
    v[n++] = obj_uint(0);
    v[n++].type = MSGPACK_OBJECT_ARRAY; /* empty */
    return n;
}

static void check_array_lengths(struct tree *t, enum kind kind,
                                msgpack_object *o)
{
    msgpack_object longer = *o;
    msgpack_object *elems;
    uint32_t n = o->via.array.size;

    /* One element short: refused, but for a HELLO whose appended
     * `aeads` goes (an older build's HELLO, wire.md §2.1). */
    o->via.array.size = n - 1;
    assert_int_equal(tree_decode(t, kind),
                     kind == KIND_HELLO && n - 1 >= BATON_HELLO_FIELDS
                         ? 0
                         : BATON_EBADMSG);
    o->via.array.size = n;

    /* One element more: a copy of the last, the likeliest extension. */
    elems = malloc((n + 1) * sizeof(*elems));
    assert_non_null(elems);
    memcpy(elems, o->via.array.ptr, n * sizeof(*elems));
    elems[n] = elems[n - 1];
    longer.via.array.ptr = elems;
    longer.via.array.size = n + 1;
    /* A HELLO is the one array that may grow: a later version appends
     * fields, which this one ignores (docs/design/wire.md §2.1). */
    assert_int_equal(
        try_replace(t, kind, o, longer),
        kind == KIND_HELLO && n >= BATON_HELLO_FIELDS ? 0 : BATON_EBADMSG);
    free(elems);
}

/* The arrays whose length is up to the sender: a state's apps, a REPORT
 * body and a Raft APPEND's entries. Their items are arrays carrying a name (str) first or
 * second; an empty array can only be one of them. */
static bool variable_list(const msgpack_object *o)
{
    const msgpack_object *first;

    if (o->via.array.size == 0) {
        return true;
    }
    first = &o->via.array.ptr[0];
    return first->type == MSGPACK_OBJECT_ARRAY && first->via.array.size >= 2 &&
           (first->via.array.ptr[0].type == MSGPACK_OBJECT_STR ||
            first->via.array.ptr[1].type == MSGPACK_OBJECT_STR ||
            /* the settings' standbys: [node u8, standby u8, ver u64] */
            (first->via.array.size == 3 &&
             first->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
             first->via.array.ptr[0].via.u64 <= 255 &&
             first->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
             first->via.array.ptr[1].via.u64 <= 255 &&
             first->via.array.ptr[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
             first->via.array.ptr[2].via.u64 > 255) ||
            /* a Raft APPEND's entries: [term u64, data bin] */
            (first->via.array.size == 2 &&
             first->via.array.ptr[1].type == MSGPACK_OBJECT_BIN));
}

/* Every object of every sample, replaced by every value of another type,
 * is rejected; so is every array one element short or long, every u8
 * field set to 256 and every bin of 31 or 33 bytes. */
static void test_mutations(void **state)
{
    /* Room for the largest bin plus one: a HELLO's part digests. */
    static const uint8_t
        bytes[BATON_CONFIG_PARTS_MAX * BATON_CONFIG_PART_LEN + 1];
    struct sample *s = malloc(SAMPLES_N * sizeof(*s));
    msgpack_object wrong[9];
    size_t n_wrong = wrong_values(wrong);
    struct tree *t = malloc(sizeof(*t));

    BATON_UNUSED(state);
    assert_non_null(s);
    assert_non_null(t);
    make_samples(s);
    for (size_t i = 0; i < SAMPLES_N; i++) {
        tree_load(t, s[i].buf, s[i].len);
        assert_int_equal(tree_decode(t, s[i].kind), 0);
        for (size_t k = 0; k < t->n; k++) {
            msgpack_object *o = t->nodes[k];
            for (size_t w = 0; w < n_wrong; w++) {
                if (wrong[w].type == o->type) {
                    continue;
                }
                assert_int_equal(try_replace(t, s[i].kind, o, wrong[w]),
                                 BATON_EBADMSG);
            }
            switch (o->type) {
            case MSGPACK_OBJECT_ARRAY:
                if (variable_list(o)) {
                    break; /* any length up to the maximum is valid */
                }
                check_array_lengths(t, s[i].kind, o);
                assert_int_equal(try_replace(t, s[i].kind, o, wrong[8]),
                                 BATON_EBADMSG);
                break;
            case MSGPACK_OBJECT_POSITIVE_INTEGER:
                if (o->via.u64 <= 255) { /* a u8 field */
                    assert_int_equal(
                        try_replace(t, s[i].kind, o, obj_uint(256)),
                        BATON_EBADMSG);
                } else { /* a u64 field takes the whole range */
                    assert_int_equal(
                        try_replace(t, s[i].kind, o, obj_uint(UINT64_MAX)), 0);
                }
                break;
            case MSGPACK_OBJECT_BIN: {
                /* Every bin has an exact size: 32 bytes (nonce, digest,
                 * MAC, a report's ranks) or n_nodes (an app's ranks),
                 * or whole 8-byte parts (a HELLO's part digests). */
                uint32_t size = o->via.bin.size;
                if (size == 0) {
                    break; /* a STATE's bytes: any length up to 64 KiB */
                }
                assert_true(size <=
                            BATON_CONFIG_PARTS_MAX * BATON_CONFIG_PART_LEN);
                assert_int_equal(
                    try_replace(t, s[i].kind, o, obj_bin(bytes, size - 1)),
                    BATON_EBADMSG);
                assert_int_equal(
                    try_replace(t, s[i].kind, o, obj_bin(bytes, size + 1)),
                    BATON_EBADMSG);
                assert_int_equal(
                    try_replace(t, s[i].kind, o, obj_bin(bytes, size)), 0);
                break;
            }
            default:
                break;
            }
        }
        tree_free(t);
    }
    free(t);
    free(s);
}

/* The path of indexes to an object of the tree. */
static msgpack_object *tree_at(struct tree *t, size_t depth,
                               const uint32_t *path)
{
    msgpack_object *o = &t->up.data;

    for (size_t i = 0; i < depth; i++) {
        assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
        assert_true(path[i] < o->via.array.size);
        o = &o->via.array.ptr[path[i]];
    }
    return o;
}

/* A body of one type under another type's number; types 0 and 6. */
static void test_type_body_mismatch(void **state)
{
    static const uint32_t type_path[] = {0};
    struct sample *s = malloc(SAMPLES_N * sizeof(*s));
    struct tree *t = malloc(sizeof(*t));

    BATON_UNUSED(state);
    assert_non_null(s);
    assert_non_null(t);
    make_samples(s);
    for (size_t i = 0; i < SAMPLES_N; i++) {
        msgpack_object *type;
        if (s[i].kind != KIND_MSG) {
            continue;
        }
        tree_load(t, s[i].buf, s[i].len);
        type = tree_at(t, 1, type_path);
        for (uint64_t v = 0; v <= BATON_MSG__COUNT; v++) {
            if (v != type->via.u64) {
                assert_int_equal(try_replace(t, KIND_MSG, type, obj_uint(v)),
                                 BATON_EBADMSG);
            }
        }
        tree_free(t);
    }
    free(t);
    free(s);
}

/* other is a state for MERGE (op type 4) and nil for every other op. */
static void test_op_other(void **state)
{
    static const uint32_t op_type_path[] = {7, 2, 0};
    struct prng_msg {
        struct baton_prng p;
        struct baton_msg m;
        uint8_t buf[BUF_CAP];
        size_t len;
    } *x = malloc(sizeof(*x));
    struct tree *t = malloc(sizeof(*t));
    msgpack_object *type;

    BATON_UNUSED(state);
    assert_non_null(x);
    assert_non_null(t);
    baton_prng_seed(&x->p, 9);

    /* A MERGE whose type says otherwise: a state where nil belongs. */
    rand_msg(&x->p, &x->m, BATON_MSG_OP, 4);
    x->m.u.op.op.type = BATON_OP_MERGE;
    rand_state(&x->p, &x->m.u.op.op.other, 4);
    assert_int_equal(baton_msg_encode(&x->m, x->buf, BUF_CAP, &x->len), 0);
    tree_load(t, x->buf, x->len);
    type = tree_at(t, 3, op_type_path);
    assert_int_equal(type->via.u64, BATON_OP_MERGE);
    for (uint64_t v = 0; v <= 255; v++) {
        assert_int_equal(try_replace(t, KIND_MSG, type, obj_uint(v)),
                         v == BATON_OP_MERGE ? 0 : BATON_EBADMSG);
    }
    tree_free(t);

    /* A non-MERGE called a MERGE: nil where a state belongs. */
    x->m.u.op.op.type = BATON_OP_COORD;
    assert_int_equal(baton_msg_encode(&x->m, x->buf, BUF_CAP, &x->len), 0);
    tree_load(t, x->buf, x->len);
    type = tree_at(t, 3, op_type_path);
    for (uint64_t v = 0; v <= 255; v++) {
        /* nil is where a MERGE's state, an APP's app entry or a name
         * op's name entry belongs */
        assert_int_equal(try_replace(t, KIND_MSG, type, obj_uint(v)),
                         v == BATON_OP_MERGE || v == BATON_OP_APP ||
                                 v == BATON_OP_NAME_SET ||
                                 v == BATON_OP_NAME_DEL
                             ? BATON_EBADMSG
                             : 0);
    }
    tree_free(t);

    /* A name entry where a state belongs, and the reverse. */
    memset(&x->m.u.op.op.other, 0, sizeof(x->m.u.op.op.other));
    x->m.u.op.op.type = BATON_OP_NAME_DEL;
    rand_entry(&x->p, &x->m.u.op.op.name, ENTRY_OP, 0, 0);
    assert_int_equal(baton_msg_encode(&x->m, x->buf, BUF_CAP, &x->len), 0);
    tree_load(t, x->buf, x->len);
    type = tree_at(t, 3, op_type_path);
    for (uint64_t v = 0; v <= 255; v++) {
        assert_int_equal(try_replace(t, KIND_MSG, type, obj_uint(v)),
                         v == BATON_OP_NAME_SET || v == BATON_OP_NAME_DEL
                             ? 0
                             : BATON_EBADMSG);
    }
    tree_free(t);
    free(t);
    free(x);
}

/* Builds [n_nodes, coord, coord_inc, epoch, nodes, apps,
 * name_epoch_max] by hand in an OP message's MERGE, with n_nodes and the
 * nodes array length chosen freely. */
static int decode_state_shape(uint64_t n_nodes, uint32_t n_pairs)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rv;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint8(&pk, BATON_MSG_OP);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_uint64(&pk, 3);
    msgpack_pack_uint64(&pk, 4);
    msgpack_pack_uint64(&pk, 5);
    msgpack_pack_array(&pk, 7); /* status */
    msgpack_pack_uint8(&pk, BATON_ROLE_COORDINATOR);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_uint64(&pk, 0x101);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint64(&pk, 3);
    msgpack_pack_uint64(&pk, 0x101);
    msgpack_pack_array(&pk, 3); /* body */
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint64(&pk, 3);
    msgpack_pack_uint64(&pk, 0x101);
    msgpack_pack_uint64(&pk, 8);
    msgpack_pack_array(&pk, 9); /* op */
    msgpack_pack_uint8(&pk, BATON_OP_MERGE);
    msgpack_pack_uint8(&pk, 0);
    msgpack_pack_uint8(&pk, 0);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_array(&pk, 7); /* other */
    msgpack_pack_uint64(&pk, n_nodes);
    msgpack_pack_uint8(&pk, 0);
    msgpack_pack_uint64(&pk, 9);
    msgpack_pack_uint64(&pk, 0x200);
    msgpack_pack_array(&pk, n_pairs);
    for (uint32_t i = 0; i < n_pairs; i++) {
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint64(&pk, 10 + i);
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_uint8(&pk, (uint8_t)i);
    }
    msgpack_pack_array(&pk, 0); /* apps */
    msgpack_pack_uint64(&pk, 0x300); /* name_epoch_max */
    msgpack_pack_uint8(&pk, BATON_NODE_NONE); /* origin */
    msgpack_pack_uint8(&pk, 0);               /* reason */
    msgpack_pack_uint64(&pk, 0);              /* req */
    rv = decode_kind(KIND_MSG, (const uint8_t *)sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rv;
}

static void test_state_shapes(void **state)
{
    BATON_UNUSED(state);
    for (uint32_t n = 1; n <= BATON_NODES_MAX; n++) {
        assert_int_equal(decode_state_shape(n, n), 0);
        assert_int_equal(decode_state_shape(n, n - 1), BATON_EBADMSG);
        assert_int_equal(decode_state_shape(n, n + 1), BATON_EBADMSG);
    }
    assert_int_equal(decode_state_shape(0, 0), BATON_EBADMSG);
    assert_int_equal(
        decode_state_shape(BATON_NODES_MAX + 1, BATON_NODES_MAX + 1),
        BATON_EBADMSG);
    assert_int_equal(decode_state_shape(255, 255), BATON_EBADMSG);
    assert_int_equal(decode_state_shape(256, 0), BATON_EBADMSG);
}

/* Builds a hello by hand, with the name and magic chosen freely. */
static int decode_hello_shape(const char *magic, size_t magic_len,
                              const char *name, size_t name_len)
{
    static const uint8_t bytes[BATON_NONCE_LEN] = {1, 2, 3};
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct baton_hello h;
    int rv;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, BATON_HELLO_FIELDS);
    msgpack_pack_str_with_body(&pk, magic, magic_len);
    msgpack_pack_uint8(&pk, BATON_WIRE_VERSION);
    msgpack_pack_str_with_body(&pk, name, name_len);
    msgpack_pack_uint64(&pk, 42);
    msgpack_pack_bin_with_body(&pk, bytes, sizeof(bytes));
    msgpack_pack_bin_with_body(&pk, bytes, sizeof(bytes));
    msgpack_pack_bin_with_body(&pk, bytes, BATON_CONFIG_PART_LEN);
    msgpack_pack_uint8(&pk, BATON_WIRE_VERSION_MIN);
    msgpack_pack_uint8(&pk, BATON_WIRE_VERSION);
    memset(&h, 0xa5, sizeof(h));
    rv = baton_hello_decode((const uint8_t *)sb.data, sb.size, &h);
    if (rv == 0) {
        assert_int_equal(strlen(h.name), name_len);
        assert_memory_equal(h.name, name, name_len);
        assert_int_equal(h.inc, 42);
    }
    msgpack_sbuffer_destroy(&sb);
    return rv;
}

static void test_hello_names(void **state)
{
    char name[BATON_NAME_MAX + 2];

    BATON_UNUSED(state);
    memset(name, 'n', sizeof(name));
    assert_int_equal(decode_hello_shape("baton", 5, "a@b", 3), 0);
    assert_int_equal(decode_hello_shape("baton", 5, name, 1), 0);
    assert_int_equal(decode_hello_shape("baton", 5, name, BATON_NAME_MAX), 0);
    assert_int_equal(decode_hello_shape("baton", 5, name, 0), BATON_EBADMSG);
    assert_int_equal(decode_hello_shape("baton", 5, name, BATON_NAME_MAX + 1),
                     BATON_EBADMSG);
    assert_int_equal(decode_hello_shape("baton", 5, "a\0b", 3), BATON_EBADMSG);
    assert_int_equal(decode_hello_shape("baton", 5, "ab\0", 3), BATON_EBADMSG);
    assert_int_equal(decode_hello_shape("baton", 5, "\0", 1), BATON_EBADMSG);

    /* The magic must be exactly "baton". */
    assert_int_equal(decode_hello_shape("batoN", 5, "a", 1), BATON_EBADMSG);
    assert_int_equal(decode_hello_shape("bato", 4, "a", 1), BATON_EBADMSG);
    assert_int_equal(decode_hello_shape("batons", 6, "a", 1), BATON_EBADMSG);
    assert_int_equal(decode_hello_shape("baton\0", 6, "a", 1), BATON_EBADMSG);
    assert_int_equal(decode_hello_shape("", 0, "a", 1), BATON_EBADMSG);
}

/* A hello's incarnation is never 0 (docs/design/wire.md §2.1). */
static void test_hello_inc_zero(void **state)
{
    static const uint32_t inc_path[] = {3};
    struct sample *s = malloc(SAMPLES_N * sizeof(*s));
    struct tree *t = malloc(sizeof(*t));
    msgpack_object *inc;

    BATON_UNUSED(state);
    assert_non_null(s);
    assert_non_null(t);
    make_samples(s);
    for (size_t i = 0; i < SAMPLES_N; i++) {
        if (s[i].kind != KIND_HELLO) {
            continue;
        }
        tree_load(t, s[i].buf, s[i].len);
        inc = tree_at(t, 1, inc_path);
        assert_int_equal(inc->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        assert_int_equal(try_replace(t, KIND_HELLO, inc, obj_uint(0)),
                         BATON_EBADMSG);
        assert_int_equal(try_replace(t, KIND_HELLO, inc, obj_uint(1)), 0);
        tree_free(t);
    }
    free(t);
    free(s);
}

/* Any encoding of a non-negative integer is accepted (msgpack allows
 * several); negative ones are not, whatever their encoding. */
static void test_integer_encodings(void **state)
{
    static const uint8_t mac[BATON_MAC_LEN] = {9};
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct baton_hello h;
    int rv;

    BATON_UNUSED(state);
    for (unsigned variant = 0; variant < 8; variant++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, BATON_HELLO_FIELDS);
        msgpack_pack_str_with_body(&pk, "baton", 5);
        switch (variant) {
        case 0:
            msgpack_pack_fix_uint8(&pk, 7);
            break;
        case 1:
            msgpack_pack_fix_uint64(&pk, 7);
            break;
        case 2:
            msgpack_pack_fix_int8(&pk, 7);
            break;
        case 3:
            msgpack_pack_fix_int64(&pk, 7);
            break;
        case 4:
            msgpack_pack_fix_int8(&pk, -1);
            break;
        case 5:
            msgpack_pack_fix_int64(&pk, -7);
            break;
        case 6:
            msgpack_pack_fix_uint16(&pk, 256);
            break;
        default:
            msgpack_pack_true(&pk);
            break;
        }
        msgpack_pack_str_with_body(&pk, "x", 1);
        msgpack_pack_fix_int32(&pk, 5);
        msgpack_pack_bin_with_body(&pk, mac, sizeof(mac));
        msgpack_pack_bin_with_body(&pk, mac, sizeof(mac));
        msgpack_pack_bin_with_body(&pk, mac, 0); /* no part digests */
        msgpack_pack_fix_uint8(&pk, 5);          /* wire_min */
        msgpack_pack_fix_uint8(&pk, 7);          /* wire_max */
        rv = baton_hello_decode((const uint8_t *)sb.data, sb.size, &h);
        if (variant < 4) {
            assert_int_equal(rv, 0);
            assert_int_equal(h.version, 7);
            assert_int_equal(h.inc, 5);
        } else {
            assert_int_equal(rv, BATON_EBADMSG);
        }
        msgpack_sbuffer_destroy(&sb);
    }
}

/* Hostile inputs that must fail fast: huge announced sizes, maps, ext,
 * the unused byte 0xc1, nesting deeper than the format. */
static void test_hostile(void **state)
{
    static const uint8_t array32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t array16[] = {0xdc, 0xff, 0xff, 0x01};
    static const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 0x61};
    static const uint8_t bin32[] = {0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00};
    static const uint8_t map[] = {0x81, 0x01, 0x02};
    static const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t fixext[] = {0xd4, 0x01, 0x02};
    static const uint8_t ext32[] = {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t unused[] = {0xc1};
    static const uint8_t nested_count[] = {0x98, 0x91, 0x91, 0x91, 0x00};
    static const struct {
        const uint8_t *buf;
        size_t len;
    } cases[] = {
        {array32, sizeof(array32)}, {array16, sizeof(array16)},
        {str32, sizeof(str32)},     {bin32, sizeof(bin32)},
        {map, sizeof(map)},         {map32, sizeof(map32)},
        {fixext, sizeof(fixext)},   {ext32, sizeof(ext32)},
        {unused, sizeof(unused)},   {nested_count, sizeof(nested_count)},
    };
    uint8_t deep[64];

    BATON_UNUSED(state);
    for (size_t i = 0; i < BATON_ARRAY_LEN(cases); i++) {
        for (int kind = KIND_MSG; kind <= KIND_PROOF; kind++) {
            assert_int_equal(
                decode_kind((enum kind)kind, cases[i].buf, cases[i].len),
                BATON_EBADMSG);
        }
    }
    /* 63 nested one-element arrays around a 0: deeper than msgpack-c's
     * own stack, which it would report as out of memory. */
    memset(deep, 0x91, sizeof(deep));
    deep[sizeof(deep) - 1] = 0x00;
    for (size_t len = 1; len <= sizeof(deep); len++) {
        assert_int_equal(decode_kind(KIND_MSG, deep + sizeof(deep) - len, len),
                         BATON_EBADMSG);
    }
    /* Every single byte, and nothing at all. */
    for (unsigned b = 0; b <= 255; b++) {
        uint8_t one = (uint8_t)b;
        assert_int_equal(decode_kind(KIND_MSG, &one, 1), BATON_EBADMSG);
        assert_int_equal(decode_kind(KIND_HELLO, &one, 1), BATON_EBADMSG);
        assert_int_equal(decode_kind(KIND_PROOF, &one, 1), BATON_EBADMSG);
    }
    assert_int_equal(decode_kind(KIND_MSG, NULL, 0), BATON_EBADMSG);
}

/* Random byte flips of valid encodings: decoding either fails cleanly
 * or gives a message that survives its own round trip. */
static void test_flips(void **state)
{
    struct sample *s = malloc(SAMPLES_N * sizeof(*s));
    struct baton_prng p;
    struct baton_msg m;

    BATON_UNUSED(state);
    assert_non_null(s);
    make_samples(s);
    baton_prng_seed(&p, 10);
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        struct sample *x = &s[baton_prng_below(&p, SAMPLES_N)];
        size_t at = (size_t)baton_prng_below(&p, x->len);
        uint8_t saved = x->buf[at];
        int rv;

        x->buf[at] = rand_u8(&p);
        rv = decode_kind(x->kind, x->buf, x->len);
        assert_true(rv == 0 || rv == BATON_EBADMSG);
        if (rv == 0 && x->kind == KIND_MSG) {
            assert_int_equal(baton_msg_decode_into(x->buf, x->len, &m, &rx_tab, &t_members),
                             0);
            check_msg_roundtrip(&m);
        }
        x->buf[at] = saved;
    }
    free(s);
}

/* Names and calls (docs/design/wire.md §2.4) */

/* A valid message of type for the tests below: small values, a table
 * of n entries (JOIN, SNAPSHOT) over 3 nodes. */
static void names_msg(struct baton_msg *m, unsigned type, unsigned n)
{
    static const uint8_t bytes[4] = {1, 2, 3, 4};

    fill_msg(m, type, 300, 3);
    baton_names_clear(&src_tab);
    for (unsigned i = 0; i < n; i++) {
        struct baton_name e;
        memset(&e, 0, sizeof(e));
        snprintf(e.name, sizeof(e.name), "svc/%u", i);
        e.owner = (uint8_t)(i % 3);
        e.resolver = (uint8_t)(i % BATON_RESOLVE__COUNT);
        e.owner_inc = 1000 + i;
        e.endpoint = 2000 + i;
        e.epoch = 3000 + i;
        e.meta_len = (uint16_t)(i % 5);
        memset(e.meta, 'm', e.meta_len);
        assert_int_equal(baton_names_put(&src_tab, &e), 0);
    }
    switch (type) {
    case BATON_MSG_JOIN:
        m->u.join.names = &src_tab;
        break;
    case BATON_MSG_SNAPSHOT:
        m->u.snapshot.names = &src_tab;
        break;
    case BATON_MSG_NAME_REQ:
        m->u.name_req.name.meta_len = 2;
        break;
    case BATON_MSG_CALL:
        m->u.call.data = bytes;
        m->u.call.len = sizeof(bytes);
        break;
    case BATON_MSG_REPLY:
        m->u.reply.data = bytes;
        m->u.reply.len = sizeof(bytes);
        break;
    default:
        break;
    }
}

static int decode_into(const struct baton_msg *m, struct baton_names *t,
                       struct baton_msg *out)
{
    static uint8_t buf[BATON_FRAME_BODY_MAX];
    size_t len = 0;

    assert_int_equal(baton_msg_encode(m, buf, sizeof(buf), &len), 0);
    return baton_msg_decode_into(buf, len, out, t, &t_members);
}

/* Encodes m, replaces the object at path (depth indexes) with v and
 * decodes the result (into rx_tab). */
static int mutate(const struct baton_msg *m, size_t depth,
                  const uint32_t *path, msgpack_object v)
{
    static uint8_t buf[BUF_CAP];
    struct tree *t = malloc(sizeof(*t));
    size_t len = 0;
    int rv;

    assert_non_null(t);
    assert_int_equal(baton_msg_encode(m, buf, sizeof(buf), &len), 0);
    tree_load(t, buf, len);
    rv = try_replace(t, KIND_MSG, tree_at(t, depth, path), v);
    tree_free(t);
    free(t);
    return rv;
}

/* Every new type, JOIN and SNAPSHOT with tables of several names. */
static void test_names_roundtrip(void **state)
{
    static struct baton_msg m;
    struct baton_prng p;

    BATON_UNUSED(state);
    for (unsigned type = BATON_MSG_NAME_REQ; type < BATON_MSG__COUNT;
         type++) {
        names_msg(&m, type, 0);
        check_msg_roundtrip(&m);
    }
    for (unsigned n = 0; n <= baton_names_limit(TABLE_CAP); n += 6) {
        names_msg(&m, BATON_MSG_JOIN, n);
        check_msg_roundtrip(&m);
        assert_true(rt_tab.count == n);
        names_msg(&m, BATON_MSG_SNAPSHOT, n);
        check_msg_roundtrip(&m);
        assert_true(rt_tab.count == n);
    }
    /* The longest names, the most metadata, every integer at its
     * widest: BATON_NAME_ENTRY_WIRE_MAX bytes an entry. */
    baton_prng_seed(&p, 11);
    for (unsigned r = 0; r < 50; r++) {
        rand_msg(&p, &m, BATON_MSG_SNAPSHOT, 1 + (unsigned)r % 32);
        baton_names_clear(&src_tab);
        for (unsigned i = 0; i < 1 + r % 20; i++) {
            struct baton_name e;
            rand_entry(&p, &e, ENTRY_TABLE, m.u.snapshot.state.n_nodes, i);
            assert_int_equal(baton_names_put(&src_tab, &e), 0);
        }
        m.u.snapshot.names = &src_tab;
        check_msg_roundtrip(&m);
    }
    /* Every type of the new ones, random. */
    for (unsigned r = 0; r < PROPERTY_ROUNDS; r++) {
        rand_msg(&p, &m,
                 BATON_MSG_NAME_REQ +
                     (unsigned)baton_prng_below(
                         &p, BATON_MSG__COUNT - BATON_MSG_NAME_REQ),
                 0);
        check_msg_roundtrip(&m);
    }
}

/* The longest name, the most metadata, every field at its widest. */
static void widest_entry(struct baton_name *e)
{
    memset(e, 0, sizeof(*e));
    memset(e->name, '~', BATON_GNAME_MAX);
    e->owner = BATON_NODES_MAX - 1;
    e->resolver = BATON_RESOLVE__COUNT - 1;
    e->owner_inc = e->endpoint = e->epoch = UINT64_MAX;
    e->meta_len = BATON_GNAME_META_MAX;
    memset(e->meta, 0xff, sizeof(e->meta));
}

/* The widest entry takes BATON_NAME_ENTRY_WIRE_MAX bytes, and the
 * largest message without a table or payload under BATON_MSG_BASE_MAX. */
static void test_names_sizes(void **state)
{
    static struct baton_msg m;
    static uint8_t buf[BATON_FRAME_BODY_MAX];
    size_t one = 0;
    size_t two = 0;
    struct baton_prng p;
    struct baton_name e;

    BATON_UNUSED(state);
    fill_msg(&m, BATON_MSG_SNAPSHOT, UINT64_MAX, BATON_NODES_MAX);
    for (unsigned k = 0; k < BATON_APPS_MAX; k++) {
        struct baton_state_app *a = &m.u.snapshot.state.apps[k];
        memset(a->name, 'a' + (int)k, BATON_APP_NAME_MAX);
        a->status = 255;
        a->type = a->owner = a->from = a->prev = 255;
        a->owner_inc = a->prev_inc = a->epoch = a->epoch_max = UINT64_MAX;
        a->failover_timeout_ms = UINT64_MAX;
    }
    baton_names_clear(&src_tab);
    m.u.snapshot.names = &src_tab;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &one), 0);
    assert_true(one < BATON_MSG_BASE_MAX);
    widest_entry(&e);
    assert_int_equal(baton_names_put(&src_tab, &e), 0);
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &two), 0);
    assert_int_equal(two - one, BATON_NAME_ENTRY_WIRE_MAX);

    /* Every other type at its largest stays under the bound too. */
    baton_prng_seed(&p, 12);
    rand_msg(&p, &m, BATON_MSG_REPORT, 0);
    m.u.report.n = BATON_APPS_MAX;
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        memset(m.u.report.r[i].name, 'r', BATON_APP_NAME_MAX);
    }
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &one), 0);
    assert_true(one < BATON_MSG_BASE_MAX);
    fill_msg(&m, BATON_MSG_OP, UINT64_MAX, BATON_NODES_MAX);
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &one), 0);
    assert_true(one < BATON_MSG_BASE_MAX);
}

/* The largest table drivers accept (BATON_MSG_NAMES_CAP_MAX), full of
 * the widest entries, goes out as a SNAPSHOT in parts of
 * BATON_SNAPSHOT_PART_NAMES entries, each of which fits a frame and
 * decodes to just its slice; the parts together are the table and stay
 * within BATON_MSG_SNAPSHOT_BYTES_MAX. A JOIN of BATON_JOIN_NAMES_MAX
 * entries fits a frame too (issue 11 item 10: a table too large for a
 * frame kept a node from ever rejoining). */
static void test_names_largest_table(void **state)
{
    static struct baton_name big_slots[BATON_MSG_NAMES_CAP_MAX];
    static struct baton_name back_slots[BATON_MSG_NAMES_CAP_MAX];
    static struct baton_name all_slots[BATON_MSG_NAMES_CAP_MAX];
    static struct baton_msg m;
    static struct baton_msg out;
    static uint8_t buf[BATON_FRAME_BODY_MAX];
    struct baton_names big, back, all;
    uint32_t n = baton_names_limit(BATON_MSG_NAMES_CAP_MAX);
    uint64_t total = 0;
    uint32_t start = 0;
    unsigned parts = 0;
    size_t len = 0;

    BATON_UNUSED(state);
    baton_names_init(&big, big_slots, BATON_MSG_NAMES_CAP_MAX);
    baton_names_init(&back, back_slots, BATON_MSG_NAMES_CAP_MAX);
    baton_names_init(&all, all_slots, BATON_MSG_NAMES_CAP_MAX);
    for (uint32_t i = 0; i < n; i++) {
        struct baton_name e;
        widest_entry(&e);
        for (uint32_t k = 0, v = i; k < 4; k++, v /= 64) {
            e.name[k] = (char)('!' + v % 64); /* distinct, printable */
        }
        assert_int_equal(baton_names_put(&big, &e), 0);
    }
    assert_int_equal(big.count, n);
    fill_msg(&m, BATON_MSG_SNAPSHOT, UINT64_MAX, BATON_NODES_MAX);
    m.u.snapshot.names = &big;
    /* Slices as the core cuts them (replication.c send_parts). */
    while (start < big.cap) {
        uint32_t end = start;
        uint32_t k = 0;
        while (end < big.cap && k < BATON_SNAPSHOT_PART_NAMES) {
            k += big.slot[end++].used != 0;
        }
        m.u.snapshot.part = parts++;
        m.u.snapshot.more = end < big.cap;
        m.u.snapshot.slot_first = start;
        m.u.snapshot.slot_end = end;
        assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
        assert_true(len <= BATON_MSG_NAMES_BYTES_MAX(k));
        assert_true(len <= BATON_FRAME_BODY_MAX - BATON_SEAL_OVERHEAD);
        total += len;
        /* Through one zone: a part's objects take more than its first
         * chunk, which is freed back to that chunk after each. */
        assert_int_equal(baton_msg_decode_in(test_zone(), buf, len, &out,
                                             &back, &t_members),
                         0);
        assert_int_equal(back.count, k);
        assert_int_equal(out.u.snapshot.part, m.u.snapshot.part);
        assert_int_equal(out.u.snapshot.more, m.u.snapshot.more);
        for (uint32_t i = 0; i < back.cap; i++) {
            if (back.slot[i].used) {
                assert_null(baton_names_find(&all, back.slot[i].name));
                assert_int_equal(baton_names_put(&all, &back.slot[i]), 0);
            }
        }
        start = end;
    }
    assert_true(parts > 1 && parts <= BATON_SNAPSHOT_PARTS_MAX);
    assert_int_equal(all.count, n);
    assert_true(all.digest == big.digest);
    assert_true(total <= BATON_MSG_SNAPSHOT_BYTES_MAX(BATON_MSG_NAMES_CAP_MAX));
    /* A JOIN of as many own names as a node may hold. */
    baton_names_clear(&all);
    for (uint32_t i = 0; all.count < BATON_JOIN_NAMES_MAX; i++) {
        if (big.slot[i].used) {
            assert_int_equal(baton_names_put(&all, &big.slot[i]), 0);
        }
    }
    fill_msg(&m, BATON_MSG_JOIN, UINT64_MAX, BATON_NODES_MAX);
    m.u.join.names = &all;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    assert_true(len <= BATON_MSG_NAMES_BYTES_MAX(BATON_JOIN_NAMES_MAX));
    assert_true(len <= BATON_FRAME_BODY_MAX - BATON_SEAL_OVERHEAD);
    assert_int_equal(baton_msg_decode_into(buf, len, &out, &back, &t_members), 0);
    assert_true(back.digest == all.digest);
    /* The format carries no part beyond the last possible one. */
    fill_msg(&m, BATON_MSG_SNAPSHOT, 1, 3);
    m.u.snapshot.part = BATON_SNAPSHOT_PARTS_MAX;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.snapshot.part = 0;
    m.u.snapshot.more = 2;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
}

/* The decoder's table: filled for JOIN and SNAPSHOT only, and refused
 * when it cannot hold the entries. */
static void test_names_table(void **state)
{
    static struct baton_name small_slots[16];
    static struct baton_msg m;
    static struct baton_msg out;
    struct baton_names small;
    struct baton_name e;

    BATON_UNUSED(state);
    baton_names_init(&small, small_slots, 16);

    /* 12 entries fill a 16-slot table; 13 do not fit. */
    names_msg(&m, BATON_MSG_SNAPSHOT, 12);
    assert_int_equal(decode_into(&m, &small, &out), 0);
    assert_ptr_equal(out.u.snapshot.names, &small);
    assert_tables_equal(&small, &src_tab);
    names_msg(&m, BATON_MSG_JOIN, 13);
    assert_int_equal(decode_into(&m, &small, &out), BATON_EBADMSG);
    assert_int_equal(decode_into(&m, &rt_tab, &out), 0);
    assert_ptr_equal(out.u.join.names, &rt_tab);
    assert_tables_equal(&rt_tab, &src_tab);

    /* A table of no slots, or none at all, takes no entries. */
    baton_names_init(&small, NULL, 0);
    assert_int_equal(decode_into(&m, &small, &out), BATON_EBADMSG);
    assert_int_equal(decode_into(&m, NULL, &out), BATON_EBADMSG);
    names_msg(&m, BATON_MSG_SNAPSHOT, 0);
    assert_int_equal(decode_into(&m, NULL, &out), 0);
    assert_null(out.u.snapshot.names);
    assert_int_equal(decode_into(&m, &small, &out), 0);
    assert_ptr_equal(out.u.snapshot.names, &small);

    /* The table is cleared first. */
    names_msg(&m, BATON_MSG_SNAPSHOT, 5);
    assert_int_equal(decode_into(&m, &rt_tab, &out), 0);
    names_msg(&m, BATON_MSG_SNAPSHOT, 1);
    assert_int_equal(decode_into(&m, &rt_tab, &out), 0);
    assert_int_equal(rt_tab.count, 1);
    assert_tables_equal(&rt_tab, &src_tab);

    /* Every other type leaves it alone. */
    memset(&e, 0, sizeof(e));
    strcpy(e.name, "kept");
    e.owner_inc = e.endpoint = e.epoch = 1;
    baton_names_clear(&rt_tab);
    assert_int_equal(baton_names_put(&rt_tab, &e), 0);
    for (unsigned type = BATON_MSG_HEARTBEAT; type < BATON_MSG__COUNT;
         type++) {
        if (type == BATON_MSG_JOIN || type == BATON_MSG_SNAPSHOT) {
            continue;
        }
        names_msg(&m, type, 0);
        assert_int_equal(decode_into(&m, &rt_tab, &out), 0);
        assert_int_equal(rt_tab.count, 1);
        assert_non_null(baton_names_find(&rt_tab, "kept"));
        assert_int_equal(decode_into(&m, NULL, &out), 0);
    }
}

/* Values of entries, names and payloads the format refuses. */
static void test_names_invalid_decode(void **state)
{
    static const uint32_t snap_entry[] = {7, 7, 1, 0};
    static const uint32_t snap_part[] = {7, 5};
    static const uint32_t snap_more[] = {7, 6};
    static const uint32_t join_entry[] = {7, 2, 0, 0};
    static const uint32_t req_entry[] = {7, 3, 0};
    static const uint32_t req_kind[] = {7, 2};
    static const uint32_t op_entry[] = {7, 2, 5, 0};
    static const uint32_t op_reason[] = {7, 2, 7};
    static const uint32_t lost[] = {7, 0};
    static const uint32_t call[] = {7, 0};
    static const uint32_t reply[] = {7, 0};
    static uint8_t big[BATON_CALL_DATA_MAX + 1];
    static char name[BATON_GNAME_MAX + 2];
    static struct baton_msg m;
    uint32_t path[4];

    BATON_UNUSED(state);
    memset(name, 'n', sizeof(name));

    /* A table entry: [name, owner, resolver, owner_inc, endpoint, epoch,
     * meta] of a 3-node state. */
    names_msg(&m, BATON_MSG_SNAPSHOT, 3);
    memcpy(path, snap_entry, sizeof(path));
    assert_int_equal(mutate(&m, 4, path, obj_str("a b", 3)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 4, path, obj_str("", 0)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 4, path, obj_str("a\0b", 3)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 4, path, obj_str("\x7f", 1)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 4, path, obj_str(name, BATON_GNAME_MAX + 1)),
                     BATON_EBADMSG);
    assert_int_equal(mutate(&m, 4, path, obj_str(name, BATON_GNAME_MAX)), 0);
    assert_int_equal(mutate(&m, 4, path, obj_str("svc/0", 5)),
                     BATON_EBADMSG); /* a name given twice */
    assert_int_equal(mutate(&m, 4, path, obj_str("svc/9", 5)), 0);
    path[3] = 1; /* owner: a node of the state */
    assert_int_equal(mutate(&m, 4, path, obj_uint(2)), 0);
    assert_int_equal(mutate(&m, 4, path, obj_uint(3)), BATON_EBADMSG);
    path[3] = 2; /* resolver */
    assert_int_equal(mutate(&m, 4, path, obj_uint(BATON_RESOLVE__COUNT - 1)),
                     0);
    assert_int_equal(mutate(&m, 4, path, obj_uint(BATON_RESOLVE__COUNT)),
                     BATON_EBADMSG);
    for (path[3] = 3; path[3] <= 5; path[3]++) { /* never 0 */
        assert_int_equal(mutate(&m, 4, path, obj_uint(0)), BATON_EBADMSG);
        assert_int_equal(mutate(&m, 4, path, obj_uint(1)), 0);
    }
    path[3] = 6; /* meta */
    assert_int_equal(mutate(&m, 4, path, obj_bin(big, BATON_GNAME_META_MAX)),
                     0);
    assert_int_equal(
        mutate(&m, 4, path, obj_bin(big, BATON_GNAME_META_MAX + 1)),
        BATON_EBADMSG);
    assert_int_equal(mutate(&m, 4, path, obj_str("m", 1)), BATON_EBADMSG);
    /* A snapshot part: part < BATON_SNAPSHOT_PARTS_MAX, more 0 or 1. */
    assert_int_equal(
        mutate(&m, 2, snap_part, obj_uint(BATON_SNAPSHOT_PARTS_MAX - 1)), 0);
    assert_int_equal(
        mutate(&m, 2, snap_part, obj_uint(BATON_SNAPSHOT_PARTS_MAX)),
        BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, snap_more, obj_uint(1)), 0);
    assert_int_equal(mutate(&m, 2, snap_more, obj_uint(2)), BATON_EBADMSG);
    names_msg(&m, BATON_MSG_JOIN, 2);
    assert_int_equal(mutate(&m, 4, join_entry, obj_str(" x", 2)),
                     BATON_EBADMSG);
    assert_int_equal(mutate(&m, 4, join_entry, obj_str("svc/1", 5)),
                     BATON_EBADMSG);

    /* A request: the name may be empty for DROP only; no owner. */
    names_msg(&m, BATON_MSG_NAME_REQ, 0);
    assert_int_equal(mutate(&m, 3, req_entry, obj_str("", 0)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 3, req_entry, obj_str("a b", 3)),
                     BATON_EBADMSG);
    assert_int_equal(
        mutate(&m, 3, req_entry, obj_str(name, BATON_GNAME_MAX + 1)),
        BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, req_kind, obj_uint(0)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, req_kind, obj_uint(BATON_NAME__KIND_COUNT)),
                     BATON_EBADMSG);
    for (unsigned k = BATON_NAME_REGISTER; k < BATON_NAME__KIND_COUNT; k++) {
        assert_int_equal(mutate(&m, 2, req_kind, obj_uint(k)), 0);
    }
    m.u.name_req.kind = BATON_NAME_DROP;
    assert_int_equal(mutate(&m, 3, req_entry, obj_str("", 0)), 0);
    assert_int_equal(mutate(&m, 3, req_entry, obj_str("a b", 3)),
                     BATON_EBADMSG);
    memcpy(path, req_entry, sizeof(req_entry));
    path[2] = 1; /* owner */
    assert_int_equal(mutate(&m, 3, path, obj_uint(1)), BATON_EBADMSG);
    path[2] = 2; /* resolver */
    assert_int_equal(mutate(&m, 3, path, obj_uint(BATON_RESOLVE__COUNT)),
                     BATON_EBADMSG);
    path[2] = 3; /* owner_inc */
    assert_int_equal(mutate(&m, 3, path, obj_uint(1)), BATON_EBADMSG);
    path[2] = 4; /* endpoint */
    assert_int_equal(mutate(&m, 3, path, obj_uint(0)), BATON_EBADMSG);
    path[2] = 5; /* epoch: anything */
    assert_int_equal(mutate(&m, 3, path, obj_uint(0)), 0);
    path[2] = 6; /* meta */
    assert_int_equal(
        mutate(&m, 3, path, obj_bin(big, BATON_GNAME_META_MAX + 1)),
        BATON_EBADMSG);

    /* An op's entry: a valid name and metadata; a reason in range. */
    names_msg(&m, BATON_MSG_OP, 0);
    m.u.op.op.type = BATON_OP_NAME_SET;
    memset(&m.u.op.op.other, 0, sizeof(m.u.op.op.other));
    strcpy(m.u.op.op.name.name, "x");
    assert_int_equal(mutate(&m, 4, op_entry, obj_str("", 0)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 4, op_entry, obj_str("a\tb", 3)),
                     BATON_EBADMSG);
    memcpy(path, op_entry, sizeof(op_entry));
    path[3] = 6;
    assert_int_equal(
        mutate(&m, 4, path, obj_bin(big, BATON_GNAME_META_MAX + 1)),
        BATON_EBADMSG);
    assert_int_equal(mutate(&m, 3, op_reason, obj_uint(BATON_LOST__COUNT)),
                     BATON_EBADMSG);

    /* NAME_LOST: [reason, endpoint, epoch, name]. */
    names_msg(&m, BATON_MSG_NAME_LOST, 0);
    memcpy(path, lost, sizeof(lost));
    assert_int_equal(mutate(&m, 2, path, obj_uint(0)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, path, obj_uint(BATON_LOST__COUNT)),
                     BATON_EBADMSG);
    path[1] = 3;
    assert_int_equal(mutate(&m, 2, path, obj_str("", 0)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, path, obj_str("a b", 3)), BATON_EBADMSG);

    /* CALL: [id, caller, hops, flags, caller_inc, name, data]. */
    names_msg(&m, BATON_MSG_CALL, 0);
    memcpy(path, call, sizeof(call));
    path[1] = 5;
    assert_int_equal(mutate(&m, 2, path, obj_str("", 0)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, path, obj_str("a b", 3)), BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, path, obj_str(name, BATON_GNAME_MAX + 1)),
                     BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, path, obj_str(name, BATON_GNAME_MAX)), 0);
    path[1] = 6;
    assert_int_equal(mutate(&m, 2, path, obj_bin(big, BATON_CALL_DATA_MAX)),
                     0);
    assert_int_equal(
        mutate(&m, 2, path, obj_bin(big, BATON_CALL_DATA_MAX + 1)),
        BATON_EBADMSG);
    assert_int_equal(mutate(&m, 2, path, obj_str("d", 1)), BATON_EBADMSG);

    /* REPLY: [id, code, data]. */
    names_msg(&m, BATON_MSG_REPLY, 0);
    memcpy(path, reply, sizeof(reply));
    path[1] = 1;
    assert_int_equal(mutate(&m, 2, path, obj_uint(BATON_NAME_CODE__COUNT)),
                     BATON_EBADMSG);
    path[1] = 2;
    assert_int_equal(mutate(&m, 2, path, obj_bin(big, BATON_CALL_DATA_MAX)),
                     0);
    assert_int_equal(
        mutate(&m, 2, path, obj_bin(big, BATON_CALL_DATA_MAX + 1)),
        BATON_EBADMSG);
    names_msg(&m, BATON_MSG_NAME_REPLY, 0);
    assert_int_equal(mutate(&m, 2, path, obj_uint(0)), BATON_EBADMSG);
}

/* Empty strs and bins, which msgpack-c may hand over without a
 * pointer (found by fuzz_msg: regress-drop-empty-name). */
static void test_names_empty(void **state)
{
    static const uint8_t drop[] = {
        0x98, 0x08, 0x7f, 0x01, 0x00, 0xcf, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x26, 0x2a, 0x97, 0x03, 0x02, 0x01, 0x00, 0x27, 0x00,
        0x93, 0x00, 0x02, 0x01, 0x94, 0x03, 0x01, 0x04, 0x97, 0xa0, 0x00,
        0x02, 0x00, 0x35, 0x00, 0xc4, 0x00};
    static struct baton_msg m;

    BATON_UNUSED(state);
    assert_int_equal(baton_msg_decode_into(drop, sizeof(drop), &m, NULL, &t_members), 0);
    assert_int_equal(m.type, BATON_MSG_NAME_REQ);
    assert_int_equal(m.u.name_req.kind, BATON_NAME_DROP);
    assert_string_equal(m.u.name_req.name.name, "");
    assert_int_equal(m.u.name_req.name.meta_len, 0);
    assert_int_equal(m.u.name_req.name.endpoint, 0x35);
    check_msg_roundtrip(&m);
}

/* The encoder refuses what the decoder would. */
static void test_names_invalid_encode(void **state)
{
    static struct baton_msg m;
    static uint8_t buf[BATON_FRAME_BODY_MAX];
    static uint8_t big[BATON_CALL_DATA_MAX + 1];
    struct baton_name *e;
    size_t len;

    BATON_UNUSED(state);
    names_msg(&m, BATON_MSG_SNAPSHOT, 2);
    e = NULL;
    for (uint32_t i = 0; i < src_tab.cap; i++) {
        if (src_tab.slot[i].used) {
            e = &src_tab.slot[i];
        }
    }
    assert_non_null(e);
    e->owner = 3; /* not a node of the 3 */
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    e->owner = 2;
    e->epoch = 0;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    e->epoch = 1;
    e->meta_len = BATON_GNAME_META_MAX + 1;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    e->meta_len = 0;
    e->name[3] = ' ';
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    e->name[3] = '/';
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);

    names_msg(&m, BATON_MSG_NAME_REQ, 0);
    m.u.name_req.name.name[0] = '\0';
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.name_req.kind = BATON_NAME_DROP;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    m.u.name_req.kind = 0;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.name_req.kind = BATON_NAME_DROP;
    m.u.name_req.name.endpoint = 0;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.name_req.name.endpoint = 1;
    memset(m.u.name_req.name.name, 'n', sizeof(m.u.name_req.name.name));
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL); /* 128 bytes, no terminator */

    names_msg(&m, BATON_MSG_CALL, 0);
    m.u.call.data = big;
    m.u.call.len = BATON_CALL_DATA_MAX;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    m.u.call.len = BATON_CALL_DATA_MAX + 1;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.call.len = 1;
    m.u.call.data = NULL;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.call.len = 0;
    strcpy(m.u.call.name, "a b");
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.call.name[0] = '\0';
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);

    names_msg(&m, BATON_MSG_REPLY, 0);
    m.u.reply.code = BATON_NAME_CODE__COUNT;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    names_msg(&m, BATON_MSG_NAME_LOST, 0);
    m.u.name_lost.reason = 0;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    names_msg(&m, BATON_MSG_NAME_REPLY, 0);
    m.u.name_reply.code = 255;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    names_msg(&m, BATON_MSG_OP, 0);
    m.u.op.op.reason = BATON_LOST__COUNT;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
    m.u.op.op.reason = 0;
    m.u.op.op.type = BATON_OP_NAME_DEL; /* its entry has no name */
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
}

/* A STATE's bytes survive the round trip, borrowed from the input. */
static void test_state_bytes(void **state)
{
    static uint8_t buf[BATON_STATE_MAX + 256];
    static uint8_t bytes[BATON_STATE_MAX];
    struct baton_msg m;
    struct baton_msg out;
    size_t len;

    BATON_UNUSED(state);
    for (size_t i = 0; i < sizeof(bytes); i++) {
        bytes[i] = (uint8_t)(i * 7);
    }
    memset(&m, 0, sizeof(m));
    m.type = BATON_MSG_STATE;
    m.from_inc = 1;
    m.seq = 1;
    snprintf(m.u.state.name, sizeof(m.u.state.name), "counter");
    m.u.state.epoch = 777;
    m.u.state.ok = 1;
    m.u.state.data = bytes;
    m.u.state.len = sizeof(bytes);
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len), 0);
    assert_int_equal(baton_msg_decode_into(buf, len, &out, NULL, &t_members), 0);
    assert_int_equal(out.u.state.len, sizeof(bytes));
    assert_true(out.u.state.data >= buf && out.u.state.data < buf + len);
    assert_memory_equal(out.u.state.data, bytes, sizeof(bytes));
    assert_string_equal(out.u.state.name, "counter");
    /* One byte more than the maximum is refused both ways. */
    m.u.state.len = BATON_STATE_MAX + 1;
    assert_int_equal(baton_msg_encode(&m, buf, sizeof(buf), &len),
                     BATON_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_bytes),
        cmocka_unit_test(test_frame_roundtrip),
        cmocka_unit_test(test_frame_short),
        cmocka_unit_test(test_frame_bad),
        cmocka_unit_test(test_frame_version),
        cmocka_unit_test(test_wire_negotiate),
        cmocka_unit_test(test_wire_features),
        cmocka_unit_test(test_wire_transcript),
        cmocka_unit_test(test_hello_range),
        cmocka_unit_test(test_msg_roundtrip_random),
        cmocka_unit_test(test_msg_roundtrip_node_counts),
        cmocka_unit_test(test_msg_roundtrip_extremes),
        cmocka_unit_test(test_msg_decode_zeroes),
        cmocka_unit_test(test_hello_roundtrip),
        cmocka_unit_test(test_hello_parts_checked),
        cmocka_unit_test(test_proof_roundtrip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_encode_full),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_type_body_mismatch),
        cmocka_unit_test(test_op_other),
        cmocka_unit_test(test_state_shapes),
        cmocka_unit_test(test_hello_names),
        cmocka_unit_test(test_hello_inc_zero),
        cmocka_unit_test(test_integer_encodings),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_flips),
        cmocka_unit_test(test_names_roundtrip),
        cmocka_unit_test(test_names_sizes),
        cmocka_unit_test(test_names_largest_table),
        cmocka_unit_test(test_names_table),
        cmocka_unit_test(test_names_invalid_decode),
        cmocka_unit_test(test_names_invalid_encode),
        cmocka_unit_test(test_names_empty),
    };

    return cmocka_run_group_tests(tests, tables_setup, NULL);
}
