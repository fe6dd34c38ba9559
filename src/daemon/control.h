/* batond's control socket: a Unix stream socket (mode 0600) that serves
 * batonctl and programs. See docs/control.md. */
#ifndef BATON_DAEMON_CONTROL_H
#define BATON_DAEMON_CONTROL_H

#include "../io/io.h"
#include "supervise.h"

struct batond_control {
    uv_pipe_t pipe;
    struct baton_io *io;
    struct batond_sup *sup;
    char path[108];
    bool open;
};

/* Binds and listens at path (replacing a stale socket file, refusing if
 * another batond answers there). Errors: BATON_EIO, with a message in
 * err. */
int batond_control_start(struct batond_control *c, struct baton_io *io,
                         const char *path, char *err, size_t err_len);
void batond_control_close(struct batond_control *c, uv_close_cb cb);

/* The JSON status document (returns owned, free with free()). */
char *batond_status_json(const struct baton_io *io);
/* The JSON apps document: every app, cluster-wide and local. */
char *batond_apps_json(const struct baton_io *io, const struct batond_sup *sup);

#endif /* BATON_DAEMON_CONTROL_H */
