/* Unit tests for link security (src/io/secure.c): the AEAD a link
 * chooses from both HELLOs, sealing and opening under each, and the
 * handshake transcript covering the HELLOs' AEADs. See
 * docs/design/transport.md §3. */
#include "../../src/util/setup.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "../../src/io/secure.h"
#include "../../src/util/error.h"

static const uint8_t cookie[] = "secret-cookie";

static void hello(struct baton_hello *h,
                  const char *name,
                  bool has_aeads,
                  unsigned aeads)
{
    memset(h, 0, sizeof(*h));
    strcpy(h->name, name);
    h->inc = 7;
    h->version = BATON_WIRE_VERSION;
    h->wire_min = BATON_WIRE_VERSION_MIN;
    h->wire_max = BATON_WIRE_VERSION;
    baton_random(h->nonce, sizeof(h->nonce));
    h->has_aeads = has_aeads;
    h->aeads = (uint8_t)aeads;
}

static int setup(void **state)
{
    (void)state;
    return baton_secure_init();
}

/* AES-256-GCM only when both HELLOs carry `aeads` and both offer it; a
 * bit neither knows changes nothing. */
static void test_aead_choice(void **state)
{
    struct baton_hello i, r;
    struct baton_transcript t = {&i, &r};

    (void)state;
    hello(&i, "a@x", true, BATON_AEAD_AES256GCM);
    hello(&r, "b@x", true, BATON_AEAD_AES256GCM | 0x80);
    assert_int_equal(baton_aead_of(&t), BATON_AEAD_AES256GCM);
    r.aeads = 0x80;
    assert_int_equal(baton_aead_of(&t), 0);
    r.aeads = BATON_AEAD_AES256GCM;
    r.has_aeads = false; /* an older build's HELLO */
    assert_int_equal(baton_aead_of(&t), 0);
    i.has_aeads = false;
    r.has_aeads = true;
    assert_int_equal(baton_aead_of(&t), 0);
    /* What this machine offers is what libsodium can do here. */
    assert_int_equal(baton_aeads_available() != 0,
                     crypto_aead_aes256gcm_is_available() != 0);
}

/* Both ends of a link from their own views of one handshake: what one
 * seals the other opens, in order; a replay, a changed byte or a changed
 * header fails without advancing the counter. */
static void check_link(struct baton_hello *i,
                       struct baton_hello *r,
                       unsigned want_aead)
{
    struct baton_transcript t = {i, r};
    static struct baton_seal i_send, i_recv, r_send, r_recv;
    uint8_t header[BATON_FRAME_HEADER_LEN] = {'B', 'T', 5, 3};
    uint8_t plain[100], sealed[sizeof(plain) + BATON_SEAL_OVERHEAD];
    uint8_t out[sizeof(plain)];
    size_t n = 0;

    baton_keys_derive(cookie, sizeof(cookie) - 1, &t, true, &i_send, &i_recv);
    baton_keys_derive(cookie, sizeof(cookie) - 1, &t, false, &r_send, &r_recv);
    assert_int_equal(i_send.aead, want_aead);
    assert_int_equal(r_recv.aead, want_aead);
    for (unsigned k = 0; k < 3; k++) {
        memset(plain, (int)k, sizeof(plain));
        baton_seal(&i_send, header, plain, sizeof(plain), sealed);
        assert_int_equal(
            baton_open(&r_recv, header, sealed, sizeof(sealed), out, &n), 0);
        assert_int_equal(n, sizeof(plain));
        assert_memory_equal(out, plain, sizeof(plain));
        /* The same frame again: a replay. */
        assert_int_equal(
            baton_open(&r_recv, header, sealed, sizeof(sealed), out, &n),
            BATON_EAUTH);
        baton_seal(&r_send, header, plain, 10, sealed);
        assert_int_equal(baton_open(&i_recv, header, sealed,
                                    10 + BATON_SEAL_OVERHEAD, out, &n),
                         0);
        assert_int_equal(n, 10);
    }
    baton_seal(&i_send, header, plain, sizeof(plain), sealed);
    sealed[5] ^= 1;
    assert_int_equal(
        baton_open(&r_recv, header, sealed, sizeof(sealed), out, &n),
        BATON_EAUTH);
    sealed[5] ^= 1;
    header[2] = 6;
    assert_int_equal(
        baton_open(&r_recv, header, sealed, sizeof(sealed), out, &n),
        BATON_EAUTH);
    header[2] = 5;
    assert_int_equal(
        baton_open(&r_recv, header, sealed, sizeof(sealed), out, &n), 0);
}

