/* The seeds of fuzz_msg, fuzz_frame and fuzz_hello, encoded by the real
 * codec (docs/fuzzing.md "Seeds"). Every value is fixed, so that the
 * same build writes the same bytes.
 *
 *   make_corpus write DIR   writes every seed into DIR/fuzz_<target>/
 *   make_corpus check DIR   checks that every seed in DIR/fuzz_msg,
 *                           fuzz_frame and fuzz_hello decodes, except the
 *                           crash reproducers (regress-*), which may be
 *                           invalid on purpose, and that the seeds this
 *                           tool writes are checked in as it writes them
 *
 * A change to the wire format that forgets the seeds fails `check` (the
 * CTest test fuzz.seeds), rather than leaving the fuzzers to start from
 * inputs the codec refuses. */
#include "../../src/util/setup.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/io/secure.h"
#include "../../src/util/error.h"
#include "../../src/wire/codec.h"
#include "../../src/wire/frame.h"

/* The decoders' table for JOIN and SNAPSHOT seeds, as in fuzz_msg. */
#define TABLE_CAP (64)
/* The largest seed (op-merge-32) is under 1 KiB. */
#define SEED_MAX (4096)

struct seed {
    const char *target; /* fuzz_msg, fuzz_frame or fuzz_hello */
    const char *name;
    uint8_t bytes[SEED_MAX];
    size_t len;
};

static const char *const targets[] = {"fuzz_msg", "fuzz_frame",
                                      "fuzz_hello"};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

static struct seed seeds[64];
static unsigned n_seeds;

static void die(const char *what, const char *name)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, name);
    exit(1);
}

static struct seed *add(const char *target, const char *name)
{
    struct seed *s;

    if (n_seeds == sizeof(seeds) / sizeof(seeds[0])) {
        die("too many seeds", name);
    }
    s = &seeds[n_seeds++];
    s->target = target;
    s->name = name;
    s->len = 0;
    return s;
}

/* ---- fuzz_msg: core message bodies (docs/design/wire.md §2.3-§2.4) */

/* Small values, as in a fresh test cluster: one-byte integers. */
static void small_msg(struct baton_msg *m, unsigned type, uint64_t seq)
{
    memset(m, 0, sizeof(*m));
    m->type = (uint8_t)type;
    m->from = 1;
    m->to = 2;
    m->from_inc = 7;
    m->to_inc = 3;
    m->seq = seq;
    m->status.role = BATON_ROLE_COORDINATOR;
    m->status.coord = 0;
    m->status.synced = 1;
    m->status.heard = 0x7; /* nodes 0, 1 and 2 */
    m->status.epoch = 1280;
    m->status.stream.coord = 0;
    m->status.stream.coord_inc = 3;
    m->status.stream.claim = 1280;
}

/* Realistic values: incarnations are milliseconds since 1970. */
#define INC_BASE (UINT64_C(1700000000000))

static void real_msg(struct baton_msg *m, unsigned type)
{
    memset(m, 0, sizeof(*m));
    m->type = (uint8_t)type;
    m->from = 1;
    m->to = 0;
    m->from_inc = INC_BASE + 123;
    m->to_inc = INC_BASE + 456;
    m->seq = 42;
    m->status.role = BATON_ROLE_FOLLOWER;
    m->status.coord = 0;
    m->status.synced = 1;
    m->status.heard = 0x5; /* nodes 0 and 2 */
    m->status.epoch = 513;
    m->status.stream.coord = 0;
    m->status.stream.coord_inc = INC_BASE + 456;
    m->status.stream.claim = 513;
}

/* Op 10 of the coordinator's stream, a name op for origin. */
static void real_op(struct baton_msg *m, unsigned type, unsigned origin)
{
    real_msg(m, BATON_MSG_OP);
    m->u.op.stream = m->status.stream;
    m->u.op.index = 10;
    m->u.op.op.type = (uint8_t)type;
    m->u.op.op.origin = (uint8_t)origin;
}

