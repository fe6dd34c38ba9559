/* Names and formatting of trace events, rejection reasons and roles. */
#include "../util/setup.h"

#include <inttypes.h>
#include <stdio.h>

#include "node.h"

const char *baton_trace_name(unsigned type)
{
    static const char *const names[] = {
        "?",
#define BATON__TRACE_NAME(name, text) text,
        BATON_TRACE_MAP(BATON__TRACE_NAME)
#undef BATON__TRACE_NAME
    };
    return type < BATON_ARRAY_LEN(names) ? names[type] : "?";
}

const char *baton_reject_name(unsigned reason)
{
    static const char *const names[] = {
#define BATON__REJECT_NAME(name, text) text,
        BATON_REJECT_MAP(BATON__REJECT_NAME)
#undef BATON__REJECT_NAME
    };
    return reason < BATON_ARRAY_LEN(names) ? names[reason] : "?";
}

static const char *node_name(unsigned id, const char *const *names,
                             char *buf, size_t len)
{
    if (id == BATON_NODE_NONE) {
        return "-";
    }
    if (names != NULL) {
        return names[id];
    }
    snprintf(buf, len, "%u", id);
    return buf;
}

/* Epochs print as term.claimer, e.g. "3.a". */
static const char *epoch_str(uint64_t e, const char *const *names,
                             char *buf, size_t len)
{
    char nb[16];

    if (e == 0) {
        return "0";
    }
    snprintf(buf, len, "%" PRIu64 ".%s", baton_epoch_term(e),
             node_name(baton_epoch_node(e), names, nb, sizeof(nb)));
    return buf;
}

/* App traces (apps.c enum app_trace): reason says which. */
static int format_app(char *buf, size_t len, const struct baton_trace *t,
                      const char *const *names)
{
    char nb[16];
    char fb[16];
    const char *node = node_name(t->peer, names, nb, sizeof(nb));

    switch (t->reason) {
    case 1: { /* decided */
        unsigned status = (unsigned)t->b;
        unsigned type = (unsigned)(t->c >> 8);
        unsigned from = (unsigned)(t->c & 0xff);
        if (status == BATON_APP_STARTING || status == BATON_APP_TAKEOVER) {
            return snprintf(buf, len,
                            "app %s: %s on %s (%s%s%s) epoch=%" PRIu64,
                            t->app, baton_app_status_name(status), node,
                            baton_start_type_name(type),
                            from == BATON_NODE_NONE ? "" : " from ",
                            from == BATON_NODE_NONE
                                ? ""
                                : node_name(from, names, fb, sizeof(fb)),
                            t->a);
        }
        return snprintf(buf, len, "app %s: %s%s%s epoch=%" PRIu64, t->app,
                        baton_app_status_name(status),
                        t->peer == BATON_NODE_NONE ? "" : " on ",
                        t->peer == BATON_NODE_NONE ? "" : node, t->a);
    }
    case 2: {
        static const char *const state[] = {
            "", ", with its state", ", without state: the export failed",
            ", without state: none arrived in time"};
        return snprintf(buf, len,
                        "app %s: start here (%s%s%s%s) epoch=%" PRIu64,
                        t->app, baton_start_type_name((unsigned)t->b),
                        t->peer == BATON_NODE_NONE ? "" : " from ",
                        t->peer == BATON_NODE_NONE ? "" : node,
                        state[t->c < 4 ? t->c : 0], t->a);
    }
    case 3:
        return snprintf(buf, len, "app %s: stop here (%snow %s%s%s)", t->app,
                        t->c == BATON_STOPFX_CONFLICT ? "conflict: " : "",
                        baton_app_status_name((unsigned)t->b),
                        t->peer == BATON_NODE_NONE ? "" : " on ",
                        t->peer == BATON_NODE_NONE ? "" : node);
    case 4:
        return snprintf(buf, len, "app %s: running here epoch=%" PRIu64,
                        t->app, t->a);
    case 5:
        return snprintf(buf, len,
                        "app %s: failed here (no restarts left) epoch=%" PRIu64,
                        t->app, t->a);
    case 6:
        return snprintf(buf, len, "app %s: ended normally epoch=%" PRIu64,
                        t->app, t->a);
    case 8:
        return snprintf(buf, len,
                        "app %s: token here epoch=%" PRIu64 " (was %" PRIu64
                        ")",
                        t->app, t->a, t->b);
    case 7:
        return snprintf(buf, len,
                        "app %s: refused: its node list, failover_timeout "
                        "or mode (with lease_ms, stop_margin_ms) differs "
                        "between nodes; it runs nowhere until every node's "
                        "config agrees",
                        t->app);
    case 9:
        return snprintf(buf, len,
                        "app %s: its node list, failover_timeout or mode "
                        "differs between nodes: kept %s%s%s unmoved until "
                        "every node's config agrees (nothing new is placed)",
                        t->app, baton_app_status_name((unsigned)t->b),
                        t->peer == BATON_NODE_NONE ? "" : " on ",
                        t->peer == BATON_NODE_NONE ? "" : node);
    case 10:
        return snprintf(buf, len, "app %s: defined here", t->app);
    case 11:
        return snprintf(buf, len, "app %s: removed here%s", t->app,
                        t->b == BATON_LOCAL_IDLE
                            ? ""
                            : " (its instance here moves away first)");
    case 12: /* quorum.c: the lease ended before the instance stopped */
        return snprintf(buf, len,
                        "app %s: killed here: lease ended at %" PRIu64
                        " epoch=%" PRIu64,
                        t->app, t->b, t->a);
    default:
        return snprintf(buf, len, "app %s: ?", t->app);
    }
}

