/* The libuv driver: runs one core node over the authenticated TCP mesh.
 * See docs/design/transport.md. */
#ifndef BATON_IO_IO_H
#define BATON_IO_IO_H

#include <uv.h>

#include "../core/node.h"
#include "../wire/codec.h"
#include "secure.h"
#include "wbuf.h"

#define BATON_ADDR_MAX (64)
#define BATON_WRITE_QUEUE_MAX (16u << 20)
/* Name table slots (a power of two; part of the config digest, so every
 * node of a cluster uses the same): 4096 slots hold 3072 names. */
#define BATON_NAMES_CAP_DEFAULT (4096u)
/* Steps that may be under way at once: a step, and steps that on_app,
 * on_name or on_call callbacks start while its effects are carried out
 * (docs/design/transport.md §1). */
#define BATON_IO_DEPTH_MAX (4)


typedef void (*baton_log_fn)(void *data, int level, const char *text);

struct baton_io_config {
    unsigned n_nodes;
    unsigned self;
    char names[BATON_NODES_MAX][BATON_NAME_MAX + 1];
    char hosts[BATON_NODES_MAX][BATON_ADDR_MAX]; /* IPv4/IPv6 literal */
    uint16_t ports[BATON_NODES_MAX];
    uint8_t candidate[BATON_NODES_MAX];
    uint64_t heartbeat_ms; /* 0 = core defaults */
    uint64_t heartbeat_miss;
    uint64_t sync_window_ms;
    uint8_t cookie[BATON_COOKIE_MAX];
    size_t cookie_len;
    baton_inc inc;
    unsigned n_apps;
    struct baton_app_config apps[BATON_APPS_MAX];
    bool apps_held; /* boot sync pending (baton_node_config) */
    uint32_t names_cap; /* name table slots, power of two; 0 = default */
    /* Quorum mode (baton_node_config): [cluster] max_drift (0 = the
     * default), and what the Raft store recovered (NULL: nothing;
     * borrowed during baton_io_init). */
    uint32_t max_drift_ppm;
    const struct baton_raft_disk *raft_disk;
    const uint8_t *raft_snap; /* its snapshot's bytes (NULL: none) */
    uint32_t raft_snap_len;
    /* Live membership (docs/design/membership.md §5): the member list
     * the driver persisted at the last change, or NULL to start from
     * [nodes] (the seed list). Used only if it names this node at its
     * [nodes] index; its slots then replace [nodes] (an added node is
     * dialed at the address the list gives); borrowed during
     * baton_io_init. */
    const struct baton_members *members;
    /* The operator settings persisted (baton_node_config), or NULL;
     * borrowed during baton_io_init. */
    const struct baton_settings *settings;
};

struct baton_io;
/* Called for every app effect of a step (start or stop a local
 * instance); valid during the call only. */
typedef void (*baton_app_fn)(struct baton_io *io,
                             const struct baton_app_effect *e);
/* Called for every name effect (a write finished, an endpoint lost a
 * name) and every call effect (deliver to a local endpoint, a call or
 * send finished) of a step, after its messages are sent; e and its data
 * are valid during the call only. */
typedef void (*baton_name_fn)(struct baton_io *io,
                              const struct baton_name_effect *e);
typedef void (*baton_call_fn)(struct baton_io *io,
                              const struct baton_call_effect *e);

/* Quorum mode: makes the core's raft_write durable (docs/design/
 * quorum.md §3) and returns 0 once it is, or an error: the write is
 * then never confirmed, and the node's quorum apps stop with their
 * leases. w and its entries are valid during the call only. */
typedef int (*baton_raft_write_fn)(struct baton_io *io,
                                   const struct baton_raft_write *w);
/* Quorum mode: saves the core's raft_snapshot effect durably, before
 * the write of the same step, and returns 0 once it is, or an error:
 * that step's write is then not made either (the store is failed).
 * data is valid during the call only. */
typedef int (*baton_raft_snapshot_fn)(struct baton_io *io,
                                      uint64_t index,
                                      uint64_t term,
                                      const uint8_t *data,
                                      uint32_t len);

