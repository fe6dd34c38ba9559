/* fenced: a key-value store that checks fencing tokens (README.md here;
 * docs/design/quorum.md §4.5).
 *
 *   fenced SOCKET STATE_FILE
 *
 * Listens on the Unix socket SOCKET and speaks lines:
 *
 *   PUT <token> <key> <value>  ->  OK | ERR stale token N < M | ERR ...
 *   GET <key>                  ->  VALUE <value> | NONE
 *   TOKEN                      ->  TOKEN <highest token seen>
 *
 * A PUT whose token is below the highest one the store has accepted is
 * refused: it comes from an owner that has been replaced (a paused old
 * owner waking up). An equal token is the current owner writing again.
 * The highest token and the data are kept in STATE_FILE, written to a
 * temporary file, synced and renamed before OK is answered, so a
 * restarted store still refuses every older owner. Prints "ready" on
 * stdout once it listens. Small and single-threaded on purpose: an
 * example of the check, not a database. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

#define KEYS_MAX 256
#define KEY_MAX 64
#define VALUE_MAX 256
#define CLIENTS_MAX 16
#define LINE_MAX_ 512

struct kv {
    char key[KEY_MAX + 1];
    char value[VALUE_MAX + 1];
};

struct client {
    int fd; /* -1: free */
    char line[LINE_MAX_];
    size_t len;
};

struct store {
    const char *path;
    uint64_t highest; /* the highest token accepted */
    struct kv kv[KEYS_MAX];
    unsigned n;
};

static struct kv *find(struct store *s, const char *key)
{
    for (unsigned i = 0; i < s->n; i++) {
        if (strcmp(s->kv[i].key, key) == 0) {
            return &s->kv[i];
        }
    }
    return NULL;
}

/* STATE_FILE: "token N", then "key value" lines. */
static int load(struct store *s)
{
    char line[LINE_MAX_];
    FILE *f = fopen(s->path, "r");

    if (f == NULL) {
        return errno == ENOENT ? 0 : -1;
    }
    if (fgets(line, sizeof(line), f) == NULL ||
        sscanf(line, "token %" SCNu64, &s->highest) != 1) {
        fclose(f);
        errno = EINVAL;
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL && s->n < KEYS_MAX) {
        char *sp = strchr(line, ' ');
        line[strcspn(line, "\n")] = '\0';
        if (sp == NULL || sp - line > KEY_MAX || strlen(sp + 1) > VALUE_MAX) {
            fclose(f);
            errno = EINVAL;
            return -1;
        }
        memcpy(s->kv[s->n].key, line, (size_t)(sp - line));
        s->kv[s->n].key[sp - line] = '\0';
        memcpy(s->kv[s->n].value, sp + 1, strlen(sp + 1) + 1);
        s->n++;
    }
    fclose(f);
    return 0;
}

/* Writes STATE_FILE whole: temporary file, fsync, rename, then the
 * directory synced, so a crash leaves the old or the new state. */
static int save(const struct store *s)
{
    char tmp[4200], dir[4200];
    char *slash;
    FILE *f;
    int dfd, ok;

    snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    ok = fprintf(f, "token %" PRIu64 "\n", s->highest) > 0;
    for (unsigned i = 0; ok && i < s->n; i++) {
        ok = fprintf(f, "%s %s\n", s->kv[i].key, s->kv[i].value) > 0;
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0 || !ok || rename(tmp, s->path) != 0) {
        unlink(tmp);
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", s->path);
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        slash[slash == dir] = '\0'; /* "/x" keeps "/" */
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0) {
        return -1;
    }
    ok = fsync(dfd) == 0;
    close(dfd);
    return ok ? 0 : -1;
}

