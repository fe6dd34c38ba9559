/* Seeded pseudo-random numbers for the core (no rand(), no OS entropy). */
#ifndef BATON_CORE_PRNG_H
#define BATON_CORE_PRNG_H

#include "../util/setup.h"

/* xoshiro256** state. The same seed gives the same sequence everywhere,
 * which is what lets the simulator replay a run exactly. */
struct baton_prng {
    uint64_t s[4];
};

/* Seeds the generator (any value, 0 included) through splitmix64. */
void baton_prng_seed(struct baton_prng *p, uint64_t seed);

uint64_t baton_prng_next(struct baton_prng *p);

/* A uniform value in [0, bound); bound 0 gives 0. */
uint64_t baton_prng_below(struct baton_prng *p, uint64_t bound);

/* true with probability per_million / 1e6. */
bool baton_prng_chance(struct baton_prng *p, uint32_t per_million);

#endif /* BATON_CORE_PRNG_H */