/* An operator verb answered (BATON_EVENT_ADMIN's admin effect), and the
 * operator settings changed (to be persisted: docs/design/apps.md §7);
 * valid during the call only. */
typedef void (*baton_admin_fn)(struct baton_io *io,
                               const struct baton_admin_reply *r);
typedef void (*baton_settings_fn)(struct baton_io *io,
                                  const struct baton_settings *s);

struct baton_io_conn; /* io.c */

/* What the driver knows of one peer's link. */
struct baton_io_peer {
    struct baton_io *io;         /* back-pointer, for the retry timer */
    struct baton_io_conn *ready; /* the adopted, authenticated connection */
    baton_inc inc;               /* that connection's peer life */
    bool dialing;
    struct baton_io_conn *dialer; /* the dial under way, while dialing */
    /* Waits out the redial delay, or while dialing, the dial timeout. */
    uv_timer_t retry;
    uint64_t backoff_ms;
    uint64_t up_since_ms;
    uint64_t down_since_ms; /* when the last adopted link closed, or 0 */
    bool was_reset;         /* it closed because the core asked */
    struct sockaddr_storage addr;
};

struct baton_io_stats {
    uint64_t frames_in, frames_out;
    uint64_t auth_failures, bad_frames, handshakes, undrained;
    uint64_t resets;        /* links closed because the peer went silent */
    uint64_t dial_timeouts; /* dials abandoned after the dial timeout */
    uint64_t gated;         /* messages a peer's wire version cannot carry */
};

/* The config digest's inputs, part by part, as the HELLO carries them
 * so that a mismatch names the setting that differs (wire.md §3). The
 * order is the wire's: a later version may only append parts. */
enum baton_config_part {
    BATON_PART_NODES,          /* [nodes]: names, order and roles */
    BATON_PART_HEARTBEAT_MS,   /* [cluster] heartbeat_ms */
    BATON_PART_HEARTBEAT_MISS, /* [cluster] heartbeat_miss */
    BATON_PART_SYNC_WINDOW_MS, /* [cluster] sync_window_ms */
    BATON_PART_NAMES_CAP,      /* [cluster] names_cap */
    /* Not a setting: the member list's version, big-endian (0: the seed
     * list). A [nodes] difference is no mismatch when either side's list
     * changed: MEMBERS settles it (docs/design/membership.md §5). */
    BATON_PART_MEMBERS,
    BATON_CONFIG_PARTS
};
_Static_assert(BATON_CONFIG_PARTS <= BATON_CONFIG_PARTS_MAX,
               "a HELLO carries at most BATON_CONFIG_PARTS_MAX parts");

