/* The libuv driver. Happy path: listen, dial every peer, exchange HELLOs
 * and PROOFs, then carry sealed core messages both ways while the core's
 * timer runs, and hand names and calls to the daemon's callbacks.
 * Failure modes: dial refused or lost (retried with capped, jittered
 * backoff), wrong cookie or config (closed and logged on both ends), a
 * malformed, oversized, replayed or tampered frame (that link is closed,
 * the rest carry on), a peer that does not drain its queue
 * (disconnected), a message too large for a frame (logged, dropped), out
 * of memory for a buffer (that link is closed), a write the socket
 * refuses (that link is closed). Frames are gathered per connection and
 * written once per loop iteration. See docs/design/transport.md. */
#include "../util/setup.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/assert.h"
#include "../util/error.h"
#include "../wire/codec.h"
#include "io.h"

/* CONN_MISMATCH: authenticated, but the configs differ: kept open as
 * proof that the peer lives, carrying nothing (transport.md §2). */
enum conn_state {
    CONN_HELLO = 1,
    CONN_PROOF,
    CONN_READY,
    CONN_MISMATCH,
    CONN_CLOSING
};

/* A connection's read buffer starts at READ_INIT bytes and grows to
 * hold the frame being read, up to READ_MAX; an io's plaintext and
 * encoding buffers start at BUF_INIT and grow up to PLAIN_MAX
 * (docs/design/transport.md §1). */
#define READ_INIT (64u << 10)
#define READ_MAX (BATON_FRAME_HEADER_LEN + BATON_FRAME_BODY_MAX)
#define BUF_INIT (64u << 10)
#define PLAIN_MAX (BATON_FRAME_BODY_MAX - BATON_SEAL_OVERHEAD)
#define HELLO_MAX (512) /* the largest HELLO encodes in 473 bytes */
#define PROOF_MAX (64)  /* a PROOF encodes in 35 */
#define NAMES_CAP_MIN (16u)
/* A snapshot part and a JOIN fit a frame; a whole snapshot of the
 * largest table fits the link's write bound, and the next size up
 * would not (docs/design/wire.md §2.4). */
#define NAMES_CAP_MAX BATON_MSG_NAMES_CAP_MAX
_Static_assert(BATON_MSG_NAMES_BYTES_MAX(BATON_SNAPSHOT_PART_NAMES) <=
                   PLAIN_MAX,
               "a snapshot part or a JOIN fits a frame");
_Static_assert(BATON_MSG_SNAPSHOT_BYTES_MAX(NAMES_CAP_MAX) <=
                       BATON_WRITE_QUEUE_MAX &&
                   BATON_MSG_SNAPSHOT_BYTES_MAX(2 * NAMES_CAP_MAX) >
                       BATON_WRITE_QUEUE_MAX,
               "BATON_MSG_NAMES_CAP_MAX: the largest snapshot a link queues");
_Static_assert(NAMES_CAP_MAX - NAMES_CAP_MAX / 4 <=
                   BATON_SNAPSHOT_PARTS_MAX * BATON_SNAPSHOT_PART_NAMES,
               "the largest table goes out in BATON_SNAPSHOT_PARTS_MAX parts");
/* A connection's output buffer is allocated at OUT_INIT bytes when a
 * frame is first queued, doubles on demand, and is given back once
 * written if it grew past OUT_KEEP. It holds at most the write bound
 * plus the frame that passes it (docs/design/transport.md §1). */
#define OUT_INIT (16u << 10)
#define OUT_KEEP (64u << 10)
#define OUT_MAX (BATON_WRITE_QUEUE_MAX + READ_MAX)

_Static_assert(READ_INIT >= BATON_FRAME_HEADER_LEN + HELLO_MAX,
               "a handshake frame fits the initial read buffer");
_Static_assert(BATON_NODES_MAX <= 32, "down_pending has a bit per node");

struct baton_io_conn {
    uv_tcp_t tcp;
    struct baton_io *io;
    struct baton_io_conn *next;
    int state;
    bool initiator;
    bool silent;  /* closed by a swap: the core is not told */
    bool abort;   /* close with a RST: the peer is silent (a reset) */
    bool redial_now; /* its close is followed by a dial at once */
    bool mismatch;   /* the peer's config digest differs from ours */
    int peer;     /* -1 until the HELLO names it */
    uint8_t wire; /* the negotiated version, once both HELLOs are in */
    uint64_t deadline_ms;
    uint64_t rx_ms; /* when bytes last arrived */
    char addr[BATON_ADDR_MAX + 8];
    struct baton_hello mine;
    struct baton_hello theirs;
    struct baton_seal send;
    struct baton_seal recv;
    size_t rlen;
    size_t rcap;
    uint8_t *rbuf; /* rcap bytes, READ_INIT..READ_MAX */
    /* Output (docs/design/transport.md §1, "Writes"): frames are
     * sealed straight into it and handed to the socket once per loop
     * iteration (wbuf.h). */
    struct baton_wbuf wb;
};

