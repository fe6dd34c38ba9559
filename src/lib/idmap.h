/* A map from nonzero 64-bit ids to pointers: the node's endpoints, calls
 * and name writes in flight, for the library and the control sessions. */
#ifndef BATON_LIB_IDMAP_H
#define BATON_LIB_IDMAP_H

#include "../util/setup.h"

/* Open addressing with linear probing and backward-shift deletion, so no
 * tombstones; it doubles at half load. Zero-initialise before use. */
struct lib_idmap {
    uint64_t *keys; /* 0 = empty slot */
    void **vals;
    size_t cap;     /* a power of two, or 0 */
    size_t count;
};

/* Maps key (never 0) to val (never NULL), replacing any earlier value.
 * Errors: BATON_ENOMEM (the map is unchanged). */
int lib_idmap_put(struct lib_idmap *m, uint64_t key, void *val);

/* The value of key, or NULL. */
void *lib_idmap_get(const struct lib_idmap *m, uint64_t key);

/* Removes key; returns its value, or NULL if it was absent. */
void *lib_idmap_del(struct lib_idmap *m, uint64_t key);

/* Frees the map's storage (not the values). */
void lib_idmap_free(struct lib_idmap *m);

#endif /* BATON_LIB_IDMAP_H */
