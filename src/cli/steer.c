/* batonctl permit APP true|false, takeover APP, ready APP: steer an app
 * from this node (reference §1.7); drain: hand this node's apps over and
 * stop its batond; reload: its batond re-reads its config file; node
 * remove NAME / node add NAME ADDR [worker|witness]: change the
 * cluster's members. */
#include "../util/setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_steer(const struct cli *c, int argc, char **argv)
{
    char line[160];
    cJSON *doc;

    if (strcmp(argv[0], "permit") == 0) {
        if (argc != 3 || (strcmp(argv[2], "true") != 0 &&
                          strcmp(argv[2], "false") != 0)) {
            fprintf(stderr, "usage: batonctl permit APP true|false\n");
            return 2;
        }
        snprintf(line, sizeof(line), "permit %.64s %s", argv[1], argv[2]);
    } else if (strcmp(argv[0], "node") == 0) {
        /* docs/design/membership.md §2: decided by the coordinator. */
        bool remove = argc == 3 && strcmp(argv[1], "remove") == 0;
        bool add = (argc == 4 || argc == 5) && strcmp(argv[1], "add") == 0;
        if (!remove && !add) {
            fprintf(stderr, "usage: batonctl node remove NAME\n"
                            "       batonctl node add NAME ADDR "
                            "[worker|witness]\n");
            return 2;
        }
        if (remove) {
            snprintf(line, sizeof(line), "node remove %.140s", argv[2]);
        } else {
            snprintf(line, sizeof(line), "node add %.100s %.40s %.10s",
                     argv[2], argv[3], argc == 5 ? argv[4] : "");
        }
    } else if (strcmp(argv[0], "drain") == 0) {
        if (argc != 1) {
            fprintf(stderr, "usage: batonctl drain\n");
            return 2;
        }
        snprintf(line, sizeof(line), "drain");
    } else if (strcmp(argv[0], "reload") == 0) {
        if (argc != 1) {
            fprintf(stderr, "usage: batonctl reload\n");
            return 2;
        }
        snprintf(line, sizeof(line), "reload");
    } else {
        if (argc != 2) {
            fprintf(stderr, "usage: batonctl %s APP\n", argv[0]);
            return 2;
        }
        snprintf(line, sizeof(line), "%s %.64s", argv[0], argv[1]);
    }
    doc = cli_request(c, line);
    if (doc == NULL) {
        return 1;
    }
    if (c->json) {
        return cli_print_json(doc);
    }
    if (cJSON_IsString(cJSON_GetObjectItem(doc, "changes"))) {
        /* reload: what changed */
        printf("%s\n", cJSON_GetObjectItem(doc, "changes")->valuestring);
        cJSON_Delete(doc);
        return 0;
    }
    printf("ok\n");
    cJSON_Delete(doc);
    return 0;
}

/* The operator verbs (docs/control.md "Operator verbs"): sent through
 * this node to the coordinator; the answer says what changed, or why
 * not. */
int cli_verb(const struct cli *c, int argc, char **argv)
{
    bool move = strcmp(argv[0], "move") == 0;
    bool node =
        strcmp(argv[0], "standby") == 0 || strcmp(argv[0], "unstandby") == 0;
    char line[200];
    cJSON *doc;
    bool ok;

    if (argc != (move ? 3 : 2)) {
        fprintf(stderr, "usage: batonctl %s %s\n", argv[0],
                move   ? "APP NODE"
                : node ? "NODE"
                       : "APP");
        return 2;
    }
    snprintf(line, sizeof(line), "%s %.64s %.64s", argv[0], argv[1],
             move ? argv[2] : "");
    doc = cli_request(c, line);
    if (doc == NULL) {
        return 1;
    }
    ok = cJSON_IsTrue(cJSON_GetObjectItem(doc, "ok"));
    if (c->json) {
        (void)cli_print_json(doc);
        return ok ? 0 : 1;
    }
    fprintf(ok ? stdout : stderr, "%s\n", cli_str(doc, "text", "?"));
    cJSON_Delete(doc);
    return ok ? 0 : 1;
}
