#include "../util/setup.h"

#include "prng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void baton_prng_seed(struct baton_prng *p, uint64_t seed)
{
    for (unsigned i = 0; i < 4; i++) {
        p->s[i] = splitmix64(&seed);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t baton_prng_next(struct baton_prng *p)
{
    uint64_t *s = p->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t baton_prng_below(struct baton_prng *p, uint64_t bound)
{
    uint64_t threshold;
    uint64_t r;

    if (bound == 0) {
        return 0;
    }
    /* Rejection sampling removes the modulo bias. */
    threshold = (0 - bound) % bound;
    do {
        r = baton_prng_next(p);
    } while (r < threshold);
    return r % bound;
}

bool baton_prng_chance(struct baton_prng *p, uint32_t per_million)
{
    return baton_prng_below(p, 1000000) < per_million;
}
