/* gdict: gen_leader's global dictionary on a libbaton leader group.
 *
 * Every node keeps a dict. `store K V` goes to the leader (leader_call),
 * which stores it, broadcasts it to every other member and answers "ok";
 * `fetch K` reads the local copy. The leader's elected() sends its whole
 * dict as the sync, and surrendered() replaces the local dict with it
 * (gen_leader's behaviour). Commands: store K V, fetch K, leader, alive,
 * dump. Events are printed as lines: elected, joined X, surrendered to X,
 * down X. --slow-ms N makes the leader answer N ms late (a uv timer). */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DICT_MAX (1024)
#define CALL_TIMEOUT_MS (10000)

struct entry {
    char *key, *value;
};

struct dict {
    struct entry e[DICT_MAX];
    unsigned n;
};

/* A leader_call answered late (--slow-ms). */
struct gdict;
struct slow {
    uv_timer_t timer;
    struct gdict *gd;
    struct baton_request *req;
    struct slow *next;
};

struct gdict {
    struct ex ex;
    struct baton_group *g;
    struct dict d;
    uint64_t slow_ms;
    struct slow *slow;
};

static void dict_clear(struct dict *d)
{
    for (unsigned i = 0; i < d->n; i++) {
        free(d->e[i].key);
        free(d->e[i].value);
    }
    d->n = 0;
}

static const char *dict_get(const struct dict *d, const char *k)
{
    for (unsigned i = 0; i < d->n; i++) {
        if (strcmp(d->e[i].key, k) == 0) {
            return d->e[i].value;
        }
    }
    return NULL;
}

static void dict_put(struct dict *d, const char *k, const char *v)
{
    char *nv = strdup(v);
    unsigned i;

    if (nv == NULL) {
        return;
    }
    for (i = 0; i < d->n && strcmp(d->e[i].key, k) != 0; i++) {
    }
    if (i < d->n) {
        free(d->e[i].value);
        d->e[i].value = nv;
        return;
    }
    if (d->n == DICT_MAX || (d->e[i].key = strdup(k)) == NULL) {
        free(nv);
        return;
    }
    d->e[i].value = nv;
    d->n++;
}

/* "K V" (V may hold spaces) into the dict; false if malformed. */
static bool put_line(struct dict *d, const char *msg, size_t len)
{
    char line[512];
    char *sp;

    if (len == 0 || len >= sizeof(line)) {
        return false;
    }
    memcpy(line, msg, len);
    line[len] = '\0';
    sp = strchr(line, ' ');
    if (sp == NULL || sp == line) {
        return false;
    }
    *sp = '\0';
    dict_put(d, line, sp + 1);
    return true;
}

/* The sync: "K V\n" per entry. */
static void dict_encode(const struct dict *d, void **out, size_t *len)
{
    size_t n = 0, at = 0;
    char *buf;

    for (unsigned i = 0; i < d->n; i++) {
        n += strlen(d->e[i].key) + strlen(d->e[i].value) + 2;
    }
    *out = NULL;
    *len = 0;
    if (n == 0 || (buf = malloc(n + 1)) == NULL) {
        return;
    }
    for (unsigned i = 0; i < d->n; i++) {
        at += (size_t)sprintf(buf + at, "%s %s\n", d->e[i].key,
                              d->e[i].value);
    }
    *out = buf;
    *len = at;
}

static void dict_decode(struct dict *d, const char *s, size_t len)
{
    const char *end;

    dict_clear(d);
    if (len == 0) { /* an empty dict's sync may be NULL */
        return;
    }
    end = s + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        (void)put_line(d, s, n);
        s += n + 1;
    }
}

/* ---- the group's callbacks -------------------------------------------- */

static void elected(struct baton_group *g, const char *joined, void **sync,
                    size_t *len)
{
    struct gdict *gd = baton_group_data(g);

    if (joined == NULL) {
        ex_say("elected (%u keys)", gd->d.n);
    } else {
        ex_say("joined %s", joined);
    }
    dict_encode(&gd->d, sync, len);
}

static void surrendered(struct baton_group *g, const char *leader,
                        const void *sync, size_t len)
{
    struct gdict *gd = baton_group_data(g);

    dict_decode(&gd->d, sync, len);
    ex_say("surrendered to %s (%u keys)", leader, gd->d.n);
}

static void slow_closed(uv_handle_t *h)
{
    free(h->data);
}

static void slow_unlink(struct gdict *gd, struct slow *s)
{
    struct slow **p = &gd->slow;

    while (*p != s) {
        p = &(*p)->next;
    }
    *p = s->next;
    uv_close((uv_handle_t *)&s->timer, slow_closed);
}

static void slow_fire(uv_timer_t *t)
{
    struct slow *s = t->data;

    (void)baton_reply(s->req, "ok", 2);
    slow_unlink(s->gd, s);
}

