/* batond's configuration file (INI). See docs/config.md. */
#ifndef BATON_DAEMON_CONFIG_H
#define BATON_DAEMON_CONFIG_H

#include "../io/io.h"

#define BATON_PATH_MAX (4096)

struct batond_config {
    struct baton_io_config io; /* nodes, self, heartbeat, cookie */
    char path[BATON_PATH_MAX];
    char control_socket[BATON_PATH_MAX];
    char cookie_file[BATON_PATH_MAX];
    char listen_host[BATON_ADDR_MAX]; /* "" = this node's own address */
    uint16_t listen_port;
    char self_name[BATON_NAME_MAX + 1];
    int log_level; /* enum baton_log_level */
};

/* Reads and validates FILE, including the cookie file it names. On error
 * writes a message naming file:line and the key (or the cookie file and
 * what is wrong with it) into err, and returns BATON_EINVAL. */
int batond_config_load(struct batond_config *cfg, const char *file,
                       char *err, size_t err_len);

#endif /* BATON_DAEMON_CONFIG_H */
