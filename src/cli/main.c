/* batonctl: inspect and steer the local batond over its control socket.
 *
 *   batonctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]
 *
 * Options go anywhere (getopt_long permutes them; "--" ends them, for a
 * DATA that starts with '-'). The socket is -s, else the control_socket
 * of -c CONFIG, else $BATON_SOCKET, else the control_socket of
 * /etc/baton/baton.conf (the packaged service's config, when it can be
 * read). One file per subcommand. */
#include "../util/setup.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/config.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batonctl [-s|--socket SOCKET | -c|--config CONFIG] "
            "[--json] COMMAND [ARGS]\n"
            "       batonctl --version | --help\n"
            "options may come anywhere, before or after COMMAND; see "
            "batonctl(8)\n"
            "commands:\n"
            "  status                  this node, its coordinator and every "
            "peer's link\n"
            "  nodes                   every node: address, up/down, role, "
            "coordinator, RTT\n"

            "  apps                    every app: status, owner, epoch, and "
            "here\n"
            "  permit APP true|false   let APP run here / move it away\n"
            "  takeover APP            move APP here and keep it here\n"
            "  move APP NODE           move APP to NODE now, pinned there "
            "(from any node)\n"
            "  unpin APP               clear APP's pin: its priority list "
            "places it\n"
            "  disable APP | enable APP\n"
            "                          stop APP everywhere / let it run "
            "again (cluster-wide)\n"
            "  standby NODE | unstandby NODE\n"
            "                          NODE runs no app (they move away) / "
            "may run apps\n"
            "  ready APP               APP (ready = notify) is ready\n"
            "  drain                   hand every app here over (with its "
            "state), then\n"
            "                          stop this batond, as SIGTERM does\n"
            "  reload                  this batond re-reads its config file "
            "(as SIGHUP):\n"
            "                          prints the apps added, removed and "
            "changed, or why not\n"
            "  node remove NAME        take node NAME out of the cluster "
            "(its apps fail\n"
            "                          over, its names go; decided by the "
            "coordinator)\n"
            "  node add NAME ADDR [worker|witness]\n"
            "                          make node NAME, listening at "
            "host:port ADDR, a member\n"
            "  leader GROUP            leader group GROUP of a libbaton "
            "node: its leader,\n"
            "                          epoch and members (also: group "
            "GROUP)\n"
            "  leader-call GROUP DATA [--timeout MS]\n"
            "                          a leader_call from this node's "
            "member: waits for a\n"
            "                          leader; prints the reply (exit 1 "
            "and why on failure)\n"
            "  watch                   the cluster's app, node and name "
            "events, a line each\n"
            "  watch GROUP             the group's events on this node "
            "(elected, surrendered,\n"
            "                          deposed, from_leader, down), a line "
            "each, until SIGINT\n"
            "names (docs/control.md):\n"
            "  names                   every name this node sees: NAME NODE "
            "EPOCH META\n"
            "  whereis NAME [--address] [--quorum]\n"
            "                          where NAME is registered (exit 1: "
            "nowhere);\n"
            "                          --address: only the address in its "
            "meta\n"
            "  register NAME [--meta TEXT] [--resolver R] [--hold [--prefix "
            "TEXT]]\n"
            "                          register NAME for this batonctl's "
            "session; a name\n"
            "                          lives as long as its session, so "
            "without --hold it\n"
            "                          goes again as batonctl exits. --hold "
            "keeps it until\n"
            "                          SIGINT/SIGTERM, prints messages and "
            "calls, and answers\n"
            "                          calls with their data (after TEXT). "
            "R: keep_incumbent\n"
            "                          (default), random_exit, "
            "random_notify, notify_all\n"
            "  register NAME --quorum  a quorum name: committed in the Raft "
            "log, at the\n"
            "                          leader only; it stays as batonctl "
            "exits\n"
            "  reregister NAME [META] (options as register)\n"
            "                          re-point NAME at this session "
            "wherever it is\n"
            "                          (its holder hears name_lost "
            "replaced)\n"
            "  unregister NAME         names go with their session: says "
            "so for NAME\n"
            "  send NAME DATA          a message to NAME's holder (DATA - : "
            "stdin)\n"
            "  call NAME DATA [--timeout MS]\n"
            "                          a call; prints the reply (exit 1 "
            "and why on failure)\n"
            "  serve NAME [--prefix TEXT]\n"
            "                          for an app with name = NAME, run by "
            "batond here:\n"
            "                          answer its calls like register "
            "--hold\n");
}

