/* Data in control-socket JSON: text or base64 (docs/control.md). */
#ifndef BATON_LIB_JSON_H
#define BATON_LIB_JSON_H

#include "../util/setup.h"

#include <cjson/cJSON.h>

/* Valid UTF-8 without control characters other than \n and \t: such
 * bytes travel as a JSON string ("data"); others as base64 ("data64"). */
bool lib_json_is_text(const uint8_t *d, size_t n);

/* Adds data as key (a string, if it is text) or key64 (base64). */
void lib_json_add_data(cJSON *o, const char *key, const char *key64,
                       const uint8_t *data, size_t len);

/* Ids in JSON (endpoints, calls) stay below 2^53: numbers carry them
 * exactly. */
#define BATON_JSON_ID_MAX (1ull << 53)

/* Is v a JSON number that is a whole number in lo..hi? Sets *out. hi is
 * at most 2^53, the whole numbers a double holds exactly: a request's
 * number is checked before it is converted (1e30 is no call id). */
bool lib_json_whole(const cJSON *v, uint64_t lo, uint64_t hi, uint64_t *out);

/* A request parsed without cJSON's allocations: the common request is a
 * flat object of strings and small whole numbers, and cJSON's parse
 * (about 13 allocations, strtod) was a good part of a call's time in
 * batond. lib_json_flat() builds, in f, the very tree cJSON_Parse would
 * build for the line (same types, values, keys and order, duplicates
 * included), or returns NULL for anything else: nesting, escapes,
 * control bytes, true/false/null, signs, fractions, exponents, numbers
 * of 16 digits or more, over LIB_JSON_FLAT_ITEMS members or
 * LIB_JSON_FLAT_TEXT bytes. Then the caller parses with cJSON. The tree
 * lives in f: read it, duplicate from it, never cJSON_Delete it. */
#define LIB_JSON_FLAT_ITEMS (16u)
#define LIB_JSON_FLAT_TEXT (2048u)

struct lib_json_flat {
    cJSON root;
    cJSON items[LIB_JSON_FLAT_ITEMS];
    char text[LIB_JSON_FLAT_TEXT];
};

const cJSON *lib_json_flat(struct lib_json_flat *f,
                           const char *line,
                           size_t len);

#endif /* BATON_LIB_JSON_H */
