/* batond: one baton node as a daemon.
 *
 *   batond -c FILE            run
 *   batond --check -c FILE    validate FILE (and its cookie file), exit
 *
 * Logs go to stderr, one line per event: "<UTC time> <LEVEL> <text>".
 * SIGTERM/SIGINT: clean shutdown (peers see the links close at once).
 * SIGHUP: logged and otherwise ignored; the configuration is read at
 * start only (docs/config.md). */
#include "../util/setup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/error.h"
#include "config.h"
#include "control.h"

struct batond {
    uv_loop_t *loop;
    struct batond_config cfg;
    struct baton_io io;
    struct batond_control control;
    uv_signal_t sigterm, sigint, sighup;
    int exit_code;
};

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static void log_line(void *data, int level, const char *text)
{
    const struct batond *d = data;
    struct timespec ts;
    struct tm tm;
    char when[32];

    if (d != NULL && level < d->cfg.log_level) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%06ldZ %s %s\n", when, ts.tv_nsec / 1000,
            level_names[level & 3], text);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void shutdown_(struct batond *d, const char *why)
{
    char text[128];

    snprintf(text, sizeof(text), "shutting down (%s)", why);
    log_line(d, BATON_LOG_INFO, text);
    uv_close((uv_handle_t *)&d->sigterm, on_closed);
    uv_close((uv_handle_t *)&d->sigint, on_closed);
    uv_close((uv_handle_t *)&d->sighup, on_closed);
    batond_control_close(&d->control, on_closed);
    baton_io_close(&d->io, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct batond *d = s->data;

    if (signum == SIGHUP) {
        log_line(d, BATON_LOG_INFO,
                 "SIGHUP ignored: the configuration is read at start only; "
                 "restart batond to apply a new one");
        return;
    }
    shutdown_(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* The incarnation tells this life from earlier ones under the same name:
 * the wall clock in milliseconds at start, which grows across restarts
 * unless the clock is set back by more than the time between them. */
static baton_inc incarnation(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (baton_inc)ts.tv_sec * 1000 + (baton_inc)(ts.tv_nsec / 1000000);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: batond -c FILE\n"
               "       batond --check -c FILE\n");
}

int main(int argc, char **argv)
{
    static struct batond d; /* large (read buffers): not on the stack */
    const char *file = NULL;
    bool check = false;
    char err[1024];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (file == NULL) {
        usage(stderr);
        return 2;
    }
    if (batond_config_load(&d.cfg, file, err, sizeof(err)) != 0) {
        fprintf(stderr, "batond: %s\n", err);
        return 1;
    }
    if (check) {
        printf("%s: OK: node %s, %u nodes, control socket %s\n", file,
               d.cfg.self_name, d.cfg.io.n_nodes, d.cfg.control_socket);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    d.loop = uv_default_loop();
    d.cfg.io.inc = incarnation();
    if (baton_io_init(&d.io, d.loop, &d.cfg.io, log_line, &d) != 0) {
        return 1;
    }
    if (batond_control_start(&d.control, &d.io, d.cfg.control_socket, err,
                             sizeof(err)) != 0) {
        log_line(&d, BATON_LOG_ERROR, err);
        return 1;
    }
    if (baton_io_start(&d.io) != 0) {
        batond_control_close(&d.control, on_closed);
        return 1;
    }
    snprintf(err, sizeof(err), "batond %s started (incarnation %llu, %u nodes)",
             d.cfg.self_name, (unsigned long long)d.cfg.io.inc,
             d.cfg.io.n_nodes);
    log_line(&d, BATON_LOG_INFO, err);
    uv_signal_init(d.loop, &d.sigterm);
    uv_signal_init(d.loop, &d.sigint);
    uv_signal_init(d.loop, &d.sighup);
    d.sigterm.data = d.sigint.data = d.sighup.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    uv_signal_start(&d.sighup, on_signal, SIGHUP);
    uv_run(d.loop, UV_RUN_DEFAULT);
    uv_loop_close(d.loop);
    return d.exit_code;
}
