/* The cluster suite's app (docs/design/cluster.md §3): it records its
 * start and its stop, then does nothing. The suite judges batond by these
 * records and by the recorded PIDs, not by what batond says.
 *
 * Usage: baton-cluster-app RECORD_FILE
 *
 * Each record is one line appended with one write(2) to a file opened
 * O_APPEND, so lines of concurrent instances never interleave:
 *
 *   start MONO_NS REAL_NS APP NODE PID START_TYPE EPOCH FROM
 *   stop  MONO_NS REAL_NS APP NODE PID START_TYPE EPOCH SIGNAL
 *
 * MONO_NS is CLOCK_MONOTONIC, the clock the suite's own timeline uses
 * (network namespaces share it); REAL_NS is CLOCK_REALTIME, to match the
 * lines of batond's logs. A SIGKILL leaves no stop line: the suite then
 * learns the end from the PID. */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *env(const char *key)
{
    const char *v = getenv(key);

    return v != NULL && v[0] != '\0' ? v : "-";
}

/* One line, one write: appends from several processes stay whole. */
static int record(int fd, const char *what, const char *last)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s %llu %llu %s %s %ld %s %s %s\n",
                     what, (unsigned long long)clock_ns(CLOCK_MONOTONIC),
                     (unsigned long long)clock_ns(CLOCK_REALTIME),
                     env("BATON_APP"), env("BATON_NODE"), (long)getpid(),
                     env("BATON_START_TYPE"), env("BATON_EPOCH"), last);

    if (n < 0 || (size_t)n >= sizeof line) {
        return -1;
    }
    return write(fd, line, (size_t)n) == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    sigset_t block;
    sigset_t wait_mask;
    char sig[16];
    int fd;

    if (argc != 2) {
        fprintf(stderr, "usage: baton-cluster-app RECORD_FILE\n");
        return 2;
    }
    fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* Handlers before the start line, and the signals blocked but in
     * sigsuspend: a stop that follows the start at once is still
     * recorded, after the start. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &wait_mask);
    if (record(fd, "start", env("BATON_FROM_NODE")) != 0) {
        perror("record");
        return 1;
    }
    while (stop_signal == 0) {
        sigsuspend(&wait_mask);
    }
    snprintf(sig, sizeof sig, "%d", (int)stop_signal);
    return record(fd, "stop", sig) == 0 ? 0 : 1;
}
