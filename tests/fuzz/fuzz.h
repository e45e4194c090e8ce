/*
 * fuzz.h — what the libFuzzer harnesses share (tests/fuzz/fuzz_*.c).
 *
 * Each harness is one program built with clang -fsanitize=fuzzer,address,
 * undefined (make fuzz): LLVMFuzzerTestOneInput feeds one input to one entry
 * point and checks the invariants its header promises. A broken invariant
 * calls FUZZ_CHECK, which prints the condition and aborts, so libFuzzer keeps
 * the input as a crash. Run on files instead of directories the binary
 * replays them once each (make fuzz-regress).
 */
#ifndef SCRATCHNET_FUZZ_H
#define SCRATCHNET_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* Reads every byte of n floats, so that ASan sees an array shorter than its
 * stated size; returns a value the optimizer cannot drop. */
static inline float fuzz_touch(const float *x, size_t n)
{
    volatile float sink = 0;
    for (size_t i = 0; i < n; i++)
        sink += x[i] * 0.0f;
    return sink;
}

/* An exact-size heap copy of the input, so that a read past the end of a
 * body is caught (the server's bodies are NUL-terminated; ours are not). */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (p && size)
        memcpy(p, data, size);
    return p;
}

/* A decoder's problem must name a 4xx/503 status and say something. */
#define FUZZ_CHECK_PROBLEM(e)                                                          \
    do {                                                                              \
        FUZZ_CHECK(((e).status >= 400 && (e).status < 500) || (e).status == 503);     \
        FUZZ_CHECK((e).detail[0] != '\0');                                            \
        FUZZ_CHECK(memchr((e).field, '\0', sizeof (e).field) != NULL);                \
    } while (0)

#endif
