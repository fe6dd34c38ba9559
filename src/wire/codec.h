/* MessagePack bodies: handshake messages and core messages. See
 * docs/design/wire.md §2. Syntax and ranges only; meaning is the
 * core's. */
#ifndef BATON_WIRE_CODEC_H
#define BATON_WIRE_CODEC_H

#include "../core/msg.h"
#include "frame.h"

/* A HELLO's part digests (docs/design/wire.md §3): the first bytes of
 * SHA-256 over each part of the config digest's inputs, so that a
 * mismatch can name the setting that differs. */
#define BATON_CONFIG_PART_LEN (8)
#define BATON_CONFIG_PARTS_MAX (16)

/* The fields of a HELLO this version knows: a later one may append
 * more, never change these (docs/design/wire.md §2.1). */
#define BATON_HELLO_FIELDS (9)
/* The first appended field, `aeads` (wire.md §2.1): one HELLO carries it
 * or not, and a receiver reads it when it is there. */
#define BATON_HELLO_FIELDS_AEADS (10)

/* The AEADs a node can seal links with beside ChaCha20-Poly1305, which
 * every node has (docs/design/transport.md §3): bits of a HELLO's
 * `aeads`. A bit a receiver does not know is ignored. */
#define BATON_AEAD_AES256GCM (1u << 0)

struct baton_hello {
    uint8_t version; /* the sender's highest, as in its frame header */
    char name[BATON_NAME_MAX + 1]; /* NUL-terminated */
    baton_inc inc;
    uint8_t nonce[BATON_NONCE_LEN];
    uint8_t config[BATON_DIGEST_LEN];
    uint8_t n_parts; /* 0..BATON_CONFIG_PARTS_MAX */
    uint8_t parts[BATON_CONFIG_PARTS_MAX][BATON_CONFIG_PART_LEN];
    /* The wire versions the sender speaks, 1 <= wire_min <= wire_max:
     * a link uses the highest both speak (baton_wire_negotiate). */
    uint8_t wire_min;
    uint8_t wire_max;
    /* Appended field 10: BATON_AEAD_* bits, when has_aeads (a HELLO of
     * an older build has no such field: decoded with has_aeads false). */
    bool has_aeads;
    uint8_t aeads;
};

struct baton_proof {
    uint8_t mac[BATON_MAC_LEN];
};

/* Each encoder writes at most cap bytes into buf and sets *len.
 * Errors: BATON_EFULL (cap too small), BATON_EINVAL (a value the format
 * cannot carry, e.g. an empty name), BATON_ENOMEM. */
int baton_hello_encode(const struct baton_hello *h, uint8_t *buf,
                       size_t cap, size_t *len);
int baton_proof_encode(const struct baton_proof *p, uint8_t *buf,
                       size_t cap, size_t *len);
int baton_msg_encode(const struct baton_msg *m, uint8_t *buf, size_t cap,
                     size_t *len);

/* Each decoder reads exactly len bytes and fills *out completely.
 * Errors: BATON_EBADMSG (truncated, trailing bytes, wrong types, lengths
 * or ranges), BATON_ENOMEM. *out is unspecified on error. */
int baton_hello_decode(const uint8_t *buf, size_t len,
                       struct baton_hello *out);
int baton_proof_decode(const uint8_t *buf, size_t len,
                       struct baton_proof *out);

/* Decodes a core message. The bytes of STATE, CALL and REPLY stay in buf:
 * out borrows them (valid while buf is). The name table of a JOIN or
 * SNAPSHOT goes into names, which the decoder clears and fills, and
 * out->u.join.names / out->u.snapshot.names point at it (names may be
 * NULL when no table is expected: only an empty table decodes then, to
 * NULL). names borrows its storage from the caller and is left untouched
 * by every other type; it is unspecified on error.
 * Errors: as above, and BATON_EBADMSG for a table names cannot hold, a
 * name given twice or an entry baton_name_validate() refuses
 * (docs/design/wire.md §2.4). */
int baton_msg_decode(const uint8_t *buf, size_t len, struct baton_msg *out,
                     struct baton_names *names);

/* As baton_msg_decode(), and a MEMBERS message's list goes into members,
 * which the decoder clears and fills; out->u.members.list points at it
 * (docs/design/membership.md §2). members borrows its storage from the
 * caller; without it (NULL, as baton_msg_decode() passes) a MEMBERS
 * message is BATON_EBADMSG. */
int baton_msg_decode_into(const uint8_t *buf, size_t len,
                          struct baton_msg *out, struct baton_names *names,
                          struct baton_members *members);
/* Scratch for decoding, kept by a caller that decodes many messages (a
 * node's links): baton_msg_decode() makes and frees msgpack-c's zone for
 * every message, two allocations; baton_msg_decode_in() builds in wz and
 * clears it after, so a message that fits its first chunk (8 KiB of
 * objects) allocates nothing. wz holds nothing between calls: out
 * borrows only from buf and names. new returns NULL when out of memory;
 * free takes NULL. */
struct baton_wire_zone;
struct baton_wire_zone *baton_wire_zone_new(void);
void baton_wire_zone_free(struct baton_wire_zone *wz);
/* baton_msg_decode_into() in wz (NULL: a zone for this call). */
int baton_msg_decode_in(struct baton_wire_zone *wz, const uint8_t *buf,
                        size_t len, struct baton_msg *out,
                        struct baton_names *names,
                        struct baton_members *members);

/* The most bytes one name table entry encodes in (a 127-byte name, 256
 * bytes of metadata, every u64 at its widest; owner and resolver are
 * small enough for one byte each). A JOIN or SNAPSHOT whose table holds
 * n entries takes at most n times this plus BATON_MSG_BASE_MAX bytes. */
#define BATON_NAME_ENTRY_WIRE_MAX (418)
/* A bound on any message without its table, CALL, REPLY or STATE
 * payload (a MERGE op of a 32-node state with 16 apps is under 3 KiB). */
#define BATON_MSG_BASE_MAX (8192)
/* The most bytes a JOIN or a SNAPSHOT part of n entries takes, every
 * entry at its widest. */
#define BATON_MSG_NAMES_BYTES_MAX(n)                                      \
    ((uint64_t)(n) * BATON_NAME_ENTRY_WIRE_MAX + BATON_MSG_BASE_MAX)
/* The most bytes a whole snapshot of a full table of cap slots
 * (baton_names_limit(): 3/4 of cap) takes, in parts of
 * BATON_SNAPSHOT_PART_NAMES entries. */
#define BATON_MSG_SNAPSHOT_BYTES_MAX(cap)                                 \
    (((uint64_t)(cap) - (uint64_t)(cap) / 4) * BATON_NAME_ENTRY_WIRE_MAX + \
     BATON_SNAPSHOT_PARTS_MAX * (uint64_t)BATON_MSG_BASE_MAX)
/* The largest names_cap drivers accept (24,576 names). A snapshot goes
 * out in parts of one frame each, all queued on the link at once: a
 * full table of twice this would pass the link's 16 MiB write bound and
 * the link would be closed as not draining, so drivers refuse a larger
 * names_cap at start (docs/design/wire.md §2.4). */
#define BATON_MSG_NAMES_CAP_MAX (32768u)

#endif /* BATON_WIRE_CODEC_H */