static void logf_(struct baton_io *io, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(struct baton_io *io, int level, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    io->log(io->log_data, level, text);
}

static void conn_close(struct baton_io_conn *c, const char *why);
static int core_step(struct baton_io *io, struct baton_event *ev);
static void mismatch_update(struct baton_io *io);
static void flush_link_downs(struct baton_io *io);
static void io_free(struct baton_io *io);
static void dial(struct baton_io *io, unsigned p);
static void members_take(struct baton_io *io, const struct baton_members *l);

/* ---- writing -------------------------------------------------------- */

/* Makes *buf (of *cap bytes) at least need bytes: from init (when it has
 * none), doubling, at most max. Errors: BATON_ENOMEM (*buf is
 * unchanged). */
static int grow(uint8_t **buf, size_t *cap, size_t need, size_t max,
                size_t init)
{
    size_t n = *cap > 0 ? *cap : init;
    uint8_t *p;

    BATON_ASSERT(need <= max);
    if (need <= *cap) {
        return 0;
    }
    while (n < need) {
        n = n > max / 2 ? max : 2 * n;
    }
    p = realloc(*buf, n);
    if (p == NULL) {
        return BATON_ENOMEM;
    }
    *buf = p;
    *cap = n;
    return 0;
}

/* The socket refused a write: the link closes. */
static void on_written(struct baton_wbuf *wb, int status)
{
    if (status != 0) {
        conn_close(wb->data, uv_strerror(status));
    }
}

/* Queues one frame with a body of body_len bytes to c, its header
 * written, and returns it; the caller fills the body at + 8 before
 * queuing anything else (the buffer may move). A peer whose backlog
 * would pass OUT_MAX (the write bound plus one frame) is not draining:
 * it is disconnected. Returns NULL (the link closed, or closing
 * already) on failure. */
static uint8_t *frame_new(struct baton_io_conn *c, unsigned type,
                          size_t body_len)
{
    size_t len = BATON_FRAME_HEADER_LEN + body_len;
    uint8_t *f;
    int rv;

    if (c->state == CONN_CLOSING) {
        return NULL;
    }
    rv = baton__wbuf_claim(&c->wb, len, &f);
    if (rv == BATON_EFULL) {
        c->io->stats.undrained++;
        conn_close(c, "peer is not draining its link");
        return NULL;
    }
    if (rv != 0) {
        conn_close(c, "out of memory");
        return NULL;
    }
    /* A HELLO goes out before any version is agreed: it bears the
     * highest this node speaks; every later frame the link's. */
    baton_frame_header_encode(
        f, type == BATON_FRAME_HELLO ? c->mine.version : c->wire, type,
        (uint32_t)body_len);
    c->io->stats.frames_out++;
    return f;
}

static void send_plain(struct baton_io_conn *c, unsigned type,
                       const uint8_t *body, size_t len)
{
    uint8_t *f = frame_new(c, type, len);

    if (f != NULL) {
        memcpy(f + BATON_FRAME_HEADER_LEN, body, len);
    }
}

/* Encodes m into io->enc, growing it as needed. Errors: BATON_EFULL
 * (more than a frame holds), BATON_ENOMEM. */
static int encode_msg(struct baton_io *io, const struct baton_msg *m,
                      size_t *len)
{
    int rv;

    for (;;) {
        rv = baton_msg_encode(m, io->enc, io->enc_cap, len);
        if (rv != BATON_EFULL || io->enc_cap >= PLAIN_MAX) {
            break;
        }
        rv = grow(&io->enc, &io->enc_cap, io->enc_cap + 1, PLAIN_MAX,
                  BUF_INIT);
        if (rv != 0) {
            break;
        }
    }
    /* The core only produces messages the format carries. */
    BATON_ASSERT(rv != BATON_EINVAL);
    return rv;
}

static void send_msg(struct baton_io *io, const struct baton_msg *m)
{
    struct baton_io_conn *c = io->peers[m->to].ready;
    uint8_t *f;
    size_t len;
    int rv;

    if (c == NULL) {
        return; /* no link: the core tolerates loss */
    }
    /* A peer of an older version could not decode it: dropped like a
     * lost message (docs/design/wire.md §1.1, "Features"). */
    if ((m->type == BATON_MSG_RAFT &&
         !baton_wire_has(c->wire, BATON_WIRE_F_RAFT)) ||
        (m->type == BATON_MSG_MEMBERS &&
         !baton_wire_has(c->wire, BATON_WIRE_F_MEMBERS)) ||
        ((m->type == BATON_MSG_ADMIN || m->type == BATON_MSG_ADMIN_REPLY ||
          m->type == BATON_MSG_SETTINGS) &&
         !baton_wire_has(c->wire, BATON_WIRE_F_ADMIN))) {
        io->stats.gated++;
        return;
    }
    rv = encode_msg(io, m, &len);
    if (rv != 0) {
        /* Dropped like a lost message: the core sends nothing larger
         * than a frame (snapshots go in parts), so this is a bug. */
        logf_(io, BATON_LOG_ERROR, "message type %u to %s not sent: %s",
              m->type, io->names[m->to],
              rv == BATON_EFULL ? "larger than a frame" : baton_strerror(rv));
        return;
    }
    f = frame_new(c, BATON_FRAME_SEALED, len + BATON_SEAL_OVERHEAD);
    if (f != NULL) {
        /* Sealed straight into the output buffer, the header as
         * associated data: frames are sealed in the order they are
         * queued, which is the order they are written. */
        baton_seal(&c->send, f, io->enc, len, f + BATON_FRAME_HEADER_LEN);
    }
}

/* ---- the core ------------------------------------------------------- */

static int trace_level(const struct baton_trace *t)
{
    switch (t->type) {
    case BATON_TRACE_APPLIED:
    case BATON_TRACE_SNAPSHOT:
    case BATON_TRACE_PEER_UP:
        return BATON_LOG_DEBUG;
    case BATON_TRACE_REJECTED:
    case BATON_TRACE_TILT:
        return BATON_LOG_WARN;
    case BATON_TRACE_MEMBERS:
        /* A removed node, or a peer outside our list, needs an
         * operator's eye; a change adopted is news. */
        return t->reason == BATON_MEMBERS_ADOPTED ||
                       t->reason == BATON_MEMBERS_CHANGED
                   ? BATON_LOG_INFO
                   : BATON_LOG_WARN;
    case BATON_TRACE_PEER_DOWN:
        return t->reason == BATON_DOWN_SILENT ? BATON_LOG_WARN
                                              : BATON_LOG_INFO;
    default:
        return BATON_LOG_INFO;
    }
}

static void on_core_timer(uv_timer_t *t)
{
    struct baton_io *io = t->data;
    struct baton_event ev = {0};

    ev.type = BATON_EVENT_TICK;
    core_step(io, &ev);
}

/* The effects buffer for a step at depth d: io->fx for the outermost,
 * one of its own (allocated when first needed) for each nested step, so
 * that a step started from a callback leaves the effects still being
 * carried out intact. NULL when out of memory. */
static struct baton_effects *fx_at(struct baton_io *io, unsigned d)
{
    struct baton_effects **fx;

    if (d == 0) {
        return io->fx;
    }
    fx = &io->fx_nested[d - 1];
    if (*fx == NULL) {
        *fx = calloc(1, sizeof(**fx));
    }
    return *fx;
}

/* The core declared peer p down for silence: its connection, if any, is
 * stalled (a cut network, where TCP retransmits with backoff for
 * minutes) or its peer frozen. Abort it with a RST, which also closes
 * the peer's end if the network lets it through, and dial again at once:
 * once the network heals, the next dial links within a dial timeout
 * instead of waiting for the kernel's next retransmission
 * (docs/design/transport.md §1). */
static void reset_link(struct baton_io *io, unsigned p)
{
    struct baton_io_peer *peer = &io->peers[p];
    struct baton_io_conn *c = peer->ready;

    if (c == NULL) {
        return;
    }
    /* Bytes that arrived within the window mean a busy link, not a
     * stalled one: a large frame (a snapshot over a slow network) holds
     * the peer's messages behind it. Aborting it would only start the
     * frame over. The core asks again after another window if the peer
     * is still unheard (docs/design/core.md §2). */
    if (uv_now(io->loop) - c->rx_ms < baton_node_down_after_ms(&io->node)) {
        logf_(io, BATON_LOG_DEBUG,
              "link to %s (%s) not reset: bytes arrived %" PRIu64
              " ms ago (a large frame under way)",
              io->names[p], c->addr, uv_now(io->loop) - c->rx_ms);
        return;
    }
    io->stats.resets++;
    logf_(io, BATON_LOG_WARN,
          "link to %s (%s) reset: nothing heard for %" PRIu64
          " ms (a cut network or a frozen peer); redialing",
          io->names[p], c->addr, baton_node_down_after_ms(&io->node));
    peer->was_reset = true;
    c->abort = true;
    c->redial_now = true;
    conn_close(c, NULL);
}

/* Quorum mode: the write goes to the store; once it is durable its
 * confirmation is stepped in at depth 0 (flush_persisted), never inside
 * the step that asked for it. */
static void raft_write(struct baton_io *io, const struct baton_effects *fx)
{
    int rv;

    if (io->closing) {
        return;
    }
    /* The snapshot first: the write cuts the log after its index
     * (quorum.md §3 "Limits"). */
    if (fx->raft_snapshot.len != 0 && io->on_raft_snapshot != NULL) {
        rv = io->on_raft_snapshot(
            io, fx->raft_snapshot.index, fx->raft_snapshot.term,
            fx->raft_snapshot.data, fx->raft_snapshot.len);
        if (rv != 0) {
            logf_(io, BATON_LOG_ERROR,
                  "raft snapshot at %" PRIu64
                  " failed (%s): nothing more "
                  "is confirmed; quorum apps stop here",
                  fx->raft_snapshot.index, baton_strerror(rv));
            return;
        }
    }
    if (fx->raft_write.seq == 0) {
        return;
    }
    rv = io->on_raft_write != NULL ? io->on_raft_write(io, &fx->raft_write)
                                   : 0;
    if (rv != 0) {
        logf_(io, BATON_LOG_ERROR,
              "raft write %" PRIu64 " failed (%s): never confirmed; quorum "
              "apps stop here",
              fx->raft_write.seq, baton_strerror(rv));
        return;
    }
    io->persisted_seq = BATON_MAX(io->persisted_seq, fx->raft_write.seq);
}

static void flush_persisted(struct baton_io *io)
{
    while (io->persisted_seq != 0 && !io->closing) {
        struct baton_event ev = {0};
        ev.type = BATON_EVENT_PERSISTED;
        ev.seq = io->persisted_seq;
        io->persisted_seq = 0;
        core_step(io, &ev);
    }
}

static void carry_out(struct baton_io *io, const struct baton_effects *fx)
{
    for (unsigned k = 0; k < fx->n_trace; k++) {
        char text[256];
        baton_trace_format(text, sizeof(text), &fx->trace[k], io->names);
        io->log(io->log_data, trace_level(&fx->trace[k]), text);
    }
    if (fx->name_dropped > 0) {
        logf_(io, BATON_LOG_WARN,
              "%u name loss notices dropped: more than a step holds",
              fx->name_dropped);
    }
    /* The list is persisted before anything relies on it. */
    if (fx->members_changed) {
        if (io->on_members != NULL) {
            io->on_members(io, baton_node_members(&io->node));
        }
        members_take(io, baton_node_members(&io->node));
    }
    /* Resets first: nothing is written into a connection about to be
     * aborted. */
    for (unsigned p = 0; p < io->cfg.n_nodes && fx->reset != 0; p++) {
        if (fx->reset & (UINT32_C(1) << p)) {
            reset_link(io, p);
        }
    }
    /* A link lost while sending is reported to the core only once this
     * step's effects are all out (link_event): the sends are never
     * interleaved with another step. */
    for (unsigned k = 0; k < fx->n_send; k++) {
        send_msg(io, &fx->send[k]);
    }
    /* The callbacks may step the core again (baton_io_call from on_call,
     * say): that step writes to another buffer, so fx stays valid, and
     * so do the bytes its effects borrow (the opened frame in io->plain,
     * the caller's event data), which no nested step reuses. */
    for (unsigned k = 0; k < fx->n_app && !io->closing; k++) {
        if (io->on_app != NULL) {
            io->on_app(io, &fx->app[k]);
        }
    }
    for (unsigned k = 0; k < fx->n_name && !io->closing; k++) {
        if (io->on_name != NULL) {
            io->on_name(io, &fx->name[k]);
        }
    }
    for (unsigned k = 0; k < fx->n_call && !io->closing; k++) {
        if (io->on_call != NULL) {
            io->on_call(io, &fx->call[k]);
        }
    }
    if (fx->settings != NULL && io->on_settings != NULL && !io->closing) {
        io->on_settings(io, fx->settings);
    }
    for (unsigned k = 0; k < fx->n_admin && !io->closing; k++) {
        if (io->on_admin != NULL) {
            io->on_admin(io, &fx->admin[k]);
        }
    }
    raft_write(io, fx);
}

/* Steps the core with ev and carries out its effects.
 * Errors: what baton_node_step() returns (the node state is unchanged:
 * only a driver mistake, such as an event for an unknown app, gets
 * there), BATON_EFULL (BATON_IO_DEPTH_MAX steps under way already),
 * BATON_ENOMEM (no effects buffer for a nested step). */
static int core_step(struct baton_io *io, struct baton_event *ev)
{
    struct baton_effects *fx;
    uint64_t now;
    int rv;

    if (io->closing) {
        return 0;
    }
    if (io->depth >= BATON_IO_DEPTH_MAX) {
        return BATON_EFULL;
    }
    fx = fx_at(io, io->depth);
    if (fx == NULL) {
        return BATON_ENOMEM;
    }
    /* libuv caches the time once per loop iteration: the core sees one
     * consistent "now" for everything that happens in it. */
    now = uv_now(io->loop);
    ev->now_ms = BATON_MAX(now, io->node.now_ms);
    rv = baton_node_step(&io->node, ev, fx);
    if (rv != 0) {
        return rv;
    }
    /* Armed before the callbacks: a step they start arms it again with
     * the newer deadline, which must win. */
    uv_timer_start(&io->core_timer, on_core_timer,
                   fx->deadline_ms > ev->now_ms ? fx->deadline_ms - ev->now_ms
                                                : 0,
                   0);
    io->depth++;
    carry_out(io, fx);
    io->depth--;
    if (io->depth == 0) {
        flush_link_downs(io);
        flush_persisted(io);
        if (io->closing) {
            io_free(io); /* baton_io_close was called from a callback */
        }
    }
    return 0;
}

int baton_io_app_event(struct baton_io *io, unsigned app, unsigned what,
                       uint64_t epoch)
{
    struct baton_event ev = {0};

    ev.type = BATON_EVENT_APP;
    ev.app = (uint8_t)app;
    ev.what = (uint8_t)what;
    ev.epoch = epoch;
    return app < io->cfg.n_apps ? core_step(io, &ev) : BATON_EINVAL;
}

int baton_io_exported(struct baton_io *io, unsigned app, uint64_t epoch,
                      bool ok, const uint8_t *data, uint32_t len)
{
    struct baton_event ev = {0};

    ev.type = BATON_EVENT_EXPORTED;
    ev.app = (uint8_t)app;
    ev.epoch = epoch;
    ev.value = ok;
    ev.data = data;
    ev.len = len;
    return app < io->cfg.n_apps ? core_step(io, &ev) : BATON_EINVAL;
}

int baton_io_app_define(struct baton_io *io,
                        unsigned idx,
                        const struct baton_app_config *def)
{
    struct baton_event ev = {0};
    struct baton_app_config old;
    int rv;

    if (idx > io->cfg.n_apps || idx >= BATON_APPS_MAX) {
        return BATON_EINVAL;
    }
    ev.type = BATON_EVENT_REQUEST;
    ev.app = (uint8_t)idx;
    ev.what = BATON_REQ_DEFINE;
    ev.def = def;
    old = io->cfg.apps[idx];
    io->cfg.apps[idx] = *def; /* this copy follows the core's */
    rv = core_step(io, &ev);
    if (rv != 0) {
        io->cfg.apps[idx] = old;
    }
    io->cfg.n_apps = io->node.cfg.n_apps;
    return rv;
}

int baton_io_member_request(struct baton_io *io, unsigned what,
                            const struct baton_member *m)
{
    struct baton_event ev = {0};
    int rv;

    if (what != BATON_REQ_MEMBER_ADD && what != BATON_REQ_MEMBER_REMOVE) {
        return BATON_EINVAL;
    }
    ev.type = BATON_EVENT_REQUEST;
    ev.what = (uint8_t)what;
    ev.member = m;
    rv = core_step(io, &ev);
    /* The step's effects (at this depth) hold the answer until the next
     * step at this depth. */
    return rv != 0 ? rv : fx_at(io, io->depth)->member_result;
}

int baton_io_request(struct baton_io *io, unsigned app, unsigned what,
                     unsigned value)
{
    struct baton_event ev = {0};

    if (what == BATON_REQ_RELEASE) {
        io->driver_held = false;
        if (io->mismatch_held) {
            return 0; /* released when the mismatch is */
        }
    } else if (what == BATON_REQ_HOLD) {
        return BATON_EINVAL; /* the driver's own, from mismatch_update */
    }
    ev.type = BATON_EVENT_REQUEST;
    ev.app = (uint8_t)app;
    ev.what = (uint8_t)what;
    ev.value = (uint8_t)value;
    return (app < io->cfg.n_apps || what == BATON_REQ_RELEASE) && value <= 1
               ? core_step(io, &ev)
               : BATON_EINVAL;
}

/* Steps a name or call event of a local endpoint. The core refusing it
 * (a malformed request) is BATON_EINVAL; the driver's own limits keep
 * their codes. */
static int endpoint_event(struct baton_io *io, struct baton_event *ev)
{
    if (io->closing) {
        return 0; /* like every event once closing: ignored */
    }
    if (io->depth >= BATON_IO_DEPTH_MAX) {
        return BATON_EFULL;
    }
    if (fx_at(io, io->depth) == NULL) {
        return BATON_ENOMEM;
    }
    return core_step(io, ev) == 0 ? 0 : BATON_EINVAL;
}

int baton_io_admin(struct baton_io *io, const struct baton_admin_req *q)
{
    struct baton_event ev = {0};

    ev.type = BATON_EVENT_ADMIN;
    ev.admin = q;
    return endpoint_event(io, &ev);
}

int baton_io_name(struct baton_io *io, const struct baton_name_req *req)
{
    struct baton_event ev = {0};

    if (req == NULL) {
        return BATON_EINVAL;
    }
    ev.type = BATON_EVENT_NAME;
    ev.name_req = req;
    return endpoint_event(io, &ev);
}

int baton_io_call(struct baton_io *io, const struct baton_call *call)
{
    struct baton_event ev = {0};

    if (call == NULL) {
        return BATON_EINVAL;
    }
    ev.type = BATON_EVENT_CALL;
    ev.call = call;
    return endpoint_event(io, &ev);
}

int baton_io_reply(struct baton_io *io, const struct baton_call *reply)
{
    struct baton_event ev = {0};

    if (reply == NULL) {
        return BATON_EINVAL;
    }
    ev.type = BATON_EVENT_REPLY;
    ev.call = reply;
    return endpoint_event(io, &ev);
}

/* A LINK_DOWN that happens while a step's effects are carried out (a
 * send finds the peer undrained) waits until they are all out, so that
 * a step never starts in the middle of another's sends. LINK_UP only
 * ever happens outside steps (a handshake completing in on_read). */
static void link_event(struct baton_io *io, unsigned p, unsigned type)
{
    struct baton_event ev = {0};

    if (io->depth > 0) {
        BATON_ASSERT(type == BATON_EVENT_LINK_DOWN);
        io->down_pending |= UINT32_C(1) << p;
        return;
    }
    ev.type = (uint8_t)type;
    ev.peer = (uint8_t)p;
    core_step(io, &ev);
}

static void flush_link_downs(struct baton_io *io)
{
    while (io->down_pending != 0 && !io->closing) {
        unsigned p = 0;
        while (!(io->down_pending & (UINT32_C(1) << p))) {
            p++;
        }
        io->down_pending &= ~(UINT32_C(1) << p);
        link_event(io, p, BATON_EVENT_LINK_DOWN);
    }
}

/* ---- connections ---------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    struct baton_io_conn *c = h->data;
    struct baton_io *io = c->io;

    baton_wipe(&c->send, sizeof(c->send));
    baton_wipe(&c->recv, sizeof(c->recv));
    free(c->rbuf);
    baton__wbuf_free(&c->wb);
    free(c);
    io->open_handles--;
    if (io->closing && io->open_handles == 0 && io->close_cb != NULL) {
        io->close_cb(io);
    }
}

static void on_retry(uv_timer_t *t)
{
    struct baton_io_peer *peer = t->data;
    struct baton_io *io = peer->io;

    if (peer->dialing && peer->dialer != NULL) {
        /* A SYN lost to a cut is retransmitted only after 1 s, 3 s,
         * 7 s...: a fresh dial is the faster way through once the
         * network heals. */
        io->stats.dial_timeouts++;
        peer->dialer->redial_now = true;
        conn_close(peer->dialer, "dial timed out");
        return;
    }
    dial(io, (unsigned)(peer - io->peers));
}

