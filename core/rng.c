/*
 * rng.c — the core's own random numbers: xoshiro256** seeded through
 * splitmix64, so that a 64-bit seed fixes every random choice on every
 * platform (never rand(), never global state).
 */
#include <math.h>

#include "scratchnet.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sn_rng_seed(sn_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sn_rng_next(sn_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sn_rng_uniform(sn_rng *rng) { return (double)(sn_rng_next(rng) >> 11) * 0x1.0p-53; }

/* Box–Muller; one draw per call keeps the stream simple to reason about. */
double sn_rng_normal(sn_rng *rng)
{
    double u1 = 1.0 - sn_rng_uniform(rng); /* (0, 1]: log is finite */
    double u2 = sn_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Lemire's nearly-divisionless method would be faster; rejection keeps it exact. */
uint64_t sn_rng_below(sn_rng *rng, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = sn_rng_next(rng);
    while (x >= limit);
    return x % n;
}

void sn_rng_shuffle(sn_rng *rng, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sn_rng_below(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
