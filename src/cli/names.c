/* batonctl names | whereis | register | unregister | send | call | serve:
 * global names through a JSON session with the local batond
 * (docs/control.md). */
#include "../util/setup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "../core/names.h"
#include "../lib/json.h"
#include "cli.h"

/* Options shared by the subcommands; positional words in word[]. */
struct opts {
    const char *word[3];
    int n_word;
    const char *meta;
    const char *resolver;
    const char *prefix;
    long timeout_ms;
    bool hold;
    bool multi;
    bool quorum; /* a quorum name (quorum.md §6) */
    bool json;
    bool address;
};

static int parse(const struct cli *c, int argc, char **argv, struct opts *o,
                 const char *usage)
{
    memset(o, 0, sizeof(*o));
    o->json = c->json;
    o->timeout_ms = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--meta") == 0 && has) {
            o->meta = argv[++i];
        } else if (strcmp(a, "--resolver") == 0 && has) {
            o->resolver = argv[++i];
        } else if (strcmp(a, "--prefix") == 0 && has) {
            o->prefix = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && has) {
            char *end;
            o->timeout_ms = strtol(argv[++i], &end, 10);
            if (*end != '\0' || o->timeout_ms < 1 ||
                o->timeout_ms > 600000) {
                fprintf(stderr, "batonctl: --timeout: ms in 1..600000\n");
                return 2;
            }
        } else if (strcmp(a, "--hold") == 0) {
            o->hold = true;
        } else if (strcmp(a, "--multi") == 0) {
            o->multi = true;
        } else if (strcmp(a, "--quorum") == 0) {
            o->quorum = true;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--address") == 0) {
            o->address = true;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "usage: %s\n", usage);
            return 2;
        } else if (o->n_word < 3) {
            o->word[o->n_word++] = a;
        } else {
            fprintf(stderr, "usage: %s\n", usage);
            return 2;
        }
    }
    return 0;
}

static bool ok_of(const cJSON *doc)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(doc, "ok"));
}

/* The answer, or NULL after saying why. */
static cJSON *request(const struct cli *c, struct cli_session *s, cJSON *req,
                      int timeout_ms)
{
    if (cli_session_open(c, s) != 0) {
        cJSON_Delete(req);
        return NULL;
    }
    return cli_session_request(s, req, timeout_ms);
}

static cJSON *op(const char *name, const char *target)
{
    cJSON *req = cJSON_CreateObject();

    cJSON_AddStringToObject(req, "op", name);
    if (target != NULL) {
        cJSON_AddStringToObject(req, "name", target);
    }
    cJSON_AddNumberToObject(req, "id", 1);
    return req;
}

/* --json: the answer as batond sent it; exit 0 if it says ok. */
static int print_json(cJSON *doc)
{
    bool ok = ok_of(doc);

    cli_print_json(doc);
    return ok ? 0 : 1;
}

/* ---- names, whereis --------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a;
    const cJSON *y = *(const cJSON *const *)b;

    return strcmp(cli_str(x, "name", ""), cli_str(y, "name", ""));
}

static void print_table(const cJSON *const *rows, size_t n)
{
    printf("%-32s %-20s %-12s %s\n", "NAME", "NODE", "EPOCH", "META");
    for (size_t i = 0; i < n; i++) {
        const char *meta = cli_str(rows[i], "meta", NULL);
        printf("%-32s %-20s %-12s %s\n", cli_str(rows[i], "name", "?"),
               cli_str(rows[i], "node", "?"), cli_str(rows[i], "epoch", "?"),
               meta != NULL ? meta
               : cJSON_GetObjectItem(rows[i], "meta64") != NULL
                   ? "(binary)"
                   : "");
    }
}

int cli_names(const struct cli *c, int argc, char **argv)
{
    struct cli_session s;
    struct opts o;
    cJSON *doc;
    const cJSON *arr;
    const cJSON **rows;
    size_t n = 0;

    if (parse(c, argc, argv, &o, "batonctl names") != 0 || o.n_word != 0) {
        fprintf(stderr, "usage: batonctl names\n");
        return 2;
    }
    doc = request(c, &s, op("names", NULL), 10000);
    cli_session_close(&s);
    if (doc == NULL) {
        return 1;
    }
    if (o.json) {
        return print_json(doc);
    }
    if (!ok_of(doc)) {
        cli_answer_failed("names", doc);
        cJSON_Delete(doc);
        return 1;
    }
    arr = cJSON_GetObjectItem(doc, "names");
    rows = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*rows));
    if (rows == NULL) {
        cJSON_Delete(doc);
        return 1;
    }
    for (const cJSON *e = arr != NULL ? arr->child : NULL; e != NULL;
         e = e->next) {
        rows[n++] = e;
    }
    qsort(rows, n, sizeof(*rows), by_name);
    print_table(rows, n);
    free(rows);
    cJSON_Delete(doc);
    return 0;
}

/* The value of "address=" in meta ("app=NAME address=host:port", the
 * meta batond gives an app's name): a word of its own, up to a space. */