/* A slot the member list freed (membership.md §3): its node is not
 * dialed, and its links are refused once it has been told (adopt). */
static bool slot_freed(const struct baton_io *io, unsigned p)
{
    const struct baton_members *l = baton_node_members(&io->node);

    return l->version > 0 &&
           (p >= l->n_slots || l->slot[p].kind == BATON_MEMBER_FREE);
}

static void schedule_dial(struct baton_io *io, unsigned p, bool now)
{
    struct baton_io_peer *peer = &io->peers[p];
    uint64_t base = peer->backoff_ms;
    uint64_t delay;

    if (io->closing || peer->ready != NULL || peer->dialing ||
        io->cfg.hosts[p][0] == '\0' || slot_freed(io, p) ||
        peer->io == NULL /* not started */) {
        return;
    }
    /* A reset or a timed-out dial redials at once: the silence or the
     * timeout already waited, and one dial per dial timeout is cheap. */
    if (now) {
        uv_timer_start(&peer->retry, on_retry, 0, 0);
        return;
    }
    /* Jitter of +-25% so that restarted nodes do not dial in lockstep. */
    delay = base - base / 4 +
            randombytes_uniform((uint32_t)(base / 2) + 1);
    peer->backoff_ms = BATON_MIN(base * 2, (uint64_t)BATON_BACKOFF_MAX_MS);
    uv_timer_start(&peer->retry, on_retry, delay, 0);
}

static struct baton_io_conn *conn_new(struct baton_io *io, bool initiator,
                                      int peer)
{
    struct baton_io_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->rbuf = malloc(READ_INIT);
    c->rcap = READ_INIT;
    if (c->rbuf == NULL || uv_tcp_init(io->loop, &c->tcp) != 0) {
        free(c->rbuf);
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    baton__wbuf_init(&c->wb, &io->wflush, (uv_stream_t *)&c->tcp, OUT_INIT,
                     OUT_KEEP, OUT_MAX, on_written, c);
    c->io = io;
    c->initiator = initiator;
    c->peer = peer;
    c->state = CONN_HELLO;
    c->deadline_ms = uv_now(io->loop) + BATON_HANDSHAKE_MS;
    c->rx_ms = uv_now(io->loop);
    c->next = io->conns;
    io->conns = c;
    io->open_handles++;
    snprintf(c->addr, sizeof(c->addr), "?");
    return c;
}

static void unlink_conn(struct baton_io *io, struct baton_io_conn *c)
{
    for (struct baton_io_conn **pp = &io->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            return;
        }
    }
}

