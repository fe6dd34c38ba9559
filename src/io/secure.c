/* Handshake proofs and sealed frames. Happy path: HELLOs exchanged,
 * proofs match, keys derived, frames sealed under counter nonces.
 * Failure modes: a wrong cookie (proof mismatch, both ends), a replayed,
 * reordered or tampered frame (open fails: the caller closes the link). */
#include "../util/setup.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "../util/error.h"
#include "secure.h"

int baton_secure_init(void)
{
    return sodium_init() < 0 ? BATON_EIO : 0;
}

void baton_random(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

void baton_wipe(void *buf, size_t n)
{
    sodium_memzero(buf, n);
}

static void put_u64(crypto_auth_hmacsha256_state *st, uint64_t v)
{
    uint8_t b[8];
    for (unsigned i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    }
    crypto_auth_hmacsha256_update(st, b, sizeof(b));
}

static void put_hello(crypto_auth_hmacsha256_state *st,
                      const struct baton_hello *h)
{
    /* The NUL terminator keeps "ab"+"c" apart from "a"+"bc". */
    crypto_auth_hmacsha256_update(st, (const uint8_t *)h->name,
                                  strlen(h->name) + 1);
    put_u64(st, h->inc);
    crypto_auth_hmacsha256_update(st, h->nonce, sizeof(h->nonce));
    /* Both sides' digests: a mismatch is acted on and logged by part, so
     * none of them may be altered on the way. */
    crypto_auth_hmacsha256_update(st, h->config, sizeof(h->config));
    put_u64(st, h->n_parts);
    crypto_auth_hmacsha256_update(st, h->parts[0],
                                  (size_t)h->n_parts * BATON_CONFIG_PART_LEN);
    /* Both ranges decide the link's version: a man in the middle who
     * narrowed one to force a downgrade fails both proofs. */
    put_u64(st, h->version);
    put_u64(st, h->wire_min);
    put_u64(st, h->wire_max);
}

/* Both HELLOs' AEADs decide the link's: a man in the middle who struck
 * them from one HELLO (so that its receiver takes the link for one with
 * an older build) leaves the two sides with different transcripts, and
 * both proofs fail. With an older build's HELLO in it neither side puts
 * them in, as the older build does not. */
static void put_aeads(crypto_auth_hmacsha256_state *st,
                      const struct baton_transcript *t)
{
    if (t->initiator->has_aeads && t->responder->has_aeads) {
        put_u64(st, t->initiator->aeads);
        put_u64(st, t->responder->aeads);
    }
}

static void transcript_mac(const uint8_t *cookie, size_t cookie_len,
                           const struct baton_transcript *t,
                           const char *label, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;
    static const char proto[] = "baton-v1";

    crypto_auth_hmacsha256_init(&st, cookie, cookie_len);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)proto,
                                  sizeof(proto));
    /* Not this build's version: two nodes of different builds must
     * compute the same transcript. The HELLOs' ranges stand for it. */
    put_hello(&st, t->initiator);
    put_hello(&st, t->responder);
    put_aeads(&st, t);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)label,
                                  strlen(label) + 1);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void baton_proof_compute(const uint8_t *cookie, size_t cookie_len,
                         const struct baton_transcript *t, bool initiator,
                         uint8_t mac[BATON_MAC_LEN])
{
    transcript_mac(cookie, cookie_len, t,
                   initiator ? "proof-initiator" : "proof-responder", mac);
}

int baton_proof_check(const uint8_t *cookie, size_t cookie_len,
                      const struct baton_transcript *t, bool initiator,
                      const uint8_t mac[BATON_MAC_LEN])
{
    uint8_t want[BATON_MAC_LEN];
    int ok;

    baton_proof_compute(cookie, cookie_len, t, initiator, want);
    ok = crypto_verify_32(want, mac);
    sodium_memzero(want, sizeof(want));
    return ok == 0 ? 0 : BATON_EAUTH;
}

_Static_assert(sizeof(crypto_aead_aes256gcm_state) <= BATON_AES_STATE_LEN &&
                   _Alignof(crypto_aead_aes256gcm_state) <= 16,
               "struct baton_seal holds libsodium's AES-GCM state");
_Static_assert(crypto_aead_aes256gcm_NPUBBYTES ==
                       crypto_aead_chacha20poly1305_ietf_NPUBBYTES &&
                   crypto_aead_aes256gcm_ABYTES == BATON_SEAL_OVERHEAD &&
                   crypto_aead_chacha20poly1305_ietf_ABYTES ==
                       BATON_SEAL_OVERHEAD &&
                   crypto_aead_aes256gcm_KEYBYTES == BATON_KEY_LEN,
               "both AEADs take the same nonce, tag and key sizes");

static crypto_aead_aes256gcm_state *aes_of(struct baton_seal *s)
{
    return (crypto_aead_aes256gcm_state *)(void *)s->aes;
}

unsigned baton_aeads_available(void)
{
    return crypto_aead_aes256gcm_is_available() ? BATON_AEAD_AES256GCM : 0;
}

unsigned baton_aead_of(const struct baton_transcript *t)
{
    const struct baton_hello *i = t->initiator, *r = t->responder;

    return i->has_aeads && r->has_aeads &&
                   (i->aeads & r->aeads & BATON_AEAD_AES256GCM) != 0
               ? BATON_AEAD_AES256GCM
               : 0;
}

