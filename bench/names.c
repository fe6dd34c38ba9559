/* Global-name benchmarks (issue 5, docs/benchmarks.md "Names"), driven by
 * bench/names.sh. Each subcommand prints one line of figures on stdout:
 *
 *   local LOOKUPS                      find and node lookups per second
 *   regunreg BSOCK PAIRS INFLIGHT      register+unregister pairs per second
 *   whereis ASOCK BSOCK COUNT INFLIGHT whereis per second through b
 *   rtt ASOCK BSOCK CALLS SIZE         p50 and p99 call round trip, µs
 *   calls ASOCK BSOCK CALLERS DEPTH MS calls per second
 *   kill9 ASOCK BSOCK PID              kill -9 of PID -> whereis "none", ms
 *                                      (then whereis asked, kill's epoch µs)
 *   pingpong N CPU1 CPU2               p50 and p99 Unix socket round trip
 *                                      between two processes pinned to
 *                                      CPUs CPU1 and CPU2 (positions in
 *                                      the affinity set), µs
 *
 * ASOCK and BSOCK are the control sockets of batond a (the names' owner)
 * and b (the callers'). Sessions speak raw JSON lines (docs/control.md):
 * requests are written with snprintf and answers are scanned for the few
 * members the benchmark needs, so the client costs as little as it can.
 * Everything runs in one thread: a poll() loop over the sessions, the
 * holder's included. Errors go to stderr and exit 1. */
#define _GNU_SOURCE /* sched_setaffinity, for pingpong's placement */
#include "util/setup.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/names.h"
#include "core/node.h"

#define BUF_CAP (1u << 20)
#define CALLERS_MAX (64u)

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("baton-bench-names: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static unsigned long arg_num(const char *s, const char *what)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0) {
        die("%s: not a positive number: %s", what, s);
    }
    return v;
}

/* ---- a session: a socket, its input buffer and its output batch ------ */

struct conn {
    int fd;
    const char *path;
    size_t len, off; /* input: buf[off..len) not yet taken */
    size_t out_len;  /* output batch not yet written */
    char buf[BUF_CAP];
    char out[BUF_CAP];
};

static struct conn *conn_open(const char *path)
{
    struct sockaddr_un sa;
    struct conn *c = malloc(sizeof(*c));

    if (c == NULL) {
        die("out of memory");
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        die("%s: socket path too long", path);
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        die("%s: %s", path, strerror(errno));
    }
    c->path = path;
    c->len = c->off = c->out_len = 0;
    return c;
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c);
}

/* Appends one formatted request line (the newline is added). */
static void conn_add(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void conn_add(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    int n;
    size_t room = sizeof(c->out) - c->out_len;

    va_start(ap, fmt);
    n = vsnprintf(c->out + c->out_len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 1 >= room) {
        die("%s: output batch full", c->path);
    }
    c->out_len += (size_t)n;
    c->out[c->out_len++] = '\n';
}

/* Writes the batch (blocking: batond always reads). */
static void conn_flush(struct conn *c)
{
    size_t done = 0;

    while (done < c->out_len) {
        ssize_t n = write(c->fd, c->out + done, c->out_len - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("%s: write: %s", c->path, strerror(errno));
        }
        done += (size_t)n;
    }
    c->out_len = 0;
}

/* Reads what is there (blocks until something is). */
static void conn_fill(struct conn *c)
{
    ssize_t n;

    if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->len == sizeof(c->buf)) {
        die("%s: answer line too long", c->path);
    }
    do {
        n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        die("%s: read: %s", c->path, strerror(errno));
    }
    if (n == 0) {
        die("%s: batond closed the session", c->path);
    }
    c->len += (size_t)n;
}

/* The next complete line in the buffer (NUL-terminated), or NULL. */
static char *conn_line(struct conn *c)
{
    char *start = c->buf + c->off;
    char *nl = memchr(start, '\n', c->len - c->off);

    if (nl == NULL) {
        return NULL;
    }
    *nl = '\0';
    c->off = (size_t)(nl - c->buf) + 1;
    return start;
}

/* The next line, waiting for it. */
static char *conn_wait_line(struct conn *c)
{
    char *l;

    while ((l = conn_line(c)) == NULL) {
        conn_fill(c);
    }
    return l;
}

/* ---- scanning answers -------------------------------------------------- */