int baton_trace_format(char *buf, size_t len, const struct baton_trace *t,
                       const char *const *names)
{
    static const char *const down[] = {"?", "link closed", "silent",
                                       "restarted", "removed"};
    static const char *const members[] = {"?", "adopted", "changed",
                                          "this node was removed from",
                                          "not a member:", "differs:"};
    static const char *const synced[] = {"?", "welcomed", "heard all",
                                         "window passed"};
    char pb[16];
    char eb[64];
    const char *peer = node_name(t->peer, names, pb, sizeof(pb));

    switch (t->type) {
    case BATON_TRACE_BOOT:
        return snprintf(buf, len, "boot inc=%" PRIu64, t->a);
    case BATON_TRACE_SYNCED:
        return snprintf(buf, len, "synced (%s)",
                        synced[t->reason < 4 ? t->reason : 0]);
    case BATON_TRACE_PEER_UP:
        return snprintf(buf, len, "peer-up %s inc=%" PRIu64, peer, t->a);
    case BATON_TRACE_PEER_DOWN:
        return snprintf(buf, len, "peer-down %s (%s, silent %" PRIu64 "ms)",
                        peer, down[t->reason < 5 ? t->reason : 0], t->b);
    case BATON_TRACE_PEER_RESTARTED:
        return snprintf(buf, len, "peer-restarted %s inc=%" PRIu64, peer,
                        t->b);
    case BATON_TRACE_ROLE:
        if (t->role == BATON_ROLE_COORDINATOR) {
            return snprintf(buf, len, "coordinator epoch=%s",
                            epoch_str(t->a, names, eb, sizeof(eb)));
        }
        if (t->role == BATON_ROLE_SEEKING) {
            return snprintf(buf, len, "seeking");
        }
        return snprintf(buf, len, "%s %s epoch=%s",
                        t->role == BATON_ROLE_JOINING ? "joining"
                                                      : "follower of",
                        peer, epoch_str(t->a, names, eb, sizeof(eb)));
    case BATON_TRACE_APPLIED:
        return snprintf(buf, len, "applied %" PRIu64 " %s %s%s%s", t->a,
                        baton_op_type_name((unsigned)t->b), peer,
                        t->app[0] != '\0' ? " " : "", t->app);
    case BATON_TRACE_SNAPSHOT:
        return snprintf(buf, len, "snapshot from %s index=%" PRIu64, peer,
                        t->a);
    case BATON_TRACE_REJECTED:
        return snprintf(buf, len, "rejected %s from %s: %s",
                        baton_msg_type_name((unsigned)t->a), peer,
                        baton_reject_name(t->reason));
    case BATON_TRACE_TILT:
        return snprintf(buf, len, "tilt (no step for %" PRIu64 "ms)", t->a);
    case BATON_TRACE_APP:
        return format_app(buf, len, t, names);
    case BATON_TRACE_RAFT: {
        static const char *const roles[] = {"?", "follower", "precandidate",
                                            "candidate", "leader"};
        if (t->app[0] != '\0') {
            /* A committed grant applied (quorum.c): peer is the owner. */
            return snprintf(buf, len,
                            "raft grant %s to %s epoch=%" PRIu64
                            " term=%" PRIu64,
                            t->app, peer, t->c, t->a);
        }
        return snprintf(buf, len,
                        "raft %s term=%" PRIu64 " leader=%s commit=%" PRIu64,
                        roles[t->role < 5 ? t->role : 0], t->a, peer, t->b);
    }
    case BATON_TRACE_MEMBERS:
        return snprintf(buf, len,
                        "members %s %s version=%" PRIu64 " ours=%" PRIu64,
                        members[t->reason < 6 ? t->reason : 0], peer, t->a,
                        t->b);
    default:
        return snprintf(buf, len, "?");
    }
}
