/* batond under systemd (Type=notify): the sd_notify(3) protocol spoken
 * by hand, a datagram of "KEY=VALUE" lines to $NOTIFY_SOCKET, and the
 * journal's "<N>" line prefixes (sd-daemon(3)). By hand because the
 * protocol is a sendto() and libsystemd would be a runtime dependency
 * of every batond for it (docs/config.md "Running under systemd"). */
#ifndef BATON_DAEMON_NOTIFY_H
#define BATON_DAEMON_NOTIFY_H

#include "../util/setup.h"

#include <sys/socket.h>
#include <sys/un.h>

struct batond_notify {
    int fd; /* -1: not under a service manager that listens */
    struct sockaddr_un addr;
    socklen_t addr_len;
    uint64_t watchdog_usec; /* 0: no watchdog */
    bool ready;             /* READY=1 sent */
    char status[256];       /* the last STATUS= sent */
};

/* Reads $NOTIFY_SOCKET and $WATCHDOG_USEC (for this process only, as
 * $WATCHDOG_PID says), and removes them (and $WATCHDOG_PID) from the
 * environment, so that apps batond starts do not notify in its name.
 * $JOURNAL_STREAM stays: it names a stream, not batond, and an app
 * whose stderr is that stream may use it the same way. Returns true if
 * a notify socket is there. */
bool batond_notify_init(struct batond_notify *n);

/* Sends text ("READY=1\nSTATUS=...") if there is a socket; errors are
 * ignored, as sd_notify's are by most daemons: systemd then acts on its
 * own timeouts. */
void batond_notify_send(struct batond_notify *n, const char *text);

/* Whether stderr is the journal ($JOURNAL_STREAM names its device and
 * inode, systemd.exec(5)): then log lines carry "<N>" syslog levels and
 * no timestamp. Call before batond_notify_init(). */
bool batond_stderr_is_journal(void);

#endif /* BATON_DAEMON_NOTIFY_H */
