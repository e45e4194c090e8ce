/*
 * test_float_text.c — server/float_text.c against the plain way it replaces:
 * printf at 6, 7, 8, 9 digits until strtof reads the float back. Same text,
 * byte for byte, for hand-picked floats (powers of two and ten, rounding
 * carries, ties, the edges of the exact range, subnormals, the largest) and
 * for millions of random bit patterns, every exponent included.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "float_text.h"

/* Random floats per loop: fewer under valgrind, where each costs 50 times more
 * (make valgrind looks for memory errors, which do not depend on the value). */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SAMPLES (RUNNING_ON_VALGRIND ? 2000 : 200000)
#else
#define SAMPLES 200000
#endif

static void reference(float f, char out[FLOAT_TEXT_MAX])
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(out, FLOAT_TEXT_MAX, "%.*g", digits, (double)f);
        if (strtof(out, NULL) == f)
            return;
    }
}

static void check_same(float f)
{
    char want[FLOAT_TEXT_MAX], got[FLOAT_TEXT_MAX];
    reference(f, want);
    size_t len = float_text(f, got);
    ck_assert_msg(strcmp(got, want) == 0, "%a: float_text wrote %s, printf %s", (double)f, got, want);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_msg(strtof(got, NULL) == f && signbit(strtof(got, NULL)) == signbit(f),
                  "%s does not read back as %a", got, (double)f);
}

static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

START_TEST(chosen_floats)
{
    static const float chosen[] = {
        0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 0.1f, 0.2f, 0.3f, 0.94815f, 0.039596f, 1e-4f, 1e-5f,
        9.9999e-5f, 123456.0f, 1234567.0f, 1234567.5f, 12345678.0f, 99999.99f, 999999.9f,
        9.9999996f, 0.99999994f, 1.0000001f, 16777216.0f, 16777215.0f, 3.4028235e38f,
        -3.4028235e38f, 1.17549435e-38f, 1e-45f, 4.7683716e-7f, 4.76837e-7f, 1e37f, 2e37f,
        1e10f, 1e-10f, 65536.0f, 1048576.0f, 0.15f, -0.4f, 0.8f, 0.35f, -0.6f, 0.9f, -0.25f,
        3.14159265f, 2.7182818f, 1e6f, 1e7f, 1e8f, 1e9f, 123456789.0f,
    };
    for (size_t i = 0; i < sizeof chosen / sizeof chosen[0]; i++)
        check_same(chosen[i]);
    for (int e = -149; e <= 127; e++) { /* every power of two and its neighbours */
        float p = ldexpf(1.0f, e);
        check_same(p);
        check_same(nextafterf(p, 0.0f));
        check_same(nextafterf(p, INFINITY));
        check_same(-p);
    }
    for (int e = -45; e <= 38; e++) { /* powers of ten and their neighbours */
        char text[16];
        snprintf(text, sizeof text, "1e%d", e);
        float t = strtof(text, NULL);
        if (t == 0 || isinf(t))
            continue;
        check_same(t);
        check_same(nextafterf(t, 0.0f));
        check_same(nextafterf(t, INFINITY));
    }
}
END_TEST

START_TEST(random_floats)
{
    uint64_t s = 0x9E3779B97F4A7C15u + (uint64_t)_i;
    for (int i = 0; i < SAMPLES; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
        float f = from_bits((uint32_t)(s >> 32));
        if (isfinite(f))
            check_same(f);
    }
}
END_TEST

START_TEST(random_floats_near_one)
{
    /* Where predictions live: every float in [2^-22, 2^24) equally likely per exponent. */
    uint64_t s = 0xD1B54A32D192ED03u + (uint64_t)_i;
    for (int i = 0; i < SAMPLES; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int e = (int)(s % 46) - 22;
        float f = ldexpf(1.0f + (float)((s >> 20) & 0x7FFFFF) / 8388608.0f, e);
        check_same((s >> 63) ? -f : f);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("float_text");
    TCase *tc = tcase_create("float_text");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, chosen_floats);
    tcase_add_loop_test(tc, random_floats, 0, 2);
    tcase_add_loop_test(tc, random_floats_near_one, 0, 2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
