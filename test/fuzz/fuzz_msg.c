/* libFuzzer target: core message bodies (docs/design/wire.md §2.3-§2.4).
 * Oracle: whatever decodes must encode, and decode again to the same
 * message: the same fields, the same name table entries, the same
 * borrowed bytes. */
#include "../../src/util/setup.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/util/error.h"
#include "../../src/wire/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The decoders' tables: 64 slots hold 48 names. */
#define TABLE_CAP (64)

static struct baton_name first_slots[TABLE_CAP];
static struct baton_name second_slots[TABLE_CAP];
static struct baton_names first_names;
static struct baton_names second_names;

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void check_tables(const struct baton_names *a,
                         const struct baton_names *b)
{
    check((a == NULL) == (b == NULL));
    if (a == NULL) {
        return;
    }
    check(a->count == b->count && a->digest == b->digest);
    for (uint32_t i = 0; i < a->cap; i++) {
        const struct baton_name *f;
        if (a->slot[i].used) {
            f = baton_names_find(b, a->slot[i].name);
            check(f != NULL && baton_name_equal(&a->slot[i], f));
            check(baton_name_validate(f, BATON_NODES_MAX) == 0);
        }
    }
}

/* Where a MEMBERS message's list is decoded (membership.md §2). */
static struct baton_members first_members;
static struct baton_members second_members;

static void check_bytes(const uint8_t **a, uint32_t alen, const uint8_t **b,
                        uint32_t blen)
{
    check(alen == blen && (alen == 0 || memcmp(*a, *b, alen) == 0));
    *a = NULL;
    *b = NULL;
}

/* Compares what is borrowed (tables, bytes) by content, then clears the
 * pointers so that the rest compares byte for byte. */
static void check_borrowed(struct baton_msg *a, struct baton_msg *b)
{
    check(a->type == b->type);
    switch (a->type) {
    case BATON_MSG_MEMBERS:
        check(a->u.members.list == &first_members &&
              b->u.members.list == &second_members &&
              memcmp(&first_members, &second_members,
                     sizeof(first_members)) == 0);
        a->u.members.list = b->u.members.list = NULL;
        break;
    case BATON_MSG_JOIN:
        check_tables(a->u.join.names, b->u.join.names);
        a->u.join.names = b->u.join.names = NULL;
        break;
    case BATON_MSG_SNAPSHOT:
        check_tables(a->u.snapshot.names, b->u.snapshot.names);
        a->u.snapshot.names = b->u.snapshot.names = NULL;
        break;
    case BATON_MSG_STATE:
        check_bytes(&a->u.state.data, a->u.state.len, &b->u.state.data,
                    b->u.state.len);
        break;
    case BATON_MSG_CALL:
        check_bytes(&a->u.call.data, a->u.call.len, &b->u.call.data,
                    b->u.call.len);
        break;
    case BATON_MSG_REPLY:
        check_bytes(&a->u.reply.data, a->u.reply.len, &b->u.reply.data,
                    b->u.reply.len);
        break;
    case BATON_MSG_RAFT:
        check_bytes(&a->u.raft.m.data, a->u.raft.m.len, &b->u.raft.m.data,
                    b->u.raft.m.len);
        /* A decoded APPEND holds its entries itself; the arrays then
         * compare with the rest. */
        check(a->u.raft.m.entries ==
                  (a->u.raft.m.n_entries > 0 ? a->u.raft.entries : NULL) &&
              b->u.raft.m.entries ==
                  (b->u.raft.m.n_entries > 0 ? b->u.raft.entries : NULL));
        a->u.raft.m.entries = b->u.raft.m.entries = NULL;
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct baton_msg first;
    static struct baton_msg second;
    static struct baton_wire_zone *zone;
    /* A re-encoding is never longer than its input, which libFuzzer
     * keeps to 4096 bytes unless told otherwise (-max_len). */
    static uint8_t buf[BATON_FRAME_BODY_MAX];
    size_t len = 0;
    int rv;

    if (first_names.slot == NULL) {
        baton_names_init(&first_names, first_slots, TABLE_CAP);
        baton_names_init(&second_names, second_slots, TABLE_CAP);
    }
    /* The input through one zone kept across inputs, as a node's links
     * decode; its re-encoding through a zone of its own. */
    if (zone == NULL) {
        zone = baton_wire_zone_new();
        check(zone != NULL);
    }
    rv = baton_msg_decode_in(zone, data, size, &first, &first_names,
                             &first_members);
    if (rv == BATON_EBADMSG || rv == BATON_ENOMEM) {
        return 0;
    }
    check(rv == 0);
    /* A decoded message is always encodable, and its canonical encoding
     * is never longer than the input. */
    check(baton_msg_encode(&first, buf, sizeof(buf), &len) == 0 &&
          len <= size);
    check(baton_msg_decode_into(buf, len, &second, &second_names,
                                &second_members) == 0);
    check_borrowed(&first, &second);
    check(memcmp(&first, &second, sizeof(first)) == 0);
    return 0;
}
