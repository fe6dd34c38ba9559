/* baton-probe: a hostile or broken peer, for the integration tests.
 *
 *   baton-probe MODE CONFIG TARGET_NAME
 *
 * Connects to TARGET_NAME's address from CONFIG (whose [node] and cookie
 * it uses as its own identity) and misbehaves according to MODE:
 *   garbage    random bytes instead of a HELLO
 *   truncated  half a HELLO, then silence
 *   oversized  a frame header announcing a body beyond the maximum
 *   bighello   a HELLO announcing 100,000 bytes (legal frame size, but
 *              beyond what an unauthenticated peer may send)
 *   oldversion a HELLO frame header of the previous wire version
 *   downgrade  a HELLO whose range a man in the middle narrowed: the
 *              probe proves the range it offered (5..6), the target saw
 *              5..5, so the proofs cannot match
 *   replay     a full handshake, one valid sealed heartbeat, then the
 *              same frame again
 *   tamper     a full handshake, then a sealed frame with one bit flipped
 *   valid      a full handshake, then a heartbeat every 250 ms for 1.5 s
 *              (the control: a well-behaved peer)
 * Exit status 0 if the target closed the connection (for "valid": if it
 * kept it open), 1 otherwise, 2 on usage or setup errors. */
#include "../../src/util/setup.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../src/lib/config.h"

static struct lib_config node;

/* [app] sections: the probe needs what goes into the config digest
 * (names, nodes, failover_timeout) and ignores batond's own keys. */
static int app_keys(void *user, struct lib_config *cfg, const char *section,
                    const char *key, const char *value, char *err,
                    size_t err_len)
{
    unsigned idx;
    bool added;
    int rv;

    (void)user;
    if (section == NULL) {
        return 0;
    }
    if (strncmp(section, "app ", 4) != 0) {
        snprintf(err, err_len, "unknown section [%s]", section);
        return BATON_EINVAL;
    }
    rv = lib_config_app_key(cfg, section + 4, key, value, &idx, &added, err,
                            err_len);
    return rv == 1 ? 0 : rv;
}

static int connect_to(unsigned target)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_family = AF_INET;
    sa.sin_port = htons(node.io.ports[target]);
    if (fd < 0 ||
        inet_pton(AF_INET, node.io.hosts[target], &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("baton-probe: connect");
        exit(2);
    }
    return fd;
}

static void put(int fd, const void *buf, size_t len)
{
    if (write(fd, buf, len) != (ssize_t)len) {
        /* The target may already have closed: that is for closed() to
         * tell. */
    }
}

static void put_frame(int fd, unsigned type, const uint8_t *body, size_t len)
{
    uint8_t h[BATON_FRAME_HEADER_LEN];
    baton_frame_header_encode(h, BATON_WIRE_VERSION, type, (uint32_t)len);
    put(fd, h, sizeof(h));
    put(fd, body, len);
}

static size_t get_frame(int fd, unsigned type, uint8_t *body, size_t cap)
{
    uint8_t h[BATON_FRAME_HEADER_LEN];
    struct baton_frame_header fh;
    size_t got = 0;

    while (got < sizeof(h)) {
        ssize_t n = read(fd, h + got, sizeof(h) - got);
        if (n <= 0) {
            fprintf(stderr, "baton-probe: handshake refused by target\n");
            exit(2);
        }
        got += (size_t)n;
    }
    if (baton_frame_header_decode(h, sizeof(h), &fh) != 0 || fh.type != type ||
        fh.length > cap) {
        fprintf(stderr, "baton-probe: unexpected frame\n");
        exit(2);
    }
    for (got = 0; got < fh.length;) {
        ssize_t n = read(fd, body + got, fh.length - got);
        if (n <= 0) {
            exit(2);
        }
        got += (size_t)n;
    }
    return fh.length;
}

/* Waits up to ms in all for the target to close the connection,
 * reading (and dropping) whatever it sends meanwhile. */
