/* The Unix socket of the fenced example, for the store and its client. */
#ifndef FENCED_SOCK_H
#define FENCED_SOCK_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A stream socket at path: bound and listening (serve), else connected.
 * Returns it, or -1 with errno set. */
static inline int fenced_socket(const char *path, bool serve)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd, rv;

    if (strlen(path) >= sizeof(a.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (serve) {
        unlink(path); /* a previous run's */
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (serve) {
        rv = bind(fd, (struct sockaddr *)&a, sizeof(a));
        rv = rv == 0 ? listen(fd, 16) : rv;
    } else {
        rv = connect(fd, (struct sockaddr *)&a, sizeof(a));
    }
    if (rv != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

#endif /* FENCED_SOCK_H */
