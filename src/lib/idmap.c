/* The id map: open addressing over two parallel arrays. */
#include "../util/setup.h"

#include <stdlib.h>

#include "../util/assert.h"
#include "../util/error.h"
#include "idmap.h"

#define IDMAP_CAP_MIN (64)

/* A 64-bit finaliser (splitmix64): ids are counters, so their low bits
 * alone would cluster. */
static size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebull;
    key ^= key >> 31;
    return (size_t)key & (cap - 1);
}

static void insert(uint64_t *keys, void **vals, size_t cap, uint64_t key,
                   void *val)
{
    size_t i = slot_of(key, cap);

    while (keys[i] != 0 && keys[i] != key) {
        i = (i + 1) & (cap - 1);
    }
    keys[i] = key;
    vals[i] = val;
}

static int grow(struct lib_idmap *m)
{
    size_t cap = m->cap == 0 ? IDMAP_CAP_MIN : m->cap * 2;
    uint64_t *keys = calloc(cap, sizeof(*keys));
    void **vals = calloc(cap, sizeof(*vals));

    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return BATON_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] != 0) {
            insert(keys, vals, cap, m->keys[i], m->vals[i]);
        }
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int lib_idmap_put(struct lib_idmap *m, uint64_t key, void *val)
{
    BATON_ASSERT(key != 0);
    BATON_ASSERT(val != NULL);
    if ((m->count + 1) * 2 > m->cap && grow(m) != 0) {
        return BATON_ENOMEM;
    }
    if (lib_idmap_get(m, key) == NULL) {
        m->count++;
    }
    insert(m->keys, m->vals, m->cap, key, val);
    return 0;
}

void *lib_idmap_get(const struct lib_idmap *m, uint64_t key)
{
    size_t i;

    if (m->cap == 0 || key == 0) {
        return NULL;
    }
    for (i = slot_of(key, m->cap); m->keys[i] != 0;
         i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            return m->vals[i];
        }
    }
    return NULL;
}

void *lib_idmap_del(struct lib_idmap *m, uint64_t key)
{
    size_t i;
    size_t j;
    void *val;

    if (m->cap == 0 || key == 0) {
        return NULL;
    }
    for (i = slot_of(key, m->cap); m->keys[i] != key;
         i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == 0) {
            return NULL;
        }
    }
    val = m->vals[i];
    m->count--;
    /* Backward shift: pull later entries of the run into the hole when
     * their home slot does not lie between the hole and them. */
    for (j = (i + 1) & (m->cap - 1); m->keys[j] != 0;
         j = (j + 1) & (m->cap - 1)) {
        size_t home = slot_of(m->keys[j], m->cap);
        if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    return val;
}

void lib_idmap_free(struct lib_idmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = 0;
    m->count = 0;
}