static bool closed(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint8_t buf[4096];
    struct timespec t0, t;
    long left = ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (left > 0 && poll(&p, 1, (int)left) == 1) {
        if (read(fd, buf, sizeof(buf)) <= 0) {
            return true;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        left = ms - ((t.tv_sec - t0.tv_sec) * 1000 +
                     (t.tv_nsec - t0.tv_nsec) / 1000000);
    }
    return false;
}

/* Completes the handshake as this config's node; returns the keys.
 * With `downgrade`, stops after its PROOF, computed over a wider range
 * than its HELLO carried (mode "downgrade"). */
static void handshake(int fd,
                      struct baton_seal *send,
                      struct baton_seal *recv,
                      bool downgrade)
{
    struct baton_hello mine = {0};
    struct baton_hello theirs;
    struct baton_proof proof;
    struct baton_transcript t = {&mine, &theirs};
    uint8_t buf[1024];
    size_t n;

    mine.version = BATON_WIRE_VERSION;
    mine.wire_min = BATON_WIRE_VERSION_MIN;
    mine.wire_max = BATON_WIRE_VERSION;
    snprintf(mine.name, sizeof(mine.name), "%s", node.self_name);
    mine.inc = (baton_inc)time(NULL) * 1000 + 999;
    baton_random(mine.nonce, sizeof(mine.nonce));
    baton_io_config_digest(&node.io, mine.config);
    baton_hello_encode(&mine, buf, sizeof(buf), &n);
    put_frame(fd, BATON_FRAME_HELLO, buf, n);
    n = get_frame(fd, BATON_FRAME_HELLO, buf, sizeof(buf));
    if (baton_hello_decode(buf, n, &theirs) != 0) {
        exit(2);
    }
    if (downgrade) {
        /* What this node offered before the range was cut on the way
         * (the range alone: its version field is covered apart). */
        mine.wire_max = BATON_WIRE_VERSION + 1;
    }
    baton_proof_compute(node.io.cookie, node.io.cookie_len, &t, true,
                        proof.mac);
    baton_proof_encode(&proof, buf, sizeof(buf), &n);
    put_frame(fd, BATON_FRAME_PROOF, buf, n);
    if (downgrade) {
        return;
    }
    n = get_frame(fd, BATON_FRAME_PROOF, buf, sizeof(buf));
    if (baton_proof_decode(buf, n, &proof) != 0 ||
        baton_proof_check(node.io.cookie, node.io.cookie_len, &t, false,
                          proof.mac) != 0) {
        fprintf(stderr, "baton-probe: target's proof is wrong\n");
        exit(2);
    }
    baton_keys_derive(node.io.cookie, node.io.cookie_len, &t, true,
                      send, recv);
}

/* One sealed heartbeat from this node to target, as bytes on the wire. */
static size_t sealed_heartbeat(struct baton_seal *s,
                               unsigned target,
                               uint8_t *out)
{
    static baton_inc inc;
    static uint64_t seq;
    struct baton_msg m = {0};
    uint8_t plain[1024];
    size_t n;

    if (inc == 0) {
        inc = (baton_inc)time(NULL) * 1000 + 999; /* one life per probe */
    }
    m.type = BATON_MSG_HEARTBEAT;
    m.from = (uint8_t)node.io.self;
    m.to = (uint8_t)target;
    m.from_inc = inc;
    m.seq = ++seq;
    m.status.role = BATON_ROLE_SEEKING;
    m.status.coord = BATON_NODE_NONE;
    baton_msg_encode(&m, plain, sizeof(plain), &n);
    baton_frame_header_encode(out, BATON_WIRE_VERSION, BATON_FRAME_SEALED,
                              (uint32_t)(n + BATON_SEAL_OVERHEAD));
    baton_seal(s, out, plain, n, out + BATON_FRAME_HEADER_LEN);
    return BATON_FRAME_HEADER_LEN + n + BATON_SEAL_OVERHEAD;
}

int main(int argc, char **argv)
{
    char err[1024];
    const char *mode;
    int target = -1;
    int fd;
    bool want_closed = true;

    if (argc != 4) {
        fprintf(stderr, "usage: baton-probe MODE CONFIG TARGET_NAME\n");
        return 2;
    }
    mode = argv[1];
    if (lib_config_load(&node, argv[2], app_keys, NULL, err, sizeof(err)) != 0 ||
        baton_secure_init() != 0) {
        fprintf(stderr, "baton-probe: %s\n", err);
        return 2;
    }
    for (unsigned i = 0; i < node.io.n_nodes; i++) {
        if (strcmp(node.io.names[i], argv[3]) == 0) {
            target = (int)i;
        }
    }
    if (target < 0) {
        fprintf(stderr, "baton-probe: %s is not in %s\n", argv[3], argv[2]);
        return 2;
    }
    fd = connect_to((unsigned)target);
    if (strcmp(mode, "garbage") == 0) {
        uint8_t junk[512];
        baton_random(junk, sizeof(junk));
        put(fd, junk, sizeof(junk));
    } else if (strcmp(mode, "truncated") == 0) {
        uint8_t h[BATON_FRAME_HEADER_LEN];
        baton_frame_header_encode(h, BATON_WIRE_VERSION, BATON_FRAME_HELLO,
                                  100);
        put(fd, h, sizeof(h));
        put(fd,
            "\x96\xa5"
            "baton",
            7); /* then nothing more */
    } else if (strcmp(mode, "bighello") == 0) {
        /* Within the frame maximum, far beyond what a HELLO needs: an
         * unauthenticated peer must not make the node buffer it. */
        uint8_t h[BATON_FRAME_HEADER_LEN];
        baton_frame_header_encode(h, BATON_WIRE_VERSION, BATON_FRAME_HELLO,
                                  100000);
        put(fd, h, sizeof(h));
    } else if (strcmp(mode, "oldversion") == 0) {
        /* A node of the previous build: refused at its first header. */
        uint8_t h[BATON_FRAME_HEADER_LEN];
        baton_frame_header_encode(h, BATON_WIRE_VERSION, BATON_FRAME_HELLO, 88);
        h[2] = BATON_WIRE_NEGOTIATES - 1;
        put(fd, h, sizeof(h));
    } else if (strcmp(mode, "oversized") == 0) {
        uint8_t h[BATON_FRAME_HEADER_LEN] = {
            0x42, 0x54, BATON_WIRE_VERSION, BATON_FRAME_HELLO, 0x7f, 0xff,
            0xff, 0xff};
        put(fd, h, sizeof(h));
    } else if (strcmp(mode, "downgrade") == 0) {
        struct baton_seal send, recv;
        handshake(fd, &send, &recv, true);
    } else {
        struct baton_seal send, recv;
        uint8_t frame[2048];
        size_t n;
        handshake(fd, &send, &recv, false);
        n = sealed_heartbeat(&send, (unsigned)target, frame);
        put(fd, frame, n);
        if (strcmp(mode, "replay") == 0) {
            put(fd, frame, n);
        } else if (strcmp(mode, "tamper") == 0) {
            n = sealed_heartbeat(&send, (unsigned)target, frame);
            frame[n - 1] ^= 0x01;
            put(fd, frame, n);
        } else if (strcmp(mode, "valid") == 0) {
            /* A well-behaved peer heartbeats: one silent for a detection
             * window has its link reset (docs/design/transport.md §1). */
            for (int k = 0; k < 6; k++) {
                if (closed(fd, 250)) {
                    fprintf(stderr, "baton-probe: valid: the target "
                                    "closed the connection\n");
                    close(fd);
                    return 1;
                }
                n = sealed_heartbeat(&send, (unsigned)target, frame);
                put(fd, frame, n);
            }
            close(fd);
            printf("baton-probe: valid: ok\n");
            return 0;
        } else {
            fprintf(stderr, "baton-probe: unknown mode %s\n", mode);
            return 2;
        }
    }
    /* A truncated handshake is only closed when it times out (5 s). */
    if (closed(fd, strcmp(mode, "truncated") == 0 ? 8000 : 1500) !=
        want_closed) {
        fprintf(stderr, "baton-probe: %s: the target %s the connection\n", mode,
                want_closed ? "kept" : "closed");
        close(fd);
        return 1;
    }
    close(fd);
    printf("baton-probe: %s: ok\n", mode);
    return 0;
}
