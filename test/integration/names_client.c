/* baton-names-client: a raw control-socket client for the names tests,
 * to send what batonctl never would.
 *
 *   baton-names-client lines SOCKET N LINE...
 *       sends every LINE (a newline added), then prints the first N lines
 *       batond sends back; exit 1 if fewer come within 5 s.
 *   baton-names-client long SOCKET BYTES
 *       sends one JSON-looking line of BYTES bytes, then prints what comes
 *       back and "closed" once batond closes the connection.
 *   baton-names-client refuse SOCKET NAME
 *       registers NAME, prints "registered", then refuses every call
 *       with the error "nope" until killed.
 *   baton-names-client mute SOCKET NAME
 *       as refuse, but prints "call" for every call and never answers.
 *   baton-names-client conns SOCKET N BYTES SECONDS
 *       opens N connections, sends BYTES of an unfinished line on each
 *       (none if 0), then reads for SECONDS and prints how many got a
 *       "busy" line, an "invalid" line, and were closed by batond.
 *   baton-names-client flood SOCKET
 *       sends whereis requests without ever reading the answers; exit 0
 *       once batond disconnects it (within 30 s), 1 otherwise.
 *   baton-names-client hold SOCKET PREFIX FIRST N
 *       registers N names (multi) in one session, PREFIX.<i> for i from
 *       FIRST, each padded to 110 bytes with 250 bytes of metadata,
 *       at most 128 in flight; prints "registered K failed F" once every
 *       answer came (exit 1 if one does not within 60 s), then holds the
 *       names until killed or batond closes the session.
 * Exit status 2 on usage or connection errors. */
#include "../../src/util/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {0};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("baton-names-client: connect");
        exit(2);
    }
    return fd;
}

static bool put(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Prints up to want lines (all, if want < 0) within ms; returns how many
 * came, and sets *closed if batond closed the connection. */
static int read_lines(int fd, int want, uint64_t ms, bool *closed)
{
    static char buf[1 << 20];
    size_t len = 0;
    int got = 0;
    uint64_t end = now_ms() + ms;

    *closed = false;
    while (want < 0 || got < want) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now = now_ms();
        ssize_t n;
        char *nl;
        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0) {
            break;
        }
        n = read(fd, buf + len, sizeof(buf) - len - 1);
        if (n <= 0) {
            *closed = true;
            break;
        }
        len += (size_t)n;
        while ((want < 0 || got < want) &&
               (nl = memchr(buf, '\n', len)) != NULL) {
            fwrite(buf, 1, (size_t)(nl - buf) + 1, stdout);
            got++;
            len -= (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, len);
        }
    }
    fflush(stdout);
    return got;
}

static int lines(const char *path, int want, int argc, char **argv)
{
    int fd = connect_to(path);
    bool closed;

    for (int i = 0; i < argc; i++) {
        if (!put(fd, argv[i], strlen(argv[i])) || !put(fd, "\n", 1)) {
            break;
        }
    }
    return read_lines(fd, want, 5000, &closed) == want ? 0 : 1;
}

static int long_line(const char *path, size_t bytes)
{
    int fd = connect_to(path);
    char *line = malloc(bytes + 1);
    bool closed;

    if (line == NULL || bytes < 16) {
        return 2;
    }
    memset(line, ' ', bytes);
    memcpy(line, "{\"op\":\"names\",\"x\":\"", 19);
    line[bytes - 2] = '"';
    line[bytes - 1] = '}';
    line[bytes] = '\n';
    put(fd, line, bytes + 1);
    read_lines(fd, -1, 5000, &closed);
    if (closed) {
        printf("closed\n");
    }
    free(line);
    return 0;
}

/* Sends what the socket takes of len bytes now (best effort). */
static void put_some(int fd, const char *p, size_t len)
{
    while (len > 0) {
        struct pollfd pf = {fd, POLLOUT, 0};
        ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            len -= (size_t)k;
        } else if (k < 0 && errno == EAGAIN && poll(&pf, 1, 200) == 1 &&
                   (pf.revents & POLLOUT) != 0) {
            continue;
        } else {
            return; /* refused, or batond stopped reading */
        }
    }
}

static int conns(const char *path, int n, size_t bytes, int secs)
{
    struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
    char *junk = malloc(bytes + 1);
    int busy = 0, invalid = 0, closed = 0, open = n;
    uint64_t end;

    if (pf == NULL || junk == NULL || n <= 0) {
        return 2;
    }
    memset(junk, 'x', bytes);
    junk[0] = '{';
    for (int i = 0; i < n; i++) {
        pf[i].fd = connect_to(path);
        pf[i].events = POLLIN;
        fcntl(pf[i].fd, F_SETFL, O_NONBLOCK);
        put_some(pf[i].fd, junk, bytes);
    }
    end = now_ms() + (uint64_t)secs * 1000;
    while (open > 0 && now_ms() < end) {
        if (poll(pf, (nfds_t)n, 100) <= 0) {
            continue;
        }
        for (int i = 0; i < n; i++) {
            char buf[4096];
            ssize_t k;
            if (pf[i].fd < 0 || pf[i].revents == 0) {
                continue;
            }
            k = read(pf[i].fd, buf, sizeof(buf) - 1);
            if (k > 0) {
                buf[k] = '\0';
                busy += strstr(buf, "\"error\":\"busy\"") != NULL;
                invalid += strstr(buf, "\"error\":\"invalid\"") != NULL;
            } else if (k == 0 || errno != EAGAIN) {
                closed++;
                open--;
                close(pf[i].fd);
                pf[i].fd = -1;
            }
        }
    }
    printf("busy %d\ninvalid %d\nclosed %d\n", busy, invalid, closed);
    free(junk);
    free(pf);
    return 0;
}

