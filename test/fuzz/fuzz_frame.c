/* libFuzzer target: the frame header parser (docs/design/wire.md §1).
 * Oracle: short input waits, and an accepted header encodes back to the
 * same eight bytes. */
#include "../../src/util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/util/error.h"
#include "../../src/wire/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct baton_frame_header h;
    uint8_t again[BATON_FRAME_HEADER_LEN];
    int rv;

    rv = baton_frame_header_decode(data, size, &h);
    if (size < BATON_FRAME_HEADER_LEN) {
        if (rv != BATON_EAGAIN) {
            abort();
        }
        return 0;
    }
    if (rv == BATON_EBADMSG) {
        return 0;
    }
    if (rv != 0) {
        abort();
    }
    baton_frame_header_encode(again, h.version, h.type, h.length);
    if (memcmp(again, data, sizeof(again)) != 0) {
        abort();
    }
    return 0;
}