static const char *peer_name(const struct baton_io_conn *c)
{
    return c->peer >= 0 ? c->io->names[c->peer] : "an unidentified peer";
}

static void conn_close(struct baton_io_conn *c, const char *why)
{
    struct baton_io *io = c->io;
    int p = c->peer;
    bool was_ready;
    bool was_dial;
    bool was_mismatch;

    if (c->state == CONN_CLOSING) {
        return;
    }
    was_ready = p >= 0 && io->peers[p].ready == c;
    was_dial = p >= 0 && io->peers[p].dialer == c;
    was_mismatch = c->state == CONN_MISMATCH;
    /* What was sent before the close is not taken back (a PERMIT on
     * shutdown, a PROOF before a duplicate is dropped): frames still
     * gathered go to the socket if it takes them at once. An aborted
     * link sends nothing more: its peer is not listening. */
    baton__wbuf_close(&c->wb, !c->abort);
    c->state = CONN_CLOSING;
    unlink_conn(io, c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    /* A RST (SO_LINGER 0) discards the stalled send queue, where a FIN
     * would wait behind it, and closes the peer's end as soon as the
     * network carries it. */
    if (!c->abort ||
        uv_tcp_close_reset(&c->tcp, on_conn_closed) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    }
    if (why != NULL && !io->closing) {
        logf_(io, was_ready ? BATON_LOG_INFO : BATON_LOG_DEBUG,
              "link %s %s (%s): %s", was_ready ? "down with" : "closed to",
              peer_name(c), c->addr, why);
    }
    if (was_mismatch) {
        mismatch_update(io);
    }
    if (p < 0) {
        return;
    }
    if (was_dial) {
        io->peers[p].dialing = false;
        io->peers[p].dialer = NULL;
        uv_timer_stop(&io->peers[p].retry);
    }
    if (was_ready) {
        io->peers[p].ready = NULL;
        io->peers[p].up_since_ms = 0;
        if (!c->silent) {
            io->peers[p].down_since_ms = uv_now(io->loop);
            link_event(io, (unsigned)p, BATON_EVENT_LINK_DOWN);
        }
    }
    schedule_dial(io, (unsigned)p, c->redial_now);
}

/* The member list version a HELLO gives (0 from an older build). */
static uint64_t hello_members_version(const struct baton_hello *h)
{
    uint64_t v = 0;

    if (h->n_parts <= BATON_PART_MEMBERS) {
        return 0;
    }
    for (unsigned i = 0; i < BATON_CONFIG_PART_LEN; i++) {
        v = v << 8 | h->parts[BATON_PART_MEMBERS][i];
    }
    return v;
}

/* One connection per node pair (docs/design/transport.md §1). */
static void adopt(struct baton_io_conn *c)
{
    struct baton_io *io = c->io;
    unsigned p = (unsigned)c->peer;
    struct baton_io_peer *peer = &io->peers[p];
    struct baton_io_conn *old = peer->ready;
    unsigned preferred = BATON_MIN(p, io->cfg.self);
    bool mine_preferred = (c->initiator ? io->cfg.self : p) == preferred;

    if (old != NULL && c->theirs.inc == old->theirs.inc) {
        bool old_preferred =
            (old->initiator ? io->cfg.self : p) == preferred;
        uint64_t quiet_ms = uv_now(io->loop) - old->rx_ms;
        /* The peer dials only when it holds no link to us: if ours has
         * carried nothing for a heartbeat, the peer reset it (its RST
         * lost to a cut) and this is its way back. A dial that crossed
         * ours comes while ours is fresh, and the tie-break applies. */
        if (!c->initiator && quiet_ms >= io->node.cfg.heartbeat_ms) {
            peer->ready = c;
            old->silent = true;
            old->abort = true;
            logf_(io, BATON_LOG_INFO,
                  "link with %s (%s) replaced: the peer redialed, the old "
                  "link was quiet for %" PRIu64 " ms",
                  io->names[p], c->addr, quiet_ms);
            conn_close(old, NULL);
            return;
        }
        if (old_preferred || !mine_preferred) {
            conn_close(c, "duplicate link");
            return;
        }
        /* Same peer life, better connection: swap without telling the
         * core; what was in flight on the old one may be lost. */
        peer->ready = c;
        old->silent = true;
        conn_close(old, "replaced by the preferred link");
        return;
    }
    if (old != NULL && c->theirs.inc < old->theirs.inc) {
        conn_close(c, "link from an older life of the peer");
        return;
    }
    if (old != NULL) {
        conn_close(old, "the peer restarted");
    }
    peer->ready = c;
    peer->inc = c->theirs.inc;
    peer->backoff_ms = BATON_BACKOFF_MIN_MS;
    peer->up_since_ms = uv_now(io->loop);
    if (!peer->dialing) {
        uv_timer_stop(&peer->retry);
    }
    /* How long the link was down (from a reset: how long recovery took
     * after the cut, which the cluster suite reads). */
    if (peer->down_since_ms != 0) {
        logf_(io, BATON_LOG_INFO, "link up with %s (%s) after %s (%" PRIu64
              " ms down)", io->names[p], c->addr,
              peer->was_reset ? "reset" : "close",
              peer->up_since_ms - peer->down_since_ms);
    } else {
        logf_(io, BATON_LOG_INFO, "link up with %s (%s)", io->names[p],
              c->addr);
    }
    peer->down_since_ms = 0;
    peer->was_reset = false;
    link_event(io, p, BATON_EVENT_LINK_UP);
    /* A removed node that came back unchanged: the link-up step told it
     * the list (it logs that it was removed); nothing else is for it
     * (membership.md §5). The list's frames go out before the close. A
     * peer with a newer list (re-added since) is kept: it teaches us. */
    if (slot_freed(io, p) && peer->ready == c &&
        hello_members_version(&c->theirs) <=
            baton_node_members(&io->node)->version) {
        logf_(io, BATON_LOG_WARN,
              "node %s was removed from the cluster (member list version "
              "%" PRIu64 "); refusing its link",
              io->names[p], baton_node_members(&io->node)->version);
        conn_close(c, NULL);
    }
}

/* Holds this node's apps while a link to an OLDER peer whose config
 * differs is open, and releases them (unless the boot sync still holds
 * them) when the last such link closes: of two nodes whose configs
 * differ, the one started later runs nothing, so an app never runs on
 * both (docs/design/transport.md §2). The older one sees the newer as
 * down and may fail its apps over: they do not run there. */
static void mismatch_update(struct baton_io *io)
{
    struct baton_event ev = {0};
    bool held = false;

    for (struct baton_io_conn *c = io->conns; c != NULL; c = c->next) {
        /* Equal lives (improbable) hold on both sides: safe. */
        if (c->state == CONN_MISMATCH && c->theirs.inc <= io->cfg.inc) {
            held = true;
        }
    }
    if (held == io->mismatch_held || io->closing) {
        return;
    }
    io->mismatch_held = held;
    if (!held && io->driver_held) {
        return; /* the boot sync's RELEASE will release them */
    }
    ev.type = BATON_EVENT_REQUEST;
    ev.what = (uint8_t)(held ? BATON_REQ_HOLD : BATON_REQ_RELEASE);
    logf_(io, held ? BATON_LOG_WARN : BATON_LOG_INFO,
          held ? "running no apps until the config mismatch is resolved"
               : "config mismatch resolved: taking part in apps again");
    (void)core_step(io, &ev);
}

/* An authenticated link to a peer whose config differs: kept, carrying
 * nothing, while it stays open. Both ends say so, and which of them
 * runs no apps. */
static void mismatched(struct baton_io_conn *c)
{
    struct baton_io *io = c->io;
    bool older = c->theirs.inc <= io->cfg.inc;
    char what[160] = "";
    size_t len = 0;
    unsigned differ = 0;

    /* Name every part whose digest differs (the peer's HELLO, proved by
     * its PROOF); a part one side does not know counts as differing. */
    for (unsigned p = 0; p < BATON_PART_MEMBERS; p++) {
        if (p < c->theirs.n_parts && memcmp(c->theirs.parts[p], io->parts[p],
                                            BATON_CONFIG_PART_LEN) == 0) {
            continue;
        }
        len += (size_t)snprintf(what + len, sizeof(what) - len, "%s%s",
                                differ > 0 ? ", " : "",
                                baton_io_config_part_name(p));
        differ++;
        BATON_ASSERT(len < sizeof(what));
    }
    if (differ == 0) {
        snprintf(what, sizeof(what), "a setting this version cannot name");
    }
    logf_(io, BATON_LOG_ERROR,
          "config mismatch with %s (%s): %s %s; both nodes must list the same "
          "nodes, roles, heartbeat settings and names_cap; %s",
          io->names[c->peer], c->addr, what, differ > 1 ? "differ" : "differs",
          older ? "this node started later and runs no apps until resolved"
                : "it started later and runs no apps until resolved");
    mismatch_update(io);
}

/* The HELLO's member-list part: the list's version, big-endian. */
static void members_part(uint8_t out[BATON_CONFIG_PART_LEN], uint64_t v)
{
    for (unsigned i = 0; i < BATON_CONFIG_PART_LEN; i++) {
        out[i] = (uint8_t)(v >> (8 * (BATON_CONFIG_PART_LEN - 1 - i)));
    }
}

/* Does the peer's config differ from ours in more than MEMBERS settles?
 * [nodes] may differ once either side's member list changed (version >
 * 0): that side tells its list first thing on the link and the core's
 * gate holds everything else until both agree (membership.md §2.1, §5).
 * Two seed lists that differ still refuse, as before: neither side would
 * tell its list. A peer without the member part is an older build. */
static bool config_differs(const struct baton_io_conn *c)
{
    const struct baton_io *io = c->io;

    if (memcmp(c->theirs.config, io->digest, BATON_DIGEST_LEN) == 0) {
        return false;
    }
    if (c->theirs.n_parts <= BATON_PART_MEMBERS) {
        return true;
    }
    for (unsigned p = 0; p < BATON_PART_MEMBERS; p++) {
        if (p != BATON_PART_NODES &&
            memcmp(c->theirs.parts[p], io->parts[p], BATON_CONFIG_PART_LEN) !=
                0) {
            return true;
        }
    }
    return baton_node_members(&io->node)->version == 0 &&
           hello_members_version(&c->theirs) == 0;
}

static int find_node(const struct baton_io *io, const char *name)
{
    for (unsigned i = 0; i < io->cfg.n_nodes; i++) {
        if (strcmp(io->names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void on_hello(struct baton_io_conn *c, const uint8_t *body,
                     size_t len)
{
    struct baton_io *io = c->io;
    struct baton_proof proof;
    struct baton_transcript t;
    uint8_t buf[64];
    size_t n;
    int who;

    if (baton_hello_decode(body, len, &c->theirs) != 0) {
        io->stats.bad_frames++;
        conn_close(c, "malformed HELLO");
        return;
    }
    who = find_node(io, c->theirs.name);
    if (who < 0 || (unsigned)who == io->cfg.self ||
        (c->peer >= 0 && who != c->peer)) {
        char shown[BATON_NAME_MAX + 1];
        /* The name is the unauthenticated peer's: never let it forge log
         * lines (newlines, escapes). */
        for (size_t i = 0; i <= strlen(c->theirs.name); i++) {
            unsigned char ch = (unsigned char)c->theirs.name[i];
            shown[i] = (char)(ch == 0 ? 0 : (ch < 0x20 || ch >= 0x7f) ? '?'
                                                                      : ch);
        }
        logf_(io, BATON_LOG_WARN, "refused link from %s: \"%s\" is %s",
              c->addr, shown,
              who < 0 ? "not a configured node"
                      : (unsigned)who == io->cfg.self
                            ? "this node's own name"
                            : "not the node dialed");
        conn_close(c, NULL);
        return;
    }
    c->peer = who;
    /* Both sides compute the same version from the same two HELLOs, and
     * the proofs cover both (secure.c), so neither can be talked down. */
    c->wire =
        (uint8_t)baton_wire_negotiate(c->mine.wire_min, c->mine.wire_max,
                                      c->theirs.wire_min, c->theirs.wire_max);
    if (c->wire == 0) {
        logf_(io, BATON_LOG_ERROR,
              "wire versions disjoint with %s (%s): peer speaks %u..%u, this "
              "node %u..%u; closing the link (upgrade the older node)",
              io->names[who], c->addr, (unsigned)c->theirs.wire_min,
              (unsigned)c->theirs.wire_max, (unsigned)c->mine.wire_min,
              (unsigned)c->mine.wire_max);
        conn_close(c, NULL);
        return;
    }
    /* A differing config is told once the peer has proved the cookie
     * (on_proof): an unauthenticated HELLO must not hold our apps. */
    c->mismatch = config_differs(c);
    t.initiator = c->initiator ? &c->mine : &c->theirs;
    t.responder = c->initiator ? &c->theirs : &c->mine;
    baton_proof_compute(io->cfg.cookie, io->cfg.cookie_len, &t, c->initiator,
                        proof.mac);
    if (baton_proof_encode(&proof, buf, sizeof(buf), &n) != 0) {
        conn_close(c, "cannot encode PROOF");
        return;
    }
    baton_wipe(&proof, sizeof(proof));
    c->state = CONN_PROOF;
    send_plain(c, BATON_FRAME_PROOF, buf, n);
}

static void on_proof(struct baton_io_conn *c, const uint8_t *body,
                     size_t len)
{
    struct baton_io *io = c->io;
    struct baton_proof proof;
    struct baton_transcript t;

    if (baton_proof_decode(body, len, &proof) != 0) {
        io->stats.bad_frames++;
        conn_close(c, "malformed PROOF");
        return;
    }
    t.initiator = c->initiator ? &c->mine : &c->theirs;
    t.responder = c->initiator ? &c->theirs : &c->mine;
    if (baton_proof_check(io->cfg.cookie, io->cfg.cookie_len, &t,
                          !c->initiator, proof.mac) != 0) {
        io->stats.auth_failures++;
        logf_(io, BATON_LOG_ERROR,
              "authentication failed with %s (%s): its cookie differs or "
              "the handshake was altered on the way",
              peer_name(c), c->addr);
        conn_close(c, NULL);
        return;
    }
    baton_keys_derive(io->cfg.cookie, io->cfg.cookie_len, &t, c->initiator,
                      &c->send, &c->recv);
    c->state = CONN_READY;
    io->stats.handshakes++;
    /* The dial is over: whether its link is kept or not, the next one
     * is due only when the link closes. */
    if (c->initiator && io->peers[c->peer].dialer == c) {
        io->peers[c->peer].dialing = false;
        io->peers[c->peer].dialer = NULL;
        uv_timer_stop(&io->peers[c->peer].retry);
    }
    if (c->mismatch) {
        c->state = CONN_MISMATCH;
        mismatched(c);
        return;
    }
    adopt(c);
}

static void on_sealed(struct baton_io_conn *c, const uint8_t *header,
                      const uint8_t *body, size_t len)
{
    struct baton_io *io = c->io;
    struct baton_msg m;
    struct baton_event ev = {0};
    size_t n;
    int rv;

    /* One plaintext buffer serves every link: a frame is opened, decoded
     * and stepped before the next is read, and a nested step never
     * reads. */
    if (len > BATON_SEAL_OVERHEAD &&
        grow(&io->plain, &io->plain_cap, len - BATON_SEAL_OVERHEAD,
             PLAIN_MAX, BUF_INIT) != 0) {
        conn_close(c, "out of memory");
        return;
    }
    if (baton_open(&c->recv, header, body, len, io->plain, &n) != 0) {
        io->stats.auth_failures++;
        logf_(io, BATON_LOG_ERROR,
              "frame from %s (%s) failed authentication (tampered, "
              "replayed or reordered): closing the link",
              peer_name(c), c->addr);
        conn_close(c, NULL);
        return;
    }
    /* A JOIN's or SNAPSHOT's table is decoded into io->rx_names, which
     * the core copies from during the step. */
    if (io->rx_zone == NULL) {
        io->rx_zone = baton_wire_zone_new(); /* NULL: a zone per frame */
    }
    rv = baton_msg_decode_in(io->rx_zone, io->plain, n, &m, &io->rx_names,
                             &io->rx_members);
    if (rv != 0 || m.from != c->peer) {
        io->stats.bad_frames++;
        conn_close(c, "malformed message");
        return;
    }
    if (io->peers[c->peer].ready != c) {
        return; /* a losing duplicate that is closing anyway */
    }
    ev.type = BATON_EVENT_RECEIVE;
    ev.msg = &m;
    core_step(io, &ev);
}

static void on_frame(struct baton_io_conn *c, const struct baton_frame_header *h,
                     const uint8_t *header, const uint8_t *body)
{
    c->io->stats.frames_in++;
    if (c->state == CONN_HELLO && h->type == BATON_FRAME_HELLO) {
        on_hello(c, body, h->length);
    } else if (c->state == CONN_PROOF && h->type == BATON_FRAME_PROOF) {
        on_proof(c, body, h->length);
    } else if (c->state == CONN_READY && h->type == BATON_FRAME_SEALED) {
        on_sealed(c, header, body, h->length);
    } else {
        c->io->stats.bad_frames++;
        conn_close(c, "unexpected frame type for the link's state");
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct baton_io_conn *c = h->data;

    (void)suggested;
    /* on_read always leaves room: it grows the buffer to hold a frame
     * whose header is in, and an incomplete header is under 8 bytes. */
    *buf = uv_buf_init((char *)c->rbuf + c->rlen,
                       (unsigned)(c->rcap - c->rlen));
}

/* After on_read: the buffer holds rlen bytes, a partial frame that needs
 * want bytes in all (0 while its header is incomplete). Grows it for
 * that frame, or gives a large buffer back once nothing needs it. */
static int conn_fit(struct baton_io_conn *c, size_t want)
{
    if (want > c->rcap) {
        return grow(&c->rbuf, &c->rcap, want, READ_MAX, READ_INIT);
    }
    if (c->rcap > READ_INIT && c->rlen <= READ_INIT && want <= READ_INIT) {
        uint8_t *p = realloc(c->rbuf, READ_INIT);
        if (p != NULL) {
            c->rbuf = p;
            c->rcap = READ_INIT;
        }
    }
    return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct baton_io_conn *c = s->data;
    size_t off = 0;
    size_t want = 0;

    (void)buf;
    if (nread < 0) {
        conn_close(c, nread == UV_EOF ? "closed by peer"
                                      : uv_strerror((int)nread));
        return;
    }
    c->rlen += (size_t)nread;
    if (nread > 0) {
        c->rx_ms = uv_now(c->io->loop);
    }
    while (c->state != CONN_CLOSING) {
        struct baton_frame_header h;
        int rv = baton_frame_header_decode(c->rbuf + off, c->rlen - off, &h);
        want = 0;
        if (rv == BATON_EAGAIN) {
            break;
        }
        /* Before authentication a peer gets no more than a handshake
         * frame needs (docs/design/transport.md §1): checked on the
         * header, before any of the body is waited for. */
        if (rv == 0 && c->state != CONN_READY &&
            h.length > (h.type == BATON_FRAME_HELLO ? HELLO_MAX
                                                    : PROOF_MAX)) {
            rv = BATON_EBADMSG;
        }
        /* A HELLO may bear any version (its layout never changes); every
         * later frame the link's, which the HELLO before it set. */
        if (rv == 0 && h.type != BATON_FRAME_HELLO && h.version != c->wire) {
            rv = BATON_EBADMSG;
        }
        if (rv == 0 && c->rlen - off < BATON_FRAME_HEADER_LEN + h.length) {
            want = BATON_FRAME_HEADER_LEN + h.length;
            break;
        }
        if (rv != 0) {
            unsigned theirs =
                baton_frame_old_version(c->rbuf + off, c->rlen - off);
            c->io->stats.bad_frames++;
            if (theirs != 0) {
                /* docs/design/wire.md §1.1: a node from before
                 * negotiation cannot read this one's HELLO. */
                logf_(c->io, BATON_LOG_ERROR,
                      "wire version mismatch with %s (%s): peer speaks %u, "
                      "which predates negotiation; this node speaks "
                      "%u..%u; closing the link (upgrade it)",
                      peer_name(c), c->addr, theirs, (unsigned)c->io->wire_min,
                      (unsigned)c->io->wire_max);
            } else {
                logf_(c->io, BATON_LOG_WARN,
                      "malformed or oversized frame from %s (%s): closing "
                      "the link",
                      peer_name(c), c->addr);
            }
            conn_close(c, NULL);
            return;
        }
        on_frame(c, &h, c->rbuf + off, c->rbuf + off + BATON_FRAME_HEADER_LEN);
        off += BATON_FRAME_HEADER_LEN + h.length;
    }
    if (c->state == CONN_CLOSING) {
        return;
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    if (conn_fit(c, want) != 0) {
        conn_close(c, "out of memory for a frame");
    }
}

static void conn_begin(struct baton_io_conn *c)
{
    struct baton_io *io = c->io;
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    uint8_t buf[BATON_NAME_MAX + 128];
    size_t n;

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (sa.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&sa;
            uv_ip4_name(in, host, sizeof(host));
            port = ntohs(in->sin_port);
        } else if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
            uv_ip6_name(in6, host, sizeof(host));
            port = ntohs(in6->sin6_port);
        }
        snprintf(c->addr, sizeof(c->addr), "%s:%d", host, port);
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->mine.version = io->wire_max;
    c->mine.wire_min = io->wire_min;
    c->mine.wire_max = io->wire_max;
    c->mine.has_aeads = true;
    c->mine.aeads = io->aeads;
    snprintf(c->mine.name, sizeof(c->mine.name), "%s",
             io->names[io->cfg.self]);
    c->mine.inc = io->cfg.inc;
    baton_random(c->mine.nonce, sizeof(c->mine.nonce));
    memcpy(c->mine.config, io->digest, sizeof(c->mine.config));
    c->mine.n_parts = BATON_CONFIG_PARTS;
    memcpy(c->mine.parts, io->parts, sizeof(io->parts));
    members_part(c->mine.parts[BATON_PART_MEMBERS],
                 baton_node_members(&io->node)->version);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0 ||
        baton_hello_encode(&c->mine, buf, sizeof(buf), &n) != 0) {
        conn_close(c, "cannot start the handshake");
        return;
    }
    send_plain(c, BATON_FRAME_HELLO, buf, n);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct baton_io_conn *c = req->data;

    free(req);
    if (c->state == CONN_CLOSING) {
        return;
    }
    if (status != 0) {
        conn_close(c, uv_strerror(status));
        return;
    }
    conn_begin(c);
}

static void dial(struct baton_io *io, unsigned p)
{
    struct baton_io_peer *peer = &io->peers[p];
    struct baton_io_conn *c;
    uv_connect_t *req;
    int rv;

    if (io->closing || peer->ready != NULL || peer->dialing ||
        slot_freed(io, p)) {
        return;
    }
    c = conn_new(io, true, (int)p);
    req = malloc(sizeof(*req));
    if (c == NULL || req == NULL) {
        free(req);
        if (c != NULL) {
            conn_close(c, "out of memory");
        }
        return;
    }
    snprintf(c->addr, sizeof(c->addr), "%s:%u", io->cfg.hosts[p],
             io->cfg.ports[p]);
    peer->dialing = true;
    peer->dialer = c;
    /* Connect and handshake must finish within the dial timeout
     * (docs/design/transport.md §1); the retry timer keeps it, and the
     * handshake sweep stays a backstop. */
    uv_timer_start(&peer->retry, on_retry,
                   baton_node_dial_timeout_ms(&io->node), 0);
    req->data = c;
    rv = uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&peer->addr,
                        on_connect);
    if (rv != 0) {
        free(req);
        conn_close(c, uv_strerror(rv));
    }
}

static void on_accept(uv_stream_t *server, int status)
{
    struct baton_io *io = server->data;
    struct baton_io_conn *c;

    if (status != 0) {
        logf_(io, BATON_LOG_WARN, "accept failed: %s", uv_strerror(status));
        return;
    }
    c = conn_new(io, false, -1);
    if (c == NULL) {
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c, "accept failed");
        return;
    }
    conn_begin(c);
}

/* Abandons handshakes that take too long (a silent or slow client). */
static void on_sweep(uv_timer_t *t)
{
    struct baton_io *io = t->data;
    uint64_t now = uv_now(io->loop);
    struct baton_io_conn *c = io->conns;

    while (c != NULL) {
        struct baton_io_conn *next = c->next;
        if (c->state != CONN_READY && c->state != CONN_MISMATCH &&
            now >= c->deadline_ms) {
            conn_close(c, "handshake timed out");
        }
        c = next;
    }
}

/* ---- lifecycle ------------------------------------------------------ */

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *sa)
{
    memset(sa, 0, sizeof(*sa));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0) {
        return 0;
    }
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) == 0
               ? 0
               : BATON_EINVAL;
}

