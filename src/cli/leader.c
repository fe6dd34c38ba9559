/* batonctl leader GROUP: who leads a leader group of this node, at which
 * epoch, and its members (docs/control.md "Leader groups"). */
#include "../util/setup.h"

#include <stdio.h>
#include <stdlib.h>

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
        fprintf(stderr, "usage: batonctl leader GROUP\n");
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
