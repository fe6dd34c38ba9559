/* batonctl status: node, incarnation, coordinator, and each peer with
 * its link state and how long ago it was last heard; batonctl nodes:
 * every node of the cluster, a line each. A peer that is down has role
 * and status "unknown": its last one is not current. */
#include "../util/setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The status document for a table, or NULL with *rv the exit status
 * (usage, no batond, or --json printed it). */
static cJSON *status_doc(const struct cli *c, int argc, char **argv, int *rv)
{
    cJSON *doc;

    if (argc != 1) {
        fprintf(stderr, "usage: batonctl %s\n", argv[0]);
        *rv = 2;
        return NULL;
    }
    doc = cli_request(c, "status");
    *rv = doc == NULL ? 1 : 0;
    if (doc != NULL && c->json) {
        *rv = cli_print_json(doc);
        return NULL;
    }
    return doc;
}

int cli_status(const struct cli *c, int argc, char **argv)
{
    const cJSON *peer;
    int rv;
    cJSON *doc = status_doc(c, argc, argv, &rv);

    if (doc == NULL) {
        return rv;
    }
    printf("node:        %s (incarnation %.0f)\n", cli_str(doc, "node", "?"),
           cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "incarnation")));
    printf("role:        %s%s%s\n", cli_str(doc, "role", "?"),
           cJSON_IsTrue(cJSON_GetObjectItem(doc, "synced")) ? "" : " (booting)",
           cJSON_IsTrue(cJSON_GetObjectItem(doc, "standby"))
               ? ", in standby (runs no app)"
               : "");
    printf("coordinator: %s\n", cli_str(doc, "coordinator", "none"));
    printf("epoch:       %s\n", cli_str(doc, "epoch", "0"));
    printf("peers:\n");
    cJSON_ArrayForEach(peer, cJSON_GetObjectItem(doc, "peers"))
    {
        const cJSON *seen = cJSON_GetObjectItem(peer, "last_seen_ms");
        char age[32] = "never";
        if (cJSON_IsNumber(seen)) {
            snprintf(age, sizeof(age), "%.0f ms ago", seen->valuedouble);
        }
        printf("  %-24s link %-4s %-5s last seen %-12s %s\n",
               cli_str(peer, "name", "?"), cli_str(peer, "link", "?"),
               cJSON_IsTrue(cJSON_GetObjectItem(peer, "alive")) ? "alive"
                                                                 : "down",
               age, cli_str(peer, "status", ""));
    }
    cJSON_Delete(doc);
    return 0;
}

/* batonctl nodes: NODE ADDRESS LINK ROLE COORD RTT, this node first. */
int cli_nodes(const struct cli *c, int argc, char **argv)
{
    const cJSON *peer;
    int rv;
    cJSON *doc = status_doc(c, argc, argv, &rv);

    if (doc == NULL) {
        return rv;
    }
    printf("%-24s %-22s %-5s %-12s %-5s %-9s %s\n", "NODE", "ADDRESS", "LINK",
           "ROLE", "COORD", "STANDBY", "RTT");
    printf("%-24s %-22s %-5s %-12s %-5s %-9s %s\n", cli_str(doc, "node", "?"),
           cli_str(doc, "address", "?"), "self", cli_str(doc, "role", "?"),
           cJSON_IsString(cJSON_GetObjectItem(doc, "coordinator")) &&
                   strcmp(cli_str(doc, "coordinator", ""),
                          cli_str(doc, "node", "?")) == 0
               ? "yes"
               : "-",
           cJSON_IsTrue(cJSON_GetObjectItem(doc, "standby")) ? "yes" : "-",
           "-");
    cJSON_ArrayForEach(peer, cJSON_GetObjectItem(doc, "peers"))
    {
        const cJSON *rtt = cJSON_GetObjectItem(peer, "rtt_us");
        char rtt_text[32] = "-"; /* not measured by this batond */
        if (cJSON_IsNumber(rtt)) {
            snprintf(rtt_text, sizeof(rtt_text), "%.3f ms",
                     rtt->valuedouble / 1000.0);
        }
        printf("%-24s %-22s %-5s %-12s %-5s %-9s %s\n",
               cli_str(peer, "name", "?"), cli_str(peer, "address", "?"),
               cJSON_IsTrue(cJSON_GetObjectItem(peer, "alive")) ? "up" : "down",
               cli_str(peer, "role", "unknown"),
               cJSON_IsTrue(cJSON_GetObjectItem(peer, "coordinator")) ? "yes"
                                                                      : "-",
               cJSON_IsTrue(cJSON_GetObjectItem(peer, "standby")) ? "yes" : "-",
               rtt_text);
    }
    cJSON_Delete(doc);
    return 0;
}
