/* The durable Raft store's cost (docs/benchmarks.md "raftlog"): the
 * latency of one lib_raftlog_write (one record, fdatasync'ed) with 1 and
 * with 16 entries, beside the floor, a bare pwrite + fdatasync of as many
 * bytes on the same file system.
 *
 *   baton-bench-raftlog DIR MODE N
 *
 * MODE is `floor`, `write1` or `write16`; N writes. Prints one line,
 * "min median max p99 per_s": µs, and N over the sum of the latencies
 * (entries per second: multiply by the batch). DIR is made and left for the caller to
 * remove. */
#include "../src/util/setup.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/lib/raftlog.h"

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* pwrite + fdatasync of a 64-byte entry's record size at the file's end. */
static int floor_run(const char *dir, uint64_t *ns, unsigned n)
{
    char path[300];
    uint8_t buf[64 + 48 + 28 + 12] = {0};
    off_t off = 0;
    int fd;

    snprintf(path, sizeof(path), "%s/floor", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        if (pwrite(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf) ||
            fdatasync(fd) != 0) {
            perror(path);
            close(fd);
            return -1;
        }
        ns[i] = now_ns() - t0;
        off += (off_t)sizeof(buf);
    }
    close(fd);
    return 0;
}

static int write_run(const char *dir, uint64_t *ns, unsigned n, uint32_t batch)
{
    static struct baton_raft_entry e[16];
    struct lib_raftlog_options o = {.dir = dir};
    struct lib_raftlog *l;
    char errmsg[512];
    uint64_t index = 1, snap_at = 0;

    if (lib_raftlog_open(&l, &o, errmsg, sizeof(errmsg)) != 0) {
        fprintf(stderr, "%s\n", errmsg);
        return -1;
    }
    for (uint32_t k = 0; k < batch; k++) {
        e[k].term = 1;
        e[k].len = 64;
        memset(e[k].data, 'x', 64);
    }
    for (unsigned i = 0; i < n; i++) {
        struct baton_raft_write w = {.seq = i + 1,
                                     .term = 1,
                                     .vote = 0,
                                     .from_index = index,
                                     .n = batch,
                                     .entries = e};
        uint64_t t0 = now_ns();
        if (lib_raftlog_write(l, &w) != 0) {
            fprintf(stderr, "%s\n", lib_raftlog_errmsg(l));
            lib_raftlog_close(l);
            return -1;
        }
        ns[i] = now_ns() - t0;
        index += batch;
        /* As the embedding would: a snapshot now and then keeps the log
         * (and the core's 256 entries) short; its cost is not timed. */
        if (index - snap_at > 128) {
            snap_at = index - 1;
            if (lib_raftlog_snapshot(l, snap_at, 1, "s", 1) != 0) {
                fprintf(stderr, "%s\n", lib_raftlog_errmsg(l));
                lib_raftlog_close(l);
                return -1;
            }
        }
    }
    lib_raftlog_close(l);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t *ns, total = 0;
    unsigned n;
    int rv;

    if (argc != 4 || (n = (unsigned)atoi(argv[3])) == 0) {
        fprintf(stderr,
                "usage: baton-bench-raftlog DIR floor|write1|write16 "
                "N\n");
        return 2;
    }
    ns = calloc(n, sizeof(*ns));
    if (ns == NULL) {
        return 1;
    }
    if (strcmp(argv[2], "floor") == 0) {
        rv = floor_run(argv[1], ns, n);
    } else if (strcmp(argv[2], "write1") == 0) {
        rv = write_run(argv[1], ns, n, 1);
    } else if (strcmp(argv[2], "write16") == 0) {
        rv = write_run(argv[1], ns, n, 16);
    } else {
        fprintf(stderr, "baton-bench-raftlog: unknown mode %s\n", argv[2]);
        rv = -1;
    }
    if (rv != 0) {
        free(ns);
        return 1;
    }
    for (unsigned i = 0; i < n; i++) {
        total += ns[i];
    }
    qsort(ns, n, sizeof(*ns), cmp);
    printf("%.1f %.1f %.1f %.1f %.0f\n", (double)ns[0] / 1e3,
           (double)ns[n / 2] / 1e3, (double)ns[n - 1] / 1e3,
           (double)ns[(uint64_t)n * 99 / 100] / 1e3,
           (double)n * 1e9 / (double)total);
    free(ns);
    return 0;
}