/* The unsigned number after key (e.g. "\"id\":"), or -1 if absent. */
static int64_t scan_num(const char *line, const char *key)
{
    const char *p = strstr(line, key);

    if (p == NULL) {
        return -1;
    }
    return (int64_t)strtoll(p + strlen(key), NULL, 10);
}

static bool is_ok(const char *line)
{
    return strstr(line, "\"ok\":true") != NULL;
}

static bool is_event(const char *line)
{
    return strncmp(line, "{\"event\":", 9) == 0;
}

static bool has_error(const char *line, const char *token)
{
    char key[64];

    snprintf(key, sizeof(key), "\"error\":\"%s\"", token);
    return strstr(line, key) != NULL;
}

/* The raw (still escaped) contents of the string member key, e.g.
 * "\"data\":\"": sets *len and returns its start, or NULL. */
static const char *scan_str(const char *line, const char *key, size_t *len)
{
    const char *p = strstr(line, key);
    const char *q;

    if (p == NULL) {
        return NULL;
    }
    p += strlen(key);
    for (q = p; *q != '\0' && *q != '"'; q++) {
        if (*q == '\\' && q[1] != '\0') {
            q++;
        }
    }
    *len = (size_t)(q - p);
    return p;
}

/* Sends one request and waits for the answer with its id (events that
 * come meanwhile are dropped: the callers here receive none). */
