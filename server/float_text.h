/*
 * float_text.h — float32 numbers written to read back exactly, and short.
 */
#ifndef SCRATCHNET_FLOAT_TEXT_H
#define SCRATCHNET_FLOAT_TEXT_H

#include <stddef.h>

#define FLOAT_TEXT_MAX 32

/* Writes f (finite) as the shortest of "%.6g" … "%.9g" that strtof reads back
 * as f, the same text as printf would; returns its length. */
size_t float_text(float f, char out[FLOAT_TEXT_MAX]);

#endif
