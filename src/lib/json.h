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

#endif /* BATON_LIB_JSON_H */
