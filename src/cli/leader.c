/* batonctl leader GROUP (or group GROUP): who leads a leader group of
 * this node, at which epoch, and its members; leader-call and watch: a
 * session on this node's member (docs/control.md "Leader groups"). */
#include "../util/setup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_list(const cJSON *doc, const char *key)
{
    const cJSON *n;
    bool first = true;

    printf("%-11s", key);
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(doc, key))
    {
        printf("%s%s", first ? " " : ", ", cJSON_GetStringValue(n));
        first = false;
    }
    printf("\n");
}

int cli_leader(const struct cli *c, int argc, char **argv)
{
    char line[160];
    cJSON *doc;

    if (argc != 2) {
        fprintf(stderr, "usage: batonctl leader|group GROUP\n");
        return 2;
    }
    snprintf(line, sizeof(line), "leader %.64s", argv[1]);
    doc = cli_request(c, line);
    if (doc == NULL) {
        return 1;
    }
    if (c->json) {
        return cli_print_json(doc);
    }
    printf("leader:    %s%s\n", cli_str(doc, "leader", "none"),
           cJSON_IsTrue(cJSON_GetObjectItem(doc, "leading")) ? " (here)" : "");
    printf("epoch:     %s\n", cli_str(doc, "epoch", "-"));
    print_list(doc, "candidates");
    print_list(doc, "workers");
    print_list(doc, "alive");
    print_list(doc, "down");
    cJSON_Delete(doc);
    return 0;
}

/* Joins GROUP on a new session: 0, or 1 after saying why. */
static int join(const struct cli *c, struct cli_session *s, const char *group)
{
    cJSON *req = cJSON_CreateObject();
    cJSON *doc;

    if (cli_session_open(c, s) != 0) {
        cJSON_Delete(req);
        return 1;
    }
    cJSON_AddStringToObject(req, "op", "join");
    cJSON_AddStringToObject(req, "group", group);
    doc = cli_session_request(s, req, 10000);
    if (doc == NULL || !cJSON_IsTrue(cJSON_GetObjectItem(doc, "ok"))) {
        int rv = doc != NULL ? cli_answer_failed(group, doc) : 1;
        cJSON_Delete(doc);
        cli_session_close(s);
        return rv;
    }
    cJSON_Delete(doc);
    return 0;
}

/* batonctl leader-call GROUP DATA [--timeout MS]: the reply's data. */
int cli_leader_call(const struct cli *c, int argc, char **argv)
{
    struct cli_session s;
    long timeout_ms = 5000;
    cJSON *req, *doc;

    if (argc == 5 && strcmp(argv[3], "--timeout") == 0) {
        char *end;
        timeout_ms = strtol(argv[4], &end, 10);
        if (*end != '\0' || timeout_ms < 1 || timeout_ms > 600000) {
            fprintf(stderr, "batonctl: --timeout takes 1-600000 (ms)\n");
            return 2;
        }
    } else if (argc != 3) {
        fprintf(stderr,
                "usage: batonctl leader-call GROUP DATA [--timeout MS]\n");
        return 2;
    }
    if (join(c, &s, argv[1]) != 0) {
        return 1;
    }
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "leader_call");
    cJSON_AddStringToObject(req, "data", argv[2]);
    cJSON_AddNumberToObject(req, "timeout_ms", (double)timeout_ms);
    /* The node answers by the call's deadline: wait a little longer. */
    doc = cli_session_request(&s, req, (int)timeout_ms + 5000);
    cli_session_close(&s);
    if (doc == NULL) {
        return 1;
    }
    if (c->json) {
        return cli_print_json(doc);
    }
    if (!cJSON_IsTrue(cJSON_GetObjectItem(doc, "ok"))) {
        int rv = cli_answer_failed(argv[1], doc);
        cJSON_Delete(doc);
        return rv;
    }
    cli_print_data(doc);
    cJSON_Delete(doc);
    return 0;
}

static volatile int watch_stop;

static void on_watch_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

/* batonctl watch GROUP: "EVENT [leader|node] [epoch E] [data]" lines
 * until SIGINT/SIGTERM (exit 0) or the node closes the session (1). */
int cli_watch(const struct cli *c, int argc, char **argv)
{
    struct sigaction sa = {0};
    struct cli_session s;
    cJSON *ev;

    if (argc != 2) {
        fprintf(stderr, "usage: batonctl watch GROUP\n");
        return 2;
    }
    if (join(c, &s, argv[1]) != 0) {
        return 1;
    }
    if (!c->json) {
        printf("joined %s\n", argv[1]);
        fflush(stdout);
    }
    sa.sa_handler = on_watch_signal; /* no SA_RESTART: poll() returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!watch_stop &&
           (ev = cli_session_recv(&s, -1, &watch_stop)) != NULL) {
        if (c->json) {
            char *line = cJSON_PrintUnformatted(ev);
            printf("%s\n", line != NULL ? line : "null");
            free(line);
        } else if (cJSON_GetObjectItem(ev, "event") != NULL) {
            printf("%s", cli_str(ev, "event", "?"));
            if (cli_str(ev, "leader", NULL) != NULL) {
                printf(" %s", cli_str(ev, "leader", ""));
            }
            if (cli_str(ev, "node", NULL) != NULL) {
                printf(" %s", cli_str(ev, "node", ""));
            }
            if (cli_str(ev, "epoch", NULL) != NULL) {
                printf(" epoch %s", cli_str(ev, "epoch", ""));
            }
            if (cli_str(ev, "data", NULL) != NULL) {
                printf(" %s", cli_str(ev, "data", ""));
            }
            printf("\n");
        }
        fflush(stdout);
        cJSON_Delete(ev);
    }
    cli_session_close(&s);
    return watch_stop ? 0 : 1;
}
