/* The shim between batond and an app: batond --shim -- CMD ARGS...
 *
 * batond starts it as the leader of a new session and process group
 * (UV_PROCESS_DETACHED), with a pipe from batond as its stdin. The shim
 * runs the app in the same group and waits for it. If the pipe closes -
 * batond died, even by kill -9 - the shim kills the whole group with
 * SIGKILL: nothing keeps running on a node the app has moved away from.
 * The shim exits the way the app did (same code, or same signal).
 * A quorum app's shim also gets the app's lease end from batond (a
 * record on the same pipe, supervise.h) and kills the whole group when
 * CLOCK_BOOTTIME reaches it, on its own poll timeout: batond frozen by
 * SIGSTOP or a VM pause cannot keep the app running past its lease.
 * A spare shim (batond --shim --spare) is started ahead, before there is
 * an app, and reads the app's command from that pipe first. */
#define _GNU_SOURCE /* close_range */
#include "../util/setup.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervise.h"

extern char **environ;

/* The app inherits fds 0-2 only: whatever else batond (or whoever
 * started batond) had open without FD_CLOEXEC goes here, in the shim,
 * before anything of its own is opened. */
static void close_inherited(void)
{
    long max;

    if (close_range(3, ~0U, 0) == 0) {
        return;
    }
    /* A kernel before 5.9: one by one, up to the limit. */
    max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++) {
        (void)close((int)fd);
    }
}

static _Noreturn void exit_like(int status)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* SIGCHLD wakes the wait loop through this pipe (the self-pipe trick),
 * so the shim notices the app's end at once, without polling. */
static int chld_pipe[2] = {-1, -1};

static void on_chld(int sig)
{
    int saved = errno;

    (void)sig;
    if (write(chld_pipe[1], "c", 1) < 0) {
        /* full already: a wake-up is pending anyway */
    }
    errno = saved;
}

static bool term_pending(void)
{
    sigset_t pending;

    return sigpending(&pending) == 0 && sigismember(&pending, SIGTERM) == 1;
}

/* Ends the shim as an app killed by SIGTERM would have ended it. */
static _Noreturn void exit_by_sigterm(void)
{
    sigset_t term;

    signal(SIGTERM, SIG_DFL);
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &term, NULL); /* the pending one kills us */
    _exit(128 + SIGTERM);
}

/* Reads exactly len bytes from stdin, waiting for them: false at its end
 * (batond is gone) or on an error. */
static bool read_in(void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = read(0, (char *)buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = 0, .events = POLLIN};
            (void)poll(&p, 1, -1);
        } else if (n == 0 || errno != EINTR) {
            return false;
        }
    }
    return true;
}

/* CLOCK_BOOTTIME in ms, rounded down: when it reads a lease's end, the
 * end has passed (a suspended machine's sleep counts). */
static uint64_t boot_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0) {
        return UINT64_MAX; /* no clock: take every lease as ended */
    }
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Ends the app's whole group, the shim with it (it leads the group and
 * cannot leave it): nothing of the app may run past its lease. */
static _Noreturn void kill_group(const char *why, uint64_t until_ms)
{
    fprintf(stderr,
            "baton-shim: %s (lease end %" PRIu64
            " ms): "
            "killing the app's process group\n",
            why, until_ms);
    kill(0, SIGKILL);
    _exit(137);
}

/* The lease records batond sends (supervise.h), read as they come:
 * returns false once the pipe has ended (batond is gone). */
static bool read_lease(uint64_t *until_ms)
{
    static struct batond_shim_lease rec;
    static size_t have;
    ssize_t n = read(0, (char *)&rec + have, sizeof(rec) - have);

    if (n < 0) {
        return errno == EINTR || errno == EAGAIN;
    }
    if (n == 0) {
        return false;
    }
    have += (size_t)n;
    if (have == sizeof(rec)) {
        have = 0;
        if (rec.magic != BATOND_SHIM_LEASE_MAGIC) {
            kill_group("bad lease record from batond", 0);
        }
        *until_ms = rec.until_ms;
    }
    return true;
}

/* In the app's fork, before exec: become UID/GID (--as, supervise.h),
 * groups first, while still root. Returns 0, or -1 with errno set and
 * *what naming the call that failed. */
static int become(char **as, const char **what)
{
    char *end;
    unsigned long gid = strtoul(as[1], &end, 10);
    bool user = strcmp(as[0], "-") != 0;
    gid_t g = (gid_t)gid;

    if (geteuid() != 0) {
        /* batond's config allows a non-root batond only its own user and
         * group (src/daemon/config.c): nothing to change, and
         * initgroups would fail. */
        return 0;
    }
    if (user ? initgroups(as[2], g) != 0 : setgroups(1, &g) != 0) {
        *what = user ? "initgroups" : "setgroups";
        return -1;
    }
    *what = "setgid";
    if (setgid(g) != 0) {
        return -1;
    }
    *what = "setuid";
    return user && setuid((uid_t)strtoul(as[0], &end, 10)) != 0 ? -1 : 0;
}

/* The next NUL-terminated string at *at in buf[0..len), or NULL. */
static char *next_string(char *buf, size_t len, size_t *at)
{
    char *s = buf + *at;
    char *end;

    if (*at >= len || (end = memchr(s, '\0', len - *at)) == NULL) {
        return NULL;
    }
    *at += (size_t)(end - s) + 1;
    return s;
}

/* A spare shim (supervise.h): waits for its command, takes its
 * environment and working directory, and returns its argv. Ends quietly
 * if batond goes before it sends one: nothing was started. */
