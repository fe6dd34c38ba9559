/* Frame header of the TCP protocol: magic, version, type, length. See
 * docs/design/wire.md §1. */
#ifndef BATON_WIRE_FRAME_H
#define BATON_WIRE_FRAME_H

#include "../util/setup.h"

/* 2: every message's status carries `heard`; 3: a SNAPSHOT comes in
 * parts, and the HELLO carries part digests; 4: an app report carries
 * its mode, lease and stop margin, and Raft's messages (quorum mode)
 * join the core's; 5: the HELLO carries the range of versions its
 * sender speaks, and a link uses the highest both speak
 * (docs/design/wire.md §1.1). BATON_WIRE_VERSION is the highest this
 * build speaks, BATON_WIRE_VERSION_MIN the lowest. */
#define BATON_WIRE_VERSION (6)
#define BATON_WIRE_VERSION_MIN (5)
/* The first version that negotiates: a header of an older version is a
 * node that cannot read this build's HELLO (it is refused and named). */
#define BATON_WIRE_NEGOTIATES (5)
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
    uint8_t version; /* >= BATON_WIRE_NEGOTIATES */
    uint8_t type;    /* enum baton_frame_type */
    uint32_t length; /* body bytes that follow */
};

/* Writes the 8-byte header for a body of `length` bytes: `version` is
 * the link's negotiated version, or for a HELLO the sender's highest.
 * Preconditions: version >= BATON_WIRE_NEGOTIATES, type valid,
 * length <= BATON_FRAME_BODY_MAX. */
void baton_frame_header_encode(uint8_t out[BATON_FRAME_HEADER_LEN],
                               unsigned version,
                               unsigned type,
                               uint32_t length);

/* Reads a header from the first len bytes of buf. Any version from
 * BATON_WIRE_NEGOTIATES on decodes (the header's layout never changes):
 * whether it is the link's is the driver's check.
 * Errors: BATON_EAGAIN (fewer than 8 bytes: wait for more),
 * BATON_EBADMSG (wrong magic or type, a version older than
 * BATON_WIRE_NEGOTIATES; length too large). */
int baton_frame_header_decode(const uint8_t *buf, size_t len,
                              struct baton_frame_header *h);

/* The version a peer speaks, when the first len bytes of buf hold a
 * header with the right magic and a version from before negotiation (so
 * that the driver can name it in its log); 0 otherwise: fewer than 8
 * bytes, not a baton frame, or a version that negotiates. */
unsigned baton_frame_old_version(const uint8_t *buf, size_t len);

/* The version two nodes speaking lo_a..hi_a and lo_b..hi_b use: the
 * highest both speak, the same whichever side computes it; 0 when the
 * ranges are disjoint (or one is empty). */
unsigned baton_wire_negotiate(unsigned lo_a,
                              unsigned hi_a,
                              unsigned lo_b,
                              unsigned hi_b);

/* What a link may carry depends on its negotiated version: each feature
 * here names the version that brought it (docs/design/wire.md §1.1). */
enum baton_wire_feature {
    BATON_WIRE_F_RAFT, /* message type 13, raft: from version 4 */
    /* Message type 14, members (docs/design/membership.md): version 6. */
    BATON_WIRE_F_MEMBERS,
    /* Message types 15-17, admin, admin_reply, settings (operator
     * settings, docs/design/apps.md §7): from version 6. */
    BATON_WIRE_F_ADMIN,
    BATON_WIRE_F__COUNT
};

/* Whether a link of negotiated `version` carries `feature`. */
bool baton_wire_has(unsigned version, enum baton_wire_feature feature);

#endif /* BATON_WIRE_FRAME_H */
