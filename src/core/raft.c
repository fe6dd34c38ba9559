/* Raft for quorum mode: see raft.h and docs/design/quorum.md. */
#include "raft.h"

#include <string.h>

#include "../util/error.h"

static uint64_t last_index(const struct baton_raft *r)
{
    return r->first_index + r->n - 1;
}

void baton_raft_snapshot_taken(struct baton_raft *r, uint64_t index)
{
    if (index > r->snap_index && index <= r->commit) {
        r->snap_index = index;
    }
}

uint64_t baton_raft_last_index(const struct baton_raft *r)
{
    return last_index(r);
}

const struct baton_raft_entry *baton_raft_entry_at(const struct baton_raft *r,
                                                   uint64_t index)
{
    if (index < r->first_index || index > last_index(r)) {
        return NULL;
    }
    return &r->log[index - r->first_index];
}

/* The term of the entry at index: 0 before the log; ~0 if unknown
 * (compacted away, beyond the end). */
static uint64_t term_at(const struct baton_raft *r, uint64_t index)
{
    if (index == 0) {
        return 0;
    }
    if (index == r->first_index - 1) {
        return r->compacted_term;
    }
    if (index < r->first_index || index > last_index(r)) {
        return UINT64_MAX;
    }
    return r->log[index - r->first_index].term;
}

/* The log is durable up to here (its own writes, or the snapshot). */
static uint64_t durable_upto(const struct baton_raft *r)
{
    return r->durable_index > r->snap_index ? r->durable_index : r->snap_index;
}

static unsigned n_voters(const struct baton_raft *r)
{
    return (unsigned)__builtin_popcount(r->cfg.voters);
}

static bool majority(const struct baton_raft *r, uint32_t set)
{
    return (unsigned)__builtin_popcount(set & r->cfg.voters) * 2 > n_voters(r);
}

static bool is_voter(const struct baton_raft *r, unsigned node)
{
    return node < 32 && (r->cfg.voters & (1u << node)) != 0;
}

static void arm_election(struct baton_raft *r)
{
    uint64_t e = r->cfg.election_min_ms;

    r->election_at = r->now_ms + e + baton_prng_below(&r->prng, e);
}