static char **spare_request(void)
{
    uint32_t size;
    uint32_t counts[2];
    size_t at = 0;
    char *buf;
    char **argv;
    char **envp;
    const char *cwd;

    if (!read_in(&size, sizeof(size))) {
        _exit(0);
    }
    if (size < sizeof(counts) || size > BATOND_SPARE_REQ_MAX ||
        (buf = malloc(size)) == NULL || !read_in(buf, size)) {
        fprintf(stderr, "baton-shim: bad request from batond\n");
        _exit(126);
    }
    memcpy(counts, buf, sizeof(counts));
    at = sizeof(counts);
    argv = calloc((size_t)counts[0] + 1, sizeof(*argv));
    envp = calloc((size_t)counts[1] + 1, sizeof(*envp));
    cwd = next_string(buf, size, &at);
    if (argv == NULL || envp == NULL || cwd == NULL || counts[0] == 0 ||
        counts[0] > size || counts[1] > size) {
        fprintf(stderr, "baton-shim: bad request from batond\n");
        _exit(126);
    }
    for (uint32_t i = 0; i < counts[0] + counts[1]; i++) {
        char *w = next_string(buf, size, &at);
        if (w == NULL) {
            fprintf(stderr, "baton-shim: bad request from batond\n");
            _exit(126);
        }
        if (i < counts[0]) {
            argv[i] = w;
        } else {
            envp[i - counts[0]] = w;
        }
    }
    /* execvp() looks the command up in the app's PATH, as uv_spawn does
     * when it starts the shim with the app's environment. */
    environ = envp;
    if (cwd[0] != '\0' && chdir(cwd) != 0) {
        fprintf(stderr, "baton-shim: cannot run \"%s\": %s: %s\n", argv[0], cwd,
                strerror(errno));
        _exit(127);
    }
    return argv;
}

_Noreturn void batond_shim_main(int argc, char **argv)
{
    pid_t child;
    int status;
    int first = 2;
    struct sigaction sa;
    sigset_t term;
    bool spare = argc == 3 && strcmp(argv[2], BATOND_SHIM_SPARE) == 0;
    char **as = NULL;
    uint64_t lease_ms = 0; /* CLOCK_BOOTTIME; 0: no lease (available) */

    if (argc > 6 && strcmp(argv[2], BATOND_SHIM_AS) == 0) {
        as = &argv[3];
        first = 6;
    }
    if (argc > first && strcmp(argv[first], "--") == 0) {
        first++;
    }
    if (!spare && first >= argc) {
        fprintf(stderr, "baton-shim: no command\n");
        _exit(2);
    }
    close_inherited();
    /* batond sends SIGTERM to the whole group to stop the app; the shim
     * stays until the app is gone, then reports how it ended. A SIGTERM
     * that comes before the app exists (an app started just before
     * batond stops) must still reach it: the shim holds SIGTERM blocked
     * instead of ignoring it until the fork, so one that came meanwhile
     * is still pending and seen below. */
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (spare) {
        argv = spare_request();
        first = 0;
    }
    if (pipe(chld_pipe) != 0) {
        fprintf(stderr, "baton-shim: pipe: %s\n", strerror(errno));
        _exit(126);
    }
    fcntl(chld_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(chld_pipe[1], F_SETFL, O_NONBLOCK);
    fcntl(chld_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(chld_pipe[1], F_SETFD, FD_CLOEXEC);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    if (term_pending()) {
        /* Stopped before it started: the app never runs. */
        exit_by_sigterm();
    }
    child = fork();
    if (child < 0) {
        fprintf(stderr, "baton-shim: fork: %s\n", strerror(errno));
        _exit(126);
    }
    if (child == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        /* A group SIGTERM sent since the fork is pending here, and
         * kills the app now. */
        sigprocmask(SIG_UNBLOCK, &term, NULL);
        const char *what;
        if (devnull >= 0) {
            dup2(devnull, 0); /* the app does not get batond's pipe */
            close(devnull);
        }
        if (as != NULL && become(as, &what) != 0) {
            fprintf(stderr,
                    "baton-shim: cannot run \"%s\" as uid %s gid %s: "
                    "%s: %s\n",
                    argv[first], as[0], as[1], what, strerror(errno));
            _exit(126);
        }
        execvp(argv[first], &argv[first]);
        fprintf(stderr, "baton-shim: cannot run \"%s\": %s\n", argv[first],
                strerror(errno));
        _exit(127);
    }
    /* One that came between the check above and the fork did not reach
     * the child (pending signals are not inherited): pass it on. Later
     * ones reach the child through the group; the shim drops its copy. */
    if (term_pending()) {
        kill(child, SIGTERM);
    }
    signal(SIGTERM, SIG_IGN); /* discards a pending one */
    sigprocmask(SIG_UNBLOCK, &term, NULL);
    for (;;) {
        struct pollfd p[2] = {{.fd = 0, .events = POLLIN},
                              {.fd = chld_pipe[0], .events = POLLIN}};
        char buf[64];
        int timeout = -1;
        pid_t w = waitpid(child, &status, WNOHANG);
        if (w == child) {
            exit_like(status);
        }
        if (lease_ms != 0) {
            uint64_t now = boot_ms();
            if (now >= lease_ms) {
                kill_group("lease ended", lease_ms);
            }
            /* poll rounds its timeout up, and the check above runs again
             * when it returns: never before the end. */
            timeout = (int)BATON_MIN(lease_ms - now, (uint64_t)INT32_MAX);
        }
        if (poll(p, 2, timeout) <= 0) {
            continue; /* interrupted, or the lease's end */
        }
        if (p[1].revents != 0) {
            while (read(chld_pipe[0], buf, sizeof(buf)) > 0) {
            }
        }
        if (p[0].revents != 0 && !read_lease(&lease_ms)) {
            /* batond is gone: so is the app, and all it started. */
            kill(0, SIGKILL);
            _exit(137);
        }
    }
}
