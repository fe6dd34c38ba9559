/* batond's [app] sections: the node's config reader (src/lib/config.c)
 * hands this file every key of a section it does not know. */
#include "../util/setup.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/error.h"
#include "config.h"

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return BATON_EINVAL;
}

/* user = NAME or group = NAME: looked up now, so that a name this host
 * does not know refuses the config instead of failing every start. Only
 * root can run processes as someone else. */
static int on_identity(struct batond_app *da,
                       const char *app,
                       const char *key,
                       const char *value,
                       char *err,
                       size_t err_len)
{
    bool user = strcmp(key, "user") == 0;
    struct passwd *pw = user ? getpwnam(value) : NULL;
    struct group *gr = user ? NULL : getgrnam(value);
    uint32_t id;

    if (user ? pw == NULL : gr == NULL) {
        return fail(err, err_len, "[app %s] %s: no %s \"%s\" on this host", app,
                    key, key, value);
    }
    id = user ? (uint32_t)pw->pw_uid : (uint32_t)gr->gr_gid;
    if (geteuid() != 0 && id != (user ? geteuid() : getegid())) {
        return fail(err, err_len,
                    "[app %s] %s: batond runs as uid %u, not "
                    "root: it cannot run apps as %s %s",
                    app, key, (unsigned)geteuid(), key, value);
    }
    if (user) {
        if (strlen(value) >= sizeof(da->user)) {
            return fail(err, err_len, "[app %s] user: \"%s\" is too long", app,
                        value);
        }
        snprintf(da->user, sizeof(da->user), "%s", value);
        snprintf(da->home, sizeof(da->home), "%s",
                 pw->pw_dir != NULL ? pw->pw_dir : "/");
        da->as_uid = true;
        da->uid = id;
        if (!da->group_set) {
            da->gid = (uint32_t)pw->pw_gid; /* its primary group */
        }
    } else {
        da->group_set = true;
        da->gid = id;
    }
    da->as_gid = true;
    return 0;
}

bool batond_address_valid(const char *s)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long port;

    if (colon == NULL || colon == s || strlen(s) > LIB_ADDRESS_MAX ||
        strpbrk(s, " \t\r\n") != NULL) {
        return false;
    }
    /* An IPv6 address comes in brackets: its colons are not the port's. */
    if (strchr(s, ':') != colon && (s[0] != '[' || colon[-1] != ']')) {
        return false;
    }
    port = strtol(colon + 1, &end, 10);
    return colon[1] != '\0' && *end == '\0' && port >= 1 && port <= 65535;
}

static int on_address(struct batond_app *da, const char *app, const char *key,
                      const char *value, char *err, size_t err_len)
{
    size_t used = strlen(da->address_at);
    int n;

    if (!batond_address_valid(value)) {
        return fail(err, err_len, "[app %s] %s: \"%s\" is not host:port",
                    app, key, value);
    }
    if (key[7] == '\0') {
        snprintf(da->address, sizeof(da->address), "%s", value);
        return 0;
    }
    n = snprintf(da->address_at + used, sizeof(da->address_at) - used,
                 "%s %s\n", key + 8, value);
    if (key[8] == '\0' || n < 0 ||
        (size_t)n >= sizeof(da->address_at) - used) {
        return fail(err, err_len, "[app %s] %s: %s", app, key,
                    key[8] == '\0' ? "no node after \"address.\""
                                   : "too many address.NODE keys");
    }
    return 0;
}

/* Once the file is read: address.NODE names a node of [nodes], and this
 * node's wins over address =. */
static int resolve_address(struct batond_config *cfg, unsigned app,
                           char *err, size_t err_len)
{
    const struct baton_io_config *io = &cfg->node->io;
    struct batond_app *da = &cfg->apps[app];

    for (char *line = da->address_at; *line != '\0';) {
        char *sp = strchr(line, ' ');
        char *nl = strchr(sp, '\n');
        unsigned x = 0;

        *sp = '\0';
        *nl = '\0';
        while (x < io->n_nodes && strcmp(io->names[x], line) != 0) {
            x++;
        }
        if (x == io->n_nodes) {
            return fail(err, err_len, "[app %s] address.%s: no node %s in "
                                      "[nodes]",
                        io->apps[app].name, line, line);
        }
        if (x == io->self) {
            snprintf(da->address, sizeof(da->address), "%s", sp + 1);
        }
        line = nl + 1;
    }
    da->address_at[0] = '\0';
    return 0;
}

