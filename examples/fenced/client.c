/* fenced-client: one request to fenced (README.md here).
 *
 *   fenced-client [-t TOKEN] [-w] SOCKET put KEY VALUE
 *   fenced-client SOCKET get KEY
 *   fenced-client SOCKET token
 *
 * put writes under TOKEN, by default the instance's current token: the
 * line in $BATON_EPOCH_FILE, read now (batond raises it without a restart
 * after a heal), else $BATON_EPOCH (its token at the start). -w connects,
 * prints "holding" and waits for a line on stdin before it sends: it stands for
 * an owner that decided to write and was then paused (a GC pause, a
 * SIGSTOP, a frozen VM) while a new owner took over. Prints the store's
 * answer; exits 0 on OK, VALUE or TOKEN, 1 on ERR or NONE, 2 when the
 * store cannot be reached or the arguments are wrong. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: fenced-client [-t TOKEN] [-w] SOCKET "
            "put KEY VALUE | get KEY | token\n");
    return 2;
}

/* The instance's token now: BATON_EPOCH_FILE's line, else BATON_EPOCH
 * (docs/design/supervision.md §1); NULL without either. */
static const char *current_token(char *buf, size_t len)
{
    const char *file = getenv("BATON_EPOCH_FILE");
    FILE *f = file != NULL ? fopen(file, "r") : NULL;

    if (f != NULL) {
        bool ok = fgets(buf, (int)len, f) != NULL;
        fclose(f);
        buf[strcspn(buf, "\n")] = '\0';
        if (ok && buf[0] != '\0') {
            return buf;
        }
    }
    return getenv("BATON_EPOCH");
}

int main(int argc, char **argv)
{
    char req[700], reply[700], buf[32];
    const char *token = NULL;
    bool hold = false;
    size_t got = 0;
    int opt, fd;

    while ((opt = getopt(argc, argv, "t:w")) != -1) {
        if (opt == 't') {
            token = optarg;
        } else if (opt == 'w') {
            hold = true;
        } else {
            return usage();
        }
    }
    argc -= optind;
    argv += optind;
    if (token == NULL) {
        token = current_token(buf, sizeof(buf));
    }
    if (argc == 4 && strcmp(argv[1], "put") == 0) {
        if (token == NULL || token[0] == '\0') {
            fprintf(stderr,
                    "fenced-client: no token (-t, BATON_EPOCH_FILE "
                    "or BATON_EPOCH)\n");
            return 2;
        }
        snprintf(req, sizeof(req), "PUT %s %s %s\n", token, argv[2], argv[3]);
    } else if (argc == 3 && strcmp(argv[1], "get") == 0) {
        snprintf(req, sizeof(req), "GET %s\n", argv[2]);
    } else if (argc == 2 && strcmp(argv[1], "token") == 0) {
        snprintf(req, sizeof(req), "TOKEN\n");
    } else {
        return usage();
    }
    fd = fenced_socket(argv[0], false);
    if (fd < 0) {
        fprintf(stderr, "fenced-client: %s: %s\n", argv[0], strerror(errno));
        return 2;
    }
    if (hold) {
        char go[64];
        printf("holding\n");
        fflush(stdout);
        if (fgets(go, sizeof(go), stdin) == NULL) {
            close(fd);
            return 2;
        }
    }
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        fprintf(stderr, "fenced-client: send: %s\n", strerror(errno));
        close(fd);
        return 2;
    }
    while (got < sizeof(reply) - 1 && memchr(reply, '\n', got) == NULL) {
        ssize_t k = read(fd, reply + got, sizeof(reply) - 1 - got);
        if (k <= 0) {
            fprintf(stderr, "fenced-client: no answer\n");
            close(fd);
            return 2;
        }
        got += (size_t)k;
    }
    close(fd);
    reply[got] = '\0';
    fputs(reply, stdout);
    return strncmp(reply, "ERR", 3) == 0 || strncmp(reply, "NONE", 4) == 0;
}