static struct baton_raft_msg *msg(struct baton_raft *r,
                                  struct baton_raft_effects *fx,
                                  unsigned to,
                                  uint8_t type)
{
    struct baton_raft_msg *m;

    if (fx->n_msgs >= BATON_RAFT_MSGS_MAX) {
        return NULL; /* dropped: Raft retries everything */
    }
    m = &fx->msgs[fx->n_msgs++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->from = (uint8_t)r->cfg.self;
    m->to = (uint8_t)to;
    m->term = r->term;
    return m;
}

/* ---- durability ------------------------------------------------------ */

static void set_term(struct baton_raft *r, uint64_t term)
{
    if (term > r->term) {
        r->term = term;
        r->vote = -1;
        r->meta_dirty = true;
    }
}

/* Cuts the log after index (entries index+1.. go). */
static void cut_after(struct baton_raft *r, uint64_t index)
{
    if (index >= last_index(r)) {
        return;
    }
    r->n = (uint32_t)(index + 1 - r->first_index);
    r->cut_gen++;
    if (r->durable_index > index) {
        r->durable_index = index;
    }
    /* The write starts at the cut (with nothing after it: the cut). */
    if (r->dirty_from == 0 || r->dirty_from > index + 1) {
        r->dirty_from = index + 1;
    }
}

static void append(struct baton_raft *r,
                   uint64_t term,
                   const uint8_t *data,
                   uint32_t len)
{
    struct baton_raft_entry *e = &r->log[r->n++];

    e->term = term;
    e->len = len;
    memcpy(e->data, data, len);
    if (r->dirty_from == 0) {
        r->dirty_from = last_index(r);
    }
}

/* Drops entries the embedding's snapshot covers, when room is short. A
 * follower that still needs them gets the snapshot. */
static void compact(struct baton_raft *r)
{
    uint64_t upto = r->snap_index < r->commit ? r->snap_index : r->commit;
    uint32_t room = r->cfg.log_room != 0
                        ? r->cfg.log_room
                        : BATON_RAFT_LOG_MAX - BATON_RAFT_BATCH;
    uint32_t k;

    if (r->n < room || upto < r->first_index) {
        return;
    }
    if (upto > last_index(r)) {
        upto = last_index(r);
    }
    k = (uint32_t)(upto - r->first_index + 1);
    r->compacted_term = r->log[k - 1].term;
    memmove(r->log, r->log + k, (r->n - k) * sizeof(r->log[0]));
    r->n -= k;
    r->first_index = upto + 1;
}

/* End of a step: what must be written, as one write. */
static void flush_write(struct baton_raft *r, struct baton_raft_effects *fx)
{
    struct baton_raft_pending *p;
    uint64_t from;

    if (!r->meta_dirty && r->dirty_from == 0) {
        return;
    }
    from = r->dirty_from != 0 ? r->dirty_from : last_index(r) + 1;
    if (from < r->first_index) {
        from = r->first_index;
    }
    fx->write.seq = ++r->next_seq;
    fx->write.term = r->term;
    fx->write.vote = r->vote;
    fx->write.from_index = from;
    fx->write.n =
        from <= last_index(r) ? (uint32_t)(last_index(r) - from + 1) : 0;
    fx->write.entries = fx->write.n > 0 ? &r->log[from - r->first_index] : NULL;
    if (r->n_pending == BATON_RAFT_PENDING) {
        /* The oldest's confirmation will be ignored; a newer one covers
         * it (writes are made in order). */
        memmove(r->pending, r->pending + 1,
                (BATON_RAFT_PENDING - 1) * sizeof(r->pending[0]));
        r->n_pending--;
    }
    p = &r->pending[r->n_pending++];
    p->seq = fx->write.seq;
    p->last_index = last_index(r);
    p->term = r->term;
    p->vote = r->vote;
    p->cut_gen = r->cut_gen;
    r->meta_dirty = false;
    r->dirty_from = 0;
}

/* ---- roles ----------------------------------------------------------- */

static void become_follower(struct baton_raft *r, uint64_t term, int leader)
{
    set_term(r, term);
    r->role = BATON_RAFT_FOLLOWER;
    r->leader = leader;
    r->granted = 0;
    arm_election(r);
}

static void send_append(struct baton_raft *r,
                        struct baton_raft_effects *fx,
                        unsigned to)
{
    struct baton_raft_msg *m;
    uint64_t next = r->next[to];

    if (next < r->first_index) {
        fx->want_snapshot |= 1u << to; /* compacted away */
        return;
    }
    m = msg(r, fx, to, BATON_RAFT_APPEND);
    if (m == NULL) {
        return;
    }
    m->index = next - 1;
    m->log_term = term_at(r, next - 1);
    m->commit = r->commit;
    m->sent_ms = r->now_ms;
    if (next <= last_index(r)) {
        uint64_t n = last_index(r) - next + 1;
        m->n_entries = (uint32_t)(n < BATON_RAFT_BATCH ? n : BATON_RAFT_BATCH);
        m->entries = &r->log[next - r->first_index];
    }
}

static void broadcast_append(struct baton_raft *r,
                             struct baton_raft_effects *fx)
{
    for (unsigned i = 0; i < r->cfg.n_nodes; i++) {
        if (i != r->cfg.self) {
            send_append(r, fx, i);
        }
    }
    r->heartbeat_at = r->now_ms + r->cfg.heartbeat_ms;
}

static void become_leader(struct baton_raft *r, struct baton_raft_effects *fx)
{
    static const uint8_t none[1] = {0};

    r->role = BATON_RAFT_LEADER;
    r->leader = (int)r->cfg.self;
    r->lead_since = r->now_ms;
    for (unsigned i = 0; i < BATON_RAFT_NODES_MAX; i++) {
        r->next[i] = last_index(r) + 1;
        r->match[i] = 0;
        r->acked_sent[i] = 0;
    }
    /* An entry of its own term: earlier terms' entries commit with it
     * (Raft §5.4.2). Empty data: the no-op. */
    if (r->n < BATON_RAFT_LOG_MAX) {
        append(r, r->term, none, 0);
    }
    broadcast_append(r, fx);
}

static void campaign(struct baton_raft *r,
                     struct baton_raft_effects *fx,
                     bool pre)
{
    r->role = pre ? BATON_RAFT_PRECANDIDATE : BATON_RAFT_CANDIDATE;
    r->leader = -1;
    if (!pre) {
        r->term++;
        r->vote = (int)r->cfg.self;
        r->meta_dirty = true;
    }
    /* Its own vote counts once it is durable (a pre-vote at once). */
    r->granted = pre ? 1u << r->cfg.self : 0;
    arm_election(r);
    for (unsigned i = 0; i < r->cfg.n_nodes; i++) {
        struct baton_raft_msg *m;
        if (i == r->cfg.self || !is_voter(r, i)) {
            continue;
        }
        m = msg(r, fx, i, BATON_RAFT_VOTE);
        if (m == NULL) {
            continue;
        }
        m->pre = pre;
        /* A pre-vote asks for the next term without taking it. */
        m->term = pre ? r->term + 1 : r->term;
        m->index = last_index(r);
        m->log_term = term_at(r, last_index(r));
    }
    if (pre && majority(r, r->granted)) {
        campaign(r, fx, false); /* a cluster of one */
    }
}

/* ---- commit ------------------------------------------------------------ */

static void advance_commit(struct baton_raft *r)
{
    uint64_t best = r->commit;

    if (r->role != BATON_RAFT_LEADER) {
        return;
    }
    r->match[r->cfg.self] = durable_upto(r);
    for (uint64_t idx = last_index(r); idx > r->commit; idx--) {
        uint32_t have = 0;
        if (term_at(r, idx) != r->term) {
            break; /* only entries of its own term commit by counting */
        }
        for (unsigned i = 0; i < r->cfg.n_nodes; i++) {
            if (r->match[i] >= idx) {
                have |= 1u << i;
            }
        }
        if (majority(r, have)) {
            best = idx;
            break;
        }
    }
    r->commit = best;
}

/* ---- held answers -------------------------------------------------- */

static void release_held(struct baton_raft *r, struct baton_raft_effects *fx)
{
    if (r->vote_held && r->durable_term == r->vote_held_term &&
        r->durable_vote == (int)r->vote_held_to) {
        struct baton_raft_msg *m =
            msg(r, fx, r->vote_held_to, BATON_RAFT_VOTE_RESP);
        r->vote_held = false;
        if (m != NULL) {
            m->term = r->vote_held_term;
            m->ok = true;
        }
    }
    if (r->ack_held && durable_upto(r) >= r->ack_held_match &&
        r->durable_term >= r->ack_held_term) {
        struct baton_raft_msg *m =
            msg(r, fx, r->ack_held_to, BATON_RAFT_APPEND_RESP);
        r->ack_held = false;
        if (m != NULL) {
            m->term = r->ack_held_term;
            m->ok = true;
            m->index = r->ack_held_match;
            m->sent_ms = r->ack_held_sent;
        }
    }
    /* A candidate's own vote counts once durable. */
    if (r->role == BATON_RAFT_CANDIDATE && r->durable_term == r->term &&
        r->durable_vote == (int)r->cfg.self) {
        r->granted |= 1u << r->cfg.self;
        if (majority(r, r->granted)) {
            become_leader(r, fx);
        }
    }
    advance_commit(r);
}

/* ---- events ---------------------------------------------------------- */

static void begin(struct baton_raft *r,
                  uint64_t now_ms,
                  struct baton_raft_effects *fx)
{
    if (now_ms > r->now_ms) {
        r->now_ms = now_ms;
    }
    fx->n_msgs = 0;
    memset(&fx->write, 0, sizeof(fx->write));
    memset(&fx->install, 0, sizeof(fx->install));
    fx->want_snapshot = 0;
    /* Here, not at the end: the step's messages and write point into
     * the log, and compacting moves its entries (an APPEND built before
     * a compaction in the same step carried the entries that followed
     * the ones it named). */
    compact(r);
}

static void end(struct baton_raft *r, struct baton_raft_effects *fx)
{
    flush_write(r, fx);
    fx->commit = r->commit;
    fx->deadline_ms =
        r->role == BATON_RAFT_LEADER ? r->heartbeat_at : r->election_at;
}

int baton_raft_init(struct baton_raft *r,
                    const struct baton_raft_config *cfg,
                    const struct baton_raft_disk *disk,
                    uint64_t seed,
                    uint64_t now_ms,
                    struct baton_raft_effects *fx)
{
    if (cfg->n_nodes == 0 || cfg->n_nodes > BATON_RAFT_NODES_MAX ||
        cfg->self >= cfg->n_nodes || (cfg->voters & (1u << cfg->self)) == 0 ||
        cfg->election_min_ms == 0 || cfg->heartbeat_ms == 0 ||
        cfg->heartbeat_ms >= cfg->election_min_ms ||
        cfg->log_room > BATON_RAFT_LOG_MAX ||
        (disk != NULL && disk->n > BATON_RAFT_LOG_MAX)) {
        return BATON_EINVAL;
    }
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    baton_prng_seed(&r->prng, seed);
    r->role = BATON_RAFT_FOLLOWER;
    r->leader = -1;
    r->vote = -1;
    r->first_index = 1;
    if (disk != NULL) {
        r->term = disk->term;
        r->vote = disk->vote;
        r->first_index = disk->snap_index + 1;
        r->compacted_term = disk->snap_term;
        r->snap_index = disk->snap_index;
        r->n = disk->n;
        if (disk->n > 0) {
            memcpy(r->log, disk->entries, disk->n * sizeof(r->log[0]));
        }
    }
    /* A snapshot holds only committed entries. */
    r->commit = r->first_index - 1;
    r->durable_index = last_index(r);
    r->durable_term = r->term;
    r->durable_vote = r->vote;
    r->now_ms = now_ms;
    /* A (re)started voter may have acknowledged a leader just before:
     * it votes for no one for a full election timeout (the leader's
     * lease counts on it, raft.h). */
    r->heard_leader_ms = now_ms;
    arm_election(r);
    begin(r, now_ms, fx);
    end(r, fx);
    return 0;
}

int baton_raft_tick(struct baton_raft *r,
                    uint64_t now_ms,
                    struct baton_raft_effects *fx)
{
    begin(r, now_ms, fx);
    if (r->role == BATON_RAFT_LEADER) {
        if (r->now_ms >= r->heartbeat_at) {
            broadcast_append(r, fx);
        }
        /* A leader that no longer hears a majority steps down (check
         * quorum), so a minority leader does not linger. */
        if (r->now_ms >= r->lead_since + 2 * r->cfg.election_min_ms &&
            r->now_ms >= baton_raft_lease_end(r) + r->cfg.election_min_ms) {
            become_follower(r, r->term, -1);
        }
    } else if (r->now_ms >= r->election_at) {
        campaign(r, fx, true);
    }
    end(r, fx);
    return 0;
}

static void on_vote(struct baton_raft *r,
                    const struct baton_raft_msg *m,
                    struct baton_raft_effects *fx)
{
    /* Leader stickiness (raft.h): no vote while a leader is heard, or
     * while this node leads. */
    bool fresh = r->role != BATON_RAFT_LEADER &&
                 r->now_ms >= r->heard_leader_ms + r->cfg.election_min_ms;
    bool up_to_date =
        m->log_term > term_at(r, last_index(r)) ||
        (m->log_term == term_at(r, last_index(r)) && m->index >= last_index(r));
    struct baton_raft_msg *out;

    if (m->pre) {
        /* Granted without changing anything here. A refusal carries
         * this node's own term: a precandidate whose term fell behind
         * (it was away while others campaigned) catches up on it, else
         * voters of a later term would refuse it for ever, even when
         * its log is the one that must win (etcd's pre-vote answers the
         * same way). */
        out = msg(r, fx, m->from, BATON_RAFT_VOTE_RESP);
        if (out != NULL) {
            out->pre = true;
            out->ok = m->term > r->term && up_to_date && fresh;
            out->term = out->ok ? m->term : r->term;
        }
        return;
    }
    if (m->term < r->term || !fresh) {
        out = msg(r, fx, m->from, BATON_RAFT_VOTE_RESP);
        if (out != NULL) {
            out->ok = false;
        }
        return;
    }
    if (m->term > r->term) {
        become_follower(r, m->term, -1);
    }
    if ((r->vote == -1 || r->vote == m->from) && up_to_date) {
        r->vote = m->from;
        r->meta_dirty = true;
        arm_election(r);
        /* Answered once the vote is durable. */
        r->vote_held = true;
        r->vote_held_to = m->from;
        r->vote_held_term = r->term;
        release_held(r, fx);
    } else {
        out = msg(r, fx, m->from, BATON_RAFT_VOTE_RESP);
        if (out != NULL) {
            out->ok = false;
        }
    }
}

static void on_vote_resp(struct baton_raft *r,
                         const struct baton_raft_msg *m,
                         struct baton_raft_effects *fx)
{
    if (m->pre) {
        if (!m->ok && m->term > r->term) {
            become_follower(r, m->term, -1); /* caught up: see on_vote */
            return;
        }
        if (r->role == BATON_RAFT_PRECANDIDATE && m->term == r->term + 1 &&
            m->ok) {
            r->granted |= 1u << m->from;
            if (majority(r, r->granted)) {
                campaign(r, fx, false);
            }
        }
        return;
    }
    if (m->term > r->term) {
        become_follower(r, m->term, -1);
        return;
    }
    if (r->role == BATON_RAFT_CANDIDATE && m->term == r->term && m->ok) {
        r->granted |= 1u << m->from;
        if ((r->granted & (1u << r->cfg.self)) != 0 &&
            majority(r, r->granted)) {
            become_leader(r, fx);
        }
    }
}

/* An append or snapshot: from a stale leader, refused (false); else its
 * sender is this node's leader, heard now. */
static bool from_leader(struct baton_raft *r,
                        const struct baton_raft_msg *m,
                        struct baton_raft_effects *fx)
{
    struct baton_raft_msg *out;

    if (m->term < r->term) {
        out = msg(r, fx, m->from, BATON_RAFT_APPEND_RESP);
        if (out != NULL) {
            out->ok = false;
            out->index = last_index(r);
        }
        return false;
    }
    if (m->term > r->term || r->role != BATON_RAFT_FOLLOWER ||
        r->leader != m->from) {
        become_follower(r, m->term, m->from);
    }
    r->heard_leader_ms = r->now_ms;
    arm_election(r);
    return true;
}

/* Acknowledges m up to match once that is durable; a newer ack replaces
 * an older one. */
static void hold_ack(struct baton_raft *r,
                     const struct baton_raft_msg *m,
                     uint64_t match,
                     struct baton_raft_effects *fx)
{
    r->ack_held = true;
    r->ack_held_to = m->from;
    r->ack_held_term = r->term;
    r->ack_held_match = match;
    r->ack_held_sent = m->sent_ms;
    release_held(r, fx);
}

static void on_append(struct baton_raft *r,
                      const struct baton_raft_msg *m,
                      struct baton_raft_effects *fx)
{
    struct baton_raft_msg *out;
    uint64_t idx;

    if (!from_leader(r, m, fx)) {
        return;
    }
    /* Below what this log still holds, entries are committed, hence the
     * leader's too (log matching): only the rest is compared. */
    if (m->index > last_index(r) || (m->index + 1 >= r->first_index &&
                                     term_at(r, m->index) != m->log_term)) {
        out = msg(r, fx, m->from, BATON_RAFT_APPEND_RESP);
        if (out != NULL) {
            out->ok = false;
            out->index =
                m->index > last_index(r) ? last_index(r) : m->index - 1;
            out->sent_ms = m->sent_ms;
        }
        return;
    }
    idx = m->index;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct baton_raft_entry *e = &m->entries[i];
        idx++;
        if (idx < r->first_index) {
            continue;
        }
        if (idx <= last_index(r)) {
            if (term_at(r, idx) == e->term) {
                continue;
            }
            if (idx <= r->commit) {
                return; /* never: a committed entry differs */
            }
            cut_after(r, idx - 1);
        }
        if (r->n == BATON_RAFT_LOG_MAX) {
            idx--;
            break; /* full: the rest comes again */
        }
        append(r, e->term, e->data, e->len);
    }
    if (m->commit > r->commit) {
        uint64_t c = m->commit < idx ? m->commit : idx;
        if (c > r->commit) {
            r->commit = c;
        }
    }
    hold_ack(r, m, idx, fx);
}