int baton_io_split_addr(const char *addr, char host[BATON_ADDR_MAX],
                        uint16_t *port)
{
    const char *colon = strrchr(addr, ':');
    char *end;
    unsigned long v;

    if (colon == NULL || colon == addr ||
        (size_t)(colon - addr) >= BATON_ADDR_MAX) {
        return BATON_EINVAL;
    }
    v = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || v == 0 || v > 65535) {
        return BATON_EINVAL;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    *port = (uint16_t)v;
    return 0;
}

static uint32_t names_cap(const struct baton_io_config *cfg)
{
    return cfg->names_cap != 0 ? cfg->names_cap : BATON_NAMES_CAP_DEFAULT;
}

/* Frees what baton_io_init allocated (every pointer may be NULL). */
static void io_free(struct baton_io *io)
{
    free(io->fx);
    io->fx = NULL;
    for (unsigned d = 0; d < BATON_ARRAY_LEN(io->fx_nested); d++) {
        free(io->fx_nested[d]);
        io->fx_nested[d] = NULL;
    }
    free(io->names_slots);
    io->names_slots = NULL;
    free(io->rx_names.slot);
    baton_names_init(&io->rx_names, NULL, 0);
    free(io->plain);
    io->plain = NULL;
    io->plain_cap = 0;
    baton_wire_zone_free(io->rx_zone);
    io->rx_zone = NULL;
    free(io->enc);
    io->enc = NULL;
    io->enc_cap = 0;
}