struct baton_io {
    uv_loop_t *loop;
    struct baton_io_config cfg;
    struct baton_node node;
    struct baton_effects *fx;
    uint8_t digest[BATON_DIGEST_LEN];
    uint8_t parts[BATON_CONFIG_PARTS][BATON_CONFIG_PART_LEN];
    const char *names[BATON_NODES_MAX];
    uv_tcp_t listener;
    uv_timer_t core_timer;
    uv_timer_t sweep;
    /* Writes every stream's gathered bytes once per loop iteration: the
     * links' frames and the control sessions' lines (wbuf.h, docs/design/
     * transport.md §1, "Writes"). */
    struct baton_wflush wflush;
    struct baton_io_peer peers[BATON_NODES_MAX];
    struct baton_io_conn *conns; /* every open connection */
    struct baton_io_stats stats;
    baton_log_fn log;
    void *log_data;
    unsigned open_handles;
    /* The wire versions this node offers in its HELLO: the build's
     * range, or the test knob BATON_WIRE_RANGE's (wire.md §1.1). */
    uint8_t wire_min, wire_max;
    /* The AEADs this node offers in its HELLO (BATON_AEAD_* bits): what
     * the machine has, or none under the test knob BATON_AEAD
     * (docs/design/transport.md §3). */
    uint8_t aeads;
    bool closing;
    /* Apps held: the driver's boot sync (held until its RELEASE), and
     * a link to an older peer whose config differs (transport.md §2). */
    bool driver_held;
    bool mismatch_held;
    void (*close_cb)(struct baton_io *io);
    baton_app_fn on_app;
    baton_name_fn on_name;
    baton_call_fn on_call;
    baton_admin_fn on_admin;
    baton_settings_fn on_settings;
    /* NULL: writes are confirmed at once and kept nowhere: NOT durable,
     * a restarted node forgets its term, vote and log; the core then
     * starts no quorum app (cfg.raft_disk is NULL too). libbaton sets
     * both to its store (src/lib/raftlog.c, docs/design/quorum.md §3)
     * when the node has a quorum app. */
    baton_raft_write_fn on_raft_write;
    baton_raft_snapshot_fn on_raft_snapshot;
    /* Live membership: the member list changed (or this node was
     * removed): persist it (membership.md §5). NULL: kept nowhere. l is
     * valid during the call only. */
    void (*on_members)(struct baton_io *io, const struct baton_members *l);
    uint64_t persisted_seq; /* the newest write to confirm, 0 = none */
    struct baton_name *names_slots; /* the core's: 3 x names_cap slots */
    struct baton_names rx_names;    /* decoding scratch for snapshots */
    /* Decoding scratch for a MEMBERS message's list (membership.md). */
    struct baton_members rx_members;
    void *data;

    /* Private to io.c (docs/design/transport.md §1, "Buffers"). */
    uint8_t *plain;   /* an opened frame's plaintext, grown on demand */
    size_t plain_cap;
    uint8_t *enc;     /* a message being encoded, grown on demand */
    size_t enc_cap;
    /* msgpack-c's zone for decoding frames, made on the first: kept so
     * that a frame's decode allocates nothing (NULL: one per frame). */
    struct baton_wire_zone *rx_zone;
    unsigned depth;   /* steps under way: a callback may step again */
    /* Effects of a nested step (depth 1..), allocated when first
     * needed, so that a step never overwrites effects still being
     * carried out (io->fx is depth 0's). */
    struct baton_effects *fx_nested[BATON_IO_DEPTH_MAX - 1];
    uint32_t down_pending; /* peers whose LINK_DOWN waits for depth 0 */
};

/* Feeds the core what happened to a local app instance
 * (BATON_EVENT_APP) or an operator request (BATON_EVENT_REQUEST).
 * Errors: BATON_EINVAL (unknown app or value). */
int baton_io_app_event(struct baton_io *io, unsigned app, unsigned what,
                       uint64_t epoch);
/* Runtime definitions (docs/design/apps.md §1.1): app idx (idx ==
 * cfg.n_apps appends) becomes *def here and in the core
 * (BATON_REQ_DEFINE). Removing is baton_io_request(BATON_REQ_UNDEFINE).
 * Errors: BATON_EINVAL (the core refused it: a bad index, a name twice,
 * a quorum app on a node without its Raft group). */
int baton_io_app_define(struct baton_io *io,
                        unsigned idx,
                        const struct baton_app_config *def);
int baton_io_request(struct baton_io *io, unsigned app, unsigned what,
                     unsigned value);
/* Live membership (docs/design/membership.md §2): asks the core to add
 * m (name, addr, kind) or to remove the member called m->name (what:
 * BATON_REQ_MEMBER_ADD or _REMOVE). Returns the core's answer (0,
 * BATON_ENOTCOORD, BATON_ESTATE, BATON_EINVAL, BATON_EFULL) or a step's
 * error. Borrows m for the call. */
int baton_io_member_request(struct baton_io *io, unsigned what,
                            const struct baton_member *m);

/* An operator verb (docs/design/apps.md §7); its answer comes through
 * on_admin with q->id, possibly during this call. Borrows q.
 * Errors: BATON_EINVAL (the core refused it: a bad kind, app name or
 * node), BATON_EFULL, BATON_ENOMEM (as baton_io_name). */
