/*
 * activations.c — each activation beside its derivative. The derivative is
 * taken from the activation's output a (sigmoid' = a(1-a), tanh' = 1-a²,
 * relu' = [a>0]), so backward needs only what forward kept.
 */
#include <math.h>

#include "internal.h"

#define LEAKY_SLOPE 0.01f

static float sigmoidf(float x)
{
    /* Two branches keep exp from overflowing for large |x|. */
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static void softmax_rows(float *x, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * n, max = row[0], sum = 0.0f;
        for (size_t j = 1; j < n; j++)
            max = row[j] > max ? row[j] : max;
        for (size_t j = 0; j < n; j++)
            sum += (row[j] = expf(row[j] - max));
        float inv = 1.0f / sum;
        for (size_t j = 0; j < n; j++)
            row[j] *= inv;
    }
}

void sn_act_forward(sn_activation act, float *x, size_t rows, size_t n)
{
    size_t len = rows * n;
    switch (act) {
    case SN_ACT_SIGMOID:
        for (size_t i = 0; i < len; i++)
            x[i] = sigmoidf(x[i]);
        break;
    case SN_ACT_TANH:
        for (size_t i = 0; i < len; i++)
            x[i] = tanhf(x[i]);
        break;
    case SN_ACT_RELU:
        for (size_t i = 0; i < len; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case SN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < len; i++)
            x[i] = x[i] > 0.0f ? x[i] : LEAKY_SLOPE * x[i];
        break;
    case SN_ACT_SOFTMAX:
        softmax_rows(x, rows, n);
        break;
    case SN_ACT_LINEAR:
    case SN_ACT_COUNT:
        break;
    }
}

/* d = [a > 0] · d. Blocks of 16 with a constant trip count let the compiler
 * vectorise at -O2 without a remainder loop of its own. */
static void relu_backward(const float *restrict a, float *restrict d, size_t len)
{
    size_t i = 0;
    for (; i + 16 <= len; i += 16)
        for (size_t k = i; k < i + 16; k++)
            d[k] = a[k] > 0.0f ? d[k] : 0.0f;
    for (; i < len; i++)
        d[i] = a[i] > 0.0f ? d[i] : 0.0f;
}

void sn_act_backward(sn_activation act, const float *a, float *d, size_t rows, size_t n)
{
    size_t len = rows * n;
    switch (act) {
    case SN_ACT_SIGMOID:
        for (size_t i = 0; i < len; i++)
            d[i] *= a[i] * (1.0f - a[i]);
        break;
    case SN_ACT_TANH:
        for (size_t i = 0; i < len; i++)
            d[i] *= 1.0f - a[i] * a[i];
        break;
    case SN_ACT_RELU:
        relu_backward(a, d, len);
        break;
    case SN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < len; i++)
            d[i] = a[i] > 0.0f ? d[i] : LEAKY_SLOPE * d[i];
        break;
    case SN_ACT_SOFTMAX: /* Jacobian-vector product: d_i = a_i (d_i - Σ_j d_j a_j) */
        for (size_t r = 0; r < rows; r++) {
            const float *ar = a + r * n;
            float *dr = d + r * n, dot = 0.0f;
            for (size_t j = 0; j < n; j++)
                dot += dr[j] * ar[j];
            for (size_t j = 0; j < n; j++)
                dr[j] = ar[j] * (dr[j] - dot);
        }
        break;
    case SN_ACT_LINEAR:
    case SN_ACT_COUNT:
        break;
    }
}

double sn_act_double(sn_activation act, double z)
{
    switch (act) {
    case SN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SN_ACT_TANH: return tanh(z);
    case SN_ACT_RELU: return z > 0 ? z : 0;
    case SN_ACT_LEAKY_RELU: return z > 0 ? z : (double)LEAKY_SLOPE * z;
    default: return z;
    }
}

double sn_activation_slope(sn_activation act, double a)
{
    switch (act) {
    case SN_ACT_SIGMOID:
    case SN_ACT_SOFTMAX: return a * (1 - a);
    case SN_ACT_TANH: return 1 - a * a;
    case SN_ACT_RELU: return a > 0 ? 1 : 0;
    case SN_ACT_LEAKY_RELU: return a > 0 ? 1 : (double)LEAKY_SLOPE;
    default: return 1;
    }
}
