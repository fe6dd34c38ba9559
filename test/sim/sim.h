/* Deterministic cluster simulator: N real cores in one process, virtual
 * time, a faulty network, crashes, pauses and partitions, with the safety
 * invariants checked after every step. See docs/design/simulator.md. */
#ifndef BATON_SIM_H
#define BATON_SIM_H

#include "../../src/core/node.h"

#define SIM_NODES_MAX (9)
#define SIM_MS ((uint64_t)1000) /* virtual time is in microseconds */

/* The link model's TCP constants (docs/design/simulator.md §1), Linux's:
 * the first retransmission timeout on a LAN (TCP_RTO_MIN: srtt is tiny),
 * its cap (TCP_RTO_MAX) and the first SYN retransmission
 * (TCP_TIMEOUT_INIT). Each retransmission doubles the timeout. */
#define SIM_RTO_MIN_US (200 * SIM_MS)
#define SIM_RTO_MAX_US (120000 * SIM_MS)
#define SIM_SYN_RTO_US (1000 * SIM_MS)

struct sim_config {
    unsigned n_nodes;                /* 1..SIM_NODES_MAX */
    uint8_t candidate[SIM_NODES_MAX];
    uint64_t heartbeat_ms;           /* 0 = core default */
    uint64_t heartbeat_miss;
    uint64_t sync_window_ms;
    uint64_t seed;
    uint64_t delay_min_us;           /* one-way message delay range */
    uint64_t delay_max_us;
    /* Link connect/close delay; 0 = random 1-3 ms / 0.2-1 ms. Scenarios
     * fix it (with the message delay) to get exact times. */
    uint64_t link_delay_us;
    /* The driver as it was before issue 11: it ignores the core's link
     * resets and gives a dial the 5 s handshake timeout. Only to show
     * that the link model catches what that driver got wrong. */
    bool legacy_transport;
    /* Apps, identical on every node (docs/design/apps.md). Instances
     * become ready 1-10 ms after their start; app_fail_ppm of starts
     * fail instead. */
    unsigned n_apps;
    struct baton_app_config apps[BATON_APPS_MAX];
    uint32_t app_fail_ppm;
    uint64_t state_wait_ms; /* 0 = the core's default */
    /* Node override_node (if override_set) defines app 0 as override_app
     * instead: definitions that differ between nodes. */
    bool override_set;
    unsigned override_node;
    struct baton_app_config override_app;
    /* Entries per snapshot part (0: the core's default, far above the
     * simulator's table): small parts cut a snapshot into many. */
    uint32_t names_part;
    /* Clock drift (quorum mode, docs/design/quorum.md §7): each node's
     * clock runs at a rate within 1 +- drift_ppm / 2 of true time, so
     * that two differ by at most drift_ppm, which the nodes are told as
     * max_drift. 0: every clock reads true time. */
    uint32_t drift_ppm;
    /* Self-fencing (quorum.md §4.4). stop_hang_ppm of the STOPs of a
     * quorum app are ignored by the instance: it ends only when killed
     * (the core's KILL, or the shim). shim: model batond's shim, which
     * runs the instance on while its node is paused and kills it at the
     * lease end the node last gave it (LEASE), on the node's clock;
     * without it the instance is inside the node's process (libbaton)
     * and is frozen with it. */
    uint32_t stop_hang_ppm;
    bool shim;
    /* Scenarios: each node's clock rate (1 + rate_ppm[i] / 1e6 of true
     * time) given instead of drawn; |a - b| must stay within drift_ppm
     * for the nodes' max_drift to hold. */
    bool rates_given;
    int32_t rate_ppm[SIM_NODES_MAX];
    /* Quorum mode: snapshots of the grant table every raft_snap_every
     * applied entries, the log compacted past raft_log_room entries
     * (baton_node_config; 0: the core's defaults). Small values exercise
     * compaction and snapshot installs in a short run. */
    uint32_t raft_snap_every;
    uint32_t raft_log_room;
    /* Live membership (docs/design/membership.md): nodes 0..n_seed-1
     * start with a seed list of n_seed nodes, the others with one of all
     * n_nodes (each node is named sim_names[i], its kind from
     * candidate[]). 0: every node's seed list has all n_nodes. */
    unsigned n_seed;
    bool print_trace;                /* print every trace line as it happens */
    bool keep_trace;                 /* keep lines for sim_trace_find() */
};

