/* libFuzzer target: core message bodies (docs/design/wire.md §2.3).
 * Oracle: whatever decodes must encode, and decode again to the same
 * message. */
#include "../../src/util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/util/error.h"
#include "../../src/wire/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest encoding (a MERGE op with a full state) is under 1 KiB. */
#define REENCODE_CAP (4096)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct baton_msg first;
    static struct baton_msg second;
    static uint8_t buf[REENCODE_CAP];
    size_t len = 0;
    int rv;

    rv = baton_msg_decode(data, size, &first);
    if (rv == BATON_EBADMSG || rv == BATON_ENOMEM) {
        return 0;
    }
    if (rv != 0) {
        abort();
    }
    if (baton_msg_encode(&first, buf, sizeof(buf), &len) != 0 || len > size) {
        abort(); /* a decoded message is always encodable, and canonical
                    encoding is never longer than the input */
    }
    if (baton_msg_decode(buf, len, &second) != 0 ||
        memcmp(&first, &second, sizeof(first)) != 0) {
        abort();
    }
    return 0;
}