static void on_append_resp(struct baton_raft *r,
                           const struct baton_raft_msg *m,
                           struct baton_raft_effects *fx)
{
    unsigned from = m->from;

    if (m->term > r->term) {
        become_follower(r, m->term, -1);
        return;
    }
    if (r->role != BATON_RAFT_LEADER || m->term != r->term) {
        return;
    }
    if (m->sent_ms > r->acked_sent[from]) {
        r->acked_sent[from] = m->sent_ms;
    }
    if (m->ok) {
        if (m->index > r->match[from]) {
            r->match[from] = m->index;
        }
        if (m->index + 1 > r->next[from]) {
            r->next[from] = m->index + 1;
        }
        advance_commit(r);
        if (r->next[from] <= last_index(r)) {
            send_append(r, fx, from);
        }
    } else {
        uint64_t hint = m->index + 1;
        if (hint < r->next[from]) {
            r->next[from] = hint;
        } else if (r->next[from] > 1) {
            r->next[from]--;
        }
        if (r->next[from] <= r->match[from]) {
            r->next[from] = r->match[from] + 1;
        }
        send_append(r, fx, from);
    }
}

static void on_snapshot(struct baton_raft *r,
                        const struct baton_raft_msg *m,
                        struct baton_raft_effects *fx)
{
    if (!from_leader(r, m, fx)) {
        return;
    }
    if (m->index > r->commit) {
        if (term_at(r, m->index) == m->log_term) {
            /* What follows it here stays (log matching). */
            uint32_t k = (uint32_t)(m->index - r->first_index + 1);
            memmove(r->log, r->log + k, (r->n - k) * sizeof(r->log[0]));
            r->n -= k;
        } else {
            r->n = 0;
            r->cut_gen++;
            if (r->durable_index > m->index) {
                r->durable_index = m->index;
            }
            r->dirty_from = m->index + 1; /* the cut */
        }
        r->first_index = m->index + 1;
        r->compacted_term = m->log_term;
        r->commit = m->index;
        fx->install.set = true;
        fx->install.index = m->index;
        fx->install.term = m->log_term;
        fx->install.data = m->data;
        fx->install.len = m->len;
    }
    /* Durable: the snapshot (snapshot_taken) or, if it was older than
     * this log's commit, the log. */
    hold_ack(r, m, m->index, fx);
}

