/* Unit tests for the core's seeded PRNG (src/core/prng.c). */
#include "../../src/util/setup.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/core/prng.h"

/* The simulator replays a run from its seed, so a seed must give the
 * same sequence on every platform: pin the first outputs of xoshiro256**
 * seeded through splitmix64. The values come from an independent
 * implementation of the published algorithms (splitmix64 from 0 starts
 * 0xe220a8397b1dcdaf, the well-known reference vector). */
static void test_prng_golden_sequence(void **state)
{
    static const uint64_t seed0[] = {0x99ec5f36cb75f2b4ull,
                                     0xbf6e1f784956452aull,
                                     0x1a5f849d4933e6e0ull,
                                     0x6aa594f1262d2d2cull};
    static const uint64_t seed42[] = {0x15780b2e0c2ec716ull,
                                      0x6104d9866d113a7eull,
                                      0xae17533239e499a1ull,
                                      0xecb8ad4703b360a1ull};
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 0);
    assert_int_equal(p.s[0], 0xe220a8397b1dcdafull);
    for (unsigned i = 0; i < BATON_ARRAY_LEN(seed0); i++) {
        assert_int_equal(baton_prng_next(&p), seed0[i]);
    }
    baton_prng_seed(&p, 42);
    for (unsigned i = 0; i < BATON_ARRAY_LEN(seed42); i++) {
        assert_int_equal(baton_prng_next(&p), seed42[i]);
    }
}

static void test_prng_same_seed_same_sequence(void **state)
{
    static const uint64_t seeds[] = {0, 1, 42, 0xdeadbeefull, UINT64_MAX};
    struct baton_prng a;
    struct baton_prng b;

    BATON_UNUSED(state);
    for (unsigned s = 0; s < BATON_ARRAY_LEN(seeds); s++) {
        baton_prng_seed(&a, seeds[s]);
        baton_prng_seed(&b, seeds[s]);
        for (unsigned i = 0; i < 1000; i++) {
            assert_int_equal(baton_prng_next(&a), baton_prng_next(&b));
        }
        /* The derived helpers consume the same stream. */
        for (unsigned i = 0; i < 1000; i++) {
            assert_int_equal(baton_prng_below(&a, 1000 + i),
                             baton_prng_below(&b, 1000 + i));
            assert_int_equal(baton_prng_chance(&a, 300000),
                             baton_prng_chance(&b, 300000));
        }
    }
}

/* Re-seeding restarts the sequence: the generator keeps no other state. */
static void test_prng_reseed_restarts(void **state)
{
    struct baton_prng p;
    uint64_t first[16];

    BATON_UNUSED(state);
    baton_prng_seed(&p, 7);
    for (unsigned i = 0; i < BATON_ARRAY_LEN(first); i++) {
        first[i] = baton_prng_next(&p);
    }
    baton_prng_seed(&p, 7);
    for (unsigned i = 0; i < BATON_ARRAY_LEN(first); i++) {
        assert_int_equal(baton_prng_next(&p), first[i]);
    }
}

static void test_prng_different_seeds_differ(void **state)
{
    enum { N_SEEDS = 64, N_DRAWS = 32 };
    uint64_t out[N_SEEDS][N_DRAWS];
    struct baton_prng p;

    BATON_UNUSED(state);
    for (unsigned s = 0; s < N_SEEDS; s++) {
        baton_prng_seed(&p, s); /* adjacent seeds: the hardest case */
        for (unsigned i = 0; i < N_DRAWS; i++) {
            out[s][i] = baton_prng_next(&p);
        }
    }
    for (unsigned s = 0; s < N_SEEDS; s++) {
        for (unsigned t = s + 1; t < N_SEEDS; t++) {
            unsigned same = 0;
            for (unsigned i = 0; i < N_DRAWS; i++) {
                same += out[s][i] == out[t][i];
            }
            /* Not merely "not identical": no position may coincide. */
            assert_int_equal(same, 0);
        }
    }
}

/* Seed 0 must not leave xoshiro in its all-zero fixed point. */
static void test_prng_seed_zero_is_not_degenerate(void **state)
{
    struct baton_prng p;
    unsigned zeros = 0;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 0);
    assert_false(p.s[0] == 0 && p.s[1] == 0 && p.s[2] == 0 && p.s[3] == 0);
    for (unsigned i = 0; i < 1000; i++) {
        zeros += baton_prng_next(&p) == 0;
    }
    assert_int_equal(zeros, 0);
}

static void test_prng_below_bound_zero_and_one(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 3);
    for (unsigned i = 0; i < 1000; i++) {
        assert_int_equal(baton_prng_below(&p, 0), 0);
        assert_int_equal(baton_prng_below(&p, 1), 0);
    }
}

