/* The node's event stream: what changed in its view of the cluster (apps
 * placed, started, stopped, failed over, taken over; nodes up and down,
 * the coordinator; names registered, unregistered, moved), found by
 * comparing the replica after every loop turn with what it was, counted
 * in the metrics (metrics.h) and sent to the control sessions that
 * subscribed (docs/control.md "Cluster events"). */
#ifndef BATON_LIB_EVENTS_H
#define BATON_LIB_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../core/names.h"
#include "../core/node.h"

struct baton;
struct lib_session;

/* A session's subscription: a bit per kind (lib_session.events). */
#define LIB_EV_APP (1u << 0)
#define LIB_EV_NODE (1u << 1)
#define LIB_EV_NAME (1u << 2)
#define LIB_EV_ALL (LIB_EV_APP | LIB_EV_NODE | LIB_EV_NAME)
/* A subscriber that leaves this much output unread gets an "overflow"
 * event and its subscription ends (well below LIB_CTL_OUT_MAX, which
 * would disconnect it): it can subscribe again and read the state anew. */
#define LIB_EV_OUT_MAX (1u << 20)

/* One app as last seen. */
struct lib_ev_app {
    uint8_t status; /* enum baton_app_status, FREE: not in the state */
    uint8_t type;
    uint8_t owner;
    uint8_t from;
    uint64_t epoch;
};

struct lib_events {
    bool seen; /* the first look took the baseline, silently */
    uint8_t coord;
    bool alive[BATON_NODES_MAX];
    struct lib_ev_app apps[BATON_APPS_MAX];
    /* The replica's app table at the last look: one memcmp tells that
     * nothing changed, the usual case of a loop turn (about 1.8 KB). */
    struct baton_state_app state_apps[BATON_APPS_MAX];
    /* The name table as last seen, kept only while a session wants name
     * events (it costs a copy of the table): allocated at the first
     * such subscription, retaken silently when it went stale. */
    struct baton_name *slots;
    struct baton_names names;
    bool names_fresh;
    uint64_t names_digest;
    uint32_t names_count;
};

/* After every loop turn: compares the replica with the last look,
 * counts and sends what changed. */
void lib_events_observe(struct baton *b);
/* {"op":"subscribe","events":[...]} of session s (answered). */
void lib_events_subscribe(struct lib_session *s,
                          const cJSON *req,
                          const cJSON *cid);
void lib_events_free(struct baton *b);

#endif /* BATON_LIB_EVENTS_H */