int baton_raft_send_snapshot(struct baton_raft *r,
                             uint64_t now_ms,
                             unsigned to,
                             const void *data,
                             uint32_t len,
                             struct baton_raft_effects *fx)
{
    struct baton_raft_msg *m;

    begin(r, now_ms, fx);
    if (r->role != BATON_RAFT_LEADER || to >= r->cfg.n_nodes ||
        to == r->cfg.self || r->snap_index + 1 < r->first_index) {
        end(r, fx);
        return r->role != BATON_RAFT_LEADER ? BATON_ESTATE : BATON_EINVAL;
    }
    m = msg(r, fx, to, BATON_RAFT_SNAPSHOT);
    if (m != NULL) {
        m->index = r->snap_index;
        m->log_term = term_at(r, r->snap_index);
        m->commit = r->commit;
        m->sent_ms = r->now_ms;
        m->data = data;
        m->len = len;
    }
    end(r, fx);
    return 0;
}

int baton_raft_receive(struct baton_raft *r,
                       uint64_t now_ms,
                       const struct baton_raft_msg *m,
                       struct baton_raft_effects *fx)
{
    if (m->from >= r->cfg.n_nodes || m->from == r->cfg.self ||
        m->to != r->cfg.self) {
        return BATON_EINVAL;
    }
    begin(r, now_ms, fx);
    switch (m->type) {
    case BATON_RAFT_VOTE:
        on_vote(r, m, fx);
        break;
    case BATON_RAFT_VOTE_RESP:
        on_vote_resp(r, m, fx);
        break;
    case BATON_RAFT_APPEND:
        on_append(r, m, fx);
        break;
    case BATON_RAFT_APPEND_RESP:
        on_append_resp(r, m, fx);
        break;
    case BATON_RAFT_SNAPSHOT:
        on_snapshot(r, m, fx);
        break;
    default:
        end(r, fx);
        return BATON_EINVAL;
    }
    end(r, fx);
    return 0;
}

