/*
 * float_text.c — a float32 written as the shortest of printf's "%.6g" …
 * "%.9g" that reads back as the same float (nine digits always do).
 *
 * The obvious way (snprintf, strtof, one more digit, again) costs about a
 * microsecond a number, which shows on /predict and in big model exports.
 * Here the float's exact value is an integer in 128 bits: f = M·2^E is
 * D·10^s with D = M·5^-E, s = E when E < 0, or D = M·2^E, s = 0 otherwise.
 * Rounding D to d digits (half to even, as printf does) and checking that the
 * result lies within half a gap of f (ties to even, as strtof reads) are then
 * exact integer operations. Floats whose D does not fit (below about 5e-7 or
 * above about 2e37) take the printf way.
 */
#include "float_text.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

/* 5^0 … 5^44 and 10^0 … 10^38: every power the exact way needs, made once. */
static u128 pow5[45], pow10[39];
static pthread_once_t powers_once = PTHREAD_ONCE_INIT;

static void make_powers(void)
{
    pow5[0] = pow10[0] = 1;
    for (int i = 1; i < 45; i++)
        pow5[i] = pow5[i - 1] * 5;
    for (int i = 1; i < 39; i++)
        pow10[i] = pow10[i - 1] * 10;
}

/* Decimal digits of v > 0: from its bit length (log10(2) ≈ 1233/4096), then
 * one comparison, as the estimate is the count or one more. */
static int digit_count(u128 v)
{
    uint64_t hi = (uint64_t)(v >> 64), lo = (uint64_t)v;
    int bits = hi ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll(lo);
    int n = (bits * 1233 >> 12) + 1;
    return v < pow10[n - 1] ? n - 1 : n;
}

/* printf's %g layout of the digits ds (no trailing zeros, at least one)
 * whose first digit has decimal exponent x, at precision p. */
static size_t layout(char *out, bool negative, const char *ds, size_t len, int x, int p)
{
    char *o = out;
    if (negative)
        *o++ = '-';
    if (x < -4 || x >= p) {
        *o++ = ds[0];
        if (len > 1) {
            *o++ = '.';
            memcpy(o, ds + 1, len - 1);
            o += len - 1;
        }
        int ax = abs(x);
        *o++ = 'e';
        *o++ = x < 0 ? '-' : '+';
        if (ax >= 100)
            *o++ = (char)('0' + ax / 100);
        *o++ = (char)('0' + ax / 10 % 10);
        *o++ = (char)('0' + ax % 10);
    } else if (x >= 0) {
        for (int i = 0; i <= x; i++)
            *o++ = (size_t)i < len ? ds[i] : '0';
        if (len > (size_t)x + 1) {
            *o++ = '.';
            memcpy(o, ds + x + 1, len - (size_t)x - 1);
            o += len - (size_t)x - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > x; i--)
            *o++ = '0';
        memcpy(o, ds, len);
        o += len;
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* The exact way; false when f's value does not fit in 128 bits. */
static bool exact_text(float f, char out[FLOAT_TEXT_MAX])
{
    int e2;
    float fr = frexpf(fabsf(f), &e2); /* |f| = fr·2^e2, fr in [0.5, 1) */
    uint32_t m = (uint32_t)ldexpf(fr, 24);
    int e = e2 - 24; /* |f| = m·2^e */
    if (m < (1u << 23) || e < -44 || e > 100)
        return false; /* subnormal, or too small or large for 128 bits */
    pthread_once(&powers_once, make_powers);
    u128 d, gap;      /* |f| = d·10^s; the gap to the next float up is gap·10^s */
    int s;
    if (e < 0) {
        gap = pow5[-e];
        d = (u128)m * gap;
        s = e;
    } else {
        gap = (u128)1 << e;
        d = (u128)m << e;
        s = 0;
    }
    int n = digit_count(d);
    for (int p = 6; p <= 9; p++) {
        u128 q = d;
        int t = s; /* the candidate is q·10^t */
        if (n > p) {
            u128 unit = pow10[n - p];
            q = d / unit;
            u128 r = d - q * unit;
            if (2 * r > unit || (2 * r == unit && (q & 1)))
                q++;
            t += n - p;
            u128 c = q * unit, diff = c > d ? c - d : d - c;
            /* below a power of two the gap downwards is half as wide */
            u128 reach = (c < d && m == (1u << 23)) ? 4 * diff : 2 * diff;
            bool reads_back = reach < gap || (reach == gap && (m & 1) == 0);
            if (!reads_back)
                continue; /* after nine digits (which always read back): printf's way */
        }
        char ds[48];
        int len = 0;
        for (uint64_t v = (uint64_t)q; v; v /= 10) /* q < 10^10 */
            ds[len++] = (char)('0' + (int)(v % 10));
        for (int i = 0; i < len / 2; i++) { /* most significant first */
            char tmp = ds[i];
            ds[i] = ds[len - 1 - i];
            ds[len - 1 - i] = tmp;
        }
        int x = t + len - 1; /* decimal exponent of the first digit */
        while (len > 1 && ds[len - 1] == '0')
            len--;
        layout(out, f < 0, ds, (size_t)len, x, p);
        return true;
    }
    return false;
}

size_t float_text(float f, char out[FLOAT_TEXT_MAX])
{
    if (f == 0 || !exact_text(f, out)) {
        for (int digits = 6; digits <= 9; digits++) {
            snprintf(out, FLOAT_TEXT_MAX, "%.*g", digits, (double)f);
            if (strtof(out, NULL) == f)
                break;
        }
    }
    return strlen(out);
}
