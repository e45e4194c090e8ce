/*
 * json_number.c — a JSON number's double, as strtod gives it, without
 * strtod's cost for the numbers clients send (/predict reads thousands per
 * request for an image).
 */
#include "json_number.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Most numbers have at most 15 significant digits and an exponent within
 * ±22: their digits are then exact in a double, and so is 10^k for k <= 22,
 * so one multiplication or division, correctly rounded, is strtod's own
 * correctly rounded result (Clinger's fast path). Others go to strtod. */
double json_number_value(const char *s)
{
    static const double tens[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s;
    bool negative = *p == '-';
    p += negative;
    uint64_t digits = 0;
    int n = 0, scale = 0; /* the value is digits · 10^scale */
    for (; *p >= '0' && *p <= '9'; p++, n += digits > 0)
        digits = digits * 10 + (uint64_t)(*p - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, n += digits > 0, scale--)
            digits = digits * 10 + (uint64_t)(*p - '0');
    if (*p == 'e' || *p == 'E') {
        p++;
        bool down = *p == '-';
        p += *p == '-' || *p == '+';
        int x = 0;
        for (; *p >= '0' && *p <= '9' && x < 1000; p++)
            x = x * 10 + (*p - '0');
        if (x >= 1000)
            return strtod(s, NULL);
        scale += down ? -x : x;
    }
    if (n > 15 || scale < -22 || scale > 22)
        return strtod(s, NULL);
    double d = scale < 0 ? (double)digits / tens[-scale] : (double)digits * tens[scale];
    return negative ? -d : d;
}