static int on_app_entry(struct batond_config *cfg, const char *app,
                        const char *key, const char *value, char *err,
                        size_t err_len)
{
    struct batond_app *da;
    char argv_buf[BATOND_CMD_MAX];
    char *argv[64];
    uint64_t x;
    unsigned idx;
    bool added;
    int rv = lib_config_app_key(cfg->node, app, key, value, &idx, &added, err,
                                err_len);

    if (rv == BATON_EINVAL) {
        return rv;
    }
    da = &cfg->apps[idx];
    if (added) {
        da->stop_timeout_ms = 5000;
        da->ready_timeout_ms = 30000;
        da->max_restarts = 3;
        da->restart_window_ms = 5000;
        da->export_timeout_ms = 5000;
        da->monitor_interval_ms = 5000;
        da->monitor_timeout_ms = 2000;
        da->monitor_failures = 3;
        da->hook_timeout_ms = 10000;
    }
    if (rv == 0) { /* the node's: nodes, failover_timeout, mode, lease */
        return 0;
    }
    if (strcmp(key, "start") == 0 || strcmp(key, "stop") == 0 ||
        strcmp(key, "phase") == 0 || strcmp(key, "monitor") == 0 ||
        strcmp(key, "state_export") == 0 || strcmp(key, "pre_start") == 0 ||
        strcmp(key, "post_stop") == 0) {
        if (lib_split(value, argv_buf, sizeof(argv_buf), argv, 64) <= 0) {
            return fail(err, err_len, "[app %s] %s: \"%s\" is not a command (empty, "
                           "an unterminated quote or too many words)",
                        app, key, value);
        }
        {
            static const char *const progs[] = {"start", "stop",
                                                 "state_export"};
            for (int k = 0; k < 3; k++) {
                if (strcmp(key, progs[k]) == 0) {
                    cfg->prog_line[idx][k] = lib_config_line(cfg->node);
                }
            }
        }
        if (strcmp(key, "phase") == 0) {
            if (da->n_phases == BATOND_PHASES_MAX) {
                return fail(err, err_len, "[app %s]: more than %d phases", app,
                            BATOND_PHASES_MAX);
            }
            snprintf(da->phases[da->n_phases++], BATOND_CMD_MAX, "%s", value);
        } else {
            snprintf(strcmp(key, "start") == 0     ? da->start
                     : strcmp(key, "stop") == 0    ? da->stop
                     : strcmp(key, "monitor") == 0 ? da->monitor
                     : strcmp(key, "pre_start") == 0 ? da->pre_start
                     : strcmp(key, "post_stop") == 0 ? da->post_stop
                                                   : da->state_export,
                     BATOND_CMD_MAX, "%s", value);
        }
    } else if (strcmp(key, "ready") == 0) {
        if (strcmp(value, "spawn") == 0) {
            da->ready = BATOND_READY_SPAWN;
        } else if (strcmp(value, "notify") == 0) {
            da->ready = BATOND_READY_NOTIFY;
        } else if (strncmp(value, "command ", 8) == 0 &&
                   lib_split(value + 8, argv_buf, sizeof(argv_buf), argv,
                                64) > 0) {
            da->ready = BATOND_READY_COMMAND;
            snprintf(da->ready_cmd, sizeof(da->ready_cmd), "%s", value + 8);
            cfg->prog_line[idx][3] = lib_config_line(cfg->node);
        } else {
            return fail(err, err_len, "[app %s] ready: \"%s\" is not spawn, notify or "
                           "command CMD", app, value);
        }
    } else if (strcmp(key, "restart") == 0) {
        if (strcmp(value, "permanent") == 0) {
            da->restart = BATOND_RESTART_PERMANENT;
        } else if (strcmp(value, "transient") == 0) {
            da->restart = BATOND_RESTART_TRANSIENT;
        } else if (strcmp(value, "temporary") == 0) {
            da->restart = BATOND_RESTART_TEMPORARY;
        } else {
            return fail(err, err_len, "[app %s] restart: \"%s\" is not permanent, "
                           "transient or temporary", app, value);
        }
    } else if (strcmp(key, "max_restarts") == 0) {
        if (!lib_config_u64(value, 0, 1000, &x)) {
            return fail(err, err_len, "[app %s] max_restarts: \"%s\" is not 0..1000",
                        app, value);
        }
        da->max_restarts = (unsigned)x;
    } else if (strcmp(key, "monitor_failures") == 0) {
        if (!lib_config_u64(value, 1, 1000, &x)) {
            return fail(err, err_len,
                        "[app %s] monitor_failures: \"%s\" is not 1..1000", app,
                        value);
        }
        da->monitor_failures = (unsigned)x;
    } else if (strcmp(key, "restart_window") == 0 ||
               strcmp(key, "stop_timeout") == 0 ||
               strcmp(key, "ready_timeout") == 0 ||
               strcmp(key, "export_timeout") == 0 ||
               strcmp(key, "monitor_interval_ms") == 0 ||
               strcmp(key, "monitor_timeout_ms") == 0 ||
               strcmp(key, "hook_timeout_ms") == 0) {
        if (!lib_config_u64(value, 1, 86400000, &x)) {
            return fail(err, err_len, "[app %s] %s: \"%s\" is not a number of ms",
                        app, key, value);
        }
        *(strcmp(key, "restart_window") == 0        ? &da->restart_window_ms
          : strcmp(key, "stop_timeout") == 0        ? &da->stop_timeout_ms
          : strcmp(key, "ready_timeout") == 0       ? &da->ready_timeout_ms
          : strcmp(key, "monitor_interval_ms") == 0 ? &da->monitor_interval_ms
          : strcmp(key, "monitor_timeout_ms") == 0  ? &da->monitor_timeout_ms
          : strcmp(key, "hook_timeout_ms") == 0     ? &da->hook_timeout_ms
                                                    : &da->export_timeout_ms) =
            x;
    } else if (strcmp(key, "env") == 0) {
        if (strchr(value, '=') == NULL || value[0] == '=' ||
            strlen(value) >= sizeof(da->env[0]) ||
            da->n_env == BATOND_ENV_MAX) {
            return fail(err, err_len, "[app %s] env: \"%s\" is not KEY=VALUE (or too "
                           "many, or too long)", app, value);
        }
        snprintf(da->env[da->n_env++], sizeof(da->env[0]), "%s", value);
    } else if (strcmp(key, "user") == 0 || strcmp(key, "group") == 0) {
        return on_identity(da, app, key, value, err, err_len);
    } else if (strcmp(key, "cwd") == 0) {
        snprintf(da->cwd, sizeof(da->cwd), "%s", value);
    } else if (strcmp(key, "name") == 0) {
        if (baton_name_check(value, strlen(value)) != 0) {
            return fail(err, err_len, "[app %s] name: \"%s\" is not a name (1-127 "
                           "printable ASCII bytes without spaces)",
                        app, value);
        }
        for (unsigned i = 0; i < cfg->node->io.n_apps; i++) {
            if (&cfg->apps[i] != da && strcmp(cfg->apps[i].gname, value) == 0) {
                return fail(err, err_len, "[app %s] name: %s is already the name of "
                               "app %s", app, value, cfg->node->io.apps[i].name);
            }
        }
        snprintf(da->gname, sizeof(da->gname), "%s", value);
    } else if (strncmp(key, "address", 7) == 0 &&
               (key[7] == '\0' || key[7] == '.')) {
        return on_address(da, app, key, value, err, err_len);
    } else {
        return fail(err, err_len, "[app %s]: unknown key \"%s\"", app, key);
    }
    return 0;
}


