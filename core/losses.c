/*
 * losses.c — each loss gives its value and dL/dŷ; all are means (MSE and
 * BCE over rows × outputs, as PyTorch's defaults; crossentropy over rows).
 * Crossentropy is computed from the output pre-activation with log-sum-exp,
 * and its gradient is fused with softmax: dL/dz = (p - y) / rows. Sigmoid
 * with BCE is fused likewise: dL/dz = (p - y) / (rows · outputs).
 */
#include <math.h>

#include "internal.h"

/* Keras's clamp: keeps log() finite when a sigmoid saturates to 0 or 1. */
#define BCE_EPS 1e-7

static double clamp_prob(double p) { return p < BCE_EPS ? BCE_EPS : p > 1 - BCE_EPS ? 1 - BCE_EPS : p; }

static double bce_term(double p, double y)
{
    p = clamp_prob(p);
    return -(y * log(p) + (1 - y) * log(1 - p));
}

/* Σ_k y_k (lse(z) - z_k): the row's crossentropy, stable for any logits.
 * The logits come as floats (zf) or, for the reference path, doubles (zd). */
static double crossentropy_row(const float *zf, const double *zd, const float *y, size_t n)
{
#define Z(j) (zf ? (double)zf[j] : zd[j])
    double max = Z(0), sum = 0, loss = 0;
    for (size_t j = 1; j < n; j++)
        max = Z(j) > max ? Z(j) : max;
    for (size_t j = 0; j < n; j++)
        sum += exp(Z(j) - max);
    double lse = max + log(sum);
    for (size_t j = 0; j < n; j++)
        loss += y[j] * (lse - Z(j));
    return loss;
#undef Z
}

double sn_loss_value(sn_loss loss, const float *z, const float *yhat, const float *y, size_t rows,
                     size_t n)
{
    double total = 0;
    size_t len = rows * n;
    switch (loss) {
    case SN_LOSS_MSE:
        for (size_t i = 0; i < len; i++)
            total += ((double)y[i] - yhat[i]) * ((double)y[i] - yhat[i]);
        return total / (double)len;
    case SN_LOSS_BCE:
        for (size_t i = 0; i < len; i++)
            total += bce_term(yhat[i], y[i]);
        return total / (double)len;
    case SN_LOSS_CROSSENTROPY:
        for (size_t r = 0; r < rows; r++)
            total += crossentropy_row(z + r * n, NULL, y + r * n, n);
        return total / (double)rows;
    case SN_LOSS_COUNT:
        break;
    }
    return NAN;
}

void sn_loss_dy(sn_loss loss, const float *yhat, const float *y, size_t rows, size_t n,
                size_t mean_rows, float *dy)
{
    size_t len = rows * n, mean_len = mean_rows * n;
    switch (loss) {
    case SN_LOSS_MSE:
        for (size_t i = 0; i < len; i++)
            dy[i] = (float)(2.0 * ((double)yhat[i] - y[i]) / (double)mean_len);
        break;
    case SN_LOSS_BCE:
        for (size_t i = 0; i < len; i++) {
            double p = clamp_prob(yhat[i]);
            dy[i] = (float)((p - y[i]) / (p * (1 - p)) / (double)mean_len);
        }
        break;
    case SN_LOSS_CROSSENTROPY:
        for (size_t i = 0; i < len; i++)
            dy[i] = (float)(-(double)y[i] / fmax(yhat[i], 1e-30) / (double)mean_rows);
        break;
    case SN_LOSS_COUNT:
        break;
    }
}

void sn_loss_delta(sn_loss loss, sn_activation out_act, const float *yhat, const float *y,
                   size_t rows, size_t n, size_t mean_rows, float *delta)
{
    size_t len = rows * n;
    if (loss == SN_LOSS_CROSSENTROPY || (loss == SN_LOSS_BCE && out_act == SN_ACT_SIGMOID)) {
        float scale = 1.0f / (float)(loss == SN_LOSS_CROSSENTROPY ? mean_rows : mean_rows * n);
        for (size_t i = 0; i < len; i++)
            delta[i] = (yhat[i] - y[i]) * scale;
        return;
    }
    sn_loss_dy(loss, yhat, y, rows, n, mean_rows, delta);
    sn_act_backward(out_act, yhat, delta, rows, n);
}

double sn_loss_row_double(sn_loss loss, sn_activation out_act, const double *z, const float *y,
                          size_t n)
{
    double total = 0;
    if (loss == SN_LOSS_CROSSENTROPY)
        return crossentropy_row(NULL, z, y, n);
    if (out_act == SN_ACT_SOFTMAX) {
        double max = z[0], sum = 0;
        for (size_t j = 1; j < n; j++)
            max = z[j] > max ? z[j] : max;
        for (size_t j = 0; j < n; j++)
            sum += exp(z[j] - max);
        for (size_t j = 0; j < n; j++) {
            double p = exp(z[j] - max) / sum;
            total += loss == SN_LOSS_BCE ? bce_term(p, y[j]) : (y[j] - p) * (y[j] - p);
        }
        return total;
    }
    for (size_t j = 0; j < n; j++) {
        double p = sn_act_double(out_act, z[j]);
        total += loss == SN_LOSS_BCE ? bce_term(p, y[j]) : (y[j] - p) * (y[j] - p);
    }
    return total;
}
