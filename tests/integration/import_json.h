/*
 * import_json.h — bodies for POST /model/{name}/versions in tests that need
 * many distinct versions of a chosen size (crash, storage and shutdown
 * suites): a dense sigmoid network with weights drawn from a seed, printed
 * with few digits so the version reads back exactly.
 */
#ifndef SCRATCHNET_IMPORT_JSON_H
#define SCRATCHNET_IMPORT_JSON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A malloc'd import body for layers sizes[0..n-1] with weights from seed,
 * or NULL when out of memory. */
static inline char *import_json(const int *sizes, int n, uint64_t seed)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("{\"layers\":[", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? "," : "", sizes[i]);
    fputs("],\"activation\":[", f);
    for (int i = 1; i < n; i++)
        fprintf(f, "%s\"sigmoid\"", i > 1 ? "," : "");
    fputs("],\"loss\":\"mse\",\"parameters\":[", f);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int l = 1; l < n; l++) {
        fprintf(f, "%s{\"W\":[", l > 1 ? "," : "");
        for (int o = 0; o < sizes[l]; o++) {
            fprintf(f, "%s[", o ? "," : "");
            for (int i = 0; i < sizes[l - 1]; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                fprintf(f, "%s%d.%02d", i ? "," : "", (int)(x % 3) - 1, (int)(x >> 40) % 100);
            }
            fputc(']', f);
        }
        fputs("],\"b\":[", f);
        for (int o = 0; o < sizes[l]; o++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            fprintf(f, "%s0.%02d", o ? "," : "", (int)(x >> 40) % 100);
        }
        fputs("]}", f);
    }
    fputs("]}", f);
    fclose(f);
    return text;
}

#endif