/* The program of command line cmd as execvp() will find it, with the
 * app's PATH (its env = PATH=..., else batond's) and, for a relative
 * path, its cwd. A shell line (sh -c '...') is checked on its first
 * word only: what the shell runs is the shell's business. 0, or a
 * message in why. */
static int check_program(const struct batond_app *da, const char *cmd,
                         char *why, size_t why_len)
{
    char buf[BATOND_CMD_MAX];
    char path[BATON_PATH_MAX];
    char *argv[64];
    const char *dirs = getenv("PATH");
    struct stat st;
    int e = ENOENT;

    if (lib_split(cmd, buf, sizeof(buf), argv, 64) <= 0) {
        return -1; /* refused where it was read */
    }
    for (unsigned k = 0; k < da->n_env; k++) {
        if (strncmp(da->env[k], "PATH=", 5) == 0) {
            dirs = da->env[k] + 5;
        }
    }
    if (dirs == NULL) {
        dirs = "/bin:/usr/bin"; /* execvp()'s default */
    }
    if (strchr(argv[0], '/') != NULL) {
        snprintf(path, sizeof(path), "%s%s%s",
                 argv[0][0] != '/' && da->cwd[0] != '\0' ? da->cwd : "",
                 argv[0][0] != '/' && da->cwd[0] != '\0' ? "/" : "",
                 argv[0]);
        if (stat(path, &st) != 0) {
            e = errno;
        } else if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
            e = EACCES;
        } else {
            return 0;
        }
        snprintf(why, why_len, "program %s%s%s", path,
                 e == EACCES ? " is not an executable file" : ": ",
                 e == EACCES ? "" : strerror(e));
        return -1;
    }
    for (const char *d = dirs;; d = strchr(d, ':') + 1) {
        size_t n = strcspn(d, ":");
        /* An empty entry is the working directory, as for execvp(). */
        snprintf(path, sizeof(path), "%.*s%s%s", (int)n, d, n ? "/" : "",
                 argv[0]);
        if (stat(path, &st) == 0) {
            if (S_ISREG(st.st_mode) && access(path, X_OK) == 0) {
                return 0;
            }
            e = EACCES;
        }
        if (d[n] == '\0') {
            break;
        }
    }
    snprintf(why, why_len, "program \"%s\" %s in PATH (%s)", argv[0],
             e == EACCES ? "is not executable" : "is not found", dirs);
    return -1;
}

