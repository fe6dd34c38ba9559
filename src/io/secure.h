/* Link security: handshake proofs, per-direction keys and sealed frames
 * (libsodium). See docs/design/transport.md §2-§3. */
#ifndef BATON_IO_SECURE_H
#define BATON_IO_SECURE_H

#include "../wire/codec.h"

#define BATON_COOKIE_MAX (1024)
#define BATON_KEY_LEN (32)
#define BATON_SEAL_OVERHEAD (16)

/* Both HELLOs of one connection, as the initiator and responder sent
 * them; everything proofs and keys are computed from. */
struct baton_transcript {
    const struct baton_hello *initiator;
    const struct baton_hello *responder;
};

/* One direction of a link: its key, the next frame counter, and the
 * AEAD both sides chose (baton_aead_of): ChaCha20-Poly1305 (0) or
 * BATON_AEAD_AES256GCM, whose key schedule is computed once, at the
 * handshake, into aes (libsodium's crypto_aead_aes256gcm_state). */
#define BATON_AES_STATE_LEN (512)
/* An AES-256-GCM direction key seals at most this many bytes before
 * both sides replace it (libsodium advises a new key before ~350 GB);
 * docs/design/transport.md §3. */
#define BATON_AES_KEY_BYTES (UINT64_C(1) << 36)
struct baton_seal {
    _Alignas(16) unsigned char aes[BATON_AES_STATE_LEN];
    uint8_t key[BATON_KEY_LEN];
    uint64_t counter;
    uint64_t bytes;    /* AES: plaintext bytes under this key */
    uint64_t rekey_at; /* AES: replace the key at this many bytes */
    uint8_t aead;
};

/* Initialises libsodium. Errors: BATON_EIO. */
int baton_secure_init(void);

/* Fills buf with n random bytes. */
void baton_random(void *buf, size_t n);

/* The proof the sender of role `initiator` (true) or responder (false)
 * must send. Borrows everything. */
void baton_proof_compute(const uint8_t *cookie, size_t cookie_len,
                         const struct baton_transcript *t, bool initiator,
                         uint8_t mac[BATON_MAC_LEN]);

/* Checks a received proof in constant time; `initiator` is the role of
 * the peer that sent it. Errors: BATON_EAUTH. */
int baton_proof_check(const uint8_t *cookie, size_t cookie_len,
                      const struct baton_transcript *t, bool initiator,
                      const uint8_t mac[BATON_MAC_LEN]);

/* The BATON_AEAD_* bits this machine can seal with (AES-256-GCM where
 * the CPU has AES-NI and CLMUL: crypto_aead_aes256gcm_is_available). */
unsigned baton_aeads_available(void);

/* The AEAD a link seals with: AES-256-GCM when both HELLOs offer it,
 * else ChaCha20-Poly1305 (0). The same on both sides of a handshake. */
unsigned baton_aead_of(const struct baton_transcript *t);

/* Derives the two direction keys, for the AEAD baton_aead_of(t);
 * `send` protects what this side sends (its role is `initiator`),
 * `recv` what it receives. */
void baton_keys_derive(const uint8_t *cookie, size_t cookie_len,
                       const struct baton_transcript *t, bool initiator,
                       struct baton_seal *send, struct baton_seal *recv);

/* Seals len bytes of plaintext into out (len + BATON_SEAL_OVERHEAD
 * bytes) with the frame header as associated data, then advances the
 * counter. Borrows everything. */
void baton_seal(struct baton_seal *s,
                const uint8_t header[BATON_FRAME_HEADER_LEN],
                const uint8_t *plain, size_t len, uint8_t *out);

/* Opens a sealed body of len bytes into out (len - overhead bytes) and
 * advances the counter. Errors: BATON_EAUTH (tampered, replayed,
 * reordered or truncated: the counter is not advanced). */
int baton_open(struct baton_seal *s,
               const uint8_t header[BATON_FRAME_HEADER_LEN],
               const uint8_t *sealed, size_t len, uint8_t *out,
               size_t *out_len);

/* SHA-256 over the cluster configuration every node must share
 * (docs/design/wire.md §3): names[i] with candidate[i], then the
 * heartbeat settings. */
void baton_config_digest(const char *const *names, const uint8_t *candidate,
                         unsigned n, uint64_t heartbeat_ms,
                         uint64_t heartbeat_miss, uint64_t sync_window_ms,
                         uint8_t out[BATON_DIGEST_LEN]);

/* SHA-256 over the node lines alone (the config digest's first lines):
 * the [nodes] part digest is its first bytes (wire.md §3). */
void baton_config_nodes_digest(const char *const *names,
                               const uint8_t *candidate, unsigned n,
                               uint8_t out[BATON_DIGEST_LEN]);

/* Wipes secrets (cookie, keys) from memory. */
void baton_wipe(void *buf, size_t n);

#endif /* BATON_IO_SECURE_H */
