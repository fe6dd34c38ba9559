/* The node's metrics: its counters, and their Prometheus text
 * exposition (docs/metrics.md). The counters live here, in one struct of
 * the node; they are bumped where their events happen (events.c, apps.c)
 * and rendered by metrics.c for the HTTP endpoint (http.c). */
#ifndef BATON_LIB_METRICS_H
#define BATON_LIB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <baton/baton.h>

struct baton;

/* Counters only grow; they count what this node saw since it started
 * (a Prometheus counter resets when its process restarts). */
struct lib_metrics {
    /* The coordinator this node follows became another node (or the
     * first one after none). */
    uint64_t coordinator_changes;
    /* Per app (the node's app table index): failovers and takeovers seen
     * in this node's replica (a new owner's start of type failover or
     * takeover), local restarts that got ready again, failed monitor
     * checks (issue 14 item 1 bumps them). */
    uint64_t failovers[BATON_APPS_MAX];
    uint64_t takeovers[BATON_APPS_MAX];
    uint64_t restarts[BATON_APPS_MAX];
    uint64_t monitor_failures[BATON_APPS_MAX];
};

/* Bumps app's counter (index in the node's app table; an index out of
 * range is ignored): a failed health monitor check; a supervised
 * instance's news (lib_app_event), where READY is a restarted instance
 * ready again (a start's first READY is baton_app_started()). */
void lib_metrics_app_monitor_failed(struct baton *b, unsigned app);
void lib_metrics_app_event(struct baton *b, unsigned app, unsigned what);

/* The exposition text (format 0.0.4) of b's metrics. Returns owned
 * (free with free()), its length in *len; NULL when out of memory. */
char *lib_metrics_render(struct baton *b, size_t *len);

#endif /* BATON_LIB_METRICS_H */
