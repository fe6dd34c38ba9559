/* Simulator internals shared by its files; tests use sim.h only. */
#ifndef BATON_SIM_INTERNAL_H
#define BATON_SIM_INTERNAL_H

#include "sim.h"

enum { EV_DELIVER = 1, EV_LINK_UP, EV_LINK_DOWN, EV_APP, EV_EXPORT,
       EV_REPLY, EV_RST, EV_RETX, EV_DIAL, EV_PERSIST };


struct event {
    uint64_t t;
    uint64_t order; /* FIFO among equal times: determinism */
    uint8_t kind;
    uint8_t node; /* receiver */
    uint8_t peer; /* LINK_*, RST, RETX, DIAL: the peer; DELIVER: sender */
    uint32_t gen;  /* DELIVER, LINK_*, RST, RETX: the connection */
    uint32_t life; /* receiver's life when sent: older lives get nothing */
    uint8_t app;   /* EV_APP: app index, what happened, which instance */
    uint8_t what;
    uint64_t epoch; /* EV_REPLY: the caller's life */
    uint64_t id;    /* EV_REPLY: the call answered; RETX, DIAL: which;
                       PERSIST: the write's seq */
    struct baton_msg *msg; /* DELIVER: owned by the event */
};

/* Name table slots per simulated node: small, so tables fill up too. */
#define SIM_NAMES_CAP (32)

/* What the checker remembers of one node's life, to prove that nothing
 * goes backwards. */
struct shadow {
    baton_epoch epoch;
    uint64_t term_seen;
    baton_inc peer_inc[SIM_NODES_MAX];
    baton_inc state_inc[SIM_NODES_MAX];
    struct baton_stream stream;
    uint64_t applied;
};

/* One end of a TCP connection, with its sending side as the kernel runs
 * it (sim_net.c). */
struct simend {
    bool open;
    uint32_t gen;       /* the connection's id */
    uint32_t peer_life; /* the peer life at the other end */
    uint64_t rx_us;     /* when data last arrived on it */
    /* Sending side. */
    struct baton_msg **q; /* not yet received by the peer, oldest first */
    size_t n_q, cap_q;
    uint64_t last_us;   /* in order: no delivery is due before this */
    uint64_t rto_us;    /* retransmission timer armed with this, or 0 */
    uint64_t timer_id;  /* the armed EV_RETX */
    bool stalled;       /* an RTO fired: new data waits in q */
    bool lost;          /* q's head was sent and lost (not ACK-starved) */
};

/* A node's driver, as the link model sees it: its dial loop and what its
 * core was told about each peer's link. */
struct simdial {
    uint64_t id;         /* the pending EV_DIAL; bumped to cancel it */
    uint64_t t0_us;      /* when the attempt began */
    uint64_t syn_rto_us; /* the next SYN retransmission's delay */
    uint64_t backoff_ms; /* the next redial delay after a failure */
    uint32_t core_gen;   /* the connection the core holds as LINK_UP */
    uint32_t core_life;  /* the peer life on it */
    bool reset;          /* the last close was a reset: report heal time */
    uint32_t rst_gen;    /* the connection it last closed with a RST */
    uint64_t down_us;    /* when the core's link last went down */
};

