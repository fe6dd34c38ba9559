/* Declarations shared by the core's modules; not part of any API. */
#ifndef BATON_CORE_INTERNAL_H
#define BATON_CORE_INTERNAL_H

#include "node.h"

/* Effects (node.c). */
struct baton_trace *baton__trace(struct baton_node *n, unsigned type,
                                 unsigned peer);
/* Fills the common header of m (from, incarnations, seq, status) and
 * queues it for peer `to`. */
void baton__send(struct baton_node *n, unsigned to, struct baton_msg *m);
void baton__send_heartbeat(struct baton_node *n, unsigned to);
void baton__status_fill(const struct baton_node *n, struct baton_status *st);
/* Counts and traces a rejected message (reason: enum baton_reject). */
void baton__reject(struct baton_node *n, const struct baton_msg *m,
                   int reason);

/* Membership and failure detection (membership.c). */
void baton__peer_heard(struct baton_node *n, unsigned p);
void baton__peer_down(struct baton_node *n, unsigned p, unsigned reason);
void baton__peer_new_life(struct baton_node *n, unsigned p, baton_inc inc);
void baton__peer_status(struct baton_node *n, unsigned p,
                        const struct baton_msg *m);
void baton__detect_failures(struct baton_node *n);
/* Live membership (membership.c, docs/design/membership.md). */
bool baton__slot_used(const struct baton_node *n, unsigned p);
int baton__members_init(struct baton_node *n,
                        const struct baton_members *given);
void baton__members_link_up(struct baton_node *n, unsigned p);
bool baton__members_gate(struct baton_node *n, const struct baton_msg *m);
void baton__members_on_msg(struct baton_node *n, const struct baton_msg *m);
void baton__members_request(struct baton_node *n,
                            const struct baton_event *ev);
/* The earliest time detect_failures has something to do after d. */
uint64_t baton__detect_deadline(const struct baton_node *n, uint64_t d);

/* Election (election.c). */
void baton__set_role(struct baton_node *n, unsigned role, unsigned target);
void baton__evaluate(struct baton_node *n);
void baton__join_retry(struct baton_node *n);

/* Replication (replication.c). */
static inline uint32_t baton__names_part(const struct baton_node_config *c)
{
    return c->names_part != 0 ? c->names_part : BATON_SNAPSHOT_PART_NAMES;
}
void baton__submit(struct baton_node *n, const struct baton_op *op);
void baton__flush(struct baton_node *n);
void baton__send_snapshots(struct baton_node *n);
void baton__send_join(struct baton_node *n);
void baton__on_join(struct baton_node *n, const struct baton_msg *m);
void baton__on_snapshot(struct baton_node *n, const struct baton_msg *m);
void baton__on_op(struct baton_node *n, const struct baton_msg *m);
void baton__on_resync(struct baton_node *n, const struct baton_msg *m);
void baton__check_tail(struct baton_node *n, unsigned p);
void baton__member_gone(struct baton_node *n, unsigned p);

/* Apps (apps.c). */
void baton__apps_init(struct baton_node *n);
int baton__apps_event(struct baton_node *n, const struct baton_event *ev);
void baton__apps_on_report(struct baton_node *n, const struct baton_msg *m);
void baton__apps_member(struct baton_node *n, unsigned p, bool joined);
void baton__apps_on_state(struct baton_node *n, const struct baton_msg *m);
void baton__apps_report(struct baton_node *n, bool force);
void baton__apps_step(struct baton_node *n);
uint64_t baton__apps_deadline(const struct baton_node *n);

/* Operator settings and verbs (settings.c). */
void baton__settings_init(struct baton_node *n,
                          const struct baton_settings *loaded);
int baton__admin_event(struct baton_node *n, const struct baton_event *ev);
void baton__settings_on_msg(struct baton_node *n, const struct baton_msg *m);
void baton__settings_step(struct baton_node *n);
/* Sends this node's operator settings to peer `to`. */
void baton__settings_send(struct baton_node *n, unsigned to);
uint64_t baton__settings_deadline(const struct baton_node *n);
/* Names and calls (registry.c). */
int baton__apply(struct baton_node *n, const struct baton_op *op);
/* baton_node_replica_digest, cached for a trace per applied op. */
uint64_t baton__replica_digest(struct baton_node *n);
void baton__names_install(struct baton_node *n, const struct baton_names *in);
int baton__names_event(struct baton_node *n, const struct baton_event *ev);
void baton__names_on_msg(struct baton_node *n, const struct baton_msg *m);
void baton__names_absorb(struct baton_node *n, unsigned p, baton_inc inc,
                         const struct baton_names *theirs);
void baton__names_changed(struct baton_node *n);
void baton__names_step(struct baton_node *n);
uint64_t baton__names_deadline(const struct baton_node *n);

/* Quorum mode (quorum.c). */
int baton__quorum_init(struct baton_node *n, uint64_t seed);
int baton__quorum_event(struct baton_node *n, const struct baton_event *ev);
void baton__quorum_on_msg(struct baton_node *n, const struct baton_msg *m);
uint64_t baton__quorum_deadline(const struct baton_node *n);
/* A local endpoint's quorum name write (quorum.md §6), checked by
 * registry.c: proposed if this node leads, else UNAVAILABLE. */
void baton__quorum_name(struct baton_node *n, const struct baton_name_req *q);
/* registry.c: the DONE effect of name write id (epoch: a quorum name
 * write's committed entry, 0 if none). */
void baton__name_done(struct baton_node *n,
                      uint64_t id,
                      unsigned code,
                      uint64_t epoch);
/* apps.c's placement rule (reference §1.4), shared with quorum.c's
 * grants: the node app e goes to, never `skip`; BATON_NODE_NONE if none
 * is eligible. */
unsigned baton__apps_place(const struct baton_node *n,
                           const struct baton_state_app *e, unsigned skip);
/* The latest report of node's current life about app `name`, or NULL. */
const struct baton_app_report *baton__apps_report_of(
    const struct baton_node *n, unsigned node, const char *name);
/* Quorum apps (quorum.c decides, under a lease): starts this node's
 * instance of cfg.apps[i] under epoch, or stops it (start false). */
void baton__apps_local(struct baton_node *n, unsigned i, bool start,
                       uint64_t epoch);
/* Quorum apps' leases: before anything else in a step (a node woken
 * from a pause stops at once), and after the step's work. */
void baton__quorum_leases(struct baton_node *n);
/* Quorum apps' self-fencing (KILL at lease end, LEASE to the driver):
 * once per step, at its end, on the instances still there after the
 * step's events (an instance that ended in this step needs neither). */
void baton__quorum_fence(struct baton_node *n);

static inline bool baton__is_candidate(const struct baton_node *n,
                                       unsigned id)
{
    return id < n->cfg.n_nodes && n->cfg.candidate[id] != 0;
}

#endif /* BATON_CORE_INTERNAL_H */
