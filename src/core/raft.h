/* Raft for quorum mode (docs/design/quorum.md §2-§4): terms, pre-vote,
 * votes, log replication and commit, sans-IO like the rest of the core.
 *
 * A step takes one event (a tick, a message, a durability confirmation,
 * a proposal) and fills effects: messages to send, at most one write to
 * make durable, and the commit index. Nothing that depends on
 * durability leaves before the driver confirmed it (baton_raft_persisted):
 * a vote is granted, an entry acknowledged and the leader's own log
 * counted towards a majority only once written.
 *
 * Leader stickiness: a voter that heard a leader less than the minimum
 * election timeout ago refuses votes and pre-votes, so a leader whose
 * heartbeat sent at s was acknowledged by a majority knows no other
 * leader exists before s + election_min (its lease: baton_raft_lease_end).
 *
 * Snapshots are the embedding's: it persists its state as of an applied
 * index and says so (baton_raft_snapshot_taken); the log is compacted up
 * to there when it runs short of room, and a proposal that finds it full
 * is refused with BATON_EFULL. A follower that lacks compacted entries
 * is sent the embedding's snapshot (effects.want_snapshot, then
 * baton_raft_send_snapshot) and installs it (effects.install).
 *
 * Not yet: membership changes, leases per app. */
#ifndef BATON_CORE_RAFT_H
#define BATON_CORE_RAFT_H

#include "../util/setup.h"

#include "prng.h"

#define BATON_RAFT_NODES_MAX 32
#define BATON_RAFT_LOG_MAX 256  /* entries held (not yet compacted) */
#define BATON_RAFT_DATA_MAX 256 /* bytes of one entry */
/* Entries per append message: a decoded message holds them inline
 * (baton_msg.u.raft), within the size of its largest body. */
#define BATON_RAFT_BATCH 8
/* The largest snapshot a SNAPSHOT message carries (the embedding's
 * state; wire.md §2.5). */
#define BATON_RAFT_SNAPSHOT_MAX (65536)
#define BATON_RAFT_MSGS_MAX (2 * BATON_RAFT_NODES_MAX)
#define BATON_RAFT_PENDING 64 /* writes awaiting confirmation */

enum baton_raft_role {
    BATON_RAFT_FOLLOWER = 1,
    BATON_RAFT_PRECANDIDATE,
    BATON_RAFT_CANDIDATE,
    BATON_RAFT_LEADER,
};

enum baton_raft_msg_type {
    BATON_RAFT_VOTE = 1, /* a (pre-)vote request */
    BATON_RAFT_VOTE_RESP,
    BATON_RAFT_APPEND, /* entries, or none: a heartbeat */
    BATON_RAFT_APPEND_RESP,
    BATON_RAFT_SNAPSHOT, /* the state as of index; answered as APPEND */
};

struct baton_raft_entry {
    uint64_t term;
    uint32_t len;
    uint8_t data[BATON_RAFT_DATA_MAX];
};

struct baton_raft_msg {
    uint8_t type; /* enum baton_raft_msg_type */
    uint8_t from, to;
    bool pre; /* VOTE / VOTE_RESP: the pre-vote round */
    bool ok;  /* VOTE_RESP: granted; APPEND_RESP: matched */
    uint64_t term;
    /* VOTE: the candidate's last entry. APPEND: the entry before
     * entries. APPEND_RESP: ok: the last index now matching; !ok: a
     * hint, the follower's last index. */
    uint64_t index;
    uint64_t log_term;
    uint64_t commit;  /* APPEND */
    uint64_t sent_ms; /* APPEND: the leader's clock; echoed in the resp */
    uint32_t n_entries;
    const struct baton_raft_entry *entries; /* valid until the next step */
    const uint8_t *data; /* SNAPSHOT: the embedding's state */
    uint32_t len;
};

/* What the driver must make durable (in this order, then confirm with
 * baton_raft_persisted(seq)): term and vote; the log cut after
 * from_index - 1, then entries from_index..from_index+n-1 appended. */
struct baton_raft_write {
    uint64_t seq; /* 0: nothing to write */
    uint64_t term;
    int vote; /* -1: none */
    uint64_t from_index;
    uint32_t n;
    const struct baton_raft_entry *entries; /* valid until the next step */
};

struct baton_raft_effects {
    struct baton_raft_msg msgs[BATON_RAFT_MSGS_MAX];
    unsigned n_msgs;
    struct baton_raft_write write;
    uint64_t commit; /* committed up to here (only grows) */
    /* Leader: bit per node that needs the snapshot (send it with
     * baton_raft_send_snapshot). */
    uint32_t want_snapshot;
    /* Follower: a snapshot arrived. The embedding replaces its state
     * with data (as of index), persists it, then calls
     * baton_raft_snapshot_taken(index): the ack waits for that. */
    struct {
        bool set;
        uint64_t index, term;
        const uint8_t *data;
        uint32_t len;
    } install;
    uint64_t deadline_ms; /* tick by then */
};

