/* batonctl status: node, incarnation, coordinator, and each peer with
 * its link state and how long ago it was last heard. */
#include "../util/setup.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_status(const struct cli *c, int argc, char **argv)
{
    cJSON *doc;
    const cJSON *peer;

    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: batonctl status\n");
        return 2;
    }
    doc = cli_request(c, "status");
    if (doc == NULL) {
        return 1;
    }
    if (c->json) {
        return cli_print_json(doc);
    }
    printf("node:        %s (incarnation %.0f)\n", cli_str(doc, "node", "?"),
           cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "incarnation")));
    printf("role:        %s%s\n", cli_str(doc, "role", "?"),
           cJSON_IsTrue(cJSON_GetObjectItem(doc, "synced")) ? ""
                                                            : " (booting)");
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