int baton_io_admin(struct baton_io *io, const struct baton_admin_req *q);
/* app's state_export for takeover token epoch finished: ok with len
 * bytes of data (borrowed for the call), or failed. */
int baton_io_exported(struct baton_io *io, unsigned app, uint64_t epoch,
                      bool ok, const uint8_t *data, uint32_t len);

/* Names and calls (docs/design/names.md): each steps the core with
 * BATON_EVENT_NAME / CALL / REPLY; results come back through on_name and
 * on_call, possibly during this very call (a write on the coordinator,
 * a call to a local name). Borrows req/call (and call->data) for the
 * call. They may be called from on_app, on_name and on_call: the step
 * they make uses its own effects buffer, and the effects of the step
 * being carried out stay valid (docs/design/transport.md §1).
 * Errors: BATON_EINVAL (invalid request: the core refused the event),
 * BATON_EFULL (BATON_IO_DEPTH_MAX steps under way: callbacks nested too
 * deep), BATON_ENOMEM (no effects buffer for a nested step). On error
 * no callback fires for the request. */
int baton_io_name(struct baton_io *io, const struct baton_name_req *req);
int baton_io_call(struct baton_io *io, const struct baton_call *call);
int baton_io_reply(struct baton_io *io, const struct baton_call *reply);

/* Validates cfg and prepares the driver on loop. Borrows cfg (the cookie
 * is copied and wiped on close). Allocates the core's name tables
 * (io->names_slots, 3 x names_cap slots) and a decoding table
 * (io->rx_names, names_cap slots), freed on close. Errors: BATON_EINVAL (naming the problem
 * through log, e.g. a names_cap that is not a power of two from 16 to
 * 32768), BATON_ENOMEM, BATON_EIO. */
int baton_io_init(struct baton_io *io, uv_loop_t *loop,
                  const struct baton_io_config *cfg, baton_log_fn log,
                  void *log_data);

/* The digest of what every node must share (docs/design/wire.md §3),
 * with the core's defaults applied to unset timings and names_cap. */
void baton_io_config_digest(const struct baton_io_config *cfg,
                            uint8_t out[BATON_DIGEST_LEN]);

/* The parts of the config digest (enum baton_config_part above). */
/* "host:port" as the member list writes it (the last colon splits, so
 * an IPv6 literal needs no brackets) into host and port.
 * Errors: BATON_EINVAL (no port, a port out of 1..65535, a host longer
 * than BATON_ADDR_MAX - 1). */
int baton_io_split_addr(const char *addr, char host[BATON_ADDR_MAX],
                        uint16_t *port);

void baton_io_config_parts(
    const struct baton_io_config *cfg,
    uint8_t out[BATON_CONFIG_PARTS][BATON_CONFIG_PART_LEN]);
/* The setting a part stands for, as the config file spells it. */
const char *baton_io_config_part_name(unsigned part);

/* Listens, dials every peer and boots the core.
 * Errors: BATON_EIO (cannot listen: logged with the address). */
int baton_io_start(struct baton_io *io);

/* Closes every connection (peers see the links close at once), the
 * listener and the timers; cb runs once all handles are closed. */
void baton_io_close(struct baton_io *io, void (*cb)(struct baton_io *io));

/* Milliseconds since the peer's link came up, or 0 if it is down. */
bool baton_io_link_up(const struct baton_io *io, unsigned peer);

/* The wire version negotiated on the link to peer; 0 when no link is up
 * (docs/design/wire.md §1.1). */
unsigned baton_io_link_wire(const struct baton_io *io, unsigned peer);

/* Whether the link to peer carries `feature` (baton_wire_has on its
 * negotiated version); false when no link is up. */
bool baton_io_link_has(const struct baton_io *io,
                       unsigned peer,
                       enum baton_wire_feature feature);
/* The adopted link's TCP handle (for its kernel statistics: the
 * metrics' link RTT), or NULL when the link is down. Borrowed. */
const uv_tcp_t *baton_io_link_tcp(const struct baton_io *io, unsigned peer);

#endif /* BATON_IO_IO_H */
