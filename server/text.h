/*
 * text.h — a string copied into a fixed-size buffer, cut to fit and always
 * NUL-terminated, a counter in decimal, and text appended at a cursor: what
 * snprintf would do, without its cost, which shows on /predict's hot path.
 */
#ifndef SCRATCHNET_TEXT_H
#define SCRATCHNET_TEXT_H

#include <stdint.h>
#include <string.h>

#define TEXT_U64_MAX 21 /* "18446744073709551615" and its NUL */

static inline void text_copy(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* v in decimal, written at the end of buf; returns where it starts. */
static inline const char *text_u64(uint64_t v, char buf[TEXT_U64_MAX])
{
    char *p = buf + TEXT_U64_MAX - 1;
    *p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    return p;
}

/* Appends s (without its NUL) at o, which has room; returns the new end. */
static inline char *text_put(char *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(o, s, n);
    return o + n;
}

/* Appends v in decimal at o, which has room for TEXT_U64_MAX - 1 bytes. */
static inline char *text_put_u64(char *o, uint64_t v)
{
    char buf[TEXT_U64_MAX];
    return text_put(o, text_u64(v, buf));
}

#endif