static void test_link_chacha(void **state)
{
    struct baton_hello i, r;

    (void)state;
    hello(&i, "a@x", true, 0);
    hello(&r, "b@x", true, BATON_AEAD_AES256GCM);
    check_link(&i, &r, 0);
    hello(&i, "a@x", false, 0); /* an older build */
    check_link(&i, &r, 0);
}

/* Whether this CPU can do AES-256-GCM; without AES-NI no node here
 * offers it (test_aead_choice checks that), and it says so. */
static bool aes_here(void)
{
    if (!crypto_aead_aes256gcm_is_available()) {
        print_message("AES-256-GCM is not available on this CPU\n");
        return false;
    }
    return true;
}

static void test_link_aes(void **state)
{
    struct baton_hello i, r;

    (void)state;
    if (!aes_here()) {
        return;
    }
    hello(&i, "a@x", true, BATON_AEAD_AES256GCM);
    hello(&r, "b@x", true, BATON_AEAD_AES256GCM);
    check_link(&i, &r, BATON_AEAD_AES256GCM);
}

/* Different AEADs under one key: neither opens the other's frames (a
 * side that took the wrong AEAD closes the link at the first frame). */
static void test_aeads_do_not_mix(void **state)
{
    struct baton_hello i, r;
    struct baton_transcript t = {&i, &r};
    static struct baton_seal aes_send, aes_recv, cc_send, cc_recv;
    uint8_t header[BATON_FRAME_HEADER_LEN] = {'B', 'T', 5, 3};
    uint8_t plain[32] = {1}, sealed[sizeof(plain) + BATON_SEAL_OVERHEAD];
    uint8_t out[sizeof(plain)];
    size_t n = 0;

    (void)state;
    if (!aes_here()) {
        return;
    }
    hello(&i, "a@x", true, BATON_AEAD_AES256GCM);
    hello(&r, "b@x", true, BATON_AEAD_AES256GCM);
    baton_keys_derive(cookie, sizeof(cookie) - 1, &t, true, &aes_send,
                      &aes_recv);
    baton_keys_derive(cookie, sizeof(cookie) - 1, &t, true, &cc_send, &cc_recv);
    cc_send.aead = cc_recv.aead = 0; /* the same keys, ChaCha20-Poly1305 */
    baton_seal(&aes_send, header, plain, sizeof(plain), sealed);
    assert_int_equal(
        baton_open(&cc_send, header, sealed, sizeof(sealed), out, &n),
        BATON_EAUTH);
    baton_seal(&cc_recv, header, plain, sizeof(plain), sealed);
    assert_int_equal(
        baton_open(&aes_recv, header, sealed, sizeof(sealed), out, &n),
        BATON_EAUTH);
}

/* The HELLOs' AEADs are in the transcript when both carry them: a side
 * that saw them struck from its peer's HELLO computes other proofs and
 * keys, so a downgrade fails the handshake. With an older build's HELLO
 * both sides leave them out. */
