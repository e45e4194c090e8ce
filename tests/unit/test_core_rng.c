/*
 * test_core_rng.c — the core's random numbers, on which bit-reproducible
 * training rests: xoshiro256** seeded by splitmix64 exactly as published
 * (checked against a reference written here), and the distributions and the
 * shuffle built on it.
 */
#include "testutil.h"

/* splitmix64 and xoshiro256** as published by Vigna (prng.di.unimi.it). */
static uint64_t ref_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t ref_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

START_TEST(test_seeding_is_splitmix64)
{
    static const uint64_t seeds[] = {0, 1, 42, 0xDEADBEEFCAFEBABEull, UINT64_MAX};
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        sn_rng rng;
        sn_rng_seed(&rng, seeds[k]);
        uint64_t x = seeds[k];
        for (int i = 0; i < 4; i++) {
            uint64_t want = ref_splitmix64(&x);
            ck_assert_msg(rng.s[i] == want, "seed %llu: s[%d] = %016llx, want %016llx", (unsigned long long)seeds[k],
                          i, (unsigned long long)rng.s[i], (unsigned long long)want);
        }
    }
}
END_TEST

START_TEST(test_next_is_xoshiro256starstar)
{
    sn_rng rng;
    sn_rng_seed(&rng, 20240601);
    uint64_t s[4], x = 20240601;
    for (int i = 0; i < 4; i++) s[i] = ref_splitmix64(&x);
    for (int i = 0; i < 1000; i++) {
        uint64_t got = sn_rng_next(&rng), want = ref_next(s);
        ck_assert_msg(got == want, "output %d: %016llx, want %016llx", i, (unsigned long long)got,
                      (unsigned long long)want);
    }
}
END_TEST

/* Sample sizes and bounds: every bound below is over 5 standard errors of
 * its statistic, and the streams are fixed, so these cannot flake. */
enum { DRAWS = 100000 };

START_TEST(test_uniform_range_and_mean)
{
    sn_rng rng;
    sn_rng_seed(&rng, 7);
    double sum = 0, lo = 1, hi = 0;
    for (int i = 0; i < DRAWS; i++) {
        double u = sn_rng_uniform(&rng);
        ck_assert_msg(u >= 0.0 && u < 1.0, "draw %d = %.17g", i, u);
        sum += u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    /* Mean 1/2 with standard error 0.289/√n = 9e-4. */
    ck_assert_msg(fabs(sum / DRAWS - 0.5) < 5e-3, "mean %g", sum / DRAWS);
    ck_assert(lo < 1e-3 && hi > 1 - 1e-3);
}
END_TEST

START_TEST(test_normal_moments)
{
    sn_rng rng;
    sn_rng_seed(&rng, 8);
    double sum = 0, sq = 0, quart = 0;
    for (int i = 0; i < DRAWS; i++) {
        double z = sn_rng_normal(&rng);
        ck_assert(isfinite(z));
        sum += z;
        sq += z * z;
        quart += z * z * z * z;
    }
    double mean = sum / DRAWS, var = sq / DRAWS - mean * mean, kurt = quart / DRAWS;
    /* Standard errors: mean 3.2e-3, variance √(2/n) = 4.5e-3, 4th moment √(96/n) = 0.031. */
    ck_assert_msg(fabs(mean) < 0.02, "mean %g", mean);
    ck_assert_msg(fabs(var - 1) < 0.03, "variance %g", var);
    ck_assert_msg(fabs(kurt - 3) < 0.2, "fourth moment %g (normal: 3)", kurt);
}
END_TEST

START_TEST(test_below_range_and_balance)
{
    sn_rng rng;
    sn_rng_seed(&rng, 9);
    static const uint64_t ns[] = {1, 2, 3, 7, 1000, (1ull << 63) + 1, 0xAAAAAAAAAAAAAAABull, UINT64_MAX};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int i = 0; i < 1000; i++) ck_assert(sn_rng_below(&rng, ns[k]) < ns[k]);
    /* Three buckets of n/3 = 33333, standard error 149: ±1000 is > 6σ. */
    int count[3] = {0, 0, 0};
    for (int i = 0; i < DRAWS; i++) count[sn_rng_below(&rng, 3)]++;
    for (int b = 0; b < 3; b++) ck_assert_msg(abs(count[b] - DRAWS / 3) < 1000, "bucket %d: %d", b, count[b]);
    /* n ≈ ⅔·2⁶⁴ shows a plain modulo's bias: x mod n folds [n, 2⁶⁴) onto
     * [0, n/2), so 2/3 of draws would fall below n/2. Unbiased, 1/2 do
     * (5000 of 10000, standard error 50). */
    const uint64_t big = 0xAAAAAAAAAAAAAAABull;
    int low = 0;
    for (int i = 0; i < 10000; i++) low += sn_rng_below(&rng, big) < big / 2;
    ck_assert_msg(abs(low - 5000) < 400, "%d of 10000 draws below n/2 (a biased modulo gives ~6667)", low);
}
END_TEST

START_TEST(test_shuffle_is_a_fair_permutation)
{
    sn_rng rng;
    sn_rng_seed(&rng, 10);
    size_t idx[50];
    for (size_t i = 0; i < 50; i++) idx[i] = i;
    sn_rng_shuffle(&rng, idx, 50);
    int seen[50] = {0}, moved = 0;
    for (size_t i = 0; i < 50; i++) {
        ck_assert(idx[i] < 50);
        ck_assert_msg(!seen[idx[i]]++, "%zu appears twice", idx[i]);
        moved += idx[i] != i;
    }
    ck_assert_int_gt(moved, 40);
    sn_rng_shuffle(&rng, idx, 0); /* empty and single: nothing to do, no crash */
    sn_rng_shuffle(&rng, idx, 1);
    /* All 6 orders of 3 items, each ~1/6 of 60000 (standard error 91). */
    int orders[6] = {0};
    for (int t = 0; t < 60000; t++) {
        size_t p[3] = {0, 1, 2};
        sn_rng_shuffle(&rng, p, 3);
        orders[p[0] * 2 + (p[1] > p[2])]++;
    }
    for (int o = 0; o < 6; o++) ck_assert_msg(abs(orders[o] - 10000) < 600, "order %d: %d of 60000", o, orders[o]);
}
END_TEST

START_TEST(test_same_seed_same_stream)
{
    sn_rng a, b, c;
    sn_rng_seed(&a, 123);
    sn_rng_seed(&b, 123);
    sn_rng_seed(&c, 124);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sn_rng_next(&a);
        ck_assert(x == sn_rng_next(&b));
        differ += x != sn_rng_next(&c);
    }
    ck_assert_int_gt(differ, 95);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("core_rng");
    TCase *tc = tcase_create("rng");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_seeding_is_splitmix64);
    tcase_add_test(tc, test_next_is_xoshiro256starstar);
    tcase_add_test(tc, test_uniform_range_and_mean);
    tcase_add_test(tc, test_normal_moments);
    tcase_add_test(tc, test_below_range_and_balance);
    tcase_add_test(tc, test_shuffle_is_a_fair_permutation);
    tcase_add_test(tc, test_same_seed_same_stream);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(rng_suite(), 0);
}