struct sim;

/* Creates a cluster with every node booted at time 0 and all links up.
 * Returns NULL on allocation failure. */
struct sim *sim_create(const struct sim_config *cfg);
void sim_destroy(struct sim *s);

/* Runs until virtual time t_us (or until an invariant fails). */
void sim_run_until(struct sim *s, uint64_t t_us);
void sim_run_for(struct sim *s, uint64_t d_us);
uint64_t sim_now(const struct sim *s);

/* Faults. */
void sim_crash(struct sim *s, unsigned i);   /* peers see links close */
void sim_restart(struct sim *s, unsigned i); /* new incarnation */
void sim_pause(struct sim *s, unsigned i);   /* frozen; mail queues up */
void sim_resume(struct sim *s, unsigned i);
void sim_block(struct sim *s, unsigned from, unsigned to); /* one way */
void sim_unblock(struct sim *s, unsigned from, unsigned to);
/* Every block lifted. Stalled connections resume at their next
 * retransmission; closed links wait for their next dial. */
void sim_heal(struct sim *s);
/* a closes its connection to b (as a driver does when b stops draining):
 * a RST goes to b, a redials after its backoff. TCP's only way to lose
 * data. */
void sim_reset_link(struct sim *s, unsigned a, unsigned b);
/* Unfaithful knobs, off by default (docs/design/simulator.md §1): TCP
 * never loses, duplicates or reorders within a connection. */
void sim_set_loss(struct sim *s, uint32_t drop_ppm, uint32_t dup_ppm);
void sim_set_reorder(struct sim *s, bool on);
/* The one-way delay range of each message (in order unless reordering
 * is on). */
void sim_set_delay(struct sim *s, uint64_t min_us, uint64_t max_us);
void sim_set_app_fail(struct sim *s, uint32_t ppm);
/* Quorum mode: node i's Raft writes take extra_us more to become
 * durable (a slow fsync), from now on. */
void sim_set_disk_delay(struct sim *s, unsigned i, uint64_t extra_us);
/* Delivers an invalid message to node i (kind picks which field is
 * wrong) and checks that the node rejects and counts it. */
void sim_inject_garbage(struct sim *s, unsigned i, unsigned kind);

/* Apps. The instance of app a on node i: 0 none, 1 starting, 2 ready,
 * 3 stopping, 4 killed (its end not yet reported); *epoch its fencing
 * token. */
unsigned sim_instance(const struct sim *s, unsigned i, unsigned a,
                      uint64_t *epoch);
/* The running instance of app a fails beyond its restarts. */
void sim_app_fail(struct sim *s, unsigned i, unsigned a);
/* An operator request on node i (batonctl permit/takeover). */
void sim_request(struct sim *s, unsigned i, unsigned a, unsigned what,
                 unsigned value);
/* Runtime definitions (apps.md §1.1): node i defines app a as *def
 * (a == the apps so far: a new one, which the checkers then know as
 * *def). Removing is sim_request(s, i, a, BATON_REQ_UNDEFINE, 0). */
void sim_define(struct sim *s,
                unsigned i,
                unsigned a,
                const struct baton_app_config *def);
/* Live membership: node i is asked to add node `who` (named
 * sim_names[who], of kind `kind`) or to remove it (what:
 * BATON_REQ_MEMBER_ADD or _REMOVE). Returns the core's answer,
 * fx->member_result, or BATON_ESTATE if node i is down. */
int sim_member_request(struct sim *s, unsigned i, unsigned what,
                       unsigned who, unsigned kind);
/* Node i is in the cluster: up, not removed, and a member of the newest
 * list any up node holds. */
bool sim_in_cluster(const struct sim *s, unsigned i);

/* An operator verb on node i (batonctl move, disable, standby...):
 * kind is enum baton_admin_kind, about app a or node `node`. Returns
 * its id for sim_admin_code (0: node i is down). */
#define SIM_ADMIN_MAX (64)
uint64_t sim_admin(struct sim *s, unsigned i, unsigned kind, unsigned a,
                   unsigned node);
/* A verb's answer (enum baton_admin_code), -1 while under way or
 * forgotten (beyond the last SIM_ADMIN_MAX). */