static void test_transcript_covers_aeads(void **state)
{
    struct baton_hello i, r, r_struck;
    struct baton_transcript t = {&i, &r}, seen = {&i, &r_struck};
    uint8_t mac[BATON_MAC_LEN];

    (void)state;
    hello(&i, "a@x", true, BATON_AEAD_AES256GCM);
    hello(&r, "b@x", true, BATON_AEAD_AES256GCM);
    r_struck = r;
    r_struck.has_aeads = false;
    r_struck.aeads = 0;
    baton_proof_compute(cookie, sizeof(cookie) - 1, &t, false, mac);
    assert_int_equal(
        baton_proof_check(cookie, sizeof(cookie) - 1, &t, false, mac), 0);
    assert_int_equal(
        baton_proof_check(cookie, sizeof(cookie) - 1, &seen, false, mac),
        BATON_EAUTH);
    /* A changed bit in one HELLO's aeads fails too. */
    r_struck = r;
    r_struck.aeads = 0;
    assert_int_equal(
        baton_proof_check(cookie, sizeof(cookie) - 1, &seen, false, mac),
        BATON_EAUTH);
    /* An older build's HELLO: its aeads field (absent) is not hashed, so
     * the proof does not depend on the other side's bits. */
    r.has_aeads = false;
    baton_proof_compute(cookie, sizeof(cookie) - 1, &t, false, mac);
    i.aeads = 0;
    assert_int_equal(
        baton_proof_check(cookie, sizeof(cookie) - 1, &t, false, mac), 0);
}

/* An AES-256-GCM key is replaced after rekey_at bytes, by both sides
 * after the same frame: frames go on opening across the change, under a
 * new key (a receiver that kept the old one could open none). */
static void test_aes_rekey(void **state)
{
    struct baton_hello i, r;
    struct baton_transcript t = {&i, &r};
    static struct baton_seal send, recv_, r_send, r_recv;
    uint8_t header[BATON_FRAME_HEADER_LEN] = {'B', 'T', 5, 3};
    uint8_t plain[60] = {7}, sealed[sizeof(plain) + BATON_SEAL_OVERHEAD];
    uint8_t out[sizeof(plain)], first[BATON_KEY_LEN];
    size_t n = 0;

    (void)state;
    if (!aes_here()) {
        return;
    }
    hello(&i, "a@x", true, BATON_AEAD_AES256GCM);
    hello(&r, "b@x", true, BATON_AEAD_AES256GCM);
    baton_keys_derive(cookie, sizeof(cookie) - 1, &t, true, &send, &recv_);
    baton_keys_derive(cookie, sizeof(cookie) - 1, &t, false, &r_send,
                      &r_recv);
    assert_true(send.rekey_at == BATON_AES_KEY_BYTES);
    memcpy(first, send.key, sizeof(first));
    send.rekey_at = r_recv.rekey_at = 100; /* a new key every 2 frames */
    for (unsigned k = 0; k < 7; k++) {
        baton_seal(&send, header, plain, sizeof(plain), sealed);
        assert_int_equal(baton_open(&r_recv, header, sealed, sizeof(sealed),
                                    out, &n),
                         0);
        assert_memory_equal(out, plain, sizeof(plain));
        assert_memory_equal(send.key, r_recv.key, sizeof(first));
    }
    assert_memory_not_equal(send.key, first, sizeof(first));
    /* ChaCha20-Poly1305 keeps its key. */
    hello(&r, "b@x", true, 0);
    baton_keys_derive(cookie, sizeof(cookie) - 1, &t, true, &send, &recv_);
    memcpy(first, send.key, sizeof(first));
    send.rekey_at = 100;
    for (unsigned k = 0; k < 3; k++) {
        baton_seal(&send, header, plain, sizeof(plain), sealed);
    }
    assert_memory_equal(send.key, first, sizeof(first));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aead_choice),
        cmocka_unit_test(test_link_chacha),
        cmocka_unit_test(test_link_aes),
        cmocka_unit_test(test_aeads_do_not_mix),
        cmocka_unit_test(test_transcript_covers_aeads),
        cmocka_unit_test(test_aes_rekey),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