/* PUT: the fencing check, then the write made durable, then OK. */
static void put(struct store *s, char *args, char *reply, size_t len)
{
    char *tok = strtok(args, " "), *key = strtok(NULL, " ");
    char *value = strtok(NULL, "");
    struct kv old = {{0}, {0}}, *e;
    uint64_t token, highest = s->highest;
    unsigned n = s->n;
    char *end;

    if (tok == NULL || key == NULL || value == NULL) {
        snprintf(reply, len, "ERR usage: PUT <token> <key> <value>");
        return;
    }
    errno = 0;
    token = strtoull(tok, &end, 10);
    if (errno != 0 || *end != '\0' || tok[0] == '-') {
        snprintf(reply, len, "ERR bad token %s", tok);
        return;
    }
    if (strlen(key) > KEY_MAX || strlen(value) > VALUE_MAX) {
        snprintf(reply, len, "ERR key or value too long");
        return;
    }
    if (token < s->highest) {
        snprintf(reply, len, "ERR stale token %" PRIu64 " < %" PRIu64, token,
                 s->highest);
        return;
    }
    e = find(s, key);
    if (e == NULL) {
        if (s->n == KEYS_MAX) {
            snprintf(reply, len, "ERR full");
            return;
        }
        e = &s->kv[s->n++];
        snprintf(e->key, sizeof(e->key), "%s", key);
    }
    old = *e;
    snprintf(e->value, sizeof(e->value), "%s", value);
    s->highest = token;
    if (save(s) != 0) {
        snprintf(reply, len, "ERR storage: %s", strerror(errno));
        *e = old; /* not durable: as if it never happened */
        s->n = n;
        s->highest = highest;
        return;
    }
    snprintf(reply, len, "OK");
}

static void handle(struct store *s, char *line, char *reply, size_t len)
{
    struct kv *e;

    if (strncmp(line, "PUT ", 4) == 0) {
        put(s, line + 4, reply, len);
    } else if (strncmp(line, "GET ", 4) == 0) {
        e = find(s, line + 4);
        if (e != NULL) {
            snprintf(reply, len, "VALUE %s", e->value);
        } else {
            snprintf(reply, len, "NONE");
        }
    } else if (strcmp(line, "TOKEN") == 0) {
        snprintf(reply, len, "TOKEN %" PRIu64, s->highest);
    } else {
        snprintf(reply, len, "ERR unknown command");
    }
}

/* Reads what c sent; answers every complete line. false: c is gone. */
static bool serve(struct store *s, struct client *c)
{
    char reply[LINE_MAX_ + 64];
    ssize_t k = read(c->fd, c->line + c->len, sizeof(c->line) - c->len);
    char *nl;

    if (k <= 0) {
        return k < 0 && errno == EINTR;
    }
    c->len += (size_t)k;
    while ((nl = memchr(c->line, '\n', c->len)) != NULL) {
        size_t used = (size_t)(nl - c->line) + 1;
        *nl = '\0';
        if (nl > c->line && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
        handle(s, c->line, reply, sizeof(reply) - 1);
        strcat(reply, "\n");
        if (write(c->fd, reply, strlen(reply)) < 0) {
            return false;
        }
        memmove(c->line, c->line + used, c->len - used);
        c->len -= used;
    }
    return c->len < sizeof(c->line); /* a line too long: hang up */
}

int main(int argc, char **argv)
{
    static struct store s;
    struct client c[CLIENTS_MAX];
    int lfd;

    if (argc != 3) {
        fprintf(stderr, "usage: fenced SOCKET STATE_FILE\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    s.path = argv[2];
    if (load(&s) != 0) {
        fprintf(stderr, "fenced: %s: %s\n", s.path, strerror(errno));
        return 1;
    }
    lfd = fenced_socket(argv[1], true);
    if (lfd < 0) {
        fprintf(stderr, "fenced: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (unsigned i = 0; i < CLIENTS_MAX; i++) {
        c[i].fd = -1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        struct pollfd p[CLIENTS_MAX + 1];
        nfds_t n = 0;
        unsigned who[CLIENTS_MAX];
        p[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (unsigned i = 0; i < CLIENTS_MAX; i++) {
            if (c[i].fd >= 0) {
                who[n - 1] = i;
                p[n++] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
            }
        }
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("fenced: poll");
            return 1;
        }
        for (nfds_t k = 1; k < n; k++) {
            struct client *cl = &c[who[k - 1]];
            if (p[k].revents != 0 && !serve(&s, cl)) {
                close(cl->fd);
                cl->fd = -1;
            }
        }
        if (p[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            unsigned i = 0;
            while (i < CLIENTS_MAX && c[i].fd >= 0) {
                i++;
            }
            if (fd >= 0 && i == CLIENTS_MAX) {
                close(fd); /* busy: the client sees the hang-up */
            } else if (fd >= 0) {
                c[i].fd = fd;
                c[i].len = 0;
            }
        }
    }
}
