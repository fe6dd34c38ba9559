/* The node's config file: inih parses, this file checks every key and
 * value of [node], [cluster] and [nodes] and names file:line on every
 * problem (one line each: an operator fixes a file in one go); other
 * sections go to the program's hook. A section twice, or a key twice in
 * a section, is refused: the second would silently win. The cookie file
 * is refused if group or others can read it, as ssh refuses such keys. */
#include "../util/setup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/error.h"
#include "config.h"

/* Sections and keys seen so far, for the duplicate checks. */
#define SEEN_SECTIONS (BATON_APPS_MAX + 8)
#define SEEN_KEYS (64)
#define SEEN_NAME (72)

struct parse {
    struct lib_config *cfg;
    lib_config_section_fn section;
    void *user;
    char *err;
    size_t err_len;
    size_t used;  /* bytes of err written: one error per line */
    bool failed;
    const char *name; /* the file's, while it is read; NULL otherwise */
    int line;         /* of the entry being handled */
    int newlines;     /* read so far */
    bool continued;   /* the line read is a continuation (indented) */
    /* The reader's source: a FILE, or text. */
    FILE *file;
    const char *text;
    /* The current section's keys, and every section with its line. */
    char cur[SEEN_NAME];
    bool cur_dup;
    char keys[SEEN_KEYS][SEEN_NAME];
    unsigned n_keys;
    char sections[SEEN_SECTIONS][SEEN_NAME];
    int section_line[SEEN_SECTIONS];
    unsigned n_sections;
};

/* Appends "name:line: message" (line 0: "name: ") as one line of err.
 * Outside a file (lib_config_priority on a program's list) the message
 * alone, the first only. */
