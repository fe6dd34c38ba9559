/* The machine's floor beside the benchmarks' figures (docs/benchmarks.md
 * "The machine"), and small fork-free helpers for the scripts. Each
 * subcommand prints one line on stdout:
 *
 *   tcp N          loopback TCP round trip of 16 bytes between two
 *                  processes: min median max, µs
 *   unix N         the same over a Unix socketpair: min median max, µs
 *   spawn N CMD... fork + exec of CMD + its exit seen by waitpid:
 *                  min median max, µs (with CMD /bin/true: what starting
 *                  any program costs here)
 *   ports BASE K   exit 0 if 127.0.0.1:BASE..BASE+K-1 can all be bound,
 *                  else print the first taken one and exit 1
 *   app FILE       an app for bench/apps.sh: appends the epoch µs at
 *                  which it began to run and its node ($BATON_NODE) to
 *                  FILE, then waits for a
 *                  signal (its first moment, its exec and loading
 *                  included, as any app's)
 *
 * Errors go to stderr and exit 2. */
#include "util/setup.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("baton-bench-probe: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned long arg_num(const char *s, unsigned long lo, unsigned long hi)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
        die("bad number \"%s\" (%lu..%lu)", s, lo, hi);
    }
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Prints min, median and max of the n samples (ns) in µs. */
static void print_spread(uint64_t *ns, size_t n)
{
    qsort(ns, n, sizeof(*ns), cmp_u64);
    printf("%.1f %.1f %.1f\n", (double)ns[0] / 1e3, (double)ns[n / 2] / 1e3,
           (double)ns[n - 1] / 1e3);
}

static void full_io(int fd, char *buf, size_t n, bool write_it)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = write_it ? write(fd, buf + done, n - done)
                             : read(fd, buf + done, n - done);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            die("%s: %s", write_it ? "write" : "read",
                r == 0 ? "closed" : strerror(errno));
        }
        done += (size_t)r;
    }
}

/* n round trips of 16 bytes between this process and a forked echo on
 * the other end of the connected pair fds[0] (ours) / fds[1]. */
static void pingpong(int mine, int theirs, unsigned long n)
{
    char msg[16] = "0123456789abcde";
    uint64_t *ns = calloc(n, sizeof(*ns));
    pid_t child;
    int status;

    if (ns == NULL) {
        die("out of memory");
    }
    child = fork();
    if (child < 0) {
        die("fork: %s", strerror(errno));
    }
    if (child == 0) {
        char buf[16];
        close(mine);
        for (unsigned long i = 0; i < n + n / 10; i++) {
            full_io(theirs, buf, sizeof(buf), false);
            full_io(theirs, buf, sizeof(buf), true);
        }
        _exit(0);
    }
    close(theirs);
    for (unsigned long i = 0; i < n + n / 10; i++) {
        uint64_t t0 = now_ns();
        full_io(mine, msg, sizeof(msg), true);
        full_io(mine, msg, sizeof(msg), false);
        if (i >= n / 10) { /* the first tenth warms up, unmeasured */
            ns[i - n / 10] = now_ns() - t0;
        }
    }
    close(mine);
    waitpid(child, &status, 0);
    print_spread(ns, n);
    free(ns);
}

static int cmd_unix(unsigned long n)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        die("socketpair: %s", strerror(errno));
    }
    pingpong(sv[0], sv[1], n);
    return 0;
}

static int cmd_tcp(unsigned long n)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    int sfd;
    int one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0; /* any free port */
    if (lfd < 0 || cfd < 0 ||
        bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0 ||
        connect(cfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        (sfd = accept(lfd, NULL, NULL)) < 0) {
        die("loopback TCP: %s", strerror(errno));
    }
    close(lfd);
    /* As batond's links: no Nagle delay on small frames. */
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    pingpong(cfd, sfd, n);
    return 0;
}

static int cmd_spawn(unsigned long n, char **argv)
{
    uint64_t *ns = calloc(n, sizeof(*ns));

    if (ns == NULL) {
        die("out of memory");
    }
    for (unsigned long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        int status;
        pid_t child = fork();
        if (child < 0) {
            die("fork: %s", strerror(errno));
        }
        if (child == 0) {
            execv(argv[0], argv);
            _exit(127);
        }
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
            WEXITSTATUS(status) == 127) {
            die("%s did not run", argv[0]);
        }
        ns[i] = now_ns() - t0;
    }
    print_spread(ns, n);
    free(ns);
    return 0;
}

static int cmd_ports(unsigned long base, unsigned long k)
{
    for (unsigned long p = base; p < base + k; p++) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        int rv;

        if (fd < 0) {
            die("socket: %s", strerror(errno));
        }
        /* As batond binds: TIME_WAIT of an earlier run is no conflict. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)p);
        rv = bind(fd, (struct sockaddr *)&a, sizeof(a));
        close(fd);
        if (rv != 0) {
            printf("%lu\n", p);
            return 1;
        }
    }
    return 0;
}

static int cmd_app(const char *file)
{
    struct timespec ts;
    FILE *f;

    clock_gettime(CLOCK_REALTIME, &ts);
    f = fopen(file, "a");
    if (f == NULL) {
        die("%s: %s", file, strerror(errno));
    }
    fprintf(f, "%lld %s\n", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
            getenv("BATON_NODE") != NULL ? getenv("BATON_NODE") : "-");
    fclose(f);
    for (;;) {
        pause();
    }
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "tcp") == 0) {
        return cmd_tcp(arg_num(argv[2], 1, 10000000));
    }
    if (argc >= 3 && strcmp(argv[1], "unix") == 0) {
        return cmd_unix(arg_num(argv[2], 1, 10000000));
    }
    if (argc >= 4 && strcmp(argv[1], "spawn") == 0) {
        return cmd_spawn(arg_num(argv[2], 1, 1000000), &argv[3]);
    }
    if (argc == 4 && strcmp(argv[1], "ports") == 0) {
        unsigned long base = arg_num(argv[2], 1, 65535);
        return cmd_ports(base, arg_num(argv[3], 1, 65536 - base));
    }
    if (argc == 3 && strcmp(argv[1], "app") == 0) {
        return cmd_app(argv[2]);
    }
    fprintf(stderr,
            "usage: baton-bench-probe tcp N | unix N | "
            "spawn N CMD [ARGS...] | ports BASE COUNT | app FILE\n");
    return 2;
}