/* Once the file is read: every app needs nodes and a start command, and
 * an app that may run here, programs this node can run. Every problem is
 * reported (lib_config_error). */
static int check_apps(struct batond_config *cfg)
{
    const struct baton_io_config *io = &cfg->node->io;
    int rv = 0;

    for (unsigned i = 0; i < io->n_apps; i++) {
        static const char *const keys[] = {"start", "stop", "state_export",
                                           "ready"};
        const struct batond_app *da = &cfg->apps[i];
        const char *cmds[] = {da->start, da->stop, da->state_export,
                              da->ready == BATOND_READY_COMMAND
                                  ? da->ready_cmd
                                  : ""};
        bool listed = false;
        for (unsigned x = 0; x < io->n_nodes; x++) {
            listed = listed || io->apps[i].rank[x] != 0;
        }
        if (!listed || da->start[0] == '\0') {
            lib_config_error(cfg->node, 0, "[app %s] needs %s",
                             io->apps[i].name,
                             listed ? "a start command" : "nodes");
            rv = BATON_EINVAL;
        }
        char why[BATON_PATH_MAX + 64];
        if (resolve_address(cfg, i, why, sizeof(why)) != 0) {
            lib_config_error(cfg->node, 0, "%s", why);
            rv = BATON_EINVAL;
        }
        if (!cfg->check_programs || io->apps[i].rank[io->self] == 0) {
            continue; /* never runs here: its programs may be missing */
        }
        for (int k = 0; k < 4; k++) {
            if (cmds[k][0] != '\0' &&
                check_program(da, cmds[k], why, sizeof(why)) != 0) {
                lib_config_error(cfg->node, cfg->prog_line[i][k],
                                 "[app %s] %s: %s", io->apps[i].name,
                                 keys[k], why);
                rv = BATON_EINVAL;
            }
        }
    }
    return rv;
}

int batond_config_section(void *user, struct lib_config *node,
                          const char *section, const char *key,
                          const char *value, char *err, size_t err_len)
{
    struct batond_config *cfg = user;

    cfg->node = node;
    if (section == NULL) {
        err[0] = '\0'; /* reported already */
        return check_apps(cfg);
    }
    if (strncmp(section, "app ", 4) != 0) {
        return fail(err, err_len, "unknown section [%s]", section);
    }
    return on_app_entry(cfg, section + 4, key, value, err, err_len);
}

