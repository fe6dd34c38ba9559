/* Data in control-socket JSON (docs/control.md "Data"): text as a
 * string, other bytes as base64. Both ends use it: the node's sessions
 * and batonctl. */
#include "../util/setup.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

bool lib_json_is_text(const uint8_t *d, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t b = d[i];
        size_t more;
        uint32_t cp;
        if (b < 0x80) {
            if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7f) {
                return false;
            }
            i++;
            continue;
        }
        if ((b & 0xe0) == 0xc0) {
            more = 1;
            cp = b & 0x1fu;
        } else if ((b & 0xf0) == 0xe0) {
            more = 2;
            cp = b & 0x0fu;
        } else if ((b & 0xf8) == 0xf0) {
            more = 3;
            cp = b & 0x07u;
        } else {
            return false;
        }
        if (i + more >= n) {
            return false; /* cut short */
        }
        for (size_t k = 1; k <= more; k++) {
            if ((d[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (d[i + k] & 0x3fu);
        }
        /* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8;
         * C1 controls are control characters. */
        if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
            (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0)) {
            return false;
        }
        i += more + 1;
    }
    return true;
}

void lib_json_add_data(cJSON *o, const char *key, const char *key64,
                       const uint8_t *data, size_t len)
{
    size_t n64;
    char *buf;

    if (lib_json_is_text(data, len)) {
        buf = malloc(len + 1);
        if (buf != NULL) {
            memcpy(buf, data, len);
            buf[len] = '\0';
            cJSON_AddStringToObject(o, key, buf);
        }
        free(buf);
        return;
    }
    n64 = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    buf = malloc(n64);
    if (buf != NULL) {
        sodium_bin2base64(buf, n64, data, len,
                          sodium_base64_VARIANT_ORIGINAL);
        cJSON_AddStringToObject(o, key64, buf);
    }
    free(buf);
}

bool lib_json_whole(const cJSON *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    double d;

    if (!cJSON_IsNumber(v)) {
        return false;
    }
    d = v->valuedouble;
    /* NaN fails both comparisons. */
    if (!(d >= (double)lo && d <= (double)hi) || floor(d) != d) {
        return false;
    }
    *out = (uint64_t)d;
    return true;
}
