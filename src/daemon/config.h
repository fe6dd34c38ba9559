/* batond's configuration file (INI). See docs/config.md. */
#ifndef BATON_DAEMON_CONFIG_H
#define BATON_DAEMON_CONFIG_H

#include "../io/io.h"
#include "../wire/codec.h"

#define BATON_PATH_MAX (4096)

#define BATOND_CMD_MAX (1024)
#define BATOND_PHASES_MAX (8)
#define BATOND_ENV_MAX (32)
/* [cluster] names_cap: name table slots (each about 420 bytes, held
 * three times: the replica, the node's own names and a snapshot's
 * scratch); at most what one frame carries (wire.md §2.4). */
#define BATOND_NAMES_CAP_MAX BATON_MSG_NAMES_CAP_MAX

enum batond_ready { BATOND_READY_SPAWN = 0, BATOND_READY_NOTIFY,
                    BATOND_READY_COMMAND };
enum batond_restart { BATOND_RESTART_PERMANENT = 0, BATOND_RESTART_TRANSIENT,
                      BATOND_RESTART_TEMPORARY };

/* One [app NAME] section (docs/config.md "Apps"). The core gets name,
 * rank and failover timeout (cfg.io.apps); batond keeps the rest. */
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
};

struct batond_config {
    struct baton_io_config io; /* nodes, self, heartbeat, cookie */
    char path[BATON_PATH_MAX];
    char control_socket[BATON_PATH_MAX];
    char cookie_file[BATON_PATH_MAX];
    char listen_host[BATON_ADDR_MAX]; /* "" = this node's own address */
    uint16_t listen_port;
    char self_name[BATON_NAME_MAX + 1];
    int log_level; /* enum baton_log_level */
    struct batond_app apps[BATON_APPS_MAX]; /* parallel to io.apps */
    /* Boot-time sync (reference §1.3): unset timeout = no wait. */
    uint8_t sync_mandatory[BATON_NODES_MAX];
    uint8_t sync_optional[BATON_NODES_MAX];
    char sync_lists[2][BATOND_CMD_MAX]; /* raw: resolved after [nodes] */
    bool sync_timeout_set;
    uint64_t sync_timeout_ms; /* BATON_TIMEOUT_INFINITY = forever */
};

/* Splits a command line into argv (quotes '...' and "...", backslash
 * escapes; no shell). Returns the count, or -1 if it is malformed or has
 * more than max - 1 words. argv points into buf. */
int batond_split(const char *cmd, char *buf, size_t buf_len, char **argv,
                 int max);

/* Reads and validates FILE, including the cookie file it names. On error
 * writes a message naming file:line and the key (or the cookie file and
 * what is wrong with it) into err, and returns BATON_EINVAL. */
int batond_config_load(struct batond_config *cfg, const char *file,
                       char *err, size_t err_len);

/* Parses a priority list "a@h1, {b@h2 c@h3}" into rank[BATON_NODES_MAX]
 * (0 = not listed, 1 = first, ...) against cfg's [nodes]. On error
 * writes "[app WHAT] nodes: ..." into err and returns BATON_EINVAL. */
int batond_parse_priority(struct batond_config *cfg, const char *what,
                          const char *list, uint8_t *rank, char *err,
                          size_t err_len);

#endif /* BATON_DAEMON_CONFIG_H */
