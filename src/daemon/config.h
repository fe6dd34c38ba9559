/* batond's [app] sections (docs/config.md "Apps"), read beside the node's
 * own sections (src/lib/config.h). */
#ifndef BATON_DAEMON_CONFIG_H
#define BATON_DAEMON_CONFIG_H

#include "../lib/config.h"
#include "../lib/control.h"

#define BATOND_CMD_MAX LIB_LIST_MAX
#define BATOND_PHASES_MAX (8)
#define BATOND_ENV_MAX (32)

enum batond_ready { BATOND_READY_SPAWN = 0, BATOND_READY_NOTIFY,
                    BATOND_READY_COMMAND };
enum batond_restart { BATOND_RESTART_PERMANENT = 0, BATOND_RESTART_TRANSIENT,
                      BATOND_RESTART_TEMPORARY };

/* One [app NAME] section. The core gets name, rank and failover timeout
 * (node.io.apps); batond keeps the rest. */
struct batond_app {
    char start[BATOND_CMD_MAX];   /* argv, split like a shell, no shell */
    char stop[BATOND_CMD_MAX];    /* "" = SIGTERM to the process group */
    uint64_t stop_timeout_ms;     /* then SIGKILL */
    int ready;                    /* enum batond_ready */
    char ready_cmd[BATOND_CMD_MAX];
    uint64_t ready_timeout_ms;
    char phases[BATOND_PHASES_MAX][BATOND_CMD_MAX];
    unsigned n_phases;
    int restart;                  /* enum batond_restart */
    unsigned max_restarts;
    uint64_t restart_window_ms;
    char state_export[BATOND_CMD_MAX];
    uint64_t export_timeout_ms;
    char env[BATOND_ENV_MAX][256]; /* KEY=VALUE */
    unsigned n_env;
    char cwd[1024];
    char gname[BATON_GNAME_MAX + 1]; /* name = X: "" for none */
    /* monitor = CMD: a health check while the instance runs here
     * (docs/design/supervision.md §6); "" for none. */
    char monitor[BATOND_CMD_MAX];
    uint64_t monitor_interval_ms;
    uint64_t monitor_timeout_ms;
    unsigned monitor_failures; /* in a row, then the app is restarted */
    /* pre_start = CMD before each start of the app here (a failure fails
     * the start), post_stop = CMD once its process group ended here, for
     * any reason; both as batond's user, killed at hook_timeout_ms
     * (docs/config.md "Hooks"); "" for none. */
    char pre_start[BATOND_CMD_MAX];
    char post_stop[BATOND_CMD_MAX];
    uint64_t hook_timeout_ms;
    /* user = NAME, group = NAME (docs/config.md): resolved when the file
     * is read; as_uid/as_gid say whether the app's processes change to
     * uid/gid (gid: the group's, else the user's primary group). */
    char user[64];
    char home[256]; /* the user's home directory: HOME */
    bool as_uid;
    bool as_gid;
    bool group_set;
    uint32_t uid;
    uint32_t gid;
    /* address = host:port, or address.NODE = host:port for NODE: this
     * node's, in the app's name's meta (docs/config.md); "" for none.
     * address_at holds the address.NODE keys as "NODE ADDR\n" lines
     * until the whole file is read (then this node's is known). */
    char address[LIB_ADDRESS_MAX + 1];
    char address_at[2048];
};

struct batond_config {
    /* [node], [cluster], [nodes]: the node's (struct baton's cfg), or
     * the caller's for --check */
    struct lib_config *node;
    struct batond_app apps[BATON_APPS_MAX]; /* parallel to node->io.apps */
    /* Where each app's program keys are (start, stop, state_export,
     * ready), for the end check's messages: 0 = not given. */
    int prog_line[BATON_APPS_MAX][4];
    /* batond --check: also refuse programs this node cannot run. Not at
     * start: there a missing program is a failed start of that app (it
     * fails over), and the node still serves the others. */
    bool check_programs;
};

/* Is s host:port (a name or an address, [v6] in brackets; a port
 * 1..65535; no space), at most LIB_ADDRESS_MAX bytes? The published
 * address of an app, from its section or its $BATON_ADDRESS_FILE. */
bool batond_address_valid(const char *s);

/* The node's config hook (lib_config_section_fn; user = cfg): [app]
 * sections, and at the end the check that each has nodes and start, and
 * with check_programs that the programs of the apps that may run on this
 * node exist and are executable (found like execvp() will: through the
 * app's PATH, its cwd for a relative path). */
int batond_config_section(void *user, struct lib_config *node,
                          const char *section, const char *key,
                          const char *value, char *err, size_t err_len);

/* Reads and validates FILE into node (the node's sections) and cfg (the
 * [app] sections). control_socket defaults to /tmp/baton-NAME.sock. On
 * error writes a message naming file:line and the key into err, and
 * returns BATON_EINVAL. */
/* A reload (docs/config.md "Reload"): the keys of [node], [cluster] and
 * [nodes] that differ between a (running) and b (the file now), by
 * name, comma-separated in out; returns how many. log_level is not one:
 * a reload applies it. */
int batond_config_node_changes(const struct lib_config *a,
                               const struct lib_config *b,
                               char *out,
                               size_t len);

int batond_config_load(struct batond_config *cfg, struct lib_config *node,
                       const char *file, char *err, size_t err_len);

/* The same on text (without the default socket). */
int batond_config_parse(struct batond_config *cfg, struct lib_config *node,
                        const char *text, char *err, size_t err_len);

#endif /* BATON_DAEMON_CONFIG_H */