struct simnode {
    struct baton_node core;
    struct baton_name name_slots[3 * SIM_NAMES_CAP];
    bool up;
    bool paused;
    baton_inc inc;
    uint32_t life;
    uint64_t ended_us;   /* when its last life ended (crash) */
    uint64_t resumed_us; /* when it last resumed from a pause */
    uint64_t deadline_us;
    struct shadow sh;
    struct {
        uint8_t st; /* 0 none, 1 starting, 2 ready, 3 stopping, 4 killed */
        bool hangs;     /* it ignored its STOP: only a kill ends it */
        bool shim_killed; /* the modelled shim killed it (lease end) */
        uint64_t shim_until; /* LEASE: the shim kills it then (node clock) */
        uint64_t epoch;
        uint64_t last_epoch; /* the last token this node started with */
    } inst[BATON_APPS_MAX];
    struct event *held; /* events that reached it while paused */
    size_t n_held, cap_held;
    int64_t rate_ppm; /* its clock runs at 1 + rate_ppm / 1e6 (drift) */
    uint64_t disk_extra_us; /* sim_set_disk_delay */
    /* Quorum mode (sim_quorum.c): its disk survives crashes; writes not
     * yet durable do not. */
    struct sim_disk {
        uint64_t term;
        int vote;
        struct baton_raft_entry *log; /* index i at log[i - 1] */
        uint64_t n, cap;
        struct sim_write *w; /* asked for, not yet durable, in order */
        size_t n_w, cap_w;
        uint64_t free_us; /* writes become durable in order */
        /* The grant table's snapshot, as of snap_index (0: none); the
         * log's entries up to there are covered by it. */
        uint64_t snap_index, snap_term;
        uint8_t snap[BATON_QUORUM_SNAP_MAX];
        uint32_t snap_len;
    } disk;
    /* sim_quorum.c: the grant epochs its table held, per app, in the
     * life grant_life (a new life rebuilds the table from its log). */
    uint64_t grant_seen[BATON_APPS_MAX];
    uint32_t grant_life;
    /* Live membership: the list its driver persisted (members_changed),
     * which its next life starts with (docs/design/membership.md §5). */
    bool has_members;
    struct baton_members members;
    /* The operator settings its driver persisted (apps.md §7): they
     * survive crashes and are loaded at boot. */
    struct baton_settings saved;
    bool has_saved;
};

/* (stream, index) -> state digest after that op, as the coordinator
 * applied it: any replica at the same point must match. */
struct digest_entry {
    struct baton_stream stream;
    uint64_t index;
    uint64_t digest;
    bool used;
};

/* epoch -> the node that claimed it. */
struct claim_entry {
    baton_epoch epoch;
    unsigned node;
    bool used;
};

/* (app, epoch) of every start, to prove tokens are never reused. */
struct start_entry {
    uint64_t key;
    bool used;
};

struct sim {
    struct sim_config cfg;
    struct baton_prng prng;
    uint64_t now_us;
    uint64_t order;
    struct simnode nodes[SIM_NODES_MAX];
    /* end[i][p]: node i's end of its connection to p. */
    struct simend end[SIM_NODES_MAX][SIM_NODES_MAX];
    struct simdial dial[SIM_NODES_MAX][SIM_NODES_MAX];
    uint32_t gen_next;
    uint64_t id_next;
    bool blocked[SIM_NODES_MAX][SIM_NODES_MAX];
    uint32_t drop_ppm, dup_ppm;
    bool reorder;
    uint64_t resets;       /* links closed on the core's request */
    uint64_t delay_min_us, delay_max_us;

    struct event *heap;
    size_t n_heap, cap_heap;

    struct digest_entry *digests;
    size_t cap_digests, n_digests;
    struct claim_entry *claims;
    size_t cap_claims, n_claims;

    struct start_entry *starts;
    size_t cap_starts, n_starts;
    uint64_t starts_of[BATON_APPS_MAX];
    uint64_t kills;      /* KILL effects carried out */
    uint64_t shim_kills; /* instances the modelled shim killed */
    /* Operator verbs (sim_admin): the answer's code by id, -1 while
     * under way. */
    struct {
        uint64_t id;   /* 0: free */
        int code;      /* -1 while under way */
        uint32_t life; /* the asking node's */
        uint8_t node;
    } admin[SIM_ADMIN_MAX]; /* by id % SIM_ADMIN_MAX */
    uint64_t admin_next;
    uint64_t states_delivered;
    struct baton_effects *fx;
    uint64_t steps;
    uint64_t rejected;
    bool failed;
    char failure[512];