static void test_prng_below_in_range(void **state)
{
    static const uint64_t bounds[] = {
        2, 3, 6, 7, 10, 255, 1000, 1000000, (1ull << 32) + 1,
        (1ull << 63) - 1, (1ull << 63), (1ull << 63) + 1,
        0xaaaaaaaaaaaaaaaaull, UINT64_MAX - 1, UINT64_MAX};
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 11);
    for (unsigned b = 0; b < BATON_ARRAY_LEN(bounds); b++) {
        for (unsigned i = 0; i < 20000; i++) {
            uint64_t v = baton_prng_below(&p, bounds[b]);
            assert_true(v < bounds[b]);
        }
    }
}

/* Small bound: every value is reached, so "in range" is not satisfied
 * by a constant. */
static void test_prng_below_reaches_every_value(void **state)
{
    bool seen[7] = {false};
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 5);
    for (unsigned i = 0; i < 1000; i++) {
        seen[baton_prng_below(&p, BATON_ARRAY_LEN(seen))] = true;
    }
    for (unsigned v = 0; v < BATON_ARRAY_LEN(seen); v++) {
        assert_true(seen[v]);
    }
}

/* 6 buckets x 60000 expected draws each: every bucket within +-5%. */
static void test_prng_below_uniform(void **state)
{
    enum { BUCKETS = 6, PER_BUCKET = 60000 };
    static const uint64_t seeds[] = {1, 2, 1234567};
    struct baton_prng p;

    BATON_UNUSED(state);
    for (unsigned s = 0; s < BATON_ARRAY_LEN(seeds); s++) {
        unsigned count[BUCKETS] = {0};
        baton_prng_seed(&p, seeds[s]);
        for (unsigned i = 0; i < BUCKETS * PER_BUCKET; i++) {
            count[baton_prng_below(&p, BUCKETS)]++;
        }
        for (unsigned b = 0; b < BUCKETS; b++) {
            assert_in_range(count[b], PER_BUCKET - PER_BUCKET / 20,
                            PER_BUCKET + PER_BUCKET / 20);
        }
    }
}

/* For bound = 2/3 of 2^64, a plain "next() % bound" would land in the
 * lower half of [0, bound) two times out of three. Rejection sampling
 * must keep it at one half. */
static void test_prng_below_large_bound_unbiased(void **state)
{
    enum { DRAWS = 200000 };
    const uint64_t bound = 0xaaaaaaaaaaaaaaaaull;
    struct baton_prng p;
    unsigned low = 0;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 99);
    for (unsigned i = 0; i < DRAWS; i++) {
        low += baton_prng_below(&p, bound) < bound / 2;
    }
    /* Expected 100000; biased would be ~133333. */
    assert_in_range(low, DRAWS / 2 - DRAWS / 50, DRAWS / 2 + DRAWS / 50);
}

static void test_prng_chance_extremes(void **state)
{
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 17);
    for (unsigned i = 0; i < 100000; i++) {
        assert_false(baton_prng_chance(&p, 0));
        assert_true(baton_prng_chance(&p, 1000000));
        /* Above one million is certain too, never an overflow. */
        assert_true(baton_prng_chance(&p, UINT32_MAX));
    }
}

static void test_prng_chance_proportion(void **state)
{
    enum { DRAWS = 200000 };
    static const uint32_t per_million[] = {1000, 100000, 500000, 900000};
    struct baton_prng p;

    BATON_UNUSED(state);
    baton_prng_seed(&p, 23);
    for (unsigned k = 0; k < BATON_ARRAY_LEN(per_million); k++) {
        uint64_t expected = (uint64_t)DRAWS * per_million[k] / 1000000;
        uint64_t hits = 0;
        for (unsigned i = 0; i < DRAWS; i++) {
            hits += baton_prng_chance(&p, per_million[k]);
        }
        /* +-10% of the expectation (many standard deviations). */
        assert_in_range(hits, expected - expected / 10,
                        expected + expected / 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prng_golden_sequence),
        cmocka_unit_test(test_prng_same_seed_same_sequence),
        cmocka_unit_test(test_prng_reseed_restarts),
        cmocka_unit_test(test_prng_different_seeds_differ),
        cmocka_unit_test(test_prng_seed_zero_is_not_degenerate),
        cmocka_unit_test(test_prng_below_bound_zero_and_one),
        cmocka_unit_test(test_prng_below_in_range),
        cmocka_unit_test(test_prng_below_reaches_every_value),
        cmocka_unit_test(test_prng_below_uniform),
        cmocka_unit_test(test_prng_below_large_bound_unbiased),
        cmocka_unit_test(test_prng_chance_extremes),
        cmocka_unit_test(test_prng_chance_proportion),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
