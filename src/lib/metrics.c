/* The node's metrics in the Prometheus text exposition format 0.0.4
 * (docs/metrics.md lists them). Rendered on each scrape from the node's
 * state as it is then: the replica, the core's and the driver's
 * counters, and the node's own (struct lib_metrics). Runs on the node's
 * loop (http.c), so it reads everything without locks. */
#include "../util/setup.h"

#include <ctype.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info: not in POSIX */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib.h"

#ifndef BATON_VERSION_TEXT
#define BATON_VERSION_TEXT "unknown"
#endif

void lib_metrics_app_monitor_failed(struct baton *b, unsigned app)
{
    if (app < BATON_APPS_MAX) {
        b->metrics.monitor_failures[app]++;
    }
}

void lib_metrics_app_event(struct baton *b, unsigned app, unsigned what)
{
    if (app < BATON_APPS_MAX && what == BATON_APP_EV_READY) {
        b->metrics.restarts[app]++;
    }
}

/* ---- the text --------------------------------------------------------- */

struct out {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->failed) {
        return;
    }
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        char *p = realloc(o->buf, o->cap * 2 + (size_t)n);
        if (p == NULL) {
            o->failed = true;
            return;
        }
        o->buf = p;
        o->cap = o->cap * 2 + (size_t)n;
    }
}

/* A label value with \, " and newline escaped, as the format wants. */
static const char *esc(const char *v, char *buf, size_t len)
{
    size_t j = 0;

    for (size_t i = 0; v[i] != '\0' && j + 3 < len; i++) {
        if (v[i] == '\\' || v[i] == '"') {
            buf[j++] = '\\';
            buf[j++] = v[i];
        } else if (v[i] == '\n') {
            buf[j++] = '\\';
            buf[j++] = 'n';
        } else {
            buf[j++] = v[i];
        }
    }
    buf[j] = '\0';
    return buf;
}

static void family(struct out *o,
                   const char *name,
                   const char *type,
                   const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The kernel's smoothed round-trip time of the link to peer, measured
 * from the ACKs of the link's own traffic (heartbeats every
 * heartbeat_ms keep it fresh), in seconds; false without a link. */
static bool link_rtt(const struct baton *b, unsigned peer, double *out)
{
    const uv_tcp_t *tcp = baton_io_link_tcp(&b->io, peer);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    uv_os_fd_t fd;

    if (tcp == NULL || uv_fileno((const uv_handle_t *)tcp, &fd) != 0 ||
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
        return false;
    }
    *out = (double)ti.tcpi_rtt / 1e6;
    return true;
}

static void render_node(struct out *o, struct baton *b)
{
    const struct baton_node *n = &b->io.node;
    const struct baton_io_config *io = &b->cfg.io;
    char e1[2 * BATON_NAME_MAX + 4];
    unsigned up = 0;
    double rtt;

    family(o, "baton_node_info", "gauge",
           "Constant 1, labelled with this node's name and baton's version.");
    put(o, "baton_node_info{node=\"%s\",version=\"%s\"} 1\n",
        esc(b->cfg.self_name, e1, sizeof(e1)), BATON_VERSION_TEXT);
    family(o, "baton_has_coordinator", "gauge",
           "1 if this node follows (or is) a coordinator, else 0.");
    put(o, "baton_has_coordinator %d\n",
        baton_node_coordinator(n) != BATON_NODE_NONE);
    family(o, "baton_is_coordinator", "gauge",
           "1 if this node is its group's coordinator, else 0.");
    put(o, "baton_is_coordinator %d\n", baton_node_is_coordinator(n));
    family(o, "baton_coordinator_changes_total", "counter",
           "Times the coordinator this node follows became another node.");
    put(o, "baton_coordinator_changes_total %" PRIu64 "\n",
        b->metrics.coordinator_changes);
    for (unsigned p = 0; p < io->n_nodes; p++) {
        up += p != io->self && lib_alive(b, p);
    }
    family(o, "baton_peers", "gauge", "Other nodes in the configuration.");
    put(o, "baton_peers %u\n", io->n_nodes - 1);
    family(o, "baton_peers_up", "gauge",
           "Other nodes this node hears (the core's failure detector).");
    put(o, "baton_peers_up %u\n", up);
    family(o, "baton_peer_up", "gauge",
           "1 if this node hears the peer, else 0.");
    for (unsigned p = 0; p < io->n_nodes; p++) {
        if (p != io->self) {
            put(o, "baton_peer_up{peer=\"%s\"} %d\n",
                esc(io->names[p], e1, sizeof(e1)), lib_alive(b, p));
        }
    }
    family(o, "baton_peer_link_rtt_seconds", "gauge",
           "The kernel's smoothed round-trip time of the TCP link to the "
           "peer (peers with a link only).");
    for (unsigned p = 0; p < io->n_nodes; p++) {
        if (p != io->self && link_rtt(b, p, &rtt)) {
            put(o, "baton_peer_link_rtt_seconds{peer=\"%s\"} %.6f\n",
                esc(io->names[p], e1, sizeof(e1)), rtt);
        }
    }
}