static bool meta_address(const char *meta, const char **at, int *len)
{
    for (const char *p = meta; p != NULL && *p != '\0';
         p = strchr(p, ' '), p = p != NULL ? p + 1 : NULL) {
        if (strncmp(p, "address=", 8) == 0) {
            *at = p + 8;
            *len = (int)strcspn(*at, " ");
            return *len > 0;
        }
    }
    return false;
}

int cli_whereis(const struct cli *c, int argc, char **argv)
{
    const char *usage = "batonctl whereis NAME [--address] [--quorum]";
    cJSON *req;
    struct cli_session s;
    struct opts o;
    cJSON *doc;
    const cJSON *row;
    const char *addr;
    int len;

    if (parse(c, argc, argv, &o, usage) != 0 || o.n_word != 1) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    req = op("whereis", o.word[0]);
    if (o.quorum) {
        cJSON_AddBoolToObject(req, "quorum", true);
    }
    doc = request(c, &s, req, 10000);
    cli_session_close(&s);
    if (doc == NULL) {
        return 1;
    }
    if (o.json) {
        return print_json(doc);
    }
    if (!ok_of(doc)) {
        cli_answer_failed(o.word[0], doc);
        cJSON_Delete(doc);
        return 1;
    }
    if (o.address) {
        int rv = 0;
        if (meta_address(cli_str(doc, "meta", NULL), &addr, &len)) {
            printf("%.*s\n", len, addr);
        } else {
            fprintf(stderr,
                    "batonctl: %s: no address in its meta (an app's name "
                    "has one with address = in its [app] section, or "
                    "written to $BATON_ADDRESS_FILE)\n",
                    o.word[0]);
            rv = 1;
        }
        cJSON_Delete(doc);
        return rv;
    }
    row = doc;
    print_table(&row, 1);
    cJSON_Delete(doc);
    return 0;
}

/* ---- data ------------------------------------------------------------- */

