#include "../util/setup.h"

#include "../util/assert.h"
#include "../util/error.h"
#include "frame.h"

static const uint8_t magic[2] = {0x42, 0x54}; /* "BT" */

/* The version that brought each feature: one table, so that gating a
 * new feature is one line here. */
static const uint8_t feature_since[BATON_WIRE_F__COUNT] = {
    [BATON_WIRE_F_RAFT] = 4,
    [BATON_WIRE_F_MEMBERS] = 6,
    [BATON_WIRE_F_ADMIN] = 6,
};

void baton_frame_header_encode(uint8_t out[BATON_FRAME_HEADER_LEN],
                               unsigned version,
                               unsigned type,
                               uint32_t length)
{
    BATON_ASSERT(version >= BATON_WIRE_NEGOTIATES && version <= UINT8_MAX);
    BATON_ASSERT(type >= BATON_FRAME_HELLO && type <= BATON_FRAME_SEALED);
    BATON_ASSERT(length <= BATON_FRAME_BODY_MAX);
    out[0] = magic[0];
    out[1] = magic[1];
    out[2] = (uint8_t)version;
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
        buf[2] < BATON_WIRE_NEGOTIATES || buf[3] < BATON_FRAME_HELLO ||
        buf[3] > BATON_FRAME_SEALED) {
        return BATON_EBADMSG;
    }
    length = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
             (uint32_t)buf[6] << 8 | (uint32_t)buf[7];
    if (length > BATON_FRAME_BODY_MAX) {
        return BATON_EBADMSG;
    }
    h->version = buf[2];
    h->type = buf[3];
    h->length = length;
    return 0;
}

unsigned baton_frame_old_version(const uint8_t *buf, size_t len)
{
    if (len < BATON_FRAME_HEADER_LEN || buf[0] != magic[0] ||
        buf[1] != magic[1] || buf[2] >= BATON_WIRE_NEGOTIATES) {
        return 0;
    }
    return buf[2];
}

unsigned baton_wire_negotiate(unsigned lo_a,
                              unsigned hi_a,
                              unsigned lo_b,
                              unsigned hi_b)
{
    unsigned lo = lo_a > lo_b ? lo_a : lo_b;
    unsigned hi = hi_a < hi_b ? hi_a : hi_b;

    return lo <= hi ? hi : 0;
}

bool baton_wire_has(unsigned version, enum baton_wire_feature feature)
{
    BATON_ASSERT(feature < BATON_WIRE_F__COUNT);
    return version >= feature_since[feature];
}