static void app_counter(struct out *o,
                        struct baton *b,
                        const char *name,
                        const char *help,
                        const uint64_t *v)
{
    char e1[2 * BATON_APP_NAME_MAX + 4];

    family(o, name, "counter", help);
    for (unsigned i = 0; i < b->cfg.io.n_apps; i++) {
        put(o, "%s{app=\"%s\"} %" PRIu64 "\n", name,
            esc(b->cfg.io.apps[i].name, e1, sizeof(e1)), v[i]);
    }
}

static void render_apps(struct out *o, struct baton *b)
{
    const struct baton_state *st = &b->io.node.state;
    const struct baton_io_config *io = &b->cfg.io;
    char e1[2 * BATON_APP_NAME_MAX + 4], e2[2 * BATON_NAME_MAX + 4];

    family(o, "baton_app_state", "gauge",
           "1 for the app's state in this node's replica, 0 for the "
           "others.");
    for (unsigned i = 0; i < io->n_apps; i++) {
        int k = baton_state_app_find(st, io->apps[i].name);
        unsigned status = k >= 0 ? st->apps[k].status : BATON_APP_FREE;
        for (unsigned s = BATON_APP_IDLE; s < BATON_APP__COUNT; s++) {
            put(o, "baton_app_state{app=\"%s\",state=\"%s\"} %d\n",
                esc(io->apps[i].name, e1, sizeof(e1)), baton_app_status_name(s),
                s == status);
        }
    }
    family(o, "baton_app_owner_epoch", "gauge",
           "The fencing token of the app's current instance (0: none).");
    for (unsigned i = 0; i < io->n_apps; i++) {
        int k = baton_state_app_find(st, io->apps[i].name);
        put(o, "baton_app_owner_epoch{app=\"%s\"} %" PRIu64 "\n",
            esc(io->apps[i].name, e1, sizeof(e1)),
            k >= 0 && st->apps[k].owner != BATON_NODE_NONE ? st->apps[k].epoch
                                                           : 0);
    }
    family(o, "baton_app_owner", "gauge",
           "1, labelled with the node that owns the app (apps with an "
           "owner only).");
    for (unsigned i = 0; i < io->n_apps; i++) {
        int k = baton_state_app_find(st, io->apps[i].name);
        if (k >= 0 && st->apps[k].owner < io->n_nodes) {
            put(o, "baton_app_owner{app=\"%s\",node=\"%s\"} 1\n",
                esc(io->apps[i].name, e1, sizeof(e1)),
                esc(io->names[st->apps[k].owner], e2, sizeof(e2)));
        }
    }
    app_counter(o, b, "baton_app_failovers_total",
                "Failovers of the app this node saw (a new owner started "
                "it because the old one was lost).",
                b->metrics.failovers);
    app_counter(o, b, "baton_app_takeovers_total",
                "Takeovers of the app this node saw (it moved to a better "
                "or requested node).",
                b->metrics.takeovers);
    app_counter(o, b, "baton_app_restarts_total",
                "Local restarts of the app's instance here that got ready "
                "again.",
                b->metrics.restarts);
    app_counter(o, b, "baton_app_monitor_failures_total",
                "Failed health monitor checks of the app's instance here.",
                b->metrics.monitor_failures);
}

static void render_wire(struct out *o, struct baton *b)
{
    const struct baton_node *n = &b->io.node;
    static const char *const reasons[] = {
#define REASON(name, text) #name,
        BATON_REJECT_MAP(REASON)
#undef REASON
    };
    char token[32];

    family(o, "baton_names", "gauge",
           "Global names in this node's replica of the name table.");
    put(o, "baton_names %" PRIu32 "\n", n->names.count);
    family(o, "baton_names_held", "gauge",
           "Global names held by endpoints of this node.");
    put(o, "baton_names_held %" PRIu32 "\n", n->names.owned[b->cfg.io.self]);
    family(o, "baton_rejected_messages_total", "counter",
           "Authenticated messages the core rejected, by reason.");
    for (unsigned r = 0; r < BATON_REJECT__COUNT; r++) {
        size_t j = 0;
        for (; reasons[r][j] != '\0' && j + 1 < sizeof(token); j++) {
            token[j] = (char)tolower((unsigned char)reasons[r][j]);
        }
        token[j] = '\0';
        put(o, "baton_rejected_messages_total{reason=\"%s\"} %" PRIu64 "\n",
            token, n->counters.rejected[r]);
    }
    family(o, "baton_rejected_frames_total", "counter",
           "Malformed or oversized frames (each closed its link).");
    put(o, "baton_rejected_frames_total %" PRIu64 "\n", b->io.stats.bad_frames);
    family(o, "baton_auth_failures_total", "counter",
           "Links that failed the cookie handshake or a frame's "
           "authentication.");
    put(o, "baton_auth_failures_total %" PRIu64 "\n",
        b->io.stats.auth_failures);
}

char *lib_metrics_render(struct baton *b, size_t *len)
{
    struct out o = {malloc(8192), 0, 8192, false};

    if (o.buf == NULL) {
        return NULL;
    }
    render_node(&o, b);
    render_apps(&o, b);
    render_wire(&o, b);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}