static void seal_init(struct baton_seal *s, const uint8_t *key,
                      unsigned aead)
{
    memcpy(s->key, key, BATON_KEY_LEN);
    s->counter = 0;
    s->bytes = 0;
    s->rekey_at = BATON_AES_KEY_BYTES;
    s->aead = (uint8_t)aead;
    if (aead == BATON_AEAD_AES256GCM) {
        /* The key schedule once per link, not once per frame. */
        crypto_aead_aes256gcm_beforenm(aes_of(s), key);
    }
}

/* An AES-256-GCM key has sealed len more bytes: past rekey_at, the next
 * key is HMAC-SHA-256(key, "baton-rekey"). Sender and receiver count the
 * same plaintext lengths, so both replace the key after the same frame,
 * and the counter goes on (each key sees each nonce at most once). */
static void seal_spent(struct baton_seal *s, size_t len)
{
    static const char label[] = "baton-rekey";
    uint8_t next[BATON_KEY_LEN];

    s->bytes += len;
    if (s->bytes < s->rekey_at) {
        return;
    }
    crypto_auth_hmacsha256(next, (const uint8_t *)label, sizeof(label),
                           s->key);
    memcpy(s->key, next, sizeof(next));
    sodium_memzero(next, sizeof(next));
    crypto_aead_aes256gcm_beforenm(aes_of(s), s->key);
    s->bytes = 0;
}

void baton_keys_derive(const uint8_t *cookie, size_t cookie_len,
                       const struct baton_transcript *t, bool initiator,
                       struct baton_seal *send, struct baton_seal *recv)
{
    uint8_t i2r[BATON_KEY_LEN];
    uint8_t r2i[BATON_KEY_LEN];
    unsigned aead = baton_aead_of(t);

    transcript_mac(cookie, cookie_len, t, "baton-key-i2r", i2r);
    transcript_mac(cookie, cookie_len, t, "baton-key-r2i", r2i);
    seal_init(send, initiator ? i2r : r2i, aead);
    seal_init(recv, initiator ? r2i : i2r, aead);
    sodium_memzero(i2r, sizeof(i2r));
    sodium_memzero(r2i, sizeof(r2i));
}

static void nonce_of(uint64_t counter,
                     uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES])
{
    memset(n, 0, crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
    for (unsigned i = 0; i < 8; i++) {
        n[4 + i] = (uint8_t)(counter >> (56 - 8 * i));
    }
}

void baton_seal(struct baton_seal *s,
                const uint8_t header[BATON_FRAME_HEADER_LEN],
                const uint8_t *plain, size_t len, uint8_t *out)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    unsigned long long out_len;

    nonce_of(s->counter++, nonce);
    if (s->aead == BATON_AEAD_AES256GCM) {
        crypto_aead_aes256gcm_encrypt_afternm(out, &out_len, plain, len,
                                              header, BATON_FRAME_HEADER_LEN,
                                              NULL, nonce, aes_of(s));
        seal_spent(s, len);
        return;
    }
    crypto_aead_chacha20poly1305_ietf_encrypt(
        out, &out_len, plain, len, header, BATON_FRAME_HEADER_LEN, NULL,
        nonce, s->key);
}

int baton_open(struct baton_seal *s,
               const uint8_t header[BATON_FRAME_HEADER_LEN],
               const uint8_t *sealed, size_t len, uint8_t *out,
               size_t *out_len)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    unsigned long long n;

    if (len < BATON_SEAL_OVERHEAD) {
        return BATON_EAUTH;
    }
    nonce_of(s->counter, nonce);
    if (s->aead == BATON_AEAD_AES256GCM
            ? crypto_aead_aes256gcm_decrypt_afternm(
                  out, &n, NULL, sealed, len, header, BATON_FRAME_HEADER_LEN,
                  nonce, aes_of(s)) != 0
            : crypto_aead_chacha20poly1305_ietf_decrypt(
                  out, &n, NULL, sealed, len, header, BATON_FRAME_HEADER_LEN,
                  nonce, s->key) != 0) {
        return BATON_EAUTH;
    }
    s->counter++;
    *out_len = (size_t)n;
    if (s->aead == BATON_AEAD_AES256GCM) {
        seal_spent(s, (size_t)n);
    }
    return 0;
}

/* The node lines of the config digest (docs/design/wire.md §3). */
static void nodes_update(crypto_hash_sha256_state *st,
                         const char *const *names, const uint8_t *candidate,
                         unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        crypto_hash_sha256_update(st, (const uint8_t *)names[i],
                                  strlen(names[i]));
        crypto_hash_sha256_update(st,
                                  (const uint8_t *)(candidate[i] ? " c\n"
                                                                 : " w\n"),
                                  3);
    }
}

void baton_config_digest(const char *const *names, const uint8_t *candidate,
                         unsigned n, uint64_t heartbeat_ms,
                         uint64_t heartbeat_miss, uint64_t sync_window_ms,
                         uint8_t out[BATON_DIGEST_LEN])
{
    crypto_hash_sha256_state st;
    char line[64];

    crypto_hash_sha256_init(&st);
    nodes_update(&st, names, candidate, n);
    snprintf(line, sizeof(line), "%" PRIu64 "\n%" PRIu64 "\n%" PRIu64 "\n",
             heartbeat_ms, heartbeat_miss, sync_window_ms);
    crypto_hash_sha256_update(&st, (const uint8_t *)line, strlen(line));
    crypto_hash_sha256_final(&st, out);
}

void baton_config_nodes_digest(const char *const *names,
                               const uint8_t *candidate, unsigned n,
                               uint8_t out[BATON_DIGEST_LEN])
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    nodes_update(&st, names, candidate, n);
    crypto_hash_sha256_final(&st, out);
}
