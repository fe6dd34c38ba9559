/* batond's app supervisor: runs the local instances the core decides on,
 * as OS processes. See docs/design/supervision.md. */
#ifndef BATON_DAEMON_SUPERVISE_H
#define BATON_DAEMON_SUPERVISE_H

#include "config.h"

struct baton;
struct baton_app;

enum batond_proc_state {
    BATOND_PROC_IDLE = 0,
    BATOND_PROC_STARTING,   /* spawned; waiting until it is ready */
    BATOND_PROC_PHASES,     /* ready; running its start phases */
    BATOND_PROC_READY,      /* running; reported to the core */
    BATOND_PROC_RESTARTING, /* crashed; restarting after a short delay */
    BATOND_PROC_STOPPING,   /* told to stop: stop command / SIGTERM */
};

struct batond_child; /* supervise.c */

struct batond_proc {
    struct batond_sup *sup;
    unsigned app;
    struct baton_app *lib; /* the node's app, whose callbacks we are */
    int state; /* enum batond_proc_state */
    uint64_t epoch;
    uint8_t type;
    uint8_t from;
    int pid;   /* the shim's pid = the app's process group, 0 if none */
    struct batond_child *child;  /* the app (through its shim) */
    struct batond_child *helper; /* a ready check, phase or stop command */
    unsigned phase;
    uv_timer_t timer;
    uint64_t deadline_ms;
    uint64_t restart_ms[1001]; /* when recent restarts happened */
    unsigned n_restarts;
    /* This instance is a local restart of a crashed one: its start type
     * is "restart", and it gets no state file (docs/design/supervision.md
     * §3). */
    bool restarted;
    uint64_t since_ms;
    uint64_t stop_ms; /* when the stop was ordered */
    bool notified;
    struct batond_child *exporter; /* state_export, during a takeover */
    bool export_async; /* the node waits for baton_app_exported() */
    uv_timer_t export_timer; /* waiting for quiet, then the export's bound */
    uint64_t quiet_until_ms;
    uint8_t *export_buf;
    size_t export_len;
    bool export_too_big;
    char state_file[BATON_PATH_MAX]; /* the coming takeover start's state */
    uint64_t state_epoch;
    /* The instance's fencing token now: its start epoch, raised without a
     * restart after a heal (BATON_APP_TOKEN); kept in token_file for the
     * app to re-read (BATON_EPOCH_FILE). */
    uint64_t token;
    char token_file[BATON_PATH_MAX];
    /* $BATON_ADDRESS_FILE: made empty (the app's) before each start; the
     * host:port the app wrote there is read once it is ready and goes in
     * its name's meta (docs/config.md, address). */
    char address_file[BATON_PATH_MAX];
    /* The health monitor (docs/design/supervision.md §6): runs every
     * monitor_interval_ms while the instance is ready, in its own
     * process group; monitor_failures failures in a row kill the
     * instance, which then restarts (or fails over) as after a crash. */
    struct batond_child *monitor;
    uv_timer_t monitor_timer;
    unsigned monitor_fails; /* failures in a row */
    bool monitor_ran;       /* once since the instance got ready */
    char kill_why[96];      /* why batond killed the instance, "" if not */
    /* pre_start or post_stop (docs/config.md "Hooks"), one at a time, in
     * a process group of its own, killed at hook_timeout_ms. A start
     * while a post_stop runs waits for it (start_waits): the previous
     * instance's cleanup comes before the next one's pre_start. */
    struct batond_child *hook;
    uv_timer_t hook_timer;
    bool hook_pre;
    bool start_waits;
    /* Quorum apps (docs/design/supervision.md §8): the instance's lease
     * end as the core last gave it (uv_now's clock, 0: none), and as
     * last handed to the shim (CLOCK_BOOTTIME ms, 0: none), which kills
     * the app's group then on its own. */
    uint64_t lease_ms;
    uint64_t lease_boot_ms;
};

struct batond_sup {
    uv_loop_t *loop;
    const struct batond_config *cfg;
    char exe[4096]; /* this batond, re-executed as the shim */
    struct batond_proc procs[BATON_APPS_MAX];
    baton_log_fn log;
    void *log_data;
    unsigned open_handles;
    bool draining;
    void (*drained)(struct batond_sup *sup);
    uv_timer_t drain_timer; /* the hand-over's bound */
    uint64_t handover_ms;
    /* Called when an instance goes idle (stopped, ended, failed). */
    void (*idle)(struct batond_sup *sup, unsigned app);
    /* A takeover's export is due: hold the instance (process group pgid)
     * from new calls (lib_control_app_hold); unanswered: the calls it
     * was given and has not answered yet. Both may be NULL. */
    void (*hold)(struct batond_sup *sup, unsigned app, int pgid);
    unsigned (*unanswered)(struct batond_sup *sup, unsigned app);
    /* The ready instance published address (host:port) in its
     * $BATON_ADDRESS_FILE: it goes in the name's meta until the instance
     * is idle (lib_control_app_address). May be NULL. */
    void (*address)(struct batond_sup *sup, unsigned app,
                    const char *address);
    void *data; /* the caller's */
    /* A shim forked ahead (docs/design/supervision.md §2): the next app
     * start hands it its command instead of forking and re-executing
     * batond then. Only if the caller sets prefork (batond does; a
     * program that merely embeds the supervisor is not batond). */
    bool prefork;
    struct batond_child *spare;
    uv_timer_t spare_timer;
    /* Where the files for the apps go: [node] state_dir, or the default
     * (docs/config.md, state_dir). */
    char state_dir[1024];
};