static void small_stream(struct baton_stream *s)
{
    memset(s, 0, sizeof(*s));
    s->coord = 0;
    s->coord_inc = 3;
    s->claim = 1280;
}

static void small_state(struct baton_state *st, unsigned n)
{
    baton_state_init(st, n);
    st->coord = 0;
    st->coord_inc = 3;
    st->epoch = 1280;
    for (unsigned i = 0; i < n; i++) {
        st->nodes[i].inc = 2 + 3 * i;
        st->nodes[i].member = (uint8_t)(i % 2 == 0);
        st->name_rank[i] = (uint8_t)(n - 1 - i);
    }
}

/* Op 41 of the small coordinator's stream; not a name op. */
static void small_op(struct baton_msg *m, unsigned type)
{
    small_msg(m, BATON_MSG_OP, UINT64_MAX);
    small_stream(&m->u.op.stream);
    m->u.op.index = 41;
    m->u.op.op.type = (uint8_t)type;
    m->u.op.op.origin = BATON_NODE_NONE;
}

static void real_state(struct baton_state *st)
{
    baton_state_init(st, 3);
    st->coord = 0;
    st->coord_inc = INC_BASE + 456;
    st->epoch = 513;
    for (unsigned i = 0; i < 3; i++) {
        st->nodes[i].inc = INC_BASE + i;
        st->nodes[i].member = 1;
        st->name_rank[i] = (uint8_t)i;
    }
    st->name_epoch_max = 77;
}

static void entry(struct baton_name *e, const char *name, unsigned owner,
                  uint64_t endpoint, uint64_t epoch, const char *meta)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->used = 1;
    e->owner = (uint8_t)owner;
    e->resolver = 2;
    e->owner_inc = INC_BASE + owner;
    e->endpoint = endpoint;
    e->epoch = epoch;
    e->meta_len = (uint16_t)strlen(meta);
    memcpy(e->meta, meta, e->meta_len);
}

static struct baton_name table_slots[TABLE_CAP];
static struct baton_names table;

/* Three names of three owners: what a small cluster's table holds. */
static const struct baton_names *real_table(void)
{
    struct baton_name e;

    memset(table_slots, 0, sizeof(table_slots));
    baton_names_init(&table, table_slots, TABLE_CAP);
    entry(&e, "db/primary", 0, 5, 10, "m=1");
    baton_names_put(&table, &e);
    entry(&e, "queue-1", 1, 5, 12, "");
    baton_names_put(&table, &e);
    entry(&e, "web", 2, 5, 11, "m=1");
    baton_names_put(&table, &e);
    return &table;
}

static void put_msg(const char *name, const struct baton_msg *m)
{
    struct seed *s = add("fuzz_msg", name);

    if (baton_msg_encode(m, s->bytes, sizeof(s->bytes), &s->len) != 0) {
        die("cannot encode", name);
    }
}

static const uint8_t ping[] = {'p', 'i', 'n', 'g'};

