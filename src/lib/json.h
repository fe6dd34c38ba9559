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

#endif /* BATON_LIB_JSON_H */
