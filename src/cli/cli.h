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

/* A JSON session (docs/control.md "Sessions"). */
struct cli_session {
    int fd;
    char *buf; /* bytes read, not yet a whole line */
    size_t len, cap;
    bool eof;
};

/* Connects to batond. Returns 0, or -1 after printing why. */
int cli_session_open(const struct cli *c, struct cli_session *s);
void cli_session_close(struct cli_session *s);
/* Sends req as one line (takes ownership). Returns 0 or -1. */
int cli_session_send(struct cli_session *s, cJSON *req);
/* The next line, parsed (returns owned), or NULL: batond closed the
 * session (s->eof), timeout_ms passed (-1: never), or *stop was set by a
 * signal. */
cJSON *cli_session_recv(struct cli_session *s, int timeout_ms,
                        volatile int *stop);
/* Sends req and returns the answer: the next line that is no event. */
cJSON *cli_session_request(struct cli_session *s, cJSON *req,
                           int timeout_ms);
/* The "data" or "data64" of doc, decoded (owned), or NULL. */
uint8_t *cli_data_of(const cJSON *doc, size_t *len);
/* Writes doc's data to stdout (text: with a newline). */
void cli_print_data(const cJSON *doc);
/* Prints "batonctl: WHAT: message (error)"; returns 1. */
int cli_answer_failed(const char *what, const cJSON *doc);

int cli_status(const struct cli *c, int argc, char **argv);
int cli_nodes(const struct cli *c, int argc, char **argv);
int cli_apps(const struct cli *c, int argc, char **argv);
int cli_leader(const struct cli *c, int argc, char **argv);
int cli_leader_call(const struct cli *c, int argc, char **argv);
int cli_watch(const struct cli *c, int argc, char **argv);
int cli_events(const struct cli *c, int argc, char **argv); /* watch.c */
/* batonctl move, unpin, disable, enable, standby, unstandby (steer.c):
 * says what changed (exit 0) or why not (exit 1). */
int cli_verb(const struct cli *c, int argc, char **argv);
int cli_steer(const struct cli *c, int argc, char **argv);
int cli_names(const struct cli *c, int argc, char **argv);
int cli_whereis(const struct cli *c, int argc, char **argv);
int cli_register(const struct cli *c, int argc, char **argv);
int cli_reregister(const struct cli *c, int argc, char **argv);
int cli_unregister(const struct cli *c, int argc, char **argv);
int cli_send(const struct cli *c, int argc, char **argv);
int cli_call(const struct cli *c, int argc, char **argv);
int cli_serve(const struct cli *c, int argc, char **argv);

#endif /* BATON_CLI_CLI_H */