static void msg_seeds(void)
{
    static struct baton_msg m;

    small_msg(&m, BATON_MSG_HEARTBEAT, 12);
    put_msg("heartbeat", &m);

    /* Every u64 at its widest, every bit of heard set. */
    small_msg(&m, BATON_MSG_HEARTBEAT, UINT64_MAX);
    m.status.heard = UINT64_MAX;
    m.status.index = UINT64_MAX;
    put_msg("heartbeat-big", &m);

    small_msg(&m, BATON_MSG_JOIN, UINT64_MAX);
    small_stream(&m.u.join.stream);
    small_state(&m.u.join.replica, 3);
    put_msg("join-3", &m);

    real_msg(&m, BATON_MSG_JOIN);
    m.status.role = BATON_ROLE_JOINING;
    m.u.join.stream.coord_inc = 0;
    m.u.join.stream.claim = 0;
    real_state(&m.u.join.replica);
    m.u.join.names = real_table();
    put_msg("join-names-3", &m);

    small_msg(&m, BATON_MSG_SNAPSHOT, UINT64_MAX);
    m.u.snapshot.join_seq = 11;
    small_stream(&m.u.snapshot.stream);
    m.u.snapshot.index = 40;
    small_state(&m.u.snapshot.state, 5);
    put_msg("snapshot-5", &m);

    real_msg(&m, BATON_MSG_SNAPSHOT);
    m.u.snapshot.join_seq = 41;
    m.u.snapshot.stream = m.status.stream;
    m.u.snapshot.index = 9;
    real_state(&m.u.snapshot.state);
    m.u.snapshot.names = real_table();
    put_msg("snapshot-names-3", &m);
    /* The second of three parts of a transfer (wire version 3). */
    m.u.snapshot.snap = 57;
    m.u.snapshot.part = 1;
    m.u.snapshot.more = 1;
    put_msg("snapshot-part-1", &m);

    small_op(&m, BATON_OP_COORD);
    m.u.op.op.node = 0;
    m.u.op.op.fresh = 1;
    m.u.op.op.inc = 3;
    m.u.op.op.epoch = 1536;
    put_msg("op-coord", &m);

    small_op(&m, BATON_OP_JOIN);
    m.u.op.op.node = 2;
    m.u.op.op.inc = 3;
    put_msg("op-join", &m);

    small_op(&m, BATON_OP_MERGE);
    small_state(&m.u.op.op.other, 1);
    put_msg("op-merge-1", &m);

    /* 32 nodes whose incarnations take every integer width. */
    small_op(&m, BATON_OP_MERGE);
    small_state(&m.u.op.op.other, BATON_NODES_MAX);
    for (unsigned i = 0; i < BATON_NODES_MAX; i++) {
        m.u.op.op.other.nodes[i].inc =
            (UINT64_C(0x9e3779b97f4a7c15) * (i + 1)) >> (2 * i);
        m.u.op.op.other.nodes[i].member = (uint8_t)((i * 7) % 3 != 0);
    }
    put_msg("op-merge-32", &m);

    real_op(&m, BATON_OP_NAME_SET, 1);
    m.u.op.op.req = 3;
    entry(&m.u.op.op.name, "svc", 1, 5, 13, "m=1");
    m.u.op.op.name.used = 0; /* not carried */
    put_msg("op-name-set", &m);

    m.u.op.op.type = BATON_OP_NAME_DEL;
    m.u.op.op.reason = 2;
    put_msg("op-name-del", &m);

    real_op(&m, BATON_OP_NAME_PURGE, BATON_NODE_NONE);
    m.u.op.op.node = 2;
    m.u.op.op.inc = INC_BASE + 2;
    put_msg("op-name-purge", &m);

    /* A member list after a removal (slot 1 free) and an add (slot 3),
     * the longest name and address the format carries in slot 2
     * (docs/design/membership.md §2.1). */
    {
        static struct baton_members l;
        small_msg(&m, BATON_MSG_MEMBERS, 7);
        memset(&l, 0, sizeof(l));
        l.version = 2;
        l.n_slots = 4;
        l.slot[0].kind = BATON_MEMBER_CANDIDATE;
        snprintf(l.slot[0].name, sizeof(l.slot[0].name), "a@host1");
        snprintf(l.slot[0].addr, sizeof(l.slot[0].addr), "10.0.0.1:7701");
        l.slot[2].kind = BATON_MEMBER_WORKER;
        memset(l.slot[2].name, 'n', BATON_MEMBER_NAME_MAX);
        memset(l.slot[2].addr, 'a', BATON_MEMBER_ADDR_MAX);
        l.slot[3].kind = BATON_MEMBER_WITNESS;
        snprintf(l.slot[3].name, sizeof(l.slot[3].name), "d@host4");
        snprintf(l.slot[3].addr, sizeof(l.slot[3].addr), "[::1]:7701");
        m.u.members.reply = 1;
        m.u.members.list = &l;
        put_msg("members-4", &m);
    }

    small_msg(&m, BATON_MSG_RESYNC, UINT64_MAX);
    small_stream(&m.u.resync.stream);
    m.u.resync.applied = 39;
    put_msg("resync", &m);

    /* Operator verbs and settings (wire version 6): a move, its
     * answer, and settings with a disabled app, a pin and a standby. */
    small_msg(&m, BATON_MSG_ADMIN, 8);
    m.u.admin.id = 3;
    m.u.admin.kind = BATON_ADMIN_MOVE;
    m.u.admin.node = 2;
    snprintf(m.u.admin.name, sizeof(m.u.admin.name), "redis");
    put_msg("admin-move", &m);
    small_msg(&m, BATON_MSG_ADMIN_REPLY, 8);
    m.u.admin_reply.id = 3;
    m.u.admin_reply.code = BATON_ADMIN_OK;
    m.u.admin_reply.owner = 0;
    m.u.admin_reply.status = BATON_APP_RUNNING;
    m.u.admin_reply.pin = BATON_NODE_NONE;
    put_msg("admin-reply", &m);
    small_msg(&m, BATON_MSG_SETTINGS, 8);
    for (unsigned i = 0; i < BATON_APPS_MAX; i++) {
        m.u.settings.app[i].pin = BATON_NODE_NONE;
    }
    snprintf(m.u.settings.app[0].name, sizeof(m.u.settings.app[0].name),
             "redis");
    m.u.settings.app[0].pin = 2;
    m.u.settings.app[0].ver = 0x201;
    snprintf(m.u.settings.app[1].name, sizeof(m.u.settings.app[1].name), "web");
    m.u.settings.app[1].disabled = 1;
    m.u.settings.app[1].ver = 0x100;
    m.u.settings.standby[1] = 1;
    m.u.settings.standby_ver[1] = 0x300;
    put_msg("settings", &m);

    /* Raft (quorum mode): a pre-vote, an APPEND with two entries, a
     * heartbeat's answer and a SNAPSHOT. */
    small_msg(&m, BATON_MSG_RAFT, 8);
    m.u.raft.m.type = BATON_RAFT_VOTE;
    m.u.raft.m.from = m.from;
    m.u.raft.m.to = m.to;
    m.u.raft.m.pre = true;
    m.u.raft.m.term = 4;
    m.u.raft.m.index = 17;
    m.u.raft.m.log_term = 3;
    put_msg("raft-prevote", &m);
    m.u.raft.m.type = BATON_RAFT_APPEND;
    m.u.raft.m.pre = false;
    m.u.raft.m.commit = 16;
    m.u.raft.m.sent_ms = 123456;
    m.u.raft.m.n_entries = 2;
    m.u.raft.m.entries = m.u.raft.entries;
    m.u.raft.entries[0].term = 3;
    m.u.raft.entries[0].len = 5;
    memcpy(m.u.raft.entries[0].data, "grant", 5);
    m.u.raft.entries[1].term = 4;
    put_msg("raft-append", &m);
    m.u.raft.m.type = BATON_RAFT_APPEND_RESP;
    m.u.raft.m.ok = true;
    m.u.raft.m.n_entries = 0;
    m.u.raft.m.entries = NULL;
    put_msg("raft-append-resp", &m);
    m.u.raft.m.type = BATON_RAFT_SNAPSHOT;
    m.u.raft.m.ok = false;
    m.u.raft.m.data = (const uint8_t *)"state";
    m.u.raft.m.len = 5;
    put_msg("raft-snapshot", &m);

    /* Two apps: one available, one in quorum mode with its lease. */
    small_msg(&m, BATON_MSG_REPORT, 7);
    m.u.report.n = 2;
    for (unsigned i = 0; i < 2; i++) {
        struct baton_app_report *r = &m.u.report.r[i];
        snprintf(r->name, sizeof(r->name), "%s", i == 0 ? "web" : "db");
        r->flags = BATON_REPORT_PERMIT;
        r->run = 1;
        r->epoch = 0x305;
        r->last = 0x305;
        r->failover_timeout_ms = 3000;
        r->rank[0] = 1;
        r->rank[1] = 2;
    }
    m.u.report.r[1].mode = BATON_APP_QUORUM;
    m.u.report.r[1].lease_ms = 1000;
    m.u.report.r[1].stop_margin_ms = 250;
    put_msg("report-quorum", &m);

    real_msg(&m, BATON_MSG_NAME_REQ);
    m.u.name_req.req = 3;
    m.u.name_req.first = 1;
    m.u.name_req.kind = BATON_NAME_REGISTER;
    entry(&m.u.name_req.name, "svc", 0, 5, 0, "m=1");
    m.u.name_req.name.used = 0;
    m.u.name_req.name.owner_inc = 0;
    put_msg("name-req-register", &m);

    /* A DROP names the endpoint only. */
    m.u.name_req.kind = BATON_NAME_DROP;
    entry(&m.u.name_req.name, "", 0, 5, 0, "");
    m.u.name_req.name.used = 0;
    m.u.name_req.name.owner_inc = 0;
    put_msg("name-req-drop", &m);

    real_msg(&m, BATON_MSG_NAME_REPLY);
    m.u.name_reply.req = 3;
    m.u.name_reply.code = BATON_NAME_OK;
    m.u.name_reply.stream = m.status.stream;
    m.u.name_reply.index = 10;
    put_msg("name-reply", &m);

    real_msg(&m, BATON_MSG_NAME_LOST);
    m.u.name_lost.reason = 4;
    m.u.name_lost.endpoint = 5;
    m.u.name_lost.epoch = 13;
    snprintf(m.u.name_lost.name, sizeof(m.u.name_lost.name), "svc");
    put_msg("name-lost", &m);

    real_msg(&m, BATON_MSG_CALL);
    m.u.call.id = 99;
    m.u.call.caller = 1;
    m.u.call.hops = 0;
    m.u.call.flags = BATON_CALL_WANTS_REPLY;
    m.u.call.caller_inc = INC_BASE + 1;
    snprintf(m.u.call.name, sizeof(m.u.call.name), "svc");
    m.u.call.len = sizeof(ping);
    m.u.call.data = ping;
    put_msg("call", &m);

    real_msg(&m, BATON_MSG_REPLY);
    m.u.reply.id = 99;
    m.u.reply.code = BATON_NAME_OK;
    m.u.reply.len = sizeof(ping);
    m.u.reply.data = ping;
    put_msg("reply", &m);
}