static int flood(const char *path)
{
    int fd = connect_to(path);
    static const char req[] = "{\"op\":\"whereis\",\"name\":\"flood-no-"
                              "such-name-padding-padding-padding\",\"id\":"
                              "\"padding-padding-padding-padding\"}\n";
    uint64_t end = now_ms() + 30000;
    unsigned long sent = 0;

    while (now_ms() < end) {
        if (!put(fd, req, sizeof(req) - 1)) {
            printf("disconnected after %lu requests\n", sent);
            return 0;
        }
        sent++;
    }
    printf("still connected after %lu requests\n", sent);
    return 1;
}

static int refuse(const char *path, const char *name, bool mute)
{
    int fd = connect_to(path);
    char line[512];
    char buf[65536];
    size_t len = 0;

    snprintf(line, sizeof(line), "{\"op\":\"register\",\"name\":\"%s\"}\n",
             name);
    put(fd, line, strlen(line));
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len - 1);
        char *nl;
        if (n <= 0) {
            return 1;
        }
        len += (size_t)n;
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            const char *call;
            *nl = '\0';
            if (strstr(buf, "\"ok\":true") != NULL) {
                printf("registered\n");
                fflush(stdout);
            }
            call = strstr(buf, "\"call\":");
            if (strstr(buf, "\"event\":\"call\"") != NULL && mute) {
                printf("call\n");
                fflush(stdout);
            } else if (strstr(buf, "\"event\":\"call\"") != NULL &&
                       call != NULL) {
                snprintf(line, sizeof(line),
                         "{\"op\":\"reply\",\"call\":%lu,\"error\":\"nope\"}"
                         "\n",
                         strtoul(call + 7, NULL, 10));
                put(fd, line, strlen(line));
            }
            len -= (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, len);
        }
    }
}

/* Reads answer lines until *left is 0 or ms pass; counts the ok ones.
 * False on timeout or a closed session. */
static bool answers(int fd, unsigned *left, unsigned *ok, uint64_t ms)
{
    static char buf[1 << 16];
    static size_t len;
    uint64_t end = now_ms() + ms;

    while (*left > 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now = now_ms();
        ssize_t n;
        char *nl;
        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0) {
            return false;
        }
        n = read(fd, buf + len, sizeof(buf) - len - 1);
        if (n <= 0) {
            return false;
        }
        len += (size_t)n;
        buf[len] = '\0';
        while (*left > 0 && (nl = memchr(buf, '\n', len)) != NULL) {
            *nl = '\0';
            if (strstr(buf, "\"id\":") != NULL) { /* not an event */
                *ok += strstr(buf, "\"ok\":true") != NULL;
                (*left)--;
            }
            len -= (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, len);
        }
    }
    return true;
}

static int hold(const char *path, const char *prefix, unsigned first,
                unsigned n)
{
    int fd = connect_to(path);
    unsigned ok = 0;
    unsigned sent = 0;
    char meta[251];
    char name[111];
    char line[1024];
    char c;

    memset(meta, 'm', sizeof(meta) - 1);
    meta[sizeof(meta) - 1] = '\0';
    while (sent < n) {
        unsigned left = 0;
        for (; sent < n && left < 128; sent++, left++) {
            int len = snprintf(name, sizeof(name), "%s.%u.", prefix,
                               first + sent);
            /* Padded to 110 bytes, as in finding 7. */
            memset(name + len, 'p', sizeof(name) - 1 - (size_t)len);
            name[sizeof(name) - 1] = '\0';
            len = snprintf(line, sizeof(line),
                           "{\"op\":\"register\",\"name\":\"%s\","
                           "\"meta\":\"%s\",\"multi\":true,\"id\":%u}\n",
                           name, meta, sent);
            if (!put(fd, line, (size_t)len)) {
                return 2;
            }
        }
        if (!answers(fd, &left, &ok, 60000)) {
            fprintf(stderr, "baton-names-client: answers missing\n");
            return 1;
        }
    }
    printf("registered %u failed %u\n", ok, n - ok);
    fflush(stdout);
    while (read(fd, &c, 1) > 0) {
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "refuse") == 0) {
        return refuse(argv[2], argv[3], false);
    }
    if (argc == 4 && strcmp(argv[1], "mute") == 0) {
        return refuse(argv[2], argv[3], true);
    }
    if (argc >= 4 && strcmp(argv[1], "lines") == 0) {
        return lines(argv[2], atoi(argv[3]), argc - 4, argv + 4);
    }
    if (argc == 4 && strcmp(argv[1], "long") == 0) {
        return long_line(argv[2], (size_t)strtoul(argv[3], NULL, 10));
    }
    if (argc == 6 && strcmp(argv[1], "conns") == 0) {
        return conns(argv[2], atoi(argv[3]),
                     (size_t)strtoul(argv[4], NULL, 10), atoi(argv[5]));
    }
    if (argc == 3 && strcmp(argv[1], "flood") == 0) {
        return flood(argv[2]);
    }
    if (argc == 6 && strcmp(argv[1], "hold") == 0) {
        return hold(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10),
                    (unsigned)strtoul(argv[5], NULL, 10));
    }
    fprintf(stderr, "usage: baton-names-client lines SOCKET N LINE... | "
                    "long SOCKET BYTES | refuse SOCKET NAME | flood "
                    "SOCKET | hold SOCKET PREFIX FIRST N\n");
    return 2;
}