/* The core's name tables (3 x names_cap slots: its replica, its own
 * names and a snapshot arriving in parts) and the decoding scratch
 * table (names_cap slots).
 * See docs/design/transport.md §1. */
static int names_init(struct baton_io *io, struct baton_node_config *nc)
{
    uint32_t cap = names_cap(&io->cfg);
    struct baton_name *rx;

    /* A snapshot's parts are queued on the link at once: a larger
     * table's would pass the write bound, and a node could not rejoin
     * once the table filled up (docs/design/wire.md §2.4). */
    if (cap < NAMES_CAP_MIN || cap > NAMES_CAP_MAX || (cap & (cap - 1)) != 0) {
        logf_(io, BATON_LOG_ERROR,
              "names_cap %" PRIu32 ": must be a power of two from %u to %u "
              "(a larger table's snapshot would not fit a link's write "
              "queue)",
              cap, NAMES_CAP_MIN, NAMES_CAP_MAX);
        return BATON_EINVAL;
    }
    io->names_slots = calloc(3 * (size_t)cap, sizeof(*io->names_slots));
    rx = calloc(cap, sizeof(*rx));
    if (io->names_slots == NULL || rx == NULL) {
        free(io->names_slots);
        io->names_slots = NULL;
        free(rx);
        return BATON_ENOMEM;
    }
    baton_names_init(&io->rx_names, rx, cap);
    nc->names_slots = io->names_slots;
    nc->names_cap = cap;
    return 0;
}

/* The versions this node offers: the build's, unless the test knob
 * BATON_WIRE_RANGE ("MIN-MAX", BATON_WIRE_NEGOTIATES..255) pins others, so that
 * a test can run nodes of different ranges side by side from one build (wire.md
 * §1.1). A version the knob offers beyond the build's is a test's
 * pretence: it must never be the one negotiated. Errors: BATON_EINVAL. */
