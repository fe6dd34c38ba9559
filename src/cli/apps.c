/* batonctl apps: every app, where it runs (owner, epoch, status) and its
 * instance on this node. */
#include "../util/setup.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_apps(const struct cli *c, int argc, char **argv)
{
    cJSON *doc;
    const cJSON *app;

    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: batonctl apps\n");
        return 2;
    }
    doc = cli_request(c, "apps");
    if (doc == NULL) {
        return 1;
    }
    if (c->json) {
        return cli_print_json(doc);
    }
    printf("%-16s %-9s %-20s %-20s %-9s %-12s %-22s %s\n", "APP", "STATUS",
           "OWNER", "EPOCH", "TYPE", "HEALTH", "HERE (since)", "PINNED");
    cJSON_ArrayForEach(app, cJSON_GetObjectItem(doc, "apps"))
    {
        char here[64];
        char pin[300] = "-";
        /* A disabled app is idle everywhere: the setting says why. */
        bool off = cJSON_IsTrue(cJSON_GetObjectItem(app, "disabled"));
        snprintf(here, sizeof(here), "%s (%.1f s)", cli_str(app, "here", "?"),
                 cJSON_GetNumberValue(cJSON_GetObjectItem(app, "since_ms")) /
                     1000.0);
        if (cJSON_IsString(cJSON_GetObjectItem(app, "pinned_to"))) {
            snprintf(pin, sizeof(pin), "%s (%s)",
                     cli_str(app, "pinned_to", "?"),
                     cli_str(app, "pinned_by", "?"));
        }
        printf("%-16s %-9s %-20s %-20s %-9s %-12s %-22s %s\n",
               cli_str(app, "name", "?"),
               off ? "disabled" : cli_str(app, "status", "?"),
               cli_str(app, "owner", "-"), cli_str(app, "epoch", "-"),
               cli_str(app, "start_type", "?"), cli_str(app, "health", "-"),
               here, pin);
    }
    cJSON_Delete(doc);
    return 0;
}
