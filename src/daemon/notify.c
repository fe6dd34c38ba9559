/* sd_notify by hand (notify.h). */
#include "../util/setup.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify.h"

bool batond_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
        fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

bool batond_notify_init(struct batond_notify *n)
{
    const char *path = getenv("NOTIFY_SOCKET");
    const char *wd = getenv("WATCHDOG_USEC");
    const char *wpid = getenv("WATCHDOG_PID");
    size_t len;

    memset(n, 0, sizeof(*n));
    n->fd = -1;
    if (wd != NULL && (wpid == NULL || strtol(wpid, NULL, 10) == getpid())) {
        n->watchdog_usec = strtoull(wd, NULL, 10);
    }
    len = path != NULL ? strlen(path) : 0;
    /* An absolute path, or "@name" for an abstract socket. */
    if (len >= 2 && len < sizeof(n->addr.sun_path) &&
        (path[0] == '/' || path[0] == '@')) {
        n->addr.sun_family = AF_UNIX;
        memcpy(n->addr.sun_path, path, len);
        if (path[0] == '@') {
            n->addr.sun_path[0] = '\0';
        }
        n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                                  len + (path[0] == '/'));
        n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    if (n->fd < 0) {
        n->watchdog_usec = 0; /* nobody to ping */
    }
    return n->fd >= 0;
}

void batond_notify_send(struct batond_notify *n, const char *text)
{
    ssize_t rv;

    if (n->fd < 0) {
        return;
    }
    do {
        rv = sendto(n->fd, text, strlen(text), MSG_NOSIGNAL,
                    (const struct sockaddr *)&n->addr, n->addr_len);
    } while (rv < 0 && errno == EINTR);
}