static int wire_range(struct baton_io *io)
{
    const char *knob = getenv("BATON_WIRE_RANGE");
    unsigned lo, hi;
    int end = 0;

    io->wire_min = BATON_WIRE_VERSION_MIN;
    io->wire_max = BATON_WIRE_VERSION;
    if (knob == NULL || *knob == 0) {
        return 0;
    }
    if (sscanf(knob, "%3u-%3u%n", &lo, &hi, &end) != 2 || knob[end] != 0 ||
        lo < BATON_WIRE_NEGOTIATES || lo > hi || hi > UINT8_MAX) {
        logf_(io, BATON_LOG_ERROR,
              "BATON_WIRE_RANGE=%s: expected MIN-MAX, %u <= MIN <= MAX <= 255",
              knob, (unsigned)BATON_WIRE_NEGOTIATES);
        return BATON_EINVAL;
    }
    io->wire_min = (uint8_t)lo;
    io->wire_max = (uint8_t)hi;
    logf_(io, BATON_LOG_WARN,
          "BATON_WIRE_RANGE (a test knob): offering wire versions %u..%u "
          "instead of %u..%u",
          lo, hi, (unsigned)BATON_WIRE_VERSION_MIN,
          (unsigned)BATON_WIRE_VERSION);
    return 0;
}

/* A persisted list this driver can run with (membership.md §5): it
 * names this node at its [nodes] index (a node cannot renumber itself),
 * and every used slot's address parses. */
static bool members_fit(const struct baton_io_config *cfg,
                        const struct baton_members *l)
{
    char host[BATON_ADDR_MAX];
    uint16_t port;

    if (baton_members_validate(l) != 0 || l->n_slots <= cfg->self ||
        l->slot[cfg->self].kind == BATON_MEMBER_FREE ||
        strcmp(l->slot[cfg->self].name, cfg->names[cfg->self]) != 0) {
        return false;
    }
    for (unsigned i = 0; i < l->n_slots; i++) {
        if (l->slot[i].kind != BATON_MEMBER_FREE &&
            baton_io_split_addr(l->slot[i].addr, host, &port) != 0) {
            return false;
        }
    }
    return true;
}

/* Takes slot i of list l into the driver's node table: its name, where
 * it listens and its role. A free slot keeps the name it had (a removed
 * node that comes back is still recognised, and told it is out); one
 * never used has none and is never dialed. Errors: BATON_EINVAL. */
static int slot_take(struct baton_io *io, const struct baton_members *l,
                     unsigned i)
{
    const struct baton_member *m = &l->slot[i];
    struct baton_io_config *cfg = &io->cfg;

    if (i >= cfg->n_nodes) {
        cfg->names[i][0] = '\0';
        cfg->hosts[i][0] = '\0';
        io->names[i] = cfg->names[i];
        io->peers[i].backoff_ms = BATON_BACKOFF_MIN_MS;
    }
    if (m->kind == BATON_MEMBER_FREE) {
        return 0;
    }
    snprintf(cfg->names[i], sizeof(cfg->names[i]), "%s", m->name);
    cfg->candidate[i] = m->kind == BATON_MEMBER_CANDIDATE ? 1 : 0;
    if (i == cfg->self) {
        return 0;
    }
    if (baton_io_split_addr(m->addr, cfg->hosts[i], &cfg->ports[i]) != 0 ||
        resolve(cfg->hosts[i], cfg->ports[i], &io->peers[i].addr) != 0) {
        cfg->hosts[i][0] = '\0';
        logf_(io, BATON_LOG_ERROR, "%s: bad address %s in the member list",
              m->name, m->addr);
        return BATON_EINVAL;
    }
    return 0;
}

/* The driver's side of a list change (membership.md §5): a slot that
 * became used (or got another node) is dialed at the address the list
 * gives; the core has declared a freed one down, and its link closes. */
static void members_take(struct baton_io *io, const struct baton_members *l)
{
    for (unsigned i = 0; i < l->n_slots; i++) {
        const struct baton_member *m = &l->slot[i];
        bool is_new = i >= io->cfg.n_nodes ||
                      (m->kind != BATON_MEMBER_FREE &&
                       strcmp(m->name, io->cfg.names[i]) != 0);
        char host[BATON_ADDR_MAX];
        uint16_t port = 0;

        if (i == io->cfg.self) {
            continue;
        }
        if (!is_new && m->kind != BATON_MEMBER_FREE &&
            baton_io_split_addr(m->addr, host, &port) == 0 &&
            (strcmp(host, io->cfg.hosts[i]) != 0 ||
             port != io->cfg.ports[i])) {
            is_new = true; /* same name, another address */
        }
        if (!is_new) {
            /* A re-added node (a freed slot used again by its name) is
             * dialed again: its slot was not while free. */
            if (m->kind != BATON_MEMBER_FREE) {
                schedule_dial(io, i, true);
            }
            continue;
        }
        if (io->peers[i].ready != NULL) {
            conn_close(io->peers[i].ready, "its slot holds another node now");
        }
        if (slot_take(io, l, i) == 0 && m->kind != BATON_MEMBER_FREE) {
            logf_(io, BATON_LOG_INFO, "member %s at %s:%u: dialing it",
                  io->cfg.names[i], io->cfg.hosts[i],
                  (unsigned)io->cfg.ports[i]);
            io->cfg.n_nodes = BATON_MAX(io->cfg.n_nodes, i + 1);
            schedule_dial(io, i, true);
        }
    }
    io->cfg.n_nodes = BATON_MAX(io->cfg.n_nodes, (unsigned)l->n_slots);
}

/* The seed list (docs/design/membership.md §1): the [nodes] of the
 * config, at version 0, named as the HELLO names them. */
static void seed_members(const struct baton_io_config *cfg,
                         struct baton_members *l)
{
    memset(l, 0, sizeof(*l));
    l->n_slots = (uint8_t)cfg->n_nodes;
    for (unsigned i = 0; i < cfg->n_nodes; i++) {
        struct baton_member *m = &l->slot[i];
        m->kind = cfg->candidate[i] ? BATON_MEMBER_CANDIDATE
                                    : BATON_MEMBER_WORKER;
        snprintf(m->name, sizeof(m->name), "%s", cfg->names[i]);
        snprintf(m->addr, sizeof(m->addr), "%s:%u", cfg->hosts[i],
                 (unsigned)cfg->ports[i]);
    }
}

/* The AEADs this node offers: the machine's, unless the test knob
 * BATON_AEAD=chacha20-poly1305 offers none beside it, so that a test can
 * link a node without AES-GCM to nodes with it from one machine
 * (docs/design/transport.md §3). Errors: BATON_EINVAL. */
static int aeads_offered(struct baton_io *io)
{
    const char *knob = getenv("BATON_AEAD");

    io->aeads = (uint8_t)baton_aeads_available();
    if (knob == NULL || *knob == 0) {
        return 0;
    }
    if (strcmp(knob, "chacha20-poly1305") != 0) {
        logf_(io, BATON_LOG_ERROR,
              "BATON_AEAD=%s: the one value is chacha20-poly1305", knob);
        return BATON_EINVAL;
    }
    io->aeads = 0;
    logf_(io, BATON_LOG_WARN,
          "BATON_AEAD (a test knob): offering ChaCha20-Poly1305 alone");
    return 0;
}

int baton_io_init(struct baton_io *io, uv_loop_t *loop,
                  const struct baton_io_config *cfg, baton_log_fn log,
                  void *log_data)
{
    struct baton_node_config nc = {0};
    int rv;

    memset(io, 0, sizeof(*io));
    io->loop = loop;
    io->cfg = *cfg;
    io->log = log;
    io->log_data = log_data;
    if (baton_secure_init() != 0) {
        logf_(io, BATON_LOG_ERROR, "libsodium failed to initialise");
        return BATON_EIO;
    }
    if (cfg->n_nodes < 1 || cfg->n_nodes > BATON_NODES_MAX ||
        cfg->self >= cfg->n_nodes || cfg->cookie_len == 0 || cfg->inc == 0) {
        logf_(io, BATON_LOG_ERROR, "invalid driver configuration");
        return BATON_EINVAL;
    }
    rv = wire_range(io);
    if (rv == 0) {
        rv = aeads_offered(io);
    }
    if (rv != 0) {
        return rv;
    }
    for (unsigned i = 0; i < cfg->n_nodes; i++) {
        io->names[i] = io->cfg.names[i];
        if (i != cfg->self &&
            resolve(cfg->hosts[i], cfg->ports[i], &io->peers[i].addr) != 0) {
            logf_(io, BATON_LOG_ERROR, "%s: bad address %s", cfg->names[i],
                  cfg->hosts[i]);
            return BATON_EINVAL;
        }
        io->peers[i].backoff_ms = BATON_BACKOFF_MIN_MS;
    }
    /* A saved list replaces [nodes]: its slots are the nodes (an added
     * one included), [nodes] stays the seed list and the handshake's. */
    seed_members(cfg, &io->rx_members);
    nc.members = &io->rx_members;
    if (cfg->members != NULL && !members_fit(cfg, cfg->members)) {
        logf_(io, BATON_LOG_WARN,
              "the persisted member list (version %" PRIu64
              ") does not name this node as [nodes] does: starting from "
              "[nodes]; the peers will tell this node the current list",
              cfg->members->version);
    } else if (cfg->members != NULL) {
        nc.members = cfg->members;
        for (unsigned i = 0; i < cfg->members->n_slots; i++) {
            if (slot_take(io, cfg->members, i) != 0) {
                return BATON_EINVAL;
            }
        }
        io->cfg.n_nodes = cfg->members->n_slots;
    }
    nc.n_nodes = io->cfg.n_nodes;
    nc.self = cfg->self;
    memcpy(nc.candidate, io->cfg.candidate, sizeof(nc.candidate));
    nc.heartbeat_ms = cfg->heartbeat_ms;
    nc.heartbeat_miss = cfg->heartbeat_miss;
    nc.sync_window_ms = cfg->sync_window_ms;
    nc.n_apps = cfg->n_apps;
    memcpy(nc.apps, cfg->apps, sizeof(nc.apps));
    nc.apps_held = cfg->apps_held;
    nc.max_drift_ppm = cfg->max_drift_ppm;
    nc.raft_disk = cfg->raft_disk;
    nc.raft_snap = cfg->raft_snap;
    nc.raft_snap_len = cfg->raft_snap_len;
    nc.settings = cfg->settings;
    io->cfg.settings = NULL; /* borrowed for init only */
    /* Placement ties go to the smallest node name (reference §1.4). */
    for (unsigned i = 0; i < cfg->n_nodes; i++) {
        for (unsigned j = 0; j < cfg->n_nodes; j++) {
            if (strcmp(cfg->names[j], cfg->names[i]) < 0) {
                nc.name_rank[i]++;
            }
        }
    }
    rv = names_init(io, &nc);
    if (rv != 0) {
        return rv;
    }
    io->fx = calloc(1, sizeof(*io->fx));
    io->plain = malloc(BUF_INIT);
    io->enc = malloc(BUF_INIT);
    if (io->fx == NULL || io->plain == NULL || io->enc == NULL) {
        io_free(io);
        return BATON_ENOMEM;
    }
    io->plain_cap = io->enc_cap = BUF_INIT;
    rv = baton_node_init(&io->node, &nc, cfg->inc, cfg->inc, uv_now(loop));
    if (rv != 0) {
        io_free(io);
        return rv;
    }
    baton_io_config_digest(cfg, io->digest);
    baton_io_config_parts(cfg, io->parts);
    io->driver_held = cfg->apps_held;
    return 0;
}

