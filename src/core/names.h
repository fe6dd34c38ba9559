/* Global names: the replicated name table and its pure operations.
 * See docs/design/names.md.
 *
 * The table is an open-addressing hash table (linear probing, deletion by
 * backward shift, so no tombstones) over storage the driver provides: the
 * core never allocates. Every replica of a group holds the same entries;
 * the slot layout may differ, so equality is by digest, which is the sum
 * of the entries' digests and so independent of insertion order. */
#ifndef BATON_CORE_NAMES_H
#define BATON_CORE_NAMES_H

#include "types.h"

/* Limits (docs/design/names.md §1). A name is 1..BATON_GNAME_MAX bytes,
 * each printable ASCII other than space (0x21..0x7e). */
#define BATON_GNAME_MAX (127)
#define BATON_GNAME_META_MAX (256)
/* The largest message or call payload, and the largest reply. */
#define BATON_CALL_DATA_MAX (65536)

/* What happens to the names of a clash after a heal
 * (docs/design/names.md §4; reference §2.5 for OTP's three). */
enum baton_resolver {
    BATON_RESOLVE_KEEP_INCUMBENT = 0, /* the older registration wins */
    BATON_RESOLVE_RANDOM_EXIT,   /* smaller node name wins; loser exits */
    BATON_RESOLVE_RANDOM_NOTIFY, /* smaller node name wins; loser told */
    BATON_RESOLVE_NOTIFY_ALL,    /* both removed, both told */
    BATON_RESOLVE__COUNT
};

/* Why a registration went away without its owner asking: enum
 * baton_lost_reason (include/baton/baton.h). */
#define BATON_LOST__COUNT (BATON_LOST_REPLACED + 1)

/* One registration. */
struct baton_name {
    char name[BATON_GNAME_MAX + 1]; /* NUL-terminated */
    uint8_t used;     /* table slot occupied */
    uint8_t owner;    /* the owner endpoint's node */
    uint8_t resolver; /* enum baton_resolver */
    uint8_t reserved;
    uint16_t meta_len;
    uint16_t reserved2[3];
    baton_inc owner_inc; /* the owner node's life */
    uint64_t endpoint;   /* owner-node-local endpoint id, never 0 */
    uint64_t epoch;      /* registration token: unique, grows (fencing) */
    uint8_t meta[BATON_GNAME_META_MAX];
};

struct baton_names {
    struct baton_name *slot; /* cap slots, owned by the driver */
    uint32_t cap;            /* a power of two, or 0: no names */
    uint32_t count;
    uint64_t digest;         /* sum of baton_name_digest() of entries */
    uint32_t owned[BATON_NODES_MAX]; /* entries per owner node */
};

/* The most entries a table of cap slots holds (3/4 of it). */
static inline uint32_t baton_names_limit(uint32_t cap)
{
    return cap - cap / 4;
}

/* Is name (len bytes) a valid name? Errors: BATON_EINVAL. */
int baton_name_check(const char *name, size_t len);

/* Checks an entry's fields (used on entries from the network).
 * Errors: BATON_EBADMSG. */
int baton_name_validate(const struct baton_name *e, unsigned n_nodes);

/* Makes t an empty table over slots[cap] (cap a power of two or 0).
 * Preconditions: the slots are zeroed (calloc). Borrows slots for the
 * table's lifetime. */
void baton_names_init(struct baton_names *t, struct baton_name *slots,
                      uint32_t cap);

/* Removes every entry (touches only used slots' flags). */
void baton_names_clear(struct baton_names *t);

uint64_t baton_name_hash(const char *name);

/* The entry called name, or NULL. Pure. */
const struct baton_name *baton_names_find(const struct baton_names *t,
                                          const char *name);

/* Inserts e, or overwrites the entry of the same name.
 * Errors: BATON_EFULL (no room: baton_names_limit() reached). */
int baton_names_put(struct baton_names *t, const struct baton_name *e);

/* Removes the entry called name; false if there was none. */
bool baton_names_del(struct baton_names *t, const char *name);

/* Removes node's entries whose owner_inc differs from keep_inc (0 = all
 * of node's entries). Returns how many went. */
unsigned baton_names_purge(struct baton_names *t, unsigned node,
                           baton_inc keep_inc);

/* dst = src (dst keeps its own storage). Errors: BATON_EFULL when src
 * has more entries than dst can hold (dst is then left empty). */
int baton_names_copy(struct baton_names *dst, const struct baton_names *src);

uint64_t baton_name_digest(const struct baton_name *e);

/* Same entry contents (name, owner, life, endpoint, epoch, resolver,
 * metadata). */
bool baton_name_equal(const struct baton_name *a, const struct baton_name *b);

const char *baton_resolver_name(unsigned r);
/* Parses "keep_incumbent", "random_exit", "random_notify", "notify_all";
 * -1 if unknown. */
int baton_resolver_parse(const char *s);
const char *baton_lost_reason_name(unsigned r);

#endif /* BATON_CORE_NAMES_H */
