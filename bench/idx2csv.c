/*
 * idx2csv.c — turns an MNIST-style IDX image file and its IDX label file
 * (uncompressed) into one CSV on stdout: a header "label,pixel1,…,pixelN",
 * then one row per image, the label first and the pixels as integers 0–255.
 * For bench/fashion_api.sh. Fails with a sentence on stderr and status 1
 * on a missing file, a wrong magic number or a count mismatch.
 *
 *   idx2csv train-images-idx3-ubyte train-labels-idx1-ubyte > train.csv
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "idx2csv: %s: %s\n", path, what);
    return 1;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: idx2csv IMAGES.idx LABELS.idx > out.csv\n");
        return 2;
    }
    FILE *fi = fopen(argv[1], "rb"), *fl = fopen(argv[2], "rb");
    if (!fi)
        return fail("cannot open", argv[1]);
    if (!fl)
        return fail("cannot open", argv[2]);
    unsigned char hi[16], hl[8];
    if (fread(hi, 1, 16, fi) != 16 || be32(hi) != 0x803)
        return fail("not an IDX file of images (magic 0x803)", argv[1]);
    if (fread(hl, 1, 8, fl) != 8 || be32(hl) != 0x801)
        return fail("not an IDX file of labels (magic 0x801)", argv[2]);
    uint32_t n = be32(hi + 4), pixels = be32(hi + 8) * be32(hi + 12);
    if (be32(hl + 4) != n)
        return fail("the label count differs from the image count", argv[2]);
    static char out[1 << 16];
    setvbuf(stdout, out, _IOFBF, sizeof out);
    printf("label");
    for (uint32_t p = 1; p <= pixels; p++)
        printf(",pixel%u", p);
    putchar('\n');
    unsigned char *img = malloc(pixels);
    char *line = malloc((size_t)pixels * 4 + 8);
    if (!img || !line)
        return fail("out of memory", argv[1]);
    for (uint32_t i = 0; i < n; i++) {
        int label = fgetc(fl);
        if (label == EOF || fread(img, 1, pixels, fi) != pixels)
            return fail("truncated", argv[1]);
        size_t at = (size_t)sprintf(line, "%d", label);
        for (uint32_t p = 0; p < pixels; p++) {
            unsigned v = img[p];
            line[at++] = ',';
            if (v >= 100)
                line[at++] = (char)('0' + v / 100);
            if (v >= 10)
                line[at++] = (char)('0' + v / 10 % 10);
            line[at++] = (char)('0' + v % 10);
        }
        line[at++] = '\n';
        fwrite(line, 1, at, stdout);
    }
    free(img);
    free(line);
    return fflush(stdout) == 0 ? 0 : fail("cannot write", "stdout");
}
