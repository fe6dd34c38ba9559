/* Data in control-socket JSON (docs/control.md "Data"): text as a
 * string, other bytes as base64. Both ends use it: the node's sessions
 * and batonctl. */
#include "../util/setup.h"

#include <limits.h>
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

/* As cJSON skips whitespace: every byte up to the space. */
static size_t skip_ws(const char *t, size_t i, size_t n)
{
    while (i < n && (unsigned char)t[i] <= 32) {
        i++;
    }
    return i;
}

/* A string without escapes or control bytes at t[i] (its opening
 * quote): NUL-terminated in place, *end after its closing quote. */
static char *flat_string(char *t, size_t i, size_t n, size_t *end)
{
    size_t k = i + 1;

    if (i >= n || t[i] != '"') {
        return NULL;
    }
    while (k < n && t[k] != '"') {
        if ((unsigned char)t[k] < 32 || t[k] == '\\') {
            return NULL;
        }
        k++;
    }
    if (k >= n) {
        return NULL;
    }
    t[k] = '\0';
    *end = k + 1;
    return t + i + 1;
}

const cJSON *lib_json_flat(struct lib_json_flat *f,
                           const char *line,
                           size_t len)
{
    char *t = f->text;
    size_t i;
    unsigned n_items = 0;

    if (len >= sizeof(f->text)) {
        return NULL;
    }
    memcpy(t, line, len);
    t[len] = '\0';
    memset(&f->root, 0, sizeof(f->root));
    f->root.type = cJSON_Object;
    i = skip_ws(t, 0, len);
    if (i >= len || t[i] != '{') {
        return NULL;
    }
    i = skip_ws(t, i + 1, len);
    if (i < len && t[i] == '}') {
        return &f->root; /* {} */
    }
    for (;;) {
        cJSON *item;
        char *key;

        if (n_items == LIB_JSON_FLAT_ITEMS) {
            return NULL;
        }
        item = &f->items[n_items];
        memset(item, 0, sizeof(*item));
        key = flat_string(t, i, len, &i);
        if (key == NULL) {
            return NULL;
        }
        i = skip_ws(t, i, len);
        if (i >= len || t[i] != ':') {
            return NULL;
        }
        i = skip_ws(t, i + 1, len);
        if (i < len && t[i] == '"') {
            item->valuestring = flat_string(t, i, len, &i);
            if (item->valuestring == NULL) {
                return NULL;
            }
            item->type = cJSON_String;
        } else {
            /* A whole number below 10^15, as strtod reads it exactly;
             * cJSON's leading zeros and the rest go to cJSON. */
            uint64_t v = 0;
            size_t start = i;
            while (i < len && t[i] >= '0' && t[i] <= '9' && i - start < 15) {
                v = v * 10 + (uint64_t)(t[i] - '0');
                i++;
            }
            if (i == start || (t[start] == '0' && i - start > 1) ||
                (i < len && strchr("0123456789.eE+-", t[i]) != NULL)) {
                return NULL;
            }
            item->type = cJSON_Number;
            item->valuedouble = (double)v;
            item->valueint = v >= (uint64_t)INT_MAX ? INT_MAX : (int)v;
        }
        item->string = key;
        if (n_items > 0) {
            f->items[n_items - 1].next = item;
            item->prev = &f->items[n_items - 1];
        }
        n_items++;
        i = skip_ws(t, i, len);
        if (i < len && t[i] == ',') {
            i = skip_ws(t, i + 1, len);
            continue;
        }
        if (i < len && t[i] == '}') {
            break;
        }
        return NULL;
    }
    /* As cJSON links a parent's children: the first one's prev is the
     * last one. What follows the object is not looked at, as cJSON does
     * not (cJSON_ParseWithLength). */
    f->root.child = &f->items[0];
    f->items[0].prev = &f->items[n_items - 1];
    return &f->root;
}