    char **lines;
    int n_lines, cap_lines;
    struct sim_names *names; /* sim_names.c */
    /* sim_quorum.c: the leader of each term (node + 1, 0 = none yet),
     * and the term of every committed Raft entry (index i at [i - 1]). */
    uint8_t *leader_of;
    size_t cap_terms;
    uint64_t *committed;
    size_t n_committed, cap_committed;
    uint64_t n_terms; /* entries of leader_of set */
    /* The grant applied at each log index (index i at [i - 1]): app + 1
     * and owner, 0 = none seen yet there. */
    struct sim_grant {
        uint8_t app1, owner;
    } *grant_at;
    size_t cap_grant_at;
    uint64_t quorum_writes;
    uint64_t snaps_taken, snaps_installed;
    /* sim_quorum.c: quorum names (quorum.md §6). The table the
     * committed log builds, applied as entries are first seen
     * committed (the core's apply function on a table of the
     * simulator's), and the writes under way. */
    struct baton_qname qn_truth[BATON_QNAMES_MAX];
    uint32_t qn_count;
    struct sim_qreq {
        uint64_t id;
        uint64_t endpoint;
        baton_inc inc;
        uint32_t life;
        uint8_t node, kind, name;
        bool used;
    } * qreqs;
    size_t n_qreqs, cap_qreqs;
    uint64_t qn_next;
    /* Per committed index (i at [i - 1]): the answer its entry got, and
     * the holders of the names q0-q3 once it was applied. */
    struct sim_qat {
        int code;
        struct sim_qheld {
            bool set;
            uint8_t owner;
            baton_inc inc;
            uint64_t endpoint;
        } h[4];
    } * qn_at;
    size_t cap_qn_at;
    uint64_t qn_acked, qn_reads; /* OK answers; reads answered */
};

void sim__fail(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sim__step(struct sim *s, unsigned i, struct baton_event *ev);
void sim__heap_push(struct sim *s, struct event ev);
struct baton_msg *sim__copy_msg(const struct baton_msg *m);
uint64_t sim__rnd(struct sim *s, uint64_t lo, uint64_t hi);
uint64_t sim__link_delay(struct sim *s, uint64_t lo, uint64_t hi);
void sim__keep_line(struct sim *s, unsigned i, const char *text);

/* sim_net.c: the link model. */
void sim__net_send(struct sim *s, unsigned from, const struct baton_msg *m);
void sim__net_event(struct sim *s, struct event *ev); /* RST, RETX */
void sim__net_deliver(struct sim *s, struct event *ev); /* DELIVER, LINK_*, DIAL */
/* DELIVER to a crashed node: its host answers with a RST. */
void sim__net_orphan(struct sim *s, struct event *ev);
void sim__net_connect(struct sim *s, unsigned a, unsigned b);
void sim__net_crash(struct sim *s, unsigned i);
void sim__net_restart(struct sim *s, unsigned i);
void sim__net_reset(struct sim *s, unsigned i, uint32_t peers);
void sim__net_free(struct sim *s);

/* sim_apps.c */
bool sim__apps_tokens_ok(const struct sim *s, unsigned mask, unsigned a,
                         unsigned runner, char *buf, size_t len);
void sim__apps_trace(struct sim *s, unsigned c, const struct baton_trace *t);

/* sim_names.c */
struct sim_names *sim__names_new(void);
void sim__names_free(struct sim_names *m);
void sim__names_effects(struct sim *s, unsigned i);
void sim__names_reply(struct sim *s, const struct event *ev);

/* Node i's clock (ms) at true time us, and the first true time at which
 * it reads ms (clock drift: sim_config.drift_ppm). */
uint64_t sim__clock_ms(const struct sim *s, unsigned i, uint64_t us);
uint64_t sim__true_us(const struct sim *s, unsigned i, uint64_t ms);

/* sim_quorum.c: the driver's Raft store, and quorum invariants. */
void sim__quorum_write(struct sim *s, unsigned i);
void sim__quorum_persist(struct sim *s, const struct event *ev);
void sim__quorum_crash(struct sim *s, unsigned i);
/* What node i's disk holds, for its boot (valid until its next write). */
void sim__quorum_disk(struct sim *s, unsigned i, struct baton_raft_disk *d);
void sim__quorum_check(struct sim *s, unsigned i);
void sim__quorum_check_apps(struct sim *s);
/* The modelled shim (sim_config.shim) has killed node i's instance of
 * app a: its node's clock reached the lease end last given to it. */
bool sim__shim_dead(const struct sim *s, unsigned i, unsigned a);
void sim__quorum_free(struct sim *s);
/* Quorum names: the ids of their writes carry this bit. */
#define SIM_QNAME_TAG (UINT64_C(1) << 62)
void sim__qname_done(struct sim *s,
                     unsigned i,
                     const struct baton_name_effect *e);

#endif /* BATON_SIM_INTERNAL_H */