/* ---- fuzz_hello and fuzz_frame: the handshake and frames ---------- */

static const uint8_t cookie[] = "seed cookie, not a secret";

static void hello(struct baton_hello *h, const char *name, baton_inc inc,
                  uint8_t nonce_byte)
{
    static const char *const nodes[] = {"a@10.0.0.1", "b@10.0.0.2",
                                        "c@10.0.0.3"};
    static const uint8_t candidate[] = {1, 1, 0};

    memset(h, 0, sizeof(*h));
    h->version = BATON_WIRE_VERSION;
    h->wire_min = BATON_WIRE_VERSION_MIN;
    h->wire_max = BATON_WIRE_VERSION;
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->inc = inc;
    /* Fixed, not random: the seeds must come out the same each time. */
    for (unsigned i = 0; i < BATON_NONCE_LEN; i++) {
        h->nonce[i] = (uint8_t)(nonce_byte + 37 * i);
    }
    baton_config_digest(nodes, candidate, 3, 1000, 3, 5000, h->config);
    /* Part digests as a node of this version sends them (five). */
    h->n_parts = 5;
    for (unsigned i = 0; i < h->n_parts; i++) {
        for (unsigned j = 0; j < BATON_CONFIG_PART_LEN; j++) {
            h->parts[i][j] = (uint8_t)(nonce_byte ^ (8 * i + j));
        }
    }
}

