/* batonctl internals: the request helper and the subcommands. */
#ifndef BATON_CLI_CLI_H
#define BATON_CLI_CLI_H

#include "../util/setup.h"

#include <cjson/cJSON.h>

struct cli {
    const char *socket; /* control socket path */
    bool json;          /* print the raw JSON document */
};

/* Sends one request line to batond and parses the JSON reply. Returns
 * owned (free with cJSON_Delete()), or NULL after printing why to stderr
 * (batond not running, no permission, garbage reply). */
cJSON *cli_request(const struct cli *c, const char *line);

/* A string member of o, or dflt. */
const char *cli_str(const cJSON *o, const char *key, const char *dflt);
/* --json: prints doc as batond sent it and frees it; returns 0. */
int cli_print_json(cJSON *doc);

int cli_status(const struct cli *c, int argc, char **argv);
int cli_apps(const struct cli *c, int argc, char **argv);
int cli_steer(const struct cli *c, int argc, char **argv);

#endif /* BATON_CLI_CLI_H */
