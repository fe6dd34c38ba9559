/* The node's configuration file (INI): [node], [cluster] and [nodes], read
 * by every node, a libbaton program or batond (docs/config.md). Sections
 * the runtime does not know go to the program's hook: batond's [app]. */
#ifndef BATON_LIB_CONFIG_H
#define BATON_LIB_CONFIG_H

#include "../io/io.h"
#include "../wire/codec.h"

#define BATON_PATH_MAX (4096)
/* sun_path's size: a control socket's path is shorter. */
#define LIB_SOCKET_PATH_MAX (108)
/* A raw list value ([node] sync_nodes_*), and a command ([app] start). */
#define LIB_LIST_MAX (1024)
/* [cluster] names_cap: name table slots (each about 420 bytes, held
 * four times: the replica, the node's own names, a snapshot arriving in
 * parts and the decoder's scratch); at most what a link's write queue
 * holds as one snapshot (wire.md §2.4). */
#define LIB_NAMES_CAP_MAX BATON_MSG_NAMES_CAP_MAX

struct lib_config {
    struct baton_io_config io; /* nodes, self, heartbeat, cookie, apps */
    /* "" = none: a library node serves no control socket unless the file
     * names one; batond puts its default here (docs/config.md). */
    char control_socket[LIB_SOCKET_PATH_MAX];
    /* [node] control_socket_ro: a second socket for lookups only
     * (docs/control.md "Read-only socket"), mode 666, or 660 and group
     * control_gid with control_group = NAME; "" = none. */
    char control_socket_ro[LIB_SOCKET_PATH_MAX];
    bool control_group_set;
    uint32_t control_gid;
    char cookie_file[BATON_PATH_MAX];
    /* [node] state_dir: where batond keeps the files it hands its apps
     * (docs/config.md); "" = its default (src/daemon/supervise.c). */
    char state_dir[BATON_PATH_MAX];
    char listen_host[BATON_ADDR_MAX]; /* "" = this node's own address */
    uint16_t listen_port;
    /* [node] metrics_listen: the Prometheus endpoint (docs/metrics.md);
     * "" = none. An IPv4 or IPv6 literal. */
    char metrics_host[BATON_ADDR_MAX];
    uint16_t metrics_port;
    char self_name[BATON_NAME_MAX + 1];
    int log_level; /* enum baton_log_level */
    /* Boot-time sync (reference §1.3): unset timeout = no wait. */
    uint8_t sync_mandatory[BATON_NODES_MAX];
    uint8_t sync_optional[BATON_NODES_MAX];
    char sync_lists[2][LIB_LIST_MAX]; /* raw: resolved after [nodes] */
    bool sync_timeout_set;
    uint64_t sync_timeout_ms; /* BATON_TIMEOUT_INFINITY = forever */
    void *parsing; /* config.c's state while the file is read */
    /* [nodes] role = witness: votes in quorum mode, holds no app and
     * never coordinates (io.candidate is 0 for it; quorum.md §5). */
    uint8_t witness[BATON_NODES_MAX];
};

/* A key of a section the runtime does not know (section is its whole
 * name, "app web"). Returns 0, or BATON_EINVAL with what is wrong in err
 * (file:line is put in front). */
typedef int (*lib_config_section_fn)(void *user, struct lib_config *cfg,
                                     const char *section, const char *key,
                                     const char *value, char *err,
                                     size_t err_len);

/* Reads and validates FILE, including the cookie file it names. section
 * (may be NULL: such a section is an error) gets the other sections'
 * keys, in file order, and a last call with section NULL once the file
 * is read (its end check). On error writes every problem into err, one
 * line each ("file:line: [section] key: ...", or "file: " for one of the
 * whole file or the cookie file), as much as fits, and returns
 * BATON_EINVAL. A section given twice and a key given twice in one
 * section (but batond's repeatable [app] phase and env) are errors. */
int lib_config_load(struct lib_config *cfg, const char *file,
                    lib_config_section_fn section, void *user, char *err,
                    size_t err_len);

/* The same checks on text (named name in messages), without the cookie
 * file: for the fuzz target (test/fuzz/fuzz_config.c). */
int lib_config_parse(struct lib_config *cfg, const char *name,
                     const char *text, lib_config_section_fn section,
                     void *user, char *err, size_t err_len);

/* For a section hook while FILE is read: the line of the key being
 * handled, and an error at a line (0: the file's) added to the others,
 * e.g. from the end check about a key read earlier. */
int lib_config_line(const struct lib_config *cfg);
void lib_config_error(struct lib_config *cfg, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* batond's control socket when the file names none: /tmp/baton-NAME.sock
 * (docs/config.md); batonctl -c finds it the same way. Errors:
 * BATON_EINVAL (that path is too long; err says so). */
int lib_config_default_socket(struct lib_config *cfg, char *err,
                              size_t err_len);

/* Parses a priority list "a@h1, {b@h2 c@h3}" into rank[BATON_NODES_MAX]
 * (0 = not listed, 1 = first, ...) against cfg's [nodes]. On error
 * writes "[app WHAT] nodes: ..." into err and returns BATON_EINVAL. */
int lib_config_priority(const struct lib_config *cfg, const char *what,
                        const char *list, uint8_t *rank, char *err,
                        size_t err_len);

/* A key of [app NAME] that the node itself needs: the app's entry in
 * cfg->io.apps (the core's app table, part of the config digest), added
 * at its first key (*added) if NAME is 1-31 letters, digits, _ . - and
 * there is room; nodes, failover_timeout, mode, lease_ms and
 * stop_margin_ms (checked together once the file is read: see
 * lib_config_app_mode). For a program's hook (every
 * [app] reader shares it: batond, test/integration/probe.c). Returns 0
 * (taken), 1 (another key: the program's, for app *idx) or BATON_EINVAL
 * (err says why; values of LIB_LIST_MAX bytes or more are refused). */
int lib_config_app_key(struct lib_config *cfg, const char *app,
                       const char *key, const char *value, unsigned *idx,
                       bool *added, char *err, size_t err_len);

/* The round trip a lease renewal is allowed on top of a heartbeat: a
 * LAN's round trip (under 1 ms) and a turn of a busy loop
 * (docs/config.md "Quorum mode"). */
#define LIB_LEASE_RTT_MS (10)

/* Checks an app's mode, lease_ms and stop_margin_ms against each other
 * and [cluster] heartbeat_ms and heartbeat_miss (the election timeout
 * must exceed stop_margin_ms + heartbeat_ms + LIB_LEASE_RTT_MS), and
 * fills in the defaults of a quorum app (docs/config.md "Quorum
 * mode"). Called for every [app] once the file
 * is read, and by baton_app_add(). On error writes "[app NAME] key = value:
 * why (allowed range)" into err and returns BATON_EINVAL. */
int lib_config_app_mode(const struct lib_config *cfg,
                        struct baton_app_config *ac, char *err,
                        size_t err_len);

/* Values: an integer in lo..hi; milliseconds up to a day or "infinity"
 * (BATON_TIMEOUT_INFINITY). */
bool lib_config_u64(const char *v, uint64_t lo, uint64_t hi, uint64_t *out);
bool lib_config_ms(const char *v, uint64_t *out);

/* Splits a command line into argv (quotes '...' and "...", backslash
 * escapes; no shell). Returns the count, or -1 if it is malformed or has
 * more than max - 1 words. argv points into buf. */
int lib_split(const char *cmd, char *buf, size_t buf_len, char **argv,
              int max);

#endif /* BATON_LIB_CONFIG_H */