int sim_admin_code(const struct sim *s, uint64_t id);
/* Fails the run unless every verb was answered whose node is up in the
 * life it was asked in. */
void sim_admin_final(struct sim *s);
/* How many times app a was started, cluster-wide, so far. */
uint64_t sim_starts(const struct sim *s, unsigned a);
/* Quorum apps: how many instances the cores killed at lease end (KILL),
 * and how many the modelled shim did (sim_config.shim). */
uint64_t sim_kills(const struct sim *s);
uint64_t sim_shim_kills(const struct sim *s);

/* Names (sim_names.c): endpoint ep (0-2) of node i writes name
 * "n<name>" (0-9); a call or send from node i to "n<name>". */
uint64_t sim_name_write(struct sim *s, unsigned i, unsigned kind,
                        unsigned ep, unsigned name, unsigned resolver);
uint64_t sim_call(struct sim *s, unsigned i, unsigned name,
                  bool wants_reply);
/* A write's or a call's result code, -1 while under way. */
int sim_write_code(const struct sim *s, uint64_t id);
int sim_call_code(const struct sim *s, uint64_t id);
/* How many answers came for calls already answered (dropped, as a
 * driver drops them). */
uint64_t sim_calls_answered_again(const struct sim *s);
/* How many times node i told an endpoint it lost "n<name>" for reason. */
unsigned sim_names_lost(const struct sim *s, unsigned i, unsigned name,
                        unsigned reason);
/* From now on, writes and calls issued must finish by sim_names_final. */
void sim_names_must_finish(struct sim *s, bool on);
/* Fails the run unless every write and call that had to finish did, and
 * every endpoint holds exactly the names it was told it holds. */
void sim_names_final(struct sim *s);
void sim_names_stats(const struct sim *s, uint64_t *writes, uint64_t *calls,
                     uint64_t *calls_ok, uint64_t *lost);

/* Inspection. */
const struct baton_node *sim_node(const struct sim *s, unsigned i);
/* For checker self-tests only: lets a test break a node on purpose. */
struct baton_node *sim_node_mut(struct sim *s, unsigned i);
bool sim_up(const struct sim *s, unsigned i); /* running and not paused */
bool sim_failed(const struct sim *s);
const char *sim_failure(const struct sim *s);
uint64_t sim_steps(const struct sim *s);
uint64_t sim_rejected(const struct sim *s); /* garbage rejected so far */
/* Links closed on the cores' requests. */
uint64_t sim_resets(const struct sim *s);
/* Quorum mode: grant-table snapshots the nodes took, and installed
 * (sent by a leader to a follower that lacked compacted entries). */
void sim_quorum_stats(const struct sim *s,
                      uint64_t *taken,
                      uint64_t *installed);
/* Quorum names (quorum.md §6): endpoint ep (0-2) of node i writes
 * quorum name "q<name>" (kind BATON_NAME_REGISTER or UNREGISTER).
 * Checked: an OK register is in the committed table at once, an OK
 * unregister no longer; every node's lease read (baton_node_qwhereis,
 * each step) answers from a table as of the highest committed index,
 * never a stale holder. Returns the write's id (0: node down). */
uint64_t sim_qname_write(struct sim *s,
                         unsigned i,
                         unsigned kind,
                         unsigned ep,
                         unsigned name);
/* OK answers to quorum name writes, and lease reads answered. */
void sim_qname_stats(const struct sim *s, uint64_t *acked, uint64_t *reads);
/* The network lets a and b talk (no block either way). */
bool sim_connected(const struct sim *s, unsigned a, unsigned b);

/* Liveness: every fully connected group of live nodes has exactly one
 * coordinator, its highest-priority candidate, every other member
 * follows it and holds an equal replica. On false, why says what is not
 * yet so. */
bool sim_converged(const struct sim *s, char *why, size_t why_len);

/* Trace lines are "<ms> <node>: <event>". Returns the index of the first
 * kept line at or after `from` containing every substring of `needle`
 * split on '|', or -1. */
int sim_trace_find(const struct sim *s, int from, const char *needle);
const char *sim_trace_line(const struct sim *s, int i);
int sim_trace_count(const struct sim *s);
/* The node names used in traces: "a", "b", ... */
extern const char *const sim_names[SIM_NODES_MAX];

#endif /* BATON_SIM_H */
