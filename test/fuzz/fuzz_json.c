/* libFuzzer target: the flat request parser (src/lib/json.c,
 * lib_json_flat), differentially against cJSON. Oracle: what the flat
 * parser accepts, cJSON parses too, into the same tree: the same members
 * in the same order, with the same keys, types, strings, numbers and
 * links (a parent's first child's prev is its last). */
#include "../../src/util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void check_same(const cJSON *flat, const cJSON *ref)
{
    const cJSON *a = flat->child;
    const cJSON *b = ref->child;

    check((flat->type & 0xFF) == cJSON_Object);
    check((ref->type & 0xFF) == cJSON_Object);
    check((a == NULL) == (b == NULL));
    if (a != NULL) {
        const cJSON *last = a;
        while (last->next != NULL) {
            last = last->next;
        }
        check(a->prev == last);
    }
    for (; a != NULL && b != NULL; a = a->next, b = b->next) {
        check((a->type & 0xFF) == (b->type & 0xFF));
        check(a->string != NULL && b->string != NULL);
        check(strcmp(a->string, b->string) == 0);
        check(a->child == NULL);
        if (cJSON_IsString(a)) {
            check(strcmp(a->valuestring, b->valuestring) == 0);
        } else {
            check(cJSON_IsNumber(a));
            check(a->valuedouble == b->valuedouble);
            check(a->valueint == b->valueint);
        }
    }
    check(a == NULL && b == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lib_json_flat f;
    const cJSON *flat = lib_json_flat(&f, (const char *)data, size);
    cJSON *ref;

    if (flat == NULL) {
        return 0; /* cJSON's to parse, whatever it makes of it */
    }
    ref = cJSON_ParseWithLength((const char *)data, size);
    check(ref != NULL);
    check_same(flat, ref);
    cJSON_Delete(ref);
    return 0;
}
