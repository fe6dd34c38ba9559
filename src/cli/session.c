/* batonctl's side of a JSON session on the control socket: connect, send
 * one request line, read answer and event lines (docs/control.md). */
#include "../util/setup.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

int cli_session_open(const struct cli *c, struct cli_session *s)
{
    struct sockaddr_un sa = {0};
    int e;

    memset(s, 0, sizeof(*s));
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->socket);
    if (s->fd >= 0 &&
        connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        return 0;
    }
    e = errno;
    fprintf(stderr, "batonctl: cannot reach batond at %s: %s%s\n", c->socket,
            strerror(e),
            e == ENOENT || e == ECONNREFUSED ? " (is batond running?)" : "");
    if (s->fd >= 0) {
        close(s->fd);
    }
    s->fd = -1;
    return -1;
}

void cli_session_close(struct cli_session *s)
{
    if (s->fd >= 0) {
        close(s->fd);
    }
    s->fd = -1;
    free(s->buf);
    s->buf = NULL;
}

int cli_session_send(struct cli_session *s, cJSON *req)
{
    char *text = cJSON_PrintUnformatted(req);
    size_t n;
    size_t off = 0;

    cJSON_Delete(req);
    if (text == NULL) {
        return -1;
    }
    n = strlen(text);
    text[n] = '\n'; /* the NUL's place */
    while (off < n + 1) {
        ssize_t w = send(s->fd, text + off, n + 1 - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            free(text);
            fprintf(stderr, "batonctl: batond closed the connection\n");
            return -1;
        }
        off += (size_t)w;
    }
    free(text);
    return 0;
}

cJSON *cli_session_recv(struct cli_session *s, int timeout_ms,
                        volatile int *stop)
{
    for (;;) {
        char *nl = s->len > 0 ? memchr(s->buf, '\n', s->len) : NULL;
        struct pollfd pfd;
        ssize_t n;
        int r;

        if (nl != NULL) {
            cJSON *doc;
            *nl = '\0';
            doc = cJSON_Parse(s->buf);
            s->len -= (size_t)(nl + 1 - s->buf);
            memmove(s->buf, nl + 1, s->len);
            if (doc == NULL) {
                fprintf(stderr, "batonctl: batond sent a line that is not "
                                "JSON\n");
            }
            return doc;
        }
        if (s->len + 65536 > s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 131072;
            char *nb = realloc(s->buf, cap);
            if (nb == NULL) {
                return NULL;
            }
            s->buf = nb;
            s->cap = cap;
        }
        pfd.fd = s->fd;
        pfd.events = POLLIN;
        /* Waiting for ever: in slices, so that a signal that lands just
         * before poll() is not missed. */
        r = poll(&pfd, 1, timeout_ms < 0 ? 200 : timeout_ms);
        if (stop != NULL && *stop) {
            return NULL;
        }
        if ((r < 0 && errno == EINTR) || (r == 0 && timeout_ms < 0)) {
            continue;
        }
        if (r == 0) {
            fprintf(stderr, "batonctl: no answer from batond\n");
            return NULL;
        }
        n = r < 0 ? -1 : read(s->fd, s->buf + s->len, s->cap - s->len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            s->eof = true;
            return NULL;
        }
        s->len += (size_t)n;
    }
}

cJSON *cli_session_request(struct cli_session *s, cJSON *req, int timeout_ms)
{
    cJSON *doc;

    if (cli_session_send(s, req) != 0) {
        return NULL;
    }
    /* Events (a message, a call) may come first on a session that holds
     * names: the answer is the first line that is not one. */
    while ((doc = cli_session_recv(s, timeout_ms, NULL)) != NULL &&
           cJSON_GetObjectItem(doc, "event") != NULL) {
        cJSON_Delete(doc);
    }
    if (doc == NULL && s->eof) {
        fprintf(stderr, "batonctl: batond closed the connection\n");
    }
    return doc;
}

int cli_answer_failed(const char *what, const cJSON *doc)
{
    fprintf(stderr, "batonctl: %s: %s (%s)\n", what,
            cli_str(doc, "message", "failed"), cli_str(doc, "error", "?"));
    return 1;
}
