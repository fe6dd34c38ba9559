/* batonctl status: node, incarnation, coordinator, and each peer with
 * its link state and how long ago it was last heard. */
#include "../util/setup.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char *str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

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
        char *s = cJSON_PrintUnformatted(doc);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(doc);
        return 0;
    }
    printf("node:        %s (incarnation %.0f)\n", str(doc, "node", "?"),
           cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "incarnation")));
    printf("role:        %s%s\n", str(doc, "role", "?"),
           cJSON_IsTrue(cJSON_GetObjectItem(doc, "synced")) ? ""
                                                            : " (booting)");
    printf("coordinator: %s\n", str(doc, "coordinator", "none"));
    printf("epoch:       %s\n", str(doc, "epoch", "0"));
    printf("peers:\n");
    cJSON_ArrayForEach(peer, cJSON_GetObjectItem(doc, "peers"))
    {
        const cJSON *seen = cJSON_GetObjectItem(peer, "last_seen_ms");
        char age[32] = "never";
        if (cJSON_IsNumber(seen)) {
            snprintf(age, sizeof(age), "%.0f ms ago", seen->valuedouble);
        }
        printf("  %-24s link %-4s %-5s last seen %-12s %s\n",
               str(peer, "name", "?"), str(peer, "link", "?"),
               cJSON_IsTrue(cJSON_GetObjectItem(peer, "alive")) ? "alive"
                                                                 : "down",
               age, str(peer, "status", ""));
    }
    cJSON_Delete(doc);
    return 0;
}