/* Errors: BATON_EIO (cannot find this executable). */
int batond_sup_init(struct batond_sup *sup, uv_loop_t *loop,
                    const struct batond_config *cfg, baton_log_fn log,
                    void *log_data);

/* Every app of node's config ([app] sections) becomes one of node's
 * apps whose callbacks are this supervisor (lib_apps_adopt): start
 * spawns (BATON_EAGAIN, then baton_app_started once ready), stop stops
 * the process (the end reported once it is gone), export_state runs
 * state_export (BATON_EAGAIN, then baton_app_exported), import_state
 * keeps the state for BATON_STATE_FILE, token rewrites
 * BATON_EPOCH_FILE. Before baton_start. */
void batond_sup_attach(struct batond_sup *sup, struct baton *node);

/* A reload added app `app` (an index never used, or one whose removed
 * app is gone here): its process record and its node handle, whose
 * callbacks are this supervisor, as batond_sup_attach makes them; call
 * before the app is defined in the node (lib_app_define). Errors:
 * BATON_ESTATE (the index's last instance, or its hook, still runs),
 * BATON_EINVAL (no such index). */
int batond_sup_add(struct batond_sup *sup, struct baton *node, unsigned app);

/* batonctl ready APP (ready = notify). Errors: BATON_EINVAL. */
int batond_sup_ready(struct batond_sup *sup, unsigned app);

/* Shutdown: the caller has withdrawn this node's permits, so the core
 * hands each app over (export while running, new owner starts, then the
 * core's STOP here). cb runs once every local instance is gone; past a
 * bound (export_timeout + ready_timeout + 1 s) the rest are stopped
 * here (stop command or SIGTERM, then SIGKILL after stop_timeout). */
void batond_sup_drain(struct batond_sup *sup,
                      void (*cb)(struct batond_sup *sup));

/* Stops every local instance now (a second SIGTERM, or the drain's
 * bound). */
void batond_sup_stop_all(struct batond_sup *sup);

/* Is every local instance of a quorum app short of its stop margin, its
 * lease being renewed (now_ms on uv_now's clock)? True with none. */
bool batond_sup_leases_renewed(const struct batond_sup *sup, uint64_t now_ms);

const char *batond_proc_state_name(int state);

/* The instance's health for `batonctl apps` (docs/design/supervision.md
 * §6): "healthy", "failing N/M", "unknown" (its monitor has not run
 * yet) or "-" (no monitor, or no instance here). Returns buf. */
const char *batond_proc_health(const struct batond_proc *p,
                               char *buf,
                               size_t len);

/* The shim: batond --shim -- CMD ARGS... (docs/design/supervision.md
 * §2), or a spare one, batond --shim --spare, which reads its command
 * from its stdin first: a native uint32 with the size of the rest, then
 * uint32 argc and uint32 envc, then NUL-terminated strings: the working
 * directory ("": batond's), the argc words of the command, the envc
 * "NAME=value" of its environment. Never returns. */
#define BATOND_SHIM_SPARE "--spare"
/* batond --shim --as UID GID USER -- CMD...: the app runs as UID ("-":
 * unchanged) and GID, with USER's supplementary groups (initgroups; ""
 * with UID "-": GID alone). A spare is never used for such an app. */
#define BATOND_SHIM_AS "--as"
#define BATOND_SPARE_REQ_MAX (60u << 10) /* fits a pipe's buffer */
/* A quorum app's lease (docs/design/supervision.md §8): after the
 * command (a spare's request), batond writes this record to the shim's
 * stdin at the start and with each renewal. The shim kills the app's
 * process group once CLOCK_BOOTTIME reaches until_ms, on its own timer,
 * whether batond is alive, frozen or dead; a later record moves the
 * end. Native byte order (one host). A record with another magic kills
 * the group at once: the stream is not what batond writes. An app whose
 * shim gets no record (available mode) has no timer. */
struct batond_shim_lease {
    uint32_t magic; /* BATOND_SHIM_LEASE_MAGIC */
    uint32_t reserved;
    uint64_t until_ms; /* CLOCK_BOOTTIME, in ms */
};
#define BATOND_SHIM_LEASE_MAGIC (0x4c425331u) /* "1SBL" */
_Noreturn void batond_shim_main(int argc, char **argv);

#endif /* BATON_DAEMON_SUPERVISE_H */
