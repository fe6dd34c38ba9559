/* batonctl watch (without a group): the cluster's app, node and name
 * events as this node sees them, a line each, from a session that
 * subscribed (docs/control.md "Cluster events"). */
#include "../util/setup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static volatile int events_stop;

static void on_signal(int sig)
{
    (void)sig;
    events_stop = 1;
}

/* "2026-12-06T05:40:01.123Z app failover web b@local epoch 7 from
 * a@local (reason)": the receiving time, then the fields an event has. */
static void print_event(const cJSON *ev)
{
    static const char *const subject[] = {"app", "name"};
    struct timespec ts;
    struct tm tm;
    char when[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%s.%03ldZ %s", when, ts.tv_nsec / 1000000,
           cli_str(ev, "event", "?"));
    if (cli_str(ev, "change", NULL) != NULL) {
        printf(" %s", cli_str(ev, "change", ""));
    }
    for (size_t i = 0; i < BATON_ARRAY_LEN(subject); i++) {
        if (cli_str(ev, subject[i], NULL) != NULL) {
            printf(" %s", cli_str(ev, subject[i], ""));
        }
    }
    if (cJSON_IsNull(cJSON_GetObjectItem(ev, "node"))) {
        printf(" none");
    } else if (cli_str(ev, "node", NULL) != NULL) {
        printf(" %s", cli_str(ev, "node", ""));
    }
    if (cli_str(ev, "epoch", NULL) != NULL) {
        printf(" epoch %s", cli_str(ev, "epoch", ""));
    }
    if (cli_str(ev, "from", NULL) != NULL) {
        printf(" from %s", cli_str(ev, "from", ""));
    }
    if (cli_str(ev, "reason", NULL) != NULL) {
        printf(" (%s)", cli_str(ev, "reason", ""));
    }
    if (cli_str(ev, "message", NULL) != NULL) {
        printf(": %s", cli_str(ev, "message", ""));
    }
    printf("\n");
}

/* batonctl watch: until SIGINT/SIGTERM (exit 0) or the node closes the
 * session (1). */
int cli_events(const struct cli *c, int argc, char **argv)
{
    struct sigaction sa = {0};
    struct cli_session s;
    cJSON *req, *ev;

    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: batonctl watch [GROUP]\n");
        return 2;
    }
    if (cli_session_open(c, &s) != 0) {
        return 1;
    }
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "subscribe");
    ev = cli_session_request(&s, req, 10000);
    if (ev == NULL || !cJSON_IsTrue(cJSON_GetObjectItem(ev, "ok"))) {
        int rv = ev != NULL ? cli_answer_failed("subscribe", ev) : 1;
        cJSON_Delete(ev);
        cli_session_close(&s);
        return rv;
    }
    cJSON_Delete(ev);
    if (!c->json) {
        printf("watching app, node and name events\n");
        fflush(stdout);
    }
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!events_stop &&
           (ev = cli_session_recv(&s, -1, &events_stop)) != NULL) {
        if (c->json) {
            char *line = cJSON_PrintUnformatted(ev);
            printf("%s\n", line != NULL ? line : "null");
            free(line);
        } else if (cJSON_GetObjectItem(ev, "event") != NULL) {
            print_event(ev);
        }
        fflush(stdout);
        cJSON_Delete(ev);
    }
    cli_session_close(&s);
    return events_stop ? 0 : 1;
}
