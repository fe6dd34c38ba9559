/* The member list on disk (docs/design/membership.md §5): written under
 * [node] state_dir at every change, read at start, so that the list the
 * cluster agreed on, not [nodes], is what a restarted node starts from.
 *
 * Happy path: the core adopts or decides a list; the driver calls
 * lib_members_changed(), which writes members.tmp, fsyncs it, renames
 * it over members and fsyncs the directory. At the next start
 * lib_members_load() reads it back.
 * Failure modes: no state_dir (nothing is kept: a whole-cluster restart
 * goes back to [nodes]); a write that fails (logged at ERROR, the old
 * file stays whole); a file that does not parse (logged, ignored: the
 * peers tell the node the current list). */
#include "../util/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib.h"

#define MEMBERS_FILE "members"
#define MEMBERS_MAGIC "baton-members 1"

static const char *const kinds[BATON_MEMBER__KIND_COUNT] = {
    "free", "candidate", "worker", "witness"};

static bool path_of(const struct baton *b, const char *file, char *out,
                    size_t len)
{
    int n;

    if (b->cfg.state_dir[0] == '\0') {
        return false;
    }
    n = snprintf(out, len, "%s/%s", b->cfg.state_dir, file);
    return n > 0 && (size_t)n < len;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One line per used slot: "slot INDEX KIND NAME ADDR" (names and
 * addresses hold no blank: config.c refuses them). */
static int write_list(int fd, const struct baton_members *l)
{
    char line[BATON_MEMBER_NAME_MAX + BATON_MEMBER_ADDR_MAX + 64];
    int n;

    n = snprintf(line, sizeof(line), "%s\nversion %" PRIu64 "\nslots %u\n",
                 MEMBERS_MAGIC, l->version, (unsigned)l->n_slots);
    if (write_all(fd, line, (size_t)n) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < l->n_slots; i++) {
        const struct baton_member *m = &l->slot[i];
        if (m->kind == BATON_MEMBER_FREE) {
            continue;
        }
        n = snprintf(line, sizeof(line), "slot %u %s %s %s\n", i,
                     kinds[m->kind], m->name,
                     m->addr[0] != '\0' ? m->addr : "-");
        if (n < 0 || (size_t)n >= sizeof(line) ||
            write_all(fd, line, (size_t)n) != 0) {
            return -1;
        }
    }
    return 0;
}

void lib_members_changed(struct baton_io *io, const struct baton_members *l)
{
    struct baton *b = io->data;
    char path[BATON_PATH_MAX + 16];
    char tmp[BATON_PATH_MAX + 16];
    int fd;
    int dir;

    if (!path_of(b, MEMBERS_FILE, path, sizeof(path)) ||
        !path_of(b, MEMBERS_FILE ".tmp", tmp, sizeof(tmp))) {
        return;
    }
    /* A node that runs no app (an added one, a witness) may not have
     * made its state_dir yet: made as batond makes it (apps.c), 0711. */
    (void)mkdir(b->cfg.state_dir, 0711);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_list(fd, l) != 0 || fsync(fd) != 0) {
        lib_logf(b, BATON_LOG_ERROR,
                 "member list version %" PRIu64 " not saved to %s: %s",
                 l->version, tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        lib_logf(b, BATON_LOG_ERROR,
                 "member list version %" PRIu64 " not saved to %s: %s",
                 l->version, path, strerror(errno));
        return;
    }
    /* The rename itself is durable once the directory is. */
    dir = open(b->cfg.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        (void)fsync(dir);
        close(dir);
    }
    lib_logf(b, BATON_LOG_DEBUG, "member list version %" PRIu64 " saved to %s",
             l->version, path);
}

static int kind_of(const char *text)
{
    for (unsigned k = 1; k < BATON_MEMBER__KIND_COUNT; k++) {
        if (strcmp(text, kinds[k]) == 0) {
            return (int)k;
        }
    }
    return -1;
}

static bool parse(FILE *f, struct baton_members *l)
{
    char line[BATON_MEMBER_NAME_MAX + BATON_MEMBER_ADDR_MAX + 64];
    char kind[16];
    char name[BATON_MEMBER_NAME_MAX + 1];
    char addr[BATON_MEMBER_ADDR_MAX + 1];
    unsigned slots;
    unsigned i;
    int k;

    memset(l, 0, sizeof(*l));
    if (fgets(line, sizeof(line), f) == NULL ||
        strcmp(line, MEMBERS_MAGIC "\n") != 0 ||
        fscanf(f, "version %" SCNu64 "\nslots %u\n", &l->version, &slots) !=
            2 ||
        slots < 1 || slots > BATON_NODES_MAX) {
        return false;
    }
    l->n_slots = (uint8_t)slots;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "slot %u %15s %255s %127s", &i, kind, name, addr) !=
                4 ||
            i >= slots || (k = kind_of(kind)) < 0 ||
            l->slot[i].kind != BATON_MEMBER_FREE) {
            return false;
        }
        l->slot[i].kind = (uint8_t)k;
        memcpy(l->slot[i].name, name, strlen(name) + 1);
        if (strcmp(addr, "-") != 0) {
            memcpy(l->slot[i].addr, addr, strlen(addr) + 1);
        }
    }
    return baton_members_validate(l) == 0;
}

const struct baton_members *lib_members_load(struct baton *b)
{
    char path[BATON_PATH_MAX + 16];
    FILE *f;
    bool ok;

    if (!path_of(b, MEMBERS_FILE, path, sizeof(path))) {
        return NULL;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        return NULL; /* never changed: [nodes] is the list */
    }
    ok = parse(f, &b->members);
    fclose(f);
    if (!ok) {
        lib_logf(b, BATON_LOG_WARN,
                 "%s does not parse: starting from [nodes]; the peers "
                 "will tell this node the current list",
                 path);
        return NULL;
    }
    lib_logf(b, BATON_LOG_INFO, "member list version %" PRIu64 " from %s",
             b->members.version, path);
    return &b->members;
}
