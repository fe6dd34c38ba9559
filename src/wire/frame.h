/* Frame header of the TCP protocol: magic, version, type, length. See
 * docs/design/wire.md §1. */
#ifndef BATON_WIRE_FRAME_H
#define BATON_WIRE_FRAME_H

#include "../util/setup.h"

/* 2: every message's status carries `heard`; 3: a SNAPSHOT comes in
 * parts, and the HELLO carries part digests; 4: an app report carries
 * its mode, lease and stop margin, and Raft's messages (quorum mode)
 * join the core's (docs/design/wire.md §1.1).
 * Nodes of different versions refuse to link at the first frame. */
#define BATON_WIRE_VERSION (4)
#define BATON_FRAME_HEADER_LEN (8)
/* The largest body (a SEALED frame's: a names snapshot part may take
 * 3.4 MB).
 * HELLO and PROOF frames are held to far less before authentication
 * (src/io/io.c, docs/design/transport.md §1). */
#define BATON_FRAME_BODY_MAX (4194304)
#define BATON_NAME_MAX (255)
#define BATON_NONCE_LEN (32)
#define BATON_DIGEST_LEN (32)
#define BATON_MAC_LEN (32)

enum baton_frame_type {
    BATON_FRAME_HELLO = 1,
    BATON_FRAME_PROOF = 2,
    BATON_FRAME_SEALED = 3,
};

struct baton_frame_header {
    uint8_t type;    /* enum baton_frame_type */
    uint32_t length; /* body bytes that follow */
};

/* Writes the 8-byte header for a body of `length` bytes.
 * Preconditions: type valid, length <= BATON_FRAME_BODY_MAX. */
void baton_frame_header_encode(uint8_t out[BATON_FRAME_HEADER_LEN],
                               unsigned type, uint32_t length);

/* Reads a header from the first len bytes of buf.
 * Errors: BATON_EAGAIN (fewer than 8 bytes: wait for more),
 * BATON_EBADMSG (wrong magic, version or type; length too large). */
int baton_frame_header_decode(const uint8_t *buf, size_t len,
                              struct baton_frame_header *h);

/* The version a peer speaks, when the first len bytes of buf hold a
 * header with the right magic but another version than this build's
 * (so that the driver can name both versions in its log); 0 otherwise:
 * fewer than 8 bytes, not a baton frame, or this build's version. */
unsigned baton_frame_other_version(const uint8_t *buf, size_t len);

#endif /* BATON_WIRE_FRAME_H */