static void handle_leader_call(struct baton_group *g,
                               struct baton_request *req, const void *msg,
                               size_t len)
{
    struct gdict *gd = baton_group_data(g);
    struct slow *s;

    if (!put_line(&gd->d, msg, len)) {
        (void)baton_reply(req, "bad request", 11);
        return;
    }
    (void)baton_group_broadcast(g, msg, len);
    if (gd->slow_ms == 0 || (s = calloc(1, sizeof(*s))) == NULL) {
        (void)baton_reply(req, "ok", 2);
        return;
    }
    ex_say("answering in %llu ms", (unsigned long long)gd->slow_ms);
    s->req = req;
    s->gd = gd;
    s->next = gd->slow;
    gd->slow = s;
    uv_timer_init(gd->ex.loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, slow_fire, gd->slow_ms, 0);
}

static void from_leader(struct baton_group *g, const void *msg, size_t len)
{
    struct gdict *gd = baton_group_data(g);

    (void)put_line(&gd->d, msg, len);
}

static void handle_down(struct baton_group *g, const char *node)
{
    (void)g;
    ex_say("down %s", node);
}

static const struct baton_group_callbacks cbs = {
    .elected = elected,
    .surrendered = surrendered,
    .handle_leader_call = handle_leader_call,
    .from_leader = from_leader,
    .handle_down = handle_down,
};

/* ---- commands --------------------------------------------------------- */

static void stored(void *data, int status, const void *reply, size_t len)
{
    char *key = data;

    if (status == 0) {
        ex_say("store %s: %.*s", key, (int)len, (const char *)reply);
    } else {
        ex_say("store %s: error: %s", key, baton_strerror(status));
    }
    free(key);
}

static void store(struct gdict *gd, char *args)
{
    char *sp = strchr(args, ' ');
    char *key;
    int rv;

    if (sp == NULL || sp == args) {
        ex_say("usage: store K V");
        return;
    }
    key = strndup(args, (size_t)(sp - args));
    if (key == NULL) {
        ex_say("store: out of memory");
        return;
    }
    rv = baton_leader_call(gd->g, args, strlen(args), CALL_TIMEOUT_MS,
                           stored, key);
    if (rv != 0) {
        ex_say("store %s: error: %s", key, baton_strerror(rv));
        free(key);
    }
}

static void on_line(struct ex *ex, char *line)
{
    struct gdict *gd = ex->data;
    const char *names[64];

    if (strncmp(line, "store ", 6) == 0) {
        store(gd, line + 6);
    } else if (strncmp(line, "fetch ", 6) == 0) {
        const char *v = dict_get(&gd->d, line + 6);
        ex_say("fetch %s: %s", line + 6, v ? v : "none");
    } else if (strcmp(line, "leader") == 0) {
        const char *l = baton_group_leader(gd->g);
        ex_say("leader: %s", l ? l : "none");
    } else if (strcmp(line, "alive") == 0) {
        unsigned n = baton_group_alive(gd->g, names, 64);
        char out[1024] = "";
        for (unsigned i = 0; i < n && i < 64; i++) {
            strncat(out, " ", sizeof(out) - strlen(out) - 1);
            strncat(out, names[i], sizeof(out) - strlen(out) - 1);
        }
        ex_say("alive:%s", out);
    } else if (strcmp(line, "dump") == 0) {
        for (unsigned i = 0; i < gd->d.n; i++) {
            ex_say("dump %s %s", gd->d.e[i].key, gd->d.e[i].value);
        }
        ex_say("dump: %u keys", gd->d.n);
    } else {
        ex_say("unknown command: %s", line);
    }
}

/* Requests still waiting for their answer are dropped with the node. */
static void on_close(struct ex *ex)
{
    struct gdict *gd = ex->data;

    while (gd->slow != NULL) {
        struct slow *s = gd->slow;
        /* The node is closing: nothing is sent, the caller's call fails
         * (ELEADERDOWN once this node is gone). */
        (void)baton_reply(s->req, NULL, 0);
        slow_unlink(gd, s);
    }
}

int main(int argc, char **argv)
{
    static struct gdict gd;
    const char *candidates = NULL, *workers = NULL, *slow = NULL;
    const struct ex_flag flags[] = {{"--candidates", &candidates},
                                    {"--workers", &workers},
                                    {"--slow-ms", &slow},
                                    {NULL, NULL}};
    int rv;

    ex_args(&gd.ex, argc, argv, "--candidates \"a@h, b@h\" [--workers \"c@h\"] [--slow-ms N]",
            flags);
    if (candidates == NULL || (slow && ex_num(slow, 600000) < 0)) {
        fprintf(stderr, "gdict: --candidates LIST is required; --slow-ms "
                        "takes 0-600000\n");
        return 2;
    }
    gd.slow_ms = slow ? (uint64_t)ex_num(slow, 600000) : 0;
    gd.ex.data = &gd;
    gd.ex.on_close = on_close;
    ex_open(&gd.ex);
    rv = baton_group_add(gd.ex.b, "gdict", candidates, workers, &cbs, &gd,
                         &gd.g);
    if (rv != 0) {
        fprintf(stderr, "gdict: %s: %s\n", baton_strerror(rv),
                baton_errmsg(gd.ex.b));
        return 1;
    }
    rv = ex_run(&gd.ex, on_line);
    dict_clear(&gd.d);
    return rv;
}