int batond_config_load(struct batond_config *cfg, struct lib_config *node,
                       const char *file, char *err, size_t err_len)
{
    int rv;

    memset(cfg->apps, 0, sizeof(cfg->apps));
    memset(cfg->prog_line, 0, sizeof(cfg->prog_line));
    cfg->node = node;
    rv = lib_config_load(node, file, batond_config_section, cfg, err,
                         err_len);
    return rv != 0 ? rv : lib_config_default_socket(node, err, err_len);
}

int batond_config_parse(struct batond_config *cfg, struct lib_config *node,
                        const char *text, char *err, size_t err_len)
{
    memset(cfg->apps, 0, sizeof(cfg->apps));
    memset(cfg->prog_line, 0, sizeof(cfg->prog_line));
    cfg->node = node;
    return lib_config_parse(node, "config", text, batond_config_section, cfg,
                            err, err_len);
}

/* What a reload may not change (docs/config.md "Reload"): every key of
 * [node], [cluster] and [nodes] but log_level. The links, the socket,
 * the node's identity and the cluster's timing are made at start; the
 * config digest peers compare (docs/design/wire.md §3) covers most of
 * them, so a node running with a changed copy would be held anyway. */
int batond_config_node_changes(const struct lib_config *a,
                               const struct lib_config *b,
                               char *out,
                               size_t len)
{
    const struct baton_io_config *x = &a->io;
    const struct baton_io_config *y = &b->io;
    const struct {
        const char *what;
        bool differs;
    } keys[] = {
        {"[nodes]",
         x->n_nodes != y->n_nodes || x->self != y->self ||
             memcmp(x->names, y->names, sizeof(x->names)) != 0 ||
             memcmp(x->hosts, y->hosts, sizeof(x->hosts)) != 0 ||
             memcmp(x->ports, y->ports, sizeof(x->ports)) != 0 ||
             memcmp(x->candidate, y->candidate, sizeof(x->candidate)) != 0 ||
             memcmp(a->witness, b->witness, sizeof(a->witness)) != 0},
        {"[node] name", strcmp(a->self_name, b->self_name) != 0},
        {"heartbeat_ms/heartbeat_miss/sync_window_ms",
         x->heartbeat_ms != y->heartbeat_ms ||
             x->heartbeat_miss != y->heartbeat_miss ||
             x->sync_window_ms != y->sync_window_ms},
        {"cookie_file",
         x->cookie_len != y->cookie_len ||
             memcmp(x->cookie, y->cookie, sizeof(x->cookie)) != 0 ||
             strcmp(a->cookie_file, b->cookie_file) != 0},
        {"names_cap", x->names_cap != y->names_cap},
        {"max_drift", x->max_drift_ppm != y->max_drift_ppm},
        {"control_socket/control_socket_ro/control_group",
         strcmp(a->control_socket, b->control_socket) != 0 ||
             strcmp(a->control_socket_ro, b->control_socket_ro) != 0 ||
             a->control_group_set != b->control_group_set ||
             a->control_gid != b->control_gid},
        {"state_dir", strcmp(a->state_dir, b->state_dir) != 0},
        {"listen", strcmp(a->listen_host, b->listen_host) != 0 ||
                       a->listen_port != b->listen_port},
        {"metrics_listen", strcmp(a->metrics_host, b->metrics_host) != 0 ||
                               a->metrics_port != b->metrics_port},
        {"sync_nodes_*", a->sync_timeout_set != b->sync_timeout_set ||
                             a->sync_timeout_ms != b->sync_timeout_ms ||
                             memcmp(a->sync_mandatory, b->sync_mandatory,
                                    sizeof(a->sync_mandatory)) != 0 ||
                             memcmp(a->sync_optional, b->sync_optional,
                                    sizeof(a->sync_optional)) != 0},
    };
    size_t used = 0;
    int n = 0;

    out[0] = '\0';
    for (size_t k = 0; k < BATON_ARRAY_LEN(keys); k++) {
        if (keys[k].differs && used < len) {
            int w = snprintf(out + used, len - used, "%s%s", n ? ", " : "",
                             keys[k].what);
            used += w > 0 ? (size_t)w : 0;
            n++;
        }
    }
    return n;
}