static void put_hello(const char *name, const struct baton_hello *h)
{
    struct seed *s = add("fuzz_hello", name);

    if (baton_hello_encode(h, s->bytes, sizeof(s->bytes), &s->len) != 0) {
        die("cannot encode", name);
    }
}

/* A whole frame: header, then the body (fuzz_frame reads the header and
 * must leave what follows alone). */
static void put_frame(const char *name, unsigned type, uint32_t length,
                      const uint8_t *body, size_t body_len)
{
    struct seed *s = add("fuzz_frame", name);

    baton_frame_header_encode(s->bytes, BATON_WIRE_VERSION, type, length);
    if (body_len > 0) {
        memcpy(s->bytes + BATON_FRAME_HEADER_LEN, body, body_len);
    }
    s->len = BATON_FRAME_HEADER_LEN + body_len;
}

static void handshake_seeds(void)
{
    struct baton_hello a;
    struct baton_hello b;
    struct baton_hello big;
    struct baton_transcript t = {&a, &b};
    struct baton_proof proof;
    struct baton_seal send;
    struct baton_seal recv;
    uint8_t hdr[BATON_FRAME_HEADER_LEN];
    uint8_t tag[BATON_SEAL_OVERHEAD];
    static const uint8_t nothing[1] = {0};
    const struct seed *hs;
    const struct seed *ps;
    struct seed *s;
    char name40[41];
    char name255[BATON_NAME_MAX + 1];

    hello(&a, "a@10.0.0.1", 1, 0xde);
    put_hello("hello", &a);
    hs = &seeds[n_seeds - 1];
    memset(name40, 'n', sizeof(name40) - 1);
    name40[sizeof(name40) - 1] = 0;
    hello(&big, name40, INC_BASE + 123, 0xde);
    put_hello("hello-name40", &big);
    /* The longest name, the widest inc, a version that is not ours: the
     * codec reads any version; the frame header refuses other ones. */
    memset(name255, 'z', sizeof(name255) - 1);
    name255[sizeof(name255) - 1] = 0;
    hello(&big, name255, UINT64_MAX, 0xde);
    big.version = 0xff;
    big.wire_max = 0xff;
    put_hello("hello-name255", &big);
    /* A later version's HELLO: two fields appended, which this one
     * ignores (wire.md §2.1). The array header is one byte: 9 fields,
     * now 11. */
    hello(&big, "a@10.0.0.1", 1, 0xde);
    big.wire_max = 9;
    put_hello("hello-appended", &big);
    s = &seeds[n_seeds - 1];
    _Static_assert(BATON_HELLO_FIELDS + 2 <= 15, "a fixarray header");
    s->bytes[0] = (uint8_t)(0x90 | (BATON_HELLO_FIELDS + 2));
    s->bytes[s->len++] = 0x07;
    s->bytes[s->len++] = 0xc0;

    /* The initiator's proof over a's HELLO and b's answer. */
    hello(&b, "b@10.0.0.2", 2, 0x5f);
    baton_proof_compute(cookie, sizeof(cookie) - 1, &t, true, proof.mac);
    s = add("fuzz_hello", "proof");
    if (baton_proof_encode(&proof, s->bytes, sizeof(s->bytes), &s->len) !=
        0) {
        die("cannot encode", "proof");
    }
    ps = s;

    put_frame("hello", BATON_FRAME_HELLO, (uint32_t)hs->len, hs->bytes,
              hs->len);
    put_frame("proof", BATON_FRAME_PROOF, (uint32_t)ps->len, ps->bytes,
              ps->len);
    /* The first sealed frame of the link: an empty plaintext, so the
     * body is the tag alone. */
    baton_keys_derive(cookie, sizeof(cookie) - 1, &t, true, &send, &recv);
    baton_frame_header_encode(hdr, BATON_WIRE_VERSION, BATON_FRAME_SEALED,
                              BATON_SEAL_OVERHEAD);
    baton_seal(&send, hdr, nothing, 0, tag);
    put_frame("sealed-empty-plus-tag", BATON_FRAME_SEALED,
              BATON_SEAL_OVERHEAD, tag, sizeof(tag));
    /* The largest body announced, header only. */
    put_frame("sealed-max", BATON_FRAME_SEALED, BATON_FRAME_BODY_MAX, NULL,
              0);
    put_frame("sealed-max-4m", BATON_FRAME_SEALED, 4u << 20, NULL, 0);
}

