#include "../util/setup.h"

#include "../util/assert.h"
#include "../util/error.h"
#include "frame.h"

static const uint8_t magic[2] = {0x42, 0x54}; /* "BT" */

void baton_frame_header_encode(uint8_t out[BATON_FRAME_HEADER_LEN],
                               unsigned type, uint32_t length)
{
    BATON_ASSERT(type >= BATON_FRAME_HELLO && type <= BATON_FRAME_SEALED);
    BATON_ASSERT(length <= BATON_FRAME_BODY_MAX);
    out[0] = magic[0];
    out[1] = magic[1];
    out[2] = BATON_WIRE_VERSION;
    out[3] = (uint8_t)type;
    out[4] = (uint8_t)(length >> 24);
    out[5] = (uint8_t)(length >> 16);
    out[6] = (uint8_t)(length >> 8);
    out[7] = (uint8_t)length;
}

int baton_frame_header_decode(const uint8_t *buf, size_t len,
                              struct baton_frame_header *h)
{
    uint32_t length;

    if (len < BATON_FRAME_HEADER_LEN) {
        return BATON_EAGAIN;
    }
    if (buf[0] != magic[0] || buf[1] != magic[1] ||
        buf[2] != BATON_WIRE_VERSION || buf[3] < BATON_FRAME_HELLO ||
        buf[3] > BATON_FRAME_SEALED) {
        return BATON_EBADMSG;
    }
    length = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
             (uint32_t)buf[6] << 8 | (uint32_t)buf[7];
    if (length > BATON_FRAME_BODY_MAX) {
        return BATON_EBADMSG;
    }
    h->type = buf[3];
    h->length = length;
    return 0;
}

unsigned baton_frame_other_version(const uint8_t *buf, size_t len)
{
    if (len < BATON_FRAME_HEADER_LEN || buf[0] != magic[0] ||
        buf[1] != magic[1] || buf[2] == BATON_WIRE_VERSION) {
        return 0;
    }
    return buf[2];
}