struct baton_raft_config {
    unsigned self;
    unsigned n_nodes;
    uint32_t voters;          /* bit per voting node (self included) */
    uint64_t election_min_ms; /* randomised in [min, 2 x min) */
    uint64_t heartbeat_ms;
    uint32_t drift_ppm; /* clock rates differ by at most this */
    /* Entries the log holds before it compacts what the snapshot covers
     * (0: BATON_RAFT_LOG_MAX - BATON_RAFT_BATCH). Small in simulators,
     * to exercise compaction and installs. */
    uint32_t log_room;
};

/* What a node finds on its disk at start. */
struct baton_raft_disk {
    uint64_t term;
    int vote;
    /* The log after the embedding's snapshot (its index and term; 0 and
     * 0 without one): entries[0] is snapshot index + 1. */
    uint64_t snap_index, snap_term;
    uint32_t n;
    const struct baton_raft_entry *entries;
};

struct baton_raft_pending {
    uint64_t seq;
    uint64_t last_index; /* durable up to here once confirmed */
    uint64_t term;
    int vote;
    uint64_t cut_gen; /* cut_gen when written */
};

struct baton_raft {
    struct baton_raft_config cfg;
    struct baton_prng prng;
    uint8_t role;
    int leader; /* -1: none known */
    uint64_t term;
    int vote;
    /* The log: entries[0] is first_index; last index first_index+n-1. */
    struct baton_raft_entry log[BATON_RAFT_LOG_MAX];
    uint64_t first_index;
    uint32_t n;
    uint64_t compacted_term; /* the term of first_index - 1 */
    uint64_t commit;
    uint64_t snap_index; /* the embedding's persisted snapshot */
    /* Durability: what the driver confirmed, and writes in flight. */
    uint64_t durable_index, durable_term;
    int durable_vote;
    uint64_t dirty_from; /* 0: no entries to write */
    bool meta_dirty;
    uint64_t next_seq;
    uint64_t cut_gen; /* bumped whenever the log is cut */
    struct baton_raft_pending pending[BATON_RAFT_PENDING];
    unsigned n_pending;
    /* Answers held until durable: a vote, an append's ack per leader. */
    bool vote_held;
    uint8_t vote_held_to;
    uint64_t vote_held_term;
    bool ack_held;
    uint8_t ack_held_to;
    uint64_t ack_held_term, ack_held_match, ack_held_sent;
    /* Timers. */
    uint64_t now_ms;
    uint64_t election_at;
    uint64_t heard_leader_ms; /* stickiness; 0: never */
    uint64_t heartbeat_at;
    /* Candidate. */
    uint32_t granted;
    /* Leader. */
    uint64_t next[BATON_RAFT_NODES_MAX];
    uint64_t match[BATON_RAFT_NODES_MAX];
    uint64_t acked_sent[BATON_RAFT_NODES_MAX]; /* newest sent_ms acked */
    uint64_t lead_since;
};

int baton_raft_init(struct baton_raft *r,
                    const struct baton_raft_config *cfg,
                    const struct baton_raft_disk *disk,
                    uint64_t seed,
                    uint64_t now_ms,
                    struct baton_raft_effects *fx);
/* Time passed (now_ms never goes back). */
int baton_raft_tick(struct baton_raft *r,
                    uint64_t now_ms,
                    struct baton_raft_effects *fx);
int baton_raft_receive(struct baton_raft *r,
                       uint64_t now_ms,
                       const struct baton_raft_msg *m,
                       struct baton_raft_effects *fx);
/* The write of effects.write.seq is durable. */
int baton_raft_persisted(struct baton_raft *r,
                         uint64_t now_ms,
                         uint64_t seq,
                         struct baton_raft_effects *fx);
/* Appends data as an entry (leader only): its index in *index.
 * Errors: BATON_ESTATE (not the leader), BATON_EINVAL (too long),
 * BATON_EFULL (the log is full: a voter lags). */
int baton_raft_propose(struct baton_raft *r,
                       uint64_t now_ms,
                       const void *data,
                       uint32_t len,
                       uint64_t *index,
                       struct baton_raft_effects *fx);

/* The embedding persisted its state as of committed index: the log may
 * be compacted up to there. */
void baton_raft_snapshot_taken(struct baton_raft *r, uint64_t index);
/* Leader: sends to node `to` the snapshot persisted last (as of the
 * index given to baton_raft_snapshot_taken). */
int baton_raft_send_snapshot(struct baton_raft *r,
                             uint64_t now_ms,
                             unsigned to,
                             const void *data,
                             uint32_t len,
                             struct baton_raft_effects *fx);

/* Are m's fields within what a message may hold (its type, entry count
 * and lengths, pointers where lengths say there are bytes)? For the
 * codec and the node's checks of a received message; whether it makes
 * sense is for baton_raft_receive. */
bool baton_raft_msg_valid(const struct baton_raft_msg *m);

uint64_t baton_raft_last_index(const struct baton_raft *r);
/* The entry at index, or NULL if compacted or beyond the log. */
const struct baton_raft_entry *baton_raft_entry_at(const struct baton_raft *r,
                                                   uint64_t index);
/* A leader: the time (its clock) before which no other leader can be
 * elected, from the heartbeats a majority acknowledged; 0 otherwise. */
uint64_t baton_raft_lease_end(const struct baton_raft *r);

#endif /* BATON_CORE_RAFT_H */