/* ---- write and check ---------------------------------------------- */

static void path_of(char *out, size_t cap, const char *dir,
                    const char *target, const char *name)
{
    if ((size_t)snprintf(out, cap, "%s/%s/%s", dir, target, name) >= cap) {
        die("path too long", name);
    }
}

static int write_all(const char *dir)
{
    char path[4096];

    for (unsigned i = 0; i < n_seeds; i++) {
        FILE *f;
        path_of(path, sizeof(path), dir, seeds[i].target, seeds[i].name);
        f = fopen(path, "wb");
        if (f == NULL || fwrite(seeds[i].bytes, 1, seeds[i].len, f) !=
                             seeds[i].len ||
            fclose(f) != 0) {
            die(strerror(errno), path);
        }
        printf("%s: %zu bytes\n", path, seeds[i].len);
    }
    return 0;
}

/* Reads at most cap bytes; returns the length, or -1. */
static long read_all(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

/* 0 if the seed decodes as its target's parser reads it. */
static int decode_seed(const char *target, const uint8_t *buf, size_t len)
{
    static struct baton_msg m;
    static struct baton_name slots[TABLE_CAP];
    static struct baton_names names;
    static struct baton_members members;
    struct baton_frame_header h;
    struct baton_hello hello_out;
    struct baton_proof proof;

    if (strcmp(target, "fuzz_msg") == 0) {
        memset(slots, 0, sizeof(slots));
        baton_names_init(&names, slots, TABLE_CAP);
        return baton_msg_decode_into(buf, len, &m, &names, &members);
    }
    if (strcmp(target, "fuzz_frame") == 0) {
        return baton_frame_header_decode(buf, len, &h);
    }
    if (baton_hello_decode(buf, len, &hello_out) == 0) {
        return 0;
    }
    return baton_proof_decode(buf, len, &proof);
}

static int check_all(const char *dir)
{
    static uint8_t buf[BATON_FRAME_BODY_MAX + 1];
    char path[4096];
    unsigned checked = 0;
    int failed = 0;

    for (unsigned t = 0; t < N_TARGETS; t++) {
        struct dirent *d;
        DIR *dp;
        path_of(path, sizeof(path), dir, targets[t], "");
        dp = opendir(path);
        if (dp == NULL) {
            die(strerror(errno), path);
        }
        while ((d = readdir(dp)) != NULL) {
            long n;
            int rv;
            if (d->d_name[0] == '.' ||
                strncmp(d->d_name, "regress-", 8) == 0) {
                continue;
            }
            path_of(path, sizeof(path), dir, targets[t], d->d_name);
            n = read_all(path, buf, sizeof(buf));
            if (n < 0) {
                die(strerror(errno), path);
            }
            rv = decode_seed(targets[t], buf, (size_t)n);
            checked++;
            if (rv != 0) {
                printf("FAIL %s: does not decode (%s)\n", path,
                       baton_strerror(rv));
                failed = 1;
            }
        }
        closedir(dp);
    }
    for (unsigned i = 0; i < n_seeds; i++) {
        long n;
        path_of(path, sizeof(path), dir, seeds[i].target, seeds[i].name);
        n = read_all(path, buf, sizeof(buf));
        if (n != (long)seeds[i].len ||
            memcmp(buf, seeds[i].bytes, seeds[i].len) != 0) {
            printf("FAIL %s: differs from what make_corpus writes\n", path);
            failed = 1;
        }
    }
    if (failed) {
        printf("regenerate the seeds: make_corpus write %s "
               "(docs/fuzzing.md)\n",
               dir);
        return 1;
    }
    printf("%u seeds decode; %u match make_corpus\n", checked, n_seeds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 ||
        (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: make_corpus write|check CORPUS_DIR\n");
        return 2;
    }
    if (baton_secure_init() != 0) {
        die("cannot initialise libsodium", "");
    }
    msg_seeds();
    handshake_seeds();
    return strcmp(argv[1], "write") == 0 ? write_all(argv[2])
                                         : check_all(argv[2]);
}