/* The timings as every node applies them: the core's defaults for the
 * unset ones. */
static struct baton_node_config timings(const struct baton_io_config *cfg)
{
    struct baton_node_config nc = {0};

    nc.heartbeat_ms = cfg->heartbeat_ms;
    nc.heartbeat_miss = cfg->heartbeat_miss;
    nc.sync_window_ms = cfg->sync_window_ms;
    baton_node_config_defaults(&nc);
    return nc;
}

void baton_io_config_digest(const struct baton_io_config *cfg,
                            uint8_t out[BATON_DIGEST_LEN])
{
    struct baton_node_config nc = timings(cfg);
    const char *names[BATON_NODES_MAX];
    uint8_t base[BATON_DIGEST_LEN];
    crypto_hash_sha256_state st;
    char line[32];

    for (unsigned i = 0; i < cfg->n_nodes; i++) {
        names[i] = cfg->names[i];
    }
    baton_config_digest(names, cfg->candidate, cfg->n_nodes, nc.heartbeat_ms,
                        nc.heartbeat_miss, nc.sync_window_ms, base);
    /* The name table's size came later than baton_config_digest's list:
     * it extends that digest (docs/design/wire.md §3). */
    snprintf(line, sizeof(line), "names_cap %" PRIu32 "\n", names_cap(cfg));
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, base, sizeof(base));
    crypto_hash_sha256_update(&st, (const uint8_t *)line, strlen(line));
    crypto_hash_sha256_final(&st, out);
}

/* One part's digest: the first bytes of SHA-256 over its text. */
static void part_digest(uint8_t out[BATON_CONFIG_PART_LEN], const char *text,
                        size_t len)
{
    uint8_t full[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(full, (const uint8_t *)text, len);
    memcpy(out, full, BATON_CONFIG_PART_LEN);
}

void baton_io_config_parts(
    const struct baton_io_config *cfg,
    uint8_t out[BATON_CONFIG_PARTS][BATON_CONFIG_PART_LEN])
{
    struct baton_node_config nc = timings(cfg);
    const char *names[BATON_NODES_MAX];
    uint8_t full[BATON_DIGEST_LEN];
    char line[32];
    const uint64_t values[] = {nc.heartbeat_ms, nc.heartbeat_miss,
                               nc.sync_window_ms, names_cap(cfg)};

    /* [nodes]: the lines the whole digest starts with (wire.md §3). */
    for (unsigned i = 0; i < cfg->n_nodes; i++) {
        names[i] = cfg->names[i];
    }
    baton_config_nodes_digest(names, cfg->candidate, cfg->n_nodes, full);
    memcpy(out[BATON_PART_NODES], full, BATON_CONFIG_PART_LEN);
    for (unsigned p = BATON_PART_HEARTBEAT_MS; p <= BATON_PART_NAMES_CAP; p++) {
        int n = snprintf(line, sizeof(line), "%" PRIu64 "\n",
                         values[p - BATON_PART_HEARTBEAT_MS]);
        part_digest(out[p], line, (size_t)n);
    }
    memset(out[BATON_PART_MEMBERS], 0, BATON_CONFIG_PART_LEN);
}

const char *baton_io_config_part_name(unsigned part)
{
    static const char *const names[BATON_CONFIG_PARTS] = {
        "[nodes]", "[cluster] heartbeat_ms", "[cluster] heartbeat_miss",
        "[cluster] sync_window_ms", "[cluster] names_cap",
        "the member list"};

    return part < BATON_CONFIG_PARTS ? names[part] : "a setting";
}

int baton_io_start(struct baton_io *io)
{
    struct sockaddr_storage sa;
    unsigned self = io->cfg.self;
    struct baton_event ev = {0};
    int rv;

    uv_timer_init(io->loop, &io->core_timer);
    io->core_timer.data = io;
    uv_timer_init(io->loop, &io->sweep);
    io->sweep.data = io;
    uv_tcp_init(io->loop, &io->listener);
    io->listener.data = io;
    baton__wflush_init(&io->wflush, io->loop, io);
    io->open_handles += 5;
    /* Every slot's timer, so that a node added later is dialed as any
     * (docs/design/membership.md §5). */
    for (unsigned p = 0; p < BATON_NODES_MAX; p++) {
        if (p != self) {
            uv_timer_init(io->loop, &io->peers[p].retry);
            io->peers[p].io = io;
            io->peers[p].retry.data = &io->peers[p];
            io->open_handles++;
        }
    }
    if (resolve(io->cfg.hosts[self], io->cfg.ports[self], &sa) != 0) {
        logf_(io, BATON_LOG_ERROR, "bad listen address %s",
              io->cfg.hosts[self]);
        return BATON_EINVAL;
    }
    rv = uv_tcp_bind(&io->listener, (struct sockaddr *)&sa, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&io->listener, 64, on_accept);
    }
    if (rv != 0) {
        logf_(io, BATON_LOG_ERROR, "cannot listen on %s:%u: %s",
              io->cfg.hosts[self], io->cfg.ports[self], uv_strerror(rv));
        return BATON_EIO;
    }
    uv_timer_start(&io->sweep, on_sweep, 1000, 1000);
    ev.type = BATON_EVENT_TICK;
    core_step(io, &ev);
    for (unsigned p = 0; p < io->cfg.n_nodes; p++) {
        if (p != self && io->cfg.hosts[p][0] != '\0') {
            dial(io, p);
        }
    }
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct baton_io *io = h->data;

    io->open_handles--;
    if (io->open_handles == 0 && io->close_cb != NULL) {
        io->close_cb(io);
    }
}

void baton_io_close(struct baton_io *io, void (*cb)(struct baton_io *io))
{
    io->closing = true;
    io->close_cb = cb;
    if (io->open_handles == 0) {
        /* Never started (the program's start failed before ours): no
         * handle to close, nothing to wait for. */
        baton_wipe(io->cfg.cookie, sizeof(io->cfg.cookie));
        io_free(io);
        if (cb != NULL) {
            cb(io);
        }
        return;
    }
    while (io->conns != NULL) {
        conn_close(io->conns, NULL);
    }
    for (unsigned p = 0; p < BATON_NODES_MAX; p++) {
        if (p != io->cfg.self) {
            io->peers[p].retry.data = io;
            uv_close((uv_handle_t *)&io->peers[p].retry, on_handle_closed);
        }
    }
    uv_close((uv_handle_t *)&io->core_timer, on_handle_closed);
    uv_close((uv_handle_t *)&io->sweep, on_handle_closed);
    uv_close((uv_handle_t *)&io->listener, on_handle_closed);
    baton__wflush_close(&io->wflush, on_handle_closed);
    baton_wipe(io->cfg.cookie, sizeof(io->cfg.cookie));
    /* Closed from a callback, the step under way still reads its
     * effects: core_step frees everything once it is out. */
    if (io->depth == 0) {
        io_free(io);
    }
}

bool baton_io_link_up(const struct baton_io *io, unsigned peer)
{
    return peer < io->cfg.n_nodes && io->peers[peer].ready != NULL;
}

unsigned baton_io_link_wire(const struct baton_io *io, unsigned peer)
{
    return baton_io_link_up(io, peer) ? io->peers[peer].ready->wire : 0;
}

bool baton_io_link_has(const struct baton_io *io,
                       unsigned peer,
                       enum baton_wire_feature feature)
{
    return baton_io_link_up(io, peer) &&
           baton_wire_has(io->peers[peer].ready->wire, feature);
}

const uv_tcp_t *baton_io_link_tcp(const struct baton_io *io, unsigned peer)
{
    return baton_io_link_up(io, peer) ? &io->peers[peer].ready->tcp : NULL;
}