static char *request(struct conn *c, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *request(struct conn *c, int64_t id, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *l;

    va_start(ap, fmt);
    n = vsnprintf(c->out, sizeof(c->out) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(c->out) - 1) {
        die("request too long");
    }
    c->out_len = (size_t)n;
    c->out[c->out_len++] = '\n';
    conn_flush(c);
    for (;;) {
        l = conn_wait_line(c);
        if (!is_event(l) && scan_num(l, "\"id\":") == id) {
            return l;
        }
    }
}

/* A holder session on a: registers name, then waits until b's replica
 * shows it (so a caller on b finds it at once). */
static struct conn *hold(const char *asock,
                         const char *bsock,
                         const char *name,
                         struct conn **bout)
{
    struct conn *h = conn_open(asock);
    struct conn *b = conn_open(bsock);
    uint64_t deadline = now_ns() + 5000000000u;
    char *l;

    for (;;) {
        l = request(h, 1,
                    "{\"op\":\"register\",\"name\":\"%s\",\"meta\":\"bench\","
                    "\"id\":1}",
                    name);
        if (is_ok(l)) {
            break;
        }
        /* A cluster still settling answers busy or unreachable. */
        if (now_ns() > deadline) {
            die("register %s on a: %s", name, l);
        }
        pause_ms(10);
    }
    for (;;) {
        l = request(b, 2, "{\"op\":\"whereis\",\"name\":\"%s\",\"id\":2}",
                    name);
        if (is_ok(l)) {
            break;
        }
        if (!has_error(l, "not_found") || now_ns() > deadline) {
            die("whereis %s on b: %s", name, l);
        }
        pause_ms(1);
    }
    *bout = b;
    return h;
}

/* ---- local reads: the core's table and the node --------------------- */

#define LOCAL_NAMES (1000u)
#define LOCAL_CAP (4096u)

static int cmd_local(int argc, char **argv)
{
    unsigned long lookups = argc > 2 ? arg_num(argv[2], "LOOKUPS") : 20000000ul;
    struct baton_name *slots = calloc(3 * LOCAL_CAP, sizeof(*slots));
    struct baton_name *tslots = calloc(LOCAL_CAP, sizeof(*tslots));
    struct baton_node *node = calloc(1, sizeof(*node));
    struct baton_node_config cfg;
    struct baton_names t;
    static char keys[LOCAL_NAMES][48];
    uint64_t sum = 0, t0;
    double find_s, node_s;

    if (slots == NULL || tslots == NULL || node == NULL) {
        die("out of memory");
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.n_nodes = 3;
    cfg.self = 0;
    cfg.candidate[0] = cfg.candidate[1] = cfg.candidate[2] = 1;
    cfg.names_slots = slots;
    cfg.names_cap = LOCAL_CAP;
    if (baton_node_init(node, &cfg, 1, 42, 0) != 0) {
        die("baton_node_init failed");
    }
    baton_names_init(&t, tslots, LOCAL_CAP);
    for (unsigned i = 0; i < LOCAL_NAMES; i++) {
        struct baton_name e;
        memset(&e, 0, sizeof(e));
        snprintf(keys[i], sizeof(keys[i]), "service.%u.worker", i * 7919u);
        memcpy(e.name, keys[i], strlen(keys[i]) + 1);
        e.used = 1;
        e.owner = 0; /* self, this life: visible to baton_node_whereis */
        e.owner_inc = 1;
        e.endpoint = i + 1u;
        e.epoch = i + 1u;
        e.meta_len = 5;
        memcpy(e.meta, "bench", 5);
        if (baton_names_put(&t, &e) != 0 ||
            baton_names_put(&node->names, &e) != 0) {
            die("baton_names_put failed");
        }
    }
    /* Every lookup hits; the endpoints are summed so none is skipped. */
    t0 = now_ns();
    for (unsigned long k = 0; k < lookups; k++) {
        const struct baton_name *e =
            baton_names_find(&t, keys[k % LOCAL_NAMES]);
        sum += e != NULL ? e->endpoint : 0;
    }
    find_s = (double)(now_ns() - t0) / 1e9;
    t0 = now_ns();
    for (unsigned long k = 0; k < lookups; k++) {
        const struct baton_name *e =
            baton_node_whereis(node, keys[k % LOCAL_NAMES]);
        sum += e != NULL ? e->endpoint : 0;
    }
    node_s = (double)(now_ns() - t0) / 1e9;
    /* Each endpoint (1..1000) is hit lookups/1000 times per loop. */
    if (sum != 2 * (uint64_t)(lookups / LOCAL_NAMES) * 500500u +
                   2 * (uint64_t)((lookups % LOCAL_NAMES) *
                                  (lookups % LOCAL_NAMES + 1) / 2)) {
        die("lookups missed (sum %" PRIu64 ")", sum);
    }
    printf("%.0f %.0f\n", (double)lookups / find_s, (double)lookups / node_s);
    free(node);
    free(tslots);
    free(slots);
    return 0;
}

/* ---- register + unregister through b --------------------------------- */

static int cmd_regunreg(int argc, char **argv)
{
    struct conn *b;
    unsigned long pairs, inflight, sent = 0, answers = 0, out = 0;
    uint64_t t0, t1;
    int pid = (int)getpid();
    char *l;

    if (argc != 5) {
        die("usage: regunreg BSOCK PAIRS INFLIGHT");
    }
    b = conn_open(argv[2]);
    pairs = arg_num(argv[3], "PAIRS");
    inflight = arg_num(argv[4], "INFLIGHT"); /* requests, 2 per pair */
    t0 = now_ns();
    while (answers < 2 * pairs) {
        /* A pair is sent whole: register then unregister of one name
         * (one name per pair; "multi" lets the pairs overlap). */
        while (sent < pairs && out + 2 <= BATON_MAX(inflight, 2ul)) {
            conn_add(b,
                     "{\"op\":\"register\",\"name\":\"bench.ru.%d.%lu\","
                     "\"multi\":true,\"id\":%lu}",
                     pid, sent, 2 * sent);
            conn_add(b,
                     "{\"op\":\"unregister\",\"name\":\"bench.ru.%d.%lu\","
                     "\"id\":%lu}",
                     pid, sent, 2 * sent + 1);
            sent++;
            out += 2;
        }
        conn_flush(b);
        conn_fill(b);
        while ((l = conn_line(b)) != NULL) {
            if (is_event(l)) {
                continue;
            }
            if (!is_ok(l)) {
                die("regunreg: %s", l);
            }
            answers++;
            out--;
        }
    }
    t1 = now_ns();
    printf("%.0f\n", (double)pairs / ((double)(t1 - t0) / 1e9));
    conn_close(b);
    return 0;
}

/* ---- whereis through b ----------------------------------------------- */

static int cmd_whereis(int argc, char **argv)
{
    struct conn *h, *b;
    unsigned long count, inflight, sent = 0, answers = 0;
    uint64_t t0, t1;
    char name[64];
    char *l;

    if (argc != 6) {
        die("usage: whereis ASOCK BSOCK COUNT INFLIGHT");
    }
    count = arg_num(argv[4], "COUNT");
    inflight = arg_num(argv[5], "INFLIGHT");
    snprintf(name, sizeof(name), "bench.where.%d", (int)getpid());
    h = hold(argv[2], argv[3], name, &b);
    t0 = now_ns();
    while (answers < count) {
        while (sent < count && sent - answers < inflight) {
            conn_add(b, "{\"op\":\"whereis\",\"name\":\"%s\",\"id\":%lu}", name,
                     100 + sent);
            sent++;
        }
        conn_flush(b);
        conn_fill(b);
        while ((l = conn_line(b)) != NULL) {
            if (!is_ok(l)) {
                die("whereis: %s", l);
            }
            answers++;
        }
    }
    t1 = now_ns();
    printf("%.0f\n", (double)count / ((double)(t1 - t0) / 1e9));
    conn_close(b);
    conn_close(h);
    return 0;
}

/* ---- calls: a holder on a echoes, callers on b ------------------------ */

/* Answers every call event in the holder's buffer with its own data. */
static void echo_calls(struct conn *h)
{
    char *l;

    while ((l = conn_line(h)) != NULL) {
        int64_t cid;
        const char *d;
        size_t n;
        if (!is_event(l) || strstr(l, "\"event\":\"call\"") == NULL) {
            if (!is_event(l) && !is_ok(l)) {
                die("holder: %s", l);
            }
            continue;
        }
        cid = scan_num(l, "\"call\":");
        d = scan_str(l, "\"data\":\"", &n);
        if (cid < 1 || d == NULL) {
            die("holder: bad call event: %s", l);
        }
        conn_add(h, "{\"op\":\"reply\",\"call\":%" PRId64 ",\"data\":\"%.*s\"}",
                 cid, (int)n, d);
    }
    conn_flush(h);
}

/* Waits for input on pf; false after 5 s without any. */
static bool wait_input(struct pollfd *pf, nfds_t n)
{
    return poll(pf, n, 5000) > 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int cmd_rtt(int argc, char **argv)
{
    struct conn *h, *b;
    unsigned long calls, size;
    uint64_t *lat;
    char name[64];
    char data[1024];
    struct pollfd pf[2];

    if (argc != 6) {
        die("usage: rtt ASOCK BSOCK CALLS SIZE");
    }
    calls = arg_num(argv[4], "CALLS");
    size = arg_num(argv[5], "SIZE");
    if (size >= sizeof(data)) {
        die("SIZE: at most %zu", sizeof(data) - 1);
    }
    memset(data, 'x', size);
    data[size] = '\0';
    lat = calloc(calls, sizeof(*lat));
    if (lat == NULL) {
        die("out of memory");
    }
    snprintf(name, sizeof(name), "bench.echo.%d", (int)getpid());
    h = hold(argv[2], argv[3], name, &b);
    pf[0].fd = h->fd;
    pf[1].fd = b->fd;
    pf[0].events = pf[1].events = POLLIN;
    /* Warm up (first calls allocate), then measure one call at a time. */
    for (unsigned long i = 0; i < calls + 200; i++) {
        uint64_t t0 = now_ns();
        bool done = false;
        conn_add(b,
                 "{\"op\":\"call\",\"name\":\"%s\",\"data\":\"%s\","
                 "\"id\":%lu}",
                 name, data, i + 10);
        conn_flush(b);
        while (!done) {
            char *l;
            if (!wait_input(pf, 2)) {
                die("rtt: no answer within 5 s");
            }
            if (pf[0].revents != 0) {
                conn_fill(h);
                echo_calls(h);
            }
            if (pf[1].revents != 0) {
                conn_fill(b);
                while ((l = conn_line(b)) != NULL) {
                    if (!is_ok(l)) {
                        die("call: %s", l);
                    }
                    done = true;
                }
            }
        }
        if (i >= 200) {
            lat[i - 200] = now_ns() - t0;
        }
    }
    qsort(lat, calls, sizeof(*lat), cmp_u64);
    printf("%.1f %.1f\n", (double)lat[calls / 2] / 1e3,
           (double)lat[(calls * 99) / 100] / 1e3);
    free(lat);
    conn_close(b);
    conn_close(h);
    return 0;
}

static int cmd_calls(int argc, char **argv)
{
    struct conn *h, *b0;
    struct conn *cl[CALLERS_MAX];
    struct pollfd pf[CALLERS_MAX + 1];
    unsigned long callers, depth, ms, done = 0, counted = 0;
    uint64_t start, end, t_first = 0;
    char name[64];
    const char *data = "0123456789abcdef";

    if (argc != 7) {
        die("usage: calls ASOCK BSOCK CALLERS DEPTH MS");
    }
    callers = arg_num(argv[4], "CALLERS");
    depth = arg_num(argv[5], "DEPTH");
    ms = arg_num(argv[6], "MS");
    if (callers > CALLERS_MAX) {
        die("CALLERS: at most %u", CALLERS_MAX);
    }
    snprintf(name, sizeof(name), "bench.echo.%d", (int)getpid());
    h = hold(argv[2], argv[3], name, &b0);
    pf[0].fd = h->fd;
    pf[0].events = POLLIN;
    for (unsigned long k = 0; k < callers; k++) {
        cl[k] = k == 0 ? b0 : conn_open(argv[3]);
        pf[k + 1].fd = cl[k]->fd;
        pf[k + 1].events = POLLIN;
        for (unsigned long j = 0; j < depth; j++) {
            conn_add(cl[k],
                     "{\"op\":\"call\",\"name\":\"%s\",\"data\":\"%s\","
                     "\"id\":%lu}",
                     name, data, 10 + j);
        }
        conn_flush(cl[k]);
    }
    /* The first 200 ms warm up; calls are counted for MS after that. */
    start = now_ns();
    end = start + (200 + (uint64_t)ms) * 1000000u;
    for (;;) {
        uint64_t t = now_ns();
        if (t_first == 0 && t >= start + 200000000u) {
            t_first = t;
            counted = done;
        }
        if (t >= end) {
            break;
        }
        if (!wait_input(pf, (nfds_t)callers + 1)) {
            die("calls: no answer within 5 s");
        }
        if (pf[0].revents != 0) {
            conn_fill(h);
            echo_calls(h);
        }
        for (unsigned long k = 0; k < callers; k++) {
            char *l;
            if (pf[k + 1].revents == 0) {
                continue;
            }
            conn_fill(cl[k]);
            while ((l = conn_line(cl[k])) != NULL) {
                if (!is_ok(l)) {
                    die("call: %s", l);
                }
                done++;
                conn_add(cl[k],
                         "{\"op\":\"call\",\"name\":\"%s\",\"data\":\"%s\","
                         "\"id\":%" PRId64 "}",
                         name, data, scan_num(l, "\"id\":"));
            }
            conn_flush(cl[k]);
        }
    }
    printf("%.0f\n",
           (double)(done - counted) / ((double)(now_ns() - t_first) / 1e9));
    for (unsigned long k = 0; k < callers; k++) {
        conn_close(cl[k]);
    }
    conn_close(h);
    return 0;
}

/* ---- the machine's floor: one round trip between two processes -------- */

/* Pins the calling process to the which-th CPU it may run on (0: the
 * first of its affinity set). */
static void pin(const char *which)
{
    cpu_set_t allowed, set;
    char *end;
    long k = strtol(which, &end, 10);
    int cpu = -1;

    if (end == which || *end != '\0' || k < 0) {
        die("not a CPU position: %s", which);
    }
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
        die("sched_getaffinity: %s", strerror(errno));
    }
    for (int c = 0; c < CPU_SETSIZE && cpu < 0; c++) {
        if (CPU_ISSET((size_t)c, &allowed) && k-- == 0) {
            cpu = c;
        }
    }
    if (cpu < 0) {
        die("no CPU at position %s of the affinity set", which);
    }
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        die("CPU %d: %s", cpu, strerror(errno));
    }
}

/* A 16-byte ping-pong over a Unix socketpair with a forked echo child,
 * the parent on CPU1 and the child on CPU2 (positions in the affinity
 * set, so "0 0" is one CPU and "0 1" two): what one wake-up each way
 * costs here, the floor under every figure that crosses processes (a
 * call crosses six times). */
static int cmd_pingpong(int argc, char **argv)
{
    unsigned long n;
    uint64_t *lat;
    int sv[2];
    pid_t child;
    char b[64];

    if (argc != 5) {
        die("usage: pingpong N CPU1 CPU2");
    }
    n = arg_num(argv[2], "N");
    lat = calloc(n, sizeof(*lat));
    if (lat == NULL) {
        die("out of memory");
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        die("socketpair: %s", strerror(errno));
    }
    child = fork();
    if (child < 0) {
        die("fork: %s", strerror(errno));
    }
    if (child == 0) {
        ssize_t k;
        pin(argv[4]);
        close(sv[0]);
        while ((k = read(sv[1], b, sizeof(b))) > 0) {
            if (write(sv[1], b, (size_t)k) != k) {
                break;
            }
        }
        _exit(0);
    }
    close(sv[1]);
    pin(argv[3]);
    for (unsigned long i = 0; i < n + 100; i++) {
        uint64_t t0 = now_ns();
        if (write(sv[0], "0123456789abcdef", 16) != 16 ||
            read(sv[0], b, sizeof(b)) <= 0) {
            die("pingpong: %s", strerror(errno));
        }
        if (i >= 100) {
            lat[i - 100] = now_ns() - t0;
        }
    }
    close(sv[0]); /* the child sees EOF and exits */
    waitpid(child, NULL, 0);
    qsort(lat, n, sizeof(*lat), cmp_u64);
    printf("%.1f %.1f\n", (double)lat[n / 2] / 1e3,
           (double)lat[(n * 99) / 100] / 1e3);
    free(lat);
    return 0;
}

/* ---- kill -9 of a -> whereis on b answers not_found ------------------- */

static int cmd_kill9(int argc, char **argv)
{
    struct conn *h, *b;
    long pid;
    char name[64];
    uint64_t t0, t1, deadline;
    unsigned long asked = 0;
    struct timespec wall;
    char *l;

    if (argc != 5) {
        die("usage: kill9 ASOCK BSOCK PID");
    }
    pid = (long)arg_num(argv[4], "PID");
    snprintf(name, sizeof(name), "bench.kill.%d", (int)getpid());
    h = hold(argv[2], argv[3], name, &b);
    /* Warm the loop up for 20 ms, then kill and keep asking. */
    deadline = now_ns() + 20000000u;
    while (now_ns() < deadline) {
        l = request(b, 1, "{\"op\":\"whereis\",\"name\":\"%s\",\"id\":1}",
                    name);
        if (!is_ok(l)) {
            die("whereis before the kill: %s", l);
        }
    }
    clock_gettime(CLOCK_REALTIME, &wall);
    t0 = now_ns();
    if (kill((pid_t)pid, SIGKILL) != 0) {
        die("kill %ld: %s", pid, strerror(errno));
    }
    deadline = t0 + 5000000000u;
    for (;;) {
        l = request(b, 1, "{\"op\":\"whereis\",\"name\":\"%s\",\"id\":1}",
                    name);
        asked++;
        if (has_error(l, "not_found")) {
            break;
        }
        if (!is_ok(l)) {
            die("whereis after the kill: %s", l);
        }
        if (now_ns() > deadline) {
            die("whereis still answers after 5 s");
        }
    }
    t1 = now_ns();
    /* The wall clock of the kill lets batond's log be compared. */
    printf("%.3f %lu %lld%06ld\n", (double)(t1 - t0) / 1e6, asked,
           (long long)wall.tv_sec, wall.tv_nsec / 1000);
    conn_close(b);
    conn_close(h);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    signal(SIGPIPE, SIG_IGN);
    if (strcmp(cmd, "local") == 0) {
        return cmd_local(argc, argv);
    }
    if (strcmp(cmd, "regunreg") == 0) {
        return cmd_regunreg(argc, argv);
    }
    if (strcmp(cmd, "whereis") == 0) {
        return cmd_whereis(argc, argv);
    }
    if (strcmp(cmd, "rtt") == 0) {
        return cmd_rtt(argc, argv);
    }
    if (strcmp(cmd, "calls") == 0) {
        return cmd_calls(argc, argv);
    }
    if (strcmp(cmd, "pingpong") == 0) {
        return cmd_pingpong(argc, argv);
    }
    if (strcmp(cmd, "kill9") == 0) {
        return cmd_kill9(argc, argv);
    }
    fprintf(stderr,
            "usage: baton-bench-names local [LOOKUPS]\n"
            "       baton-bench-names regunreg BSOCK PAIRS INFLIGHT\n"
            "       baton-bench-names whereis ASOCK BSOCK COUNT INFLIGHT\n"
            "       baton-bench-names rtt ASOCK BSOCK CALLS SIZE\n"
            "       baton-bench-names calls ASOCK BSOCK CALLERS DEPTH MS\n"
            "       baton-bench-names kill9 ASOCK BSOCK PID\n"
            "       baton-bench-names pingpong N CPU1 CPU2\n");
    return 2;
}