static void vreport(struct parse *p, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vreport(struct parse *p, int line, const char *fmt, va_list ap)
{
    char msg[768];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (p->name == NULL) {
        if (!p->failed) {
            snprintf(p->err, p->err_len, "%s", msg);
        }
    } else if (p->used + 1 < p->err_len) {
        int k = line > 0 ? snprintf(p->err + p->used, p->err_len - p->used,
                                    "%s%s:%d: %s", p->used ? "\n" : "",
                                    p->name, line, msg)
                         : snprintf(p->err + p->used, p->err_len - p->used,
                                    "%s%s: %s", p->used ? "\n" : "",
                                    p->name, msg);
        p->used = k < 0 ? p->used
                        : BATON_MIN(p->used + (size_t)k, p->err_len - 1);
    }
    p->failed = true;
}

static int fail(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An error at the entry being handled; returns 0 (inih's "failed"). */
static int fail(struct parse *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(p, p->line, fmt, ap);
    va_end(ap);
    return 0;
}

void lib_config_error(struct lib_config *cfg, int line, const char *fmt, ...)
{
    va_list ap;

    if (cfg->parsing == NULL) {
        return; /* not while a file is read: nowhere to report */
    }
    va_start(ap, fmt);
    vreport(cfg->parsing, line, fmt, ap);
    va_end(ap);
}

int lib_config_line(const struct lib_config *cfg)
{
    const struct parse *p = cfg->parsing;

    return p != NULL ? p->line : 0;
}

bool lib_config_u64(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long x;

    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || x < lo ||
        x > hi) {
        return false;
    }
    *out = (uint64_t)x;
    return true;
}

/* "host:port" or "[v6]:port". */
static bool parse_addr(const char *v, char *host, size_t host_len,
                       uint16_t *port)
{
    const char *colon = strrchr(v, ':');
    uint64_t p;
    size_t n;

    if (colon == NULL || !lib_config_u64(colon + 1, 1, 65535, &p)) {
        return false;
    }
    n = (size_t)(colon - v);
    if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
        v++;
        n -= 2;
    }
    if (n == 0 || n >= host_len) {
        return false;
    }
    memcpy(host, v, n);
    host[n] = '\0';
    *port = (uint16_t)p;
    return true;
}

/* An IPv4 or IPv6 literal (the metrics endpoint binds no name). */
static bool is_ip(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

static int on_node_entry(struct parse *p, const char *name, const char *value)
{
    struct baton_io_config *io = &p->cfg->io;
    char addr[BATON_ADDR_MAX + 16];
    const char *role;
    unsigned i = io->n_nodes;

    if (i == BATON_NODES_MAX) {
        return fail(p, "[nodes]: more than %d nodes", BATON_NODES_MAX);
    }
    if (strlen(name) > BATON_NAME_MAX || strchr(name, '@') == NULL) {
        return fail(p, "[nodes]: \"%s\" is not a node name (name@host)",
                    name);
    }
    for (unsigned k = 0; k < i; k++) {
        if (strcmp(io->names[k], name) == 0) {
            return fail(p, "[nodes]: %s is listed twice", name);
        }
    }
    snprintf(addr, sizeof(addr), "%s", value);
    role = strchr(addr, ',');
    io->candidate[i] = 1;
    if (role != NULL) {
        addr[role - addr] = '\0';
        role++;
        while (*role == ' ') {
            role++;
        }
        if (strcmp(role, "worker") == 0) {
            io->candidate[i] = 0;
        } else if (strcmp(role, "witness") == 0) {
            /* A witness only votes (quorum.md §5): a cheap third box
             * for two-node clusters, so it never coordinates either. */
            io->candidate[i] = 0;
            p->cfg->witness[i] = 1;
        } else if (strcmp(role, "candidate") != 0) {
            return fail(p, "[nodes] %s: role \"%s\" is not candidate, "
                           "worker or witness", name, role);
        }
    }
    for (char *e = addr + strlen(addr); e > addr && e[-1] == ' '; e--) {
        e[-1] = '\0';
    }
    if (!parse_addr(addr, io->hosts[i], sizeof(io->hosts[i]),
                    &io->ports[i])) {
        return fail(p, "[nodes] %s: \"%s\" is not host:port", name, addr);
    }
    snprintf(io->names[i], sizeof(io->names[i]), "%s", name);
    io->n_nodes++;
    return 1;
}

int lib_split(const char *cmd, char *buf, size_t buf_len, char **argv,
                 int max)
{
    size_t o = 0;
    int n = 0;
    const char *c = cmd;

    for (;;) {
        char quote = 0;
        bool word = false;
        while (*c == ' ' || *c == '\t') {
            c++;
        }
        if (*c == '\0') {
            break;
        }
        if (n == max - 1) {
            return -1;
        }
        argv[n++] = buf + o;
        for (; *c != '\0' && (quote || (*c != ' ' && *c != '\t')); c++) {
            char ch = *c;
            if (quote && ch == quote) {
                quote = 0;
                continue;
            }
            if (!quote && (ch == '\'' || ch == '"')) {
                quote = ch;
                word = true;
                continue;
            }
            if (ch == '\\' && quote != '\'' && c[1] != '\0') {
                ch = *++c;
            }
            if (o + 2 > buf_len) {
                return -1;
            }
            buf[o++] = ch;
            word = true;
        }
        (void)word;
        if (quote) {
            return -1; /* unterminated quote */
        }
        buf[o++] = '\0';
    }
    argv[n] = NULL;
    return n;
}

static int find_node_name(const struct lib_config *cfg, const char *name)
{
    for (unsigned i = 0; i < cfg->io.n_nodes; i++) {
        if (strcmp(cfg->io.names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* "a@h1, {b@h2 c@h3}" -> rank per node. */
static int parse_priority(struct parse *p, const struct lib_config *cfg,
                          const char *app, const char *v, uint8_t *rank)
{
    char name[BATON_NAME_MAX + 1];
    uint8_t r = 1;
    bool group = false;
    bool any = false;
    const char *c = v;

    memset(rank, 0, BATON_NODES_MAX);
    while (*c) {
        size_t len;
        int id;
        if (*c == ' ' || *c == ',' || *c == '\t') {
            c++;
            continue;
        }
        if (*c == '{') {
            if (group) {
                return fail(p, "[app %s] nodes: nested braces", app);
            }
            group = true;
            c++;
            continue;
        }
        if (*c == '}') {
            if (!group) {
                return fail(p, "[app %s] nodes: unmatched }", app);
            }
            group = false;
            r++;
            c++;
            continue;
        }
        len = strcspn(c, " ,\t{}");
        if (len > BATON_NAME_MAX) {
            return fail(p, "[app %s] nodes: name too long", app);
        }
        memcpy(name, c, len);
        name[len] = '\0';
        c += len;
        id = find_node_name(cfg, name);
        if (id < 0) {
            return fail(p, "[app %s] nodes: %s is not listed in [nodes] "
                           "(list [nodes] before the apps)", app, name);
        }
        if (rank[id] != 0) {
            return fail(p, "[app %s] nodes: %s is listed twice", app, name);
        }
        if (cfg->witness[id]) {
            return fail(p, "[app %s] nodes: %s is a witness: it votes but "
                           "holds no app", app, name);
        }
        rank[id] = r;
        any = true;
        if (!group) {
            r++;
        }
    }
    if (group) {
        return fail(p, "[app %s] nodes: unmatched {", app);
    }
    if (!any) {
        return fail(p, "[app %s] nodes: no node listed", app);
    }
    return 1;
}

bool lib_config_ms(const char *v, uint64_t *out)
{
    if (strcmp(v, "infinity") == 0) {
        *out = BATON_TIMEOUT_INFINITY;
        return true;
    }
    return lib_config_u64(v, 0, 86400000, out);
}

/* "1%", "0.05%": at most two decimals, in ppm; BATON_DRIFT_PPM_MIN..MAX. */
static bool parse_drift(const char *v, uint32_t *ppm)
{
    uint64_t whole = 0, frac = 0;
    unsigned digits = 0;
    const char *c = v;

    if (*c < '0' || *c > '9') {
        return false;
    }
    for (; *c >= '0' && *c <= '9'; c++) {
        whole = whole * 10 + (uint64_t)(*c - '0');
        if (whole > 100) {
            return false;
        }
    }
    if (*c == '.') {
        for (c++; *c >= '0' && *c <= '9'; c++) {
            if (++digits > 2) {
                return false;
            }
            frac = frac * 10 + (uint64_t)(*c - '0');
        }
        if (digits == 0) {
            return false;
        }
    }
    if (c[0] != '%' || c[1] != '\0') {
        return false;
    }
    frac *= digits == 1 ? 10 : 1;
    /* 1% = 10,000 ppm, 0.01% = 100 ppm. */
    whole = whole * 10000 + frac * 100;
    if (whole < BATON_DRIFT_PPM_MIN || whole > BATON_DRIFT_PPM_MAX) {
        return false;
    }
    *ppm = (uint32_t)whole;
    return true;
}

static int parse_node_list(struct parse *p, const char *key, const char *v,
                           uint8_t *out)
{
    char buf[LIB_LIST_MAX];
    char *argv[BATON_NODES_MAX + 2];
    int n;

    snprintf(buf, sizeof(buf), "%s", v);
    for (char *c = buf; *c; c++) {
        if (*c == ',') {
            *c = ' ';
        }
    }
    {
        char split[LIB_LIST_MAX];
        n = lib_split(buf, split, sizeof(split), argv, BATON_NODES_MAX + 1);
        if (n < 0) {
            return fail(p, "[node] %s: too many nodes", key);
        }
        for (int i = 0; i < n; i++) {
            int id = find_node_name(p->cfg, argv[i]);
            if (id < 0) {
                return fail(p, "[node] %s: %s is not listed in [nodes]", key,
                            argv[i]);
            }
            out[id] = 1;
        }
    }
    return 1;
}

/* Keys that take one value per line, not one value: batond's [app]
 * phase and env (docs/config.md). */
static bool repeatable(const char *section, const char *key)
{
    return strncmp(section, "app ", 4) == 0 &&
           (strcmp(key, "phase") == 0 || strcmp(key, "env") == 0);
}

/* [app NAME] and the like: the program's hook's, else an error. */
static int other_section(struct parse *p, const char *section,
                         const char *key, const char *value)
{
    if (p->section != NULL) {
        char msg[768];
        if (p->section(p->user, p->cfg, section, key, value, msg,
                       sizeof(msg)) != 0) {
            return fail(p, "%s", msg);
        }
        return 1;
    }
    if (strncmp(section, "app ", 4) == 0) {
        return fail(p, "[%s]: [app] sections are batond's; a program "
                       "declares its apps with baton_app_add()", section);
    }
    return fail(p, "unknown section [%s]", section);
}

static int on_entry(void *user, const char *section, const char *key,
                    const char *value)
{
    struct parse *p = user;
    struct lib_config *cfg = p->cfg;
    uint64_t x;

    if (section[0] == '\0') {
        /* inih goes on after a malformed line; what follows it then
         * lands outside any section. */
        return fail(p, "syntax error, or a key outside any [section]");
    }
    if (p->cur_dup) {
        return 0; /* reported at its header: the keys would only repeat it */
    }
    if (!p->continued && !repeatable(section, key) &&
        strcmp(section, "nodes") != 0) { /* [nodes] says "listed twice" */
        for (unsigned k = 0; k < p->n_keys; k++) {
            if (strcmp(p->keys[k], key) == 0) {
                return fail(p, "[%s]: key \"%s\" given twice (one value "
                               "per key: remove one)", section, key);
            }
        }
        if (p->n_keys < SEEN_KEYS) {
            snprintf(p->keys[p->n_keys++], SEEN_NAME, "%s", key);
        }
    }
    if (strcmp(section, "nodes") == 0) {
        return on_node_entry(p, key, value);
    }
    if (strcmp(section, "node") == 0) {
        if (strcmp(key, "name") == 0) {
            if (strlen(value) > BATON_NAME_MAX || value[0] == '\0') {
                return fail(p, "[node] name: too long or empty");
            }
            snprintf(cfg->self_name, sizeof(cfg->self_name), "%s", value);
        } else if (strcmp(key, "cookie_file") == 0) {
            snprintf(cfg->cookie_file, sizeof(cfg->cookie_file), "%s", value);
        } else if (strcmp(key, "state_dir") == 0) {
            if (value[0] == '\0' || strlen(value) >= 256) {
                return fail(p,
                            "[node] state_dir: empty, or longer than "
                            "255 bytes");
            }
            snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", value);
        } else if (strcmp(key, "control_socket_ro") == 0) {
            if (strlen(value) >= LIB_SOCKET_PATH_MAX) {
                return fail(p, "[node] control_socket_ro: path longer than "
                               "107 bytes");
            }
            snprintf(cfg->control_socket_ro, sizeof(cfg->control_socket_ro),
                     "%s", value);
        } else if (strcmp(key, "control_group") == 0) {
            /* Looked up now: a group this host does not know refuses the
             * file, instead of a socket nobody can use. */
            struct group *gr = getgrnam(value);
            if (gr == NULL) {
                return fail(p, "[node] control_group: no group \"%.64s\" "
                               "on this host",
                            value);
            }
            cfg->control_group_set = true;
            cfg->control_gid = (uint32_t)gr->gr_gid;
        } else if (strcmp(key, "control_socket") == 0) {
            if (strlen(value) >= LIB_SOCKET_PATH_MAX) {
                return fail(p, "[node] control_socket: path longer than "
                               "107 bytes");
            }
            snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s",
                     value);
        } else if (strcmp(key, "listen") == 0) {
            if (!parse_addr(value, cfg->listen_host, sizeof(cfg->listen_host),
                            &cfg->listen_port)) {
                return fail(p, "[node] listen: \"%s\" is not host:port",
                            value);
            }
        } else if (strcmp(key, "metrics_listen") == 0) {
            if (!parse_addr(value, cfg->metrics_host,
                            sizeof(cfg->metrics_host), &cfg->metrics_port) ||
                !is_ip(cfg->metrics_host)) {
                cfg->metrics_host[0] = '\0';
                return fail(p, "[node] metrics_listen: \"%s\" is not "
                               "address:port (an IPv4 or [IPv6] address, a "
                               "port 1-65535)", value);
            }
        } else if (strcmp(key, "sync_nodes_mandatory") == 0 ||
                   strcmp(key, "sync_nodes_optional") == 0) {
            /* [nodes] usually comes later: resolved at the end. */
            if (strlen(value) >= LIB_LIST_MAX) {
                return fail(p, "[node] %s: too long", key);
            }
            snprintf(cfg->sync_lists[key[11] == 'm' ? 0 : 1], LIB_LIST_MAX,
                     "%s", value);
        } else if (strcmp(key, "sync_nodes_timeout") == 0) {
            /* reference §1.3: > 0 ms or infinity; 0 is an error there */
            if (!lib_config_ms(value, &cfg->sync_timeout_ms) ||
                cfg->sync_timeout_ms == 0) {
                return fail(p, "[node] sync_nodes_timeout: \"%s\" is not a "
                               "number of ms > 0 or infinity", value);
            }
            cfg->sync_timeout_set = true;
        } else if (strcmp(key, "log_level") == 0) {
            static const char *const levels[] = {"debug", "info", "warn",
                                                 "error"};
            cfg->log_level = -1;
            for (int i = 0; i < 4; i++) {
                if (strcasecmp(value, levels[i]) == 0) {
                    cfg->log_level = i;
                }
            }
            if (cfg->log_level < 0) {
                return fail(p, "[node] log_level: \"%s\" is not one of "
                               "debug, info, warn, error", value);
            }
        } else {
            return fail(p, "[node]: unknown key \"%s\"", key);
        }
        return 1;
    }
    if (strcmp(section, "cluster") == 0) {
        if (strcmp(key, "heartbeat_ms") == 0) {
            if (!lib_config_u64(value, 10, 60000, &x)) {
                return fail(p, "[cluster] heartbeat_ms: \"%s\" is not a "
                               "number of ms in 10..60000", value);
            }
            cfg->io.heartbeat_ms = x;
        } else if (strcmp(key, "heartbeat_miss") == 0) {
            if (!lib_config_u64(value, 2, 100, &x)) {
                return fail(p, "[cluster] heartbeat_miss: \"%s\" is not in "
                               "2..100", value);
            }
            cfg->io.heartbeat_miss = x;
        } else if (strcmp(key, "sync_window_ms") == 0) {
            if (!lib_config_u64(value, 1, 3600000, &x)) {
                return fail(p, "[cluster] sync_window_ms: \"%s\" is not a "
                               "number of ms in 1..3600000", value);
            }
            cfg->io.sync_window_ms = x;
        } else if (strcmp(key, "names_cap") == 0) {
            if (!lib_config_u64(value, 16, UINT32_MAX, &x) ||
                (x & (x - 1)) != 0) {
                return fail(p, "[cluster] names_cap: \"%s\" is not a power "
                               "of two in 16..%u", value,
                            LIB_NAMES_CAP_MAX);
            }
            if (x > LIB_NAMES_CAP_MAX) {
                return fail(p, "[cluster] names_cap: %s is above %u: a full "
                               "table's snapshot would not fit a link's "
                               "16 MiB write queue, so a node could not "
                               "rejoin",
                            value, LIB_NAMES_CAP_MAX);
            }
            cfg->io.names_cap = (uint32_t)x;
        } else if (strcmp(key, "max_drift") == 0) {
            if (!parse_drift(value, &cfg->io.max_drift_ppm)) {
                return fail(p, "[cluster] max_drift: \"%s\" is not a "
                               "percentage in 0.01%%..10%% (e.g. 1%%)",
                            value);
            }
        } else {
            return fail(p, "[cluster]: unknown key \"%s\"", key);
        }
        return 1;
    }
    return other_section(p, section, key, value);
}

/* A relative cookie path (or state_dir) is relative to the config
 * file's directory. */
static void resolve_path(const char *config_path, char *path, size_t len)
{
    char buf[BATON_PATH_MAX];
    const char *slash = strrchr(config_path, '/');
    size_t dir = slash ? (size_t)(slash - config_path) + 1 : 0;
    size_t rest = strlen(path);

    if (path[0] == '/' || slash == NULL || dir + rest + 1 > sizeof(buf) ||
        dir + rest + 1 > len) {
        return; /* absolute, or too long: open() will say so */
    }
    memcpy(buf, config_path, dir);
    memcpy(buf + dir, path, rest + 1);
    memcpy(path, buf, dir + rest + 1);
}

static int load_cookie(struct lib_config *cfg, char *err, size_t err_len)
{
    struct stat st;
    ssize_t n;
    int fd;

    fd = open(cfg->cookie_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, err_len, "cookie file %s: %s", cfg->cookie_file,
                 strerror(errno));
        return BATON_EINVAL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "cookie file %s: not a regular file",
                 cfg->cookie_file);
        close(fd);
        return BATON_EINVAL;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, err_len,
                 "cookie file %s is accessible by group or others (mode "
                 "%03o): refusing it; run chmod 600 %s",
                 cfg->cookie_file, (unsigned)(st.st_mode & 0777),
                 cfg->cookie_file);
        close(fd);
        return BATON_EINVAL;
    }
    n = read(fd, cfg->io.cookie, sizeof(cfg->io.cookie));
    close(fd);
    while (n > 0 && (cfg->io.cookie[n - 1] == '\n' ||
                     cfg->io.cookie[n - 1] == '\r')) {
        n--;
    }
    if (n <= 0 || (size_t)n == sizeof(cfg->io.cookie)) {
        snprintf(err, err_len, "cookie file %s: %s", cfg->cookie_file,
                 n <= 0 ? "empty" : "longer than 1023 bytes");
        return BATON_EINVAL;
    }
    cfg->io.cookie_len = (size_t)n;
    return 0;
}

static void report(struct parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct parse *p, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(p, line, fmt, ap);
    va_end(ap);
}

/* What every file needs once it is read. */
static void finish(struct parse *p)
{
    struct lib_config *cfg = p->cfg;
    struct baton_io_config *io = &cfg->io;
    int self = -1;

    p->line = 0;
    if (cfg->cookie_file[0] == '\0') {
        report(p, 0, "[node] cookie_file is missing");
    }
    if (cfg->self_name[0] == '\0') {
        report(p, 0, "[node] name is missing");
        return;
    }
    if (io->n_nodes == 0) {
        report(p, 0, "[nodes] lists no node");
        return;
    }
    for (unsigned i = 0; i < io->n_nodes; i++) {
        if (strcmp(io->names[i], cfg->self_name) == 0) {
            self = (int)i;
        }
    }
    if (self < 0) {
        report(p, 0, "[node] name %s is not listed in [nodes]",
               cfg->self_name);
        return;
    }
    io->self = (unsigned)self;
    if (cfg->listen_host[0] != '\0') {
        snprintf(io->hosts[self], sizeof(io->hosts[self]), "%s",
                 cfg->listen_host);
        io->ports[self] = cfg->listen_port;
    }
    for (int l = 0; l < 2; l++) {
        parse_node_list(p, l == 0 ? "sync_nodes_mandatory"
                                  : "sync_nodes_optional",
                        cfg->sync_lists[l],
                        l == 0 ? cfg->sync_mandatory : cfg->sync_optional);
    }
    if (p->section != NULL) {
        /* The program's end check reports through lib_config_error(). */
        char msg[768] = "";
        if (p->section(p->user, cfg, NULL, NULL, NULL, msg, sizeof(msg)) !=
                0 &&
            msg[0] != '\0') {
            report(p, 0, "%s", msg);
        }
    }
    for (unsigned i = 0; i < io->n_apps; i++) {
        char msg[768] = "";
        if (lib_config_app_mode(cfg, &io->apps[i], msg, sizeof(msg)) != 0) {
            report(p, 0, "%s", msg);
        }
    }
}

/* inih's reader (fgets-like): counts lines for the messages, and sees
 * section headers, so that a section given twice is caught at its
 * header, keys or none. */
static char *read_line(char *buf, int len, void *stream)
{
    struct parse *p = stream;
    const char *c;
    size_t n;

    if (p->file != NULL) {
        if (fgets(buf, len, p->file) == NULL) {
            return NULL;
        }
    } else {
        const char *nl;
        if (*p->text == '\0' || len < 2) {
            return NULL;
        }
        nl = strchr(p->text, '\n');
        n = nl != NULL ? (size_t)(nl - p->text) + 1 : strlen(p->text);
        n = BATON_MIN(n, (size_t)len - 1);
        memcpy(buf, p->text, n);
        buf[n] = '\0';
        p->text += n;
    }
    p->line = p->newlines + 1;
    n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n') {
        p->newlines++;
    }
    p->continued = buf[0] == ' ' || buf[0] == '\t';
    for (c = buf; *c == ' ' || *c == '\t'; c++) {
    }
    /* inih's syntax errors, seen here so that each is reported (inih
     * returns the first error's line only): a header without ']', a
     * line with no '=' or ':' that is not indented (a continuation). */
    if (!p->continued && *c != '\0' && *c != '\n' && *c != '\r' &&
        *c != ';' && *c != '#' &&
        (*c == '[' ? strchr(c, ']') == NULL : strpbrk(c, "=:") == NULL)) {
        report(p, p->line, "syntax error");
    }
    if (*c == '[' && strchr(c, ']') != NULL) {
        size_t k = (size_t)(strchr(c, ']') - c - 1);
        char name[SEEN_NAME];
        snprintf(name, sizeof(name), "%.*s", (int)BATON_MIN(k, SEEN_NAME - 1),
                 c + 1);
        p->cur_dup = false;
        p->n_keys = 0;
        snprintf(p->cur, sizeof(p->cur), "%s", name);
        for (unsigned i = 0; i < p->n_sections; i++) {
            if (strcmp(p->sections[i], name) == 0) {
                report(p, p->line,
                       "[%s]: section given twice (first at line %d): "
                       "merge them into one",
                       name, p->section_line[i]);
                p->cur_dup = true;
            }
        }
        if (!p->cur_dup && p->n_sections < SEEN_SECTIONS) {
            snprintf(p->sections[p->n_sections], SEEN_NAME, "%s", name);
            p->section_line[p->n_sections++] = p->line;
        }
    }
    return buf;
}

static void parse_init(struct parse *p, struct lib_config *cfg,
                       const char *name, lib_config_section_fn section,
                       void *user, char *err, size_t err_len)
{
    memset(p, 0, sizeof(*p));
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = BATON_LOG_INFO;
    cfg->parsing = p;
    p->cfg = cfg;
    p->name = name;
    p->section = section;
    p->user = user;
    p->err = err;
    p->err_len = err_len;
    if (err_len > 0) {
        err[0] = '\0';
    }
}

/* ini_parse_stream's result: > 0 the first bad line, which, if neither
 * a handler nor the reader said why, is a syntax error. Then the checks of the whole
 * file; BATON_EINVAL if anything was reported. */
static int parsed(struct parse *p, int rv)
{
    if (rv > 0 && !p->failed) {
        report(p, rv, "syntax error");
    }
    finish(p);
    return p->failed ? BATON_EINVAL : 0;
}

int lib_config_parse(struct lib_config *cfg, const char *name,
                     const char *text, lib_config_section_fn section,
                     void *user, char *err, size_t err_len)
{
    struct parse p;
    int rv;

    parse_init(&p, cfg, name, section, user, err, err_len);
    p.text = text;
    rv = parsed(&p, ini_parse_stream(read_line, &p, on_entry, &p));
    cfg->parsing = NULL;
    return rv;
}

int lib_config_load(struct lib_config *cfg, const char *file,
                    lib_config_section_fn section, void *user, char *err,
                    size_t err_len)
{
    struct parse p;
    char msg[2 * BATON_PATH_MAX + 256]; /* may name the cookie file twice */
    int rv;

    parse_init(&p, cfg, file, section, user, err, err_len);
    p.file = fopen(file, "re");
    if (p.file == NULL) {
        report(&p, 0, "cannot read: %s", strerror(errno));
        cfg->parsing = NULL;
        return BATON_EINVAL;
    }
    rv = parsed(&p, ini_parse_stream(read_line, &p, on_entry, &p));
    fclose(p.file);
    if (cfg->cookie_file[0] != '\0') {
        resolve_path(file, cfg->cookie_file, sizeof(cfg->cookie_file));
        if (load_cookie(cfg, msg, sizeof(msg)) != 0) {
            report(&p, 0, "%s", msg);
            rv = BATON_EINVAL;
        }
    }
    if (cfg->state_dir[0] != '\0') {
        resolve_path(file, cfg->state_dir, sizeof(cfg->state_dir));
    }
    cfg->parsing = NULL;
    return rv;
}

int lib_config_priority(const struct lib_config *cfg, const char *what,
                        const char *list, uint8_t *rank, char *err,
                        size_t err_len)
{
    struct parse p = {0};

    p.err = err;
    p.err_len = err_len;
    parse_priority(&p, cfg, what, list, rank);
    return p.failed ? BATON_EINVAL : 0;
}

static int app_mode_key(const struct lib_config *cfg,
                        struct baton_app_config *ac, const char *key,
                        const char *value, char *err, size_t err_len);

int lib_config_app_key(struct lib_config *cfg, const char *app,
                       const char *key, const char *value, unsigned *idx,
                       bool *added, char *err, size_t err_len)
{
    struct baton_io_config *io = &cfg->io;
    struct baton_app_config *ac = NULL;
    size_t len = strlen(app);

    *added = false;
    for (unsigned i = 0; i < io->n_apps; i++) {
        if (strcmp(io->apps[i].name, app) == 0) {
            ac = &io->apps[i];
            *idx = i;
        }
    }
    if (ac == NULL) {
        if (len == 0 || len > BATON_APP_NAME_MAX ||
            strspn(app, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len) {
            snprintf(err, err_len, "[app %s]: an app name is 1-31 letters, "
                     "digits, '_', '.' or '-'", app);
            return BATON_EINVAL;
        }
        if (io->n_apps == BATON_APPS_MAX) {
            snprintf(err, err_len, "[app %s]: more than %d apps", app,
                     BATON_APPS_MAX);
            return BATON_EINVAL;
        }
        *idx = io->n_apps++;
        *added = true;
        ac = &io->apps[*idx];
        snprintf(ac->name, sizeof(ac->name), "%s", app);
    }
    if (strlen(value) >= LIB_LIST_MAX) {
        snprintf(err, err_len, "[app %s] %s: longer than %d bytes", app, key,
                 LIB_LIST_MAX - 1);
        return BATON_EINVAL;
    }
    if (strcmp(key, "nodes") == 0) {
        return lib_config_priority(cfg, app, value, ac->rank, err, err_len);
    }
    if (strcmp(key, "failover_timeout") == 0) {
        if (!lib_config_ms(value, &ac->failover_timeout_ms)) {
            snprintf(err, err_len, "[app %s] failover_timeout: \"%s\" is not "
                     "ms, 0 or infinity", app, value);
            return BATON_EINVAL;
        }
        return 0;
    }
    return app_mode_key(cfg, ac, key, value, err, err_len);
}

/* lease_ms and stop_margin_ms (0: unset, the default) against each
 * other and heartbeat_ms. */
static int check_lease(const struct lib_config *cfg,
                       const struct baton_app_config *ac, char *err,
                       size_t err_len)
{
    uint64_t hb = cfg->io.heartbeat_ms != 0 ? cfg->io.heartbeat_ms
                                            : BATON_HEARTBEAT_MS_DEFAULT;
    uint64_t lo = BATON_LEASE_HEARTBEATS * hb;
    uint64_t lease = ac->lease_ms != 0 ? ac->lease_ms : lo;

    if (ac->lease_ms != 0 &&
        (ac->lease_ms < lo || ac->lease_ms > BATON_LEASE_MS_MAX)) {
        /* Fewer than four heartbeats: a lost heartbeat or two would let
         * the lease lapse while the owner is healthy (quorum.md §4). */
        snprintf(err, err_len, "[app %s] lease_ms = %" PRIu64 ": not in "
                 "%" PRIu64 "..%d (at least %d x heartbeat_ms)", ac->name,
                 ac->lease_ms, lo, BATON_LEASE_MS_MAX,
                 BATON_LEASE_HEARTBEATS);
        return BATON_EINVAL;
    }
    if (ac->stop_margin_ms > lease / 2) {
        /* The app would be told to stop before half of its lease ran. */
        snprintf(err, err_len, "[app %s] stop_margin_ms = %" PRIu64 ": not "
                 "in 1..%" PRIu64 " (at most half of lease_ms, %" PRIu64
                 ")", ac->name, ac->stop_margin_ms, lease / 2, lease);
        return BATON_EINVAL;
    }
    return 0;
}

/* A lease lasts no longer than what is left of the Raft leader's own
 * (docs/design/quorum.md §4.2), at most an election timeout E =
 * heartbeat_ms x heartbeat_miss from the heartbeat a majority last
 * acknowledged. The next renewal comes a heartbeat and a round trip
 * later, and the app is told to stop stop_margin_ms before the end: E
 * must exceed all three, or every lease lapses before its renewal and
 * the app flaps (docs/config.md "Quorum mode"). */
static int check_renewal(const struct lib_config *cfg,
                         const struct baton_app_config *ac, uint64_t hb,
                         char *err, size_t err_len)
{
    uint64_t miss = cfg->io.heartbeat_miss != 0
                        ? cfg->io.heartbeat_miss
                        : BATON_HEARTBEAT_MISS_DEFAULT;
    uint64_t need = ac->stop_margin_ms + hb + LIB_LEASE_RTT_MS;

    if (hb * miss > need) {
        return 0;
    }
    snprintf(err, err_len, "[app %s] stop_margin_ms = %" PRIu64 ": the "
             "election timeout (heartbeat_ms %" PRIu64 " x heartbeat_miss "
             "%" PRIu64 " = %" PRIu64 " ms) must exceed stop_margin_ms + "
             "heartbeat_ms + %d ms (%" PRIu64 " ms), or the lease lapses "
             "before each renewal: lower stop_margin_ms or raise "
             "heartbeat_miss", ac->name, ac->stop_margin_ms, hb, miss,
             hb * miss, LIB_LEASE_RTT_MS, need);
    return BATON_EINVAL;
}

/* mode, lease_ms, stop_margin_ms of [app NAME]. Checked here against
 * what the file said so far (so that the message names the line), and
 * again by lib_config_app_mode() once it is read: heartbeat_ms and mode
 * may come later. */
static int app_mode_key(const struct lib_config *cfg,
                        struct baton_app_config *ac, const char *key,
                        const char *value, char *err, size_t err_len)
{
    uint64_t x;

    if (strcmp(key, "mode") == 0) {
        if (strcmp(value, "available") == 0) {
            ac->mode = BATON_APP_AVAILABLE;
        } else if (strcmp(value, "quorum") == 0) {
            ac->mode = BATON_APP_QUORUM;
        } else {
            snprintf(err, err_len, "[app %s] mode = %s: not available or "
                     "quorum", ac->name, value);
            return BATON_EINVAL;
        }
        return 0;
    }
    if (strcmp(key, "lease_ms") == 0 || strcmp(key, "stop_margin_ms") == 0) {
        if (!lib_config_u64(value, 1, BATON_LEASE_MS_MAX, &x)) {
            snprintf(err, err_len, "[app %s] %s = %s: not a number of ms "
                     "in 1..%d", ac->name, key, value, BATON_LEASE_MS_MAX);
            return BATON_EINVAL;
        }
        *(key[0] == 'l' ? &ac->lease_ms : &ac->stop_margin_ms) = x;
        return check_lease(cfg, ac, err, err_len);
    }
    return 1;
}

int lib_config_app_mode(const struct lib_config *cfg,
                        struct baton_app_config *ac, char *err,
                        size_t err_len)
{
    uint64_t hb = cfg->io.heartbeat_ms != 0 ? cfg->io.heartbeat_ms
                                            : BATON_HEARTBEAT_MS_DEFAULT;

    if (ac->mode != BATON_APP_QUORUM) {
        if (ac->lease_ms != 0 || ac->stop_margin_ms != 0) {
            snprintf(err, err_len, "[app %s] %s = %" PRIu64 ": only for "
                     "mode = quorum", ac->name,
                     ac->lease_ms != 0 ? "lease_ms" : "stop_margin_ms",
                     ac->lease_ms != 0 ? ac->lease_ms : ac->stop_margin_ms);
            return BATON_EINVAL;
        }
        return 0;
    }
    if (check_lease(cfg, ac, err, err_len) != 0) {
        return BATON_EINVAL;
    }
    if (ac->lease_ms == 0) {
        ac->lease_ms = BATON_LEASE_HEARTBEATS * hb;
    }
    if (ac->stop_margin_ms == 0) {
        ac->stop_margin_ms = ac->lease_ms / 4;
    }
    return check_renewal(cfg, ac, hb, err, err_len);
}

int lib_config_default_socket(struct lib_config *cfg, char *err,
                              size_t err_len)
{
    int n;

    if (cfg->control_socket[0] != '\0') {
        return 0;
    }
    n = snprintf(cfg->control_socket, sizeof(cfg->control_socket),
                 "/tmp/baton-%s.sock", cfg->self_name);
    if (n < 0 || (size_t)n >= sizeof(cfg->control_socket)) {
        cfg->control_socket[0] = '\0';
        snprintf(err, err_len, "[node] control_socket: the default, "
                 "/tmp/baton-%s.sock, is longer than %d bytes: set one",
                 cfg->self_name, LIB_SOCKET_PATH_MAX - 1);
        return BATON_EINVAL;
    }
    return 0;
}
