/*
 * fuzz_model_blob.c — sn_net_load, the model blob loader.
 *
 * Each input is loaded twice: as it is, and with its last four bytes replaced
 * by the right CRC-32, so that the fuzzer reaches past the checksum. On
 * success the network must save back to exactly the bytes it was loaded from
 * and predict finite outputs for finite inputs (zeros, ones) whenever its
 * parameters cannot overflow float32 on them — a bound computed here in
 * double precision from |W|·|a| + |b| layer by layer (every activation
 * shrinks or keeps magnitudes).
 */
#include <float.h>
#include <math.h>

#include "fuzz.h"
#include "internal.h" /* sn_crc32: mutated blobs get a valid checksum, to reach the parser */
#include "scratchnet.h"

/* The largest |output| any layer can reach on input x (all equal to v):
 * +inf when it may pass FLT_MAX/1e3 (a margin for float rounding). */
static double output_bound(sn_net *net, float v)
{
    const sn_arch *arch = sn_net_arch(net);
    int width = 0;
    for (int i = 0; i < arch->n_layers; i++)
        width = arch->sizes[i] > width ? arch->sizes[i] : width;
    double *a = calloc((size_t)width, sizeof(double)), *z = calloc((size_t)width, sizeof(double));
    FUZZ_CHECK(a && z);
    const float *shift, *scale;
    sn_norm norm = sn_net_norm(net, &shift, &scale);
    double worst = 0;
    for (int j = 0; j < arch->sizes[0]; j++) {
        a[j] = norm == SN_NORM_NONE ? fabs((double)v)
                                    : fabs(((double)v - shift[j]) * (double)scale[j]);
        worst = fmax(worst, a[j]);
    }
    for (int l = 0; l + 1 < arch->n_layers && worst < FLT_MAX / 1e3; l++) {
        float *W, *b;
        sn_net_layer(net, l, &W, &b);
        int in = arch->sizes[l], out = arch->sizes[l + 1];
        for (int i = 0; i < out; i++) {
            double s = fabs((double)b[i]);
            for (int j = 0; j < in; j++)
                s += fabs((double)W[(size_t)i * in + j]) * a[j];
            z[i] = s;
            worst = fmax(worst, s);
        }
        bool bounded = arch->act[l] == SN_ACT_SIGMOID || arch->act[l] == SN_ACT_TANH ||
                       arch->act[l] == SN_ACT_SOFTMAX;
        for (int i = 0; i < out; i++)
            a[i] = bounded ? 1.0 : z[i];
    }
    free(a);
    free(z);
    return worst < FLT_MAX / 1e3 ? worst : INFINITY;
}

static void check_net(sn_net *net, const uint8_t *blob, size_t len)
{
    uint8_t *again;
    size_t again_len;
    FUZZ_CHECK(sn_net_save(net, &again, &again_len, NULL) == SN_OK);
    FUZZ_CHECK(again_len == len && memcmp(again, blob, len) == 0);
    free(again);

    const sn_arch *arch = sn_net_arch(net);
    size_t in = (size_t)arch->sizes[0], out = (size_t)arch->sizes[arch->n_layers - 1];
    float *x = malloc(in * sizeof(float)), *y = malloc(out * sizeof(float));
    FUZZ_CHECK(x && y);
    for (int k = 0; k < 2; k++) {
        float v = (float)k;
        for (size_t j = 0; j < in; j++)
            x[j] = v;
        sn_error err;
        /* sn_predict never hands back Inf/NaN: it succeeds with finite outputs,
         * or says the outputs overflow — which cannot happen when the
         * double-precision bound shows they stay within float32. */
        sn_status st = sn_predict(net, x, 1, y, &err);
        FUZZ_CHECK(st == SN_OK || st == SN_ERR_NONFINITE);
        if (st == SN_OK)
            for (size_t j = 0; j < out; j++)
                FUZZ_CHECK(isfinite(y[j]));
        if (isfinite(output_bound(net, v)))
            FUZZ_CHECK(st == SN_OK);
    }
    free(x);
    free(y);
}

static void load(const uint8_t *blob, size_t len)
{
    sn_net *net = (sn_net *)1;
    sn_error err = {0};
    sn_status st = sn_net_load(blob, len, &net, &err);
    if (st == SN_OK) {
        FUZZ_CHECK(net != NULL);
        check_net(net, blob, len);
        sn_net_free(net);
    } else {
        FUZZ_CHECK(net == NULL);
        FUZZ_CHECK(st == SN_ERR_CORRUPT || st == SN_ERR_NOMEM);
        FUZZ_CHECK(err.code == st && err.message[0] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size);
    if (size >= 16) {
        uint8_t *fixed = malloc(size);
        FUZZ_CHECK(fixed != NULL);
        memcpy(fixed, data, size);
        uint32_t crc = sn_crc32(fixed, size - 4);
        for (int i = 0; i < 4; i++)
            fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
        load(fixed, size);
        free(fixed);
    }
    return 0;
}