/* DATA as given, or stdin's bytes for "-". Returns owned bytes. */
static uint8_t *read_data(const char *arg, size_t *len)
{
    uint8_t *buf;
    size_t n = 0;

    if (strcmp(arg, "-") != 0) {
        *len = strlen(arg);
        buf = malloc(*len + 1);
        if (buf != NULL) {
            memcpy(buf, arg, *len + 1);
        }
        return buf;
    }
    buf = malloc(BATON_CALL_DATA_MAX + 1);
    while (buf != NULL && n <= BATON_CALL_DATA_MAX) {
        size_t r = fread(buf + n, 1, BATON_CALL_DATA_MAX + 1 - n, stdin);
        if (r == 0) {
            break;
        }
        n += r;
    }
    if (buf != NULL && n > BATON_CALL_DATA_MAX) {
        fprintf(stderr, "batonctl: more than %d bytes on stdin\n",
                BATON_CALL_DATA_MAX);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

uint8_t *cli_data_of(const cJSON *doc, size_t *len)
{
    const char *t = cli_str(doc, "data", NULL);
    const char *b = cli_str(doc, "data64", NULL);
    uint8_t *out;

    *len = 0;
    if (t != NULL) {
        *len = strlen(t);
        out = malloc(*len + 1);
        if (out != NULL) {
            memcpy(out, t, *len + 1);
        }
        return out;
    }
    if (b == NULL) {
        return calloc(1, 1);
    }
    out = malloc(strlen(b) / 4 * 3 + 3);
    if (out != NULL &&
        sodium_base642bin(out, strlen(b) / 4 * 3 + 3, b, strlen(b), NULL,
                          len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

void cli_print_data(const cJSON *doc)
{
    size_t len;
    uint8_t *data = cli_data_of(doc, &len);

    if (data != NULL) {
        fwrite(data, 1, len, stdout);
        if (cJSON_GetObjectItem(doc, "data") != NULL) {
            putchar('\n'); /* text; base64's bytes come as they are */
        }
        free(data);
    }
}

/* ---- send, call --------------------------------------------------------- */

static int send_or_call(const struct cli *c, int argc, char **argv,
                        bool call)
{
    const char *usage = call ? "batonctl call NAME DATA [--timeout MS]"
                             : "batonctl send NAME DATA [--timeout MS]";
    struct cli_session s;
    struct opts o;
    cJSON *req;
    cJSON *doc;
    uint8_t *data;
    size_t len;
    long timeout_ms;

    if (parse(c, argc, argv, &o, usage) != 0 || o.n_word != 2) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    data = read_data(o.word[1], &len);
    if (data == NULL) {
        return 1;
    }
    timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 5000;
    req = op(call ? "call" : "send", o.word[0]);
    lib_json_add_data(req, "data", "data64", data, len);
    free(data);
    cJSON_AddNumberToObject(req, "timeout_ms", (double)timeout_ms);
    /* batond answers by the timeout at the latest. */
    doc = request(c, &s, req, (int)timeout_ms + 10000);
    cli_session_close(&s);
    if (doc == NULL) {
        return 1;
    }
    if (o.json) {
        return print_json(doc);
    }
    if (!ok_of(doc)) {
        cli_answer_failed(o.word[0], doc);
        cJSON_Delete(doc);
        return 1;
    }
    if (!call) {
        printf("ok\n");
    } else {
        cli_print_data(doc);
    }
    cJSON_Delete(doc);
    return 0;
}

int cli_send(const struct cli *c, int argc, char **argv)
{
    return send_or_call(c, argc, argv, false);
}

int cli_call(const struct cli *c, int argc, char **argv)
{
    return send_or_call(c, argc, argv, true);
}

/* ---- holding a name: register --hold, serve ------------------------- */

static volatile int stop_flag;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* A call: answered with its data, after the prefix. */
static void answer_call(struct cli_session *s, const cJSON *ev,
                        const char *prefix)
{
    size_t plen = prefix != NULL ? strlen(prefix) : 0;
    size_t len;
    uint8_t *data = cli_data_of(ev, &len);
    uint8_t *out;
    cJSON *r = cJSON_CreateObject();

    cJSON_AddStringToObject(r, "op", "reply");
    cJSON_AddItemToObject(r, "call",
                          cJSON_Duplicate(cJSON_GetObjectItem(ev, "call"),
                                          true));
    out = malloc(plen + len + 1);
    if (data != NULL && out != NULL) {
        memcpy(out, prefix != NULL ? prefix : "", plen);
        memcpy(out + plen, data, len);
        lib_json_add_data(r, "data", "data64", out,
                         BATON_MIN(plen + len, (size_t)BATON_CALL_DATA_MAX));
    } else {
        cJSON_AddStringToObject(r, "error", "cannot read the call's data");
    }
    free(data);
    free(out);
    cli_session_send(s, r);
}

/* Prints what comes until SIGINT/SIGTERM (exit 0) or batond closes the
 * session (exit 1); answers calls. */
static int hold(struct cli_session *s, const struct opts *o)
{
    struct sigaction sa = {0};
    cJSON *ev;

    sa.sa_handler = on_stop_signal; /* no SA_RESTART: poll() returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (!stop_flag && (ev = cli_session_recv(s, -1, &stop_flag)) != NULL) {
        const char *kind = cli_str(ev, "event", NULL);
        size_t len;
        uint8_t *data;
        if (o->json) {
            char *t = cJSON_PrintUnformatted(ev);
            printf("%s\n", t != NULL ? t : "null");
            free(t);
        } else if (kind == NULL) {
            if (!ok_of(ev)) {
                cli_answer_failed("reply", ev);
            }
        } else if (strcmp(kind, "name_lost") == 0) {
            printf("lost %s: %s\n", cli_str(ev, "name", "?"),
                   cli_str(ev, "reason", "?"));
        } else if ((data = cli_data_of(ev, &len)) != NULL) {
            printf("%s %s from %s: %.*s\n", kind, cli_str(ev, "name", "?"),
                   cli_str(ev, "from", "?"), (int)len, (const char *)data);
            free(data);
        }
        if (kind != NULL && strcmp(kind, "call") == 0) {
            answer_call(s, ev, o->prefix);
        }
        cJSON_Delete(ev);
    }
    if (stop_flag) {
        return 0;
    }
    fprintf(stderr, "batonctl: batond closed the session\n");
    return 1;
}

static int write_and_hold(const struct cli *c, struct opts *o, cJSON *req,
                          const char *verb)
{
    struct cli_session s;
    cJSON *doc = request(c, &s, req, 30000);
    int rv = 0;

    if (doc == NULL) {
        cli_session_close(&s);
        return 1;
    }
    if (o->json) {
        char *t = cJSON_PrintUnformatted(doc);
        printf("%s\n", t != NULL ? t : "null");
        free(t);
    }
    if (!ok_of(doc)) {
        if (!o->json) {
            cli_answer_failed(o->word[0], doc);
        }
        rv = 1;
    } else if (!o->json && o->quorum && !o->hold) {
        printf(
            "%s %s: ok, committed (a quorum name stays when batonctl "
            "exits: it goes when this node's life ends)\n",
            verb, o->word[0]);
    } else if (!o->json) {
        printf(o->hold ? "%s %s: holding it until SIGINT/SIGTERM\n"
                       : "%s %s: ok (the name went again as batonctl "
                         "exited; use --hold to keep it)\n",
               verb, o->word[0]);
    }
    cJSON_Delete(doc);
    if (rv == 0 && o->hold) {
        fflush(stdout);
        rv = hold(&s, o);
    }
    cli_session_close(&s);
    return rv;
}

static int register_op(const struct cli *c, int argc, char **argv,
                       bool re)
{
    const char *usage =
        re ? "batonctl reregister NAME [META] [--meta TEXT] [--resolver R] "
             "[--hold [--prefix TEXT]]"
           : "batonctl register NAME [--meta TEXT] [--resolver R] [--hold "
             "[--prefix TEXT]] | NAME --quorum";
    struct opts o;
    cJSON *req;

    if (parse(c, argc, argv, &o, usage) != 0 || o.n_word < 1 ||
        o.n_word > (re ? 2 : 1) || (o.n_word == 2 && o.meta != NULL)) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    if (o.n_word == 2) {
        o.meta = o.word[1];
    }
    req = op(re ? "reregister" : "register", o.word[0]);
    if (o.meta != NULL) {
        lib_json_add_data(req, "meta", "meta64", (const uint8_t *)o.meta,
                         strlen(o.meta));
    }
    if (o.resolver != NULL) {
        cJSON_AddStringToObject(req, "resolver", o.resolver);
    }
    if (o.multi) {
        cJSON_AddBoolToObject(req, "multi", true);
    }
    if (o.quorum) {
        cJSON_AddBoolToObject(req, "quorum", true);
    }
    return write_and_hold(c, &o, req, re ? "reregistered" : "registered");
}

int cli_register(const struct cli *c, int argc, char **argv)
{
    return register_op(c, argc, argv, false);
}

/* Re-points NAME at this session wherever it was (its holder hears
 * name_lost replaced): an atomic move, where unregister then register
 * would race another registration. */
int cli_reregister(const struct cli *c, int argc, char **argv)
{
    return register_op(c, argc, argv, true);
}

int cli_serve(const struct cli *c, int argc, char **argv)
{
    const char *usage = "batonctl serve NAME [--prefix TEXT]";
    struct opts o;

    if (parse(c, argc, argv, &o, usage) != 0 || o.n_word != 1) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    o.hold = true;
    return write_and_hold(c, &o, op("serve", o.word[0]), "serving");
}

/* Names live as long as the session that registered them, so this
 * session has none to give back: batond says "not_owner". That is no
 * failure; what to do instead is said. */
int cli_unregister(const struct cli *c, int argc, char **argv)
{
    struct cli_session s;
    struct opts o;
    cJSON *doc;

    if (parse(c, argc, argv, &o, "batonctl unregister NAME") != 0 ||
        o.n_word != 1) {
        fprintf(stderr, "usage: batonctl unregister NAME\n");
        return 2;
    }
    doc = request(c, &s, op("unregister", o.word[0]), 30000);
    cli_session_close(&s);
    if (doc == NULL) {
        return 1;
    }
    if (o.json) {
        cli_print_json(doc);
        return 0;
    }
    if (ok_of(doc)) {
        printf("unregistered %s\n", o.word[0]);
    } else if (strcmp(cli_str(doc, "error", ""), "not_owner") != 0) {
        cli_answer_failed(o.word[0], doc);
        cJSON_Delete(doc);
        return 1;
    } else {
        printf("%s: not registered by this session: a name goes when the "
               "session that registered it closes (stop its batonctl "
               "register --hold, or its program)\n",
               o.word[0]);
    }
    cJSON_Delete(doc);
    return 0;
}