const char *cli_str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

int cli_print_json(cJSON *doc)
{
    char *s = cJSON_PrintUnformatted(doc);

    printf("%s\n", s != NULL ? s : "null");
    free(s);
    cJSON_Delete(doc);
    return 0;
}

cJSON *cli_request(const struct cli *c, const char *line)
{
    struct sockaddr_un sa = {0};
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    cJSON *doc;
    int fd;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->socket);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        fprintf(stderr, "batonctl: cannot reach batond at %s: %s%s\n",
                c->socket, strerror(e),
                e == ENOENT || e == ECONNREFUSED ? " (is batond running?)"
                                                 : "");
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0) {
        fprintf(stderr, "batonctl: %s: %s\n", c->socket, strerror(errno));
        close(fd);
        return NULL;
    }
    for (;;) {
        ssize_t n;
        if (len + 4096 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (nb == NULL) {
                free(buf);
                close(fd);
                return NULL;
            }
            buf = nb;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (buf == NULL) {
        fprintf(stderr, "batonctl: batond closed the connection\n");
        return NULL;
    }
    buf[len] = '\0';
    doc = cJSON_Parse(buf);
    if (doc == NULL) {
        fprintf(stderr, "batonctl: batond sent a reply that is not JSON\n");
    } else if (cJSON_IsString(cJSON_GetObjectItem(doc, "error"))) {
        fprintf(stderr, "batonctl: batond: %s\n",
                cJSON_GetObjectItem(doc, "error")->valuestring);
        cJSON_Delete(doc);
        doc = NULL;
    }
    free(buf);
    return doc;
}

/* -c CONFIG: batonctl needs the node's control_socket only, so it reads
 * the node's sections and passes over the program's ([app] of batond). */
static int other_section(void *user, struct lib_config *cfg,
                         const char *section, const char *key,
                         const char *value, char *err, size_t err_len)
{
    (void)user, (void)cfg, (void)section, (void)key, (void)value;
    (void)err, (void)err_len;
    return 0;
}

int main(int argc, char **argv)
{
    /* The subcommands' own options are known here too, so that they may
     * come anywhere as well: each is handed on after the words, as
     * "--NAME [VALUE]", in the order given. */
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"meta", required_argument, NULL, 'o'},
        {"resolver", required_argument, NULL, 'o'},
        {"prefix", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 'o'},
        {"hold", no_argument, NULL, 'o'},
        {"multi", no_argument, NULL, 'o'},
        {"address", no_argument, NULL, 'o'},
        {"quorum", no_argument, NULL, 'o'},
        {NULL, 0, NULL, 0}};
    static struct lib_config cfg;
    static char err[16384];
    static char opt_names[BATON_ARRAY_LEN(longopts)][16];
    char *sub_opts[64];
    char *sub[128];
    int n_sub_opts = 0;
    int n_sub = 0;
    struct cli c = {0};
    const char *config = NULL;
    int ch, li;
    int i = 0;

    for (size_t k = 0; longopts[k].name != NULL; k++) {
        snprintf(opt_names[k], sizeof(opt_names[k]), "--%s",
                 longopts[k].name);
    }
    while ((ch = getopt_long(argc, argv, "s:c:hV", longopts, &li)) != -1) {
        switch (ch) {
        case 's':
            c.socket = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'j':
            c.json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("batonctl %s\n", BATON_VERSION_STRING);
            return 0;
        case 'o':
            if (n_sub_opts + 2 > (int)BATON_ARRAY_LEN(sub_opts)) {
                usage(stderr);
                return 2;
            }
            sub_opts[n_sub_opts++] = opt_names[li];
            if (longopts[li].has_arg == required_argument) {
                sub_opts[n_sub_opts++] = optarg;
            }
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    /* The command and its words, then its options. */
    for (int k = optind; k < argc && n_sub < (int)BATON_ARRAY_LEN(sub) - 1;
         k++) {
        sub[n_sub++] = argv[k];
    }
    for (int k = 0; k < n_sub_opts && n_sub < (int)BATON_ARRAY_LEN(sub) - 1;
         k++) {
        sub[n_sub++] = sub_opts[k];
    }
    sub[n_sub] = NULL;
    argc = n_sub;
    argv = sub;
    if (c.socket == NULL && config == NULL && getenv("BATON_SOCKET") == NULL &&
        access(BATON_DEFAULT_CONFIG, R_OK) == 0) {
        config = BATON_DEFAULT_CONFIG; /* the packaged service's */
    }
    if (c.socket == NULL && config != NULL) {
        if (lib_config_load(&cfg, config, other_section, NULL, err,
                            sizeof(err)) != 0 ||
            lib_config_default_socket(&cfg, err, sizeof(err)) != 0) {
            fprintf(stderr, "batonctl: %s\n", err);
            return 1;
        }
        c.socket = cfg.control_socket;
    }
    if (c.socket == NULL) {
        c.socket = getenv("BATON_SOCKET");
    }
    if (c.socket == NULL || i >= argc) {
        usage(stderr);
        if (c.socket == NULL) {
            fprintf(stderr, "batonctl: no control socket: use -s SOCKET, "
                            "-c CONFIG or $BATON_SOCKET (or make "
                            "%s readable)\n", BATON_DEFAULT_CONFIG);
        }
        return 2;
    }
    if (strcmp(argv[i], "status") == 0) {
        return cli_status(&c, argc - i, argv + i);
    }
    if (strcmp(argv[i], "nodes") == 0) {
        return cli_nodes(&c, argc - i, argv + i);
    }
    if (strcmp(argv[i], "apps") == 0) {
        return cli_apps(&c, argc - i, argv + i);
    }
    if (strcmp(argv[i], "leader") == 0 || strcmp(argv[i], "group") == 0) {
        return cli_leader(&c, argc - i, argv + i);
    }
    if (strcmp(argv[i], "leader-call") == 0) {
        return cli_leader_call(&c, argc - i, argv + i);
    }
    if (strcmp(argv[i], "watch") == 0) { /* watch.c without a GROUP */
        return (argc - i == 1 ? cli_events : cli_watch)(&c, argc - i, argv + i);
    }
    if (strcmp(argv[i], "permit") == 0 || strcmp(argv[i], "takeover") == 0 ||
        strcmp(argv[i], "ready") == 0 || strcmp(argv[i], "drain") == 0 ||
        strcmp(argv[i], "reload") == 0 || strcmp(argv[i], "node") == 0) {
        return cli_steer(&c, argc - i, argv + i);
    }
    if (strcmp(argv[i], "move") == 0 || strcmp(argv[i], "unpin") == 0 ||
        strcmp(argv[i], "disable") == 0 || strcmp(argv[i], "enable") == 0 ||
        strcmp(argv[i], "standby") == 0 || strcmp(argv[i], "unstandby") == 0) {
        return cli_verb(&c, argc - i, argv + i);
    }
    {
        static const struct {
            const char *name;
            int (*fn)(const struct cli *, int, char **);
        } cmds[] = {{"names", cli_names},       {"whereis", cli_whereis},
                    {"register", cli_register}, {"unregister", cli_unregister},
                    {"reregister", cli_reregister},
                    {"send", cli_send},         {"call", cli_call},
                    {"serve", cli_serve}};
        for (size_t k = 0; k < BATON_ARRAY_LEN(cmds); k++) {
            if (strcmp(argv[i], cmds[k].name) == 0) {
                return cmds[k].fn(&c, argc - i, argv + i);
            }
        }
    }
    fprintf(stderr, "batonctl: unknown command \"%s\"\n", argv[i]);
    usage(stderr);
    return 2;
}