int baton_raft_persisted(struct baton_raft *r,
                         uint64_t now_ms,
                         uint64_t seq,
                         struct baton_raft_effects *fx)
{
    unsigned k = 0;

    begin(r, now_ms, fx);
    while (k < r->n_pending && r->pending[k].seq <= seq) {
        const struct baton_raft_pending *p = &r->pending[k];
        if (p->cut_gen == r->cut_gen && p->last_index > r->durable_index) {
            r->durable_index = p->last_index;
        }
        r->durable_term = p->term;
        r->durable_vote = p->vote;
        k++;
    }
    memmove(r->pending, r->pending + k,
            (r->n_pending - k) * sizeof(r->pending[0]));
    r->n_pending -= k;
    if (r->durable_index > last_index(r)) {
        r->durable_index = last_index(r);
    }
    release_held(r, fx);
    end(r, fx);
    return 0;
}

int baton_raft_propose(struct baton_raft *r,
                       uint64_t now_ms,
                       const void *data,
                       uint32_t len,
                       uint64_t *index,
                       struct baton_raft_effects *fx)
{
    begin(r, now_ms, fx);
    if (r->role != BATON_RAFT_LEADER) {
        end(r, fx);
        return BATON_ESTATE;
    }
    if (len > BATON_RAFT_DATA_MAX) {
        end(r, fx);
        return BATON_EINVAL;
    }
    compact(r);
    if (r->n == BATON_RAFT_LOG_MAX) {
        end(r, fx);
        return BATON_EFULL;
    }
    append(r, r->term, data, len);
    *index = last_index(r);
    for (unsigned i = 0; i < r->cfg.n_nodes; i++) {
        if (i != r->cfg.self && r->next[i] == *index) {
            send_append(r, fx, i);
        }
    }
    end(r, fx);
    return 0;
}

