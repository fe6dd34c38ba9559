/* The name table: open addressing with linear probing and deletion by
 * backward shift. Pure: no allocation, no I/O. See names.h. */
#include "../util/setup.h"

#include <string.h>

#include "../util/error.h"
#include "names.h"

int baton_name_check(const char *name, size_t len)
{
    if (len == 0 || len > BATON_GNAME_MAX) {
        return BATON_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e) {
            return BATON_EINVAL;
        }
    }
    return 0;
}

int baton_name_validate(const struct baton_name *e, unsigned n_nodes)
{
    const char *end = memchr(e->name, '\0', sizeof(e->name));

    if (end == NULL ||
        baton_name_check(e->name, (size_t)(end - e->name)) != 0 ||
        e->owner >= n_nodes || e->resolver >= BATON_RESOLVE__COUNT ||
        e->meta_len > BATON_GNAME_META_MAX || e->owner_inc == 0 ||
        e->endpoint == 0 || e->epoch == 0) {
        return BATON_EBADMSG;
    }
    return 0;
}

void baton_names_init(struct baton_names *t, struct baton_name *slots,
                      uint32_t cap)
{
    memset(t, 0, sizeof(*t));
    t->slot = slots;
    t->cap = slots != NULL ? cap : 0;
    /* The slots are zeroed (the caller's contract): touching them here
     * would make every page of a large table resident at boot. */
}

void baton_names_clear(struct baton_names *t)
{
    if (t->count != 0) {
        for (uint32_t i = 0; i < t->cap; i++) {
            t->slot[i].used = 0;
        }
    }
    t->count = 0;
    t->digest = 0;
    memset(t->owned, 0, sizeof(t->owned));
}

uint64_t baton_name_hash(const char *name)
{
    /* FNV-1a; names are short, and this is what whereis pays. */
    uint64_t h = 0xcbf29ce484222325ull;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h = (h ^ ((v >> (8 * i)) & 0xffu)) * 0x100000001b3ull;
    }
    return h;
}

uint64_t baton_name_digest(const struct baton_name *e)
{
    uint64_t h = baton_name_hash(e->name);

    h = mix(h, e->owner);
    h = mix(h, e->owner_inc);
    h = mix(h, e->endpoint);
    h = mix(h, e->epoch);
    h = mix(h, e->resolver);
    h = mix(h, e->meta_len);
    for (unsigned i = 0; i < e->meta_len; i++) {
        h = (h ^ e->meta[i]) * 0x100000001b3ull;
    }
    /* A final avalanche so the sum of digests stays well spread. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

bool baton_name_equal(const struct baton_name *a, const struct baton_name *b)
{
    return strcmp(a->name, b->name) == 0 && a->owner == b->owner &&
           a->owner_inc == b->owner_inc && a->endpoint == b->endpoint &&
           a->epoch == b->epoch && a->resolver == b->resolver &&
           a->meta_len == b->meta_len &&
           memcmp(a->meta, b->meta, a->meta_len) == 0;
}

/* Slot holding name, or the empty slot where it would go. */
static uint32_t probe(const struct baton_names *t, const char *name,
                      uint64_t h)
{
    uint32_t mask = t->cap - 1;
    uint32_t i = (uint32_t)h & mask;

    while (t->slot[i].used && strcmp(t->slot[i].name, name) != 0) {
        i = (i + 1) & mask;
    }
    return i;
}

const struct baton_name *baton_names_find(const struct baton_names *t,
                                          const char *name)
{
    uint32_t i;

    if (t->count == 0) {
        return NULL;
    }
    i = probe(t, name, baton_name_hash(name));
    return t->slot[i].used ? &t->slot[i] : NULL;
}

static void account(struct baton_names *t, const struct baton_name *e,
                    bool add)
{
    uint64_t d = baton_name_digest(e);

    if (add) {
        t->count++;
        t->digest += d;
        t->owned[e->owner]++;
    } else {
        t->count--;
        t->digest -= d;
        t->owned[e->owner]--;
    }
}

int baton_names_put(struct baton_names *t, const struct baton_name *e)
{
    uint32_t i;

    if (t->cap == 0) {
        return BATON_EFULL;
    }
    i = probe(t, e->name, baton_name_hash(e->name));
    if (t->slot[i].used) {
        account(t, &t->slot[i], false);
    } else if (t->count >= baton_names_limit(t->cap)) {
        return BATON_EFULL;
    }
    t->slot[i] = *e;
    t->slot[i].used = 1;
    account(t, &t->slot[i], true);
    return 0;
}

/* Empties slot i and moves later entries of its run back, so every entry
 * stays reachable from its home slot without tombstones. */
static void remove_at(struct baton_names *t, uint32_t i)
{
    uint32_t mask = t->cap - 1;
    uint32_t j = i;

    account(t, &t->slot[i], false);
    t->slot[i].used = 0;
    for (;;) {
        uint32_t home;
        j = (j + 1) & mask;
        if (!t->slot[j].used) {
            return;
        }
        home = (uint32_t)baton_name_hash(t->slot[j].name) & mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            t->slot[i] = t->slot[j];
            t->slot[j].used = 0;
            i = j;
        }
    }
}

bool baton_names_del(struct baton_names *t, const char *name)
{
    uint32_t i;

    if (t->count == 0) {
        return false;
    }
    i = probe(t, name, baton_name_hash(name));
    if (!t->slot[i].used) {
        return false;
    }
    remove_at(t, i);
    return true;
}

unsigned baton_names_purge(struct baton_names *t, unsigned node,
                           baton_inc keep_inc)
{
    unsigned gone = 0;
    uint32_t i = 0;

    if (node >= BATON_NODES_MAX || t->owned[node] == 0) {
        return 0;
    }
    while (i < t->cap) {
        const struct baton_name *e = &t->slot[i];
        if (e->used && e->owner == node &&
            (keep_inc == 0 || e->owner_inc != keep_inc)) {
            remove_at(t, i);
            gone++;
            continue; /* slot i now holds a shifted entry: look again */
        }
        i++;
    }
    return gone;
}

int baton_names_copy(struct baton_names *dst, const struct baton_names *src)
{
    baton_names_clear(dst);
    if (src->count > baton_names_limit(dst->cap)) {
        return BATON_EFULL;
    }
    for (uint32_t i = 0; i < src->cap; i++) {
        if (src->slot[i].used) {
            int rv = baton_names_put(dst, &src->slot[i]);
            if (rv != 0) {
                baton_names_clear(dst);
                return rv;
            }
        }
    }
    return 0;
}

static const char *const resolver_names[BATON_RESOLVE__COUNT] = {
    "keep_incumbent", "random_exit", "random_notify", "notify_all"};

const char *baton_resolver_name(unsigned r)
{
    return r < BATON_RESOLVE__COUNT ? resolver_names[r] : "?";
}

int baton_resolver_parse(const char *s)
{
    for (unsigned r = 0; r < BATON_RESOLVE__COUNT; r++) {
        if (strcmp(s, resolver_names[r]) == 0) {
            return (int)r;
        }
    }
    return -1;
}

const char *baton_lost_reason_name(unsigned r)
{
    static const char *const names[BATON_LOST__COUNT] = {
        "?",           "removed",       "conflict_keep_incumbent",
        "conflict_random_exit", "conflict_random_notify",
        "conflict_notify_all", "replaced"};
    return r < BATON_LOST__COUNT ? names[r] : "?";
}
