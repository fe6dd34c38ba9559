/* MessagePack bodies: handshake messages and core messages. See
 * docs/design/wire.md §2. Syntax and ranges only; meaning is the
 * core's. */
#ifndef BATON_WIRE_CODEC_H
#define BATON_WIRE_CODEC_H

#include "../core/msg.h"
#include "frame.h"

struct baton_hello {
    uint8_t version;
    char name[BATON_NAME_MAX + 1]; /* NUL-terminated */
    baton_inc inc;
    uint8_t nonce[BATON_NONCE_LEN];
    uint8_t config[BATON_DIGEST_LEN];
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
int baton_msg_decode(const uint8_t *buf, size_t len, struct baton_msg *out);

#endif /* BATON_WIRE_CODEC_H */
