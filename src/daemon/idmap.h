/* A map from nonzero 64-bit ids to pointers, for batond's control
 * sessions (endpoints, calls, name writes in flight). */
#ifndef BATON_DAEMON_IDMAP_H
#define BATON_DAEMON_IDMAP_H

#include "../util/setup.h"

/* Open addressing with linear probing and backward-shift deletion, so no
 * tombstones; it doubles at half load. Zero-initialise before use. */
struct batond_idmap {
    uint64_t *keys; /* 0 = empty slot */
    void **vals;
    size_t cap;     /* a power of two, or 0 */
    size_t count;
};

/* Maps key (never 0) to val (never NULL), replacing any earlier value.
 * Errors: BATON_ENOMEM (the map is unchanged). */
int batond_idmap_put(struct batond_idmap *m, uint64_t key, void *val);

/* The value of key, or NULL. */
void *batond_idmap_get(const struct batond_idmap *m, uint64_t key);

/* Removes key; returns its value, or NULL if it was absent. */
void *batond_idmap_del(struct batond_idmap *m, uint64_t key);

/* Frees the map's storage (not the values). */
void batond_idmap_free(struct batond_idmap *m);

#endif /* BATON_DAEMON_IDMAP_H */