uint64_t baton_raft_lease_end(const struct baton_raft *r)
{
    uint64_t sent[BATON_RAFT_NODES_MAX];
    unsigned n = 0, need;
    uint64_t e = r->cfg.election_min_ms;

    if (r->role != BATON_RAFT_LEADER) {
        return 0;
    }
    /* The newest send time a majority (itself: now) acknowledged. */
    for (unsigned i = 0; i < r->cfg.n_nodes; i++) {
        if (is_voter(r, i)) {
            sent[n++] = i == r->cfg.self ? r->now_ms : r->acked_sent[i];
        }
    }
    for (unsigned i = 1; i < n; i++) { /* descending */
        uint64_t v = sent[i];
        unsigned j = i;
        while (j > 0 && sent[j - 1] < v) {
            sent[j] = sent[j - 1];
            j--;
        }
        sent[j] = v;
    }
    need = n / 2; /* the (n/2+1)-th largest */
    if (sent[need] == 0 || sent[need] < r->lead_since) {
        return 0;
    }
    return sent[need] + e - e * r->cfg.drift_ppm / 1000000u;
}

bool baton_raft_msg_valid(const struct baton_raft_msg *m)
{
    if (m->type < BATON_RAFT_VOTE || m->type > BATON_RAFT_SNAPSHOT ||
        m->n_entries > BATON_RAFT_BATCH ||
        (m->n_entries > 0 && m->entries == NULL) ||
        m->len > BATON_RAFT_SNAPSHOT_MAX || (m->len > 0 && m->data == NULL)) {
        return false;
    }
    for (uint32_t i = 0; i < m->n_entries; i++) {
        if (m->entries[i].len > BATON_RAFT_DATA_MAX) {
            return false;
        }
    }
    return true;
}
