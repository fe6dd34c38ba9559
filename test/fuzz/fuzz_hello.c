/* libFuzzer target: the handshake bodies HELLO and PROOF (docs/design/
 * wire.md §2.1, §2.2), both run on every input. Oracle: whatever decodes
 * must encode, and decode again to the same value. */
#include "../../src/util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/util/error.h"
#include "../../src/wire/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A hello with a 255-byte name is under 350 bytes. */
#define REENCODE_CAP (1024)

static bool hello_equal(const struct baton_hello *a,
                        const struct baton_hello *b)
{
    return a->version == b->version && a->wire_min == b->wire_min &&
           a->wire_max == b->wire_max &&
           memcmp(a->name, b->name, sizeof(a->name)) == 0 && a->inc == b->inc &&
           memcmp(a->nonce, b->nonce, sizeof(a->nonce)) == 0 &&
           memcmp(a->config, b->config, sizeof(a->config)) == 0;
}

static void check_hello(const uint8_t *data, size_t size)
{
    struct baton_hello first;
    struct baton_hello second;
    uint8_t buf[REENCODE_CAP];
    size_t len = 0;
    int rv;

    rv = baton_hello_decode(data, size, &first);
    if (rv == BATON_EBADMSG || rv == BATON_ENOMEM) {
        return;
    }
    if (rv != 0 || baton_hello_encode(&first, buf, sizeof(buf), &len) != 0 ||
        len > size || baton_hello_decode(buf, len, &second) != 0 ||
        !hello_equal(&first, &second)) {
        abort();
    }
}

static void check_proof(const uint8_t *data, size_t size)
{
    struct baton_proof first;
    struct baton_proof second;
    uint8_t buf[REENCODE_CAP];
    size_t len = 0;
    int rv;

    rv = baton_proof_decode(data, size, &first);
    if (rv == BATON_EBADMSG || rv == BATON_ENOMEM) {
        return;
    }
    if (rv != 0 || baton_proof_encode(&first, buf, sizeof(buf), &len) != 0 ||
        len > size || baton_proof_decode(buf, len, &second) != 0 ||
        memcmp(&first, &second, sizeof(first)) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_hello(data, size);
    check_proof(data, size);
    return 0;
}
