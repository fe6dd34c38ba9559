/* The cluster suite's app (docs/design/cluster.md §3): it records its
 * start and its stop, then does nothing. The suite judges batond by these
 * records and by the recorded PIDs, not by what batond says.
 *
 * Usage: baton-cluster-app RECORD_FILE
 *
 * Each record is one line appended with one write(2) to a file opened
 * O_APPEND, so lines of concurrent instances never interleave:
 *
 *   start MONO_NS REAL_NS APP NODE PID START_TYPE EPOCH FROM LIVE SCAN_NS
 *   stop  MONO_NS REAL_NS APP NODE PID START_TYPE EPOCH SIGNAL
 *
 * MONO_NS is CLOCK_MONOTONIC, the clock the suite's own timeline uses
 * (network namespaces share it); REAL_NS is CLOCK_REALTIME, to match the
 * lines of batond's logs. A SIGKILL leaves no stop line: the suite then
 * learns the end from the PID, late by as long as its watcher takes to
 * run. So each instance also looks, before its start line, for the
 * earlier instances of its app still running (not zombies): LIVE lists
 * their PIDs ("-" for none), the order at the start itself. SCAN_NS
 * (CLOCK_MONOTONIC) is when it began to read the file: an instance that
 * started after it is not in LIVE whether it runs or not. */
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

/* A process that exists and is not a zombie: it may still act. */
static int running(long pid)
{
    char path[64];
    char buf[512];
    char *close_paren;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    close_paren = strrchr(buf, ')');
    return close_paren != NULL && close_paren[1] == ' ' &&
           close_paren[2] != 'Z';
}

/* The PIDs of the earlier instances of app in the records file still
 * running, comma-separated, into out ("-" for none). */
static void live_earlier(const char *records,
                         const char *app,
                         char *out,
                         size_t len)
{
    char line[512];
    char what[16];
    char name[128];
    long pid;
    int k;
    size_t used = 0;
    FILE *f = fopen(records, "r");

    snprintf(out, len, "-");
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "%15s %*s %*s %127s %*s %ld", what, name, &pid) != 3 ||
            strcmp(what, "start") != 0 || strcmp(name, app) != 0 ||
            !running(pid)) {
            continue;
        }
        k = snprintf(out + used, len - used, "%s%ld", used ? "," : "", pid);
        if (k < 0 || (size_t)k >= len - used) {
            break;
        }
        used += (size_t)k;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    sigset_t block;
    sigset_t wait_mask;
    char sig[16];
    char live[256];
    char last[320];
    uint64_t scan_ns;
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
    scan_ns = clock_ns(CLOCK_MONOTONIC);
    live_earlier(argv[1], env("BATON_APP"), live, sizeof live);
    snprintf(last, sizeof last, "%s %s %llu", env("BATON_FROM_NODE"), live,
             (unsigned long long)scan_ns);
    if (record(fd, "start", last) != 0) {
        perror("record");
        return 1;
    }
    while (stop_signal == 0) {
        sigsuspend(&wait_mask);
    }
    snprintf(sig, sizeof sig, "%d", (int)stop_signal);
    return record(fd, "stop", sig) == 0 ? 0 : 1;
}
